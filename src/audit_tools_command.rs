//! `keyward audit tail | search | stats | report`: the read-side tools over an audit log (the
//! logic is in `keyward::audit::tools`; this is the command line around it).

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use keyward::audit::tools::{
    self, Decision, Filter, KeyDates, Record, ReportData, Row, Rows, Stats,
};
use keyward::config::Config;
use keyward::error::{Error, Result};
use keyward::rotation::{KeyVersion, Limit};
use keyward::vault;

use crate::cli::{AuditCommand, AuditDecision, AuditFilterFlags, AuditSource};

/// How often `tail -f` looks for appended records.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

pub(crate) fn run(command: AuditCommand) -> Result<ExitCode> {
    match command {
        AuditCommand::Verify {
            path,
            public_key,
            config,
            checkpoints,
        } => crate::audit_command::audit_verify(
            &path,
            public_key.as_deref(),
            config.as_deref(),
            checkpoints.as_deref(),
        ),
        AuditCommand::Tail {
            source,
            follow,
            lines,
            json,
        } => tail(&log_path(&source)?, follow, lines, json),
        AuditCommand::Search {
            source,
            filter,
            json,
        } => {
            let (path, filter) = (log_path(&source)?, to_filter(&filter)?);
            let rows = read_rows(&path, &filter, json)?;
            let mut out = io::stdout().lock();
            let mut matched = 0usize;
            for row in &rows {
                matched += 1;
                let line = if json {
                    row.to_json()
                } else {
                    tools::row_line(row)
                };
                if !print(&mut out, &line)? {
                    break;
                }
            }
            // Like grep: 1 when nothing matched, so scripts can tell.
            Ok(if matched == 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        AuditCommand::Stats {
            source,
            filter,
            json,
        } => {
            let (path, filter) = (log_path(&source)?, to_filter(&filter)?);
            let stats = Stats::of(&read_rows(&path, &filter, false)?);
            let text = if json {
                serde_json::to_string_pretty(&stats).unwrap_or_default()
            } else {
                stats.render()
            };
            print(&mut io::stdout().lock(), text.trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Report {
            source,
            filter,
            html,
        } => report(&source, &to_filter(&filter)?, &html),
    }
}

/// FILE, or the config's `[audit] path`.
fn log_path(source: &AuditSource) -> Result<PathBuf> {
    match (&source.file, &source.config) {
        (Some(file), _) => Ok(file.clone()),
        (None, Some(config)) => Ok(Config::load(config)?.audit.path),
        (None, None) => Err(Error::usage("give the audit log FILE or --config FILE")),
    }
}

fn to_filter(flags: &AuditFilterFlags) -> Result<Filter> {
    let now = SystemTime::now();
    let time = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| tools::parse_time(v, now).map_err(|e| Error::usage(format!("--{flag}: {e}"))))
            .transpose()
    };
    Ok(Filter {
        client: flags.client.clone(),
        credential: flags.credential.clone(),
        endpoint: flags
            .endpoint
            .as_deref()
            .map(tools::Endpoint::parse)
            .transpose()
            .map_err(Error::usage)?,
        decision: flags.decision.map(|d| match d {
            AuditDecision::Allow => Decision::Allow,
            AuditDecision::Deny => Decision::Deny,
            AuditDecision::Refuse => Decision::Refuse,
            AuditDecision::Error => Decision::Error,
        }),
        since: time("since", &flags.since)?,
        until: time("until", &flags.until)?,
    })
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io(format!("cannot read audit log {}", path.display()), e))
}

fn warn_unreadable(path: &Path, unreadable: usize) {
    if unreadable > 0 {
        eprintln!(
            "keyward: {unreadable} lines of {} are not audit records and were skipped; \
             `keyward audit verify {}` names the first",
            path.display(),
            path.display()
        );
    }
}

/// The rows `filter` matches (`lines`: with their stored lines).
fn read_rows(path: &Path, filter: &Filter, lines: bool) -> Result<Vec<Row>> {
    let keep = |row: &Row| filter.matches_before_outcome(row);
    let read = Rows::read(BufReader::new(open(path)?), &keep, lines)
        .map_err(|e| Error::io(format!("cannot read audit log {}", path.display()), e))?;
    warn_unreadable(path, read.unreadable);
    let mut rows = read.rows;
    rows.retain(|r| filter.matches(r));
    Ok(rows)
}

/// Writes one line; `false` when the reader went away (`| head`), which ends the command.
fn print(out: &mut impl Write, line: &str) -> Result<bool> {
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Error::io("cannot write to stdout", e)),
    }
}

fn show(out: &mut impl Write, line: &str, json: bool) -> Result<bool> {
    match Record::parse(line) {
        Some(record) if json => print(out, &record.line),
        Some(record) => print(out, &tools::record_line(&record)),
        None => {
            eprintln!("keyward: skipped a line that is not an audit record");
            Ok(true)
        }
    }
}

fn tail(path: &Path, follow: bool, lines: usize, json: bool) -> Result<ExitCode> {
    let mut file = open(path)?;
    let mut out = io::stdout().lock();
    // The last `lines` whole lines; a torn last line waits for its end.
    let mut last = VecDeque::with_capacity(lines.min(10_000));
    let mut reader = BufReader::new(&mut file);
    let mut pos = 0u64;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| Error::io(format!("cannot read audit log {}", path.display()), e))?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        pos += n as u64;
        if lines > 0 {
            if last.len() == lines {
                last.pop_front();
            }
            last.push_back(line.trim_end_matches('\n').to_owned());
        }
    }
    for l in &last {
        if !show(&mut out, l, json)? {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if follow {
        follow_from(path, file, pos, &mut out, json)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints each record appended after `pos`, forever (until stdout closes). A log that is
/// replaced (rotated: another inode at `path`) or cut shorter is read again from its start.
fn follow_from(
    path: &Path,
    mut file: File,
    mut pos: u64,
    out: &mut impl Write,
    json: bool,
) -> Result<()> {
    let shown = path.display();
    let read_err = |e| Error::io(format!("cannot read audit log {shown}"), e);
    let mut pending = Vec::new();
    loop {
        std::thread::sleep(FOLLOW_POLL);
        let open_meta = file.metadata().map_err(read_err)?;
        if let Ok(now) = std::fs::metadata(path) {
            let replaced = now.ino() != open_meta.ino() || now.dev() != open_meta.dev();
            if replaced || open_meta.len() < pos {
                // What the old file still had is printed first, then the new one from 0.
                if replaced && !drain(&mut file, &mut pos, &mut pending, out, json)? {
                    return Ok(());
                }
                eprintln!("keyward: {shown} was rotated or truncated; reading it from its start");
                if replaced {
                    file = open(path)?;
                }
                pos = 0;
                pending.clear();
            }
        }
        if !drain(&mut file, &mut pos, &mut pending, out, json)? {
            return Ok(());
        }
    }
}

/// Reads from `pos` to the end of `file`, prints the whole lines, keeps a torn one pending.
/// `false` when stdout went away.
fn drain(
    file: &mut File,
    pos: &mut u64,
    pending: &mut Vec<u8>,
    out: &mut impl Write,
    json: bool,
) -> Result<bool> {
    let err = |e| Error::io("cannot read the audit log", e);
    file.seek(SeekFrom::Start(*pos)).map_err(err)?;
    let mut chunk = Vec::new();
    file.read_to_end(&mut chunk).map_err(err)?;
    *pos += chunk.len() as u64;
    pending.extend_from_slice(&chunk);
    while let Some(end) = pending.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = pending.drain(..=end).collect();
        let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
        if !show(out, &text, json)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn report(source: &AuditSource, filter: &Filter, html: &Path) -> Result<ExitCode> {
    let path = log_path(source)?;
    let rows = read_rows(&path, filter, false)?;
    let rows: Vec<&Row> = rows.iter().collect();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let now = SystemTime::now();
    let dates = match &source.config {
        Some(config) => key_dates(&Config::load(config)?),
        None => BTreeMap::new(),
    };
    let data = ReportData::of(&rows, &name, &dates, now);
    std::fs::write(html, data.to_html())
        .map_err(|e| Error::io(format!("cannot write {}", html.display()), e))?;
    println!(
        "wrote {}: {} requests and frames (allow {}, deny {}, refuse {}, error {})",
        html.display(),
        data.totals.total,
        data.totals.allow,
        data.totals.deny,
        data.totals.refuse,
        data.totals.error
    );
    Ok(ExitCode::SUCCESS)
}

/// Each configured credential's newest key version from its pinned vault file (no token, nothing
/// unsealed); a vault that cannot be read is left out with a warning, the report goes on.
fn key_dates(config: &Config) -> BTreeMap<String, KeyDates> {
    let mut dates = BTreeMap::new();
    for c in &config.credentials {
        match vault::read_header(&c.vault, (&c.name, c.exchange.id()), &c.vault_sha256) {
            Ok(header) => {
                let version = KeyVersion::new(&header, c.rotation);
                let (ends, limit) = version.ends();
                let why = match limit {
                    Limit::Expires => "sealed expiry".to_owned(),
                    Limit::RotateAfter => {
                        format!("rotate_after_days = {}", c.rotation.rotate_after_days)
                    }
                };
                dates.insert(
                    c.name.clone(),
                    KeyDates {
                        version: header.version,
                        created: header.created,
                        ends,
                        why,
                    },
                );
            }
            Err(e) => eprintln!(
                "keyward: credential {}: no key dates in the report: {}",
                c.name,
                e.message()
            ),
        }
    }
    dates
}
