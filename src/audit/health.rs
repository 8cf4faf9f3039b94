//! Whether the audit log can take records now, for the readiness probe: a request is refused
//! when its record cannot be written, so a log that cannot be written means keyward is not
//! ready to serve.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use super::AuditLog;

/// The size of the probe write: one page, as a record needs at most a few.
const PROBE_BYTES: usize = 4096;

impl AuditLog {
    /// `Ok` when the log is usable and its filesystem takes a page of data now; otherwise what
    /// is wrong. The probe is a file of its own beside the log (created, written, removed), so
    /// the chain is never touched.
    pub fn check_writable(&self) -> Result<(), String> {
        let path = self.path();
        if let Some(why) = self.broken() {
            return Err(format!(
                "the audit log {} is unusable: {why}",
                path.display()
            ));
        }
        if !path.exists() {
            return Err(format!(
                "the audit log {} is gone (removed or renamed while keyward runs); restart keyward",
                path.display()
            ));
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = path
            .file_name()
            .map_or_else(|| "audit".into(), |n| n.to_string_lossy().into_owned());
        let probe = path.with_file_name(format!(
            ".{name}.probe-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .and_then(|mut f| f.write_all(&[0; PROBE_BYTES]));
        let _ = std::fs::remove_file(&probe);
        written.map_err(|e| {
            let dir = probe.parent().unwrap_or(path).display();
            format!("the audit log's folder {dir} cannot be written ({e})")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usable_log_is_writable_and_leaves_no_probe_behind() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
        assert_eq!(log.check_writable(), Ok(()));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["audit.jsonl"]);
    }

    #[test]
    fn a_removed_log_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let why = log.check_writable().unwrap_err();
        assert!(why.contains("is gone"), "{why}");
    }
}
