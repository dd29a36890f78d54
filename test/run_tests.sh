#!/usr/bin/env bash
# Build, install and test sqlite_fdw_mig against PostgreSQL 15.
#   bash test/run_tests.sh        (as root; installs missing Debian packages)
# Runs the pg_regress suite (REGRESS list from the Makefile) on a private
# cluster, then every test/t/*.pl TAP script, and ends with "N passed, N failed".
set -euo pipefail

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRATCH=/var/tmp/sqlite_fdw_mig-test
PORT=54329

PASSED=0
FAILED=0
SUMMARY_PRINTED=0
# Called by the EXIT trap: if a fatal error (build, fixture, initdb, ...)
# aborted the run, still end with the summary line, counting it as a failure.
# shellcheck disable=SC2317  # invoked from the EXIT trap in lib.sh
on_exit_hook() {
    if [ "$SUMMARY_PRINTED" = 0 ] && [ "$1" -ne 0 ]; then
        echo "$PASSED passed, $(( FAILED + 1 )) failed"
    fi
}

# the tests run against a build with UndefinedBehaviorSanitizer (and
# assertions): any undefined behaviour stops the backend, which they see
common_setup SANITIZE=undefined
PKGLIBDIR="$("$PG_CONFIG" --pkglibdir)"
PG_REGRESS="$PKGLIBDIR/pgxs/src/test/regress/pg_regress"
[ -x "$PG_REGRESS" ] || die "pg_regress not found at $PG_REGRESS"
build_fixtures  # all test/fixtures/*.sql

# ---------------------------------------------------------------- pg_regress
tests=""
if tests="$(make -s --no-print-directory -C "$CHECKOUT" USE_PGXS=1 PG_CONFIG="$PG_CONFIG" print-regress 2>/dev/null)" &&
   [ -n "${tests//[[:space:]]/}" ]; then
    :
else
    warn "'make print-regress' failed or printed nothing; using sql/*.sql"
    tests=""
    if [ -d "$SCRATCH/sql" ]; then
        tests="$(find "$SCRATCH/sql" -maxdepth 1 -name '*.sql' -printf '%f\n' | sed 's/\.sql$//' | LC_ALL=C sort | tr '\n' ' ')"
    fi
fi
TESTS=()
read -r -d '' -a TESTS <<<"$tests" || true

if [ "${#TESTS[@]}" -gt 0 ]; then
    start_cluster
    log "pg_regress: ${#TESTS[@]} test(s): ${TESTS[*]}"
    run_pg_regress "$SCRATCH/regress_out" "${TESTS[@]}"
    rlog="$REGRESS_LOG"
    regress_rc=$REGRESS_RC
    # PG15: "test NAME ... ok   12 ms", "... FAILED", "... failed (ignored)".
    r_ok=$(grep -cE '^(test +)?[[:space:]]*[^[:space:]]+[[:space:]]+\.\.\. (ok|failed \(ignored\))([[:space:]]|$)' "$rlog" || true)
    r_bad=$(grep -cE '^(test +)?[[:space:]]*[^[:space:]]+[[:space:]]+\.\.\. FAILED' "$rlog" || true)
    # Tests that never reported (pg_regress aborted) count as failures.
    n_missing=$(( ${#TESTS[@]} - r_ok - r_bad ))
    [ "$n_missing" -gt 0 ] && r_bad=$(( r_bad + n_missing ))
    [ "$regress_rc" -ne 0 ] && [ "$r_bad" -eq 0 ] && r_bad=1
    PASSED=$(( PASSED + r_ok ))
    FAILED=$(( FAILED + r_bad ))
    log "pg_regress: $r_ok passed, $r_bad failed (exit code $regress_rc)"
    if [ "$r_bad" -gt 0 ]; then
        if [ -f "$SCRATCH/regress_out/regression.diffs" ]; then
            echo "----- regression.diffs -----"
            cat "$SCRATCH/regress_out/regression.diffs"
            echo "----- end of regression.diffs -----"
        fi
        echo "----- last 50 lines of server log ($SCRATCH/postgres.log) -----"
        tail -n 50 "$SCRATCH/postgres.log" 2>/dev/null || true
    fi

    # isolation specs, on the same cluster
    iso="$(make -s --no-print-directory -C "$CHECKOUT" USE_PGXS=1 PG_CONFIG="$PG_CONFIG" print-isolation 2>/dev/null || true)"
    ISO=()
    read -r -d '' -a ISO <<<"$iso" || true
    if [ "${#ISO[@]}" -gt 0 ]; then
        PG_ISO="$PKGLIBDIR/pgxs/src/test/isolation/pg_isolation_regress"
        [ -x "$PG_ISO" ] || die "pg_isolation_regress not found at $PG_ISO"
        log "isolation: ${#ISO[@]} spec(s): ${ISO[*]}"
        REGRESS_PROGRAM="$PG_ISO" REGRESS_DB=isolation_regression \
            run_pg_regress "$SCRATCH/isolation_out" "${ISO[@]}"
        ilog="$REGRESS_LOG"
        iso_rc=$REGRESS_RC
        i_ok=$(grep -cE '^(test +)?[[:space:]]*[^[:space:]]+[[:space:]]+\.\.\. ok([[:space:]]|$)' "$ilog" || true)
        i_bad=$(( ${#ISO[@]} - i_ok ))
        [ "$iso_rc" -ne 0 ] && [ "$i_bad" -eq 0 ] && i_bad=1
        PASSED=$(( PASSED + i_ok ))
        FAILED=$(( FAILED + i_bad ))
        log "isolation: $i_ok passed, $i_bad failed (exit code $iso_rc)"
        if [ "$i_bad" -gt 0 ] && [ -f "$SCRATCH/isolation_out/regression.diffs" ]; then
            echo "----- isolation regression.diffs -----"
            cat "$SCRATCH/isolation_out/regression.diffs"
            echo "----- end of isolation regression.diffs -----"
        fi
    fi

    log "cluster: stopping"
    stop_cluster
else
    warn "no pg_regress tests found"
fi

# ---------------------------------------------------------------- TAP
shopt -s nullglob
TAP_FILES=("$SCRATCH"/test/t/*.pl)
shopt -u nullglob
if [ "${#TAP_FILES[@]}" -eq 0 ]; then
    log "TAP: no test/t/*.pl, skipping"
else
    log "TAP: ${#TAP_FILES[@]} file(s)"
    for tf in "${TAP_FILES[@]}"; do
        name="$(basename "$tf" .pl)"
        tdir="$SCRATCH/tap/$name"
        as_pg -- mkdir -p "$tdir"
        tlog="$SCRATCH/tap/$name.log"
        set +e
        (cd "$SCRATCH" && as_pg \
            PERL5LIB="$PKGLIBDIR/pgxs/src/test/perl:$SCRATCH/test/perl" \
            TESTDIR="$tdir" PG_REGRESS="$PG_REGRESS" PG_ABS_SRCDIR="$SCRATCH" \
            -- env -u PGPORT -u PGHOST prove -v "$tf") >"$tlog" 2>&1
        prove_rc=$?
        set -e
        t_ok=$(grep -cE '^ok [0-9]' "$tlog" || true)
        t_todo=$(grep -E '^not ok [0-9]' "$tlog" | grep -ciE '#[[:space:]]*TODO' || true)
        t_bad=$(grep -E '^not ok [0-9]' "$tlog" | grep -viE '#[[:space:]]*TODO' | grep -c . || true)
        t_ok=$(( t_ok + t_todo ))
        [ "$prove_rc" -ne 0 ] && [ "$t_bad" -eq 0 ] && t_bad=1
        PASSED=$(( PASSED + t_ok ))
        FAILED=$(( FAILED + t_bad ))
        if [ "$t_bad" -gt 0 ]; then
            echo "----- TAP $name FAILED ($t_ok passed, $t_bad failed, prove exit $prove_rc) -----"
            cat "$tlog"
            for lf in "$tdir"/tmp_check/log/*; do
                [ -f "$lf" ] || continue
                echo "----- tail of $lf -----"
                tail -n 60 "$lf"
            done
            echo "----- end of TAP $name -----"
        else
            echo "TAP $name: ok ($t_ok passed)"
        fi
    done
fi

kill_leftovers || true   # e.g. TAP nodes of a died script; keeps the summary last
SUMMARY_PRINTED=1
echo "$PASSED passed, $FAILED failed"
if [ "$FAILED" -gt 0 ] || [ $(( PASSED + FAILED )) -eq 0 ]; then
    exit 1
fi
exit 0
