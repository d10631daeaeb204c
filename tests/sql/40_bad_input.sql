-- Bad declarations are refused with a clear error and SQLSTATE, and change nothing.
CREATE TABLE b_t (i int NOT NULL, n int, t text, f float8, d date);
CREATE VIEW b_view AS SELECT * FROM b_t;
CREATE TABLE b_parted (k int, v int) PARTITION BY RANGE (k);
CREATE TABLE b_part1 PARTITION OF b_parted FOR VALUES FROM (0) TO (10);
SELECT vigil.expect_between('b_t', 'n', 0, 10, name => 'b_existing');

-- bad(sql): the error line, then how many constraints the b_* tables have afterwards (always 1).
CREATE FUNCTION b_bad(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    r := try(sql);
    RETURN r || ' [constraints: ' || (SELECT count(*) FROM vigil.constraint_def
                                       WHERE relid IN ('b_t'::regclass, 'b_parted'::regclass,
                                                       'b_part1'::regclass, 'b_view'::regclass)) || ']';
END $$;

-- unknown table / column
SELECT b_bad($$SELECT vigil.expect_not_null('b_nope', 'i')$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'nope')$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'ctid')$$);
-- rule kind does not fit the column type
SELECT b_bad($$SELECT vigil.expect_between('b_t', 't', 'a'::text, 'b'::text)$$);
SELECT b_bad($$SELECT vigil.expect_match('b_t', 'n', '^1')$$);
SELECT b_bad($$SELECT vigil.expect_finite('b_t', 'n')$$);
SELECT b_bad($$SELECT vigil.expect_length_between('b_t', 'f', 1, 2)$$);
-- bounds
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'n', 10, 1)$$);
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'n', 5, 5, strict_max => true)$$);
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'f', 'NaN'::float8, 1::float8)$$);
-- date bounds are named as written
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'd', '2024-02-01'::date, '2024-01-01'::date)$$);
-- rules no value could pass: no integer in [0.2, 0.8], no whole date from noon to that day
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'n', 0.2, 0.8)$$);
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'd', '2024-01-10 12:00'::timestamp, '2024-01-10 18:00'::timestamp)$$);
-- bounds of another kind than the column: numbers for a date, dates for an integer
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'd', 0, 10)$$);
SELECT b_bad($$SELECT vigil.expect_length_between('b_t', 't', -1, 3)$$);
-- regular expressions: syntax errors, and lookaround (not Rust regex syntax)
-- (first line of the message, whether the parser's reason is given, and the constraint count)
SELECT split_part(r, E'\n', 1) AS error, r ~ 'unclosed group' AS reason, r LIKE '%[constraints: 1]' AS unchanged
  FROM b_bad($$SELECT vigil.expect_match('b_t', 't', '(')$$) r;
SELECT split_part(r, E'\n', 1) AS error, r ~ 'look-around' AS reason, r LIKE '%[constraints: 1]' AS unchanged
  FROM b_bad($$SELECT vigil.expect_match('b_t', 't', '(?=a)')$$) r;
SELECT split_part(r, E'\n', 1) AS error, r ~ 'look-around' AS reason, r LIKE '%[constraints: 1]' AS unchanged
  FROM b_bad($$SELECT vigil.expect_not_match('b_t', 't', 'a(?!b)')$$) r;
SELECT b_bad($$SELECT vigil.expect_match('b_t', 't', NULL)$$);
-- on_violation
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', on_violation => 'explode')$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', on_violation => 'clamp')$$);
SELECT b_bad($$SELECT vigil.expect_match('b_t', 't', 'x', on_violation => 'clamp')$$);
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'n', 0, 10, strict_min => true, on_violation => 'clamp')$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', on_violation => 'set_null')$$);
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'i', 0, 10, on_violation => 'set_null')$$);
-- mostly
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', mostly => 0)$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', mostly => 1.5)$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', mostly => -0.5)$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', mostly => 'NaN')$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', on_violation => 'quarantine', mostly => 0.9)$$);
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'n', 0, 1, on_violation => 'clamp', mostly => 0.9)$$);
-- NULL arguments
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', NULL)$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', on_violation => NULL)$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', mostly => NULL)$$);
SELECT b_bad($$SELECT vigil.expect_not_null(NULL, 'n')$$);
SELECT b_bad($$SELECT vigil.expect_in_set('b_t', 'n', NULL::int[])$$);
-- names
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', name => 'b_existing')$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_t', 'n', name => '')$$);
-- wrong kind of relation
SELECT b_bad($$SELECT vigil.expect_not_null('b_view', 'i')$$);
SELECT b_bad($$SELECT vigil.expect_not_null('b_part1', 'v')$$);
-- value sets
SELECT b_bad($$SELECT vigil.expect_in_set('b_t', 'n', ARRAY[1.5])$$);
SELECT b_bad($$SELECT vigil.expect_not_in_set('b_t', 'n', ARRAY['1', 'x'])$$);
-- bounds that do not parse for the column type
SELECT b_bad($$SELECT vigil.expect_between('b_t', 'n', '2024-01-01'::date, '2024-02-01'::date)$$);

-- drop_constraint of an unknown name; with if_exists => true it returns false with a NOTICE.
SELECT b_bad($$SELECT vigil.drop_constraint('b_t', 'no_such_rule')$$);
SELECT vigil.drop_constraint('b_t', 'no_such_rule', if_exists => true);
SELECT b_bad($$SELECT vigil.drop_constraint('b_nope', 'x', if_exists => true)$$);

-- the one good constraint is still there and still works.
SELECT constraint_name, column_name, kind FROM vigil.constraints
 WHERE relid IN ('b_t'::regclass, 'b_parted'::regclass) ORDER BY 1;
SELECT try($$INSERT INTO b_t (i, n) VALUES (1, 11)$$);
SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('b_parted'::regclass, 'b_part1'::regclass);
