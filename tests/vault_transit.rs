//! `[token] kind = "vault"` against a real OpenBao server (tests/common/bao.rs): keygen creates
//! a non-exportable RSA-3072 Transit key and prints its recipient, seal works offline, check and
//! serve unseal through Transit decrypt with a token whose policy allows only read + decrypt on
//! that key, a signed order is verified by the Binance mock; a revoked token, a rotated key
//! (another version) and a deleted key fail closed naming what to fix; the Vault tokens appear
//! in no output or log.

mod common;

use std::path::Path;
use std::time::Instant;

use common::bao::{self, text, write_token, Bao};
use common::{tag, MAIN};

#[test]
fn transit_seals_unseals_and_fails_closed() {
    let Some((
        bao::AdminSetup {
            bao,
            token_file,
            dir: _bao_dir,
            admin_token: admin,
        },
        env,
    )) = bao::transit_env()
    else {
        return;
    };
    assert!(
        env.recipient
            .starts_with("kwr1-transit-rsa3072-v1:transit/keyward-seal:"),
        "{}",
        env.recipient
    );
    let key = bao.ok(&["read", "-format=json", "transit/keys/keyward-seal"]);
    let key: serde_json::Value = serde_json::from_slice(&key.stdout).unwrap();
    assert_eq!(key["data"]["type"], "rsa-3072");
    assert_eq!(key["data"]["exportable"], false);
    assert_eq!(key["data"]["allow_plaintext_backup"], false);
    // keygen again adopts the same key (same recipient).
    let again = env.run(
        &[
            "keygen",
            "--config",
            "keyward.toml",
            "--algorithm",
            "rsa3072",
        ],
        None,
    );
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), env.recipient);
    // A Transit key service keeps no exchange key pairs, so it has no PIV slot either.
    let out = env.run(
        &[
            "import",
            "--config",
            "keyward.toml",
            "--name",
            "in-vault",
            "--exchange",
            "binance",
            "--in-token",
            "--slot",
            "82",
            "--out",
            "vault/in-vault.kwv",
        ],
        Some("KEY\nSECRET\n"),
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("drop --slot"), "{}", text(&out));
    assert!(!env.dir.join("vault/in-vault.kwv").exists());
    env.kw.stop();

    // From here keyward has only the serve policy: read the key, decrypt with it.
    let serve_token = bao.token("keyward");
    write_token(&token_file, &serve_token);
    let check = env.run(&["check", "--config", "keyward.toml"], None);
    assert!(check.status.success(), "{}", text(&check));
    let doctor = env.run(&["doctor", "--config", "keyward.toml"], None);
    let report = text(&doctor);
    assert!(doctor.status.success(), "{report}");
    assert!(
        report.contains("Transit key is used over its HTTP API")
            && report.contains("ok    vault token: Vault token file")
            && report.contains("ok    sealing key: Transit key 'transit/keyward-seal' version 1"),
        "{report}"
    );
    // Unseal time: `keyward check`, whole process, two credentials (each a GET of the key and
    // a Transit decrypt, one connection per call).
    let times = common::in_service::check_times(&env, "keyward.toml", 5);
    eprintln!(
        "keyward check (2 credentials through Transit): median {:.1} ms, min {:.1} ms",
        times[2], times[0]
    );
    let started = Instant::now();
    let kw = env.serve(&env.config, "serve-transit.log");
    eprintln!(
        "keyward serve listening after {:.0} ms (2 credentials unsealed through Transit)",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let id = tag("vault");
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=20000&newClientOrderId={id}"
    );
    let r = common::raw(
        kw.port,
        &common::build(
            kw.port,
            "POST",
            &format!("/{MAIN}/api/v3/order"),
            &[
                ("X-MBX-APIKEY", env.token.as_str()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(&body),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = env.the_record(&id);
    assert_eq!(rec["verified"], true, "{rec:#}");
    assert_eq!(rec["api_key"], env.api_key.as_str(), "{rec:#}");
    kw.stop();

    // A revoked token fails closed, naming the token source and the fix.
    bao.ok(&["token", "revoke", &serve_token]);
    let out = env.run(&["check", "--config", "keyward.toml"], None);
    assert!(!out.status.success());
    let msg = text(&out);
    eprintln!("refused as expected: {}", msg.trim());
    assert!(
        msg.contains("HTTP 403")
            && msg.contains("revoked or expired")
            && msg.contains("vault-token"),
        "{msg}"
    );

    // Another key version: the vaults are sealed to version 1, the key's newest is 2.
    bao.ok(&["write", "-f", "transit/keys/keyward-seal/rotate"]);
    write_token(&token_file, &bao.token("keyward"));
    let out = env.run(&["check", "--config", "keyward.toml"], None);
    assert!(!out.status.success());
    let msg = text(&out);
    eprintln!("refused as expected: {}", msg.trim());
    assert!(
        msg.contains("Transit key 'transit/keyward-seal' version 2")
            && msg.contains("reseal the credential"),
        "{msg}"
    );

    // A deleted key.
    bao.ok(&[
        "write",
        "transit/keys/keyward-seal/config",
        "deletion_allowed=true",
    ]);
    bao.ok(&["delete", "transit/keys/keyward-seal"]);
    let out = env.run(&["check", "--config", "keyward.toml"], None);
    assert!(!out.status.success());
    let msg = text(&out);
    eprintln!("refused as expected: {}", msg.trim());
    assert!(
        msg.contains("the mount has no such key") && msg.contains("keyward keygen"),
        "{msg}"
    );

    // A server that is down.
    drop(bao);
    let out = env.run(&["check", "--config", "keyward.toml"], None);
    assert!(!out.status.success());
    let msg = text(&out);
    eprintln!("refused as expected: {}", msg.trim());
    assert!(
        msg.contains("cannot reach it") && msg.contains("[token] address"),
        "{msg}"
    );

    // The Vault tokens are in no log, output or file of keyward's (only their own files).
    let tokens = [admin.as_str(), serve_token.as_str()];
    for (name, contents) in common::all_files(&env.dir) {
        for t in tokens {
            assert!(
                !common::contains_bytes(&contents, t),
                "a Vault token is in {}",
                name.display()
            );
        }
    }
}

/// The production path: https with a private CA (`ca`). Without `ca` the server's certificate
/// is checked against the webpki roots and refused.
#[test]
fn transit_over_https_with_a_private_ca() {
    let Some(bin) = bao::binary() else {
        eprintln!("skipped: no bao binary (source scripts/lib.sh && kw_bao .)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca");
    common::must(
        std::process::Command::new("bash")
            .arg(Path::new(common::REPO).join("scripts/make_test_ca.sh"))
            .arg(&ca)
            .output()
            .unwrap(),
        "scripts/make_test_ca.sh",
    );
    let bao = Bao::start_with(bin, dir.path(), Some(&ca));
    assert!(bao.addr.starts_with("https://"));
    write_token(&dir.path().join("vault-token"), &bao.token("keyward-admin"));
    let section = |ca_line: &str| {
        format!(
            "[token]\nkind = \"vault\"\naddress = \"{}\"\nkey = \"keyward-seal\"\n\
             token = {{ file = \"vault-token\" }}\n{ca_line}",
            bao.addr
        )
    };
    std::fs::write(dir.path().join("tls.toml"), section("ca = \"ca/ca.pem\"\n")).unwrap();
    std::fs::write(dir.path().join("no-ca.toml"), section("")).unwrap();
    let keyward = |args: &[&str]| {
        std::process::Command::new(common::KEYWARD)
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let out = keyward(&["keygen", "--config", "tls.toml", "--algorithm", "rsa3072"]);
    assert!(out.status.success(), "{}", text(&out));
    let recipient = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        recipient.starts_with("kwr1-transit-rsa3072-v1:transit/keyward-seal:"),
        "{recipient}"
    );
    let out = keyward(&["recipient", "--config", "tls.toml"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), recipient);
    // namespace: the key is made in the namespace's Transit mount, not the root's.
    bao.ok(&["namespace", "create", "team-a"]);
    bao.ok(&["secrets", "enable", "-namespace=team-a", "transit"]);
    write_token(&dir.path().join("root-token"), &bao.root_token);
    std::fs::write(
        dir.path().join("ns.toml"),
        section("ca = \"ca/ca.pem\"\nnamespace = \"team-a\"\n")
            .replace("key = \"keyward-seal\"", "key = \"team-seal\"")
            .replace("vault-token", "root-token"),
    )
    .unwrap();
    let out = keyward(&["keygen", "--config", "ns.toml", "--algorithm", "rsa3072"]);
    assert!(out.status.success(), "{}", text(&out));
    bao.ok(&["read", "-namespace=team-a", "transit/keys/team-seal"]);
    assert!(!bao
        .run(&["read", "transit/keys/team-seal"])
        .status
        .success());

    let out = keyward(&["recipient", "--config", "no-ca.toml"]);
    assert!(!out.status.success());
    let msg = text(&out);
    eprintln!("refused as expected: {}", msg.trim());
    assert!(
        msg.contains("cannot reach it") && msg.to_lowercase().contains("certificate"),
        "{msg}"
    );
}
