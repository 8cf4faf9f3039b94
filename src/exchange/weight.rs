//! An exchange's published request weights (`[weights]` in its `profile.toml`): what each
//! request costs against the exchange's own per-address budget, so that keyward can refuse a
//! request before the exchange would ban the address or the key.

use crate::policy::rate::Rate;
use crate::request::{CanonicalRequest, Method};

/// The weights of one exchange's API (or the part of it under `prefix`).
#[derive(Debug)]
pub struct Weights {
    /// The exchange's budget, e.g. Binance spot's 6000 per minute per IP.
    pub budget: Rate,
    /// Requests under this path prefix count (another part of the API has its own budget).
    pub prefix: &'static str,
    /// The weight of a request under `prefix` that `endpoints` does not list.
    pub default: u32,
    pub endpoints: &'static [Weighted],
}

/// One endpoint's weight.
#[derive(Debug)]
pub struct Weighted {
    pub method: Method,
    pub path: &'static str,
    pub weight: u32,
    /// The weight when this parameter is absent (Binance: `openOrders` without `symbol`).
    pub without: Option<(&'static str, u32)>,
    /// By the `limit` parameter: `(up to, weight)` steps in rising order.
    pub by_limit: &'static [(u32, u32)],
    /// The `limit` the exchange assumes when the request has none.
    pub default_limit: u32,
}

impl Weights {
    /// The weight of `req`, or `None` when it is outside `prefix` (not counted).
    pub fn of(&self, req: &CanonicalRequest) -> Option<u32> {
        if !req.path.starts_with(self.prefix) {
            return None;
        }
        let Some(e) = self
            .endpoints
            .iter()
            .find(|e| e.method == req.method && e.path == req.path)
        else {
            return Some(self.default);
        };
        if let Some((param, weight)) = e.without {
            if req.param(param).is_none() {
                return Some(weight);
            }
        }
        if let Some(&(_, last)) = e.by_limit.last() {
            let limit = req
                .param("limit")
                .and_then(|l| l.parse::<u32>().ok())
                .unwrap_or(e.default_limit);
            let step = e.by_limit.iter().find(|(upto, _)| limit <= *upto);
            return Some(step.map_or(last, |&(_, w)| w));
        }
        Some(e.weight)
    }
}

#[cfg(test)]
mod tests {
    use crate::exchange::lookup;
    use crate::request::{parse_params, Body};

    use super::*;

    fn get(path: &str, query: &str) -> CanonicalRequest {
        CanonicalRequest {
            method: Method::Get,
            path: path.to_owned(),
            query: parse_params(query, "query").unwrap(),
            body: Body::Empty,
        }
    }

    #[test]
    fn binance_spot_weights_from_its_profile() {
        let w = lookup("binance").unwrap().profile().weights.unwrap();
        assert_eq!(w.budget.to_string(), "6000/m");
        let of = |path: &str, query: &str| w.of(&get(path, query));
        assert_eq!(of("/api/v3/depth", "symbol=BTCUSDT"), Some(5));
        assert_eq!(of("/api/v3/depth", "symbol=BTCUSDT&limit=500"), Some(25));
        assert_eq!(of("/api/v3/depth", "symbol=BTCUSDT&limit=501"), Some(50));
        assert_eq!(of("/api/v3/depth", "symbol=BTCUSDT&limit=5000"), Some(250));
        assert_eq!(of("/api/v3/allOrders", "symbol=BTCUSDT"), Some(20));
        assert_eq!(of("/api/v3/account", ""), Some(20));
        assert_eq!(of("/api/v3/openOrders", "symbol=BTCUSDT"), Some(6));
        assert_eq!(of("/api/v3/openOrders", ""), Some(80));
        assert_eq!(of("/api/v3/ticker/24hr", ""), Some(80));
        assert_eq!(of("/api/v3/ping", ""), Some(1));
        // USD-M futures and SAPI have budgets of their own: not counted here.
        assert_eq!(of("/fapi/v1/depth", "symbol=BTCUSDT"), None);
        assert_eq!(of("/sapi/v1/account/apiRestrictions", ""), None);
    }
}
