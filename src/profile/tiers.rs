//! Which statistics deltas of one window to merge, size-tiered like an LSM tree: deltas are
//! grouped by the order of magnitude of their row count, and a group is merged once it holds
//! `FANOUT` of them. A single-row write then costs a few bytes of merged statistics instead of
//! rewriting the window's whole (sketch-sized) profile, yet a window never has more than about
//! `FANOUT` deltas per tier for readers to merge.

/// Deltas of one tier merged at once.
pub const FANOUT: usize = 32;
/// Row counts per tier grow by this factor (2^5).
const TIER_BITS: u32 = 5;

/// The tier of a delta holding `rows` rows.
pub fn tier(rows: i64) -> u32 {
    let rows = rows.max(1) as u64;
    (63 - rows.leading_zeros()) / TIER_BITS
}

/// Groups of delta ids to merge, each into one delta, given (id, rows) of a window's deltas.
pub fn plan(deltas: &[(i64, i64)]) -> Vec<Vec<i64>> {
    let mut by_tier: std::collections::BTreeMap<u32, Vec<i64>> = std::collections::BTreeMap::new();
    for &(id, rows) in deltas {
        by_tier.entry(tier(rows)).or_default().push(id);
    }
    by_tier.into_values().filter(|ids| ids.len() >= FANOUT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_grow_by_powers_of_thirty_two() {
        assert_eq!([0, 1, 31, 32, 1023, 1024, 1_000_000].map(tier), [0, 0, 0, 1, 1, 2, 3]);
    }

    #[test]
    fn only_full_tiers_merge_and_deltas_stay_bounded() {
        assert!(plan(&[(1, 1), (2, 1), (3, 10_000)]).is_empty());
        let singles: Vec<(i64, i64)> = (0..FANOUT as i64).map(|i| (i, 1)).collect();
        assert_eq!(plan(&singles), vec![(0..FANOUT as i64).collect::<Vec<_>>()]);
        // Simulate a stream of single-row writes, merging whenever a plan says so.
        let (mut deltas, mut next_id, mut most) = (Vec::<(i64, i64)>::new(), 0, 0);
        for _ in 0..100_000 {
            deltas.push((next_id, 1));
            next_id += 1;
            for group in plan(&deltas) {
                let rows: i64 = deltas.iter().filter(|d| group.contains(&d.0)).map(|d| d.1).sum();
                deltas.retain(|d| !group.contains(&d.0));
                deltas.push((next_id, rows));
                next_id += 1;
            }
            most = most.max(deltas.len());
        }
        assert_eq!(deltas.iter().map(|d| d.1).sum::<i64>(), 100_000, "no row lost");
        assert!(most <= (FANOUT - 1) * 4 + 1, "at most FANOUT - 1 deltas per tier, saw {most}");
    }
}
