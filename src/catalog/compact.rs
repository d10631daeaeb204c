//! Compaction of statistics deltas: the deltas of one window are merged into one row.
//!
//! vigil.profile_delta has two partitions. The delta of a small write (fewer than
//! `SMALL_DELTA_ROWS` rows in its window) goes to vigil.profile_delta_unindexed, where writing it
//! costs a heap insert alone: no index entry to add, and none to clean up once it is merged away.
//! Its writer merges its own small deltas into an indexed one every few statements, by their tids,
//! and sweeps merge those other backends left, so that partition stays small enough to be scanned
//! whole. Merges, and the deltas of larger writes, go to vigil.profile_delta_indexed.
//!
//! Writers only ever insert deltas; compaction deletes exactly the rows it read and inserts their
//! merge, in one transaction, so concurrent writers are never blocked and never lose a delta (one
//! that commits meanwhile is simply not part of this merge). A transaction-level advisory lock per
//! table keeps two compactions from merging the same rows; a compaction that cannot get it skips.

use super::as_extension_owner;
use pgrx::datum::TimestampWithTimeZone;
use crate::error::raise;
use crate::profile::window::merge_payloads;
use crate::profile::tiers;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;

/// First key of the advisory locks taken by compaction (the second is the table's OID).
const LOCK_CLASS: i32 = 0x5669_6731; // "Vig1"

/// A window's identity among the deltas: epoch and start (microseconds; None for NULL times).
pub type WindowKey = (i32, Option<i64>);

/// A write's delta holding fewer rows of a window than this goes to the unindexed partition.
const SMALL_DELTA_ROWS: i64 = 16;

/// The partition of vigil.profile_delta that holds a delta.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Part {
    Indexed = 0,
    Unindexed = 1,
}

impl Part {
    /// Where the write path puts the delta of `rows` rows of one window.
    pub fn for_write(rows: i64) -> Part {
        if rows < SMALL_DELTA_ROWS { Part::Unindexed } else { Part::Indexed }
    }
}

fn fail(e: impl std::fmt::Display) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("pg_vigil could not compact statistics: {e}"), None, None)
}

fn lock_deltas(relid: Oid, wait: bool) -> bool {
    super::advisory_xact_lock(LOCK_CLASS, relid, wait)
}

/// Waits until no compaction of `relid` runs, and keeps others out until the transaction ends:
/// for deleting a table's deltas by other means (unwatch).
pub fn exclude_compaction(relid: Oid) {
    lock_deltas(relid, true);
}

/// Which deltas of a window a compaction merges.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// All of them into one row (vigil.compact()).
    Full,
    /// Indexed deltas only in tiers that are full (see profile::tiers), so a write never rewrites
    /// a window's large merged profile for the sake of a few rows; unindexed ones all into one.
    /// The write path's periodic sweep.
    Tiered,
    /// Only the unindexed deltas, into one: what other backends left, swept by a backend's first
    /// write to a table (a scan of that small partition, no index scan).
    Unindexed,
}

/// Merges the deltas of the given windows of `relid` (when `windows` is None, all windows with
/// more than one delta or with an unindexed one). Returns the number of delta rows removed, or
/// None when another compaction of the table holds the lock.
pub fn compact(relid: Oid, windows: Option<&[WindowKey]>, policy: Policy) -> Option<i64> {
    as_extension_owner(|| {
        if !lock_deltas(relid, false) {
            return None;
        }
        let keys: Vec<WindowKey> = match windows {
            Some(w) => w.to_vec(),
            None => Spi::connect(|client| {
                client
                    .select(
                        "SELECT epoch, window_start FROM vigil.profile_delta WHERE relid = $1
                          GROUP BY epoch, window_start HAVING count(*) > 1 OR bool_or(NOT indexed)",
                        None,
                        &[relid.into()],
                    )?
                    .map(|r| Ok((r.get::<i32>(1)?.unwrap_or(0), r.get::<TimestampWithTimeZone>(2)?.map(i64::from))))
                    .collect::<Result<Vec<_>, pgrx::spi::Error>>()
            })
            .unwrap_or_else(|e| fail(e)),
        };
        Some(keys.iter().map(|&key| compact_window(relid, key, policy)).sum())
    })
}

/// A delta row: where it is, how many rows it profiles, and the transaction that inserted it
/// (a tid can hold another row once VACUUM has freed it; the inserting xid tells them apart).
#[derive(Clone, Copy)]
pub struct DeltaRef {
    pub part: Part,
    pub tid: pg_sys::ItemPointerData,
    pub rows: i64,
    pub xmin: pg_sys::TransactionId,
}

/// Merges one window's deltas as `policy` says; returns how many rows went away.
///
/// Deltas are found and read like catalog rows (an index scan, heap fetches) under a snapshot
/// taken after the lock: a kept SQL plan may pick a bitmap scan, which never marks dead index
/// entries and so slows down with every compaction until VACUUM, and a REPEATABLE READ writer's
/// snapshot would miss deltas other compactions committed since it began.
fn compact_window(relid: Oid, key: WindowKey, policy: Policy) -> i64 {
    with_delta_tables(|tables| unsafe {
        let snapshot = latest_snapshot();
        let unindexed = unindexed_window_deltas(tables.rel(Part::Unindexed), snapshot, relid, key);
        let indexed = match policy {
            Policy::Unindexed => Vec::new(),
            _ => indexed_window_deltas(tables.rel(Part::Indexed), tables.index(), snapshot, relid, key),
        };
        let groups: Vec<Vec<DeltaRef>> = match policy {
            Policy::Full => vec![indexed.into_iter().chain(unindexed).collect()],
            Policy::Tiered => plan_groups(&indexed).into_iter().chain([unindexed]).collect(),
            Policy::Unindexed => vec![unindexed],
        };
        let removed = groups.iter().map(|group| merge_group(tables, snapshot, relid, key, group).1).sum();
        pg_sys::UnregisterSnapshot(snapshot);
        removed
    })
}

/// Compacts deltas this backend wrote to one window, found by their tids alone: no index scan,
/// so the cost does not grow with the dead index entries that pile up between VACUUMs. `own` is
/// brought up to date (merged entries replaced by their merge; entries no longer there, because
/// they rolled back or another compaction took them, dropped). Returns false when another
/// compaction holds the table. With `small_only`, all of the list's unindexed deltas are merged
/// into one, whatever their tiers (for a window the backend has moved on from).
pub fn compact_own(relid: Oid, key: WindowKey, own: &mut Vec<DeltaRef>, small_only: bool) -> bool {
    if !lock_deltas(relid, false) {
        return false;
    }
    // A tid listed twice (a slot VACUUM freed and this backend reused) must not merge twice.
    own.sort_by_key(|d| (d.part as u8, block_of(&d.tid), d.tid.ip_posid));
    own.dedup_by(|a, b| same_place(a, b));
    with_delta_tables(|tables| unsafe {
        reuse_space_of_earlier_merges(tables);
        let snapshot = latest_snapshot();
        let groups = if small_only {
            vec![own.iter().filter(|d| d.part == Part::Unindexed).copied().collect()]
        } else {
            plan_groups(own)
        };
        for group in groups {
            let (merged, _) = merge_group(tables, snapshot, relid, key, &group);
            remember_merged_blocks(&group);
            own.retain(|d| !group.iter().any(|g| same_place(g, d)));
            own.extend(merged);
        }
        pg_sys::UnregisterSnapshot(snapshot);
    });
    true
}

thread_local! {
    /// Blocks of the deltas this backend merged away, by the transaction that did it.
    static MERGED_BLOCKS: std::cell::RefCell<(pg_sys::TransactionId, Vec<(Part, pg_sys::BlockNumber)>)> =
        const { std::cell::RefCell::new((pg_sys::InvalidTransactionId, Vec::new())) };
}

fn block_of(tid: &pg_sys::ItemPointerData) -> pg_sys::BlockNumber {
    ((tid.ip_blkid.bi_hi as u32) << 16) | tid.ip_blkid.bi_lo as u32
}

fn remember_merged_blocks(group: &[DeltaRef]) {
    let xid = unsafe { pg_sys::GetCurrentTransactionIdIfAny() };
    MERGED_BLOCKS.with(|m| {
        let mut m = m.borrow_mut();
        if m.0 != xid {
            *m = (xid, Vec::new());
        }
        m.1.extend(group.iter().map(|d| (d.part, block_of(&d.tid))));
        m.1.sort_unstable_by_key(|&(part, block)| (part as u8, block));
        m.1.dedup();
        m.1.truncate(64);
    });
}

/// Prunes the pages whose deltas an earlier transaction of this backend merged away, and tells
/// the free space map what that freed: new deltas then fill those pages again instead of
/// extending the table until the next VACUUM (a single-row write deletes as many deltas as it
/// inserts, so the table need not grow).
unsafe fn reuse_space_of_earlier_merges(tables: &mut DeltaTables) {
    let xid = pg_sys::GetCurrentTransactionIdIfAny();
    let blocks = MERGED_BLOCKS.with(|m| {
        let mut m = m.borrow_mut();
        if m.0 == xid { Vec::new() } else { std::mem::take(&mut m.1) }
    });
    for part in [Part::Indexed, Part::Unindexed] {
        let mut blocks = blocks.iter().filter(|b| b.0 == part).map(|b| b.1).peekable();
        if blocks.peek().is_some() {
            reuse_space(tables.rel(part), blocks);
        }
    }
}

unsafe fn reuse_space(rel: pg_sys::Relation, blocks: impl Iterator<Item = pg_sys::BlockNumber>) {
    let size = pg_sys::RelationGetNumberOfBlocksInFork(rel, pg_sys::ForkNumber::MAIN_FORKNUM);
    for block in blocks.filter(|&b| b < size) {
        let buffer = pg_sys::ReadBuffer(rel, block);
        // Pruned whatever its fill: heap_page_prune_opt waits for a nearly full page, and a page
        // that held a merged delta of a few KB seldom is. Prunes what everyone sees as deleted;
        // a page another backend has pinned is left for a later merge.
        let free = pg_sys::ConditionalLockBufferForCleanup(buffer).then(|| {
            let mut new_dead = 0;
            let vistest = pg_sys::GlobalVisTestFor(rel);
            let no_xid = pg_sys::InvalidTransactionId;
            pg_sys::heap_page_prune(rel, buffer, no_xid, vistest, no_xid, 0, &mut new_dead, std::ptr::null_mut());
            let free = pg_sys::PageGetHeapFreeSpace(pg_sys::BufferGetPage(buffer));
            pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_UNLOCK as i32);
            free
        });
        pg_sys::ReleaseBuffer(buffer);
        if let Some(free) = free {
            pg_sys::RecordPageWithFreeSpace(rel, block, free);
        }
    }
}

/// A snapshot that sees every committed delta and this transaction's own, to be unregistered.
unsafe fn latest_snapshot() -> pg_sys::Snapshot {
    pg_sys::CommandCounterIncrement();
    pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot())
}

/// Whether two refs name the same row slot.
fn same_place(a: &DeltaRef, b: &DeltaRef) -> bool {
    a.part == b.part && (block_of(&a.tid), a.tid.ip_posid) == (block_of(&b.tid), b.tid.ip_posid)
}

fn plan_groups(deltas: &[DeltaRef]) -> Vec<Vec<DeltaRef>> {
    let numbered: Vec<(i64, i64)> = deltas.iter().enumerate().map(|(i, d)| (i as i64, d.rows)).collect();
    tiers::plan(&numbered).into_iter().map(|ids| ids.into_iter().map(|i| deltas[i as usize]).collect()).collect()
}

/// Replaces the deltas of `group` that `snapshot` still sees in this window by their merge, in
/// the indexed partition (a lone unindexed delta moves there). Returns the merged delta (None
/// when none was found) and how many rows went away.
unsafe fn merge_group(
    tables: &mut DeltaTables,
    snapshot: pg_sys::Snapshot,
    relid: Oid,
    key: WindowKey,
    group: &[DeltaRef],
) -> (Option<DeltaRef>, i64) {
    let mut payloads: Vec<Vec<u8>> = Vec::with_capacity(group.len());
    let mut found: Vec<DeltaRef> = Vec::with_capacity(group.len());
    let mut blocks = [None; 2];
    for delta in group {
        let rel = tables.rel(delta.part);
        let size = *blocks[delta.part as usize]
            .get_or_insert_with(|| pg_sys::RelationGetNumberOfBlocksInFork(rel, pg_sys::ForkNumber::MAIN_FORKNUM));
        let Some(payload) = fetch_payload(rel, snapshot, size, delta, relid, key) else { continue };
        payloads.push(payload);
        found.push(*delta);
    }
    if found.len() < 2 && found.iter().all(|d| d.part == Part::Indexed) {
        return (found.first().copied(), 0);
    }
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    let merged = merge_payloads(&refs).unwrap_or_else(|e| fail(e));
    for delta in &found {
        pg_sys::simple_heap_delete(tables.rel(delta.part), &mut delta.tid.clone());
    }
    let rows = found.iter().map(|d| d.rows).sum();
    let merged = insert_into(tables.rel(Part::Indexed), Part::Indexed, relid, key, rows, &merged);
    (Some(merged), found.len() as i64 - 1)
}

/// The delta `tuple` points at, when it belongs to `window` (compared here: a heap scan key
/// cannot match NULL).
unsafe fn delta_ref(part: Part, rel: pg_sys::Relation, tuple: pg_sys::HeapTuple, window: Option<i64>) -> Option<DeltaRef> {
    let mut isnull = false;
    let start = pg_sys::heap_getattr(tuple, 3, (*rel).rd_att, &mut isnull);
    if (!isnull).then(|| start.value() as i64) != window {
        return None;
    }
    let rows = pg_sys::heap_getattr(tuple, 4, (*rel).rd_att, &mut isnull).value() as i64;
    Some(DeltaRef { part, tid: (*tuple).t_self, rows, xmin: (*(*tuple).t_data).t_choice.t_heap.t_xmin })
}

/// Scan keys on a delta's table and epoch.
unsafe fn table_and_epoch_keys(relid: Oid, epoch: i32) -> [pg_sys::ScanKeyData; 3] {
    let mut keys: [pg_sys::ScanKeyData; 3] = std::mem::zeroed();
    let equal = pg_sys::BTEqualStrategyNumber as u16;
    pg_sys::ScanKeyInit(&mut keys[0], 1, equal, pg_sys::Oid::from(pg_sys::F_OIDEQ), pg_sys::Datum::from(relid));
    pg_sys::ScanKeyInit(&mut keys[1], 2, equal, pg_sys::Oid::from(pg_sys::F_INT4EQ), pg_sys::Datum::from(epoch));
    keys
}

/// Collects the deltas a catalog-style scan returns that belong to `window`.
unsafe fn collect_deltas(part: Part, rel: pg_sys::Relation, scan: pg_sys::SysScanDesc, window: Option<i64>) -> Vec<DeltaRef> {
    let mut deltas = Vec::new();
    loop {
        let tuple = pg_sys::systable_getnext(scan);
        if tuple.is_null() {
            break;
        }
        deltas.extend(delta_ref(part, rel, tuple, window));
    }
    pg_sys::systable_endscan(scan);
    deltas
}

/// Every unindexed delta of one window visible to `snapshot`: a scan of the small partition.
unsafe fn unindexed_window_deltas(rel: pg_sys::Relation, snapshot: pg_sys::Snapshot, relid: Oid, (epoch, window): WindowKey) -> Vec<DeltaRef> {
    let mut keys = table_and_epoch_keys(relid, epoch);
    let scan = pg_sys::systable_beginscan(rel, pg_sys::InvalidOid, false, snapshot, 2, keys.as_mut_ptr());
    collect_deltas(Part::Unindexed, rel, scan, window)
}

/// Every indexed delta of one window visible to `snapshot`.
unsafe fn indexed_window_deltas(
    rel: pg_sys::Relation,
    index: Oid,
    snapshot: pg_sys::Snapshot,
    relid: Oid,
    (epoch, window): WindowKey,
) -> Vec<DeltaRef> {
    let mut keys = table_and_epoch_keys(relid, epoch);
    let equal = pg_sys::BTEqualStrategyNumber as u16;
    match window {
        Some(start) => pg_sys::ScanKeyInit(
            &mut keys[2],
            3,
            equal,
            pg_sys::Oid::from(pg_sys::F_TIMESTAMPTZ_EQ),
            pg_sys::Datum::from(start),
        ),
        None => pg_sys::ScanKeyEntryInitialize(
            &mut keys[2],
            (pg_sys::SK_ISNULL | pg_sys::SK_SEARCHNULL) as i32,
            3,
            0,
            pg_sys::InvalidOid,
            pg_sys::InvalidOid,
            pg_sys::InvalidOid,
            pg_sys::Datum::from(0),
        ),
    }
    let scan = pg_sys::systable_beginscan(rel, index, true, snapshot, 3, keys.as_mut_ptr());
    collect_deltas(Part::Indexed, rel, scan, window)
}

/// The payload of the delta at `tid`, if `snapshot` sees it and it still belongs to the window
/// (after a VACUUM a tid may hold another row).
unsafe fn fetch_payload(
    rel: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    blocks: pg_sys::BlockNumber,
    delta: &DeltaRef,
    relid: Oid,
    (epoch, window): WindowKey,
) -> Option<Vec<u8>> {
    // A remembered tid may point past the end (`blocks`) after VACUUM truncated the table.
    if block_of(&delta.tid) >= blocks {
        return None;
    }
    let mut tuple: pg_sys::HeapTupleData = std::mem::zeroed();
    tuple.t_self = delta.tid;
    let mut buffer: pg_sys::Buffer = pg_sys::InvalidBuffer as pg_sys::Buffer;
    if !pg_sys::heap_fetch(rel, snapshot, &mut tuple, &mut buffer, false) {
        return None;
    }
    if (*tuple.t_data).t_choice.t_heap.t_xmin != delta.xmin {
        pg_sys::ReleaseBuffer(buffer);
        return None; // another row in a reused slot
    }
    let desc = (*rel).rd_att;
    let mut isnull = false;
    let mut attribute = |attnum: i32| {
        let value = pg_sys::heap_getattr(&mut tuple, attnum, desc, &mut isnull);
        (!isnull).then_some(value)
    };
    let belongs = attribute(1).map(|d| d.value() as u32) == Some(relid.to_u32())
        && attribute(2).map(|d| d.value() as i32) == Some(epoch)
        && attribute(3).map(|d| d.value() as i64) == window;
    let payload = if belongs {
        attribute(5).map(|datum| {
            let bytes = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
            pgrx::varlena::varlena_to_byte_slice(bytes).to_vec()
        })
    } else {
        None
    };
    pg_sys::ReleaseBuffer(buffer);
    payload
}

/// The OIDs of vigil.profile_delta's partitions and of the window index.
#[derive(Clone, Copy)]
struct DeltaOids {
    namespace: Oid,
    tables: [Oid; 2],
    index: Oid,
}

thread_local! {
    /// The delta tables, as last looked up: kept, they save three catalog lookups per statement.
    static DELTA_OIDS: std::cell::Cell<Option<DeltaOids>> = const { std::cell::Cell::new(None) };
}

const PARTITION_NAMES: [&std::ffi::CStr; 2] = [c"profile_delta_indexed", c"profile_delta_unindexed"];

/// Looks up the delta tables by name (their OIDs change when the extension is dropped and
/// created again) and keeps what it found.
unsafe fn lookup_delta_tables() -> DeltaOids {
    let namespace = pg_sys::get_namespace_oid(c"vigil".as_ptr(), true);
    let lookup = |name: &std::ffi::CStr| {
        if namespace == pg_sys::InvalidOid {
            pg_sys::InvalidOid
        } else {
            pg_sys::get_relname_relid(name.as_ptr(), namespace)
        }
    };
    let oids = DeltaOids { namespace, tables: PARTITION_NAMES.map(lookup), index: lookup(c"profile_delta_window_idx") };
    if oids.tables.contains(&pg_sys::InvalidOid) || oids.index == pg_sys::InvalidOid {
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE, "pg_vigil is not installed in this database", None, None);
    }
    DELTA_OIDS.with(|c| c.set(Some(oids)));
    oids
}

/// Opens the partition at `oids` if it still is that partition (same name and namespace, and
/// for the indexed one, the index still one of its indexes).
unsafe fn open_if_still(oids: &DeltaOids, part: Part) -> Option<pg_sys::Relation> {
    let rel = pg_sys::try_table_open(oids.tables[part as usize], pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
    if rel.is_null() {
        return None;
    }
    let form = (*rel).rd_rel;
    let name = std::ffi::CStr::from_ptr((*form).relname.data.as_ptr());
    let index_ok = part == Part::Unindexed || pg_sys::list_member_oid(pg_sys::RelationGetIndexList(rel), oids.index);
    if (*form).relnamespace == oids.namespace && name == PARTITION_NAMES[part as usize] && index_ok {
        return Some(rel);
    }
    pg_sys::table_close(rel, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
    None
}

/// The delta partitions a compaction or write uses, each opened on first use.
struct DeltaTables {
    oids: DeltaOids,
    open: [pg_sys::Relation; 2],
}

impl DeltaTables {
    unsafe fn rel(&mut self, part: Part) -> pg_sys::Relation {
        let slot = part as usize;
        if self.open[slot].is_null() {
            let rel = match open_if_still(&self.oids, part) {
                Some(rel) => rel,
                None => {
                    self.oids = lookup_delta_tables();
                    pg_sys::table_open(self.oids.tables[slot], pg_sys::RowExclusiveLock as pg_sys::LOCKMODE)
                }
            };
            if (*(*rel).rd_att).natts != 6 {
                fail("vigil.profile_delta does not have the columns this version of pg_vigil writes");
            }
            self.open[slot] = rel;
        }
        self.open[slot]
    }

    unsafe fn index(&mut self) -> Oid {
        self.rel(Part::Indexed); // checks the kept index OID
        self.oids.index
    }
}

/// Runs `f` with the delta partitions, closing those it opened.
fn with_delta_tables<R>(f: impl FnOnce(&mut DeltaTables) -> R) -> R {
    unsafe {
        let oids = DELTA_OIDS.with(|c| c.get()).unwrap_or_else(|| lookup_delta_tables());
        let mut tables = DeltaTables { oids, open: [std::ptr::null_mut(); 2] };
        let result = f(&mut tables);
        for rel in tables.open.into_iter().filter(|rel| !rel.is_null()) {
            pg_sys::table_close(rel, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
        }
        result
    }
}

/// Appends one statistics delta to `part` with a catalog-style insert (the heap tuple, and its
/// index entry in the indexed partition; no executor, no plan): the write path does this once
/// per statement and window it touched.
pub fn insert_delta(part: Part, relid: Oid, key: WindowKey, rows: i64, payload: &[u8]) -> DeltaRef {
    with_delta_tables(|tables| unsafe { insert_into(tables.rel(part), part, relid, key, rows, payload) })
}

unsafe fn insert_into(
    rel: pg_sys::Relation,
    part: Part,
    relid: Oid,
    (epoch, window): WindowKey,
    rows: i64,
    payload: &[u8],
) -> DeltaRef {
    let mut values = [
        pg_sys::Datum::from(relid),
        pg_sys::Datum::from(epoch),
        pg_sys::Datum::from(window.unwrap_or(0)),
        pg_sys::Datum::from(rows),
        payload.into_datum().expect("a bytea datum"),
        pg_sys::Datum::from(part == Part::Indexed),
    ];
    let mut nulls = [false, false, window.is_none(), false, false, false];
    let tuple = pg_sys::heap_form_tuple((*rel).rd_att, values.as_mut_ptr(), nulls.as_mut_ptr());
    match part {
        Part::Indexed => pg_sys::CatalogTupleInsert(rel, tuple),
        Part::Unindexed => pg_sys::simple_heap_insert(rel, tuple),
    }
    let delta = DeltaRef { part, tid: (*tuple).t_self, rows, xmin: pg_sys::GetCurrentTransactionId() };
    pg_sys::heap_freetuple(tuple);
    delta
}
