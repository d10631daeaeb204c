//! Windows without rows, and rows that come late: what a table's own history of writes expects.
//! A load that never runs writes nothing, so nothing else would notice it. Pure Rust.

// The cycles, how many of them back, and the recent windows are scoring's (drift::score).
use super::score::{CYCLES, DAY, HISTORY_WINDOWS, SEASON_CYCLES};

/// Consecutive empty same-phase windows after which empty is the new normal there.
const LASTING_CHANGE: usize = 2;
/// Live windows (see `learn_arrival`) needed before their lags are trusted.
const MIN_LIVE_WINDOWS: usize = 3;
/// The grace before an empty window counts as missing when too little is known of arrivals.
pub const DEFAULT_GRACE: i64 = 3_600_000_000;
/// How much later than the usual latest arrival (its 90th percentile) rows may come before
/// their window is missing.
const GRACE_FACTOR: f64 = 1.5;

/// Whether rows are expected in the window starting at `start`, judged by the windows before it
/// from the first that had rows (`with_rows`: window starts, ascending). By the same phase of
/// the weekly cycle, else of the daily one (windows shorter than a day), in the last
/// SEASON_CYCLES cycles: expected unless most of those windows were empty (a table that
/// never writes on Sundays expects nothing on Sundays), or the last LASTING_CHANGE of them were
/// (a new schedule is the new normal on its third occurrence, as a lasting change is in
/// scoring). Until a cycle has come round once, nothing is expected; windows that no cycle
/// divides go by the most recent windows, the same way.
pub fn rows_expected(with_rows: &[i64], window: i64, start: i64) -> bool {
    let Some(&first) = with_rows.first() else { return false };
    if start <= first || window <= 0 {
        return false;
    }
    let had_rows = |s: i64| with_rows.binary_search(&s).is_ok();
    // Ties count as expected: a load missed before does not excuse the next one. `seen` is
    // newest first.
    let mostly_rows = |seen: &[bool]| {
        let changed = seen.len() >= LASTING_CHANGE && seen[..LASTING_CHANGE].iter().all(|&b| !b);
        !changed && 2 * seen.iter().filter(|&&b| b).count() >= seen.len()
    };
    let mut cyclic = false;
    for cycle in CYCLES {
        if cycle % window != 0 || cycle / window < 2 {
            continue;
        }
        cyclic = true;
        let same: Vec<bool> = (1..=SEASON_CYCLES).map(|k| start - k * cycle).take_while(|&s| s >= first).map(had_rows).collect();
        if !same.is_empty() {
            return mostly_rows(&same);
        }
    }
    if cyclic {
        return false; // learning: this phase has not come round yet
    }
    let recent: Vec<bool> = (1..=HISTORY_WINDOWS as i64).map(|k| start - k * window).take_while(|&s| s >= first).map(had_rows).collect();
    mostly_rows(&recent)
}

/// When a table's rows usually arrive, relative to the end of their window (microseconds;
/// negative when rows stream in while the window is open).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    /// The median lag: an empty window is late after it.
    pub usual_lag: i64,
    /// An empty window is missing this long after its end.
    pub grace: i64,
    /// The usual time between the first writes of consecutive windows.
    pub usual_interval: i64,
}

/// Learns when rows arrive from the first write into each window (`first_writes`: window start
/// and first write, ascending by start). Only live windows count: one first written more than a
/// day (plus a window) after it ended was a load of history. None until MIN_LIVE_WINDOWS are.
pub fn learn_arrival(first_writes: &[(i64, i64)], window: i64) -> Option<Arrival> {
    let live: Vec<(i64, i64)> = first_writes
        .iter()
        .rev()
        .take(HISTORY_WINDOWS)
        .filter(|&&(start, first)| first - (start + window) <= window + DAY)
        .copied()
        .collect();
    if live.len() < MIN_LIVE_WINDOWS {
        return None;
    }
    let mut lags: Vec<f64> = live.iter().map(|&(start, first)| (first - (start + window)) as f64).collect();
    lags.sort_by(f64::total_cmp);
    let mut intervals: Vec<f64> = live.windows(2).map(|w| (w[0].1 - w[1].1) as f64).filter(|&d| d > 0.0).collect();
    intervals.sort_by(f64::total_cmp);
    let usual_interval = if intervals.is_empty() { window } else { super::quantile_sorted(&intervals, 0.5) as i64 };
    Some(Arrival {
        usual_lag: super::quantile_sorted(&lags, 0.5) as i64,
        grace: (super::quantile_sorted(&lags, 0.9).max(0.0) * GRACE_FACTOR) as i64,
        usual_interval,
    })
}

/// An ended window without rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// Rows were expected and the grace has passed: the load did not come.
    Missing,
    /// Rows were expected and are later than usual, still within the grace.
    Late,
    /// Rows were expected, but they usually arrive later than now.
    Pending,
    /// The table's history expects no rows here.
    Empty,
}

impl Gap {
    /// As vigil.window_status shows it: a window without rows is never 'ok'.
    pub fn status(self) -> &'static str {
        match self {
            Gap::Missing => "alert",
            Gap::Late => "late",
            Gap::Pending => "pending",
            Gap::Empty => "empty",
        }
    }
}

/// The windows without rows from the first window with rows to the last that ended by `now`,
/// each judged: `with_rows` are the window starts with rows (ascending), `grace` how long after
/// its end an expected window is missing, `usual_lag` after how long it is late.
pub fn gaps(with_rows: &[i64], window: i64, now: i64, usual_lag: i64, grace: i64) -> Vec<(i64, Gap)> {
    let Some(&first) = with_rows.first() else { return Vec::new() };
    if window <= 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut start = first + window;
    while start + window <= now {
        if with_rows.binary_search(&start).is_err() {
            let end = start + window;
            let gap = if !rows_expected(with_rows, window, start) {
                Gap::Empty
            } else if now > end + grace {
                Gap::Missing
            } else if now > end + usual_lag.max(0) {
                Gap::Late
            } else {
                Gap::Pending
            };
            out.push((start, gap));
        }
        start += window;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;

    /// Daily windows from 2000-01-03 (a Monday) for `weeks`, rows on the weekdays `on` (0 Monday).
    fn weekdays(weeks: i64, on: &[i64]) -> Vec<i64> {
        let monday = 2 * DAY;
        (0..weeks * 7).filter(|d| on.contains(&(d % 7))).map(|d| monday + d * DAY).collect()
    }

    #[test]
    fn a_table_that_never_writes_on_weekends_expects_nothing_there() {
        let rows = weekdays(6, &[0, 1, 2, 3, 4]);
        let monday = 2 * DAY;
        let next_saturday = monday + 6 * 7 * DAY + 5 * DAY;
        assert!(!rows_expected(&rows, DAY, next_saturday));
        assert!(rows_expected(&rows, DAY, monday + 6 * 7 * DAY + 2 * DAY)); // a Wednesday
        let now = monday + 6 * 7 * DAY + 7 * DAY + HOUR; // the next Monday 01:00
        let found = gaps(&rows, DAY, now, 0, 2 * HOUR);
        // Every weekend is empty as expected (the first while learning); the seventh week's
        // weekdays are missing.
        assert_eq!(found.iter().filter(|g| g.1 == Gap::Empty).count(), 14);
        let missing: Vec<i64> = found.iter().filter(|g| g.1 == Gap::Missing).map(|g| (g.0 - monday) / DAY).collect();
        assert_eq!(missing, vec![42, 43, 44, 45, 46]);
    }

    #[test]
    fn an_expected_window_is_pending_then_late_then_missing() {
        // Nine days of daily rows, then a day without (its weekday had rows a week before).
        let rows: Vec<i64> = (0..9).map(|d| d * DAY).collect();
        assert!(rows_expected(&rows, DAY, 9 * DAY));
        let at = |now: i64| gaps(&rows, DAY, now, HOUR, 2 * HOUR);
        assert_eq!(at(10 * DAY + 30 * 60_000_000), vec![(9 * DAY, Gap::Pending)]);
        assert_eq!(at(10 * DAY + 90 * 60_000_000), vec![(9 * DAY, Gap::Late)]);
        assert_eq!(at(10 * DAY + 3 * HOUR), vec![(9 * DAY, Gap::Missing)]);
        // Nothing before the first window with rows, nothing not ended.
        assert!(gaps(&rows, DAY, 9 * DAY + 23 * HOUR, 0, 0).is_empty());
        assert!(gaps(&[], DAY, 10 * DAY, 0, 0).is_empty());
        // In the first week a weekday has not come round yet: nothing is expected.
        assert_eq!(gaps(&rows[..4], DAY, 5 * DAY + 3 * HOUR, HOUR, 2 * HOUR), vec![(4 * DAY, Gap::Empty)]);
        // Weekly windows follow no cycle: the recent ones decide.
        let weekly: Vec<i64> = (0..5).map(|w| w * 7 * DAY).collect();
        assert!(rows_expected(&weekly, 7 * DAY, 5 * 7 * DAY));
    }

    #[test]
    fn a_new_schedule_is_the_new_normal_on_its_third_occurrence() {
        // Seven weeks every day, then closed on Mondays: the first two Mondays are missing, the
        // third is not expected any more.
        let monday = 2 * DAY;
        let rows: Vec<i64> = (0..10 * 7).filter(|d| d < &49 || d % 7 != 0).map(|d| monday + d * DAY).collect();
        let judged: Vec<(i64, Gap)> = gaps(&rows, DAY, monday + 70 * DAY, 0, HOUR).into_iter().map(|(s, g)| ((s - monday) / DAY, g)).collect();
        assert_eq!(judged, vec![(49, Gap::Missing), (56, Gap::Missing), (63, Gap::Empty)]);
        // A table that stops writing: missing for two cycles, then its silence is the norm.
        let stopped: Vec<i64> = (0..28).map(|d| monday + d * DAY).collect();
        let judged = gaps(&stopped, DAY, monday + 50 * DAY, 0, HOUR);
        assert_eq!(judged.iter().filter(|g| g.1 == Gap::Missing).count(), 14);
        assert!(judged.iter().skip(14).all(|g| g.1 == Gap::Empty));
    }

    #[test]
    fn hourly_windows_learn_quiet_nights_by_the_daily_cycle() {
        // Rows from 08:00 to 18:00 for five days.
        let rows: Vec<i64> = (0..5).flat_map(|d| (8..18).map(move |h| d * DAY + h * HOUR)).collect();
        assert!(!rows_expected(&rows, HOUR, 5 * DAY + 3 * HOUR)); // 03:00: quiet by habit
        assert!(rows_expected(&rows, HOUR, 5 * DAY + 10 * HOUR)); // 10:00: expected
    }

    #[test]
    fn arrivals_are_learned_from_live_windows_only() {
        // A nightly load two to three hours after each day ends, after a year of history
        // loaded at once (first written long after those windows ended).
        let loaded_at = 400 * DAY;
        let mut first_writes: Vec<(i64, i64)> = (0..365).map(|d| (d * DAY, loaded_at)).collect();
        first_writes.extend((365..395).map(|d| (d * DAY, (d + 1) * DAY + 2 * HOUR + (d % 3) * 30 * 60_000_000)));
        let arrival = learn_arrival(&first_writes, DAY).unwrap();
        assert!((DAY - HOUR..=DAY + HOUR).contains(&arrival.usual_interval), "{arrival:?}");
        assert!((2 * HOUR..=3 * HOUR).contains(&arrival.usual_lag), "{arrival:?}");
        assert!((3 * HOUR..=5 * HOUR).contains(&arrival.grace), "{arrival:?}");
        // History alone teaches nothing.
        assert_eq!(learn_arrival(&first_writes[..365], DAY), None);
        // Rows streaming in while their window is open: no grace after its end.
        let streaming: Vec<(i64, i64)> = (0..30).map(|h| (h * HOUR, h * HOUR + 60_000_000)).collect();
        let arrival = learn_arrival(&streaming, HOUR).unwrap();
        assert_eq!((arrival.grace, arrival.usual_interval), (0, HOUR));
        assert!(arrival.usual_lag < 0);
    }
}
