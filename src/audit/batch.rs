//! The records formatted but not yet written: under load the request path's records are
//! staged here (their seq and place in the chain already fixed, in order) and written by one
//! `write` for the whole batch ([`AuditLog::append_async`](super::AuditLog::append_async)).
//! A record is never reported written before that `write` returned; when it fails, every
//! record of the batch fails and the chain rewinds to where the batch began.

use std::ops::Range;

/// How many failed batches are remembered for their waiters (a waiter looks within a few
/// microseconds of the failure, and after a failure that cannot be undone the log stops).
const FAILURES_KEPT: usize = 32;

#[derive(Default)]
pub(super) struct Batch {
    /// The staged lines, in chain order.
    lines: Vec<u8>,
    /// The chain before the first staged line: its seq and the hash it follows.
    from: Option<(u64, String)>,
    /// One ticket per staged line, never reused (a seq is, after a failed write).
    tickets: u64,
    /// Every line with a ticket below this was written, or failed.
    done: u64,
    /// The tickets of failed batches and why.
    failed: Vec<(Range<u64>, String)>,
}

/// A batch taken to be written.
pub(super) struct Taken {
    pub lines: Vec<u8>,
    /// The seq of its first record and the hash before it (to rewind to if the write fails).
    pub from_seq: u64,
    pub from_prev: String,
    tickets: Range<u64>,
}

impl Batch {
    /// Adds `line` (record `seq`, following `prev`) to the batch; returns its ticket.
    pub(super) fn stage(&mut self, line: &[u8], seq: u64, prev: &str) -> u64 {
        if self.from.is_none() {
            self.from = Some((seq, prev.to_owned()));
        }
        self.lines.extend_from_slice(line);
        self.tickets += 1;
        self.tickets - 1
    }

    /// The staged lines, to be written now (`None` when there are none).
    pub(super) fn take(&mut self) -> Option<Taken> {
        let (from_seq, from_prev) = self.from.take()?;
        let tickets = self.done..self.tickets;
        self.done = self.tickets;
        Some(Taken {
            lines: std::mem::take(&mut self.lines),
            from_seq,
            from_prev,
            tickets,
        })
    }

    /// After `taken` was written: keeps its buffer for the next batch.
    pub(super) fn written(&mut self, mut taken: Taken) {
        if self.lines.is_empty() {
            taken.lines.clear();
            self.lines = taken.lines;
        }
    }

    /// After `taken` could not be written: its records fail with `why`.
    pub(super) fn failed(&mut self, taken: Taken, why: String) {
        if self.failed.len() == FAILURES_KEPT {
            self.failed.remove(0);
        }
        self.failed.push((taken.tickets, why));
    }

    /// Whether the line with `ticket` still waits for a write.
    pub(super) fn is_staged(&self, ticket: u64) -> bool {
        ticket >= self.done
    }

    /// Why the line with `ticket` was not written, if its batch failed.
    pub(super) fn failure(&self, ticket: u64) -> Option<&str> {
        self.failed
            .iter()
            .find(|(tickets, _)| tickets.contains(&ticket))
            .map(|(_, why)| why.as_str())
    }
}
