//! vigil.drift: each window of a watched table against its baseline (vigil.set_baseline) or,
//! without one, against the table's own trailing history; vigil.mark_window takes a window known
//! to be bad out of both.

use super::declare::{check_table, required};
use super::watch::merged_profiles;
use crate::catalog::{as_extension_owner, qualified_name, require_owner, require_privilege};
use crate::drift::compare::compare;
use crate::error::raise;
use crate::profile::{merge_into, ColumnProfile};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use std::collections::{BTreeMap, HashSet};

fn must_be_watched(relid: Oid) {
    let watched = as_extension_owner(|| {
        Spi::get_one_with_args::<bool>("SELECT EXISTS (SELECT 1 FROM vigil.watch_def WHERE relid = $1)", &[relid.into()])
    })
    .ok()
    .flatten()
    .unwrap_or(false);
    if !watched {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("{} is not watched", qualified_name(relid)),
            None,
            Some("Call vigil.watch first.".into()),
        );
    }
}

/// Sets the baseline to the windows starting in [from_time, to_time); both NULL clears it (the
/// trailing history is used again). Returns the number of windows with statistics in it.
#[pg_extern(name = "_set_baseline")]
#[search_path(pg_catalog, pg_temp)]
fn set_baseline(tbl: Option<Oid>, from_time: Option<TimestampWithTimeZone>, to_time: Option<TimestampWithTimeZone>) -> i64 {
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
    as_extension_owner(|| {
        Spi::get_one_with_args::<i64>(
            "WITH s AS (UPDATE vigil.watch_def SET baseline_from = $2, baseline_to = $3 WHERE relid = $1 RETURNING epoch)
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
    let relid = required(tbl, "tbl");
    let at = required(window_start, "window_start");
    let valid = required(valid, "valid");
    check_table(relid);
    require_owner(relid);
    must_be_watched(relid);
    let start = as_extension_owner(|| {
        Spi::get_one_with_args::<TimestampWithTimeZone>(
            "WITH w AS (
                SELECT timestamptz '2000-01-01 00:00:00+00'
                       + vigil._window_start_us((extract(epoch FROM $2 - timestamptz '2000-01-01 00:00:00+00') * 1000000)::bigint,
                                                (extract(epoch FROM window_size) * 1000000)::bigint)
                       * interval '1 microsecond' AS s
                  FROM vigil.watch_def WHERE relid = $1)
             INSERT INTO vigil.window_mark (relid, window_start, valid)
             SELECT $1, s, $3 FROM w
             ON CONFLICT (relid, window_start) DO UPDATE SET valid = excluded.valid, marked_at = now()
             RETURNING window_start",
            &[relid.into(), at.into(), valid.into()],
        )
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot mark the window: {e}"), None, None));
    start.unwrap_or(at)
}

/// Window alignment, shared with the write path (src/profile/window.rs).
#[pg_extern(immutable, parallel_safe, name = "_window_start_us")]
#[search_path(pg_catalog, pg_temp)]
fn window_start_us(usecs: i64, size: i64) -> i64 {
    if size <= 0 {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "window size must be positive", None, None);
    }
    crate::profile::window::window_start(usecs, size)
}

struct Settings {
    baseline: Option<(i64, i64)>,
    invalid: HashSet<i64>,
}

fn settings(relid: Oid) -> Settings {
    as_extension_owner(|| {
        Spi::connect(|client| {
            let to_us = "(extract(epoch FROM {} - timestamptz '2000-01-01 00:00:00+00') * 1000000)::bigint";
            let q = format!(
                "SELECT {}, {} FROM vigil.watch_def WHERE relid = $1",
                to_us.replace("{}", "baseline_from"),
                to_us.replace("{}", "baseline_to")
            );
            let baseline = client
                .select(&q, Some(1), &[relid.into()])?
                .next()
                .and_then(|r| Some((r.get::<i64>(1).ok()??, r.get::<i64>(2).ok()??)));
            let q = format!("SELECT {} FROM vigil.window_mark WHERE relid = $1 AND NOT valid", to_us.replace("{}", "window_start"));
            let invalid = client
                .select(&q, None, &[relid.into()])?
                .filter_map(|r| r.get::<i64>(1).ok().flatten())
                .collect();
            Ok::<_, pgrx::spi::Error>(Settings { baseline, invalid })
        })
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read drift settings: {e}"), None, None))
}

#[pg_extern(name = "_drift")]
#[search_path(pg_catalog, pg_temp)]
fn drift(tbl: Oid) -> TableIterator<'static, (
    name!(attnum, i16),
    name!(window_start_us, i64),
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
)> {
    require_privilege(tbl, pg_sys::ACL_SELECT as u64, "reading its drift");
    let settings = settings(tbl);
    // Windows in time order; the NULL-time bucket is not a window in time and has no drift.
    let mut by_window: BTreeMap<i64, Vec<(i16, ColumnProfile)>> = BTreeMap::new();
    for ((attnum, window), profile) in merged_profiles(tbl) {
        if let Some(w) = window {
            by_window.entry(w).or_default().push((attnum, profile));
        }
    }
    let mut reference: BTreeMap<i16, ColumnProfile> = BTreeMap::new();
    if let Some((from, to)) = settings.baseline {
        for (w, columns) in by_window.range(from..to) {
            if !settings.invalid.contains(w) {
                columns.iter().for_each(|(a, p)| merge_into(&mut reference, *a, p.clone()));
            }
        }
    }
    let label = if settings.baseline.is_some() { "baseline" } else { "history" };
    let mut rows = Vec::new();
    for (w, columns) in &by_window {
        let valid = !settings.invalid.contains(w);
        for (attnum, profile) in columns {
            let report = reference.get(attnum).map(|r| compare(r, profile)).unwrap_or_default();
            let compared_to = if reference.contains_key(attnum) { label } else { "none" };
            rows.push((
                *attnum,
                *w,
                compared_to.to_string(),
                valid,
                report.psi,
                report.js_distance,
                report.ks_statistic,
                report.wasserstein_norm,
                report.linf,
                report.chi2_pvalue,
                report.null_fraction_delta,
                report.new_category_fraction,
            ));
        }
        if settings.baseline.is_none() && valid {
            columns.iter().for_each(|(a, p)| merge_into(&mut reference, *a, p.clone()));
        }
    }
    TableIterator::new(rows)
}
