//! Evaluation: the finished windows of a watched table judged (on a write that starts a new
//! window, or on demand), alerts opened or extended when one stands out, announced with NOTIFY;
//! window-level constraints judged on the same windows; alerts moved along by their owner.

use super::reference::WindowDrift;
use super::scoring::score_table;
use crate::catalog::{as_extension_owner, query_as_owner, require_owner, run_as_owner, timestamptz};
use crate::catalog::cache::{CompiledAggregate, RuleSet};
use crate::trigger::record::AggregateViolation;
use crate::drift::gaps::Gap;
use crate::drift::score::{scale_of, Scale, Status, WindowScore};
use super::scoring::ROW_COUNT;
use super::timeliness::timeliness;
use crate::rules::aggregate::AggregateKind;
use crate::error::raise;
use crate::profile::ProfileKind;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use std::collections::HashMap;

/// One line on what stands out, most responsible column first.
fn summary(score: &WindowScore) -> String {
    let parts: Vec<String> = score
        .responsible()
        .iter()
        .take(5)
        .map(|c| format!("{}: {} {} (usually {})", c.column, c.statistic, round(c.value, c.statistic), round(c.usual, c.statistic)))
        .collect();
    parts.join("; ")
}

fn round(value: f64, statistic: &str) -> String {
    // Counts and spreads are scored as logarithms: shown as they are.
    let value = if scale_of(statistic) == Some(Scale::LogCount) { value.exp() } else { value };
    if statistic == "row_count" || statistic == "distinct_values" {
        return format!("{value:.0}");
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-3..1e6).contains(&magnitude) {
        format!("{value:.3e}")
    } else {
        format!("{:.4}", value).trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

thread_local! {
    /// Tables this transaction has announced an alert for (NOTIFY at most once per table), with
    /// the subtransaction that did: a rolled-back savepoint takes its NOTIFY with it.
    static NOTIFIED: std::cell::RefCell<(pg_sys::TransactionId, Vec<(Oid, pg_sys::SubTransactionId)>)> =
        const { std::cell::RefCell::new((pg_sys::TransactionId::INVALID, Vec::new())) };
}

fn notify_once(relid: Oid, alert_id: i64) {
    let xid = unsafe { pg_sys::GetTopTransactionId() };
    let subxid = unsafe { pg_sys::GetCurrentSubTransactionId() };
    let first = NOTIFIED.with(|n| {
        let mut n = n.borrow_mut();
        if n.0 != xid {
            *n = (xid, Vec::new());
        }
        let first = !n.1.iter().any(|(r, _)| *r == relid);
        n.1.push((relid, subxid));
        first
    });
    if first {
        Spi::run_with_args("SELECT pg_catalog.pg_notify('vigil_alerts', $1)", &[alert_id.to_string().into()])
            .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot notify: {e}"), None, None));
    }
}

/// Called at the end of a subtransaction: an aborted one forgets its announcements (PostgreSQL
/// discards its NOTIFYs), a committed one hands them to its parent.
pub(crate) fn end_of_subxact(subxid: pg_sys::SubTransactionId, parent: pg_sys::SubTransactionId, committed: bool) {
    if !committed {
        forget_evaluations();
    }
    NOTIFIED.with(|n| {
        let mut n = n.borrow_mut();
        if committed {
            n.1.iter_mut().filter(|e| e.1 == subxid).for_each(|e| e.1 = parent);
        } else {
            n.1.retain(|e| e.1 != subxid);
        }
    });
}

/// Opens alerts for the finished windows of `relid` (those whose end has passed) not evaluated
/// yet. A window that alerts joins the table's open (or acknowledged) alert that shares a
/// column with it and alerted in the window just before (the same incident, going on), else
/// opens a new one, announced with NOTIFY vigil_alerts. Returns the ids of the alerts opened or
/// extended.
pub(crate) fn evaluate_table(relid: Oid) -> Vec<i64> {
    let Some((window_usecs, epoch)) = crate::catalog::cache::ruleset_for(relid).watch.as_ref().map(|w| (w.window_usecs, w.epoch)) else {
        return Vec::new();
    };
    let through = evaluated_through(relid);
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    // Windows finished by time alone: a stray row dated in the future must not close today's.
    let finished_through = now - window_usecs;
    // With KS and Wasserstein: no_drift constraints may judge any metric.
    let windows = score_table(relid, true, Some(finished_through));
    let set = crate::catalog::cache::ruleset_for(relid);
    let drift_rules: Vec<&CompiledAggregate> = set.aggregates.iter().filter(|a| a.kind == AggregateKind::NoDrift).collect();
    let window_rules: Vec<&CompiledAggregate> =
        set.aggregates.iter().filter(|a| a.kind != AggregateKind::NoDrift && a.mode == crate::rules::Mode::Warn).collect();
    let mut touched = Vec::new();
    let mut last_finished = through;
    let mut drifted = Vec::new();
    for scored in &windows {
        let score = &scored.score;
        if score.start > finished_through || through.is_some_and(|t| score.start <= t) {
            continue;
        }
        last_finished = Some(score.start);
        // Windows not evaluated yet have no memo, so they were compared now.
        if let Some(window) = &scored.fresh {
            drifted.extend(judge_drift(&drift_rules, window, score, &set));
            drifted.extend(judge_window(&window_rules, window, &set));
        }
        if score.status != Status::Alert {
            continue;
        }
        let columns: Vec<String> = score.responsible().iter().map(|c| c.column.clone()).collect();
        let id = record_alert(relid, score.start, score.score.unwrap_or(0.0), columns, summary(score), window_usecs);
        if !touched.contains(&id) {
            touched.push(id);
        }
    }
    crate::trigger::record::record_aggregate_violations(&drifted);
    // Windows without rows where the table's habits expect them, past their grace: the load
    // did not come. Evaluation stops before one still waiting for its rows.
    let with_rows: Vec<i64> = windows.iter().map(|w| w.start).collect();
    let judged = timeliness(relid, epoch, window_usecs, now, &with_rows);
    for &(start, gap) in &judged.gaps {
        if gap != Gap::Missing || through.is_some_and(|t| start <= t) {
            continue;
        }
        let id = record_alert(relid, start, MISSING_SCORE, vec![ROW_COUNT.to_string()], judged.summary(start), window_usecs);
        if !touched.contains(&id) {
            touched.push(id);
        }
        last_finished = last_finished.max(Some(start));
    }
    if let Some(waiting) = judged.first_waiting() {
        if last_finished.is_some_and(|l| l >= waiting) {
            last_finished = Some(waiting - window_usecs).filter(|&l| through.is_none_or(|t| l > t)).or(through);
        }
    }
    // When there is next something to evaluate: the end of the next window, or for an expected
    // window still waiting for its rows, the end of its grace (the background worker sleeps
    // until then).
    let current_end = crate::profile::window::window_start(now, window_usecs) + window_usecs;
    let evaluate_after = match judged.first_waiting() {
        Some(waiting) => waiting + window_usecs + judged.grace,
        None => last_finished.map_or(current_end, |l| (l + 2 * window_usecs).max(current_end)),
    };
    run_as_owner(
        crate::catalog::for_catalog(
            "UPDATE vigil.watch_def SET evaluated_through = $2, evaluate_after = $3 WHERE relid = $1",
            "UPDATE vigil.watch_def SET evaluated_through = $2 WHERE relid = $1",
        ),
        &[pg_sys::OIDOID, pg_sys::TIMESTAMPTZOID, pg_sys::TIMESTAMPTZOID],
        &[relid.into(), last_finished.map(timestamptz).into(), timestamptz(evaluate_after).into()],
    )
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot record the evaluation: {e}"), None, None));
    touched
}

/// Scores at least this high are critical.
const CRITICAL_SCORE: f64 = 3.0;
/// The score of an expected window without rows: critical (nothing else was checked).
pub(crate) const MISSING_SCORE: f64 = CRITICAL_SCORE;

/// Records that the window starting at `start` alerted on `columns`: it joins the table's open
/// (or acknowledged) alert that shares a column with it and alerted in the window just before
/// (the same incident, going on), else opens a new one, announced with NOTIFY vigil_alerts.
/// Returns the alert's id.
fn record_alert(relid: Oid, start: i64, value: f64, columns: Vec<String>, summary: String, window_usecs: i64) -> i64 {
    let severity = if value >= CRITICAL_SCORE { "critical" } else { "warning" };
    let id = query_as_owner(
        "WITH open AS (
             SELECT alert_id FROM vigil.alert
              WHERE relid = $1 AND state <> 'resolved' AND columns && $4 AND last_window >= $7
              ORDER BY alert_id DESC LIMIT 1),
         extended AS (
             UPDATE vigil.alert a
                SET last_window = greatest(a.last_window, $2), score = greatest(a.score, $3),
                    columns = ARRAY(SELECT DISTINCT unnest(a.columns || $4)),
                    severity = CASE WHEN a.severity = 'critical' THEN a.severity ELSE $5 END
               FROM open WHERE a.alert_id = open.alert_id
             RETURNING a.alert_id, false AS opened),
         opened AS (
             INSERT INTO vigil.alert (relid, window_start, last_window, severity, score, columns, summary)
             SELECT $1, $2, $2, $5, $3, $4, $6 WHERE NOT EXISTS (SELECT 1 FROM open)
             RETURNING alert_id, true AS opened)
         SELECT alert_id, opened FROM extended UNION ALL SELECT alert_id, opened FROM opened",
        &[pg_sys::OIDOID, pg_sys::TIMESTAMPTZOID, pg_sys::FLOAT8OID, pg_sys::TEXTARRAYOID, pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TIMESTAMPTZOID],
        &[
            relid.into(),
            timestamptz(start).into(),
            value.into(),
            columns.into(),
            severity.into(),
            summary.into(),
            timestamptz(start - window_usecs).into(),
        ],
        |mut rows| {
            let row = rows.next().expect("one alert extended or opened");
            Ok((row.get::<i64>(1)?.unwrap_or(0), row.get::<bool>(2)?.unwrap_or(false)))
        },
    )
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot record an alert: {e}"), None, None));
    if id.1 {
        notify_once(relid, id.0);
    }
    id.0
}

/// The latest finished window of `relid` already evaluated (None: none yet).
fn evaluated_through(relid: Oid) -> Option<i64> {
    as_extension_owner(|| {
        crate::catalog::select_one::<TimestampWithTimeZone>("SELECT evaluated_through FROM vigil.watch_def WHERE relid = $1", &[relid.into()])
    })
    .ok()
    .flatten()
    .map(i64::from)
}

/// Whether the table's current epoch has statistics of a window that starts before `start`.
fn has_window_before(relid: Oid, start: i64) -> bool {
    as_extension_owner(|| {
        crate::catalog::select_one::<bool>(
            "SELECT EXISTS (SELECT 1 FROM vigil.profile_delta d JOIN vigil.watch_def w ON w.relid = d.relid AND w.epoch = d.epoch
                             WHERE d.relid = $1 AND d.window_start < $2)",
            &[relid.into(), timestamptz(start).into()],
        )
    })
    .ok()
    .flatten()
    .unwrap_or(true)
}

/// First key of the advisory locks that keep two backends from evaluating a table at once.
pub(crate) const EVALUATE_LOCK_CLASS: i32 = 0x5669_6732; // "Vig2"

thread_local! {
    /// Per table: the newest window this backend has seen written, and the newest window known
    /// evaluated (None until read).
    static SEEN: std::cell::RefCell<HashMap<Oid, (i64, Option<Option<i64>>)>> = std::cell::RefCell::new(HashMap::new());
}

/// After a rollback the backend's memory of evaluations may be ahead of the catalog's: forget it
/// (it is only a shortcut; the catalog says what was evaluated).
pub(crate) fn forget_evaluations() {
    SEEN.with(|s| s.borrow_mut().clear());
}

/// Called by the write path with the newest window a statement wrote to. When it is current
/// (live data, not a load of history) and windows before it have not been evaluated, they are
/// finished: evaluate them now, so that alerts open (and NOTIFY) as data arrives. One backend
/// at a time per table; the others go on without waiting.
pub(crate) fn evaluate_if_due(relid: Oid, newest: i64, window_usecs: i64) {
    // A REPEATABLE READ or SERIALIZABLE writer reads alerts and memos as of its snapshot: it
    // could judge again what another transaction judged since and fail the user's write on it.
    // The next READ COMMITTED writer, or vigil.evaluate(), evaluates instead.
    if crate::catalog::uses_transaction_snapshot() {
        return;
    }
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    if newest + 2 * window_usecs < now {
        return; // history being loaded: vigil.evaluate() judges it when asked
    }
    let known = SEEN.with(|s| s.borrow().get(&relid).copied());
    if known.is_some_and(|(seen, _)| seen >= newest) {
        return;
    }
    let evaluated = match known.and_then(|k| k.1) {
        Some(e) => e,
        None => evaluated_through(relid),
    };
    SEEN.with(|s| s.borrow_mut().insert(relid, (newest, Some(evaluated))));
    // Windows before the newest are finished; are any of them not evaluated yet?
    if evaluated.is_some_and(|e| e + window_usecs >= newest) {
        return;
    }
    // Never evaluated and no window before this one: nothing is finished (a new connection
    // would otherwise merge the open window's statistics just to find that out).
    if evaluated.is_none() && !has_window_before(relid, newest) {
        return;
    }
    if crate::catalog::advisory_xact_lock(EVALUATE_LOCK_CLASS, relid, false) {
        evaluate_table(relid);
        SEEN.with(|s| s.borrow_mut().insert(relid, (newest, None)));
    }
}

/// The 'warn' batch-level constraints a finished window of a watched table violates, judged on
/// the window's merged statistics (with the window's rows).
/// The key under which a watched column's statistics are stored (its attnum when watched), from
/// its position in the table (after a restore they differ).
fn statistics_key(set: &RuleSet, attno: usize) -> Option<i16> {
    set.watch.as_ref()?.columns.iter().find(|c| c.attno == attno).map(|c| c.attnum)
}

pub(crate) fn judge_window<'a>(rules: &[&'a CompiledAggregate], window: &WindowDrift, set: &RuleSet) -> Vec<AggregateViolation<'a>> {
    use crate::rules::aggregate::{observe, passes, Observed};
    let rows = window.rows;
    let mut out = Vec::new();
    for &rule in rules {
        let observed = match &rule.column {
            None => Observed { rows, ..Default::default() },
            Some((_, attno, _)) => {
                let key = statistics_key(set, *attno);
                let Some((_, p, _, _)) = window.columns.iter().find(|c| Some(c.0) == key) else { continue };
                Observed::of_profile(p, true, rule.quantile)
            }
        };
        if !passes(rule.kind, &rule.bounds, &observed) {
            let value = observe(rule.kind, &observed).unwrap_or(f64::NAN);
            out.push(AggregateViolation {
                aggregate: rule,
                batch_rows: rows,
                observed: value,
                expected: rule.bounds.describe(),
                detail: Some(serde_json::json!({"window_start": timestamptz(window.start).to_string()})),
            });
        }
    }
    out
}

/// The expect_no_drift constraints a finished window violates, with the window's rows: the
/// column's learned score above 1 (no threshold), or its metric beyond the threshold.
pub(crate) fn judge_drift<'a>(
    rules: &[&'a CompiledAggregate],
    window: &WindowDrift,
    score: &WindowScore,
    set: &RuleSet,
) -> Vec<AggregateViolation<'a>> {
    use crate::rules::aggregate::{auto_metric, drifts};
    let rows = window.rows;
    let mut out = Vec::new();
    for &rule in rules {
        let Some((name, attno, _)) = &rule.column else { continue };
        let key = statistics_key(set, *attno);
        let Some((_, profile, report, _)) = window.columns.iter().find(|c| Some(c.0) == key) else { continue };
        let judged = match rule.threshold {
            None => score.columns.iter().find(|c| &c.column == name).map(|c| ("score", c.score, c.score > 1.0, "a score of at most 1".to_string())),
            Some(limit) => {
                let metric = if rule.metric == "auto" { auto_metric(profile.kind == ProfileKind::Numeric, profile.rows) } else { rule.metric.as_str() };
                let value = match metric {
                    "psi" => report.psi,
                    "js_distance" => report.js_distance,
                    "ks_statistic" => report.ks_statistic,
                    "wasserstein_norm" => report.wasserstein_norm,
                    "linf" => report.linf,
                    "chi2_pvalue" => report.chi2_pvalue,
                    _ => None,
                };
                let expected = if metric == "chi2_pvalue" { format!("{metric} of at least {limit}") } else { format!("{metric} of at most {limit}") };
                value.map(|v| (metric, v, drifts(metric, v, limit), expected))
            }
        };
        if let Some((metric, value, true, expected)) = judged {
            out.push(AggregateViolation {
                aggregate: rule,
                batch_rows: rows,
                observed: value,
                expected,
                detail: Some(serde_json::json!({"window_start": timestamptz(window.start).to_string(), "metric": metric})),
            });
        }
    }
    out
}

/// Moves an alert to `state` ('acknowledged' or 'resolved'); only the table's owner may.
pub(crate) fn set_state(id: i64, state: &'static str) -> bool {
    let (relid, current) = as_extension_owner(|| {
        crate::catalog::select_two::<Oid, String>("SELECT relid, state FROM vigil.alert WHERE alert_id = $1", &[id.into()])
    })
    .ok()
    .and_then(|(r, s)| Some((r?, s?)))
    .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("alert {id} does not exist"), None, None));
    require_owner(relid);
    if current == "resolved" {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("alert {id} is already resolved"),
            None,
            Some("A resolved alert stays resolved; a new breakage opens a new alert.".into()),
        );
    }
    if current == state {
        return false; // acknowledging twice changes nothing
    }
    // Acknowledging makes the alert's shift normal from its next window on: the windows after
    // it are scored again (their memos go), and read so from then on.
    as_extension_owner(|| {
        Spi::run_with_args(
            "WITH updated AS (
                UPDATE vigil.alert SET state = $2,
                       acknowledged_at = CASE WHEN $2 = 'acknowledged' THEN now() ELSE acknowledged_at END,
                       resolved_at = CASE WHEN $2 = 'resolved' THEN now() ELSE resolved_at END
                 WHERE alert_id = $1
             RETURNING relid, window_start)
             DELETE FROM vigil.window_memo m USING updated u
              WHERE $2 = 'acknowledged' AND m.relid = u.relid AND m.window_start > u.window_start",
            &[id.into(), state.into()],
        )
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot update alert {id}: {e}"), None, None));
    true
}
