//! The operator's read-side tools over an audit log: `keyward audit tail`, `search`, `stats`
//! and `report --html`. They read records; [`crate::audit::verify`] is what vouches for them.

mod entry;
mod filter;
mod report;
mod show;
mod stats;

#[cfg(test)]
mod tests;

pub use entry::{Decision, FrameId, Outcome, Record, Row, Rows};
pub use filter::{parse_time, Endpoint, Filter};
pub use report::{KeyDates, ReportData};
pub use show::{clean, record_line, row_line};
pub use stats::{Counts, Latency, Stats};
