//! Rotation and the version 3 format, with a software token.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::super::testing::SoftToken;
use super::super::*;
use crate::secret::SecretBytes;

const NAMES: (&str, &str) = ("binance-main", "binance");

fn secrets(key: &str) -> CredentialSecrets {
    CredentialSecrets {
        api_key: SecretBytes::copy_from(key.as_bytes()),
        secret: SecretBytes::copy_from(format!("secret of {key}").as_bytes()),
        passphrase: None,
    }
}

/// A version 1 vault of `binance-main` holding API key `key-1`, in a directory of its own.
struct Vault {
    _dir: tempfile::TempDir,
    path: PathBuf,
    token: SoftToken,
}

impl Vault {
    fn v1() -> Vault {
        let token = SoftToken::new(7);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault/binance-main.kwv");
        let bytes = seal(
            &token.recipient(),
            NAMES.0,
            NAMES.1,
            &secrets("key-1"),
            None,
        )
        .unwrap();
        write_vault_file(&path, &bytes).unwrap();
        Vault {
            _dir: dir,
            path,
            token,
        }
    }

    fn pin(&self) -> VaultDigest {
        VaultDigest::of_file(&self.path).unwrap()
    }

    fn rotate(&self, key: &str, recipient: Option<&Recipient>) -> Result<Rotated> {
        rotate_file(
            &self.path,
            NAMES,
            &self.pin(),
            recipient,
            &secrets(key),
            None,
        )
    }

    /// Opens the file as pinned now: the newest version's header and API key.
    fn open(&self) -> Result<(VaultHeader, String)> {
        let (header, contents) = open(
            &self.path,
            NAMES,
            &self.pin(),
            SystemTime::now(),
            &self.token,
        )?;
        let secrets = contents.into_sealed().expect("sealed");
        Ok((
            header,
            String::from_utf8(secrets.api_key.expose().to_vec()).unwrap(),
        ))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&fs::read(&self.path).unwrap()).unwrap()
    }

    fn write_json(&self, value: &Value) {
        fs::write(&self.path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    }

    /// Why the file, edited by `edit` and pinned as edited, does not open.
    fn refusal(&self, edit: impl FnOnce(&mut Value)) -> String {
        let original = fs::read(&self.path).unwrap();
        let mut json = self.json();
        edit(&mut json);
        self.write_json(&json);
        let err = self
            .open()
            .expect_err("the edited file must not open")
            .to_string();
        fs::write(&self.path, original).unwrap();
        err
    }
}

#[test]
fn a_version_1_file_rotates_into_version_3_and_the_newest_version_is_opened() {
    let vault = Vault::v1();
    let v1_bytes = fs::read(&vault.path).unwrap();
    let (header, key) = vault.open().unwrap();
    assert_eq!(
        (header.version, header.versions, key.as_str()),
        (1, 1, "key-1")
    );

    // A version 1 file names only a fingerprint: the first rotation needs the recipient.
    let err = vault.rotate("key-2", None).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Usage);
    assert!(err.to_string().contains("--recipient"), "{err}");
    assert_eq!(fs::read(&vault.path).unwrap(), v1_bytes, "nothing written");

    let recipient = vault.token.recipient();
    let rotated = vault.rotate("key-2", Some(&recipient)).unwrap();
    assert_eq!(rotated.version, 2);
    assert_eq!(rotated.digest, vault.pin());
    assert_eq!(rotated.previous_fingerprint, recipient.fingerprint());
    let (header, key) = vault.open().unwrap();
    assert_eq!(
        (header.version, header.versions, key.as_str()),
        (2, 2, "key-2")
    );

    // The shape: the recipient string, version 1 carried over byte for byte.
    let json = vault.json();
    let v1: Value = serde_json::from_slice(&v1_bytes).unwrap();
    assert_eq!(json["keyward_vault"], json!(3));
    assert_eq!(json["recipient"], json!(recipient.to_string()));
    let versions = json["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], json!(1));
    assert_eq!(versions[0]["sealed_as"], json!(1));
    for field in ["created", "expires", "stanza", "nonce", "ciphertext"] {
        assert_eq!(versions[0][field], v1[field], "{field}");
    }
    assert_eq!(versions[0]["fingerprint"], v1["recipient"]);
    assert_eq!(versions[1]["version"], json!(2));
    assert!(versions[1].get("sealed_as").is_none());
    let text = fs::read_to_string(&vault.path).unwrap();
    assert!(
        !text.contains("key-2") && !text.contains("secret of"),
        "{text}"
    );

    // The next rotation reads the recipient from the file.
    assert_eq!(vault.rotate("key-3", None).unwrap().version, 3);
    let (header, key) = vault.open().unwrap();
    assert_eq!(
        (header.version, header.versions, key.as_str()),
        (3, 3, "key-3")
    );
    assert_eq!(
        fs::metadata(&vault.path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_rotated_file_put_back_or_a_stale_pin_is_refused() {
    let vault = Vault::v1();
    let v1_pin = vault.pin();
    let v1_bytes = fs::read(&vault.path).unwrap();
    vault
        .rotate("key-2", Some(&vault.token.recipient()))
        .unwrap();
    let v2_pin = vault.pin();
    // Rollback: the version 1 file restored while the config pins version 2.
    fs::write(&vault.path, &v1_bytes).unwrap();
    let err = open(&vault.path, NAMES, &v2_pin, SystemTime::now(), &vault.token).unwrap_err();
    assert!(
        err.to_string().contains("older version was put back"),
        "{err}"
    );
    // rotate extends only the pinned file: with the old pin it refuses and writes nothing.
    let rotated_bytes = {
        fs::write(&vault.path, &v1_bytes).unwrap();
        vault
            .rotate("key-2", Some(&vault.token.recipient()))
            .unwrap();
        fs::read(&vault.path).unwrap()
    };
    let err = rotate_file(&vault.path, NAMES, &v1_pin, None, &secrets("key-3"), None).unwrap_err();
    assert!(
        err.to_string()
            .contains("extends only the vault file the config pins"),
        "{err}"
    );
    assert_eq!(fs::read(&vault.path).unwrap(), rotated_bytes);
}

#[test]
fn versions_cannot_be_swapped_renumbered_or_edited() {
    let vault = Vault::v1();
    let recipient = vault.token.recipient();
    vault.rotate("key-2", Some(&recipient)).unwrap();
    vault.rotate("key-3", None).unwrap();
    assert_eq!(vault.open().unwrap().1, "key-3");
    let auth = "authentication failed";

    // Version 2's sealed parts under version 3's number: its AAD names version 2.
    let err = vault.refusal(|j| {
        let v2 = j["versions"][1].clone();
        for field in ["created", "expires", "stanza", "nonce", "ciphertext"] {
            j["versions"][2][field] = v2[field].clone();
        }
    });
    assert!(err.contains(auth), "{err}");
    // Version 2 moved to the end and renumbered 3 (version 3 dropped).
    let err = vault.refusal(|j| {
        let mut v2 = j["versions"][1].clone();
        v2["version"] = json!(3);
        j["versions"][2] = v2;
    });
    assert!(err.contains(auth), "{err}");
    // The newest version's authenticated fields.
    let later = humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(86_400));
    for (field, value) in [
        ("expires", json!(later.to_string())),
        ("created", json!("2020-01-01T00:00:00Z")),
    ] {
        let err = vault.refusal(|j| j["versions"][2][field] = value.clone());
        assert!(err.contains(auth), "{field}: {err}");
    }
    // Only version 1 may have been sealed as a version 1 file.
    let err = vault.refusal(|j| j["versions"][2]["sealed_as"] = json!(1));
    assert!(err.contains("'sealed_as' = 1 is not allowed"), "{err}");
}

#[test]
fn the_version_3_structure_is_checked() {
    let vault = Vault::v1();
    vault
        .rotate("key-2", Some(&vault.token.recipient()))
        .unwrap();
    let other = SoftToken::new(8).recipient().to_string();
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|j| j["versions"] = json!([])), "lists no versions"),
        (
            Box::new(|j| j["versions"][1]["version"] = json!(5)),
            "numbered 5, expected 2",
        ),
        (
            Box::new(|j| j["versions"][0]["version"] = json!(0)),
            "numbered 0, expected 1",
        ),
        (
            Box::new(|j| j["versions"][1]["sealed_as"] = json!(3)),
            "'sealed_as' = 3 is not allowed",
        ),
        (
            Box::new(move |j| j["recipient"] = json!(other.clone())),
            "but the newest version (version 2) is sealed to",
        ),
        (
            Box::new(|j| j["recipient"] = json!("kwr1-nope")),
            "field 'recipient'",
        ),
        (
            Box::new(|j| j["versions"][1]["extra"] = json!(1)),
            "unknown field `extra`",
        ),
        (
            Box::new(|j| j["versions"][0]["nonce"] = json!("***")),
            "version 1: field 'nonce' is not valid base64",
        ),
        (
            Box::new(|j| {
                j.as_object_mut().unwrap().remove("versions");
            }),
            "missing field `versions`",
        ),
    ];
    for (edit, want) in cases {
        let err = vault.refusal(edit);
        assert!(err.contains(want), "want {want:?}, got {err}");
        assert!(err.contains("binance-main.kwv"), "{err}");
    }
}

#[test]
fn rotation_refuses_an_in_token_vault_empty_secrets_and_a_foreign_file() {
    let vault = Vault::v1();
    let recipient = vault.token.recipient();
    // A file sealed for another credential.
    let err = rotate_file(
        &vault.path,
        ("binance-alt", "binance"),
        &vault.pin(),
        Some(&recipient),
        &secrets("key-2"),
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("config expects 'binance-alt'"),
        "{err}"
    );
    let empty = CredentialSecrets {
        api_key: SecretBytes::copy_from(b"k"),
        secret: SecretBytes::zeroed(0),
        passphrase: None,
    };
    let err = rotate_file(
        &vault.path,
        NAMES,
        &vault.pin(),
        Some(&recipient),
        &empty,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("must not be empty"), "{err}");

    // Version 2: the key is on the token.
    let credential = InTokenCredential {
        api_key: SecretBytes::copy_from(b"api"),
        passphrase: None,
        key: TokenKey::Hmac {
            label: crate::token::KeyRef::new("keyward-hmac-binance-main"),
        },
    };
    let bytes = seal_in_token(&recipient, NAMES.0, NAMES.1, &credential, None).unwrap();
    write_vault_file(&vault.path, &bytes).unwrap();
    let err = vault.rotate("key-2", Some(&recipient)).unwrap_err();
    assert!(
        err.to_string().contains("keyward import --in-token"),
        "{err}"
    );
    assert_eq!(fs::read(&vault.path).unwrap(), bytes);
}

#[test]
fn a_new_version_may_be_sealed_to_another_key_and_carries_its_expiry() {
    let vault = Vault::v1();
    let next = SoftToken::new(9);
    let in_a_week = SystemTime::now() + Duration::from_secs(7 * 86_400);
    let rotated = rotate_file(
        &vault.path,
        NAMES,
        &vault.pin(),
        Some(&next.recipient()),
        &secrets("key-2"),
        Some(in_a_week),
    )
    .unwrap();
    assert_eq!(rotated.recipient, next.recipient());
    assert_eq!(
        rotated.previous_fingerprint,
        vault.token.recipient().fingerprint()
    );
    // The old token cannot open the new version; the new one can.
    let err = vault.open().unwrap_err();
    assert!(err.to_string().contains("reseal"), "{err}");
    let (header, contents) =
        open(&vault.path, NAMES, &vault.pin(), SystemTime::now(), &next).unwrap();
    assert_eq!(contents.into_sealed().unwrap().api_key.expose(), b"key-2");
    let expires = header.expires.unwrap();
    let drift = expires
        .duration_since(in_a_week)
        .unwrap_or_else(|e| e.duration());
    assert!(drift < Duration::from_secs(2), "{drift:?}");
    assert_eq!(
        vault.json()["recipient"],
        json!(next.recipient().to_string())
    );
}

#[test]
fn an_rsa_sealed_credential_rotates_and_the_file_keeps_the_oaep_hash() {
    use super::super::testing::SoftRsaToken;
    use crate::token::OaepHash;
    let token = SoftRsaToken::new(0, &[OaepHash::Sha1]);
    let recipient = Recipient::rsa(token.public(), OaepHash::Sha1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault/bybit-rsa.kwv");
    let names = ("bybit-rsa", "bybit");
    let bytes = seal(&recipient, names.0, names.1, &secrets("key-1"), None).unwrap();
    write_vault_file(&path, &bytes).unwrap();
    let pin = VaultDigest::of(&bytes);
    let rotated = rotate_file(
        &path,
        names,
        &pin,
        Some(&recipient),
        &secrets("key-2"),
        None,
    )
    .unwrap();
    // The recipient string (with its OAEP hash) is what the next rotation seals to.
    let json: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(json["recipient"], json!(recipient.to_string()));
    assert!(recipient.to_string().starts_with("kwr1-rsa3072-sha1-"));
    let again = rotate_file(&path, names, &rotated.digest, None, &secrets("key-3"), None).unwrap();
    assert_eq!(again.version, 3);
    let (header, contents) = open(&path, names, &again.digest, SystemTime::now(), &token).unwrap();
    assert_eq!(header.version, 3);
    assert_eq!(contents.into_sealed().unwrap().api_key.expose(), b"key-3");
}
