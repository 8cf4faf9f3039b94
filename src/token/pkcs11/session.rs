//! A pool of logged-in sessions on one token, and recovery when the token forgets them.
//!
//! A `Session` is `Send` but not `Sync`, so each operation checks one out, uses it on the calling
//! thread and puts it back; callers never hold one across an `.await` (token calls block and run
//! under `block_in_place` or on a plain thread). The pool opens sessions on demand, up to
//! [`pool_size`]: the token's own session limits, and at most two per CPU (SoftHSM computes on
//! the host's CPUs; a network HSM's latency is covered by the second).
//!
//! PKCS#11 login state belongs to the application, not the session: a session opened while
//! another is logged in is logged in too, and `C_Login` then answers
//! `CKR_USER_ALREADY_LOGGED_IN`, which is success.
//!
//! When the token forgets keyward (a reset, a replugged device, an HSM fail-over, or another part
//! of the process calling `C_Logout` or `C_CloseAllSessions`), the operation that notices it logs
//! in again and retries once:
//!
//! * `CKR_USER_NOT_LOGGED_IN`, or any failure in a session whose state is no longer a user's
//!   (SoftHSM then hides private keys, so an operation reports a missing or invalid key): the
//!   sessions are valid but logged out; log in on the one in hand.
//! * `CKR_SESSION_HANDLE_INVALID`, `CKR_SESSION_CLOSED`, `CKR_DEVICE_REMOVED`,
//!   `CKR_TOKEN_NOT_PRESENT`: every session is gone. They are forgotten, not closed (a token may
//!   have given their handle numbers to new sessions), and a new session logs in.
//!
//! * Anything else, while `C_GetTokenInfo` fails too: the token itself has gone bad for this
//!   initialization of the module (SoftHSM 2.6 after its token folder vanished, even once it is
//!   back). The module is finalized and initialized again ([`module::reinitialise`], at most once
//!   per [`REINIT_EVERY`]), the token chosen again by its URI, and a new session logs in. While
//!   the token is still gone this fails and the operation fails closed.
//!
//! Log-ins are serialised, and a PIN the token rejects is never tried again: the pool refuses
//! every later operation with that error, since retrying would lock the token.

use std::sync::{Condvar, Mutex, MutexGuard, RwLockReadGuard};
use std::time::{Duration, Instant};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::{Limit, Slot, TokenInfo};
use cryptoki::types::RawAuthPin;

use super::error::{ck, ck_error, OpError};
use super::module::{self, Module};
use crate::error::{Error, Result};
use crate::token::{PinSource, Pkcs11Uri};

/// The least time between two re-initializations of the module by one pool: while a token stays
/// gone, requests fail fast instead of each finalizing the module.
const REINIT_EVERY: Duration = Duration::from_secs(1);

pub(super) struct SessionPool {
    ctx: Pkcs11,
    module: Module,
    /// Names the token again after the module is re-initialized.
    uri: Pkcs11Uri,
    pin: PinSource,
    /// "PKCS#11 token 'label'", for messages.
    here: String,
    max: usize,
    state: Mutex<State>,
    returned: Condvar,
    /// Held while logging in, so that one lost login costs one PIN attempt.
    login: Mutex<()>,
    /// When this pool last re-initialized the module.
    reinitialised: Mutex<Option<Instant>>,
}

struct State {
    /// The token's slot, chosen again after a re-initialization.
    slot: Slot,
    idle: Vec<Session>,
    /// Sessions of the current generation, idle or checked out.
    open: usize,
    /// Bumped when every session is lost; a session of an older generation is forgotten.
    generation: u64,
    /// Set when logging in again failed for good (wrong PIN): every operation gets this error.
    failed: Option<Error>,
}

/// What happened to keyward's standing with the token, judged from a return value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loss {
    /// Logged out; the sessions are still valid.
    Login,
    /// Every session is gone.
    Sessions,
}

fn loss(rv: RvError) -> Option<Loss> {
    match rv {
        RvError::UserNotLoggedIn => Some(Loss::Login),
        RvError::SessionHandleInvalid
        | RvError::SessionClosed
        | RvError::DeviceRemoved
        | RvError::TokenNotPresent => Some(Loss::Sessions),
        _ => None,
    }
}

/// After a failure that is not itself a lost session or login: a token that logged keyward out
/// may answer an operation on a private key with "no such key" (its private objects are hidden
/// from a public session), so the session's state is asked.
fn standing(session: &Session) -> Option<Loss> {
    match session.get_session_info() {
        Ok(info) => match info.session_state() {
            SessionState::RoUser | SessionState::RwUser => None,
            _ => Some(Loss::Login),
        },
        Err(CkError::Pkcs11(rv, _)) => loss(rv),
        Err(_) => None,
    }
}

/// How many sessions the pool may open on a token with these session limits (`CK_TOKEN_INFO`'s
/// `ulMaxSessionCount`, `ulMaxRwSessionCount`) on a host with `cpus` CPUs.
fn pool_size(max_sessions: Limit, max_rw_sessions: Limit, cpus: usize) -> usize {
    let limit = |l: Limit| match l {
        Limit::Max(n) => usize::try_from(n).unwrap_or(usize::MAX),
        Limit::Unavailable | Limit::Infinite => usize::MAX,
    };
    let token = limit(max_sessions).min(limit(max_rw_sessions));
    token.min(2 * cpus.max(1)).max(1)
}

impl SessionPool {
    /// Opens the first session and logs in with the PIN from `pin`.
    pub(super) fn open(
        module: Module,
        uri: Pkcs11Uri,
        slot: Slot,
        info: &TokenInfo,
        pin: PinSource,
        here: String,
    ) -> Result<Self> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pool = SessionPool {
            max: pool_size(info.max_session_count(), info.max_rw_session_count(), cpus),
            ctx: module.ctx.clone(),
            module,
            uri,
            pin,
            here,
            state: Mutex::new(State {
                slot,
                idle: Vec::new(),
                open: 0,
                generation: 0,
                failed: None,
            }),
            returned: Condvar::new(),
            login: Mutex::new(()),
            reinitialised: Mutex::new(None),
        };
        let session = pool.new_session()?;
        pool.log_in(&session)?;
        let mut state = pool.state();
        state.open = 1;
        state.idle.push(session);
        drop(state);
        Ok(pool)
    }

    /// Bumped each time every session was lost and the pool logged in anew.
    pub(super) fn generation(&self) -> u64 {
        self.state().generation
    }

    /// Sessions open now (idle or in use).
    pub(super) fn open_now(&self) -> usize {
        self.state().open
    }

    /// The most sessions this pool opens.
    pub(super) fn max(&self) -> usize {
        self.max
    }

    /// Runs `op` on a logged-in session. If the token has forgotten keyward's login or sessions,
    /// logs in again and runs `op` once more; if the token itself has gone bad, re-initializes
    /// the module and runs `op` once more; any other failure is returned as it is.
    pub(super) fn run<T>(
        &self,
        op: impl Fn(&Session) -> std::result::Result<T, OpError>,
    ) -> Result<T> {
        let first = self.run_in_session(&op);
        if first.is_err() && self.token_gone_bad() && self.reinitialise()? {
            return self.run_in_session(&op);
        }
        first
    }

    /// Calls into the module are in flight: [`module::reinitialise`] waits for them.
    fn in_flight(&self) -> RwLockReadGuard<'_, ()> {
        self.module.gate.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The token answers no `C_GetTokenInfo` (and keyward's PIN was not refused).
    fn token_gone_bad(&self) -> bool {
        let _calls = self.in_flight();
        let slot = {
            let state = self.state();
            if state.failed.is_some() {
                return false;
            }
            state.slot
        };
        self.ctx.get_token_info(slot).is_err()
    }

    /// Finalizes and initializes the module, chooses the token again, opens a session and logs
    /// in. `Ok(false)` when this pool did so less than [`REINIT_EVERY`] ago.
    fn reinitialise(&self) -> Result<bool> {
        {
            let mut last = self.reinitialised.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < REINIT_EVERY) {
                return Ok(false);
            }
            *last = Some(Instant::now());
        }
        tracing::warn!(
            "{}: the token answers no token information; initializing the PKCS#11 module again",
            self.here
        );
        let finalized = module::reinitialise(&self.module);
        let _calls = self.in_flight();
        let _login = self.login.lock().unwrap_or_else(|p| p.into_inner());
        {
            // Whatever came of it, the sessions' handles died with the old initialization (and
            // their numbers may be another pool's next): forgotten, not closed.
            let mut state = self.state();
            state.generation += 1;
            state.open = 0;
            for stale in state.idle.drain(..) {
                std::mem::forget(stale);
            }
        }
        finalized?;
        let (slot, _) = module::select_token(&self.ctx, &self.uri)?;
        self.state().slot = slot;
        let session = self.new_session()?;
        self.log_in_locked(&session)?;
        let mut state = self.state();
        state.open += 1;
        state.idle.push(session);
        drop(state);
        self.returned.notify_all();
        tracing::info!("{}: the token is back", self.here);
        Ok(true)
    }

    fn run_in_session<T>(
        &self,
        op: &impl Fn(&Session) -> std::result::Result<T, OpError>,
    ) -> Result<T> {
        let _calls = self.in_flight();
        let (session, generation) = self.checkout()?;
        let first = op(&session);
        let lost = match &first {
            Err(e) => e.rv().and_then(loss).or_else(|| standing(&session)),
            Ok(_) => None,
        };
        let (session, generation) = match lost {
            None => {
                self.checkin(session, generation);
                return first.map_err(|e| e.into_error(&self.here));
            }
            Some(Loss::Login) => {
                let relogged = self.log_in(&session);
                if let Err(e) = relogged {
                    self.checkin(session, generation);
                    return Err(e);
                }
                (session, generation)
            }
            Some(Loss::Sessions) => {
                self.discard(session, generation);
                self.renew(generation)?;
                self.checkout()?
            }
        };
        tracing::warn!(
            "{}: the token had forgotten keyward's {} ({:?}); logged in again",
            self.here,
            if lost == Some(Loss::Login) {
                "login"
            } else {
                "sessions"
            },
            first.err().and_then(|e| e.rv()),
        );
        let second = op(&session);
        match &second {
            Err(e) if e.rv().and_then(loss) == Some(Loss::Sessions) => {
                self.discard(session, generation)
            }
            _ => self.checkin(session, generation),
        }
        second.map_err(|e| e.into_error(&self.here))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn checkout(&self) -> Result<(Session, u64)> {
        let mut state = self.state();
        loop {
            if let Some(e) = &state.failed {
                return Err(Error::token(e.message().to_owned()));
            }
            if let Some(session) = state.idle.pop() {
                return Ok((session, state.generation));
            }
            if state.open < self.max {
                state.open += 1;
                let generation = state.generation;
                drop(state);
                return match self.new_session() {
                    Ok(session) => Ok((session, generation)),
                    Err(e) => {
                        let mut state = self.state();
                        if state.generation == generation {
                            state.open -= 1;
                        }
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            state = self.returned.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn checkin(&self, session: Session, generation: u64) {
        let mut state = self.state();
        if generation == state.generation {
            state.idle.push(session);
        } else {
            std::mem::forget(session);
        }
        drop(state);
        self.returned.notify_one();
    }

    /// A session the token no longer knows: forgotten, not closed.
    fn discard(&self, session: Session, generation: u64) {
        std::mem::forget(session);
        let mut state = self.state();
        if generation == state.generation {
            state.open -= 1;
        }
        drop(state);
        self.returned.notify_one();
    }

    /// Every session of `seen` is gone: unless another thread already did, forget them all,
    /// open a new session and log in.
    fn renew(&self, seen: u64) -> Result<()> {
        let _login = self.login.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = self.state();
        if state.generation != seen {
            return Ok(());
        }
        state.generation += 1;
        state.open = 0;
        for stale in state.idle.drain(..) {
            std::mem::forget(stale);
        }
        drop(state);
        let session = self.new_session()?;
        self.log_in_locked(&session)?;
        let mut state = self.state();
        state.open += 1;
        state.idle.push(session);
        drop(state);
        self.returned.notify_all();
        Ok(())
    }

    fn new_session(&self) -> Result<Session> {
        let slot = self.state().slot;
        self.ctx
            .open_rw_session(slot)
            .map_err(|e| ck_error(format_args!("{}: opening a session", self.here), e))
    }

    fn log_in(&self, session: &Session) -> Result<()> {
        let _login = self.login.lock().unwrap_or_else(|p| p.into_inner());
        self.log_in_locked(session)
    }

    /// `C_Login` with the PIN read afresh from its source. Call with `self.login` held.
    fn log_in_locked(&self, session: &Session) -> Result<()> {
        if let Some(e) = &self.state().failed {
            return Err(Error::token(e.message().to_owned()));
        }
        let pin = self.pin.read()?;
        let raw = RawAuthPin::new(Box::new(pin.expose().to_vec()));
        drop(pin);
        let result = session.login_with_raw(UserType::User, &raw);
        drop(raw); // SecretBox zeroizes its Vec.
        match result {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(e) => {
                let rv = match &e {
                    CkError::Pkcs11(rv, _) => Some(*rv),
                    _ => None,
                };
                let err = ck("logging in")(e).into_error(&self.here);
                if matches!(
                    rv,
                    Some(RvError::PinIncorrect | RvError::PinLocked | RvError::PinLenRange)
                ) {
                    self.state().failed = Some(Error::token(err.message().to_owned()));
                }
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_sized_to_the_token_and_the_host() {
        use Limit::*;
        assert_eq!(pool_size(Infinite, Unavailable, 2), 4);
        assert_eq!(pool_size(Max(3), Infinite, 8), 3);
        assert_eq!(pool_size(Infinite, Max(1), 8), 1);
        assert_eq!(pool_size(Max(0), Max(0), 8), 1);
        assert_eq!(pool_size(Unavailable, Unavailable, 0), 2);
    }

    #[test]
    fn only_lost_sessions_and_logins_are_recovered() {
        assert_eq!(loss(RvError::UserNotLoggedIn), Some(Loss::Login));
        for rv in [
            RvError::SessionHandleInvalid,
            RvError::SessionClosed,
            RvError::DeviceRemoved,
            RvError::TokenNotPresent,
        ] {
            assert_eq!(loss(rv), Some(Loss::Sessions), "{rv:?}");
        }
        for rv in [
            RvError::PinIncorrect,
            RvError::ArgumentsBad,
            RvError::KeyHandleInvalid,
            RvError::GeneralError,
        ] {
            assert_eq!(loss(rv), None, "{rv:?}");
        }
    }
}
