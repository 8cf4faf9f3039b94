//! The checks that do not depend on who the client is: HTTP version, method, request-target
//! form, `Host`, framing, forbidden and forwarding headers; and reading the body within its
//! size and time bounds.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, Request, Version};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::host::AllowedHosts;
use crate::request::{Method, Refusal, RefusalKind};

/// Headers that would change the method or the target behind keyward's back.
const FORBIDDEN_ALWAYS: &[&str] = &[
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
    "x-original-method",
];

/// Headers keyward reads (besides `Host` and `Upgrade`, checked on their own, and each
/// exchange's key headers, checked where the client token is read): a second copy would leave
/// keyward reading one while the next reader might take the other, so it is refused.
const SINGLE: &[&str] = &[
    "content-type",
    "content-length",
    "authorization",
    "x-forwarded-for",
    "sec-websocket-key",
    "sec-websocket-version",
];

/// Headers that claim another client address; only a trusted proxy may send them.
const FORWARDING: &[&str] = &["forwarded", "x-real-ip", "x-client-ip", "true-client-ip"];

/// `[server] max_header_bytes` and `max_header_total_bytes`: bounds on one header and on all of
/// them, counted as they stand on the wire (`name: value` plus CR LF).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderLimits {
    pub per_header: usize,
    pub total: usize,
    /// `[server] max_headers`: how many header lines.
    pub count: usize,
}

impl HeaderLimits {
    fn check(self, headers: &HeaderMap) -> Result<(), Refusal> {
        if headers.len() > self.count {
            return Err(Refusal::new(
                RefusalKind::HeadersTooLarge,
                "too_many_headers",
                format!(
                    "the request has {} headers; keyward accepts at most {} ([server] max_headers)",
                    headers.len(),
                    self.count
                ),
            ));
        }
        let mut total = 0usize;
        for (name, value) in headers {
            let size = name.as_str().len() + 2 + value.len() + 2;
            if size > self.per_header {
                return Err(Refusal::new(
                    RefusalKind::HeadersTooLarge,
                    "header_too_large",
                    format!(
                        "header {} is {size} bytes; keyward accepts at most {} per header ([server] max_header_bytes)",
                        truncate(name.as_str(), 64),
                        self.per_header
                    ),
                ));
            }
            total += size;
        }
        if total > self.total {
            return Err(Refusal::new(
                RefusalKind::HeadersTooLarge,
                "headers_too_large",
                format!(
                    "the headers are {total} bytes together; keyward accepts at most {} ([server] max_header_total_bytes)",
                    self.total
                ),
            ));
        }
        Ok(())
    }
}

/// The protocol upgrade a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upgrade {
    /// None: an HTTP request.
    None,
    /// `Upgrade: websocket`.
    WebSocket,
}

/// A request that passed the transport checks: its raw parts, not yet read by anyone.
pub struct Inbound {
    pub method: Method,
    /// The peer address, or `<X-Forwarded-For> via <peer>` from a trusted proxy.
    pub source: String,
    pub head: http::request::Parts,
    pub body: Incoming,
}

impl Inbound {
    /// Runs the transport checks on a request from `peer`; `trusted_peer` says whether it is a
    /// configured trusted proxy (whose forwarding headers are allowed and feed `source`). A
    /// WebSocket upgrade passes the same checks, but `Upgrade: websocket` (once, and nothing
    /// else) is what it is for.
    pub fn check(
        req: Request<Incoming>,
        hosts: &AllowedHosts<'_>,
        limits: HeaderLimits,
        peer: SocketAddr,
        trusted_peer: bool,
        upgrade: Upgrade,
    ) -> Result<Inbound, Refusal> {
        let (head, body) = req.into_parts();
        let method = check_parts(&head, hosts, limits, trusted_peer, upgrade)?;
        let forwarded_for = head
            .headers
            .get("x-forwarded-for")
            .filter(|_| trusted_peer)
            .and_then(|v| v.to_str().ok());
        let source = match forwarded_for {
            Some(xff) => format!("{} via {peer}", truncate(xff, 100)),
            None => peer.to_string(),
        };
        Ok(Inbound {
            method,
            source,
            head,
            body,
        })
    }
}

/// The transport checks on a request's head (no body read): header sizes, HTTP version,
/// method, origin-form target, `Host`, framing and forbidden headers. The method, if they pass.
/// [`Inbound::check`] runs exactly this; the fuzz targets (`keyward::proxy::fuzzing`) call it directly.
pub fn check_parts(
    head: &http::request::Parts,
    hosts: &AllowedHosts<'_>,
    limits: HeaderLimits,
    trusted_peer: bool,
    upgrade: Upgrade,
) -> Result<Method, Refusal> {
    limits.check(&head.headers)?;
    check_head(head, hosts, trusted_peer, upgrade == Upgrade::WebSocket)
}

/// The declared content type, if it is text.
pub fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

fn check_head(
    req: &http::request::Parts,
    hosts: &AllowedHosts<'_>,
    trusted_peer: bool,
    websocket: bool,
) -> Result<Method, Refusal> {
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
    check_host(&req.headers, hosts)?;
    check_headers(&req.headers, trusted_peer, websocket)?;
    Ok(method)
}

/// Exactly one `Host`, naming this keyward.
fn check_host(headers: &HeaderMap, hosts: &AllowedHosts<'_>) -> Result<(), Refusal> {
    let mut host_values = headers.get_all(header::HOST).iter();
    let host = match (host_values.next(), host_values.next()) {
        (Some(h), None) => h.to_str().unwrap_or("").to_ascii_lowercase(),
        (None, _) => return Err(Refusal::bad_request("the Host header is missing")),
        (Some(_), Some(_)) => return Err(Refusal::bad_request("more than one Host header")),
    };
    if hosts.allows(&host) {
        return Ok(());
    }
    Err(Refusal::new(
        RefusalKind::WrongHost,
        "bad_host",
        format!(
            "Host {:?} does not name this keyward; use {} (or add the name to [server] host_names)",
            truncate(&host, 100),
            hosts
                .suggestion()
                .as_deref()
                .unwrap_or("its listen address")
        ),
    ))
}

/// Framing and headers that could make keyward and the exchange read the request differently.
fn check_headers(headers: &HeaderMap, trusted_peer: bool, websocket: bool) -> Result<(), Refusal> {
    // hyper drops Content-Length when Transfer-Encoding is also present, so the pair cannot be
    // detected after parsing: refuse chunked requests altogether (bots send Content-Length).
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(Refusal::bad_request(
            "Transfer-Encoding is not accepted; send the body with Content-Length",
        ));
    }
    let mut upgrades = headers.get_all(header::UPGRADE).iter();
    let only_websocket = match (upgrades.next(), upgrades.next()) {
        (None, _) => !websocket,
        (Some(v), None) => websocket && v.as_bytes().eq_ignore_ascii_case(b"websocket"),
        (Some(_), Some(_)) => false,
    };
    if !only_websocket {
        return Err(Refusal::bad_request(
            "protocol upgrades other than one Upgrade: websocket are not supported",
        ));
    }
    for name in headers.keys() {
        let n = name.as_str();
        if SINGLE.contains(&n) && headers.get_all(name).iter().nth(1).is_some() {
            return Err(Refusal::new(
                RefusalKind::BadRequest,
                "duplicate_header",
                format!("more than one {n} header; send it once"),
            ));
        }
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
    Ok(())
}

/// Reads the whole body, refusing one larger than `limit` or slower than `timeout`.
pub async fn read_body(body: Incoming, limit: usize, timeout: Duration) -> Result<Bytes, Refusal> {
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Err(_) => Err(Refusal::new(
            RefusalKind::Timeout,
            "body_timeout",
            format!(
                "the request body did not arrive within {} ms ([server] body_read_timeout_ms)",
                timeout.as_millis()
            ),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Refusal::new(
            RefusalKind::TooLarge,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )),
        Ok(Err(_)) => Err(Refusal::bad_request(
            "the request body could not be read (malformed chunked encoding?)",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// Refuses a request with more than `max` query and form-body parameters (`[server]
/// max_params`), counted as `&`-separated pieces before anything parses them.
pub fn check_param_count(
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    max: usize,
) -> Result<(), Refusal> {
    let pieces = |s: &[u8]| s.split(|&b| b == b'&').filter(|p| !p.is_empty()).count();
    let form = content_type.is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let count = query.map_or(0, |q| pieces(q.as_bytes())) + if form { pieces(body) } else { 0 };
    if count > max {
        return Err(Refusal::new(
            RefusalKind::BadRequest,
            "too_many_params",
            format!(
                "the request has {count} parameters; keyward accepts at most {max} ([server] max_params)"
            ),
        ));
    }
    Ok(())
}

/// At most `max` bytes of `s` (cut at a character boundary, marked with `…`), for messages and
/// logs that quote what the bot sent.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, http::HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn header_lines_are_counted() {
        let limits = HeaderLimits {
            per_header: 100,
            total: 10_000,
            count: 3,
        };
        let mut map = HeaderMap::new();
        for name in ["a", "b", "c"] {
            map.append(name, "1".parse().unwrap());
        }
        assert!(limits.check(&map).is_ok());
        map.append("a", "2".parse().unwrap());
        assert_eq!(limits.check(&map).unwrap_err().code, "too_many_headers");
    }

    #[test]
    fn parameters_are_counted_in_query_and_form_body() {
        let form = Some("application/x-www-form-urlencoded");
        assert!(check_param_count(Some("a=1&b=2"), form, b"c=3", 3).is_ok());
        let e = check_param_count(Some("a=1&b=2"), form, b"c=3&d=4", 3).unwrap_err();
        assert_eq!(e.code, "too_many_params");
        // A JSON body is not counted as form pieces; empty pieces are not parameters.
        assert!(check_param_count(Some("a&&b"), Some("application/json"), b"x&y&z", 2).is_ok());
    }

    #[test]
    fn header_sizes_are_bounded_one_by_one_and_together() {
        let limits = HeaderLimits {
            per_header: 100,
            total: 250,
            count: 64,
        };
        // "x-note: " + value + CR LF: 8 + 90 + 2 = 100 bytes.
        let mut map = HeaderMap::new();
        map.insert("x-note", "v".repeat(90).parse().unwrap());
        assert!(limits.check(&map).is_ok(), "100 bytes is within the bound");
        map.insert("x-note", "v".repeat(91).parse().unwrap());
        let r = limits.check(&map).unwrap_err();
        assert_eq!(
            (r.kind, r.code),
            (RefusalKind::HeadersTooLarge, "header_too_large")
        );
        assert!(
            !r.message.contains("vvv"),
            "the value is not echoed: {}",
            r.message
        );

        let mut map = HeaderMap::new();
        for name in ["x-a", "x-b", "x-c"] {
            map.insert(name, "v".repeat(80).parse().unwrap());
        }
        // 3 × (3 + 2 + 80 + 2) = 261 bytes.
        let r = limits.check(&map).unwrap_err();
        assert_eq!(
            (r.kind, r.code),
            (RefusalKind::HeadersTooLarge, "headers_too_large")
        );
        map.remove("x-c");
        assert!(limits.check(&map).is_ok());
    }

    #[test]
    fn duplicates_of_headers_keyward_reads_are_refused() {
        for name in SINGLE {
            let twice = headers(&[(name, "a"), (name, "a")]);
            let r = check_headers(&twice, true, false).unwrap_err();
            assert_eq!(r.code, "duplicate_header", "{name}");
            assert_eq!(r.kind, RefusalKind::BadRequest);
            assert!(check_headers(&headers(&[(name, "a")]), true, false).is_ok());
        }
        // Headers keyward does not read may repeat.
        assert!(check_headers(&headers(&[("accept", "a"), ("accept", "b")]), false, false).is_ok());
    }
}
