//! The order reader: a canonical request and its endpoint's field table in, the typed orders the
//! exchange would execute out, or a refusal that names the field keyward could not read.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::{Batch, Layout, Meaning, Order, OrderEndpoint, OrderSpec, SizeUnit};
use crate::request::{Body, CanonicalRequest, Json};

/// Most orders read from one batch.
pub const MAX_BATCH: usize = 50;

/// A member of an order as the request carries it.
#[derive(Clone)]
enum Value<'a> {
    Text(&'a str),
    Json(&'a Json),
}

/// Reads every order of `req` as the endpoint's exchange would. The error names the member (and,
/// in a batch, the item) that could not be read, and says why.
pub fn read(endpoint: &OrderEndpoint, req: &CanonicalRequest) -> Result<Vec<Order>, String> {
    let spec = endpoint.spec;
    let top = top_level(req);
    match endpoint.layout {
        Layout::Flat => Ok(vec![read_order(spec, top, "")?]),
        Layout::JsonArrayInParam(Batch { name, shared })
        | Layout::JsonArrayInMember(Batch { name, shared }) => {
            let (batch, siblings): (Vec<_>, Vec<_>) =
                top.into_iter().partition(|(k, _)| *k == name);
            if let Some((k, _)) = siblings.iter().find(|(k, _)| !shared.contains(k)) {
                return Err(if super::fold(k) == super::fold(name) {
                    format!("'{k}' is another spelling of '{name}'; keyward refuses it")
                } else {
                    format!(
                        "'{k}' is not read by keyward beside the batch '{name}'; put it in each order or leave it out"
                    )
                });
            }
            let parsed;
            let items = match batch.first() {
                None => return Err(format!("the batch '{name}' is missing")),
                Some((_, Value::Json(j)))
                    if matches!(endpoint.layout, Layout::JsonArrayInMember(_)) =>
                {
                    *j
                }
                Some((_, Value::Text(t)))
                    if matches!(endpoint.layout, Layout::JsonArrayInParam(_)) =>
                {
                    parsed =
                        Json::parse(t).map_err(|e| format!("'{name}' is not strict JSON: {e}"))?;
                    &parsed
                }
                Some(_) => return Err(format!("'{name}' must be a JSON array of orders")),
            };
            read_batch(spec, items, name, &siblings)
        }
        Layout::JsonArrayBody => match &req.body {
            Body::Json(j @ Json::Array(_)) if req.query.is_empty() => {
                read_batch(spec, j, "body", &[])
            }
            _ => Err("the body must be a JSON array of orders".to_owned()),
        },
    }
}

/// The request's top-level members: query parameters, then form parameters or JSON members.
fn top_level(req: &CanonicalRequest) -> Vec<(&str, Value<'_>)> {
    let mut out: Vec<(&str, Value<'_>)> =
        req.query.iter().map(|(k, v)| (k, Value::Text(v))).collect();
    match &req.body {
        Body::Form(p) => out.extend(p.iter().map(|(k, v)| (k, Value::Text(v)))),
        Body::Json(Json::Object(members)) => {
            out.extend(members.iter().map(|(k, v)| (k.as_str(), Value::Json(v))))
        }
        _ => {}
    }
    out
}

/// Reads each item of a batch as its own order. The batch's `siblings` (the request's other
/// top-level members, such as a shared `symbol` or `category`) are fields of every item, as the
/// exchange applies them; an item that sets the same thing again is refused as ambiguous.
fn read_batch(
    spec: &OrderSpec,
    batch: &Json,
    name: &str,
    siblings: &[(&str, Value<'_>)],
) -> Result<Vec<Order>, String> {
    let Json::Array(items) = batch else {
        return Err(format!("'{name}' must be a JSON array of orders"));
    };
    if items.is_empty() {
        return Err(format!("'{name}' holds no order"));
    }
    if items.len() > MAX_BATCH {
        return Err(format!("'{name}' holds more than {MAX_BATCH} orders"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Json::Object(members) => read_order(
                spec,
                siblings
                    .iter()
                    .map(|(k, v)| (*k, v.clone()))
                    .chain(members.iter().map(|(k, v)| (k.as_str(), Value::Json(v))))
                    .collect(),
                &format!("{name}[{i}]: "),
            ),
            _ => Err(format!("{name}[{i}] is not an order object")),
        })
        .collect()
}

/// Reads one order from its members; `at` prefixes messages (the batch item).
fn read_order<'a>(
    spec: &OrderSpec,
    members: Vec<(&'a str, Value<'a>)>,
    at: &str,
) -> Result<Order, String> {
    let mut order = Order {
        at: at.to_owned(),
        ..Order::default()
    };
    let mut seen: Vec<(Meaning, &str)> = Vec::new();
    let mut stack: Vec<(String, Value<'a>)> = members
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    stack.reverse();
    while let Some((name, value)) = stack.pop() {
        check_name(spec, &name, at)?;
        let meaning = spec.meaning(&name);
        let text = match &value {
            Value::Text(t) => Some(*t),
            Value::Json(j) => j.scalar_text(),
        };
        let text = match (text, &value, meaning) {
            (Some(t), _, Some(_)) => t,
            // A documented opaque structure (e.g. attached take-profit legs) with no bearing on
            // the limits: accepted whole.
            (None, Value::Json(_), Some(Meaning::Inert)) => continue,
            // A nested object is read through its members, by their dotted names.
            (None, Value::Json(Json::Object(inner)), None)
                if spec.fields.iter().any(|(n, _)| n.starts_with(&format!("{name}."))) =>
            {
                for (k, v) in inner.iter().rev() {
                    if k.contains('.') {
                        return Err(format!("{at}member name {k:?} in '{name}' holds a '.'; keyward refuses it"));
                    }
                    stack.push((format!("{name}.{k}"), Value::Json(v)));
                }
                continue;
            }
            (_, _, None) => {
                return Err(format!(
                    "{at}'{name}' is not a field keyward knows on this endpoint; it cannot judge the order, so it refuses it"
                ))
            }
            (None, _, Some(_)) => {
                return Err(format!("{at}'{name}' must be a single value"));
            }
        };
        let meaning = meaning.expect("matched above");
        if meaning != Meaning::Inert {
            if let Some((_, first)) = seen.iter().find(|(m, _)| *m == meaning) {
                return Err(format!(
                    "{at}'{name}' and '{first}' both set the order's {}; keyward cannot tell which the exchange uses",
                    describe(meaning)
                ));
            }
            seen.push((meaning, spec_name(spec, &name)));
        }
        apply(&mut order, meaning, &name, text).map_err(|e| format!("{at}{e}"))?;
        order.fields.push((name, text.to_owned()));
    }
    if order.base_size.is_some() && order.quote_size.is_some() {
        return Err(format!(
            "{at}the order gives both a base size ('{}') and a quote size ('{}'); send one",
            spec.name_of(Meaning::BaseSize).unwrap_or("base size"),
            spec.name_of(Meaning::QuoteSize).unwrap_or("quote size"),
        ));
    }
    if order.order_type.is_none() {
        order.order_type = spec.default_type.map(str::to_owned);
    }
    if let Some(t) = &order.order_type {
        order.is_limit = spec.limit_types.contains(&t.as_str());
        order.is_market = spec.market_types.contains(&t.as_str());
    }
    if (spec.size_unit)(&order).map_err(|e| format!("{at}{e}"))? == SizeUnit::Quote {
        // The size field is really the amount of quote asset.
        if let Some(size) = order.base_size.take() {
            order.quote_size = Some(size);
        }
    }
    Ok(order)
}

/// The name as the table has it (for messages that outlive the member).
fn spec_name(spec: &OrderSpec, name: &str) -> &'static str {
    spec.fields
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, _)| *n)
        .unwrap_or("?")
}

/// Refuses member names a lenient parser could read as another field.
fn check_name(spec: &OrderSpec, name: &str, at: &str) -> Result<(), String> {
    if !name.is_ascii() {
        return Err(format!(
            "{at}member name {name:?} is not ASCII; keyward refuses names a parser could fold into another"
        ));
    }
    if spec.meaning(name).is_none() {
        if let Some(twin) = spec.folded_twin(name) {
            return Err(format!(
                "{at}'{name}' is another spelling of '{twin}'; send '{twin}' exactly"
            ));
        }
    }
    Ok(())
}

fn describe(meaning: Meaning) -> &'static str {
    match meaning {
        Meaning::Instrument | Meaning::InstrumentCode => "instrument",
        Meaning::Side => "side",
        Meaning::Type => "type",
        Meaning::BaseSize => "base size",
        Meaning::QuoteSize => "quote size",
        Meaning::Price => "price",
        Meaning::TriggerPrice => "trigger price",
        Meaning::PriceOverride => "price mode",
        Meaning::ReduceOnly => "reduce-only flag",
        Meaning::Leverage => "leverage",
        Meaning::Inert => "other field",
    }
}

fn apply(order: &mut Order, meaning: Meaning, name: &str, text: &str) -> Result<(), String> {
    match meaning {
        Meaning::Instrument => order.instrument = Some(text.to_owned()),
        Meaning::InstrumentCode => order.instrument_code = Some(text.to_owned()),
        Meaning::Side => order.side = Some(text.to_owned()),
        Meaning::Type => order.order_type = Some(text.to_owned()),
        Meaning::BaseSize => order.base_size = Some(decimal(name, text)?),
        Meaning::QuoteSize => order.quote_size = Some(decimal(name, text)?),
        Meaning::Price => order.price = Some(decimal(name, text)?),
        Meaning::TriggerPrice => order.trigger_price = Some(decimal(name, text)?),
        Meaning::Leverage => order.leverage = Some(decimal(name, text)?),
        Meaning::PriceOverride => order.price_override = Some(name.to_owned()),
        Meaning::ReduceOnly => {
            order.reduce_only = match text {
                "true" | "TRUE" | "True" => true,
                "false" | "FALSE" | "False" => false,
                other => return Err(format!("'{name}' must be true or false, not {other:?}")),
            }
        }
        Meaning::Inert => {}
    }
    Ok(())
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
