//! The YubiKey backend on a physical YubiKey 5, through the machine's own pcscd. Ignored by
//! default: it generates keys in three empty slots of the card you name. Run it with
//!
//! ```sh
//! KEYWARD_TEST_YUBIKEY_SERIAL=12345678 KEYWARD_TEST_YUBIKEY_SLOTS=93,94,95 \
//!   cargo test --test yubikey_hardware -- --ignored --nocapture
//! ```
//!
//! `KEYWARD_TEST_YUBIKEY_SLOTS` names three EMPTY slots: the sealing key, a P-256 and (firmware
//! 5.7+) an Ed25519 exchange key go there; the test refuses to overwrite anything (keyward's
//! keygen never replaces a key). The PIN is `KEYWARD_TEST_YUBIKEY_PIN` (default 123456), the
//! management key the default one unless `KEYWARD_TEST_YUBIKEY_MANAGEMENT_KEY_FILE` names a file
//! (mode 0600, hex). Afterwards remove the keys with `ykman piv keys delete SLOT` (ykman 5.3+).
//! It prints the latency of each operation on the card: the numbers the README asks for.

mod common;

use common::token_checks;
use keyward::token::{KeyOptions, KeyRef, PinSource, Token, YubiKeyToken};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[test]
#[ignore = "needs a physical YubiKey: see the file's header for the command"]
fn on_a_physical_yubikey() {
    let serial: u32 = var("KEYWARD_TEST_YUBIKEY_SERIAL")
        .expect("set KEYWARD_TEST_YUBIKEY_SERIAL to the card's serial")
        .parse()
        .expect("a serial number");
    let slots: Vec<String> = var("KEYWARD_TEST_YUBIKEY_SLOTS")
        .expect("set KEYWARD_TEST_YUBIKEY_SLOTS to three empty slots, e.g. 93,94,95")
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    assert_eq!(slots.len(), 3, "three slots");
    if var("KEYWARD_TEST_YUBIKEY_PIN").is_none() {
        std::env::set_var("KEYWARD_TEST_YUBIKEY_PIN", "123456");
    }
    let options = KeyOptions {
        management_key_file: var("KEYWARD_TEST_YUBIKEY_MANAGEMENT_KEY_FILE").map(Into::into),
        ..KeyOptions::default()
    };
    let token = YubiKeyToken::open(
        Some(serial),
        slots[0].parse().expect("a PIV slot"),
        &PinSource::Env("KEYWARD_TEST_YUBIKEY_PIN".into()),
        &options,
    )
    .expect("open the YubiKey");
    println!("{}", token.describe());
    let dir = tempfile::tempdir().unwrap();
    token_checks::sealing_key_round_trip(&token, dir.path());
    let p256 = KeyRef::new(slots[1].as_str());
    token_checks::p256_api_key(&token, &p256);
    let ed25519 = KeyRef::new(slots[2].as_str());
    let with_ed25519 = token.firmware() >= (5, 7, 0);
    if with_ed25519 {
        token_checks::ed25519_api_key(&token, &ed25519, &[0, 200, 1000]);
    }
    token_checks::measure(&token, 20, &p256, with_ed25519.then_some(&ed25519));
    println!(
        "remove the test keys with: ykman piv keys delete {}; ykman piv keys delete {}{}",
        slots[0],
        slots[1],
        if with_ed25519 {
            format!("; ykman piv keys delete {}", slots[2])
        } else {
            String::new()
        }
    );
}
