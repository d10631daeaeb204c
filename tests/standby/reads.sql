-- What a training pipeline reads: the same on the primary and on its hot standby.
SELECT 'window_status', window_start::date, row_count, status FROM vigil.window_status WHERE relid = 'a_weather'::regclass ORDER BY 2;
SELECT 'drift', count(*), count(DISTINCT window_start) FROM vigil.drift WHERE relid = 'a_weather'::regclass;
SELECT 'column_stats', column_name, window_start::date, row_count, null_count, round(mean::numeric, 6)
  FROM vigil.column_stats WHERE relid = 'a_weather'::regclass ORDER BY 2, 3;
SELECT 'observations', count(*) FROM vigil._window_observations('a_weather'::regclass);
SELECT 'alerts', alert_id, relid, window_start::date, state, round(score::numeric, 6), columns FROM vigil.alerts ORDER BY alert_id;
SELECT 'constraints', relid, constraint_name, column_name, kind, on_violation FROM vigil.constraints ORDER BY 2, 3;
SELECT 'violations', relid, constraint_name, count(*) FROM vigil.violations GROUP BY 2, 3 ORDER BY 2, 3;
SELECT 'quarantine', relid, count(*) FROM vigil.quarantine GROUP BY 2 ORDER BY 2;
SELECT 'validate', constraint_name, element_count, unexpected_count, success FROM vigil.validate('g') ORDER BY 2;
SELECT 'freshness', relid, usual_interval, grace, status FROM vigil.freshness ORDER BY relid::text;
SELECT 'gaps', relid, count(*) FROM vigil.window_status WHERE row_count = 0 GROUP BY 2 ORDER BY relid::text;
