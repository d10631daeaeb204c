//! Distinct counts: exact while small, HLL registers beyond.
//!
//! The registers are filled by hand because the `datasketches` HLL hashes through a generic
//! `Hasher` with MurmurHash3 and updates its estimator on every register change: together more
//! than the rest of a number's profiling on the write path. Here a number costs the SplitMix64
//! finalizer of its bits (a label: an XXH3 hash of its bytes, from `xxhash-rust`) and one `max`
//! into an 8-bit register; unions are a `max` per register. The crate still does the estimating:
//! the registers are handed to it as a DataSketches HLL_8 image. Such registers count values
//! hashed our way, so they are unioned with each other, never with another library's sketches.

use super::{ProfileError, Reader, HLL_LG_K};
use datasketches::hll::HllSketch;

/// Up to this many distinct values the count is exact (each value's 64-bit hash is kept);
/// registers would only estimate such small counts.
pub const SMALL_DISTINCT: usize = 256;
const REGISTERS: usize = 1 << HLL_LG_K;
const HASH_SEED: u64 = 0x5EED_D15C;

#[derive(Clone, Debug, PartialEq)]
pub enum Distinct {
    /// The hashes of the values seen, sorted and unique, at most SMALL_DISTINCT of them.
    Exact(Vec<u64>),
    /// HLL registers: slot = the hash's low HLL_LG_K bits, value = 1 + leading zeros of the rest.
    Registers(Box<[u8]>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(Vec::new())
    }
}

#[inline(always)]
fn hash_number(bits: u64) -> u64 {
    super::mix64(bits ^ HASH_SEED)
}

fn hash_label(label: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(label.as_bytes(), HASH_SEED)
}

#[inline(always)]
fn add_to_registers(registers: &mut [u8], hash: u64) {
    let slot = hash as usize & (REGISTERS - 1);
    // The remaining 64 - HLL_LG_K bits: a value v has probability 2^-v, as in any HLL.
    let value = ((hash >> HLL_LG_K) | (1 << (63 - HLL_LG_K))).trailing_zeros() as u8 + 1;
    registers[slot] = registers[slot].max(value);
}

impl Distinct {
    /// Counts numbers by their bits; runs of equal values are hashed once.
    pub fn add_numbers(&mut self, values: &[f64]) {
        let mut previous: Option<u64> = None;
        let mut hashes = values.iter().map(|x| x.to_bits()).filter(move |&bits| previous.replace(bits) != Some(bits)).map(hash_number);
        if let Distinct::Exact(_) = self {
            for hash in hashes.by_ref() {
                if self.add_exact(hash) {
                    break;
                }
            }
        }
        if let Distinct::Registers(registers) = self {
            hashes.for_each(|hash| add_to_registers(registers, hash));
        }
    }

    pub fn add_label(&mut self, label: &str) {
        self.add_hash(hash_label(label));
    }

    fn add_hash(&mut self, hash: u64) {
        match self {
            Distinct::Exact(_) => {
                self.add_exact(hash);
            }
            Distinct::Registers(registers) => add_to_registers(registers, hash),
        }
    }

    /// Adds to an exact set; true once it has turned into registers.
    fn add_exact(&mut self, hash: u64) -> bool {
        let Distinct::Exact(hashes) = self else { return true };
        if let Err(at) = hashes.binary_search(&hash) {
            hashes.insert(at, hash);
            if hashes.len() > SMALL_DISTINCT {
                self.to_registers();
                return true;
            }
        }
        false
    }

    fn to_registers(&mut self) -> &mut [u8] {
        if let Distinct::Exact(hashes) = self {
            let mut registers = vec![0u8; REGISTERS].into_boxed_slice();
            hashes.iter().for_each(|&hash| add_to_registers(&mut registers, hash));
            *self = Distinct::Registers(registers);
        }
        match self {
            Distinct::Registers(registers) => registers,
            Distinct::Exact(_) => unreachable!("converted above"),
        }
    }

    pub fn merge(&mut self, other: &Distinct) {
        match other {
            Distinct::Exact(theirs) => theirs.iter().for_each(|&hash| self.add_hash(hash)),
            Distinct::Registers(theirs) => {
                let mine = self.to_registers();
                mine.iter_mut().zip(theirs.iter()).for_each(|(m, &t)| *m = (*m).max(t));
            }
        }
    }

    pub fn estimate(&self) -> f64 {
        match self {
            Distinct::Exact(hashes) => hashes.len() as f64,
            Distinct::Registers(registers) => HllSketch::deserialize(&hll8_image(registers)).map_or(f64::NAN, |s| s.estimate()),
        }
    }

    /// A tag, then the sorted hashes (a count and 8 bytes each) or the registers packed: the
    /// smallest register, then each register above it in 4 bits (15: see the exceptions), then
    /// the exceptions as (slot, value). Registers of one sketch lie within a few values of each
    /// other, so this halves the 4 KB of bytes (HLL_4 of DataSketches does the same).
    pub fn serialize(&self, out: &mut Vec<u8>) {
        match self {
            Distinct::Exact(hashes) => {
                out.push(TAG_EXACT);
                super::put_varint(out, hashes.len() as u64);
                hashes.iter().for_each(|h| out.extend_from_slice(&h.to_le_bytes()));
            }
            Distinct::Registers(registers) => {
                out.push(TAG_REGISTERS);
                let base = registers.iter().copied().min().unwrap_or(0);
                out.push(base);
                let nibble = |r: u8| (r - base).min(EXCEPTION);
                out.extend(registers.chunks_exact(2).map(|pair| nibble(pair[0]) | (nibble(pair[1]) << 4)));
                let exceptions: Vec<(usize, u8)> = registers.iter().enumerate().filter(|(_, &r)| r - base >= EXCEPTION).map(|(i, &r)| (i, r)).collect();
                super::put_varint(out, exceptions.len() as u64);
                for (slot, value) in exceptions {
                    out.extend_from_slice(&(slot as u16).to_le_bytes());
                    out.push(value);
                }
            }
        }
    }

    pub fn deserialize(r: &mut Reader<'_>) -> Result<Distinct, ProfileError> {
        match r.u8()? {
            TAG_EXACT => {
                let count = r.varint()? as usize;
                if count > SMALL_DISTINCT {
                    return Err(ProfileError::Sketch(format!("{count} exact distinct hashes (at most {SMALL_DISTINCT})")));
                }
                let hashes = (0..count).map(|_| r.u64()).collect::<Result<Vec<u64>, _>>()?;
                if !hashes.windows(2).all(|w| w[0] < w[1]) {
                    return Err(ProfileError::Sketch("distinct hashes out of order".into()));
                }
                Ok(Distinct::Exact(hashes))
            }
            TAG_REGISTERS => {
                let base = r.u8()?;
                if base > MAX_REGISTER {
                    return Err(ProfileError::Sketch(format!("distinct-count registers start at {base}")));
                }
                let mut registers: Box<[u8]> = r.take(REGISTERS / 2)?.iter().flat_map(|&b| [base + (b & 15), base + (b >> 4)]).collect();
                let exceptions = r.varint()?;
                for _ in 0..exceptions {
                    let slot = u16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes")) as usize;
                    let value = r.u8()?;
                    if slot >= REGISTERS || registers[slot] != base + EXCEPTION || value < base + EXCEPTION || value > MAX_REGISTER {
                        return Err(ProfileError::Sketch(format!("bad distinct-count exception at register {slot}")));
                    }
                    registers[slot] = value;
                }
                Ok(Distinct::Registers(registers))
            }
            tag => Err(ProfileError::Sketch(format!("unknown distinct-count tag {tag}"))),
        }
    }
}

const TAG_EXACT: u8 = 1;
const TAG_REGISTERS: u8 = 2;
/// A packed register this far above the smallest is stored apart, as an exception.
const EXCEPTION: u8 = 15;
/// The largest register value: 1 + at most 63 - HLL_LG_K trailing zeros (see add_to_registers).
const MAX_REGISTER: u8 = 64 - HLL_LG_K;

const FAMILY_HLL: u8 = 7;
const SERIAL_VERSION: u8 = 1;
const PREAMBLE_INTS_HLL: u8 = 10;
const HLL8_PREAMBLE: usize = 40;
const FLAG_OUT_OF_ORDER: u8 = 16;
/// Current mode HLL (2) in bits 0-1, target type HLL_8 (2) in bits 2-3.
const MODE_HLL8: u8 = 2 | (2 << 2);

/// The registers as a DataSketches HLL_8 image. Marked out of order: the registers carry no
/// history for the HIP estimator, so readers use the composite estimator, as for any union.
fn hll8_image(registers: &[u8]) -> Vec<u8> {
    // The estimator's sums of 2^-register, kept apart below and from 32 as DataSketches does.
    let (mut kxq0, mut kxq1, mut zeros) = (0.0f64, 0.0f64, 0u32);
    for &register in registers {
        let term = 1.0 / (1u64 << register) as f64;
        if register < 32 {
            kxq0 += term;
        } else {
            kxq1 += term;
        }
        zeros += u32::from(register == 0);
    }
    let mut image = Vec::with_capacity(HLL8_PREAMBLE + registers.len());
    image.extend_from_slice(&[PREAMBLE_INTS_HLL, SERIAL_VERSION, FAMILY_HLL, HLL_LG_K, 0, FLAG_OUT_OF_ORDER, 0, MODE_HLL8]);
    image.extend_from_slice(&0f64.to_le_bytes()); // HIP accumulator: unused when out of order
    image.extend_from_slice(&kxq0.to_le_bytes());
    image.extend_from_slice(&kxq1.to_le_bytes());
    image.extend_from_slice(&zeros.to_le_bytes());
    image.extend_from_slice(&0u32.to_le_bytes()); // no auxiliary exceptions in HLL_8
    image.extend_from_slice(registers);
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(n: u64) -> Vec<f64> {
        (0..n).map(|i| i as f64 * 0.37 + 1.0e-3).collect()
    }

    #[test]
    fn counts_are_exact_while_small_and_close_beyond() {
        for n in [0u64, 1, 5, 256, 257, 300, 5_000, 200_000, 2_000_000] {
            let mut distinct = Distinct::default();
            // Twice over, in chunks: repeats are not counted again.
            for _ in 0..2 {
                numbers(n).chunks(4096).for_each(|c| distinct.add_numbers(c));
            }
            let estimate = distinct.estimate();
            if n as usize <= SMALL_DISTINCT {
                assert_eq!(estimate, n as f64);
                assert!(matches!(distinct, Distinct::Exact(_)));
            } else {
                assert!((estimate / n as f64 - 1.0).abs() < 0.05, "n = {n}: estimate {estimate}");
            }
        }
    }

    #[test]
    fn merges_and_round_trips_agree_with_one_pass() {
        let labels: Vec<String> = (0..20_000).map(|i| format!("user-{}", i % 9_000)).collect();
        let mut one_pass = Distinct::default();
        labels.iter().for_each(|l| one_pass.add_label(l));
        let mut merged = Distinct::default();
        for part in labels.chunks(100) {
            let mut d = Distinct::default();
            part.iter().for_each(|l| d.add_label(l));
            let mut image = Vec::new();
            d.serialize(&mut image);
            let back = Distinct::deserialize(&mut Reader(&image)).unwrap();
            assert_eq!(back, d);
            merged.merge(&back);
        }
        assert_eq!(merged, one_pass, "the same registers whatever the grouping");
        assert!((merged.estimate() / 9_000.0 - 1.0).abs() < 0.05, "{}", merged.estimate());
        // Packed registers: about half of 4 KB, exceptions included.
        let mut image = Vec::new();
        merged.serialize(&mut image);
        assert!(image.len() < 2_200, "{} bytes", image.len());
        let mut skewed = merged.clone();
        if let Distinct::Registers(r) = &mut skewed {
            r[7] = MAX_REGISTER;
            r[4000] = 0;
        }
        let mut image = Vec::new();
        skewed.serialize(&mut image);
        assert_eq!(Distinct::deserialize(&mut Reader(&image)).unwrap(), skewed, "registers far apart round-trip");
        let mut far = vec![TAG_REGISTERS, 250];
        far.extend(std::iter::repeat_n(0xff, REGISTERS / 2));
        far.push(0);
        for bad in [vec![3u8], vec![TAG_REGISTERS, 1, 2], vec![TAG_EXACT, 2, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1], far] {
            assert!(Distinct::deserialize(&mut Reader(&bad)).is_err(), "{bad:?}");
        }
    }
}
