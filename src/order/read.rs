//! The order reader: a canonical request and its endpoint's field table in, the typed orders the
//! exchange would execute out, or a refusal that names the field keyward could not read.

use super::decimal::{decimal, signed_decimal};

use super::{Batch, Layout, LegSpec, Meaning, Order, OrderEndpoint, OrderSpec, SizeUnit};
use crate::request::{Body, CanonicalRequest, Json, Method};

/// Most orders read from one batch.
pub const MAX_BATCH: usize = 50;

/// A member of an order as the request carries it.
#[derive(Clone)]
enum Value<'a> {
    Text(&'a str),
    Json(&'a Json),
}

/// Reads every order of `req` as the endpoint's exchange would: each item of a batch, and after
/// each order the legs attached to it. The error names the member (and, in a batch, the item)
/// that could not be read, and says why.
pub fn read(endpoint: &OrderEndpoint, req: &CanonicalRequest) -> Result<Vec<Order>, String> {
    let spec = endpoint.spec;
    let mut top = path_params(endpoint, req);
    top.extend(top_level(req));
    for (k, _) in &top {
        undotted(k, "")?;
    }
    match endpoint.layout {
        Layout::Flat => read_order(spec, owned(top), "", None),
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

fn owned<'a>(members: Vec<(&str, Value<'a>)>) -> Vec<(String, Value<'a>)> {
    members
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// The `{name}` segments of the endpoint's path that its table lists, with the request's values
/// (Alpaca's `DELETE /v2/positions/{symbol_or_asset_id}` names its instrument in the path).
fn path_params<'a>(
    endpoint: &OrderEndpoint,
    req: &'a CanonicalRequest,
) -> Vec<(&'static str, Value<'a>)> {
    let pattern: Vec<&'static str> = endpoint.path.split('/').collect();
    let path: Vec<&str> = req.path.split('/').collect();
    if pattern.len() != path.len() {
        return Vec::new();
    }
    pattern
        .into_iter()
        .zip(path)
        .filter_map(|(p, v)| {
            let name = p.strip_prefix('{')?.strip_suffix('}')?;
            endpoint
                .spec
                .meaning(name)
                .is_some()
                .then_some((name, Value::Text(v)))
        })
        .collect()
}

/// The request's top-level members: query parameters, then form parameters or JSON members.
///
/// A PATCH body member that repeats a query parameter with the same name and the same value
/// (Gate's spot amend, where ccxt sends every parameter in both places; the canonicaliser
/// accepts the pair only so, see `CanonRules::patch_mirrors_query`) is that one parameter, read
/// once. Any other pair is read twice and refused as setting the same thing twice.
fn top_level(req: &CanonicalRequest) -> Vec<(&str, Value<'_>)> {
    let mut out: Vec<(&str, Value<'_>)> =
        req.query.iter().map(|(k, v)| (k, Value::Text(v))).collect();
    match &req.body {
        Body::Form(p) => out.extend(p.iter().map(|(k, v)| (k, Value::Text(v)))),
        Body::Json(Json::Object(members)) => out.extend(
            members
                .iter()
                .filter(|(k, v)| {
                    !(req.method == Method::Patch
                        && req.query.get(k).is_some_and(|q| v.scalar_text() == Some(q)))
                })
                .map(|(k, v)| (k.as_str(), Value::Json(v))),
        ),
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
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Json::Object(members) = item else {
            return Err(format!("{name}[{i}] is not an order object"));
        };
        for (k, v) in members {
            undotted(k, &format!("{name}[{i}]: "))?;
            // A field beside the batch that the item gives again, with another value (Bybit's
            // `category` beside the batch, another in the item): the exchange may read either.
            if let Some((_, shared)) = siblings.iter().find(|(s, _)| s == k) {
                let shared = match shared {
                    Value::Text(t) => Some(*t),
                    Value::Json(j) => j.scalar_text(),
                };
                if shared.is_none() || shared != v.scalar_text() {
                    return Err(format!(
                        "{name}[{i}]: '{k}' is given beside the batch and again in the order with another value; keyward cannot tell which the exchange reads"
                    ));
                }
            }
        }
        out.extend(read_order(
            spec,
            siblings
                .iter()
                // A shared field the item repeats with the same value is one field.
                .filter(|(k, _)| !members.iter().any(|(m, _)| m == k))
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .chain(members.iter().map(|(k, v)| (k.clone(), Value::Json(v))))
                .collect(),
            &format!("{name}[{i}]: "),
            None,
        )?);
    }
    Ok(out)
}

/// A member of an order with its name as the table has it (nesting joined by `.`).
struct Member<'a> {
    name: String,
    value: Value<'a>,
    meaning: Meaning,
}

/// The order's members with their meanings: nested objects read through their members by their
/// dotted names, a type-naming object through its members; a leg's members kept whole for the
/// leg. Refuses member names a lenient parser could read as another field, names holding a `.`
/// (dotted table names mean real nesting only), and members the table does not know.
fn flatten<'a>(
    spec: &OrderSpec,
    members: Vec<(String, Value<'a>)>,
    at: &str,
) -> Result<Vec<Member<'a>>, String> {
    let mut out = Vec::new();
    let mut stack = members;
    stack.reverse();
    while let Some((name, value)) = stack.pop() {
        check_name(spec, &name, at)?;
        let meaning = spec.meaning(&name);
        let inner: Option<&'a Vec<(String, Json)>> = match &value {
            Value::Json(j) => match *j {
                Json::Object(m) => Some(m),
                _ => None,
            },
            Value::Text(_) => None,
        };
        let nested = |stack: &mut Vec<(String, Value<'a>)>,
                      inner: &'a Vec<(String, Json)>|
         -> Result<(), String> {
            for (k, v) in inner.iter().rev() {
                if k.contains('.') {
                    return Err(format!(
                        "{at}member name {k:?} in '{name}' holds a '.'; keyward refuses it"
                    ));
                }
                stack.push((format!("{name}.{k}"), Value::Json(v)));
            }
            Ok(())
        };
        match (meaning, inner) {
            (Some(Meaning::TypeMember), Some(inner)) => {
                nested(&mut stack, inner)?;
                out.push(Member {
                    name,
                    value,
                    meaning: Meaning::TypeMember,
                });
            }
            (Some(Meaning::TypeMember), None) => {
                return Err(format!("{at}'{name}' must be an object"));
            }
            // A documented opaque structure with no bearing on the limits: accepted whole.
            (Some(Meaning::Inert), _) if scalar(&value).is_none() => {}
            (Some(meaning), _) => out.push(Member {
                name,
                value,
                meaning,
            }),
            (None, Some(inner))
                if spec
                    .fields
                    .iter()
                    .any(|(n, _)| n.starts_with(&format!("{name}."))) =>
            {
                nested(&mut stack, inner)?;
            }
            (None, _) => {
                return Err(format!(
                    "{at}'{name}' is not a field keyward knows on this endpoint; it cannot judge the order, so it refuses it"
                ))
            }
        }
    }
    Ok(out)
}

fn scalar<'a>(value: &Value<'a>) -> Option<&'a str> {
    match *value {
        Value::Text(t) => Some(t),
        Value::Json(j) => j.scalar_text(),
    }
}

/// Refuses a member name, as the bot wrote it, that holds a `.`: a dotted table name means real
/// nesting only (a top-level member literally named `params.amount` is not `params.amount`).
fn undotted(name: &str, at: &str) -> Result<(), String> {
    if name.contains('.') {
        return Err(format!(
            "{at}member name {name:?} holds a '.'; keyward reads dotted names only through real nesting, so it refuses it"
        ));
    }
    Ok(())
}

/// The last segment of a dotted name (the type a [`Meaning::TypeMember`] object names).
fn last_segment(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Reads one order from its members, then the legs attached to it; `at` prefixes messages (the
/// batch item, the leg). A leg (`parent` given) has its parent's instrument, its size unless
/// its own fields give one, and the opposite side.
fn read_order<'a>(
    spec: &OrderSpec,
    members: Vec<(String, Value<'a>)>,
    at: &str,
    parent: Option<(&LegSpec, &Order)>,
) -> Result<Vec<Order>, String> {
    let flat = flatten(spec, members, at)?;
    // The type as written decides the meaning of type-dependent fields.
    let written_type = flat.iter().find_map(|m| match m.meaning {
        Meaning::Type => scalar(&m.value).map(str::to_owned),
        Meaning::TypeMember => Some(last_segment(&m.name).to_owned()),
        _ => None,
    });
    let type_for_fields = written_type.as_deref().or(spec.default_type);
    let mut order = Order {
        at: at.to_owned(),
        ..Order::default()
    };
    let mut seen: Vec<(Meaning, String)> = Vec::new();
    let mut legs: Vec<(&'static LegSpec, Vec<(String, Value<'a>)>)> = Vec::new();
    // The side a signed size gives, by the field that gave it.
    let mut signed_side: Option<(String, &'static str)> = None;
    for Member {
        name,
        value,
        meaning,
    } in flat
    {
        let meaning = match meaning {
            Meaning::ByType(b) => b.resolve(type_for_fields),
            m => m,
        };
        let text = match meaning {
            Meaning::Leg(leg) => {
                match legs.iter_mut().find(|(l, _)| *l == leg) {
                    Some((_, bucket)) => bucket.push((name, value)),
                    None => legs.push((leg, vec![(name, value)])),
                }
                continue;
            }
            Meaning::Refused(why) => return Err(format!("{at}'{name}': {why}")),
            Meaning::TypeMember => last_segment(&name).to_owned(),
            _ => match scalar(&value) {
                Some(t) => t.to_owned(),
                // A type-dependent field that means nothing on this type, written as a
                // structure: accepted whole, like any inert structure.
                None if meaning == Meaning::Inert => continue,
                None => return Err(format!("{at}'{name}' must be a single value")),
            },
        };
        // An instrument by name and by code, a signed and an unsigned size ... set one thing.
        let kind = meaning.kind();
        // Two fields that each make the price unknown, or that each set a leverage (long and
        // short, isolated and cross), are not ambiguous.
        if !matches!(
            kind,
            Meaning::Inert | Meaning::PriceOverride | Meaning::Leverage
        ) {
            if let Some((_, first)) = seen.iter().find(|(m, _)| *m == kind) {
                return Err(format!(
                    "{at}'{name}' and '{first}' both set the order's {}; keyward cannot tell which the exchange uses",
                    describe(kind)
                ));
            }
            seen.push((kind, name.clone()));
        }
        let meaning = match meaning {
            Meaning::TypeMember => Meaning::Type,
            m => m,
        };
        if let Some(side) =
            apply(&mut order, meaning, &name, &text).map_err(|e| format!("{at}{e}"))?
        {
            signed_side = Some((name.clone(), side));
        }
        order.fields.push((name, text));
    }
    if let Some((by, side)) = signed_side {
        match &order.side {
            None => order.side = Some(side.to_owned()),
            Some(stated) if stated == side => {}
            Some(stated) => {
                let stated_by = seen
                    .iter()
                    .find(|(m, _)| *m == Meaning::Side)
                    .map_or("side", |(_, n)| n.as_str());
                return Err(format!(
                    "{at}the sign of '{by}' makes the order a {side}, but '{stated_by}' says {stated}; keyward cannot tell which the exchange uses"
                ));
            }
        }
    }
    if order.base_size.is_some() && order.quote_size.is_some() {
        return Err(format!(
            "{at}the order gives both a base size ('{}') and a quote size ('{}'); send one",
            spec.name_of(Meaning::BaseSize).unwrap_or("base size"),
            spec.name_of(Meaning::QuoteSize).unwrap_or("quote size"),
        ));
    }
    if let (Some((other, _)), true) = (
        &order.other_size,
        order.base_size.is_some() || order.quote_size.is_some(),
    ) {
        return Err(format!(
            "{at}the order gives its size twice, in two units ('{other}' and '{}'); send one",
            spec.name_of(Meaning::BaseSize)
                .or(spec.name_of(Meaning::QuoteSize))
                .unwrap_or("size"),
        ));
    }
    let own_size =
        order.base_size.is_some() || order.quote_size.is_some() || order.other_size.is_some();
    if let Some((_, p)) = parent {
        if order.instrument.is_none() && order.instrument_code.is_none() {
            order.instrument = p.instrument.clone();
            order.instrument_code = p.instrument_code.clone();
        }
        if order.side.is_none() {
            order.side = p.side.as_deref().and_then(opposite);
        }
        if !own_size {
            order.base_size = p.base_size;
            order.quote_size = p.quote_size;
            order.other_size = p.other_size.clone();
            order.contracts = p.contracts;
            order.whole_position = p.whole_position;
        }
    }
    if order.order_type.is_none() {
        order.order_type = spec
            .default_type
            .or_else(|| parent.and_then(|(leg, _)| leg.order_type?(&order)))
            .map(str::to_owned);
    }
    if let Some(t) = &order.order_type {
        order.is_limit = spec.limit_types.contains(&t.as_str());
        order.is_market = spec.market_types.contains(&t.as_str());
    }
    // A price field's market value makes a market order, whatever the type says.
    if order.market_by.is_some() {
        order.is_limit = false;
        order.is_market = true;
    }
    // A leg's inherited size is already in the parent's unit.
    if own_size || parent.is_none() {
        match (spec.size_unit)(&order).map_err(|e| format!("{at}{e}"))? {
            SizeUnit::Base => {}
            // The size field is really the amount of quote asset.
            SizeUnit::Quote => {
                if let Some(size) = order.base_size.take() {
                    order.quote_size = Some(size);
                }
            }
            SizeUnit::Inverse => order.quote_size = order.quote_size.or(order.base_size),
            SizeUnit::Contracts(why) => order.contracts = Some(why),
            SizeUnit::WholePosition(why) => {
                order.base_size = None;
                order.quote_size = None;
                order.whole_position = Some(why);
            }
        }
    }
    let mut out = vec![order];
    for (leg, bucket) in legs {
        let parent = out[0].clone();
        out.extend(read_order(
            leg.spec,
            bucket,
            &format!("{at}{}: ", leg.name),
            Some((leg, &parent)),
        )?);
    }
    Ok(out)
}

/// The other side, in the same letter case (`buy` → `sell`, `BUY` → `SELL`, `Buy` → `Sell`).
fn opposite(side: &str) -> Option<String> {
    let other = if side.eq_ignore_ascii_case("buy") {
        "sell"
    } else if side.eq_ignore_ascii_case("sell") {
        "buy"
    } else {
        return None;
    };
    Some(if side.bytes().all(|b| b.is_ascii_uppercase()) {
        other.to_ascii_uppercase()
    } else if side.starts_with(|c: char| c.is_ascii_uppercase()) {
        let mut s = other.to_owned();
        s[..1].make_ascii_uppercase();
        s
    } else {
        other.to_owned()
    })
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
    match meaning.kind() {
        Meaning::Instrument => "instrument",
        Meaning::Side => "side",
        Meaning::Type => "type",
        Meaning::BaseSize => "base size",
        Meaning::QuoteSize => "quote size",
        Meaning::Price => "price",
        Meaning::TriggerPrice => "trigger price",
        Meaning::PriceOverride => "price mode",
        Meaning::ReduceOnly => "reduce-only flag",
        Meaning::Leverage => "leverage",
        Meaning::OtherUnitSize => "size in a second unit",
        _ => "other field",
    }
}

/// Applies one field's value to the order; a signed size gives the side its sign says.
fn apply(
    order: &mut Order,
    meaning: Meaning,
    name: &str,
    text: &str,
) -> Result<Option<&'static str>, String> {
    match meaning {
        Meaning::Instrument => order.instrument = Some(text.to_owned()),
        Meaning::InstrumentCode => order.instrument_code = Some(text.to_owned()),
        Meaning::Side => order.side = Some(text.to_owned()),
        Meaning::Type => order.order_type = Some(text.to_owned()),
        Meaning::BaseSize => order.base_size = Some(decimal(name, text)?),
        Meaning::SignedSize { buy, sell } => {
            let (negative, size) = signed_decimal(name, text)?;
            order.base_size = Some(size);
            return Ok(match (size.is_zero(), negative) {
                (true, _) => None,
                (false, false) => Some(buy),
                (false, true) => Some(sell),
            });
        }
        Meaning::QuoteSize => order.quote_size = Some(decimal(name, text)?),
        Meaning::Price => {
            order.price = Some(decimal(name, text)?);
            order.price_field = Some(name.to_owned());
        }
        Meaning::PriceOrMarket(market) => {
            let at_market = signed_decimal(name, text)
                .ok()
                .zip(signed_decimal(name, market).ok())
                .is_some_and(|(given, sentinel)| given == sentinel);
            if at_market {
                order.market_by = Some((name.to_owned(), text.to_owned()));
            } else {
                order.price = Some(decimal(name, text)?);
                order.price_field = Some(name.to_owned());
            }
        }
        Meaning::TriggerPrice => order.trigger_price = Some(decimal(name, text)?),
        Meaning::Leverage | Meaning::LeverageOrCross(_) => {
            order
                .leverage
                .push((name.to_owned(), decimal(name, text)?, meaning))
        }
        Meaning::PriceOverride => order.price_override = Some(name.to_owned()),
        Meaning::OtherUnitSize => order.other_size = Some((name.to_owned(), decimal(name, text)?)),
        Meaning::ReduceOnly => {
            order.reduce_only = match text {
                "true" | "TRUE" | "True" => true,
                "false" | "FALSE" | "False" => false,
                other => return Err(format!("'{name}' must be true or false, not {other:?}")),
            }
        }
        Meaning::ReduceOnlyAs(words) => {
            order.reduce_only = if words.yes.contains(&text) {
                true
            } else if words.no.contains(&text) {
                false
            } else {
                return Err(format!(
                    "'{name}' must be one of {}, not {text:?}",
                    words
                        .yes
                        .iter()
                        .chain(words.no)
                        .map(|w| format!("{w:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Meaning::Inert => {}
        // Resolved, routed or refused before a value is applied.
        Meaning::TypeMember | Meaning::ByType(_) | Meaning::Leg(_) | Meaning::Refused(_) => {
            return Err(format!("'{name}' cannot be read as a single value"))
        }
    }
    Ok(None)
}
