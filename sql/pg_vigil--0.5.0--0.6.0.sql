-- pg_vigil 0.5.0 -> 0.6.0
\echo Use "ALTER EXTENSION pg_vigil UPDATE TO '0.6.0'" to load this file. \quit

-- The statistics views of a distributed table say which data nodes their read could not reach
-- (missing_nodes, a column added at the end of column_stats, window_status and alerts).
-- pg_vigil::api::nodes::_missing_nodes
CREATE  FUNCTION "_missing_nodes"(
	"tbl" oid /* Oid */
) RETURNS TEXT[] /* :: std :: option :: Option < Vec < String > > */
STRICT
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'missing_nodes_wrapper';

CREATE OR REPLACE VIEW vigil.column_stats WITH (security_barrier) AS
SELECT w.relid,
       k.column_name,
       s.window_start,
       s.window_start + w.window_size AS window_end,
       s.row_count,
       s.null_count,
       CASE WHEN s.row_count > 0 THEN s.null_count::double precision / s.row_count END AS null_fraction,
       s.nan_count,
       s.min, s.max, s.mean, s.stddev,
       s.quantiles[1] AS p01, s.quantiles[2] AS p05, s.quantiles[3] AS p25, s.quantiles[4] AS p50,
       s.quantiles[5] AS p75, s.quantiles[6] AS p95, s.quantiles[7] AS p99,
       s.distinct_estimate,
       s.top_values,
       vigil._missing_nodes(w.relid) AS missing_nodes
  FROM vigil.watch_def w
 CROSS JOIN LATERAL vigil._column_stats(w.relid) s
  JOIN LATERAL unnest(w.attnums, w.columns) AS k(attnum, column_name) ON k.attnum = s.attnum
 WHERE pg_catalog.has_table_privilege(w.relid, 'SELECT');

CREATE OR REPLACE VIEW vigil.window_status WITH (security_barrier) AS
SELECT w.relid,
       s.window_start,
       s.window_start + w.window_size AS window_end,
       s.row_count,
       s.status,
       s.score,
       s.top_columns,
       vigil._missing_nodes(w.relid) AS missing_nodes
  FROM vigil.watch_def w
 CROSS JOIN LATERAL vigil._window_status(w.relid) s
 WHERE pg_catalog.has_table_privilege(w.relid, 'SELECT');

CREATE OR REPLACE VIEW vigil.alerts WITH (security_barrier) AS
SELECT a.alert_id, a.relid, a.window_start, a.last_window, a.opened_at,
       a.severity, a.score, a.columns, a.summary, a.state, a.acknowledged_at, a.resolved_at,
       vigil._missing_nodes(a.relid) AS missing_nodes
  FROM vigil.alert a
 WHERE pg_catalog.has_table_privilege(a.relid, 'SELECT')
 ORDER BY a.state = 'resolved', a.score DESC, a.alert_id;

