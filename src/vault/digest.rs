//! The digest that pins which vault file is current (`vault_sha256` in the configuration).

use std::path::Path;

use crate::error::Result;

/// The SHA-256 of a vault file's exact bytes: what `vault_sha256` in the configuration pins.
/// Only the file with this digest is current, so a file sealed by someone else (the recipient
/// is public) or an older version put back is refused by construction.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VaultDigest([u8; 32]);

impl VaultDigest {
    pub fn of(bytes: &[u8]) -> VaultDigest {
        use sha2::Digest;
        VaultDigest(sha2::Sha256::digest(bytes).into())
    }

    /// The digest of the file at `path` (read as keyward reads vault files).
    pub fn of_file(path: &Path) -> Result<VaultDigest> {
        Ok(VaultDigest::of(&super::read_vault_file(path)?))
    }

    /// The line to put in the credential's `[[credential]]` entry.
    pub fn config_line(&self) -> String {
        format!("vault_sha256 = \"{self}\"")
    }
}

impl std::str::FromStr for VaultDigest {
    type Err = ();
    /// 64 hex digits (either case).
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        let mut out = [0u8; 32];
        if s.len() != 64 {
            return Err(());
        }
        hex::decode_to_slice(s, &mut out).map_err(|_| ())?;
        Ok(VaultDigest(out))
    }
}

impl std::fmt::Display for VaultDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for VaultDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultDigest({self})")
    }
}
