#!/usr/bin/env bash
# Demo of sqlite_fdw_mig: builds/installs the extension, builds the SQLite
# fixture test/fixtures/demo.db, starts a private PostgreSQL 15 cluster and
# runs test/demo.psql against it.
#   bash test/demo.sh        (as root; installs missing Debian packages)
set -euo pipefail

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRATCH=/var/tmp/sqlite_fdw_mig-demo
PORT=54339

[ -f "$CHECKOUT/test/demo.psql" ] || die "test/demo.psql not found in $CHECKOUT"
[ -f "$CHECKOUT/test/fixtures/demo.sql" ] || die "test/fixtures/demo.sql not found in $CHECKOUT"

common_setup
build_fixtures demo
start_cluster

log "demo: psql -f test/demo.psql (DEMO_DB=$SCRATCH/test/fixtures/demo.db)"
set +e
(cd "$SCRATCH" && as_pg DEMO_DB="$SCRATCH/test/fixtures/demo.db" -- \
    psql -X -v ON_ERROR_STOP=1 -d postgres -f "$SCRATCH/test/demo.psql") 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    echo "----- last 30 lines of server log ($SCRATCH/postgres.log) -----" >&2
    tail -n 30 "$SCRATCH/postgres.log" >&2 2>/dev/null || true
    die "demo failed: psql exited with code $rc"
fi
log "demo: done"
