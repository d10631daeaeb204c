//! A starting contract from the data already there: what `vigil.suggest` proposes for each
//! column, given exact facts about it (counts, extremes, distinct values, a shape its text
//! values all share). Pure Rust: the SQL layer gathers the facts and renders the calls.
//!
//! Suggestions are few and hold on the data they came from by construction: not-null only where
//! no NULL occurs, ranges widened beyond the extremes by a margin of the spread (so the next
//! sample's slightly larger values pass), sets only of text categories seen several times each.

/// What a column holds, as far as suggestions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Integer,
    Float,
    Text,
    Bool,
    Date,
    Timestamp,
    Other,
}

/// Exact facts about one column over the rows profiled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnFacts {
    pub name: String,
    pub group: Option<Group>,
    pub rows: u64,
    pub nulls: u64,
    /// Smallest and largest finite value (numbers).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// NaN and infinities (numbers).
    pub non_finite: u64,
    /// The 0.5th and 99.5th percentiles (numbers): how far the extremes stand out of the tails.
    pub tails: Option<(f64, f64)>,
    /// Distinct non-NULL values.
    pub distinct: u64,
    /// Every distinct value with its count, when there are at most MAX_CATEGORIES.
    pub categories: Option<Vec<(String, u64)>>,
    /// A regular expression every non-NULL value matches (checked on all rows by the caller).
    pub shape: Option<String>,
}

/// Text columns with at most this many distinct values are offered as a set.
pub const MAX_CATEGORIES: u64 = 30;
/// Each category of a suggested set was seen at least this often: a set of values each seen
/// once or twice would miss the next sample's one-offs.
const MIN_CATEGORY_COUNT: u64 = 3;
/// Key-like columns (every value distinct) need at least this many rows to be called so.
const MIN_KEY_ROWS: u64 = 50;
/// With this many rows and no NULL, not-null allows the rare NULL (see `suggest`).
const RARE_NULL_ROWS: u64 = 1000;
/// Ranges are widened by this share of the spread on each side.
const RANGE_MARGIN: f64 = 0.1;

/// One argument of a suggested `vigil.expect_*` call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Texts(Vec<String>),
    Number(f64),
    Named(&'static str, Box<Arg>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub column: Option<String>,
    /// The constraint kind (as in vigil.constraints), or 'watch'.
    pub kind: &'static str,
    pub params: serde_json::Value,
    pub on_violation: &'static str,
    pub mostly: f64,
    pub reason: String,
    /// The function (`vigil.<function>(tbl, args...)`) that declares it.
    pub function: &'static str,
    pub args: Vec<Arg>,
}

fn suggestion(column: &str, kind: &'static str, function: &'static str, args: Vec<Arg>, params: serde_json::Value, reason: String) -> Suggestion {
    Suggestion { column: Some(column.to_string()), kind, params, on_violation: "reject", mostly: 1.0, reason, function, args }
}

/// Ranges also reach twice as far beyond each extreme as the extreme stands beyond its tail
/// (the 0.5th or 99.5th percentile): a long tail's next sample goes further than its spread says.
const TAIL_REACH: f64 = 2.0;

/// A range around the values seen: widened on each side by a tenth of the spread, or by twice
/// the extreme's distance from its tail when that is more, then rounded outwards to a step of
/// the margin's order of magnitude so that bounds read well (0 to 120, not -3.71 to 118.2).
pub fn nice_range(min: f64, max: f64, integer: bool, tails: Option<(f64, f64)>) -> (f64, f64) {
    let spread = max - min;
    // A constant column (a year, a version) is given a hundredth of its value, at least 1.
    let base = if spread > 0.0 { spread * RANGE_MARGIN } else { (min.abs() * 0.01).max(1.0) };
    let (low_tail, high_tail) = tails.unwrap_or((min, max));
    let below = base.max(TAIL_REACH * (low_tail - min));
    let above = base.max(TAIL_REACH * (max - high_tail));
    let round = |value: f64, margin: f64, up: bool| {
        let mut step = 10f64.powf(margin.log10().floor());
        if integer {
            step = step.max(1.0);
        }
        // Whole steps, written with the step's decimals (no 1.1000000000000001).
        let decimals = 10f64.powi((-step.log10().round()).max(0.0) as i32);
        let steps = value / step;
        ((if up { steps.ceil() } else { steps.floor() }) * step * decimals).round() / decimals
    };
    let mut lo = round(min - below, below, false);
    let hi = round(max + above, above, true);
    // A column never below zero is not suggested to go below zero.
    if min >= 0.0 && lo < 0.0 {
        lo = 0.0;
    }
    (lo, hi)
}

/// The suggestions for a table's columns; `time_column` (name, days its values span) adds the
/// watch the table would want.
pub fn suggest(columns: &[ColumnFacts], time_column: Option<(&str, f64)>) -> Vec<Suggestion> {
    let mut out = Vec::new();
    for c in columns {
        let Some(group) = c.group else { continue };
        if c.rows == 0 || group == Group::Other {
            continue;
        }
        let present = c.rows - c.nulls;
        let null_share = c.nulls as f64 / c.rows as f64;
        if c.nulls == 0 {
            // No NULL in n rows still allows a rate up to 3/n (the rule of three, 95%): with many
            // rows, `mostly` leaves room for the rare one a next sample may hold.
            let mostly = if c.rows >= RARE_NULL_ROWS { ((1.0 - 3.0 / c.rows as f64) * 1000.0).floor() / 1000.0 } else { 1.0 };
            let mut args = vec![Arg::Text(c.name.clone())];
            if mostly < 1.0 {
                args.push(Arg::Named("mostly", Box::new(Arg::Number(mostly))));
            }
            let mut s = suggestion(&c.name, "not_null", "expect_not_null", args, serde_json::json!({}),
                format!("no NULL in {} rows", c.rows));
            s.mostly = mostly;
            out.push(s);
        } else if null_share <= 0.5 {
            // At least the share seen, less three standard errors and a point: a sample of the
            // same source is not held to this one's exact share.
            let p = 1.0 - null_share;
            let floor = p - 3.0 * (p * (1.0 - p) / c.rows as f64).sqrt() - 0.01;
            let min_fraction = ((floor * 100.0).floor() / 100.0).max(0.01);
            let mut s = suggestion(&c.name, "completeness", "expect_completeness",
                vec![Arg::Text(c.name.clone()), Arg::Number(min_fraction)], serde_json::json!({"min": min_fraction}),
                format!("{:.1}% of {} rows are not NULL", 100.0 * p, c.rows));
            s.mostly = min_fraction;
            out.push(s);
        }
        if present == 0 {
            continue;
        }
        let key_like = c.distinct == present && present >= MIN_KEY_ROWS && matches!(group, Group::Integer | Group::Text);
        if key_like {
            out.push(suggestion(&c.name, "unique", "expect_unique", vec![Arg::Text(c.name.clone())], serde_json::json!({}),
                format!("each of {present} values is distinct: a key")));
        }
        match group {
            Group::Integer | Group::Float if !key_like && c.non_finite == 0 => {
                if let (Some(min), Some(max)) = (c.min, c.max) {
                    let (lo, hi) = nice_range(min, max, group == Group::Integer, c.tails);
                    if !(lo.is_finite() && hi.is_finite()) {
                        continue; // values near the double's limits: no range to offer
                    }
                    out.push(suggestion(&c.name, "between", "expect_between",
                        vec![Arg::Text(c.name.clone()), Arg::Number(lo), Arg::Number(hi)],
                        serde_json::json!({"min": lo, "max": hi}),
                        format!("values from {min} to {max}, widened beyond their spread and tails")));
                }
            }
            Group::Text => {
                let set = c.categories.as_ref().filter(|cats| {
                    !key_like && cats.len() as u64 <= MAX_CATEGORIES && present >= 10 * cats.len() as u64
                        && cats.iter().all(|(_, n)| *n >= MIN_CATEGORY_COUNT)
                });
                if let Some(cats) = set {
                    let mut values: Vec<String> = cats.iter().map(|(v, _)| v.clone()).collect();
                    values.sort();
                    out.push(suggestion(&c.name, "in_set", "expect_in_set",
                        vec![Arg::Text(c.name.clone()), Arg::Texts(values.clone())], serde_json::json!({"values": values}),
                        if cats.len() == 1 {
                            format!("one value only, seen {present} times")
                        } else {
                            format!("{} categories, each seen at least {MIN_CATEGORY_COUNT} times", cats.len())
                        }));
                } else if let Some(shape) = &c.shape {
                    out.push(suggestion(&c.name, "match", "expect_match",
                        vec![Arg::Text(c.name.clone()), Arg::Text(shape.clone())], serde_json::json!({"pattern": shape}),
                        format!("all {present} values have this shape")));
                }
            }
            _ => {}
        }
    }
    if let Some((name, span_days)) = time_column {
        let window = if span_days >= 14.0 { "1 day" } else { "1 hour" };
        out.push(Suggestion {
            column: Some(name.to_string()),
            kind: "watch",
            params: serde_json::json!({"time_column": name, "window_size": window}),
            on_violation: "warn",
            mostly: 1.0,
            reason: format!("the rows span {span_days:.1} days of {name}: statistics per {window}, drift and alerts"),
            function: "watch",
            args: vec![Arg::Named("time_column", Box::new(Arg::Text(name.to_string()))), Arg::Named("window_size", Box::new(Arg::Text(window.into())))],
        });
    }
    out
}

/// An email address as a data contract usually means it: a local part, one @, a domain with a
/// dot and a top-level part of letters; no spaces. (POSIX classes only: PostgreSQL's regular
/// expressions read it as pg_vigil's do.)
const EMAIL: &str = "^[^@[:space:]]+@[^@[:space:]]+\\.[A-Za-z]{2,}$";

fn looks_like_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else { return false };
    let tld = domain.rsplit_once('.').map(|(_, t)| t).unwrap_or("");
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && !v.chars().any(char::is_whitespace)
}

/// The shape of a text value: runs of digits, upper- and lower-case letters, and the other
/// characters as themselves.
fn tokens(value: &str) -> Vec<(char, usize)> {
    let mut out: Vec<(char, usize)> = Vec::new();
    for ch in value.chars() {
        let class = if ch.is_ascii_digit() {
            'd'
        } else if ch.is_ascii_uppercase() {
            'U'
        } else if ch.is_ascii_lowercase() {
            'l'
        } else {
            ch
        };
        let literal = !matches!(class, 'd' | 'U' | 'l');
        match out.last_mut() {
            Some((c, n)) if *c == class && !literal => *n += 1,
            _ => out.push((class, 1)),
        }
    }
    out
}

/// A pattern all the sampled values share: the same runs of character classes, with a run's
/// length as seen when it never varies (`[0-9]{4}`), else from 1 to the longest seen. None
/// when the values do not share one (free text, or one-offs), or the shape says nothing (one run
/// of letters). Anchored; only classes and escaped literals, so PostgreSQL's regular
/// expressions mean the same.
pub fn infer_shape(sample: &[&str]) -> Option<String> {
    // Email addresses rarely share one run structure (dots in names, domains of any length):
    // when every sampled value is one, the usual shape of an address.
    shared_runs(sample).or_else(|| (sample.len() >= 10 && sample.iter().all(|v| looks_like_email(v))).then(|| EMAIL.to_string()))
}

fn shared_runs(sample: &[&str]) -> Option<String> {
    let first = tokens(sample.first()?);
    let mut lengths: Vec<(usize, usize)> = first.iter().map(|t| (t.1, t.1)).collect();
    for v in &sample[1..] {
        let t = tokens(v);
        if t.len() != first.len() || t.iter().zip(&first).any(|(a, b)| a.0 != b.0) {
            return None;
        }
        for (l, tok) in lengths.iter_mut().zip(&t) {
            l.0 = l.0.min(tok.1);
            l.1 = l.1.max(tok.1);
        }
    }
    // A shape worth declaring has a digit run or a literal separator, not letters alone.
    if !first.iter().any(|t| !matches!(t.0, 'U' | 'l')) || first.len() > 12 || sample.len() < 10 {
        return None;
    }
    let mut pattern = String::from("^");
    for ((class, _), (lo, hi)) in first.iter().zip(lengths) {
        let atom = match class {
            'd' => "[0-9]".to_string(),
            'U' => "[A-Z]".to_string(),
            'l' => "[a-z]".to_string(),
            c if c.is_ascii_alphanumeric() || !c.is_ascii() => c.to_string(),
            // \< and \> are word boundaries to the regex crate: a bracket says "this character".
            c @ ('<' | '>') => format!("[{c}]"),
            c if c.is_ascii_punctuation() => format!("\\{c}"),
            c => format!("[{c}]"),
        };
        let literal = !matches!(class, 'd' | 'U' | 'l');
        pattern.push_str(&atom);
        if literal {
            continue; // a literal run is one character (tokens keeps each its own)
        }
        if lo == hi {
            if lo > 1 {
                pattern.push_str(&format!("{{{lo}}}"));
            }
        } else {
            // A run whose length varies in the sample may be shorter in the rows not sampled
            // (ids of one digit among ids of five): from 1 to the longest seen.
            pattern.push_str(&format!("{{1,{hi}}}"));
        }
    }
    pattern.push('$');
    Some(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str, group: Group) -> ColumnFacts {
        ColumnFacts { name: name.into(), group: Some(group), rows: 1000, ..Default::default() }
    }

    #[test]
    fn ranges_are_widened_and_read_well() {
        assert_eq!(nice_range(3.2, 97.5, false, None), (0.0, 107.0));
        assert_eq!(nice_range(0.21, 0.87, false, None), (0.14, 0.94));
        assert_eq!(nice_range(-40.0, 40.0, true, None), (-48.0, 48.0));
        assert_eq!(nice_range(1013.2, 1040.9, false, None), (1010.0, 1044.0));
        let (lo, hi) = nice_range(5.0, 5.0, true, None);
        assert!(lo < 5.0 && hi > 5.0);
        assert_eq!(nice_range(2013.0, 2013.0, true, None), (1990.0, 2040.0));
        assert_eq!(nice_range(0.0, 1.0, false, None), (0.0, 1.1));
        // A long upper tail (rain: mostly none, a storm's inch) reaches further up than down.
        assert_eq!(nice_range(0.0, 1.2, false, Some((0.0, 0.3))), (0.0, 3.0));
    }

    #[test]
    fn columns_get_few_meaningful_suggestions() {
        let mut id = facts("id", Group::Integer);
        (id.distinct, id.min, id.max) = (1000, Some(1.0), Some(1000.0));
        let mut temp = facts("temp", Group::Float);
        (temp.nulls, temp.distinct, temp.min, temp.max) = (12, 400, Some(10.9), Some(100.0));
        let mut size = facts("size", Group::Text);
        size.distinct = 3;
        size.categories = Some(vec![("S".into(), 500), ("M".into(), 400), ("L".into(), 100)]);
        let mut code = facts("code", Group::Text);
        code.distinct = 900;
        code.shape = Some("^[A-Z]{2}[0-9]{4}$".into());
        let mut rare = facts("rare", Group::Text);
        rare.distinct = 2;
        rare.categories = Some(vec![("a".into(), 998), ("b".into(), 2)]);
        let s = suggest(&[id, temp, size, code, rare], Some(("ts", 30.0)));
        let kinds: Vec<(&str, &str)> = s.iter().map(|s| (s.column.as_deref().unwrap(), s.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("id", "not_null"),
                ("id", "unique"),
                ("temp", "completeness"),
                ("temp", "between"),
                ("size", "not_null"),
                ("size", "in_set"),
                ("code", "not_null"),
                ("code", "match"),
                ("rare", "not_null"),
                ("ts", "watch")
            ]
        );
        assert_eq!(s[0].mostly, 0.997, "1,000 rows without NULL leave room for the rare one");
        let completeness = &s[2];
        assert!(completeness.mostly < 0.988 && completeness.mostly > 0.95, "{}", completeness.mostly);
        assert_eq!(s[3].params, serde_json::json!({"min": 1.0, "max": 109.0}));
    }

    #[test]
    fn shapes_need_a_shared_structure() {
        let codes = ["AB1234", "XY0001", "QZ9876", "AA0000", "BC1111", "CD2222", "DE3333", "EF4444", "FG5555", "GH6666"];
        assert_eq!(infer_shape(&codes).as_deref(), Some("^[A-Z]{2}[0-9]{4}$"));
        let dates = ["2024-01-05", "2023-12-31", "2024-02-29", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01", "2024-07-01", "2024-08-01", "2024-09-01"];
        assert_eq!(infer_shape(&dates).as_deref(), Some("^[0-9]{4}\\-[0-9]{2}\\-[0-9]{2}$"));
        let words = ["apple", "pear", "fig", "plum", "kiwi", "lime", "date", "sloe", "yuzu", "pomelo"];
        assert_eq!(infer_shape(&words), None, "letters alone say nothing");
        let temps = ["<5", "<10", "<20", "<7", "<8", "<9", "<11", "<12", "<13", "<14"];
        let shape = infer_shape(&temps).unwrap();
        assert_eq!(shape, "^[<][0-9]{1,2}$");
        assert!(temps.iter().all(|t| regex::Regex::new(&shape).unwrap().is_match(t)));
        let prices = ["5€", "10€", "20€", "7€", "8€", "9€", "11€", "12€", "13€", "14€"];
        assert_eq!(infer_shape(&prices).as_deref(), Some("^[0-9]{1,2}€$"));
        let mixed = ["A1", "B22", "C-3", "D4", "E5", "F6", "G7", "H8", "I9", "J10"];
        assert_eq!(infer_shape(&mixed), None);
        let people = ["ann.lee@example.com", "bo@mail.co.uk", "c.d.e@x.org", "f_g@h.io", "ii@jj.kk.museum", "l+m@n.de", "o@p.fr", "q.r@s.net", "t@u.it", "v.w.x@y.com"];
        let email = infer_shape(&people).unwrap();
        let re = regex::Regex::new(&email).unwrap();
        assert!(people.iter().all(|p| re.is_match(p)) && !re.is_match("not an email") && !re.is_match("a@b"));
        let emails = ["user36728@example.net", "user18@example.org", "user442@example.com", "user75@example.com", "user12@example.com", "user22@example.org", "user333@example.org", "user4444@example.net", "user55555@example.net", "user91@example.com"];
        assert_eq!(infer_shape(&emails).as_deref(), Some("^[a-z]{4}[0-9]{1,5}\\@[a-z]{7}\\.[a-z]{3}$"));
        let ids = ["1-7", "22-13", "3-9", "4-10", "5-1", "6-2", "7-3", "8-4", "9-5", "10-6"];
        assert_eq!(infer_shape(&ids).as_deref(), Some("^[0-9]{1,2}\\-[0-9]{1,2}$"));
        let re = regex::Regex::new(&infer_shape(&dates).unwrap()).unwrap();
        assert!(dates.iter().all(|d| re.is_match(d)));
    }
}
