//! `audit stats`: counts by decision, client, credential and endpoint, and latency percentiles.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::entry::{Decision, Row};
use super::show::clean;

/// How many rows had each decision.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: u64,
    pub allow: u64,
    pub deny: u64,
    pub refuse: u64,
    pub error: u64,
}

impl Counts {
    pub fn add(&mut self, decision: Decision) {
        self.total += 1;
        *match decision {
            Decision::Allow => &mut self.allow,
            Decision::Deny => &mut self.deny,
            Decision::Refuse => &mut self.refuse,
            Decision::Error => &mut self.error,
        } += 1;
    }

    /// Denied by the policy or refused before it.
    pub fn refused(&self) -> u64 {
        self.deny + self.refuse
    }
}

/// Nearest-rank percentiles of the outcomes' `latency_ms` (the smallest value with at least
/// p % of the values at or below it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// `None` for no values.
    pub fn of(mut values: Vec<f64>) -> Option<Latency> {
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let n = values.len();
            let k = ((p / 100.0) * n as f64).ceil() as usize;
            values[k.clamp(1, n) - 1]
        };
        Some(Latency {
            count: values.len(),
            p50: rank(50.0),
            p90: rank(90.0),
            p95: rank(95.0),
            p99: rank(99.0),
            max: values[values.len() - 1],
        })
    }
}

/// Everything `audit stats` prints (and `--json` serialises).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub first: Option<String>,
    pub last: Option<String>,
    /// REST requests and WebSocket frames.
    pub decisions: Counts,
    pub requests: u64,
    pub frames: u64,
    pub by_client: BTreeMap<String, Counts>,
    pub by_credential: BTreeMap<String, Counts>,
    pub by_endpoint: BTreeMap<String, Counts>,
    /// The exchange's status codes in outcome records.
    pub by_status: BTreeMap<u16, u64>,
    pub latency_ms: Option<Latency>,
}

impl Stats {
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Stats {
        let mut stats = Stats::default();
        let mut latencies = Vec::new();
        for row in rows {
            if stats.first.is_none() {
                stats.first = Some(row.time_text.clone());
            }
            stats.last = Some(row.time_text.clone());
            let decision = row.decision();
            stats.decisions.add(decision);
            if row.is_frame() {
                stats.frames += 1;
            } else {
                stats.requests += 1;
            }
            for (map, key) in [
                (&mut stats.by_client, &row.client),
                (&mut stats.by_credential, &row.credential),
            ] {
                map.entry(display_name(key)).or_default().add(decision);
            }
            stats
                .by_endpoint
                .entry(row.endpoint())
                .or_default()
                .add(decision);
            if let Some(outcome) = &row.outcome {
                *stats.by_status.entry(outcome.status).or_default() += 1;
                latencies.extend(outcome.latency_ms);
            }
        }
        stats.latency_ms = Latency::of(latencies);
        stats
    }

    /// The text `audit stats` prints.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let d = &self.decisions;
        match (&self.first, &self.last) {
            (Some(first), Some(last)) => {
                let _ = writeln!(out, "{first} .. {last}");
            }
            _ => {
                out.push_str("no requests match\n");
                return out;
            }
        }
        let _ = writeln!(
            out,
            "{} decided ({} requests, {} WebSocket frames): allow {}, deny {}, refuse {}, error {}",
            d.total, self.requests, self.frames, d.allow, d.deny, d.refuse, d.error
        );
        match &self.latency_ms {
            Some(l) => {
                let _ = writeln!(
                    out,
                    "latency ms ({} outcomes): p50 {:.3}  p90 {:.3}  p95 {:.3}  p99 {:.3}  max {:.3}",
                    l.count, l.p50, l.p90, l.p95, l.p99, l.max
                );
            }
            None => out.push_str("latency: no outcome records\n"),
        }
        if !self.by_status.is_empty() {
            let statuses: Vec<String> = self
                .by_status
                .iter()
                .map(|(s, n)| format!("{s}: {n}"))
                .collect();
            let _ = writeln!(out, "exchange status: {}", statuses.join(", "));
        }
        for (title, map) in [
            ("client", &self.by_client),
            ("credential", &self.by_credential),
            ("endpoint", &self.by_endpoint),
        ] {
            table(&mut out, title, map);
        }
        out
    }
}

/// An empty client or credential (refused before authentication or routing) shown as `-`.
fn display_name(name: &str) -> String {
    if name.is_empty() {
        "-".to_owned()
    } else {
        name.to_owned()
    }
}

fn table(out: &mut String, title: &str, map: &BTreeMap<String, Counts>) {
    let width = map
        .keys()
        .map(|k| clean(k).chars().count())
        .chain([title.len()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{title:<width$}  {:>7} {:>7} {:>7} {:>7} {:>7}",
        "total", "allow", "deny", "refuse", "error"
    );
    let mut rows: Vec<(String, &Counts)> = map.iter().map(|(k, c)| (clean(k), c)).collect();
    rows.sort_by(|a, b| b.1.total.cmp(&a.1.total).then(a.0.cmp(&b.0)));
    for (name, c) in rows {
        let _ = writeln!(
            out,
            "{name:<width$}  {:>7} {:>7} {:>7} {:>7} {:>7}",
            c.total, c.allow, c.deny, c.refuse, c.error
        );
    }
}
