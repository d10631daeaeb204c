-- pg_vigil 0.2.0 -> 0.3.0
\echo Use "ALTER EXTENSION pg_vigil UPDATE TO '0.3.0'" to load this file. \quit

-- The contract survives pg_dump/pg_restore: tables are referred to as regclass (dumped by name),
-- columns by name (renames followed by vigil_ddl_end), identity counters are dumped too.
-- Windows without rows are judged: per-table grace and the next evaluation's time in watch_def,
-- vigil.evaluate() for schedulers, vigil.set_grace, vigil.freshness.

DROP VIEW vigil.constraints, vigil.violations, vigil.column_stats, vigil.drift, vigil.window_status, vigil.alerts;

ALTER TABLE vigil.constraint_def ALTER COLUMN relid TYPE regclass, ADD COLUMN column_name text;
UPDATE vigil.constraint_def c SET column_name = a.attname::text
  FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.relid AND a.attnum = c.attnum AND c.attnum > 0;
-- The event triggers' new forms first: dropping the old columns fires them.
CREATE OR REPLACE FUNCTION vigil._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    obj record;
    dropped record;
    discarded bigint;
BEGIN
    FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
                WHERE object_type IN ('table', 'table column') LOOP
        IF obj.object_type = 'table' THEN
            FOR dropped IN DELETE FROM vigil.constraint_def WHERE relid = obj.objid
                           RETURNING constraint_name LOOP
                RAISE NOTICE 'pg_vigil constraint "%" dropped with table %',
                    dropped.constraint_name, obj.object_identity;
            END LOOP;
            DELETE FROM vigil.violation_log WHERE relid = obj.objid;
            DELETE FROM vigil.watch_def WHERE relid = obj.objid;
            DELETE FROM vigil.window_mark WHERE relid = obj.objid;
            DELETE FROM vigil.profile_delta WHERE relid = obj.objid;
            DELETE FROM vigil.window_memo WHERE relid = obj.objid;
            DELETE FROM vigil.alert WHERE relid = obj.objid;
            DELETE FROM vigil.quarantine WHERE relid = obj.objid;
            GET DIAGNOSTICS discarded = ROW_COUNT;
            IF discarded > 0 THEN
                RAISE NOTICE 'pg_vigil discarded % quarantined rows of dropped table %',
                    discarded, obj.object_identity;
            END IF;
        ELSE
            -- address_names: {schema, table, column}.
            FOR dropped IN DELETE FROM vigil.constraint_def
                            WHERE relid = obj.objid AND column_name = obj.address_names[3]
                           RETURNING constraint_name, relid LOOP
                RAISE NOTICE 'pg_vigil constraint "%" dropped with column %',
                    dropped.constraint_name, obj.object_identity;
                PERFORM vigil._sync_triggers(dropped.relid);
            END LOOP;
        END IF;
    END LOOP;
END $$;

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
    -- Constrained tables touched by the command, directly or through a partition: re-sync their
    -- triggers and re-compile their rules, which refuses a column type change they cannot follow.
    FOR root IN
        SELECT DISTINCT d.relid
          FROM pg_event_trigger_ddl_commands() c
          JOIN vigil.constraint_def d
            ON d.relid = c.objid
            OR d.relid IN (SELECT a.relid FROM pg_partition_ancestors(c.objid) a)
         WHERE c.object_type = 'table'
    LOOP
        PERFORM vigil._sync_triggers(root);
    END LOOP;
END $$;

ALTER TABLE vigil.constraint_def DROP COLUMN attnum;

ALTER TABLE vigil.watch_def ALTER COLUMN relid TYPE regclass, ADD COLUMN time_column text, ADD COLUMN columns text[];
UPDATE vigil.watch_def w
   SET time_column = (SELECT a.attname::text FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = w.relid AND a.attnum = w.time_attnum AND NOT a.attisdropped),
       columns = ARRAY(SELECT a.attname::text FROM unnest(w.attnums) WITH ORDINALITY AS k(attnum, i)
                         JOIN pg_catalog.pg_attribute a ON a.attrelid = w.relid AND a.attnum = k.attnum
                        ORDER BY k.i);
ALTER TABLE vigil.watch_def ALTER COLUMN columns SET NOT NULL, DROP COLUMN time_attnum, ADD COLUMN grace interval,
    ADD COLUMN evaluate_after timestamptz;

ALTER TABLE vigil.violation_log ALTER COLUMN relid TYPE regclass;
ALTER TABLE vigil.window_mark ALTER COLUMN relid TYPE regclass;
ALTER TABLE vigil.profile_delta ALTER COLUMN relid TYPE regclass;
ALTER TABLE vigil.alert ALTER COLUMN relid TYPE regclass;

-- Their identity counters too: restored rows keep their ids, new ones must not collide.
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vigil.constraint_def', 'constraint_id')::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vigil.violation_log', 'violation_id')::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vigil.quarantine', 'quarantine_id')::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vigil.alert', 'alert_id')::pg_catalog.regclass, '');

CREATE VIEW vigil.constraints WITH (security_barrier) AS
SELECT c.constraint_name,
       c.relid,
       c.column_name,
       c.kind,
       c.on_violation,
       c.mostly,
       c.params,
       c.enabled
  FROM vigil.constraint_def c
 WHERE pg_catalog.has_table_privilege(c.relid, 'SELECT');

CREATE VIEW vigil.violations WITH (security_barrier) AS
SELECT v.relid,
       v.constraint_name,
       v.column_name,
       v.detected_at,
       v.txid,
       v.batch_rows,
       v.unexpected_count,
       v.action,
       v.sample,
       v.violation_id
  FROM vigil.violation_log v
 WHERE pg_catalog.has_table_privilege(v.relid, 'SELECT');

GRANT SELECT ON vigil.constraints, vigil.violations TO PUBLIC;

CREATE VIEW vigil.column_stats WITH (security_barrier) AS
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
       s.top_values
  FROM vigil.watch_def w
 CROSS JOIN LATERAL vigil._column_stats(w.relid) s
  JOIN LATERAL unnest(w.attnums, w.columns) AS k(attnum, column_name) ON k.attnum = s.attnum
 WHERE pg_catalog.has_table_privilege(w.relid, 'SELECT');
GRANT SELECT ON vigil.column_stats TO PUBLIC;

CREATE VIEW vigil.drift WITH (security_barrier) AS
SELECT w.relid,
       k.column_name,
       d.window_start,
       d.window_start + w.window_size AS window_end,
       d.compared_to,
       d.valid,
       d.psi, d.js_distance, d.ks_statistic, d.wasserstein_norm, d.linf, d.chi2_pvalue,
       d.null_fraction_delta, d.new_category_fraction, d.score
  FROM vigil.watch_def w
 CROSS JOIN LATERAL vigil._drift(w.relid) d
  JOIN LATERAL unnest(w.attnums, w.columns) AS k(attnum, column_name) ON k.attnum = d.attnum
 WHERE pg_catalog.has_table_privilege(w.relid, 'SELECT');
GRANT SELECT ON vigil.drift TO PUBLIC;

CREATE VIEW vigil.window_status WITH (security_barrier) AS
SELECT w.relid,
       s.window_start,
       s.window_start + w.window_size AS window_end,
       s.row_count,
       s.status,
       s.score,
       s.top_columns
  FROM vigil.watch_def w
 CROSS JOIN LATERAL vigil._window_status(w.relid) s
 WHERE pg_catalog.has_table_privilege(w.relid, 'SELECT');
GRANT SELECT ON vigil.window_status TO PUBLIC;

CREATE VIEW vigil.alerts WITH (security_barrier) AS
SELECT a.alert_id, a.relid, a.window_start, a.last_window, a.opened_at,
       a.severity, a.score, a.columns, a.summary, a.state, a.acknowledged_at, a.resolved_at
  FROM vigil.alert a
 WHERE pg_catalog.has_table_privilege(a.relid, 'SELECT')
 ORDER BY a.state = 'resolved', a.score DESC, a.alert_id;
GRANT SELECT ON vigil.alerts TO PUBLIC;

-- New functions: evaluation of every table the caller owns (for schedulers), per-table grace,
-- freshness.
CREATE  FUNCTION "_evaluate_all"() RETURNS bigint[] /* Vec < i64 > */
STRICT 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'evaluate_all_wrapper';

CREATE  FUNCTION "_freshness"(
	"tbl" oid /* Oid */
) RETURNS TABLE (
	"last_write_at" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"usual_interval" interval,  /* Option < pgrx :: datum :: Interval > */
	"grace" interval,  /* pgrx :: datum :: Interval */
	"status" TEXT  /* String */
)
STRICT 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'freshness_wrapper';

CREATE  FUNCTION "_set_grace"(
	"tbl" oid, /* Option < Oid > */
	"grace" interval /* Option < Interval > */
) RETURNS bool /* bool */

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'set_grace_wrapper';

CREATE FUNCTION vigil.evaluate()
RETURNS bigint[] LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._evaluate_all() $$;

CREATE FUNCTION vigil.set_grace(tbl regclass, grace interval)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._set_grace(tbl, grace) $$;

CREATE VIEW vigil.freshness WITH (security_barrier) AS
SELECT w.relid, f.last_write_at, f.usual_interval, f.grace, f.status
  FROM vigil.watch_def w
 CROSS JOIN LATERAL vigil._freshness(w.relid) f
 WHERE pg_catalog.has_table_privilege(w.relid, 'SELECT');
GRANT SELECT ON vigil.freshness TO PUBLIC;

-- New expectations: min, max, sum and median of a batch; value lengths equal.
CREATE FUNCTION vigil.expect_min_between(tbl regclass, col name, min double precision DEFAULT NULL,
                                         max double precision DEFAULT NULL, strict_min boolean DEFAULT false,
                                         strict_max boolean DEFAULT false, on_violation text DEFAULT 'reject',
                                         name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'min_between', on_violation, name, min, max, strict_min, strict_max, NULL, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_max_between(tbl regclass, col name, min double precision DEFAULT NULL,
                                         max double precision DEFAULT NULL, strict_min boolean DEFAULT false,
                                         strict_max boolean DEFAULT false, on_violation text DEFAULT 'reject',
                                         name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'max_between', on_violation, name, min, max, strict_min, strict_max, NULL, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_sum_between(tbl regclass, col name, min double precision DEFAULT NULL,
                                         max double precision DEFAULT NULL, strict_min boolean DEFAULT false,
                                         strict_max boolean DEFAULT false, on_violation text DEFAULT 'reject',
                                         name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'sum_between', on_violation, name, min, max, strict_min, strict_max, NULL, NULL, NULL) $$;

-- The median: halfway between the middle two values of an even count, as GE computes it.
CREATE FUNCTION vigil.expect_median_between(tbl regclass, col name, min double precision DEFAULT NULL,
                                            max double precision DEFAULT NULL, strict_min boolean DEFAULT false,
                                            strict_max boolean DEFAULT false, on_violation text DEFAULT 'reject',
                                            name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'median_between', on_violation, name, min, max, strict_min, strict_max, 0.5, NULL, NULL) $$;

-- Every value exactly `length` characters long (GE's expect_column_value_lengths_to_equal).
CREATE FUNCTION vigil.expect_length_equal(
    tbl regclass, col text, length integer,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'length_between', on_violation, mostly, name,
                            length::text, length::text, false, false, NULL, NULL, NULL) $$;

-- Every value NULL (GE's expect_column_values_to_be_null); 'set_null' repairs a value that is not.
CREATE FUNCTION vigil.expect_null(
    tbl regclass, col text,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'null', on_violation, mostly, name,
                            NULL, NULL, false, false, NULL, NULL, NULL) $$;

-- The number of distinct non-NULL values (GE's expect_column_unique_value_count_to_be_between).
CREATE FUNCTION vigil.expect_unique_count_between(tbl regclass, col name, min bigint DEFAULT NULL,
                                                  max bigint DEFAULT NULL, on_violation text DEFAULT 'reject',
                                                  name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'unique_count_between', on_violation, name, min, max, false, false, NULL, NULL, NULL) $$;

-- Exactly `value` rows (GE's expect_table_row_count_to_equal; per batch, as row_count_between).
CREATE FUNCTION vigil.expect_row_count_equal(tbl regclass, value bigint, on_violation text DEFAULT 'reject',
                                             name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, NULL, 'row_count_between', on_violation, name, value, value, false, false, NULL, NULL, NULL) $$;

-- Any of the patterns found in v (GE's expect_column_values_to_match_regex_list, match_on 'any'),
-- or none of them (expect_column_values_to_not_match_regex_list): one alternation.
CREATE FUNCTION vigil.expect_match_any(
    tbl regclass, col text, patterns text[],
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'match', on_violation, mostly, name, NULL, NULL, false, false, NULL,
                            (SELECT string_agg('(?:' || p || ')', '|') FROM unnest(patterns) AS p), NULL) $$;

CREATE FUNCTION vigil.expect_not_match_any(
    tbl regclass, col text, patterns text[],
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'not_match', on_violation, mostly, name, NULL, NULL, false, false, NULL,
                            (SELECT string_agg('(?:' || p || ')', '|') FROM unnest(patterns) AS p), NULL) $$;

