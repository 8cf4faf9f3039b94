//! Where the token PIN comes from: a file readable by its owner only (or a systemd credential),
//! or an environment variable for tests and containers. Never argv, never the config file itself.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretBytes;
use crate::secure_file::{self, Purpose, Secrecy};

/// Where the token PIN comes from. Never argv, never the config file itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinSource {
    /// A file (or systemd credential) readable by the owner only.
    File(PathBuf),
    /// An environment variable (meant for tests and containers).
    Env(String),
}

/// A PIN or key file larger than this certainly holds more than the secret.
const MAX_SECRET_FILE: u64 = 1024;

impl PinSource {
    /// Reads the PIN. One trailing `\n` or `\r\n` is stripped; an empty PIN is refused.
    pub fn read(&self) -> Result<SecretBytes> {
        let raw = match self {
            PinSource::File(path) => read_secret_file(path, "PIN file")?,
            PinSource::Env(name) => read_pin_env(name)?,
        };
        let pin = SecretBytes::copy_from(strip_line_ending(raw.expose()));
        if pin.is_empty() {
            return Err(Error::token(format!("the PIN from {self} is empty")));
        }
        Ok(pin)
    }
}

impl std::fmt::Display for PinSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinSource::File(path) => write!(f, "PIN file {}", path.display()),
            PinSource::Env(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// Reads a small secret file (a PIN file, a management-key file) that only its owner may read or
/// write; `what` names it in messages ("PIN file"). See [`secure_file`] for the checks.
pub(super) fn read_secret_file(path: &std::path::Path, what: &str) -> Result<SecretBytes> {
    let purpose = Purpose {
        what,
        kind: ErrorKind::Token,
        secrecy: Secrecy::Secret,
    };
    secure_file::read_secret(path, purpose, MAX_SECRET_FILE)
}

fn read_pin_env(name: &str) -> Result<SecretBytes> {
    SecretBytes::from_env(name).ok_or_else(|| {
        Error::token(format!(
            "environment variable {name} (the token PIN) is not set"
        ))
    })
}

/// Strips exactly one trailing `\n` or `\r\n`.
pub(super) fn strip_line_ending(bytes: &[u8]) -> &[u8] {
    bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn pin_file(contents: &[u8], mode: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, path)
    }

    #[test]
    fn pin_file_strips_one_line_ending() {
        let (_d, path) = pin_file(b"1234\r\n", 0o600);
        assert_eq!(PinSource::File(path).read().unwrap().expose(), b"1234");
        let (_d, path) = pin_file(b"1234\n\n", 0o400);
        assert_eq!(PinSource::File(path).read().unwrap().expose(), b"1234\n");
        let (_d, path) = pin_file(b"12 34", 0o600);
        assert_eq!(PinSource::File(path).read().unwrap().expose(), b"12 34");
    }

    #[test]
    fn pin_file_readable_by_others_is_refused() {
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602] {
            let (_d, path) = pin_file(b"1234\n", mode);
            let err = PinSource::File(path.clone()).read().unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("chmod 600 {}", path.display())),
                "{msg}"
            );
            assert!(!msg.contains("1234"), "{msg}");
        }
    }

    /// The PIN file attacks of issue 10: each refused at once, naming the file and the fix.
    #[test]
    fn pin_file_via_symlink_fifo_or_another_owner_is_refused() {
        let (dir, real) = pin_file(b"1234\n", 0o600);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = PinSource::File(link).read().unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");

        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(PinSource::File(fifo).read().map(|_| ())));
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(2))
            .expect("reading a FIFO as the PIN file must not block");
        let err = got.unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");

        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&real, Some(65534), Some(65534)).unwrap();
            let err = PinSource::File(real).read().unwrap_err();
            assert!(err.to_string().contains("owned by uid 65534"), "{err}");
            assert!(!err.to_string().contains("1234"), "{err}");
        }
    }

    #[test]
    fn empty_pin_is_refused() {
        let (_d, path) = pin_file(b"\n", 0o600);
        let err = PinSource::File(path).read().unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn missing_pin_file_names_it() {
        let err = PinSource::File("/nonexistent/keyward-pin".into())
            .read()
            .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/keyward-pin"),
            "{err}"
        );
    }

    #[test]
    fn env_pin() {
        // Unique names: tests run in parallel threads of one process.
        std::env::set_var("KEYWARD_TEST_PIN_SET", "4321\n");
        let pin = PinSource::Env("KEYWARD_TEST_PIN_SET".into())
            .read()
            .unwrap();
        assert_eq!(pin.expose(), b"4321");
        let err = PinSource::Env("KEYWARD_TEST_PIN_UNSET".into())
            .read()
            .unwrap_err();
        assert!(err.to_string().contains("KEYWARD_TEST_PIN_UNSET"), "{err}");
    }
}
