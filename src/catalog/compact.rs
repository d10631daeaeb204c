//! Compaction of statistics deltas: the deltas of one window are merged into one row.
//!
//! Writers only ever insert deltas; compaction deletes exactly the rows it read and inserts their
//! merge, in one transaction, so concurrent writers are never blocked and never lose a delta (one
//! that commits meanwhile is simply not part of this merge). A transaction-level advisory lock per
//! table keeps two compactions from merging the same rows; a compaction that cannot get it skips.

use super::{as_extension_owner, run_as_owner, timestamptz};
use pgrx::datum::TimestampWithTimeZone;
use crate::error::raise;
use crate::profile::window::{decode, encode};
use crate::profile::{merge_into, ColumnProfile};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use std::collections::BTreeMap;

/// First key of the advisory locks taken by compaction (the second is the table's OID).
const LOCK_CLASS: i32 = 0x5669_6731; // "Vig1"

/// A window's identity among the deltas: epoch and start (microseconds; None for NULL times).
pub type WindowKey = (i32, Option<i64>);

fn fail(e: impl std::fmt::Display) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("pg_vigil could not compact statistics: {e}"), None, None)
}

/// Merges the deltas of the given windows of `relid` (all windows with more than one delta when
/// `windows` is None). Returns the number of delta rows removed, or None when another compaction
/// of the table holds the lock.
pub fn compact(relid: Oid, windows: Option<&[WindowKey]>) -> Option<i64> {
    as_extension_owner(|| {
        let locked = Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2::integer)",
            &[LOCK_CLASS.into(), (relid.to_u32() as i32).into()],
        )
        .unwrap_or_else(|e| fail(e))
        .unwrap_or(false);
        if !locked {
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
        Some(keys.iter().map(|&key| compact_window(relid, key)).sum())
    })
}

/// Merges one window's deltas into one row; returns how many rows went away.
fn compact_window(relid: Oid, (epoch, window): WindowKey) -> i64 {
    // Two forms so that both use the (relid, epoch, window_start) index.
    let query = if window.is_some() {
        "SELECT delta_id, payload FROM vigil.profile_delta WHERE relid = $1 AND epoch = $2 AND window_start = $3"
    } else {
        "SELECT delta_id, payload FROM vigil.profile_delta
          WHERE relid = $1 AND epoch = $2 AND window_start IS NULL AND $3::timestamptz IS NULL"
    };
    let start = window.map(timestamptz);
    let rows: Vec<(i64, Vec<u8>)> = Spi::connect(|client| {
        client
            .select(query, None, &[relid.into(), epoch.into(), start.into()])?
            .map(|r| Ok((r.get::<i64>(1)?.unwrap_or(0), r.get::<Vec<u8>>(2)?.unwrap_or_default())))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .unwrap_or_else(|e| fail(e));
    if rows.len() < 2 {
        return 0;
    }
    let mut merged: BTreeMap<i16, ColumnProfile> = BTreeMap::new();
    for (_, payload) in &rows {
        for (attnum, profile) in decode(payload).unwrap_or_else(|e| fail(e)) {
            merge_into(&mut merged, attnum, profile);
        }
    }
    let columns: Vec<(i16, &ColumnProfile)> = merged.iter().map(|(a, p)| (*a, p)).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    run_as_owner(
        "DELETE FROM vigil.profile_delta WHERE delta_id = ANY ($1)",
        &[pg_sys::INT8ARRAYOID],
        &[ids.into()],
    )
    .unwrap_or_else(|e| fail(e));
    run_as_owner(
        "INSERT INTO vigil.profile_delta (relid, epoch, window_start, payload) VALUES ($1, $2, $3, $4)",
        &[pg_sys::OIDOID, pg_sys::INT4OID, pg_sys::TIMESTAMPTZOID, pg_sys::BYTEAOID],
        &[relid.into(), epoch.into(), start.into(), encode(&columns).into()],
    )
    .unwrap_or_else(|e| fail(e));
    rows.len() as i64 - 1
}
