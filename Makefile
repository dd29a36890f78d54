# Makefile: PGXS build of sqlite_fdw_mig, and the lists of tests.
#
#   make USE_PGXS=1 && make USE_PGXS=1 install
#
# bash test/run_tests.sh builds, installs and runs every test on a private cluster.

MODULE_big = sqlite_fdw_mig
OBJS = \
	$(WIN32RES) \
	analyse.o \
	connection.o \
	copy.o \
	deparse.o \
	import.o \
	lovfs.o \
	migrate.o \
	modify.o \
	option.o \
	plan.o \
	profile.o \
	sqlite_fdw_mig.o \
	translate.o \
	typemap.o \
	upper.o

EXTENSION = sqlite_fdw_mig
DATA = sqlite_fdw_mig--1.0.sql
PGFILEDESC = "sqlite_fdw_mig - SQLite foreign data wrapper and migration to PostgreSQL"

SHLIB_LINK = -lsqlite3
PG_CPPFLAGS = -DUSE_ASSERT_CHECKING
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter

# make SANITIZE=undefined: UndefinedBehaviorSanitizer, stopping at the first
# finding (test/run_tests.sh builds this way; the demo does not)
ifdef SANITIZE
PG_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-wrapv
SHLIB_LINK += -fsanitize=$(SANITIZE)
endif

REGRESS = options import types datetime pushdown pushdown_diff pushdown_agg translate write write_roundtrip migrate migrate_names migrate_schema migrate_more large_object

# isolation specs (specs/); test/run_tests.sh runs them on its cluster
ISOLATION = write_lock

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

EXTRA_CLEAN = test/fixtures/*.db regression.diffs regression.out results tmp_check

USE_PGXS = 1
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every object depends on the shared header.
$(OBJS): sqlite_fdw_mig.h

# The long fuzz run: thousands of mutated SQLite files through IMPORT, scans,
# the plan and the migration, on a throwaway cluster (as the postgres OS
# user, from a copy it owns: see test/fuzz/README).
fuzz:
	perl test/fuzz/fuzz.pl --cases $(or $(CASES),3000)

# Prints the regression test list (used by test/run_tests.sh).
print-regress:
	@echo $(REGRESS)

# Prints the isolation spec list (used by test/run_tests.sh).
print-isolation:
	@echo $(ISOLATION)

.PHONY: print-regress print-isolation fuzz
