use http::{HeaderMap, HeaderValue};

use super::*;
use crate::exchange::{lookup, Outbound};
use crate::request::Method;

fn demo_of(id: &str) -> &'static Demo {
    lookup(id)
        .unwrap()
        .profile()
        .demo
        .unwrap_or_else(|| panic!("{id} has a [demo]"))
}

fn outbound(host: &'static str, path: &str) -> Outbound {
    Outbound {
        method: Method::Get,
        host,
        path_and_query: path.to_owned(),
        headers: Vec::new(),
        body: Default::default(),
    }
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_static(v));
    }
    h
}

fn marker(id: &str, env: Environment, h: &HeaderMap) -> Result<(), Refusal> {
    check_marker(id, lookup(id).unwrap().profile().demo, "main", env, h)
}

#[test]
fn a_demo_marked_request_is_refused_for_a_live_credential_and_passes_for_a_demo_one() {
    for (id, header) in [("okx", "x-simulated-trading"), ("bitget", "paptrading")] {
        let demo = headers(&[(header, "1")]);
        let err = marker(id, Environment::Live, &demo).unwrap_err();
        assert_eq!(err.code, "environment_mismatch", "{id}");
        assert_eq!(err.kind, RefusalKind::Forbidden);
        assert!(
            err.message
                .contains("never signs a demo request with a live key"),
            "{}",
            err.message
        );
        assert!(err.message.contains(header), "{}", err.message);
        marker(id, Environment::Demo, &demo).unwrap();
        // Explicitly live, to a demo credential: refused too.
        let live = headers(&[(header, "0")]);
        assert_eq!(
            marker(id, Environment::Demo, &live).unwrap_err().code,
            "environment_mismatch"
        );
        marker(id, Environment::Live, &live).unwrap();
        // No marker: the credential's environment decides.
        marker(id, Environment::Live, &HeaderMap::new()).unwrap();
        marker(id, Environment::Demo, &HeaderMap::new()).unwrap();
    }
}

#[test]
fn a_marker_keyward_cannot_read_is_refused_never_guessed() {
    // Another spelling of the value, a repeated header, a list: which environment is meant
    // cannot be told, so the request is refused whatever the credential is.
    for h in [
        headers(&[("x-simulated-trading", "true")]),
        headers(&[("x-simulated-trading", "")]),
        headers(&[("x-simulated-trading", "1, 0")]),
        headers(&[("x-simulated-trading", "0"), ("x-simulated-trading", "1")]),
        headers(&[("X-Simulated-Trading", "01")]),
    ] {
        for env in [Environment::Live, Environment::Demo] {
            let err = marker("okx", env, &h).unwrap_err();
            assert_eq!(err.code, "bad_environment_marker", "{h:?}");
            assert_eq!(err.kind, RefusalKind::BadRequest);
        }
    }
    // Surrounding whitespace is not another value.
    marker(
        "okx",
        Environment::Demo,
        &headers(&[("x-simulated-trading", " 1 ")]),
    )
    .unwrap();
}

#[test]
fn exchanges_without_a_marker_ignore_the_header_names_of_others() {
    let h = headers(&[("x-simulated-trading", "1"), ("paptrading", "1")]);
    for id in ["binance", "bybit", "kraken", "coinbase"] {
        marker(id, Environment::Live, &h).unwrap();
    }
}

#[test]
fn a_demo_credential_goes_to_the_demo_host_and_a_live_one_is_untouched() {
    let cases = [
        (
            "binance",
            "api.binance.com",
            "/api/v3/order",
            "demo-api.binance.com",
        ),
        (
            "bybit",
            "api.bybit.com",
            "/v5/order/create",
            "api-demo.bybit.com",
        ),
        ("okx", "www.okx.com", "/api/v5/trade/order", "www.okx.com"),
        (
            "bitget",
            "api.bitget.com",
            "/api/v2/spot/trade/place-order",
            "api.bitget.com",
        ),
        (
            "bitmex",
            "www.bitmex.com",
            "/api/v1/order",
            "testnet.bitmex.com",
        ),
        (
            "deribit",
            "www.deribit.com",
            "/api/v2/private/buy",
            "test.deribit.com",
        ),
        (
            "alpaca",
            "api.alpaca.markets",
            "/v2/orders",
            "paper-api.alpaca.markets",
        ),
        // Alpaca's market data is one service for both.
        (
            "alpaca",
            "data.alpaca.markets",
            "/v2/stocks/bars",
            "data.alpaca.markets",
        ),
    ];
    for (id, host, path, to) in cases {
        let d = lookup(id).unwrap().profile().demo;
        let mut out = outbound(host, path);
        apply(id, d, Environment::Live, Access::Signed, &mut out).unwrap();
        assert_eq!(out.host, host, "{id}: live is untouched");
        assert!(out.headers.is_empty());
        apply(id, d, Environment::Demo, Access::Signed, &mut out).unwrap();
        assert_eq!(out.host, to, "{id} {host}{path}");
    }
}

#[test]
fn the_demo_header_is_added_where_the_exchange_marks_demo_by_header() {
    let mut out = outbound("www.okx.com", "/api/v5/market/ticker");
    let d = Some(demo_of("okx"));
    apply("okx", d, Environment::Demo, Access::Public, &mut out).unwrap();
    assert_eq!(out.headers.len(), 1);
    assert_eq!(out.headers[0].0, "x-simulated-trading");
    assert_eq!(out.headers[0].1, "1");
    // Bitget refuses its header on public market data: only signed requests carry it.
    let d = Some(demo_of("bitget"));
    let mut public = outbound("api.bitget.com", "/api/v2/spot/market/tickers");
    apply("bitget", d, Environment::Demo, Access::Public, &mut public).unwrap();
    assert!(public.headers.is_empty());
    let mut signed = outbound("api.bitget.com", "/api/v2/spot/account/assets");
    apply("bitget", d, Environment::Demo, Access::Signed, &mut signed).unwrap();
    assert_eq!(signed.headers[0].0, "paptrading");
}

#[test]
fn a_host_the_demo_has_no_equivalent_for_is_refused_never_sent_live() {
    // Binance's demo mode covers the spot API only: wallet (sapi) and futures are not in it.
    for (host, path) in [
        ("api.binance.com", "/sapi/v1/account/apiRestrictions"),
        ("fapi.binance.com", "/fapi/v1/order"),
    ] {
        let mut out = outbound(host, path);
        let err = apply(
            "binance",
            Some(demo_of("binance")),
            Environment::Demo,
            Access::Signed,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err.code, "not_in_demo", "{host}{path}");
        assert_eq!(out.host, host, "the outbound is not redirected");
    }
    // Exchanges without a demo keyward knows refuse a demo credential outright.
    let mut out = outbound("api.kraken.com", "/0/private/Balance");
    let err = apply("kraken", None, Environment::Demo, Access::Signed, &mut out).unwrap_err();
    assert_eq!(err.code, "no_demo_environment");
}

#[test]
fn websocket_hosts_map_by_path_and_unsupported_demo_sockets_are_refused() {
    let bybit = Some(demo_of("bybit"));
    let ws = |path| {
        ws_authority(
            "bybit",
            bybit,
            Environment::Demo,
            "stream.bybit.com:443",
            path,
        )
    };
    assert_eq!(ws("/v5/private").unwrap(), "stream-demo.bybit.com:443");
    // Bybit's demo has no public streams of its own: mainnet's are the same data.
    assert_eq!(ws("/v5/public/linear").unwrap(), "stream.bybit.com:443");
    // ... and no WebSocket trade API.
    assert_eq!(ws("/v5/trade").unwrap_err().code, "not_in_demo");
    assert_eq!(
        ws_authority(
            "bybit",
            bybit,
            Environment::Live,
            "stream.bybit.com:443",
            "/v5/trade"
        )
        .unwrap(),
        "stream.bybit.com:443"
    );
    let okx = Some(demo_of("okx"));
    assert_eq!(
        ws_authority(
            "okx",
            okx,
            Environment::Demo,
            "ws.okx.com:8443",
            "/ws/v5/private"
        )
        .unwrap(),
        "wspap.okx.com:8443"
    );
}

/// The REST hosts an exchange routes its presets' endpoints to.
fn rest_hosts(e: &dyn crate::exchange::Exchange) -> Vec<&'static str> {
    let mut hosts: Vec<_> = e
        .profile()
        .presets
        .iter()
        .flat_map(|p| p.entries.iter())
        .filter_map(|(_, path)| e.route(&path.replace("{", "").replace("}", "")))
        .map(|r| r.host)
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

#[test]
fn every_demo_rule_maps_a_host_the_exchange_routes_to() {
    // A typo in a `from` would refuse every request of a demo credential: each REST rule must
    // name a host the exchange module sends its endpoints to, each socket rule (host:port) an
    // authority its socket routes use.
    let sockets = [
        "ws-api.binance.com:443",
        "stream.binance.com:9443",
        "stream.bybit.com:443",
        "ws.okx.com:8443",
        "ws.bitget.com:443",
        "ws.bitmex.com:443",
        "www.deribit.com:443",
    ];
    for e in crate::exchange::registry() {
        let Some(demo) = e.profile().demo else {
            continue;
        };
        let mut rest = rest_hosts(*e);
        if e.id() == "alpaca" {
            // Alpaca's signer sends a paper key (id PK...) to the paper host itself.
            rest.push(crate::exchange::alpaca::PAPER_HOST);
        }
        for rule in demo.hosts {
            let known = if rule.from.contains(':') {
                sockets.contains(&rule.from)
            } else {
                rest.contains(&rule.from)
            };
            assert!(
                known,
                "{}: demo.host.from {:?} is not a host it routes to ({rest:?})",
                e.id(),
                rule.from
            );
        }
    }
}

#[test]
fn a_profile_demo_section_is_checked_when_read() {
    let def = |text: &str| toml::from_str::<DemoDef>(text).unwrap().load();
    assert!(def("name = \"demo\"").unwrap_err().contains("at least one"));
    assert!(def("name = \"d\"\nmarker = { header = \"x\", demo = \"1\", live = \"1\" }\n[[host]]\nfrom = \"a\"\nto = \"b\"")
        .unwrap_err()
        .contains("must differ"));
    assert!(def("name = \"d\"\nheader = { name = \"bad header\", value = \"1\" }\n[[host]]\nfrom = \"a\"\nto = \"b\"")
        .unwrap_err()
        .contains("not a header name"));
}
