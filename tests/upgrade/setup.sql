-- A database on the previous release with something of everything: constraints of each mode,
-- violations, quarantined rows, a watched table with six weeks of statistics, a marked window,
-- an alert (open and acknowledged).
CREATE EXTENSION pg_vigil VERSION :'old';
CREATE TABLE u_feed (ts timestamptz, sensor text, reading float8, note text);
SELECT vigil.expect_not_null('u_feed', 'note');
SELECT vigil.expect_not_null('u_feed', 'sensor', on_violation => 'warn');
SELECT vigil.expect_between('u_feed', 'reading', 0, 90, on_violation => 'quarantine', name => 'u_feed_reading_quarantine');
SELECT vigil.watch('u_feed', time_column => 'ts', columns => ARRAY['sensor', 'reading']);
DO $$
BEGIN
    FOR d IN 0..41 LOOP
        INSERT INTO u_feed
        SELECT '2024-03-01'::timestamptz + d * interval '1 day' + h * interval '1 hour',
               CASE WHEN d = 20 AND h = 3 THEN NULL ELSE 's' || (h % 3) END,
               CASE WHEN d = 35 THEN 89.5 ELSE 40 + 10 * sin(h) + (d % 5) END,
               'day ' || d
          FROM generate_series(0, 23) h;
    END LOOP;
END $$;
INSERT INTO u_feed VALUES ('2024-04-12 05:00', 's1', 95, 'too high: quarantined');
SELECT vigil.mark_window('u_feed', '2024-03-10', valid => false)::date AS marked;
SELECT cardinality(vigil.evaluate('u_feed')) > 0 AS alerts_opened;
SELECT vigil.acknowledge(min(alert_id)) FROM vigil.alerts WHERE relid = 'u_feed'::regclass;
