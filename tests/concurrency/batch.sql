-- a multi-row statement spanning days
\set seed random(1, 1000000)
\set n random(2, 400)
BEGIN;
WITH rows AS (
    INSERT INTO c_ev SELECT :seed * 1000 + g, timestamptz '2024-03-01' + ((:seed + g) % 96) * interval '1 hour',
                            'cat' || ((:seed + g) % 9), CASE WHEN g % 13 = 0 THEN NULL ELSE ((:seed * g) % 10007) / 3.0 END
                       FROM generate_series(1, :n) g
    RETURNING *)
INSERT INTO c_written SELECT * FROM rows;
COMMIT;
