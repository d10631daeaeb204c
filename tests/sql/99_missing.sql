-- Windows without rows: a load that never came writes nothing, so only the table's own habits
-- say it is missing. Hourly windows written as they happen (times relative to now).
SET timezone = 'UTC';
SET client_min_messages = warning;
CREATE TABLE m_feed (ts timestamptz, v float8);
SELECT vigil.watch('m_feed', time_column => 'ts', window_size => '1 hour');
CREATE TEMP TABLE anchor AS SELECT date_trunc('hour', now()) AS h;
-- 30 hours of rows, but none 5 hours ago nor in the last hour (both hours had rows a day before).
INSERT INTO m_feed SELECT (SELECT h FROM anchor) - k * interval '1 hour' + interval '10 minutes', k
  FROM generate_series(2, 30) k WHERE k <> 5;

-- Learned grace: the rows of this table so far came up to a day after their hour, so the two
-- empty hours are still pending (expected, not overdue); a window without rows is never 'ok'.
SELECT (window_start - (SELECT h FROM anchor)) AS hour, row_count, status, score, top_columns
  FROM vigil.window_status WHERE relid = 'm_feed'::regclass AND row_count = 0 ORDER BY 1;
SELECT last_write_at > now() - interval '1 minute' AS written_now, usual_interval, status
  FROM vigil.freshness WHERE relid = 'm_feed'::regclass;

-- With no grace (vigil.grace, in seconds), both are missing: 'alert', and critical alerts that
-- say since when nothing was written.
SET vigil.grace = 0;
SELECT (window_start - (SELECT h FROM anchor)) AS hour, row_count, status, score, top_columns
  FROM vigil.window_status WHERE relid = 'm_feed'::regclass AND row_count = 0 ORDER BY 1;
SELECT status FROM vigil.freshness WHERE relid = 'm_feed'::regclass;
SELECT cardinality(vigil.evaluate('m_feed')) AS alerts_opened;
SELECT (window_start - (SELECT h FROM anchor)) AS hour, severity, score, columns,
       summary ~ '^window starting .* has no rows; no writes since ' AS says_since_when
  FROM vigil.alerts WHERE relid = 'm_feed'::regclass ORDER BY 1;
-- Evaluated once: evaluating again opens nothing.
SELECT cardinality(vigil.evaluate('m_feed')) AS opened_again;

-- A table's own grace overrides vigil.grace; NULL goes back to it.
SELECT vigil.set_grace('m_feed', '2 days');
SELECT (window_start - (SELECT h FROM anchor)) AS hour, status
  FROM vigil.window_status WHERE relid = 'm_feed'::regclass AND row_count = 0 ORDER BY 1;
SELECT vigil.set_grace('m_feed', NULL);
SELECT try($$SELECT vigil.set_grace('m_feed', '-1 hour')$$) AS negative_grace;
SELECT try($$SELECT vigil.set_grace('m_feed', '1 month')$$) AS month_grace;
SELECT try($$SELECT vigil.set_grace('anchor', '1 hour')$$) AS unwatched;

-- The late rows arrive: their window is judged like any other, no longer a gap.
INSERT INTO m_feed VALUES ((SELECT h FROM anchor) - interval '5 hours' + interval '5 minutes', 5);
SELECT (window_start - (SELECT h FROM anchor)) AS hour, status
  FROM vigil.window_status WHERE relid = 'm_feed'::regclass AND row_count = 0 ORDER BY 1;

-- A table loaded with history at once has no habit of arrivals: its gaps are not judged.
CREATE TABLE m_history (ts timestamptz, v float8);
SELECT vigil.watch('m_history', time_column => 'ts');
INSERT INTO m_history SELECT timestamptz '2024-01-01' + d * interval '1 day', d FROM generate_series(0, 40) d WHERE d <> 20;
SELECT count(*) FILTER (WHERE row_count = 0) AS gaps, count(*) AS windows FROM vigil.window_status WHERE relid = 'm_history'::regclass;
SELECT status FROM vigil.freshness WHERE relid = 'm_history'::regclass;

-- vigil.evaluate() evaluates every watched table the caller owns, and no other.
RESET vigil.grace;
CREATE ROLE m_nobody;
SET ROLE m_nobody;
SELECT vigil.evaluate() AS evaluated_by_nobody;
RESET ROLE;
DROP ROLE m_nobody;
SELECT cardinality(vigil.evaluate()) >= 0 AS evaluated_all;
