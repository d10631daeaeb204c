//! vigil.drift: each window of a watched table against its baseline (vigil.set_baseline) or,
//! without one, against the table's own trailing history; vigil.mark_window takes a window known
//! to be bad out of both.

use super::declare::{check_table, required};
use crate::catalog::{as_extension_owner, cache, qualified_name, require_owner, require_privilege, timestamptz};
use crate::profile::window;
use crate::error::raise;
use crate::monitor::evaluate::EVALUATE_LOCK_CLASS;
use crate::monitor::reference::table_drift;
use crate::monitor::scoring::{column_names, observations, score_table};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;

/// The table's window size in microseconds; raises 55000 when it is not watched.
pub(crate) fn must_be_watched(relid: Oid) -> i64 {
    match cache::ruleset_for(relid).watch.as_ref() {
        Some(watch) => watch.window_usecs,
        None => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("{} is not watched", qualified_name(relid)),
            None,
            Some("Call vigil.watch first.".into()),
        ),
    }
}

/// Sets the baseline to the windows starting in [from_time, to_time); both NULL clears it (the
/// trailing history is used again). Returns the number of windows with statistics in it.
#[pg_extern(name = "_set_baseline")]
#[search_path(pg_catalog, pg_temp)]
fn set_baseline(tbl: Option<Oid>, from_time: Option<TimestampWithTimeZone>, to_time: Option<TimestampWithTimeZone>) -> i64 {
    crate::catalog::require_writable("set a baseline");
    let relid = required(tbl, "tbl");
    check_table(relid);
    require_owner(relid);
    must_be_watched(relid);
    match (from_time, to_time) {
        (Some(f), Some(t)) if f >= t => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "the baseline must end after it starts (from_time < to_time)",
            None,
            None,
        ),
        (Some(_), None) | (None, Some(_)) => raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "give both ends of the baseline, or neither to clear it",
            None,
            None,
        ),
        _ => {}
    }
    crate::remote::contract_changed(relid);
    crate::trigger::profile::write_unwritten(); // the windows counted include this transaction's
    // An evaluation under way would write memos scored against the old baseline: wait for it.
    crate::catalog::advisory_xact_lock(EVALUATE_LOCK_CLASS, relid, true);
    as_extension_owner(|| {
        Spi::get_one_with_args::<i64>(
            "WITH s AS (UPDATE vigil.watch_def SET baseline_from = $2, baseline_to = $3 WHERE relid = $1 RETURNING epoch),
                  forget AS (DELETE FROM vigil.window_memo WHERE relid = $1 RETURNING 1) -- scored against another reference
             SELECT count(DISTINCT d.window_start) FROM vigil.profile_delta d, s
              WHERE d.relid = $1 AND d.epoch = s.epoch AND d.window_start >= $2 AND d.window_start < $3",
            &[relid.into(), from_time.into(), to_time.into()],
        )
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot set the baseline: {e}"), None, None))
    .unwrap_or(0)
}

/// Marks the window holding `window_start` as valid or not; invalid windows stop counting as
/// history and baseline. Returns the window's start.
#[pg_extern(name = "_mark_window")]
#[search_path(pg_catalog, pg_temp)]
fn mark_window(tbl: Option<Oid>, window_start: Option<TimestampWithTimeZone>, valid: Option<bool>) -> TimestampWithTimeZone {
    crate::catalog::require_writable("mark a window");
    let relid = required(tbl, "tbl");
    let at = required(window_start, "window_start");
    let valid = required(valid, "valid");
    check_table(relid);
    require_owner(relid);
    let watch_window = must_be_watched(relid);
    let start = timestamptz(window::window_start(i64::from(at), watch_window));
    crate::remote::contract_changed(relid);
    as_extension_owner(|| {
        Spi::run_with_args(
            "INSERT INTO vigil.window_mark (relid, window_start, valid) VALUES ($1, $2, $3)
             ON CONFLICT (relid, window_start) DO UPDATE SET valid = excluded.valid, marked_at = now()",
            &[relid.into(), start.into(), valid.into()],
        )
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot mark the window: {e}"), None, None));
    start
}

#[pg_extern(name = "_drift")]
#[search_path(pg_catalog, pg_temp)]
fn drift(tbl: Oid) -> TableIterator<'static, (
    name!(attnum, i16),
    name!(window_start, TimestampWithTimeZone),
    name!(compared_to, String),
    name!(valid, bool),
    name!(psi, Option<f64>),
    name!(js_distance, Option<f64>),
    name!(ks_statistic, Option<f64>),
    name!(wasserstein_norm, Option<f64>),
    name!(linf, Option<f64>),
    name!(chi2_pvalue, Option<f64>),
    name!(null_fraction_delta, Option<f64>),
    name!(new_category_fraction, Option<f64>),
    name!(score, Option<f64>),
)> {
    require_privilege(tbl, pg_sys::ACL_SELECT as u64, "reading its drift");
    let names = column_names(tbl);
    let mut rows = Vec::new();
    for window in score_table(tbl, true, None) {
        for (attnum, compared_to, report) in window.drift {
            let score = names.get(&attnum).and_then(|n| window.score.columns.iter().find(|c| &c.column == n)).map(|c| c.score);
            rows.push((
                attnum,
                timestamptz(window.start),
                compared_to.to_string(),
                window.valid,
                report.psi,
                report.js_distance,
                report.ks_statistic,
                report.wasserstein_norm,
                report.linf,
                report.chi2_pvalue,
                report.null_fraction_delta,
                report.new_category_fraction,
                score,
            ));
        }
    }
    TableIterator::new(rows)
}


/// What each window of `tbl` is scored on (drift::score): per column its statistics, with the
/// column's spread. For explaining a score, and for tuning scoring offline (bench/alerts).
#[pg_extern(name = "_window_observations")]
#[search_path(pg_catalog, pg_temp)]
fn window_observations(tbl: Oid) -> TableIterator<'static, (
    name!(window_start, TimestampWithTimeZone),
    name!(valid, bool),
    name!(column_name, String),
    name!(spread, Option<f64>),
    name!(statistic, String),
    name!(value, f64),
)> {
    crate::catalog::require_privilege(tbl, pg_sys::ACL_SELECT as u64, "reading its window statistics");
    let names = column_names(tbl);
    let compared = table_drift(tbl);
    let mut rows = Vec::new();
    for window in &compared {
        let observed = observations(window, &names);
        for column in observed.columns {
            for o in column.observations {
                rows.push((timestamptz(window.start), window.valid, column.column.clone(), column.spread, o.statistic.to_string(), o.value));
            }
        }
    }
    TableIterator::new(rows)
}
