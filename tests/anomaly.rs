//! Anomaly triggers, the kept kill-switch state and the admin API's audit, against the real
//! binary, SoftHSM and the Binance mock: a hard-deny hit disables its client by default (and the
//! disable survives a restart until an operator enables it), a new source address under
//! `on_new_source = "disable"`, a `deny_burst`; every admin action and fired trigger is in the
//! audit chain, which still verifies.
//!
//! Each test writes its own config with its own audit log (so its own `<audit log>.state`) and
//! admin port, and runs its own `keyward serve`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use serde_json::Value;

use common::free_port;
use common::{build, raw, read_response, sha256_hex, tag, Env, Keyward, Resp, ALT, MAIN};

static ENV: LazyLock<Env> = LazyLock::new(Env::start);

const ADMIN_TOKEN: &str = "admin-token-of-the-anomaly-tests";

/// One test's keyward: its config (grid-bot with `grid` as its trigger lines), audit log and
/// admin port.
struct Case {
    config: PathBuf,
    audit: PathBuf,
    admin_port: u16,
}

impl Case {
    fn new(name: &str, grid: &str) -> Case {
        let audit: &'static str = Box::leak(format!("audit-{name}.jsonl").into_boxed_str());
        let spec = common::ConfigSpec {
            audit,
            ..Default::default()
        };
        let config = ENV.write_config(&format!("{name}.toml"), &spec);
        let text = std::fs::read_to_string(&config).unwrap();
        // grid-bot is the first client; the builder lifts its on_hard_deny, which this puts back.
        let lifted = "on_hard_deny = \"log\"\nallow = [\n";
        assert!(text.contains(lifted));
        let admin_port = free_port();
        let text = text.replacen(lifted, &format!("{grid}\nallow = [\n"), 1)
            + &format!(
                "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_sha256 = \"{}\"\n",
                sha256_hex(ADMIN_TOKEN)
            );
        std::fs::write(&config, text).unwrap();
        Case {
            config,
            audit: ENV.dir.join(audit),
            admin_port,
        }
    }

    fn serve(&self, log: &str) -> Keyward {
        ENV.serve(&self.config, log)
    }

    fn state_file(&self) -> PathBuf {
        let mut p = self.audit.clone().into_os_string();
        p.push(".state");
        p.into()
    }

    fn admin(&self, method: &str, target: &str) -> Resp {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let port = self.admin_port;
        raw(
            port,
            &build(port, method, target, &[("Authorization", &auth)], None),
        )
    }

    fn status(&self) -> Value {
        let r = self.admin("GET", "/status");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    fn records(&self, event: &str) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r["event"] == event)
            .collect()
    }

    /// `keyward audit verify` accepts the log.
    fn verify(&self) {
        let out = ENV.run(
            &[
                "audit",
                "verify",
                self.audit.to_str().unwrap(),
                "--config",
                self.config.to_str().unwrap(),
            ],
            None,
        );
        assert!(
            out.status.success(),
            "audit verify refused the log:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn client<'v>(status: &'v Value, name: &str) -> &'v Value {
    status["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no client {name} in {status}"))
}

/// A signed read of grid-bot (or `token`'s client) through `kw`.
fn read(kw: &Keyward, token: &str, credential: &str) -> Resp {
    let target = format!("/{credential}/api/v3/openOrders?x={}", tag("r"));
    raw(
        kw.port,
        &build(kw.port, "GET", &target, &[("X-MBX-APIKEY", token)], None),
    )
}

/// The same read, sent from the source address `from` (another loopback address).
fn read_from(kw: &Keyward, from: &str, token: &str) -> Resp {
    let target = format!("/{MAIN}/api/v3/openOrders?x={}", tag("r"));
    let request = build(kw.port, "GET", &target, &[("X-MBX-APIKEY", token)], None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
        let to: SocketAddr = format!("127.0.0.1:{}", kw.port).parse().unwrap();
        socket.connect(to).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    let mut stream = stream;
    use std::io::Write;
    stream.write_all(&request).unwrap();
    read_response(&mut stream, false).unwrap()
}

fn withdraw(kw: &Keyward, token: &str, credential: &str) -> Resp {
    let body = format!("coin=USDT&address=x&amount=1&withdrawOrderId={}", tag("w"));
    let target = format!("/{credential}/sapi/v1/capital/withdraw/apply");
    raw(
        kw.port,
        &build(
            kw.port,
            "POST",
            &target,
            &[("X-MBX-APIKEY", token)],
            Some(&body),
        ),
    )
}

/// An order grid-bot's rule denies (a symbol it does not list).
fn denied_order(kw: &Keyward) -> Resp {
    let body = format!(
        "symbol=DOGEUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=1&newClientOrderId={}",
        tag("d")
    );
    raw(
        kw.port,
        &build(
            kw.port,
            "POST",
            &format!("/{MAIN}/api/v3/order"),
            &[("X-MBX-APIKEY", &ENV.token)],
            Some(&body),
        ),
    )
}

fn stop(kw: Keyward) {
    kw.terminate();
    assert!(kw.wait_exit(Duration::from_secs(20)).is_some());
}

fn wait_for(path: &Path, needle: &str) -> String {
    for _ in 0..200 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{} never contained {needle}", path.display());
}

#[test]
fn a_hard_deny_disables_its_client_by_default_until_an_operator_enables_it_across_a_restart() {
    let case = Case::new("hard-deny", "");
    let kw = case.serve("keyward-hard-deny.log");
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);

    // The withdrawal is refused, and it disables grid-bot: its next request is refused too.
    withdraw(&kw, &ENV.token, MAIN).assert_error(403, "hard_deny");
    let r = read(&kw, &ENV.token, MAIN);
    r.assert_error(403, "client_disabled");
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("on_hard_deny")
            && message.contains("keyward admin enable client grid-bot"),
        "{message}"
    );
    // alt-bot has on_hard_deny = "log": refused, still enabled; other clients are untouched.
    withdraw(&kw, &ENV.token_alt, ALT).assert_error(403, "hard_deny");
    assert_eq!(read(&kw, &ENV.token_alt, ALT).status, 200);

    let anomalies = case.records("anomaly");
    assert_eq!(anomalies.len(), 2, "{anomalies:?}");
    assert_eq!(anomalies[0]["trigger"], "on_hard_deny");
    assert_eq!(anomalies[0]["client"], "grid-bot");
    assert_eq!(anomalies[0]["action"], "disable");
    assert!(anomalies[0]["reason"]
        .as_str()
        .unwrap()
        .contains("/sapi/v1/capital/withdraw/apply"));
    assert_eq!(anomalies[1]["client"], "alt-bot");
    assert_eq!(anomalies[1]["action"], "log");
    assert!(kw.log_text().contains("anomaly trigger fired"));

    let status = case.status();
    let grid = client(&status, "grid-bot");
    assert_eq!(grid["state"], "disabled");
    assert_eq!(grid["disabled_by"], "on_hard_deny");
    assert!(grid["disabled_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(grid["requests"], 3);
    assert_eq!(grid["denied"], 1);
    assert!(grid["last_source"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert_eq!(grid["triggers"]["on_hard_deny"], "disable");
    assert_eq!(client(&status, "alt-bot")["state"], "enabled");

    // A restart keeps it disabled (the state file beside the audit log says so).
    stop(kw);
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(case.state_file()).unwrap()).unwrap();
    assert_eq!(state["disabled"][0]["name"], "grid-bot", "{state}");
    let kw = case.serve("keyward-hard-deny-2.log");
    assert!(kw.log_text().contains("client grid-bot is disabled"));
    read(&kw, &ENV.token, MAIN).assert_error(403, "client_disabled");

    // Until an operator enables it (audited), across the next restart too.
    let r = case.admin("POST", "/clients/grid-bot/enable");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["changed"], true);
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    stop(kw);
    let kw = case.serve("keyward-hard-deny-3.log");
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    let admin = case.records("admin");
    assert_eq!(admin.len(), 1, "{admin:?}");
    assert_eq!(admin[0]["action"], "enable");
    assert_eq!(admin[0]["target"], "client");
    assert_eq!(admin[0]["name"], "grid-bot");
    assert_eq!(admin[0]["result"], "enabled");
    assert_eq!(admin[0]["status"], 200);
    stop(kw);
    case.verify();
}

#[test]
fn a_request_from_a_new_source_address_disables_under_on_new_source_disable() {
    let case = Case::new(
        "new-source",
        "on_hard_deny = \"log\"\non_new_source = \"disable\"",
    );
    let kw = case.serve("keyward-new-source.log");
    // The first source address is learned.
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    // grid-bot from 127.0.0.2: refused and disabled, also from its learned address afterwards.
    let r = read_from(&kw, "127.0.0.2", &ENV.token);
    r.assert_error(403, "client_disabled");
    assert!(r.text().contains("127.0.0.2"), "{}", r.text());
    let status = case.status();
    let grid = client(&status, "grid-bot");
    assert_eq!(grid["disabled_by"], "on_new_source");
    assert!(grid["last_source"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.2:"));
    assert_eq!(grid["requests"], 3);
    read(&kw, &ENV.token, MAIN).assert_error(403, "client_disabled");
    let anomalies = case.records("anomaly");
    assert_eq!(anomalies.len(), 1, "{anomalies:?}");
    assert_eq!(anomalies[0]["trigger"], "on_new_source");
    assert!(anomalies[0]["source"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.2:"));
    let state = std::fs::read_to_string(case.state_file()).unwrap();
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(
        state["sources"]["grid-bot"],
        serde_json::json!(["127.0.0.1"])
    );

    // Enabling accepts the new address; a third one fires again.
    assert_eq!(case.admin("POST", "/clients/grid-bot/enable").status, 200);
    assert_eq!(read_from(&kw, "127.0.0.2", &ENV.token).status, 200);
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    read_from(&kw, "127.0.0.3", &ENV.token).assert_error(403, "client_disabled");
    stop(kw);
    case.verify();
}

#[test]
fn a_new_source_is_only_logged_by_default() {
    let case = Case::new("new-source-log", "on_hard_deny = \"log\"");
    let kw = case.serve("keyward-new-source-log.log");
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    assert_eq!(read_from(&kw, "127.0.0.2", &ENV.token).status, 200);
    assert_eq!(read_from(&kw, "127.0.0.2", &ENV.token).status, 200);
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    let anomalies = case.records("anomaly");
    assert_eq!(anomalies.len(), 1, "{anomalies:?}");
    assert_eq!(anomalies[0]["action"], "log");
    let log = wait_for(&kw.log, "anomaly trigger fired");
    assert!(log.contains("WARN"), "{log}");
    // A "log" client's learned addresses are written at shutdown (not on the request path).
    assert!(!case.state_file().exists());
    stop(kw);
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(case.state_file()).unwrap()).unwrap();
    assert_eq!(
        state["sources"]["grid-bot"],
        serde_json::json!(["127.0.0.1", "127.0.0.2"])
    );
    // After a restart both are known: no new report.
    let kw = case.serve("keyward-new-source-log-2.log");
    assert_eq!(read_from(&kw, "127.0.0.2", &ENV.token).status, 200);
    assert_eq!(case.records("anomaly").len(), 1);
    stop(kw);
}

#[test]
fn a_deny_burst_disables_on_reaching_its_count() {
    let case = Case::new(
        "deny-burst",
        "on_hard_deny = \"log\"\ndeny_burst = { count = 3, window_s = 60 }",
    );
    let kw = case.serve("keyward-deny-burst.log");
    let get = |target: &str| {
        raw(
            kw.port,
            &build(
                kw.port,
                "GET",
                target,
                &[("X-MBX-APIKEY", &ENV.token)],
                None,
            ),
        )
    };
    // A policy denial, and a request refused for what it asked once the client is known
    // (a parameter given twice); a served request does not count.
    denied_order(&kw).assert_error(403, "constraint");
    get(&format!(
        "/{MAIN}/api/v3/openOrders?symbol=BTCUSDT&symbol=ETHUSDT"
    ))
    .assert_error(400, "bad_params");
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    denied_order(&kw).assert_error(403, "constraint");
    read(&kw, &ENV.token, MAIN).assert_error(403, "client_disabled");
    let status = case.status();
    let grid = client(&status, "grid-bot");
    assert_eq!(grid["disabled_by"], "deny_burst");
    assert_eq!(grid["denied"], 3);
    assert_eq!(grid["triggers"]["deny_burst"]["count"], 3);
    let anomalies = case.records("anomaly");
    assert_eq!(anomalies.len(), 1, "{anomalies:?}");
    assert_eq!(anomalies[0]["trigger"], "deny_burst");
    assert!(
        anomalies[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("3 denied requests within 60 s (the last: POST /api/v3/order"),
        "{}",
        anomalies[0]["reason"]
    );
    stop(kw);
    case.verify();
}

#[test]
fn a_corrupt_state_file_refuses_start_up_and_says_how_to_reset() {
    let case = Case::new("corrupt-state", "");
    std::fs::write(case.state_file(), "{ not json").unwrap();
    let out = ENV.run(&["serve", "--config", case.config.to_str().unwrap()], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("state file") && stderr.contains(".bad"),
        "{stderr}"
    );
    std::fs::rename(case.state_file(), case.audit.with_extension("state.bad")).unwrap();
    // A valid file that still disables a client the config no longer has.
    std::fs::write(
        case.state_file(),
        r#"{"version":1,"disabled":[{"target":"client","name":"gone-bot","by":"operator","at":"2026-12-01T00:00:00Z","reason":"r"}]}"#,
    )
    .unwrap();
    let kw = case.serve("keyward-corrupt-state.log");
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    case.admin("POST", "/clients/gone-bot/disable")
        .assert_error(404, "not_found");
    let r = case.admin("POST", "/clients/gone-bot/enable");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["changed"], true);
    let state = std::fs::read_to_string(case.state_file()).unwrap();
    assert!(!state.contains("gone-bot"), "{state}");
    stop(kw);
}

/// `keyward admin ARGS` with `env` set; its exit code, stdout and stderr.
fn admin_cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut envs = ENV.envs.clone();
    envs.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut all = vec!["admin"];
    all.extend_from_slice(args);
    let out = common::run_keyward(&ENV.dir, &envs, &all, None);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_admin_cli_runs_each_command_and_exits_non_zero_when_refused() {
    use std::os::unix::fs::PermissionsExt;
    let case = Case::new("admin-cli", "on_hard_deny = \"log\"");
    let kw = case.serve("keyward-admin-cli.log");
    let token_file = ENV.dir.join("admin-cli.token");
    std::fs::write(&token_file, format!("{ADMIN_TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = case.config.to_str().unwrap();
    let file = token_file.to_str().unwrap();
    let url = format!("http://127.0.0.1:{}", case.admin_port);
    let by_env = [("KEYWARD_ADMIN_TOKEN", ADMIN_TOKEN)];

    // status: pretty JSON, the address from --config, the token from --token-file.
    let (code, out, err) = admin_cli(&["status", "--config", config, "--token-file", file], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\n  \"clients\": ["), "{out}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(client(&status, "grid-bot")["state"], "enabled");

    // disable / enable a client, then a credential: --url, the token from the environment.
    let (code, out, err) = admin_cli(&["disable", "client", "grid-bot", "--url", &url], &by_env);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (answer["state"].as_str(), answer["changed"].as_bool()),
        (Some("disabled"), Some(true))
    );
    read(&kw, &ENV.token, MAIN).assert_error(403, "client_disabled");
    let (code, _, err) = admin_cli(&["enable", "client", "grid-bot", "--url", &url], &by_env);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    let (code, _, err) = admin_cli(&["disable", "credential", MAIN, "--url", &url], &by_env);
    assert_eq!(code, 0, "{err}");
    read(&kw, &ENV.token, MAIN).assert_error(403, "credential_disabled");
    assert_eq!(read(&kw, &ENV.token_alt, ALT).status, 200);
    let (code, _, err) = admin_cli(&["enable", "credential", MAIN, "--url", &url], &by_env);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);

    // Refusals exit 1 with the server's code and message.
    let (code, _, err) = admin_cli(&["disable", "client", "nobody", "--url", &url], &by_env);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("404 not_found") && err.contains("nobody"),
        "{err}"
    );
    let (code, _, err) = admin_cli(
        &["status", "--url", &url],
        &[("KEYWARD_ADMIN_TOKEN", "not-the-admin-token")],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("401 admin_unauthenticated"), "{err}");

    // reload: applied, then a broken file refused (422) with the config in force kept.
    let (code, out, err) = admin_cli(&["reload", "--config", config, "--token-file", file], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"reloaded\":true"), "{out}");
    let good = std::fs::read_to_string(&case.config).unwrap();
    std::fs::write(&case.config, format!("{good}bogus_knob = 1\n")).unwrap();
    let (code, _, err) = admin_cli(&["reload", "--url", &url, "--token-file", file], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("422 reload_refused") && err.contains("bogus_knob"),
        "{err}"
    );
    assert_eq!(read(&kw, &ENV.token, MAIN).status, 200);
    std::fs::write(&case.config, good).unwrap();

    // The token never comes from argv; a token file others can read is refused.
    let (code, _, err) = admin_cli(&["status", "--url", &url], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("KEYWARD_ADMIN_TOKEN"), "{err}");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = admin_cli(&["status", "--url", &url, "--token-file", file], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("chmod 600"), "{err}");

    // Every admin action is in the audit chain (a successful status poll is not).
    let admin: Vec<(String, String)> = case
        .records("admin")
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {} {}",
                    r["action"].as_str().unwrap(),
                    r["target"].as_str().unwrap(),
                    r["name"].as_str().unwrap()
                ),
                r["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = |a: &str, r: &str| (a.to_owned(), r.to_owned());
    assert_eq!(
        admin,
        [
            expect("disable client grid-bot", "disabled"),
            expect("enable client grid-bot", "enabled"),
            expect(&format!("disable credential {MAIN}"), "disabled"),
            expect(&format!("enable credential {MAIN}"), "enabled"),
            expect("disable client nobody", "not_found"),
            expect("status  ", "admin_unauthenticated"),
            expect("reload  ", "reloaded"),
            expect("reload  ", "reload_refused"),
        ]
    );
    let refused = &case.records("admin")[7];
    assert!(refused["reason"].as_str().unwrap().contains("bogus_knob"));
    assert!(refused["source"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    stop(kw);
    case.verify();
}
