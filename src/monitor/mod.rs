//! Monitoring: a window of a watched table from its merged statistics (src/stats) to its alert.
//!
//! - `reference`: what each window is compared with (baseline or trailing history, windows
//!   marked invalid, acknowledged alerts) and its drift per column;
//! - `scoring`: what each window is scored on (statistics per column), scored against the
//!   table's own history (the pure core, src/drift/score.rs), with memos of windows scored;
//! - `evaluate`: judging finished windows (on a write, or on demand), opening and extending
//!   alerts, NOTIFY, and window-level constraints;
//! - `timeliness`: windows without rows and late or missing loads, judged by when the table's
//!   rows usually arrive (the pure core, src/drift/gaps.rs), and freshness;
//! - `worker`: evaluation on a clock (a launcher and short-lived workers per database).
//!
//! src/api holds only the SQL entry points over these.

pub mod evaluate;
pub mod reference;
pub mod scoring;
pub mod timeliness;
pub mod worker;
