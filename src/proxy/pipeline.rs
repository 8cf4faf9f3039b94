//! One request through the stages:
//! transport checks → route → client auth → canonicalise → decide → audit → sign → forward.
//!
//! Each stage is a plain function on typed values. [`handle`] drives them and ends every request
//! in one [`Outcome`], which gives its log line and its response; the audit records are built
//! from the same values: the decision before anything is signed (if it cannot be written, the
//! request is refused), the exchange's answer after forwarding.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::sync::oneshot;

use super::auth::rate_limited;
use super::backoff::Scope;
use super::host::{AllowedHosts, ListenName};
use super::outcome::{millis_since, Forwarded, Outcome, Stopped, Subject, Who};
use super::respond::{self, ProxyBody};
use super::routing::{owner, route};
use super::serving;
use super::state::{CredentialState, Resources, Snapshot, State};
use super::transport::{self, Inbound, Upgrade};
use crate::audit::Verdict;
use crate::exchange::environment;
use crate::exchange::ws::WsProtocol;
use crate::exchange::Outbound;
use crate::key;
use crate::policy::{check, Caller, Checked, Decision, Permit};
use crate::request::{Refusal, RefusalKind, RequestParts};

/// Serves one request with the snapshot in force when it arrived.
pub async fn handle(
    state: &Arc<State>,
    listen: Option<&ListenName>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<ProxyBody> {
    let started = Instant::now();
    let snapshot = state.snapshot();
    let pipeline = Pipeline {
        state,
        resources: state.resources(),
        snapshot: &snapshot,
        hosts: AllowedHosts::new(listen, &snapshot.host_names),
        peer,
        started,
    };
    let outcome = pipeline.run(state.resources().next_request(), req).await;
    outcome.log();
    outcome.observe(state.resources().metrics(), started.elapsed());
    outcome.into_response()
}

/// What a request's stages may read.
struct Pipeline<'s> {
    state: &'s Arc<State>,
    resources: &'s Resources,
    snapshot: &'s Snapshot,
    hosts: AllowedHosts<'s>,
    peer: SocketAddr,
    started: Instant,
}

impl<'s> Pipeline<'s> {
    async fn run(&self, id: u64, req: Request<Incoming>) -> Outcome<'s> {
        // `[server] max_in_flight`: a place among the requests being served, held to the end.
        let _place = match self.resources.caps().enter() {
            Ok(place) => place,
            Err(refusal) => {
                let subject = Subject::new(id, self.peer, req.uri().path());
                let refusal = self.audit_refusal(&subject, refusal).await;
                return Outcome::refused(subject, refusal);
            }
        };
        // The Host the bot used (checked with the transport), for answers naming keyward's URL.
        let host = req.headers().get(http::header::HOST).cloned();
        // Whether its credential came from the listener or Host rather than a path prefix.
        let owned = owner(self.snapshot, self.hosts.bound(), req.headers()).is_some();
        let Decided {
            subject,
            credential,
            checked,
        } = match self.decide(id, req).await {
            Ok(decided) => decided,
            Err(Stopped { subject, refusal }) => {
                subject.feed_triggers(self.peer, &refusal);
                let refusal = self.audit_refusal(&subject, refusal).await;
                return Outcome::refused(subject, refusal);
            }
        };
        // Audit the decision before anything leaves.
        let judgement = Judgement::of(&checked.decision);
        let params = Some(checked.canonical.params_string());
        let record = subject.record(&checked.canonical.path, params, judgement.verdict());
        let audited = self.resources.audit_durable(&record).await;
        drop(judgement);
        // A denial feeds the client's anomaly triggers, also when its record failed.
        if !checked.decision.is_allowed() {
            subject.feed_triggers(self.peer, &checked.decision.refusal());
        }
        if let Err(e) = audited {
            return Outcome::refused(subject, audit_failed(e));
        }

        // Only a permit (an allowed request) is signed, and exactly its canonical request.
        let permit = match checked.permit() {
            Ok(permit) => permit,
            Err(refusal) => return Outcome::refused(subject, refusal),
        };
        let outbound = match sign(credential, &permit).await {
            Ok(outbound) => outbound,
            Err(refusal) => return Outcome::refused(subject, refusal),
        };
        let (_, canonical, rule) = permit.into_parts();
        let bearer = issues_bearer(credential, &outbound, &canonical.path).map(|(ws, field)| {
            let host = host.as_ref().and_then(|h| h.to_str().ok()).unwrap_or("");
            let scheme = self.hosts.ws_scheme();
            Bearer {
                client: subject.client().to_owned(),
                credential: credential.name.clone(),
                field,
                ws,
                socket_base: match owned {
                    true => format!("{scheme}://{host}"),
                    false => format!("{scheme}://{host}/{}", credential.name),
                },
            }
        });
        let forwarded = self.forward(&subject, credential, outbound, canonical.path, rule, bearer);
        match forwarded.await {
            Ok(forwarded) => Outcome::forwarded(subject, forwarded),
            // The forwarding task panicked: its outcome could not be recorded either.
            Err(_) => Outcome::refused(
                subject,
                Refusal::new(
                    RefusalKind::Internal,
                    "internal",
                    "keyward failed while forwarding the request; see its log",
                ),
            ),
        }
    }

    /// Sends the signed request and writes its outcome record in a task of its own, so that a
    /// bot hanging up while keyward waits for the exchange cannot cancel either: the exchange
    /// may already be executing the order, and the audit must say what it answered (with
    /// `client_gone` when nobody was left to receive it).
    fn forward(
        &self,
        subject: &Subject<'_>,
        credential: &CredentialState,
        outbound: Outbound,
        path: String,
        rule: String,
        bearer: Option<Bearer>,
    ) -> oneshot::Receiver<Forwarded> {
        let (tx, rx) = oneshot::channel();
        let upstream = credential.upstream.clone();
        let state = self.state.clone();
        let started = self.started;
        // The real API key, only for answers that echo it, to redact them.
        let redact = credential
            .exchange
            .profile()
            .answers_with_key(outbound.method, &path)
            .then(|| credential.credential.api_key.clone());
        let counted = self.resources.forwarding();
        let id = subject.id;
        let held = (subject.client().to_owned(), credential.name.clone());
        let exchange = credential.exchange;
        tokio::spawn(async move {
            let _counted = counted;
            let asked = Instant::now();
            let sent = upstream.send(outbound).await;
            let upstream_time = asked.elapsed();
            if let Ok(response) = &sent {
                let scope = match exchange.profile().conventions.limits_by_ip {
                    true => Scope::Exchange(exchange.id()),
                    false => Scope::Pair {
                        client: &held.0,
                        credential: &held.1,
                    },
                };
                let backoffs = state.resources().backoffs();
                backoffs.observe(scope, response.status(), response.headers());
            }
            let answer = match (sent, redact, bearer) {
                (Ok(response), _, Some(b)) => {
                    let bearers = state.resources().bearers();
                    respond::swap_bearer(
                        response,
                        b.field,
                        |real| bearers.issue(&b.client, &b.credential, real),
                        |answer| b.ws.rest_bearer_answer(answer, &b.socket_base),
                    )
                }
                (Ok(response), Some(key), None) => Ok(respond::redact_key(response, key.expose())),
                (Ok(response), None, None) => Ok(respond::pass_through(response)),
                (Err(refusal), _, _) => Err(refusal),
            };
            let forwarded = Forwarded {
                path,
                rule,
                latency_ms: millis_since(started),
                upstream_time,
                answer,
            };
            let gone = tx.is_closed();
            let record = forwarded.record(id, gone);
            let recorded = state.resources().audit_durable(&record).await;
            drop(record);
            if let Err(e) = recorded {
                // The request has already been executed; the bot gets the exchange's answer.
                tracing::error!(error = %e, request = id, "could not write the outcome audit record");
            }
            // Nobody is left to end the request in an Outcome: its metrics are fed here.
            if let Some(f) = forwarded.hand_over(tx, gone) {
                let labels = [held.0.as_str(), &held.1, exchange.id()];
                f.observe(state.resources().metrics(), labels, started.elapsed());
                tracing::info!(
                    request = id,
                    "the bot hung up before the exchange answered; outcome recorded"
                );
            }
        });
        rx
    }

    /// The stages up to the decision. A refusal carries what was learnt of the request before
    /// it, for its audit record and log line.
    async fn decide(&self, id: u64, req: Request<Incoming>) -> Result<Decided<'s>, Stopped<'s>> {
        let snapshot = self.snapshot;
        let mut subject = Subject::new(id, self.peer, req.uri().path());

        let trusted_peer = snapshot.trusts(self.peer.ip());
        let Inbound {
            method,
            source,
            head,
            body,
        } = Inbound::check(
            req,
            &self.hosts,
            snapshot.header_limits,
            self.peer,
            trusted_peer,
            Upgrade::None,
        )
        .map_err(|r| subject.stop(r))?;
        subject.method = Some(method);
        subject.source = source;

        let (credential, path) = route(
            snapshot,
            owner(snapshot, self.hosts.bound(), &head.headers),
            head.uri.path(),
        )
        .map_err(|r| subject.stop(r))?;
        subject.credential = Some(credential);
        subject.path = path.to_owned();

        let client = self
            .resources
            .token_guesses()
            .authenticate(
                &snapshot.clients,
                credential.exchange,
                &head.headers,
                self.peer.ip(),
            )
            .map_err(|r| subject.stop(r))?;
        subject.client = client.map_or(Who::Anonymous, Who::Client);
        if let Some(c) = client {
            c.admit(&credential.name, self.peer)
                .map_err(|r| subject.stop(r))?;
        }
        // After authentication: who is not a client learns nothing of the credential.
        environment::check_marker(
            credential.exchange.id(),
            credential.exchange.profile().demo,
            &credential.name,
            credential.environment,
            &head.headers,
        )
        .map_err(|r| subject.stop(r))?;
        // An expired key version signs nothing, from the moment it expires.
        serving::signs(self.resources, credential, SystemTime::now())
            .map_err(|r| subject.stop(r))?;

        let body = transport::read_body(body, snapshot.max_body_bytes, snapshot.body_timeout)
            .await
            .map_err(|r| subject.stop(r))?;
        transport::check_param_count(
            head.uri.query(),
            transport::content_type(&head.headers),
            &body,
            snapshot.max_params,
        )
        .map_err(|r| subject.stop(r))?;
        let parts = RequestParts {
            method,
            path,
            query: head.uri.query(),
            content_type: transport::content_type(&head.headers),
            body: &body,
        };
        let caller = match client {
            Some(c) => Caller::Client(c.allowlist()),
            None => Caller::Anonymous {
                enabled: snapshot.anonymous_ok,
            },
        };
        let checked = check(credential.exchange, &parts, caller).map_err(|r| subject.stop(r))?;
        // What an allowed request still has to fit: the exchange's hold after its own 429/418,
        // the anonymous rate, and the exchange's request-weight budget.
        if checked.decision.is_allowed() {
            self.resources
                .backoffs()
                .check(subject.client(), &credential.name, credential.exchange.id())
                .map_err(|r| subject.stop(r))?;
            if client.is_none() && !snapshot.anonymous_limiter.try_acquire() {
                return Err(subject.stop(rate_limited("anonymous market data")));
            }
            self.resources
                .budgets()
                .spend(
                    credential.exchange,
                    &credential.name,
                    credential.budgets,
                    &checked,
                )
                .map_err(|r| subject.stop(r))?;
        }
        Ok(Decided {
            subject,
            credential,
            checked,
        })
    }

    /// Writes a refusal's audit record and returns the refusal; if even that fails, the bot
    /// gets the audit failure instead.
    async fn audit_refusal(&self, subject: &Subject<'_>, refusal: Refusal) -> Refusal {
        let verdict = Verdict::Refuse {
            code: refusal.code,
            reason: &refusal.message,
        };
        let record = subject.record(&subject.path, None, verdict);
        match self.resources.audit_durable(&record).await {
            Ok(_) => refusal,
            Err(e) => audit_failed(e),
        }
    }
}

/// A request that reached its decision.
struct Decided<'s> {
    subject: Subject<'s>,
    credential: &'s CredentialState,
    checked: Checked,
}

/// How a decision reads in the audit log.
enum Judgement<'d> {
    Allowed { rule: &'d str },
    Denied(Refusal),
}

impl<'d> Judgement<'d> {
    fn of(decision: &'d Decision) -> Self {
        match decision {
            Decision::Allow { rule } => Judgement::Allowed { rule },
            Decision::Deny(_) => Judgement::Denied(decision.refusal()),
        }
    }

    fn verdict(&self) -> Verdict<'_> {
        match self {
            Judgement::Allowed { rule } => Verdict::Allow { rule },
            Judgement::Denied(refusal) => Verdict::Deny {
                code: refusal.code,
                reason: &refusal.message,
            },
        }
    }
}

/// Stage 7: signs exactly the permitted canonical request with the credential's key
/// ([`Permit::sign`], the one place keyward signs), and sends a demo credential's request to
/// the exchange's demo ([`environment::apply`]). A key on a token signs in its token's turn,
/// off the async worker ([`key::run_in_turn`]).
async fn sign(credential: &CredentialState, permit: &Permit) -> Result<Outbound, Refusal> {
    let mut out = key::run_in_turn(&*credential.credential.key, || {
        permit.sign(
            credential.exchange,
            &credential.credential,
            SystemTime::now(),
        )
    })
    .await?;
    environment::apply(
        credential.exchange.id(),
        credential.exchange.profile().demo,
        credential.environment,
        permit.route().access,
        &mut out,
    )?;
    Ok(out)
}

/// An answer that carries a bearer token for the exchange's sockets, which the bot gets only
/// as a placeholder issued to its client.
struct Bearer {
    client: String,
    credential: String,
    /// Where the token is (member names).
    field: &'static [&'static str],
    ws: &'static dyn WsProtocol,
    /// `ws[s]://<Host>/<credential>`: keyward's socket URLs as the bot reaches them.
    socket_base: String,
}

/// Where the exchange's answer to this request carries a bearer token for its sockets.
fn issues_bearer(
    credential: &CredentialState,
    outbound: &Outbound,
    path: &str,
) -> Option<(&'static dyn WsProtocol, &'static [&'static str])> {
    let ws = credential.exchange.ws()?;
    ws.rest_bearer(outbound.method, path)
        .map(|field| (ws, field))
}

fn audit_failed(e: crate::Error) -> Refusal {
    tracing::error!(error = %e, "audit log write failed; refusing requests");
    Refusal::new(RefusalKind::Unavailable,
        "audit_unavailable",
        "the audit log cannot be written, so keyward refuses all requests (fail closed); the operator must fix the audit disk",
    )
}
