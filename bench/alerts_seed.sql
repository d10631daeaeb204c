-- One seed of the alert quality benchmark (psql -v seed=N): inject pipeline bugs into a seeded
-- tenth of the days after a four-week warm-up, load the year day by day into a watched table,
-- and record what each system says of every day.
SET client_min_messages = warning;
SET timezone = 'UTC';
SELECT setseed(:seed / 100.0);
-- The plan: about 10% of the days after the warm-up, each with one bug on columns it affects.
CREATE TEMP TABLE plan AS
WITH days AS (SELECT DISTINCT utc_day AS day FROM a_raw ORDER BY 1),
numbered AS (SELECT day, row_number() OVER (ORDER BY day) AS n FROM days),
chosen AS (SELECT day, random() AS pick, random() AS which, random() AS col FROM numbered WHERE n > 28 ORDER BY day)
SELECT day,
       (ARRAY['null_spike', 'unit_change', 'sentinel', 'swap', 'relabel', 'duplicate', 'truncate', 'frozen', 'shifted_time', 'precision_loss'])[1 + floor(which * 10)::int] AS bug,
       col
  FROM chosen WHERE pick < 0.10;
ALTER TABLE plan ADD COLUMN columns text[];
UPDATE plan SET columns = CASE bug
    WHEN 'null_spike' THEN ARRAY[(ARRAY['origin', 'temp', 'dewp', 'humid', 'wind_dir', 'wind_speed', 'precip', 'pressure', 'visib'])[1 + floor(col * 9)::int]]
    WHEN 'unit_change' THEN ARRAY[(ARRAY['temp', 'dewp', 'humid', 'wind_speed', 'pressure', 'visib'])[1 + floor(col * 6)::int]]
    WHEN 'sentinel' THEN ARRAY[(ARRAY['temp', 'dewp', 'humid', 'wind_dir', 'wind_speed', 'precip', 'pressure', 'visib'])[1 + floor(col * 8)::int]]
    WHEN 'swap' THEN CASE floor(col * 4)::int WHEN 0 THEN ARRAY['temp', 'humid'] WHEN 1 THEN ARRAY['dewp', 'pressure']
                                               WHEN 2 THEN ARRAY['wind_speed', 'wind_dir'] ELSE ARRAY['humid', 'pressure'] END
    WHEN 'relabel' THEN ARRAY['origin']
    WHEN 'frozen' THEN ARRAY[(ARRAY['temp', 'dewp', 'humid', 'wind_speed', 'pressure'])[1 + floor(col * 5)::int]]
    WHEN 'precision_loss' THEN ARRAY[(ARRAY['temp', 'dewp', 'humid', 'pressure'])[1 + floor(col * 4)::int]]
    WHEN 'duplicate' THEN ARRAY['(row count)']
    -- Truncated and shifted loads change which hours of the day are there, and how many rows.
    ELSE ARRAY['(row count)', '(time in window)'] END;
INSERT INTO bug_day SELECT :seed, day, bug, columns FROM plan;
-- Shifted times move rows into the next day too: both days hold corrupted data.
INSERT INTO bug_day SELECT :seed, day + 1, bug, columns FROM plan
 WHERE bug = 'shifted_time' AND day + 1 NOT IN (SELECT day FROM plan);

DROP TABLE IF EXISTS w;
CREATE TABLE w (time_hour timestamptz, origin text, temp float8, dewp float8, humid float8, wind_dir float8,
                wind_speed float8, precip float8, pressure float8, visib float8);
SELECT vigil.watch('w', time_column => 'time_hour') > 0 AS watched;
DO $$
DECLARE d date; p record;
BEGIN
    FOR d IN SELECT DISTINCT utc_day FROM a_raw ORDER BY 1 LOOP
        SELECT * INTO p FROM plan WHERE plan.day = d;
        PERFORM load_day('w', d, p.bug, p.columns);
    END LOOP;
END $$;

-- The days the systems judge: after the warm-up, with data.
CREATE TEMP TABLE judged_days AS
SELECT day FROM (SELECT DISTINCT utc_day AS day FROM a_raw) d
 WHERE day > (SELECT min(utc_day) FROM a_raw) + 28;

INSERT INTO observed_day
SELECT :seed, window_start::date, valid, column_name, spread, statistic, value FROM vigil._window_observations('w'::regclass);

-- pg_vigil, with its defaults: the window status.
INSERT INTO alert_day
SELECT 'pg_vigil', :seed, j.day, coalesce(s.score, 0), coalesce(s.status = 'alert', false), s.top_columns[1]
  FROM judged_days j LEFT JOIN vigil.window_status s ON s.relid = 'w'::regclass AND s.window_start = j.day;

-- A validator with fixed thresholds, TFDV-style: each day against the previous day, numeric
-- columns by Jensen-Shannon distance over ten bins at the previous day's deciles, the
-- categorical one by L-infinity of category shares; alert above 0.1.
CREATE TEMP TABLE day_values AS
SELECT time_hour::date AS day, c.name, c.value
  FROM w, LATERAL (VALUES ('temp', temp), ('dewp', dewp), ('humid', humid), ('wind_dir', wind_dir),
                          ('wind_speed', wind_speed), ('precip', precip), ('pressure', pressure), ('visib', visib)) AS c(name, value)
 WHERE c.value IS NOT NULL;
CREATE TEMP TABLE day_edges AS
SELECT day, name, percentile_cont(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) WITHIN GROUP (ORDER BY value) AS edges
  FROM day_values GROUP BY 1, 2;
CREATE TEMP TABLE numeric_js AS
WITH counts AS (
    SELECT e.day + 1 AS day, e.name, width_bucket(v.value, e.edges) AS bin,
           count(*) FILTER (WHERE v.day = e.day) AS prev_n, count(*) FILTER (WHERE v.day = e.day + 1) AS cur_n
      FROM day_edges e JOIN day_values v ON v.name = e.name AND v.day IN (e.day, e.day + 1)
     GROUP BY 1, 2, 3
), shares AS (
    SELECT day, name, bin,
           prev_n::float8 / nullif(sum(prev_n) OVER (PARTITION BY day, name), 0) AS p,
           cur_n::float8 / nullif(sum(cur_n) OVER (PARTITION BY day, name), 0) AS q
      FROM counts
)
SELECT day, name, js_distance(array_agg(coalesce(p, 0) ORDER BY bin), array_agg(coalesce(q, 0) ORDER BY bin)) AS metric
  FROM shares GROUP BY 1, 2;
CREATE TEMP TABLE origin_linf AS
WITH shares AS (
    SELECT time_hour::date AS day, origin, count(*)::float8 / sum(count(*)) OVER (PARTITION BY time_hour::date) AS share
      FROM w WHERE origin IS NOT NULL GROUP BY 1, 2
)
SELECT d.day, 'origin' AS name, max(abs(coalesce(t.share, 0) - coalesce(y.share, 0))) AS metric
  FROM (SELECT DISTINCT day FROM shares) d
  JOIN shares x ON x.day IN (d.day, d.day - 1)
  LEFT JOIN shares t ON t.day = d.day AND t.origin = x.origin
  LEFT JOIN shares y ON y.day = d.day - 1 AND y.origin = x.origin
 GROUP BY d.day;
INSERT INTO alert_day
SELECT 'threshold 0.1 (JS / L-inf vs previous day)', :seed, j.day, coalesce(m.metric, 0), coalesce(m.metric > 0.1, false), m.name
  FROM judged_days j
  LEFT JOIN LATERAL (SELECT name, metric FROM (SELECT * FROM numeric_js UNION ALL SELECT * FROM origin_linf) a
                      WHERE a.day = j.day ORDER BY metric DESC LIMIT 1) m ON true;

-- The coverage rule: alert when a column's share of non-NULL values drops by 25% or more
-- against the previous day.
INSERT INTO alert_day
WITH coverage AS (
    SELECT time_hour::date AS day, c.name, avg(c.present::int) AS covered
      FROM w, LATERAL (VALUES ('origin', origin IS NOT NULL), ('temp', temp IS NOT NULL), ('dewp', dewp IS NOT NULL),
                              ('humid', humid IS NOT NULL), ('wind_dir', wind_dir IS NOT NULL), ('wind_speed', wind_speed IS NOT NULL),
                              ('precip', precip IS NOT NULL), ('pressure', pressure IS NOT NULL), ('visib', visib IS NOT NULL)) AS c(name, present)
     GROUP BY 1, 2
), drops AS (
    SELECT t.day, t.name, 1 - t.covered / nullif(y.covered, 0) AS dropped
      FROM coverage t JOIN coverage y ON y.day = t.day - 1 AND y.name = t.name
)
SELECT 'coverage drop >= 25%', :seed, j.day, coalesce(m.dropped, 0), coalesce(m.dropped >= 0.25, false), m.name
  FROM judged_days j
  LEFT JOIN LATERAL (SELECT name, dropped FROM drops WHERE drops.day = j.day ORDER BY dropped DESC NULLS LAST LIMIT 1) m ON true;
