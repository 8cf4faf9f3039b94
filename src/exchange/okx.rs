//! OKX v5: spot, margin, futures, perpetual swaps and options, all on one host (`www.okx.com`)
//! under `/api/v5/`; the market is the `instType`/`instId` parameter.
//!
//! Signing: `OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath +
//! body))`, where `timestamp` is ISO 8601 UTC with milliseconds (`2020-12-08T09:08:57.715Z`),
//! `requestPath` is the path with its query string (`/api/v5/account/balance?ccy=BTC`) and
//! `body` is the raw JSON body (empty for GET). The key, timestamp and plaintext passphrase travel
//! in `OK-ACCESS-KEY`, `OK-ACCESS-TIMESTAMP` and `OK-ACCESS-PASSPHRASE`.
//! <https://www.okx.com/docs-v5/en/#overview-rest-authentication>
//!
//! The bot's own `OK-ACCESS-*` headers are dropped (upstream headers are built from scratch).
//! ccxt's broker fields in order bodies (`clOrdId` prefixed with its broker id, `tag`) are order
//! data, not credentials, and are forwarded as the bot wrote them.

#[cfg(test)]
mod leverage;
pub mod orders;
mod ws;

use super::permission::{self, KeyPermissions, Reading};

use super::profile::shipped;
use std::time::SystemTime;

use super::common::{access_headers, get_or_post_only, json_request, target, AccessHeaders};
use super::unix_millis;
use super::{Access, Exchange, Outbound, Route, Signing};
use crate::request::CanonicalRequest;
use crate::request::Refusal;

shipped!(Okx, "okx");

const HOST: &str = "www.okx.com";
const ACCESS: AccessHeaders = access_headers!("ok-access-");

impl Exchange for Okx {
    fn read_permissions(&self, answer: &[u8], key_id: &str) -> Reading {
        permissions(answer, key_id)
    }

    fn route(&self, path: &str) -> Option<Route> {
        path.starts_with("/api/v5/")
            .then(|| PROFILE.route(HOST, path))
    }

    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::OkxWs)
    }

    fn check_request(&self, req: &CanonicalRequest) -> Result<(), Refusal> {
        get_or_post_only(req, "OKX v5")
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
        let path_and_query = target(req);
        let (body, mut headers) = json_request(&req.body, "OKX takes JSON bodies, not forms")?;
        if access != Access::Public {
            let passphrase = credential.passphrase_or("this OKX credential has no passphrase; re-seal it with the API key, secret and passphrase on three lines")?;
            headers.extend(ACCESS.signed(
                credential,
                &iso_millis(now),
                req.method,
                &path_and_query,
                &body,
                passphrase.expose(),
            )?);
        }
        Ok(Outbound::new(req, HOST, path_and_query, headers, body))
    }
}

/// `2020-12-08T09:08:57.715Z`: UTC, milliseconds, as OKX's `OK-ACCESS-TIMESTAMP` wants it.
fn iso_millis(now: SystemTime) -> String {
    let ms = unix_millis(now);
    humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

/// `GET /api/v5/account/config`: `data[0].perm` is a comma-separated list of `read_only`,
/// `trade`, `withdraw`; `data[0].ip` the bound addresses (empty when none). OKX reports no
/// separate transfer permission: `withdraw` is the only money-moving permission it names, so
/// it counts for both.
/// <https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-account-configuration>
fn permissions(answer: &[u8], _key_id: &str) -> Reading {
    let Some(v) = permission::json(answer).filter(|v| v.get("code") == Some(&"0".into())) else {
        return Reading::Unreadable;
    };
    let Some(d) = v.pointer("/data/0").filter(|d| d.is_object()) else {
        return Reading::Unreadable;
    };
    let withdraw = permission::words_contain(d.get("perm"), &["withdraw"]);
    Reading::Read(KeyPermissions {
        withdraw,
        transfer: withdraw,
        ip_restricted: permission::ip_list(d.get("ip")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::profile::{get, post};
    use crate::exchange::testing::{
        self, assert_hard_deny, assert_routes, at, canon, check_signed, Vector,
    };
    use crate::exchange::Credential;
    use crate::exchange::Signing;
    use crate::request::Method;

    fn credential() -> Credential {
        testing::credential("okx-api-key", "okx-secret-key", Some("okx-passphrase"))
    }

    #[test]
    fn timestamp_format() {
        assert_eq!(iso_millis(at(1607418537715)), "2020-12-08T09:08:57.715Z");
        assert_eq!(iso_millis(at(1607418537000)), "2020-12-08T09:08:57.000Z");
    }

    // Expected signatures were produced offline with ccxt 4.5.90's own signer:
    //   ex = ccxt.okx({'apiKey': 'okx-api-key', 'secret': 'okx-secret-key',
    //                  'password': 'okx-passphrase'})
    //   ex.nonce = lambda: 1607418537715
    //   ex.sign('trade/order', ['private'], 'POST', {... 'clOrdId': ..., 'tag': ...})
    //   ex.sign('account/balance', ['private'], 'GET', {'ccy': 'BTC,USDT'})
    #[test]
    fn post_signature_matches_ccxt() {
        let body = r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.010","px":"30000.0","clOrdId":"6b9ad766b55dBCDE0123456789abcdef","tag":"6b9ad766b55dBCDE"}"#;
        check_signed(
            &Okx,
            &credential(),
            &Vector {
                method: Method::Post,
                path: "/api/v5/trade/order",
                query: None,
                body,
                at: at(1607418537715),
                target: "/api/v5/trade/order",
                headers: &[
                    ("content-type", "application/json"),
                    ("ok-access-key", "okx-api-key"),
                    (
                        "ok-access-sign",
                        "Ra0GXDx52aRAKrXbvbVXNuR8BeuwaAh5PDLoiFWlRWQ=",
                    ),
                    ("ok-access-timestamp", "2020-12-08T09:08:57.715Z"),
                    ("ok-access-passphrase", "okx-passphrase"),
                ],
                sensitive: &["ok-access-key", "ok-access-sign", "ok-access-passphrase"],
            },
        );
    }

    #[test]
    fn get_signature_matches_ccxt() {
        check_signed(
            &Okx,
            &credential(),
            &Vector {
                method: Method::Get,
                path: "/api/v5/account/balance",
                query: Some("ccy=BTC%2CUSDT"),
                body: "",
                at: at(1607418537715),
                target: "/api/v5/account/balance?ccy=BTC%2CUSDT",
                headers: &[
                    ("ok-access-key", "okx-api-key"),
                    (
                        "ok-access-sign",
                        "ic1bmOCsHiHyqK31qEtEseG+novxFmRnfu11FxnsdwU=",
                    ),
                    ("ok-access-timestamp", "2020-12-08T09:08:57.715Z"),
                    ("ok-access-passphrase", "okx-passphrase"),
                ],
                sensitive: &["ok-access-key", "ok-access-sign", "ok-access-passphrase"],
            },
        );
    }

    #[test]
    fn routes() {
        assert_routes(
            &Okx,
            &[
                "/api/v5/public/instruments",
                "/api/v5/market/ticker",
                "/api/v5/public/time",
            ],
            &["/api/v5/trade/order"],
            &["/api/v3/trade/order", "/v5/trade/order"],
        );
    }

    #[test]
    fn missing_passphrase_is_refused_not_sent() {
        let mut c = credential();
        c.passphrase = None;
        let req = canon(&Okx, Method::Get, "/api/v5/account/balance", None, "");
        assert!(Okx
            .sign(&req, Signing::new(Access::Signed, &c, at(1)))
            .is_err());
    }

    #[test]
    fn hard_deny_list() {
        assert_hard_deny(
            &Okx,
            &[
                post("/api/v5/asset/withdrawal"),
                post("/api/v5/asset/withdrawal-lightning"),
                post("/api/v5/asset/cancel-withdrawal"),
                get("/api/v5/asset/withdrawal-history"),
                post("/api/v5/asset/transfer"),
                get("/api/v5/asset/transfer-state"),
                post("/api/v5/asset/subaccount/transfer"),
                get("/api/v5/asset/subaccount/balances"),
                post("/api/v5/account/subaccount/set-loan-allocation"),
                post("/api/v5/users/subaccount/create-subaccount"),
                post("/api/v5/users/subaccount/apikey"),
                post("/api/v5/users/subaccount/modify-apikey"),
                post("/api/v5/users/subaccount/delete-apikey"),
                post("/api/v5/users/subaccount/set-transfer-out"),
                post("/api/v5/broker/nd/create-subaccount"),
                post("/api/v5/fiat/withdrawal"),
                post("/api/v5/Users/subaccount/create-subaccount"),
                post("/API/V5/BROKER/nd/create-subaccount"),
            ],
            &[
                get("/api/v5/account/config"),
                post("/api/v5/trade/order"),
                get("/api/v5/asset/currencies"),
            ],
        );
    }
}
