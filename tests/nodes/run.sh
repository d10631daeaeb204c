#!/usr/bin/env bash
# Scale-out with real separate clusters: a coordinator and three data nodes on local ports, the
# coordinator's partitioned table's partitions postgres_fdw foreign tables on the nodes. One
# contract everywhere, changed in two phases; writes through the coordinator checked on the
# nodes; a node that refuses, a node that is down, prepared transactions left behind, a fourth
# node added later (the port after the third's).
# Prints "nodes: ok" or fails naming the step.
set -euo pipefail
base=${1:?directory} port0=${2:?first port}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../pg_test_config/common.sh"
cluster="$here/../../pg_test_config/cluster.sh"

stop_all() {
  for d in coord n1 n2 n3 n4; do "$cluster" stop "$base/$d" >/dev/null 2>&1 || true; done
}
trap stop_all EXIT
stop_all
mkdir -p "$base"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$base"
for i in 1 2 3; do
  CLUSTER_CONF="max_prepared_transactions = 10" "$cluster" start "$base/n$i" $((port0 + i))
done
"$cluster" start "$base/coord" "$port0"

node() { local i=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h "$base/n$i" -p $((port0 + i)) -U postgres -d postgres "$@"; }
coord() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$base/coord" -p "$port0" -U postgres -d postgres "$@"; }
# A statement expected to fail: its "SQLSTATE: message" line.
coord_error() {
  { psql -X -q -At -v VERBOSITY=verbose -h "$base/coord" -p "$port0" -U postgres -d postgres "$@" 2>&1 || true; } |
    sed -nE 's/^(psql:[^ ]* )?ERROR:  //p' | head -1
}
fail() { echo "nodes: FAILED: $*"; exit 1; }
expect() { [ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"; echo "ok: $1"; }
# The contract as a node (or the coordinator) lists it, one line per constraint, then the watch.
contract() {
  local q="SELECT string_agg(constraint_name || ':' || kind || ':' || on_violation, ' ' ORDER BY constraint_name) FROM vigil.constraints WHERE relid = 'readings'::regclass"
  q="$q UNION ALL SELECT coalesce((SELECT window_size::text || ' ' || array_to_string(ARRAY(SELECT unnest(columns) ORDER BY 1), ',') || ' ' || coalesce(baseline_from::date::text, '-') || ' ' || coalesce(grace::text, '-') FROM vigil.watch_def WHERE relid = 'readings'::regclass), 'unwatched')"
  q="$q UNION ALL SELECT coalesce((SELECT string_agg(window_start::date::text || '=' || valid, ' ') FROM vigil.window_mark WHERE relid = 'readings'::regclass), 'no marks')"
  if [ "$1" = coord ]; then coord -c "$q"; else node "$1" -c "$q"; fi
}
same_everywhere() {
  local want; want=$(contract coord)
  for i in 1 2 3; do expect "$1 (node n$i)" "$(contract $i)" "$want"; done
  for i in 1 2 3; do expect "$1: nothing left prepared on n$i" "$(node $i -c "SELECT count(*) FROM pg_prepared_xacts")" 0; done
}

echo "== topology: a coordinator and three data nodes =="
schema="ts timestamptz NOT NULL, station text NOT NULL, temp float8, wind float8"
for i in 1 2; do
  node $i -c "CREATE EXTENSION pg_vigil" -c "CREATE TABLE readings ($schema)"
done
# The third node's table numbers its columns otherwise (another order, a dropped column): its
# statistics are kept under other keys, which the coordinator maps back by name.
node 3 -c "CREATE EXTENSION pg_vigil" \
       -c "CREATE TABLE readings (gone int, wind float8, temp float8, station text NOT NULL, ts timestamptz NOT NULL)" \
       -c "ALTER TABLE readings DROP COLUMN gone"
coord <<SQL
CREATE EXTENSION postgres_fdw;
CREATE EXTENSION pg_vigil;
CREATE TABLE readings ($schema) PARTITION BY LIST (station);
SQL
for i in 1 2 3; do
  stations=$(printf "'s%d', 't%d'" "$i" "$i")
  coord <<SQL
CREATE SERVER n$i FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$base/n$i', port '$((port0 + i))', dbname 'postgres', batch_size '100');
CREATE USER MAPPING FOR postgres SERVER n$i OPTIONS (user 'postgres');
CREATE FOREIGN TABLE readings_n$i PARTITION OF readings FOR VALUES IN ($stations) SERVER n$i OPTIONS (table_name 'readings');
SQL
done

expect "distribute refuses servers that are not nodes" \
  "$(coord_error -c "SELECT vigil.distribute('readings')")" \
  '55000: partition public.readings_n1 of public.readings is on server "n1", which is not a pg_vigil node'
expect "add_node refuses a node that cannot prepare transactions" \
  "$(coord_error -c "CREATE SERVER plain FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$base/coord', port '$port0', dbname 'postgres')" \
                 -c "CREATE USER MAPPING FOR postgres SERVER plain OPTIONS (user 'postgres')" -c "SELECT vigil.add_node('plain')")" \
  '55000: node "plain" cannot prepare transactions (max_prepared_transactions = 0)'
for i in 1 2 3; do coord -c "SELECT vigil.add_node('n$i')" >/dev/null; done
expect "vigil.nodes" "$(coord -c "SELECT string_agg(server || ':' || reachable || ':' || (pg_vigil_version IS NOT NULL), ' ' ORDER BY server) FROM vigil.nodes")" \
  "n1:true:true n2:true:true n3:true:true"
expect "distribute" "$(coord -c "SELECT vigil.distribute('readings')")" 3

echo "== one contract, changed in the coordinator's transaction =="
coord <<'SQL' >/dev/null
BEGIN;
SELECT vigil.expect_between('readings', 'temp', -60, 60, name => 'temp_range');
SELECT vigil.expect_not_null('readings', 'wind', on_violation => 'warn', name => 'wind_present');
SELECT vigil.watch('readings', time_column => 'ts', window_size => '1 day');
SELECT vigil.mark_window('readings', '2024-05-02', false);
COMMIT;
SQL
same_everywhere "declared in one transaction"
expect "the coordinator keeps no triggers on a distributed table" \
  "$(coord -c "SELECT count(*) FROM pg_trigger t JOIN pg_partition_tree('readings') p ON p.relid = t.tgrelid WHERE t.tgname LIKE 'vigil%'")" 0
expect "nodes enforce with their own triggers" "$(node 2 -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'readings'::regclass AND tgname LIKE 'vigil%'")" 3

coord <<'SQL' >/dev/null
BEGIN;
SELECT vigil.expect_between('readings', 'wind', 0, 200, name => 'rolled_back');
ROLLBACK;
BEGIN;
SAVEPOINT a;
SELECT vigil.expect_between('readings', 'wind', 0, 200, name => 'in_a_savepoint');
ROLLBACK TO SAVEPOINT a;
SELECT vigil.set_baseline('readings', '2024-05-01', '2024-05-08');
SELECT vigil.set_grace('readings', '3 hours');
SELECT vigil.drop_constraint('readings', 'wind_present');
COMMIT;
SQL
same_everywhere "rollbacks and savepoints"
expect "what was rolled back reached no node" "$(node 1 -c "SELECT count(*) FROM vigil.constraints WHERE constraint_name IN ('rolled_back', 'in_a_savepoint')")" 0
expect "baseline and grace reached the nodes" "$(node 2 -c "SELECT baseline_from::date || ' ' || grace FROM vigil.watch_def")" "2024-05-01 03:00:00"
expect "a transaction that changed a distributed contract cannot be PREPAREd" \
  "$(coord_error -c "BEGIN" -c "SELECT vigil.set_grace('readings', '4 hours')" -c "PREPARE TRANSACTION 'p'" | cut -c1-6)" "0A000:"

echo "== writes through the coordinator are checked on the nodes =="
coord -c "INSERT INTO readings SELECT '2024-05-01'::timestamptz + i * interval '1 hour', (ARRAY['s1','t1','s2','t2','s3','t3'])[1 + i % 6], 10 + i % 7, i % 30 FROM generate_series(0, 299) i"
coord -c "COPY readings FROM STDIN (FORMAT csv)" <<'CSV'
2024-05-20 00:00:00+00,s1,12.5,3
2024-05-20 01:00:00+00,s2,13.5,4
2024-05-20 02:00:00+00,s3,14.5,5
CSV
expect "rows on the nodes" "$(for i in 1 2 3; do node $i -c "SELECT count(*) FROM readings"; done | paste -sd ' ')" "101 101 101"
rejected=$(coord_error -c "INSERT INTO readings VALUES ('2024-05-21', 's2', 99, 1)")
echo "   the coordinator's client sees: $rejected"
case "$rejected" in
  '23514: new row for relation public.readings violates pg_vigil constraint "temp_range"'*) echo "ok: a reject on a node fails the coordinator's INSERT with the node's SQLSTATE and message";;
  *) fail "a reject through the coordinator: got [$rejected]";;
esac
expect "... and COPY" "$(printf '2024-05-21 00:00:00+00,s1,1,1\n2024-05-21 01:00:00+00,s3,-99,1\n' | coord_error -c "COPY readings FROM STDIN (FORMAT csv)" | cut -c1-7)" "23514: "
expect "nothing of the refused statements stayed" "$(for i in 1 2 3; do node $i -c "SELECT count(*) FROM readings"; done | paste -sd ' ')" "101 101 101"
expect "statistics are kept on the nodes" "$(node 3 -c "SELECT sum(row_count) FROM vigil.column_stats WHERE relid = 'readings'::regclass AND column_name = 'temp'")" 101

echo "== the coordinator's statistics: the nodes' merged, equal to SQL over all their rows =="
# Per window and column: rows, NULLs, min, max, mean and standard deviation (to 9 digits).
merged_stats="SELECT column_name, window_start::date, row_count, null_count, min, max, round(mean::numeric, 9), round(stddev::numeric, 9)
                FROM vigil.column_stats WHERE relid = 'readings'::regclass AND column_name IN ('temp', 'wind') ORDER BY 1, 2"
aggregates="SELECT c, d, count(*), count(*) - count(v), min(v), max(v), round(avg(v)::numeric, 9), round(stddev_samp(v)::numeric, 9)
              FROM (SELECT 'temp' AS c, ts::date AS d, temp AS v FROM readings UNION ALL SELECT 'wind', ts::date, wind FROM readings) x
             GROUP BY 1, 2 ORDER BY 1, 2"
compare_stats() {
  local got want; got=$(coord -c "$merged_stats"); want=$(coord -c "$aggregates")
  if [ "$got" != "$want" ]; then diff <(echo "$want") <(echo "$got") | head -20; fail "$1"; fi
  echo "ok: $1 ($(echo "$got" | wc -l) column windows)"
}
compare_stats "merged statistics equal SQL aggregates over the nodes' rows"
expect "quantiles come from the merged sketches" \
  "$(coord -c "SELECT p50 BETWEEN 10 AND 16 FROM vigil.column_stats WHERE relid = 'readings'::regclass AND column_name = 'temp' AND window_start = '2024-05-05'")" t
expect "the coordinator copies profiles, not rows" "$(coord -c "SELECT count(*) FILTER (WHERE row_count > 1) > 0 AND sum(octet_length(payload)) < 200000 FROM vigil.node_window")" t
coord -c "SELECT vigil.evaluate('readings')" >/dev/null
expect "windows are scored on the merged statistics" "$(coord -c "SELECT count(*) > 0 FROM vigil.window_status WHERE relid = 'readings'::regclass")" t

echo "== a node that refuses the contract: no node takes it =="
node 2 -c "ALTER TABLE readings ALTER COLUMN wind TYPE text"
refused=$(coord_error -c "SELECT vigil.expect_between('readings', 'wind', 0, 200, name => 'wind_range')")
case "$refused" in
  "42P17: node \"n2\": "*wind_range*) echo "ok: the coordinator's commit fails with the node's error";;
  *) fail "a node's refusal: got [$refused]";;
esac
same_everywhere "after a refusal"
node 2 -c "ALTER TABLE readings ALTER COLUMN wind TYPE float8 USING wind::float8"

echo "== a node that is down =="
# Stopped with -m immediate in the middle of a load through the coordinator: the load fails
# whole, on every node.
load="INSERT INTO readings SELECT '2024-05-10'::timestamptz + i * interval '1 second', (ARRAY['s1','s2','s3'])[1 + i % 3], 15, 5
        FROM generate_series(1, 3000000) i"
before=$(for i in 1 2 3; do node $i -c "SELECT count(*) FROM readings"; done | paste -sd ' ')
coord -c "$load" >"$base/load.log" 2>&1 &
loader=$!
sleep 2
as_postgres "$PGBIN/pg_ctl" -D "$base/n3/data" -m immediate -w stop >/dev/null
wait $loader && fail "the load went on without n3"
echo "   the load ended with: $(grep -m1 ERROR "$base/load.log")"
expect "nothing of the interrupted load stayed on n1 and n2" \
  "$(for i in 1 2; do node $i -c "SELECT count(*) FROM readings"; done | paste -sd ' ')" "$(echo "$before" | cut -d' ' -f1,2)"
expect "a write routed to the down node fails as postgres_fdw does" \
  "$(coord_error -c "INSERT INTO readings VALUES ('2024-05-22', 's3', 10, 1)" | cut -c1-6)" "08001:"
coord -c "INSERT INTO readings VALUES ('2024-05-22', 's1', 10, 1), ('2024-05-22', 't2', 11, 2)"
with_n3_down=$(coord -c "SELECT sum(row_count) FROM vigil.column_stats WHERE relid = 'readings'::regclass AND column_name = 'temp'" 2>&1)
case "$with_n3_down" in
  *'node "n3" was not reached'*'its windows are as of'*"$(( $(echo "$before" | tr ' ' '+') + 2 ))") echo "ok: the views answer for the rest, with n3's last copy, and say which node is missing";;
  *) fail "statistics with n3 down: got [$with_n3_down]";;
esac
expect "column_stats names the missing node" \
  "$(coord -c "SELECT DISTINCT missing_nodes FROM vigil.column_stats WHERE relid = 'readings'::regclass" 2>/dev/null)" "{n3}"
expect "window_status names it too, in a read-only transaction" \
  "$(coord -c "SET default_transaction_read_only = on" -c "SELECT DISTINCT missing_nodes FROM vigil.window_status WHERE relid = 'readings'::regclass" 2>/dev/null)" "{n3}"
expect "vigil.nodes says which node is down" "$(coord -c "SELECT server || ':' || reachable || ':' || (problem IS NOT NULL) FROM vigil.nodes WHERE NOT reachable")" "n3:false:true"
down=$(coord_error -c "SELECT vigil.expect_not_null('readings', 'station', name => 'station_present')")
case "$down" in
  '08006: node "n3": '*) echo "ok: a change fails while a node is down";;
  *) fail "a change with a node down: got [$down]";;
esac
for i in 1 2; do expect "n$i did not take it" "$(node $i -c "SELECT count(*) FROM vigil.constraints WHERE constraint_name = 'station_present'")" 0; done
as_postgres "$PGBIN/pg_ctl" -D "$base/n3/data" -l "$base/n3/server.log" -w -o "-p $((port0 + 3)) -k $base/n3" start >/dev/null
coord -c "SELECT vigil.expect_not_null('readings', 'station', name => 'station_present')" >/dev/null
same_everywhere "once the node is back"
coord -c "INSERT INTO readings VALUES ('2024-05-22', 's3', 12, 3)"
compare_stats "once n3 is back, nothing lost or counted twice"
expect "no node missing once n3 is back" \
  "$(coord -c "SELECT DISTINCT missing_nodes FROM vigil.column_stats WHERE relid = 'readings'::regclass")" "{}"
expect "a node's own table is not distributed: no missing_nodes" \
  "$(node 1 -c "SELECT DISTINCT missing_nodes IS NULL FROM vigil.column_stats WHERE relid = 'readings'::regclass")" "t"

echo "== prepared transactions left behind are settled from the records =="
prefix=$(coord -c "SELECT 'vigil_' || system_identifier || '_' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '_' FROM pg_control_system()")
committed_xid=$(coord -c "SELECT txid_current() % 4294967296")   # a finished transaction with a record
aborted_xid=$(coord -c "SELECT txid_current() % 4294967296")     # one without
coord -c "INSERT INTO vigil.node_txn (gid, server) VALUES ('${prefix}${committed_xid}_0', 'n1')"
node 1 -c "BEGIN" -c "SELECT vigil.expect_not_null('readings', 'ts', name => 'was_decided')" -c "PREPARE TRANSACTION '${prefix}${committed_xid}_0'" >/dev/null
node 2 -c "BEGIN" -c "SELECT vigil.expect_not_null('readings', 'ts', name => 'never_decided')" -c "PREPARE TRANSACTION '${prefix}${aborted_xid}_1'" >/dev/null
expect "recover_nodes" "$(coord -c "SELECT string_agg(server || ':' || action, ' ' ORDER BY server) FROM vigil.recover_nodes()")" "n1:committed n2:rolled back"
expect "the decided one committed" "$(node 1 -c "SELECT count(*) FROM vigil.constraints WHERE constraint_name = 'was_decided'")" 1
expect "the undecided one rolled back" "$(node 2 -c "SELECT count(*) FROM vigil.constraints WHERE constraint_name = 'never_decided'")" 0
expect "records cleared" "$(coord -c "SELECT count(*) FROM vigil.node_txn")" 0
coord -c "SELECT vigil.distribute('readings')" >/dev/null 2>&1
same_everywhere "distribute again sends the contract anew"

echo "== a node added later gets the contract =="
CLUSTER_CONF="max_prepared_transactions = 10" "$cluster" start "$base/n4" $((port0 + 4))
node 4 -c "CREATE EXTENSION pg_vigil" -c "CREATE TABLE readings ($schema)"
coord <<SQL >/dev/null
CREATE SERVER n4 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$base/n4', port '$((port0 + 4))', dbname 'postgres');
CREATE USER MAPPING FOR postgres SERVER n4 OPTIONS (user 'postgres');
SELECT vigil.add_node('n4');
CREATE FOREIGN TABLE readings_n4 PARTITION OF readings FOR VALUES IN ('s4') SERVER n4 OPTIONS (table_name 'readings');
SQL
expect "a partition created on a new node brings the contract there in its transaction" "$(contract 4)" "$(contract coord)"
expect "a partition on a server that is not a node is refused when it is created" \
  "$(coord_error -c "CREATE FOREIGN TABLE readings_plain PARTITION OF readings FOR VALUES IN ('s9') SERVER plain OPTIONS (table_name 'readings')")" \
  '55000: partition public.readings_plain of public.readings is on server "plain", which is not a pg_vigil node'
expect "distribute counts the new partition" "$(coord -c "SELECT vigil.distribute('readings')")" 4
expect "the new node holds the contract" "$(contract 4)" "$(contract coord)"
expect "and enforces it on writes through the coordinator" \
  "$(coord_error -c "INSERT INTO readings VALUES ('2024-05-22', 's4', 99, 1)" | cut -c1-6)" "23514:"
coord -c "INSERT INTO readings VALUES ('2024-05-22', 's4', 11, 1)"
compare_stats "with the fourth node's rows, merged statistics equal SQL aggregates"
coord -c "DROP FOREIGN TABLE readings_n4" -c "SELECT vigil.remove_node('n4')" >/dev/null
compare_stats "its partition gone, its statistics are gone too"

echo "== a node missing from a load is an alert naming it =="
for i in 1 2 3; do node $i -c "CREATE TABLE orders (ts timestamptz NOT NULL, region text NOT NULL, amount float8)"; done
coord -c "CREATE TABLE orders (ts timestamptz NOT NULL, region text NOT NULL, amount float8) PARTITION BY LIST (region)"
for i in 1 2 3; do
  coord -c "CREATE FOREIGN TABLE orders_n$i PARTITION OF orders FOR VALUES IN ('r$i', 'q$i') SERVER n$i OPTIONS (table_name 'orders')"
done
coord -c "SELECT vigil.distribute('orders')" -c "SELECT vigil.watch('orders', time_column => 'ts', window_size => '1 day')" >/dev/null
# Six weeks of orders from six regions, two on each node; then a day whose load lacks n3's.
coord -c "INSERT INTO orders SELECT '2024-03-01'::timestamptz + (i / 6) * interval '20 minutes', (ARRAY['r1','q1','r2','q2','r3','q3'])[1 + i % 6],
                 20 + (i * 7919) % 50 FROM generate_series(0, 42 * 72 * 6 - 1) i"
coord -c "INSERT INTO orders SELECT '2024-04-12'::timestamptz + (i / 4) * interval '20 minutes', (ARRAY['r1','q1','r2','q2'])[1 + i % 4],
                 20 + (i * 7919) % 50 FROM generate_series(0, 72 * 4 - 1) i"
# And a day whose rows all arrive, but n2's amounts in cents (one source broken, its volume intact).
coord -c "INSERT INTO orders SELECT '2024-04-13'::timestamptz + (i / 6) * interval '20 minutes', (ARRAY['r1','q1','r2','q2','r3','q3'])[1 + i % 6],
                 (20 + (i * 7919) % 50) * CASE WHEN i % 6 IN (2, 3) THEN 100 ELSE 1 END FROM generate_series(0, 72 * 6 - 1) i"
coord -c "SELECT vigil.evaluate('orders')" >/dev/null
alert=$(coord -c "SELECT columns::text || ' ' || summary FROM vigil.alerts WHERE relid = 'orders'::regclass AND window_start = '2024-04-12'")
echo "   $alert"
case "$alert" in
  *'(node n3)'*) echo "ok: the alert names the node";;
  *) fail "a node missing from a load: got [$alert]";;
esac
alert=$(coord -c "SELECT columns::text || ' ' || summary FROM vigil.alerts WHERE relid = 'orders'::regclass AND last_window = '2024-04-13'")
echo "   $alert"
case "$alert" in
  *'(node n2) amount'*) echo "ok: a node whose values part from the others' is named";;
  *) fail "one node's values broken: got [$alert]";;
esac
expect "no other alert" "$(coord -c "SELECT count(*) FROM vigil.alerts WHERE relid = 'orders'::regclass AND last_window < '2024-04-12'")" 0

as_postgres "$PGBIN/pg_ctl" -D "$base/n1/data" -m fast -w stop >/dev/null
expect "alerts name a node that is down" \
  "$(coord -c "SELECT DISTINCT missing_nodes FROM vigil.alerts WHERE relid = 'orders'::regclass" 2>/dev/null)" "{n1}"
as_postgres "$PGBIN/pg_ctl" -D "$base/n1/data" -l "$base/n1/server.log" -w -o "-p $((port0 + 1)) -k $base/n1" start >/dev/null
expect "a node holding partitions cannot be removed" "$(coord_error -c "SELECT vigil.remove_node('n1')")" \
  '2BP01: node "n1" holds partitions of distributed tables: public.orders, public.readings'
echo "nodes: ok"
