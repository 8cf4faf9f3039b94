//! The session against the Binance protocol with an in-memory audit log: what reaches the
//! exchange, what the bot gets, and one record per decided frame.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use super::*;
use crate::exchange::testing;
use crate::policy::{compile, AllowEntry, RuleEntry};

struct TestBot {
    allow: Allowlist,
    name: &'static str,
}

impl Bot for TestBot {
    fn name(&self) -> &str {
        self.name
    }
    fn allowlist(&self) -> &Allowlist {
        &self.allow
    }
    fn admit(&self, _credential: &str, _peer: SocketAddr) -> Result<(), Refusal> {
        Ok(())
    }
    fn refused(&self, _peer: SocketAddr, _refusal: &Refusal, _what: &str) {}
}

struct TestBots(Vec<(&'static str, TestBot)>);

impl Bots for TestBots {
    fn identify(&self, token: &[u8]) -> Result<&dyn Bot, Refusal> {
        self.0
            .iter()
            .find(|(t, _)| t.as_bytes() == token)
            .map(|(_, b)| b as &dyn Bot)
            .ok_or_else(|| Refusal::unauthenticated("unknown client token"))
    }

    fn by_name(&self, name: &str) -> Option<&dyn Bot> {
        self.0
            .iter()
            .find(|(_, b)| b.name == name)
            .map(|(_, b)| b as &dyn Bot)
    }
}

fn bots() -> TestBots {
    let exchange = crate::exchange::lookup("binance").unwrap();
    let rule = RuleEntry {
        method: "POST".into(),
        path: "/api/v3/order".into(),
        params: BTreeMap::new(),
        max: BTreeMap::from([("quantity".to_owned(), "0.5".to_owned())]),
        ..RuleEntry::default()
    };
    let allow = |entries| compile(exchange, entries).unwrap();
    TestBots(vec![
        (
            "tok-a",
            TestBot {
                allow: allow(vec![
                    AllowEntry::Rule(rule),
                    AllowEntry::Preset("binance:read".into()),
                ]),
                name: "a",
            },
        ),
        (
            "tok-b",
            TestBot {
                allow: allow(vec![]),
                name: "b",
            },
        ),
    ])
}

/// A session of no bot yet on Binance's spot socket with the test bots and the credential
/// `real-key`/`real-secret`, auditing to `audit`; `f` drives it.
fn with_session<R>(
    audit: &(dyn Fn(&Event<'_>) -> crate::Result<u64> + Sync),
    f: impl FnOnce(Session<'_>) -> R,
) -> R {
    let exchange = crate::exchange::lookup("binance").unwrap();
    let protocol = exchange.ws().unwrap();
    let credential = testing::credential("real-key", "real-secret", None);
    let bots = bots();
    let cx = Context {
        id: 7,
        peer: "127.0.0.1:1".parse().unwrap(),
        source: "127.0.0.1:1",
        credential_name: "main",
        key_version: 3,
        credential: &credential,
        exchange,
        protocol,
        route: protocol.route("/ws-api/v3").unwrap(),
        socket: "/ws-api/v3",
        bots: &bots,
        bearers: &Bearers::default(),
        url_bearer: None,
        anonymous_ok: false,
        max_frame: 1024,
        audit,
    };
    f(Session::new(cx, None))
}

/// Runs `frames` through one session; returns the actions of each and the audit records.
fn run(frames: &[&str], audit_ok: bool) -> (Vec<Vec<Action>>, Vec<serde_json::Value>) {
    let records = Mutex::new(Vec::new());
    let audit = |e: &Event<'_>| {
        if !audit_ok {
            return Err(crate::Error::config("disk full"));
        }
        records
            .lock()
            .unwrap()
            .push(serde_json::to_value(e).unwrap());
        Ok(0)
    };
    let actions = with_session(&audit, |mut session| {
        frames
            .iter()
            .map(|f| {
                if *f == "BINARY" {
                    session.binary_from_bot()
                } else {
                    session.from_bot(f)
                }
            })
            .collect::<Vec<_>>()
    });
    let records = records.lock().unwrap().clone();
    (actions, records)
}

const ORDER: &str = r#"{"id":"o1","method":"order.place","params":{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.1","price":"30000","apiKey":"tok-a","timestamp":1,"signature":"dummy"}}"#;
const BIG_ORDER: &str = r#"{"id":"o2","method":"order.place","params":{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"5","price":"30000","apiKey":"tok-a"}}"#;

fn is_close(actions: &[Action], code: u16) -> bool {
    matches!(actions, [Action::Close { code: c, .. }] if *c == code)
}

#[test]
fn an_allowed_order_is_signed_with_the_real_key_and_audited_as_its_rest_endpoint() {
    let (actions, records) = run(&[ORDER], true);
    let [Action::ToExchange(sent)] = &actions[0][..] else {
        panic!("{:?}", actions[0])
    };
    assert!(sent.contains(r#""apiKey":"real-key""#) && !sent.contains("tok-a"));
    assert!(!sent.contains("dummy") && sent.contains(r#""signature":""#));
    let r = &records[0];
    assert_eq!(
        (
            r["event"].as_str(),
            r["op"].as_str(),
            r["method"].as_str(),
            r["path"].as_str()
        ),
        (
            Some("frame"),
            Some("order.place"),
            Some("POST"),
            Some("/api/v3/order")
        )
    );
    assert_eq!(
        (r["decision"].as_str(), r["client"].as_str()),
        (Some("allow"), Some("a"))
    );
    assert_eq!(r["key_version"], 3, "the session's key version signed it");
    assert!(!r.to_string().contains("real-key") && !r.to_string().contains("tok-a"));
}

#[test]
fn an_over_limit_order_is_answered_for_its_id_and_nothing_is_sent() {
    let (actions, records) = run(&[BIG_ORDER, ORDER], true);
    let [Action::ToBot(answer)] = &actions[0][..] else {
        panic!("{:?}", actions[0])
    };
    assert!(answer.starts_with(r#"{"id":"o2","status":403"#), "{answer}");
    assert!(answer.contains("constraint"));
    // the socket stays usable
    assert!(matches!(&actions[1][..], [Action::ToExchange(_)]));
    assert_eq!(records[0]["decision"], "deny");
    assert_eq!(records[0]["path"], "/api/v3/order");
    assert_eq!(records.len(), 2);
}

#[test]
fn unparseable_binary_and_unknown_frames_close_with_1008_after_a_record() {
    let frames = [
        r#"{"id":1,"method":"time","method":"order.place"}"#,
        r#"{"id":1,"method":"time""#,
        "BINARY",
        r#"{"id":1,"method":"sapi.withdraw","params":{}}"#,
        &"x".repeat(2000),
    ];
    let (actions, records) = run(&frames, true);
    for (f, a) in frames.iter().zip(&actions) {
        assert!(is_close(a, POLICY_VIOLATION), "{f}: {a:?}");
    }
    let ops: Vec<_> = records.iter().map(|r| r["op"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        ["unparseable", "unparseable", "binary", "unknown", "frame"]
    );
    assert!(records.iter().all(|r| r["decision"] == "refuse"));
}

#[test]
fn a_second_clients_token_on_the_same_socket_closes_it() {
    let other = ORDER.replace("tok-a", "tok-b");
    let (actions, _) = run(&[ORDER, &other], true);
    assert!(is_close(&actions[1], POLICY_VIOLATION), "{:?}", actions[1]);
}

#[test]
fn without_a_token_private_ops_are_refused_and_a_logon_needs_one() {
    let (actions, _) = run(
        &[
            r#"{"id":1,"method":"account.status","params":{}}"#,
            r#"{"id":2,"method":"session.logon","params":{}}"#,
        ],
        true,
    );
    for a in &actions {
        let [Action::ToBot(answer)] = &a[..] else {
            panic!("{a:?}")
        };
        assert!(answer.contains(r#""status":401"#), "{answer}");
    }
}

#[test]
fn an_audit_failure_closes_the_session_and_sends_nothing() {
    let (actions, _) = run(&[ORDER], false);
    assert!(is_close(&actions[0], INTERNAL_ERROR), "{:?}", actions[0]);
}

#[test]
fn close_reasons_fit_a_close_frame() {
    assert_eq!(close_reason(&"é".repeat(100)).len(), 122);
}

#[test]
fn the_real_api_key_is_redacted_in_exchange_frames() {
    let audit = |_: &Event<'_>| Ok(0);
    let shown = with_session(&audit, |session| {
        session.from_exchange(r#"{"result":{"api_key":"real-key"}}"#.to_owned())
    })
    .unwrap();
    assert_eq!(shown, r#"{"result":{"api_key":"keyward-redacted"}}"#);
}
