#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The seed design on PostgreSQL, a baseline of SPEC 13: a throwaway cluster made with initdb
# in the work directory, listening only on 127.0.0.1 (a free port, no unix socket), with
# fsync and synchronous_commit on (the defaults, set explicitly), and bench/pg_seed
# inserting the bench's events one durable INSERT at a time from 1 and then 16 clients.
# The clients and the server share the machine's cores. Then, on the same cluster, the
# library's durable batched append (bench_ledger append, as for SQLite, into a schema of its
# own): pg_append, pg_append_batch_p50 / _p99. Then the SPEC 13
# row "the same with --db postgres://..., two servers on one database": two tradetrail serve
# processes on one schema (and one data directory, for the signing key), each loaded by
# its own wrk with 32 of the 64 keep-alive connections of single-event appends
# (bench/wrk_post_event.lua). Only 2xx answers count and the ledger must hold every
# acknowledged event, as in http.sh (bench/wrk_lib.sh). The servers are stopped, then
# PostgreSQL, and the cluster removed on every exit path. Usage (from bench/run.py): pg.sh
# BUILD_DIR WORKDIR.
#
# Environment: BENCH_PG_SECONDS (duration of each client run, default 10; 0.5 with
# BENCH_SMOKE=1), BENCH_HTTP_SECONDS (the two servers' load, default 10; 1 with
# BENCH_SMOKE=1), BENCH_PG_EVENTS (events of the library's batched append, 10,000 per
# transaction; default 200000, 20000 with BENCH_SMOKE=1), PG_BINDIR (the server's
# binaries; default the newest /usr/lib/postgresql/*/bin), BENCH_PG_USER (the user the server runs as when this runs as
# root; default postgres, else nobody: initdb refuses to run as root), BENCH_PG_STATEMENTS=1
# (a profile of the two servers' load, not a figure: pg_stat_statements is loaded and its
# costliest statements and the transactions committed are printed to stderr after the load,
# docs/PERFORMANCE.md).
set -eu
build=$1
work=$2
here=$(cd "$(dirname "$0")/.." && pwd)
hook=pg.sh
. "$here/wrk_lib.sh"
secs=${BENCH_PG_SECONDS:-10}
http_secs=${BENCH_HTTP_SECONDS:-10}
statements=${BENCH_PG_STATEMENTS:-0}
max=200000
lib_events=${BENCH_PG_EVENTS:-200000}
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    secs=0.5
    http_secs=1
    max=20000
    lib_events=${BENCH_PG_EVENTS:-20000}
fi

[ -x "$build/pg_seed" ] || {
    echo "$build/pg_seed is not built: libpq was not found when $build was configured" \
        "(apt-get install libpq-dev, then reconfigure)" >&2
    exit 77
}
bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && bindir=$d
    done
fi
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ] || {
    echo "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin" \
        "(apt-get install postgresql, or set PG_BINDIR)" >&2
    exit 77
}

# initdb and postgres refuse to run as root.
user=""
if [ "$(id -u)" -eq 0 ]; then
    command -v runuser >/dev/null || {
        echo "running as root without runuser (util-linux): cannot start PostgreSQL as" \
            "another user" >&2
        exit 77
    }
    user=${BENCH_PG_USER:-}
    if [ -z "$user" ]; then
        user=nobody
        getent passwd postgres >/dev/null && user=postgres
    fi
fi
as_user() {
    if [ -n "$user" ]; then
        runuser -u "$user" -- "$@"
    else
        "$@"
    fi
}

pgdir=""
started=0
servers=""
cleanup() {
    for p in $servers; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ "$started" = 1 ]; then
        (cd / && as_user "$bindir/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1) ||
            echo "pg.sh: pg_ctl stop failed" >&2
    fi
    [ -n "$pgdir" ] && rm -rf "$pgdir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# The cluster's directory must be writable by the server's user. The harness's work
# directory is private (mkdtemp): let others traverse it, else fall back to $TMPDIR.
pgdir="$work/pg"
rm -rf "$pgdir"
mkdir -p "$pgdir"
if [ -n "$user" ]; then
    chown "$user" "$pgdir"
    if ! as_user test -w "$pgdir" 2>/dev/null; then
        [ -O "$work" ] && chmod a+x "$work"
    fi
    if ! as_user test -w "$pgdir" 2>/dev/null; then
        rm -rf "$pgdir"
        pgdir=$(mktemp -d "${TMPDIR:-/tmp}/tt-bench-pg.XXXXXX")
        chmod 755 "$pgdir"
        chown "$user" "$pgdir"
        echo "pg.sh: $user cannot reach $work; the cluster is in $pgdir" >&2
    fi
fi

port=$(free_port)
cd "$pgdir"
# --no-sync: the throwaway cluster's initial files need not reach the disk before the
# server starts; every commit measured below is still flushed (fsync on).
as_user "$bindir/initdb" -D "$pgdir/data" -U bench --auth=trust --encoding=UTF8 --no-locale \
    --no-sync >"$pgdir/initdb.log" 2>&1 || {
    cat "$pgdir/initdb.log" >&2
    echo "initdb failed (as ${user:-$(id -un)})" >&2
    exit 1
}
cat >>"$pgdir/data/postgresql.conf" <<EOF
# bench/measure.d/pg.sh: loopback only, every commit durable
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 60
EOF
if [ "$statements" = 1 ]; then
    printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n" \
        >>"$pgdir/data/postgresql.conf"
fi
started=1
as_user "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 start >/dev/null || {
    cat "$pgdir/server.log" >&2
    echo "pg_ctl start failed" >&2
    exit 1
}
echo "info postgresql_server $("$bindir/postgres" --version | sed 's/^postgres (PostgreSQL) //')"
conn="host=127.0.0.1 port=$port user=bench dbname=postgres connect_timeout=10"
bound=$(awk -v s="$secs" 'BEGIN { print int(3 * s + 120) }')
for clients in 1 16; do
    timeout --foreground "$bound" "$build/pg_seed" "$conn" "$clients" "$secs" "$max" || {
        echo "pg_seed with $clients client(s) failed" >&2
        exit 1
    }
done

# The library's batched append on this cluster: the same generator and batch size as the
# SQLite figure, a schema of its own (tradetrail_lib). bench_ledger checks that the ledger
# holds every event afterwards; its figures are renamed here to pg_*.
lib_uri="postgres://bench@127.0.0.1:$port/postgres?options=-csearch_path%3Dtradetrail_lib"
rm -rf "$work/pg-lib"
timeout --foreground "$bound" "$build/bench_ledger" append "$lib_events" 10000 "$work/pg-lib" \
    "$lib_uri" >"$work/pg-lib.out" || {
    echo "bench_ledger append on PostgreSQL failed" >&2
    exit 1
}
sed -n 's/^figure \(append[a-z0-9_]*\) /figure pg_\1 /p' "$work/pg-lib.out"
grep -q '^figure append ' "$work/pg-lib.out" || fail "bench_ledger printed no append figure"

# Two tradetrail servers on one database.
if ! command -v wrk >/dev/null || [ ! -x "$build/tradetrail" ]; then
    echo "pg.sh: no wrk or no $build/tradetrail: two servers on PostgreSQL not measured" >&2
    exit 0
fi
export TT_WRK_COUNT="$here/wrk_count.lua"
uri="postgres://bench@127.0.0.1:$port/postgres?options=-csearch_path%3Dtradetrail"
data="$work/pg-serve"
rm -rf "$data"
ports=""
n=0
for name in a b; do
    p=$(free_port)
    # The first server creates the ledger (and prints its admin token); the second opens it.
    "$build/tradetrail" --data "$data" --db "$uri" serve --listen "127.0.0.1:$p" \
        >"$work/serve-pg-$name.log" 2>&1 &
    servers="$servers $!"
    wait_port "$p"
    ports="$ports $p"
done
set -- $ports
admin=$(awk '/admin token/ {print $NF}' "$work/serve-pg-a.log")
[ -n "$admin" ] || fail "the first server printed no admin token"
export TT_TOKEN="${BENCH_HTTP_TOKEN:-$admin}"
# PostgreSQL's CPU time: the postmaster and its children (the servers' connections are
# opened before the load and stay open).
pg_ticks() {
    pm=$(head -n 1 "$pgdir/data/postmaster.pid")
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pm" '{
        # the command name may hold spaces: count fields from the closing parenthesis
        sub(/^.*\) /, ""); if ($2 == pm) t += $12 + $13 } END { print t + 0 }'
}
psql_do() { "$bindir/psql" -X -q "$conn" "$@" >&2; }
if [ "$statements" = 1 ]; then
    psql_do -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
        -c "SELECT pg_stat_statements_reset(), pg_stat_reset()"
fi
s0=$(tree_size "$1" "$admin")
t0=0
for p in $servers; do t0=$((t0 + $(cpu_ticks "$p"))); done
g0=$(($(pg_ticks) + $(cpu_ticks "$(head -n 1 "$pgdir/data/postmaster.pid")")))
wrk -t1 -c32 -d"${http_secs}s" -s "$here/wrk_post_event.lua" "http://127.0.0.1:$1/" \
    >"$work/wrk-pg-a.out" &
wa=$!
wrk -t1 -c32 -d"${http_secs}s" -s "$here/wrk_post_event.lua" "http://127.0.0.1:$2/" \
    >"$work/wrk-pg-b.out" || fail "wrk failed (second server)"
wait "$wa" || fail "wrk failed (first server)"
t1=0
for p in $servers; do t1=$((t1 + $(cpu_ticks "$p"))); done
g1=$(($(pg_ticks) + $(cpu_ticks "$(head -n 1 "$pgdir/data/postmaster.pid")")))
s1=$(tree_size "$2" "$admin")
out=$(sum_results "$(cat "$work/wrk-pg-a.out")" "$(cat "$work/wrk-pg-b.out")")
check pg_http_append "$out" "$s0" "$s1" 1
awk -v ok="$(field "$out" ok)" -v s="$(field "$out" seconds)" -v t="$((t1 - t0))" \
    -v g="$((g1 - g0))" -v hz="$(getconf CLK_TCK)" -v p99="$(field "$out" p99_us)" 'BEGIN {
    printf "figure pg_http_append %.1f req/s\n", ok / s
    printf "figure pg_http_append_cpu_us %.1f us\n", t * 1e6 / hz / ok
    printf "figure pg_http_append_pg_cpu_us %.1f us\n", g * 1e6 / hz / ok
    printf "figure pg_http_append_p99 %.3f ms\n", p99 / 1000 }'
if [ "$statements" = 1 ]; then
    psql_do -c "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()" \
        -c "SELECT calls, round(total_exec_time::numeric, 1) AS ms, rows,
            left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS statement
            FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"
fi
