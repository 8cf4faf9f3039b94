//! Keyed tamper evidence: the genesis record and the signed checkpoints of the chain head.
//!
//! The hash chain alone proves nothing against someone who can write the file (they can edit a
//! record and recompute every hash after it). So keyward signs, with an ECDSA P-256 key that
//! lives on the token, (1) the first record of a log (the *genesis*, naming the key) and (2)
//! every so often the chain head (*checkpoint*: "record S has hash H"). Whoever verifies needs
//! only the public key. A checkpoint vouches for every record up to the one it names, because
//! that record's hash commits to the whole chain before it.
//!
//! What is signed is a short text, so any tool can check it (SHA-256, ECDSA P-256, `r || s`):
//!
//! ```text
//! keyward-audit-genesis v1 key=<fingerprint> started=<RFC 3339 time>
//! keyward-audit-checkpoint v1 seq=<S> head=<hash of record S>
//! ```
//!
//! The shipped form of a checkpoint (one syslog line) carries the same three values:
//! `keyward-audit-checkpoint seq=<S> head=<64 hex> sig=<128 hex> key=<fingerprint>`.

use std::fmt;
use std::path::Path;

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest, Sha256};

use super::record::is_hash_hex;
pub(crate) use super::record::{CHECKPOINT, GENESIS};
use crate::error::{Error, Result};

/// The word that starts a shipped checkpoint line.
const SHIPPED_TAG: &str = "keyward-audit-checkpoint";

/// Signs checkpoint messages with the private half of the checkpoint key (on the token).
/// Returns the fixed-size ECDSA P-256 signature `r || s` (64 bytes) over SHA-256 of `message`.
pub trait CheckpointSigner: Send + Sync {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// The public half of the checkpoint key: what `audit verify` needs, and what keyward checks
/// the token's key against at start.
#[derive(Clone)]
pub struct CheckpointKey {
    key: VerifyingKey,
    spki_der: Vec<u8>,
    fingerprint: String,
}

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointKey({})", self.fingerprint)
    }
}

impl CheckpointKey {
    /// From a DER SubjectPublicKeyInfo (as the token reports it).
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let key = VerifyingKey::from_public_key_der(der).map_err(|e| {
            Error::audit(format!(
                "the audit checkpoint key is not an ECDSA P-256 public key ({e})"
            ))
        })?;
        let fingerprint = hex::encode(&Sha256::digest(der)[..16]);
        Ok(CheckpointKey {
            key,
            spki_der: der.to_vec(),
            fingerprint,
        })
    }

    /// From a PEM file (`-----BEGIN PUBLIC KEY-----`, as `keyward keygen --audit-key` writes).
    pub fn from_pem_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::io(
                format!(
                    "cannot read the audit checkpoint public key {}",
                    path.display()
                ),
                e,
            )
        })?;
        let key = VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| {
            Error::audit(format!(
                "{} is not a PEM ECDSA P-256 public key ({e}); write it with `keyward keygen \
                 --audit-key --out FILE`",
                path.display()
            ))
        })?;
        let der = key
            .to_public_key_der()
            .map_err(|e| Error::audit(format!("the audit checkpoint key does not encode ({e})")))?;
        Self::from_spki_der(der.as_bytes())
    }

    /// The first 16 bytes of SHA-256 of the DER SubjectPublicKeyInfo, in hex.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Whether `sig_hex` (128 hex digits, `r || s`) is this key's signature over `message`.
    pub fn verifies(&self, message: &[u8], sig_hex: &str) -> bool {
        let Ok(bytes) = hex::decode(sig_hex) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.key.verify(message, &sig).is_ok()
    }
}

/// The genesis record's entry: the checkpoint key (fingerprint and DER), the time, and the
/// key's signature over both.
pub(super) fn genesis_entry(signer: &dyn CheckpointSigner, key: &CheckpointKey) -> Result<Vec<u8>> {
    use base64::Engine;
    let started = super::record::format_time(std::time::SystemTime::now())
        .ok_or_else(|| Error::audit("the system clock is outside 1970..9999"))?;
    let fp = key.fingerprint();
    let sig = signer
        .sign(genesis_message(fp, &started).as_bytes())
        .map_err(|e| e.context("signing the audit log's genesis record on the token"))?;
    let entry = serde_json::json!({
        "event": GENESIS,
        "key": fp,
        "public_key": base64::engine::general_purpose::STANDARD.encode(key.spki_der()),
        "started": started,
        "sig": hex::encode(sig),
    });
    serde_json::to_vec(&entry).map_err(|e| Error::audit(format!("genesis record: {e}")))
}

/// The text a genesis record's signature covers.
pub(crate) fn genesis_message(fingerprint: &str, started: &str) -> String {
    format!("keyward-audit-genesis v1 key={fingerprint} started={started}")
}

/// The text a checkpoint's signature covers.
pub(crate) fn checkpoint_message(seq: u64, head: &str) -> String {
    format!("keyward-audit-checkpoint v1 seq={seq} head={head}")
}

/// The syslog payload of one checkpoint.
pub(crate) fn shipped_line(seq: u64, head: &str, sig: &str, fingerprint: &str) -> String {
    format!("{SHIPPED_TAG} seq={seq} head={head} sig={sig} key={fingerprint}")
}

/// A checkpoint as shipped off the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipped {
    pub seq: u64,
    pub head: String,
    pub sig: String,
}

/// Parses the shipped checkpoints in `text`: every line whose message starts with
/// `keyward-audit-checkpoint seq=… head=… sig=…`, behind a syslog `<PRI>` and/or a `journalctl`
/// / syslog `… keyward[PID]: ` prefix. Other lines are skipped, also those that hold the tag
/// elsewhere: keyward's own log lines (in the same journal) may quote a bot's request path, and
/// a bot must not be able to make verification fail. A message that starts with the tag but has
/// malformed values is an error.
pub fn parse_shipped(text: &str) -> Result<Vec<Shipped>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(message) = message_of(line).strip_prefix(SHIPPED_TAG) else {
            continue;
        };
        let mut seq = None;
        let mut head = None;
        let mut sig = None;
        for word in message.split_whitespace() {
            if let Some(v) = word.strip_prefix("seq=") {
                seq = v.parse::<u64>().ok();
            } else if let Some(v) = word.strip_prefix("head=") {
                head = Some(v.to_owned()).filter(|h| is_hash_hex(h));
            } else if let Some(v) = word.strip_prefix("sig=") {
                sig = Some(v.to_owned())
                    .filter(|s| s.len() == 128 && s.bytes().all(|b| b.is_ascii_hexdigit()));
            }
        }
        match (seq, head, sig) {
            (Some(seq), Some(head), Some(sig)) => out.push(Shipped { seq, head, sig }),
            _ => {
                return Err(Error::audit(format!(
                    "shipped checkpoints, line {}: expected `{SHIPPED_TAG} seq=N head=<64 hex> \
                     sig=<128 hex>`",
                    i + 1
                )))
            }
        }
    }
    Ok(out)
}

/// A syslog or journal line's message: after a leading `<PRI>`, then after the first `]: `
/// (the end of `keyward[PID]: `) when there is one.
fn message_of(line: &str) -> &str {
    let line = match line.strip_prefix('<').and_then(|l| l.split_once('>')) {
        Some((pri, rest)) if !pri.is_empty() && pri.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => line,
    };
    match line.split_once("]: ") {
        Some((_, message)) => message,
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;

    fn pair() -> (SigningKey, CheckpointKey) {
        let sk = SigningKey::from_slice(&[9; 32]).unwrap();
        let der = sk.verifying_key().to_public_key_der().unwrap();
        (sk, CheckpointKey::from_spki_der(der.as_bytes()).unwrap())
    }

    #[test]
    fn a_signature_verifies_only_for_its_message() {
        let (sk, key) = pair();
        let msg = checkpoint_message(5, &"a".repeat(64));
        let sig: Signature = sk.sign(msg.as_bytes());
        let hex_sig = hex::encode(sig.to_bytes());
        assert!(key.verifies(msg.as_bytes(), &hex_sig));
        let other = checkpoint_message(6, &"a".repeat(64));
        assert!(!key.verifies(other.as_bytes(), &hex_sig));
        assert!(!key.verifies(msg.as_bytes(), "zz"));
    }

    #[test]
    fn shipped_lines_parse_behind_any_syslog_prefix() {
        let line = shipped_line(12, &"b".repeat(64), &"c".repeat(128), "f00d");
        let text = format!("Dec 03 12:00:00 host keyward[42]: {line}\nunrelated\n<37>{line}\n");
        let got = parse_shipped(&text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].seq, 12);
        let bad = "keyward-audit-checkpoint seq=x head=y";
        assert!(parse_shipped(bad).is_err());
        assert!(parse_shipped(&format!("<37>keyward[42]: {bad}")).is_err());
        let raw = format!("<37>keyward[42]: {line}");
        assert_eq!(parse_shipped(&raw).unwrap().len(), 1);
    }

    #[test]
    fn the_tag_inside_keywards_own_log_lines_is_no_checkpoint() {
        // A bot's path quoted in keyward's log, in the same journal as the checkpoints: skipped,
        // so no bot can make `audit verify --checkpoints` fail.
        let text = "Dec 03 12:00:00 host keyward[42]: 2026-12-03T12:00:00Z  INFO keyward: refused \
                    path=/keyward-audit-checkpoint seq=x\n\
                    Dec 03 12:00:01 host keyward[42]: 2026-12-03T12:00:01Z  INFO x]: \
                    keyward-audit-checkpoint seq=1\n";
        assert_eq!(parse_shipped(text).unwrap(), Vec::new());
    }
}
