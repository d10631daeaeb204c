#!/usr/bin/env bash
# Alert quality benchmark: three real feeds (tests/data: hourly weather, a pizza place's orders,
# births per state and day) with pipeline bugs injected into a seeded tenth of the days, judged
# by pg_vigil, two classic baselines and GATE (PyPI gate-drift, run without its column clustering;
# bench/gate.py, installed by bench/setup_gate.sh when missing, skipped when it cannot be).
#   alerts.sh HOST PORT [SEEDS] [FEEDS]   (a running cluster with pg_vigil installed;
#                                          seeds default 1 2 3 4 5, feeds weather pizza births)
set -euo pipefail
host=${1:?socket dir} port=${2:?port}
seeds=${3:-1 2 3 4 5}
feeds=${4:-weather pizza births}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
psql_a() { psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres "$@"; }
psql_a -d postgres -c "DROP DATABASE IF EXISTS vigil_alerts" -c "CREATE DATABASE vigil_alerts"
psql_a -d vigil_alerts -f bench/alerts_setup.sql
gate=1
bash bench/setup_gate.sh || gate=0
if [ "$gate" = 0 ]; then echo "GATE skipped: gate-drift 0.1.5 (or psycopg) cannot be imported by ${PYTHON:-python3}"; fi
for feed in $feeds; do
  for seed in $seeds; do
    started=$(date +%s)
    psql_a -d vigil_alerts -v feed="$feed" -v seed="$seed" -f bench/alerts_seed.sql >/dev/null
    echo "$feed seed $seed: $(( $(date +%s) - started )) s"
    # GATE reads the watched table `w` as this feed and seed left it.
    if [ "$gate" = 1 ]; then "${PYTHON:-python3}" bench/gate.py "$host" "$port" vigil_alerts "$feed" "$seed"; fi
  done
done
psql_a -d vigil_alerts -f bench/alerts_report.sql
# For tuning scoring offline: ALERTS_EXPORT=DIR writes what pg_vigil scored and the bug days
# (then: ALERTS_EXPORT=DIR cargo test --release --lib alert_benchmark_offline -- --ignored --nocapture).
if [ -n "${ALERTS_EXPORT:-}" ]; then
  mkdir -p "$ALERTS_EXPORT"
  psql_a -d vigil_alerts \
    -c "\copy (SELECT feed, seed, day, valid, column_name, coalesce(spread, 'NaN'), statistic, value FROM observed_day ORDER BY 1, 2, 3) TO '$ALERTS_EXPORT/observed.tsv'" \
    -c "\copy (SELECT feed, seed, day, bug, array_to_string(columns, '|') FROM bug_day) TO '$ALERTS_EXPORT/bugs.tsv'"
fi
