//! Whole-file verification (`keyward audit verify`): the chain, and with the checkpoint public
//! key the genesis record and every checkpoint; with shipped checkpoints, the tail as well.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::checkpoint::{checkpoint_message, genesis_message, CheckpointKey, Shipped};
use super::record::{self, Mark, ZERO_HASH};
use crate::{Error, Result};

/// What to check besides the chain.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOptions<'a> {
    /// The checkpoint public key: the log must start with a genesis record it signed, and every
    /// checkpoint must carry its signature.
    pub key: Option<&'a CheckpointKey>,
    /// Checkpoints as shipped off the host (syslog): each must match the record it names.
    pub shipped: &'a [Shipped],
}

/// The outcome of a successful [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of whole records in the file.
    pub records: u64,
    /// `hash` of the last whole record, or 64 zeros for an empty file.
    pub last_hash: String,
    /// seq of the first record (`None` for an empty file). Anything but 0 means the file does not
    /// start at the beginning of the chain (a rotated log, or records removed from the start).
    pub first_seq: Option<u64>,
    /// seq of the last whole record (`None` for an empty file).
    pub last_seq: Option<u64>,
    /// With a key: every record up to and including this seq is vouched for by a signed
    /// checkpoint (in the file or shipped), and `vouched_by` names it.
    pub vouched_through: Option<u64>,
    /// The seq of the checkpoint record (or the shipped checkpoint's seq) that vouches.
    pub vouched_by: Option<Vouch>,
    /// Whether the genesis record and the checkpoints were checked against a key.
    pub keyed: bool,
    /// Bytes after the last whole record that do not end in a newline: a write torn by a crash
    /// (or a power loss). Not counted, not vouched, not tampering.
    pub torn_tail: Option<u64>,
}

/// Where the vouching checkpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vouch {
    /// The checkpoint record with this seq, in the file.
    Record(u64),
    /// A checkpoint shipped off the host.
    Shipped,
}

/// Verifies the chain in `path` without a key (see [`verify_with`]).
pub fn verify(path: &Path) -> Result<VerifyReport> {
    verify_with(path, VerifyOptions::default())
}

/// Verifies the whole chain in `path`.
///
/// Every line must be a record in the format of [`crate::audit`] whose hash recomputes from its
/// own bytes; the first line may have any seq (seq 0 must have a zero `prev`), each following line
/// must have the previous seq + 1 and a `prev` equal to the previous line's `hash`. A last line
/// without its newline is a torn tail (reported, not an error). An empty file verifies with 0
/// records.
///
/// With `options.key` the log must begin with record 0, a genesis record signed by the key, and
/// every checkpoint record must name the record before it and its hash and carry the key's
/// signature. With `options.shipped`, each shipped checkpoint must name a record that is in the
/// file with that hash.
///
/// On failure the error names the 1-based line number, the seq when the line has one, and why,
/// e.g. `line 7 (seq 6): hash mismatch — the record was modified`. Only the first failure is
/// reported.
pub fn verify_with(path: &Path, options: VerifyOptions<'_>) -> Result<VerifyReport> {
    let shown = path.display();
    let io_err = |e| Error::io(format!("cannot read audit log {shown}"), e);
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);

    let mut report = VerifyReport {
        records: 0,
        last_hash: ZERO_HASH.to_string(),
        first_seq: None,
        last_seq: None,
        vouched_through: None,
        vouched_by: None,
        keyed: options.key.is_some(),
        torn_tail: None,
    };
    // The hashes of the records the shipped checkpoints name.
    let mut wanted: HashMap<u64, Option<String>> =
        options.shipped.iter().map(|s| (s.seq, None)).collect();
    let mut buf = Vec::new();
    let mut line_no: u64 = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
            break;
        }
        line_no += 1;
        if buf.last() != Some(&b'\n') {
            // Nothing follows an unterminated line: a write cut short, not counted.
            report.torn_tail = Some(buf.len() as u64);
            break;
        }
        let line = &buf[..buf.len() - 1];
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
                if let Some(key) = options.key {
                    check_genesis(&rec, key).map_err(|why| bad(Some(rec.seq), why))?;
                    report.vouched_through = Some(0);
                    report.vouched_by = Some(Vouch::Record(0));
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
        if let (Some(key), Some(Mark::Checkpoint { .. })) = (options.key, &rec.mark) {
            let covers = check_checkpoint(&rec, &report.last_hash, key)
                .map_err(|why| bad(Some(rec.seq), why))?;
            report.vouched_through = Some(covers);
            report.vouched_by = Some(Vouch::Record(rec.seq));
        }
        if let Some(slot) = wanted.get_mut(&rec.seq) {
            *slot = Some(rec.hash.clone());
        }
        report.records += 1;
        report.last_seq = Some(rec.seq);
        report.last_hash = rec.hash;
    }
    check_shipped(&mut report, &options, &wanted)
        .map_err(|why| Error::audit(format!("audit log {shown}: {why}")))?;
    Ok(report)
}

/// Record 0 of a keyed log: a genesis naming `key`, signed by it.
fn check_genesis(rec: &record::Record, key: &CheckpointKey) -> std::result::Result<(), String> {
    if rec.seq != 0 {
        return Err(format!(
            "the log does not begin with its genesis record (seq 0) but with seq {}: records \
             0..{} were cut from its head (or this is a rotated part; verify it together with \
             the parts before it)",
            rec.seq,
            rec.seq - 1
        ));
    }
    let Some(Mark::Genesis {
        key: fp,
        started,
        sig,
    }) = &rec.mark
    else {
        return Err(
            "record 0 is not a genesis record: the log is not anchored to the checkpoint key \
             (it was written without [audit] checkpoint_key, or replaced)"
                .into(),
        );
    };
    if fp != key.fingerprint() {
        return Err(format!(
            "the genesis record names checkpoint key {fp}, not the key given ({})",
            key.fingerprint()
        ));
    }
    if !key.verifies(genesis_message(fp, started).as_bytes(), sig) {
        return Err("the genesis record's signature does not match the checkpoint key".into());
    }
    Ok(())
}

/// A checkpoint record: names the record before it and that record's hash (`prev_hash`), and
/// carries the key's signature over both. Returns the seq it vouches through.
fn check_checkpoint(
    rec: &record::Record,
    prev_hash: &str,
    key: &CheckpointKey,
) -> std::result::Result<u64, String> {
    let Some(Mark::Checkpoint {
        covers,
        head,
        key: fp,
        sig,
    }) = &rec.mark
    else {
        unreachable!("called for checkpoint records only")
    };
    if Some(*covers) != rec.seq.checked_sub(1) || head != prev_hash {
        return Err(format!(
            "checkpoint names record {covers} with head {head}, not the record before it"
        ));
    }
    if fp != key.fingerprint() {
        return Err(format!(
            "checkpoint at {covers} names key {fp}, not the checkpoint key ({})",
            key.fingerprint()
        ));
    }
    if !key.verifies(checkpoint_message(*covers, head).as_bytes(), sig) {
        return Err(format!(
            "checkpoint at {covers} signature does not match — records 0..{covers} were \
             rewritten (and rehashed), or the checkpoint was forged"
        ));
    }
    Ok(*covers)
}

/// Each shipped checkpoint: signed by the key (when given), naming a record in the file with
/// its hash. The highest one extends what is vouched for.
fn check_shipped(
    report: &mut VerifyReport,
    options: &VerifyOptions<'_>,
    wanted: &HashMap<u64, Option<String>>,
) -> std::result::Result<(), String> {
    let mut shipped: Vec<&Shipped> = options.shipped.iter().collect();
    shipped.sort_by_key(|s| s.seq);
    for s in shipped {
        if let Some(key) = options.key {
            if !key.verifies(checkpoint_message(s.seq, &s.head).as_bytes(), &s.sig) {
                return Err(format!(
                    "the shipped checkpoint at {} is not signed by the checkpoint key",
                    s.seq
                ));
            }
        }
        match wanted.get(&s.seq).cloned().flatten() {
            Some(hash) if hash == s.head => {
                if options.key.is_some() && report.vouched_through.is_none_or(|v| v < s.seq) {
                    report.vouched_through = Some(s.seq);
                    report.vouched_by = Some(Vouch::Shipped);
                }
            }
            Some(_) => {
                return Err(format!(
                    "record {}: its hash differs from the shipped checkpoint at {} — the log \
                     was rewritten at or before record {}",
                    s.seq, s.seq, s.seq
                ))
            }
            None if report.last_seq.is_none_or(|last| s.seq > last) => {
                let from = report.last_seq.map_or(0, |l| l + 1);
                return Err(format!(
                    "the shipped checkpoint at {} is past the end of the log (last whole \
                     record: {}): records {from}..{} at least were deleted from its tail",
                    s.seq,
                    report
                        .last_seq
                        .map_or_else(|| "none".to_string(), |l| l.to_string()),
                    s.seq
                ));
            }
            None => {
                return Err(format!(
                    "the shipped checkpoint at {} names a record before the log's first \
                     ({}): records were cut from its head",
                    s.seq,
                    report.first_seq.unwrap_or(0)
                ))
            }
        }
    }
    Ok(())
}
