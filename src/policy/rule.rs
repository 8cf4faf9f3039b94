//! Allow rules and their constraints: which endpoint a rule names, and whether a request meets
//! its parameter values and decimal maxima.

use rust_decimal::Decimal;

use crate::exchange::{self, path_matches, Exchange, Notional};
use crate::order::{self, limits, Meaning, OrderEndpoint};
use crate::request::{Body, CanonicalRequest, Json, Method};

/// A plain non-negative decimal (`123`, `0.5`), read as the order model reads one.
pub use crate::order::decimal as parse_decimal;

/// The pseudo-parameter of a `max` constraint that bounds the order's value in the quote asset.
pub use crate::order::limits::NOTIONAL;

/// One allow rule, expanded from the configuration or from a preset.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// How the rule is named in decisions: the preset name or `allow[N]` (its index in the
    /// client's `allow` list).
    pub id: String,
    pub method: Method,
    /// An exact path, or a preset pattern whose `{x}` segments match one segment.
    pub path: String,
    /// Parameters that must be present with one of the listed values.
    pub params: Vec<(String, Vec<String>)>,
    /// Decimal upper bounds (inclusive); [`NOTIONAL`] bounds `price * quantity`.
    pub max: Vec<(String, Decimal)>,
    /// An upper bound (inclusive) on every leverage the request sets, on a leverage-setting
    /// endpoint or an order endpoint where leverage rides on the order.
    pub max_leverage: Option<Decimal>,
    /// The exchange's price and quantity parameter names, for [`NOTIONAL`].
    pub notional: Notional,
}

impl Rule {
    /// The rules of a preset: one per endpoint, no parameter constraints.
    pub fn from_preset(
        exchange: &dyn Exchange,
        name: &str,
        entries: &[exchange::PresetEntry],
    ) -> Vec<Rule> {
        entries
            .iter()
            .map(|(method, path)| Rule {
                id: name.to_owned(),
                method: *method,
                path: (*path).to_owned(),
                params: Vec::new(),
                max: Vec::new(),
                max_leverage: None,
                notional: exchange.notional(),
            })
            .collect()
    }

    pub(super) fn matches_endpoint(&self, req: &CanonicalRequest) -> bool {
        self.method == req.method && path_matches(&self.path, &req.path)
    }

    /// The parameter names this rule's constraints read.
    fn constrained_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
        for (key, _) in &self.max {
            if key == NOTIONAL {
                names.extend([self.notional.price, self.notional.quantity]);
                names.extend(self.notional.quote_quantity);
            } else {
                names.push(key);
            }
        }
        names
    }

    /// `Ok(())` if every constraint holds, else why not. On an order endpoint of the exchange
    /// the constraints judge the orders the exchange will execute, as its field table reads
    /// them; elsewhere they judge the named parameters.
    pub(super) fn check_constraints(
        &self,
        exchange: &dyn Exchange,
        req: &CanonicalRequest,
    ) -> Result<(), String> {
        if !self.is_constrained() {
            return Ok(());
        }
        let profile = exchange.profile();
        if let Some(endpoint) = profile.order_endpoint(req.method, &req.path) {
            return self.check_orders(profile.orders, endpoint, false, req);
        }
        match profile.leverage_endpoint(req.method, &req.path) {
            Some(endpoint) => self.check_orders(profile.leverage, endpoint, true, req),
            None => self.check_params(req),
        }
    }

    /// Whether the rule has any constraint (a rule without one allows its endpoint whole).
    pub fn is_constrained(&self) -> bool {
        !self.params.is_empty() || !self.max.is_empty() || self.max_leverage.is_some()
    }

    /// The constraints on every order of an order endpoint's request (each item of a batch,
    /// each attached leg), in order terms, or on what a leverage-setting endpoint's request
    /// (`sets_leverage`) sets. A request keyward cannot fully read is refused.
    fn check_orders(
        &self,
        endpoints: &[OrderEndpoint],
        endpoint: &OrderEndpoint,
        sets_leverage: bool,
        req: &CanonicalRequest,
    ) -> Result<(), String> {
        let orders = order::read(endpoint, req)?;
        let vocabulary = |name: &str| limits::meaning(endpoints, endpoint.spec, name);
        // On a leverage endpoint a `max` on a leverage field is a leverage bound too: the
        // request must state a leverage keyward can bound.
        let named = self
            .max
            .iter()
            .filter(|(name, _)| sets_leverage && vocabulary(name) == Some(Meaning::Leverage))
            .map(|(_, limit)| *limit);
        let leverage_limit = self.max_leverage.into_iter().chain(named).min();
        for order in &orders {
            limits::check(&vocabulary, order, &self.params, &self.max, &self.id)?;
            if let Some(limit) = leverage_limit {
                limits::check_leverage(order, limit, sets_leverage, &self.id)?;
            }
        }
        Ok(())
    }

    /// The constraints on the named parameters of a request that places no order.
    fn check_params(&self, req: &CanonicalRequest) -> Result<(), String> {
        // A parameter whose name differs from a constrained one only in letter case
        // (`QUANTITY`, `quoteorderqty`) escapes the constraint here but could be read as that
        // parameter by the exchange: refuse it.
        let constrained = self.constrained_names();
        for name in param_names(req) {
            if let Some(key) = constrained
                .iter()
                .find(|k| **k != name && k.eq_ignore_ascii_case(name))
            {
                return Err(format!(
                    "parameter '{name}' differs from '{key}', which {} constrains, only in letter case",
                    self.id
                ));
            }
        }
        // A constrained parameter must be named exactly once, at the top level: one nested in a
        // batch (a JSON array, `batchOrders=[...]`, `orders[0][qty]`) or repeated inside another
        // parameter escapes the check here but not the exchange.
        for key in &constrained {
            // A dotted name (a nested JSON member) is counted by its last part.
            let leaf = key.rsplit('.').next().unwrap_or(key);
            let top = usize::from(req.param(key).is_some());
            if req.mentions(leaf) > top {
                return Err(format!(
                    "'{key}', which {} limits, also appears inside the request (a batch or nested order); \
                     limits are checked on single top-level parameters only: send one order per request",
                    self.id
                ));
            }
        }
        for (key, allowed) in &self.params {
            match req.param(key) {
                None => return Err(format!("parameter '{key}' is required by {}", self.id)),
                Some(v) if !allowed.iter().any(|a| a == v) => {
                    return Err(format!(
                        "{key}={v} is not allowed by {} (allowed: {})",
                        self.id,
                        allowed.join(", ")
                    ))
                }
                Some(_) => {}
            }
        }
        for (key, limit) in &self.max {
            let (value, shown) = if key == NOTIONAL {
                (notional(req, self.notional)?, "notional".to_owned())
            } else {
                match req.param(key) {
                    None => continue,
                    Some(v) => (parse_decimal(key, v)?, key.clone()),
                }
            };
            if value > *limit {
                return Err(format!(
                    "{shown} {value} exceeds the maximum {limit} of {}",
                    self.id
                ));
            }
        }
        Ok(())
    }
}

/// The top-level parameter names of a request: query, form body and JSON object members.
fn param_names(req: &CanonicalRequest) -> Vec<&str> {
    let mut names: Vec<&str> = req.query.iter().map(|(k, _)| k).collect();
    match &req.body {
        Body::Form(p) => names.extend(p.iter().map(|(k, _)| k)),
        Body::Json(Json::Object(members)) => names.extend(members.iter().map(|(k, _)| k.as_str())),
        _ => {}
    }
    names
}

/// The quote quantity when present, else `price * quantity` (the exchange's parameter names).
/// Refused when it cannot be computed: a bound that cannot be checked is not a bound.
fn notional(req: &CanonicalRequest, names: Notional) -> Result<Decimal, String> {
    if let Some(key) = names.quote_quantity {
        if let Some(q) = req.param(key) {
            return parse_decimal(key, q);
        }
    }
    match (req.param(names.price), req.param(names.quantity)) {
        (Some(p), Some(q)) => {
            let p = parse_decimal(names.price, p)?;
            let q = parse_decimal(names.quantity, q)?;
            p.checked_mul(q)
                .ok_or_else(|| "notional price * quantity is out of range".to_owned())
        }
        _ => {
            Err(format!(
            "the notional limit needs {} and {}{}; a market order by quantity cannot be bounded",
            names.price,
            names.quantity,
            names.quote_quantity.map(|q| format!(" (or {q})")).unwrap_or_default()
        ))
        }
    }
}

/// A client's allowlist (rules in configuration order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Allowlist {
    pub rules: Vec<Rule>,
}
