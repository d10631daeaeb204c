//! What each window of a watched table is compared with: its settings (baseline, windows
//! marked invalid, acknowledged alerts), the reference (the baseline, or the trailing history
//! of valid windows), and each window's drift from it per column.

use crate::catalog::as_extension_owner;
use crate::drift::compare::{self, DriftReport};
use crate::error::raise;
use crate::profile::{merge_into, ColumnProfile};
use crate::profile::relations::Relations;
use crate::stats::{by_window, merged_statistics, ByWindow};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use std::collections::{BTreeMap, HashSet};

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
    /// How its paired columns were ordered row by row, and its columns' lone NULLs
    /// (profile::relations).
    pub relations: Option<Relations>,
}

impl WindowDrift {
    /// Per column: (attnum, what it was compared with, its drift).
    pub fn drift(&self) -> Vec<(i16, &'static str, DriftReport)> {
        self.columns.iter().map(|(attnum, _, report, compared_to)| (*attnum, *compared_to, report.clone())).collect()
    }
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
    let merged = merged_statistics(tbl, None, true);
    let windows = by_window(merged.profiles);
    let mut reference = Reference::initial(&settings, &windows);
    compare_windows(windows, merged.relations, &settings, &mut reference, true, None).0
}

/// Compares `windows` (in time order) with `reference`, which grows with each valid window
/// unless it is a baseline. Without `distances`, the metrics that need a pass over both
/// distributions (KS, Wasserstein) are left out. Returns the windows and, when
/// `snapshot_after` is given, a copy of the reference as the first window after that time
/// would see it.
pub(crate) fn compare_windows(
    windows: ByWindow,
    mut relations: BTreeMap<i64, Relations>,
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
        compared_windows.push(WindowDrift { start, valid, rows, columns: compared, relations: relations.remove(&start) });
    }
    (compared_windows, snapshot)
}
