//! vigil.suggest(tbl, sample_rows): a starting contract from the rows already there. Gathers
//! exact facts per column with SQL over the table (or a repeatable sample of it), leaves the
//! choosing to profile::suggest, and renders each suggestion as the call that declares it.

use super::declare::{check_table, required};
use crate::catalog::{as_extension_owner, qualified_name, quote_ident, quote_literal, require_privilege, Repr};
use crate::error::raise;
use crate::profile::suggest::{self, Arg, ColumnFacts, Group, MAX_CATEGORIES};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;

/// Columns profiled per query (each takes six entries of a target list of at most 1,664).
const COLUMNS_PER_PASS: usize = 200;
/// Text values read to find a shared shape (then checked on every row).
const SHAPE_SAMPLE: i64 = 1000;

fn group_of(typid: Oid) -> Option<Group> {
    use crate::rules::multi::ValueGroup;
    let repr = Repr::of(typid);
    Some(match repr.value_group()? {
        ValueGroup::Number if repr.kind() == crate::rules::ColumnKind::Int => Group::Integer,
        ValueGroup::Number => Group::Float,
        ValueGroup::Text => Group::Text,
        ValueGroup::Bool => Group::Bool,
        ValueGroup::Date => Group::Date,
        ValueGroup::Timestamp => Group::Timestamp,
    })
}

fn fail(e: impl std::fmt::Display) -> ! {
    crate::error::internal("cannot profile the table for suggestions", e)
}

fn render_arg(arg: &Arg) -> String {
    match arg {
        Arg::Text(s) => quote_literal(s),
        Arg::Texts(v) => format!("ARRAY[{}]", v.iter().map(|s| quote_literal(s)).collect::<Vec<_>>().join(", ")),
        Arg::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        Arg::Number(n) => format!("{n}"),
        Arg::Named(name, value) => format!("{name} => {}", render_arg(value)),
    }
}


#[pg_extern(name = "_suggest")]
#[search_path(pg_catalog, pg_temp)]
fn suggest_sql(tbl: Option<Oid>, sample_rows: Option<i64>) -> TableIterator<'static, (
    name!(column_name, Option<String>),
    name!(kind, String),
    name!(params, JsonB),
    name!(on_violation, String),
    name!(mostly, f64),
    name!(reason, String),
    name!(statement, String),
)> {
    let relid = required(tbl, "tbl");
    check_table(relid);
    require_privilege(relid, pg_sys::ACL_SELECT as u64, "vigil.suggest");
    if sample_rows.is_some_and(|n| n <= 0) {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "sample_rows must be positive", None, Some("Pass NULL to profile every row.".into()));
    }
    let table = qualified_name(relid);
    // A repeatable Bernoulli sample of about sample_rows rows, the same in every query below.
    let source = match sample_rows {
        None => table.clone(),
        Some(n) => {
            // A partitioned table's rows are its partitions' (its own reltuples is -1).
            let estimate = crate::catalog::select_one::<f32>(
                "SELECT sum(greatest(c.reltuples, 0))::real FROM pg_catalog.pg_partition_tree($1) p
                   JOIN pg_catalog.pg_class c ON c.oid = p.relid",
                &[relid.into()],
            )
                .ok()
                .flatten()
                .unwrap_or(-1.0);
            let percent = if estimate > 0.0 { (100.0 * n as f64 / estimate as f64).min(100.0) } else { 100.0 };
            format!("(SELECT * FROM {table} TABLESAMPLE BERNOULLI ({percent}) REPEATABLE (0)) AS sampled")
        }
    };
    let columns: Vec<(String, Oid)> = Spi::connect(|client| {
        client
            .select(
                "SELECT attname::text, atttypid FROM pg_catalog.pg_attribute
                  WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                None,
                &[relid.into()],
            )?
            .map(|r| Ok((r.get::<String>(1)?.unwrap_or_default(), r.get::<Oid>(2)?.unwrap_or(pg_sys::InvalidOid))))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .unwrap_or_else(|e| fail(e));

    // One pass per group of columns for their counts, extremes and distinct values (a target
    // list holds at most 1,664 entries: six a column).
    let mut facts: Vec<ColumnFacts> = Vec::with_capacity(columns.len());
    for chunk in columns.chunks(COLUMNS_PER_PASS) {
        let mut exprs = vec!["count(*)".to_string()];
        for (name, typid) in chunk {
            let c = quote_ident(name);
            let group = group_of(*typid);
            let numeric = matches!(group, Some(Group::Integer | Group::Float));
            let finite = format!("{c}::float8 > '-Infinity' AND {c}::float8 < 'Infinity'");
            exprs.push(format!("count({c})"));
            exprs.push(if numeric { format!("min({c}) FILTER (WHERE {finite})::float8") } else { "NULL::float8".into() });
            exprs.push(if numeric { format!("max({c}) FILTER (WHERE {finite})::float8") } else { "NULL::float8".into() });
            exprs.push(if numeric { format!("count(*) FILTER (WHERE NOT ({finite}))") } else { "0::bigint".into() });
            // Byte-wise, as the rules compare: a nondeterministic collation would merge 'a' and 'A'.
            let distinct_of = if group == Some(Group::Text) { format!("count(DISTINCT {c}::text COLLATE \"C\")") } else { format!("count(DISTINCT {c})") };
            exprs.push(if group.is_some() { distinct_of } else { "0::bigint".into() });
            exprs.push(if numeric {
                format!("percentile_cont(ARRAY[0.005, 0.995]) WITHIN GROUP (ORDER BY {c}::float8) FILTER (WHERE {finite})")
            } else {
                "NULL::float8[]".into()
            });
        }
        Spi::connect(|client| {
            let row = client.select(&format!("SELECT {} FROM {source}", exprs.join(", ")), Some(1), &[])?.first();
            let rows = row.get::<i64>(1)?.unwrap_or(0) as u64;
            for (i, (name, typid)) in chunk.iter().enumerate() {
                let at = 2 + i * 6;
                let present = row.get::<i64>(at)?.unwrap_or(0) as u64;
                facts.push(ColumnFacts {
                    name: name.clone(),
                    group: group_of(*typid),
                    rows,
                    nulls: rows - present,
                    min: row.get::<f64>(at + 1)?,
                    max: row.get::<f64>(at + 2)?,
                    non_finite: row.get::<i64>(at + 3)?.unwrap_or(0) as u64,
                    distinct: row.get::<i64>(at + 4)?.unwrap_or(0) as u64,
                    tails: row.get::<Vec<f64>>(at + 5)?.filter(|t| t.len() == 2).map(|t| (t[0], t[1])),
                    categories: None,
                    shape: None,
                });
            }
            Ok::<_, pgrx::spi::Error>(())
        })
        .unwrap_or_else(|e| fail(e));
    }

    // Text columns: their categories when few, else a shape every value has.
    for f in facts.iter_mut().filter(|f| f.group == Some(Group::Text) && f.distinct > 0) {
        let c = quote_ident(&f.name);
        if f.distinct <= MAX_CATEGORIES {
            f.categories = Some(
                Spi::connect(|client| {
                    client
                        .select(&format!("SELECT {c}::text COLLATE \"C\", count(*) FROM {source} WHERE {c} IS NOT NULL GROUP BY 1"), None, &[])?
                        .map(|r| Ok((r.get::<String>(1)?.unwrap_or_default(), r.get::<i64>(2)?.unwrap_or(0) as u64)))
                        .collect::<Result<Vec<_>, pgrx::spi::Error>>()
                })
                .unwrap_or_else(|e| fail(e)),
            );
            continue;
        }
        let sample: Vec<String> = Spi::connect(|client| {
            client
                .select(&format!("SELECT {c}::text FROM {source} WHERE {c} IS NOT NULL LIMIT {SHAPE_SAMPLE}"), None, &[])?
                .map(|r| Ok(r.get::<String>(1)?.unwrap_or_default()))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
        .unwrap_or_else(|e| fail(e));
        let refs: Vec<&str> = sample.iter().map(String::as_str).collect();
        if let Some(shape) = suggest::infer_shape(&refs) {
            // Every row, not only the sample, has the shape (PostgreSQL's regular expressions
            // read these classes and escapes as pg_vigil's do).
            let misses = crate::catalog::select_one::<i64>(
                &format!("SELECT count(*) FROM {source} WHERE {c}::text COLLATE \"C\" !~ $1"),
                &[shape.as_str().into()],
            )
            .unwrap_or_else(|e| fail(e));
            // pg_vigil's engine must read it alike: it judges the rows once declared.
            let ours = crate::rules::kernel::compile_regex(&shape).is_ok_and(|re| refs.iter().all(|v| re.is_match(v.as_bytes())));
            if misses == Some(0) && ours {
                f.shape = Some(shape);
            }
        }
    }

    // The first date or timestamp column, unless the table is watched already.
    let watched = as_extension_owner(|| {
        crate::catalog::select_one::<bool>("SELECT EXISTS (SELECT 1 FROM vigil.watch_def WHERE relid = $1)", &[relid.into()])
    })
    .ok()
    .flatten()
    .unwrap_or(false);
    let time = facts.iter().find(|f| matches!(f.group, Some(Group::Date | Group::Timestamp)) && f.rows > f.nulls);
    let span = match time {
        Some(t) if !watched => {
            let c = quote_ident(&t.name);
            crate::catalog::select_one::<f64>(
                &format!(
                    "SELECT extract(epoch FROM max({c}) FILTER (WHERE isfinite({c}))::timestamptz
                                              - min({c}) FILTER (WHERE isfinite({c}))::timestamptz)::float8 / 86400 FROM {source}"
                ),
                &[],
            )
            .unwrap_or_else(|e| fail(e))
            .map(|days| (t.name.clone(), days))
        }
        _ => None,
    };

    // What is declared already is not suggested again.
    let declared: Vec<(Option<String>, String)> = as_extension_owner(|| {
        Spi::connect(|client| {
            client
                .select("SELECT column_name, kind FROM vigil.constraint_def WHERE relid = $1", None, &[relid.into()])?
                .map(|r| Ok((r.get::<String>(1)?, r.get::<String>(2)?.unwrap_or_default())))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
    })
    .unwrap_or_default();
    let suggestions = suggest::suggest(&facts, span.as_ref().map(|(n, d)| (n.as_str(), *d)));
    let table_literal = quote_literal(&table);
    let rows: Vec<_> = suggestions
        .into_iter()
        .filter(|s| !declared.iter().any(|(c, k)| c == &s.column && k == s.kind))
        .map(|s| {
            let args: Vec<String> = std::iter::once(table_literal.clone()).chain(s.args.iter().map(render_arg)).collect();
            let statement = format!("SELECT vigil.{}({});", s.function, args.join(", "));
            (s.column, s.kind.to_string(), JsonB(s.params), s.on_violation.to_string(), s.mostly, s.reason, statement)
        })
        .collect();
    TableIterator::new(rows)
}
