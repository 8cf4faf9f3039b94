//! Scaffolding shared by the exchange profiles' unit tests: a credential from literal
//! material, a fixed clock, the canonical request of a bot's request, and a look at the
//! headers of what a signer produced.

use std::time::{Duration, SystemTime};

use http::HeaderValue;

use super::nonce::Nonce;
use super::ws::{Outgoing, Reply, WsOp, WsRoute};
use super::{Credential, Exchange, Outbound, Signing};
use crate::key::HmacSecret;
use crate::request::{canonicalise, CanonicalRequest, Json, Method, Refusal};
use crate::secret::SecretBytes;

/// An HMAC-style credential (no private key), a 5 s receive window and in-memory nonces.
pub fn credential(api_key: &str, secret: &str, passphrase: Option<&str>) -> Credential {
    Credential {
        api_key: SecretBytes::copy_from(api_key.as_bytes()),
        passphrase: passphrase.map(|p| SecretBytes::copy_from(p.as_bytes())),
        key: Box::new(hmac_key(secret.as_bytes())),
        recv_window_ms: 5000,
        nonce: Nonce::in_memory(),
    }
}

/// An HMAC signing key from literal secret bytes.
pub fn hmac_key(secret: &[u8]) -> HmacSecret {
    HmacSecret::new(SecretBytes::copy_from(secret))
}

/// The instant `ms` milliseconds after the Unix epoch.
pub fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

/// The instant `secs` seconds after the Unix epoch.
pub fn at_secs(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// The canonical request of a bot's request to `exchange`; a non-empty body is sent as JSON.
pub fn canon(
    exchange: &dyn Exchange,
    method: Method,
    path: &str,
    query: Option<&str>,
    body: &str,
) -> CanonicalRequest {
    canonicalise(
        method,
        path,
        query,
        (!body.is_empty()).then_some("application/json"),
        body.as_bytes(),
        &exchange.canon_rules(),
    )
    .unwrap()
}

/// The value of an outbound header.
pub fn header_value<'a>(out: &'a Outbound, name: &str) -> Option<&'a HeaderValue> {
    out.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The value of an outbound header that carries a secret, as text; asserts that it is marked
/// sensitive (kept out of logs and debug output).
#[track_caller]
pub fn secret_header_text<'a>(out: &'a Outbound, name: &str) -> &'a str {
    let v = header_value(out, name).unwrap_or_else(|| panic!("no {name} header"));
    assert!(v.is_sensitive(), "{name} is not marked sensitive");
    v.to_str().unwrap()
}

/// The value of an outbound header, as text.
pub fn header<'a>(out: &'a Outbound, name: &str) -> Option<&'a str> {
    header_value(out, name).map(|v| v.to_str().unwrap())
}

/// A bot's request, the instant keyward signs it, and exactly what must go upstream: a
/// signer's test vector.
pub struct Vector<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The bot's JSON body (empty for none); keyward sends it byte for byte.
    pub body: &'a str,
    pub at: SystemTime,
    /// The upstream target (path and query).
    pub target: &'a str,
    /// Every header keyward sends, in order, with its value.
    pub headers: &'a [(&'a str, &'a str)],
    /// The headers marked sensitive (never logged), in order.
    pub sensitive: &'a [&'a str],
}

/// Signs `v`'s request with `credential` and checks the outbound request against it.
pub fn check_signed(exchange: &dyn Exchange, credential: &Credential, v: &Vector) -> Outbound {
    let req = canon(exchange, v.method, v.path, v.query, v.body);
    let out = exchange
        .sign(&req, Signing::new(super::Access::Signed, credential, v.at))
        .unwrap();
    assert_eq!(out.method, v.method);
    assert_eq!(out.path_and_query, v.target);
    assert_eq!(
        out.body,
        v.body.as_bytes(),
        "the body is sent byte for byte"
    );
    assert_eq!(headers(&out), v.headers);
    assert_eq!(sensitive(&out), v.sensitive);
    out
}

/// Every outbound header as name and text, in order.
pub fn headers(out: &Outbound) -> Vec<(&str, &str)> {
    out.headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
        .collect()
}

/// The names of the outbound headers marked sensitive, in order.
pub fn sensitive(out: &Outbound) -> Vec<&str> {
    out.headers
        .iter()
        .filter(|(_, v)| v.is_sensitive())
        .map(|(k, _)| k.as_str())
        .collect()
}

/// Asserts that every endpoint of `denied` is hard-denied and none of `allowed` is.
pub fn assert_hard_deny(
    exchange: &dyn Exchange,
    denied: &[(Method, &str)],
    allowed: &[(Method, &str)],
) {
    let id = exchange.id();
    for (m, p) in denied {
        assert!(super::hard_deny(exchange, *m, p).is_some(), "{id}: {m} {p}");
    }
    for (m, p) in allowed {
        assert!(super::hard_deny(exchange, *m, p).is_none(), "{id}: {m} {p}");
    }
}

/// Asserts where paths go: `public` to public market data, `signed` to signed endpoints, and
/// `unrouted` nowhere (not a path of the exchange's API).
pub fn assert_routes(exchange: &dyn Exchange, public: &[&str], signed: &[&str], unrouted: &[&str]) {
    let id = exchange.id();
    let access = |p: &str| exchange.route(p).map(|r| r.access);
    for p in public {
        assert_eq!(access(p), Some(super::Access::Public), "{id}: {p}");
    }
    for p in signed {
        assert_eq!(access(p), Some(super::Access::Signed), "{id}: {p}");
    }
    for p in unrouted {
        assert_eq!(access(p), None, "{id}: {p}");
    }
}

/// A rule `method path` that bounds leverage to `max_leverage` (with these `params`).
pub fn leverage_rule(
    method: &str,
    path: &str,
    params: &[(&str, &[&str])],
    max_leverage: &str,
) -> crate::policy::AllowEntry {
    crate::policy::AllowEntry::Rule(crate::policy::RuleEntry {
        method: method.into(),
        path: path.into(),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect(),
        max: Default::default(),
        max_leverage: Some(max_leverage.into()),
    })
}

/// A bot's request (`body` as JSON, if any) judged by a client allowed `allow`: `Ok` with the
/// allowing rule, or the denial as the bot would read it.
pub fn decided(
    exchange: &dyn Exchange,
    allow: Vec<crate::policy::AllowEntry>,
    method: Method,
    path: &str,
    query: Option<&str>,
    body: &str,
) -> Result<String, String> {
    let list = crate::policy::compile(exchange, allow).expect("the allow list compiles");
    let req = canon(exchange, method, path, query, body);
    match crate::policy::decide(exchange, Some(&list), false, super::Access::Signed, &req) {
        crate::policy::Decision::Allow { rule } => Ok(rule),
        denied => Err(denied.to_string()),
    }
}

/// A bot allowed one rule, `POST rule` with `params` and `max_leverage = max`, as the leverage
/// tables' tests send.
pub struct LeverageBot<'a> {
    pub exchange: &'a dyn Exchange,
    pub rule: &'a str,
    pub params: &'a [(&'a str, &'a [&'a str])],
    pub max: &'a str,
}

impl LeverageBot<'_> {
    /// `POST path?query` with `body` (JSON, or empty): the allowing rule, or the denial as the
    /// bot reads it.
    pub fn send(&self, path: &str, query: Option<&str>, body: &str) -> Result<String, String> {
        let rule = leverage_rule("POST", self.rule, self.params, self.max);
        decided(self.exchange, vec![rule], Method::Post, path, query, body)
    }

    /// `body` sent to the rule's own path.
    pub fn judge(&self, body: &str) -> Result<String, String> {
        self.send(self.rule, None, body)
    }
}

/// Asserts that `judge` refuses every request of `cases` with a message holding its text.
#[track_caller]
pub fn refuses_each<R: AsRef<str>>(
    judge: impl Fn(&str) -> Result<String, String>,
    cases: &[(R, &str)],
) {
    for (request, says) in cases {
        let request = request.as_ref();
        let e = judge(request).expect_err(request);
        assert!(e.contains(says), "{request}: {e}");
    }
}

/// What a WebSocket protocol's login or outbound frame is for `op`.
pub fn outgoing<'a>(
    route: WsRoute,
    op: &'a WsOp,
    frame: &'a Json,
    credential: &'a Credential,
    now: SystemTime,
) -> Outgoing<'a> {
    Outgoing {
        route,
        op,
        frame,
        credential,
        now,
    }
}

/// The frame a WebSocket protocol sends upstream; panics on a refusal or an answer to the bot.
pub fn sent(reply: Result<Reply, Refusal>) -> String {
    match reply {
        Ok(Reply::ToExchange(frame)) => frame,
        Ok(Reply::ToBot(answer)) => panic!("answered the bot instead: {answer}"),
        Err(refusal) => panic!("refused: {refusal}"),
    }
}

/// HMAC-SHA256 computed by the `hmac` crate directly: what keyward's signature must equal.
pub fn hmac_sha256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA512 computed by the `hmac` crate directly.
pub fn hmac_sha512(secret: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(secret).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}
