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
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text += &format!(
        "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_sha256 = \"{}\"\n",
        sha256_hex(ADMIN_TOKEN)
    );
    std::fs::write(&env.config, text).unwrap();
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
