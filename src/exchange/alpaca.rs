//! Alpaca: the Trading API (`api.alpaca.markets`, or `paper-api.alpaca.markets` for paper keys)
//! and the Market Data API (`data.alpaca.markets`).
//!
//! Both hosts use `/v2/...` paths, so keyward gives each host a path prefix of its own, removed
//! before forwarding: `/trading/...` goes to the trading host, `/data/...` to the data host
//! (a bot sets its trading base URL to `http://KEYWARD/<credential>/trading` and its data base URL
//! to `http://KEYWARD/<credential>/data`).
//!
//! No signature: every authenticated request carries `APCA-API-KEY-ID` and
//! `APCA-API-SECRET-KEY` (<https://docs.alpaca.markets/docs/authentication>), which keyward
//! injects from the credential. The bot's client token arrives in `APCA-API-KEY-ID` (or
//! `Authorization: Bearer`); its `APCA-API-SECRET-KEY` is dropped with every other bot header.
//!
//! Paper-trading keys (key ids starting `PK`) are sent to `paper-api.alpaca.markets`, live keys
//! to `api.alpaca.markets`; the data host is the same for both.

pub mod orders;
use super::secret_header;

use http::{HeaderName, HeaderValue};

use super::common::{json_request, path_and_query};
use super::environment::Environment;
use super::profile::shipped;
use super::{Access, Exchange, Outbound, Route, Signing};
use crate::request::CanonicalRequest;
use crate::request::Refusal;

shipped!(Alpaca, "alpaca");

pub const TRADING_HOST: &str = "api.alpaca.markets";
pub const PAPER_HOST: &str = "paper-api.alpaca.markets";
pub const DATA_HOST: &str = "data.alpaca.markets";

const KEY_HEADER: &str = "apca-api-key-id";
const SECRET_HEADER: &str = "apca-api-secret-key";

/// Which host a keyward path is for, and the path Alpaca sees (prefix removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Trading,
    Data,
}

fn split(path: &str) -> Option<(Api, &str)> {
    let (api, rest) = if let Some(rest) = path.strip_prefix("/trading") {
        (Api::Trading, rest)
    } else {
        (Api::Data, path.strip_prefix("/data")?)
    };
    // `/trading` alone, or `/tradingfoo`, is not an API path.
    (rest.starts_with('/') && rest.len() > 1).then_some((api, rest))
}

/// Alpaca paper-trading key ids start with `PK`; live ones with `AK`.
fn is_paper_key(key: &[u8]) -> bool {
    key.starts_with(b"PK")
}

impl Exchange for Alpaca {
    fn key_environment(&self, api_key: &[u8]) -> Option<Environment> {
        Some(if is_paper_key(api_key) {
            Environment::Demo
        } else {
            Environment::Live
        })
    }

    fn key_environment_hint(&self) -> &'static str {
        "Alpaca paper key ids start with PK, live ones with AK"
    }

    fn route(&self, path: &str) -> Option<Route> {
        let host = match split(path)?.0 {
            Api::Trading => TRADING_HOST,
            Api::Data => DATA_HOST,
        };
        Some(PROFILE.route(host, path))
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential) = (with.access, with.credential);
        let (api, upstream_path) =
            split(&req.path).ok_or_else(|| Refusal::not_found("not an Alpaca API path"))?;
        let host = match api {
            Api::Data => DATA_HOST,
            Api::Trading if is_paper_key(credential.api_key.expose()) => PAPER_HOST,
            Api::Trading => TRADING_HOST,
        };
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if access != Access::Public {
            headers.push(secret_header(KEY_HEADER, credential.api_key.expose())?);
            // Alpaca takes the secret itself as a header: only a key held in host memory can.
            headers.push(secret_header(
                SECRET_HEADER,
                credential.key.reveal()?.expose(),
            )?);
        }
        let path_and_query = path_and_query(upstream_path, &req.query.encode());
        let (body, content_type) = json_request(&req.body, "Alpaca takes JSON bodies")?;
        headers.extend(content_type);
        Ok(Outbound::new(req, host, path_and_query, headers, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::profile::{delete, get, patch, post, put};
    use crate::exchange::testing::{self, assert_hard_deny, assert_routes, canon, header_value};
    use crate::exchange::Credential;
    use crate::exchange::Signing;
    use crate::exchange::{hard_deny, path_matches};
    use crate::request::{canonicalise, Method};
    use bytes::Bytes;
    use std::time::SystemTime;

    use http::{header, HeaderMap};

    fn credential(key: &str) -> Credential {
        testing::credential(key, "real-secret-key", None)
    }

    #[test]
    fn keys_injected_prefix_removed_numbers_kept() {
        let body = r#"{"symbol":"BTC/USD","qty":"0.0100","side":"buy","type":"limit","time_in_force":"gtc","limit_price":30000.0}"#;
        let req = canon(&Alpaca, Method::Post, "/trading/v2/orders", None, body);
        let out = Alpaca
            .sign(
                &req,
                Signing::new(Access::Signed, &credential("AKLIVE123"), SystemTime::now()),
            )
            .unwrap();
        assert_eq!(out.host, TRADING_HOST);
        assert_eq!(out.path_and_query, "/v2/orders");
        assert_eq!(out.body, Bytes::from(body));
        let id = header_value(&out, KEY_HEADER).unwrap();
        let secret = header_value(&out, SECRET_HEADER).unwrap();
        assert_eq!(id.as_bytes(), b"AKLIVE123");
        assert_eq!(secret.as_bytes(), b"real-secret-key");
        assert!(id.is_sensitive() && secret.is_sensitive());
        assert_eq!(
            header_value(&out, "content-type").unwrap().as_bytes(),
            b"application/json"
        );
    }

    #[test]
    fn replace_order_is_a_keyed_patch() {
        // ccxt's edit_order: PATCH /v2/orders/{order_id} with a JSON body.
        let body =
            r#"{"qty":"0.02","limit_price":"31000","time_in_force":"gtc","client_order_id":"x-1"}"#;
        let req = canon(
            &Alpaca,
            Method::Patch,
            "/trading/v2/orders/61e69015",
            None,
            body,
        );
        let out = Alpaca
            .sign(
                &req,
                Signing::new(Access::Signed, &credential("PKPAPER1"), SystemTime::now()),
            )
            .unwrap();
        assert_eq!(out.method, Method::Patch);
        assert_eq!(out.host, PAPER_HOST);
        assert_eq!(out.path_and_query, "/v2/orders/61e69015");
        assert_eq!(out.body, Bytes::from(body));
        assert_eq!(
            header_value(&out, KEY_HEADER).unwrap().as_bytes(),
            b"PKPAPER1"
        );
        assert_eq!(
            header_value(&out, SECRET_HEADER).unwrap().as_bytes(),
            b"real-secret-key"
        );
        assert_eq!(
            header_value(&out, "content-type").unwrap().as_bytes(),
            b"application/json"
        );
        // Alpaca takes no query string beside a body.
        assert!(canonicalise(
            Method::Patch,
            "/trading/v2/orders/61e69015",
            Some("qty=1"),
            Some("application/json"),
            body.as_bytes(),
            &Alpaca.canon_rules()
        )
        .is_err());
    }

    #[test]
    fn order_by_client_id_keeps_its_colon() {
        let path = "/trading/v2/orders:by_client_order_id";
        assert_eq!(Alpaca.route(path).unwrap().access, Access::Signed);
        assert!(Alpaca
            .preset("read")
            .unwrap()
            .contains(&(Method::Get, path)));
        let req = canon(&Alpaca, Method::Get, path, Some("client_order_id=x-1"), "");
        let out = Alpaca
            .sign(
                &req,
                Signing::new(Access::Signed, &credential("AK1"), SystemTime::now()),
            )
            .unwrap();
        assert_eq!(
            out.path_and_query,
            "/v2/orders:by_client_order_id?client_order_id=x-1"
        );
        // `{order_id}` never matches a segment with ':' (a custom method upstream).
        let read = Alpaca.preset("read").unwrap();
        let trade = Alpaca.preset("trade").unwrap();
        for (m, p) in [
            get("/trading/v2/orders/abc:cancel"),
            delete("/trading/v2/orders/abc:cancel"),
            patch("/trading/v2/orders/abc:x"),
            get("/trading/v2/orders:by_client_order_id:x"),
            get("/trading/v2/orders:BY_CLIENT_ORDER_ID"),
        ] {
            assert!(
                !read
                    .iter()
                    .chain(trade)
                    .any(|(rm, rp)| *rm == m && path_matches(rp, p)),
                "{m} {p}"
            );
        }
    }

    #[test]
    fn hosts() {
        let paper = credential("PKPAPER123");
        let live = credential("AKLIVE123");
        let trading = canon(&Alpaca, Method::Get, "/trading/v2/account", None, "");
        let data = canon(
            &Alpaca,
            Method::Get,
            "/data/v2/stocks/bars",
            Some("symbols=AAPL&timeframe=1Min"),
            "",
        );
        let now = SystemTime::now();
        assert_eq!(
            Alpaca
                .sign(&trading, Signing::new(Access::Signed, &paper, now))
                .unwrap()
                .host,
            PAPER_HOST
        );
        assert_eq!(
            Alpaca
                .sign(&trading, Signing::new(Access::Signed, &live, now))
                .unwrap()
                .host,
            TRADING_HOST
        );
        let out = Alpaca
            .sign(&data, Signing::new(Access::Signed, &paper, now))
            .unwrap();
        assert_eq!(out.host, DATA_HOST);
        assert_eq!(
            out.path_and_query,
            "/v2/stocks/bars?symbols=AAPL&timeframe=1Min"
        );
        for bad in [
            "/v2/account",
            "/trading",
            "/trading/",
            "/tradingx/v2/account",
            "/datax/v2",
        ] {
            assert!(Alpaca.route(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn stock_data_needs_the_key() {
        assert_routes(&Alpaca, &[], &["/data/v2/stocks/bars"], &[]);
    }

    #[test]
    fn client_token_from_key_id_header() {
        let mut h = HeaderMap::new();
        h.insert(KEY_HEADER, HeaderValue::from_static("kwt_abc"));
        h.insert(SECRET_HEADER, HeaderValue::from_static("dummy"));
        assert_eq!(Alpaca.client_token(&h).unwrap(), Some(b"kwt_abc".to_vec()));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer kwt_other"),
        );
        assert!(Alpaca.client_token(&h).is_err());
    }

    #[test]
    fn hard_deny_list() {
        assert_hard_deny(
            &Alpaca,
            &[
                post("/trading/v2/wallets/transfers"),
                get("/trading/v2/wallets/transfers"),
                post("/trading/v2/wallets/whitelists"),
                delete("/trading/v2/wallets/whitelists/abc"),
                post("/trading/v2/tokenization/requests"),
                put("/trading/v2/account/configurations"),
                patch("/trading/v2/account/configurations"),
                patch("/trading/v2/Account/Configurations"),
                patch("/trading/v2/wallets/whitelists/abc/travel-rule-info"),
                post("/trading/v1/journals"),
                post("/trading/v2/new/withdrawals"),
                post("/trading/v2/Wallets/Whitelists"),
                post("/TRADING/V2/TOKENIZATION/requests"),
            ],
            &[
                post("/trading/v2/orders"),
                get("/trading/v2/account/configurations"),
                get("/trading/v2/wallets"),
            ],
        );
        // Every method that can change something, including PATCH (Alpaca's own verb for it).
        for m in Alpaca.methods().iter().filter(|m| **m != Method::Get) {
            assert!(
                hard_deny(&Alpaca, *m, "/trading/v2/account/configurations").is_some(),
                "{m}"
            );
        }
    }
}
