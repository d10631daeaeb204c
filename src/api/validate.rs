//! vigil.validate(tbl): every constraint of a table over its current rows, reported like Great
//! Expectations' SUMMARY result format. Runs the same kernels as the write path.

use crate::catalog::{cache::ruleset_for, column_index, qualified_name, require_privilege, scan_query};
use crate::rules::Tally;
use crate::trigger::eval::BatchPlan;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;


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
    let rules: Vec<_> = set.rules.iter().collect();
    let mut plan: Option<BatchPlan> = None;
    let rows = scan_query(
        &format!("SELECT * FROM {}", qualified_name(tbl)),
        |tupdesc, values, nulls| {
            let plan = plan.get_or_insert_with(|| BatchPlan::new(&rules, set.utf8, |r| unsafe { column_index(tupdesc, &r.column) }));
            unsafe { plan.row(&rules, values.as_ptr(), nulls.as_ptr(), &mut tallies) };
        },
        |_| {},
    );
    if let Some(plan) = &plan {
        plan.finish(rows, &mut tallies);
    }

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
