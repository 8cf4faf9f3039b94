//! Bybit v5: spot, USDT/USDC perpetuals and futures (`linear`), inverse contracts and options,
//! all on one host (`api.bybit.com`) under `/v5/`; the market type is the `category` parameter.
//!
//! Signing (HMAC keys): `X-BAPI-SIGN = hex(HMAC-SHA256(secret, timestamp + apiKey +
//! recvWindow + payload))`, where the payload is the query string exactly as sent (GET) or the raw JSON
//! body (POST). The key, timestamp and receive window travel in `X-BAPI-API-KEY`,
//! `X-BAPI-TIMESTAMP` and `X-BAPI-RECV-WINDOW`.
//! <https://bybit-exchange.github.io/docs/v5/guide#authentication>
//!
//! Everything the bot sends in its own auth headers (`X-BAPI-*`, ccxt's `Referer` broker id) is
//! dropped: keyward builds upstream headers from scratch.

#[cfg(test)]
mod leverage;
pub mod orders;
mod ws;

use super::permission::{self, KeyPermissions, Reading};

use super::profile::shipped;
use super::{plain_header, secret_header};

use super::common::{get_or_post_only, json_request, path_and_query};
use super::unix_millis;
use super::{Access, Exchange, Outbound, Route, Signing};
use crate::request::CanonicalRequest;
use crate::request::Refusal;

shipped!(Bybit, "bybit");

const HOST: &str = "api.bybit.com";
const KEY_HEADER: &str = "x-bapi-api-key";

impl Exchange for Bybit {
    fn read_permissions(&self, answer: &[u8], key_id: &str) -> Reading {
        permissions(answer, key_id)
    }

    fn route(&self, path: &str) -> Option<Route> {
        path.starts_with("/v5/").then(|| PROFILE.route(HOST, path))
    }

    fn check_request(&self, req: &CanonicalRequest) -> Result<(), Refusal> {
        get_or_post_only(req, "Bybit v5")
    }

    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::BybitWs)
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
        let query = req.query.encode();
        let path_and_query = path_and_query(&req.path, &query);
        let (body, mut headers) = json_request(&req.body, "Bybit v5 takes JSON bodies, not forms")?;
        if access != Access::Public {
            let timestamp = unix_millis(now).to_string();
            let window = credential.recv_window_ms.to_string();
            // GET signs the query string, POST the body; keyward never sends both.
            let payload = if body.is_empty() { &query } else { &body };
            let signature = hex::encode(credential.key.hmac_sha256(&[
                timestamp.as_bytes(),
                credential.api_key.expose(),
                window.as_bytes(),
                payload.as_bytes(),
            ])?);
            headers.push(secret_header(KEY_HEADER, credential.api_key.expose())?);
            headers.push(plain_header("x-bapi-timestamp", &timestamp));
            headers.push(plain_header("x-bapi-recv-window", &window));
            headers.push(secret_header("x-bapi-sign", signature.as_bytes())?);
        }
        Ok(Outbound::new(req, HOST, path_and_query, headers, body))
    }
}

/// `GET /v5/user/query-api`: `result.permissions.Wallet` lists `Withdraw` and the transfer
/// permissions (`AccountTransfer`, `SubMemberTransfer`, `SubMemberTransferList`); `result.ips`
/// is `["*"]` when the key is not IP-restricted.
/// <https://bybit-exchange.github.io/docs/v5/user/apikey-info>
fn permissions(answer: &[u8], _key_id: &str) -> Reading {
    let Some(v) = permission::json(answer).filter(|v| v.get("retCode") == Some(&0.into())) else {
        return Reading::Unreadable;
    };
    let Some(r) = v.get("result").filter(|r| r.is_object()) else {
        return Reading::Unreadable;
    };
    let wallet = r.pointer("/permissions/Wallet");
    Reading::Read(KeyPermissions {
        withdraw: permission::list_contains(wallet, &["Withdraw"]),
        transfer: permission::list_contains(
            wallet,
            &[
                "AccountTransfer",
                "SubMemberTransfer",
                "SubMemberTransferList",
            ],
        ),
        ip_restricted: permission::ip_list(r.get("ips")),
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
    use crate::request::Method;

    fn credential() -> Credential {
        testing::credential("XXXXXXXXXX", "YYYYYYYYYYYYYYYYYYYYYYYYYYYY", None)
    }

    // Expected signatures were produced offline with ccxt 4.5.90's own signer:
    //   ex = ccxt.bybit({'apiKey': 'XXXXXXXXXX', 'secret': 'YYYYYYYYYYYYYYYYYYYYYYYYYYYY'})
    //   ex.nonce = lambda: 1658385579423; ex.options['recvWindow'] = 5000
    //   ex.sign('v5/order/create', ['private'], 'POST', {...})['headers']['X-BAPI-SIGN']
    // (the GET case with params {'category': 'spot', 'symbol': 'BTCUSDT'}).
    #[test]
    fn signatures_match_ccxt() {
        let auth = |sign| {
            [
                ("x-bapi-api-key", "XXXXXXXXXX"),
                ("x-bapi-timestamp", "1658385579423"),
                ("x-bapi-recv-window", "5000"),
                ("x-bapi-sign", sign),
            ]
        };
        let body = r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.010","price":"30000.0"}"#;
        let sign = "f0ad61cd5c3eb7e34051b3d4bd6a418405f6e99b2256318beb57a4e770316505";
        let json = [("content-type", "application/json")];
        let sensitive = &["x-bapi-api-key", "x-bapi-sign"];
        let post = Vector {
            method: Method::Post,
            path: "/v5/order/create",
            query: None,
            body,
            at: at(1658385579423),
            target: "/v5/order/create",
            headers: &[&json[..], &auth(sign)].concat(),
            sensitive,
        };
        check_signed(&Bybit, &credential(), &post);
        let sign = "7e83baefb02895ad9dbfc0013c1a7bd5b64fedfbaaa25a66122347a35de500f5";
        let get = Vector {
            method: Method::Get,
            query: Some("category=spot&symbol=BTCUSDT"),
            body: "",
            target: "/v5/order/realtime?category=spot&symbol=BTCUSDT",
            path: "/v5/order/realtime",
            headers: &auth(sign),
            ..post
        };
        check_signed(&Bybit, &credential(), &get);
    }

    #[test]
    fn routes() {
        assert_routes(
            &Bybit,
            &[
                "/v5/market/tickers",
                "/v5/announcements/index",
                "/v5/spot-lever-token/info",
            ],
            &["/v5/order/create"],
            &["/spot/v3/private/order", "/V5/order/create"],
        );
    }

    #[test]
    fn only_get_and_post() {
        let req = canon(&Bybit, Method::Delete, "/v5/order/cancel", None, "");
        assert!(Bybit.check_request(&req).is_err());
        let req = canon(&Bybit, Method::Post, "/v5/order/cancel", None, "{}");
        assert!(Bybit.check_request(&req).is_ok());
    }

    #[test]
    fn hard_deny_list() {
        assert_hard_deny(
            &Bybit,
            &[
                post("/v5/asset/withdraw/create"),
                post("/v5/asset/withdraw/cancel"),
                get("/v5/asset/withdraw/query-record"),
                post("/v5/asset/transfer/inter-transfer"),
                post("/v5/asset/transfer/universal-transfer"),
                post("/v5/asset/transfer/save-transfer-sub-member"),
                post("/v5/asset/deposit/deposit-to-account"),
                get("/v5/asset/deposit/query-sub-member-address"),
                post("/v5/user/create-sub-member"),
                post("/v5/user/create-sub-api"),
                post("/v5/user/update-api"),
                post("/v5/user/update-sub-api"),
                post("/v5/user/delete-api"),
                post("/v5/user/delete-sub-api"),
                post("/v5/user/frozen-sub-member"),
                post("/v5/user/del-submember"),
                get("/v5/user/sub-apikeys"),
                post("/v5/user/some-future-endpoint"),
                post("/v5/broker/award/distribute-award"),
                post("/v5/p2p/order/finish"),
                post("/v5/apilimit/set"),
                post("/v5/User/Create-Sub-Api"),
                post("/v5/ASSET/WITHDRAW/create"),
                post("/v5/Broker/award/distribute-award"),
            ],
            &[
                get("/v5/user/query-api"),
                post("/v5/order/create"),
                get("/v5/account/wallet-balance"),
            ],
        );
    }
}
