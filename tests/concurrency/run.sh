#!/usr/bin/env bash
# The exactness oracle under concurrency: 4 pgbench clients write to one watched table (single
# rows, batches across days, rollbacks, savepoints, updates) while compaction runs on the write
# path; then the statistics must equal SQL aggregates over the committed rows, before and after
# vigil.compact(). Prints "concurrency oracle: ok" or fails.
set -euo pipefail
host=${1:?socket dir} port=${2:?port} db=${3:?database}
here=$(cd "$(dirname "$0")" && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
psql=(psql -X -h "$host" -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -q)
"${psql[@]}" -f "$here/setup.sql" >/dev/null
"$PGBIN/pgbench" -n -h "$host" -p "$port" -U postgres -c 4 -j 4 -t "${CONCURRENCY_TXNS:-1500}" \
  -f "$here/single.sql@20" -f "$here/batch.sql@3" -f "$here/rollback.sql@2" -f "$here/update.sql@2" "$db" \
  > "${TMPDIR:-/tmp}/vigil_concurrency_pgbench.log" 2>&1 || { cat "${TMPDIR:-/tmp}/vigil_concurrency_pgbench.log"; exit 1; }
check() {
  local out
  out=$("${psql[@]}" -At -F ' ' -f "$here/check.sql")
  echo "$1: $(echo "$out" | grep '^windows')"
  if echo "$out" | grep -q MISMATCH || ! echo "$out" | grep -qE '^windows [0-9]+ [0-9]+ [0-9]+ t$'; then
    echo "$out"; echo "concurrency oracle: FAILED"; exit 1
  fi
}
check "after 4 concurrent writers (windows, rows written, rows recorded, all equal)"
deltas=$("${psql[@]}" -At -c "SELECT count(*) FROM vigil.profile_delta WHERE relid = 'c_ev'::regclass")
"${psql[@]}" -c "SELECT vigil.compact('c_ev')" >/dev/null
check "after vigil.compact() ($deltas deltas before)"
echo "concurrency oracle: ok"
