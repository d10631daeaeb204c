//! Windows without rows and tables that stopped writing: a load that never runs writes nothing,
//! so only the table's own habits (drift::gaps) can tell it is missing.

use crate::catalog::as_extension_owner;
use crate::drift::gaps::{self, Arrival, Gap, DEFAULT_GRACE};
use crate::drift::score::HISTORY_WINDOWS;
use crate::stats::{window_arrivals, window_rows};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys::Oid;

/// vigil.grace, in seconds (-1: learned from each table's own arrivals).
static GRACE_SECONDS: GucSetting<i32> = GucSetting::<i32>::new(-1);

pub(crate) fn define_settings() {
    GucRegistry::define_int_guc(
        c"vigil.grace",
        c"How long after a window ends an expected window without rows counts as missing.",
        c"-1 (the default) learns it from each table's own arrivals: 1.5 times the 90th percentile of how late its rows usually come. vigil.set_grace overrides it per table.",
        &GRACE_SECONDS,
        -1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_S,
    );
}

/// What is known of when a watched table's rows arrive, and its windows without rows.
pub(crate) struct Timeliness {
    /// Learned from live writes; None for a table loaded with history (no gaps are judged then).
    pub arrival: Option<Arrival>,
    pub grace: i64,
    /// The latest write into any recent window (statement time).
    pub last_write: Option<i64>,
    /// The ended windows without rows, judged (empty unless `arrival` is known).
    pub gaps: Vec<(i64, Gap)>,
    /// The newest window with rows.
    pub newest: Option<i64>,
}

impl Timeliness {
    /// One line for an alert on an empty window.
    pub fn summary(&self, start: i64) -> String {
        let since = match self.last_write {
            Some(w) => format!("no writes since {}", crate::catalog::timestamptz(w)),
            None => "no writes seen".into(),
        };
        format!("window starting {} has no rows; {since}", crate::catalog::timestamptz(start))
    }

    /// The first expected window still waiting for its rows (pending or late): evaluation
    /// stops before it, so it is judged again when its grace has passed.
    pub fn first_waiting(&self) -> Option<i64> {
        self.gaps.iter().find(|g| matches!(g.1, Gap::Pending | Gap::Late)).map(|g| g.0)
    }

    /// vigil.freshness's status: 'missing' when an expected window after the newest rows is
    /// past its grace, 'late' when one is later than usual, 'fresh' otherwise, 'learning' until
    /// arrivals are known.
    pub fn status(&self) -> &'static str {
        if self.arrival.is_none() {
            return "learning";
        }
        let after_newest = self.gaps.iter().filter(|g| self.newest.is_none_or(|n| g.0 > n));
        let mut status = "fresh";
        for (_, gap) in after_newest {
            match gap {
                Gap::Missing => return "missing",
                Gap::Late => status = "late",
                _ => {}
            }
        }
        status
    }
}

/// The table's own grace setting (vigil.set_grace), if any.
fn table_grace(relid: Oid) -> Option<i64> {
    let sql = crate::catalog::for_catalog(
        "SELECT (extract(epoch FROM grace) * 1000000)::bigint FROM vigil.watch_def WHERE relid = $1",
        "SELECT NULL::bigint",
    );
    as_extension_owner(|| crate::catalog::select_one::<i64>(sql, &[relid.into()])).ok().flatten()
}

/// The starts of `relid`'s windows with rows (current `epoch`), for callers that have not
/// scored them already (scored windows are exactly these).
pub(crate) fn windows_with_rows(relid: Oid, epoch: i32) -> Vec<i64> {
    window_rows(relid, epoch).into_iter().filter(|w| w.1 > 0).map(|w| w.0).collect()
}

/// Judges `relid`'s windows of `window` usecs (current `epoch`) at `now`; `with_rows` are the
/// starts of its windows with rows, ascending.
pub(crate) fn timeliness(relid: Oid, epoch: i32, window: i64, now: i64, with_rows: &[i64]) -> Timeliness {
    let newest = with_rows.last().copied();
    let since = with_rows.len().checked_sub(HISTORY_WINDOWS).map_or(with_rows.first().copied(), |i| with_rows.get(i).copied());
    let arrivals = since.map(|s| window_arrivals(relid, epoch, s)).unwrap_or_default();
    let first_writes: Vec<(i64, i64)> = arrivals.iter().map(|(&start, a)| (start, a.first)).collect();
    let arrival = gaps::learn_arrival(&first_writes, window);
    let grace = table_grace(relid)
        .or_else(|| (GRACE_SECONDS.get() >= 0).then(|| GRACE_SECONDS.get() as i64 * 1_000_000))
        .or(arrival.map(|a| a.grace))
        .unwrap_or(DEFAULT_GRACE);
    let gaps = match arrival {
        Some(a) => gaps::gaps(with_rows, window, now, a.usual_lag, grace),
        None => Vec::new(),
    };
    Timeliness { arrival, grace, last_write: arrivals.values().map(|a| a.last).max(), gaps, newest }
}
