//! Keygen, seal and open against a real SoftHSM token created in a temporary directory.
//!
//! SoftHSM reads `SOFTHSM2_CONF` once, at `C_Initialize`, and keyward initializes a module once per
//! process; so the whole flow is one test function in its own test binary, which sets the variable
//! before anything else runs.

#[path = "common/softhsm.rs"]
mod softhsm;
#[path = "common/token_checks.rs"]
mod token_checks;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use keyward::secret::SecretBytes;
use keyward::token::{PinSource, Pkcs11Token, Pkcs11Uri, SealingAlgorithm, Token};
use keyward::vault::{self, CredentialSecrets, Recipient};
use keyward::ErrorKind;

#[test]
fn softhsm_keygen_seal_open() {
    let dir = tempfile::tempdir().unwrap();
    if softhsm::token(dir.path(), "kw-test").is_none() {
        return;
    }

    let module = Path::new(softhsm::MODULE);
    let uri: Pkcs11Uri = "pkcs11:token=kw-test;object=keyward-seal;id=%01"
        .parse()
        .unwrap();
    let good_pin = PinSource::File(softhsm::pin_file(dir.path(), "pin", "1234"));
    let bad_pin = PinSource::File(softhsm::pin_file(dir.path(), "bad-pin", "9999"));

    // Wrong PIN first: once a session is logged in, the login state is shared by the process.
    let err = Pkcs11Token::open(module, &uri, &bad_pin).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Token);
    assert!(err.to_string().contains("PIN rejected by token"), "{err}");
    assert!(!err.to_string().contains("9999"), "{err}");

    // No such token: the message lists what is there.
    let other: Pkcs11Uri = "pkcs11:token=nope;object=keyward-seal".parse().unwrap();
    let err = Pkcs11Token::open(module, &other, &good_pin).unwrap_err();
    assert!(err.to_string().contains("tokens seen: 'kw-test'"), "{err}");

    let token = Pkcs11Token::open(module, &uri, &good_pin).unwrap();
    assert_eq!(
        token.describe(),
        "PKCS#11 token 'kw-test', key 'keyward-seal' (id 01)"
    );
    let err = token.public_key().unwrap_err();
    assert!(err.to_string().contains("keyward keygen"), "{err}");

    let public = token.generate(SealingAlgorithm::P256).unwrap();
    assert_eq!(token.public_key().unwrap(), public);
    let err = token.generate(SealingAlgorithm::P256).unwrap_err();
    assert!(
        err.to_string()
            .contains("already exists on token 'kw-test'"),
        "{err}"
    );
    assert_eq!(token.public_key().unwrap(), public);
    let err = token.generate(SealingAlgorithm::Rsa3072).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");

    // The token's ECDH agrees with software ECDH from the other side; a vault sealed to the
    // recipient string alone opens with the token.
    token_checks::ecdh_matches_software(&token, &public);
    let path = dir.path().join("vault/okx-main.kwv");
    token_checks::seal_and_open(
        &token,
        public,
        &path,
        ("okx-main", "okx"),
        Some(b"test-passphrase"),
    );

    // Concurrent use: several threads on one token, plus a second token handle (whose login
    // meets CKR_USER_ALREADY_LOGGED_IN).
    let token = Arc::new(token);
    let second = Arc::new(Pkcs11Token::open(module, &uri, &good_pin).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let t = if i % 2 == 0 {
                token.clone()
            } else {
                second.clone()
            };
            let path = path.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let (_, s) = vault::open(
                        &path,
                        ("okx-main", "okx"),
                        &vault::VaultDigest::of_file(&path).unwrap(),
                        std::time::SystemTime::now(),
                        t.as_ref(),
                    )
                    .unwrap();
                    let s = s.into_sealed().unwrap();
                    assert_eq!(s.secret.expose(), b"test-api-secret");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }

    check_key_attributes_and_no_leftovers();
    public_object_is_pinned_and_a_replaced_one_is_refused(module, &good_pin, dir.path());
    rsa_sealing(module, &good_pin, dir.path());

    // A key on a different token label/id is not found.
    let missing: Pkcs11Uri = "pkcs11:token=kw-test;object=other".parse().unwrap();
    let t2 = Pkcs11Token::open(module, &missing, &good_pin).unwrap();
    let err = vault::open(
        &path,
        ("okx-main", "okx"),
        &vault::VaultDigest::of_file(&path).unwrap(),
        std::time::SystemTime::now(),
        &t2,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no public key 'other'"), "{err}");
}

/// Issue 10, "the sealing public key is trusted without proof". keyward's public object is
/// private, non-modifiable and non-destroyable (what SoftHSM 2.6.1 honours: all three). A pair
/// made the old way (public object public and destroyable), whose public object is then replaced
/// by another key's under the same label, is refused by the ECDH proof: `keyward recipient` (and
/// keygen, import) never prints the foreign key, and a vault sealed to the real key never
/// advises resealing to it.
fn public_object_is_pinned_and_a_replaced_one_is_refused(
    module: &Path,
    pin: &PinSource,
    dir: &Path,
) {
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    softhsm::assert_flags(
        "kw-test",
        ObjectClass::PUBLIC_KEY,
        "keyward-seal",
        &[
            (AttributeType::Private, true),
            (AttributeType::Modifiable, false),
            (AttributeType::Destroyable, false),
        ],
    );
    let ctx = softhsm::ctx();
    let session = ctx.open_rw_session(softhsm::slot(&ctx, "kw-test")).unwrap();
    // keyward's own public object cannot be destroyed (SoftHSM honours CKA_DESTROYABLE).
    let ours = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Label(b"keyward-seal".to_vec()),
        ])
        .unwrap();
    assert!(session.destroy_object(ours[0]).is_err());

    let params = Attribute::EcParams(vec![
        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ]);
    let pair = |public_label: &[u8], label: &[u8]| {
        session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &[
                    Attribute::Token(true),
                    Attribute::Private(false),
                    params.clone(),
                    Attribute::Label(public_label.to_vec()),
                ],
                &[
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Derive(true),
                    Attribute::Label(label.to_vec()),
                ],
            )
            .unwrap()
    };
    let (legacy_public, _) = pair(b"legacy-seal", b"legacy-seal");
    let uri: Pkcs11Uri = "pkcs11:token=kw-test;object=legacy-seal".parse().unwrap();
    let legacy = Pkcs11Token::open(module, &uri, pin).unwrap();
    let honest = vault::recipient_of(&legacy).unwrap();
    // A vault sealed to the honest key, pinned.
    let secrets = CredentialSecrets {
        api_key: SecretBytes::copy_from(b"k"),
        secret: SecretBytes::copy_from(b"s"),
        passphrase: None,
    };
    let path = dir.join("vault/legacy.kwv");
    let bytes = vault::seal(&honest, "legacy", "binance", &secrets, None).unwrap();
    vault::write_vault_file(&path, &bytes).unwrap();

    // The attack: another key's public object under the same label.
    session.destroy_object(legacy_public).unwrap();
    pair(b"legacy-seal", b"attacker");
    let err = vault::recipient_of(&legacy).unwrap_err().to_string();
    assert!(err.contains("the public-key object was replaced"), "{err}");
    assert!(err.contains("Do NOT seal to it"), "{err}");
    assert!(!err.contains("kwr1-"), "no recipient is printed: {err}");
    let err = vault::open(
        &path,
        ("legacy", "binance"),
        &vault::VaultDigest::of(&bytes),
        std::time::SystemTime::now(),
        &legacy,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("the public-key object was replaced"), "{err}");
    assert!(!err.contains("reseal"), "never advises resealing: {err}");
}

/// Looks at the token with cryptoki directly: the private key is sensitive, non-extractable,
/// derive-only, and no derived ECDH secret is left behind.
fn check_key_attributes_and_no_leftovers() {
    use cryptoki::object::{Attribute, AttributeType::*, ObjectClass};
    softhsm::assert_flags(
        "kw-test",
        ObjectClass::PRIVATE_KEY,
        "keyward-seal",
        &[
            (Token, true),
            (Private, true),
            (Sensitive, true),
            (Extractable, false),
            (Derive, true),
            (Sign, false),
        ],
    );
    let secrets = softhsm::with_session("kw-test", |session| {
        session
            .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)])
            .unwrap()
    });
    assert!(secrets.is_empty(), "derived ECDH objects left on the token");
}

/// RSA-3072 sealing on the same token, under another label: keygen, the OAEP hash found by the
/// trial decryption (SoftHSM 2.6 decrypts OAEP with SHA-1 only), seal to the recipient string,
/// open through the token; the private key is sensitive, non-extractable and decrypt-only.
fn rsa_sealing(module: &Path, pin: &PinSource, dir: &Path) {
    use keyward::token::OaepHash;

    let uri: Pkcs11Uri = "pkcs11:token=kw-test;object=keyward-rsa".parse().unwrap();
    let token = Pkcs11Token::open(module, &uri, pin).unwrap();
    let public = token.generate(SealingAlgorithm::Rsa3072).unwrap();
    assert_eq!(public.algorithm(), SealingAlgorithm::Rsa3072);
    assert_eq!(token.public_key().unwrap(), public);
    let recipient = vault::recipient_of(&token).unwrap();
    let Recipient::Rsa { oaep, .. } = &recipient else {
        panic!("{recipient:?}")
    };
    let version = Command::new("softhsm2-util")
        .arg("--version")
        .output()
        .unwrap();
    if String::from_utf8_lossy(&version.stdout).starts_with("2.6") {
        assert_eq!(
            *oaep,
            OaepHash::Sha1,
            "SoftHSM 2.6 refuses OAEP with SHA-256"
        );
        let err = token
            .rsa_oaep_decrypt(OaepHash::Sha256, &[0u8; 384])
            .unwrap_err();
        assert!(err.to_string().contains("ArgumentsBad"), "{err}");
    }
    let shown = recipient.to_string();
    assert!(
        shown.starts_with(&format!("kwr1-rsa3072-{}-", oaep.id())),
        "{shown}"
    );
    let recipient: Recipient = shown.parse().unwrap();

    let secrets = CredentialSecrets {
        api_key: SecretBytes::copy_from(b"rsa-api-key"),
        secret: SecretBytes::copy_from(b"rsa-api-secret"),
        passphrase: None,
    };
    let path = dir.join("vault/bybit-rsa.kwv");
    let bytes = vault::seal(&recipient, "bybit-rsa", "bybit", &secrets, None).unwrap();
    vault::write_vault_file(&path, &bytes).unwrap();
    let (header, opened) = vault::open(
        &path,
        ("bybit-rsa", "bybit"),
        &vault::VaultDigest::of_file(&path).unwrap(),
        std::time::SystemTime::now(),
        &token,
    )
    .unwrap();
    let opened = opened.into_sealed().unwrap();
    assert_eq!(header.recipient_fingerprint, recipient.fingerprint());
    assert_eq!(opened.secret.expose(), b"rsa-api-secret");
    // The P-256 token's vaults are not this key's.
    let p256: Pkcs11Uri = "pkcs11:token=kw-test;object=keyward-seal;id=%01"
        .parse()
        .unwrap();
    let p256 = Pkcs11Token::open(module, &p256, pin).unwrap();
    let err = vault::open(
        &path,
        ("bybit-rsa", "bybit"),
        &vault::VaultDigest::of_file(&path).unwrap(),
        std::time::SystemTime::now(),
        &p256,
    )
    .unwrap_err();
    assert!(err.to_string().contains("sealed to key"), "{err}");

    use cryptoki::object::{AttributeType::*, ObjectClass};
    softhsm::assert_flags(
        "kw-test",
        ObjectClass::PRIVATE_KEY,
        "keyward-rsa",
        &[
            (Sensitive, true),
            (Extractable, false),
            (Decrypt, true),
            (Sign, false),
            (Unwrap, false),
        ],
    );
}
