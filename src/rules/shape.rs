//! Expectations on a table's shape: its set or ordered list of columns, how many it has, and
//! whether one exists (at a position). Great Expectations' semantics for the expectations of the
//! same names. Judged from the catalog when rules are compiled (a DDL change recompiles them),
//! so a write batch pays nothing for them.

use super::RuleError;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    /// GE: expect_table_columns_to_match_set (exact_match: no other columns either).
    ColumnsMatchSet,
    /// GE: expect_table_columns_to_match_ordered_list.
    ColumnsMatchList,
    /// GE: expect_table_column_count_to_be_between / _to_equal.
    ColumnCountBetween,
    /// GE: expect_column_to_exist (column_index: its 0-based position).
    ColumnExists,
}

pub const ALL_SHAPES: [ShapeKind; 4] =
    [ShapeKind::ColumnsMatchSet, ShapeKind::ColumnsMatchList, ShapeKind::ColumnCountBetween, ShapeKind::ColumnExists];

impl ShapeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ShapeKind::ColumnsMatchSet => "columns_match_set",
            ShapeKind::ColumnsMatchList => "columns_match_list",
            ShapeKind::ColumnCountBetween => "column_count_between",
            ShapeKind::ColumnExists => "column_exists",
        }
    }

    pub fn parse(s: &str) -> Option<ShapeKind> {
        ALL_SHAPES.iter().copied().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShapeSpec {
    /// The expected columns (set or list), or the one column that must exist; None: GE's null.
    pub columns: Option<Vec<String>>,
    pub exact_match: bool,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub column_index: Option<i64>,
}

pub fn validate(kind: ShapeKind, spec: &ShapeSpec) -> Result<(), RuleError> {
    match kind {
        ShapeKind::ColumnCountBetween => {
            for b in [spec.min, spec.max].into_iter().flatten() {
                if b < 0 {
                    return Err(RuleError::InvalidParameter(format!("column counts are not negative, got {b}")));
                }
            }
            match (spec.min, spec.max) {
                (Some(a), Some(b)) if a > b => Err(RuleError::InvalidParameter(format!("min ({a}) is greater than max ({b})"))),
                _ => Ok(()),
            }
        }
        ShapeKind::ColumnExists => {
            if spec.columns.as_ref().is_none_or(|c| c.len() != 1) {
                return Err(RuleError::NullValue("col must not be NULL".into()));
            }
            match spec.column_index {
                Some(i) if i < 0 => Err(RuleError::InvalidParameter(format!("column_index counts from 0, got {i}"))),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Judges a table's columns (in order): GE's success and its observed value (with the
/// mismatched columns for sets).
pub fn judge(kind: ShapeKind, spec: &ShapeSpec, actual: &[String]) -> (bool, serde_json::Value) {
    match kind {
        ShapeKind::ColumnsMatchSet => {
            let expected = spec.columns.as_deref().unwrap_or(&[]);
            let missing: Vec<&String> = expected.iter().filter(|c| !actual.contains(c)).collect();
            let unexpected: Vec<&String> = actual.iter().filter(|c| !expected.contains(c)).collect();
            // GE: a NULL set is vacuously matched unless the match must be exact.
            let success = missing.is_empty() && (unexpected.is_empty() || !spec.exact_match);
            let mut mismatched = serde_json::Map::new();
            if !missing.is_empty() {
                mismatched.insert("missing".into(), json!(missing));
            }
            if !unexpected.is_empty() {
                mismatched.insert("unexpected".into(), json!(unexpected));
            }
            (success, json!({"observed_value": actual, "mismatched": mismatched}))
        }
        ShapeKind::ColumnsMatchList => {
            let success = spec.columns.as_deref().is_none_or(|expected| expected == actual);
            (success, json!({"observed_value": actual}))
        }
        ShapeKind::ColumnCountBetween => {
            let n = actual.len() as i64;
            let success = spec.min.is_none_or(|m| n >= m) && spec.max.is_none_or(|m| n <= m);
            (success, json!({"observed_value": n}))
        }
        ShapeKind::ColumnExists => {
            let name = spec.columns.as_ref().and_then(|c| c.first());
            let at = name.and_then(|n| actual.iter().position(|c| c == n));
            let success = match (at, spec.column_index) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(i), Some(want)) => i as i64 == want,
            };
            (success, json!({"observed_value": at}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn column_sets_follow_ge() {
        let actual = cols(&["c1", "c2", "c3"]);
        let set = |c: Option<&[&str]>, exact| ShapeSpec { columns: c.map(cols), exact_match: exact, ..Default::default() };
        assert!(judge(ShapeKind::ColumnsMatchSet, &set(Some(&["c3", "c2", "c1"]), true), &actual).0);
        assert!(!judge(ShapeKind::ColumnsMatchSet, &set(Some(&["c1", "c2"]), true), &actual).0);
        assert!(judge(ShapeKind::ColumnsMatchSet, &set(Some(&["c1", "c2"]), false), &actual).0);
        let (ok, observed) = judge(ShapeKind::ColumnsMatchSet, &set(Some(&["b1", "c2", "c3"]), false), &actual);
        assert!(!ok);
        assert_eq!(observed["mismatched"], json!({"missing": ["b1"], "unexpected": ["c1"]}));
        assert!(!judge(ShapeKind::ColumnsMatchSet, &set(None, true), &actual).0);
        assert!(judge(ShapeKind::ColumnsMatchSet, &set(None, false), &actual).0);
    }

    #[test]
    fn lists_counts_and_existence() {
        let actual = cols(&["c1", "c2", "c3"]);
        let list = |c: Option<&[&str]>| ShapeSpec { columns: c.map(cols), ..Default::default() };
        assert!(judge(ShapeKind::ColumnsMatchList, &list(Some(&["c1", "c2", "c3"])), &actual).0);
        assert!(!judge(ShapeKind::ColumnsMatchList, &list(Some(&["c3", "c2", "c1"])), &actual).0);
        assert!(judge(ShapeKind::ColumnsMatchList, &list(None), &actual).0);
        let count = |min, max| ShapeSpec { min, max, ..Default::default() };
        assert!(judge(ShapeKind::ColumnCountBetween, &count(Some(3), Some(3)), &actual).0);
        assert!(!judge(ShapeKind::ColumnCountBetween, &count(Some(4), None), &actual).0);
        assert!(validate(ShapeKind::ColumnCountBetween, &count(Some(1), Some(0))).is_err());
        let exists = |c: &str, i| ShapeSpec { columns: Some(cols(&[c])), column_index: i, ..Default::default() };
        assert!(judge(ShapeKind::ColumnExists, &exists("c2", Some(1)), &actual).0);
        assert!(!judge(ShapeKind::ColumnExists, &exists("c3", Some(4)), &actual).0);
        assert!(!judge(ShapeKind::ColumnExists, &exists("covfefe", None), &actual).0);
    }
}
