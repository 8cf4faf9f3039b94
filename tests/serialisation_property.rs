//! Property: every parameter encoding keyward produces reads back, through keyward's own strict
//! parsers, as exactly the parameters it encoded: query strings and form bodies
//! ([`Params::encode`] → [`parse_params`]), JSON bodies ([`Json::to_compact`] → [`Json::parse`]),
//! and whole canonical requests ([`CanonicalRequest::serialise`] → [`canonicalise`]) under the
//! form rules (Binance) and the JSON rules (most exchanges). Values range over non-ASCII text,
//! every reserved and sub-delimiter character, `%`, `+` and spaces.

use keyward::request::{
    canonicalise, parse_params, Body, CanonRules, Json, Method, Params, MAX_KEY_LEN, MAX_VALUE_LEN,
};
use proptest::prelude::*;

/// A parameter name keyward accepts: letters, digits, `_ - [ ]`, no `.`, no `[]` and no array
/// index (`[0]`), which an exchange's parser may read as structure.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("[A-Za-z0-9_\\[\\]-]{{1,{MAX_KEY_LEN}}}"))
            .expect("a valid regex"),
        Just("batchOrders".to_owned()),
        Just("close[price]".to_owned()),
        Just("orders[x][symbol]".to_owned()),
    ]
    .prop_filter("the array-append form `[]` is refused", |k| {
        !k.contains("[]")
    })
    .prop_filter("an array index is refused", |k| {
        k.split('[').skip(1).all(|part| {
            let inside = part.split(']').next().unwrap_or("");
            inside.is_empty() || !inside.bytes().all(|b| b.is_ascii_digit())
        })
    })
    .prop_filter("a method-override name is refused", |k| {
        ![
            "_method",
            "_httpmethod",
            "x-http-method-override",
            "x-http-method",
            "x-method-override",
        ]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(k))
    })
}

/// A value keyward accepts: any text without control characters, weighted towards the
/// characters encoders disagree on.
fn value() -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        Just(' '),
        Just('+'),
        Just('%'),
        Just('&'),
        Just('='),
        Just('?'),
        Just('#'),
        Just('/'),
        Just(';'),
        Just(','),
        Just(':'),
        Just('@'),
        Just('['),
        Just(']'),
        Just('{'),
        Just('}'),
        Just('"'),
        Just('\''),
        Just('\\'),
        Just('~'),
        Just('*'),
        Just('!'),
        Just('$'),
        Just('|'),
        Just('é'),
        Just('€'),
        Just('中'),
        Just('１'),
        Just('\u{FEFF}'),
        Just('\u{2028}'),
        Just('😀'),
        Just('\u{10FFFF}'),
    ];
    let any = any::<char>().prop_filter("no control characters", |c| !c.is_control());
    prop::collection::vec(
        prop_oneof![3 => tricky, 2 => any, 2 => "[a-z0-9.]"
        .prop_map(|s| s.chars().next().unwrap())],
        0..40,
    )
    .prop_map(|cs| cs.into_iter().collect::<String>())
    .prop_filter("bounded", |v| v.len() <= MAX_VALUE_LEN)
}

/// Two names keyward refuses side by side because an exchange's parser may fold them into
/// one: equal ignoring case and `.` vs `_`, or a plain and a bracketed name of the same base.
fn may_be_read_as_one(a: &str, b: &str) -> bool {
    let fold = |k: &str| k.to_ascii_lowercase().replace('.', "_");
    let base = |k: &str| fold(k.split('[').next().unwrap_or(k));
    fold(a) == fold(b) || (a.contains('[') != b.contains('[') && base(a) == base(b))
}

fn params(max: usize) -> impl Strategy<Value = Params> {
    prop::collection::vec((key(), value()), 0..max).prop_map(|pairs| {
        let mut p = Params::new();
        for (k, v) in pairs {
            if !p.iter().any(|(q, _)| may_be_read_as_one(q, &k)) {
                p.set(&k, v);
            }
        }
        p
    })
}

/// A JSON value of bounded depth: strings with anything but control characters (which keyward
/// refuses, escaped or not), numbers in every grammar form, nested objects with unique keys and arrays.
fn json() -> impl Strategy<Value = Json> {
    let number = prop_oneof![
        "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
        Just("0.10".to_owned()),
        Just("-0".to_owned()),
        Just("1E+2".to_owned()),
    ];
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        number.prop_map(Json::Number),
        "[^\\p{Cc}]*".prop_map(Json::String),
        value().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec((any::<String>(), inner), 0..6).prop_map(|members| {
                let mut seen: Vec<(String, Json)> = Vec::new();
                for (k, v) in members {
                    if !seen.iter().any(|(q, _)| *q == k) {
                        seen.push((k, v));
                    }
                }
                Json::Object(seen)
            }),
        ]
    })
}

const FORM: CanonRules = CanonRules {
    bot_signing_params: &["signature", "timestamp"],
    ..CanonRules::FORM
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Query strings and form bodies: encode → parse gives the same parameters, and the
    /// encoding uses only unreserved characters and escapes (nothing a server could re-read).
    #[test]
    fn query_and_form_round_trip(p in params(20)) {
        let text = p.encode();
        prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%&=".contains(&b)), "{text}");
        prop_assert_eq!(parse_params(&text, "query string").unwrap(), p.clone());
        prop_assert_eq!(parse_params(&text, "body").unwrap(), p);
    }

    /// JSON bodies: compact text → parse gives the same value, numbers exactly as written.
    #[test]
    fn json_round_trip(j in json()) {
        let text = j.to_compact();
        let back = Json::parse(&text);
        prop_assert_eq!(back.as_ref(), Ok(&j), "{}", text);
        // and the compact form is a fixed point
        prop_assert_eq!(back.unwrap().to_compact(), text);
    }

    /// Whole requests under the form rules: query and form body, serialised by keyward and
    /// canonicalised again, are the same request.
    #[test]
    fn form_requests_round_trip(q in params(10), f in params(10)) {
        let f = {
            let mut only = Params::new();
            for (k, v) in f.iter() {
                if !q.iter().any(|(n, _)| may_be_read_as_one(n, k)) {
                    only.set(k, v.to_owned());
                }
            }
            only
        };
        let body = f.encode();
        let Ok(req) = canonicalise(
            Method::Post, "/api/v3/order", Some(&q.encode()),
            Some("application/x-www-form-urlencoded"), body.as_bytes(), &FORM,
        ) else {
            return Err(TestCaseError::fail("keyward refused its own encoding"));
        };
        let s = req.serialise();
        let again = s.parts().canonicalise(&FORM).unwrap();
        prop_assert_eq!(&again, &req);
        let expected_query: Params = {
            let mut e = q.clone();
            e.remove("signature");
            e.remove("timestamp");
            e
        };
        prop_assert_eq!(&req.query, &expected_query);
        if let Body::Form(form) = &req.body {
            for (k, v) in form.iter() {
                prop_assert_eq!(f.get(k), Some(v));
            }
        }
    }

    /// Whole requests under the JSON rules: an object body serialised by keyward and
    /// canonicalised again is the same request.
    #[test]
    fn json_requests_round_trip(members in prop::collection::vec(("[a-zA-Z_]{1,12}", json()), 0..8)) {
        let mut seen: Vec<(String, Json)> = Vec::new();
        for (k, v) in members {
            if !seen.iter().any(|(q, _)| q.eq_ignore_ascii_case(&k)) && !k.eq_ignore_ascii_case("_method") {
                seen.push((k, v));
            }
        }
        let body = Json::Object(seen).to_compact();
        let req = match canonicalise(
            Method::Post, "/v5/order/create", None, Some("application/json"),
            body.as_bytes(), &CanonRules::JSON,
        ) {
            Ok(req) => req,
            // Nested method-override names are refused; anything else is a bug.
            Err(r) => { prop_assert_eq!(r.code, "method_override", "{}", body); return Ok(()); }
        };
        let again = req.serialise().parts().canonicalise(&CanonRules::JSON).unwrap();
        prop_assert_eq!(again, req);
    }
}

/// The properties are not vacuous: encodings differ from the text, and a changed value is seen.
#[test]
fn round_trips_see_what_they_carry() {
    let mut p = Params::new();
    p.set("symbol", "BTC USDT&side=SELL".to_owned());
    p.set("note", "é+%".to_owned());
    assert_eq!(
        p.encode(),
        "symbol=BTC%20USDT%26side%3DSELL&note=%C3%A9%2B%25"
    );
    let back = parse_params(&p.encode(), "body").unwrap();
    assert_eq!(back.get("symbol"), Some("BTC USDT&side=SELL"));
    assert_eq!(back.get("side"), None);
    let j = Json::parse(r#"{"px":"1.50","sz":1.50e0,"s":"\u00e9\/"}"#).unwrap();
    assert_eq!(j.to_compact(), r#"{"px":"1.50","sz":1.50e0,"s":"é/"}"#);
    assert!(Json::parse(r#"{"s":"\u0000é"}"#).is_err());
}
