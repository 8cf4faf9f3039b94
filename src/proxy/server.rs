//! The listener and the request pipeline:
//! transport checks → route → client auth → canonicalise → policy → audit → sign → forward.
//!
//! Each stage is a plain function on a typed value; a failure at any stage becomes a
//! [`Refusal`] (a JSON error for the bot) and an audit record, and nothing is forwarded.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{header, HeaderMap, Request, Response, Version};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::forward::Upstream;
pub use super::respond::ProxyBody;
use super::respond::{self, pass_through};
use crate::audit::AuditLog;
use crate::config::{ClientConfig, Config};
use crate::error::Result;
use crate::exchange::{self, Credential, Exchange, Route};
use crate::policy::rate::Limiter;
use crate::policy::{self, Allowlist, Decision, Denial};
use crate::request::{canonicalise, check_path, CanonicalRequest, Method, Refusal, RefusalKind};

/// One credential, unsealed, with its exchange profile and upstream client.
pub struct CredentialState {
    pub name: String,
    pub exchange: &'static dyn Exchange,
    pub credential: Credential,
    pub upstream: Upstream,
}

/// One bot.
pub struct ClientState {
    pub name: String,
    token_sha256: [u8; 32],
    credential: String,
    allow: Allowlist,
    source_ips: Vec<IpNet>,
    limiter: Option<Limiter>,
}

/// Everything the pipeline needs, shared by all connections.
pub struct State {
    credentials: HashMap<String, CredentialState>,
    clients: Vec<ClientState>,
    anonymous_ok: bool,
    anonymous_limiter: Limiter,
    trusted_proxies: Vec<IpNet>,
    host_names: Vec<String>,
    max_body_bytes: usize,
    body_timeout: Duration,
    header_read_timeout: Duration,
    audit: AuditLog,
    audit_sync: bool,
    next_request: AtomicU64,
}

impl State {
    /// Builds the shared state from a validated config and the unsealed credentials.
    pub fn new(
        config: &Config,
        mut unsealed: HashMap<String, Credential>,
        audit: AuditLog,
    ) -> Result<State> {
        let mut credentials = HashMap::new();
        for c in &config.credentials {
            let credential = unsealed.remove(&c.name).ok_or_else(|| {
                crate::Error::vault(format!("credential {:?} was not unsealed", c.name))
            })?;
            let upstream = Upstream::new(
                c.upstream.as_ref().and_then(|u| u.ca.as_deref()),
                c.upstream.as_ref().map(|u| u.base.clone()),
                config.server.connect_timeout,
                config.server.upstream_timeout,
            )?;
            credentials.insert(
                c.name.clone(),
                CredentialState {
                    name: c.name.clone(),
                    exchange: c.exchange,
                    credential,
                    upstream,
                },
            );
        }
        let clients = config
            .clients
            .iter()
            .map(ClientState::from_config)
            .collect();
        Ok(State {
            credentials,
            clients,
            anonymous_ok: config.server.anonymous_market_data,
            anonymous_limiter: Limiter::new(config.server.anonymous_rate),
            trusted_proxies: config.server.trusted_proxies.clone(),
            host_names: config.server.host_names.clone(),
            max_body_bytes: config.server.max_body_bytes,
            body_timeout: config.server.header_read_timeout,
            header_read_timeout: config.server.header_read_timeout,
            audit_sync: audit.is_sync(),
            audit,
            next_request: AtomicU64::new(1),
        })
    }
}

impl State {
    /// Appends an audit record. With `[audit] fsync` the call waits for the disk, so it runs
    /// under `block_in_place`: the runtime moves this worker's other tasks elsewhere meanwhile.
    fn audit<T: Serialize>(&self, entry: &T) -> Result<u64> {
        if self.audit_sync {
            tokio::task::block_in_place(|| self.audit.append(entry))
        } else {
            self.audit.append(entry)
        }
    }
}

impl ClientState {
    fn from_config(c: &ClientConfig) -> ClientState {
        ClientState {
            name: c.name.clone(),
            token_sha256: c.token_sha256,
            credential: c.credential.clone(),
            allow: c.allow.clone(),
            source_ips: c.source_ips.clone(),
            limiter: c.rate.map(Limiter::new),
        }
    }
}

/// How long in-flight requests may take to finish once shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` resolves, then stops accepting, lets requests in flight
/// finish (idle keep-alive connections are closed at once) and returns when every connection
/// is done or after [`SHUTDOWN_GRACE`]. `tls` wraps each connection when configured.
pub async fn run(
    state: Arc<State>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let allowed_hosts = Arc::new(match listener.local_addr() {
        Ok(local) => allowed_hosts(local, &state.host_names, tls.is_some()),
        Err(_) => AllowedHosts { names: Vec::new() },
    });
    tokio::pin!(shutdown);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let hosts = allowed_hosts.clone();
        let tls = tls.clone();
        let header_read_timeout = state.header_read_timeout;
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = state.clone();
                let hosts = hosts.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&state, &hosts, peer, req).await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .keep_alive(true);
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => {
                        watcher
                            .watch(builder.serve_connection(TokioIo::new(s), service))
                            .await
                    }
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    watcher
                        .watch(builder.serve_connection(TokioIo::new(stream), service))
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("no longer accepting connections; finishing requests in flight");
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!(
            "requests still in flight after {} s are cut off", SHUTDOWN_GRACE.as_secs()
        ),
    }
}

/// The `Host` header values this listener answers to.
pub struct AllowedHosts {
    names: Vec<String>,
}

/// The `Host` values a bot may send: the listen address, `localhost` forms on loopback, and the
/// configured host names (with or without the port).
fn allowed_hosts(addr: SocketAddr, extra: &[String], tls: bool) -> AllowedHosts {
    let port = addr.port();
    let default_port = if tls { 443 } else { 80 };
    let mut hosts = vec![match addr.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }];
    if addr.ip().is_loopback() {
        hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(str::to_owned));
    }
    hosts.extend(extra.iter().filter(|h| !h.contains(':')).cloned());
    let mut names = Vec::new();
    for h in hosts {
        names.push(format!("{h}:{port}"));
        if port == default_port {
            names.push(h);
        }
    }
    names.extend(extra.iter().filter(|h| h.contains(':')).cloned());
    AllowedHosts { names }
}

/// What the audit log records for every request, before anything is forwarded.
#[derive(Serialize)]
struct RequestRecord<'a> {
    event: &'static str,
    request: u64,
    client: &'a str,
    source: &'a str,
    credential: &'a str,
    method: &'a str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<String>,
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// What the audit log records after the exchange answered (or failed to).
#[derive(Serialize)]
struct OutcomeRecord<'a> {
    event: &'static str,
    request: u64,
    status: u16,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// What is known about a request so far, for its audit record.
struct Seen<'a> {
    id: u64,
    /// The exchange, once routing found the credential (for native error shapes).
    exchange: Option<&'static dyn Exchange>,
    source: String,
    client: &'a str,
    credential: &'a str,
    method: &'a str,
    path: String,
}

const FORBIDDEN_ALWAYS: &[&str] = &[
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
    "x-original-method",
];

const FORWARDING: &[&str] = &["forwarded", "x-real-ip", "x-client-ip", "true-client-ip"];

async fn handle(
    state: &State,
    hosts: &AllowedHosts,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<ProxyBody> {
    let started = Instant::now();
    let mut seen = Seen {
        id: state.next_request.fetch_add(1, Ordering::Relaxed),
        exchange: None,
        source: peer.to_string(),
        client: "unknown",
        credential: "",
        method: "",
        path: truncate(req.uri().path(), 200),
    };
    match pipeline(state, hosts, peer, req, &mut seen, started).await {
        Ok(resp) => resp,
        Err(reject) => {
            tracing::info!(
                request = seen.id,
                client = seen.client,
                method = seen.method,
                path = %seen.path,
                status = respond::status(reject.kind).as_u16(),
                code = reject.code,
                "refused"
            );
            let native = seen
                .exchange
                .map(|e| e.native_error(&reject))
                .unwrap_or_default();
            respond::refusal(&reject, native)
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl<'a> Seen<'a> {
    /// The audit record of this request's decision.
    fn record(
        &'a self,
        path: &'a str,
        params: Option<String>,
        decision: &'static str,
        rule: Option<&'a str>,
        reject: Option<&'a Refusal>,
    ) -> RequestRecord<'a> {
        RequestRecord {
            event: "request",
            request: self.id,
            client: self.client,
            source: &self.source,
            credential: self.credential,
            method: self.method,
            path,
            params,
            decision,
            rule,
            code: reject.map(|r| r.code),
            reason: reject.map(|r| r.message.as_str()),
        }
    }
}

/// Writes a refusal to the audit log and returns it. If even that fails, the bot gets 503.
fn refuse(state: &State, seen: &Seen, reject: Refusal) -> Refusal {
    let record = seen.record(&seen.path, None, "refuse", None, Some(&reject));
    match state.audit(&record) {
        Ok(_) => reject,
        Err(e) => audit_failed(e),
    }
}

fn audit_failed(e: crate::Error) -> Refusal {
    tracing::error!(error = %e, "audit log write failed; refusing requests");
    Refusal::new(RefusalKind::Unavailable,
        "audit_unavailable",
        "the audit log cannot be written, so keyward refuses all requests (fail closed); the operator must fix the audit disk",
    )
}

/// What the exchange profile and the policy make of a request, once its credential is known:
/// its route, its canonical form (after the exchange's own checks) and the decision. The one
/// implementation behind both `serve` and `policy explain`, so the two cannot disagree.
pub struct Checked {
    pub route: Route,
    pub canonical: CanonicalRequest,
    pub decision: Decision,
}

#[allow(clippy::too_many_arguments)]
pub fn check_for_exchange(
    exchange: &dyn Exchange,
    method: Method,
    exchange_path: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    client: Option<&Allowlist>,
    anonymous_ok: bool,
) -> std::result::Result<Checked, Refusal> {
    exchange::check_method(exchange, method)?;
    let route = exchange.route(exchange_path).ok_or_else(|| {
        Refusal::not_found(format!(
            "{exchange_path} is not a {} API path",
            exchange.id()
        ))
    })?;
    let canonical = canonicalise(
        method,
        exchange_path,
        query,
        content_type,
        body,
        &exchange.canon_rules(),
    )?;
    exchange.check_request(&canonical)?;
    let decision = policy::decide(exchange, client, anonymous_ok, route.access, &canonical);
    Ok(Checked {
        route,
        canonical,
        decision,
    })
}

/// Splits `/<credential>/<exchange path>`; the path has passed [`check_path`].
fn split_credential(path: &str) -> std::result::Result<(&str, &str), Refusal> {
    path[1..]
        .split_once('/')
        .map(|(c, _)| (c, &path[1 + c.len()..]))
        .ok_or_else(|| Refusal::not_found("the path must be /<credential>/<exchange API path>"))
}

/// Stages 1-5: transport checks, route, client auth, canonical request, decision. Fills `seen`
/// as it learns who and what the request is; any refusal is audited once by the caller.
async fn check<'s>(
    state: &'s State,
    hosts: &AllowedHosts,
    peer: SocketAddr,
    req: Request<Incoming>,
    seen: &mut Seen<'s>,
) -> std::result::Result<(&'s CredentialState, Checked), Refusal> {
    let (parts, body) = req.into_parts();
    // 1. transport checks: nothing here depends on who the client is.
    let trusted_peer = state.trusted_proxies.iter().any(|n| n.contains(&peer.ip()));
    let method = transport_checks(&parts, hosts, trusted_peer)?;
    seen.method = method.as_str();
    if trusted_peer {
        if let Some(xff) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        {
            seen.source = format!("{} via {peer}", truncate(xff, 100));
        }
    }

    // 2. route: /<credential>/<exchange path>
    let full_path = parts.uri.path();
    check_path(full_path)?;
    let (cred_name, exchange_path) = split_credential(full_path)?;
    let cred = state.credentials.get(cred_name).ok_or_else(|| {
        Refusal::not_found(format!(
            "no credential named {cred_name:?}; use http://HOST:PORT/<credential> as the exchange base URL"
        ))
    })?;
    seen.credential = &cred.name;
    seen.exchange = Some(cred.exchange);
    seen.path = exchange_path.to_owned();

    // 3. client auth
    let client = authenticate(state, cred.exchange, &parts.headers)?;
    match client {
        Some(c) => {
            seen.client = &c.name;
            admit(c, cred, peer)?;
        }
        None => seen.client = "anonymous",
    }

    // 4. canonicalise (reads the body, bounded in size and time) and 5. decide
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body = read_body(body, state.max_body_bytes, state.body_timeout).await?;
    let checked = check_for_exchange(
        cred.exchange,
        method,
        exchange_path,
        parts.uri.query(),
        content_type,
        &body,
        client.map(|c| &c.allow),
        state.anonymous_ok,
    )?;
    if client.is_none() && checked.decision.is_allowed() && !state.anonymous_limiter.try_acquire() {
        return Err(rate_limited("anonymous market data"));
    }
    Ok((cred, checked))
}

async fn pipeline<'s>(
    state: &'s State,
    hosts: &AllowedHosts,
    peer: SocketAddr,
    req: Request<Incoming>,
    seen: &mut Seen<'s>,
    started: Instant,
) -> std::result::Result<Response<ProxyBody>, Refusal> {
    let (cred, checked) = match check(state, hosts, peer, req, seen).await {
        Ok(x) => x,
        Err(r) => return Err(refuse(state, seen, r)),
    };
    let Checked {
        route,
        canonical,
        decision,
    } = checked;

    // 6. audit the decision before anything leaves
    let reject = deny_reject(&decision);
    let record = seen.record(
        &canonical.path,
        Some(canonical.params_string()),
        if decision.is_allowed() {
            "allow"
        } else {
            "deny"
        },
        decision.rule(),
        reject.as_ref(),
    );
    if let Err(e) = state.audit(&record) {
        return Err(audit_failed(e));
    }
    if let Some(r) = reject {
        return Err(r);
    }

    // 7. sign and forward exactly the canonical request
    let outbound = cred.exchange.sign(
        &canonical,
        route.access,
        &cred.credential,
        SystemTime::now(),
    )?;
    let result = cred.upstream.send(outbound).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (status, error) = match &result {
        Ok(resp) => (resp.status().as_u16(), None),
        Err(r) => (respond::status(r.kind).as_u16(), Some(r.code)),
    };
    let outcome = OutcomeRecord {
        event: "outcome",
        request: seen.id,
        status,
        latency_ms: (latency_ms * 1000.0).round() / 1000.0,
        error,
    };
    if let Err(e) = state.audit(&outcome) {
        // The request has already been executed; the bot gets the exchange's answer.
        tracing::error!(error = %e, request = seen.id, "could not write the outcome audit record");
    }
    tracing::info!(
        request = seen.id,
        client = seen.client,
        method = seen.method,
        path = %canonical.path,
        rule = decision.rule().unwrap_or(""),
        status,
        latency_ms = outcome.latency_ms,
        "forwarded"
    );
    Ok(pass_through(result?))
}

fn rate_limited(who: &str) -> Refusal {
    Refusal::new(
        RefusalKind::RateLimited,
        "rate_limited",
        format!("rate limit of {who} exceeded; slow down"),
    )
}

fn deny_reject(decision: &Decision) -> Option<Refusal> {
    let Decision::Deny(denial) = decision else {
        return None;
    };
    let message = decision.to_string();
    Some(match denial {
        Denial::HardDeny(_) => Refusal::forbidden("hard_deny", message),
        Denial::NoRule => Refusal::forbidden("not_allowed", message),
        Denial::Constraint(_) => Refusal::forbidden("constraint", message),
        Denial::NeedsClient => Refusal::new(
            RefusalKind::Unauthenticated,
            "client_token_required",
            message,
        ),
    })
}

/// Checks that do not depend on the client: HTTP version, method, request-target form, `Host`,
/// framing and forbidden headers.
fn transport_checks(
    req: &http::request::Parts,
    hosts: &AllowedHosts,
    trusted_peer: bool,
) -> std::result::Result<Method, Refusal> {
    if req.version != Version::HTTP_11 {
        return Err(Refusal::new(
            RefusalKind::BadRequest,
            "http_version",
            "only HTTP/1.1 is accepted",
        ));
    }
    let method = Method::from_http(&req.method).ok_or_else(|| {
        Refusal::method_not_allowed(
            Method::ALL,
            format!(
                "method {} is not used by exchange APIs; only {} (each exchange takes its own subset)",
                truncate(req.method.as_str(), 20),
                Method::list(Method::ALL)
            ),
        )
    })?;
    if req.uri.scheme().is_some() || req.uri.authority().is_some() {
        return Err(Refusal::bad_request(
            "absolute-form request targets are not accepted; send the path only",
        ));
    }
    let headers = &req.headers;
    let mut host_values = headers.get_all(header::HOST).iter();
    let host = match (host_values.next(), host_values.next()) {
        (Some(h), None) => h.to_str().unwrap_or("").to_ascii_lowercase(),
        (None, _) => return Err(Refusal::bad_request("the Host header is missing")),
        (Some(_), Some(_)) => return Err(Refusal::bad_request("more than one Host header")),
    };
    if !hosts.names.contains(&host) {
        return Err(Refusal::new(RefusalKind::WrongHost,
            "bad_host",
            format!(
                "Host {:?} does not name this keyward; use {} (or add the name to [server] host_names)",
                truncate(&host, 100),
                hosts.names.first().map(String::as_str).unwrap_or("its listen address")
            ),
        ));
    }
    // hyper drops Content-Length when Transfer-Encoding is also present, so the pair cannot be
    // detected after parsing: refuse chunked requests altogether (bots send Content-Length).
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(Refusal::bad_request(
            "Transfer-Encoding is not accepted; send the body with Content-Length",
        ));
    }
    if headers.contains_key(header::UPGRADE) {
        return Err(Refusal::bad_request("protocol upgrades are not supported"));
    }
    for name in headers.keys() {
        let n = name.as_str();
        if FORBIDDEN_ALWAYS.contains(&n) {
            return Err(Refusal::bad_request(format!(
                "header {n} is refused: keyward never lets a header change the method or the target"
            )));
        }
        if !trusted_peer && (n.starts_with("x-forwarded-") || FORWARDING.contains(&n)) {
            return Err(Refusal::bad_request(format!(
                "header {n} is refused from a peer that is not in [server] trusted_proxies"
            )));
        }
    }
    Ok(method)
}

/// Finds the client by its token (where the exchange profile says bots send it).
/// `Ok(None)` = no token at all (anonymous); a token that matches no client is 401.
fn authenticate<'s>(
    state: &'s State,
    exchange: &dyn Exchange,
    headers: &HeaderMap,
) -> std::result::Result<Option<&'s ClientState>, Refusal> {
    let Some(token) = exchange.client_token(headers)? else {
        return Ok(None);
    };
    let digest: [u8; 32] = Sha256::digest(&token).into();
    let mut found = None;
    for c in &state.clients {
        if bool::from(c.token_sha256.ct_eq(&digest)) {
            found = Some(c);
        }
    }
    found.map(Some).ok_or_else(|| {
        Refusal::unauthenticated(
            "unknown client token; use the token printed by `keyward client-token` as the API key",
        )
    })
}

/// Per-client admission: its credential, its source addresses, its rate.
fn admit(
    client: &ClientState,
    cred: &CredentialState,
    peer: SocketAddr,
) -> std::result::Result<(), Refusal> {
    if client.credential != cred.name {
        return Err(Refusal::forbidden(
            "wrong_credential",
            format!(
                "client {} may not use credential {:?}; its base URL is /{}",
                client.name, cred.name, client.credential
            ),
        ));
    }
    if !client.source_ips.is_empty() && !client.source_ips.iter().any(|n| n.contains(&peer.ip())) {
        return Err(Refusal::forbidden(
            "source_not_allowed",
            format!("client {} may not connect from {}", client.name, peer.ip()),
        ));
    }
    if let Some(l) = &client.limiter {
        if !l.try_acquire() {
            return Err(rate_limited(&format!("client {}", client.name)));
        }
    }
    Ok(())
}

async fn read_body(
    body: Incoming,
    limit: usize,
    timeout: Duration,
) -> std::result::Result<Bytes, Refusal> {
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Err(_) => Err(Refusal::new(
            RefusalKind::Timeout,
            "body_timeout",
            "the request body did not arrive in time",
        )),
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(Refusal::new(
                    RefusalKind::TooLarge,
                    "body_too_large",
                    format!("the request body is larger than {limit} bytes"),
                ))
            } else {
                Err(Refusal::bad_request(
                    "the request body could not be read (malformed chunked encoding?)",
                ))
            }
        }
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// For `policy explain`: the decision keyward would make, without a token or network.
pub fn explain(
    config: &Config,
    client_name: &str,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> std::result::Result<(CanonicalRequest, Decision), Refusal> {
    let method = Method::parse(method).ok_or_else(|| {
        Refusal::bad_request(format!(
            "method {method:?} must be one of {}",
            Method::list(Method::ALL)
        ))
    })?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    check_path(path)?;
    let (cred_name, exchange_path) = split_credential(path)?;
    let cred = config
        .credential(cred_name)
        .ok_or_else(|| Refusal::not_found(format!("no credential named {cred_name:?}")))?;
    let client = config.client(client_name).ok_or_else(|| {
        Refusal::unauthenticated(format!("no client named {client_name:?} in the config"))
    })?;
    if client.credential != cred.name {
        return Err(Refusal::forbidden(
            "wrong_credential",
            format!(
                "client {} may not use credential {:?}",
                client.name, cred.name
            ),
        ));
    }
    // A body is JSON if it looks like JSON, else a form (as bots send them).
    let body = body.unwrap_or("");
    let content_type = match body.trim_start().as_bytes().first() {
        None => None,
        Some(b'{' | b'[') => Some("application/json"),
        Some(_) => Some("application/x-www-form-urlencoded"),
    };
    let checked = check_for_exchange(
        cred.exchange,
        method,
        exchange_path,
        query,
        content_type,
        body.as_bytes(),
        Some(&client.allow),
        config.server.anonymous_market_data,
    )?;
    Ok((checked.canonical, checked.decision))
}
