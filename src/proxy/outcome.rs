//! What a request was and how it ended: the [`Subject`] (who and what, as far as the pipeline
//! learnt) and the [`Outcome`] that gives the request's log line, its response and the
//! exchange's audit record (and, later, its metrics).

use std::net::SocketAddr;
use std::time::Duration;

use http::Response;
use tokio::sync::oneshot;

use super::auth::Client;
use super::respond::{self, ProxyBody};
use super::state::CredentialState;
use super::transport::truncate;
use crate::audit::{self, Asker, Event, OutcomeRecord, RequestRecord, Verdict};
use crate::exchange::Exchange;
use crate::metrics::{Decision, Metrics, RequestSample};
use crate::request::{Method, Refusal};

/// Who and what a request is, as far as the pipeline learnt before it ended.
#[derive(Clone)]
pub struct Subject<'s> {
    pub id: u64,
    /// The peer address, or what a trusted proxy says it forwarded for.
    pub source: String,
    pub method: Option<Method>,
    pub credential: Option<&'s CredentialState>,
    pub client: Who<'s>,
    /// The exchange path once routed; before that the request target's path.
    pub path: String,
}

/// Whom a request is from.
#[derive(Clone, Copy)]
pub enum Who<'s> {
    /// Not authenticated (yet).
    Unknown,
    /// No client token.
    Anonymous,
    Client(&'s Client),
}

impl<'s> Subject<'s> {
    /// Feeds a refusal of a known client's request to its anomaly triggers (see
    /// [`Client::refused`]); nothing for an anonymous or not yet authenticated one.
    pub fn feed_triggers(&self, peer: SocketAddr, refusal: &Refusal) {
        if let Who::Client(c) = self.client {
            let method = self.method.map_or("", |m| m.as_str());
            c.refused(peer, refusal, &format!("{method} {}", self.path));
        }
    }

    pub fn new(id: u64, peer: SocketAddr, target_path: &str) -> Self {
        Subject {
            id,
            source: peer.to_string(),
            method: None,
            credential: None,
            client: Who::Unknown,
            path: truncate(target_path, 200),
        }
    }

    pub fn client(&self) -> &'s str {
        match self.client {
            Who::Unknown => "unknown",
            Who::Anonymous => "anonymous",
            Who::Client(c) => c.name(),
        }
    }

    fn method(&self) -> &'static str {
        self.method.map_or("", Method::as_str)
    }

    /// The exchange, once routing found the credential (for its native error shape).
    fn exchange(&self) -> Option<&'static dyn Exchange> {
        self.credential.map(|c| c.exchange)
    }

    pub fn stop(&self, refusal: Refusal) -> Stopped<'s> {
        Stopped {
            subject: self.clone(),
            refusal,
        }
    }

    /// The audit record of this request's verdict, on `path` (canonical once decided).
    pub fn record<'a>(
        &'a self,
        path: &'a str,
        params: Option<String>,
        verdict: Verdict<'a>,
    ) -> Event<'a> {
        Event::Request(RequestRecord {
            request: self.id,
            asker: Asker {
                client: self.client(),
                source: &self.source,
                credential: self.credential.map_or("", |c| &c.name),
                key_version: self.credential.map(|c| c.version.number),
            },
            judged: audit::Judged {
                method: self.method(),
                path,
                params,
                verdict,
            },
        })
    }
}

/// A request refused before its decision, with what was known of it.
pub struct Stopped<'s> {
    pub subject: Subject<'s>,
    pub refusal: Refusal,
}

/// How one request ended: the source of its log line and its response.
pub struct Outcome<'s> {
    subject: Subject<'s>,
    end: End,
}

enum End {
    /// Nothing was sent upstream.
    Refused(Refusal),
    /// Sent upstream: the exchange answered, or could not be reached.
    Forwarded(Forwarded),
}

pub struct Forwarded {
    /// The canonical path, as signed.
    pub path: String,
    pub rule: String,
    pub latency_ms: f64,
    /// The wait for the exchange's answer (its head), within `latency_ms`.
    pub upstream_time: Duration,
    /// The exchange's answer as the bot will get it (hop-by-hop headers removed, the API key
    /// redacted where the profile says the answer carries it).
    pub answer: Result<Response<ProxyBody>, Refusal>,
}

impl Forwarded {
    /// The exchange's status, or keyward's when the exchange could not be reached.
    fn status(&self) -> u16 {
        match &self.answer {
            Ok(response) => response.status().as_u16(),
            Err(refusal) => respond::status(refusal.kind).as_u16(),
        }
    }

    /// Sends this to the request's task unless its bot is `gone` (or goes meanwhile); returns
    /// it when nobody took it.
    pub fn hand_over(self, to: oneshot::Sender<Forwarded>, gone: bool) -> Option<Forwarded> {
        match gone {
            true => Some(self),
            false => to.send(self).err(),
        }
    }

    /// Feeds the metrics of this forwarded request from its `[client, credential, exchange]`;
    /// `total` is how long the whole request took.
    pub fn observe(
        &self,
        metrics: &Metrics,
        [client, credential, exchange]: [&str; 3],
        total: Duration,
    ) {
        let refusal = self.answer.as_ref().err();
        metrics.request(&RequestSample {
            client,
            credential,
            exchange,
            rule: &self.rule,
            decision: if refusal.is_some() {
                Decision::error
            } else {
                Decision::allow
            },
            status: self.status(),
            code: refusal.map(|r| r.code),
            total,
            upstream: Some(self.upstream_time),
        });
    }

    /// The outcome record; `client_gone` when the bot hung up before the answer reached it.
    pub fn record(&self, request: u64, client_gone: bool) -> Event<'_> {
        let error = match &self.answer {
            Err(r) => Some(r.code),
            Ok(_) if client_gone => Some("client_gone"),
            // The exchange's own rate refusal: keyward now holds this client (see backoff.rs).
            Ok(r) if matches!(r.status().as_u16(), 429 | 418) => Some("exchange_rate_limited"),
            Ok(_) => None,
        };
        Event::Outcome(OutcomeRecord {
            request,
            status: self.status(),
            latency_ms: self.latency_ms,
            error,
        })
    }
}

impl<'s> Outcome<'s> {
    pub fn refused(subject: Subject<'s>, refusal: Refusal) -> Self {
        Outcome {
            subject,
            end: End::Refused(refusal),
        }
    }

    pub fn forwarded(subject: Subject<'s>, forwarded: Forwarded) -> Self {
        Outcome {
            subject,
            end: End::Forwarded(forwarded),
        }
    }

    /// The request's log line(s): `forwarded`, `refused`, or both when the exchange could not
    /// be reached.
    pub fn log(&self) {
        let subject = &self.subject;
        let refusal = match &self.end {
            End::Refused(refusal) => Some(refusal),
            End::Forwarded(f) => {
                tracing::info!(
                    request = subject.id,
                    client = subject.client(),
                    method = subject.method(),
                    path = %f.path,
                    rule = f.rule.as_str(),
                    status = f.status(),
                    latency_ms = f.latency_ms,
                    "forwarded"
                );
                f.answer.as_ref().err()
            }
        };
        if let Some(refusal) = refusal {
            tracing::info!(
                request = subject.id,
                client = subject.client(),
                method = subject.method(),
                path = %subject.path,
                status = respond::status(refusal.kind).as_u16(),
                code = refusal.code,
                "refused"
            );
        }
    }

    /// Feeds the request's metrics: `total` is how long the whole request took.
    pub fn observe(&self, metrics: &Metrics, total: Duration) {
        let subject = &self.subject;
        let credential = subject.credential.map_or("", |c| &c.name);
        let exchange = subject.exchange().map_or("", |e| e.id());
        let r = match &self.end {
            End::Forwarded(f) => {
                return f.observe(metrics, [subject.client(), credential, exchange], total)
            }
            End::Refused(r) => r,
        };
        metrics.request(&RequestSample {
            client: subject.client(),
            credential,
            exchange,
            rule: "",
            decision: decision_of(r),
            status: respond::status(r.kind).as_u16(),
            code: Some(r.code),
            total,
            upstream: None,
        });
    }

    pub fn into_response(self) -> Response<ProxyBody> {
        let refusal = match self.end {
            End::Forwarded(Forwarded {
                answer: Ok(response),
                ..
            }) => return response,
            End::Forwarded(Forwarded {
                answer: Err(refusal),
                ..
            })
            | End::Refused(refusal) => refusal,
        };
        let exchange = self.subject.exchange();
        let native = exchange
            .map(|e| e.native_error(&refusal))
            .unwrap_or_default();
        let mut response = respond::refusal(&refusal, native);
        if exchange.is_some_and(|e| e.refusal_in_200(&refusal)) {
            // keyward's own status stays visible to operators (curl -i) and tests.
            let own = http::HeaderValue::from(response.status().as_u16());
            response.headers_mut().insert("x-keyward-status", own);
            *response.status_mut() = http::StatusCode::OK;
        }
        response
    }
}

/// A refusal is a denial unless keyward or the exchange failed.
pub(super) fn decision_of(refusal: &Refusal) -> Decision {
    use crate::request::RefusalKind::{Internal, Unavailable, Upstream, UpstreamTimeout};
    match refusal.kind {
        Internal | Unavailable | Upstream | UpstreamTimeout => Decision::error,
        _ => Decision::deny,
    }
}

/// Milliseconds since `started`, to the microsecond (an outcome record's `latency_ms`).
pub(super) fn millis_since(started: std::time::Instant) -> f64 {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    (ms * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing::level_filters::LevelFilter;

    use super::*;

    /// Where a test subscriber writes its lines.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// What a refused request's [`Outcome::log`] writes under a subscriber at `level`.
    fn logged(level: LevelFilter) -> String {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let peer = "127.0.0.1:40000".parse().unwrap();
            let subject = Subject::new(7, peer, "/binance-main/api/v3/order");
            Outcome::refused(subject, Refusal::not_found("no such credential")).log();
        });
        let text = lines.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    /// The request line is written at `info`, and with the level off nothing is written (the
    /// `tracing` macros evaluate and format their fields only for an enabled level).
    #[test]
    fn the_request_line_is_written_only_when_its_level_is_on() {
        let on = logged(LevelFilter::INFO);
        assert!(on.contains("refused") && on.contains("request=7"), "{on}");
        assert!(on.contains("status=404") && !on.contains('\x1b'), "{on}");
        assert_eq!(logged(LevelFilter::WARN), "");
    }
}
