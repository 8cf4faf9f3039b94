//! Which rows `audit search`, `stats` and `report` look at.

use std::time::{Duration, SystemTime};

use super::entry::{Decision, Row};

/// Every condition must hold; an absent one holds for every row.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub client: Option<String>,
    pub credential: Option<String>,
    pub endpoint: Option<Endpoint>,
    pub decision: Option<Decision>,
    /// Records at or after this time.
    pub since: Option<SystemTime>,
    /// Records before this time.
    pub until: Option<SystemTime>,
}

impl Filter {
    pub fn matches(&self, row: &Row) -> bool {
        self.matches_before_outcome(row) && self.decision.is_none_or(|d| d == row.decision())
    }

    /// Every condition that does not depend on the outcome (all but `decision`, which is
    /// `error` only once the outcome says so; `allow` could still become `error`).
    pub fn matches_before_outcome(&self, row: &Row) -> bool {
        let time = row.time;
        let decided = match self.decision {
            Some(Decision::Error) | Some(Decision::Allow) => row.verdict == Decision::Allow,
            Some(d) => row.verdict == d,
            None => true,
        };
        decided
            && self.client.as_ref().is_none_or(|c| *c == row.client)
            && self
                .credential
                .as_ref()
                .is_none_or(|c| *c == row.credential)
            && self.endpoint.as_ref().is_none_or(|e| e.matches(row))
            && self.since.is_none_or(|t| time >= t)
            && self.until.is_none_or(|t| time < t)
    }
}

/// `--endpoint`: a path (`/api/v3/order`), or a method and a path (`POST /api/v3/order`); a
/// trailing `*` matches every path that starts with what precedes it (`/api/v3/*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    method: Option<String>,
    path: String,
    prefix: bool,
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let text = text.trim();
        let (method, path) = match text.split_once(' ') {
            Some((m, p)) => (Some(m.to_ascii_uppercase()), p.trim()),
            None => (None, text),
        };
        if !path.starts_with('/') {
            return Err(format!(
                "--endpoint {text:?}: give a path such as /api/v3/order, optionally after a \
                 method (\"POST /api/v3/order\") or ending in * (/api/v3/*)"
            ));
        }
        let (path, prefix) = match path.strip_suffix('*') {
            Some(p) => (p.to_owned(), true),
            None => (path.to_owned(), false),
        };
        Ok(Endpoint {
            method,
            path,
            prefix,
        })
    }

    fn matches(&self, row: &Row) -> bool {
        let path_ok = if self.prefix {
            row.path.starts_with(&self.path)
        } else {
            row.path == self.path
        };
        path_ok && self.method.as_ref().is_none_or(|m| *m == row.method)
    }
}

/// `--since` / `--until`: an RFC 3339 time (`2026-12-04T10:00:00Z`) or a duration back from
/// `now` (`15m`, `2h`, `7days`).
pub fn parse_time(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return Ok(t);
    }
    let back: Duration = humantime::parse_duration(text).map_err(|_| {
        format!(
            "{text:?} is neither an RFC 3339 time (2026-12-04T10:00:00Z) nor a duration back \
             from now (15m, 2h, 7days)"
        )
    })?;
    now.checked_sub(back)
        .ok_or_else(|| format!("{text:?} reaches back before the system clock's epoch"))
}
