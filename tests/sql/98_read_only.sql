-- READ ONLY transactions (and hot standbys, where every transaction is one: tests/standby runs
-- a real one) read every view and read function as a read-write transaction does. What must
-- write fails with 25006, before it starts.

BEGIN READ ONLY;
SELECT string_agg(format('%s %s %s', window_start::date, row_count, status), ',' ORDER BY window_start) AS status_read_only
  FROM vigil.window_status WHERE relid = 'a_weather'::regclass \gset
SELECT count(*) AS observations_read_only FROM vigil._window_observations('a_weather'::regclass) \gset
SELECT count(*) > 0 AS drift_read FROM vigil.drift WHERE relid = 'a_weather'::regclass;
SELECT count(*) > 0 AS column_stats_read FROM vigil.column_stats WHERE relid = 'a_weather'::regclass;
SELECT count(*) AS alerts_read FROM vigil.alerts WHERE relid = 'a_weather'::regclass \gset
SELECT count(*) > 0 AS constraints_read FROM vigil.constraints WHERE relid = 'g'::regclass;
SELECT count(*) > 0 AS violations_read FROM vigil.violations WHERE relid = 'g'::regclass;
SELECT count(*) >= 0 AS quarantine_read FROM vigil.quarantine;
SELECT count(*) AS validate_read_only FROM vigil.validate('g');
SELECT count(*) > 0 AS freshness_read FROM vigil.freshness WHERE relid = 'a_weather'::regclass;
-- Everything that writes is refused, naming what was refused.
SELECT try($$SELECT vigil.evaluate('a_weather')$$) AS evaluate;
SELECT try($$SELECT vigil.mark_window('a_weather', '2013-07-04', valid => false)$$) AS mark_window;
SELECT try($$SELECT vigil.set_baseline('a_weather', '2013-01-01', '2013-02-01')$$) AS set_baseline;
SELECT try($$SELECT vigil.acknowledge(1)$$) AS acknowledge;
SELECT try($$SELECT vigil.expect_not_null('g', 'tag')$$) AS declare;
SELECT try($$SELECT vigil.watch('g')$$) AS watch;
SELECT try($$SELECT vigil.compact()$$) AS compact;
SELECT try($$SELECT vigil.resolve(1)$$) AS resolve;
SELECT try($$SELECT vigil.unwatch('a_weather')$$) AS unwatch;
SELECT try($$SELECT vigil.backfill('a_weather')$$) AS backfill;
SELECT try($$SELECT vigil.drop_constraint('g', 'g_tag_not_null', if_exists => true)$$) AS drop_constraint;
SELECT try($$SELECT vigil.release_quarantine('g')$$) AS release_quarantine;
SELECT try($$SELECT vigil.evaluate()$$) AS evaluate_all;
SELECT try($$SELECT vigil.set_grace('a_weather', '1 hour')$$) AS set_grace;
-- As users see it: PostgreSQL's message and a hint, no Rust backtrace.
SELECT vigil.evaluate('a_weather');
ROLLBACK;

-- Read-write, the same results.
SELECT string_agg(format('%s %s %s', window_start::date, row_count, status), ',' ORDER BY window_start) = :'status_read_only' AS same_status
  FROM vigil.window_status WHERE relid = 'a_weather'::regclass;
SELECT count(*) = :observations_read_only AS same_observations FROM vigil._window_observations('a_weather'::regclass);
SELECT count(*) = :alerts_read AS same_alerts FROM vigil.alerts WHERE relid = 'a_weather'::regclass;
