//! The audit log's file itself: the last line to continue the chain from, writing a record's
//! bytes and cutting a failed write back off.

use super::record::{self, ZERO_HASH};
use crate::{Error, Result};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

pub(super) fn write_line(file: &mut File, line: &[u8]) -> io::Result<()> {
    file.write_all(line)?;
    file.flush()
}

/// Cuts the file back to `len` if a failed write left anything after it.
pub(super) fn truncate_to(file: &File, len: u64) -> io::Result<()> {
    if file.metadata()?.len() != len {
        file.set_len(len)?;
    }
    Ok(())
}

pub(super) enum LastLine {
    Empty,
    /// The file does not end with `\n`.
    Unterminated,
    /// The last line, without its `\n`.
    Line(Vec<u8>),
}

/// Reads the last line of the first `len` bytes of `file` by scanning backwards, so opening a
/// large log does not read all of it.
pub(super) fn last_line(file: &File, len: u64) -> io::Result<LastLine> {
    const CHUNK: u64 = 8192;
    if len == 0 {
        return Ok(LastLine::Empty);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    if last[0] != b'\n' {
        return Ok(LastLine::Unterminated);
    }
    let end = len - 1;
    let mut start = 0;
    let mut pos = end;
    let mut chunk = Vec::new();
    while pos > 0 {
        let n = pos.min(CHUNK);
        chunk.resize(n as usize, 0);
        file.read_exact_at(&mut chunk, pos - n)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            start = pos - n + i as u64 + 1;
            break;
        }
        pos -= n;
    }
    let mut line = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut line, start)?;
    Ok(LastLine::Line(line))
}

/// Where the chain goes on in the log `file` of `len` bytes: the next seq and the last hash.
/// Its last line must be a complete, self-consistent record (or the file empty).
pub(super) fn chain_position(file: &File, len: u64, path: &Path) -> Result<(u64, String)> {
    let shown = path.display();
    let refuse = |why: String| {
        Error::audit(format!(
            "audit log {shown}: {why}; the last write may have been torn by a crash, or the \
             file was tampered with. Refusing to append. Run `keyward audit verify {shown}` \
             to find the first bad record"
        ))
    };
    match last_line(file, len)
        .map_err(|e| Error::io(format!("cannot read audit log {shown}"), e))?
    {
        LastLine::Empty => Ok((0, ZERO_HASH.to_string())),
        LastLine::Unterminated => Err(refuse(
            "the last line is incomplete (no terminating newline)".into(),
        )),
        LastLine::Line(line) => {
            let rec = record::parse_line(&line).map_err(|e| {
                let seq = e.seq.map(|s| format!(" (seq {s})")).unwrap_or_default();
                refuse(format!(
                    "the last line{seq} is not a valid record: {}",
                    e.reason
                ))
            })?;
            let next = rec.seq.checked_add(1).ok_or_else(|| {
                refuse(format!(
                    "the last record's seq {} cannot be followed",
                    rec.seq
                ))
            })?;
            Ok((next, rec.hash))
        }
    }
}
