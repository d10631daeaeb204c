-- Per window: count, NULLs, min, max, mean, stddev of x from the statistics vs SQL aggregates
-- over the committed row versions; prints the windows that disagree (none expected).
SET timezone = 'UTC';
WITH sql AS (
    SELECT date_trunc('day', ts) AS w, count(*) AS row_count, count(*) - count(x) AS nulls,
           min(x) AS min, max(x) AS max, avg(x) AS mean, stddev(x) AS stddev
      FROM c_written GROUP BY 1
), stats AS (
    SELECT window_start AS w, row_count, null_count, min, max, mean, stddev
      FROM vigil.column_stats WHERE relid = 'c_ev'::regclass AND column_name = 'x'
), compared AS (
    SELECT coalesce(sql.w, stats.w) AS w, sql.row_count, stats.row_count AS recorded,
           stats.row_count = sql.row_count AND stats.null_count = sql.nulls
           AND stats.min = sql.min AND stats.max = sql.max
           AND abs(stats.mean - sql.mean) <= 1e-9 * greatest(abs(sql.mean), 1)
           AND abs(stats.stddev - sql.stddev) <= 1e-9 * greatest(sql.stddev, 1) AS ok
      FROM sql FULL JOIN stats ON coalesce(stats.w, 'infinity') = coalesce(sql.w, 'infinity'))
SELECT 'MISMATCH', w::text, row_count, recorded, ok FROM compared WHERE ok IS NOT TRUE
UNION ALL
SELECT 'windows', count(*)::text, sum(row_count), sum(recorded), bool_and(ok) FROM compared;
