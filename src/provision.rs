//! Putting keys on the token: the sealing key pair (`keyward keygen`, and `keyward recipient`
//! for one already there), exchange API key pairs (`keyward keygen --api-key`) and in-token
//! credentials (`keyward import --in-token`).
//!
//! Each needs only the `[token]` section of the configuration, so it can run before the
//! credentials it prepares are configured.

mod import;

pub use import::{import_in_token, Imported};

use crate::config::valid_name;
use crate::error::{Error, Result};
use crate::token::{
    self, Backend, KeyOptions, KeyRef, PivSlot, SealingAlgorithm, SignatureAlgorithm, TokenConfig,
    TransitHmacKey,
};
use crate::vault::{self, Recipient};

/// The label of credential `name`'s HMAC secret on the token.
pub fn hmac_key_ref(name: &str) -> KeyRef {
    KeyRef::new(format!("keyward-hmac-{name}"))
}

/// Where credential `name`'s HMAC secret goes on the token `config` names: labelled
/// [`hmac_key_ref`] on a PKCS#11 token; a Transit key of that name in `[token] mount`,
/// version 1; the KMS alias `alias/keyward-hmac-NAME` (two keys, `-sha256` and `-sha512`) in
/// AWS KMS. `None` for a token that cannot hold HMAC keys (a YubiKey's PIV applet).
fn hmac_key_location(config: &TokenConfig, name: &str) -> Option<KeyRef> {
    match &config.backend {
        Backend::Pkcs11 { .. } => Some(hmac_key_ref(name)),
        Backend::Transit(transit) => {
            Some(TransitHmacKey::new(&transit.mount, hmac_key_ref(name).as_str()).key_ref())
        }
        Backend::AwsKms(_) => Some(KeyRef::new(format!(
            "alias/{}",
            hmac_key_ref(name).as_str()
        ))),
        Backend::YubiKey { .. } => None,
    }
}

/// The label of credential `name`'s exchange API key pair on the token.
pub fn api_key_ref(name: &str) -> KeyRef {
    KeyRef::new(format!("keyward-api-{name}"))
}

/// The label of the audit checkpoint key pair on a PKCS#11 token.
pub const AUDIT_KEY_LABEL: &str = "keyward-audit";

/// Where credential `name`'s exchange API key pair is on the token `config` names: a PKCS#11
/// token labels it ([`api_key_ref`]); a YubiKey keeps it in the PIV `slot` the operator chose
/// (PIV keys have no labels).
fn api_key_location(config: &TokenConfig, name: &str, slot: Option<PivSlot>) -> Result<KeyRef> {
    if let (Backend::YubiKey { .. }, None) = (&config.backend, slot) {
        return Err(Error::usage(
            "a YubiKey keeps an exchange API key pair in a PIV slot, which has no label: give \
             --slot (an empty retired slot 82..95 at keygen, the same slot at import). A YubiKey \
             cannot hold an HMAC secret (PIV has no HMAC): seal those with `keyward seal`",
        ));
    }
    key_location(config, api_key_ref(name), slot, "keyward-api-NAME")
}

/// A key pair's place: `label` on a PKCS#11 token, `slot` on a YubiKey.
fn key_location(
    config: &TokenConfig,
    label: KeyRef,
    slot: Option<PivSlot>,
    shown: &str,
) -> Result<KeyRef> {
    match (&config.backend, slot) {
        (Backend::Pkcs11 { .. }, None) => Ok(label),
        (Backend::Pkcs11 { .. }, Some(_)) => Err(Error::usage(format!(
            "--slot names a YubiKey's PIV slot; this configuration's [token] is a PKCS#11 \
             token, which labels the key {shown} itself (drop --slot)"
        ))),
        (Backend::YubiKey { .. }, Some(slot)) => Ok(KeyRef::new(slot.to_string())),
        (Backend::YubiKey { .. }, None) => Err(Error::usage(format!(
            "a YubiKey keeps the {shown} key pair in a PIV slot, which has no label: give \
             --slot (an empty retired slot 82..95)"
        ))),
        (Backend::AwsKms(_), _) => Err(Error::usage(format!(
            "this configuration's [token] is AWS KMS, which keeps keyward's sealing key and HMAC \
             secrets (`keyward import --in-token`) but no {shown} key pairs in this version of \
             keyward: seal an asymmetric API key with `keyward seal`"
        ))),
        (Backend::Transit(_), _) => Err(Error::usage(format!(
            "this configuration's [token] is a Vault Transit key service, which keeps keyward's \
             sealing key and HMAC secrets (`keyward import --in-token`) but no {shown} key \
             pairs: seal an asymmetric API key with `keyward seal`"
        ))),
    }
}

/// Generates the audit checkpoint key pair (ECDSA P-256) on the token: labelled
/// [`AUDIT_KEY_LABEL`] on a PKCS#11 token, in `slot` on a YubiKey. Its public half goes into
/// `[audit] checkpoint_public_key`.
pub fn generate_audit_key(
    config: &TokenConfig,
    slot: Option<PivSlot>,
    options: &KeyOptions,
) -> Result<GeneratedApiKey> {
    let key = key_location(config, KeyRef::new(AUDIT_KEY_LABEL), slot, AUDIT_KEY_LABEL)?;
    let token = token::open_with(config, options)?;
    let algorithm = SignatureAlgorithm::EcdsaP256;
    let spki = token.generate_signing_key(&key, algorithm)?;
    Ok(GeneratedApiKey {
        public_pem: spki_pem(&spki)?,
        key,
        algorithm,
    })
}

/// Generates the sealing key pair on the token and returns its recipient. For RSA the recipient
/// records the OAEP hash the token decrypts with, found by a trial decryption.
pub fn generate_sealing_key(
    config: &TokenConfig,
    algorithm: SealingAlgorithm,
    options: &KeyOptions,
) -> Result<Recipient> {
    let token = token::open_with(config, options)?;
    token.generate(algorithm)?;
    vault::recipient_of(token.as_ref())
}

/// The recipient of the sealing key already on the token (made by `keyward keygen`, or by the
/// vendor's tools where keyward cannot generate keys, e.g. a YubiKey through ykcs11).
pub fn existing_recipient(config: &TokenConfig) -> Result<Recipient> {
    let token = token::open(config)?;
    vault::recipient_of(token.as_ref())
}

/// An exchange API key pair just generated on the token.
pub struct GeneratedApiKey {
    pub key: KeyRef,
    pub algorithm: SignatureAlgorithm,
    /// The public key as PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`).
    pub public_pem: String,
}

/// Generates credential `name`'s exchange API key pair on the token (private key sensitive and
/// non-extractable); on a YubiKey, in `slot`.
pub fn generate_api_key(
    config: &TokenConfig,
    (name, slot): (&str, Option<PivSlot>),
    algorithm: SignatureAlgorithm,
    options: &KeyOptions,
) -> Result<GeneratedApiKey> {
    check_credential_name(name)?;
    let key = api_key_location(config, name, slot)?;
    let token = token::open_with(config, options)?;
    let spki = token.generate_signing_key(&key, algorithm)?;
    Ok(GeneratedApiKey {
        public_pem: spki_pem(&spki)?,
        key,
        algorithm,
    })
}

/// A DER SubjectPublicKeyInfo as PEM, the form exchanges' key-registration pages take.
pub fn spki_pem(der: &[u8]) -> Result<String> {
    let doc = spki::Document::try_from(der)
        .map_err(|e| Error::token(format!("the token's public key is not DER ({e})")))?;
    doc.to_pem("PUBLIC KEY", spki::der::pem::LineEnding::LF)
        .map_err(|e| Error::token(format!("cannot encode the public key as PEM ({e})")))
}

fn check_credential_name(name: &str) -> Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "credential name {name:?} must be 1-64 letters, digits, '-' or '_' (the name of its \
             [[credential]] entry)"
        )))
    }
}
