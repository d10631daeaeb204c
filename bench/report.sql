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
 WHERE m.variant NOT LIKE 'keys\_%'
 ORDER BY m.method, array_position(ARRAY['plain', 'capture_only', 'check', 'plpgsql', 'vigil_reject', 'vigil_quarantine', 'vigil_watched', 'watched_only', 'plpgsql_stats'], m.variant);

-- Profiling alone vs the PL/pgSQL statement trigger computing the same moments with SQL: the
-- time each adds to plain (both include PostgreSQL's transition-table capture), and the time
-- each trigger itself takes (what each adds to a table that only captures the transition table).
WITH med AS (
    SELECT method, variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM bench_result GROUP BY 1, 2
)
SELECT w.method, round((w.ms - p.ms)::numeric) AS profiling_adds_ms, round((s.ms - p.ms)::numeric) AS plpgsql_stats_adds_ms,
       round(((s.ms - p.ms) / nullif(w.ms - p.ms, 0))::numeric, 2) AS profiling_faster_by,
       round((w.ms - c.ms)::numeric) AS profiling_trigger_ms, round((s.ms - c.ms)::numeric) AS plpgsql_trigger_ms,
       round(((s.ms - c.ms) / nullif(w.ms - c.ms, 0))::numeric, 2) AS trigger_faster_by
  FROM med w JOIN med p ON p.method = w.method AND p.variant = 'plain'
             JOIN med c ON c.method = w.method AND c.variant = 'capture_only'
             JOIN med s ON s.method = w.method AND s.variant = 'plpgsql_stats'
 WHERE w.variant = 'watched_only' ORDER BY 1;

-- Keys and pairs: COPY with a unique rule and a column-pair rule, against no rules, the native
-- UNIQUE index and CHECK, and the PL/pgSQL statement trigger doing the same over the batch.
WITH med AS (
    SELECT variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms, count(*) AS runs
      FROM bench_result WHERE variant LIKE 'keys\_%' GROUP BY 1
)
SELECT m.variant, m.runs, round(m.ms::numeric) AS median_ms,
       round((m.ms / p.ms)::numeric, 3) AS vs_plain, round((m.ms / n.ms)::numeric, 3) AS vs_native,
       round((m.ms / q.ms)::numeric, 3) AS vs_plpgsql
  FROM med m, med p, med n, med q
 WHERE p.variant = 'keys_plain' AND n.variant = 'keys_native' AND q.variant = 'keys_plpgsql'
 ORDER BY array_position(ARRAY['keys_plain', 'keys_native', 'keys_plpgsql', 'keys_vigil'], m.variant);
