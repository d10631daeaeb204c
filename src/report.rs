//! vigil.report's page: one self-contained HTML document (inline CSS and SVG, no scripts, no
//! fonts or images fetched) from what the views say about a table. Pure Rust: the SQL layer
//! gathers a `Report`, this renders it, and `cargo test` checks the markup.

use std::fmt::Write;

#[derive(Debug, Clone, Default)]
pub struct ConstraintRow {
    pub name: String,
    pub column: String,
    pub kind: String,
    pub on_violation: String,
    pub params: String,
}

/// Per day: statements recorded as violating (warn and repairs) and rows quarantined.
#[derive(Debug, Clone, Default)]
pub struct DayCount {
    pub day: String,
    pub violations: u64,
    pub quarantined: u64,
}

#[derive(Debug, Clone, Default)]
pub struct WindowRow {
    /// ISO date (or date and time) of the window's start.
    pub start: String,
    pub rows: i64,
    pub status: String,
    pub score: Option<f64>,
    pub top_columns: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AlertRow {
    pub id: i64,
    pub window_start: String,
    pub last_window: String,
    pub severity: String,
    pub score: f64,
    pub columns: Vec<String>,
    pub summary: String,
    pub state: String,
}

/// One column's key statistics, one entry per window of `Report::windows` (None: no rows).
#[derive(Debug, Clone, Default)]
pub struct ColumnSeries {
    pub name: String,
    /// The mean for numbers, the distinct count for categories.
    pub value: Vec<Option<f64>>,
    pub value_label: String,
    /// The 5th and 95th percentiles (numbers).
    pub band: Vec<Option<(f64, f64)>>,
    pub null_fraction: Vec<Option<f64>>,
}

/// The newest alert's first column: its window's quantiles against the reference's.
#[derive(Debug, Clone, Default)]
pub struct Distribution {
    pub column: String,
    pub window: String,
    /// (rank, value) of the window and of the reference (the median of earlier good windows).
    pub window_quantiles: Vec<(f64, f64)>,
    pub reference_quantiles: Vec<(f64, f64)>,
    /// For categories: (value, share in the window, share in the reference), NULL as "(NULL)".
    pub categories: Vec<(String, f64, f64)>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub table: String,
    pub generated_at: String,
    pub range: String,
    pub constraints: Vec<ConstraintRow>,
    pub days: Vec<DayCount>,
    pub windows: Vec<WindowRow>,
    pub alerts: Vec<AlertRow>,
    pub columns: Vec<ColumnSeries>,
    pub distribution: Option<Distribution>,
}

/// Status colours: the Okabe-Ito palette (distinguishable with the common colour-vision
/// deficiencies), and every colour also named in text (legend, titles).
fn status_colour(status: &str) -> &'static str {
    match status {
        "ok" => "#009E73",
        "alert" => "#D55E00",
        "learning" => "#BBBBBB",
        "marked_invalid" | "invalid" => "#CC79A7",
        "missing" | "late" => "#E69F00",
        "pending" | "open" => "#56B4E9",
        _ => "#999999",
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number short enough for a label or a coordinate.
fn short(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let digits = if x.abs() >= 100.0 { 0 } else if x.abs() >= 1.0 { 2 } else { 4 };
    let s = format!("{x:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;margin:0 auto;max-width:1180px;padding:16px 24px}\
h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.meta{color:#555}table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}\
th{background:#f5f5f5}code{font-size:13px}.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}\
.cols{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:14px}.col{border:1px solid #e4e4e4;border-radius:6px;padding:8px}\
.col h3{font-size:14px;margin:0 0 4px}.note{font-size:13px;color:#555}svg{display:block;max-width:100%}.sev-high{color:#a33a00;font-weight:600}";

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>pg_vigil report: {t}</title><style>{STYLE}</style></head><body>\
<h1>pg_vigil report: {t}</h1><p class=\"meta\">{range} &middot; generated {g} &middot; {w} windows, {a} alerts, {c} constraints</p>",
        t = escape(&r.table),
        range = escape(&r.range),
        g = escape(&r.generated_at),
        w = r.windows.len(),
        a = r.alerts.len(),
        c = r.constraints.len()
    );
    timeline(&mut h, r);
    alerts(&mut h, r);
    distribution(&mut h, r);
    columns(&mut h, r);
    violations(&mut h, r);
    contract(&mut h, r);
    h.push_str("</body></html>\n");
    h
}

fn timeline(h: &mut String, r: &Report) {
    h.push_str("<h2>Windows</h2>");
    if r.windows.is_empty() {
        h.push_str("<p class=\"note\">The table is not watched, or has no windows in this range.</p>");
        return;
    }
    let mut statuses: Vec<&str> = r.windows.iter().map(|w| w.status.as_str()).collect();
    statuses.sort();
    statuses.dedup();
    h.push_str("<p class=\"legend\">");
    for s in &statuses {
        let count = r.windows.iter().filter(|w| w.status == *s).count();
        let _ = write!(h, "<span><i style=\"background:{}\"></i>{} ({count})</span>", status_colour(s), escape(s));
    }
    h.push_str("</p>");
    let n = r.windows.len();
    let _ = write!(h, "<svg id=\"timeline\" role=\"img\" aria-label=\"window status over time\" viewBox=\"0 0 {n} 12\" preserveAspectRatio=\"none\" width=\"100%\" height=\"36\">");
    for (i, w) in r.windows.iter().enumerate() {
        let score = w.score.map(|s| format!(", score {}", short(s))).unwrap_or_default();
        let top = if w.top_columns.is_empty() { String::new() } else { format!(", {}", w.top_columns.join(", ")) };
        let _ = write!(
            h,
            "<rect x=\"{i}\" width=\"1\" height=\"12\" fill=\"{}\"><title>{}: {} ({} rows{score}{})</title></rect>",
            status_colour(&w.status),
            escape(&w.start),
            escape(&w.status),
            w.rows,
            escape(&top)
        );
    }
    h.push_str("</svg>");
    let _ = write!(h, "<p class=\"note\">{} to {}</p>", escape(&r.windows[0].start), escape(&r.windows[n - 1].start));
}

fn alerts(h: &mut String, r: &Report) {
    h.push_str("<h2>Alerts</h2>");
    if r.alerts.is_empty() {
        h.push_str("<p class=\"note\">No alerts in this range.</p>");
        return;
    }
    h.push_str("<table id=\"alerts\"><tr><th>#</th><th>windows</th><th>severity</th><th>score</th><th>columns</th><th>state</th><th>summary</th></tr>");
    for a in &r.alerts {
        let sev = if a.severity == "high" || a.severity == "critical" { " class=\"sev-high\"" } else { "" };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{} – {}</td><td{sev}>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.id,
            escape(&a.window_start),
            escape(&a.last_window),
            escape(&a.severity),
            short(a.score),
            escape(&a.columns.join(", ")),
            escape(&a.state),
            escape(&a.summary)
        );
    }
    h.push_str("</table>");
}

/// A value's place on a chart's vertical axis (height 60, 4 pixels of margin).
fn scale(lo: f64, hi: f64) -> impl Fn(f64) -> f64 {
    let span = if hi > lo && (hi - lo).is_finite() { hi - lo } else { 1.0 };
    move |v| 56.0 - (v - lo) / span * 52.0
}

fn columns(h: &mut String, r: &Report) {
    h.push_str("<h2>Columns</h2>");
    if r.columns.is_empty() {
        h.push_str("<p class=\"note\">No column statistics in this range.</p>");
        return;
    }
    let n = r.windows.len().max(1);
    let alerting: Vec<bool> = r.windows.iter().map(|w| w.status == "alert").collect();
    h.push_str("<p class=\"note\">Per window: the line is the mean (numbers) or the distinct count (categories), the shaded band the 5th to 95th percentile, the pink line the share of NULLs (0 at the bottom, 100% at the top); windows in alert are marked in vermilion.</p><div class=\"cols\">");
    for c in &r.columns {
        let values: Vec<f64> = c.value.iter().flatten().copied().chain(c.band.iter().flatten().flat_map(|b| [b.0, b.1])).filter(|v| v.is_finite()).collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let y = scale(lo, hi);
        let width = (n * 2) as f64;
        let _ = write!(h, "<div class=\"col\"><h3>{}</h3><svg class=\"chart\" role=\"img\" aria-label=\"{} per window\" viewBox=\"0 0 {width} 60\" preserveAspectRatio=\"none\" width=\"100%\" height=\"80\">", escape(&c.name), escape(&c.value_label));
        for (i, &a) in alerting.iter().enumerate() {
            if a {
                let _ = write!(h, "<rect x=\"{}\" width=\"2\" height=\"60\" fill=\"#D55E00\" opacity=\"0.3\"/>", i * 2);
            }
        }
        // The band as one polygon per run of windows with values.
        for run in runs(&c.band) {
            let mut points = String::new();
            for &i in &run {
                let (low, _) = c.band[i].unwrap_or_default();
                let _ = write!(points, "{},{:.1} ", i * 2 + 1, y(low));
            }
            for &i in run.iter().rev() {
                let (_, high) = c.band[i].unwrap_or_default();
                let _ = write!(points, "{},{:.1} ", i * 2 + 1, y(high));
            }
            let _ = write!(h, "<polygon points=\"{}\" fill=\"#56B4E9\" opacity=\"0.35\"/>", points.trim_end());
        }
        for run in runs(&c.value) {
            let points: Vec<String> = run.iter().map(|&i| format!("{},{:.1}", i * 2 + 1, y(c.value[i].unwrap_or_default()))).collect();
            let _ = write!(h, "<polyline points=\"{}\" fill=\"none\" stroke=\"#0072B2\" stroke-width=\"1.2\" vector-effect=\"non-scaling-stroke\"/>", points.join(" "));
        }
        for run in runs(&c.null_fraction) {
            let points: Vec<String> = run.iter().map(|&i| format!("{},{:.1}", i * 2 + 1, 56.0 - c.null_fraction[i].unwrap_or_default() * 52.0)).collect();
            let _ = write!(h, "<polyline points=\"{}\" fill=\"none\" stroke=\"#CC79A7\" stroke-width=\"1\" vector-effect=\"non-scaling-stroke\"/>", points.join(" "));
        }
        let newest_nulls = c.null_fraction.iter().rev().flatten().next().copied().unwrap_or(0.0);
        let _ = write!(
            h,
            "</svg><p class=\"note\">{}: {} to {}; NULLs in the newest window {}%</p></div>",
            escape(&c.value_label),
            if lo.is_finite() { short(lo) } else { "–".into() },
            if hi.is_finite() { short(hi) } else { "–".into() },
            short(100.0 * newest_nulls)
        );
    }
    h.push_str("</div>");
}

/// The runs of consecutive indexes that have a value.
fn runs<T>(values: &[Option<T>]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    for (i, v) in values.iter().enumerate() {
        if v.is_some() {
            current.push(i);
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn distribution(h: &mut String, r: &Report) {
    let Some(d) = &r.distribution else { return };
    let _ = write!(h, "<h2>Newest alert: {} in the window of {}</h2>", escape(&d.column), escape(&d.window));
    let all: Vec<f64> = d.window_quantiles.iter().chain(&d.reference_quantiles).map(|q| q.1).filter(|v| v.is_finite()).collect();
    if all.is_empty() {
        category_shares(h, d);
        return;
    }
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo && (hi - lo).is_finite() { hi - lo } else { 1.0 };
    let x = |v: f64| 20.0 + (v - lo) / span * 560.0;
    h.push_str("<p class=\"legend\"><span><i style=\"background:#D55E00\"></i>this window</span><span><i style=\"background:#0072B2\"></i>reference (median of earlier good windows)</span></p>");
    h.push_str("<svg id=\"distribution\" role=\"img\" aria-label=\"quantiles of the window against the reference\" viewBox=\"0 0 600 220\" width=\"600\" height=\"220\">");
    let _ = write!(h, "<line x1=\"20\" y1=\"200\" x2=\"580\" y2=\"200\" stroke=\"#999\"/><text x=\"20\" y=\"216\" font-size=\"11\">{}</text><text x=\"580\" y=\"216\" font-size=\"11\" text-anchor=\"end\">{}</text>", short(lo), short(hi));
    for (points, colour) in [(&d.reference_quantiles, "#0072B2"), (&d.window_quantiles, "#D55E00")] {
        let p: Vec<String> = points.iter().filter(|q| q.1.is_finite()).map(|(rank, v)| format!("{:.1},{:.1}", x(*v), 200.0 - rank * 190.0)).collect();
        let _ = write!(h, "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>", p.join(" "));
        for (rank, v) in points.iter().filter(|q| q.1.is_finite()) {
            let _ = write!(h, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>p{}: {}</title></circle>", x(*v), 200.0 - rank * 190.0, short(rank * 100.0), short(*v));
        }
    }
    h.push_str("</svg><p class=\"note\">Cumulative share (up) against value (across), at the 1st, 5th, 25th, 50th, 75th, 95th and 99th percentiles.");
    if d.window_quantiles.is_empty() {
        h.push_str(" This window has no values of the column (all NULL, or no rows): only the reference is drawn.");
    }
    h.push_str("</p>");
}

/// A categorical column's shares, the window's against the reference's, as paired bars.
fn category_shares(h: &mut String, d: &Distribution) {
    if d.categories.is_empty() {
        h.push_str("<p class=\"note\">No statistics of this column in that window.</p>");
        return;
    }
    let shown = &d.categories[..d.categories.len().min(12)];
    let height = shown.len() * 30 + 10;
    h.push_str("<p class=\"legend\"><span><i style=\"background:#D55E00\"></i>this window</span><span><i style=\"background:#0072B2\"></i>reference (earlier good windows together)</span></p>");
    let _ = write!(h, "<svg id=\"distribution\" role=\"img\" aria-label=\"shares of each value in the window against the reference\" viewBox=\"0 0 600 {height}\" width=\"600\" height=\"{height}\">");
    let top = shown.iter().map(|c| c.1.max(c.2)).fold(0.0f64, f64::max).max(1e-9);
    for (i, (label, window, reference)) in shown.iter().enumerate() {
        let y = i * 30 + 4;
        let _ = write!(
            h,
            "<text x=\"150\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text>\
<rect x=\"156\" y=\"{y}\" width=\"{:.1}\" height=\"11\" fill=\"#D55E00\"><title>this window: {}%</title></rect>\
<rect x=\"156\" y=\"{}\" width=\"{:.1}\" height=\"11\" fill=\"#0072B2\"><title>reference: {}%</title></rect>\
<text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{}% / {}%</text>",
            y + 16,
            escape(label),
            window / top * 300.0,
            short(window * 100.0),
            y + 12,
            reference / top * 300.0,
            short(reference * 100.0),
            162.0 + window.max(*reference) / top * 300.0,
            y + 16,
            short(window * 100.0),
            short(reference * 100.0)
        );
    }
    h.push_str("</svg><p class=\"note\">Share of the window's rows with each value (NULL included), against the same share over earlier good windows.</p>");
}

fn violations(h: &mut String, r: &Report) {
    h.push_str("<h2>Violations and quarantine</h2>");
    if r.days.is_empty() {
        h.push_str("<p class=\"note\">No violations recorded in this range.</p>");
        return;
    }
    let top = r.days.iter().map(|d| d.violations.max(d.quarantined)).max().unwrap_or(1).max(1) as f64;
    let n = r.days.len();
    h.push_str("<p class=\"legend\"><span><i style=\"background:#0072B2\"></i>statements recorded as violating</span><span><i style=\"background:#CC79A7\"></i>rows quarantined</span></p>");
    // At least a month wide, so a few days' bars stay bars.
    let _ = write!(h, "<svg id=\"violations\" role=\"img\" aria-label=\"violations and quarantined rows per day\" viewBox=\"0 0 {} 60\" preserveAspectRatio=\"none\" width=\"100%\" height=\"70\">", (n * 4).max(120));
    for (i, d) in r.days.iter().enumerate() {
        let v = d.violations as f64 / top * 56.0;
        let q = d.quarantined as f64 / top * 56.0;
        let _ = write!(
            h,
            "<g><title>{}: {} violating statements, {} rows quarantined</title><rect x=\"{}\" y=\"{:.1}\" width=\"1.6\" height=\"{:.1}\" fill=\"#0072B2\"/><rect x=\"{}\" y=\"{:.1}\" width=\"1.6\" height=\"{:.1}\" fill=\"#CC79A7\"/></g>",
            escape(&d.day),
            d.violations,
            d.quarantined,
            i * 4,
            60.0 - v,
            v,
            i * 4 + 2,
            60.0 - q,
            q
        );
    }
    let (v, q): (u64, u64) = r.days.iter().fold((0, 0), |acc, d| (acc.0 + d.violations, acc.1 + d.quarantined));
    let _ = write!(h, "</svg><p class=\"note\">{} to {}: {v} violating statements, {q} rows quarantined (most in a day: {}).</p>", escape(&r.days[0].day), escape(&r.days[n - 1].day), top as u64);
}

fn contract(h: &mut String, r: &Report) {
    h.push_str("<h2>Contract</h2>");
    if r.constraints.is_empty() {
        h.push_str("<p class=\"note\">No constraints declared.</p>");
        return;
    }
    h.push_str("<table id=\"contract\"><tr><th>constraint</th><th>column</th><th>kind</th><th>on violation</th><th>parameters</th></tr>");
    for c in &r.constraints {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&c.name),
            escape(&c.column),
            escape(&c.kind),
            escape(&c.on_violation),
            escape(&c.params)
        );
    }
    h.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year(columns: usize) -> Report {
        let days = 365;
        let windows = (0..days)
            .map(|i| WindowRow {
                start: format!("2024-{:02}-{:02}", 1 + i / 31 % 12, 1 + i % 28),
                rows: 100,
                status: if i < 14 { "learning" } else if i % 90 == 0 { "alert" } else { "ok" }.into(),
                score: Some(0.5),
                top_columns: vec!["c1".into()],
            })
            .collect();
        let columns = (0..columns)
            .map(|c| ColumnSeries {
                name: format!("column_{c}"),
                value: (0..days).map(|i| Some(50.0 + (i as f64 / 7.0).sin() * 10.0)).collect(),
                value_label: "mean".into(),
                band: (0..days).map(|i| Some((30.0 + i as f64 % 3.0, 70.0))).collect(),
                null_fraction: (0..days).map(|_| Some(0.01)).collect(),
            })
            .collect();
        Report {
            table: "public.<features> & \"co\"".into(),
            generated_at: "2024-12-31 12:00".into(),
            range: "all windows".into(),
            windows,
            columns,
            alerts: vec![AlertRow { id: 1, window_start: "2024-03-31".into(), summary: "temp: <null spike>".into(), ..Default::default() }],
            constraints: vec![ConstraintRow { name: "t_x_between".into(), params: "{\"min\": \"0\"}".into(), ..Default::default() }],
            days: vec![DayCount { day: "2024-03-31".into(), violations: 3, quarantined: 12 }],
            distribution: Some(Distribution {
                column: "temp".into(),
                window: "2024-03-31".into(),
                window_quantiles: vec![(0.01, 1.0), (0.5, 5.0), (0.99, 9.0)],
                reference_quantiles: vec![(0.01, 2.0), (0.5, 4.0), (0.99, 6.0)],
                categories: vec![],
            }),
        }
    }

    #[test]
    fn text_is_escaped_and_nothing_is_fetched() {
        let page = render(&year(3));
        assert!(page.contains("public.&lt;features&gt; &amp; &quot;co&quot;"));
        assert!(page.contains("temp: &lt;null spike&gt;"));
        assert!(!page.contains("<script") && !page.contains("src=") && !page.contains("href=") && !page.contains("url("));
        for id in ["timeline", "alerts", "distribution", "violations", "contract"] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert_eq!(page.matches("class=\"chart\"").count(), 3);
        assert_eq!(page.matches("<rect x=").count() - page.matches("fill=\"#D55E00\" opacity").count() - 2, 365);
    }

    #[test]
    fn a_year_of_fifty_columns_stays_small() {
        let page = render(&year(50));
        assert!(page.len() < 1_000_000, "{} bytes", page.len());
    }

    #[test]
    fn categories_are_compared_by_share() {
        let mut r = year(1);
        r.distribution = Some(Distribution {
            column: "device".into(),
            window: "2024-06-09".into(),
            categories: vec![("(NULL)".into(), 0.34, 0.01), ("ios".into(), 0.23, 0.33)],
            ..Default::default()
        });
        let page = render(&r);
        assert!(page.contains("id=\"distribution\"") && page.contains("(NULL)") && page.contains("34% / 1%"));
    }

    #[test]
    fn gaps_break_lines() {
        assert_eq!(runs(&[Some(1), None, Some(2), Some(3)]), vec![vec![0], vec![2, 3]]);
        assert_eq!(short(1234.5678), "1235");
        assert_eq!(short(0.123456), "0.1235");
        assert_eq!(short(2.5), "2.5");
    }
}
