#!/usr/bin/env bash
# Live alerts: a write that starts a new window evaluates the finished ones; a new alert is
# announced once with NOTIFY vigil_alerts carrying its id, also after a savepoint that announced
# it rolled back. Prints "live alerts: ok" or fails.
set -euo pipefail
host=${1:?socket dir} port=${2:?port} db=${3:?database}
here=$(cd "$(dirname "$0")" && pwd)
out=$(psql -X -h "$host" -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -At -f "$here/notify.sql" 2>&1)
echo "$out" | grep -E '^alerts|Asynchronous' || true
ids=$(echo "$out" | sed -nE 's/^Asynchronous notification "vigil_alerts" with payload "([0-9]+)".*/\1/p')
alerts=$(echo "$out" | sed -nE 's/^alerts: ([0-9]+) .*/\1/p')
again=$(echo "$out" | sed -nE 's/^alerts after another write: ([0-9]+)/\1/p')
second=$(echo "$out" | sed -nE 's/^second table alerts: ([0-9]+)/\1/p')
# One NOTIFY per table: the first table's, and the second table's after its rolled-back savepoint.
if [ "$(echo "$ids" | grep -c .)" = 2 ] && [ "$alerts" = 1 ] && [ "$again" = 1 ] && [ "$second" = 1 ] \
   && echo "$out" | grep -qE '^alerts: 1 \{x\} open'; then
  echo "live alerts: ok"
else
  echo "$out"; echo "live alerts: FAILED"; exit 1
fi
