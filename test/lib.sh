# shellcheck shell=bash
# Shared helpers for test/run_tests.sh and test/demo.sh.
# Source it; it expects the caller to have `set -euo pipefail`.
#
# The caller sets SCRATCH (scratch dir), PORT, then calls the functions.
# All PostgreSQL processes run as the OS user "postgres" (initdb/TAP refuse
# root); the checkout may be unreadable by postgres, so everything it needs
# is copied into $SCRATCH.

PG_BINDIR=/usr/lib/postgresql/15/bin
PG_CONFIG="$PG_BINDIR/pg_config"
PG_USER=postgres
# C.UTF-8 is built into glibc >= 2.35 (Debian 12); fall back to C otherwise.
if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then HAVE_C_UTF8=1; RUN_LOCALE=C.UTF-8
else HAVE_C_UTF8=0; RUN_LOCALE=C; fi
REQUIRED_PACKAGES=(postgresql-15 postgresql-server-dev-15 libsqlite3-dev sqlite3
                   libipc-run-perl make gcc libc6-dev perl)

# Checkout root = parent of the directory holding this file.
CHECKOUT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

log()  { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

require_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and the extension, and runs PostgreSQL as '$PG_USER')"
}

# Install any missing Debian package (non-interactively).
ensure_packages() {
    local missing=() p
    for p in "${REQUIRED_PACKAGES[@]}"; do
        # the status into a variable, not a pipe: "grep -q" quitting early
        # would kill dpkg with SIGPIPE, and pipefail count it as missing
        local status
        status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
        if [ "$status" != "install ok installed" ]; then
            missing+=("$p")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "packages: all present"
        return 0
    fi
    log "packages: installing missing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update </dev/null || die "apt-get update failed"
    apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null || die "apt-get install ${missing[*]} failed"
    for p in "${missing[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || die "package $p still not installed"
    done
    [ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found after installing packages"
    id "$PG_USER" >/dev/null 2>&1 || die "OS user '$PG_USER' does not exist (postgresql-15 should create it)"
}

# Build and install the extension from the checkout; output shown only on failure.
# Arguments are extra make variables (run_tests.sh passes SANITIZE=undefined);
# everything is rebuilt, so a build with other flags never mixes in.
build_and_install() {
    local blog="$SCRATCH/build.log"
    log "build: make USE_PGXS=1 PG_CONFIG=$PG_CONFIG $* (in $CHECKOUT)"
    make -C "$CHECKOUT" USE_PGXS=1 PG_CONFIG="$PG_CONFIG" clean >/dev/null 2>&1 || true
    if ! make -C "$CHECKOUT" USE_PGXS=1 PG_CONFIG="$PG_CONFIG" "$@" >"$blog" 2>&1; then
        cat "$blog" >&2
        die "build failed (log: $blog)"
    fi
    log "install: make install"
    if ! make -C "$CHECKOUT" USE_PGXS=1 PG_CONFIG="$PG_CONFIG" "$@" install >>"$blog" 2>&1; then
        cat "$blog" >&2
        die "make install failed (log: $blog)"
    fi
}

# Run a command as postgres with a clean, explicit environment.
# Usage: as_pg [VAR=value ...] -- cmd args...
as_pg() {
    local envs=()
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    [ "$#" -gt 0 ] && shift
    runuser -u "$PG_USER" -- env -i \
        HOME="$SCRATCH" LANG="$RUN_LOCALE" LC_ALL="$RUN_LOCALE" \
        PATH="$PG_BINDIR:/usr/local/bin:/usr/bin:/bin" \
        PGHOST="$SOCKDIR" PGPORT="$PORT" PGUSER="$PG_USER" \
        "${envs[@]+"${envs[@]}"}" "$@"
}

# Stop/kill anything left from an earlier (possibly killed) run, then
# recreate an empty scratch dir owned by postgres.
reset_scratch() {
    case "$SCRATCH" in /var/tmp/?*|/tmp/?*) ;; *) die "refusing to use scratch dir '$SCRATCH'";; esac
    if [ -f "$SCRATCH/data/postmaster.pid" ] && id "$PG_USER" >/dev/null 2>&1; then
        log "cleanup: stopping leftover cluster in $SCRATCH/data"
        runuser -u "$PG_USER" -- "$PG_BINDIR/pg_ctl" -D "$SCRATCH/data" -s stop -m immediate >/dev/null 2>&1 || true
    fi
    kill_leftovers
    rm -rf "$SCRATCH"
    mkdir -p "$SCRATCH"
    chown "$PG_USER:$PG_USER" "$SCRATCH"
    chmod 700 "$SCRATCH"
}

# PIDs of processes owned by postgres whose command line mentions $SCRATCH/
# (postmasters of our cluster or of TAP nodes, psql, prove, ...), plus their children.
_leftover_pids() {
    local uid pid cmd kids
    uid="$(id -u "$PG_USER" 2>/dev/null)" || return 0
    for pid in $(pgrep -u "$uid" 2>/dev/null || true); do
        [ "$pid" = "$$" ] && continue
        # the process may be gone by now: say nothing about it
        cmd="$( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null || true)"
        case "$cmd " in
            *"$SCRATCH/"*|*"$SCRATCH "*)
                echo "$pid"
                kids="$(pgrep -P "$pid" 2>/dev/null || true)"
                if [ -n "$kids" ]; then echo "$kids"; fi
                ;;
        esac
    done
}

kill_leftovers() {
    local pids
    pids="$(_leftover_pids | sort -u | tr '\n' ' ')"
    [ -n "${pids// /}" ] || return 0
    log "cleanup: killing leftover processes: $pids"
    # shellcheck disable=SC2086
    kill -QUIT $pids 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        sleep 0.5
        pids="$(_leftover_pids | sort -u | tr '\n' ' ')"
        [ -n "${pids// /}" ] || return 0
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 1
}

# Copy sql/, expected/, specs/, test/ from the checkout into $SCRATCH (owned by postgres).
copy_sources() {
    local d
    for d in sql expected specs test; do
        if [ -d "$CHECKOUT/$d" ]; then
            cp -a "$CHECKOUT/$d" "$SCRATCH/"
        fi
    done
    chown -R "$PG_USER:$PG_USER" "$SCRATCH"
}

# Build $SCRATCH/test/fixtures/X.db from X.sql (all, or the given base names).
build_fixtures() {
    local dir="$SCRATCH/test/fixtures" f db names=("$@") n
    if [ "${#names[@]}" -eq 0 ]; then
        [ -d "$dir" ] || { log "fixtures: none"; return 0; }
        shopt -s nullglob
        for f in "$dir"/*.sql; do names+=("$(basename "$f" .sql)"); done
        shopt -u nullglob
    fi
    [ "${#names[@]}" -gt 0 ] || { log "fixtures: none"; return 0; }
    log "fixtures: building ${names[*]}"
    for n in "${names[@]}"; do
        f="$dir/$n.sql"; db="$dir/$n.db"
        [ -f "$f" ] || die "fixture script $f not found"
        rm -f "$db"
        if ! as_pg -- sh -c 'exec sqlite3 -bail "$1" < "$2"' sh "$db" "$f" 2>"$SCRATCH/fixture-$n.err"; then
            cat "$SCRATCH/fixture-$n.err" >&2
            die "fixture $n.sql failed"
        fi
    done
}

# initdb + start a private cluster in $SCRATCH/data, sockets in $SOCKDIR.
# Run pg_regress as the postgres OS user against the cluster on $PORT, with
# its output in OUTDIR, on the tests given; its output is also copied to
# OUTDIR/pg_regress.log.  Sets REGRESS_LOG and REGRESS_RC (its exit code).
# REGRESS_PROGRAM and REGRESS_DB, when set, run another program of the
# family (pg_isolation_regress) against another database.
run_pg_regress() {
    local outdir="$1"
    shift
    as_pg -- mkdir -p "$outdir"
    # shellcheck disable=SC2034  # read by the calling scripts
    REGRESS_LOG="$outdir/pg_regress.log"
    set +e
    (cd "$SCRATCH" && as_pg -- "${REGRESS_PROGRAM:-$PG_REGRESS}" \
        --inputdir="$SCRATCH" --outputdir="$outdir" \
        --bindir="$PG_BINDIR" --host="$SOCKDIR" --port="$PORT" \
        --dbname="${REGRESS_DB:-contrib_regression}" "$@") 2>&1 | tee "$REGRESS_LOG"
    # shellcheck disable=SC2034  # read by the calling scripts
    REGRESS_RC=${PIPESTATUS[0]}
    set -e
}

start_cluster() {
    local locale_opt=(--locale=C.UTF-8)
    [ "$HAVE_C_UTF8" = 1 ] || locale_opt=(--no-locale)
    log "cluster: initdb ($SCRATCH/data, ${locale_opt[*]})"
    mkdir -p "$SOCKDIR"; chown "$PG_USER:$PG_USER" "$SOCKDIR"
    if ! as_pg -- initdb -D "$SCRATCH/data" --auth=trust --encoding=UTF8 "${locale_opt[@]}" \
            >"$SCRATCH/initdb.log" 2>&1; then
        cat "$SCRATCH/initdb.log" >&2
        die "initdb failed"
    fi
    as_pg -- sh -c 'printf "%s\n" "" "fsync = off" "shared_buffers = 128MB" \
        "max_locks_per_transaction = 256" >> "$1"' sh "$SCRATCH/data/postgresql.conf"
    log "cluster: starting on port $PORT (socket dir $SOCKDIR)"
    CLUSTER_STARTED=1
    if ! as_pg -- pg_ctl -D "$SCRATCH/data" -w -t 60 -l "$SCRATCH/postgres.log" \
            -o "-p $PORT -k $SOCKDIR -c listen_addresses=''" start >/dev/null 2>&1; then
        cat "$SCRATCH/postgres.log" >&2 || true
        die "could not start PostgreSQL"
    fi
}

stop_cluster() {
    [ "${CLUSTER_STARTED:-0}" = 1 ] || return 0
    CLUSTER_STARTED=0
    if [ -f "$SCRATCH/data/postmaster.pid" ]; then
        as_pg -- pg_ctl -D "$SCRATCH/data" -s -w -t 30 stop -m fast >/dev/null 2>&1 ||
            as_pg -- pg_ctl -D "$SCRATCH/data" -s stop -m immediate >/dev/null 2>&1 || true
    fi
}

# EXIT trap: stop the cluster and any leftover processes (e.g. TAP nodes).
cleanup_on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    stop_cluster || true
    kill_leftovers || true
    if declare -F on_exit_hook >/dev/null; then on_exit_hook "$rc" || true; fi
    exit "$rc"
}

install_traps() {
    trap cleanup_on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Common preamble: root check, packages, scratch reset, build+install, copy.
# Arguments go to build_and_install (extra make variables).
common_setup() {
    require_root
    ensure_packages
    SOCKDIR="$SCRATCH/sock"
    CLUSTER_STARTED=0
    log "scratch: $SCRATCH (port $PORT)"
    reset_scratch
    install_traps
    build_and_install "$@"
    copy_sources
}
