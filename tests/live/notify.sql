-- Live data: alerts open as windows finish, announced with NOTIFY vigil_alerts (the alert id).
SET client_min_messages = warning;
-- Thirty normal hours, up to two hours ago.
CREATE FUNCTION pg_temp.normal_hours(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$INSERT INTO %s
        SELECT date_trunc('hour', now()) - h * interval '1 hour' + m * interval '1 minute',
               50 + 10 * sin(h * 7 + m), (ARRAY['a', 'b', 'c'])[1 + (h + m) %% 3]
          FROM generate_series(2, 32) h, generate_series(0, 59) m$q$, tbl);
END $$;
-- The last finished hour, loaded after its end, with most x missing: it alerts.
CREATE FUNCTION pg_temp.broken_last_hour(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$INSERT INTO %s
        SELECT date_trunc('hour', now()) - interval '1 hour' + m * interval '1 minute',
               CASE WHEN m %% 5 = 0 THEN 50 END, (ARRAY['a', 'b', 'c'])[1 + m %% 3]
          FROM generate_series(0, 59) m$q$, tbl);
END $$;
DROP TABLE IF EXISTS n_ev;
CREATE TABLE n_ev (ts timestamptz, x float8, kind text);
SELECT vigil.watch('n_ev', time_column => 'ts', window_size => '1 hour') > 0 AS watched;
LISTEN vigil_alerts;
SELECT pg_temp.normal_hours('n_ev');
-- Writing the broken hour evaluates the finished hours, and it alerts.
SELECT pg_temp.broken_last_hour('n_ev');
-- A write into the current hour has nothing new to evaluate.
INSERT INTO n_ev VALUES (now(), 50, 'a');
SELECT 'alerts: ' || count(*) || ' ' || string_agg(columns::text || ' ' || state, ', ') FROM vigil.alerts WHERE relid = 'n_ev'::regclass;
-- Later writes in the same hour evaluate nothing again.
INSERT INTO n_ev VALUES (now(), 51, 'b');
SELECT 'alerts after another write: ' || count(*) FROM vigil.alerts WHERE relid = 'n_ev'::regclass;

-- An alert announced in a savepoint that rolls back is announced again when it opens again.
DROP TABLE IF EXISTS n_two;
CREATE TABLE n_two (LIKE n_ev);
SELECT vigil.watch('n_two', time_column => 'ts', window_size => '1 hour') > 0 AS watched;
SELECT pg_temp.normal_hours('n_two');
BEGIN;
SAVEPOINT before_alert;
SELECT pg_temp.broken_last_hour('n_two');
ROLLBACK TO SAVEPOINT before_alert;
SELECT pg_temp.broken_last_hour('n_two');
COMMIT;
SELECT 'second table alerts: ' || count(*) FROM vigil.alerts WHERE relid = 'n_two'::regclass;

-- Writers in REPEATABLE READ do not evaluate (their snapshot may be behind another
-- evaluation); vigil.evaluate() there opens the alert but writes no scoring memos.
DROP TABLE IF EXISTS n_rr;
CREATE TABLE n_rr (LIKE n_ev);
SELECT vigil.watch('n_rr', time_column => 'ts', window_size => '1 hour') > 0 AS watched;
SELECT pg_temp.normal_hours('n_rr');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.broken_last_hour('n_rr');
INSERT INTO n_rr VALUES (now(), 50, 'a');
SELECT 'repeatable read writer alerts: ' || count(*) FROM vigil.alerts WHERE relid = 'n_rr'::regclass;
SELECT 'repeatable read evaluate opened: ' || cardinality(vigil.evaluate('n_rr'));
COMMIT;
SELECT 'repeatable read memos: ' || count(*) FROM vigil.window_memo WHERE relid = 'n_rr'::regclass;
SELECT 'read committed evaluate opened: ' || cardinality(vigil.evaluate('n_rr'));
SELECT 'read committed memos: ' || (count(*) > 0) FROM vigil.window_memo WHERE relid = 'n_rr'::regclass;
