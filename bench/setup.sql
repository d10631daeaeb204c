-- Bench schema: five identical tables guarded five ways, and the data set.
SELECT setseed(0.42);
CREATE TABLE b_source (ts timestamptz, cat text, f1 float8, f2 float8, f3 float8, f4 float8, f5 float8, f6 float8, f7 float8, f8 float8, f9 float8, f10 float8, f11 float8, f12 float8, f13 float8, f14 float8, f15 float8, f16 float8, f17 float8, f18 float8, f19 float8, f20 float8);
INSERT INTO b_source
SELECT timestamptz '2024-01-01' + g * interval '1 second',
       (ARRAY['cat_a', 'cat_b', 'cat_c', 'cat_d'])[1 + g % 4],
       random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100
  FROM generate_series(1, :rows) g;
COPY b_source TO :'datafile' (FORMAT csv);

CREATE TABLE b_plain (ts timestamptz, cat text, f1 float8, f2 float8, f3 float8, f4 float8, f5 float8, f6 float8, f7 float8, f8 float8, f9 float8, f10 float8, f11 float8, f12 float8, f13 float8, f14 float8, f15 float8, f16 float8, f17 float8, f18 float8, f19 float8, f20 float8);

-- 21 native constraints: 20 NOT NULL + BETWEEN checks and one IN check.
CREATE TABLE b_check (ts timestamptz, cat text CHECK (cat IN ('cat_a', 'cat_b', 'cat_c', 'cat_d')), f1 float8 NOT NULL CHECK (f1 BETWEEN 0 AND 100), f2 float8 NOT NULL CHECK (f2 BETWEEN 0 AND 100), f3 float8 NOT NULL CHECK (f3 BETWEEN 0 AND 100), f4 float8 NOT NULL CHECK (f4 BETWEEN 0 AND 100), f5 float8 NOT NULL CHECK (f5 BETWEEN 0 AND 100), f6 float8 NOT NULL CHECK (f6 BETWEEN 0 AND 100), f7 float8 NOT NULL CHECK (f7 BETWEEN 0 AND 100), f8 float8 NOT NULL CHECK (f8 BETWEEN 0 AND 100), f9 float8 NOT NULL CHECK (f9 BETWEEN 0 AND 100), f10 float8 NOT NULL CHECK (f10 BETWEEN 0 AND 100), f11 float8 NOT NULL CHECK (f11 BETWEEN 0 AND 100), f12 float8 NOT NULL CHECK (f12 BETWEEN 0 AND 100), f13 float8 NOT NULL CHECK (f13 BETWEEN 0 AND 100), f14 float8 NOT NULL CHECK (f14 BETWEEN 0 AND 100), f15 float8 NOT NULL CHECK (f15 BETWEEN 0 AND 100), f16 float8 NOT NULL CHECK (f16 BETWEEN 0 AND 100), f17 float8 NOT NULL CHECK (f17 BETWEEN 0 AND 100), f18 float8 NOT NULL CHECK (f18 BETWEEN 0 AND 100), f19 float8 NOT NULL CHECK (f19 BETWEEN 0 AND 100), f20 float8 NOT NULL CHECK (f20 BETWEEN 0 AND 100));

-- No checks at all, only PostgreSQL capturing the transition table for a statement trigger: the
-- floor under any statement-level design, measured so pg_vigil's own share can be read off.
CREATE TABLE b_capture_only (ts timestamptz, cat text, f1 float8, f2 float8, f3 float8, f4 float8, f5 float8, f6 float8, f7 float8, f8 float8, f9 float8, f10 float8, f11 float8, f12 float8, f13 float8, f14 float8, f15 float8, f16 float8, f17 float8, f18 float8, f19 float8, f20 float8);
CREATE FUNCTION b_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER b_capture_only AFTER INSERT ON b_capture_only REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION b_noop();

-- The same checks in a PL/pgSQL BEFORE ROW trigger.
CREATE TABLE b_plpgsql (ts timestamptz, cat text, f1 float8, f2 float8, f3 float8, f4 float8, f5 float8, f6 float8, f7 float8, f8 float8, f9 float8, f10 float8, f11 float8, f12 float8, f13 float8, f14 float8, f15 float8, f16 float8, f17 float8, f18 float8, f19 float8, f20 float8);
CREATE FUNCTION b_plpgsql_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.f1 IS NULL OR NEW.f1 < 0 OR NEW.f1 > 100 THEN RAISE EXCEPTION 'f1 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f2 IS NULL OR NEW.f2 < 0 OR NEW.f2 > 100 THEN RAISE EXCEPTION 'f2 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f3 IS NULL OR NEW.f3 < 0 OR NEW.f3 > 100 THEN RAISE EXCEPTION 'f3 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f4 IS NULL OR NEW.f4 < 0 OR NEW.f4 > 100 THEN RAISE EXCEPTION 'f4 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f5 IS NULL OR NEW.f5 < 0 OR NEW.f5 > 100 THEN RAISE EXCEPTION 'f5 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f6 IS NULL OR NEW.f6 < 0 OR NEW.f6 > 100 THEN RAISE EXCEPTION 'f6 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f7 IS NULL OR NEW.f7 < 0 OR NEW.f7 > 100 THEN RAISE EXCEPTION 'f7 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f8 IS NULL OR NEW.f8 < 0 OR NEW.f8 > 100 THEN RAISE EXCEPTION 'f8 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f9 IS NULL OR NEW.f9 < 0 OR NEW.f9 > 100 THEN RAISE EXCEPTION 'f9 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f10 IS NULL OR NEW.f10 < 0 OR NEW.f10 > 100 THEN RAISE EXCEPTION 'f10 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f11 IS NULL OR NEW.f11 < 0 OR NEW.f11 > 100 THEN RAISE EXCEPTION 'f11 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f12 IS NULL OR NEW.f12 < 0 OR NEW.f12 > 100 THEN RAISE EXCEPTION 'f12 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f13 IS NULL OR NEW.f13 < 0 OR NEW.f13 > 100 THEN RAISE EXCEPTION 'f13 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f14 IS NULL OR NEW.f14 < 0 OR NEW.f14 > 100 THEN RAISE EXCEPTION 'f14 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f15 IS NULL OR NEW.f15 < 0 OR NEW.f15 > 100 THEN RAISE EXCEPTION 'f15 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f16 IS NULL OR NEW.f16 < 0 OR NEW.f16 > 100 THEN RAISE EXCEPTION 'f16 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f17 IS NULL OR NEW.f17 < 0 OR NEW.f17 > 100 THEN RAISE EXCEPTION 'f17 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f18 IS NULL OR NEW.f18 < 0 OR NEW.f18 > 100 THEN RAISE EXCEPTION 'f18 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f19 IS NULL OR NEW.f19 < 0 OR NEW.f19 > 100 THEN RAISE EXCEPTION 'f19 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.f20 IS NULL OR NEW.f20 < 0 OR NEW.f20 > 100 THEN RAISE EXCEPTION 'f20 out of range' USING ERRCODE = 'check_violation'; END IF;
    IF NEW.cat NOT IN ('cat_a', 'cat_b', 'cat_c', 'cat_d') THEN RAISE EXCEPTION 'cat not allowed' USING ERRCODE = 'check_violation'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER b_plpgsql_check BEFORE INSERT ON b_plpgsql FOR EACH ROW EXECUTE FUNCTION b_plpgsql_check();

-- pg_vigil: 20 expect_between + 20 expect_not_null + 1 expect_in_set, reject and quarantine.
CREATE EXTENSION pg_vigil;
CREATE TABLE b_vigil_reject (ts timestamptz, cat text, f1 float8, f2 float8, f3 float8, f4 float8, f5 float8, f6 float8, f7 float8, f8 float8, f9 float8, f10 float8, f11 float8, f12 float8, f13 float8, f14 float8, f15 float8, f16 float8, f17 float8, f18 float8, f19 float8, f20 float8);
CREATE TABLE b_vigil_quarantine (ts timestamptz, cat text, f1 float8, f2 float8, f3 float8, f4 float8, f5 float8, f6 float8, f7 float8, f8 float8, f9 float8, f10 float8, f11 float8, f12 float8, f13 float8, f14 float8, f15 float8, f16 float8, f17 float8, f18 float8, f19 float8, f20 float8);
SELECT count(*) FROM (
  SELECT vigil.expect_between(t, 'f' || i, 0, 100, on_violation => m),
         vigil.expect_not_null(t, 'f' || i, on_violation => m)
    FROM (VALUES ('b_vigil_reject'::regclass, 'reject'), ('b_vigil_quarantine', 'quarantine')) v(t, m),
         generate_series(1, 20) i) s;
-- The same 41 rules on a table whose columns are also profiled in daily windows (issue 3).
CREATE TABLE b_vigil_watched (LIKE b_vigil_reject);
SELECT count(*) FROM (
  SELECT vigil.expect_between('b_vigil_watched', 'f' || i, 0, 100), vigil.expect_not_null('b_vigil_watched', 'f' || i)
    FROM generate_series(1, 20) i) s;
SELECT vigil.expect_in_set('b_vigil_watched', 'cat', ARRAY['cat_a', 'cat_b', 'cat_c', 'cat_d']);
SELECT vigil.watch('b_vigil_watched', time_column => 'ts', window_size => '1 day');
SELECT vigil.expect_in_set('b_vigil_reject', 'cat', ARRAY['cat_a', 'cat_b', 'cat_c', 'cat_d']);
SELECT vigil.expect_in_set('b_vigil_quarantine', 'cat', ARRAY['cat_a', 'cat_b', 'cat_c', 'cat_d'], on_violation => 'quarantine');

-- Profiling alone: every column watched in daily windows, no rules.
CREATE TABLE b_watched_only (LIKE b_plain);
SELECT vigil.watch('b_watched_only', time_column => 'ts', window_size => '1 day');
-- What profiling replaces: a PL/pgSQL statement trigger computing, per day, the count, NULLs,
-- min, max, avg and stddev of the 20 float columns with SQL over the transition table.
CREATE TABLE b_plpgsql_stats (LIKE b_plain);
CREATE TABLE b_plpgsql_stats_out AS
SELECT date_trunc('day', ts) AS day, count(*) AS row_count, count(f1) AS n1, min(f1) AS min1, max(f1) AS max1, avg(f1) AS avg1, stddev(f1) AS sd1, count(f2) AS n2, min(f2) AS min2, max(f2) AS max2, avg(f2) AS avg2, stddev(f2) AS sd2, count(f3) AS n3, min(f3) AS min3, max(f3) AS max3, avg(f3) AS avg3, stddev(f3) AS sd3, count(f4) AS n4, min(f4) AS min4, max(f4) AS max4, avg(f4) AS avg4, stddev(f4) AS sd4, count(f5) AS n5, min(f5) AS min5, max(f5) AS max5, avg(f5) AS avg5, stddev(f5) AS sd5, count(f6) AS n6, min(f6) AS min6, max(f6) AS max6, avg(f6) AS avg6, stddev(f6) AS sd6, count(f7) AS n7, min(f7) AS min7, max(f7) AS max7, avg(f7) AS avg7, stddev(f7) AS sd7, count(f8) AS n8, min(f8) AS min8, max(f8) AS max8, avg(f8) AS avg8, stddev(f8) AS sd8, count(f9) AS n9, min(f9) AS min9, max(f9) AS max9, avg(f9) AS avg9, stddev(f9) AS sd9, count(f10) AS n10, min(f10) AS min10, max(f10) AS max10, avg(f10) AS avg10, stddev(f10) AS sd10, count(f11) AS n11, min(f11) AS min11, max(f11) AS max11, avg(f11) AS avg11, stddev(f11) AS sd11, count(f12) AS n12, min(f12) AS min12, max(f12) AS max12, avg(f12) AS avg12, stddev(f12) AS sd12, count(f13) AS n13, min(f13) AS min13, max(f13) AS max13, avg(f13) AS avg13, stddev(f13) AS sd13, count(f14) AS n14, min(f14) AS min14, max(f14) AS max14, avg(f14) AS avg14, stddev(f14) AS sd14, count(f15) AS n15, min(f15) AS min15, max(f15) AS max15, avg(f15) AS avg15, stddev(f15) AS sd15, count(f16) AS n16, min(f16) AS min16, max(f16) AS max16, avg(f16) AS avg16, stddev(f16) AS sd16, count(f17) AS n17, min(f17) AS min17, max(f17) AS max17, avg(f17) AS avg17, stddev(f17) AS sd17, count(f18) AS n18, min(f18) AS min18, max(f18) AS max18, avg(f18) AS avg18, stddev(f18) AS sd18, count(f19) AS n19, min(f19) AS min19, max(f19) AS max19, avg(f19) AS avg19, stddev(f19) AS sd19, count(f20) AS n20, min(f20) AS min20, max(f20) AS max20, avg(f20) AS avg20, stddev(f20) AS sd20
  FROM b_plain GROUP BY 1;
CREATE FUNCTION b_plpgsql_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO b_plpgsql_stats_out
    SELECT date_trunc('day', ts), count(*), count(f1) AS n1, min(f1) AS min1, max(f1) AS max1, avg(f1) AS avg1, stddev(f1) AS sd1, count(f2) AS n2, min(f2) AS min2, max(f2) AS max2, avg(f2) AS avg2, stddev(f2) AS sd2, count(f3) AS n3, min(f3) AS min3, max(f3) AS max3, avg(f3) AS avg3, stddev(f3) AS sd3, count(f4) AS n4, min(f4) AS min4, max(f4) AS max4, avg(f4) AS avg4, stddev(f4) AS sd4, count(f5) AS n5, min(f5) AS min5, max(f5) AS max5, avg(f5) AS avg5, stddev(f5) AS sd5, count(f6) AS n6, min(f6) AS min6, max(f6) AS max6, avg(f6) AS avg6, stddev(f6) AS sd6, count(f7) AS n7, min(f7) AS min7, max(f7) AS max7, avg(f7) AS avg7, stddev(f7) AS sd7, count(f8) AS n8, min(f8) AS min8, max(f8) AS max8, avg(f8) AS avg8, stddev(f8) AS sd8, count(f9) AS n9, min(f9) AS min9, max(f9) AS max9, avg(f9) AS avg9, stddev(f9) AS sd9, count(f10) AS n10, min(f10) AS min10, max(f10) AS max10, avg(f10) AS avg10, stddev(f10) AS sd10, count(f11) AS n11, min(f11) AS min11, max(f11) AS max11, avg(f11) AS avg11, stddev(f11) AS sd11, count(f12) AS n12, min(f12) AS min12, max(f12) AS max12, avg(f12) AS avg12, stddev(f12) AS sd12, count(f13) AS n13, min(f13) AS min13, max(f13) AS max13, avg(f13) AS avg13, stddev(f13) AS sd13, count(f14) AS n14, min(f14) AS min14, max(f14) AS max14, avg(f14) AS avg14, stddev(f14) AS sd14, count(f15) AS n15, min(f15) AS min15, max(f15) AS max15, avg(f15) AS avg15, stddev(f15) AS sd15, count(f16) AS n16, min(f16) AS min16, max(f16) AS max16, avg(f16) AS avg16, stddev(f16) AS sd16, count(f17) AS n17, min(f17) AS min17, max(f17) AS max17, avg(f17) AS avg17, stddev(f17) AS sd17, count(f18) AS n18, min(f18) AS min18, max(f18) AS max18, avg(f18) AS avg18, stddev(f18) AS sd18, count(f19) AS n19, min(f19) AS min19, max(f19) AS max19, avg(f19) AS avg19, stddev(f19) AS sd19, count(f20) AS n20, min(f20) AS min20, max(f20) AS max20, avg(f20) AS avg20, stddev(f20) AS sd20
      FROM new_rows GROUP BY 1;
    RETURN NULL;
END $$;
CREATE TRIGGER b_plpgsql_stats AFTER INSERT ON b_plpgsql_stats REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION b_plpgsql_stats();

CREATE TABLE bench_result (variant text, method text, round int, ms float8);
CREATE PROCEDURE bench_run(variant text, method text, round int, datafile text)
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz;
    elapsed float8;
BEGIN
    -- Warm this backend (library loaded, rules compiled, relcache) as a long-lived one would be.
    EXECUTE format('INSERT INTO %I SELECT * FROM %I LIMIT 0', 'b_' || variant,
                   CASE WHEN variant LIKE 'keys\_%' THEN 'b_keys_source' ELSE 'b_source' END);
    EXECUTE format('TRUNCATE %I', 'b_' || variant);
    COMMIT;
    started := clock_timestamp();
    IF method = 'copy' THEN
        EXECUTE format('COPY %I FROM %L (FORMAT csv)', 'b_' || variant, datafile);
    ELSE
        EXECUTE format('INSERT INTO %I SELECT * FROM b_source', 'b_' || variant);
    END IF;
    COMMIT;
    elapsed := extract(epoch FROM clock_timestamp() - started) * 1000;
    INSERT INTO bench_result VALUES (variant, method, round, elapsed);
END $$;

-- Keys and pairs (issue 14): a million rows with an id that must be unique and a pair of
-- columns that must be ordered (hi >= lo), guarded four ways.
CREATE TABLE b_keys_source AS
SELECT g::bigint AS id, lo, lo + random() * 10 AS hi, cat, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20
  FROM (SELECT row_number() OVER () AS g, f1 * 0.9 AS lo, cat, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20
          FROM b_source) s;
COPY b_keys_source TO :'keysfile' (FORMAT csv);
CREATE TABLE b_keys_plain (LIKE b_keys_source);
-- Native: a unique index (the whole table, not only the batch: stricter, and what a user would
-- reach for) and a CHECK.
CREATE TABLE b_keys_native (LIKE b_keys_source, UNIQUE (id), CHECK (hi >= lo));
-- PL/pgSQL: the same two checks over the statement's transition table.
CREATE TABLE b_keys_plpgsql (LIKE b_keys_source);
CREATE FUNCTION b_keys_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows GROUP BY id HAVING count(*) > 1) THEN
        RAISE EXCEPTION 'duplicate id' USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM new_rows WHERE NOT hi >= lo) THEN
        RAISE EXCEPTION 'hi below lo' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER b_keys_check AFTER INSERT ON b_keys_plpgsql REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION b_keys_check();
CREATE TABLE b_keys_vigil (LIKE b_keys_source);
SELECT vigil.expect_unique('b_keys_vigil', 'id'), vigil.expect_pair_greater('b_keys_vigil', 'hi', 'lo', or_equal => true);
