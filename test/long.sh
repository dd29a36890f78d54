#!/usr/bin/env bash
# The long tier of sqlite_fdw_mig's checks (see test/long/README).
#   bash test/long.sh [fuzz] [memory] [valgrind] [asan]     (as root; default: all four)
#
#   fuzz      test/fuzz/fuzz.pl, 3,000 damaged SQLite files (CASES=N changes it)
#   memory    test/long/t/*.pl: 500,000- and 5,000,000-row migrations, backend
#             RssAnon/VmHWM sampled every 0.1 s; the 5M peak must stay within
#             16 MB of the 500k peak with maintenance_work_mem 8MB, and within
#             80 MB with the defaults (the key's index sort may take 64MB)
#   valgrind  the server under valgrind (memcheck, PostgreSQL's suppressions)
#             running the pg_regress tests types datetime migrate migrate_schema
#   asan      test/asan: the pure-C parts (type table, value conversion,
#             date/time parser, tokenizer and expression vetting, per-value
#             checks) compiled with -fsanitize=address,undefined outside the
#             server and driven by a corpus plus seeded random inputs
#
# Its own scratch dir (/var/tmp/sqlite_fdw_mig-long) and ports (54349 for the
# valgrind cluster, 54348 for the fuzz cluster), so it never collides with
# test/run_tests.sh or test/demo.sh.  It builds from a copy of the sources in
# the scratch dir (the ordinary build: assertions, no sanitizer) and installs
# that (LONG_GIT_REF=HEAD: build the committed sources of that ref instead
# of the working tree, e.g. while other work in the checkout is unfinished).
# The last line is "N passed, N failed"; the exit status is 1 if
# anything failed.
set -euo pipefail

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRATCH=/var/tmp/sqlite_fdw_mig-long
PORT=54349
FUZZ_PORT=54348
FUZZ_CASES="${CASES:-3000}"
# shellcheck disable=SC2206  # a word list on purpose
VALGRIND_TESTS=(${LONG_VALGRIND_TESTS:-types datetime migrate migrate_schema pushdown_agg large_object})
REQUIRED_PACKAGES+=(valgrind)

PASSED=0
FAILED=0
SUMMARY_PRINTED=0
declare -A RESULT=()
# shellcheck disable=SC2317  # invoked from the EXIT trap in lib.sh
on_exit_hook() {
    if [ "$SUMMARY_PRINTED" = 0 ] && [ "$1" -ne 0 ]; then
        echo "$PASSED passed, $(( FAILED + 1 )) failed"
    fi
}

PARTS=()
for a in "$@"; do
    case "$a" in
        fuzz|memory|valgrind|asan) PARTS+=("$a") ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) die "unknown part '$a' (fuzz, memory, valgrind, asan)" ;;
    esac
done
[ "${#PARTS[@]}" -gt 0 ] || PARTS=(fuzz memory valgrind asan)
want() { local p; for p in "${PARTS[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

T_START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - $1 ))"; }

# ---------------------------------------------------------------- set-up
# lib.sh's common_setup without its build: build_and_install runs
# "make clean" in the checkout, which other work in the same checkout may
# be using; build a copy instead.
require_root
ensure_packages
SOCKDIR="$SCRATCH/sock"
CLUSTER_STARTED=0
log "long tier: parts ${PARTS[*]}; scratch $SCRATCH (port $PORT)"
reset_scratch
install_traps

build_copy() {
    local src="$SCRATCH/src" blog="$SCRATCH/build.log" try
    for try in 1 2; do
        rm -rf "$src"; mkdir -p "$src"
        if [ -n "${LONG_GIT_REF:-}" ]; then
            # the committed sources of that ref (read-only: git archive)
            git -C "$CHECKOUT" archive "$LONG_GIT_REF" -- '*.c' '*.h' '*.sql' '*.control' Makefile |
                tar -x -C "$src" --wildcards --no-wildcards-match-slash '*.c' '*.h' '*.sql' '*.control' Makefile
        else
            (cd "$CHECKOUT" && cp -a ./*.c ./*.h ./*.sql ./*.control Makefile "$src/")
        fi
        log "build: make USE_PGXS=1 PG_CONFIG=$PG_CONFIG (copy in $src, try $try)"
        if make -C "$src" USE_PGXS=1 PG_CONFIG="$PG_CONFIG" >"$blog" 2>&1 &&
           make -C "$src" USE_PGXS=1 PG_CONFIG="$PG_CONFIG" install >>"$blog" 2>&1; then
            return 0
        fi
        [ "$try" = 1 ] && { warn "build failed; retrying in 60 s (a half-finished edit?)"; sleep 60; }
    done
    cat "$blog" >&2
    die "build failed (log: $blog)"
}
if want fuzz || want memory || want valgrind; then
    build_copy
else
    mkdir -p "$SCRATCH/src"
    (cd "$CHECKOUT" && cp -a ./*.c ./*.h ./*.sql ./*.control Makefile "$SCRATCH/src/")
fi
copy_sources
PKGLIBDIR="$("$PG_CONFIG" --pkglibdir)"
PG_REGRESS="$PKGLIBDIR/pgxs/src/test/regress/pg_regress"

record() {  # record PART ok|fail "text"; counts one assertion
    if [ "$2" = ok ]; then PASSED=$(( PASSED + 1 )); else FAILED=$(( FAILED + 1 )); fi
    RESULT[$1]="${RESULT[$1]:-}${RESULT[$1]:+; }$3"
    log "$1: $2: $3"
}

# ---------------------------------------------------------------- fuzz
part_fuzz() {
    local t0 flog rc last
    t0=$(date +%s)
    flog="$SCRATCH/fuzz.log"
    log "fuzz: $FUZZ_CASES cases (test/fuzz/fuzz.pl, port $FUZZ_PORT, dir $SCRATCH/fuzz)"
    set +e
    (cd "$SCRATCH" && as_pg -- perl test/fuzz/fuzz.pl --cases "$FUZZ_CASES" \
        --port "$FUZZ_PORT" --dir "$SCRATCH/fuzz") >"$flog" 2>&1
    rc=$?
    set -e
    last="$(grep -E '^fuzz: [0-9]+ cases' "$flog" | tail -n 1 || true)"
    if [ "$rc" -eq 0 ] && [ -n "$last" ]; then
        record fuzz ok "$last ($(elapsed "$t0") s)"
    else
        echo "----- tail of $flog -----"; tail -n 80 "$flog"; echo "----- end -----"
        record fuzz fail "fuzz.pl exit $rc: ${last:-no summary line} ($(elapsed "$t0") s)"
    fi
}

# ---------------------------------------------------------------- memory
part_memory() {
    local t0 tf name tdir tlog rc t_ok t_bad
    t0=$(date +%s)
    shopt -s nullglob
    local files=("$SCRATCH"/test/long/t/*.pl)
    shopt -u nullglob
    [ "${#files[@]}" -gt 0 ] || { record memory fail "no test/long/t/*.pl"; return; }
    for tf in "${files[@]}"; do
        name="$(basename "$tf" .pl)"
        tdir="$SCRATCH/tap/$name"
        as_pg -- mkdir -p "$tdir"
        tlog="$SCRATCH/tap/$name.log"
        log "memory: prove $name (several minutes)"
        set +e
        (cd "$SCRATCH" && as_pg \
            PERL5LIB="$PKGLIBDIR/pgxs/src/test/perl:$SCRATCH/test/perl" \
            TESTDIR="$tdir" PG_REGRESS="$PG_REGRESS" PG_ABS_SRCDIR="$SCRATCH" \
            ${SQLITE_FDW_MIG_MEM_ROWS:+SQLITE_FDW_MIG_MEM_ROWS="$SQLITE_FDW_MIG_MEM_ROWS"} \
            -- env -u PGPORT -u PGHOST prove -v "$tf") >"$tlog" 2>&1
        rc=$?
        set -e
        grep -E '^# ' "$tlog" | grep -E 'rows|RssAnon|VmHWM' || true
        t_ok=$(grep -cE '^ok [0-9]' "$tlog" || true)
        t_bad=$(grep -cE '^not ok [0-9]' "$tlog" || true)
        [ "$rc" -ne 0 ] && [ "$t_bad" -eq 0 ] && t_bad=1
        PASSED=$(( PASSED + t_ok ))
        FAILED=$(( FAILED + t_bad ))
        if [ "$t_bad" -gt 0 ]; then
            echo "----- TAP $name FAILED -----"; cat "$tlog"
            for lf in "$tdir"/tmp_check/log/*; do
                [ -f "$lf" ] || continue
                echo "----- tail of $lf -----"; tail -n 40 "$lf"
            done
            echo "----- end of TAP $name -----"
        fi
        RESULT[memory]="${RESULT[memory]:-}${RESULT[memory]:+; }$name: $t_ok passed, $t_bad failed"
        RESULT[memory]+=" | $( { grep -E '^# .*peak RssAnon' "$tlog" || true; } | sed 's/^# //' | tr '\n' ' ')"
    done
    log "memory: done ($(elapsed "$t0") s)"
}

# ---------------------------------------------------------------- valgrind
# The server runs under valgrind's memcheck the way PostgreSQL's buildfarm
# runs it (src/tools/valgrind.supp, no leak check, one log per process);
# every backend is a forked child, so each is checked.  Debian's PostgreSQL
# is not built with USE_VALGRIND: palloc'd chunks are not marked for
# valgrind, so use of freed or uninitialised palloc memory inside a memory
# context is not seen; malloc'd memory (SQLite's), reads past the end of
# palloc'd blocks and uninitialised stack or heap values reaching a branch
# are.
part_valgrind() {
    local t0 vdir rlog rc r_ok r_bad bad nlogs
    t0=$(date +%s)
    vdir="$SCRATCH/valgrind"
    as_pg -- mkdir -p "$vdir/logs" "$vdir/regress_out"
    mkdir -p "$SOCKDIR"; chown "$PG_USER:$PG_USER" "$SOCKDIR"
    # shellcheck disable=SC2119  # no names: all test/fixtures/*.sql
    build_fixtures
    log "valgrind: initdb ($vdir/data)"
    as_pg -- initdb -D "$vdir/data" --auth=trust --encoding=UTF8 --locale="$RUN_LOCALE" \
        >"$vdir/initdb.log" 2>&1 || { cat "$vdir/initdb.log" >&2; record valgrind fail "initdb failed"; return; }
    # shellcheck disable=SC2016  # expanded by that sh
    as_pg -- sh -c 'printf "%s\n" "" "fsync = off" "shared_buffers = 32MB" \
        "max_locks_per_transaction = 256" "autovacuum = off" "max_worker_processes = 4" \
        "max_parallel_workers_per_gather = 0" "jit = off" >> "$1"' sh "$vdir/data/postgresql.conf"
    log "valgrind: starting postgres under valgrind on port $PORT"
    # shellcheck disable=SC2016  # expanded by that sh
    as_pg -- sh -c 'exec valgrind --quiet --trace-children=yes --track-origins=yes \
        --read-var-info=yes --num-callers=30 --leak-check=no --error-limit=no \
        --gen-suppressions=all --error-exitcode="$7" \
        --suppressions="$1" --log-file="$2/%p.log" \
        postgres -D "$3" -p "$4" -k "$5" -c listen_addresses= >"$6" 2>&1' \
        sh "$SCRATCH/test/long/valgrind.supp" "$vdir/logs" "$vdir/data" "$PORT" "$SOCKDIR" \
        "$vdir/postgres.log" "${LONG_VG_EXITCODE:-128}" &
    VG_PID=$!
    CLUSTER_STARTED=1
    for _ in $(seq 1 240); do
        as_pg -- pg_isready -q -h "$SOCKDIR" -p "$PORT" && break
        kill -0 "$VG_PID" 2>/dev/null || break
        sleep 1
    done
    if ! as_pg -- pg_isready -q -h "$SOCKDIR" -p "$PORT"; then
        tail -n 40 "$vdir/postgres.log" >&2 || true
        record valgrind fail "server under valgrind did not start"
        return
    fi
    log "valgrind: server ready after $(elapsed "$t0") s; pg_regress ${VALGRIND_TESTS[*]}"
    run_pg_regress "$vdir/regress_out" "${VALGRIND_TESTS[@]}"
    rlog="$REGRESS_LOG"
    rc=$REGRESS_RC
    r_ok=$(grep -cE '^(test +)?[[:space:]]*[^[:space:]]+[[:space:]]+\.\.\. ok' "$rlog" || true)
    r_bad=$(( ${#VALGRIND_TESTS[@]} - r_ok ))
    [ "$rc" -ne 0 ] && [ "$r_bad" -eq 0 ] && r_bad=1
    PASSED=$(( PASSED + r_ok ))
    FAILED=$(( FAILED + r_bad ))
    if [ "$r_bad" -gt 0 ] && [ -f "$vdir/regress_out/regression.diffs" ]; then
        echo "----- regression.diffs (under valgrind) -----"
        head -n 200 "$vdir/regress_out/regression.diffs"
        echo "----- end -----"
    fi
    log "valgrind: stopping the server"
    as_pg -- pg_ctl -D "$vdir/data" -s -w -t 300 stop -m fast >/dev/null 2>&1 ||
        as_pg -- pg_ctl -D "$vdir/data" -s stop -m immediate >/dev/null 2>&1 || true
    wait "$VG_PID" 2>/dev/null || true
    CLUSTER_STARTED=0
    # Every process's log: any error at all is a finding.  With --quiet a
    # clean process writes an empty log; an error writes its stack and the
    # "ERROR SUMMARY" line.
    nlogs=$(find "$vdir/logs" -name '*.log' | wc -l)
    bad="$(grep -lE 'ERROR SUMMARY: [1-9]|Invalid (read|write|free)|uninitialised|Conditional jump|Mismatched free|Source and destination overlap|Process terminating' "$vdir/logs"/*.log 2>/dev/null || true)"
    if [ -z "$bad" ] && [ "$nlogs" -gt 0 ]; then
        record valgrind ok "no valgrind errors in $nlogs process logs; pg_regress $r_ok/${#VALGRIND_TESTS[@]} ok ($(elapsed "$t0") s)"
    else
        for f in $bad; do
            echo "----- valgrind log $f -----"; head -n 150 "$f"; echo "----- end -----"
        done
        record valgrind fail "valgrind errors in $(echo "$bad" | grep -c . || true) of $nlogs process logs (in $vdir/logs); pg_regress $r_ok/${#VALGRIND_TESTS[@]} ok ($(elapsed "$t0") s)"
    fi
}

# ---------------------------------------------------------------- asan
part_asan() {
    local t0 adir alog rc summary n_ubsan n_asan
    t0=$(date +%s)
    adir="$SCRATCH/asan"
    mkdir -p "$adir"
    alog="$adir/asan.log"
    log "asan: build test/asan (the project's typemap.c, translate.c, profile.c + a shim)"
    if ! make -C "$SCRATCH/test/asan" SRC="$SCRATCH/src" OUT="$adir" PG_CONFIG="$PG_CONFIG" \
            >"$adir/build.log" 2>&1; then
        tail -n 60 "$adir/build.log"
        record asan fail "harness did not build (log: $adir/build.log)"
        return
    fi
    set +e
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=99 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0 \
        "$adir/harness" "$SCRATCH/test/asan/corpus" "${ASAN_RANDOM:-5000}" >"$alog" 2>&1
    rc=$?
    set -e
    summary="$(grep -E '^harness: [0-9]' "$alog" | tail -n 1 || true)"
    grep -E '^(harness: [0-9]|group:|contract:)' "$alog" || true
    # UBSan recovers and prints each distinct report once; ASan stops at its first.
    n_ubsan=$(grep -c 'runtime error:' "$alog" || true)
    n_asan=$(grep -c 'ERROR: AddressSanitizer' "$alog" || true)
    if [ "$rc" -eq 0 ] && [ "$n_ubsan" -eq 0 ] && [ "$n_asan" -eq 0 ] && [ -n "$summary" ]; then
        record asan ok "${summary#harness: }; 0 ASan, 0 UBSan reports ($(elapsed "$t0") s)"
    else
        echo "----- sanitizer reports and contract breaches in $alog -----"
        grep -E -A12 'runtime error:|ERROR: AddressSanitizer' "$alog" | grep -vE '^    #([6-9]|[1-9][0-9])' || true
        grep -E '^contract:|^harness: (stub|uncaught|TRAP)' "$alog" || true
        echo "----- end -----"
        record asan fail "harness exit $rc, $n_asan ASan and $n_ubsan UBSan reports: ${summary:-no summary line} (log: $alog)"
    fi
}

if want fuzz; then part_fuzz; fi
if want memory; then part_memory; fi
if want valgrind; then part_valgrind; fi
if want asan; then part_asan; fi

kill_leftovers || true
echo "----- long tier summary ($(elapsed "$T_START") s) -----"
for p in "${PARTS[@]}"; do echo "$p: ${RESULT[$p]:-no result}"; done
SUMMARY_PRINTED=1
echo "$PASSED passed, $FAILED failed"
if [ "$FAILED" -gt 0 ] || [ $(( PASSED + FAILED )) -eq 0 ]; then
    exit 1
fi
exit 0
