//! Declaring and dropping constraints. The user-facing expect_* functions (sql/api.sql) normalise
//! their arguments and call `vigil._declare`, which checks everything before changing anything.

use crate::catalog::{self, as_extension_owner, cache, qualified_name, require_owner, type_name, Repr};
use crate::error::{notice, raise, raise_rule_error};
use crate::rules::{self, Mode, Num, Params, RuleError, RuleKind};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;

pub(crate) fn required<T>(value: Option<T>, what: &str) -> T {
    value.unwrap_or_else(|| {
        raise(PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, format!("{what} must not be NULL"), None, None)
    })
}

/// Tables that can carry constraints: ordinary and partitioned tables that are not partitions.
pub(crate) fn check_table(relid: Oid) {
    let kind = unsafe { pg_sys::get_rel_relkind(relid) } as u8;
    if kind == 0 {
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE, format!("relation with OID {} does not exist", relid.to_u32()), None, None);
    }
    if kind != pg_sys::RELKIND_RELATION && kind != pg_sys::RELKIND_PARTITIONED_TABLE {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("{} is not a table", qualified_name(relid)),
            None,
            Some("pg_vigil constraints apply to ordinary and partitioned tables.".into()),
        );
    }
    if unsafe { pg_sys::get_rel_relispartition(relid) } {
        let root = crate::catalog::select_one::<String>("SELECT pg_catalog.pg_partition_root($1::pg_catalog.regclass)::text", &[relid.into()])
            .ok()
            .flatten()
            .unwrap_or_else(|| "partitioned table".into());
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{} is a partition", qualified_name(relid)),
            Some("Writes through the partitioned table would not see a partition's own constraints.".into()),
            Some(format!("Declare the constraint on {root}: it covers every partition.")),
        );
    }
}

struct Column {
    typid: Oid,
    not_null: bool,
}

fn column(relid: Oid, name: &str) -> Column {
    let row = Spi::connect(|client| {
        let mut rows = client.select(
            "SELECT atttypid, attnotnull FROM pg_catalog.pg_attribute
              WHERE attrelid = $1 AND attname = $2 AND attnum > 0 AND NOT attisdropped",
            Some(1),
            &[relid.into(), name.into()],
        )?;
        Ok::<_, pgrx::spi::Error>(match rows.next() {
            Some(r) => Some(Column {
                typid: r.get(1)?.unwrap_or(pg_sys::InvalidOid),
                not_null: r.get(2)?.unwrap_or(false),
            }),
            None => None,
        })
    });
    match row {
        Ok(Some(c)) => c,
        _ => raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            format!("column \"{name}\" of relation {} does not exist", qualified_name(relid)),
            None,
            None,
        ),
    }
}

/// A date or timestamp bound as a number the core can order: microseconds for timestamp
/// columns, (fractional) days for date columns, so that a bound at noon rounds inwards to a whole
/// date as PostgreSQL's own date-vs-timestamp comparison would have it.
fn datetime_bound(text: &Option<String>, col: &Column, repr: Repr) -> Option<Num> {
    const USECS_PER_DAY: i64 = 86_400_000_000;
    text.as_deref().map(|t| {
        let base = unsafe { pg_sys::getBaseType(col.typid) };
        let parse_as = if repr == Repr::Date { pg_sys::TIMESTAMPOID } else { base };
        let usecs = catalog::parse_with_type(t, parse_as, -1).value() as i64;
        match repr {
            Repr::Date => match usecs {
                i64::MAX => Num::I(i32::MAX as i64), // 'infinity'
                i64::MIN => Num::I(i32::MIN as i64),
                u if u % USECS_PER_DAY == 0 => Num::I(u / USECS_PER_DAY),
                u => Num::F(u as f64 / USECS_PER_DAY as f64),
            },
            _ => Num::I(usecs),
        }
    })
}

/// Bounds must be of the column's own kind: numbers for numeric columns, dates or timestamps for
/// date/time columns (text is parsed by the column's type).
fn check_bound_type(bound_type: Option<Oid>, repr: Repr, subject: &str, col_name: &str, col: &Column) {
    let Some(bound_type) = bound_type else { return };
    let mut category: std::ffi::c_char = 0;
    let mut preferred = false;
    unsafe { pg_sys::get_type_category_preferred(bound_type, &mut category, &mut preferred) };
    let category = category as u8;
    let fits = category == b'S' || category == b'X' // text and unknown literals are parsed
        || match repr {
            Repr::Date | Repr::Timestamp => category == b'D',
            _ => category == b'N',
        };
    if !fits {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "cannot declare {subject}: bounds of type {} do not fit column \"{col_name}\" of type {}",
                type_name(bound_type),
                type_name(col.typid)
            ),
            None,
            Some(match repr {
                Repr::Date | Repr::Timestamp => "Pass dates or timestamps, e.g. '2024-01-01'::date.".into(),
                _ => "Pass numbers of the column's type or double precision.".into(),
            }),
        );
    }
}

#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "_declare")]
#[search_path(pg_catalog, pg_temp)]
fn declare(
    tbl: Option<Oid>,
    col: Option<&str>,
    kind: Option<&str>,
    on_violation: Option<&str>,
    mostly: Option<f64>,
    name: Option<&str>,
    min: Option<&str>,
    max: Option<&str>,
    strict_min: Option<bool>,
    strict_max: Option<bool>,
    value_set: Option<Vec<Option<String>>>,
    pattern: Option<&str>,
    bound_type: Option<Oid>,
) -> String {
    crate::catalog::require_writable("declare a constraint");
    let relid = required(tbl, "tbl");
    let col_name = required(col, "col");
    let kind_name = required(kind, "kind");
    let kind = RuleKind::parse(kind_name).unwrap_or_else(|| {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("unknown rule kind \"{kind_name}\""), None, None)
    });
    let mode_name = required(on_violation, "on_violation");
    let mode = Mode::parse(mode_name).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown on_violation \"{mode_name}\""),
            None,
            Some("Use one of 'reject', 'warn', 'quarantine', 'clamp', 'set_null'.".into()),
        )
    });
    let mostly = required(mostly, "mostly");
    check_table(relid);
    require_owner(relid);
    let table = qualified_name(relid);
    let col = column(relid, col_name);
    let repr = Repr::of(col.typid);
    let subject = format!("constraint {} on column \"{col_name}\" of table {table}", kind.as_str());

    let mut params = Params {
        min: min.map(str::to_owned),
        max: max.map(str::to_owned),
        strict_min: required(strict_min, "strict_min"),
        strict_max: required(strict_max, "strict_max"),
        values: value_set.map(|v| v.into_iter().flatten().collect()),
        pattern: pattern.map(str::to_owned),
        ..Default::default()
    };
    if !kind.accepts(repr.kind()) {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!("cannot declare {subject}: column \"{col_name}\" is of type {}", type_name(col.typid)),
            Some(RuleError::WrongType { kind }.to_string()),
            None,
        );
    }
    let mut parsed = None;
    if kind == RuleKind::Between {
        check_bound_type(bound_type, repr, &subject, col_name, &col);
        match repr {
            Repr::Date | Repr::Timestamp => {
                let bounds = (datetime_bound(&params.min, &col, repr), datetime_bound(&params.max, &col, repr));
                let range = rules::Range { min: bounds.0, max: bounds.1, strict_min: params.strict_min, strict_max: params.strict_max };
                (params.min_internal, params.max_internal) = rules::inclusive_int_bounds(&range);
                parsed = Some(bounds);
            }
            Repr::Numeric => {
                // Refuse what numeric_in refuses, with its own message.
                for b in [&params.min, &params.max].into_iter().flatten() {
                    catalog::parse_with_type(b, pg_sys::NUMERICOID, -1);
                }
            }
            _ => {}
        }
    }
    if let Err(e) = rules::validate(kind, repr.kind(), &params, mode, mostly, parsed) {
        raise_rule_error(&e, &format!("cannot declare {subject}"));
    }
    if kind == RuleKind::Between && params.min.is_none() && params.max.is_none() {
        notice(format!("{subject} has neither min nor max: every value passes it"));
    }
    if kind == RuleKind::LengthBetween {
        let bound = |b: &Option<String>| b.as_deref().and_then(|v| v.trim().parse::<i64>().ok());
        if let (Some(min), Some(max)) = (bound(&params.min), bound(&params.max)) {
            if min > max {
                notice(format!("{subject}: min ({min}) is greater than max ({max}), so every non-NULL value fails it"));
            }
        }
    }
    if matches!(kind, RuleKind::InSet | RuleKind::NotInSet) && params.values.as_ref().is_some_and(Vec::is_empty) {
        notice(if kind == RuleKind::InSet {
            format!("{subject}: the value set is empty, so every non-NULL value fails it")
        } else {
            format!("{subject}: the value set is empty, so no value fails it")
        });
    }
    if mode == Mode::SetNull && col.not_null {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("cannot declare {subject} with on_violation 'set_null': the column is NOT NULL"),
            None,
            Some("Use 'quarantine' or 'reject' instead.".into()),
        );
    }

    let params_json = serde_json::to_value(&params).unwrap_or_default();
    let constraint_name = constraint_name(relid, name, Some(col_name), kind.as_str());
    store(relid, &constraint_name, Some(col_name), kind.as_str(), mode, mostly, params_json);
    constraint_name
}

/// The name a new constraint gets: the one given (unique on the table), or a readable default.
fn constraint_name(relid: Oid, name: Option<&str>, column: Option<&str>, kind: &str) -> String {
    let table = qualified_name(relid);
    let relname = unsafe { std::ffi::CStr::from_ptr(pg_sys::get_rel_name(relid)) }.to_string_lossy().into_owned();
    match name {
        Some(n) => {
            if n.is_empty() {
                raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "constraint name must not be empty", None, None);
            }
            if name_taken(relid, n) {
                raise(
                    PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
                    format!("pg_vigil constraint \"{n}\" for relation {table} already exists"),
                    None,
                    Some("Choose another name, or drop the existing one with vigil.drop_constraint.".into()),
                );
            }
            n.to_owned()
        }
        None => {
            let base = rules::default_name(&relname, column, kind);
            let mut candidate = base.clone();
            let mut n = 1;
            while name_taken(relid, &candidate) {
                candidate = format!("{base}{n}");
                n += 1;
            }
            candidate
        }
    }
}

/// Stores a checked declaration and brings the table's triggers and every backend's cache up to it.
/// `column`: None for a constraint on the table (the row count).
fn store(relid: Oid, name: &str, column: Option<&str>, kind: &str, mode: Mode, mostly: f64, params: serde_json::Value) {
    as_extension_owner(|| {
        Spi::run_with_args(
            crate::catalog::for_catalog(
                "INSERT INTO vigil.constraint_def (relid, constraint_name, column_name, kind, on_violation, mostly, params)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                "INSERT INTO vigil.constraint_def (relid, constraint_name, attnum, kind, on_violation, mostly, params)
                 VALUES ($1, $2, coalesce((SELECT attnum FROM pg_catalog.pg_attribute
                                           WHERE attrelid = $1 AND attname = $3 AND NOT attisdropped), 0), $4, $5, $6, $7)",
            ),
            &[relid.into(), name.into(), column.into(), kind.into(), mode.as_str().into(), mostly.into(), JsonB(params).into()],
        )
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot store constraint: {e}"), None, None));
    sync_triggers(relid);
    cache::invalidate(relid);
}

/// A constraint kind by name, or 22023 naming the unknown one.
fn kind_named<K>(kind: Option<&str>, parse: impl Fn(&str) -> Option<K>) -> K {
    let name = required(kind, "kind");
    parse(name).unwrap_or_else(|| {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("unknown constraint kind \"{name}\""), None, None)
    })
}

/// 'reject' or 'warn', the modes of constraints judged per write batch; otherwise 22023 with `why`.
fn batch_mode(mode: Option<Mode>, mode_name: &str, kind: &str, why: &str) -> Mode {
    match mode {
        Some(m @ (Mode::Reject | Mode::Warn)) => m,
        _ => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("on_violation \"{mode_name}\" does not apply to {kind}"),
            Some(why.into()),
            Some("Use 'reject' or 'warn'.".into()),
        ),
    }
}

/// Declares a batch-level constraint (an aggregate of a column, or the row count, per write
/// batch). Checked as thoroughly as row rules; only 'reject' and 'warn' apply to a batch.
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "_declare_aggregate")]
#[search_path(pg_catalog, pg_temp)]
fn declare_aggregate(
    tbl: Option<Oid>,
    col: Option<&str>,
    kind: Option<&str>,
    on_violation: Option<&str>,
    name: Option<&str>,
    min: Option<f64>,
    max: Option<f64>,
    strict_min: Option<bool>,
    strict_max: Option<bool>,
    quantile: Option<f64>,
    metric: Option<&str>,
    threshold: Option<f64>,
) -> String {
    crate::catalog::require_writable("declare a constraint");
    use crate::rules::aggregate::{self, AggregateKind, Bounds};
    let relid = required(tbl, "tbl");
    let kind = kind_named(kind, AggregateKind::parse);
    let mode_name = required(on_violation, "on_violation");
    let mode = match Mode::parse(mode_name) {
        Some(Mode::Reject) if kind == AggregateKind::NoDrift => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "on_violation 'reject' does not apply to no_drift",
            Some("Drift is judged per window once the window is finished, when its rows are already stored.".into()),
            Some("Use 'warn': drifting windows are recorded in vigil.violations (and alert).".into()),
        ),
        m => batch_mode(m, mode_name, kind.as_str(), "A batch-level constraint judges a whole write batch, not single rows."),
    };
    check_table(relid);
    require_owner(relid);
    let table = qualified_name(relid);
    let col_name = match (kind, col) {
        (AggregateKind::RowCountBetween, _) => None,
        (_, None) => raise(PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, "col must not be NULL", None, None),
        (_, Some(name)) => {
            let column = column(relid, name);
            let repr = Repr::of(column.typid);
            let fits = if kind.needs_numbers() {
                repr.kind().is_numeric()
            } else {
                // Distinct counts come from the column's profile (or exact SQL in validate).
                !matches!(kind, AggregateKind::UniqueFractionBetween | AggregateKind::UniqueCountBetween) || repr.profile_kind().is_some()
            };
            if !fits {
                raise(
                    PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                    format!("cannot declare {} on column \"{name}\" of table {table}: column is of type {}", kind.as_str(), type_name(column.typid)),
                    Some(if kind.needs_numbers() {
                        format!("{} is defined for columns of type smallint, integer, bigint, numeric, real, double precision", kind.as_str())
                    } else {
                        format!("{} is defined for numeric, text, varchar, char and boolean columns", kind.as_str())
                    }),
                    None,
                );
            }
            Some(name)
        }
    };
    let bounds = Bounds { min, max, strict_min: required(strict_min, "strict_min"), strict_max: required(strict_max, "strict_max") };
    if let Err(e) = aggregate::validate(kind, &bounds, quantile) {
        raise_rule_error(&e, &format!("cannot declare {} on table {table}", kind.as_str()));
    }
    if kind != AggregateKind::NoDrift && aggregate::is_vacuous(&bounds) {
        notice(format!("{} on table {table} has neither min nor max: every batch passes it", kind.as_str()));
    }
    let metric = if kind == AggregateKind::NoDrift {
        let metric = required(metric, "metric");
        if let Err(e) = aggregate::validate_drift(metric, threshold) {
            raise_rule_error(&e, &format!("cannot declare no_drift on table {table}"));
        }
        super::drift::must_be_watched(relid);
        let watched = as_extension_owner(|| {
            crate::catalog::select_one::<bool>(
                crate::catalog::for_catalog(
                    "SELECT $2 = ANY (columns) FROM vigil.watch_def WHERE relid = $1",
                    "SELECT (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attname = $2) = ANY (attnums)
                       FROM vigil.watch_def WHERE relid = $1",
                ),
                &[relid.into(), col_name.into()],
            )
        })
        .ok()
        .flatten()
        .unwrap_or(false);
        if !watched {
            raise(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("column \"{}\" of {table} is not watched", col_name.unwrap_or_default()),
                None,
                Some("Drift is measured on watched columns: see vigil.watch(columns => ...).".into()),
            );
        }
        Some(metric.to_owned())
    } else {
        None
    };
    let params = Params {
        min: min.map(|v| v.to_string()),
        max: max.map(|v| v.to_string()),
        strict_min: bounds.strict_min,
        strict_max: bounds.strict_max,
        quantile,
        metric,
        threshold,
        ..Default::default()
    };
    let name = constraint_name(relid, name, col_name, kind.as_str());
    store(relid, &name, col_name, kind.as_str(), mode, 1.0, serde_json::to_value(&params).unwrap_or_default());
    name
}

fn name_taken(relid: Oid, name: &str) -> bool {
    as_extension_owner(|| {
        Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM vigil.constraint_def WHERE relid = $1 AND constraint_name = $2)",
            &[relid.into(), name.into()],
        )
    })
    .ok()
    .flatten()
    .unwrap_or(false)
}

#[pg_extern(name = "_drop_constraint")]
#[search_path(pg_catalog, pg_temp)]
fn drop_constraint(tbl: Option<Oid>, name: Option<&str>, if_exists: Option<bool>) -> bool {
    crate::catalog::require_writable("drop a constraint");
    let relid = required(tbl, "tbl");
    let name = required(name, "name");
    let if_exists = required(if_exists, "if_exists");
    check_table(relid);
    require_owner(relid);
    let deleted = as_extension_owner(|| {
        Spi::get_one_with_args::<i32>(
            "DELETE FROM vigil.constraint_def WHERE relid = $1 AND constraint_name = $2 RETURNING constraint_id",
            &[relid.into(), name.into()],
        )
    })
    .ok()
    .flatten();
    if deleted.is_none() {
        let msg = format!("pg_vigil constraint \"{name}\" of relation {} does not exist", qualified_name(relid));
        if if_exists {
            notice(format!("{msg}, skipping"));
            return false;
        }
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, msg, None, Some("See vigil.constraints for the declared ones.".into()));
    }
    sync_triggers(relid);
    cache::invalidate(relid);
    true
}

/// After DDL on a constrained table: makes its triggers match its constraints and compiles its
/// rules, so a change they cannot follow (say, a between column turned into text) is refused.
#[pg_extern(name = "_sync_triggers")]
#[search_path(pg_catalog, pg_temp)]
fn sync_triggers_sql(tbl: Oid) {
    crate::catalog::require_writable("change triggers");
    check_table(tbl);
    require_owner(tbl);
    sync_triggers(tbl);
    cache::ruleset_for(tbl);
}

/// Makes the table's vigil triggers match its constraints: statement triggers on the table and
/// on every partition (statement triggers fire only for the table a statement names), the row
/// trigger only while quarantine or repair rules exist (PostgreSQL clones it to partitions).
pub fn sync_triggers(relid: Oid) {
    let (any_rules, row_rules, watched) = as_extension_owner(|| {
        Spi::get_three_with_args::<bool, bool, bool>(
            "SELECT count(*) > 0, count(*) FILTER (WHERE on_violation IN ('quarantine', 'clamp', 'set_null')) > 0,
                    EXISTS (SELECT 1 FROM vigil.watch_def WHERE relid = $1)
               FROM vigil.constraint_def WHERE relid = $1",
            &[relid.into()],
        )
    })
    .unwrap_or((Some(false), Some(false), Some(false)));
    let (row_rules, watched) = (row_rules.unwrap_or(false), watched.unwrap_or(false));
    // Statement triggers serve both the rules and the statistics.
    let any_rules = any_rules.unwrap_or(false) || watched;
    // A distributed table has none: its nodes enforce and profile (and PostgreSQL collects no
    // transition rows from foreign partitions); its contract goes to them at commit instead.
    let distributed = crate::remote::contract_changed(relid);
    if distributed {
        // A partition created or attached since: on a node, or refused now rather than at commit.
        super::nodes::placement_servers(relid, &crate::remote::contract::placements(relid));
    }
    let (any_rules, row_rules, watched) = (any_rules && !distributed, row_rules && !distributed, watched && !distributed);
    let result = Spi::connect_mut(|client| {
        let tree: Vec<(Oid, String)> = client
            .select(
                "SELECT relid, relid::regclass::text FROM pg_catalog.pg_partition_tree($1)
                  UNION SELECT $1, $1::regclass::text",
                None,
                &[relid.into()],
            )?
            .map(|r| (r.get::<Oid>(1).ok().flatten().unwrap_or(relid), r.get::<String>(2).ok().flatten().unwrap_or_default()))
            .collect();
        for (rel, rel_name) in &tree {
            for (trigger, event) in [("vigil_after_insert", "INSERT"), ("vigil_after_update", "UPDATE")] {
                let exists = has_trigger(client, *rel, trigger)?;
                if any_rules && !exists {
                    client.update(
                        &format!(
                            "CREATE TRIGGER {trigger} AFTER {event} ON {rel_name} REFERENCING NEW TABLE AS vigil_new
                             FOR EACH STATEMENT EXECUTE FUNCTION vigil._after_write()"
                        ),
                        None,
                        &[],
                    )?;
                } else if !any_rules && exists {
                    client.update(&format!("DROP TRIGGER {trigger} ON {rel_name}"), None, &[])?;
                }
            }
        }
        let root_name = &tree.iter().find(|(r, _)| *r == relid).expect("table is in its own tree").1;
        let exists = has_trigger(client, relid, "vigil_before_row")?;
        if row_rules && !exists {
            client.update(
                &format!(
                    "CREATE TRIGGER vigil_before_row BEFORE INSERT OR UPDATE ON {root_name}
                     FOR EACH ROW EXECUTE FUNCTION vigil._before_row()"
                ),
                None,
                &[],
            )?;
        } else if !row_rules && exists {
            client.update(&format!("DROP TRIGGER vigil_before_row ON {root_name}"), None, &[])?;
        }
        // TRUNCATE starts a new statistics epoch.
        let exists = has_trigger(client, relid, "vigil_after_truncate")?;
        if watched && !exists {
            client.update(
                &format!(
                    "CREATE TRIGGER vigil_after_truncate AFTER TRUNCATE ON {root_name}
                     FOR EACH STATEMENT EXECUTE FUNCTION vigil._after_truncate()"
                ),
                None,
                &[],
            )?;
        } else if !watched && exists {
            client.update(&format!("DROP TRIGGER vigil_after_truncate ON {root_name}"), None, &[])?;
        }
        Ok::<_, pgrx::spi::Error>(())
    });
    if let Err(e) = result {
        raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot set up pg_vigil triggers: {e}"), None, None);
    }
}

fn has_trigger(client: &mut pgrx::spi::SpiClient<'_>, rel: Oid, name: &str) -> Result<bool, pgrx::spi::Error> {
    Ok(client
        .select(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgname = $2)",
            None,
            &[rel.into(), name.into()],
        )?
        .first()
        .get_one::<bool>()?
        .unwrap_or(false))
}

/// Declares an expectation over several columns, a batch's uniqueness or order, or a column's
/// set of distinct values (rules::multi). Checked in full before anything is stored.
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "_declare_multi")]
#[search_path(pg_catalog, pg_temp)]
fn declare_multi(
    tbl: Option<Oid>,
    columns: Option<Vec<Option<String>>>,
    kind: Option<&str>,
    on_violation: Option<&str>,
    mostly: Option<f64>,
    name: Option<&str>,
    ignore_row_if: Option<&str>,
    or_equal: Option<bool>,
    strictly: Option<bool>,
    total: Option<f64>,
    value_set: Option<Vec<Option<String>>>,
    ties_okay: Option<bool>,
) -> String {
    use crate::rules::multi::{self, IgnoreRowIf, MultiKind, MultiSpec};
    crate::catalog::require_writable("declare a constraint");
    let relid = required(tbl, "tbl");
    let kind = kind_named(kind, MultiKind::parse);
    let names: Vec<String> = required(columns, "columns")
        .into_iter()
        .map(|c| c.unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, "column names must not be NULL", None, None)))
        .collect();
    let mode_name = required(on_violation, "on_violation");
    let mode = match Mode::parse(mode_name) {
        Some(m @ (Mode::Reject | Mode::Warn)) => m,
        Some(Mode::Quarantine) if kind.per_row() => Mode::Quarantine,
        Some(_) => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("on_violation \"{mode_name}\" does not apply to {}", kind.as_str()),
            Some(if kind.per_row() {
                "Nothing in a row can be clamped or set to NULL to make the columns agree.".into()
            } else {
                format!("{} judges the whole write batch, not single rows.", kind.as_str())
            }),
            Some(if kind.per_row() { "Use 'reject', 'warn' or 'quarantine'.".into() } else { "Use 'reject' or 'warn'.".into() }),
        ),
        None => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown on_violation \"{mode_name}\""),
            None,
            Some("Use one of 'reject', 'warn', 'quarantine'.".into()),
        ),
    };
    let mostly = required(mostly, "mostly");
    check_table(relid);
    require_owner(relid);
    let table = qualified_name(relid);
    let subject = format!("cannot declare {} on table {table}", kind.as_str());
    if !(mostly > 0.0 && mostly <= 1.0) {
        raise_rule_error(&RuleError::InvalidParameter(format!("mostly must be in (0, 1], got {mostly}")), &subject);
    }
    if mostly < 1.0 && mode == Mode::Quarantine {
        raise_rule_error(
            &RuleError::InvalidParameter("mostly < 1 judges whole batches, so it works with on_violation 'reject' or 'warn', not 'quarantine'".into()),
            &subject,
        );
    }
    let ignore = match ignore_row_if {
        None => IgnoreRowIf::AllMissing,
        Some(s) => IgnoreRowIf::parse(s).unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("{subject}: unknown ignore_row_if \"{s}\""),
                None,
                Some("Use 'all_values_are_missing' (or 'both_values_are_missing'), 'any_value_is_missing' (or 'either_value_is_missing'), or 'never' (or 'neither').".into()),
            )
        }),
    };
    let mut spec = MultiSpec::new(kind, names.clone());
    spec.ignore = ignore;
    spec.or_equal = required(or_equal, "or_equal");
    spec.strictly = required(strictly, "strictly");
    spec.ties_okay = required(ties_okay, "ties_okay");
    spec.total = total;
    let values: Option<Vec<String>> = value_set.map(|v| v.into_iter().flatten().collect());
    spec.values = values.as_ref().map(|_| Vec::new()); // parsed below, once the column's type is known
    if let Err(e) = multi::validate(&spec) {
        raise_rule_error(&e, &subject);
    }
    let columns: Vec<Column> = names.iter().map(|n| column(relid, n)).collect();
    let reprs: Vec<Repr> = columns.iter().map(|c| Repr::of(c.typid)).collect();
    let groups: Vec<_> = reprs.iter().map(|r| r.value_group()).collect();
    if let Some(i) = multi::misfit(kind, &groups) {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!("{subject}: column \"{}\" is of type {}", names[i], type_name(columns[i].typid)),
            Some(match kind {
                MultiKind::SumEqual => "Every column of a sum must be numeric.".into(),
                MultiKind::PairGreater | MultiKind::PairEqual | MultiKind::UniqueWithinRecord => {
                    "The columns must be of comparable types: all numbers, all text, all dates, all timestamps or all booleans.".into()
                }
                _ => "Columns of numeric, text, date, timestamp and boolean types can be checked.".into(),
            }),
            None,
        );
    }
    // Set values are checked against the column's type; dates and timestamps are kept in ISO 8601
    // (from their parsed value), so no later DateStyle can read them differently.
    let values: Option<Vec<String>> = values.map(|values| {
        let (repr, typid) = (reprs[0], columns[0].typid);
        values
            .iter()
            .map(|v| match crate::trigger::multi::parse_key(repr, typid, v) {
                Err(e) => raise_rule_error(&e, &subject),
                Ok(crate::rules::multi::Key::Int(internal)) if repr == Repr::Date => crate::rules::suite::iso_date(internal),
                Ok(crate::rules::multi::Key::Int(internal)) if repr == Repr::Timestamp => {
                    crate::rules::suite::iso_timestamp(internal, unsafe { pg_sys::getBaseType(typid) } == pg_sys::TIMESTAMPTZOID)
                }
                Ok(_) => v.clone(),
            })
            .collect()
    });
    let params = Params {
        values,
        columns: Some(names.clone()),
        ignore_row_if: ignore_row_if.map(|_| ignore.as_str(matches!(kind, MultiKind::PairGreater | MultiKind::PairEqual)).to_string()),
        or_equal: spec.or_equal,
        strictly: spec.strictly,
        ties_okay: spec.ties_okay,
        total,
        ..Default::default()
    };
    let label = names.join("_");
    let constraint_name = constraint_name(relid, name, Some(&label), kind.as_str());
    store(relid, &constraint_name, Some(&names[0]), kind.as_str(), mode, mostly, serde_json::to_value(&params).unwrap_or_default());
    constraint_name
}

/// Declares an expectation on the table's shape (rules::shape): its columns as a set or list,
/// their number, or one column's existence. Judged against the catalog, so no column need exist.
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "_declare_shape")]
#[search_path(pg_catalog, pg_temp)]
fn declare_shape(
    tbl: Option<Oid>,
    kind: Option<&str>,
    on_violation: Option<&str>,
    name: Option<&str>,
    columns: Option<Vec<Option<String>>>,
    exact_match: Option<bool>,
    min: Option<i32>,
    max: Option<i32>,
    column_index: Option<i32>,
) -> String {
    use crate::rules::shape::{self, ShapeKind, ShapeSpec};
    crate::catalog::require_writable("declare a constraint");
    let relid = required(tbl, "tbl");
    let kind = kind_named(kind, ShapeKind::parse);
    let mode_name = required(on_violation, "on_violation");
    let mode = batch_mode(Mode::parse(mode_name), mode_name, kind.as_str(), "A table's shape is judged for whole write batches, not single rows.");
    check_table(relid);
    require_owner(relid);
    let table = qualified_name(relid);
    let columns: Option<Vec<String>> = columns.map(|c| {
        c.into_iter()
            .map(|n| n.unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, "column names must not be NULL", None, None)))
            .collect()
    });
    let spec = ShapeSpec {
        columns: columns.clone(),
        exact_match: required(exact_match, "exact_match"),
        min: min.map(i64::from),
        max: max.map(i64::from),
        column_index: column_index.map(i64::from),
    };
    if let Err(e) = shape::validate(kind, &spec) {
        raise_rule_error(&e, &format!("cannot declare {} on table {table}", kind.as_str()));
    }
    if kind == ShapeKind::ColumnCountBetween && min.is_none() && max.is_none() {
        notice(format!("column_count_between on table {table} has neither min nor max: every table passes it"));
    }
    let params = Params {
        expected_columns: columns,
        exact_match: spec.exact_match,
        min: min.map(|v| v.to_string()),
        max: max.map(|v| v.to_string()),
        column_index: spec.column_index,
        ..Default::default()
    };
    let name = constraint_name(relid, name, None, kind.as_str());
    store(relid, &name, None, kind.as_str(), mode, 1.0, serde_json::to_value(&params).unwrap_or_default());
    name
}
