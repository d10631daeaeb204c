#!/usr/bin/env bash
# Throwaway PostgreSQL 15 clusters for tests, the demo and benchmarks.
#   cluster.sh start DIR PORT   initdb (as postgres: initdb refuses root) and start; socket in DIR
#                               (CLUSTER_CONF: extra settings, one per line)
#   cluster.sh stop DIR         stop and remove
# Clients connect with: psql -h DIR -p PORT -U postgres
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
cmd=${1:?usage: cluster.sh start DIR PORT | stop DIR}
dir=${2:?directory}

case "$cmd" in
  start)
    port=${3:?port}
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
    as_postgres cp "$HERE/postgresql.conf" "$dir/data/postgresql.auto.conf"
    # Settings one kind of cluster needs on top (data nodes: max_prepared_transactions).
    if [ -n "${CLUSTER_CONF:-}" ]; then
      printf '%s\n' "$CLUSTER_CONF" | as_postgres tee -a "$dir/data/postgresql.auto.conf" >/dev/null
    fi
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir" start >/dev/null
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
