//! The exchange's request-weight budget, counted by keyward (see
//! [`Weights`](crate::exchange::weight::Weights)): one budget per exchange, shared by every
//! credential and client, since the exchange counts per address and all of them leave from
//! keyward's. Half the budget is the burst and half the refill per period, so no window of that
//! period (sliding, or the exchange's fixed minute) can pass the exchange's limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::exchange::Exchange;
use crate::policy::rate::{Limiter, Rate};
use crate::request::{CanonicalRequest, Refusal, RefusalKind};

#[derive(Default)]
pub struct Budgets(Mutex<HashMap<&'static str, Arc<Limiter>>>);

impl Budgets {
    /// Spends `req`'s weight from its exchange's budget, or refuses it with 429
    /// `request_weight` (and how long until it fits). Exchanges without weights pass.
    pub fn spend(&self, exchange: &dyn Exchange, req: &CanonicalRequest) -> Result<(), Refusal> {
        let Some(weights) = exchange.profile().weights else {
            return Ok(());
        };
        let Some(weight) = weights.of(req) else {
            return Ok(());
        };
        let budget = {
            let mut table = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            table
                .entry(exchange.id())
                .or_insert_with(|| {
                    let half = Rate {
                        count: (weights.budget.count / 2).max(1),
                        per: weights.budget.per,
                    };
                    Arc::new(Limiter::new(half))
                })
                .clone()
        };
        budget.take(f64::from(weight)).map_err(|wait| {
            let seconds = wait.as_secs() + 1;
            Refusal::new(
                RefusalKind::RateLimited,
                "request_weight",
                format!(
                    "{} {} weighs {weight} of {}'s request-weight budget ({} under {}), which keyward has spent; retry in {seconds} s",
                    req.method.as_str(),
                    req.path,
                    exchange.id(),
                    weights.budget,
                    weights.prefix,
                ),
            )
            .retry_after(seconds)
        })
    }
}
