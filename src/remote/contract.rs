//! A distributed table's contract, as the coordinator sends it to the nodes: its catalog rows
//! (constraints, watch settings, baseline, grace, window marks) as JSON, applied on each node's
//! table by `vigil._apply_contract`, which makes that table's rows equal to them and compiles
//! its rules (a node whose columns cannot take a rule refuses, and the coordinator's commit
//! fails with the node's error).

use super::xact::{in_transaction, raise_remote};
use crate::catalog::{as_extension_owner, qualified_name, select_one};
use crate::error::{internal, raise};
use pgrx::pg_sys::{errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;

/// Where a leaf partition's rows live: its node and the table there.
pub struct Placement {
    pub server: String,
    /// The node's table, schema-qualified and quoted (the foreign table's schema_name and
    /// table_name options, else its own names, as postgres_fdw reads them).
    pub remote_table: String,
}

/// Whether the installed catalog has the scale-out tables (0.5.0 on): before ALTER EXTENSION
/// pg_vigil UPDATE nothing is distributed. Syscache lookups only.
pub fn catalog_has_scale_out() -> bool {
    unsafe {
        let schema = pgrx::pg_sys::get_namespace_oid(c"vigil".as_ptr(), true);
        pgrx::pg_sys::get_relname_relid(c"distributed".as_ptr(), schema) != Oid::INVALID
    }
}

pub fn is_distributed(relid: Oid) -> bool {
    catalog_has_scale_out()
        && as_extension_owner(|| select_one::<bool>("SELECT EXISTS (SELECT 1 FROM vigil.distributed WHERE relid = $1)", &[relid.into()]))
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Every leaf partition of `relid` that is a foreign table, with its server; and the leaves
/// that are not (None server).
pub fn placements(relid: Oid) -> Vec<(String, Option<Placement>)> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT p.relid::pg_catalog.regclass::text, s.srvname::text,
                        pg_catalog.quote_ident(coalesce(o.schema_name, n.nspname)) || '.' ||
                        pg_catalog.quote_ident(coalesce(o.table_name, c.relname))
                   FROM pg_catalog.pg_partition_tree($1) p
                   JOIN pg_catalog.pg_class c ON c.oid = p.relid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                   LEFT JOIN pg_catalog.pg_foreign_table f ON f.ftrelid = p.relid
                   LEFT JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver
                   LEFT JOIN LATERAL (
                        SELECT max(option_value) FILTER (WHERE option_name = 'schema_name') AS schema_name,
                               max(option_value) FILTER (WHERE option_name = 'table_name') AS table_name
                          FROM pg_catalog.pg_options_to_table(f.ftoptions)) o ON true
                  WHERE p.isleaf AND p.relid <> $1
                  ORDER BY 1",
                None,
                &[relid.into()],
            )?
            .map(|r| {
                let partition = r.get::<String>(1)?.unwrap_or_default();
                let placement = match (r.get::<String>(2)?, r.get::<String>(3)?) {
                    (Some(server), Some(remote_table)) => Some(Placement { server, remote_table }),
                    _ => None,
                };
                Ok((partition, placement))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .unwrap_or_else(|e| internal("cannot read the partitions", e))
}

/// The table's contract: its catalog rows as JSON (names, not numbers, for columns).
pub fn contract_json(relid: Oid) -> String {
    as_extension_owner(|| {
        select_one::<String>(
            "SELECT pg_catalog.jsonb_build_object(
                 'constraints', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        'name', constraint_name, 'kind', kind, 'on_violation', on_violation, 'mostly', mostly,
                        'params', params, 'enabled', enabled, 'column_name', column_name) ORDER BY constraint_id)
                      FROM vigil.constraint_def WHERE relid = $1), '[]'),
                 'watch', (SELECT pg_catalog.jsonb_build_object('time_column', time_column, 'window_size', window_size,
                        'columns', columns, 'baseline_from', baseline_from, 'baseline_to', baseline_to, 'grace', grace)
                      FROM vigil.watch_def WHERE relid = $1),
                 'marks', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('window_start', window_start, 'valid', valid)
                        ORDER BY window_start) FROM vigil.window_mark WHERE relid = $1), '[]'))::text",
            &[relid.into()],
        )
    })
    .unwrap_or_else(|e| internal("cannot read the contract", e))
    .unwrap_or_else(|| "{}".into())
}

/// Sends the table's current contract to every node holding one of its partitions, in the
/// node transactions of the coordinator's transaction (called at its PRE_COMMIT).
pub fn push(relid: Oid) {
    if !is_distributed(relid) {
        return; // dropped, or no longer distributed, in this transaction
    }
    let contract = contract_json(relid);
    for (partition, placement) in placements(relid) {
        let Some(p) = placement else {
            raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("partition {partition} of distributed table {} is not a foreign table", qualified_name(relid)),
                None,
                Some("Every partition of a distributed table lives on a data node.".into()),
            )
        };
        if let Err(e) = in_transaction(&p.server, "SELECT vigil._apply_contract($1::regclass, $2::jsonb)", &[Some(&p.remote_table), Some(&contract)]) {
            raise_remote(&p.server, e);
        }
    }
}

/// On a node: makes `relid`'s contract equal to `contract` (see `contract_json`), keeping the
/// constraints that are unchanged (and their ids, which the violations refer to).
pub fn apply(relid: Oid, contract: &str) {
    let run = |sql: &str| {
        as_extension_owner(|| Spi::run_with_args(sql, &[relid.into(), contract.into()]))
            .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("cannot apply the contract of {}: {e}", qualified_name(relid)), None, None))
    };
    // Constraints: those not in the contract as they are go; the missing ones come.
    const WANTED: &str = "SELECT * FROM pg_catalog.jsonb_to_recordset($2::jsonb -> 'constraints')
                            AS c(name text, kind text, on_violation text, mostly float8, params jsonb, enabled boolean, column_name text)";
    run(&format!(
        "DELETE FROM vigil.constraint_def d WHERE d.relid = $1 AND NOT EXISTS (
            SELECT 1 FROM ({WANTED}) w WHERE w.name = d.constraint_name AND w.kind = d.kind AND w.on_violation = d.on_violation
               AND w.mostly = d.mostly AND w.params = d.params AND w.enabled = d.enabled
               AND w.column_name IS NOT DISTINCT FROM d.column_name)"
    ));
    run(&format!(
        "INSERT INTO vigil.constraint_def (relid, constraint_name, kind, on_violation, mostly, params, enabled, column_name)
         SELECT $1, w.name, w.kind, w.on_violation, w.mostly, w.params, w.enabled, w.column_name FROM ({WANTED}) w
          WHERE NOT EXISTS (SELECT 1 FROM vigil.constraint_def d WHERE d.relid = $1 AND d.constraint_name = w.name)"
    ));
    apply_watch(relid, contract);
    run("DELETE FROM vigil.window_mark m WHERE m.relid = $1 AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.jsonb_to_recordset($2::jsonb -> 'marks') AS w(window_start timestamptz, valid boolean)
             WHERE w.window_start = m.window_start AND w.valid = m.valid)");
    run("INSERT INTO vigil.window_mark (relid, window_start, valid)
         SELECT $1, w.window_start, w.valid
           FROM pg_catalog.jsonb_to_recordset($2::jsonb -> 'marks') AS w(window_start timestamptz, valid boolean)
          WHERE EXISTS (SELECT 1 FROM vigil.watch_def WHERE relid = $1)
         ON CONFLICT (relid, window_start) DO NOTHING");
    crate::api::declare::sync_triggers(relid);
    crate::catalog::cache::invalidate(relid);
    crate::catalog::cache::ruleset_for(relid); // compiles: a rule the node's columns cannot take fails here
}

/// The contract's watch settings: SQL NULL when it has none (JSON null is not a record).
const WATCH: &str = "(CASE WHEN pg_catalog.jsonb_typeof($2::jsonb -> 'watch') = 'object' THEN $2::jsonb -> 'watch' END)";

/// The watch part: unchanged settings stay (and the statistics with them); a different window,
/// time column or column list watches anew, as on the coordinator.
fn apply_watch(relid: Oid, contract: &str) {
    let same = as_extension_owner(|| {
        select_one::<bool>(
            &format!(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM vigil.watch_def WHERE relid = $1)
                             THEN coalesce((SELECT w.time_column IS NOT DISTINCT FROM c.time_column AND w.window_size = c.window_size
                                                   -- as sets: a node lists them in its own column order
                                                   AND ARRAY(SELECT unnest(w.columns) ORDER BY 1) = ARRAY(SELECT unnest(c.columns) ORDER BY 1)
                                              FROM vigil.watch_def w, pg_catalog.jsonb_to_record({WATCH})
                                                   AS c(time_column text, window_size interval, columns text[])
                                             WHERE w.relid = $1), false)
                             ELSE {WATCH} IS NULL END"
            ),
            &[relid.into(), contract.into()],
        )
    })
    .unwrap_or_else(|e| internal("cannot compare watch settings", e))
    .unwrap_or(false);
    if !same {
        crate::api::watch::unwatch_table(relid);
        let settings = as_extension_owner(|| {
            Spi::get_three_with_args::<String, pgrx::datum::Interval, Vec<Option<String>>>(
                &format!(
                    "SELECT c.time_column, c.window_size, c.columns
                       FROM pg_catalog.jsonb_to_record({WATCH}) AS c(time_column text, window_size interval, columns text[])
                      WHERE $1 IS NOT NULL"
                ),
                &[relid.into(), contract.into()],
            )
        });
        if let Ok((time_column, Some(window_size), Some(columns))) = settings {
            crate::api::watch::watch_table(relid, time_column.as_deref(), window_size, columns);
        }
    }
    // A new baseline makes the memos scored against the old one stale (as set_baseline).
    let settings = format!(
        "(SELECT * FROM pg_catalog.jsonb_to_record({WATCH}) AS c(baseline_from timestamptz, baseline_to timestamptz, grace interval)) c"
    );
    as_extension_owner(|| {
        Spi::run_with_args(
            &format!(
                "DELETE FROM vigil.window_memo m USING vigil.watch_def w, {settings}
                  WHERE m.relid = $1 AND w.relid = $1
                    AND (w.baseline_from, w.baseline_to) IS DISTINCT FROM (c.baseline_from, c.baseline_to)"
            ),
            &[relid.into(), contract.into()],
        )?;
        Spi::run_with_args(
            &format!(
                "UPDATE vigil.watch_def w SET baseline_from = c.baseline_from, baseline_to = c.baseline_to, grace = c.grace
                   FROM {settings} WHERE w.relid = $1"
            ),
            &[relid.into(), contract.into()],
        )
    })
    .unwrap_or_else(|e| internal("cannot apply the baseline", e));
}
