//! The backend against a loopback KMS stub that answers as AWS KMS does (the JSON 1.1 shapes and
//! error bodies of the KMS API reference), through the real SDK client: SigV4-signed requests,
//! the `X-Amz-Target` operation names, `endpoint_url`. The stub holds a real RSA-3072 key and
//! really decrypts RSA-OAEP (moto, the local KMS there is, cannot: see the README), and it
//! refuses as KMS does for a disabled key, a key pending deletion and unknown credentials.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use rsa::pkcs8::EncodePublicKey;
use serde_json::{json, Value};

use super::AwsKmsToken;
use crate::token::aws_kms::AwsKmsConfig;
use crate::token::{OaepHash, SealingAlgorithm, Token};
use crate::vault::testing::SoftRsaToken;

const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ALIAS: &str = "alias/keyward-seal";
const ACCESS_KEY: &str = "AKIDKEYWARDTEST";

#[derive(Clone, Copy, PartialEq)]
enum State {
    Enabled,
    Disabled,
    PendingDeletion,
}

/// An HMAC key made with `Origin = EXTERNAL`: its spec, and its material once imported.
struct HmacKey {
    spec: String,
    material: Option<Vec<u8>>,
}

struct Stub {
    /// Whether the key (and its alias) exist yet.
    exists: bool,
    /// HMAC keys by key id, and their aliases.
    hmac: std::collections::HashMap<String, HmacKey>,
    hmac_aliases: std::collections::HashMap<String, String>,
    state: State,
    /// Operations called, in order (from `X-Amz-Target`).
    calls: Vec<String>,
}

fn error(code: &str, message: &str) -> (u16, Value) {
    (400, json!({"__type": code, "message": message}))
}

fn answer(stub: &Mutex<Stub>, auth: &str, target: &str, body: &Value) -> (u16, Value) {
    let mut s = stub.lock().unwrap();
    let op = target.trim_start_matches("TrentService.").to_string();
    s.calls.push(op.clone());
    // KMS checks the caller first: an access key it does not know is refused, whatever the call.
    if !auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")) {
        return error(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        );
    }
    if !auth.contains("/eu-west-1/kms/aws4_request") {
        return error(
            "InvalidSignatureException",
            "Credential should be scoped to a valid region.",
        );
    }
    if let Some(reply) = hmac_answer(&mut s, &op, body) {
        return reply;
    }
    let key = body["KeyId"]
        .as_str()
        .or(body["TargetKeyId"].as_str())
        .unwrap_or("");
    if op != "CreateKey"
        && op != "CreateAlias"
        && (!s.exists || ![KEY_ID, ARN, ALIAS].contains(&key))
    {
        return error("NotFoundException", &format!("Key '{key}' does not exist"));
    }
    match (op.as_str(), s.state) {
        ("CreateKey" | "CreateAlias" | "DescribeKey", _) => {}
        (_, State::Disabled) => return error("DisabledException", &format!("{ARN} is disabled.")),
        (_, State::PendingDeletion) => {
            return error(
                "KMSInvalidStateException",
                &format!("{ARN} is pending deletion."),
            )
        }
        (_, State::Enabled) => {}
    }
    let token = SoftRsaToken::new(0, &[OaepHash::Sha1, OaepHash::Sha256]);
    match op.as_str() {
        "DescribeKey" => (200, json!({"KeyMetadata": metadata()})),
        "CreateKey" => {
            assert_eq!(body["KeySpec"], "RSA_3072");
            assert_eq!(body["KeyUsage"], "ENCRYPT_DECRYPT");
            (200, json!({"KeyMetadata": metadata()}))
        }
        "CreateAlias" => {
            assert_eq!(body["AliasName"], ALIAS);
            assert_eq!(body["TargetKeyId"], KEY_ID);
            s.exists = true;
            (200, json!({}))
        }
        "GetPublicKey" => {
            let der = token.key.to_public_key().to_public_key_der().unwrap();
            (
                200,
                json!({
                    "CustomerMasterKeySpec": "RSA_3072",
                    "EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
                    "KeyId": ARN,
                    "KeySpec": "RSA_3072",
                    "KeyUsage": "ENCRYPT_DECRYPT",
                    "PublicKey": STANDARD.encode(der.as_bytes()),
                }),
            )
        }
        "Decrypt" => {
            let hash = match body["EncryptionAlgorithm"].as_str() {
                Some("RSAES_OAEP_SHA_256") => OaepHash::Sha256,
                Some("RSAES_OAEP_SHA_1") => OaepHash::Sha1,
                _ => return error("InvalidCiphertextException", ""),
            };
            let blob = STANDARD
                .decode(body["CiphertextBlob"].as_str().unwrap())
                .unwrap();
            match token.rsa_oaep_decrypt(hash, &blob) {
                Ok(plain) => (
                    200,
                    json!({
                        "EncryptionAlgorithm": body["EncryptionAlgorithm"],
                        "KeyId": ARN,
                        "Plaintext": STANDARD.encode(plain.expose()),
                    }),
                ),
                Err(_) => error("InvalidCiphertextException", ""),
            }
        }
        other => error("UnsupportedOperationException", other),
    }
}

/// The HMAC key calls, or `None` for a call about the sealing key.
fn hmac_answer(s: &mut Stub, op: &str, body: &Value) -> Option<(u16, Value)> {
    let key = body["KeyId"].as_str().unwrap_or("");
    let id = s.hmac_aliases.get(key).cloned().unwrap_or(key.to_string());
    let meta = |id: &str, spec: &str, state: &str| {
        json!({"KeyMetadata": {"KeyId": id, "Arn": format!("arn:aws:kms:eu-west-1:111122223333:key/{id}"),
            "KeySpec": spec, "KeyUsage": "GENERATE_VERIFY_MAC", "Origin": "EXTERNAL",
            "KeyState": state, "Enabled": state == "Enabled", "KeyManager": "CUSTOMER"}})
    };
    let reply = match op {
        "CreateKey" if body["KeySpec"].as_str()?.starts_with("HMAC_") => {
            assert_eq!(body["Origin"], "EXTERNAL");
            assert_eq!(body["KeyUsage"], "GENERATE_VERIFY_MAC");
            let spec = body["KeySpec"].as_str().unwrap().to_string();
            let id = format!("hmac-key-{}", s.hmac.len() + 1);
            s.hmac.insert(
                id.clone(),
                HmacKey {
                    spec: spec.clone(),
                    material: None,
                },
            );
            (200, meta(&id, &spec, "PendingImport"))
        }
        "CreateAlias" if s.hmac.contains_key(body["TargetKeyId"].as_str()?) => {
            let alias = body["AliasName"].as_str().unwrap().to_string();
            if s.hmac_aliases.contains_key(&alias) {
                return Some(error(
                    "AlreadyExistsException",
                    "An alias with the name already exists",
                ));
            }
            s.hmac_aliases
                .insert(alias, body["TargetKeyId"].as_str().unwrap().into());
            (200, json!({}))
        }
        "DescribeKey" if key.starts_with("alias/keyward-hmac") => match s.hmac.get(&id) {
            Some(k) => (200, meta(&id, &k.spec, "Enabled")),
            None => error("NotFoundException", &format!("Alias {key} is not found.")),
        },
        "GetParametersForImport" if s.hmac.contains_key(&id) => {
            assert_eq!(body["WrappingAlgorithm"], "RSAES_OAEP_SHA_256");
            assert_eq!(body["WrappingKeySpec"], "RSA_4096");
            let der = SoftRsaToken::new(1, &[])
                .key
                .to_public_key()
                .to_public_key_der()
                .unwrap();
            (
                200,
                json!({"KeyId": id, "ParametersValidTo": 1.9e9,
                "PublicKey": STANDARD.encode(der.as_bytes()),
                "ImportToken": STANDARD.encode(format!("import-token-{id}"))}),
            )
        }
        "ImportKeyMaterial" if s.hmac.contains_key(&id) => {
            let token = STANDARD
                .decode(body["ImportToken"].as_str().unwrap())
                .unwrap();
            assert_eq!(token, format!("import-token-{id}").as_bytes());
            assert_eq!(body["ExpirationModel"], "KEY_MATERIAL_DOES_NOT_EXPIRE");
            let wrapped = STANDARD
                .decode(body["EncryptedKeyMaterial"].as_str().unwrap())
                .unwrap();
            let plain = SoftRsaToken::new(1, &[OaepHash::Sha256])
                .rsa_oaep_decrypt(OaepHash::Sha256, &wrapped)
                .expect("wrapped to the import key with RSAES_OAEP_SHA_256");
            let k = s.hmac.get_mut(&id).unwrap();
            let (min, max) = if k.spec == "HMAC_256" {
                (32, 64)
            } else {
                (64, 128)
            };
            if !(min..=max).contains(&plain.len()) {
                return Some(error(
                    "ValidationException",
                    "key material length is not valid",
                ));
            }
            k.material = Some(plain.expose().to_vec());
            (200, json!({"KeyId": id}))
        }
        "GenerateMac" if s.hmac.contains_key(&id) => {
            if s.state == State::Disabled {
                return Some(error("DisabledException", &format!("{id} is disabled.")));
            }
            let k = &s.hmac[&id];
            let want = if k.spec == "HMAC_256" {
                "HMAC_SHA_256"
            } else {
                "HMAC_SHA_512"
            };
            if body["MacAlgorithm"] != want {
                return Some(error("InvalidKeyUsageException", "wrong MAC algorithm"));
            }
            let Some(material) = &k.material else {
                return Some(error(
                    "KMSInvalidStateException",
                    &format!("{id} is pending import."),
                ));
            };
            let msg = STANDARD.decode(body["Message"].as_str().unwrap()).unwrap();
            let mac = local_hmac(material, &msg, want == "HMAC_SHA_512");
            (
                200,
                json!({"KeyId": id, "MacAlgorithm": want, "Mac": STANDARD.encode(mac)}),
            )
        }
        _ => return None,
    };
    Some(reply)
}

fn local_hmac(key: &[u8], msg: &[u8], sha512: bool) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    if sha512 {
        let mut m = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().to_vec()
    } else {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().to_vec()
    }
}

fn metadata() -> Value {
    json!({
        "AWSAccountId": "111122223333",
        "Arn": ARN,
        "CreationDate": 1.7e9,
        "CustomerMasterKeySpec": "RSA_3072",
        "Enabled": true,
        "EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
        "KeyId": KEY_ID,
        "KeyManager": "CUSTOMER",
        "KeySpec": "RSA_3072",
        "KeyState": "Enabled",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "MultiRegion": false,
        "Origin": "AWS_KMS",
    })
}

/// Starts the stub on a free loopback port, on a thread of its own, for the test's lifetime.
fn start(exists: bool) -> (SocketAddr, Arc<Mutex<Stub>>) {
    let stub = Arc::new(Mutex::new(Stub {
        exists,
        hmac: Default::default(),
        hmac_aliases: Default::default(),
        state: State::Enabled,
        calls: Vec::new(),
    }));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let shared = Arc::clone(&stub);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let stub = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let stub = Arc::clone(&stub);
                            async move {
                                let header = |name: &str| {
                                    req.headers()
                                        .get(name)
                                        .and_then(|v| v.to_str().ok())
                                        .unwrap_or("")
                                        .to_string()
                                };
                                let (auth, target) =
                                    (header("authorization"), header("x-amz-target"));
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                let body: Value =
                                    serde_json::from_slice(&body).unwrap_or(Value::Null);
                                let (status, reply) = answer(&stub, &auth, &target, &body);
                                Ok::<_, Infallible>(
                                    Response::builder()
                                        .status(status)
                                        .header("content-type", "application/x-amz-json-1.1")
                                        .body(Full::new(Bytes::from(reply.to_string())))
                                        .unwrap(),
                                )
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
    });
    (addr, stub)
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
    let config = AwsKmsConfig {
        region: "eu-west-1".into(),
        key: key.into(),
        endpoint_url: Some(format!("http://{addr}").parse().unwrap()),
    };
    let credentials = aws_sdk_kms::config::Credentials::new(
        access_key,
        "keyward-test-secret-access-key",
        None,
        None,
        "keyward-test",
    );
    AwsKmsToken::for_test(&config, credentials)
}

#[test]
fn keygen_creates_the_key_under_its_alias_and_the_recipient_round_trips() {
    let (addr, stub) = start(false);
    let kms = token(addr, ALIAS, ACCESS_KEY);
    let public = kms.generate(SealingAlgorithm::Rsa3072).unwrap();
    assert_eq!(
        stub.lock().unwrap().calls,
        ["DescribeKey", "CreateKey", "CreateAlias", "GetPublicKey"]
    );
    let expected = SoftRsaToken::new(0, &[]).public();
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
    stub.lock().unwrap().calls.clear();
    kms.generate(SealingAlgorithm::Rsa3072).unwrap();
    assert_eq!(stub.lock().unwrap().calls, ["DescribeKey", "GetPublicKey"]);
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
    let public = SoftRsaToken::new(0, &[]).public();
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
    let public = SoftRsaToken::new(0, &[]).public();
    let ct = oaep(&public, OaepHash::Sha256, b"k").unwrap();
    stub.lock().unwrap().state = State::Disabled;
    let e = kms.rsa_oaep_decrypt(OaepHash::Sha256, &ct).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Token);
    let e = e.to_string();
    assert!(
        e.contains("DisabledException") && e.contains("enable-key"),
        "{e}"
    );
    stub.lock().unwrap().state = State::PendingDeletion;
    let e = kms
        .rsa_oaep_decrypt(OaepHash::Sha256, &ct)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("KMSInvalidStateException") && e.contains("cancel-key-deletion"),
        "{e}"
    );
    stub.lock().unwrap().state = State::Enabled;
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
    assert!(!e.contains("keyward-test-secret-access-key"), "{e}");
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
    assert_eq!(stub.lock().unwrap().calls, ["DescribeKey"]);
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
        let s = stub.lock().unwrap();
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
    stub.lock().unwrap().state = State::Disabled;
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
