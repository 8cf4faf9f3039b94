//! The single appender of a process.

use super::record::{self, ZERO_HASH};
use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// An open audit log, positioned to continue its chain. See [`crate::audit`] for the format.
///
/// Holds an exclusive `flock` on the file for as long as it lives, so a second keyward process
/// (or a second `AuditLog` in this one) cannot interleave records. Appends from many threads are
/// serialised by an internal mutex.
pub struct AuditLog {
    path: PathBuf,
    state: Mutex<State>,
    /// Group commit when `sync` is on: the seq of the first record not yet known durable,
    /// behind its own lock so that appends go on while one thread waits for `fdatasync`.
    durable: Mutex<u64>,
    /// A second handle on the same file, for `fdatasync` outside the state lock.
    sync_file: File,
}

struct State {
    file: File,
    /// seq of the next record.
    next_seq: u64,
    /// hash of the last record written (or [`ZERO_HASH`]).
    prev: String,
    /// File length after the last complete record; a failed append is cut back to it.
    len: u64,
    sync: bool,
    /// Set when a failed append could not be undone: the file may end in a partial record, so
    /// nothing more may be appended to it.
    broken: Option<String>,
}

impl AuditLog {
    /// Opens the log at `path` for appending, creating it with mode 0600 if it does not exist
    /// (the parent directory must exist; an existing file's mode is left as it is).
    ///
    /// Takes an exclusive, non-blocking advisory lock and fails if another process holds it.
    /// Reads only the last line to continue the chain (seq + 1, prev = its hash); that line must
    /// be a complete, self-consistent record. A torn or modified last line is refused with an
    /// error telling the operator to run `keyward audit verify PATH` — appending after it would
    /// bury the damage. The rest of the chain is not checked here; that is what `verify` is for.
    pub fn open(path: &Path) -> Result<Self> {
        let shown = path.display();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io(format!("cannot open audit log {shown}"), e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io(format!("cannot stat audit log {shown}"), e))?;
        if !meta.is_file() {
            return Err(Error::audit(format!(
                "audit log {shown} is not a regular file"
            )));
        }
        lock_exclusive(&file, path)?;

        // Length after taking the lock: no other keyward is appending from here on.
        let len = file
            .metadata()
            .map_err(|e| Error::io(format!("cannot stat audit log {shown}"), e))?
            .len();
        let refuse = |why: String| {
            Error::audit(format!(
                "audit log {shown}: {why}; the last write may have been torn by a crash, or the \
                 file was tampered with. Refusing to append. Run `keyward audit verify {shown}` \
                 to find the first bad record"
            ))
        };
        let (next_seq, prev) = match last_line(&file, len)
            .map_err(|e| Error::io(format!("cannot read audit log {shown}"), e))?
        {
            LastLine::Empty => (0, ZERO_HASH.to_string()),
            LastLine::Unterminated => {
                return Err(refuse(
                    "the last line is incomplete (no terminating newline)".into(),
                ))
            }
            LastLine::Line(line) => {
                let rec = record::parse_line(&line).map_err(|e| {
                    let seq = e.seq.map(|s| format!(" (seq {s})")).unwrap_or_default();
                    refuse(format!(
                        "the last line{seq} is not a valid record: {}",
                        e.reason
                    ))
                })?;
                let next = rec.seq.checked_add(1).ok_or_else(|| {
                    refuse(format!(
                        "the last record's seq {} cannot be followed",
                        rec.seq
                    ))
                })?;
                (next, rec.hash)
            }
        };
        let sync_file = file
            .try_clone()
            .map_err(|e| Error::io(format!("cannot open audit log {}", path.display()), e))?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            durable: Mutex::new(next_seq),
            sync_file,
            state: Mutex::new(State {
                file,
                next_seq,
                prev,
                len,
                sync: false,
                broken: None,
            }),
        })
    }

    /// Appends one record for `entry` and returns its seq.
    ///
    /// `entry` must serialise to a JSON object whose top-level keys are unique and are not
    /// `seq`, `time`, `prev` or `hash`. The line is written with one `write_all`; when
    /// [`set_sync`](Self::set_sync) is on, `append` returns only once the record is on disk
    /// (`fdatasync`, one for every batch of records appended meanwhile: group commit). On a
    /// write failure the partial line is cut off again and an error is returned — the caller
    /// must then refuse the request — and the chain state is unchanged, so the next append
    /// reuses the same seq. If the partial line cannot be removed, or `fdatasync` fails, this
    /// and every later append fail.
    pub fn append<T: serde::Serialize + ?Sized>(&self, entry: &T) -> Result<u64> {
        let (seq, sync) = self.write(entry)?;
        if sync {
            self.sync_through(seq)?;
        }
        Ok(seq)
    }

    /// Makes every record up to `seq` durable. Threads that arrive while an `fdatasync` runs
    /// wait for it and then share the next one.
    fn sync_through(&self, seq: u64) -> Result<()> {
        let shown = self.path.display();
        let mut durable = self
            .durable
            .lock()
            .map_err(|_| Error::audit(format!("audit log {shown}: a previous sync panicked")))?;
        if *durable > seq {
            return Ok(());
        }
        // Everything written so far is covered by this fdatasync.
        let upto =
            self.state.lock().map(|st| st.next_seq).map_err(|_| {
                Error::audit(format!("audit log {shown}: a previous append panicked"))
            })?;
        if let Err(e) = self.sync_file.sync_data() {
            let why = format!("fdatasync failed: {e}");
            if let Ok(mut st) = self.state.lock() {
                st.broken = Some(why.clone());
            }
            return Err(Error::audit(format!(
                "audit record {seq} of {shown} may not be on disk ({why}); no further records will be written"
            )));
        }
        *durable = upto;
        Ok(())
    }

    /// Writes one record (not yet synced); returns its seq and whether it must be synced.
    fn write<T: serde::Serialize + ?Sized>(&self, entry: &T) -> Result<(u64, bool)> {
        let shown = self.path.display();
        let json = serde_json::to_vec(entry).map_err(|e| {
            Error::audit(format!(
                "audit entry for {shown} could not be serialised: {e}"
            ))
        })?;
        record::check_entry(&json)
            .map_err(|why| Error::audit(format!("audit entry for {shown} refused: {why}")))?;

        // A panic while the lock was held may have left the state half-updated: fail closed.
        let mut guard = self.state.lock().map_err(|_| {
            Error::audit(format!(
                "audit log {shown}: a previous append panicked; refusing to append"
            ))
        })?;
        let state = &mut *guard;
        if let Some(why) = &state.broken {
            return Err(Error::audit(format!(
                "audit log {shown} is unusable after an earlier failure ({why}); restart \
                 keyward after running `keyward audit verify {shown}`"
            )));
        }

        let seq = state.next_seq;
        let next_seq = seq
            .checked_add(1)
            .ok_or_else(|| Error::audit(format!("audit log {shown}: seq exhausted")))?;
        let time = record::format_time(SystemTime::now()).ok_or_else(|| {
            Error::audit(format!(
                "audit log {shown}: the system clock is outside 1970..9999; refusing to write \
                 a record with a wrong time"
            ))
        })?;
        let (line, hash) = record::format_line(seq, &time, &json, &state.prev);

        if let Err(err) = write_line(&mut state.file, &line) {
            let mut msg = format!("cannot write audit record {seq} to {shown}: {err}");
            if let Err(undo) = truncate_to(&state.file, state.len) {
                let why = format!("a partial record could not be removed: {undo}");
                msg = format!("{msg}; {why}; no further records will be written");
                state.broken = Some(why);
            }
            return Err(Error::audit(msg));
        }
        state.next_seq = next_seq;
        state.prev = hash;
        state.len += line.len() as u64;
        Ok((seq, state.sync))
    }

    /// Whether appends wait for `fdatasync` (off by default).
    pub fn is_sync(&self) -> bool {
        self.state.lock().map(|st| st.sync).unwrap_or(true)
    }

    /// When on, every record is durable before [`append`](Self::append) returns.
    pub fn set_sync(&mut self, sync: bool) {
        self.state
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .sync = sync;
    }

    /// The file this log appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn write_line(file: &mut File, line: &[u8]) -> io::Result<()> {
    file.write_all(line)?;
    file.flush()
}

/// Cuts the file back to `len` if a failed write left anything after it.
fn truncate_to(file: &File, len: u64) -> io::Result<()> {
    if file.metadata()?.len() != len {
        file.set_len(len)?;
    }
    Ok(())
}

fn lock_exclusive(file: &File, path: &Path) -> Result<()> {
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

enum LastLine {
    Empty,
    /// The file does not end with `\n`.
    Unterminated,
    /// The last line, without its `\n`.
    Line(Vec<u8>),
}

/// Reads the last line of the first `len` bytes of `file` by scanning backwards, so opening a
/// large log does not read all of it.
fn last_line(file: &File, len: u64) -> io::Result<LastLine> {
    const CHUNK: u64 = 8192;
    if len == 0 {
        return Ok(LastLine::Empty);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    if last[0] != b'\n' {
        return Ok(LastLine::Unterminated);
    }
    let end = len - 1;
    let mut start = 0;
    let mut pos = end;
    let mut chunk = Vec::new();
    while pos > 0 {
        let n = pos.min(CHUNK);
        chunk.resize(n as usize, 0);
        file.read_exact_at(&mut chunk, pos - n)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            start = pos - n + i as u64 + 1;
            break;
        }
        pos -= n;
    }
    let mut line = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut line, start)?;
    Ok(LastLine::Line(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::verify;
    use serde_json::json;

    /// A fresh log in a temporary directory: the directory (kept alive), the path, the log.
    fn fresh() -> (tempfile::TempDir, std::path::PathBuf, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        (dir, path, log)
    }

    #[test]
    fn audit_failed_write_does_not_advance_the_chain() {
        let (_dir, path, log) = fresh();
        assert_eq!(log.append(&json!({"n": 0})).unwrap(), 0);
        assert_eq!(log.append(&json!({"n": 1})).unwrap(), 1);

        // Swap in a read-only handle: write(2) fails with EBADF and nothing reaches the file.
        let writable = {
            let mut state = log.state.lock().unwrap();
            std::mem::replace(&mut state.file, File::open(&path).unwrap())
        };
        let err = log.append(&json!({"n": 2})).unwrap_err();
        assert!(
            err.message().contains("cannot write audit record 2"),
            "{err}"
        );
        log.state.lock().unwrap().file = writable;

        // Same seq again, chained to record 1: the failed attempt left no trace.
        assert_eq!(log.append(&json!({"n": 3})).unwrap(), 2);
        let report = verify(&path).unwrap();
        assert_eq!(report.records, 3);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(r#""n":2"#));
    }

    #[test]
    fn audit_partial_write_that_cannot_be_undone_stops_the_log() {
        let (_dir, path, log) = fresh();
        log.append(&json!({"n": 0})).unwrap();
        {
            // Simulate a torn write that the writer cannot cut back: the file grew behind its
            // back and the handle can neither write nor truncate.
            let mut state = log.state.lock().unwrap();
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap()
                .write_all(b"{\"seq\":1,\"ti")
                .unwrap();
            state.file = File::open(&path).unwrap();
        }
        let err = log.append(&json!({"n": 1})).unwrap_err();
        assert!(err.message().contains("could not be removed"), "{err}");
        let err = log.append(&json!({"n": 1})).unwrap_err();
        assert!(err.message().contains("unusable"), "{err}");
    }

    #[test]
    fn audit_failed_append_cuts_off_its_partial_line() {
        let (_dir, path, log) = fresh();
        log.append(&json!({"n": 0})).unwrap();
        let good_len = std::fs::metadata(&path).unwrap().len();
        let state = log.state.lock().unwrap();
        assert_eq!(state.len, good_len);
        (&state.file).write_all(b"{\"seq\":1,\"ti").unwrap();
        truncate_to(&state.file, state.len).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len);
        drop(state);
        assert_eq!(log.append(&json!({"n": 1})).unwrap(), 1);
        assert_eq!(verify(&path).unwrap().records, 2);
    }

    #[test]
    fn audit_last_line_scan_crosses_chunk_boundaries() {
        let (_dir, path, log) = fresh();
        let big = "x".repeat(20_000);
        log.append(&json!({"pad": big})).unwrap();
        log.append(&json!({"pad": big})).unwrap();
        drop(log);
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.append(&json!({})).unwrap(), 2);
        assert_eq!(verify(&path).unwrap().records, 3);
    }
}
