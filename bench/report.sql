-- Medians per variant and method, and ratios to the unguarded table in the same run.
\pset footer off
WITH med AS (
    SELECT method, variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median_ms,
           min(ms) AS min_ms, max(ms) AS max_ms, count(*) AS runs
      FROM bench_result GROUP BY method, variant
)
SELECT m.method, m.variant, m.runs, round(m.median_ms::numeric, 0) AS median_ms,
       round(m.min_ms::numeric, 0) AS min_ms, round(m.max_ms::numeric, 0) AS max_ms,
       round((m.median_ms / p.median_ms)::numeric, 3) AS vs_plain,
       round((m.median_ms / c.median_ms)::numeric, 3) AS vs_check
  FROM med m
  JOIN med p ON p.method = m.method AND p.variant = 'plain'
  JOIN med c ON c.method = m.method AND c.variant = 'check'
 ORDER BY m.method, array_position(ARRAY['plain', 'capture_only', 'check', 'plpgsql', 'vigil_reject', 'vigil_quarantine', 'vigil_watched'], m.variant);
