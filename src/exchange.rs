//! Exchange profiles: everything keyward knows about one exchange's API, behind one trait.
//!
//! A profile says which host serves a path, which paths are public market data, where the bot's
//! key header is, which of the bot's parameters are its own signing fields, which endpoints are
//! denied whatever the configuration says, which named presets exist, and how to sign. It knows
//! nothing of HTTP servers, tokens or configuration files: adding an exchange is one file here
//! and one line in [`registry`].

pub mod alpaca;
pub mod binance;
pub mod bitget;
pub mod bitmex;
pub mod bybit;
pub mod coinbase;
pub mod common;
mod credential;
pub mod deribit;
pub mod gate;
pub mod kraken;
pub mod kucoin;
pub mod nonce;
pub mod okx;
#[cfg(test)]
pub(crate) mod testing;

use std::time::SystemTime;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue};

use crate::request::Refusal;
use crate::request::{CanonRules, CanonicalRequest, Method};
pub use credential::{parse_secret, Credential};

/// How much of the credential an endpoint needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Public market data: forwarded without key or signature.
    Public,
    /// Needs the API key header but no signature (e.g. Binance listen keys).
    KeyOnly,
    /// Needs the key and a signature.
    Signed,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::KeyOnly => "key-only",
            Access::Signed => "signed",
        }
    }
}

/// Where a path goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The exchange's host for this path (replaced by the credential's `upstream` override in tests).
    pub host: &'static str,
    pub access: Access,
}

/// One endpoint of a preset: a method and a path pattern (`{x}` matches one path segment).
pub type PresetEntry = (Method, &'static str);

/// How an exchange's API secret is written; `seal` validates it and unsealing parses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretForm {
    /// A shared HMAC secret used as its text.
    Text,
    /// A shared HMAC secret in standard base64, decoded before use (Kraken).
    Base64,
    /// An HMAC secret, or a PEM private key (RSA or Ed25519) for asymmetric API keys (Binance).
    TextOrPem,
    /// A private key: PEM (PKCS#8, SEC1, PKCS#1) or base64 Ed25519 bytes (Coinbase CDP keys).
    PrivateKey,
}

/// The parameters a `notional` limit multiplies (`price * quantity`), or takes directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notional {
    pub price: &'static str,
    pub quantity: &'static str,
    /// A parameter that is itself the order's quote amount, if the exchange has one.
    pub quote_quantity: Option<&'static str>,
}

/// The request keyward sends upstream: built from the canonical request alone.
#[derive(Debug)]
pub struct Outbound {
    pub method: Method,
    pub host: &'static str,
    /// Origin-form target, e.g. `/api/v3/order?symbol=BTCUSDT&...`.
    pub path_and_query: String,
    /// Content type and the exchange's auth headers (values holding secrets are marked sensitive).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

pub trait Exchange: Send + Sync + 'static {
    /// The id used in configuration (`exchange = "binance"`) and preset names (`binance:read`).
    fn id(&self) -> &'static str;

    /// Headers in which a bot sends its API key; keyward reads its client token from them.
    fn key_headers(&self) -> &'static [&'static str];

    /// The bot's client token: by default from [`Exchange::key_headers`] or
    /// `Authorization: Bearer`. Exchanges whose own credentials live in `Authorization`
    /// (Coinbase JWTs, Deribit) override this. `Ok(None)` means no token (anonymous).
    fn client_token(&self, headers: &HeaderMap) -> Result<Option<Vec<u8>>, Refusal> {
        default_client_token(self.key_headers(), headers)
    }

    /// How the secret is written (checked by `seal`, parsed when unsealing).
    fn secret_form(&self) -> SecretForm {
        SecretForm::Text
    }

    /// Whether credentials carry a passphrase (third line for `seal`).
    fn needs_passphrase(&self) -> bool {
        false
    }

    /// Whether nonces must stay increasing across restarts (persisted next to the vault file).
    fn persistent_nonce(&self) -> bool {
        false
    }

    /// The parameters a `notional` limit is computed from.
    fn notional(&self) -> Notional {
        Notional {
            price: "price",
            quantity: "quantity",
            quote_quantity: Some("quoteOrderQty"),
        }
    }

    /// Extra top-level members for keyward's JSON error body, in the exchange's own error shape,
    /// so that client libraries classify a refusal correctly (ccxt raises a non-retryable
    /// permission or authentication error instead of a retryable "exchange not available").
    fn native_error(&self, _reject: &Refusal) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }

    /// Exchange-specific checks of the canonical request before policy (e.g. a JSON-RPC body
    /// whose method must equal the path's). Refusals are 400s.
    fn check_request(&self, _req: &CanonicalRequest) -> Result<(), Refusal> {
        Ok(())
    }

    /// The HTTP methods this exchange's API uses; a request with another method is refused with
    /// 405 once the credential names the exchange, and a config rule naming another method is an
    /// error. Most exchanges use GET, POST, PUT and DELETE; those that amend orders with PATCH
    /// (Gate, Alpaca) add it.
    fn methods(&self) -> &'static [Method] {
        Method::COMMON
    }

    /// Which bodies are accepted and which bot parameters are signing fields.
    fn canon_rules(&self) -> CanonRules;

    /// Host and access level of a path, or `None` if the path is not part of this exchange's API.
    fn route(&self, path: &str) -> Option<Route>;

    /// Endpoint-specific hard denials (withdrawals, transfers, key management ...). The keyword
    /// guard in [`hard_deny`] runs in addition, for every exchange.
    fn denied_endpoint(&self, method: Method, path: &str) -> Option<&'static str>;

    /// The endpoints of a preset, by its name after `<id>:` (e.g. `read`).
    fn preset(&self, name: &str) -> Option<&'static [PresetEntry]>;

    /// Names of this exchange's presets, for help texts.
    fn preset_names(&self) -> &'static [&'static str];

    /// The read-only endpoint that reports the key's own permissions (used by the self-check).
    fn permission_endpoint(&self) -> PresetEntry;

    /// Signs the canonical request with the credential. Only keyward's own fields (timestamp,
    /// receive window, signature, key header) are added; nothing else changes.
    fn sign(
        &self,
        req: &CanonicalRequest,
        access: Access,
        credential: &Credential,
        now: SystemTime,
    ) -> Result<Outbound, Refusal>;
}

/// All exchanges keyward can sign for.
pub fn registry() -> &'static [&'static dyn Exchange] {
    &[
        &binance::Binance,
        &bybit::Bybit,
        &okx::Okx,
        &bitget::Bitget,
        &coinbase::Coinbase,
        &deribit::Deribit,
        &alpaca::Alpaca,
        &kucoin::Kucoin,
        &kraken::Kraken,
        &gate::Gate,
        &bitmex::Bitmex,
    ]
}

/// The profile for a configuration id.
pub fn lookup(id: &str) -> Option<&'static dyn Exchange> {
    registry().iter().copied().find(|e| e.id() == id)
}

/// Words that mark an endpoint as moving money out or managing keys, whatever the exchange.
/// Matched case-insensitively against the path with `-` and `_` removed, so `sub-account`,
/// `subAccount` and `sub_account` are one word.
const GUARD_WORDS: &[(&str, &str)] = &[
    ("withdraw", "withdrawals are never allowed"),
    ("transfer", "transfers are never allowed"),
    ("subaccount", "sub-account operations are never allowed"),
    ("apikey", "API-key management is never allowed"),
    ("giftcard", "gift cards are never allowed"),
    ("addressbook", "address-book changes are never allowed"),
];

/// 405 for a method the exchange's API does not use, naming the methods it does.
pub fn check_method(exchange: &dyn Exchange, method: Method) -> Result<(), Refusal> {
    if exchange.methods().contains(&method) {
        return Ok(());
    }
    Err(Refusal::method_not_allowed(
        exchange.methods(),
        format!(
            "method {method} is not used by the {} API; it takes {}",
            exchange.id(),
            Method::list(exchange.methods())
        ),
    ))
}

/// The hard-deny layer: the exchange's explicit list, then the keyword guard. No configuration
/// can lift it.
pub fn hard_deny(exchange: &dyn Exchange, method: Method, path: &str) -> Option<&'static str> {
    if let Some(reason) = exchange.denied_endpoint(method, path) {
        return Some(reason);
    }
    let folded: String = path
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    GUARD_WORDS
        .iter()
        .find(|(word, _)| folded.contains(word))
        .map(|(_, reason)| *reason)
}

/// Whether `path` matches a pattern whose `{x}` segments match any one non-empty segment
/// without `:`. A `:` in a segment is matched only literally (`/v2/orders:by_client_order_id`):
/// APIs that use it mark a custom method (`resource:verb`) with it, so an order id or symbol
/// holding one could name a different endpoint upstream than the pattern means.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    path_matches_with(pattern, path, |p, g| p == g)
}

/// [`path_matches`] with another comparison of literal segments (e.g. ASCII case-insensitive).
pub fn path_matches_with(pattern: &str, path: &str, same: impl Fn(&str, &str) -> bool) -> bool {
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return true,
            (Some(p), Some(g)) => {
                let wildcard = p.starts_with('{') && p.ends_with('}');
                let fills_wildcard = wildcard && !g.is_empty() && !g.contains(':');
                if !fills_wildcard && !same(p, g) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Reads the client token from the exchange's key headers or `Authorization: Bearer`; refuses
/// a request that carries two different tokens or a header twice.
pub fn default_client_token(
    key_headers: &[&str],
    headers: &HeaderMap,
) -> Result<Option<Vec<u8>>, Refusal> {
    let mut token: Option<&[u8]> = None;
    for name in key_headers {
        let mut values = headers.get_all(*name).iter();
        if let Some(v) = values.next() {
            if values.next().is_some() {
                return Err(Refusal::bad_request(format!("more than one {name} header")));
            }
            offer_token(&mut token, v.as_bytes())?;
        }
    }
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        match bearer(v.as_bytes()) {
            Some(t) => offer_token(&mut token, t)?,
            None => {
                return Err(Refusal::bad_request(
                    "Authorization must be \"Bearer <client token>\"",
                ))
            }
        }
    }
    Ok(token.map(<[u8]>::to_vec))
}

/// The credential of `Authorization: Bearer <credential>`.
pub fn bearer(value: &[u8]) -> Option<&[u8]> {
    (value.len() > 7 && value[..7].eq_ignore_ascii_case(b"bearer "))
        .then(|| value[7..].trim_ascii())
}

/// Records a token found in one place; a different token in another place is an error.
pub fn offer_token<'h>(token: &mut Option<&'h [u8]>, value: &'h [u8]) -> Result<(), Refusal> {
    match token {
        Some(t) if *t != value => Err(Refusal::bad_request(
            "the request carries two different client tokens; send one",
        )),
        _ => {
            *token = Some(value);
            Ok(())
        }
    }
}

/// One of keyward's auth headers whose value is credential material (key, signature,
/// passphrase): marked sensitive.
pub fn secret_header(
    name: &'static str,
    value: &[u8],
) -> Result<(HeaderName, HeaderValue), Refusal> {
    Ok((HeaderName::from_static(name), sensitive_header(value)?))
}

/// One of keyward's auth headers whose value keyward built as plain text (a timestamp, an
/// expiry, a key version).
pub fn plain_header(name: &'static str, value: &str) -> (HeaderName, HeaderValue) {
    let value = HeaderValue::from_str(value).expect("keyward builds header text from ASCII");
    (HeaderName::from_static(name), value)
}

/// A header value holding secret material, marked so that it is never logged by hyper.
pub fn sensitive_header(bytes: &[u8]) -> Result<HeaderValue, Refusal> {
    let mut value = HeaderValue::from_bytes(bytes).map_err(|_| {
        Refusal::bad_credential("the credential's API key is not a valid header value; re-seal it")
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Seconds since the Unix epoch.
pub fn unix_secs(now: SystemTime) -> u64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis(now: SystemTime) -> u64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::RefusalKind;
    use crate::secret::SecretBytes;
    use base64::Engine;
    use nonce::Nonce;

    #[test]
    fn keyword_guard_folds_case_and_separators() {
        let b = &binance::Binance;
        for path in [
            "/sapi/v1/capital/withdraw/apply",
            "/sapi/v9/future/WithDraw",
            "/sapi/v1/sub-account/list",
            "/sapi/v1/subAccount/x",
            "/sapi/v1/sub_account/x",
            "/sapi/v1/asset/transfer",
            "/sapi/v2/brand-new/universalTransfer",
            "/sapi/v1/api-key/create",
            "/sapi/v1/apiKey/create",
        ] {
            assert!(hard_deny(b, Method::Post, path).is_some(), "{path}");
        }
        assert!(hard_deny(b, Method::Post, "/api/v3/order").is_none());
        assert!(hard_deny(b, Method::Get, "/api/v3/account").is_none());
    }

    #[test]
    fn method_sets() {
        for ex in registry() {
            let methods = ex.methods();
            for m in [Method::Get, Method::Post, Method::Delete] {
                assert!(methods.contains(&m), "{}: {m}", ex.id());
            }
            for name in ex.preset_names() {
                for (m, p) in ex.preset(name).unwrap() {
                    assert!(methods.contains(m), "{}:{name}: {m} {p}", ex.id());
                }
            }
            assert!(methods.contains(&ex.permission_endpoint().0));
            // Every method the exchange takes is one keyward knows, and parses back.
            for m in methods {
                assert_eq!(Method::parse(m.as_str()), Some(*m));
            }
        }
        let patch: Vec<&str> = registry()
            .iter()
            .filter(|e| e.methods().contains(&Method::Patch))
            .map(|e| e.id())
            .collect();
        assert_eq!(patch, ["alpaca", "gate"]);
        let e = check_method(&binance::Binance, Method::Patch).unwrap_err();
        assert_eq!(
            e.kind,
            RefusalKind::MethodNotAllowed {
                allowed: Method::COMMON
            }
        );
        assert_eq!(e.code, "method_not_allowed");
        assert!(
            e.message.contains("binance") && e.message.contains("GET, POST, PUT, DELETE"),
            "{}",
            e.message
        );
        assert!(check_method(&gate::Gate, Method::Patch).is_ok());
        assert!(check_method(&alpaca::Alpaca, Method::Patch).is_ok());
    }

    #[test]
    fn patterns() {
        assert!(path_matches("/api/v3/order", "/api/v3/order"));
        assert!(!path_matches("/api/v3/order", "/api/v3/order/test"));
        assert!(!path_matches("/api/v3/order", "/api/v3/Order"));
        assert!(path_matches("/orders/{id}", "/orders/42"));
        assert!(!path_matches("/orders/{id}", "/orders/42/fills"));
        assert!(!path_matches("/orders/{id}", "/orders"));
        assert!(!path_matches("/orders/{id}", "/orders/42:cancel"));
        assert!(!path_matches("/orders/{id}", "/orders/:"));
        assert!(!path_matches("/orders", "/orders:by_id"));
        assert!(path_matches("/orders:by_id", "/orders:by_id"));
        assert!(!path_matches("/orders:by_id", "/orders:BY_ID"));
    }

    #[test]
    fn no_signer_leaks_the_credential_through_debug() {
        use crate::vault::CredentialSecrets;
        const KEY: &str = "APIKEY0leakcheck0key";
        const SECRET: &str = "SECRET0leakcheck0sec";
        const PASS: &str = "PASS0leakcheck0phrase";
        let ed25519_seed_b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let leaks = [
            KEY.to_owned(),
            SECRET.to_owned(),
            PASS.to_owned(),
            ed25519_seed_b64.clone(),
        ];
        for ex in registry() {
            let secret = match ex.secret_form() {
                SecretForm::Text | SecretForm::TextOrPem => SECRET.to_owned(),
                // base64 of the marker text, so the decoded key is the marker
                SecretForm::Base64 => base64::engine::general_purpose::STANDARD.encode(SECRET),
                SecretForm::PrivateKey => ed25519_seed_b64.clone(),
            };
            let secrets = CredentialSecrets {
                api_key: SecretBytes::copy_from(KEY.as_bytes()),
                secret: SecretBytes::copy_from(secret.as_bytes()),
                passphrase: ex
                    .needs_passphrase()
                    .then(|| SecretBytes::copy_from(PASS.as_bytes())),
            };
            let cred = Credential::load(*ex, secrets, 5000, Nonce::in_memory()).unwrap();
            assert!(!format!("{cred:?}").contains(KEY));
            let (method, path) = ex.permission_endpoint();
            let req =
                crate::request::canonicalise(method, path, None, None, b"", &ex.canon_rules())
                    .unwrap();
            let out = ex
                .sign(&req, Access::Signed, &cred, SystemTime::now())
                .unwrap_or_else(|e| panic!("{}: {e}", ex.id()));
            let shown = format!("{out:?}");
            for leak in &leaks {
                assert!(
                    !shown.contains(leak.as_str()),
                    "{}: Debug of Outbound shows {leak}",
                    ex.id()
                );
            }
            // Every header that carries credential material is marked sensitive.
            for (name, value) in &out.headers {
                let v = String::from_utf8_lossy(value.as_bytes());
                if leaks.iter().any(|l| v.contains(l.as_str())) {
                    assert!(value.is_sensitive(), "{}: {name} is not sensitive", ex.id());
                }
            }
        }
    }
}
