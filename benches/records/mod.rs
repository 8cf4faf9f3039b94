//! The audit records the benchmarks append, as the pipeline writes them, and a fresh log.
#![allow(dead_code)] // each benchmark uses a part

use keyward::audit::{Asker, AuditLog, Event, Judged, OutcomeRecord, RequestRecord, Verdict};
use keyward::proxy::fuzzing;
use keyward::request::CanonicalRequest;

/// The request record the pipeline writes before signing.
pub fn request_record<'a>(n: u64, canonical: &'a CanonicalRequest, rule: &'a str) -> Event<'a> {
    Event::Request(RequestRecord {
        request: n,
        asker: Asker {
            client: "bench-bot",
            source: "127.0.0.1:40000",
            credential: fuzzing::CREDENTIAL,
            key_version: Some(1),
        },
        judged: Judged {
            method: canonical.method.as_str(),
            path: &canonical.path,
            params: Some(canonical.params_string()),
            verdict: Verdict::Allow { rule },
        },
    })
}

pub fn outcome_record(n: u64) -> Event<'static> {
    Event::Outcome(OutcomeRecord {
        request: n,
        status: 200,
        latency_ms: 0.42,
        error: None,
    })
}

/// A fresh audit log (fsync off, as keyward's default) in its own temporary folder, dropped
/// with it.
pub fn audit_log() -> (tempfile::TempDir, AuditLog) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let log = AuditLog::open(&dir.path().join("audit.jsonl")).expect("the audit log opens");
    assert!(!log.is_sync());
    (dir, log)
}
