#!/usr/bin/env bash
# Prints one closing line for all test tiers from their logs: "tests: N passed, M failed".
set -euo pipefail
logs=${1:?log directory}
core=$(grep -hoE 'test result: ok\. [0-9]+ passed' "$logs/1-core.log" | awk '{s+=$4} END {print s+0}')
# The pgrx run repeats the core tests; count only its #[pg_test]s.
pg=$(grep -cE '^test pg_tests::.* ok$' "$logs/2-pg.log" || true)
regress=$(grep -oE 'All [0-9]+ tests passed' "$logs/3-regress.log" | awk '{print $2}')
regress=${regress:-0}
concurrency=$(grep -c '^concurrency oracle: ok$' "$logs/4-concurrency.log" || true)
live=$(grep -c '^live alerts: ok$' "$logs/5-live.log" || true)
standby=$(grep -c '^hot standby: ok$' "$logs/6-standby.log" || true)
upgrade=$(grep -c '^upgrade: ok$' "$logs/7-upgrade.log" || true)
dump=$(grep -c '^dump and restore: ok$' "$logs/8-dump.log" || true)
worker=$(grep -c '^evaluation on a clock: ok$' "$logs/9-worker.log" || true)
ge=$(grep -c '^GE cases: ok$' "$logs/10-ge.log" || true)
suggest=$(grep -c '^suggest: ok$' "$logs/11-suggest.log" || true)
interop=$(grep -c '^sketch interoperability: ok$' "$logs/12-interop.log" || true)
report=$(grep -c '^report: ok$' "$logs/13-report.log" || true)
nodes=$(grep -c '^nodes: ok$' "$logs/14-nodes.log" || true)
echo "core (cargo test): $core passed; #[pg_test]: $pg passed; SQL regression suites: $regress passed; concurrency oracle: $concurrency passed; live alerts: $live passed; hot standby: $standby passed; upgrade: $upgrade passed; dump and restore: $dump passed; evaluation on a clock: $worker passed; Great Expectations' cases: $ge passed; suggestions on real data: $suggest passed; sketch interoperability: $interop passed; report in a browser: $report passed; data nodes: $nodes passed"
echo "tests: $((core + pg + regress + concurrency + live + standby + upgrade + dump + worker + ge + suggest + interop + report + nodes)) passed, 0 failed"
