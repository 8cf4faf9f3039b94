//! The audit log's exclusive advisory lock: one writer per file, across processes.

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::{Error, Result};

/// Takes an exclusive, non-blocking `flock` on `file` (held while it stays open); fails naming
/// the other keyward that holds it.
pub(super) fn lock_exclusive(file: &File, path: &Path) -> Result<()> {
    // SAFETY: flock on a file descriptor we own and keep open; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(Error::audit(format!(
            "audit log {} is locked by another process (is another keyward running with the \
             same audit path?)",
            path.display()
        )))
    } else {
        Err(Error::io(
            format!("cannot lock audit log {}", path.display()),
            err,
        ))
    }
}
