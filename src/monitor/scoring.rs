//! Scoring the windows of a watched table (drift::score) for vigil.window_status, vigil.drift
//! and alerts. Windows already scored keep a memo (drift::memo, table vigil.window_memo) that
//! holds while their row counts and validity are unchanged: scoring a new window then reads a
//! year of memos and the reference kept with the newest, instead of merging and comparing a
//! year of profiles again.

use super::reference::{compare_windows, settings, Reference, WindowDrift};
use crate::stats::{by_window, merged_statistics, window_rows, ByWindow};
use crate::catalog::{query_as_owner, run_as_owner, timestamptz};
use crate::drift::compare::DriftReport;
use crate::drift::memo::{self, Memo};
use crate::drift::score::{judge, raw_scores_acknowledged, score_windows, ColumnObservations, ColumnScore, Observation, WindowObservations, WindowScore};
use crate::error::raise;
use crate::profile::window;
use crate::profile::{ColumnProfile, ProfileKind};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// The pseudo-column that carries a window's row count (volume) among the scored columns.
pub const ROW_COUNT: &str = "(row count)";
/// The pseudo-column of where the rows' times fall in their window (window::TIME_IN_WINDOW_ATTNUM).
pub const TIME_IN_WINDOW: &str = "(time in window)";
/// The row count's attnum in memos (no column has a negative one there).
const ROW_COUNT_ATTNUM: i16 = -1;

/// The pseudo-column of a pair of columns' row order (profile::relations): "a < b", its
/// statistic `order` the share of rows where a is below b.
fn pair_name(a: &str, b: &str) -> String {
    format!("{a} < {b}")
}

/// A pair's attnum in memos: -(256 a + b), below the row count's; None outside the attnums
/// that fit (the first numeric columns of tables of up to 127 columns), which are not memoized.
fn pair_attnum(a: i16, b: i16) -> Option<i16> {
    (0 < a && a < 128 && 0 < b && b < 256).then(|| -(a * 256 + b))
}

fn pair_of(attnum: i16) -> Option<(i16, i16)> {
    let v = -(attnum as i32);
    (v >= 257).then_some(((v / 256) as i16, (v % 256) as i16))
}

/// The watched table's columns by the keys their statistics are stored under, plus the times'
/// pseudo-column.
pub(crate) fn column_names(tbl: Oid) -> HashMap<i16, String> {
    Spi::connect(|client| {
        client
            .select(
                crate::catalog::for_catalog(
                    "SELECT k.key, k.name FROM vigil.watch_def w, unnest(w.attnums, w.columns) AS k(key, name) WHERE w.relid = $1",
                    "SELECT attnum, attname::text FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
                ),
                None,
                &[tbl.into()],
            )?
            .map(|r| Ok((r.get::<i16>(1)?.unwrap_or(0), r.get::<String>(2)?.unwrap_or_default())))
            .chain([Ok((window::TIME_IN_WINDOW_ATTNUM, TIME_IN_WINDOW.to_string()))])
            .collect::<Result<HashMap<_, _>, pgrx::spi::Error>>()
    })
    .unwrap_or_default()
}

/// Categorical columns with at most this many distinct values in a window are scored on how
/// many appeared (counted exactly: up to 256 distinct values are kept as hashes).
const FEW_CATEGORIES: f64 = 100.0;

/// What is scored of each window: per column its coverage, location, spread, shape and
/// categories and its drift from the reference, plus the window's row count.
pub(crate) fn observations(window: &WindowDrift, names: &HashMap<i16, String>) -> WindowObservations {
    let observation = Observation::of;
    let rows = window.rows;
    let mut columns = vec![ColumnObservations {
        column: ROW_COUNT.into(),
        spread: None,
        observations: vec![observation("row_count", (rows.max(1) as f64).ln())],
    }];
    // Rows per distinct time: a load written twice doubles it, however much the volume
    // varies by nature (hourly readings, orders of a busy day), and whatever the columns hold.
    if let Some((_, times, _, _)) = window.columns.iter().find(|c| c.0 == window::TIME_IN_WINDOW_ATTNUM) {
        let distinct = times.distinct_estimate();
        if times.rows > times.nulls && distinct >= 1.0 {
            columns[0].observations.push(observation("rows_per_time", ((times.rows - times.nulls) as f64 / distinct).max(1.0).ln()));
        }
    }
    for (attnum, profile, drift, _) in &window.columns {
        let Some(name) = names.get(attnum) else { continue };
        let mut seen = Vec::new();
        if let Some(f) = profile.null_fraction() {
            seen.push(observation("null_fraction", f));
        }
        let lone_nulls = window.relations.as_ref().and_then(|r| r.lone_nulls.as_ref());
        if let (Some(lone), true) = (lone_nulls, profile.rows > 0 && *attnum != window::TIME_IN_WINDOW_ATTNUM) {
            seen.push(observation("lone_null_fraction", lone.of(*attnum) as f64 / profile.rows as f64));
        }
        let non_null = profile.rows - profile.nulls;
        // Where the rows' times fall is a share of the window, not a column's values: its
        // locations are judged as shares (`time_*`), and its distinct times as rows_per_time.
        let times = *attnum == window::TIME_IN_WINDOW_ATTNUM;
        if non_null > 0 && !times {
            // As a log count: a frozen column (one value) stands out however many rows there are.
            let distinct = profile.distinct_estimate().max(1.0);
            seen.push(observation("distinct_values", distinct.ln()));
            seen.push(observation("unique_fraction", (distinct / non_null as f64).min(1.0)));
        }
        if let Some(js) = drift.js_distance {
            seen.push(observation("js_distance", js));
        }
        let mut spread = None;
        match profile.kind {
            ProfileKind::Numeric => {
                let m = &profile.moments();
                if profile.rows > 0 {
                    seen.push(observation("nonfinite_fraction", (profile.nan + profile.infinite) as f64 / profile.rows as f64));
                }
                if let Some(mean) = m.mean() {
                    seen.push(observation(if times { "time_mean" } else { "mean" }, mean));
                }
                if let Some(sd) = m.stddev_samp() {
                    seen.push(observation("stddev", crate::drift::score::log_spread(sd, m.mean)));
                    spread = Some(sd);
                }
                if let Some(d) = profile.distribution() {
                    let [p05, p50, p95] = if times { ["time_p05", "time_p50", "time_p95"] } else { ["p05", "p50", "p95"] };
                    seen.push(observation(p05, d.quantile(0.05)));
                    seen.push(observation(p50, d.quantile(0.5)));
                    seen.push(observation(p95, d.quantile(0.95)));
                    if !times {
                        seen.push(observation("decimals", d.resolution())); // times are not written by hand
                        seen.push(observation("top_share", d.top_share()));
                        if let Some(new) = drift.new_value_fraction {
                            seen.push(observation("new_value_fraction", new));
                        }
                    }
                }
            }
            ProfileKind::Categorical => {
                if non_null > 0 {
                    let top = profile.top_values(1).first().map_or(0, |t| t.1);
                    seen.push(observation("top_share", top as f64 / non_null as f64));
                    // A column of few categories: how many appeared (one source of 51 missing).
                    let categories = profile.distinct_estimate().round();
                    if categories <= FEW_CATEGORIES {
                        seen.push(observation("categories", categories));
                    }
                }
                if let Some(new) = drift.new_category_fraction {
                    seen.push(observation("new_category_fraction", new));
                }
                if let Some(linf) = drift.linf {
                    seen.push(observation("category_linf", linf));
                }
            }
        }
        columns.push(ColumnObservations { column: name.clone(), spread, observations: seen });
    }
    // Pairs of columns by their row order: swapped, or one in other units, it turns over.
    for (a, b, order) in window.relations.iter().flat_map(|r| &r.orders.pairs) {
        let (Some(a), Some(b), Some(share)) = (names.get(a), names.get(b), order.share_below()) else { continue };
        columns.push(ColumnObservations { column: pair_name(a, b), spread: None, observations: vec![observation("order", share)] });
    }
    // A distributed table's data nodes, by their share of the window's rows.
    for (server, node_rows) in window.relations.iter().flat_map(|r| &r.sources) {
        if rows > 0 {
            columns.push(ColumnObservations {
                column: format!("(node {server})"),
                spread: None,
                observations: vec![observation("node_share", *node_rows as f64 / rows as f64)],
            });
        }
    }
    // ... and each node's columns by how far they lie from the other nodes' (one source broken).
    for (server, attnum, js) in window.relations.iter().flat_map(|r| &r.divergence) {
        if let Some(name) = names.get(attnum) {
            columns.push(ColumnObservations {
                column: format!("(node {server}) {name}"),
                spread: None,
                observations: vec![observation("node_js_distance", *js)],
            });
        }
    }
    WindowObservations { start: window.start, valid: window.valid, columns }
}

/// Scores of the given windows (from `table_drift`), in the same order; `names` from
/// `column_names`.
pub(crate) fn score_drift(names: &HashMap<i16, String>, windows: &[WindowDrift]) -> Vec<WindowScore> {
    let observed: Vec<WindowObservations> = windows.iter().map(|w| observations(w, names)).collect();
    score_windows(&observed)
}

/// A window of a watched table, scored.
pub(crate) struct ScoredWindow {
    pub start: i64,
    pub valid: bool,
    pub rows: i64,
    /// Per watched column: (attnum, what it was compared with, its drift).
    pub drift: Vec<(i16, &'static str, DriftReport)>,
    pub score: WindowScore,
    /// Its profiles and drift, when compared now rather than read from its memo.
    pub fresh: Option<WindowDrift>,
}

struct StoredMemo {
    start: i64,
    rows: i64,
    valid: bool,
    memo: Vec<u8>,
    reference: Option<Vec<u8>>,
}

fn stored_memos(relid: Oid, epoch: i32) -> Vec<StoredMemo> {
    query_as_owner(
        "SELECT window_start, row_count, valid, memo, reference FROM vigil.window_memo
          WHERE relid = $1 AND epoch = $2 ORDER BY window_start",
        &[pg_sys::OIDOID, pg_sys::INT4OID],
        &[relid.into(), epoch.into()],
        |rows| {
            rows.map(|r| {
                Ok(StoredMemo {
                    start: r.get::<TimestampWithTimeZone>(1)?.map(i64::from).unwrap_or(0),
                    rows: r.get::<i64>(2)?.unwrap_or(0),
                    valid: r.get::<bool>(3)?.unwrap_or(false),
                    memo: r.get::<Vec<u8>>(4)?.unwrap_or_default(),
                    reference: r.get::<Vec<u8>>(5)?,
                })
            })
            .collect()
        },
    )
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read scoring memos: {e}"), None, None))
}

/// Every window of `relid`'s current epoch, scored in time order. Windows whose memos hold are
/// read from them; the others are compared now (with KS and Wasserstein when `distances`).
/// With `remember_through`, the windows compared now that start at or before it (finished
/// ones) get memos, the newest with the reference after it; this writes, so only evaluation
/// asks for it.
pub(crate) fn score_table(relid: Oid, distances: bool, remember_through: Option<i64>) -> Vec<ScoredWindow> {
    let Some(epoch) = crate::catalog::cache::ruleset_for(relid).watch.as_ref().map(|w| w.epoch) else { return Vec::new() };
    let settings = settings(relid);
    let names = column_names(relid);
    let counts = window_rows(relid, epoch);
    let stored = stored_memos(relid, epoch);
    let name_of = |attnum: i16| match pair_of(attnum) {
        _ if attnum == ROW_COUNT_ATTNUM => Some(ROW_COUNT.to_string()),
        Some((a, b)) => Some(pair_name(names.get(&a)?, names.get(&b)?)),
        None => names.get(&attnum).cloned(),
    };

    // The memos that hold: a prefix of the windows, unchanged since, ending with a reference.
    // Against a baseline, only if the whole baseline lies in the windows they cover (a baseline
    // reaching later windows is still filling).
    let holds = |(m, c): (&StoredMemo, &(i64, i64))| m.start == c.0 && m.rows == c.1 && m.valid != settings.invalid.contains(&m.start);
    let matching = stored.iter().zip(&counts).take_while(|&pair| holds(pair)).count();
    let baseline_covered = settings.baseline.is_none_or(|(_, to)| counts.get(matching).is_none_or(|&(first_fresh, _)| to <= first_fresh));
    let resumed = (matching == stored.len() && matching > 0 && baseline_covered)
        .then(|| {
            let memos: Vec<Memo> = stored.iter().map(|m| memo::decode(&m.memo, m.start, m.valid, &name_of)).collect::<Result<_, _>>().ok()?;
            let last = window::decode(stored[matching - 1].reference.as_deref()?).ok()?;
            Some((memos, Reference { profiles: last.into_iter().collect(), baseline: settings.baseline.is_some() }))
        })
        .flatten();
    let (memos, windows, relations, mut reference) = match resumed {
        Some((memos, reference)) => {
            let (windows, relations) = match counts.get(memos.len()) {
                Some(&(first, _)) => {
                    let merged = merged_statistics(relid, Some(first), true);
                    (by_window(merged.profiles), merged.relations)
                }
                None => (ByWindow::new(), BTreeMap::new()),
            };
            (memos, windows, relations, reference)
        }
        None => {
            let merged = merged_statistics(relid, None, true);
            let windows = by_window(merged.profiles);
            let reference = Reference::initial(&settings, &windows);
            (Vec::new(), windows, merged.relations, reference)
        }
    };
    let from_memos = memos.len();
    let (fresh, snapshot) =
        compare_windows(windows, relations, &settings, &mut reference, distances || remember_through.is_some(), remember_through);

    // The memos taken apart (moved, not copied: a year of them is most of a read).
    let mut observed: Vec<WindowObservations> = Vec::with_capacity(memos.len() + fresh.len());
    let mut raws: Vec<Vec<ColumnScore>> = Vec::with_capacity(memos.len() + fresh.len());
    let mut memo_drift = Vec::with_capacity(memos.len());
    for m in memos {
        memo_drift.push((m.observations.start, m.observations.valid, m.drift));
        observed.push(m.observations);
        raws.push(m.raws);
    }
    observed.extend(fresh.iter().map(|w| observations(w, &names)));
    raws.extend(raw_scores_acknowledged(&observed, from_memos, &settings.acknowledged));
    let scores = judge(&observed, &raws);

    let rows_of: HashMap<i64, i64> = counts.into_iter().collect();
    if let Some(through) = remember_through {
        remember(relid, epoch, &fresh, &observed[from_memos..], &raws[from_memos..], &rows_of, snapshot, through, &names);
    }

    let mut fresh = fresh.into_iter();
    memo_drift
        .into_iter()
        .map(|(start, valid, drift)| (start, valid, drift, None))
        .chain(std::iter::from_fn(|| {
            let w = fresh.next()?;
            Some((w.start, w.valid, w.drift(), Some(w)))
        }))
        .zip(scores)
        .map(|((start, valid, drift, fresh), score)| ScoredWindow {
            start,
            valid,
            rows: rows_of.get(&start).copied().unwrap_or(0),
            drift,
            score,
            fresh,
        })
        .collect()
}

/// Writes the memos of the windows compared now that start at or before `through`, replacing
/// any from the first of them on; the newest keeps `snapshot`, the reference after it.
#[allow(clippy::too_many_arguments)]
fn remember(
    relid: Oid,
    epoch: i32,
    fresh: &[WindowDrift],
    observed: &[WindowObservations],
    raws: &[Vec<ColumnScore>],
    rows_of: &HashMap<i64, i64>,
    snapshot: Option<BTreeMap<i16, ColumnProfile>>,
    through: i64,
    names: &HashMap<i16, String>,
) {
    // Such a snapshot may not see memos another evaluation wrote since: it would write over them
    // and fail. That evaluation leaves memos alone.
    if crate::catalog::uses_transaction_snapshot() {
        return;
    }
    let Some(first) = fresh.first() else { return };
    let finished: Vec<usize> = (0..fresh.len()).filter(|&i| fresh[i].start <= through).collect();
    let Some(&newest) = finished.last() else { return };
    let failed = |e: pgrx::spi::Error| -> ! {
        raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot record scoring memos: {e}"), None, None)
    };
    run_as_owner(
        "WITH stale AS (DELETE FROM vigil.window_memo WHERE relid = $1 AND (epoch <> $2 OR window_start >= $3))
         UPDATE vigil.window_memo SET reference = NULL
          WHERE relid = $1 AND epoch = $2 AND window_start < $3 AND reference IS NOT NULL",
        &[pg_sys::OIDOID, pg_sys::INT4OID, pg_sys::TIMESTAMPTZOID],
        &[relid.into(), epoch.into(), timestamptz(first.start).into()],
    )
    .unwrap_or_else(|e| failed(e));
    let pairs: HashMap<String, i16> = fresh
        .iter()
        .flat_map(|w| w.relations.iter().flat_map(|r| &r.orders.pairs))
        .filter_map(|&(a, b, _)| Some((pair_name(names.get(&a)?, names.get(&b)?), pair_attnum(a, b)?)))
        .collect();
    let attnum_of: HashMap<&str, i16> = names
        .iter()
        .map(|(a, n)| (n.as_str(), *a))
        .chain([(ROW_COUNT, ROW_COUNT_ATTNUM)])
        .chain(pairs.iter().map(|(n, a)| (n.as_str(), *a)))
        .collect();
    let reference = snapshot.map(|profiles| {
        let columns: Vec<(i16, &ColumnProfile)> = profiles.iter().map(|(a, p)| (*a, p)).collect();
        window::encode(&columns, None, None, None)
    });
    for &i in &finished {
        let w = &fresh[i];
        let bytes = memo::encode(&w.drift(), &observed[i], &raws[i], &|name| attnum_of.get(name).copied());
        run_as_owner(
            "INSERT INTO vigil.window_memo (relid, epoch, window_start, row_count, valid, memo, reference)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[pg_sys::OIDOID, pg_sys::INT4OID, pg_sys::TIMESTAMPTZOID, pg_sys::INT8OID, pg_sys::BOOLOID, pg_sys::BYTEAOID, pg_sys::BYTEAOID],
            &[
                relid.into(),
                epoch.into(),
                timestamptz(w.start).into(),
                rows_of.get(&w.start).copied().unwrap_or(0).into(),
                w.valid.into(),
                bytes.into(),
                if i == newest { reference.clone() } else { None }.into(),
            ],
        )
        .unwrap_or_else(|e| failed(e));
    }
}
