-- Every write path is checked: INSERT forms, COPY (text, csv, binary), UPDATE, upsert,
-- partitions, other schemas, quoted names, and rollbacks leave no records.

CREATE TABLE w_t (id int PRIMARY KEY, v int);
SELECT vigil.expect_between('w_t', 'v', 0, 100);

-- INSERT: single row, multi-row, INSERT ... SELECT.
INSERT INTO w_t VALUES (1, 1);
INSERT INTO w_t VALUES (2, 2), (3, 3);
INSERT INTO w_t SELECT g, g FROM generate_series(4, 6) g;
SELECT try($$INSERT INTO w_t VALUES (7, 101)$$) ~ '^23514' AS single_bad;
-- a statement rejected at its 3rd row leaves rows 1-2 out too.
SELECT try($$INSERT INTO w_t VALUES (7, 7), (8, 8), (9, 999), (10, 10)$$) ~ '^23514' AS multi_bad_third;
SELECT try($$INSERT INTO w_t SELECT g, g * 50 FROM generate_series(7, 9) g$$) ~ '^23514' AS select_bad_third;
SELECT count(*), max(id) FROM w_t;

-- COPY FROM stdin, text format.
COPY w_t FROM stdin;
7	7
8	8
\.
-- a bad line in COPY text rejects the whole COPY.
COPY w_t FROM stdin;
9	9
10	10
11	-1
\.
SELECT count(*), max(id) FROM w_t;

-- COPY FROM stdin, csv format.
COPY w_t (id, v) FROM stdin WITH (FORMAT csv, HEADER true);
id,v
9,9
10,
\.
COPY w_t (id, v) FROM stdin WITH (FORMAT csv);
11,11
12,500
\.
SELECT count(*), max(id), count(v) FROM w_t;

-- COPY binary: a good file loads, a bad file is refused as a whole.
COPY (SELECT g, g FROM generate_series(11, 15) g) TO '/tmp/vigil_regress.bin' (FORMAT binary);
COPY w_t FROM '/tmp/vigil_regress.bin' (FORMAT binary);
COPY (SELECT g, g * 10 FROM generate_series(16, 20) g) TO '/tmp/vigil_regress.bin' (FORMAT binary);
SELECT try($$COPY w_t FROM '/tmp/vigil_regress.bin' (FORMAT binary)$$) ~ '^23514' AS binary_bad_rejected;
SELECT count(*), max(id) FROM w_t;

-- UPDATE: new values are checked; a failing UPDATE changes nothing.
UPDATE w_t SET v = v + 1 WHERE id <= 3;
SELECT try($$UPDATE w_t SET v = v * 10$$) ~ '^23514' AS update_rejected;
SELECT try($$UPDATE w_t SET v = NULL WHERE id = 1$$) AS update_to_null_ok;
SELECT id, v FROM w_t WHERE id <= 4 ORDER BY id;
SELECT sum(v) FROM w_t;

-- INSERT ... ON CONFLICT DO UPDATE: both the inserted and the updated rows are checked.
INSERT INTO w_t VALUES (2, 20), (100, 100) ON CONFLICT (id) DO UPDATE SET v = excluded.v;
SELECT try($$INSERT INTO w_t VALUES (3, 300) ON CONFLICT (id) DO UPDATE SET v = excluded.v$$) ~ '^23514' AS upsert_update_bad;
SELECT try($$INSERT INTO w_t VALUES (101, 300) ON CONFLICT (id) DO UPDATE SET v = excluded.v$$) ~ '^23514' AS upsert_insert_bad;
SELECT try($$INSERT INTO w_t VALUES (3, 5) ON CONFLICT (id) DO UPDATE SET v = w_t.v + 1000$$) ~ '^23514' AS upsert_update_expr_bad;
SELECT id, v FROM w_t WHERE id IN (2, 3, 100, 101) ORDER BY id;

-- Partitioned table: a constraint on the parent covers every path into every partition.
CREATE TABLE w_part (k int, v int) PARTITION BY RANGE (k);
CREATE TABLE w_part_1 PARTITION OF w_part FOR VALUES FROM (0) TO (100);
SELECT vigil.expect_between('w_part', 'v', 0, 10);
INSERT INTO w_part VALUES (1, 1);
SELECT try($$INSERT INTO w_part VALUES (2, 11)$$) ~ '^23514' AS via_parent;
SELECT try($$INSERT INTO w_part_1 VALUES (3, 11)$$) ~ '^23514' AS into_partition;
SELECT try($$UPDATE w_part_1 SET v = 50$$) ~ '^23514' AS update_partition;
-- a partition created later.
CREATE TABLE w_part_2 PARTITION OF w_part FOR VALUES FROM (100) TO (200);
INSERT INTO w_part VALUES (101, 2);
SELECT try($$INSERT INTO w_part VALUES (102, 11)$$) ~ '^23514' AS new_partition_via_parent;
SELECT try($$INSERT INTO w_part_2 VALUES (103, 11)$$) ~ '^23514' AS new_partition_direct;
-- a partition attached later.
CREATE TABLE w_part_3 (k int, v int);
ALTER TABLE w_part ATTACH PARTITION w_part_3 FOR VALUES FROM (200) TO (300);
INSERT INTO w_part VALUES (201, 3);
SELECT try($$INSERT INTO w_part VALUES (202, 11)$$) ~ '^23514' AS attached_via_parent;
SELECT try($$INSERT INTO w_part_3 VALUES (203, 11)$$) ~ '^23514' AS attached_direct;
-- a partition attached later whose columns are in a different order (v is its attnum 1).
CREATE TABLE w_part_4 (v int, k int);
ALTER TABLE w_part ATTACH PARTITION w_part_4 FOR VALUES FROM (300) TO (400);
INSERT INTO w_part_4 VALUES (4, 301);
SELECT try($$INSERT INTO w_part_4 VALUES (11, 302)$$) AS reordered_direct_bad_v;
SELECT try($$INSERT INTO w_part_4 (k, v) VALUES (303, 5)$$) AS reordered_direct_good_v;
SELECT try($$INSERT INTO w_part VALUES (304, 11)$$) AS reordered_via_parent_bad_v;
-- COPY into the parent and into a partition.
COPY (SELECT 250, 20) TO '/tmp/vigil_regress.bin' (FORMAT binary);
SELECT try($$COPY w_part FROM '/tmp/vigil_regress.bin' (FORMAT binary)$$) AS copy_parent;
SELECT try($$COPY w_part_3 FROM '/tmp/vigil_regress.bin' (FORMAT binary)$$) AS copy_partition;
-- UPDATE through the parent that moves a row to another partition.
SELECT try($$UPDATE w_part SET k = 150, v = 50 WHERE k = 1$$) AS row_movement_bad;
UPDATE w_part SET k = 150, v = 5 WHERE k = 1;
SELECT tableoid::regclass AS part, k, v FROM w_part ORDER BY k;
-- quarantine on a partitioned table, including a partition with reordered columns.
CREATE TABLE w_pq (k int, v int) PARTITION BY RANGE (k);
CREATE TABLE w_pq1 PARTITION OF w_pq FOR VALUES FROM (0) TO (100);
SELECT vigil.expect_between('w_pq', 'v', 0, 10, on_violation => 'quarantine');
CREATE TABLE w_pq2 (v int, k int);
ALTER TABLE w_pq ATTACH PARTITION w_pq2 FOR VALUES FROM (100) TO (200);
INSERT INTO w_pq VALUES (1, 50), (2, 2), (150, 60), (151, 3);
INSERT INTO w_pq2 VALUES (70, 152), (4, 153);
INSERT INTO w_pq1 VALUES (3, 80);
SELECT tableoid::regclass AS part, k, v FROM w_pq ORDER BY k;
SELECT relid, constraint_names, row_data FROM vigil.quarantine
 WHERE relid = 'w_pq'::regclass ORDER BY (row_data->>'k')::int;

-- A table in another schema.
CREATE SCHEMA w_other;
CREATE TABLE w_other.items (v text);
SELECT vigil.expect_in_set('w_other.items', 'v', ARRAY['a', 'b']);
INSERT INTO w_other.items VALUES ('a');
SELECT try($$INSERT INTO w_other.items VALUES ('c')$$) AS other_schema_rejected;
SELECT constraint_name, relid FROM vigil.constraints WHERE relid = 'w_other.items'::regclass;

-- Quoted, mixed-case table and column names.
CREATE TABLE "Feature Table" ("Age" int, "age" int);
SELECT vigil.expect_between('"Feature Table"', 'Age', 0, 120);
INSERT INTO "Feature Table" VALUES (30, 500);
SELECT try($$INSERT INTO "Feature Table" VALUES (130, 1)$$) AS quoted_rejected;
SELECT constraint_name, relid, column_name FROM vigil.constraints WHERE relid = '"Feature Table"'::regclass;
SELECT "Age", age FROM "Feature Table";

-- Rollbacks leave nothing in vigil.violations or vigil.quarantine.
CREATE TABLE w_rb (v int);
SELECT vigil.expect_between('w_rb', 'v', 0, 10, on_violation => 'warn', name => 'w_rb_warn');
CREATE TABLE w_rbq (v int, w int);
SELECT vigil.expect_between('w_rbq', 'v', 0, 10, on_violation => 'quarantine');
-- a statement rolled back by a reject rule on another column records nothing.
ALTER TABLE w_rb ADD COLUMN w int;
SELECT vigil.expect_not_null('w_rb', 'w');
SELECT vigil.expect_not_null('w_rbq', 'w');
SELECT try($$INSERT INTO w_rb VALUES (50, 1), (60, NULL)$$) ~ '^23514' AS statement_failed;
SELECT try($$INSERT INTO w_rbq VALUES (50, 1), (6, NULL)$$) ~ '^23514' AS statement_failed;
-- transaction ROLLBACK.
BEGIN;
INSERT INTO w_rb VALUES (70, 1);
INSERT INTO w_rbq VALUES (70, 1);
SELECT (SELECT count(*) FROM vigil.violations WHERE relid = 'w_rb'::regclass) AS v_inside,
       (SELECT count(*) FROM vigil.quarantine WHERE relid = 'w_rbq'::regclass) AS q_inside;
ROLLBACK;
-- ROLLBACK TO SAVEPOINT.
BEGIN;
INSERT INTO w_rb VALUES (1, 1);
SAVEPOINT s;
INSERT INTO w_rb VALUES (80, 1);
INSERT INTO w_rbq VALUES (80, 1);
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT (SELECT count(*) FROM vigil.violations WHERE relid = 'w_rb'::regclass) AS violations,
       (SELECT count(*) FROM vigil.quarantine WHERE relid = 'w_rbq'::regclass) AS quarantined,
       (SELECT count(*) FROM w_rb) AS w_rb_rows,
       (SELECT count(*) FROM w_rbq) AS w_rbq_rows;
-- and a committed bad write is recorded (the checks above could not pass vacuously).
INSERT INTO w_rb VALUES (90, 1);
INSERT INTO w_rbq VALUES (90, 1);
SELECT (SELECT count(*) FROM vigil.violations WHERE relid = 'w_rb'::regclass) AS violations,
       (SELECT count(*) FROM vigil.quarantine WHERE relid = 'w_rbq'::regclass) AS quarantined;
