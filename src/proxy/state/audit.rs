//! The resources' audit log: appending the pipeline's records (blocking or batched), the
//! readiness probe's view of it, and its clean close.

use std::time::Instant;

use super::Resources;
use crate::audit::{AuditLog, Event};
use crate::error::Result;

impl Resources {
    /// Appends an audit record. With `[audit] fsync` the call waits for the disk, so it runs
    /// under `block_in_place`: the runtime moves this worker's other tasks elsewhere meanwhile.
    pub(in crate::proxy) fn audit(&self, event: &Event<'_>) -> Result<u64> {
        let started = Instant::now();
        let appended = if self.audit_sync {
            tokio::task::block_in_place(|| self.audit.append(event))
        } else {
            self.audit.append(event)
        };
        self.metrics
            .audit_write(started.elapsed(), appended.is_ok());
        appended
    }

    /// Appends an audit record as [`audit`](Self::audit) does, without blocking the worker:
    /// batched with the records of the other ready requests into one `write`, and with
    /// `[audit] fsync` awaiting the group commit's `fdatasync`. For the request path's records
    /// (the decision before anything is signed, the outcome before the answer).
    pub(in crate::proxy) async fn audit_durable(&self, event: &Event<'_>) -> Result<u64> {
        let started = Instant::now();
        let appended = self.audit.append_async(event).await;
        self.metrics
            .audit_write(started.elapsed(), appended.is_ok());
        appended
    }

    /// The audit log (for the readiness probe).
    pub(in crate::proxy) fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// Clean shutdown of the audit log: a last signed checkpoint and an `fdatasync`; and of
    /// the kill switch's state file. Blocks.
    pub fn close_audit(&self) {
        self.kill.flush();
        self.audit.close()
    }
}
