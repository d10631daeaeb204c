//! Datum-level rule evaluation: decodes a column value in place (no copy for pass-by-value and
//! inline varlena values) and hands it to the core kernels. Shared by the statement trigger, the
//! row trigger and vigil.validate.

use crate::catalog::cache::CompiledRule;
use crate::catalog::{output_text, Repr};
use crate::rules::kernel::{char_length, trim_bpchar, FloatSet, IntSet, Interval, TextSet};
use crate::rules::tally::{float4_sample, float_sample};
use crate::rules::{Position, Range, RuleKind, Tally};
use pgrx::pg_sys::{self, Datum};
use std::cmp::Ordering;

/// A compiled rule body, specialised to the column's representation at compile time.
pub enum Kernel {
    NotNull,
    /// expect_null: any value fails (NULLs pass without reaching a kernel).
    IsNull,
    IntRange(Range<i64>, Interval<i64>),
    FloatRange(Range<f64>, Interval<f64>),
    /// Bounds are numeric Datums in TopMemoryContext; values compare exactly with numeric_cmp.
    NumericRange(Range<Datum>),
    IntSet { set: IntSet, negate: bool },
    FloatSet { set: FloatSet, negate: bool },
    TextSet { set: TextSet, negate: bool },
    Regex { re: regex::bytes::Regex, negate: bool },
    /// Pattern lists: any (or `all`) of the patterns found, or none with `negate`.
    Patterns { set: regex::bytes::RegexSet, all: bool, negate: bool },
    Length(Range<i64>),
    Finite,
}

#[inline(always)]
unsafe fn as_i64(repr: Repr, d: Datum) -> i64 {
    match repr {
        Repr::Int2 => d.value() as i16 as i64,
        Repr::Int4 | Repr::Date => d.value() as i32 as i64,
        _ => d.value() as i64,
    }
}

#[inline(always)]
unsafe fn as_f64(repr: Repr, d: Datum) -> f64 {
    match repr {
        Repr::Float4 => f32::from_bits(d.value() as u32) as f64,
        _ => f64::from_bits(d.value() as u64),
    }
}

/// A varlena's own bytes when stored inline and uncompressed (the usual case, read in place);
/// compressed or external values are detoasted into the current memory context, which the caller
/// resets between batches of rows. Checking the header in Rust spares a guarded call per value.
#[inline(always)]
unsafe fn inline_varlena(d: Datum) -> *const pg_sys::varlena {
    let p = d.cast_mut_ptr::<pg_sys::varlena>();
    if pgrx::varlena::varatt_is_1b_e(p) || pgrx::varlena::varatt_is_4b_c(p) {
        pg_sys::pg_detoast_datum_packed(p)
    } else {
        p
    }
}

/// The bytes of a text-like value (char(n) without its trailing blanks).
#[inline(always)]
pub unsafe fn text_bytes<'a>(repr: Repr, d: Datum) -> &'a [u8] {
    let bytes = pgrx::varlena::varlena_to_byte_slice(inline_varlena(d));
    if repr == Repr::BpChar { trim_bpchar(bytes) } else { bytes }
}

/// The top four bits of a numeric's header: both sign bits set (0xC000) mark the special values,
/// 0xC000 exactly is NaN, 0xD000 and 0xF000 are the infinities (PostgreSQL's NUMERIC_* macros).
#[inline(always)]
unsafe fn numeric_sign_bits(d: Datum) -> u16 {
    let data = pgrx::varlena::vardata_any(inline_varlena(d)) as *const u8;
    u16::from_ne_bytes([*data, *data.add(1)]) & 0xF000
}

#[inline(always)]
unsafe fn numeric_cmp(a: Datum, b: Datum) -> Ordering {
    let r = pgrx::fcinfo::direct_function_call_as_datum(pg_sys::numeric_cmp, &[Some(a), Some(b)]);
    (r.map_or(0, |d| d.value() as i32)).cmp(&0)
}

impl Kernel {
    pub fn int_range(range: Range<i64>) -> Kernel {
        let fast = Interval::of_ints(&range);
        Kernel::IntRange(range, fast)
    }

    pub fn float_range(range: Range<f64>) -> Kernel {
        let fast = Interval::of_floats(&range);
        Kernel::FloatRange(range, fast)
    }

    /// Where a non-NULL value lies for range kernels (used to clamp); Inside for the others,
    /// which cannot clamp.
    #[inline(always)]
    pub unsafe fn locate(&self, repr: Repr, d: Datum) -> Position {
        match self {
            Kernel::IntRange(r, _) => {
                let v = as_i64(repr, d);
                r.locate_by(|b| Some(v.cmp(b)))
            }
            Kernel::FloatRange(r, _) => {
                let v = as_f64(repr, d);
                r.locate_by(|b| v.partial_cmp(b))
            }
            Kernel::NumericRange(r) => {
                if numeric_sign_bits(d) == 0xC000 {
                    return Position::Unordered;
                }
                r.locate_by(|b| Some(numeric_cmp(d, *b)))
            }
            _ => Position::Inside,
        }
    }

    /// Whether a non-NULL value passes the rule.
    #[inline(always)]
    pub unsafe fn passes(&self, repr: Repr, d: Datum, utf8: bool) -> bool {
        match self {
            Kernel::NotNull => true,
            Kernel::IsNull => false,
            Kernel::IntRange(_, fast) => fast.admits(as_i64(repr, d)),
            Kernel::FloatRange(_, fast) => fast.admits(as_f64(repr, d)),
            Kernel::NumericRange(_) => self.locate(repr, d) == Position::Inside,
            Kernel::IntSet { set, negate } => set.contains(as_i64(repr, d)) != *negate,
            Kernel::FloatSet { set, negate } => set.contains(as_f64(repr, d)) != *negate,
            Kernel::TextSet { set, negate } => set.contains(text_bytes(repr, d)) != *negate,
            Kernel::Regex { re, negate } => re.is_match(text_bytes(repr, d)) != *negate,
            Kernel::Patterns { set, all, negate } => {
                let v = text_bytes(repr, d);
                (if *all { set.matches(v).matched_all() } else { set.is_match(v) }) != *negate
            }
            Kernel::Length(r) => r.admits(&char_length(text_bytes(repr, d), utf8)),
            Kernel::Finite => match repr {
                Repr::Numeric => numeric_sign_bits(d) & 0xC000 != 0xC000,
                _ => as_f64(repr, d).is_finite(),
            },
        }
    }

    /// The Datum a clamped value takes, or None when it cannot be clamped (NaN).
    pub unsafe fn clamp(&self, repr: Repr, d: Datum) -> Option<Datum> {
        let pos = self.locate(repr, d);
        match self {
            Kernel::IntRange(r, _) => r.clamp_target(pos).map(|&b| match repr {
                Repr::Int2 => Datum::from(b as i16),
                Repr::Int4 | Repr::Date => Datum::from(b as i32),
                _ => Datum::from(b),
            }),
            Kernel::FloatRange(r, _) => r.clamp_target(pos).map(|&b| match repr {
                Repr::Float4 => Datum::from((b as f32).to_bits()),
                _ => Datum::from(b.to_bits()),
            }),
            Kernel::NumericRange(r) => r.clamp_target(pos).copied(),
            _ => None,
        }
    }
}

/// Renders an offending value for the jsonb sample (text is cut at 200 characters).
pub unsafe fn sample(rule: &CompiledRule, d: Datum, isnull: bool) -> serde_json::Value {
    if isnull {
        return serde_json::Value::Null;
    }
    match rule.repr {
        Repr::Int2 | Repr::Int4 | Repr::Int8 => serde_json::Value::from(as_i64(rule.repr, d)),
        Repr::Float4 => float4_sample(f32::from_bits(d.value() as u32)),
        Repr::Float8 => float_sample(as_f64(rule.repr, d)),
        Repr::Text | Repr::BpChar => {
            let s = String::from_utf8_lossy(text_bytes(rule.repr, d));
            serde_json::Value::String(s.chars().take(200).collect())
        }
        _ => serde_json::Value::String(output_text(rule.typid, d)),
    }
}

/// Checks one column value against one rule and counts it. Returns true when it violates.
#[inline(always)]
pub unsafe fn check_value(rule: &CompiledRule, d: Datum, isnull: bool, utf8: bool, tally: &mut Tally) -> bool {
    tally.rows += 1;
    let violates = if isnull {
        tally.nulls += 1;
        rule.kind == RuleKind::NotNull
    } else {
        !rule.kernel.passes(rule.repr, d, utf8)
    };
    if violates {
        tally.unexpected(|| sample(rule, d, isnull));
    }
    violates
}

/// Column-major plan for judging many rules over many rows: each column's NULL flag and Datum
/// are read once, NULL counts are kept per column, and rows are counted once per batch.
pub struct BatchPlan {
    columns: Vec<ColumnPlan>,
    utf8: bool,
}

struct ColumnPlan {
    attno: usize,
    repr: Repr,
    nulls: u64,
    /// Indexes (into the rules and their tallies) of not_null rules, judged only on NULLs.
    null_rules: Vec<usize>,
    /// Indexes of value rules, judged only on non-NULL values.
    value_rules: Vec<usize>,
    /// A double precision column whose value rules are all ranges (the usual feature column):
    /// its intervals, so the hot loop decodes once and skips the per-rule kernel dispatch.
    float_ranges: Option<Vec<(usize, Interval<f64>)>>,
}

impl BatchPlan {
    /// `rules[k]` is judged into `tallies[k]`; `attno_of` places a rule's column in the rows read.
    pub fn new(rules: &[&CompiledRule], utf8: bool, attno_of: impl Fn(&CompiledRule) -> usize) -> Self {
        let mut columns: Vec<ColumnPlan> = Vec::new();
        for (k, rule) in rules.iter().enumerate() {
            let attno = attno_of(rule);
            let col = match columns.iter().position(|c| c.attno == attno) {
                Some(i) => &mut columns[i],
                None => {
                    columns.push(ColumnPlan {
                        attno,
                        repr: rule.repr,
                        nulls: 0,
                        null_rules: vec![],
                        value_rules: vec![],
                        float_ranges: None,
                    });
                    columns.last_mut().expect("just pushed")
                }
            };
            if rule.kind == RuleKind::NotNull {
                col.null_rules.push(k);
            } else {
                col.value_rules.push(k);
            }
        }
        for col in columns.iter_mut().filter(|c| c.repr == Repr::Float8) {
            col.float_ranges = col
                .value_rules
                .iter()
                .map(|&k| match &rules[k].kernel {
                    Kernel::FloatRange(_, interval) => Some((k, *interval)),
                    _ => None,
                })
                .collect();
        }
        columns.sort_by_key(|c| c.attno);
        BatchPlan { columns, utf8 }
    }

    /// The number of attributes a row must have deformed for this plan.
    pub fn natts(&self) -> i32 {
        self.columns.last().map_or(0, |c| c.attno as i32 + 1)
    }

    #[inline(always)]
    pub unsafe fn row(&mut self, rules: &[&CompiledRule], values: *const Datum, nulls: *const bool, tallies: &mut [Tally]) {
        let utf8 = self.utf8;
        for col in self.columns.iter_mut() {
            if *nulls.add(col.attno) {
                col.nulls += 1;
                for &k in &col.null_rules {
                    tallies[k].unexpected(|| serde_json::Value::Null);
                }
            } else if let Some(ranges) = &col.float_ranges {
                let v = f64::from_bits((*values.add(col.attno)).value() as u64);
                for &(k, interval) in ranges {
                    if !interval.admits(v) {
                        tallies[k].unexpected(|| float_sample(v));
                    }
                }
            } else {
                let d = *values.add(col.attno);
                for &k in &col.value_rules {
                    let rule = rules[k];
                    if !rule.kernel.passes(col.repr, d, utf8) {
                        tallies[k].unexpected(|| sample(rule, d, false));
                    }
                }
            }
        }
    }

    /// Fills in the row and NULL counts of every tally once the batch is read.
    pub fn finish(&self, rows: u64, tallies: &mut [Tally]) {
        for col in &self.columns {
            for &k in col.null_rules.iter().chain(&col.value_rules) {
                tallies[k].rows = rows;
                tallies[k].nulls = col.nulls;
            }
        }
    }
}
