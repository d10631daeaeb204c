-- Reading a year of statistics: 365 daily windows x 20 double precision columns.
SELECT setseed(0.7);
CREATE TABLE b_year (ts timestamptz, f1 float8, f2 float8, f3 float8, f4 float8, f5 float8, f6 float8,
                     f7 float8, f8 float8, f9 float8, f10 float8, f11 float8, f12 float8, f13 float8,
                     f14 float8, f15 float8, f16 float8, f17 float8, f18 float8, f19 float8, f20 float8);
SELECT vigil.watch('b_year', time_column => 'ts');
INSERT INTO b_year
SELECT timestamptz '2023-01-01' + (g % 365) * interval '1 day' + (g % 997) * interval '1 minute',
       random(), random(), random(), random(), random(), random(), random(), random(), random(), random(),
       random(), random(), random(), random(), random(), random(), random(), random(), random(), random()
  FROM generate_series(1, 365000) g ORDER BY 1;
SELECT vigil.compact('b_year') AS merged_away;
CREATE TABLE read_result (what text, ms float8);
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
SELECT what, count(*) AS runs, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric) AS median_ms,
       (SELECT pg_size_pretty(avg(length(payload))::bigint / 20) FROM vigil.profile_delta
         WHERE relid = 'b_year'::regclass) AS stored_per_column_and_window
  FROM read_result GROUP BY what ORDER BY what;
