#!/usr/bin/env bash
# Evaluation on a clock, with real clusters. With pg_vigil in shared_preload_libraries, its
# launcher evaluates every database by itself: a load that stops opens a 'missing' alert within
# seconds, with no query from anyone; a database dropped and an extension removed meanwhile do
# not stop it; it shuts down cleanly. Without preloading, Debian's pg_cron runs
# vigil.evaluate() every minute to the same effect. Prints "evaluation on a clock: ok" or fails.
set -euo pipefail
port=${1:?port}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/pg_test_config/common.sh"
base=${TMP:-/tmp/pg_vigil}/worker
clock=$base/clock cron=$base/cron clock_port=$((port + 14)) cron_port=$((port + 15))
cleanup() { "$root/pg_test_config/cluster.sh" stop "$clock"; "$root/pg_test_config/cluster.sh" stop "$cron"; }
[ -n "${KEEP:-}" ] || trap cleanup EXIT
fail() { echo "evaluation on a clock: FAILED ($*)"; exit 1; }
# Waits up to $1 seconds for query $3 on database $2 (cluster $4:$5) to print t.
wait_for() {
  local seconds=$1 db=$2 query=$3 host=$4 p=$5
  for _ in $(seq 1 $((seconds * 2))); do
    [ "$(psql -X -h "$host" -p "$p" -U postgres -d "$db" -Atc "$query" 2>/dev/null)" = t ] && return 0
    sleep 0.5
  done
  return 1
}
restart() { as_postgres "$PGBIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -m fast restart -o "-p $2 -k $1" >/dev/null; }
missing_alert="SELECT EXISTS (SELECT 1 FROM vigil.alerts WHERE relid = 'feed'::regclass AND columns = '{(row count)}'
                               AND summary ~ 'has no rows; no writes since' AND severity = 'critical')"

# --- The launcher (shared_preload_libraries) ---
"$root/pg_test_config/cluster.sh" start "$clock" "$clock_port"
c() { local db=$1; shift; psql -X -h "$clock" -p "$clock_port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -q "$@"; }
c postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_vigil'"
restart "$clock" "$clock_port"
clock_started=$(date +%s)
# Taken on reload (the launcher rereads its settings on SIGHUP).
c postgres -c "ALTER SYSTEM SET vigil.evaluate_interval = '1s'" -c "SELECT pg_reload_conf()" >/dev/null
launcher() { c postgres -Atc "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_vigil launcher'"; }
pid=$(launcher)
[ -n "$pid" ] || fail "no launcher running"
for db in vigil_w1 vigil_w2 vigil_w3; do c postgres -c "CREATE DATABASE $db"; done
# A table whose evaluation fails (its statistics corrupted by hand), listed before the feed:
# the worker logs it and goes on with the others.
# (One transaction: a worker that looked at the table between watch and the corruption would
# find nothing due until tomorrow.)
c vigil_w1 -c "CREATE EXTENSION pg_vigil" \
           -c "CREATE TABLE broken (ts timestamptz, v float8); SELECT vigil.watch('broken', 'ts');
               INSERT INTO vigil.profile_delta VALUES ('broken'::regclass, 1, date_trunc('day', now()) - interval '2 days', 1, '\\x05ff', false)" >/dev/null
# A listener on the alerts' channel, as a pipeline would keep one (psql prints what arrived at
# its next command).
{ echo "LISTEN vigil_alerts;"; sleep 25; echo "SELECT 1;"; } | c vigil_w1 > "$base/listen.out" 2>&1 &
listener=$!
sleep 1
c vigil_w1 -f "$here/feed.sql" >/dev/null
c vigil_w2 -f "$here/feed.sql" >/dev/null
c vigil_w3 -f "$here/feed.sql" >/dev/null
wait_for 30 vigil_w1 "$missing_alert" "$clock" "$clock_port" || fail "no alert for the missing window in 30 s"
late=$(c vigil_w1 -Atc "SELECT round(extract(epoch FROM min(opened_at) - min(window_start) - interval '10 seconds'), 1)
                        FROM vigil.alerts WHERE relid = 'feed'::regclass")
echo "launcher: the window after the last load alerted as missing $late s after it ended (grace 0, interval 1 s), with no query from anyone"
[ "$(c vigil_w1 -Atc "SELECT status FROM vigil.freshness WHERE relid = 'feed'::regclass")" = missing ] || fail "freshness is not 'missing'"
wait "$listener"
alert=$(c vigil_w1 -Atc "SELECT min(alert_id) FROM vigil.alerts WHERE relid = 'feed'::regclass AND columns = '{(row count)}'")
grep -q "notification \"vigil_alerts\" with payload \"$alert\"" "$base/listen.out" || { cat "$base/listen.out"; fail "no NOTIFY for alert $alert"; }
echo "launcher: NOTIFY vigil_alerts '$alert' reached a listener"
# A database dropped and an extension removed while the launcher runs.
c postgres -c "DROP DATABASE vigil_w2 WITH (FORCE)"
c vigil_w3 -c "DROP EXTENSION pg_vigil CASCADE" >/dev/null 2>&1
before=$(c vigil_w1 -Atc "SELECT max(last_window) FROM vigil.alerts WHERE relid = 'feed'::regclass")
wait_for 30 vigil_w1 "SELECT max(last_window) > '$before' FROM vigil.alerts WHERE relid = 'feed'::regclass" "$clock" "$clock_port" \
  || fail "evaluation stopped after a database was dropped"
[ "$(launcher)" = "$pid" ] || fail "the launcher restarted (was $pid, now $(launcher))"
grep -q "pg_vigil: evaluating table .* failed" "$clock/server.log" || fail "the broken table's failure was not logged"
echo "launcher: a table whose evaluation fails is logged and skipped; the others go on"
echo "launcher: still evaluating (the missing alert extends window by window) after DROP DATABASE and DROP EXTENSION elsewhere"
# Nothing due (the feed unwatched): the launcher only wakes to read pg_database.
c vigil_w1 -c "SELECT vigil.unwatch('feed')" >/dev/null
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks); sleep 10; t1=$(ticks)
hz=$(getconf CLK_TCK)
echo "launcher: $((t1 - t0)) clock ticks of CPU (1/$hz s each) in 10 s with nothing due"
[ $((t1 - t0)) -le $((hz / 10)) ] || fail "the launcher used more than 1% of a CPU with nothing due"
failures=$(grep -c "pg_vigil: evaluating table .* failed" "$clock/server.log")
[ "$failures" -eq 1 ] || fail "the broken table was tried $failures times (once per 10 minutes expected)"
echo "launcher: the broken table was tried once in the test's $(( $(date +%s) - clock_started )) s (again after 10 minutes)"
started=$(date +%s)
as_postgres "$PGBIN/pg_ctl" -D "$clock/data" -w -m fast stop >/dev/null
took=$(( $(date +%s) - started ))
[ "$took" -le 10 ] || fail "shutdown took $took s"
if grep -E "pg_vigil (launcher|evaluate).*exit code [1-9]|terminated by signal|PANIC" "$clock/server.log"; then fail "unclean exit in the server log"; fi
echo "launcher: stopped cleanly in $took s"

# --- Without preloading: pg_cron runs vigil.evaluate() ---
"$root/pg_test_config/cluster.sh" start "$cron" "$cron_port"
k() { local db=$1; shift; psql -X -h "$cron" -p "$cron_port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -q "$@"; }
k postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_cron'" -c "CREATE DATABASE vigil_cron"
restart "$cron" "$cron_port"
# pg_cron's own settings exist once it is loaded; it runs jobs in background workers (these
# clusters take no TCP connections).
k postgres -c "ALTER SYSTEM SET cron.database_name = 'vigil_cron'" -c "ALTER SYSTEM SET cron.use_background_workers = on"
restart "$cron" "$cron_port"
k vigil_cron -c "CREATE EXTENSION pg_cron" -f "$here/feed.sql" >/dev/null
k vigil_cron -c "SELECT cron.schedule('vigil-evaluate', '* * * * *', 'SELECT vigil.evaluate()')" >/dev/null
wait_for 75 vigil_cron "$missing_alert" "$cron" "$cron_port" || fail "pg_cron's vigil.evaluate() opened no alert in 75 s"
[ "$(k vigil_cron -Atc "SELECT bool_and(status = 'succeeded') FROM cron.job_run_details")" = t ] || fail "a pg_cron run failed"
echo "pg_cron: SELECT vigil.evaluate() every minute opened the missing alert"
echo "evaluation on a clock: ok"
