//! The YubiKey backend at the `Token` level, in this process, against two virtual PIV cards
//! (scripts/vpiv/) in one private pcscd: exchange API keys generated in a slot and used there
//! (P-256 ECDSA → JWS ES256 `r || s`, Ed25519 on firmware 5.7+), checked with independent
//! verifiers; what a card cannot do; recovery when another program resets the card; and (run
//! by hand, `--ignored`) the signature and key-agreement latency on the virtual card.
//!
//! libpcsclite reads `PCSCLITE_CSOCK_NAME` once per process, so this binary has one pcscd,
//! started (and the variable set) before any PC/SC call. Tests share the two cards and take
//! turns (dropping a token resets its card).

mod common;

use std::sync::{LazyLock, Mutex, MutexGuard};

use common::token_checks;
use common::vpiv::{self, CardSpec, VirtualCard, VirtualPcsc};
use keyward::token::{
    KeyOptions, KeyRef, PinSource, PivSlot, SealingAlgorithm, SignatureAlgorithm, Token,
    YubiKeyToken, MAX_ED25519_MESSAGE,
};
use keyward::ErrorKind;
use p256::pkcs8::DecodePublicKey;

const PIN_VAR: &str = "KEYWARD_TEST_YUBIKEY_TOKEN_PIN";

struct Cards {
    /// Firmware 5.4.3 (3DES management key, no Ed25519).
    old: VirtualCard,
    /// Firmware 5.7.1 (AES-192 management key, Ed25519).
    new: VirtualCard,
    _pcsc: VirtualPcsc,
}

static CARDS: LazyLock<Option<Cards>> = LazyLock::new(|| {
    if !vpiv::available() {
        return None;
    }
    let pcsc = VirtualPcsc::start();
    // Before the first PC/SC call of this process; every test goes through CARDS first.
    std::env::set_var("PCSCLITE_CSOCK_NAME", pcsc.socket());
    std::env::set_var(PIN_VAR, "123456");
    let old = pcsc.insert(0, &CardSpec::new("5.4.3", 8000001));
    let new = pcsc.insert(1, &CardSpec::new("5.7.1", 8000002));
    Some(Cards {
        old,
        new,
        _pcsc: pcsc,
    })
});

static TURN: Mutex<()> = Mutex::new(());

/// The cards, and this test's turn with them; `None` when the stack is missing.
fn cards() -> Option<(&'static Cards, MutexGuard<'static, ()>)> {
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    CARDS.as_ref().map(|c| (c, turn))
}

fn open(card: &VirtualCard, options: &KeyOptions) -> YubiKeyToken {
    YubiKeyToken::open(
        Some(card.serial),
        "9d".parse().unwrap(),
        &PinSource::Env(PIN_VAR.into()),
        options,
    )
    .unwrap()
}

fn slot(s: &str) -> KeyRef {
    assert!(s.parse::<PivSlot>().is_ok());
    KeyRef::new(s)
}

#[test]
fn the_sealing_key_agrees_with_software_ecdh_and_opens_vaults() {
    let Some((cards, _turn)) = cards() else {
        return;
    };
    for card in [&cards.old, &cards.new] {
        let token = open(card, &KeyOptions::default());
        let dir = tempfile::tempdir().unwrap();
        token_checks::sealing_key_round_trip(&token, dir.path());
        assert_eq!(card.state()["keys"]["9d"]["alg"], 0x11);
    }
}

#[test]
fn a_p256_api_key_signs_es256_on_the_card() {
    let Some((cards, _turn)) = cards() else {
        return;
    };
    let token = open(&cards.old, &KeyOptions::default());
    token_checks::p256_api_key(&token, &slot("9c"));
    assert_eq!(cards.old.state()["keys"]["9c"]["alg"], 0x11);
    let message = b"a message";

    // What the card or keyward refuses, each named.
    let err = token
        .generate_signing_key(&slot("9c"), SignatureAlgorithm::EcdsaP256)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("slot 9c (Digital Signature) already holds a P-256 key"),
        "{err}"
    );
    let err = token
        .generate_signing_key(&slot("9d"), SignatureAlgorithm::EcdsaP256)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("slot 9d is the sealing key's slot"),
        "{err}"
    );
    let err = token
        .sign(&slot("9c"), SignatureAlgorithm::Ed25519, message)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("slot 9c holds a P-256 key, not an Ed25519 one"),
        "{err}"
    );
    let err = token
        .generate_signing_key(&slot("83"), SignatureAlgorithm::Ed25519)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Token);
    assert!(
        err.to_string()
            .contains("Ed25519 needs firmware 5.7 or later"),
        "{err}"
    );
    let err = token
        .sign(&slot("84"), SignatureAlgorithm::EcdsaP256, message)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("slot 84 (Retired Key Management) holds no key"),
        "{err}"
    );
    let err = token
        .sign(
            &KeyRef::new("keyward-hmac-x"),
            SignatureAlgorithm::EcdsaP256,
            message,
        )
        .unwrap_err();
    assert!(err.to_string().contains("is not a PIV key slot"), "{err}");
    let err = token.generate(SealingAlgorithm::Rsa3072).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not support generating a sealing key pair (RSA-3072)"),
        "{err}"
    );
}

#[test]
fn an_ed25519_api_key_signs_on_firmware_5_7() {
    let Some((cards, _turn)) = cards() else {
        return;
    };
    let token = open(
        &cards.new,
        &KeyOptions {
            pin_policy: Some(keyward::token::PinPolicy::Always),
            ..KeyOptions::default()
        },
    );
    token_checks::ed25519_api_key(&token, &slot("82"), &[0, 1, 200, MAX_ED25519_MESSAGE]);
    let key = &cards.new.state()["keys"]["82"];
    assert_eq!(key["alg"], 0xE0, "{key}");
    assert_eq!(key["pin_policy"], 3, "{key}");
    let too_long = vec![b'a'; MAX_ED25519_MESSAGE + 1];
    let err = token
        .sign(&slot("82"), SignatureAlgorithm::Ed25519, &too_long)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("at most {MAX_ED25519_MESSAGE} bytes")),
        "{err}"
    );
}

#[test]
fn a_reset_by_another_program_is_recovered_from() {
    let Some((cards, _turn)) = cards() else {
        return;
    };
    let token = open(&cards.new, &KeyOptions::default());
    let key = slot("85");
    let spki = token
        .generate_signing_key(&key, SignatureAlgorithm::EcdsaP256)
        .unwrap();
    let verifier =
        p256::ecdsa::VerifyingKey::from(&p256::PublicKey::from_public_key_der(&spki).unwrap());
    use p256::ecdsa::signature::Verifier;
    token
        .sign(&key, SignatureAlgorithm::EcdsaP256, b"one")
        .unwrap();
    // Another program opens the same card and leaves it reset (as every `keyward check` does).
    drop(open(&cards.new, &KeyOptions::default()));
    let before = cards
        .new
        .log_text()
        .matches("INS 20 P1 00 P2 80: 9000")
        .count();
    let raw = token
        .sign(&key, SignatureAlgorithm::EcdsaP256, b"two")
        .unwrap();
    verifier
        .verify(b"two", &p256::ecdsa::Signature::from_slice(&raw).unwrap())
        .unwrap();
    let after = cards
        .new
        .log_text()
        .matches("INS 20 P1 00 P2 80: 9000")
        .count();
    assert_eq!(after, before + 1, "the PIN was verified again, once");

    // A PIN-always key: the VERIFY before the operation meets the reset.
    drop(token);
    let always = open(
        &cards.new,
        &KeyOptions {
            pin_policy: Some(keyward::token::PinPolicy::Always),
            ..KeyOptions::default()
        },
    );
    let key = slot("86");
    always
        .generate_signing_key(&key, SignatureAlgorithm::EcdsaP256)
        .unwrap();
    drop(open(&cards.new, &KeyOptions::default()));
    always
        .sign(&key, SignatureAlgorithm::EcdsaP256, b"three")
        .unwrap();
    drop(always);

    // Another program selects the PIV applet without a reset: the card drops the PIN
    // verification; the next signature verifies the PIN again (once) and succeeds.
    let token = open(&cards.new, &KeyOptions::default());
    let key = slot("85");
    token
        .sign(&key, SignatureAlgorithm::EcdsaP256, b"four")
        .unwrap();
    let mut other = yubikey::YubiKey::open_by_serial(cards.new.serial.into()).unwrap();
    other.get_pin_retries().unwrap(); // SELECT PIV, VERIFY without a PIN
    other.disconnect(pcsc::Disposition::LeaveCard).ok();
    let log_before = cards.new.log_text();
    let before = log_before.matches("INS 20 P1 00 P2 80: 9000").count();
    token
        .sign(&key, SignatureAlgorithm::EcdsaP256, b"five")
        .unwrap();
    let log = cards.new.log_text();
    assert_eq!(
        log.matches("INS 20 P1 00 P2 80: 9000").count(),
        before + 1,
        "{log}"
    );
    let since = &log[log_before.len()..];
    assert!(since.contains("INS 87: 6982 PIN not verified"), "{since}");
}

/// Key agreement and signature latency on the virtual card (Python emulator behind pcscd: the
/// numbers describe this test stack, not a YubiKey). Run by scripts/bench-yubikey.sh:
/// `cargo test --test yubikey_token -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_latency_on_the_virtual_card() {
    let Some((cards, _turn)) = cards() else {
        return;
    };
    let token = open(&cards.new, &KeyOptions::default());
    let _ = token.generate(SealingAlgorithm::P256); // the sealing key, if not there yet
    let (p256, ed25519) = (slot("90"), slot("91"));
    let _ = token.generate_signing_key(&p256, SignatureAlgorithm::EcdsaP256);
    let _ = token.generate_signing_key(&ed25519, SignatureAlgorithm::Ed25519);
    token_checks::measure(&token, 200, &p256, Some(&ed25519));
    token_checks::report("open (find the card, verify PIN)", 20, &mut || {
        drop(open(&cards.new, &KeyOptions::default()));
    });
}
