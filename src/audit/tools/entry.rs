//! Reading an audit log for the operator's tools: each stored line as a [`Record`], and each
//! request or WebSocket frame as a [`Row`] joined with the outcome record that followed it.
//!
//! The tools read; they do not vouch. A line that does not parse is counted and skipped (the
//! caller says how many and points at `keyward audit verify`), and a torn last line is ignored
//! as the writer would.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::time::SystemTime;

use serde::Serialize;
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

/// Every record of a log, and how many whole lines were not records.
#[derive(Debug, Default)]
pub struct Log {
    pub records: Vec<Record>,
    pub unreadable: usize,
}

impl Log {
    /// Reads whole lines from `reader`; a last line without its newline (a torn write) is
    /// ignored, as `verify` and the writer treat it.
    pub fn read(mut reader: impl BufRead) -> std::io::Result<Log> {
        let mut log = Log::default();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 || !line.ends_with('\n') {
                return Ok(log);
            }
            match Record::parse(line.trim_end_matches('\n')) {
                Some(record) => log.records.push(record),
                None => log.unreadable += 1,
            }
        }
    }

    /// The requests and frames, each request with its outcome.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = Vec::new();
        // A request number is unique within one process; a restart reuses them, and an
        // outcome always follows its own request, so the latest request with the number wins.
        let mut by_request: HashMap<u64, usize> = HashMap::new();
        for record in &self.records {
            match record.event.as_str() {
                "request" | "frame" => {
                    let Some(row) = Row::from_record(record) else {
                        continue;
                    };
                    if let Some(n) = record
                        .number("request")
                        .filter(|_| record.event == "request")
                    {
                        by_request.insert(n, rows.len());
                    }
                    rows.push(row);
                }
                "outcome" => {
                    let row = record
                        .number("request")
                        .and_then(|n| by_request.get(&n))
                        .and_then(|&i| rows.get_mut(i));
                    if let Some(row) = row {
                        row.outcome = Outcome::from_record(record);
                    }
                }
                _ => {}
            }
        }
        rows
    }
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

impl Outcome {
    fn from_record(record: &Record) -> Option<Outcome> {
        Some(Outcome {
            status: u16::try_from(record.number("status")?).ok()?,
            latency_ms: record.float("latency_ms"),
            error: record
                .fields
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// A request (or a WebSocket frame) as keyward decided it, with its outcome once forwarded.
#[derive(Debug, Clone)]
pub struct Row {
    pub record: Record,
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
}

impl Row {
    fn from_record(record: &Record) -> Option<Row> {
        let verdict = match record.text("decision") {
            "allow" => Decision::Allow,
            "deny" => Decision::Deny,
            "refuse" => Decision::Refuse,
            _ => return None,
        };
        let rule_or_code = match verdict {
            Decision::Allow => record.text("rule"),
            _ => record.text("code"),
        };
        Some(Row {
            client: record.text("client").to_owned(),
            credential: record.text("credential").to_owned(),
            key_version: record
                .number("key_version")
                .and_then(|v| u32::try_from(v).ok()),
            method: record.text("method").to_owned(),
            path: record.text("path").to_owned(),
            verdict,
            rule_or_code: rule_or_code.to_owned(),
            reason: record.text("reason").to_owned(),
            outcome: None,
            record: record.clone(),
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
        self.record.event == "frame"
    }

    /// The row as one JSON object: the stored record with its `outcome` (or null) added.
    pub fn to_json(&self) -> Value {
        let mut fields = self.record.fields.clone();
        fields.insert(
            "outcome".to_owned(),
            serde_json::to_value(&self.outcome).unwrap_or(Value::Null),
        );
        Value::Object(fields)
    }
}
