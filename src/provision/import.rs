//! `keyward import --in-token`: a credential whose signing key lives on the token.
//!
//! * If the token holds an API key pair for the credential (`keyward keygen --api-key`), only the
//!   API key the exchange issued for its public key is read, and the vault records the pair.
//! * Otherwise the API key and the HMAC secret (and the passphrase, for OKX, Bitget, KuCoin) are
//!   read; the secret becomes a sensitive, non-extractable token key labelled
//!   `keyward-hmac-<name>` (in a Vault Transit key service: a non-exportable `hmac` key of that
//!   name in `[token] mount`, imported wrapped with the mount's wrapping key; a base64 secret
//!   such as Kraken's is decoded first), checked to give
//!   the same HMAC-SHA256 and HMAC-SHA512 as the secret itself, and the vault records it.
//!
//! Either way the vault seals the API key and passphrase to the token's sealing key and never
//! holds the secret. The vault is made before the key is stored, and written only after the
//! token has it, so a failure leaves no vault that names a missing key.

use std::io::BufRead;
use std::path::Path;
use std::time::SystemTime;

use super::{api_key_location, check_credential_name, hmac_key_location};
use crate::error::{Error, Result};
use crate::exchange::{accepts_key, parse_secret, Exchange, KeyUse, SecretForm};
use crate::key::{HmacSecret, KeyAlgorithm, SigningKey};
use crate::secret::SecretBytes;
use crate::token::{self, Backend, HmacAlgorithm, PivSlot, Token, TokenConfig};
use crate::vault::{self, Entry, InTokenCredential, TokenKey};

/// What `import` stored.
pub struct Imported {
    pub key: TokenKey,
    /// The sealing key's fingerprint the vault is sealed to.
    pub recipient_fingerprint: String,
    /// The vault file's digest, for the config's `vault_sha256`.
    pub digest: vault::VaultDigest,
}

/// Imports credential `name` of `exchange` into the token (see the module docs) and writes its
/// vault to `out`.
pub fn import_in_token<R: BufRead>(
    config: &TokenConfig,
    (name, slot): (&str, Option<PivSlot>),
    exchange: &dyn Exchange,
    entry: Entry<R>,
    expires: Option<SystemTime>,
    out: &Path,
) -> Result<Imported> {
    check_credential_name(name)?;
    if exchange.key_use() == KeyUse::SecretInHeader {
        return Err(Error::usage(format!(
            "{} sends its API secret itself with every request, so the secret cannot stay on the \
             token; seal it into a vault file with `keyward seal` instead",
            exchange.id()
        )));
    }
    // A key service holds no exchange key pairs, so there is none to look for.
    let pair = match &config.backend {
        Backend::Transit(_) | Backend::AwsKms(_) if slot.is_some() => {
            return Err(Error::usage(
                "--slot names a YubiKey's PIV slot; this configuration's [token] is a key \
                 service (Vault Transit or AWS KMS): drop --slot",
            ))
        }
        Backend::Transit(_) | Backend::AwsKms(_) => None,
        _ => Some(api_key_location(config, name, slot)?),
    };
    let token = token::open(config)?;
    let recipient = vault::recipient_of(token.as_ref())?;
    let found = match &pair {
        Some(pair) => token.signing_public_key(pair)?.map(|k| (pair.clone(), k)),
        None => None,
    };
    let credential = match found {
        Some((pair, (algorithm, public_key))) => {
            if !accepts_key(exchange.secret_form(), algorithm.into()) {
                return Err(Error::usage(format!(
                    "the token holds an {algorithm} key pair {pair}, but {} does not sign with \
                     {algorithm} keys",
                    exchange.id()
                )));
            }
            InTokenCredential {
                api_key: entry.api_key()?,
                passphrase: None,
                key: TokenKey::Pair {
                    label: pair,
                    algorithm,
                    public_key,
                },
            }
        }
        None => {
            let secrets = entry.secrets(exchange.needs_passphrase())?;
            let hmac_key = hmac_key_bytes(exchange, &secrets.secret)?;
            let label = hmac_key_location(config, name).ok_or_else(|| {
                Error::usage(format!(
                    "{} cannot hold an HMAC secret (PIV has no HMAC): seal the credential with \
                     `keyward seal`",
                    token.describe()
                ))
            })?;
            let held = InTokenCredential {
                api_key: secrets.api_key,
                passphrase: secrets.passphrase,
                key: TokenKey::Hmac {
                    label: label.clone(),
                },
            };
            let bytes = vault::seal_in_token(&recipient, name, exchange.id(), &held, expires)?;
            token.import_hmac_key(&label, &hmac_key)?;
            check_same_hmac(token.as_ref(), &held.key, &hmac_key)?;
            return finish(out, &bytes, held.key, &recipient);
        }
    };
    let bytes = vault::seal_in_token(&recipient, name, exchange.id(), &credential, expires)?;
    finish(out, &bytes, credential.key, &recipient)
}

fn finish(
    out: &Path,
    bytes: &[u8],
    key: TokenKey,
    recipient: &vault::Recipient,
) -> Result<Imported> {
    vault::write_vault_file(out, bytes).map_err(|e| {
        e.context(format!(
            "the {} is on the token, but its vault was not written (import again once the \
             key is deleted from the token)",
            key.describe()
        ))
    })?;
    Ok(Imported {
        key,
        recipient_fingerprint: recipient.fingerprint(),
        digest: vault::VaultDigest::of(bytes),
    })
}

/// The bytes the exchange keys its HMAC with: the secret, checked against the exchange's form
/// (a base64 secret decoded). A private key is refused: it would be an asymmetric API key.
fn hmac_key_bytes(exchange: &dyn Exchange, secret: &SecretBytes) -> Result<SecretBytes> {
    let form = exchange.secret_form();
    let not_hmac = || {
        Error::usage(format!(
            "the {} secret is a private key, not an HMAC secret: an asymmetric API key is \
             generated on the token with `keyward keygen --api-key` (or sealed with `keyward \
             seal`); nothing was imported",
            exchange.id()
        ))
    };
    if !accepts_key(form, KeyAlgorithm::Hmac) {
        return Err(not_hmac());
    }
    match parse_secret(form, secret) {
        Err(e) => Err(Error::usage(format!(
            "the {} secret is not valid: {e}; nothing was imported",
            exchange.id()
        ))),
        Ok(Some(_)) => Err(not_hmac()),
        Ok(None) if form == SecretForm::Base64 => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(secret.expose())
                .map(SecretBytes::new)
                .map_err(|_| Error::usage("the secret is not standard base64"))
        }
        Ok(None) => Ok(SecretBytes::copy_from(secret.expose())),
    }
}

/// The token's HMACs under the imported key equal the host's under the secret, for both hashes
/// (the token may hold the key zero-padded; see `token::pkcs11::signing`).
fn check_same_hmac(token: &dyn Token, key: &TokenKey, secret: &SecretBytes) -> Result<()> {
    let probe: &[&[u8]] = &[b"keyward import check"];
    let host = HmacSecret::new(SecretBytes::copy_from(secret.expose()));
    let expected = [
        (
            HmacAlgorithm::Sha256,
            host.hmac_sha256(probe).map(|m| m.to_vec()),
        ),
        (
            HmacAlgorithm::Sha512,
            host.hmac_sha512(probe).map(|m| m.to_vec()),
        ),
    ];
    for (hash, want) in expected {
        let want = want.map_err(|e| Error::token(e.to_string()))?;
        let got = token
            .hmac(key.label(), hash, probe)
            .map_err(|e| e.context(format!("checking the stored {}", key.describe())))?;
        if got != want {
            return Err(Error::token(format!(
                "{}: the stored {} gives another {hash} than the secret; delete it from the token",
                token.describe(),
                key.describe()
            )));
        }
    }
    Ok(())
}
