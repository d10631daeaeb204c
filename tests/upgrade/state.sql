-- What users see of their contract and its history: equal before and after the update.
SELECT 'constraint', relid, constraint_name, column_name, kind, on_violation, params FROM vigil.constraints ORDER BY 2, 3;
SELECT 'violation', relid, constraint_name, column_name, action, count(*) FROM vigil.violations GROUP BY 2, 3, 4, 5 ORDER BY 2, 3;
SELECT 'quarantine', relid, count(*) FROM vigil.quarantine GROUP BY 2 ORDER BY 2;
SELECT 'column_stats', column_name, window_start::date, row_count, null_count, round(mean::numeric, 9)
  FROM vigil.column_stats WHERE relid = 'u_feed'::regclass ORDER BY 2, 3;
SELECT 'window_status', window_start::date, row_count, status, top_columns FROM vigil.window_status WHERE relid = 'u_feed'::regclass ORDER BY 2;
SELECT 'drift', window_start::date, bool_and(valid), count(*) FROM vigil.drift WHERE relid = 'u_feed'::regclass GROUP BY 2 ORDER BY 2;
SELECT 'alert', alert_id, window_start::date, state, columns FROM vigil.alerts ORDER BY 2;
SELECT 'validate', constraint_name, element_count, unexpected_count, success FROM vigil.validate('u_feed') ORDER BY 2;
