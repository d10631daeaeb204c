//! vigil.window_status, vigil.evaluate, vigil.acknowledge and vigil.resolve: SQL entry points
//! of the monitoring layer (src/monitor).

use super::declare::{check_table, required};
use crate::catalog::{require_owner, require_privilege, timestamptz};
use crate::monitor::evaluate::{evaluate_table, set_state, EVALUATE_LOCK_CLASS};
use crate::monitor::scoring::score_table;
use crate::drift::score::Status;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;

#[pg_extern(name = "_window_status")]
#[search_path(pg_catalog, pg_temp)]
fn window_status(tbl: Oid) -> TableIterator<'static, (
    name!(window_start, TimestampWithTimeZone),
    name!(row_count, i64),
    name!(status, String),
    name!(score, Option<f64>),
    name!(top_columns, Vec<String>),
)> {
    require_privilege(tbl, pg_sys::ACL_SELECT as u64, "reading its window status");
    let rows: Vec<_> = score_table(tbl, false, None)
        .into_iter()
        .map(|w| {
            let score = w.score;
            let top: Vec<String> = if score.status == Status::Learning {
                Vec::new()
            } else {
                score.responsible().iter().map(|c| c.column.clone()).collect()
            };
            (timestamptz(score.start), w.rows, score.status.as_str().to_string(), score.score, top)
        })
        .collect();
    TableIterator::new(rows)
}


#[pg_extern(name = "_evaluate")]
#[search_path(pg_catalog, pg_temp)]
fn evaluate(tbl: Option<Oid>) -> Vec<i64> {
    crate::catalog::require_writable("evaluate windows");
    let relid = required(tbl, "tbl");
    check_table(relid);
    require_owner(relid);
    super::drift::must_be_watched(relid);
    // One evaluation of a table at a time (writers evaluating live windows skip it instead).
    crate::catalog::advisory_xact_lock(EVALUATE_LOCK_CLASS, relid, true);
    evaluate_table(relid)
}


#[pg_extern(name = "_acknowledge")]
#[search_path(pg_catalog, pg_temp)]
fn acknowledge(alert_id: Option<i64>) -> bool {
    crate::catalog::require_writable("acknowledge an alert");
    set_state(required(alert_id, "alert_id"), "acknowledged")
}


#[pg_extern(name = "_resolve")]
#[search_path(pg_catalog, pg_temp)]
fn resolve(alert_id: Option<i64>) -> bool {
    crate::catalog::require_writable("resolve an alert");
    set_state(required(alert_id, "alert_id"), "resolved")
}

