//! Per-rule counts over a batch (a write statement, or a table for `validate`), and the
//! Great Expectations judgement of them.

/// At most this many offending values are kept per rule and batch (GE's SUMMARY format).
pub const MAX_SAMPLES: usize = 20;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Rows seen.
    pub rows: u64,
    /// Rows whose value was NULL.
    pub nulls: u64,
    /// Rows that violated the rule (for not_null: the NULLs).
    pub unexpected: u64,
    /// The first offending values, rendered for jsonb.
    pub samples: Vec<serde_json::Value>,
}

impl Tally {
    /// Counts one violation; `sample` is rendered only while there is room for it.
    #[inline]
    pub fn unexpected(&mut self, sample: impl FnOnce() -> serde_json::Value) {
        self.unexpected += 1;
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(sample());
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.nulls += other.nulls;
        self.unexpected += other.unexpected;
        let room = MAX_SAMPLES.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.iter().take(room).cloned());
    }

    /// The values a rule is judged on: every row for not_null, the non-NULL ones otherwise.
    pub fn domain(&self, counts_nulls: bool) -> u64 {
        if counts_nulls { self.rows } else { self.rows - self.nulls }
    }

    /// GE's unexpected_percent (0..100), or None when there is nothing to judge.
    pub fn unexpected_percent(&self, counts_nulls: bool) -> Option<f64> {
        let d = self.domain(counts_nulls);
        (d > 0).then(|| 100.0 * self.unexpected as f64 / d as f64)
    }

    /// GE's success: the passing fraction of the domain is at least `mostly` (an empty domain passes).
    pub fn passes(&self, counts_nulls: bool, mostly: f64) -> bool {
        let d = self.domain(counts_nulls);
        if d == 0 || self.unexpected == 0 {
            return true;
        }
        (d - self.unexpected) as f64 / d as f64 >= mostly
    }
}

/// Renders a real as written (1.1, not the double nearest its float4, 1.100000023841858).
pub fn float4_sample(v: f32) -> serde_json::Value {
    float_sample(v.to_string().parse().unwrap_or(f64::NAN))
}

/// Renders a double for jsonb: JSON has no NaN or infinities, so those become strings.
pub fn float_sample(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v)
        .map(serde_json::Value::Number)
        .unwrap_or_else(|| {
            serde_json::Value::String(
                if v.is_nan() {
                    "NaN"
                } else if v > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                }
                .into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tally(rows: u64, nulls: u64, unexpected: u64) -> Tally {
        Tally { rows, nulls, unexpected, samples: vec![] }
    }

    #[test]
    fn percent_is_over_non_null_values() {
        // GE: 10 rows, 2 missing, 2 unexpected -> 25 % of the 8 non-null values.
        let t = tally(10, 2, 2);
        assert_eq!(t.unexpected_percent(false), Some(25.0));
        assert!(t.passes(false, 0.75));
        assert!(!t.passes(false, 0.76));
        // not_null counts the NULLs themselves over all rows.
        let n = tally(10, 2, 2);
        assert_eq!(n.unexpected_percent(true), Some(20.0));
        assert!(n.passes(true, 0.8) && !n.passes(true, 0.81));
    }

    #[test]
    fn empty_domains_pass_without_percent() {
        let all_null = tally(5, 5, 0);
        assert_eq!(all_null.unexpected_percent(false), None);
        assert!(all_null.passes(false, 1.0));
        assert_eq!(tally(0, 0, 0).unexpected_percent(true), None);
    }

    #[test]
    fn samples_stop_at_twenty_and_merge() {
        let mut a = Tally::default();
        for i in 0..30 {
            a.unexpected(|| json!(i));
        }
        assert_eq!(a.unexpected, 30);
        assert_eq!(a.samples.len(), MAX_SAMPLES);
        assert_eq!(a.samples[19], json!(19));
        let mut b = tally(3, 1, 1);
        b.samples.push(json!("x"));
        b.merge(&a);
        assert_eq!((b.rows, b.nulls, b.unexpected), (3, 1, 31));
        assert_eq!(b.samples.len(), MAX_SAMPLES);
        assert_eq!(b.samples[0], json!("x"));
    }

    #[test]
    fn non_finite_samples_are_strings() {
        assert_eq!(float_sample(1.5), json!(1.5));
        assert_eq!(float_sample(f64::NAN), json!("NaN"));
        assert_eq!(float_sample(f64::NEG_INFINITY), json!("-Infinity"));
    }
}
