//! `[token] kind = "yubikey"` end to end with the real binary and the real `yubikey` crate,
//! against a virtual PIV card (scripts/vpiv/) in a private pcscd: keygen in the slot (3DES and
//! AES-192 default management keys), seal, `check` and `serve` unsealing by PIV ECDH, a signed
//! order verified by the mock exchange; and every failure the operator can meet, each with its
//! message: no pcscd, no YubiKey, wrong serial, several YubiKeys, empty or wrong-algorithm slot,
//! wrong PIN (one attempt, tries left), blocked PIN, touch not given, changed management key.
//!
//! Each test has its own pcscd, so they run in parallel.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::vpiv::{self, token_error, yubikey_config, CardSpec, Setup};
use common::{must, tag, Env, Options, MAIN};

#[test]
fn orders_are_signed_with_secrets_unsealed_by_the_yubikey() {
    if !vpiv::available() {
        return;
    }
    // 5.4.3: the 3DES default management key; 5.7.1: the AES-192 one.
    for (firmware, serial) in [("5.4.3", 5400001), ("5.7.1", 5700001)] {
        let env = Env::start_with(Options {
            yubikey: Some(CardSpec::new(firmware, serial)),
            ..Options::default()
        });
        let log = env.kw.log_text();
        assert!(
            log.contains(&format!("YubiKey {serial} (firmware {firmware}), slot 9d")),
            "{log}"
        );
        assert!(log.contains("credentials=2"), "{log}");
        let id = tag("yk");
        let body = format!(
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={id}"
        );
        let r = env.request(
            "POST",
            &format!("/{MAIN}/api/v3/order"),
            Some(&env.token),
            Some(&body),
        );
        assert_eq!(r.status, 200, "{firmware}: {}", r.text());
        let rec = env.the_record(&id);
        assert_eq!(rec["verified"], true, "the mock verified the HMAC: {rec:#}");
        assert_eq!(rec["api_key"], env.api_key.as_str());

        // The card did the key agreement: once per vault. The PIN was verified once by keygen
        // and once by serve at start-up.
        let (card, _) = env.yubikey.as_ref().unwrap();
        let card_log = card.log_text();
        assert_eq!(
            card_log.matches("INS 87 P1 11 P2 9D: 9000").count(),
            2,
            "{card_log}"
        );
        assert_eq!(
            card_log.matches("INS 20 P1 00 P2 80: 9000").count(),
            2,
            "{card_log}"
        );
        assert_eq!(card.pin_left(), 3);
    }
}

#[test]
fn keygen_makes_the_key_with_the_policies_asked_for_and_never_replaces_it() {
    let Some((s, card)) = Setup::with_card(&CardSpec::new("5.7.1", 5700002), "82", 2) else {
        return;
    };
    let recipient = s.keygen_and_seal(&["--pin-policy", "always", "--touch", "cached"], 2);
    let key = &card.state()["keys"]["82"];
    assert_eq!(key["alg"], 0x11, "P-256: {key}");
    assert_eq!(key["pin_policy"], 3, "PIN always: {key}");
    assert_eq!(key["touch_policy"], 3, "touch cached: {key}");

    // PIN always: besides keygen's VERIFY and check's at start-up, keyward verifies before each
    // of the two key agreements; one touch is cached for both.
    card.touch();
    let out = must(s.check(), "check");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("credential c1 (binance): unsealed"), "{text}");
    let log = card.log_text();
    assert_eq!(log.matches("INS 20 P1 00 P2 80: 9000").count(), 4, "{log}");
    assert_eq!(log.matches("waiting for a touch").count(), 1, "{log}");

    let out = s.run(&["keygen", "--config", "keyward.toml"], None);
    let err = token_error(out);
    assert!(
        err.contains("slot 82 (Retired Key Management) already holds a P-256 key; keygen will not replace it"),
        "{err}"
    );
    // The key is unchanged: the old recipient still opens the vaults.
    card.touch();
    must(s.check(), "check after the refused keygen");
    assert!(recipient.starts_with("kwr1-p256-"));
}

#[test]
fn pcscd_not_running_no_reader_card_and_serial_errors() {
    if !vpiv::available() {
        return;
    }
    let s = Setup::new();
    s.config(&yubikey_config(7000001, "9d"), 1);
    let gone = (
        "PCSCLITE_CSOCK_NAME".to_owned(),
        "/nonexistent/pcscd.comm".to_owned(),
    );
    let err = token_error(s.run_with(&["check", "--config", "keyward.toml"], None, &[gone]));
    assert!(
        err.contains("the PC/SC service is not running; start pcscd"),
        "{err}"
    );

    let err = token_error(s.check());
    assert!(
        err.contains("no YubiKey found (readers without a YubiKey: 'Yubico Virtual YubiKey 00 00', 'Yubico Virtual YubiKey 00 01'); plug it in"),
        "{err}"
    );

    let a = s.pcsc.insert(0, &CardSpec::new("5.4.3", 7000002));
    let err = token_error(s.check());
    assert!(
        err.contains(
            "no YubiKey with serial 7000001; YubiKeys present: 7000002; fix [token] serial"
        ),
        "{err}"
    );
    let b = s.pcsc.insert(1, &CardSpec::new("5.7.1", 7000003));
    s.config("kind = \"yubikey\"\nslot = \"9d\"", 1);
    let err = token_error(s.check());
    assert!(
        err.contains(
            "2 YubiKeys are present (serials 7000002, 7000003); set [token] serial to choose one"
        ),
        "{err}"
    );
    // With the serial, the other card is left alone: its PIN counter and log show no VERIFY.
    s.config(&yubikey_config(b.serial, "9d"), 1);
    s.keygen_and_seal(&[], 1);
    must(s.check(), "check with the serial");
    assert!(!a.log_text().contains("INS 20"), "{}", a.log_text());
    assert_eq!(a.pin_left(), 3);

    // The card pulled out between keygen and check.
    b.remove();
    let err = token_error(s.check());
    assert!(err.contains("no YubiKey with serial 7000003"), "{err}");
}

#[test]
fn empty_and_wrong_algorithm_slots_are_named() {
    let spec = CardSpec {
        keys: &["9e:ed25519", "9a:p384"],
        ..CardSpec::new("5.7.1", 7100001)
    };
    // A vault sealed to another key; keyward must refuse before any ECDH.
    let Some((s, card)) = Setup::with_card(&spec, "9d", 1) else {
        return;
    };
    s.keygen_and_seal(&[], 1);
    for (slot, want) in [
        (
            "9c",
            "slot 9c (Digital Signature) holds no key; generate one with `keyward keygen",
        ),
        (
            "9e",
            "slot 9e holds an Ed25519 key; keyward seals to P-256 keys only",
        ),
        (
            "9a",
            "slot 9a holds a P-384 key; keyward seals to P-256 keys only",
        ),
    ] {
        s.config(&yubikey_config(card.serial, slot), 1);
        let err = token_error(s.check());
        assert!(err.contains(want), "{slot}: {err}");
    }
    // A vault sealed to 9d does not open with another P-256 slot's key.
    s.config(&yubikey_config(card.serial, "82"), 1);
    s.run(&["keygen", "--config", "keyward.toml"], None);
    let out = s.check();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_wrong_pin_is_tried_once_and_a_blocked_pin_never() {
    let Some((s, card)) = Setup::with_card(&CardSpec::new("5.7.1", 7200001), "9d", 2) else {
        return;
    };
    s.keygen_and_seal(&["--pin-policy", "always"], 2);
    s.pin("654321");
    for left in [2, 1] {
        let err = token_error(s.check());
        let more = if left == 1 { "try" } else { "tries" };
        assert!(
        err.contains(&format!(
            "wrong PIN (from PIN file pin.txt); the YubiKey blocks the PIN after {left} more wrong {more}. keyward did not retry"
        )),
        "{err}"
    );
        assert!(!err.contains("654321"), "{err}");
        // Exactly one attempt per run, though the PIN policy asks for a VERIFY per vault.
        assert_eq!(card.pin_left(), left);
    }
    let err = token_error(s.check());
    assert!(
        err.contains("the PIN is blocked after too many wrong tries; unblock it with the PUK"),
        "{err}"
    );
    assert_eq!(card.pin_left(), 0);
    // Blocked: even the right PIN is not sent (the counter is read first).
    s.pin("123456");
    let before = card.log_text().matches("INS 20").count();
    let err = token_error(s.check());
    assert!(err.contains("the PIN is blocked"), "{err}");
    let verifies = card.log_text();
    let attempts: Vec<_> = verifies.lines().filter(|l| l.contains("INS 20")).collect();
    // only the retry-counter query (a VERIFY without a PIN, answered 6983), never a PIN
    assert_eq!(attempts.len(), before + 1, "{verifies}");
    assert!(attempts.last().unwrap().contains("6983"), "{verifies}");

    // A PIN of the wrong length never reaches the card.
    let s2 = Setup::new();
    let card2 = s2.pcsc.insert(0, &CardSpec::new("5.4.3", 7200002));
    s2.config(&yubikey_config(card2.serial, "9d"), 0);
    s2.pin("12345");
    let err = token_error(s2.run(&["keygen", "--config", "keyward.toml"], None));
    assert!(
        err.contains("is 5 bytes; a PIV PIN is 6 to 8 (nothing was sent to the card)"),
        "{err}"
    );
    assert_eq!(card2.pin_left(), 3);
}

#[test]
fn a_touch_not_given_in_time_is_told_apart_from_the_pin() {
    let Some((s, card)) = Setup::with_card(&CardSpec::new("5.4.3", 7300001), "9d", 1) else {
        return;
    };
    s.keygen_and_seal(&["--touch", "always"], 1);
    let started = Instant::now();
    let err = token_error(s.check());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the card waited for its timeout"
    );
    assert!(
        err.contains("ECDH with slot 9d was refused: the YubiKey was not touched in time"),
        "{err}"
    );
    assert!(card.log_text().contains("waiting for a touch"));
    // Touched while the card waits: the vault opens.
    let toucher = {
        let touch = card.touch.clone();
        let log = card.log.clone();
        std::thread::spawn(move || wait_and_touch(&log, &touch))
    };
    must(s.check(), "check with a touch");
    toucher.join().unwrap();
    assert_eq!(card.pin_left(), 3, "the PIN was fine all along");
}

/// Touches the card when its log says it waits for one (a second time).
fn wait_and_touch(log: &Path, touch: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches("waiting for a touch").count() >= 2 {
            std::fs::write(touch, b"").unwrap();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the card never waited for a second touch");
}

#[test]
fn a_changed_management_key_needs_its_file() {
    let key = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080";
    let spec = CardSpec {
        management_key: Some(key),
        ..CardSpec::new("5.7.1", 7400001)
    };
    let Some((s, card)) = Setup::with_card(&spec, "9d", 0) else {
        return;
    };
    let err = token_error(s.run(&["keygen", "--config", "keyward.toml"], None));
    assert!(
        err.contains(
            "the management key is not the default one; give it with --management-key-file FILE"
        ),
        "{err}"
    );
    let file = s.dir.join("mgm.key");
    std::fs::write(&file, "00".repeat(24)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = token_error(s.run(
        &[
            "keygen",
            "--config",
            "keyward.toml",
            "--management-key-file",
            "mgm.key",
        ],
        None,
    ));
    assert!(
        err.contains("the YubiKey refused the AES-192 management key from mgm.key"),
        "{err}"
    );
    assert!(!err.contains(&"00".repeat(24)), "{err}");
    std::fs::write(&file, "0011").unwrap();
    let out = s.run(
        &[
            "keygen",
            "--config",
            "keyward.toml",
            "--management-key-file",
            "mgm.key",
        ],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the management key is 2 bytes, but this YubiKey's management key is AES-192 (24 bytes)"),
        "{err}"
    );
    std::fs::write(&file, format!("{key}\n")).unwrap();
    must(
        s.run(
            &[
                "keygen",
                "--config",
                "keyward.toml",
                "--management-key-file",
                "mgm.key",
            ],
            None,
        ),
        "keygen with the management key file",
    );
    assert_eq!(card.state()["keys"]["9d"]["alg"], 0x11);
}
