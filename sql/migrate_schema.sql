--
-- migrate_sqlite(): DEFAULT, CHECK, generated columns, partial and
-- expression indexes, and views, checked in the catalogs.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set exprs_db :abs_srcdir '/test/fixtures/mig_exprs.db'

CREATE EXTENSION sqlite_fdw_mig;
SET sqlite_fdw_mig.report_timings = off;
-- each copy's NOTICE shows its time: keep warnings and errors only
SET client_min_messages = warning;

CREATE SCHEMA ms;
\pset format unaligned
SELECT source_table, target_table, status, detail FROM migrate_sqlite(:'exprs_db', 'ms');
\pset format aligned

-- defaults
SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid) AS default_expr
  FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  JOIN pg_class c ON c.oid = d.adrelid
 WHERE c.relnamespace = 'ms'::regnamespace
 ORDER BY 1, a.attnum;
-- the defaults work
INSERT INTO ms.accounts (id) VALUES (3);
SELECT id, name, balance, active, created IS NOT NULL AS has_created, kind, score, note
  FROM ms.accounts WHERE id = 3;

-- checks: NOT VALID where rows violate them
SELECT conrelid::regclass, pg_get_constraintdef(oid), convalidated
  FROM pg_constraint WHERE connamespace = 'ms'::regnamespace AND contype = 'c'
 ORDER BY 1, 2;
SELECT count(*) AS limits_rows FROM ms.limits;
\set VERBOSITY terse
INSERT INTO ms.accounts (id, balance) VALUES (4, -1);
INSERT INTO ms.accounts (id, kind) VALUES (5, 'gold');
INSERT INTO ms.accounts (id, name) VALUES (6, '');
\set VERBOSITY default

-- generated columns hold SQLite's values
SELECT * FROM ms.gen ORDER BY id;

-- indexes: partial ones with their WHERE; an expression index is reported
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid)
  FROM pg_index WHERE indrelid = 'ms.accounts'::regclass
 ORDER BY 1::text;
INSERT INTO ms.accounts (id, name, kind) VALUES (7, 'bob', 'basic');
INSERT INTO ms.accounts (id, name, kind) VALUES (8, 'bob', 'premium');

-- views: created with security_invoker where they translate, reported otherwise
SELECT c.relname, c.reloptions, pg_get_viewdef(c.oid)
  FROM pg_class c WHERE c.relnamespace = 'ms'::regnamespace AND c.relkind = 'v'
 ORDER BY 1;
SELECT * FROM ms.rich ORDER BY id;

-- replace: views an earlier migration created are rebuilt too
SELECT count(*) FROM migrate_sqlite(:'exprs_db', 'ms', if_exists => 'replace');
SELECT count(*) AS views FROM pg_class WHERE relnamespace = 'ms'::regnamespace AND relkind = 'v';

-- clean up
DROP SCHEMA ms CASCADE;
DROP EXTENSION sqlite_fdw_mig CASCADE;
RESET client_min_messages;
