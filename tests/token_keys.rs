//! Exchange keys kept on a real SoftHSM token: HMAC secrets stored (zero-padded) as sensitive,
//! non-extractable secret keys, Ed25519 and P-256 API key pairs generated there, the session
//! pool under concurrency, and logging in again after the token forgot keyward.
//!
//! SoftHSM reads `SOFTHSM2_CONF` once, at `C_Initialize`, so this is one test function in its own
//! binary, which sets the variable before anything else runs.

#[path = "common/softhsm.rs"]
mod softhsm;

use std::path::Path;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use keyward::secret::SecretBytes;
use keyward::token::{
    HmacAlgorithm, KeyRef, PinSource, Pkcs11Token, Pkcs11Uri, SealingAlgorithm, SignatureAlgorithm,
    Token,
};
use sha2::{Sha256, Sha512};

use softhsm::MODULE;

const LABEL: &str = "kw-keys";

/// The secret `hmac_keys` stores under `keyward-hmac-len<len>`.
fn test_secret(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'A' + (i % 26) as u8).collect()
}

fn host_hmac(hash: HmacAlgorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    match hash {
        HmacAlgorithm::Sha256 => {
            let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        HmacAlgorithm::Sha512 => {
            let mut m = Hmac::<Sha512>::new_from_slice(key).unwrap();
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
    }
}

#[test]
fn keys_on_the_token() {
    let dir = tempfile::tempdir().unwrap();
    if softhsm::token(dir.path(), LABEL).is_none() {
        return;
    }
    let uri: Pkcs11Uri = format!("pkcs11:token={LABEL};object=keyward-seal")
        .parse()
        .unwrap();
    let pin = softhsm::pin_file(dir.path(), "pin", "1234");
    let token = Arc::new(
        Pkcs11Token::open(Path::new(MODULE), &uri, &PinSource::File(pin.clone())).unwrap(),
    );
    token.generate(SealingAlgorithm::P256).unwrap();

    hmac_keys(&token);
    key_pairs(&token);
    concurrent_use(&token);
    start_up_checks(&token, dir.path());
    logs_in_again(&token, &pin);
}

/// For secrets shorter than, equal to and longer than the 64 bytes keys are padded to, the
/// token's HMAC-SHA256 and HMAC-SHA512 equal the host's with the unpadded secret; the stored key
/// is sensitive and cannot be read back; a second import under the same label is refused.
fn hmac_keys(token: &Pkcs11Token) {
    let msg = b"GET/api/v3/account?timestamp=1700000000000";
    for len in [1usize, 16, 24, 31, 32, 33, 63, 64, 65, 100, 128, 129] {
        let secret = test_secret(len);
        let key = KeyRef::new(format!("keyward-hmac-len{len}"));
        token
            .import_hmac_key(&key, &SecretBytes::copy_from(&secret))
            .unwrap_or_else(|e| panic!("len {len}: {e}"));
        for hash in [HmacAlgorithm::Sha256, HmacAlgorithm::Sha512] {
            let parts: &[&[u8]] = &[&msg[..3], &msg[3..]];
            let mac = token.hmac(&key, hash, parts).unwrap();
            assert_eq!(mac, host_hmac(hash, &secret, msg), "len {len} {hash}");
        }
    }
    let key = KeyRef::new("keyward-hmac-len16");
    let err = token
        .import_hmac_key(&key, &SecretBytes::copy_from(b"another"))
        .unwrap_err();
    assert!(err.to_string().contains("will not replace"), "{err}");
    let err = token
        .hmac(
            &KeyRef::new("keyward-hmac-nope"),
            HmacAlgorithm::Sha256,
            &[b"m"],
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("no HMAC key 'keyward-hmac-nope'"),
        "{err}"
    );
    assert!(
        err.to_string().contains("keyward import --in-token"),
        "{err}"
    );
    check_secret_key_attributes("keyward-hmac-len16");
}

/// Ed25519 and P-256 pairs: generated once (a second keygen is refused), found again by label,
/// and their signatures verify with the public key the token gave.
fn key_pairs(token: &Pkcs11Token) {
    use p256::pkcs8::DecodePublicKey;
    use ring::signature::{UnparsedPublicKey, ED25519};

    let ed = KeyRef::new("keyward-api-binance-ed");
    let spki = token
        .generate_signing_key(&ed, SignatureAlgorithm::Ed25519)
        .unwrap();
    assert_eq!(spki.len(), 44);
    assert_eq!(
        token.signing_public_key(&ed).unwrap(),
        Some((SignatureAlgorithm::Ed25519, spki.clone()))
    );
    let msg = b"symbol=BTCUSDT&side=BUY&type=LIMIT&timestamp=1";
    let sig = token.sign(&ed, SignatureAlgorithm::Ed25519, msg).unwrap();
    UnparsedPublicKey::new(&ED25519, &spki[12..])
        .verify(msg, &sig)
        .expect("Ed25519 signature verifies");
    let err = token
        .generate_signing_key(&ed, SignatureAlgorithm::EcdsaP256)
        .unwrap_err();
    assert!(err.to_string().contains("will not replace"), "{err}");

    let ec = KeyRef::new("keyward-api-coinbase");
    let spki = token
        .generate_signing_key(&ec, SignatureAlgorithm::EcdsaP256)
        .unwrap();
    let public = p256::PublicKey::from_public_key_der(&spki).unwrap();
    let sig = token.sign(&ec, SignatureAlgorithm::EcdsaP256, msg).unwrap();
    use p256::ecdsa::signature::Verifier;
    p256::ecdsa::VerifyingKey::from(public)
        .verify(msg, &p256::ecdsa::Signature::from_slice(&sig).unwrap())
        .expect("ES256 signature (r||s over SHA-256) verifies");
    assert_eq!(
        token.signing_public_key(&ec).unwrap().unwrap().0,
        SignatureAlgorithm::EcdsaP256
    );
    assert_eq!(
        token
            .signing_public_key(&KeyRef::new("keyward-api-none"))
            .unwrap(),
        None
    );
    // The wrong kind of operation for a key is the token's refusal, not a wrong signature.
    assert!(token
        .sign(
            &KeyRef::new("keyward-hmac-len16"),
            SignatureAlgorithm::Ed25519,
            msg
        )
        .is_err());
    check_private_key_attributes("keyward-api-binance-ed");
    check_private_key_attributes("keyward-api-coinbase");
}

/// More threads than the pool has sessions, each signing: every result is right, and the pool
/// never opens more sessions than its size.
fn concurrent_use(token: &Arc<Pkcs11Token>) {
    let secret = test_secret(24);
    let threads: Vec<_> = (0..(token.max_sessions() * 2 + 2))
        .map(|t| {
            let token = token.clone();
            let secret = secret.clone();
            std::thread::spawn(move || {
                let key = KeyRef::new("keyward-hmac-len24");
                let ed = KeyRef::new("keyward-api-binance-ed");
                for i in 0..50 {
                    let msg = format!("thread {t} request {i}");
                    let mac = token
                        .hmac(&key, HmacAlgorithm::Sha256, &[msg.as_bytes()])
                        .unwrap();
                    assert_eq!(
                        mac,
                        host_hmac(HmacAlgorithm::Sha256, &secret, msg.as_bytes())
                    );
                    token
                        .sign(&ed, SignatureAlgorithm::Ed25519, msg.as_bytes())
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let sessions = token.open_sessions();
    assert!(
        sessions > 1 && sessions <= token.max_sessions(),
        "{sessions} sessions open, pool size {}",
        token.max_sessions()
    );
    // The async callers' gate (`Token::gate`) has one turn per session the pool may open.
    let gate = token
        .gate()
        .expect("a PKCS#11 token bounds its blocking callers");
    assert_eq!(gate.available_permits(), token.max_sessions());
}

/// The token forgets keyward twice — logged out (`C_Logout` from another session), then every
/// session closed (`C_CloseAllSessions`, as after a reset) — and the next operation logs in
/// again and succeeds. Last, with a wrong PIN in the file, logging in again fails once and the
/// token is not tried again, even after the PIN file is fixed.
fn logs_in_again(token: &Pkcs11Token, pin: &Path) {
    let key = KeyRef::new("keyward-hmac-len32");
    let sign = || token.hmac(&key, HmacAlgorithm::Sha256, &[b"after"]);
    let before = sign().unwrap();

    with_own_session(|session| session.logout().unwrap());
    assert_eq!(sign().unwrap(), before, "after C_Logout");

    close_all_sessions();
    assert_eq!(sign().unwrap(), before, "after C_CloseAllSessions");
    // Sealing operations recover the same way.
    close_all_sessions();
    token.public_key().unwrap();

    std::fs::write(pin, "9999\n").unwrap();
    close_all_sessions();
    let err = sign().unwrap_err();
    assert!(err.to_string().contains("PIN rejected by token"), "{err}");
    std::fs::write(pin, "1234\n").unwrap();
    let again = sign().unwrap_err();
    assert!(
        again.to_string().contains("PIN rejected by token"),
        "{again}"
    );
}

/// Start-up with in-token vaults: a good one gives a credential whose key is on the token; a
/// missing key, a regenerated key pair and Alpaca (which sends its secret itself) each stop
/// start-up with an error naming the credential.
fn start_up_checks(token: &Pkcs11Token, dir: &Path) {
    use keyward::config::Config;
    use keyward::vault::{self, InTokenCredential, TokenKey};

    let recipient = vault::recipient_of(token).unwrap();
    let ed_public = token
        .signing_public_key(&KeyRef::new("keyward-api-binance-ed"))
        .unwrap()
        .unwrap()
        .1;
    let mut other_public = ed_public.clone();
    *other_public.last_mut().unwrap() ^= 1;
    let cases: [(&str, &str, TokenKey, Option<&str>); 5] = [
        (
            "bybit-ok",
            "bybit",
            TokenKey::Hmac {
                label: KeyRef::new("keyward-hmac-len32"),
            },
            None,
        ),
        (
            "binance-ed",
            "binance",
            TokenKey::Pair {
                label: KeyRef::new("keyward-api-binance-ed"),
                algorithm: SignatureAlgorithm::Ed25519,
                public_key: ed_public,
            },
            None,
        ),
        (
            "alpaca-main",
            "alpaca",
            TokenKey::Hmac {
                label: KeyRef::new("keyward-hmac-len16"),
            },
            Some("alpaca sends its API secret itself"),
        ),
        (
            "bybit-gone",
            "bybit",
            TokenKey::Hmac {
                label: KeyRef::new("keyward-hmac-gone"),
            },
            Some("the HMAC key 'keyward-hmac-gone' is not usable"),
        ),
        (
            "binance-new",
            "binance",
            TokenKey::Pair {
                label: KeyRef::new("keyward-api-binance-ed"),
                algorithm: SignatureAlgorithm::Ed25519,
                public_key: other_public,
            },
            Some("not the Ed25519 key this vault was made for"),
        ),
    ];
    for (name, exchange, key, want) in cases {
        let path = dir.join(format!("vault/{name}.kwv"));
        let credential = InTokenCredential {
            api_key: SecretBytes::copy_from(b"api-key-1"),
            passphrase: None,
            key,
        };
        let bytes = vault::seal_in_token(&recipient, name, exchange, &credential, None).unwrap();
        vault::write_vault_file(&path, &bytes).unwrap();
        let config = Config::parse(
            &format!(
                "[token]\nmodule = \"{MODULE}\"\nuri = \"pkcs11:token={LABEL};object=keyward-seal\"\n\
                 pin = {{ file = \"pin\" }}\n[audit]\npath = \"audit.jsonl\"\nunkeyed = true\n\
                 [[credential]]\nname = \"{name}\"\nexchange = \"{exchange}\"\nvault = \"vault/{name}.kwv\"\n\
                 vault_sha256 = \"{}\"\n",
                vault::VaultDigest::of(&bytes)
            ),
            dir,
        )
        .unwrap();
        match (keyward::startup::unseal_all(&config), want) {
            (Ok(unsealed), None) => {
                let u = &unsealed[name];
                assert!(u.credential.key.blocks(), "{name}: a token key blocks");
                assert!(
                    u.credential.key.reveal().is_err(),
                    "{name}: and never reveals"
                );
                assert!(u.mode.starts_with("in-token"), "{name}: {}", u.mode);
            }
            (Err(e), Some(want)) => {
                let msg = e.to_string();
                assert!(msg.contains(want), "{name}: {msg}");
                assert!(msg.contains(name), "{name}: {msg}");
            }
            (Ok(_), Some(want)) => panic!("{name}: started, expected {want:?}"),
            (Err(e), None) => panic!("{name}: {e}"),
        }
    }
}

// ---- looking at the token directly --------------------------------------------------------------

fn with_own_session(f: impl FnOnce(&cryptoki::session::Session)) {
    softhsm::with_session(LABEL, f)
}

/// `C_CloseAllSessions` on the token's slot, through the module's own symbol (cryptoki has no
/// wrapper): every session of this process ends and with them the login, as after a reset.
fn close_all_sessions() {
    let ctx = softhsm::ctx();
    let slot_id = softhsm::slot(&ctx, LABEL).id();
    let path = std::ffi::CString::new(MODULE).unwrap();
    // SAFETY: the module is already loaded by this process; RTLD_NOLOAD returns that instance.
    // C_CloseAllSessions takes a CK_SLOT_ID (unsigned long) and returns a CK_RV.
    unsafe {
        let handle = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
        assert!(!handle.is_null(), "{MODULE} is loaded");
        let sym = libc::dlsym(handle, c"C_CloseAllSessions".as_ptr());
        assert!(!sym.is_null());
        let close_all: extern "C" fn(libc::c_ulong) -> libc::c_ulong = std::mem::transmute(sym);
        assert_eq!(close_all(slot_id as libc::c_ulong), 0, "CKR_OK");
        libc::dlclose(handle);
    }
}

fn check_secret_key_attributes(label: &str) {
    use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
    use AttributeType::*;
    softhsm::assert_flags(
        LABEL,
        ObjectClass::SECRET_KEY,
        label,
        &[
            (Sensitive, true),
            (Sign, true),
            (Token, true),
            (Extractable, false),
            (Encrypt, false),
            (Derive, false),
            (Modifiable, false),
        ],
    );
    with_own_session(|session| {
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .unwrap();
        let attrs = session.get_attributes(found[0], &[ValueLen]).unwrap();
        assert!(
            matches!(attrs[..], [Attribute::ValueLen(len)] if u64::from(len) == 64),
            "padded to 64: {attrs:?}"
        );
        let info = session.get_attribute_info(found[0], &[Value]).unwrap();
        assert!(matches!(info[0], AttributeInfo::Sensitive), "{info:?}");
    });
}

fn check_private_key_attributes(label: &str) {
    use cryptoki::object::{AttributeType::*, ObjectClass};
    softhsm::assert_flags(
        LABEL,
        ObjectClass::PRIVATE_KEY,
        label,
        &[
            (Sensitive, true),
            (Sign, true),
            (Extractable, false),
            (Derive, false),
            (Decrypt, false),
        ],
    );
}
