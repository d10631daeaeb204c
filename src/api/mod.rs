//! SQL entry points: they check arguments and privileges and hand the work to the catalog,
//! the statistics store (src/stats) or the monitoring layer (src/monitor). The user-facing
//! signatures live in sql/api.sql (they normalise polymorphic arguments and defaults).

pub mod alerts;
pub mod declare;
pub mod drift;
pub mod nodes;
pub mod profile_agg;
pub mod quarantine;
pub mod report;
pub mod suggest;
pub mod suite;
pub mod validate;
pub mod watch;
