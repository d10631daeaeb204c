#!/usr/bin/env bash
# A real hot standby of the regression cluster (pg_basebackup -R, streaming): every view and
# read function answers there as on the primary, and what must write fails with 25006 naming
# what was refused, never XX000 and never a Rust backtrace. Prints "hot standby: ok" or fails.
set -euo pipefail
host=${1:?socket dir} port=${2:?port} db=${3:?database}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../pg_test_config/common.sh"
standby=$host-standby standby_port=$((port + 1))
stop_standby() {
  as_postgres "$PGBIN/pg_ctl" -D "$standby/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$standby"
}
trap stop_standby EXIT
stop_standby
mkdir -p "$standby"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$standby"
as_postgres "$PGBIN/pg_basebackup" -h "$host" -p "$port" -U postgres -D "$standby/data" -R -X stream -c fast
as_postgres "$PGBIN/pg_ctl" -D "$standby/data" -l "$standby/server.log" -w -o "-p $standby_port -k $standby" start >/dev/null

primary() { psql -X -h "$host" -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"; }
replica() { psql -X -h "$standby" -p "$standby_port" -U postgres -d "$db" "$@"; }
lsn=$(primary -Atc "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 120); do
  [ "$(replica -Atc "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && break
  sleep 0.5
done
[ "$(replica -Atc "SELECT pg_is_in_recovery()")" = t ] || { echo "hot standby: not in recovery"; exit 1; }

on_primary=$(primary -At -f "$here/reads.sql")
on_standby=$(replica -v ON_ERROR_STOP=1 -At -f "$here/reads.sql" 2>&1) || { echo "$on_standby"; echo "hot standby: FAILED (reads)"; exit 1; }
if [ "$on_primary" != "$on_standby" ]; then
  diff <(echo "$on_primary") <(echo "$on_standby") | head -40
  echo "hot standby: FAILED (reads differ)"; exit 1
fi
echo "reads on the standby: $(echo "$on_standby" | wc -l) rows, as on the primary"

writes=$(replica -At -f "$here/writes.sql" 2>&1 || true)
echo "$writes" | grep -E '^psql:.*ERROR' | sed -E 's/^psql:[^E]*//'
refused=$(echo "$writes" | grep -cE 'ERROR:  25006: cannot (evaluate windows|mark a window|declare a constraint|watch a table|acknowledge an alert) in a read-only transaction' || true)
insert=$(echo "$writes" | grep -cE 'ERROR:  25006: cannot execute INSERT in a read-only transaction' || true)
hint=$(echo "$writes" | grep -c 'HINT:  This server is a hot standby: run it on the primary.' || true)
if [ "$refused" = 5 ] && [ "$insert" = 1 ] && [ "$hint" = 5 ] \
   && ! echo "$writes" | grep -qE 'XX000|backtrace|rust_begin_unwind|__rustc|^ +[0-9]+: '; then
  echo "hot standby: ok"
else
  echo "$writes"; echo "hot standby: FAILED (writes)"; exit 1
fi
