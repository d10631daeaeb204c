//! What the BEFORE ROW trigger has seen but not yet written: per-rule counts and quarantined
//! rows. The statement trigger writes them with its own records, in one statement.
//!
//! Entries are tagged with the subtransaction that made them, so a rolled-back savepoint takes its
//! entries with it and an outer statement's rows are never written inside an inner
//! subtransaction that might roll back (which would lose them).

use crate::catalog::cache::CompiledRule;
use crate::error::raise;
use crate::rules::{Mode, Tally};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid, SubTransactionId};
use pgrx::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;

/// Quarantined rows are written once this many bytes are waiting, keeping memory bounded.
pub const FLUSH_BYTES: usize = 1 << 20;

pub struct PendingTally {
    pub relid: Oid,
    pub rule_id: i32,
    pub name: String,
    pub column: String,
    pub action: Mode,
    pub tally: Tally,
}

#[derive(Default)]
struct Pending {
    tallies: HashMap<(SubTransactionId, i32), PendingTally>,
    /// JSON objects for vigil.quarantine, each `{"relid":…,"names":[…],"row":{…}}`.
    rows: Vec<(SubTransactionId, String)>,
    bytes: usize,
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
}

pub fn current_subxact() -> SubTransactionId {
    unsafe { pg_sys::GetCurrentSubTransactionId() }
}

/// Runs `f` on the pending tally of `rule` at the current subtransaction.
#[inline]
pub fn with_tally<R>(subxid: SubTransactionId, rule: &CompiledRule, f: impl FnOnce(&mut Tally) -> R) -> R {
    with_tally_of(subxid, (rule.relid, rule.id, rule.mode), || (rule.name.clone(), rule.column.clone()), f)
}

/// The same for any per-row constraint: (declared on, id, mode), and its name and column label
/// (made only when the tally is new).
#[inline]
pub fn with_tally_of<R>(
    subxid: SubTransactionId,
    (relid, rule_id, action): (Oid, i32, Mode),
    labels: impl FnOnce() -> (String, String),
    f: impl FnOnce(&mut Tally) -> R,
) -> R {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let entry = p.tallies.entry((subxid, rule_id)).or_insert_with(|| {
            let (name, column) = labels();
            PendingTally { relid, rule_id, name, column, action, tally: Tally::default() }
        });
        f(&mut entry.tally)
    })
}

/// Queues a quarantined row; true when enough is waiting that the caller should flush.
pub fn push_row(subxid: SubTransactionId, json: String) -> bool {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.bytes += json.len();
        p.rows.push((subxid, json));
        p.bytes >= FLUSH_BYTES
    })
}

/// Takes the queued rows of the current subtransaction.
pub fn take_rows(subxid: SubTransactionId) -> Vec<String> {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut p.rows).into_iter().partition(|(s, _)| *s == subxid);
        p.bytes = rest.iter().map(|(_, j)| j.len()).sum();
        p.rows = rest;
        mine.into_iter().map(|(_, j)| j).collect()
    })
}

/// Takes the tallies of the given rules at the current subtransaction.
pub fn take_tallies(subxid: SubTransactionId, rule_ids: &[i32]) -> Vec<PendingTally> {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        rule_ids.iter().filter_map(|id| p.tallies.remove(&(subxid, *id))).collect()
    })
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    match event {
        pg_sys::XactEvent::XACT_EVENT_ABORT | pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT => {
            PENDING.with(|p| *p.borrow_mut() = Pending::default());
            super::profile::forget_unwritten();
            crate::monitor::evaluate::forget_evaluations();
        }
        pg_sys::XactEvent::XACT_EVENT_PRE_COMMIT | pg_sys::XactEvent::XACT_EVENT_PRE_PREPARE => {
            // Statistics of small writes kept back (trigger::profile), in the transaction still.
            if pg_sys::ActiveSnapshotSet() {
                super::profile::write_unwritten();
            } else {
                crate::catalog::with_active_snapshot(pg_sys::GetTransactionSnapshot(), super::profile::write_unwritten);
            }
            super::profile::forget_unwritten(); // written above; what subtransactions held is settled
            let stranded = PENDING.with(|p| {
                let mut p = p.borrow_mut();
                p.tallies.clear();
                !p.rows.is_empty()
            });
            if stranded {
                // Only possible when a vigil statement trigger was disabled by hand; refusing to
                // commit is the one way not to lose the quarantined rows silently.
                PENDING.with(|p| *p.borrow_mut() = Pending::default());
                raise(
                    PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
                    "pg_vigil quarantined rows that no statement trigger recorded",
                    None,
                    Some("Re-enable the vigil_after_insert and vigil_after_update triggers.".into()),
                );
            }
        }
        _ => {}
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    my_subid: SubTransactionId,
    parent_subid: SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    match event {
        pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB => {
            crate::monitor::evaluate::end_of_subxact(my_subid, parent_subid, false);
            super::profile::end_of_subxact(my_subid, parent_subid, false);
        }
        pg_sys::SubXactEvent::SUBXACT_EVENT_COMMIT_SUB => {
            crate::monitor::evaluate::end_of_subxact(my_subid, parent_subid, true);
            super::profile::end_of_subxact(my_subid, parent_subid, true);
        }
        _ => {}
    }
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        match event {
            pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB => {
                p.tallies.retain(|(s, _), _| *s != my_subid);
                p.rows.retain(|(s, _)| *s != my_subid);
                p.bytes = p.rows.iter().map(|(_, j)| j.len()).sum();
            }
            pg_sys::SubXactEvent::SUBXACT_EVENT_COMMIT_SUB => {
                let moved: Vec<_> = p.tallies.keys().filter(|(s, _)| *s == my_subid).copied().collect();
                for key in moved {
                    let entry = p.tallies.remove(&key).expect("key just listed");
                    match p.tallies.get_mut(&(parent_subid, key.1)) {
                        Some(parent) => parent.tally.merge(&entry.tally),
                        None => {
                            p.tallies.insert((parent_subid, key.1), entry);
                        }
                    }
                }
                for (s, _) in p.rows.iter_mut() {
                    if *s == my_subid {
                        *s = parent_subid;
                    }
                }
            }
            _ => {}
        }
    });
}

pub fn register_callbacks() {
    unsafe {
        pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
    }
}
