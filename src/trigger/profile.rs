//! Statistics on the write path: profiles of the watched columns, per window, fed in the same
//! pass over the transition table as the rules, written as one delta row per window touched.

use crate::catalog::compact::{compact, WindowKey};
use crate::catalog::{run_as_owner, timestamptz};
use crate::catalog::cache::Watch;
use crate::catalog::Repr;
use crate::error::raise;
use crate::profile::window::{encode, window_start, USECS_PER_DAY};
use crate::profile::{ColumnProfile, ProfileKind};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Datum};

/// A backend compacts the windows it writes once it has added this many delta rows to a table
/// since its last compaction of it: storage and reads stay small with no background worker.
const AUTO_COMPACT_EVERY: u32 = 64;

thread_local! {
    static DELTAS_WRITTEN: std::cell::RefCell<std::collections::HashMap<pg_sys::Oid, u32>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Windows profiled at once in one statement; past this, the open ones are written out and
/// started afresh (deltas merge on read), so a COPY spanning years stays in bounded memory.
const MAX_OPEN_WINDOWS: usize = 32;

pub struct ProfileBatch<'a> {
    watch: &'a Watch,
    /// Window start (microseconds since 2000-01-01; None for a NULL time) and its profiles.
    windows: Vec<(Option<i64>, Vec<ColumnProfile>)>,
    /// The window of the previous row: rows usually arrive in time order.
    last: usize,
    /// Without a time column every row falls in the window of the statement's start.
    write_window: Option<i64>,
}

impl<'a> ProfileBatch<'a> {
    pub fn new(watch: &'a Watch) -> Self {
        let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
        ProfileBatch { watch, windows: Vec::new(), last: 0, write_window: Some(window_start(now, watch.window_usecs)) }
    }

    /// The number of attributes a row must have deformed for these profiles.
    pub fn natts(&self) -> i32 {
        let columns = self.watch.columns.iter().map(|c| c.attno as i32 + 1);
        columns.chain(self.watch.time.map(|(attno, _)| attno as i32 + 1)).max().unwrap_or(0)
    }

    fn window_of(&self, values: *const Datum, nulls: *const bool) -> Option<i64> {
        let Some((attno, repr)) = self.watch.time else { return self.write_window };
        unsafe {
            if *nulls.add(attno) {
                return None;
            }
            let raw = (*values.add(attno)).value() as i64;
            let usecs = if repr == Repr::Date {
                let days = raw as i32;
                if days == i32::MAX || days == i32::MIN {
                    return None; // ±infinity: no window in time, like NULL
                }
                days as i64 * USECS_PER_DAY
            } else if raw == i64::MAX || raw == i64::MIN {
                return None;
            } else {
                raw
            };
            Some(window_start(usecs, self.watch.window_usecs))
        }
    }

    #[inline]
    pub unsafe fn row(&mut self, values: *const Datum, nulls: *const bool) {
        let key = self.window_of(values, nulls);
        if self.windows.get(self.last).is_none_or(|w| w.0 != key) {
            self.last = match self.windows.iter().position(|w| w.0 == key) {
                Some(i) => i,
                None => {
                    if self.windows.len() >= MAX_OPEN_WINDOWS {
                        self.write();
                    }
                    let fresh = self.watch.columns.iter().map(|c| ColumnProfile::new(c.kind)).collect();
                    self.windows.push((key, fresh));
                    self.windows.len() - 1
                }
            };
        }
        let profiles = &mut self.windows[self.last].1;
        for (column, profile) in self.watch.columns.iter().zip(profiles.iter_mut()) {
            if *nulls.add(column.attno) {
                profile.push_null();
                continue;
            }
            let d = *values.add(column.attno);
            match column.kind {
                ProfileKind::Numeric => profile.push_f64(as_f64(column.repr, d)),
                ProfileKind::Categorical => match column.repr {
                    Repr::Bool => profile.push_text(if d.value() != 0 { "true" } else { "false" }),
                    _ => {
                        let bytes = super::eval::text_bytes(column.repr, d);
                        match std::str::from_utf8(bytes) {
                            Ok(s) => profile.push_text(s),
                            Err(_) => profile.push_text(&String::from_utf8_lossy(bytes)),
                        }
                    }
                },
            }
        }
    }

    /// Appends one delta row per open window, as the extension's owner, in the writer's
    /// transaction, and closes them.
    pub fn write(&mut self) {
        if self.windows.is_empty() {
            return;
        }
        let attnums: Vec<i16> = self.watch.columns.iter().map(|c| c.attnum).collect();
        let starts: Vec<Option<i64>> = self.windows.iter().map(|w| w.0).collect();
        let start_values: Vec<Option<pgrx::datum::TimestampWithTimeZone>> =
            starts.iter().map(|w| w.map(timestamptz)).collect();
        for (_, profiles) in self.windows.iter_mut() {
            profiles.iter_mut().for_each(ColumnProfile::flush);
        }
        let payloads: Vec<Vec<u8>> = self
            .windows
            .iter()
            .map(|(_, profiles)| {
                let columns: Vec<(i16, &ColumnProfile)> = attnums.iter().copied().zip(profiles.iter()).collect();
                encode(&columns)
            })
            .collect();
        let (relid, epoch) = (self.watch.relid, self.watch.epoch);
        run_as_owner(
            "INSERT INTO vigil.profile_delta (relid, epoch, window_start, payload)
             SELECT $1, $2, w, p FROM unnest($3::timestamptz[], $4::bytea[]) AS d(w, p)",
            &[pg_sys::OIDOID, pg_sys::INT4OID, pg_sys::TIMESTAMPTZARRAYOID, pg_sys::BYTEAARRAYOID],
            &[relid.into(), epoch.into(), start_values.into(), payloads.into()],
        )
        .unwrap_or_else(|e| {
            raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("pg_vigil could not record statistics: {e}"), None, None)
        });
        let due = DELTAS_WRITTEN.with(|d| {
            let mut d = d.borrow_mut();
            let count = d.entry(relid).or_insert(0);
            *count += starts.len() as u32;
            let due = *count >= AUTO_COMPACT_EVERY;
            if due {
                *count = 0;
            }
            due
        });
        if due {
            let touched: Vec<WindowKey> = starts.iter().map(|&w| (epoch, w)).collect();
            compact(relid, Some(&touched));
        }
        self.windows.clear();
        self.last = 0;
    }
}

#[inline]
unsafe fn as_f64(repr: Repr, d: Datum) -> f64 {
    match repr {
        Repr::Int2 => d.value() as i16 as f64,
        Repr::Int4 => d.value() as i32 as f64,
        Repr::Int8 => d.value() as i64 as f64,
        Repr::Float4 => f32::from_bits(d.value() as u32) as f64,
        Repr::Float8 => f64::from_bits(d.value() as u64),
        _ => pgrx::fcinfo::direct_function_call_as_datum(pg_sys::numeric_float8_no_overflow, &[Some(d)])
            .map_or(f64::NAN, |f| f64::from_bits(f.value() as u64)),
    }
}
