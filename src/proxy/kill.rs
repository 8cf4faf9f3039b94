//! The kill switch: clients and credentials an operator or an anomaly trigger has disabled,
//! and what each client has been doing (its last source address, its request and denial counts,
//! the source addresses learned for it). Shared by every snapshot's clients, so a reload keeps
//! it; checked at admission, which runs for every HTTP request and every WebSocket frame, so a
//! disabled client's next request gets 403 `client_disabled` and its open sessions refuse their
//! next frame, while requests already past admission finish.
//!
//! With a state file (`<audit log>.state`, beside the audit log, see [`crate::anomaly::kept`]) the
//! disabled entries and the learned sources are written on every change and read at start-up,
//! so a disabled state survives a restart until an operator enables it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use crate::anomaly::kept::{Disabled, Kept, MAX_SOURCES};
use crate::anomaly::{Cause, DenyWindow, Reaction, Triggers};
use crate::audit::{AnomalyRecord, AuditLog, Event};
use crate::error::Result;
use crate::request::Refusal;

pub use crate::anomaly::Target;

/// The disabled names and each client's activity (names are validated, never secret).
#[derive(Default)]
pub struct KillSwitch {
    inner: Mutex<Inner>,
    /// Where the state is kept; `None`: in memory only.
    file: Option<PathBuf>,
    /// Where fired triggers are recorded.
    audit: Option<Sink>,
}

#[derive(Default)]
struct Inner {
    kept: Kept,
    seen: HashMap<String, Seen>,
    /// Sources learned for `on_new_source = "log"` clients not yet written: they go with the
    /// next write or at shutdown ([`KillSwitch::flush`]), not one file sync per new address
    /// on the request path (losing them in a crash only means learning them again, which a
    /// "log" client only logs).
    unwritten: bool,
}

/// What one client has been doing since start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    pub last_source: Option<SocketAddr>,
    /// Requests and WebSocket frames that authenticated as the client (refused ones too).
    pub requests: u64,
    /// Of those, the ones refused for what they asked (the policy's denials, and malformed or
    /// refused requests once the client is known; not rate limits or the kill switch).
    pub denied: u64,
}

#[derive(Default)]
struct Seen {
    activity: Activity,
    /// Recent denials, for `deny_burst`.
    window: DenyWindow,
}

/// The audit log the requests use, and whether appends wait for the disk.
struct Sink {
    log: Arc<AuditLog>,
    sync: bool,
}

/// A trigger that fired, to be logged and audited once the lock is released.
struct Fired {
    cause: Cause,
    client: String,
    source: SocketAddr,
    reaction: Reaction,
    reason: String,
}

fn now_text() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A blocking step (a file write, an fsync'd append) run so the async runtime moves this
/// worker's other tasks elsewhere meanwhile.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl KillSwitch {
    /// The kill switch kept in `file` (read now: a file keyward cannot read refuses start-up),
    /// recording fired triggers in `audit`.
    pub fn open(file: PathBuf, audit: Arc<AuditLog>, sync: bool) -> Result<KillSwitch> {
        let kept = Kept::load(&file)?;
        for d in &kept.disabled {
            tracing::warn!(
                target_kind = d.target.name(),
                name = %d.name,
                by = d.by.name(),
                at = %d.at,
                "{} {} is disabled (kept in {}); `keyward admin enable {} {}` enables it",
                d.target.name(),
                d.name,
                file.display(),
                d.target.name(),
                d.name
            );
        }
        Ok(KillSwitch {
            inner: Mutex::new(Inner {
                kept,
                seen: HashMap::new(),
                unwritten: false,
            }),
            file: Some(file),
            audit: Some(Sink { log: audit, sync }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the state file (if any) with `kept`.
    fn persist(&self, kept: &Kept) -> Result<()> {
        match &self.file {
            Some(file) => blocking(|| kept.save(file)),
            None => Ok(()),
        }
    }

    /// Writes the sources learned and not yet written (at shutdown). Blocks.
    pub fn flush(&self) {
        let mut inner = self.lock();
        if inner.unwritten {
            match self.persist(&inner.kept) {
                Ok(()) => inner.unwritten = false,
                Err(e) => {
                    tracing::error!(error = %e, "cannot write the state file: learned source addresses are lost")
                }
            }
        }
    }

    /// An operator disables `name`; returns whether it was enabled before. `Err`: it is
    /// disabled now, but the state file could not be written (a restart would enable it).
    pub fn disable(&self, target: Target, name: &str, reason: &str) -> Result<bool> {
        let mut inner = self.lock();
        let added = inner.kept.disable(Disabled {
            target,
            name: name.to_owned(),
            by: Cause::Operator,
            at: now_text(),
            reason: reason.to_owned(),
            source: None,
        });
        if added {
            self.persist(&inner.kept)?;
        }
        Ok(added)
    }

    /// An operator enables `name`; returns whether it was disabled before. Enabling a client
    /// that `on_new_source` disabled accepts the address that fired it (it is learned). `Err`:
    /// the state file could not be written, and `name` stays disabled.
    pub fn enable(&self, target: Target, name: &str) -> Result<bool> {
        let mut inner = self.lock();
        let before = inner.kept.clone();
        let Some(entry) = inner.kept.enable(target, name) else {
            return Ok(false);
        };
        if let (Cause::OnNewSource, Some(source)) = (entry.by, entry.source) {
            inner.kept.learn(name, source);
        }
        if let Err(e) = self.persist(&inner.kept) {
            inner.kept = before;
            return Err(e);
        }
        Ok(true)
    }

    pub fn is_disabled(&self, target: Target, name: &str) -> bool {
        self.lock().kept.disabled(target, name).is_some()
    }

    /// Who disabled `name`, when and why, if it is disabled.
    pub fn disabled(&self, target: Target, name: &str) -> Option<Disabled> {
        self.lock().kept.disabled(target, name).cloned()
    }

    /// What `client` has been doing since start-up.
    pub fn activity(&self, client: &str) -> Activity {
        self.lock()
            .seen
            .get(client)
            .map(|s| s.activity)
            .unwrap_or_default()
    }

    /// Admission of a request (or frame) of `client` from `peer`: counted (its last source
    /// noted), then refused if the client, or else the credential, is disabled.
    pub fn admit(&self, client: &str, credential: &str, peer: SocketAddr) -> Result<(), Refusal> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let seen = inner.seen.entry(client.to_owned()).or_default();
        seen.activity.requests += 1;
        seen.activity.last_source = Some(peer);
        if let Some(d) = inner.kept.disabled(Target::Client, client) {
            return Err(refused(d));
        }
        if let Some(d) = inner.kept.disabled(Target::Credential, credential) {
            return Err(refused(d));
        }
        Ok(())
    }

    /// 403 `client_disabled` / `credential_disabled` while `name` is disabled (readiness asks
    /// this of each credential; requests go through [`KillSwitch::admit`]).
    pub fn check(&self, target: Target, name: &str) -> Result<(), Refusal> {
        match self.lock().kept.disabled(target, name) {
            Some(d) => Err(refused(d)),
            None => Ok(()),
        }
    }

    /// A request (or frame) of `client` from `peer` was admitted: its source address is checked
    /// against the ones learned for the client (`on_new_source`; the first one is learned). A
    /// new source under `"disable"` disables the client and refuses this request.
    pub fn arrived(
        &self,
        client: &str,
        peer: SocketAddr,
        reaction: Reaction,
    ) -> Result<(), Refusal> {
        let ip = peer.ip();
        let reason = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let known = inner.kept.sources.get(client);
            let count = known.map_or(0, |k| k.len());
            if known.is_some_and(|k| k.contains(&ip)) {
                return Ok(());
            }
            if count >= MAX_SOURCES && reaction == Reaction::Log {
                // Full: further addresses are neither learned nor reported (README says so).
                return Ok(());
            }
            let reason = new_source_reason(known, ip);
            if count == 0 || reaction == Reaction::Log {
                inner.kept.learn(client, ip);
                if reaction == Reaction::Log {
                    inner.unwritten = true;
                } else if let Err(e) = self.persist(&inner.kept) {
                    tracing::error!(error = %e, client, "cannot write the state file: the learned source address is kept in memory only");
                }
                if count == 0 {
                    tracing::info!(client, source = %ip, "first source address learned");
                    return Ok(());
                }
            } else {
                self.fire_disable(inner, client, Cause::OnNewSource, &reason, Some(ip));
            }
            reason
        };
        self.report(&Fired {
            cause: Cause::OnNewSource,
            client: client.to_owned(),
            source: peer,
            reaction,
            reason,
        });
        match reaction {
            Reaction::Log => Ok(()),
            Reaction::Disable => self.check(Target::Client, client),
        }
    }

    /// A request (or frame) of `client` from `peer` was denied: counted, then its
    /// `on_hard_deny` (when `hard_deny` is the reason) and `deny_burst` triggers are applied.
    /// `what` names the request (method and path) for the trigger's record.
    pub fn denied(
        &self,
        client: &str,
        peer: SocketAddr,
        triggers: &Triggers,
        hard_deny: Option<&str>,
        what: &str,
    ) {
        let mut fired = Vec::new();
        {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let seen = inner.seen.entry(client.to_owned()).or_default();
            seen.activity.denied += 1;
            let burst = triggers
                .deny_burst
                .filter(|b| seen.window.deny(Instant::now(), b));
            if let Some(why) = hard_deny {
                fired.push((
                    Cause::OnHardDeny,
                    triggers.on_hard_deny,
                    format!("{what}: {why}"),
                ));
            }
            if let Some(b) = burst {
                fired.push((
                    Cause::DenyBurst,
                    b.reaction,
                    format!(
                        "{} denied requests within {} s (the last: {what})",
                        b.count,
                        b.window.as_secs()
                    ),
                ));
            }
            for (cause, reaction, reason) in &fired {
                if *reaction == Reaction::Disable {
                    self.fire_disable(inner, client, *cause, reason, None);
                }
            }
        }
        for (cause, reaction, reason) in fired {
            self.report(&Fired {
                cause,
                client: client.to_owned(),
                source: peer,
                reaction,
                reason,
            });
        }
    }

    /// A trigger disables `client` (if no one has yet) and writes the state file.
    fn fire_disable(
        &self,
        inner: &mut Inner,
        client: &str,
        cause: Cause,
        reason: &str,
        source: Option<IpAddr>,
    ) {
        let added = inner.kept.disable(Disabled {
            target: Target::Client,
            name: client.to_owned(),
            by: cause,
            at: now_text(),
            reason: reason.to_owned(),
            source,
        });
        if added {
            if let Err(e) = self.persist(&inner.kept) {
                tracing::error!(error = %e, client, "cannot write the state file: the client is disabled now, but a restart would enable it");
            }
        }
    }

    /// Logs a fired trigger at warn and audits it.
    fn report(&self, f: &Fired) {
        let action = f.reaction.name();
        tracing::warn!(
            trigger = f.cause.name(),
            client = %f.client,
            source = %f.source,
            action,
            reason = %f.reason,
            "anomaly trigger fired{}",
            if f.reaction == Reaction::Disable { ": client disabled" } else { "" }
        );
        let Some(sink) = &self.audit else { return };
        let source = f.source.to_string();
        let event = Event::Anomaly(AnomalyRecord {
            trigger: f.cause.name(),
            client: &f.client,
            source: &source,
            action,
            reason: &f.reason,
        });
        let written = if sink.sync {
            blocking(|| sink.log.append(&event))
        } else {
            sink.log.append(&event)
        };
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot write the anomaly audit record");
        }
    }
}

/// Why an address counts as new.
fn new_source_reason(known: Option<&std::collections::BTreeSet<IpAddr>>, ip: IpAddr) -> String {
    let known: Vec<String> = known
        .into_iter()
        .flatten()
        .take(4)
        .map(IpAddr::to_string)
        .collect();
    format!("new source address {ip} (learned: {})", known.join(", "))
}

/// The refusal of a disabled client's or credential's request (403, naming how to enable it).
fn refused(d: &Disabled) -> Refusal {
    let by = match d.by {
        Cause::Operator => "the operator".to_owned(),
        trigger => format!("the {trigger} trigger"),
    };
    let code = match d.target {
        Target::Client => "client_disabled",
        Target::Credential => "credential_disabled",
    };
    let message = format!(
        "{} {} is disabled by {by} since {} ({}); `keyward admin enable {} {}` enables it",
        d.target.name(),
        d.name,
        d.at,
        d.reason,
        d.target.name(),
        d.name
    );
    Refusal::forbidden(code, message)
}

#[cfg(test)]
mod tests;
