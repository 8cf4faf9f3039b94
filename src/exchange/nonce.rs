//! Strictly increasing nonces, per credential, across concurrent requests and restarts.
//!
//! A nonce is the current time in microseconds, bumped past the last one issued. For exchanges
//! that require it (Kraken), the high-water mark is persisted in a small state file: keyward
//! reserves a window ahead (one minute of microseconds) and writes the window's end before
//! issuing any nonce inside it, so after a restart every new nonce is above every old one, even
//! if the clock went backwards. One file write per window, not per request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::error::{Error, ErrorKind, Result};
use crate::secure_file::{self, Purpose, Secrecy};

const WINDOW_US: u64 = 60_000_000;

/// The state file is not secret, but one someone else can write could lower the nonce.
const STATE_FILE: Purpose<'static> = Purpose {
    what: "nonce state file",
    kind: ErrorKind::Config,
    secrecy: Secrecy::Integrity,
};

#[derive(Debug)]
pub struct Nonce {
    /// Shared by [`Nonce::shared`] copies: one sequence per credential, whichever key version
    /// signs (a reload that brings a new version keeps its credential's nonces increasing).
    state: Arc<Mutex<State>>,
    file: Option<PathBuf>,
}

#[derive(Debug)]
struct State {
    last: u64,
    /// Nonces up to this value may be issued without writing the file.
    reserved: u64,
}

fn micros(now: SystemTime) -> u64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

impl Nonce {
    /// Nonces kept in memory only (increasing within this process).
    pub fn in_memory() -> Nonce {
        Nonce {
            state: Arc::new(Mutex::new(State {
                last: 0,
                reserved: u64::MAX,
            })),
            file: None,
        }
    }

    /// Nonces persisted in `file` (created if missing).
    pub fn persistent(file: &Path) -> Result<Nonce> {
        let last = match secure_file::read_bounded(file, STATE_FILE, 64) {
            Ok(bytes) => std::str::from_utf8(&bytes).ok().and_then(|t| t.trim().parse::<u64>().ok()).ok_or_else(|| {
                Error::config(format!(
                    "nonce state file {} is corrupt; delete it only if the exchange's key has never been used with a larger nonce",
                    file.display()
                ))
            })?,
            Err(e) if secure_file::is_not_found(&e) => 0,
            Err(e) => return Err(e),
        };
        Ok(Nonce {
            state: Arc::new(Mutex::new(State {
                last,
                reserved: last,
            })),
            file: Some(file.to_owned()),
        })
    }

    /// Another handle on the same sequence (and state file).
    pub fn shared(&self) -> Nonce {
        Nonce {
            state: self.state.clone(),
            file: self.file.clone(),
        }
    }

    /// The next nonce: `max(now_us, last + 1)`. Fails only if the state file cannot be written.
    pub fn next(&self, now: SystemTime) -> Result<u64> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let n = micros(now).max(st.last + 1);
        if n > st.reserved {
            let reserved = n + WINDOW_US;
            if let Some(file) = &self.file {
                write_state(file, reserved)?;
            }
            st.reserved = reserved;
        }
        st.last = n;
        Ok(n)
    }
}

fn write_state(file: &Path, value: u64) -> Result<()> {
    secure_file::replace(file, format!("{value}\n").as_bytes(), "nonce state")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn increases_even_when_the_clock_stalls() {
        let n = Nonce::in_memory();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let a = n.next(t).unwrap();
        let b = n.next(t).unwrap();
        let c = n.next(t - Duration::from_secs(5)).unwrap();
        assert!(a < b && b < c);
    }

    #[test]
    fn survives_restart_with_clock_going_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kraken.nonce");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let first = Nonce::persistent(&file).unwrap();
        let mut last = 0;
        for _ in 0..1000 {
            last = first.next(t).unwrap();
        }
        drop(first);
        let second = Nonce::persistent(&file).unwrap();
        let after = second.next(t - Duration::from_secs(3600)).unwrap();
        assert!(after > last, "{after} <= {last}");
    }

    #[test]
    fn a_symlink_planted_at_the_temp_path_does_not_truncate_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious\n").unwrap();
        let file = dir.path().join("kraken.kwv.nonce");
        // The old code wrote `kraken.kwv.tmp` with O_TRUNC, following a link planted there.
        std::os::unix::fs::symlink(&victim, file.with_extension("tmp")).unwrap();
        let tmp = dir
            .path()
            .join(format!(".kraken.kwv.nonce.tmp.{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        let n = Nonce::persistent(&file).unwrap();
        let err = n.next(SystemTime::now()).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n");
        std::fs::remove_file(&tmp).unwrap();
        n.next(SystemTime::now()).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n");
        assert!(!std::fs::symlink_metadata(&file).unwrap().is_symlink());
    }

    #[test]
    fn a_symlinked_state_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, b"5\n").unwrap();
        let file = dir.path().join("kraken.kwv.nonce");
        std::os::unix::fs::symlink(&real, &file).unwrap();
        let err = Nonce::persistent(&file).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn concurrent_nonces_are_unique() {
        let n = std::sync::Arc::new(Nonce::in_memory());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let n = n.clone();
                std::thread::spawn(move || {
                    (0..500)
                        .map(|_| n.next(SystemTime::now()).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let len = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), len);
    }
}
