-- Reading a year of statistics: 365 daily windows x 20 double precision columns, ending two
-- days ago (so that yesterday and today can arrive live afterwards).
SET timezone = 'UTC';
SELECT setseed(0.7);
CREATE TABLE b_year (ts timestamptz, f1 float8, f2 float8, f3 float8, f4 float8, f5 float8, f6 float8,
                     f7 float8, f8 float8, f9 float8, f10 float8, f11 float8, f12 float8, f13 float8,
                     f14 float8, f15 float8, f16 float8, f17 float8, f18 float8, f19 float8, f20 float8);
SELECT vigil.watch('b_year', time_column => 'ts');
CREATE FUNCTION b_year_rows(first_day timestamptz, days int, per_day int) RETURNS SETOF b_year LANGUAGE sql AS $$
SELECT first_day + (g % days) * interval '1 day' + (g % 997) * interval '1 minute',
       random(), random(), random(), random(), random(), random(), random(), random(), random(), random(),
       random(), random(), random(), random(), random(), random(), random(), random(), random(), random()
  FROM generate_series(1, days * per_day) g ORDER BY 1 $$;
INSERT INTO b_year SELECT * FROM b_year_rows(date_trunc('day', now()) - interval '366 days', 365, 1000);
SELECT vigil.compact('b_year') AS merged_away;
CREATE TABLE read_result (what text, ms float8);

-- The first evaluation scores the year from scratch and keeps a memo per window.
DO $$
DECLARE started timestamptz := clock_timestamp();
BEGIN
    PERFORM vigil.evaluate('b_year');
    INSERT INTO read_result VALUES ('first evaluation of the year (from scratch)', extract(epoch FROM clock_timestamp() - started) * 1000);
END $$;

CREATE PROCEDURE time_reads() LANGUAGE plpgsql AS $$
DECLARE started timestamptz; n bigint;
BEGIN
    FOR i IN 1..5 LOOP
        started := clock_timestamp();
        SELECT count(*) INTO n FROM vigil.column_stats WHERE relid = 'b_year'::regclass;
        INSERT INTO read_result VALUES ('column_stats (' || n || ' rows)', extract(epoch FROM clock_timestamp() - started) * 1000);
        started := clock_timestamp();
        SELECT count(*) INTO n FROM vigil.drift WHERE relid = 'b_year'::regclass;
        INSERT INTO read_result VALUES ('drift (' || n || ' rows)', extract(epoch FROM clock_timestamp() - started) * 1000);
        started := clock_timestamp();
        SELECT count(*) INTO n FROM vigil.window_status WHERE relid = 'b_year'::regclass;
        PERFORM count(*) FROM vigil.alerts WHERE relid = 'b_year'::regclass;
        INSERT INTO read_result VALUES ('window_status + alerts (' || n || ' windows)', extract(epoch FROM clock_timestamp() - started) * 1000);
    END LOOP;
END $$;
CALL time_reads();

-- Yesterday's load, then the first row of today: that statement finds yesterday finished and
-- not evaluated, so it scores yesterday against the year and opens any alert. What it adds is
-- its time less that of the same insert when nothing is due (the next row of today).
INSERT INTO b_year SELECT * FROM b_year_rows(date_trunc('day', now()) - interval '1 day', 1, 1000);
CREATE PROCEDURE time_closing() LANGUAGE plpgsql AS $$
DECLARE started timestamptz;
BEGIN
    started := clock_timestamp();
    INSERT INTO b_year SELECT * FROM b_year_rows(date_trunc('day', now()), 1, 1);
    COMMIT;
    INSERT INTO read_result VALUES ('statement closing yesterday (scores it)', extract(epoch FROM clock_timestamp() - started) * 1000);
    FOR i IN 1..5 LOOP
        started := clock_timestamp();
        INSERT INTO b_year SELECT * FROM b_year_rows(date_trunc('day', now()), 1, 1);
        COMMIT;
        INSERT INTO read_result VALUES ('same statement, nothing due', extract(epoch FROM clock_timestamp() - started) * 1000);
    END LOOP;
END $$;
CALL time_closing();
SELECT max(window_start)::date = (now() - interval '1 day')::date AS yesterday_memoized FROM vigil.window_memo
 WHERE relid = 'b_year'::regclass;

-- A window closes once: four more tables with a year each give the closing's median more than
-- one run.
CREATE PROCEDURE time_closing_again(tables int) LANGUAGE plpgsql AS $$
DECLARE started timestamptz; t text;
BEGIN
    FOR i IN 1..tables LOOP
        t := 'b_close_' || i;
        EXECUTE format('CREATE TABLE %I (LIKE b_year)', t);
        PERFORM vigil.watch(t::regclass, time_column => 'ts');
        EXECUTE format('INSERT INTO %I SELECT * FROM b_year_rows(date_trunc(''day'', now()) - interval ''366 days'', 365, 1000)', t);
        PERFORM vigil.compact(t::regclass);
        PERFORM vigil.evaluate(t::regclass);
        EXECUTE format('INSERT INTO %I SELECT * FROM b_year_rows(date_trunc(''day'', now()) - interval ''1 day'', 1, 1000)', t);
        COMMIT;
        started := clock_timestamp();
        EXECUTE format('INSERT INTO %I SELECT * FROM b_year_rows(date_trunc(''day'', now()), 1, 1)', t);
        COMMIT;
        INSERT INTO read_result VALUES ('statement closing yesterday (scores it)', extract(epoch FROM clock_timestamp() - started) * 1000);
    END LOOP;
END $$;
CALL time_closing_again(4);
CALL time_reads();

SELECT what, count(*) AS runs, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric) AS median_ms,
       (SELECT pg_size_pretty(avg(length(payload))::bigint / 20) FROM vigil.profile_delta
         WHERE relid = 'b_year'::regclass AND window_start < date_trunc('day', now()) - interval '1 day') AS stored_per_column_and_window
  FROM read_result GROUP BY what ORDER BY what;
