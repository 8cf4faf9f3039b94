//! The locked arena every [`SecretBytes`](super::SecretBytes) lives in.
//!
//! `mlock`/`munlock` work on whole pages and keep no count, so locking each heap buffer on its
//! own lets the drop of a short-lived secret unlock the page a long-lived one shares. Here secrets
//! live only in pages keyward maps for them (anonymous `mmap`, `mlock`ed once, `MADV_DONTDUMP` and
//! `MADV_WIPEONFORK`), packed in 64-byte granules so that a default `RLIMIT_MEMLOCK` of 64 KiB
//! still holds hundreds of secrets. A page is never unlocked while a secret lives in it: a chunk is
//! unmapped (which is what unlocks it) only once its last granule is free, and one empty chunk is
//! kept as a spare so that per-request secrets do not map and lock a page each time. A freed granule is
//! zeroized before it can be handed out again. A secret larger than a page gets a chunk of its own.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use zeroize::Zeroize;

pub(super) const GRANULE: usize = 64;

/// One mapped, (if the kernel allowed it) locked region.
struct Chunk {
    base: usize,
    len: usize,
    locked: bool,
    /// Holds one secret larger than a page.
    dedicated: bool,
    /// One flag per granule.
    used: Vec<bool>,
}

impl Chunk {
    fn contains(&self, addr: usize) -> bool {
        addr >= self.base && addr < self.base + self.len
    }

    /// The first run of `n` free granules.
    fn find(&self, n: usize) -> Option<usize> {
        let mut run = 0;
        for (i, used) in self.used.iter().enumerate() {
            run = if *used { 0 } else { run + 1 };
            if run == n {
                return Some(i + 1 - n);
            }
        }
        None
    }
}

/// Where one secret lives.
pub(super) struct Slot {
    pub ptr: *mut u8,
    pub locked: bool,
}

/// A set of locked chunks. The process has one ([`global`]); tests make their own.
pub(super) struct Arena {
    chunks: Vec<Chunk>,
}

/// Locked and unlocked bytes the arena holds, and how many `mlock` calls failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockReport {
    pub locked_bytes: usize,
    pub unlocked_bytes: usize,
    pub failures: usize,
}

static FAILURES: AtomicUsize = AtomicUsize::new(0);
static WARNED: AtomicBool = AtomicBool::new(false);
static GLOBAL: Mutex<Arena> = Mutex::new(Arena { chunks: Vec::new() });

pub(super) fn global() -> std::sync::MutexGuard<'static, Arena> {
    GLOBAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(super) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        page as usize
    } else {
        4096
    }
}

impl Arena {
    #[cfg(test)]
    pub(super) fn new() -> Self {
        Arena { chunks: Vec::new() }
    }

    /// A zero-filled slot of `len` (> 0) bytes.
    pub(super) fn alloc(&mut self, len: usize) -> Slot {
        let page = page_size();
        let n = len.div_ceil(GRANULE);
        if len <= page {
            for chunk in &mut self.chunks {
                if chunk.dedicated {
                    continue;
                }
                if let Some(first) = chunk.find(n) {
                    chunk.used[first..first + n].fill(true);
                    return Slot {
                        ptr: (chunk.base + first * GRANULE) as *mut u8,
                        locked: chunk.locked,
                    };
                }
            }
            let mut chunk = map(page);
            chunk.used[..n].fill(true);
            let slot = Slot {
                ptr: chunk.base as *mut u8,
                locked: chunk.locked,
            };
            self.chunks.push(chunk);
            return slot;
        }
        let mut chunk = map(len.div_ceil(page) * page);
        chunk.dedicated = true;
        chunk.used.fill(true);
        let slot = Slot {
            ptr: chunk.base as *mut u8,
            locked: chunk.locked,
        };
        self.chunks.push(chunk);
        slot
    }

    /// Zeroizes and frees the slot of `len` bytes at `ptr`; unmaps its chunk once it is empty.
    ///
    /// # Safety
    /// `ptr` and `len` are those of a slot this arena handed out and that is not used any more.
    pub(super) unsafe fn free(&mut self, ptr: *mut u8, len: usize) {
        let addr = ptr as usize;
        let Some(index) = self.chunks.iter().position(|c| c.contains(addr)) else {
            return;
        };
        // SAFETY: the slot is `len` bytes of this chunk, owned by the caller until now.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }.zeroize();
        let chunk = &mut self.chunks[index];
        if !chunk.dedicated {
            let first = (addr - chunk.base) / GRANULE;
            chunk.used[first..first + len.div_ceil(GRANULE)].fill(false);
        } else {
            chunk.used.fill(false);
        }
        // An empty shared chunk stays mapped (locked, zeroized) as the one spare, so that a
        // request's short-lived secrets do not map, lock and unmap a page each time.
        let empty = |c: &Chunk| c.used.iter().all(|u| !u);
        let spare = !chunk.dedicated
            && self
                .chunks
                .iter()
                .enumerate()
                .all(|(i, c)| i == index || c.dedicated || !empty(c));
        if empty(&self.chunks[index]) && !spare {
            let chunk = self.chunks.swap_remove(index);
            // SAFETY: the chunk's whole mapping, no secret left in it.
            unsafe { libc::munmap(chunk.base as *mut libc::c_void, chunk.len) };
        }
    }

    pub(super) fn report(&self) -> LockReport {
        let (locked, unlocked): (Vec<&Chunk>, Vec<&Chunk>) =
            self.chunks.iter().partition(|c| c.locked);
        LockReport {
            locked_bytes: locked.iter().map(|c| c.len).sum(),
            unlocked_bytes: unlocked.iter().map(|c| c.len).sum(),
            failures: FAILURES.load(Ordering::Relaxed),
        }
    }
}

/// Maps, locks and marks `len` (a multiple of the page size) bytes.
fn map(len: usize) -> Chunk {
    // SAFETY: an anonymous private mapping; no pointer is passed in.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        std::alloc::handle_alloc_error(
            std::alloc::Layout::from_size_align(len, page_size()).expect("a page-sized layout"),
        );
    }
    #[cfg(target_os = "linux")]
    // SAFETY: advice on the mapping just made; failure only loses the advice.
    unsafe {
        libc::madvise(base, len, libc::MADV_DONTDUMP);
        libc::madvise(base, len, libc::MADV_WIPEONFORK);
    }
    // SAFETY: locking the mapping just made.
    let locked = unsafe { libc::mlock(base, len) } == 0;
    if !locked {
        let err = std::io::Error::last_os_error();
        FAILURES.fetch_add(1, Ordering::Relaxed);
        if !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!("{}", unlocked_warning(&err.to_string()));
        }
    }
    Chunk {
        base: base as usize,
        len,
        locked,
        dedicated: false,
        used: vec![false; len / GRANULE],
    }
}

/// What to say when secret memory cannot be locked.
pub fn unlocked_warning(cause: &str) -> String {
    format!(
        "cannot lock secret memory (mlock: {cause}): secrets may be written to swap. Raise RLIMIT_MEMLOCK (LimitMEMLOCK= in the systemd unit, `ulimit -l`, or grant CAP_IPC_LOCK); set [server] require_locked_memory = true to refuse to start instead"
    )
}
