//! Decimals as limits compare them: plain digits only, so no two parsers read them differently.

use std::str::FromStr;

use rust_decimal::Decimal;

/// A plain decimal with an optional leading `-` (a signed size, a `-1` sentinel): whether it is
/// negative, and its absolute value. `-0` is zero.
pub(super) fn signed_decimal(name: &str, value: &str) -> Result<(bool, Decimal), String> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let size = decimal(name, digits).map_err(|_| {
        format!("{name}={value} is not a plain decimal number (an optional '-' and digits)")
    })?;
    Ok((negative && !size.is_zero(), size))
}

/// A plain non-negative decimal (`123`, `0.5`): no sign, exponent, spaces or separators, which
/// two parsers could read differently.
pub fn decimal(name: &str, value: &str) -> Result<Decimal, String> {
    let plain = {
        let mut parts = value.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next();
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
    };
    if !plain || value.len() > 40 {
        return Err(format!("{name}={value} is not a plain decimal number"));
    }
    Decimal::from_str(value).map_err(|_| format!("{name}={value} is out of range"))
}
