-- Everything users see of their contract and its history, through every view: equal in the
-- restored database.
SELECT 'constraint', relid, constraint_name, column_name, kind, on_violation, mostly, params, enabled FROM vigil.constraints ORDER BY 2, 3;
SELECT 'violation', violation_id, relid, constraint_name, column_name, detected_at, txid, batch_rows, unexpected_count, action, sample
  FROM vigil.violations ORDER BY violation_id;
SELECT 'quarantine', quarantine_id, relid, constraint_names, row_data, captured_at, operation FROM vigil.quarantine ORDER BY quarantine_id;
SELECT 'column_stats', s.* FROM vigil.column_stats s ORDER BY relid::text, column_name, window_start;
SELECT 'window_status', s.* FROM vigil.window_status s ORDER BY relid::text, window_start;
SELECT 'drift', d.* FROM vigil.drift d ORDER BY relid::text, column_name, window_start;
SELECT 'alert', a.* FROM vigil.alerts a ORDER BY alert_id;
SELECT 'validate', constraint_name, element_count, unexpected_count, success FROM vigil.validate('d_feed') ORDER BY 2;
SELECT 'validate', constraint_name, element_count, unexpected_count, success FROM vigil.validate('d_part') ORDER BY 2;
SELECT 'rows', (SELECT count(*) FROM d_feed), (SELECT count(*) FROM d_part);
