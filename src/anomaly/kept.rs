//! The kill switch's state file (`<audit log>.state`, beside the audit log): which clients and
//! credentials are disabled (by whom, when, why) and the source addresses learned per client.
//! Loaded at start-up, so a disabled state survives a restart until an operator enables it;
//! replaced atomically (mode 0600) on every change. A file keyward cannot read is never taken
//! as "nothing disabled": start-up refuses and says how to reset it (fail closed).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Cause, Target};
use crate::error::{Error, ErrorKind, Result};
use crate::secure_file::{self, Purpose, Secrecy};

/// What the file's name adds to the audit log's.
pub const SUFFIX: &str = ".state";
/// The format written (and the only one read).
const VERSION: u32 = 1;
/// Bounds what start-up reads; a real file is a few kilobytes.
const MAX_BYTES: u64 = 4 << 20;
/// Learned source addresses kept per client (so a client behind changing addresses cannot grow
/// the file without bound): beyond it, a `"log"` client's new addresses are neither learned nor
/// reported, and a `"disable"` client's still fire.
pub const MAX_SOURCES: usize = 256;

/// Not secret, but one someone else can write could enable a disabled client.
const STATE_FILE: Purpose<'static> = Purpose {
    what: "state file",
    kind: ErrorKind::Config,
    secrecy: Secrecy::Integrity,
};

/// `<audit log>.state`, e.g. `audit.jsonl.state` (named after the log, so that two keywards
/// whose logs share a folder keep their own states).
pub fn path_beside(audit_log: &Path) -> PathBuf {
    let mut name = audit_log.as_os_str().to_owned();
    name.push(SUFFIX);
    PathBuf::from(name)
}

/// One disabled client or credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disabled {
    pub target: Target,
    pub name: String,
    pub by: Cause,
    /// RFC 3339 UTC.
    pub at: String,
    pub reason: String,
    /// The address that fired `on_new_source` (learned when an operator enables the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<IpAddr>,
}

/// The whole file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kept {
    version: u32,
    #[serde(default)]
    pub disabled: Vec<Disabled>,
    /// Source addresses seen per client name.
    #[serde(default)]
    pub sources: BTreeMap<String, BTreeSet<IpAddr>>,
}

impl Default for Kept {
    fn default() -> Self {
        Kept {
            version: VERSION,
            disabled: Vec::new(),
            sources: BTreeMap::new(),
        }
    }
}

impl Kept {
    /// Reads `path`; a missing file is an empty state (nothing disabled, nothing learned).
    pub fn load(path: &Path) -> Result<Kept> {
        let bytes = match secure_file::read_bounded(path, STATE_FILE, MAX_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if secure_file::is_not_found(&e) => return Ok(Kept::default()),
            Err(e) => return Err(e),
        };
        let shown = path.display();
        let reset = format!(
            "keyward will not start without knowing which clients are disabled; repair the file, \
             or reset it with `mv {shown} {shown}.bad` (every client and credential then starts \
             enabled and source addresses are learned afresh: check the audit log's `anomaly` and \
             `admin` records first)"
        );
        let kept: Kept = serde_json::from_slice(&bytes).map_err(|e| {
            Error::config(format!("state file {shown} is not valid ({e}); {reset}"))
        })?;
        if kept.version != VERSION {
            return Err(Error::config(format!(
                "state file {shown} has version {}, this keyward reads version {VERSION}; {reset}",
                kept.version
            )));
        }
        Ok(kept)
    }

    /// Replaces `path` with this state, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::config(format!("cannot serialise the state file ({e})")))?;
        text.push(b'\n');
        secure_file::replace(path, &text, "state file")
    }

    /// The entry that disables `name`, if any.
    pub fn disabled(&self, target: Target, name: &str) -> Option<&Disabled> {
        self.disabled
            .iter()
            .find(|d| d.target == target && d.name == name)
    }

    /// Records `entry` unless its target is already disabled; returns whether it was added.
    pub fn disable(&mut self, entry: Disabled) -> bool {
        if self.disabled(entry.target, &entry.name).is_some() {
            return false;
        }
        self.disabled.push(entry);
        true
    }

    /// Removes and returns the entry that disables `name`.
    pub fn enable(&mut self, target: Target, name: &str) -> Option<Disabled> {
        let i = self
            .disabled
            .iter()
            .position(|d| d.target == target && d.name == name)?;
        Some(self.disabled.remove(i))
    }

    /// Learns `source` for `client`; returns whether the set changed (false when known or full).
    pub fn learn(&mut self, client: &str, source: IpAddr) -> bool {
        let set = self.sources.entry(client.to_owned()).or_default();
        set.len() < MAX_SOURCES && set.insert(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn entry(name: &str, by: Cause) -> Disabled {
        Disabled {
            target: Target::Client,
            name: name.into(),
            by,
            at: "2026-12-04T20:00:00Z".into(),
            reason: "hard deny".into(),
            source: None,
        }
    }

    #[test]
    fn a_state_survives_a_save_and_load_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("audit.jsonl"));
        assert_eq!(path, dir.path().join("audit.jsonl.state"));
        assert_eq!(Kept::load(&path).unwrap(), Kept::default());
        let mut kept = Kept::default();
        assert!(kept.disable(entry("bot", Cause::OnHardDeny)));
        assert!(!kept.disable(entry("bot", Cause::Operator)));
        assert!(kept.learn("bot", "127.0.0.1".parse().unwrap()));
        assert!(!kept.learn("bot", "127.0.0.1".parse().unwrap()));
        kept.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = Kept::load(&path).unwrap();
        assert_eq!(back, kept);
        assert_eq!(
            back.disabled(Target::Client, "bot").unwrap().by,
            Cause::OnHardDeny
        );
        assert!(back.disabled(Target::Credential, "bot").is_none());
        let mut back = back;
        assert_eq!(back.enable(Target::Client, "bot").unwrap().name, "bot");
        assert!(back.enable(Target::Client, "bot").is_none());
    }

    #[test]
    fn a_corrupt_or_foreign_state_file_refuses_and_says_how_to_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl.state");
        for text in [
            "{not json",
            r#"{"version":2}"#,
            r#"{"version":1,"surprise":true}"#,
            "",
        ] {
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let e = Kept::load(&path).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{text}");
            assert!(e.to_string().contains(".bad`"), "{text}: {e}");
        }
        std::fs::write(&path, r#"{"version":1}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = Kept::load(&path).unwrap_err();
        assert!(e.to_string().contains("chmod go-w"), "{e}");
    }

    #[test]
    fn the_learned_set_is_bounded() {
        let mut kept = Kept::default();
        for i in 0..MAX_SOURCES as u32 + 10 {
            kept.learn("bot", IpAddr::from(i.to_be_bytes()));
        }
        assert_eq!(kept.sources["bot"].len(), MAX_SOURCES);
    }
}
