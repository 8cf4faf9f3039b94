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

/// One request of `case` through the pipeline without the network, numbered `n`: stages,
/// permit, the request record, sign, the outcome record (`pipeline` in both benchmarks).
pub fn pipeline(
    case: &crate::orders::Case,
    input: &fuzzing::Input<'_>,
    log: &keyward::audit::AuditLog,
    n: u64,
) -> keyward::exchange::Outbound {
    let credential = fuzzing::credential(case.exchange);
    let checked = fuzzing::stages(input, case.caller()).expect("checked");
    let permit = checked.permit().expect("permitted");
    log.append(&request_record(n, permit.canonical(), permit.rule()))
        .expect("appended");
    let outbound = permit
        .sign(case.exchange, credential, crate::orders::now())
        .expect("signed");
    log.append(&outcome_record(n)).expect("appended");
    outbound
}
