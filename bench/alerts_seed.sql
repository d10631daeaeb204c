-- One feed and seed of the alert quality benchmark (psql -v feed=NAME -v seed=N): inject
-- pipeline bugs into a seeded tenth of the days after a four-week warm-up, load the feed day by
-- day into a watched table, and record what each system says of every day.
SET client_min_messages = warning;
SET timezone = 'UTC';
SELECT setseed(:seed / 100.0);
\set raw raw_ :feed
-- The plan: about 10% of the days after the warm-up, each with one bug (drawn among those that
-- apply to the feed) on columns it can hit.
CREATE TEMP TABLE plan AS
WITH days AS (SELECT DISTINCT day FROM :raw ORDER BY 1),
numbered AS (SELECT day, row_number() OVER (ORDER BY day) AS n FROM days),
chosen AS (SELECT day, random() AS pick, random() AS which, random() AS col FROM numbered WHERE n > 28 ORDER BY day),
kinds AS (SELECT array_agg(bug ORDER BY bug) AS bugs FROM bug_kind k WHERE EXISTS (SELECT FROM bug_targets(:'feed', k.bug)))
SELECT day, bugs[1 + floor(which * array_length(bugs, 1))::int] AS bug, col
  FROM chosen, kinds WHERE pick < 0.10;
ALTER TABLE plan ADD COLUMN columns text[];
UPDATE plan SET columns = (SELECT t FROM (SELECT t, row_number() OVER () AS i, count(*) OVER () AS n FROM bug_targets(:'feed', plan.bug) t) x
                            WHERE i = 1 + floor(plan.col * n)::int);
INSERT INTO bug_day SELECT :'feed', :seed, day, bug, columns FROM plan;
-- The feed's own defects are bug days too, where nothing was injected (see source_defect).
INSERT INTO bug_day SELECT :'feed', :seed, day, 'source_defect', columns FROM source_defect
 WHERE feed = :'feed' AND day NOT IN (SELECT day FROM plan);
-- Shifted times move the evening's rows into the next day: it holds corrupted data too.
INSERT INTO bug_day SELECT :'feed', :seed, p.day + 1, p.bug, p.columns FROM plan p
 WHERE p.bug = 'shifted_time' AND p.day + 1 NOT IN (SELECT day FROM plan)
   AND p.day + 1 NOT IN (SELECT day FROM bug_day WHERE feed = :'feed' AND seed = :seed)
   AND EXISTS (SELECT FROM :raw r WHERE r.day = p.day AND (r.ts + interval '5 hours')::date > p.day);

DROP TABLE IF EXISTS w;
CREATE TABLE w AS SELECT * FROM :raw LIMIT 0;
ALTER TABLE w DROP COLUMN day;
SELECT vigil.watch('w', time_column => 'ts') > 0 AS watched;
SELECT format('DO $do$ DECLARE d date; p record; BEGIN FOR d IN SELECT DISTINCT day FROM %I ORDER BY 1 LOOP '
              'SELECT * INTO p FROM plan WHERE plan.day = d; PERFORM load_day(%L, %L, d, p.bug, p.columns); END LOOP; END $do$',
              :'raw', :'feed', 'w') AS load \gset
:load;

-- A bug that left its columns' values as they were is no bug day (see changed_nothing).
DELETE FROM bug_day b USING plan p
 WHERE b.feed = :'feed' AND b.seed = :seed AND b.day = p.day AND b.bug = p.bug
   AND changed_nothing(:'feed', 'w', p.day, p.columns);

-- The days the systems judge: after the warm-up, with data.
CREATE TEMP TABLE judged_days AS
SELECT day FROM (SELECT DISTINCT day FROM :raw) d WHERE day > (SELECT min(day) FROM :raw) + 28;

INSERT INTO observed_day
SELECT :'feed', :seed, window_start::date, valid, column_name, spread, statistic, value FROM vigil._window_observations('w'::regclass);

-- pg_vigil, with its defaults: the window status.
INSERT INTO alert_day
SELECT 'pg_vigil', :'feed', :seed, j.day, coalesce(s.score, 0), coalesce(s.status = 'alert', false), s.top_columns[1]
  FROM judged_days j LEFT JOIN vigil.window_status s ON s.relid = 'w'::regclass AND s.window_start = j.day;

-- A validator with fixed thresholds, TFDV-style: each day against the previous day, numeric
-- columns by Jensen-Shannon distance over ten bins at the previous day's deciles, categorical
-- ones by L-infinity of category shares; alert above 0.1.
CREATE TEMP TABLE day_cells AS SELECT * FROM cells(:'feed', 'w');
CREATE TEMP TABLE day_edges AS
SELECT day, name, percentile_cont(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) WITHIN GROUP (ORDER BY num) AS edges
  FROM day_cells WHERE kind = 'num' AND num IS NOT NULL GROUP BY 1, 2;
CREATE TEMP TABLE numeric_js AS
WITH counts AS (
    SELECT e.day + 1 AS day, e.name, width_bucket(v.num, e.edges) AS bin,
           count(*) FILTER (WHERE v.day = e.day) AS prev_n, count(*) FILTER (WHERE v.day = e.day + 1) AS cur_n
      FROM day_edges e JOIN day_cells v ON v.name = e.name AND v.day IN (e.day, e.day + 1) AND v.num IS NOT NULL
     GROUP BY 1, 2, 3
), shares AS (
    SELECT day, name, bin,
           prev_n::float8 / nullif(sum(prev_n) OVER (PARTITION BY day, name), 0) AS p,
           cur_n::float8 / nullif(sum(cur_n) OVER (PARTITION BY day, name), 0) AS q
      FROM counts
)
SELECT day, name, js_distance(array_agg(coalesce(p, 0) ORDER BY bin), array_agg(coalesce(q, 0) ORDER BY bin)) AS metric
  FROM shares GROUP BY 1, 2;
CREATE TEMP TABLE category_linf AS
WITH shares AS (
    SELECT day, name, label, count(*)::float8 / sum(count(*)) OVER (PARTITION BY day, name) AS share
      FROM day_cells WHERE kind = 'cat' AND label IS NOT NULL GROUP BY 1, 2, 3
), pairs AS (
    SELECT coalesce(t.day, y.day + 1) AS day, coalesce(t.name, y.name) AS name,
           abs(coalesce(t.share, 0) - coalesce(y.share, 0)) AS diff
      FROM shares t FULL JOIN shares y ON y.day = t.day - 1 AND y.name = t.name AND y.label = t.label
)
SELECT day, name, max(diff) AS metric FROM pairs GROUP BY 1, 2;
INSERT INTO alert_day
SELECT 'threshold 0.1 (JS / L-inf vs previous day)', :'feed', :seed, j.day, coalesce(m.metric, 0), coalesce(m.metric > 0.1, false), m.name
  FROM judged_days j
  LEFT JOIN LATERAL (SELECT name, metric FROM (SELECT * FROM numeric_js UNION ALL SELECT * FROM category_linf) a
                      WHERE a.day = j.day ORDER BY metric DESC LIMIT 1) m ON true;

-- The coverage rule: alert when a column's share of non-NULL values drops by 25% or more
-- against the previous day.
INSERT INTO alert_day
WITH coverage AS (
    SELECT day, name, avg((num IS NOT NULL OR label IS NOT NULL)::int) AS covered FROM day_cells GROUP BY 1, 2
), drops AS (
    SELECT t.day, t.name, 1 - t.covered / nullif(y.covered, 0) AS dropped
      FROM coverage t JOIN coverage y ON y.day = t.day - 1 AND y.name = t.name
)
SELECT 'coverage drop >= 25%', :'feed', :seed, j.day, coalesce(m.dropped, 0), coalesce(m.dropped >= 0.25, false), m.name
  FROM judged_days j
  LEFT JOIN LATERAL (SELECT name, dropped FROM drops WHERE drops.day = j.day ORDER BY dropped DESC NULLS LAST LIMIT 1) m ON true;
