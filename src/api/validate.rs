//! vigil.validate(tbl): every constraint of a table over its current rows, reported like Great
//! Expectations' SUMMARY result format. Runs the same kernels as the write path.

use crate::catalog::cache::CompiledAggregate;
use crate::catalog::{cache::ruleset_for, column_index, qualified_name, require_privilege, scan_query};
use crate::rules::Tally;
use crate::trigger::eval::BatchPlan;
use crate::trigger::multi::MultiPlan;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;


#[pg_extern(name = "_validate")]
#[search_path(pg_catalog, pg_temp)]
fn validate(tbl: Oid) -> TableIterator<'static, (
    name!(constraint_name, String),
    name!(column_name, String),
    name!(kind, String),
    name!(element_count, i64),
    name!(missing_count, i64),
    name!(unexpected_count, Option<i64>),
    name!(unexpected_percent, Option<f64>),
    name!(success, bool),
    name!(partial_unexpected_list, JsonB),
)> {
    require_privilege(tbl, pg_sys::ACL_SELECT as u64, "vigil.validate");
    let set = ruleset_for(tbl);
    let mut tallies = vec![Tally::default(); set.rules.len()];
    let rules: Vec<_> = set.rules.iter().collect();
    let mut plan: Option<BatchPlan> = None;
    let mut multi: Option<MultiPlan> = None;
    // Increasing and decreasing judge the rows in the order of the watched time column, if any.
    let ordered = set.multi.iter().any(|m| m.spec.kind.in_order());
    let order_by = if ordered { time_column(tbl).map(|c| format!(" ORDER BY {}", crate::catalog::quote_ident(&c))) } else { None };
    let rows = scan_query(
        &format!("SELECT * FROM {}{}", qualified_name(tbl), order_by.unwrap_or_default()),
        |tupdesc, values, nulls| {
            let plan = plan.get_or_insert_with(|| BatchPlan::new(&rules, set.utf8, |r| unsafe { column_index(tupdesc, &r.column) }));
            unsafe { plan.row(&rules, values.as_ptr(), nulls.as_ptr(), &mut tallies) };
            let multi = multi.get_or_insert_with(|| MultiPlan::new(&set.multi, None, |c| unsafe { column_index(tupdesc, &c.name) }));
            unsafe { multi.row(values.as_ptr(), nulls.as_ptr()) };
        },
        |_| {},
    );
    if let Some(plan) = &plan {
        plan.finish(rows, &mut tallies);
    }
    // An empty table: every expectation judged over no rows.
    let multi = multi.unwrap_or_else(|| MultiPlan::new(&set.multi, None, |_| 0)).finish();

    let rows: Vec<_> = set
        .rules
        .iter()
        .zip(tallies)
        .map(|(rule, t)| {
            let counts_nulls = rule.kind.counts_nulls();
            (
                rule.name.clone(),
                rule.column.clone(),
                rule.kind.as_str().to_string(),
                t.rows as i64,
                t.nulls as i64,
                Some(t.unexpected as i64),
                t.unexpected_percent(counts_nulls),
                t.passes(counts_nulls, rule.mostly),
                JsonB(serde_json::Value::Array(t.samples)),
            )
        })
        .collect::<Vec<_>>()
        .into_iter()
        .chain(set.aggregates.iter().map(|a| validate_aggregate(tbl, a)))
        .chain(set.shapes.iter().map(|shape| {
            (
                shape.name.clone(),
                String::new(),
                shape.kind.as_str().to_string(),
                0,
                0,
                None,
                None,
                shape.success,
                JsonB(serde_json::json!([shape.observed])),
            )
        }))
        .chain(multi.into_iter().map(|(rule, state, success, observed)| {
            let t = &state.tally;
            let value_set = rule.spec.kind.on_value_set();
            (
                rule.name.clone(),
                rule.column_label(),
                rule.spec.kind.as_str().to_string(),
                t.rows as i64,
                t.nulls as i64,
                (!value_set).then_some(t.unexpected as i64),
                if value_set { None } else { t.unexpected_percent(false) },
                success,
                JsonB(if value_set { serde_json::json!([{"observed_value": observed}]) } else { serde_json::Value::Array(t.samples.clone()) }),
            )
        }))
        .collect();
    TableIterator::new(rows)
}

/// The watched time column of a table, if any.
fn time_column(tbl: Oid) -> Option<String> {
    crate::catalog::as_extension_owner(|| {
        crate::catalog::select_one::<String>(
            crate::catalog::for_catalog(
                "SELECT time_column FROM vigil.watch_def WHERE relid = $1",
                "SELECT attname::text FROM vigil.watch_def w JOIN pg_catalog.pg_attribute a
                     ON a.attrelid = w.relid AND a.attnum = w.time_attnum WHERE w.relid = $1",
            ),
            &[tbl.into()],
        )
    })
    .ok()
    .flatten()
}

type SummaryRow = (String, String, String, i64, i64, Option<i64>, Option<f64>, bool, JsonB);

/// A batch-level constraint over the whole table, with SQL's exact aggregates.
fn validate_aggregate(tbl: Oid, a: &CompiledAggregate) -> SummaryRow {
    use crate::rules::aggregate::{observe, passes, AggregateKind, Observed};
    if a.kind == AggregateKind::NoDrift {
        return validate_drift(tbl, a);
    }
    let table = qualified_name(tbl);
    let numbers = a.column.as_ref().is_some_and(|c| c.2.kind().is_numeric());
    let query = match &a.column {
        None => format!("SELECT count(*), 0::bigint, NULL::float8, NULL::float8, NULL::float8, NULL::bigint, NULL::float8, NULL::float8, NULL::float8 FROM {table}"),
        Some((name, _, _)) => {
            let c = crate::catalog::quote_ident(name);
            let (mean, sd, quantile, extremes) = if numbers {
                (
                    format!("avg({c})::float8"),
                    format!("stddev_samp({c})::float8"),
                    if a.kind == AggregateKind::MedianBetween {
                        format!("percentile_cont(0.5) WITHIN GROUP (ORDER BY {c})::float8")
                    } else {
                        format!("percentile_disc({}) WITHIN GROUP (ORDER BY {c})::float8", a.quantile.unwrap_or(0.5))
                    },
                    format!("min({c})::float8, max({c})::float8, coalesce(sum({c}), 0)::float8"),
                )
            } else {
                ("NULL::float8".into(), "NULL::float8".into(), "NULL::float8".into(), "NULL::float8, NULL::float8, NULL::float8".into())
            };
            let distinct = if matches!(a.kind, AggregateKind::UniqueFractionBetween | AggregateKind::UniqueCountBetween) {
                format!("count(DISTINCT {c})")
            } else {
                "NULL::bigint".into()
            };
            format!("SELECT count(*), count(*) - count({c}), {mean}, {sd}, {quantile}, {distinct}, {extremes} FROM {table}")
        }
    };
    let observed = Spi::connect(|client| {
        let row = client.select(&query, Some(1), &[])?.first();
        Ok::<_, pgrx::spi::Error>(Observed {
            rows: row.get::<i64>(1)?.unwrap_or(0) as u64,
            nulls: row.get::<i64>(2)?.unwrap_or(0) as u64,
            mean: row.get::<f64>(3)?,
            stddev: row.get::<f64>(4)?,
            quantile: a.quantile.and(row.get::<f64>(5)?),
            distinct: row.get::<i64>(6)?.map(|d| d as f64),
            min: row.get::<f64>(7)?,
            max: row.get::<f64>(8)?,
            sum: row.get::<f64>(9)?,
        })
    })
    .unwrap_or_else(|e| crate::error::raise(pgrx::pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot validate {}: {e}", a.name), None, None));
    let value = observe(a.kind, &observed);
    let success = passes(a.kind, &a.bounds, &observed);
    (
        a.name.clone(),
        a.column.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
        a.kind.as_str().to_string(),
        observed.rows as i64,
        observed.nulls as i64,
        None,
        None,
        success,
        JsonB(serde_json::json!([{"observed_value": value, "expected": a.bounds.describe()}])),
    )
}

/// expect_no_drift over the table's statistics: every window is judged as evaluation judges
/// finished ones; it succeeds when none drifts, listing the drifting windows.
fn validate_drift(tbl: Oid, a: &CompiledAggregate) -> SummaryRow {
    let set = crate::catalog::cache::ruleset_for(tbl);
    let windows = crate::monitor::reference::table_drift(tbl);
    let scores = crate::monitor::scoring::score_drift(&crate::monitor::scoring::column_names(tbl), &windows);
    let drifting: Vec<serde_json::Value> = windows
        .iter()
        .zip(&scores)
        .flat_map(|(w, s)| crate::monitor::evaluate::judge_drift(&[a], w, s, &set))
        .map(|v| v.sample())
        .collect();
    let rows: i64 = windows.iter().map(|w| w.rows as i64).sum();
    let success = drifting.is_empty();
    (
        a.name.clone(),
        a.column.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
        a.kind.as_str().to_string(),
        rows,
        0,
        Some(drifting.len() as i64),
        None,
        success,
        JsonB(serde_json::Value::Array(drifting.into_iter().take(20).collect())),
    )
}
