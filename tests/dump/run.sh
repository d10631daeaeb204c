#!/usr/bin/env bash
# Dump and restore with the real pg_dump/pg_restore: a database with a contract, statistics,
# violations, quarantine, marks and alerts, on tables whose attribute numbers change on restore,
# is dumped (custom and plain format) and restored into another cluster, where OIDs differ and an
# unrelated table may hold a dumped table's old OID. Every way of restoring (pg_restore's own
# order, --section splits, parallel, the extension's rows after the tables and their triggers,
# a plain script through psql) must give the same views, and the contract must work on new
# writes, on the right columns and the right tables only. Prints "dump and restore: ok" or fails.
set -euo pipefail
port=${1:?port}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/pg_test_config/common.sh"
base=${TMP:-/tmp/pg_vigil}/dump
src=$base/src dst=$base/dst src_port=$((port + 12)) dst_port=$((port + 13))
cleanup() { "$root/pg_test_config/cluster.sh" stop "$src"; "$root/pg_test_config/cluster.sh" stop "$dst"; }
[ -n "${KEEP:-}" ] || trap cleanup EXIT
# Two fresh clusters: OIDs are counted from the same start in both, so the decoy below takes the
# dumped table's old OID when nothing else differs.
"$root/pg_test_config/cluster.sh" start "$src" "$src_port"
"$root/pg_test_config/cluster.sh" start "$dst" "$dst_port"
on_src() { psql -X -h "$src" -p "$src_port" -U postgres -d vigil_dump -v ON_ERROR_STOP=1 -q "$@"; }
on() { local db=$1; shift; psql -X -h "$dst" -p "$dst_port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -q "$@"; }
fail() { echo "dump and restore: FAILED ($*)"; exit 1; }

psql -X -h "$src" -p "$src_port" -U postgres -d postgres -qc "CREATE DATABASE vigil_dump"
loaded=$(on_src -At -f "$here/setup.sql" 2>&1) || { echo "$loaded"; fail "loading"; }
before=$(on_src -At -f "$here/state.sql")
old_oid=$(on_src -Atc "SELECT 'd_feed'::regclass::oid")
files=$base/files; mkdir -p "$files"; chmod 777 "$files"
as_postgres "$PGBIN/pg_dump" -h "$src" -p "$src_port" -U postgres -Fc -f "$files/db.dump" vigil_dump
as_postgres "$PGBIN/pg_dump" -h "$src" -p "$src_port" -U postgres -Fp -f "$files/db.sql" vigil_dump
restore() { as_postgres "$PGBIN/pg_restore" -h "$dst" -p "$dst_port" -U postgres --exit-on-error "$@"; }

# The list with the extension's table data moved to the very end (after the tables' data,
# indexes and triggers).
restore -l "$files/db.dump" > "$files/all.list"
{ grep -v "TABLE DATA vigil " "$files/all.list"; grep "TABLE DATA vigil " "$files/all.list"; } > "$files/vigil_last.list"

for how in custom sections parallel vigil_last plain; do
  db=vigil_$how
  psql -X -h "$dst" -p "$dst_port" -U postgres -d postgres -qc "CREATE DATABASE $db"
  if [ "$how" = custom ]; then
    # An unrelated table created where d_feed was in the dumped database (after the extension's
    # objects): it takes d_feed's old OID, as the clusters count OIDs alike. No rule or
    # statistic of d_feed may reach it.
    on "$db" -c "CREATE EXTENSION pg_vigil" \
             -c "CREATE TABLE decoy (ts timestamptz NOT NULL, station text, reading float8, level int, note text)" \
             -c "DROP EXTENSION pg_vigil" -c "DROP SCHEMA IF EXISTS vigil"
  fi
  case $how in
    custom) restore -d "$db" "$files/db.dump" ;;
    sections) for s in pre-data data post-data; do restore -d "$db" --section=$s "$files/db.dump"; done ;;
    parallel) restore -d "$db" -j 2 "$files/db.dump" ;;
    vigil_last) restore -d "$db" -L "$files/vigil_last.list" "$files/db.dump" ;;
    plain) psql -X -h "$dst" -p "$dst_port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -q -f "$files/db.sql" >/dev/null ;;
  esac
  after=$(on "$db" -At -f "$here/state.sql")
  if [ "$before" != "$after" ]; then
    diff <(echo "$before") <(echo "$after") | head -30
    fail "$how: the views differ after restore"
  fi
  new_oid=$(on "$db" -Atc "SELECT 'd_feed'::regclass::oid")
  [ "$new_oid" != "$old_oid" ] || fail "$how: d_feed kept its OID, the test proves nothing"

  # New writes: each rule on its own column (all after a dropped one), and statistics of the
  # right columns.
  out=$(on "$db" -c "\\set VERBOSITY sqlstate" -c "INSERT INTO d_feed VALUES ('2024-04-20 01:00', 's1', 150, 3, 'x')" 2>&1 || true)
  echo "$out" | grep -q "ERROR:  23514" || { echo "$out"; fail "$how: reading out of range was not rejected"; }
  on "$db" -c "INSERT INTO d_feed VALUES ('2024-04-20 02:00', 's1', 50, 42, 'clamped'), ('2024-04-20 03:00', NULL, 60, 2, 'quarantined'),
                                         ('2024-04-20 04:00', 's2', 70, 5, 'kept')"
  on "$db" -c "INSERT INTO d_part VALUES ('2024-04-20 05:00', 9999, 'a'), ('2024-04-20 06:00', 10, 'b')"
  checks=$(on "$db" -At -c "
    SELECT (SELECT level FROM d_feed WHERE note = 'clamped') = 10,
           NOT EXISTS (SELECT 1 FROM d_feed WHERE note = 'quarantined'),
           (SELECT count(*) FROM vigil.quarantine WHERE relid = 'd_feed'::regclass AND row_data->>'note' = 'quarantined') = 1,
           (SELECT count(*) FROM vigil.quarantine WHERE relid = 'd_part'::regclass AND row_data->>'amount' = '9999') = 1,
           (SELECT (row_count, round(mean::numeric, 6), min, max) FROM vigil.column_stats
             WHERE relid = 'd_feed'::regclass AND column_name = 'reading' AND window_start = '2024-04-20')
             = (SELECT (count(*), round(avg(reading)::numeric, 6), min(reading), max(reading)) FROM d_feed
                 WHERE ts >= '2024-04-20' AND ts < '2024-04-21'),
           (SELECT (row_count, min, max) FROM vigil.column_stats
             WHERE relid = 'd_feed'::regclass AND column_name = 'level' AND window_start = '2024-04-20')
             = (SELECT (count(*), min(level)::float8, max(level)::float8) FROM d_feed WHERE ts >= '2024-04-20' AND ts < '2024-04-21'),
           (SELECT row_count FROM vigil.column_stats
             WHERE relid = 'd_part'::regclass AND column_name = 'amount' AND window_start = '2024-04-20') = 1")
  [ "$checks" = "t|t|t|t|t|t|t" ] || fail "$how: new writes after restore ($checks)"
  # New declarations and alerts get ids of their own.
  on "$db" -c "SELECT vigil.expect_not_null('d_feed', 'level', name => 'after_restore')" >/dev/null
  on "$db" -At -c "SELECT cardinality(vigil.evaluate('d_feed')) >= 0" >/dev/null

  if [ "$how" = custom ]; then
    decoy_oid=$(on "$db" -Atc "SELECT 'decoy'::regclass::oid")
    on "$db" -c "INSERT INTO decoy VALUES ('2024-04-20 01:00', NULL, 150, 42, NULL)"
    leaks=$(on "$db" -Atc "SELECT (SELECT count(*) FROM vigil.constraints WHERE relid = 'decoy'::regclass)
                                + (SELECT count(*) FROM vigil.column_stats WHERE relid = 'decoy'::regclass)
                                + (SELECT count(*) FROM vigil.violations WHERE relid = 'decoy'::regclass)
                                + (SELECT count(*) FROM decoy WHERE level <> 42)")
    [ "$leaks" = 0 ] || fail "custom: d_feed's contract reached the decoy table ($leaks)"
    [ "$decoy_oid" = "$old_oid" ] || echo "note: the decoy has OID $decoy_oid, d_feed had $old_oid (OIDs counted differently)"
    reused=$([ "$decoy_oid" = "$old_oid" ] && echo "holds d_feed's old OID $old_oid" || echo "OID $decoy_oid")
    echo "decoy table ($reused): untouched"
  fi
  echo "$how: $(echo "$after" | wc -l) rows of state as dumped; new writes checked and profiled"
done
# One table (pg_dump -t) and its rows of the extension's tables, as the README shows: into a
# database that has other tables and a contract of its own, ids assigned anew.
db=vigil_one_table
psql -X -h "$dst" -p "$dst_port" -U postgres -d postgres -qc "CREATE DATABASE $db"
on "$db" -c "CREATE EXTENSION pg_vigil" -c "CREATE TABLE other (v int)" -c "SELECT vigil.expect_not_null('other', 'v')" >/dev/null
as_postgres "$PGBIN/pg_dump" -h "$src" -p "$src_port" -U postgres -Fc -t public.d_feed -f "$files/one.dump" vigil_dump
restore -d "$db" "$files/one.dump"
for t in "constraint_def (relid, constraint_name, kind, on_violation, mostly, params, enabled, created_at, column_name)" \
         "watch_def" "window_mark" "profile_delta" \
         "violation_log (relid, constraint_id, constraint_name, column_name, detected_at, txid, batch_rows, unexpected_count, action, sample)" \
         "quarantine (relid, constraint_names, row_data, captured_at, txid, operation, old_row_data)" \
         "alert (relid, window_start, last_window, opened_at, severity, score, columns, summary, state, acknowledged_at, resolved_at)"; do
  table=${t%% *}; cols=$(echo "$t" | sed -nE 's/^[a-z_]+ \((.*)\)$/\1/p'); cols=${cols:-*}
  on_src -c "\\copy (SELECT $cols FROM vigil.$table WHERE relid = 'public.d_feed'::regclass) TO '$files/$table.copy'"
  on "$db" -c "\\copy vigil.$t FROM '$files/$table.copy'"
done
one_table_state="
  SELECT 'constraint', relid, constraint_name, column_name, kind, on_violation, params FROM vigil.constraints WHERE relid = 'd_feed'::regclass ORDER BY 3;
  SELECT 'violation', constraint_name, column_name, detected_at, unexpected_count, action, sample FROM vigil.violations WHERE relid = 'd_feed'::regclass ORDER BY detected_at, 2;
  SELECT 'quarantine', row_data, captured_at FROM vigil.quarantine WHERE relid = 'd_feed'::regclass ORDER BY captured_at, 2::text;
  SELECT 'column_stats', s.* FROM vigil.column_stats s WHERE relid = 'd_feed'::regclass ORDER BY column_name, window_start;
  SELECT 'window_status', s.* FROM vigil.window_status s WHERE relid = 'd_feed'::regclass ORDER BY window_start;
  SELECT 'alert', window_start, last_window, severity, score, columns, summary, state FROM vigil.alerts WHERE relid = 'd_feed'::regclass ORDER BY window_start;"
one_before=$(on_src -At -c "$one_table_state")
one_after=$(on "$db" -At -c "$one_table_state")
if [ "$one_before" != "$one_after" ]; then
  diff <(echo "$one_before") <(echo "$one_after") | head -30
  fail "one table: its views differ after the copy"
fi
out=$(on "$db" -c "\\set VERBOSITY sqlstate" -c "INSERT INTO d_feed VALUES ('2024-04-20 01:00', 's1', 150, 3, 'x')" 2>&1 || true)
echo "$out" | grep -q "ERROR:  23514" || { echo "$out"; fail "one table: reading out of range was not rejected"; }
out=$(on "$db" -c "\\set VERBOSITY sqlstate" -c "INSERT INTO other VALUES (NULL)" 2>&1 || true)
echo "$out" | grep -q "ERROR:  23514" || { echo "$out"; fail "one table: the database's own contract stopped working"; }
on "$db" -c "SELECT vigil.expect_not_null('d_feed', 'level', name => 'after_copy')" >/dev/null
echo "one table (pg_dump -t and its vigil rows): $(echo "$one_after" | wc -l) rows of state as in the source; rules work"
echo "dump and restore: ok"
