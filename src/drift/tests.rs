//! Drift math against tests/data/drift_reference.json (numpy/scipy), to 1e-9 relative.

use super::*;
use serde_json::Value;
use std::collections::BTreeSet;

const REFERENCE: &str = include_str!("../../tests/data/drift_reference.json");

fn cases() -> Vec<Value> {
    let doc: Value = serde_json::from_str(REFERENCE).expect("reference JSON parses");
    doc["cases"].as_array().expect("cases").clone()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

fn assert_close(case: &str, metric: &str, got: f64, want: f64) {
    let tolerance = 1e-9 * want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= tolerance || (want == 0.0 && got.abs() < 1e-12),
        "{case}: {metric} = {got:e}, reference {want:e} (relative error {:e})",
        ((got - want) / want).abs()
    );
}

/// The reference samples are stored rounded to 6 decimals, while the expected moments,
/// quantiles and Wasserstein distances were computed before rounding. Those metrics move by at
/// most the rounding error (each is 1-Lipschitz in the samples under the max norm), so they are
/// checked to 5e-7 absolute; binned metrics and KS, unaffected by the rounding, to 1e-9 relative.
const ROUNDING: f64 = 5e-7;

fn assert_within_rounding(case: &str, metric: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= ROUNDING + 1e-9 * want.abs(), "{case}: {metric} = {got:e}, reference {want:e}");
}

#[test]
fn numeric_metrics_match_scipy() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c["kind"] == "numeric") {
        let name = case["name"].as_str().unwrap();
        let (mut reference, mut current) = (floats(&case["reference"]), floats(&case["current"]));
        let edges = floats(&case["bin_edges_inner"]);
        let want = &case["expected"];
        let p = proportions(&bin_counts(&reference, &edges));
        let q = proportions(&bin_counts(&current, &edges));
        assert_close(name, "psi", psi(&p, &q), want["psi"].as_f64().unwrap());
        assert_close(name, "js_distance_ln", js_distance_ln(&p, &q), want["js_distance_ln"].as_f64().unwrap());
        assert_close(name, "js_divergence_log2", js_divergence_log2(&p, &q), want["js_divergence_log2"].as_f64().unwrap());

        let (ref_mean, ref_std) = mean_std(&reference);
        let (cur_mean, cur_std) = mean_std(&current);
        assert_within_rounding(name, "ref_mean", ref_mean, want["ref_mean"].as_f64().unwrap());
        assert_within_rounding(name, "ref_std_pop", ref_std, want["ref_std_pop"].as_f64().unwrap());
        assert_within_rounding(name, "cur_mean", cur_mean, want["cur_mean"].as_f64().unwrap());
        assert_within_rounding(name, "cur_std_pop", cur_std, want["cur_std_pop"].as_f64().unwrap());

        reference.sort_by(f64::total_cmp);
        current.sort_by(f64::total_cmp);
        assert_close(name, "ks_statistic", ks_statistic(&reference, &current), want["ks_statistic"].as_f64().unwrap());
        let w = wasserstein(&reference, &current);
        assert_within_rounding(name, "wasserstein", w, want["wasserstein"].as_f64().unwrap());
        let norm_tolerance = 2.0 * ROUNDING / ref_std * (1.0 + w / ref_std);
        let want_norm = want["wasserstein_norm"].as_f64().unwrap();
        assert!((w / ref_std - want_norm).abs() <= norm_tolerance, "{name}: wasserstein_norm {} vs {want_norm}", w / ref_std);
        for (q, v) in want["cur_quantiles"].as_object().unwrap() {
            let q: f64 = q.parse().unwrap();
            assert_within_rounding(name, &format!("quantile {q}"), quantile_sorted(&current, q), v.as_f64().unwrap());
        }
        checked += 1;
    }
    assert_eq!(checked, 6, "all numeric reference cases were checked");
}

#[test]
fn categorical_metrics_match_scipy() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c["kind"] == "categorical") {
        let name = case["name"].as_str().unwrap();
        let (r, c) = (case["reference_counts"].as_object().unwrap(), case["current_counts"].as_object().unwrap());
        let keys: BTreeSet<&String> = r.keys().chain(c.keys()).collect();
        let count = |m: &serde_json::Map<String, Value>, k: &String| m.get(k).and_then(Value::as_u64).unwrap_or(0);
        let reference: Vec<u64> = keys.iter().map(|k| count(r, k)).collect();
        let current: Vec<u64> = keys.iter().map(|k| count(c, k)).collect();
        let got = categorical(&reference, &current);
        let want = &case["expected"];
        assert_close(name, "linf", got.linf, want["linf"].as_f64().unwrap());
        assert_close(name, "chi2_statistic", got.chi2_statistic, want["chi2_statistic"].as_f64().unwrap());
        assert_eq!(got.chi2_df, want["chi2_df"].as_u64().unwrap(), "{name}: chi2_df");
        assert_close(name, "js_distance_ln", got.js_distance_ln, want["js_distance_ln"].as_f64().unwrap());
        assert_close(name, "new_category_fraction", got.new_category_fraction, want["new_category_fraction"].as_f64().unwrap());
        checked += 1;
    }
    assert_eq!(checked, 3, "all categorical reference cases were checked");
}

#[test]
fn chi2_pvalues_match_scipy_where_representable() {
    // statrs' regularised gamma is accurate to ~1e-10 relative in the body; far tails below
    // 1e-100 underflow differently, so those are checked as "negligible".
    for case in cases().iter().filter(|c| c["kind"] == "categorical") {
        let name = case["name"].as_str().unwrap();
        let want = case["expected"]["chi2_pvalue"].as_f64().unwrap();
        let df = case["expected"]["chi2_df"].as_f64().unwrap();
        let stat = case["expected"]["chi2_statistic"].as_f64().unwrap();
        let got = ChiSquared::new(df).unwrap().sf(stat);
        if want > 1e-100 {
            assert!(((got - want) / want).abs() < 1e-9, "{name}: p = {got:e}, reference {want:e}");
        } else {
            assert!(got < 1e-100, "{name}: p = {got:e} should be negligible");
        }
    }
}

#[test]
fn degenerate_inputs_stay_finite() {
    assert_eq!(ks_statistic(&[], &[1.0]), 0.0);
    assert_eq!(wasserstein(&[1.0, 1.0], &[1.0]), 0.0);
    let empty = proportions(&[0, 0]);
    assert_eq!(empty, vec![0.0, 0.0]);
    assert!(psi(&empty, &[1.0, 0.0]).is_finite());
    assert_eq!(js_distance_ln(&empty, &[1.0, 0.0]), 0.0);
    let same = categorical(&[5, 5], &[0, 0]);
    assert_eq!((same.linf, same.new_category_fraction, same.chi2_pvalue), (0.5, 0.0, 1.0));
    assert_eq!(bin_counts(&[f64::NAN, 0.0, 1.0, 2.0], &[1.0]), vec![1, 2]);
}

/// The sketch-based metrics of vigil.drift (profiles of the same samples, bins cut at the
/// baseline sketch's deciles) against the exact reference values. Prints the differences:
/// `cargo test --lib sketch_metrics -- --nocapture`.
#[test]
fn sketch_metrics_track_the_exact_ones() {
    use crate::profile::{ColumnProfile, ProfileKind};
    for case in cases().iter().filter(|c| c["kind"] == "numeric") {
        let name = case["name"].as_str().unwrap();
        let (mut b, mut c) = (ColumnProfile::new(ProfileKind::Numeric), ColumnProfile::new(ProfileKind::Numeric));
        floats(&case["reference"]).iter().for_each(|&v| b.push_f64(v));
        floats(&case["current"]).iter().for_each(|&v| c.push_f64(v));
        let got = compare::compare(&b, &c);
        let want = &case["expected"];
        let eps = b.rank_error();
        let (ks, ks_want) = (got.ks_statistic.unwrap(), want["ks_statistic"].as_f64().unwrap());
        let (w, w_want) = (got.wasserstein_norm.unwrap(), want["wasserstein_norm"].as_f64().unwrap());
        let (p, p_want) = (got.psi.unwrap(), want["psi"].as_f64().unwrap());
        let (j, j_want) = (got.js_distance.unwrap(), want["js_distance_ln"].as_f64().unwrap());
        eprintln!(
            "{name:>18}: ks {ks:.4} vs {ks_want:.4} | w_norm {w:.4} vs {w_want:.4} | psi {p:.4} vs {p_want:.4} | js {j:.4} vs {j_want:.4}"
        );
        // KS compares two CDFs, each within the sketch's rank error.
        assert!((ks - ks_want).abs() <= 2.0 * eps, "{name}: ks {ks} vs {ks_want}");
        assert!((w - w_want).abs() <= 0.05 * w_want.max(0.2), "{name}: wasserstein_norm {w} vs {w_want}");
        // Binned metrics move with the bin edges (sketch deciles vs exact deciles).
        assert!((p - p_want).abs() <= 0.05 + 0.25 * p_want, "{name}: psi {p} vs {p_want}");
        assert!((j - j_want).abs() <= 0.02 + 0.10 * j_want, "{name}: js {j} vs {j_want}");
        assert_eq!(got.null_fraction_delta, Some(0.0));
    }
    for case in cases().iter().filter(|c| c["kind"] == "categorical") {
        let name = case["name"].as_str().unwrap();
        let profile = |counts: &serde_json::Map<String, Value>| {
            let mut p = ColumnProfile::new(ProfileKind::Categorical);
            for (category, n) in counts {
                (0..n.as_u64().unwrap()).for_each(|_| p.push_text(category));
            }
            p
        };
        let (b, c) = (profile(case["reference_counts"].as_object().unwrap()), profile(case["current_counts"].as_object().unwrap()));
        let got = compare::compare(&b, &c);
        let want = &case["expected"];
        assert_close(name, "linf", got.linf.unwrap(), want["linf"].as_f64().unwrap());
        assert_close(name, "js", got.js_distance.unwrap(), want["js_distance_ln"].as_f64().unwrap());
        assert_close(name, "new_category_fraction", got.new_category_fraction.unwrap(), want["new_category_fraction"].as_f64().unwrap());
        let (pv, pv_want) = (got.chi2_pvalue.unwrap(), want["chi2_pvalue"].as_f64().unwrap());
        assert!(if pv_want > 1e-100 { ((pv - pv_want) / pv_want).abs() < 1e-9 } else { pv < 1e-100 }, "{name}: p {pv} vs {pv_want}");
    }
}

#[test]
fn degenerate_profiles_never_give_nan() {
    use crate::profile::{ColumnProfile, ProfileKind};
    let (mut constant, mut other) = (ColumnProfile::new(ProfileKind::Numeric), ColumnProfile::new(ProfileKind::Numeric));
    (0..100).for_each(|_| constant.push_f64(5.0));
    (0..100).for_each(|_| other.push_f64(7.0));
    let empty = ColumnProfile::new(ProfileKind::Numeric);
    let mut nulls = ColumnProfile::new(ProfileKind::Numeric);
    (0..10).for_each(|_| nulls.push_null());
    let mut single = ColumnProfile::new(ProfileKind::Numeric);
    single.push_f64(1.0);
    for (b, c) in [(&constant, &other), (&constant, &constant), (&empty, &other), (&nulls, &single), (&single, &nulls), (&other, &single)] {
        let r = compare::compare(b, c);
        for v in [r.psi, r.js_distance, r.ks_statistic, r.wasserstein_norm, r.null_fraction_delta].into_iter().flatten() {
            assert!(v.is_finite(), "{r:?}");
        }
    }
    let r = compare::compare(&constant, &other);
    assert_eq!(r.ks_statistic, Some(1.0));
    assert_eq!(r.wasserstein_norm, None); // a constant baseline has no spread to normalise by
    let (mut cats, mut new_cats) = (ColumnProfile::new(ProfileKind::Categorical), ColumnProfile::new(ProfileKind::Categorical));
    cats.push_text("a");
    new_cats.push_text("b");
    let r = compare::compare(&cats, &new_cats);
    assert_eq!(r.new_category_fraction, Some(1.0));
    assert!(r.chi2_pvalue.unwrap().is_finite() && r.linf == Some(1.0));
}
