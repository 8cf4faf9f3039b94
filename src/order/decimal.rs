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
    let d = Decimal::from_str(value).map_err(|_| format!("{name}={value} is out of range"))?;
    // rust_decimal rounds away the digits it cannot hold (more than 28 after the point, or 29
    // significant): a limit compared with the rounded value would not be the exchange's.
    let places = value.split_once('.').map_or(0, |(_, f)| f.len());
    if d.scale() as usize != places {
        return Err(format!(
            "{name}={value} has more digits than keyward compares exactly (at most 28 after the point and 28 significant)"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by tests/decimal_property.rs: `1.00000000000000000000000000001` was read as 1,
    /// so an order one unit of its last digit over a limit of 1 passed it.
    #[test]
    fn digits_beyond_exact_precision_are_refused_not_rounded() {
        assert!(decimal("quantity", "1.00000000000000000000000000001").is_err());
        assert!(decimal("quantity", "0.00000000000000000000000000001").is_err());
        assert!(decimal("quantity", "123456789012345678901.123456789").is_err());
        assert_eq!(
            decimal("quantity", "0.0000000000000000000000000001")
                .unwrap()
                .to_string(),
            "0.0000000000000000000000000001"
        );
        assert_eq!(decimal("quantity", "1.50").unwrap().to_string(), "1.50");
        assert_eq!(decimal("quantity", "007").unwrap().to_string(), "7");
    }
}
