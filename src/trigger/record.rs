//! Writes violation records and quarantined rows: one SQL statement per batch (never per row),
//! run as the extension's owner so users need no rights on vigil.* tables.

use crate::catalog::run_as_owner;
use crate::error::raise;
use crate::rules::{Mode, Tally};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;

pub struct Violation<'a> {
    pub relid: Oid,
    pub rule_id: i32,
    pub name: &'a str,
    pub column: &'a str,
    pub batch_rows: u64,
    pub action: Mode,
    pub tally: &'a Tally,
}

pub fn record_violations(violations: &[Violation<'_>]) {
    if violations.is_empty() {
        return;
    }
    let rows: Vec<serde_json::Value> = violations
        .iter()
        .map(|v| {
            serde_json::json!({
                "relid": v.relid.to_u32(),
                "constraint_id": v.rule_id,
                "constraint_name": v.name,
                "column_name": v.column,
                "batch_rows": v.batch_rows,
                "unexpected_count": v.tally.unexpected,
                "action": v.action.as_str(),
                "sample": v.tally.samples,
            })
        })
        .collect();
    insert_violations(rows);
}

/// One statement for any number of violation rows (JSON objects; a missing unexpected_count is
/// NULL, as for batch-level constraints).
pub fn insert_violations(rows: Vec<serde_json::Value>) {
    if rows.is_empty() {
        return;
    }
    record(
        "INSERT INTO vigil.violation_log
                (relid, constraint_id, constraint_name, column_name, batch_rows, unexpected_count, action, sample)
         SELECT relid, constraint_id, constraint_name, column_name, batch_rows, unexpected_count, action, sample
           FROM pg_catalog.jsonb_to_recordset($1) AS r(relid oid, constraint_id integer, constraint_name text,
                column_name text, batch_rows bigint, unexpected_count bigint, action text, sample jsonb)",
        pg_sys::JSONBOID,
        JsonB(serde_json::Value::Array(rows)),
    );
}

/// A batch-level constraint a batch (or a finished window) failed in 'warn' mode, with the
/// aggregate observed.
pub struct AggregateViolation<'a> {
    pub aggregate: &'a crate::catalog::cache::CompiledAggregate,
    /// Rows of the batch or window judged.
    pub batch_rows: u64,
    pub observed: f64,
    /// What was expected, in words.
    pub expected: String,
    /// More to say (the window and metric of a drift constraint), merged into the sample.
    pub detail: Option<serde_json::Value>,
}

impl AggregateViolation<'_> {
    /// `{"observed_value": …, "expected": …}` and the detail.
    pub fn sample(&self) -> serde_json::Value {
        let mut sample = serde_json::json!({"observed_value": self.observed, "expected": self.expected});
        if let (Some(serde_json::Value::Object(more)), serde_json::Value::Object(map)) = (&self.detail, &mut sample) {
            map.extend(more.clone());
        }
        sample
    }
}

/// Records failed batch-level constraints: no unexpected rows to count, so unexpected_count is
/// NULL and the sample holds the observed value and the expected range.
pub fn record_aggregate_violations(violations: &[AggregateViolation<'_>]) {
    if violations.is_empty() {
        return;
    }
    insert_violations(
        violations
            .iter()
            .map(|v| {
                serde_json::json!({
                    "relid": v.aggregate.relid.to_u32(),
                    "constraint_id": v.aggregate.id,
                    "constraint_name": v.aggregate.name,
                    "column_name": v.aggregate.column.as_ref().map(|c| c.0.clone()),
                    "batch_rows": v.batch_rows,
                    "action": v.aggregate.mode.as_str(),
                    "sample": [v.sample()],
                })
            })
            .collect(),
    );
}

/// Writes queued quarantined rows (JSON objects built by the row trigger).
pub fn flush_quarantine(rows: Vec<String>) {
    if rows.is_empty() {
        return;
    }
    let mut json = String::with_capacity(rows.iter().map(|r| r.len() + 1).sum::<usize>() + 2);
    json.push('[');
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(r);
    }
    json.push(']');
    record(
        "INSERT INTO vigil.quarantine (relid, constraint_names, row_data, operation, old_row_data)
         SELECT (e->>'relid')::oid::pg_catalog.regclass,
                ARRAY(SELECT pg_catalog.jsonb_array_elements_text(e->'names')),
                e->'row', e->>'op', e->'old'
           FROM pg_catalog.jsonb_array_elements($1::pg_catalog.jsonb) AS e",
        pg_sys::TEXTOID,
        json,
    );
}

fn record<T: IntoDatum>(sql: &'static str, arg_type: pg_sys::Oid, arg: T) {
    run_as_owner(sql, &[arg_type], &[arg.into()]).unwrap_or_else(|e| {
        raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("pg_vigil could not record: {e}"), None, None)
    })
}
