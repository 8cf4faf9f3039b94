//! Reading an audit log for the operator's tools: a stored line as a [`Record`] (what `tail`
//! shows), and each request or WebSocket frame as a [`Row`] joined with the outcome record that
//! followed it (what `search`, `stats` and `report` count).
//!
//! The tools read; they do not vouch. A line that does not parse is counted and skipped (the
//! caller says how many and points at `keyward audit verify`), and a torn last line is ignored
//! as the writer would.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What became of a request, as the tools count it.
///
/// `allow`, `deny` and `refuse` are the request record's own `decision`; `error` is an allowed
/// request whose outcome carries keyward's error code (the exchange could not be reached, did
/// not answer in time, or the bot hung up first), so an allowed request is `allow` or `error`,
/// never both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Deny,
    Refuse,
    Error,
}

impl Decision {
    pub const ALL: [Decision; 4] = [
        Decision::Allow,
        Decision::Deny,
        Decision::Refuse,
        Decision::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Refuse => "refuse",
            Decision::Error => "error",
        }
    }

    /// Denied by the policy or refused before it.
    pub fn is_refusal(self) -> bool {
        matches!(self, Decision::Deny | Decision::Refuse)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored line, parsed as JSON (its hash is not checked here).
#[derive(Debug, Clone)]
pub struct Record {
    pub seq: u64,
    pub time: SystemTime,
    /// `time` as stored (RFC 3339, milliseconds, UTC).
    pub time_text: String,
    /// The `event` member (`request`, `outcome`, `frame`, `admin`, `anomaly`, `genesis`,
    /// `checkpoint`), empty when absent.
    pub event: String,
    pub fields: Map<String, Value>,
    /// The line exactly as stored, without its newline.
    pub line: String,
}

impl Record {
    /// Parses one line (without its newline); `None` when it is not a record.
    pub fn parse(line: &str) -> Option<Record> {
        let Value::Object(fields) = serde_json::from_str::<Value>(line).ok()? else {
            return None;
        };
        let seq = fields.get("seq")?.as_u64()?;
        let time_text = fields.get("time")?.as_str()?.to_owned();
        let time = humantime::parse_rfc3339(&time_text).ok()?;
        let event = fields
            .get("event")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Some(Record {
            seq,
            time,
            time_text,
            event,
            fields,
            line: line.to_owned(),
        })
    }

    /// A string member, or `""`.
    pub fn text(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn number(&self, name: &str) -> Option<u64> {
        self.fields.get(name).and_then(Value::as_u64)
    }

    pub fn float(&self, name: &str) -> Option<f64> {
        self.fields.get(name).and_then(Value::as_f64)
    }
}

/// The requests and frames of a log that a caller keeps, each request with its outcome, and
/// how many whole lines were not records.
///
/// Read in one pass holding only the kept rows (a few hundred bytes each; the stored line only
/// when asked for), so a log much larger than memory can be searched.
#[derive(Debug, Default)]
pub struct Rows {
    pub rows: Vec<Row>,
    pub unreadable: usize,
}

impl Rows {
    /// Reads whole lines from `reader`; a last line without its newline (a torn write) is
    /// ignored, as `verify` and the writer treat it. `keep` sees each request or frame before
    /// its outcome is known; `lines` keeps each kept row's stored line (for `search --json`).
    pub fn read(
        mut reader: impl BufRead,
        keep: &dyn Fn(&Row) -> bool,
        lines: bool,
    ) -> std::io::Result<Rows> {
        let mut out = Rows::default();
        // A request number is unique within one process; a restart reuses them, and an
        // outcome always follows its own request, so the latest request with the number wins.
        let mut by_request: HashMap<u64, usize> = HashMap::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 || !line.ends_with('\n') {
                return Ok(out);
            }
            let text = line.trim_end_matches('\n');
            let Some(fields) = serde_json::from_str::<Fields<'_>>(text)
                .ok()
                .filter(|f| humantime::parse_rfc3339(&f.time).is_ok())
            else {
                out.unreadable += 1;
                continue;
            };
            match &*fields.event {
                "request" | "frame" => {
                    let Some(mut row) = Row::from_fields(&fields) else {
                        continue;
                    };
                    if let Some(n) = row.request {
                        by_request.remove(&n);
                    }
                    if !keep(&row) {
                        continue;
                    }
                    if lines {
                        row.line = Some(text.to_owned());
                    }
                    if let Some(n) = row.request {
                        by_request.insert(n, out.rows.len());
                    }
                    out.rows.push(row);
                }
                "outcome" => {
                    let row = fields
                        .request
                        .and_then(|n| by_request.get(&n))
                        .and_then(|&i| out.rows.get_mut(i));
                    if let (Some(row), Some(status)) = (row, fields.status) {
                        row.outcome = Some(Outcome {
                            status: u16::try_from(status).unwrap_or(u16::MAX),
                            latency_ms: fields.latency_ms,
                            error: fields.error.as_deref().map(str::to_owned),
                        });
                    }
                }
                _ => {}
            }
        }
    }
}

/// The members of a record the tools read (the rest are ignored); borrowed from the line
/// where no escapes make that impossible.
#[derive(Deserialize)]
struct Fields<'a> {
    seq: u64,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(default, borrow)]
    event: Cow<'a, str>,
    request: Option<u64>,
    session: Option<u64>,
    frame: Option<u64>,
    #[serde(default, borrow)]
    socket: Cow<'a, str>,
    #[serde(default, borrow)]
    op: Cow<'a, str>,
    #[serde(default, borrow)]
    client: Cow<'a, str>,
    #[serde(default, borrow)]
    credential: Cow<'a, str>,
    key_version: Option<u64>,
    #[serde(default, borrow)]
    method: Cow<'a, str>,
    #[serde(default, borrow)]
    path: Cow<'a, str>,
    #[serde(default, borrow)]
    decision: Cow<'a, str>,
    #[serde(default, borrow)]
    rule: Cow<'a, str>,
    #[serde(default, borrow)]
    code: Cow<'a, str>,
    #[serde(default, borrow)]
    reason: Cow<'a, str>,
    status: Option<u64>,
    latency_ms: Option<f64>,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
}

/// The exchange's answer to a forwarded request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub status: u16,
    /// From the request's arrival to the exchange's answer, as keyward measured it.
    pub latency_ms: Option<f64>,
    /// keyward's error code when the exchange could not be reached or did not answer.
    pub error: Option<String>,
}

/// A WebSocket frame's place: its session, its number there, the socket and the op.
#[derive(Debug, Clone)]
pub struct FrameId {
    pub session: u64,
    pub frame: u64,
    pub socket: String,
    pub op: String,
}

/// A request (or a WebSocket frame) as keyward decided it, with its outcome once forwarded.
#[derive(Debug, Clone)]
pub struct Row {
    pub seq: u64,
    pub time: SystemTime,
    /// `time` as stored.
    pub time_text: String,
    /// The request's number (REST requests only).
    pub request: Option<u64>,
    /// Set for a WebSocket frame.
    pub frame: Option<FrameId>,
    pub client: String,
    pub credential: String,
    pub key_version: Option<u32>,
    pub method: String,
    pub path: String,
    /// The record's own decision: allow, deny or refuse.
    pub verdict: Decision,
    /// The rule that allowed it, or the refusal's code.
    pub rule_or_code: String,
    /// Why it was denied or refused (empty when allowed).
    pub reason: String,
    pub outcome: Option<Outcome>,
    /// The stored line, when the reader was asked to keep it.
    pub line: Option<String>,
}

impl Row {
    fn from_fields(f: &Fields<'_>) -> Option<Row> {
        let verdict = match &*f.decision {
            "allow" => Decision::Allow,
            "deny" => Decision::Deny,
            "refuse" => Decision::Refuse,
            _ => return None,
        };
        let rule_or_code = match verdict {
            Decision::Allow => &f.rule,
            _ => &f.code,
        };
        let frame = (f.event == "frame").then(|| FrameId {
            session: f.session.unwrap_or_default(),
            frame: f.frame.unwrap_or_default(),
            socket: f.socket.to_string(),
            op: f.op.to_string(),
        });
        Some(Row {
            seq: f.seq,
            time: humantime::parse_rfc3339(&f.time).ok()?,
            time_text: f.time.to_string(),
            request: f.request.filter(|_| frame.is_none()),
            frame,
            client: f.client.to_string(),
            credential: f.credential.to_string(),
            key_version: f.key_version.and_then(|v| u32::try_from(v).ok()),
            method: f.method.to_string(),
            path: f.path.to_string(),
            verdict,
            rule_or_code: rule_or_code.to_string(),
            reason: f.reason.to_string(),
            outcome: None,
            line: None,
        })
    }

    /// `allow`, `deny`, `refuse`, or `error` for an allowed request keyward could not complete.
    pub fn decision(&self) -> Decision {
        match (&self.verdict, &self.outcome) {
            (Decision::Allow, Some(Outcome { error: Some(_), .. })) => Decision::Error,
            (verdict, _) => *verdict,
        }
    }

    /// `METHOD /path` (the path alone when the transport checks refused it before a method).
    pub fn endpoint(&self) -> String {
        if self.method.is_empty() {
            self.path.clone()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }

    /// A WebSocket frame rather than a REST request.
    pub fn is_frame(&self) -> bool {
        self.frame.is_some()
    }

    /// The row as one line of JSON: the stored record byte for byte (when its line was kept),
    /// with an `outcome` member (or null) appended after its `hash`.
    pub fn to_json(&self) -> String {
        let outcome = serde_json::to_string(&self.outcome).unwrap_or_else(|_| "null".into());
        match self.line.as_deref().and_then(|l| l.strip_suffix('}')) {
            Some(open) => format!("{open},\"outcome\":{outcome}}}"),
            None => format!("{{\"outcome\":{outcome}}}"),
        }
    }
}
