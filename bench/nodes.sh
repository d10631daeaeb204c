#!/usr/bin/env bash
# Scale-out benchmark (make bench, or alone: bash bench/nodes.sh DIR PORT): a coordinator and three
# data nodes on local ports. COPY of the bench's rows through the coordinator into a table hash
# partitioned over the three nodes, with the bench's 41 rules and every column watched, against
# the same table without pg_vigil; interleaved rounds, medians. Then a year of daily windows
# read on the coordinator from the nodes' merged statistics.
#   BENCH_NODES_ROWS (default 1000000)  BENCH_NODES_ROUNDS (default 3)
set -euo pipefail
base=${1:?directory} port0=${2:?first port (this one and the next three)}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../pg_test_config/common.sh"
cluster="$here/../pg_test_config/cluster.sh"
rows=${BENCH_NODES_ROWS:-1000000}
rounds=${BENCH_NODES_ROUNDS:-3}

stop_all() { for d in coord n1 n2 n3; do "$cluster" stop "$base/$d" >/dev/null 2>&1 || true; done; }
trap stop_all EXIT
stop_all
mkdir -p "$base"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$base"
for i in 1 2 3; do CLUSTER_CONF="max_prepared_transactions = 10" "$cluster" start "$base/n$i" $((port0 + i)); done
"$cluster" start "$base/coord" "$port0"
node() { local i=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h "$base/n$i" -p $((port0 + i)) -U postgres -d postgres "$@"; }
coord() { psql -X -q -v ON_ERROR_STOP=1 -h "$base/coord" -p "$port0" -U postgres -d postgres "$@"; }

columns="ts timestamptz, cat text, $(for i in $(seq 1 20); do printf 'f%d float8, ' "$i"; done | sed 's/, $//')"
for i in 1 2 3; do
  node $i -c "CREATE EXTENSION pg_vigil" -c "CREATE TABLE nb_plain ($columns)" -c "CREATE TABLE nb_vigil ($columns)" -c "CREATE TABLE nb_year ($columns)"
done
coord >/dev/null <<SQL
CREATE EXTENSION postgres_fdw;
CREATE EXTENSION pg_vigil;
SELECT setseed(0.42);
CREATE TABLE nb_source ($columns);
INSERT INTO nb_source
SELECT timestamptz '2024-01-01' + g * interval '1 second', (ARRAY['cat_a', 'cat_b', 'cat_c', 'cat_d'])[1 + g % 4],
       $(for i in $(seq 1 20); do printf 'random() * 100, '; done | sed 's/, $//')
  FROM generate_series(1, $rows) g;
COPY nb_source TO '$base/data.csv' (FORMAT csv);
CREATE TABLE nb_result (variant text, round int, ms float8);
SQL
for t in nb_plain nb_vigil nb_year; do
  coord -c "CREATE TABLE $t ($columns) PARTITION BY HASH (ts)" >/dev/null
done
for i in 1 2 3; do
  coord >/dev/null <<SQL
CREATE SERVER n$i FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$base/n$i', port '$((port0 + i))', dbname 'postgres', batch_size '1000');
CREATE USER MAPPING FOR postgres SERVER n$i OPTIONS (user 'postgres');
SELECT vigil.add_node('n$i');
CREATE FOREIGN TABLE nb_plain_n$i PARTITION OF nb_plain FOR VALUES WITH (MODULUS 3, REMAINDER $((i - 1))) SERVER n$i OPTIONS (table_name 'nb_plain');
CREATE FOREIGN TABLE nb_vigil_n$i PARTITION OF nb_vigil FOR VALUES WITH (MODULUS 3, REMAINDER $((i - 1))) SERVER n$i OPTIONS (table_name 'nb_vigil');
CREATE FOREIGN TABLE nb_year_n$i PARTITION OF nb_year FOR VALUES WITH (MODULUS 3, REMAINDER $((i - 1))) SERVER n$i OPTIONS (table_name 'nb_year');
SQL
done
# The bench's 41 rules (20 between, 20 not null, one value set) and every column watched daily.
coord >/dev/null <<'SQL'
SELECT vigil.distribute('nb_vigil'), vigil.distribute('nb_year');
BEGIN;
SELECT count(*) FROM (SELECT vigil.expect_between('nb_vigil', 'f' || i, 0, 100), vigil.expect_not_null('nb_vigil', 'f' || i)
                        FROM generate_series(1, 20) i) s;
SELECT vigil.expect_in_set('nb_vigil', 'cat', ARRAY['cat_a', 'cat_b', 'cat_c', 'cat_d']);
SELECT vigil.watch('nb_vigil', time_column => 'ts', window_size => '1 day');
SELECT vigil.watch('nb_year', time_column => 'ts', window_size => '1 day');
COMMIT;
SQL

echo "== COPY of $rows rows through the coordinator into three nodes, $rounds interleaved rounds =="
for round in $(seq 1 "$rounds"); do
  for variant in plain vigil; do
    coord -c "TRUNCATE nb_$variant" >/dev/null
    for i in 1 2 3; do node $i -c "CHECKPOINT"; done
    started=$(date +%s%N)
    coord -c "COPY nb_$variant FROM '$base/data.csv' (FORMAT csv)" >/dev/null
    ms=$(( ($(date +%s%N) - started) / 1000000 ))
    coord -c "INSERT INTO nb_result VALUES ('$variant', $round, $ms)" >/dev/null
    echo "round $round $variant: $ms ms"
  done
done
coord <<'SQL'
\pset footer off
WITH med AS (SELECT variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms, count(*) AS runs FROM nb_result GROUP BY 1)
SELECT p.runs, round(p.ms) AS without_pg_vigil_ms, round(v.ms) AS pg_vigil_ms, round((v.ms / p.ms)::numeric, 3) AS ratio
  FROM med p, med v WHERE p.variant = 'plain' AND v.variant = 'vigil';
SELECT (SELECT count(*) FROM nb_vigil) AS rows_on_nodes,
       (SELECT sum(row_count) FROM vigil.column_stats WHERE relid = 'nb_vigil'::regclass AND column_name = 'f1') AS rows_in_merged_statistics;
SQL

echo
echo "== a year of daily windows (365 x 21 columns), read on the coordinator from three nodes =="
coord -c "INSERT INTO nb_year SELECT timestamptz '2023-01-01' + g * interval '30 minutes', (ARRAY['cat_a', 'cat_b', 'cat_c', 'cat_d'])[1 + g % 4],
          $(for i in $(seq 1 20); do printf 'random() * 100, '; done | sed 's/, $//') FROM generate_series(0, 365 * 48 - 1) g" >/dev/null
coord <<'SQL'
\pset footer off
CREATE TABLE nb_reads (what text, ms float8);
CREATE PROCEDURE nb_time(what text, statement text) LANGUAGE plpgsql AS $$
DECLARE started timestamptz := clock_timestamp();
BEGIN
    EXECUTE statement;
    INSERT INTO nb_reads VALUES (what, extract(epoch FROM clock_timestamp() - started) * 1000);
END $$;
CALL nb_time('first read: every window fetched from the nodes', $$SELECT count(*) FROM vigil.column_stats WHERE relid = 'nb_year'::regclass$$);
CALL nb_time('first evaluation of the year', $$SELECT vigil.evaluate('nb_year')$$);
CALL nb_time('column_stats, nothing changed on the nodes', $$SELECT count(*) FROM vigil.column_stats WHERE relid = 'nb_year'::regclass$$);
CALL nb_time('column_stats, nothing changed on the nodes', $$SELECT count(*) FROM vigil.column_stats WHERE relid = 'nb_year'::regclass$$);
CALL nb_time('column_stats, nothing changed on the nodes', $$SELECT count(*) FROM vigil.column_stats WHERE relid = 'nb_year'::regclass$$);
CALL nb_time('window_status + alerts (365 windows)', $$SELECT (SELECT count(*) FROM vigil.window_status WHERE relid = 'nb_year'::regclass) + (SELECT count(*) FROM vigil.alerts WHERE relid = 'nb_year'::regclass)$$);
CALL nb_time('window_status + alerts (365 windows)', $$SELECT (SELECT count(*) FROM vigil.window_status WHERE relid = 'nb_year'::regclass) + (SELECT count(*) FROM vigil.alerts WHERE relid = 'nb_year'::regclass)$$);
CALL nb_time('window_status + alerts (365 windows)', $$SELECT (SELECT count(*) FROM vigil.window_status WHERE relid = 'nb_year'::regclass) + (SELECT count(*) FROM vigil.alerts WHERE relid = 'nb_year'::regclass)$$);
SELECT what, count(*) AS runs, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)) AS median_ms FROM nb_reads GROUP BY 1 ORDER BY min(ctid);
SELECT pg_size_pretty(sum(octet_length(payload))) AS merged_copies_on_the_coordinator, count(*) AS node_windows FROM vigil.node_window WHERE relid = 'nb_year'::regclass;
SQL
