//! Batch-level constraints: expectations on an aggregate of a column (or of the table) over a
//! write batch, in Great Expectations' semantics for the expectations of the same names. Pure
//! Rust: the write path and vigil.validate hand in the aggregates, this module judges them.

use super::RuleError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateKind {
    /// Share of non-NULL values at least `min` (GE: expect_column_values_to_not_be_null with mostly).
    Completeness,
    /// Mean of the non-NULL values (GE: expect_column_mean_to_be_between).
    MeanBetween,
    /// Sample standard deviation (GE: expect_column_stdev_to_be_between).
    StddevBetween,
    /// The value at quantile `q` (GE: expect_column_quantile_values_to_be_between).
    QuantileBetween,
    /// Distinct values over non-NULL values (GE: expect_column_proportion_of_unique_values_to_be_between).
    UniqueFractionBetween,
    /// Rows in the batch (GE: expect_table_row_count_to_be_between); no column.
    RowCountBetween,
    /// Distinct non-NULL values (GE: expect_column_unique_value_count_to_be_between).
    UniqueCountBetween,
    /// The smallest value (GE: expect_column_min_to_be_between).
    MinBetween,
    /// The largest value (GE: expect_column_max_to_be_between).
    MaxBetween,
    /// The sum of the values (GE: expect_column_sum_to_be_between).
    SumBetween,
    /// The median, halfway between the middle two of an even count (GE:
    /// expect_column_median_to_be_between).
    MedianBetween,
    /// A watched column's drift in each finished window: its learned score above 1, or a drift
    /// metric beyond a given threshold. Judged per window (when windows are evaluated), not per
    /// batch.
    NoDrift,
}

pub const ALL_AGGREGATES: [AggregateKind; 12] = [
    AggregateKind::Completeness,
    AggregateKind::MeanBetween,
    AggregateKind::StddevBetween,
    AggregateKind::QuantileBetween,
    AggregateKind::UniqueFractionBetween,
    AggregateKind::RowCountBetween,
    AggregateKind::UniqueCountBetween,
    AggregateKind::MinBetween,
    AggregateKind::MaxBetween,
    AggregateKind::SumBetween,
    AggregateKind::MedianBetween,
    AggregateKind::NoDrift,
];

/// Drift metrics expect_no_drift can judge ('auto' picks one, see `auto_metric`).
pub const DRIFT_METRICS: [&str; 7] = ["auto", "psi", "js_distance", "ks_statistic", "wasserstein_norm", "linf", "chi2_pvalue"];

/// Evidently's choice by column kind and sample size: KS for small numeric samples, the
/// normalized Wasserstein distance for large ones; chi-square's p-value for small categorical
/// samples, the Jensen–Shannon distance for large ones.
pub fn auto_metric(numeric: bool, rows: u64) -> &'static str {
    match (numeric, rows <= 1000) {
        (true, true) => "ks_statistic",
        (true, false) => "wasserstein_norm",
        (false, true) => "chi2_pvalue",
        (false, false) => "js_distance",
    }
}

/// Whether `value` of `metric` means drift beyond `threshold` (a p-value drifts when it is low).
pub fn drifts(metric: &str, value: f64, threshold: f64) -> bool {
    if metric == "chi2_pvalue" {
        value < threshold
    } else {
        value > threshold
    }
}

impl AggregateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateKind::Completeness => "completeness",
            AggregateKind::MeanBetween => "mean_between",
            AggregateKind::StddevBetween => "stddev_between",
            AggregateKind::QuantileBetween => "quantile_between",
            AggregateKind::UniqueFractionBetween => "unique_fraction_between",
            AggregateKind::RowCountBetween => "row_count_between",
            AggregateKind::UniqueCountBetween => "unique_count_between",
            AggregateKind::MinBetween => "min_between",
            AggregateKind::MaxBetween => "max_between",
            AggregateKind::SumBetween => "sum_between",
            AggregateKind::MedianBetween => "median_between",
            AggregateKind::NoDrift => "no_drift",
        }
    }

    pub fn parse(s: &str) -> Option<AggregateKind> {
        ALL_AGGREGATES.iter().copied().find(|k| k.as_str() == s)
    }

    /// What is measured, for messages.
    pub fn measure(self) -> &'static str {
        match self {
            AggregateKind::Completeness => "share of non-NULL values",
            AggregateKind::MeanBetween => "mean",
            AggregateKind::StddevBetween => "standard deviation",
            AggregateKind::QuantileBetween => "quantile",
            AggregateKind::UniqueFractionBetween => "share of distinct values",
            AggregateKind::RowCountBetween => "row count",
            AggregateKind::UniqueCountBetween => "number of distinct values",
            AggregateKind::MinBetween => "minimum",
            AggregateKind::MaxBetween => "maximum",
            AggregateKind::SumBetween => "sum",
            AggregateKind::MedianBetween => "median",
            AggregateKind::NoDrift => "drift",
        }
    }

    /// Whether the aggregate needs the column's values as numbers.
    pub fn needs_numbers(self) -> bool {
        matches!(
            self,
            AggregateKind::MeanBetween
                | AggregateKind::StddevBetween
                | AggregateKind::QuantileBetween
                | AggregateKind::MinBetween
                | AggregateKind::MaxBetween
                | AggregateKind::SumBetween
                | AggregateKind::MedianBetween
        )
    }
}

/// The allowed range of an aggregate (None: unbounded on that side).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub strict_min: bool,
    pub strict_max: bool,
}

impl Bounds {
    pub fn contains(&self, x: f64) -> bool {
        let above = match self.min {
            Some(m) if self.strict_min => x > m,
            Some(m) => x >= m,
            None => true,
        };
        let below = match self.max {
            Some(m) if self.strict_max => x < m,
            Some(m) => x <= m,
            None => true,
        };
        above && below
    }

    /// "between 0 and 50", "at least 0.95", "above 3", …
    pub fn describe(&self) -> String {
        let low = |m: f64| if self.strict_min { format!("above {m}") } else { format!("at least {m}") };
        let high = |m: f64| if self.strict_max { format!("below {m}") } else { format!("at most {m}") };
        match (self.min, self.max) {
            (Some(a), Some(b)) if !self.strict_min && !self.strict_max => format!("between {a} and {b}"),
            (Some(a), Some(b)) => format!("{} and {}", low(a), high(b)),
            (Some(a), None) => low(a),
            (None, Some(b)) => high(b),
            (None, None) => "any value".into(),
        }
    }
}

/// Checks a declaration: bounds in order and in the aggregate's domain, `q` a probability.
pub fn validate(kind: AggregateKind, bounds: &Bounds, quantile: Option<f64>) -> Result<(), RuleError> {
    if kind == AggregateKind::NoDrift {
        return Ok(()); // see validate_drift
    }
    // Neither bound: vacuously true, as in Great Expectations (the caller says so), except for
    // completeness, whose one bound is its meaning.
    if kind == AggregateKind::Completeness && bounds.min.is_none() {
        return Err(RuleError::NullValue("min_fraction must not be NULL".into()));
    }
    // GE refuses these without a bound (a ValueError), unlike the mean or the standard deviation.
    if matches!(kind, AggregateKind::MinBetween | AggregateKind::MaxBetween | AggregateKind::SumBetween) && is_vacuous(bounds) {
        return Err(RuleError::NullValue(format!("{} needs min, max or both", kind.as_str())));
    }
    for b in [bounds.min, bounds.max].into_iter().flatten() {
        if !b.is_finite() {
            return Err(RuleError::InvalidParameter(format!("bounds of {} must be finite numbers, got {b}", kind.as_str())));
        }
    }
    if let (Some(a), Some(b)) = (bounds.min, bounds.max) {
        if a > b || (a == b && (bounds.strict_min || bounds.strict_max)) {
            return Err(RuleError::InvalidParameter(format!("min ({a}) must not exceed max ({b})")));
        }
    }
    let in_unit = |name: &str| -> Result<(), RuleError> {
        for b in [bounds.min, bounds.max].into_iter().flatten() {
            if !(0.0..=1.0).contains(&b) {
                return Err(RuleError::InvalidParameter(format!("{name} is a fraction in [0, 1], got {b}")));
            }
        }
        Ok(())
    };
    match kind {
        AggregateKind::Completeness => in_unit("min_fraction")?,
        AggregateKind::UniqueFractionBetween => in_unit("the share of distinct values")?,
        AggregateKind::StddevBetween => {
            if bounds.max.is_some_and(|m| m < 0.0) {
                return Err(RuleError::InvalidParameter("a standard deviation is never negative".into()));
            }
        }
        AggregateKind::RowCountBetween => {
            for b in [bounds.min, bounds.max].into_iter().flatten() {
                if b < 0.0 || b.fract() != 0.0 {
                    return Err(RuleError::InvalidParameter(format!("row counts are whole numbers from 0, got {b}")));
                }
            }
        }
        AggregateKind::QuantileBetween => match quantile {
            None => return Err(RuleError::NullValue("quantile must not be NULL".into())),
            Some(q) if !(0.0..=1.0).contains(&q) => {
                return Err(RuleError::InvalidParameter(format!("quantile must be in [0, 1], got {q}")))
            }
            _ => {}
        },
        AggregateKind::MeanBetween
        | AggregateKind::UniqueCountBetween
        | AggregateKind::MinBetween
        | AggregateKind::MaxBetween
        | AggregateKind::SumBetween
        | AggregateKind::MedianBetween
        | AggregateKind::NoDrift => {}
    }
    Ok(())
}

/// Checks an expect_no_drift declaration: a known metric, a threshold that fits it.
pub fn validate_drift(metric: &str, threshold: Option<f64>) -> Result<(), RuleError> {
    if !DRIFT_METRICS.contains(&metric) {
        return Err(RuleError::InvalidParameter(format!("unknown drift metric \"{metric}\" (use one of {})", DRIFT_METRICS.join(", "))));
    }
    match threshold {
        Some(t) if !(t.is_finite() && t >= 0.0) => Err(RuleError::InvalidParameter(format!("threshold must be a non-negative number, got {t}"))),
        Some(t) if metric == "chi2_pvalue" && t > 1.0 => Err(RuleError::InvalidParameter(format!("a p-value threshold is at most 1, got {t}"))),
        Some(_) if metric == "auto" => Err(RuleError::InvalidParameter(
            "a threshold needs a named metric ('auto' picks one per window and goes with a learned threshold only)".into(),
        )),
        _ => Ok(()),
    }
}

/// The aggregates of one column (or the table) over a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed {
    pub rows: u64,
    pub nulls: u64,
    pub mean: Option<f64>,
    pub stddev: Option<f64>,
    pub quantile: Option<f64>,
    pub distinct: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: Option<f64>,
}

impl Observed {
    /// The aggregates of a column's profile (of a batch or a window); `quantile` for a
    /// quantile_between constraint. A profile of a type that cannot be profiled has counts only.
    pub fn of_profile(p: &crate::profile::ColumnProfile, profiled: bool, quantile: Option<f64>) -> Observed {
        let numeric = profiled && p.kind == crate::profile::ProfileKind::Numeric;
        let m = p.moments();
        Observed {
            rows: p.rows,
            nulls: p.nulls,
            mean: if numeric { m.mean() } else { None },
            stddev: if numeric { m.stddev_samp() } else { None },
            quantile: if numeric { quantile.and_then(|q| p.quantile(q)) } else { None },
            distinct: profiled.then(|| p.distinct_estimate()),
            min: (numeric && m.n > 0).then_some(m.min),
            max: (numeric && m.n > 0).then_some(m.max),
            // The sum of no values is 0.
            sum: numeric.then(|| if m.n > 0 { m.mean * m.n as f64 } else { 0.0 }),
        }
    }
}

/// Whether a batch (or window, or table) passes: its aggregate within the bounds. A mean,
/// standard deviation, quantile, minimum or maximum with no values to compute it from fails
/// (Great Expectations: no observed value to compare with); the sum of no values is 0. The
/// write path judges no statement that wrote nothing.
pub fn passes(kind: AggregateKind, bounds: &Bounds, o: &Observed) -> bool {
    if is_vacuous(bounds) {
        return true;
    }
    match observe(kind, o) {
        Some(v) => bounds.contains(v),
        None => !matches!(
            kind,
            AggregateKind::MeanBetween
                | AggregateKind::StddevBetween
                | AggregateKind::QuantileBetween
                | AggregateKind::MinBetween
                | AggregateKind::MaxBetween
                | AggregateKind::MedianBetween
        ),
    }
}

/// Whether bounds are vacuous (neither given): every batch passes.
pub fn is_vacuous(bounds: &Bounds) -> bool {
    bounds.min.is_none() && bounds.max.is_none()
}

/// The value a constraint judges, or None when there is nothing to judge (no rows, or no
/// non-NULL values for a statistic of the values); `passes` says what that means.
pub fn observe(kind: AggregateKind, o: &Observed) -> Option<f64> {
    let present = o.rows - o.nulls;
    match kind {
        AggregateKind::RowCountBetween => Some(o.rows as f64),
        AggregateKind::Completeness => (o.rows > 0).then(|| present as f64 / o.rows as f64),
        AggregateKind::MeanBetween => o.mean,
        AggregateKind::StddevBetween => o.stddev,
        AggregateKind::QuantileBetween | AggregateKind::MedianBetween => o.quantile,
        AggregateKind::MinBetween => o.min,
        AggregateKind::MaxBetween => o.max,
        AggregateKind::SumBetween => o.sum,
        AggregateKind::UniqueFractionBetween => {
            (present > 0).then(|| (o.distinct.unwrap_or(0.0) / present as f64).min(1.0))
        }
        // No values: none distinct.
        AggregateKind::UniqueCountBetween => Some(if present > 0 { o.distinct.unwrap_or(0.0).round() } else { 0.0 }),
        AggregateKind::NoDrift => None, // judged per window, not per batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn between(min: f64, max: f64) -> Bounds {
        Bounds { min: Some(min), max: Some(max), strict_min: false, strict_max: false }
    }

    #[test]
    fn bounds_follow_strictness() {
        let b = between(0.0, 1.0);
        assert!(b.contains(0.0) && b.contains(1.0) && !b.contains(1.5));
        let strict = Bounds { strict_min: true, ..b };
        assert!(!strict.contains(0.0) && strict.contains(0.5));
        assert_eq!(Bounds { min: Some(0.9), max: None, strict_min: false, strict_max: false }.describe(), "at least 0.9");
        assert_eq!(between(2.0, 5.0).describe(), "between 2 and 5");
    }

    #[test]
    fn declarations_are_checked() {
        assert!(validate(AggregateKind::MeanBetween, &between(1.0, 0.0), None).is_err());
        assert!(validate(AggregateKind::Completeness, &between(0.5, 1.5), None).is_err());
        assert!(validate(AggregateKind::RowCountBetween, &between(1.5, 3.0), None).is_err());
        assert!(validate(AggregateKind::QuantileBetween, &between(0.0, 1.0), None).is_err());
        assert!(validate(AggregateKind::QuantileBetween, &between(0.0, 1.0), Some(1.5)).is_err());
        assert!(validate(AggregateKind::QuantileBetween, &between(0.0, 1.0), Some(0.5)).is_ok());
        let none = Bounds { min: None, max: None, strict_min: false, strict_max: false };
        assert!(matches!(validate(AggregateKind::Completeness, &none, None), Err(RuleError::NullValue(_))));
    }

    #[test]
    fn drift_declarations_and_metrics() {
        assert!(validate_drift("psi", Some(0.2)).is_ok());
        assert!(validate_drift("auto", None).is_ok());
        assert!(validate_drift("auto", Some(0.1)).is_err());
        assert!(validate_drift("chi2_pvalue", Some(2.0)).is_err());
        assert!(validate_drift("nope", None).is_err());
        assert_eq!((auto_metric(true, 500), auto_metric(false, 5000)), ("ks_statistic", "js_distance"));
        assert!(drifts("chi2_pvalue", 0.001, 0.05) && !drifts("psi", 0.1, 0.2));
    }

    #[test]
    fn observations_follow_great_expectations() {
        let o = Observed {
            rows: 10,
            nulls: 2,
            mean: Some(3.0),
            stddev: Some(1.0),
            quantile: Some(2.0),
            distinct: Some(4.0),
            min: Some(-1.0),
            max: Some(9.0),
            sum: Some(24.0),
        };
        assert_eq!(observe(AggregateKind::Completeness, &o), Some(0.8));
        assert_eq!(observe(AggregateKind::UniqueFractionBetween, &o), Some(0.5));
        assert_eq!(observe(AggregateKind::RowCountBetween, &o), Some(10.0));
        assert_eq!(observe(AggregateKind::MinBetween, &o), Some(-1.0));
        assert_eq!(observe(AggregateKind::MaxBetween, &o), Some(9.0));
        assert_eq!(observe(AggregateKind::SumBetween, &o), Some(24.0));
        assert_eq!(observe(AggregateKind::MedianBetween, &o), Some(2.0));
        assert_eq!(observe(AggregateKind::UniqueCountBetween, &o), Some(4.0));
        let empty = Observed::default();
        assert_eq!(observe(AggregateKind::Completeness, &empty), None);
        assert_eq!(observe(AggregateKind::MeanBetween, &empty), None);
        assert_eq!(observe(AggregateKind::RowCountBetween, &empty), Some(0.0));
        // No values to take a mean of (all NULL, or no rows): fails; a share of none does not.
        let all_null = Observed { rows: 3, nulls: 3, ..Default::default() };
        let b = between(0.0, 10.0);
        assert!(!passes(AggregateKind::MeanBetween, &b, &all_null));
        assert!(!passes(AggregateKind::StddevBetween, &b, &all_null));
        assert!(!passes(AggregateKind::MeanBetween, &b, &empty));
        assert!(passes(AggregateKind::UniqueFractionBetween, &b, &all_null));
        // The minimum of nothing fails; the sum of nothing is 0, no values are 0 distinct ones.
        assert!(!passes(AggregateKind::MinBetween, &b, &all_null));
        assert_eq!(observe(AggregateKind::UniqueCountBetween, &all_null), Some(0.0));
        let profiled_none = Observed::of_profile(&crate::profile::ColumnProfile::new(crate::profile::ProfileKind::Numeric), true, None);
        assert_eq!((profiled_none.sum, profiled_none.min), (Some(0.0), None));
        // Neither bound: vacuously true, and accepted (but completeness needs its bound).
        let none = Bounds { min: None, max: None, strict_min: false, strict_max: false };
        assert!(is_vacuous(&none) && validate(AggregateKind::MeanBetween, &none, None).is_ok());
        assert!(passes(AggregateKind::RowCountBetween, &none, &o));
        assert!(passes(AggregateKind::MeanBetween, &none, &all_null));
        assert!(validate(AggregateKind::Completeness, &none, None).is_err());
    }
}
