//! Time windows and the payload of one statistics delta row (all watched columns of one table,
//! one window, one statement), so a write adds one row per window it touches, not one per column.

use super::relations::{LoneNulls, PairOrders, Relations};
use super::{put_varint, ColumnProfile, ProfileError, Reader};

/// Microseconds per day; windows are fixed durations aligned on PostgreSQL's epoch
/// (2000-01-01 00:00 UTC), so daily windows start at UTC midnight, and on Monday 2000-01-03
/// when they last whole weeks, so weekly windows are ISO weeks.
pub const USECS_PER_DAY: i64 = 86_400_000_000;
const USECS_PER_WEEK: i64 = 7 * USECS_PER_DAY;

/// Start of the window holding `usecs` (microseconds since 2000-01-01), for windows of `size`.
pub fn window_start(usecs: i64, size: i64) -> i64 {
    let origin = if size % USECS_PER_WEEK == 0 { 2 * USECS_PER_DAY } else { 0 };
    usecs - (usecs - origin).rem_euclid(size)
}

/// The attnum under which a window's payload keeps the profile of its rows' times, as fractions
/// of the window (0 at its start): no column has attnum 0. A load stamped hours late, or a
/// timezone bug, moves this distribution while every value column may look normal.
pub const TIME_IN_WINDOW_ATTNUM: i16 = 0;

/// Where `usecs` falls in its window of `size`, as a fraction in [0, 1).
pub fn time_in_window(usecs: i64, size: i64) -> f64 {
    fraction_of_window(usecs, window_start(usecs, size), size)
}

/// Where `usecs` falls in the window of `size` starting at `start` (known already).
#[inline]
pub fn fraction_of_window(usecs: i64, start: i64, size: i64) -> f64 {
    (usecs - start) as f64 / size as f64
}

/// A timestamp (with or without time zone, microseconds since 2000-01-01) that has a window:
/// None for ±infinity.
#[inline]
pub fn finite_timestamp(usecs: i64) -> Option<i64> {
    (usecs != i64::MAX && usecs != i64::MIN).then_some(usecs)
}

/// A date (days since 2000-01-01) as the microseconds of its midnight: None for ±infinity.
#[inline]
pub fn finite_date(days: i32) -> Option<i64> {
    (days != i32::MAX && days != i32::MIN).then_some(days as i64 * USECS_PER_DAY)
}

/// The attnum under which a payload keeps its pairs' orders (relations::PairOrders): no
/// column has a negative one, and the table's row count is -1 in memos.
pub const RELATIONS_ATTNUM: i16 = -2;
/// The attnum under which a payload keeps its columns' lone NULLs (relations::LoneNulls).
pub const LONE_NULLS_ATTNUM: i16 = -3;

/// The attnum under which a payload keeps when its rows were written (Arrivals).
pub const ARRIVALS_ATTNUM: i16 = -4;

/// When a window's rows were written: the first and the last write's statement time
/// (microseconds since 2000-01-01). Written by the write path only, so a backfill of history is
/// not an arrival; merged as (earliest, latest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrivals {
    pub first: i64,
    pub last: i64,
}

impl Arrivals {
    pub fn at(usecs: i64) -> Arrivals {
        Arrivals { first: usecs, last: usecs }
    }

    pub fn merge(&mut self, other: &Arrivals) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }

    fn serialize_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.last.to_le_bytes());
    }

    fn deserialize(bytes: &[u8]) -> Result<Arrivals, ProfileError> {
        let mut r = Reader(bytes);
        let first = i64::from_le_bytes(r.take(8)?.try_into().expect("8 bytes"));
        let last = i64::from_le_bytes(r.take(8)?.try_into().expect("8 bytes"));
        Ok(Arrivals { first, last })
    }
}

/// `[n varint] ([attnum i16] [len varint] [profile])*`, then the pairs' orders (if any), the
/// lone NULLs (if counted) and the arrivals (if written) as frames under RELATIONS_ATTNUM,
/// LONE_NULLS_ATTNUM and ARRIVALS_ATTNUM.
pub fn encode(
    columns: &[(i16, &ColumnProfile)],
    orders: Option<&PairOrders>,
    lone_nulls: Option<&LoneNulls>,
    arrivals: Option<Arrivals>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * columns.len());
    let orders = orders.filter(|r| !r.is_empty());
    let frames = columns.len() + orders.is_some() as usize + lone_nulls.is_some() as usize + arrivals.is_some() as usize;
    put_varint(&mut out, frames as u64);
    let mut bytes = Vec::new();
    // Frames in ascending attnum order, as merged payloads list them.
    if let Some(arrivals) = arrivals {
        arrivals.serialize_into(&mut bytes);
        put_frame(&mut out, ARRIVALS_ATTNUM, &bytes);
        bytes.clear();
    }
    if let Some(lone_nulls) = lone_nulls {
        lone_nulls.serialize_into(&mut bytes);
        put_frame(&mut out, LONE_NULLS_ATTNUM, &bytes);
    }
    if let Some(orders) = orders {
        bytes.clear();
        orders.serialize_into(&mut bytes);
        put_frame(&mut out, RELATIONS_ATTNUM, &bytes);
    }
    for (attnum, profile) in columns {
        bytes.clear();
        profile.serialize_into(&mut bytes);
        put_frame(&mut out, *attnum, &bytes);
    }
    out
}

fn put_frame(out: &mut Vec<u8>, attnum: i16, profile: &[u8]) {
    out.extend_from_slice(&attnum.to_le_bytes());
    put_varint(out, profile.len() as u64);
    out.extend_from_slice(profile);
}

/// The (attnum, serialized profile) frames of a payload, unparsed.
fn frames(bytes: &[u8]) -> Result<Vec<(i16, &[u8])>, ProfileError> {
    let mut r = Reader(bytes);
    let count = r.varint()? as usize;
    let mut frames = Vec::with_capacity(count.min(1600));
    for _ in 0..count {
        let attnum = i16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes"));
        let len = r.varint()? as usize;
        frames.push((attnum, r.take(len)?));
    }
    Ok(frames)
}

/// The column profiles of a payload (its relations: `decode_relations`).
pub fn decode(bytes: &[u8]) -> Result<Vec<(i16, ColumnProfile)>, ProfileError> {
    frames(bytes)?
        .into_iter()
        .filter(|(attnum, _)| *attnum >= TIME_IN_WINDOW_ATTNUM)
        .map(|(attnum, p)| Ok((attnum, ColumnProfile::deserialize(p)?)))
        .collect()
}

/// The relations between columns a payload holds, if any.
pub fn decode_relations(bytes: &[u8]) -> Result<Option<Relations>, ProfileError> {
    let mut relations: Option<Relations> = None;
    for (attnum, p) in frames(bytes)? {
        match attnum {
            RELATIONS_ATTNUM => relations.get_or_insert_with(Default::default).orders = PairOrders::deserialize(p)?,
            LONE_NULLS_ATTNUM => relations.get_or_insert_with(Default::default).lone_nulls = Some(LoneNulls::deserialize(p)?),
            _ => {}
        }
    }
    Ok(relations)
}

/// When the payload's rows were written, if it says.
pub fn decode_arrivals(bytes: &[u8]) -> Result<Option<Arrivals>, ProfileError> {
    frames(bytes)?.into_iter().find(|f| f.0 == ARRIVALS_ATTNUM).map(|f| Arrivals::deserialize(f.1)).transpose()
}

/// Merges delta payloads of one window into one payload. Columns whose profiles are all small
/// and raw are merged byte-wise (see `merge_raw_into`); the others are built and merged.
pub fn merge_payloads(payloads: &[&[u8]]) -> Result<Vec<u8>, ProfileError> {
    let framed: Vec<Vec<(i16, &[u8])>> = payloads.iter().map(|p| frames(p)).collect::<Result<_, _>>()?;
    // Deltas of one table usually list the same columns in the same (ascending) order: then
    // column i of every payload merges with column i of the others, without a map.
    let layout: Vec<i16> = framed.first().map(|f| f.iter().map(|c| c.0).collect()).unwrap_or_default();
    let same_layout = layout.windows(2).all(|w| w[0] < w[1])
        && framed.iter().all(|f| f.len() == layout.len() && f.iter().zip(&layout).all(|(c, a)| c.0 == *a));
    let by_column: Vec<(i16, Vec<&[u8]>)> = if same_layout {
        layout.iter().enumerate().map(|(i, &attnum)| (attnum, framed.iter().map(|f| f[i].1).collect())).collect()
    } else {
        let mut by_column: std::collections::BTreeMap<i16, Vec<&[u8]>> = std::collections::BTreeMap::new();
        for frames in &framed {
            for &(attnum, profile) in frames {
                by_column.entry(attnum).or_default().push(profile);
            }
        }
        by_column.into_iter().collect()
    };
    let mut out = Vec::with_capacity(payloads.iter().map(|p| p.len()).sum::<usize>());
    put_varint(&mut out, by_column.len() as u64);
    let mut merged = Vec::new();
    for (attnum, profiles) in by_column {
        merged.clear();
        if attnum == RELATIONS_ATTNUM {
            let mut relations = PairOrders::deserialize(profiles[0])?;
            for bytes in &profiles[1..] {
                relations.merge(&PairOrders::deserialize(bytes)?);
            }
            relations.serialize_into(&mut merged);
        } else if attnum == ARRIVALS_ATTNUM {
            let mut arrivals = Arrivals::deserialize(profiles[0])?;
            for bytes in &profiles[1..] {
                arrivals.merge(&Arrivals::deserialize(bytes)?);
            }
            arrivals.serialize_into(&mut merged);
        } else if attnum == LONE_NULLS_ATTNUM {
            let mut lone = LoneNulls::deserialize(profiles[0])?;
            for bytes in &profiles[1..] {
                lone.merge(&LoneNulls::deserialize(bytes)?);
            }
            lone.serialize_into(&mut merged);
        } else if !super::merge_raw_into(&profiles, &mut merged)? {
            let mut profile = ColumnProfile::deserialize(profiles[0])?;
            for bytes in &profiles[1..] {
                // Profiles of different kinds under one attnum (a column whose type changed)
                // keep the first, as merge_into does.
                let _ = profile.merge(&ColumnProfile::deserialize(bytes)?);
            }
            profile.serialize_into(&mut merged);
        }
        put_frame(&mut out, attnum, &merged);
    }
    Ok(out)
}

/// The payload with its columns' keys changed by `key` (a column it maps to None is left out):
/// statistics of the same columns kept under other attnums, in another database (a data node
/// whose table numbers its columns differently), read under this one's keys. The relations
/// between columns follow their columns; the time and arrival frames stay as they are.
pub fn rekey(bytes: &[u8], key: impl Fn(i16) -> Option<i16>) -> Result<Vec<u8>, ProfileError> {
    let mut out_frames: Vec<(i16, Vec<u8>)> = Vec::new();
    for (attnum, p) in frames(bytes)? {
        let mut body = Vec::new();
        match attnum {
            RELATIONS_ATTNUM => {
                let mut pairs: Vec<(i16, i16, super::relations::Order)> = PairOrders::deserialize(p)?
                    .pairs
                    .into_iter()
                    .filter_map(|(a, b, o)| {
                        let (a, b) = (key(a)?, key(b)?);
                        // Kept first < second: swapped, the pair's below and above swap too.
                        Some(if a < b { (a, b, o) } else { (b, a, super::relations::Order { both: o.both, below: o.above, above: o.below }) })
                    })
                    .collect();
                pairs.sort_by_key(|p| (p.0, p.1));
                PairOrders { pairs }.serialize_into(&mut body);
            }
            LONE_NULLS_ATTNUM => {
                let mut counts: Vec<(i16, u64)> = LoneNulls::deserialize(p)?.counts.into_iter().filter_map(|(a, n)| Some((key(a)?, n))).collect();
                counts.sort_by_key(|c| c.0);
                LoneNulls { counts }.serialize_into(&mut body);
            }
            a if a > TIME_IN_WINDOW_ATTNUM => match key(a) {
                Some(to) => {
                    out_frames.push((to, p.to_vec()));
                    continue;
                }
                None => continue,
            },
            _ => body.extend_from_slice(p),
        }
        out_frames.push((attnum, body));
    }
    // Merges pair columns by place, in ascending attnums (see merge_payloads).
    out_frames.sort_by_key(|f| f.0);
    let mut out = Vec::with_capacity(bytes.len());
    put_varint(&mut out, out_frames.len() as u64);
    for (attnum, body) in &out_frames {
        put_frame(&mut out, *attnum, body);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileKind;

    #[test]
    fn windows_align_on_the_epoch_including_before_it() {
        let day = USECS_PER_DAY;
        assert_eq!(window_start(0, day), 0);
        assert_eq!(window_start(day + 5, day), day);
        assert_eq!(window_start(-1, day), -day);
        let hour = 3_600_000_000;
        assert_eq!(window_start(2 * hour + 59, hour), 2 * hour);
        // Weeks start on Monday: 2000-01-03 is day 2, 2000-01-09 (Sunday) belongs to it.
        let week = 7 * day;
        assert_eq!(window_start(8 * day, week), 2 * day);
        assert_eq!(window_start(day, week), -5 * day);
    }

    #[test]
    fn rekeyed_payloads_merge_with_payloads_of_the_new_keys() {
        let column = |values: &[f64]| {
            let mut p = ColumnProfile::new(ProfileKind::Numeric);
            values.iter().for_each(|&v| p.push_f64(v));
            p
        };
        // A node keeps (temp, wind) under attnums 5 and 3; the coordinator under 2 and 4.
        let mut orders = PairOrders::for_columns(&[3, 5]);
        orders.row(&[1.0, 20.0]); // wind below temp
        let node = encode(&[(3, &column(&[1.0])), (5, &column(&[20.0]))], Some(&orders), None, None);
        let rekeyed = rekey(&node, |a| match a {
            5 => Some(2),
            3 => Some(4),
            _ => None,
        })
        .unwrap();
        let mut here = PairOrders::for_columns(&[2, 4]);
        here.row(&[25.0, 2.0]); // temp above wind
        let local = encode(&[(2, &column(&[25.0])), (4, &column(&[2.0]))], Some(&here), None, None);
        let merged = merge_payloads(&[&rekeyed, &local]).unwrap();
        let columns = decode(&merged).unwrap();
        assert_eq!(columns.iter().map(|c| (c.0, c.1.rows)).collect::<Vec<_>>(), vec![(2, 2), (4, 2)]);
        assert_eq!(columns[0].1.moments().min, 20.0); // temp: 20 from the node, 25 here
        let relations = decode_relations(&merged).unwrap().unwrap();
        // Both rows: temp (2) above wind (4).
        assert_eq!(relations.orders.pairs, vec![(2, 4, crate::profile::relations::Order { both: 2, below: 0, above: 2 })]);
        assert!(rekey(&node, |_| None).map(|p| decode(&p).unwrap().is_empty()).unwrap());
    }

    #[test]
    fn payload_round_trips_several_columns() {
        let mut a = ColumnProfile::new(ProfileKind::Numeric);
        [1.0, 2.0, 4.0].iter().for_each(|&v| a.push_f64(v));
        let mut b = ColumnProfile::new(ProfileKind::Categorical);
        b.push_text("x");
        b.push_null();
        let mut orders = PairOrders::for_columns(&[3, 4]);
        orders.row(&[1.0, 2.0]);
        let mut lone = LoneNulls::for_columns(&[3, 7]);
        lone.lone(1);
        let bytes = encode(&[(3, &a), (7, &b)], Some(&orders), Some(&lone), Some(Arrivals::at(42)));
        let back = decode(&bytes).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].0, back[0].1.moments()), (3, a.moments()));
        assert_eq!((back[1].0, back[1].1.rows, back[1].1.nulls), (7, 2, 1));
        assert_eq!(decode_relations(&bytes).unwrap(), Some(Relations { orders, lone_nulls: Some(LoneNulls { counts: vec![(7, 1)] }), sources: Vec::new(), divergence: Vec::new() }));
        assert_eq!(decode_arrivals(&bytes).unwrap(), Some(Arrivals::at(42)));
        assert_eq!(decode_arrivals(&encode(&[(3, &a)], None, None, None)).unwrap(), None);
        assert_eq!(decode(&bytes[..bytes.len() - 1]).unwrap_err(), ProfileError::Truncated);
    }

    #[test]
    fn merged_payloads_equal_merged_profiles() {
        // Small raw profiles merge byte-wise; past RAW_LIMIT values they become sketches.
        let rows = |from: usize, to: usize| {
            let mut x = ColumnProfile::new(ProfileKind::Numeric);
            let mut t = ColumnProfile::new(ProfileKind::Categorical);
            for i in from..to {
                if i % 7 == 0 { x.push_null() } else { x.push_f64(i as f64 * 0.5) }
                t.push_text(["a", "bb", "ü"][i % 3]);
            }
            let mut orders = PairOrders::for_columns(&[1, 2]);
            let mut lone = LoneNulls::for_columns(&[1, 2]);
            (from..to).for_each(|i| orders.row(&[i as f64, 7.0]));
            (from..to).filter(|i| i % 7 == 0).for_each(|_| lone.lone(0));
            encode(&[(1, &x), (2, &t)], Some(&orders), Some(&lone), Some(Arrivals::at(to as i64)))
        };
        for (parts, total) in [(vec![(0, 1), (1, 2), (2, 40)], 40), (vec![(0, 200), (200, 300), (300, 301)], 301)] {
            let payloads: Vec<Vec<u8>> = parts.iter().map(|&(a, b)| rows(a, b)).collect();
            let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_slice()).collect();
            let merged_bytes = merge_payloads(&refs).unwrap();
            // Each part was written at its last row's number: the earliest and the latest.
            assert_eq!(decode_arrivals(&merged_bytes).unwrap(), Some(Arrivals { first: parts[0].1 as i64, last: total as i64 }));
            let merged = decode(&merged_bytes).unwrap();
            let whole = decode(&rows(0, total)).unwrap();
            assert_eq!(decode_relations(&merged_bytes).unwrap(), decode_relations(&rows(0, total)).unwrap());
            for ((a1, m), (a2, w)) in merged.iter().zip(&whole) {
                assert_eq!((a1, m.rows, m.nulls, m.moments().n, m.is_raw()), (a2, w.rows, w.nulls, w.moments().n, w.is_raw()));
                assert!((m.moments().mean - w.moments().mean).abs() < 1e-12);
                assert_eq!(m.top_values(3), w.top_values(3));
            }
        }
    }
}
