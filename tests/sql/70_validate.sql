-- vigil.validate(tbl): one row per constraint over the table's current rows (GE semantics).

-- 10 rows: 6 in range, 2 out of range, 2 NULL. Rules are declared after loading the data.
CREATE TABLE v_t (id int, x int, s text);
INSERT INTO v_t VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c'), (4, 4, 'd'), (5, 5, 'e'),
                       (6, 6, 'f'), (7, 50, 'g'), (8, 60, 'h'), (9, NULL, 'i'), (10, NULL, 'j');
SELECT vigil.expect_between('v_t', 'x', 0, 10);
SELECT vigil.expect_not_null('v_t', 'x');
SELECT vigil.expect_between('v_t', 'x', 0, 10, mostly => 0.75, name => 'x_mostly_75');
SELECT vigil.expect_between('v_t', 'x', 0, 10, mostly => 0.8, name => 'x_mostly_80');
SELECT vigil.expect_in_set('v_t', 's', ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);

-- between: unexpected_percent = 2 / 8 non-NULL = 25; not_null: 2 / 10 = 20.
SELECT constraint_name, column_name, kind, element_count, missing_count, unexpected_count,
       unexpected_percent, success, partial_unexpected_list
  FROM vigil.validate('v_t') ORDER BY constraint_name;

-- validate reads the table as it is now: fix one row, the counts follow.
UPDATE v_t SET x = 7 WHERE id = 7;
SELECT constraint_name, unexpected_count, unexpected_percent, success
  FROM vigil.validate('v_t') WHERE kind = 'between' ORDER BY constraint_name;

-- An empty table: unexpected_percent NULL and success true.
CREATE TABLE v_empty (x int);
SELECT vigil.expect_between('v_empty', 'x', 0, 1);
SELECT vigil.expect_not_null('v_empty', 'x');
SELECT constraint_name, element_count, missing_count, unexpected_count, unexpected_percent, success,
       partial_unexpected_list
  FROM vigil.validate('v_empty') ORDER BY constraint_name;
-- A column of only NULLs (loaded under warn rules): between has nothing to judge
-- (NULL percent, success true); not_null fails at 100%.
CREATE TABLE v_nulls (x int);
SELECT vigil.expect_between('v_nulls', 'x', 0, 1, on_violation => 'warn');
SELECT vigil.expect_not_null('v_nulls', 'x', on_violation => 'warn');
INSERT INTO v_nulls VALUES (NULL), (NULL);
SELECT constraint_name, element_count, missing_count, unexpected_count, unexpected_percent, success
  FROM vigil.validate('v_nulls') ORDER BY constraint_name;

-- partial_unexpected_list holds at most 20 values; counts are complete.
CREATE TABLE v_big (x int);
INSERT INTO v_big SELECT g FROM generate_series(1, 1000) g;
SELECT vigil.expect_between('v_big', 'x', 1, 900);
SELECT vigil.expect_between('v_big', 'x', 1, 995, mostly => 0.99, name => 'v_big_mostly');
SELECT constraint_name, element_count, unexpected_count, unexpected_percent, success,
       jsonb_array_length(partial_unexpected_list) AS listed,
       (SELECT bool_and((v #>> '{}')::int > 900) FROM jsonb_array_elements(partial_unexpected_list) v) AS listed_are_bad
  FROM vigil.validate('v_big') ORDER BY constraint_name;

-- Text kinds, and a renamed column is validated under its new name.
CREATE TABLE v_txt (code text, f float8);
INSERT INTO v_txt VALUES ('AB1', 1), ('ab2', 'NaN'), ('CD33', 'Infinity'), (NULL, NULL);
SELECT vigil.expect_match('v_txt', 'code', '^[A-Z]{2}\d$');
SELECT vigil.expect_length_between('v_txt', 'code', 3, 3);
SELECT vigil.expect_finite('v_txt', 'f');
ALTER TABLE v_txt RENAME COLUMN code TO product_code;
SELECT constraint_name, column_name, kind, element_count, missing_count, unexpected_count,
       round(unexpected_percent::numeric, 2) AS unexpected_percent, success, partial_unexpected_list
  FROM vigil.validate('v_txt') ORDER BY constraint_name;

-- A partitioned table is validated across all its partitions.
CREATE TABLE v_p (k int, v int) PARTITION BY RANGE (k);
CREATE TABLE v_p1 PARTITION OF v_p FOR VALUES FROM (0) TO (10);
CREATE TABLE v_p2 PARTITION OF v_p FOR VALUES FROM (10) TO (20);
INSERT INTO v_p VALUES (1, 1), (2, 100), (11, 1), (12, 200);
SELECT vigil.expect_between('v_p', 'v', 0, 10, on_violation => 'warn');
SELECT element_count, unexpected_count, unexpected_percent, success, partial_unexpected_list
  FROM vigil.validate('v_p');

-- A table without constraints returns no rows.
CREATE TABLE v_none (x int);
SELECT count(*) FROM vigil.validate('v_none');

-- Great Expectations' semantics where a declaration looks odd but means something (tests/ge
-- runs GE's own cases): neither bound is vacuously true; an empty set fails every value for
-- in_set and none for not_in_set; length bounds the wrong way round fail every value; a mean
-- with no values to compute it from fails. Each is accepted with a NOTICE saying so.
CREATE TABLE v_ge (n int, f float8, r real, t text, e int);
INSERT INTO v_ge VALUES (1, 1.5, 1.1, 'ab', NULL), (2, 2.5, 2.2, 'abc', NULL), (3, NULL, NULL, NULL, NULL);
SELECT vigil.expect_between('v_ge', 'n', NULL::int, NULL::int, on_violation => 'warn');
SELECT vigil.expect_in_set('v_ge', 't', ARRAY[]::text[], on_violation => 'warn', name => 'v_ge_empty_in');
SELECT vigil.expect_not_in_set('v_ge', 't', ARRAY[]::text[], on_violation => 'warn', name => 'v_ge_empty_not_in');
SELECT vigil.expect_length_between('v_ge', 't', 5, 3, on_violation => 'warn');
SELECT vigil.expect_mean_between('v_ge', 'e', 0, 10, on_violation => 'warn');
SELECT vigil.expect_mean_between('v_ge', 'n', on_violation => 'warn', name => 'v_ge_mean_vacuous');
-- Sets on float columns, by PostgreSQL's equality (a real column's 1.1 is the float4 nearest it).
SELECT vigil.expect_in_set('v_ge', 'f', ARRAY[1.5, 2.5]::float8[], on_violation => 'warn');
SELECT vigil.expect_not_in_set('v_ge', 'r', ARRAY[1.1]::real[], on_violation => 'warn');
SELECT constraint_name, element_count, missing_count, unexpected_count, success, partial_unexpected_list
  FROM vigil.validate('v_ge') ORDER BY constraint_name;
-- The same on the write path: reject mode refuses a float outside the set.
SELECT vigil.expect_in_set('v_ge', 'f', ARRAY[1.5, 2.5, 'NaN']::float8[], name => 'v_ge_f_strict');
SELECT try($$INSERT INTO v_ge (f) VALUES (3.5)$$) AS outside_set;
SELECT try($$INSERT INTO v_ge (f) VALUES ('NaN'), (-0.0 + 1.5)$$) AS inside_set;
SELECT try($$SELECT vigil.expect_in_set('v_ge', 'f', ARRAY['one'], name => 'v_ge_bad_set')$$) AS not_a_number;

-- Minimum, maximum, sum and median of a batch, and lengths equal (GE's expectations of those
-- names): over the table in validate, per batch on the write path.
CREATE TABLE v_agg (x float8, s text);
INSERT INTO v_agg VALUES (1, 'ab'), (2, 'cd'), (3, 'ef'), (10, NULL);
SELECT vigil.expect_min_between('v_agg', 'x', 0, 1);
SELECT vigil.expect_max_between('v_agg', 'x', max => 5, on_violation => 'warn');
SELECT vigil.expect_sum_between('v_agg', 'x', 16, 16);
SELECT vigil.expect_median_between('v_agg', 'x', 2.5, 2.5);
SELECT vigil.expect_length_equal('v_agg', 's', 2);
SELECT constraint_name, kind, success, partial_unexpected_list FROM vigil.validate('v_agg') ORDER BY 1;
SELECT try($$INSERT INTO v_agg VALUES (-1, 'gh')$$) AS min_below;
SELECT try($$INSERT INTO v_agg VALUES (0.5, 'xyz')$$) AS too_long;
SELECT try($$SELECT vigil.expect_sum_between('v_agg', 'x')$$) AS sum_without_bounds;
SELECT try($$SELECT vigil.expect_min_between('v_agg', 's', 0, 1)$$) AS min_of_text;

-- expect_null: every value NULL; over all rows, like not_null; set_null repairs.
CREATE TABLE v_null (a int, b text);
INSERT INTO v_null VALUES (NULL, 'x'), (NULL, NULL), (3, NULL);
SELECT vigil.expect_null('v_null', 'a', on_violation => 'warn');
SELECT vigil.expect_null('v_null', 'b', mostly => 0.6, on_violation => 'warn');
SELECT constraint_name, element_count, missing_count, unexpected_count, round(unexpected_percent::numeric, 2), success, partial_unexpected_list
  FROM vigil.validate('v_null') ORDER BY 1;
SELECT vigil.drop_constraint('v_null', 'v_null_a_null');
SELECT vigil.expect_null('v_null', 'a', on_violation => 'set_null', name => 'v_null_a_repaired');
INSERT INTO v_null VALUES (7, NULL);
SELECT a, b FROM v_null ORDER BY b NULLS FIRST, a NULLS FIRST;

-- Distinct value counts, an exact row count, and pattern lists (any of them, or none).
CREATE TABLE v_more (c text);
INSERT INTO v_more VALUES ('a1'), ('b2'), ('a1'), ('zz'), (NULL);
SELECT vigil.expect_unique_count_between('v_more', 'c', 2, 3, on_violation => 'warn');
SELECT vigil.expect_row_count_equal('v_more', 5, on_violation => 'warn');
SELECT vigil.expect_match_any('v_more', 'c', ARRAY['^a', '^b'], on_violation => 'warn');
SELECT vigil.expect_not_match_any('v_more', 'c', ARRAY['z', '[0-9]{2}'], on_violation => 'warn');
SELECT constraint_name, kind, success, partial_unexpected_list FROM vigil.validate('v_more') ORDER BY 1;
SELECT try($$SELECT vigil.expect_unique_count_between('v_more', 'c')$$) AS no_bounds;
