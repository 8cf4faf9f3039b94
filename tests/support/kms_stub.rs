//! A loopback AWS KMS stub, shared by the backend's unit tests (src/token/aws_kms/service/tests.rs)
//! and the end-to-end test of the binary (tests/aws_kms.rs), both of which include this file with
//! `#[path]`. It uses only crates keyward depends on, never keyward itself.
//!
//! It answers as AWS KMS does (the JSON 1.1 shapes and `__type` error bodies of the KMS API
//! reference) and does the real cryptography: it checks each request's SigV4 signature against
//! the one access key it knows (wrong access key: `UnrecognizedClientException`; wrong secret key:
//! `InvalidSignatureException`), holds RSA keys it generated itself (the sealing key, RSA-3072,
//! decrypts RSA-OAEP SHA-1/SHA-256 for `Decrypt`; the import wrapping key unwraps
//! `ImportKeyMaterial`), and `GenerateMac` is the HMAC of the imported material. A disabled key and
//! one pending deletion are refused as KMS refuses them. moto, the local KMS there is, can do none
//! of this (see the README).
//!
//! Differences from KMS, on purpose: one sealing key per stub (`KEY_ID`, created by `CreateKey`
//! with `KeySpec = RSA_3072` or present from the start); the import wrapping key is RSA-3072, not
//! the RSA-4096 asked for (generating a 4096-bit key in a debug test costs seconds; keyward accepts
//! any wrapping key of at least 3072 bits); one key state for every key.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use rsa::pkcs8::EncodePublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};

pub const REGION: &str = "eu-west-1";
pub const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
pub const ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
pub const ALIAS: &str = "alias/keyward-seal";
/// The one AWS access key the stub knows, and its secret key.
pub const ACCESS_KEY: &str = "AKIDKEYWARDTEST";
pub const SECRET_KEY: &str = "keyward-test-secret-access-key";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    Enabled,
    Disabled,
    PendingDeletion,
}

/// An HMAC key made with `Origin = EXTERNAL`: its spec, and its material once imported.
pub struct HmacKey {
    pub spec: String,
    pub material: Option<Vec<u8>>,
}

pub struct Stub {
    /// Whether the sealing key (and its alias) exist yet.
    pub exists: bool,
    /// HMAC keys by key id, and their aliases.
    pub hmac: HashMap<String, HmacKey>,
    pub hmac_aliases: HashMap<String, String>,
    /// The state of every key.
    pub state: State,
    /// Whether the access key is still valid (false: as if it were deleted in IAM).
    pub access_key_valid: bool,
    /// Operations called, in order (from `X-Amz-Target`), refused ones included.
    pub calls: Vec<String>,
}

/// The stub's RSA keys, generated once per test process: the sealing key and the import
/// wrapping key.
fn keys() -> &'static [rsa::RsaPrivateKey; 2] {
    static KEYS: OnceLock<[rsa::RsaPrivateKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        std::thread::scope(|s| {
            let gen = || s.spawn(|| rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 3072).unwrap());
            let (a, b) = (gen(), gen());
            [a.join().unwrap(), b.join().unwrap()]
        })
    })
}

/// A running stub: its address and its state, which a test reads and changes.
pub struct KmsStub {
    pub addr: SocketAddr,
    pub shared: Arc<Mutex<Stub>>,
}

impl KmsStub {
    /// Starts a stub on a free loopback port, on a thread of its own, for the process's lifetime;
    /// `exists`: whether the sealing key is there already.
    pub fn start(exists: bool) -> KmsStub {
        keys();
        let shared = Arc::new(Mutex::new(Stub {
            exists,
            hmac: HashMap::new(),
            hmac_aliases: HashMap::new(),
            state: State::Enabled,
            access_key_valid: true,
            calls: Vec::new(),
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stub = Arc::clone(&shared);
        std::thread::spawn(move || serve(listener, stub));
        KmsStub { addr, shared }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Stub> {
        self.shared.lock().unwrap()
    }

    pub fn set_state(&self, state: State) {
        self.lock().state = state;
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// How many times `op` was called.
    pub fn count(&self, op: &str) -> usize {
        self.lock().calls.iter().filter(|c| *c == op).count()
    }

    /// The sealing key's public half.
    pub fn public_key() -> rsa::RsaPublicKey {
        keys()[0].to_public_key()
    }
}

fn serve(listener: std::net::TcpListener, shared: Arc<Mutex<Stub>>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let stub = Arc::clone(&shared);
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let stub = Arc::clone(&stub);
                        async move {
                            let (head, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let (status, reply) = answer(&stub, &head, &body);
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
}

fn error(code: &str, message: &str) -> (u16, Value) {
    (400, json!({"__type": code, "message": message}))
}

fn header<'a>(head: &'a http::request::Parts, name: &str) -> &'a str {
    head.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// The SigV4 check KMS makes: `None` when the request is signed by [`ACCESS_KEY`] with
/// [`SECRET_KEY`] for this region and service, else KMS's refusal.
fn check_signature(head: &http::request::Parts, body: &[u8]) -> Option<(u16, Value)> {
    let auth = header(head, "authorization");
    let field = |name: &str| {
        auth.split([' ', ','])
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or("")
    };
    let (credential, signed, signature) = (
        field("Credential="),
        field("SignedHeaders="),
        field("Signature="),
    );
    let Some((access_key, scope)) = credential.split_once('/') else {
        return Some(error(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    if access_key != ACCESS_KEY {
        return Some(error(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    let date = scope.split('/').next().unwrap_or("");
    if scope != format!("{date}/{REGION}/kms/aws4_request") {
        return Some(error(
            "InvalidSignatureException",
            "Credential should be scoped to a valid region.",
        ));
    }
    let mut canonical = format!(
        "{}\n{}\n{}\n",
        head.method,
        head.uri.path(),
        head.uri.query().unwrap_or("")
    );
    for name in signed.split(';') {
        let value = header(head, name)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        canonical.push_str(&format!("{name}:{value}\n"));
    }
    canonical.push_str(&format!(
        "\n{signed}\n{}",
        hex::encode(Sha256::digest(body))
    ));
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        header(head, "x-amz-date"),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = format!("AWS4{SECRET_KEY}").into_bytes();
    for part in [date, REGION, "kms", "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    if hex::encode(hmac_sha256(&key, to_sign.as_bytes())) != signature {
        return Some(error(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method.",
        ));
    }
    None
}

fn answer(stub: &Mutex<Stub>, head: &http::request::Parts, raw: &[u8]) -> (u16, Value) {
    let mut s = stub.lock().unwrap();
    let op = header(head, "x-amz-target")
        .trim_start_matches("TrentService.")
        .to_string();
    s.calls.push(op.clone());
    // KMS checks the caller first, whatever the call.
    if let Some(refused) = check_signature(head, raw) {
        return refused;
    }
    if !s.access_key_valid {
        return error(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        );
    }
    let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
    if let Some(reply) = hmac_answer(&mut s, &op, &body) {
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
    match op.as_str() {
        "DescribeKey" => (200, json!({"KeyMetadata": metadata(s.state)})),
        "CreateKey" => {
            assert_eq!(body["KeySpec"], "RSA_3072");
            assert_eq!(body["KeyUsage"], "ENCRYPT_DECRYPT");
            (200, json!({"KeyMetadata": metadata(s.state)}))
        }
        "CreateAlias" => {
            assert_eq!(body["AliasName"], ALIAS);
            assert_eq!(body["TargetKeyId"], KEY_ID);
            s.exists = true;
            (200, json!({}))
        }
        "GetPublicKey" => {
            let der = KmsStub::public_key().to_public_key_der().unwrap();
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
            let padding = match body["EncryptionAlgorithm"].as_str() {
                Some("RSAES_OAEP_SHA_256") => rsa::Oaep::new::<Sha256>(),
                Some("RSAES_OAEP_SHA_1") => rsa::Oaep::new::<sha1::Sha1>(),
                _ => return error("InvalidCiphertextException", ""),
            };
            let blob = STANDARD
                .decode(body["CiphertextBlob"].as_str().unwrap_or(""))
                .unwrap_or_default();
            match keys()[0].decrypt(padding, &blob) {
                Ok(plain) => (
                    200,
                    json!({
                        "EncryptionAlgorithm": body["EncryptionAlgorithm"],
                        "KeyId": ARN,
                        "Plaintext": STANDARD.encode(plain),
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
            Some(k) => {
                let state = match (s.state, &k.material) {
                    (_, None) => "PendingImport",
                    (State::Enabled, _) => "Enabled",
                    (State::Disabled, _) => "Disabled",
                    (State::PendingDeletion, _) => "PendingDeletion",
                };
                (200, meta(&id, &k.spec, state))
            }
            None => error("NotFoundException", &format!("Alias {key} is not found.")),
        },
        "GetParametersForImport" if s.hmac.contains_key(&id) => {
            assert_eq!(body["WrappingAlgorithm"], "RSAES_OAEP_SHA_256");
            assert_eq!(body["WrappingKeySpec"], "RSA_4096");
            let der = keys()[1].to_public_key().to_public_key_der().unwrap();
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
            let plain = keys()[1]
                .decrypt(rsa::Oaep::new::<Sha256>(), &wrapped)
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
            k.material = Some(plain);
            (200, json!({"KeyId": id}))
        }
        "GenerateMac" if s.hmac.contains_key(&id) => {
            match s.state {
                State::Disabled => {
                    return Some(error("DisabledException", &format!("{id} is disabled.")))
                }
                State::PendingDeletion => {
                    return Some(error(
                        "KMSInvalidStateException",
                        &format!("{id} is pending deletion."),
                    ))
                }
                State::Enabled => {}
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

/// HMAC-SHA256 (or -SHA512) of `msg` under `key`, computed here, to compare with KMS's.
pub fn local_hmac(key: &[u8], msg: &[u8], sha512: bool) -> Vec<u8> {
    if sha512 {
        let mut m = Hmac::<Sha512>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().to_vec()
    } else {
        hmac_sha256(key, msg)
    }
}

fn metadata(state: State) -> Value {
    let state = match state {
        State::Enabled => "Enabled",
        State::Disabled => "Disabled",
        State::PendingDeletion => "PendingDeletion",
    };
    json!({
        "AWSAccountId": "111122223333",
        "Arn": ARN,
        "CreationDate": 1.7e9,
        "CustomerMasterKeySpec": "RSA_3072",
        "Enabled": state == "Enabled",
        "EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
        "KeyId": KEY_ID,
        "KeyManager": "CUSTOMER",
        "KeySpec": "RSA_3072",
        "KeyState": state,
        "KeyUsage": "ENCRYPT_DECRYPT",
        "MultiRegion": false,
        "Origin": "AWS_KMS",
    })
}
