//! Connections to data nodes: libpq sessions opened from a postgres_fdw foreign server and the
//! current user's mapping, with postgres_fdw's rules (only libpq options are passed on; a
//! non-superuser must authenticate with a password unless the mapping says otherwise).
//!
//! Why libpq here rather than postgres_fdw's own connections: postgres_fdw commits in one phase
//! and refuses PREPARE TRANSACTION, and its connection API is not installed; dblink would need
//! another extension and reports a down node as an ERROR. A failure here is a value, so views
//! can say which node is missing and answer for the rest.

use pgrx::pg_sys::{self, Oid};
use pq_sys::*;
use std::ffi::{CStr, CString};

/// A node's error, as the node reported it (or as libpq did, with SQLSTATE 08006).
#[derive(Debug, Clone)]
pub struct RemoteError {
    pub sqlstate: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl RemoteError {
    fn connection(message: impl Into<String>) -> RemoteError {
        RemoteError { sqlstate: "08006".into(), message: message.into(), detail: None, hint: None }
    }
}

/// Seconds a connection attempt may take when the server's options give no connect_timeout.
const CONNECT_TIMEOUT_SECS: &str = "10";
/// Milliseconds a statement sent from a transaction callback may wait for its node (those
/// cannot be cancelled by the user).
const CALLBACK_TIMEOUT_MS: i64 = 10_000;

/// One libpq session with a node.
pub struct Conn {
    raw: *mut PGconn,
    /// The connection options it was opened with: a change of the server or mapping reconnects.
    options: Vec<(String, String)>,
    /// A statement was sent and its results not all read (an interrupt came in between).
    busy: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        unsafe { PQfinish(self.raw) }
    }
}

/// Rows of a result, as text (NULL as None).
pub type Rows = Vec<Vec<Option<String>>>;

/// How long `exec` may wait for the node, and whether the user can cancel it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Serve interrupts (a statement's cancel, a terminate) while waiting.
    Interruptible,
    /// From a transaction callback: no interrupts, at most CALLBACK_TIMEOUT_MS.
    Bounded,
}

fn text(p: *const std::os::raw::c_char) -> Option<String> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().trim_end().to_string())
}

impl Conn {
    pub fn is_usable(&self) -> bool {
        !self.busy && unsafe { PQstatus(self.raw) } == ConnStatusType::CONNECTION_OK
    }

    /// Whether the node's session is outside any transaction.
    pub fn is_idle(&self) -> bool {
        self.is_usable() && unsafe { PQtransactionStatus(self.raw) } == PGTransactionStatusType::PQTRANS_IDLE
    }

    pub fn opened_with(&self, options: &[(String, String)]) -> bool {
        self.options == options
    }

    /// Runs one statement with text parameters and returns its rows.
    pub fn exec(&mut self, sql: &str, params: &[Option<&str>], wait: Wait) -> Result<Rows, RemoteError> {
        let sql = CString::new(sql).map_err(|_| RemoteError::connection("a statement with a NUL byte"))?;
        let params: Vec<Option<CString>> =
            params.iter().map(|p| p.map(|s| CString::new(s).unwrap_or_else(|_| CString::new(s.replace('\0', "")).expect("no NUL")))).collect();
        let values: Vec<*const std::os::raw::c_char> = params.iter().map(|p| p.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())).collect();
        unsafe {
            let sent = PQsendQueryParams(
                self.raw,
                sql.as_ptr(),
                values.len() as i32,
                std::ptr::null(),
                values.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                0,
            );
            if sent == 0 {
                return Err(RemoteError::connection(text(PQerrorMessage(self.raw)).unwrap_or_default()));
            }
            self.busy = true;
            self.await_results(wait)?;
            let mut last: Result<Rows, RemoteError> = Ok(Vec::new());
            loop {
                let result = PQgetResult(self.raw);
                if result.is_null() {
                    break;
                }
                last = read_result(result);
                PQclear(result);
            }
            self.busy = false;
            last
        }
    }

    /// Waits until the results have arrived, serving interrupts or bounded in time.
    unsafe fn await_results(&mut self, wait: Wait) -> Result<(), RemoteError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(CALLBACK_TIMEOUT_MS as u64);
        while PQisBusy(self.raw) != 0 {
            let mut events = pg_sys::WL_LATCH_SET | pg_sys::WL_SOCKET_READABLE | pg_sys::WL_EXIT_ON_PM_DEATH;
            let timeout = match wait {
                Wait::Interruptible => -1,
                Wait::Bounded => {
                    let left = deadline.saturating_duration_since(std::time::Instant::now()).as_millis() as i64;
                    if left == 0 {
                        return Err(RemoteError::connection("the node did not answer in time"));
                    }
                    events |= pg_sys::WL_TIMEOUT;
                    left
                }
            };
            let happened = pg_sys::WaitLatchOrSocket(pg_sys::MyLatch, events as i32, PQsocket(self.raw), timeout as _, pg_sys::PG_WAIT_EXTENSION);
            if happened as u32 & pg_sys::WL_LATCH_SET != 0 {
                pg_sys::ResetLatch(pg_sys::MyLatch);
                if wait == Wait::Interruptible {
                    pgrx::check_for_interrupts!();
                }
            }
            if happened as u32 & pg_sys::WL_SOCKET_READABLE != 0 && PQconsumeInput(self.raw) == 0 {
                return Err(RemoteError::connection(text(PQerrorMessage(self.raw)).unwrap_or_default()));
            }
        }
        Ok(())
    }
}

unsafe fn read_result(result: *mut PGresult) -> Result<Rows, RemoteError> {
    match PQresultStatus(result) {
        ExecStatusType::PGRES_TUPLES_OK | ExecStatusType::PGRES_COMMAND_OK => {
            let (rows, cols) = (PQntuples(result), PQnfields(result));
            Ok((0..rows)
                .map(|r| {
                    (0..cols)
                        .map(|c| (PQgetisnull(result, r, c) == 0).then(|| CStr::from_ptr(PQgetvalue(result, r, c)).to_string_lossy().into_owned()))
                        .collect()
                })
                .collect())
        }
        _ => {
            let field = |code: u8| text(PQresultErrorField(result, code as i32));
            Err(RemoteError {
                sqlstate: field(b'C').unwrap_or_else(|| "08006".into()),
                message: field(b'M').or_else(|| text(PQresultErrorMessage(result))).unwrap_or_default(),
                detail: field(b'D'),
                hint: field(b'H'),
            })
        }
    }
}

/// The foreign server `name` (of postgres_fdw), or None.
pub fn server_oid(name: &str) -> Option<Oid> {
    let cname = CString::new(name).ok()?;
    unsafe {
        let server = pg_sys::GetForeignServerByName(cname.as_ptr(), true);
        if server.is_null() {
            return None;
        }
        let fdw = pg_sys::GetForeignDataWrapper((*server).fdwid);
        (CStr::from_ptr((*fdw).fdwname).to_bytes() == b"postgres_fdw").then_some((*server).serverid)
    }
}

/// The libpq keywords a server or mapping option may set (debug options excluded, as
/// postgres_fdw does).
fn libpq_keywords() -> Vec<String> {
    unsafe {
        let defaults = PQconndefaults();
        let mut keywords = Vec::new();
        let mut option = defaults;
        while !option.is_null() && !(*option).keyword.is_null() {
            let debug = !(*option).dispchar.is_null() && CStr::from_ptr((*option).dispchar).to_bytes().contains(&b'D');
            if !debug {
                keywords.push(CStr::from_ptr((*option).keyword).to_string_lossy().into_owned());
            }
            option = option.add(1);
        }
        PQconninfoFree(defaults);
        keywords
    }
}

unsafe fn def_options(list: *mut pg_sys::List) -> Vec<(String, String)> {
    pgrx::PgList::<pg_sys::DefElem>::from_pg(list)
        .iter_ptr()
        .map(|def| {
            (
                CStr::from_ptr((*def).defname).to_string_lossy().into_owned(),
                CStr::from_ptr(pg_sys::defGetString(def)).to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// Why a connection to a node may not be opened, as an error of the node's kind.
fn refused(message: String, detail: Option<String>, hint: Option<String>) -> RemoteError {
    RemoteError { sqlstate: "2F003".into(), message, detail, hint }
}

/// The libpq options for `server` as `user`: its libpq options, then the user
/// mapping's, then pg_vigil's application name, the database's encoding and a connect timeout.
/// Also whether a password must have been used (postgres_fdw's rule for non-superusers).
pub fn connection_options(server: &str, user: Oid) -> Result<(Vec<(String, String)>, bool), RemoteError> {
    let unknown = || RemoteError {
        sqlstate: "42704".into(),
        message: format!("foreign server \"{server}\" does not exist or is not a postgres_fdw server"),
        detail: None,
        hint: None,
    };
    let serverid = server_oid(server).ok_or_else(unknown)?;
    let mapped = crate::catalog::select_one::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_user_mappings WHERE srvid = $1 AND umuser IN ($2, 0))",
        &[serverid.into(), user.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false);
    if !mapped {
        return Err(RemoteError {
            sqlstate: "42704".into(),
            message: format!("user mapping not found for user \"{}\", server \"{server}\"", crate::catalog::current_user_name()),
            detail: None,
            hint: Some(format!("CREATE USER MAPPING FOR CURRENT_USER SERVER {}", crate::catalog::quote_ident(server))),
        });
    }
    let (server_options, mapping_options) = unsafe {
        let s = pg_sys::GetForeignServer(serverid);
        let m = pg_sys::GetUserMapping(user, serverid);
        (def_options((*s).options), def_options((*m).options))
    };
    let keywords = libpq_keywords();
    let mut options: Vec<(String, String)> =
        server_options.iter().chain(&mapping_options).filter(|(k, _)| keywords.contains(k)).cloned().collect();
    let superuser = unsafe { pg_sys::superuser_arg(user) };
    let password_required = !mapping_options.iter().any(|(k, v)| k == "password_required" && v == "false");
    if !superuser && password_required && !mapping_options.iter().any(|(k, v)| k == "password" && !v.is_empty()) {
        return Err(refused(
            "password is required".into(),
            Some("Non-superusers must provide a password in the user mapping.".into()),
            None,
        ));
    }
    if !options.iter().any(|(k, _)| k == "connect_timeout") {
        options.push(("connect_timeout".into(), CONNECT_TIMEOUT_SECS.into()));
    }
    let encoding = unsafe { CStr::from_ptr(pg_sys::GetDatabaseEncodingName()) }.to_string_lossy().into_owned();
    options.push(("fallback_application_name".into(), "pg_vigil".into()));
    options.push(("client_encoding".into(), encoding));
    Ok((options, !superuser && password_required))
}

/// Opens a session with the options of `connection_options`.
pub fn open(options: Vec<(String, String)>, password_required: bool) -> Result<Conn, RemoteError> {
    let keys: Vec<CString> = options.iter().map(|(k, _)| CString::new(k.as_str()).unwrap_or_default()).collect();
    let values: Vec<CString> = options.iter().map(|(_, v)| CString::new(v.as_str()).unwrap_or_default()).collect();
    let mut key_ptrs: Vec<*const std::os::raw::c_char> = keys.iter().map(|k| k.as_ptr()).collect();
    let mut value_ptrs: Vec<*const std::os::raw::c_char> = values.iter().map(|v| v.as_ptr()).collect();
    key_ptrs.push(std::ptr::null());
    value_ptrs.push(std::ptr::null());
    unsafe {
        let raw = PQconnectdbParams(key_ptrs.as_ptr(), value_ptrs.as_ptr(), 0);
        let conn = Conn { raw, options, busy: false };
        if raw.is_null() || PQstatus(raw) != ConnStatusType::CONNECTION_OK {
            let why = if raw.is_null() { "out of memory".into() } else { text(PQerrorMessage(raw)).unwrap_or_default() };
            return Err(RemoteError::connection(format!("could not connect: {why}")));
        }
        if password_required && PQconnectionUsedPassword(raw) == 0 {
            return Err(refused(
                "password is required".into(),
                Some("Non-superuser cannot connect if the server does not request a password.".into()),
                Some("Target server's authentication method must be changed or set password_required=false in the user mapping attributes.".into()),
            ));
        }
        Ok(conn)
    }
}
