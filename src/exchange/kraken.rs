//! Kraken spot REST API (`https://api.kraken.com/0/...`).
//!
//! Public market data lives under `/0/public/`, everything that needs the key under
//! `/0/private/` (POST only, parameters in the body, form-encoded or JSON).
//!
//! Signing: `API-Sign = base64(HMAC-SHA512(base64decode(secret), uri_path + SHA256(nonce + body)))`
//! where `body` is the exact POST body sent, which carries the `nonce` itself; the key goes in
//! `API-Key`. The nonce must grow strictly for every request of a key, so keyward issues it from
//! the credential's persistent nonce (kept next to the vault file) and the bot's own `nonce` and
//! `otp` are removed.
//! <https://docs.kraken.com/api/docs/guides/spot-rest-auth>

pub mod orders;
mod ws;
mod ws_orders;
use super::secret_header;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use super::common::{form_content_type, json_content_type, target};
use super::native::NativeMembers;
use super::profile::shipped;
use super::{Access, Exchange, Outbound, Route, Signing};
use crate::key::SigningKey;
use crate::request::Json;
use crate::request::{Body, CanonicalRequest, Method, Params};
use crate::request::{Refusal, RefusalKind};

shipped!(Kraken, "kraken");

const HOST: &str = "api.kraken.com";
const KEY_HEADER: &str = "api-key";
const SIGN_HEADER: &str = "api-sign";

/// One path segment of Kraken's method names (`AddOrder`, `Earn/Allocate` has two).
fn is_method_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Kraken {
    fn access(path: &str) -> Option<Access> {
        if let Some(rest) = path.strip_prefix("/0/public/") {
            return is_method_name(rest).then_some(Access::Public);
        }
        let rest = path.strip_prefix("/0/private/")?;
        let ok = match rest.split_once('/') {
            None => is_method_name(rest),
            Some((group, name)) => is_method_name(group) && is_method_name(name),
        };
        ok.then_some(Access::Signed)
    }
}

impl Exchange for Kraken {
    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::KrakenWs)
    }

    fn route(&self, path: &str) -> Option<Route> {
        Self::access(path).map(|access| Route { host: HOST, access })
    }

    fn check_request(&self, req: &CanonicalRequest) -> Result<(), Refusal> {
        match Self::access(&req.path) {
            Some(Access::Signed) => {
                if req.method != Method::Post {
                    return Err(Refusal::method_not_allowed(
                        &[Method::Post],
                        "Kraken private endpoints take POST only",
                    ));
                }
                if !req.query.is_empty() {
                    return Err(Refusal::bad_params(
                        "Kraken private endpoints take their parameters in the POST body, not the query string".to_owned(),
                    ));
                }
                Ok(())
            }
            Some(_) => {
                if !matches!(req.method, Method::Get | Method::Post) {
                    return Err(Refusal::method_not_allowed(
                        &[Method::Get, Method::Post],
                        "Kraken public endpoints take GET or POST",
                    ));
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn native_error(&self, reject: &Refusal) -> NativeMembers {
        // Kraken's `{"error":["<category>:<message>"]}`, so that client libraries raise their
        // usual exception (ccxt: PermissionDenied, AuthenticationError, ...); keyward's own
        // code and message move to `keyward`.
        let category = match reject.kind {
            RefusalKind::Unauthenticated => "EAPI:Invalid key",
            RefusalKind::Forbidden => "EGeneral:Permission denied",
            RefusalKind::RateLimited => "EAPI:Rate limit exceeded",
            k if !k.is_client_error() => "EService:Unavailable",
            _ => "EGeneral:Invalid arguments",
        };
        vec![("error", serde_json::json!([category]))]
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
        if access == Access::Public {
            let path_and_query = target(req);
            let mut headers = Vec::new();
            let body = match &req.body {
                Body::Empty => Bytes::new(),
                Body::Form(p) => {
                    headers.push(form_content_type());
                    Bytes::from(p.encode())
                }
                Body::Json(j) => {
                    headers.push(json_content_type());
                    Bytes::from(j.to_compact())
                }
            };
            return Ok(Outbound::new(req, HOST, path_and_query, headers, body));
        }
        self.check_request(req)?;
        let nonce = credential.nonce.next(now).map_err(|e| {
            tracing::error!(error = %e, "cannot persist the Kraken nonce state");
            Refusal::new(RefusalKind::Unavailable,
                "nonce_state",
                "keyward cannot persist the nonce state next to the vault file, so it signs no Kraken request; the operator must fix the disk (see keyward's log)",
            )
        })?
        .to_string();
        let (body, content_type) = match &req.body {
            Body::Empty => (form_with_nonce(&nonce, &Params::new()), form_content_type()),
            Body::Form(p) => (form_with_nonce(&nonce, p), form_content_type()),
            Body::Json(j) => (json_with_nonce(&nonce, j)?, json_content_type()),
        };
        let signature = sign_kraken(&*credential.key, &req.path, &nonce, body.as_bytes())?;
        let headers: Vec<(HeaderName, HeaderValue)> = vec![
            content_type,
            secret_header(KEY_HEADER, credential.api_key.expose())?,
            secret_header(SIGN_HEADER, signature.as_bytes())?,
        ];
        Ok(Outbound {
            method: Method::Post,
            host: HOST,
            path_and_query: req.path.clone(),
            headers,
            body: Bytes::from(body),
        })
    }
}

/// `nonce=<n>&<the bot's parameters>`.
fn form_with_nonce(nonce: &str, params: &Params) -> String {
    let mut all = Params::new();
    all.set("nonce", nonce.to_owned());
    for (k, v) in params.iter() {
        all.set(k, v.to_owned());
    }
    all.encode()
}

/// The bot's JSON object with `"nonce":<n>` (a number, as Kraken's schema has it) as first member.
fn json_with_nonce(nonce: &str, body: &Json) -> Result<String, Refusal> {
    let Json::Object(members) = body else {
        return Err(Refusal::bad_params(
            "a Kraken JSON body must be an object".to_owned(),
        ));
    };
    let mut with = Vec::with_capacity(members.len() + 1);
    with.push(("nonce".to_owned(), Json::Number(nonce.to_owned())));
    with.extend(members.iter().cloned());
    Ok(Json::Object(with).to_compact())
}

/// `base64(HMAC-SHA512(key, uri_path + SHA256(nonce + body)))`, `key` being the base64-decoded
/// secret (decoded once, when the credential is unsealed).
fn sign_kraken(
    key: &dyn SigningKey,
    path: &str,
    nonce: &str,
    body: &[u8],
) -> Result<String, Refusal> {
    let mut inner = Sha256::new();
    inner.update(nonce.as_bytes());
    inner.update(body);
    let digest = inner.finalize();
    Ok(super::common::base64(
        &key.hmac_sha512(&[path.as_bytes(), &digest])?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::profile::post;
    use crate::exchange::testing::{self, assert_hard_deny, assert_routes, header_value};
    use crate::exchange::Credential;
    use crate::exchange::Signing;
    use crate::request::canonicalise;
    use std::time::SystemTime;

    use std::time::Duration;

    fn vector() -> serde_json::Value {
        let text = include_str!("../../tests/vectors/vectors.json");
        let all: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        all.into_iter().find(|v| v["exchange"] == "kraken").unwrap()
    }

    /// A credential as unsealing builds it: the base64 secret goes through `Credential::load`.
    fn credential(secret: &str) -> Credential {
        let secrets = crate::vault::CredentialSecrets {
            api_key: crate::secret::SecretBytes::copy_from(b"real-kraken-key"),
            secret: crate::secret::SecretBytes::copy_from(secret.as_bytes()),
            passphrase: None,
        };
        Credential::load(
            &Kraken,
            secrets,
            5000,
            crate::exchange::nonce::Nonce::in_memory(),
        )
        .unwrap()
    }

    fn b64(secret: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(secret)
            .unwrap()
    }

    fn canon(method: Method, path: &str, ct: Option<&str>, body: &str) -> CanonicalRequest {
        canonicalise(
            method,
            path,
            None,
            ct,
            body.as_bytes(),
            &Kraken.canon_rules(),
        )
        .unwrap()
    }

    const FORM: &str = "application/x-www-form-urlencoded";
    const JSON: &str = "application/json";

    /// A bot's POST signed with the secret of the ccxt vectors, at `micros` (keyward's nonce).
    fn ccxt_signed(path: &str, content_type: &str, body: &str, micros: u64) -> Outbound {
        let req = canon(Method::Post, path, Some(content_type), body);
        let now = SystemTime::UNIX_EPOCH + Duration::from_micros(micros);
        let cred = credential("c2VjcmV0LWZvci10ZXN0cw==");
        Kraken
            .sign(&req, Signing::new(Access::Signed, &cred, now))
            .unwrap()
    }

    #[test]
    fn published_vector() {
        let v = vector();
        let secret = v["secret"].as_str().unwrap();
        let nonce = v["nonce"].as_str().unwrap();
        let path = v["uri_path"].as_str().unwrap();
        let body = v["post_body"].as_str().unwrap();
        let expected = v["expected"].as_str().unwrap();
        assert_eq!(
            sign_kraken(
                &testing::hmac_key(&b64(secret)),
                path,
                nonce,
                body.as_bytes()
            )
            .unwrap(),
            expected
        );
        // The full signer: the bot's own (stale) nonce and otp are replaced by keyward's nonce,
        // issued from the clock (microseconds; here chosen to equal the vector's nonce).
        let bot_body =
            "nonce=1&otp=123456&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
        let req = canon(Method::Post, path, Some(FORM), bot_body);
        let now = SystemTime::UNIX_EPOCH + Duration::from_micros(nonce.parse().unwrap());
        let out = Kraken
            .sign(&req, Signing::new(Access::Signed, &credential(secret), now))
            .unwrap();
        assert_eq!(out.body, body.as_bytes());
        assert_eq!(out.path_and_query, path);
        assert_eq!(
            header_value(&out, SIGN_HEADER).unwrap().as_bytes(),
            expected.as_bytes()
        );
        assert_eq!(
            header_value(&out, KEY_HEADER).unwrap().as_bytes(),
            b"real-kraken-key"
        );
        assert!(header_value(&out, SIGN_HEADER).unwrap().is_sensitive());
        assert!(header_value(&out, KEY_HEADER).unwrap().is_sensitive());
    }

    #[test]
    fn nonces_strictly_increase_and_are_signed() {
        let cred = credential("c2VjcmV0");
        let req = canon(Method::Post, "/0/private/BalanceEx", None, "");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut last = 0u64;
        for _ in 0..3 {
            let out = Kraken
                .sign(&req, Signing::new(Access::Signed, &cred, t))
                .unwrap();
            let body = std::str::from_utf8(&out.body).unwrap();
            let n: u64 = body.strip_prefix("nonce=").unwrap().parse().unwrap();
            assert!(n > last);
            last = n;
            let expected = sign_kraken(
                &testing::hmac_key(&b64("c2VjcmV0")),
                "/0/private/BalanceEx",
                &n.to_string(),
                body.as_bytes(),
            )
            .unwrap();
            assert_eq!(
                header_value(&out, SIGN_HEADER).unwrap().as_bytes(),
                expected.as_bytes()
            );
        }
    }

    /// Expected body and signature produced OFFLINE with ccxt 4.5.90's own `kraken.sign()`:
    /// `k = ccxt.kraken({'apiKey': 'k', 'secret': 'c2VjcmV0LWZvci10ZXN0cw=='})`,
    /// `k.incrementing_nonce = lambda: 1700000000000001`,
    /// `k.sign('AddOrder', ['private'], 'POST', {'pair': 'XXBTZUSD', 'type': 'buy',
    /// 'ordertype': 'limit', 'volume': '0.01', 'price': '30000.5', 'userref': '-7'})`.
    #[test]
    fn form_body_matches_ccxt() {
        let bot =
            "nonce=99&pair=XXBTZUSD&type=buy&ordertype=limit&volume=0.01&price=30000.5&userref=-7";
        let out = ccxt_signed("/0/private/AddOrder", FORM, bot, 1_700_000_000_000_001);
        assert_eq!(
            std::str::from_utf8(&out.body).unwrap(),
            "nonce=1700000000000001&pair=XXBTZUSD&type=buy&ordertype=limit&volume=0.01&price=30000.5&userref=-7"
        );
        assert_eq!(
            header_value(&out, SIGN_HEADER).unwrap().to_str().unwrap(),
            "wCnvdQEc6QDemHNlwPUU7WmZHage+n9i++/j+8aDI1trIrx/7BpHS7BoOvAmcFxvVT6tdBGxkjwm8LuqfSBlvw=="
        );
    }

    /// JSON bodies (batch endpoints): keyward's nonce is the first member, a JSON number as in
    /// Kraken's OpenAPI schema (ccxt sends a string there, so ccxt's own `sign()` cannot produce
    /// this body). Expected signature computed OFFLINE with Python's hmac/hashlib:
    /// `b64(hmac(b64decode(secret), path + sha256(nonce + body), sha512))`.
    #[test]
    fn json_body_gets_nonce_first() {
        let bot = r#"{"nonce":"5","orders":["OABC-1","ODEF-2"],"otp":"x"}"#;
        let out = ccxt_signed(
            "/0/private/CancelOrderBatch",
            JSON,
            bot,
            1_700_000_000_000_000,
        );
        assert_eq!(
            std::str::from_utf8(&out.body).unwrap(),
            r#"{"nonce":1700000000000000,"orders":["OABC-1","ODEF-2"]}"#
        );
        assert_eq!(
            header_value(&out, "content-type").unwrap().as_bytes(),
            b"application/json"
        );
        assert_eq!(
            header_value(&out, SIGN_HEADER).unwrap().to_str().unwrap(),
            "krij3/CVQSteUL3imBngQofIQ4G5/+MbezxNhi4rY7+Q5guY/jjxHaSmS4/pFRICS5MTbUbAIZS7hbrIp2TBqw=="
        );
    }

    #[test]
    fn routes_and_request_shape() {
        assert_routes(
            &Kraken,
            &["/0/public/AssetPairs"],
            &["/0/private/AddOrder", "/0/private/Earn/Strategies"],
            &[
                "/0/private",
                "/1/private/AddOrder",
                "/0/public/a/b",
                "/derivatives/api/v3/sendorder",
            ],
        );
        let get = canonicalise(
            Method::Get,
            "/0/private/Balance",
            None,
            None,
            b"",
            &Kraken.canon_rules(),
        )
        .unwrap();
        assert_eq!(
            Kraken.check_request(&get).unwrap_err().code,
            "method_not_allowed"
        );
        let q = canonicalise(
            Method::Post,
            "/0/private/Balance",
            Some("asset=XBT"),
            None,
            b"",
            &Kraken.canon_rules(),
        )
        .unwrap();
        assert!(Kraken.check_request(&q).is_err());
    }

    #[test]
    fn hard_deny_list() {
        let denied = [
            "/0/private/Withdraw",
            "/0/private/WithdrawCancel",
            "/0/private/WithdrawInfo",
            "/0/private/WithdrawAddresses",
            "/0/private/WalletTransfer",
            "/0/private/AccountTransfer",
            "/0/private/CreateSubaccount",
            "/0/private/GetApiKeyInfo",
            "/0/private/WithdrawSomethingNew",
            "/0/private/createsubaccount",
            "/0/private/GETAPIKEYINFO",
            "/0/private/walletTRANSFER",
        ];
        assert_hard_deny(&Kraken, &denied.map(post), &[]);
    }
}
