//! `/readyz` per credential against the real binary, SoftHSM and the mock exchange: a
//! credential whose requests are refused (its key can withdraw, its key version expired, the
//! kill switch) is not counted as serving. Some serving: 200 `"degraded"` naming the others;
//! none: 503 `not_ready`; the body lists each credential with the refusal its requests get, the
//! same one a bot's request does get, and `keyward_credential_serving` says the same. A client
//! added by a reload has its metric series at zero from the reload on.

mod common;

use std::time::{Duration, Instant};

use common::{build, free_port, raw, repin, sha256_hex, tag, Env, Options, Resp, ALT, MAIN};
use serde_json::{json, Value};

const ADMIN_TOKEN: &str = "admin-token-of-the-readiness-test";
const DAY: Duration = Duration::from_secs(86_400);

fn admin(port: u16, method: &str, target: &str) -> Resp {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    raw(
        port,
        &build(port, method, target, &[("Authorization", &auth)], None),
    )
}

/// A signed read of `credential` by its bot: its status and keyward's refusal code, if any.
fn read(env: &Env, port: u16, credential: &str) -> (u16, Option<String>) {
    let token = if credential == ALT {
        &env.token_alt
    } else {
        &env.token
    };
    let target = format!("/{credential}/api/v3/openOrders?x={}", tag("ready"));
    let r = raw(
        port,
        &build(port, "GET", &target, &[("X-MBX-APIKEY", token)], None),
    );
    let code = (r.status >= 400).then(|| r.json()["error"]["code"].as_str().unwrap().to_owned());
    (r.status, code)
}

/// `/readyz`'s entry for `name`.
fn entry<'a>(ready: &'a Value, name: &str) -> &'a Value {
    ready["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing: {ready}"))
}

/// The value of `keyward_credential_serving` for `credential`.
fn serving_gauge(port: u16, credential: &str) -> String {
    let text = admin(port, "GET", "/metrics").text();
    let series =
        format!("keyward_credential_serving{{credential=\"{credential}\",exchange=\"binance\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
        .to_owned()
}

/// Both credentials as `/readyz` and the bots' requests see them (`None`: serving; else the
/// refusal code). Some serving: 200 with each credential's entry; none: 503 naming each.
#[track_caller]
fn assert_standing(env: &Env, port: u16, admin_port: u16, want: [(&str, Option<&str>); 2]) -> Resp {
    let r = admin(admin_port, "GET", "/readyz");
    let ready = r.json();
    for (name, code) in want {
        if r.status == 200 {
            let e = entry(&ready, name);
            assert_eq!(e["serving"], code.is_none(), "{name}: {ready}");
            assert_eq!(e["code"], json!(code), "{name}: {ready}");
            assert_eq!(e["exchange"], "binance", "{ready}");
            if code.is_some() {
                assert!(e["reason"].as_str().unwrap().contains(name), "{ready}");
            }
        } else {
            let message = ready["error"]["message"].as_str().unwrap();
            let code = code.expect("503 only when none serves");
            assert!(message.contains(&format!("{name} ({code})")), "{ready}");
        }
        // A bot's request gets the very refusal readiness names.
        let (status, got) = read(env, port, name);
        match code {
            None => assert_eq!((status, got), (200, None), "{name}"),
            Some(c) => assert_eq!((status, got.as_deref()), (403, Some(c)), "{name}"),
        }
        let gauge = if code.is_none() { "1" } else { "0" };
        assert_eq!(serving_gauge(admin_port, name), gauge, "{name}");
    }
    r
}

/// The config with an admin listener at `admin_port` (and the bots' listener at `bots_port`,
/// when given, instead of a port the kernel picks).
fn with_admin(env: &Env, admin_port: u16, bots_port: Option<u16>) {
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    if let Some(port) = bots_port {
        text = text.replacen(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{port}\""),
            1,
        );
    }
    text += &format!(
        "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_sha256 = \"{}\"\n",
        sha256_hex(ADMIN_TOKEN)
    );
    std::fs::write(&env.config, text).unwrap();
}

/// Reloads through the admin API and waits for its answer.
fn reload(admin_port: u16) {
    let r = admin(admin_port, "POST", "/reload");
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn readiness_follows_what_each_credential_can_serve() {
    let env = Env::start_with(Options {
        key_permissions: &[(ALT, "withdraw")],
        ..Options::default()
    });
    env.kw.stop();
    let admin_port = free_port();
    with_admin(&env, admin_port, None);
    let kw = env.serve(&env.config, "keyward-ready.log");
    // The start-up self-check has run before the bots' listener serves.
    let deadline = Instant::now() + Duration::from_secs(10);
    while entry(&admin(admin_port, "GET", "/readyz").json(), ALT)["code"] != "key_can_withdraw" {
        assert!(Instant::now() < deadline, "the self-check never ran");
        std::thread::sleep(Duration::from_millis(100));
    }

    // binance-alt's key can withdraw throughout; binance-main's standing changes.
    let standing = |main| {
        assert_standing(
            &env,
            kw.port,
            admin_port,
            [(MAIN, main), (ALT, Some("key_can_withdraw"))],
        )
    };
    // A new key version of binance-main, sealed `age` ago, pinned and reloaded.
    let reseal = |age| {
        env.seal_aged(MAIN, (&env.api_key, &env.secret), age);
        repin(&env.dir, "keyward.toml");
        reload(admin_port);
    };

    // One credential serves: ready enough (200), degraded, the other one named.
    let r = standing(None);
    assert_eq!(r.status, 200, "{}", r.text());
    let ready = r.json();
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(
        ready["degraded"],
        json!([format!("{ALT} (key_can_withdraw)")])
    );
    assert_eq!(ready["checks"]["credentials"]["detail"], "1 of 2 serving");

    // binance-main's key version expires (sealed 100 days ago, pinned, reloaded): none serves.
    // The reload also adds a client, whose series are exported at zero from then on.
    let late = "\n[[client]]\nname = \"late-bot\"\ntoken_sha256 = \"";
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    let at = text.find("\n[admin]").unwrap();
    text.insert_str(
        at,
        &format!(
            "{late}{}\"\ncredential = \"{MAIN}\"\nallow = [\"binance:read\"]\n",
            sha256_hex("late-bot-token")
        ),
    );
    std::fs::write(&env.config, text).unwrap();
    let metrics = admin(admin_port, "GET", "/metrics").text();
    assert!(!metrics.contains("late-bot"), "{metrics}");
    reseal(DAY * 100);
    let metrics = admin(admin_port, "GET", "/metrics").text();
    for series in [
        "keyward_requests_total{client=\"late-bot\",credential=\"binance-main\",exchange=\"binance\",rule=\"binance:read\",decision=\"allow\",status=\"200\"} 0",
        "keyward_refusals_total{client=\"late-bot\",code=\"credential_expired\"} 0",
        "keyward_websocket_frames_total{client=\"late-bot\",credential=\"binance-main\",rule=\"\",decision=\"deny\"} 0",
    ] {
        assert!(metrics.contains(series), "{series} missing:\n{metrics}");
    }
    let r = standing(Some("credential_expired"));
    r.assert_error(503, "not_ready");
    // The token and the audit file are fine: only the credentials check failed.
    assert_eq!(
        r.json()["error"]["message"],
        format!(
            "credentials: no credential can serve: {ALT} (key_can_withdraw), {MAIN} (credential_expired)"
        ),
    );

    // A fresh key version for binance-main: degraded again ...
    reseal(Duration::ZERO);
    let r = standing(None);
    assert_eq!(r.status, 200, "{}", r.text());

    // ... until the operator disables it with the kill switch.
    let r = admin(admin_port, "POST", &format!("/credentials/{MAIN}/disable"));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = standing(Some("credential_disabled"));
    r.assert_error(503, "not_ready");
    let r = admin(admin_port, "POST", &format!("/credentials/{MAIN}/enable"));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = admin(admin_port, "GET", "/readyz");
    assert_eq!(r.status, 200, "{}", r.text());
    drop(kw);
}

/// `/readyz` stays 503 until start-up has finished. The mock takes 2.5 s to answer the
/// key-permission self-check, which runs before the bots' listener is bound: every probe
/// meanwhile is 503 `not_ready` naming the start-up, and the first 200 comes only when the
/// bots' port accepts connections.
#[test]
fn readyz_is_503_until_the_self_check_has_run_and_the_listener_is_bound() {
    let env = Env::start_with(Options {
        key_permissions: &[(MAIN, "slow"), (ALT, "slow")],
        ..Options::default()
    });
    env.kw.stop();
    let (admin_port, bots_port) = (free_port(), free_port());
    with_admin(&env, admin_port, Some(bots_port));
    // The prober runs while `serve` starts; it stops at the first 200 (or after 60 s).
    let prober = std::thread::spawn(move || {
        let (mut starting, deadline) = (0, Instant::now() + Duration::from_secs(60));
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", admin_port)).is_err() {
                std::thread::sleep(Duration::from_millis(20));
                continue; // the admin listener is not bound yet
            }
            let r = admin(admin_port, "GET", "/readyz");
            if r.status == 200 {
                let bound = std::net::TcpStream::connect(("127.0.0.1", bots_port)).is_ok();
                return (starting, bound, r.json());
            }
            r.assert_error(503, "not_ready");
            let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
            assert!(
                message.starts_with(
                    "start-up: keyward is starting: the bots' listener is not bound yet"
                ),
                "{message}"
            );
            starting += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("/readyz never answered 200");
    });
    let kw = env.serve(&env.config, "keyward-starting.log");
    let (starting, bound, ready) = prober.join().unwrap();
    assert!(starting > 0, "no probe saw the start-up: {ready}");
    assert!(
        bound,
        "/readyz said ready before the bots' listener was bound: {ready}"
    );
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["listener"]["detail"], "bound", "{ready}");
    assert_eq!(kw.port, bots_port);
    assert_eq!(read(&env, kw.port, MAIN), (200, None));
}
