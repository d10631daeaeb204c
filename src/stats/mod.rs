//! The statistics store: the delta rows the write path appends (src/trigger/profile.rs), read
//! back and merged per column and window for the monitoring layer (src/monitor) and
//! vigil.column_stats. Compaction, which merges them in place, is src/catalog/compact.rs.

use crate::catalog::{as_extension_owner, qualified_name, query_as_owner, timestamptz};
use crate::error::raise;
use crate::profile::relations::Relations;
use crate::profile::window::{decode, decode_arrivals, decode_relations, Arrivals};
use crate::profile::{merge_into, ColumnProfile, ProfileError};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use std::collections::BTreeMap;

/// A table's statistics, merged: per (column, window) its profile, per window the relations
/// between its columns.
pub(crate) struct Merged {
    pub profiles: BTreeMap<(i16, Option<i64>), ColumnProfile>,
    pub relations: BTreeMap<i64, Relations>,
}

/// The column profiles of `tbl`'s current epoch (see `merged_statistics`).
pub(crate) fn merged_profiles(tbl: Oid, from: Option<i64>) -> BTreeMap<(i16, Option<i64>), ColumnProfile> {
    merged_statistics(tbl, from, false).profiles
}

/// The statistics of `tbl`'s current epoch, merged per (column, window); with `from`, only
/// the windows starting then or later (and not the NULL-time bucket). With `by_node`, a
/// distributed table's windows also say how far each node's columns lie from the others'.
pub(crate) fn merged_statistics(tbl: Oid, from: Option<i64>, by_node: bool) -> Merged {
    // A distributed table's statistics are its nodes' (src/remote/stats.rs), one copy per
    // node's table and window; a table's own are its deltas of the current epoch.
    crate::trigger::profile::write_unwritten();
    let distributed = crate::remote::stats::refreshed(tbl);
    let deltas: Vec<(Option<i64>, Vec<u8>, Option<(String, i64)>)> = as_extension_owner(|| {
        Spi::connect(|client| {
            client
                .select(
                    if distributed {
                        "SELECT window_start, payload, split_part(source, ':', 1), row_count FROM vigil.node_window
                          WHERE relid = $1 AND ($2::timestamptz IS NULL OR window_start >= $2)"
                    } else {
                        "SELECT d.window_start, d.payload, NULL::text, NULL::bigint
                           FROM vigil.profile_delta d JOIN vigil.watch_def w ON w.relid = d.relid AND w.epoch = d.epoch
                          WHERE d.relid = $1 AND ($2::timestamptz IS NULL OR d.window_start >= $2)"
                    },
                    None,
                    &[tbl.into(), from.map(timestamptz).into()],
                )?
                .map(|r| {
                    let source = r.get::<String>(3)?.zip(r.get::<i64>(4)?);
                    Ok((r.get::<TimestampWithTimeZone>(1)?.map(i64::from), r.get::<Vec<u8>>(2)?.unwrap_or_default(), source))
                })
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read statistics: {e}"), None, None));

    let mut merged: BTreeMap<(i16, Option<i64>), ColumnProfile> = BTreeMap::new();
    let mut relations: BTreeMap<i64, Relations> = BTreeMap::new();
    let unreadable = |e: ProfileError| -> ! {
        raise(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("pg_vigil statistics of {} are unreadable: {e}", qualified_name(tbl)),
            None,
            None,
        )
    };
    // Per (window, node): the node's own column profiles, to compare with the other nodes'.
    let mut per_node: BTreeMap<(i64, String), BTreeMap<i16, ColumnProfile>> = BTreeMap::new();
    // Every data node that sent rows in any window counts in each (0 where it sent none).
    let mut servers: Vec<&str> = deltas.iter().filter_map(|d| d.2.as_ref().map(|s| s.0.as_str())).collect();
    servers.sort_unstable();
    servers.dedup();
    for (window, payload, source) in &deltas {
        let columns = decode(payload).unwrap_or_else(|e| unreadable(e));
        // A node's own profiles per window (decoded once, copied only when asked for).
        let mine = match (by_node, window, source) {
            (true, Some(w), Some((server, _))) => Some(per_node.entry((*w, server.clone())).or_default()),
            _ => None,
        };
        if let Some(mine) = mine {
            for (attnum, profile) in &columns {
                merge_into(mine, *attnum, profile.clone());
            }
        }
        for (attnum, profile) in columns {
            merge_into(&mut merged, (attnum, *window), profile);
        }
        let Some(w) = *window else { continue };
        if let Some(found) = decode_relations(payload).unwrap_or_else(|e| unreadable(e)) {
            relations.entry(w).or_default().merge(&found);
        }
        if let Some((server, rows)) = source {
            let window_relations = relations.entry(w).or_default();
            if window_relations.sources.is_empty() {
                window_relations.sources = servers.iter().map(|s| (s.to_string(), 0)).collect();
            }
            window_relations.merge(&crate::profile::relations::Relations { sources: vec![(server.clone(), *rows as u64)], ..Default::default() });
        }
    }
    for ((w, server), columns) in &per_node {
        let others: Vec<&BTreeMap<i16, ColumnProfile>> =
            per_node.range((*w, String::new())..).take_while(|((ow, _), _)| ow == w).filter(|((_, os), _)| os != server).map(|(_, c)| c).collect();
        if others.is_empty() {
            continue;
        }
        for (attnum, profile) in columns.iter().filter(|(a, _)| **a > crate::profile::window::TIME_IN_WINDOW_ATTNUM) {
            let rest = others.iter().filter_map(|o| o.get(attnum)).fold(None::<ColumnProfile>, |rest, other| match rest {
                Some(mut r) => {
                    let _ = r.merge(other);
                    Some(r)
                }
                None => Some(other.clone()),
            });
            if let Some(js) = rest.and_then(|r| crate::drift::compare::compare(&r, profile).js_distance) {
                relations.entry(*w).or_default().divergence.push((server.clone(), *attnum, js));
            }
        }
    }
    Merged { profiles: merged, relations }
}

/// Profiles per window, in time order (the NULL-time bucket is not a window in time).
pub(crate) type ByWindow = BTreeMap<i64, Vec<(i16, ColumnProfile)>>;

pub(crate) fn by_window(profiles: BTreeMap<(i16, Option<i64>), ColumnProfile>) -> ByWindow {
    let mut by_window = ByWindow::new();
    for ((attnum, window), profile) in profiles {
        if let Some(w) = window {
            by_window.entry(w).or_default().push((attnum, profile));
        }
    }
    by_window
}

/// Rows per window of the current epoch, in time order (what a memo must still match).
pub(crate) fn window_rows(relid: Oid, epoch: i32) -> Vec<(i64, i64)> {
    crate::trigger::profile::write_unwritten();
    if crate::remote::stats::refreshed(relid) {
        return query_as_owner(
            "SELECT window_start, sum(row_count)::bigint FROM vigil.node_window
              WHERE relid = $1 AND $2 IS NOT NULL AND window_start IS NOT NULL GROUP BY 1 ORDER BY 1",
            &[pg_sys::OIDOID, pg_sys::INT4OID],
            &[relid.into(), epoch.into()],
            |rows| {
                rows.map(|r| Ok((r.get::<TimestampWithTimeZone>(1)?.map(i64::from).unwrap_or(0), r.get::<i64>(2)?.unwrap_or(0))))
                    .collect()
            },
        )
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read statistics: {e}"), None, None));
    }
    query_as_owner(
        "SELECT window_start, sum(row_count)::bigint FROM vigil.profile_delta
          WHERE relid = $1 AND epoch = $2 AND window_start IS NOT NULL GROUP BY 1 ORDER BY 1",
        &[pg_sys::OIDOID, pg_sys::INT4OID],
        &[relid.into(), epoch.into()],
        |rows| {
            rows.map(|r| Ok((r.get::<TimestampWithTimeZone>(1)?.map(i64::from).unwrap_or(0), r.get::<i64>(2)?.unwrap_or(0))))
                .collect()
        },
    )
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read statistics: {e}"), None, None))
}

/// When the rows of `tbl`'s windows from `since` on were written (windows written only by a
/// backfill, or before pg_vigil kept arrivals, have none).
pub(crate) fn window_arrivals(relid: Oid, epoch: i32, since: i64) -> BTreeMap<i64, Arrivals> {
    crate::trigger::profile::write_unwritten();
    let mut arrivals: BTreeMap<i64, Arrivals> = BTreeMap::new();
    let sql = if crate::remote::stats::refreshed(relid) {
        "SELECT window_start, payload FROM vigil.node_window WHERE relid = $1 AND $2 IS NOT NULL AND window_start >= $3"
    } else {
        "SELECT window_start, payload FROM vigil.profile_delta WHERE relid = $1 AND epoch = $2 AND window_start >= $3"
    };
    query_as_owner(
        sql,
        &[pg_sys::OIDOID, pg_sys::INT4OID, pg_sys::TIMESTAMPTZOID],
        &[relid.into(), epoch.into(), timestamptz(since).into()],
        |rows| {
            for r in rows {
                let (Some(start), Some(payload)) = (r.get::<TimestampWithTimeZone>(1)?.map(i64::from), r.get::<Vec<u8>>(2)?) else { continue };
                if let Ok(Some(found)) = decode_arrivals(&payload) {
                    arrivals.entry(start).and_modify(|a| a.merge(&found)).or_insert(found);
                }
            }
            Ok(())
        },
    )
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read statistics: {e}"), None, None));
    arrivals
}
