//! The backend against a loopback KMS stub that answers as AWS KMS does (the JSON 1.1 shapes and
//! error bodies of the KMS API reference), through the real SDK client: SigV4-signed requests,
//! the `X-Amz-Target` operation names, `endpoint_url`. The stub holds a real RSA-3072 key and
//! really decrypts RSA-OAEP (moto, the local KMS there is, cannot: see the README), and it
//! refuses as KMS does for a disabled key, a key pending deletion and unknown credentials.

use std::net::SocketAddr;

use super::AwsKmsToken;
use crate::token::aws_kms::AwsKmsConfig;
use crate::token::{OaepHash, SealingAlgorithm, Token};
use crate::vault::testing::SoftRsaToken;

#[path = "../../../../tests/support/kms_stub.rs"]
mod kms_stub;

use kms_stub::{local_hmac, KmsStub, State, ACCESS_KEY, ALIAS, ARN, KEY_ID, SECRET_KEY};

fn start(exists: bool) -> (SocketAddr, KmsStub) {
    let stub = KmsStub::start(exists);
    (stub.addr, stub)
}

/// The stub's sealing key, as keyward holds it.
fn stub_public() -> crate::token::Rsa3072PublicKey {
    crate::token::Rsa3072PublicKey::new(KmsStub::public_key()).unwrap()
}

/// RSA-OAEP to `key` with `hash`, as `keyward seal` encrypts a data key.
fn oaep(
    key: &crate::token::Rsa3072PublicKey,
    hash: OaepHash,
    msg: &[u8],
) -> crate::error::Result<Vec<u8>> {
    let padding = match hash {
        OaepHash::Sha1 => rsa::Oaep::new::<sha1::Sha1>(),
        OaepHash::Sha256 => rsa::Oaep::new::<sha2::Sha256>(),
    };
    Ok(key
        .as_rsa()
        .encrypt(&mut rand_core::OsRng, padding, msg)
        .unwrap())
}

fn token(addr: SocketAddr, key: &str, access_key: &str) -> AwsKmsToken {
    token_with(addr, key, access_key, SECRET_KEY)
}

fn token_with(addr: SocketAddr, key: &str, access_key: &str, secret_key: &str) -> AwsKmsToken {
    let config = AwsKmsConfig {
        region: "eu-west-1".into(),
        key: key.into(),
        endpoint_url: Some(format!("http://{addr}").parse().unwrap()),
    };
    let credentials =
        aws_sdk_kms::config::Credentials::new(access_key, secret_key, None, None, "keyward-test");
    AwsKmsToken::for_test(&config, credentials)
}

#[test]
fn keygen_creates_the_key_under_its_alias_and_the_recipient_round_trips() {
    let (addr, stub) = start(false);
    let kms = token(addr, ALIAS, ACCESS_KEY);
    let public = kms.generate(SealingAlgorithm::Rsa3072).unwrap();
    assert_eq!(
        stub.calls(),
        ["DescribeKey", "CreateKey", "CreateAlias", "GetPublicKey"]
    );
    let expected = stub_public();
    assert_eq!(public.as_rsa(), Some(&expected));
    // The recipient: a trial decryption by KMS Decrypt (RSAES_OAEP_SHA_256 first).
    let recipient = crate::vault::recipient_of(&kms).unwrap();
    let text = recipient.to_string();
    assert!(
        text.starts_with(&format!("kwr1-awskms-rsa3072-v1:eu-west-1/{KEY_ID}:")),
        "{text}"
    );
    assert!(kms.describe().contains(KEY_ID), "{}", kms.describe());
    // A second keygen adopts the key.
    stub.lock().calls.clear();
    kms.generate(SealingAlgorithm::Rsa3072).unwrap();
    assert_eq!(stub.calls(), ["DescribeKey", "GetPublicKey"]);
    let e = kms
        .generate(SealingAlgorithm::P256)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--algorithm rsa3072"), "{e}");
}

#[test]
fn the_data_key_is_decrypted_by_kms_with_the_hash_asked_for() {
    let (addr, _stub) = start(true);
    let kms = token(addr, ARN, ACCESS_KEY);
    let public = stub_public();
    for hash in [OaepHash::Sha256, OaepHash::Sha1] {
        let ct = oaep(&public, hash, b"a 32-byte data key, for a test!!").unwrap();
        let plain = kms.rsa_oaep_decrypt(hash, &ct).unwrap();
        assert_eq!(plain.expose(), b"a 32-byte data key, for a test!!");
    }
    // A ciphertext for another key: KMS's InvalidCiphertextException, explained.
    let other = SoftRsaToken::new(1, &[]).public();
    let ct = oaep(&other, OaepHash::Sha256, b"x").unwrap();
    let e = kms
        .rsa_oaep_decrypt(OaepHash::Sha256, &ct)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("InvalidCiphertextException") && e.contains("sealed to another key"),
        "{e}"
    );
}

#[test]
fn a_disabled_deleted_or_missing_key_and_bad_credentials_fail_closed() {
    let (addr, stub) = start(true);
    let kms = token(addr, ALIAS, ACCESS_KEY);
    kms.public_key().unwrap();
    let public = stub_public();
    let ct = oaep(&public, OaepHash::Sha256, b"k").unwrap();
    stub.set_state(State::Disabled);
    let e = kms.rsa_oaep_decrypt(OaepHash::Sha256, &ct).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Token);
    let e = e.to_string();
    assert!(
        e.contains("DisabledException") && e.contains("enable-key"),
        "{e}"
    );
    stub.set_state(State::PendingDeletion);
    let e = kms
        .rsa_oaep_decrypt(OaepHash::Sha256, &ct)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("KMSInvalidStateException") && e.contains("cancel-key-deletion"),
        "{e}"
    );
    stub.set_state(State::Enabled);
    let e = token(addr, "alias/not-there", ACCESS_KEY)
        .public_key()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("NotFoundException") && e.contains("no such key"),
        "{e}"
    );
    let e = token(addr, ALIAS, "AKIDUNKNOWN")
        .rsa_oaep_decrypt(OaepHash::Sha256, &ct)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("UnrecognizedClientException") && e.contains("credentials"),
        "{e}"
    );
    assert!(!e.contains(SECRET_KEY), "{e}");
    // The right access key with a wrong secret key: the stub checks the SigV4 signature.
    let e = token_with(addr, ALIAS, ACCESS_KEY, "a-wrong-secret-access-key")
        .rsa_oaep_decrypt(OaepHash::Sha256, &ct)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("InvalidSignatureException")
            && e.contains("credentials keyward found are not valid"),
        "{e}"
    );
    assert!(!e.contains("a-wrong-secret-access-key"), "{e}");
    // Nothing listening: refused before KMS answers, naming what to check.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap();
    drop(closed);
    let e = token(port, ALIAS, ACCESS_KEY)
        .public_key()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("failed before KMS answered") && e.contains("endpoint_url"),
        "{e}"
    );
}

#[test]
fn keygen_creates_keys_only_under_an_alias() {
    let (addr, stub) = start(false);
    let e = token(addr, KEY_ID, ACCESS_KEY)
        .generate(SealingAlgorithm::Rsa3072)
        .unwrap_err()
        .to_string();
    assert!(e.contains("only under an alias"), "{e}");
    assert_eq!(stub.calls(), ["DescribeKey"]);
}

#[test]
fn an_imported_secret_signs_in_kms_with_the_secrets_own_hmac() {
    use crate::token::{HmacAlgorithm, KeyRef};
    let (addr, stub) = start(true);
    let kms = token(addr, ALIAS, ACCESS_KEY);
    let parts: [&[u8]; 2] = [b"symbol=BTCUSDT&side=BUY", b"&timestamp=1700000000000"];
    let message = parts.concat();
    for (i, len) in [24usize, 64, 150].into_iter().enumerate() {
        let secret: Vec<u8> = (0..len)
            .map(|b| (b as u8).wrapping_mul(29) ^ 0x5a)
            .collect();
        let key = KeyRef::new(format!("alias/keyward-hmac-c{i}"));
        kms.import_hmac_key(&key, &crate::secret::SecretBytes::copy_from(&secret))
            .unwrap();
        let mac = kms.hmac(&key, HmacAlgorithm::Sha256, &parts).unwrap();
        assert_eq!(mac, local_hmac(&secret, &message, false), "{len}");
        let mac = kms.hmac(&key, HmacAlgorithm::Sha512, &parts).unwrap();
        assert_eq!(mac, local_hmac(&secret, &message, true), "{len}");
        // Importing again would replace the key: refused.
        let e = kms
            .import_hmac_key(&key, &crate::secret::SecretBytes::copy_from(&secret))
            .unwrap_err()
            .to_string();
        assert!(e.contains("already names a KMS key"), "{e}");
    }
    {
        let s = stub.lock();
        assert_eq!(s.hmac.len(), 6, "two keys (HMAC_256, HMAC_512) per secret");
        assert!(s.hmac_aliases.contains_key("alias/keyward-hmac-c0-sha512"));
        // The order of the calls (a retried attempt, under load, shows twice: counted once).
        let mut calls: Vec<&str> = s.calls.iter().map(String::as_str).collect();
        calls.dedup();
        let first = &calls[..6];
        assert_eq!(
            first,
            [
                "DescribeKey",
                "CreateKey",
                "CreateAlias",
                "GetParametersForImport",
                "ImportKeyMaterial",
                "DescribeKey"
            ]
        );
    }
    stub.set_state(State::Disabled);
    let key = KeyRef::new("alias/keyward-hmac-c0");
    let e = kms
        .hmac(&key, HmacAlgorithm::Sha256, &parts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("DisabledException") && e.contains("enable-key"),
        "{e}"
    );
    let e = kms
        .hmac(&key, HmacAlgorithm::Sha256, &[&[b'x'; 4097][..]])
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most 4096"), "{e}");
}

#[test]
fn doctor_checks_the_credentials_and_the_key_state_spec_and_usage() {
    let (addr, stub) = start(true);
    let checks = |kms: &AwsKmsToken| super::super::health::checks(&kms.kms);
    let found = checks(&token(addr, ALIAS, ACCESS_KEY));
    assert_eq!(found.len(), 2, "{:?}", found[0].1);
    let (name, credentials) = &found[0];
    assert_eq!(*name, "aws credentials");
    let credentials = credentials.as_ref().unwrap();
    assert!(credentials.contains("AKID…TEST"), "{credentials}");
    let key = found[1].1.as_ref().unwrap();
    assert!(
        key.contains(KEY_ID) && key.contains("Enabled, RSA_3072 ENCRYPT_DECRYPT, origin AWS_KMS"),
        "{key}"
    );
    stub.set_state(State::Disabled);
    let e = checks(&token(addr, ALIAS, ACCESS_KEY))[1]
        .1
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(e.contains("is Disabled") && e.contains("enable-key"), "{e}");
    stub.set_state(State::Enabled);
    let e = checks(&token_with(addr, ALIAS, ACCESS_KEY, "a-wrong-secret"))[1]
        .1
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(e.contains("InvalidSignatureException"), "{e}");
    let e = checks(&token(addr, "alias/keyward-hmac-x-sha256", ACCESS_KEY))[1]
        .1
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(e.contains("NotFoundException"), "{e}");
}

/// The stub's latency (not AWS's) through keyward's client, one keep-alive connection: Decrypt
/// of a data key and GenerateMac of an order, each checked; printed for the README.
#[test]
fn decrypt_and_generate_mac_latency_against_the_stub() {
    use crate::token::{HmacAlgorithm, KeyRef};
    let (addr, _stub) = start(true);
    let kms = token(addr, ALIAS, ACCESS_KEY);
    let key = KeyRef::new("alias/keyward-hmac-latency");
    let secret = b"a 64-byte exchange secret, for the latency measure only, 0123456";
    kms.import_hmac_key(&key, &crate::secret::SecretBytes::copy_from(secret))
        .unwrap();
    let ct = oaep(&stub_public(), OaepHash::Sha256, &[7u8; 32]).unwrap();
    let message = b"symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.01&timestamp=1700000000000";
    let want = local_hmac(secret, message, false);
    let time = |n: usize, call: &dyn Fn()| {
        let mut ms: Vec<f64> = (0..n)
            .map(|_| {
                let t = std::time::Instant::now();
                call();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        (ms[n / 2], ms[n * 99 / 100])
    };
    let (d50, d99) = time(100, &|| {
        assert_eq!(
            kms.rsa_oaep_decrypt(OaepHash::Sha256, &ct)
                .unwrap()
                .expose(),
            &[7u8; 32]
        );
    });
    let (m50, m99) = time(300, &|| {
        assert_eq!(
            kms.hmac(&key, HmacAlgorithm::Sha256, &[message]).unwrap(),
            want
        );
    });
    eprintln!(
        "loopback KMS stub (not AWS), keyward's SDK client: Decrypt p50 {d50:.2} ms p99 \
         {d99:.2} ms (the stub's RSA-3072 decryption included); GenerateMac p50 {m50:.2} ms p99 \
         {m99:.2} ms"
    );
}
