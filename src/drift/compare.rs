//! Drift of a current profile against a baseline profile, from their sketches: the numbers the
//! vigil.drift view shows. Binned metrics use ten bins cut at the baseline's deciles (open at both
//! ends); KS and Wasserstein are those of the two sketches' empirical distributions (one pass over
//! both), so each is within the sketches' rank error of the exact value; categorical metrics
//! use the frequent-items counts.

use super::{categorical, js_distance_ln, psi, NOVEL_RATIO};
use crate::profile::{ColumnProfile, Distribution, ProfileKind};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriftReport {
    pub psi: Option<f64>,
    pub js_distance: Option<f64>,
    pub ks_statistic: Option<f64>,
    pub wasserstein_norm: Option<f64>,
    pub linf: Option<f64>,
    pub chi2_pvalue: Option<f64>,
    pub null_fraction_delta: Option<f64>,
    pub new_category_fraction: Option<f64>,
    /// Numbers: the share of the window's values on its largest value that carries at least
    /// ATOM_SHARE of them, lies OUTSIDE the reference's range and that the reference holds at
    /// under a NOVEL_RATIO-th of that share (a default or a sentinel filled in): a new
    /// category, for numbers.
    pub new_value_fraction: Option<f64>,
}

/// The smallest share of a window's values one value must carry to count as filled in.
const ATOM_SHARE: f64 = 0.1;
/// A filled-in value lies outside what the column holds: below the reference's 1st percentile
/// or above its 99th (a steady wind's one direction lies inside and is weather).
const OUTSIDE: f64 = 0.01;

/// Proportions of a distribution in the bins cut by sorted `edges` ([e(i-1), e(i)), open ends).
fn binned(d: &Distribution, edges: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(edges.len() + 1);
    let mut previous = 0.0;
    for &e in edges {
        let below = d.below(e);
        out.push((below - previous).max(0.0));
        previous = below;
    }
    out.push((1.0 - previous).max(0.0));
    out
}

/// The baseline's deciles, strictly increasing (a constant column has one edge or none).
pub fn decile_edges(baseline: &Distribution) -> Vec<f64> {
    let mut edges: Vec<f64> = (1..10).map(|i| baseline.quantile(i as f64 / 10.0)).filter(|e| e.is_finite()).collect();
    edges.dedup();
    edges
}

/// A reference profile prepared once for comparing many profiles with it: its distribution,
/// decile edges and category counts are the costly part of a comparison.
pub struct Reference {
    kind: ProfileKind,
    /// Rows it describes (NULLs included).
    pub rows: u64,
    null_fraction: Option<f64>,
    stddev: Option<f64>,
    numeric: Option<(Distribution, Vec<f64>)>,
    /// Category counts and the non-NULL total (categorical profiles).
    categories: (Vec<(String, u64)>, u64),
}

impl Reference {
    pub fn new(profile: &ColumnProfile) -> Self {
        let numeric = profile.kind == ProfileKind::Numeric;
        Reference {
            kind: profile.kind,
            rows: profile.rows,
            null_fraction: profile.null_fraction(),
            stddev: profile.moments().stddev_pop(),
            numeric: numeric.then(|| profile.distribution()).flatten().map(|d| {
                let edges = decile_edges(&d);
                (d, edges)
            }),
            categories: if numeric { (Vec::new(), 0) } else { (profile.category_counts(), profile.rows - profile.nulls) },
        }
    }

    pub fn compare(&self, current: &ColumnProfile) -> DriftReport {
        self.compare_with(current, true)
    }

    /// Without the KS statistic and Wasserstein distance (one pass over both distributions):
    /// what window scoring needs.
    pub fn compare_binned(&self, current: &ColumnProfile) -> DriftReport {
        self.compare_with(current, false)
    }

    fn compare_with(&self, current: &ColumnProfile, distances: bool) -> DriftReport {
        let mut report = DriftReport::default();
        if let (Some(b), Some(c)) = (self.null_fraction, current.null_fraction()) {
            report.null_fraction_delta = Some(c - b);
        }
        if self.kind != current.kind {
            return report;
        }
        match current.kind {
            ProfileKind::Numeric => self.numeric(current, &mut report, distances),
            ProfileKind::Categorical => categories(&self.categories.0, self.categories.1, current, &mut report),
        }
        report
    }

    fn numeric(&self, current: &ColumnProfile, report: &mut DriftReport, distances: bool) {
        let (Some((b, edges)), Some(c)) = (&self.numeric, current.distribution()) else { return };
        let (p, q) = (binned(b, edges), binned(&c, edges));
        report.psi = Some(psi(&p, &q));
        report.js_distance = Some(js_distance_ln(&p, &q));
        let (low, high) = (b.quantile(OUTSIDE), b.quantile(1.0 - OUTSIDE));
        report.new_value_fraction = Some(
            c.atoms(ATOM_SHARE)
                .into_iter()
                .filter(|&(v, share)| (v < low || v > high) && b.share_at(v) * NOVEL_RATIO < share)
                .map(|(_, share)| share)
                .fold(0.0, f64::max),
        );
        if !distances {
            return;
        }
        let (ks, w1) = b.ks_and_wasserstein(&c);
        report.ks_statistic = Some(ks);
        report.wasserstein_norm = match self.stddev {
            Some(sd) if sd > 0.0 && w1.is_finite() => Some(w1 / sd),
            _ => None,
        };
    }
}

fn categories(b: &[(String, u64)], b_total: u64, current: &ColumnProfile, report: &mut DriftReport) {
    let c = current.category_counts();
    let c_total = current.rows - current.nulls;
    if b_total == 0 || c_total == 0 {
        return;
    }
    let mut names: Vec<&str> = b.iter().chain(&c).map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let count = |list: &[(String, u64)], name: &str| list.iter().find(|(n, _)| n == name).map_or(0, |x| x.1);
    let mut reference: Vec<u64> = names.iter().map(|n| count(b, n)).collect();
    let mut observed: Vec<u64> = names.iter().map(|n| count(&c, n)).collect();
    // Values the sketches did not keep, as one more category.
    let (b_rest, c_rest) =
        (b_total.saturating_sub(reference.iter().sum()), c_total.saturating_sub(observed.iter().sum()));
    if b_rest > 0 || c_rest > 0 {
        reference.push(b_rest);
        observed.push(c_rest);
    }
    let drift = categorical(&reference, &observed);
    let shares = |v: &[u64], total: u64| v.iter().map(|&x| x as f64 / total as f64).collect::<Vec<_>>();
    report.psi = Some(psi(&shares(&reference, b_total), &shares(&observed, c_total)));
    report.js_distance = Some(drift.js_distance_ln);
    report.linf = Some(drift.linf);
    report.chi2_pvalue = Some(drift.chi2_pvalue);
    report.new_category_fraction = Some(drift.new_category_fraction);
}

pub fn compare(baseline: &ColumnProfile, current: &ColumnProfile) -> DriftReport {
    Reference::new(baseline).compare(current)
}
