//! The audit log: append-only, hash-chained JSON lines.
//!
//! Every request keyward decides on is written here before it is signed and forwarded; if the
//! record cannot be written the request is refused (fail closed). [`AuditLog`] is the single
//! writer of a process, [`verify`] checks a whole file and names the first broken record, and
//! [`Event`] is the schema of the records the proxy writes.
//!
//! # Record format
//!
//! One record is one line of UTF-8 JSON terminated by `\n`, written as
//!
//! ```text
//! {"seq":N,"time":"YYYY-MM-DDTHH:MM:SS.mmmZ",<entry fields>,"prev":"<64 hex>","hash":"<64 hex>"}
//! ```
//!
//! * `seq` is a decimal `u64`, increasing by exactly 1 from one line to the next. A new log starts
//!   at 0.
//! * `time` is the UTC wall-clock time of the append, RFC 3339 with milliseconds.
//! * `<entry fields>` are the fields of the caller's entry, compact JSON, in the order the entry
//!   serialises them (absent entirely, comma included, when the entry is an empty object). The
//!   entry may not itself use the names `seq`, `time`, `prev` or `hash` at its top level; nested
//!   objects may use any names.
//! * `prev` is the `hash` of the previous line, or 64 zeros (`"0000…0000"`) for seq 0.
//! * `hash` is lowercase hex SHA-256 of the record *without* its hash field, defined textually:
//!
//! **Hash rule.** Let `L` be the line's bytes without the terminating `\n`. `L` must end with the
//! 75-byte suffix `,"hash":"` + 64 lowercase hex digits + `"}`. Remove that suffix and append a
//! single `}`; `hash` is SHA-256 of the resulting bytes. Equivalently, the hashed text is the line
//! exactly as it would read if the `"hash"` member had never been written:
//!
//! ```text
//! {"seq":N,"time":"…",<entry fields>,"prev":"<64 hex>"}
//! ```
//!
//! The verifier works on the bytes as stored, never on re-serialised JSON, so any JSON library in
//! any language can check a log: strip the suffix, append `}`, hash, compare; then parse the line
//! only to read `seq` and `prev`.
//!
//! # What the chain proves
//!
//! Changing, inserting, removing or reordering any record inside the file breaks the chain at that
//! record, and [`verify`] reports the first such line. Removing records from the *end* of the file
//! (or from its start, when the log was rotated and does not begin at seq 0) leaves a valid chain:
//! to detect that, keep the [`VerifyReport`]'s `last_hash` (or the seq / hash returned by the
//! writer) somewhere the host cannot rewrite.

mod batch;
mod checkpoint;
mod durable;
mod event;
mod file;
mod health;
mod lock;
mod record;
mod ship;
mod timer;
pub mod tools;
mod verify;
mod writer;

#[cfg(test)]
mod keyed_tests;
#[cfg(test)]
mod tests;

pub use checkpoint::{parse_shipped, CheckpointKey, CheckpointSigner, Shipped};
pub use event::{
    AdminRecord, AnomalyRecord, Asker, Event, FrameRecord, Judged, OutcomeRecord, RequestRecord,
    Verdict,
};
pub use record::AuditEntry;
pub use ship::DEFAULT_SOCKET;
pub use verify::{verify, verify_with, VerifyOptions, VerifyReport, Vouch};
pub use writer::{AuditLog, Checkpoints};
