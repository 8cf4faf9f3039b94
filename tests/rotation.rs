//! Issue 11, "Rotation and expiry", against the real binary, a real SoftHSM token and the mock
//! exchange: `keyward rotate` under load (pin, SIGHUP, the new key signs with no failed
//! request), a broken pin on reload changing nothing, and key versions that expire (at start and
//! while serving) answered 403 `credential_expired` while the other credential keeps working.

mod common;

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{repin, sha256_hex_bytes, Env, ALT, MAIN};
use serde_json::Value;

const DAY: Duration = Duration::from_secs(86_400);

/// A tag no other tag of this process starts with (the mock's record is searched by substring).
fn unique(prefix: &str) -> String {
    common::tag(prefix) + "e"
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `keyward rotate` of `credential` with `key`/`secret` on stdin; its stdout lines.
fn rotate(env: &Env, credential: &str, input: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "rotate",
        "--config",
        "keyward.toml",
        "--credential",
        credential,
    ];
    args.extend_from_slice(extra);
    let out = env.run(&args, Some(input));
    assert!(out.status.success(), "rotate: {}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().map(str::to_owned).collect()
}

/// A signed read of `credential` by `token` tagged `t`: its status and body.
fn read(port: u16, credential: &str, token: &str, t: &str) -> common::Resp {
    let target = format!("/{credential}/api/v3/account?omitZeroBalances={t}");
    common::raw(
        port,
        &common::build(port, "GET", &target, &[("X-MBX-APIKEY", token)], None),
    )
}

/// The request records of `credential` in the audit log, in order.
fn request_records(env: &Env, credential: &str) -> Vec<Value> {
    env.audit_records()
        .into_iter()
        .filter(|r| r["event"] == "request" && r["credential"] == credential)
        .collect()
}

#[test]
fn a_rotation_under_load_fails_no_request_and_the_new_key_signs_after_reload() {
    let env = Env::start();
    let port = env.port();
    let vault_path = env.dir.join(format!("vault/{MAIN}.kwv"));
    let v1_bytes = std::fs::read(&vault_path).unwrap();

    // Two bots read continuously through the whole rotation (~20 requests a second).
    let stop = Arc::new(AtomicBool::new(false));
    let loops: Vec<_> = (0..2)
        .map(|i| {
            let (stop, token) = (stop.clone(), env.token.clone());
            std::thread::spawn(move || {
                let mut results = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = unique(&format!("load{i}n"));
                    let r = read(port, MAIN, &token, &t);
                    results.push((t, r.status, r.text()));
                    // ~20 reads a second in all: within Binance's request weight (account: 20).
                    std::thread::sleep(Duration::from_millis(50));
                }
                results
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));

    // The new key (one the mock knows) on stdin; a version 1 file needs the recipient once.
    let input = format!("{}\n{}\n", env.api_key_alt, env.secret_alt);
    let lines = rotate(&env, MAIN, &input, &["--recipient", "recipient.txt"]);
    let v2_bytes = std::fs::read(&vault_path).unwrap();
    assert_eq!(
        lines,
        [
            "version 2".to_owned(),
            format!("vault_sha256 = \"{}\"", sha256_hex_bytes(&v2_bytes))
        ]
    );
    let file: Value = serde_json::from_slice(&v2_bytes).unwrap();
    assert_eq!(file["keyward_vault"], 3);
    assert_eq!(file["recipient"], env.recipient.as_str());
    assert!(!String::from_utf8_lossy(&v2_bytes).contains(&env.api_key_alt));
    let v1: Value = serde_json::from_slice(&v1_bytes).unwrap();
    assert_eq!(
        file["versions"][0]["ciphertext"], v1["ciphertext"],
        "version 1 kept"
    );
    std::thread::sleep(Duration::from_millis(500));

    // Still version 1 until the pin is pasted and keyward reloads.
    let before = unique("before");
    assert_eq!(read(port, MAIN, &env.token, &before).status, 200);
    assert_eq!(env.the_record(&before)["api_key"], env.api_key.as_str());

    repin(&env.dir, "keyward.toml");
    env.kw.signal(libc::SIGHUP);
    let log = env.kw.wait_log("config reloaded", 1);
    assert!(log.contains("key version 2 of 2"), "{log}");
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::Relaxed);
    let results: Vec<(String, u16, String)> =
        loops.into_iter().flat_map(|h| h.join().unwrap()).collect();

    // Zero failed requests, before, across and after the reload.
    let failed: Vec<_> = results
        .iter()
        .filter(|(_, status, _)| *status != 200)
        .collect();
    assert!(failed.is_empty(), "failed during the rotation: {failed:#?}");
    assert!(results.len() >= 20, "only {} requests", results.len());
    eprintln!(
        "rotation under load: {} requests, none failed, across rotate, pin and SIGHUP",
        results.len()
    );

    // The mock verified every signature; after the reload it sees the new key.
    let after = unique("after");
    assert_eq!(read(port, MAIN, &env.token, &after).status, 200);
    let rec = env.the_record(&after);
    assert_eq!(rec["verified"], true, "{rec:#}");
    assert_eq!(rec["api_key"], env.api_key_alt.as_str());
    let keys: Vec<String> = results
        .iter()
        .map(|(t, _, _)| {
            let rec = env.the_record(t);
            assert_eq!(rec["verified"], true, "{rec:#}");
            rec["api_key"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(keys.contains(&env.api_key) && keys.contains(&env.api_key_alt));

    // The audit log says which version signed: 1, then 2 (at most one straggler per bot that
    // took the old config just before the swap).
    let versions: Vec<u64> = request_records(&env, MAIN)
        .iter()
        .filter(|r| r["client"] == "grid-bot")
        .map(|r| {
            r["key_version"]
                .as_u64()
                .expect("key_version in every routed record")
        })
        .collect();
    let first_2 = versions
        .iter()
        .position(|v| *v == 2)
        .expect("version 2 signed");
    assert!(versions[..first_2].iter().all(|v| *v == 1), "{versions:?}");
    let late_1 = versions[first_2..].iter().filter(|v| **v == 1).count();
    assert!(late_1 <= 2, "{versions:?}");
    assert_eq!(versions.last(), Some(&2));
    let alt = request_records(&env, ALT);
    assert!(alt
        .iter()
        .all(|r| r["key_version"] == 1 || r["key_version"].is_null()));
}

#[test]
fn a_reload_with_a_wrong_pin_or_a_broken_vault_keeps_the_old_key() {
    let env = Env::start();
    let port = env.port();
    let config = env.dir.join("keyward.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    let old_pin = common::vault_pin(&env.dir, MAIN);
    let input = format!("{}\n{}\n", env.api_key_alt, env.secret_alt);
    rotate(&env, MAIN, &input, &["--recipient", &env.recipient]);

    // A pin that names no file's digest: the whole reload is refused, version 1 keeps signing.
    let zeros = good.replacen(
        &format!("vault_sha256 = \"{old_pin}\""),
        &format!("vault_sha256 = \"{}\"", "0".repeat(64)),
        1,
    );
    assert_ne!(zeros, good);
    std::fs::write(&config, &zeros).unwrap();
    env.kw.signal(libc::SIGHUP);
    let log = env.kw.wait_log("config reload refused", 1);
    let line = log
        .lines()
        .find(|l| l.contains("config reload refused"))
        .unwrap();
    assert!(
        line.contains(MAIN)
            && line.contains("configuration pins")
            && line.contains("nothing of the new file was applied"),
        "{line}"
    );
    let t = unique("kept");
    assert_eq!(read(port, MAIN, &env.token, &t).status, 200);
    assert_eq!(env.the_record(&t)["api_key"], env.api_key.as_str());

    // The right pin on a damaged file: refused too, the old key still signs.
    let vault_path = env.dir.join(format!("vault/{MAIN}.kwv"));
    let mut damaged: Value = serde_json::from_slice(&std::fs::read(&vault_path).unwrap()).unwrap();
    damaged["versions"][1]["created"] = "2020-01-01T00:00:00Z".into();
    std::fs::write(&vault_path, serde_json::to_vec(&damaged).unwrap()).unwrap();
    std::fs::write(&config, &good).unwrap();
    repin(&env.dir, "keyward.toml");
    env.kw.signal(libc::SIGHUP);
    let log = env.kw.wait_log("config reload refused", 2);
    let line = log
        .lines()
        .filter(|l| l.contains("config reload refused"))
        .nth(1)
        .unwrap();
    assert!(line.contains("authentication failed"), "{line}");
    let t = unique("kept");
    assert_eq!(read(port, MAIN, &env.token, &t).status, 200);
    assert_eq!(env.the_record(&t)["api_key"], env.api_key.as_str());
    assert!(env.kw.is_running());
}

fn check(env: &Env, config: &Path) -> Output {
    env.run(&["check", "--config", config.to_str().unwrap()], None)
}

#[test]
fn an_expired_version_is_refused_at_once_and_while_serving_the_others_keep_signing() {
    let env = Env::start();
    // binance-alt: sealed 100 days ago (rotate_after_days defaults to 90): expired at start.
    // binance-main: sealed 90 days less 8 seconds ago: due now, expired 8 s from now.
    env.seal_aged(ALT, (&env.api_key_alt, &env.secret_alt), DAY * 100);
    env.seal_aged(
        MAIN,
        (&env.api_key, &env.secret),
        DAY * 90 - Duration::from_secs(8),
    );
    let main_expires = SystemTime::now() + Duration::from_secs(8);
    repin(&env.dir, "keyward.toml");
    let config = env.dir.join("keyward.toml");
    let admin_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let admin_token = "admin-token-of-the-expiry-test";
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_sha256 = \"{}\"\n",
        common::sha256_hex(admin_token)
    ));
    std::fs::write(&config, text).unwrap();

    // check: every credential listed, the expired one named, exit 1.
    let out = check(&env, &config);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("EXPIRED") && text.contains("100 days ago"),
        "{text}"
    );
    assert!(text.contains("DUE: rotate it soon"), "{text}");
    assert!(stderr(&out).contains("keyward rotate"), "{}", stderr(&out));

    // serve starts (the expired credential does not stop the others) and says so.
    env.kw.stop(); // one audit log, one writer
    let kw = env.serve(&config, "keyward-expiry.log");
    let log = kw.wait_log("credential_expired until it is rotated", 1);
    assert!(log.contains("rotate it soon"), "{log}");

    // GET /status: each credential's version, age, end and standing.
    let bearer = format!("Bearer {admin_token}");
    let status = common::raw(
        admin_port,
        &common::build(
            admin_port,
            "GET",
            "/status",
            &[("Authorization", &bearer)],
            None,
        ),
    );
    assert_eq!(status.status, 200, "{}", status.text());
    let status = status.json();
    let entry = |name: &str| {
        status["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    let (alt, main) = (entry(ALT), entry(MAIN));
    assert_eq!(alt["key_version"], 1);
    assert_eq!(alt["key_versions"], 1);
    assert_eq!(alt["key_age_days"], 100);
    assert_eq!(alt["key_expiry"], "expired");
    assert_eq!(main["key_age_days"], 89);
    assert_eq!(main["key_expiry"], "due");
    let main_end = humantime::parse_rfc3339(main["key_expires"].as_str().unwrap()).unwrap();
    let off = main_end
        .duration_since(main_expires)
        .unwrap_or_else(|e| e.duration());
    assert!(off <= Duration::from_secs(2), "{main:#}");

    let t = unique("alt");
    let r = read(kw.port, ALT, &env.token_alt, &t);
    r.assert_error(403, "credential_expired");
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("keyward rotate") && msg.contains(ALT), "{msg}");
    env.assert_not_forwarded(&t);

    let t = unique("main");
    assert_eq!(
        read(kw.port, MAIN, &env.token, &t).status,
        200,
        "not expired yet"
    );
    assert_eq!(env.the_record(&t)["verified"], true);

    // The moment binance-main expires, its next request is refused (no restart, no reload).
    while SystemTime::now() < main_expires + Duration::from_millis(300) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = unique("main");
    read(kw.port, MAIN, &env.token, &t).assert_error(403, "credential_expired");
    env.assert_not_forwarded(&t);
    let refused: Vec<Value> = request_records(&env, MAIN)
        .into_iter()
        .filter(|r| r["code"] == "credential_expired")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["key_version"], 1);
    assert_eq!(refused[0]["decision"], "refuse");

    // Rotate the expired credential, pin, reload: version 2 signs.
    let input = format!("{}\n{}\n", env.api_key_alt, env.secret_alt);
    let lines = rotate(&env, ALT, &input, &["--recipient", "recipient.txt"]);
    assert_eq!(lines[0], "version 2");
    repin(&env.dir, "keyward.toml");
    kw.signal(libc::SIGHUP);
    kw.wait_log("config reloaded", 1);
    let t = unique("alt");
    let r = read(kw.port, ALT, &env.token_alt, &t);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(env.the_record(&t)["verified"], true);
    let last = request_records(&env, ALT).pop().unwrap();
    assert_eq!(last["key_version"], 2);
}

#[test]
fn a_credential_with_a_passphrase_rotates_and_its_new_version_signs() {
    let env = Env::start_with(common::Options {
        exchanges: &["okx"],
        ..Default::default()
    });
    let okx = env.venue("okx");
    let get = |t: &str| {
        let target = format!("/{}/api/v5/account/balance?ccy={t}", okx.credential);
        let (name, value) = okx.auth_header();
        common::raw(
            env.port(),
            &common::build(env.port(), "GET", &target, &[(name, &value)], None),
        )
    };
    let t = unique("okxa");
    assert_eq!(get(&t).status, 200);
    // The same key, secret and passphrase as a new version (the mock knows one key): what is
    // checked is that rotate reads the passphrase and that version 2, once pinned, signs.
    let lines = rotate(
        &env,
        &okx.credential,
        &okx.sealed,
        &["--recipient", "recipient.txt"],
    );
    assert_eq!(lines[0], "version 2");
    repin(&env.dir, "keyward.toml");
    env.kw.signal(libc::SIGHUP);
    env.kw.wait_log("config reloaded", 1);
    let t = unique("okxb");
    let r = get(&t);
    assert_eq!(r.status, 200, "{}", r.text());
    let recs = okx.log.records_with(&t);
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(recs[0]["verified"], true, "{:#}", recs[0]);
    let versions: Vec<Value> = request_records(&env, &okx.credential)
        .iter()
        .filter(|r| r["client"] != "keyward:permission-check")
        .map(|r| r["key_version"].clone())
        .collect();
    assert_eq!(versions, [1, 2], "{versions:?}");
}

/// `scripts/ws_mock.py` (Binance) for the env, with the test venv's python (it needs
/// `websockets`; scripts/test.sh makes the venv); stopped when dropped.
struct WsMock {
    child: std::process::Child,
    port: u16,
    record: std::path::PathBuf,
}

impl WsMock {
    fn start(env: &Env) -> WsMock {
        use std::io::BufRead;
        let record = env.dir.join("ws-frames.jsonl");
        let mut child = std::process::Command::new(common::vpiv::python())
            .arg(Path::new(common::REPO).join("scripts/ws_mock.py"))
            .args(["--exchange", "binance", "--port", "0", "--cert"])
            .arg(env.dir.join("ca/server.pem"))
            .arg("--key")
            .arg(env.dir.join("ca/server.key"))
            .arg("--credentials")
            .arg(&env.mock_credentials)
            .arg("--record")
            .arg(&record)
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(env.dir.join("ws-mock.stderr.log")).unwrap())
            .spawn()
            .expect("python runs scripts/ws_mock.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let err = std::fs::read_to_string(env.dir.join("ws-mock.stderr.log"));
                panic!("ws_mock.py did not start ({line:?}): {err:?} (it needs the python package websockets: scripts/test.sh makes target/py-venv)")
            });
        WsMock {
            child,
            port,
            record,
        }
    }

    fn frames(&self) -> String {
        std::fs::read_to_string(&self.record).unwrap_or_default()
    }
}

impl Drop for WsMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_websocket_session_whose_key_version_expires_is_closed_on_its_next_frame() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::{self, Message};

    let env = Env::start();
    let ws_mock = WsMock::start(&env);
    // binance-main expires 10 s from now (sealed 90 days less 10 s ago).
    env.seal_aged(
        MAIN,
        (&env.api_key, &env.secret),
        DAY * 90 - Duration::from_secs(10),
    );
    let expires = SystemTime::now() + Duration::from_secs(10);
    let config = env.dir.join("keyward.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "ca = \"ca/ca.pem\" }",
        &format!(
            "ca = \"ca/ca.pem\", ws_base = \"wss://127.0.0.1:{}\" }}",
            ws_mock.port
        ),
    );
    std::fs::write(&config, text).unwrap();
    repin(&env.dir, "keyward.toml");
    env.kw.stop(); // one audit log, one writer
    let kw = env.serve(&config, "keyward-ws-expiry.log");

    let upgrade = || {
        let mut request = format!("ws://127.0.0.1:{}/{MAIN}/ws-api/v3", kw.port)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("X-MBX-APIKEY", env.token.parse().unwrap());
        let stream = std::net::TcpStream::connect(("127.0.0.1", kw.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        tungstenite::client::client(request, stream).map_err(Box::new)
    };
    let (mut ws, _) = upgrade().expect("the upgrade before the expiry is accepted");
    let first = unique("wsa");
    ws.send(Message::text(format!(
        r#"{{"id":"{first}","method":"time"}}"#
    )))
    .unwrap();
    let answer = ws.read().unwrap();
    assert!(
        answer.to_text().unwrap().contains(&first)
            && answer.to_text().unwrap().contains("serverTime"),
        "{answer:?}"
    );
    assert!(ws_mock.frames().contains(&first));
    let frames: Vec<Value> = env
        .audit_records()
        .into_iter()
        .filter(|r| r["event"] == "frame" && r["credential"] == MAIN)
        .collect();
    let ops: Vec<(&str, &Value)> = frames
        .iter()
        .map(|r| (r["op"].as_str().unwrap(), &r["key_version"]))
        .collect();
    assert_eq!(
        ops,
        [("upgrade", &Value::from(1)), ("time", &Value::from(1))]
    );

    while SystemTime::now() < expires + Duration::from_millis(300) {
        std::thread::sleep(Duration::from_millis(100));
    }
    // The open session's next frame: closed with 1008 naming credential_expired, not forwarded.
    let second = unique("wsb");
    ws.send(Message::text(format!(
        r#"{{"id":"{second}","method":"time"}}"#
    )))
    .unwrap();
    let close = match ws.read() {
        Ok(Message::Close(frame)) => frame.expect("a close frame with a code"),
        Ok(other) => panic!("expected the close, got {other:?}"),
        Err(e) => panic!("expected a close frame: {e}"),
    };
    assert_eq!(u16::from(close.code), 1008);
    assert!(close.reason.contains("credential_expired"), "{close:?}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!ws_mock.frames().contains(&second), "{}", ws_mock.frames());

    // A new session is refused at the upgrade.
    match upgrade().map_err(|e| *e) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            assert_eq!(response.status(), 403);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default());
            assert!(body.contains("credential_expired"), "{body}");
        }
        Ok(_) => panic!("the upgrade after the expiry was accepted"),
        Err(e) => panic!("unexpected upgrade failure: {e}"),
    }
}

/// The same rotation with the sealing key on a (virtual) YubiKey: the reload's key agreement
/// runs on the card session `serve` opened at start-up (no second PIN verification).
#[test]
fn a_rotation_reloads_on_the_yubikey_session_serve_holds() {
    if !common::vpiv::available() {
        return;
    }
    let env = Env::start_with(common::Options {
        yubikey: Some(common::vpiv::CardSpec::new("5.7.1", 5700077)),
        ..Default::default()
    });
    let input = format!("{}\n{}\n", env.api_key_alt, env.secret_alt);
    let lines = rotate(&env, MAIN, &input, &["--recipient", "recipient.txt"]);
    assert_eq!(lines[0], "version 2");
    repin(&env.dir, "keyward.toml");
    env.kw.signal(libc::SIGHUP);
    let log = env.kw.wait_log("config reloaded", 1);
    assert!(log.contains("key version 2 of 2"), "{log}");
    let t = unique("yk");
    let r = read(env.port(), MAIN, &env.token, &t);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(env.the_record(&t)["api_key"], env.api_key_alt.as_str());
    let (card, _) = env.yubikey.as_ref().unwrap();
    let card_log = card.log_text();
    // ECDH: one per vault at start-up, one for the reopened vault; the PIN: keygen and serve.
    assert_eq!(
        card_log.matches("INS 87 P1 11 P2 9D: 9000").count(),
        3,
        "{card_log}"
    );
    assert_eq!(
        card_log.matches("INS 20 P1 00 P2 80: 9000").count(),
        2,
        "{card_log}"
    );
}
