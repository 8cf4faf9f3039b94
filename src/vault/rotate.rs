//! `keyward rotate`: the next key version of a credential, appended to its vault file.
//!
//! Rotation needs no token: a version 3 file records the full recipient string of its newest
//! version, and a new version is sealed to it (or to `--recipient`). A version 1 file records
//! only the recipient's fingerprint, so its first rotation needs `--recipient`; the file it
//! writes is version 3, with the old version carried over unchanged as version 1. A version 2
//! file (the signing key on the token) is not rotated here: its new key is made on the token.

use std::path::Path;
use std::time::SystemTime;

use super::versioned::{Versions, MAX_VERSIONS, VERSIONED};
use super::{
    check_names, check_pin, read_vault_file, seal_entry, versioned, write_vault_file,
    CredentialSecrets, Recipient, VaultDigest, MAX_VAULT_FILE,
};
use crate::error::{Error, Result};

/// What a rotation wrote.
#[derive(Debug)]
pub struct Rotated {
    /// The new version's number.
    pub version: u32,
    /// The digest of the file written: the new `vault_sha256`.
    pub digest: VaultDigest,
    /// The key the new version is sealed to.
    pub recipient: Recipient,
    /// The key the previous version was sealed to (its fingerprint).
    pub previous_fingerprint: String,
}

/// Appends `secrets` as the next version of credential `name` on `exchange` to the vault file at
/// `path`, which must be the file the configuration pins (`pinned`): the file is rewritten
/// atomically, every earlier version kept as it was.
pub fn rotate_file(
    path: &Path,
    names: (&str, &str),
    pinned: &VaultDigest,
    recipient: Option<&Recipient>,
    secrets: &CredentialSecrets,
    expires: Option<SystemTime>,
) -> Result<Rotated> {
    let shown = path.display();
    let bytes = read_vault_file(path)?;
    check_pin(path, &bytes, pinned)
        .map_err(|e| e.context("keyward rotate extends only the vault file the config pins"))?;
    let file = versioned::parse(&bytes).map_err(|e| e.context(&shown))?;
    check_names(path, &file, names)?;
    let (bytes, rotated) =
        append(&file, recipient, secrets, expires).map_err(|e| e.context(&shown))?;
    write_vault_file(path, &bytes)?;
    Ok(rotated)
}

/// The file `file` with `secrets` sealed as its next version.
pub(super) fn append(
    file: &Versions,
    recipient: Option<&Recipient>,
    secrets: &CredentialSecrets,
    expires: Option<SystemTime>,
) -> Result<(Vec<u8>, Rotated)> {
    if file.in_token.is_some() {
        return Err(Error::usage(format!(
            "credential '{}' signs with a key on the token (a version 2 vault), which `keyward \
             rotate` does not replace: make the new key on the token (`keyward keygen --api-key \
             ... --name {}`, or import the new secret with `keyward import --in-token`), which \
             writes a new vault file to pin",
            file.name, file.name
        )));
    }
    let newest = file.newest();
    let recipient = match (recipient, &file.recipient) {
        (Some(r), _) | (None, Some(r)) => r.clone(),
        (None, None) => {
            return Err(Error::usage(format!(
                "this version {} vault records only the fingerprint of the key it is sealed to \
                 ({}), not the recipient string: pass it once with --recipient (the line `keyward \
                 keygen` printed, or `keyward recipient --config ...`); the rotated file records \
                 it for the next rotations",
                file.format, newest.fingerprint
            )))
        }
    };
    if file.entries.len() >= MAX_VERSIONS {
        return Err(Error::usage(format!(
            "the vault already holds {MAX_VERSIONS} versions, the most keyward reads: start a new \
             file with `keyward seal` (and pin it)"
        )));
    }
    if secrets.api_key.is_empty() || secrets.secret.is_empty() {
        return Err(Error::usage(
            "the API key and the API secret must not be empty",
        ));
    }
    let number = newest.version + 1;
    let names = (file.name.as_str(), file.exchange.as_str());
    let entry = seal_entry(
        &recipient,
        names,
        secrets,
        (VERSIONED, number),
        None,
        (SystemTime::now(), expires),
    )?;
    let bytes = file.appended(entry, &recipient).to_bytes();
    if bytes.len() as u64 > MAX_VAULT_FILE {
        return Err(Error::usage(format!(
            "with version {number} the vault file would exceed {MAX_VAULT_FILE} bytes: start a \
             new file with `keyward seal` (and pin it)"
        )));
    }
    let rotated = Rotated {
        version: number,
        digest: VaultDigest::of(&bytes),
        recipient,
        previous_fingerprint: newest.fingerprint.clone(),
    };
    Ok((bytes, rotated))
}

#[cfg(test)]
mod tests;
