//! `[token] kind = "aws-kms"` end to end, the real binary against the loopback KMS stub
//! (tests/support/kms_stub.rs: real RSA-OAEP `Decrypt` with a key it generated, import and
//! `GenerateMac` with the imported material, SigV4 checked): `keyward keygen` creates the sealing
//! key and its alias, `keyward seal` seals offline to the recipient, `check` and `serve` unseal
//! by `Decrypt`, and orders are signed in memory; then `import --in-token` puts binance-main's
//! secret into KMS and orders are signed by `GenerateMac`, which the mock exchange verifies with
//! the real secret. A disabled key or an access key KMS no longer knows makes each request a 503
//! `key_unavailable` with nothing forwarded; a disabled sealing key or a wrong secret access key
//! stops `check` and `serve` at start-up, naming the fix. Prints unseal and signing latencies
//! (the stub's, not AWS's).
#![cfg(feature = "aws-kms")]

mod common;
#[path = "support/kms_stub.rs"]
mod kms_stub;

use std::time::Instant;

use common::bao::text;
use common::in_service::{
    assert_unavailable, import_main, in_service_config, latency, order, signed,
};
use common::{tag, Env, Options, MAIN};
use kms_stub::{KmsStub, State, ACCESS_KEY, ALIAS, KEY_ID, REGION, SECRET_KEY};

/// The AWS SDK's default chain sees these credentials and nothing of the machine's.
fn aws_env(secret_key: &str) -> Vec<(String, String)> {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", secret_key),
        ("AWS_CONFIG_FILE", "/nonexistent/keyward-test/config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/keyward-test/credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
}

/// `keyward ARGS` with the env's environment but `secret_key` as the AWS secret access key.
fn run_with_secret(env: &Env, secret_key: &str, args: &[&str]) -> std::process::Output {
    let mut envs = env.envs.clone();
    envs.extend(aws_env(secret_key));
    common::run_keyward(&env.dir, &envs, args, None)
}

#[test]
fn kms_seals_unseals_and_signs_orders_and_fails_closed() {
    let stub = KmsStub::start(false);
    let section = format!(
        "kind = \"aws-kms\"\nregion = \"{REGION}\"\nkey = \"{ALIAS}\"\nendpoint_url = \"{}\"\n",
        stub.url()
    );
    let env = Env::start_with(Options {
        key_service: Some(section),
        envs: aws_env(SECRET_KEY),
        ..Options::default()
    });
    // keygen created the key under its alias; the recipient names the region and key id.
    let calls = stub.calls();
    assert!(
        calls.starts_with(&[
            "DescribeKey".into(),
            "CreateKey".into(),
            "CreateAlias".into()
        ]),
        "{calls:?}"
    );
    assert!(
        env.recipient
            .starts_with(&format!("kwr1-awskms-rsa3072-v1:{REGION}/{KEY_ID}:")),
        "{}",
        env.recipient
    );
    // serve unsealed both credentials by Decrypt; an order is signed in memory and verified.
    assert!(stub.count("Decrypt") >= 3, "{:?}", stub.calls()); // keygen's trial + 2 vaults
    let id = tag("sealed");
    let r = order(&env, &env.kw, &id);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(env.the_record(&id)["verified"], true);
    env.kw.stop();

    // doctor: the credentials the SDK finds and the sealing key as KMS describes it, all ok.
    let doctor = || {
        let out = env.run(&["doctor", "--config", "keyward.toml"], None);
        (out.status.code(), text(&out))
    };
    let (code, report) = doctor();
    assert_eq!(code, Some(0), "{report}");
    assert!(
        report.contains("ok    aws credentials: access key AKID…TEST found")
            && report.contains(&format!(
                "ok    kms key: AWS KMS key '{ALIAS}' ({KEY_ID}) (KMS endpoint {}): Enabled, \
                 RSA_3072 ENCRYPT_DECRYPT, origin AWS_KMS",
                stub.url()
            )),
        "{report}"
    );
    stub.set_state(State::Disabled);
    let (code, report) = doctor();
    eprintln!("keyward doctor with the key disabled:\n{report}");
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("FIX") && l.contains("kms key:") && l.contains("is Disabled")),
        "{report}"
    );
    assert!(report.contains("enable-key"), "{report}");
    stub.set_state(State::Enabled);

    // Unseal time: `check` of the 2 sealed credentials (one Decrypt each), 5 runs.
    let runs = common::in_service::check_times(&env, "keyward.toml", 5);
    eprintln!(
        "keyward check of 2 credentials sealed to the KMS stub (process start, config, 2 Decrypt \
         calls; the stub's figures, not AWS's): min {:.0} ms, median {:.0} ms, max {:.0} ms",
        runs[0], runs[2], runs[4]
    );

    // A disabled sealing key: check refuses at start-up, naming the fix.
    stub.set_state(State::Disabled);
    let out = env.run(&["check", "--config", "keyward.toml"], None);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("DisabledException") && msg.contains("enable-key"),
        "{msg}"
    );
    stub.set_state(State::Enabled);
    // A wrong secret access key: the SigV4 signature does not match; check and serve refuse.
    for command in ["check", "serve"] {
        let out = run_with_secret(
            &env,
            "not-the-secret-access-key",
            &[command, "--config", "keyward.toml"],
        );
        assert!(!out.status.success(), "{command} started");
        let msg = text(&out);
        assert!(
            msg.contains("InvalidSignatureException")
                && msg.contains("credentials keyward found are not valid"),
            "{command}: {msg}"
        );
        assert!(!msg.contains("not-the-secret-access-key"), "{msg}");
    }

    // import --in-token: two HMAC keys in KMS whose MACs are the secret's own.
    let out = import_main(&env, "vault/in-transit.kwv");
    assert!(out.status.success(), "{}", text(&out));
    let alias = format!("alias/keyward-hmac-{MAIN}");
    {
        let s = stub.lock();
        for suffix in ["-sha256", "-sha512"] {
            let id = &s.hmac_aliases[&format!("{alias}{suffix}")];
            assert!(s.hmac[id].material.is_some(), "{suffix} not imported");
        }
    }
    let vault: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.dir.join("vault/in-transit.kwv")).unwrap())
            .unwrap();
    assert_eq!(
        vault["in_token"],
        serde_json::json!({"type": "hmac", "label": alias}),
        "{vault:#}"
    );
    assert!(!String::from_utf8_lossy(
        &std::fs::read(env.dir.join("vault/in-transit.kwv")).unwrap()
    )
    .contains(&env.secret));
    let out = import_main(&env, "vault/again.kwv");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("already names a KMS key"),
        "{}",
        text(&out)
    );

    // check and serve with binance-main signed in KMS (its sealed vault removed).
    let config = in_service_config(&env, "in-kms.toml", None);
    let t = Instant::now();
    let check = env.run(&["check", "--config", "in-kms.toml"], None);
    let check_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains(&format!("in-token HMAC key '{alias}'")),
        "{}",
        text(&check)
    );
    let kw = env.serve(&config, "serve-in-kms.log");
    let macs = stub.count("GenerateMac");
    let id = tag("kms");
    let r = order(&env, &kw, &id);
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = env.the_record(&id);
    assert_eq!(rec["verified"], true, "{rec:#}");
    assert_eq!(rec["api_key"], env.api_key.as_str(), "{rec:#}");
    assert_eq!(
        stub.count("GenerateMac"),
        macs + 1,
        "the order was not signed in KMS"
    );

    let n = 200;
    let (k50, k99) = latency(n, |i| {
        let r = order(&env, &kw, &format!("{id}-{i}"));
        assert_eq!(r.status, 200, "{}", r.text());
    });
    let (m50, m99) = latency(n, |_| {
        let r = signed(
            &kw,
            &env.token_alt,
            "GET",
            &format!("/{}/api/v3/openOrders?symbol=BTCUSDT", common::ALT),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
    });
    eprintln!(
        "per request through keyward ({n} sequential, loopback KMS stub, not AWS): order signed \
         by GenerateMac p50 {k50:.2} ms p99 {k99:.2} ms; read signed in memory p50 {m50:.2} ms \
         p99 {m99:.2} ms; check with 1 in-KMS + 1 sealed credential {check_ms:.0} ms"
    );
    let tagged = env.mock_records_with(&id);
    assert_eq!(tagged.len(), n + 1);
    assert!(tagged.iter().all(|r| r["verified"] == true));

    // A disabled HMAC key: 503 key_unavailable naming the key and the fix, nothing forwarded.
    stub.set_state(State::Disabled);
    assert_unavailable(
        &env,
        &kw,
        "disabled",
        &["DisabledException", "enable-key", &alias],
    );
    stub.set_state(State::Enabled);
    let id = tag("enabled");
    assert_eq!(order(&env, &kw, &id).status, 200);
    assert_eq!(env.the_record(&id)["verified"], true);
    // An access key KMS no longer knows (deleted in IAM): 503, nothing forwarded.
    stub.lock().access_key_valid = false;
    assert_unavailable(
        &env,
        &kw,
        "revoked",
        &["UnrecognizedClientException", "not valid"],
    );
    assert!(kw.is_running());
    kw.stop();
    // And start-up refuses too, saying what to fix.
    let out = env.run(&["serve", "--config", "in-kms.toml"], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("UnrecognizedClientException"),
        "{}",
        text(&out)
    );
    assert!(!(kw.log_text() + &text(&out)).contains(SECRET_KEY));
}
