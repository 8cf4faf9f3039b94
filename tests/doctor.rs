//! Issue 12, "doctor": `keyward doctor` against the real binary, a real SoftHSM token and the
//! mock exchange. A healthy configuration exits 0 with every check ok (the test-only `upstream`
//! override a note); each broken thing — a PIN file 0644, a vault sealed to another recipient,
//! an audit folder that does not exist, an exchange whose clock is 30 s ahead, a config key that
//! does not exist — exits 1 with a FIX line naming the fix.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{sha256_hex_bytes, venue, Env, Options, ALT, MAIN, REPO};
use keyward::vault::Recipient;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `keyward doctor --config FILE` in the env's folder: its exit code and stdout.
fn doctor(env: &Env, config: &Path) -> (i32, String) {
    let out = env.run(&["doctor", "--config", config.to_str().unwrap()], None);
    let text = stdout(&out);
    assert!(
        !text.contains(&env.pin) && !String::from_utf8_lossy(&out.stderr).contains(&env.pin),
        "doctor printed the PIN"
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The env's config with each `(from, to)` replaced (each must occur), written to `file`.
fn variant(env: &Env, file: &str, replace: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{from:?} not in the config");
        text = text.replace(from, to);
    }
    let path = env.dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// The findings to fix: each FIX line with its indented lines, up to its `fix:` line.
fn fixes(report: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in report.lines() {
        if line.starts_with("FIX") {
            out.push(line.to_owned());
            open = true;
        } else if open && line.starts_with("      ") {
            let last = out.last_mut().expect("a FIX line");
            last.push('\n');
            last.push_str(line);
            open = !line.starts_with("      fix: ");
        } else {
            open = false;
        }
    }
    assert!(
        out.iter().all(|f| f.contains("\n      fix: ")),
        "a FIX without its fix: {report}"
    );
    out
}

#[test]
fn a_healthy_config_exits_0_and_each_broken_thing_names_its_fix() {
    let env = Env::start();

    // Healthy: every check, in order, ok; the upstream override is a note.
    let (code, report) = doctor(&env, &env.config);
    eprintln!("keyward doctor on the healthy config:\n{report}");
    assert_eq!(code, 0, "{report}");
    let order = [
        "ok    pkcs11 module: PKCS#11 module",
        "ok    token: token 'keyward' (serial ",
        "ok    pin: PIN file ",
        "ok    sealing key: PKCS#11 token 'keyward'",
        &format!("ok    vault {MAIN}: "),
        "ok    config: ",
        "note  config: credential binance-main sends to https://127.0.0.1:",
        "ok    audit: ",
        "ok    audit checkpoints: signed on the token by the key 'keyward-audit'",
        "ok    clock binance: this host's clock is ",
        &format!("ok    key permissions {MAIN}: the key can neither withdraw nor transfer (safe)"),
        "keyward doctor: nothing to fix",
    ];
    let mut at = 0;
    for want in order {
        let found = report[at..]
            .find(want)
            .unwrap_or_else(|| panic!("{want:?} missing or out of order in:\n{report}"));
        at += found + want.len();
    }
    assert!(report.contains(&env.recipient), "the recipient: {report}");
    assert!(fixes(&report).is_empty(), "{report}");

    // A PIN file readable by others.
    let open_pin = env.dir.join("pin-0644.txt");
    std::fs::copy(env.dir.join("pin.txt"), &open_pin).unwrap();
    std::fs::set_permissions(&open_pin, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = variant(
        &env,
        "pin-0644.toml",
        &[(
            "pin = { file = \"pin.txt\" }",
            "pin = { file = \"pin-0644.txt\" }",
        )],
    );
    let (code, report) = doctor(&env, &config);
    assert_eq!(code, 1, "{report}");
    let found = fixes(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert!(found[0].starts_with("FIX   pin: PIN file"), "{report}");
    assert!(
        found[0].contains("readable or writable by group or others (mode 644)"),
        "{report}"
    );
    assert!(
        found[0].contains(&format!("fix: chmod 600 {}", open_pin.display())),
        "{report}"
    );
    // The token checks that need the PIN are skipped, the file checks still run.
    assert!(report.contains("skip  sealing key"), "{report}");
    assert!(report.contains("ok    audit"), "{report}");

    // A vault sealed to another recipient (pinned, so only the recipient is wrong).
    let other = p256::SecretKey::random(&mut rand_core::OsRng).public_key();
    let other = Recipient::p256(other).to_string();
    let out = env.run(
        &[
            "seal",
            "--recipient",
            &other,
            "--name",
            MAIN,
            "--exchange",
            "binance",
            "--out",
            "vault/wrong-recipient.kwv",
        ],
        Some(&format!("{}\n{}\n", env.api_key, env.secret)),
    );
    assert!(
        out.status.success(),
        "seal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wrong = std::fs::read(env.dir.join("vault/wrong-recipient.kwv")).unwrap();
    let pinned = common::vault_pin(&env.dir, MAIN);
    let config = variant(
        &env,
        "wrong-recipient.toml",
        &[
            (
                &format!("vault = \"vault/{MAIN}.kwv\""),
                "vault = \"vault/wrong-recipient.kwv\"",
            ),
            (&pinned, &sha256_hex_bytes(&wrong)),
        ],
    );
    let (code, report) = doctor(&env, &config);
    assert_eq!(code, 1, "{report}");
    let found = fixes(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert!(
        found[0].starts_with(&format!("FIX   vault {MAIN}: ")),
        "{report}"
    );
    assert!(
        found[0].contains("wrong-recipient.kwv: sealed to key"),
        "{report}"
    );
    assert!(found[0].contains("fix: reseal the credential"), "{report}");
    assert!(report.contains("ok    vault binance-alt"), "{report}");

    // An audit folder that does not exist (as root, a folder's mode bits do not stop keyward,
    // so a missing one is what is unwritable here).
    let config = variant(
        &env,
        "no-audit-dir.toml",
        &[(
            "path = \"audit.jsonl\"",
            "path = \"no-such-dir/audit.jsonl\"",
        )],
    );
    let (code, report) = doctor(&env, &config);
    assert_eq!(code, 1, "{report}");
    let found = fixes(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert!(found[0].starts_with("FIX   audit: "), "{report}");
    assert!(found[0].contains("fix: mkdir -p "), "{report}");
    assert!(found[0].contains("no-such-dir"), "{report}");
    // Unprivileged, a folder without the write bit is refused too.
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        let ro = env.dir.join("read-only-audit");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
        let config = variant(
            &env,
            "ro-audit-dir.toml",
            &[(
                "path = \"audit.jsonl\"",
                "path = \"read-only-audit/audit.jsonl\"",
            )],
        );
        let (code, report) = doctor(&env, &config);
        assert_eq!(code, 1, "{report}");
        assert!(report.contains("may not create"), "{report}");
    }

    // An exchange whose clock is 30 s ahead of this host's.
    let skewed = SkewedMock::start(&env.dir, 30_000);
    let config = variant(
        &env,
        "skewed-clock.toml",
        &[(
            &format!("127.0.0.1:{}", env.mock_port),
            &format!("127.0.0.1:{}", skewed.port),
        )],
    );
    let (code, report) = doctor(&env, &config);
    assert_eq!(code, 1, "{report}");
    let found = fixes(&report);
    // The clock first; then what it causes: the signed permission request is refused (400).
    assert_eq!(found.len(), 3, "{report}");
    assert!(found[0].starts_with("FIX   clock binance: "), "{report}");
    for f in &found[1..] {
        assert!(f.starts_with("FIX   key permissions "), "{report}");
        assert!(f.contains("answered HTTP 400"), "{report}");
    }
    assert!(
        found[0].contains(" ms behind https://127.0.0.1:"),
        "{report}"
    );
    assert!(
        found[0].contains("fix: synchronise this host's clock"),
        "{report}"
    );
    let off: u64 = found[0]
        .split("clock is ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no skew in {}", found[0]));
    assert!((29_000..=31_000).contains(&off), "{off} ms: {report}");

    // An audit checkpoint public key that is not the token's key.
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let stranger = p256::SecretKey::random(&mut rand_core::OsRng).public_key();
    std::fs::write(
        env.dir.join("other-audit-key.pem"),
        stranger.to_public_key_pem(LineEnding::LF).unwrap(),
    )
    .unwrap();
    let config = variant(
        &env,
        "other-audit-key.toml",
        &[(
            "checkpoint_public_key = \"audit-key.pem\"",
            "checkpoint_public_key = \"other-audit-key.pem\"",
        )],
    );
    let (code, report) = doctor(&env, &config);
    assert_eq!(code, 1, "{report}");
    let found = fixes(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert!(
        found[0].starts_with("FIX   audit checkpoints: "),
        "{report}"
    );
    assert!(found[0].contains("other-audit-key.pem"), "{report}");
    assert!(
        found[0].contains("fix: make the key with `keyward keygen --audit-key"),
        "{report}"
    );

    // A config key that does not exist: the token checks still run, then the config finding.
    let config = variant(
        &env,
        "bad-key.toml",
        &[(
            "recv_window_ms = 5000",
            "recv_window_ms = 5000\nrecv_windw = 1",
        )],
    );
    let (code, report) = doctor(&env, &config);
    assert_eq!(code, 1, "{report}");
    let found = fixes(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert!(found[0].starts_with("FIX   config: "), "{report}");
    assert!(found[0].contains("recv_windw"), "{report}");
    assert!(report.contains("ok    sealing key"), "{report}");

    // No config at all.
    let (code, report) = doctor(&env, &env.dir.join("missing.toml"));
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("FIX   config: "), "{report}");
}

/// Every exchange keyward fronts, each through its own mock: every clock is read from that
/// exchange's time endpoint (or its Date header); a key that can withdraw is the one finding,
/// its fix the key to recreate; exchanges that do not report permissions are notes.
#[test]
fn every_exchange_clock_is_read_and_a_key_that_can_withdraw_is_a_finding() {
    let env = Env::start_with(Options {
        exchanges: venue::ALL_BUT_BINANCE,
        key_permissions: &[(ALT, "withdraw")],
        ..Options::default()
    });
    let (code, report) = doctor(&env, &env.config);
    eprintln!("keyward doctor with every exchange:\n{report}");
    assert_eq!(code, 1, "{report}");
    for exchange in std::iter::once(&"binance").chain(venue::ALL_BUT_BINANCE) {
        let ok = format!("ok    clock {exchange}: this host's clock is ");
        assert!(report.contains(&ok), "{ok:?} missing: {report}");
    }
    let found = fixes(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert!(
        found[0].starts_with(&format!(
            "FIX   key permissions {ALT}: the exchange says the key can withdraw"
        )),
        "{report}"
    );
    assert!(
        found[0].contains(
            "fix: create a new API key at the exchange with trade and read permissions only"
        ),
        "{report}"
    );
    assert!(
        report.contains(&format!("ok    key permissions {MAIN}: ")),
        "{report}"
    );
    for not_reported in ["bitget", "kraken", "alpaca"] {
        let note = format!("note  key permissions {not_reported}-main: not checked");
        assert!(report.contains(&note), "{note:?} missing: {report}");
    }
}

/// `scripts/mock_exchange.py` (Binance) with its clock `skew_ms` ahead, on its own port.
struct SkewedMock {
    child: Child,
    port: u16,
}

impl SkewedMock {
    fn start(dir: &Path, skew_ms: i64) -> SkewedMock {
        let mut child = Command::new("python3")
            .arg(Path::new(REPO).join("scripts/mock_exchange.py"))
            .args(["--exchange", "binance", "--cert"])
            .arg(dir.join("ca/server.pem"))
            .arg("--key")
            .arg(dir.join("ca/server.key"))
            .args(["--port", "0", "--credentials"])
            .arg(dir.join("mock-credentials.json"))
            .arg(format!("--clock-skew-ms={skew_ms}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the skewed mock did not start: {line:?}"));
        SkewedMock { child, port }
    }
}

impl Drop for SkewedMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// On a (virtual) YubiKey: no module (a note), the card found and logged in to, the vaults
/// opened with its key, nothing to fix.
#[test]
fn a_yubikey_config_is_checked_through_the_card() {
    if !common::vpiv::available() {
        eprintln!("the virtual PIV card is not available: not run");
        return;
    }
    let env = Env::start_with(Options {
        yubikey: Some(common::vpiv::CardSpec::new("5.7.1", 5700078)),
        ..Options::default()
    });
    env.kw.stop();
    let (code, report) = doctor(&env, &env.config);
    eprintln!("keyward doctor on a YubiKey:\n{report}");
    assert_eq!(code, 0, "{report}");
    assert!(
        report.contains("note  pkcs11 module: a YubiKey's PIV applet"),
        "{report}"
    );
    assert!(
        report.contains("ok    sealing key: YubiKey 5700078"),
        "{report}"
    );
    assert!(
        report.contains(&format!("ok    vault {MAIN}: ")),
        "{report}"
    );
}

#[test]
fn an_expired_key_version_is_a_finding_naming_keyward_rotate() {
    use keyward::secret::SecretBytes;
    use keyward::vault::{self, CredentialSecrets};
    use std::time::{Duration, SystemTime};
    let env = Env::start();
    // Sealed 100 days ago: past the default rotate_after_days = 90.
    let recipient: Recipient = env.recipient.parse().unwrap();
    let secrets = CredentialSecrets {
        api_key: SecretBytes::copy_from(env.api_key.as_bytes()),
        secret: SecretBytes::copy_from(env.secret.as_bytes()),
        passphrase: None,
    };
    let aged = SystemTime::now() - Duration::from_secs(100 * 24 * 3600);
    let bytes = vault::seal_dated(&recipient, (MAIN, "binance"), &secrets, aged, None).unwrap();
    vault::write_vault_file(&env.dir.join(format!("vault/{MAIN}.kwv")), &bytes).unwrap();
    common::repin(&env.dir, "keyward.toml");
    let (code, report) = doctor(&env, &env.config);
    assert_eq!(code, 1, "{report}");
    let found = fixes(&report);
    let rotation = found
        .iter()
        .find(|f| f.contains(&format!("rotation {MAIN}")))
        .unwrap_or_else(|| panic!("no rotation finding in {found:#?}\n{report}"));
    assert!(
        rotation.contains("expired") && rotation.contains("keyward rotate"),
        "{rotation}"
    );
}
