//! One check of one credential: keyward's own signed request to the exchange's permission
//! endpoint, through the credential's signer and upstream client like a bot's request, audited
//! as keyward's (client and rule `keyward:permission-check`, source `keyward`), and the
//! exchange's reading of the answer.

use std::time::{Instant, SystemTime};

use super::Finding;
use crate::audit::{Asker, Event, Judged, OutcomeRecord, RequestRecord, Verdict as Decided};
use crate::exchange::environment::{self, Environment};
use crate::exchange::permission::{Fact, Reading, Verdict};
use crate::exchange::{Credential, Exchange};
use crate::policy::{Permit, PERMISSION_CHECK};
use crate::proxy::forward::Upstream;
use crate::proxy::respond;

/// Where the audit records of a check go: the server's audit log, or nowhere (`keyward check`,
/// which must not write the log a running server owns).
pub type AuditSink<'a> = &'a (dyn Fn(&Event<'_>) -> crate::Result<u64> + Sync);

/// What a check needs of one credential.
pub struct Probe<'a> {
    pub name: &'a str,
    pub exchange: &'static dyn Exchange,
    pub credential: &'a Credential,
    pub upstream: &'a Upstream,
    /// The key version that signs, for the audit record.
    pub key_version: Option<u32>,
    /// A demo credential's check goes to the exchange's demo, as its requests do.
    pub environment: Environment,
}

/// Whether the exchange reports a key's permissions at all: the readers of the exchanges that
/// do not answer [`Reading::NotAvailable`] for every answer (the trait's default).
pub fn reports_permissions(exchange: &dyn Exchange) -> bool {
    exchange.read_permissions(b"", "") != Reading::NotAvailable
}

fn unknown(why: impl Into<String>) -> Finding {
    Finding {
        verdict: Verdict::Unknown,
        ip_restricted: Fact::Unknown,
        checked_at: SystemTime::now(),
        why: why.into(),
    }
}

fn not_available() -> Finding {
    Finding {
        verdict: Verdict::NotAvailable,
        ip_restricted: Fact::Unknown,
        checked_at: SystemTime::now(),
        why: String::new(),
    }
}

impl Probe<'_> {
    /// Asks the exchange and reads its answer; request number `id` in the audit log.
    pub async fn run(&self, id: u64, audit: AuditSink<'_>) -> Finding {
        if !reports_permissions(self.exchange) {
            return not_available();
        }
        let permit = match Permit::permission_check(self.exchange) {
            Ok(p) => p,
            Err(r) => return unknown(format!("the request could not be made: {}", r.message)),
        };
        let (method, path) = (permit.canonical().method, permit.canonical().path.clone());
        let record = Event::Request(RequestRecord {
            request: id,
            asker: Asker {
                client: PERMISSION_CHECK,
                source: "keyward",
                credential: self.name,
                key_version: self.key_version,
            },
            judged: Judged {
                method: method.as_str(),
                path: &path,
                params: None,
                verdict: Decided::Allow {
                    rule: PERMISSION_CHECK,
                },
            },
        });
        if let Err(e) = audit(&record) {
            return unknown(format!("not asked: the audit log cannot be written ({e})"));
        }
        let signed = crate::key::run_in_turn(&*self.credential.key, || {
            permit.sign(self.exchange, self.credential, SystemTime::now())
        })
        .await;
        let mut outbound = match signed {
            Ok(o) => o,
            Err(r) => return unknown(format!("the request could not be signed: {}", r.message)),
        };
        let demo = self.exchange.profile().demo;
        let access = permit.route().access;
        if let Err(r) = environment::apply(
            self.exchange.id(),
            demo,
            self.environment,
            access,
            &mut outbound,
        ) {
            // A demo without the endpoint (Binance's demo mode has no /sapi): nothing to ask,
            // and a demo credential's request never goes to the live exchange.
            return Finding {
                why: format!("the demo does not report it ({})", r.message),
                ..not_available()
            };
        }
        let started = Instant::now();
        let sent = self.upstream.send(outbound).await;
        let latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1000.0;
        let (status, error) = match &sent {
            Ok(answer) => (answer.status().as_u16(), None),
            Err(r) => (respond::status(r.kind).as_u16(), Some(r.code)),
        };
        let outcome = Event::Outcome(OutcomeRecord {
            request: id,
            status,
            latency_ms,
            error,
        });
        if let Err(e) = audit(&outcome) {
            tracing::error!(error = %e, request = id, "could not write the permission check's outcome record");
        }
        let answer = match sent {
            Ok(answer) => answer,
            Err(r) => return unknown(format!("{method} {path} failed: {}", r.message)),
        };
        if !answer.status().is_success() {
            return unknown(format!(
                "{method} {path} answered HTTP {status} (is the key valid and allowed to read?)"
            ));
        }
        let key_id = String::from_utf8_lossy(self.credential.api_key.expose());
        match self.exchange.read_permissions(answer.body(), &key_id) {
            Reading::Read(p) => {
                let verdict = Reading::Read(p).verdict();
                Finding {
                    verdict,
                    ip_restricted: p.ip_restricted,
                    checked_at: SystemTime::now(),
                    why: match verdict {
                        Verdict::Unknown => format!(
                            "the answer of {method} {path} does not say whether the key can withdraw and transfer"
                        ),
                        _ => String::new(),
                    },
                }
            }
            Reading::Unreadable => unknown(format!(
                "the answer of {method} {path} is not in the documented shape (or names no key of this credential)"
            )),
            Reading::NotAvailable => unknown("the exchange does not report a key's permissions"),
        }
    }
}
