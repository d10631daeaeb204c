//! vigil.validate(tbl): every constraint of a table over its current rows, reported like Great
//! Expectations' SUMMARY result format. Runs the same kernels as the write path.

use crate::catalog::{cache::ruleset_for, column_index, qualified_name, require_privilege};
use crate::error::raise;
use crate::rules::Tally;
use crate::trigger::eval::BatchPlan;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;
use std::ffi::CString;

/// Rows fetched from the cursor at a time: bounded memory for any table size.
const FETCH_ROWS: i64 = 10_000;


#[pg_extern(name = "_validate")]
#[search_path(pg_catalog, pg_temp)]
fn validate(tbl: Oid) -> TableIterator<'static, (
    name!(constraint_name, String),
    name!(column_name, String),
    name!(kind, String),
    name!(element_count, i64),
    name!(missing_count, i64),
    name!(unexpected_count, i64),
    name!(unexpected_percent, Option<f64>),
    name!(success, bool),
    name!(partial_unexpected_list, JsonB),
)> {
    require_privilege(tbl, pg_sys::ACL_SELECT as u64, "vigil.validate");
    let set = ruleset_for(tbl);
    let mut tallies = vec![Tally::default(); set.rules.len()];
    let query = CString::new(format!("SELECT * FROM {}", qualified_name(tbl))).expect("no NUL in a name");

    Spi::connect(|_client| unsafe {
        let portal = pg_sys::SPI_cursor_open_with_args(
            std::ptr::null(),
            query.as_ptr(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null(),
            true,
            0,
        );
        if portal.is_null() {
            raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "cannot open a cursor over the table", None, None);
        }
        let rules: Vec<_> = set.rules.iter().collect();
        let mut plan: Option<BatchPlan> = None;
        let mut rows = 0u64;
        let mut values: Vec<pg_sys::Datum> = Vec::new();
        let mut nulls: Vec<bool> = Vec::new();
        loop {
            pg_sys::SPI_cursor_fetch(portal, true, FETCH_ROWS as _);
            let table = pg_sys::SPI_tuptable;
            if table.is_null() || pg_sys::SPI_processed == 0 {
                break;
            }
            let tupdesc = (*table).tupdesc;
            let natts = (*tupdesc).natts as usize;
            let plan = plan.get_or_insert_with(|| BatchPlan::new(&rules, set.utf8, |r| column_index(tupdesc, &r.column)));
            values.resize(natts, pg_sys::Datum::from(0));
            nulls.resize(natts, true);
            for i in 0..pg_sys::SPI_processed as usize {
                let tuple = *(*table).vals.add(i);
                pg_sys::heap_deform_tuple(tuple, tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
                plan.row(&rules, values.as_ptr(), nulls.as_ptr(), &mut tallies);
                rows += 1;
            }
            pg_sys::SPI_freetuptable(table);
        }
        pg_sys::SPI_cursor_close(portal);
        if let Some(plan) = &plan {
            plan.finish(rows, &mut tallies);
        }
    });

    let rows: Vec<_> = set
        .rules
        .iter()
        .zip(tallies)
        .map(|(rule, t)| {
            let counts_nulls = rule.kind.counts_nulls();
            (
                rule.name.clone(),
                rule.column.clone(),
                rule.kind.as_str().to_string(),
                t.rows as i64,
                t.nulls as i64,
                t.unexpected as i64,
                t.unexpected_percent(counts_nulls),
                t.passes(counts_nulls, rule.mostly),
                JsonB(serde_json::Value::Array(t.samples)),
            )
        })
        .collect();
    TableIterator::new(rows)
}
