//! Counting tasks in flight (connections, forwarding tasks), so that shutdown can wait for
//! them to finish.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// A count of running tasks and a wake-up for whoever waits until none is left.
#[derive(Default)]
pub(super) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Held by one running forwarding task; dropping it ends the task's count.
pub(super) struct Forwarding(Arc<InFlight>);

impl Drop for Forwarding {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl InFlight {
    /// Counts one more task until the returned guard is dropped.
    pub(super) fn enter(self: &Arc<Self>) -> Forwarding {
        self.count.fetch_add(1, Ordering::AcqRel);
        Forwarding(self.clone())
    }

    /// Waits until no counted task is running.
    pub(super) async fn idle(&self) {
        loop {
            let woken = self.idle.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            woken.await;
        }
    }
}
