//! Coinbase Advanced Trade (`/api/v3/brokerage/...`) and the Coinbase App v2 API (`/v2/...`),
//! both on `api.coinbase.com`, authenticated with CDP API keys.
//!
//! Signing: every private request carries `Authorization: Bearer <JWT>`, a fresh JWT per request
//! signed with the key's private key, as Coinbase's CDP documentation describes
//! (<https://docs.cdp.coinbase.com/coinbase-app/authentication-authorization/api-key-authentication>):
//!
//! * header `{"alg":"ES256"|"EdDSA","typ":"JWT","kid":<key name>,"nonce":<random hex>}`;
//! * claims `{"sub":<key name>,"iss":"cdp","nbf":now,"exp":now+120,"uri":"METHOD host/path"}`,
//!   the `uri` without the query string. For Ed25519 keys the claims also carry the CDP SDK's
//!   `"aud":["cdp_service"]` and `"uris":[uri]` (the same value), so either form is satisfied.
//!
//! ES256 keys are the PEM EC (P-256) keys Coinbase issues (`-----BEGIN EC PRIVATE KEY-----`,
//! SEC1); Ed25519 keys are the base64 64-byte seed‖public key. The API key is the key name
//! (`organizations/{org}/apiKeys/{id}` or the key id).
//!
//! The bot's client token: the whole `Authorization: Bearer` value, or the `sub`/`kid` of the
//! bot's own (dummy) JWT — its signature is neither checked nor needed, as keyward never
//! forwards it — or `CB-ACCESS-KEY` for bots configured with a legacy HMAC-style dummy secret.

pub mod orders;
mod ws;

use super::permission::{self, Fact, KeyPermissions, Reading};

use base64::Engine;
use http::{header, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use super::common::{json_request, target};
use super::profile::shipped;
use super::{sensitive_header, unix_secs};
use super::{Access, Credential, Exchange, Outbound, Route, Signing};
use crate::key::{KeyAlgorithm, SigningKey};
use crate::request::CanonicalRequest;
use crate::request::Json;
use crate::request::Refusal;

shipped!(Coinbase, "coinbase");

/// The one host both APIs live on; also the host named in the JWT's `uri` claim.
pub const HOST: &str = "api.coinbase.com";

/// Legacy HMAC keys' key header; read as a client token only.
const LEGACY_KEY_HEADER: &str = "cb-access-key";

/// Lifetime Coinbase allows a JWT (two minutes).
const JWT_LIFETIME_S: u64 = 120;

/// Longest bot JWT keyward will look into for its client token.
const MAX_BOT_JWT: usize = 8192;

fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/v3/") || path.starts_with("/v2/")
}

#[derive(Serialize)]
struct JwtHeader<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
    nonce: &'a str,
}

#[derive(Serialize)]
struct JwtClaims<'a> {
    sub: &'a str,
    iss: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<[&'static str; 1]>,
    nbf: u64,
    exp: u64,
    /// Absent in the JWT of a WebSocket subscription, which names no request.
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uris: Option<[&'a str; 1]>,
}

/// The JWT Coinbase verifies for one request (`uri` = `"METHOD host/path"`, no query).
pub fn jwt(
    key_name: &str,
    key: &dyn SigningKey,
    uri: &str,
    now_s: u64,
    nonce: &str,
) -> Result<String, Refusal> {
    signed_jwt(key_name, key, Some(uri), now_s, nonce)
}

/// A JWT with the `uri` claim (a REST request) or without it (a WebSocket subscription).
fn signed_jwt(
    key_name: &str,
    key: &dyn SigningKey,
    uri: Option<&str>,
    now_s: u64,
    nonce: &str,
) -> Result<String, Refusal> {
    let (alg, eddsa) = match key.algorithm() {
        KeyAlgorithm::EcdsaP256 => ("ES256", false),
        KeyAlgorithm::Ed25519 => ("EdDSA", true),
        other => {
            return Err(internal(&format!(
                "Coinbase CDP keys are EC P-256 (ES256) or Ed25519; this credential holds an {other} key: re-seal it with the key Coinbase issued"
            )))
        }
    };
    let header = JwtHeader {
        alg,
        typ: "JWT",
        kid: key_name,
        nonce,
    };
    let claims = JwtClaims {
        sub: key_name,
        iss: "cdp",
        aud: eddsa.then_some(["cdp_service"]),
        nbf: now_s,
        exp: now_s + JWT_LIFETIME_S,
        uri,
        uris: uri.filter(|_| eddsa).map(|u| [u]),
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = |e: serde_json::Error| internal(&format!("the JWT cannot be encoded: {e}"));
    let mut token = b64.encode(serde_json::to_vec(&header).map_err(json)?);
    token.push('.');
    token.push_str(&b64.encode(serde_json::to_vec(&claims).map_err(json)?));
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&b64.encode(signature));
    Ok(token)
}

/// A fresh random JWT nonce (16 bytes, hex).
fn random_nonce() -> Result<String, Refusal> {
    use ring::rand::SecureRandom;
    let mut raw = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| internal("no randomness available for the JWT nonce"))?;
    Ok(hex::encode(raw))
}

fn internal(message: &str) -> Refusal {
    Refusal::bad_credential(message)
}

/// The client token inside a bot's (dummy) JWT: its `kid` header or `sub` claim, which must
/// agree when both are present. The signature is not looked at.
fn token_in_jwt(jwt: &[u8]) -> Result<Vec<u8>, Refusal> {
    let bad = |why: &str| {
        Refusal::bad_request(format!(
            "the bot's Authorization JWT {why}; set the bot's API key (key name) to its keyward client token, or send \"Authorization: Bearer <client token>\""
        ))
    };
    if jwt.len() > MAX_BOT_JWT {
        return Err(bad("is too long"));
    }
    let mut parts = jwt.split(|b| *b == b'.');
    let (Some(head), Some(body)) = (parts.next(), parts.next()) else {
        return Err(bad("is malformed"));
    };
    let decode = |part: &[u8]| -> Result<Json, Refusal> {
        let trimmed = part
            .strip_suffix(b"==")
            .or(part.strip_suffix(b"="))
            .unwrap_or(part);
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(trimmed)
            .map_err(|_| bad("is not base64url"))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("is not UTF-8 JSON"))?;
        Json::parse(text).map_err(|_| bad("is not a JSON object"))
    };
    let head = decode(head)?;
    let body = decode(body)?;
    let field = |j: &Json, name: &str| -> Result<Option<String>, Refusal> {
        match j.get(name) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(&format!("has a non-string {name}"))),
        }
    };
    match (field(&head, "kid")?, field(&body, "sub")?) {
        (Some(k), Some(s)) if k != s => Err(bad("has different kid and sub")),
        (Some(t), _) | (None, Some(t)) if !t.is_empty() => Ok(t.into_bytes()),
        _ => Err(bad("carries no kid or sub")),
    }
}

impl Exchange for Coinbase {
    fn read_permissions(&self, answer: &[u8], key_id: &str) -> Reading {
        permissions(answer, key_id)
    }

    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::CoinbaseWs)
    }

    fn route(&self, path: &str) -> Option<Route> {
        is_api_path(path).then(|| PROFILE.route(HOST, path))
    }

    fn client_token(&self, headers: &HeaderMap) -> Result<Option<Vec<u8>>, Refusal> {
        let mut found: Vec<Vec<u8>> = Vec::new();
        for name in [header::AUTHORIZATION.as_str(), LEGACY_KEY_HEADER] {
            let mut values = headers.get_all(name).iter();
            let Some(value) = values.next() else {
                continue;
            };
            if values.next().is_some() {
                return Err(Refusal::bad_request(format!("more than one {name} header")));
            }
            if name == LEGACY_KEY_HEADER {
                found.push(value.as_bytes().to_vec());
                continue;
            }
            let Some(credential) = super::bearer(value.as_bytes()) else {
                return Err(Refusal::bad_request(
                    "Authorization must be \"Bearer <client token>\" or \"Bearer <JWT whose sub is the client token>\"",
                ));
            };
            if credential.iter().filter(|b| **b == b'.').count() == 2 {
                found.push(token_in_jwt(credential)?);
            } else {
                found.push(credential.to_vec());
            }
        }
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            [a, b] if a == b => Ok(Some(a.clone())),
            _ => Err(Refusal::bad_request(
                "the request carries two different client tokens; send one",
            )),
        }
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
        if !is_api_path(&req.path) {
            return Err(Refusal::not_found("not a Coinbase API path"));
        }
        let now_s = unix_secs(now);
        self.sign_with(req, access, credential, now_s, &random_nonce()?)
    }
}

impl Coinbase {
    fn sign_with(
        &self,
        req: &CanonicalRequest,
        access: Access,
        credential: &Credential,
        now_s: u64,
        nonce: &str,
    ) -> Result<Outbound, Refusal> {
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if access != Access::Public {
            let key_name = std::str::from_utf8(credential.api_key.expose())
                .map_err(|_| internal("the Coinbase key name is not UTF-8; re-seal it"))?;
            let uri = format!("{} {HOST}{}", req.method, req.path);
            let token = jwt(key_name, &*credential.key, &uri, now_s, nonce)?;
            headers.push((
                header::AUTHORIZATION,
                sensitive_header(format!("Bearer {token}").as_bytes())?,
            ));
        }
        let path_and_query = target(req);
        let (body, content_type) = json_request(&req.body, "Coinbase takes JSON bodies only")?;
        headers.extend(content_type);
        Ok(Outbound::new(req, HOST, path_and_query, headers, body))
    }
}

/// `GET /api/v3/brokerage/key_permissions`: `can_transfer` (withdrawals and transfers both);
/// the answer does not report IP restrictions.
/// <https://docs.cdp.coinbase.com/advanced-trade/reference/retailbrokerageapi_getapikeypermissions>
fn permissions(answer: &[u8], _key_id: &str) -> Reading {
    let Some(v) = permission::json(answer).filter(|v| v.get("can_view").is_some()) else {
        return Reading::Unreadable;
    };
    let moves = Fact::bool_at(&v, "/can_transfer");
    Reading::Read(KeyPermissions {
        withdraw: moves,
        transfer: moves,
        ip_restricted: Fact::Unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::profile::{delete, put};
    use crate::exchange::profile::{get, post};
    use crate::exchange::testing::{self, assert_hard_deny, assert_routes, canon};
    use crate::exchange::Credential;
    use crate::exchange::Signing;
    use crate::request::Method;
    use bytes::Bytes;
    use std::time::SystemTime;

    use crate::secret::SecretBytes;

    /// RFC 6979 A.2.5's P-256 private key, as Coinbase issues keys (SEC1 PEM).
    const EC_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMmvqdhFunUWa1whV2ex1pNOUMPbNuibEnuKYisSD2choAoGCCqGSM49
AwEHoUQDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A/4QCLi8
maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ==
-----END EC PRIVATE KEY-----
";
    const EC_NAME: &str = "organizations/0f1e2d3c-0000-4000-8000-000000000001/apiKeys/1a2b3c4d-0000-4000-8000-000000000002";
    /// Ed25519 seed 00 01 .. 1f followed by its public key, base64 (Coinbase's Ed25519 form).
    const ED_B64: &str =
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8DoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuA==";
    const ED_NAME: &str = "9a8b7c6d-0000-4000-8000-000000000003";
    const NONCE: &str = "00112233445566778899aabbccddeeff";

    // Expected tokens computed offline with ccxt 4.5.90's own JWT code (the one its coinbase
    // class signs with: RFC 6979 ES256 through `cryptography`, Ed25519), fixed time and nonce:
    //   Exchange.jwt({"sub": name, "iss": "cdp", "nbf": 1700000000, "exp": 1700000120,
    //                 "uri": uri}, pem, 'sha256', False, {'kid': name, 'nonce': NONCE, 'alg': 'ES256'})
    // and for Ed25519 the claims {"sub","iss","aud":["cdp_service"],"nbf","exp","uri","uris":[uri]}
    // with {'alg': 'EdDSA'} and the 32-byte seed.
    const ES256_EXPECTED: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im9yZ2FuaXphdGlvbnMvMGYxZTJkM2MtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAxL2FwaUtleXMvMWEyYjNjNGQtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAyIiwibm9uY2UiOiIwMDExMjIzMzQ0NTU2Njc3ODg5OWFhYmJjY2RkZWVmZiJ9.eyJzdWIiOiJvcmdhbml6YXRpb25zLzBmMWUyZDNjLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMS9hcGlLZXlzLzFhMmIzYzRkLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMiIsImlzcyI6ImNkcCIsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMTIwLCJ1cmkiOiJQT1NUIGFwaS5jb2luYmFzZS5jb20vYXBpL3YzL2Jyb2tlcmFnZS9vcmRlcnMifQ._AZupfgldiaBxeoHsrNszvZUt8erXXGxkByXh5pPZkMe5PXTmOr8yFf3FEgHPBqe0hRdw95BRRM33malTPU--A";
    const EDDSA_EXPECTED: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6IjlhOGI3YzZkLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMyIsIm5vbmNlIjoiMDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmYifQ.eyJzdWIiOiI5YThiN2M2ZC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDMiLCJpc3MiOiJjZHAiLCJhdWQiOlsiY2RwX3NlcnZpY2UiXSwibmJmIjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAxMjAsInVyaSI6IkdFVCBhcGkuY29pbmJhc2UuY29tL2FwaS92My9icm9rZXJhZ2UvYWNjb3VudHMiLCJ1cmlzIjpbIkdFVCBhcGkuY29pbmJhc2UuY29tL2FwaS92My9icm9rZXJhZ2UvYWNjb3VudHMiXX0.cuCC7mf2wmESWsPcp6Z-fwZNfCJU3H35eCkz9gqeR27VedQ9nkwnHlwaLsFvnuYOT_mT9QEZsIqWa_k77kqDAA";

    fn credential(name: &str, secret: &str) -> Credential {
        let secrets = crate::vault::CredentialSecrets {
            api_key: SecretBytes::copy_from(name.as_bytes()),
            secret: SecretBytes::copy_from(secret.as_bytes()),
            passphrase: None,
        };
        Credential::load(
            &Coinbase,
            secrets,
            5000,
            crate::exchange::nonce::Nonce::in_memory(),
        )
        .unwrap()
    }

    fn auth(out: &Outbound) -> &str {
        let bearer = testing::secret_header_text(out, header::AUTHORIZATION.as_str());
        bearer.strip_prefix("Bearer ").unwrap()
    }

    /// `method path?query` with `body`, signed by the credential of `name` and `secret` at the
    /// instant and with the nonce ccxt's expected values were computed with.
    fn signed_as_ccxt(
        (name, secret): (&str, &str),
        (method, path, query): (Method, &str, Option<&str>),
        body: &str,
    ) -> Outbound {
        let req = canon(&Coinbase, method, path, query, body);
        let c = credential(name, secret);
        Coinbase
            .sign_with(&req, Access::Signed, &c, 1_700_000_000, NONCE)
            .unwrap()
    }

    #[test]
    fn es256_matches_ccxt() {
        let out = signed_as_ccxt(
            (EC_NAME, EC_PEM),
            (Method::Post, "/api/v3/brokerage/orders", None),
            r#"{"client_order_id":"x","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.010","limit_price":"30000.0"}}}"#,
        );
        assert_eq!(auth(&out), ES256_EXPECTED);
        assert_eq!(out.path_and_query, "/api/v3/brokerage/orders");
        assert_eq!(
            out.body,
            Bytes::from_static(br#"{"client_order_id":"x","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.010","limit_price":"30000.0"}}}"#)
        );
    }

    #[test]
    fn eddsa_matches_ccxt_and_query_is_not_in_uri() {
        let out = signed_as_ccxt(
            (ED_NAME, ED_B64),
            (
                Method::Get,
                "/api/v3/brokerage/accounts",
                Some("limit=250&cursor=abc"),
            ),
            "",
        );
        assert_eq!(auth(&out), EDDSA_EXPECTED);
        assert_eq!(
            out.path_and_query,
            "/api/v3/brokerage/accounts?limit=250&cursor=abc"
        );
    }

    #[test]
    fn live_signing_uses_fresh_nonces_and_the_clock() {
        let c = credential(EC_NAME, EC_PEM);
        let req = canon(
            &Coinbase,
            Method::Get,
            "/api/v3/brokerage/key_permissions",
            None,
            "",
        );
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let a = Coinbase
            .sign(&req, Signing::new(Access::Signed, &c, now))
            .unwrap();
        let b = Coinbase
            .sign(&req, Signing::new(Access::Signed, &c, now))
            .unwrap();
        assert_ne!(auth(&a), auth(&b), "each JWT has its own nonce");
        let claims = auth(&a).split('.').nth(1).unwrap();
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
        assert_eq!(claims["nbf"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_000_120);
        assert_eq!(
            claims["uri"],
            "GET api.coinbase.com/api/v3/brokerage/key_permissions"
        );
    }

    #[test]
    fn routes() {
        assert_routes(
            &Coinbase,
            &[
                "/api/v3/brokerage/market/products/BTC-USD/ticker",
                "/v2/currencies",
            ],
            &["/api/v3/brokerage/products"],
            &["/api/v2/x", "/v3/brokerage/orders"],
        );
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn dummy_jwt(header: &str, claims: &str) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.bm90LWEtc2lnbmF0dXJl",
            b64.encode(header),
            b64.encode(claims)
        )
    }

    #[test]
    fn client_token_places() {
        let tok = |pairs: &[(&str, &str)]| Coinbase.client_token(&headers(pairs));
        assert_eq!(
            tok(&[("authorization", "Bearer kwt_abc")]).unwrap(),
            Some(b"kwt_abc".to_vec())
        );
        let jwt = dummy_jwt(
            r#"{"alg":"ES256","kid":"kwt_abc","nonce":"1"}"#,
            r#"{"sub":"kwt_abc","iss":"cdp","uri":"GET x"}"#,
        );
        assert_eq!(
            tok(&[("authorization", &format!("Bearer {jwt}"))]).unwrap(),
            Some(b"kwt_abc".to_vec())
        );
        // only sub, only kid
        let jwt = dummy_jwt(r#"{"alg":"EdDSA"}"#, r#"{"sub":"kwt_abc"}"#);
        assert_eq!(
            tok(&[("authorization", &format!("Bearer {jwt}"))]).unwrap(),
            Some(b"kwt_abc".to_vec())
        );
        let jwt = dummy_jwt(r#"{"alg":"EdDSA","kid":"kwt_abc"}"#, r#"{}"#);
        assert_eq!(
            tok(&[("authorization", &format!("Bearer {jwt}"))]).unwrap(),
            Some(b"kwt_abc".to_vec())
        );
        assert_eq!(
            tok(&[("cb-access-key", "kwt_abc")]).unwrap(),
            Some(b"kwt_abc".to_vec())
        );
        assert_eq!(tok(&[]).unwrap(), None);
        // refusals: disagreeing kid/sub, no subject, duplicate keys, two tokens, bad scheme
        for bad in [
            dummy_jwt(r#"{"kid":"kwt_a"}"#, r#"{"sub":"kwt_b"}"#),
            dummy_jwt(r#"{"alg":"ES256"}"#, r#"{"iss":"cdp"}"#),
            dummy_jwt(r#"{"kid":"kwt_a"}"#, r#"{"sub":"kwt_a","sub":"kwt_b"}"#),
            dummy_jwt(r#"{"kid":1}"#, r#"{}"#),
            "a.%%%.c".to_owned(),
        ] {
            assert!(
                tok(&[("authorization", &format!("Bearer {bad}"))]).is_err(),
                "{bad}"
            );
        }
        assert!(tok(&[
            ("authorization", "Bearer kwt_a"),
            ("cb-access-key", "kwt_b")
        ])
        .is_err());
        assert!(tok(&[("authorization", "Basic a2V5")]).is_err());
        assert!(tok(&[("cb-access-key", "a"), ("cb-access-key", "a")]).is_err());
    }

    #[test]
    fn hard_deny_list() {
        assert_hard_deny(
            &Coinbase,
            &[
                post("/api/v3/brokerage/portfolios/move_funds"),
                post("/api/v3/brokerage/portfolios"),
                put("/api/v3/brokerage/portfolios/abc"),
                delete("/api/v3/brokerage/portfolios/abc"),
                post("/api/v3/brokerage/cfm/sweeps/schedule"),
                delete("/api/v3/brokerage/cfm/sweeps"),
                post("/api/v3/brokerage/intx/allocate"),
                post("/api/v3/brokerage/intx/multi_asset_collateral"),
                get("/api/v3/brokerage/payment_methods"),
                post("/v2/accounts/abc/transactions"),
                post("/v2/accounts/abc/transactions/t1/complete"),
                delete("/v2/accounts/abc/transactions/t1"),
                post("/v2/accounts/abc/withdrawals"),
                get("/v2/accounts/abc/withdrawals"),
                post("/v2/accounts/abc/deposits"),
                post("/v2/accounts/abc/addresses"),
                post("/v2/accounts"),
                put("/v2/user"),
                get("/v2/payment-methods"),
                post("/api/v3/brokerage/new/withdraw"),
                post("/api/v3/brokerage/transfers"),
                // letter-case variants
                post("/api/v3/brokerage/Portfolios/Move_Funds"),
                post("/API/V3/BROKERAGE/INTX/ALLOCATE"),
                post("/V2/accounts/abc/Transactions"),
            ],
            &[
                post("/api/v3/brokerage/orders"),
                get("/api/v3/brokerage/portfolios"),
                get("/api/v3/brokerage/cfm/sweeps"),
                get("/v2/accounts"),
                get("/v2/accounts/abc/transactions"),
            ],
        );
    }
}
