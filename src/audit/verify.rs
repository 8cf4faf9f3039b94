//! Whole-file chain verification (`keyward audit verify`).

use super::record::{self, ZERO_HASH};
use crate::{Error, Result};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The outcome of a successful [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of records (lines) in the file.
    pub records: u64,
    /// `hash` of the last record, or 64 zeros for an empty file. Keep it somewhere the host cannot
    /// rewrite to detect later removal of records from the end.
    pub last_hash: String,
    /// seq of the first record (`None` for an empty file). Anything but 0 means the file does not
    /// start at the beginning of the chain (a rotated log, or records removed from the start).
    pub first_seq: Option<u64>,
    /// seq of the last record (`None` for an empty file).
    pub last_seq: Option<u64>,
}

/// Verifies the whole chain in `path`.
///
/// Every line must be a record in the format of [`crate::audit`] whose hash recomputes from its
/// own bytes; the first line may have any seq (seq 0 must have a zero `prev`), each following line
/// must have the previous seq + 1 and a `prev` equal to the previous line's `hash`; the file must
/// end with `\n`. An empty file verifies with 0 records.
///
/// On failure the error names the 1-based line number, the seq when the line has one, and why,
/// e.g. `line 7 (seq 6): hash mismatch — the record was modified`. Only the first failure is
/// reported. The log is read without locking: a record being appended at that moment by a running
/// keyward can show up as a torn last line.
pub fn verify(path: &Path) -> Result<VerifyReport> {
    let shown = path.display();
    let io_err = |e| Error::io(format!("cannot read audit log {shown}"), e);
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);

    let mut report = VerifyReport {
        records: 0,
        last_hash: ZERO_HASH.to_string(),
        first_seq: None,
        last_seq: None,
    };
    let mut buf = Vec::new();
    let mut line_no: u64 = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
            return Ok(report);
        }
        line_no += 1;
        let terminated = buf.last() == Some(&b'\n');
        let line = if terminated {
            &buf[..buf.len() - 1]
        } else {
            &buf[..]
        };
        let bad = |seq: Option<u64>, reason: String| {
            let seq = seq.map(|s| format!(" (seq {s})")).unwrap_or_default();
            Error::audit(format!("audit log {shown}: line {line_no}{seq}: {reason}"))
        };

        let rec = record::parse_line(line).map_err(|e| bad(e.seq, e.reason))?;
        match report.last_seq {
            None => {
                if rec.seq == 0 && rec.prev != ZERO_HASH {
                    return Err(bad(
                        Some(rec.seq),
                        "the first record of a log (seq 0) must have a prev of 64 zeros".into(),
                    ));
                }
                report.first_seq = Some(rec.seq);
            }
            Some(last) => {
                if Some(rec.seq) != last.checked_add(1) {
                    return Err(bad(
                        Some(rec.seq),
                        format!(
                            "expected seq {} after line {}'s seq {last} — a record was \
                             removed, inserted or reordered",
                            last.wrapping_add(1),
                            line_no - 1
                        ),
                    ));
                }
                if rec.prev != report.last_hash {
                    return Err(bad(
                        Some(rec.seq),
                        format!(
                            "prev does not match line {}'s hash — a record was removed or \
                             reordered",
                            line_no - 1
                        ),
                    ));
                }
            }
        }
        if !terminated {
            return Err(bad(
                Some(rec.seq),
                "no terminating newline — the last write was torn".into(),
            ));
        }
        report.records += 1;
        report.last_seq = Some(rec.seq);
        report.last_hash = rec.hash;
    }
}
