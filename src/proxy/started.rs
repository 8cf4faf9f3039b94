//! Whether keyward's start-up has finished, for `/readyz`.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether start-up has finished: the key-permission self-check has given its first verdicts
/// and every bots' listener is bound. Until then `/readyz` answers 503 `not_ready`, so that an
/// orchestrator never sends a bot to a keyward that is not yet accepting its connections.
#[derive(Default)]
pub(super) struct Started(AtomicBool);

impl Started {
    /// Called once, with every bots' listener bound.
    pub(super) fn mark(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub(super) fn check(&self) -> Result<String, String> {
        if self.0.load(Ordering::Acquire) {
            Ok("bound".to_owned())
        } else {
            Err("keyward is starting: the bots' listener is not bound yet (the start-up key-permission self-check runs first)".to_owned())
        }
    }
}
