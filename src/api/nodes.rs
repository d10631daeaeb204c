//! Data nodes and distributed tables (src/remote): vigil.add_node, vigil.remove_node,
//! vigil.nodes, vigil.distribute, vigil.recover_nodes, the missing_nodes column of the statistics
//! views, and the node-side vigil._apply_contract.

use super::declare::{check_table, required, sync_triggers};
use crate::catalog::{as_extension_owner, cache, qualified_name, quote_ident, require_owner, select_one};
use crate::error::{internal, notice, raise, warning};
use crate::remote::conn::{server_oid, RemoteError};
use crate::remote::contract::{apply, is_distributed, placements};
use crate::remote::xact::{query, raise_remote, recover};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;

fn extension_version() -> String {
    select_one::<String>("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_vigil'", &[])
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The server's OID; raises 42704 unless it is a postgres_fdw server.
fn fdw_server(server: &str) -> Oid {
    server_oid(server).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("foreign server \"{server}\" does not exist or is not a postgres_fdw server"),
            None,
            Some("Create it with CREATE SERVER ... FOREIGN DATA WRAPPER postgres_fdw, and a user mapping for it.".into()),
        )
    })
}

fn require_server_owner(server: &str, serverid: Oid) {
    if !unsafe { pg_sys::pg_foreign_server_ownercheck(serverid, pg_sys::GetUserId()) } {
        raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("must be owner of foreign server {}", quote_ident(server)), None, None);
    }
}

/// What a node is: its pg_vigil version and whether it takes two-phase commits.
struct NodeFacts {
    version: Option<String>,
    prepared_transactions: i64,
}

fn node_facts(server: &str) -> Result<NodeFacts, RemoteError> {
    let rows = query(
        server,
        "SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_vigil'),
                pg_catalog.current_setting('max_prepared_transactions')",
        &[],
    )?;
    let row = rows.into_iter().next().unwrap_or_default();
    Ok(NodeFacts {
        version: row.first().cloned().flatten(),
        prepared_transactions: row.get(1).cloned().flatten().and_then(|v| v.parse().ok()).unwrap_or(0),
    })
}

/// Raises unless the node runs this pg_vigil and can prepare transactions.
fn check_node(server: &str, facts: &NodeFacts) {
    let ours = extension_version();
    match &facts.version {
        None => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("node \"{server}\" does not have pg_vigil installed"),
            None,
            Some("Run CREATE EXTENSION pg_vigil in the node's database.".into()),
        ),
        Some(v) if *v != ours => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("node \"{server}\" runs pg_vigil {v}, this database {ours}"),
            None,
            Some("Update both to the same version (ALTER EXTENSION pg_vigil UPDATE).".into()),
        ),
        _ => {}
    }
    if facts.prepared_transactions == 0 {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("node \"{server}\" cannot prepare transactions (max_prepared_transactions = 0)"),
            Some("pg_vigil changes every node's contract in one two-phase commit.".into()),
            Some("Set max_prepared_transactions on the node (say, to max_connections) and restart it.".into()),
        );
    }
}

#[pg_extern(name = "_add_node")]
#[search_path(pg_catalog, pg_temp)]
fn add_node(server: Option<&str>) -> bool {
    crate::catalog::require_writable("add a node");
    let server = required(server, "server");
    let serverid = fdw_server(server);
    require_server_owner(server, serverid);
    let facts = node_facts(server).unwrap_or_else(|e| raise_remote(server, e));
    check_node(server, &facts);
    let added = as_extension_owner(|| {
        Spi::get_one_with_args::<bool>(
            "INSERT INTO vigil.node (server, pg_vigil_version, last_contact) VALUES ($1, $2, now())
             ON CONFLICT (server) DO UPDATE SET pg_vigil_version = excluded.pg_vigil_version, last_contact = now()
             RETURNING xmax = 0",
            &[server.into(), facts.version.into()],
        )
    })
    .unwrap_or_else(|e| internal("cannot register the node", e))
    .unwrap_or(false);
    if !added {
        notice(format!("node \"{server}\" is already registered"));
    }
    added
}

#[pg_extern(name = "_remove_node")]
#[search_path(pg_catalog, pg_temp)]
fn remove_node(server: Option<&str>) -> bool {
    crate::catalog::require_writable("remove a node");
    let server = required(server, "server");
    if let Some(serverid) = server_oid(server) {
        require_server_owner(server, serverid);
    } else if !unsafe { pg_sys::superuser() } {
        raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, "only a superuser can remove a node whose server is gone", None, None);
    }
    let used = as_extension_owner(|| {
        select_one::<String>(
            "SELECT string_agg(DISTINCT d.relid::text, ', ')
               FROM vigil.distributed d, pg_catalog.pg_partition_tree(d.relid) p
               JOIN pg_catalog.pg_foreign_table f ON f.ftrelid = p.relid
               JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver
              WHERE s.srvname = $1",
            &[server.into()],
        )
    })
    .ok()
    .flatten();
    if let Some(tables) = used {
        raise(
            PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
            format!("node \"{server}\" holds partitions of distributed tables: {tables}"),
            None,
            Some("Detach or drop those partitions first.".into()),
        );
    }
    // An empty result is an Err of pgrx's: no such node.
    as_extension_owner(|| Spi::get_one_with_args::<bool>("DELETE FROM vigil.node WHERE server = $1 RETURNING true", &[server.into()]))
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                format!("\"{server}\" is not a pg_vigil node"),
                None,
                Some("See vigil.nodes for the registered ones.".into()),
            )
        })
}

/// Every registered node, contacted now: reachable or not (and why), its pg_vigil version, the
/// last time it answered.
#[pg_extern(name = "_nodes")]
#[search_path(pg_catalog, pg_temp)]
fn nodes() -> TableIterator<'static, (name!(server, String), name!(reachable, bool), name!(pg_vigil_version, Option<String>),
                                      name!(last_contact, Option<TimestampWithTimeZone>), name!(problem, Option<String>))> {
    let registered: Vec<(String, Option<TimestampWithTimeZone>)> = as_extension_owner(|| {
        Spi::connect(|client| {
            client
                .select("SELECT server, last_contact FROM vigil.node ORDER BY server", None, &[])?
                .map(|r| Ok((r.get::<String>(1)?.unwrap_or_default(), r.get::<TimestampWithTimeZone>(2)?)))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
    })
    .unwrap_or_else(|e| internal("cannot read the nodes", e));
    let writable = unsafe { !pg_sys::RecoveryInProgress() && !pg_sys::XactReadOnly };
    let rows: Vec<_> = registered
        .into_iter()
        .map(|(server, last)| match node_facts(&server) {
            Ok(facts) => {
                let now = as_extension_owner(|| {
                    if writable {
                        Spi::get_one_with_args::<TimestampWithTimeZone>(
                            "UPDATE vigil.node SET last_contact = now(), pg_vigil_version = $2 WHERE server = $1 RETURNING last_contact",
                            &[server.as_str().into(), facts.version.clone().into()],
                        )
                    } else {
                        select_one::<TimestampWithTimeZone>("SELECT now()", &[])
                    }
                })
                .ok()
                .flatten();
                (server, true, facts.version, now.or(last), None)
            }
            Err(e) => (server, false, None, last, Some(e.message)),
        })
        .collect();
    TableIterator::new(rows)
}

/// The nodes of distributed table `tbl` that the current statement's read of its statistics
/// could not reach (their windows are as of their last copy); NULL for a table that is not
/// distributed. The missing_nodes column of vigil.column_stats, vigil.window_status and
/// vigil.alerts.
#[pg_extern(name = "_missing_nodes")]
#[search_path(pg_catalog, pg_temp)]
fn missing_nodes(tbl: Oid) -> Option<Vec<String>> {
    crate::catalog::require_privilege(tbl, pg_sys::ACL_SELECT as u64, "reading its statistics");
    crate::remote::stats::missing_nodes(tbl)
}

/// Makes `tbl` (a partitioned table whose partitions are foreign tables on registered nodes) a
/// distributed table: its contract goes to every node holding a partition, and from then on
/// every change of it, in the changing transaction. Returns the number of partitions.
#[pg_extern(name = "_distribute")]
#[search_path(pg_catalog, pg_temp)]
fn distribute(tbl: Option<Oid>) -> i32 {
    crate::catalog::require_writable("distribute a table");
    let relid = required(tbl, "tbl");
    check_table(relid);
    require_owner(relid);
    let table = qualified_name(relid);
    if unsafe { pg_sys::get_rel_relkind(relid) } as u8 != pg_sys::RELKIND_PARTITIONED_TABLE {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("{table} is not a partitioned table"),
            None,
            Some("A distributed table is partitioned, with postgres_fdw foreign tables on the nodes as partitions.".into()),
        );
    }
    let leaves = placements(relid);
    if leaves.is_empty() {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("{table} has no partitions"),
            None,
            Some("Attach foreign tables on the nodes as its partitions first.".into()),
        );
    }
    let servers = placement_servers(relid, &leaves);
    for server in &servers {
        let facts = node_facts(server).unwrap_or_else(|e| raise_remote(server, e));
        check_node(server, &facts);
    }
    let new = as_extension_owner(|| {
        Spi::get_one_with_args::<bool>("INSERT INTO vigil.distributed (relid) VALUES ($1) ON CONFLICT DO NOTHING RETURNING true", &[relid.into()])
    })
    .ok() // no row returned (already there) is an Err of pgrx's
    .flatten()
    .is_some();
    if !new {
        notice(format!("{table} is already distributed; its contract is sent to every node again"));
    }
    sync_triggers(relid); // the coordinator's triggers go (the nodes enforce); the contract is marked
    cache::invalidate(relid);
    leaves.len() as i32
}

/// The registered nodes holding `leaves` (the partitions of distributed table `relid`, from
/// `placements`); raises when a partition is not a foreign table or is on a server that is not
/// a node. Checked by distribute and whenever a partition is created or attached later.
pub fn placement_servers(relid: Oid, leaves: &[(String, Option<crate::remote::contract::Placement>)]) -> Vec<String> {
    let table = qualified_name(relid);
    let registered: Vec<String> = as_extension_owner(|| {
        Spi::connect(|client| {
            client.select("SELECT server FROM vigil.node", None, &[])?.map(|r| r.get::<String>(1).map(Option::unwrap_or_default)).collect::<Result<Vec<_>, _>>()
        })
    })
    .unwrap_or_else(|e| internal("cannot read the nodes", e));
    let mut servers: Vec<String> = Vec::new();
    for (partition, placement) in leaves {
        match placement {
            None => raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("partition {partition} of {table} is not a foreign table"),
                None,
                Some("Every partition of a distributed table lives on a data node.".into()),
            ),
            Some(p) if !registered.contains(&p.server) => raise(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("partition {partition} of {table} is on server \"{}\", which is not a pg_vigil node", p.server),
                None,
                Some(format!("Register it first: SELECT vigil.add_node('{}').", p.server)),
            ),
            Some(p) if !servers.contains(&p.server) => servers.push(p.server.clone()),
            _ => {}
        }
    }
    servers
}

/// Settles the prepared transactions that pg_vigil left on the nodes (a node or the coordinator
/// failed between the two phases): committed where the coordinator committed, else rolled back.
#[pg_extern(name = "_recover_nodes")]
#[search_path(pg_catalog, pg_temp)]
fn recover_nodes() -> TableIterator<'static, (name!(server, String), name!(gid, Option<String>), name!(action, String))> {
    crate::catalog::require_writable("recover node transactions");
    let servers: Vec<String> = as_extension_owner(|| {
        Spi::connect(|client| {
            client.select("SELECT server FROM vigil.node ORDER BY 1", None, &[])?.map(|r| r.get::<String>(1).map(Option::unwrap_or_default)).collect::<Result<Vec<_>, _>>()
        })
    })
    .unwrap_or_else(|e| internal("cannot read the nodes", e));
    let mut rows = Vec::new();
    for server in servers {
        match recover(&server) {
            Ok(settled) => rows.extend(settled.into_iter().map(|s| (server.clone(), Some(s.gid), s.action.to_string()))),
            Err(e) => {
                warning(format!("node \"{server}\" was not reached: {}", e.message), None);
                rows.push((server, None, "unreachable".into()));
            }
        }
    }
    TableIterator::new(rows)
}

/// On a node: takes the contract its coordinator sent for this node's table.
#[pg_extern(name = "_apply_contract")]
#[search_path(pg_catalog, pg_temp)]
fn apply_contract(tbl: Option<Oid>, contract: Option<pgrx::JsonB>) -> bool {
    crate::catalog::require_writable("apply a contract");
    let relid = required(tbl, "tbl");
    let contract = required(contract, "contract");
    check_table(relid);
    require_owner(relid);
    if is_distributed(relid) {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{} is itself distributed", qualified_name(relid)),
            None,
            Some("A node's table holds rows; only the coordinator's partitioned table is distributed.".into()),
        );
    }
    apply(relid, &contract.0.to_string());
    true
}

/// On a node: the current statistics epoch of `tbl` and the keys its watched columns' statistics
/// are stored under, with their names (the coordinator maps them to its own keys).
#[pg_extern(name = "_statistics_keys")]
#[search_path(pg_catalog, pg_temp)]
fn statistics_keys(tbl: Oid) -> TableIterator<'static, (name!(epoch, i32), name!(attnums, Vec<i16>), name!(columns, Vec<String>))> {
    crate::catalog::require_privilege(tbl, pg_sys::ACL_SELECT as u64, "reading its statistics");
    let row = as_extension_owner(|| {
        Spi::connect(|client| {
            let mut rows = client.select("SELECT epoch, attnums, columns FROM vigil.watch_def WHERE relid = $1", None, &[tbl.into()])?;
            match rows.next() {
                Some(r) => Ok(Some((
                    r.get::<i32>(1)?.unwrap_or(1),
                    r.get::<Vec<i16>>(2)?.unwrap_or_default(),
                    r.get::<Vec<String>>(3)?.unwrap_or_default(),
                ))),
                None => Ok::<_, pgrx::spi::Error>(None),
            }
        })
    })
    .unwrap_or_else(|e| internal("cannot read the watch", e));
    TableIterator::new(row)
}

/// On a node: each window of `epoch` whose rows differ from what the coordinator holds (`have`:
/// JSON `[[window_start_usecs or null, rows], ...]`), with its deltas merged into one payload;
/// and the windows it holds that are gone here (0 rows, no payload). Windows are keyed in
/// microseconds since 2000-01-01, as stored.
#[pg_extern(name = "_window_payloads")]
#[search_path(pg_catalog, pg_temp)]
fn window_payloads(
    tbl: Oid,
    epoch: i32,
    have: pgrx::JsonB,
) -> TableIterator<'static, (name!(window_usecs, Option<i64>), name!(row_count, i64), name!(payload, Option<Vec<u8>>))> {
    crate::catalog::require_privilege(tbl, pg_sys::ACL_SELECT as u64, "reading its statistics");
    let have: std::collections::BTreeMap<Option<i64>, i64> = serde_json::from_value::<Vec<(Option<i64>, i64)>>(have.0)
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("have: {e}"), None, None))
        .into_iter()
        .collect();
    crate::trigger::profile::write_unwritten();
    let sums: Vec<(Option<i64>, i64)> = crate::catalog::query_as_owner(
        "SELECT window_start, sum(row_count)::bigint FROM vigil.profile_delta WHERE relid = $1 AND epoch = $2 GROUP BY 1",
        &[pg_sys::OIDOID, pg_sys::INT4OID],
        &[tbl.into(), epoch.into()],
        |rows| rows.map(|r| Ok((r.get::<TimestampWithTimeZone>(1)?.map(i64::from), r.get::<i64>(2)?.unwrap_or(0)))).collect(),
    )
    .unwrap_or_else(|e| internal("cannot read statistics", e));
    let changed: Vec<Option<i64>> = sums.iter().filter(|(w, rows)| have.get(w) != Some(rows)).map(|(w, _)| *w).collect();
    let mut out: Vec<(Option<i64>, i64, Option<Vec<u8>>)> =
        have.keys().filter(|w| !sums.iter().any(|s| s.0 == **w)).map(|w| (*w, 0, None)).collect();
    for window in changed {
        let payloads: Vec<(i64, Vec<u8>)> = crate::catalog::query_as_owner(
            "SELECT row_count, payload FROM vigil.profile_delta
              WHERE relid = $1 AND epoch = $2 AND window_start IS NOT DISTINCT FROM $3",
            &[pg_sys::OIDOID, pg_sys::INT4OID, pg_sys::TIMESTAMPTZOID],
            &[tbl.into(), epoch.into(), window.map(crate::catalog::timestamptz).into()],
            |rows| rows.map(|r| Ok((r.get::<i64>(1)?.unwrap_or(0), r.get::<Vec<u8>>(2)?.unwrap_or_default()))).collect(),
        )
        .unwrap_or_else(|e| internal("cannot read statistics", e));
        let rows = payloads.iter().map(|p| p.0).sum();
        let parts: Vec<&[u8]> = payloads.iter().map(|p| p.1.as_slice()).collect();
        let merged = crate::profile::window::merge_payloads(&parts).unwrap_or_else(|e| {
            raise(PgSqlErrorCode::ERRCODE_DATA_CORRUPTED, format!("pg_vigil statistics of {} are unreadable: {e}", qualified_name(tbl)), None, None)
        });
        out.push((window, rows, Some(merged)));
    }
    TableIterator::new(out)
}
