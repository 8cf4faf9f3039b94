//! In-service signing with `[token] kind = "vault"` against a real OpenBao server
//! (tests/common/bao.rs): `keyward import --in-token` imports the Binance secret into Transit as
//! a non-exportable HMAC key (BYOK, wrapped with the mount's wrapping key); `keyward serve`
//! signs every order with `transit/hmac/...` and the mock exchange verifies it with the real
//! secret; the secret is nowhere in the running keyward's memory (its readable mappings read
//! through /proc/PID/mem, the scan proven by finding a planted marker and the in-memory secret
//! of the sealed credential); a revoked Vault token and a deleted HMAC key make each request a
//! 503 `key_unavailable` with nothing forwarded. Prints the per-request latency of an order
//! signed in Transit beside one signed in memory. `[token] approle`: an AppRole login instead
//! of a static token, logged in again before its short TTL ends.

mod common;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Instant;

use base64::Engine;
use common::bao::{self, text, write_token, Bao};
use common::in_service::{
    assert_unavailable, import_main, in_service_config, latency, order, signed,
};
use common::{tag, Keyward, MAIN};

/// Every readable, non-special mapping of process `pid`, read through /proc/PID/mem, without
/// its all-zero pages (mimalloc reserves a GiB it never touches): [`find`] looks for needles
/// without a zero byte, which cannot lie in such a page, even in part.
fn process_memory(pid: u32) -> Vec<u8> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap_or_else(|e| {
        panic!("cannot open /proc/{pid}/mem ({e}): the test needs ptrace rights over keyward (root, or CAP_SYS_PTRACE: keyward makes itself non-dumpable)")
    });
    let mut all = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (range, perms) = (fields.next().unwrap(), fields.next().unwrap());
        let name = line.split_whitespace().nth(5).unwrap_or("");
        if !perms.starts_with('r') || name == "[vvar]" || name == "[vsyscall]" {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut buf = vec![0u8; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_ok() && mem.read_exact(&mut buf).is_ok() {
            for page in buf.chunks(4096).filter(|p| p.iter().any(|&b| b != 0)) {
                all.extend_from_slice(page);
            }
        }
    }
    all
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    assert!(
        !needle.contains(&0),
        "process_memory drops zero pages: no zero byte in a needle"
    );
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The Transit HMAC call alone, through keyward's own client (one keep-alive pool): p50/p99
/// of sequential calls, and the throughput of 4 threads calling at once.
fn transit_hmac_latency(bao: &Bao, key_name: &str, token_file: &Path) {
    use keyward::token::{HmacAlgorithm, KeyRef, Token, TransitConfig, TransitToken};
    let token = TransitToken::open(&TransitConfig {
        address: bao.addr.parse().unwrap(),
        mount: "transit".into(),
        key: "keyward-seal".into(),
        token: keyward::token::VaultTokenSource::File(token_file.to_owned()),
        namespace: None,
        ca: None,
    })
    .unwrap();
    let key = KeyRef::new(format!("transit:transit/{key_name}:v1"));
    let message: &[&[u8]] = &[b"symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.01&timestamp=1"];
    let mac = |alg| token.hmac(&key, alg, message).unwrap();
    assert_eq!(mac(HmacAlgorithm::Sha512).len(), 64);
    let n = 500;
    let (p50, p99) = latency(n, |_| {
        assert_eq!(mac(HmacAlgorithm::Sha256).len(), 32);
    });
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..n / 4 {
                    mac(HmacAlgorithm::Sha256);
                }
            });
        }
    });
    let rate = n as f64 / started.elapsed().as_secs_f64();
    eprintln!(
        "Transit HMAC-SHA256 through keyward's client ({n} sequential, loopback OpenBao): p50 \
         {p50:.2} ms p99 {p99:.2} ms; 4 threads at once: {rate:.0} HMACs/s"
    );
}

#[test]
fn transit_signs_orders_and_keeps_the_secret_out_of_keyward() {
    let Some((
        bao::AdminSetup {
            bao,
            token_file,
            dir: _bao_dir,
            ..
        },
        env,
    )) = bao::transit_env()
    else {
        return;
    };
    env.kw.stop();

    // import --in-token: the secret goes into Transit; the vault names the key, not the secret.
    let import = |out: &str| import_main(&env, out);
    let out = import("vault/in-transit.kwv");
    assert!(out.status.success(), "{}", text(&out));
    let key_name = format!("keyward-hmac-{MAIN}");
    let key = bao.ok(&["read", "-format=json", &format!("transit/keys/{key_name}")]);
    let key: serde_json::Value = serde_json::from_slice(&key.stdout).unwrap();
    assert_eq!(key["data"]["type"], "hmac", "{key:#}");
    assert_eq!(key["data"]["exportable"], false, "{key:#}");
    assert_eq!(key["data"]["imported_key"], true, "{key:#}");
    let export = bao.run(&["read", &format!("transit/export/hmac-key/{key_name}")]);
    assert!(!export.status.success(), "the HMAC key is exportable");
    let vault: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.dir.join("vault/in-transit.kwv")).unwrap())
            .unwrap();
    assert_eq!(
        vault["in_token"],
        serde_json::json!({"type": "hmac", "label": format!("transit:transit/{key_name}:v1")}),
        "{vault:#}"
    );
    // A second import never replaces the key, and writes no vault.
    let out = import("vault/again.kwv");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Transit already has a key of that name"),
        "{}",
        text(&out)
    );
    assert!(!env.dir.join("vault/again.kwv").exists());

    transit_hmac_latency(&bao, &key_name, &token_file);

    // serve with the least-privilege token, binance-main's vault the in-Transit one.
    let config = in_service_config(&env, "in-transit.toml", None);
    let serve_token = bao.token("keyward");
    write_token(&token_file, &serve_token);
    let check = env.run(&["check", "--config", "in-transit.toml"], None);
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains(&format!(
            "in-token HMAC key 'transit:transit/{key_name}:v1'"
        )),
        "{}",
        text(&check)
    );
    let marker = format!("keyward-memory-scan-marker-{}", tag("m"));
    let mut envs = env.envs.clone();
    envs.push(("KEYWARD_TEST_MEMORY_MARKER".into(), marker.clone()));
    let kw = Keyward::start(&env.dir, &config, &envs, "serve-in-transit.log");

    let id = tag("transit");
    let r = order(&env, &kw, &id);
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = env.the_record(&id);
    assert_eq!(rec["verified"], true, "{rec:#}");
    assert_eq!(rec["api_key"], env.api_key.as_str(), "{rec:#}");

    // Latency: orders signed in Transit (binance-main) beside signed reads in memory
    // (binance-alt, sealed) and in Transit, each sequential over one keep-alive pool.
    let n = 200;
    let (t50, t99) = latency(n, |i| {
        let r = order(&env, &kw, &format!("{id}-{i}"));
        assert_eq!(r.status, 200, "{}", r.text());
    });
    let read = |token: &str, credential: &str| {
        latency(n, |_| {
            let r = signed(
                &kw,
                token,
                "GET",
                &format!("/{credential}/api/v3/openOrders?symbol=BTCUSDT"),
                None,
            );
            assert_eq!(r.status, 200, "{}", r.text());
        })
    };
    let (r50, r99) = read(&env.token, MAIN);
    let (m50, m99) = read(&env.token_alt, common::ALT);
    eprintln!(
        "per request through keyward ({n} sequential, loopback OpenBao): order signed in Transit \
         p50 {t50:.2} ms p99 {t99:.2} ms; open-orders read signed in Transit p50 {r50:.2} ms p99 \
         {r99:.2} ms; open-orders read signed in memory p50 {m50:.2} ms p99 {m99:.2} ms"
    );
    let tagged = env.mock_records_with(&id);
    assert_eq!(tagged.len(), n + 1);
    assert!(tagged.iter().all(|r| r["verified"] == true));

    // The secret (raw, hex, base64) is nowhere in keyward's memory. The scan is proven by the
    // marker in keyward's environment and by the sealed credential's secret, which keyward
    // holds unsealed in locked memory.
    let memory = process_memory(kw.pid());
    assert!(
        find(&memory, marker.as_bytes()),
        "the scan did not find the marker"
    );
    assert!(
        find(&memory, env.secret_alt.as_bytes()),
        "the scan did not find binance-alt's unsealed secret"
    );
    let secret = env.secret.as_bytes();
    for (form, bytes) in [
        ("raw", secret.to_vec()),
        ("hex", hex::encode(secret).into_bytes()),
        (
            "base64",
            base64::engine::general_purpose::STANDARD
                .encode(secret)
                .into_bytes(),
        ),
    ] {
        assert!(
            !find(&memory, &bytes),
            "the {form} secret is in keyward's memory"
        );
    }
    eprintln!(
        "memory scan: {} MiB of keyward's memory read; marker and binance-alt's secret found, \
         binance-main's secret (raw, hex, base64) not",
        memory.len() >> 20
    );

    // A revoked token: each request is a 503 naming the token, nothing forwarded.
    bao.ok(&["token", "revoke", &serve_token]);
    assert_unavailable(&env, &kw, "revoked", &["HTTP 403", "revoked or expired"]);
    // A fresh token works again, without a restart (the token file is read per call).
    write_token(&token_file, &bao.token("keyward"));
    let id = tag("fresh");
    assert_eq!(order(&env, &kw, &id).status, 200);
    assert_eq!(env.the_record(&id)["verified"], true);

    // A deleted HMAC key: 503 saying the key is gone, nothing forwarded.
    bao.ok(&[
        "write",
        &format!("transit/keys/{key_name}/config"),
        "deletion_allowed=true",
    ]);
    bao.ok(&["delete", &format!("transit/keys/{key_name}")]);
    assert_unavailable(&env, &kw, "deleted", &["the HMAC key is gone"]);
    assert!(kw.is_running());
    kw.stop();
    // And start-up refuses the vault, naming the key.
    let out = env.run(&["check", "--config", "in-transit.toml"], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&key_name) && text(&out).contains("import --in-token"),
        "{}",
        text(&out)
    );
}

/// `[token] approle`: keyward logs in with AppRole (no static token anywhere), signs in Transit,
/// and logs in again once two thirds of the token's 3 s TTL have passed, so an order after the
/// first token has expired is still signed. A secret_id file others can read is refused.
#[test]
fn approle_login_signs_and_logs_in_again_before_the_ttl_ends() {
    let Some((
        bao::AdminSetup {
            bao, dir: _bao_dir, ..
        },
        env,
    )) = bao::transit_env()
    else {
        return;
    };
    env.kw.stop();
    let out = import_main(&env, "vault/in-transit.kwv");
    assert!(out.status.success(), "{}", text(&out));
    bao.ok(&["auth", "enable", "approle"]);
    bao.ok(&[
        "write",
        "auth/approle/role/keyward",
        "token_policies=keyward",
        "token_ttl=3s",
        "token_max_ttl=3s",
        "secret_id_num_uses=0",
    ]);
    let field = |args: &[&str]| {
        String::from_utf8(bao.ok(args).stdout)
            .unwrap()
            .trim()
            .to_owned()
    };
    let role_id = field(&[
        "read",
        "-field=role_id",
        "auth/approle/role/keyward/role-id",
    ]);
    let secret_id = field(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/keyward/secret-id",
    ]);
    let secret_file = env.dir.join("secret-id");
    write_token(&secret_file, &secret_id);
    let config = in_service_config(
        &env,
        "approle.toml",
        Some(&format!(
            "approle = {{ role_id = \"{role_id}\", secret_id = {{ file = \"secret-id\" }} }}"
        )),
    );
    assert!(!std::fs::read_to_string(&config)
        .unwrap()
        .contains("vault-token"));
    let check = env.run(&["check", "--config", "approle.toml"], None);
    assert!(check.status.success(), "{}", text(&check));

    let kw = env.serve(&config, "serve-approle.log");
    let id = tag("approle");
    assert_eq!(order(&env, &kw, &id).status, 200);
    assert_eq!(env.the_record(&id)["verified"], true);
    kw.wait_log("logged in to Vault with AppRole", 1);
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let id = tag("relogin");
    let r = order(&env, &kw, &id);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(env.the_record(&id)["verified"], true);
    kw.wait_log("logged in to Vault with AppRole", 2);
    kw.stop();
    let logs = kw.log_text() + &text(&check);
    assert!(
        !logs.contains(&secret_id),
        "the secret_id is in keyward's output"
    );

    // A secret_id file others can read is refused, naming the fix, without echoing it.
    std::fs::set_permissions(
        &secret_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let out = env.run(&["check", "--config", "approle.toml"], None);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("AppRole secret_id file") && msg.contains("chmod 600"),
        "{msg}"
    );
    assert!(!msg.contains(&secret_id), "{msg}");
    // A wrong secret_id: the login is refused with the fix.
    write_token(&secret_file, "00000000-0000-0000-0000-000000000000");
    let out = env.run(&["check", "--config", "approle.toml"], None);
    assert!(!out.status.success());
    let msg = text(&out);
    eprintln!("refused as expected: {}", msg.trim());
    assert!(
        msg.contains("the AppRole login (auth/approle) was refused")
            && msg.contains("fresh secret_id"),
        "{msg}"
    );
}
