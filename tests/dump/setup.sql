-- A database with something of everything, on tables whose attribute numbers change on restore
-- (a column dropped before the constrained and watched ones): constraints of each mode,
-- violations, quarantined and repaired rows, six weeks of statistics, a baseline, a marked
-- window, alerts (one acknowledged), and a partitioned table.
CREATE EXTENSION pg_vigil;
CREATE TABLE d_feed (gone int, ts timestamptz NOT NULL, station text, reading float8, level int, note text);
ALTER TABLE d_feed DROP COLUMN gone;
SELECT vigil.expect_between('d_feed', 'reading', 0, 100);
SELECT vigil.expect_not_null('d_feed', 'station', on_violation => 'quarantine');
SELECT vigil.expect_between('d_feed', 'level', 0, 10, on_violation => 'clamp');
SELECT vigil.expect_not_null('d_feed', 'note', on_violation => 'warn');
SELECT vigil.expect_row_count_between('d_feed', 1, 1000);
SELECT vigil.watch('d_feed', time_column => 'ts', columns => ARRAY['station', 'reading', 'level']);
DO $$
BEGIN
    FOR d IN 0..41 LOOP
        INSERT INTO d_feed
        SELECT '2024-03-01'::timestamptz + d * interval '1 day' + h * interval '1 hour',
               CASE WHEN d = 20 AND h = 3 THEN NULL ELSE 's' || (h % 3) END,
               CASE WHEN d = 35 THEN 99.5 ELSE 40 + 10 * sin(h) + (d % 5) END,
               CASE WHEN d = 12 AND h < 4 THEN 12 ELSE h % 7 END,
               CASE WHEN d = 30 AND h = 1 THEN NULL ELSE 'day ' || d END
          FROM generate_series(0, 23) h;
    END LOOP;
END $$;
SELECT vigil.mark_window('d_feed', '2024-03-10', valid => false)::date AS marked;
SELECT vigil.set_baseline('d_feed', '2024-03-01', '2024-03-29') IS NOT NULL AS baseline_set;
SELECT cardinality(vigil.evaluate('d_feed')) > 0 AS alerts_opened;
SELECT vigil.acknowledge(min(alert_id)) FROM vigil.alerts WHERE relid = 'd_feed'::regclass;

-- A partitioned table: rules and statistics declared on the root cover every partition.
CREATE TABLE d_part (gone text, ts timestamptz NOT NULL, amount numeric, kind text) PARTITION BY RANGE (ts);
ALTER TABLE d_part DROP COLUMN gone;
CREATE TABLE d_part_03 PARTITION OF d_part FOR VALUES FROM ('2024-03-01') TO ('2024-04-01');
CREATE TABLE d_part_04 PARTITION OF d_part FOR VALUES FROM ('2024-04-01') TO ('2024-05-01');
SELECT vigil.expect_between('d_part', 'amount', 0, 1000, on_violation => 'quarantine');
SELECT vigil.expect_in_set('d_part', 'kind', ARRAY['a', 'b', 'c']);
SELECT vigil.watch('d_part', time_column => 'ts');
INSERT INTO d_part
SELECT '2024-03-01'::timestamptz + i * interval '3 hours', CASE WHEN i = 77 THEN 5000 ELSE i % 400 END,
       (ARRAY['a', 'b', 'c'])[1 + i % 3]
  FROM generate_series(0, 399) i;
SELECT cardinality(vigil.evaluate('d_part')) >= 0 AS evaluated;
