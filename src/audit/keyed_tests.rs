//! The keyed chain: genesis, checkpoints, shipped copies, and each way of tampering that the
//! unkeyed chain cannot see (edit + rehash, cut head, delete tail, reorder + rehash).

use super::*;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

struct SoftSigner(SigningKey);

impl CheckpointSigner for SoftSigner {
    fn sign(&self, message: &[u8]) -> crate::Result<Vec<u8>> {
        let sig: Signature = self.0.sign(message);
        Ok(sig.to_bytes().to_vec())
    }
}

fn key_pair(seed: u8) -> (SigningKey, CheckpointKey) {
    let sk = SigningKey::from_slice(&[seed; 32]).unwrap();
    let der = sk.verifying_key().to_public_key_der().unwrap();
    (sk, CheckpointKey::from_spki_der(der.as_bytes()).unwrap())
}

/// A keyed log of `n` request records with a checkpoint every `every`, shipped to a socket;
/// returns the dir, path, public key and the shipped lines.
fn keyed_log(n: u64, every: u64) -> (tempfile::TempDir, std::path::PathBuf, CheckpointKey, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sock_path = dir.path().join("log.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let (sk, key) = key_pair(7);
    {
        let mut log = AuditLog::open(&path).unwrap();
        log.enable_checkpoints(Checkpoints {
            signer: Box::new(SoftSigner(sk)),
            key: key.clone(),
            every,
            interval: Duration::from_secs(3600),
            ship_to: Some(sock_path),
        })
        .unwrap();
        for i in 0..n {
            log.append(&serde_json::json!({"event": "request", "n": i}))
                .unwrap();
        }
    } // dropped: a last checkpoint
    let mut shipped = String::new();
    let mut buf = [0u8; 1024];
    while let Ok(len) = sock.recv(&mut buf) {
        shipped.push_str(std::str::from_utf8(&buf[..len]).unwrap());
        shipped.push('\n');
    }
    (dir, path, key, shipped)
}

fn check(path: &Path, key: &CheckpointKey, shipped: &str) -> crate::Result<VerifyReport> {
    let shipped = parse_shipped(shipped).unwrap();
    verify_with(
        path,
        VerifyOptions {
            key: Some(key),
            shipped: &shipped,
        },
    )
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// `line` with `edit` applied and its hash recomputed by the documented rule, chained to `prev`.
fn rehash(line: &str, prev: &str) -> String {
    let body_end = line.rfind(",\"prev\":\"").unwrap();
    let body = format!("{},\"prev\":\"{prev}\"", &line[..body_end]);
    let hash = hex::encode(Sha256::digest(format!("{body}}}").as_bytes()));
    format!("{body},\"hash\":\"{hash}\"}}")
}

fn hash_of(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["hash"].as_str().unwrap().to_owned()
}

/// Rewrites every line from `from` on so that the chain is valid again (what an attacker with
/// write access but no key does).
fn rechain(lines: &mut [String], from: usize) {
    for i in from..lines.len() {
        let prev = if i == 0 {
            "0".repeat(64)
        } else {
            hash_of(&lines[i - 1])
        };
        lines[i] = rehash(&lines[i], &prev);
    }
}

#[test]
fn a_keyed_log_starts_with_a_signed_genesis_and_is_vouched_through_its_last_checkpoint() {
    let (_dir, path, key, shipped) = keyed_log(25, 10);
    let all = lines(&path);
    assert!(all[0].contains(r#""event":"genesis""#), "{}", all[0]);
    // 1 genesis + 25 requests + checkpoints after 10, 20 requests + the one at close.
    let checkpoints = all
        .iter()
        .filter(|l| l.contains(r#""event":"checkpoint""#))
        .count();
    assert_eq!(checkpoints, 3, "{all:#?}");
    assert_eq!(shipped.lines().count(), 3, "{shipped}");
    let report = check(&path, &key, &shipped).unwrap();
    assert_eq!(report.vouched_through, Some(report.last_seq.unwrap() - 1));
    // Without a key the chain verifies but nothing is vouched.
    let plain = verify(&path).unwrap();
    assert_eq!((plain.keyed, plain.vouched_through), (false, None));
}

#[test]
fn records_after_the_last_checkpoint_are_named_unvouched() {
    let (_dir, path, key, _) = keyed_log(25, 10);
    let mut all = lines(&path);
    all.pop(); // the close checkpoint
    write(&path, &all);
    let report = check(&path, &key, "").unwrap();
    let last = report.last_seq.unwrap();
    let through = report.vouched_through.unwrap();
    assert!(through < last, "{report:?}");
    assert_eq!(report.vouched_by, Some(Vouch::Record(through + 1)));
}

#[test]
fn an_edited_and_rehashed_record_breaks_the_next_checkpoint_signature() {
    let (_dir, path, key, _) = keyed_log(25, 10);
    let mut all = lines(&path);
    all[5] = all[5].replace(r#""n":4"#, r#""n":44"#);
    rechain(&mut all, 5);
    // The head of each checkpoint must name the rewritten record before it, too.
    for i in 0..all.len() {
        if all[i].contains(r#""event":"checkpoint""#) {
            let v: serde_json::Value = serde_json::from_str(&all[i]).unwrap();
            let old = v["head"].as_str().unwrap().to_owned();
            all[i] = all[i].replace(&old, &hash_of(&all[i - 1]));
            rechain(&mut all, i);
        }
    }
    write(&path, &all);
    verify(&path).expect("the unkeyed chain is fooled");
    let err = check(&path, &key, "").unwrap_err().to_string();
    assert!(
        err.contains("checkpoint at 10 signature does not match"),
        "{err}"
    );
}

#[test]
fn a_cut_head_is_refused_even_when_rechained() {
    let (_dir, path, key, _) = keyed_log(25, 10);
    let mut all = lines(&path);
    all.drain(..3);
    write(&path, &all);
    let err = check(&path, &key, "").unwrap_err().to_string();
    assert!(
        err.contains("does not begin with its genesis record"),
        "{err}"
    );
    // Renumbered from 0 and rechained: record 0 is no signed genesis.
    let mut renumbered: Vec<String> = all
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let rest = &l[l.find(",\"time\"").unwrap()..];
            format!("{{\"seq\":{i}{rest}")
        })
        .collect();
    rechain(&mut renumbered, 0);
    write(&path, &renumbered);
    let err = check(&path, &key, "").unwrap_err().to_string();
    assert!(err.contains("record 0 is not a genesis record"), "{err}");
}

#[test]
fn a_deleted_tail_is_found_by_the_shipped_checkpoints() {
    let (_dir, path, key, shipped) = keyed_log(25, 10);
    let mut all = lines(&path);
    all.truncate(15);
    write(&path, &all);
    // The file alone verifies (what is left is a valid, vouched prefix) ...
    check(&path, &key, "").unwrap();
    // ... but the shipped copies name records it no longer has.
    let err = check(&path, &key, &shipped).unwrap_err().to_string();
    assert!(err.contains("past the end of the log"), "{err}");
    assert!(err.contains("deleted from its tail"), "{err}");
}

#[test]
fn reordered_and_rehashed_records_fail_the_checkpoint() {
    let (_dir, path, key, _) = keyed_log(25, 10);
    let mut all = lines(&path);
    // Swap the entries (not the seqs) of records 3 and 4, then rechain.
    let entry = |l: &str| {
        let a = l.find(",\"event\"").unwrap();
        let b = l.rfind(",\"prev\"").unwrap();
        l[a..b].to_owned()
    };
    let (e3, e4) = (entry(&all[3]), entry(&all[4]));
    all[3] = all[3].replace(&e3, &e4);
    all[4] = all[4].replace(&e4, &e3);
    rechain(&mut all, 3);
    write(&path, &all);
    verify(&path).expect("the unkeyed chain is fooled");
    let err = check(&path, &key, "").unwrap_err().to_string();
    assert!(err.contains("line 12 (seq 11): checkpoint"), "{err}");
}

#[test]
fn a_forged_shipped_checkpoint_or_another_key_is_refused() {
    let (_dir, path, key, shipped) = keyed_log(5, 10);
    let (_, other) = key_pair(8);
    let err = check(&path, &other, "").unwrap_err().to_string();
    assert!(err.contains("names checkpoint key"), "{err}");
    let line = shipped.lines().next().unwrap();
    let head_at = line.find("head=").unwrap() + 5;
    let mut bad = line.to_owned();
    bad.replace_range(
        head_at..head_at + 1,
        if &line[head_at..head_at + 1] == "a" {
            "b"
        } else {
            "a"
        },
    );
    let err = check(&path, &key, &bad).unwrap_err().to_string();
    assert!(err.contains("not signed by the checkpoint key"), "{err}");
}
