//! The decision for one canonical request: the exchange's hard deny first, then the client's
//! allowlist, default deny.

use std::fmt;

use super::rule::Allowlist;
use crate::exchange::{self, Access, Exchange};
use crate::request::CanonicalRequest;

/// Why a request was refused by policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// The exchange's hard deny: never allowed.
    HardDeny(&'static str),
    /// No rule names this method and path.
    NoRule,
    /// Rules name the endpoint but a constraint failed in each: every such rule's reason, so the
    /// operator sees why the rule they meant did not fit (not only the first rule's).
    Constraint(String),
    /// The endpoint needs a credential and the request carried no client token.
    NeedsClient,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow { rule: String },
    Deny(Denial),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The allowing rule's name, if allowed.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Decision::Allow { rule } => Some(rule),
            Decision::Deny(_) => None,
        }
    }
}

/// The rule name that allows public market data to every client.
pub fn public_rule(exchange: &dyn Exchange) -> String {
    format!("{}:public-market-data", exchange.id())
}

/// Decides a request. `client` is `None` for an anonymous request (no token), which may only
/// reach public market data; `anonymous_ok` says whether anonymous access is enabled at all.
pub fn decide(
    exchange: &dyn Exchange,
    client: Option<&Allowlist>,
    anonymous_ok: bool,
    access: Access,
    req: &CanonicalRequest,
) -> Decision {
    if let Some(reason) = exchange::hard_deny(exchange, req.method, &req.path) {
        return Decision::Deny(Denial::HardDeny(reason));
    }
    let Some(allowlist) = client else {
        return if access == Access::Public && anonymous_ok {
            Decision::Allow {
                rule: "anonymous-market-data".to_owned(),
            }
        } else {
            Decision::Deny(Denial::NeedsClient)
        };
    };
    if access == Access::Public {
        return Decision::Allow {
            rule: public_rule(exchange),
        };
    }
    let mut failures = Vec::new();
    for rule in allowlist.rules.iter().filter(|r| r.matches_endpoint(req)) {
        match rule.check_constraints(exchange, req) {
            Ok(()) => {
                return Decision::Allow {
                    rule: rule.id.clone(),
                }
            }
            Err(why) => failures.push((rule.id.as_str(), why)),
        }
    }
    Decision::Deny(match failures.as_slice() {
        [] => Denial::NoRule,
        [(_, why)] => Denial::Constraint(why.clone()),
        several => Denial::Constraint(
            several
                .iter()
                .map(|(rule, why)| format!("rule {rule}: {why}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    })
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow { rule } => write!(f, "allowed by rule {rule}"),
            Decision::Deny(Denial::HardDeny(reason)) => write!(f, "denied (hard deny): {reason}"),
            Decision::Deny(Denial::NoRule) => {
                f.write_str("denied: no rule in this client's allow list names this method and path")
            }
            Decision::Deny(Denial::Constraint(why)) => write!(f, "denied: {why}"),
            Decision::Deny(Denial::NeedsClient) => f.write_str(
                "denied: this endpoint needs a client token (send it as the exchange API key or as Authorization: Bearer)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;
    use crate::exchange::binance::Binance;
    use crate::policy::{Rule, NOTIONAL};
    use crate::request::{canonicalise, CanonRules, Method};

    fn req(method: Method, path: &str, query: &str) -> CanonicalRequest {
        canonicalise(method, path, Some(query), None, b"", &CanonRules::FORM).unwrap()
    }

    /// A signed Binance request judged by `a`, plaintext transport allowed.
    fn signed(a: &Allowlist, req: &CanonicalRequest) -> Decision {
        decide(&Binance, Some(a), true, Access::Signed, req)
    }

    /// `POST path?query` judged by `a`, as [`signed`] does.
    fn post(a: &Allowlist, path: &str, query: &str) -> Decision {
        signed(a, &req(Method::Post, path, query))
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// A POST rule on `path` with these allowed values and maxima.
    fn post_rule(id: &str, path: &str, params: &[(&str, &[&str])], max: &[(&str, &str)]) -> Rule {
        Rule {
            id: id.into(),
            method: Method::Post,
            path: path.into(),
            params: params
                .iter()
                .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
                .collect(),
            max: max.iter().map(|(k, v)| (k.to_string(), d(v))).collect(),
            max_leverage: None,
            notional: Binance.notional(),
        }
    }

    fn order_rule() -> Rule {
        post_rule(
            "allow[1]",
            "/api/v3/order",
            &[("symbol", &["BTCUSDT", "ETHUSDT"]), ("type", &["LIMIT"])],
            &[("quantity", "0.5"), (NOTIONAL, "20000")],
        )
    }

    fn allowlist() -> Allowlist {
        let mut rules =
            Rule::from_preset(&Binance, "binance:read", Binance.preset("read").unwrap());
        rules.push(order_rule());
        Allowlist { rules }
    }

    /// When every rule naming the endpoint fails, the refusal gives each rule's reason, so the
    /// rule the operator meant is named even when it is not the first.
    #[test]
    fn a_refusal_names_every_rule_that_did_not_fit() {
        let btc = post_rule(
            "allow[1]",
            "/api/v3/order",
            &[("symbol", &["BTCUSDT"]), ("type", &["LIMIT"])],
            &[("quantity", "0.5")],
        );
        let eth = post_rule(
            "allow[2]",
            "/api/v3/order",
            &[("symbol", &["ETHUSDT"]), ("type", &["LIMIT"])],
            &[("quantity", "2")],
        );
        let a = Allowlist {
            rules: vec![btc, eth],
        };
        let r = req(
            Method::Post,
            "/api/v3/order",
            "symbol=ETHUSDT&type=LIMIT&quantity=3&price=1",
        );
        let Decision::Deny(Denial::Constraint(why)) =
            decide(&Binance, Some(&a), false, Access::Signed, &r)
        else {
            panic!("an over-limit ETH order is refused by its constraint");
        };
        assert!(why.starts_with("rule allow[1]: "), "{why}");
        assert!(why.contains("symbol=ETHUSDT"), "{why}");
        assert!(why.contains("; rule allow[2]: "), "{why}");
        assert!(why.contains("quantity"), "{why}");
        // One rule: its reason alone, as before.
        let single = Allowlist {
            rules: vec![a.rules[1].clone()],
        };
        let Decision::Deny(Denial::Constraint(why)) =
            decide(&Binance, Some(&single), false, Access::Signed, &r)
        else {
            panic!("refused");
        };
        assert!(!why.starts_with("rule "), "{why}");
    }

    #[test]
    fn table() {
        let a = allowlist();
        let cases: &[(Method, &str, &str, Result<&str, &str>)] = &[
            (Method::Get, "/api/v3/account", "", Ok("binance:read")),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=BTCUSDT&type=LIMIT&quantity=0.5&price=40000",
                Ok("allow[1]"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=BTCUSDT&type=LIMIT&quantity=0.50000001&price=1",
                Err("quantity"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=BTCUSDT&type=LIMIT&quantity=0.5&price=40000.01",
                Err("notional"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=DOGEUSDT&type=LIMIT&quantity=1&price=1",
                Err("symbol=DOGEUSDT"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "type=LIMIT&quantity=1&price=1",
                Err("'symbol' is required"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=BTCUSDT&type=LIMIT&quantity=0.1&price=1&QUOTEORDERQTY=1000000",
                Err("'QUOTEORDERQTY' is another spelling of 'quoteOrderQty'"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=BTCUSDT&type=LIMIT&Quantity=9&quoteOrderQty=1",
                Err("'Quantity' is another spelling of 'quantity'"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=BTCUSDT&type=MARKET&quantity=0.1",
                Err("type=MARKET"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=BTCUSDT&type=LIMIT&quantity=1e-1&price=1",
                Err("not a plain decimal"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=BTCUSDT&type=LIMIT&quantity=-1&price=1",
                Err("not a plain decimal"),
            ),
            (
                Method::Post,
                "/api/v3/order",
                "symbol=BTCUSDT&type=LIMIT&quantity=0.1",
                Err("the order has no limit price"),
            ),
            (
                Method::Delete,
                "/api/v3/order",
                "symbol=BTCUSDT",
                Err("no rule"),
            ),
            (
                Method::Post,
                "/sapi/v1/capital/withdraw/apply",
                "coin=BTC",
                Err("hard deny"),
            ),
            (
                Method::Post,
                "/sapi/v1/asset/transfer",
                "type=MAIN_UMFUTURE",
                Err("hard deny"),
            ),
            (
                Method::Get,
                "/api/v3/depth",
                "symbol=BTCUSDT",
                Ok("binance:public-market-data"),
            ),
        ];
        for (m, path, q, want) in cases {
            let r = req(*m, path, q);
            let access = Binance.route(path).unwrap().access;
            let got = decide(&Binance, Some(&a), true, access, &r);
            match want {
                Ok(rule) => assert_eq!(got.rule(), Some(*rule), "{m} {path}?{q}: {got}"),
                Err(text) => {
                    assert!(!got.is_allowed(), "{m} {path}?{q} allowed");
                    assert!(got.to_string().contains(text), "{m} {path}?{q}: {got}");
                }
            }
        }
    }

    #[test]
    fn limits_cannot_be_dodged_by_nesting() {
        let mut rule = order_rule();
        rule.params.clear();
        rule.max = vec![("quantity".into(), d("0.5"))];
        let a = Allowlist { rules: vec![rule] };
        let got = post(
            &a,
            "/api/v3/order",
            "batchOrders=%5B%7B%22symbol%22%3A%22BTCUSDT%22%2C%22quantity%22%3A%229%22%7D%5D",
        );
        assert!(
            got.to_string()
                .contains("'batchOrders' is not a field keyward knows on this endpoint"),
            "{got}"
        );
        // An indexed name is refused by the parser itself, before any rule.
        assert!(canonicalise(
            Method::Post,
            "/api/v3/order",
            Some("orders%5B0%5D%5Bquantity%5D=9"),
            None,
            b"",
            &CanonRules::FORM
        )
        .is_err());
        let rules = CanonRules::JSON;
        for body in [
            r#"[{"quantity":"9"}]"#,
            r#"{"orders":[{"quantity":"9"}]}"#,
            r#"{"quantity":"0.1","orders":[{"Quantity":"9"}]}"#,
        ] {
            let r = canonicalise(
                Method::Post,
                "/api/v3/order",
                None,
                Some("application/json"),
                body.as_bytes(),
                &rules,
            )
            .unwrap();
            assert!(!signed(&a, &r).is_allowed(), "{body}");
        }
        // A word that merely contains the name is not a mention; a single top-level one is fine.
        assert!(post(
            &a,
            "/api/v3/order",
            "quantity=0.1&newClientOrderId=quantityish"
        )
        .is_allowed());
    }

    #[test]
    fn dotted_names_limit_nested_json_members() {
        let rule = post_rule(
            "allow[0]",
            "/api/v3/brokerage/orders",
            &[("product_id", &["BTC-USD"])],
            &[("order_configuration.limit_limit_gtc.base_size", "0.5")],
        );
        let a = Allowlist { rules: vec![rule] };
        let order = |size: &str, extra: &str| {
            let body = format!(
                r#"{{"product_id":"BTC-USD","order_configuration":{{"limit_limit_gtc":{{"base_size":"{size}","limit_price":"100"}}}}{extra}}}"#
            );
            canonicalise(
                Method::Post,
                "/api/v3/brokerage/orders",
                None,
                Some("application/json"),
                body.as_bytes(),
                &CanonRules::JSON,
            )
            .unwrap()
        };
        let ok = order("0.5", "");
        assert_eq!(
            ok.param("order_configuration.limit_limit_gtc.base_size"),
            Some("0.5")
        );
        assert!(signed(&a, &ok).is_allowed());
        let big = signed(&a, &order("0.6", ""));
        assert!(big.to_string().contains("exceeds the maximum 0.5"), "{big}");
        // A second base_size elsewhere in the body cannot hide behind the checked one.
        let twice = order("0.1", r#","x":{"base_size":"9"}"#);
        assert!(!signed(&a, &twice).is_allowed());
        // Another order type: the limited member is absent, so the limit does not apply, but
        // its name appears nowhere else either.
        let market = canonicalise(
            Method::Post,
            "/api/v3/brokerage/orders",
            None,
            Some("application/json"),
            br#"{"product_id":"BTC-USD","order_configuration":{"market_market_ioc":{"base_size":"9"}}}"#,
            &CanonRules::JSON,
        )
        .unwrap();
        assert!(
            !signed(&a, &market).is_allowed(),
            "a base_size the rule does not check must not pass"
        );
    }

    #[test]
    fn leverage_is_capped_on_the_leverage_endpoint() {
        let rule = post_rule("allow[0]", "/fapi/v1/leverage", &[], &[("leverage", "5")]);
        let a = Allowlist { rules: vec![rule] };
        assert!(post(&a, "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=5").is_allowed());
        let got = post(&a, "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=20");
        assert!(
            got.to_string()
                .contains("leverage 20 exceeds the maximum 5"),
            "{got}"
        );
        assert!(!post(&a, "/fapi/v1/leverage", "symbol=BTCUSDT&Leverage=20").is_allowed());
    }

    #[test]
    fn quote_order_qty_is_the_notional() {
        let notional_only = post_rule("allow[1]", "/api/v3/order", &[], &[(NOTIONAL, "20000")]);
        let a = Allowlist {
            rules: vec![notional_only],
        };
        let market = "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=";
        let ok = req(Method::Post, "/api/v3/order", &format!("{market}20000"));
        assert!(signed(&a, &ok).is_allowed());
        let big = req(Method::Post, "/api/v3/order", &format!("{market}20000.1"));
        let got = signed(&a, &big);
        assert!(
            got.to_string().contains("notional 20000.1 exceeds"),
            "{got}"
        );
        // The same quote-sized market order cannot be bounded by a base-size limit.
        let a = Allowlist {
            rules: vec![order_rule()],
        };
        assert!(!signed(&a, &ok).is_allowed());
    }

    #[test]
    fn anonymous_only_public() {
        let depth = req(Method::Get, "/api/v3/depth", "symbol=BTCUSDT");
        assert!(decide(&Binance, None, true, Access::Public, &depth).is_allowed());
        assert!(!decide(&Binance, None, false, Access::Public, &depth).is_allowed());
        let acct = req(Method::Get, "/api/v3/account", "");
        assert_eq!(
            decide(&Binance, None, true, Access::Signed, &acct),
            Decision::Deny(Denial::NeedsClient)
        );
    }

    #[test]
    fn hard_deny_beats_any_rule() {
        let a = Allowlist {
            rules: vec![post_rule(
                "allow[0]",
                "/sapi/v1/capital/withdraw/apply",
                &[],
                &[],
            )],
        };
        let r = req(Method::Post, "/sapi/v1/capital/withdraw/apply", "coin=BTC");
        assert!(matches!(
            signed(&a, &r),
            Decision::Deny(Denial::HardDeny(_))
        ));
    }
}
