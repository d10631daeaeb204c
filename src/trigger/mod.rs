//! The write path. `batch` is the AFTER ... FOR EACH STATEMENT trigger that reads the transition
//! table directly and judges reject/warn rules in one pass; `row` is the BEFORE ROW trigger that
//! exists only on tables with quarantine or repair rules; `pending` carries what the row trigger
//! saw to the statement trigger; `record` writes violations and quarantined rows.

pub mod batch;
pub mod eval;
pub mod multi;
pub mod pending;
pub mod profile;
pub mod record;
pub mod row;

use crate::error::raise;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};

/// The TriggerData of a call, or an error when the function was not called as a trigger.
unsafe fn trigger_data(fcinfo: pg_sys::FunctionCallInfo, function: &str) -> *mut pg_sys::TriggerData {
    let context = (*fcinfo).context;
    if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_TriggerData {
        raise(
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            format!("{function} must be called as a trigger"),
            None,
            None,
        );
    }
    context.cast()
}

/// Runs a trigger's body with name lookup pinned to pg_catalog, the search path of every SQL
/// statement the write path runs. An override search path is pushed and popped here rather than
/// a `SET search_path` clause on the function: that clause saves and restores the GUC on every
/// call and makes the writer's next statement recompute its search path, about 2 µs of a 50 µs
/// single-row INSERT. An error skips the pop; (sub)transaction abort discards the override.
unsafe fn with_pinned_search_path<R>(body: impl FnOnce() -> R) -> R {
    let mut catalog_only = pg_sys::OverrideSearchPath { schemas: std::ptr::null_mut(), addCatalog: true, addTemp: false, generation: 0 };
    pg_sys::PushOverrideSearchPath(&mut catalog_only);
    let result = body();
    pg_sys::PopOverrideSearchPath();
    result
}

/// Deforms the first `natts` attributes of a slot (slot_getsomeattrs without the call when done).
#[inline(always)]
unsafe fn deform(slot: *mut pg_sys::TupleTableSlot, natts: i32) {
    if ((*slot).tts_nvalid as i32) < natts {
        pg_sys::slot_getsomeattrs_int(slot, natts);
    }
}

/// Version-1 calling convention record for the C trigger functions declared in sql/api.sql.
macro_rules! finfo_v1 {
    ($name:ident) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn $name() -> &'static pgrx::pg_sys::Pg_finfo_record {
            static RECORD: pgrx::pg_sys::Pg_finfo_record = pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &RECORD
        }
    };
}
pub(crate) use finfo_v1;
