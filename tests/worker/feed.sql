-- A feed written as it happens: 10-second windows, one row each for the last 25 hours up to
-- the window before the current one. The current window gets no rows: once it ends it is
-- missing (the same window a day before had rows; no grace).
CREATE EXTENSION IF NOT EXISTS pg_vigil;
CREATE TABLE feed (ts timestamptz, v float8);
SELECT vigil.watch('feed', time_column => 'ts', window_size => '10 seconds');
SELECT vigil.set_grace('feed', '0');
INSERT INTO feed
SELECT to_timestamp(floor(extract(epoch FROM now()) / 10) * 10) - k * interval '10 seconds' + interval '1 second', k % 17
  FROM generate_series(1, 9100) k;
