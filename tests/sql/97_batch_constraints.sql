-- Batch-level constraints: an aggregate of a column (or the row count) over each write batch,
-- with Great Expectations' semantics; 'reject' fails the statement like a CHECK (23514),
-- 'warn' keeps the rows and records the observed value.
CREATE TABLE g (id int, score float8, tag text, doc jsonb);
SELECT vigil.expect_mean_between('g', 'score', 0, 1);
SELECT vigil.expect_completeness('g', 'tag', 0.9, on_violation => 'warn');
SELECT vigil.expect_row_count_between('g', 1, 1000);
SELECT vigil.expect_quantile_between('g', 'score', 0.5, max => 0.8, on_violation => 'warn');
SELECT vigil.expect_unique_fraction_between('g', 'id', 0.99);
SELECT vigil.expect_stddev_between('g', 'score', max => 0.5, strict_max => true, on_violation => 'warn');
SELECT constraint_name, column_name, kind, on_violation, params FROM vigil.constraints
 WHERE relid = 'g'::regclass ORDER BY 1;

-- A good batch passes; one with too many missing tags passes with a warning and a record.
INSERT INTO g SELECT i, i / 100.0, 't' FROM generate_series(1, 20) i;
INSERT INTO g SELECT i, i / 100.0, CASE WHEN i % 5 <> 0 THEN 't' END FROM generate_series(21, 70) i;
-- The mean, the distinct share and the row count reject whole statements (nothing is written).
INSERT INTO g SELECT i, 5, 't' FROM generate_series(1, 10) i;
INSERT INTO g SELECT 1, 0.1, 't' FROM generate_series(1, 10) i;
SELECT try($$INSERT INTO g SELECT i, 0.5, 't' FROM generate_series(1, 2000) i$$) AS too_many_rows;
COPY g (id, score, tag) FROM stdin (FORMAT csv);
100,7,t
101,9,t
\.
-- An UPDATE is a batch of the new row versions.
SELECT try($$UPDATE g SET score = score + 10 WHERE id <= 5$$) AS update_shifting_the_mean;
UPDATE g SET score = score + 0.01 WHERE id <= 5;
-- A statement that writes nothing is no batch.
INSERT INTO g SELECT * FROM g WHERE false;
SELECT count(*) AS rows_kept, round(avg(score)::numeric, 4) AS mean FROM g;
SELECT constraint_name, column_name, batch_rows, unexpected_count, action, sample FROM vigil.violations
 WHERE relid = 'g'::regclass ORDER BY violation_id;

-- vigil.validate judges them over the whole table with exact aggregates.
SELECT constraint_name, column_name, kind, element_count, missing_count, unexpected_count, success, partial_unexpected_list
  FROM vigil.validate('g') ORDER BY constraint_name;

-- Bad input changes nothing.
SELECT try($$SELECT vigil.expect_mean_between('g', 'tag', 0, 1)$$) AS mean_of_text;
SELECT try($$SELECT vigil.expect_mean_between('g', 'score', 2, 1)$$) AS min_above_max;
SELECT try($$SELECT vigil.expect_completeness('g', 'tag', 1.5)$$) AS fraction_above_one;
SELECT try($$SELECT vigil.expect_completeness('g', 'tag', 0.5, on_violation => 'quarantine')$$) AS quarantine_a_batch;
SELECT try($$SELECT vigil.expect_quantile_between('g', 'score', NULL, 0, 1)$$) AS no_quantile;
SELECT try($$SELECT vigil.expect_quantile_between('g', 'score', 2, 0, 1)$$) AS quantile_above_one;
SELECT try($$SELECT vigil.expect_row_count_between('g', -1, 5)$$) AS negative_count;
SELECT try($$SELECT vigil.expect_unique_fraction_between('g', 'doc', 0.5)$$) AS distinct_jsonb;
SELECT try($$SELECT vigil.expect_completeness('g', 'nope', 0.5)$$) AS unknown_column;
SELECT try($$SELECT vigil.expect_completeness('g', NULL, 0.5)$$) AS null_column;
SELECT try($$SELECT vigil.expect_mean_between('g', 'score', 0, 1, name => 'g_score_mean_between')$$) AS duplicate_name;
SELECT count(*) AS constraints_unchanged FROM vigil.constraints WHERE relid = 'g'::regclass;
-- Any column can have a completeness constraint; only its NULLs are counted.
SELECT vigil.expect_completeness('g', 'doc', 0.5, on_violation => 'warn');
INSERT INTO g (id, score, tag, doc) VALUES (200, 0.2, 't', '{}'), (201, 0.3, 't', NULL), (202, 0.4, 't', NULL);
SELECT constraint_name, batch_rows, sample FROM vigil.violations
 WHERE relid = 'g'::regclass AND constraint_name = 'g_doc_completeness';
-- Only the owner declares.
CREATE ROLE g_other;
GRANT USAGE ON SCHEMA public TO g_other;
SET ROLE g_other;
SELECT try($$SELECT vigil.expect_row_count_between('g', 1, 2)$$) AS not_owner;
RESET ROLE;
REVOKE USAGE ON SCHEMA public FROM g_other;
DROP ROLE g_other;
SELECT vigil.drop_constraint('g', 'g_row_count_between');
INSERT INTO g SELECT i, 0.5, 't' FROM generate_series(1000, 3000) i;
SELECT count(*) AS rows_after_dropping_the_row_count FROM g;

-- On a watched table, 'warn' constraints on watched columns (or the row count) wait for the
-- window; one on a column the table does not watch is still judged per batch.
CREATE TABLE g2 (ts timestamptz, score float8, tag text);
SELECT vigil.watch('g2', time_column => 'ts', columns => ARRAY['score']);
SELECT vigil.expect_completeness('g2', 'score', 0.9, on_violation => 'warn');
SELECT vigil.expect_completeness('g2', 'tag', 0.9, on_violation => 'warn');
INSERT INTO g2 SELECT '2024-01-01', NULL, NULL FROM generate_series(1, 10);
SELECT constraint_name, batch_rows, sample->0->'observed_value' AS observed FROM vigil.violations
 WHERE relid = 'g2'::regclass ORDER BY violation_id;
