//! Sealed credentials: one small versioned file per exchange credential.
//!
//! # File format (versions 1, 2 and 3)
//!
//! A vault file (conventionally `vault/<name>.kwv`, mode 0600) is a UTF-8 JSON object:
//!
//! ```json
//! {
//!   "keyward_vault": 1,
//!   "name": "binance-main",
//!   "exchange": "binance",
//!   "created": "2025-01-31T12:00:00Z",
//!   "expires": null,
//!   "recipient": "3f2a…(32 hex digits)",
//!   "stanza": {
//!     "alg": "p256-ecdh-hkdf-sha256",
//!     "epk": "<base64: ephemeral P-256 public key, compressed SEC1, 33 bytes>",
//!     "nonce": "<base64: 12-byte AES-GCM nonce for the data key>",
//!     "wrapped_key": "<base64: 32-byte data key + 16-byte tag>"
//!   },
//!   "nonce": "<base64: 12-byte AES-GCM nonce for the payload>",
//!   "ciphertext": "<base64: encrypted payload + 16-byte tag>"
//! }
//! ```
//!
//! * `created` / `expires` are RFC 3339 UTC times to the second; `expires` is `null` or a time.
//! * An RSA stanza (`"alg": "rsa-oaep-sha256-hkdf-sha256"` or `"rsa-oaep-sha1-hkdf-sha256"`)
//!   has `"ek"` (base64: the 384-byte RSA-OAEP ciphertext of the 32-byte shared secret) in place
//!   of `epk`; `alg` records the OAEP hash (and MGF1 hash) the sealer used.
//! * `recipient` is the fingerprint of the sealing key: hex of the first 16 bytes of SHA-256 of
//!   its compressed SEC1 point (P-256) or DER SubjectPublicKeyInfo (RSA). The recipient string
//!   (`kwr1-p256-…`, `kwr1-rsa3072-<sha256|sha1>-…`) is the same key in base64url.
//! * **Version 2** (a credential whose signing key is on the token, `keyward import --in-token`)
//!   adds `"in_token": {"type": "hmac" | "ed25519" | "ecdsa-p256", "label": "...",
//!   "public_key": "<base64 DER SPKI, key pairs only>"}`, and its payload's secret is empty.
//!   Version 1 never has `in_token`, version 2 always has it; vaults without an in-token key
//!   are still written as version 1.
//! * **Version 3** (written by `keyward rotate`, see `versioned.rs`) holds every key version of
//!   the credential: `{"keyward_vault": 3, "name", "exchange", "recipient": "kwr1-…" (the newest
//!   version's recipient string), "versions": [{"version": 1, "sealed_as": 1?, "created",
//!   "expires", "fingerprint", "stanza", "nonce", "ciphertext"}, …]}`, numbered 1, 2, 3 … in
//!   order. `sealed_as: 1` marks version 1 carried over unchanged from a version 1 file. Only the
//!   newest version is opened: it signs, the others never do.
//! * Unknown fields are refused; another `keyward_vault` version is refused with "upgrade keyward".
//!
//! # Cryptography
//!
//! * A fresh random 32-byte **data key** encrypts the **payload** with AES-256-GCM.
//!   The payload is `len‖api_key ‖ len‖secret ‖ 0x00` or `… ‖ 0x01 ‖ len‖passphrase`, each `len`
//!   a 4-byte big-endian length.
//! * The data key is wrapped with AES-256-GCM under
//!   `KEK = HKDF-SHA256(ikm = shared, salt = epk ‖ recipient, info = "keyward/v1/p256 data key")`
//!   where `shared` is the x-coordinate of ECDH(ephemeral, recipient) (both points compressed
//!   SEC1); or, for RSA, `shared` is 32 random bytes sent as `ek = RSA-OAEP(recipient, shared)`
//!   and `KEK = HKDF-SHA256(ikm = shared, salt = ek ‖ recipient SPKI,
//!   info = "keyward/v1/rsa-oaep data key")`. Opening performs the ECDH or the OAEP decryption
//!   inside the token (the private key never leaves it); everything after is the same code.
//! * Both encryptions authenticate the same header as associated data: a domain label, a purpose
//!   (`"data key"` / `"payload"`), then the format version, `stanza.alg`, `name`, `exchange`,
//!   `recipient`, `created` (each as a 4-byte big-endian length and the exact bytes from the file)
//!   and `expires` (a 0x00 byte if null, else 0x01 and the length-prefixed string); version 2
//!   then `in_token`'s type and label, and its public key after a presence byte. A version 3
//!   entry authenticates the same header (format `"3"`, its `fingerprint` as the recipient) and
//!   then its key version number, so versions cannot be swapped or renumbered; a version carried
//!   over (`sealed_as: 1`) keeps the AAD it was sealed with.
//!   Editing any of them, swapping files between credentials, or truncating the file makes
//!   opening fail.
//!
//! Sealing needs only the [`Recipient`] (the public key), so it works without the token.

mod dates;
mod digest;
mod envelope;
mod file;
mod input;
mod recipient;
mod rotate;
mod secrets;
mod stanza;
#[cfg(test)]
pub(crate) mod testing;
mod token_key;
mod versioned;

pub use dates::read_header;
pub use digest::VaultDigest;
pub use input::{prompt_secrets, read_secrets, Entry};
pub use recipient::{fingerprint, recipient_of, Recipient};
pub use rotate::{rotate_file, Rotated};
pub use secrets::CredentialSecrets;
pub use token_key::TokenKey;

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use envelope::Header;
use file::{VaultFile, FORMAT_VERSION, IN_TOKEN_VERSION};
use stanza::Stanza;
use token_key::RawTokenKey;
use versioned::{VersionEntry, Versions, VERSIONED};

use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretBytes;
use crate::secure_file::{self, Purpose, Secrecy};
use crate::token::{SealingPublicKey, Token};

/// A vault file larger than this is not one of ours (100 RSA versions fit).
const MAX_VAULT_FILE: u64 = 256 * 1024;
/// Sealed, so not secret; but whoever can replace it chooses what keyward serves.
const VAULT_FILE: Purpose<'static> = Purpose {
    what: "vault file",
    kind: ErrorKind::Vault,
    secrecy: Secrecy::Integrity,
};
/// Longest accepted credential or exchange name.
const MAX_NAME: usize = 128;

/// How far a vault's `created` may be ahead of this host's clock (sealed on a host whose clock
/// runs a little fast); anything later is refused as future-dated.
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// What a vault file holds besides its header.
#[derive(Debug)]
pub enum Contents {
    /// The API key, the secret and the passphrase, if any, all sealed in the file (version 1).
    Sealed(CredentialSecrets),
    /// The API key and passphrase sealed in the file; the signing key on the token (version 2).
    InToken(InTokenCredential),
}

impl Contents {
    /// The sealed secrets, if the secret is in the file.
    pub fn into_sealed(self) -> Option<CredentialSecrets> {
        match self {
            Contents::Sealed(secrets) => Some(secrets),
            Contents::InToken(_) => None,
        }
    }

    /// Where the secret is, for `keyward check`.
    pub fn describe_mode(&self) -> String {
        match self {
            Contents::Sealed(_) => "secret sealed in the vault".to_owned(),
            Contents::InToken(c) => format!("in-token {}", c.key.describe()),
        }
    }
}

/// A credential whose signing key is on the token: the API key and passphrase (sealed in the
/// vault like the secret would be) and the reference to the key. `Debug` shows no secret.
#[derive(Debug)]
pub struct InTokenCredential {
    pub api_key: SecretBytes,
    /// OKX, Bitget, KuCoin: sent with (or signed into) every request, so it is no signing key.
    pub passphrase: Option<SecretBytes>,
    pub key: TokenKey,
}

/// The authenticated, non-secret part of a vault file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultHeader {
    pub name: String,
    pub exchange: String,
    pub created: SystemTime,
    pub expires: Option<SystemTime>,
    pub recipient_fingerprint: String,
    /// The number of the version opened (the newest), from 1.
    pub version: u32,
    /// How many versions the file holds.
    pub versions: u32,
}

impl VaultHeader {
    /// Whether the credential's recorded expiry has passed at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// Seals `secrets` for credential `name` on `exchange` to `recipient`. Returns the file bytes;
/// write them with [`write_vault_file`].
pub fn seal(
    recipient: &Recipient,
    name: &str,
    exchange: &str,
    secrets: &CredentialSecrets,
    expires: Option<SystemTime>,
) -> Result<Vec<u8>> {
    if secrets.api_key.is_empty() || secrets.secret.is_empty() {
        return Err(Error::usage(
            "the API key and the API secret must not be empty",
        ));
    }
    seal_payload(
        recipient,
        name,
        exchange,
        secrets,
        None,
        expires,
        SystemTime::now(),
    )
}

/// [`seal`] as if this host's clock said `created`: for tests of expiry and rotation, which need
/// a version sealed long ago (`created` is authenticated like every header field, and the
/// configuration's pin decides which file is current).
pub fn seal_dated(
    recipient: &Recipient,
    (name, exchange): (&str, &str),
    secrets: &CredentialSecrets,
    created: SystemTime,
    expires: Option<SystemTime>,
) -> Result<Vec<u8>> {
    seal_payload(recipient, name, exchange, secrets, None, expires, created)
}

/// Seals the API key (and passphrase) of credential `name`, whose signing key `key` lives on the
/// token, into a version 2 vault that records `key` and holds no secret.
pub fn seal_in_token(
    recipient: &Recipient,
    name: &str,
    exchange: &str,
    credential: &InTokenCredential,
    expires: Option<SystemTime>,
) -> Result<Vec<u8>> {
    if credential.api_key.is_empty() {
        return Err(Error::usage("the API key must not be empty"));
    }
    let secrets = CredentialSecrets {
        api_key: SecretBytes::copy_from(credential.api_key.expose()),
        secret: SecretBytes::zeroed(0),
        passphrase: credential
            .passphrase
            .as_ref()
            .map(|p| SecretBytes::copy_from(p.expose())),
    };
    let key = credential.key.to_raw();
    let now = SystemTime::now();
    seal_payload(recipient, name, exchange, &secrets, Some(key), expires, now)
}

/// Both kinds of vault: the payload is always `CredentialSecrets`' encoding, whose secret is
/// empty when the key is on the token.
fn seal_payload(
    recipient: &Recipient,
    name: &str,
    exchange: &str,
    secrets: &CredentialSecrets,
    in_token: Option<RawTokenKey>,
    expires: Option<SystemTime>,
    now: SystemTime,
) -> Result<Vec<u8>> {
    let format = match in_token {
        None => FORMAT_VERSION,
        Some(_) => IN_TOKEN_VERSION,
    };
    let names = (name, exchange);
    let entry = seal_entry(
        recipient,
        names,
        secrets,
        (format, 1),
        in_token.as_ref(),
        (now, expires),
    )?;
    let file = VaultFile {
        keyward_vault: format,
        name: name.to_string(),
        exchange: exchange.to_string(),
        created: entry.created,
        expires: entry.expires,
        recipient: entry.fingerprint,
        in_token,
        stanza: entry.stanza,
        nonce: entry.nonce,
        ciphertext: entry.ciphertext,
    };
    Ok(file.to_bytes())
}

/// Seals `secrets` as key version `number` of credential `name` on `exchange`, under the AAD of
/// vault format `format`, created `now`.
fn seal_entry(
    recipient: &Recipient,
    (name, exchange): (&str, &str),
    secrets: &CredentialSecrets,
    (format, number): (u32, u32),
    in_token: Option<&RawTokenKey>,
    (now, expires): (SystemTime, Option<SystemTime>),
) -> Result<VersionEntry> {
    check_name("credential name", name)?;
    check_name("exchange", exchange)?;
    let created = format_time(now);
    let expires = match expires {
        Some(t) if t <= now => {
            return Err(Error::usage(format!(
                "the expiry {} is not in the future",
                format_time(t)
            )))
        }
        Some(t) => Some(format_time(t)),
        None => None,
    };
    let fingerprint = recipient.fingerprint();
    let (stanza, shared) = Stanza::create(recipient)?;
    let header = Header {
        version: format,
        alg: stanza.alg(),
        name,
        exchange,
        recipient_fingerprint: &fingerprint,
        created: &created,
        expires: expires.as_deref(),
        in_token,
        key_version: (format == VERSIONED).then_some(number),
    };
    let payload = secrets.to_payload()?;
    let sealed = envelope::seal(stanza, shared, &recipient.key_bytes(), &header, &payload)?;
    Ok(VersionEntry {
        version: number,
        sealed_as: None,
        created,
        expires,
        fingerprint,
        stanza: VaultFile::stanza_from(&sealed),
        nonce: file::encode(&sealed.nonce),
        ciphertext: file::encode(&sealed.ciphertext),
    })
}

/// Writes a vault file atomically: parent directory created (0700) if missing, contents written
/// to a new temporary file (0600) in the same directory, synced, then renamed over `path`.
pub fn write_vault_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(format_args!("cannot create directory {}", dir.display()), e))?;
    secure_file::replace(path, bytes, "vault file")
}

/// Opens the vault file at `path` with `token`, checking, in this order, that its bytes have the
/// digest `pinned` (the configuration's `vault_sha256`), that it was sealed for credential
/// `expected_name` on `expected_exchange`, that the dates of its newest version are sane at
/// `now` (`created` at most [`CLOCK_SKEW`] ahead, before `expires`), and that it is sealed to
/// the token's key. Only the newest version is opened: it is the one that signs, and older
/// versions never do. An expiry that has passed is not an error here (see
/// [`VaultHeader::is_expired`]): the proxy refuses to sign with it, request by request. Every
/// error names the file.
pub fn open(
    path: &Path,
    (expected_name, expected_exchange): (&str, &str),
    pinned: &VaultDigest,
    now: SystemTime,
    token: &dyn Token,
) -> Result<(VaultHeader, Contents)> {
    let shown = path.display();
    let bytes = read_vault_file(path)?;
    check_pin(path, &bytes, pinned)?;
    let file = versioned::parse(&bytes).map_err(|e| e.context(&shown))?;
    check_names(path, &file, (expected_name, expected_exchange))?;
    let header = dates::header_of(path, &file)?;
    let newest = file.newest();
    check_dates(&header, now).map_err(|e| e.context(&shown))?;
    let sealed = newest.sealed().map_err(|e| e.context(&shown))?;
    let aad_header = file.header(newest);
    let in_token = aad_header
        .in_token
        .map(RawTokenKey::parse)
        .transpose()
        .map_err(|e| e.context(&shown))?;

    let token_key = token
        .public_key()
        .map_err(|e| e.context(format_args!("{shown}: reading the token's public key")))?;
    let token_fingerprint = fingerprint(&token_key);
    if newest.fingerprint != token_fingerprint {
        let reseal = match &token_key {
            SealingPublicKey::P256(key) => {
                // Never advise sealing to a key the token has not proven it holds.
                if !token.public_key_is_the_devices() {
                    recipient::prove_p256(token, key).map_err(|e| e.context(&shown))?;
                }
                format!("the token's recipient ({})", Recipient::p256(*key))
            }
            SealingPublicKey::Rsa3072(_) => {
                "its recipient (`keyward recipient --config ...` prints it)".into()
            }
        };
        return Err(Error::vault(format!(
            "{shown}: sealed to key {}, {} holds {token_fingerprint}; reseal the credential to \
             {reseal}",
            newest.fingerprint,
            token.describe()
        )));
    }
    let payload = envelope::open(
        token,
        &recipient::key_bytes(&token_key),
        &aad_header,
        &sealed,
    )
    .map_err(|e| e.context(&shown))?;
    let secrets =
        CredentialSecrets::from_payload(payload.expose()).map_err(|e| e.context(&shown))?;
    let malformed = || {
        Error::vault(format!(
            "{shown}: the decrypted payload does not fit the vault's mode (sealed by another \
             program?)"
        ))
    };
    let contents = match in_token {
        None if secrets.secret.is_empty() => return Err(malformed()),
        None => Contents::Sealed(secrets),
        Some(_) if !secrets.secret.is_empty() => return Err(malformed()),
        Some(key) => Contents::InToken(InTokenCredential {
            api_key: secrets.api_key,
            passphrase: secrets.passphrase,
            key,
        }),
    };
    Ok((header, contents))
}

/// The file's bytes must have the pinned digest: only that file is current.
fn check_pin(path: &Path, bytes: &[u8], pinned: &VaultDigest) -> Result<()> {
    let found = VaultDigest::of(bytes);
    if found != *pinned {
        let shown = path.display();
        return Err(Error::vault(format!(
            "{shown}: the file's SHA-256 is {found}, but the configuration pins vault_sha256 = \
             \"{pinned}\": it was replaced (sealed by someone else) or an older version was put \
             back, and is not served. If you sealed this file yourself just now, `keyward digest \
             {shown}` prints the line to put in the credential's entry"
        )));
    }
    Ok(())
}

fn check_names(path: &Path, file: &Versions, (name, exchange): (&str, &str)) -> Result<()> {
    let shown = path.display();
    if file.name != name {
        return Err(Error::vault(format!(
            "{shown}: sealed for credential '{}', config expects '{name}'",
            file.name
        )));
    }
    if file.exchange != exchange {
        return Err(Error::vault(format!(
            "{shown}: sealed for exchange '{}', config expects '{exchange}'",
            file.exchange
        )));
    }
    Ok(())
}

/// `created` at most [`CLOCK_SKEW`] ahead of `now`, and before `expires`.
fn check_dates(header: &VaultHeader, now: SystemTime) -> Result<()> {
    let shown = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    if header.created > now + CLOCK_SKEW {
        return Err(Error::vault(format!(
            "created {} is in the future (this host's clock says {}; at most {} s of clock skew \
             is allowed): a vault file is never sealed ahead of time; fix the clock or seal it \
             again",
            shown(header.created),
            shown(now),
            CLOCK_SKEW.as_secs()
        )));
    }
    if let Some(expires) = header.expires {
        if header.created >= expires {
            return Err(Error::vault(format!(
                "created {} is not before expires {}: keyward never seals such a file",
                shown(header.created),
                shown(expires)
            )));
        }
    }
    Ok(())
}

/// Resolves a `--recipient` argument: a recipient string, or a file whose first non-empty line
/// is one.
pub fn read_recipient(arg: &str) -> Result<Recipient> {
    let as_string = arg.parse::<Recipient>();
    if as_string.is_ok() || arg.starts_with("kwr1-") {
        return as_string;
    }
    let path = Path::new(arg);
    if !path.exists() {
        return Err(Error::usage(format!(
            "'{arg}' is neither a recipient (kwr1-...) nor an existing file"
        )));
    }
    let text = fs::read_to_string(path)
        .map_err(|e| Error::io(format_args!("cannot read recipient file {arg}"), e))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| Error::usage(format!("recipient file {arg} is empty")))?;
    line.parse::<Recipient>()
        .map_err(|e| e.context(format_args!("recipient file {arg}")))
}

fn read_vault_file(path: &Path) -> Result<Vec<u8>> {
    secure_file::read_bounded(path, VAULT_FILE, MAX_VAULT_FILE).map_err(|e| {
        if secure_file::is_not_found(&e) {
            Error::vault(format!(
                "{}: vault file not found; create it with `keyward seal`",
                path.display()
            ))
        } else {
            e
        }
    })
}

fn check_name(what: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_NAME {
        return Err(Error::usage(format!(
            "the {what} must be 1 to {MAX_NAME} bytes long"
        )));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::usage(format!(
            "the {what} '{}' contains whitespace or control characters",
            value.escape_debug()
        )));
    }
    Ok(())
}

/// RFC 3339, UTC, whole seconds: the exact string that goes into the file and the AAD.
fn format_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

fn parse_time(value: &str, field: &str) -> Result<SystemTime> {
    humantime::parse_rfc3339(value).map_err(|_| {
        Error::vault(format!(
            "field '{field}' is not an RFC 3339 UTC time (e.g. 2025-01-31T12:00:00Z)"
        ))
    })
}

#[cfg(test)]
mod tests;
