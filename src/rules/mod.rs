//! Row-level rule core: what a declared rule means, whether it fits a column, and the value
//! kernels the write path runs. No pgrx here, so plain `cargo test` covers all of it.

pub mod aggregate;
pub mod kernel;
pub mod multi;
pub mod shape;
pub mod suite;
pub mod tally;

use serde::{Deserialize, Serialize};
use std::fmt;

pub use kernel::{Interval, Num, Position, Range};
pub use tally::Tally;

/// The column types a rule can be declared on, as the catalog layer classifies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Int,
    Float,
    Numeric,
    Date,
    Timestamp,
    Text,
    Other,
}

impl ColumnKind {
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnKind::Int | ColumnKind::Float | ColumnKind::Numeric)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    NotNull,
    Between,
    InSet,
    NotInSet,
    /// Every value NULL (GE: expect_column_values_to_be_null): a value that is not fails.
    Null,
    Match,
    NotMatch,
    LengthBetween,
    Finite,
    /// SQL LIKE patterns (GE: expect_column_values_to_match_like_pattern and its negation).
    Like,
    NotLike,
    /// Pattern lists, from `values`: any or all of them found (GE: ..._match_regex_list with
    /// match_on), none found (..._not_match_regex_list); the same for LIKE pattern lists.
    MatchAny,
    MatchAll,
    NotMatchAny,
    LikeAny,
    LikeAll,
    NotLikeAny,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::NotNull => "not_null",
            RuleKind::Between => "between",
            RuleKind::InSet => "in_set",
            RuleKind::NotInSet => "not_in_set",
            RuleKind::Null => "null",
            RuleKind::Match => "match",
            RuleKind::NotMatch => "not_match",
            RuleKind::LengthBetween => "length_between",
            RuleKind::Finite => "finite",
            RuleKind::Like => "like",
            RuleKind::NotLike => "not_like",
            RuleKind::MatchAny => "match_any",
            RuleKind::MatchAll => "match_all",
            RuleKind::NotMatchAny => "not_match_any",
            RuleKind::LikeAny => "like_any",
            RuleKind::LikeAll => "like_all",
            RuleKind::NotLikeAny => "not_like_any",
        }
    }

    /// Rules on a text pattern or a list of them.
    pub fn is_pattern(self) -> bool {
        matches!(
            self,
            RuleKind::Match
                | RuleKind::NotMatch
                | RuleKind::Like
                | RuleKind::NotLike
                | RuleKind::MatchAny
                | RuleKind::MatchAll
                | RuleKind::NotMatchAny
                | RuleKind::LikeAny
                | RuleKind::LikeAll
                | RuleKind::NotLikeAny
        )
    }

    /// Pattern lists keep their patterns in `values`.
    pub fn is_pattern_list(self) -> bool {
        self.is_pattern() && !matches!(self, RuleKind::Match | RuleKind::NotMatch | RuleKind::Like | RuleKind::NotLike)
    }

    pub fn parse(s: &str) -> Option<RuleKind> {
        ALL_KINDS.iter().copied().find(|k| k.as_str() == s)
    }

    /// Which column kinds the rule is defined for; used for checks and for error hints.
    pub fn accepts(self, col: ColumnKind) -> bool {
        use ColumnKind::*;
        match self {
            RuleKind::NotNull | RuleKind::Null => true,
            RuleKind::Between => matches!(col, Int | Float | Numeric | Date | Timestamp),
            RuleKind::InSet | RuleKind::NotInSet => matches!(col, Int | Float | Text),
            RuleKind::LengthBetween => col == Text,
            k if k.is_pattern() => col == Text,
            RuleKind::Finite => matches!(col, Float | Numeric),
            _ => false,
        }
    }

    pub fn accepted_types(self) -> &'static str {
        match self {
            RuleKind::NotNull | RuleKind::Null => "any type",
            RuleKind::Between => {
                "smallint, integer, bigint, numeric, real, double precision, date, timestamp, timestamptz"
            }
            RuleKind::InSet | RuleKind::NotInSet => {
                "smallint, integer, bigint, real, double precision, text, varchar, char"
            }
            RuleKind::LengthBetween => "text, varchar, char",
            k if k.is_pattern() => "text, varchar, char",
            RuleKind::Finite => "real, double precision, numeric",
            _ => "text, varchar, char",
        }
    }

    /// NULL is a violation only for not_null (Great Expectations: other rules ignore missing
    /// values); not_null and null are judged over all rows, the others over the non-NULL values.
    pub fn counts_nulls(self) -> bool {
        matches!(self, RuleKind::NotNull | RuleKind::Null)
    }
}

const ALL_KINDS: [RuleKind; 17] = [
    RuleKind::NotNull,
    RuleKind::Between,
    RuleKind::InSet,
    RuleKind::NotInSet,
    RuleKind::Null,
    RuleKind::Match,
    RuleKind::NotMatch,
    RuleKind::LengthBetween,
    RuleKind::Finite,
    RuleKind::Like,
    RuleKind::NotLike,
    RuleKind::MatchAny,
    RuleKind::MatchAll,
    RuleKind::NotMatchAny,
    RuleKind::LikeAny,
    RuleKind::LikeAll,
    RuleKind::NotLikeAny,
];

/// What happens to a violating row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Reject,
    Warn,
    Quarantine,
    Clamp,
    SetNull,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "reject" => Mode::Reject,
            "warn" => Mode::Warn,
            "quarantine" => Mode::Quarantine,
            "clamp" => Mode::Clamp,
            "set_null" => Mode::SetNull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Reject => "reject",
            Mode::Warn => "warn",
            Mode::Quarantine => "quarantine",
            Mode::Clamp => "clamp",
            Mode::SetNull => "set_null",
        }
    }

    /// Modes that must act on each row before it is stored (BEFORE ROW trigger).
    pub fn acts_per_row(self) -> bool {
        matches!(self, Mode::Quarantine | Mode::Clamp | Mode::SetNull)
    }
}

/// A declaration as stored in the catalog's `params` column (plus kind, mode and mostly).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_min: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_max: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Date and timestamp bounds as the database stores them (days or microseconds since
    /// 2000-01-01), as inclusive ends, parsed once at declaration so that later DateStyle or
    /// TimeZone settings cannot change what a rule means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_internal: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_internal: Option<i64>,
    /// The quantile a quantile_between constraint judges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f64>,
    /// The drift metric and threshold of a no_drift constraint (NULL threshold: learned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Every column of a multi-column expectation, in order (rules::multi); the first is also
    /// the catalog's column_name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_row_if: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub or_equal: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strictly: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ties_okay: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// Table shape (rules::shape): the columns expected, kept apart from `columns` because they
    /// are what is checked, so renames and drops must not rewrite them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_columns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub exact_match: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_index: Option<i64>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Why a declaration is refused. The pgrx layer maps each to a SQLSTATE.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleError {
    /// 42804 datatype_mismatch
    WrongType { kind: RuleKind },
    /// 22023 invalid_parameter_value
    InvalidParameter(String),
    /// 22004 null_value_not_allowed
    NullValue(String),
    /// 2201B invalid_regular_expression
    InvalidRegex(String),
    /// 22P02 invalid_text_representation
    BadValue(String),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::WrongType { kind } => write!(
                f,
                "rule {} is defined for columns of type {}",
                kind.as_str(),
                kind.accepted_types()
            ),
            RuleError::InvalidParameter(m)
            | RuleError::NullValue(m)
            | RuleError::InvalidRegex(m)
            | RuleError::BadValue(m) => f.write_str(m),
        }
    }
}

/// Checks a declaration that does not depend on the database: kind vs column type, mode vs kind,
/// mostly, bounds order, pattern syntax, set values. Bounds of date and timestamp columns are
/// parsed by the database and passed in `parsed_bounds`; for numeric kinds they are parsed here.
pub fn validate(
    kind: RuleKind,
    col: ColumnKind,
    params: &Params,
    mode: Mode,
    mostly: f64,
    parsed_bounds: Option<(Option<Num>, Option<Num>)>,
) -> Result<(), RuleError> {
    if !kind.accepts(col) {
        return Err(RuleError::WrongType { kind });
    }
    if !(mostly > 0.0 && mostly <= 1.0) {
        return Err(RuleError::InvalidParameter(format!(
            "mostly must be in (0, 1], got {mostly}"
        )));
    }
    if mostly < 1.0 && mode.acts_per_row() {
        return Err(RuleError::InvalidParameter(format!(
            "mostly < 1 judges whole batches, so it works with on_violation 'reject' or 'warn', not '{}'",
            mode.as_str()
        )));
    }
    match mode {
        Mode::Clamp if kind != RuleKind::Between => {
            return Err(RuleError::InvalidParameter(format!(
                "on_violation 'clamp' applies to between rules only, not {}",
                kind.as_str()
            )));
        }
        Mode::Clamp if params.strict_min || params.strict_max => {
            return Err(RuleError::InvalidParameter(
                "on_violation 'clamp' needs inclusive bounds (strict_min and strict_max false)".into(),
            ));
        }
        Mode::SetNull if kind == RuleKind::NotNull => {
            return Err(RuleError::InvalidParameter(
                "on_violation 'set_null' cannot repair a not_null rule".into(),
            ));
        }
        _ => {}
    }
    match kind {
        RuleKind::Between => {
            let (min, max) = match parsed_bounds {
                Some(b) => b,
                None => (
                    params.min.as_deref().map(parse_bound).transpose()?,
                    params.max.as_deref().map(parse_bound).transpose()?,
                ),
            };
            let labels = (params.min.as_deref(), params.max.as_deref());
            check_bound_order(min, max, params.strict_min || params.strict_max, labels)?;
            if matches!(col, ColumnKind::Int | ColumnKind::Date) {
                let range = Range { min, max, strict_min: params.strict_min, strict_max: params.strict_max };
                if let (Some(lo), Some(hi)) = inclusive_int_bounds(&range) {
                    if lo > hi {
                        return Err(RuleError::InvalidParameter(format!(
                            "no {} value lies between {} and {}: the rule could never pass",
                            if col == ColumnKind::Int { "integer" } else { "date" },
                            labels.0.unwrap_or_default(),
                            labels.1.unwrap_or_default()
                        )));
                    }
                }
            }
            Ok(())
        }
        RuleKind::LengthBetween => {
            let min = params.min.as_deref().map(parse_bound).transpose()?;
            let max = params.max.as_deref().map(parse_bound).transpose()?;
            for b in [min, max].into_iter().flatten() {
                if !matches!(b, Num::I(v) if v >= 0) {
                    return Err(RuleError::InvalidParameter(
                        "length bounds must be non-negative integers".into(),
                    ));
                }
            }
            // Great Expectations refuses length bounds that are both missing (unlike others).
            if min.is_none() && max.is_none() {
                return Err(RuleError::NullValue("min and max cannot both be NULL: give at least one bound".into()));
            }
            // max below min: every value fails, as in Great Expectations (the caller says so).
            if let (Some(a), Some(b)) = (min, max) {
                if a.partial_cmp(&b) == Some(std::cmp::Ordering::Greater) {
                    return Ok(());
                }
            }
            check_bound_order(min, max, false, (params.min.as_deref(), params.max.as_deref()))
        }
        RuleKind::InSet | RuleKind::NotInSet => {
            let values = params
                .values
                .as_ref()
                .ok_or_else(|| RuleError::NullValue("values must not be NULL".into()))?;
            // An empty set is accepted, as in Great Expectations (the caller says what it means).
            for v in values {
                match col {
                    ColumnKind::Int => {
                        parse_int(v)?;
                    }
                    ColumnKind::Float => {
                        parse_float(v)?;
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        RuleKind::Match | RuleKind::NotMatch | RuleKind::Like | RuleKind::NotLike => {
            let pattern = params
                .pattern
                .as_deref()
                .ok_or_else(|| RuleError::NullValue("pattern must not be NULL".into()))?;
            kernel::compile_regex(&kind.regex_of(pattern)?).map(|_| ())
        }
        k if k.is_pattern_list() => {
            let patterns = params.values.as_ref().ok_or_else(|| RuleError::NullValue("patterns must not be NULL".into()))?;
            if patterns.is_empty() {
                return Err(RuleError::InvalidParameter("give at least one pattern".into()));
            }
            let regexes = patterns.iter().map(|p| k.regex_of(p)).collect::<Result<Vec<_>, _>>()?;
            kernel::compile_regex_set(&regexes).map(|_| ())
        }
        _ => Ok(()),
    }
}

impl RuleKind {
    /// A pattern of this kind as a regular expression (LIKE patterns translated).
    pub fn regex_of(self, pattern: &str) -> Result<String, RuleError> {
        if matches!(self, RuleKind::Like | RuleKind::NotLike | RuleKind::LikeAny | RuleKind::LikeAll | RuleKind::NotLikeAny) {
            kernel::like_to_regex(pattern)
        } else {
            Ok(pattern.to_owned())
        }
    }
}

/// `labels` are the bounds as the user wrote them, for messages.
fn check_bound_order(
    min: Option<Num>,
    max: Option<Num>,
    any_strict: bool,
    labels: (Option<&str>, Option<&str>),
) -> Result<(), RuleError> {
    let label = |n: Num, l: Option<&str>| l.map_or_else(|| n.to_string(), str::to_owned);
    if min.is_some_and(Num::is_nan) || max.is_some_and(Num::is_nan) {
        return Err(RuleError::InvalidParameter("bounds must not be NaN".into()));
    }
    match (min, max) {
        // Neither bound: vacuously true, as in Great Expectations (the caller says so).
        (None, None) => Ok(()),
        (Some(a), Some(b)) => match a.partial_cmp(&b) {
            Some(std::cmp::Ordering::Greater) => Err(RuleError::InvalidParameter(format!(
                "min ({}) is greater than max ({})",
                label(a, labels.0),
                label(b, labels.1)
            ))),
            Some(std::cmp::Ordering::Equal) if any_strict => Err(RuleError::InvalidParameter(format!(
                "min equals max ({}) with a strict bound: no value could pass",
                label(a, labels.0)
            ))),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Integer bounds that admit exactly what `range` admits among integers, as inclusive ends
/// (fractional bounds round inwards, strict ends step inwards). Used for integer and date
/// columns, where "between 0.5 and 10.5" means 1..=10 and a date bound at noon starts the next day.
pub fn inclusive_int_bounds(range: &Range<Num>) -> (Option<i64>, Option<i64>) {
    let r = range.to_int_range();
    (
        r.min.map(|lo| if r.strict_min { lo.saturating_add(1) } else { lo }),
        r.max.map(|hi| if r.strict_max { hi.saturating_sub(1) } else { hi }),
    )
}

/// Parses a numeric bound as written by PostgreSQL's output functions.
pub fn parse_bound(s: &str) -> Result<Num, RuleError> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Num::I(i));
    }
    let f = match t.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" | "inf" => f64::INFINITY,
        "-infinity" | "-inf" => f64::NEG_INFINITY,
        "nan" => f64::NAN,
        _ => t
            .parse::<f64>()
            .map_err(|_| RuleError::BadValue(format!("invalid numeric bound: \"{s}\"")))?,
    };
    Ok(Num::F(f))
}

pub fn parse_int(s: &str) -> Result<i64, RuleError> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| RuleError::BadValue(format!("invalid integer in value set: \"{s}\"")))
}

/// A value of a float column's value set, with PostgreSQL's spellings of the special values.
pub fn parse_float(s: &str) -> Result<f64, RuleError> {
    match s.trim() {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        t => t.parse::<f64>().map_err(|_| RuleError::BadValue(format!("invalid number in value set: \"{s}\""))),
    }
}

/// Default constraint name: `<table>_<column>_<kind>`, like PostgreSQL's `<table>_<column>_check`.
pub fn default_name(table: &str, column: Option<&str>, kind: &str) -> String {
    match column {
        Some(c) => format!("{table}_{c}_{kind}"),
        None => format!("{table}_{kind}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn between(min: Option<&str>, max: Option<&str>) -> Params {
        Params {
            min: min.map(Into::into),
            max: max.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn kinds_round_trip_and_reject_unknown() {
        for k in ALL_KINDS {
            assert_eq!(RuleKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(RuleKind::parse("betwen"), None);
        assert_eq!(Mode::parse("quarantine"), Some(Mode::Quarantine));
        assert_eq!(Mode::parse("drop"), None);
    }

    #[test]
    fn between_rejects_text_and_inverted_bounds() {
        let p = between(Some("0"), Some("1"));
        assert_eq!(
            validate(RuleKind::Between, ColumnKind::Text, &p, Mode::Reject, 1.0, None),
            Err(RuleError::WrongType { kind: RuleKind::Between })
        );
        let inverted = between(Some("5"), Some("1.5"));
        assert!(matches!(
            validate(RuleKind::Between, ColumnKind::Float, &inverted, Mode::Reject, 1.0, None),
            Err(RuleError::InvalidParameter(m)) if m.contains("greater than")
        ));
        // Neither bound: vacuously true (Great Expectations), accepted.
        assert!(validate(RuleKind::Between, ColumnKind::Int, &between(None, None), Mode::Reject, 1.0, None).is_ok());
        // Length bounds the other way round: every value fails (Great Expectations), accepted.
        assert!(validate(RuleKind::LengthBetween, ColumnKind::Text, &between(Some("1"), Some("0")), Mode::Reject, 1.0, None).is_ok());
        assert!(validate(RuleKind::Between, ColumnKind::Int, &between(None, Some("3")), Mode::Warn, 1.0, None).is_ok());
    }

    #[test]
    fn rules_that_cannot_pass_are_refused() {
        let p = between(Some("0.2"), Some("0.8"));
        assert!(validate(RuleKind::Between, ColumnKind::Int, &p, Mode::Reject, 1.0, None).is_err());
        assert!(validate(RuleKind::Between, ColumnKind::Float, &p, Mode::Reject, 1.0, None).is_ok());
        // An empty value set means something (every value fails in_set, none not_in_set): accepted.
        let empty = Params { values: Some(vec![]), ..Default::default() };
        assert!(validate(RuleKind::InSet, ColumnKind::Text, &empty, Mode::Reject, 1.0, None).is_ok());
        // Float sets: numbers and PostgreSQL's special values only.
        let floats = Params { values: Some(vec!["1.5".into(), "NaN".into(), "-Infinity".into()]), ..Default::default() };
        assert!(validate(RuleKind::InSet, ColumnKind::Float, &floats, Mode::Reject, 1.0, None).is_ok());
        let bad = Params { values: Some(vec!["1.5".into(), "one".into()]), ..Default::default() };
        assert!(validate(RuleKind::NotInSet, ColumnKind::Float, &bad, Mode::Reject, 1.0, None).is_err());
        // A date range from noon of day 10 to day 10 holds no whole date.
        let dates = between(Some("2024-01-10 12:00"), Some("2024-01-10"));
        let parsed = Some((Some(Num::F(10.5)), Some(Num::I(10))));
        let err = validate(RuleKind::Between, ColumnKind::Date, &dates, Mode::Reject, 1.0, parsed).unwrap_err();
        assert!(err.to_string().contains("2024-01-10 12:00"), "{err}");
    }

    #[test]
    fn inclusive_bounds_round_inwards() {
        let r = Range { min: Some(Num::F(10.5)), max: Some(Num::I(20)), strict_min: false, strict_max: true };
        assert_eq!(inclusive_int_bounds(&r), (Some(11), Some(19)));
        let open = Range { min: None, max: Some(Num::F(-0.5)), strict_min: false, strict_max: false };
        assert_eq!(inclusive_int_bounds(&open), (None, Some(-1)));
    }

    #[test]
    fn strict_equal_bounds_are_empty() {
        let mut p = between(Some("2"), Some("2"));
        assert!(validate(RuleKind::Between, ColumnKind::Int, &p, Mode::Reject, 1.0, None).is_ok());
        p.strict_max = true;
        assert!(validate(RuleKind::Between, ColumnKind::Int, &p, Mode::Reject, 1.0, None).is_err());
    }

    #[test]
    fn mode_and_mostly_combinations() {
        let p = between(Some("0"), Some("1"));
        assert!(validate(RuleKind::Between, ColumnKind::Float, &p, Mode::Clamp, 1.0, None).is_ok());
        assert!(validate(RuleKind::Finite, ColumnKind::Float, &p, Mode::Clamp, 1.0, None).is_err());
        assert!(validate(RuleKind::NotNull, ColumnKind::Float, &p, Mode::SetNull, 1.0, None).is_err());
        assert!(validate(RuleKind::Between, ColumnKind::Float, &p, Mode::Warn, 0.9, None).is_ok());
        assert!(validate(RuleKind::Between, ColumnKind::Float, &p, Mode::Quarantine, 0.9, None).is_err());
        for bad in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(validate(RuleKind::Between, ColumnKind::Float, &p, Mode::Warn, bad, None).is_err());
        }
        let mut strict = p.clone();
        strict.strict_min = true;
        assert!(validate(RuleKind::Between, ColumnKind::Float, &strict, Mode::Clamp, 1.0, None).is_err());
    }

    #[test]
    fn patterns_and_sets_are_checked() {
        let bad = Params { pattern: Some("(unclosed".into()), ..Default::default() };
        assert!(matches!(
            validate(RuleKind::Match, ColumnKind::Text, &bad, Mode::Reject, 1.0, None),
            Err(RuleError::InvalidRegex(_))
        ));
        let on_int = Params { pattern: Some("a".into()), ..Default::default() };
        assert!(validate(RuleKind::Match, ColumnKind::Int, &on_int, Mode::Reject, 1.0, None).is_err());
        let ints = Params { values: Some(vec!["1".into(), "x".into()]), ..Default::default() };
        assert!(matches!(
            validate(RuleKind::InSet, ColumnKind::Int, &ints, Mode::Reject, 1.0, None),
            Err(RuleError::BadValue(_))
        ));
        assert!(validate(RuleKind::InSet, ColumnKind::Text, &ints, Mode::Reject, 1.0, None).is_ok());
        let none = Params::default();
        assert!(matches!(
            validate(RuleKind::InSet, ColumnKind::Text, &none, Mode::Reject, 1.0, None),
            Err(RuleError::NullValue(_))
        ));
    }

    #[test]
    fn length_bounds_must_be_natural() {
        let p = between(Some("-1"), Some("3"));
        assert!(validate(RuleKind::LengthBetween, ColumnKind::Text, &p, Mode::Reject, 1.0, None).is_err());
        let p = between(Some("1.5"), None);
        assert!(validate(RuleKind::LengthBetween, ColumnKind::Text, &p, Mode::Reject, 1.0, None).is_err());
        let p = between(Some("2"), Some("8"));
        assert!(validate(RuleKind::LengthBetween, ColumnKind::Text, &p, Mode::Reject, 1.0, None).is_ok());
    }

    #[test]
    fn bounds_parse_like_postgres_output() {
        assert_eq!(parse_bound("42").unwrap(), Num::I(42));
        assert_eq!(parse_bound("-1.5").unwrap(), Num::F(-1.5));
        assert_eq!(parse_bound("Infinity").unwrap(), Num::F(f64::INFINITY));
        assert!(parse_bound("NaN").unwrap().is_nan());
        assert!(parse_bound("abc").is_err());
    }

    #[test]
    fn params_serialize_compactly() {
        let p = between(Some("0"), None);
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"min":"0"}"#);
        let back: Params = serde_json::from_str(r#"{"min":"0","strict_max":true}"#).unwrap();
        assert!(back.strict_max && back.max.is_none());
    }

    #[test]
    fn default_names_read_well() {
        assert_eq!(default_name("features", Some("age"), RuleKind::Between.as_str()), "features_age_between");
    }
}
