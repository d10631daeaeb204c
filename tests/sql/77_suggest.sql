-- vigil.suggest: a starting contract from the rows already there, each suggestion with the
-- statement that declares it; apply_suggestions declares them in one transaction, and they pass
-- vigil.validate on the rows they came from.
CREATE TABLE readings (id bigint, taken_at timestamptz, sensor text, code text, celsius float8, note text, batch int);
INSERT INTO readings
SELECT g, timestamptz '2024-01-01' + g * interval '1 hour', (ARRAY['north', 'south', 'east'])[1 + g % 3],
       'SN-' || lpad((g % 977)::text, 4, '0'), 10 + (g % 200) / 10.0,
       CASE WHEN g % 10 = 0 THEN NULL ELSE 'ok' END, 7
  FROM generate_series(1, 2000) g;
SELECT column_name, kind, params, on_violation, mostly, reason, statement FROM vigil.suggest('readings');
-- A sample: suggestions from about 500 of the rows (the same ones on every call).
SELECT (SELECT count(*) FROM vigil.suggest('readings', sample_rows => 500)) > 0 AS suggested,
       (SELECT array_agg(statement) FROM vigil.suggest('readings', sample_rows => 500))
     = (SELECT array_agg(statement) FROM vigil.suggest('readings', sample_rows => 500)) AS repeatable;
-- Of some kinds only; what is declared is not suggested again.
SELECT column_name, kind, statement FROM vigil.apply_suggestions('readings', kinds => ARRAY['not_null', 'unique', 'in_set']);
SELECT count(*) AS still_suggested FROM vigil.suggest('readings') WHERE kind IN ('not_null', 'unique', 'in_set');
SELECT count(*) AS declared FROM vigil.apply_suggestions('readings');
SELECT constraint_name, kind, success FROM vigil.validate('readings') ORDER BY constraint_name;
SELECT count(*) AS watched FROM vigil.freshness WHERE relid = 'readings'::regclass;
-- Values reach the statements as literals whatever standard_conforming_strings says: a value
-- made to break out of a naive quoting is declared as itself.
CREATE TABLE tricky (label text);
INSERT INTO tricky SELECT (ARRAY[$$a\'); DROP TABLE tricky; --$$, 'plain'])[1 + g % 2] FROM generate_series(1, 40) g;
SET standard_conforming_strings = off;
SELECT kind, statement FROM vigil.apply_suggestions('tricky', kinds => ARRAY['in_set']);
RESET standard_conforming_strings;
SELECT params->'values' AS declared_values, (SELECT bool_and(success) FROM vigil.validate('tricky')) AS passes
  FROM vigil.constraints WHERE relid = 'tricky'::regclass;
SET client_min_messages = warning;
DROP TABLE tricky;
RESET client_min_messages;
-- A wide table (more columns than one query's target list could profile at once).
DO $$ BEGIN
    EXECUTE (SELECT format('CREATE TABLE wide (%s)', string_agg(format('c%s int DEFAULT %s', i, i), ', ')) FROM generate_series(1, 300) i);
END $$;
INSERT INTO wide SELECT FROM generate_series(1, 5);
SELECT count(*) AS suggestions_for_300_columns FROM vigil.suggest('wide');
DROP TABLE wide;
-- Bad input changes nothing.
SELECT try($$SELECT * FROM vigil.suggest('readings', sample_rows => 0)$$);
SELECT try($$SELECT * FROM vigil.apply_suggestions('readings', kinds => ARRAY['not_nul'])$$);
SELECT try($$SELECT * FROM vigil.suggest('no_such_table')$$);
CREATE ROLE suggest_stranger;
SET ROLE suggest_stranger;
SELECT try($$SELECT * FROM vigil.suggest('readings')$$);
RESET ROLE;
DROP ROLE suggest_stranger;
SET client_min_messages = warning;
DROP TABLE readings;
RESET client_min_messages;
