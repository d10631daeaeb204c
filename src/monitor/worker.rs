//! Evaluation on a clock. With pg_vigil in shared_preload_libraries, a launcher wakes at most
//! every vigil.evaluate_interval and, for each database whose evaluation is due, starts a
//! short-lived worker (one at a time) that evaluates the finished windows of the database's
//! watched tables and records when the database is next due. No connection is held per
//! database, and while nothing is due nothing starts: the launcher only reads pg_database.

use super::evaluate::{evaluate_table, EVALUATE_LOCK_CLASS};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::lwlock::PgLwLock;
use pgrx::pg_shmem_init;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::shmem::PGRXSharedMemory;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// vigil.evaluate_interval, in seconds.
static EVALUATE_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(60);

/// A database looked at again at least this often (microseconds): a table watched since, or an
/// extension created since, is evaluated within it.
const RECHECK: i64 = 600_000_000;
/// A database's due time while its worker runs.
const RUNNING: i64 = i64::MAX;
/// Databases whose next evaluation is remembered; others are visited every interval.
const MAX_DATABASES: usize = 512;

/// Per database (by OID), when its evaluation is next due (microseconds since 2000-01-01).
#[derive(Clone, Copy)]
pub struct Schedule {
    due: [(u32, i64); MAX_DATABASES],
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { due: [(0, 0); MAX_DATABASES] }
    }
}

// Plain data, no pointers.
unsafe impl PGRXSharedMemory for Schedule {}

static SCHEDULE: PgLwLock<Schedule> = unsafe { PgLwLock::new(c"pg_vigil schedule") };
/// Whether this server runs the launcher (the library was preloaded, SCHEDULE exists).
static PRELOADED: AtomicBool = AtomicBool::new(false);

impl Schedule {
    fn due_at(&self, db: Oid) -> i64 {
        self.due.iter().find(|e| e.0 == db.to_u32()).map_or(0, |e| e.1)
    }

    fn set(&mut self, db: Oid, at: i64) {
        let db = db.to_u32();
        if let Some(i) = self.due.iter().position(|e| e.0 == db).or_else(|| self.due.iter().position(|e| e.0 == 0)) {
            self.due[i] = (db, at);
        }
    }

    /// Forgets databases no longer listed (dropped).
    fn keep_only(&mut self, databases: &[Oid]) {
        for slot in self.due.iter_mut().filter(|e| e.0 != 0 && !databases.iter().any(|d| d.to_u32() == e.0)) {
            *slot = (0, 0);
        }
    }
}

/// Defines the settings; when preloaded, also the shared schedule and the launcher.
#[allow(unexpected_cfgs)] // pg_shmem_init! tests features of other PostgreSQL versions
pub(crate) fn register() {
    GucRegistry::define_int_guc(
        c"vigil.evaluate_interval",
        c"How often the pg_vigil launcher looks for finished windows to evaluate.",
        c"Only with pg_vigil in shared_preload_libraries. A window is evaluated within this of its end (plus vigil.grace when it has no rows).",
        &EVALUATE_INTERVAL,
        1,
        86_400,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    pg_shmem_init!(SCHEDULE);
    PRELOADED.store(true, Ordering::Relaxed);
    BackgroundWorkerBuilder::new("pg_vigil launcher")
        .set_type("pg_vigil launcher")
        .set_library("pg_vigil")
        .set_function("vigil_launcher_main")
        .enable_shmem_access(None)
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(10)))
        .load();
}

/// Asks the launcher to visit this database at its next wake-up (a table was just watched).
pub(crate) fn wake_for_this_database() {
    if PRELOADED.load(Ordering::Relaxed) {
        SCHEDULE.exclusive().set(unsafe { pg_sys::MyDatabaseId }, 0);
    }
}

fn now() -> i64 {
    unsafe { pg_sys::GetCurrentTimestamp() }
}

/// The databases a worker may connect to (from the shared catalog: the launcher has none).
fn databases() -> Vec<Oid> {
    BackgroundWorker::transaction(|| unsafe {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let rel = pg_sys::table_open(pg_sys::DatabaseRelationId, lock);
        let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
        let mut out = Vec::new();
        loop {
            let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
            if tuple.is_null() {
                break;
            }
            let db = &*(pg_sys::GETSTRUCT(tuple) as *const pg_sys::FormData_pg_database);
            // datconnlimit -2: a database left invalid by an interrupted DROP DATABASE.
            if db.datallowconn && !db.datistemplate && db.datconnlimit != -2 {
                out.push(db.oid);
            }
        }
        pg_sys::table_endscan(scan);
        pg_sys::table_close(rel, lock);
        out
    })
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn vigil_launcher_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(None, None);
    log!("pg_vigil launcher started");
    loop {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        let interval = EVALUATE_INTERVAL.get().max(1) as i64 * 1_000_000;
        let listed = databases();
        SCHEDULE.exclusive().keep_only(&listed);
        for &db in &listed {
            if BackgroundWorker::sigterm_received() {
                return;
            }
            if SCHEDULE.share().due_at(db) > now() {
                continue;
            }
            // Until the worker says when next: a wake meanwhile (0) is not lost to its answer.
            SCHEDULE.exclusive().set(db, RUNNING);
            let started = BackgroundWorkerBuilder::new("pg_vigil evaluate")
                .set_type("pg_vigil evaluate")
                .set_library("pg_vigil")
                .set_function("vigil_database_main")
                .set_argument(Some(pg_sys::Datum::from(db)))
                .enable_shmem_access(None)
                .enable_spi_access()
                .set_start_time(BgWorkerStartTime::RecoveryFinished)
                .set_restart_time(None)
                .set_notify_pid(unsafe { pg_sys::MyProcPid })
                .load_dynamic();
            match started {
                // One database at a time: bounded load, and no connection left behind.
                Ok(worker) => {
                    let _ = worker.wait_for_shutdown();
                }
                Err(_) => {
                    warning!("pg_vigil: no background worker slot free to evaluate windows (max_worker_processes)");
                    break;
                }
            }
            // A worker that failed (its database dropped meanwhile) did not say when: later.
            let mut schedule = SCHEDULE.exclusive();
            if schedule.due_at(db) == RUNNING {
                schedule.set(db, now() + interval);
            }
        }
        let next = listed.iter().map(|&db| SCHEDULE.share().due_at(db)).min().unwrap_or(i64::MAX);
        let sleep = (next - now()).clamp(0, interval).max(100_000);
        if !BackgroundWorker::wait_latch(Some(Duration::from_micros(sleep as u64))) {
            break;
        }
    }
}

/// One database: evaluates its watched tables that are due, records when it is next due.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn vigil_database_main(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGTERM);
    let db = Oid::from(arg.value() as u32);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(db), None);
    let due: Vec<(Oid, Option<i64>)> = BackgroundWorker::transaction(|| {
        let installed = Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_vigil')")
            .ok()
            .flatten()
            .unwrap_or(false);
        if !installed || !crate::catalog::columns_by_name() {
            return Vec::new(); // not here, or not updated to this library yet
        }
        Spi::connect(|client| {
            client
                .select("SELECT relid::pg_catalog.oid, evaluate_after FROM vigil.watch_def ORDER BY relid", None, &[])?
                .map(|r| Ok((r.get::<Oid>(1)?.unwrap_or(pg_sys::InvalidOid), r.get::<TimestampWithTimeZone>(2)?.map(i64::from))))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
        .unwrap_or_default()
    });
    let mut next = now() + RECHECK;
    let mut failed: Vec<Oid> = Vec::new();
    for (relid, after) in due {
        if BackgroundWorker::sigterm_received() {
            break;
        }
        if let Some(after) = after.filter(|&a| a > now()) {
            next = next.min(after);
            continue;
        }
        // A table whose evaluation fails is logged and skipped; the others go on.
        let evaluated = PgTryBuilder::new(|| {
            BackgroundWorker::transaction(|| {
                // A table dropped since it was listed, or evaluated by a session right now.
                let exists = unsafe { pg_sys::SearchSysCacheExists(pg_sys::SysCacheIdentifier::RELOID as i32, relid.into(), 0.into(), 0.into(), 0.into()) };
                if exists && crate::catalog::advisory_xact_lock(EVALUATE_LOCK_CLASS, relid, false) {
                    evaluate_table(relid);
                }
                Ok(Spi::get_one_with_args::<TimestampWithTimeZone>("SELECT evaluate_after FROM vigil.watch_def WHERE relid = $1", &[relid.into()])
                    .ok()
                    .flatten()
                    .map(i64::from))
            })
        })
        .catch_others(|error| {
            unsafe { pg_sys::AbortCurrentTransaction() };
            let message = match &error {
                pg_sys::panic::CaughtError::PostgresError(r) | pg_sys::panic::CaughtError::ErrorReport(r) => r.message().to_string(),
                pg_sys::panic::CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
            };
            warning!("pg_vigil: evaluating table {} failed: {message}", relid.to_u32());
            Err(())
        })
        .execute();
        match evaluated {
            Ok(Some(after)) => next = next.min(after.max(now())),
            // Not said yet (watched a moment ago, its first evaluation under way in a session):
            // back at the next interval, not after RECHECK.
            Ok(None) => next = next.min(now() + EVALUATE_INTERVAL.get().max(1) as i64 * 1_000_000),
            Err(()) => failed.push(relid),
        }
    }
    // Prepared node transactions left behind (a node or a session failed between the two
    // phases of a contract change): settled here, as vigil.recover_nodes() would.
    settle_node_transactions();
    // Failed tables are tried again after RECHECK, not at every visit of the database.
    if !failed.is_empty() {
        let retry = crate::catalog::timestamptz(now() + RECHECK);
        BackgroundWorker::transaction(|| {
            for &relid in &failed {
                let _ = Spi::run_with_args("UPDATE vigil.watch_def SET evaluate_after = $2 WHERE relid = $1", &[relid.into(), retry.into()]);
            }
        });
    }
    // Unless a session woke the database meanwhile (a table watched, say): then at once.
    let mut schedule = SCHEDULE.exclusive();
    if schedule.due_at(db) == RUNNING {
        schedule.set(db, next);
    }
}

/// Runs recovery for the nodes with records older than a minute (younger ones may belong to a
/// transaction finishing right now). Failures are logged; the next visit tries again.
fn settle_node_transactions() {
    let _ = PgTryBuilder::new(|| {
        BackgroundWorker::transaction(|| {
            if !crate::remote::contract::catalog_has_scale_out() {
                return;
            }
            let servers: Vec<String> = Spi::connect(|client| {
                client
                    .select("SELECT DISTINCT server FROM vigil.node_txn WHERE created_at < now() - interval '1 minute'", None, &[])?
                    .map(|r| r.get::<String>(1).map(Option::unwrap_or_default))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_default();
            for server in servers {
                // The worker runs as the bootstrap superuser: the mapping for it (or PUBLIC) is used.
                if let Err(e) = crate::remote::xact::recover(&server) {
                    warning!("pg_vigil: settling prepared transactions on node \"{server}\" failed: {}", e.message);
                }
            }
        })
    })
    .catch_others(|error| {
        unsafe { pg_sys::AbortCurrentTransaction() };
        let message = match &error {
            pg_sys::panic::CaughtError::PostgresError(r) | pg_sys::panic::CaughtError::ErrorReport(r) => r.message().to_string(),
            pg_sys::panic::CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
        };
        warning!("pg_vigil: settling prepared node transactions failed: {message}");
    })
    .execute();
}
