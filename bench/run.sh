#!/usr/bin/env bash
# pg_vigil write-path benchmark (make bench). Starts a throwaway cluster, generates a
# deterministic data set, and times COPY and INSERT ... SELECT into identical tables guarded
# differently, interleaving the variants round by round. Reports medians and ratios to the
# unguarded table, and the backend's peak RSS for a large guarded COPY.
#   BENCH_ROWS (default 1000000)  BENCH_ROUNDS (default 7)  BENCH_MEMORY_ROWS (default 10000000, 0 skips)
#   BENCH_PGBENCH_CLIENTS (8)  BENCH_PGBENCH_SECONDS (30)  BENCH_PGBENCH_ROUNDS (3)
#   BENCH_ONLY=keys: only the keys-and-pairs COPY (unique and column-pair rules)
#   BENCH_NODES_ROWS (1000000, 0 skips), BENCH_NODES_ROUNDS (3): the scale-out section (bench/nodes.sh)
set -euo pipefail
dir=${1:?cluster dir}; port=${2:?port}
here=$(cd "$(dirname "$0")" && pwd)
rows=${BENCH_ROWS:-1000000}
rounds=${BENCH_ROUNDS:-7}
memory_rows=${BENCH_MEMORY_ROWS:-10000000}
pgbench_clients=${BENCH_PGBENCH_CLIENTS:-8}
pgbench_seconds=${BENCH_PGBENCH_SECONDS:-30}
pgbench_rounds=${BENCH_PGBENCH_ROUNDS:-3}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cluster="$here/../pg_test_config/cluster.sh"

"$cluster" start "$dir" "$port"
trap '"$cluster" stop "$dir"' EXIT
psql_b() { psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres "$@"; }

echo "== generating $rows rows (timestamptz, text, 20 float8) =="
psql_b -v rows="$rows" -v datafile="$dir/data.csv" -v keysfile="$dir/keys.csv" -f "$here/setup.sql"

echo "== $rounds interleaved rounds =="
only=${BENCH_ONLY:-}
for round in $(seq 1 "$rounds"); do
  for method in copy insert_select; do
    [ "$only" = keys ] && break
    for variant in plain capture_only check plpgsql vigil_reject vigil_quarantine vigil_watched watched_only plpgsql_stats; do
      # A checkpoint first, so that one run's dirty pages are not written during the next.
      psql_b -c "CHECKPOINT" -c "CALL bench_run('$variant', '$method', $round, '$dir/data.csv')"
    done
  done
  for variant in keys_plain keys_native keys_plpgsql keys_vigil; do
    psql_b -c "CHECKPOINT" -c "CALL bench_run('$variant', 'copy', $round, '$dir/keys.csv')"
  done
  echo "round $round done"
done
psql_b -f "$here/report.sql"
[ "$only" = keys ] && exit 0

echo
echo "== reading a year of statistics (365 daily windows x 20 columns) =="
psql_b -f "$here/reads.sql"

echo
echo "== single-row INSERT throughput, pgbench $pgbench_clients clients x ${pgbench_seconds} s, autovacuum on =="
psql_b -c "ALTER SYSTEM SET autovacuum = on" -c "SELECT pg_reload_conf()" >/dev/null
psql_b -f "$here/pgbench_setup.sql"
for round in $(seq 1 "$pgbench_rounds"); do
  for table in pb_plain pb_watched; do
    # As for COPY: a checkpoint first, so one run does not write out the previous run's pages.
    psql_b -c "CHECKPOINT"
    tps=$("$PGBIN/pgbench" -n -h "$dir" -p "$port" -U postgres -c "$pgbench_clients" -j 2 -T "$pgbench_seconds" \
            -f "$here/pgbench_$table.sql" postgres | sed -nE 's/^tps = ([0-9.]+).*/\1/p')
    psql_b -c "INSERT INTO pgbench_result VALUES ('$table', $round, $tps)"
    echo "round $round $table: $tps tps"
  done
done
psql_b -f "$here/pgbench_report.sql"
psql_b -c "ALTER SYSTEM RESET autovacuum" -c "SELECT pg_reload_conf()" >/dev/null


echo
echo "== alert quality: weather.csv with pipeline bugs in a tenth of the days, 3 seeds =="
bash "$here/alerts.sh" "$dir" "$port" "1 2 3"

if [ "${BENCH_NODES_ROWS:-1000000}" -gt 0 ]; then
  echo
  echo "== scale-out: a coordinator and three data nodes (bench/nodes.sh) =="
  bash "$here/nodes.sh" "$dir-nodes" $((port + 40))
fi

if [ "$memory_rows" -gt 0 ]; then
  echo
  echo "== peak backend RSS for a COPY of $memory_rows rows =="
  psql_b -c "COPY (SELECT s.* FROM b_source s, generate_series(1, greatest(1, $memory_rows / $rows))) TO '$dir/big.csv' (FORMAT csv)"
  for variant in plain vigil_reject vigil_quarantine; do
    psql_b -c "TRUNCATE b_$variant"
    # A fresh backend per run, so VmHWM is this COPY's peak.
    psql_b -tA -c "COPY b_$variant FROM '$dir/big.csv' (FORMAT csv)" \
               -c "SELECT '$variant', (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+) kB'))[1]::bigint / 1024 AS peak_rss_mib"
    psql_b -c "TRUNCATE b_$variant"
  done
  rm -f "$dir/big.csv"
fi
