//! Writer and verifier together: the format as written, and every kind of damage `verify` and
//! `open` must notice.

use super::*;
use crate::ErrorKind;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Serialize)]
struct Entry<'a> {
    client: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
}

impl AuditEntry for Entry<'_> {}

fn temp_log() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    (dir, path)
}

/// Writes `n` records (seq 0..n) and closes the log.
fn write_records(path: &Path, n: u16) {
    let log = AuditLog::open(path).unwrap();
    for i in 0..n {
        let seq = log
            .append(&Entry {
                client: "bot",
                method: "GET",
                path: "/api/v3/order",
                status: 200 + i,
            })
            .unwrap();
        assert_eq!(seq, u64::from(i));
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

/// The verifier's error text, asserting it is an audit error.
fn verify_err(path: &Path) -> String {
    let err = verify(path).expect_err("verify should fail");
    assert_eq!(err.kind(), ErrorKind::Audit, "{err}");
    err.message().to_string()
}

/// Recomputes a line's hash by the documented rule, independently of the module's code.
fn documented_hash(line: &str) -> String {
    let (body, _) = line.rsplit_once(r#","hash":""#).unwrap();
    hex::encode(Sha256::digest(format!("{body}}}").as_bytes()))
}

/// Writes `n` records, lets `tamper` change the file's lines, and asserts that the verifier
/// refuses the result saying `says`.
#[track_caller]
fn tampered(n: u16, tamper: impl FnOnce(&mut Vec<String>), says: &str) {
    let (_dir, path) = temp_log();
    write_records(&path, n);
    let mut lines = lines(&path);
    tamper(&mut lines);
    write_lines(&path, &lines);
    let msg = verify_err(&path);
    assert!(msg.contains(says), "{msg}");
}

/// `line` changed by `edit` and given the hash the documented rule computes for it: what an
/// attacker who knows the rule forges.
fn rehashed(line: &str, edit: impl FnOnce(&str) -> String) -> String {
    let old_hash = field(line, "hash");
    let edited = edit(line);
    let new_hash = documented_hash(&edited);
    edited.replace(old_hash.as_str().unwrap(), &new_hash)
}

/// Writes `n` records and cuts `bytes` off the end of the file, as a crash mid-write would.
fn cut_short(n: u16, bytes: usize) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let (dir, path) = temp_log();
    write_records(&path, n);
    let text = std::fs::read(&path).unwrap();
    let kept = text[..text.len() - bytes].to_vec();
    std::fs::write(&path, &kept).unwrap();
    (dir, path, kept)
}

/// Every seq `threads` threads get appending `per_thread` records each to `log` at once,
/// sorted.
fn appended_at_once(log: &AuditLog, threads: u64, per_thread: u64) -> Vec<u64> {
    let mut seqs: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (0..per_thread)
                        .map(|i| log.append(&json!({"thread": t, "i": i})).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    seqs.sort_unstable();
    seqs
}

fn field(line: &str, name: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(line).unwrap()[name].clone()
}

#[test]
fn audit_line_format_matches_the_documented_rule() {
    let (_dir, path) = temp_log();
    write_records(&path, 2);
    let lines = lines(&path);
    assert!(std::fs::read(&path).unwrap().ends_with(b"}\n"));

    let first = &lines[0];
    assert!(first.starts_with(r#"{"seq":0,"time":""#), "{first}");
    let time = field(first, "time");
    let time = time.as_str().unwrap();
    assert_eq!(time.len(), "2024-01-01T00:00:00.000Z".len(), "{time}");
    assert!(time.ends_with('Z'));
    humantime::parse_rfc3339(time).unwrap();
    // The entry's fields, in the entry's order, between time and prev.
    let expected_middle = format!(
        r#""time":"{time}","client":"bot","method":"GET","path":"/api/v3/order","status":200,"prev":"{ZEROS}","hash":""#
    );
    assert!(first.contains(&expected_middle), "{first}");
    let hash = field(first, "hash");
    let hash = hash.as_str().unwrap();
    assert_eq!(hash, documented_hash(first));
    assert!(first.ends_with(&format!(r#","hash":"{hash}"}}"#)));

    let second = &lines[1];
    assert!(second.starts_with(r#"{"seq":1,"#));
    assert_eq!(field(second, "prev"), hash);
    assert_eq!(field(second, "hash"), documented_hash(second).as_str());
}

#[test]
fn audit_empty_entry_has_no_stray_comma() {
    let (_dir, path) = temp_log();
    AuditLog::open(&path).unwrap().append(&json!({})).unwrap();
    let line = &lines(&path)[0];
    let time = field(line, "time");
    let hash = field(line, "hash");
    assert_eq!(
        *line,
        format!(
            r#"{{"seq":0,"time":"{}","prev":"{ZEROS}","hash":"{}"}}"#,
            time.as_str().unwrap(),
            hash.as_str().unwrap()
        )
    );
    assert_eq!(verify(&path).unwrap().records, 1);
}

#[test]
fn audit_chain_of_records_verifies() {
    let (_dir, path) = temp_log();
    write_records(&path, 5);
    let report = verify(&path).unwrap();
    let lines = lines(&path);
    assert_eq!(report.records, 5);
    assert_eq!(report.first_seq, Some(0));
    assert_eq!(report.last_seq, Some(4));
    assert_eq!(report.last_hash, field(&lines[4], "hash").as_str().unwrap());
}

#[test]
fn audit_empty_file_verifies_with_zero_records() {
    let (_dir, path) = temp_log();
    std::fs::write(&path, "").unwrap();
    let report = verify(&path).unwrap();
    assert_eq!(report.records, 0);
    assert_eq!(report.last_hash, ZEROS);
    assert_eq!(report.first_seq, None);
}

#[test]
fn audit_verify_missing_file_is_an_io_error() {
    let (_dir, path) = temp_log();
    let err = verify(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("audit.log"), "{err}");
}

#[test]
fn audit_reopen_continues_the_chain() {
    let (_dir, path) = temp_log();
    write_records(&path, 3);
    let last_hash = field(&lines(&path)[2], "hash");

    let log = AuditLog::open(&path).unwrap();
    assert_eq!(log.append(&json!({"after": "reopen"})).unwrap(), 3);
    drop(log);

    let lines = lines(&path);
    assert_eq!(lines.len(), 4);
    assert_eq!(field(&lines[3], "seq"), 3);
    assert_eq!(field(&lines[3], "prev"), last_hash);
    assert_eq!(verify(&path).unwrap().records, 4);
}

#[test]
fn audit_edited_character_names_the_line() {
    tampered(
        5,
        |lines| {
            // Line 3 (seq 2): status 202 → 203, one character.
            assert!(lines[2].contains(r#""status":202"#));
            lines[2] = lines[2].replace(r#""status":202"#, r#""status":203"#);
        },
        "line 3 (seq 2): hash mismatch — the record was modified",
    );
}

#[test]
fn audit_edited_and_rehashed_record_breaks_the_next_link() {
    tampered(
        5,
        |lines| {
            lines[2] = rehashed(&lines[2], |l| {
                l.replace(r#""status":202"#, r#""status":203"#)
            });
        },
        "line 4 (seq 3): prev does not match line 3's hash",
    );
}

#[test]
fn audit_deleted_line_is_detected() {
    tampered(
        5,
        |lines| {
            lines.remove(2);
        },
        "line 3 (seq 3): expected seq 2 after line 2's seq 1",
    );
}

#[test]
fn audit_deleted_line_with_renumbered_seq_is_detected_by_prev() {
    // An attacker who also fixes seq (and rehashes) still cannot fake prev.
    tampered(
        5,
        |lines| {
            lines.remove(2);
            lines[2] = rehashed(&lines[2], |l| l.replacen(r#"{"seq":3,"#, r#"{"seq":2,"#, 1));
        },
        "line 3 (seq 2): prev does not match line 2's hash",
    );
}

#[test]
fn audit_swapped_lines_are_detected() {
    tampered(
        5,
        |lines| lines.swap(1, 2),
        "line 2 (seq 2): expected seq 1",
    );
}

#[test]
fn audit_truncated_last_line_is_a_torn_tail_not_tampering() {
    let (_dir, path, _) = cut_short(4, 30);

    let report = verify(&path).unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(report.last_seq, Some(2));
    assert!(report.torn_tail.is_some_and(|b| b > 0), "{report:?}");
}

#[test]
fn audit_missing_final_newline_is_detected() {
    let (_dir, path, _) = cut_short(3, 1);

    let report = verify(&path).unwrap();
    assert_eq!((report.records, report.torn_tail.is_some()), (2, true));
    let err = AuditLog::open(&path).err().unwrap();
    assert!(err.message().contains("incomplete"), "{err}");
}

#[test]
fn audit_blank_and_foreign_lines_are_rejected() {
    let (_dir, path) = temp_log();
    write_records(&path, 2);
    let mut lines = lines(&path);

    lines.insert(1, String::new());
    write_lines(&path, &lines);
    assert!(verify_err(&path).contains("line 2: empty line"));

    lines[1] = "[1,2]".into();
    write_lines(&path, &lines);
    assert!(verify_err(&path).contains("line 2: not a JSON object"));

    lines[1] = r#"{"time":"2024-01-01T00:00:00.000Z","seq":1}"#.into();
    write_lines(&path, &lines);
    assert!(verify_err(&path).contains("line 2: not an audit record"));
}

#[test]
fn audit_reformatted_record_is_rejected() {
    // Re-serialising a record (here: a space after the last colon) changes its bytes; the
    // verifier does not try to canonicalise it back.
    tampered(
        2,
        |lines| {
            lines[1] = lines[1].replace(r#","hash":""#, r#","hash": ""#);
        },
        "line 2 (seq 1): the line does not end with",
    );
}

#[test]
fn audit_duplicate_top_level_key_is_rejected() {
    // A second "prev" would make readers disagree about which one counts.
    tampered(
        2,
        |lines| {
            let forged =
                lines[1].replacen(r#","client""#, &format!(r#","prev":"{ZEROS}","client""#), 1);
            lines[1] = forged;
        },
        r#"line 2 (seq 1): the field "prev" appears twice"#,
    );
}

#[test]
fn audit_genesis_record_must_have_zero_prev() {
    tampered(
        1,
        |lines| {
            lines[0] = rehashed(&lines[0], |l| l.replace(ZEROS, &"1".repeat(64)));
        },
        "line 1 (seq 0): the first record",
    );
}

#[test]
fn audit_rotated_log_may_start_at_any_seq() {
    let (_dir, path) = temp_log();
    write_records(&path, 4);
    let lines = lines(&path);
    write_lines(&path, &lines[2..]);
    let report = verify(&path).unwrap();
    assert_eq!(report.records, 2);
    assert_eq!(report.first_seq, Some(2));
    assert_eq!(report.last_seq, Some(3));
}

#[test]
fn audit_open_refuses_a_torn_last_line() {
    // A crash mid-write: half a record, then (say) a later process added the newline.
    let (_dir, path, mut torn) = cut_short(3, 40);
    torn.push(b'\n');
    std::fs::write(&path, &torn).unwrap();

    let err = AuditLog::open(&path).err().expect("open must refuse");
    assert_eq!(err.kind(), ErrorKind::Audit);
    let msg = err.message();
    assert!(msg.contains("the last line is not a valid record"), "{msg}");
    assert!(
        msg.contains(&format!("`keyward audit verify {}`", path.display())),
        "{msg}"
    );
    // Nothing was appended to the damaged file.
    assert_eq!(std::fs::read(&path).unwrap(), torn);
}

#[test]
fn audit_open_refuses_a_modified_last_line() {
    let (_dir, path) = temp_log();
    write_records(&path, 3);
    let mut lines = lines(&path);
    lines[2] = lines[2].replace(r#""status":202"#, r#""status":203"#);
    write_lines(&path, &lines);
    let err = AuditLog::open(&path).err().expect("open must refuse");
    assert!(
        err.message()
            .contains("the last line (seq 2) is not a valid record: hash mismatch"),
        "{err}"
    );
}

#[test]
fn audit_open_takes_an_exclusive_lock() {
    let (_dir, path) = temp_log();
    let first = AuditLog::open(&path).unwrap();
    let err = AuditLog::open(&path).err().expect("second open must fail");
    assert_eq!(err.kind(), ErrorKind::Audit);
    assert!(err.message().contains("locked by another process"), "{err}");
    drop(first);
    AuditLog::open(&path).unwrap();
}

#[test]
fn audit_open_needs_the_parent_directory() {
    let (dir, _) = temp_log();
    let err = AuditLog::open(&dir.path().join("missing/audit.log"))
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("cannot open audit log"), "{err}");
}

#[test]
fn audit_concurrent_appends_form_one_chain() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 50;
    let (_dir, path) = temp_log();
    let log = AuditLog::open(&path).unwrap();
    let seqs = appended_at_once(&log, THREADS, PER_THREAD);
    assert_eq!(seqs, (0..THREADS * PER_THREAD).collect::<Vec<_>>());

    let report = verify(&path).unwrap();
    assert_eq!(report.records, THREADS * PER_THREAD);
    assert_eq!(report.last_seq, Some(THREADS * PER_THREAD - 1));
}

#[test]
fn audit_entry_with_reserved_key_is_refused() {
    let (_dir, path) = temp_log();
    let log = AuditLog::open(&path).unwrap();
    for key in ["seq", "time", "prev", "hash"] {
        let err = log.append(&json!({"client": "bot", key: "x"})).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Audit);
        assert!(
            err.message()
                .contains(&format!("top-level field named \"{key}\"")),
            "{err}"
        );
    }
    // Refusals consume no seq and write nothing.
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    assert_eq!(log.append(&json!({"client": "bot"})).unwrap(), 0);
}

#[test]
fn audit_entry_must_be_an_object_with_unique_keys() {
    #[derive(Serialize)]
    struct Flattened {
        a: u8,
        #[serde(flatten)]
        extra: serde_json::Map<String, serde_json::Value>,
    }
    impl AuditEntry for Flattened {}
    let (_dir, path) = temp_log();
    let log = AuditLog::open(&path).unwrap();

    for not_object in [json!("text"), json!([1, 2]), json!(7), json!(null)] {
        let err = log.append(&not_object).unwrap_err();
        assert!(
            err.message().contains("must serialise to a JSON object"),
            "{err}"
        );
    }
    let mut extra = serde_json::Map::new();
    extra.insert("a".into(), json!(2));
    let err = log.append(&Flattened { a: 1, extra }).unwrap_err();
    assert!(err.message().contains("the field \"a\" twice"), "{err}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

#[test]
fn audit_nested_reserved_names_and_hostile_strings_do_not_confuse_the_verifier() {
    let (_dir, path) = temp_log();
    let log = AuditLog::open(&path).unwrap();
    let fake_suffix = format!(r#","hash":"{ZEROS}"}}"#);
    log.append(&json!({"inner": {"hash": ZEROS, "seq": 99, "prev": "x"}}))
        .unwrap();
    log.append(&json!({"path": fake_suffix, "note": "line\nbreak\r\u{0}"}))
        .unwrap();
    log.append(&json!({"last": {"hash": fake_suffix}})).unwrap();
    drop(log);

    assert_eq!(lines(&path).len(), 3);
    assert_eq!(verify(&path).unwrap().records, 3);
    // And reopening reads the real hash of the last line, not the nested one.
    let log = AuditLog::open(&path).unwrap();
    assert_eq!(log.append(&json!({})).unwrap(), 3);
    drop(log);
    assert_eq!(verify(&path).unwrap().records, 4);
}

#[test]
fn audit_sync_mode_appends_valid_records() {
    let (_dir, path) = temp_log();
    let mut log = AuditLog::open(&path).unwrap();
    log.set_sync(true);
    assert_eq!(log.append(&json!({"a": 1})).unwrap(), 0);
    assert_eq!(log.append(&json!({"a": 2})).unwrap(), 1);
    assert_eq!(verify(&path).unwrap().records, 2);
}

#[test]
fn audit_new_log_has_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_log();
    let _log = AuditLog::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn audit_log_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AuditLog>();
}

#[test]
fn audit_time_outside_the_format_is_refused_not_a_panic() {
    use std::time::{Duration, UNIX_EPOCH};
    let format = super::record::format_time;
    assert_eq!(
        format(UNIX_EPOCH + Duration::from_millis(1_518_563_312_123)).as_deref(),
        Some("2018-02-13T23:08:32.123Z")
    );
    assert_eq!(format(UNIX_EPOCH - Duration::from_secs(1)), None);
    assert_eq!(
        format(UNIX_EPOCH + Duration::from_secs(253_402_300_800)),
        None
    );
}

#[test]
fn group_commit_under_concurrency_keeps_a_valid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&path).unwrap();
    log.set_sync(true);
    assert!(log.is_sync());
    let seqs = appended_at_once(&log, 8, 25);
    assert_eq!(seqs, (0..200).collect::<Vec<_>>());
    drop(log);
    let report = verify(&path).unwrap();
    assert_eq!(report.records, 200);
}

#[test]
fn group_commit_for_async_writers_resolves_every_record_on_a_valid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&path).unwrap();
    log.set_sync(true);
    let log = std::sync::Arc::new(log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut seqs: Vec<u64> = runtime.block_on(async {
        let tasks: Vec<_> = (0..40u64)
            .map(|t| {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    for i in 0..5u64 {
                        let entry = json!({"task": t, "i": i});
                        out.push(log.append_async(&entry).await.unwrap());
                    }
                    out
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    seqs.sort_unstable();
    assert_eq!(seqs, (0..200).collect::<Vec<_>>());
    // Every resolved record was covered by an fdatasync: the durable mark is past them all.
    assert!(log.durable_below() >= 200);
    drop(runtime);
    drop(
        std::sync::Arc::try_unwrap(log)
            .ok()
            .expect("the only handle"),
    );
    assert_eq!(verify(&path).unwrap().records, 200);
}

#[test]
fn async_appends_from_ready_tasks_share_one_write_in_chain_order() {
    let (_dir, path) = temp_log();
    let log = std::sync::Arc::new(AuditLog::open(&path).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let seqs = runtime.block_on(async {
        // All ready at once on one thread: each stages its record and yields, so the first
        // to resume writes all of them; none resolves before its record is in the file.
        let tasks: Vec<_> = (0..10u64)
            .map(|i| {
                let (log, path) = (log.clone(), path.clone());
                tokio::spawn(async move {
                    let seq = log.append_async(&json!({"i": i})).await.unwrap();
                    let text = std::fs::read_to_string(&path).unwrap();
                    assert!(
                        text.contains(&format!("\"seq\":{seq},")),
                        "{seq} not written"
                    );
                    seq
                })
            })
            .collect();
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap());
        }
        seqs
    });
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    assert_eq!(verify(&path).unwrap().records, 10);
}

#[test]
fn a_failed_batch_write_fails_every_record_in_it_and_rewinds_the_chain() {
    let (_dir, path) = temp_log();
    let log = std::sync::Arc::new(AuditLog::open(&path).unwrap());
    log.append(&json!({"n": 0})).unwrap();
    // A read-only handle: the batch's write(2) fails with EBADF and nothing reaches the file.
    let writable = log.swap_file_for_tests(std::fs::File::open(&path).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let results = runtime.block_on(async {
        let tasks: Vec<_> = (0..4u64)
            .map(|i| {
                let log = log.clone();
                tokio::spawn(async move { log.append_async(&json!({"lost": i})).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    for r in &results {
        let e = r.as_ref().unwrap_err();
        assert!(e.message().contains("cannot write audit record"), "{e}");
    }
    log.swap_file_for_tests(writable);
    // The chain goes on from record 0: the failed batch left no trace.
    assert_eq!(log.append(&json!({"n": 1})).unwrap(), 1);
    assert_eq!(verify(&path).unwrap().records, 2);
    assert!(!std::fs::read_to_string(&path).unwrap().contains("lost"));
}
