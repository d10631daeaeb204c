//! vigil.report(tbl, from_time, to_time): the page of src/report.rs, from the views a reader of
//! the table may query (so it shows nothing they could not see).

use super::declare::{check_table, required};
use crate::catalog::{qualified_name, require_privilege};
use crate::report::{AlertRow, ColumnSeries, ConstraintRow, DayCount, Distribution, Report, WindowRow};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;

/// Quantile ranks of vigil.column_stats' p01 ... p99.
const RANKS: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/// Good windows the newest alert's window is compared with.
const REFERENCE_WINDOWS: i64 = 28;

fn fail(e: impl std::fmt::Display) -> ! {
    crate::error::internal("cannot build the report", e)
}

/// `$2 <= window_start < $3`, either end open when NULL.
const IN_RANGE: &str = "($2::timestamptz IS NULL OR window_start >= $2) AND ($3::timestamptz IS NULL OR window_start < $3)";

#[pg_extern(name = "_report")]
#[search_path(pg_catalog, pg_temp)]
fn report_sql(tbl: Option<Oid>, from_time: Option<TimestampWithTimeZone>, to_time: Option<TimestampWithTimeZone>) -> String {
    let relid = required(tbl, "tbl");
    check_table(relid);
    require_privilege(relid, pg_sys::ACL_SELECT as u64, "vigil.report");
    let args = || vec![relid.into(), from_time.into(), to_time.into()];
    let mut report = Report { table: qualified_name(relid), ..Default::default() };
    Spi::connect(|client| {
        let row = client
            .select(
                "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'),
                        CASE WHEN $2::timestamptz IS NULL AND $3::timestamptz IS NULL THEN 'all windows'
                             ELSE 'windows from ' || coalesce(to_char($2 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), 'the first')
                                  || ' to ' || coalesce(to_char($3 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), 'the last') END",
                Some(1),
                &[relid.into(), from_time.into(), to_time.into()],
            )?
            .first();
        report.generated_at = row.get::<String>(1)?.unwrap_or_default();
        report.range = row.get::<String>(2)?.unwrap_or_default();

        for r in client.select(
            "SELECT constraint_name, coalesce(column_name, ''), kind, on_violation, params::text
               FROM vigil.constraints WHERE relid = $1 ORDER BY constraint_name",
            None,
            &[relid.into()],
        )? {
            report.constraints.push(ConstraintRow {
                name: r.get(1)?.unwrap_or_default(),
                column: r.get(2)?.unwrap_or_default(),
                kind: r.get(3)?.unwrap_or_default(),
                on_violation: r.get(4)?.unwrap_or_default(),
                params: r.get(5)?.unwrap_or_default(),
            });
        }
        for r in client.select(
            "SELECT to_char(detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
                    count(*) FILTER (WHERE action <> 'quarantine'),
                    coalesce(sum(unexpected_count) FILTER (WHERE action = 'quarantine'), 0)::bigint
               FROM vigil.violations
              WHERE relid = $1 AND ($2::timestamptz IS NULL OR detected_at >= $2) AND ($3::timestamptz IS NULL OR detected_at < $3)
              GROUP BY 1 ORDER BY 1",
            None,
            &args(),
        )? {
            report.days.push(DayCount {
                day: r.get(1)?.unwrap_or_default(),
                violations: r.get::<i64>(2)?.unwrap_or(0) as u64,
                quarantined: r.get::<i64>(3)?.unwrap_or(0) as u64,
            });
        }
        let mut starts: Vec<i64> = Vec::new();
        for r in client.select(
            &format!(
                "SELECT extract(epoch FROM window_start)::bigint, to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                        row_count, status, score, top_columns
                   FROM vigil.window_status WHERE relid = $1 AND {IN_RANGE} ORDER BY window_start"
            ),
            None,
            &args(),
        )? {
            starts.push(r.get::<i64>(1)?.unwrap_or(0));
            report.windows.push(WindowRow {
                start: r.get::<String>(2)?.unwrap_or_default().trim_end_matches(" 00:00").to_string(),
                rows: r.get(3)?.unwrap_or(0),
                status: r.get(4)?.unwrap_or_default(),
                score: r.get(5)?,
                top_columns: r.get::<Vec<String>>(6)?.unwrap_or_default(),
            });
        }
        for r in client.select(
            &format!(
                "SELECT alert_id, to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                        to_char(last_window AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), severity, score, columns, summary, state
                   FROM vigil.alerts WHERE relid = $1 AND {IN_RANGE}"
            ),
            None,
            &args(),
        )? {
            report.alerts.push(AlertRow {
                id: r.get(1)?.unwrap_or(0),
                window_start: r.get::<String>(2)?.unwrap_or_default().trim_end_matches(" 00:00").to_string(),
                last_window: r.get::<String>(3)?.unwrap_or_default().trim_end_matches(" 00:00").to_string(),
                severity: r.get(4)?.unwrap_or_default(),
                score: r.get(5)?.unwrap_or(0.0),
                columns: r.get::<Vec<String>>(6)?.unwrap_or_default(),
                summary: r.get(7)?.unwrap_or_default(),
                state: r.get(8)?.unwrap_or_default(),
            });
        }
        // Each column's statistics, placed by window.
        for r in client.select(
            &format!(
                "SELECT column_name, extract(epoch FROM window_start)::bigint, mean, p05, p95, null_fraction, distinct_estimate
                   FROM vigil.column_stats WHERE relid = $1 AND {IN_RANGE} ORDER BY column_name, window_start"
            ),
            None,
            &args(),
        )? {
            let name: String = r.get(1)?.unwrap_or_default();
            let Some(at) = starts.iter().position(|s| Some(*s) == r.get::<i64>(2).ok().flatten()) else { continue };
            if report.columns.last().is_none_or(|c| c.name != name) {
                let n = starts.len();
                report.columns.push(ColumnSeries {
                    name,
                    value: vec![None; n],
                    value_label: String::new(),
                    band: vec![None; n],
                    null_fraction: vec![None; n],
                });
            }
            let c = report.columns.last_mut().expect("pushed above");
            // Numbers by their mean; categories (no mean in any window) by their distinct count.
            // A NaN or infinite statistic is drawn as a gap, not as a coordinate.
            let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
            let mean: Option<f64> = r.get(3)?;
            c.value[at] = finite(mean).or(finite(r.get::<f64>(7)?));
            if mean.is_some() {
                c.value_label = "mean".into();
            } else if c.value_label != "mean" {
                c.value_label = "distinct values".into();
            }
            c.band[at] = match (finite(r.get::<f64>(4)?), finite(r.get::<f64>(5)?)) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            };
            c.null_fraction[at] = r.get(6)?;
        }
        Ok::<_, pgrx::spi::Error>(())
    })
    .unwrap_or_else(|e| fail(e));
    report.distribution = newest_alert_distribution(relid, from_time, to_time);
    crate::report::render(&report)
}

/// The newest alert's first column: quantiles of its window, and the median of each quantile over
/// the good windows before it.
fn newest_alert_distribution(relid: Oid, from_time: Option<TimestampWithTimeZone>, to_time: Option<TimestampWithTimeZone>) -> Option<Distribution> {
    let quantiles = "p01, p05, p25, p50, p75, p95, p99";
    Spi::connect(|client| {
        let alert = client
            .select(
                &format!(
                    "SELECT window_start, columns[1], to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
                       FROM vigil.alerts WHERE relid = $1 AND {IN_RANGE} AND cardinality(columns) > 0
                      ORDER BY window_start DESC, score DESC LIMIT 1"
                ),
                Some(1),
                &[relid.into(), from_time.into(), to_time.into()],
            )?
            .first();
        if alert.is_empty() {
            return Ok(None);
        }
        let (Some(window), Some(column)) = (alert.get::<TimestampWithTimeZone>(1)?, alert.get::<String>(2)?) else { return Ok(None) };
        let label: String = alert.get::<String>(3)?.unwrap_or_default().trim_end_matches(" 00:00").to_string();
        let read = |row: &pgrx::spi::SpiTupleTable<'_>| -> Result<Vec<(f64, f64)>, pgrx::spi::Error> {
            let mut out = Vec::new();
            if row.is_empty() {
                return Ok(out);
            }
            for (i, rank) in RANKS.iter().enumerate() {
                if let Some(v) = row.get::<f64>(i + 1)?.filter(|v| v.is_finite()) {
                    out.push((*rank, v));
                }
            }
            Ok(out)
        };
        let own = client
            .select(
                &format!("SELECT {quantiles} FROM vigil.column_stats WHERE relid = $1 AND column_name = $2 AND window_start = $3"),
                Some(1),
                &[relid.into(), column.as_str().into(), window.into()],
            )?
            .first();
        let window_quantiles = read(&own)?;
        let medians: Vec<String> = quantiles.split(", ").map(|q| format!("percentile_cont(0.5) WITHIN GROUP (ORDER BY {q})")).collect();
        let reference = client
            .select(
                &format!(
                    "SELECT {} FROM (SELECT cs.* FROM vigil.column_stats cs
                                       JOIN vigil.window_status ws ON ws.relid = cs.relid AND ws.window_start = cs.window_start
                                      WHERE cs.relid = $1 AND cs.column_name = $2 AND cs.window_start < $3 AND ws.status = 'ok'
                                      ORDER BY cs.window_start DESC LIMIT {REFERENCE_WINDOWS}) s",
                    medians.join(", ")
                ),
                Some(1),
                &[relid.into(), column.as_str().into(), window.into()],
            )?
            .first();
        let reference_quantiles = read(&reference)?;
        // Categories (no quantiles): each value's share of the rows, NULL as a value of its own.
        let mut categories = Vec::new();
        if window_quantiles.is_empty() {
            for r in client.select(
                &format!(
                    "WITH ref AS (SELECT cs.* FROM vigil.column_stats cs
                                    JOIN vigil.window_status ws ON ws.relid = cs.relid AND ws.window_start = cs.window_start
                                   WHERE cs.relid = $1 AND cs.column_name = $2 AND cs.window_start < $3 AND ws.status = 'ok'
                                   ORDER BY cs.window_start DESC LIMIT {REFERENCE_WINDOWS}),
                          own AS (SELECT * FROM vigil.column_stats WHERE relid = $1 AND column_name = $2 AND window_start = $3),
                          shares AS (
                            SELECT v->>'value' AS value, (v->>'count')::float8 / nullif(o.row_count, 0) AS share, 'own' AS side
                              FROM own o, jsonb_array_elements(o.top_values) v
                            UNION ALL SELECT '(NULL)', null_count::float8 / nullif(row_count, 0), 'own' FROM own
                            UNION ALL
                            SELECT v->>'value', (v->>'count')::float8 / nullif((SELECT sum(row_count) FROM ref), 0), 'ref'
                              FROM ref, jsonb_array_elements(ref.top_values) v
                            UNION ALL SELECT '(NULL)', sum(null_count)::float8 / nullif(sum(row_count), 0), 'ref' FROM ref)
                    SELECT value, coalesce(sum(share) FILTER (WHERE side = 'own'), 0), coalesce(sum(share) FILTER (WHERE side = 'ref'), 0)
                      FROM shares GROUP BY value
                     ORDER BY 3 DESC, 2 DESC, 1"
                ),
                None,
                &[relid.into(), column.as_str().into(), window.into()],
            )? {
                categories.push((r.get::<String>(1)?.unwrap_or_default(), r.get::<f64>(2)?.unwrap_or(0.0), r.get::<f64>(3)?.unwrap_or(0.0)));
            }
        }
        Ok::<_, pgrx::spi::Error>(Some(Distribution { column, window: label, window_quantiles, reference_quantiles, categories }))
    })
    .unwrap_or_else(|e| fail(e))
}
