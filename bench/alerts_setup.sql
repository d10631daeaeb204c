-- Alert quality benchmark, shared part: the weather data (tests/data/weather.csv), the
-- systems' scoring functions and the result table. bench/alerts_seed.sql then runs one seed.
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pg_vigil;
CREATE TABLE a_raw (origin text, year int, month int, day int, hour int, temp float8, dewp float8,
                    humid float8, wind_dir float8, wind_speed float8, wind_gust float8, precip float8,
                    pressure float8, visib float8, time_hour timestamptz);
\copy a_raw FROM 'tests/data/weather.csv' (FORMAT csv, HEADER, NULL 'NA')
ALTER TABLE a_raw ADD COLUMN utc_day date;
UPDATE a_raw SET utc_day = (time_hour AT TIME ZONE 'UTC')::date;
CREATE INDEX ON a_raw (utc_day);

-- Per system, seed and day: the score it gave the day and whether it alerted.
CREATE TABLE alert_day (system text, seed int, day date, score float8, alerted boolean, top_column text);
-- Per seed: the bug days and the columns each bug corrupted.
CREATE TABLE bug_day (seed int, day date, bug text, columns text[]);
-- Per seed: what pg_vigil scored each day on (for tuning scoring offline; see src/drift/score.rs).
CREATE TABLE observed_day (seed int, day date, valid boolean, column_name text, spread float8, statistic text, value float8);

-- A numeric column's values of a day, as bin shares at the previous day's deciles (TFDV-style).
CREATE FUNCTION js_distance(p float8[], q float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT sqrt(greatest(0, 0.5 * sum(CASE WHEN pi > 0 THEN pi * ln(pi / ((pi + qi) / 2)) ELSE 0 END)
                          + 0.5 * sum(CASE WHEN qi > 0 THEN qi * ln(qi / ((pi + qi) / 2)) ELSE 0 END)))
      FROM unnest(p, q) AS u(pi, qi)
$$;

-- Loads one day of weather into `tbl` as a pipeline would, with `bug` applied to `cols`.
CREATE FUNCTION load_day(tbl regclass, d date, bug text, cols text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    names text[] := ARRAY['origin', 'temp', 'dewp', 'humid', 'wind_dir', 'wind_speed', 'precip', 'pressure', 'visib'];
    exprs text[] := ARRAY[]::text[];
    c text;
    e text;
    copies int := 1;
    keep text := 'true';
    t text := 'r.time_hour';
BEGIN
    FOREACH c IN ARRAY names LOOP
        e := 'r.' || c;
        IF bug IS NOT NULL AND c = ANY (cols) THEN
            e := CASE bug
                WHEN 'null_spike' THEN format('CASE WHEN random() < 0.5 THEN NULL ELSE r.%I END', c)
                WHEN 'unit_change' THEN CASE c
                    WHEN 'temp' THEN '(r.temp - 32) * 5 / 9' WHEN 'dewp' THEN '(r.dewp - 32) * 5 / 9'
                    WHEN 'pressure' THEN 'r.pressure * 0.02953' WHEN 'wind_speed' THEN 'r.wind_speed * 0.44704'
                    WHEN 'humid' THEN 'r.humid / 100' ELSE format('r.%I * 1.609', c) END
                WHEN 'sentinel' THEN format('CASE WHEN random() < 0.2 THEN -999 ELSE r.%I END', c)
                WHEN 'swap' THEN format('r.%I', (SELECT x FROM unnest(cols) x WHERE x <> c))
                WHEN 'relabel' THEN 'lower(r.origin)'
                WHEN 'frozen' THEN format('(SELECT r2.%I FROM a_raw r2 WHERE r2.utc_day = %L AND r2.%I IS NOT NULL ORDER BY r2.time_hour LIMIT 1)', c, d, c)
                WHEN 'precision_loss' THEN format('round(r.%I / 10) * 10', c)
                ELSE e END;
        END IF;
        exprs := exprs || e;
    END LOOP;
    IF bug = 'duplicate' THEN copies := 2; END IF;
    IF bug = 'truncate' THEN keep := 'r.hour < 7'; END IF;
    IF bug = 'shifted_time' THEN t := 'r.time_hour + interval ''8 hours'''; END IF;
    EXECUTE format('INSERT INTO %s SELECT %s, %s FROM a_raw r, generate_series(1, %s) WHERE r.utc_day = %L AND %s ORDER BY r.time_hour',
                   tbl, t, array_to_string(exprs, ', '), copies, d, keep);
END $$;

-- Day-level precision, recall, F1 and average precision (days ranked by score) per system and
-- seed, over the days after the warm-up; and how often the top-ranked column is a corrupted one
-- on the bug days a system caught (for systems that name columns).
CREATE VIEW alert_quality AS
WITH judged AS (
    SELECT a.system, a.seed, a.day, a.score, a.alerted, a.top_column, b.day IS NOT NULL AS bug, b.columns
      FROM alert_day a LEFT JOIN bug_day b ON b.seed = a.seed AND b.day = a.day
), ranked AS (
    SELECT *, sum(bug::int) OVER w AS bugs_so_far, row_number() OVER w AS rank
      FROM judged WINDOW w AS (PARTITION BY system, seed ORDER BY score DESC NULLS LAST, day)
)
SELECT system, seed,
       count(*) FILTER (WHERE alerted AND bug)::float8 / nullif(count(*) FILTER (WHERE alerted), 0) AS precision,
       count(*) FILTER (WHERE alerted AND bug)::float8 / nullif(count(*) FILTER (WHERE bug), 0) AS recall,
       avg(bugs_so_far::float8 / rank) FILTER (WHERE bug) AS average_precision,
       count(*) FILTER (WHERE alerted AND bug AND top_column = ANY (columns))::float8
         / nullif(count(*) FILTER (WHERE alerted AND bug AND top_column IS NOT NULL), 0) AS top_column_right,
       count(*) FILTER (WHERE alerted) AS alerts, count(*) FILTER (WHERE bug) AS bug_days
  FROM ranked GROUP BY system, seed;
