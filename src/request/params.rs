//! Query strings and form bodies: one strict parser and keyward's own encoding, so the bytes
//! keyward signs are the bytes it sends.

use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{Refusal, RefusalKind};

/// Longest parameter name accepted.
pub const MAX_KEY_LEN: usize = 64;
/// Longest decoded parameter value accepted.
pub const MAX_VALUE_LEN: usize = 4096;
/// Most parameters accepted in one request (query and body together).
pub const MAX_PARAMS: usize = 100;
/// Parameter names that frameworks read as "use this method instead" (Rails, Laravel, Symfony,
/// ASP.NET, Express's method-override): keyward signs the method it checked, so a request that
/// names another one is ambiguous and refused wherever the name appears.
const METHOD_OVERRIDES: &[&str] = &[
    "_method",
    "_httpmethod",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Refuses a method-override parameter (any letter case) in `place`.
pub fn refuse_method_override(key: &str, place: &str) -> Result<(), Refusal> {
    if METHOD_OVERRIDES.iter().any(|m| m.eq_ignore_ascii_case(key)) {
        return Err(Refusal::new(
            RefusalKind::BadRequest,
            "method_override",
            format!(
                "parameter '{key}' in the {place} is refused: keyward never lets a parameter change the method; send the request with the method you mean"
            ),
        ));
    }
    Ok(())
}

/// Ordered parameters with unique keys (uniqueness is enforced by the parser and by [`Params::push`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new() -> Self {
        Params(Vec::new())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let idx = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(idx).1)
    }

    /// Appends a parameter; replaces the value in place if the key is already present.
    pub fn set(&mut self, key: &str, value: String) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// keyward's own serialisation: `k=v&k=v`, every byte outside the unreserved set
    /// percent-encoded (UTF-8), so the bytes signed are the bytes sent.
    pub fn encode(&self) -> String {
        // Room for every pair unescaped (the usual case), so the string grows once at most.
        let unescaped: usize = self.0.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut out = String::with_capacity(unescaped);
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.extend(utf8_percent_encode(k, ENCODE_SET));
            out.push('=');
            out.extend(utf8_percent_encode(v, ENCODE_SET));
        }
        out
    }
}

/// Everything but RFC 3986 unreserved characters is encoded.
const ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Raw bytes allowed in a query string or form body besides `&`, `=` and `%XX` escapes. Each
/// stands for itself (no parser gives them another meaning inside a value), and keyward
/// re-encodes what it forwards, so accepting them raw changes nothing upstream. `{`, `}` and `"`
/// are here because ccxt sends Binance's `batchOrders` JSON unencoded.
fn is_query_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'~'
                | b'+'
                | b','
                | b':'
                | b'*'
                | b'@'
                | b'/'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'"'
        )
}

/// Parses `k=v&k=v` strictly: every pair has `=`, no empty pairs, valid `%XX` escapes, `+` is a
/// space, keys are `[A-Za-z0-9_.-]` (with `[]`), values are UTF-8 without control characters,
/// no key appears twice (also not in another letter case), everything bounded.
pub fn parse_params(input: &str, place: &str) -> Result<Params, Refusal> {
    let mut params = Params::new();
    if input.is_empty() {
        return Ok(params);
    }
    for pair in input.split('&') {
        if pair.is_empty() {
            return Err(Refusal::bad_params(format!(
                "empty parameter in the {place} ('&&' or a leading or trailing '&')"
            )));
        }
        if let Some(b) = pair
            .bytes()
            .find(|b| *b != b'=' && *b != b'%' && !is_query_char(*b))
        {
            let msg = if b == b';' {
                format!("';' in the {place}: parameters are separated by '&' only")
            } else {
                format!(
                    "byte {:?} in the {place} must be percent-encoded",
                    char::from(b)
                )
            };
            return Err(Refusal::bad_params(msg));
        }
        let (raw_key, raw_value) = pair
            .split_once('=')
            .ok_or_else(|| Refusal::bad_params(format!("parameter without '=' in the {place}")))?;
        let key = decode_component(raw_key, place)?;
        let value = decode_component(raw_value, place)?;
        if key.is_empty() {
            return Err(Refusal::bad_params(format!(
                "empty parameter name in the {place}"
            )));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(Refusal::bad_params(format!(
                "parameter name longer than {MAX_KEY_LEN} bytes in the {place}"
            )));
        }
        if !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']'))
        {
            return Err(Refusal::bad_params(format!(
                "parameter name {key:?} in the {place} has characters other than letters, digits, '_', '.', '-'"
            )));
        }
        refuse_method_override(&key, place)?;
        if value.len() > MAX_VALUE_LEN {
            return Err(Refusal::bad_params(format!(
                "value of '{key}' is longer than {MAX_VALUE_LEN} bytes"
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(Refusal::bad_params(format!(
                "value of '{key}' contains control characters"
            )));
        }
        if params.iter().any(|(k, _)| k.eq_ignore_ascii_case(&key)) {
            return Err(Refusal::bad_params(format!(
                "parameter '{key}' appears more than once in the {place}"
            )));
        }
        refuse_array_spelling(&key, &params, place)?;
        if params.len() >= MAX_PARAMS {
            return Err(Refusal::bad_params(format!(
                "more than {MAX_PARAMS} parameters"
            )));
        }
        params.0.push((key, value));
    }
    Ok(params)
}

/// Array-style spellings that PHP-like parsers (and Rails, qs, ...) fold into another
/// parameter: `a[]` (append to `a`) is refused outright; a plain key and a bracketed key of the
/// same base (`volume` and `volume[x]`), or two keys equal once `.` reads as `_` (`a.b` and
/// `a_b`), are refused as duplicates. Distinct bracketed keys of one base (Kraken's
/// `close[ordertype]` and `close[price]`) stay allowed.
fn refuse_array_spelling(key: &str, params: &Params, place: &str) -> Result<(), Refusal> {
    if key.contains("[]") {
        return Err(Refusal::bad_params(format!(
            "parameter name {key:?} in the {place} uses the array-append form '[]'; send one value under one plain name"
        )));
    }
    // Alone, too: PHP reads `a.b` as `a_b` and `qs` (allowDots) as `a: {b}`; PHP, Rails and
    // `qs` read `a[0]` as the first element of an array `a`. No venue's form or query names
    // need either (JSON paths such as Coinbase's `advanced_instructions.algorithm` are JSON).
    if key.contains('.') {
        return Err(Refusal::bad_params(format!(
            "parameter name {key:?} in the {place} holds a '.', which an exchange's parser may read as '_' or as structure; send the name the exchange documents"
        )));
    }
    let indexed = key.split('[').skip(1).any(|part| {
        let inside = part.split(']').next().unwrap_or("");
        !inside.is_empty() && inside.bytes().all(|b| b.is_ascii_digit())
    });
    if indexed {
        return Err(Refusal::bad_params(format!(
            "parameter name {key:?} in the {place} has an array index, which an exchange's parser may read as an element of another parameter; send one value under one plain name"
        )));
    }
    let bracketed = |k: &str| k.contains('[');
    let clash = params.iter().find(|(k, _)| {
        same_folded(k, key) || (bracketed(key) != bracketed(k) && same_folded(base(k), base(key)))
    });
    match clash {
        Some((k, _)) => Err(Refusal::bad_params(format!(
            "parameters '{k}' and '{key}' in the {place} may be read as one by the exchange; send each parameter once, under one name"
        ))),
        None => Ok(()),
    }
}

/// A parameter name without its bracketed part (`close` of `close[price]`).
fn base(key: &str) -> &str {
    key.split('[').next().unwrap_or(key)
}

/// Whether `a` and `b` are one name once ASCII letters are lower-cased and `.` reads as `_`
/// (as PHP-like parsers fold them), compared without building the folded names.
fn same_folded(a: &str, b: &str) -> bool {
    let fold = |c: u8| match c {
        b'.' => b'_',
        c => c.to_ascii_lowercase(),
    };
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

fn decode_component(raw: &str, place: &str) -> Result<String, Refusal> {
    let bytes = raw.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let ok = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(Refusal::bad_params(format!(
                    "malformed percent-escape in the {place}"
                )));
            }
        }
    }
    if !raw.contains(['+', '%']) {
        // Nothing to decode (the common case): one copy, no intermediate.
        return Ok(raw.to_owned());
    }
    let spaced = raw.replace('+', " ");
    percent_decode(spaced.as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Refusal::bad_params(format!("the {place} is not valid UTF-8 once decoded")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_style_spellings_are_refused() {
        for bad in [
            "a[]=1",
            "volume=1&volume[]=2",
            "volume=1&volume%5Bx%5D=2",
            "close%5Bprice%5D=1&close=2",
            // The same base in another letter case.
            "VOLUME=1&volume%5Bx%5D=2",
            "Close%5Bprice%5D=1&cLOSE=2",
            "a.b=1&a_b=2",
            "A_B=1&a.b=2",
            // Alone too: folded to `a_b` or read as structure or an array element.
            "a.b=1",
            "reduce.only=true",
            "a%5B0%5D=1",
            "close%5Bprice%5D%5B1%5D=2",
        ] {
            let r = parse_params(bad, "body").unwrap_err();
            assert_eq!(r.code, "bad_params", "{bad}");
        }
        for good in [
            "close%5Bordertype%5D=limit&close%5Bprice%5D=40000",
            "close%5Bprice2%5D=1",
            "volume=1&price=2",
        ] {
            assert!(parse_params(good, "body").is_ok(), "{good}");
        }
    }

    #[test]
    fn raw_json_in_a_value_reads_as_itself_and_is_re_encoded() {
        let p = parse_params(
            r#"batchOrders=[{"symbol":"BTCUSDT","quantity":"1"}]"#,
            "body",
        )
        .unwrap();
        assert_eq!(
            p.get("batchOrders"),
            Some(r#"[{"symbol":"BTCUSDT","quantity":"1"}]"#)
        );
        assert_eq!(
            p.encode(),
            "batchOrders=%5B%7B%22symbol%22%3A%22BTCUSDT%22%2C%22quantity%22%3A%221%22%7D%5D"
        );
        // Other bytes still must be percent-encoded.
        for bad in ["a=b c", "a=<x>", "a=b|c", "a='x'"] {
            assert!(parse_params(bad, "body").is_err(), "{bad}");
        }
    }
}
