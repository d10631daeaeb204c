-- vigil.report: one self-contained HTML page; a range keeps only its windows; reading it needs
-- SELECT on the table.
CREATE TABLE rp (ts timestamptz, v float8, tag text);
SELECT vigil.watch('rp', time_column => 'ts') > 0 AS watched;
SELECT vigil.expect_between('rp', 'v', 0, 100, on_violation => 'warn');
INSERT INTO rp SELECT timestamptz '2024-03-01 00:00+00' + g * interval '1 hour', g % 50, 'a<b>' FROM generate_series(0, 24 * 5 - 1) g;
INSERT INTO rp VALUES ('2024-03-02 12:00+00', 500, 'x');
SELECT length(r) > 1000 AS page,
       r LIKE '<!DOCTYPE html>%' AS html,
       (SELECT count(*) FROM regexp_matches((regexp_match(r, 'id="timeline".*?</svg>'))[1], '<rect ', 'g')) AS window_marks,
       position('all windows' IN r) > 0 AS whole_range,
       position('<script' IN r) = 0 AS no_scripts,
       position('class="chart"' IN r) > 0 AS charts
  FROM vigil.report('rp') r;
-- Two days of the five.
SELECT position('windows from 2024-03-02 00:00 to 2024-03-04 00:00' IN r) > 0 AS range_named,
       position('id="timeline"' IN r) > 0 AS timeline,
       (SELECT count(*) FROM regexp_matches((regexp_match(r, 'id="timeline".*?</svg>'))[1], '<rect ', 'g')) AS window_marks
  FROM vigil.report('rp', '2024-03-02 00:00+00', '2024-03-04 00:00+00') r;
-- The contract is listed, its text escaped; violations per day are drawn.
SELECT position('rp_v_between' IN r) > 0 AS contract, position('id="violations"' IN r) > 0 AS violations
  FROM vigil.report('rp') r;
-- An unwatched table still has a page (its contract), saying it has no windows.
CREATE TABLE plain_rp (x int);
SELECT vigil.expect_not_null('plain_rp', 'x');
SELECT position('not watched' IN r) > 0 AS says_not_watched FROM vigil.report('plain_rp') r;
CREATE ROLE report_stranger;
SET ROLE report_stranger;
SELECT try($$SELECT vigil.report('rp')$$);
RESET ROLE;
DROP ROLE report_stranger;
SET client_min_messages = warning;
DROP TABLE rp;
DROP TABLE plain_rp;
RESET client_min_messages;
