//! vigil.drift: each window of a watched table against its baseline (vigil.set_baseline) or,
//! without one, against the table's own trailing history; vigil.mark_window takes a window known
//! to be bad out of both.

use super::declare::{check_table, required};
use super::watch::merged_profiles;
use crate::catalog::{as_extension_owner, cache, qualified_name, require_owner, require_privilege, timestamptz};
use crate::profile::window;
use crate::drift::compare::{self, DriftReport};
use crate::error::raise;
use crate::profile::{merge_into, ColumnProfile};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use std::collections::{BTreeMap, HashSet};

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
    // An evaluation under way would write memos scored against the old baseline: wait for it.
    crate::catalog::advisory_xact_lock(super::alerts::EVALUATE_LOCK_CLASS, relid, true);
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
    let relid = required(tbl, "tbl");
    let at = required(window_start, "window_start");
    let valid = required(valid, "valid");
    check_table(relid);
    require_owner(relid);
    let watch_window = must_be_watched(relid);
    let start = timestamptz(window::window_start(i64::from(at), watch_window));
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

/// A trailing history is prepared again for comparison once it holds this many times the rows
/// it held when last prepared.
const HISTORY_REFRESH: f64 = 1.05;

pub(crate) struct Settings {
    pub baseline: Option<(i64, i64)>,
    pub invalid: HashSet<i64>,
    /// The first windows of acknowledged alerts: their shifts are normal from then on.
    pub acknowledged: HashSet<i64>,
}

pub(crate) fn settings(relid: Oid) -> Settings {
    let usecs = |r: &pgrx::spi::SpiHeapTupleData<'_>, i| r.get::<TimestampWithTimeZone>(i).ok().flatten().map(i64::from);
    as_extension_owner(|| {
        Spi::connect(|client| {
            let baseline = client
                .select("SELECT baseline_from, baseline_to FROM vigil.watch_def WHERE relid = $1", Some(1), &[relid.into()])?
                .next()
                .and_then(|r| Some((usecs(&r, 1)?, usecs(&r, 2)?)));
            let invalid = client
                .select("SELECT window_start FROM vigil.window_mark WHERE relid = $1 AND NOT valid", None, &[relid.into()])?
                .filter_map(|r| usecs(&r, 1))
                .collect();
            let acknowledged = client
                .select("SELECT window_start FROM vigil.alert WHERE relid = $1 AND acknowledged_at IS NOT NULL", None, &[relid.into()])?
                .filter_map(|r| usecs(&r, 1))
                .collect();
            Ok::<_, pgrx::spi::Error>(Settings { baseline, invalid, acknowledged })
        })
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read drift settings: {e}"), None, None))
}

/// One window of a watched table: its column profiles, each with its drift from the reference.
pub(crate) struct WindowDrift {
    pub start: i64,
    pub valid: bool,
    /// Rows written to the window (every column's profile counts them all).
    pub rows: u64,
    /// (attnum, profile, drift, what it was compared with: 'baseline', 'history' or 'none')
    pub columns: Vec<(i16, ColumnProfile, DriftReport, &'static str)>,
}

impl WindowDrift {
    /// Per column: (attnum, what it was compared with, its drift).
    pub fn drift(&self) -> Vec<(i16, &'static str, DriftReport)> {
        self.columns.iter().map(|(attnum, _, report, compared_to)| (*attnum, *compared_to, report.clone())).collect()
    }
}

/// Profiles per window, in time order (the NULL-time bucket is not a window in time).
pub(crate) type ByWindow = BTreeMap<i64, Vec<(i16, ColumnProfile)>>;

pub(crate) fn by_window(profiles: BTreeMap<(i16, Option<i64>), ColumnProfile>) -> ByWindow {
    let mut by_window = ByWindow::new();
    for ((attnum, window), profile) in profiles {
        if let Some(w) = window {
            by_window.entry(w).or_default().push((attnum, profile));
        }
    }
    by_window
}

/// What windows are compared with: the baseline's merged profiles (fixed), or the merged
/// profiles of the valid windows so far (growing as windows are compared).
pub(crate) struct Reference {
    pub profiles: BTreeMap<i16, ColumnProfile>,
    pub baseline: bool,
}

impl Reference {
    /// The baseline's profiles when there is one (from `windows`), else an empty history.
    pub fn initial(settings: &Settings, windows: &ByWindow) -> Reference {
        let mut profiles = BTreeMap::new();
        if let Some((from, to)) = settings.baseline {
            for (w, columns) in windows.range(from..to) {
                if !settings.invalid.contains(w) {
                    columns.iter().for_each(|(a, p)| merge_into(&mut profiles, *a, p.clone()));
                }
            }
        }
        Reference { profiles, baseline: settings.baseline.is_some() }
    }
}

/// Every window of `tbl`'s current epoch in time order, each column compared with the baseline
/// or the trailing history.
pub(crate) fn table_drift(tbl: Oid) -> Vec<WindowDrift> {
    let settings = settings(tbl);
    let windows = by_window(merged_profiles(tbl, None));
    let mut reference = Reference::initial(&settings, &windows);
    compare_windows(windows, &settings, &mut reference, true, None).0
}

/// Compares `windows` (in time order) with `reference`, which grows with each valid window
/// unless it is a baseline. Without `distances`, the metrics that need a pass over both
/// distributions (KS, Wasserstein) are left out. Returns the windows and, when
/// `snapshot_after` is given, a copy of the reference as the first window after that time
/// would see it.
pub(crate) fn compare_windows(
    windows: ByWindow,
    settings: &Settings,
    reference: &mut Reference,
    distances: bool,
    snapshot_after: Option<i64>,
) -> (Vec<WindowDrift>, Option<BTreeMap<i16, ColumnProfile>>) {
    let label = if reference.baseline { "baseline" } else { "history" };
    // References prepared for comparison: a fixed baseline once; a trailing history again
    // whenever it has grown by HISTORY_REFRESH since it was prepared (a year of daily windows
    // then prepares it about 120 times per column instead of 365).
    let mut prepared: BTreeMap<i16, compare::Reference> =
        reference.profiles.iter().map(|(a, p)| (*a, compare::Reference::new(p))).collect();
    let mut snapshot = snapshot_after.map(|_| reference.profiles.clone());
    let mut compared_windows = Vec::with_capacity(windows.len());
    let mut windows = windows.into_iter().peekable();
    while let Some((start, columns)) = windows.next() {
        let valid = !settings.invalid.contains(&start);
        let mut compared = Vec::with_capacity(columns.len());
        for (attnum, profile) in columns {
            if !reference.baseline {
                if let Some(history) = reference.profiles.get(&attnum) {
                    let stale = prepared.get(&attnum).is_none_or(|p| history.rows as f64 > p.rows as f64 * HISTORY_REFRESH);
                    if stale {
                        prepared.insert(attnum, compare::Reference::new(history));
                    }
                }
            }
            let report = prepared
                .get(&attnum)
                .map(|r| if distances { r.compare(&profile) } else { r.compare_binned(&profile) })
                .unwrap_or_default();
            let compared_to = if prepared.contains_key(&attnum) { label } else { "none" };
            compared.push((attnum, profile, report, compared_to));
        }
        if !reference.baseline && valid {
            compared.iter().for_each(|(a, p, _, _)| merge_into(&mut reference.profiles, *a, p.clone()));
        }
        // Copied once: after the last window at or before the snapshot time.
        if snapshot_after.is_some_and(|s| start <= s && windows.peek().is_none_or(|(next, _)| *next > s)) {
            snapshot = Some(reference.profiles.clone());
        }
        let rows = compared.iter().map(|c| c.1.rows).max().unwrap_or(0);
        compared_windows.push(WindowDrift { start, valid, rows, columns: compared });
    }
    (compared_windows, snapshot)
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
    let names = super::scoring::column_names(tbl);
    let mut rows = Vec::new();
    for window in super::scoring::score_table(tbl, true, None) {
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
