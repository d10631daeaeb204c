-- Median tps per table and the watched/unwatched ratio; then the statistics must hold every row.
\pset footer off
WITH med AS (SELECT tbl, percentile_cont(0.5) WITHIN GROUP (ORDER BY tps) AS tps, count(*) AS runs FROM pgbench_result GROUP BY 1)
SELECT w.runs, round(p.tps) AS unwatched_tps, round(w.tps) AS watched_tps, round((w.tps / p.tps)::numeric, 3) AS ratio
  FROM med p, med w WHERE p.tbl = 'pb_plain' AND w.tbl = 'pb_watched';
SELECT (SELECT count(*) FROM pb_watched) AS rows_written,
       (SELECT sum(row_count) FROM vigil.column_stats WHERE relid = 'pb_watched'::regclass AND column_name = 'f1') AS rows_in_statistics,
       (SELECT count(*) FROM vigil.profile_delta WHERE relid = 'pb_watched'::regclass) AS delta_rows;
