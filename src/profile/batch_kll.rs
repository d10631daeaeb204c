//! Inserting a large batch into a KLL sketch at once.
//!
//! Written by hand because no crate offers it: the `datasketches` KLL takes one value per update
//! (about 34 ns each, most of a write's profiling cost). A batch that is already sorted can be
//! compacted the way KLL's own compactors would: keep every 2^h-th value from a random offset,
//! each standing for 2^h values. The result is written as a DataSketches KLL image (the format
//! all DataSketches libraries share, so the crate validates it: weights must sum to n) and merged.
//! The kept values misplace any rank by less than 2^h out of n, i.e. by at most 1/k of the batch,
//! on top of the sketch's own error.

use datasketches::kll::{KllFloat, KllSketch};

const FAMILY_KLL: u8 = 15;
const SERIAL_VERSION: u8 = 1;
const PREAMBLE_INTS_FULL: u8 = 5;
const FLAG_LEVEL_ZERO_SORTED: u8 = 1 << 1;
/// KLL's minimum level capacity (DataSketches' default m).
const MIN_LEVEL_CAPACITY: u32 = 8;

/// DataSketches' KLL level capacity: k · (2/3)^depth, rounded, at least m.
fn level_capacity(k: u16, depth: usize) -> u32 {
    // Integer form of the reference implementation: ((k << (depth + 1)) / 3^depth + 1) >> 1.
    let shallow = |k: u64, depth: usize| ((k << (depth + 1)) / 3u64.pow(depth as u32) + 1) >> 1;
    let capacity = if depth <= 30 {
        shallow(k as u64, depth)
    } else {
        shallow(shallow(k as u64, depth / 2), depth - depth / 2)
    };
    (capacity as u32).max(MIN_LEVEL_CAPACITY)
}

fn total_capacity(k: u16, num_levels: usize) -> u32 {
    (0..num_levels).map(|level| level_capacity(k, num_levels - level - 1)).sum()
}

/// A small deterministic generator for the compaction offsets (SplitMix64).
#[derive(Debug, Clone)]
pub struct Offsets(u64);

impl Offsets {
    pub fn new(seed: u64) -> Self {
        Offsets(seed)
    }
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        super::mix64(self.0) % bound
    }
}

/// Sorts finite values ascending, exactly, for [`sketch_of_sorted`].
///
/// A radix sort on a 16-bit key scaled to the batch's range moves each value twice instead of
/// the 8 times a 64-bit key needs; keys are non-decreasing in the value, so only values closer
/// than 2^-16 of the range can be left out of order, and an insertion pass puts them right
/// (a 4,096-value chunk has few such neighbours). When an outlier squeezes the rest into few
/// keys the pass gives up and a full radix sort on the values does the work.
pub fn sort_values(values: &mut [f64], min: f64, max: f64) {
    let scale = u16::MAX as f64 / (max - min);
    if scale.is_finite() && scale > 0.0 {
        // `as` saturates, so rounding at the ends cannot wrap.
        radsort::sort_by_key(values, |&x| ((x - min) * scale) as u16);
        if insertion_pass(values, 2 * values.len()) {
            return;
        }
    }
    radsort::sort(values);
}

/// Insertion sort of nearly sorted `values`; false (and `values` unsorted) once it would move
/// values more than `budget` places in all.
fn insertion_pass(values: &mut [f64], mut budget: usize) -> bool {
    for i in 1..values.len() {
        let x = values[i];
        let mut j = i;
        while j > 0 && values[j - 1] > x {
            if budget == 0 {
                values[j] = x; // still a permutation of the input
                return false;
            }
            budget -= 1;
            values[j] = values[j - 1];
            j -= 1;
        }
        values[j] = x;
    }
    true
}

/// A KLL sketch of `sorted` (ascending, no NaN, at least two values) holding at most about k
/// items, built without one update per value.
pub fn sketch_of_sorted(sorted: &[f64], k: u16, offsets: &mut Offsets) -> KllSketch<KllFloat<f64>> {
    let n = sorted.len() as u64;
    debug_assert!(n >= 2 && sorted.windows(2).all(|w| w[0] <= w[1]));
    // The lowest level h at which the batch fits the top level's capacity k.
    let mut h = 0usize;
    while (n >> h) > k as u64 {
        h += 1;
    }
    let step = 1u64 << h;
    let kept = n >> h;
    let remainder = n - (kept << h);
    let mut levels: Vec<Vec<f64>> = vec![Vec::new(); h + 1];
    let start = offsets.below(step);
    levels[h] = (0..kept).map(|j| sorted[(start + j * step) as usize]).collect();
    // The values the top level does not stand for are represented by one value per set bit of
    // the remainder, at the level of that bit, so the weights add up to n exactly.
    for (bit, level) in levels.iter_mut().enumerate().take(h) {
        if remainder & (1 << bit) != 0 {
            level.push(sorted[offsets.below(n) as usize]);
        }
    }
    let num_levels = levels.len();
    let retained: u32 = levels.iter().map(|l| l.len() as u32).sum();
    let capacity = total_capacity(k, num_levels);
    debug_assert!(retained <= capacity);

    let mut image = Vec::with_capacity(20 + 4 * num_levels + 16 + 8 * retained as usize);
    image.extend_from_slice(&[PREAMBLE_INTS_FULL, SERIAL_VERSION, FAMILY_KLL, FLAG_LEVEL_ZERO_SORTED]);
    image.extend_from_slice(&k.to_le_bytes());
    image.extend_from_slice(&[MIN_LEVEL_CAPACITY as u8, 0]);
    image.extend_from_slice(&n.to_le_bytes());
    image.extend_from_slice(&k.to_le_bytes()); // min_k
    image.extend_from_slice(&[num_levels as u8, 0]);
    let mut offset = capacity - retained;
    for level in &levels {
        image.extend_from_slice(&offset.to_le_bytes());
        offset += level.len() as u32;
    }
    image.extend_from_slice(&sorted[0].to_le_bytes());
    image.extend_from_slice(&sorted[sorted.len() - 1].to_le_bytes());
    for value in levels.iter().flatten() {
        image.extend_from_slice(&value.to_le_bytes());
    }
    KllSketch::deserialize(&image).expect("a well-formed KLL image")
}

const FLAG_EMPTY: u8 = 1 << 0;
const FLAG_SINGLE_ITEM: u8 = 1 << 2;

/// The retained values of a KLL sketch with their weights (2^level), sorted by value, read
/// from its image: the crate answers rank queries one binary search at a time, while drift
/// metrics need one pass over both sorted distributions. Levels above 0 are sorted in the
/// image, so sorting level 0 and merging the runs is all the sorting needed.
pub fn weighted_values(sketch: &KllSketch<KllFloat<f64>>) -> Vec<(f64, u64)> {
    let image = sketch.serialize();
    let f64_at = |at: usize| f64::from_le_bytes(image[at..at + 8].try_into().expect("8 bytes"));
    let flags = image[3];
    if flags & FLAG_EMPTY != 0 {
        return Vec::new();
    }
    if flags & FLAG_SINGLE_ITEM != 0 {
        return vec![(f64_at(8), 1)];
    }
    let num_levels = image[18] as usize;
    let offset_at = |level: usize| u32::from_le_bytes(image[20 + 4 * level..24 + 4 * level].try_into().expect("4 bytes"));
    let items_start = 20 + 4 * num_levels + 16; // after the offsets, the min and the max
    let retained = (image.len() - items_start) / 8;
    let mut merged: Vec<(f64, u64)> = Vec::new();
    // From the top level (fewest values) down, each level merged into what is above it.
    for level in (0..num_levels).rev() {
        let first = (offset_at(level) - offset_at(0)) as usize;
        let end = if level + 1 < num_levels { (offset_at(level + 1) - offset_at(0)) as usize } else { retained };
        let mut run: Vec<f64> = (first..end).map(|i| f64_at(items_start + 8 * i)).collect();
        if level == 0 && flags & FLAG_LEVEL_ZERO_SORTED == 0 {
            run.sort_unstable_by(f64::total_cmp);
        }
        merged = merge_runs(&merged, &run, 1u64 << level);
    }
    merged
}

/// Merges sorted `values` of one weight into the sorted weighted list `above`.
fn merge_runs(above: &[(f64, u64)], values: &[f64], weight: u64) -> Vec<(f64, u64)> {
    let mut out = Vec::with_capacity(above.len() + values.len());
    let (mut i, mut j) = (0, 0);
    while i < above.len() && j < values.len() {
        if above[i].0 <= values[j] {
            out.push(above[i]);
            i += 1;
        } else {
            out.push((values[j], weight));
            j += 1;
        }
    }
    out.extend_from_slice(&above[i..]);
    out.extend(values[j..].iter().map(|&v| (v, weight)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasketches::common::SearchCriteria;

    #[test]
    fn weighted_values_read_the_image_back() {
        let mut offsets = Offsets::new(3);
        let sorted: Vec<f64> = (0..10_000).map(|i| i as f64).collect();
        let sketch = sketch_of_sorted(&sorted, 200, &mut offsets);
        let values = weighted_values(&sketch);
        assert_eq!(values.iter().map(|v| v.1).sum::<u64>(), 10_000);
        assert_eq!(values.len(), sketch.num_retained());
        assert!(values.windows(2).all(|w| w[0].0 <= w[1].0), "sorted by value");
        let mut one: KllSketch<KllFloat<f64>> = KllSketch::new(200).unwrap();
        assert!(weighted_values(&one).is_empty());
        one.update(KllFloat::<f64>::new(2.5).unwrap());
        assert_eq!(weighted_values(&one), vec![(2.5, 1)]);
    }

    #[test]
    fn sort_values_is_exact_whatever_the_spread() {
        let mut offsets = Offsets::new(11);
        let noisy: Vec<f64> = (0..4096).map(|_| offsets.below(1 << 40) as f64 / (1u64 << 40) as f64 - 0.5).collect();
        let cases: Vec<Vec<f64>> = vec![
            noisy.clone(),
            // Near-equal values: many share a 32-bit key of an absolute scale, never of this one.
            noisy.iter().map(|x| 1.0e6 + x * 1.0e-6).collect(),
            // One outlier squeezes the rest into key 0: the finishing sort does the work.
            noisy.iter().enumerate().map(|(i, x)| if i == 7 { 1.0e300 } else { *x }).collect(),
            noisy.iter().map(|x| if *x < 0.0 { -1.0e308 } else { 1.0e308 }).collect(),
            vec![3.25; 4096],
            vec![-0.0, 0.0, -0.0, 1.0, -1.0],
        ];
        for mut values in cases {
            let mut expected = values.clone();
            expected.sort_by(f64::total_cmp);
            let (min, max) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            sort_values(&mut values, min, max);
            assert!(values.windows(2).all(|w| w[0] <= w[1]), "sorted");
            // Equal as multisets (-0.0 and 0.0 compare equal, so compare by value order).
            assert!(values.iter().zip(&expected).all(|(a, b)| a == b));
        }
    }

    #[test]
    fn capacities_match_the_library() {
        // The crate rejects an image whose first offset exceeds its own capacity, and checks
        // that weights sum to n: building images of every shape proves the formula agrees.
        let mut offsets = Offsets::new(1);
        for n in [2usize, 3, 299, 300, 301, 599, 600, 601, 1_000, 4_097, 65_536, 1_000_003] {
            let sorted: Vec<f64> = (0..n).map(|i| i as f64).collect();
            for k in [8u16, 200, 300] {
                let sketch = sketch_of_sorted(&sorted, k, &mut offsets);
                assert_eq!(sketch.n(), n as u64);
                assert!(sketch.num_retained() <= k as usize + 20, "n {n} k {k}: {}", sketch.num_retained());
            }
        }
        assert_eq!(level_capacity(200, 0), 200);
        assert_eq!(level_capacity(200, 1), 133);
        assert_eq!(level_capacity(200, 40), MIN_LEVEL_CAPACITY);
    }

    #[test]
    fn batch_sketches_keep_ranks_within_a_kth() {
        let n = 1_000_000usize;
        let sorted: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut offsets = Offsets::new(7);
        let k = 300u16;
        let mut merged: KllSketch<KllFloat<f64>> = KllSketch::new(k).unwrap();
        // Ten batches of 100,000 interleaved values, merged as the write path would.
        for b in 0..10 {
            let batch: Vec<f64> = sorted.iter().copied().skip(b).step_by(10).collect();
            merged.merge(&sketch_of_sorted(&batch, k, &mut offsets)).unwrap();
        }
        assert_eq!(merged.n(), n as u64);
        let bound = merged.normalized_rank_error() + 1.0 / k as f64;
        for r in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
            let q = *merged.quantile(r, SearchCriteria::Inclusive).unwrap().unwrap();
            let true_rank = q / n as f64;
            assert!((true_rank - r).abs() <= bound, "rank {r}: value {q} has rank {true_rank} (bound {bound})");
        }
        let min = merged.min_item().map(|v| **v);
        let max = merged.max_item().map(|v| **v);
        assert_eq!((min, max), (Some(0.0), Some((n - 1) as f64)));
    }
}
