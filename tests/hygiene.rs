//! Secret hygiene after an end-to-end run: the real API keys and secrets appear nowhere but in
//! the sealed vaults (and on the exchange's side: the mock's credentials and its record of what it
//! received) — not in keyward's stderr log (at `debug` level), the audit log, any response body,
//! any CLI output, or any other file of the run; client tokens and the PIN appear neither in the
//! log nor in the audit file, and client tokens are never forwarded to the exchange.
//!
//! Run with a SoftHSM token and with a virtual YubiKey (whose `yubikey` crate would log raw
//! APDUs, the PIN among them, at trace level: asked for here, and never shown). Each run is
//! sequential, with its own token and keyward.

mod common;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::vpiv::{self, CardSpec};
use common::{build, raw, tag, Env, Options, Resp, ALT, MAIN};

#[test]
fn secrets_appear_only_in_the_vaults() {
    let level = std::env::var("KEYWARD_TEST_HYGIENE_LOG").unwrap_or_else(|_| "trace".to_owned());
    secrets_appear_only_where_they_belong(Options {
        log_level: level,
        ..Options::default()
    });
}

#[test]
fn with_a_yubikey_the_pin_and_secrets_appear_only_where_they_belong() {
    if !vpiv::available() {
        return;
    }
    secrets_appear_only_where_they_belong(Options {
        log_level: "debug,yubikey=trace".to_owned(),
        yubikey: Some(CardSpec {
            pin: "q7Zk93xP",
            ..CardSpec::new("5.7.1", 9100001)
        }),
        ..Options::default()
    });
}

fn secrets_appear_only_where_they_belong(options: Options) {
    let env = Env::start_with(options);
    let p = env.port();
    let tok = env.token.clone();
    let mut responses: Vec<(String, Resp)> = Vec::new();
    let mut send = |what: &str, req: Vec<u8>| {
        let r = raw(p, &req);
        responses.push((what.to_owned(), r.clone()));
        r
    };
    let key_h = |t: &str| vec![("X-MBX-APIKEY".to_owned(), t.to_owned())];
    let req = |method: &str, target: &str, headers: Vec<(String, String)>, body: Option<&str>| {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        build(p, method, target, &h, body)
    };

    // Accepted: a signed order (with a bot's dummy signature), a Bearer read, a key-only call,
    // anonymous and client market data, the other credential.
    let id = tag("hyg");
    let order = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={id}&timestamp=1&signature=0bad"
    );
    let r = send(
        "order",
        req(
            "POST",
            &format!("/{MAIN}/api/v3/order"),
            key_h(&tok),
            Some(&order),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(env.the_record(&id)["verified"], true);
    let r = send(
        "bearer account",
        req(
            "GET",
            &format!("/{MAIN}/api/v3/account"),
            vec![("Authorization".into(), format!("Bearer {tok}"))],
            None,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        "listen key",
        req(
            "POST",
            &format!("/{MAIN}/api/v3/userDataStream"),
            key_h(&tok),
            None,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        "anonymous depth",
        req(
            "GET",
            &format!("/{MAIN}/api/v3/depth?symbol=BTCUSDT"),
            vec![],
            None,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        "alt account",
        req(
            "GET",
            &format!("/{ALT}/api/v3/account"),
            key_h(&env.token_alt),
            None,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // An exchange error passes through (timeInForce missing).
    let r = send(
        "exchange error",
        req(
            "POST",
            &format!("/{MAIN}/api/v3/order"),
            key_h(&tok),
            Some("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.01&price=30000"),
        ),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["code"], -1102, "{}", r.text());

    // Refused, in every stage of the pipeline.
    let refusals: Vec<(&str, Vec<u8>)> = vec![
        (
            "withdrawal",
            req(
                "POST",
                &format!("/{MAIN}/sapi/v1/capital/withdraw/apply"),
                key_h(&tok),
                Some("coin=USDT&address=0xabc&amount=1"),
            ),
        ),
        (
            "transfer",
            req(
                "POST",
                &format!("/{MAIN}/sapi/v1/asset/transfer"),
                key_h(&tok),
                Some("type=MAIN_UMFUTURE&asset=USDT&amount=1"),
            ),
        ),
        (
            "api restrictions",
            req(
                "POST",
                &format!("/{MAIN}/sapi/v1/account/apiRestrictions/ipRestriction"),
                key_h(&tok),
                Some("ipAddress=1.2.3.4&status=2"),
            ),
        ),
        (
            "unknown token",
            req(
                "GET",
                &format!("/{MAIN}/api/v3/account"),
                key_h("kwt_unknown"),
                None,
            ),
        ),
        (
            "the real API key as a token",
            req(
                "GET",
                &format!("/{MAIN}/api/v3/account"),
                key_h(&env.api_key),
                None,
            ),
        ),
        (
            "wrong credential",
            req("GET", &format!("/{ALT}/api/v3/account"), key_h(&tok), None),
        ),
        (
            "over limit",
            req(
                "POST",
                &format!("/{MAIN}/api/v3/order"),
                key_h(&tok),
                Some(&order.replace("quantity=0.01", "quantity=9")),
            ),
        ),
        (
            "bad path",
            req(
                "GET",
                &format!("/{MAIN}/api/v3/%2e%2e/account"),
                key_h(&tok),
                None,
            ),
        ),
        (
            "duplicate",
            req(
                "GET",
                &format!("/{MAIN}/api/v3/openOrders?symbol=A&symbol=B"),
                key_h(&tok),
                None,
            ),
        ),
        (
            "foreign host",
            req(
                "GET",
                &format!("/{MAIN}/api/v3/account"),
                vec![
                    ("Host".into(), "api.binance.com".into()),
                    ("X-MBX-APIKEY".into(), tok.clone()),
                ],
                None,
            ),
        ),
        (
            "json",
            req(
                "POST",
                &format!("/{MAIN}/api/v3/order"),
                vec![
                    ("X-MBX-APIKEY".into(), tok.clone()),
                    ("Content-Type".into(), "application/json".into()),
                ],
                Some("{\"symbol\":\"BTCUSDT\"}"),
            ),
        ),
        (
            "no such credential",
            req("GET", "/nope/api/v3/account", key_h(&tok), None),
        ),
    ];
    for (what, r) in refusals {
        let resp = send(what, r);
        assert!(
            (400..500).contains(&resp.status),
            "{what}: {} {}",
            resp.status,
            resp.text()
        );
    }
    let rate_limited: Vec<u16> = (0..4)
        .map(|_| {
            send(
                "slow",
                req(
                    "GET",
                    &format!("/{MAIN}/api/v3/openOrders"),
                    key_h(&env.token_slow),
                    None,
                ),
            )
            .status
        })
        .collect();
    assert_eq!(rate_limited, [200, 200, 200, 429]);

    // CLI commands' output.
    let mut cli_output = Vec::new();
    for args in [
        vec!["check", "--config", "keyward.toml"],
        vec![
            "policy",
            "explain",
            "--config",
            "keyward.toml",
            "--client",
            "grid-bot",
            "GET",
            "/binance-main/api/v3/account",
        ],
        vec!["keygen", "--config", "keyward.toml"],
        vec!["audit", "verify", "audit.jsonl"],
    ] {
        let out = env.run(&args, None);
        cli_output.push((args.join(" "), out.stdout, out.stderr));
    }
    let out = env.run(
        &[
            "seal",
            "--recipient",
            "recipient.txt",
            "--name",
            "again",
            "--exchange",
            "binance",
            "--out",
            "vault/again.kwv",
        ],
        Some(&format!("{}\n{}\n", env.api_key, env.secret)),
    );
    assert!(out.status.success());
    cli_output.push(("seal".into(), out.stdout, out.stderr));

    // Stop keyward so that its log is complete.
    env.kw.stop();
    let out = env.run(&["audit", "verify", "audit.jsonl"], None);
    assert!(
        out.status.success(),
        "audit verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let secrets = [
        ("API key", env.api_key.as_str()),
        ("secret", env.secret.as_str()),
        ("alt API key", env.api_key_alt.as_str()),
        ("alt secret", env.secret_alt.as_str()),
    ];
    let tokens = [
        ("client token", env.token.as_str()),
        ("alt client token", env.token_alt.as_str()),
        ("slow client token", env.token_slow.as_str()),
        ("PIN", env.pin.as_str()),
    ];

    // Response bodies: no secrets anywhere; keyward's own errors carry no token either.
    for (what, r) in &responses {
        for (name, s) in secrets {
            assert!(
                !common::contains_bytes(&r.body, s) && !r.head.contains(s),
                "the {name} appears in the response to {what}: {}",
                r.text()
            );
        }
        if r.header("content-type").as_deref() == Some("application/json")
            && r.text().starts_with("{\"error\"")
        {
            for (name, s) in tokens {
                assert!(
                    !r.text().contains(s),
                    "the {name} appears in the error for {what}: {}",
                    r.text()
                );
            }
        }
    }
    for (what, stdout, stderr) in &cli_output {
        for (name, s) in secrets.iter().chain(tokens.iter()) {
            assert!(
                !common::contains_bytes(stdout, s) && !common::contains_bytes(stderr, s),
                "the {name} appears in the output of `keyward {what}`"
            );
        }
    }

    // Files: the log and the audit file hold neither secrets nor tokens nor the PIN.
    let log = std::fs::read(&env.kw.log).unwrap();
    let audit = std::fs::read(&env.audit).unwrap();
    let log_text = String::from_utf8_lossy(&log);
    assert!(log_text.contains("refused"), "the log is there");
    assert!(
        !log_text.contains("yubikey::") && !log_text.contains(">>>"),
        "the yubikey crate's (APDU) logging reached the log:\n{log_text}"
    );
    for (name, s) in secrets.iter().chain(tokens.iter()) {
        assert!(
            !common::contains_bytes(&log, s),
            "the {name} appears in keyward's stderr log"
        );
        assert!(
            !common::contains_bytes(&audit, s),
            "the {name} appears in the audit log"
        );
    }
    // No other file of the run holds a secret, except the vaults and the exchange's side.
    let exchange_side: Vec<PathBuf> = vec![env.mock_credentials.clone(), env.mock_record.clone()];
    let mut checked = 0;
    for (path, bytes) in common::all_files(&env.dir) {
        if path.extension().is_some_and(|e| e == "kwv")
            && path.parent() == Some(&env.dir.join("vault"))
        {
            for (name, s) in secrets {
                assert!(
                    !common::contains_bytes(&bytes, s),
                    "the {name} is in clear in the vault {}",
                    path.display()
                );
            }
            continue;
        }
        if exchange_side.contains(&path) {
            continue;
        }
        checked += 1;
        for (name, s) in secrets {
            assert!(
                !common::contains_bytes(&bytes, s),
                "the {name} appears in {}",
                path.display()
            );
        }
    }
    assert!(checked > 10, "scanned {checked} files");

    // The exchange saw the real keys, never a client token.
    let records = std::fs::read(&env.mock_record).unwrap();
    assert!(common::contains_bytes(&records, &env.api_key));
    for (name, s) in tokens {
        assert!(
            !common::contains_bytes(&records, s),
            "the {name} was forwarded to the exchange"
        );
    }
}

/// A `keyward serve` at trace level: its secrets are in locked memory (`VmLck`), it cannot dump
/// core (`RLIMIT_CORE` 0/0, not dumpable), and its argv and environment (the PIN comes from a
/// file) hold no secret, token or PIN.
#[test]
fn the_running_process_locks_its_secrets_and_cannot_dump_them() {
    let env = Env::start_with(Options {
        log_level: "trace".to_owned(),
        ..Options::default()
    });
    let pid = env.kw.pid();
    let proc_file = |name: &str| std::fs::read(format!("/proc/{pid}/{name}")).unwrap();
    let status = String::from_utf8(proc_file("status")).unwrap();
    let field = |name: &str| -> u64 {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"));
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap()
    };
    let locked_kib = field("VmLck:");
    eprintln!("keyward serve (2 credentials): VmLck {locked_kib} kB");
    assert!(
        locked_kib >= 4,
        "no secret page is locked: VmLck {locked_kib} kB"
    );
    let limits = String::from_utf8(proc_file("limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );
    let log = env.kw.log_text();
    assert!(
        log.contains("not dumpable") && !log.contains("cannot lock secret memory"),
        "{log}"
    );
    let cmdline = proc_file("cmdline");
    let environ = proc_file("environ");
    for (name, s) in [
        ("API key", env.api_key.as_str()),
        ("secret", env.secret.as_str()),
        ("client token", env.token.as_str()),
        ("PIN", env.pin.as_str()),
    ] {
        assert!(
            !common::contains_bytes(&cmdline, s),
            "the {name} is in argv"
        );
        assert!(
            !common::contains_bytes(&environ, s),
            "the {name} is in the environment"
        );
    }
}

/// Where `mlock` cannot work (RLIMIT_MEMLOCK 0, no CAP_IPC_LOCK), keyward says so and how to
/// fix it; with `[server] require_locked_memory = true` it refuses to start.
#[test]
fn without_lockable_memory_keyward_warns_or_refuses() {
    let env = Env::start();
    let config = std::fs::read_to_string(env.dir.join("keyward.toml")).unwrap();
    assert!(config.contains("[server]\n"));
    std::fs::write(
        env.dir.join("strict.toml"),
        config.replace("[server]\n", "[server]\nrequire_locked_memory = true\n"),
    )
    .unwrap();
    let check = |file: &str| {
        let mut cmd = Command::new(common::KEYWARD);
        cmd.args(["check", "--config", file])
            .current_dir(&env.dir)
            .stdin(Stdio::null());
        for (k, v) in &env.envs {
            cmd.env(k, v);
        }
        // SAFETY: only syscalls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let zero = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_MEMLOCK, &zero);
                // CAP_IPC_LOCK (14) out of the bounding set: root does not regain it at exec.
                libc::prctl(libc::PR_CAPBSET_DROP, 14, 0, 0, 0);
                Ok(())
            });
        }
        cmd.output().unwrap()
    };
    let out = check("keyward.toml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot lock secret memory") && stderr.contains("RLIMIT_MEMLOCK"),
        "{stderr}"
    );
    let out = check("strict.toml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("refusing to start ([server] require_locked_memory = true)")
            && stderr.contains("RLIMIT_MEMLOCK"),
        "{stderr}"
    );
    // Refused before the token was opened: no PIN was read.
    assert!(!stderr.contains("unsealed"), "{stderr}");
}
