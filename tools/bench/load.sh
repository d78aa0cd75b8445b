#!/usr/bin/env bash
# Runs one loket-load measurement: a fresh `loket serve` pinned to one core, the load
# pinned to the other, then the server stopped with SIGTERM. Everything on loopback.
#
#   tools/bench/load.sh [--sync full|normal] [--build DIR] [--port P] [loket-load options]
#   tools/bench/load.sh --sync full --mode ws --clients 100 --duration 20
#   tools/bench/load.sh --sync full --mode whatsapp --clients 100 --duration 20
#   tools/bench/load.sh --db 'postgresql:///loket?host=/tmp/pgb' --workers 4 --mode ws ...
#
# The server gets a new database in a temporary directory on the disk of /tmp (or
# $LOKET_BENCH_DIR), the per-sender rate limit and the per-address connection cap raised
# out of the way (the load comes from one address), and a closed port as its Graph API
# with no LOKET_WA_TOKEN: WhatsApp replies wait in the outbox, none is sent.
# LOKET_BENCH_SERVER_CPU and LOKET_BENCH_LOAD_CPU choose the cores (0 and 1). With perf
# (Debian's linux-perf, optional) it also counts the server's fdatasync and fsync calls
# during the run: messages per sync, what the kernel saw of the commits.
set -euo pipefail
cd "$(dirname "$0")/../.."

sync=full build=build port=18080 db= workers=
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --sync) sync=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;           # a PostgreSQL URI instead of a new SQLite file
    --workers) workers=$2; shift 2 ;; # store_workers
    *) args+=("$1"); shift ;;
    esac
done
for b in "$build/loket" "$build/loket-load"; do
    [ -x "$b" ] || { echo "load.sh: $b is not built (tools/build.sh $build)" >&2; exit 2; }
done
dir=$(mktemp -d "${LOKET_BENCH_DIR:-/tmp}/loket-load.XXXXXX")
secret=bench-secret-$$
cat >"$dir/loket.conf" <<EOF
sync = $sync
rate = 1000000
burst = 1000000
max_conns_per_peer = 1000000
ws_new_sessions = 1000000
max_webhook_conns = 2000
log = warn
EOF
if [ -n "$workers" ]; then echo "store_workers = $workers" >>"$dir/loket.conf"; fi
LOKET_WA_APP_SECRET=$secret LOKET_WA_API_URL=http://127.0.0.1:9 \
    taskset -c "${LOKET_BENCH_SERVER_CPU:-0}" "$build/loket" serve --config "$dir/loket.conf" \
    --db "${db:-$dir/loket.db}" --host 127.0.0.1 --port "$port" 2>"$dir/server.log" &
pid=$!
cleanup() {
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 1 200); do # up to 10 s for /healthz
    if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    sleep 0.05
done
echo "server: pid $pid on core ${LOKET_BENCH_SERVER_CPU:-0}, synchronous=$sync," \
    "db ${db:+PostgreSQL}${db:-$dir/loket.db}${workers:+, store_workers=$workers}"
perf_pid=
if command -v perf >/dev/null 2>&1 &&
    perf stat -e syscalls:sys_enter_fdatasync -p "$pid" -o /dev/null -- true >/dev/null 2>&1; then
    perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync -p "$pid" \
        -o "$dir/perf.csv" >/dev/null 2>&1 &
    perf_pid=$!
fi
rc=0
LOKET_WA_APP_SECRET=$secret taskset -c "${LOKET_BENCH_LOAD_CPU:-1}" "$build/loket-load" \
    --port "$port" --pid "$pid" --metrics "${args[@]}" >"$dir/load.out" || rc=$?
cat "$dir/load.out"
if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    fds=$(awk -F, '/sys_enter_fdatasync/ {print $1}' "$dir/perf.csv")
    fs=$(awk -F, '/sys_enter_fsync/ {print $1}' "$dir/perf.csv")
    msgs=$(awk '/^messages:/ {print $2}' "$dir/load.out")
    awk -v d="${fds:-0}" -v f="${fs:-0}" -v m="${msgs:-0}" 'BEGIN {
        printf "syncs:         %d fdatasync + %d fsync (perf): ", d, f
        if (d + f > 0) printf "%.2f messages per sync\n", m / (d + f); else print "n/a" }'
else
    echo "syncs:         n/a (perf with syscall tracepoints not available)"
fi
exit $rc
