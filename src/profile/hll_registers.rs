//! HLL registers filled from a batch of numbers without the sketch's per-value update.
//!
//! Written by hand because the `datasketches` crate hashes through a generic `Hasher` (its
//! MurmurHash3 is private) and updates its estimator on every register change: together more
//! than the rest of a number's profiling. Here a number costs one MurmurHash3 of its 8 bytes,
//! computed exactly as the crate computes it (seed 9001, the DataSketches default), and one
//! `max` into an 8-bit register. The registers become a DataSketches HLL_8 image that the
//! crate reads and unions: the registers are what the crate's own updates would have produced.

use super::HLL_LG_K;

const SEED: u64 = 9001;
const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

/// The 128-bit MurmurHash3 (x64) of a u64 written as 8 little-endian bytes.
#[inline(always)]
fn murmur3_of_u64(value: u64) -> (u64, u64) {
    let (mut h1, mut h2) = (SEED, SEED);
    h1 ^= value.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    h1 ^= 8;
    h2 ^= 8;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

#[inline(always)]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// Counts `bits` in `registers` (2^HLL_LG_K of them) as the crate's `update(bits)` would.
#[inline(always)]
pub fn add(registers: &mut [u8], bits: u64) {
    let (low, high) = murmur3_of_u64(bits);
    let slot = (low as usize) & ((1 << HLL_LG_K) - 1);
    // The register value: leading zeros of the high half plus one, capped to fit six bits.
    let value = high.leading_zeros().min(62) as u8 + 1;
    let register = &mut registers[slot];
    *register = (*register).max(value);
}

const FAMILY_HLL: u8 = 7;
const SERIAL_VERSION: u8 = 1;
const PREAMBLE_INTS_HLL: u8 = 10;
const FLAG_OUT_OF_ORDER: u8 = 16;
/// Current mode HLL (2) in bits 0-1, target type HLL_8 (2) in bits 2-3.
const MODE_HLL8: u8 = 2 | (2 << 2);

/// The registers as a DataSketches HLL_8 image. Marked out of order: the registers carry no
/// history for the HIP estimator, so readers use the composite estimator, as for any union.
pub fn image(registers: &[u8]) -> Vec<u8> {
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
    let mut image = Vec::with_capacity(40 + registers.len());
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
    use datasketches::hll::{HllSketch, HllType, HllUnion};

    fn numbers(n: u64) -> impl Iterator<Item = u64> {
        (0..n).map(|i| (i as f64 * 0.37 + 1.0e-3).to_bits())
    }

    #[test]
    fn registers_equal_the_crates_own_updates() {
        for n in [1u64, 5, 300, 5_000, 200_000] {
            let mut sketch = HllSketch::new(HLL_LG_K, HllType::Hll8).unwrap();
            let mut registers = vec![0u8; 1 << HLL_LG_K];
            for bits in numbers(n) {
                sketch.update(bits);
                add(&mut registers, bits);
            }
            // Both through a union, as profiles read them: the same registers give the same count.
            let mut theirs = HllUnion::new(HLL_LG_K).unwrap();
            theirs.update(&sketch);
            let mut ours = HllUnion::new(HLL_LG_K).unwrap();
            ours.update(&HllSketch::deserialize(&image(&registers)).unwrap());
            let (a, b) = (theirs.to_sketch(HllType::Hll8), ours.to_sketch(HllType::Hll8));
            if n >= 5_000 {
                // Past the coupon-list sizes the crate is in array mode too: identical registers.
                assert_eq!(a.serialize()[40..], b.serialize()[40..], "n = {n}");
            }
            let relative = (b.estimate() - n as f64).abs() / n as f64;
            assert!(relative < 0.05, "n = {n}: estimate {} vs {}", b.estimate(), a.estimate());
        }
    }
}
