//! Bounds on connections: how many may be open, how long one may sit idle between requests or
//! take to send a request head, and how many requests are served at once.
//!
//! hyper's own `header_read_timeout` starts when hyper begins waiting for a head, so on a
//! keep-alive connection it also bounds the idle wait. keyward keeps the two apart: the
//! connection's [`Activity`] knows whether it is idle (no byte of the next request yet), reading a
//! head (since its first byte) or serving one, and [`Activity::expired`] says which bound is
//! past.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::config::Limits;
use crate::request::{Refusal, RefusalKind};

/// Connections over the cap that still get a `503 too_many_connections` answer (each for at
/// most [`REFUSAL_TIME`]); beyond these, a connection over the cap is closed at once.
const REFUSING: usize = 64;
/// How long a connection over the cap may take to send the request it is refused.
pub const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// The process-wide caps (`[server] max_connections`, `max_in_flight`), kept across reloads.
pub struct Caps {
    connections: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
    in_flight: Semaphore,
    max_connections: usize,
    max_in_flight: usize,
}

/// What to do with a connection just accepted.
pub enum Admission {
    /// Serve it; the permit is its place under the cap.
    Serve(OwnedSemaphorePermit),
    /// Over the cap: answer its first request with 503 and close.
    Refuse(OwnedSemaphorePermit),
    /// Over the cap with too many being refused already: close at once.
    Close,
}

impl Caps {
    pub fn new(limits: &Limits) -> Caps {
        Caps {
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            refusing: Arc::new(Semaphore::new(REFUSING)),
            in_flight: Semaphore::new(limits.max_in_flight),
            max_connections: limits.max_connections,
            max_in_flight: limits.max_in_flight,
        }
    }

    pub fn admit(&self) -> Admission {
        if let Ok(p) = self.connections.clone().try_acquire_owned() {
            return Admission::Serve(p);
        }
        match self.refusing.clone().try_acquire_owned() {
            Ok(p) => Admission::Refuse(p),
            Err(_) => Admission::Close,
        }
    }

    /// Connections being served, and requests in flight (for the metrics).
    pub fn in_use(&self) -> (usize, usize) {
        (
            self.max_connections - self.connections.available_permits(),
            self.max_in_flight - self.in_flight.available_permits(),
        )
    }

    /// The answer to a connection over the cap.
    pub fn too_many_connections(&self) -> Refusal {
        Refusal::new(
            RefusalKind::Unavailable,
            "too_many_connections",
            format!(
                "keyward already has {} connections open ([server] max_connections); reuse a keep-alive connection or retry later",
                self.max_connections
            ),
        )
        .retry_after(1)
    }

    /// A place among the requests in flight, or the 503 `overloaded` refusal.
    pub fn enter(&self) -> Result<SemaphorePermit<'_>, Refusal> {
        self.in_flight.try_acquire().map_err(|_| {
            Refusal::new(
                RefusalKind::Unavailable,
                "overloaded",
                format!(
                    "keyward is already serving {} requests ([server] max_in_flight); retry shortly",
                    self.max_in_flight
                ),
            )
            .retry_after(1)
        })
    }
}

/// Files keyward needs open besides its client connections (upstream pools, the audit log, the
/// token, connections being refused over the cap).
const OTHER_FILES: u64 = 256;

/// Raises the soft `RLIMIT_NOFILE` so that `max_connections` client connections fit (systemd's
/// default soft limit is 1024), up to the hard limit; warns when the hard limit is too low.
pub fn raise_open_files(max_connections: usize) {
    let need = max_connections as u64 + OTHER_FILES;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a local struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    if limit.rlim_cur < need {
        let raised = libc::rlimit {
            rlim_cur: need.min(limit.rlim_max),
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    if limit.rlim_cur < need {
        tracing::warn!(
            open_files = limit.rlim_cur,
            needed = need,
            "[server] max_connections = {max_connections} needs {need} open files but the limit is {}; raise it (systemd: LimitNOFILE={need}) or lower max_connections",
            limit.rlim_cur
        );
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first byte of a request, since then.
    Idle(Instant),
    /// Reading a request head whose first byte came then.
    Head(Instant),
    /// A request is being served.
    Serving,
}

/// Which bound a connection passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// Idle longer than `idle_timeout`: close it (nothing is lost).
    Idle,
    /// A head took longer than `header_read_timeout`: a slow client, cut off.
    Head,
    /// An answer stayed unread longer than `write_timeout` (the bot stopped reading, or reads
    /// too slowly): cut off, which frees the answer it held.
    Write,
}

/// `[server] idle_timeout_ms`, `header_read_timeout_ms` and `write_timeout_ms`: the bounds
/// on a connection waiting for its next request, reading a head, and writing an answer its bot
/// does not read.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionBounds {
    pub idle: Duration,
    pub head: Duration,
    pub write: Duration,
}

impl ConnectionBounds {
    /// A new connection's [`Activity`] under these bounds.
    pub fn activity(&self) -> Arc<Activity> {
        Activity::new(self.idle, self.head, self.write)
    }
}

/// One connection's phase, shared by its reader ([`Watched`]), its service and its watchdog.
#[derive(Debug)]
pub struct Activity {
    phase: Mutex<Phase>,
    /// Wakes the watchdog when a head starts (its deadline comes nearer).
    changed: Notify,
    idle_timeout: Duration,
    head_timeout: Duration,
    /// Since when a write has been waiting for the bot to read (None: not blocked).
    write_blocked: Mutex<Option<Instant>>,
    write_timeout: Duration,
}

impl Activity {
    pub fn new(
        idle_timeout: Duration,
        head_timeout: Duration,
        write_timeout: Duration,
    ) -> Arc<Activity> {
        Arc::new(Activity {
            phase: Mutex::new(Phase::Idle(Instant::now())),
            changed: Notify::new(),
            idle_timeout,
            head_timeout,
            write_blocked: Mutex::new(None),
            write_timeout,
        })
    }

    /// A write could not go on: the bot's receive window is full. The first of a run starts
    /// the write bound (and wakes the watchdog); a write that goes through ends it.
    fn write_polled<T>(&self, polled: &Poll<T>) {
        let mut blocked = self
            .write_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match (polled.is_pending(), blocked.is_some()) {
            (true, false) => {
                *blocked = Some(Instant::now());
                drop(blocked);
                self.changed.notify_one();
            }
            (false, true) => *blocked = None,
            _ => {}
        }
    }

    /// `[server] header_read_timeout_ms` (also the bound on a TLS handshake).
    pub fn head_timeout(&self) -> Duration {
        self.head_timeout
    }

    fn set(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        *phase = f(*phase);
    }

    /// Bytes arrived: an idle connection starts reading a head.
    fn read(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// A request head is complete and its request is being served.
    pub fn serving(&self) {
        self.set(|_| Phase::Serving)
    }

    /// Its answer is on its way: the connection waits for the next request.
    pub fn served(&self) {
        self.set(|_| Phase::Idle(Instant::now()))
    }

    /// When to look again, and which bound is past now (if any).
    pub fn check(&self, now: Instant) -> (Instant, Option<Expired>) {
        let blocked = *self
            .write_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(since) = blocked {
            // An answer waiting for its bot: only the write bound counts (an idle bound would
            // only start a graceful shutdown, which waits for that very answer).
            let deadline = since + self.write_timeout;
            return (deadline, (now >= deadline).then_some(Expired::Write));
        }
        let phase = *self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        let (deadline, which) = match phase {
            Phase::Idle(since) => (since + self.idle_timeout, Expired::Idle),
            Phase::Head(since) => (since + self.head_timeout, Expired::Head),
            Phase::Serving => return (now + self.head_timeout, None),
        };
        (deadline, (now >= deadline).then_some(which))
    }

    /// Waits until a bound is past.
    pub async fn expired(&self) -> Expired {
        loop {
            let (deadline, expired) = self.check(Instant::now());
            if let Some(which) = expired {
                return which;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {}
                _ = self.changed.notified() => {}
            }
        }
    }
}

/// A connection's byte stream, telling its [`Activity`] when bytes arrive.
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        Watched { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.activity.write_polled(&polled);
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.activity.write_polled(&polled);
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.activity.write_polled(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_blocked_past_the_write_timeout_expires_and_one_that_goes_on_does_not() {
        let a = Activity::new(
            Duration::from_secs(60),
            Duration::from_secs(10),
            Duration::from_secs(5),
        );
        let t0 = Instant::now();
        a.write_polled(&Poll::<()>::Pending);
        assert_eq!(a.check(t0 + Duration::from_secs(4)).1, None);
        assert_eq!(a.check(t0 + Duration::from_secs(6)).1, Some(Expired::Write));
        // A write that goes through ends the run; the idle bound applies again.
        a.write_polled(&Poll::Ready(()));
        assert_eq!(a.check(t0 + Duration::from_secs(6)).1, None);
        // Even idle for longer than idle_timeout, a blocked answer counts only its own bound.
        a.write_polled(&Poll::<()>::Pending);
        assert_eq!(
            a.check(t0 + Duration::from_secs(61)).1,
            Some(Expired::Write)
        );
    }

    #[tokio::test]
    async fn idle_and_head_bounds_are_apart() {
        let a = Activity::new(
            Duration::from_secs(60),
            Duration::from_secs(10),
            Duration::from_secs(30),
        );
        let t0 = Instant::now();
        assert_eq!(a.check(t0 + Duration::from_secs(30)).1, None);
        assert_eq!(a.check(t0 + Duration::from_secs(61)).1, Some(Expired::Idle));
        let before = Instant::now();
        a.read();
        let (deadline, none) = a.check(Instant::now());
        assert_eq!(none, None);
        assert!(deadline >= before + Duration::from_secs(10));
        assert!(deadline <= Instant::now() + Duration::from_secs(10));
        assert_eq!(
            a.check(Instant::now() + Duration::from_secs(11)).1,
            Some(Expired::Head)
        );
        a.serving();
        assert_eq!(a.check(Instant::now() + Duration::from_secs(3600)).1, None);
        a.served();
        let t1 = Instant::now();
        assert_eq!(a.check(t1 + Duration::from_secs(30)).1, None);
        let quick = Activity::new(
            Duration::from_millis(20),
            Duration::from_secs(10),
            Duration::from_secs(30),
        );
        assert_eq!(quick.expired().await, Expired::Idle);
        // A head that starts while the watchdog sleeps on the idle bound brings it nearer.
        let slow = Activity::new(
            Duration::from_secs(60),
            Duration::from_millis(50),
            Duration::from_secs(30),
        );
        let started = Instant::now();
        let watching = {
            let slow = slow.clone();
            tokio::spawn(async move { slow.expired().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        slow.read();
        assert_eq!(watching.await.unwrap(), Expired::Head);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
