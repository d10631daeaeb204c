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


-- A partition created (CREATE FOREIGN TABLE ... PARTITION OF) or attached later under a
-- distributed table: checked to be on a node, and the contract goes there in its transaction.
CREATE OR REPLACE FUNCTION vigil._on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    root oid;
    renamed record;
BEGIN
    -- A column renamed (ALTER TABLE ... RENAME COLUMN reports it, recursing to partitions): the
    -- contract keeps columns by name, and names were current before this command, so a stored
    -- name the table (or a partition of it) no longer has is the renamed column's old name.
    FOR renamed IN
        SELECT DISTINCT t.relid, a.attname::text AS new_name
          FROM pg_event_trigger_ddl_commands() c
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.objid AND a.attnum = c.objsubid
         CROSS JOIN LATERAL (SELECT c.objid AS relid UNION SELECT p.relid FROM pg_partition_tree(c.objid) p) t
         WHERE c.object_type = 'table column' AND c.command_tag = 'ALTER TABLE'
    LOOP
        UPDATE vigil.constraint_def d SET column_name = renamed.new_name
         WHERE d.relid = renamed.relid AND d.column_name IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = d.relid AND a.attname = d.column_name AND NOT a.attisdropped);
        -- Multi-column expectations keep every column's name in params.
        UPDATE vigil.constraint_def d
           SET params = jsonb_set(d.params, '{columns}', (
                   SELECT jsonb_agg(CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                                       WHERE a.attrelid = d.relid AND a.attname = n AND NOT a.attisdropped)
                                         THEN n ELSE renamed.new_name END ORDER BY i)
                     FROM jsonb_array_elements_text(d.params->'columns') WITH ORDINALITY AS u(n, i)))
         WHERE d.relid = renamed.relid AND d.params ? 'columns';
        UPDATE vigil.watch_def w
           SET columns = ARRAY(SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                                        WHERE a.attrelid = w.relid AND a.attname = n AND NOT a.attisdropped)
                                           THEN n ELSE renamed.new_name END
                                 FROM unnest(w.columns) WITH ORDINALITY AS u(n, i) ORDER BY i),
               time_column = CASE WHEN w.time_column IS NULL OR EXISTS (
                                       SELECT 1 FROM pg_catalog.pg_attribute a
                                        WHERE a.attrelid = w.relid AND a.attname = w.time_column AND NOT a.attisdropped)
                                  THEN w.time_column ELSE renamed.new_name END
         WHERE w.relid = renamed.relid;
    END LOOP;
    -- Constrained and distributed tables touched by the command, directly or through a
    -- partition: re-sync their triggers and re-compile their rules, which refuses a column type
    -- change they cannot follow; a distributed table's contract goes to a new partition's node.
    FOR root IN
        SELECT DISTINCT d.relid
          FROM pg_event_trigger_ddl_commands() c
          JOIN (SELECT relid FROM vigil.constraint_def UNION SELECT relid FROM vigil.distributed) d
            ON d.relid = c.objid
            OR d.relid IN (SELECT a.relid FROM pg_partition_ancestors(c.objid) a)
         WHERE c.object_type IN ('table', 'foreign table')
    LOOP
        PERFORM vigil._sync_triggers(root);
    END LOOP;
END $$;

DROP EVENT TRIGGER vigil_ddl_end;
CREATE EVENT TRIGGER vigil_ddl_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE FOREIGN TABLE')
    EXECUTE FUNCTION vigil._on_ddl_end();
