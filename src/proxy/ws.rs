//! WebSocket sessions on the same listener: an HTTP/1.1 `Upgrade: websocket` at
//! `/<credential>/<the exchange's WebSocket path>` passes the same transport checks, routing and
//! client authentication as a REST request, opens the exchange's socket over TLS, answers 101
//! (no extension negotiated) and hands both sockets to the [`relay`], where every bot frame is
//! decided by [`crate::session`].

mod relay;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::host::{AllowedHosts, ListenName};
use super::outcome::{decision_of, Outcome, Stopped, Subject};
use super::respond::{self, ProxyBody};
use super::routing::{owner, route};
use super::serving;
use super::state::State;
use super::transport::{Inbound, Upgrade};
use crate::audit::{Asker, Event, FrameRecord, Judged, Verdict};
use crate::exchange::ws::WsRoute;
use crate::metrics::{Decision, RequestSample};
use crate::request::{Method, Refusal, RefusalKind};
use crate::secret::SecretBytes;
use crate::session::Bearers;

/// Whether a request asks to become a WebSocket.
pub fn is_upgrade(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// An accepted upgrade: what the relay task needs.
struct Accepted {
    credential: String,
    /// The credential's key version the session signs with.
    key_version: u32,
    socket: String,
    route: WsRoute,
    client: Option<String>,
    source: String,
    accept: HeaderValue,
    /// The upstream path (and query), with the real bearer where the URL carries one.
    upstream_target: String,
    /// The bearer placeholder the URL carried and the real token (Binance's listen key).
    bearer: Option<(String, SecretBytes)>,
}

/// Serves an upgrade request: 101 and a relay task, or the refusal (logged and audited like a
/// REST request's).
pub async fn upgrade(
    state: &Arc<State>,
    listen: Option<&ListenName>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
) -> Response<ProxyBody> {
    let started = Instant::now();
    let on_upgrade = hyper::upgrade::on(&mut req);
    let snapshot = state.snapshot();
    let resources = state.resources();
    let id = resources.next_request();
    let hosts = AllowedHosts::new(listen, &snapshot.host_names);
    let accepted = match accept(&snapshot, resources, &hosts, id, peer, req) {
        Ok(accepted) => accepted,
        Err(stopped) => {
            let Stopped { subject, refusal } = *stopped;
            let verdict = Verdict::Refuse {
                code: refusal.code,
                reason: &refusal.message,
            };
            let refusal = match resources.audit(&subject.record(&subject.path, None, verdict)) {
                Ok(_) => refusal,
                Err(e) => {
                    tracing::error!(error = %e, "audit log write failed; refusing");
                    Refusal::new(
                        RefusalKind::Unavailable,
                        "audit_unavailable",
                        "the audit log cannot be written, so keyward refuses all requests (fail closed)",
                    )
                }
            };
            let outcome = Outcome::refused(subject, refusal);
            outcome.log();
            outcome.observe(resources.metrics(), started.elapsed());
            return outcome.into_response();
        }
    };
    let quota = match resources
        .ws_quotas()
        .open(accepted.client.as_deref().unwrap_or("anonymous"))
    {
        Ok(slot) => slot,
        Err(refusal) => return refuse_accepted(state, id, &accepted, refusal, started),
    };
    let config = frame_config(snapshot.max_body_bytes);
    let upstream = match resources.ws_upstream(&accepted.credential) {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "no WebSocket upstream");
            let refusal = Refusal::new(
                RefusalKind::Internal,
                "internal",
                "keyward has no WebSocket upstream for this credential; see its log",
            );
            return refuse_accepted(state, id, &accepted, refusal, started);
        }
    };
    // The exchange's frames (market data snapshots) may be far larger than a bot's request.
    let asked = Instant::now();
    let exchange = match upstream
        .connect(
            accepted.route,
            &accepted.upstream_target,
            frame_config(EXCHANGE_FRAME_MAX),
        )
        .await
    {
        Ok(socket) => socket,
        Err(refusal) => return refuse_accepted(state, id, &accepted, refusal, started),
    };
    let connected = asked.elapsed();
    let record = frame_record(id, &accepted, Verdict::Allow { rule: "upgrade" });
    if let Err(e) = resources.audit(&record) {
        tracing::error!(error = %e, "audit log write failed; refusing");
        let failed = Refusal::new(RefusalKind::Unavailable, "audit_unavailable", "");
        observe(state, &accepted, Err(&failed), started, Some(connected));
        return status_only(StatusCode::SERVICE_UNAVAILABLE);
    }
    observe(state, &accepted, Ok(()), started, Some(connected));
    tracing::info!(
        session = id,
        client = accepted.client.as_deref().unwrap_or("anonymous"),
        socket = %accepted.socket,
        "WebSocket session opened"
    );
    let mut response = status_only(StatusCode::SWITCHING_PROTOCOLS);
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accepted.accept.clone());
    let state = state.clone();
    // A session is not counted as in flight: it lives until a side closes, and ends with the
    // process (every frame it forwarded was audited before it left).
    tokio::spawn(async move {
        let bot = match on_upgrade.await {
            Ok(upgraded) => relay::bot_socket(upgraded, config).await,
            Err(e) => {
                tracing::debug!(error = %e, "the bot's upgrade did not complete");
                return;
            }
        };
        relay::run(
            &state,
            id,
            peer,
            accepted_parts(&accepted),
            bot,
            exchange,
            quota,
        )
        .await;
        tracing::info!(session = id, "WebSocket session closed");
    });
    response
}

/// The transport checks, route, WebSocket handshake headers and client authentication.
fn accept(
    snapshot: &super::state::Snapshot,
    resources: &super::state::Resources,
    hosts: &AllowedHosts<'_>,
    id: u64,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Accepted, Box<Stopped<'static>>> {
    // Refusals here carry no credential: the bot learns keyward's error shape, not the exchange's.
    let mut subject: Subject<'static> = Subject::new(id, peer, req.uri().path());
    let trusted = snapshot.trusts(peer.ip());
    let stop = |subject: &Subject<'static>, refusal: Refusal| Box::new(subject.stop(refusal));
    let inbound = Inbound::check(
        req,
        hosts,
        snapshot.header_limits,
        peer,
        trusted,
        Upgrade::WebSocket,
    )
    .map_err(|r| stop(&subject, r))?;
    subject.method = Some(inbound.method);
    subject.source = inbound.source.clone();
    let head = &inbound.head;
    if inbound.method != Method::Get {
        return Err(stop(
            &subject,
            Refusal::bad_request("a WebSocket upgrade is a GET"),
        ));
    }
    let (credential, path) = route(
        snapshot,
        owner(snapshot, hosts.bound(), &head.headers),
        head.uri.path(),
    )
    .map_err(|r| stop(&subject, r))?;
    subject.path = path.to_owned();
    let protocol = credential.exchange.ws();
    let route = protocol.and_then(|p| p.route(path).map(|r| (p, r)));
    let (protocol, route) = route.ok_or_else(|| {
            stop(
                &subject,
                Refusal::not_found(format!(
                    "{path} is not a {} WebSocket path keyward relays (see the README's WebSocket table)",
                    credential.exchange.id()
                )),
            )
        })?;
    let accept = handshake_accept(&head.headers).map_err(|r| stop(&subject, r))?;
    let query = head.uri.query();
    let placeholder = protocol
        .url_bearer(route, path, query)
        .map_err(|r| stop(&subject, r))?;
    let bearers = resources.bearers();
    let mut client = resources
        .token_guesses()
        .authenticate(
            &snapshot.clients,
            credential.exchange,
            &head.headers,
            peer.ip(),
        )
        .map_err(|r| stop(&subject, r))?;
    let bearer = match placeholder {
        None => None,
        Some(placeholder) => {
            let (owner, real) =
                url_bearer_owner(snapshot, bearers, &credential.name, placeholder, client)
                    .map_err(|r| stop(&subject, r))?;
            client = Some(owner);
            Some((placeholder.to_owned(), real))
        }
    };
    let upstream_target = protocol.upstream_target(
        path,
        query,
        bearer.as_ref().and_then(|(_, real)| real.expose_str()),
    );
    if let Some(c) = client {
        c.admit(&credential.name, peer)
            .map_err(|r| stop(&subject, r))?;
    }
    serving::signs(resources, credential, std::time::SystemTime::now())
        .map_err(|r| stop(&subject, r))?;
    Ok(Accepted {
        credential: credential.name.clone(),
        key_version: credential.version.number,
        socket: path.to_owned(),
        route,
        client: client.map(|c| c.name().to_owned()),
        source: inbound.source,
        accept,
        upstream_target,
        bearer,
    })
}

/// The client a socket URL's bearer placeholder was issued to (which must be the upgrade's
/// client, if it names one) and the real token.
fn url_bearer_owner<'s>(
    snapshot: &'s super::state::Snapshot,
    bearers: &Bearers,
    credential: &str,
    placeholder: &str,
    upgrade_client: Option<&'s super::auth::Client>,
) -> Result<(&'s super::auth::Client, SecretBytes), Refusal> {
    let unknown = || {
        Refusal::unauthenticated(
            "the socket URL carries a token keyward did not issue for this credential; get it from the REST endpoint through keyward",
        )
    };
    let (name, real) = bearers
        .resolve(credential, placeholder)
        .ok_or_else(unknown)?;
    let owner = snapshot.clients.by_name(&name).ok_or_else(unknown)?;
    match upgrade_client {
        Some(c) if !std::ptr::eq(c, owner) => Err(Refusal::unauthenticated(
            "the upgrade carries another client's token than the socket URL's",
        )),
        _ => Ok((owner, real)),
    }
}

/// `Sec-WebSocket-Accept` for a version-13 handshake.
fn handshake_accept(headers: &HeaderMap) -> Result<HeaderValue, Refusal> {
    let upgrade_token = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    if !upgrade_token {
        return Err(Refusal::bad_request(
            "a WebSocket upgrade needs Connection: Upgrade",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(Refusal::bad_request(
            "keyward speaks WebSocket version 13 only",
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or_else(|| Refusal::bad_request("the upgrade has no Sec-WebSocket-Key"))?;
    HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|_| Refusal::bad_request("bad Sec-WebSocket-Key"))
}

/// Largest message accepted from the exchange.
const EXCHANGE_FRAME_MAX: usize = 16 << 20;

/// Frames and messages are bounded (a bot's like request bodies).
fn frame_config(max: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

fn frame_record<'a>(id: u64, a: &'a Accepted, verdict: Verdict<'a>) -> Event<'a> {
    Event::Frame(FrameRecord {
        session: id,
        frame: 0,
        asker: Asker {
            client: a.client.as_deref().unwrap_or("anonymous"),
            source: &a.source,
            credential: &a.credential,
            key_version: Some(a.key_version),
        },
        socket: &a.socket,
        op: "upgrade",
        judged: Judged {
            method: "GET",
            path: &a.socket,
            params: None,
            verdict,
        },
    })
}

/// A refusal after the upgrade was accepted (socket cap, exchange unreachable): audited as the
/// session's record, answered with keyward's JSON error.
/// Feeds the metrics with an accepted upgrade's end: 101 (rule `upgrade`, as audited) or
/// keyward's refusal; `upstream` is the time the exchange's socket took to open.
fn observe(
    state: &State,
    accepted: &Accepted,
    end: Result<(), &Refusal>,
    started: Instant,
    upstream: Option<Duration>,
) {
    let snapshot = state.snapshot();
    let credential = snapshot.credentials.get(&accepted.credential);
    let (rule, decision, status, code) = match end {
        Ok(()) => ("upgrade", Decision::allow, 101, None),
        Err(r) => (
            "",
            decision_of(r),
            respond::status(r.kind).as_u16(),
            Some(r.code),
        ),
    };
    state.resources().metrics().request(&RequestSample {
        client: accepted.client.as_deref().unwrap_or("anonymous"),
        credential: &accepted.credential,
        exchange: credential.map_or("", |c| c.exchange.id()),
        rule,
        decision,
        status,
        code,
        total: started.elapsed(),
        upstream,
    });
}

fn refuse_accepted(
    state: &State,
    id: u64,
    accepted: &Accepted,
    refusal: Refusal,
    started: Instant,
) -> Response<ProxyBody> {
    observe(state, accepted, Err(&refusal), started, None);
    let verdict = Verdict::Refuse {
        code: refusal.code,
        reason: &refusal.message,
    };
    if let Err(e) = state
        .resources()
        .audit(&frame_record(id, accepted, verdict))
    {
        tracing::error!(error = %e, "audit log write failed");
    }
    tracing::info!(
        session = id,
        code = refusal.code,
        "WebSocket upgrade refused"
    );
    respond::refusal(&refusal, Vec::new())
}

fn status_only(status: StatusCode) -> Response<ProxyBody> {
    let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response
}

/// What the relay task keeps of the accepted upgrade.
fn accepted_parts(a: &Accepted) -> relay::Parts {
    relay::Parts {
        credential: a.credential.clone(),
        socket: a.socket.clone(),
        route: a.route,
        client: a.client.clone(),
        source: a.source.clone(),
        bearer: a
            .bearer
            .as_ref()
            .map(|(p, real)| (p.clone(), SecretBytes::copy_from(real.expose()))),
    }
}
