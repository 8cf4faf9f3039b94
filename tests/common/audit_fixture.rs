//! An audit log with known contents, written by keyward's own audit writer, for the tests of
//! `keyward audit search | stats | tail | report` (tests/audit_tools.rs, tests/audit_report.rs).

use std::path::{Path, PathBuf};
use std::time::Duration;

use keyward::audit::{
    AdminRecord, AnomalyRecord, Asker, AuditLog, Event, FrameRecord, Judged, OutcomeRecord,
    RequestRecord, Verdict,
};

use super::MAIN;

#[allow(clippy::too_many_arguments)]
pub fn request(
    log: &AuditLog,
    n: u64,
    client: &str,
    credential: &str,
    version: Option<u32>,
    method: &str,
    path: &str,
    verdict: Verdict<'_>,
) {
    log.append(&Event::Request(RequestRecord {
        request: n,
        asker: Asker {
            client,
            source: "127.0.0.1:40000",
            credential,
            key_version: version,
        },
        judged: Judged {
            method,
            path,
            params: Some(String::new()),
            verdict,
        },
    }))
    .unwrap();
}

pub fn outcome(log: &AuditLog, n: u64, status: u16, latency_ms: f64, error: Option<&str>) {
    log.append(&Event::Outcome(OutcomeRecord {
        request: n,
        status,
        latency_ms,
        error,
    }))
    .unwrap();
}

/// What [`fixture`] writes (the numbers the tests expect):
/// * grid-bot on binance-main (key version 1): requests 1..=100 `POST /api/v3/order` allowed,
///   each answered 200 in exactly `n` ms; and every 10th is followed by a denied
///   `POST /sapi/v1/capital/withdraw/apply` (10 denials);
/// * arb-bot on binance-alt (key version 1): 5 `GET /api/v3/account` allowed but the
///   exchange timed out (504 after 5000 ms, error upstream_timeout), and 4 WebSocket frames
///   `orderList.place.oco` judged as `POST /api/v3/orderList/oco`, allowed;
/// * 3 refused requests before authentication (client `unknown`, no credential), one with a
///   terminal escape sequence and one with markup in its path;
/// * an anomaly and an admin record.
///
/// Latencies of the 105 outcomes, nearest rank: p50 53, p90 95, p95 100, p99 5000, max 5000.
pub fn fixture(path: &Path, pause: Duration) {
    let log = AuditLog::open(path).unwrap();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    for i in 1..=100u32 {
        let id = next();
        request(
            &log,
            id,
            "grid-bot",
            MAIN,
            Some(1),
            "POST",
            "/api/v3/order",
            Verdict::Allow { rule: "allow[1]" },
        );
        outcome(&log, id, 200, f64::from(i), None);
        if i % 10 == 0 {
            request(
                &log,
                next(),
                "grid-bot",
                MAIN,
                Some(1),
                "POST",
                "/sapi/v1/capital/withdraw/apply",
                Verdict::Deny {
                    code: "hard_deny",
                    reason: "withdrawals are never allowed",
                },
            );
        }
        if i % 20 == 0 {
            let id = next();
            request(
                &log,
                id,
                "arb-bot",
                "binance-alt",
                Some(1),
                "GET",
                "/api/v3/account",
                Verdict::Allow { rule: "allow[0]" },
            );
            outcome(&log, id, 504, 5000.0, Some("upstream_timeout"));
        }
        if i % 25 == 0 {
            log.append(&Event::Frame(FrameRecord {
                session: 7,
                frame: u64::from(i / 25),
                asker: Asker {
                    client: "arb-bot",
                    source: "127.0.0.1:40001",
                    credential: "binance-alt",
                    key_version: Some(1),
                },
                socket: "/ws-api/v3",
                op: "orderList.place.oco",
                judged: Judged {
                    method: "POST",
                    path: "/api/v3/orderList/oco",
                    params: Some("instId=BTC-USDT".into()),
                    verdict: Verdict::Allow { rule: "allow[1]" },
                },
            }))
            .unwrap();
        }
        if i % 33 == 0 {
            let path = match i {
                33 => "/x\u{1b}[2J\u{1b}[31mred",
                66 => "/</script><script>document.title='owned'</script>",
                _ => "/admin",
            };
            request(
                &log,
                next(),
                "unknown",
                "",
                None,
                "",
                path,
                Verdict::Refuse {
                    code: "bad_token",
                    reason: "no client token",
                },
            );
        }
        if i == 50 {
            log.append(&Event::Anomaly(AnomalyRecord {
                trigger: "on_hard_deny",
                client: "grid-bot",
                source: "127.0.0.1:40000",
                action: "log",
                reason: "hard deny",
            }))
            .unwrap();
            log.append(&Event::Admin(AdminRecord {
                action: "disable",
                target: "client",
                name: "arb-bot",
                source: "127.0.0.1:9901",
                status: 200,
                result: "disabled",
                reason: "",
            }))
            .unwrap();
        }
        std::thread::sleep(pause);
    }
    log.close();
}

pub fn fixture_in(dir: &tempfile::TempDir, pause: Duration) -> PathBuf {
    let path = dir.path().join("audit.jsonl");
    fixture(&path, pause);
    path
}
