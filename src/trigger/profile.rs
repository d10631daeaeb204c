//! Statistics on the write path: profiles of the watched columns, per window, fed in the same
//! pass over the transition table as the rules, written as one delta row per window touched.

use crate::catalog::compact::{compact, compact_own, insert_delta, DeltaRef, Part, Policy, WindowKey};
use crate::catalog::cache::Watch;
use crate::catalog::Repr;
use crate::profile::window::{encode, Arrivals, finite_date, finite_timestamp, fraction_of_window, window_start, TIME_IN_WINDOW_ATTNUM};
use crate::profile::relations::{LoneNulls, PairOrders, MAX_COLUMNS};
use crate::profile::{ColumnProfile, ProfileKind};
use pgrx::pg_sys::{self, Datum};

/// A backend merges the deltas it wrote to a window, by their tids, after this many more of
/// them: storage and reads stay small with no background worker.
const OWN_COMPACT_EVERY: u32 = 32;
/// Deltas of the table a backend writes between sweeps of the windows it touches through the
/// index, which merge what other (perhaps long gone) backends left. At most once per table and
/// transaction: the rows a transaction deletes stay in its own index scans until it ends. A
/// backend's first write to a table also merges the unindexed deltas of its windows (a scan of
/// that small partition alone), so that sessions of a few statements each leave no trail there.
const SWEEP_EVERY: u32 = 16_384;
/// Windows whose own deltas are remembered at most (each list stays short: it is compacted every
/// OWN_COMPACT_EVERY deltas); past this they are forgotten and sweeps merge them instead.
const OWN_WINDOWS_KEPT: usize = 4_096;

#[derive(Default)]
struct OwnDeltas {
    deltas: Vec<DeltaRef>,
    added: u32,
}

#[derive(Default)]
struct Sweeps {
    since_sweep: u32,
    swept_in: Option<pg_sys::TransactionId>,
}

thread_local! {
    static OWN_DELTAS: std::cell::RefCell<std::collections::HashMap<(pg_sys::Oid, WindowKey), OwnDeltas>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
    static SWEEPS: std::cell::RefCell<std::collections::HashMap<pg_sys::Oid, Sweeps>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Remembers a delta this backend wrote and merges the window's own deltas when due. A backend
/// that starts on a new window of a table also merges the unindexed deltas it left in the
/// table's other windows: a window it moved on from would otherwise keep them unmerged, and the
/// unindexed partition, which readers scan whole, would grow by a few per backend and window.
fn remember(relid: pg_sys::Oid, key: WindowKey, delta: DeltaRef) {
    let left_behind = OWN_DELTAS.with(|m| {
        let mut m = m.borrow_mut();
        if m.contains_key(&(relid, key)) {
            return Vec::new();
        }
        m.iter_mut()
            .filter(|(k, own)| k.0 == relid && own.deltas.iter().any(|d| d.part == Part::Unindexed))
            .map(|(k, own)| (k.1, std::mem::take(&mut own.deltas)))
            .collect::<Vec<_>>()
    });
    for (other, deltas) in left_behind {
        merge_own(relid, other, deltas, true);
    }
    let own = OWN_DELTAS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= OWN_WINDOWS_KEPT {
            m.clear();
        }
        let entry = m.entry((relid, key)).or_default();
        entry.deltas.push(delta);
        entry.added += 1;
        if entry.added < OWN_COMPACT_EVERY {
            return None;
        }
        entry.added = 0;
        Some(std::mem::take(&mut entry.deltas))
    });
    if let Some(deltas) = own {
        merge_own(relid, key, deltas, false);
    }
}

/// Compacts own deltas taken out of OWN_DELTAS and puts back what is left of them.
fn merge_own(relid: pg_sys::Oid, key: WindowKey, mut deltas: Vec<DeltaRef>, small_only: bool) {
    compact_own(relid, key, &mut deltas, small_only);
    OWN_DELTAS.with(|m| m.borrow_mut().entry((relid, key)).or_default().deltas.append(&mut deltas));
}

/// Windows profiled at once in one statement; past this, the open ones are written out and
/// started afresh (deltas merge on read), so a COPY spanning years stays in bounded memory.
const MAX_OPEN_WINDOWS: usize = 32;

struct OpenWindow {
    /// Microseconds since 2000-01-01; None for a NULL time.
    start: Option<i64>,
    rows: i64,
    profiles: Vec<ColumnProfile>,
    /// Where the rows' times fall in the window (tables with a time column).
    times: ColumnProfile,
    /// How the paired columns are ordered row by row.
    orders: PairOrders,
    /// Per watched column, the rows where it was the only NULL.
    lone_nulls: LoneNulls,
}

thread_local! {
    /// Windows' profiles kept, emptied, from one statement to the next: a single-row write then
    /// allocates nothing for them.
    static SPARE_WINDOWS: std::cell::RefCell<Vec<OpenWindow>> = const { std::cell::RefCell::new(Vec::new()) };
}
const SPARE_WINDOWS_KEPT: usize = 4;

impl OpenWindow {
    fn open(watch: &Watch, start: Option<i64>) -> OpenWindow {
        let fits = |w: &OpenWindow| {
            w.profiles.len() == watch.columns.len()
                && w.profiles.iter().zip(&watch.columns).all(|(p, c)| p.kind == c.kind)
                && w.orders.pairs.len() == watch.paired.len() * watch.paired.len().saturating_sub(1) / 2
                && w.orders.pairs.first().is_none_or(|p| p.0 == watch.columns[watch.paired[0]].attnum)
                && w.lone_nulls.counts.iter().map(|c| c.0).eq(watch.columns.iter().map(|c| c.attnum))
        };
        match SPARE_WINDOWS.with(|s| s.borrow_mut().pop()) {
            Some(mut spare) if fits(&spare) => {
                spare.start = start;
                spare
            }
            _ => {
                let profiles = watch.columns.iter().map(|c| ColumnProfile::new(c.kind)).collect();
                let paired: Vec<i16> = watch.paired.iter().map(|&i| watch.columns[i].attnum).collect();
                let watched: Vec<i16> = watch.columns.iter().map(|c| c.attnum).collect();
                OpenWindow {
                    start,
                    rows: 0,
                    profiles,
                    times: ColumnProfile::new(ProfileKind::Numeric),
                    orders: PairOrders::for_columns(&paired),
                    lone_nulls: LoneNulls::for_columns(&watched),
                }
            }
        }
    }

    /// Empties the window and keeps it for the next statement.
    fn recycle(mut self) {
        self.rows = 0;
        self.profiles.iter_mut().for_each(ColumnProfile::clear);
        self.times.clear();
        self.orders.clear();
        self.lone_nulls.clear();
        SPARE_WINDOWS.with(|s| {
            let mut spare = s.borrow_mut();
            if spare.len() < SPARE_WINDOWS_KEPT {
                spare.push(self);
            }
        });
    }
}

pub struct ProfileBatch<'a> {
    watch: &'a Watch,
    windows: Vec<OpenWindow>,
    /// The window of the previous row: rows usually arrive in time order.
    last: usize,
    /// Without a time column every row falls in the window of the statement's start.
    write_window: Option<i64>,
}

impl<'a> ProfileBatch<'a> {
    pub fn new(watch: &'a Watch) -> Self {
        let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
        ProfileBatch { watch, windows: Vec::new(), last: 0, write_window: Some(window_start(now, watch.window_usecs)) }
    }

    /// The number of attributes a row must have deformed for these profiles.
    pub fn natts(&self) -> i32 {
        let columns = self.watch.columns.iter().map(|c| c.attno as i32 + 1);
        columns.chain(self.watch.time.map(|(attno, _)| attno as i32 + 1)).max().unwrap_or(0)
    }

    /// The row's time in microseconds (None: NULL or ±infinity, or no time column).
    fn time_of(&self, values: *const Datum, nulls: *const bool) -> Option<i64> {
        let (attno, repr) = self.watch.time?;
        unsafe {
            if *nulls.add(attno) {
                return None;
            }
            let raw = (*values.add(attno)).value() as i64;
            if repr == Repr::Date { finite_date(raw as i32) } else { finite_timestamp(raw) }
        }
    }

    #[inline]
    pub unsafe fn row(&mut self, values: *const Datum, nulls: *const bool) {
        let time = self.time_of(values, nulls);
        let size = self.watch.window_usecs;
        // Rows usually fall in the previous row's window: then no division places them.
        let in_last = |w: &OpenWindow| matches!((w.start, time), (Some(start), Some(t)) if t >= start && t - start < size);
        let key = match time {
            Some(_) if self.windows.get(self.last).is_some_and(in_last) => self.windows[self.last].start,
            Some(t) => Some(window_start(t, size)),
            None if self.watch.time.is_some() => None,
            None => self.write_window,
        };
        if self.windows.get(self.last).is_none_or(|w| w.start != key) {
            self.last = match self.windows.iter().position(|w| w.start == key) {
                Some(i) => i,
                None => {
                    if self.windows.len() >= MAX_OPEN_WINDOWS {
                        self.write();
                    }
                    let window = OpenWindow::open(self.watch, key);
                    self.windows.push(window);
                    self.windows.len() - 1
                }
            };
        }
        let window = &mut self.windows[self.last];
        window.rows += 1;
        if let (Some(t), Some(start)) = (time, window.start) {
            window.times.push_f64(fraction_of_window(t, start, self.watch.window_usecs));
        }
        let profiles = &mut window.profiles;
        // The row's NULLs among the watched columns, and the last of them (see LoneNulls).
        let (mut row_nulls, mut null_at) = (0u32, 0usize);
        for (i, (column, profile)) in self.watch.columns.iter().zip(profiles.iter_mut()).enumerate() {
            if *nulls.add(column.attno) {
                profile.push_null();
                row_nulls += 1;
                null_at = i;
                continue;
            }
            push_value(profile, column.kind, column.repr, *values.add(column.attno));
        }
        if row_nulls == 1 {
            window.lone_nulls.lone(null_at);
        }
        if self.watch.paired.len() > 1 {
            count_pairs(self.watch, &mut window.orders, values, nulls);
        }
    }

    /// Closes the open windows: those of few rows are kept to be written with the transaction's
    /// other small writes to them (`Unwritten`), the others appended as one delta row each, as
    /// the extension's owner, in the writer's transaction.
    pub fn write(&mut self) {
        if self.windows.is_empty() {
            return;
        }
        let attnums: Vec<i16> = self.watch.columns.iter().map(|c| c.attnum).collect();
        let (relid, epoch) = (self.watch.relid, self.watch.epoch);
        // With one column watched, its lone NULLs are all its NULLs: not worth a frame.
        let count_lone = self.watch.columns.len() > 1;
        let arrived = Arrivals::at(unsafe { pg_sys::GetCurrentStatementStartTimestamp() });
        let subxid = unsafe { pg_sys::GetCurrentSubTransactionId() };
        let touched: Vec<WindowKey> = self.windows.iter().map(|w| (epoch, w.start)).collect();
        for window in self.windows.drain(..) {
            if window.rows < KEEP_BELOW_ROWS {
                keep_unwritten(relid, epoch, subxid, &attnums, count_lone, window, arrived);
            } else {
                write_delta(relid, epoch, &attnums, count_lone, &window, arrived);
                window.recycle();
            }
        }
        self.last = 0;
        if let Some(newest) = touched.iter().filter_map(|w| w.1).max() {
            // Finished windows are judged on everything written to them, kept rows too.
            write_unwritten_where(|u| u.relid == relid && u.window.start.is_none_or(|s| s < newest));
            crate::monitor::evaluate::evaluate_if_due(relid, newest, self.watch.window_usecs);
        }
        let xid = unsafe { pg_sys::GetTopTransactionId() };
        let sweep = SWEEPS.with(|s| {
            let mut s = s.borrow_mut();
            let first_write = !s.contains_key(&relid);
            let sweeps = s.entry(relid).or_default();
            sweeps.since_sweep += touched.len() as u32;
            if sweeps.swept_in == Some(xid) {
                return None;
            }
            let policy = if sweeps.since_sweep >= SWEEP_EVERY {
                Policy::Tiered
            } else if first_write {
                Policy::Unindexed
            } else {
                return None;
            };
            *sweeps = Sweeps { since_sweep: 0, swept_in: Some(xid) };
            Some(policy)
        });
        if let Some(policy) = sweep {
            compact(relid, Some(&touched), policy);
        }
    }
}

/// Appends a window's profiles as one delta row and remembers it for compaction.
fn write_delta(relid: pg_sys::Oid, epoch: i32, attnums: &[i16], count_lone: bool, window: &OpenWindow, arrived: Arrivals) {
    let lone_nulls = count_lone.then_some(&window.lone_nulls);
    // Ascending attnums, as merged payloads list them (merges then pair columns by place).
    let times = (window.times.rows > 0).then_some((TIME_IN_WINDOW_ATTNUM, &window.times));
    let columns: Vec<(i16, &ColumnProfile)> = times.into_iter().chain(attnums.iter().copied().zip(window.profiles.iter())).collect();
    let key = (epoch, window.start);
    let delta = insert_delta(Part::for_write(window.rows), relid, key, window.rows, &encode(&columns, Some(&window.orders), lone_nulls, Some(arrived)));
    remember(relid, key, delta);
}

/// A statement's window of fewer rows than this is kept until its transaction commits, merged
/// with the transaction's other small writes to the window: a transaction of many small
/// statements (single-row INSERTs, postgres_fdw sending a COPY to a data node row by row)
/// writes one delta per window, not one per statement. Larger batches are deltas of their own.
const KEEP_BELOW_ROWS: i64 = 16;
/// Windows kept at most; past this, the kept ones are written out.
const UNWRITTEN_KEPT: usize = 32;

/// A window's profiles not written yet, of the subtransaction that wrote them.
struct Unwritten {
    relid: pg_sys::Oid,
    epoch: i32,
    subxid: pg_sys::SubTransactionId,
    attnums: Vec<i16>,
    count_lone: bool,
    window: OpenWindow,
    arrived: Arrivals,
}

thread_local! {
    static UNWRITTEN: std::cell::RefCell<Vec<Unwritten>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Kept windows written inside a subtransaction (a reader or a finished window asked for
    /// them there), with it: should it roll back, their deltas go with it, and the windows are
    /// kept again unless they were its own.
    static WRITTEN_IN_SUBXACT: std::cell::RefCell<Vec<(pg_sys::SubTransactionId, Unwritten)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

const TOP_SUBXACT: pg_sys::SubTransactionId = 1; // TopSubTransactionId

/// Keeps a statement's small window: merged into the subtransaction's kept one of the same
/// table, epoch and start, or kept anew.
fn keep_unwritten(
    relid: pg_sys::Oid,
    epoch: i32,
    subxid: pg_sys::SubTransactionId,
    attnums: &[i16],
    count_lone: bool,
    window: OpenWindow,
    arrived: Arrivals,
) {
    let full = UNWRITTEN.with(|u| {
        let mut u = u.borrow_mut();
        let same = u
            .iter_mut()
            .find(|k| (k.relid, k.epoch, k.subxid, k.window.start) == (relid, epoch, subxid, window.start) && k.attnums == attnums);
        match same {
            Some(kept) => {
                let merged = kept.window.profiles.iter_mut().zip(&window.profiles).all(|(a, b)| a.merge(b).is_ok())
                    && kept.window.times.merge(&window.times).is_ok();
                debug_assert!(merged, "the same watch profiles the same kinds");
                kept.window.rows += window.rows;
                kept.window.orders.merge(&window.orders);
                kept.window.lone_nulls.merge(&window.lone_nulls);
                kept.arrived.merge(&arrived);
                window.recycle();
            }
            None => u.push(Unwritten { relid, epoch, subxid, attnums: attnums.to_vec(), count_lone, window, arrived }),
        }
        u.len() > UNWRITTEN_KEPT
    });
    if full {
        write_unwritten_where(|_| true);
    }
}

/// Writes the kept windows that `which` selects (of tables that still exist and are watched in
/// the same epoch: a table dropped, truncated or unwatched since has no use for them).
fn write_unwritten_where(which: impl Fn(&Unwritten) -> bool) {
    let taken: Vec<Unwritten> = UNWRITTEN.with(|u| {
        let mut u = u.borrow_mut();
        if !u.iter().any(&which) {
            return Vec::new(); // the common case on every statement: nothing to move
        }
        let (taken, kept): (Vec<Unwritten>, Vec<Unwritten>) = u.drain(..).partition(|k| which(k));
        *u = kept;
        taken
    });
    let current = unsafe { pg_sys::GetCurrentSubTransactionId() };
    for k in taken {
        let exists = unsafe { pg_sys::get_rel_relkind(k.relid) } != 0;
        if exists && crate::catalog::cache::ruleset_for(k.relid).watch.as_ref().is_some_and(|w| w.epoch == k.epoch) {
            write_delta(k.relid, k.epoch, &k.attnums, k.count_lone, &k.window, k.arrived);
        }
        if current == TOP_SUBXACT {
            k.window.recycle();
        } else {
            WRITTEN_IN_SUBXACT.with(|w| w.borrow_mut().push((current, k)));
        }
    }
}

/// Writes every kept window: before the transaction commits or is prepared, and before its
/// statistics are read.
pub fn write_unwritten() {
    write_unwritten_where(|_| true);
}

/// A subtransaction ended: what it kept goes with it (abort) or to its parent (commit); what
/// it wrote of its ancestors' kept windows is kept again (abort) or becomes its parent's.
pub fn end_of_subxact(my_subid: pg_sys::SubTransactionId, parent_subid: pg_sys::SubTransactionId, committed: bool) {
    UNWRITTEN.with(|u| {
        let mut u = u.borrow_mut();
        if committed {
            u.iter_mut().filter(|k| k.subxid == my_subid).for_each(|k| k.subxid = parent_subid);
        } else {
            u.retain(|k| k.subxid != my_subid);
        }
    });
    let ended: Vec<Unwritten> = WRITTEN_IN_SUBXACT.with(|w| {
        let mut w = w.borrow_mut();
        let (ended, rest): (Vec<_>, Vec<_>) = w.drain(..).partition(|(at, _)| *at == my_subid);
        *w = rest;
        ended.into_iter().map(|(_, k)| k).collect()
    });
    for k in ended {
        if committed && parent_subid != TOP_SUBXACT {
            WRITTEN_IN_SUBXACT.with(|w| w.borrow_mut().push((parent_subid, k)));
        } else if !committed && k.subxid != my_subid {
            UNWRITTEN.with(|u| u.borrow_mut().push(k));
        } else {
            k.window.recycle();
        }
    }
}

/// The transaction ended: nothing it kept is written any more.
pub fn forget_unwritten() {
    UNWRITTEN.with(|u| u.borrow_mut().clear());
    WRITTEN_IN_SUBXACT.with(|w| w.borrow_mut().clear());
}

/// One row into its window's pair orders. Out of line: inlined, it kept the per-value profiling
/// of `ProfileBatch::row` from being inlined into the pass over the rows.
#[inline(never)]
unsafe fn count_pairs(watch: &Watch, orders: &mut PairOrders, values: *const Datum, nulls: *const bool) {
    let mut paired = [f64::NAN; MAX_COLUMNS];
    for (value, &i) in paired.iter_mut().zip(&watch.paired) {
        let column = watch.columns.get_unchecked(i);
        if !*nulls.add(column.attno) {
            *value = as_f64(column.repr, *values.add(column.attno));
        }
    }
    orders.row(&paired[..watch.paired.len()]);
}

/// One non-NULL value of a column into its profile. A float goes straight in, inlined into the
/// per-row loops (a call per value cost more than profiling it); other types take a call.
#[inline(always)]
pub(super) unsafe fn push_value(profile: &mut ColumnProfile, kind: ProfileKind, repr: Repr, d: Datum) {
    if kind == ProfileKind::Numeric && repr == Repr::Float8 {
        profile.push_f64(f64::from_bits(d.value() as u64));
    } else {
        push_other_value(profile, kind, repr, d);
    }
}

#[inline(never)]
unsafe fn push_other_value(profile: &mut ColumnProfile, kind: ProfileKind, repr: Repr, d: Datum) {
    match kind {
        ProfileKind::Numeric => profile.push_f64(as_f64(repr, d)),
        ProfileKind::Categorical => match repr {
            Repr::Bool => profile.push_text(if d.value() != 0 { "true" } else { "false" }),
            _ => {
                let bytes = super::eval::text_bytes(repr, d);
                match std::str::from_utf8(bytes) {
                    Ok(s) => profile.push_text(s),
                    Err(_) => profile.push_text(&String::from_utf8_lossy(bytes)),
                }
            }
        },
    }
}

#[inline]
unsafe fn as_f64(repr: Repr, d: Datum) -> f64 {
    match repr {
        Repr::Int2 => d.value() as i16 as f64,
        Repr::Int4 => d.value() as i32 as f64,
        Repr::Int8 => d.value() as i64 as f64,
        Repr::Float4 => f32::from_bits(d.value() as u32) as f64,
        Repr::Float8 => f64::from_bits(d.value() as u64),
        _ => pgrx::fcinfo::direct_function_call_as_datum(pg_sys::numeric_float8_no_overflow, &[Some(d)])
            .map_or(f64::NAN, |f| f64::from_bits(f.value() as u64)),
    }
}

/// The columns batch-level constraints judge, profiled over one write batch.
pub struct BatchAggregates {
    /// (0-based position, representation, profile kind, profile); a column of a type that
    /// cannot be profiled only counts its NULLs (enough for completeness).
    columns: Vec<(usize, Repr, Option<ProfileKind>, ColumnProfile)>,
}

impl BatchAggregates {
    pub fn new(set: &crate::catalog::cache::RuleSet) -> Option<Self> {
        let mut columns: Vec<(usize, Repr, Option<ProfileKind>, ColumnProfile)> = Vec::new();
        for (_, attno, repr) in set.aggregates.iter().filter_map(|a| a.column.as_ref()) {
            if !columns.iter().any(|c| c.0 == *attno) {
                let kind = repr.profile_kind();
                columns.push((*attno, *repr, kind, ColumnProfile::new(kind.unwrap_or(ProfileKind::Categorical))));
            }
        }
        (!set.aggregates.is_empty()).then_some(BatchAggregates { columns })
    }

    pub fn natts(&self) -> i32 {
        self.columns.iter().map(|c| c.0 as i32 + 1).max().unwrap_or(0)
    }

    #[inline]
    pub unsafe fn row(&mut self, values: *const Datum, nulls: *const bool) {
        for (attno, repr, kind, profile) in &mut self.columns {
            if *nulls.add(*attno) {
                profile.push_null();
            } else if let Some(kind) = kind {
                push_value(profile, *kind, *repr, *values.add(*attno));
            } else {
                profile.rows += 1; // counted, not profiled
            }
        }
    }

    /// The aggregates of the column at `attno` (None: the table) over a batch of `rows`.
    pub fn observed(&self, attno: Option<usize>, rows: u64, quantile: Option<f64>) -> crate::rules::aggregate::Observed {
        use crate::rules::aggregate::Observed;
        let Some(attno) = attno else { return Observed { rows, ..Default::default() } };
        let Some((_, _, kind, p)) = self.columns.iter().find(|c| c.0 == attno) else { return Observed { rows, ..Default::default() } };
        Observed::of_profile(p, kind.is_some(), quantile)
    }
}
