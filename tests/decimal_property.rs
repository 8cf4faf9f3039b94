//! Property: keyward's decimal limits agree with exact rational arithmetic, with no float
//! anywhere. `order::decimal` reads exactly the plain decimals (digits, one optional fraction)
//! and refuses everything two parsers could read differently (signs, exponents, whitespace,
//! separators, other scripts' digits); what it reads compares exactly as the numbers' exact
//! values compare; and a Binance order allowed under `max quantity` and `max notional` has an
//! exact base size and an exact `price * quantity` (or `quoteOrderQty / price`) within them,
//! computed here with integers.

use std::cmp::Ordering;
use std::str::FromStr;

use keyward::order::{self, decimal, limits};
use keyward::request::{canonicalise, CanonRules, Method, Params};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// A plain decimal text as an exact rational `mantissa / 10^scale`, when it fits in u128.
fn exact(text: &str) -> Option<(u128, u32)> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = format!("{int}{frac}");
    Some((digits.parse().ok()?, frac.len() as u32))
}

/// Compares two plain decimal texts exactly, as digit strings (any length).
fn exact_cmp(a: &str, b: &str) -> Ordering {
    let norm = |t: &str| {
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let int = int.trim_start_matches('0').to_owned();
        let frac = frac.trim_end_matches('0').to_owned();
        (int, frac)
    };
    let (ai, af) = norm(a);
    let (bi, bf) = norm(b);
    ai.len()
        .cmp(&bi.len())
        .then_with(|| ai.cmp(&bi))
        .then_with(|| af.cmp(&bf))
}

/// `a * b <= l` exactly, for rationals `m / 10^s`; `None` if it overflows u128.
fn product_within(a: (u128, u32), b: (u128, u32), l: (u128, u32)) -> Option<bool> {
    // a.m * b.m / 10^(a.s + b.s) <= l.m / 10^l.s  <=>  a.m * b.m * 10^l.s <= l.m * 10^(a.s+b.s)
    let left =
        a.0.checked_mul(b.0)?
            .checked_mul(10u128.checked_pow(l.1)?)?;
    let right = l.0.checked_mul(10u128.checked_pow(a.1 + b.1)?)?;
    Some(left <= right)
}

/// `q / p <= l` exactly (p > 0): `q <= l * p`.
fn quotient_within(q: (u128, u32), p: (u128, u32), l: (u128, u32)) -> Option<bool> {
    // q.m / 10^q.s <= l.m * p.m / 10^(l.s + p.s)  <=>  q.m * 10^(l.s+p.s) <= l.m * p.m * 10^q.s
    let left = q.0.checked_mul(10u128.checked_pow(l.1 + p.1)?)?;
    let right =
        l.0.checked_mul(p.0)?
            .checked_mul(10u128.checked_pow(q.1)?)?;
    Some(left <= right)
}

/// Plain decimals with up to 18 significant digits and up to 18 fraction digits, leading and
/// trailing zeros included: enough for exact products to need more than rust_decimal's 28
/// fraction digits.
fn plain() -> impl Strategy<Value = String> {
    prop_oneof![
        "(0|[1-9][0-9]{0,8})(\\.[0-9]{1,9})?",
        "0\\.0{0,12}[1-9][0-9]{0,5}",
        "[0-9]{1,3}(\\.[0-9]{10,18})?",
        "0{1,3}[1-9][0-9]{0,3}(\\.[0-9]{1,4}0{0,3})?",
    ]
}

/// Texts that are not plain decimals, or that two parsers could read differently.
fn not_plain() -> impl Strategy<Value = String> {
    let body = "(0|[1-9][0-9]{0,4})(\\.[0-9]{1,4})?";
    prop_oneof![
        body.prop_map(|b| format!("+{b}")),
        body.prop_map(|b| format!("-{b}")),
        body.prop_map(|b| format!("{b}e3")),
        body.prop_map(|b| format!("{b}E-2")),
        body.prop_map(|b| format!(" {b}")),
        body.prop_map(|b| format!("{b} ")),
        body.prop_map(|b| format!("{b}\t")),
        body.prop_map(|b| format!("{b}_0")),
        body.prop_map(|b| format!("{b},5")),
        "[0-9]{1,4}\\.".prop_map(|b| b),
        "\\.[0-9]{1,4}".prop_map(|b| b),
        "0x[0-9a-f]{1,4}".prop_map(|b| b),
        Just("１".to_owned()),
        Just("١٢".to_owned()),
        Just("NaN".to_owned()),
        Just("Infinity".to_owned()),
        Just("".to_owned()),
        Just("1..2".to_owned()),
        Just("1.2.3".to_owned()),
    ]
}

const RULES: CanonRules = CanonRules {
    body_on_delete: true,
    bot_signing_params: &["signature", "timestamp"],
    ..CanonRules::FORM
};

/// Whether keyward's limits let a Binance `POST /api/v3/order` with these fields through under
/// `max quantity` and `max notional`.
fn binance_allows(fields: &[(&str, &str)], max_qty: &str, max_notional: &str) -> bool {
    let mut form = Params::new();
    for (k, v) in fields {
        form.set(k, (*v).to_owned());
    }
    let Ok(req) = canonicalise(
        Method::Post,
        "/api/v3/order",
        None,
        Some("application/x-www-form-urlencoded"),
        form.encode().as_bytes(),
        &RULES,
    ) else {
        return false;
    };
    let orders = keyward::exchange::binance::PROFILE.orders;
    let endpoint = orders
        .iter()
        .find(|e| e.method == Method::Post && e.path == "/api/v3/order")
        .unwrap();
    let max = vec![
        ("quantity".to_owned(), Decimal::from_str(max_qty).unwrap()),
        (
            "notional".to_owned(),
            Decimal::from_str(max_notional).unwrap(),
        ),
    ];
    let vocabulary = |n: &str| limits::meaning(orders, endpoint.spec, n);
    order::read(endpoint, &req).is_ok_and(|orders| {
        orders
            .iter()
            .all(|o| limits::check(&vocabulary, o, &[], &max, "rule").is_ok())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// A plain decimal is read as its exact value: two of them compare as exact arithmetic
    /// says (leading zeros read as the exchange reads them), or keyward refuses one of them.
    #[test]
    fn plain_decimals_compare_exactly(a in plain(), b in plain()) {
        match (decimal("x", &a), decimal("x", &b)) {
            (Ok(x), Ok(y)) => prop_assert_eq!(x.cmp(&y), exact_cmp(&a, &b), "{} vs {}", a, b),
            (x, y) => prop_assert!(false, "refused a plain decimal: {a} {x:?}, {b} {y:?}"),
        }
    }

    /// Anything else is refused.
    #[test]
    fn other_notations_are_refused(t in not_plain()) {
        prop_assert!(decimal("x", &t).is_err(), "{:?} was read as a decimal", t);
    }

    /// Digits beyond what keyward can hold exactly are refused, never rounded.
    #[test]
    fn no_rounding_on_read(int in "[1-9][0-9]{0,5}", frac in "[0-9]{20,34}") {
        let text = format!("{int}.{frac}");
        if let Ok(d) = decimal("x", &text) {
            prop_assert_eq!(exact_cmp(&d.to_string(), &text), Ordering::Equal, "{} read as {}", text, d);
        }
    }

    /// A limit order allowed under the maxima is within them by exact arithmetic, and one
    /// within them (exactly) is allowed.
    #[test]
    fn limit_orders_are_judged_exactly(
        qty in plain(), price in plain(), max_qty in plain(), max_notional in plain(),
    ) {
        let (Some(q), Some(p), Some(lq), Some(ln)) =
            (exact(&qty), exact(&price), exact(&max_qty), exact(&max_notional)) else {
            return Ok(());
        };
        let Some(notional_ok) = product_within(q, p, ln) else { return Ok(()) };
        let qty_ok = exact_cmp(&qty, &max_qty) != Ordering::Greater;
        let allowed = binance_allows(
            &[("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"),
              ("timeInForce", "GTC"), ("quantity", &qty), ("price", &price)],
            &max_qty, &max_notional,
        );
        if allowed {
            prop_assert!(qty_ok && notional_ok,
                "allowed {qty} x {price} over max quantity {max_qty} / notional {max_notional}");
        }
        // Exactly within: allowed, unless the exact product needs more than 28 fraction
        // digits (then keyward may refuse, never allow, an order at the limit).
        // (A zero quantity or price is no order keyward reads.)
        let representable = q.1 + p.1 <= 28 && lq.1 <= 28 && q.0 > 0 && p.0 > 0;
        if qty_ok && notional_ok && representable {
            prop_assert!(allowed, "refused {qty} x {price} within {max_qty} / {max_notional}");
        }
    }

    /// A market buy sized in the quote asset at a limit... Binance's quoteOrderQty on a LIMIT
    /// order: the base size is `quoteOrderQty / price`, compared exactly.
    #[test]
    fn quote_sized_orders_are_judged_exactly(
        quote in plain(), price in plain(), max_qty in plain(),
    ) {
        let (Some(q), Some(p), Some(lq)) = (exact(&quote), exact(&price), exact(&max_qty)) else {
            return Ok(());
        };
        prop_assume!(p.0 > 0);
        let Some(base_ok) = quotient_within(q, p, lq) else { return Ok(()) };
        let notional_ok = exact_cmp(&quote, "1000000000") != Ordering::Greater;
        let allowed = binance_allows(
            &[("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"),
              ("timeInForce", "GTC"), ("quoteOrderQty", &quote), ("price", &price)],
            &max_qty, "1000000000",
        );
        if allowed {
            prop_assert!(base_ok && notional_ok,
                "allowed quote {quote} at {price}: base over max quantity {max_qty}");
        }
    }
}

/// The properties are not vacuous: an order exactly at its limits passes, one a unit of the
/// last digit above does not.
#[test]
fn limits_are_inclusive_and_exact() {
    let order = |q: &str, p: &str| {
        binance_allows(
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", q),
                ("price", p),
            ],
            "0.5",
            "1000",
        )
    };
    assert!(order("0.5", "2000"));
    assert!(!order("0.5", "2000.000000001"));
    assert!(!order("0.500000000000000001", "1"));
    assert!(order("0000.25", "4000.0"));
    assert!(!order("+0.25", "4000"));
    assert!(!order("2.5e-1", "4000"));
}
