//! Vault tests with a software token (a P-256 key in memory).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{json, Value};

use super::*;
use crate::secret::SecretBytes;
use crate::ErrorKind;

use super::testing::{SoftRsaToken, SoftToken};

const API_KEY: &[u8] = b"vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &[u8] = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

fn secrets(passphrase: Option<&[u8]>) -> CredentialSecrets {
    CredentialSecrets {
        api_key: SecretBytes::copy_from(API_KEY),
        secret: SecretBytes::copy_from(SECRET),
        passphrase: passphrase.map(SecretBytes::copy_from),
    }
}

/// A vault file in a directory of its own, for the credential `name` of `exchange`.
struct Sealed {
    _dir: tempfile::TempDir,
    path: PathBuf,
    json: Value,
    name: &'static str,
    exchange: &'static str,
}

fn sealed_file(token: &SoftToken, expires: Option<SystemTime>) -> Sealed {
    sealed_to(&token.recipient(), expires)
}

/// `binance-main`'s secrets (with a passphrase) sealed to `recipient`, written to a file.
fn sealed_to(recipient: &Recipient, expires: Option<SystemTime>) -> Sealed {
    let bytes = seal(
        recipient,
        "binance-main",
        "binance",
        &secrets(Some(b"pass")),
        expires,
    )
    .unwrap();
    Sealed::written("binance-main", "binance", &bytes)
}

impl Sealed {
    /// Writes the vault `bytes` sealed for `name` of `exchange` to `vault/<name>.kwv`.
    fn written(name: &'static str, exchange: &'static str, bytes: &[u8]) -> Sealed {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("vault/{name}.kwv"));
        write_vault_file(&path, bytes).unwrap();
        Sealed {
            _dir: dir,
            path,
            json: serde_json::from_slice(bytes).unwrap(),
            name,
            exchange,
        }
    }

    /// Why opening the file as its own name and exchange with `token` fails.
    fn refusal(&self, token: &dyn Token) -> String {
        open_current(&self.path, self.name, self.exchange, token)
            .expect_err("open must fail")
            .to_string()
    }

    /// Writes the vault file back with `edit` made to it; returns what was written.
    fn rewrite(&self, edit: impl FnOnce(&mut Value)) -> Value {
        let mut json = self.json.clone();
        edit(&mut json);
        write_json(&self.path, &json);
        json
    }
}

/// A change made to a parsed vault file.
type Edit = Box<dyn Fn(&mut Value)>;

/// The edit that sets the member at `path` (`stanza.alg`) to `value`.
fn set(path: &'static str, value: Value) -> Edit {
    Box::new(move |j| {
        let at = path.split('.').fold(j, |at, key| &mut at[key]);
        *at = value.clone();
    })
}

/// The edit that removes the member at `path`.
fn remove(path: &'static str) -> Edit {
    Box::new(move |j| {
        let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
        let at = parent
            .split('.')
            .filter(|k| !k.is_empty())
            .fold(j, |at, key| &mut at[key]);
        at.as_object_mut().unwrap().remove(key);
    })
}

fn write_json(path: &Path, value: &Value) {
    fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
}

/// Opens the vault at `path` pinned to its current bytes (what tampering tests need: the AEAD
/// and structure checks behind the pin), at the current time.
fn open_current(
    path: &Path,
    name: &str,
    exchange: &str,
    token: &dyn Token,
) -> Result<(VaultHeader, Contents)> {
    let pinned = VaultDigest::of(&fs::read(path).unwrap_or_default());
    open(path, (name, exchange), &pinned, SystemTime::now(), token)
}

/// Opens a vault that must hold its secret.
fn open_sealed(
    path: &Path,
    name: &str,
    exchange: &str,
    token: &dyn Token,
) -> Result<(VaultHeader, CredentialSecrets)> {
    let (header, contents) = open_current(path, name, exchange, token)?;
    Ok((header, contents.into_sealed().expect("a sealed vault")))
}

fn open_err(path: &Path, token: &SoftToken) -> Error {
    open_current(path, "binance-main", "binance", token).expect_err("open must fail")
}

#[test]
fn round_trip() {
    let token = SoftToken::new(1);
    let in_a_day = SystemTime::now() + Duration::from_secs(86_400);
    let file = sealed_file(&token, Some(in_a_day));
    let (header, opened) = open_sealed(&file.path, "binance-main", "binance", &token).unwrap();
    assert_eq!(opened.api_key.expose(), API_KEY);
    assert_eq!(opened.secret.expose(), SECRET);
    assert_eq!(opened.passphrase.unwrap().expose(), b"pass");
    assert_eq!(header.name, "binance-main");
    assert_eq!(header.exchange, "binance");
    assert_eq!(
        header.recipient_fingerprint,
        token.recipient().fingerprint()
    );
    let expires = header.expires.unwrap();
    assert!(expires.duration_since(in_a_day).is_err() || expires == in_a_day);
    assert!(in_a_day.duration_since(expires).unwrap() < Duration::from_secs(1));
    assert!(!header.is_expired(SystemTime::now()));
    assert!(header.is_expired(in_a_day + Duration::from_secs(1)));
    let age = SystemTime::now().duration_since(header.created).unwrap();
    assert!(age < Duration::from_secs(5));
}

#[test]
fn round_trip_without_passphrase_or_expiry() {
    let token = SoftToken::new(2);
    let bytes = seal(&token.recipient(), "okx-1", "okx", &secrets(None), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("okx-1.kwv");
    write_vault_file(&path, &bytes).unwrap();
    let (header, opened) = open_sealed(&path, "okx-1", "okx", &token).unwrap();
    assert!(opened.passphrase.is_none());
    assert!(header.expires.is_none());
    assert_eq!(opened.secret.expose(), SECRET);
}

#[test]
fn file_has_the_documented_shape_and_no_secret() {
    let token = SoftToken::new(1);
    let file = sealed_file(&token, None);
    let text = fs::read_to_string(&file.path).unwrap();
    for s in [API_KEY, SECRET] {
        assert!(!text.contains(std::str::from_utf8(s).unwrap()));
    }
    let obj = file.json.as_object().unwrap();
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut want = vec![
        "keyward_vault",
        "name",
        "exchange",
        "created",
        "expires",
        "recipient",
        "stanza",
        "nonce",
        "ciphertext",
    ];
    want.sort();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(keys_sorted, want);
    assert_eq!(file.json["keyward_vault"], json!(1));
    assert_eq!(file.json["expires"], Value::Null);
    assert_eq!(file.json["stanza"]["alg"], json!("p256-ecdh-hkdf-sha256"));
    let epk = STANDARD
        .decode(file.json["stanza"]["epk"].as_str().unwrap())
        .unwrap();
    assert_eq!(epk.len(), 33);
    let wrapped = STANDARD
        .decode(file.json["stanza"]["wrapped_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(wrapped.len(), 48);
    assert!(humantime::parse_rfc3339(file.json["created"].as_str().unwrap()).is_ok());
}

#[test]
fn two_seals_differ() {
    let token = SoftToken::new(1);
    let a = sealed_file(&token, None);
    let b = sealed_file(&token, None);
    assert_ne!(a.json["ciphertext"], b.json["ciphertext"]);
    assert_ne!(a.json["stanza"]["epk"], b.json["stanza"]["epk"]);
}

#[test]
fn file_mode_is_0600_and_rewrite_replaces() {
    let token = SoftToken::new(1);
    let file = sealed_file(&token, None);
    let mode = fs::metadata(&file.path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = seal(
        &token.recipient(),
        "binance-main",
        "binance",
        &secrets(None),
        None,
    )
    .unwrap();
    write_vault_file(&file.path, &again).unwrap();
    let (_, opened) = open_sealed(&file.path, "binance-main", "binance", &token).unwrap();
    assert!(opened.passphrase.is_none());
    let leftovers: Vec<_> = fs::read_dir(file.path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn name_and_exchange_mismatch_have_their_own_messages() {
    let token = SoftToken::new(1);
    let file = sealed_file(&token, None);
    let err = open_current(&file.path, "binance-alt", "binance", &token).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("sealed for credential 'binance-main', config expects 'binance-alt'"),
        "{msg}"
    );
    assert!(msg.contains("binance-main.kwv"), "{msg}");
    let err = open_current(&file.path, "binance-main", "bybit", &token).unwrap_err();
    assert!(
        err.to_string()
            .contains("sealed for exchange 'binance', config expects 'bybit'"),
        "{err}"
    );
}

#[test]
fn wrong_token_names_both_fingerprints() {
    let token = SoftToken::new(1);
    let other = SoftToken::new(9);
    let file = sealed_file(&token, None);
    let msg = file.refusal(&other);
    let want = format!(
        "sealed to key {}, software test token holds {}",
        token.recipient().fingerprint(),
        other.recipient().fingerprint()
    );
    assert!(msg.contains(&want), "{msg}");
}

#[test]
fn swapped_file_fails_authentication() {
    // An attacker renames another credential's file and edits its name to match.
    let token = SoftToken::new(1);
    let file = sealed_file(&token, None);
    file.rewrite(|json| {
        json["name"] = json!("binance-other");
    });
    let err = open_current(&file.path, "binance-other", "binance", &token).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("binance-main.kwv: authentication failed"),
        "{msg}"
    );
    assert_eq!(err.kind(), ErrorKind::Vault);
}

#[test]
fn editing_any_authenticated_field_fails() {
    let token = SoftToken::new(1);
    let file = sealed_file(&token, None);
    let other_epk = STANDARD.encode(
        SoftToken::new(5)
            .0
            .public_key()
            .to_encoded_point(true)
            .as_bytes(),
    );
    let edits: Vec<(&str, Edit)> = vec![
        ("exchange", set("exchange", json!("binance2"))),
        ("created", set("created", json!("2020-01-01T00:00:00Z"))),
        ("expires", set("expires", json!("2999-01-01T00:00:00Z"))),
        ("epk", set("stanza.epk", json!(other_epk))),
    ];
    for (what, edit) in edits {
        let json = file.rewrite(edit);
        let expected_exchange = json["exchange"].as_str().unwrap().to_string();
        let err = open_current(&file.path, "binance-main", &expected_exchange, &token).unwrap_err();
        assert!(
            err.to_string().contains("authentication failed"),
            "{what}: {err}"
        );
    }
}

#[test]
fn expiry_cannot_be_removed() {
    let token = SoftToken::new(1);
    let file = sealed_file(&token, Some(SystemTime::now() + Duration::from_secs(60)));
    for edit in [json!(null), json!("2999-01-01T00:00:00Z")] {
        file.rewrite(|json| {
            json["expires"] = edit;
        });
        assert!(file.refusal(&token).contains("authentication failed"));
    }
    file.rewrite(remove("expires"));
    assert!(file.refusal(&token).contains("authentication failed"));
}

#[test]
fn flipping_any_binary_byte_fails() {
    let token = SoftToken::new(1);
    let file = sealed_file(&token, None);
    for pointer in [
        "/ciphertext",
        "/nonce",
        "/stanza/nonce",
        "/stanza/wrapped_key",
        "/stanza/epk",
    ] {
        let original = STANDARD
            .decode(file.json.pointer(pointer).unwrap().as_str().unwrap())
            .unwrap();
        for i in 0..original.len() {
            let mut bytes = original.clone();
            bytes[i] ^= 0x01;
            file.rewrite(|json| {
                *json.pointer_mut(pointer).unwrap() = json!(STANDARD.encode(&bytes));
            });
            let msg = file.refusal(&token);
            assert!(msg.contains("binance-main.kwv"), "{pointer}[{i}]: {msg}");
            // A flipped epk byte may also make the point invalid; either is a clear refusal.
            assert!(
                msg.contains("authentication failed") || msg.contains("not a P-256 point"),
                "{pointer}[{i}]: {msg}"
            );
        }
        // Shortened fields.
        file.rewrite(|json| {
            *json.pointer_mut(pointer).unwrap() =
                json!(STANDARD.encode(&original[..original.len() - 1]));
        });
        file.refusal(&token);
    }
}

#[test]
fn truncation_fails_with_the_file_named() {
    let token = SoftToken::new(1);
    let file = sealed_file(&token, None);
    let bytes = fs::read(&file.path).unwrap();
    for cut in (0..bytes.len() - 2).step_by(7) {
        fs::write(&file.path, &bytes[..cut]).unwrap();
        let msg = file.refusal(&token);
        assert!(
            msg.starts_with(&file.path.display().to_string()),
            "{cut}: {msg}"
        );
    }
}

#[test]
fn structural_errors_are_clear() {
    let token = SoftToken::new(1);
    let file = sealed_file(&token, None);
    let cases: Vec<(Edit, &str)> = vec![
        (set("keyward_vault", json!(4)), "version 4 is not supported"),
        (remove("keyward_vault"), "not a keyward vault file"),
        (set("extra", json!(1)), "unknown field `extra`"),
        (set("stanza.extra", json!(1)), "unknown field `extra`"),
        (
            set("stanza.alg", json!("rsa-oaep")),
            "'rsa-oaep' is not supported",
        ),
        (set("nonce", json!("***")), "'nonce' is not valid base64"),
        (set("created", json!("yesterday")), "RFC 3339"),
        (remove("ciphertext"), "missing field `ciphertext`"),
    ];
    for (edit, want) in cases {
        file.rewrite(edit);
        let msg = file.refusal(&token);
        assert!(msg.contains(want), "want {want:?}, got {msg}");
        assert!(msg.contains("binance-main.kwv"), "{msg}");
    }
    // Duplicate keys are an error, not "last one wins".
    let text = serde_json::to_string(&file.json).unwrap();
    let dup = text.replacen('{', "{\"name\":\"binance-main\",", 1);
    fs::write(&file.path, dup).unwrap();
    assert!(file.refusal(&token).contains("duplicate field"));
    // Missing file.
    let missing = file.path.with_file_name("nope.kwv");
    assert!(open_err(&missing, &token)
        .to_string()
        .contains("keyward seal"));
}

#[test]
fn seal_refuses_bad_input() {
    let r = SoftToken::new(1).recipient();
    let past = SystemTime::now() - Duration::from_secs(1);
    assert!(seal(&r, "", "binance", &secrets(None), None).is_err());
    assert!(seal(&r, "a b", "binance", &secrets(None), None).is_err());
    assert!(seal(&r, "a", "binance\n", &secrets(None), None).is_err());
    let err = seal(&r, "a", "binance", &secrets(None), Some(past)).unwrap_err();
    assert!(err.to_string().contains("not in the future"), "{err}");
    let empty = CredentialSecrets {
        api_key: SecretBytes::copy_from(b""),
        secret: SecretBytes::copy_from(b"x"),
        passphrase: None,
    };
    assert!(seal(&r, "a", "binance", &empty, None).is_err());
}

#[test]
fn secrets_never_in_debug() {
    let s = secrets(Some(b"my-passphrase"));
    let shown = format!("{s:?} {s:#?}");
    for secret in ["vmPUZE6", "NhqPtmd", "my-passphrase"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("REDACTED"));
}

#[test]
fn read_recipient_from_string_or_file() {
    let r = SoftToken::new(3).recipient();
    assert_eq!(read_recipient(&r.to_string()).unwrap(), r);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recipient.txt");
    fs::write(&path, format!("\n  \n{r}\nignored\n")).unwrap();
    assert_eq!(read_recipient(path.to_str().unwrap()).unwrap(), r);

    fs::write(&path, "kwr1-p256-AAAA\n").unwrap();
    let msg = read_recipient(path.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("recipient file"), "{msg}");
    fs::write(&path, "\n\n").unwrap();
    assert!(read_recipient(path.to_str().unwrap())
        .unwrap_err()
        .to_string()
        .contains("empty"));
    let msg = read_recipient("/nonexistent/recipient")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("neither a recipient"), "{msg}");
    let msg = read_recipient("kwr1-p256-AAAA").unwrap_err().to_string();
    assert!(msg.contains("bytes"), "{msg}");
}

/// A vault sealed by keyward before RSA sealing existed (main of 2026-12-02, `keyward seal` to
/// the recipient of `SoftToken::new(42)`) still opens.
#[test]
fn a_vault_from_before_rsa_still_opens() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/vault-v1-p256.kwv");
    let token = SoftToken::new(42);
    let (header, opened) = open_sealed(&path, "okx-v1", "okx", &token).unwrap();
    assert_eq!(
        header.recipient_fingerprint,
        token.recipient().fingerprint()
    );
    assert_eq!(opened.api_key.expose(), b"v1-api-key-0123456789");
    assert_eq!(opened.secret.expose(), b"v1-secret-abcdefghijklmnop");
    assert_eq!(opened.passphrase.unwrap().expose(), b"pass phrase");
}

mod rsa_sealed {
    use super::*;
    use crate::token::OaepHash;

    fn sealed_rsa(token: &SoftRsaToken, oaep: OaepHash) -> Sealed {
        let recipient: Recipient = Recipient::rsa(token.public(), oaep)
            .to_string()
            .parse()
            .unwrap();
        sealed_to(&recipient, None)
    }

    #[test]
    fn round_trip_with_each_oaep_hash() {
        for oaep in OaepHash::PREFERENCE {
            let token = SoftRsaToken::new(0, &[oaep]);
            let file = sealed_rsa(&token, oaep);
            let stanza = &file.json["stanza"];
            assert_eq!(
                stanza["alg"],
                json!(format!("rsa-oaep-{}-hkdf-sha256", oaep.id()))
            );
            assert!(stanza.get("epk").is_none(), "{stanza}");
            let ek = STANDARD.decode(stanza["ek"].as_str().unwrap()).unwrap();
            assert_eq!(ek.len(), 384);
            assert_eq!(file.json["keyward_vault"], json!(1));
            let (header, opened) =
                open_sealed(&file.path, "binance-main", "binance", &token).unwrap();
            assert_eq!(opened.api_key.expose(), API_KEY);
            assert_eq!(opened.secret.expose(), SECRET);
            assert_eq!(opened.passphrase.unwrap().expose(), b"pass");
            assert_eq!(
                header.recipient_fingerprint,
                Recipient::rsa(token.public(), oaep).fingerprint()
            );
        }
    }

    #[test]
    fn tampering_fails() {
        let token = SoftRsaToken::new(0, &[OaepHash::Sha1, OaepHash::Sha256]);
        let file = sealed_rsa(&token, OaepHash::Sha1);
        let ek = STANDARD
            .decode(file.json["stanza"]["ek"].as_str().unwrap())
            .unwrap();
        let mut edits: Vec<(String, Edit)> = Vec::new();
        for i in (0..ek.len()).step_by(41).chain([ek.len() - 1]) {
            let mut bytes = ek.clone();
            bytes[i] ^= 0x80;
            let value = STANDARD.encode(bytes);
            edits.push((format!("ek[{i}]"), set("stanza.ek", json!(value))));
        }
        // The token would decrypt with SHA-256 too: the hash is bound by the AAD and by OAEP.
        edits.push((
            "alg".into(),
            set("stanza.alg", json!("rsa-oaep-sha256-hkdf-sha256")),
        ));
        // A fresh ek for a shared secret of the attacker's choosing cannot unwrap the data key.
        let forged = STANDARD.encode(
            super::super::recipient::oaep_encrypt(&token.public(), OaepHash::Sha1, &[7u8; 32])
                .unwrap(),
        );
        edits.push(("forged ek".into(), set("stanza.ek", json!(forged))));
        edits.push(("name".into(), set("exchange", json!("bybit"))));
        for (what, edit) in edits {
            let json = file.rewrite(edit);
            let exchange = json["exchange"].as_str().unwrap().to_string();
            let err = open_current(&file.path, "binance-main", &exchange, &token).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("binance-main.kwv"), "{what}: {msg}");
            assert!(
                msg.contains("authentication failed") || msg.contains("stanza.ek could not"),
                "{what}: {msg}"
            );
        }
    }

    #[test]
    fn stanza_fields_must_match_the_alg() {
        let token = SoftRsaToken::new(0, &[OaepHash::Sha1]);
        let file = sealed_rsa(&token, OaepHash::Sha1);
        let epk = STANDARD.encode([2u8; 33]);
        let cases: Vec<(Edit, &str)> = vec![
            (
                set("stanza.epk", json!(epk)),
                "'stanza.epk' does not belong to stanza.alg 'rsa-oaep-sha1-hkdf-sha256'",
            ),
            (remove("stanza.ek"), "needs the field 'stanza.ek'"),
            (
                set("stanza.ek", json!(STANDARD.encode([1u8; 256]))),
                "'stanza.ek' is 256 bytes, expected 384",
            ),
            (
                set("stanza.alg", json!("p256-ecdh-hkdf-sha256")),
                "field 'stanza.ek' does not belong to stanza.alg 'p256-ecdh-hkdf-sha256'",
            ),
        ];
        for (edit, want) in cases {
            file.rewrite(edit);
            let msg = file.refusal(&token);
            assert!(msg.contains(want), "want {want:?}, got {msg}");
        }
    }

    #[test]
    fn a_vault_for_the_other_kind_of_key_names_both_fingerprints() {
        let rsa = SoftRsaToken::new(0, &[OaepHash::Sha1]);
        let p256 = SoftToken::new(3);
        let rsa_file = sealed_rsa(&rsa, OaepHash::Sha1);
        let msg = rsa_file.refusal(&p256);
        assert!(msg.contains(&p256.recipient().to_string()), "{msg}");
        let p256_file = sealed_file(&p256, None);
        let msg = p256_file.refusal(&rsa);
        assert!(
            msg.contains("`keyward recipient --config ...` prints it"),
            "{msg}"
        );
        assert!(msg.contains(&p256.recipient().fingerprint()), "{msg}");
    }
}

mod in_token {
    use super::*;
    use crate::token::{KeyRef, SignatureAlgorithm};

    fn hmac_key() -> TokenKey {
        TokenKey::Hmac {
            label: KeyRef::new("keyward-hmac-okx-main"),
        }
    }

    fn pair_key() -> TokenKey {
        TokenKey::Pair {
            label: KeyRef::new("keyward-api-okx-main"),
            algorithm: SignatureAlgorithm::Ed25519,
            public_key: vec![0x30, 0x2a, 1, 2, 3],
        }
    }

    fn sealed_in_token(token: &SoftToken, key: TokenKey) -> Sealed {
        let credential = InTokenCredential {
            api_key: SecretBytes::copy_from(API_KEY),
            passphrase: Some(SecretBytes::copy_from(b"pass")),
            key,
        };
        let bytes =
            seal_in_token(&token.recipient(), "okx-main", "okx", &credential, None).unwrap();
        Sealed::written("okx-main", "okx", &bytes)
    }

    #[test]
    fn round_trip_records_the_key_and_holds_no_secret() {
        let token = SoftToken::new(1);
        for key in [hmac_key(), pair_key()] {
            let file = sealed_in_token(&token, key.clone());
            assert_eq!(file.json["keyward_vault"], json!(2));
            let raw = &file.json["in_token"];
            assert_eq!(raw["label"], json!(key.label().as_str()));
            match &key {
                TokenKey::Hmac { .. } => {
                    assert_eq!(raw["type"], json!("hmac"));
                    assert!(raw.get("public_key").is_none());
                }
                TokenKey::Pair { .. } => {
                    assert_eq!(raw["type"], json!("ed25519"));
                    assert_eq!(raw["public_key"], json!("MCoBAgM="));
                }
            }
            let (header, contents) = open_current(&file.path, "okx-main", "okx", &token).unwrap();
            assert_eq!(header.name, "okx-main");
            assert!(
                contents.describe_mode().starts_with("in-token "),
                "{contents:?}"
            );
            let Contents::InToken(held) = contents else {
                panic!("an in-token vault opened as sealed")
            };
            assert_eq!(held.api_key.expose(), API_KEY);
            assert_eq!(held.passphrase.unwrap().expose(), b"pass");
            assert_eq!(held.key, key);
        }
    }

    #[test]
    fn editing_the_key_reference_fails() {
        let token = SoftToken::new(1);
        let file = sealed_in_token(&token, pair_key());
        let edits: Vec<(&str, Edit)> = vec![
            ("label", set("in_token.label", json!("keyward-api-other"))),
            ("type", set("in_token.type", json!("ecdsa-p256"))),
            ("public key", set("in_token.public_key", json!("MCoBAgQ="))),
            (
                "downgrade to a sealed vault",
                Box::new(|j| {
                    j.as_object_mut().unwrap().remove("in_token");
                    j["keyward_vault"] = json!(1);
                }),
            ),
        ];
        for (what, edit) in edits {
            file.rewrite(edit);
            let msg = file.refusal(&token);
            assert!(msg.contains("authentication failed"), "{what}: {msg}");
            assert!(msg.contains("okx-main.kwv"), "{what}: {msg}");
        }
        // A sealed vault cannot be turned into an in-token one either.
        let sealed = sealed_file(&token, None);
        sealed.rewrite(|json| {
            json["keyward_vault"] = json!(2);
            json["in_token"] = file.json["in_token"].clone();
        });
        assert!(sealed.refusal(&token).contains("authentication failed"));
    }

    #[test]
    fn version_and_in_token_go_together() {
        let token = SoftToken::new(1);
        let file = sealed_in_token(&token, hmac_key());
        let cases: Vec<(Edit, &str)> = vec![
            (
                remove("in_token"),
                "a version 2 vault needs the 'in_token' field",
            ),
            (
                set("keyward_vault", json!(1)),
                "a version 1 vault has no 'in_token' field",
            ),
            (
                set("in_token.type", json!("rsa")),
                "in_token.type 'rsa' is not supported",
            ),
            (
                set("in_token.public_key", json!("AAAA")),
                "'in_token.public_key' does not belong to an HMAC key",
            ),
            (
                set("in_token.label", json!("")),
                "'in_token.label' must be 1 to 128",
            ),
            (set("in_token.extra", json!(1)), "unknown field `extra`"),
        ];
        for (edit, want) in cases {
            file.rewrite(edit);
            let msg = file.refusal(&token);
            assert!(msg.contains(want), "want {want:?}, got {msg}");
        }
        file.rewrite(|json| {
            json["in_token"]["type"] = json!("ed25519");
        });
        let msg = file.refusal(&token);
        assert!(msg.contains("needs 'in_token.public_key'"), "{msg}");
    }

    #[test]
    fn an_in_token_vault_needs_an_api_key_and_shows_no_secret() {
        let token = SoftToken::new(1);
        let credential = InTokenCredential {
            api_key: SecretBytes::copy_from(b""),
            passphrase: None,
            key: hmac_key(),
        };
        assert!(seal_in_token(&token.recipient(), "a", "okx", &credential, None).is_err());
        let credential = InTokenCredential {
            api_key: SecretBytes::copy_from(API_KEY),
            passphrase: Some(SecretBytes::copy_from(b"my-passphrase")),
            key: hmac_key(),
        };
        let shown = format!("{credential:?}");
        assert!(
            !shown.contains("vmPUZE6") && !shown.contains("my-passphrase"),
            "{shown}"
        );
    }
}

/// Issue 10, "which vault is current": the config pins the file's SHA-256. A file sealed by
/// someone else to the (public) recipient, or the previous version put back after a rotation, is
/// refused before anything is decrypted, naming both digests and the command that prints one.
#[test]
fn only_the_pinned_vault_is_served_rollback_and_forgery_refused() {
    let token = SoftToken::new(1);
    let v1 = sealed_file(&token, None);
    let v1_bytes = fs::read(&v1.path).unwrap();
    let pin_v1 = VaultDigest::of(&v1_bytes);
    let now = SystemTime::now();
    let names = ("binance-main", "binance");
    open(&v1.path, names, &pin_v1, now, &token).unwrap();

    // Rotation: seal v2, pin v2.
    let v2_bytes = seal(
        &token.recipient(),
        "binance-main",
        "binance",
        &secrets(None),
        None,
    )
    .unwrap();
    write_vault_file(&v1.path, &v2_bytes).unwrap();
    let pin_v2 = VaultDigest::of_file(&v1.path).unwrap();
    assert_eq!(pin_v2, VaultDigest::of(&v2_bytes));
    let (_, c) = open(&v1.path, names, &pin_v2, now, &token).unwrap();
    assert!(c.into_sealed().unwrap().passphrase.is_none());

    // Restore v1 (from a backup): refused by construction.
    write_vault_file(&v1.path, &v1_bytes).unwrap();
    let err = open(&v1.path, names, &pin_v2, now, &token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Vault);
    let msg = err.to_string();
    for want in [
        &pin_v1.to_string(),
        &pin_v2.to_string(),
        "older version",
        &format!("keyward digest {}", v1.path.display()),
    ] {
        assert!(msg.contains(want), "{want:?} not in {msg}");
    }

    // A file an attacker seals to the same public recipient with their own exchange key.
    let forged = seal(
        &token.recipient(),
        "binance-main",
        "binance",
        &secrets(None),
        None,
    )
    .unwrap();
    write_vault_file(&v1.path, &forged).unwrap();
    let err = open(&v1.path, names, &pin_v2, now, &token).unwrap_err();
    assert!(err.to_string().contains("replaced"), "{err}");
    assert_eq!(pin_v1.config_line(), format!("vault_sha256 = \"{pin_v1}\""));
    assert_eq!(pin_v1.to_string().parse::<VaultDigest>().unwrap(), pin_v1);
    assert!("abc".parse::<VaultDigest>().is_err());
}

/// Future-dated and created-after-expiry files are refused with what is wrong; an expired one
/// opens, marked expired.
#[test]
fn dates_are_checked_expired_future_and_inverted() {
    let token = SoftToken::new(1);
    let in_a_day = SystemTime::now() + Duration::from_secs(86_400);
    let file = sealed_file(&token, Some(in_a_day));
    let names = (file.name, file.exchange);
    let pinned = VaultDigest::of_file(&file.path).unwrap();
    let now = SystemTime::now();
    let (header, _) = open(&file.path, names, &pinned, now, &token).unwrap();
    assert!(!header.is_expired(now));
    // Past the expiry the file still opens (so the other credentials start): the proxy
    // refuses to sign with it, and the header says so.
    let later = in_a_day + Duration::from_secs(1);
    let (header, _) = open(&file.path, names, &pinned, later, &token).unwrap();
    assert!(header.is_expired(later));
    // Created in the future beyond the allowed skew (checked before decryption).
    let ahead = humantime::format_rfc3339_seconds(now + CLOCK_SKEW + Duration::from_secs(60));
    file.rewrite(|j| j["created"] = json!(ahead.to_string()));
    let err = file.refusal(&token);
    assert!(err.contains("is in the future"), "{err}");
    assert!(err.contains("300 s of clock skew"), "{err}");
    // Within the skew: passes the date check (and then fails authentication, as edited).
    let skewed = humantime::format_rfc3339_seconds(now + Duration::from_secs(120));
    file.rewrite(|j| j["created"] = json!(skewed.to_string()));
    assert!(!file.refusal(&token).contains("future"));
    // Created at or after the expiry.
    file.rewrite(|j| j["expires"] = j["created"].clone());
    let err = file.refusal(&token);
    assert!(err.contains("is not before expires"), "{err}");
}
