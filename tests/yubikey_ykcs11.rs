//! The same YubiKey through PKCS#11: Yubico's ykcs11 module (Debian `ykcs11`) with keyward's
//! existing `[token] kind = "pkcs11"` backend, against the virtual PIV card. The key is generated
//! with the native backend (`kind = "yubikey"`), then vaults sealed to it are opened through
//! ykcs11 (PIV ECDH as `CKM_ECDH1_DERIVE`, null KDF, raw 65-byte point, derived value read
//! and the object destroyed), with the card attesting its key (as a real YubiKey does) and
//! without attestation (ykcs11 then builds the key from GET METADATA and names its curve by
//! explicit parameters). ykcs11 lists only readers named "Yubico…", and a key with PIN policy
//! "always" does only one operation per login through keyward (no context-specific login).

mod common;

use std::path::Path;

use common::must;
use common::vpiv::{self, token_error, yubikey_config, CardSpec, Setup, VirtualPcsc};

const MODULES: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/libykcs11.so",
    "/usr/lib/aarch64-linux-gnu/libykcs11.so",
    "/usr/lib/libykcs11.so",
    "/usr/local/lib/libykcs11.so",
];

fn ykcs11() -> Option<String> {
    if let Ok(m) = std::env::var("KEYWARD_TEST_YKCS11_MODULE") {
        return Some(m);
    }
    let found = MODULES.iter().find(|m| Path::new(m).exists());
    if found.is_none() {
        let why = "libykcs11.so not found (apt-get install ykcs11; scripts/test.sh does)";
        if std::env::var_os("KEYWARD_REQUIRE_VPIV").is_some_and(|v| v == "1") {
            panic!("{why}");
        }
        eprintln!("note: {why}; skipping");
    }
    found.map(|m| m.to_string())
}

/// The `[token]` of hsm-config/tokens/ykcs11.toml for this card (9d is ykcs11's id 03).
fn ykcs11_config(module: &str, serial: u32) -> String {
    let example = include_str!("../hsm-config/tokens/ykcs11.toml");
    assert!(example.contains("uri = \"pkcs11:token=YubiKey%20PIV%20%2312345678;id=%03\""));
    format!("module = \"{module}\"\nuri = \"pkcs11:token=YubiKey%20PIV%20%23{serial};id=%03\"")
}

#[test]
fn ykcs11_opens_vaults_sealed_to_the_yubikey() {
    if !vpiv::available() {
        return;
    }
    let Some(module) = ykcs11() else { return };
    for (attestation, serial) in [(true, 9200001), (false, 9200002)] {
        let spec = CardSpec {
            attestation,
            ..CardSpec::new("5.7.1", serial)
        };
        let Some((s, card)) = Setup::with_card(&spec, "9d", 2) else {
            return;
        };
        s.keygen_and_seal(&[], 2);
        s.config(&ykcs11_config(&module, serial), 2);
        let out = must(s.check(), "check through ykcs11");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("credential c1 (binance): unsealed"), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "PKCS#11 token 'YubiKey PIV #{serial}', key with id 03"
            )),
            "{err}"
        );
        let log = card.log_text();
        assert_eq!(
            log.matches("INS 87 P1 11 P2 9D: 9000").count(),
            2,
            "one PIV ECDH per vault: {log}"
        );
        assert_eq!(log.contains("INS F9 P1 9D"), attestation, "{log}");
    }
}

#[test]
fn ykcs11_ignores_readers_not_named_yubico() {
    if !vpiv::available() {
        return;
    }
    let Some(module) = ykcs11() else { return };
    let s = Setup::with(VirtualPcsc::start_named("Virtual PCD"));
    let _card = s.pcsc.insert(0, &CardSpec::new("5.4.3", 9200003));
    s.config(&yubikey_config(9200003, "9d"), 0);
    // The native backend does not care about the reader's name ...
    must(
        s.run(&["keygen", "--config", "keyward.toml"], None),
        "keygen",
    );
    // ... ykcs11 does.
    s.config(&ykcs11_config(&module, 9200003), 1);
    let err = token_error(s.check());
    assert!(err.contains("no initialized PKCS#11 token found"), "{err}");
}

#[test]
fn ykcs11_opens_only_one_vault_with_a_pin_always_key() {
    if !vpiv::available() {
        return;
    }
    let Some(module) = ykcs11() else { return };
    let Some((s, card)) = Setup::with_card(&CardSpec::new("5.7.1", 9200004), "9d", 2) else {
        return;
    };
    s.keygen_and_seal(&["--pin-policy", "always"], 2);
    must(
        s.check(),
        "the native backend verifies before each key agreement",
    );
    s.config(&ykcs11_config(&module, 9200004), 2);
    // C_Login's VERIFY serves the first derive; the second needs a context-specific login,
    // which keyward's PKCS#11 backend does not do.
    let err = token_error(s.check());
    assert!(
        err.contains("credential \"c1\"") && err.contains("ECDH derive: FunctionFailed"),
        "{err}"
    );
    assert!(card.log_text().contains("6982 PIN not verified"));
}

#[test]
fn through_ykcs11_failures_are_generic_pkcs11_errors() {
    if !vpiv::available() {
        return;
    }
    let Some(module) = ykcs11() else { return };
    let Some((s, card)) = Setup::with_card(&CardSpec::new("5.7.1", 9200005), "9d", 1) else {
        return;
    };
    s.keygen_and_seal(&["--touch", "always"], 1);
    s.config(&ykcs11_config(&module, 9200005), 1);
    // No touch: the card's 6982 comes back as a failed derive, with no word of the touch.
    let err = token_error(s.check());
    assert!(err.contains("ECDH derive: FunctionFailed"), "{err}");
    assert!(card.log_text().contains("no touch within the timeout"));
    // A wrong PIN: C_Login's CKR_PIN_INCORRECT, without the tries left.
    s.pin("999999");
    let err = token_error(s.check());
    assert!(err.contains("PIN rejected by token"), "{err}");
    assert_eq!(card.pin_left(), 2);
    // keygen (in the empty slot 82, id 05): ykcs11 refuses keyward's template (and would want
    // an SO login with the management key); nothing reaches the card.
    s.pin("123456");
    s.config(
        &ykcs11_config(&module, 9200005).replace("id=%03", "id=%05"),
        1,
    );
    let generated = card.log_text().matches("INS 47").count();
    let err = token_error(s.run(&["keygen", "--config", "keyward.toml"], None));
    assert!(err.contains("generating a P-256 key pair"), "{err}");
    assert_eq!(
        card.log_text().matches("INS 47").count(),
        generated,
        "{err}"
    );
}
