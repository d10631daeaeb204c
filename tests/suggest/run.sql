-- vigil.suggest on the repository's three real feeds: each is split at random into two halves;
-- suggestions made and applied on the first must all pass vigil.validate there, and the same
-- contract (exported and imported) is judged on the second half.
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE TABLE weather (origin text, year int, month int, day int, hour int, temp float8, dewp float8, humid float8,
                      wind_dir float8, wind_speed float8, wind_gust float8, precip float8, pressure float8,
                      visib float8, time_hour timestamptz);
\copy weather FROM 'tests/data/weather.csv' (FORMAT csv, HEADER, NULL 'NA')
CREATE TABLE pizza (id text, date date, time time, name text, size text, type text, price float8);
\copy pizza FROM PROGRAM 'gzip -dc tests/data/pizzaplace.csv.gz' (FORMAT csv, HEADER)
CREATE TABLE births (state text, year int, month int, day int, date timestamptz, wday text, births float8);
\copy births FROM PROGRAM 'gzip -dc tests/data/birthdays.csv.gz' (FORMAT csv, HEADER)

CREATE TABLE suggest_result (feed text, suggestions int, kinds text, first_half_failures int, second_half_failures int, failing text);
CREATE PROCEDURE try_feed(feed text) LANGUAGE plpgsql AS $$
DECLARE
    n int;
    kinds text;
    first_failures int;
    second_failures int;
    failing text;
BEGIN
    EXECUTE format('CREATE TABLE %I (LIKE %I)', feed || '_a', feed);
    EXECUTE format('CREATE TABLE %I (LIKE %I)', feed || '_b', feed);
    -- Halves by a hash of each row: random-like and the same on every run.
    EXECUTE format('INSERT INTO %I SELECT * FROM %I t WHERE hashtext(t::text) %% 2 = 0', feed || '_a', feed);
    EXECUTE format('INSERT INTO %I SELECT * FROM %I t WHERE hashtext(t::text) %% 2 <> 0', feed || '_b', feed);
    SELECT count(*), string_agg(g.kind, ',' ORDER BY g.kind) INTO n, kinds
      FROM vigil.apply_suggestions((feed || '_a')::regclass, kinds => ARRAY['not_null', 'completeness', 'between', 'in_set', 'match', 'unique']) g;
    SELECT count(*) FILTER (WHERE NOT success) INTO first_failures FROM vigil.validate((feed || '_a')::regclass);
    PERFORM vigil.import_expectations((feed || '_b')::regclass, vigil.export_expectations((feed || '_a')::regclass));
    SELECT count(*) FILTER (WHERE NOT success), string_agg(constraint_name, ', ') FILTER (WHERE NOT success)
      INTO second_failures, failing FROM vigil.validate((feed || '_b')::regclass);
    INSERT INTO suggest_result VALUES (feed, n, kinds, first_failures, second_failures, failing);
END $$;
CALL try_feed('weather');
CALL try_feed('pizza');
CALL try_feed('births');
\pset footer off
SELECT feed, suggestions, first_half_failures, second_half_failures, coalesce(failing, '') AS failing_on_the_second_half FROM suggest_result ORDER BY feed;
SELECT feed, kinds FROM suggest_result ORDER BY feed;
-- Every suggestion holds on the rows it came from.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM suggest_result WHERE first_half_failures > 0) OR (SELECT count(*) FROM suggest_result) <> 3 THEN
        RAISE EXCEPTION 'suggest: FAILED (suggestions that fail on their own rows)';
    END IF;
END $$;
\echo suggest: ok
