//! BEFORE INSERT OR UPDATE ... FOR EACH ROW: only on tables with quarantine, clamp or set_null
//! rules, because only those must skip or change a row before it is stored.

use super::eval::check_value;
use super::{deform, finfo_v1, pending, record, trigger_data, with_pinned_search_path};
use crate::catalog::cache::ruleset_for;
use crate::catalog::qualified_name;
use crate::error::raise;
use crate::rules::Mode;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Datum};
use pgrx::prelude::*;

finfo_v1!(pg_finfo_vigil_before_row);

#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn vigil_before_row(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    with_pinned_search_path(|| before_row(fcinfo))
}

unsafe fn before_row(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    let td = trigger_data(fcinfo, "vigil._before_row()");
    let is_update = (*td).tg_event & pg_sys::TRIGGER_EVENT_OPMASK == pg_sys::TRIGGER_EVENT_UPDATE;
    let (tuple, slot) =
        if is_update { ((*td).tg_newtuple, (*td).tg_newslot) } else { ((*td).tg_trigtuple, (*td).tg_trigslot) };
    let rel = (*td).tg_relation;
    let set = ruleset_for((*rel).rd_id);
    if set.per_row.is_empty() && set.per_row_multi().next().is_none() {
        return Datum::from(tuple);
    }
    deform(slot, (*(*rel).rd_att).natts);
    let values = (*slot).tts_values;
    let nulls = (*slot).tts_isnull;
    let subxid = pending::current_subxact();

    let mut quarantined_by: Vec<&str> = Vec::new();
    let mut quarantine_relid = pg_sys::InvalidOid;
    let mut repairs: Vec<(i32, Datum, bool)> = Vec::new();
    for &i in &set.per_row {
        let rule = &set.rules[i];
        if rule.mode != Mode::Quarantine && !quarantined_by.is_empty() {
            break;
        }
        let (d, isnull) = (*values.add(rule.attno), *nulls.add(rule.attno));
        let violates = pending::with_tally(subxid, rule, |t| check_value(rule, d, isnull, set.utf8, t));
        if !violates {
            continue;
        }
        match rule.mode {
            Mode::Quarantine => {
                quarantined_by.push(&rule.name);
                quarantine_relid = rule.relid;
            }
            Mode::SetNull => repairs.push((rule.attno as i32 + 1, Datum::from(0), true)),
            Mode::Clamp => match rule.kernel.clamp(rule.repr, d) {
                Some(v) => repairs.push((rule.attno as i32 + 1, v, false)),
                None => raise(
                    PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
                    format!(
                        "new row for relation {} violates pg_vigil constraint \"{}\" and cannot be clamped",
                        qualified_name((*rel).rd_id),
                        rule.name
                    ),
                    Some(format!("Column \"{}\" is NaN, which has no nearest bound.", rule.column)),
                    Some("Add an expect_finite rule with on_violation => 'quarantine' or 'set_null' for NaN.".into()),
                ),
            },
            Mode::Reject | Mode::Warn => {}
        }
    }

    // Multi-column expectations that quarantine (row-local ones only), on the row as written.
    for rule in set.per_row_multi() {
        let failing = super::multi::failing_row(rule, |c| c.attno, values, nulls);
        let fails = failing.is_some();
        pending::with_tally_of(subxid, (rule.relid, rule.id, rule.mode), || (rule.name.clone(), rule.column_label()), |t| {
            t.rows += 1;
            if let Some(sample) = failing {
                t.unexpected(|| sample);
            }
        });
        if fails {
            quarantined_by.push(&rule.name);
            quarantine_relid = rule.relid;
        }
    }

    if !quarantined_by.is_empty() {
        let old = if is_update { Some((*td).tg_trigtuple) } else { None };
        let json = quarantine_json(quarantine_relid, &quarantined_by, tuple, old, (*rel).rd_att);
        if pending::push_row(subxid, json) {
            record::flush_quarantine(pending::take_rows(subxid));
        }
        return Datum::from(0); // skip the row: it is in vigil.quarantine instead
    }
    if repairs.is_empty() {
        return Datum::from(tuple);
    }
    let cols: Vec<i32> = repairs.iter().map(|r| r.0).collect();
    let mut new_values: Vec<Datum> = repairs.iter().map(|r| r.1).collect();
    let mut new_nulls: Vec<bool> = repairs.iter().map(|r| r.2).collect();
    let repaired = pg_sys::heap_modify_tuple_by_cols(
        tuple,
        (*rel).rd_att,
        cols.len() as i32,
        cols.as_ptr() as *mut i32,
        new_values.as_mut_ptr(),
        new_nulls.as_mut_ptr(),
    );
    Datum::from(repaired)
}

/// `{"relid":…,"names":[…],"op":"insert"|"update","row":{…},"old":{…}|null}`
unsafe fn quarantine_json(
    relid: pg_sys::Oid,
    names: &[&str],
    tuple: pg_sys::HeapTuple,
    old: Option<pg_sys::HeapTuple>,
    tupdesc: pg_sys::TupleDesc,
) -> String {
    format!(
        "{{\"relid\":{},\"names\":{},\"op\":\"{}\",\"row\":{},\"old\":{}}}",
        relid.to_u32(),
        serde_json::to_string(names).unwrap_or_else(|_| "[]".into()),
        if old.is_some() { "update" } else { "insert" },
        row_json(tuple, tupdesc),
        old.map_or_else(|| "null".to_string(), |t| row_json(t, tupdesc)),
    )
}

unsafe fn row_json(tuple: pg_sys::HeapTuple, tupdesc: pg_sys::TupleDesc) -> String {
    let composite = pg_sys::heap_copy_tuple_as_datum(tuple, tupdesc);
    let json = pgrx::fcinfo::direct_function_call_as_datum(pg_sys::row_to_json, &[Some(composite)])
        .expect("row_to_json returns a value");
    let text = pgrx::varlena::text_to_rust_str_unchecked(json.cast_mut_ptr()).to_owned();
    pg_sys::pfree(json.cast_mut_ptr());
    pg_sys::pfree(composite.cast_mut_ptr());
    text
}
