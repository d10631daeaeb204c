//! vigil.watch / vigil.unwatch and reading the recorded statistics back (vigil.column_stats).

use super::declare::{check_table, required, sync_triggers};
use crate::catalog::{as_extension_owner, cache, qualified_name, require_owner, require_privilege, timestamptz, type_name, Repr};
use pgrx::datum::TimestampWithTimeZone;
use crate::error::raise;
use crate::profile::window::USECS_PER_DAY;
use crate::profile::ColumnProfile;
use pgrx::datum::Interval;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;

const PROFILED_TYPES: &str =
    "smallint, integer, bigint, real, double precision, numeric (numeric profiles); text, varchar, char, boolean (categorical)";

/// A live column of the table: (attnum, type).
fn live_column(relid: Oid, name: &str) -> (i16, Oid) {
    crate::catalog::select_two::<i16, Oid>(
        "SELECT attnum, atttypid FROM pg_catalog.pg_attribute
          WHERE attrelid = $1 AND attname = $2 AND attnum > 0 AND NOT attisdropped",
        &[relid.into(), name.into()],
    )
    .ok()
    .and_then(|(a, t)| Some((a?, t?)))
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            format!("column \"{name}\" of relation {} does not exist", qualified_name(relid)),
            None,
            None,
        )
    })
}

fn window_usecs(window: &Interval) -> i64 {
    if window.months() != 0 {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "window_size must be a fixed duration",
            Some("Months have no fixed length.".into()),
            Some("Use days or hours, e.g. '30 days' or '1 hour'.".into()),
        );
    }
    let usecs = window.days() as i64 * USECS_PER_DAY + window.micros();
    if usecs <= 0 {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "window_size must be positive", None, None);
    }
    usecs
}

#[pg_extern(name = "_watch")]
#[search_path(pg_catalog, pg_temp)]
fn watch(
    tbl: Option<Oid>,
    time_column: Option<&str>,
    window_size: Option<Interval>,
    columns: Option<Vec<Option<String>>>,
) -> i32 {
    crate::catalog::require_writable("watch a table");
    let relid = required(tbl, "tbl");
    let window = required(window_size, "window_size");
    check_table(relid);
    require_owner(relid);
    window_usecs(&window);
    let table = qualified_name(relid);

    let time_attnum = time_column.map(|name| {
        let (attnum, typid) = live_column(relid, name);
        if !matches!(Repr::of(typid), Repr::Date | Repr::Timestamp) {
            raise(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!("time_column \"{name}\" of {table} is of type {}", type_name(typid)),
                None,
                Some("The time column must be a date, timestamp or timestamptz.".into()),
            );
        }
        attnum
    });
    let attnums: Vec<i16> = match columns {
        Some(names) => names
            .into_iter()
            .map(|name| {
                let name = required(name, "a column name");
                let (attnum, typid) = live_column(relid, &name);
                if Repr::of(typid).profile_kind().is_none() {
                    raise(
                        PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                        format!("column \"{name}\" of {table} is of type {}, which cannot be profiled", type_name(typid)),
                        Some(format!("Supported types: {PROFILED_TYPES}.")),
                        None,
                    );
                }
                attnum
            })
            .collect(),
        None => Spi::connect(|client| {
            client
                .select(
                    "SELECT attnum, atttypid FROM pg_catalog.pg_attribute
                      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                    None,
                    &[relid.into()],
                )?
                .map(|r| Ok((r.get::<i16>(1)?.unwrap_or(0), r.get::<Oid>(2)?.unwrap_or(pg_sys::InvalidOid))))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|&(attnum, typid)| Some(attnum) != time_attnum && Repr::of(typid).profile_kind().is_some())
        .map(|(attnum, _)| attnum)
        .collect(),
    };
    let mut attnums = attnums;
    attnums.sort_unstable();
    attnums.dedup();
    if attnums.is_empty() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{table} has no column to watch"),
            Some(format!("Supported types: {PROFILED_TYPES}.")),
            None,
        );
    }
    let already = as_extension_owner(|| {
        crate::catalog::select_one::<bool>("SELECT EXISTS (SELECT 1 FROM vigil.watch_def WHERE relid = $1)", &[relid.into()])
    })
    .ok()
    .flatten()
    .unwrap_or(false);
    if already {
        raise(
            PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
            format!("{table} is already watched"),
            None,
            Some("Call vigil.unwatch first to change what is watched (its statistics are dropped).".into()),
        );
    }
    let count = attnums.len() as i32;
    // Each column's key is its attnum now; its name is what follows it through dumps and renames.
    as_extension_owner(|| {
        Spi::run_with_args(
            crate::catalog::for_catalog(
                "INSERT INTO vigil.watch_def (relid, time_column, window_size, attnums, columns)
                 SELECT $1, $2, $3, $4, ARRAY(SELECT a.attname::text FROM unnest($4) WITH ORDINALITY AS k(attnum, i)
                                                JOIN pg_catalog.pg_attribute a ON a.attrelid = $1 AND a.attnum = k.attnum
                                               ORDER BY k.i)",
                "INSERT INTO vigil.watch_def (relid, time_attnum, window_size, attnums)
                 VALUES ($1, (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attname = $2), $3, $4)",
            ),
            &[relid.into(), time_column.into(), window.into(), attnums.into()],
        )
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot store watch: {e}"), None, None));
    sync_triggers(relid);
    cache::invalidate(relid);
    crate::monitor::worker::wake_for_this_database();
    count
}

/// How long after its window ends an expected window without rows counts as missing, for this
/// table; NULL goes back to vigil.grace (by default learned from the table's arrivals).
#[pg_extern(name = "_set_grace")]
#[search_path(pg_catalog, pg_temp)]
fn set_grace(tbl: Option<Oid>, grace: Option<Interval>) -> bool {
    crate::catalog::require_writable("set a grace");
    let relid = required(tbl, "tbl");
    check_table(relid);
    require_owner(relid);
    super::drift::must_be_watched(relid);
    if let Some(g) = &grace {
        if g.months() != 0 || g.days() < 0 || g.micros() < 0 {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("grace for {} must be a fixed, non-negative duration", qualified_name(relid)),
                Some("Months have no fixed length.".into()),
                Some("Use hours or minutes, e.g. '3 hours'.".into()),
            );
        }
    }
    crate::remote::contract_changed(relid);
    as_extension_owner(|| Spi::run_with_args("UPDATE vigil.watch_def SET grace = $2 WHERE relid = $1", &[relid.into(), grace.into()]))
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot store grace: {e}"), None, None));
    true
}

/// Watches `relid` as vigil.watch does (for a node taking its coordinator's contract).
pub(crate) fn watch_table(relid: Oid, time_column: Option<&str>, window_size: Interval, columns: Vec<Option<String>>) -> i32 {
    watch(Some(relid), time_column, Some(window_size), Some(columns))
}

/// Unwatches `relid` as vigil.unwatch does.
pub(crate) fn unwatch_table(relid: Oid) -> bool {
    unwatch(Some(relid))
}

#[pg_extern(name = "_unwatch")]
#[search_path(pg_catalog, pg_temp)]
fn unwatch(tbl: Option<Oid>) -> bool {
    crate::catalog::require_writable("unwatch a table");
    let relid = required(tbl, "tbl");
    check_table(relid);
    require_owner(relid);
    crate::catalog::compact::exclude_compaction(relid);
    let removed = as_extension_owner(|| {
        Spi::get_one_with_args::<bool>(
            "WITH w AS (DELETE FROM vigil.watch_def WHERE relid = $1 RETURNING 1),
                  d AS (DELETE FROM vigil.profile_delta WHERE relid = $1 RETURNING 1),
                  m AS (DELETE FROM vigil.window_mark WHERE relid = $1 RETURNING 1),
                  s AS (DELETE FROM vigil.window_memo WHERE relid = $1 RETURNING 1)
             SELECT EXISTS (SELECT 1 FROM w) OR EXISTS (SELECT 1 FROM d)",
            &[relid.into()],
        )
    })
    .ok()
    .flatten()
    .unwrap_or(false);
    if crate::remote::contract::is_distributed(relid) {
        // The copies of the nodes' statistics go too (the nodes drop theirs with the contract).
        as_extension_owner(|| Spi::run_with_args("DELETE FROM vigil.node_window WHERE relid = $1", &[relid.into()]))
            .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot drop node statistics: {e}"), None, None));
    }
    sync_triggers(relid);
    cache::invalidate(relid);
    removed
}


/// Merges each window's statistics deltas into one row, for one table (which the caller must
/// own) or, without one, every watched table the caller owns. Returns the rows merged away.
#[pg_extern(name = "_compact")]
#[search_path(pg_catalog, pg_temp)]
fn compact(tbl: Option<Oid>) -> i64 {
    crate::catalog::require_writable("compact statistics");
    crate::trigger::profile::write_unwritten();
    let tables: Vec<Oid> = match tbl {
        Some(relid) => {
            check_table(relid);
            require_owner(relid);
            vec![relid]
        }
        None => as_extension_owner(|| {
            Spi::connect(|client| {
                client
                    .select("SELECT relid FROM vigil.watch_def", None, &[])?
                    .map(|r| Ok(r.get::<Oid>(1)?.unwrap_or(pg_sys::InvalidOid)))
                    .collect::<Result<Vec<_>, pgrx::spi::Error>>()
            })
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|&relid| unsafe { pg_sys::pg_class_ownercheck(relid, pg_sys::GetUserId()) })
        .collect(),
    };
    tables.into_iter().map(|relid| crate::catalog::compact::compact(relid, None, crate::catalog::compact::Policy::Full).unwrap_or(0)).sum()
}

/// Ranks reported by vigil.column_stats (p01 … p99).
const RANKS: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/// Merged statistics of every watched column and window of the current epoch.
#[pg_extern(name = "_column_stats")]
#[search_path(pg_catalog, pg_temp)]
fn column_stats(tbl: Oid) -> TableIterator<'static, (
    name!(attnum, i16),
    name!(window_start, Option<TimestampWithTimeZone>),
    name!(row_count, i64),
    name!(null_count, i64),
    name!(nan_count, i64),
    name!(min, Option<f64>),
    name!(max, Option<f64>),
    name!(mean, Option<f64>),
    name!(stddev, Option<f64>),
    name!(quantiles, Option<Vec<Option<f64>>>),
    name!(distinct_estimate, f64),
    name!(top_values, Option<JsonB>),
)> {
    require_privilege(tbl, pg_sys::ACL_SELECT as u64, "reading its statistics");
    let merged = crate::stats::merged_profiles(tbl, None);
    let rows: Vec<_> = merged
        .into_iter()
        .map(|((attnum, window), p)| {
            let numeric = p.kind == crate::profile::ProfileKind::Numeric;
            let m = &p.moments();
            let top = (!numeric).then(|| {
                JsonB(serde_json::Value::Array(
                    p.top_values(100)
                        .into_iter()
                        .map(|(value, count)| serde_json::json!({"value": value, "count": count}))
                        .collect(),
                ))
            });
            (
                attnum,
                window.map(timestamptz),
                p.rows as i64,
                p.nulls as i64,
                p.nan as i64,
                (numeric && m.n > 0).then_some(m.min),
                (numeric && m.n > 0).then_some(m.max),
                if numeric { m.mean() } else { None },
                if numeric { m.stddev_samp() } else { None },
                numeric.then(|| {
                    let d = p.distribution();
                    RANKS.iter().map(|&r| d.as_ref().map(|d| d.quantile(r))).collect()
                }),
                p.distinct_estimate(),
                top,
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// Profiles the rows already in a watched table: the table's statistics start a new epoch that
/// holds exactly its current rows (earlier epochs stay as history). Without a time column the rows
/// go to the current window. One aggregate query (vigil.profile per column, grouped by window),
/// so PostgreSQL runs it in parallel workers on a large table; a NOTICE reports each tenth of
/// the table read. Cancelling it leaves nothing behind (one transaction).
#[pg_extern(name = "_backfill")]
#[search_path(pg_catalog, pg_temp)]
fn backfill(tbl: Option<Oid>) -> i64 {
    crate::catalog::require_writable("backfill statistics");
    let relid = required(tbl, "tbl");
    check_table(relid);
    require_owner(relid);
    let table = qualified_name(relid);
    super::drift::must_be_watched(relid);
    let set = cache::ruleset_for(relid);
    let watch = set.watch.as_ref().expect("checked above");
    let epoch = as_extension_owner(|| {
        Spi::get_one_with_args::<i32>(
            "UPDATE vigil.watch_def SET epoch = epoch + 1 WHERE relid = $1 RETURNING epoch",
            &[relid.into()],
        )
    })
    .ok()
    .flatten()
    .unwrap_or(watch.epoch + 1);
    cache::invalidate(relid);

    let column_name = |attno: usize| {
        Spi::get_one_with_args::<String>(
            "SELECT pg_catalog.quote_ident(attname) FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum = $2",
            &[relid.into(), (attno as i16 + 1).into()],
        )
        .ok()
        .flatten()
        .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN, "a watched column is gone", None, None))
    };
    let window = match watch.time {
        Some((attno, _)) => format!("vigil._window_of({}, {})", column_name(attno), watch.window_usecs),
        None => "NULL::timestamptz".to_string(),
    };
    let mut profiles: Vec<String> = watch
        .columns
        .iter()
        .map(|c| {
            let cast = if c.kind == crate::profile::ProfileKind::Numeric { "float8" } else { "text" };
            format!("vigil.profile({}::{cast})", column_name(c.attno))
        })
        .collect();
    let mut attnums: Vec<i16> = watch.columns.iter().map(|c| c.attnum).collect();
    if let Some((attno, _)) = watch.time {
        profiles.push(format!("vigil.profile(vigil._time_in_window({}, {}))", column_name(attno), watch.window_usecs));
        attnums.push(crate::profile::window::TIME_IN_WINDOW_ATTNUM);
    }
    let blocks = Spi::get_one_with_args::<i64>(
        "SELECT pg_catalog.pg_relation_size($1) / pg_catalog.current_setting('block_size')::bigint",
        &[relid.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(0);
    let query = format!(
        "SELECT {window}, count(*), {} FROM {table}
          WHERE vigil._backfill_progress(ctid, {blocks}, {epoch}, {}) GROUP BY 1",
        profiles.join(", "),
        crate::catalog::quote_literal(&table),
    );
    let window_statistics = watch.time.map(|(attno, _)| window_statistics(relid, &table, &window, &column_name(attno)));
    let windows: Vec<(Option<i64>, i64, Vec<Vec<u8>>)> = Spi::connect(|client| {
        client
            .select(&query, None, &[])?
            .map(|r| {
                let start = r.get::<TimestampWithTimeZone>(1)?.map(i64::from);
                let rows = r.get::<i64>(2)?.unwrap_or(0);
                let payloads = (0..profiles.len())
                    .map(|i| Ok(r.get::<Vec<u8>>(i + 3)?.unwrap_or_default()))
                    .collect::<Result<Vec<_>, pgrx::spi::Error>>()?;
                Ok((start, rows, payloads))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot profile {table}: {e}"), None, None));
    if let Some(Some(name)) = window_statistics {
        Spi::run(&format!("DROP STATISTICS {name}"))
            .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot drop {name}: {e}"), None, None));
    }
    let write_window = watch.time.is_none().then(|| {
        crate::profile::window::window_start(unsafe { pg_sys::GetCurrentStatementStartTimestamp() }, watch.window_usecs)
    });
    let mut total = 0;
    for (start, rows, payloads) in windows {
        let profiles: Vec<ColumnProfile> = payloads
            .iter()
            .map(|p| ColumnProfile::deserialize(p))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("unreadable profile: {e}"), None, None));
        // A window's times profile is empty for the NULL-time bucket: left out, as on writes.
        let columns: Vec<(i16, &ColumnProfile)> = attnums
            .iter()
            .copied()
            .zip(profiles.iter())
            .filter(|(a, _)| *a != crate::profile::window::TIME_IN_WINDOW_ATTNUM || start.is_some())
            .collect();
        let key = (epoch, start.or(write_window));
        crate::catalog::compact::insert_delta(crate::catalog::compact::Part::Indexed, relid, key, rows, &crate::profile::window::encode(&columns, None, None, None));
        total += rows;
    }
    total
}

/// Tells the planner how many windows the table's rows fall in, so that backfill's grouped
/// aggregate runs as partial aggregates in parallel workers: without it the planner counts one
/// group per distinct time value and aggregates in one process. A statistics object on the
/// window expression, built by ANALYZE of the time column and dropped after the query, all in
/// backfill's transaction. Returns its name, or None (then the plan is serial) when the caller
/// may not create objects in the table's schema.
fn window_statistics(relid: Oid, table: &str, window: &str, time_column: &str) -> Option<String> {
    let (schema, may_create) = Spi::get_two_with_args::<String, bool>(
        "SELECT pg_catalog.quote_ident(n.nspname), pg_catalog.has_schema_privilege(n.oid, 'CREATE')
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        &[relid.into()],
    )
    .ok()
    .and_then(|(s, c)| Some((s?, c?)))?;
    if !may_create {
        return None;
    }
    let name = format!("{schema}.vigil_backfill_{}", relid.to_u32());
    Spi::run(&format!("CREATE STATISTICS {name} ON ({window}) FROM {table}"))
        .and_then(|_| Spi::run(&format!("ANALYZE {table} ({time_column})")))
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot prepare the backfill of {table}: {e}"), None, None));
    Some(name)
}
