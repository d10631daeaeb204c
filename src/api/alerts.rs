//! vigil.window_status, vigil.evaluate, vigil.acknowledge and vigil.resolve: SQL entry points
//! of the monitoring layer (src/monitor).

use super::declare::{check_table, required};
use crate::catalog::{require_owner, require_privilege, timestamptz};
use crate::drift::gaps::Gap;
use crate::drift::score::Status;
use crate::monitor::evaluate::{evaluate_table, set_state, EVALUATE_LOCK_CLASS, MISSING_SCORE};
use crate::monitor::scoring::{score_table, ROW_COUNT};
use crate::monitor::timeliness::{timeliness, windows_with_rows};
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
    let scored = score_table(tbl, false, None);
    let with_rows: Vec<i64> = scored.iter().map(|w| w.start).collect();
    let mut rows: Vec<_> = scored
        .into_iter()
        .map(|w| {
            let score = w.score;
            let top: Vec<String> = if score.status == Status::Learning {
                Vec::new()
            } else {
                score.responsible().iter().map(|c| c.column.clone()).collect()
            };
            (score.start, w.rows, score.status.as_str().to_string(), score.score, top)
        })
        .collect();
    // Windows without rows: never 'ok'.
    if let Some(watch) = crate::catalog::cache::ruleset_for(tbl).watch.as_ref() {
        let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
        let judged = timeliness(tbl, watch.epoch, watch.window_usecs, now, &with_rows);
        for (start, gap) in judged.gaps {
            let flagged = matches!(gap, Gap::Missing | Gap::Late);
            rows.push((start, 0, gap.status().to_string(), (gap == Gap::Missing).then_some(MISSING_SCORE), if flagged { vec![ROW_COUNT.to_string()] } else { Vec::new() }));
        }
        rows.sort_by_key(|r| r.0);
    }
    TableIterator::new(rows.into_iter().map(|(start, n, status, score, top)| (timestamptz(start), n, status, score, top)).collect::<Vec<_>>())
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


/// Every watched table the caller owns, evaluated (for a scheduler such as pg_cron; the
/// background worker goes table by table itself): the ids of the alerts opened or extended.
/// Tables another session is evaluating are left to it.
#[pg_extern(name = "_evaluate_all")]
#[search_path(pg_catalog, pg_temp)]
fn evaluate_all() -> Vec<i64> {
    crate::catalog::require_writable("evaluate windows");
    let caller = crate::catalog::current_user();
    let owned: Vec<Oid> = crate::catalog::as_extension_owner(|| {
        Spi::connect(|client| {
            client
                .select(
                    "SELECT w.relid FROM vigil.watch_def w JOIN pg_catalog.pg_class c ON c.oid = w.relid
                      WHERE pg_catalog.pg_has_role($1, c.relowner, 'USAGE') ORDER BY w.relid",
                    None,
                    &[caller.into()],
                )?
                .map(|r| r.get::<Oid>(1).map(|o| o.unwrap_or(pg_sys::InvalidOid)))
                .collect::<Result<Vec<_>, _>>()
        })
    })
    .unwrap_or_default();
    let mut ids = Vec::new();
    for relid in owned {
        if crate::catalog::advisory_xact_lock(EVALUATE_LOCK_CLASS, relid, false) {
            ids.extend(evaluate_table(relid));
        }
    }
    ids
}

/// When the table last wrote, how often it usually does, and whether rows it should have
/// written are late or missing ('fresh', 'late', 'missing'; 'learning' until its arrivals are
/// known).
#[pg_extern(name = "_freshness")]
#[search_path(pg_catalog, pg_temp)]
fn freshness(tbl: Oid) -> TableIterator<'static, (
    name!(last_write_at, Option<TimestampWithTimeZone>),
    name!(usual_interval, Option<pgrx::datum::Interval>),
    name!(grace, pgrx::datum::Interval),
    name!(status, String),
)> {
    require_privilege(tbl, pg_sys::ACL_SELECT as u64, "reading its freshness");
    let Some(watch) = crate::catalog::cache::ruleset_for(tbl).watch.as_ref().map(|w| (w.epoch, w.window_usecs)) else {
        return TableIterator::new(Vec::new());
    };
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    let judged = timeliness(tbl, watch.0, watch.1, now, &windows_with_rows(tbl, watch.0));
    let interval = |usecs: i64| pgrx::datum::Interval::new(0, 0, usecs).ok();
    TableIterator::new(vec![(
        judged.last_write.map(timestamptz),
        judged.arrival.and_then(|a| interval(a.usual_interval)),
        interval(judged.grace).unwrap_or_else(|| pgrx::datum::Interval::new(0, 0, 0).expect("zero")),
        judged.status().to_string(),
    )])
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

