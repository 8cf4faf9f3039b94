//! The table-driven bypass suite over every exchange profile. For each exchange, the same
//! hostile spellings are aimed at that exchange's OWN dangerous endpoints (withdrawal, transfer,
//! sub-account, API-key management) and at its allowed order endpoint, in its own body style
//! (form for Binance and Kraken, JSON-RPC for Deribit, JSON for the others). Each case is one
//! row: a name, the raw request bytes, the expected refusal and the design rule that refuses
//! it; every case carries a unique tag that the exchange's mock must never record. A few control
//! rows per exchange (an order, a read, the allowed half of a pipelined pair) must reach the
//! mock, so the suite can fail.
//!
//! One `#[test]` per exchange runs its table (they run in parallel against the one shared
//! keyward); a failure lists every failing row by exchange and name.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::common::{build, raw, tag, Resp, MAIN};
use super::env;

/// How a body is written for an exchange.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Form,
    Json,
    /// Deribit: one JSON-RPC object whose `method` names the path's method.
    JsonRpc,
}

/// What one exchange looks like to the table.
struct Profile {
    exchange: &'static str,
    style: Style,
    /// The allowed order endpoint (POST) and its body's members besides the tag.
    order_path: &'static str,
    order: &'static [(&'static str, &'static str)],
    /// The member that carries the tag in an order (its client order id).
    order_tag: &'static str,
    /// An allowed read (method, path, query before the tag parameter).
    read: (&'static str, &'static str, &'static str),
    /// Dangerous endpoints: (method, path), each hard-denied.
    denied: &'static [(&'static str, &'static str)],
}

const PROFILES: &[Profile] = &[
    Profile {
        exchange: "binance",
        style: Style::Form,
        order_path: "/api/v3/order",
        order: &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01"),
            ("price", "30000"),
        ],
        order_tag: "newClientOrderId",
        read: ("GET", "/api/v3/openOrders", "x"),
        denied: &[
            ("POST", "/sapi/v1/capital/withdraw/apply"),
            ("POST", "/sapi/v1/asset/transfer"),
            ("POST", "/sapi/v1/sub-account/universalTransfer"),
            ("POST", "/sapi/v1/account/apiRestrictions/ipRestriction"),
        ],
    },
    Profile {
        exchange: "bybit",
        style: Style::Json,
        order_path: "/v5/order/create",
        order: &[
            ("category", "linear"),
            ("symbol", "BTCUSDT"),
            ("side", "Buy"),
            ("orderType", "Limit"),
            ("qty", "0.1"),
            ("price", "30000"),
        ],
        order_tag: "orderLinkId",
        read: ("GET", "/v5/order/realtime", "category=linear&orderLinkId"),
        denied: &[
            ("POST", "/v5/asset/withdraw/create"),
            ("POST", "/v5/asset/transfer/inter-transfer"),
            ("POST", "/v5/user/create-sub-member"),
            ("POST", "/v5/user/update-api"),
        ],
    },
    Profile {
        exchange: "okx",
        style: Style::Json,
        order_path: "/api/v5/trade/order",
        order: &[
            ("instId", "BTC-USDT"),
            ("tdMode", "cash"),
            ("side", "buy"),
            ("ordType", "limit"),
            ("sz", "0.1"),
            ("px", "30000"),
        ],
        order_tag: "clOrdId",
        read: (
            "GET",
            "/api/v5/trade/orders-pending",
            "instType=SPOT&instId",
        ),
        denied: &[
            ("POST", "/api/v5/asset/withdrawal"),
            ("POST", "/api/v5/asset/transfer"),
            ("POST", "/api/v5/account/subaccount/set-loan-allocation"),
            ("POST", "/api/v5/users/subaccount/modify-apikey"),
        ],
    },
    Profile {
        exchange: "bitget",
        style: Style::Json,
        order_path: "/api/v2/spot/trade/place-order",
        order: &[
            ("symbol", "BTCUSDT"),
            ("side", "buy"),
            ("orderType", "limit"),
            ("force", "gtc"),
            ("size", "0.1"),
            ("price", "30000"),
        ],
        order_tag: "clientOid",
        read: ("GET", "/api/v2/spot/trade/unfilled-orders", "symbol"),
        denied: &[
            ("POST", "/api/v2/spot/wallet/withdrawal"),
            ("POST", "/api/v2/spot/wallet/transfer"),
            ("POST", "/api/v2/spot/wallet/subaccount-transfer"),
            ("POST", "/api/v2/user/create-virtual-subaccount-apikey"),
        ],
    },
    Profile {
        exchange: "kucoin",
        style: Style::Json,
        order_path: "/api/v1/hf/orders",
        order: &[
            ("symbol", "BTC-USDT"),
            ("side", "buy"),
            ("type", "limit"),
            ("size", "0.1"),
            ("price", "30000"),
        ],
        order_tag: "clientOid",
        read: ("GET", "/api/v1/accounts", "currency"),
        denied: &[
            ("POST", "/api/v1/withdrawals"),
            ("POST", "/api/v2/accounts/inner-transfer"),
            ("POST", "/api/v2/sub/user/created"),
            ("POST", "/api/v1/user/api-key/update"),
        ],
    },
    Profile {
        exchange: "kraken",
        style: Style::Form,
        order_path: "/0/private/AddOrder",
        order: &[
            ("pair", "XXBTZUSD"),
            ("type", "buy"),
            ("ordertype", "limit"),
            ("volume", "0.1"),
            ("price", "30000"),
        ],
        order_tag: "cl_ord_id",
        read: ("POST", "/0/private/OpenOrders", "cl_ord_id"),
        denied: &[
            ("POST", "/0/private/Withdraw"),
            ("POST", "/0/private/WalletTransfer"),
            ("POST", "/0/private/CreateSubaccount"),
            ("POST", "/0/private/GetApiKeyInfo"),
        ],
    },
    Profile {
        exchange: "gate",
        style: Style::Json,
        order_path: "/api/v4/spot/orders",
        order: &[
            ("currency_pair", "BTC_USDT"),
            ("side", "buy"),
            ("type", "limit"),
            ("amount", "0.1"),
            ("price", "30000"),
        ],
        order_tag: "text",
        read: ("GET", "/api/v4/spot/accounts", "currency"),
        denied: &[
            ("POST", "/api/v4/withdrawals"),
            ("POST", "/api/v4/wallet/transfers"),
            ("POST", "/api/v4/sub_accounts"),
            ("POST", "/api/v4/sub_accounts/1/keys"),
        ],
    },
    Profile {
        exchange: "bitmex",
        style: Style::Json,
        order_path: "/api/v1/order",
        order: &[
            ("symbol", "XBTUSD"),
            ("side", "Buy"),
            ("orderQty", "\u{1}raw:100"),
            ("ordType", "Limit"),
            ("price", "\u{1}raw:30000"),
        ],
        order_tag: "clOrdID",
        read: ("GET", "/api/v1/order", "symbol=XBTUSD&clOrdID"),
        denied: &[
            ("POST", "/api/v1/user/requestWithdrawal"),
            ("POST", "/api/v1/user/walletTransfer"),
            ("POST", "/api/v1/user/addSubaccount"),
            ("POST", "/api/v1/apiKey"),
        ],
    },
    Profile {
        exchange: "coinbase",
        style: Style::Json,
        order_path: "/api/v3/brokerage/orders",
        order: &[("product_id", "BTC-USD"), ("side", "BUY")],
        order_tag: "client_order_id",
        read: ("GET", "/api/v3/brokerage/accounts", "cursor"),
        denied: &[
            ("POST", "/api/v3/brokerage/portfolios/move_funds"),
            ("POST", "/api/v3/brokerage/intx/multi_asset_collateral"),
            ("POST", "/api/v3/brokerage/intx/allocate"),
            ("POST", "/v2/accounts/abc/withdrawals"),
            // US derivatives (CFM) sweeps move funds from the futures wallet to spot: schedule
            // and cancel (Coinbase's Advanced Trade API reference, Futures).
            ("POST", "/api/v3/brokerage/cfm/sweeps/schedule"),
            ("DELETE", "/api/v3/brokerage/cfm/sweeps"),
        ],
    },
    Profile {
        exchange: "deribit",
        style: Style::JsonRpc,
        order_path: "/api/v2/private/buy",
        order: &[
            ("instrument_name", "BTC-PERPETUAL"),
            ("amount", "10"),
            ("type", "limit"),
            ("price", "30000"),
        ],
        order_tag: "label",
        read: (
            "GET",
            "/api/v2/private/get_open_orders_by_currency",
            "currency=BTC&kind=future&type=all&x",
        ),
        denied: &[
            ("POST", "/api/v2/private/withdraw"),
            ("POST", "/api/v2/private/submit_transfer_to_user"),
            ("POST", "/api/v2/private/submit_transfer_to_subaccount"),
            ("POST", "/api/v2/private/create_api_key"),
        ],
    },
    Profile {
        exchange: "alpaca",
        style: Style::Json,
        order_path: "/trading/v2/orders",
        order: &[
            ("symbol", "BTC/USD"),
            ("side", "buy"),
            ("type", "limit"),
            ("time_in_force", "gtc"),
            ("qty", "0.1"),
            ("limit_price", "30000"),
        ],
        order_tag: "client_order_id",
        read: (
            "GET",
            "/trading/v2/orders:by_client_order_id",
            "client_order_id",
        ),
        denied: &[
            ("POST", "/trading/v2/wallets/transfers"),
            ("POST", "/trading/v2/wallets/whitelists"),
            ("POST", "/trading/v1/journals"),
            ("PATCH", "/trading/v2/account/configurations"),
        ],
    },
];

/// What must happen to a row.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Forwarded (a control): the mock records the tag, keyward adds no refusal of its own.
    Forwarded,
    /// keyward's JSON error with this status and code.
    Json(u16, &'static str),
    /// Refused by the HTTP layer (hyper) before keyward's pipeline: a 4xx without keyward's
    /// body, or the connection closed without a response.
    Http,
    /// The first request of a pipelined pair is a control, the second (tagged) is refused
    /// with this status and code.
    Pipelined(u16, &'static str),
}

struct Case {
    name: String,
    rule: &'static str,
    request: Vec<u8>,
    tag: String,
    expect: Expect,
}

/// Who a row is sent as: the exchange's credential, its bot's token header and its mock.
struct Front {
    credential: String,
    auth: (&'static str, String),
    port: u16,
}

fn front(exchange: &str) -> Front {
    let env = env();
    if exchange == "binance" {
        return Front {
            credential: MAIN.to_owned(),
            auth: ("X-MBX-APIKEY", env.token.clone()),
            port: env.port(),
        };
    }
    let v = env.venue(exchange);
    Front {
        credential: v.credential.clone(),
        auth: v.auth_header(),
        port: env.port(),
    }
}

fn mock_log(exchange: &str) -> super::common::venue::MockLog {
    if exchange == "binance" {
        env().mock_log()
    } else {
        env().venue(exchange).log.clone()
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

impl Profile {
    fn content_type(&self) -> &'static str {
        match self.style {
            Style::Form => "application/x-www-form-urlencoded",
            Style::Json | Style::JsonRpc => "application/json",
        }
    }

    /// The tag as this exchange's client order id accepts it.
    fn tag_value(&self, t: &str) -> String {
        if self.exchange == "gate" {
            format!("t-{t}")
        } else {
            t.to_owned()
        }
    }

    /// A body in this exchange's style from members (name, raw JSON-or-form value text).
    fn body(&self, path: &str, members: &[(String, String)]) -> String {
        match self.style {
            Style::Form => members
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
            Style::Json => json_object(members),
            Style::JsonRpc => {
                let method = path.strip_prefix("/api/v2/").unwrap_or(path);
                format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":{},"params":{}}}"#,
                    json_str(method),
                    json_object(members)
                )
            }
        }
    }

    fn order_members(&self, t: &str) -> Vec<(String, String)> {
        let mut m: Vec<(String, String)> = self
            .order
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if self.exchange == "coinbase" {
            m.push((
                "order_configuration".into(),
                RAW_JSON_PREFIX.to_owned()
                    + r#"{"limit_limit_gtc":{"base_size":"0.1","limit_price":"30000"}}"#,
            ));
        }
        m.push((self.order_tag.into(), self.tag_value(t)));
        m
    }

    fn order_body(&self, t: &str) -> String {
        self.body(self.order_path, &self.order_members(t))
    }

    /// A tagged body for a dangerous endpoint.
    fn denied_body(&self, path: &str, t: &str) -> String {
        let m = vec![
            ("currency".to_owned(), "USDT".to_owned()),
            ("amount".to_owned(), "1000".to_owned()),
            (
                "address".to_owned(),
                "0x1234567890abcdef1234567890abcdef12345678".to_owned(),
            ),
            ("clientId".to_owned(), t.to_owned()),
        ];
        self.body(path, &m)
    }
}

/// A value starting with this is raw JSON, not a string.
const RAW_JSON_PREFIX: &str = "\u{1}raw:";

fn json_object(members: &[(String, String)]) -> String {
    let inner: Vec<String> = members
        .iter()
        .map(|(k, v)| match v.strip_prefix(RAW_JSON_PREFIX) {
            Some(raw) => format!("{}:{raw}", json_str(k)),
            None => format!("{}:{}", json_str(k), json_str(v)),
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A request with the bot's token, `Content-Type` for a body, `extra` headers.
fn request(
    f: &Front,
    p: &Profile,
    method: &str,
    target: &str,
    extra: &[(&str, &str)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut h: Vec<(&str, &str)> = vec![(f.auth.0, f.auth.1.as_str())];
    if body.is_some()
        && !extra
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        h.push(("Content-Type", p.content_type()));
    }
    h.extend_from_slice(extra);
    build(f.port, method, target, &h, body)
}

/// Raw bytes: a request line, the bot's token and Host, then `rest` (more headers, the blank
/// line and the body) exactly as given.
fn raw_request(f: &Front, line: &str, rest: &str) -> Vec<u8> {
    format!(
        "{line}\r\nHost: 127.0.0.1:{}\r\n{}: {}\r\n{rest}",
        f.port, f.auth.0, f.auth.1
    )
    .into_bytes()
}

/// Every row for one exchange.
fn cases(p: &Profile) -> Vec<Case> {
    let f = front(p.exchange);
    let c = &f.credential;
    let mut out = Vec::new();
    let o = format!("/{c}{}", p.order_path);
    let (wm, wpath) = p.denied[0];
    let w = format!("/{c}{wpath}");
    let ct = p.content_type();
    let fp = f.port;

    // A row whose request is a function of its tag.
    let mut add =
        |name: String, rule: &'static str, expect: Expect, make: &dyn Fn(&str) -> Vec<u8>| {
            // Controls carry the prefix the other bypass tests accept in the mocks' records.
            let t = tag(if matches!(expect, Expect::Forwarded) {
                "ctl"
            } else {
                "bp"
            });
            out.push(Case {
                name,
                rule,
                request: make(&t),
                tag: t,
                expect,
            });
        };

    // ---- controls -----------------------------------------------------------------------------
    add(
        "control: an allowed order".into(),
        "control",
        Expect::Forwarded,
        &|t| request(&f, p, "POST", &o, &[], Some(&p.order_body(t))),
    );
    let (rm, rpath, rq) = p.read;
    add(
        "control: an allowed read".into(),
        "control",
        Expect::Forwarded,
        &|t| {
            let target = format!("/{c}{rpath}?{rq}={t}");
            if rm == "GET" {
                request(&f, p, "GET", &target, &[], None)
            } else {
                let body = format!("{rq}={t}");
                request(&f, p, rm, &format!("/{c}{rpath}"), &[], Some(&body))
            }
        },
    );
    if rm == "GET" {
        // An empty JSON object on a GET is no body (coinbase-advanced-py sends `{}` on every
        // GET): forwarded without it and signed as a bodyless GET, so the mock verifies it.
        add(
            "control: an allowed read with an empty JSON body {}".into(),
            "control",
            Expect::Forwarded,
            &|t| {
                let target = format!("/{c}{rpath}?{rq}={t}");
                let json = [("Content-Type", "application/json")];
                request(&f, p, "GET", &target, &json, Some(" { } "))
            },
        );
    }

    // ---- hard deny: the exchange's own dangerous endpoints -------------------------------------
    for (m, path) in p.denied {
        add(
            format!("{m} {path}"),
            "hard deny: withdrawal/transfer/sub-account/API-key endpoint",
            Expect::Json(403, "hard_deny"),
            &|t| {
                if *m == "DELETE" {
                    // No body on a DELETE: the tag rides in the query, as a bot would send it.
                    let target = format!("/{c}{path}?id={t}");
                    return request(&f, p, m, &target, &[], None);
                }
                request(
                    &f,
                    p,
                    m,
                    &format!("/{c}{path}"),
                    &[],
                    Some(&p.denied_body(path, t)),
                )
            },
        );
    }
    // (Binance's GET /sapi/v1/capital/withdraw/history style: the query carries the tag)
    add(
        format!("{wm} {wpath} with the parameters in the query"),
        "hard deny: withdrawal (Kraken: private parameters only in the body)",
        if p.exchange == "kraken" {
            Expect::Json(400, "bad_params")
        } else {
            Expect::Json(403, "hard_deny")
        },
        &|t| request(&f, p, wm, &format!("{w}?clientId={t}"), &[], None),
    );

    // ---- one strict parse of the path -----------------------------------------------------------
    let (parent, last) = w.rsplit_once('/').unwrap();
    let first = last.chars().next().unwrap();
    let path_cases: Vec<(&str, String)> = vec![
        ("%2f for the last '/'", format!("{parent}%2f{last}")),
        ("%2F for the last '/'", format!("{parent}%2F{last}")),
        (
            "a percent-encoded letter",
            format!("{parent}/%{:02X}{}", first as u32, &last[1..]),
        ),
        (
            "%2e%2E (mixed case) traversal from the order path",
            format!("{o}/%2e%2E/%2E%2e{}", &w[c.len() + 1..]),
        ),
        (
            "double-encoded %252e%252e traversal",
            format!("{o}/%252e%252e{}", &w[c.len() + 1..]),
        ),
        ("%00 after the path", format!("{w}%00")),
        ("%00 before the last segment", format!("{parent}/%00{last}")),
        (
            "overlong UTF-8 '/' (%c0%af)",
            format!("{parent}%c0%af{last}"),
        ),
        ("a '..' segment", format!("/{c}/x/..{}", &w[c.len() + 1..])),
        (
            "'..' climbing out of the order path",
            format!("{o}/../..{}", &w[c.len() + 1..]),
        ),
        ("a '.' segment", format!("{parent}/./{last}")),
        ("'//' inside", format!("{parent}//{last}")),
        (
            "'//' after the credential",
            format!("/{c}/{}", &w[c.len() + 1..]),
        ),
        ("a trailing '/' on the withdrawal", format!("{w}/")),
        ("a trailing '/' on the order path", format!("{o}/")),
        ("a ';' matrix parameter", format!("{o};x=1")),
        (
            "';' then a withdrawal",
            format!("{o};/../..{}", &w[c.len() + 1..]),
        ),
        ("backslashes", w.replace('/', "\\").replacen('\\', "/", 1)),
        (
            "a backslash before the last segment",
            format!("{parent}\\{last}"),
        ),
    ];
    for (what, target) in path_cases {
        // The order body for paths that end on the order endpoint, else the withdrawal body.
        let refused_as = Expect::Json(400, "bad_path");
        add(
            format!("path: {what}: {target}"),
            "one strict parse: the path must be canonical",
            refused_as,
            &|t| request(&f, p, "POST", &target, &[], Some(&p.denied_body(wpath, t))),
        );
    }

    // ---- case games -------------------------------------------------------------------------------
    add(
        "case: the whole withdrawal path upper-cased".into(),
        "routing: API roots are exact (case-sensitive)",
        Expect::Json(404, "not_found"),
        &|t| {
            let upper = format!("/{c}{}", wpath.to_ascii_uppercase());
            request(&f, p, "POST", &upper, &[], Some(&p.denied_body(wpath, t)))
        },
    );
    add(
        "case: the withdrawal's last segment upper-cased".into(),
        "hard deny: matched ignoring letter case",
        Expect::Json(403, "hard_deny"),
        &|t| {
            let target = format!("{parent}/{}", last.to_ascii_uppercase());
            let body = p.denied_body(&target[c.len() + 1..], t);
            request(&f, p, "POST", &target, &[], Some(&body))
        },
    );
    add(
        "case: a withdrawal/transfer segment with a '-' inserted".into(),
        "hard deny: the keyword guard folds case and separators",
        if p.exchange == "kraken" {
            // Kraken routes only the method names it knows
            Expect::Json(404, "not_found")
        } else {
            Expect::Json(403, "hard_deny")
        },
        &|t| {
            // the first dangerous path that names a withdrawal or a transfer
            let (_, path) = p
                .denied
                .iter()
                .find(|(_, path)| {
                    let l = path.to_ascii_lowercase();
                    l.contains("withdraw") || l.contains("transfer")
                })
                .unwrap();
            let (head, tail) = path.rsplit_once('/').unwrap();
            let spelt = format!("{head}/{}-{}", &tail[..1], &tail[1..]);
            let body = p.denied_body(&spelt, t);
            request(&f, p, "POST", &format!("/{c}{spelt}"), &[], Some(&body))
        },
    );
    add(
        "case: the credential name upper-cased".into(),
        "routing: credential names are exact",
        Expect::Json(404, "not_found"),
        &|t| {
            let target = format!("/{}{}", c.to_ascii_uppercase(), p.order_path);
            request(&f, p, "POST", &target, &[], Some(&p.order_body(t)))
        },
    );
    add(
        "case: the order path's last segment upper-cased".into(),
        "policy: exact, case-sensitive paths (default deny)",
        if p.style == Style::JsonRpc {
            // Deribit: the JSON-RPC method must name the path's method, exactly
            Expect::Json(400, "bad_request")
        } else {
            Expect::Json(403, "not_allowed")
        },
        &|t| {
            let (head, tail) = o.rsplit_once('/').unwrap();
            let target = format!("{head}/{}", tail.to_ascii_uppercase());
            request(&f, p, "POST", &target, &[], Some(&p.order_body(t)))
        },
    );

    // ---- fragments and request-target forms ------------------------------------------------------
    add(
        "a fragment pointing back to the order path".into(),
        "one strict parse: the fragment is no part of the target (hard deny of what precedes it)",
        Expect::Json(403, "hard_deny"),
        &|t| {
            let target = format!("{w}#/../..{}", p.order_path);
            request(&f, p, "POST", &target, &[], Some(&p.denied_body(wpath, t)))
        },
    );
    add(
        "absolute-form target".into(),
        "transport: origin-form targets only",
        Expect::Json(400, "bad_request"),
        &|t| {
            let target = format!("http://127.0.0.1:{fp}{o}");
            request(&f, p, "POST", &target, &[], Some(&p.order_body(t)))
        },
    );
    add(
        "absolute-form target naming the exchange".into(),
        "transport: origin-form targets only",
        Expect::Json(400, "bad_request"),
        &|t| {
            let target = format!("https://api.example.com{w}");
            request(&f, p, "POST", &target, &[], Some(&p.denied_body(wpath, t)))
        },
    );
    add(
        "authority-form (CONNECT)".into(),
        "transport: origin-form targets only (no CONNECT)",
        Expect::Http,
        &|t| {
            raw_request(
                &f,
                "CONNECT api.example.com:443 HTTP/1.1",
                &format!("X-Tag: {t}\r\nConnection: close\r\n\r\n"),
            )
        },
    );

    // ---- headers that change the target, the method or the client -------------------------------
    let order_headers: Vec<(&str, String, &'static str, Expect)> = vec![
        (
            "Host",
            "api.example.com".into(),
            "transport: Host must name keyward",
            Expect::Json(421, "bad_host"),
        ),
        (
            "Host",
            format!("evil.example:{fp}"),
            "transport: Host must name keyward",
            Expect::Json(421, "bad_host"),
        ),
        (
            "X-Forwarded-For",
            "10.0.0.1".into(),
            "transport: forwarding headers refused (no trusted proxy)",
            Expect::Json(400, "bad_request"),
        ),
        (
            "X-Forwarded-Host",
            "api.example.com".into(),
            "transport: forwarding headers refused (no trusted proxy)",
            Expect::Json(400, "bad_request"),
        ),
        (
            "Forwarded",
            "for=127.0.0.1".into(),
            "transport: forwarding headers refused (no trusted proxy)",
            Expect::Json(400, "bad_request"),
        ),
        (
            "X-Original-URL",
            w.clone(),
            "transport: target-rewriting headers refused",
            Expect::Json(400, "bad_request"),
        ),
        (
            "X-Rewrite-URL",
            w.clone(),
            "transport: target-rewriting headers refused",
            Expect::Json(400, "bad_request"),
        ),
        (
            "X-HTTP-Method-Override",
            "DELETE".into(),
            "transport: method-override headers refused",
            Expect::Json(400, "bad_request"),
        ),
        (
            "X-Method-Override",
            "PUT".into(),
            "transport: method-override headers refused",
            Expect::Json(400, "bad_request"),
        ),
    ];
    for (name, value, rule, expect) in order_headers {
        add(format!("header {name}: {value}"), rule, expect, &|t| {
            request(
                &f,
                p,
                "POST",
                &o,
                &[(name, value.as_str())],
                Some(&p.order_body(t)),
            )
        });
    }
    add(
        "a second Content-Type".into(),
        "transport: a header keyward reads must be sent once",
        Expect::Json(400, "duplicate_header"),
        &|t| {
            let other = if p.style == Style::Form {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            };
            request(
                &f,
                p,
                "POST",
                &o,
                &[("Content-Type", ct), ("Content-Type", other)],
                Some(&p.order_body(t)),
            )
        },
    );

    // ---- methods ----------------------------------------------------------------------------------
    for m in ["post", "Post", "PROPFIND", "TRACE"] {
        add(
            format!("method {m}"),
            "methods: the exchange's set, exact case",
            Expect::Json(405, "method_not_allowed"),
            &|t| request(&f, p, m, &o, &[], Some(&p.order_body(t))),
        );
    }

    // ---- parameters -------------------------------------------------------------------------------
    let read_target = |t: &str, extra: &str| format!("/{c}{rpath}?{extra}&{rq}={t}");
    if rm == "GET" {
        for (what, extra) in [
            ("a duplicate query key", "a=1&a=2"),
            ("a duplicate key in another case", "sz=1&SZ=2"),
            ("a percent-encoded duplicate key", "aa=1&%61a=2"),
            ("a ';' separator in the query", "a=1;a=2"),
            ("an escaped NUL in a value", "a=%00"),
            ("invalid UTF-8 in a value", "a=%ff"),
            ("overlong UTF-8 in a value", "a=%c0%af"),
        ] {
            add(
                format!("query: {what}"),
                "one strict parse: a key once, values valid UTF-8 without control bytes",
                Expect::Json(400, "bad_params"),
                &|t| request(&f, p, "GET", &read_target(t, extra), &[], None),
            );
        }
        add(
            "query: an array-style key a[]".into(),
            "one strict parse: keys are plain names",
            Expect::Json(400, "bad_params"),
            &|t| request(&f, p, "GET", &read_target(t, "a[]=1"), &[], None),
        );
        for (what, extra) in [
            ("a lone dotted key a.b (PHP reads a_b)", "a.b=1"),
            (
                "a lone indexed key a[0] (read as an element of a)",
                "a%5B0%5D=1",
            ),
        ] {
            add(
                format!("query: {what}"),
                "one strict parse: keys are plain names",
                Expect::Json(400, "bad_params"),
                &|t| request(&f, p, "GET", &read_target(t, extra), &[], None),
            );
        }
        add(
            "query: a plain key and the same key bracketed".into(),
            "one strict parse: a key once, in one spelling",
            Expect::Json(400, "bad_params"),
            &|t| request(&f, p, "GET", &read_target(t, "a=1&a%5Bx%5D=2"), &[], None),
        );
        add(
            "query: a.b beside a_b".into(),
            "one strict parse: a key once, in one spelling ('.' may read as '_')",
            Expect::Json(400, "bad_params"),
            &|t| request(&f, p, "GET", &read_target(t, "a_b=1&a.b=2"), &[], None),
        );
        add(
            "query: a method-override parameter".into(),
            "one strict parse: no method-override parameters",
            Expect::Json(400, "method_override"),
            &|t| request(&f, p, "GET", &read_target(t, "_method=DELETE"), &[], None),
        );
        add(
            "a GET with a body".into(),
            "one strict parse: a GET carries no body",
            Expect::Json(400, "bad_params"),
            &|t| {
                request(
                    &f,
                    p,
                    "GET",
                    &format!("/{c}{rpath}?{rq}={t}"),
                    &[],
                    Some(&p.order_body(t)),
                )
            },
        );
    }
    match p.style {
        Style::Form => {
            add(
                "form: a duplicate key in the body".into(),
                "one strict parse: a key once",
                Expect::Json(400, "bad_params"),
                &|t| {
                    let body = format!("{}&{}={}", p.order_body(t), p.order[0].0, p.order[0].1);
                    request(&f, p, "POST", &o, &[], Some(&body))
                },
            );
            add(
                "form: an array-style key a[]".into(),
                "one strict parse: keys are plain names",
                Expect::Json(400, "bad_params"),
                &|t| {
                    request(
                        &f,
                        p,
                        "POST",
                        &o,
                        &[],
                        Some(&format!("{}&a[]=1", p.order_body(t))),
                    )
                },
            );
            add(
                "form: a method-override parameter".into(),
                "one strict parse: no method-override parameters",
                Expect::Json(400, "method_override"),
                &|t| {
                    request(
                        &f,
                        p,
                        "POST",
                        &o,
                        &[],
                        Some(&format!("{}&_method=DELETE", p.order_body(t))),
                    )
                },
            );
            add(
                "form: invalid UTF-8 in a value".into(),
                "one strict parse: valid UTF-8",
                Expect::Json(400, "bad_params"),
                &|t| {
                    request(
                        &f,
                        p,
                        "POST",
                        &o,
                        &[],
                        Some(&format!("{}&a=%ff", p.order_body(t))),
                    )
                },
            );
            add(
                "form: a plain key and the same key bracketed".into(),
                "one strict parse: a key once, in one spelling",
                Expect::Json(400, "bad_params"),
                &|t| {
                    let body = format!("{}&{}%5B0%5D=1", p.order_body(t), p.order[0].0);
                    request(&f, p, "POST", &o, &[], Some(&body))
                },
            );
            let as_json = if p.exchange == "kraken" {
                // Kraken takes JSON too: then the body must parse as JSON
                Expect::Json(400, "bad_params")
            } else {
                Expect::Json(415, "unsupported_media_type")
            };
            add(
                "form body sent as JSON".into(),
                "one strict parse: the body is what Content-Type says",
                as_json,
                &|t| {
                    request(
                        &f,
                        p,
                        "POST",
                        &o,
                        &[("Content-Type", "application/json")],
                        Some(&p.order_body(t)),
                    )
                },
            );
        }
        Style::Json | Style::JsonRpc => {
            let dup = |t: &str| {
                let body = p.order_body(t);
                let (k, v) = p.order[0];
                // the first member again, another value, at the end of the (inner) object
                let end = if p.style == Style::JsonRpc {
                    body.len() - 2
                } else {
                    body.len() - 1
                };
                format!(
                    "{},{}:{}{}",
                    &body[..end],
                    json_str(k),
                    json_str(&format!("{v}X")),
                    &body[end..]
                )
            };
            add(
                "JSON: a duplicate member".into(),
                "one strict parse: JSON with duplicate keys refused",
                Expect::Json(400, "bad_params"),
                &|t| request(&f, p, "POST", &o, &[], Some(&dup(t))),
            );
            add(
                "JSON: a duplicate member spelt with an escape".into(),
                "one strict parse: JSON with duplicate keys refused (after unescaping)",
                Expect::Json(400, "bad_params"),
                &|t| {
                    let body = p.order_body(t);
                    let (k, v) = p.order[0];
                    let esc = format!("\\u{:04x}{}", k.as_bytes()[0], &k[1..]);
                    let end = if p.style == Style::JsonRpc {
                        body.len() - 2
                    } else {
                        body.len() - 1
                    };
                    let body =
                        format!("{},\"{esc}\":{}{}", &body[..end], json_str(v), &body[end..]);
                    request(&f, p, "POST", &o, &[], Some(&body))
                },
            );
            add(
                "JSON: parameters in the query too".into(),
                "one strict parse: parameters in one place",
                Expect::Json(400, "bad_params"),
                &|t| {
                    request(
                        &f,
                        p,
                        "POST",
                        &format!("{o}?{}={}", p.order[0].0, p.order[0].1),
                        &[],
                        Some(&p.order_body(t)),
                    )
                },
            );
            add(
                "JSON: a method-override member".into(),
                "one strict parse: no method-override parameters",
                Expect::Json(400, "method_override"),
                &|t| {
                    let body = p.order_body(t);
                    let end = if p.style == Style::JsonRpc {
                        body.len() - 2
                    } else {
                        body.len() - 1
                    };
                    let body = format!("{},\"_method\":\"DELETE\"{}", &body[..end], &body[end..]);
                    request(&f, p, "POST", &o, &[], Some(&body))
                },
            );
            add(
                "JSON sent as a form".into(),
                "one strict parse: the body is what Content-Type says",
                Expect::Json(415, "unsupported_media_type"),
                &|t| {
                    request(
                        &f,
                        p,
                        "POST",
                        &o,
                        &[("Content-Type", "application/x-www-form-urlencoded")],
                        Some(&p.order_body(t)),
                    )
                },
            );
            add(
                "JSON: invalid UTF-8 in a string".into(),
                "one strict parse: JSON is UTF-8",
                Expect::Json(400, "bad_params"),
                &|t| {
                    let mut r = request(
                        &f,
                        p,
                        "POST",
                        &o,
                        &[],
                        Some(&p.order_body(t).replacen(t, &format!("{t}\u{7f}"), 1)),
                    );
                    let i = r.iter().rposition(|b| *b == 0x7f).unwrap();
                    r[i] = 0xff;
                    r
                },
            );
            add(
                "JSON: overlong UTF-8 in a string".into(),
                "one strict parse: JSON is UTF-8",
                Expect::Json(400, "bad_params"),
                &|t| {
                    let mut r = request(
                        &f,
                        p,
                        "POST",
                        &o,
                        &[],
                        Some(&p.order_body(t).replacen(t, &format!("{t}\u{7f}\u{7f}"), 1)),
                    );
                    let i = r.iter().rposition(|b| *b == 0x7f).unwrap();
                    r[i - 1] = 0xc0;
                    r[i] = 0xaf;
                    r
                },
            );
            add(
                "JSON: a raw control byte in a string".into(),
                "one strict parse: JSON strings have no raw control bytes",
                Expect::Json(400, "bad_params"),
                &|t| {
                    request(
                        &f,
                        p,
                        "POST",
                        &o,
                        &[],
                        Some(&p.order_body(t).replacen(t, &format!("{t}\u{1}"), 1)),
                    )
                },
            );
            add(
                "JSON: a NUL byte after the object".into(),
                "one strict parse: one JSON value, nothing after it",
                Expect::Json(400, "bad_params"),
                &|t| {
                    request(
                        &f,
                        p,
                        "POST",
                        &o,
                        &[],
                        Some(&format!("{}\0", p.order_body(t))),
                    )
                },
            );
            add(
                "JSON: a second object after the first".into(),
                "one strict parse: one JSON value, nothing after it",
                Expect::Json(400, "bad_params"),
                &|t| {
                    let b = p.order_body(t);
                    request(&f, p, "POST", &o, &[], Some(&format!("{b}{b}")))
                },
            );
            add(
                "JSON: an escaped NUL in a member name".into(),
                "one strict parse: member names without control characters",
                Expect::Json(400, "bad_params"),
                &|t| {
                    let body = p.order_body(t);
                    let end = if p.style == Style::JsonRpc {
                        body.len() - 2
                    } else {
                        body.len() - 1
                    };
                    let (k, _) = p.order[0];
                    let body = format!("{},\"{k}\\u0000\":\"X\"{}", &body[..end], &body[end..]);
                    request(&f, p, "POST", &o, &[], Some(&body))
                },
            );
            add(
                "JSON: an escaped NUL in a string value".into(),
                "one strict parse: string values without control characters",
                Expect::Json(400, "bad_params"),
                &|t| {
                    let body = p.order_body(t);
                    let (k, v) = p.order[0];
                    let spelled = format!("\"{k}\":\"{v}\"");
                    assert!(body.contains(&spelled), "{body}");
                    let body = body.replace(&spelled, &format!("\"{k}\":\"{v}\\u0000x\""));
                    request(&f, p, "POST", &o, &[], Some(&body))
                },
            );
        }
    }
    add(
        "no Content-Type".into(),
        "one strict parse: a body says what it is",
        Expect::Json(415, "unsupported_media_type"),
        &|t| {
            let body = p.order_body(t);
            raw_request(
                &f,
                &format!("POST {o} HTTP/1.1"),
                &format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
            )
        },
    );
    add(
        "Content-Type text/plain".into(),
        "one strict parse: a body says what it is",
        Expect::Json(415, "unsupported_media_type"),
        &|t| {
            request(
                &f,
                p,
                "POST",
                &o,
                &[("Content-Type", "text/plain")],
                Some(&p.order_body(t)),
            )
        },
    );

    // ---- framing, sizes and versions ----------------------------------------------------------------
    add(
        "a header of 40 KiB".into(),
        "transport: bounded header size",
        Expect::Json(431, "header_too_large"),
        &|t| {
            let big = "n".repeat(40 * 1024);
            request(
                &f,
                p,
                "POST",
                &o,
                &[("X-Note", big.as_str())],
                Some(&p.order_body(t)),
            )
        },
    );
    add(
        "a body of 70 KiB".into(),
        "transport: bounded body size",
        Expect::Json(413, "body_too_large"),
        &|t| {
            let pad = "A".repeat(70 * 1024);
            let body = p.order_body(t).replacen(t, &format!("{t}{pad}"), 1);
            request(&f, p, "POST", &o, &[], Some(&body))
        },
    );
    add(
        "chunked body".into(),
        "transport: no Transfer-Encoding",
        Expect::Json(400, "bad_request"),
        &|t| {
            let body = p.order_body(t);
            raw_request(&f, &format!("POST {o} HTTP/1.1"), &format!("Content-Type: {ct}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len()))
        },
    );
    add(
        "chunked body with a chunk extension and a trailer".into(),
        "transport: no Transfer-Encoding",
        Expect::Json(400, "bad_request"),
        &|t| {
            let body = p.order_body(t);
            raw_request(&f, &format!("POST {o} HTTP/1.1"), &format!("Content-Type: {ct}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x};ext=1\r\n{body}\r\n0\r\nX-Trailer: 1\r\n\r\n", body.len()))
        },
    );
    add(
        "Content-Length and Transfer-Encoding".into(),
        "transport: CL + TE refused",
        Expect::Json(400, "bad_request"),
        &|t| {
            let body = p.order_body(t);
            raw_request(&f, &format!("POST {o} HTTP/1.1"), &format!("Content-Type: {ct}\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len(), body.len()))
        },
    );
    add(
        "two different Content-Lengths".into(),
        "transport: one Content-Length (hyper)",
        Expect::Http,
        &|t| {
            let body = p.order_body(t);
            raw_request(&f, &format!("POST {o} HTTP/1.1"), &format!("Content-Type: {ct}\r\nContent-Length: {}\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{body}", body.len()))
        },
    );
    add(
        "HTTP/1.0".into(),
        "transport: HTTP/1.1 only",
        Expect::Json(400, "http_version"),
        &|t| {
            let body = p.order_body(t);
            raw_request(
                &f,
                &format!("POST {o} HTTP/1.0"),
                &format!(
                    "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                ),
            )
        },
    );
    add(
        "obs-fold hiding an override".into(),
        "transport: obs-fold refused (hyper)",
        Expect::Http,
        &|t| {
            let body = p.order_body(t);
            raw_request(&f, &format!("POST {o} HTTP/1.1"), &format!("X-Note: a\r\n X-HTTP-Method-Override: DELETE\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()))
        },
    );
    add(
        "a NUL byte in a header value".into(),
        "transport: header values without control bytes (hyper)",
        Expect::Http,
        &|t| {
            let body = p.order_body(t);
            raw_request(&f, &format!("POST {o} HTTP/1.1"), &format!("X-Note: a\0b\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()))
        },
    );
    add(
        "a raw NUL in the target".into(),
        "transport: the target is visible ASCII (hyper)",
        Expect::Http,
        &|t| {
            raw_request(
                &f,
                &format!("GET {w}\0?clientId={t} HTTP/1.1"),
                "Connection: close\r\n\r\n",
            )
        },
    );
    add(
        "h2c prior-knowledge preface".into(),
        "transport: HTTP/1.1 only, no HTTP/2",
        Expect::Http,
        &|t| {
            // The preface, then a SETTINGS frame and (as a request would) the tag in a DATA-like blob.
            let mut r = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            r.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
            r.extend_from_slice(format!("POST {w} clientId={t}").as_bytes());
            r
        },
    );
    add(
        "pipelined: a withdrawal behind an allowed order".into(),
        "transport: each request on a connection is checked on its own",
        Expect::Pipelined(403, "hard_deny"),
        &|t| {
            let ctl = tag("ctl");
            let first =
                String::from_utf8(request(&f, p, "POST", &o, &[], Some(&p.order_body(&ctl))))
                    .unwrap()
                    .replace("Connection: close\r\n", "");
            let second =
                String::from_utf8(request(&f, p, wm, &w, &[], Some(&p.denied_body(wpath, t))))
                    .unwrap();
            format!("{first}{second}").into_bytes()
        },
    );
    out
}

/// Sends raw bytes; every response read until the server closes (at most `want`).
fn exchange_raw(port: u16, request: &[u8], want: usize) -> Vec<Resp> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to keyward");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(request);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if count_responses(&buf) >= want {
            break;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    split_responses(&buf)
}

fn count_responses(buf: &[u8]) -> usize {
    split_responses(buf).len()
}

/// Splits concatenated responses with Content-Length bodies (keyward's and hyper's answers).
fn split_responses(mut buf: &[u8]) -> Vec<Resp> {
    let mut out = Vec::new();
    while let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&buf[..i]).into_owned();
        let Some(status) = head.split(' ').nth(1).and_then(|s| s.parse().ok()) else {
            break;
        };
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        if buf.len() < i + 4 + len {
            break;
        }
        out.push(Resp {
            status,
            head,
            body: buf[i + 4..i + 4 + len].to_vec(),
        });
        buf = &buf[i + 4 + len..];
    }
    out
}

/// Runs one row; `Err` says what went wrong.
fn run(p: &Profile, f: &Front, case: &Case) -> Result<(), String> {
    let log = mock_log(p.exchange);
    let show = |r: &Resp| format!("{} {}", r.status, String::from_utf8_lossy(&r.body));
    let check_json = |r: &Resp, status: u16, code: &str| -> Result<(), String> {
        let got: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
        // keyward's {"error":{code,message}}, or under "keyward" where the exchange's own error
        // shape owns "error" (Kraken, BitMEX).
        let got_code = got.as_ref().and_then(|v| {
            v["error"]["code"]
                .as_str()
                .or(v["keyward"]["code"].as_str())
                .map(str::to_owned)
        });
        if r.refusal_status() != status || got_code.as_deref() != Some(code) {
            return Err(format!("expected {status} {code}, got {}", show(r)));
        }
        Ok(())
    };
    let outcome = match case.expect {
        Expect::Forwarded => {
            let r = raw(f.port, &case.request);
            match log.records_with(&case.tag).as_slice() {
                [rec] if rec["verified"] != true => {
                    Err(format!("forwarded, but the mock did not verify it: {rec}"))
                }
                [rec] if rec["status"].as_u64() == Some(r.status.into()) => Ok(()),
                [rec] => Err(format!(
                    "forwarded (mock answered {}), but keyward answered {}",
                    rec["status"],
                    show(&r)
                )),
                recs => Err(format!(
                    "control forwarded {} times: {}",
                    recs.len(),
                    show(&r)
                )),
            }
        }
        Expect::Json(status, code) => check_json(&raw(f.port, &case.request), status, code),
        Expect::Http => {
            let rs = exchange_raw(f.port, &case.request, 1);
            match rs.first() {
                None => Ok(()),
                Some(r) if (400..500).contains(&r.status) => Ok(()),
                Some(r) => Err(format!(
                    "expected a 4xx or a closed connection, got {}",
                    show(r)
                )),
            }
        }
        Expect::Pipelined(status, code) => {
            let rs = exchange_raw(f.port, &case.request, 2);
            match rs.as_slice() {
                [first, second, ..] if first.status < 400 => check_json(second, status, code),
                [first, ..] => Err(format!(
                    "the allowed first request was refused: {}",
                    show(first)
                )),
                [] => Err("no response".to_owned()),
            }
        }
    };
    let leaked = log.records_with(&case.tag);
    match (outcome, case.expect, leaked.is_empty()) {
        (Err(e), _, _) => Err(e),
        (Ok(()), Expect::Forwarded, _) => Ok(()),
        (Ok(()), _, true) => Ok(()),
        (Ok(()), _, false) => Err(format!("FORWARDED to the mock: {leaked:?}")),
    }
}

/// Runs the table of `exchange`; panics listing every failing row.
pub(super) fn run_table(exchange: &str) {
    let p = PROFILES.iter().find(|p| p.exchange == exchange).unwrap();
    let f = front(exchange);
    let table = cases(p);
    let mut failures = Vec::new();
    for case in &table {
        if let Err(e) = run(p, &f, case) {
            failures.push(format!(
                "  {exchange}: {} [rule: {}]: {e}",
                case.name, case.rule
            ));
        }
    }
    let controls = format!("ctl{}x", std::process::id());
    let strays: Vec<String> = mock_log(exchange)
        .lines()
        .into_iter()
        .filter(|l| !l.contains(&controls))
        // keyward's own key-permission check at start-up (scripts/mocks/permissions.py)
        .filter(|l| !l.contains("\"permissions_mode\""))
        .collect();
    if !strays.is_empty() {
        failures.push(format!(
            "  {exchange}: the mock holds requests that are not controls: {strays:#?}"
        ));
    }
    eprintln!(
        "{exchange}: {} bypass cases, {} failed",
        table.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} {exchange} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

/// The number of rows per exchange (for the README figure).
pub(super) fn count() -> Vec<(&'static str, usize)> {
    PROFILES
        .iter()
        .map(|p| (p.exchange, cases(p).len()))
        .collect()
}
