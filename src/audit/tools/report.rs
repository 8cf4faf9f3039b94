//! `audit report --html`: one self-contained static page with charts.
//!
//! The page needs no network when it is opened: its style, its script and the data are inline,
//! the charts are SVG drawn by that script, and a Content-Security-Policy (`default-src 'none'`,
//! the script allowed by its SHA-256 only) makes the browser refuse anything else. Values from
//! the log (a refused request's path is whatever a bot sent) reach the page only as JSON with
//! `<`, `>` and `&` escaped, and the script writes them with `textContent`, never as markup.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::entry::{Decision, Row};
use super::stats::{Counts, Latency};

const SCRIPT: &str = include_str!("report.js");
const STYLE: &str = include_str!("report.css");
/// At most this many bars in the decisions-over-time chart.
const MAX_BUCKETS: u64 = 60;
/// The top-N of the denied endpoint and client charts.
const TOP: usize = 10;

/// A credential's newest key version as its vault file records it (with `--config`).
#[derive(Debug, Clone)]
pub struct KeyDates {
    pub version: u32,
    pub created: SystemTime,
    /// When keyward stops signing with it: its sealed expiry or `rotate_after_days`.
    pub ends: SystemTime,
    /// Which of the two (`sealed expiry`, `rotate_after_days = 90`).
    pub why: String,
}

/// The data the page's script draws.
#[derive(Debug, Serialize)]
pub struct ReportData {
    pub generated: String,
    pub source: String,
    pub first: Option<String>,
    pub last: Option<String>,
    pub totals: Counts,
    pub timeline: Timeline,
    pub denied_endpoints: Vec<(String, u64)>,
    pub denied_clients: Vec<(String, u64)>,
    pub latency: LatencyData,
    pub credentials: Vec<CredentialData>,
}

#[derive(Debug, Serialize)]
pub struct Timeline {
    pub bucket_ms: u64,
    /// `[start ms since the epoch, allow, deny, refuse, error]`, one per bucket, gaps included.
    pub buckets: Vec<[u64; 5]>,
}

#[derive(Debug, Serialize)]
pub struct LatencyData {
    pub overall: Option<Latency>,
    pub per_credential: BTreeMap<String, Latency>,
}

#[derive(Debug, Serialize)]
pub struct CredentialData {
    pub name: String,
    pub requests: u64,
    /// The vault's newest key version (with `--config`), else the newest the log shows.
    pub current_version: u32,
    /// When the log first shows that version signing (or about to sign) a request.
    pub current_since: Option<String>,
    /// Days since the vault's `created` (with `--config`), else since `current_since`.
    pub age_days: f64,
    pub created: Option<String>,
    /// When keyward stops signing with it, and why.
    pub expires: Option<String>,
    pub expires_why: Option<String>,
    /// Negative once it has expired.
    pub days_to_expiry: Option<f64>,
    pub versions: Vec<VersionData>,
    /// Set when the log shows a key version newer than the vault's newest.
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VersionData {
    pub version: u32,
    pub first: String,
    pub last: String,
    pub requests: u64,
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn days(d: Duration) -> f64 {
    (d.as_secs_f64() / 86_400.0 * 10.0).round() / 10.0
}

/// The bucket width: the smallest of a fixed ladder that gives at most [`MAX_BUCKETS`] bars.
fn bucket_ms(span_ms: u64) -> u64 {
    const LADDER: [u64; 16] = [
        100, 250, 500, 1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 1_800_000,
        3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
    ];
    LADDER
        .into_iter()
        .find(|w| span_ms / w < MAX_BUCKETS)
        .unwrap_or_else(|| span_ms / MAX_BUCKETS + 1)
}

fn timeline(rows: &[&Row]) -> Timeline {
    let (Some(first), Some(last)) = (
        rows.iter().map(|r| millis(r.time)).min(),
        rows.iter().map(|r| millis(r.time)).max(),
    ) else {
        return Timeline {
            bucket_ms: 1_000,
            buckets: Vec::new(),
        };
    };
    let width = bucket_ms(last - first);
    let start = first - first % width;
    let count = ((last - start) / width + 1) as usize;
    let mut buckets: Vec<[u64; 5]> = (0..count)
        .map(|i| [start + i as u64 * width, 0, 0, 0, 0])
        .collect();
    for row in rows {
        let i = ((millis(row.time) - start) / width) as usize;
        let column = 1 + Decision::ALL
            .iter()
            .position(|d| *d == row.decision())
            .unwrap_or(0);
        buckets[i][column] += 1;
    }
    Timeline {
        bucket_ms: width,
        buckets,
    }
}

fn top(counts: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(TOP);
    v
}

fn credentials(
    rows: &[&Row],
    dates: &BTreeMap<String, KeyDates>,
    now: SystemTime,
) -> Vec<CredentialData> {
    // credential -> version -> (first, last, requests)
    let mut seen: BTreeMap<&str, BTreeMap<u32, (SystemTime, SystemTime, u64)>> = BTreeMap::new();
    for row in rows {
        let (false, Some(version)) = (row.credential.is_empty(), row.key_version) else {
            continue;
        };
        let t = row.time;
        let e = seen
            .entry(&row.credential)
            .or_default()
            .entry(version)
            .or_insert((t, t, 0));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
        e.2 += 1;
    }
    let names: std::collections::BTreeSet<&str> = seen
        .keys()
        .copied()
        .chain(dates.keys().map(String::as_str))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let versions = seen.remove(name).unwrap_or_default();
            let known = dates.get(name);
            let newest_seen = versions.iter().next_back();
            let current = known
                .map(|k| k.version)
                .or(newest_seen.map(|(&v, _)| v))
                .unwrap_or(0);
            let since = versions.get(&current).map(|v| v.0);
            let note = match (known, newest_seen) {
                (Some(k), Some((&seen, _))) if seen > k.version => Some(format!(
                    "the log shows key version {seen}, newer than the vault's newest ({}): was an \
                     older vault file put back?",
                    k.version
                )),
                _ => None,
            };
            let age_from = known.map(|k| k.created).or(since).unwrap_or(now);
            CredentialData {
                name: name.to_owned(),
                requests: versions.values().map(|v| v.2).sum(),
                current_version: current,
                current_since: since.map(rfc3339),
                age_days: days(now.duration_since(age_from).unwrap_or_default()),
                created: known.map(|k| rfc3339(k.created)),
                expires: known.map(|k| rfc3339(k.ends)),
                expires_why: known.map(|k| k.why.clone()),
                days_to_expiry: known.map(|k| match k.ends.duration_since(now) {
                    Ok(left) => days(left),
                    Err(past) => -days(past.duration()),
                }),
                versions: versions
                    .iter()
                    .map(|(&version, &(first, last, requests))| VersionData {
                        version,
                        first: rfc3339(first),
                        last: rfc3339(last),
                        requests,
                    })
                    .collect(),
                note,
            }
        })
        .collect()
}

impl ReportData {
    /// The report over `rows` (already filtered); `dates` are the vaults' dates by credential
    /// name, when the config was given.
    pub fn of(
        rows: &[&Row],
        source: &str,
        dates: &BTreeMap<String, KeyDates>,
        now: SystemTime,
    ) -> ReportData {
        let mut totals = Counts::default();
        let mut denied_endpoints = BTreeMap::new();
        let mut denied_clients = BTreeMap::new();
        let mut all = Vec::new();
        let mut per_credential: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for row in rows {
            let decision = row.decision();
            totals.add(decision);
            if decision.is_refusal() {
                *denied_endpoints.entry(row.endpoint()).or_default() += 1;
                let client = if row.client.is_empty() {
                    "-"
                } else {
                    &row.client
                };
                *denied_clients.entry(client.to_owned()).or_default() += 1;
            }
            if let Some(ms) = row.outcome.as_ref().and_then(|o| o.latency_ms) {
                all.push(ms);
                per_credential
                    .entry(row.credential.clone())
                    .or_default()
                    .push(ms);
            }
        }
        ReportData {
            generated: rfc3339(now),
            source: source.to_owned(),
            first: rows.first().map(|r| r.time_text.clone()),
            last: rows.last().map(|r| r.time_text.clone()),
            totals,
            timeline: timeline(rows),
            denied_endpoints: top(denied_endpoints),
            denied_clients: top(denied_clients),
            latency: LatencyData {
                overall: Latency::of(all),
                per_credential: per_credential
                    .into_iter()
                    .filter_map(|(c, v)| Some((c, Latency::of(v)?)))
                    .collect(),
            },
            credentials: credentials(rows, dates, now),
        }
    }

    /// The whole page.
    pub fn to_html(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        // Inside <script type="application/json"> nothing may close the element or open a
        // comment: escape the three characters that could, JSON reads them back unchanged.
        let json = json
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        let script_hash = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-{script_hash}'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keyward audit report</title>
<style>
{STYLE}</style>
</head>
<body data-charts-drawn="0">
<h1>keyward audit report</h1>
<div class="meta"><span id="source"></span> &middot; <span id="range"></span> &middot; generated <span id="generated"></span></div>
<div class="card"><div id="totals"></div></div>
<div class="card"><h2>Decisions over time</h2>
<div class="legend"><span><i style="background:#2e7d32"></i>allow</span><span><i style="background:#c62828"></i>deny</span><span><i style="background:#ef6c00"></i>refuse</span><span><i style="background:#6a1b9a"></i>error</span></div>
<div id="chart-timeline"></div></div>
<div class="grid-2">
<div class="card"><h2>Top denied endpoints</h2><div id="chart-denied-endpoints"></div><p class="note">deny and refuse, by method and path</p></div>
<div class="card"><h2>Top denied clients</h2><div id="chart-denied-clients"></div><p class="note">deny and refuse, by client (- before authentication)</p></div>
<div class="card"><h2>Latency percentiles</h2><div id="chart-latency"></div><p class="note">outcome latency_ms: from the request's arrival to the exchange's answer</p></div>
<div class="card"><h2>Credential key age and expiry</h2><div id="chart-credentials"></div><p class="note">days since the key version was sealed (with --config; else since the log first shows it), and days until keyward stops signing with it (with --config)</p></div>
</div>
<div class="card"><h2>Credentials</h2>
<table><thead><tr><th>credential</th><th>key version</th><th>in the log since</th><th>age</th><th>created</th><th>expires</th><th>days to expiry</th><th>requests by version</th><th>requests</th><th>note</th></tr></thead>
<tbody id="credential-table"></tbody></table></div>
<script type="application/json" id="report-data">{json}</script>
<script>{SCRIPT}</script>
</body>
</html>
"#
        )
    }
}
