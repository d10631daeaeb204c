#!/usr/bin/env bash
# Alert quality benchmark: a year of real weather (tests/data/weather.csv) with pipeline bugs
# injected into a seeded tenth of the days, judged by pg_vigil and two classic baselines.
#   alerts.sh HOST PORT [SEEDS]   (a running cluster with pg_vigil installed; seeds default 1 2 3)
set -euo pipefail
host=${1:?socket dir} port=${2:?port}
seeds=${3:-1 2 3}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
psql_a() { psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres "$@"; }
psql_a -d postgres -c "DROP DATABASE IF EXISTS vigil_alerts" -c "CREATE DATABASE vigil_alerts"
psql_a -d vigil_alerts -f bench/alerts_setup.sql
for seed in $seeds; do
  started=$(date +%s)
  psql_a -d vigil_alerts -v seed="$seed" -f bench/alerts_seed.sql >/dev/null
  echo "seed $seed: $(( $(date +%s) - started )) s"
done
psql_a -d vigil_alerts -f bench/alerts_report.sql
