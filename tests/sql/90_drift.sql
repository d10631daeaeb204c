-- Drift: each window of a watched table against its baseline, or against its own history.
SET timezone = 'UTC';
CREATE TABLE t_d (ts timestamptz, x float8, c text, n int);
SELECT vigil.watch('t_d', time_column => 'ts');
-- seven days of 1000 rows: day 6 has x in units 100x larger (a unit change), day 7 relabels
-- the category, day 5 loses most n values (a coverage drop); the rest is stable noise.
SELECT setseed(0.1);
INSERT INTO t_d
SELECT timestamptz '2024-01-01' + (g % 7) * interval '1 day' + (g % 1000) * interval '1 second',
       CASE WHEN g % 7 = 5 THEN 100 * random() ELSE random() END,
       CASE WHEN g % 7 = 6 THEN 'renamed' ELSE (ARRAY['a', 'b'])[1 + g % 2] END,
       CASE WHEN g % 7 = 4 AND g % 10 <> 0 THEN NULL ELSE g END
  FROM generate_series(1, 7000) g;

-- Against the trailing history: the first window has nothing to compare with (NULLs, never NaN).
SELECT column_name, window_start::date AS day, compared_to,
       psi IS NULL AND ks_statistic IS NULL AND js_distance IS NULL AS nothing_yet
  FROM vigil.drift WHERE relid = 't_d'::regclass AND window_start = '2024-01-01' ORDER BY 1;
-- stable days drift little, the broken ones stand out on the metric that fits them
SELECT window_start::date AS day, ks_statistic < 0.1 AS x_stable, wasserstein_norm > 10 AS x_unit_change
  FROM vigil.drift WHERE relid = 't_d'::regclass AND column_name = 'x' AND window_start > '2024-01-01' ORDER BY 1;
SELECT window_start::date AS day, round(new_category_fraction::numeric, 3) AS new_categories, linf > 0.9 AS relabelled,
       chi2_pvalue < 1e-6 AS significant
  FROM vigil.drift WHERE relid = 't_d'::regclass AND column_name = 'c' AND window_start > '2024-01-01' ORDER BY 1;
SELECT window_start::date AS day, null_fraction_delta > 0.5 AS coverage_drop
  FROM vigil.drift WHERE relid = 't_d'::regclass AND column_name = 'n' AND window_start > '2024-01-01' ORDER BY 1;
SELECT count(*) AS nan_values FROM vigil.drift
 WHERE relid = 't_d'::regclass
   AND 'NaN'::float8 IN (psi, js_distance, ks_statistic, wasserstein_norm, linf, chi2_pvalue, null_fraction_delta, new_category_fraction);

-- A window marked invalid stops polluting the history it would otherwise join.
SELECT vigil.mark_window('t_d', '2024-01-06 13:00') AS marked;
SELECT window_start::date AS day, valid, ks_statistic < 0.1 AS x_stable
  FROM vigil.drift WHERE relid = 't_d'::regclass AND column_name = 'x' AND window_start >= '2024-01-06' ORDER BY 1;
SELECT vigil.mark_window('t_d', '2024-01-06', valid => true) AS unmarked;

-- An explicit baseline: the first two days.
SELECT vigil.set_baseline('t_d', '2024-01-01', '2024-01-03') AS baseline_windows;
SELECT DISTINCT compared_to FROM vigil.drift WHERE relid = 't_d'::regclass;
SELECT window_start::date AS day, wasserstein_norm > 10 AS x_unit_change
  FROM vigil.drift WHERE relid = 't_d'::regclass AND column_name = 'x' ORDER BY 1;
SELECT vigil.set_baseline('t_d', NULL, NULL) AS cleared;
SELECT DISTINCT compared_to FROM vigil.drift WHERE relid = 't_d'::regclass AND window_start > '2024-01-01';

-- Constant and single-row windows never divide by zero.
CREATE TABLE t_const (ts timestamptz, x float8);
SELECT vigil.watch('t_const', time_column => 'ts');
INSERT INTO t_const SELECT timestamptz '2024-01-01' + (g % 3) * interval '1 day', 5 FROM generate_series(1, 30) g;
INSERT INTO t_const VALUES ('2024-01-04', 6);
SELECT window_start::date AS day, ks_statistic, wasserstein_norm, psi IS NOT NULL AS psi_known
  FROM vigil.drift WHERE relid = 't_const'::regclass ORDER BY 1;

-- Bad input.
SELECT try($$SELECT vigil.set_baseline('t_d', '2024-01-03', '2024-01-01')$$) AS reversed;
SELECT try($$SELECT vigil.set_baseline('t_d', '2024-01-03', NULL)$$) AS half_open;
CREATE TABLE t_plain (x float8);
SELECT try($$SELECT vigil.set_baseline('t_plain', '2024-01-01', '2024-01-02')$$) AS not_watched;
SELECT try($$SELECT vigil.mark_window('t_d', NULL)$$) AS null_window;
