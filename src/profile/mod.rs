//! Mergeable column profiles: what pg_vigil records per column and window. Exact counts and
//! moments, plus sketches for what cannot be exact in bounded space (DataSketches' KLL quantiles
//! and frequent items; a distinct count of our own, see `distinct`). One serialized form serves
//! as the delta row payload, the aggregate state and the unit merged across writers. Pure Rust:
//! no pgrx here.

pub mod batch_kll;
pub mod relations;
pub mod suggest;
mod distinct;
pub mod tiers;
pub mod window;

use datasketches::frequencies::{ErrorType, FrequentItemsSketch};
use datasketches::kll::{KllFloat, KllSketch};
use distinct::Distinct;
use std::fmt;

/// KLL size: the single-sided normalized rank error is 2.296 / k^0.9723 = 0.68% at k = 400;
/// batches folded in at once (batch_kll) add at most 1/k = 0.25%, so quantiles stay within 1%.
/// (The DataSketches default of 200 gives 1.33%.)
pub const KLL_K: u16 = 400;
/// Numeric values are buffered and folded into the quantile sketch this many at a time.
pub const QUANTILE_CHUNK: usize = 4096;
/// HLL precision: 2^12 buckets, relative standard error about 1.6%.
pub const HLL_LG_K: u8 = 12;
/// Frequent-items map size: tracks up to 0.75 × 512 = 384 items, enough that the top 100 survive
/// the purges a long tail of rare values causes.
pub const TOP_MAP_SIZE: usize = 512;
/// A profile keeps the values themselves up to this many, and sketches beyond (reading a raw
/// profile means building its sketches: small windows read fast only as sketches).
pub const RAW_LIMIT: usize = 256;
/// Distinct labels counted at most before they go into the sketches.
const LABEL_BATCH: usize = 1024;
/// Serialized forms (first byte): sketches, the values themselves, or one row's value (a NULL,
/// a number or NaN, a label: what a single-row INSERT writes, in a few bytes per column).
const FORMAT_SKETCHES: u8 = 3;
const FORMAT_RAW: u8 = 2;
const FORMAT_ONE_NULL: u8 = 4;
const FORMAT_ONE_NUMBER: u8 = 5;
const FORMAT_ONE_LABEL: u8 = 6;

/// The SplitMix64 finalizer: a bijection of u64 whose every output bit depends on every input
/// bit, in two multiplications (for compaction offsets and for hashing numbers into HLL
/// registers; written out because hashing crates take byte slices and cost twice as much).
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Count, mean and second central moment (Welford; merged with Chan et al.), min and max,
/// over finite values. NaN and infinities are counted apart so they cannot poison the moments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
    pub min: f64,
    pub max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Moments { n: 0, mean: 0.0, m2: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }
}

impl Moments {
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// The moments of a batch of finite values, in two passes (sum, then squared deviations):
    /// as exact as Welford's update and without its division per value. Each pass keeps four
    /// running lanes, so the additions do not wait on each other and the compiler can use SIMD;
    /// the values are finite, so plain comparisons give min and max.
    pub fn of(values: &[f64]) -> Moments {
        if values.is_empty() {
            return Moments::default();
        }
        const LANES: usize = 4;
        let (mut sum, mut min, mut max) = ([0.0; LANES], [f64::INFINITY; LANES], [f64::NEG_INFINITY; LANES]);
        let chunks = values.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for lane in 0..LANES {
                let x = chunk[lane];
                sum[lane] += x;
                min[lane] = if x < min[lane] { x } else { min[lane] };
                max[lane] = if x > max[lane] { x } else { max[lane] };
            }
        }
        for (lane, &x) in rest.iter().enumerate() {
            sum[lane] += x;
            min[lane] = min[lane].min(x);
            max[lane] = max[lane].max(x);
        }
        let mean = sum.iter().sum::<f64>() / values.len() as f64;
        let mut m2 = [0.0; LANES];
        let chunks = values.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for lane in 0..LANES {
                m2[lane] += (chunk[lane] - mean) * (chunk[lane] - mean);
            }
        }
        let m2 = m2.iter().sum::<f64>() + rest.iter().map(|&x| (x - mean) * (x - mean)).sum::<f64>();
        let fold = |lanes: [f64; LANES], pick: fn(f64, f64) -> f64| lanes.into_iter().reduce(pick).expect("lanes");
        Moments { n: values.len() as u64, mean, m2, min: fold(min, f64::min), max: fold(max, f64::max) }
    }

    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let (na, nb) = (self.n as f64, other.n as f64);
        self.mean += delta * nb / n as f64;
        self.m2 += other.m2 + delta * delta * na * nb / n as f64;
        self.n = n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Sample standard deviation (n − 1), as SQL's stddev(); None below two values.
    pub fn stddev_samp(&self) -> Option<f64> {
        (self.n > 1).then(|| (self.m2.max(0.0) / (self.n - 1) as f64).sqrt())
    }

    /// Population standard deviation, as the drift metrics use it; None when empty.
    pub fn stddev_pop(&self) -> Option<f64> {
        (self.n > 0).then(|| (self.m2.max(0.0) / self.n as f64).sqrt())
    }

    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }
}

/// What kind of column a profile describes: numbers get moments and quantiles, everything gets
/// a distinct count, categories get their most frequent values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    Numeric = 1,
    Categorical = 2,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProfileError {
    Truncated,
    BadVersion(u8),
    BadKind(u8),
    KindMismatch,
    Sketch(String),
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileError::Truncated => f.write_str("profile data is truncated"),
            ProfileError::BadVersion(v) => write!(f, "unknown profile format version {v}"),
            ProfileError::BadKind(k) => write!(f, "unknown profile kind {k}"),
            ProfileError::KindMismatch => f.write_str("cannot merge a numeric with a categorical profile"),
            ProfileError::Sketch(e) => write!(f, "bad sketch: {e}"),
        }
    }
}

/// The sketches of a profile, made only once it has seen more than `RAW_LIMIT` values: a
/// single-row write neither allocates nor serializes them (a frequent-items map alone is ~20 KB).
#[derive(Clone)]
struct Sketches {
    quantiles: KllSketch<KllFloat<f64>>,
    offsets: batch_kll::Offsets,
    distinct: Distinct,
    top: FrequentItemsSketch<String>,
}

impl Sketches {
    fn new(seed: u64) -> Box<Self> {
        Box::new(Sketches {
            quantiles: KllSketch::new(KLL_K).expect("KLL_K is a valid k"),
            offsets: batch_kll::Offsets::new(seed),
            distinct: Distinct::default(),
            top: FrequentItemsSketch::new(TOP_MAP_SIZE).expect("TOP_MAP_SIZE is a power of two"),
        })
    }

    fn add_label(&mut self, label: &str, count: u64) {
        self.distinct.add_label(label);
        self.top.update_with_count_ref(label, count);
    }

    /// Folds finite values into the distinct count and (sorted, as one batch) the quantiles.
    fn add_numbers(&mut self, values: &mut [f64], moments: &Moments) {
        match values.len() {
            0 => {}
            1 => self.quantiles.update(KllFloat::<f64>::new(values[0]).expect("finite")),
            _ => {
                batch_kll::sort_values(values, moments.min, moments.max);
                let batch = batch_kll::sketch_of_sorted(values, KLL_K, &mut self.offsets);
                self.quantiles.merge(&batch).expect("sketches of one k merge");
            }
        }
        self.distinct.add_numbers(values);
    }
}

#[derive(Clone)]
pub struct ColumnProfile {
    pub kind: ProfileKind,
    /// Values seen, NULLs included.
    pub rows: u64,
    pub nulls: u64,
    pub nan: u64,
    pub infinite: u64,
    /// Over the finite numeric values already flushed (see `moments()` for all of them).
    flushed_moments: Moments,
    /// Finite values not yet in the sketches (folded in batches, see batch_kll).
    pending_numbers: Vec<f64>,
    /// Category labels not yet in the sketches (only while there are no sketches).
    pending_labels: Vec<String>,
    /// Labels counted since they last went into the sketches (only once there are sketches): a
    /// label is hashed into them once per batch rather than once per row.
    label_counts: rustc_hash::FxHashMap<String, u64>,
    sketches: Option<Box<Sketches>>,
}

impl fmt::Debug for ColumnProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ColumnProfile")
            .field("kind", &self.kind)
            .field("rows", &self.rows)
            .field("nulls", &self.nulls)
            .field("nan", &self.nan)
            .field("infinite", &self.infinite)
            .field("moments", &self.moments())
            .field("raw", &self.is_raw())
            .finish_non_exhaustive()
    }
}

impl ColumnProfile {
    pub fn new(kind: ProfileKind) -> Self {
        ColumnProfile {
            kind,
            rows: 0,
            nulls: 0,
            nan: 0,
            infinite: 0,
            flushed_moments: Moments::default(),
            pending_numbers: Vec::new(),
            pending_labels: Vec::new(),
            label_counts: Default::default(),
            sketches: None,
        }
    }

    /// Empties the profile for reuse, keeping the buffers of a small one.
    pub fn clear(&mut self) {
        (self.rows, self.nulls, self.nan, self.infinite) = (0, 0, 0, 0);
        self.flushed_moments = Moments::default();
        self.pending_numbers.clear();
        self.pending_numbers.shrink_to(RAW_LIMIT);
        self.pending_labels.clear();
        self.pending_labels.shrink_to(RAW_LIMIT);
        self.label_counts = Default::default();
        self.sketches = None;
    }

    /// Count, mean, variance, min and max of all the finite values (exact).
    pub fn moments(&self) -> Moments {
        let mut moments = self.flushed_moments;
        moments.merge(&Moments::of(&self.pending_numbers));
        moments
    }

    /// True while the profile holds its values themselves rather than sketches of them.
    pub fn is_raw(&self) -> bool {
        self.sketches.is_none() && self.pending_numbers.len() <= RAW_LIMIT
    }

    fn sketches_mut(&mut self) -> &mut Sketches {
        let seed = self.rows ^ 0x5EED;
        self.sketches.get_or_insert_with(|| Sketches::new(seed))
    }

    #[inline]
    pub fn push_null(&mut self) {
        self.rows += 1;
        self.nulls += 1;
    }

    /// A numeric value (numeric profiles).
    #[inline]
    pub fn push_f64(&mut self, x: f64) {
        self.rows += 1;
        if x.is_finite() {
            self.pending_numbers.push(x);
            if self.pending_numbers.len() >= QUANTILE_CHUNK {
                self.flush_chunk();
            }
        } else if x.is_nan() {
            self.nan += 1;
        } else {
            self.infinite += 1;
            self.sketches_mut().distinct.add_numbers(&[x]);
        }
    }

    /// A categorical value (categorical profiles).
    #[inline]
    pub fn push_text(&mut self, value: &str) {
        self.rows += 1;
        self.add_label(value);
    }

    fn add_label(&mut self, value: &str) {
        self.count_label(value, 1);
    }

    fn count_label(&mut self, value: &str, count: u64) {
        if self.sketches.is_none() {
            if self.pending_labels.len() + count as usize <= RAW_LIMIT {
                self.pending_labels.extend(std::iter::repeat_n(value, count as usize).map(str::to_owned));
                return;
            }
            self.flush();
            self.sketches_mut();
        }
        match self.label_counts.get_mut(value) {
            Some(n) => *n += count,
            None => {
                if self.label_counts.len() >= LABEL_BATCH {
                    self.flush();
                }
                self.label_counts.insert(value.to_owned(), count);
            }
        }
    }

    /// A full chunk into the sketches: out of line, so that pushing a value stays a few
    /// instructions inlined into the caller's loop.
    #[cold]
    #[inline(never)]
    fn flush_chunk(&mut self) {
        self.flush();
    }

    /// Moves every pending value into the sketches (making them if need be).
    pub fn flush(&mut self) {
        if !self.label_counts.is_empty() {
            let counts = std::mem::take(&mut self.label_counts);
            let sketches = self.sketches_mut();
            counts.iter().for_each(|(label, &count)| sketches.add_label(label, count));
            self.label_counts = counts;
            self.label_counts.clear(); // keeps its capacity for the next batch
        }
        if self.pending_numbers.is_empty() && self.pending_labels.is_empty() {
            return;
        }
        let mut numbers = std::mem::take(&mut self.pending_numbers);
        let labels = std::mem::take(&mut self.pending_labels);
        let moments = Moments::of(&numbers);
        self.flushed_moments.merge(&moments);
        let sketches = self.sketches_mut();
        sketches.add_numbers(&mut numbers, &moments);
        labels.iter().for_each(|l| sketches.add_label(l, 1));
        numbers.clear();
        self.pending_numbers = numbers; // keeps its capacity for the next chunk
    }

    /// The sketches with every pending value in them.
    fn settled(&self) -> std::borrow::Cow<'_, Sketches> {
        match &self.sketches {
            Some(s) if self.pending_numbers.is_empty() && self.pending_labels.is_empty() && self.label_counts.is_empty() => {
                std::borrow::Cow::Borrowed(s)
            }
            _ => {
                let mut settled = self.clone();
                settled.sketches_mut();
                settled.flush();
                std::borrow::Cow::Owned(*settled.sketches.expect("flushed"))
            }
        }
    }

    pub fn merge(&mut self, other: &ColumnProfile) -> Result<(), ProfileError> {
        if self.kind != other.kind {
            return Err(ProfileError::KindMismatch);
        }
        self.rows += other.rows;
        self.nulls += other.nulls;
        self.nan += other.nan;
        self.infinite += other.infinite;
        // Their flushed values' moments now; their pending values join ours (counted when flushed).
        self.flushed_moments.merge(&other.flushed_moments);
        if let Some(theirs) = &other.sketches {
            self.flush();
            let mine = self.sketches_mut();
            mine.quantiles.merge(&theirs.quantiles).map_err(|e| ProfileError::Sketch(e.to_string()))?;
            mine.distinct.merge(&theirs.distinct);
            mine.top.merge(&theirs.top);
        }
        for &x in &other.pending_numbers {
            self.pending_numbers.push(x);
            if self.pending_numbers.len() >= QUANTILE_CHUNK {
                self.flush();
            }
        }
        other.pending_labels.iter().for_each(|l| self.add_label(l));
        other.label_counts.iter().for_each(|(l, &n)| self.count_label(l, n));
        Ok(())
    }

    /// NULLs over all rows; None for an empty profile.
    pub fn null_fraction(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.nulls as f64 / self.rows as f64)
    }

    /// The approximate quantile at `rank` in [0, 1] of the finite values (within
    /// `rank_error()` in rank, with 99% confidence).
    pub fn quantile(&self, rank: f64) -> Option<f64> {
        self.settled()
            .quantiles
            .quantile(rank, datasketches::common::SearchCriteria::Inclusive)
            .ok()
            .flatten()
            .map(|v| *v)
    }

    /// The distribution of the finite values as a sorted, weighted view (for many queries).
    pub fn distribution(&self) -> Option<Distribution> {
        Distribution::of(&self.settled().quantiles)
    }

    /// Non-NULL categorical values by (estimated) count, from the frequent-items sketch.
    pub fn category_counts(&self) -> Vec<(String, u64)> {
        self.top_values(usize::MAX)
    }

    /// The normalized single-sided rank error of the quantiles.
    pub fn rank_error(&self) -> f64 {
        self.settled().quantiles.normalized_rank_error()
    }

    pub fn distinct_estimate(&self) -> f64 {
        self.settled().distinct.estimate()
    }

    /// The most frequent values, most frequent first, with their estimated counts.
    pub fn top_values(&self, limit: usize) -> Vec<(String, u64)> {
        let mut rows: Vec<(String, u64)> = self
            .settled()
            .top
            .frequent_items(ErrorType::NoFalseNegatives)
            .into_iter()
            .map(|r| (r.item().clone(), r.estimate()))
            .collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows.truncate(limit);
        rows
    }

    /// Version, kind, counts, then either the values themselves (a raw profile: at most
    /// `RAW_LIMIT` values, so small writes store a few bytes per value and moments are replayed
    /// exactly on read; one row's value alone in a one-value form) or the moments and each sketch
    /// (KLL and frequent items in the DataSketches serialized form, readable by the Java, C++ and
    /// Python libraries; the distinct count in its own), each preceded by its length.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        self.serialize_into(&mut out);
        out
    }

    /// `serialize`, appended to `out`.
    pub fn serialize_into(&self, out: &mut Vec<u8>) {
        if self.is_raw() {
            // A single row's number stays on the stack: a one-row write allocates nothing here.
            let (one, many): ([u8; 8], Vec<u8>);
            let number_bytes: &[u8] = match self.pending_numbers.as_slice() {
                [x] => {
                    one = x.to_le_bytes();
                    &one
                }
                xs => {
                    many = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
                    &many
                }
            };
            let mut labels = Vec::new();
            for label in &self.pending_labels {
                put_varint(&mut labels, label.len() as u64);
                labels.extend_from_slice(label.as_bytes());
            }
            let parts = RawParts {
                kind: self.kind,
                counts: [self.rows, self.nulls, self.nan, self.infinite],
                numbers: self.pending_numbers.len() as u64,
                number_bytes,
                labels: self.pending_labels.len() as u64,
                label_bytes: &labels,
            };
            RawParts::write(&[parts], out);
            return;
        }
        out.push(FORMAT_SKETCHES);
        out.push(self.kind as u8);
        for v in [self.rows, self.nulls, self.nan, self.infinite] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let settled = self.settled();
        let mut distinct = Vec::new();
        settled.distinct.serialize(&mut distinct);
        let sketches = [settled.quantiles.serialize(), distinct, settled.top.serialize()];
        let moments = self.moments();
        out.extend_from_slice(&moments.n.to_le_bytes());
        for v in [moments.mean, moments.m2, moments.min, moments.max] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for s in &sketches {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s);
        }
    }

    pub fn deserialize(bytes: &[u8]) -> Result<ColumnProfile, ProfileError> {
        if let Some(raw) = RawParts::parse(bytes)? {
            let mut profile = ColumnProfile::new(raw.kind);
            [profile.rows, profile.nulls, profile.nan, profile.infinite] = raw.counts;
            profile.pending_numbers.reserve(raw.numbers as usize);
            let mut numbers = Reader(raw.number_bytes);
            for _ in 0..raw.numbers {
                profile.pending_numbers.push(numbers.f64()?);
            }
            let mut labels = Reader(raw.label_bytes);
            for _ in 0..raw.labels {
                let len = labels.varint()? as usize;
                let label = std::str::from_utf8(labels.take(len)?).map_err(|e| ProfileError::Sketch(e.to_string()))?;
                profile.pending_labels.push(label.to_owned());
            }
            return Ok(profile);
        }
        let mut r = Reader(bytes);
        let format = r.u8()?;
        if format != FORMAT_SKETCHES {
            return Err(ProfileError::BadVersion(format));
        }
        let mut profile = ColumnProfile::new(read_kind(&mut r)?);
        (profile.rows, profile.nulls, profile.nan, profile.infinite) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        profile.flushed_moments = Moments { n: r.u64()?, mean: r.f64()?, m2: r.f64()?, min: r.f64()?, max: r.f64()? };
        let sketch_err = |e: datasketches::error::Error| ProfileError::Sketch(e.to_string());
        let quantiles = KllSketch::deserialize(r.block()?).map_err(sketch_err)?;
        let distinct = Distinct::deserialize(&mut Reader(r.block()?))?;
        let top = FrequentItemsSketch::deserialize(r.block()?).map_err(sketch_err)?;
        let offsets = batch_kll::Offsets::new(profile.rows);
        profile.sketches = Some(Box::new(Sketches { quantiles, offsets, distinct, top }));
        Ok(profile)
    }
}

/// A raw profile's parts, borrowed from its serialized form: what merging raw profiles needs,
/// without building them (compaction mostly merges single-row deltas).
struct RawParts<'a> {
    kind: ProfileKind,
    /// rows, NULLs, NaN, infinities
    counts: [u64; 4],
    numbers: u64,
    number_bytes: &'a [u8],
    labels: u64,
    /// `([len varint] [utf-8])*`
    label_bytes: &'a [u8],
}

impl<'a> RawParts<'a> {
    /// Reads the rest of a raw profile, after its format and kind bytes.
    fn read(kind: ProfileKind, r: &mut Reader<'a>) -> Result<Self, ProfileError> {
        let counts = [r.varint()?, r.varint()?, r.varint()?, r.varint()?];
        let numbers = r.varint()?;
        let number_bytes = r.take(8 * numbers as usize)?;
        let labels = r.varint()?;
        let start = r.0;
        for _ in 0..labels {
            let len = r.varint()? as usize;
            r.take(len)?;
        }
        let label_bytes = &start[..start.len() - r.0.len()];
        Ok(RawParts { kind, counts, numbers, number_bytes, labels, label_bytes })
    }

    /// The parts of a raw or one-value profile; None for sketches.
    fn parse(bytes: &'a [u8]) -> Result<Option<Self>, ProfileError> {
        let mut r = Reader(bytes);
        let one = |kind, counts: [u64; 4], number_bytes: &'a [u8], label_bytes: &'a [u8]| RawParts {
            kind,
            counts,
            numbers: (number_bytes.len() / 8) as u64,
            number_bytes,
            labels: u64::from(!label_bytes.is_empty()),
            label_bytes,
        };
        match r.u8()? {
            FORMAT_RAW => {
                let kind = read_kind(&mut r)?;
                Self::read(kind, &mut r).map(Some)
            }
            FORMAT_ONE_NULL => Ok(Some(one(read_kind(&mut r)?, [1, 1, 0, 0], &[], &[]))),
            FORMAT_ONE_NUMBER => {
                let number = r.take(8)?;
                let x = f64::from_le_bytes(number.try_into().expect("8 bytes"));
                match x {
                    x if x.is_nan() => Ok(Some(one(ProfileKind::Numeric, [1, 0, 1, 0], &[], &[]))),
                    x if x.is_finite() => Ok(Some(one(ProfileKind::Numeric, [1, 0, 0, 0], number, &[]))),
                    _ => Err(ProfileError::Sketch("an infinite value in a one-value profile".into())),
                }
            }
            FORMAT_ONE_LABEL => {
                let label = r.0;
                let len = r.varint()? as usize;
                r.take(len)?;
                Ok(Some(one(ProfileKind::Categorical, [1, 0, 0, 0], &[], &label[..label.len() - r.0.len()])))
            }
            _ => Ok(None),
        }
    }

    /// The serialized merge of raw parts of one kind: a one-value profile when they hold a
    /// single row, else a raw profile.
    fn write(parts: &[RawParts<'_>], out: &mut Vec<u8>) {
        let kind = parts.first().map_or(ProfileKind::Numeric, |p| p.kind);
        let count = |i: usize| parts.iter().map(|p| p.counts[i]).sum::<u64>();
        let (numbers, labels) = (parts.iter().map(|p| p.numbers).sum::<u64>(), parts.iter().map(|p| p.labels).sum::<u64>());
        let (rows, nulls, nan, infinite) = (count(0), count(1), count(2), count(3));
        // One row, the common delta of a single-row INSERT: a few bytes per column.
        if rows == 1 && infinite == 0 {
            if nulls == 1 {
                out.extend_from_slice(&[FORMAT_ONE_NULL, kind as u8]);
                return;
            }
            if nan == 1 || numbers == 1 {
                out.push(FORMAT_ONE_NUMBER);
                match parts.iter().find(|p| p.numbers == 1) {
                    Some(p) => out.extend_from_slice(p.number_bytes),
                    None => out.extend_from_slice(&f64::NAN.to_le_bytes()),
                }
                return;
            }
            if labels == 1 {
                out.push(FORMAT_ONE_LABEL);
                parts.iter().for_each(|p| out.extend_from_slice(p.label_bytes));
                return;
            }
        }
        out.extend_from_slice(&[FORMAT_RAW, kind as u8]);
        for v in [rows, nulls, nan, infinite, numbers] {
            put_varint(out, v);
        }
        parts.iter().for_each(|p| out.extend_from_slice(p.number_bytes));
        put_varint(out, labels);
        parts.iter().for_each(|p| out.extend_from_slice(p.label_bytes));
    }
}

fn read_kind(r: &mut Reader<'_>) -> Result<ProfileKind, ProfileError> {
    match r.u8()? {
        1 => Ok(ProfileKind::Numeric),
        2 => Ok(ProfileKind::Categorical),
        k => Err(ProfileError::BadKind(k)),
    }
}

/// `merge_raw_into` into a new buffer (for tests).
#[cfg(test)]
pub fn merge_raw(profiles: &[&[u8]]) -> Result<Option<Vec<u8>>, ProfileError> {
    let mut out = Vec::new();
    Ok(merge_raw_into(profiles, &mut out)?.then_some(out))
}

/// Appends to `out` the serialized merge of serialized profiles when all are raw, of one kind,
/// and hold at most `RAW_LIMIT` values together: their counts added and values concatenated,
/// byte for byte as building, merging and serializing them would give. False otherwise (and
/// `out` unchanged): merge them as profiles.
pub fn merge_raw_into(profiles: &[&[u8]], out: &mut Vec<u8>) -> Result<bool, ProfileError> {
    let mut parts = Vec::with_capacity(profiles.len());
    for bytes in profiles {
        match RawParts::parse(bytes)? {
            Some(p) => parts.push(p),
            None => return Ok(false),
        }
    }
    let Some(first) = parts.first() else { return Ok(false) };
    let (numbers, labels): (u64, u64) = (parts.iter().map(|p| p.numbers).sum(), parts.iter().map(|p| p.labels).sum());
    if parts.iter().any(|p| p.kind != first.kind) || numbers as usize > RAW_LIMIT || labels as usize > RAW_LIMIT {
        return Ok(false);
    }
    RawParts::write(&parts, out);
    Ok(true)
}

/// Merges `profile` into the profile kept under `key` (or keeps it there when the key is new).
/// Profiles of different kinds under one key (a column whose type changed) keep the first.
pub fn merge_into<K: Ord>(map: &mut std::collections::BTreeMap<K, ColumnProfile>, key: K, profile: ColumnProfile) {
    match map.get_mut(&key) {
        Some(existing) => {
            let _ = existing.merge(&profile);
        }
        None => {
            map.insert(key, profile);
        }
    }
}

/// A profile's quantile sketch as one sorted, weighted list: the sketch's empirical
/// distribution, for rank and quantile queries (binary searches) and for comparing two
/// distributions in one pass.
/// Values of a distribution whose digits `Distribution::resolution` counts at most.
const RESOLUTION_SAMPLE: usize = 256;

/// The decimal digits `x` is written with: the fewest d in 0..=12 such that x × 10^d is a whole
/// number to nine significant digits (so a long fraction counts about 9 - log10|x| digits), 13
/// when none is; a whole multiple of 10, 100 or 1000 counts -1, -2 or -3 (and 0 itself 0).
pub fn decimal_digits(x: f64) -> i8 {
    let whole = |y: f64| (y - y.round()).abs() <= 1e-9 * y.abs();
    if x == 0.0 || !x.is_finite() {
        return 0;
    }
    if whole(x) {
        let mut digits: i8 = 0;
        while digits > -3 && whole(x / 10f64.powi(1 - digits as i32)) {
            digits -= 1;
        }
        return digits;
    }
    (1..=12).find(|&d| whole(x * 10f64.powi(d))).map_or(13, |d| d as i8)
}

pub struct Distribution {
    values: Vec<f64>,
    /// Weight of the values up to and including each one.
    cumulative: Vec<u64>,
    /// The same as shares of the total (the CDF at each value).
    shares: Vec<f64>,
    total: u64,
    min: f64,
    max: f64,
}

impl Distribution {
    fn of(sketch: &KllSketch<KllFloat<f64>>) -> Option<Distribution> {
        let weighted = batch_kll::weighted_values(sketch);
        if weighted.is_empty() {
            return None;
        }
        let mut total = 0;
        let cumulative: Vec<u64> = weighted
            .iter()
            .map(|v| {
                total += v.1;
                total
            })
            .collect();
        let (min, max) = (sketch.min_item().map(|v| **v), sketch.max_item().map(|v| **v));
        let values: Vec<f64> = weighted.into_iter().map(|v| v.0).collect();
        let shares = cumulative.iter().map(|&c| c as f64 / total as f64).collect();
        Some(Distribution {
            shares,
            min: min.unwrap_or(values[0]),
            max: max.unwrap_or(values[values.len() - 1]),
            values,
            cumulative,
            total,
        })
    }

    /// Fraction of the weight held by the first `count` values.
    fn share(&self, count: usize) -> f64 {
        if count == 0 {
            0.0
        } else {
            self.shares[count - 1]
        }
    }

    /// Fraction of values strictly below `x`.
    pub fn below(&self, x: f64) -> f64 {
        self.share(self.values.partition_point(|&v| v < x))
    }

    /// Fraction of values at or below `x`.
    pub fn at_or_below(&self, x: f64) -> f64 {
        self.share(self.values.partition_point(|&v| v <= x))
    }

    /// The value at `rank` (inclusive), as DataSketches answers it: the extremes at 0 and 1,
    /// else the first value whose cumulative weight reaches rank × total.
    /// The precision the values are written with: the 90th percentile, over up to
    /// RESOLUTION_SAMPLE of the distribution's values evenly spread, of their decimal digits
    /// (see `decimal_digits`). A load rounded to tens, or converted to other units (whose
    /// arithmetic leaves long fractions), changes it while the values' range may not.
    pub fn resolution(&self) -> f64 {
        let step = self.values.len().div_ceil(RESOLUTION_SAMPLE).max(1);
        let mut digits: Vec<f64> = self.values.iter().step_by(step).map(|&x| decimal_digits(x) as f64).collect();
        digits.sort_by(f64::total_cmp);
        digits[((digits.len() - 1) as f64 * 0.9).round() as usize]
    }

    /// The share of the most frequent value (a default, a sentinel or a frozen value shows as
    /// one value's weight), within the sketch's rank error.
    pub fn top_share(&self) -> f64 {
        self.runs().map(|(_, weight)| weight).max().unwrap_or(0) as f64 / self.total as f64
    }

    /// The values that carry at least `min_share` of the total each, with their shares.
    pub fn atoms(&self, min_share: f64) -> Vec<(f64, f64)> {
        let total = self.total as f64;
        self.runs().map(|(v, weight)| (v, weight as f64 / total)).filter(|&(_, share)| share >= min_share).collect()
    }

    /// The share of the total that sits exactly on `x`.
    pub fn share_at(&self, x: f64) -> f64 {
        self.at_or_below(x) - self.below(x)
    }

    /// Each distinct value with its weight, in order.
    fn runs(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let mut i = 0;
        std::iter::from_fn(move || {
            let v = *self.values.get(i)?;
            let before = if i == 0 { 0 } else { self.cumulative[i - 1] };
            let end = i + self.values[i..].partition_point(|&w| w == v);
            i = end;
            Some((v, self.cumulative[end - 1] - before))
        })
    }

    pub fn quantile(&self, rank: f64) -> f64 {
        let rank = rank.clamp(0.0, 1.0);
        if rank == 0.0 {
            return self.min;
        }
        if rank == 1.0 {
            return self.max;
        }
        let weight = (rank * self.total as f64).ceil() as u64;
        let index = self.cumulative.partition_point(|&c| c < weight);
        self.values[index.min(self.values.len() - 1)]
    }

    /// Walks the values of both distributions in order, calling `visit(x, F_self(x), F_other(x))`
    /// at each distinct value with both cumulative shares at or below it.
    fn walk(&self, other: &Distribution, mut visit: impl FnMut(f64, f64, f64)) {
        let (mut i, mut j) = (0, 0);
        while i < self.values.len() || j < other.values.len() {
            let x = match (self.values.get(i), other.values.get(j)) {
                (Some(&a), Some(&b)) => a.min(b),
                (Some(&a), None) => a,
                (None, Some(&b)) => b,
                (None, None) => unreachable!(),
            };
            while i < self.values.len() && self.values[i] <= x {
                i += 1;
            }
            while j < other.values.len() && other.values[j] <= x {
                j += 1;
            }
            visit(x, self.share(i), other.share(j));
        }
    }

    /// Kolmogorov–Smirnov statistic (the largest gap between the two step CDFs, attained at one
    /// of their values since both are constant in between) and Wasserstein-1 distance (the area
    /// between them), in one pass.
    pub fn ks_and_wasserstein(&self, other: &Distribution) -> (f64, f64) {
        let (mut sup, mut area, mut previous): (f64, f64, Option<(f64, f64)>) = (0.0, 0.0, None);
        self.walk(other, |x, a, b| {
            let gap = (a - b).abs();
            sup = sup.max(gap);
            if let Some((at, before)) = previous {
                area += before * (x - at);
            }
            previous = Some((x, gap));
        });
        (sup, area)
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, v: u64) {
    leb128::write::unsigned(out, v).expect("writing to a Vec cannot fail");
}

pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ProfileError> {
        if self.0.len() < n {
            return Err(ProfileError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ProfileError> {
        Ok(self.take(1)?[0])
    }
    fn u64(&mut self) -> Result<u64, ProfileError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    pub(crate) fn varint(&mut self) -> Result<u64, ProfileError> {
        leb128::read::unsigned(&mut self.0).map_err(|_| ProfileError::Truncated)
    }
    fn f64(&mut self) -> Result<f64, ProfileError> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn block(&mut self) -> Result<&'a [u8], ProfileError> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize;
        self.take(len)
    }
}

#[cfg(test)]
mod tests;
