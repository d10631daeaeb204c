-- pg_vigil demo, part 2: load the features table (demo/migration.sql) batch by batch and show
-- what the contract caught. Run by demo/run.sh after the migration:
--   psql -d vigil_demo -v ON_ERROR_STOP=1 -v export_dir=DIR -f demo/demo.sql
-- (export_dir: a directory the server can write, for the batch CSV files).

\set QUIET on
\pset null '(null)'
\pset footer off
\set VERBOSITY default
\set SHOW_CONTEXT never

\echo
\echo '--- The contract as pg_vigil sees it: SELECT * FROM vigil.constraints;'
SELECT * FROM vigil.constraints;

\echo
\echo '################################################################################'
\echo '# 3. The pipeline: 10 daily batches of 5,000 rows, exported to CSV and COPYed in'
\echo '################################################################################'

-- The "upstream": it generates a day of events deterministically (setseed), applies the bug of
-- the day (an SQL statement on its staging table, if any), and exports the batch as a CSV file
-- that the demo then loads with COPY features FROM '<file>', the way a loader job would.
CREATE SCHEMA pipeline;
CREATE TABLE pipeline.config (export_dir text NOT NULL);
INSERT INTO pipeline.config VALUES (:'export_dir');
CREATE UNLOGGED TABLE pipeline.staging (LIKE features);
CREATE TABLE pipeline.mark (violation_id bigint NOT NULL, batch_rows bigint NOT NULL);
INSERT INTO pipeline.mark VALUES (0, 0);

CREATE FUNCTION pipeline.extract(day int, bug text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    path text := (SELECT export_dir FROM pipeline.config) || format('/batch_%s.csv', day);
BEGIN
    PERFORM setseed(day / 100.0);
    TRUNCATE pipeline.staging;
    INSERT INTO pipeline.staging
    SELECT e.entity_id,
           timestamptz '2024-06-01 00:00+00' + (day - 1) * interval '1 day' + e.g * interval '17 s',
           (ARRAY['US', 'US', 'US', 'GB', 'DE', 'FR', 'IN', 'BR', 'JP', 'CA'])[1 + floor(e.r1 * 10)::int],
           18 + floor(e.r2 * 62)::int,
           round((18000 + e.r3 * e.r3 * 180000)::numeric, 2)::float8,
           round(e.r4::numeric, 4)::float8,
           floor(e.r5 * e.r5 * 120)::int,
           format('user%s@example.%s', e.entity_id, (ARRAY['com', 'org', 'net'])[1 + floor(e.r6 * 3)::int]),
           CASE WHEN e.r7 < 0.01 THEN NULL
                ELSE (ARRAY['ios', 'android', 'web'])[1 + floor(e.r7 * 3)::int] END
      FROM (SELECT g, 1 + floor(random() * 50000)::bigint AS entity_id,
                   random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                   random() AS r5, random() AS r6, random() AS r7
              FROM generate_series(1, 5000) g) e;
    IF bug IS NOT NULL THEN
        EXECUTE bug;
    END IF;
    EXECUTE format('COPY (SELECT * FROM pipeline.staging ORDER BY event_time) TO %L (FORMAT csv, HEADER)', path);
    -- remember where vigil.violations stood, so pipeline.caught() can show what this batch hit
    UPDATE pipeline.mark
       SET violation_id = (SELECT coalesce(max(violation_id), 0) FROM vigil.violations),
           batch_rows = (SELECT count(*) FROM pipeline.staging);
    RETURN path;
END $fn$;

-- What pg_vigil recorded for the last batch (vigil.violations rows written since the extract).
CREATE FUNCTION pipeline.caught()
RETURNS TABLE (constraint_name text, action text, "rows" text, sample jsonb)
LANGUAGE sql AS $fn$
    SELECT v.constraint_name, v.action,
           format('%s of %s', v.unexpected_count, v.batch_rows),
           jsonb_path_query_array(v.sample, '$[0 to 5]')
      FROM vigil.violations v
     WHERE v.violation_id > (SELECT violation_id FROM pipeline.mark)
    UNION ALL
    SELECT '(nothing caught)', '-', format('%s rows', (SELECT batch_rows FROM pipeline.mark)), NULL
     WHERE NOT EXISTS (SELECT FROM vigil.violations v
                        WHERE v.violation_id > (SELECT violation_id FROM pipeline.mark))
$fn$;

\echo
\echo '=== History: four weeks of clean daily batches (2024-05-04 to 2024-05-31), loaded the same way.'
\echo '    pg_vigil learns each column''s usual behaviour from them: until 14 valid windows precede a'
\echo '    window it is ''learning''; after that it is scored against the table''s own history.'
DO $$
DECLARE day int;
BEGIN
    FOR day IN -27..0 LOOP
        EXECUTE format('COPY features FROM %L (FORMAT csv, HEADER)', pipeline.extract(day));
    END LOOP;
END $$;
SELECT count(*) AS history_rows, count(DISTINCT event_time::date) AS days FROM features;

\echo
\echo '=== Batch 1/10 (2024-06-01): clean.'
SELECT pipeline.extract(1) AS csv \gset
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
SELECT * FROM pipeline.caught();

\echo
\echo '=== Batch 2/10 (2024-06-02): clean; about 1% of device values are NULL, as usual (mostly => 0.95 tolerates it).'
SELECT pipeline.extract(2) AS csv \gset
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
SELECT * FROM pipeline.caught();
\echo '--> device NULLs in batch 2, under the 5% that mostly => 0.95 allows, so not recorded:'
SELECT count(*) FILTER (WHERE device IS NULL) AS null_devices, count(*) AS batch_rows,
       round(100.0 * count(*) FILTER (WHERE device IS NULL) / count(*), 2) AS pct
  FROM features WHERE event_time::date = '2024-06-02';

\echo
\echo '=== Batch 3/10 (2024-06-03): an upstream job switched age to MONTHS for 1 shard in 40 -> age > 120 -> REJECT.'
SELECT pipeline.extract(3, $$UPDATE pipeline.staging SET age = age * 12 WHERE entity_id % 40 = 0$$) AS csv \gset
SELECT count(*) AS rows_before FROM features \gset
\set ON_ERROR_STOP off
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
\set ON_ERROR_STOP on
\echo '--> the COPY failed with SQLSTATE' :LAST_ERROR_SQLSTATE '- the demo goes on. Did any of its rows land?'
SELECT :rows_before AS rows_before,
       (SELECT count(*) FROM features) AS rows_after,
       (SELECT count(*) FROM features WHERE event_time::date = '2024-06-03') AS batch_3_rows_in_features,
       (SELECT count(*) FROM vigil.quarantine WHERE row_data->>'event_time' LIKE '2024-06-03%') AS batch_3_rows_in_quarantine;

\echo
\echo '=== Batch 4/10 (2024-06-04): model v2 rollout emits uplift-adjusted scores in (1, 2) for ~2% of rows -> QUARANTINE.'
SELECT pipeline.extract(4, $$UPDATE pipeline.staging SET score = round((1.05 + random() * 0.9)::numeric, 4)
                              WHERE random() < 0.02$$) AS csv \gset
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
SELECT * FROM pipeline.caught();

\echo
\echo '=== Batch 5/10 (2024-06-05): income = total / months with months = 0 -> NaN and +/-Infinity in ~1% of rows -> QUARANTINE.'
SELECT pipeline.extract(5, $$UPDATE pipeline.staging
                                SET income = (ARRAY['NaN', 'Infinity', '-Infinity', 'NaN']::float8[])[1 + floor(random() * 4)::int]
                              WHERE random() < 0.01$$) AS csv \gset
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
SELECT * FROM pipeline.caught();

\echo
\echo '=== Batch 6/10 (2024-06-06): clean.'
SELECT pipeline.extract(6) AS csv \gset
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
SELECT * FROM pipeline.caught();

\echo
\echo '=== Batch 7/10 (2024-06-07): launch in Mexico before the contract knew it, plus some lower-case and XX codes -> WARN (rows kept).'
SELECT pipeline.extract(7, $$UPDATE pipeline.staging
                                SET country = (ARRAY['MX', 'MX', 'MX', 'us', 'XX'])[1 + floor(random() * 5)::int]
                              WHERE random() < 0.04$$) AS csv \gset
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
SELECT * FROM pipeline.caught();

\echo
\echo '=== Batch 8/10 (2024-06-08): a new CRM export: bot sessions (clicks 5,000+), -1 sentinels -> CLAMP; malformed emails -> SET NULL.'
SELECT pipeline.extract(8, $$
    UPDATE pipeline.staging SET clicks = 5000 + floor(random() * 20000)::int WHERE random() < 0.01;
    UPDATE pipeline.staging SET clicks = -1 WHERE random() < 0.01;
    UPDATE pipeline.staging
       SET email = (ARRAY['n/a', '', 'user' || entity_id || ' at example.com', 'user' || entity_id || '@@example.com'])[1 + floor(random() * 4)::int]
     WHERE random() < 0.02$$) AS csv \gset
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
SELECT * FROM pipeline.caught();
\echo '--> what landed for batch 8: clicks clipped into [0, 1000], bad emails now NULL'
SELECT min(clicks) AS min_clicks, max(clicks) AS max_clicks,
       count(*) FILTER (WHERE clicks = 1000) AS clicks_at_1000,
       count(*) FILTER (WHERE clicks = 0) AS clicks_at_0,
       count(*) FILTER (WHERE email IS NULL) AS null_emails,
       count(*) FILTER (WHERE email !~ '^[^@]+@[^@]+$') AS malformed_emails_left
  FROM features WHERE event_time::date = '2024-06-08';

\echo
\echo '=== Batch 9/10 (2024-06-09): the device SDK crashed for a third of the day -> device NULL in ~33% of rows -> WARN (mostly => 0.95).'
SELECT pipeline.extract(9, $$UPDATE pipeline.staging SET device = NULL WHERE random() < 0.33$$) AS csv \gset
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
SELECT * FROM pipeline.caught();

\echo
\echo '=== Batch 10/10 (2024-06-10): clean.'
SELECT pipeline.extract(10) AS csv \gset
\set QUIET off
COPY features FROM :'csv' (FORMAT csv, HEADER);
\set QUIET on
SELECT * FROM pipeline.caught();

\echo
\echo '################################################################################'
\echo '# 4. What was caught'
\echo '################################################################################'

\echo
\echo '--- Rows per batch: in the table, in quarantine (batch 3 was rejected as a whole)'
SELECT to_char(d, 'YYYY-MM-DD') AS batch,
       (SELECT count(*) FROM features f WHERE f.event_time::date = d::date) AS in_features,
       (SELECT count(*) FROM vigil.quarantine q
         WHERE q.relid = 'features'::regclass AND (q.row_data->>'event_time')::timestamptz::date = d::date) AS in_quarantine
  FROM generate_series(timestamp '2024-06-01', '2024-06-10', interval '1 day') d
UNION ALL
SELECT 'total', (SELECT count(*) FROM features),
       (SELECT count(*) FROM vigil.quarantine WHERE relid = 'features'::regclass)
ORDER BY 1;

\echo
\echo '--- vigil.violations, per constraint and action (reject leaves no record: its statement is gone)'
SELECT constraint_name, column_name, action,
       count(*) AS statements,
       sum(unexpected_count) AS rows_affected,
       min(detected_at)::timestamp(0) AS first_seen,
       jsonb_path_query_array((array_agg(sample ORDER BY violation_id))[1], '$[0 to 3]') AS sample
  FROM vigil.violations
 WHERE relid = 'features'::regclass
 GROUP BY constraint_name, column_name, action
 ORDER BY min(violation_id);

\echo
\echo '--- A few quarantined rows (the full row is kept as jsonb)'
SELECT quarantine_id, constraint_names, row_data
  FROM (SELECT q.*, row_number() OVER (PARTITION BY constraint_names ORDER BY quarantine_id) AS n
          FROM vigil.quarantine q WHERE relid = 'features'::regclass) q
 WHERE n <= 2
 ORDER BY quarantine_id;

\echo
\echo '--- The table itself is clean where it matters: no out-of-range score, no NaN/Infinity income'
SELECT count(*) FILTER (WHERE score NOT BETWEEN 0 AND 1) AS bad_scores,
       count(*) FILTER (WHERE income IN ('NaN', 'Infinity', '-Infinity')) AS non_finite_incomes,
       count(*) FILTER (WHERE age NOT BETWEEN 0 AND 120) AS bad_ages,
       count(*) FILTER (WHERE clicks NOT BETWEEN 0 AND 1000) AS bad_clicks
  FROM features;

\echo
\echo '--- vigil.validate(''features''): every rule over the whole table, Great Expectations style'
\echo '    (country fails: warn keeps the rows; device passes: under 5% NULL overall, within mostly => 0.95)'
SELECT constraint_name, kind, element_count, missing_count, unexpected_count,
       round(unexpected_percent::numeric, 3) AS unexpected_pct, success,
       jsonb_path_query_array(partial_unexpected_list, '$[0 to 4]') AS partial_unexpected
  FROM vigil.validate('features');

\echo
\echo '--- Drift, day by day, against the table''s own history (vigil.drift): the days whose data'
\echo '    changed stand out; rejected and quarantined rows never reached the statistics.'
SELECT window_start::date AS day,
       max(new_category_fraction) FILTER (WHERE column_name = 'country') AS country_new_categories,
       round(max(ks_statistic) FILTER (WHERE column_name = 'clicks')::numeric, 3) AS clicks_ks,
       round(max(null_fraction_delta) FILTER (WHERE column_name = 'device')::numeric, 3) AS device_null_delta,
       round(max(null_fraction_delta) FILTER (WHERE column_name = 'email')::numeric, 3) AS email_null_delta,
       round(max(ks_statistic) FILTER (WHERE column_name = 'age')::numeric, 3) AS age_ks
  FROM vigil.drift WHERE relid = 'features'::regclass
 GROUP BY 1 ORDER BY 1;

\echo
\echo '################################################################################'
\echo '# 5. Alerts: few, ranked, announced'
\echo '################################################################################'
\echo 'A scheduler (pg_cron, or the launcher) evaluates finished windows; a consumer LISTENs on'
\echo 'vigil_alerts and hears about each new alert once (psql prints the notifications below).'
LISTEN vigil_alerts;
\set QUIET off
SELECT cardinality(vigil.evaluate('features')) AS alerts_opened;
\set QUIET on
\echo
\echo '--- vigil.alerts: one row per alert, most severe first, the responsible columns named'
SELECT alert_id, window_start::date AS day, severity, round(score::numeric, 1) AS score, columns, summary
  FROM vigil.alerts WHERE relid = 'features'::regclass;
\echo
\echo '--- vigil.window_status for June: the day the device SDK crashed stands out'
SELECT window_start::date AS day, row_count, status, round(score::numeric, 2) AS score, top_columns
  FROM vigil.window_status WHERE relid = 'features'::regclass AND window_start >= '2024-06-01' ORDER BY 1;
\echo
\echo '--- The training gate: retrain only on windows whose status is ''ok'' (one join)'
SELECT f.event_time::date AS day, count(*) AS rows_for_training
  FROM features f
  JOIN vigil.window_status s ON s.relid = 'features'::regclass
   AND f.event_time >= s.window_start AND f.event_time < s.window_end AND s.status = 'ok'
 WHERE f.event_time >= '2024-06-01'
 GROUP BY 1 ORDER BY 1;

\echo
\echo '################################################################################'
\echo '# 6. A starting contract for a new table: vigil.suggest'
\echo '################################################################################'
\echo 'A new feature table arrives with a day of data and no contract. vigil.suggest proposes one'
\echo 'from the rows (each suggestion with the statement to paste into a migration):'
CREATE TABLE features_eu (LIKE features);
INSERT INTO features_eu SELECT * FROM features WHERE event_time::date = '2024-06-10';
SELECT column_name, kind, reason, statement FROM vigil.suggest('features_eu');

\echo
\echo '################################################################################'
\echo '# 7. Fix and release'
\echo '################################################################################'
\echo 'The model owners confirm: model v2 scores are uplift-adjusted and legitimately reach 2.'
\echo 'Widen the score contract, then release the quarantine. Every row is checked again on the way'
\echo 'back: score rows now pass; NaN/Infinity incomes still fail and stay in quarantine.'
\echo
\set ECHO queries
SELECT vigil.drop_constraint('features', 'features_score_between');
SELECT vigil.expect_between('features', 'score', 0, 2, on_violation => 'quarantine');
SELECT vigil.release_quarantine('features') AS released;
\set ECHO none

\echo
\echo '--- Still in quarantine'
SELECT constraint_names, count(*) AS rows_left,
       jsonb_agg(DISTINCT row_data->'income') AS incomes
  FROM vigil.quarantine WHERE relid = 'features'::regclass
 GROUP BY constraint_names;

\echo
\echo '--- Final row counts'
SELECT (SELECT count(*) FROM features) AS in_features,
       (SELECT count(*) FROM features WHERE score > 1) AS released_v2_scores,
       (SELECT count(*) FROM vigil.quarantine WHERE relid = 'features'::regclass) AS in_quarantine;

\echo
\echo '################################################################################'
\echo '# 8. The report: one HTML page (vigil.report), written to' :'report_file'
\echo '################################################################################'
\pset format unaligned
\pset tuples_only on
\o :report_file
SELECT vigil.report('features');
\o
\pset format aligned
\pset tuples_only off
