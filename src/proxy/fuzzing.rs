//! Entry points for the `cargo fuzz` targets in `fuzz/` (and for the unit tests that replay
//! their seed corpus): a bot's request as bytes, run through the same stages the proxy runs
//! before anything is forwarded, and the properties every request must keep.
//!
//! Nothing here re-implements a stage: the transport checks are
//! the proxy's `transport::check_parts`, routing is its `routing::split_target`, the canonical form, the
//! exchange checks and the decision are [`policy::check`], the only way to a signature is
//! [`Checked::permit`] → [`Permit::sign`], exactly as in the proxy's pipeline.
//!
//! # Input format
//!
//! A request as text, close to what a bot puts on the wire (so seeds are real requests):
//!
//! ```text
//! binance                                  <- exchange profile id
//! POST /main/api/v3/order?symbol=BTCUSDT   <- method and request target
//! host: 127.0.0.1:8080                     <- headers, one per line
//! content-type: application/x-www-form-urlencoded
//!                                          <- empty line
//! side=BUY&type=LIMIT&quantity=0.1&price=1 <- body, raw bytes to the end
//! ```
//!
//! An unknown profile id picks a profile from its first byte. An input that cannot be an HTTP
//! request at all (a method, target or header hyper would not parse) is skipped: hyper refuses
//! it before keyward sees it.
//!
//! # Properties (a violation panics, which the fuzzer reports as a crash)
//!
//! * no stage panics, whatever the input;
//! * **idempotence**: the canonical request, re-serialised in keyward's encoding
//!   ([`CanonicalRequest::serialise`]) and canonicalised again, is the same canonical request,
//!   judged the same way;
//! * **only allowed requests are signed**: a permit exists exactly when the decision allows,
//!   under the rule the decision names, and no allowed path names a keyword of the hard deny;
//! * **what is sent is what was checked**: the request keyward would send upstream (method,
//!   query and body of the signed [`Outbound`]), read by keyward's own canonicaliser, is the
//!   allowed canonical request again, except for the fields keyward itself writes (signature,
//!   timestamp, nonce: the profile's bot signing fields, and Binance's receive window), and it
//!   is allowed by the same rule.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::{HeaderName, HeaderValue, Uri, Version};

use super::host::{AllowedHosts, ListenName};
use super::routing::split_target;
use super::transport::{check_parts, content_type, HeaderLimits, Upgrade};
use crate::exchange::{self, Exchange, Outbound};
use crate::policy::{self, Caller, Checked, Permit};
use crate::request::{
    canonicalise, parse_params, CanonicalRequest, Json, Method, Params, Refusal, RequestParts,
};

/// The listen address the inputs' `Host` must name.
pub const LISTEN: &str = "127.0.0.1:8080";
/// The credential name every input's target starts with (`/main/<exchange path>`).
pub const CREDENTIAL: &str = "main";
/// The largest body the targets read (keyward's default `[server] max_body_bytes`, 1 MiB).
const MAX_BODY: usize = 1 << 20;
/// `[server] max_header_bytes`, `max_header_total_bytes` and `max_headers` at their defaults.
fn header_limits() -> HeaderLimits {
    HeaderLimits {
        per_header: 8 * 1024,
        total: 32 * 1024,
        count: crate::config::Limits::default().max_headers,
    }
}
/// Parameters a signer sets to keyward's own value rather than the bot's (Binance's receive
/// window, capped by the credential), besides the profile's bot signing fields.
const KEYWARD_WRITES: &[&str] = &["recvWindow"];
/// Words of the hard deny's keyword guard: no allowed path may contain one (checked here
/// independently of `exchange::deny`, as an oracle).
const DENY_WORDS: &[&str] = &["withdraw", "transfer"];
/// A fixed instant to sign at (2026-12-01T00:00:00Z).
const SIGNED_AT: u64 = 1_796_083_200;

/// One fuzz input: the exchange profile, the request head as hyper would hand it over, and the
/// body.
pub struct Input<'a> {
    pub exchange: &'static dyn Exchange,
    pub head: Parts,
    pub body: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads an input in the format above; `None` if hyper would not have parsed it.
    pub fn parse(data: &'a [u8]) -> Option<Input<'a>> {
        let (id, rest) = split_line(data)?;
        let registry = exchange::registry();
        let exchange = std::str::from_utf8(id)
            .ok()
            .and_then(exchange::lookup)
            .unwrap_or_else(|| registry[usize::from(*id.first().unwrap_or(&0)) % registry.len()]);
        let (request_line, mut rest) = split_line(rest)?;
        let space = request_line.iter().position(|b| *b == b' ')?;
        let method = http::Method::from_bytes(&request_line[..space]).ok()?;
        let uri = Uri::try_from(&request_line[space + 1..]).ok()?;
        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .version(Version::HTTP_11);
        let body = loop {
            let Some((line, after)) = split_line(rest) else {
                // Headers to the end: no body.
                break &rest[rest.len()..];
            };
            rest = after;
            if line.is_empty() {
                break rest;
            }
            let colon = line.iter().position(|b| *b == b':')?;
            let name = HeaderName::from_bytes(&line[..colon]).ok()?;
            let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
            builder = builder.header(name, value);
        };
        let (head, ()) = builder.body(()).ok()?.into_parts();
        Some(Input {
            exchange,
            head,
            body,
        })
    }
}

/// The first line (without `\n`, and without a `\r` before it) and the rest.
fn split_line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = data.iter().position(|b| *b == b'\n')?;
    let line = &data[..end];
    Some((line.strip_suffix(b"\r").unwrap_or(line), &data[end + 1..]))
}

/// What became of an input, for the corpus tests and the fuzzer's statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not an HTTP request hyper would hand over.
    Skipped,
    /// Refused before a decision (transport, route, canonical form, exchange check): the code.
    Refused(&'static str),
    /// Judged and denied by policy: the refusal code.
    Denied(&'static str),
    /// Allowed and signed: the rule.
    Signed(String),
    /// Allowed, but the signer refused it (e.g. a body the exchange does not take): the code.
    SignRefused(&'static str),
}

/// Target (a), the canonicaliser: the transport checks, then the canonical form of the target
/// under the input profile's rules (any path, routed or not), and its idempotence; the query
/// and body also go through the parameter and JSON parsers directly.
pub fn canonicaliser(data: &[u8]) -> Verdict {
    let Some(input) = Input::parse(data) else {
        return Verdict::Skipped;
    };
    // The parsers on their own, whatever the rest says.
    if let Ok(text) = std::str::from_utf8(input.body) {
        let _ = parse_params(text, "body");
        let _ = Json::parse(text);
    }
    if let Some(q) = input.head.uri.query() {
        let _ = parse_params(q, "query string");
    }
    let method = match transport(&input) {
        Ok(method) => method,
        Err(r) => return Verdict::Refused(r.code),
    };
    let parts = RequestParts {
        method,
        path: input.head.uri.path(),
        query: input.head.uri.query(),
        content_type: content_type(&input.head.headers),
        body: input.body,
    };
    let rules = input.exchange.canon_rules();
    match parts.canonicalise(&rules) {
        Ok(canonical) => {
            assert_idempotent(input.exchange, &canonical);
            Verdict::Signed(String::new())
        }
        Err(r) => Verdict::Refused(r.code),
    }
}

/// Target (b), the policy engine: every stage up to the signature, for a client holding the
/// profile's [`allowlist`], with all the properties above.
pub fn policy(data: &[u8]) -> Verdict {
    let Some(input) = Input::parse(data) else {
        return Verdict::Skipped;
    };
    let allowlist = allowlist(input.exchange);
    let caller = Caller::Client(allowlist);
    let checked = match stages(&input, caller) {
        Ok(checked) => checked,
        Err(r) => return Verdict::Refused(r.code),
    };
    assert_idempotent(input.exchange, &checked.canonical);
    let again = policy::check(
        input.exchange,
        &checked.canonical.serialise().parts(),
        caller,
    )
    .unwrap_or_else(|r| panic!("the re-serialised canonical request is refused: {r:?}"));
    assert_eq!(
        again.decision, checked.decision,
        "the re-serialised canonical request is judged differently"
    );
    let decision = checked.decision.clone();
    let permit = match checked.permit() {
        Ok(permit) => permit,
        Err(r) => {
            assert!(!decision.is_allowed(), "an allowed request got no permit");
            return Verdict::Denied(r.code);
        }
    };
    assert_eq!(
        decision.rule(),
        Some(permit.rule()),
        "a permit for a request the policy did not allow under that rule"
    );
    let path = permit.canonical().path.to_ascii_lowercase();
    if let Some(word) = DENY_WORDS.iter().find(|w| path.contains(*w)) {
        panic!("an allowed path names the hard-denied keyword {word:?}");
    }
    match permit.sign(input.exchange, credential(input.exchange), signed_at()) {
        Ok(outbound) => {
            assert_sends_what_was_checked(input.exchange, &permit, &outbound, caller);
            Verdict::Signed(permit.rule().to_owned())
        }
        Err(r) => Verdict::SignRefused(r.code),
    }
}

/// The proxy's transport checks for a request from a loopback peer that is no trusted proxy.
fn transport(input: &Input<'_>) -> Result<Method, Refusal> {
    let listen = ListenName::new(listen_addr(), false);
    let hosts = AllowedHosts::new(Some(&listen), &[]);
    check_parts(&input.head, &hosts, header_limits(), false, Upgrade::None)
}

/// The stages the pipeline runs before the decision's permit: transport, route
/// (`/<credential>/...`), body size, then [`policy::check`]. Public for the stage benchmarks
/// (`benches/stages.rs`).
pub fn stages(input: &Input<'_>, caller: Caller<'_>) -> Result<Checked, Refusal> {
    let method = transport(input)?;
    let (name, path) = split_target(input.head.uri.path())?;
    if name != CREDENTIAL {
        return Err(Refusal::not_found(format!("no credential named {name:?}")));
    }
    if input.body.len() > MAX_BODY {
        return Err(Refusal::bad_request("body too large"));
    }
    let parts = RequestParts {
        method,
        path,
        query: input.head.uri.query(),
        content_type: content_type(&input.head.headers),
        body: input.body,
    };
    policy::check(input.exchange, &parts, caller)
}

/// Canonicalising the canonical request's own serialisation gives it back.
fn assert_idempotent(exchange: &dyn Exchange, canonical: &CanonicalRequest) {
    let again = canonical
        .serialise()
        .parts()
        .canonicalise(&exchange.canon_rules())
        .unwrap_or_else(|r| {
            panic!(
                "{}: keyward's serialisation of a canonical request is refused by its own canonicaliser: {r:?}\n{canonical:?}",
                exchange.id()
            )
        });
    assert_eq!(
        &again,
        canonical,
        "{}: canonicalising keyward's serialisation changes the request",
        exchange.id()
    );
}

/// The signed request, read back by keyward's canonicaliser, is the permitted request (minus
/// the fields keyward writes) and is allowed by the same rule.
fn assert_sends_what_was_checked(
    exchange: &dyn Exchange,
    permit: &Permit,
    outbound: &Outbound,
    caller: Caller<'_>,
) {
    let canonical = permit.canonical();
    assert_eq!(outbound.method, canonical.method, "the method changed");
    let query = outbound.path_and_query.split_once('?').map(|(_, q)| q);
    let content_type = outbound
        .headers
        .iter()
        .find(|(k, _)| k == http::header::CONTENT_TYPE)
        .and_then(|(_, v)| v.to_str().ok());
    let sent = canonicalise(
        outbound.method,
        &canonical.path,
        query,
        content_type,
        &outbound.body,
        &exchange.canon_rules(),
    )
    .unwrap_or_else(|r| {
        panic!(
            "{}: keyward sends a request its own canonicaliser refuses: {r:?}\n{outbound:?}",
            exchange.id()
        )
    });
    assert_eq!(
        without_keyward_fields(sent.clone()),
        without_keyward_fields(canonical.clone()),
        "{}: the request sent is not the request checked",
        exchange.id()
    );
    let judged = policy::check(exchange, &sent.serialise().parts(), caller)
        .unwrap_or_else(|r| panic!("the request sent is refused when checked: {r:?}"));
    assert_eq!(
        judged.decision.rule(),
        Some(permit.rule()),
        "{}: the request sent is judged differently from the request checked",
        exchange.id()
    );
}

fn without_keyward_fields(mut req: CanonicalRequest) -> CanonicalRequest {
    let strip = |p: &mut Params| {
        for f in KEYWARD_WRITES {
            p.remove(f);
        }
    };
    strip(&mut req.query);
    if let crate::request::Body::Form(f) = &mut req.body {
        strip(f);
        if f.is_empty() {
            req.body = crate::request::Body::Empty;
        }
    }
    req
}

fn listen_addr() -> SocketAddr {
    LISTEN.parse().expect("LISTEN is a socket address")
}

fn signed_at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(SIGNED_AT)
}

mod fixtures;
#[cfg(test)]
mod tests;

pub use fixtures::{allowlist, credential};
