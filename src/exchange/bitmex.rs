//! BitMEX REST API (`https://www.bitmex.com/api/v1/...`).
//!
//! Signing: `api-signature = hex(HMAC-SHA256(secret, VERB + path_with_query + expires + body))`,
//! with `api-expires` (Unix seconds, keyward's clock plus the credential's receive window) and
//! `api-key`. The path and query are signed exactly as sent; the body is the compact JSON keyward
//! re-serialised, numbers kept exactly as the bot wrote them (`219.0` stays `219.0`).
//! <https://www.bitmex.com/app/apiKeysUsage>

#[cfg(test)]
mod leverage;
pub mod orders;
mod ws;

use super::permission::{self, KeyPermissions, Reading};
use serde_json::Value;

use super::profile::shipped;
use super::{plain_header, secret_header};

use super::common::{json_request, target};
use super::native::NativeMembers;
use super::unix_secs;
use super::{Access, Exchange, Outbound, Route, Signing};
use crate::key::SigningKey;
use crate::request::{CanonicalRequest, Method};
use crate::request::{Refusal, RefusalKind};

shipped!(Bitmex, "bitmex");

const HOST: &str = "www.bitmex.com";
const KEY_HEADER: &str = "api-key";
const EXPIRES_HEADER: &str = "api-expires";
const SIGN_HEADER: &str = "api-signature";

impl Exchange for Bitmex {
    fn read_permissions(&self, answer: &[u8], key_id: &str) -> Reading {
        permissions(answer, key_id)
    }

    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::BitmexWs)
    }

    fn route(&self, path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/api/v1/")?;
        (!rest.is_empty()).then(|| PROFILE.route(HOST, path))
    }

    fn native_error(&self, reject: &Refusal) -> NativeMembers {
        // BitMEX's `{"error":{"message","name"}}` with the messages client libraries map
        // (ccxt: "Access Denied" → PermissionDenied, "Invalid API Key." → AuthenticationError);
        // keyward's own code and message move to `keyward`.
        let message = match reject.kind {
            RefusalKind::Unauthenticated => "Invalid API Key.".to_owned(),
            RefusalKind::Forbidden => "Access Denied".to_owned(),
            k if !k.is_client_error() => "Service unavailable".to_owned(),
            _ => format!("keyward {}: {}", reject.code, reject.message),
        };
        vec![(
            "error",
            serde_json::json!({ "message": message, "name": "HTTPError" }),
        )]
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
        let path_and_query = target(req);
        let (body, mut headers) = json_request(
            &req.body,
            "keyward sends BitMEX JSON bodies; send application/json",
        )?;
        if access != Access::Public {
            let secs = unix_secs(now);
            let window = credential.recv_window_ms.div_ceil(1000).max(1);
            let expires = (secs + window).to_string();
            let signature = signature(
                &*credential.key,
                req.method,
                &path_and_query,
                &expires,
                &body,
            )?;
            headers.push(secret_header(KEY_HEADER, credential.api_key.expose())?);
            headers.push(plain_header(EXPIRES_HEADER, &expires));
            headers.push(secret_header(SIGN_HEADER, signature.as_bytes())?);
        }
        Ok(Outbound::new(req, HOST, path_and_query, headers, body))
    }
}

/// `hex(HMAC-SHA256(secret, verb + path_with_query + expires + body))`.
fn signature(
    key: &dyn SigningKey,
    method: Method,
    path_and_query: &str,
    expires: &str,
    body: &str,
) -> Result<String, Refusal> {
    Ok(hex::encode(key.hmac_sha256(&[
        method.as_str().as_bytes(),
        path_and_query.as_bytes(),
        expires.as_bytes(),
        body.as_bytes(),
    ])?))
}

/// `GET /api/v1/apiKey`: the account's keys; for ours (`id`), `permissions` lists `order`,
/// `withdraw` (BitMEX has no separate transfer permission: `withdraw` counts for both) and
/// `cidr` is the allowed range (`0.0.0.0/0` when unrestricted).
/// <https://www.bitmex.com/api/explorer/#/APIKey>
fn permissions(answer: &[u8], key_id: &str) -> Reading {
    let Some(Value::Array(keys)) = permission::json(answer) else {
        return Reading::Unreadable;
    };
    let Some(k) = keys
        .iter()
        .find(|k| k.get("id").and_then(Value::as_str) == Some(key_id))
    else {
        return Reading::Unreadable;
    };
    let withdraw = permission::list_contains(k.get("permissions"), &["withdraw"]);
    Reading::Read(KeyPermissions {
        withdraw,
        transfer: withdraw,
        ip_restricted: permission::ip_list(k.get("cidrs").or(k.get("cidr"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::profile::{get, post, put};
    use crate::exchange::testing::{self, assert_hard_deny, assert_routes, header};
    use crate::exchange::Credential;
    use crate::exchange::Signing;
    use crate::request::canonicalise;
    use std::time::SystemTime;

    use std::time::Duration;

    fn vectors() -> Vec<serde_json::Value> {
        let text = include_str!("../../tests/vectors/vectors.json");
        let all: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        all.into_iter()
            .filter(|v| v["exchange"] == "bitmex")
            .collect()
    }

    fn credential(secret: &str) -> Credential {
        testing::credential("LAqUlngMIQkIUjXMUreyu3qn", secret, None)
    }

    #[test]
    fn published_vectors() {
        let vs = vectors();
        assert_eq!(vs.len(), 2);
        for v in vs {
            let method = Method::parse(v["verb"].as_str().unwrap()).unwrap();
            let path = v["path"].as_str().unwrap();
            let expires: u64 = v["expires"].as_str().unwrap().parse().unwrap();
            let body = v["body"].as_str().unwrap();
            let expected = v["expected"].as_str().unwrap();
            let secret = v["secret"].as_str().unwrap();
            assert_eq!(
                signature(
                    &testing::hmac_key(secret.as_bytes()),
                    method,
                    path,
                    &expires.to_string(),
                    body
                )
                .unwrap(),
                expected
            );
            // The full signer: the bot's body re-serialised (whitespace dropped, 219.0 kept),
            // expires = keyward's clock + the 5 s window.
            let bot_body = body
                .replace(',', ", ")
                .replace(':', ": ")
                .replace("\": ", "\":  ");
            let req = canonicalise(
                method,
                path,
                None,
                (!body.is_empty()).then_some("application/json"),
                bot_body.as_bytes(),
                &Bitmex.canon_rules(),
            )
            .unwrap();
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(expires - 5);
            let out = Bitmex
                .sign(&req, Signing::new(Access::Signed, &credential(secret), now))
                .unwrap();
            assert_eq!(out.body, body.as_bytes(), "{path}");
            assert_eq!(out.path_and_query, path);
            assert_eq!(header(&out, EXPIRES_HEADER).unwrap(), expires.to_string());
            assert_eq!(header(&out, SIGN_HEADER).unwrap(), expected);
            assert_eq!(
                header(&out, KEY_HEADER).unwrap(),
                "LAqUlngMIQkIUjXMUreyu3qn"
            );
            for (k, v) in &out.headers {
                if k == KEY_HEADER || k == SIGN_HEADER {
                    assert!(v.is_sensitive());
                }
            }
        }
    }

    /// Expected signature produced OFFLINE with ccxt 4.5.0's own `bitmex.sign()` (4.5.90 has no
    /// bitmex class): `b = ccxt.bitmex({'apiKey': 'k', 'secret': 'bitmex-test-secret'})`,
    /// `b.seconds = lambda: 1700000000` (api-expires 5 → 1700000005), then
    /// `b.sign('order', 'private', 'DELETE', {'orderID': 'abc-123'})` and
    /// `b.sign('order', 'private', 'GET', {'symbol': 'XBTUSD', 'filter': '{"open": true}'})`.
    #[test]
    fn matches_ccxt() {
        let cred = credential("bitmex-test-secret");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let req = canonicalise(
            Method::Delete,
            "/api/v1/order",
            None,
            Some("application/json"),
            br#"{"orderID":"abc-123"}"#,
            &Bitmex.canon_rules(),
        )
        .unwrap();
        let out = Bitmex
            .sign(&req, Signing::new(Access::Signed, &cred, now))
            .unwrap();
        assert_eq!(out.body, &br#"{"orderID":"abc-123"}"#[..]);
        assert_eq!(header(&out, EXPIRES_HEADER).unwrap(), "1700000005");
        assert_eq!(header(&out, SIGN_HEADER).unwrap(), CCXT_DELETE);
        let req = canonicalise(
            Method::Get,
            "/api/v1/order",
            Some(CCXT_GET_QUERY),
            None,
            b"",
            &Bitmex.canon_rules(),
        )
        .unwrap();
        let out = Bitmex
            .sign(&req, Signing::new(Access::Signed, &cred, now))
            .unwrap();
        // keyward re-encodes the query in its own form (every byte outside the unreserved set
        // percent-encoded), which here is byte for byte what ccxt sends, and signs what it sends.
        assert_eq!(
            out.path_and_query,
            format!("/api/v1/order?{CCXT_GET_QUERY}")
        );
        assert_eq!(header(&out, SIGN_HEADER).unwrap(), CCXT_GET);
    }

    const CCXT_DELETE: &str = "b5b1c154cf507dad9ad5043bd9995eac1d175837da7d2ac795cc0191f83b71a3";
    const CCXT_GET_QUERY: &str = "symbol=XBTUSD&filter=%7B%22open%22%3A%20true%7D";
    const CCXT_GET: &str = "91d0e9c89d33bbcd39cddafb3ac6ab0d246237c8a7d12988ffb5d8ad8ebb6df5";

    #[test]
    fn routes() {
        assert_routes(
            &Bitmex,
            &[],
            &["/api/v1/order"],
            &["/api/v1/", "/api/v2/order", "/order"],
        );
    }

    #[test]
    fn hard_deny_list() {
        assert_hard_deny(
            &Bitmex,
            &[
                post("/api/v1/user/requestWithdrawal"),
                post("/api/v1/user/confirmWithdrawal"),
                post("/api/v1/user/cancelWithdrawal"),
                post("/api/v1/user/walletTransfer"),
                post("/api/v1/user/addSubaccount"),
                post("/api/v1/user/updateSubaccount"),
                get("/api/v1/apiKey"),
                post("/api/v1/apiKey/enable"),
                post("/api/v1/address"),
                post("/api/v1/user/preferences"),
                post("/api/v1/user/requestEnableTFA"),
                put("/api/v1/user"),
                post("/api/v1/position/transferMargin"),
                post("/api/v1/ADDRESS"),
                post("/API/v1/User/Preferences"),
            ],
            &[get("/api/v1/user/margin"), get("/api/v1/userEvent")],
        );
    }
}
