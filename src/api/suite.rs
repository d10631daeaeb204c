//! vigil.import_expectations / vigil.export_expectations: a table's contract as a Great
//! Expectations suite and back. The mapping is rules::suite; here each call runs as the
//! `vigil.expect_*` function a user would call, with every value passed as a parameter.

use super::declare::required;
use super::declare::check_table;
use crate::catalog::{as_extension_owner, qualified_name, require_privilege, Repr};
use crate::error::{notice, raise};
use crate::rules::suite::{self, Call, Cast, ColumnValues, SuiteError};
use crate::rules::{Mode, Params};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// A JSON value as the text a cast parses (None: SQL NULL); integers stay integers.
fn as_text(v: &Value, integer: bool) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if integer => Some(n.as_i64().map_or_else(|| n.as_f64().map_or(n.to_string(), |f| if f.fract() == 0.0 { (f as i64).to_string() } else { f.to_string() }), |i| i.to_string())),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// The column's type as SQL spells it (text when the column is missing: the expect_* function
/// then reports the missing column itself).
fn column_type(relid: Oid, column: Option<&str>) -> (String, Repr) {
    let Some(column) = column else { return ("text".into(), Repr::Text) };
    crate::catalog::select_two::<String, Oid>(
        "SELECT pg_catalog.format_type(atttypid, atttypmod), atttypid FROM pg_catalog.pg_attribute
          WHERE attrelid = $1 AND attname = $2 AND attnum > 0 AND NOT attisdropped",
        &[relid.into(), column.into()],
    )
    .ok()
    .and_then(|(t, oid)| Some((t?, Repr::of(oid?))))
    .unwrap_or_else(|| ("text".into(), Repr::Text))
}

/// Runs one call as `SELECT vigil.<function>($1::regclass, name => $2::type, ...)`.
fn run_call(relid: Oid, call: &Call) -> String {
    let (coltype, repr) = column_type(relid, call.column.as_deref());
    let temporal = matches!(repr, Repr::Date | Repr::Timestamp);
    let mut sql = format!("SELECT vigil.{}($1::pg_catalog.regclass", call.function);
    let mut params: Vec<pgrx::datum::DatumWithOid<'static>> = vec![relid.into()];
    for (i, arg) in call.args.iter().enumerate() {
        let n = i + 2;
        let cast = match arg.cast {
            Cast::Text => "pg_catalog.text".to_string(),
            Cast::TextArray => "pg_catalog.text[]".to_string(),
            Cast::Float8 => "pg_catalog.float8".to_string(),
            Cast::Int4 => "pg_catalog.int4".to_string(),
            Cast::Int8 => "pg_catalog.int8".to_string(),
            Cast::Bool => "pg_catalog.bool".to_string(),
            Cast::Bound => match &arg.value {
                Value::Number(_) => "pg_catalog.numeric".to_string(),
                Value::String(_) if !temporal => "pg_catalog.text".to_string(),
                _ => coltype.clone(),
            },
            Cast::ColumnArray => format!("{coltype}[]"),
        };
        let expression = arg.expression().unwrap_or_else(|e| {
            let (SuiteError::BadArgument(m) | SuiteError::Unsupported(m)) = e;
            raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("{} of {}: {m}", arg.name, call.function), None, None)
        });
        if let Some(sql_expression) = expression {
            // Built by rules::suite from parsed tokens only.
            let cast = if matches!(arg.cast, Cast::Bound) { coltype.clone() } else { cast };
            params.push(Option::<String>::None.into());
            sql.push_str(&format!(", {} => ({sql_expression})::{cast}", arg.name));
        } else if matches!(arg.cast, Cast::TextArray | Cast::ColumnArray) {
            let values: Option<Vec<Option<String>>> = match &arg.value {
                Value::Null => None,
                Value::Array(items) => Some(items.iter().map(|v| as_text(v, false)).collect()),
                other => raise(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!("{} of {} must be a list, got {other}", arg.name, call.function),
                    None,
                    None,
                ),
            };
            params.push(values.into());
            sql.push_str(&format!(", {} => ${n}::pg_catalog.text[]::{cast}", arg.name));
        } else {
            params.push(as_text(&arg.value, matches!(arg.cast, Cast::Int4 | Cast::Int8)).into());
            sql.push_str(&format!(", {} => ${n}::pg_catalog.text::{cast}", arg.name));
        }
    }
    sql.push(')');
    Spi::get_one_with_args::<String>(&sql, &params).ok().flatten().unwrap_or_default()
}

#[pg_extern(name = "_import_expectations")]
#[search_path(pg_catalog, pg_temp)]
fn import_expectations(
    tbl: Option<Oid>,
    suite_json: Option<JsonB>,
    on_unsupported: Option<&str>,
) -> TableIterator<'static, (name!(expectation_type, String), name!(constraint_name, String))> {
    let relid = required(tbl, "tbl");
    let JsonB(suite) = required(suite_json, "suite");
    let skip = match required(on_unsupported, "on_unsupported") {
        "error" => false,
        "skip" => true,
        other => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown on_unsupported \"{other}\""),
            None,
            Some("Use 'error' (the default) or 'skip'.".into()),
        ),
    };
    check_table(relid);
    crate::catalog::require_owner(relid);
    let Some(expectations) = suite.get("expectations").and_then(Value::as_array) else {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "suite must be a JSON object with an \"expectations\" list",
            None,
            Some("Pass a Great Expectations ExpectationSuite as JSON (its expectation_suite_name and meta are optional).".into()),
        );
    };
    let table = qualified_name(relid);
    let mut declared = Vec::new();
    for (i, expectation) in expectations.iter().enumerate() {
        let ge = suite::type_of(expectation).unwrap_or("?").to_string();
        let calls = match suite::to_calls(expectation) {
            Ok(calls) => calls,
            Err(SuiteError::Unsupported(t)) if skip => {
                notice(format!("skipping expectation {} ({t}): pg_vigil has no such expectation", i + 1));
                continue;
            }
            Err(SuiteError::Unsupported(t)) => raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("expectation {} ({t}) cannot be declared on {table}: pg_vigil has no such expectation", i + 1),
                Some("Nothing of the suite was declared.".into()),
                Some("Pass on_unsupported => 'skip' to declare the others.".into()),
            ),
            Err(SuiteError::BadArgument(m)) => raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("expectation {} cannot be declared on {table}: {m}", i + 1),
                Some("Nothing of the suite was declared.".into()),
                None,
            ),
        };
        for call in calls {
            // An error of the declaration itself names the expectation it came from.
            let name = PgTryBuilder::new(|| run_call(relid, &call))
                .catch_others(|e| {
                    let (code, message, detail, hint) = match &e {
                        pg_sys::panic::CaughtError::PostgresError(r) | pg_sys::panic::CaughtError::ErrorReport(r) => {
                            (r.sql_error_code(), r.message().to_string(), r.detail().map(str::to_owned), r.hint().map(str::to_owned))
                        }
                        pg_sys::panic::CaughtError::RustPanic { ereport, .. } => {
                            (ereport.sql_error_code(), ereport.message().to_string(), None, None)
                        }
                    };
                    raise(code, format!("expectation {} ({ge}): {message}", i + 1), detail, hint)
                })
                .execute();
            declared.push((ge.clone(), name));
        }
    }
    TableIterator::new(declared)
}

#[pg_extern(name = "_export_expectations")]
#[search_path(pg_catalog, pg_temp)]
fn export_expectations(tbl: Option<Oid>) -> JsonB {
    let relid = required(tbl, "tbl");
    check_table(relid);
    require_privilege(relid, pg_sys::ACL_SELECT as u64, "vigil.export_expectations");
    let rows: Vec<(String, Option<String>, String, String, f64, String, Oid)> = as_extension_owner(|| {
        Spi::connect(|client| {
            let mut out = Vec::new();
            for r in client.select(
                crate::catalog::for_catalog(
                    "SELECT c.kind, c.column_name, c.params::text, c.on_violation, c.mostly, c.constraint_name,
                            coalesce(a.atttypid, 0)
                       FROM vigil.constraint_def c
                       LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.relid AND a.attname = c.column_name
                      WHERE c.relid = $1 ORDER BY c.constraint_id",
                    "SELECT c.kind, a.attname::text, c.params::text, c.on_violation, c.mostly, c.constraint_name,
                            coalesce(a.atttypid, 0)
                       FROM vigil.constraint_def c
                       LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.relid AND a.attnum = c.attnum
                      WHERE c.relid = $1 ORDER BY c.constraint_id",
                ),
                None,
                &[relid.into()],
            )? {
                out.push((
                    r.get::<String>(1)?.unwrap_or_default(),
                    r.get::<String>(2)?,
                    r.get::<String>(3)?.unwrap_or_default(),
                    r.get::<String>(4)?.unwrap_or_default(),
                    r.get::<f64>(5)?.unwrap_or(1.0),
                    r.get::<String>(6)?.unwrap_or_default(),
                    r.get::<Oid>(7)?.unwrap_or(pg_sys::InvalidOid),
                ));
            }
            Ok::<_, pgrx::spi::Error>(out)
        })
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read the contract: {e}"), None, None));
    let mut expectations = Vec::new();
    for (kind, column, params, mode, mostly, name, typid) in rows {
        let params: Params = serde_json::from_str(&params).unwrap_or_default();
        let mode = Mode::parse(&mode).unwrap_or(Mode::Reject);
        let values_are = match if typid == pg_sys::InvalidOid { Repr::Other } else { Repr::of(typid) } {
            r if r.kind().is_numeric() => ColumnValues::Number,
            Repr::Date => ColumnValues::Date,
            Repr::Timestamp if unsafe { pg_sys::getBaseType(typid) } == pg_sys::TIMESTAMPTZOID => ColumnValues::TimestampTz,
            Repr::Timestamp => ColumnValues::Timestamp,
            _ => ColumnValues::Other,
        };
        match suite::from_constraint(&kind, column.as_deref(), values_are, &params, mode, mostly, &name) {
            Some(e) => expectations.push(e),
            None => notice(format!("constraint \"{name}\" ({kind}) has no Great Expectations form; left out")),
        }
    }
    JsonB(serde_json::json!({
        "name": qualified_name(relid),
        "expectations": expectations,
        "meta": {"pg_vigil": {"version": env!("CARGO_PKG_VERSION"), "table": qualified_name(relid)}},
    }))
}
