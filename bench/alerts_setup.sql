-- Alert quality benchmark, shared part: three real feeds of different shapes (tests/data), what
-- each column is, one bug injector for all of them, the baselines' helpers and the result
-- tables. bench/alerts_seed.sql then runs one feed and seed.
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pg_vigil;

-- Hourly weather at three airports, 2013 (a sensor feed: 72 rows a day, seasons, storms).
CREATE TABLE weather_csv (origin text, year int, month int, day int, hour int, temp float8, dewp float8,
                          humid float8, wind_dir float8, wind_speed float8, wind_gust float8, precip float8,
                          pressure float8, visib float8, time_hour timestamptz);
\copy weather_csv FROM 'tests/data/weather.csv' (FORMAT csv, HEADER, NULL 'NA')
CREATE TABLE raw_weather AS
SELECT time_hour AS ts, origin, temp, dewp, humid, wind_dir, wind_speed, wind_gust, precip, pressure, visib
  FROM weather_csv;
DROP TABLE weather_csv;

-- A pizza place's orders, 2015 (a transaction log: ~136 rows a day, busy weekends, holidays,
-- menu changes; times are local, stored as they are).
CREATE TABLE pizza_csv (id text, date date, time time, name text, size text, type text, price float8);
\copy pizza_csv FROM PROGRAM 'gzip -dc tests/data/pizzaplace.csv.gz' (FORMAT csv, HEADER)
CREATE TABLE raw_pizza AS
SELECT (date + time) AT TIME ZONE 'UTC' AS ts, id, name, size, type, price FROM pizza_csv;
DROP TABLE pizza_csv;

-- Births per US state and day, 1969 (a keyed panel: 51 rows a day, weekday effects, holidays).
CREATE TABLE births_csv (state text, year int, month int, day int, date timestamptz, wday text, births float8);
\copy births_csv FROM PROGRAM 'gzip -dc tests/data/birthdays.csv.gz' (FORMAT csv, HEADER)
CREATE TABLE raw_births AS SELECT date AS ts, state, wday, births FROM births_csv WHERE year = 1969;
DROP TABLE births_csv;

ALTER TABLE raw_weather ADD COLUMN day date;
ALTER TABLE raw_pizza ADD COLUMN day date;
ALTER TABLE raw_births ADD COLUMN day date;
UPDATE raw_weather SET day = ts::date;
UPDATE raw_pizza SET day = ts::date;
UPDATE raw_births SET day = ts::date;
CREATE INDEX ON raw_weather (day);
CREATE INDEX ON raw_pizza (day);
CREATE INDEX ON raw_births (day);

-- What each loaded column is, for the injector and the baselines: 'num'eric, 'cat'egorical or
-- 'key' (an identifier); `unique_in_day` for a column that keys a day's rows (a panel's state:
-- a duplicated load repeats it, a truncated one loses some); `source` for a category whose rows come from one source (a region, a
-- product line) and can go missing; `nullable` where NULLs are usual (> 5% of rows); how a unit
-- mix-up and a loss of precision would rewrite it (%s: the value).
CREATE TABLE feed_column (feed text, col text, kind text, source boolean DEFAULT false, nullable boolean DEFAULT false,
                          unit_expr text, coarse_expr text, position int, unique_in_day boolean DEFAULT false);
INSERT INTO feed_column (feed, col, kind, source, nullable, unit_expr, coarse_expr, position, unique_in_day) VALUES
    ('weather', 'origin', 'cat', true, false, NULL, NULL, 1, false),
    ('weather', 'temp', 'num', false, false, '(%s - 32) * 5 / 9', 'round(%s / 10) * 10', 2, false),
    ('weather', 'dewp', 'num', false, false, '(%s - 32) * 5 / 9', 'round(%s / 10) * 10', 3, false),
    ('weather', 'humid', 'num', false, false, '%s / 100', 'round(%s / 10) * 10', 4, false),
    ('weather', 'wind_dir', 'num', false, false, '%s * pi() / 180', NULL, 5, false),
    ('weather', 'wind_speed', 'num', false, false, '%s * 0.44704', NULL, 6, false),
    ('weather', 'wind_gust', 'num', false, true, '%s * 0.44704', NULL, 7, false),
    ('weather', 'precip', 'num', false, false, '%s * 25.4', NULL, 8, false),
    ('weather', 'pressure', 'num', false, true, '%s * 0.02953', 'round(%s / 10) * 10', 9, false),
    ('weather', 'visib', 'num', false, false, '%s * 1.609', NULL, 10, false),
    ('pizza', 'id', 'key', false, false, NULL, NULL, 1, false),
    ('pizza', 'name', 'cat', false, false, NULL, NULL, 2, false),
    ('pizza', 'size', 'cat', true, false, NULL, NULL, 3, false),
    ('pizza', 'type', 'cat', true, false, NULL, NULL, 4, false),
    ('pizza', 'price', 'num', false, false, '%s * 100', 'round(%s)', 5, false),
    ('births', 'state', 'cat', true, false, NULL, NULL, 1, true),
    ('births', 'wday', 'cat', false, false, NULL, NULL, 2, false),
    ('births', 'births', 'num', false, false, '%s / 1000', 'round(%s / 10) * 10', 3, false);
-- Related numeric columns a load can swap.
CREATE TABLE feed_pair (feed text, a text, b text);
INSERT INTO feed_pair VALUES ('weather', 'temp', 'dewp'), ('weather', 'temp', 'humid'), ('weather', 'dewp', 'pressure'),
                             ('weather', 'wind_speed', 'wind_dir'), ('weather', 'humid', 'pressure');

-- The bugs, and which columns each can hit in a feed (a bug with no column there is not drawn).
CREATE FUNCTION bug_targets(f text, bug text) RETURNS SETOF text[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY[col] FROM feed_column
     WHERE feed = f AND CASE bug
        WHEN 'null_spike' THEN kind <> 'key' AND NOT nullable
        WHEN 'unit_change' THEN unit_expr IS NOT NULL
        WHEN 'precision_loss' THEN coarse_expr IS NOT NULL
        WHEN 'sentinel' THEN kind = 'num'
        WHEN 'zero_fill' THEN kind = 'num'
        WHEN 'frozen' THEN kind = 'num'
        WHEN 'default_fill' THEN nullable
        WHEN 'relabel' THEN kind = 'cat'
        WHEN 'missing_source' THEN source
        ELSE false END
    UNION ALL SELECT ARRAY[a, b] FROM feed_pair WHERE feed = f AND bug = 'swap'
    -- Bugs of the whole load: the row count shows them, and so do key columns or the times.
    UNION ALL SELECT ARRAY['(row count)'] || coalesce((SELECT array_agg(col) FROM feed_column WHERE feed = f AND (kind = 'key' OR unique_in_day)), '{}')
     WHERE bug = 'duplicate'
    UNION ALL SELECT ARRAY['(row count)', '(time in window)'] || coalesce((SELECT array_agg(col) FROM feed_column WHERE feed = f AND unique_in_day), '{}')
     WHERE bug = 'truncate'
    UNION ALL SELECT ARRAY['(row count)', '(time in window)'] WHERE bug = 'shifted_time'
$$;
CREATE TABLE bug_kind (bug text PRIMARY KEY);
INSERT INTO bug_kind VALUES ('null_spike'), ('unit_change'), ('sentinel'), ('zero_fill'), ('default_fill'), ('swap'),
    ('relabel'), ('missing_source'), ('duplicate'), ('truncate'), ('frozen'), ('shifted_time'), ('precision_loss');

-- The feeds' own defects, found by rule in the raw data (not by any system): a load of an hourly
-- feed missing two hours or more (three days of weather), a key repeated within a day (seven days
-- of births, where 29 to 31 February were moved to 1 to 3 March and other month starts hold a
-- state twice) and a sensor glitch (below). They are pipeline bugs as real as the injected ones:
-- the benchmark counts them as bug days of kind source_defect, on which an alert is right and no
-- alert a miss.
CREATE TABLE source_defect (feed text, day date, columns text[]);
INSERT INTO source_defect
SELECT 'weather', day, ARRAY['(row count)', '(time in window)'] FROM raw_weather
 GROUP BY day HAVING count(DISTINCT date_trunc('hour', ts)) < 23
UNION ALL
SELECT 'births', day, ARRAY['state', '(row count)'] FROM raw_births
 GROUP BY day HAVING count(*) > count(DISTINCT state);
-- And a value ten times beyond the 99th percentile of its column's magnitude over the year (a
-- sensor glitch: weather's 1,048 mph wind on 2013-02-12, the only one in the three feeds).
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT * FROM feed_column WHERE kind = 'num' LOOP
        EXECUTE format(
            'INSERT INTO source_defect
             SELECT %L, r.day, ARRAY[%L] FROM %I r,
                    (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY abs(%I)) AS p99 FROM %I) q
              WHERE abs(r.%I) > 10 * q.p99 AND q.p99 > 0
                AND r.day NOT IN (SELECT day FROM source_defect WHERE feed = %L)
              GROUP BY r.day',
            c.feed, c.col, 'raw_' || c.feed, c.col, 'raw_' || c.feed, c.col, c.feed);
    END LOOP;
END $$;

-- Per system, feed, seed and day: the score it gave the day and whether it alerted.
CREATE TABLE alert_day (system text, feed text, seed int, day date, score float8, alerted boolean, top_column text);
-- Per feed and seed: the bug days and the columns each bug corrupted.
CREATE TABLE bug_day (feed text, seed int, day date, bug text, columns text[]);
-- Per feed and seed: what pg_vigil scored each day on (for tuning scoring offline; see src/drift/score.rs).
CREATE TABLE observed_day (feed text, seed int, day date, valid boolean, column_name text, spread float8, statistic text, value float8);

-- A numeric column's values of a day, as bin shares at the previous day's deciles (TFDV-style).
CREATE FUNCTION js_distance(p float8[], q float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT sqrt(greatest(0, 0.5 * sum(CASE WHEN pi > 0 THEN pi * ln(pi / ((pi + qi) / 2)) ELSE 0 END)
                          + 0.5 * sum(CASE WHEN qi > 0 THEN qi * ln(qi / ((pi + qi) / 2)) ELSE 0 END)))
      FROM unnest(p, q) AS u(pi, qi)
$$;

-- Loads one day of feed `f` into `tbl` as a pipeline would, with `bug` applied to `cols`.
CREATE FUNCTION load_day(f text, tbl regclass, d date, bug text, cols text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c record;
    e text;
    exprs text[] := ARRAY[]::text[];
    names text[] := ARRAY[]::text[];
    copies int := 1;
    keep text := 'true';
    t text := 'r.ts';
    chosen text;
BEGIN
    FOR c IN SELECT * FROM feed_column WHERE feed = f ORDER BY position LOOP
        e := format('r.%I', c.col);
        IF bug IS NOT NULL AND c.col = ANY (cols) THEN
            e := CASE bug
                WHEN 'null_spike' THEN format('CASE WHEN random() < 0.3 THEN NULL ELSE r.%I END', c.col)
                WHEN 'unit_change' THEN format(c.unit_expr, e)
                WHEN 'precision_loss' THEN format(c.coarse_expr, e)
                WHEN 'sentinel' THEN format('CASE WHEN random() < 0.2 THEN -999 ELSE r.%I END', c.col)
                -- A join that missed fills a default in for a quarter of the rows.
                WHEN 'zero_fill' THEN format('CASE WHEN random() < 0.25 THEN 0 ELSE r.%I END', c.col)
                WHEN 'default_fill' THEN format('coalesce(r.%I, 0)', c.col)
                WHEN 'swap' THEN format('r.%I', (SELECT x FROM unnest(cols) x WHERE x <> c.col))
                WHEN 'relabel' THEN format('CASE WHEN r.%1$I = lower(r.%1$I) THEN upper(r.%1$I) ELSE lower(r.%1$I) END', c.col)
                WHEN 'frozen' THEN format('(SELECT r2.%1$I FROM %2$I r2 WHERE r2.day = %3$L AND r2.%1$I IS NOT NULL ORDER BY r2.ts LIMIT 1)',
                                          c.col, 'raw_' || f, d)
                ELSE e END;
        END IF;
        exprs := exprs || e;
        names := names || quote_ident(c.col);
    END LOOP;
    IF bug = 'duplicate' THEN copies := 2; END IF;
    -- The load stopped early: the first 30% of the day's rows arrived.
    IF bug = 'truncate' THEN keep := 'r.rn <= 0.3 * r.n'; END IF;
    -- Local time (New York) stored as UTC.
    IF bug = 'shifted_time' THEN t := 'r.ts + interval ''5 hours'''; END IF;
    IF bug = 'missing_source' THEN
        EXECUTE format('SELECT %I FROM %I WHERE day = %L ORDER BY random() LIMIT 1', cols[1], 'raw_' || f, d) INTO chosen;
        keep := format('r.%I IS DISTINCT FROM %L', cols[1], chosen);
    END IF;
    EXECUTE format('INSERT INTO %s (ts, %s) SELECT %s, %s FROM (SELECT *, row_number() OVER (ORDER BY ts, ctid) AS rn, count(*) OVER () AS n FROM %I WHERE day = %L) r, generate_series(1, %s) WHERE %s ORDER BY r.ts',
                   tbl, array_to_string(names, ', '), t, array_to_string(exprs, ', '), 'raw_' || f, d, copies, keep);
END $$;

-- Whether a bug left the values of its columns as they were on day `d` (the multiset of each
-- column in `tbl` equals the raw feed's): a unit change of a dry day's rainfall (0 mm is 0 in),
-- a frozen column that was constant anyway. Such a day holds no corrupted data, so it is no bug
-- day: no system could see it, and an alert on it would be a false one. A bug naming a
-- pseudo-column (the row count, the times in the window) changed the rows themselves.
CREATE FUNCTION changed_nothing(f text, tbl regclass, d date, cols text[]) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    c text;
    differs boolean;
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(cols) n
                WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                   WHERE a.attrelid = tbl AND a.attname = n AND a.attnum > 0 AND NOT a.attisdropped)) THEN
        RETURN false;
    END IF;
    FOREACH c IN ARRAY cols LOOP
        EXECUTE format('SELECT EXISTS (SELECT %1$I::text FROM %2$s WHERE ts::date = %3$L EXCEPT ALL SELECT %1$I::text FROM %4$I WHERE day = %3$L)
                            OR EXISTS (SELECT %1$I::text FROM %4$I WHERE day = %3$L EXCEPT ALL SELECT %1$I::text FROM %2$s WHERE ts::date = %3$L)',
                       c, tbl, d, 'raw_' || f) INTO differs;
        IF differs THEN RETURN false; END IF;
    END LOOP;
    RETURN true;
END $$;

-- The watched table's values in long form, for the baselines: per day and column, each value
-- (numbers in `num`, labels in `label`).
CREATE FUNCTION cells(f text, tbl regclass) RETURNS TABLE (day date, name text, kind text, num float8, label text) LANGUAGE plpgsql AS $$
DECLARE
    parts text[];
BEGIN
    SELECT array_agg(format('(%L, %L, %s, %s)', fc.col, fc.kind,
                            CASE fc.kind WHEN 'num' THEN format('w.%I::float8', fc.col) ELSE 'NULL::float8' END,
                            CASE fc.kind WHEN 'num' THEN 'NULL::text' ELSE format('w.%I::text', fc.col) END) ORDER BY fc.position)
      INTO parts FROM feed_column fc WHERE fc.feed = f;
    RETURN QUERY EXECUTE format('SELECT w.ts::date, c.name, c.kind, c.num, c.label FROM %s w, LATERAL (VALUES %s) AS c(name, kind, num, label)',
                                tbl, array_to_string(parts, ', '));
END $$;

-- Day-level precision, recall, F1 and average precision (days ranked by score) per system, feed
-- and seed, over the days after the warm-up; and how often the top-ranked column is a corrupted
-- one on the bug days a system caught (for systems that name columns; a pair of columns, "a < b",
-- is right when either is).
CREATE VIEW alert_quality AS
WITH judged AS (
    SELECT a.system, a.feed, a.seed, a.day, a.score, a.alerted, a.top_column, b.day IS NOT NULL AS bug, b.columns
      FROM alert_day a LEFT JOIN bug_day b ON b.feed = a.feed AND b.seed = a.seed AND b.day = a.day
), ranked AS (
    SELECT *, sum(bug::int) OVER w AS bugs_so_far, row_number() OVER w AS rank
      FROM judged WINDOW w AS (PARTITION BY system, feed, seed ORDER BY score DESC NULLS LAST, day)
)
SELECT system, feed, seed,
       count(*) FILTER (WHERE alerted AND bug)::float8 / nullif(count(*) FILTER (WHERE alerted), 0) AS precision,
       count(*) FILTER (WHERE alerted AND bug)::float8 / nullif(count(*) FILTER (WHERE bug), 0) AS recall,
       avg(bugs_so_far::float8 / rank) FILTER (WHERE bug) AS average_precision,
       count(*) FILTER (WHERE alerted AND bug AND (top_column = ANY (columns)
                                                   OR split_part(top_column, ' < ', 1) = ANY (columns)
                                                   OR split_part(top_column, ' < ', 2) = ANY (columns)))::float8
         / nullif(count(*) FILTER (WHERE alerted AND bug AND top_column IS NOT NULL), 0) AS top_column_right,
       count(*) FILTER (WHERE alerted) AS alerts, count(*) FILTER (WHERE bug) AS bug_days
  FROM ranked GROUP BY system, feed, seed;
