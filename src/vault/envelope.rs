//! The envelope: a fresh data key encrypts the payload; the data key is wrapped under a KEK that
//! the [`Stanza`] agrees with the recipient (P-256 ECDH or RSA-OAEP, see `stanza.rs`).
//!
//! ```text
//! data key   = 32 random bytes
//! ciphertext = AES-256-GCM(data key, nonce, payload, aad("payload"))
//! KEK        = the stanza's KEK (token: ECDH or OAEP decryption; host: HKDF-SHA256)
//! wrapped    = AES-256-GCM(KEK, wrap nonce, data key, aad("data key"))
//! ```
//!
//! Both AADs bind the header (see [`Header::aad`]). Both kinds of stanza open through the same
//! code: the token recovers a shared secret, everything after it is the same. All key material
//! lives in [`SecretBytes`].

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};

use super::stanza::{Stanza, AUTH_FAILED};
use super::token_key::RawTokenKey;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::Token;

const AAD_DOMAIN: &[u8] = b"keyward vault aad";
const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The header fields that both encryptions authenticate, exactly as they appear in the file.
pub(crate) struct Header<'a> {
    pub version: u32,
    pub alg: &'a str,
    pub name: &'a str,
    pub exchange: &'a str,
    pub recipient_fingerprint: &'a str,
    pub created: &'a str,
    pub expires: Option<&'a str>,
    /// Version 2: the key on the token that signs for the credential.
    pub in_token: Option<&'a RawTokenKey>,
    /// Version 3: the number of the credential's key version this entry seals.
    pub key_version: Option<u32>,
}

impl Header<'_> {
    /// One canonical, unambiguous encoding: every field length-prefixed (u32 big-endian), the
    /// optional expiry preceded by a presence byte, and a purpose label so the two encryptions'
    /// AADs differ. A version 2 header appends `in_token`'s type and label, and its public key
    /// after a presence byte (version 1 AADs are unchanged). A version 3 entry appends its key
    /// version number (decimal, length-prefixed), so entries cannot be renumbered or swapped.
    pub(crate) fn aad(&self, purpose: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let version = self.version.to_string();
        for field in [
            AAD_DOMAIN,
            purpose.as_bytes(),
            version.as_bytes(),
            self.alg.as_bytes(),
            self.name.as_bytes(),
            self.exchange.as_bytes(),
            self.recipient_fingerprint.as_bytes(),
            self.created.as_bytes(),
        ] {
            put_field(&mut out, field);
        }
        match self.expires {
            None => out.push(0),
            Some(expires) => {
                out.push(1);
                put_field(&mut out, expires.as_bytes());
            }
        }
        if let Some(key) = self.in_token {
            put_field(&mut out, key.kind.as_bytes());
            put_field(&mut out, key.label.as_bytes());
            match &key.public_key {
                None => out.push(0),
                Some(public_key) => {
                    out.push(1);
                    put_field(&mut out, public_key.as_bytes());
                }
            }
        }
        if let Some(number) = self.key_version {
            put_field(&mut out, number.to_string().as_bytes());
        }
        out
    }
}

/// The binary parts of a sealed file.
pub(crate) struct Sealed {
    pub stanza: Stanza,
    pub wrap_nonce: [u8; NONCE_LEN],
    /// Wrapped data key with its GCM tag (48 bytes).
    pub wrapped_key: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
    /// Encrypted payload with its GCM tag.
    pub ciphertext: Vec<u8>,
}

/// Encrypts `payload` under a fresh data key and wraps that under the KEK of `stanza`, whose
/// shared secret is `shared`. `header.alg` must be `stanza.alg()`; `recipient_key` is the
/// recipient's key bytes.
pub(crate) fn seal(
    stanza: Stanza,
    shared: SecretBytes,
    recipient_key: &[u8],
    header: &Header<'_>,
    payload: &SecretBytes,
) -> Result<Sealed> {
    debug_assert_eq!(header.alg, stanza.alg());
    let mut data_key = SecretBytes::zeroed(KEY_LEN);
    fill_random(data_key.expose_mut())?;
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let ciphertext = aead_seal(&data_key, &nonce, &header.aad("payload"), payload.expose())?;

    let kek = stanza.kek(&shared, recipient_key)?;
    drop(shared);
    let mut wrap_nonce = [0u8; NONCE_LEN];
    fill_random(&mut wrap_nonce)?;
    let wrapped_key = aead_seal(
        &kek,
        &wrap_nonce,
        &header.aad("data key"),
        data_key.expose(),
    )?;

    Ok(Sealed {
        stanza,
        wrap_nonce,
        wrapped_key,
        nonce,
        ciphertext,
    })
}

/// Recovers the shared secret with the token, unwraps the data key and decrypts the payload.
/// `recipient_key` is the key bytes of the token's key.
pub(crate) fn open(
    token: &dyn Token,
    recipient_key: &[u8],
    header: &Header<'_>,
    sealed: &Sealed,
) -> Result<SecretBytes> {
    let shared = sealed.stanza.recover(token)?;
    let kek = sealed.stanza.kek(&shared, recipient_key)?;
    drop(shared);
    let data_key = aead_open(
        &kek,
        &sealed.wrap_nonce,
        &header.aad("data key"),
        &sealed.wrapped_key,
    )?;
    drop(kek);
    if data_key.len() != KEY_LEN {
        return Err(Error::vault(AUTH_FAILED));
    }
    aead_open(
        &data_key,
        &sealed.nonce,
        &header.aad("payload"),
        &sealed.ciphertext,
    )
}

fn fill_random(buf: &mut [u8]) -> Result<()> {
    Ok(getrandom::getrandom(buf)?)
}

/// Returns ciphertext || tag. The plaintext is copied once into a buffer that becomes the
/// ciphertext in place (capacity reserved up front, so it is never reallocated).
fn aead_seal(
    key: &SecretBytes,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let cipher = Aes256Gcm::new_from_slice(key.expose())
        .map_err(|_| Error::vault("AES-256-GCM key length invalid"))?;
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(&Nonce::from(*nonce), aad, &mut out)
        .map_err(|_| Error::vault("AES-256-GCM encryption failed (payload too large)"))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts ciphertext || tag into a locked buffer; any failure is [`AUTH_FAILED`].
fn aead_open(
    key: &SecretBytes,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<SecretBytes> {
    let cipher = Aes256Gcm::new_from_slice(key.expose())
        .map_err(|_| Error::vault("AES-256-GCM key length invalid"))?;
    let Some(split) = sealed.len().checked_sub(TAG_LEN) else {
        return Err(Error::vault(AUTH_FAILED));
    };
    let (ciphertext, tag) = sealed.split_at(split);
    let tag: [u8; TAG_LEN] = tag.try_into().expect("split at TAG_LEN from the end");
    let mut plaintext = SecretBytes::copy_from(ciphertext);
    cipher
        .decrypt_in_place_detached(
            &Nonce::from(*nonce),
            aad,
            plaintext.expose_mut(),
            &Tag::from(tag),
        )
        .map_err(|_| Error::vault(AUTH_FAILED))?;
    Ok(plaintext)
}

fn put_field(out: &mut Vec<u8>, field: &[u8]) {
    let len = u32::try_from(field.len()).expect("header fields are small");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(name: &'a str, expires: Option<&'a str>) -> Header<'a> {
        Header {
            version: 1,
            alg: crate::vault::stanza::ALG_P256,
            name,
            exchange: "binance",
            recipient_fingerprint: "00",
            created: "2024-01-01T00:00:00Z",
            expires,
            in_token: None,
            key_version: None,
        }
    }

    #[test]
    fn aad_is_unambiguous() {
        let a = header("ab", None).aad("payload");
        let mut h = header("a", None);
        h.exchange = "bbinance";
        assert_ne!(a, h.aad("payload"));
        assert_ne!(a, header("ab", Some("")).aad("payload"));
        assert_ne!(a, header("ab", None).aad("data key"));
        assert_eq!(a, header("ab", None).aad("payload"));
        let key = |label: &str, public_key: Option<&str>| RawTokenKey {
            kind: "hmac".into(),
            label: label.into(),
            public_key: public_key.map(Into::into),
        };
        let aad = |key: &RawTokenKey| {
            let mut h = header("ab", None);
            h.in_token = Some(key);
            h.aad("payload")
        };
        let plain = aad(&key("k", None));
        assert_ne!(plain, a);
        assert_ne!(plain, aad(&key("k", Some(""))));
        assert_ne!(plain, aad(&key("kk", None)));
        assert_eq!(plain, aad(&key("k", None)));
        let numbered = |n| {
            let mut h = header("ab", None);
            h.key_version = Some(n);
            h.aad("payload")
        };
        assert_ne!(numbered(1), a);
        assert_ne!(numbered(1), numbered(2));
        assert_ne!(numbered(1), numbered(11));
    }
}
