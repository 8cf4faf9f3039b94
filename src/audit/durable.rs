//! Group commit without blocking the caller, for `[audit] fsync = true`: a *syncer* thread runs
//! `fdatasync` whenever records were written since the last one, and a caller on an async
//! runtime awaits its record's turn ([`Written::durable`]) instead of holding a worker thread in
//! `fdatasync`. Every record written while one `fdatasync` runs is made durable by the next, so
//! under load one `fdatasync` covers a whole batch of requests.

use std::sync::{Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::{Error, Result};

/// What the syncer has made durable so far.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Synced {
    /// Every record with a seq below this is on disk.
    Below(u64),
    /// `fdatasync` failed: no record after the last durable one can be trusted to be on disk.
    Failed(String),
}

/// The syncer's side of the group commit, shared by the writer and the thread.
pub(super) struct GroupCommit {
    wanted: Mutex<Wanted>,
    wake: Condvar,
    synced: watch::Sender<Synced>,
}

struct Wanted {
    /// One past the highest seq a caller waits for.
    below: u64,
    stop: bool,
}

impl GroupCommit {
    /// A group commit for a log whose records below `next_seq` are taken as durable.
    pub(super) fn new(next_seq: u64) -> Self {
        GroupCommit {
            wanted: Mutex::new(Wanted {
                below: next_seq,
                stop: false,
            }),
            wake: Condvar::new(),
            synced: watch::channel(Synced::Below(next_seq)).0,
        }
    }

    /// Asks for record `seq` (already written) to be made durable; the returned [`Written`]
    /// resolves once it is.
    pub(super) fn request(&self, seq: u64) -> Written {
        let receiver = self.synced.subscribe();
        let mut wanted = self.wanted.lock().unwrap_or_else(PoisonError::into_inner);
        if wanted.below <= seq {
            wanted.below = seq + 1;
            self.wake.notify_one();
        }
        Written {
            seq,
            wait: receiver,
        }
    }

    /// The syncer thread: waits for requests and calls `sync(below)` once per batch, until
    /// [`stop`](Self::stop). `sync` makes every record below `below` durable and returns the
    /// seq below which all are (at least `below`), or fails.
    pub(super) fn spawn(
        self: std::sync::Arc<Self>,
        sync: impl Fn(u64) -> Result<u64> + Send + 'static,
    ) -> std::io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("keyward-audit-sync".into())
            .spawn(move || {
                let mut done = match *self.synced.borrow() {
                    Synced::Below(n) => n,
                    Synced::Failed(_) => return,
                };
                loop {
                    let below = {
                        let mut wanted = self.wanted.lock().unwrap_or_else(PoisonError::into_inner);
                        while wanted.below <= done && !wanted.stop {
                            wanted = self
                                .wake
                                .wait(wanted)
                                .unwrap_or_else(PoisonError::into_inner);
                        }
                        if wanted.below <= done {
                            return; // stopped with nothing left to sync
                        }
                        wanted.below
                    };
                    match sync(below) {
                        Ok(now) => {
                            done = now.max(below);
                            self.synced.send_replace(Synced::Below(done));
                        }
                        Err(e) => {
                            self.synced
                                .send_replace(Synced::Failed(e.message().to_owned()));
                            return;
                        }
                    }
                }
            })
    }

    /// Asks the thread to finish once what was asked for is durable.
    pub(super) fn stop(&self) {
        self.wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop = true;
        self.wake.notify_one();
    }
}

/// A record written to the log, not yet known durable.
#[must_use = "a written record is only known durable once `durable` has returned"]
pub(super) struct Written {
    seq: u64,
    wait: watch::Receiver<Synced>,
}

impl Written {
    /// The record's seq once it is durable.
    pub(super) async fn durable(self) -> Result<u64> {
        let Written { seq, mut wait } = self;
        let synced = wait
            .wait_for(|s| !matches!(s, Synced::Below(n) if *n <= seq))
            .await
            .map(|s| s.clone());
        match synced {
            Ok(Synced::Below(_)) => Ok(seq),
            Ok(Synced::Failed(why)) => Err(Error::audit(why)),
            Err(_) => Err(Error::audit(format!(
                "audit record {seq} may not be on disk: the audit log's sync thread stopped"
            ))),
        }
    }
}
