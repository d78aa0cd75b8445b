#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#   tools/pg-cluster.sh start DIR   initdb into DIR (created), start the server
#                                   on a Unix socket in DIR (no TCP), create the
#                                   database "loket" and print its URI
#   tools/pg-cluster.sh stop DIR    stop that server and remove DIR
# PostgreSQL refuses to run as root: as root the cluster belongs to the
# system user loket-test (created when missing) and runs as that user. Trust
# authentication on the socket only; fsync off (the data is thrown away), or
# on with PG_CLUSTER_DURABLE=1 (for benchmark figures that mean something).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg-cluster: no PostgreSQL server found (tools/setup.sh --test installs it)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=loket-test --regid=loket-test --init-groups -- "$@"
    else
        "$@"
    fi
}

durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if [ "${PG_CLUSTER_DURABLE:-0}" = 1 ]; then
    durability=""
fi

case "$cmd" in
start)
    if [ "$(id -u)" = 0 ] && ! id loket-test >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --shell /usr/sbin/nologin loket-test
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        chown loket-test:loket-test "$dir"
    fi
    chmod 0700 "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U loket --auth=trust --no-sync \
        --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir -c listen_addresses= -c max_connections=200 $durability" start >/dev/null ||
        { cat "$dir/server.log" >&2; exit 1; }
    "$bindir/createdb" -h "$dir" -U loket loket
    echo "postgresql:///loket?host=$dir&user=loket"
    ;;
stop)
    if [ -d "$dir/data" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
