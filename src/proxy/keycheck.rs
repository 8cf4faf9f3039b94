//! The key-permission self-check: what each exchange says its credential's API key may do,
//! and what that does to the credential's requests.
//!
//! At start-up, before the bots' listener serves, and then every `[server]
//! permission_check_hours`, keyward signs its own request to each credential's permission
//! endpoint ([`probe`]), reads the answer with the exchange's
//! [`read_permissions`](crate::exchange::Exchange::read_permissions) and records the verdict
//! here, per credential and API key. Under `permission_check = "refuse"` (the default) a key
//! that can withdraw or transfer gets 403 `key_can_withdraw` on every request of its
//! credential, and a key whose permissions could not be had or read gets 403
//! `key_permissions_unknown` until a later check reads them (fail closed); a check that did not
//! find the key safe is repeated sooner ([`retry_after`]). `"warn"` serves and logs a warning
//! every hour; `"off"` never asks. Other credentials are not affected.

mod probe;
mod schedule;

pub use schedule::{check_keys, check_keys_once, check_new_keys, keep_checking_keys};

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::PermissionCheck;
use crate::exchange::permission::{Fact, Verdict};
use crate::request::Refusal;

/// The first retry after a check that did not find the key safe; each further one waits twice
/// as long, up to [`RETRY_CAP`] (and never longer than `permission_check_hours`).
pub const FIRST_RETRY: Duration = Duration::from_secs(15);
pub const RETRY_CAP: Duration = Duration::from_secs(15 * 60);
/// How often `"warn"` repeats its warning about a key that can move funds or is unknown.
pub const WARN_EVERY: Duration = Duration::from_secs(3600);

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    pub ip_restricted: Fact,
    pub checked_at: SystemTime,
    /// Why the verdict is what it is when it is not "safe" (the exchange's status, the fault,
    /// an unreadable answer): never the answer itself.
    pub why: String,
}

impl Finding {
    /// Whether a credential under `"refuse"` is served with this finding.
    pub fn serves(&self) -> bool {
        matches!(self.verdict, Verdict::Safe | Verdict::NotAvailable)
    }

    /// The verdict as `/status` and `keyward check` name it.
    pub fn verdict_name(&self) -> &'static str {
        match self.verdict {
            Verdict::Safe => "safe",
            Verdict::CanMove { .. } => "can_withdraw",
            Verdict::Unknown => "unknown",
            Verdict::NotAvailable => "not_checked",
        }
    }

    /// One sentence on what the exchange said, for logs, `check` and refusals.
    pub fn describe(&self) -> String {
        match self.verdict {
            Verdict::Safe => "the key can neither withdraw nor transfer".to_owned(),
            Verdict::CanMove { withdraw, transfer } => format!(
                "the exchange says the key can {}",
                match (withdraw, transfer) {
                    (true, true) => "withdraw and transfer funds",
                    (true, false) => "withdraw funds",
                    _ => "transfer funds between accounts",
                }
            ),
            Verdict::Unknown => format!("the key's permissions are unknown: {}", self.why),
            Verdict::NotAvailable if self.why.is_empty() => {
                "not checked: the exchange does not report a key's permissions".to_owned()
            }
            Verdict::NotAvailable => format!("not checked: {}", self.why),
        }
    }
}

/// What to tell the operator to do about a key refused for its permissions.
pub const RECREATE: &str = "create a new API key at the exchange with trade and read permissions only (no withdrawal, no transfer), seal it with `keyward seal`, and restart keyward";

/// The findings of every credential, kept for the process's life (a reload keeps them): each
/// is about one API key, so a credential whose key changes is checked again before it serves.
#[derive(Default)]
pub struct KeyChecks {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    /// SHA-256 of the API key the finding is about (never shown).
    key: [u8; 32],
    finding: Finding,
    /// Consecutive checks that did not find the key safe.
    failures: u32,
    next_due: Instant,
    warned: Option<Instant>,
}

/// A credential as the findings know it: its name, its API key (only hashed) and its mode.
pub struct KeyHolder<'a> {
    pub name: &'a str,
    pub api_key: &'a [u8],
    pub mode: PermissionCheck,
}

fn key_digest(c: &KeyHolder<'_>) -> [u8; 32] {
    Sha256::digest(c.api_key).into()
}

/// How long after the `failures`-th consecutive check that did not find the key safe the next
/// one runs: 15 s, 30 s, 1 min, ... up to 15 min, and at most `every`.
pub fn retry_after(failures: u32, every: Duration) -> Duration {
    let doubled = FIRST_RETRY.saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(RETRY_CAP).min(every)
}

impl KeyChecks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The finding about this credential's current key, if it was checked.
    pub fn finding(&self, c: &KeyHolder<'_>) -> Option<Finding> {
        let key = key_digest(c);
        self.lock()
            .get(c.name)
            .filter(|e| e.key == key)
            .map(|e| e.finding.clone())
    }

    /// Whether the credential's key is due for a check at `now` (never checked, a new key, or
    /// its time has come). A credential under `"off"` never is.
    pub fn due(&self, c: &KeyHolder<'_>, now: Instant) -> bool {
        if c.mode == PermissionCheck::Off {
            return false;
        }
        let key = key_digest(c);
        self.lock()
            .get(c.name)
            .is_none_or(|e| e.key != key || e.next_due <= now)
    }

    /// Records a check's finding and schedules the next check.
    pub fn record(&self, c: &KeyHolder<'_>, finding: Finding, every: Duration, now: Instant) {
        let key = key_digest(c);
        let mut entries = self.lock();
        let failures = match entries.get(c.name) {
            _ if finding.serves() => 0,
            Some(e) if e.key == key => e.failures.saturating_add(1),
            _ => 1,
        };
        let next = if failures == 0 {
            every
        } else {
            retry_after(failures, every)
        };
        let warned = entries.get(c.name).and_then(|e| e.warned);
        entries.insert(
            c.name.to_owned(),
            Entry {
                key,
                finding,
                failures,
                next_due: now + next,
                warned,
            },
        );
    }

    /// Under `"warn"`: whether a warning about this credential is due now (its key can move
    /// funds or is unknown, and the last warning is an hour old); marks it given.
    pub fn warning_due(&self, c: &KeyHolder<'_>, now: Instant) -> Option<Finding> {
        if c.mode != PermissionCheck::Warn {
            return None;
        }
        let key = key_digest(c);
        let mut entries = self.lock();
        let e = entries.get_mut(c.name).filter(|e| e.key == key)?;
        if e.finding.serves() || e.warned.is_some_and(|w| now < w + WARN_EVERY) {
            return None;
        }
        e.warned = Some(now);
        Some(e.finding.clone())
    }

    /// Admission: a credential under `"refuse"` is served only when its current key was
    /// checked and found safe (or its exchange reports nothing to check).
    pub fn admit(&self, c: &KeyHolder<'_>) -> Result<(), Refusal> {
        if c.mode != PermissionCheck::Refuse {
            return Ok(());
        }
        let name = c.name;
        match self.finding(c) {
            Some(f) if f.serves() => Ok(()),
            Some(f @ Finding { verdict: Verdict::CanMove { .. }, .. }) => {
                Err(Refusal::forbidden(
                    "key_can_withdraw",
                    format!(
                        "credential {name} is not served: {} (key-permission self-check, {}); {RECREATE}",
                        f.describe(),
                        humantime::format_rfc3339_seconds(f.checked_at)
                    ),
                ))
            }
            Some(f) => Err(Refusal::forbidden(
                "key_permissions_unknown",
                format!(
                    "credential {name} is not served until the exchange confirms its key cannot withdraw or transfer: {} (key-permission self-check, {}; retried soon)",
                    f.why,
                    humantime::format_rfc3339_seconds(f.checked_at)
                ),
            )),
            None => Err(Refusal::forbidden(
                "key_permissions_unknown",
                format!(
                    "credential {name} is not served until the exchange confirms its key cannot withdraw or transfer: its key has not been checked yet (the check runs within seconds)"
                ),
            )),
        }
    }

    /// The credential's `permission_check` entry in the admin API's `GET /status`.
    pub fn status(&self, c: &KeyHolder<'_>) -> Value {
        let mode = c.mode.as_str();
        if c.mode == PermissionCheck::Off {
            return json!({"mode": mode, "verdict": "not_checked", "checked_at": null,
                "ip_restricted": null, "detail": "permission_check = \"off\""});
        }
        match self.finding(c) {
            None => json!({"mode": mode, "verdict": "pending", "checked_at": null,
                "ip_restricted": null, "detail": "not checked yet"}),
            Some(f) => json!({
                "mode": mode,
                "verdict": f.verdict_name(),
                "withdraw": match f.verdict { Verdict::CanMove { withdraw, .. } => Some(withdraw), Verdict::Safe => Some(false), _ => None },
                "transfer": match f.verdict { Verdict::CanMove { transfer, .. } => Some(transfer), Verdict::Safe => Some(false), _ => None },
                "checked_at": humantime::format_rfc3339_seconds(f.checked_at).to_string(),
                "ip_restricted": match f.ip_restricted { Fact::Known(b) => Some(b), Fact::Unknown => None },
                "detail": f.describe(),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
