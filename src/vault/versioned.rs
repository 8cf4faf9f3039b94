//! Version 3 of the vault file: one file holds every sealed version of a credential's key, and
//! the full recipient string that `keyward rotate` seals the next version to (see the format
//! description in `vault.rs`). [`Versions`] is the one view of any vault file the rest of the
//! vault reads: a version 1 or 2 file is a single version numbered 1.

use serde::{Deserialize, Serialize};

use super::envelope::{Header, Sealed};
use super::file::{
    json_error, sealed_parts, RawStanza, VaultFile, VersionProbe, FORMAT_VERSION, IN_TOKEN_VERSION,
};
use super::recipient::Recipient;
use super::token_key::RawTokenKey;
use crate::error::{Error, Result};

/// A vault file that lists versions.
pub(crate) const VERSIONED: u32 = 3;
/// More versions than this in one file are refused (`keyward rotate` says to start a new file).
pub(crate) const MAX_VERSIONS: usize = 100;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VersionedFile {
    pub keyward_vault: u32,
    pub name: String,
    pub exchange: String,
    /// The newest version's recipient string (`kwr1-…`): what the next rotation seals to.
    pub recipient: String,
    pub versions: Vec<VersionEntry>,
}

/// One sealed version, exactly as written.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VersionEntry {
    /// 1, 2, 3 … in the order they were sealed.
    pub version: u32,
    /// Only on version 1 carried over from a version 1 file: `1`, meaning its AAD is that
    /// file's (without a key version number). Absent on every version sealed as version 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_as: Option<u32>,
    pub created: String,
    pub expires: Option<String>,
    /// The fingerprint of the key this version is sealed to.
    pub fingerprint: String,
    pub stanza: RawStanza,
    pub nonce: String,
    pub ciphertext: String,
}

impl VersionEntry {
    /// The format whose AAD this entry was sealed under.
    fn format(&self) -> u32 {
        self.sealed_as.unwrap_or(VERSIONED)
    }

    pub(crate) fn sealed(&self) -> Result<Sealed> {
        sealed_parts(&self.stanza, &self.nonce, &self.ciphertext)
            .map_err(|e| e.context(format_args!("version {}", self.version)))
    }
}

/// Every version of one credential in a vault file, oldest first (never empty).
pub(crate) struct Versions {
    pub name: String,
    pub exchange: String,
    /// The file's format version (1, 2 or 3).
    pub format: u32,
    /// The recipient the newest version is sealed to, where the file records it (version 3).
    pub recipient: Option<Recipient>,
    /// Version 2: the signing key on the token.
    pub in_token: Option<RawTokenKey>,
    pub entries: Vec<VersionEntry>,
}

impl Versions {
    pub(crate) fn from_single(file: VaultFile) -> Versions {
        let entry = VersionEntry {
            version: 1,
            sealed_as: Some(file.keyward_vault),
            created: file.created,
            expires: file.expires,
            fingerprint: file.recipient,
            stanza: file.stanza,
            nonce: file.nonce,
            ciphertext: file.ciphertext,
        };
        Versions {
            name: file.name,
            exchange: file.exchange,
            format: file.keyward_vault,
            recipient: None,
            in_token: file.in_token,
            entries: vec![entry],
        }
    }

    /// Checks what serde cannot: versions numbered 1, 2, 3 … with no gap, only version 1
    /// carried over from a version 1 file, every entry well-formed, and the recipient string
    /// being the newest version's key.
    pub(crate) fn from_versioned(file: VersionedFile) -> Result<Versions> {
        if file.versions.is_empty() {
            return Err(Error::vault("a version 3 vault lists no versions"));
        }
        if file.versions.len() > MAX_VERSIONS {
            return Err(Error::vault(format!(
                "the vault lists {} versions; keyward reads at most {MAX_VERSIONS}",
                file.versions.len()
            )));
        }
        for (i, entry) in file.versions.iter().enumerate() {
            let want = i as u32 + 1;
            if entry.version != want {
                return Err(Error::vault(format!(
                    "entry {} of 'versions' is numbered {}, expected {want} (versions are \
                     numbered 1, 2, 3 … in order)",
                    i + 1,
                    entry.version
                )));
            }
            match entry.sealed_as {
                None => {}
                Some(FORMAT_VERSION) if want == 1 => {}
                Some(other) => {
                    return Err(Error::vault(format!(
                        "version {want}: 'sealed_as' = {other} is not allowed (only version 1 may \
                         be carried over, from a version {FORMAT_VERSION} file)"
                    )))
                }
            }
            entry.sealed()?;
        }
        let recipient: Recipient = file
            .recipient
            .parse()
            .map_err(|e: Error| e.context("field 'recipient'"))?;
        let newest = file.versions.last().expect("not empty");
        if recipient.fingerprint() != newest.fingerprint {
            return Err(Error::vault(format!(
                "field 'recipient' is key {}, but the newest version (version {}) is sealed to \
                 key {}",
                recipient.fingerprint(),
                newest.version,
                newest.fingerprint
            )));
        }
        Ok(Versions {
            name: file.name,
            exchange: file.exchange,
            format: VERSIONED,
            recipient: Some(recipient),
            in_token: None,
            entries: file.versions,
        })
    }

    /// The version that signs: the newest. There is no fallback to an older one.
    pub(crate) fn newest(&self) -> &VersionEntry {
        self.entries
            .last()
            .expect("a vault has at least one version")
    }

    /// The header `entry`'s two encryptions authenticate.
    pub(crate) fn header<'a>(&'a self, entry: &'a VersionEntry) -> Header<'a> {
        let format = entry.format();
        Header {
            version: format,
            alg: &entry.stanza.alg,
            name: &self.name,
            exchange: &self.exchange,
            recipient_fingerprint: &entry.fingerprint,
            created: &entry.created,
            expires: entry.expires.as_deref(),
            in_token: self
                .in_token
                .as_ref()
                .filter(|_| format == IN_TOKEN_VERSION),
            key_version: (format == VERSIONED).then_some(entry.version),
        }
    }

    /// These versions and `next` as a version 3 file whose recipient is `recipient` (the key
    /// `next` is sealed to). Version 1 of a version 1 file is carried over as it was sealed.
    pub(crate) fn appended(&self, next: VersionEntry, recipient: &Recipient) -> VersionedFile {
        let mut versions = self.entries.clone();
        versions.push(next);
        VersionedFile {
            keyward_vault: VERSIONED,
            name: self.name.clone(),
            exchange: self.exchange.clone(),
            recipient: recipient.to_string(),
            versions,
        }
    }
}

impl VersionedFile {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("plain strings serialize");
        out.push(b'\n');
        out
    }
}

/// Reads any vault file this keyward knows into its versions: a version 1 or 2 file is one
/// version (number 1); a version 3 file lists them. The version field is read first, so that a
/// newer format gets "upgrade keyward", not a list of unknown fields.
pub(crate) fn parse(bytes: &[u8]) -> Result<Versions> {
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(|e| {
        json_error(e, |e| {
            format!("not a keyward vault file ({e}); it may be truncated or damaged")
        })
    })?;
    let supported = [FORMAT_VERSION, IN_TOKEN_VERSION, VERSIONED];
    match probe.keyward_vault {
        None => Err(Error::vault(
            "not a keyward vault file (no \"keyward_vault\" version field)",
        )),
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(VERSIONED.into()) => {
            let file: VersionedFile = serde_json::from_slice(bytes)
                .map_err(|e| json_error(e, |e| format!("malformed vault file ({e})")))?;
            Versions::from_versioned(file)
        }
        Some(serde_json::Value::Number(n))
            if supported.map(u64::from).contains(&n.as_u64().unwrap_or(0)) =>
        {
            VaultFile::parse(bytes).map(Versions::from_single)
        }
        Some(other) => Err(Error::vault(format!(
            "vault format version {other} is not supported by this keyward (it reads versions \
             {FORMAT_VERSION}, {IN_TOKEN_VERSION} and {VERSIONED}); upgrade keyward or reseal the \
             credential"
        ))),
    }
}
