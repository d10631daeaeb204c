-- on_violation modes: reject, warn, quarantine, clamp, set_null.

-- reject: SQLSTATE 23514; the message names table, constraint and column, the detail a value.
CREATE TABLE m_rej (id int, score int);
SELECT vigil.expect_between('m_rej', 'score', 0, 100);
SELECT try($$INSERT INTO m_rej VALUES (1, 50), (2, 150), (3, 60)$$);
-- the same error in full (DETAIL carries the offending value and the count).
INSERT INTO m_rej VALUES (1, 50), (2, 150), (3, 60);
SELECT count(*) AS rows_in_table FROM m_rej;
-- reject records nothing in vigil.violations (the statement is gone).
SELECT count(*) AS violations FROM vigil.violations WHERE relid = 'm_rej'::regclass;

-- warn: rows are kept; one violations row per statement and constraint.
CREATE TABLE m_warn (id int, a int, b text);
SELECT vigil.expect_between('m_warn', 'a', 0, 10, on_violation => 'warn');
SELECT vigil.expect_in_set('m_warn', 'b', ARRAY['x', 'y'], on_violation => 'warn');
INSERT INTO m_warn SELECT g, g, 'x' FROM generate_series(1, 5) g;        -- clean: nothing recorded
INSERT INTO m_warn SELECT g, 100 + g, 'x' FROM generate_series(6, 35) g; -- 30 bad a
INSERT INTO m_warn VALUES (36, 1, 'z'), (37, 11, 'zz'), (38, NULL, NULL); -- 1 bad a, 2 bad b
SELECT count(*) AS rows_kept FROM m_warn;
SELECT constraint_name, column_name, batch_rows, unexpected_count, action,
       jsonb_array_length(sample) AS sample_len
  FROM vigil.violations WHERE relid = 'm_warn'::regclass ORDER BY violation_id;
-- the sample holds offending values only, and at most 20 of them.
SELECT bool_and((v #>> '{}')::int BETWEEN 106 AND 135) AS sample_values_are_bad
  FROM vigil.violations, jsonb_array_elements(sample) v
 WHERE relid = 'm_warn'::regclass AND batch_rows = 30;
SELECT sample FROM vigil.violations WHERE relid = 'm_warn'::regclass AND constraint_name = 'm_warn_b_in_set';
-- UPDATE is judged the same way.
UPDATE m_warn SET a = -1 WHERE id <= 3;
SELECT batch_rows, unexpected_count, action FROM vigil.violations
 WHERE relid = 'm_warn'::regclass ORDER BY violation_id DESC LIMIT 1;

-- quarantine: violating rows go to vigil.quarantine instead of the table.
CREATE TABLE m_q (id int, v int, tag text);
SELECT vigil.expect_between('m_q', 'v', 0, 10, on_violation => 'quarantine');
SELECT vigil.expect_match('m_q', 'tag', '^ok', on_violation => 'quarantine');
INSERT INTO m_q SELECT g, CASE WHEN g % 4 = 0 THEN 99 ELSE g % 10 END, 'ok' FROM generate_series(1, 20) g;
INSERT INTO m_q VALUES (21, 5, 'bad'), (22, 50, 'bad'), (23, NULL, NULL);
SELECT (SELECT count(*) FROM m_q) AS in_table,
       (SELECT count(*) FROM vigil.quarantine WHERE relid = 'm_q'::regclass) AS quarantined,
       (SELECT count(*) FROM m_q) + (SELECT count(*) FROM vigil.quarantine WHERE relid = 'm_q'::regclass) AS total;
SELECT count(*) AS bad_rows_in_table FROM m_q WHERE v > 10 OR tag !~ '^ok';
SELECT constraint_names, row_data FROM vigil.quarantine
 WHERE relid = 'm_q'::regclass ORDER BY (row_data->>'id')::int;
SELECT constraint_name, batch_rows, unexpected_count, action FROM vigil.violations
 WHERE relid = 'm_q'::regclass ORDER BY violation_id;
-- release: nothing passes yet, so nothing is released and nothing is lost.
SELECT vigil.release_quarantine('m_q');
SELECT count(*) AS still_quarantined FROM vigil.quarantine WHERE relid = 'm_q'::regclass;
-- widen the v rule: the rows whose tag is still bad stay quarantined.
SELECT vigil.drop_constraint('m_q', 'm_q_v_between');
SELECT vigil.expect_between('m_q', 'v', 0, 100, on_violation => 'quarantine');
SELECT vigil.release_quarantine('m_q');
SELECT (SELECT count(*) FROM m_q) AS in_table,
       (SELECT count(*) FROM vigil.quarantine WHERE relid = 'm_q'::regclass) AS quarantined;
SELECT constraint_names, row_data->>'id' AS id FROM vigil.quarantine
 WHERE relid = 'm_q'::regclass ORDER BY 2;
-- fix the data of row 21, then release by id: row 22 (still bad) stays, row 21 is released.
UPDATE vigil.quarantine SET row_data = row_data || '{"tag": "ok-fixed"}'
 WHERE relid = 'm_q'::regclass AND row_data->>'id' = '21';
SELECT vigil.release_quarantine('m_q', ARRAY(SELECT quarantine_id FROM vigil.quarantine
                                              WHERE relid = 'm_q'::regclass AND row_data->>'id' = '22'));
SELECT vigil.release_quarantine('m_q', ARRAY(SELECT quarantine_id FROM vigil.quarantine
                                              WHERE relid = 'm_q'::regclass AND row_data->>'id' = '21'));
SELECT id, v, tag FROM m_q WHERE id > 20 ORDER BY id;
SELECT row_data->>'id' AS id FROM vigil.quarantine WHERE relid = 'm_q'::regclass;

-- quarantine on UPDATE: the new row version is diverted.
CREATE TABLE m_qu (id int, v int);
SELECT vigil.expect_between('m_qu', 'v', 0, 10, on_violation => 'quarantine');
INSERT INTO m_qu VALUES (1, 1), (2, 2);
UPDATE m_qu SET v = 50 WHERE id = 1;
SELECT id, v FROM m_qu ORDER BY id;
SELECT operation, row_data, old_row_data FROM vigil.quarantine WHERE relid = 'm_qu'::regclass;
-- a quarantined update is not re-inserted by release (the table kept the old version):
-- nothing is released, a NOTICE says why, and the row stays quarantined.
SELECT vigil.drop_constraint('m_qu', 'm_qu_v_between');
SELECT vigil.release_quarantine('m_qu');
SELECT id, v FROM m_qu ORDER BY id;
SELECT count(*) FROM vigil.quarantine WHERE relid = 'm_qu'::regclass;

-- clamp: values move to the nearest bound; recorded with action 'clamp'.
CREATE TABLE m_clamp (id int, i int, f float8, n numeric, d date);
SELECT vigil.expect_between('m_clamp', 'i', 0.5, 10.5, on_violation => 'clamp');
SELECT vigil.expect_between('m_clamp', 'f', -1::float8, 1::float8, on_violation => 'clamp');
SELECT vigil.expect_between('m_clamp', 'n', 0, 2.5, on_violation => 'clamp');
SELECT vigil.expect_between('m_clamp', 'd', '2024-01-01'::date, '2024-12-31'::date, on_violation => 'clamp');
INSERT INTO m_clamp VALUES (1, 0, -5, -1, '2020-06-01'),
                           (2, 20, 5, 3.75, '2030-06-01'),
                           (3, 5, 0.5, 1.25, '2024-06-01'),
                           (4, NULL, NULL, NULL, NULL);
SELECT id, i, f, n, d FROM m_clamp ORDER BY id;
UPDATE m_clamp SET i = 1000, f = 'Infinity' WHERE id = 3;
SELECT id, i, f FROM m_clamp WHERE id = 3;
SELECT constraint_name, batch_rows, unexpected_count, action FROM vigil.violations
 WHERE relid = 'm_clamp'::regclass ORDER BY violation_id, constraint_name;
-- NaN has no nearest bound: clamp fails the statement with 23514.
SELECT try($$INSERT INTO m_clamp VALUES (5, 1, 'NaN', 1, '2024-01-01')$$);
SELECT count(*) FROM m_clamp;

-- set_null: the offending value becomes NULL; recorded with action 'set_null'.
CREATE TABLE m_sn (id int, email text, age int);
SELECT vigil.expect_match('m_sn', 'email', '@', on_violation => 'set_null');
SELECT vigil.expect_between('m_sn', 'age', 0, 120, on_violation => 'set_null');
INSERT INTO m_sn VALUES (1, 'a@b', 30), (2, 'nope', 30), (3, 'c@d', 200), (4, 'bad', -1);
SELECT id, email, age FROM m_sn ORDER BY id;
SELECT constraint_name, batch_rows, unexpected_count, action FROM vigil.violations
 WHERE relid = 'm_sn'::regclass ORDER BY constraint_name;

-- Modes combined on one table: quarantine wins over repair for the same row.
CREATE TABLE m_mix (id int, a int, b int);
SELECT vigil.expect_between('m_mix', 'a', 0, 10, on_violation => 'clamp');
SELECT vigil.expect_not_null('m_mix', 'b', on_violation => 'quarantine');
INSERT INTO m_mix VALUES (1, 50, 1), (2, 50, NULL);
SELECT id, a, b FROM m_mix;
SELECT row_data FROM vigil.quarantine WHERE relid = 'm_mix'::regclass;
