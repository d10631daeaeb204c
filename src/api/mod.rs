//! SQL-facing functions. The user-facing signatures live in sql/api.sql (they normalise
//! polymorphic arguments and defaults); the Rust functions here do the work.

pub mod alerts;
pub mod declare;
pub mod drift;
pub mod profile_agg;
pub mod quarantine;
pub mod scoring;
pub mod validate;
pub mod watch;
