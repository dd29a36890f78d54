#!/usr/bin/env bash
# Migration benchmark of sqlite_fdw_mig (see bench/README.md).
#
#   bash bench/run.sh [--size 100k|1m] [--runs N] [--wal minimal|replica|both] [--no-build]
#
# As root on Debian 12: installs what is missing, builds and installs the extension
# from this checkout (make USE_PGXS=1 install, in a copy of the sources), generates
# the SQLite file deterministically, starts a throwaway PostgreSQL 15 cluster as the
# OS user postgres (port 54360, sockets under the scratch dir), runs every route
# interleaved, stops the cluster, and prints the results as markdown.  It times
# things; it asserts no time.
set -euo pipefail

SIZE=100k
RUNS=3
WAL=both
BUILD=1
while [ "$#" -gt 0 ]; do
    case "$1" in
        --size) SIZE="$2"; shift 2;;
        --runs) RUNS="$2"; shift 2;;
        --wal) WAL="$2"; shift 2;;
        --no-build) BUILD=0; shift;;
        -h|--help) sed -n '2,10p' "$0"; exit 0;;
        *) echo "unknown option: $1" >&2; exit 2;;
    esac
done
case "$SIZE" in 100k|1m) ;; *) echo "--size must be 100k or 1m" >&2; exit 2;; esac
case "$WAL" in minimal|replica) WALS=("$WAL");; both) WALS=(replica minimal);;
    *) echo "--wal must be minimal, replica or both" >&2; exit 2;; esac
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be a positive integer" >&2; exit 2; }

PG_BINDIR=/usr/lib/postgresql/15/bin
PORT=54360
SCRATCH=/var/tmp/sqlite_fdw_mig-bench
SOCKDIR="$SCRATCH/sock"
DATA="$SCRATCH/data"
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
CHECKOUT="$(dirname "$BENCH")"
PACKAGES=(postgresql-15 postgresql-server-dev-15 libsqlite3-dev sqlite3 pgloader build-essential python3)

log() { printf '==> %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (installs packages and the extension, runs PostgreSQL as postgres)"

# ---- packages --------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update </dev/null
    apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null
fi
id postgres >/dev/null 2>&1 || die "no OS user postgres"

as_pg() { runuser -u postgres -- env -i HOME="$SCRATCH" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
          PATH="$PG_BINDIR:/usr/bin:/bin" "$@"; }

stop_cluster() {
    if [ -f "$DATA/postmaster.pid" ]; then
        as_pg pg_ctl -D "$DATA" -s -w -t 60 stop -m fast >/dev/null 2>&1 ||
            as_pg pg_ctl -D "$DATA" -s stop -m immediate >/dev/null 2>&1 || true
    fi
}
trap 'stop_cluster' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- scratch dir (a leftover cluster of an earlier run is stopped first) ---
stop_cluster
mkdir -p "$SCRATCH"
rm -rf "$DATA" "$SOCKDIR" "$SCRATCH/logs" "$SCRATCH/csv" "$SCRATCH/csv_limit" "$SCRATCH/build"
mkdir -p "$SOCKDIR" "$SCRATCH/logs"
chown postgres:postgres "$SCRATCH" "$SOCKDIR"
chmod 700 "$SCRATCH"

# ---- build and install the extension, and the C reader ---------------------
if [ "$BUILD" = 1 ]; then
    log "build: make USE_PGXS=1 install (sources of $CHECKOUT copied to $SCRATCH/build)"
    mkdir -p "$SCRATCH/build"
    (cd "$CHECKOUT" && cp -p Makefile ./*.c ./*.h ./*.control ./*.sql "$SCRATCH/build/")
    if ! make -C "$SCRATCH/build" USE_PGXS=1 PG_CONFIG="$PG_BINDIR/pg_config" install \
            >"$SCRATCH/build.log" 2>&1; then
        tail -n 40 "$SCRATCH/build.log" >&2
        die "build failed (log: $SCRATCH/build.log)"
    fi
else
    log "build: skipped (--no-build): using the installed extension"
fi
gcc -O2 -Wall -o "$SCRATCH/reader" "$BENCH/reader.c" -lsqlite3

# ---- the SQLite file (kept between runs while the generator is unchanged) --
GEN_SUM="$(sha256sum "$BENCH/gen_app_db.py" | cut -c1-12)"
DB="$SCRATCH/app-$SIZE-$GEN_SUM.db"
if [ ! -f "$DB" ]; then
    rm -f "$SCRATCH"/app-"$SIZE"-*.db
    log "generating $DB"
    python3 "$BENCH/gen_app_db.py" "$DB.tmp" --size "$SIZE"
    mv "$DB.tmp" "$DB"
fi
chown postgres:postgres "$DB"
chmod 644 "$DB"

# ---- the cluster ------------------------------------------------------------
log "cluster: initdb $DATA"
as_pg initdb -D "$DATA" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$SCRATCH/initdb.log" 2>&1 ||
    { cat "$SCRATCH/initdb.log" >&2; die "initdb failed"; }
# The same settings for every route; only wal_level (and max_wal_senders, which
# wal_level=minimal needs at 0) changes between the two passes.
cat >>"$DATA/postgresql.conf" <<EOF

# sqlite_fdw_mig benchmark
listen_addresses = ''
port = $PORT
unix_socket_directories = '$SOCKDIR'
shared_buffers = 512MB
maintenance_work_mem = 256MB
max_parallel_maintenance_workers = 2
work_mem = 16MB
max_wal_size = 8GB
checkpoint_timeout = 30min
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = 'top'
EOF

RESULTS="$SCRATCH/results-$SIZE.jsonl"
: >"$RESULTS"
for wal in "${WALS[@]}"; do
    senders=10
    [ "$wal" = minimal ] && senders=0
    stop_cluster
    log "cluster: start with wal_level=$wal (port $PORT, sockets in $SOCKDIR)"
    as_pg pg_ctl -D "$DATA" -w -t 60 -l "$SCRATCH/postgres.log" \
        -o "-c wal_level=$wal -c max_wal_senders=$senders" start >/dev/null ||
        { tail -n 30 "$SCRATCH/postgres.log" >&2; die "could not start PostgreSQL"; }
    python3 "$BENCH/bench.py" run --wal "$wal" --size "$SIZE" --runs "$RUNS" --scratch "$SCRATCH" \
        --port "$PORT" --db "$DB" --reader "$SCRATCH/reader" --results "$RESULTS"
done

# ---- the machine, then the tables ---------------------------------------------
MACHINE="$SCRATCH/machine-$SIZE.md"
{
    echo "Machine: $(nproc) vCPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" \
         "(family $(grep -m1 'cpu family' /proc/cpuinfo | sed 's/.*: //')," \
         "model $(grep -m1 '^model[[:space:]]' /proc/cpuinfo | sed 's/.*: //')," \
         "$(grep -qw hypervisor /proc/cpuinfo && echo virtualized || echo bare metal))," \
         "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM," \
         "Linux $(uname -r), $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release)."
    echo "Software: $("$PG_BINDIR/postgres" --version | sed 's/postgres (PostgreSQL) /PostgreSQL /')," \
         "SQLite $(sqlite3 --version | cut -d' ' -f1) (library and CLI)," \
         "$(pgloader --version 2>/dev/null | head -n1 | tr -d '"')," \
         "sqlite_fdw_mig at $(git -C "$CHECKOUT" rev-parse --short HEAD 2>/dev/null || echo '?')$(
             [ -n "$(git -C "$CHECKOUT" status --porcelain -- '*.c' '*.h' 2>/dev/null)" ] && echo ' (with uncommitted changes)')," \
         "built with the Makefile's flags."
    echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), bash bench/run.sh --size $SIZE --runs $RUNS --wal $WAL;" \
         "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Cluster: shared_buffers 512MB, maintenance_work_mem 256MB, max_parallel_maintenance_workers 2," \
         "work_mem 16MB, max_wal_size 8GB, fsync on, synchronous_commit on; CHECKPOINT before each timed run."
} >"$MACHINE"
stop_cluster
log "results: $RESULTS"
echo
python3 "$BENCH/bench.py" report --results "$RESULTS" --machine "$MACHINE" | tee "$SCRATCH/results-$SIZE.md"
