//! How pairs of numeric columns are ordered row by row, per window: of the rows where both are
//! finite, in how many the first is below the second and in how many above. Related columns keep
//! their order (dew point at or below temperature, a minimum below its maximum, an end after its
//! start); a load that swaps them, or writes one in other units, turns it over while each column
//! alone may look normal. Counts only, so deltas merge by adding.
//!
//! Which columns are NULL together is counted per column too: in how many rows it was the
//! only NULL (`LoneNulls`). A column that is NULL by nature with others (every time column of a
//! cancelled flight) keeps that near zero however many NULLs a stormy day brings; a load that
//! drops the values of that one column raises it.
//!
//! The pairs are bounded: those among the first MAX_COLUMNS numeric columns a table watches
//! (at most 28), counted in one pass over the statement's rows with the other statistics. Which
//! of them hold a stable order is learned from the table's history when windows are scored.

use super::{put_varint, ProfileError, Reader};

/// Numeric columns whose pairs are counted (8 columns: 28 pairs).
pub const MAX_COLUMNS: usize = 8;

const FORM_PAIRS: u8 = 1;
const FORM_COUNTS: u8 = 2;
const FORM_ONE_ROW: u8 = 3;
/// Columns a serialized form may list (more is corrupt data, not a table).
const MAX_ATTNUMS: usize = 1600;

/// A pair's counts in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Order {
    /// Rows where both values are finite.
    pub both: u64,
    /// Of those, rows where the first is below the second, and above it.
    pub below: u64,
    pub above: u64,
}

impl Order {
    /// Of the rows where the two differ, the share where the first lies below the second: 0 or
    /// 1 for a pair that never crosses (ties, a saturated dew point, do not count). None
    /// without such rows.
    pub fn share_below(&self) -> Option<f64> {
        let differ = self.below + self.above;
        (differ > 0).then(|| self.below as f64 / differ as f64)
    }

    fn add(&mut self, other: &Order) {
        self.both += other.both;
        self.below += other.below;
        self.above += other.above;
    }
}

/// The pairs of one window: (first attnum, second attnum, counts), first < second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairOrders {
    pub pairs: Vec<(i16, i16, Order)>,
}

impl PairOrders {
    /// Empty counts for every pair of `attnums` (ascending, at most MAX_COLUMNS of them).
    pub fn for_columns(attnums: &[i16]) -> PairOrders {
        let mut pairs = Vec::new();
        for (i, &a) in attnums.iter().enumerate() {
            for &b in &attnums[i + 1..] {
                pairs.push((a, b, Order::default()));
            }
        }
        PairOrders { pairs }
    }

    /// One row: `values[i]` of the i-th column given to `for_columns` (NaN when NULL).
    /// Branch-free per pair: a NaN or an infinity (a NULL) counts for none of its pairs.
    #[inline]
    pub fn row(&mut self, values: &[f64]) {
        let mut k = 0;
        for (i, &a) in values.iter().enumerate() {
            let a_finite = a.is_finite() as u64;
            for &b in &values[i + 1..] {
                let Some((_, _, order)) = self.pairs.get_mut(k) else { return };
                k += 1;
                let both = a_finite & b.is_finite() as u64;
                order.both += both;
                order.below += both & (a < b) as u64;
                order.above += both & (a > b) as u64;
            }
        }
    }

    pub fn clear(&mut self) {
        self.pairs.iter_mut().for_each(|p| p.2 = Order::default());
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.iter().all(|p| p.2.both == 0)
    }

    /// Adds `other`'s counts, pair by pair (pairs only one side has are kept).
    pub fn merge(&mut self, other: &PairOrders) {
        for &(a, b, order) in &other.pairs {
            match self.pairs.iter_mut().find(|p| p.0 == a && p.1 == b) {
                Some(p) => p.2.add(&order),
                None => self.pairs.push((a, b, order)),
            }
        }
    }

    /// The columns whose every pair, in `for_columns` order, these are (the usual layout).
    fn columns(&self) -> Option<Vec<i16>> {
        let first = self.pairs.first()?.0;
        let mut columns = vec![first];
        columns.extend(self.pairs.iter().take_while(|p| p.0 == first).map(|p| p.1));
        let all = columns.iter().enumerate().flat_map(|(i, &a)| columns[i + 1..].iter().map(move |&b| (a, b)));
        (all.clone().count() == self.pairs.len() && all.zip(&self.pairs).all(|((a, b), p)| p.0 == a && p.1 == b)).then_some(columns)
    }

    /// Three forms, by the first byte. A single-row write's (the commonest delta) takes two bits
    /// a pair: 7 bytes for 28 pairs, after the 8 columns.
    /// - ONE_ROW: `[n varint] [attnum i16]*n` then per pair 2 bits (0 none, 1 below, 2 above,
    ///   3 equal), four to a byte;
    /// - COUNTS: `[n varint] [attnum i16]*n` then per pair `[both] [below] [above]` varints;
    /// - PAIRS (any other layout): `[pairs varint]` then per pair `[a i16] [b i16]` and the counts.
    pub fn serialize_into(&self, out: &mut Vec<u8>) {
        let put_counts = |out: &mut Vec<u8>, o: &Order| {
            put_varint(out, o.both);
            put_varint(out, o.below);
            put_varint(out, o.above);
        };
        let Some(columns) = self.columns() else {
            out.push(FORM_PAIRS);
            put_varint(out, self.pairs.len() as u64);
            for (a, b, order) in &self.pairs {
                out.extend_from_slice(&a.to_le_bytes());
                out.extend_from_slice(&b.to_le_bytes());
                put_counts(out, order);
            }
            return;
        };
        let one_row = self.pairs.iter().all(|p| p.2.both <= 1);
        out.push(if one_row { FORM_ONE_ROW } else { FORM_COUNTS });
        put_varint(out, columns.len() as u64);
        columns.iter().for_each(|a| out.extend_from_slice(&a.to_le_bytes()));
        if one_row {
            for chunk in self.pairs.chunks(4) {
                let state = |o: &Order| if o.both == 0 { 0 } else if o.below == 1 { 1 } else if o.above == 1 { 2 } else { 3 };
                out.push(chunk.iter().enumerate().fold(0u8, |byte, (i, p)| byte | (state(&p.2) << (2 * i))));
            }
        } else {
            self.pairs.iter().for_each(|p| put_counts(out, &p.2));
        }
    }

    pub fn deserialize(bytes: &[u8]) -> Result<PairOrders, ProfileError> {
        let mut r = Reader(bytes);
        let form = r.take(1)?[0];
        let counts = |r: &mut Reader| -> Result<Order, ProfileError> {
            let order = Order { both: r.varint()?, below: r.varint()?, above: r.varint()? };
            if order.below + order.above > order.both {
                return Err(ProfileError::Sketch("pair order counts exceed their rows".into()));
            }
            Ok(order)
        };
        let attnum = |r: &mut Reader| -> Result<i16, ProfileError> { Ok(i16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes"))) };
        if form == FORM_PAIRS {
            let n = r.varint()? as usize;
            let mut pairs = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let (a, b) = (attnum(&mut r)?, attnum(&mut r)?);
                pairs.push((a, b, counts(&mut r)?));
            }
            return Ok(PairOrders { pairs });
        }
        let n = r.varint()? as usize;
        let columns: Vec<i16> = (0..n.min(MAX_ATTNUMS)).map(|_| attnum(&mut r)).collect::<Result<_, _>>()?;
        let mut orders = PairOrders::for_columns(&columns);
        match form {
            FORM_COUNTS => {
                for p in orders.pairs.iter_mut() {
                    p.2 = counts(&mut r)?;
                }
            }
            FORM_ONE_ROW => {
                let packed = r.take(orders.pairs.len().div_ceil(4))?;
                for (k, p) in orders.pairs.iter_mut().enumerate() {
                    let state = (packed[k / 4] >> (2 * (k % 4))) & 3;
                    p.2 = Order { both: (state > 0) as u64, below: (state == 1) as u64, above: (state == 2) as u64 };
                }
            }
            other => return Err(ProfileError::BadVersion(other)),
        }
        Ok(orders)
    }
}

/// What a window holds of the relationships between its columns (a payload's frames under
/// window::RELATIONS_ATTNUM and window::LONE_NULLS_ATTNUM; either may be absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relations {
    pub orders: PairOrders,
    pub lone_nulls: Option<LoneNulls>,
    /// Of a distributed table: the window's rows per data node (every node that holds rows of
    /// the table in any window, 0 where it sent none). A node whose share drops is one source
    /// missing from a load, whatever the other nodes' volume does.
    pub sources: Vec<(String, u64)>,
    /// Of a distributed table: per data node and column, how far the node's values lie from
    /// the other nodes' in the window (Jensen-Shannon distance). Nodes differ by nature (a
    /// node per region); one whose distance jumps is one source broken while its volume holds.
    pub divergence: Vec<(String, i16, f64)>,
}

impl Relations {
    pub fn merge(&mut self, other: &Relations) {
        for (source, rows) in &other.sources {
            match self.sources.iter_mut().find(|s| s.0 == *source) {
                Some(mine) => mine.1 += rows,
                None => self.sources.push((source.clone(), *rows)),
            }
        }
        self.orders.merge(&other.orders);
        match (&mut self.lone_nulls, &other.lone_nulls) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, Some(theirs)) => *mine = Some(theirs.clone()),
            _ => {}
        }
    }
}

/// Per watched column (by attnum): the rows of one window where it was the only NULL among
/// the watched columns. Counts only, merged by adding; serialized as `[n varint]
/// ([attnum i16] [rows varint])*`, columns with none left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoneNulls {
    pub counts: Vec<(i16, u64)>,
}

impl LoneNulls {
    /// Empty counts for `attnums` (every watched column, in the order rows are given).
    pub fn for_columns(attnums: &[i16]) -> LoneNulls {
        LoneNulls { counts: attnums.iter().map(|&a| (a, 0)).collect() }
    }

    /// A row whose only NULL was the column at position `i` of `for_columns`.
    #[inline]
    pub fn lone(&mut self, i: usize) {
        if let Some(c) = self.counts.get_mut(i) {
            c.1 += 1;
        }
    }

    pub fn clear(&mut self) {
        self.counts.iter_mut().for_each(|c| c.1 = 0);
    }

    /// The rows where `attnum` was the only NULL (0 for a column not listed).
    pub fn of(&self, attnum: i16) -> u64 {
        self.counts.iter().find(|c| c.0 == attnum).map_or(0, |c| c.1)
    }

    pub fn merge(&mut self, other: &LoneNulls) {
        for &(a, n) in &other.counts {
            match self.counts.iter_mut().find(|c| c.0 == a) {
                Some(c) => c.1 += n,
                None => self.counts.push((a, n)),
            }
        }
    }

    pub fn serialize_into(&self, out: &mut Vec<u8>) {
        let listed = || self.counts.iter().filter(|c| c.1 > 0);
        put_varint(out, listed().count() as u64);
        for &(a, n) in listed() {
            out.extend_from_slice(&a.to_le_bytes());
            put_varint(out, n);
        }
    }

    pub fn deserialize(bytes: &[u8]) -> Result<LoneNulls, ProfileError> {
        let mut r = Reader(bytes);
        let n = r.varint()? as usize;
        if n > MAX_ATTNUMS {
            return Err(ProfileError::Sketch("more lone NULL counts than columns".into()));
        }
        let mut counts = Vec::with_capacity(n);
        for _ in 0..n {
            let attnum = i16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes"));
            counts.push((attnum, r.varint()?));
        }
        Ok(LoneNulls { counts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_per_pair_and_merge_by_adding() {
        let mut x = PairOrders::for_columns(&[2, 3, 5]);
        x.row(&[1.0, 2.0, 0.0]);
        x.row(&[3.0, 2.0, f64::NAN]);
        x.row(&[2.0, 2.0, f64::INFINITY]);
        // (2,3): below, above, tie; (2,5): above; (3,5): above.
        assert_eq!(x.pairs[0], (2, 3, Order { both: 3, below: 1, above: 1 }));
        assert_eq!(x.pairs[1], (2, 5, Order { both: 1, below: 0, above: 1 }));
        assert_eq!(x.pairs[2], (3, 5, Order { both: 1, below: 0, above: 1 }));
        assert_eq!(x.pairs[0].2.share_below(), Some(0.5));
        assert_eq!(x.pairs[1].2.share_below(), Some(0.0));
        let mut bytes = Vec::new();
        x.serialize_into(&mut bytes);
        let mut back = PairOrders::deserialize(&bytes).unwrap();
        assert_eq!(back, x);
        back.merge(&x);
        assert_eq!(back.pairs[0].2, Order { both: 6, below: 2, above: 2 });
        assert!(PairOrders::deserialize(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn every_form_round_trips() {
        let round_trip = |x: &PairOrders| {
            let mut bytes = Vec::new();
            x.serialize_into(&mut bytes);
            (PairOrders::deserialize(&bytes).unwrap(), bytes.len())
        };
        // One row of 8 columns: 2 bits a pair after the columns.
        let mut one = PairOrders::for_columns(&[1, 2, 3, 4, 5, 6, 7, 8]);
        one.row(&[1.0, 2.0, 2.0, f64::NAN, 0.0, 9.0, -1.0, 3.0]);
        let (back, size) = round_trip(&one);
        assert_eq!(back, one);
        assert_eq!(size, 1 + 1 + 16 + 7);
        // Counts, and a layout that is not every pair of a column list (merged from two).
        one.row(&[2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(round_trip(&one).0, one);
        let mut odd = PairOrders::for_columns(&[1, 2]);
        odd.merge(&PairOrders::for_columns(&[5, 9]));
        odd.row(&[1.0, 0.0]);
        assert_eq!(round_trip(&odd).0, odd);
    }

    #[test]
    fn lone_nulls_count_merge_and_round_trip() {
        let mut x = LoneNulls::for_columns(&[1, 4, 6]);
        x.lone(1);
        x.lone(1);
        x.lone(9); // no such column: ignored
        let mut bytes = Vec::new();
        x.serialize_into(&mut bytes);
        // Only the column with lone NULLs is written.
        assert_eq!(bytes.len(), 1 + 2 + 1);
        let mut back = LoneNulls::deserialize(&bytes).unwrap();
        assert_eq!((back.of(4), back.of(1), back.of(6)), (2, 0, 0));
        let mut y = LoneNulls::for_columns(&[1, 4, 6]);
        y.lone(0);
        back.merge(&y);
        assert_eq!((back.of(4), back.of(1)), (2, 1));
        assert!(LoneNulls::deserialize(&bytes[..bytes.len() - 1]).is_err());
    }
}
