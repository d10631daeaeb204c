-- Statistics: vigil.watch records per-window column profiles on every write, in the writer's
-- transaction; vigil.column_stats merges them on read.

-- Windows are aligned on UTC (daily windows start at UTC midnight); show times in UTC.
SET timezone = 'UTC';

-- s_written shadows every row version the tests write, for the exactness oracle below.
CREATE TABLE s_ev (ts timestamptz, cat text, x float8, n int, flag boolean, d date);
CREATE TABLE s_written (LIKE s_ev);
SELECT vigil.watch('s_ev', time_column => 'ts');
SELECT column_name FROM vigil.column_stats WHERE relid = 's_ev'::regclass;  -- nothing written yet

-- three days of hourly rows, n NULL every 10th
INSERT INTO s_ev SELECT timestamptz '2024-01-01' + g * interval '1 hour', (ARRAY['a','b','c'])[1 + g % 3],
                        g * 1.5, CASE WHEN g % 10 <> 0 THEN g END, g % 2 = 0, NULL
                   FROM generate_series(0, 71) g;
INSERT INTO s_written SELECT * FROM s_ev;
-- a row without a time goes to the NULL-time bucket, never lost; so does one at ±infinity
INSERT INTO s_ev VALUES (NULL, 'a', 7, 7, true, NULL);
INSERT INTO s_written VALUES (NULL, 'a', 7, 7, true, NULL);
INSERT INTO s_ev VALUES ('infinity', 'a', 7, 7, true, NULL);
INSERT INTO s_written VALUES (NULL, 'a', 7, 7, true, NULL);
-- COPY is a write like any other
COPY s_ev FROM stdin (FORMAT csv);
2024-01-02 05:30:00+00,b,1000,1000,false,
2024-01-02 06:30:00+00,,,,,
\.
INSERT INTO s_written VALUES ('2024-01-02 05:30:00+00', 'b', 1000, 1000, false, NULL),
                             ('2024-01-02 06:30:00+00', NULL, NULL, NULL, NULL, NULL);
-- rolled back: no statistics
BEGIN;
INSERT INTO s_ev VALUES ('2024-01-01 01:00', 'zzz', -1e9, -1, false, NULL);
ROLLBACK;
BEGIN;
INSERT INTO s_ev VALUES ('2024-01-03 01:00', 'kept', 3, 3, false, NULL);
SAVEPOINT sp;
INSERT INTO s_ev VALUES ('2024-01-03 02:00', 'undone', 1e9, 1, false, NULL);
ROLLBACK TO SAVEPOINT sp;
COMMIT;
INSERT INTO s_written VALUES ('2024-01-03 01:00', 'kept', 3, 3, false, NULL);
-- an UPDATE profiles the new row versions as writes
UPDATE s_ev SET x = x + 0.25 WHERE cat = 'c' AND ts < '2024-01-01 06:00';
INSERT INTO s_written SELECT * FROM s_ev WHERE cat = 'c' AND ts < '2024-01-01 06:00';

-- Oracle: counts, NULLs, min, max, mean and stddev equal SQL aggregates over the row versions
-- written, window by window (float sums agree to 1e-9).
WITH sql AS (
    SELECT date_trunc('day', ts) AS w, count(*) AS row_count, count(*) - count(x) AS nulls,
           min(x) AS min, max(x) AS max, avg(x) AS mean, stddev(x) AS stddev
      FROM s_written GROUP BY 1
), stats AS (
    SELECT window_start AS w, row_count, null_count, min, max, mean, stddev
      FROM vigil.column_stats WHERE relid = 's_ev'::regclass AND column_name = 'x'
)
SELECT sql.w, stats.row_count = sql.row_count AS rows_ok, stats.null_count = sql.nulls AS nulls_ok,
       stats.min = sql.min AND stats.max = sql.max AS min_max_ok,
       abs(stats.mean - sql.mean) <= 1e-9 * greatest(abs(sql.mean), 1) AS mean_ok,
       (sql.stddev IS NULL AND stats.stddev IS NULL) OR abs(stats.stddev - sql.stddev) <= 1e-9 * greatest(sql.stddev, 1) AS stddev_ok
  FROM sql FULL JOIN stats ON coalesce(stats.w, 'infinity') = coalesce(sql.w, 'infinity')
 ORDER BY sql.w NULLS LAST;

-- the integer column and the categorical ones
SELECT window_start, row_count, null_count, null_fraction, min, max FROM vigil.column_stats
 WHERE relid = 's_ev'::regclass AND column_name = 'n' ORDER BY window_start NULLS LAST;
SELECT window_start, row_count, null_count, round(distinct_estimate) AS distinct_values, top_values
  FROM vigil.column_stats WHERE relid = 's_ev'::regclass AND column_name = 'cat' ORDER BY window_start NULLS LAST;
SELECT window_start, top_values FROM vigil.column_stats
 WHERE relid = 's_ev'::regclass AND column_name = 'flag' AND window_start = '2024-01-01 00:00+00';
-- the date column is not watched by default (not a profiled type); windows are a day wide
SELECT DISTINCT column_name, window_end - window_start AS width FROM vigil.column_stats
 WHERE relid = 's_ev'::regclass AND window_start IS NOT NULL ORDER BY 1;
-- quantiles are within the sketch's 1% rank error: x in window 1 is 0, 1.5, …, 34.5 (+0.25 for some)
SELECT p01 <= p05 AND p05 <= p25 AND p25 <= p50 AND p50 <= p75 AND p75 <= p95 AND p95 <= p99 AS ordered,
       p50 BETWEEN 15 AND 19 AS median_ok
  FROM vigil.column_stats WHERE relid = 's_ev'::regclass AND column_name = 'x' AND window_start = '2024-01-01';

-- TRUNCATE starts a new epoch: old statistics stop counting
TRUNCATE s_ev;
SELECT count(*) AS stats_after_truncate FROM vigil.column_stats WHERE relid = 's_ev'::regclass;
INSERT INTO s_ev VALUES ('2024-02-01', 'q', 5, 5, false, NULL);
SELECT column_name, window_start, row_count FROM vigil.column_stats WHERE relid = 's_ev'::regclass ORDER BY 1;

-- Without a time column, rows go to the window of the time they were written.
CREATE TABLE s_now (v float8, label varchar(10));
SELECT vigil.watch('s_now', window_size => '1 hour', columns => ARRAY['v']);
INSERT INTO s_now SELECT g, 'x' FROM generate_series(1, 10) g;
SELECT column_name, row_count, window_start = date_trunc('hour', statement_timestamp()) AS this_hour,
       window_end - window_start AS width
  FROM vigil.column_stats WHERE relid = 's_now'::regclass;

-- One statement spanning many windows, in shuffled time order: windows are written out in
-- groups to bound memory, and their deltas merge back on read.
CREATE TABLE s_many (ts timestamptz, v int);
SELECT vigil.watch('s_many', time_column => 'ts', window_size => '1 hour');
INSERT INTO s_many SELECT timestamptz '2024-03-01' + (g % 100) * interval '1 hour', g
                     FROM generate_series(1, 200) g ORDER BY md5(g::text);
SELECT count(*) AS windows, min(row_count) AS min_rows, max(row_count) AS max_rows, sum(row_count) AS total
  FROM vigil.column_stats WHERE relid = 's_many'::regclass;
SELECT count(*) > 100 AS written_in_groups FROM vigil.profile_delta WHERE relid = 's_many'::regclass;

-- Partitioned tables: watch the parent; writes through it and straight into a partition count.
CREATE TABLE s_parted (day date, v int) PARTITION BY RANGE (day);
CREATE TABLE s_parted_1 PARTITION OF s_parted FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
SELECT vigil.watch('s_parted', time_column => 'day', window_size => '7 days');
INSERT INTO s_parted SELECT '2024-01-01'::date + g, g FROM generate_series(0, 13) g;
INSERT INTO s_parted_1 VALUES ('2024-01-02', 100);
SELECT window_start, row_count, max FROM vigil.column_stats WHERE relid = 's_parted'::regclass ORDER BY 1;
-- Renaming the watched and the time column (recursing to the partition): statistics go on
-- under the new names, history included, and rows still fall in the windows of their time.
ALTER TABLE s_parted RENAME COLUMN v TO value;
ALTER TABLE s_parted RENAME COLUMN day TO d;
SELECT time_column, columns FROM vigil.watch_def WHERE relid = 's_parted'::regclass;
INSERT INTO s_parted VALUES ('2024-01-03', 200);
SELECT column_name, window_start, row_count, max FROM vigil.column_stats WHERE relid = 's_parted'::regclass ORDER BY 2;

-- Compaction merges each window's deltas into one row and changes no statistic.
CREATE TABLE s_cmp (ts timestamptz, v float8, c text);
SELECT vigil.watch('s_cmp', time_column => 'ts');
DO $$ BEGIN
  FOR i IN 1..10 LOOP
    INSERT INTO s_cmp SELECT timestamptz '2024-04-01' + (g % 2) * interval '1 day', g * i, 'c' || (g % 7)
                        FROM generate_series(1, 50) g;
  END LOOP;
END $$;
SELECT count(*) AS deltas_before FROM vigil.profile_delta WHERE relid = 's_cmp'::regclass;
CREATE TEMP TABLE s_before AS SELECT * FROM vigil.column_stats WHERE relid = 's_cmp'::regclass;
SELECT vigil.compact('s_cmp') AS merged_away;
SELECT count(*) AS deltas_after FROM vigil.profile_delta WHERE relid = 's_cmp'::regclass;
SELECT count(*) AS windows_compared,
       bool_and(a.row_count = b.row_count AND a.null_count = b.null_count AND a.min IS NOT DISTINCT FROM b.min
                AND a.max IS NOT DISTINCT FROM b.max AND a.distinct_estimate = b.distinct_estimate
                AND (a.mean IS NULL OR abs(a.mean - b.mean) <= 1e-12 * abs(b.mean))
                AND a.top_values IS NOT DISTINCT FROM b.top_values) AS unchanged
  FROM vigil.column_stats a JOIN s_before b USING (column_name, window_start)
 WHERE a.relid = 's_cmp'::regclass;
SELECT vigil.compact('s_cmp') AS nothing_left_to_merge;
-- Writers compact what they write, every 32 delta rows: 200 single-row transactions leave few.
CREATE TABLE s_auto (ts timestamptz, v int);
SELECT vigil.watch('s_auto', time_column => 'ts');
DO $$ BEGIN
  FOR i IN 1..200 LOOP
    INSERT INTO s_auto VALUES ('2024-05-01', i);
    COMMIT;
  END LOOP;
END $$;
SELECT count(*) < 64 AS deltas_bounded FROM vigil.profile_delta WHERE relid = 's_auto'::regclass;
SELECT row_count, min, max FROM vigil.column_stats WHERE relid = 's_auto'::regclass;
-- Single-row deltas are written unindexed, and merged into the indexed partition as they come.
SELECT count(*) FILTER (WHERE NOT indexed) BETWEEN 1 AND 31 AS few_unindexed,
       count(*) FILTER (WHERE indexed) >= 1 AS merged_indexed,
       sum(row_count) AS rows_profiled
  FROM vigil.profile_delta WHERE relid = 's_auto'::regclass;
-- One transaction of many small statements writes one delta per window, when it commits (a
-- rolled-back savepoint's rows are not in it); its own reads see its rows before that.
CREATE TABLE s_one_tx (ts timestamptz, v int);
SELECT vigil.watch('s_one_tx', time_column => 'ts');
BEGIN;
DO $$ BEGIN
  FOR i IN 1..200 LOOP
    INSERT INTO s_one_tx VALUES ('2024-05-01', i);
  END LOOP;
END $$;
SAVEPOINT s;
INSERT INTO s_one_tx VALUES ('2024-05-01', 1000), ('2024-05-02', 1000);
ROLLBACK TO SAVEPOINT s;
INSERT INTO s_one_tx VALUES ('2024-05-02', 201);
SELECT window_start, row_count, max FROM vigil.column_stats WHERE relid = 's_one_tx'::regclass ORDER BY 1;
INSERT INTO s_one_tx VALUES ('2024-05-02', 202);
COMMIT;
SELECT window_start, count(*) AS deltas, sum(row_count) AS rows_profiled
  FROM vigil.profile_delta WHERE relid = 's_one_tx'::regclass GROUP BY 1 ORDER BY 1;
SELECT window_start, row_count, max FROM vigil.column_stats WHERE relid = 's_one_tx'::regclass ORDER BY 1;

-- Backfill profiles the rows already there, in a new epoch that holds exactly them.
CREATE TABLE s_old (day date, v float8, tag text);
INSERT INTO s_old SELECT '2024-06-01'::date + (g % 3), g, 't' || (g % 4) FROM generate_series(1, 3000) g;
SELECT vigil.watch('s_old', time_column => 'day');
INSERT INTO s_old VALUES ('2024-06-01', -1, 'late');   -- profiled by the write path
SELECT vigil.backfill('s_old') AS rows_profiled;
SELECT s.window_start::date AS day, s.row_count = q.n AND s.min = q.min AND s.max = q.max
       AND abs(s.mean - q.mean) <= 1e-9 * abs(q.mean) AS matches_the_table
  FROM vigil.column_stats s
  JOIN (SELECT day, count(*) AS n, min(v) AS min, max(v) AS max, avg(v) AS mean FROM s_old GROUP BY day) q
    ON s.window_start = q.day::timestamptz
 WHERE s.relid = 's_old'::regclass AND s.column_name = 'v' ORDER BY 1;
-- Backfill is one vigil.profile aggregate query; in a parallel plan (forced here) the workers'
-- profiles are serialized and combined, with the same result.
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT vigil.backfill('s_old') AS rows_profiled_in_parallel;
SELECT s.window_start::date AS day, s.row_count = q.n AND s.min = q.min AND s.max = q.max
       AND abs(s.mean - q.mean) <= 1e-9 * abs(q.mean) AND abs(s.stddev - q.sd) <= 1e-9 * q.sd AS matches_the_table
  FROM vigil.column_stats s
  JOIN (SELECT day, count(*) AS n, min(v) AS min, max(v) AS max, avg(v) AS mean, stddev(v) AS sd FROM s_old GROUP BY day) q
    ON s.window_start = q.day::timestamptz
 WHERE s.relid = 's_old'::regclass AND s.column_name = 'v' ORDER BY 1;
SELECT count(*) = 3001 AS one_profile_per_parallel_aggregate
  FROM (SELECT vigil.profile(v) AS numbers, vigil.profile(tag) AS labels FROM s_old) p, s_old
 WHERE p.numbers IS NOT NULL AND p.labels IS NOT NULL;
-- The statistics object backfill creates for the planner is gone again.
SELECT count(*) AS leftover_statistics_objects FROM pg_catalog.pg_statistic_ext WHERE stxname LIKE 'vigil_backfill_%';
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT try($$SELECT vigil.backfill('s_written')$$) AS backfill_unwatched;

-- Bad input changes nothing.
SELECT try($$SELECT vigil.watch('s_ev')$$) AS already_watched;
SELECT try($$SELECT vigil.watch('s_nope')$$) AS unknown_table;
SELECT try($$SELECT vigil.watch('s_written', columns => ARRAY['nope'])$$) AS unknown_column;
SELECT try($$SELECT vigil.watch('s_written', columns => ARRAY['d'])$$) AS not_profilable;
SELECT try($$SELECT vigil.watch('s_written', time_column => 'cat')$$) AS time_not_a_time;
SELECT try($$SELECT vigil.watch('s_written', window_size => '0 hours')$$) AS zero_window;
SELECT try($$SELECT vigil.watch('s_written', window_size => '-1 day')$$) AS negative_window;
SELECT try($$SELECT vigil.watch('s_written', window_size => '1 month')$$) AS month_window;
SELECT try($$SELECT vigil.watch('s_written', window_size => NULL)$$) AS null_window;
SELECT try($$SELECT vigil.watch('s_parted_1')$$) AS a_partition;
SELECT count(*) AS s_written_watched FROM vigil.watch_def WHERE relid = 's_written'::regclass;

-- Only the owner may watch; only readers of the table see its statistics.
CREATE ROLE s_other;
GRANT USAGE ON SCHEMA public TO s_other;
SET ROLE s_other;
SELECT try($$SELECT vigil.watch('s_written')$$) AS not_owner;
SELECT try($$SELECT vigil.compact('s_ev')$$) AS compact_not_owner;
SELECT vigil.compact() AS compact_own_tables;
SELECT count(*) AS visible_without_select FROM vigil.column_stats WHERE relid = 's_ev'::regclass;
SELECT try($$SELECT * FROM vigil.profile_delta$$) AS read_deltas;
RESET ROLE;
GRANT SELECT ON s_ev TO s_other;
SET ROLE s_other;
SELECT count(*) AS visible_with_select FROM vigil.column_stats WHERE relid = 's_ev'::regclass;
RESET ROLE;
REVOKE ALL ON s_ev FROM s_other;
REVOKE ALL ON SCHEMA public FROM s_other;
DROP ROLE s_other;

-- unwatch drops the statistics and the triggers that only served them
SELECT vigil.unwatch('s_now');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 's_now'::regclass;
SELECT vigil.unwatch('s_now') AS second_unwatch;
-- dropping a watched table drops its statistics
DROP TABLE s_ev;
SELECT count(*) AS stats_of_dropped FROM vigil.profile_delta d
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.relid);

-- A session that ends leaves its unmerged single-row deltas; the next session to write the
-- table merges them with its first write. Nothing is lost on the way.
CREATE TABLE s_orphans (ts timestamptz, v int);
SELECT vigil.watch('s_orphans', time_column => 'ts');
\c
SET timezone = 'UTC';
DO $$ BEGIN
  FOR i IN 1..5 LOOP
    INSERT INTO s_orphans VALUES ('2024-05-01', i);
    COMMIT;
  END LOOP;
END $$;
SELECT count(*) FILTER (WHERE NOT indexed) AS left_unindexed FROM vigil.profile_delta WHERE relid = 's_orphans'::regclass;
\c
SET timezone = 'UTC';
INSERT INTO s_orphans VALUES ('2024-05-01', 6);
SELECT count(*) FILTER (WHERE NOT indexed) AS unindexed_after_next_session,
       count(*) AS deltas, sum(row_count) AS rows_profiled
  FROM vigil.profile_delta WHERE relid = 's_orphans'::regclass;
SELECT row_count, min, max FROM vigil.column_stats WHERE relid = 's_orphans'::regclass;
-- A writer that moves on to a new window merges the unindexed deltas it left in the others.
INSERT INTO s_orphans VALUES ('2024-05-01', 7);
INSERT INTO s_orphans VALUES ('2024-05-01', 8);
SELECT count(*) FILTER (WHERE NOT indexed) AS unindexed_in_window FROM vigil.profile_delta
 WHERE relid = 's_orphans'::regclass AND window_start = '2024-05-01';
INSERT INTO s_orphans VALUES ('2024-05-02', 9);
SELECT window_start, count(*) FILTER (WHERE NOT indexed) AS unindexed, sum(row_count) AS rows_profiled
  FROM vigil.profile_delta WHERE relid = 's_orphans'::regclass GROUP BY 1 ORDER BY 1;
