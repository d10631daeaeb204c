//! Expectations that look at more than one value at a time: several columns of a row (pairs,
//! sums, values distinct within a record), one column across a batch's rows (uniqueness, order)
//! and a column's set of distinct values (in, containing or equal to a set; its most common
//! value). Great Expectations' semantics for the expectations of the same names. Pure Rust: the
//! write path and vigil.validate decode each row's values and hand them in.

use super::tally::Tally;
use super::RuleError;
use rustc_hash::FxHashMap;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiKind {
    /// column A above column B, or at least B with `or_equal` (GE: expect_column_pair_values_a_to_be_greater_than_b).
    PairGreater,
    /// A equals B (GE: expect_column_pair_values_to_be_equal).
    PairEqual,
    /// The columns add up to `total` (GE: expect_multicolumn_sum_to_equal).
    SumEqual,
    /// No two of the columns hold the same value in a row (GE: expect_select_column_values_to_be_unique_within_record).
    UniqueWithinRecord,
    /// No value of the column twice in a batch (GE: expect_column_values_to_be_unique).
    Unique,
    /// No combination of the columns twice in a batch (GE: expect_compound_columns_to_be_unique).
    CompoundUnique,
    /// Each value at least (above, with `strictly`) the one before (GE: expect_column_values_to_be_increasing).
    Increasing,
    /// Each value at most (below) the one before (GE: expect_column_values_to_be_decreasing).
    Decreasing,
    /// Every distinct value in the set (GE: expect_column_distinct_values_to_be_in_set).
    DistinctInSet,
    /// Every value of the set among the distinct values (GE: expect_column_distinct_values_to_contain_set).
    DistinctContainSet,
    /// The distinct values are the set (GE: expect_column_distinct_values_to_equal_set).
    DistinctEqualSet,
    /// The most common value in the set (GE: expect_column_most_common_value_to_be_in_set).
    MostCommonInSet,
}

pub const ALL_MULTI: [MultiKind; 12] = [
    MultiKind::PairGreater,
    MultiKind::PairEqual,
    MultiKind::SumEqual,
    MultiKind::UniqueWithinRecord,
    MultiKind::Unique,
    MultiKind::CompoundUnique,
    MultiKind::Increasing,
    MultiKind::Decreasing,
    MultiKind::DistinctInSet,
    MultiKind::DistinctContainSet,
    MultiKind::DistinctEqualSet,
    MultiKind::MostCommonInSet,
];

impl MultiKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MultiKind::PairGreater => "pair_greater",
            MultiKind::PairEqual => "pair_equal",
            MultiKind::SumEqual => "sum_equal",
            MultiKind::UniqueWithinRecord => "unique_within_record",
            MultiKind::Unique => "unique",
            MultiKind::CompoundUnique => "compound_unique",
            MultiKind::Increasing => "increasing",
            MultiKind::Decreasing => "decreasing",
            MultiKind::DistinctInSet => "distinct_in_set",
            MultiKind::DistinctContainSet => "distinct_contain_set",
            MultiKind::DistinctEqualSet => "distinct_equal_set",
            MultiKind::MostCommonInSet => "most_common_in_set",
        }
    }

    pub fn parse(s: &str) -> Option<MultiKind> {
        ALL_MULTI.iter().copied().find(|k| k.as_str() == s)
    }

    /// How many columns the expectation takes: (at least, at most).
    pub fn arity(self) -> (usize, usize) {
        match self {
            MultiKind::PairGreater | MultiKind::PairEqual => (2, 2),
            MultiKind::SumEqual | MultiKind::UniqueWithinRecord | MultiKind::CompoundUnique => (1, usize::MAX),
            _ => (1, 1),
        }
    }

    /// A row is judged alone (so quarantine can divert it before it is stored); the others need
    /// the whole batch.
    pub fn per_row(self) -> bool {
        matches!(self, MultiKind::PairGreater | MultiKind::PairEqual | MultiKind::SumEqual | MultiKind::UniqueWithinRecord)
    }

    /// Judged on the rows in order (of the time column when the table has one).
    pub fn in_order(self) -> bool {
        matches!(self, MultiKind::Increasing | MultiKind::Decreasing)
    }

    /// Judged on the batch's set of values, with an observed value instead of unexpected rows.
    pub fn on_value_set(self) -> bool {
        matches!(
            self,
            MultiKind::DistinctInSet | MultiKind::DistinctContainSet | MultiKind::DistinctEqualSet | MultiKind::MostCommonInSet
        )
    }
}

/// What a column's values are, for which columns can be compared with which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueGroup {
    Number,
    Date,
    Timestamp,
    Text,
    Bool,
}

/// The first column (by position) whose values the expectation cannot judge: sums take
/// numbers; pairs and values distinct within a record take columns of one group; None (a type
/// the checks cannot decode) fits nothing.
pub fn misfit(kind: MultiKind, groups: &[Option<ValueGroup>]) -> Option<usize> {
    let first = groups.first().copied().flatten();
    groups.iter().position(|g| match kind {
        MultiKind::SumEqual => *g != Some(ValueGroup::Number),
        MultiKind::PairGreater | MultiKind::PairEqual | MultiKind::UniqueWithinRecord => g.is_none() || *g != first,
        _ => g.is_none(),
    })
}

/// Which rows a multi-column expectation skips (GE's `ignore_row_if`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreRowIf {
    /// GE: both_values_are_missing / all_values_are_missing (the default).
    AllMissing,
    /// GE: either_value_is_missing / any_value_is_missing.
    AnyMissing,
    /// GE: neither / never.
    Never,
}

impl IgnoreRowIf {
    pub fn parse(s: &str) -> Option<IgnoreRowIf> {
        Some(match s {
            "both_values_are_missing" | "all_values_are_missing" => IgnoreRowIf::AllMissing,
            "either_value_is_missing" | "any_value_is_missing" => IgnoreRowIf::AnyMissing,
            "neither" | "never" => IgnoreRowIf::Never,
            _ => return None,
        })
    }

    /// GE's spelling: column pairs say both/either/neither, multicolumn expectations all/any/never.
    pub fn as_str(self, pair: bool) -> &'static str {
        match (self, pair) {
            (IgnoreRowIf::AllMissing, true) => "both_values_are_missing",
            (IgnoreRowIf::AllMissing, false) => "all_values_are_missing",
            (IgnoreRowIf::AnyMissing, true) => "either_value_is_missing",
            (IgnoreRowIf::AnyMissing, false) => "any_value_is_missing",
            (IgnoreRowIf::Never, true) => "neither",
            (IgnoreRowIf::Never, false) => "never",
        }
    }

    fn skips(self, values: &[Value<'_>]) -> bool {
        match self {
            IgnoreRowIf::AllMissing => values.iter().all(|v| v.is_null()),
            IgnoreRowIf::AnyMissing => values.iter().any(|v| v.is_null()),
            IgnoreRowIf::Never => false,
        }
    }
}

/// A column value as the checks see it: integers (also dates and timestamps, in their stored
/// units, and booleans), floats (also numeric), or the bytes of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Float(f64),
    Bytes(&'a [u8]),
    /// A numeric in its canonical decimal text (no trailing zeros, `-` for negatives; `NaN`,
    /// `Infinity`, `-Infinity`): compared and keyed exactly, as numeric_cmp does.
    Decimal(&'a [u8]),
}

impl Value<'_> {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// SQL's order: numbers by value (integers and numerics exactly), text by bytes (the C
    /// collation's order); None for NULL, NaN against a number, or a number against text.
    pub fn compare(&self, other: &Value<'_>) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Bytes(a), Value::Bytes(b)) => Some(a.cmp(b)),
            (Value::Decimal(a), Value::Decimal(b)) => compare_decimals(a, b),
            (Value::Decimal(a), Value::Int(b)) => compare_decimals(a, b.to_string().as_bytes()),
            (Value::Int(a), Value::Decimal(b)) => compare_decimals(a.to_string().as_bytes(), b),
            (a, b) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal(d) => std::str::from_utf8(d).ok().and_then(|t| super::parse_float(t).ok()),
            _ => None,
        }
    }

    pub fn key(&self) -> Key {
        match *self {
            Value::Null => Key::Null,
            Value::Int(i) => Key::Int(i),
            // 2.0 and 2 are one value; -0 is 0; every NaN is one NaN (PostgreSQL's float equality).
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Key::Int(f as i64),
            Value::Float(f) if f.is_nan() => Key::Float(f64::NAN.to_bits()),
            Value::Float(f) => Key::Float(f.to_bits()),
            Value::Bytes(b) => Key::Bytes(b.into()),
            // A numeric that a bigint or a double holds exactly is keyed as one (so 2 and 2.0, or
            // 0.5 and 0.5::float8, are one value); any other keeps its exact digits.
            Value::Decimal(d) => {
                let text = std::str::from_utf8(d).unwrap_or_default();
                if let Ok(i) = text.parse::<i64>() {
                    Key::Int(i)
                } else if let Some(f) = super::parse_float(text).ok().filter(|f| f.to_string() == text || !f.is_finite()) {
                    Value::Float(f).key()
                } else {
                    Key::Decimal(d.into())
                }
            }
        }
    }
}

/// Orders two canonical decimal texts exactly (sign, then integer digits, then the rest);
/// NaN and the infinities by value as doubles.
fn compare_decimals(a: &[u8], b: &[u8]) -> Option<Ordering> {
    let special = |d: &[u8]| matches!(d, b"NaN" | b"Infinity" | b"-Infinity");
    if special(a) || special(b) {
        let f = |d: &[u8]| std::str::from_utf8(d).ok().and_then(|t| super::parse_float(t).ok());
        return f(a)?.partial_cmp(&f(b)?);
    }
    let (neg_a, a) = a.strip_prefix(b"-").map_or((false, a), |r| (true, r));
    let (neg_b, b) = b.strip_prefix(b"-").map_or((false, b), |r| (true, r));
    let zero = |d: &[u8]| d.iter().all(|c| *c == b'0' || *c == b'.');
    let (neg_a, neg_b) = (neg_a && !zero(a), neg_b && !zero(b));
    if neg_a != neg_b {
        return Some(if neg_a { Ordering::Less } else { Ordering::Greater });
    }
    fn split(d: &[u8]) -> (&[u8], &[u8]) {
        let at = d.iter().position(|c| *c == b'.').unwrap_or(d.len());
        let int = &d[..at];
        let int = &int[int.iter().position(|c| *c != b'0').unwrap_or(int.len())..];
        (int, d.get(at + 1..).unwrap_or(&[]))
    }
    let ((ia, fa), (ib, fb)) = (split(a), split(b));
    let magnitude = ia.len().cmp(&ib.len()).then_with(|| ia.cmp(ib)).then_with(|| {
        // Fractions compare digit by digit, the shorter padded with zeros.
        (0..fa.len().max(fb.len()))
            .map(|i| fa.get(i).unwrap_or(&b'0').cmp(fb.get(i).unwrap_or(&b'0')))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    Some(if neg_a { magnitude.reverse() } else { magnitude })
}

/// An owned, hashable value: what uniqueness and value sets keep across rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Null,
    Int(i64),
    Float(u64),
    Bytes(Box<[u8]>),
    Decimal(Box<[u8]>),
}

impl Key {
    pub fn value(&self) -> Value<'_> {
        match self {
            Key::Null => Value::Null,
            Key::Int(i) => Value::Int(*i),
            Key::Float(bits) => Value::Float(f64::from_bits(*bits)),
            Key::Bytes(b) => Value::Bytes(b),
            Key::Decimal(d) => Value::Decimal(d),
        }
    }

    /// A total order as PostgreSQL sorts: numbers by value with NaN after every other number,
    /// then text, then NULL.
    fn sort_cmp(&self, other: &Key) -> Ordering {
        let class = |k: &Key| match k {
            Key::Null => 3,
            Key::Bytes(_) => 2,
            k if k.value().as_f64().is_some_and(f64::is_nan) => 1,
            _ => 0,
        };
        class(self).cmp(&class(other)).then_with(|| self.value().compare(&other.value()).unwrap_or(Ordering::Equal))
    }
}

/// Sorts keys in SQL's order (numbers by value, NaN last among them, then text by bytes).
pub fn sort_keys(keys: &mut [Key]) {
    keys.sort_by(Key::sort_cmp);
}

/// What a declaration holds besides its kind and columns.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiSpec {
    pub kind: MultiKind,
    pub columns: Vec<String>,
    pub ignore: IgnoreRowIf,
    /// pair_greater: at least instead of above; increasing/decreasing: `strictly` is its negation.
    pub or_equal: bool,
    pub strictly: bool,
    pub total: Option<f64>,
    /// Value sets (already parsed into keys for the column's type); None: GE's null value_set.
    pub values: Option<Vec<Key>>,
    pub ties_okay: bool,
}

impl MultiSpec {
    pub fn new(kind: MultiKind, columns: Vec<String>) -> Self {
        MultiSpec {
            kind,
            columns,
            ignore: IgnoreRowIf::AllMissing,
            or_equal: false,
            strictly: false,
            total: None,
            values: None,
            ties_okay: false,
        }
    }
}

/// Checks a declaration that does not depend on the database.
pub fn validate(spec: &MultiSpec) -> Result<(), RuleError> {
    let (least, most) = spec.kind.arity();
    let n = spec.columns.len();
    if n < least || n > most {
        return Err(RuleError::InvalidParameter(if least == most {
            format!("{} takes {least} column{}, got {n}", spec.kind.as_str(), if least == 1 { "" } else { "s" })
        } else {
            format!("{} takes at least {least} column, got {n}", spec.kind.as_str())
        }));
    }
    let mut seen: Vec<&str> = Vec::new();
    for c in &spec.columns {
        if seen.contains(&c.as_str()) && spec.kind != MultiKind::PairEqual {
            return Err(RuleError::InvalidParameter(format!("column \"{c}\" is listed twice")));
        }
        seen.push(c);
    }
    match spec.kind {
        MultiKind::SumEqual => match spec.total {
            Some(t) if t.is_finite() => Ok(()),
            Some(t) => Err(RuleError::InvalidParameter(format!("total must be a finite number, got {t}"))),
            None => Err(RuleError::NullValue("total must not be NULL".into())),
        },
        MultiKind::DistinctContainSet | MultiKind::DistinctEqualSet | MultiKind::MostCommonInSet if spec.values.is_none() => {
            Err(RuleError::NullValue("value_set must not be NULL".into()))
        }
        _ => Ok(()),
    }
}

/// Renders a column's value for samples: (position of the column in the declaration, value).
pub type Render<'r> = &'r dyn Fn(usize, Value<'_>) -> serde_json::Value;

/// A batch key: one column's value kept inline (no allocation for numbers), or several.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RowKey {
    One(Key),
    Many(Box<[Key]>),
}

impl RowKey {
    fn keys(&self) -> &[Key] {
        match self {
            RowKey::One(k) => std::slice::from_ref(k),
            RowKey::Many(keys) => keys,
        }
    }

    fn first(&self) -> &Key {
        &self.keys()[0]
    }
}

/// The state of one expectation over a batch (a write statement, or the table for validate).
pub struct MultiState {
    spec: MultiSpec,
    pub tally: Tally,
    /// Unique / compound_unique: each key's rows seen and first row; value sets: counts.
    counts: FxHashMap<RowKey, (u64, u64)>,
    /// Value sets: the same for single integer keys (ids, dates, timestamps), kept apart.
    ints: FxHashMap<i64, (u64, u64)>,
    /// Uniqueness of integer keys, the common case (ids, dates, timestamps): (key, row) pairs,
    /// sorted once the batch is read. Written in order and sorted mostly in place (a batch's ids
    /// usually ascend), this stays in cache where a hash map of a million keys would miss on
    /// almost every insert (measured: 5x slower in a backend).
    int_rows: Vec<(i64, u64)>,
    /// increasing / decreasing: the last non-NULL value, or the buffered (time, value) pairs.
    previous: Option<Key>,
    by_time: Vec<(i64, u64, Key)>,
}

impl MultiState {
    pub fn new(spec: MultiSpec) -> Self {
        MultiState {
            spec,
            tally: Tally::default(),
            counts: FxHashMap::default(),
            ints: FxHashMap::default(),
            int_rows: Vec::new(),
            previous: None,
            by_time: Vec::new(),
        }
    }

    /// Makes room for a batch of `rows` (uniqueness keeps a key per row), so the map does not
    /// grow by rehashing as it fills.
    pub fn reserve(&mut self, rows: usize) {
        if self.spec.kind == MultiKind::Unique {
            self.int_rows.reserve(rows);
        } else if self.spec.kind == MultiKind::CompoundUnique {
            self.counts.reserve(rows);
        }
    }

    /// Each distinct single value with its count and first row.
    fn single_counts(&self) -> impl Iterator<Item = (Key, u64, u64)> + '_ {
        let ints = self.ints.iter().map(|(i, (n, first))| (Key::Int(*i), *n, *first));
        ints.chain(self.counts.iter().map(|(k, (n, first))| (k.first().clone(), *n, *first)))
    }

    /// Whether a row-local expectation passes one row (values in declaration order); None when
    /// the row is ignored.
    pub fn row_passes(spec: &MultiSpec, values: &[Value<'_>]) -> Option<bool> {
        if spec.ignore.skips(values) {
            return None;
        }
        Some(match spec.kind {
            MultiKind::PairGreater => match values[0].compare(&values[1]) {
                Some(Ordering::Greater) => true,
                Some(Ordering::Equal) => spec.or_equal,
                _ => false,
            },
            // NULL equals nothing (GE lists a value against a missing one as unexpected).
            MultiKind::PairEqual => values[0].compare(&values[1]) == Some(Ordering::Equal),
            MultiKind::SumEqual => {
                let total = spec.total.unwrap_or(f64::NAN);
                if values.iter().all(|v| matches!(v, Value::Int(_))) {
                    let sum: i128 = values.iter().map(|v| if let Value::Int(i) = v { *i as i128 } else { 0 }).sum();
                    sum as f64 == total
                } else {
                    // A NULL makes the sum NULL, as in SQL: not equal to anything.
                    let sum: Option<f64> = values.iter().map(Value::as_f64).sum();
                    sum.is_some_and(|s| s == total || (s - total).abs() <= 1e-9 * total.abs().max(1.0))
                }
            }
            MultiKind::UniqueWithinRecord => {
                let present: Vec<Key> = values.iter().filter(|v| !v.is_null()).map(Value::key).collect();
                (1..present.len()).all(|i| !present[..i].contains(&present[i]))
            }
            _ => true,
        })
    }

    /// One row's values of the expectation's columns, in declaration order; `time` orders
    /// increasing/decreasing when the table has a time column.
    pub fn row(&mut self, values: &[Value<'_>], time: Option<i64>, render: Render<'_>) {
        let row_index = self.tally.rows;
        self.tally.rows += 1;
        let kind = self.spec.kind;
        if kind.per_row() {
            match Self::row_passes(&self.spec, values) {
                None => self.tally.nulls += 1,
                Some(true) => {}
                Some(false) => {
                    let spec = &self.spec;
                    self.tally.unexpected(|| sample(spec, values, render));
                }
            }
            return;
        }
        match kind {
            MultiKind::CompoundUnique => {
                if self.spec.ignore.skips(values) {
                    self.tally.nulls += 1;
                    return;
                }
                let key = RowKey::Many(values.iter().map(Value::key).collect());
                self.counts.entry(key).or_insert((0, row_index)).0 += 1;
            }
            MultiKind::Increasing | MultiKind::Decreasing => {
                if values[0].is_null() {
                    self.tally.nulls += 1;
                    return;
                }
                match time {
                    Some(t) => self.by_time.push((t, row_index, values[0].key())),
                    None => self.ordered(values[0].key(), render),
                }
            }
            _ => {
                // unique and the value-set kinds: NULLs are missing values, not values.
                if values[0].is_null() {
                    self.tally.nulls += 1;
                    return;
                }
                match values[0].key() {
                    Key::Int(i) if kind == MultiKind::Unique => self.int_rows.push((i, row_index)),
                    Key::Int(i) => self.ints.entry(i).or_insert((0, row_index)).0 += 1,
                    key => self.counts.entry(RowKey::One(key)).or_insert((0, row_index)).0 += 1,
                }
            }
        }
    }

    fn ordered(&mut self, key: Key, render: Render<'_>) {
        if let Some(prev) = &self.previous {
            let order = key.value().compare(&prev.value());
            let rising = self.spec.kind == MultiKind::Increasing;
            let fine = match order {
                Some(Ordering::Equal) => !self.spec.strictly,
                Some(Ordering::Greater) => rising,
                Some(Ordering::Less) => !rising,
                None => false,
            };
            if !fine {
                self.tally.unexpected(|| render(0, key.value()));
            }
        }
        self.previous = Some(key);
    }

    /// Ends the batch: the tally (unexpected rows and samples) and GE's success, with the
    /// observed value for the value-set kinds.
    pub fn finish(&mut self, mostly: f64, render: Render<'_>) -> (bool, Option<serde_json::Value>) {
        match self.spec.kind {
            MultiKind::Increasing | MultiKind::Decreasing if !self.by_time.is_empty() => {
                let mut buffered = std::mem::take(&mut self.by_time);
                buffered.sort_by_key(|(t, row, _)| (*t, *row));
                for (_, _, key) in buffered {
                    self.ordered(key, render);
                }
            }
            MultiKind::Unique | MultiKind::CompoundUnique => {
                // Integer keys: runs of one key in the sorted pairs (its first row leads the run).
                let mut pairs = std::mem::take(&mut self.int_rows);
                pairs.sort_unstable();
                let mut sorted_runs = Vec::new();
                for run in pairs.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
                    sorted_runs.push((RowKey::One(Key::Int(run[0].0)), run.len() as u64, run[0].1));
                }
                let mut duplicated: Vec<(RowKey, u64, u64)> = self
                    .counts
                    .iter()
                    .filter(|(_, (n, _))| *n > 1)
                    .map(|(k, (n, first))| (k.clone(), *n, *first))
                    .chain(sorted_runs)
                    .collect();
                duplicated.sort_by_key(|d| d.2);
                for (key, n, _) in duplicated {
                    let values: Vec<Value<'_>> = key.keys().iter().map(Key::value).collect();
                    for _ in 0..n {
                        self.tally.unexpected(|| sample(&self.spec, &values, render));
                    }
                }
            }
            _ => {}
        }
        if self.spec.kind.on_value_set() {
            return self.judge_value_set(render);
        }
        (self.tally.passes(false, mostly), None)
    }

    fn judge_value_set(&self, render: Render<'_>) -> (bool, Option<serde_json::Value>) {
        let counts: Vec<(Key, u64, u64)> = self.single_counts().collect();
        let mut distinct: Vec<Key> = counts.iter().map(|c| c.0.clone()).collect();
        sort_keys(&mut distinct);
        let in_set = |k: &Key| self.spec.values.as_ref().is_none_or(|set| set.contains(k));
        let shown = |keys: &[Key]| serde_json::Value::Array(keys.iter().map(|k| render(0, k.value())).collect());
        let set = self.spec.values.as_deref().unwrap_or(&[]);
        match self.spec.kind {
            MultiKind::DistinctInSet => (distinct.iter().all(in_set), Some(shown(&distinct))),
            MultiKind::DistinctContainSet => (set.iter().all(|k| distinct.contains(k)), Some(shown(&distinct))),
            MultiKind::DistinctEqualSet => {
                let fits = set.iter().all(|k| distinct.contains(k)) && distinct.iter().all(|k| set.contains(k));
                (fits, Some(shown(&distinct)))
            }
            MultiKind::MostCommonInSet => {
                let top = counts.iter().map(|c| c.1).max().unwrap_or(0);
                let mut modes: Vec<Key> = counts.iter().filter(|c| c.1 == top && top > 0).map(|c| c.0.clone()).collect();
                sort_keys(&mut modes);
                let hits = modes.iter().filter(|k| set.contains(k)).count();
                let success = if self.spec.ties_okay { hits > 0 } else { modes.len() == 1 && hits == 1 };
                (success, Some(shown(&modes)))
            }
            _ => (true, None),
        }
    }
}

/// A sample as GE lists it: the value for one column, [a, b] for a pair, {column: value} for more.
pub fn sample(spec: &MultiSpec, values: &[Value<'_>], render: Render<'_>) -> serde_json::Value {
    match spec.kind {
        MultiKind::Unique | MultiKind::Increasing | MultiKind::Decreasing => render(0, values[0]),
        MultiKind::PairGreater | MultiKind::PairEqual => {
            serde_json::Value::Array(values.iter().enumerate().map(|(i, v)| render(i, *v)).collect())
        }
        _ => serde_json::Value::Object(
            spec.columns.iter().zip(values).enumerate().map(|(i, (c, v))| (c.clone(), render(i, *v))).collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(_: usize, v: Value<'_>) -> serde_json::Value {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Int(i) => json!(i),
            Value::Float(f) => json!(f),
            Value::Bytes(b) | Value::Decimal(b) => json!(String::from_utf8_lossy(b)),
        }
    }

    fn ints(v: &[Option<i64>]) -> Vec<Value<'static>> {
        v.iter().map(|x| x.map_or(Value::Null, Value::Int)).collect()
    }

    fn run(spec: MultiSpec, rows: &[Vec<Value<'_>>], mostly: f64) -> (Tally, bool, Option<serde_json::Value>) {
        let mut s = MultiState::new(spec);
        for r in rows {
            s.row(r, None, &render);
        }
        let (ok, observed) = s.finish(mostly, &render);
        (s.tally.clone(), ok, observed)
    }

    fn spec(kind: MultiKind, n: usize) -> MultiSpec {
        MultiSpec::new(kind, (0..n).map(|i| format!("c{i}")).collect())
    }

    #[test]
    fn pairs_follow_ge_on_ties_and_missing_values() {
        // GE test_ties: w vs z, either value missing ignored: five ties fail, or_equal passes.
        let rows: Vec<_> = (1..=10).map(|i| ints(&[Some(i), (i <= 5).then_some(i)])).collect();
        let mut s = spec(MultiKind::PairGreater, 2);
        s.ignore = IgnoreRowIf::AnyMissing;
        let (t, ok, _) = run(s.clone(), &rows, 1.0);
        assert!(!ok && t.unexpected == 5 && t.nulls == 5);
        s.or_equal = true;
        assert!(run(s, &rows, 1.0).1);
        // Equality: a value against a missing one is unexpected unless ignored.
        let rows: Vec<_> = (1..=9).map(|i| ints(&[Some(i), (i <= 5).then_some(i)])).collect();
        let (t, ok, _) = run(spec(MultiKind::PairEqual, 2), &rows, 1.0);
        assert!(!ok);
        assert_eq!(t.samples, vec![json!([6, null]), json!([7, null]), json!([8, null]), json!([9, null])]);
        assert!(run(spec(MultiKind::PairEqual, 2), &rows, 0.5).1);
    }

    #[test]
    fn sums_are_exact_for_integers_and_null_fails() {
        let mut s = spec(MultiKind::SumEqual, 2);
        s.total = Some(4.0);
        let rows = vec![ints(&[Some(1), Some(3)]), ints(&[Some(4), Some(1)]), ints(&[Some(2), None]), ints(&[None, None])];
        let (t, ok, _) = run(s.clone(), &rows, 1.0);
        assert!(!ok);
        assert_eq!((t.unexpected, t.nulls), (2, 1));
        assert_eq!(t.samples[0], json!({"c0": 4, "c1": 1}));
        // Floats: 0.2 + 0.8 is 1 within rounding.
        s.total = Some(1.0);
        let floats = vec![vec![Value::Float(0.2), Value::Float(0.8)], vec![Value::Float(0.71), Value::Float(0.29)]];
        assert!(run(s, &floats, 1.0).1);
    }

    #[test]
    fn unique_within_record_ignores_missing_values() {
        let rows = vec![ints(&[Some(1), Some(1)]), ints(&[Some(1), Some(2)]), ints(&[Some(2), None]), ints(&[None, None])];
        let (t, ok, _) = run(spec(MultiKind::UniqueWithinRecord, 2), &rows, 1.0);
        assert!(!ok);
        assert_eq!((t.rows, t.nulls, t.unexpected), (4, 1, 1));
        // An integer and a float of the same value are the same value.
        assert_eq!(MultiState::row_passes(&spec(MultiKind::UniqueWithinRecord, 2), &[Value::Int(2), Value::Float(2.0)]), Some(false));
    }

    #[test]
    fn unique_lists_every_occurrence_and_skips_nulls() {
        let rows: Vec<_> = [Some(1), Some(1), Some(2), None, None].iter().map(|v| ints(&[*v])).collect();
        let (t, ok, _) = run(spec(MultiKind::Unique, 1), &rows, 1.0);
        assert!(!ok);
        assert_eq!(t.samples, vec![json!(1), json!(1)]);
        // GE: 2 of 3 non-NULL values duplicated: mostly 0.3 passes, 0.4 fails.
        assert!(run(spec(MultiKind::Unique, 1), &rows, 0.3).1);
        assert!(!run(spec(MultiKind::Unique, 1), &rows, 0.4).1);
        // Compound: NULL is a value unless every column is NULL.
        let rows = vec![ints(&[Some(1), None]), ints(&[Some(1), None]), ints(&[None, None]), ints(&[None, None])];
        let (t, ok, _) = run(spec(MultiKind::CompoundUnique, 2), &rows, 1.0);
        assert!(!ok && t.unexpected == 2 && t.nulls == 2);
    }

    #[test]
    fn order_skips_nulls_and_sorts_by_time() {
        let rows: Vec<_> = [None, Some(0), None, Some(2), Some(1)].iter().map(|v| ints(&[*v])).collect();
        let (t, ok, _) = run(spec(MultiKind::Increasing, 1), &rows, 1.0);
        assert!(!ok);
        assert_eq!(t.samples, vec![json!(1)]);
        let y: Vec<_> = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4].iter().map(|v| ints(&[Some(*v)])).collect();
        let mut strict = spec(MultiKind::Decreasing, 1);
        assert_eq!(run(strict.clone(), &y, 1.0).0.unexpected, 3);
        strict.strictly = true;
        assert_eq!(run(strict, &y, 1.0).0.unexpected, 9);
        // Written out of order, increasing by time.
        let mut s = MultiState::new(spec(MultiKind::Increasing, 1));
        for (t, v) in [(3, 30), (1, 10), (2, 20)] {
            s.row(&[Value::Int(v)], Some(t), &render);
        }
        assert!(s.finish(1.0, &render).0);
    }

    #[test]
    fn value_sets_follow_ge() {
        let keys = |v: &[i64]| Some(v.iter().map(|i| Key::Int(*i)).collect::<Vec<_>>());
        let rows: Vec<_> = [1, 1, 1, 1, 2].iter().map(|v| ints(&[Some(*v)])).chain([ints(&[None])]).collect();
        let mut s = spec(MultiKind::DistinctInSet, 1);
        s.values = keys(&[1, 2, 9]);
        let (_, ok, observed) = run(s.clone(), &rows, 1.0);
        assert!(ok);
        assert_eq!(observed, Some(json!([1, 2])));
        s.values = keys(&[1]);
        assert!(!run(s.clone(), &rows, 1.0).1);
        s.values = None;
        assert!(run(s, &rows, 1.0).1, "no set: vacuously true");
        let mut c = spec(MultiKind::DistinctContainSet, 1);
        c.values = keys(&[1]);
        assert!(run(c.clone(), &rows, 1.0).1);
        c.kind = MultiKind::DistinctEqualSet;
        assert!(!run(c.clone(), &rows, 1.0).1);
        c.values = keys(&[2, 1]);
        assert!(run(c, &rows, 1.0).1);
        // Most common: a tie passes only with ties_okay.
        let tie: Vec<_> = [1, 1, 2, 2, 3].iter().map(|v| ints(&[Some(*v)])).collect();
        let mut m = spec(MultiKind::MostCommonInSet, 1);
        m.values = keys(&[1, 2]);
        let (_, ok, observed) = run(m.clone(), &tie, 1.0);
        assert!(!ok);
        assert_eq!(observed, Some(json!([1, 2])));
        m.values = keys(&[2]);
        m.ties_okay = true;
        assert!(run(m, &tie, 1.0).1);
    }

    #[test]
    fn numerics_compare_and_key_exactly() {
        let d = |t: &'static str| Value::Decimal(t.as_bytes());
        // Beyond a double's 53 bits: distinct values stay distinct.
        assert_ne!(d("12345678901234567890").key(), d("12345678901234567891").key());
        assert_eq!(d("12345678901234567890").compare(&d("12345678901234567891")), Some(Ordering::Less));
        assert_eq!(d("0.1").compare(&d("0.10000000000000000001")), Some(Ordering::Less));
        assert_eq!(d("-2.5").compare(&d("-2.25")), Some(Ordering::Less));
        assert_eq!(d("-0.5").compare(&d("0")), Some(Ordering::Less));
        assert_eq!(d("10").compare(&Value::Int(9)), Some(Ordering::Greater));
        assert_eq!(d("Infinity").compare(&d("99")), Some(Ordering::Greater));
        // The same value whatever the column type: 2 = 2.0, 0.5 (numeric) = 0.5 (double).
        assert_eq!(d("2").key(), Value::Float(2.0).key());
        assert_eq!(d("0.5").key(), Value::Float(0.5).key());
        // NaN sorts after every number, as in PostgreSQL, with no panic on mixed keys.
        let mut keys = vec![Value::Float(f64::NAN).key(), Value::Float(2.5).key(), Value::Float(-1.5).key(), Key::Bytes(b"a".as_slice().into()), d("7").key()];
        sort_keys(&mut keys);
        assert_eq!(keys[..3], [Value::Float(-1.5).key(), Value::Float(2.5).key(), Key::Int(7)]);
        assert!(keys[3].value().as_f64().is_some_and(f64::is_nan));
    }

    #[test]
    fn columns_must_be_comparable() {
        use ValueGroup::*;
        assert_eq!(misfit(MultiKind::SumEqual, &[Some(Number), Some(Text)]), Some(1));
        assert_eq!(misfit(MultiKind::PairGreater, &[Some(Date), Some(Date)]), None);
        assert_eq!(misfit(MultiKind::PairEqual, &[Some(Date), Some(Timestamp)]), Some(1));
        assert_eq!(misfit(MultiKind::Unique, &[None]), Some(0));
        assert_eq!(misfit(MultiKind::CompoundUnique, &[Some(Text), Some(Number)]), None);
    }

    #[test]
    fn declarations_are_checked() {
        assert!(validate(&spec(MultiKind::PairGreater, 3)).is_err());
        assert!(validate(&spec(MultiKind::SumEqual, 2)).is_err(), "total missing");
        let mut twice = spec(MultiKind::CompoundUnique, 2);
        twice.columns[1] = "c0".into();
        assert!(validate(&twice).is_err());
        assert!(validate(&spec(MultiKind::DistinctEqualSet, 1)).is_err(), "value_set missing");
        assert!(validate(&spec(MultiKind::DistinctInSet, 1)).is_ok());
        for k in ALL_MULTI {
            assert_eq!(MultiKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(IgnoreRowIf::parse("either_value_is_missing"), Some(IgnoreRowIf::AnyMissing));
    }
}

