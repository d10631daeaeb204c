//! How pairs of numeric columns are ordered row by row, per window: of the rows where both are
//! finite, in how many the first is below the second and in how many above. Related columns keep
//! their order (dew point at or below temperature, a minimum below its maximum, an end after its
//! start); a load that swaps them, or writes one in other units, turns it over while each column
//! alone may look normal. Counts only, so deltas merge by adding.
//!
//! The pairs are bounded: those among the first MAX_COLUMNS numeric columns a table watches
//! (at most 28), counted in one pass over the statement's rows with the other statistics. Which
//! of them hold a stable order is learned from the table's history when windows are scored.

use super::{put_varint, ProfileError, Reader};

/// Numeric columns whose pairs are counted (8 columns: 28 pairs).
pub const MAX_COLUMNS: usize = 8;

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
    #[inline]
    pub fn row(&mut self, values: &[f64]) {
        let mut pair = self.pairs.iter_mut();
        for (i, &a) in values.iter().enumerate() {
            for &b in &values[i + 1..] {
                let Some((_, _, order)) = pair.next() else { return };
                // NaN and infinities compare as not finite: the row does not count for the pair.
                if (a - b).is_finite() {
                    order.both += 1;
                    order.below += (a < b) as u64;
                    order.above += (a > b) as u64;
                }
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

    /// `[n varint] ([a i16] [b i16] [both varint] [below varint] [above varint])*`
    pub fn serialize_into(&self, out: &mut Vec<u8>) {
        put_varint(out, self.pairs.len() as u64);
        for &(a, b, order) in &self.pairs {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
            put_varint(out, order.both);
            put_varint(out, order.below);
            put_varint(out, order.above);
        }
    }

    pub fn deserialize(bytes: &[u8]) -> Result<PairOrders, ProfileError> {
        let mut r = Reader(bytes);
        let n = r.varint()? as usize;
        let mut pairs = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let a = i16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes"));
            let b = i16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes"));
            let order = Order { both: r.varint()?, below: r.varint()?, above: r.varint()? };
            if order.below + order.above > order.both {
                return Err(ProfileError::Sketch("pair order counts exceed their rows".into()));
            }
            pairs.push((a, b, order));
        }
        Ok(PairOrders { pairs })
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
}
