-- pg_vigil 0.3.0 -> 0.4.0
\echo Use "ALTER EXTENSION pg_vigil UPDATE TO '0.4.0'" to load this file. \quit

-- Great Expectations' multi-column, uniqueness, order and value-set expectations. No catalog
-- table changes: their extra columns live in constraint_def.params ('columns'), which the DDL
-- event triggers now follow through renames and column drops.

CREATE  FUNCTION "_declare_multi"(
	"tbl" oid, /* Option < Oid > */
	"columns" TEXT[], /* Option < Vec < Option < String > > > */
	"kind" TEXT, /* Option < & str > */
	"on_violation" TEXT, /* Option < & str > */
	"mostly" double precision, /* Option < f64 > */
	"name" TEXT, /* Option < & str > */
	"ignore_row_if" TEXT, /* Option < & str > */
	"or_equal" bool, /* Option < bool > */
	"strictly" bool, /* Option < bool > */
	"total" double precision, /* Option < f64 > */
	"value_set" TEXT[], /* Option < Vec < Option < String > > > */
	"ties_okay" bool /* Option < bool > */
) RETURNS TEXT /* String */

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'declare_multi_wrapper';

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

-- Pattern lists keep their patterns (match_on 'all' too); LIKE patterns.
-- Any of the patterns found in v (GE's expect_column_values_to_match_regex_list, match_on 'any'),
-- or none of them (expect_column_values_to_not_match_regex_list).
CREATE OR REPLACE FUNCTION vigil.expect_match_any(
    tbl regclass, col text, patterns text[],
    on_violation text DEFAULT 'reject', mostly double precision DEFAULT 1.0, name text DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._declare(tbl, col, 'match_any', on_violation, mostly, name,
                            NULL, NULL, false, false, patterns, NULL, NULL) $$;

CREATE OR REPLACE FUNCTION vigil.expect_not_match_any(
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


-- The table's shape.
CREATE  FUNCTION "_declare_shape"(
	"tbl" oid, /* Option < Oid > */
	"kind" TEXT, /* Option < & str > */
	"on_violation" TEXT, /* Option < & str > */
	"name" TEXT, /* Option < & str > */
	"columns" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"exact_match" bool, /* Option < bool > */
	"min" INT, /* Option < i32 > */
	"max" INT, /* Option < i32 > */
	"column_index" INT /* Option < i32 > */
) RETURNS TEXT /* String */

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'declare_shape_wrapper';

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

-- Suites in and out.
CREATE  FUNCTION "_import_expectations"(
	"tbl" oid, /* Option < Oid > */
	"suite_json" jsonb, /* Option < JsonB > */
	"on_unsupported" TEXT /* Option < & str > */
) RETURNS TABLE (
	"expectation_type" TEXT,  /* String */
	"constraint_name" TEXT  /* String */
)

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'import_expectations_wrapper';

CREATE  FUNCTION "_export_expectations"(
	"tbl" oid /* Option < Oid > */
) RETURNS jsonb /* JsonB */

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'export_expectations_wrapper';

-- Great Expectations suites: declare a suite's expectations on a table in one transaction (all
-- or nothing), and a table's contract as a suite (pg_vigil's settings under meta.pg_vigil).
CREATE FUNCTION vigil.import_expectations(tbl regclass, suite jsonb, on_unsupported text DEFAULT 'error')
RETURNS TABLE (expectation_type text, constraint_name text)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM vigil._import_expectations(tbl, suite, on_unsupported) $$;

CREATE FUNCTION vigil.export_expectations(tbl regclass)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._export_expectations(tbl) $$;

-- Suggestions.
CREATE  FUNCTION "_suggest"(
	"tbl" oid, /* Option < Oid > */
	"sample_rows" bigint /* Option < i64 > */
) RETURNS TABLE (
	"column_name" TEXT,  /* Option < String > */
	"kind" TEXT,  /* String */
	"params" jsonb,  /* JsonB */
	"on_violation" TEXT,  /* String */
	"mostly" double precision,  /* f64 */
	"reason" TEXT,  /* String */
	"statement" TEXT  /* String */
)

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'suggest_sql_wrapper';

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

-- The report.
CREATE  FUNCTION "_report"(
	"tbl" oid, /* Option < Oid > */
	"from_time" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"to_time" timestamp with time zone /* Option < TimestampWithTimeZone > */
) RETURNS TEXT /* String */

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'report_sql_wrapper';

-- One self-contained HTML page about a table: its contract, window status and alerts, each
-- column's statistics per window, the newest alert's distribution against its reference, and
-- violations and quarantine over time. Write it out with psql: \o report.html, \pset format
-- unaligned, \pset tuples_only on, SELECT vigil.report('tbl');
CREATE FUNCTION vigil.report(tbl regclass, from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._report(tbl, from_time, to_time) $$;

-- Dropping or renaming any column of a multi-column expectation.
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
