//! Great Expectations suites in and out: one GE expectation (`{type, kwargs, meta}`, or GE 0.x's
//! `expectation_type`) as the `vigil.expect_*` calls that declare it, and a declared constraint
//! as a GE expectation. Pure Rust: the SQL layer runs the calls with their values as parameters.

use super::{Mode, Params};
use serde_json::{json, Map, Value};

/// How an argument's value reaches SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    Text,
    TextArray,
    Float8,
    Int4,
    Int8,
    Bool,
    /// A value of the call's column: numbers as numeric, text as text (dates and timestamps
    /// as the column's type), NULL as the column's type.
    Bound,
    /// A set of values of the call's column, as an array of its type.
    ColumnArray,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: &'static str,
    pub value: Value,
    pub cast: Cast,
}

impl Arg {
    /// A GE evaluation parameter (`{"$PARAMETER": "now() - timedelta(weeks=52)"}`) as the SQL
    /// expression that computes it when the expectation is declared; None for a plain value.
    pub fn expression(&self) -> Result<Option<String>, SuiteError> {
        match self.value.get("$PARAMETER") {
            None => Ok(None),
            Some(Value::String(e)) => evaluation_parameter(e).map(Some),
            Some(other) => Err(SuiteError::BadArgument(format!("evaluation parameter {other} is not an expression"))),
        }
    }
}

/// Translates GE's temporal evaluation parameters (`now()`, `datetime(y, m, d[, h, mi, s])`,
/// `timedelta(<unit>=<n>)`, numbers, + - * / and parentheses) into SQL. Anything else is
/// refused: the result is built from the parsed tokens only, never from the input's text.
pub fn evaluation_parameter(expression: &str) -> Result<String, SuiteError> {
    let bad = || SuiteError::BadArgument(format!("evaluation parameter \"{expression}\" is not supported (now(), datetime(...), timedelta(...) and arithmetic are)"));
    // Short and shallow: a parameter is a date expression, and the parser recurses per level.
    if expression.len() > MAX_PARAMETER_LENGTH {
        return Err(bad());
    }
    let mut tokens: Vec<String> = Vec::new();
    let mut chars = expression.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_digit() || c == '.' {
            let mut t = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit() || **d == '.') {
                t.push(d);
                chars.next();
            }
            tokens.push(t);
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut t = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_alphanumeric() || **d == '_') {
                t.push(d);
                chars.next();
            }
            tokens.push(t);
        } else if "()+-*/,=".contains(c) {
            tokens.push(c.to_string());
            chars.next();
        } else {
            return Err(bad());
        }
    }
    let mut p = Parser { tokens, at: 0, depth: 0 };
    let sql = p.expr().ok_or_else(bad)?;
    if p.at != p.tokens.len() {
        return Err(bad());
    }
    Ok(sql)
}

const MAX_PARAMETER_LENGTH: usize = 200;
const MAX_PARAMETER_DEPTH: usize = 16;

struct Parser {
    tokens: Vec<String>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn eat(&mut self, t: &str) -> Option<()> {
        (self.peek() == Some(t)).then(|| self.at += 1)
    }

    fn expr(&mut self) -> Option<String> {
        let mut out = self.term()?;
        while let Some(op) = self.peek().filter(|t| *t == "+" || *t == "-").map(str::to_owned) {
            self.at += 1;
            out = format!("{out} {op} {}", self.term()?);
        }
        Some(out)
    }

    fn term(&mut self) -> Option<String> {
        let mut out = self.factor()?;
        while let Some(op) = self.peek().filter(|t| *t == "*" || *t == "/").map(str::to_owned) {
            self.at += 1;
            out = format!("{out} {op} {}", self.factor()?);
        }
        Some(out)
    }

    fn number(&mut self) -> Option<String> {
        let n: f64 = self.peek()?.parse().ok()?;
        self.at += 1;
        Some(if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") })
    }

    fn factor(&mut self) -> Option<String> {
        self.depth += 1;
        if self.depth > MAX_PARAMETER_DEPTH {
            return None;
        }
        let out = self.factor_inner();
        self.depth -= 1;
        out
    }

    fn factor_inner(&mut self) -> Option<String> {
        match self.peek()? {
            "(" => {
                self.at += 1;
                let inner = self.expr()?;
                self.eat(")")?;
                Some(format!("({inner})"))
            }
            "-" => {
                self.at += 1;
                Some(format!("(-{})", self.factor()?)) // never `--`, a SQL comment
            }
            "now" => {
                self.at += 1;
                self.eat("(")?;
                self.eat(")")?;
                Some("pg_catalog.now()".into())
            }
            "datetime" => {
                self.at += 1;
                self.eat("(")?;
                let mut parts = vec![self.number()?];
                while self.eat(",").is_some() {
                    parts.push(self.number()?);
                }
                self.eat(")")?;
                if !(3..=6).contains(&parts.len()) {
                    return None;
                }
                parts.resize(6, "0".into());
                Some(format!("pg_catalog.make_timestamp({})", parts.join(", ")))
            }
            "timedelta" => {
                self.at += 1;
                self.eat("(")?;
                let mut fields = Vec::new();
                loop {
                    let unit = match self.peek()? {
                        "weeks" => "weeks",
                        "days" => "days",
                        "hours" => "hours",
                        "minutes" => "mins",
                        "seconds" => "secs",
                        _ => return None,
                    };
                    self.at += 1;
                    self.eat("=")?;
                    fields.push(format!("{unit} => {}", self.expr()?));
                    if self.eat(",").is_none() {
                        break;
                    }
                }
                self.eat(")")?;
                Some(format!("pg_catalog.make_interval({})", fields.join(", ")))
            }
            _ => self.number(),
        }
    }
}

/// One `vigil.<function>(tbl, args...)` call; `column` types Bound and ColumnArray arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub function: &'static str,
    pub column: Option<String>,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SuiteError {
    /// An expectation pg_vigil does not have (skipped with on_unsupported => 'skip').
    Unsupported(String),
    /// Arguments it cannot honour.
    BadArgument(String),
}

/// Arguments GE passes that change nothing about what is checked.
const IGNORED: [&str; 6] = ["result_format", "catch_exceptions", "include_config", "meta", "notes", "batch_id"];

/// The expectation's GE type name.
pub fn type_of(expectation: &Value) -> Option<&str> {
    expectation.get("type").or_else(|| expectation.get("expectation_type")).and_then(Value::as_str)
}

/// The calls that declare one GE expectation. `meta.pg_vigil` may carry on_violation, name and
/// the pg_vigil kind an export came from.
pub fn to_calls(expectation: &Value) -> Result<Vec<Call>, SuiteError> {
    let ge = type_of(expectation).ok_or_else(|| SuiteError::BadArgument("an expectation has no type".into()))?;
    let empty = Map::new();
    let kwargs = expectation.get("kwargs").and_then(Value::as_object).unwrap_or(&empty);
    let meta = expectation.pointer("/meta/pg_vigil").and_then(Value::as_object).unwrap_or(&empty);
    let mut used: Vec<&str> = Vec::new();
    let mut get = |k: &'static str| {
        used.push(k);
        kwargs.get(k).cloned().unwrap_or(Value::Null)
    };
    let arg = |name: &'static str, value: Value, cast: Cast| Arg { name, value, cast };
    let kind_meta = meta.get("kind").and_then(Value::as_str);

    let column = get("column");
    let col = || arg("col", column.clone(), Cast::Text);
    let (function, mut args, has_mostly): (&'static str, Vec<Arg>, bool) = match (ge, kind_meta) {
        ("expect_column_values_to_not_be_null", Some("completeness")) => {
            let mostly = get("mostly");
            ("expect_completeness", vec![col(), arg("min_fraction", if mostly.is_null() { json!(1.0) } else { mostly }, Cast::Float8)], false)
        }
        ("expect_column_values_to_not_be_null", _) => ("expect_not_null", vec![col()], true),
        ("expect_column_values_to_be_null", _) => ("expect_null", vec![col()], true),
        ("expect_column_values_to_be_between", _) => (
            "expect_between",
            vec![
                col(),
                arg("min", get("min_value"), Cast::Bound),
                arg("max", get("max_value"), Cast::Bound),
                arg("strict_min", bool_or_false(get("strict_min")), Cast::Bool),
                arg("strict_max", bool_or_false(get("strict_max")), Cast::Bool),
            ],
            true,
        ),
        ("expect_column_values_to_not_be_in_set", Some("finite")) => {
            get("value_set"); // NaN and the infinities: what expect_finite means
            ("expect_finite", vec![col()], true)
        }
        ("expect_column_values_to_be_in_set", _) => ("expect_in_set", vec![col(), arg("value_set", get("value_set"), Cast::ColumnArray)], true),
        ("expect_column_values_to_not_be_in_set", _) => {
            ("expect_not_in_set", vec![col(), arg("value_set", get("value_set"), Cast::ColumnArray)], true)
        }
        ("expect_column_values_to_match_regex", _) => ("expect_match", vec![col(), arg("pattern", get("regex"), Cast::Text)], true),
        ("expect_column_values_to_not_match_regex", _) => ("expect_not_match", vec![col(), arg("pattern", get("regex"), Cast::Text)], true),
        ("expect_column_values_to_match_like_pattern", _) => ("expect_like", vec![col(), arg("pattern", get("like_pattern"), Cast::Text)], true),
        ("expect_column_values_to_not_match_like_pattern", _) => {
            ("expect_not_like", vec![col(), arg("pattern", get("like_pattern"), Cast::Text)], true)
        }
        ("expect_column_values_to_match_regex_list", _) => (
            "expect_match_list",
            vec![col(), arg("patterns", get("regex_list"), Cast::TextArray), arg("match_on", or(get("match_on"), "any"), Cast::Text)],
            true,
        ),
        ("expect_column_values_to_not_match_regex_list", _) => {
            ("expect_not_match_any", vec![col(), arg("patterns", get("regex_list"), Cast::TextArray)], true)
        }
        ("expect_column_values_to_match_like_pattern_list", _) => (
            "expect_like_list",
            vec![col(), arg("patterns", get("like_pattern_list"), Cast::TextArray), arg("match_on", or(get("match_on"), "any"), Cast::Text)],
            true,
        ),
        ("expect_column_values_to_not_match_like_pattern_list", _) => {
            ("expect_not_like_any", vec![col(), arg("patterns", get("like_pattern_list"), Cast::TextArray)], true)
        }
        ("expect_column_value_lengths_to_be_between", _) => (
            "expect_length_between",
            vec![col(), arg("min", get("min_value"), Cast::Int4), arg("max", get("max_value"), Cast::Int4)],
            true,
        ),
        ("expect_column_value_lengths_to_equal", _) => ("expect_length_equal", vec![col(), arg("length", get("value"), Cast::Int4)], true),
        ("expect_column_values_to_be_unique", _) => ("expect_unique", vec![col()], true),
        ("expect_column_values_to_be_increasing", _) | ("expect_column_values_to_be_decreasing", _) => (
            if ge.ends_with("increasing") { "expect_increasing" } else { "expect_decreasing" },
            vec![col(), arg("strictly", bool_or_false(get("strictly")), Cast::Bool)],
            true,
        ),
        ("expect_column_pair_values_a_to_be_greater_than_b", _) => (
            "expect_pair_greater",
            vec![
                arg("col_a", get("column_A"), Cast::Text),
                arg("col_b", get("column_B"), Cast::Text),
                arg("or_equal", bool_or_false(get("or_equal")), Cast::Bool),
                arg("ignore_row_if", get("ignore_row_if"), Cast::Text),
            ],
            true,
        ),
        ("expect_column_pair_values_to_be_equal", _) => (
            "expect_pair_equal",
            vec![
                arg("col_a", get("column_A"), Cast::Text),
                arg("col_b", get("column_B"), Cast::Text),
                arg("ignore_row_if", get("ignore_row_if"), Cast::Text),
            ],
            true,
        ),
        ("expect_multicolumn_sum_to_equal", _) => (
            "expect_sum_equal",
            vec![
                arg("columns", get("column_list"), Cast::TextArray),
                arg("total", get("sum_total"), Cast::Float8),
                arg("ignore_row_if", get("ignore_row_if"), Cast::Text),
            ],
            true,
        ),
        ("expect_select_column_values_to_be_unique_within_record", _) | ("expect_compound_columns_to_be_unique", _) => (
            if ge.starts_with("expect_select") { "expect_unique_within_record" } else { "expect_compound_unique" },
            vec![arg("columns", get("column_list"), Cast::TextArray), arg("ignore_row_if", get("ignore_row_if"), Cast::Text)],
            true,
        ),
        ("expect_column_mean_to_be_between", _)
        | ("expect_column_stdev_to_be_between", _)
        | ("expect_column_min_to_be_between", _)
        | ("expect_column_max_to_be_between", _)
        | ("expect_column_sum_to_be_between", _)
        | ("expect_column_median_to_be_between", _)
        | ("expect_column_proportion_of_unique_values_to_be_between", _) => (
            match ge {
                "expect_column_mean_to_be_between" => "expect_mean_between",
                "expect_column_stdev_to_be_between" => "expect_stddev_between",
                "expect_column_min_to_be_between" => "expect_min_between",
                "expect_column_max_to_be_between" => "expect_max_between",
                "expect_column_sum_to_be_between" => "expect_sum_between",
                "expect_column_median_to_be_between" => "expect_median_between",
                _ => "expect_unique_fraction_between",
            },
            vec![
                col(),
                arg("min", get("min_value"), Cast::Float8),
                arg("max", get("max_value"), Cast::Float8),
                arg("strict_min", bool_or_false(get("strict_min")), Cast::Bool),
                arg("strict_max", bool_or_false(get("strict_max")), Cast::Bool),
            ],
            false,
        ),
        ("expect_column_quantile_values_to_be_between", _) => {
            return quantile_calls(&column, &get("quantile_ranges"), meta, kwargs, &used_with(&used, &["quantile_ranges"]));
        }
        ("expect_column_unique_value_count_to_be_between", _) => (
            "expect_unique_count_between",
            vec![col(), arg("min", get("min_value"), Cast::Int8), arg("max", get("max_value"), Cast::Int8)],
            false,
        ),
        ("expect_table_row_count_to_be_between", _) => (
            "expect_row_count_between",
            vec![arg("min", get("min_value"), Cast::Int8), arg("max", get("max_value"), Cast::Int8)],
            false,
        ),
        ("expect_table_row_count_to_equal", _) => ("expect_row_count_equal", vec![arg("value", get("value"), Cast::Int8)], false),
        ("expect_column_distinct_values_to_be_in_set", _)
        | ("expect_column_distinct_values_to_contain_set", _)
        | ("expect_column_distinct_values_to_equal_set", _) => (
            match ge {
                "expect_column_distinct_values_to_be_in_set" => "expect_distinct_in_set",
                "expect_column_distinct_values_to_contain_set" => "expect_distinct_contain_set",
                _ => "expect_distinct_equal_set",
            },
            vec![col(), arg("value_set", get("value_set"), Cast::ColumnArray)],
            false,
        ),
        ("expect_column_most_common_value_to_be_in_set", _) => (
            "expect_most_common_in_set",
            vec![col(), arg("value_set", get("value_set"), Cast::ColumnArray), arg("ties_okay", bool_or_false(get("ties_okay")), Cast::Bool)],
            false,
        ),
        ("expect_table_columns_to_match_set", _) => (
            "expect_columns_match_set",
            vec![arg("columns", get("column_set"), Cast::TextArray), arg("exact_match", or_bool(get("exact_match"), true), Cast::Bool)],
            false,
        ),
        ("expect_table_columns_to_match_ordered_list", _) => {
            ("expect_columns_match_list", vec![arg("columns", get("column_list"), Cast::TextArray)], false)
        }
        ("expect_table_column_count_to_be_between", _) => (
            "expect_column_count_between",
            vec![arg("min", get("min_value"), Cast::Int4), arg("max", get("max_value"), Cast::Int4)],
            false,
        ),
        ("expect_table_column_count_to_equal", _) => ("expect_column_count_equal", vec![arg("value", get("value"), Cast::Int4)], false),
        ("expect_column_to_exist", _) => {
            ("expect_column_to_exist", vec![col(), arg("column_index", get("column_index"), Cast::Int4)], false)
        }
        (NO_DRIFT, _) => (
            "expect_no_drift",
            vec![col(), arg("metric", or(get("metric"), "auto"), Cast::Text), arg("threshold", get("threshold"), Cast::Float8)],
            false,
        ),
        (other, _) => return Err(SuiteError::Unsupported(other.to_string())),
    };
    if has_mostly {
        let mostly = get("mostly");
        if !mostly.is_null() {
            args.push(arg("mostly", mostly, Cast::Float8));
        }
    }
    check_arguments(ge, kwargs, &used)?;
    // GE's ignore_row_if default is ours: pass it only when given.
    args.retain(|a| !(a.name == "ignore_row_if" && a.value.is_null()));
    add_meta(&mut args, meta);
    let typed_by = if function.starts_with("expect_pair") { None } else { column.as_str().map(str::to_owned) };
    Ok(vec![Call { function, column: typed_by, args }])
}

/// pg_vigil's no_drift, which GE has no expectation for: exported under this type.
pub const NO_DRIFT: &str = "expect_column_values_to_not_drift";

fn used_with<'a>(used: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    used.iter().chain(more).copied().collect()
}

/// GE's one expectation for several quantiles: one constraint each (named `<name>_q<i>`).
fn quantile_calls(column: &Value, ranges: &Value, meta: &Map<String, Value>, kwargs: &Map<String, Value>, used: &[&str]) -> Result<Vec<Call>, SuiteError> {
    let ge = "expect_column_quantile_values_to_be_between";
    check_arguments(ge, kwargs, used)?;
    let quantiles = ranges.get("quantiles").and_then(Value::as_array).cloned().unwrap_or_default();
    let value_ranges = ranges.get("value_ranges").and_then(Value::as_array).cloned().unwrap_or_default();
    if quantiles.is_empty() || quantiles.len() != value_ranges.len() {
        return Err(SuiteError::BadArgument(format!("{ge}: quantile_ranges needs as many value_ranges as quantiles")));
    }
    let name = meta.get("name").and_then(Value::as_str);
    let mut calls = Vec::new();
    for (i, (q, range)) in quantiles.iter().zip(&value_ranges).enumerate() {
        let range = range.as_array().cloned().unwrap_or_default();
        let mut args = vec![
            Arg { name: "col", value: column.clone(), cast: Cast::Text },
            Arg { name: "q", value: q.clone(), cast: Cast::Float8 },
            Arg { name: "min", value: range.first().cloned().unwrap_or(Value::Null), cast: Cast::Float8 },
            Arg { name: "max", value: range.get(1).cloned().unwrap_or(Value::Null), cast: Cast::Float8 },
        ];
        let mut meta = meta.clone();
        if let Some(n) = name {
            let one = if quantiles.len() == 1 { n.to_string() } else { format!("{n}_q{i}") };
            meta.insert("name".into(), json!(one));
        }
        add_meta(&mut args, &meta);
        calls.push(Call { function: "expect_quantile_between", column: column.as_str().map(str::to_owned), args });
    }
    Ok(calls)
}

fn check_arguments(ge: &str, kwargs: &Map<String, Value>, used: &[&str]) -> Result<(), SuiteError> {
    for (k, v) in kwargs {
        if used.contains(&k.as_str()) || IGNORED.contains(&k.as_str()) {
            continue;
        }
        if v.is_null() || matches!(k.as_str(), "parse_strings_as_datetimes" | "allow_cross_type_comparisons") && v == &json!(false) {
            continue;
        }
        return Err(SuiteError::BadArgument(format!("{ge}: argument {k} is not supported")));
    }
    Ok(())
}

fn add_meta(args: &mut Vec<Arg>, meta: &Map<String, Value>) {
    for (key, name) in [("on_violation", "on_violation"), ("name", "name")] {
        if let Some(v) = meta.get(key).filter(|v| v.is_string()) {
            args.push(Arg { name, value: v.clone(), cast: Cast::Text });
        }
    }
}

fn bool_or_false(v: Value) -> Value {
    or_bool(v, false)
}

fn or_bool(v: Value, default: bool) -> Value {
    if v.is_null() { json!(default) } else { v }
}

fn or(v: Value, default: &str) -> Value {
    if v.is_null() { json!(default) } else { v }
}

/// What a constraint's column holds, for how its bounds and sets are written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnValues {
    /// Numbers: set values and bounds become JSON numbers.
    Number,
    /// Dates and timestamps: bounds as ISO 8601 text, from their stored internal form (the
    /// text a user gave depends on the DateStyle of their session).
    Date,
    Timestamp,
    TimestampTz,
    Other,
}

/// ISO 8601 text of a date stored as days since 2000-01-01 (PostgreSQL's epoch).
pub fn iso_date(days: i64) -> String {
    match days {
        d if d >= i32::MAX as i64 => "infinity".into(),
        d if d <= i32::MIN as i64 => "-infinity".into(),
        d => {
            // Days to civil date (H. Hinnant's algorithm), from 1970-01-01 = day 0.
            let z = d + 10_957 + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z.rem_euclid(146_097);
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let day = doy - (153 * mp + 2) / 5 + 1;
            let month = if mp < 10 { mp + 3 } else { mp - 9 };
            let year = yoe + era * 400 + i64::from(month <= 2);
            format!("{year:04}-{month:02}-{day:02}")
        }
    }
}

/// ISO 8601 text of a timestamp stored as microseconds since 2000-01-01 (UTC for timestamptz).
pub fn iso_timestamp(usecs: i64, tz: bool) -> String {
    if usecs == i64::MAX {
        return "infinity".into();
    }
    if usecs == i64::MIN {
        return "-infinity".into();
    }
    const DAY: i64 = 86_400_000_000;
    let (days, rest) = (usecs.div_euclid(DAY), usecs.rem_euclid(DAY));
    let (secs, micros) = (rest / 1_000_000, rest % 1_000_000);
    let time = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    let fraction = if micros > 0 { format!(".{micros:06}") } else { String::new() };
    format!("{}T{time}{fraction}{}", iso_date(days), if tz { "+00:00" } else { "" })
}

/// A declared constraint as a GE expectation. None for a kind GE cannot express.
pub fn from_constraint(kind: &str, column: Option<&str>, values_are: ColumnValues, params: &Params, mode: Mode, mostly: f64, name: &str) -> Option<Value> {
    let numeric = values_are == ColumnValues::Number;
    let mut kw = Map::new();
    let mut put = |k: &str, v: Value| {
        kw.insert(k.to_string(), v);
    };
    if let Some(c) = column {
        put("column", json!(c));
    }
    let value = |s: &str| -> Value {
        if numeric {
            if let Ok(i) = s.parse::<i64>() {
                return json!(i);
            }
            if let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                return Value::Number(n);
            }
        }
        json!(s)
    };
    let values = |v: &Option<Vec<String>>| v.as_ref().map_or(Value::Null, |v| Value::Array(v.iter().map(|s| value(s)).collect()));
    let float = |s: &Option<String>| s.as_deref().and_then(|t| t.parse::<f64>().ok()).map_or(Value::Null, |f| json!(f));
    let int = |s: &Option<String>| s.as_deref().and_then(|t| t.parse::<i64>().ok()).map_or(Value::Null, |i| json!(i));
    let strict = |put: &mut dyn FnMut(&str, Value)| {
        if params.strict_min {
            put("strict_min", json!(true));
        }
        if params.strict_max {
            put("strict_max", json!(true));
        }
    };
    let mut pg = Map::new();
    pg.insert("on_violation".into(), json!(mode.as_str()));
    pg.insert("name".into(), json!(name));
    let list = || params.columns.clone().unwrap_or_default();
    let ge = match kind {
        "not_null" => "expect_column_values_to_not_be_null",
        "null" => "expect_column_values_to_be_null",
        "between" => {
            let temporal = |b: Option<i64>| match values_are {
                ColumnValues::Date => b.map_or(Value::Null, |d| json!(iso_date(d))),
                _ => b.map_or(Value::Null, |u| json!(iso_timestamp(u, values_are == ColumnValues::TimestampTz))),
            };
            if matches!(values_are, ColumnValues::Date | ColumnValues::Timestamp | ColumnValues::TimestampTz) {
                // The stored inclusive ends (strict bounds already stepped inwards).
                put("min_value", temporal(params.min_internal));
                put("max_value", temporal(params.max_internal));
            } else {
                put("min_value", params.min.as_deref().map_or(Value::Null, value));
                put("max_value", params.max.as_deref().map_or(Value::Null, value));
                strict(&mut put);
            }
            "expect_column_values_to_be_between"
        }
        "in_set" | "not_in_set" => {
            put("value_set", values(&params.values));
            if kind == "in_set" { "expect_column_values_to_be_in_set" } else { "expect_column_values_to_not_be_in_set" }
        }
        "finite" => {
            put("value_set", json!(["NaN", "Infinity", "-Infinity"]));
            pg.insert("kind".into(), json!("finite"));
            "expect_column_values_to_not_be_in_set"
        }
        "match" | "not_match" => {
            put("regex", json!(params.pattern));
            if kind == "match" { "expect_column_values_to_match_regex" } else { "expect_column_values_to_not_match_regex" }
        }
        "like" | "not_like" => {
            put("like_pattern", json!(params.pattern));
            if kind == "like" { "expect_column_values_to_match_like_pattern" } else { "expect_column_values_to_not_match_like_pattern" }
        }
        "match_any" | "match_all" | "like_any" | "like_all" => {
            let like = kind.starts_with("like");
            put(if like { "like_pattern_list" } else { "regex_list" }, json!(params.values));
            put("match_on", json!(if kind.ends_with("all") { "all" } else { "any" }));
            if like { "expect_column_values_to_match_like_pattern_list" } else { "expect_column_values_to_match_regex_list" }
        }
        "not_match_any" => {
            put("regex_list", json!(params.values));
            "expect_column_values_to_not_match_regex_list"
        }
        "not_like_any" => {
            put("like_pattern_list", json!(params.values));
            "expect_column_values_to_not_match_like_pattern_list"
        }
        "length_between" => {
            put("min_value", int(&params.min));
            put("max_value", int(&params.max));
            "expect_column_value_lengths_to_be_between"
        }
        "unique" => "expect_column_values_to_be_unique",
        "increasing" | "decreasing" => {
            if params.strictly {
                put("strictly", json!(true));
            }
            if kind == "increasing" { "expect_column_values_to_be_increasing" } else { "expect_column_values_to_be_decreasing" }
        }
        "pair_greater" | "pair_equal" => {
            let cols = list();
            kw.remove("column");
            kw.insert("column_A".into(), json!(cols.first()));
            kw.insert("column_B".into(), json!(cols.get(1)));
            if params.or_equal {
                kw.insert("or_equal".into(), json!(true));
            }
            if let Some(i) = &params.ignore_row_if {
                kw.insert("ignore_row_if".into(), json!(i));
            }
            if kind == "pair_greater" { "expect_column_pair_values_a_to_be_greater_than_b" } else { "expect_column_pair_values_to_be_equal" }
        }
        "sum_equal" | "unique_within_record" | "compound_unique" => {
            kw.remove("column");
            kw.insert("column_list".into(), json!(list()));
            if let Some(t) = params.total {
                kw.insert("sum_total".into(), json!(t));
            }
            if let Some(i) = &params.ignore_row_if {
                kw.insert("ignore_row_if".into(), json!(i));
            }
            match kind {
                "sum_equal" => "expect_multicolumn_sum_to_equal",
                "unique_within_record" => "expect_select_column_values_to_be_unique_within_record",
                _ => "expect_compound_columns_to_be_unique",
            }
        }
        "distinct_in_set" | "distinct_contain_set" | "distinct_equal_set" | "most_common_in_set" => {
            put("value_set", values(&params.values));
            if params.ties_okay {
                put("ties_okay", json!(true));
            }
            match kind {
                "distinct_in_set" => "expect_column_distinct_values_to_be_in_set",
                "distinct_contain_set" => "expect_column_distinct_values_to_contain_set",
                "distinct_equal_set" => "expect_column_distinct_values_to_equal_set",
                _ => "expect_column_most_common_value_to_be_in_set",
            }
        }
        "completeness" => {
            kw.insert("mostly".into(), float(&params.min));
            pg.insert("kind".into(), json!("completeness"));
            "expect_column_values_to_not_be_null"
        }
        "mean_between" | "stddev_between" | "min_between" | "max_between" | "sum_between" | "median_between"
        | "unique_fraction_between" => {
            put("min_value", float(&params.min));
            put("max_value", float(&params.max));
            strict(&mut put);
            match kind {
                "mean_between" => "expect_column_mean_to_be_between",
                "stddev_between" => "expect_column_stdev_to_be_between",
                "min_between" => "expect_column_min_to_be_between",
                "max_between" => "expect_column_max_to_be_between",
                "sum_between" => "expect_column_sum_to_be_between",
                "median_between" => "expect_column_median_to_be_between",
                _ => "expect_column_proportion_of_unique_values_to_be_between",
            }
        }
        "quantile_between" => {
            put("quantile_ranges", json!({"quantiles": [params.quantile], "value_ranges": [[float(&params.min), float(&params.max)]]}));
            "expect_column_quantile_values_to_be_between"
        }
        "unique_count_between" => {
            put("min_value", int(&params.min).as_f64().map_or_else(|| float(&params.min), |_| int(&params.min)));
            put("max_value", int(&params.max).as_f64().map_or_else(|| float(&params.max), |_| int(&params.max)));
            "expect_column_unique_value_count_to_be_between"
        }
        "row_count_between" => {
            put("min_value", float(&params.min).as_f64().map_or(Value::Null, |f| json!(f as i64)));
            put("max_value", float(&params.max).as_f64().map_or(Value::Null, |f| json!(f as i64)));
            "expect_table_row_count_to_be_between"
        }
        "columns_match_set" => {
            put("column_set", json!(params.expected_columns));
            put("exact_match", json!(params.exact_match));
            "expect_table_columns_to_match_set"
        }
        "columns_match_list" => {
            put("column_list", json!(params.expected_columns));
            "expect_table_columns_to_match_ordered_list"
        }
        "column_count_between" => {
            put("min_value", int(&params.min));
            put("max_value", int(&params.max));
            "expect_table_column_count_to_be_between"
        }
        "column_exists" => {
            put("column", json!(params.expected_columns.as_ref().and_then(|c| c.first())));
            if let Some(i) = params.column_index {
                put("column_index", json!(i));
            }
            "expect_column_to_exist"
        }
        "no_drift" => {
            put("metric", json!(params.metric.as_deref().unwrap_or("auto")));
            if let Some(t) = params.threshold {
                put("threshold", json!(t));
            }
            NO_DRIFT
        }
        _ => return None,
    };
    if mostly < 1.0 {
        kw.insert("mostly".into(), json!(mostly));
    }
    Some(json!({"type": ge, "kwargs": kw, "meta": {"pg_vigil": pg}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(e: Value) -> Call {
        let mut calls = to_calls(&e).unwrap();
        assert_eq!(calls.len(), 1);
        calls.remove(0)
    }

    fn arg<'a>(c: &'a Call, name: &str) -> Option<&'a Arg> {
        c.args.iter().find(|a| a.name == name)
    }

    #[test]
    fn ge_expectations_become_calls() {
        let c = one(json!({"type": "expect_column_values_to_be_between",
                           "kwargs": {"column": "x", "min_value": 0, "max_value": 5, "mostly": 0.9, "result_format": "BASIC"},
                           "meta": {"pg_vigil": {"on_violation": "warn", "name": "x_range"}}}));
        assert_eq!(c.function, "expect_between");
        assert_eq!(c.column.as_deref(), Some("x"));
        assert_eq!(arg(&c, "min").unwrap().cast, Cast::Bound);
        assert_eq!(arg(&c, "mostly").unwrap().value, json!(0.9));
        assert_eq!(arg(&c, "on_violation").unwrap().value, json!("warn"));
        assert_eq!(arg(&c, "name").unwrap().value, json!("x_range"));
        // GE 0.x spells the type expectation_type.
        let c = one(json!({"expectation_type": "expect_column_pair_values_to_be_equal", "kwargs": {"column_A": "a", "column_B": "b"}}));
        assert_eq!(c.function, "expect_pair_equal");
        assert!(arg(&c, "ignore_row_if").is_none(), "GE's default is ours");
        let q = to_calls(&json!({"type": "expect_column_quantile_values_to_be_between", "kwargs": {"column": "x",
            "quantile_ranges": {"quantiles": [0.1, 0.9], "value_ranges": [[0, 1], [5, null]]}}, "meta": {"pg_vigil": {"name": "q"}}})).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(arg(&q[1], "name").unwrap().value, json!("q_q1"));
    }

    #[test]
    fn temporal_bounds_are_iso() {
        assert_eq!(iso_date(0), "2000-01-01");
        assert_eq!(iso_date(-1), "1999-12-31");
        assert_eq!(iso_date(10_957 + 366), "2031-01-01");
        assert_eq!(iso_date(60), "2000-03-01", "2000 is a leap year");
        assert_eq!(iso_date(i32::MAX as i64), "infinity");
        assert_eq!(iso_timestamp(86_400_000_000 + 3_661_000_001, false), "2000-01-02T01:01:01.000001");
        assert_eq!(iso_timestamp(-1_000_000, true), "1999-12-31T23:59:59+00:00");
        let p = Params { min_internal: Some(8766), max_internal: None, strict_min: true, ..Default::default() };
        let e = from_constraint("between", Some("d"), ColumnValues::Date, &p, Mode::Reject, 1.0, "d").unwrap();
        assert_eq!(e["kwargs"], json!({"column": "d", "min_value": "2024-01-01", "max_value": null}));
    }

    #[test]
    fn evaluation_parameters_become_sql() {
        assert_eq!(evaluation_parameter("now()").unwrap(), "pg_catalog.now()");
        assert_eq!(
            evaluation_parameter("now() - timedelta(weeks=52*100)").unwrap(),
            "pg_catalog.now() - pg_catalog.make_interval(weeks => 52 * 100)"
        );
        assert_eq!(evaluation_parameter("datetime(1969, 1, 1)").unwrap(), "pg_catalog.make_timestamp(1969, 1, 1, 0, 0, 0)");
        for hostile in ["now(); DROP TABLE t", "pg_sleep(10)", "now() - '1 day'", "datetime(1)", "urn:great_expectations:x"] {
            assert!(evaluation_parameter(hostile).is_err(), "{hostile}");
        }
        assert_eq!(evaluation_parameter("- -1").unwrap(), "(-(-1))");
        assert!(evaluation_parameter(&format!("{}1{}", "(".repeat(50), ")".repeat(50))).is_err(), "too deep");
        assert!(evaluation_parameter(&"-".repeat(10_000)).is_err(), "too long");
    }

    #[test]
    fn what_cannot_be_honoured_is_named() {
        assert_eq!(
            to_calls(&json!({"type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {}})),
            Err(SuiteError::Unsupported("expect_column_kl_divergence_to_be_less_than".into()))
        );
        let conditional = json!({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x", "row_condition": "y > 1"}});
        assert!(matches!(to_calls(&conditional), Err(SuiteError::BadArgument(m)) if m.contains("row_condition")));
        assert!(to_calls(&json!({"kwargs": {}})).is_err());
    }

    #[test]
    fn exports_import_back_to_the_same_declaration() {
        let p = Params { min: Some("0".into()), max: Some("2.5".into()), strict_max: true, ..Default::default() };
        let e = from_constraint("between", Some("x"), ColumnValues::Number, &p, Mode::Clamp, 1.0, "x_between").unwrap();
        assert_eq!(e["kwargs"], json!({"column": "x", "min_value": 0, "max_value": 2.5, "strict_max": true}));
        let c = one(e);
        assert_eq!((c.function, arg(&c, "on_violation").unwrap().value.clone()), ("expect_between", json!("clamp")));
        // Kinds GE spells differently keep theirs in meta.
        let c = one(from_constraint("finite", Some("f"), ColumnValues::Number, &Params::default(), Mode::Reject, 1.0, "f_finite").unwrap());
        assert_eq!(c.function, "expect_finite");
        let p = Params { min: Some("0.95".into()), ..Default::default() };
        let c = one(from_constraint("completeness", Some("t"), ColumnValues::Other, &p, Mode::Warn, 1.0, "t_c").unwrap());
        assert_eq!((c.function, arg(&c, "min_fraction").unwrap().value.clone()), ("expect_completeness", json!(0.95)));
        let p = Params { columns: Some(vec!["a".into(), "b".into()]), total: Some(10.0), ..Default::default() };
        let c = one(from_constraint("sum_equal", Some("a"), ColumnValues::Number, &p, Mode::Reject, 0.9, "s").unwrap());
        assert_eq!((c.function, arg(&c, "mostly").unwrap().value.clone()), ("expect_sum_equal", json!(0.9)));
        let p = Params { metric: Some("psi".into()), ..Default::default() };
        assert_eq!(one(from_constraint("no_drift", Some("x"), ColumnValues::Number, &p, Mode::Warn, 1.0, "d").unwrap()).function, "expect_no_drift");
    }
}
