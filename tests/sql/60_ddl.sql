-- DDL on constrained tables: renames, dropped columns and tables, added columns.
CREATE TABLE d_t (a int, b int, c text);
SELECT vigil.expect_between('d_t', 'a', 0, 10);
SELECT vigil.expect_between('d_t', 'b', 0, 10, on_violation => 'clamp');
SELECT vigil.expect_match('d_t', 'c', '^x', on_violation => 'warn');

-- Renaming a constrained column: the rule follows it.
ALTER TABLE d_t RENAME COLUMN a TO a2;
SELECT constraint_name, column_name, kind FROM vigil.constraints WHERE relid = 'd_t'::regclass ORDER BY 1;
SELECT try($$INSERT INTO d_t (a2) VALUES (11)$$);
INSERT INTO d_t (a2) VALUES (5);

-- Renaming the table: still enforced, and listed under the new name.
ALTER TABLE d_t RENAME TO d_t2;
SELECT try($$INSERT INTO d_t2 (a2) VALUES (11)$$);
INSERT INTO d_t2 (a2, b) VALUES (6, 50);
SELECT a2, b FROM d_t2 ORDER BY a2;
SELECT relid, count(*) FROM vigil.constraints WHERE relid = 'd_t2'::regclass GROUP BY 1;

-- Moving the table to another schema: still enforced.
CREATE SCHEMA d_s;
ALTER TABLE d_t2 SET SCHEMA d_s;
SELECT try($$INSERT INTO d_s.d_t2 (a2) VALUES (11)$$);
ALTER TABLE d_s.d_t2 SET SCHEMA public;

-- ADD COLUMN, then writes still work and old rules still apply to their columns.
ALTER TABLE d_t2 ADD COLUMN e int;
INSERT INTO d_t2 (a2, b, c, e) VALUES (7, 7, 'xy', 1000);
SELECT try($$INSERT INTO d_t2 (a2, e) VALUES (11, 1)$$);
SELECT vigil.expect_between('d_t2', 'e', 0, 10000);
SELECT try($$INSERT INTO d_t2 (e) VALUES (10001)$$);

-- Dropping a constrained column removes its rules with a NOTICE; other columns' rules still work.
ALTER TABLE d_t2 DROP COLUMN a2;
SELECT constraint_name, column_name FROM vigil.constraints WHERE relid = 'd_t2'::regclass ORDER BY 1;
SELECT try($$INSERT INTO d_t2 (b, c, e) VALUES (1, 'x', 1)$$);
SELECT try($$INSERT INTO d_t2 (e) VALUES (10001)$$);
INSERT INTO d_t2 (b) VALUES (99);
SELECT b FROM d_t2 ORDER BY b;
-- A column added after the drop gets no stale rule (attnums are not reused, but check anyway).
ALTER TABLE d_t2 ADD COLUMN a2 int;
SELECT try($$INSERT INTO d_t2 (a2) VALUES (11)$$);

-- Dropping the column of the only repair rule removes the row trigger with it.
ALTER TABLE d_t2 DROP COLUMN b;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'd_t2'::regclass ORDER BY 1;
INSERT INTO d_t2 (c, e) VALUES ('zz', 5);
SELECT constraint_name, column_name, action, sample FROM vigil.violations
 WHERE relid = 'd_t2'::regclass ORDER BY violation_id;

-- Dropping a column in a table whose other column has a rule: the rule keeps working on
-- the right column after the drop (no shifting of positions).
CREATE TABLE d_shift (x int, y int, z int);
SELECT vigil.expect_between('d_shift', 'z', 0, 10);
ALTER TABLE d_shift DROP COLUMN x;
INSERT INTO d_shift VALUES (100, 1);
SELECT try($$INSERT INTO d_shift VALUES (1, 100)$$);
SELECT y, z FROM d_shift;

-- Dropping the table removes its constraints (NOTICE per constraint) and its records.
DROP TABLE d_t2;
SELECT count(*) FROM vigil.constraint_def c
 WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = c.relid);
SELECT count(*) FROM vigil.violation_log v
 WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = v.relid);
-- A table created afterwards starts with no rules, even under the old name.
CREATE TABLE d_t2 (a2 int);
INSERT INTO d_t2 VALUES (11);
SELECT count(*) FROM vigil.constraints WHERE relid = 'd_t2'::regclass;

-- Dropping a quarantine table discards its quarantined rows with a NOTICE.
CREATE TABLE d_q (v int);
SELECT vigil.expect_not_null('d_q', 'v', on_violation => 'quarantine');
INSERT INTO d_q VALUES (NULL), (NULL), (1);
DROP TABLE d_q;
SELECT count(*) FROM vigil.quarantine q WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = q.relid);

-- TRUNCATE and DROP of a partition keep the parent's rules working.
CREATE TABLE d_p (k int, v int) PARTITION BY LIST (k);
CREATE TABLE d_p1 PARTITION OF d_p FOR VALUES IN (1);
CREATE TABLE d_p2 PARTITION OF d_p FOR VALUES IN (2);
SELECT vigil.expect_between('d_p', 'v', 0, 10);
DROP TABLE d_p2;
TRUNCATE d_p;
SELECT try($$INSERT INTO d_p VALUES (1, 11)$$);
SELECT count(*) FROM vigil.constraints WHERE relid = 'd_p'::regclass;

-- A column type change the rules can follow is accepted; one they cannot is refused, and the
-- constraint keeps working.
CREATE TABLE d_type (n int);
SELECT vigil.expect_between('d_type', 'n', 0, 10);
ALTER TABLE d_type ALTER COLUMN n TYPE bigint;
SELECT try($$INSERT INTO d_type VALUES (11)$$) AS bigint_still_checked;
SELECT try($$ALTER TABLE d_type ALTER COLUMN n TYPE text$$) AS to_text;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'd_type'::regclass AND attname = 'n';
SELECT try($$INSERT INTO d_type VALUES (12)$$) AS still_checked;
