-- one row per transaction (exercises own-delta compaction); NULL times now and then
\set id random(1, 1000000000)
\set day random(0, 3)
BEGIN;
WITH written AS (
    INSERT INTO c_ev VALUES (:id, CASE WHEN :id % 50 = 0 THEN NULL ELSE timestamptz '2024-03-01' + :day * interval '1 day' + (:id % 86400) * interval '1 second' END,
                             'cat' || (:id % 7), CASE WHEN :id % 11 = 0 THEN NULL ELSE (:id % 100000) / 7.0 END)
    RETURNING *)
INSERT INTO c_written SELECT * FROM written;
COMMIT;
