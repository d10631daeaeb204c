use super::*;

/// A small deterministic generator (SplitMix64), so the tests need no extra crate.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn two_pass(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}

#[test]
fn moments_agree_with_two_pass_and_merge() {
    let mut rng = Rng(7);
    let values: Vec<f64> = (0..10_000).map(|_| 1e6 + rng.unit() * 100.0).collect();
    let (mean, sd) = two_pass(&values);
    let mut whole = Moments::default();
    values.iter().for_each(|&v| whole.push(v));
    assert!(close(whole.mean().unwrap(), mean, 1e-12));
    assert!(close(whole.stddev_samp().unwrap(), sd, 1e-9));
    let (mut a, mut b) = (Moments::default(), Moments::default());
    values[..3_333].iter().for_each(|&v| a.push(v));
    values[3_333..].iter().for_each(|&v| b.push(v));
    a.merge(&b);
    assert_eq!(a.n, whole.n);
    assert!(close(a.mean, whole.mean, 1e-12) && close(a.m2, whole.m2, 1e-9));
    assert_eq!((a.min, a.max), (whole.min, whole.max));
    assert_eq!(Moments::default().stddev_samp(), None);
}

#[test]
fn nulls_nan_and_infinities_are_counted_apart() {
    let mut p = ColumnProfile::new(ProfileKind::Numeric);
    for v in [1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 3.0] {
        p.push_f64(v);
    }
    p.push_null();
    assert_eq!((p.rows, p.nulls, p.nan, p.infinite, p.moments().n), (6, 1, 1, 2, 2));
    assert_eq!(p.moments().mean(), Some(2.0));
    assert_eq!((p.moments().min, p.moments().max), (1.0, 3.0));
    assert!(close(p.null_fraction().unwrap(), 1.0 / 6.0, 1e-15));
    assert_eq!(ColumnProfile::new(ProfileKind::Numeric).null_fraction(), None);
}

#[test]
fn quantiles_stay_within_one_percent_rank_error() {
    let p_err = ColumnProfile::new(ProfileKind::Numeric).rank_error();
    assert!(p_err <= 0.01, "rank error {p_err}");
    // 1M distinct values in shuffled order: the true rank of value v is v / n.
    let n = 1_000_000u64;
    let mut p = ColumnProfile::new(ProfileKind::Numeric);
    let mut rng = Rng(42);
    let mut order: Vec<u64> = (0..n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    order.iter().for_each(|&v| p.push_f64(v as f64));
    for r in [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] {
        let q = p.quantile(r).unwrap();
        let true_rank = q / n as f64;
        assert!((true_rank - r).abs() <= p_err, "rank {r}: value {q} has rank {true_rank}");
    }
}

#[test]
fn merged_profiles_match_one_pass() {
    let mut rng = Rng(3);
    let values: Vec<f64> = (0..50_000).map(|_| (rng.unit() * 1000.0).floor()).collect();
    let mut whole = ColumnProfile::new(ProfileKind::Numeric);
    values.iter().for_each(|&v| whole.push_f64(v));
    let mut parts: Vec<ColumnProfile> = (0..4).map(|_| ColumnProfile::new(ProfileKind::Numeric)).collect();
    for (i, &v) in values.iter().enumerate() {
        parts[i % 4].push_f64(v);
    }
    let mut merged = parts.remove(0);
    for p in &parts {
        merged.merge(p).unwrap();
    }
    assert_eq!((merged.rows, merged.moments().n), (whole.rows, whole.moments().n));
    assert!(close(merged.moments().mean, whole.moments().mean, 1e-12));
    assert!(close(merged.moments().m2, whole.moments().m2, 1e-9));
    // 1000 distinct values: HLL within a few percent.
    assert!(close(merged.distinct_estimate(), 1000.0, 0.05), "{}", merged.distinct_estimate());
    let median = merged.quantile(0.5).unwrap();
    assert!((median - 500.0).abs() <= 1000.0 * merged.rank_error() + 1.0, "median {median}");
    let categorical = ColumnProfile::new(ProfileKind::Categorical);
    assert_eq!(merged.merge(&categorical), Err(ProfileError::KindMismatch));
}

#[test]
fn top_values_rank_categories_and_stay_bounded() {
    let mut p = ColumnProfile::new(ProfileKind::Categorical);
    // 150 categories with clearly separated counts (category c appears 10 * (150 - c) times),
    // plus 5,000 singletons of noise.
    for c in 0..150u64 {
        for _ in 0..10 * (150 - c) {
            p.push_text(&format!("cat{c}"));
        }
    }
    for i in 0..5_000 {
        p.push_text(&format!("noise{i}"));
    }
    let top = p.top_values(100);
    assert_eq!(top.len(), 100);
    assert_eq!(top[0].0, "cat0");
    assert!(top.iter().take(50).all(|(name, _)| name.starts_with("cat")));
    assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
    let d = p.distinct_estimate();
    assert!(close(d, 5150.0, 0.05), "distinct {d}");
}

#[test]
fn labels_counted_in_batches_merge_like_one_pass() {
    // Profiles with labels still waiting in their batch, merged: every count arrives once.
    let label = |i: u64| format!("cat{}", i % 7 + (i % 3) * 7);
    let mut one_pass = ColumnProfile::new(ProfileKind::Categorical);
    let mut parts: Vec<ColumnProfile> = (0..3).map(|_| ColumnProfile::new(ProfileKind::Categorical)).collect();
    for i in 0..3_000u64 {
        one_pass.push_text(&label(i));
        parts[(i % 3) as usize].push_text(&label(i));
    }
    let mut merged = ColumnProfile::new(ProfileKind::Categorical);
    for part in &parts {
        merged.merge(part).unwrap();
    }
    assert_eq!(merged.rows, 3_000);
    assert_eq!(merged.top_values(100), one_pass.top_values(100));
    assert_eq!(merged.distinct_estimate(), one_pass.distinct_estimate());
    let total: u64 = merged.top_values(100).iter().map(|t| t.1).sum();
    assert_eq!(total, 3_000);
}

#[test]
fn serialized_profiles_round_trip_and_stay_small() {
    let mut rng = Rng(11);
    let mut numeric = ColumnProfile::new(ProfileKind::Numeric);
    (0..1_000_000).for_each(|_| numeric.push_f64(rng.unit()));
    numeric.push_null();
    // Folding the buffered values involves KLL's random compaction: fold once, then compare.
    numeric.flush();
    let bytes = numeric.serialize();
    assert!(bytes.len() <= 32 * 1024, "numeric profile takes {} bytes", bytes.len());
    let back = ColumnProfile::deserialize(&bytes).unwrap();
    assert_eq!((back.rows, back.nulls, back.moments()), (numeric.rows, numeric.nulls, numeric.moments()));
    assert_eq!(back.quantile(0.5), numeric.quantile(0.5));
    assert_eq!(back.distinct_estimate(), numeric.distinct_estimate());

    let mut text = ColumnProfile::new(ProfileKind::Categorical);
    (0..200_000u64).for_each(|i| text.push_text(&format!("category-{}", i % 5_000)));
    let bytes = text.serialize();
    assert!(bytes.len() <= 32 * 1024, "categorical profile takes {} bytes", bytes.len());
    let back = ColumnProfile::deserialize(&bytes).unwrap();
    assert_eq!(back.top_values(10), text.top_values(10));

    assert_eq!(ColumnProfile::deserialize(&bytes[..10]).unwrap_err(), ProfileError::Truncated);
    let mut wrong = bytes.clone();
    wrong[0] = 99;
    assert_eq!(ColumnProfile::deserialize(&wrong).unwrap_err(), ProfileError::BadVersion(99));
}

#[test]
fn small_profiles_keep_their_values_and_merge_like_sketched_ones() {
    let mut rng = Rng(5);
    let values: Vec<f64> = (0..3_000).map(|_| rng.unit()).collect();
    // One profile fed everything vs. the same values as many raw single-row profiles.
    let mut whole = ColumnProfile::new(ProfileKind::Numeric);
    values.iter().for_each(|&v| whole.push_f64(v));
    let mut merged = ColumnProfile::new(ProfileKind::Numeric);
    for &v in &values {
        let mut one = ColumnProfile::new(ProfileKind::Numeric);
        one.push_f64(v);
        one.push_null();
        let bytes = one.serialize();
        assert!(bytes.len() <= 16, "a one-value profile takes {} bytes", bytes.len());
        let back = ColumnProfile::deserialize(&bytes).unwrap();
        assert!(back.is_raw());
        merged.merge(&back).unwrap();
    }
    assert!(!merged.is_raw(), "past RAW_LIMIT values a profile keeps sketches");
    assert_eq!((merged.rows, merged.nulls, merged.moments().n), (2 * whole.rows, whole.rows, whole.moments().n));
    assert!(close(merged.moments().mean, whole.moments().mean, 1e-12));
    assert!(close(merged.moments().stddev_samp().unwrap(), whole.moments().stddev_samp().unwrap(), 1e-9));
    for rank in [0.01, 0.5, 0.99] {
        let (a, b) = (merged.quantile(rank).unwrap(), whole.quantile(rank).unwrap());
        assert!((a - b).abs() < 0.02, "quantile {rank}: {a} vs {b}");
    }
    assert!(close(merged.distinct_estimate(), 3_000.0, 0.05));

    // A small categorical profile round-trips its labels exactly.
    let mut labels = ColumnProfile::new(ProfileKind::Categorical);
    ["b", "a", "b", "ü"].iter().for_each(|l| labels.push_text(l));
    let back = ColumnProfile::deserialize(&labels.serialize()).unwrap();
    assert!(back.is_raw());
    assert_eq!(back.top_values(3), vec![("b".into(), 2), ("a".into(), 1), ("ü".into(), 1)]);
    // Infinities are counted, NaN too, and neither enters the moments.
    let mut odd = ColumnProfile::new(ProfileKind::Numeric);
    [1.0, f64::INFINITY, f64::NAN, 3.0].iter().for_each(|&v| odd.push_f64(v));
    let back = ColumnProfile::deserialize(&odd.serialize()).unwrap();
    assert_eq!((back.rows, back.nan, back.infinite, back.moments().n, back.moments().mean), (4, 1, 1, 2, 2.0));
}

#[test]
fn one_row_profiles_take_a_few_bytes_and_merge_like_raw_ones() {
    let one = |push: &dyn Fn(&mut ColumnProfile), kind| {
        let mut p = ColumnProfile::new(kind);
        push(&mut p);
        p
    };
    let numeric = [
        one(&|p| p.push_f64(2.5), ProfileKind::Numeric),
        one(&|p| p.push_null(), ProfileKind::Numeric),
        one(&|p| p.push_f64(f64::NAN), ProfileKind::Numeric),
        one(&|p| p.push_f64(-1.0), ProfileKind::Numeric),
    ];
    let sizes: Vec<usize> = numeric.iter().map(|p| p.serialize().len()).collect();
    assert_eq!(sizes, vec![9, 2, 9, 9]);
    let bytes: Vec<Vec<u8>> = numeric.iter().map(|p| p.serialize()).collect();
    let mut merged = ColumnProfile::new(ProfileKind::Numeric);
    for (p, b) in numeric.iter().zip(&bytes) {
        let back = ColumnProfile::deserialize(b).unwrap();
        assert_eq!((back.rows, back.nulls, back.nan, back.moments().n), (p.rows, p.nulls, p.nan, p.moments().n));
        assert_eq!(back.serialize(), *b);
        merged.merge(&back).unwrap();
    }
    let parts: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
    assert_eq!(merge_raw(&parts).unwrap().unwrap(), merged.serialize(), "byte-wise merge equals merging profiles");
    assert_eq!((merged.rows, merged.nulls, merged.nan, merged.moments().n, merged.moments().mean), (4, 1, 1, 2, 0.75));
    // A single part merged alone keeps its one-value form.
    assert_eq!(merge_raw(&parts[..1]).unwrap().unwrap(), bytes[0]);

    let label = one(&|p| p.push_text("état"), ProfileKind::Categorical);
    let null_label = one(&|p| p.push_null(), ProfileKind::Categorical);
    let (a, b) = (label.serialize(), null_label.serialize());
    assert_eq!((a.len(), b.len()), (1 + 1 + "état".len(), 2));
    let merged = ColumnProfile::deserialize(&merge_raw(&[&a, &b]).unwrap().unwrap()).unwrap();
    assert_eq!((merged.rows, merged.nulls, merged.top_values(2)), (2, 1, vec![("état".into(), 1)]));
    // A NULL of one kind does not merge byte-wise with values of the other.
    assert!(merge_raw(&[&a, &numeric[1].serialize()]).unwrap().is_none());
    assert!(ColumnProfile::deserialize(&[5, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f]).is_err(), "an infinity never has the one-value form");
}

#[test]
fn small_distinct_counts_stay_exact_and_large_ones_close() {
    for (values, distinct) in [(20u64, 20u64), (100_000, 5), (100_000, 200), (300_000, 100_000)] {
        let mut profile = ColumnProfile::new(ProfileKind::Numeric);
        for i in 0..values {
            profile.push_f64((i % distinct) as f64 * 0.5);
        }
        let estimate = profile.distinct_estimate();
        let back = ColumnProfile::deserialize(&profile.serialize()).unwrap().distinct_estimate();
        if distinct <= 200 {
            // Coupon counting: exact up to the estimator's rounding.
            for e in [estimate, back] {
                assert!((e - distinct as f64).abs() < 1e-4, "{e} for {distinct} in {values} values");
            }
        } else {
            assert!((estimate / distinct as f64 - 1.0).abs() < 0.05, "{estimate} for {distinct}");
            assert!((back / estimate - 1.0).abs() < 1e-9);
        }
    }
}

#[test]
fn decimal_digits_tell_precision_apart() {
    use super::decimal_digits;
    assert_eq!(decimal_digits(39.02), 2);
    assert_eq!(decimal_digits(10.0), -1);
    assert_eq!(decimal_digits(1500.0), -2);
    assert_eq!(decimal_digits(7.0), 0);
    assert_eq!(decimal_digits(0.0), 0);
    assert_eq!(decimal_digits(-0.25), 2);
    // A Fahrenheit reading converted to Celsius leaves a long fraction (counted to nine
    // significant digits).
    assert_eq!(decimal_digits((50.3 - 32.0) * 5.0 / 9.0), 8);
    assert_eq!(decimal_digits(1.0 / 3.0), 9);
    // Tiny values are fractions, not multiples of a thousand.
    assert_eq!(decimal_digits(2.5e-12), 13);
    assert_eq!(decimal_digits(0.004), 3);
    // Rounded to tens, a day of readings says so.
    let mut profile = ColumnProfile::new(ProfileKind::Numeric);
    let mut rounded = ColumnProfile::new(ProfileKind::Numeric);
    for i in 0..1000 {
        let x = 30.0 + (i % 97) as f64 * 0.37;
        profile.push_f64((x * 100.0).round() / 100.0);
        rounded.push_f64((x / 10.0).round() * 10.0);
    }
    assert_eq!(profile.distribution().unwrap().resolution(), 2.0);
    assert_eq!(rounded.distribution().unwrap().resolution(), -1.0);
}
