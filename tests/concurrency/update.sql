-- updated rows are profiled as writes of their new versions
\set id random(1, 1000000000)
BEGIN;
WITH changed AS (
    UPDATE c_ev SET x = x + 0.5
     WHERE ctid = (SELECT ctid FROM c_ev WHERE x IS NOT NULL AND id >= :id ORDER BY id LIMIT 1)
    RETURNING *)
INSERT INTO c_written SELECT * FROM changed;
COMMIT;
