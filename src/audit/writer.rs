//! The single appender of a process.

use super::batch::Batch;
use super::checkpoint::{self, CheckpointKey, CheckpointSigner};
use super::durable::GroupCommit;
use super::file::{chain_position, truncate_to, write_line};
use super::lock::lock_exclusive;
use super::record::{self, AuditEntry};
use super::ship::{Shipper, Shipping};
use super::timer::Timer;
use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// An open audit log, positioned to continue its chain. See [`crate::audit`] for the format.
///
/// Holds an exclusive `flock` on the file for as long as it lives, so a second keyward process
/// (or a second `AuditLog` in this one) cannot interleave records. Appends from many threads are
/// serialised by an internal mutex. With [`Checkpoints`] it signs the chain head on the token
/// every `every` records and every `interval`, and [`close`](Self::close) (or dropping it) signs
/// the last one; with an fsync interval a background thread makes the records durable that often.
pub struct AuditLog {
    inner: Arc<Inner>,
    checkpoint_interval: Option<Duration>,
    fsync_interval: Option<Duration>,
    timer: Option<Timer>,
    /// The group commit's thread, while appends wait for `fdatasync` ([`set_sync`](Self::set_sync)).
    syncer: Option<JoinHandle<()>>,
}

struct Inner {
    path: PathBuf,
    /// `path` as messages show it, made once (not per record).
    shown: String,
    state: Mutex<State>,
    /// Group commit when `sync` is on: the seq of the first record not yet known durable,
    /// behind its own lock so that appends go on while one thread waits for `fdatasync`.
    durable: Mutex<u64>,
    /// A second handle on the same file, for `fdatasync` outside the state lock.
    sync_file: File,
    /// Where [`AuditLog::write`]'s callers wait for the syncer thread's `fdatasync`.
    group: Arc<GroupCommit>,
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
    keyed: Option<Keyed>,
    /// `[audit] ship_records`: each record's line also goes to syslog once written.
    records: Option<Shipper>,
    /// Records staged for the next write (their seqs are `written_seq..next_seq`).
    batch: Batch,
    /// seq of the first record not in the file yet.
    written_seq: u64,
}

/// How the chain head is signed and where the checkpoints go.
pub struct Checkpoints {
    /// Signs with the private half of `key`, on the token.
    pub signer: Box<dyn CheckpointSigner>,
    pub key: CheckpointKey,
    /// A checkpoint after at most this many records (at least 1).
    pub every: u64,
    /// A checkpoint at least this often while records are written.
    pub interval: Duration,
    /// The syslog socket each checkpoint is also sent to.
    pub ship_to: Option<PathBuf>,
}

struct Keyed {
    signer: Box<dyn CheckpointSigner>,
    key: CheckpointKey,
    every: u64,
    /// Records written since the last checkpoint.
    since: u64,
    ship: Option<Shipper>,
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.timer.take();
        self.stop_syncer();
        self.close();
    }
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
        let (next_seq, prev) = chain_position(&file, len, path)?;
        let sync_file = file
            .try_clone()
            .map_err(|e| Error::io(format!("cannot open audit log {}", path.display()), e))?;
        Ok(AuditLog {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                shown: path.display().to_string(),
                durable: Mutex::new(next_seq),
                sync_file,
                group: Arc::new(GroupCommit::new(next_seq)),
                state: Mutex::new(State {
                    file,
                    next_seq,
                    prev,
                    len,
                    sync: false,
                    broken: None,
                    keyed: None,
                    records: None,
                    batch: Batch::default(),
                    written_seq: next_seq,
                }),
            }),
            checkpoint_interval: None,
            fsync_interval: None,
            timer: None,
            syncer: None,
        })
    }

    /// Signs the chain from now on. A new (empty) log gets its genesis record first, signed on
    /// the token; failing to sign it fails here, so keyward does not start with an unanchored
    /// log. A log that already has records goes on with its chain: the next checkpoint vouches
    /// for the records written before it.
    pub fn enable_checkpoints(&mut self, checkpoints: Checkpoints) -> Result<()> {
        let shown = self.inner.path.display().to_string();
        let ship = match &checkpoints.ship_to {
            Some(to) => Some(Shipper::new(to, Shipping::Checkpoints).map_err(|e| {
                Error::io(
                    format!(
                        "cannot open a socket to ship audit checkpoints to {}",
                        to.display()
                    ),
                    e,
                )
            })?),
            None => None,
        };
        let keyed = Keyed {
            signer: checkpoints.signer,
            key: checkpoints.key,
            every: checkpoints.every.max(1),
            since: 0,
            ship,
        };
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if state.next_seq == 0 {
            let json = checkpoint::genesis_entry(keyed.signer.as_ref(), &keyed.key)?;
            append_locked(&shown, &mut state, &json)?;
        }
        state.keyed = Some(keyed);
        let sync = state.sync;
        drop(state);
        if sync {
            self.inner.sync_through(0)?;
        }
        self.checkpoint_interval = Some(checkpoints.interval);
        self.start_timer();
        Ok(())
    }

    /// Sends each record's line, once written, to the syslog socket `to` as well (never
    /// blocking; a failure is logged, the record is in the file either way).
    pub fn ship_records(&mut self, to: &Path) -> Result<()> {
        let shipper = Shipper::new(to, Shipping::Records).map_err(|e| {
            Error::io(
                format!(
                    "cannot open a socket to ship audit records to {}",
                    to.display()
                ),
                e,
            )
        })?;
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .records = Some(shipper);
        Ok(())
    }

    /// Makes the records durable (`fdatasync`) at least this often, from a background thread
    /// (for when appends do not wait for the disk themselves: [`set_sync`](Self::set_sync)).
    pub fn set_fsync_interval(&mut self, interval: Duration) {
        self.fsync_interval = Some(interval);
        self.start_timer();
    }

    /// (Re)starts the background thread for the intervals set.
    fn start_timer(&mut self) {
        self.timer.take();
        let (checkpoint, fsync) = (self.checkpoint_interval, self.fsync_interval);
        let tick = match (checkpoint, fsync) {
            (None, None) => return,
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
        };
        let inner = self.inner.clone();
        let (mut last_cp, mut last_sync) = (Instant::now(), Instant::now());
        self.timer = Timer::every(tick, move || {
            if checkpoint.is_some_and(|d| last_cp.elapsed() >= d) {
                last_cp = Instant::now();
                inner.checkpoint();
            }
            if fsync.is_some_and(|d| last_sync.elapsed() >= d) {
                last_sync = Instant::now();
                if let Err(e) = inner.sync_written() {
                    tracing::error!(error = %e, "audit fsync failed");
                }
            }
        });
    }

    /// Clean shutdown: a last checkpoint (when records were written since the previous one) and
    /// an `fdatasync`. Safe to call more than once.
    pub fn close(&self) {
        self.inner.checkpoint();
        if let Err(e) = self.inner.sync_written() {
            tracing::error!(error = %e, "audit fsync at shutdown failed");
        }
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
    pub fn append<T: AuditEntry + ?Sized>(&self, entry: &T) -> Result<u64> {
        let (seq, sync) = self.inner.write(entry)?;
        if sync {
            self.inner.sync_through(seq)?;
        }
        Ok(seq)
    }

    /// [`append`](Self::append) for the async runtime: the record is staged (seq and chain
    /// fixed), the task yields, one `write` puts every staged record in the file (see
    /// `batch.rs`); with sync on it then awaits the syncer's `fdatasync` (group commit).
    pub async fn append_async<T: AuditEntry + Sync + ?Sized>(&self, entry: &T) -> Result<u64> {
        let (seq, ticket, sync) = self.inner.stage(entry)?;
        tokio::task::yield_now().await;
        self.inner.flush_through(ticket)?;
        match (sync, &self.syncer) {
            (false, _) => Ok(seq),
            (true, Some(_)) => self.inner.group.request(seq).durable().await,
            (true, None) => self.inner.sync_through(seq).map(|_| seq),
        }
    }

    /// Whether appends wait for `fdatasync` (off by default).
    pub fn is_sync(&self) -> bool {
        self.inner.state.lock().map(|st| st.sync).unwrap_or(true)
    }

    /// When on, every record is durable before [`append`](Self::append) returns (and before
    /// [`append_async`](Self::append_async) resolves, through a syncer thread started here).
    pub fn set_sync(&mut self, sync: bool) {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .sync = sync;
        if !sync {
            self.stop_syncer();
            return;
        }
        if self.syncer.is_some() {
            return;
        }
        let inner = self.inner.clone();
        match self
            .inner
            .group
            .clone()
            .spawn(move |below| inner.sync_through(below.saturating_sub(1)))
        {
            Ok(thread) => self.syncer = Some(thread),
            // `append_async` then makes each record durable on the caller's thread.
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the audit log's sync thread; each append waits for fdatasync itself")
            }
        }
    }

    /// Stops the syncer thread once what was asked of it is durable.
    fn stop_syncer(&mut self) {
        if let Some(thread) = self.syncer.take() {
            self.inner.group.stop();
            let _ = thread.join();
        }
    }

    /// The file this log appends to.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Why nothing more can be appended, once a failure left the file unusable.
    pub fn broken(&self) -> Option<String> {
        match self.inner.state.lock() {
            Ok(st) => st.broken.clone(),
            Err(_) => Some("a previous append panicked".to_owned()),
        }
    }
}

impl Inner {
    /// Makes every record up to `seq` durable. Threads that arrive while an `fdatasync` runs
    /// wait for it and then share the next one.
    /// Returns the seq below which every record is durable.
    fn sync_through(&self, seq: u64) -> Result<u64> {
        let shown = self.path.display();
        let mut durable = self
            .durable
            .lock()
            .map_err(|_| Error::audit(format!("audit log {shown}: a previous sync panicked")))?;
        if *durable > seq {
            return Ok(*durable);
        }
        // Everything written so far is covered by this fdatasync.
        let upto =
            self.state.lock().map(|st| st.written_seq).map_err(|_| {
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
        Ok(upto)
    }

    /// Makes every record written so far durable (nothing to do when none was written since).
    /// Writes staged records first (a cancelled task's wait no longer than this).
    fn sync_written(&self) -> Result<()> {
        let shown = self.shown.as_str();
        let next = match self.state.lock() {
            Ok(mut st) => {
                let _ = flush_locked(shown, &mut st);
                st.written_seq
            }
            Err(_) => 0,
        };
        match next.checked_sub(1) {
            Some(last) => self.sync_through(last).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Writes a checkpoint now if records were written since the last one. A failure (the
    /// token gone, the disk full) is logged: the records stay in the file, unvouched until a
    /// later checkpoint succeeds.
    fn checkpoint(&self) {
        let shown = self.shown.as_str();
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.keyed.as_ref().is_some_and(|k| k.since > 0) {
            write_checkpoint(shown, &mut state);
        }
    }

    /// Writes one record (not yet synced); returns its seq and whether it must be synced.
    fn write<T: AuditEntry + ?Sized>(&self, entry: &T) -> Result<(u64, bool)> {
        let (seq, _, sync) = self.add(entry, true)?;
        Ok((seq, sync))
    }

    /// Stages one record for the next write; returns its seq, its ticket and whether it must
    /// be synced.
    fn stage<T: AuditEntry + ?Sized>(&self, entry: &T) -> Result<(u64, u64, bool)> {
        self.add(entry, false)
    }

    /// Writes every staged record if the one with `ticket` is still among them; then whether
    /// it is in the file.
    fn flush_through(&self, ticket: u64) -> Result<()> {
        let shown = self.shown.as_str();
        let mut state = self
            .state
            .lock()
            .map_err(|_| Error::audit(format!("audit log {shown}: a previous append panicked")))?;
        if state.batch.is_staged(ticket) {
            // Its own failure is reported below, with the batch's.
            let _ = flush_locked(shown, &mut state);
        }
        match state.batch.failure(ticket) {
            Some(why) => Err(Error::audit(why.to_owned())),
            None => Ok(()),
        }
    }

    /// Serialises and checks `entry`, stages its record and, when `flush`, writes it (with
    /// every record staged before it).
    fn add<T: AuditEntry + ?Sized>(&self, entry: &T, flush: bool) -> Result<(u64, u64, bool)> {
        let shown = self.shown.as_str();
        let json = record::entry_json(entry)
            .map_err(|why| Error::audit(format!("audit entry for {shown} {why}")))?;

        // A panic while the lock was held may have left the state half-updated: fail closed.
        let mut guard = self.state.lock().map_err(|_| {
            Error::audit(format!(
                "audit log {shown}: a previous append panicked; refusing to append"
            ))
        })?;
        let state = &mut *guard;
        let (seq, ticket) = stage_locked(shown, state, &json)?;
        if flush {
            flush_locked(shown, state)?;
        }
        if let Some(keyed) = &mut state.keyed {
            keyed.since += 1;
            if keyed.since >= keyed.every {
                write_checkpoint(shown, state);
            }
        }
        Ok((seq, ticket, state.sync))
    }
}

/// Signs the chain head and appends the checkpoint record, then ships it. Resets the count
/// whatever happens, so a failing token is asked again after `every` records, not on each.
fn write_checkpoint(shown: &str, state: &mut State) {
    let Some(mut keyed) = state.keyed.take() else {
        return;
    };
    keyed.since = 0;
    let covers = state.next_seq.saturating_sub(1);
    let head = state.prev.clone();
    let result = keyed
        .signer
        .sign(checkpoint::checkpoint_message(covers, &head).as_bytes())
        .map_err(|e| e.context("signing an audit checkpoint on the token"))
        .and_then(|sig| {
            let sig = hex::encode(sig);
            let entry = serde_json::json!({
                "event": checkpoint::CHECKPOINT,
                "covers": covers,
                "head": head,
                "key": keyed.key.fingerprint(),
                "sig": sig,
            });
            let json = serde_json::to_vec(&entry)
                .map_err(|e| Error::audit(format!("checkpoint record: {e}")))?;
            append_locked(shown, state, &json)?;
            Ok(sig)
        });
    match result {
        Ok(sig) => {
            if let Some(ship) = &mut keyed.ship {
                ship.send(
                    checkpoint::shipped_line(covers, &head, &sig, keyed.key.fingerprint())
                        .as_bytes(),
                );
            }
        }
        Err(e) => tracing::error!(
            error = %e,
            "audit checkpoint at record {covers} not written; the records after the last \
             checkpoint stay unvouched until one succeeds"
        ),
    }
    state.keyed = Some(keyed);
}

/// Appends the record for the checked entry `json` under the state lock (with every record
/// staged before it); returns its seq.
fn append_locked(shown: &str, state: &mut State, json: &[u8]) -> Result<u64> {
    let (seq, _) = stage_locked(shown, state, json)?;
    flush_locked(shown, state)?;
    Ok(seq)
}

/// Gives the record for the checked entry `json` its seq and place in the chain and stages it
/// for the next write; returns its seq and ticket.
fn stage_locked(shown: &str, state: &mut State, json: &[u8]) -> Result<(u64, u64)> {
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
    let (line, hash) = record::format_line(seq, &time, json, &state.prev);
    let ticket = state.batch.stage(&line, seq, &state.prev);
    state.next_seq = next_seq;
    state.prev = hash;
    Ok((seq, ticket))
}

/// Writes the staged records with one `write`. On a failure the partial batch is cut off
/// again and the chain rewinds to before it (the next record reuses its first seq); if the
/// cut fails, the log is unusable from then on.
fn flush_locked(shown: &str, state: &mut State) -> Result<()> {
    let Some(taken) = state.batch.take() else {
        return Ok(());
    };
    if let Err(err) = write_line(&mut state.file, &taken.lines) {
        let (first, last) = (taken.from_seq, state.next_seq.saturating_sub(1));
        let mut msg = match first == last {
            true => format!("cannot write audit record {first} to {shown}: {err}"),
            false => format!("cannot write audit records {first} to {last} to {shown}: {err}"),
        };
        if let Err(undo) = truncate_to(&state.file, state.len) {
            let why = format!("a partial record could not be removed: {undo}");
            msg = format!("{msg}; {why}; no further records will be written");
            state.broken = Some(why);
        }
        state.next_seq = taken.from_seq;
        state.prev = taken.from_prev.clone();
        state.batch.failed(taken, msg.clone());
        return Err(Error::audit(msg));
    }
    state.len += taken.lines.len() as u64;
    state.written_seq = state.next_seq;
    if let Some(records) = &mut state.records {
        for line in taken.lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            records.send(line);
        }
    }
    state.batch.written(taken);
    Ok(())
}

#[cfg(test)]
impl AuditLog {
    /// The seq below which every record is known durable.
    pub(super) fn durable_below(&self) -> u64 {
        *self.inner.durable.lock().unwrap()
    }

    /// Puts `file` in place of the log's handle; returns the old one.
    pub(super) fn swap_file_for_tests(&self, file: File) -> File {
        std::mem::replace(&mut self.inner.state.lock().unwrap().file, file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::verify;
    use serde_json::json;
    use std::io::Write;

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
            let mut state = log.inner.state.lock().unwrap();
            std::mem::replace(&mut state.file, File::open(&path).unwrap())
        };
        let err = log.append(&json!({"n": 2})).unwrap_err();
        assert!(
            err.message().contains("cannot write audit record 2"),
            "{err}"
        );
        log.inner.state.lock().unwrap().file = writable;

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
            let mut state = log.inner.state.lock().unwrap();
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
        let state = log.inner.state.lock().unwrap();
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
