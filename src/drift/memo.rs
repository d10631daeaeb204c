//! A scored window as kept between evaluations: its drift from the reference per column, the
//! statistics it was scored on and their raw scores. While the window and those before it do
//! not change, these are what recomputing them would give (`score::raw_scores`), so scoring a
//! new window reads them instead of merging and comparing a year of profiles again.
//!
//! Columns are kept by attnum (names are resolved on reading, so a renamed column keeps its
//! history); the caller maps its pseudo-columns (the row count) to attnums of their own.

use super::compare::DriftReport;
use super::score::{statistic_code, ColumnObservations, ColumnScore, Observation, WindowObservations, STATISTICS};

const VERSION: u8 = 2;
const COMPARED_TO: [&str; 3] = ["none", "baseline", "history"];

/// One scored window.
#[derive(Debug, Clone, PartialEq)]
pub struct Memo {
    /// Per watched column: (attnum, what it was compared with, its drift).
    pub drift: Vec<(i16, &'static str, DriftReport)>,
    pub observations: WindowObservations,
    /// Raw scores (`score::raw_scores`) of its statistics.
    pub raws: Vec<ColumnScore>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemoError(&'static str);

impl std::fmt::Display for MemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unreadable scoring memo: {}", self.0)
    }
}

fn report_fields(r: &DriftReport) -> [Option<f64>; 9] {
    [r.psi, r.js_distance, r.ks_statistic, r.wasserstein_norm, r.linf, r.chi2_pvalue, r.null_fraction_delta, r.new_category_fraction, r.new_value_fraction]
}

fn put_f64(out: &mut Vec<u8>, v: Option<f64>) {
    out.extend_from_slice(&v.unwrap_or(f64::NAN).to_le_bytes());
}

/// Encodes a memo from its parts (see `Memo`); `attnum_of` maps a column name to its attnum
/// (the caller's pseudo-columns included). Statistics of columns it does not know are left out.
pub fn encode(
    drift: &[(i16, &'static str, DriftReport)],
    observations: &WindowObservations,
    raws: &[ColumnScore],
    attnum_of: &dyn Fn(&str) -> Option<i16>,
) -> Vec<u8> {
    let mut out = vec![VERSION];
    out.extend_from_slice(&(drift.len() as u16).to_le_bytes());
    for (attnum, compared_to, report) in drift {
        out.extend_from_slice(&attnum.to_le_bytes());
        out.push(COMPARED_TO.iter().position(|c| c == compared_to).unwrap_or(0) as u8);
        report_fields(report).into_iter().for_each(|v| put_f64(&mut out, v));
    }
    let columns: Vec<(i16, &ColumnObservations)> =
        observations.columns.iter().filter_map(|c| Some((attnum_of(&c.column)?, c))).collect();
    out.extend_from_slice(&(columns.len() as u16).to_le_bytes());
    for (attnum, column) in columns {
        out.extend_from_slice(&attnum.to_le_bytes());
        put_f64(&mut out, column.spread);
        let known: Vec<(u8, f64)> = column.observations.iter().filter_map(|o| Some((statistic_code(o.statistic)?, o.value))).collect();
        out.push(known.len() as u8);
        for (code, value) in known {
            out.push(code);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    let raws: Vec<(i16, u8, &ColumnScore)> =
        raws.iter().filter_map(|r| Some((attnum_of(&r.column)?, statistic_code(r.statistic)?, r))).collect();
    out.extend_from_slice(&(raws.len() as u32).to_le_bytes());
    for (attnum, code, raw) in raws {
        out.extend_from_slice(&attnum.to_le_bytes());
        out.push(code);
        out.extend_from_slice(&raw.value.to_le_bytes());
        out.extend_from_slice(&raw.raw.to_le_bytes());
        out.extend_from_slice(&raw.usual.to_le_bytes());
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], MemoError> {
        if self.0.len() < N {
            return Err(MemoError("truncated"));
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        Ok(head.try_into().expect("N bytes"))
    }
    fn u8(&mut self) -> Result<u8, MemoError> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, MemoError> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    fn i16(&mut self) -> Result<i16, MemoError> {
        Ok(i16::from_le_bytes(self.take()?))
    }
    fn u32(&mut self) -> Result<u32, MemoError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn f64(&mut self) -> Result<f64, MemoError> {
        Ok(f64::from_le_bytes(self.take()?))
    }
    fn optional(&mut self) -> Result<Option<f64>, MemoError> {
        Ok(Some(self.f64()?).filter(|v| !v.is_nan()))
    }
    fn statistic(&mut self) -> Result<&'static str, MemoError> {
        STATISTICS.get(self.u8()? as usize).map(|s| s.0).ok_or(MemoError("unknown statistic"))
    }
}

/// Decodes a memo of the window at `start`; `name_of` maps an attnum to the column's current
/// name (0: the row count); columns without one (dropped since) are left out.
pub fn decode(bytes: &[u8], start: i64, valid: bool, name_of: &dyn Fn(i16) -> Option<String>) -> Result<Memo, MemoError> {
    let mut r = Reader(bytes);
    if r.u8()? != VERSION {
        return Err(MemoError("unknown version"));
    }
    let mut drift = Vec::new();
    for _ in 0..r.u16()? {
        let attnum = r.i16()?;
        let compared_to = *COMPARED_TO.get(r.u8()? as usize).ok_or(MemoError("unknown reference"))?;
        let mut f = [None; 9];
        for v in f.iter_mut() {
            *v = r.optional()?;
        }
        let [psi, js_distance, ks_statistic, wasserstein_norm, linf, chi2_pvalue, null_fraction_delta, new_category_fraction, new_value_fraction] = f;
        let report = DriftReport {
            psi,
            js_distance,
            ks_statistic,
            wasserstein_norm,
            linf,
            chi2_pvalue,
            null_fraction_delta,
            new_category_fraction,
            new_value_fraction,
        };
        drift.push((attnum, compared_to, report));
    }
    let mut columns = Vec::new();
    for _ in 0..r.u16()? {
        let attnum = r.i16()?;
        let spread = r.optional()?;
        let mut observations = Vec::new();
        for _ in 0..r.u8()? {
            let statistic = r.statistic()?;
            observations.push(Observation::of(statistic, r.f64()?));
        }
        if let Some(column) = name_of(attnum) {
            columns.push(ColumnObservations { column, spread, observations });
        }
    }
    let mut raws = Vec::new();
    for _ in 0..r.u32()? {
        let attnum = r.i16()?;
        let statistic = r.statistic()?;
        let (value, raw, usual) = (r.f64()?, r.f64()?, r.f64()?);
        if let Some(column) = name_of(attnum) {
            raws.push(ColumnScore { column, score: 0.0, raw, statistic, value, usual });
        }
    }
    if !r.0.is_empty() {
        return Err(MemoError("trailing bytes"));
    }
    Ok(Memo { drift, observations: WindowObservations { start, valid, columns }, raws })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::score::{raw_scores, score_windows, judge};

    fn names(attnum: i16) -> Option<String> {
        match attnum {
            0 => Some("(row count)".into()),
            1..=3 => Some(format!("c{attnum}")),
            _ => None,
        }
    }

    fn attnums(name: &str) -> Option<i16> {
        if name == "(row count)" {
            return Some(0);
        }
        name.strip_prefix('c')?.parse().ok()
    }

    fn window(day: i64) -> WindowObservations {
        let wobble = ((day * 7919) % 13) as f64 / 13.0;
        let column = |c: i16, mean: f64| ColumnObservations {
            column: format!("c{c}"),
            spread: Some(2.0),
            observations: vec![Observation::of("mean", mean + wobble), Observation::of("null_fraction", 0.01 * wobble)],
        };
        let mut columns = vec![ColumnObservations {
            column: "(row count)".into(),
            spread: None,
            observations: vec![Observation::of("row_count", (1000.0 + 50.0 * wobble).ln())],
        }];
        columns.extend((1..=3).map(|c| column(c, 10.0 * c as f64 + if day == 40 && c == 2 { 30.0 } else { 0.0 })));
        WindowObservations { start: day, valid: true, columns }
    }

    #[test]
    fn memos_round_trip_and_scores_from_them_equal_scores_from_scratch() {
        let windows: Vec<WindowObservations> = (0..45).map(window).collect();
        let raws = raw_scores(&windows, 0);
        let report = DriftReport { js_distance: Some(0.125), psi: Some(0.5), ..Default::default() };
        let memos: Vec<Memo> = windows
            .iter()
            .zip(&raws)
            .map(|(w, r)| Memo { drift: vec![(1, "history", report.clone()), (2, "none", DriftReport::default())], observations: w.clone(), raws: r.clone() })
            .collect();
        let decoded: Vec<Memo> =
            memos.iter().map(|m| decode(&encode(&m.drift, &m.observations, &m.raws, &attnums), m.observations.start, true, &names).unwrap()).collect();
        assert_eq!(decoded, memos);
        // The first 40 windows from memos, the rest scored fresh: the same scores as from scratch.
        let observed: Vec<WindowObservations> = decoded.iter().map(|m| m.observations.clone()).collect();
        let mut combined: Vec<Vec<ColumnScore>> = decoded[..40].iter().map(|m| m.raws.clone()).collect();
        combined.extend(raw_scores(&observed, 40));
        let scores = judge(&observed, &combined);
        assert_eq!(scores, score_windows(&windows));
        assert_eq!(scores[40].status, crate::drift::score::Status::Alert);
        assert_eq!(scores[40].columns[0].column, "c2");
    }

    #[test]
    fn bad_memos_are_refused_and_dropped_columns_left_out() {
        let memo = Memo { drift: Vec::new(), observations: window(3), raws: Vec::new() };
        let bytes = encode(&memo.drift, &memo.observations, &memo.raws, &attnums);
        assert!(decode(&bytes[..bytes.len() - 1], 3, true, &names).is_err());
        assert!(decode(&[9], 3, true, &names).is_err());
        let without_c3 = decode(&bytes, 3, true, &|a| if a == 3 { None } else { names(a) }).unwrap();
        assert_eq!(without_c3.observations.columns.len(), 3);
    }
}
