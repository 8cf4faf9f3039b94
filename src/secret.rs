//! Secret bytes: locked in RAM, wiped on drop, never printed.
//!
//! Every exchange secret, API key, PIN and derived key in keyward lives in a [`SecretBytes`]. The
//! buffer is allocated once at its final size in the locked arena ([`arena`]: pages of its own,
//! `mlock`ed, excluded from core dumps and from forked children) so it is never reallocated and
//! copied, and it is zeroized before its granules are reused. `Debug` prints `REDACTED`.

mod arena;
mod panic;

pub use panic::redact_panics;

use std::fmt;
use std::ptr::NonNull;
use zeroize::Zeroize;

pub use arena::{unlocked_warning, LockReport};

pub struct SecretBytes {
    ptr: NonNull<u8>,
    len: usize,
    locked: bool,
}

// SAFETY: a `SecretBytes` owns its slot exclusively, like a `Box<[u8]>`.
unsafe impl Send for SecretBytes {}
// SAFETY: shared access only reads.
unsafe impl Sync for SecretBytes {}

impl SecretBytes {
    /// Moves `bytes` into locked memory and wipes the vector's whole capacity.
    pub fn new(mut bytes: Vec<u8>) -> Self {
        let s = Self::copy_from(&bytes);
        bytes.zeroize();
        s
    }

    /// The value of environment variable `name`, moved into locked memory (the process's
    /// copy in its environment block stays: prefer files for secrets).
    pub fn from_env(name: &str) -> Option<Self> {
        let value = std::env::var_os(name)?;
        Some(Self::new(std::os::unix::ffi::OsStringExt::into_vec(value)))
    }

    /// Copies `bytes` into a new locked buffer. The caller remains responsible for its own copy.
    pub fn copy_from(bytes: &[u8]) -> Self {
        let mut s = Self::zeroed(bytes.len());
        s.expose_mut().copy_from_slice(bytes);
        s
    }

    /// A locked, zero-filled buffer of `len` bytes to be written in place.
    pub fn zeroed(len: usize) -> Self {
        if len == 0 {
            return SecretBytes {
                ptr: NonNull::dangling(),
                len: 0,
                locked: false,
            };
        }
        let slot = arena::global().alloc(len);
        SecretBytes {
            ptr: NonNull::new(slot.ptr).expect("mmap returns a non-null address"),
            len,
            locked: slot.locked,
        }
    }

    pub fn expose(&self) -> &[u8] {
        // SAFETY: `len` bytes at `ptr` belong to this value (or `len` is 0 and `ptr` dangling).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn expose_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `expose`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes as UTF-8, or `None` if they are not.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(self.expose()).ok()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the pages holding the bytes are locked (`mlock` can fail under a low
    /// `RLIMIT_MEMLOCK`; the bytes are still zeroized on drop). An empty value holds nothing.
    pub fn is_locked(&self) -> bool {
        self.locked
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        self.expose()
    }
}

impl Clone for SecretBytes {
    fn clone(&self) -> Self {
        Self::copy_from(self.expose())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: the slot the arena gave this value, not used after this.
            unsafe { arena::global().free(self.ptr.as_ptr(), self.len) };
        }
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(REDACTED)")
    }
}

/// How much secret memory is locked now, and whether any `mlock` failed so far.
pub fn lock_report() -> LockReport {
    arena::global().report()
}

/// Locks a first arena page (before any secret is read) and tells whether locking works: `Err`
/// with what to do if it does not.
pub fn probe_locking() -> std::result::Result<(), String> {
    let probe = SecretBytes::zeroed(1);
    let report = lock_report();
    if probe.is_locked() && report.failures == 0 {
        Ok(())
    } else {
        Err(unlocked_warning(&format!(
            "{} of {} bytes of secret memory unlocked",
            report.unlocked_bytes,
            report.unlocked_bytes + report.locked_bytes
        )))
    }
}

/// Process-wide hardening done once at start-up, before any secret is read: no core dumps
/// (`RLIMIT_CORE = 0`, soft and hard) and not dumpable (no core, no ptrace attach or
/// `/proc/<pid>/mem` by other same-user processes). Returns what the kernel reports afterwards.
pub fn harden_process() -> Hardening {
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let mut core = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        let core_off = libc::getrlimit(libc::RLIMIT_CORE, &mut core) == 0
            && core.rlim_cur == 0
            && core.rlim_max == 0;
        Hardening {
            core_off,
            dumpable: libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) != 0,
        }
    }
}

/// What [`harden_process`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hardening {
    /// `RLIMIT_CORE` is 0, soft and hard.
    pub core_off: bool,
    /// The kernel still calls the process dumpable.
    pub dumpable: bool,
}

impl Hardening {
    /// Logs the outcome: what is off, or what could not be turned off.
    pub fn log(self) {
        if self.core_off && !self.dumpable {
            tracing::debug!("process hardened: core dumps off (RLIMIT_CORE 0/0), not dumpable");
        } else {
            tracing::warn!(
                core_off = self.core_off,
                dumpable = self.dumpable,
                "process hardening incomplete: a core dump or ptrace could expose secrets"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_env_takes_the_variables_bytes_and_none_when_unset() {
        let name = "KEYWARD_SECRET_FROM_ENV_TEST";
        assert!(SecretBytes::from_env(name).is_none());
        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var(name, "env-secret-\u{e9}") };
        let got = SecretBytes::from_env(name).unwrap();
        assert_eq!(got.expose(), "env-secret-\u{e9}".as_bytes());
        unsafe { std::env::remove_var(name) };
    }

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

    /// The `Locked:` size (kB) of the mapping holding `addr`, from /proc/self/smaps.
    fn locked_kib_at(addr: usize) -> Option<u64> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((lo, hi)) = first.split_once('-') {
                if let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                {
                    inside = lo <= addr && addr < hi;
                    continue;
                }
            }
            if inside {
                if let Some(v) = line.strip_prefix("Locked:") {
                    return v.trim().trim_end_matches("kB").trim().parse().ok();
                }
            }
        }
        None
    }

    #[test]
    fn dropping_one_secret_leaves_its_page_neighbour_locked() {
        let mut arena = arena::Arena::new();
        let a = arena.alloc(40);
        let b = arena.alloc(100);
        let page = arena::page_size();
        assert_eq!(a.ptr as usize / page, b.ptr as usize / page, "same page");
        assert!(a.locked && b.locked);
        // SAFETY: b's slot, 100 bytes.
        unsafe { std::ptr::write_bytes(b.ptr, 0x5a, 100) };
        // SAFETY: a's slot, 40 bytes.
        unsafe { std::ptr::write_bytes(a.ptr, 0xa5, 40) };
        assert!(locked_kib_at(b.ptr as usize).unwrap() >= 4);
        // SAFETY: a's slot, not used any more.
        unsafe { arena.free(a.ptr, 40) };
        assert!(
            locked_kib_at(b.ptr as usize).unwrap() >= 4,
            "b's page was unlocked by a's drop"
        );
        // a's granule was wiped and is handed out again, zero-filled; b is intact.
        let c = arena.alloc(40);
        assert_eq!(c.ptr, a.ptr);
        // SAFETY: c's and b's live slots.
        unsafe {
            assert!(std::slice::from_raw_parts(c.ptr, 40)
                .iter()
                .all(|&x| x == 0));
            assert!(std::slice::from_raw_parts(b.ptr, 100)
                .iter()
                .all(|&x| x == 0x5a));
            arena.free(c.ptr, 40);
            arena.free(b.ptr, 100);
        }
        assert_eq!(
            arena.report().locked_bytes,
            page,
            "one empty chunk stays mapped and locked as the spare"
        );
        // A second empty chunk is not kept: only one spare.
        let full = arena.alloc(page);
        let other = arena.alloc(40);
        assert_ne!(other.ptr as usize / page, full.ptr as usize / page);
        assert_eq!(arena.report().locked_bytes, 2 * page);
        // SAFETY: live slots of this arena, not used any more.
        unsafe {
            arena.free(other.ptr, 40);
            arena.free(full.ptr, page);
        }
        assert_eq!(
            arena.report().locked_bytes,
            page,
            "a second empty chunk is unmapped"
        );
    }

    #[test]
    fn a_large_secret_gets_pages_of_its_own() {
        let page = arena::page_size();
        let big = SecretBytes::copy_from(&vec![7u8; page + 1]);
        let small = SecretBytes::copy_from(b"k");
        assert!(big.is_locked() && small.is_locked());
        assert_eq!(big.expose().len(), page + 1);
        assert!(big.expose().iter().all(|&x| x == 7));
        assert!(locked_kib_at(big.expose().as_ptr() as usize + page).unwrap() >= 8);
        assert!(SecretBytes::zeroed(0).expose().is_empty());
    }

    /// Runs in a child with RLIMIT_MEMLOCK 0 and without CAP_IPC_LOCK (see below).
    #[test]
    fn child_without_lockable_memory() {
        if std::env::var_os("KEYWARD_TEST_NO_MLOCK").is_none() {
            return;
        }
        let s = SecretBytes::copy_from(b"secret");
        assert!(!s.is_locked());
        assert_eq!(s.expose(), b"secret");
        let err = probe_locking().unwrap_err();
        assert!(
            err.contains("RLIMIT_MEMLOCK") && err.contains("require_locked_memory"),
            "{err}"
        );
        assert!(lock_report().failures > 0);
        println!("CHILD-OK");
    }

    #[test]
    fn a_failed_mlock_is_reported() {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "secret::tests::child_without_lockable_memory",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KEYWARD_TEST_NO_MLOCK", "1");
        // SAFETY: only async-signal-safe syscalls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let zero = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::setrlimit(libc::RLIMIT_MEMLOCK, &zero) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                drop_ipc_lock();
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("CHILD-OK"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Clears CAP_IPC_LOCK (which lets root lock past any limit) from the bounding set (so that
    /// root does not regain it at exec) and from the effective and permitted sets.
    pub(crate) unsafe fn drop_ipc_lock() {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const CAP_IPC_LOCK: u32 = 14;
        let mut header = Header {
            version: 0x2008_0522,
            pid: 0,
        };
        let mut data = [Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        // SAFETY: capget/capset with a v3 header and two data words, as the ABI wants.
        unsafe {
            libc::prctl(
                libc::PR_CAPBSET_DROP,
                CAP_IPC_LOCK as libc::c_ulong,
                0,
                0,
                0,
            );
            if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) == 0 {
                data[0].effective &= !(1 << CAP_IPC_LOCK);
                data[0].permitted &= !(1 << CAP_IPC_LOCK);
                libc::syscall(libc::SYS_capset, &mut header, data.as_ptr());
            }
        }
    }
}
