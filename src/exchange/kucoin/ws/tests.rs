use super::*;

fn route(path: &str) -> WsRoute {
    KucoinWs.route(path).unwrap()
}

#[test]
fn push_paths_name_a_known_host() {
    let spot = route("/kucoin-push/ws-api-spot.kucoin.com/");
    assert_eq!(
        (spot.authority, spot.api),
        ("ws-api-spot.kucoin.com:443", SPOT)
    );
    let futures = route("/kucoin-push/ws-api-futures.kucoin.com");
    assert_eq!(futures.api, FUTURES);
    assert_eq!(
        KucoinWs.upstream_path("/kucoin-push/ws-api-spot.kucoin.com/endpoint"),
        "/endpoint"
    );
    assert_eq!(
        KucoinWs.upstream_path("/kucoin-push/ws-api-futures.kucoin.com"),
        "/"
    );
    for bad in [
        "/kucoin-push/evil.example.com/",
        "/kucoin-push/ws-api-spot.kucoin.com.evil.com/",
        "/kucoin-push/ws-api-spot.kucoin.com/../x",
        "/kucoin-push/",
        "/ws-api-spot.kucoin.com/",
    ] {
        assert!(KucoinWs.route(bad).is_none(), "{bad}");
    }
}

#[test]
fn the_bullet_answer_points_at_keyward_and_unknown_hosts_are_withheld() {
    assert!(KucoinWs
        .rest_bearer(Method::Post, "/futures/api/v1/bullet-private")
        .is_some());
    assert!(KucoinWs
        .rest_bearer(Method::Post, "/api/v1/bullet-public")
        .is_none());
    let mut answer = Json::parse(
        r#"{"code":"200000","data":{"token":"keyward-1","instanceServers":[{"endpoint":"wss://ws-api-spot.kucoin.com/","encrypt":true,"pingInterval":18000},{"endpoint":"wss://ws-api-spot.kucoin.com:443/endpoint"}]}}"#,
    )
    .unwrap();
    KucoinWs
        .rest_bearer_answer(&mut answer, "ws://127.0.0.1:8787/kucoin-main")
        .unwrap();
    assert_eq!(
        answer.to_compact(),
        r#"{"code":"200000","data":{"token":"keyward-1","instanceServers":[{"endpoint":"ws://127.0.0.1:8787/kucoin-main/kucoin-push/ws-api-spot.kucoin.com","encrypt":true,"pingInterval":18000},{"endpoint":"ws://127.0.0.1:8787/kucoin-main/kucoin-push/ws-api-spot.kucoin.com/endpoint"}]}}"#
    );
    for bad in [
        r#"{"data":{"token":"t","instanceServers":[{"endpoint":"wss://evil.example.com/"}]}}"#,
        r#"{"data":{"token":"t","instanceServers":[{"endpoint":"ws://ws-api-spot.kucoin.com/"}]}}"#,
        r#"{"data":{"token":"t","instanceServers":[{}]}}"#,
        r#"{"data":{"token":"t","instanceServers":[{"endpoint":"wss://ws-api-spot.kucoin.com/endpoint/"}]}}"#,
        r#"{"data":{"token":"t"}}"#,
    ] {
        let mut answer = Json::parse(bad).unwrap();
        assert!(
            KucoinWs
                .rest_bearer_answer(&mut answer, "ws://h/c")
                .is_err(),
            "{bad}"
        );
    }
}

#[test]
fn the_url_token_is_swapped_for_the_real_one() {
    let r = route("/kucoin-push/ws-api-spot.kucoin.com/");
    let path = "/kucoin-push/ws-api-spot.kucoin.com/";
    let query = "token=keyward-1&privateChannel=true&connectId=private";
    assert_eq!(
        KucoinWs.url_bearer(r, path, Some(query)).unwrap(),
        Some("keyward-1")
    );
    assert_eq!(
        KucoinWs.upstream_target(path, Some(query), Some("RE+AL/=")),
        "/?token=RE%2BAL%2F%3D&privateChannel=true&connectId=private"
    );
    for bad in [
        None,
        Some("connectId=x"),
        Some("token=a&token=b"),
        Some("token=a&other=1"),
        Some("token="),
    ] {
        assert!(KucoinWs.url_bearer(r, path, bad).is_err(), "{bad:?}");
    }
}

#[test]
fn topics_are_their_rest_reads_per_socket() {
    let spot = route("/kucoin-push/ws-api-spot.kucoin.com/");
    let futures = route("/kucoin-push/ws-api-futures.kucoin.com/");
    let read = |r, text: &str| KucoinWs.read(r, &Json::parse(text).unwrap());
    let judged = |r, topic: &str| {
        let frame = format!(
            r#"{{"id":"1","type":"subscribe","topic":"{topic}","privateChannel":true,"response":true}}"#
        );
        match read(r, &frame) {
            Ok(BotFrame::Op(WsOp {
                kind: OpKind::Subscribe(rest),
                ..
            })) => Some((rest[0].method, rest[0].path.clone())),
            _ => None,
        }
    };
    let get = |p: &str| Some((Method::Get, p.to_owned()));
    assert_eq!(
        judged(spot, "/spotMarket/tradeOrdersV2"),
        get("/api/v1/orders")
    );
    assert_eq!(judged(spot, "/account/balance"), get("/api/v1/accounts"));
    assert_eq!(
        judged(spot, "/market/ticker:BTC-USDT"),
        get("/api/v1/market/orderbook/level1")
    );
    assert_eq!(
        judged(futures, "/contractMarket/tradeOrders"),
        get("/futures/api/v1/orders")
    );
    assert_eq!(
        judged(futures, "/contract/position:XBTUSDTM"),
        get("/futures/api/v1/position")
    );
    assert_eq!(
        judged(futures, "/contractAccount/wallet"),
        get("/futures/api/v1/account-overview")
    );
    // a spot topic on the futures socket and unknown topics are not classified
    assert_eq!(judged(futures, "/account/balance"), None);
    assert_eq!(judged(spot, "/spotMarket/marginFundingBook"), None);
    assert!(matches!(
        read(spot, r#"{"id":"1","type":"ping"}"#),
        Ok(BotFrame::Keepalive)
    ));
    for bad in [
        r#"{"id":"1","type":"subscribe"}"#,
        r#"{"id":"1","type":"openTunnel","newTunnelId":"x"}"#,
        r#"{"id":"1","type":"subscribe","topic":"/account/balance","extra":1}"#,
    ] {
        assert!(read(spot, bad).is_err(), "{bad}");
    }
}
