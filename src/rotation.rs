//! A credential's key version as `serve` and `check` see it: its number, its age, and until
//! when keyward signs with it.
//!
//! A version stops signing at its `expires` (sealed into the vault) or `rotate_after_days`
//! after it was sealed, whichever comes first, and is *due* `warn_days` before that. The
//! moment is checked on every request and frame, so a version that expires while keyward runs
//! is refused from that moment (403 `credential_expired`), not from the next restart; the
//! other credentials keep working.

use std::time::{Duration, SystemTime};

use crate::request::Refusal;
use crate::vault::VaultHeader;

pub const DEFAULT_ROTATE_AFTER_DAYS: u32 = 90;
pub const DEFAULT_WARN_DAYS: u32 = 14;
/// Upper bound for both settings (ten years).
pub const MAX_DAYS: u32 = 3650;

const DAY: Duration = Duration::from_secs(86_400);

/// `[[credential]] rotate_after_days` and `warn_days`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    pub rotate_after_days: u32,
    pub warn_days: u32,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        RotationPolicy {
            rotate_after_days: DEFAULT_ROTATE_AFTER_DAYS,
            warn_days: DEFAULT_WARN_DAYS,
        }
    }
}

/// Why a version stops signing when it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The `expires` sealed into the vault.
    Expires,
    /// `rotate_after_days` after `created`.
    RotateAfter,
}

/// Where a version stands at some moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Current,
    /// Within `warn_days` of its end: rotate soon.
    Due,
    /// Past its end: keyward does not sign with it.
    Expired,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Current => "current",
            Standing::Due => "due",
            Standing::Expired => "expired",
        }
    }
}

/// The key version a credential signs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVersion {
    /// Its number (from 1) and how many versions the vault holds.
    pub number: u32,
    pub versions: u32,
    pub created: SystemTime,
    /// The `expires` sealed with it, if any.
    pub sealed_expiry: Option<SystemTime>,
    pub policy: RotationPolicy,
}

impl KeyVersion {
    pub fn new(header: &VaultHeader, policy: RotationPolicy) -> KeyVersion {
        KeyVersion {
            number: header.version,
            versions: header.versions,
            created: header.created,
            sealed_expiry: header.expires,
            policy,
        }
    }

    /// The same version under another policy (a reload that changed only the settings).
    pub fn with_policy(&self, policy: RotationPolicy) -> KeyVersion {
        KeyVersion {
            policy,
            ..self.clone()
        }
    }

    /// The moment keyward stops signing with this version, and why.
    pub fn ends(&self) -> (SystemTime, Limit) {
        let rotate_by = self.created + DAY * self.policy.rotate_after_days;
        match self.sealed_expiry {
            Some(expires) if expires <= rotate_by => (expires, Limit::Expires),
            _ => (rotate_by, Limit::RotateAfter),
        }
    }

    pub fn standing(&self, now: SystemTime) -> Standing {
        let (end, _) = self.ends();
        if now >= end {
            Standing::Expired
        } else if now + DAY * self.policy.warn_days >= end {
            Standing::Due
        } else {
            Standing::Current
        }
    }

    /// Whole days since it was sealed (0 for a clock behind its `created`).
    pub fn age_days(&self, now: SystemTime) -> u64 {
        now.duration_since(self.created)
            .map(|d| d.as_secs() / DAY.as_secs())
            .unwrap_or(0)
    }

    /// One line for logs and `keyward check`: number, age, end and why.
    pub fn describe(&self, now: SystemTime) -> String {
        let (end, limit) = self.ends();
        let why = match limit {
            Limit::Expires => "its sealed expiry".to_owned(),
            Limit::RotateAfter => format!("rotate_after_days = {}", self.policy.rotate_after_days),
        };
        let verb = match self.standing(now) {
            Standing::Expired => "expired",
            Standing::Current | Standing::Due => "signs until",
        };
        format!(
            "key version {} of {}, sealed {} ({} days ago), {verb} {} ({why})",
            self.number,
            self.versions,
            rfc3339(self.created),
            self.age_days(now),
            rfc3339(end)
        )
    }

    /// `Err` once the version has expired: 403 `credential_expired`, naming `keyward rotate`.
    pub fn check(&self, credential: &str, now: SystemTime) -> Result<(), Refusal> {
        if self.standing(now) != Standing::Expired {
            return Ok(());
        }
        Err(Refusal::forbidden(
            "credential_expired",
            format!(
                "credential {credential}: {}; keyward no longer signs with it. Seal the new key \
                 with `keyward rotate --config ... --credential {credential}`, pin the \
                 vault_sha256 it prints and reload",
                self.describe(now)
            ),
        ))
    }
}

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::RefusalKind;

    fn version(age_days: u64, sealed_expiry_in_days: Option<u64>, now: SystemTime) -> KeyVersion {
        KeyVersion {
            number: 2,
            versions: 2,
            created: now - DAY * age_days as u32,
            sealed_expiry: sealed_expiry_in_days.map(|d| now + DAY * d as u32),
            policy: RotationPolicy::default(),
        }
    }

    #[test]
    fn a_version_is_current_then_due_then_expired_by_age() {
        let now = SystemTime::UNIX_EPOCH + DAY * 20_000;
        assert_eq!(version(0, None, now).standing(now), Standing::Current);
        assert_eq!(version(75, None, now).standing(now), Standing::Current);
        assert_eq!(version(76, None, now).standing(now), Standing::Due);
        assert_eq!(version(89, None, now).standing(now), Standing::Due);
        assert_eq!(version(90, None, now).standing(now), Standing::Expired);
        let v = version(89, None, now);
        assert_eq!(v.ends(), (now + DAY, Limit::RotateAfter));
        // The moment it ends, not a day later.
        assert_eq!(
            v.standing(now + DAY - Duration::from_secs(1)),
            Standing::Due
        );
        assert_eq!(v.standing(now + DAY), Standing::Expired);
        assert_eq!(v.age_days(now), 89);
    }

    #[test]
    fn the_earlier_of_the_sealed_expiry_and_rotate_after_days_counts() {
        let now = SystemTime::UNIX_EPOCH + DAY * 20_000;
        let v = version(10, Some(3), now);
        assert_eq!(v.ends(), (now + DAY * 3, Limit::Expires));
        assert_eq!(v.standing(now), Standing::Due);
        let v = version(10, Some(300), now);
        assert_eq!(v.ends().1, Limit::RotateAfter);
        let strict = v.with_policy(RotationPolicy {
            rotate_after_days: 10,
            warn_days: 0,
        });
        assert_eq!(strict.standing(now), Standing::Expired);
        let lax = v.with_policy(RotationPolicy {
            rotate_after_days: 365,
            warn_days: 0,
        });
        assert_eq!(lax.standing(now), Standing::Current);
    }

    #[test]
    fn an_expired_version_is_refused_naming_keyward_rotate() {
        let now = SystemTime::UNIX_EPOCH + DAY * 20_000;
        assert!(version(89, None, now).check("main", now).is_ok());
        let refusal = version(91, None, now).check("main", now).unwrap_err();
        assert_eq!(refusal.kind, RefusalKind::Forbidden);
        assert_eq!(refusal.code, "credential_expired");
        for want in [
            "credential main",
            "key version 2 of 2",
            "91 days ago",
            "rotate_after_days = 90",
            "keyward rotate --config ... --credential main",
        ] {
            assert!(
                refusal.message.contains(want),
                "{want:?}: {}",
                refusal.message
            );
        }
    }
}
