//! Checks of a `Token` that hold for every backend: SoftHSM (tests/softhsm_token.rs), the
//! virtual PIV card (tests/yubikey_token.rs), a physical YubiKey (tests/yubikey_hardware.rs).
//! Each uses the token and verifies the result with an independent implementation (RustCrypto
//! p256, ring).
#![allow(dead_code)] // each test binary uses some of these

use std::time::{Duration, Instant};

use keyward::secret::SecretBytes;
use keyward::token::{KeyRef, SealingAlgorithm, SealingPublicKey, SignatureAlgorithm, Token};
use keyward::vault::{self, CredentialSecrets, Recipient};
use p256::ecdsa::signature::Verifier;
use p256::pkcs8::DecodePublicKey;

/// Generates the sealing key (in the token's slot), checks its ECDH against software ECDH from
/// the other side, and seals a vault to its recipient string that the token then opens.
pub fn sealing_key_round_trip(token: &dyn Token, dir: &std::path::Path) {
    let public = token.generate(SealingAlgorithm::P256).unwrap();
    assert_eq!(token.public_key().unwrap(), public);
    ecdh_matches_software(token, &public);
    seal_and_open(
        token,
        public,
        &dir.join("vault/yk.kwv"),
        ("yk", "binance"),
        None,
    );
}

/// Seals test secrets (and `passphrase`) for credential `name` of `exchange` to the recipient
/// string of `public` alone, writes the vault to `path` and opens it with `token`.
pub fn seal_and_open(
    token: &dyn Token,
    public: SealingPublicKey,
    path: &std::path::Path,
    (name, exchange): (&str, &str),
    passphrase: Option<&[u8]>,
) {
    assert_eq!(
        vault::recipient_of(token).unwrap(),
        Recipient::p256(*public.as_p256().unwrap())
    );
    let recipient: Recipient = Recipient::p256(*public.as_p256().unwrap())
        .to_string()
        .parse()
        .unwrap();
    let secrets = CredentialSecrets {
        api_key: SecretBytes::copy_from(b"test-api-key"),
        secret: SecretBytes::copy_from(b"test-api-secret"),
        passphrase: passphrase.map(SecretBytes::copy_from),
    };
    let bytes = vault::seal(&recipient, name, exchange, &secrets, None).unwrap();
    vault::write_vault_file(path, &bytes).unwrap();
    let (header, opened) = vault::open(
        path,
        (name, exchange),
        &vault::VaultDigest::of_file(path).unwrap(),
        std::time::SystemTime::now(),
        token,
    )
    .unwrap();
    let opened = opened.into_sealed().unwrap();
    assert_eq!(header.recipient_fingerprint, recipient.fingerprint());
    assert_eq!(opened.api_key.expose(), b"test-api-key");
    assert_eq!(opened.secret.expose(), b"test-api-secret");
    assert_eq!(
        opened.passphrase.as_ref().map(|p| p.expose().to_vec()),
        passphrase.map(|p| p.to_vec())
    );
}

/// The token's ECDH with its sealing key agrees with software ECDH from the other side.
pub fn ecdh_matches_software(token: &dyn Token, public: &SealingPublicKey) {
    let ephemeral = p256::SecretKey::random(&mut rand_core::OsRng);
    let expected = p256::ecdh::diffie_hellman(
        ephemeral.to_nonzero_scalar(),
        public.as_p256().unwrap().as_affine(),
    );
    let shared = token.ecdh_p256(&ephemeral.public_key()).unwrap();
    assert_eq!(shared.expose(), &expected.raw_secret_bytes()[..]);
}

/// Generates a P-256 exchange key under `slot` and checks its ES256 signatures (`r || s`).
pub fn p256_api_key(token: &dyn Token, slot: &KeyRef) -> p256::ecdsa::VerifyingKey {
    let spki = token
        .generate_signing_key(slot, SignatureAlgorithm::EcdsaP256)
        .unwrap();
    let public = p256::PublicKey::from_public_key_der(&spki).expect("DER SubjectPublicKeyInfo");
    let verifier = p256::ecdsa::VerifyingKey::from(&public);
    let message = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvcmdhbml6YXRpb25zL3gifQ";
    let raw = token
        .sign(slot, SignatureAlgorithm::EcdsaP256, message)
        .unwrap();
    assert_eq!(raw.len(), 64, "JWS ES256 is r || s");
    let signature = p256::ecdsa::Signature::from_slice(&raw).unwrap();
    verifier.verify(message, &signature).expect("verifies");
    assert!(verifier.verify(b"another message", &signature).is_err());
    verifier
}

/// Generates an Ed25519 exchange key in `slot`; checks signatures of messages of `lengths`.
/// Returns the 32-byte public key.
pub fn ed25519_api_key(token: &dyn Token, slot: &KeyRef, lengths: &[usize]) -> Vec<u8> {
    let spki = token
        .generate_signing_key(slot, SignatureAlgorithm::Ed25519)
        .unwrap();
    assert_eq!(spki.len(), 44, "RFC 8410 SubjectPublicKeyInfo");
    let verifier = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &spki[12..]);
    for &len in lengths {
        let message: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let signature = token
            .sign(slot, SignatureAlgorithm::Ed25519, &message)
            .unwrap();
        assert_eq!(signature.len(), 64);
        verifier.verify(&message, &signature).expect("verifies");
    }
    spki[12..].to_vec()
}

/// Times `n` runs of `f` (after one unrecorded run) and prints mean, p50, p99 and the rate of
/// one-at-a-time calls.
pub fn report(what: &str, n: usize, f: &mut dyn FnMut()) {
    f();
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let mean = times.iter().sum::<Duration>() / n as u32;
    println!(
        "{what:<34} mean {:>7.2} ms  p50 {:>7.2} ms  p99 {:>7.2} ms  ({:.0}/s one at a time)",
        mean.as_secs_f64() * 1e3,
        times[n / 2].as_secs_f64() * 1e3,
        times[(n * 99 / 100).min(n - 1)].as_secs_f64() * 1e3,
        1.0 / mean.as_secs_f64()
    );
}

/// Key agreement and signature latency of `token` (whose sealing key exists), with exchange
/// keys already in `p256_slot` and, if given, `ed25519_slot`.
pub fn measure(token: &dyn Token, n: usize, p256_slot: &KeyRef, ed25519_slot: Option<&KeyRef>) {
    let peer = p256::SecretKey::from_slice(&[9; 32]).unwrap().public_key();
    let message = vec![b'x'; 200];
    report("ECDH P-256 (opens one vault)", n, &mut || {
        token.ecdh_p256(&peer).unwrap();
    });
    report("ECDSA P-256 sign (200 B)", n, &mut || {
        token
            .sign(p256_slot, SignatureAlgorithm::EcdsaP256, &message)
            .unwrap();
    });
    if let Some(slot) = ed25519_slot {
        report("Ed25519 sign (200 B)", n, &mut || {
            token
                .sign(slot, SignatureAlgorithm::Ed25519, &message)
                .unwrap();
        });
    }
}
