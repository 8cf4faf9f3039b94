//! Pieces every exchange's signer uses in the same way: the upstream target and body, content
//! types, and small encoding helpers.
//! What differs between exchanges (what is signed, how, and where it goes) stays in each
//! exchange's own file.

use base64::Engine;
use http::{header, HeaderName, HeaderValue};

use super::{plain_header, secret_header, Credential};
use crate::key::KeyError;
use crate::request::{Body, CanonicalRequest, Method};
use crate::request::{Refusal, RefusalKind};

/// Standard base64 (with padding), as most exchanges print signatures.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The origin-form target: `path`, then `?query` when there is a query string.
pub fn path_and_query(path: &str, query: &str) -> String {
    let mut target = path.to_owned();
    if !query.is_empty() {
        target.push('?');
        target.push_str(query);
    }
    target
}

/// The origin-form target of the canonical request as keyward sends it: its path and its query
/// in keyward's own encoding.
pub fn target(req: &CanonicalRequest) -> String {
    path_and_query(&req.path, &req.query.encode())
}

/// The body of a JSON-only exchange as keyward sends (and signs) it: the compact
/// re-serialisation, or nothing. A form body is refused (415) with `refusal`.
pub fn json_body(body: &Body, refusal: &str) -> Result<String, Refusal> {
    match body {
        Body::Empty => Ok(String::new()),
        Body::Json(j) => Ok(j.to_compact()),
        Body::Form(_) => Err(Refusal::unsupported_media(refusal)),
    }
}

/// [`json_body`], and the headers a request carrying it starts with:
/// `Content-Type: application/json` when there is a body.
pub fn json_request(body: &Body, refusal: &str) -> Result<(String, Vec<Header>), Refusal> {
    let body = json_body(body, refusal)?;
    let headers = if body.is_empty() {
        Vec::new()
    } else {
        vec![json_content_type()]
    };
    Ok((body, headers))
}

/// One upstream header.
pub type Header = (HeaderName, HeaderValue);

/// `Content-Type: application/json`.
pub fn json_content_type() -> (HeaderName, HeaderValue) {
    (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )
}

/// `Content-Type: application/x-www-form-urlencoded`.
pub fn form_content_type() -> (HeaderName, HeaderValue) {
    (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    )
}

/// The header names of the scheme OKX, Bitget and KuCoin sign with: the API key, the
/// signature, the timestamp and the passphrase, each `<prefix>key`, `<prefix>sign`, ...
/// (`access_headers!("ok-access-")`).
pub struct AccessHeaders {
    pub key: &'static str,
    pub sign: &'static str,
    pub timestamp: &'static str,
    pub passphrase: &'static str,
}

/// The [`AccessHeaders`] named `<prefix>key`, `<prefix>sign`, `<prefix>timestamp` and
/// `<prefix>passphrase`.
macro_rules! access_headers {
    ($prefix:literal) => {
        $crate::exchange::common::AccessHeaders {
            key: concat!($prefix, "key"),
            sign: concat!($prefix, "sign"),
            timestamp: concat!($prefix, "timestamp"),
            passphrase: concat!($prefix, "passphrase"),
        }
    };
}
pub(crate) use access_headers;

impl AccessHeaders {
    /// The four headers of a signed request: the API key,
    /// `base64(HMAC-SHA256(secret, timestamp + METHOD + target + body))` (`target` as the
    /// exchange signs it), `timestamp`, and `passphrase` as the exchange wants it sent.
    pub fn signed(
        &self,
        credential: &Credential,
        timestamp: &str,
        method: Method,
        target: &str,
        body: &str,
        passphrase: &[u8],
    ) -> Result<[Header; 4], Refusal> {
        let signature = base64(&credential.key.hmac_sha256(&[
            timestamp.as_bytes(),
            method.as_str().as_bytes(),
            target.as_bytes(),
            body.as_bytes(),
        ])?);
        Ok([
            secret_header(self.key, credential.api_key.expose())?,
            secret_header(self.sign, signature.as_bytes())?,
            plain_header(self.timestamp, timestamp),
            secret_header(self.passphrase, passphrase)?,
        ])
    }
}

/// Refuses (400) a method other than GET and POST, for APIs that use only those two.
pub fn get_or_post_only(req: &CanonicalRequest, api: &str) -> Result<(), Refusal> {
    match req.method {
        Method::Get | Method::Post => Ok(()),
        m => Err(Refusal::bad_request(format!(
            "{api} uses GET and POST only, not {m}"
        ))),
    }
}

/// A key operation that failed while signing: a key that cannot do what this exchange needs
/// is the operator's configuration error (500 `bad_credential`); a key that could but failed
/// (a token gone away) makes keyward unavailable for now (503 `key_unavailable`).
impl From<KeyError> for Refusal {
    fn from(e: KeyError) -> Refusal {
        match e {
            KeyError::Unsupported { .. } => Refusal::bad_credential(format!(
                "the credential's key cannot sign for this exchange: {e}; re-seal it with the kind of key the exchange issued"
            )),
            KeyError::Failed(why) => Refusal::new(
                RefusalKind::Unavailable,
                "key_unavailable",
                format!("the credential's key failed to sign: {why}"),
            ),
        }
    }
}
