//! The key-permission self-check's reading of an exchange's answer: what the API key behind a
//! credential may do, as the exchange itself reports it at the profile's `permission_endpoint`.
//!
//! Each exchange reads its own documented answer in its own module
//! ([`super::Exchange::read_permissions`]); this module holds the shared types and the small
//! JSON helpers. Anything a reader cannot find or does not understand is [`Fact::Unknown`]:
//! the check fails closed.

use serde_json::Value;

/// One fact about a key: read from the exchange's answer, or not readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    Known(bool),
    Unknown,
}

impl Fact {
    /// `Known(b)` for a JSON boolean, `Unknown` for anything else (absent, null, a string).
    pub fn bool_at(v: &Value, pointer: &str) -> Fact {
        match v.pointer(pointer) {
            Some(Value::Bool(b)) => Fact::Known(*b),
            _ => Fact::Unknown,
        }
    }

    /// True if either is known true; else unknown if either is unknown; else false.
    pub fn or(self, other: Fact) -> Fact {
        match (self, other) {
            (Fact::Known(true), _) | (_, Fact::Known(true)) => Fact::Known(true),
            (Fact::Known(false), Fact::Known(false)) => Fact::Known(false),
            _ => Fact::Unknown,
        }
    }

    /// Whether the fact is possibly true (true or unknown): what fail-closed refuses on.
    pub fn maybe(self) -> bool {
        !matches!(self, Fact::Known(false))
    }
}

/// What the exchange says the key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPermissions {
    /// Can withdraw to an outside address.
    pub withdraw: Fact,
    /// Can move funds between accounts (internal, universal or sub-account transfer).
    pub transfer: Fact,
    /// The exchange only accepts the key from listed IP addresses.
    pub ip_restricted: Fact,
}

/// What a reader made of the permission endpoint's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The answer was read (some facts may still be unknown).
    Read(KeyPermissions),
    /// The answer is not JSON of the documented shape (or an exchange error): nothing known.
    Unreadable,
    /// The exchange's endpoint does not report the key's permissions: nothing can be checked.
    NotAvailable,
}

/// The self-check's verdict on one credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Cannot withdraw nor transfer (both read as false).
    Safe,
    /// Can withdraw and/or transfer (as read): refused under `permission_check = "refuse"`.
    CanMove { withdraw: bool, transfer: bool },
    /// A fact needed for the decision could not be read: refused under `refuse`.
    Unknown,
    /// The exchange does not report permissions; nothing was checked.
    NotAvailable,
}

impl Reading {
    /// The verdict: safe only when both withdraw and transfer are known false.
    pub fn verdict(&self) -> Verdict {
        let p = match self {
            Reading::Read(p) => p,
            Reading::Unreadable => return Verdict::Unknown,
            Reading::NotAvailable => return Verdict::NotAvailable,
        };
        let withdraw = p.withdraw == Fact::Known(true);
        let transfer = p.transfer == Fact::Known(true);
        if withdraw || transfer {
            return Verdict::CanMove { withdraw, transfer };
        }
        if p.withdraw.maybe() || p.transfer.maybe() {
            return Verdict::Unknown;
        }
        Verdict::Safe
    }
}

/// The answer as JSON, or `None` if it is not JSON.
pub fn json(answer: &[u8]) -> Option<Value> {
    serde_json::from_slice(answer).ok()
}

/// Whether a JSON array of strings contains `name` (case-insensitive); `Unknown` if the value
/// is not an array of strings.
pub fn list_contains(v: Option<&Value>, names: &[&str]) -> Fact {
    let Some(Value::Array(items)) = v else {
        return Fact::Unknown;
    };
    let mut found = false;
    for item in items {
        let Value::String(s) = item else {
            return Fact::Unknown;
        };
        found |= names.iter().any(|n| s.eq_ignore_ascii_case(n));
    }
    Fact::Known(found)
}

/// Whether a comma- or space-separated string contains `name`; `Unknown` if not a string.
pub fn words_contain(v: Option<&Value>, names: &[&str]) -> Fact {
    let Some(Value::String(s)) = v else {
        return Fact::Unknown;
    };
    Fact::Known(
        s.split([',', ' '])
            .map(str::trim)
            .any(|w| names.iter().any(|n| w.eq_ignore_ascii_case(n))),
    )
}

/// IP restriction from a list of addresses (or a comma-separated string): present when the
/// list is non-empty and not a wildcard (`*`, `0.0.0.0/0`).
pub fn ip_list(v: Option<&Value>) -> Fact {
    let items: Vec<&str> = match v {
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                let Value::String(s) = i else {
                    return Fact::Unknown;
                };
                out.push(s.as_str());
            }
            out
        }
        Some(Value::String(s)) => s.split(',').map(str::trim).collect(),
        Some(Value::Null) => Vec::new(),
        _ => return Fact::Unknown,
    };
    let real = items
        .iter()
        .filter(|s| !s.is_empty())
        .all(|s| !matches!(*s, "*" | "0.0.0.0/0" | "::/0"));
    Fact::Known(real && items.iter().any(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests;
