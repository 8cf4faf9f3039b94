//! Opening the files keyward trusts: the PIN and management-key files, vault files, the nonce
//! state. One place decides how, so a planted symlink, a FIFO or a file someone else controls is
//! refused the same way everywhere.
//!
//! * Opened with `O_NOFOLLOW` (a symlink as the last component is refused, not followed),
//!   `O_NONBLOCK` (a FIFO or device never blocks start-up: it is refused by the `fstat` check
//!   right after opening) and `O_CLOEXEC`.
//! * Checked with `fstat` on the open descriptor, so the file read is the file checked: a regular
//!   file, owned by keyward's effective user or by root, and with no group or other permission
//!   bits for a [`Secrecy::Secret`] file (a PIN), or no group or other *write* bit for a
//!   [`Secrecy::Integrity`] file (a vault, whose contents are sealed but whose replacement would
//!   change what keyward serves). A secret file's group bits may be the mask of a POSIX ACL that
//!   grants only keyward's user (how systemd hands over `LoadCredential=` files): see [`acl`].
//! * Files keyward writes are created beside their target with `create_new` (`O_EXCL`, which
//!   never follows a symlink) and mode 0600, synced, then renamed over the target.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretBytes;

mod acl;

/// What the permission check demands of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrecy {
    /// A secret (PIN, management key): no group or other bits at all (`chmod 600`).
    Secret,
    /// Not secret, but trusted (vault, nonce state): no group or other write bit.
    Integrity,
}

/// How a refused file is reported: what it is ("PIN file") and the error kind.
#[derive(Clone, Copy, Debug)]
pub struct Purpose<'a> {
    pub what: &'a str,
    pub kind: ErrorKind,
    pub secrecy: Secrecy,
}

impl Purpose<'_> {
    fn refuse(&self, path: &Path, why: impl std::fmt::Display) -> Error {
        Error::new(
            self.kind,
            format!("{} {}: {why}", self.what, path.display()),
        )
    }
}

/// Opens `path` for reading under the rules in the module docs. `NotFound` is passed through as
/// an `Io` error whose source is the `io::Error`, so callers can tell a missing file.
pub fn open(path: &Path, purpose: Purpose<'_>) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                purpose
                    .refuse(
                        path,
                        "is a symbolic link; keyward opens it only directly (point the \
                         configuration at the real file)",
                    )
                    .with_source(e)
            } else {
                Error::io(
                    format_args!("cannot open {} {}", purpose.what, path.display()),
                    e,
                )
            }
        })?;
    check(&file, path, purpose)?;
    Ok(file)
}

/// The `fstat` checks on an open file.
fn check(file: &File, path: &Path, purpose: Purpose<'_>) -> Result<()> {
    let meta = file.metadata().map_err(|e| {
        Error::io(
            format_args!("cannot stat {} {}", purpose.what, path.display()),
            e,
        )
    })?;
    if !meta.file_type().is_file() {
        return Err(purpose.refuse(
            path,
            "is not a regular file (a FIFO, device, socket or directory is never read)",
        ));
    }
    let me = effective_uid();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(purpose.refuse(
            path,
            format_args!(
                "is owned by uid {}, not by keyward's user (uid {me}) or root; run `chown {me} {}`",
                meta.uid(),
                path.display()
            ),
        ));
    }
    let mode = meta.mode() & 0o777;
    let (mut bad, fix) = match purpose.secrecy {
        Secrecy::Secret => (mode & 0o077, "chmod 600"),
        Secrecy::Integrity => (mode & 0o022, "chmod go-w"),
    };
    // Group bits that are an ACL's mask (a systemd credential) are fine when the ACL grants
    // nothing to anyone but keyward's user.
    if purpose.secrecy == Secrecy::Secret
        && mode & 0o007 == 0
        && bad != 0
        && acl::grants_only(file, me)
    {
        bad = 0;
    }
    if bad != 0 {
        let who = match purpose.secrecy {
            Secrecy::Secret => "readable or writable by group or others",
            Secrecy::Integrity => "writable by group or others",
        };
        return Err(purpose.refuse(
            path,
            format_args!("is {who} (mode {mode:03o}); run `{fix} {}`", path.display()),
        ));
    }
    Ok(())
}

/// Reads the whole of `path` (opened as [`open`] does), refusing a file larger than `max` bytes.
pub fn read_bounded(path: &Path, purpose: Purpose<'_>, max: u64) -> Result<Vec<u8>> {
    let file = open(path, purpose)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(|e| {
        Error::io(
            format_args!("cannot read {} {}", purpose.what, path.display()),
            e,
        )
    })?;
    if bytes.len() as u64 > max {
        return Err(purpose.refuse(
            path,
            format_args!("is larger than {max} bytes; it is not one of keyward's files"),
        ));
    }
    Ok(bytes)
}

/// Reads a small secret file (opened as [`open`] does) straight into locked, zeroized memory,
/// refusing one larger than `max` bytes.
pub fn read_secret(path: &Path, purpose: Purpose<'_>, max: u64) -> Result<SecretBytes> {
    let mut file = open(path, purpose)?;
    let io = |e| {
        Error::io(
            format_args!("cannot read {} {}", purpose.what, path.display()),
            e,
        )
    };
    let len = file.metadata().map_err(io)?.len();
    if len > max {
        return Err(purpose.refuse(
            path,
            format_args!("is {len} bytes; it should hold only the secret (at most {max})"),
        ));
    }
    let mut buf = SecretBytes::zeroed(len as usize);
    file.read_exact(buf.expose_mut()).map_err(io)?;
    Ok(buf)
}

/// Whether an error from [`open`] or [`read_bounded`] says the file does not exist.
pub fn is_not_found(e: &Error) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
}

/// Replaces `path` with `bytes` atomically: a new file (mode 0600, `create_new` so nothing
/// planted at the temporary name is followed or truncated) beside it, synced, renamed over
/// `path`, and the rename made durable. `what` names the file in errors.
pub fn replace(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    let shown = path.display();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = temp_path(path)?;
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let exists = e.kind() == std::io::ErrorKind::AlreadyExists;
        // Only remove what we created: an AlreadyExists file was planted by someone else.
        if !exists {
            let _ = fs::remove_file(&tmp);
        }
        let mut err = Error::io(format_args!("cannot write {what} {shown}"), e);
        if exists {
            err = err.context(format_args!(
                "{} already exists (left by a crash, or planted); remove it",
                tmp.display()
            ));
        }
        err
    })
}

/// `.<name>.tmp.<pid>` beside `path`.
fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::usage(format!("path {} does not name a file", path.display())))?;
    Ok(path.with_file_name(format!(
        ".{}.tmp.{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    const PIN: Purpose<'static> = Purpose {
        what: "PIN file",
        kind: ErrorKind::Token,
        secrecy: Secrecy::Secret,
    };
    const VAULT: Purpose<'static> = Purpose {
        what: "vault file",
        kind: ErrorKind::Vault,
        secrecy: Secrecy::Integrity,
    };

    fn file(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, b"1234\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_private_regular_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "pin", 0o600);
        assert_eq!(read_bounded(&path, PIN, 100).unwrap(), b"1234\n");
        let path = file(dir.path(), "vault", 0o644);
        assert_eq!(read_bounded(&path, VAULT, 100).unwrap(), b"1234\n");
    }

    #[test]
    fn a_symlink_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = file(dir.path(), "real", 0o600);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = open(&link, PIN).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Token);
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pin");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let started = Instant::now();
        let err = open(&fifo, PIN).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn group_or_other_bits_are_refused_by_secrecy() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o640, 0o604, 0o620, 0o602, 0o610] {
            let path = file(dir.path(), &format!("pin{mode:o}"), mode);
            let err = open(&path, PIN).unwrap_err();
            assert!(err.to_string().contains("chmod 600"), "{mode:o}: {err}");
        }
        for mode in [0o664, 0o646] {
            let path = file(dir.path(), &format!("vault{mode:o}"), mode);
            let err = open(&path, VAULT).unwrap_err();
            assert!(err.to_string().contains("chmod go-w"), "{mode:o}: {err}");
        }
    }

    #[test]
    fn another_users_file_is_refused() {
        if effective_uid() != 0 {
            return; // only root can give a file away; the integration test covers non-root runs
        }
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "pin", 0o600);
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        let err = open(&path, PIN).unwrap_err();
        assert!(err.to_string().contains("owned by uid 65534"), "{err}");
    }

    #[test]
    fn replace_does_not_follow_a_planted_temp_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = file(dir.path(), "victim", 0o600);
        let target = dir.path().join("state");
        let planted = temp_path(&target).unwrap();
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let err = replace(&target, b"42\n", "nonce state").unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(fs::read(&victim).unwrap(), b"1234\n");
        assert!(fs::symlink_metadata(&planted).unwrap().is_symlink());
        fs::remove_file(&planted).unwrap();
        replace(&target, b"42\n", "nonce state").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"42\n");
    }

    #[test]
    fn too_big_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "pin", 0o600);
        let err = read_bounded(&path, PIN, 3).unwrap_err();
        assert!(err.to_string().contains("larger than 3 bytes"), "{err}");
    }
}
