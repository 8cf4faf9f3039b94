//! The allowlist compiler: a client's `allow` entries, as the operator wrote them, checked against
//! the exchange and expanded into [`Rule`]s.
//!
//! The input is plain data ([`AllowEntry`]); the configuration hands it over and turns an
//! [`AllowError`] back into a message naming its own key, so this module knows nothing of TOML.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;

use super::rule::{parse_decimal, Allowlist, Rule, NOTIONAL};
use crate::exchange::{self, Exchange};
use crate::order::{limits, Meaning, OrderEndpoint};
use crate::request::{check_path, Method};

/// One `allow` entry: a preset name (`binance:read`) or a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowEntry {
    Preset(String),
    Rule(RuleEntry),
}

/// An allow rule as written: a method, an exact path, and optional constraints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleEntry {
    pub method: String,
    pub path: String,
    /// Parameters that must be present with one of the listed values.
    pub params: BTreeMap<String, Vec<String>>,
    /// Inclusive upper bounds, as decimal text (`"0.5"`); `notional` bounds `price * quantity`.
    pub max: BTreeMap<String, String>,
    /// An inclusive upper bound on the leverage the request sets, as decimal text (`"5"`).
    pub max_leverage: Option<String>,
}

/// Why an allow list does not compile, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowError {
    pub at: Location,
    pub message: String,
}

/// The part of an allow list an [`AllowError`] is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The list as a whole (two entries that contradict each other).
    List,
    /// The entry at this index.
    Entry(usize),
    /// A field of the entry at this index: `method`, `path`, `params.symbol`, `max.quantity`.
    Field { entry: usize, field: String },
}

impl AllowError {
    pub fn new(at: Location, message: impl Into<String>) -> Self {
        AllowError {
            at,
            message: message.into(),
        }
    }

    fn field(entry: usize, field: impl fmt::Display, message: impl Into<String>) -> Self {
        let field = field.to_string();
        Self::new(Location::Field { entry, field }, message)
    }
}

/// Compiles a client's `allow` entries for `exchange`, in order. Refuses hard-denied endpoints,
/// methods and paths the exchange does not have, unparseable limits, and limits that another
/// entry would make meaningless.
pub fn compile(exchange: &dyn Exchange, entries: Vec<AllowEntry>) -> Result<Allowlist, AllowError> {
    let mut rules = Vec::new();
    for (j, entry) in entries.into_iter().enumerate() {
        match entry {
            AllowEntry::Preset(name) => rules.extend(preset(exchange, j, &name)?),
            AllowEntry::Rule(rule) => rules.push(compile_rule(exchange, j, rule)?),
        }
    }
    check_no_limit_is_shadowed(exchange, &rules)?;
    Ok(Allowlist { rules })
}

fn preset(exchange: &dyn Exchange, j: usize, name: &str) -> Result<Vec<Rule>, AllowError> {
    let entries = name
        .split_once(':')
        .filter(|(ex, _)| *ex == exchange.id())
        .and_then(|(_, p)| exchange.preset(p))
        .ok_or_else(|| {
            let known: Vec<String> = exchange
                .preset_names()
                .iter()
                .map(|p| format!("{}:{p}", exchange.id()))
                .collect();
            AllowError::new(
                Location::Entry(j),
                format!(
                    "{name:?} is not a preset of exchange {}; presets: {}",
                    exchange.id(),
                    known.join(", ")
                ),
            )
        })?;
    Ok(Rule::from_preset(exchange, name, entries))
}

fn compile_rule(exchange: &dyn Exchange, j: usize, r: RuleEntry) -> Result<Rule, AllowError> {
    let method = Method::parse(&r.method)
        .filter(|m| exchange.methods().contains(m))
        .ok_or_else(|| {
            AllowError::field(
                j,
                "method",
                format!(
                    "{:?} is not a method of the {} API; use one of {}",
                    r.method,
                    exchange.id(),
                    Method::list(exchange.methods())
                ),
            )
        })?;
    // A `{name}` segment matches any one segment (an order id), as in the presets.
    let concrete = concrete_path(&r.path);
    check_path(&concrete)
        .map_err(|e| AllowError::field(j, "path", format!("{:?}: {}", r.path, e.message)))?;
    if exchange.route(&concrete).is_none() {
        return Err(AllowError::field(
            j,
            "path",
            format!(
                "{:?} is not a {} API path (paths start after the credential name, e.g. \"/api/v3/order\")",
                r.path,
                exchange.id()
            ),
        ));
    }
    if let Some(reason) = exchange::hard_deny(exchange, method, &r.path)
        .or_else(|| exchange::hard_deny(exchange, method, &concrete))
    {
        return Err(AllowError::new(
            Location::Entry(j),
            format!(
                "{method} {} is hard-denied ({reason}); no configuration can allow it",
                r.path
            ),
        ));
    }
    let mut params = Vec::new();
    for (name, values) in r.params {
        if values.is_empty() {
            return Err(AllowError::field(
                j,
                format_args!("params.{name}"),
                "list at least one allowed value",
            ));
        }
        params.push((name, values));
    }
    let mut max = Vec::new();
    for (name, text) in r.max {
        let limit: Decimal = parse_decimal(&name, &text)
            .map_err(|e| AllowError::field(j, format_args!("max.{name}"), e))?;
        max.push((name, limit));
    }
    let unread = exchange
        .profile()
        .orders_unread
        .iter()
        .any(|(m, p)| *m == method && exchange::path_matches(p, &r.path));
    if unread && !(params.is_empty() && max.is_empty()) {
        return Err(AllowError::new(
            Location::Entry(j),
            format!(
                "{method} {} places orders keyward cannot read yet, so it cannot judge limits on them; allow it without params/max, or leave it out",
                r.path
            ),
        ));
    }
    let profile = exchange.profile();
    if let Some(endpoint) = profile.order_endpoint(method, &r.path) {
        check_order_names(profile.orders, endpoint, j, &params, &max)?;
    } else if let Some(endpoint) = profile.leverage_endpoint(method, &r.path) {
        check_order_names(profile.leverage, endpoint, j, &params, &max)?;
    }
    let max_leverage = match r.max_leverage {
        None => None,
        Some(text) => Some(max_leverage(exchange, j, method, &r.path, &text)?),
    };
    Ok(Rule {
        id: format!("allow[{j}]"),
        method,
        path: r.path,
        params,
        max,
        max_leverage,
        notional: exchange.notional(),
    })
}

/// A rule's `max_leverage`: a positive decimal, on an endpoint that sets leverage (a
/// leverage-setting endpoint, or an order endpoint where leverage rides on the order).
fn max_leverage(
    exchange: &dyn Exchange,
    j: usize,
    method: Method,
    path: &str,
    text: &str,
) -> Result<Decimal, AllowError> {
    let at = |message: String| AllowError::field(j, "max_leverage", message);
    let limit = parse_decimal("max_leverage", text).map_err(at)?;
    if limit.is_zero() {
        return Err(at(
            "must be more than 0 (a leverage of at least 1 is the unleveraged position)".to_owned(),
        ));
    }
    let profile = exchange.profile();
    let on_order = profile.order_endpoint(method, path).is_some_and(|e| {
        e.spec
            .fields
            .iter()
            .any(|(_, m)| m.kind() == Meaning::Leverage)
    });
    if on_order || profile.leverage_endpoint(method, path).is_some() {
        return Ok(limit);
    }
    let setters: Vec<String> = profile
        .leverage
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    Err(at(format!(
        "{method} {path} sets no leverage, so this limit would never apply; {}",
        if setters.is_empty() {
            format!(
                "{} sets leverage on no endpoint keyward reads",
                exchange.id()
            )
        } else {
            format!(
                "put it on the endpoint that sets leverage ({})",
                setters.join(", ")
            )
        }
    )))
}

/// The path with each `{name}` segment (letters, digits, `_`) replaced by a placeholder
/// segment, for the checks that take a concrete path.
fn concrete_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let name = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            match name {
                Some(n)
                    if !n.is_empty()
                        && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
                {
                    "x"
                }
                _ => seg,
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// On an order endpoint, every constrained name must be one the endpoint's orders have (or
/// [`NOTIONAL`]): a limit on a name the exchange does not read would never apply, and would let
/// the operator believe in it.
fn check_order_names(
    endpoints: &[OrderEndpoint],
    endpoint: &OrderEndpoint,
    j: usize,
    params: &[(String, Vec<String>)],
    max: &[(String, Decimal)],
) -> Result<(), AllowError> {
    let known = |name: &str| {
        endpoint.spec.meaning(name).is_some()
            || limits::meaning(endpoints, endpoint.spec, name).is_some()
    };
    let fields = || {
        let names: Vec<&str> = endpoint
            .spec
            .fields
            .iter()
            .filter(|(_, m)| !matches!(m, Meaning::Inert))
            .map(|(n, _)| *n)
            .collect();
        names.join(", ")
    };
    for (name, _) in params {
        if !known(name) {
            return Err(AllowError::field(
                j,
                format_args!("params.{name}"),
                format!(
                    "{} {} has no field {name:?}, so this constraint would never apply; its order fields are {}",
                    endpoint.method,
                    endpoint.path,
                    fields()
                ),
            ));
        }
    }
    for (name, _) in max {
        if name != NOTIONAL && !known(name) {
            return Err(AllowError::field(
                j,
                format_args!("max.{name}"),
                format!(
                    "{} {} has no field {name:?}, so this limit would never apply; limit one of {}, or notional",
                    endpoint.method,
                    endpoint.path,
                    fields()
                ),
            ));
        }
    }
    Ok(())
}

/// A constrained rule next to an unconstrained one for the same endpoint would never limit
/// anything: refuse the combination rather than let the operator believe in the limit.
fn check_no_limit_is_shadowed(exchange: &dyn Exchange, rules: &[Rule]) -> Result<(), AllowError> {
    let constrained = |r: &&Rule| r.is_constrained();
    for r in rules.iter().filter(constrained) {
        if let Some(open) = rules.iter().find(|o| {
            !constrained(o) && o.method == r.method && exchange::path_matches(&o.path, &r.path)
        }) {
            return Err(AllowError::new(
                Location::List,
                format!(
                    "rule {} limits {} {} but {} allows it without limits, so the limits would never apply; remove one of them (e.g. use \"{}:read\" plus explicit order rules instead of a trade preset)",
                    r.id, r.method, r.path, open.id, exchange.id()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::binance::Binance;

    fn order(max: &[(&str, &str)]) -> AllowEntry {
        AllowEntry::Rule(RuleEntry {
            method: "POST".into(),
            path: "/api/v3/order".into(),
            params: BTreeMap::from([("symbol".into(), vec!["BTCUSDT".into()])]),
            max: max
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            max_leverage: None,
        })
    }

    #[test]
    fn limits_on_names_the_order_endpoint_does_not_have_are_refused() {
        let e = compile(&Binance, vec![order(&[("qty", "1")])]).unwrap_err();
        assert_eq!(
            e.at,
            Location::Field {
                entry: 0,
                field: "max.qty".into()
            }
        );
        assert!(e.message.contains("has no field \"qty\""), "{}", e.message);
        assert!(e.message.contains("quantity"), "{}", e.message);
        // The exchange's own names, an amend's name for the same size and notional compile.
        compile(
            &Binance,
            vec![order(&[("quantity", "1"), ("notional", "5")])],
        )
        .unwrap();
        compile(&Binance, vec![order(&[("newQty", "1")])]).unwrap();
        // A `{name}` segment stands for any one segment, as in the presets.
        let amend = AllowEntry::Rule(RuleEntry {
            method: "PUT".into(),
            path: "/api/v3/{x}/amend/keepPriority".into(),
            ..RuleEntry::default()
        });
        assert!(compile(&Binance, vec![amend]).is_ok());
        let bad = AllowEntry::Rule(RuleEntry {
            method: "GET".into(),
            path: "/api/v3/{x y}".into(),
            ..RuleEntry::default()
        });
        assert!(compile(&Binance, vec![bad]).is_err());
        // An order endpoint without a field table takes no limits at all.
        let oco = AllowEntry::Rule(RuleEntry {
            method: "POST".into(),
            path: "/api/v3/orderList/oco".into(),
            max: BTreeMap::from([("quantity".into(), "1".into())]),
            ..RuleEntry::default()
        });
        let e = compile(&Binance, vec![oco]).unwrap_err();
        assert!(e.message.contains("cannot read yet"), "{}", e.message);
    }

    #[test]
    fn presets_and_rules_expand_in_order() {
        let list = compile(
            &Binance,
            vec![
                AllowEntry::Preset("binance:read".into()),
                order(&[("quantity", "0.5")]),
            ],
        )
        .unwrap();
        assert!(list.rules.iter().any(|r| r.id == "binance:read"));
        let last = list.rules.last().unwrap();
        assert_eq!(last.id, "allow[1]");
        assert_eq!(last.method, Method::Post);
        assert_eq!(last.max, vec![("quantity".to_owned(), Decimal::new(5, 1))]);
    }

    #[test]
    fn errors_say_which_entry_and_field() {
        let cases = [
            (
                vec![AllowEntry::Preset("bybit:read".into())],
                Location::Entry(0),
                "not a preset of exchange binance",
            ),
            (
                vec![
                    AllowEntry::Preset("binance:read".into()),
                    order(&[("quantity", "1e3")]),
                ],
                Location::Field {
                    entry: 1,
                    field: "max.quantity".into(),
                },
                "not a plain decimal",
            ),
            (
                vec![AllowEntry::Rule(RuleEntry {
                    method: "PATCH".into(),
                    path: "/api/v3/order".into(),
                    ..RuleEntry::default()
                })],
                Location::Field {
                    entry: 0,
                    field: "method".into(),
                },
                "not a method of the binance API",
            ),
            (
                vec![
                    AllowEntry::Preset("binance:spot-trade".into()),
                    order(&[("quantity", "1")]),
                ],
                Location::List,
                "limits would never apply",
            ),
        ];
        for (entries, at, want) in cases {
            let err = compile(&Binance, entries).unwrap_err();
            assert_eq!(err.at, at, "{}", err.message);
            assert!(err.message.contains(want), "{}", err.message);
        }
    }

    fn leverage(exchange: &dyn Exchange, path: &str, limit: &str) -> Result<Allowlist, AllowError> {
        compile(
            exchange,
            vec![crate::exchange::testing::leverage_rule(
                "POST",
                path,
                &[],
                limit,
            )],
        )
    }

    #[test]
    fn max_leverage_only_where_leverage_is_set() {
        use crate::exchange::{coinbase::Coinbase, deribit::Deribit, kraken::Kraken};
        let list = leverage(&Binance, "/fapi/v1/leverage", "5").unwrap();
        assert_eq!(list.rules[0].max_leverage, Some(Decimal::new(5, 0)));
        // On an order endpoint where leverage rides on the order.
        leverage(&Kraken, "/0/private/AddOrder", "3").unwrap();
        leverage(&Coinbase, "/api/v3/brokerage/orders", "3").unwrap();
        for (exchange, path, says) in [
            (&Binance as &dyn Exchange, "/api/v3/order", "put it on the endpoint that sets leverage (POST /fapi/v1/leverage, POST /dapi/v1/leverage)"),
            (&Binance, "/fapi/v1/marginType", "sets no leverage"),
            (&Deribit, "/api/v2/private/buy", "deribit sets leverage on no endpoint keyward reads"),
        ] {
            let e = leverage(exchange, path, "5").unwrap_err();
            assert_eq!(e.at, Location::Field { entry: 0, field: "max_leverage".into() });
            assert!(e.message.contains(says), "{path}: {}", e.message);
        }
        for bad in ["0", "-1", "1e2", "five"] {
            let e = leverage(&Binance, "/fapi/v1/leverage", bad).unwrap_err();
            assert_eq!(
                e.at,
                Location::Field {
                    entry: 0,
                    field: "max_leverage".into()
                },
                "{bad}"
            );
        }
        // A preset that allows the endpoint whole would make the bound meaningless.
        let e = compile(
            &Binance,
            vec![
                AllowEntry::Preset("binance:futures-trade".into()),
                crate::exchange::testing::leverage_rule("POST", "/fapi/v1/leverage", &[], "5"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.at, Location::List);
        assert!(
            e.message.contains("limits would never apply"),
            "{}",
            e.message
        );
    }
}
