//! A rule's constraints judged on orders, not on parameter names.
//!
//! The rule syntax is the one operators already write (`params = { symbol = [...] }`,
//! `max = { quantity = "0.5", notional = "20000" }`), read with order semantics through the
//! endpoint's field table: a constraint on a field the table gives a [`Meaning`] applies to that
//! meaning however the order expresses it (another alias, a quote size, an item of a batch).

use rust_decimal::Decimal;

use super::{Meaning, Order, OrderEndpoint, OrderSpec};

/// The meaning of a rule's field name on an endpoint: the endpoint's own, else the meaning the
/// exchange gives that name on any of its order endpoints. So `max.quantity` bounds an amend's
/// `newQty` (both are the base size), and a rule cannot be sidestepped by an endpoint that
/// spells the size differently.
///
/// A type-dependent field, a leg's field or a type-naming object means in a rule what
/// [`Meaning::for_rules`] says (`max.price` on Kraken bounds the limit price, which a
/// stop-loss-limit order gives as `price2`).
pub fn meaning(endpoints: &[OrderEndpoint], spec: &OrderSpec, name: &str) -> Option<Meaning> {
    let in_rules = |s: &OrderSpec| s.meaning(name).and_then(|m| m.for_rules(name));
    in_rules(spec).or_else(|| {
        endpoints
            .iter()
            .find_map(|e| in_rules(e.spec))
            .filter(|m| *m != Meaning::Inert)
    })
}

/// The pseudo-field of a `max` constraint that bounds the order's value in the quote asset.
pub const NOTIONAL: &str = "notional";

/// Checks one order against a rule's allowed values and maxima; the error names the field and
/// the rule (`rule`) and says why. `vocabulary` gives a rule's field name its meaning on this
/// endpoint (see [`meaning`]).
pub fn check(
    vocabulary: &dyn Fn(&str) -> Option<Meaning>,
    order: &Order,
    params: &[(String, Vec<String>)],
    max: &[(String, Decimal)],
    rule: &str,
) -> Result<(), String> {
    // The order's place in a batch prefixes every message about it.
    let judged = || -> Result<(), String> {
        for (name, allowed) in params {
            let value = match vocabulary(name) {
                Some(Meaning::Instrument) => match (&order.instrument, &order.instrument_code) {
                    (Some(i), _) => Some(i.as_str()),
                    (None, Some(_)) => {
                        return Err(format!(
                            "the order names its instrument by a numeric code, which keyward cannot resolve; {rule} limits '{name}': send the instrument's name"
                        ))
                    }
                    (None, None) => None,
                },
                Some(Meaning::Side) => order.side.as_deref(),
                Some(Meaning::Type) => order.order_type.as_deref(),
                _ => order.field(name),
            };
            match value {
                None => return Err(format!("'{name}' is required by {rule}")),
                Some(v) if !allowed.iter().any(|a| a == v) => {
                    return Err(format!(
                        "{name}={v} is not allowed by {rule} (allowed: {})",
                        allowed.join(", ")
                    ))
                }
                Some(_) => {}
            }
        }
        for (name, limit) in max {
            let (value, shown) = bounded_value(vocabulary, order, name, rule)?;
            if value > *limit {
                return Err(format!(
                    "{shown} {value} exceeds the maximum {limit} of {rule}"
                ));
            }
        }
        Ok(())
    };
    judged().map_err(|e| format!("{}{e}", order.at))
}

/// The order's value for a `max` on `name`, or why it cannot be established.
fn bounded_value(
    vocabulary: &dyn Fn(&str) -> Option<Meaning>,
    order: &Order,
    name: &str,
    rule: &str,
) -> Result<(Decimal, String), String> {
    let unknown = |what: &str| {
        Err(format!(
            "{rule} limits {name}, but {what}; keyward cannot bound this order, so it refuses it"
        ))
    };
    // Why a size in one unit cannot be had from the order's size in another, or why the order
    // has no size at all.
    let unconverted = || match (&order.other_size, order.contracts, order.whole_position) {
        (_, _, Some(why)) => Some(why.to_owned()),
        (Some((by, _)), _, _) if order.base_size.is_none() && order.quote_size.is_none() => Some(
            format!("the order is sized by '{by}', in a unit keyward cannot convert"),
        ),
        (_, Some(why), _) if order.base_size.is_some() || order.quote_size.is_some() => {
            Some(why.to_owned())
        }
        _ => None,
    };
    if name == NOTIONAL {
        return match order.notional() {
            Some(v) => Ok((v, "notional".to_owned())),
            None if unconverted().is_some() => unknown(&unconverted().unwrap_or_default()),
            None if order.price_override.is_some() => unknown(&format!(
                "the order's price is set by '{}', not a limit price",
                order.price_override.as_deref().unwrap_or("")
            )),
            None => unknown(&format!(
                "the order has no limit price and no quote size ({} {})",
                order
                    .order_type
                    .as_deref()
                    .unwrap_or("an order of unnamed type"),
                if order.is_market {
                    "executes at the market"
                } else {
                    "has no known execution price"
                }
            )),
        };
    }
    let shown = name.to_owned();
    let value = match vocabulary(name) {
        Some(Meaning::BaseSize) => match (order.base(), unconverted()) {
            (Some(v), _) => v,
            (None, Some(why)) => return unknown(&why),
            (None, None) => return unknown("the order's base size cannot be established (a market order sized in the quote asset?)"),
        },
        Some(Meaning::QuoteSize) => match (order.notional(), unconverted()) {
            (Some(v), _) => v,
            (None, Some(why)) => return unknown(&why),
            (None, None) => return unknown("the order's quote amount cannot be established (a market order sized in the base asset?)"),
        },
        Some(Meaning::OtherUnitSize) => match &order.other_size {
            Some((_, v)) => *v,
            None if order.base_size.is_some() || order.quote_size.is_some() => {
                return unknown(&format!(
                    "the order gives its size in another unit, which keyward cannot convert to '{name}'"
                ))
            }
            None => {
                return unknown(
                    order
                        .whole_position
                        .unwrap_or("the order's size cannot be established"),
                )
            }
        },
        // A market order executes at the market: whatever price it carries (a decoy the
        // exchange ignores, a sentinel meaning "market") is no bound on what it pays.
        Some(Meaning::Price) => match (order.price, order.price_override.as_deref()) {
            (_, Some(by)) => return unknown(&format!("the order's price is set by '{by}'")),
            _ if order.is_market => return unknown(&market_price(order)),
            (Some(p), None) => p,
            (None, None) => return unknown("the order has no price"),
        },
        Some(Meaning::TriggerPrice) => match order.trigger_price {
            Some(p) => p,
            None => return Ok((Decimal::ZERO, shown)),
        },
        Some(Meaning::Leverage) => match largest_leverage(order) {
            Ok(l) => l.unwrap_or(Decimal::ZERO),
            Err(why) => return unknown(&why),
        },
        _ => match order.field(name) {
            Some(text) => super::decimal(name, text)?,
            None => return Ok((Decimal::ZERO, shown)),
        },
    };
    Ok((value, shown))
}

/// Why a market order's price cannot be bounded, naming the field that makes it one or that
/// carries the ignored price.
fn market_price(order: &Order) -> String {
    let kind = order
        .order_type
        .as_deref()
        .map_or("an order".to_owned(), |t| format!("a {t} order"));
    let why = match (&order.market_by, &order.price_field) {
        (Some((by, value)), _) => format!("{by}={value} makes it one"),
        (None, Some(field)) => {
            format!("it is {kind}, which executes at the market whatever its '{field}' says")
        }
        (None, None) => format!("it is {kind}, which executes at the market"),
    };
    format!("a market order has no price to bound ({why})")
}

/// The largest leverage the request sets, `None` if it sets none, or why it cannot be bounded:
/// a `0`, which is no leverage the exchange documents, or (where it documents one) switches to
/// cross margin at a leverage the request does not state.
fn largest_leverage(order: &Order) -> Result<Option<Decimal>, String> {
    for (field, value, meaning) in &order.leverage {
        if !value.is_zero() {
            continue;
        }
        let why = match meaning {
            Meaning::LeverageOrCross(Some(cross)) => {
                if order
                    .leverage
                    .iter()
                    .any(|(f, v, _)| f == cross && !v.is_zero())
                {
                    continue;
                }
                format!("{field}=0 switches to cross margin at the leverage '{cross}' gives, and the request gives none")
            }
            Meaning::LeverageOrCross(None) => format!(
                "{field}=0 switches to cross margin, which may use up to the exchange's maximum leverage"
            ),
            _ => format!("{field}=0 is no leverage the exchange documents"),
        };
        return Err(why);
    }
    Ok(order.leverage.iter().map(|(_, v, _)| *v).max())
}

/// Checks a `max_leverage` bound (`limit`) on one order: every leverage it sets must be at most
/// the limit. On an endpoint that sets leverage (`sets_leverage`) a request that states none
/// is refused; on an order endpoint an order without leverage does not change it.
pub fn check_leverage(
    order: &Order,
    limit: Decimal,
    sets_leverage: bool,
    rule: &str,
) -> Result<(), String> {
    let refuse = |what: &str| {
        Err(format!(
            "{}{rule} limits leverage to {limit}, but {what}; keyward cannot bound it, so it refuses it",
            order.at
        ))
    };
    match largest_leverage(order) {
        Err(why) => refuse(&why),
        Ok(None) if sets_leverage => refuse("the request sets no leverage keyward can read"),
        Ok(None) => Ok(()),
        Ok(Some(v)) if v > limit => {
            let field = order
                .leverage
                .iter()
                .find(|(_, l, _)| *l == v)
                .map_or("leverage", |(f, _, _)| f.as_str());
            Err(format!(
                "{}{field} {v} exceeds the maximum leverage {limit} of {rule}",
                order.at
            ))
        }
        Ok(Some(_)) => Ok(()),
    }
}
