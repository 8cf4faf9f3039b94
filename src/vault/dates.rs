//! A vault's dates without its secrets: the newest version's number, `created` and `expires`,
//! read from the pinned file with no token and nothing unsealed (what `keyward audit report
//! --config` shows per credential).

use std::path::Path;

use super::versioned::{self, Versions};
use super::{check_names, check_pin, parse_time, read_vault_file, VaultDigest, VaultHeader};
use crate::error::Result;

/// The header [`super::open`] would return for the pinned file at `path`, before any
/// unsealing: the file must have the pinned digest and name the credential and exchange.
pub fn read_header(
    path: &Path,
    expected: (&str, &str),
    pinned: &VaultDigest,
) -> Result<VaultHeader> {
    let shown = path.display();
    let bytes = read_vault_file(path)?;
    check_pin(path, &bytes, pinned)?;
    let file = versioned::parse(&bytes).map_err(|e| e.context(&shown))?;
    check_names(path, &file, expected)?;
    header_of(path, &file)
}

/// The header of `file`'s newest version (read from `path`).
pub(super) fn header_of(path: &Path, file: &Versions) -> Result<VaultHeader> {
    let shown = path.display();
    let newest = file.newest();
    Ok(VaultHeader {
        name: file.name.clone(),
        exchange: file.exchange.clone(),
        created: parse_time(&newest.created, "created").map_err(|e| e.context(&shown))?,
        expires: newest
            .expires
            .as_deref()
            .map(|t| parse_time(t, "expires"))
            .transpose()
            .map_err(|e| e.context(&shown))?,
        recipient_fingerprint: newest.fingerprint.clone(),
        version: newest.version,
        versions: file.entries.len() as u32,
    })
}
