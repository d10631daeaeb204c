-- The alert quality table: each system on each feed and seed, then the mean over the seeds.
\pset footer off
SELECT system, feed, seed, alerts, bug_days, round(precision::numeric, 3) AS precision, round(recall::numeric, 3) AS recall,
       round((2 * precision * recall / nullif(precision + recall, 0))::numeric, 3) AS f1,
       round(average_precision::numeric, 3) AS average_precision, round(top_column_right::numeric, 3) AS top_column_right
  FROM alert_quality ORDER BY feed, system, seed;
SELECT feed, system, count(*) AS seeds, round(avg(precision)::numeric, 3) AS precision, round(avg(recall)::numeric, 3) AS recall,
       round(avg(2 * precision * recall / nullif(precision + recall, 0))::numeric, 3) AS f1,
       round(avg(average_precision)::numeric, 3) AS average_precision, round(avg(top_column_right)::numeric, 3) AS top_column_right
  FROM alert_quality GROUP BY feed, system ORDER BY feed, f1 DESC NULLS LAST;
-- Which bugs each system misses.
SELECT a.system, b.bug, count(*) AS days, count(*) FILTER (WHERE a.alerted) AS caught
  FROM bug_day b JOIN alert_day a ON a.feed = b.feed AND a.seed = b.seed AND a.day = b.day
 GROUP BY 1, 2 ORDER BY 1, 2;
