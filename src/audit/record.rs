//! The byte-level record format shared by the writer and the verifier (see the module docs of
//! [`crate::audit`] for the rule in prose).

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;
use std::marker::PhantomData;
use std::time::{SystemTime, UNIX_EPOCH};

/// `prev` of the first record of a log (seq 0).
pub(crate) const ZERO_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Top-level names the writer owns; an entry may not use them.
pub(crate) const RESERVED_KEYS: [&str; 4] = ["seq", "time", "prev", "hash"];

const HASH_HEX_LEN: usize = 64;
const HASH_PREFIX: &[u8] = b",\"hash\":\"";
const HASH_CLOSE: &[u8] = b"\"}";
/// Length of the textual suffix `,"hash":"<64 hex>"}` that is stripped before hashing.
const HASH_SUFFIX_LEN: usize = HASH_PREFIX.len() + HASH_HEX_LEN + HASH_CLOSE.len();

/// SHA-256 of `body` followed by `}`, as lowercase hex. `body` is a record line without its
/// `,"hash":"…"}` suffix (it ends with the `"` closing the prev value).
fn hash_body(body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(body);
    hasher.update(b"}");
    let mut hex = [0u8; 64];
    hex::encode_to_slice(hasher.finalize(), &mut hex).expect("64 hex digits for 32 bytes");
    String::from_utf8(hex.to_vec()).expect("hex digits are ASCII")
}

/// Builds one complete record line (terminated by `\n`) and returns it with its hash.
///
/// `entry` is the compact JSON text of an object whose top-level keys have been checked with
/// [`check_entry`]; `time` is already formatted; `prev` is 64 lowercase hex digits.
pub(crate) fn format_line(seq: u64, time: &str, entry: &[u8], prev: &str) -> (Vec<u8>, String) {
    debug_assert!(entry.len() >= 2 && entry[0] == b'{' && entry[entry.len() - 1] == b'}');
    let fields = &entry[1..entry.len() - 1];
    let mut line = Vec::with_capacity(entry.len() + 256);
    // Writing to a Vec cannot fail.
    let _ = write!(line, "{{\"seq\":{seq},\"time\":\"{time}\"");
    if !fields.is_empty() {
        line.push(b',');
        line.extend_from_slice(fields);
    }
    line.extend_from_slice(b",\"prev\":\"");
    line.extend_from_slice(prev.as_bytes());
    line.push(b'"');
    let hash = hash_body(&line);
    line.extend_from_slice(HASH_PREFIX);
    line.extend_from_slice(hash.as_bytes());
    line.extend_from_slice(HASH_CLOSE);
    line.push(b'\n');
    (line, hash)
}

/// `t` as RFC 3339 UTC with milliseconds, or `None` when the clock is outside what the format
/// can express (before 1970 or after 9999; humantime would panic on the former).
pub(crate) fn format_time(t: SystemTime) -> Option<String> {
    use std::fmt::Write;
    t.duration_since(UNIX_EPOCH).ok()?;
    let mut out = String::with_capacity("2000-01-01T00:00:00.000Z".len());
    write!(out, "{}", humantime::format_rfc3339_millis(t)).ok()?;
    Some(out)
}

/// `entry` as compact JSON, checked with [`check_entry`] unless its type fixes its fields
/// ([`AuditEntry::FIELDS_FIXED`]); else why not, as the end of a sentence about the entry.
pub(crate) fn entry_json<T: AuditEntry + ?Sized>(entry: &T) -> Result<Vec<u8>, String> {
    // Room for a request record with its parameters: serialised without regrowing.
    let mut json = Vec::with_capacity(1024);
    serde_json::to_writer(&mut json, entry).map_err(|e| format!("could not be serialised: {e}"))?;
    if T::FIELDS_FIXED {
        debug_assert_eq!(
            check_entry(&json),
            Ok(()),
            "a fixed-field entry failed its check"
        );
    } else {
        check_entry(&json).map_err(|why| format!("refused: {why}"))?;
    }
    Ok(json)
}

/// What the audit log records: anything that serialises to a JSON object. The log parses an
/// entry's JSON back to check its top-level fields ([`check_entry`]) unless the entry's type
/// fixes them: keyward's own [`Event`](super::Event)s, whose fields `event.rs`'s tests pin and
/// check (and debug builds check again on every append), are not parsed twice per request.
pub trait AuditEntry: serde::Serialize {
    /// The type alone guarantees an object with unique top-level fields, none reserved.
    const FIELDS_FIXED: bool = false;
}

impl AuditEntry for serde_json::Value {}

/// Checks that `json` (serde_json's compact output for an audit entry) is a JSON object whose
/// top-level keys are unique and none of [`RESERVED_KEYS`]. Returns a message on failure.
pub(crate) fn check_entry(json: &[u8]) -> Result<(), String> {
    let members: Members<Key<'_>, IgnoredAny> = serde_json::from_slice(json)
        .map_err(|e| format!("the entry must serialise to a JSON object ({e})"))?;
    for (i, (Key(key), _)) in members.0.iter().enumerate() {
        if RESERVED_KEYS.contains(&key.as_ref()) {
            return Err(format!(
                "the entry has a top-level field named {key:?}; seq, time, prev and hash are \
                 written by the audit log itself"
            ));
        }
        if members.0[..i].iter().any(|(Key(k), _)| k == key) {
            return Err(format!("the entry has the field {key:?} twice"));
        }
    }
    // serde_json's compact output never contains a raw newline (control characters in strings
    // are escaped); checked anyway because one line must be exactly one record.
    if json.contains(&b'\n') || json.first() != Some(&b'{') || json.last() != Some(&b'}') {
        return Err("the entry did not serialise to a single-line JSON object".to_string());
    }
    Ok(())
}

/// What the chain needs from one verified line.
#[derive(Debug)]
pub(crate) struct Record {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
    /// Set for the keyed records: the genesis and the checkpoints.
    pub mark: Option<Mark>,
}

/// The fields of a genesis or checkpoint record (written and checked by the checkpoint module).
#[derive(Debug)]
pub(crate) enum Mark {
    Genesis {
        key: String,
        started: String,
        sig: String,
    },
    Checkpoint {
        covers: u64,
        head: String,
        key: String,
        sig: String,
    },
}

/// The keyed fields of a record whose `event` is `genesis` or `checkpoint`.
fn mark_of(members: &[(String, serde_json::Value)]) -> Result<Option<Mark>, String> {
    let event = match members.iter().find(|(k, _)| k == "event") {
        Some((_, serde_json::Value::String(e))) => e.as_str(),
        _ => return Ok(None),
    };
    if event != GENESIS && event != CHECKPOINT {
        return Ok(None);
    }
    let text = |name: &str| -> Result<String, String> {
        match members.iter().find(|(k, _)| k == name) {
            Some((_, serde_json::Value::String(v))) => Ok(v.clone()),
            _ => Err(format!("a {event} record needs a string field {name:?}")),
        }
    };
    if event == GENESIS {
        return Ok(Some(Mark::Genesis {
            key: text("key")?,
            started: text("started")?,
            sig: text("sig")?,
        }));
    }
    let covers = members
        .iter()
        .find(|(k, _)| k == "covers")
        .and_then(|(_, v)| v.as_u64())
        .ok_or_else(|| "a checkpoint record needs an unsigned integer \"covers\"".to_string())?;
    Ok(Some(Mark::Checkpoint {
        covers,
        head: text("head")?,
        key: text("key")?,
        sig: text("sig")?,
    }))
}

/// Why one line is not a valid record. `seq` is set when the line parsed far enough to have one.
#[derive(Debug)]
pub(crate) struct LineError {
    pub seq: Option<u64>,
    pub reason: String,
}

impl LineError {
    fn new(seq: Option<u64>, reason: impl Into<String>) -> Self {
        LineError {
            seq,
            reason: reason.into(),
        }
    }
}

/// Parses one line (without its terminating `\n`) and checks everything that can be checked
/// from the line alone: the JSON, the field layout, and the hash rule. Chain checks (seq
/// continuity, prev linkage) are the caller's.
pub(crate) fn parse_line(line: &[u8]) -> Result<Record, LineError> {
    if line.is_empty() {
        return Err(LineError::new(None, "empty line"));
    }
    let members: Members<String, serde_json::Value> =
        serde_json::from_slice(line).map_err(|e| {
            let reason = if e.is_data() {
                format!("not a JSON object ({e})")
            } else {
                format!("not valid JSON — truncated? ({e})")
            };
            LineError::new(None, reason)
        })?;
    let members = members.0;

    let seq = match members.first() {
        Some((key, value)) if key == "seq" => value.as_u64(),
        _ => None,
    }
    .ok_or_else(|| {
        LineError::new(
            None,
            "not an audit record: the first field must be \"seq\", an unsigned integer",
        )
    })?;
    let fail = |reason: String| LineError::new(Some(seq), reason);

    for (i, (key, _)) in members.iter().enumerate() {
        if members[..i].iter().any(|(k, _)| k == key) {
            return Err(fail(format!("the field {key:?} appears twice")));
        }
    }
    match members.get(1) {
        Some((key, serde_json::Value::String(time))) if key == "time" => {
            humantime::parse_rfc3339(time)
                .map_err(|e| fail(format!("time {time:?} is not an RFC 3339 UTC time ({e})")))?;
        }
        _ => {
            return Err(fail(
                "the second field must be \"time\", an RFC 3339 string".to_string(),
            ))
        }
    }
    let n = members.len();
    let hash = hex_field(&members, n.checked_sub(1), "hash", "last").map_err(fail)?;
    let prev = hex_field(&members, n.checked_sub(2), "prev", "second to last").map_err(fail)?;

    // The hash rule, on the bytes as stored: the line must end with exactly `,"hash":"<hash>"}`.
    let body_len = line.len().saturating_sub(HASH_SUFFIX_LEN);
    let suffix = &line[body_len..];
    let canonical = suffix.len() == HASH_SUFFIX_LEN
        && suffix.starts_with(HASH_PREFIX)
        && &suffix[HASH_PREFIX.len()..HASH_PREFIX.len() + HASH_HEX_LEN] == hash.as_bytes()
        && suffix.ends_with(HASH_CLOSE);
    if !canonical {
        return Err(fail(format!(
            "the line does not end with ,\"hash\":\"<{HASH_HEX_LEN} hex digits>\"}} exactly — \
             the record was modified"
        )));
    }
    if hash_body(&line[..body_len]) != hash {
        return Err(fail("hash mismatch — the record was modified".to_string()));
    }
    let mark = mark_of(&members).map_err(fail)?;
    Ok(Record {
        seq,
        prev,
        hash,
        mark,
    })
}

/// The string at `members[index]`, which must be named `name` and hold 64 lowercase hex digits.
fn hex_field(
    members: &[(String, serde_json::Value)],
    index: Option<usize>,
    name: &str,
    position: &str,
) -> Result<String, String> {
    match index.and_then(|i| members.get(i)) {
        Some((key, serde_json::Value::String(value))) if key == name => {
            if is_hash_hex(value) {
                Ok(value.clone())
            } else {
                Err(format!(
                    "{name} must be {HASH_HEX_LEN} lowercase hex digits, found {value:?}"
                ))
            }
        }
        _ => Err(format!(
            "the {position} field must be {name:?}, {HASH_HEX_LEN} lowercase hex digits"
        )),
    }
}

/// The `event` of the first record of a keyed log.
pub(crate) const GENESIS: &str = "genesis";
/// The `event` of a checkpoint record.
pub(crate) const CHECKPOINT: &str = "checkpoint";

pub(crate) fn is_hash_hex(s: &str) -> bool {
    s.len() == HASH_HEX_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The top-level members of a JSON object in document order, duplicates kept, so the checks
/// above can see order and repetition (serde_json's `Map` hides both).
struct Members<K, V>(Vec<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Members<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for MembersVisitor<K, V> {
            type Value = Members<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((key, value)) = map.next_entry::<K, V>()? {
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor(PhantomData))
    }
}

/// A member's name, borrowed from the JSON text when it has no escapes (an entry's names never
/// do), so checking an entry copies none of them.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}
