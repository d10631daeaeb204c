-- rolled back whole, and rolled back to a savepoint: neither leaves statistics
\set id random(1, 1000000000)
BEGIN;
INSERT INTO c_ev VALUES (:id, '2024-03-02 12:00', 'rolled-back', -1e12);
ROLLBACK;
BEGIN;
INSERT INTO c_ev VALUES (:id, '2024-03-02 13:00', 'kept', 42);
SAVEPOINT s;
INSERT INTO c_ev SELECT :id, '2024-03-02 14:00', 'undone', 1e12 FROM generate_series(1, 20);
ROLLBACK TO SAVEPOINT s;
INSERT INTO c_written VALUES (:id, '2024-03-02 13:00', 'kept', 42);
COMMIT;
