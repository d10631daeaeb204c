//! AFTER INSERT/UPDATE ... FOR EACH STATEMENT: one pass over the transition table in Rust.

use super::eval::BatchPlan;
use super::multi::{self, MultiPlan};
use super::profile::{BatchAggregates, ProfileBatch};
use super::{deform, finfo_v1, pending, record, trigger_data, with_pinned_search_path};
use crate::catalog::cache::{ruleset_for, CompiledRule, RuleSet};
use crate::catalog::qualified_name;
use crate::error::{notice, raise, warning};
use crate::rules::{Mode, Tally};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Datum};
use pgrx::prelude::*;

/// Rows between resets of the scan's memory context (detoasted values live there).
const RESET_EVERY: u64 = 1024;

finfo_v1!(pg_finfo_vigil_after_write);

#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn vigil_after_write(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    with_pinned_search_path(|| after_write(fcinfo))
}

unsafe fn after_write(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    let td = trigger_data(fcinfo, "vigil._after_write()");
    let rel = (*td).tg_relation;
    let set = ruleset_for((*rel).rd_id);
    let newtable = (*td).tg_newtable;

    let mut tallies = vec![Tally::default(); set.batch.len()];
    let mut profiles = set.watch.as_ref().filter(|w| !w.columns.is_empty()).map(ProfileBatch::new);
    let mut aggregates = BatchAggregates::new(&set);
    let mut multi = MultiPlan::new(set.batch_multi(), set.watch.as_ref().and_then(|w| w.time), |c| c.attno);
    let batch_rows = if newtable.is_null() || (set.batch.is_empty() && profiles.is_none() && aggregates.is_none() && multi.is_empty()) {
        0
    } else {
        let t0 = std::time::Instant::now();
        if !multi.is_empty() {
            multi.reserve(pg_sys::tuplestore_tuple_count(newtable) as usize);
        }
        let n = scan_transition_table(newtable, (*rel).rd_att, &set, &mut tallies, profiles.as_mut(), aggregates.as_mut(), &mut multi);
        pgrx::debug1!("vigil scan: {} rows in {:?}", n, t0.elapsed());
        n
    };

    let failing: Vec<(&CompiledRule, &Tally)> = set
        .batch
        .iter()
        .zip(&tallies)
        .map(|(&i, t)| (&set.rules[i], t))
        .filter(|(r, t)| !t.passes(r.kind.counts_nulls(), r.mostly))
        .collect();
    if let Some((rule, tally)) = failing.iter().find(|(r, _)| r.mode == Mode::Reject) {
        reject(rule, tally, (*rel).rd_id);
    }
    let failing_aggregates = judge_aggregates(&set, aggregates.as_ref(), batch_rows, (*rel).rd_id);
    let failing_multi = if batch_rows > 0 && !multi.is_empty() { multi::judge(&multi.finish(), (*rel).rd_id, batch_rows) } else { Vec::new() };
    // Shape expectations need no scan, only whether the statement wrote rows.
    let written = if batch_rows > 0 || newtable.is_null() { batch_rows } else { pg_sys::tuplestore_tuple_count(newtable) as u64 };
    let failing_shapes = if written > 0 { judge_shapes(&set, (*rel).rd_id, written) } else { Vec::new() };

    let subxid = pending::current_subxact();
    let per_row_ids: Vec<i32> = set.per_row.iter().map(|&i| set.rules[i].id).chain(set.per_row_multi().map(|m| m.id)).collect();
    let repaired = pending::take_tallies(subxid, &per_row_ids);
    let mut violations: Vec<record::Violation<'_>> = failing
        .iter()
        .map(|(r, t)| record::Violation {
            relid: r.relid,
            rule_id: r.id,
            name: &r.name,
            column: &r.column,
            batch_rows,
            action: r.mode,
            tally: t,
        })
        .collect();
    violations.extend(repaired.iter().filter(|p| p.tally.unexpected > 0).map(|p| record::Violation {
        relid: p.relid,
        rule_id: p.rule_id,
        name: &p.name,
        column: &p.column,
        batch_rows: p.tally.rows,
        action: p.action,
        tally: &p.tally,
    }));
    record::flush_quarantine(pending::take_rows(subxid));
    record::record_violations(&violations);
    record::record_aggregate_violations(&failing_aggregates);
    record::insert_violations(failing_multi);
    record::insert_violations(failing_shapes);
    if let Some(mut profiles) = profiles {
        profiles.write();
    }
    tell_client(&violations, (*rel).rd_id);
    Datum::from(0)
}

/// Judges the batch-level constraints: a failing 'reject' one fails the statement (23514, like
/// a CHECK), failing 'warn' ones are returned (with what was observed) to be recorded.
fn judge_aggregates<'s>(
    set: &'s RuleSet,
    aggregates: Option<&BatchAggregates>,
    batch_rows: u64,
    relid: pg_sys::Oid,
) -> Vec<record::AggregateViolation<'s>> {
    use crate::rules::aggregate::{observe, passes};
    let Some(aggregates) = aggregates else { return Vec::new() };
    if batch_rows == 0 {
        return Vec::new(); // a statement that wrote nothing is no batch to judge
    }
    let mut failing = Vec::new();
    // On a watched table 'warn' constraints are judged per finished window instead (when windows
    // are evaluated); 'reject' ones here, where the statement can still be refused.
    // (Only constraints windows can judge: the row count, or a watched column.)
    let judged_by_windows = |a: &&crate::catalog::cache::CompiledAggregate| {
        a.mode == Mode::Warn
            && set.watch.as_ref().is_some_and(|w| a.column.as_ref().is_none_or(|c| w.columns.iter().any(|wc| wc.attno == c.1)))
    };
    for a in set.aggregates.iter().filter(|a| !judged_by_windows(a)) {
        let observed = aggregates.observed(a.column.as_ref().map(|c| c.1), batch_rows, a.quantile);
        if passes(a.kind, &a.bounds, &observed) {
            continue;
        }
        let value = observe(a.kind, &observed);
        let shown = value.map_or_else(|| "undefined (no values)".to_string(), |v| v.to_string());
        let table = qualified_name(relid);
        let what = match (&a.column, a.quantile) {
            (Some((c, _, _)), Some(q)) if a.kind == crate::rules::aggregate::AggregateKind::QuantileBetween => {
                format!("the {q} quantile of column \"{c}\"")
            }
            (Some((c, _, _)), _) => format!("the {} of column \"{c}\"", a.kind.measure()),
            (None, _) => "the row count".to_string(),
        };
        let message = format!(
            "In a batch of {batch_rows} rows written to {table}, {what} is {shown}, expected {}.",
            a.bounds.describe()
        );
        if a.mode == Mode::Reject {
            raise(
                PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
                format!("batch violates pg_vigil constraint \"{}\"", a.name),
                Some(message),
                Some("The whole statement was rolled back; see vigil.validate or relax the constraint.".into()),
            );
        }
        warning(
            format!("batch written to {table} violates pg_vigil constraint \"{}\": {what} is {shown}, expected {}", a.name, a.bounds.describe()),
            Some("The rows were kept; see vigil.violations.".into()),
        );
        failing.push(record::AggregateViolation { aggregate: a, batch_rows, observed: value.unwrap_or(f64::NAN), expected: a.bounds.describe(), detail: None });
    }
    failing
}

/// Table shape expectations the table does not meet (judged when its rules were compiled): a
/// 'reject' one fails the statement, 'warn' ones are told and returned for the violation log.
fn judge_shapes(set: &RuleSet, relid: pg_sys::Oid, batch_rows: u64) -> Vec<serde_json::Value> {
    let mut rows = Vec::new();
    for shape in set.shapes.iter().filter(|s| !s.success) {
        let table = qualified_name(relid);
        let what = format!("its columns do not meet {} ({})", shape.kind.as_str(), shape.observed);
        if shape.mode == Mode::Reject {
            raise(
                PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
                format!("table {table} violates pg_vigil constraint \"{}\"", shape.name),
                Some(format!("{what}.")),
                Some("Change the table or the constraint (vigil.drop_constraint) to agree.".into()),
            );
        }
        warning(format!("table {table} violates pg_vigil constraint \"{}\": {what}", shape.name), None);
        rows.push(serde_json::json!({
            "relid": shape.relid.to_u32(),
            "constraint_id": shape.id,
            "constraint_name": shape.name,
            "batch_rows": batch_rows,
            "action": shape.mode.as_str(),
            "sample": [shape.observed],
        }));
    }
    rows
}

/// One line per rule that acted in this statement, so a loader sees what happened to its rows
/// without querying vigil.violations: a WARNING for warn, a NOTICE for diverted or repaired rows.
fn tell_client(violations: &[record::Violation<'_>], relid: pg_sys::Oid) {
    if violations.is_empty() {
        return;
    }
    let table = qualified_name(relid);
    for v in violations {
        let (n, of, rule) = (v.tally.unexpected, v.batch_rows, v.name);
        match v.action {
            Mode::Warn => warning(
                format!("{n} of {of} rows written to {table} violate pg_vigil constraint \"{rule}\" on column \"{}\"", v.column),
                Some("The rows were kept; see vigil.violations.".into()),
            ),
            Mode::Quarantine => notice(format!("pg_vigil quarantined {n} of {of} rows of {table} (constraint \"{rule}\"); see vigil.quarantine")),
            Mode::Clamp => notice(format!("pg_vigil clamped {n} values of column \"{}\" of {table} (constraint \"{rule}\")", v.column)),
            Mode::SetNull => notice(format!("pg_vigil set {n} values of column \"{}\" of {table} to NULL (constraint \"{rule}\")", v.column)),
            Mode::Reject => {}
        }
    }
}

/// Reads the transition table through a read pointer of our own (other AFTER triggers share the
/// tuplestore) and runs every batch rule on every row. Returns the number of rows.
unsafe fn scan_transition_table(
    store: *mut pg_sys::Tuplestorestate,
    tupdesc: pg_sys::TupleDesc,
    set: &RuleSet,
    tallies: &mut [Tally],
    mut profiles: Option<&mut ProfileBatch<'_>>,
    mut aggregates: Option<&mut BatchAggregates>,
    multi: &mut MultiPlan<'_>,
) -> u64 {
    let reader = pg_sys::tuplestore_alloc_read_pointer(store, pg_sys::EXEC_FLAG_REWIND as i32);
    pg_sys::tuplestore_select_read_pointer(store, reader);
    pg_sys::tuplestore_rescan(store);
    let slot = pg_sys::MakeSingleTupleTableSlot(tupdesc, &pg_sys::TTSOpsMinimalTuple);
    let scan_cxt = pg_sys::AllocSetContextCreateInternal(
        pg_sys::CurrentMemoryContext,
        c"vigil transition scan".as_ptr(),
        0,
        8 * 1024,
        8 * 1024 * 1024,
    );
    let caller_cxt = pg_sys::MemoryContextSwitchTo(scan_cxt);
    let rules: Vec<&CompiledRule> = set.batch.iter().map(|&i| &set.rules[i]).collect();
    let mut plan = BatchPlan::new(&rules, set.utf8, |r| r.attno);
    let natts = plan.natts().max(profiles.as_ref().map_or(0, |p| p.natts())).max(aggregates.as_ref().map_or(0, |a| a.natts())).max(multi.natts());
    let mut rows = 0u64;
    while pg_sys::tuplestore_gettupleslot(store, true, false, slot) {
        deform(slot, natts);
        plan.row(&rules, (*slot).tts_values, (*slot).tts_isnull, tallies);
        if let Some(p) = profiles.as_mut() {
            p.row((*slot).tts_values, (*slot).tts_isnull);
        }
        if let Some(a) = aggregates.as_mut() {
            a.row((*slot).tts_values, (*slot).tts_isnull);
        }
        if !multi.is_empty() {
            multi.row((*slot).tts_values, (*slot).tts_isnull);
        }
        rows += 1;
        if rows % RESET_EVERY == 0 {
            // The slot may own a tuple read back from disk into this context: release it first.
            pg_sys::ExecClearTuple(slot);
            pg_sys::MemoryContextReset(scan_cxt);
        }
    }
    plan.finish(rows, tallies);
    pg_sys::ExecClearTuple(slot);
    pg_sys::MemoryContextSwitchTo(caller_cxt);
    pg_sys::MemoryContextDelete(scan_cxt);
    pg_sys::ExecDropSingleTupleTableSlot(slot);
    pg_sys::tuplestore_select_read_pointer(store, 0);
    rows
}

/// Fails the statement like a CHECK constraint does: SQLSTATE 23514, naming table, column,
/// constraint and an offending value.
fn reject(rule: &CompiledRule, tally: &Tally, relid: pg_sys::Oid) -> ! {
    let table = qualified_name(relid);
    let value = tally.samples.first().map(|v| v.to_string()).unwrap_or_else(|| "NULL".into());
    let counts_nulls = rule.kind.counts_nulls();
    let (message, detail) = if rule.mostly < 1.0 {
        (
            format!(
                "rows for relation {table} violate pg_vigil constraint \"{}\" on column \"{}\" too often (e.g. value {value})",
                rule.name, rule.column
            ),
            format!(
                "{} of {} {}values in this statement fail the {} rule; mostly = {} allows at most {:.4}%.",
                tally.unexpected,
                tally.domain(counts_nulls),
                if counts_nulls { "" } else { "non-NULL " },
                rule.kind.as_str(),
                rule.mostly,
                (1.0 - rule.mostly) * 100.0,
            ),
        )
    } else {
        (
            format!(
                "new row for relation {table} violates pg_vigil constraint \"{}\" on column \"{}\" (value {value})",
                rule.name, rule.column
            ),
            format!(
                "{} of {} rows in this statement fail the {} rule.",
                tally.unexpected,
                tally.rows,
                rule.kind.as_str()
            ),
        )
    };
    raise(
        PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
        message,
        Some(detail),
        Some("Fix the rows, or declare the constraint with on_violation => 'warn' or 'quarantine'.".into()),
    )
}
