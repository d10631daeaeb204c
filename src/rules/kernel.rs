//! Value kernels: the per-value work of each rule, kept free of allocation on the hot path.

use super::RuleError;
use std::cmp::Ordering;
use rustc_hash::FxHashSet;
use std::fmt;

/// A numeric bound as declared: integers stay exact, everything else is a double.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    I(i64),
    F(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }

    pub fn is_nan(self) -> bool {
        matches!(self, Num::F(f) if f.is_nan())
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Num::I(a), Num::I(b)) => Some(a.cmp(b)),
            _ => self.as_f64().partial_cmp(&other.as_f64()),
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::I(i) => write!(f, "{i}"),
            Num::F(x) => write!(f, "{x}"),
        }
    }
}

/// An interval with optional, optionally strict, ends. Unordered values (NaN) never pass,
/// as in a CHECK (x BETWEEN a AND b).
#[derive(Debug, Clone, PartialEq)]
pub struct Range<T> {
    pub min: Option<T>,
    pub max: Option<T>,
    pub strict_min: bool,
    pub strict_max: bool,
}

/// Where a value lies relative to a [`Range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Inside,
    BelowMin,
    AboveMax,
    /// Not comparable with a bound (NaN): never admitted, cannot be clamped.
    Unordered,
}

impl<T> Range<T> {
    /// Locates a value given how it compares with a bound; lets the database supply the
    /// comparison for types the core cannot decode (numeric).
    #[inline]
    pub fn locate_by(&self, cmp: impl Fn(&T) -> Option<Ordering>) -> Position {
        if let Some(min) = &self.min {
            match cmp(min) {
                Some(Ordering::Greater) => {}
                Some(Ordering::Equal) if !self.strict_min => {}
                Some(_) => return Position::BelowMin,
                None => return Position::Unordered,
            }
        }
        if let Some(max) = &self.max {
            match cmp(max) {
                Some(Ordering::Less) => {}
                Some(Ordering::Equal) if !self.strict_max => {}
                Some(_) => return Position::AboveMax,
                None => return Position::Unordered,
            }
        }
        Position::Inside
    }

    /// The bound a clamped value takes (for ranges declared with inclusive bounds).
    pub fn clamp_target(&self, pos: Position) -> Option<&T> {
        match pos {
            Position::BelowMin => self.min.as_ref(),
            Position::AboveMax => self.max.as_ref(),
            Position::Inside | Position::Unordered => None,
        }
    }

    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> Range<U> {
        Range {
            min: self.min.as_ref().map(&f),
            max: self.max.as_ref().map(&f),
            strict_min: self.strict_min,
            strict_max: self.strict_max,
        }
    }
}

impl<T: PartialOrd + Clone> Range<T> {
    #[inline]
    pub fn admits(&self, v: &T) -> bool {
        self.locate_by(|b| v.partial_cmp(b)) == Position::Inside
    }

    /// The nearest admitted value, for on_violation 'clamp' (declared with inclusive bounds only).
    /// None when the value is unordered (NaN) and so has no nearest bound.
    pub fn clamp(&self, v: &T) -> Option<T> {
        match self.locate_by(|b| v.partial_cmp(b)) {
            Position::Inside => Some(v.clone()),
            Position::Unordered => None,
            pos => self.clamp_target(pos).cloned(),
        }
    }
}

impl Range<Num> {
    /// The same interval over integers: exact for i64 bounds, rounded inwards for fractional
    /// ones, so `between(int_col, 0.5, 10.5)` admits exactly 1..=10.
    pub fn to_int_range(&self) -> Range<i64> {
        let lower = self.min.map(|b| match b {
            Num::I(i) => (i, self.strict_min),
            Num::F(f) if f.fract() == 0.0 => (saturate(f), self.strict_min),
            Num::F(f) => (saturate(f.ceil()), false),
        });
        let upper = self.max.map(|b| match b {
            Num::I(i) => (i, self.strict_max),
            Num::F(f) if f.fract() == 0.0 => (saturate(f), self.strict_max),
            Num::F(f) => (saturate(f.floor()), false),
        });
        Range {
            min: lower.map(|l| l.0),
            max: upper.map(|u| u.0),
            strict_min: lower.is_some_and(|l| l.1),
            strict_max: upper.is_some_and(|u| u.1),
        }
    }

    pub fn to_float_range(&self) -> Range<f64> {
        self.map(|n| n.as_f64())
    }
}

/// The hot-path form of a [`Range`]: open ends become the type's extremes, so admitting a value
/// is two comparisons with no Option to inspect. Unordered values (NaN) fail both comparisons.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval<T> {
    lo: T,
    hi: T,
    lo_strict: bool,
    hi_strict: bool,
}

impl<T: PartialOrd + Copy> Interval<T> {
    pub fn new(range: &Range<T>, lowest: T, highest: T) -> Self {
        Interval {
            lo: range.min.unwrap_or(lowest),
            hi: range.max.unwrap_or(highest),
            lo_strict: range.min.is_some() && range.strict_min,
            hi_strict: range.max.is_some() && range.strict_max,
        }
    }

    #[inline(always)]
    pub fn admits(&self, v: T) -> bool {
        let above = if self.lo_strict { v > self.lo } else { v >= self.lo };
        let below = if self.hi_strict { v < self.hi } else { v <= self.hi };
        above & below
    }
}

impl Interval<f64> {
    pub fn of_floats(range: &Range<f64>) -> Self {
        Interval::new(range, f64::NEG_INFINITY, f64::INFINITY)
    }
}

impl Interval<i64> {
    pub fn of_ints(range: &Range<i64>) -> Self {
        Interval::new(range, i64::MIN, i64::MAX)
    }
}

fn saturate(f: f64) -> i64 {
    // `as` saturates at the i64 limits, which keeps infinite bounds meaning "unbounded".
    f as i64
}

/// Membership in a set of integers (in_set / not_in_set on integer columns).
#[derive(Debug, Clone)]
pub struct IntSet(FxHashSet<i64>);

impl IntSet {
    pub fn new(values: impl IntoIterator<Item = i64>) -> Self {
        IntSet(values.into_iter().collect())
    }
    #[inline]
    pub fn contains(&self, v: i64) -> bool {
        self.0.contains(&v)
    }
}

/// Membership in a set of floats (in_set / not_in_set on real and double precision columns), by
/// PostgreSQL's equality: -0 equals 0, NaN equals NaN.
#[derive(Debug, Clone)]
pub struct FloatSet(FxHashSet<u64>);

impl FloatSet {
    fn key(v: f64) -> u64 {
        if v == 0.0 {
            0
        } else if v.is_nan() {
            f64::NAN.to_bits()
        } else {
            v.to_bits()
        }
    }

    pub fn new(values: impl IntoIterator<Item = f64>) -> Self {
        FloatSet(values.into_iter().map(Self::key).collect())
    }

    #[inline]
    pub fn contains(&self, v: f64) -> bool {
        self.0.contains(&Self::key(v))
    }
}

/// Membership in a set of strings, compared as bytes so the hot path needs no UTF-8 check.
/// Category sets are usually small: up to `LINEAR_MAX` values a scan beats hashing.
#[derive(Debug, Clone)]
pub enum TextSet {
    Few(Vec<Box<[u8]>>),
    Many(FxHashSet<Box<[u8]>>),
}

const LINEAR_MAX: usize = 8;

impl TextSet {
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut all: Vec<Box<[u8]>> = values.into_iter().map(|s| s.as_ref().as_bytes().into()).collect();
        all.sort();
        all.dedup();
        if all.len() <= LINEAR_MAX {
            TextSet::Few(all)
        } else {
            TextSet::Many(all.into_iter().collect())
        }
    }
    #[inline]
    pub fn contains(&self, v: &[u8]) -> bool {
        match self {
            TextSet::Few(values) => values.iter().any(|x| **x == *v),
            TextSet::Many(set) => set.contains(v),
        }
    }
}

/// Regular expressions use Rust `regex` syntax (linear-time, no catastrophic backtracking) and
/// run over bytes, so no UTF-8 validation is paid per value. The size limit bounds memory.
pub fn compile_regex(pattern: &str) -> Result<regex::bytes::Regex, RuleError> {
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| RuleError::InvalidRegex(format!("invalid regular expression: {e}")))
}

/// Several patterns judged at once (pattern lists): any or all of them must be found.
pub fn compile_regex_set(patterns: &[String]) -> Result<regex::bytes::RegexSet, RuleError> {
    regex::bytes::RegexSetBuilder::new(patterns)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| RuleError::InvalidRegex(format!("invalid regular expression: {e}")))
}

/// A SQL LIKE pattern as an anchored regular expression: `%` any run of characters, `_` one
/// character, a backslash makes the next character literal (PostgreSQL's default escape).
/// Translated so that LIKE rules run in the same kernel as patterns, with no SQL per row.
pub fn like_to_regex(pattern: &str) -> Result<String, RuleError> {
    let mut out = String::from("(?s)^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '\\' => match chars.next() {
                Some(n) => out.push_str(&regex::escape(n.encode_utf8(&mut [0; 4]))),
                None => {
                    return Err(RuleError::InvalidParameter(format!(
                        "LIKE pattern must not end with escape character: \"{pattern}\""
                    )))
                }
            },
            c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out.push('$');
    Ok(out)
}

/// Character length of a value in a UTF-8 database (bytes that do not continue a character),
/// or its byte length in a single-byte encoding.
#[inline]
pub fn char_length(bytes: &[u8], utf8: bool) -> i64 {
    if utf8 {
        bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count() as i64
    } else {
        bytes.len() as i64
    }
}

/// `char(n)` values compare and measure without their trailing blanks, as in PostgreSQL.
#[inline]
pub fn trim_bpchar(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1] == b' ' {
        end -= 1;
    }
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_mean_what_sql_means() {
        let like = |p: &str, v: &str| compile_regex(&like_to_regex(p).unwrap()).unwrap().is_match(v.as_bytes());
        assert!(like("a%", "abc") && !like("a%", "bac"));
        assert!(like("%b%", "abc") && like("_b_", "abc") && !like("_b", "abc"));
        assert!(like("100\\%", "100%") && !like("100\\%", "1000"));
        assert!(like("a.c", "a.c") && !like("a.c", "abc"), "regex characters are literal");
        assert!(like("%", "line\nbreak"), "% spans newlines");
        assert!(like("_", "é"), "_ is one character, not one byte");
        assert!(like_to_regex("ab\\").is_err());
        let set = compile_regex_set(&["^a".into(), "c$".into()]).unwrap();
        assert!(set.matches(b"abc").matched_all() && !set.matches(b"ab").matched_all() && set.is_match(b"ab"));
    }

    fn range(min: Option<Num>, max: Option<Num>, smin: bool, smax: bool) -> Range<Num> {
        Range { min, max, strict_min: smin, strict_max: smax }
    }

    #[test]
    fn float_range_inclusive_strict_and_nan() {
        let r = range(Some(Num::I(0)), Some(Num::F(1.5)), false, false).to_float_range();
        assert!(r.admits(&0.0) && r.admits(&1.5) && r.admits(&1.0));
        assert!(!r.admits(&-0.1) && !r.admits(&1.6));
        assert!(!r.admits(&f64::NAN));
        assert!(!r.admits(&f64::INFINITY));
        let s = range(Some(Num::I(0)), Some(Num::F(1.5)), true, true).to_float_range();
        assert!(!s.admits(&0.0) && !s.admits(&1.5) && s.admits(&0.1));
        let open = range(None, Some(Num::I(3)), false, false).to_float_range();
        assert!(open.admits(&f64::NEG_INFINITY) && !open.admits(&f64::NAN));
    }

    #[test]
    fn int_range_rounds_fractional_bounds_inwards() {
        let r = range(Some(Num::F(0.5)), Some(Num::F(10.5)), false, false).to_int_range();
        assert_eq!((r.min, r.max), (Some(1), Some(10)));
        assert!(!r.admits(&0) && r.admits(&1) && r.admits(&10) && !r.admits(&11));
        let strict = range(Some(Num::F(2.0)), Some(Num::I(5)), true, true).to_int_range();
        assert!(!strict.admits(&2) && strict.admits(&3) && strict.admits(&4) && !strict.admits(&5));
        let strict_frac = range(Some(Num::F(2.5)), None, true, false).to_int_range();
        assert!(!strict_frac.admits(&2) && strict_frac.admits(&3));
        let big = range(Some(Num::I(i64::MAX - 1)), None, false, false).to_int_range();
        assert!(big.admits(&i64::MAX) && !big.admits(&(i64::MAX - 2)));
        let inf = range(None, Some(Num::F(f64::INFINITY)), false, false).to_int_range();
        assert!(inf.admits(&i64::MAX));
    }

    #[test]
    fn clamp_moves_to_nearest_bound() {
        let r = range(Some(Num::I(0)), Some(Num::I(100)), false, false).to_float_range();
        assert_eq!(r.clamp(&-3.0), Some(0.0));
        assert_eq!(r.clamp(&150.0), Some(100.0));
        assert_eq!(r.clamp(&42.0), Some(42.0));
        assert_eq!(r.clamp(&f64::NAN), None);
        let i = range(None, Some(Num::I(9)), false, false).to_int_range();
        assert_eq!(i.clamp(&12), Some(9));
    }

    #[test]
    fn intervals_agree_with_ranges() {
        let cases = [
            range(Some(Num::I(0)), Some(Num::F(1.5)), false, false),
            range(Some(Num::I(0)), Some(Num::F(1.5)), true, true),
            range(None, Some(Num::I(3)), false, true),
            range(Some(Num::F(-2.5)), None, true, false),
        ];
        let values = [f64::NEG_INFINITY, -3.0, -2.5, 0.0, 0.5, 1.5, 3.0, 7.0, f64::INFINITY, f64::NAN];
        for case in &cases {
            let (r, fast) = (case.to_float_range(), Interval::of_floats(&case.to_float_range()));
            for v in values {
                assert_eq!(r.admits(&v), fast.admits(v), "{case:?} at {v}");
            }
            let (ri, fasti) = (case.to_int_range(), Interval::of_ints(&case.to_int_range()));
            for v in [i64::MIN, -3, -2, 0, 1, 2, 3, 4, i64::MAX] {
                assert_eq!(ri.admits(&v), fasti.admits(v), "{case:?} at {v}");
            }
        }
    }

    #[test]
    fn sets_and_lengths() {
        let s = TextSet::new(["cat", "dog"]);
        assert!(s.contains(b"cat") && !s.contains(b"cow") && !s.contains(b"Cat"));
        let many = TextSet::new((0..100).map(|i| format!("v{i}")));
        assert!(matches!(many, TextSet::Many(_)));
        assert!(many.contains(b"v42") && !many.contains(b"v100"));
        let f = FloatSet::new([1.5, -0.0, f64::NAN]);
        assert!(f.contains(1.5) && f.contains(0.0) && f.contains(f64::NAN) && !f.contains(2.5));
        assert!(!FloatSet::new([]).contains(1.0));
        let i = IntSet::new([1, 2, 3]);
        assert!(i.contains(2) && !i.contains(4));
        assert_eq!(char_length("héllo".as_bytes(), true), 5);
        assert_eq!(char_length("héllo".as_bytes(), false), 6);
        assert_eq!(char_length(b"", true), 0);
        assert_eq!(trim_bpchar(b"ab  "), b"ab");
        assert_eq!(trim_bpchar(b"   "), b"");
    }

    #[test]
    fn regex_is_unanchored_and_linear() {
        let re = compile_regex("[0-9]{3}").unwrap();
        assert!(re.is_match(b"abc1234"));
        assert!(!re.is_match(b"ab12"));
        // A pattern that backtracks catastrophically elsewhere runs in linear time here.
        let evil = compile_regex("(a+)+$").unwrap();
        let input = "a".repeat(50_000) + "!";
        assert!(!evil.is_match(input.as_bytes()));
        assert!(compile_regex("a{").is_err());
        // Lookaround is not Rust regex syntax; it must be refused, not silently accepted.
        assert!(compile_regex("(?=a)").is_err());
    }
}
