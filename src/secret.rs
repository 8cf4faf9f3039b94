//! Secret bytes: locked in RAM, wiped on drop, never printed.
//!
//! Every exchange secret, API key, PIN and derived key in keyward lives in a [`SecretBytes`]. The
//! buffer is allocated once at its final size (so it is never reallocated and copied), `mlock`ed so
//! it is not written to swap, and zeroized before it is freed. `Debug` prints `REDACTED`.

use std::fmt;
use zeroize::Zeroize;

pub struct SecretBytes {
    buf: Box<[u8]>,
    locked: bool,
}

impl SecretBytes {
    /// Takes ownership of `bytes` (the caller's vector is moved, not copied) and locks it.
    pub fn new(bytes: Vec<u8>) -> Self {
        let buf = bytes.into_boxed_slice();
        let locked = lock(&buf);
        SecretBytes { buf, locked }
    }

    /// Copies `bytes` into a new locked buffer. The caller remains responsible for its own copy.
    pub fn copy_from(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// A locked, zero-filled buffer of `len` bytes to be written in place.
    pub fn zeroed(len: usize) -> Self {
        Self::new(vec![0u8; len])
    }

    pub fn expose(&self) -> &[u8] {
        &self.buf
    }

    pub fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The bytes as UTF-8, or `None` if they are not.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.buf).ok()
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether `mlock` succeeded (it can fail under a low `RLIMIT_MEMLOCK`; the bytes are still
    /// zeroized on drop).
    pub fn is_locked(&self) -> bool {
        self.locked
    }
}

impl Clone for SecretBytes {
    fn clone(&self) -> Self {
        Self::copy_from(&self.buf)
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.buf.zeroize();
        if self.locked {
            unlock(&self.buf);
        }
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(REDACTED)")
    }
}

fn lock(buf: &[u8]) -> bool {
    if buf.is_empty() {
        return false;
    }
    // SAFETY: the range is a live allocation owned by the caller for the duration of the call.
    unsafe { libc::mlock(buf.as_ptr().cast(), buf.len()) == 0 }
}

fn unlock(buf: &[u8]) {
    // SAFETY: as in `lock`; unlocking a range we locked.
    unsafe {
        libc::munlock(buf.as_ptr().cast(), buf.len());
    }
}

/// Process-wide hardening done once at start-up, before any secret is read: no core dumps
/// (`RLIMIT_CORE = 0`) and not dumpable/ptrace-attachable by other same-user processes.
pub fn harden_process() {
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_bytes() {
        let s = SecretBytes::copy_from(b"hunter2-very-secret");
        let shown = format!("{s:?}");
        assert_eq!(shown, "SecretBytes(REDACTED)");
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn holds_bytes_and_locks() {
        let s = SecretBytes::copy_from(b"abc");
        assert_eq!(s.expose(), b"abc");
        assert_eq!(s.expose_str(), Some("abc"));
        // mlock of a few bytes fits in any default RLIMIT_MEMLOCK (64 KiB or more).
        assert!(s.is_locked());
    }
}
