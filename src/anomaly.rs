//! Anomaly triggers: per-client rules that disable a bot (or only log) when what it does says it
//! may be compromised — a hard-deny hit (a bot that tries to withdraw), a request from a source
//! address never seen for it, a burst of denied requests. Pure values and counting here; the
//! kill switch in `src/proxy/kill.rs` applies them, and [`kept`] is what survives a restart.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub mod kept;

/// What a trigger does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaction {
    /// Disable the client through the kill switch (until an operator enables it).
    Disable,
    /// Only log (at warn) and audit.
    Log,
}

impl Reaction {
    pub fn name(self) -> &'static str {
        match self {
            Reaction::Disable => "disable",
            Reaction::Log => "log",
        }
    }

    /// `"disable"` or `"log"`.
    pub fn parse(text: &str) -> Option<Reaction> {
        match text {
            "disable" => Some(Reaction::Disable),
            "log" => Some(Reaction::Log),
            _ => None,
        }
    }
}

/// `deny_burst = { count, window_s, action }`: reaching `count` denied requests within `window`
/// fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenyBurst {
    pub count: u32,
    pub window: Duration,
    pub reaction: Reaction,
}

/// One client's triggers (`[[client]] on_hard_deny`, `on_new_source`, `deny_burst`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Triggers {
    pub on_hard_deny: Reaction,
    pub on_new_source: Reaction,
    pub deny_burst: Option<DenyBurst>,
}

impl Default for Triggers {
    /// Only the hard-deny trigger disables by default: a bot that tries to withdraw is
    /// compromised; a new source address is logged; no burst trigger.
    fn default() -> Self {
        Triggers {
            on_hard_deny: Reaction::Disable,
            on_new_source: Reaction::Log,
            deny_burst: None,
        }
    }
}

/// Who disabled a client or credential: an operator or one of the triggers (named as the
/// config key that sets it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Operator,
    OnHardDeny,
    OnNewSource,
    DenyBurst,
}

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Cause::Operator => "operator",
            Cause::OnHardDeny => "on_hard_deny",
            Cause::OnNewSource => "on_new_source",
            Cause::DenyBurst => "deny_burst",
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the kill switch acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Client,
    Credential,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Client => "client",
            Target::Credential => "credential",
        }
    }
}

/// The times of one client's recent denied requests, for its `deny_burst` trigger.
#[derive(Debug, Default)]
pub struct DenyWindow(VecDeque<Instant>);

impl DenyWindow {
    /// Counts a denial at `now`; true when it makes `burst.count` denials within
    /// `burst.window` (the window then starts afresh, so one burst fires once).
    pub fn deny(&mut self, now: Instant, burst: &DenyBurst) -> bool {
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) >= burst.window)
        {
            self.0.pop_front();
        }
        self.0.push_back(now);
        // Never hold more than the count: older ones cannot matter.
        while self.0.len() > burst.count as usize {
            self.0.pop_front();
        }
        if self.0.len() >= burst.count as usize {
            self.0.clear();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst(count: u32, secs: u64) -> DenyBurst {
        DenyBurst {
            count,
            window: Duration::from_secs(secs),
            reaction: Reaction::Disable,
        }
    }

    #[test]
    fn reaching_the_count_within_the_window_fires_once() {
        let b = burst(3, 10);
        let t0 = Instant::now();
        let mut w = DenyWindow::default();
        assert!(!w.deny(t0, &b));
        assert!(!w.deny(t0 + Duration::from_secs(1), &b));
        assert!(w.deny(t0 + Duration::from_secs(2), &b));
        // The window starts afresh after firing.
        assert!(!w.deny(t0 + Duration::from_secs(3), &b));
        assert!(!w.deny(t0 + Duration::from_secs(4), &b));
        assert!(w.deny(t0 + Duration::from_secs(5), &b));
    }

    #[test]
    fn denials_older_than_the_window_do_not_count() {
        let b = burst(3, 10);
        let t0 = Instant::now();
        let mut w = DenyWindow::default();
        assert!(!w.deny(t0, &b));
        assert!(!w.deny(t0 + Duration::from_secs(5), &b));
        // The first one is exactly window_s old: out.
        assert!(!w.deny(t0 + Duration::from_secs(10), &b));
        assert!(w.deny(t0 + Duration::from_secs(11), &b));
    }

    #[test]
    fn a_count_of_one_fires_on_every_denial() {
        let b = burst(1, 60);
        let mut w = DenyWindow::default();
        let t0 = Instant::now();
        assert!(w.deny(t0, &b));
        assert!(w.deny(t0, &b));
    }

    #[test]
    fn only_the_hard_deny_trigger_disables_by_default() {
        let t = Triggers::default();
        assert_eq!(t.on_hard_deny, Reaction::Disable);
        assert_eq!(t.on_new_source, Reaction::Log);
        assert_eq!(t.deny_burst, None);
        assert_eq!(Reaction::parse("log"), Some(Reaction::Log));
        assert_eq!(Reaction::parse("Disable"), None);
    }
}
