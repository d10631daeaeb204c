-- pg_vigil user-facing API. Each expect_* returns the constraint's name.
-- Every function pins its search_path; identifiers reach SQL only through regclass/quote_ident.

-- Write path (C functions in the extension library). These two pin their search path in code
-- (to pg_catalog alone, for as long as they run: src/trigger/mod.rs, with_pinned_search_path): a
-- SET clause would cost a GUC save and restore on every write statement, or every row.
CREATE FUNCTION vigil._after_write() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'vigil_after_write';
CREATE FUNCTION vigil._before_row() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'vigil_before_row';

CREATE FUNCTION vigil.expect_not_null(
    tbl regclass, col text,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'not_null', on_violation, mostly, name,
                            NULL, NULL, false, false, NULL, NULL, NULL) $$;

-- Every value NULL (GE's expect_column_values_to_be_null); 'set_null' repairs a value that is not.
CREATE FUNCTION vigil.expect_null(
    tbl regclass, col text,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'null', on_violation, mostly, name,
                            NULL, NULL, false, false, NULL, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_between(
    tbl regclass, col text, min anycompatible, max anycompatible,
    strict_min boolean DEFAULT false, strict_max boolean DEFAULT false,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'between', on_violation, mostly, name,
                            min::text, max::text, strict_min, strict_max, NULL, NULL,
                            pg_typeof(min)) $$;

CREATE FUNCTION vigil.expect_in_set(
    tbl regclass, col text, value_set anyarray,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'in_set', on_violation, mostly, name,
                            NULL, NULL, false, false, value_set::text[], NULL, NULL) $$;

CREATE FUNCTION vigil.expect_not_in_set(
    tbl regclass, col text, value_set anyarray,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'not_in_set', on_violation, mostly, name,
                            NULL, NULL, false, false, value_set::text[], NULL, NULL) $$;

CREATE FUNCTION vigil.expect_match(
    tbl regclass, col text, pattern text,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'match', on_violation, mostly, name,
                            NULL, NULL, false, false, NULL, pattern, NULL) $$;

CREATE FUNCTION vigil.expect_not_match(
    tbl regclass, col text, pattern text,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'not_match', on_violation, mostly, name,
                            NULL, NULL, false, false, NULL, pattern, NULL) $$;

-- Any of the patterns found in v (GE's expect_column_values_to_match_regex_list, match_on 'any'),
-- or none of them (expect_column_values_to_not_match_regex_list).
CREATE FUNCTION vigil.expect_match_any(
    tbl regclass, col text, patterns text[],
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'match_any', on_violation, mostly, name,
                            NULL, NULL, false, false, patterns, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_not_match_any(
    tbl regclass, col text, patterns text[],
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'not_match_any', on_violation, mostly, name,
                            NULL, NULL, false, false, patterns, NULL, NULL) $$;

CREATE FUNCTION vigil._list_kind(syntax text, match_on text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF match_on IS NULL OR match_on NOT IN ('any', 'all') THEN
        RAISE EXCEPTION 'match_on must be ''any'' or ''all'', got %', coalesce(quote_literal(match_on), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN syntax || '_' || match_on;
END $$;

-- SQL LIKE patterns (% any run of characters, _ one character, \ escapes), whole-value match.
CREATE FUNCTION vigil.expect_like(
    tbl regclass, col text, pattern text,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'like', on_violation, mostly, name,
                            NULL, NULL, false, false, NULL, pattern, NULL) $$;

CREATE FUNCTION vigil.expect_not_like(
    tbl regclass, col text, pattern text,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'not_like', on_violation, mostly, name,
                            NULL, NULL, false, false, NULL, pattern, NULL) $$;

-- Pattern lists: match_on 'any' (one of them found) or 'all' (every one found).
CREATE FUNCTION vigil.expect_match_list(
    tbl regclass, col text, patterns text[], match_on text DEFAULT 'any',
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, vigil._list_kind('match', match_on), on_violation, mostly, name,
                            NULL, NULL, false, false, patterns, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_like_list(
    tbl regclass, col text, patterns text[], match_on text DEFAULT 'any',
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, vigil._list_kind('like', match_on), on_violation, mostly, name,
                            NULL, NULL, false, false, patterns, NULL, NULL) $$;

-- None of the LIKE patterns matches.
CREATE FUNCTION vigil.expect_not_like_any(
    tbl regclass, col text, patterns text[],
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'not_like_any', on_violation, mostly, name,
                            NULL, NULL, false, false, patterns, NULL, NULL) $$;



CREATE FUNCTION vigil.expect_length_between(
    tbl regclass, col text, min integer, max integer,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'length_between', on_violation, mostly, name,
                            min::text, max::text, false, false, NULL, NULL, NULL) $$;

-- Every value exactly `length` characters long (GE's expect_column_value_lengths_to_equal).
CREATE FUNCTION vigil.expect_length_equal(
    tbl regclass, col text, length integer,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'length_between', on_violation, mostly, name,
                            length::text, length::text, false, false, NULL, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_finite(
    tbl regclass, col text,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'finite', on_violation, mostly, name,
                            NULL, NULL, false, false, NULL, NULL, NULL) $$;

-- Expectations over several columns of a row, a batch's uniqueness or order, and a column's set
-- of distinct values (Great Expectations' semantics; see the README). ignore_row_if NULL is GE's
-- default: a row is skipped when all its values are missing.
CREATE FUNCTION vigil.expect_pair_greater(
    tbl regclass, col_a text, col_b text, or_equal boolean DEFAULT false, ignore_row_if text DEFAULT NULL,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, ARRAY[col_a, col_b], 'pair_greater', on_violation, mostly, name,
                                  ignore_row_if, or_equal, false, NULL, NULL, false) $$;

CREATE FUNCTION vigil.expect_pair_equal(
    tbl regclass, col_a text, col_b text, ignore_row_if text DEFAULT NULL,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, ARRAY[col_a, col_b], 'pair_equal', on_violation, mostly, name,
                                  ignore_row_if, false, false, NULL, NULL, false) $$;

CREATE FUNCTION vigil.expect_sum_equal(
    tbl regclass, columns text[], total double precision, ignore_row_if text DEFAULT NULL,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, columns, 'sum_equal', on_violation, mostly, name,
                                  ignore_row_if, false, false, total, NULL, false) $$;

CREATE FUNCTION vigil.expect_unique_within_record(
    tbl regclass, columns text[], ignore_row_if text DEFAULT NULL,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, columns, 'unique_within_record', on_violation, mostly, name,
                                  ignore_row_if, false, false, NULL, NULL, false) $$;

-- Unique within each write batch (vigil.validate: over the whole table).
CREATE FUNCTION vigil.expect_unique(
    tbl regclass, col text,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, ARRAY[col], 'unique', on_violation, mostly, name,
                                  NULL, false, false, NULL, NULL, false) $$;

CREATE FUNCTION vigil.expect_compound_unique(
    tbl regclass, columns text[], ignore_row_if text DEFAULT NULL,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, columns, 'compound_unique', on_violation, mostly, name,
                                  ignore_row_if, false, false, NULL, NULL, false) $$;

-- In order within each write batch: by the watched time column when there is one, else as written.
CREATE FUNCTION vigil.expect_increasing(
    tbl regclass, col text, strictly boolean DEFAULT false,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, ARRAY[col], 'increasing', on_violation, mostly, name,
                                  NULL, false, strictly, NULL, NULL, false) $$;

CREATE FUNCTION vigil.expect_decreasing(
    tbl regclass, col text, strictly boolean DEFAULT false,
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, ARRAY[col], 'decreasing', on_violation, mostly, name,
                                  NULL, false, strictly, NULL, NULL, false) $$;

-- value_set NULL: any value (GE's vacuous universal set).
CREATE FUNCTION vigil.expect_distinct_in_set(
    tbl regclass, col text, value_set anyarray,
    on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, ARRAY[col], 'distinct_in_set', on_violation, 1.0, name,
                                  NULL, false, false, NULL, value_set::text[], false) $$;

CREATE FUNCTION vigil.expect_distinct_contain_set(
    tbl regclass, col text, value_set anyarray,
    on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, ARRAY[col], 'distinct_contain_set', on_violation, 1.0, name,
                                  NULL, false, false, NULL, value_set::text[], false) $$;

CREATE FUNCTION vigil.expect_distinct_equal_set(
    tbl regclass, col text, value_set anyarray,
    on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, ARRAY[col], 'distinct_equal_set', on_violation, 1.0, name,
                                  NULL, false, false, NULL, value_set::text[], false) $$;

CREATE FUNCTION vigil.expect_most_common_in_set(
    tbl regclass, col text, value_set anyarray, ties_okay boolean DEFAULT false,
    on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_multi(tbl, ARRAY[col], 'most_common_in_set', on_violation, 1.0, name,
                                  NULL, false, false, NULL, value_set::text[], ties_okay) $$;

CREATE FUNCTION vigil._required(v anyelement, what text) RETURNS anyelement
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF v IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', what USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN v;
END $$;

-- The table's shape (GE's table expectations), judged from the catalog: exact_match false allows
-- other columns too; column_index is GE's 0-based position.
CREATE FUNCTION vigil.expect_columns_match_set(
    tbl regclass, columns text[], exact_match boolean DEFAULT true,
    on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_shape(tbl, 'columns_match_set', on_violation, name, columns, exact_match, NULL, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_columns_match_list(
    tbl regclass, columns text[],
    on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_shape(tbl, 'columns_match_list', on_violation, name, columns, false, NULL, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_column_count_between(
    tbl regclass, min integer, max integer,
    on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_shape(tbl, 'column_count_between', on_violation, name, NULL, false, min, max, NULL) $$;

CREATE FUNCTION vigil.expect_column_count_equal(
    tbl regclass, value integer,
    on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_shape(tbl, 'column_count_between', on_violation, name, NULL, false,
                                  vigil._required(value, 'value'), value, NULL) $$;

CREATE FUNCTION vigil.expect_column_to_exist(
    tbl regclass, col text, column_index integer DEFAULT NULL,
    on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_shape(tbl, 'column_exists', on_violation, name,
                                  ARRAY[vigil._required(col, 'col')], false, NULL, NULL, column_index) $$;

-- Great Expectations suites: declare a suite's expectations on a table in one transaction (all
-- or nothing), and a table's contract as a suite (pg_vigil's settings under meta.pg_vigil).
CREATE FUNCTION vigil.import_expectations(tbl regclass, suite jsonb, on_unsupported text DEFAULT 'error')
RETURNS TABLE (expectation_type text, constraint_name text)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM vigil._import_expectations(tbl, suite, on_unsupported) $$;

CREATE FUNCTION vigil.export_expectations(tbl regclass)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._export_expectations(tbl) $$;

-- A starting contract from the rows already there (all of them, or a repeatable sample of about
-- sample_rows): one row per suggestion with the statement that declares it. apply_suggestions
-- declares them (of the given kinds) in one transaction.
CREATE FUNCTION vigil.suggest(tbl regclass, sample_rows bigint DEFAULT NULL)
RETURNS TABLE (column_name text, kind text, params jsonb, on_violation text, mostly double precision,
               reason text, statement text)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM vigil._suggest(tbl, sample_rows) $$;

CREATE FUNCTION vigil.apply_suggestions(tbl regclass, kinds text[] DEFAULT NULL, sample_rows bigint DEFAULT NULL)
RETURNS TABLE (column_name text, kind text, statement text)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS $$
DECLARE
    s record;
    unknown text;
BEGIN
    SELECT k INTO unknown FROM unnest(kinds) AS k
     WHERE k IS NULL OR k NOT IN ('not_null', 'completeness', 'between', 'in_set', 'match', 'unique', 'watch') LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unknown suggestion kind %', coalesce(quote_literal(unknown), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Kinds are not_null, completeness, between, in_set, match, unique and watch.';
    END IF;
    -- The statements are vigil.suggest's own: identifiers and values in them are quoted.
    FOR s IN SELECT * FROM vigil._suggest(tbl, sample_rows) g WHERE kinds IS NULL OR g.kind = ANY (kinds) LOOP
        EXECUTE s.statement;
        column_name := s.column_name;
        kind := s.kind;
        statement := s.statement;
        RETURN NEXT;
    END LOOP;
END $$;

-- One self-contained HTML page about a table: its contract, window status and alerts, each
-- column's statistics per window, the newest alert's distribution against its reference, and
-- violations and quarantine over time. Write it out with psql: \o report.html, \pset format
-- unaligned, \pset tuples_only on, SELECT vigil.report('tbl');
CREATE FUNCTION vigil.report(tbl regclass, from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._report(tbl, from_time, to_time) $$;

CREATE FUNCTION vigil.drop_constraint(tbl regclass, name text, if_exists boolean DEFAULT false)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._drop_constraint(tbl, name, if_exists) $$;

CREATE FUNCTION vigil.validate(tbl regclass)
RETURNS TABLE (constraint_name text, column_name text, kind text, element_count bigint,
               missing_count bigint, unexpected_count bigint, unexpected_percent double precision,
               success boolean, partial_unexpected_list jsonb)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM vigil._validate(tbl) $$;

CREATE FUNCTION vigil.release_quarantine(tbl regclass, quarantine_ids bigint[] DEFAULT NULL)
RETURNS bigint LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._release_quarantine(tbl, quarantine_ids) $$;

-- Statistics: watching a table records a profile of its columns per window on every write.
CREATE FUNCTION vigil.watch(tbl regclass, time_column text DEFAULT NULL,
                            window_size interval DEFAULT '1 day', columns text[] DEFAULT NULL)
RETURNS integer LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._watch(tbl, time_column, window_size, columns) $$;

CREATE FUNCTION vigil.unwatch(tbl regclass)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._unwatch(tbl) $$;

CREATE FUNCTION vigil.backfill(tbl regclass)
RETURNS bigint LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._backfill(tbl) $$;

CREATE FUNCTION vigil.compact(tbl regclass DEFAULT NULL)
RETURNS bigint LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._compact(tbl) $$;

-- Drift: each window against the baseline, or without one against the table's own history.
CREATE FUNCTION vigil.set_baseline(tbl regclass, from_time timestamptz, to_time timestamptz)
RETURNS bigint LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._set_baseline(tbl, from_time, to_time) $$;

CREATE FUNCTION vigil.mark_window(tbl regclass, window_start timestamptz, valid boolean DEFAULT false)
RETURNS timestamptz LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._mark_window(tbl, window_start, valid) $$;

-- Window status and alerts: each window scored against the table's own history.
CREATE FUNCTION vigil.evaluate(tbl regclass)
RETURNS bigint[] LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._evaluate(tbl) $$;

-- Every watched table the caller owns (for pg_cron or another scheduler; see the README).
CREATE FUNCTION vigil.evaluate()
RETURNS bigint[] LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._evaluate_all() $$;

-- How long after a window ends an expected window without rows is missing (NULL: vigil.grace).
CREATE FUNCTION vigil.set_grace(tbl regclass, grace interval)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._set_grace(tbl, grace) $$;

CREATE FUNCTION vigil.acknowledge(alert_id bigint)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._acknowledge(alert_id) $$;

CREATE FUNCTION vigil.resolve(alert_id bigint)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._resolve(alert_id) $$;

-- TRUNCATE empties the table, so its statistics start a new epoch (older ones stop counting).
CREATE FUNCTION vigil._after_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE vigil.watch_def SET epoch = epoch + 1 WHERE relid = TG_RELID;
    RETURN NULL;
END $$;

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
       s.top_values,
       vigil._missing_nodes(w.relid) AS missing_nodes
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
       s.top_columns,
       vigil._missing_nodes(w.relid) AS missing_nodes
  FROM vigil.watch_def w
 CROSS JOIN LATERAL vigil._window_status(w.relid) s
 WHERE pg_catalog.has_table_privilege(w.relid, 'SELECT');
GRANT SELECT ON vigil.window_status TO PUBLIC;

-- Per watched table: its latest write, how often it usually writes, and whether rows it should
-- have written are late or missing.
CREATE VIEW vigil.freshness WITH (security_barrier) AS
SELECT w.relid, f.last_write_at, f.usual_interval, f.grace, f.status
  FROM vigil.watch_def w
 CROSS JOIN LATERAL vigil._freshness(w.relid) f
 WHERE pg_catalog.has_table_privilege(w.relid, 'SELECT');
GRANT SELECT ON vigil.freshness TO PUBLIC;

-- Ranked by score, highest first, open ones before the others.
CREATE VIEW vigil.alerts WITH (security_barrier) AS
SELECT a.alert_id, a.relid, a.window_start, a.last_window, a.opened_at,
       a.severity, a.score, a.columns, a.summary, a.state, a.acknowledged_at, a.resolved_at,
       vigil._missing_nodes(a.relid) AS missing_nodes
  FROM vigil.alert a
 WHERE pg_catalog.has_table_privilege(a.relid, 'SELECT')
 ORDER BY a.state = 'resolved', a.score DESC, a.alert_id;
GRANT SELECT ON vigil.alerts TO PUBLIC;

-- DDL follow-up. Dropping a table or a constrained column drops its constraints (with a NOTICE);
-- partitions created or attached later get the statement triggers.
-- Scale-out: data nodes (postgres_fdw servers whose databases run pg_vigil) and distributed
-- tables (partitioned, their partitions foreign tables on the nodes). See src/remote.
CREATE FUNCTION vigil.add_node(server text)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._add_node(server) $$;

CREATE FUNCTION vigil.remove_node(server text)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._remove_node(server) $$;

CREATE FUNCTION vigil.distribute(tbl regclass)
RETURNS integer LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._distribute(tbl) $$;

CREATE FUNCTION vigil.recover_nodes()
RETURNS TABLE (server text, gid text, action text) LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM vigil._recover_nodes() $$;

-- Every registered node, contacted when read.
CREATE VIEW vigil.nodes AS SELECT * FROM vigil._nodes();
GRANT SELECT ON vigil.nodes TO PUBLIC;

CREATE FUNCTION vigil._on_sql_drop() RETURNS event_trigger
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
            DELETE FROM vigil.distributed WHERE relid = obj.objid;
            DELETE FROM vigil.node_window WHERE relid = obj.objid;
            DELETE FROM vigil.quarantine WHERE relid = obj.objid;
            GET DIAGNOSTICS discarded = ROW_COUNT;
            IF discarded > 0 THEN
                RAISE NOTICE 'pg_vigil discarded % quarantined rows of dropped table %',
                    discarded, obj.object_identity;
            END IF;
        ELSE
            -- address_names: {schema, table, column}.
            FOR dropped IN DELETE FROM vigil.constraint_def
                            WHERE relid = obj.objid
                              AND (column_name = obj.address_names[3] OR params->'columns' ? obj.address_names[3])
                           RETURNING constraint_name, relid LOOP
                RAISE NOTICE 'pg_vigil constraint "%" dropped with column %',
                    dropped.constraint_name, obj.object_identity;
                PERFORM vigil._sync_triggers(dropped.relid);
            END LOOP;
        END IF;
    END LOOP;
END $$;

CREATE FUNCTION vigil._on_ddl_end() RETURNS event_trigger
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

CREATE EVENT TRIGGER vigil_sql_drop ON sql_drop EXECUTE FUNCTION vigil._on_sql_drop();
CREATE EVENT TRIGGER vigil_ddl_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE FOREIGN TABLE')
    EXECUTE FUNCTION vigil._on_ddl_end();

-- Internal functions check the caller's rights themselves; event-trigger functions cannot be
-- called directly. Nothing here grants writes on vigil.* tables.
REVOKE ALL ON FUNCTION vigil._on_sql_drop(), vigil._on_ddl_end() FROM PUBLIC;

-- vigil.profile(value): the statistics pg_vigil records for one column, as a parallel-safe
-- aggregate whose result is the serialized profile (the form statistics deltas store).
CREATE AGGREGATE vigil.profile(double precision) (
    SFUNC = vigil._profile_add_number, STYPE = internal, FINALFUNC = vigil._profile_final,
    COMBINEFUNC = vigil._profile_combine, SERIALFUNC = vigil._profile_serialize,
    DESERIALFUNC = vigil._profile_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE vigil.profile(text) (
    SFUNC = vigil._profile_add_text, STYPE = internal, FINALFUNC = vigil._profile_final,
    COMBINEFUNC = vigil._profile_combine, SERIALFUNC = vigil._profile_serialize,
    DESERIALFUNC = vigil._profile_deserialize, PARALLEL = SAFE);

-- Batch-level constraints: an aggregate of a column (or the row count) judged per write batch,
-- in Great Expectations' semantics for the expectations of the same names.
CREATE FUNCTION vigil.expect_completeness(tbl regclass, col name, min_fraction double precision,
                                          on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'completeness', on_violation, name, min_fraction, NULL, false, false, NULL, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_mean_between(tbl regclass, col name, min double precision DEFAULT NULL,
                                          max double precision DEFAULT NULL, strict_min boolean DEFAULT false,
                                          strict_max boolean DEFAULT false, on_violation text DEFAULT 'reject',
                                          name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'mean_between', on_violation, name, min, max, strict_min, strict_max, NULL, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_stddev_between(tbl regclass, col name, min double precision DEFAULT NULL,
                                            max double precision DEFAULT NULL, strict_min boolean DEFAULT false,
                                            strict_max boolean DEFAULT false, on_violation text DEFAULT 'reject',
                                            name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'stddev_between', on_violation, name, min, max, strict_min, strict_max, NULL, NULL, NULL) $$;

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

CREATE FUNCTION vigil.expect_quantile_between(tbl regclass, col name, q double precision,
                                              min double precision DEFAULT NULL, max double precision DEFAULT NULL,
                                              strict_min boolean DEFAULT false, strict_max boolean DEFAULT false,
                                              on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'quantile_between', on_violation, name, min, max, strict_min, strict_max, q, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_unique_fraction_between(tbl regclass, col name, min double precision DEFAULT NULL,
                                                     max double precision DEFAULT NULL, strict_min boolean DEFAULT false,
                                                     strict_max boolean DEFAULT false, on_violation text DEFAULT 'reject',
                                                     name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'unique_fraction_between', on_violation, name, min, max, strict_min, strict_max, NULL, NULL, NULL) $$;

CREATE FUNCTION vigil.expect_row_count_between(tbl regclass, min bigint DEFAULT NULL, max bigint DEFAULT NULL,
                                               on_violation text DEFAULT 'reject', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, NULL, 'row_count_between', on_violation, name, min, max, false, false, NULL, NULL, NULL) $$;

-- A watched column's drift, judged per finished window: its learned score (threshold NULL), or
-- a drift metric against a threshold. Drifting windows are recorded in vigil.violations.
CREATE FUNCTION vigil.expect_no_drift(tbl regclass, col name, metric text DEFAULT 'auto',
                                      threshold double precision DEFAULT NULL,
                                      on_violation text DEFAULT 'warn', name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare_aggregate(tbl, col::text, 'no_drift', on_violation, name, NULL, NULL, false, false, NULL, metric, threshold) $$;
