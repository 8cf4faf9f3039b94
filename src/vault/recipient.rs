//! The public half of a sealing key: what `keyward seal` needs, and all it needs.
//!
//! For RSA, the recipient also says which OAEP hash the token decrypts with, since sealing runs
//! without the token: `keyward keygen` finds out by a trial decryption ([`recipient_of`]).

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::OsRng;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::{KeyService, OaepHash, Rsa3072PublicKey, SealingPublicKey, ServiceKey, Token};

const PREFIX: &str = "kwr1-";
const P256_TAG: &str = "p256";
const RSA_TAG: &str = "rsa3072";
/// `kwr1-transit-rsa3072-v<version>:<mount>/<key>:<SPKI>`: a Transit key's version.
const TRANSIT_TAG: &str = "transit";
/// `kwr1-awskms-rsa3072-v1:<region>/<key id>:<SPKI>`: an AWS KMS key (never rotated: v1).
const AWS_KMS_TAG: &str = "awskms";
/// Length of a compressed SEC1 P-256 point.
pub(crate) const P256_COMPRESSED_LEN: usize = 33;

/// A key that vault files are sealed to. Its string form is
/// `kwr1-p256-<base64url, no padding, of the 33-byte compressed SEC1 point>` or
/// `kwr1-rsa3072-<sha256|sha1>-<base64url, no padding, of the DER SubjectPublicKeyInfo>`, or,
/// for a key in a key service (Vault / OpenBao Transit, which decrypts OAEP with SHA-256),
/// `kwr1-transit-rsa3072-v<version>:<mount>/<key>:<base64url SPKI>`; for an AWS KMS key,
/// `kwr1-awskms-rsa3072-v1:<region>/<key id>:<base64url SPKI>`.
#[derive(Clone, PartialEq, Eq)]
pub enum Recipient {
    P256(p256::PublicKey),
    /// An RSA-3072 key and the OAEP hash its token decrypts with; `service` names the key
    /// service's key and version it is, if it is one.
    Rsa {
        key: Rsa3072PublicKey,
        oaep: OaepHash,
        service: Option<ServiceKey>,
    },
}

impl Recipient {
    pub fn p256(key: p256::PublicKey) -> Self {
        Recipient::P256(key)
    }

    pub fn rsa(key: Rsa3072PublicKey, oaep: OaepHash) -> Self {
        Recipient::Rsa {
            key,
            oaep,
            service: None,
        }
    }

    /// The key service's key and version this recipient is, if it is one.
    pub fn service_key(&self) -> Option<&ServiceKey> {
        match self {
            Recipient::Rsa { service, .. } => service.as_ref(),
            Recipient::P256(_) => None,
        }
    }

    pub fn public_key(&self) -> SealingPublicKey {
        match self {
            Recipient::P256(key) => SealingPublicKey::P256(*key),
            Recipient::Rsa { key, .. } => SealingPublicKey::Rsa3072(key.clone()),
        }
    }

    /// The key's encoding that the fingerprint, the string form and the KDF salt are built from.
    pub(crate) fn key_bytes(&self) -> Vec<u8> {
        key_bytes(&self.public_key())
    }

    /// Hex of the first 16 bytes of SHA-256 over [`key_bytes`].
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public_key())
    }
}

/// The encoding of a sealing public key that fingerprints and KDF salts use: the 33-byte
/// compressed SEC1 point for P-256, the DER SubjectPublicKeyInfo for RSA.
pub(crate) fn key_bytes(key: &SealingPublicKey) -> Vec<u8> {
    match key {
        SealingPublicKey::P256(key) => key.to_encoded_point(true).as_bytes().to_vec(),
        SealingPublicKey::Rsa3072(key) => key
            .as_rsa()
            .to_public_key_der()
            .expect("an RSA public key encodes")
            .into_vec(),
    }
}

/// The fingerprint of a sealing key, as a vault file's `recipient` field records it: hex of the
/// first 16 bytes of SHA-256 over [`key_bytes`]. It names the key, not the OAEP hash (which the
/// vault's `stanza.alg` records).
pub fn fingerprint(key: &SealingPublicKey) -> String {
    hex::encode(&Sha256::digest(key_bytes(key))[..16])
}

/// The recipient of the sealing key `token` holds. For an RSA key this makes one trial
/// decryption per OAEP hash, SHA-256 first: a random value is encrypted here exactly as `seal`
/// encrypts, and the token must return it. The first hash that round-trips is recorded in the
/// recipient; `C_GetMechanismInfo` cannot tell, as it says nothing about OAEP parameters.
///
/// The public key is proven first: it is read from a public-key object that, on many tokens, a
/// user without the PIN can delete and re-create under the same label. A P-256 key must give the
/// token's ECDH result for a fresh host-random point ([`prove_p256`]); an RSA key must
/// round-trip a random value (the trial decryption below). A key that does not is refused as
/// replaced, never printed as a recipient.
pub fn recipient_of(token: &dyn Token) -> Result<Recipient> {
    let key = match token.public_key()? {
        SealingPublicKey::P256(key) => {
            if !token.public_key_is_the_devices() {
                prove_p256(token, &key)?;
            }
            return Ok(Recipient::P256(key));
        }
        SealingPublicKey::Rsa3072(key) => key,
    };
    let mut failures = Vec::new();
    for oaep in OaepHash::PREFERENCE {
        let mut probe = SecretBytes::zeroed(32);
        getrandom::getrandom(probe.expose_mut())?;
        let ciphertext = oaep_encrypt(&key, oaep, probe.expose())?;
        match token.rsa_oaep_decrypt(oaep, &ciphertext) {
            Ok(plain) if plain.expose() == probe.expose() => {
                let service = token.service_key();
                return Ok(Recipient::Rsa { key, oaep, service });
            }
            Ok(_) => failures.push(format!("{oaep}: the token decrypted to another value")),
            Err(e) => failures.push(format!("{oaep}: {e}")),
        }
    }
    Err(Error::token(format!(
        "{}: the token's private key does not decrypt what is encrypted to the RSA public key \
         it shows (RSA-OAEP with SHA-256 and SHA-1: {}). Either the public-key object was \
         replaced (anyone with access to the token can do that without the PIN): do NOT seal \
         to it, and find out who changed the token; or the token cannot decrypt RSA-OAEP at all",
        token.describe(),
        failures.join("; ")
    )))
}

/// Proves that `key`, read from the token's public-key object, is the public half of the
/// token's private sealing key: ECDH on the token with a fresh host-random point `R = r·G` must
/// equal the host's ECDH of `r` with `key`. Costs one ECDH on the token (~160 µs on SoftHSM).
pub fn prove_p256(token: &dyn Token, key: &p256::PublicKey) -> Result<()> {
    let r = p256::NonZeroScalar::random(&mut OsRng);
    let point = p256::PublicKey::from_secret_scalar(&r);
    let on_token = token
        .ecdh_p256(&point)
        .map_err(|e| e.context("proving the sealing key pair (ECDH on the token)"))?;
    let on_host = p256::ecdh::diffie_hellman(r, key.as_affine());
    let same: bool =
        subtle::ConstantTimeEq::ct_eq(on_token.expose(), &on_host.raw_secret_bytes()[..]).into();
    if same {
        Ok(())
    } else {
        Err(Error::token(format!(
            "{}: the public key the token shows (fingerprint {}) is not the public half of its \
             private sealing key: the public-key object was replaced (anyone with access to the \
             token can do that without the PIN). Do NOT seal to it; find out who changed the \
             token, and delete the foreign public-key object",
            token.describe(),
            fingerprint(&SealingPublicKey::P256(*key))
        )))
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = URL_SAFE_NO_PAD.encode(self.key_bytes());
        match self {
            Recipient::P256(_) => write!(f, "{PREFIX}{P256_TAG}-{key}"),
            Recipient::Rsa {
                service: Some(s), ..
            } => write!(
                f,
                "{PREFIX}{}-{RSA_TAG}-v{}:{}/{}:{key}",
                match s.service {
                    KeyService::Transit => TRANSIT_TAG,
                    KeyService::AwsKms => AWS_KMS_TAG,
                },
                s.version,
                s.mount,
                s.key
            ),
            Recipient::Rsa { oaep, .. } => write!(f, "{PREFIX}{RSA_TAG}-{}-{key}", oaep.id()),
        }
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

impl FromStr for Recipient {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let shown: String = s.chars().take(80).collect();
        let bad = |why: &str| Error::usage(format!("recipient '{shown}': {why}"));
        let rest = s.strip_prefix(PREFIX).ok_or_else(|| {
            bad(
                "a recipient starts with 'kwr1-'; print the token's with `keyward keygen` or \
                 `keyward check`",
            )
        })?;
        let (tag, encoded) = rest
            .split_once('-')
            .ok_or_else(|| bad("expected 'kwr1-<key type>-<key>'"))?;
        let decode = |encoded: &str| {
            URL_SAFE_NO_PAD
                .decode(encoded)
                .map_err(|_| bad("the key is not valid unpadded base64url"))
        };
        let rsa = |der: &[u8]| {
            let key = rsa::RsaPublicKey::from_public_key_der(der)
                .map_err(|_| bad("the key is not a DER RSA SubjectPublicKeyInfo"))?;
            Rsa3072PublicKey::new(key).map_err(|why| bad(&why))
        };
        match tag {
            P256_TAG => parse_p256(&decode(encoded)?).map_err(|why| bad(&why)),
            TRANSIT_TAG | AWS_KMS_TAG => {
                let form = format!(
                    "expected 'kwr1-{tag}-rsa3072-v<version>:<{}>/<key>:<key>'",
                    if tag == TRANSIT_TAG { "mount" } else { "region" }
                );
                let rest = encoded
                    .strip_prefix("rsa3072-v")
                    .ok_or_else(|| bad(&form))?;
                let mut parts = rest.splitn(3, ':');
                let (Some(version), Some(path), Some(encoded)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(bad(&form));
                };
                let version = version
                    .parse::<u32>()
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or_else(|| bad("the key version is not a number from 1"))?;
                let (mount, name) = path.rsplit_once('/').ok_or_else(|| bad(&form))?;
                let service = if tag == TRANSIT_TAG {
                    crate::token::transit_checks::check_name(mount, true)
                        .and_then(|()| crate::token::transit_checks::check_name(name, false))
                        .map_err(|why| bad(&why))?;
                    KeyService::Transit
                } else {
                    crate::token::aws_kms_checks::check_region(mount)
                        .and_then(|()| crate::token::transit_checks::check_name(name, false))
                        .map_err(|why| bad(&why))?;
                    KeyService::AwsKms
                };
                Ok(Recipient::Rsa {
                    key: rsa(&decode(encoded)?)?,
                    oaep: OaepHash::Sha256,
                    service: Some(ServiceKey {
                        service,
                        mount: mount.into(),
                        key: name.into(),
                        version,
                    }),
                })
            }
            RSA_TAG => {
                let (hash, encoded) = encoded
                    .split_once('-')
                    .ok_or_else(|| bad("expected 'kwr1-rsa3072-<sha256|sha1>-<key>'"))?;
                let oaep = OaepHash::from_id(hash).ok_or_else(|| {
                    bad(&format!(
                        "OAEP hash '{hash}' is not supported (sha256 or sha1)"
                    ))
                })?;
                Ok(Recipient::Rsa {
                    key: rsa(&decode(encoded)?)?,
                    oaep,
                    service: None,
                })
            }
            other => Err(bad(&format!(
                "key type '{other}' is not supported (this keyward supports p256, rsa3072, transit and awskms)"
            ))),
        }
    }
}

fn parse_p256(bytes: &[u8]) -> std::result::Result<Recipient, String> {
    if bytes.len() != P256_COMPRESSED_LEN {
        return Err(format!(
            "the key is {} bytes, a compressed P-256 point is {P256_COMPRESSED_LEN}",
            bytes.len()
        ));
    }
    if !matches!(bytes[0], 0x02 | 0x03) {
        return Err("the key is not a compressed P-256 point".into());
    }
    p256::PublicKey::from_sec1_bytes(bytes)
        .map(Recipient::P256)
        .map_err(|_| "the key is not a point on P-256".into())
}

/// RSA-OAEP encryption to `key` with `hash` (and MGF1 with the same hash), empty label: what
/// the token's `CKM_RSA_PKCS_OAEP` decrypts. Only the public-key operation runs on the host.
pub(crate) fn oaep_encrypt(key: &Rsa3072PublicKey, hash: OaepHash, msg: &[u8]) -> Result<Vec<u8>> {
    let padding = match hash {
        OaepHash::Sha1 => rsa::Oaep::new::<sha1::Sha1>(),
        OaepHash::Sha256 => rsa::Oaep::new::<sha2::Sha256>(),
    };
    key.as_rsa()
        .encrypt(&mut OsRng, padding, msg)
        .map_err(|e| Error::vault(format!("RSA-OAEP encryption failed ({e})")))
}

#[cfg(test)]
mod tests;
