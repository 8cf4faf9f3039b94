//! Each exchange's budgets as its profile has them, against the numbers of its own
//! documentation (the URL is cited beside each), and how requests are charged to them.

use crate::exchange::lookup;
use crate::request::{parse_params, Body};

use super::*;

fn request(method: Method, path: &str, query: &str) -> CanonicalRequest {
    CanonicalRequest {
        method,
        path: path.to_owned(),
        query: parse_params(query, "query").unwrap(),
        body: Body::Empty,
    }
}

fn weights(exchange: &str) -> &'static Weights {
    lookup(exchange).unwrap().profile().weights.unwrap()
}

fn budget(exchange: &str, name: &str) -> &'static Budget {
    let w = weights(exchange);
    w.budgets
        .iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| {
            let names: Vec<_> = w.budgets.iter().map(|b| b.name).collect();
            panic!("{exchange} has no budget {name:?}: {names:?}")
        })
}

/// `(budget name, endpoint index, weight)` of each budget `req` is charged to.
fn charges(
    exchange: &str,
    method: Method,
    path: &str,
    query: &str,
) -> Vec<(&'static str, Option<usize>, u32)> {
    let w = weights(exchange);
    let req = request(method, path, query);
    // Sent as keyward would send it: unsigned where the exchange's route is public.
    let access = lookup(exchange).unwrap().route(path).unwrap().access;
    w.charges(&req, access)
        .map(|c| (w.budgets[c.budget].name, c.endpoint, c.weight))
        .collect()
}

fn window(count: u32, secs: u64) -> Limit {
    Limit::Window(Rate {
        count,
        per: std::time::Duration::from_secs(secs),
    })
}

#[test]
fn binance_spot_weights_from_its_profile() {
    // https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits (6000/min/IP)
    let spot = budget("binance", "spot request weight");
    assert_eq!((spot.limit(0), spot.scope), (window(6000, 60), Scope::Ip));
    let of = |path: &str, query: &str| {
        let c = charges("binance", Method::Get, path, query);
        c.iter()
            .find(|(n, _, _)| *n == "spot request weight")
            .map(|&(_, _, w)| w)
    };
    assert_eq!(of("/api/v3/depth", "symbol=BTCUSDT"), Some(5));
    assert_eq!(of("/api/v3/depth", "symbol=BTCUSDT&limit=500"), Some(25));
    assert_eq!(of("/api/v3/depth", "symbol=BTCUSDT&limit=501"), Some(50));
    assert_eq!(of("/api/v3/depth", "symbol=BTCUSDT&limit=5000"), Some(250));
    assert_eq!(of("/api/v3/allOrders", "symbol=BTCUSDT"), Some(20));
    assert_eq!(of("/api/v3/account", ""), Some(20));
    assert_eq!(of("/api/v3/openOrders", "symbol=BTCUSDT"), Some(6));
    assert_eq!(of("/api/v3/openOrders", ""), Some(80));
    assert_eq!(of("/api/v3/ticker/24hr", ""), Some(80));
    assert_eq!(of("/api/v3/ping", ""), Some(1));
    // USD-M futures and SAPI have budgets of their own: not counted here.
    assert_eq!(of("/fapi/v1/depth", "symbol=BTCUSDT"), None);
    assert_eq!(of("/sapi/v1/account/apiRestrictions", ""), None);
}

#[test]
fn binance_usdm_futures_weight_and_order_counts() {
    // https://www.binance.com/en/support/faq/rate-limits-on-binance-futures-281596e222414cdd9051664ea621cdc3:
    // 2,400/min per IP, 1,200 orders/min per account, and 300/10s.
    let ip = budget("binance", "USD-M futures request weight");
    assert_eq!((ip.limit(0), ip.scope), (window(2400, 60), Scope::Ip));
    let minute = budget("binance", "USD-M futures orders per minute");
    assert_eq!(
        (minute.limit(0), minute.scope),
        (window(1200, 60), Scope::Key)
    );
    let ten = budget("binance", "USD-M futures orders per 10 s");
    assert_eq!(ten.limit(0), window(300, 10));
    // https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Order-Book:
    // 5-50 → 2, 100 → 5, 500 → 10, 1000 → 20; the default limit is 500.
    for (query, weight) in [
        ("limit=5", 2),
        ("limit=50", 2),
        ("limit=100", 5),
        ("", 10),
        ("limit=1000", 20),
    ] {
        let q = match query {
            "" => "symbol=BTCUSDT".to_owned(),
            q => format!("symbol=BTCUSDT&{q}"),
        };
        assert_eq!(
            charges("binance", Method::Get, "/fapi/v1/depth", &q),
            [("USD-M futures request weight", None, weight)],
            "{query}"
        );
    }
    // An order counts against the IP's weight and both of the account's order counts.
    let order = charges("binance", Method::Post, "/fapi/v1/order", "");
    let names: Vec<_> = order.iter().map(|c| c.0).collect();
    assert_eq!(
        names,
        [
            "USD-M futures request weight",
            "USD-M futures orders per minute",
            "USD-M futures orders per 10 s"
        ]
    );
}

#[test]
fn a_window_is_kept_as_half_burst_half_refill_and_a_counter_as_it_is() {
    assert_eq!(window(6000, 60).bucket(), (3000.0, 50.0));
    assert_eq!(window(1, 1).bucket(), (1.0, 1.0));
    assert_eq!(
        Limit::Counter {
            max: 15,
            decay: 0.33
        }
        .bucket(),
        (15.0, 0.33)
    );
    assert_eq!(window(60, 2).to_string(), "60/2s");
    assert_eq!(
        Limit::Counter {
            max: 20,
            decay: 0.5
        }
        .to_string(),
        "a counter of 20 decaying 0.5/s"
    );
}

#[test]
fn kraken_api_counter_by_tier() {
    // https://docs.kraken.com/api/docs/guides/spot-rest-ratelimits: Starter 15 / -0.33 s⁻¹,
    // Intermediate 20 / -0.5, Pro 20 / -1; ledger and trade history +2, other calls +1, per key;
    // AddOrder and CancelOrder on the trading engine's own limiter.
    let w = weights("kraken");
    assert_eq!(w.tiers, ["starter", "intermediate", "pro"]);
    let counter = budget("kraken", "REST API counter");
    assert_eq!(counter.scope, Scope::Key);
    let tiers: Vec<_> = ["starter", "intermediate", "pro"]
        .iter()
        .map(|t| counter.limit(w.tier(t).unwrap()))
        .collect();
    assert_eq!(
        tiers,
        [
            Limit::Counter {
                max: 15,
                decay: 0.33
            },
            Limit::Counter {
                max: 20,
                decay: 0.5
            },
            Limit::Counter {
                max: 20,
                decay: 1.0
            }
        ]
    );
    let weight = |path: &str| -> Vec<u32> {
        charges("kraken", Method::Post, path, "")
            .iter()
            .map(|c| c.2)
            .collect()
    };
    assert_eq!(weight("/0/private/Balance"), [1]);
    assert_eq!(weight("/0/private/OpenOrders"), [1]);
    assert_eq!(weight("/0/private/Ledgers"), [2]);
    assert_eq!(weight("/0/private/QueryLedgers"), [2]);
    assert_eq!(weight("/0/private/TradesHistory"), [2]);
    assert_eq!(weight("/0/private/QueryTrades"), [2]);
    assert_eq!(weight("/0/private/AddOrder"), Vec::<u32>::new());
    assert_eq!(weight("/0/private/CancelOrder"), Vec::<u32>::new());
    assert_eq!(weight("/0/public/Ticker"), Vec::<u32>::new());
}

#[test]
fn deribit_non_matching_engine_credits() {
    // https://support.deribit.com/hc/en-us/articles/25944617523357-Rate-Limits: 500 credits a
    // request, at most 50,000, refilled at 10,000 a second, per sub-account; matching-engine
    // requests are not counted against it.
    let credits = budget("deribit", "non-matching-engine credits");
    assert_eq!(
        (credits.limit(0), credits.scope),
        (
            Limit::Counter {
                max: 50_000,
                decay: 10_000.0
            },
            Scope::Key
        )
    );
    let c = |m, path| charges("deribit", m, path, "");
    assert_eq!(
        c(Method::Get, "/api/v2/private/get_account_summary"),
        [("non-matching-engine credits", None, 500)]
    );
    for path in [
        "/api/v2/private/buy",
        "/api/v2/private/sell",
        "/api/v2/private/cancel_all",
    ] {
        for m in [Method::Get, Method::Post] {
            assert!(
                c(m, path)
                    .iter()
                    .all(|b| b.0 != "non-matching-engine credits"),
                "{path}"
            );
        }
    }
    assert!(c(Method::Get, "/api/v2/public/ticker").is_empty());
    // 100 requests at once, 20 a second after.
    assert_eq!(credits.limit(0).bucket(), (50_000.0, 10_000.0));
}

#[test]
fn deribit_matching_engine_requests_by_tier() {
    // https://support.deribit.com/hc/en-us/articles/25944617523357-Rate-Limits, "Matching
    // Engine Requests": per sub-account, Tier 1 (7-day volume over USD 25 million) 30 a second
    // with bursts of 100, Tier 2 (over USD 5 million) 20 a second with bursts of 50; lower
    // tiers are counted at Tier 2's figures (the default).
    let w = weights("deribit");
    let me = budget("deribit", "matching-engine requests");
    let counter = |max, decay| Limit::Counter { max, decay };
    assert_eq!((me.limit(0), me.scope), (counter(50, 20.0), Scope::Key));
    assert_eq!(w.tier("tier2"), Some(0));
    assert_eq!(me.limit(w.tier("tier1").unwrap()), counter(100, 30.0));
    assert_eq!(w.tier("tier3"), None);
    let c = |m, path| charges("deribit", m, path, "");
    // Every matching-engine request counts 1 against this budget and nothing against the
    // non-matching-engine credits; every other private request the other way round.
    for path in [
        "/api/v2/private/buy",
        "/api/v2/private/sell",
        "/api/v2/private/edit",
        "/api/v2/private/cancel",
        "/api/v2/private/cancel_all",
        "/api/v2/private/cancel_all_by_instrument",
        "/api/v2/private/cancel_all_by_currency",
        "/api/v2/private/cancel_by_label",
        "/api/v2/private/close_position",
        "/api/v2/private/verify_block_trade",
        "/api/v2/private/execute_block_trade",
    ] {
        for m in [Method::Get, Method::Post] {
            assert_eq!(
                c(m, path),
                [("matching-engine requests", None, 1)],
                "{path}"
            );
        }
    }
    assert_eq!(
        c(Method::Get, "/api/v2/private/get_positions"),
        [("non-matching-engine credits", None, 500)]
    );
}

#[test]
fn bybit_ip_limit_and_per_endpoint_order_limits() {
    // https://bybit-exchange.github.io/docs/v5/rate-limit: 600 in 5 s per IP; per UID and
    // endpoint 10/s for order create, amend and cancel (derivatives; spot allows 20).
    let ip = budget("bybit", "HTTP IP limit");
    assert_eq!((ip.limit(0), ip.scope), (window(600, 5), Scope::Ip));
    let orders = budget("bybit", "per-endpoint order limit");
    assert_eq!(
        (orders.limit(0), orders.scope, orders.each),
        (window(10, 1), Scope::Key, true)
    );
    let create = charges("bybit", Method::Post, "/v5/order/create", "");
    let amend = charges("bybit", Method::Post, "/v5/order/amend", "");
    assert_eq!(create[0], ("HTTP IP limit", None, 1));
    assert_eq!(create[1].0, "per-endpoint order limit");
    // Each endpoint has a budget of its own.
    assert!(create[1].1.is_some() && amend[1].1.is_some() && create[1].1 != amend[1].1);
    assert_eq!(
        charges("bybit", Method::Get, "/v5/account/wallet-balance", ""),
        [("HTTP IP limit", None, 1)]
    );
}

#[test]
fn okx_bitget_gate_bitmex_and_kucoin_budgets() {
    // https://www.okx.com/help/fill-ratio-sub-account-rate-limit: 1,000 order requests / 2 s.
    let okx = budget("okx", "sub-account order rate");
    assert_eq!((okx.limit(0), okx.scope), (window(1000, 2), Scope::Key));
    assert_eq!(
        charges("okx", Method::Post, "/api/v5/trade/order", "").len(),
        1
    );
    assert!(charges("okx", Method::Get, "/api/v5/account/balance", "").is_empty());
    // https://www.bitget.com/api-doc/spot/trade/Place-Order: 10 times/1s (UID).
    assert_eq!(
        budget("bitget", "place-order frequency limit").limit(0),
        window(10, 1)
    );
    // https://www.bitget.com/api-doc/spot/trade/Batch-Place-Orders: 5 times/1s (UID).
    assert_eq!(
        budget("bitget", "batch-order frequency limit").limit(0),
        window(5, 1)
    );
    // https://www.gate.io/announcements/article/33995: 200 requests / 10 s per endpoint.
    let gate = budget("gate", "private endpoint limit");
    assert_eq!((gate.limit(0), gate.each), (window(200, 10), true));
    assert_eq!(
        charges("gate", Method::Get, "/api/v4/spot/orders/12345", "").len(),
        1,
        "a templated path matches its endpoint"
    );
    // https://www.bitmex.com/app/restAPI#Request-Rate-Limits: 120 a minute, a token bucket.
    assert_eq!(
        budget("bitmex", "request rate limit").limit(0),
        Limit::Counter {
            max: 120,
            decay: 2.0
        }
    );
    assert_eq!(
        charges("bitmex", Method::Post, "/api/v1/order", "").len(),
        2
    );
    // https://www.kucoin.com/docs-new/rate-limit: Spot 4000/30s at VIP0 ... 40000/30s at VIP12.
    let w = weights("kucoin");
    let spot = budget("kucoin", "Spot resource pool");
    assert_eq!(spot.limit(0), window(4000, 30));
    assert_eq!(spot.limit(w.tier("vip5").unwrap()), window(16_000, 30));
    assert_eq!(spot.limit(w.tier("vip12").unwrap()), window(40_000, 30));
    let futures = budget("kucoin", "Futures resource pool");
    assert_eq!(futures.limit(w.tier("vip2").unwrap()), window(4000, 30));
    assert_eq!(
        charges("kucoin", Method::Post, "/futures/api/v1/orders", ""),
        [("Futures resource pool", None, 1)]
    );
}

#[test]
fn coinbase_private_public_and_app_budgets() {
    // https://docs.cdp.coinbase.com/advanced-trade/docs/rest-api-rate-limits: private 30/s per
    // user, public 10/s per IP; coinbase-app/api-architecture/rate-limiting: 10,000/h per key.
    let private = budget("coinbase", "Advanced Trade private endpoints");
    assert_eq!(
        (private.limit(0), private.scope),
        (window(30, 1), Scope::Key)
    );
    let public = budget("coinbase", "Advanced Trade public endpoints");
    assert_eq!((public.limit(0), public.scope), (window(10, 1), Scope::Ip));
    let app = budget("coinbase", "Coinbase App API rate limit");
    assert_eq!(
        (app.limit(0), app.scope),
        (window(10_000, 3600), Scope::Key)
    );
    assert_eq!(
        charges("coinbase", Method::Post, "/api/v3/brokerage/orders", ""),
        [("Advanced Trade private endpoints", None, 1)]
    );
    // A public market path is the IP's, not the key's, templated segment and all.
    assert_eq!(
        charges(
            "coinbase",
            Method::Get,
            "/api/v3/brokerage/market/products/BTC-USD/ticker",
            ""
        ),
        [("Advanced Trade public endpoints", None, 1)]
    );
    // The authenticated product endpoints are private, though they read the same data.
    assert_eq!(
        charges(
            "coinbase",
            Method::Get,
            "/api/v3/brokerage/products/BTC-USD",
            ""
        ),
        [("Advanced Trade private endpoints", None, 1)]
    );
    assert_eq!(
        charges("coinbase", Method::Get, "/v2/accounts", ""),
        [("Coinbase App API rate limit", None, 1)]
    );
    assert!(charges("coinbase", Method::Get, "/v2/prices/BTC-USD/spot", "").is_empty());
}

#[test]
fn alpaca_trading_and_market_data_budgets_by_plan() {
    // https://alpaca.markets/support/usage-limit-api-calls/: 200 requests a minute per account.
    let trading = budget("alpaca", "Trading API rate limit");
    assert_eq!(
        (trading.limit(0), trading.scope),
        (window(200, 60), Scope::Key)
    );
    // https://docs.alpaca.markets/docs/about-market-data-api: historical API calls 200/min on
    // Free, 10,000/min on Algo Trader Plus; the trading limit is the same on both.
    let w = weights("alpaca");
    let plus = w.tier("algo_trader_plus").unwrap();
    let data = budget("alpaca", "Market Data historical API calls");
    assert_eq!(data.limit(0), window(200, 60));
    assert_eq!(data.limit(plus), window(10_000, 60));
    assert_eq!(trading.limit(plus), window(200, 60));
    assert_eq!(
        charges("alpaca", Method::Post, "/trading/v2/orders", ""),
        [("Trading API rate limit", None, 1)]
    );
    assert_eq!(
        charges("alpaca", Method::Get, "/data/v2/stocks/AAPL/bars", ""),
        [("Market Data historical API calls", None, 1)]
    );
    // Crypto data goes unsigned, so it is not the account's.
    assert!(charges(
        "alpaca",
        Method::Get,
        "/data/v1beta3/crypto/us/latest/quotes",
        ""
    )
    .is_empty());
}

#[test]
fn a_request_sent_unsigned_counts_against_no_keys_budget() {
    // KuCoin's Spot pool is per UID and covers every `/api/` request; its public market data
    // (here the symbol list) goes unsigned, so KuCoin counts it per IP, not against the UID.
    let symbols = request(Method::Get, "/api/v2/symbols", "");
    let w = weights("kucoin");
    assert_eq!(w.charges(&symbols, Access::Signed).count(), 1);
    assert_eq!(w.charges(&symbols, Access::Public).count(), 0);
    // An IP budget counts a public request as it counts a signed one.
    let book = request(Method::Get, "/api/v3/brokerage/market/products", "");
    let cb = weights("coinbase");
    let names = |access| {
        cb.charges(&book, access)
            .map(|c| cb.budgets[c.budget].name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(Access::Public), ["Advanced Trade public endpoints"]);
    assert_eq!(
        names(Access::Signed),
        [
            "Advanced Trade private endpoints",
            "Advanced Trade public endpoints"
        ]
    );
}
