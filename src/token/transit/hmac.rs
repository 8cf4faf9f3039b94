//! Exchange HMAC secrets kept in Transit (`keyward import --in-token`): imported through
//! Transit's BYOK import as non-exportable `hmac` keys, and used by `POST
//! <mount>/hmac/<key>/sha2-256|sha2-512`. The secret crosses to the server once, wrapped as
//! Vault documents (RSA-OAEP-SHA256 of a fresh AES-256 key to the mount's wrapping key, then
//! AES-KWP, RFC 5649, of the secret), and never comes back: Transit has no way to export a key
//! created non-exportable.
//!
//! A key is named by a [`KeyRef`] of the form `transit:<mount>/<key>:v<version>`, which the
//! vault file records: the service, the mount, the key's name and the version that signs. Every
//! HMAC asks for that version, so a key rotated in Transit (new, random material) is refused
//! rather than silently signing with a secret the exchange does not know.

use aes_kw::KekAes256;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand_core::{OsRng, RngCore};
use rsa::pkcs8::DecodePublicKey;
use serde::Deserialize;
use zeroize::Zeroize;

use super::http::Client;
use super::{check_name, refused, Answer};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::signing::padded_hmac_key;
use crate::token::{HmacAlgorithm, KeyRef};

/// What to do when the mount is not found.
const MOUNT_GONE: &str = "check [token] address, namespace and mount (`bao secrets list`)";

/// What a [`KeyRef`] of a Transit HMAC key starts with.
const SCHEME: &str = "transit:";

/// A Transit HMAC key: mount, name and the version that signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmacKey {
    mount: String,
    name: String,
    version: u32,
}

impl HmacKey {
    /// Version 1 of key `name` in `mount`: what an import creates.
    pub fn new(mount: &str, name: &str) -> Self {
        HmacKey {
            mount: mount.to_owned(),
            name: name.to_owned(),
            version: 1,
        }
    }

    pub fn key_ref(&self) -> KeyRef {
        KeyRef::new(format!(
            "{SCHEME}{}/{}:v{}",
            self.mount, self.name, self.version
        ))
    }

    /// Reads a reference made by [`HmacKey::key_ref`].
    pub fn parse(key: &KeyRef) -> Result<Self> {
        let bad = || {
            Error::token(format!(
                "{key} is not a Transit HMAC key reference (transit:<mount>/<key>:v<N>): this \
                 vault was made for another kind of token; import the credential again with \
                 `keyward import --in-token`"
            ))
        };
        let rest = key.as_str().strip_prefix(SCHEME).ok_or_else(bad)?;
        let (path, version) = rest.rsplit_once(":v").ok_or_else(bad)?;
        let (mount, name) = path.rsplit_once('/').ok_or_else(bad)?;
        let version: u32 = version.parse().map_err(|_| bad())?;
        if version == 0 || check_name(mount, true).is_err() || check_name(name, false).is_err() {
            return Err(bad());
        }
        Ok(HmacKey::new(mount, name).with_version(version))
    }

    fn with_version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    fn path(&self) -> String {
        format!("{}/{}", self.mount, self.name)
    }

    /// E.g. `Transit HMAC key 'transit/keyward-hmac-main' version 1`.
    pub fn describe(&self) -> String {
        format!(
            "Transit HMAC key '{}' version {}",
            self.path(),
            self.version
        )
    }
}

#[derive(Deserialize)]
struct WrappingKey {
    public_key: String,
}

#[derive(Deserialize)]
struct Mac {
    hmac: String,
}

/// Imports `secret` as key `key` (refusing a name already taken), non-exportable.
pub(super) fn import(client: &Client, key: &HmacKey, secret: &SecretBytes) -> Result<()> {
    if secret.is_empty() {
        return Err(Error::usage("the HMAC secret is empty"));
    }
    let subject = key.describe();
    let existing = client.call(
        http::Method::GET,
        &format!("{}/keys/{}", key.mount, key.name),
        None,
    )?;
    if existing.status == http::StatusCode::OK {
        return Err(Error::usage(format!(
            "{subject}: Transit already has a key of that name; keyward never replaces one. \
             Delete it first if you mean to (`bao write {0}/keys/{1}/config \
             deletion_allowed=true` then `bao delete {0}/keys/{1}`), or import the credential \
             under another --name",
            key.mount, key.name
        )));
    }
    if existing.status != http::StatusCode::NOT_FOUND {
        return Err(refused(
            client,
            &subject,
            "checking for the key",
            &existing,
            "read",
            MOUNT_GONE,
        ));
    }
    let wrapping = client.call(
        http::Method::GET,
        &format!("{}/wrapping_key", key.mount),
        None,
    )?;
    if wrapping.status != http::StatusCode::OK {
        return Err(refused(
            client,
            &subject,
            "reading the mount's wrapping key",
            &wrapping,
            "read",
            MOUNT_GONE,
        ));
    }
    let pem: Answer<WrappingKey> = serde_json::from_slice(&wrapping.body).map_err(|e| {
        Error::token(format!(
            "{subject}: the answer to {}/wrapping_key has no public key ({e})",
            key.mount
        ))
    })?;
    let wrapping_key = rsa::RsaPublicKey::from_public_key_pem(&pem.data.public_key)
        .map_err(|e| Error::token(format!("{subject}: the wrapping key is not RSA ({e})")))?;
    let ciphertext = wrap(&wrapping_key, &padded_hmac_key(secret.expose()))?;
    let body = serde_json::json!({
        "ciphertext": STANDARD.encode(ciphertext),
        "type": "hmac",
        "hash_function": "SHA256",
        "exportable": false,
        "allow_plaintext_backup": false,
        "allow_rotation": false,
    });
    let reply = client.call(
        http::Method::POST,
        &format!("{}/keys/{}/import", key.mount, key.name),
        Some(body.to_string().into_bytes()),
    )?;
    if !reply.status.is_success() {
        return Err(refused(
            client,
            &subject,
            "importing the key",
            &reply,
            "update",
            MOUNT_GONE,
        ));
    }
    Ok(())
}

/// The BYOK wrapping Vault documents: `RSA-OAEP-SHA256(aes_key) || AES-KWP(aes_key, material)`
/// with a fresh AES-256 key, which is wiped here.
fn wrap(wrapping_key: &rsa::RsaPublicKey, material: &SecretBytes) -> Result<Vec<u8>> {
    let mut aes_key = SecretBytes::zeroed(32);
    OsRng.fill_bytes(aes_key.expose_mut());
    let kek = KekAes256::new(aes_key.expose().into());
    let wrapped_material = kek
        .wrap_with_padding_vec(material.expose())
        .map_err(|e| Error::token(format!("AES-KWP wrapping failed ({e})")))?;
    let mut out = wrapping_key
        .encrypt(
            &mut OsRng,
            rsa::Oaep::new::<sha2::Sha256>(),
            aes_key.expose(),
        )
        .map_err(|e| Error::token(format!("RSA-OAEP wrapping failed ({e})")))?;
    out.extend_from_slice(&wrapped_material);
    Ok(out)
}

/// The HMAC of the concatenation of `parts` under `key`, computed by Transit.
pub(super) fn hmac(
    client: &Client,
    key: &HmacKey,
    algorithm: HmacAlgorithm,
    parts: &[&[u8]],
) -> Result<Vec<u8>> {
    let subject = key.describe();
    let mut input = parts.concat();
    let mut body = serde_json::json!({
        "input": STANDARD.encode(&input),
        "key_version": key.version,
    })
    .to_string()
    .into_bytes();
    input.zeroize();
    let hash = match algorithm {
        HmacAlgorithm::Sha256 => "sha2-256",
        HmacAlgorithm::Sha512 => "sha2-512",
    };
    let reply = client.call(
        http::Method::POST,
        &format!("{}/hmac/{}/{hash}", key.mount, key.name),
        Some(std::mem::take(&mut body)),
    );
    let reply = reply?;
    if reply.status != http::StatusCode::OK {
        return Err(refused(
            client,
            &subject,
            &format!("computing {algorithm}"),
            &reply,
            "update",
            "the HMAC key is gone (deleted in Transit, or [token] namespace is wrong): the \
             exchange secret cannot be recovered from keyward; import it again with `keyward \
             import --in-token` (from the exchange's copy, or a new API key)",
        ));
    }
    let answer: Answer<Mac> = serde_json::from_slice(&reply.body)
        .map_err(|e| Error::token(format!("{subject}: the answer to hmac has no MAC ({e})")))?;
    decode_mac(&answer.data.hmac, key.version, algorithm)
        .map_err(|why| Error::token(format!("{subject}: {why}")))
}

/// `vault:v<version>:<base64>` → the raw MAC, checked to be of `algorithm`'s length.
fn decode_mac(
    text: &str,
    version: u32,
    algorithm: HmacAlgorithm,
) -> std::result::Result<Vec<u8>, String> {
    let prefix = format!("vault:v{version}:");
    let encoded = text
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("the MAC is not of version {version} (\"{prefix}...\" expected)"))?;
    let mac = STANDARD
        .decode(encoded)
        .map_err(|_| "the MAC is not base64".to_owned())?;
    let want = match algorithm {
        HmacAlgorithm::Sha256 => 32,
        HmacAlgorithm::Sha512 => 64,
    };
    if mac.len() != want {
        return Err(format!(
            "the {algorithm} MAC is {} bytes, expected {want}",
            mac.len()
        ));
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts;

    #[test]
    fn references_round_trip_and_odd_ones_are_refused() {
        let key = HmacKey::new("team-a/transit", "keyward-hmac-main");
        let r = key.key_ref();
        assert_eq!(r.as_str(), "transit:team-a/transit/keyward-hmac-main:v1");
        assert_eq!(HmacKey::parse(&r).unwrap(), key);
        assert_eq!(
            HmacKey::parse(&KeyRef::new("transit:transit/k:v7"))
                .unwrap()
                .version,
            7
        );
        for bad in [
            "keyward-hmac-main",
            "transit:k:v1",
            "transit:transit/k",
            "transit:transit/k:v0",
            "transit:transit/k:vx",
            "transit:/k:v1",
            "transit:transit/../k:v1",
        ] {
            let e = HmacKey::parse(&KeyRef::new(bad)).unwrap_err().to_string();
            assert!(e.contains("not a Transit HMAC key reference"), "{bad}: {e}");
        }
    }

    #[test]
    fn macs_are_decoded_and_checked() {
        let mac = [9u8; 32];
        let text = format!("vault:v1:{}", STANDARD.encode(mac));
        assert_eq!(
            decode_mac(&text, 1, HmacAlgorithm::Sha256).unwrap(),
            mac.to_vec()
        );
        assert!(decode_mac(&text, 2, HmacAlgorithm::Sha256)
            .unwrap_err()
            .contains("not of version 2"));
        assert!(decode_mac(&text, 1, HmacAlgorithm::Sha512)
            .unwrap_err()
            .contains("32 bytes, expected 64"));
        assert!(decode_mac("vault:v1:***", 1, HmacAlgorithm::Sha256).is_err());
    }

    /// The wrapped blob opens with the private wrapping key and AES-KWP back to the material.
    #[test]
    fn wrapping_is_what_transit_unwraps() {
        let private = rsa::RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
        let public = private.to_public_key();
        let material = SecretBytes::copy_from(&[0x5a; 64]);
        let blob = wrap(&public, &material).unwrap();
        let split = public.size();
        let aes_key = private
            .decrypt(rsa::Oaep::new::<sha2::Sha256>(), &blob[..split])
            .unwrap();
        assert_eq!(aes_key.len(), 32);
        let kek = KekAes256::new(aes_key.as_slice().into());
        let opened = kek.unwrap_with_padding_vec(&blob[split..]).unwrap();
        assert_eq!(opened, material.expose());
    }
}
