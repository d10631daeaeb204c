//! Multi-value expectations (rules::multi) over rows of Datums: decodes the columns each one
//! reads into core values, renders samples in the columns' own types. Shared by the statement
//! trigger, the row trigger (quarantine) and vigil.validate.

use crate::catalog::cache::{CompiledMulti, MultiColumn};
use crate::catalog::{output_text, Repr};
use crate::rules::multi::{Key, MultiState, Value};
use crate::rules::tally::{float4_sample, float_sample};
use pgrx::pg_sys::{self, Datum};

/// A column value as the core compares it: integers, dates and timestamps exactly, numeric as
/// its canonical decimal text (exact), text by its bytes (char(n) without trailing blanks),
/// booleans as 0 and 1. A numeric's text is palloc'd: `allocated` collects it for pfree once
/// the row is judged.
#[inline(always)]
pub unsafe fn decode<'a>(repr: Repr, d: Datum, isnull: bool, allocated: &mut Vec<*mut std::ffi::c_char>) -> Value<'a> {
    if isnull {
        return Value::Null;
    }
    if repr == Repr::Numeric {
        // numeric's own functions need the 4-byte header (DatumGetNumeric), not a packed value.
        let raw = d.cast_mut_ptr::<pg_sys::varlena>();
        let full = pg_sys::pg_detoast_datum(raw);
        let text = pg_sys::numeric_normalize(full.cast());
        if full != raw {
            allocated.push(full.cast());
        }
        allocated.push(text);
        return Value::Decimal(std::ffi::CStr::from_ptr(text).to_bytes());
    }
    decode_fixed(repr, d)
}

/// `decode` for the types that need no allocation.
#[inline(always)]
unsafe fn decode_fixed<'a>(repr: Repr, d: Datum) -> Value<'a> {
    match repr {
        Repr::Int2 => Value::Int(d.value() as i16 as i64),
        Repr::Int4 | Repr::Date => Value::Int(d.value() as i32 as i64),
        Repr::Int8 | Repr::Timestamp => Value::Int(d.value() as i64),
        Repr::Bool => Value::Int((d.value() & 0xff != 0) as i64),
        Repr::Float4 => Value::Float(f32::from_bits(d.value() as u32) as f64),
        Repr::Float8 => Value::Float(f64::from_bits(d.value() as u64)),
        Repr::Numeric => Value::Null, // see decode
        Repr::Text | Repr::BpChar => Value::Bytes(super::eval::text_bytes(repr, d)),
        Repr::Other => Value::Null, // refused at declaration
    }
}

/// A value for samples and observed values, as the column's type prints it.
pub fn render(repr: Repr, typid: pg_sys::Oid, v: Value<'_>) -> serde_json::Value {
    match (v, repr) {
        (Value::Null, _) => serde_json::Value::Null,
        (Value::Int(i), Repr::Bool) => serde_json::Value::Bool(i != 0),
        (Value::Int(i), Repr::Date) => serde_json::Value::String(output_text(typid, Datum::from(i as i32))),
        (Value::Int(i), Repr::Timestamp) => serde_json::Value::String(output_text(typid, Datum::from(i))),
        (Value::Int(i), _) => serde_json::Value::from(i),
        (Value::Float(f), Repr::Float4) => float4_sample(f as f32),
        (Value::Float(f), _) => float_sample(f),
        (Value::Bytes(b), _) => serde_json::Value::String(String::from_utf8_lossy(b).chars().take(200).collect()),
        // A JSON number (as GE lists them); NaN and the infinities as text.
        (Value::Decimal(d), _) => serde_json::from_slice::<serde_json::Number>(d)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(d).into_owned())),
    }
}

/// A value-set element given as text, as a key of the column's type.
pub fn parse_key(repr: Repr, typid: pg_sys::Oid, text: &str) -> Result<Key, crate::rules::RuleError> {
    use crate::rules::{parse_float, parse_int, RuleError};
    Ok(match repr {
        Repr::Int2 | Repr::Int4 | Repr::Int8 => Key::Int(parse_int(text)?),
        Repr::Float4 => Value::Float(parse_float(text)? as f32 as f64).key(),
        Repr::Float8 => Value::Float(parse_float(text)?).key(),
        Repr::Numeric => {
            // The exact value, as numeric_in reads it (errors are numeric_in's own).
            let d = crate::catalog::parse_with_type(text, pg_sys::NUMERICOID, -1);
            let mut allocated = Vec::new();
            let key = unsafe { decode(repr, d, false, &mut allocated) }.key();
            allocated.into_iter().for_each(|p| unsafe { pg_sys::pfree(p.cast()) });
            key
        }
        Repr::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "yes" | "on" | "1" => Key::Int(1),
            "f" | "false" | "no" | "off" | "0" => Key::Int(0),
            _ => return Err(RuleError::BadValue(format!("invalid boolean in value set: \"{text}\""))),
        },
        Repr::Date | Repr::Timestamp => {
            let d = crate::catalog::parse_with_type(text, unsafe { pg_sys::getBaseType(typid) }, -1);
            unsafe { decode_fixed(repr, d) }.key()
        }
        Repr::BpChar => Key::Bytes(text.trim_end_matches(' ').as_bytes().into()),
        Repr::Text | Repr::Other => Key::Bytes(text.as_bytes().into()),
    })
}

/// The multi-value expectations of a batch, each with its state.
pub struct MultiPlan<'s> {
    rules: Vec<(&'s CompiledMulti, MultiState)>,
    /// Each rule's columns as (0-based position in the rows read, layout).
    columns: Vec<Vec<(usize, Repr)>>,
    /// The time column (0-based position, layout) that orders increasing/decreasing.
    time: Option<(usize, Repr)>,
    values: Vec<Value<'static>>,
}

impl<'s> MultiPlan<'s> {
    /// `attno_of` places a column in the rows read (the firing table's own position on the
    /// write path; validate reads `SELECT *`, which skips dropped columns).
    pub fn new(
        rules: impl IntoIterator<Item = &'s CompiledMulti>,
        time: Option<(usize, Repr)>,
        attno_of: impl Fn(&MultiColumn) -> usize,
    ) -> Self {
        let rules: Vec<_> = rules.into_iter().map(|r| (r, MultiState::new(r.spec.clone()))).collect();
        let columns = rules.iter().map(|(r, _)| r.columns.iter().map(|c| (attno_of(c), c.repr)).collect()).collect();
        // Only increasing / decreasing read the time: no decoding it per row for the others.
        let time = time.filter(|_| rules.iter().any(|(r, _)| r.spec.kind.in_order()));
        MultiPlan { rules, columns, time, values: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Sizes the states for a batch of `rows`.
    pub fn reserve(&mut self, rows: usize) {
        self.rules.iter_mut().for_each(|(_, state)| state.reserve(rows));
    }

    /// The number of attributes a row must have deformed for this plan.
    pub fn natts(&self) -> i32 {
        let cols = self.columns.iter().flatten().map(|c| c.0 as i32 + 1);
        cols.chain(self.time.map(|t| t.0 as i32 + 1)).max().unwrap_or(0)
    }

    #[inline]
    pub unsafe fn row(&mut self, values: *const Datum, nulls: *const bool) {
        // Rows without a time go after the others, as ORDER BY puts NULLs last.
        let time = self.time.map(|(attno, repr)| match decode_fixed(repr, *values.add(attno)) {
            Value::Int(t) if !*nulls.add(attno) => t,
            _ => i64::MAX,
        });
        let mut allocated = Vec::new();
        for ((rule, state), columns) in self.rules.iter_mut().zip(&self.columns) {
            self.values.clear();
            for &(attno, repr) in columns {
                // The row's Datums (and numerics' texts) outlive this call; the vector is cleared
                // before it returns.
                self.values.push(std::mem::transmute::<Value<'_>, Value<'static>>(decode(repr, *values.add(attno), *nulls.add(attno), &mut allocated)));
            }
            let by_time = if rule.spec.kind.in_order() { time } else { None };
            state.row(&self.values, by_time, &|i, v| rule.render(i, v));
        }
        self.values.clear();
        allocated.into_iter().for_each(|p| pg_sys::pfree(p.cast()));
    }

    /// Judges every expectation: (rule, state with its tally, success, observed value).
    pub fn finish(self) -> Vec<(&'s CompiledMulti, MultiState, bool, Option<serde_json::Value>)> {
        self.rules
            .into_iter()
            .map(|(rule, mut state)| {
                let (ok, observed) = state.finish(rule.mostly, &|i, v| rule.render(i, v));
                (rule, state, ok, observed)
            })
            .collect()
    }
}

/// Judges one row against a row-local expectation (the row trigger's quarantine, and release of
/// quarantined rows): the sample of the row's values when it fails. `attno_of` places a column
/// in the row.
pub unsafe fn failing_row(
    rule: &CompiledMulti,
    attno_of: impl Fn(&MultiColumn) -> usize,
    values: *const Datum,
    nulls: *const bool,
) -> Option<serde_json::Value> {
    let mut allocated = Vec::new();
    let decoded: Vec<Value<'_>> = rule
        .columns
        .iter()
        .map(|c| {
            let at = attno_of(c);
            decode(c.repr, *values.add(at), *nulls.add(at), &mut allocated)
        })
        .collect();
    let failing = (MultiState::row_passes(&rule.spec, &decoded) == Some(false))
        .then(|| crate::rules::multi::sample(&rule.spec, &decoded, &|i, v| rule.render(i, v)));
    drop(decoded);
    allocated.into_iter().for_each(|p| pg_sys::pfree(p.cast()));
    failing
}

/// What a failing expectation says, in words: (message tail, detail).
fn describe(rule: &CompiledMulti, state: &MultiState, observed: &Option<serde_json::Value>) -> String {
    use crate::rules::multi::MultiKind::*;
    let t = &state.tally;
    let example = t.samples.first().map(|v| format!(" (e.g. {v})")).unwrap_or_default();
    let set = || {
        let shown: Vec<serde_json::Value> =
            rule.spec.values.iter().flatten().map(|k| rule.render(0, k.value())).collect();
        serde_json::Value::Array(shown).to_string()
    };
    let seen = observed.as_ref().map(|v| v.to_string()).unwrap_or_default();
    match rule.spec.kind {
        DistinctInSet => format!("its distinct values {seen} are not all in {}", set()),
        DistinctContainSet => format!("its distinct values {seen} do not contain all of {}", set()),
        DistinctEqualSet => format!("its distinct values {seen} are not {}", set()),
        MostCommonInSet if rule.spec.ties_okay => format!("none of its most common values {seen} is in {}", set()),
        MostCommonInSet => format!("its most common values {seen} are not one value in {}", set()),
        Unique | CompoundUnique => format!("{} of {} rows repeat a value{example}", t.unexpected, t.rows - t.nulls),
        Increasing | Decreasing => format!(
            "{} of {} values are not {}{}{example}",
            t.unexpected,
            t.rows - t.nulls,
            if rule.spec.strictly { "strictly " } else { "" },
            if rule.spec.kind == Increasing { "increasing" } else { "decreasing" }
        ),
        _ => format!("{} of {} rows fail it{example}", t.unexpected, t.rows - t.nulls),
    }
}

/// Judges the batch's multi-value expectations: a failing 'reject' one fails the statement
/// (23514, like a CHECK); failing 'warn' ones are told to the client and returned as rows for
/// vigil.violation_log.
pub fn judge(
    results: &[(&CompiledMulti, MultiState, bool, Option<serde_json::Value>)],
    relid: pg_sys::Oid,
    batch_rows: u64,
) -> Vec<serde_json::Value> {
    use crate::rules::Mode;
    use pgrx::pg_sys::errcodes::PgSqlErrorCode;
    let table = crate::catalog::qualified_name(relid);
    let mut rows = Vec::new();
    for (rule, state, ok, observed) in results {
        if *ok {
            continue;
        }
        let what = describe(rule, state, observed);
        let columns = rule.column_label();
        if rule.mode == Mode::Reject {
            crate::error::raise(
                PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
                format!("rows for relation {table} violate pg_vigil constraint \"{}\" on columns \"{columns}\"", rule.name),
                Some(format!("In a batch of {batch_rows} rows, {what}.")),
                Some("The whole statement was rolled back; fix the rows, or declare the constraint with on_violation => 'warn'.".into()),
            );
        }
        crate::error::warning(
            format!("batch written to {table} violates pg_vigil constraint \"{}\" on columns \"{columns}\": {what}", rule.name),
            Some("The rows were kept; see vigil.violations.".into()),
        );
        let value_set = rule.spec.kind.on_value_set();
        rows.push(serde_json::json!({
            "relid": rule.relid.to_u32(),
            "constraint_id": rule.id,
            "constraint_name": rule.name,
            "column_name": columns,
            "batch_rows": batch_rows,
            "unexpected_count": (!value_set).then_some(state.tally.unexpected),
            "action": rule.mode.as_str(),
            "sample": if value_set { serde_json::json!([{"observed_value": observed}]) } else { serde_json::json!(state.tally.samples) },
        }));
    }
    rows
}
