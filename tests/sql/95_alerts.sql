-- Alerts on real data: a year of hourly weather at the three New York airports (weather.csv),
-- loaded into a watched table with daily windows, with ten pipeline bugs injected on ten days.
-- Natural weather (storms, seasons, gaps) is left as it is: pg_vigil must alert on the bugs and
-- stay quiet on the weather, with no threshold set by anyone.
SET timezone = 'UTC';
SET client_min_messages = warning;
CREATE TABLE a_raw (origin text, year int, month int, day int, hour int, temp float8, dewp float8,
                    humid float8, wind_dir float8, wind_speed float8, wind_gust float8, precip float8,
                    pressure float8, visib float8, time_hour timestamptz);
\copy a_raw FROM 'tests/data/weather.csv' (FORMAT csv, HEADER, NULL 'NA')
SELECT count(*) AS weather_rows FROM a_raw;

CREATE TABLE a_bug (day date PRIMARY KEY, bug text NOT NULL);
INSERT INTO a_bug VALUES
    ('2013-02-20', 'null spike in humid'),
    ('2013-03-15', 'temp in Celsius'),
    ('2013-04-20', 'temp and humid swapped'),
    ('2013-05-25', 'load duplicated'),
    ('2013-06-30', 'load truncated to the night hours'),
    ('2013-08-04', 'wind_speed frozen'),
    ('2013-09-08', 'pressure sentinel -999'),
    ('2013-10-13', 'origin relabelled'),
    ('2013-11-17', 'precip in millimetres'),
    ('2013-12-22', 'visib missing');

CREATE TABLE a_weather (time_hour timestamptz, origin text, temp float8, dewp float8, humid float8,
                        wind_dir float8, wind_speed float8, precip float8, pressure float8, visib float8);
SELECT vigil.watch('a_weather', time_column => 'time_hour');
-- One load per day, as a pipeline would write it, with that day's bug if it has one.
DO $$
DECLARE d date;
BEGIN
    FOR d IN SELECT DISTINCT time_hour::date FROM a_raw ORDER BY 1 LOOP
        INSERT INTO a_weather
        SELECT r.time_hour,
               CASE WHEN d = '2013-10-13' THEN lower(r.origin) ELSE r.origin END,
               CASE WHEN d = '2013-03-15' THEN (r.temp - 32) * 5 / 9 WHEN d = '2013-04-20' THEN r.humid ELSE r.temp END,
               r.dewp,
               CASE WHEN d = '2013-02-20' AND r.hour % 5 <> 0 THEN NULL WHEN d = '2013-04-20' THEN r.temp ELSE r.humid END,
               r.wind_dir,
               CASE WHEN d = '2013-08-04' THEN 9.2 ELSE r.wind_speed END,
               CASE WHEN d = '2013-11-17' THEN r.precip * 25.4 ELSE r.precip END,
               CASE WHEN d = '2013-09-08' AND r.hour % 3 = 0 THEN -999 ELSE r.pressure END,
               CASE WHEN d = '2013-12-22' THEN NULL ELSE r.visib END
          FROM a_raw r, generate_series(1, CASE WHEN d = '2013-05-25' THEN 2 ELSE 1 END)
         WHERE r.time_hour::date = d AND (d <> '2013-06-30' OR r.hour < 8)
         ORDER BY r.time_hour;
    END LOOP;
END $$;

-- Until there is enough history a window is 'learning'.
SELECT status, count(*) FROM vigil.window_status WHERE relid = 'a_weather'::regclass GROUP BY 1 ORDER BY 1;
SELECT min(window_start)::date AS first_scored FROM vigil.window_status
 WHERE relid = 'a_weather'::regclass AND status <> 'learning';

-- Each bug day names the column it broke first (the volume bugs: the row count); whether it
-- alerts is counted below.
SELECT b.day, b.bug, s.top_columns[1] AS most_responsible
  FROM a_bug b LEFT JOIN vigil.window_status s ON s.relid = 'a_weather'::regclass AND s.window_start = b.day
 ORDER BY b.day;
-- Few alerts in a year: at least 8 of the 10 bugs (temp swapped with humid in April and a
-- November day's rain in millimetres stay within what each column does by nature: telling them
-- needs the relations between columns, which are not scored yet), and no more than 30 alerting
-- days
-- in all (storms and fog are real events too, though once a kind of excursion has precedents it
-- stops alerting; 2013-02-12 holds the data set's own bogus 1048 mph wind; partial loads alert too:
-- on 2013-10-26 and 2013-11-03 five hours are missing at all airports).
SELECT count(*) FILTER (WHERE b.day IS NOT NULL) >= 8 AS most_bugs_alerted,
       count(*) <= 30 AS few_alerting_days
  FROM vigil.window_status s LEFT JOIN a_bug b ON b.day = s.window_start
 WHERE s.relid = 'a_weather'::regclass AND s.status = 'alert';
-- What a validator with a threshold per feature would flag on the same data (drift from the
-- history above 0.1 in JS distance or L-infinity, or NULL fraction moved by 0.05): nearly every
-- day, so its alerts get muted.
SELECT count(*) >= 300 AS threshold_validator_flags_most_days, count(b.day) AS bug_days_among_them
  FROM (SELECT d.window_start FROM vigil.drift d
         WHERE d.relid = 'a_weather'::regclass AND d.compared_to <> 'none'
         GROUP BY 1
        HAVING bool_or(coalesce(d.js_distance, 0) > 0.1 OR coalesce(d.linf, 0) > 0.1
                       OR abs(coalesce(d.null_fraction_delta, 0)) > 0.05)) f
  LEFT JOIN a_bug b ON b.day = f.window_start;

-- vigil.drift carries each column's score: the relabelled column stands out on its day only.
SELECT window_start::date AS day, score > 1 AS stands_out FROM vigil.drift
 WHERE relid = 'a_weather'::regclass AND column_name = 'origin' AND window_start BETWEEN '2013-10-12' AND '2013-10-14'
 ORDER BY 1;

-- What each window is scored on (vigil._window_observations): per column its statistics
-- (numbers with their precision, categories with their shares), the row count, and where the
-- rows' times fall in the window.
SELECT column_name, string_agg(DISTINCT statistic, ', ' ORDER BY statistic) AS statistics
  FROM vigil._window_observations('a_weather'::regclass)
 WHERE window_start = '2013-06-30' AND column_name IN ('temp', 'origin', '(time in window)', '(row count)')
 GROUP BY 1 ORDER BY 1;

-- Drift as a constraint, judged per finished window when windows are evaluated: the learned
-- score, or a metric against a threshold.
SELECT vigil.expect_no_drift('a_weather', 'origin');
SELECT vigil.expect_no_drift('a_weather', 'pressure', metric => 'wasserstein_norm', threshold => 5);
SELECT try($$SELECT vigil.expect_no_drift('a_weather', 'temp', metric => 'nope')$$) AS unknown_metric;
SELECT try($$SELECT vigil.expect_no_drift('a_weather', 'temp', threshold => 0.1)$$) AS threshold_without_metric;
SELECT try($$SELECT vigil.expect_no_drift('a_weather', 'temp', on_violation => 'reject')$$) AS reject_drift;
SELECT try($$SELECT vigil.expect_no_drift('a_raw', 'temp')$$) AS not_watched;
-- On a watched table, 'warn' batch-level constraints are judged per finished window.
SELECT vigil.expect_completeness('a_weather', 'humid', 0.9, on_violation => 'warn');
SELECT vigil.expect_row_count_between('a_weather', 60, 100, on_violation => 'warn');

-- Alerts: evaluating the finished windows opens one alert per incident, ranked by score.
-- Alerting windows that share a column with an open alert join it (one incident) instead of
-- opening another.
SELECT cardinality(vigil.evaluate('a_weather')) BETWEEN 5 AND 40 AS alerts_opened;
SELECT count(*) <= (SELECT count(*) FROM vigil.window_status WHERE relid = 'a_weather'::regclass AND status = 'alert') AS grouped,
       bool_and(state = 'open') AS all_open, bool_and(last_window >= window_start) AS spans_ok
  FROM vigil.alerts WHERE relid = 'a_weather'::regclass;
-- Ranked by score; each names its columns and says what stands out.
SELECT a.columns[1] AS first_column, a.severity, a.summary
  FROM vigil.alerts a WHERE a.relid = 'a_weather'::regclass AND 'origin' = ANY (a.columns);
-- The drift constraints recorded the windows they caught.
SELECT constraint_name, (sample->0->>'window_start')::date AS day, sample->0->>'metric' AS metric, action
  FROM vigil.violations WHERE relid = 'a_weather'::regclass AND constraint_name = 'a_weather_origin_no_drift';
SELECT bool_or((sample->0->>'window_start')::date = '2013-09-08') AS pressure_sentinel_caught
  FROM vigil.violations WHERE relid = 'a_weather'::regclass AND constraint_name = 'a_weather_pressure_no_drift';
SELECT constraint_name, (sample->0->>'window_start')::date AS day, sample->0->'observed_value' AS observed, batch_rows
  FROM vigil.violations WHERE relid = 'a_weather'::regclass AND constraint_name IN ('a_weather_humid_completeness', 'a_weather_row_count_between')
 ORDER BY 2, 1;
SELECT constraint_name, success, unexpected_count > 0 AS drifting_windows FROM vigil.validate('a_weather')
 WHERE kind = 'no_drift' ORDER BY 1;
-- Evaluating again opens nothing: every finished window was evaluated once.
SELECT cardinality(vigil.evaluate('a_weather')) AS alerts_opened_again;
-- Acknowledge, resolve; bad ids and repeated transitions change nothing.
SELECT vigil.acknowledge(min(alert_id)) AS acknowledged FROM vigil.alerts WHERE relid = 'a_weather'::regclass;
SELECT vigil.resolve(min(alert_id)) AS resolved FROM vigil.alerts WHERE relid = 'a_weather'::regclass;
SELECT try(format('SELECT vigil.resolve(%s)', min(alert_id))) AS resolved_again FROM vigil.alerts WHERE relid = 'a_weather'::regclass;
SELECT try(format('SELECT vigil.acknowledge(%s)', min(alert_id))) AS acknowledge_resolved FROM vigil.alerts WHERE relid = 'a_weather'::regclass;
SELECT vigil.acknowledge(max(alert_id)) AS acknowledged, vigil.acknowledge(max(alert_id)) AS acknowledged_twice
  FROM vigil.alerts WHERE relid = 'a_weather'::regclass;
-- The training gate: the windows a pipeline may train on.
SELECT count(*) > 250 AS ok_windows FROM vigil.window_status WHERE relid = 'a_weather'::regclass AND status = 'ok';
SELECT state, count(*) FROM vigil.alerts WHERE relid = 'a_weather'::regclass GROUP BY 1 ORDER BY 1;
SELECT try($$SELECT vigil.resolve(-1)$$) AS unknown_alert;
SELECT try($$SELECT vigil.acknowledge(NULL)$$) AS null_alert;
SELECT try($$SELECT vigil.evaluate('a_raw')$$) AS not_watched;

-- Alerts and window status are visible only to roles that may read the table.
CREATE ROLE a_reader;
SET ROLE a_reader;
SELECT count(*) AS alerts_seen, (SELECT count(*) FROM vigil.window_status) AS windows_seen FROM vigil.alerts;
SELECT try($$SELECT vigil.resolve(1)$$) AS resolve_without_owning;
RESET ROLE;
DROP ROLE a_reader;

-- Evaluation keeps a memo of each window it scores (its drift, statistics and raw scores; the
-- newest also the reference the next window is compared with), so that scoring a new window
-- does not merge and compare the whole history again. Reading through memos agrees with
-- scoring from scratch (up to the sketches' randomness: KLL sketches merged into a year of
-- history differ a little from one merge to the next, and drift over bins cut from them with
-- them; memos keep what a window scored when it was evaluated), and memos stop counting once
-- the history under them changes.
CREATE TABLE a_memo (LIKE a_weather);
SELECT vigil.watch('a_memo', time_column => 'time_hour') > 0 AS watched;
INSERT INTO a_memo SELECT * FROM a_weather WHERE time_hour < '2013-12-01';
SELECT cardinality(vigil.evaluate('a_memo')) > 0 AS alerts_opened;
SELECT count(*) AS memos, count(reference) AS references_kept, max(window_start)::date AS newest
  FROM vigil.window_memo WHERE relid = 'a_memo'::regclass;
-- December arrives: its windows are compared now, after the memos of the eleven months before.
INSERT INTO a_memo SELECT * FROM a_weather WHERE time_hour >= '2013-12-01';
CREATE TEMP VIEW a_memo_status AS
SELECT window_start, row_count, status, score, top_columns FROM vigil.window_status WHERE relid = 'a_memo'::regclass;
CREATE TEMP TABLE a_through_memos AS SELECT * FROM a_memo_status;
CREATE TEMP TABLE a_drift_through_memos AS
SELECT window_start, column_name, js_distance, ks_statistic FROM vigil.drift WHERE relid = 'a_memo'::regclass;
DELETE FROM vigil.window_memo WHERE relid = 'a_memo'::regclass;
SELECT count(*) AS windows, count(*) FILTER (WHERE m.status <> s.status) <= 3 AS statuses_agree,
       count(*) FILTER (WHERE m.status = 'alert' AND m.top_columns[1] <> s.top_columns[1]) AS other_top_column,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(m.score - s.score) / greatest(s.score, 0.1)) < 0.05 AS scores_close
  FROM a_through_memos m JOIN a_memo_status s USING (window_start, row_count);
SELECT count(*) AS drift_rows, max(abs(m.js_distance - d.js_distance)) < 0.05 AS js_close,
       max(abs(m.ks_statistic - d.ks_statistic)) < 0.02 AS ks_close
  FROM a_drift_through_memos m
  JOIN vigil.drift d ON d.relid = 'a_memo'::regclass AND d.window_start = m.window_start AND d.column_name = m.column_name;
-- Memos again (evaluation rebuilds them, and opens alerts for December, not evaluated before).
-- Then a broken load arrives late for a June day, and a July day is marked invalid: the memos
-- from June on no longer hold, and both show.
SELECT cardinality(vigil.evaluate('a_memo')) > 0 AS december_alerts_opened;
SELECT count(*) AS memos FROM vigil.window_memo WHERE relid = 'a_memo'::regclass;
SELECT status AS june_1_before FROM a_memo_status WHERE window_start = '2013-06-01';
INSERT INTO a_memo (time_hour, origin, temp) SELECT time_hour, origin, temp FROM a_weather WHERE time_hour::date = '2013-06-01';
SELECT vigil.mark_window('a_memo', '2013-07-04', valid => false)::date AS marked_invalid;
SELECT status AS june_1_after, top_columns[1] AS most_responsible FROM a_memo_status WHERE window_start = '2013-06-01';
SELECT DISTINCT valid AS july_4_valid FROM vigil.drift WHERE relid = 'a_memo'::regclass AND window_start = '2013-07-04';
-- Evaluation replaces the memos from June on (June is evaluated already: no alert opens).
SELECT cardinality(vigil.evaluate('a_memo')) AS alerts_opened_again;
SELECT count(*) AS memos, bool_and(row_count = (SELECT count(*) FROM a_memo WHERE time_hour::date = '2013-06-01')) AS june_memo_current
  FROM vigil.window_memo WHERE relid = 'a_memo'::regclass AND window_start = '2013-06-01';
SELECT count(*) AS memos FROM vigil.window_memo WHERE relid = 'a_memo'::regclass;
-- A new baseline is another reference: the memos go with the old one.
SELECT vigil.set_baseline('a_memo', '2013-01-01', '2013-02-01') AS baseline_windows;
SELECT count(*) AS memos_after_new_baseline FROM vigil.window_memo WHERE relid = 'a_memo'::regclass;
-- Memos are the extension's own: other roles cannot read them.
CREATE ROLE a_writer;
SET ROLE a_writer;
SELECT try($$SELECT count(*) FROM vigil.window_memo$$) AS read_memos;
RESET ROLE;
DROP ROLE a_writer;
SELECT vigil.evaluate('a_memo') IS NOT NULL AS evaluated, vigil.unwatch('a_memo') AS unwatched;
SELECT count(*) AS memos_after_unwatch FROM vigil.window_memo WHERE relid = 'a_memo'::regclass;
