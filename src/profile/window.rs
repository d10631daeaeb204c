//! Time windows and the payload of one statistics delta row (all watched columns of one table,
//! one window, one statement), so a write adds one row per window it touches, not one per column.

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

/// `[n varint] ([attnum i16] [len varint] [profile])*`
pub fn encode(columns: &[(i16, &ColumnProfile)]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, columns.len() as u64);
    for (attnum, profile) in columns {
        out.extend_from_slice(&attnum.to_le_bytes());
        let bytes = profile.serialize();
        put_varint(&mut out, bytes.len() as u64);
        out.extend_from_slice(&bytes);
    }
    out
}

pub fn decode(bytes: &[u8]) -> Result<Vec<(i16, ColumnProfile)>, ProfileError> {
    let mut r = Reader(bytes);
    let count = r.varint()? as usize;
    let mut columns = Vec::with_capacity(count.min(1600));
    for _ in 0..count {
        let attnum = i16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes"));
        let len = r.varint()? as usize;
        columns.push((attnum, ColumnProfile::deserialize(r.take(len)?)?));
    }
    Ok(columns)
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
    fn payload_round_trips_several_columns() {
        let mut a = ColumnProfile::new(ProfileKind::Numeric);
        [1.0, 2.0, 4.0].iter().for_each(|&v| a.push_f64(v));
        let mut b = ColumnProfile::new(ProfileKind::Categorical);
        b.push_text("x");
        b.push_null();
        let bytes = encode(&[(3, &a), (7, &b)]);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].0, back[0].1.moments), (3, a.moments));
        assert_eq!((back[1].0, back[1].1.rows, back[1].1.nulls), (7, 2, 1));
        assert_eq!(decode(&bytes[..bytes.len() - 1]).unwrap_err(), ProfileError::Truncated);
    }
}
