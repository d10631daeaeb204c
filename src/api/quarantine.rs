//! vigil.release_quarantine: puts quarantined rows back into their table. The rows are inserted
//! as the caller (so the table's privileges, policies and all its rules apply again); rows that
//! still break a quarantine rule stay where they are (same id, capture time and txid), the others
//! are released. Quarantined updates are left for a person: the table kept the old version, and
//! only they know which one is right.

use crate::catalog::cache::{ruleset_for, CompiledRule};
use crate::catalog::{as_extension_owner, column_index, qualified_name, require_privilege};
use crate::rules::{Mode, Tally};
use crate::trigger::eval::check_value;
use crate::error::{notice, raise};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;

#[pg_extern(name = "_release_quarantine")]
#[search_path(pg_catalog, pg_temp)]
fn release_quarantine(tbl: Oid, ids: Option<Vec<i64>>) -> i64 {
    crate::catalog::require_writable("release quarantined rows");
    require_privilege(tbl, pg_sys::ACL_INSERT as u64, "vigil.release_quarantine");
    require_privilege(tbl, pg_sys::ACL_SELECT as u64, "vigil.release_quarantine");
    let table = qualified_name(tbl);
    let fail = |e: pgrx::spi::Error| -> ! {
        raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot release quarantined rows of {table}: {e}"), None, None)
    };

    // Lock the rows being released so two concurrent releases cannot insert a row twice.
    let chosen: Vec<i64> = as_extension_owner(|| {
        Spi::connect_mut(|client| {
            client
                .update(
                    "SELECT quarantine_id FROM vigil.quarantine
                      WHERE relid = $1 AND ($2::bigint[] IS NULL OR quarantine_id = ANY ($2))
                        AND operation = 'insert'
                      ORDER BY quarantine_id FOR UPDATE",
                    None,
                    &[tbl.into(), ids.clone().into()],
                )?
                .map(|r| r.get::<i64>(1).map(|v| v.unwrap_or_default()))
                .collect::<Result<Vec<_>, _>>()
        })
    })
    .unwrap_or_else(|e| fail(e));
    let updates = as_extension_owner(|| {
        Spi::get_one_with_args::<i64>(
            "SELECT count(*) FROM vigil.quarantine
              WHERE relid = $1 AND ($2::bigint[] IS NULL OR quarantine_id = ANY ($2)) AND operation = 'update'",
            &[tbl.into(), ids.clone().into()],
        )
    })
    .unwrap_or_else(|e| fail(e))
    .unwrap_or(0);
    if updates > 0 {
        notice(format!(
            "{updates} quarantined updates of {table} were not released: the table kept their old version (old_row_data); apply row_data by hand where it is right"
        ));
    }
    if chosen.is_empty() {
        return 0;
    }

    let columns: Vec<String> = Spi::connect(|client| {
        client
            .select(
                "SELECT pg_catalog.quote_ident(attname) FROM pg_catalog.pg_attribute
                  WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
                  ORDER BY attnum",
                None,
                &[tbl.into()],
            )?
            .map(|r| r.get::<String>(1).map(|v| v.unwrap_or_default()))
            .collect::<Result<Vec<_>, _>>()
    })
    .unwrap_or_else(|e| fail(e));
    let chosen = still_passing(tbl, &table, chosen);
    if chosen.is_empty() {
        return 0;
    }
    let list = columns.join(", ");
    let from_record: Vec<String> = columns.iter().map(|c| format!("r.{c}")).collect();
    let insert = format!(
        "INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE
         SELECT {} FROM vigil.quarantine q,
                LATERAL pg_catalog.jsonb_populate_record(NULL::{table}, q.row_data) r
          WHERE q.quarantine_id = ANY ($1) ORDER BY q.quarantine_id",
        from_record.join(", ")
    );
    let released = Spi::connect_mut(|client| client.update(&insert, None, &[chosen.clone().into()]).map(|t| t.len()))
        .unwrap_or_else(|e| fail(e));
    as_extension_owner(|| {
        Spi::run_with_args("DELETE FROM vigil.quarantine WHERE quarantine_id = ANY ($1)", &[chosen.into()])
    })
    .unwrap_or_else(|e| fail(e));
    released as i64
}

/// The quarantined rows (by id) that no quarantine rule of the table would divert again, judged
/// with the same kernels as the write path; the others are left untouched.
fn still_passing(tbl: Oid, table: &str, ids: Vec<i64>) -> Vec<i64> {
    let set = ruleset_for(tbl);
    let rules: Vec<&CompiledRule> = set.per_row.iter().map(|&i| &set.rules[i]).filter(|r| r.mode == Mode::Quarantine).collect();
    let multi: Vec<_> = set.per_row_multi().collect();
    if rules.is_empty() && multi.is_empty() {
        return ids;
    }
    let query = format!(
        "SELECT r.*, q.quarantine_id FROM vigil.quarantine q,
                LATERAL pg_catalog.jsonb_populate_record(NULL::{table}, q.row_data) r
          WHERE q.quarantine_id = ANY ($1) ORDER BY q.quarantine_id"
    );
    Spi::connect(|client| {
        client.select(&query, None, &[ids.clone().into()])?;
        let mut passing = Vec::new();
        unsafe {
            let table = pg_sys::SPI_tuptable;
            let tupdesc = (*table).tupdesc;
            let columns: Vec<usize> = rules.iter().map(|r| column_index(tupdesc, &r.column)).collect();
            let natts = (*tupdesc).natts as usize;
            let mut values = vec![pg_sys::Datum::from(0); natts];
            let mut nulls = vec![true; natts];
            for i in 0..pg_sys::SPI_processed as usize {
                pg_sys::heap_deform_tuple(*(*table).vals.add(i), tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
                let fails = rules.iter().zip(&columns).any(|(rule, &c)| {
                    check_value(rule, values[c], nulls[c], set.utf8, &mut Tally::default())
                }) || multi.iter().any(|rule| {
                    crate::trigger::multi::failing_row(rule, |c| column_index(tupdesc, &c.name), values.as_ptr(), nulls.as_ptr()).is_some()
                });
                if !fails {
                    passing.push(values[natts - 1].value() as i64); // quarantine_id, a bigint
                }
            }
        }
        Ok::<_, pgrx::spi::Error>(passing)
    })
    .unwrap_or_else(|e| {
        raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot check quarantined rows of {table}: {e}"), None, None)
    })
}
