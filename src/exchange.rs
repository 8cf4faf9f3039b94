//! Exchanges: everything keyward knows about one exchange's API.
//!
//! Each exchange is its data and its behaviour. The data is its [`Profile`] (its id, methods,
//! key headers, body rules, secret form, public paths, deny list, presets, error codes, order
//! and leverage tables), written in `<id>/profile.toml` and `<id>/orders.toml` and read once
//! (`profile::shipped!`); the behaviour is an [`Exchange`] impl in `<id>.rs` with what really
//! differs (routing, signing, and where needed the client token, extra request checks, extra
//! denials, a native error shape), and the rules its order tables name in `<id>/orders.rs`. It
//! knows nothing of HTTP servers, tokens or configuration files: adding an exchange is its
//! files here and one line in [`registry`].

pub mod alpaca;
pub mod binance;
pub mod bitget;
pub mod bitmex;
pub mod bybit;
pub mod clock;
pub mod coinbase;
pub mod common;
mod credential;
pub mod deny;
pub mod deribit;
pub mod environment;
pub mod gate;
pub mod kraken;
pub mod kucoin;
pub mod native;
pub mod nonce;
pub mod okx;
pub mod path_index;
pub mod permission;
pub mod profile;
pub mod route;
#[cfg(test)]
pub(crate) mod testing;
pub mod weight;
pub mod ws;

use std::time::SystemTime;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue};

use crate::request::Refusal;
use crate::request::{CanonRules, CanonicalRequest, Method};
pub use credential::{accepts_key, check_key_use, parse_secret, Credential};
pub use deny::hard_deny;
use native::NativeMembers;
pub use profile::{
    Conventions, KeyUse, Notional, Preset, PresetEntry, PresetNames, Profile, Profiled, SecretForm,
};
pub use route::{path_matches, path_matches_with, Access, PublicPaths, Route};

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

impl Outbound {
    /// The request for `req`'s method: to `host`, at `path_and_query`, with `headers` and `body`.
    pub fn new(
        req: &CanonicalRequest,
        host: &'static str,
        path_and_query: String,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: impl Into<Bytes>,
    ) -> Outbound {
        Outbound {
            method: req.method,
            host,
            path_and_query,
            headers,
            body: body.into(),
        }
    }
}

/// What a request is signed with: how much of the credential its endpoint needs, the
/// credential, and the time keyward signs at.
#[derive(Clone, Copy)]
pub struct Signing<'a> {
    pub access: Access,
    pub credential: &'a Credential,
    pub now: SystemTime,
}

impl<'a> Signing<'a> {
    /// What `credential` signs a request needing `access` with, at `now`.
    pub fn new(access: Access, credential: &'a Credential, now: SystemTime) -> Self {
        Signing {
            access,
            credential,
            now,
        }
    }
}

/// What differs between exchanges as behaviour; everything that is data is the [`Profile`].
///
/// An exchange is [`Profiled`] (its data, declared with `profile::shipped!`), implements
/// [`Exchange::route`] and [`Exchange::sign`], and overrides the other behaviour only where it
/// differs from the default. The accessors after [`Exchange::sign`] read the profile; they are
/// provided for the callers' convenience (`exchange.id()`, `Binance.preset("read")`) and no
/// exchange overrides them.
pub trait Exchange: Profiled + Send + Sync + 'static {
    /// Host and access level of a path, or `None` if the path is not part of this exchange's API.
    fn route(&self, path: &str) -> Option<Route>;

    /// The bot's client token: by default from the profile's key headers or
    /// `Authorization: Bearer`. Exchanges whose own credentials live in `Authorization`
    /// (Coinbase JWTs, Deribit) override this. `Ok(None)` means no token (anonymous).
    fn client_token(&self, headers: &HeaderMap) -> Result<Option<Vec<u8>>, Refusal> {
        default_client_token(self.profile().key_headers, headers)
    }

    /// Exchange-specific checks of the canonical request before policy (e.g. a JSON-RPC body
    /// whose method must equal the path's). Refusals are 400s.
    fn check_request(&self, _req: &CanonicalRequest) -> Result<(), Refusal> {
        Ok(())
    }

    /// Hard denials that the profile's deny list cannot express as rules (checked after it;
    /// the keyword guard of [`hard_deny`] runs in addition).
    fn deny_more(&self, _method: Method, _path: &str) -> Option<&'static str> {
        None
    }

    /// Extra top-level members for keyward's JSON error body, in the exchange's own error shape
    /// (see [`native`]): by default the profile's `{code, message}` shape, if it has one.
    fn native_error(&self, reject: &Refusal) -> NativeMembers {
        self.profile()
            .conventions
            .error
            .map(|shape| shape.members(reject))
            .unwrap_or_default()
    }

    /// The environment an API key belongs to, where the exchange's key ids say so (Alpaca:
    /// paper key ids start `PK`); start-up refuses a credential whose `environment` disagrees.
    fn key_environment(&self, _api_key: &[u8]) -> Option<environment::Environment> {
        None
    }

    /// How [`Exchange::key_environment`] tells (for the start-up error).
    fn key_environment_hint(&self) -> &'static str {
        ""
    }

    /// Whether keyward answers `reject` with HTTP 200, as the exchange answers its own
    /// refusals (so that its clients read the body): the profile's error shape says.
    fn refusal_in_200(&self, reject: &Refusal) -> bool {
        self.profile()
            .conventions
            .error
            .is_some_and(|shape| shape.answers_200(reject))
    }

    /// Signs the canonical request with the credential. Only keyward's own fields (timestamp,
    /// receive window, signature, key header) are added; nothing else changes.
    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal>;

    /// The exchange's WebSocket protocol, if keyward relays its sockets.
    fn ws(&self) -> Option<&'static dyn ws::WsProtocol> {
        None
    }

    /// The key-permission self-check's reading of the answer from
    /// [`Profile::permission_endpoint`] for the API key `key_id`. By default the exchange
    /// does not report a key's permissions there.
    fn read_permissions(&self, _answer: &[u8], _key_id: &str) -> permission::Reading {
        permission::Reading::NotAvailable
    }

    /// [`Profile::id`].
    fn id(&self) -> &'static str {
        self.profile().id
    }

    /// [`Profile::key_headers`].
    fn key_headers(&self) -> &'static [&'static str] {
        self.profile().key_headers
    }

    /// [`Conventions::secret_form`].
    fn secret_form(&self) -> SecretForm {
        self.profile().conventions.secret_form
    }

    /// [`Conventions::key_use`].
    fn key_use(&self) -> KeyUse {
        self.profile().conventions.key_use
    }

    /// [`Conventions::needs_passphrase`].
    fn needs_passphrase(&self) -> bool {
        self.profile().conventions.needs_passphrase
    }

    /// [`Conventions::persistent_nonce`].
    fn persistent_nonce(&self) -> bool {
        self.profile().conventions.persistent_nonce
    }

    /// [`Profile::notional`].
    fn notional(&self) -> Notional {
        self.profile().notional
    }

    /// [`Conventions::methods`].
    fn methods(&self) -> &'static [Method] {
        self.profile().conventions.methods
    }

    /// [`Conventions::canon`].
    fn canon_rules(&self) -> CanonRules {
        self.profile().conventions.canon
    }

    /// [`Profile::preset`].
    fn preset(&self, name: &str) -> Option<&'static [PresetEntry]> {
        self.profile().preset(name)
    }

    /// [`Profile::preset_names`].
    fn preset_names(&self) -> PresetNames {
        self.profile().preset_names()
    }

    /// [`Profile::permission_endpoint`].
    fn permission_endpoint(&self) -> PresetEntry {
        self.profile().permission_endpoint
    }
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

/// A header value holding secret material, marked so that it is never logged by hyper. Its bytes
/// live in the locked arena and are wiped when the last reference (the request, hyper's clones)
/// drops; hyper's write buffer and the kernel's socket buffer hold copies keyward cannot wipe.
pub fn sensitive_header(bytes: &[u8]) -> Result<HeaderValue, Refusal> {
    let owned = bytes::Bytes::from_owner(crate::secret::SecretBytes::copy_from(bytes));
    let mut value = HeaderValue::from_maybe_shared(owned).map_err(|_| {
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
mod tests;
