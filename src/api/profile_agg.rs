//! vigil.profile(value): the column profile as a parallel-safe aggregate. Its state is a
//! `ColumnProfile` in the aggregate's memory context, and its serialized form, used between
//! parallel workers and as the result, is the one statistics deltas store. vigil.backfill builds
//! on it, so profiling a large table runs in parallel workers.
//!
//! These support functions carry no pinned search_path: they run no SQL and resolve no names,
//! and a SET clause would put a GUC save and restore on every row.

use crate::error::raise;
use crate::profile::window::{finite_date, finite_timestamp, time_in_window, window_start};
use crate::profile::{ColumnProfile, ProfileKind};
use pgrx::datum::{Internal, TimestampWithTimeZone};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;

/// The aggregate's memory context (raises when not called as an aggregate).
unsafe fn aggregate_context(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::MemoryContext {
    let mut context = std::ptr::null_mut();
    if pg_sys::AggCheckCallContext(fcinfo, &mut context) == 0 || context.is_null() {
        raise(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, "vigil.profile support functions can only be called by the aggregate", None, None);
    }
    context
}

/// A profile living (and dropped) with the aggregate's memory context.
unsafe fn new_state(fcinfo: pg_sys::FunctionCallInfo, profile: ColumnProfile) -> *mut ColumnProfile {
    PgMemoryContexts::For(aggregate_context(fcinfo)).leak_and_drop_on_delete(profile)
}

unsafe fn state_of(state: Internal, fcinfo: pg_sys::FunctionCallInfo, kind: ProfileKind) -> *mut ColumnProfile {
    match state.unwrap() {
        Some(datum) => datum.cast_mut_ptr(),
        None => new_state(fcinfo, ColumnProfile::new(kind)),
    }
}

fn as_internal(profile: *mut ColumnProfile) -> Internal {
    Internal::from(Some(pg_sys::Datum::from(profile)))
}

/// One value (None: NULL) into the group's profile, made on the group's first row.
fn add_to_state<T>(state: Internal, value: Option<T>, fcinfo: pg_sys::FunctionCallInfo, kind: ProfileKind, push: impl FnOnce(&mut ColumnProfile, T)) -> Internal {
    unsafe {
        let profile = state_of(state, fcinfo, kind);
        match value {
            Some(v) => push(&mut *profile, v),
            None => (*profile).push_null(),
        }
        as_internal(profile)
    }
}

#[pg_extern(immutable, parallel_safe, name = "_profile_add_number")]
fn profile_add_number(state: Internal, value: Option<f64>, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    add_to_state(state, value, fcinfo, ProfileKind::Numeric, |p, v| p.push_f64(v))
}

#[pg_extern(immutable, parallel_safe, name = "_profile_add_text")]
fn profile_add_text(state: Internal, value: Option<&str>, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    add_to_state(state, value, fcinfo, ProfileKind::Categorical, |p, v| p.push_text(v))
}

#[pg_extern(immutable, parallel_safe, name = "_profile_combine")]
fn profile_combine(first: Internal, second: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    unsafe {
        match (first.unwrap(), second.unwrap()) {
            (None, None) => Internal::from(None),
            (Some(a), None) => Internal::from(Some(a)),
            (a, Some(b)) => {
                let other: *mut ColumnProfile = b.cast_mut_ptr();
                let merged = match a {
                    Some(a) => a.cast_mut_ptr::<ColumnProfile>(),
                    None => new_state(fcinfo, ColumnProfile::new((*other).kind)),
                };
                if let Err(e) = (*merged).merge(&*other) {
                    raise(PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH, format!("cannot combine profiles: {e}"), None, None);
                }
                as_internal(merged)
            }
        }
    }
}

#[pg_extern(immutable, parallel_safe, strict, name = "_profile_serialize")]
fn profile_serialize(state: Internal) -> Vec<u8> {
    let profile: *mut ColumnProfile = state.unwrap().expect("strict").cast_mut_ptr();
    unsafe { (*profile).serialize() }
}

#[pg_extern(immutable, parallel_safe, strict, name = "_profile_deserialize")]
fn profile_deserialize(bytes: &[u8], _unused: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    let profile = ColumnProfile::deserialize(bytes)
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_DATA_CORRUPTED, format!("unreadable profile: {e}"), None, None));
    unsafe { as_internal(new_state(fcinfo, profile)) }
}

#[pg_extern(immutable, parallel_safe, name = "_profile_final")]
fn profile_final(state: Internal) -> Option<Vec<u8>> {
    let profile: *mut ColumnProfile = state.unwrap()?.cast_mut_ptr();
    Some(unsafe { (*profile).serialize() })
}

/// The window of a time value, as the write path assigns it (NULL for NULL and ±infinity).
#[pg_extern(immutable, parallel_safe, name = "_window_of")]
fn window_of_timestamptz(time: Option<TimestampWithTimeZone>, window_usecs: i64) -> Option<TimestampWithTimeZone> {
    window_of(finite_timestamp(i64::from(time?))?, window_usecs)
}

#[pg_extern(immutable, parallel_safe, name = "_window_of")]
fn window_of_date(day: Option<pgrx::datum::Date>, window_usecs: i64) -> Option<TimestampWithTimeZone> {
    window_of(finite_date(day?.to_pg_epoch_days())?, window_usecs)
}

#[pg_extern(immutable, parallel_safe, name = "_window_of")]
fn window_of_timestamp(time: Option<pgrx::datum::Timestamp>, window_usecs: i64) -> Option<TimestampWithTimeZone> {
    window_of(finite_timestamp(i64::from(time?))?, window_usecs)
}

fn window_of(usecs: i64, window_usecs: i64) -> Option<TimestampWithTimeZone> {
    Some(crate::catalog::timestamptz(window_start(usecs, window_usecs)))
}

/// Where a time value falls in its window, as the write path profiles it (NULL for NULL and
/// ±infinity): backfill's counterpart of window::time_in_window.
#[pg_extern(immutable, parallel_safe, name = "_time_in_window")]
fn time_in_window_timestamptz(time: Option<TimestampWithTimeZone>, window_usecs: i64) -> Option<f64> {
    Some(time_in_window(finite_timestamp(i64::from(time?))?, window_usecs))
}

#[pg_extern(immutable, parallel_safe, name = "_time_in_window")]
fn time_in_window_date(day: Option<pgrx::datum::Date>, window_usecs: i64) -> Option<f64> {
    Some(time_in_window(finite_date(day?.to_pg_epoch_days())?, window_usecs))
}

#[pg_extern(immutable, parallel_safe, name = "_time_in_window")]
fn time_in_window_timestamp(time: Option<pgrx::datum::Timestamp>, window_usecs: i64) -> Option<f64> {
    Some(time_in_window(finite_timestamp(i64::from(time?))?, window_usecs))
}

/// Tables smaller than this (10 MB of 8 kB blocks) are read too fast for progress reports.
const PROGRESS_FROM_BLOCKS: i64 = 1280;

/// Always true; passed each scanned row's tid, it reports progress as the scan crosses each
/// tenth of the table's blocks. Only one process (leader or parallel worker) scans a given
/// block, so each tenth is reported once (a tenth whose first block holds no row goes unreported).
#[pg_extern(volatile, parallel_safe, name = "_backfill_progress")]
fn backfill_progress(tid: pg_sys::ItemPointerData, blocks: i64, run: i32, table: &str) -> bool {
    thread_local! {
        static REPORTED: std::cell::Cell<(i64, i32, u16)> = const { std::cell::Cell::new((0, 0, 0)) };
    }
    if blocks < PROGRESS_FROM_BLOCKS {
        return true;
    }
    let block = ((tid.ip_blkid.bi_hi as i64) << 16) | tid.ip_blkid.bi_lo as i64;
    let tenth = block * 10 / blocks;
    if (1..=9).contains(&tenth) && block == (tenth * blocks + 9) / 10 {
        let reported = REPORTED.with(|r| {
            let (b, k, mask) = r.get();
            let mask = if (b, k) == (blocks, run) { mask } else { 0 };
            r.set((blocks, run, mask | 1 << tenth));
            mask & (1 << tenth) != 0
        });
        if !reported {
            crate::error::notice(format!("backfill of {table}: {tenth}0% of its blocks read"));
        }
    }
    true
}
