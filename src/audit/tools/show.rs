//! One readable line per record (`audit tail`) or per request (`audit search`).
//!
//! Every value taken from the log passes through [`clean`]: a refused request's path is what a
//! bot sent, and must not be able to write terminal escape sequences to the operator's screen.

use std::fmt::Write;

use super::entry::{Record, Row};

/// `s` with control characters (and other non-printing ones) escaped as `\u{..}`.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}') {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// `client -> credential vN` (or the parts there are).
fn asker(client: &str, credential: &str, key_version: Option<u64>) -> String {
    let mut out = clean(if client.is_empty() { "-" } else { client });
    if !credential.is_empty() {
        let _ = write!(out, " -> {}", clean(credential));
    }
    if let Some(v) = key_version {
        let _ = write!(out, " v{v}");
    }
    out
}

/// The decision and its rule, or its code and reason.
fn verdict(record: &Record) -> String {
    match record.text("decision") {
        "allow" => format!("allow {}", clean(record.text("rule"))),
        d => format!(
            "{} {}: {}",
            clean(d),
            clean(record.text("code")),
            clean(record.text("reason"))
        ),
    }
}

fn endpoint(record: &Record) -> String {
    let method = record.text("method");
    let path = clean(record.text("path"));
    if method.is_empty() {
        path
    } else {
        format!("{} {path}", clean(method))
    }
}

/// One line for any record, as `audit tail` prints it.
pub fn record_line(r: &Record) -> String {
    let time = clean(&r.time_text);
    let n = |name| r.number(name).map(|v| v.to_string()).unwrap_or_default();
    let who = asker(
        r.text("client"),
        r.text("credential"),
        r.number("key_version"),
    );
    match r.event.as_str() {
        "request" => format!(
            "{time}  request #{}  {who}  {}  {}",
            n("request"),
            endpoint(r),
            verdict(r)
        ),
        "frame" => format!(
            "{time}  frame {}.{}  {who}  {} {}  {}  {}",
            n("session"),
            n("frame"),
            clean(r.text("socket")),
            clean(r.text("op")),
            endpoint(r),
            verdict(r)
        ),
        "outcome" => {
            let mut line = format!("{time}  outcome #{}  status {}", n("request"), n("status"));
            if let Some(ms) = r.float("latency_ms") {
                let _ = write!(line, "  {ms:.3} ms");
            }
            if !r.text("error").is_empty() {
                let _ = write!(line, "  error {}", clean(r.text("error")));
            }
            line
        }
        "admin" => format!(
            "{time}  admin {} {} {} from {}: {} {}",
            clean(r.text("action")),
            clean(r.text("target")),
            clean(r.text("name")),
            clean(r.text("source")),
            n("status"),
            clean(r.text("result"))
        ),
        "anomaly" => format!(
            "{time}  anomaly {} client {} from {}: {} ({})",
            clean(r.text("trigger")),
            clean(r.text("client")),
            clean(r.text("source")),
            clean(r.text("action")),
            clean(r.text("reason"))
        ),
        "genesis" => format!("{time}  genesis  checkpoint key {}", clean(r.text("key"))),
        "checkpoint" => format!(
            "{time}  checkpoint  covers records 0..{} (key {})",
            n("covers"),
            clean(r.text("key"))
        ),
        other => format!("{time}  {}  seq {}", clean(other), r.seq),
    }
}

/// One line for a request or frame with its outcome, as `audit search` prints it.
pub fn row_line(row: &Row) -> String {
    let time = clean(&row.time_text);
    let who = asker(&row.client, &row.credential, row.key_version.map(u64::from));
    let endpoint = clean(&row.endpoint());
    let verdict = match row.verdict {
        super::Decision::Allow => format!("allow {}", clean(&row.rule_or_code)),
        d => format!("{d} {}: {}", clean(&row.rule_or_code), clean(&row.reason)),
    };
    let mut line = match &row.frame {
        Some(f) => format!(
            "{time}  frame {}.{}  {who}  {} {}  {endpoint}  {verdict}",
            f.session,
            f.frame,
            clean(&f.socket),
            clean(&f.op)
        ),
        None => format!(
            "{time}  request #{}  {who}  {endpoint}  {verdict}",
            row.request.unwrap_or_default()
        ),
    };
    if let Some(outcome) = &row.outcome {
        let _ = write!(line, "  -> {}", outcome.status);
        if let Some(ms) = outcome.latency_ms {
            let _ = write!(line, " {ms:.3} ms");
        }
        if let Some(error) = &outcome.error {
            let _ = write!(line, " error {}", clean(error));
        }
    }
    line
}
