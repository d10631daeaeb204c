-- A lasting real change: left alone it alerts on its first two windows and is the new normal
-- from the third; acknowledging its alert makes it normal from the next window at once.
SET timezone = 'UTC';
SET client_min_messages = warning;
SELECT setseed(0.42);
CREATE TABLE k_feed (ts timestamptz, reading float8);
SELECT vigil.watch('k_feed', time_column => 'ts');
-- 60 days of 100 readings around 50; from day 40 on the sensor reads 40 higher (a recalibration).
INSERT INTO k_feed
SELECT timestamptz '2026-01-01' + d * interval '1 day' + i * interval '14 minutes',
       50 + (random() - 0.5) * 10 + CASE WHEN d >= 40 THEN 40 ELSE 0 END
  FROM generate_series(0, 59) d, generate_series(0, 99) i;
SELECT cardinality(vigil.evaluate('k_feed')) AS alerts_opened;
-- Left alone: the change alerts on days 40 and 41, then is normal.
SELECT window_start::date AS day, status FROM vigil.window_status
 WHERE relid = 'k_feed'::regclass AND window_start BETWEEN '2026-02-09' AND '2026-02-13' ORDER BY 1;
-- Acknowledged on its first day: the day after it is normal at once (its own day stays an alert).
SELECT vigil.acknowledge(alert_id) FROM vigil.alerts
 WHERE relid = 'k_feed'::regclass AND window_start = '2026-02-10';
SELECT window_start::date AS day, status FROM vigil.window_status
 WHERE relid = 'k_feed'::regclass AND window_start BETWEEN '2026-02-09' AND '2026-02-13' ORDER BY 1;
-- Evaluating again opens nothing and keeps it so (the windows after the acknowledged one are
-- scored anew).
SELECT vigil.evaluate('k_feed') AS opened_again;
SELECT window_start::date AS day, status FROM vigil.window_status
 WHERE relid = 'k_feed'::regclass AND window_start BETWEEN '2026-02-09' AND '2026-02-13' ORDER BY 1;
SELECT vigil.unwatch('k_feed');
DROP TABLE k_feed;
