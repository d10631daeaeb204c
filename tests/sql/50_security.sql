-- Security: who may declare, read and write what.
SET client_min_messages = warning;
DROP ROLE IF EXISTS vigil_owner;
DROP ROLE IF EXISTS vigil_other;
DROP ROLE IF EXISTS vigil_reader;
RESET client_min_messages;
CREATE ROLE vigil_owner;
CREATE ROLE vigil_other;
CREATE ROLE vigil_reader;
CREATE SCHEMA s_sec AUTHORIZATION vigil_owner;
GRANT USAGE ON SCHEMA s_sec TO vigil_other, vigil_reader;

-- An ordinary role may declare constraints on its own tables.
SET ROLE vigil_owner;
CREATE TABLE s_sec.feat (id int, v int, label text);
CREATE TABLE s_sec.feat_q (id int, v int);
SELECT vigil.expect_between('s_sec.feat', 'v', 0, 10, on_violation => 'warn');
SELECT vigil.expect_between('s_sec.feat_q', 'v', 0, 10, on_violation => 'quarantine');
INSERT INTO s_sec.feat VALUES (1, 100, 'a');
INSERT INTO s_sec.feat_q VALUES (1, 100);
GRANT INSERT ON s_sec.feat, s_sec.feat_q TO vigil_other;
GRANT SELECT ON s_sec.feat, s_sec.feat_q TO vigil_reader;
RESET ROLE;

-- A non-owner cannot declare or drop constraints on someone else's table (42501).
SET ROLE vigil_other;
SELECT try($$SELECT vigil.expect_not_null('s_sec.feat', 'label')$$);
SELECT try($$SELECT vigil.drop_constraint('s_sec.feat', 'feat_v_between')$$);
SELECT try($$SELECT vigil.drop_constraint('s_sec.feat', 'feat_v_between', if_exists => true)$$);
SELECT try($$SELECT vigil._sync_triggers('s_sec.feat'::regclass)$$);
RESET ROLE;
SELECT constraint_name FROM vigil.constraints WHERE relid = 's_sec.feat'::regclass;

-- A non-owner with INSERT privilege can write; violations are still recorded on its behalf.
SET ROLE vigil_other;
INSERT INTO s_sec.feat VALUES (2, 200, 'b'), (3, 3, 'c');
INSERT INTO s_sec.feat_q VALUES (2, 200), (3, 3);
-- ... but without SELECT on the table it sees none of its records.
SELECT count(*) AS constraints_seen FROM vigil.constraints WHERE relid = 's_sec.feat'::regclass;
SELECT count(*) AS violations_seen FROM vigil.violations WHERE relid IN ('s_sec.feat'::regclass, 's_sec.feat_q'::regclass);
SELECT count(*) AS quarantine_seen FROM vigil.quarantine WHERE relid = 's_sec.feat_q'::regclass;
SELECT count(*) AS violations_seen_all FROM vigil.violations;
SELECT count(*) AS quarantine_seen_all FROM vigil.quarantine;
-- validate and release_quarantine need rights on the table too.
SELECT try($$SELECT * FROM vigil.validate('s_sec.feat')$$) ~ '^42501' AS validate_denied;
SELECT try($$SELECT vigil.release_quarantine('s_sec.feat_q')$$) ~ '^42501' AS release_denied;
RESET ROLE;

-- A role granted SELECT sees them.
SET ROLE vigil_reader;
SELECT constraint_name, column_name, kind FROM vigil.constraints WHERE relid = 's_sec.feat'::regclass;
SELECT constraint_name, batch_rows, unexpected_count, action, sample
  FROM vigil.violations WHERE relid = 's_sec.feat'::regclass ORDER BY violation_id;
SELECT constraint_names, row_data FROM vigil.quarantine WHERE relid = 's_sec.feat_q'::regclass
 ORDER BY (row_data->>'id')::int;
SELECT constraint_name, unexpected_count FROM vigil.validate('s_sec.feat');
-- a reader without INSERT cannot release quarantined rows.
SELECT try($$SELECT vigil.release_quarantine('s_sec.feat_q')$$) ~ '^42501' AS release_denied;
RESET ROLE;

-- Ordinary roles cannot write the catalog tables directly (42501), not even the table owner.
SET ROLE vigil_owner;
SELECT try($$INSERT INTO vigil.constraint_def (relid, constraint_name, column_name, kind, on_violation)
             VALUES ('s_sec.feat'::regclass, 'x', 'v', 'not_null', 'reject')$$);
SELECT try($$UPDATE vigil.constraint_def SET enabled = false$$);
SELECT try($$DELETE FROM vigil.constraint_def$$);
SELECT try($$INSERT INTO vigil.violation_log (relid, constraint_name, batch_rows, unexpected_count, action)
             VALUES ('s_sec.feat'::regclass, 'x', 1, 1, 'warn')$$);
SELECT try($$UPDATE vigil.violation_log SET unexpected_count = 0$$);
SELECT try($$DELETE FROM vigil.violation_log$$);
SELECT try($$INSERT INTO vigil.quarantine (relid, constraint_names, row_data)
             VALUES ('s_sec.feat_q'::regclass, '{x}', '{"id": 9, "v": 9}')$$);
SELECT try($$UPDATE vigil.quarantine SET row_data = '{"id": 9, "v": 9}'$$);
SELECT try($$DELETE FROM vigil.quarantine$$);
RESET ROLE;
SET ROLE vigil_other;
SELECT try($$DELETE FROM vigil.quarantine$$);
SELECT try($$UPDATE vigil.constraint_def SET enabled = false$$);
RESET ROLE;
-- nothing was changed by those attempts.
SELECT (SELECT count(*) FROM vigil.constraint_def WHERE relid IN ('s_sec.feat'::regclass, 's_sec.feat_q'::regclass)) AS constraints,
       (SELECT count(*) FROM vigil.violation_log WHERE relid IN ('s_sec.feat'::regclass, 's_sec.feat_q'::regclass)) AS violations,
       (SELECT count(*) FROM vigil.quarantine WHERE relid = 's_sec.feat_q'::regclass) AS quarantined,
       (SELECT bool_and(enabled) FROM vigil.constraint_def) AS all_enabled;

-- The owner can release its quarantined rows once the rule allows them.
SET ROLE vigil_owner;
SELECT vigil.drop_constraint('s_sec.feat_q', 'feat_q_v_between');
SELECT vigil.expect_between('s_sec.feat_q', 'v', 0, 1000, on_violation => 'quarantine');
SELECT vigil.release_quarantine('s_sec.feat_q');
SELECT id, v FROM s_sec.feat_q ORDER BY id;
RESET ROLE;

-- Every function in schema vigil pins its search_path, except the per-row helpers of the
-- vigil.profile aggregates and of backfill's scan (C functions that run no SQL and resolve no
-- names, where a SET clause would cost a GUC save and restore per row), and the two write-path
-- triggers, which pin it in code for as long as they run (tested below). Listed here.
SELECT proname, (SELECT lanname FROM pg_language l WHERE l.oid = prolang) AS language, prosecdef AS security_definer FROM pg_proc
 WHERE pronamespace = 'vigil'::regnamespace AND prokind <> 'a'
   AND (proconfig IS NULL OR NOT EXISTS (SELECT 1 FROM unnest(proconfig) c WHERE c LIKE 'search_path=%'))
 ORDER BY 1;
-- The write-path triggers resolve names in pg_catalog alone, whatever the writer's search_path:
-- an operator that shadows pg_catalog's (it does for a plain query, first) never reaches the SQL
-- they run (loading the table's rules, recording a violation).
CREATE SCHEMA s_evil;
CREATE FUNCTION s_evil.oid_eq(oid, oid) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN RAISE NOTICE 'hijacked'; RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR s_evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = s_evil.oid_eq);
CREATE TABLE s_evil.t (v int);
SELECT vigil.expect_between('s_evil.t', 'v', 0, 10, on_violation => 'warn') IS NOT NULL AS declared;
SET search_path = s_evil, pg_catalog;
SELECT 1::oid = 1::oid AS shadowed;
INSERT INTO s_evil.t VALUES (1), (20);
RESET search_path;
SELECT count(*) AS violations_recorded FROM vigil.violations WHERE relid = 's_evil.t'::regclass;
DROP SCHEMA s_evil CASCADE;

-- and none of them is SECURITY DEFINER except the event-trigger functions, which PUBLIC cannot run,
-- and the TRUNCATE trigger function, which table owners must be able to attach and which runs
-- only as a trigger (it starts a new statistics epoch for the truncated table).
SELECT proname, has_function_privilege('vigil_other', oid, 'EXECUTE') AS public_can_execute
  FROM pg_proc WHERE pronamespace = 'vigil'::regnamespace AND prosecdef ORDER BY 1;

-- Clean up the roles (they are cluster-wide).
DROP SCHEMA s_sec CASCADE;
DROP OWNED BY vigil_owner, vigil_other, vigil_reader;
DROP ROLE vigil_owner;
DROP ROLE vigil_other;
DROP ROLE vigil_reader;
