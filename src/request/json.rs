//! Strict JSON for request bodies: duplicate keys are refused at every depth, numbers keep the
//! exact text the bot wrote (`219.0` stays `219.0`; no float round trip), depth and size are
//! bounded, and keyward re-serialises compactly so the bytes it signs are the bytes it sends.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 8;

/// A JSON value whose numbers are kept as their exact source text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number's text as written (validated by serde_json's grammar).
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in the bot's order; keys are unique.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses `text`, refusing duplicate keys, over-deep nesting and trailing data.
    pub fn parse(text: &str) -> Result<Json, String> {
        parse_depth(text, 0)
    }

    /// Compact serialisation: no whitespace, members and numbers exactly as parsed.
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_str(out, s),
            Json::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// A member of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A member of an object, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A scalar as the text a policy compares: strings unquoted, numbers as written,
    /// booleans as `true`/`false`. Arrays, objects and null have no text.
    pub fn scalar_text(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            Json::Number(n) => Some(n),
            Json::Bool(true) => Some("true"),
            Json::Bool(false) => Some("false"),
            _ => None,
        }
    }

    /// How many times `name` is named at any depth: as a member (case-insensitively) or as a word
    /// inside a string (see `CanonicalRequest::mentions`).
    pub fn mentions(&self, name: &str) -> usize {
        match self {
            Json::String(s) => crate::request::word_count(s, name),
            Json::Array(items) => items.iter().map(|v| v.mentions(name)).sum(),
            Json::Object(members) => members
                .iter()
                .map(|(k, v)| usize::from(k.eq_ignore_ascii_case(name)) + v.mentions(name))
                .sum(),
            _ => 0,
        }
    }

    /// An object of these members, in this order (the keys must differ).
    pub fn object<'k>(members: impl IntoIterator<Item = (&'k str, Json)>) -> Json {
        Json::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    /// A string value.
    pub fn text(s: impl Into<String>) -> Json {
        Json::String(s.into())
    }

    /// Removes a member of an object; returns it.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        match self {
            Json::Object(m) => {
                let i = m.iter().position(|(k, _)| k == key)?;
                Some(m.remove(i).1)
            }
            _ => None,
        }
    }

    /// Sets a member of an object (appended if new). No effect on non-objects.
    pub fn set(&mut self, key: &str, value: Json) {
        if let Json::Object(m) = self {
            match m.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => m.push((key.to_owned(), value)),
            }
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    // serde_json's string escaping cannot fail for a &str.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

fn parse_depth(text: &str, depth: usize) -> Result<Json, String> {
    if depth > MAX_DEPTH {
        return Err(format!("JSON nested deeper than {MAX_DEPTH} levels"));
    }
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
    match trimmed.as_bytes().first() {
        Some(b'{') => {
            let members: Members = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let mut out = Vec::with_capacity(members.0.len());
            for (k, raw) in members.0 {
                out.push((k, parse_depth(raw.get(), depth + 1)?));
            }
            Ok(Json::Object(out))
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> =
                serde_json::from_str(text).map_err(|e| e.to_string())?;
            items
                .iter()
                .map(|raw| parse_depth(raw.get(), depth + 1))
                .collect::<Result<_, _>>()
                .map(Json::Array)
        }
        Some(b'"') => {
            let value = serde_json::from_str::<String>(text).map_err(|e| e.to_string())?;
            // As in form values: an escaped control character (`"BTCUSDT\u0000x"`) is text
            // keyward checks whole and an exchange may cut or drop (C strings end at NUL).
            if value.chars().any(char::is_control) {
                return Err("a JSON string value contains control characters".to_owned());
            }
            Ok(Json::String(value))
        }
        Some(b't' | b'f') => serde_json::from_str::<bool>(text)
            .map(Json::Bool)
            .map_err(|e| e.to_string()),
        Some(b'n') => serde_json::from_str::<()>(text)
            .map(|_| Json::Null)
            .map_err(|e| e.to_string()),
        Some(b'-' | b'0'..=b'9') => {
            // Validate against JSON's number grammar, keep the text.
            let raw: Box<RawValue> = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let t = raw.get();
            if t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            {
                Ok(Json::Number(t.to_owned()))
            } else {
                Err("invalid JSON number".to_owned())
            }
        }
        _ => Err("expected a JSON value".to_owned()),
    }
}

/// An object's members as raw values, refusing a key that appears twice.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    // An escaped control character (`"sz\u0000"`) makes a name that keyward
                    // checks as one member and an exchange may read as another (C strings end
                    // at NUL; some parsers drop control characters).
                    if key.chars().any(char::is_control) {
                        return Err(de::Error::custom(format!(
                            "member name {key:?} contains control characters"
                        )));
                    }
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("duplicate key {key:?}")));
                    }
                    let value: Box<RawValue> = map.next_value()?;
                    out.push((key, value));
                }
                Ok(Members(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Members, A::Error> {
                Err(de::Error::custom("expected an object"))
            }
        }
        d.deserialize_map(V)
    }
}

/// Occurrences of `word` in `text`, case-insensitively, not touching a letter, digit or `_` on
/// either side.
pub fn word_count(text: &str, word: &str) -> usize {
    if word.is_empty() || text.len() < word.len() {
        return 0;
    }
    let (t, w) = (text.as_bytes(), word.as_bytes());
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    (0..=t.len() - w.len())
        .filter(|&i| {
            t[i..i + w.len()].eq_ignore_ascii_case(w)
                && (i == 0 || !is_word(t[i - 1]))
                && t.get(i + w.len()).is_none_or(|b| !is_word(*b))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text() {
        let body = r#"{"symbol":"XBTM15","price":219.0,"clOrdID":"mm_bitmex_1a/oemUeQ4CAJZgP3fjHsA","orderQty":98}"#;
        let j = Json::parse(body).unwrap();
        assert_eq!(j.to_compact(), body);
        assert_eq!(j.get("price").unwrap().scalar_text(), Some("219.0"));
        let big = r#"{"a":1.00000000000000000001,"b":-0,"c":1e400,"d":12345678901234567890123}"#;
        assert_eq!(Json::parse(big).unwrap().to_compact(), big);
    }

    #[test]
    fn whitespace_is_removed_and_escapes_normalised() {
        let j =
            Json::parse("{ \"a\" : [1, 2 ,{\"b\":\"\\u00e9\\/\\\"\"}] , \"c\":null,\"d\":true }")
                .unwrap();
        assert_eq!(
            j.to_compact(),
            "{\"a\":[1,2,{\"b\":\"é/\\\"\"}],\"c\":null,\"d\":true}"
        );
    }

    #[test]
    fn refuses_control_characters_in_member_names() {
        for text in [
            r#"{"sz\u0000":"1"}"#,
            r#"{"a":{"px\u001f":"1"}}"#,
            r#"{"a":[{"\u007fqty":"1"}]}"#,
        ] {
            let e = Json::parse(text).unwrap_err();
            assert!(e.contains("control characters"), "{text}: {e}");
        }
    }

    #[test]
    fn refuses_control_characters_in_string_values() {
        for text in [
            r#"{"symbol":"BTCUSDT\u0000x"}"#,
            r#"{"note":"tab\there"}"#,
            r#"{"a":[{"b":"line\nbreak"}]}"#,
            r#"{"c":"\u007f"}"#,
            r#"{"d":"\u0085"}"#,
            r#"["\r"]"#,
        ] {
            let e = Json::parse(text).unwrap_err();
            assert!(e.contains("control characters"), "{text}: {e}");
        }
        assert!(Json::parse(r#"{"note":"é \u00e9 \/ \" \\"}"#).is_ok());
    }

    #[test]
    fn refuses_duplicates_at_any_depth_and_bad_input() {
        for bad in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"[{"x":1,"x":1}]"#,
            r#"{"a":1} x"#,
            r#"{"a":01}"#,
            r#"{"a":NaN}"#,
            "{\"a\":\"\u{1}\"}",
            "",
        ] {
            assert!(Json::parse(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(Json::parse(&deep).is_err());
    }
}
