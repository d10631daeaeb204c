//! A distributed table's statistics on the coordinator: each node's merged profile per window,
//! fetched (never its rows) into vigil.node_window under the coordinator's column keys, and
//! merged with the other nodes' by the readers (src/stats) as the deltas of one table are.
//!
//! A refresh asks each node's table for the windows whose row counts differ from the copy,
//! so a read fetches what changed since the last one. A node that cannot be reached keeps its
//! last copy, and the read says so (a NOTICE naming it and when its copy was fetched): its rows
//! count once, as of then, never twice, and are brought up to date when it is back.

use super::conn::RemoteError;
use super::contract::{is_distributed, placements};
use super::xact::query;
use crate::catalog::{as_extension_owner, qualified_name};
use crate::error::{internal, notice};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// A table's last refresh: in which local transaction and statement, and the nodes it could
/// not reach then (None: the table is not distributed).
struct Refresh {
    relid: Oid,
    lxid: u32,
    statement_start: i64,
    unreached: Option<Vec<String>>,
}

thread_local! {
    /// The last refresh of each table read by this backend: once per statement.
    static REFRESHED: RefCell<Vec<Refresh>> = const { RefCell::new(Vec::new()) };
}

/// Whether `relid` is distributed, its nodes' statistics refreshed first (see `refresh`).
pub fn refreshed(relid: Oid) -> bool {
    missing_nodes(relid).is_some()
}

/// The data nodes of a distributed table that this statement's read of its statistics could
/// not reach (their windows are as of their last copy), in server order; refreshes first when
/// the statement has not. None for a table that is not distributed.
pub fn missing_nodes(relid: Oid) -> Option<Vec<String>> {
    // Called per row of the views: the statement's answer is kept, even for a local table.
    if let Some(known) = this_statement(relid) {
        return known;
    }
    if is_distributed(relid) {
        refresh(relid);
    } else {
        remember(relid, None);
    }
    this_statement(relid).flatten()
}

/// What this statement's refresh of `relid` found: Some(None) for a table that is not
/// distributed, Some(Some(nodes not reached)); None when the statement has not refreshed it.
fn this_statement(relid: Oid) -> Option<Option<Vec<String>>> {
    let (lxid, statement_start) = statement();
    REFRESHED.with(|r| {
        r.borrow()
            .iter()
            .find(|e| e.relid == relid && e.lxid == lxid && e.statement_start == statement_start)
            .map(|e| e.unreached.clone())
    })
}

fn remember(relid: Oid, unreached: Option<Vec<String>>) {
    let (lxid, statement_start) = statement();
    REFRESHED.with(|r| {
        let mut r = r.borrow_mut();
        r.retain(|e| e.relid != relid);
        r.push(Refresh { relid, lxid, statement_start, unreached });
    });
}

fn read_only() -> bool {
    unsafe { pg_sys::RecoveryInProgress() || pg_sys::XactReadOnly }
}

/// (local transaction, statement start): what "once per statement" compares.
fn statement() -> (u32, i64) {
    unsafe { ((*pg_sys::MyProc).lxid, pg_sys::GetCurrentStatementStartTimestamp()) }
}

/// Brings the coordinator's copy of the nodes' statistics of `relid` up to date (a distributed
/// and watched table; once per statement). A read-only transaction (a standby) reads the copy
/// as it is and only asks whether the nodes answer.
fn refresh(relid: Oid) {
    if this_statement(relid).is_some() {
        return;
    }
    let mut unreached = Vec::new();
    // Not watched: no statistics to fetch (and no rows in the views).
    let keys = coordinator_keys(relid).unwrap_or_default();
    let mut sources = Vec::new();
    for (_, placement) in placements(relid) {
        let Some(p) = placement else { continue };
        if keys.is_empty() {
            continue;
        }
        let source = format!("{}:{}", p.server, p.remote_table);
        let refreshed = if read_only() {
            query(&p.server, "SELECT 1", &[]).map(|_| ())
        } else {
            refresh_source(relid, &keys, &source, &p.server, &p.remote_table)
        };
        if let Err(e) = refreshed {
            unreached.push(p.server.clone());
            let since = fetched_at(relid, &source);
            notice(format!(
                "statistics of {}: node \"{}\" was not reached ({}); its windows are as of {}",
                qualified_name(relid),
                p.server,
                e.message,
                since.map_or("never fetched".to_string(), |t| t.to_iso_string())
            ));
        }
        sources.push(source);
    }
    unreached.sort();
    unreached.dedup();
    remember(relid, Some(unreached));
    if keys.is_empty() || read_only() {
        return;
    }
    // Partitions detached or dropped since: their copies go.
    as_extension_owner(|| {
        Spi::run_with_args("DELETE FROM vigil.node_window WHERE relid = $1 AND NOT source = ANY($2)", &[relid.into(), sources.into()])
    })
    .unwrap_or_else(|e| internal("cannot update node statistics", e));
}

/// The coordinator's key per watched column name.
fn coordinator_keys(relid: Oid) -> Option<BTreeMap<String, i16>> {
    as_extension_owner(|| {
        Spi::connect(|client| {
            let mut rows = client.select("SELECT attnums, columns FROM vigil.watch_def WHERE relid = $1", None, &[relid.into()])?;
            Ok::<_, pgrx::spi::Error>(rows.next().map(|r| {
                let attnums = r.get::<Vec<i16>>(1).ok().flatten().unwrap_or_default();
                let columns = r.get::<Vec<String>>(2).ok().flatten().unwrap_or_default();
                columns.into_iter().zip(attnums).collect()
            }))
        })
    })
    .unwrap_or_else(|e| internal("cannot read the watch", e))
}

fn fetched_at(relid: Oid, source: &str) -> Option<TimestampWithTimeZone> {
    as_extension_owner(|| {
        crate::catalog::select_one::<TimestampWithTimeZone>(
            "SELECT max(fetched_at) FROM vigil.node_window WHERE relid = $1 AND source = $2",
            &[relid.into(), source.into()],
        )
    })
    .ok()
    .flatten()
}

fn refresh_source(relid: Oid, keys: &BTreeMap<String, i16>, source: &str, server: &str, remote_table: &str) -> Result<(), RemoteError> {
    let node = query(
        server,
        "SELECT epoch, pg_catalog.array_to_json(attnums)::text, pg_catalog.array_to_json(columns)::text
           FROM vigil._statistics_keys($1::regclass)",
        &[Some(remote_table)],
    )?;
    let Some(row) = node.into_iter().next() else {
        // Not watched on the node (yet): nothing of it to count.
        forget(relid, source, None);
        return Ok(());
    };
    let epoch: i32 = row[0].as_deref().and_then(|e| e.parse().ok()).unwrap_or(1);
    let node_keys: Vec<i16> = serde_json::from_str(row[1].as_deref().unwrap_or("[]")).unwrap_or_default();
    let node_columns: Vec<String> = serde_json::from_str(row[2].as_deref().unwrap_or("[]")).unwrap_or_default();
    // Node key -> coordinator key, through the columns' names.
    let map: BTreeMap<i16, i16> = node_keys.iter().zip(&node_columns).filter_map(|(k, name)| Some((*k, *keys.get(name)?))).collect();
    let identity = map.iter().all(|(a, b)| a == b);
    forget(relid, source, Some(epoch)); // copies of an older epoch of the node (a TRUNCATE there)
    let have: Vec<(Option<i64>, i64)> = as_extension_owner(|| {
        Spi::connect(|client| {
            client
                .select("SELECT window_start, row_count FROM vigil.node_window WHERE relid = $1 AND source = $2", None, &[relid.into(), source.into()])?
                .map(|r| Ok((r.get::<TimestampWithTimeZone>(1)?.map(i64::from), r.get::<i64>(2)?.unwrap_or(0))))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
    })
    .unwrap_or_else(|e| internal("cannot read node statistics", e));
    let have = serde_json::to_string(&have).expect("plain numbers");
    let epoch_text = epoch.to_string();
    let changed = query(
        server,
        "SELECT window_usecs, row_count, payload FROM vigil._window_payloads($1::regclass, $2::integer, $3::jsonb)",
        &[Some(remote_table), Some(&epoch_text), Some(&have)],
    )?;
    for row in changed {
        let window: Option<i64> = row[0].as_deref().and_then(|w| w.parse().ok());
        let rows: i64 = row[1].as_deref().and_then(|r| r.parse().ok()).unwrap_or(0);
        let start = window.map(crate::catalog::timestamptz);
        let Some(payload) = row[2].as_deref().and_then(bytea_from_text) else {
            as_extension_owner(|| {
                Spi::run_with_args(
                    "DELETE FROM vigil.node_window WHERE relid = $1 AND source = $2 AND window_start IS NOT DISTINCT FROM $3",
                    &[relid.into(), source.into(), start.into()],
                )
            })
            .unwrap_or_else(|e| internal("cannot update node statistics", e));
            continue;
        };
        let payload = if identity {
            payload
        } else {
            crate::profile::window::rekey(&payload, |a| map.get(&a).copied()).map_err(|e| RemoteError {
                sqlstate: "XX001".into(),
                message: format!("unreadable statistics: {e}"),
                detail: None,
                hint: None,
            })?
        };
        as_extension_owner(|| {
            Spi::run_with_args(
                "INSERT INTO vigil.node_window (relid, source, node_epoch, window_start, row_count, payload)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (relid, source, window_start) DO UPDATE
                    SET node_epoch = excluded.node_epoch, row_count = excluded.row_count, payload = excluded.payload, fetched_at = now()",
                &[relid.into(), source.into(), epoch.into(), start.into(), rows.into(), payload.into()],
            )
        })
        .unwrap_or_else(|e| internal("cannot update node statistics", e));
    }
    // Unchanged windows were checked now too.
    as_extension_owner(|| {
        Spi::run_with_args("UPDATE vigil.node_window SET fetched_at = now() WHERE relid = $1 AND source = $2", &[relid.into(), source.into()])
    })
    .unwrap_or_else(|e| internal("cannot update node statistics", e));
    Ok(())
}

/// Drops the copies of `source`'s windows (of epochs other than `keep`).
fn forget(relid: Oid, source: &str, keep: Option<i32>) {
    as_extension_owner(|| {
        Spi::run_with_args(
            "DELETE FROM vigil.node_window WHERE relid = $1 AND source = $2 AND node_epoch IS DISTINCT FROM $3",
            &[relid.into(), source.into(), keep.into()],
        )
    })
    .unwrap_or_else(|e| internal("cannot update node statistics", e));
}

/// A bytea in its hex text form (`\x...`).
fn bytea_from_text(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?;
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytea_reads_from_its_hex_text() {
        assert_eq!(bytea_from_text("\\x00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(bytea_from_text("\\x0"), None);
        assert_eq!(bytea_from_text("00"), None);
    }
}
