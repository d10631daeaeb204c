//! Scoring windows against the table's own history, with no threshold set by anyone.
//!
//! Each window is described by a few statistics per column (coverage, location, spread, shape,
//! categories, its drift from the trailing history) and by its row count (volume). Each
//! statistic is compared with its own recent history robustly: how many robust standard
//! deviations (1.4826 × the median absolute deviation) it lies from the history's median; a
//! The threshold comes from history as well, per statistic: that deviation is divided by a
//! fence over the deviations the same statistic showed in the preceding windows (3 × their 95th
//! percentile, at least 8), so a statistic that jumps by nature (rainfall on rainy days) needs
//! far more to alert than a steady one (the NULL fraction of the same column). A column scores as its
//! most unusual statistic. The window's score is its highest column score and it alerts above 1.
//! Columns that break in the same window are reported together, most responsible first.

use super::quantile_sorted;

/// Valid windows before a window needed to score it; until then its status is 'learning'.
pub const MIN_HISTORY: usize = 14;
/// Trailing valid windows a statistic is compared with (about four weeks of daily windows).
pub const HISTORY_WINDOWS: usize = 28;
/// Raw scores of a column in preceding windows needed to calibrate its threshold; until some
/// column has them the window is still 'learning'.
pub const MIN_CALIBRATION: usize = 7;
/// Raw scores at or below this never alert: a statistic 6 robust deviations out is unusual but
/// happens by chance among hundreds of statistics.
const SCORE_FLOOR: f64 = 6.0;
/// See `Calibration::fence`: with 16 past deviations a fence is twice as high, with 160 10%.
const THIN_CALIBRATION: f64 = 16.0;
/// Preceding valid windows whose deviations set a statistic's fence: a year of daily windows,
/// long enough to have seen the kinds of excursions the data has by nature (storms, holidays).
pub const CALIBRATION_WINDOWS: usize = 365;
/// How many times its largest usual deviation (see FENCE_QUANTILE) a statistic must reach to
/// alert.
const FENCE_FACTOR: f64 = 1.6;
/// The quantile of a statistic's past deviations its fence is a multiple of: its largest
/// excursions in normal windows (windows that alerted do not count, so past breakages do not
/// set it), short of the very largest one.
const FENCE_QUANTILE: f64 = 0.99;
/// A column counts as responsible for an alert when it scores at least this (half its fence).
const RESPONSIBLE_SCORE: f64 = 0.5;
/// Scores are capped here (a statistic that was constant and changed would be infinitely far).
const SCORE_CAP: f64 = 1000.0;
/// The smallest change in a location statistic that counts, as a share of the column's typical spread.
const UNITS_FLOOR: f64 = 0.02;
/// The same for a location that sat on one value in most windows (a quantile on an atom of a
/// discrete column: the menu's top price, no rain, visibility at its cap): moving to the next
/// value is its nature, and counts in the column's spread, here half of it.
const ATOM_FLOOR: f64 = 0.5;

/// How a statistic's smallest meaningful change is judged when its history hardly varies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// A share in [0, 1] (NULL fraction, top category share, drift distance): 0.02.
    Fraction,
    /// A value in the column's units (mean, quantiles): 2% of the column's typical spread or,
    /// failing that, of its typical magnitude.
    Units,
    /// The logarithm of a count or a spread: a 5% change.
    LogCount,
    /// A place in the window, as a share of it: 0.005 (7 minutes of a day).
    WindowShare,
    /// A small count (categories seen): a change by one counts when the history never varied.
    Count,
    /// Decimal digits: a tenth of a digit (a column written with the same precision every time
    /// that changes it by one digit is ten deviations out).
    Digits,
}

/// One statistic of one column in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub statistic: &'static str,
    pub value: f64,
    pub scale: Scale,
}

/// Every statistic windows are scored on, with its scale; its position is its code in memos.
pub const STATISTICS: [(&str, Scale); 26] = [
    ("row_count", Scale::LogCount),
    ("null_fraction", Scale::Fraction),
    ("distinct_values", Scale::LogCount),
    ("js_distance", Scale::Fraction),
    ("nonfinite_fraction", Scale::Fraction),
    ("mean", Scale::Units),
    // On a log scale: spread changes by factors, and a frozen column's is far below any other.
    ("stddev", Scale::LogCount),
    ("p05", Scale::Units),
    ("p50", Scale::Units),
    ("p95", Scale::Units),
    ("top_share", Scale::Fraction),
    ("new_category_fraction", Scale::Fraction),
    ("decimals", Scale::Digits),
    // Distinct values per non-NULL value: a key's is 1, and a load written twice halves it
    // (continuous measurements' too) however much the volume varies by nature.
    ("unique_fraction", Scale::Fraction),
    // The largest change of any category's share against the reference: a source missing
    // from a load, or one category's share jumping.
    ("category_linf", Scale::Fraction),
    // Rows per distinct time in the window (the table's): a load written twice doubles it.
    ("rows_per_time", Scale::LogCount),
    // How many categories a column of few appeared with: a usual one vanishing.
    ("categories", Scale::Count),
    // Where the rows' times fall in their window (shares of it): a load stamped hours late,
    // or missing its last hours.
    ("time_mean", Scale::WindowShare),
    ("time_p05", Scale::WindowShare),
    ("time_p50", Scale::WindowShare),
    ("time_p95", Scale::WindowShare),
    // Numbers on a value outside the reference's range that it (nearly) never had, carrying at
    // least a tenth of the window: a default or a sentinel filled in (drift::compare).
    ("new_value_fraction", Scale::Fraction),
    // Of a pair of numeric columns ("a < b"): the share of rows where a is below b. Related
    // columns keep it (0 or 1 when they never cross); a swap or a unit mix-up turns it over.
    ("order", Scale::Fraction),
    // The share of rows where the column was the only NULL among the watched columns: near 0
    // for a column NULL by nature only with others (a cancelled flight's times), however many
    // such rows a day brings; a load that drops that column alone raises it.
    ("lone_null_fraction", Scale::Fraction),
    // Of a distributed table, per data node: its share of the window's rows. A node (a shard, a
    // source) missing from a load, or sending part of it, however the volume varies by nature.
    ("node_share", Scale::Fraction),
    // Of a distributed table, per data node and column: the Jensen-Shannon distance between the
    // node's values and the other nodes' in the window. One source broken while its volume holds.
    ("node_js_distance", Scale::Fraction),
];

/// The logarithm a spread is scored as; an exact 0 (a frozen column) stays finite, far below
/// any spread the column's magnitude allows.
pub fn log_spread(stddev: f64, magnitude: f64) -> f64 {
    stddev.max(1e-9 * magnitude.abs().max(1e-9)).ln()
}

/// The code of a statistic (its position in STATISTICS).
pub fn statistic_code(statistic: &str) -> Option<u8> {
    STATISTICS.iter().position(|(name, _)| *name == statistic).map(|i| i as u8)
}

/// The scale a statistic is scored on.
pub fn scale_of(statistic: &str) -> Option<Scale> {
    statistic_code(statistic).map(|code| STATISTICS[code as usize].1)
}

impl Observation {
    /// An observation of one of the STATISTICS, with its scale.
    pub fn of(statistic: &str, value: f64) -> Observation {
        let code = statistic_code(statistic).unwrap_or_else(|| panic!("unknown statistic {statistic}"));
        let (statistic, scale) = STATISTICS[code as usize];
        Observation { statistic, value, scale }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnObservations {
    pub column: String,
    /// The column's typical spread (its stddev), the unit for `Scale::Units`; None when unknown.
    pub spread: Option<f64>,
    pub observations: Vec<Observation>,
}

/// A window's statistics, in time order among the table's windows.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowObservations {
    pub start: i64,
    /// False for windows marked invalid: they are scored but never used as history.
    pub valid: bool,
    pub columns: Vec<ColumnObservations>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Learning,
    Ok,
    Alert,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Learning => "learning",
            Status::Ok => "ok",
            Status::Alert => "alert",
        }
    }
}

/// Why a column scored as it did: its most unusual statistic.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnScore {
    pub column: String,
    /// The raw score over the column's learned fence: above 1 it alerts.
    pub score: f64,
    /// Robust deviations of that statistic from the history's median.
    pub raw: f64,
    pub statistic: &'static str,
    pub value: f64,
    /// The statistic's historical median.
    pub usual: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowScore {
    pub start: i64,
    pub status: Status,
    /// The highest column score (above 1: alert); None while learning.
    pub score: Option<f64>,
    /// Columns by score, highest first (the columns that could be judged).
    pub columns: Vec<ColumnScore>,
}

impl WindowScore {
    /// The columns responsible for an alert (or, for a window that does not alert, the ones
    /// that stand out most), highest first.
    pub fn responsible(&self) -> Vec<&ColumnScore> {
        let mut out: Vec<&ColumnScore> = self.columns.iter().filter(|c| c.score >= RESPONSIBLE_SCORE).collect();
        if out.is_empty() {
            out.extend(self.columns.first());
        }
        out
    }
}

fn median(sorted: &[f64]) -> f64 {
    quantile_sorted(sorted, 0.5)
}

/// Robust deviation of a sample: 1.4826 × the median absolute deviation (the standard deviation
/// for normal data, unmoved by a few outliers).
fn robust_deviation(sorted: &[f64], center: f64) -> f64 {
    let mut deviations: Vec<f64> = sorted.iter().map(|v| (v - center).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    1.4826 * median(&deviations)
}

/// Standard deviation of the middle 80% of a sorted sample (a single past breakage among four
/// weeks is trimmed away; statistics that are mostly constant with occasional excursions, like
/// rainfall, still get a spread).
fn trimmed_deviation(sorted: &[f64]) -> f64 {
    let cut = sorted.len() / 10;
    let middle = &sorted[cut..sorted.len() - cut];
    let mean = middle.iter().sum::<f64>() / middle.len() as f64;
    (middle.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / middle.len() as f64).sqrt()
}

/// The center (median) and robust deviation of `history` (finite values, sorted here): the
/// larger of 1.4826 × MAD and half the trimmed standard deviation, floored by `scale` so that a
/// constant history does not make every change infinite.
/// A column's units: its typical spread within a window, and its spread over the whole history
/// (within and between windows), against which a location on an atom moves.
#[derive(Debug, Clone, Copy)]
struct Units {
    typical: f64,
    overall: f64,
}

fn center_and_deviation(history: &mut [f64], scale: Scale, unit: Option<Units>) -> (f64, f64) {
    history.sort_by(f64::total_cmp);
    let center = median(history);
    let robust = robust_deviation(history, center);
    let floor = match scale {
        Scale::Fraction => 0.02,
        Scale::LogCount => 0.05,
        Scale::Digits => 0.1,
        Scale::Count => 0.1,
        Scale::WindowShare => 0.005,
        Scale::Units => match unit {
            Some(u) if u.typical > 0.0 && u.typical.is_finite() => if robust == 0.0 { ATOM_FLOOR * u.overall } else { UNITS_FLOOR * u.typical },
            _ => (0.02 * center.abs()).max(1e-9),
        },
    };
    (center, robust.max(0.5 * trimmed_deviation(history)).max(floor))
}

/// How unusual `value` is against `history`, in robust deviations (see
/// `center_and_deviation`). Returns (score, historical median).
fn unusualness(value: f64, history: &mut [f64], scale: Scale, unit: Option<Units>) -> (f64, f64) {
    let (center, deviation) = center_and_deviation(history, scale, unit);
    ((value - center).abs() / deviation, center)
}

/// The statistics that count a window's rows, NULLs, times and categories (not sampled from
/// its values: not damped by how few there are); the others describe its values.
const COUNT_STATISTICS: [&str; 5] = ["row_count", "null_fraction", "rows_per_time", "categories", "lone_null_fraction"];
/// The statistics that compare a window with the reference (the merged history before it).
const AGAINST_REFERENCE: [&str; 4] = ["js_distance", "new_category_fraction", "category_linf", "new_value_fraction"];
/// Statistics judged in one direction only: a column of few categories alerts when a usual one
/// vanishes, while a rare one turning up is its nature (and a new one has its own statistic).
const ONLY_DOWNWARDS: [&str; 2] = ["categories", "distinct_values"];
/// Values a window's column needs before the statistics of its values are judged.
const MIN_VALUES: f64 = 10.0;

/// A day and a week in the units of window starts (microseconds).
pub const DAY: i64 = 86_400_000_000;
pub const WEEK: i64 = 7 * DAY;
/// The cycles a statistic may follow: the week (daily or shorter windows) and the day
/// (sub-daily windows). A cycle counts only when it holds 2 to MAX_PHASES windows.
pub const CYCLES: [i64; 2] = [WEEK, DAY];
const MAX_PHASES: i64 = 24;
/// How many of its cycles back a statistic's rhythm is learned from (8 weeks of daily windows).
pub const SEASON_CYCLES: i64 = 8;
/// Same-phase windows among them needed before a phase's level is trusted.
const MIN_PHASE_WINDOWS: usize = 3;
/// The share of a statistic's variation its rhythm must explain to be compared by phase
/// (the strength of seasonality: 1 − var(residual) / var(values), robustly).
const SEASONAL_STRENGTH: f64 = 0.4;
/// A lasting change: once this many windows in a row after the last normal one have moved the
/// same way, each as far as a breakage, the statistic is judged against their level (the new
/// normal) rather than the older history.
const NEW_LEVEL_WINDOWS: usize = 2;

/// Robust spread of a sample without a floor (see `unusualness`), sorting it.
fn spread_of(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let center = median(values);
    robust_deviation(values, center).max(0.5 * trimmed_deviation(values))
}

/// A statistic's rhythm: per phase of `cycle` (the window start modulo the cycle), how far its
/// usual level lies from the overall one.
struct Rhythm {
    cycle: i64,
    offsets: rustc_hash::FxHashMap<i64, f64>,
}

impl Rhythm {
    fn offset(&self, start: i64) -> f64 {
        self.offsets.get(&start.rem_euclid(self.cycle)).copied().unwrap_or(0.0)
    }
}

/// Every statistic of every column as a series over the windows (NaN where absent), so that a
/// window's history is read by index rather than searched for.
struct Series<'a> {
    /// Per (column, statistic): the column's position among `columns` and the values.
    values: rustc_hash::FxHashMap<(usize, &'static str), Vec<f64>>,
    /// Per column: its spread in each window.
    spreads: Vec<Vec<f64>>,
    /// Each column's position (in `spreads` and `values`), by name.
    positions: rustc_hash::FxHashMap<&'a str, usize>,
    starts: Vec<i64>,
    /// The windows' length (the smallest step between two starts).
    window: i64,
    /// Each window's row count (NaN where unknown).
    rows: Vec<f64>,
}

impl<'a> Series<'a> {
    fn new(windows: &'a [WindowObservations]) -> Self {
        let mut positions: rustc_hash::FxHashMap<&'a str, usize> = Default::default();
        let mut values: rustc_hash::FxHashMap<(usize, &'static str), Vec<f64>> = Default::default();
        let mut spreads: Vec<Vec<f64>> = Vec::new();
        for (i, window) in windows.iter().enumerate() {
            for column in &window.columns {
                let c = *positions.entry(column.column.as_str()).or_insert_with(|| {
                    spreads.push(vec![f64::NAN; windows.len()]);
                    spreads.len() - 1
                });
                spreads[c][i] = column.spread.unwrap_or(f64::NAN);
                for o in &column.observations {
                    values.entry((c, o.statistic)).or_insert_with(|| vec![f64::NAN; windows.len()])[i] = o.value;
                }
            }
        }
        let starts: Vec<i64> = windows.iter().map(|w| w.start).collect();
        let window = starts.windows(2).map(|p| p[1] - p[0]).filter(|&d| d > 0).min().unwrap_or(DAY);
        let rows = windows
            .iter()
            .map(|w| w.columns.iter().flat_map(|c| &c.observations).find(|o| o.statistic == "row_count").map_or(f64::NAN, |o| o.value.exp()))
            .collect();
        Series { values, spreads, positions, starts, window, rows }
    }

    /// How many values column `c` had in window `h`: its rows less its NULLs.
    fn values_in(&self, c: usize, h: usize) -> f64 {
        let nulls = self.values.get(&(c, "null_fraction")).map_or(0.0, |f| f[h]);
        self.rows[h] * (1.0 - if nulls.is_finite() { nulls } else { 0.0 })
    }

    /// The rhythm `series` follows before window `i`, learned from the valid windows of
    /// `long_history` in the last SEASON_CYCLES cycles: the cycle that explains the most of its
    /// variation, if it explains at least SEASONAL_STRENGTH and window `i`'s phase has been
    /// seen MIN_PHASE_WINDOWS times.
    fn rhythm(&self, series: &[f64], i: usize, long_history: &[usize]) -> Option<Rhythm> {
        let mut best: Option<(f64, Rhythm)> = None;
        for cycle in CYCLES {
            let phases = cycle / self.window;
            if !(2..=MAX_PHASES).contains(&phases) || cycle % self.window != 0 {
                continue;
            }
            let since = self.starts[i] - SEASON_CYCLES * cycle;
            let recent: Vec<(i64, f64)> = long_history
                .iter()
                .rev()
                .take_while(|&&h| self.starts[h] >= since)
                .map(|&h| (self.starts[h].rem_euclid(cycle), series[h]))
                .filter(|(_, v)| v.is_finite())
                .collect();
            let mut by_phase: rustc_hash::FxHashMap<i64, Vec<f64>> = Default::default();
            for &(phase, v) in &recent {
                by_phase.entry(phase).or_default().push(v);
            }
            let phase = self.starts[i].rem_euclid(cycle);
            if by_phase.len() < 2 || by_phase.get(&phase).is_none_or(|v| v.len() < MIN_PHASE_WINDOWS) {
                continue;
            }
            let mut all: Vec<f64> = recent.iter().map(|r| r.1).collect();
            let total = spread_of(&mut all);
            if total <= 0.0 {
                continue;
            }
            let overall = median(&all);
            let offsets: rustc_hash::FxHashMap<i64, f64> = by_phase
                .iter_mut()
                .filter(|(_, v)| v.len() >= MIN_PHASE_WINDOWS)
                .map(|(&p, v)| {
                    v.sort_by(f64::total_cmp);
                    (p, median(v) - overall)
                })
                .collect();
            let rhythm = Rhythm { cycle, offsets };
            let mut residuals: Vec<f64> = recent.iter().map(|&(p, v)| v - rhythm.offsets.get(&p).copied().unwrap_or(0.0)).collect();
            let strength = 1.0 - (spread_of(&mut residuals) / total).powi(2);
            if strength >= SEASONAL_STRENGTH && best.as_ref().is_none_or(|(s, _)| strength > *s) {
                best = Some((strength, rhythm));
            }
        }
        best.map(|(_, rhythm)| rhythm)
    }

    /// Raw scores of every statistic of window `i`'s columns against the windows `history`.
    /// `acknowledged`: the position in `history` of the latest window whose alert was
    /// acknowledged, if any.
    fn column_scores(
        &self,
        window: &WindowObservations,
        i: usize,
        history: &[usize],
        long_history: &[usize],
        scored: &[usize],
        acknowledged: Option<usize>,
    ) -> Vec<ColumnScore> {
        let mut scores = Vec::new();
        let mut values: Vec<f64> = Vec::with_capacity(history.len());
        let mut adjusted: Vec<f64> = Vec::new();
        for column in &window.columns {
            let Some(&c) = self.positions.get(column.column.as_str()) else { continue };
            // The column's typical spread (the mean of its windows' spreads: a column constant
            // in most windows still has one), the unit of its location statistics.
            let spreads: Vec<f64> = history.iter().map(|&h| self.spreads[c][h]).filter(|s| s.is_finite()).collect();
            let unit = (!spreads.is_empty()).then(|| {
                let typical = spreads.iter().sum::<f64>() / spreads.len() as f64;
                // Over the long history, by the law of total variance: the mean variance within
                // windows plus the variance of their means.
                let long: Vec<f64> = long_history.iter().map(|&h| self.spreads[c][h]).filter(|s| s.is_finite()).collect();
                let within = long.iter().map(|s| s * s).sum::<f64>() / long.len().max(1) as f64;
                let means: Vec<f64> = self.values.get(&(c, "mean")).map_or(Vec::new(), |m| long_history.iter().map(|&h| m[h]).filter(|v| v.is_finite()).collect());
                let between = if means.len() > 1 {
                    let mean = means.iter().sum::<f64>() / means.len() as f64;
                    means.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (means.len() - 1) as f64
                } else {
                    0.0
                };
                Units { typical, overall: (within + between).sqrt() }
            });
            // Statistics of a column's values (all but its counts) vary by chance as 1/sqrt of
            // how many values they were taken from: a window with fewer values than usual is
            // judged on that wider spread, and one with a handful is not judged on them at all.
            let values_now = self.values_in(c, i);
            let mut usual_values: Vec<f64> = history.iter().map(|&h| self.values_in(c, h)).filter(|n| n.is_finite()).collect();
            usual_values.sort_by(f64::total_cmp);
            let sampling = if values_now.is_finite() && !usual_values.is_empty() {
                (values_now / median(&usual_values)).min(1.0).sqrt()
            } else {
                1.0
            };
            for observation in column.observations.iter().filter(|o| o.value.is_finite()) {
                let raw_series = &self.values[&(c, observation.statistic)];
                if history.iter().filter(|&&h| raw_series[h].is_finite()).count() < MIN_HISTORY {
                    continue;
                }
                if observation.statistic == "order" && !stable_order(raw_series, long_history) {
                    continue;
                }
                let of_values = !COUNT_STATISTICS.contains(&observation.statistic);
                if of_values && values_now < MIN_VALUES {
                    continue;
                }
                // A statistic with a rhythm is compared with its own phase: each window's value
                // less its phase's usual offset.
                let series: &[f64] = match self.rhythm(raw_series, i, long_history) {
                    Some(rhythm) => {
                        adjusted.clear();
                        adjusted.extend(raw_series.iter().zip(&self.starts).map(|(v, &s)| v - rhythm.offset(s)));
                        &adjusted
                    }
                    None => raw_series,
                };
                values.clear();
                values.extend(history.iter().map(|&h| series[h]).filter(|v| v.is_finite()));
                let (mut raw, mut usual) = unusualness(series[i], &mut values, observation.scale, unit);
                let pinned_at = pinned(raw_series, long_history, observation.statistic);
                if pinned_at.is_some_and(|p| raw_series[i] != p) {
                    raw = raw.max(PINNED_BREAK); // however small: one duplicate key, one state missing
                }
                if ONLY_DOWNWARDS.contains(&observation.statistic) && series[i] >= usual {
                    raw = 0.0;
                }
                if raw > SCORE_FLOOR {
                    if let Some((level, deviation)) = new_level(series, history, observation.scale, unit, series[i], acknowledged) {
                        // A lasting change: judged against its new level, with the old spread.
                        raw = (series[i] - level).abs() / deviation;
                        usual = level;
                    }
                }
                if of_values {
                    raw *= sampling;
                }
                if raw > SCORE_FLOOR
                    && pinned_at.is_none()
                    && precedented(series, series[i], usual, if AGAINST_REFERENCE.contains(&observation.statistic) { scored } else { long_history })
                {
                    raw = 0.0; // the statistic has gone this far before, often enough: by nature
                }
                // Shown in the statistic's own terms: the phase's usual level.
                let shown_usual = usual + (raw_series[i] - series[i]);
                scores.push(ColumnScore {
                    column: column.column.clone(),
                    score: 0.0,
                    raw: raw.min(SCORE_CAP),
                    statistic: observation.statistic,
                    value: observation.value,
                    usual: shown_usual,
                });
            }
        }
        scores
    }
}

/// Whether the statistic has settled at a new level: the last NEW_LEVEL_WINDOWS valid windows
/// of `history` (or those from an acknowledged window at position `acknowledged` on, if fewer)
/// and `value` all lie beyond SCORE_FLOOR deviations of the older history, on the same side.
/// Returns the new level (the median of those windows) and the older history's
/// deviation, the scale `value` is then judged on.
fn new_level(series: &[f64], history: &[usize], scale: Scale, unit: Option<Units>, value: f64, acknowledged: Option<usize>) -> Option<(f64, f64)> {
    // An acknowledged alert's shift is normal at once: its windows are the new level already.
    let recent = match acknowledged {
        Some(at) if history.len() - at <= NEW_LEVEL_WINDOWS => history.len() - at,
        _ => NEW_LEVEL_WINDOWS,
    };
    let (older, recent) = history.split_at(history.len().checked_sub(recent)?);
    let mut old: Vec<f64> = older.iter().map(|&h| series[h]).filter(|v| v.is_finite()).collect();
    let mut recent: Vec<f64> = recent.iter().map(|&h| series[h]).collect();
    if old.len() < MIN_HISTORY || recent.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (center, deviation) = center_and_deviation(&mut old, scale, unit);
    let side = (value - center).signum();
    let moved = |v: f64| (v - center).signum() == side && (v - center).abs() / deviation > SCORE_FLOOR;
    if !recent.iter().all(|&v| moved(v)) {
        return None;
    }
    recent.sort_by(f64::total_cmp);
    Some((median(&recent), deviation))
}

/// Whether `value` is an excursion the statistic has made before, often enough to be its nature
/// (fog takes a day's median visibility from 10 miles to 2 a few times a month, while the
/// trailing weeks may all have been clear): at least PRECEDENTS, or PRECEDENT_SHARE of the
/// valid windows in `long_history`, went PRECEDENT_REACH as far from `center` in the same
/// direction (a sentinel value of -999 has no precedent in fog).
/// A broken load is rarely like that; the same breakage repeated stays unprecedented until
/// someone lets it recur that often without marking its windows invalid.
fn precedented(series: &[f64], value: f64, center: f64, long_history: &[usize]) -> bool {
    let distance = value - center;
    let precedents = long_history
        .iter()
        .map(|&h| series[h] - center)
        .filter(|d| d.is_finite() && d.signum() == distance.signum() && d.abs() >= PRECEDENT_REACH * distance.abs())
        .count();
    precedents as f64 >= (PRECEDENT_SHARE * long_history.len() as f64).max(PRECEDENTS as f64)
}

/// Whether a pair of columns keeps its row order: in all but STABLE_ORDER_EXCEPTIONS of the
/// windows of `history`, at most STABLE_ORDER_CROSSING of its rows crossed the usual way. Only
/// such pairs are judged on their order; pairs that cross by nature (dew point and humidity in
/// different units) are not related closely enough to tell a swap from the weather.
fn stable_order(series: &[f64], history: &[usize]) -> bool {
    let values: Vec<f64> = history.iter().map(|&h| series[h]).filter(|v| v.is_finite()).collect();
    if values.len() < MIN_HISTORY {
        return false;
    }
    let low = values.iter().filter(|&&v| v <= STABLE_ORDER_CROSSING).count();
    let high = values.iter().filter(|&&v| v >= 1.0 - STABLE_ORDER_CROSSING).count();
    let exceptions = values.len() - low.max(high);
    (exceptions as f64) <= STABLE_ORDER_EXCEPTIONS * values.len() as f64
}

/// The value a statistic held exactly in all but PINNED_EXCEPTIONS of the windows of `history`,
/// if it is one of PINNABLE's: a key's unique share of 1, a panel's count of categories (its 51
/// states). Leaving it breaks what is a constraint of the data, not an excursion of its nature:
/// it counts however small (one duplicate key, one state missing), and no number of past breaks
/// makes the next one normal.
fn pinned(series: &[f64], history: &[usize], statistic: &str) -> Option<f64> {
    let &(_, required) = PINNABLE.iter().find(|(s, _)| *s == statistic)?;
    let mut values: Vec<f64> = history.iter().map(|&h| series[h]).filter(|v| v.is_finite()).collect();
    if values.len() < MIN_HISTORY {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let usual = median(&values);
    let exceptions = values.iter().filter(|&&v| v != usual).count();
    ((exceptions as f64) <= PINNED_EXCEPTIONS * values.len() as f64 && required.is_none_or(|r| r == usual)).then_some(usual)
}

const PINNED_EXCEPTIONS: f64 = 0.05;
/// Statistics that can be pinned, and the value they must be pinned at, if one: a unique share
/// pinned below 1 is a low-cardinality column's (three airports in 72 hourly rows), and a
/// missing hour moves it.
const PINNABLE: [(&str, Option<f64>); 2] = [("unique_fraction", Some(1.0)), ("categories", None)];
/// The raw score of a pinned statistic off its value, if its distance scores less.
const PINNED_BREAK: f64 = 100.0;

const STABLE_ORDER_CROSSING: f64 = 0.02;
const STABLE_ORDER_EXCEPTIONS: f64 = 0.01;

/// See `precedented`: a year of daily windows needs 8 precedents, a quarter 6.
const PRECEDENTS: usize = 6;
const PRECEDENT_SHARE: f64 = 0.02;
const PRECEDENT_REACH: f64 = 0.5;

/// A statistic's past deviations, kept in order of arrival (to drop the oldest past
/// CALIBRATION_WINDOWS), and the largest of them in order: its fence is a high quantile, so
/// only they are needed, and keeping them costs no window a sort or a shift of the whole year.
#[derive(Default)]
struct Calibration {
    arrival: std::collections::VecDeque<f64>,
    /// The LARGEST_KEPT largest of `arrival` (all of them while fewer), ascending.
    largest: Vec<f64>,
}

/// Enough of the largest deviations to read FENCE_QUANTILE of CALIBRATION_WINDOWS of them
/// (interpolating between two neighbours), and a few to spare.
const LARGEST_KEPT: usize = ((1.0 - FENCE_QUANTILE) * CALIBRATION_WINDOWS as f64) as usize + 4;

impl Calibration {
    fn push(&mut self, raw: f64) {
        let mut evicted_largest = false;
        if self.arrival.len() == CALIBRATION_WINDOWS {
            if let Some(oldest) = self.arrival.pop_front() {
                if let Some(at) = self.largest.iter().position(|v| v.total_cmp(&oldest).is_eq()) {
                    self.largest.remove(at);
                    evicted_largest = true;
                }
            }
        }
        self.arrival.push_back(raw);
        if evicted_largest {
            // Rare (a largest deviation leaving the year): take them again from what is kept.
            let mut all: Vec<f64> = self.arrival.iter().copied().collect();
            all.sort_by(f64::total_cmp);
            self.largest = all.split_off(all.len().saturating_sub(LARGEST_KEPT));
            return;
        }
        let at = self.largest.partition_point(|v| v.total_cmp(&raw).is_lt());
        if self.largest.len() < LARGEST_KEPT {
            self.largest.insert(at, raw);
        } else if at > 0 {
            self.largest.insert(at, raw);
            self.largest.remove(0);
        }
    }

    fn seen(&self) -> usize {
        self.arrival.len()
    }

    /// The `q` quantile of the past deviations (as `quantile_sorted` of all of them), for `q`
    /// at or above FENCE_QUANTILE.
    fn quantile(&self, q: f64) -> f64 {
        let n = self.arrival.len();
        if n == 0 {
            return f64::NAN;
        }
        let h = (n - 1) as f64 * q;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        let below = n - self.largest.len(); // deviations smaller than all of `largest`
        debug_assert!(lo >= below, "LARGEST_KEPT too small for q {q}");
        let (low, high) = (self.largest[lo - below], self.largest[hi - below]);
        low + (h - lo as f64) * (high - low)
    }

    /// FENCE_FACTOR × the FENCE_QUANTILE of the past deviations, and never below SCORE_FLOOR.
    /// A statistic that jumps by nature (rain on some days) gets a fence to match. Few past
    /// deviations have not yet shown how far the statistic goes by nature (the 99th percentile
    /// of ten is their largest): the fence starts higher by THIN_CALIBRATION / their number.
    fn fence(&self) -> f64 {
        let seen = self.seen() as f64;
        (FENCE_FACTOR * self.quantile(FENCE_QUANTILE)).max(SCORE_FLOOR) * (1.0 + THIN_CALIBRATION / seen)
    }
}

/// Scores every window (in time order) against the valid windows before it.
pub fn score_windows(windows: &[WindowObservations]) -> Vec<WindowScore> {
    judge(windows, &raw_scores(windows, 0))
}

/// The raw scores (deviations from their own history, before any fence) of every statistic of
/// the windows from `from` on, each against the valid windows before it; empty for a window
/// with too little history. A window's raw scores depend only on it and the windows before it,
/// so they can be kept (see `memo`) while those windows do not change.
pub fn raw_scores(windows: &[WindowObservations], from: usize) -> Vec<Vec<ColumnScore>> {
    raw_scores_acknowledged(windows, from, &Default::default())
}

/// `raw_scores`, where the windows starting at `acknowledged` had an alert acknowledged: the
/// shift it alerted on is normal from the window after it (see `new_level`).
pub fn raw_scores_acknowledged(windows: &[WindowObservations], from: usize, acknowledged: &std::collections::HashSet<i64>) -> Vec<Vec<ColumnScore>> {
    let series = Series::new(windows);
    let mut valid: Vec<usize> = windows[..from.min(windows.len())].iter().enumerate().filter(|(_, w)| w.valid).map(|(i, _)| i).collect();
    let mut out = Vec::with_capacity(windows.len().saturating_sub(from));
    for (i, window) in windows.iter().enumerate().skip(from) {
        let history = &valid[valid.len().saturating_sub(HISTORY_WINDOWS)..];
        let long_history = &valid[valid.len().saturating_sub(CALIBRATION_WINDOWS)..];
        // Precedents of statistics taken against the reference come from windows that were
        // scored themselves: in the first ones, against a history of days, every category is new.
        let scored = &long_history[MIN_HISTORY.saturating_sub(valid.len() - long_history.len()).min(long_history.len())..];
        let acknowledged_at = history.iter().rposition(|&h| acknowledged.contains(&windows[h].start));
        out.push(if history.len() < MIN_HISTORY { Vec::new() } else { series.column_scores(window, i, history, long_history, scored, acknowledged_at) });
        if window.valid {
            valid.push(i);
        }
    }
    out
}

/// Each window's score from its statistics' raw scores (`raws[i]` for `windows[i]`): each
/// statistic over its fence, learned from its raw scores in the valid windows before.
pub fn judge(windows: &[WindowObservations], raws: &[Vec<ColumnScore>]) -> Vec<WindowScore> {
    let mut results: Vec<WindowScore> = Vec::with_capacity(windows.len());
    let mut calibration: rustc_hash::FxHashMap<(&str, &'static str), Calibration> = rustc_hash::FxHashMap::default();
    for (window, raw) in windows.iter().zip(raws) {
        let learning = WindowScore { start: window.start, status: Status::Learning, score: None, columns: Vec::new() };
        // Each statistic against its own usual deviations; a column is its most unusual one.
        // (index in `raw`, score): the column's most unusual statistic so far.
        let mut most_unusual: Vec<(usize, f64)> = Vec::new();
        for (k, c) in raw.iter().enumerate() {
            let Some(past) = calibration.get(&(c.column.as_str(), c.statistic)) else { continue };
            if past.seen() < MIN_CALIBRATION {
                continue;
            }
            let score = c.raw / past.fence();
            // A column's statistics come together: its entry is usually the last one.
            let of_column = |&(j, _): &(usize, f64)| raw[j].column == c.column;
            let found = match most_unusual.last() {
                Some(last) if of_column(last) => Some(most_unusual.len() - 1),
                _ => most_unusual.iter().position(of_column),
            };
            match found {
                Some(i) if most_unusual[i].1 >= score => {}
                Some(i) => most_unusual[i] = (k, score),
                None => most_unusual.push((k, score)),
            }
        }
        let mut judged: Vec<ColumnScore> = most_unusual.into_iter().map(|(k, score)| ColumnScore { score, ..raw[k].clone() }).collect();
        judged.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.column.cmp(&b.column)));
        // Fences learn from normal windows only: a breakage that alerted must not raise the bar
        // for the next one (its window still counts as history, unless marked invalid).
        let alerted = judged.first().is_some_and(|c| c.score > 1.0);
        if window.valid && !alerted {
            for c in raw {
                calibration.entry((c.column.as_str(), c.statistic)).or_default().push(c.raw);
            }
        }
        let Some(score) = judged.first().map(|c| c.score) else {
            results.push(learning);
            continue;
        };
        let status = if score > 1.0 { Status::Alert } else { Status::Ok };
        results.push(WindowScore { start: window.start, status, score: Some(score), columns: judged });
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic generator for noisy but normal windows.
    struct Noise(u64);
    impl Noise {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        }
    }

    fn window(start: i64, noise: &mut Noise, mean_shift: f64, null_fraction: f64, rows: f64) -> WindowObservations {
        let observation = |statistic, value, scale| Observation { statistic, value, scale };
        let mut columns: Vec<ColumnObservations> = Vec::new();
        for c in 0..20 {
            let mean = 50.0 + noise.next() * 2.0 + if c == 3 { mean_shift } else { 0.0 };
            let stddev = 10.0 + noise.next();
            columns.push(ColumnObservations {
                column: format!("f{c}"),
                spread: Some(10.0),
                observations: vec![
                    observation("mean", mean, Scale::Units),
                    observation("stddev", stddev, Scale::Units),
                    observation("null_fraction", if c == 7 { null_fraction } else { 0.0 }, Scale::Fraction),
                ],
            });
        }
        columns.push(ColumnObservations {
            column: "(row count)".into(),
            spread: None,
            observations: vec![observation("row_count", (rows * (1.0 + noise.next() * 0.1)).ln(), Scale::LogCount)],
        });
        WindowObservations { start, valid: true, columns }
    }

    /// `days` daily windows of noise, plus `column` observed on `statistic` as `value(day)`.
    fn days_with(noise: &mut Noise, days: i64, column: &str, spread: Option<f64>, statistic: &str, value: impl Fn(i64) -> f64) -> Vec<WindowObservations> {
        (0..days)
            .map(|d| {
                let mut w = window(d * DAY, noise, 0.0, 0.0, 1000.0);
                w.columns.push(ColumnObservations { column: column.into(), spread, observations: vec![Observation::of(statistic, value(d))] });
                w
            })
            .collect()
    }

    #[test]
    fn quiet_history_is_learning_then_ok() {
        let mut noise = Noise(1);
        let windows: Vec<_> = (0..60).map(|d| window(d, &mut noise, 0.0, 0.0, 1000.0)).collect();
        let scores = score_windows(&windows);
        assert!(scores[..MIN_HISTORY].iter().all(|s| s.status == Status::Learning));
        let judged = &scores[MIN_HISTORY + MIN_CALIBRATION..];
        assert!(judged.iter().all(|s| s.status == Status::Ok), "no alert on noise: {:?}", judged.iter().map(|s| s.score).collect::<Vec<_>>());
    }

    #[test]
    fn breakages_alert_and_name_their_columns() {
        let mut noise = Noise(2);
        let mut windows: Vec<_> = (0..60).map(|d| window(d, &mut noise, 0.0, 0.0, 1000.0)).collect();
        windows[40] = window(40, &mut noise, 40.0, 0.0, 1000.0); // a unit change in f3
        windows[45] = window(45, &mut noise, 0.0, 0.3, 1000.0); // a NULL spike in f7
        windows[50] = window(50, &mut noise, 0.0, 0.0, 300.0); // a truncated load
        let scores = score_windows(&windows);
        let alerts: Vec<i64> = scores.iter().filter(|s| s.status == Status::Alert).map(|s| s.start).collect();
        assert_eq!(alerts, vec![40, 45, 50]);
        assert_eq!(scores[40].responsible()[0].column, "f3");
        assert_eq!(scores[45].responsible()[0].statistic, "null_fraction");
        assert_eq!(scores[50].responsible()[0].column, "(row count)");
        // A breakage hardly raises the bar for the windows after it (the fence is robust).
        assert_eq!(scores[41].status, Status::Ok);
        assert!(scores[40].score.unwrap() > 3.0);
    }

    #[test]
    fn a_column_going_null_alone_alerts_where_its_null_share_is_a_storm_days() {
        let mut noise = Noise(11);
        // arr_delay is NULL with the other times of cancelled flights: a few percent of rows,
        // up to 40% on a storm day every ten days; NULL alone (a diverted flight) hardly ever.
        let mut observed = |d: i64, nulls: f64, lone: f64| {
            let mut w = window(d * DAY, &mut noise, 0.0, 0.0, 1000.0);
            w.columns.push(ColumnObservations {
                column: "arr_delay".into(),
                spread: Some(30.0),
                observations: vec![Observation::of("null_fraction", nulls), Observation::of("lone_null_fraction", lone)],
            });
            w
        };
        let storm = |d: i64| d % 10 == 3;
        let mut windows: Vec<_> =
            (0..150).map(|d| if storm(d) { observed(d, 0.2 + 0.02 * (d % 11) as f64, 0.003) } else { observed(d, 0.02, 0.002) }).collect();
        // The bug: 30% of one day's arr_delay dropped, the other columns whole.
        windows[135] = observed(135, 0.31, 0.30);
        let scores = score_windows(&windows);
        assert_eq!(scores[135].status, Status::Alert);
        assert_eq!((scores[135].columns[0].column.as_str(), scores[135].columns[0].statistic), ("arr_delay", "lone_null_fraction"));
        let storm_alerts: Vec<i64> = (80..150).filter(|&d| storm(d) && scores[d as usize].status == Status::Alert).collect();
        assert!(storm_alerts.is_empty(), "storm days alert: {storm_alerts:?}");
        // On its NULL share alone, the bug is a storm day like any other.
        for w in &mut windows {
            w.columns.last_mut().unwrap().observations.pop();
        }
        assert_eq!(score_windows(&windows)[135].status, Status::Ok);
    }

    #[test]
    fn a_calibration_keeps_the_quantile_of_all_its_deviations() {
        let mut noise = Noise(13);
        let mut calibration = Calibration::default();
        for i in 0..1000 {
            // Mostly zeros (a statistic excused by precedents), some ties, rare large ones.
            let raw = match i % 7 {
                0 | 1 | 2 => 0.0,
                3 => 2.5,
                _ => ((noise.next() + 0.5) * 10.0).powi(3),
            };
            calibration.push(raw);
            let mut all: Vec<f64> = calibration.arrival.iter().copied().collect();
            all.sort_by(f64::total_cmp);
            assert_eq!(calibration.quantile(FENCE_QUANTILE), quantile_sorted(&all, FENCE_QUANTILE), "after {} deviations", i + 1);
        }
        assert_eq!(calibration.seen(), CALIBRATION_WINDOWS);
    }

    #[test]
    fn a_key_duplicated_again_and_again_alerts_every_time() {
        let mut noise = Noise(12);
        // order_id is unique in every load but the monthly ones that hold one id twice (after
        // the weeks of learning: a breakage there is taken for the table's nature).
        let duplicated = |d: i64| d > 30 && d % 25 == 15;
        let windows = days_with(&mut noise, 200, "order_id", None, "unique_fraction", |d| if duplicated(d) { 0.98 } else { 1.0 });
        let scores = score_windows(&windows);
        let missed: Vec<i64> = (0..200).filter(|&d| duplicated(d) && scores[d as usize].status != Status::Alert).collect();
        assert!(missed.is_empty(), "a duplicate key missed on {missed:?}");
        assert_eq!(scores[190].responsible()[0].statistic, "unique_fraction");
        // So is a panel's roster: one state of 51 missing, however often it happened before.
        let windows = days_with(&mut noise, 200, "state", None, "categories", |d| if duplicated(d) { 50.0 } else { 51.0 });
        let scores = score_windows(&windows);
        let missed: Vec<i64> = (0..200).filter(|&d| duplicated(d) && scores[d as usize].status != Status::Alert).collect();
        assert!(missed.is_empty(), "a missing state excused on {missed:?}");
        // A share that varies by nature is excused by its precedents (see the fog test).
        let all: Vec<usize> = (0..20).collect();
        assert_eq!(pinned(&[1.0; 20], &all, "unique_fraction"), Some(1.0));
        let mut varied = [1.0; 20];
        (varied[3], varied[9]) = (0.5, 0.9);
        assert_eq!(pinned(&varied, &all, "unique_fraction"), None, "2 breaks in 20 windows: its nature");
        assert_eq!(pinned(&[0.25; 20], &all, "unique_fraction"), None, "a unique share is pinned at 1 only");
        assert_eq!(pinned(&[51.0; 20], &all, "categories"), Some(51.0));
        assert_eq!(pinned(&[1.0; 20], &all, "mean"), None, "only PINNABLE statistics are pinned");
    }

    #[test]
    fn natural_excursions_stop_alerting_once_they_have_precedents() {
        let mut noise = Noise(4);
        // A column pinned at 10 that drops on a "foggy" day every twelve days, by 6 to 8.
        let windows: Vec<_> = (0..200)
            .map(|d| {
                let mut w = window(d, &mut noise, 0.0, 0.0, 1000.0);
                let foggy = d % 12 == 5;
                let visibility = if foggy { 10.0 - 6.0 - (d % 3) as f64 } else { 10.0 };
                w.columns.push(ColumnObservations {
                    column: "visib".into(),
                    spread: Some(0.5),
                    observations: vec![Observation::of("p50", visibility)],
                });
                if d == 190 {
                    w.columns.last_mut().unwrap().observations[0].value = 16_093.0; // miles as metres
                }
                w
            })
            .collect();
        let scores = score_windows(&windows);
        let foggy_alerts: Vec<i64> = scores.iter().filter(|s| s.start % 12 == 5 && s.status == Status::Alert).map(|s| s.start).collect();
        assert!(foggy_alerts.iter().all(|&d| d < 80), "fog alerts only before it has precedents (6 by day 77): {foggy_alerts:?}");
        assert_eq!(scores[190].status, Status::Alert, "an unprecedented jump still alerts: {:?}", scores[190].columns.first());
        assert_eq!(scores[190].columns[0].column, "visib");
    }

    #[test]
    fn a_weekly_rhythm_is_compared_phase_by_phase() {
        let mut noise = Noise(5);
        // f3 is 30 higher on two days of every week: a weekday at the weekend's level is a
        // breakage, which the weekends' precedents would hide without the rhythm.
        let windows: Vec<_> = (0..100)
            .map(|d| {
                let weekend = d % 7 < 2;
                let shift = if weekend || d == 90 { 30.0 } else { 0.0 };
                window(d * DAY, &mut noise, shift, 0.0, 1000.0)
            })
            .collect();
        let scores = score_windows(&windows);
        let weekend_alerts: Vec<i64> = (40..100).filter(|d| d % 7 < 2 && scores[*d as usize].status == Status::Alert).collect();
        assert!(weekend_alerts.is_empty(), "weekends alerted: {weekend_alerts:?}");
        assert_eq!(scores[90].status, Status::Alert);
        assert_eq!(scores[90].responsible()[0].column, "f3");
    }

    #[test]
    fn a_lasting_change_is_normal_from_its_third_window() {
        let mut noise = Noise(6);
        let windows: Vec<_> = (0..90).map(|d| window(d, &mut noise, if d >= 50 { 40.0 } else { 0.0 }, 0.0, 1000.0)).collect();
        let scores = score_windows(&windows);
        assert_eq!(scores[50].status, Status::Alert);
        assert_eq!(scores[50].responsible()[0].column, "f3");
        let later: Vec<usize> = (52..90).filter(|&d| scores[d].status == Status::Alert).collect();
        assert!(later.is_empty(), "still alerting on: {later:?}");
    }

    #[test]
    fn a_usual_category_vanishing_alerts_while_a_rare_one_turning_up_does_not() {
        let mut noise = Noise(7);
        // 51 states every day; a rare 52nd turns up every ninth day; on day 70 one goes missing.
        let categories = |d: i64| if d == 70 { 50.0 } else if d % 9 == 4 { 52.0 } else { 51.0 };
        let scores = score_windows(&days_with(&mut noise, 90, "state", None, "categories", categories));
        let rare: Vec<i64> = (30..90).filter(|d| d % 9 == 4 && scores[*d as usize].status == Status::Alert).collect();
        assert!(rare.is_empty(), "a rare category alerted on {rare:?}");
        assert_eq!(scores[70].status, Status::Alert);
        assert_eq!(scores[70].responsible()[0].column, "state");
    }

    #[test]
    fn a_quantile_on_an_atom_moves_to_the_next_value_without_alerting() {
        let mut noise = Noise(8);
        // A menu's p95 sits on its top price; three busy days take it to the next price up (by
        // less than the column's spread: too few to be precedents); on day 80 prices are written
        // in cents.
        let busy_days = [40, 55, 70];
        let p95 = |d: i64| if d == 80 { 2075.0 } else if busy_days.contains(&d) { 23.65 } else { 20.75 };
        let scores = score_windows(&days_with(&mut noise, 90, "price", Some(3.6), "p95", p95));
        let busy: Vec<i64> = busy_days.into_iter().filter(|&d| scores[d as usize].status == Status::Alert).collect();
        assert!(busy.is_empty(), "the next price up alerted on {busy:?}");
        assert_eq!(scores[80].status, Status::Alert);
        assert_eq!(scores[80].responsible()[0].column, "price");
    }

    #[test]
    fn an_acknowledged_shift_is_normal_from_the_next_window() {
        let mut noise = Noise(9);
        let windows: Vec<_> = (0..70).map(|d| window(d, &mut noise, if d >= 50 { 40.0 } else { 0.0 }, 0.0, 1000.0)).collect();
        let alerts = |scores: &[WindowScore]| (50..60).filter(|&d| scores[d].status == Status::Alert).collect::<Vec<usize>>();
        // Left alone, a lasting change alerts on its first two windows (normal from the third).
        assert_eq!(alerts(&score_windows(&windows)), vec![50, 51]);
        // Acknowledged on its first window, it is normal from the second.
        let acknowledged: std::collections::HashSet<i64> = [50].into_iter().collect();
        assert_eq!(alerts(&judge(&windows, &raw_scores_acknowledged(&windows, 0, &acknowledged))), vec![50]);
    }

    #[test]
    fn invalid_windows_are_scored_but_never_history() {
        let mut noise = Noise(3);
        let mut windows: Vec<_> = (0..40).map(|d| window(d, &mut noise, 0.0, 0.0, 1000.0)).collect();
        for w in windows.iter_mut().skip(25).take(5) {
            *w = window(w.start, &mut noise, 40.0, 0.0, 1000.0);
            w.valid = false;
        }
        let scores = score_windows(&windows);
        assert!(scores[25..30].iter().all(|s| s.status == Status::Alert));
        assert!(scores[30..].iter().all(|s| s.status == Status::Ok));
    }
}

/// The alert benchmark (bench/alerts.sh) replayed on its exported observations, so that scoring
/// can be tuned without reloading the data: prints precision and recall per seed and the misses.
#[cfg(test)]
mod offline {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    fn day_number(date: &str) -> i64 {
        let parts: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
        let (y, m, d) = (parts[0], parts[1], parts[2]);
        // Days since 1970-01-01 (civil calendar).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }

    /// One window's start as the database gives it: microseconds since 2000-01-01.
    fn micros(day: i64) -> i64 {
        (day - 10957) * DAY
    }

    #[test]
    #[ignore = "needs ALERTS_EXPORT from bench/alerts.sh"]
    fn alert_benchmark_offline() {
        let dir = std::env::var("ALERTS_EXPORT").expect("ALERTS_EXPORT: the directory bench/alerts.sh exported to");
        let verbose = std::env::var("ALERTS_VERBOSE").is_ok();
        let observed = std::fs::read_to_string(format!("{dir}/observed.tsv")).unwrap();
        let bugs = std::fs::read_to_string(format!("{dir}/bugs.tsv")).unwrap();
        // Per (feed, seed): the windows by start.
        let mut runs: BTreeMap<(String, i64), BTreeMap<i64, WindowObservations>> = BTreeMap::new();
        for line in observed.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let (run, day) = ((f[0].to_string(), f[1].parse::<i64>().unwrap()), micros(day_number(f[2])));
            let window = runs.entry(run).or_default().entry(day).or_insert_with(|| WindowObservations { start: day, valid: f[3] == "t", columns: Vec::new() });
            let spread = f[5].parse::<f64>().ok().filter(|s| s.is_finite());
            let column = match window.columns.iter().position(|c| c.column == f[4]) {
                Some(i) => &mut window.columns[i],
                None => {
                    window.columns.push(ColumnObservations { column: f[4].to_string(), spread, observations: Vec::new() });
                    window.columns.last_mut().unwrap()
                }
            };
            if statistic_code(f[6]).is_some() {
                column.observations.push(Observation::of(f[6], f[7].parse().unwrap()));
            }
        }
        let mut bug_days: HashMap<(String, i64, i64), (String, Vec<String>)> = HashMap::new();
        for line in bugs.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            bug_days.insert((f[0].to_string(), f[1].parse().unwrap(), micros(day_number(f[2]))), (f[3].to_string(), f[4].split('|').map(String::from).collect()));
        }
        // Per feed: sums of precision, recall, top column right, average precision, and the seeds.
        let mut per_feed: BTreeMap<String, (f64, f64, f64, f64, usize)> = BTreeMap::new();
        let mut caught_by_bug: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
        let mut false_alarms: BTreeMap<String, usize> = BTreeMap::new();
        for ((feed, seed), windows) in &runs {
            let windows: Vec<WindowObservations> = windows.values().cloned().collect();
            let first = windows[0].start;
            let scores = score_windows(&windows);
            let (mut alerts, mut caught, mut bugs_judged, mut top_right) = (0, 0, 0, 0);
            // Average precision: days ranked by score (learning ones at 0), as the benchmark does.
            let mut ranked: Vec<(f64, i64, bool)> = scores
                .iter()
                .filter(|s| s.start > first + 28 * DAY)
                .map(|s| (s.score.unwrap_or(0.0), s.start, bug_days.contains_key(&(feed.clone(), *seed, s.start))))
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let (mut bugs_so_far, mut precision_sum) = (0usize, 0.0);
            for (rank, &(_, _, bug)) in ranked.iter().enumerate() {
                if bug {
                    bugs_so_far += 1;
                    precision_sum += bugs_so_far as f64 / (rank + 1) as f64;
                }
            }
            let average_precision = precision_sum / bugs_so_far.max(1) as f64;
            // The other columns that stood out in a window (verbose output).
            let others = |s: &WindowScore| {
                s.columns.iter().skip(1).filter(|c| c.score >= 0.3).map(|c| format!("{}:{} {:.2}", c.column, c.statistic, c.score)).collect::<Vec<_>>().join(", ")
            };
            for s in scores.iter().filter(|s| s.start > first + 28 * DAY) {
                let bug = bug_days.get(&(feed.clone(), *seed, s.start));
                let alerted = s.status == Status::Alert;
                alerts += alerted as usize;
                let day = (s.start - first) / DAY;
                if let Some((kind, columns)) = bug {
                    if !alerted && verbose {
                        let top = s.columns.first().map(|c| format!("{}:{} score {:.2} raw {:.1}", c.column, c.statistic, c.score, c.raw)).unwrap_or_default();
                        println!("  {feed} {seed} missed day {day} {kind} {columns:?}: {top}; also {}", others(s));
                    }
                    bugs_judged += 1;
                    caught += alerted as usize;
                    if alerted && verbose {
                        println!("  {feed} {seed} caught day {day} {kind} {columns:?}: {}:{} score {:.2}; also {}", s.columns[0].column, s.columns[0].statistic, s.columns[0].score, others(s));
                    }
                    if alerted {
                        // A pair of columns ("a < b") is right when either is.
                        let top = &s.columns[0].column;
                        let right = columns.contains(top) || top.split(" < ").any(|part| columns.iter().any(|c| c == part));
                        top_right += right as usize;
                        if !right && verbose {
                            println!("  {feed} {seed} wrong top day {day} {kind} {columns:?}: {}:{}", s.columns[0].column, s.columns[0].statistic);
                        }
                    }
                    let entry = caught_by_bug.entry((feed.clone(), kind.clone())).or_default();
                    entry.0 += 1;
                    entry.1 += alerted as usize;
                } else if alerted {
                    *false_alarms.entry(format!("{feed} {}:{}", s.columns[0].column, s.columns[0].statistic)).or_default() += 1;
                    if verbose {
                        let c = &s.columns[0];
                        println!("  {feed} {seed} false alarm day {day} {}:{} score {:.2} raw {:.1} value {:.3} usual {:.3}; also {}", c.column, c.statistic, c.score, c.raw, c.value, c.usual, others(s));
                    }
                }
            }
            let (p, r) = (caught as f64 / alerts.max(1) as f64, caught as f64 / bugs_judged.max(1) as f64);
            let t = top_right as f64 / caught.max(1) as f64;
            let ap = average_precision;
            println!("{feed} seed {seed}: alerts {alerts}, bug days {bugs_judged}, precision {p:.3}, recall {r:.3}, average precision {ap:.3}, top column right {t:.3}");
            let e = per_feed.entry(feed.clone()).or_default();
            (e.0, e.1, e.2, e.3, e.4) = (e.0 + p, e.1 + r, e.2 + t, e.3 + ap, e.4 + 1);
        }
        for (feed, (p, r, t, ap, n)) in &per_feed {
            let n = *n as f64;
            println!("{feed}: mean precision {:.3} recall {:.3} average precision {:.3} top column right {:.3}", p / n, r / n, ap / n, t / n);
        }
        println!("caught per bug: {caught_by_bug:?}");
        let mut fa: Vec<_> = false_alarms.into_iter().collect();
        fa.sort_by(|a, b| b.1.cmp(&a.1));
        println!("false alarms by top statistic: {fa:?}");
    }
}
