//! Compaction of statistics deltas: the deltas of one window are merged into one row.
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
    /// Only tiers that are full (see profile::tiers): what the write path does, so a write never
    /// rewrites a window's large merged profile for the sake of a few rows.
    Tiered,
}

/// Merges the deltas of the given windows of `relid` (all windows with more than one delta when
/// `windows` is None). Returns the number of delta rows removed, or None when another compaction
/// of the table holds the lock.
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
                          GROUP BY epoch, window_start HAVING count(*) > 1",
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
pub type DeltaRef = (pg_sys::ItemPointerData, i64, pg_sys::TransactionId);

/// Merges one window's deltas as `policy` says; returns how many rows went away.
///
/// Deltas are found and read like catalog rows (an index scan, heap fetches) under a snapshot
/// taken after the lock: a kept SQL plan may pick a bitmap scan, which never marks dead index
/// entries and so slows down with every compaction until VACUUM, and a REPEATABLE READ writer's
/// snapshot would miss deltas other compactions committed since it began.
fn compact_window(relid: Oid, key: WindowKey, policy: Policy) -> i64 {
    with_delta_table(|rel, index| unsafe {
        let snapshot = latest_snapshot();
        let deltas = window_deltas(rel, index, snapshot, relid, key);
        let groups: Vec<Vec<DeltaRef>> = match policy {
            Policy::Full if deltas.len() >= 2 => vec![deltas],
            Policy::Full => Vec::new(),
            Policy::Tiered => plan_groups(&deltas),
        };
        let removed = groups.iter().map(|group| merge_group(rel, snapshot, relid, key, group).1).sum();
        pg_sys::UnregisterSnapshot(snapshot);
        removed
    })
}

/// Compacts deltas this backend wrote to one window, found by their tids alone: no index scan,
/// so the cost does not grow with the dead index entries that pile up between VACUUMs. `own` is
/// brought up to date (merged entries replaced by their merge; entries no longer there, because
/// they rolled back or another compaction took them, dropped). Returns false when another
/// compaction holds the table.
pub fn compact_own(relid: Oid, key: WindowKey, own: &mut Vec<DeltaRef>) -> bool {
    if !lock_deltas(relid, false) {
        return false;
    }
    // A tid listed twice (a slot VACUUM freed and this backend reused) must not merge twice.
    own.sort_by_key(|d| (d.0.ip_blkid.bi_hi, d.0.ip_blkid.bi_lo, d.0.ip_posid));
    own.dedup_by(|a, b| same_tid(&a.0, &b.0));
    with_delta_table(|rel, _| unsafe {
        reuse_space_of_earlier_merges(rel);
        let snapshot = latest_snapshot();
        for group in plan_groups(own) {
            let (merged, _) = merge_group(rel, snapshot, relid, key, &group);
            remember_merged_blocks(&group);
            own.retain(|d| !group.iter().any(|g| same_tid(&g.0, &d.0)));
            own.extend(merged);
        }
        pg_sys::UnregisterSnapshot(snapshot);
    });
    true
}

thread_local! {
    /// Blocks of the deltas this backend merged away, by the transaction that did it.
    static MERGED_BLOCKS: std::cell::RefCell<(pg_sys::TransactionId, Vec<pg_sys::BlockNumber>)> =
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
        m.1.extend(group.iter().map(|d| block_of(&d.0)));
        m.1.sort_unstable();
        m.1.dedup();
        m.1.truncate(64);
    });
}

/// Prunes the pages whose deltas an earlier transaction of this backend merged away, and tells
/// the free space map what that freed: new deltas then fill those pages again instead of
/// extending the table until the next VACUUM (a single-row write deletes as many deltas as it
/// inserts, so the table need not grow).
unsafe fn reuse_space_of_earlier_merges(rel: pg_sys::Relation) {
    let xid = pg_sys::GetCurrentTransactionIdIfAny();
    let blocks = MERGED_BLOCKS.with(|m| {
        let mut m = m.borrow_mut();
        if m.0 == xid { Vec::new() } else { std::mem::take(&mut m.1) }
    });
    if blocks.is_empty() {
        return;
    }
    let size = pg_sys::RelationGetNumberOfBlocksInFork(rel, pg_sys::ForkNumber::MAIN_FORKNUM);
    for block in blocks.into_iter().filter(|&b| b < size) {
        let buffer = pg_sys::ReadBuffer(rel, block);
        // Prunes only when the merge is visible to everyone and the page is nearly full.
        pg_sys::heap_page_prune_opt(rel, buffer);
        pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_SHARE as i32);
        let free = pg_sys::PageGetHeapFreeSpace(pg_sys::BufferGetPage(buffer));
        pg_sys::UnlockReleaseBuffer(buffer);
        pg_sys::RecordPageWithFreeSpace(rel, block, free);
    }
}

/// A snapshot that sees every committed delta and this transaction's own, to be unregistered.
unsafe fn latest_snapshot() -> pg_sys::Snapshot {
    pg_sys::CommandCounterIncrement();
    pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot())
}

fn same_tid(a: &pg_sys::ItemPointerData, b: &pg_sys::ItemPointerData) -> bool {
    (a.ip_blkid.bi_hi, a.ip_blkid.bi_lo, a.ip_posid) == (b.ip_blkid.bi_hi, b.ip_blkid.bi_lo, b.ip_posid)
}

fn plan_groups(deltas: &[DeltaRef]) -> Vec<Vec<DeltaRef>> {
    let numbered: Vec<(i64, i64)> = deltas.iter().enumerate().map(|(i, d)| (i as i64, d.1)).collect();
    tiers::plan(&numbered).into_iter().map(|ids| ids.into_iter().map(|i| deltas[i as usize]).collect()).collect()
}

/// Replaces the deltas of `group` that `snapshot` still sees in this window by their merge.
/// Returns the merged delta (None when none was found) and how many rows went away.
unsafe fn merge_group(
    rel: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    relid: Oid,
    key: WindowKey,
    group: &[DeltaRef],
) -> (Option<DeltaRef>, i64) {
    let mut payloads: Vec<Vec<u8>> = Vec::with_capacity(group.len());
    let mut found: Vec<DeltaRef> = Vec::with_capacity(group.len());
    let blocks = pg_sys::RelationGetNumberOfBlocksInFork(rel, pg_sys::ForkNumber::MAIN_FORKNUM);
    for &(tid, rows, xmin) in group {
        let Some(payload) = fetch_payload(rel, snapshot, blocks, tid, xmin, relid, key) else { continue };
        payloads.push(payload);
        found.push((tid, rows, xmin));
    }
    if found.len() < 2 {
        return (found.first().copied(), 0);
    }
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    let merged = merge_payloads(&refs).unwrap_or_else(|e| fail(e));
    for (tid, _, _) in &found {
        pg_sys::CatalogTupleDelete(rel, &mut tid.clone());
    }
    let rows = found.iter().map(|d| d.1).sum();
    let tid = insert_into(rel, relid, key, rows, &merged);
    (Some((tid, rows, pg_sys::GetCurrentTransactionId())), found.len() as i64 - 1)
}

/// (tid, row_count) of every delta of one window visible to `snapshot`.
unsafe fn window_deltas(
    rel: pg_sys::Relation,
    index: Oid,
    snapshot: pg_sys::Snapshot,
    relid: Oid,
    (epoch, window): WindowKey,
) -> Vec<DeltaRef> {
    let mut keys: [pg_sys::ScanKeyData; 3] = std::mem::zeroed();
    let equal = pg_sys::BTEqualStrategyNumber as u16;
    pg_sys::ScanKeyInit(&mut keys[0], 1, equal, pg_sys::Oid::from(pg_sys::F_OIDEQ), pg_sys::Datum::from(relid));
    pg_sys::ScanKeyInit(&mut keys[1], 2, equal, pg_sys::Oid::from(pg_sys::F_INT4EQ), pg_sys::Datum::from(epoch));
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
    let mut deltas = Vec::new();
    loop {
        let tuple = pg_sys::systable_getnext(scan);
        if tuple.is_null() {
            break;
        }
        let mut isnull = false;
        let rows = pg_sys::heap_getattr(tuple, 4, (*rel).rd_att, &mut isnull).value() as i64;
        deltas.push(((*tuple).t_self, rows, (*(*tuple).t_data).t_choice.t_heap.t_xmin));
    }
    pg_sys::systable_endscan(scan);
    deltas
}

/// The payload of the delta at `tid`, if `snapshot` sees it and it still belongs to the window
/// (after a VACUUM a tid may hold another row).
unsafe fn fetch_payload(
    rel: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    blocks: pg_sys::BlockNumber,
    tid: pg_sys::ItemPointerData,
    xmin: pg_sys::TransactionId,
    relid: Oid,
    (epoch, window): WindowKey,
) -> Option<Vec<u8>> {
    // A remembered tid may point past the end (`blocks`) after VACUUM truncated the table.
    let block = ((tid.ip_blkid.bi_hi as u32) << 16) | tid.ip_blkid.bi_lo as u32;
    if block >= blocks {
        return None;
    }
    let mut tuple: pg_sys::HeapTupleData = std::mem::zeroed();
    tuple.t_self = tid;
    let mut buffer: pg_sys::Buffer = pg_sys::InvalidBuffer as pg_sys::Buffer;
    if !pg_sys::heap_fetch(rel, snapshot, &mut tuple, &mut buffer, false) {
        return None;
    }
    if (*tuple.t_data).t_choice.t_heap.t_xmin != xmin {
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

thread_local! {
    /// vigil.profile_delta and its window index, as last looked up: (namespace, table, index).
    static DELTA_TABLE: std::cell::Cell<Option<(Oid, Oid, Oid)>> = const { std::cell::Cell::new(None) };
}

/// Looks up vigil.profile_delta and its window index by name (their OIDs change when the
/// extension is dropped and created again).
unsafe fn lookup_delta_table() -> (Oid, Oid, Oid) {
    let namespace = pg_sys::get_namespace_oid(c"vigil".as_ptr(), true);
    let lookup = |name: &std::ffi::CStr| {
        if namespace == pg_sys::InvalidOid {
            pg_sys::InvalidOid
        } else {
            pg_sys::get_relname_relid(name.as_ptr(), namespace)
        }
    };
    let (table, index) = (lookup(c"profile_delta"), lookup(c"profile_delta_window_idx"));
    if table == pg_sys::InvalidOid || index == pg_sys::InvalidOid {
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE, "pg_vigil is not installed in this database", None, None);
    }
    (namespace, table, index)
}

/// Opens the table at `table` if it still is vigil.profile_delta (same name, same namespace)
/// and `index` still one of its indexes: the OIDs kept from an earlier lookup save three catalog
/// lookups per statement.
unsafe fn open_if_delta_table(namespace: Oid, table: Oid, index: Oid) -> Option<pg_sys::Relation> {
    let rel = pg_sys::try_table_open(table, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
    if rel.is_null() {
        return None;
    }
    let form = (*rel).rd_rel;
    let name = std::ffi::CStr::from_ptr((*form).relname.data.as_ptr());
    if (*form).relnamespace == namespace && name == c"profile_delta" && pg_sys::list_member_oid(pg_sys::RelationGetIndexList(rel), index) {
        return Some(rel);
    }
    pg_sys::table_close(rel, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
    None
}

/// Runs `f` with vigil.profile_delta and its window index.
fn with_delta_table<R>(f: impl FnOnce(pg_sys::Relation, Oid) -> R) -> R {
    unsafe {
        let kept = DELTA_TABLE.with(|c| c.get());
        let (rel, index) = match kept.and_then(|(namespace, table, index)| Some((open_if_delta_table(namespace, table, index)?, index))) {
            Some(found) => found,
            None => {
                let (namespace, table, index) = lookup_delta_table();
                DELTA_TABLE.with(|c| c.set(Some((namespace, table, index))));
                (pg_sys::table_open(table, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE), index)
            }
        };
        if (*(*rel).rd_att).natts != 5 {
            fail("vigil.profile_delta does not have the columns this version of pg_vigil writes");
        }
        let result = f(rel, index);
        pg_sys::table_close(rel, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
        result
    }
}

/// Appends one statistics delta with a catalog-style insert (the heap tuple and its index entry;
/// no executor, no plan): the write path does this once per statement and window it touched.
/// Returns where the row went.
pub fn insert_delta(relid: Oid, key: WindowKey, rows: i64, payload: &[u8]) -> pg_sys::ItemPointerData {
    with_delta_table(|rel, _| unsafe { insert_into(rel, relid, key, rows, payload) })
}

unsafe fn insert_into(
    rel: pg_sys::Relation,
    relid: Oid,
    (epoch, window): WindowKey,
    rows: i64,
    payload: &[u8],
) -> pg_sys::ItemPointerData {
    let mut values = [
        pg_sys::Datum::from(relid),
        pg_sys::Datum::from(epoch),
        pg_sys::Datum::from(window.unwrap_or(0)),
        pg_sys::Datum::from(rows),
        payload.into_datum().expect("a bytea datum"),
    ];
    let mut nulls = [false, false, window.is_none(), false, false];
    let tuple = pg_sys::heap_form_tuple((*rel).rd_att, values.as_mut_ptr(), nulls.as_mut_ptr());
    pg_sys::CatalogTupleInsert(rel, tuple);
    let tid = (*tuple).t_self;
    pg_sys::heap_freetuple(tuple);
    tid
}
