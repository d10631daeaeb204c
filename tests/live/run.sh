#!/usr/bin/env bash
# Live alerts: a write that starts a new window evaluates the finished ones; a new alert is
# announced once with NOTIFY vigil_alerts carrying its id, also after a savepoint that announced
# it rolled back; REPEATABLE READ writers leave evaluation to others, and an evaluation there
# writes no scoring memos. Prints "live alerts: ok" or fails.
set -euo pipefail
host=${1:?socket dir} port=${2:?port} db=${3:?database}
here=$(cd "$(dirname "$0")" && pwd)
out=$(psql -X -h "$host" -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -At -f "$here/notify.sql" 2>&1)
echo "$out" | grep -E '^alerts|^repeatable|^read committed|Asynchronous' || true
ids=$(echo "$out" | sed -nE 's/^Asynchronous notification "vigil_alerts" with payload "([0-9]+)".*/\1/p')
alerts=$(echo "$out" | sed -nE 's/^alerts: ([0-9]+) .*/\1/p')
again=$(echo "$out" | sed -nE 's/^alerts after another write: ([0-9]+)/\1/p')
second=$(echo "$out" | sed -nE 's/^second table alerts: ([0-9]+)/\1/p')
# One NOTIFY per table: the first table's, the second table's after its rolled-back savepoint,
# and the third's from vigil.evaluate() (its REPEATABLE READ writer opened nothing).
if [ "$(echo "$ids" | grep -c .)" = 3 ] && [ "$alerts" = 1 ] && [ "$again" = 1 ] && [ "$second" = 1 ] \
   && echo "$out" | grep -qE '^alerts: 1 \{x\} open' \
   && echo "$out" | grep -qx 'repeatable read writer alerts: 0' \
   && echo "$out" | grep -qx 'repeatable read evaluate opened: 1' \
   && echo "$out" | grep -qx 'repeatable read memos: 0' \
   && echo "$out" | grep -qx 'read committed evaluate opened: 0' \
   && echo "$out" | grep -qx 'read committed memos: true'; then
  echo "live alerts: ok"
else
  echo "$out"; echo "live alerts: FAILED"; exit 1
fi
