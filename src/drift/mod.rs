//! Drift metrics between a reference and a current distribution, in the conventions of the
//! tools ML teams compare against (Evidently's PSI and Jensen-Shannon distance, TFDV's JS
//! divergence and L-infinity, scipy's KS and Wasserstein). Pure Rust, checked against
//! independently computed reference values (tests/data/drift_reference.json).

pub mod compare;
pub mod gaps;
pub mod memo;
pub mod score;

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Proportion that stands in for an empty bin or an unseen category (Evidently's convention),
/// so that logarithms and ratios stay finite.
pub const EMPTY_PROPORTION: f64 = 1e-4;

/// Counts of values per bin, for bins delimited by sorted inner edges: bin 0 is (-inf, e0),
/// bin i is [e(i-1), e(i)), the last is [e(last), +inf). NaN values are not counted.
pub fn bin_counts(values: &[f64], inner_edges: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; inner_edges.len() + 1];
    for &v in values.iter().filter(|v| !v.is_nan()) {
        counts[inner_edges.partition_point(|&e| e <= v)] += 1;
    }
    counts
}

/// Counts as proportions of their total (all zero when the total is zero).
pub fn proportions(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts.iter().map(|&c| if total == 0 { 0.0 } else { c as f64 / total as f64 }).collect()
}

fn floor_empty(p: f64) -> f64 {
    if p == 0.0 { EMPTY_PROPORTION } else { p }
}

/// Population stability index, Σ (q − p) ln(q / p), empty bins counted as 1e-4.
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    reference
        .iter()
        .zip(current)
        .map(|(&p, &q)| {
            let (p, q) = (floor_empty(p), floor_empty(q));
            (q - p) * (q / p).ln()
        })
        .sum()
}

/// Jensen-Shannon divergence with natural logarithms; inputs are normalised first.
fn js_divergence_ln(reference: &[f64], current: &[f64]) -> f64 {
    let (sp, sq): (f64, f64) = (reference.iter().sum(), current.iter().sum());
    if sp <= 0.0 || sq <= 0.0 {
        return 0.0;
    }
    let kl_to_mid = |a: f64, m: f64| if a > 0.0 { a * (a / m).ln() } else { 0.0 };
    let d: f64 = reference
        .iter()
        .zip(current)
        .map(|(&p, &q)| {
            let (p, q) = (p / sp, q / sq);
            let m = 0.5 * (p + q);
            0.5 * kl_to_mid(p, m) + 0.5 * kl_to_mid(q, m)
        })
        .sum();
    d.max(0.0)
}

/// Jensen-Shannon distance (square root of the divergence, natural log): Evidently's drift score.
pub fn js_distance_ln(reference: &[f64], current: &[f64]) -> f64 {
    js_divergence_ln(reference, current).sqrt()
}

/// Jensen-Shannon divergence in bits: TFDV's drift comparator.
pub fn js_divergence_log2(reference: &[f64], current: &[f64]) -> f64 {
    js_divergence_ln(reference, current) / std::f64::consts::LN_2
}

/// L-infinity distance between two proportion vectors: TFDV's categorical comparator.
pub fn linf(reference: &[f64], current: &[f64]) -> f64 {
    reference.iter().zip(current).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max)
}

/// Two-sample Kolmogorov-Smirnov statistic, sup |F_ref − F_cur|, on sorted samples.
pub fn ks_statistic(reference_sorted: &[f64], current_sorted: &[f64]) -> f64 {
    let (n, m) = (reference_sorted.len(), current_sorted.len());
    if n == 0 || m == 0 {
        return 0.0;
    }
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < n && j < m {
        let x = reference_sorted[i].min(current_sorted[j]);
        while i < n && reference_sorted[i] <= x {
            i += 1;
        }
        while j < m && current_sorted[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n as f64 - j as f64 / m as f64).abs());
    }
    d
}

/// First Wasserstein distance between two empirical distributions, ∫ |F_ref − F_cur| dx, on
/// sorted samples.
pub fn wasserstein(reference_sorted: &[f64], current_sorted: &[f64]) -> f64 {
    let (n, m) = (reference_sorted.len(), current_sorted.len());
    if n == 0 || m == 0 {
        return 0.0;
    }
    let (mut i, mut j) = (0usize, 0usize);
    let mut x = reference_sorted[0].min(current_sorted[0]);
    let mut area = 0.0;
    while i < n || j < m {
        let next = match (reference_sorted.get(i), current_sorted.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        area += (i as f64 / n as f64 - j as f64 / m as f64).abs() * (next - x);
        x = next;
        while i < n && reference_sorted[i] <= x {
            i += 1;
        }
        while j < m && current_sorted[j] <= x {
            j += 1;
        }
    }
    area
}

/// Mean and population standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Quantile of a sorted sample with numpy's default linear interpolation.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Categorical comparison of a current count vector against a reference one, over the union of
/// their categories (`reference[i]` and `current[i]` count the same category).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalDrift {
    pub linf: f64,
    pub chi2_statistic: f64,
    pub chi2_df: u64,
    pub chi2_pvalue: f64,
    pub js_distance_ln: f64,
    /// Share of current rows whose category the reference lacks (or has at under a twentieth
    /// of its current share).
    pub new_category_fraction: f64,
}

/// See `categorical`: how many times its reference share a category's share must be to be new.
pub(crate) const NOVEL_RATIO: f64 = 20.0;

pub fn categorical(reference: &[u64], current: &[u64]) -> CategoricalDrift {
    let p = proportions(reference);
    let q = proportions(current);
    let cur_total: u64 = current.iter().sum();
    // A category counts as new when the reference never saw it, or saw it at under a
    // NOVEL_RATIO-th of its share now: labels a broken load wrote before (a relabelling that
    // recurred without its windows being marked) stay new, while a rare category stays rare.
    let ref_total: u64 = reference.iter().sum();
    let new_rows: u64 = reference
        .iter()
        .zip(current)
        .filter(|(&r, &c)| r == 0 || (r as f64 / ref_total as f64) * NOVEL_RATIO < c as f64 / cur_total as f64)
        .map(|(_, &c)| c)
        .sum();
    // Goodness of fit: expected = reference proportions (unseen categories at 1e-4, then
    // renormalised) times the current total.
    let floored: Vec<f64> = p.iter().map(|&x| floor_empty(x)).collect();
    let norm: f64 = floored.iter().sum();
    let chi2_statistic: f64 = floored
        .iter()
        .zip(current)
        .map(|(&e, &o)| {
            let expected = e / norm * cur_total as f64;
            (o as f64 - expected).powi(2) / expected
        })
        .sum();
    let chi2_df = (reference.len() as u64).saturating_sub(1);
    let chi2_pvalue = if chi2_df == 0 || cur_total == 0 {
        1.0
    } else {
        ChiSquared::new(chi2_df as f64).map(|d| d.sf(chi2_statistic)).unwrap_or(f64::NAN)
    };
    CategoricalDrift {
        linf: linf(&p, &q),
        chi2_statistic,
        chi2_df,
        chi2_pvalue,
        js_distance_ln: js_distance_ln(&p, &q),
        new_category_fraction: if cur_total == 0 { 0.0 } else { new_rows as f64 / cur_total as f64 },
    }
}

#[cfg(test)]
mod tests;
