//! The audit log's background thread for its intervals (checkpoints, `fdatasync`).

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A thread that runs a task every `tick`; dropping it stops and joins the thread.
pub(super) struct Timer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Timer {
    /// Runs `task` every `tick` until dropped; `None` (logged) when no thread can be started.
    pub(super) fn every(tick: Duration, mut task: impl FnMut() + Send + 'static) -> Option<Timer> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("keyward-audit".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    task();
                }
            });
        match thread {
            Ok(thread) => Some(Timer {
                stop: Some(stop),
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the audit log's timer thread; checkpoints come every N records only and records are not fsync'd on a timer");
                None
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
