-- Four concurrent writers against one watched table: the exactness oracle under concurrency.
-- c_written shadows, in the same transactions, every row version the writers commit.
SET client_min_messages = warning;
DROP TABLE IF EXISTS c_ev, c_written;
CREATE TABLE c_ev (id bigint, ts timestamptz, cat text, x float8);
CREATE TABLE c_written (LIKE c_ev);
CREATE INDEX ON c_ev (id);
SELECT vigil.watch('c_ev', time_column => 'ts') > 0 AS watched;
