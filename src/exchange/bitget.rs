//! Bitget v2 (spot `/api/v2/spot/`, futures `/api/v2/mix/`, margin, earn, copy trading, ...) and
//! the unified-account v3 API (`/api/v3/`), all on one host (`api.bitget.com`).
//!
//! Signing: `ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath +
//! ["?" + queryString] + body))`, with `timestamp` in milliseconds. As Bitget verifies it (and
//! ccxt signs it), `queryString` is the decoded `key=value&...` form while the URL carries the
//! percent-encoded one; for the usual values (symbols, product types, numbers) the two are the
//! same. The key, timestamp and plaintext passphrase travel in `ACCESS-KEY`, `ACCESS-TIMESTAMP`
//! and `ACCESS-PASSPHRASE`.
//! <https://www.bitget.com/api-doc/common/signature>
//!
//! The bot's own `ACCESS-*` headers, ccxt's `X-CHANNEL-API-CODE` broker header and `PAPTRADING`
//! are dropped (upstream headers are built from scratch).

#[cfg(test)]
mod leverage;
pub mod orders;
mod ws;

use super::common::{access_headers, get_or_post_only, json_request, target, AccessHeaders};
use super::profile::shipped;
use super::unix_millis;
use super::{Access, Exchange, Outbound, Route, Signing};
use crate::request::Refusal;
use crate::request::{CanonicalRequest, Params};

shipped!(Bitget, "bitget");

const HOST: &str = "api.bitget.com";
const ACCESS: AccessHeaders = access_headers!("access-");

impl Exchange for Bitget {
    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::BitgetWs)
    }

    fn route(&self, path: &str) -> Option<Route> {
        (path.starts_with("/api/v2/") || path.starts_with("/api/v3/"))
            .then(|| PROFILE.route(HOST, path))
    }

    fn check_request(&self, req: &CanonicalRequest) -> Result<(), Refusal> {
        get_or_post_only(req, "Bitget")
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
        let path_and_query = target(req);
        let (body, mut headers) = json_request(&req.body, "Bitget takes JSON bodies, not forms")?;
        if access != Access::Public {
            let passphrase = credential.passphrase_or("this Bitget credential has no passphrase; re-seal it with the API key, secret and passphrase on three lines")?;
            let timestamp = unix_millis(now).to_string();
            let query = if req.query.is_empty() {
                String::new()
            } else {
                format!("?{}", raw_query(&req.query))
            };
            headers.extend(ACCESS.signed(
                credential,
                &timestamp,
                req.method,
                &format!("{}{query}", req.path),
                &body,
                passphrase.expose(),
            )?);
        }
        Ok(Outbound::new(req, HOST, path_and_query, headers, body))
    }
}

/// The decoded `key=value&...` form Bitget computes its signature over.
fn raw_query(query: &Params) -> String {
    let mut out = String::new();
    for (i, (k, v)) in query.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::profile::{get, post};
    use crate::exchange::testing::{
        self, assert_hard_deny, assert_routes, at, check_signed, Vector,
    };
    use crate::exchange::Credential;
    use crate::request::Method;

    fn credential() -> Credential {
        testing::credential("bg_api_key", "bitget-secret", Some("bitget-passphrase"))
    }

    // Expected signatures were produced offline with ccxt 4.5.90's own signer:
    //   ex = ccxt.bitget({'apiKey': 'bg_api_key', 'secret': 'bitget-secret',
    //                     'password': 'bitget-passphrase'})
    //   ex.nonce = lambda: 1695806875837
    //   ex.sign('v2/spot/trade/place-order', ['private', 'spot'], 'POST', {...})
    //   ex.sign('v2/spot/trade/unfilled-orders', ['private', 'spot'], 'GET',
    //           {'symbol': 'BTCUSDT', 'tpslType': 'normal,tpsl'})
    #[test]
    fn post_signature_matches_ccxt() {
        let body = r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","size":"0.010","price":"30000.0","clientOid":"abc-123"}"#;
        check_signed(
            &Bitget,
            &credential(),
            &Vector {
                method: Method::Post,
                path: "/api/v2/spot/trade/place-order",
                query: None,
                body,
                at: at(1695806875837),
                target: "/api/v2/spot/trade/place-order",
                headers: &[
                    ("content-type", "application/json"),
                    ("access-key", "bg_api_key"),
                    (
                        "access-sign",
                        "6qR+FLq2rzhhOPKYSa+bRaHY3bg+zsdRWgAfA0Oiw6E=",
                    ),
                    ("access-timestamp", "1695806875837"),
                    ("access-passphrase", "bitget-passphrase"),
                ],
                sensitive: &["access-key", "access-sign", "access-passphrase"],
            },
        );
    }

    #[test]
    fn get_signature_matches_ccxt_over_the_decoded_query() {
        check_signed(
            &Bitget,
            &credential(),
            &Vector {
                method: Method::Get,
                path: "/api/v2/spot/trade/unfilled-orders",
                query: Some("symbol=BTCUSDT&tpslType=normal%2Ctpsl"),
                body: "",
                at: at(1695806875837),
                target: "/api/v2/spot/trade/unfilled-orders?symbol=BTCUSDT&tpslType=normal%2Ctpsl",
                headers: &[
                    ("access-key", "bg_api_key"),
                    (
                        "access-sign",
                        "H+pXW2iAewj2ctA1EQVVp1RTWEvw2VtLGQE6NKC4duM=",
                    ),
                    ("access-timestamp", "1695806875837"),
                    ("access-passphrase", "bitget-passphrase"),
                ],
                sensitive: &["access-key", "access-sign", "access-passphrase"],
            },
        );
    }

    #[test]
    fn routes() {
        assert_routes(
            &Bitget,
            &[
                "/api/v2/spot/public/symbols",
                "/api/v2/spot/public/coins",
                "/api/v2/spot/market/tickers",
                "/api/v2/mix/market/contracts",
                "/api/v2/margin/currencies",
                "/api/v2/public/time",
                "/api/v3/market/instruments",
            ],
            &[
                "/api/v2/mix/market/query-position-lever",
                "/api/v2/mix/market/position-long-short",
            ],
            &[
                "/api/spot/v1/wallet/withdrawal",
                "/api/v1/spot/trade/place-order",
            ],
        );
    }

    #[test]
    fn hard_deny_list() {
        assert_hard_deny(
            &Bitget,
            &[
                post("/api/v2/spot/wallet/withdrawal"),
                post("/api/v2/spot/wallet/cancel-withdrawal"),
                get("/api/v2/spot/wallet/withdrawal-records"),
                post("/api/v2/spot/wallet/transfer"),
                post("/api/v2/spot/wallet/subaccount-transfer"),
                post("/api/v2/spot/wallet/modify-deposit-account"),
                get("/api/v2/spot/account/subaccount-assets"),
                get("/api/v2/spot/account/transferRecords"),
                get("/api/v2/mix/account/sub-account-assets"),
                post("/api/v2/user/create-virtual-subaccount"),
                post("/api/v2/user/create-virtual-subaccount-apikey"),
                post("/api/v2/user/modify-virtual-subaccount-apikey"),
                post("/api/v2/user/batch-create-subaccount-and-apikey"),
                post("/api/v2/broker/account/subaccount-withdrawal"),
                post("/api/v2/broker/manage/create-subaccount-apikey"),
                post("/api/v2/p2p/orderList"),
                post("/api/v3/account/withdrawal"),
                post("/api/v3/account/cancel-withdrawal"),
                get("/api/v3/account/withdraw-address"),
                post("/api/v3/account/transfer"),
                post("/api/v3/account/sub-transfer"),
                post("/api/v3/account/sub-master-transfer"),
                get("/api/v3/account/sub-deposit-address"),
                post("/api/v3/user/create-sub-api"),
                post("/api/v3/user/freeze-sub"),
                post("/api/v3/broker/delete-sub-apikey"),
                post("/api/v3/p2p/order-release"),
                post("/api/v3/copy/futures/transfer"),
                post("/api/v2/User/create-virtual-subaccount"),
                post("/api/v2/spot/wallet/Modify-Deposit-Account"),
                post("/api/v3/P2P/order-release"),
            ],
            &[
                get("/api/v2/spot/account/info"),
                post("/api/v2/spot/trade/place-order"),
                post("/api/v2/mix/order/place-order"),
            ],
        );
    }
}
