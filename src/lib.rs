//! pg_vigil: constraints and triggers for ML pipeline health.
//!
//! Layout: `rules` is the pure-Rust core (no pgrx); `catalog` owns the vigil.* configuration tables
//! and the per-backend cache of compiled rules; `trigger` is the write path; `api` holds the
//! SQL-facing functions.

pub mod api;
pub mod catalog;
pub mod drift;
pub mod error;
pub mod monitor;
pub mod profile;
pub mod remote;
pub mod report;
pub mod rules;
pub mod stats;
pub mod trigger;

::pgrx::pg_module_magic!(name, version);

pgrx::extension_sql_file!("../sql/catalog.sql", name = "catalog", bootstrap);
pgrx::extension_sql_file!("../sql/api.sql", name = "api", finalize);

#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // pgrx puts a captured Rust backtrace in an error's DETAIL when the server's environment
    // asks for backtraces (RUST_BACKTRACE=1): users get PostgreSQL's message, never a backtrace.
    // A backend runs one thread, and this runs before any other Rust code of the library.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    monitor::timeliness::define_settings();
    monitor::worker::register();
    catalog::cache::register_invalidation();
    trigger::pending::register_callbacks();
    remote::xact::register_callbacks();
}

mod pg_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
