//! One contract on every node, in the coordinator's transaction.
//!
//! A change to a distributed table's contract (a declare, a drop, watch, unwatch, a baseline, a
//! mark) marks the table. When the coordinator's transaction commits, the table's final
//! contract is applied on each node that holds one of its partitions, in a transaction of that
//! node, and every such node transaction is prepared (PREPARE TRANSACTION) before the
//! coordinator commits; a record of each prepared transaction is written in the coordinator's
//! transaction (the commit decision). After the coordinator commits, the prepared transactions
//! are committed; after it aborts, rolled back. A node that fails in between keeps its prepared
//! transaction until `recover` settles it from the records: committed when the record exists,
//! rolled back when it does not and the coordinator's transaction is over. Pushing the final
//! contract once, at commit, also follows savepoints: what a rolled-back subtransaction
//! declared is simply not in it.

use super::conn::{self, Conn, RemoteError, Rows, Wait};
use crate::catalog::as_extension_owner;
use crate::error::{raise, warning};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

#[derive(Default)]
struct Txn {
    /// Distributed tables whose contract changed in this transaction.
    changed: Vec<Oid>,
    /// Nodes (and the user whose session it is) with a transaction open for this one (BEGIN
    /// sent), in the order they were opened.
    open: Vec<(String, Oid)>,
    /// (node, user, gid) of the node transactions prepared for this one.
    prepared: Vec<(String, Oid, String)>,
}

thread_local! {
    /// Sessions with nodes, kept across transactions, per (server, user).
    static POOL: RefCell<HashMap<(String, Oid), Conn>> = RefCell::new(HashMap::new());
    static TXN: RefCell<Txn> = RefCell::new(Txn::default());
    /// Gids this backend committed on their nodes: their records are no longer needed (deleted
    /// by its next transaction that changes a contract; recovery deletes the others).
    static FINISHED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a session to `server` as the current user (see `with_conn_as`).
pub fn with_conn<R>(server: &str, f: impl FnOnce(&mut Conn) -> Result<R, RemoteError>) -> Result<R, RemoteError> {
    with_conn_as(server, unsafe { pg_sys::GetUserId() }, f)
}

/// Runs `f` with a session to `server` as `user`: the kept one when the server's and the
/// mapping's options are unchanged and it is healthy, else a new one. The session is out of the
/// pool while `f` runs, so an error that unwinds through it closes it.
fn with_conn_as<R>(server: &str, user: Oid, f: impl FnOnce(&mut Conn) -> Result<R, RemoteError>) -> Result<R, RemoteError> {
    let (options, password_required) = conn::connection_options(server, user)?;
    let key = (server.to_string(), user);
    let kept = POOL.with(|p| p.borrow_mut().remove(&key)).filter(|c| c.is_usable() && c.opened_with(&options));
    let mut conn = match kept {
        Some(c) => c,
        None => conn::open(options, password_required)?,
    };
    let result = f(&mut conn);
    if conn.is_usable() {
        POOL.with(|p| p.borrow_mut().insert(key, conn));
    }
    result
}

/// Runs a statement on `server` outside any node transaction (it commits on its own).
pub fn query(server: &str, sql: &str, params: &[Option<&str>]) -> Result<Rows, RemoteError> {
    with_conn(server, |c| {
        if !c.is_idle() {
            c.exec("ROLLBACK", &[], Wait::Bounded)?;
        }
        c.exec(sql, params, Wait::Interruptible)
    })
}

/// Runs a statement on `server` inside the node transaction that belongs to the coordinator's
/// current transaction (begun on first use).
pub fn in_transaction(server: &str, sql: &str, params: &[Option<&str>]) -> Result<Rows, RemoteError> {
    let user = unsafe { pg_sys::GetUserId() };
    let opened = TXN.with(|t| t.borrow().open.iter().any(|(s, u)| s == server && *u == user));
    with_conn_as(server, user, |c| {
        if !opened {
            if !c.is_idle() {
                c.exec("ROLLBACK", &[], Wait::Bounded)?;
            }
            c.exec("BEGIN ISOLATION LEVEL READ COMMITTED", &[], Wait::Interruptible)?;
            TXN.with(|t| t.borrow_mut().open.push((server.to_string(), user)));
        } else if c.is_idle() {
            // The session was lost and reopened: the node transaction is gone with it.
            return Err(RemoteError {
                sqlstate: "08006".into(),
                message: "the connection to the node was lost during the transaction".into(),
                detail: None,
                hint: None,
            });
        }
        c.exec(sql, params, Wait::Interruptible)
    })
}

/// Raises a node's error as the coordinator's, with the node named.
pub fn raise_remote(server: &str, e: RemoteError) -> ! {
    let code = PgSqlErrorCode::from(sqlstate_code(&e.sqlstate));
    raise(code, format!("node \"{server}\": {}", e.message), e.detail, e.hint)
}

/// The packed SQLSTATE of five characters (MAKE_SQLSTATE), or 08006 for anything else.
fn sqlstate_code(state: &str) -> i32 {
    let b = state.as_bytes();
    if b.len() != 5 || !b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return sqlstate_code("08006");
    }
    b.iter().enumerate().map(|(i, &c)| (((c - b'0') & 0x3F) as i32) << (6 * i)).sum()
}

/// Marks a distributed table's contract as changed: it reaches the nodes when this
/// transaction commits.
pub fn mark_changed(relid: Oid) {
    TXN.with(|t| {
        let mut t = t.borrow_mut();
        if !t.changed.contains(&relid) {
            t.changed.push(relid);
        }
    });
}

/// The prefix of every gid this database's pg_vigil prepares on nodes.
pub fn gid_prefix() -> String {
    unsafe { format!("vigil_{}_{}_", pg_sys::GetSystemIdentifier(), pg_sys::MyDatabaseId.to_u32()) }
}

/// The coordinator's transaction id in a gid of `gid_prefix`.
pub fn gid_xid(gid: &str, prefix: &str) -> Option<u32> {
    gid.strip_prefix(prefix)?.split('_').next()?.parse().ok()
}

/// At PRE_COMMIT: the changed contracts go to their nodes, then every node transaction is
/// prepared and its record written. Any error aborts the coordinator's transaction.
fn prepare_all() {
    let changed = TXN.with(|t| std::mem::take(&mut t.borrow_mut().changed));
    if changed.is_empty() && TXN.with(|t| t.borrow().open.is_empty()) {
        return;
    }
    // SQL at PRE_COMMIT runs outside any statement: it needs a snapshot of its own.
    crate::catalog::with_active_snapshot(unsafe { pg_sys::GetTransactionSnapshot() }, || prepare_nodes(changed));
}

fn prepare_nodes(changed: Vec<Oid>) {
    for relid in changed {
        super::contract::push(relid);
    }
    let open = TXN.with(|t| t.borrow().open.clone());
    if open.is_empty() {
        return;
    }
    let finished = FINISHED.with(|f| std::mem::take(&mut *f.borrow_mut()));
    if !finished.is_empty() {
        as_extension_owner(|| Spi::run_with_args("DELETE FROM vigil.node_txn WHERE gid = ANY($1)", &[finished.into()]))
            .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot clear node transactions: {e}"), None, None));
    }
    let xid = unsafe { pg_sys::GetTopTransactionId() };
    let prefix = gid_prefix();
    for (n, (server, user)) in open.iter().enumerate() {
        let gid = format!("{prefix}{xid}_{n}");
        // The record first: were it written after PREPARE and failed, the node would hold a
        // prepared transaction that recovery rolls back anyway (there is no commit without it).
        as_extension_owner(|| {
            Spi::run_with_args("INSERT INTO vigil.node_txn (gid, server) VALUES ($1, $2)", &[gid.as_str().into(), server.as_str().into()])
        })
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot record a node transaction: {e}"), None, None));
        let sql = format!("PREPARE TRANSACTION {}", crate::catalog::quote_literal(&gid));
        match with_conn_as(server, *user, |c| c.exec(&sql, &[], Wait::Interruptible)) {
            Ok(_) => TXN.with(|t| t.borrow_mut().prepared.push((server.clone(), *user, gid))),
            Err(e) => raise_remote(server, e),
        }
        TXN.with(|t| t.borrow_mut().open.retain(|(s, u)| !(s == server && u == user)));
    }
}

/// Runs `f` on the kept session with `server` as `user`, if there is one, and keeps it while
/// usable. For the commit and abort callbacks: no catalog may be read there, so the session is
/// the one the transaction used, not one opened anew.
fn with_kept<R>(key: (String, Oid), f: impl FnOnce(&mut Conn) -> Result<R, RemoteError>) -> Result<R, RemoteError> {
    let Some(mut conn) = POOL.with(|p| p.borrow_mut().remove(&key)).filter(Conn::is_usable) else {
        return Err(RemoteError { sqlstate: "08003".into(), message: "no session with the node".into(), detail: None, hint: None });
    };
    let result = f(&mut conn);
    if conn.is_usable() {
        POOL.with(|p| p.borrow_mut().insert(key, conn));
    }
    result
}

/// After COMMIT or ABORT: finishes the prepared node transactions (COMMIT PREPARED or ROLLBACK
/// PREPARED) and rolls back the ones not prepared. Never raises: what fails stays for recovery.
fn finish_all(commit: bool) {
    let txn = TXN.with(|t| std::mem::take(&mut *t.borrow_mut()));
    let verb = if commit { "COMMIT PREPARED" } else { "ROLLBACK PREPARED" };
    for (server, user, gid) in txn.prepared {
        // Built by prepare_all of digits and underscores: no quoting (and no catalog) needed.
        let sql = format!("{verb} '{gid}'");
        let done = with_kept((server.clone(), user), |c| c.exec(&sql, &[], Wait::Bounded));
        if commit && done.is_ok() {
            FINISHED.with(|f| f.borrow_mut().push(gid.clone()));
        }
        if let Err(e) = done {
            if commit {
                warning(
                    format!("node \"{server}\" has not committed pg_vigil's prepared transaction {gid}: {}", e.message),
                    Some("vigil.recover_nodes() commits it once the node is back.".into()),
                );
            }
        }
    }
    for key in txn.open {
        let _ = with_kept(key, |c| c.exec("ROLLBACK", &[], Wait::Bounded));
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    match event {
        pg_sys::XactEvent::XACT_EVENT_PRE_COMMIT => prepare_all(),
        pg_sys::XactEvent::XACT_EVENT_COMMIT => finish_all(true),
        pg_sys::XactEvent::XACT_EVENT_ABORT => finish_all(false),
        pg_sys::XactEvent::XACT_EVENT_PRE_PREPARE => {
            let busy = TXN.with(|t| !t.borrow().changed.is_empty() || !t.borrow().open.is_empty());
            if busy {
                raise(
                    PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                    "cannot PREPARE a transaction that changed the contract of a distributed table",
                    None,
                    Some("Commit it directly: pg_vigil commits it on the nodes in two phases itself.".into()),
                );
            }
        }
        _ => {}
    }
}

pub fn register_callbacks() {
    unsafe { pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut()) }
}

/// What recovery did with one prepared transaction of a node.
pub struct Settled {
    pub gid: String,
    pub action: &'static str,
}

fn recorded(server: &str) -> BTreeSet<String> {
    as_extension_owner(|| {
        Spi::connect(|client| {
            client
                .select("SELECT gid FROM vigil.node_txn WHERE server = $1", None, &[server.into()])?
                .map(|r| r.get::<String>(1).map(|g| g.unwrap_or_default()))
                .collect::<Result<BTreeSet<String>, _>>()
        })
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read node transactions: {e}"), None, None))
}

/// Settles the node's prepared transactions that pg_vigil of this database left behind. The
/// order of the reads is what makes it safe against a coordinator transaction committing
/// meanwhile: records seen first, the node's list second (a record whose gid is no longer
/// prepared was finished), in-progress transactions third, records again last (a transaction
/// not in progress has committed, and its record is visible, or it never will be).
pub fn recover(server: &str) -> Result<Vec<Settled>, RemoteError> {
    if crate::catalog::uses_transaction_snapshot() {
        raise(
            PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION,
            "vigil.recover_nodes() must run in a READ COMMITTED transaction",
            Some("It reads the commit records with fresh snapshots.".into()),
            None,
        );
    }
    let prefix = gid_prefix();
    let before = recorded(server);
    let prepared: Vec<String> = query(
        server,
        "SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE starts_with(gid, $1) AND database = current_database()",
        &[Some(&prefix)],
    )?
    .into_iter()
    .filter_map(|r| r.into_iter().next().flatten())
    .collect();
    let running: BTreeSet<String> = prepared
        .iter()
        .filter(|g| gid_xid(g, &prefix).is_some_and(|x| unsafe { pg_sys::TransactionIdIsInProgress(x.into()) }))
        .cloned()
        .collect();
    // Under a snapshot taken now, not the statement's: a transaction that ended since it began
    // must be seen as it ended.
    let after = crate::catalog::with_active_snapshot(unsafe { pg_sys::GetLatestSnapshot() }, || recorded(server));
    let mut settled = Vec::new();
    let mut finished: Vec<String> = before.iter().filter(|g| !prepared.contains(g)).cloned().collect();
    for gid in &prepared {
        let (verb, action) = if after.contains(gid) {
            ("COMMIT PREPARED", "committed")
        } else if running.contains(gid) {
            continue;
        } else {
            ("ROLLBACK PREPARED", "rolled back")
        };
        let sql = format!("{verb} {}", crate::catalog::quote_literal(gid));
        match query(server, &sql, &[]) {
            Ok(_) => {}
            Err(e) if e.sqlstate == "42704" => {} // settled by someone else meanwhile
            Err(e) => return Err(e),
        }
        if action == "committed" {
            finished.push(gid.clone());
        }
        settled.push(Settled { gid: gid.clone(), action });
    }
    as_extension_owner(|| {
        Spi::run_with_args("DELETE FROM vigil.node_txn WHERE server = $1 AND gid = ANY($2)", &[server.into(), finished.into()])
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot clear node transactions: {e}"), None, None));
    Ok(settled)
}

#[cfg(test)]
mod tests {
    #[test]
    fn gids_give_back_their_transaction() {
        assert_eq!(super::gid_xid("vigil_7_5_1234_0", "vigil_7_5_"), Some(1234));
        assert_eq!(super::gid_xid("vigil_7_6_1234_0", "vigil_7_5_"), None);
        assert_eq!(super::gid_xid("vigil_7_5_x_0", "vigil_7_5_"), None);
    }
}
