//! An exchange's published request limits (`[[weights]]` in its `profile.toml`): what each
//! request costs against which of the exchange's own budgets, so that keyward can refuse a
//! request before the exchange would refuse it, ban the address or suspend the key.
//!
//! A profile lists budgets; a request is charged to every budget that covers it (Binance
//! USDⓈ-M: the IP's request weight *and* the account's order count). Each budget has
//! - a **scope**: the exchange counts it per source address (`ip`: every credential of the
//!   exchange shares it, since they all leave from keyward's address) or per key/account
//!   (`key`: each credential has its own);
//! - a **limit** (or one per tier, see [`Weights::tiers`]): a [`Limit::Window`] the exchange
//!   counts in windows (Binance's 6000 per minute), or a [`Limit::Counter`] it lets rise to a
//!   maximum and decays continuously (Kraken's API counter, Deribit's credits);
//! - what it **covers**: every request under a prefix (with a default weight), the endpoints it
//!   lists (each with its weight), or both. With `each`, every listed endpoint has a budget of
//!   its own (Bybit's and OKX's per-endpoint limits).

use std::fmt;

use crate::exchange::route::{path_matches, Access};
use crate::policy::rate::Rate;
use crate::request::{CanonicalRequest, Method};

/// Every budget of one exchange, and the tiers its limits differ by.
#[derive(Debug)]
pub struct Weights {
    /// The account tiers the limits differ by (`weight_tiers` in the profile), the default
    /// first: Kraken's `starter`, `intermediate`, `pro`. Empty when the limits are the same
    /// for everyone (as far as keyward models them).
    pub tiers: &'static [&'static str],
    pub budgets: &'static [Budget],
}

/// One of the exchange's budgets.
#[derive(Debug)]
pub struct Budget {
    /// How the exchange names it (in keyward's 429 message): "spot request weight".
    pub name: &'static str,
    pub scope: Scope,
    /// One limit per tier of [`Weights::tiers`], in that order, or a single one for all.
    pub limits: &'static [Limit],
    /// Requests under this prefix that `endpoints` does not list weigh this much.
    pub prefix: Option<(&'static str, u32)>,
    pub endpoints: &'static [Weighted],
    /// Endpoints under `prefix` it does not cover (Deribit: the matching engine's, which have
    /// a budget of their own).
    pub except: &'static [(Method, &'static str)],
    /// Each endpoint of `endpoints` has its own budget of this limit.
    pub each: bool,
}

/// Whom the exchange counts a budget against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The source address: all of keyward's credentials of the exchange together.
    Ip,
    /// The key or account: each credential alone.
    Key,
}

/// How much a budget allows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    /// At most `count` per `per`, counted by the exchange in windows (fixed or rolling).
    /// keyward spends half as burst and refills the other half over `per`, so that no window
    /// of that length, aligned or not, can pass the limit.
    Window(Rate),
    /// A counter the exchange lets rise to `max` and decreases by `decay` a second; a request
    /// that would take it past `max` is refused (Kraken, Deribit). keyward keeps the same
    /// counter.
    Counter { max: u32, decay: f64 },
}

impl Limit {
    /// The token bucket keyward keeps for it: (capacity, refill per second).
    pub fn bucket(self) -> (f64, f64) {
        match self {
            Limit::Window(rate) => {
                let half = f64::from((rate.count / 2).max(1));
                (half, half / rate.per.as_secs_f64())
            }
            Limit::Counter { max, decay } => (f64::from(max), decay),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Window(rate) => write!(f, "{rate}"),
            Limit::Counter { max, decay } => write!(f, "a counter of {max} decaying {decay}/s"),
        }
    }
}

/// One endpoint's weight.
#[derive(Debug)]
pub struct Weighted {
    pub method: Method,
    /// The path, `{name}` standing for one segment (`/api/v4/spot/orders/{order_id}`).
    pub path: &'static str,
    pub weight: u32,
    /// The weight when this parameter is absent (Binance: `openOrders` without `symbol`).
    pub without: Option<(&'static str, u32)>,
    /// By the `limit` parameter: `(up to, weight)` steps in rising order.
    pub by_limit: &'static [(u32, u32)],
    /// The `limit` the exchange assumes when the request has none.
    pub default_limit: u32,
}

/// What one request costs against one budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charge {
    /// Its index in [`Weights::budgets`].
    pub budget: usize,
    /// With [`Budget::each`], the endpoint whose own budget it is.
    pub endpoint: Option<usize>,
    pub weight: u32,
}

impl Weights {
    /// The index of `tier` in [`Weights::tiers`].
    pub fn tier(&self, name: &str) -> Option<usize> {
        self.tiers.iter().position(|t| *t == name)
    }

    /// What `req`, sent with `access`, costs against each budget that covers it. A request
    /// keyward sends unsigned ([`Access::Public`]) names no key, so no key's budget counts it.
    pub fn charges<'a>(
        &'a self,
        req: &'a CanonicalRequest,
        access: Access,
    ) -> impl Iterator<Item = Charge> + 'a {
        self.budgets
            .iter()
            .enumerate()
            .filter(move |(_, b)| !(access == Access::Public && b.scope == Scope::Key))
            .filter_map(|(i, b)| {
                b.charge(req)
                    .map(|(endpoint, weight)| (i, endpoint, weight))
            })
            .map(|(budget, endpoint, weight)| Charge {
                budget,
                endpoint,
                weight,
            })
    }
}

impl Budget {
    /// Its limit for the tier at `tier` (the only one when it has one).
    pub fn limit(&self, tier: usize) -> Limit {
        self.limits
            .get(tier)
            .or(self.limits.first())
            .copied()
            .expect("a budget has at least one limit (checked at load)")
    }

    /// What `req` costs against it (and the endpoint whose own budget it is, with `each`),
    /// or `None` when it does not cover `req`.
    fn charge(&self, req: &CanonicalRequest) -> Option<(Option<usize>, u32)> {
        let listed = self
            .endpoints
            .iter()
            .position(|e| e.method == req.method && path_matches(e.path, &req.path));
        match (listed, self.prefix) {
            (Some(i), _) => Some((self.each.then_some(i), self.endpoints[i].of(req))),
            (None, Some((prefix, default)))
                if req.path.starts_with(prefix)
                    && !self
                        .except
                        .iter()
                        .any(|(m, p)| *m == req.method && path_matches(p, &req.path)) =>
            {
                Some((None, default))
            }
            (None, _) => None,
        }
    }
}

impl Weighted {
    fn of(&self, req: &CanonicalRequest) -> u32 {
        if let Some((param, weight)) = self.without {
            if req.param(param).is_none() {
                return weight;
            }
        }
        if let Some(&(_, last)) = self.by_limit.last() {
            let limit = req
                .param("limit")
                .and_then(|l| l.parse::<u32>().ok())
                .unwrap_or(self.default_limit);
            let step = self.by_limit.iter().find(|(upto, _)| limit <= *upto);
            return step.map_or(last, |&(_, w)| w);
        }
        self.weight
    }
}

#[cfg(test)]
#[path = "weight/tests.rs"]
mod tests;
