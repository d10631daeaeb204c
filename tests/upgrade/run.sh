#!/usr/bin/env bash
# Upgrades: the previous release (its install script is kept in sql/releases) is installed,
# given data, and updated with ALTER EXTENSION pg_vigil UPDATE. What users see (contract,
# statistics, windows, alerts, validate) must be the same after, new writes must be checked, and
# the updated schema must equal a fresh install's. An update script run by hand must refuse.
# Prints "upgrade: ok" or fails.
set -euo pipefail
host=${1:?socket dir} port=${2:?port}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sql() { local db=$1; shift; psql -X -h "$host" -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -q "$@"; }
old=$(ls "$root/sql/releases" | sed -nE 's/^pg_vigil--([0-9.]+)\.sql$/\1/p' | sort -V | tail -1)
current=$(sql postgres -Atc "SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = 'pg_vigil'")
[ -n "$old" ] && [ "$old" != "$current" ] || { echo "upgrade: no earlier release to update from ($old, $current)"; exit 1; }
for db in vigil_upgrade vigil_fresh; do
  sql postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
done

loaded=$(sql vigil_upgrade -v old="$old" -At -f "$here/setup.sql" 2>&1) || { echo "$loaded"; echo "upgrade: FAILED (loading $old)"; exit 1; }
before=$(sql vigil_upgrade -At -f "$here/state.sql")
# An update script is loaded only by ALTER EXTENSION: run by hand, it stops at once.
for script in "$root"/sql/pg_vigil--*--*.sql; do
  by_hand=$(sql vigil_upgrade -At -f "$script" 2>&1 || true)
  echo "$by_hand" | grep -q "ALTER EXTENSION pg_vigil UPDATE" || { echo "$by_hand"; echo "upgrade: FAILED ($(basename "$script") ran by hand)"; exit 1; }
done
sql vigil_upgrade -c "ALTER EXTENSION pg_vigil UPDATE"
version=$(sql vigil_upgrade -Atc "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_vigil'")
after=$(sql vigil_upgrade -At -f "$here/state.sql")
echo "updated $old to $version: $(echo "$before" | wc -l) rows of state"
if [ "$version" != "$current" ] || [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") | head -40
  echo "upgrade: FAILED (state differs after the update)"; exit 1
fi

# New writes after the update: rules, quarantine and statistics go on.
rejected=$(sql vigil_upgrade -c "\\set VERBOSITY sqlstate" -c "INSERT INTO u_feed VALUES ('2024-04-12 06:00', 's1', 50, NULL)" 2>&1 || true)
echo "$rejected" | grep -q "ERROR:  23514" || { echo "$rejected"; echo "upgrade: FAILED (a rule stopped rejecting)"; exit 1; }
sql vigil_upgrade -c "INSERT INTO u_feed VALUES ('2024-04-12 07:00', 's1', 95, 'quarantined'), ('2024-04-12 08:00', 's2', 50, 'kept')"
checks=$(sql vigil_upgrade -At -c "
  SELECT (SELECT count(*) FROM vigil.quarantine WHERE relid = 'u_feed'::regclass) = 2,
         (SELECT row_count FROM vigil.column_stats WHERE relid = 'u_feed'::regclass AND column_name = 'reading' AND window_start = '2024-04-12')
           = (SELECT count(*) FROM u_feed WHERE ts >= '2024-04-12' AND ts < '2024-04-13')")
[ "$checks" = "t|t" ] || { echo "upgrade: FAILED (writes after the update: $checks)"; exit 1; }

sql vigil_fresh -c "CREATE EXTENSION pg_vigil"
updated_schema=$(sql vigil_upgrade -At -f "$here/schema.sql")
fresh_schema=$(sql vigil_fresh -At -f "$here/schema.sql")
if [ "$updated_schema" != "$fresh_schema" ]; then
  diff <(echo "$fresh_schema") <(echo "$updated_schema") | head -40
  echo "upgrade: FAILED (the updated schema differs from a fresh install's)"; exit 1
fi
echo "schema after the update: $(echo "$fresh_schema" | wc -l) catalog rows, as a fresh install's"
for db in vigil_upgrade vigil_fresh; do sql postgres -c "DROP DATABASE $db"; done
echo "upgrade: ok"
