-- Expectations over several values: column pairs, sums, values distinct within a row, unique
-- and compound unique per batch, order per batch, distinct value sets, the table's shape, LIKE
-- patterns and pattern lists. Great Expectations' semantics; reject, warn, quarantine where a
-- row can be judged alone.
CREATE TABLE m (id int, lo float8, hi float8, a int, b int, c int, code text, ts timestamptz);
SELECT vigil.expect_pair_greater('m', 'hi', 'lo', or_equal => true);
SELECT vigil.expect_sum_equal('m', ARRAY['a', 'b', 'c'], 10, on_violation => 'quarantine');
SELECT vigil.expect_unique_within_record('m', ARRAY['a', 'b'], on_violation => 'warn');
SELECT vigil.expect_unique('m', 'id');
SELECT vigil.expect_compound_unique('m', ARRAY['code', 'a'], on_violation => 'warn');
SELECT vigil.expect_increasing('m', 'ts', on_violation => 'warn');
SELECT vigil.expect_distinct_in_set('m', 'code', ARRAY['x1', 'x2', 'y1'], on_violation => 'warn');
SELECT vigil.expect_like('m', 'code', '_1%', on_violation => 'warn', name => 'code_like');
SELECT vigil.expect_match_list('m', 'code', ARRAY['^[xy]', '[0-9]$'], match_on => 'all', on_violation => 'warn');
SELECT constraint_name, column_name, kind, on_violation, params FROM vigil.constraints
 WHERE relid = 'm'::regclass ORDER BY 1;

-- A clean batch passes everything.
INSERT INTO m VALUES (1, 0, 1, 2, 3, 5, 'x1', '2024-01-01'), (2, 1, 1, 4, 5, 1, 'y1', '2024-01-02');
-- hi below lo rejects the statement (23514) naming both columns.
SELECT try($$INSERT INTO m VALUES (3, 2, 1, 2, 3, 5, 'x1', '2024-01-03')$$);
-- The same id twice in one statement is rejected; in two statements it is not (per batch).
SELECT try($$INSERT INTO m VALUES (4, 0, 1, 2, 3, 5, 'x1', '2024-01-03'), (4, 0, 1, 2, 3, 5, 'x2', '2024-01-04')$$);
INSERT INTO m VALUES (1, 0, 1, 2, 3, 5, 'x2', '2024-01-03');
-- A sum other than 10 is quarantined (nothing lost); the rest of the batch is stored.
INSERT INTO m VALUES (5, 0, 1, 1, 1, 1, 'x1', '2024-01-05'), (6, 0, 1, 5, 4, 1, 'x2', '2024-01-06');
SELECT id, a, b, c FROM m ORDER BY id, code;
SELECT constraint_names, row_data->>'id' AS id FROM vigil.quarantine WHERE relid = 'm'::regclass;
-- Release judges the row-local multi-column rules again: the row still fails, so it stays as it
-- was (same id).
SELECT vigil.release_quarantine('m') AS released,
       (SELECT count(*) FROM vigil.quarantine WHERE relid = 'm'::regclass AND row_data->>'id' = '5') AS still_quarantined;
-- Warnings: a value repeated within a row, a repeated (code, a), time going back, a code
-- outside the set and not of the shape; all rows kept.
INSERT INTO m VALUES (7, 0, 1, 4, 4, 2, 'z9', '2024-01-07'), (8, 0, 1, 4, 4, 2, 'z9', '2024-01-02');
SELECT constraint_name, column_name, unexpected_count, action, sample FROM vigil.violations
 WHERE relid = 'm'::regclass ORDER BY 1, 2;

-- validate judges the whole table: id 1 is there twice now.
SELECT constraint_name, kind, element_count, missing_count, unexpected_count, success, partial_unexpected_list
  FROM vigil.validate('m') ORDER BY 1;

-- Renaming a column is followed; dropping any column of a multi-column expectation drops it.
ALTER TABLE m RENAME COLUMN b TO b2;
SELECT constraint_name, column_name, params->'columns' AS columns FROM vigil.constraints
 WHERE relid = 'm'::regclass AND kind IN ('sum_equal', 'unique_within_record') ORDER BY 1;
INSERT INTO m VALUES (9, 0, 1, 5, 5, 0, 'x1', '2024-01-09');
ALTER TABLE m DROP COLUMN c;
SELECT constraint_name FROM vigil.constraints WHERE relid = 'm'::regclass ORDER BY 1;
-- With the sum rule gone, the quarantined row goes back in (and meets the remaining rules).
SELECT vigil.release_quarantine('m') AS released_after_the_rule_went;

-- The table's shape: judged from the catalog when rules compile, so DDL changes the verdict.
CREATE TABLE s (k int, v text);
SELECT vigil.expect_columns_match_set('s', ARRAY['k', 'v']);
SELECT vigil.expect_column_count_equal('s', 2, on_violation => 'warn');
SELECT vigil.expect_column_to_exist('s', 'v', column_index => 1);
INSERT INTO s VALUES (1, 'a');
ALTER TABLE s ADD COLUMN extra int;
SELECT try($$INSERT INTO s VALUES (2, 'b')$$);
SELECT constraint_name, kind, success, partial_unexpected_list FROM vigil.validate('s') ORDER BY 1;
ALTER TABLE s DROP COLUMN extra;
INSERT INTO s VALUES (3, 'c');
SELECT count(*) FROM s;

-- Increasing by the watched time column: rows written out of order still pass.
CREATE TABLE o (ts timestamptz, seq int);
SELECT vigil.watch('o', 'ts') > 0 AS watched;
SELECT vigil.expect_increasing('o', 'seq', strictly => true);
INSERT INTO o VALUES ('2024-01-03', 3), ('2024-01-01', 1), ('2024-01-02', 2);
SELECT try($$INSERT INTO o VALUES ('2024-01-05', 5), ('2024-01-04', 6)$$);

-- A partitioned table: rules declared on the root judge writes into any partition.
CREATE TABLE p (day date, x int, y int) PARTITION BY RANGE (day);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
SELECT vigil.expect_pair_equal('p', 'x', 'y', ignore_row_if => 'either_value_is_missing');
INSERT INTO p VALUES ('2024-01-01', 1, 1), ('2024-01-02', 2, NULL);
SELECT try($$INSERT INTO p1 VALUES ('2024-01-03', 1, 2)$$);

-- numeric keys are exact (beyond a double's precision; 2 and 2.0 are one value); date sets are
-- kept in ISO 8601, whatever the DateStyle they were written in.
CREATE TABLE n (big numeric, d date);
SELECT vigil.expect_unique('n', 'big');
INSERT INTO n VALUES (12345678901234567890, '2024-01-01'), (12345678901234567891, '2024-01-02');
SELECT try($$INSERT INTO n VALUES (2.0, NULL), (2, NULL)$$);
SET DateStyle = 'SQL, DMY';
SELECT vigil.expect_distinct_in_set('n', 'd', ARRAY['01/02/2024'::date, '02/01/2024'::date], on_violation => 'warn');
RESET DateStyle;
SELECT params->'values' AS iso_values FROM vigil.constraints WHERE relid = 'n'::regclass AND kind = 'distinct_in_set';
INSERT INTO n VALUES (1, '2024-02-01'), (3, '2024-03-01');
-- A column type change that leaves a rule unable to judge is refused.
CREATE TABLE q (a int, b int);
SELECT vigil.expect_pair_greater('q', 'a', 'b');
SELECT try($$ALTER TABLE q ALTER COLUMN b TYPE text$$);

-- Bad input: clear SQLSTATEs, nothing stored.
SELECT try($$SELECT vigil.expect_pair_greater('m', 'hi', 'code')$$);
SELECT try($$SELECT vigil.expect_pair_greater('m', 'hi', 'nope')$$);
SELECT try($$SELECT vigil.expect_sum_equal('m', ARRAY['a', 'code'], 1)$$);
SELECT try($$SELECT vigil.expect_sum_equal('m', ARRAY['a'], NULL)$$);
SELECT try($$SELECT vigil.expect_unique('m', 'id', on_violation => 'quarantine')$$);
SELECT try($$SELECT vigil.expect_pair_equal('m', 'a', 'id', on_violation => 'clamp')$$);
SELECT try($$SELECT vigil.expect_compound_unique('m', ARRAY['a', 'a'])$$);
SELECT try($$SELECT vigil.expect_compound_unique('m', ARRAY[]::text[])$$);
SELECT try($$SELECT vigil.expect_unique_within_record('m', ARRAY['a', 'id'], ignore_row_if => 'sometimes')$$);
SELECT try($$SELECT vigil.expect_distinct_equal_set('m', 'id', NULL::int[])$$);
SELECT try($$SELECT vigil.expect_distinct_in_set('m', 'id', ARRAY['one'])$$);
SELECT try($$SELECT vigil.expect_like('m', 'code', 'ab\')$$);
SELECT try($$SELECT vigil.expect_match_list('m', 'code', ARRAY['('])$$);
SELECT try($$SELECT vigil.expect_match_list('m', 'code', ARRAY[]::text[])$$);
SELECT try($$SELECT vigil.expect_like_list('m', 'code', ARRAY['a%'], match_on => 'some')$$);
SELECT try($$SELECT vigil.expect_column_count_between('m', 5, 2)$$);
SELECT try($$SELECT vigil.expect_column_count_equal('m', NULL)$$);
SELECT try($$SELECT vigil.expect_column_to_exist('m', 'id', column_index => -1)$$);
SELECT try($$SELECT vigil.expect_columns_match_set('m', ARRAY['id'], on_violation => 'quarantine')$$);
SELECT count(*) AS constraints_on_m FROM vigil.constraints WHERE relid = 'm'::regclass;
-- (The NOTICEs of dropped constraints come in no fixed order across tables.)
SET client_min_messages = warning;
DROP TABLE m, s, o, p, n, q;
RESET client_min_messages;
