//! Kraken WebSocket v2 order ops as the REST requests they equal, so one field table (the REST
//! tables in `orders.toml`) judges both: `add_order` = `POST /0/private/AddOrder`,
//! `amend_order` = `AmendOrder`, `cancel_order` = `CancelOrder`, `cancel_all` = `CancelAll`,
//! `batch_add` = `AddOrderBatch`.
//!
//! Each v2 field whose meaning is the meaning of a REST field is renamed to it (written from
//! docs.kraken.com/exchange/api-reference/spot-websocket-v2/add_order, `amend_order`,
//! `cancel_order`, `batch_add`): `order_qty` → `volume`, `symbol` → `pair`, `limit_price` →
//! `price` or `price2` by order type (REST's `price` is a stop's trigger, v2's is
//! `triggers.price`), `post_only`/`fee_preference`/`no_mpp`/`cash_order_qty` → the `oflags`
//! REST reads. Any other field, and a price whose `*_price_type` is not `static` (an offset or
//! percentage), goes to the judge under a `v2:` name no REST field has: an unknown field, which
//! the REST table refuses under any limit (fail closed) and a rule without limits allows, as
//! REST does. Two fields landing on one REST field make the frame ambiguous: refused.
//! The frame keyward forwards is the bot's own (with the real token), so the judged request is
//! exactly the forwarded one under this renaming.

use crate::request::{Json, Refusal};

/// v2 order methods and the REST endpoints they equal.
pub const ORDER_OPS: &[(&str, &str)] = &[
    ("add_order", "/0/private/AddOrder"),
    ("batch_add", "/0/private/AddOrderBatch"),
    ("amend_order", "/0/private/AmendOrder"),
    ("cancel_order", "/0/private/CancelOrder"),
    ("cancel_all", "/0/private/CancelAll"),
];

/// v2 fields with the same meaning as a REST `AddOrder` field under another name.
const ADD_RENAMES: &[(&str, &str)] = &[
    ("order_type", "ordertype"),
    ("side", "type"),
    ("order_qty", "volume"),
    ("symbol", "pair"),
    ("time_in_force", "timeinforce"),
    ("expire_time", "expiretm"),
    ("effective_time", "starttm"),
    ("order_userref", "userref"),
    ("display_qty", "displayvol"),
    ("stp_type", "stptype"),
    ("cl_ord_id", "cl_ord_id"),
    ("reduce_only", "reduce_only"),
    ("deadline", "deadline"),
    ("validate", "validate"),
];

/// v2 `amend_order` fields with the same meaning as a REST `AmendOrder` field.
const AMEND_RENAMES: &[(&str, &str)] = &[
    ("order_id", "txid"),
    ("cl_ord_id", "cl_ord_id"),
    ("order_qty", "order_qty"),
    ("display_qty", "display_qty"),
    ("post_only", "post_only"),
    ("deadline", "deadline"),
    ("symbol", "pair"),
];

/// v2 `cancel_order` fields and their REST `CancelOrder` names.
const CANCEL_RENAMES: &[(&str, &str)] = &[
    ("order_id", "txid"),
    ("cl_ord_id", "cl_ord_id"),
    ("order_userref", "txid"),
];

/// Order types whose v2 `limit_price` is REST's `price` / REST's `price2` (REST's `price` is
/// then the trigger, v2's `triggers.price`).
const LIMIT_IS_PRICE: &[&str] = &["limit", "iceberg"];
const LIMIT_IS_PRICE2: &[&str] = &[
    "stop-loss-limit",
    "take-profit-limit",
    "trailing-stop-limit",
];

/// The REST request body of a v2 order method's `params` (the `token` already taken out of
/// the judgement: it authorises, it is not an order field).
pub fn rest_body(method: &str, params: &[(String, Json)]) -> Result<Json, Refusal> {
    let mut out = Body::default();
    let fields = params.iter().filter(|(k, _)| k != "token");
    match method {
        "add_order" => add_order(&mut out, fields)?,
        "batch_add" => {
            for (k, v) in fields {
                match (k.as_str(), v) {
                    ("orders", Json::Array(items)) => {
                        let mut orders = Vec::with_capacity(items.len());
                        for item in items {
                            let Json::Object(members) = item else {
                                return Err(Refusal::bad_request(
                                    "each batch_add order is an object",
                                ));
                            };
                            let mut one = Body::default();
                            add_order(&mut one, members.iter())?;
                            orders.push(Json::Object(one.0));
                        }
                        out.put("orders", Json::Array(orders))?;
                    }
                    ("symbol", _) => out.put("pair", v.clone())?,
                    ("deadline" | "validate", _) => out.put(k, v.clone())?,
                    _ => out.unknown(k, v)?,
                }
            }
        }
        "amend_order" => {
            for (k, v) in fields {
                match k.as_str() {
                    "limit_price" | "trigger_price" => {
                        out.price(params, &format!("{k}_type"), k, v)?
                    }
                    "limit_price_type" | "trigger_price_type" => {}
                    _ => out.renamed(AMEND_RENAMES, k, v)?,
                }
            }
        }
        "cancel_order" => {
            for (k, v) in fields {
                out.renamed(CANCEL_RENAMES, k, v)?
            }
        }
        "cancel_all" => {
            for (k, v) in fields {
                out.unknown(k, v)?
            }
        }
        other => {
            return Err(Refusal::bad_request(format!(
                "{other:?} is not a Kraken order method keyward relays"
            )))
        }
    }
    Ok(Json::Object(out.0))
}

/// One order of `add_order` or a `batch_add` item.
fn add_order<'p>(
    out: &mut Body,
    fields: impl Iterator<Item = &'p (String, Json)> + Clone,
) -> Result<(), Refusal> {
    let all: Vec<(String, Json)> = fields.clone().cloned().collect();
    let order_type = match all.iter().find(|(k, _)| k == "order_type") {
        Some((_, Json::String(t))) => t.clone(),
        _ => {
            return Err(Refusal::bad_request(
                "a Kraken add_order names its order_type as a string",
            ))
        }
    };
    let mut flags = Vec::new();
    for (k, v) in fields {
        match (k.as_str(), v) {
            ("limit_price", _) => {
                let rest = if LIMIT_IS_PRICE.contains(&order_type.as_str()) {
                    "price"
                } else if LIMIT_IS_PRICE2.contains(&order_type.as_str()) {
                    "price2"
                } else {
                    // Not a price Kraken documents for this type: judged as unknown.
                    "v2:limit_price"
                };
                out.price(&all, "limit_price_type", rest, v)?
            }
            ("limit_price_type", _) => {}
            ("triggers", Json::Object(members)) => {
                for (tk, tv) in members {
                    match tk.as_str() {
                        "reference" => out.put("trigger", tv.clone())?,
                        "price" => out.price(members, "price_type", "price", tv)?,
                        "price_type" => {}
                        _ => out.unknown(&format!("triggers.{tk}"), tv)?,
                    }
                }
            }
            ("cash_order_qty", _) => {
                out.put("volume", v.clone())?;
                flags.push("viqc");
            }
            ("post_only", Json::Bool(true)) => flags.push("post"),
            ("no_mpp", Json::Bool(true)) => flags.push("nompp"),
            ("post_only" | "no_mpp" | "margin", Json::Bool(false)) => {}
            ("fee_preference", Json::String(p)) if p == "base" => flags.push("fcib"),
            ("fee_preference", Json::String(p)) if p == "quote" => flags.push("fciq"),
            _ => out.renamed(ADD_RENAMES, k, v)?,
        }
    }
    if !flags.is_empty() {
        out.put("oflags", Json::String(flags.join(",")))?;
    }
    Ok(())
}

/// The REST body being built; a key lands at most once.
#[derive(Default)]
struct Body(Vec<(String, Json)>);

impl Body {
    fn put(&mut self, key: &str, value: Json) -> Result<(), Refusal> {
        if self.0.iter().any(|(k, _)| k == key) {
            return Err(Refusal::bad_request(format!(
                "two fields of the frame mean the REST field {key:?}; keyward refuses the ambiguity"
            )));
        }
        self.0.push((key.to_owned(), value));
        Ok(())
    }

    /// A field the renaming does not know: judged as the unknown field `v2:<name>`.
    fn unknown(&mut self, key: &str, value: &Json) -> Result<(), Refusal> {
        self.put(&format!("v2:{key}"), value.clone())
    }

    fn renamed(&mut self, table: &[(&str, &str)], key: &str, value: &Json) -> Result<(), Refusal> {
        match table.iter().find(|(v2, _)| *v2 == key) {
            Some((_, rest)) => self.put(rest, value.clone()),
            None => self.unknown(key, value),
        }
    }

    /// A price whose `type_key` in `siblings` says how to read it: `static` (the default) is the
    /// plain price REST's `rest` means; an offset or percentage is judged as unknown.
    fn price(
        &mut self,
        siblings: &[(String, Json)],
        type_key: &str,
        rest: &str,
        value: &Json,
    ) -> Result<(), Refusal> {
        match siblings.iter().find(|(k, _)| k == type_key) {
            None => self.put(rest, value.clone()),
            Some((_, Json::String(t))) if t == "static" => self.put(rest, value.clone()),
            Some(_) => self.unknown(&format!("{rest}({type_key})"), value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(method: &str, params: &str) -> Result<String, Refusal> {
        let Json::Object(p) = Json::parse(params).unwrap() else {
            panic!()
        };
        rest_body(method, &p).map(|j| j.to_compact())
    }

    #[test]
    fn v2_fields_become_the_rest_fields_of_the_same_meaning() {
        assert_eq!(
            body("add_order", r#"{"order_type":"limit","side":"buy","order_qty":0.1,"symbol":"BTC/USD","limit_price":30000,"post_only":true,"token":"t"}"#).unwrap(),
            r#"{"ordertype":"limit","type":"buy","volume":0.1,"pair":"BTC/USD","price":30000,"oflags":"post"}"#
        );
        // A stop-limit's limit price is REST's price2; its trigger is REST's price.
        assert_eq!(
            body("add_order", r#"{"order_type":"stop-loss-limit","side":"sell","order_qty":1,"symbol":"BTC/USD","limit_price":90,"triggers":{"reference":"last","price":100}}"#).unwrap(),
            r#"{"ordertype":"stop-loss-limit","type":"sell","volume":1,"pair":"BTC/USD","price2":90,"trigger":"last","price":100}"#
        );
        assert_eq!(
            body("amend_order", r#"{"order_id":"O1","order_qty":2,"limit_price":5,"limit_price_type":"static","token":"t"}"#).unwrap(),
            r#"{"txid":"O1","order_qty":2,"limit_price":5}"#
        );
        assert_eq!(
            body("cancel_order", r#"{"order_id":["O1"],"token":"t"}"#).unwrap(),
            r#"{"txid":["O1"]}"#
        );
        assert_eq!(
            body("batch_add", r#"{"symbol":"BTC/USD","orders":[{"order_type":"market","side":"buy","cash_order_qty":50}]}"#).unwrap(),
            r#"{"pair":"BTC/USD","orders":[{"ordertype":"market","type":"buy","volume":50,"oflags":"viqc"}]}"#
        );
    }

    #[test]
    fn unknown_and_relative_fields_are_judged_as_unknown_and_ambiguity_is_refused() {
        assert_eq!(
            body("add_order", r#"{"order_type":"limit","limit_price":"5","limit_price_type":"pct","conditional":{"order_type":"limit"},"margin":true}"#).unwrap(),
            r#"{"ordertype":"limit","v2:price(limit_price_type)":"5","v2:conditional":{"order_type":"limit"},"v2:margin":true}"#
        );
        // A REST name sent over the socket cannot stand in for the v2 one.
        assert_eq!(
            body("add_order", r#"{"order_type":"limit","volume":1}"#).unwrap(),
            r#"{"ordertype":"limit","v2:volume":1}"#
        );
        // The bot's own `oflags` is not REST's: it is judged as unknown beside the real one.
        assert_eq!(
            body(
                "add_order",
                r#"{"order_type":"limit","oflags":"viqc","fee_preference":"base"}"#
            )
            .unwrap(),
            r#"{"ordertype":"limit","v2:oflags":"viqc","oflags":"fcib"}"#
        );
        assert!(body(
            "add_order",
            r#"{"order_type":"market","order_qty":1,"cash_order_qty":5}"#
        )
        .is_err());
        assert!(body("add_order", r#"{"side":"buy"}"#).is_err());
    }
}
