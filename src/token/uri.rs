//! PKCS#11 URIs (RFC 7512), the subset keyward uses to name a token and a key on it.
//!
//! ```text
//! pkcs11:token=keyward;object=keyward-seal
//! pkcs11:serial=7d1a2c9e1f3b4a55;object=keyward-seal;id=%01%02
//! ```
//!
//! Token attributes (`token`, `manufacturer`, `model`, `serial`, `slot-id`) choose the token;
//! object attributes (`object`, `id`, `type`) choose the key, and at least one of `object` and `id`
//! is required. PINs are never part of a URI: `pin-value` and `pin-source` are refused.

use std::fmt;
use std::str::FromStr;

use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};

const SCHEME: &str = "pkcs11:";

/// Characters written without escaping in [`Display`]: RFC 3986 unreserved plus a few RFC 7512
/// path characters that are safe inside an attribute value.
const VALUE_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'[')
    .remove(b']')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',');

/// The `type` attribute of a PKCS#11 URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectType {
    Public,
    Private,
    SecretKey,
    Cert,
    Data,
}

impl ObjectType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ObjectType::Public => "public",
            ObjectType::Private => "private",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Cert => "cert",
            ObjectType::Data => "data",
        }
    }
}

/// A parsed PKCS#11 URI naming one token and one key on it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// Token label (`token=`).
    pub token: Option<String>,
    /// Token manufacturer ID (`manufacturer=`).
    pub manufacturer: Option<String>,
    /// Token model (`model=`).
    pub model: Option<String>,
    /// Token serial number (`serial=`).
    pub serial: Option<String>,
    /// Slot ID (`slot-id=`); slot IDs can change when devices are replugged, prefer `serial`.
    pub slot_id: Option<u64>,
    /// Key label, `CKA_LABEL` (`object=`).
    pub object: Option<String>,
    /// Key ID, `CKA_ID` (`id=`, percent-encoded bytes).
    pub id: Option<Vec<u8>>,
    /// Object type (`type=`).
    pub object_type: Option<ObjectType>,
}

impl Pkcs11Uri {
    /// How the key is named in messages: `'label'`, `id 0102`, or both.
    pub fn key_description(&self) -> String {
        match (&self.object, &self.id) {
            (Some(label), None) => format!("'{label}'"),
            (None, Some(id)) => format!("with id {}", hex::encode(id)),
            (Some(label), Some(id)) => format!("'{label}' (id {})", hex::encode(id)),
            (None, None) => "(unnamed)".to_string(),
        }
    }
}

impl FromStr for Pkcs11Uri {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        parse(s).map_err(|msg| Error::config(format!("PKCS#11 URI '{}': {msg}", redact_pin(s))))
    }
}

/// Never echo a PIN back, even one the user wrongly put in the URI.
fn redact_pin(s: &str) -> String {
    if s.contains("pin-value") || s.contains("pin-source") {
        "pkcs11:...".to_string()
    } else {
        s.to_string()
    }
}

fn parse(s: &str) -> std::result::Result<Pkcs11Uri, String> {
    let rest = s
        .strip_prefix(SCHEME)
        .ok_or_else(|| "a PKCS#11 URI starts with 'pkcs11:'".to_string())?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    // Every query attribute is refused, so the first one decides the message.
    if let Some(attr) = query.and_then(|q| q.split('&').find(|a| !a.is_empty())) {
        let name = attr.split_once('=').map_or(attr, |(n, _)| n);
        return Err(match name {
            "pin-value" | "pin-source" => pin_refusal(),
            "module-name" | "module-path" => {
                "the module is not chosen in the URI; set `module` in the [token] section"
                    .to_string()
            }
            other => format!("query attribute '{other}' is not supported"),
        });
    }

    let mut uri = Pkcs11Uri::default();
    for attr in path.split(';').filter(|a| !a.is_empty()) {
        let (name, raw) = attr
            .split_once('=')
            .ok_or_else(|| format!("attribute '{attr}' has no '=value'"))?;
        let value = decode(raw).map_err(|e| format!("attribute '{name}': {e}"))?;
        let text = || {
            String::from_utf8(value.clone())
                .map_err(|_| format!("attribute '{name}' is not valid UTF-8 after decoding"))
        };
        let duplicate = || format!("attribute '{name}' appears twice");
        match name {
            "token" => set_once(&mut uri.token, text()?).map_err(|_| duplicate())?,
            "manufacturer" => set_once(&mut uri.manufacturer, text()?).map_err(|_| duplicate())?,
            "model" => set_once(&mut uri.model, text()?).map_err(|_| duplicate())?,
            "serial" => set_once(&mut uri.serial, text()?).map_err(|_| duplicate())?,
            "object" => set_once(&mut uri.object, text()?).map_err(|_| duplicate())?,
            "id" => {
                if value.is_empty() {
                    return Err("attribute 'id' is empty".to_string());
                }
                set_once(&mut uri.id, value).map_err(|_| duplicate())?
            }
            "slot-id" => {
                let t = text()?;
                let id = t
                    .parse::<u64>()
                    .map_err(|_| format!("slot-id '{t}' is not a decimal number"))?;
                set_once(&mut uri.slot_id, id).map_err(|_| duplicate())?
            }
            "type" => {
                let t = text()?;
                let ty = match t.as_str() {
                    "public" => ObjectType::Public,
                    "private" => ObjectType::Private,
                    "secret-key" => ObjectType::SecretKey,
                    "cert" => ObjectType::Cert,
                    "data" => ObjectType::Data,
                    _ => {
                        return Err(format!(
                            "type '{t}' is not one of public, private, secret-key, cert, data"
                        ))
                    }
                };
                set_once(&mut uri.object_type, ty).map_err(|_| duplicate())?
            }
            "pin-value" | "pin-source" => return Err(pin_refusal()),
            other => {
                return Err(format!(
                    "attribute '{other}' is not supported; use token, manufacturer, model, \
                     serial, slot-id, object, id or type"
                ))
            }
        }
    }
    if uri.object.is_none() && uri.id.is_none() {
        return Err("name the key with 'object=<label>' or 'id=<%xx bytes>'".to_string());
    }
    Ok(uri)
}

fn pin_refusal() -> String {
    "PINs are never put in the URI or the config; use `pin = { file = \"...\" }` in the [token] \
     section"
        .to_string()
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> std::result::Result<(), ()> {
    if slot.is_some() {
        return Err(());
    }
    *slot = Some(value);
    Ok(())
}

/// Strict percent-decoding: every `%` must be followed by two hex digits; spaces, controls and
/// URI delimiters must be escaped.
fn decode(raw: &str) -> std::result::Result<Vec<u8>, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        format!("'%' at offset {i} is not followed by two hex digits")
                    })?;
                out.push(hex);
                i += 3;
            }
            c if c.is_ascii_control() || c == b' ' => {
                return Err(format!(
                    "character {:?} must be percent-encoded (e.g. a space as %20)",
                    c as char
                ))
            }
            b'=' | b'?' | b'#' | b'/' | b'&' => {
                return Err(format!(
                    "character '{}' must be percent-encoded as %{:02X}",
                    bytes[i] as char, bytes[i]
                ))
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SCHEME)?;
        let mut first = true;
        let mut attr = |f: &mut fmt::Formatter<'_>, name: &str, value: &dyn fmt::Display| {
            let sep = if first { "" } else { ";" };
            first = false;
            write!(f, "{sep}{name}={value}")
        };
        let text = |v: &String| percent_encode(v.as_bytes(), VALUE_ESCAPES).to_string();
        if let Some(v) = &self.token {
            attr(f, "token", &text(v))?;
        }
        if let Some(v) = &self.manufacturer {
            attr(f, "manufacturer", &text(v))?;
        }
        if let Some(v) = &self.model {
            attr(f, "model", &text(v))?;
        }
        if let Some(v) = &self.serial {
            attr(f, "serial", &text(v))?;
        }
        if let Some(v) = self.slot_id {
            attr(f, "slot-id", &v)?;
        }
        if let Some(v) = &self.object {
            attr(f, "object", &text(v))?;
        }
        if let Some(v) = &self.id {
            let hex: String = v.iter().map(|b| format!("%{b:02X}")).collect();
            attr(f, "id", &hex)?;
        }
        if let Some(v) = self.object_type {
            attr(f, "type", &v.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(s: &str) -> Pkcs11Uri {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn parse_err(s: &str) -> String {
        s.parse::<Pkcs11Uri>().expect_err(s).to_string()
    }

    #[test]
    fn parses_the_common_form() {
        let uri = parse_ok("pkcs11:token=keyward;object=keyward-seal");
        assert_eq!(uri.token.as_deref(), Some("keyward"));
        assert_eq!(uri.object.as_deref(), Some("keyward-seal"));
        assert_eq!(uri.id, None);
        assert_eq!(uri.slot_id, None);
    }

    #[test]
    fn parses_every_attribute_and_decodes() {
        let uri = parse_ok(
            "pkcs11:token=my%20token;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;\
             serial=7d1a2c9e;slot-id=42;object=seal%3Bkey;id=%01%ab%FF;type=private",
        );
        assert_eq!(uri.token.as_deref(), Some("my token"));
        assert_eq!(uri.manufacturer.as_deref(), Some("SoftHSM project"));
        assert_eq!(uri.model.as_deref(), Some("SoftHSM v2"));
        assert_eq!(uri.serial.as_deref(), Some("7d1a2c9e"));
        assert_eq!(uri.slot_id, Some(42));
        assert_eq!(uri.object.as_deref(), Some("seal;key"));
        assert_eq!(uri.id.as_deref(), Some(&[0x01, 0xab, 0xff][..]));
        assert_eq!(uri.object_type, Some(ObjectType::Private));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "pkcs11:token=keyward;object=keyward-seal",
            "pkcs11:token=a%20b;serial=12;slot-id=3;object=x%3By%25;id=%00%FF;type=public",
            "pkcs11:id=%01",
            "pkcs11:manufacturer=%C3%A9;model=m;object=%2F%3D%3F",
        ] {
            let uri = parse_ok(s);
            let shown = uri.to_string();
            assert_eq!(shown, s);
            assert_eq!(parse_ok(&shown), uri);
        }
    }

    #[test]
    fn pins_are_refused_and_never_echoed() {
        for s in [
            "pkcs11:token=k;object=o;pin-value=1234",
            "pkcs11:token=k;object=o?pin-value=1234",
            "pkcs11:token=k;object=o?pin-source=file:/etc/pin",
        ] {
            let msg = parse_err(s);
            assert!(msg.contains("pin = { file"), "{msg}");
            assert!(!msg.contains("1234"), "{msg}");
        }
    }

    #[test]
    fn bad_uris_are_refused_precisely() {
        let cases = [
            ("token=k;object=o", "starts with 'pkcs11:'"),
            ("pkcs11:token=k", "object=<label>"),
            ("pkcs11:object=o;object=p", "appears twice"),
            ("pkcs11:object=a%2", "two hex digits"),
            ("pkcs11:object=a%zz", "two hex digits"),
            ("pkcs11:object=a b", "%20"),
            ("pkcs11:object=a=b", "%3D"),
            ("pkcs11:object", "no '=value'"),
            ("pkcs11:object=o;slot-id=x", "decimal"),
            ("pkcs11:object=o;type=key", "not one of"),
            ("pkcs11:object=o;library-version=1", "not supported"),
            ("pkcs11:object=o?module-path=/x.so", "[token] section"),
            ("pkcs11:object=%FF", "UTF-8"),
            ("pkcs11:id=", "empty"),
        ];
        for (s, want) in cases {
            let msg = parse_err(s);
            assert!(msg.contains(want), "{s}: got {msg:?}, want {want:?}");
        }
    }
}
