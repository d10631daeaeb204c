//! The vigil.* configuration tables and what the rest of the extension needs from PostgreSQL's
//! catalogs: column types, ownership, and running internal writes as the extension's owner.

pub mod cache;
pub mod compact;

pub use crate::profile::window::USECS_PER_DAY;

use crate::error::raise;
use crate::rules::ColumnKind;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Oid};
use pgrx::prelude::*;
use std::cell::Cell;
use std::ffi::{CStr, CString};

/// How a column's Datum is laid out; decides the decoder the write path uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Date,
    Timestamp,
    Text,
    BpChar,
    Bool,
    Other,
}

impl Repr {
    /// Classifies a column type, looking through domains to their base type.
    pub fn of(typid: Oid) -> Repr {
        let base = unsafe { pg_sys::getBaseType(typid) };
        match base {
            pg_sys::INT2OID => Repr::Int2,
            pg_sys::INT4OID => Repr::Int4,
            pg_sys::INT8OID => Repr::Int8,
            pg_sys::FLOAT4OID => Repr::Float4,
            pg_sys::FLOAT8OID => Repr::Float8,
            pg_sys::NUMERICOID => Repr::Numeric,
            pg_sys::DATEOID => Repr::Date,
            pg_sys::TIMESTAMPOID | pg_sys::TIMESTAMPTZOID => Repr::Timestamp,
            pg_sys::TEXTOID | pg_sys::VARCHAROID => Repr::Text,
            pg_sys::BPCHAROID => Repr::BpChar,
            pg_sys::BOOLOID => Repr::Bool,
            _ => Repr::Other,
        }
    }

    /// How a watched column is profiled, or None when its type cannot be.
    pub fn profile_kind(self) -> Option<crate::profile::ProfileKind> {
        use crate::profile::ProfileKind;
        match self {
            Repr::Int2 | Repr::Int4 | Repr::Int8 | Repr::Float4 | Repr::Float8 | Repr::Numeric => {
                Some(ProfileKind::Numeric)
            }
            Repr::Text | Repr::BpChar | Repr::Bool => Some(ProfileKind::Categorical),
            Repr::Date | Repr::Timestamp | Repr::Other => None,
        }
    }

    /// Which values multi-value expectations compare this column's with (None: not decoded).
    pub fn value_group(self) -> Option<crate::rules::multi::ValueGroup> {
        use crate::rules::multi::ValueGroup;
        match self {
            Repr::Int2 | Repr::Int4 | Repr::Int8 | Repr::Float4 | Repr::Float8 | Repr::Numeric => Some(ValueGroup::Number),
            Repr::Date => Some(ValueGroup::Date),
            Repr::Timestamp => Some(ValueGroup::Timestamp),
            Repr::Text | Repr::BpChar => Some(ValueGroup::Text),
            Repr::Bool => Some(ValueGroup::Bool),
            Repr::Other => None,
        }
    }

    pub fn kind(self) -> ColumnKind {
        match self {
            Repr::Int2 | Repr::Int4 | Repr::Int8 => ColumnKind::Int,
            Repr::Float4 | Repr::Float8 => ColumnKind::Float,
            Repr::Numeric => ColumnKind::Numeric,
            Repr::Date => ColumnKind::Date,
            Repr::Timestamp => ColumnKind::Timestamp,
            Repr::Text | Repr::BpChar => ColumnKind::Text,
            Repr::Bool | Repr::Other => ColumnKind::Other,
        }
    }
}

/// A window start (microseconds since 2000-01-01, the internal form of a timestamptz) as the
/// SQL value, so no query has to convert it.
pub fn timestamptz(usecs: i64) -> TimestampWithTimeZone {
    TimestampWithTimeZone::try_from(usecs).unwrap_or_else(|_| {
        raise(PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW, "window start out of range", None, None)
    })
}

/// The first column of a query's first row. For reads: pgrx's `Spi::get_one*` assign the
/// transaction an id first (they may write), which a hot standby refuses (XX000).
pub fn select_one<T: FromDatum + IntoDatum>(sql: &str, args: &[pgrx::datum::DatumWithOid<'_>]) -> Result<Option<T>, pgrx::spi::Error> {
    Spi::connect(|client| client.select(sql, Some(1), args)?.first().get_one())
}

/// `select_one` for the first two columns.
pub fn select_two<A: FromDatum + IntoDatum, B: FromDatum + IntoDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid<'_>],
) -> Result<(Option<A>, Option<B>), pgrx::spi::Error> {
    Spi::connect(|client| client.select(sql, Some(1), args)?.first().get_two())
}

/// Whether the installed catalog keeps columns by name (0.3.0 on). After the package is updated
/// and before `ALTER EXTENSION pg_vigil UPDATE`, this library runs against the previous
/// catalog (attnums): the statements that differ have a form for each. Syscache lookups only.
pub fn columns_by_name() -> bool {
    unsafe {
        let schema = pg_sys::get_namespace_oid(c"vigil".as_ptr(), true);
        let table = pg_sys::get_relname_relid(c"constraint_def".as_ptr(), schema);
        table != Oid::INVALID && pg_sys::get_attnum(table, c"column_name".as_ptr()) != pg_sys::InvalidAttrNumber as i16
    }
}

/// `current` when the catalog keeps columns by name, else `before_0_3` (see columns_by_name).
pub fn for_catalog(current: &'static str, before_0_3: &'static str) -> &'static str {
    if columns_by_name() {
        current
    } else {
        before_0_3
    }
}

/// A table's name as SQL would write it, schema-qualified and quoted where needed.
pub fn qualified_name(relid: Oid) -> String {
    select_one::<String>("SELECT $1::pg_catalog.regclass::text", &[relid.into()])
        .ok()
        .flatten()
        .unwrap_or_else(|| format!("relation {}", relid.to_u32()))
}

pub fn type_name(typid: Oid) -> String {
    select_one::<String>("SELECT pg_catalog.format_type($1, NULL)", &[typid.into()])
        .ok()
        .flatten()
        .unwrap_or_else(|| "unknown".into())
}

/// Parses `text` with the input function of `typid` (raises the type's own error on bad input).
pub fn parse_with_type(text: &str, typid: Oid, typmod: i32) -> pg_sys::Datum {
    let c = CString::new(text).unwrap_or_else(|_| {
        raise(PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION, "value contains a NUL byte", None, None)
    });
    unsafe {
        let mut input = Oid::INVALID;
        let mut ioparam = Oid::INVALID;
        pg_sys::getTypeInputInfo(typid, &mut input, &mut ioparam);
        pg_sys::OidInputFunctionCall(input, c.as_ptr() as *mut _, ioparam, typmod)
    }
}

/// Whether the transaction reads through one snapshot (REPEATABLE READ or SERIALIZABLE): it may
/// not see what another transaction committed since it began.
pub fn uses_transaction_snapshot() -> bool {
    unsafe { pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32 }
}

/// Raises 25006 (read_only_sql_transaction) when the transaction cannot write (READ ONLY, or on
/// a hot standby, where all are), before anything is done: `action` says what was refused
/// ("evaluate windows").
pub fn require_writable(action: &str) {
    if !unsafe { pg_sys::XactReadOnly } {
        return;
    }
    let hint = if unsafe { pg_sys::RecoveryInProgress() } {
        "This server is a hot standby: run it on the primary."
    } else {
        "Run it in a read-write transaction."
    };
    raise(
        PgSqlErrorCode::ERRCODE_READ_ONLY_SQL_TRANSACTION,
        format!("cannot {action} in a read-only transaction"),
        None,
        Some(hint.into()),
    )
}

/// pg_[try_]advisory_xact_lock(class, relid) without a query (the write path asks often):
/// true when taken (or already held).
pub fn advisory_xact_lock(class: i32, relid: Oid, wait: bool) -> bool {
    let mut tag = pg_sys::LOCKTAG {
        locktag_field1: unsafe { pg_sys::MyDatabaseId }.to_u32(),
        locktag_field2: class as u32,
        locktag_field3: relid.to_u32(),
        locktag_field4: 2, // two int4 keys, as pg_try_advisory_xact_lock(int4, int4) sets it
        locktag_type: pg_sys::LockTagType::LOCKTAG_ADVISORY as u8,
        locktag_lockmethodid: pg_sys::USER_LOCKMETHOD as u8,
    };
    let result = unsafe { pg_sys::LockAcquire(&mut tag, pg_sys::ExclusiveLock as pg_sys::LOCKMODE, false, !wait) };
    result != pg_sys::LockAcquireResult::LOCKACQUIRE_NOT_AVAIL
}

/// `name` as an SQL identifier, quoted by PostgreSQL's own rules where needed.
pub fn quote_ident(name: &str) -> String {
    let c = CString::new(name).unwrap_or_else(|_| {
        raise(PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION, "name contains a NUL byte", None, None)
    });
    unsafe { CStr::from_ptr(pg_sys::quote_identifier(c.as_ptr())).to_string_lossy().into_owned() }
}

/// `text` as an SQL string literal, quoted by PostgreSQL's own rules.
pub fn quote_literal(text: &str) -> String {
    let c = CString::new(text).unwrap_or_else(|_| {
        raise(PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION, "value contains a NUL byte", None, None)
    });
    unsafe {
        let quoted = pg_sys::quote_literal_cstr(c.as_ptr());
        let out = CStr::from_ptr(quoted).to_string_lossy().into_owned();
        pg_sys::pfree(quoted.cast());
        out
    }
}

/// Renders a Datum with its type's output function.
pub fn output_text(typid: Oid, datum: pg_sys::Datum) -> String {
    unsafe {
        let mut output = Oid::INVALID;
        let mut varlena = false;
        pg_sys::getTypeOutputInfo(typid, &mut output, &mut varlena);
        let s = pg_sys::OidOutputFunctionCall(output, datum);
        let out = CStr::from_ptr(s).to_string_lossy().into_owned();
        pg_sys::pfree(s.cast());
        out
    }
}

thread_local! {
    static EXTENSION_OWNER: Cell<Option<Oid>> = const { Cell::new(None) };
    /// Plans of the write path's own statements, prepared once per backend: a statement that
    /// records one delta row must not pay for parsing and planning it every time.
    static KEPT_PLANS: std::cell::RefCell<std::collections::HashMap<&'static str, pgrx::spi::OwnedPreparedStatement>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Runs one of the extension's fixed statements as the extension's owner, with its plan kept
/// for the backend's life (PostgreSQL re-plans it if the tables it reads change), and hands its
/// result rows to `read`.
pub fn query_as_owner<R>(
    sql: &'static str,
    types: &[Oid],
    args: &[pgrx::datum::DatumWithOid<'_>],
    read: impl for<'t> FnOnce(pgrx::spi::SpiTupleTable<'t>) -> Result<R, pgrx::spi::Error>,
) -> Result<R, pgrx::spi::Error> {
    as_extension_owner(|| {
        // `select`, not `update`: pgrx's `update` assigns a transaction id first, which a hot
        // standby refuses; the kept plan is prepared as mutating, so writes see earlier ones.
        Spi::connect(|client| {
            if !KEPT_PLANS.with(|k| k.borrow().contains_key(sql)) {
                let types: Vec<pgrx::PgOid> = types.iter().map(|&t| pgrx::PgOid::from(t)).collect();
                let plan = client.prepare_mut(sql, &types)?.keep();
                KEPT_PLANS.with(|k| k.borrow_mut().insert(sql, plan));
            }
            KEPT_PLANS.with(|k| {
                let plans = k.borrow();
                let plan = plans.get(sql).expect("prepared above");
                read(client.select(plan, None, args)?)
            })
        })
    })
}

/// `query_as_owner` for statements whose result is not needed.
pub fn run_as_owner(sql: &'static str, types: &[Oid], args: &[pgrx::datum::DatumWithOid<'_>]) -> Result<(), pgrx::spi::Error> {
    query_as_owner(sql, types, args, |_| Ok(()))
}

/// The role that owns the extension's tables; internal writes run as this role.
fn extension_owner() -> Oid {
    if let Some(o) = EXTENSION_OWNER.with(Cell::get) {
        return o;
    }
    let owner = select_one::<Oid>(
        "SELECT relowner FROM pg_catalog.pg_class WHERE oid = 'vigil.constraint_def'::pg_catalog.regclass",
        &[],
    )
    .ok()
    .flatten()
    .unwrap_or_else(|| {
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE, "pg_vigil is not installed in this database", None,
            Some("Run CREATE EXTENSION pg_vigil.".into()))
    });
    EXTENSION_OWNER.with(|c| c.set(Some(owner)));
    owner
}

/// Restores the caller's identity even when the closure raises.
struct UserGuard {
    user: Oid,
    context: i32,
}

impl Drop for UserGuard {
    fn drop(&mut self) {
        unsafe { pg_sys::SetUserIdAndSecContext(self.user, self.context) }
    }
}

/// Runs `f` as the extension's owner, the way PostgreSQL's own RI triggers switch to the table
/// owner: users never get write access to vigil.* tables, the write path records on their behalf.
pub fn as_extension_owner<R>(f: impl FnOnce() -> R) -> R {
    let owner = extension_owner();
    let mut user = Oid::INVALID;
    let mut context = 0;
    unsafe { pg_sys::GetUserIdAndSecContext(&mut user, &mut context) };
    let _guard = UserGuard { user, context };
    unsafe {
        pg_sys::SetUserIdAndSecContext(owner, context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32)
    };
    f()
}

/// Runs `f` with `snapshot` as the active one: SQL run outside any statement (a transaction
/// callback), or a read that must see transactions ended since the statement began.
pub fn with_active_snapshot<R>(snapshot: pg_sys::Snapshot, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            unsafe { pg_sys::PopActiveSnapshot() }
        }
    }
    unsafe { pg_sys::PushActiveSnapshot(snapshot) };
    let _pop = Pop;
    f()
}

pub fn current_user() -> Oid {
    unsafe { pg_sys::GetUserId() }
}

pub fn current_user_name() -> String {
    unsafe { std::ffi::CStr::from_ptr(pg_sys::GetUserNameFromId(current_user(), true)) }.to_string_lossy().into_owned()
}

/// Raises 42501 unless the current user owns the table (or is a superuser).
pub fn require_owner(relid: Oid) {
    if !unsafe { pg_sys::pg_class_ownercheck(relid, current_user()) } {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("must be owner of table {}", qualified_name(relid)),
            None,
            Some("Only the table's owner (or a superuser) may declare or drop its constraints.".into()),
        );
    }
}

/// Raises 42501 unless the current user has `privilege` (e.g. ACL_SELECT) on the table.
pub fn require_privilege(relid: Oid, privilege: u64, what: &str) {
    let ok = unsafe { pg_sys::pg_class_aclcheck(relid, current_user(), privilege as pg_sys::AclMode) };
    if ok != pg_sys::AclResult::ACLCHECK_OK {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied for table {}", qualified_name(relid)),
            Some(format!("{what} needs that privilege on the table.")),
            None,
        );
    }
}

/// True when the database stores text as UTF-8 (character length then counts code points).
pub fn database_is_utf8() -> bool {
    unsafe { pg_sys::GetDatabaseEncoding() == pg_sys::pg_enc::PG_UTF8 as i32 }
}

/// Position (0-based) of a live column in a tuple descriptor, found by name.
pub unsafe fn column_index(tupdesc: pg_sys::TupleDesc, name: &str) -> usize {
    let attrs = (*tupdesc).attrs.as_slice((*tupdesc).natts as usize);
    attrs
        .iter()
        .position(|a| !a.attisdropped && CStr::from_ptr(a.attname.data.as_ptr()).to_bytes() == name.as_bytes())
        .unwrap_or_else(|| {
            raise(PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN, format!("column \"{name}\" is not in the rows read"), None, None)
        })
}

/// Rows fetched from a cursor at a time: bounded memory for any table.
const FETCH_ROWS: i64 = 10_000;

/// Runs `query` (as the current user) through a cursor and hands each row, deformed, to
/// `on_row` with the result's tuple descriptor; `after_fetch` gets the running row count after
/// each batch of rows. For whole-table passes (validate) without holding the table in
/// memory.
pub fn scan_query(
    query: &str,
    mut on_row: impl FnMut(pg_sys::TupleDesc, &[pg_sys::Datum], &[bool]),
    mut after_fetch: impl FnMut(u64),
) -> u64 {
    let query = CString::new(query).expect("no NUL in a generated query");
    let mut rows = 0u64;
    Spi::connect(|_client| unsafe {
        let portal = pg_sys::SPI_cursor_open_with_args(
            std::ptr::null(),
            query.as_ptr(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null(),
            true,
            0,
        );
        if portal.is_null() {
            raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "cannot open a cursor over the table", None, None);
        }
        let mut values: Vec<pg_sys::Datum> = Vec::new();
        let mut nulls: Vec<bool> = Vec::new();
        loop {
            pg_sys::SPI_cursor_fetch(portal, true, FETCH_ROWS as _);
            let table = pg_sys::SPI_tuptable;
            if table.is_null() || pg_sys::SPI_processed == 0 {
                break;
            }
            let tupdesc = (*table).tupdesc;
            let natts = (*tupdesc).natts as usize;
            values.resize(natts, pg_sys::Datum::from(0));
            nulls.resize(natts, true);
            for i in 0..pg_sys::SPI_processed as usize {
                pg_sys::heap_deform_tuple(*(*table).vals.add(i), tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
                on_row(tupdesc, &values, &nulls);
            }
            rows += pg_sys::SPI_processed;
            pg_sys::SPI_freetuptable(table);
            after_fetch(rows);
        }
        pg_sys::SPI_cursor_close(portal);
    });
    rows
}
