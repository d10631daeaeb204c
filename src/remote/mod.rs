//! Scale-out: a distributed table is a partitioned table on a coordinator whose partitions are
//! postgres_fdw foreign tables on data nodes, each a PostgreSQL with pg_vigil. The nodes enforce
//! the contract and profile their rows (PostgreSQL collects no transition rows from foreign
//! partitions); the coordinator keeps the contract and sends it to them.
//!
//! - `conn`: libpq sessions with nodes, opened from a foreign server and the user's mapping.
//! - `xact`: the nodes' transactions follow the coordinator's, in two phases, with recovery.
//! - `contract`: a table's contract as the nodes receive and apply it.
//! - `stats`: the nodes' statistics of a distributed table, fetched and merged per window.

pub mod conn;
pub mod contract;
pub mod stats;
pub mod xact;

use pgrx::pg_sys::Oid;

/// When `relid` is distributed, marks its contract as changed (it reaches the nodes at commit)
/// and returns true.
pub fn contract_changed(relid: Oid) -> bool {
    let distributed = contract::is_distributed(relid);
    if distributed {
        xact::mark_changed(relid);
    }
    distributed
}
