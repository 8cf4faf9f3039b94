//! Binance: spot (`/api`, `/sapi`), USD-M futures (`/fapi`), COIN-M futures (`/dapi`), options
//! (`/eapi`) and portfolio margin (`/papi`).
//!
//! Signing: the payload is `query_string + body` (no separator), with `timestamp` (and
//! `recvWindow`) among the signed parameters; the key goes in `X-MBX-APIKEY`.
//! - HMAC keys: `signature = hex(HMAC-SHA256(secret, payload))`.
//! - RSA keys: `signature = base64(RSASSA-PKCS1-v1_5-SHA256(private key, payload))`.
//! - Ed25519 keys: `signature = base64(Ed25519(private key, payload))`.
//!
//! The asymmetric signatures are then percent-encoded like every other parameter value
//! (`+`, `/`, `=` become `%2B`, `%2F`, `%3D`), which is what Binance verifies.
//! The sealed secret is the HMAC secret, or the PEM private key whose public half was
//! registered with Binance (PKCS#8 RSA 2048+ bits or Ed25519, or PKCS#1 RSA).
//! <https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security>

#[cfg(test)]
mod leverage;
pub mod orders;
mod ws;

use super::permission::{self, Fact, KeyPermissions, Reading};

use super::secret_header;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use super::common::{base64, form_content_type, path_and_query};
use super::profile::shipped;
use super::unix_millis;
use super::{Access, Credential, Exchange, Outbound, Route, Signing};
use crate::key::{KeyAlgorithm, SigningKey};
use crate::request::Refusal;
use crate::request::{Body, CanonicalRequest, Params};

shipped!(Binance, "binance");

const KEY_HEADER: &str = "x-mbx-apikey";

/// Endpoints that take the API key but no signature (`USER_STREAM`, `MARKET_DATA` security types).
const KEY_ONLY: &[&str] = &[
    "/api/v3/userDataStream",
    "/api/v3/historicalTrades",
    "/sapi/v1/userDataStream",
    "/sapi/v1/userDataStream/isolated",
    "/fapi/v1/listenKey",
    "/fapi/v1/historicalTrades",
    "/dapi/v1/listenKey",
    "/dapi/v1/historicalTrades",
];

impl Binance {
    fn host(path: &str) -> Option<&'static str> {
        let first = path.get(1..)?.split('/').next()?;
        match first {
            "api" | "sapi" => Some("api.binance.com"),
            "fapi" => Some("fapi.binance.com"),
            "dapi" => Some("dapi.binance.com"),
            "eapi" => Some("eapi.binance.com"),
            "papi" => Some("papi.binance.com"),
            _ => None,
        }
    }
}

impl Exchange for Binance {
    fn read_permissions(&self, answer: &[u8], key_id: &str) -> Reading {
        permissions(answer, key_id)
    }

    fn route(&self, path: &str) -> Option<Route> {
        let host = Self::host(path)?;
        let access = if PROFILE.public.contains(path) {
            Access::Public
        } else if KEY_ONLY.contains(&path) {
            Access::KeyOnly
        } else {
            Access::Signed
        };
        Some(Route { host, access })
    }

    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::BinanceWs)
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
        let host =
            Self::host(&req.path).ok_or_else(|| Refusal::not_found("not a Binance API path"))?;
        let mut query = req.query.clone();
        let mut form = match &req.body {
            Body::Form(p) => Some(p.clone()),
            Body::Empty => None,
            Body::Json(_) => {
                return Err(Refusal::unsupported_media("Binance takes no JSON bodies"))
            }
        };
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if access != Access::Public {
            headers.push(secret_header(KEY_HEADER, credential.api_key.expose())?);
        }
        if access == Access::Signed {
            // keyward's own fields go where the bot's parameters are: the body if it has one.
            let window = recv_window(req, credential)?;
            if query.contains("recvWindow") {
                query.set("recvWindow", window.to_string());
            } else {
                carrier(&mut query, &mut form).set("recvWindow", window.to_string());
            }
            carrier(&mut query, &mut form).set("timestamp", unix_millis(now).to_string());
            let payload = payload(&query, form.as_ref());
            let signature = signature(&*credential.key, payload.as_bytes())?;
            carrier(&mut query, &mut form).set("signature", signature);
        }
        let path_and_query = path_and_query(&req.path, &query.encode());
        let body = match &form {
            Some(f) => {
                headers.push(form_content_type());
                Bytes::from(f.encode())
            }
            None => Bytes::new(),
        };
        Ok(Outbound::new(req, host, path_and_query, headers, body))
    }
}

/// The receive window keyward signs: the bot's, capped at the credential's.
fn recv_window(req: &CanonicalRequest, credential: &Credential) -> Result<u64, Refusal> {
    match req.param("recvWindow") {
        Some(v) => {
            let asked: u64 = v.parse().map_err(|_| {
                Refusal::bad_params(format!(
                    "recvWindow {v:?} is not a whole number of milliseconds"
                ))
            })?;
            Ok(asked.min(credential.recv_window_ms))
        }
        None => Ok(credential.recv_window_ms),
    }
}

/// Where keyward's own parameters go: the form body if there is one, else the query string.
fn carrier<'a>(query: &'a mut Params, form: &'a mut Option<Params>) -> &'a mut Params {
    form.as_mut().unwrap_or(query)
}

/// Binance's signed payload: the query string followed by the body, no separator.
fn payload(query: &Params, form: Option<&Params>) -> String {
    let mut s = query.encode();
    if let Some(f) = form {
        s.push_str(&f.encode());
    }
    s
}

/// The signature as Binance reads it: hex HMAC-SHA256 for HMAC keys; base64 of
/// RSASSA-PKCS1-v1_5-SHA256 or Ed25519 for asymmetric keys (the caller's parameter encoding
/// then percent-encodes it).
fn signature(key: &dyn SigningKey, payload: &[u8]) -> Result<String, Refusal> {
    match key.algorithm() {
        KeyAlgorithm::Hmac => Ok(hex::encode(key.hmac_sha256(&[payload])?)),
        KeyAlgorithm::Rsa | KeyAlgorithm::Ed25519 => Ok(base64(&key.sign(payload)?)),
        other => Err(Refusal::bad_credential(format!(
            "Binance API keys are HMAC, RSA or Ed25519, but the credential holds an {other} key; \
             re-seal it with the key registered at Binance"
        ))),
    }
}

/// `GET /sapi/v1/account/apiRestrictions`: `enableWithdrawals`, `enableInternalTransfer`,
/// `permitsUniversalTransfer`, `ipRestrict` (booleans).
/// <https://developers.binance.com/docs/wallet/account/api-key-permission>
fn permissions(answer: &[u8], _key_id: &str) -> Reading {
    let Some(v) = permission::json(answer).filter(|v| v.is_object() && v.get("code").is_none())
    else {
        return Reading::Unreadable;
    };
    Reading::Read(KeyPermissions {
        withdraw: Fact::bool_at(&v, "/enableWithdrawals"),
        transfer: Fact::bool_at(&v, "/enableInternalTransfer")
            .or(Fact::bool_at(&v, "/permitsUniversalTransfer")),
        ip_restricted: Fact::bool_at(&v, "/ipRestrict"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::deny::explicit;
    use crate::exchange::testing::{self, at, canon};
    use crate::exchange::SecretForm;
    use crate::key::HmacSecret;
    use crate::request::Method;
    use crate::request::{canonicalise, parse_params};
    use crate::secret::SecretBytes;

    fn vectors() -> Vec<serde_json::Value> {
        let text = include_str!("../../tests/vectors/vectors.json");
        serde_json::from_str(text).unwrap()
    }

    fn credential(secret: &str) -> Credential {
        testing::credential("real-api-key", secret, None)
    }

    #[test]
    fn published_vectors_hmac() {
        let mut checked = 0;
        for v in vectors() {
            let ex = v["exchange"].as_str().unwrap();
            if !ex.starts_with("binance") {
                continue;
            }
            let payload = v["payload"].as_str().unwrap();
            let expected = v["expected"].as_str().unwrap();
            let key = HmacSecret::new(SecretBytes::copy_from(
                v["secret"].as_str().unwrap().as_bytes(),
            ));
            assert_eq!(signature(&key, payload.as_bytes()).unwrap(), expected);
            // The full signer reproduces the payload from the parameters and the clock.
            let mut params = parse_params(payload, "query string").unwrap();
            let ts: u64 = params.remove("timestamp").unwrap().parse().unwrap();
            let (path, req) = if ex == "binance-usdm" {
                let body = params.encode();
                (
                    "/fapi/v1/order",
                    canonicalise(
                        Method::Post,
                        "/fapi/v1/order",
                        None,
                        Some("application/x-www-form-urlencoded"),
                        body.as_bytes(),
                        &Binance.canon_rules(),
                    )
                    .unwrap(),
                )
            } else {
                let q = params.encode();
                (
                    "/api/v3/order",
                    canonicalise(
                        Method::Post,
                        "/api/v3/order",
                        Some(&q),
                        None,
                        b"",
                        &Binance.canon_rules(),
                    )
                    .unwrap(),
                )
            };
            let out = Binance
                .sign(
                    &req,
                    Signing::new(
                        Access::Signed,
                        &credential(v["secret"].as_str().unwrap()),
                        at(ts),
                    ),
                )
                .unwrap();
            let sent = if ex == "binance-usdm" {
                String::from_utf8(out.body.to_vec()).unwrap()
            } else {
                out.path_and_query.split_once('?').unwrap().1.to_owned()
            };
            assert_eq!(sent, format!("{payload}&signature={expected}"), "{path}");
            checked += 1;
        }
        assert_eq!(checked, 3);
    }

    const RSA_PEM: &str = include_str!("../../tests/vectors/binance_test_rsa.pem");
    const RSA_PKCS1_PEM: &str = include_str!("../../tests/vectors/binance_test_rsa_pkcs1.pem");
    const ED25519_PEM: &str = include_str!("../../tests/vectors/binance_test_ed25519.pem");

    fn pem_credential(pem: &str) -> Credential {
        let secrets = crate::vault::CredentialSecrets {
            api_key: SecretBytes::copy_from(b"real-api-key"),
            secret: SecretBytes::copy_from(pem.as_bytes()),
            passphrase: None,
        };
        Credential::load(
            &Binance,
            secrets,
            5000,
            crate::exchange::nonce::Nonce::in_memory(),
        )
        .unwrap()
    }

    /// The signature as it appears on the wire (base64, then percent-encoded).
    fn wire_signature(credential: &Credential, payload: &str) -> String {
        let sig = signature(&*credential.key, payload.as_bytes()).unwrap();
        let mut p = Params::default();
        p.set("signature", sig);
        p.encode().strip_prefix("signature=").unwrap().to_owned()
    }

    // ccxt's own query for the same order: ccxt.binance({'secret': <PEM>}).sign('order',
    // ['private'], 'POST', {symbol, side, type, timeInForce, quantity, price,
    // newClientOrderId: 'x-test1'}) with nonce() fixed at 1700000000000 (ccxt 4.5.90).
    const CCXT_PAYLOAD: &str = "timestamp=1700000000000&symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId=x-test1&recvWindow=10000";
    const CCXT_RSA_SIG: &str = "JsuDphPg77I63hpwiWRyZv7QuKNmkKE7C%2FpvnaIOsXpoZ51mduu6SMy%2F6blC9t6ImjaXu%2BPvc%2BS%2BhE%2Bua3%2Bwh14ctDn8apxBMfYPVpE3NCscqPHeV3ubSdENIuO0YX%2FBCrfiQnXpNYDxQKfYsjI5YuXBZhjcNO%2Bt5WsrRsgEsrz0E15NwTbZClo%2BvtrT%2BFJKcLE1WlI%2FXhd3y4w2gZTGuvcA90FDNMang065RZm2d8%2B%2Fo9%2FCDllZktyr9cpgBu8tRb4tyDnYGsv%2FVtr%2BcRudR%2Bask2gD9toiZN65KHCBjgunVm2BvC7gXp84UJhBjBWhVPg39rKn2I4jFh0Hb%2Fs3gA%3D%3D";
    const CCXT_ED25519_SIG: &str = "18exDfnBWgxlw3E4U1rgyIsbz%2F6qiRMnkrtaG2gajY9Pibz2rGUsGfgkUx1gEJYoAZPRNQqtuPN7Zami4CDHCQ%3D%3D";

    #[test]
    fn asymmetric_signatures_match_ccxt() {
        for pem in [RSA_PEM, RSA_PKCS1_PEM] {
            let c = pem_credential(pem);
            assert_eq!(c.key.algorithm().as_str(), "RSA");
            assert_eq!(wire_signature(&c, CCXT_PAYLOAD), CCXT_RSA_SIG);
        }
        let c = pem_credential(ED25519_PEM);
        assert_eq!(c.key.algorithm().as_str(), "Ed25519");
        assert_eq!(wire_signature(&c, CCXT_PAYLOAD), CCXT_ED25519_SIG);
    }

    /// The full signer with RSA and Ed25519 keys: keyward's payload (the bot's parameters, then
    /// recvWindow and timestamp), signed and percent-encoded. Expected values computed offline
    /// with ccxt 4.5.90: `encode_uri_component(rsa(payload, pem, 'sha256'))` and
    /// `encode_uri_component(eddsa(encode(payload), pem, 'ed25519'))`, the calls its sign() makes.
    #[test]
    fn asymmetric_signer_end_to_end() {
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&recvWindow=5000&timestamp=1700000000000";
        let cases = [
            (RSA_PEM, "BuqN17kvtc2fkdxrllGnKJ970cZCqwZ%2BX6FPldR0zUqMw%2BW1inYJE3A%2FUfHkzczoRl1JxXjT5GPRKCxsxUhoNDccmAKojerTxLfeZm4st0Mobihk7y6vKT70CrKN069B8Q8gXjZ5tbK0nnpXOUgqu2J1KfI7sAqFs5l9qzaPHLT%2B69eiM9iMcjm0%2BOpEF4Tybr1HuPKpdNOsZEdbN0qIitBH6RWAPYO4B1vcCWahlzsj7fe9wfA50KTFaYoxEiJ%2BkT%2BMji0HTY2kwD%2B5GE3oJsPeiLVAJ0tfQ8Iqyw2zhQRRRQHOStLdgt%2F6IuzZKDp63Z0RZdIIOKrW3eym86l1uA%3D%3D"),
            (ED25519_PEM, "U8kLFZeezzsYaImuXuNmoRJ9gMNaFXqfQe1yH9xxUWWHDXiK0wrh7xjHhdmvINLgHMCsNi10QQebj7L4%2FGp0CA%3D%3D"),
        ];
        for (pem, expected) in cases {
            let req = canonicalise(
                Method::Post,
                "/api/v3/order",
                None,
                Some("application/x-www-form-urlencoded"),
                b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&timestamp=1&signature=bogus",
                &Binance.canon_rules(),
            )
            .unwrap();
            let out = Binance
                .sign(
                    &req,
                    Signing::new(Access::Signed, &pem_credential(pem), at(1_700_000_000_000)),
                )
                .unwrap();
            assert_eq!(out.path_and_query, "/api/v3/order");
            assert_eq!(
                String::from_utf8(out.body.to_vec()).unwrap(),
                format!("{payload}&signature={expected}")
            );
            let key = out.headers.iter().find(|(k, _)| k == KEY_HEADER).unwrap();
            assert_eq!(key.1.as_bytes(), b"real-api-key");
        }
    }

    #[test]
    fn secret_forms() {
        use crate::exchange::parse_secret;
        let form = Binance.secret_form();
        assert_eq!(form, SecretForm::TextOrPem);
        // an HMAC secret stays text
        let s = SecretBytes::copy_from(
            b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
        );
        assert!(parse_secret(form, &s).unwrap().is_none());
        // a malformed PEM is refused
        let bad = SecretBytes::copy_from(
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOjvek1Lol\n-----END PRIVATE KEY-----\n",
        );
        assert!(parse_secret(form, &bad).is_err());
        // a public key is refused with a hint
        let public = SecretBytes::copy_from(
            b"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAgmDRTtj2FA+wzJUIlAL9ly1eovjLBu7uXUFR+jFULmg=\n-----END PUBLIC KEY-----\n",
        );
        assert!(parse_secret(form, &public)
            .unwrap_err()
            .contains("PRIVATE key"));
        // Binance has no ECDSA keys
        let ec = p256::SecretKey::random(&mut rand_core::OsRng)
            .to_sec1_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let err = parse_secret(form, &SecretBytes::copy_from(ec.as_bytes())).unwrap_err();
        assert!(err.contains("RSA or Ed25519"), "{err}");
    }

    #[test]
    fn recv_window_capped_and_bot_fields_replaced() {
        let query = "recvWindow=60000&timestamp=1&signature=bogus";
        let req = canon(&Binance, Method::Get, "/api/v3/account", Some(query), "");
        let out = Binance
            .sign(
                &req,
                Signing::new(Access::Signed, &credential("s"), at(1000)),
            )
            .unwrap();
        let (_, q) = out.path_and_query.split_once('?').unwrap();
        assert!(
            q.starts_with("recvWindow=5000&timestamp=1000&signature="),
            "{q}"
        );
        assert!(!q.contains("bogus"));
        let key = out.headers.iter().find(|(k, _)| k == KEY_HEADER).unwrap();
        assert_eq!(key.1.as_bytes(), b"real-api-key");
        assert!(key.1.is_sensitive());
    }

    #[test]
    fn key_only_carries_the_key_and_no_signature() {
        assert_eq!(
            Binance.route("/api/v3/userDataStream").unwrap().access,
            Access::KeyOnly
        );
        let req = canon(&Binance, Method::Post, "/api/v3/userDataStream", None, "");
        let out = Binance
            .sign(&req, Signing::new(Access::KeyOnly, &credential("s"), at(1)))
            .unwrap();
        assert_eq!(out.path_and_query, "/api/v3/userDataStream");
        assert_eq!(out.headers.len(), 1);
    }

    #[test]
    fn routes() {
        assert_eq!(
            Binance.route("/sapi/v1/margin/allPairs").unwrap().host,
            "api.binance.com"
        );
        assert_eq!(
            Binance.route("/fapi/v1/order").unwrap().host,
            "fapi.binance.com"
        );
        assert_eq!(
            Binance.route("/dapi/v1/order").unwrap().host,
            "dapi.binance.com"
        );
        assert!(Binance.route("/API/v3/order").is_none());
        assert!(Binance.route("/v3/order").is_none());
    }

    #[test]
    fn denied_endpoints_in_any_letter_case() {
        for path in [
            "/sapi/v1/account/apiRestrictions/ipRestriction",
            "/sapi/v1/account/ApiRestrictions/ipRestriction",
            "/SAPI/V1/ACCOUNT/APIRESTRICTIONS/IPRESTRICTION",
            "/sapi/v1/Broker/subAccountApi",
            "/sapi/v1/localEntity/withdraw/apply",
        ] {
            assert!(explicit(&Binance, Method::Post, path).is_some(), "{path}");
        }
        assert!(explicit(&Binance, Method::Get, "/sapi/v1/account/apiRestrictions").is_none());
    }
}
