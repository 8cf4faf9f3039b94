//! The exchanges' request budgets, counted by keyward (see
//! [`Weights`](crate::exchange::weight::Weights)): a budget the exchange counts per address is
//! shared by every credential and client of that exchange, since all of them leave from
//! keyward's; one it counts per key has one count per credential. A request is charged to
//! every budget that covers it, or to none: when one refuses, what the others took is put back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::config::ExchangeBudgets;
use crate::exchange::weight::{Budget, Limit, Scope};
use crate::exchange::Exchange;
use crate::policy::rate::Limiter;
use crate::policy::Checked;
use crate::request::{CanonicalRequest, Refusal, RefusalKind};

#[derive(Default)]
pub struct Budgets(Mutex<HashMap<Slot, Arc<Limiter>>>);

/// One count keyward keeps: whose, of which budget (and endpoint), at which tier's limit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Slot {
    exchange: &'static str,
    /// The credential's name for a per-key budget, `None` for a per-address one.
    credential: Option<String>,
    budget: usize,
    endpoint: Option<usize>,
    tier: usize,
}

impl Budgets {
    /// Spends the checked request's weight from each of its exchange's budgets that covers it
    /// (an unsigned, public one from none of a key's: [`charges`](crate::exchange::weight::Weights::charges)), as
    /// `credential` (counted at the tier `budgets` says), or refuses it with 429
    /// `request_weight` naming the budget and how long until the request fits. Exchanges
    /// without budgets, and credentials with `exchange_budgets = "off"`, pass.
    pub fn spend(
        &self,
        exchange: &dyn Exchange,
        credential: &str,
        budgets: ExchangeBudgets,
        checked: &Checked,
    ) -> Result<(), Refusal> {
        let (req, access) = (&checked.canonical, checked.route.access);
        let (Some(weights), ExchangeBudgets::Counted { tier }) =
            (exchange.profile().weights, budgets)
        else {
            return Ok(());
        };
        let mut taken: Vec<(Arc<Limiter>, f64)> = Vec::new();
        for charge in weights.charges(req, access) {
            let budget = &weights.budgets[charge.budget];
            let limit = budget.limit(tier);
            let slot = Slot {
                exchange: exchange.id(),
                credential: (budget.scope == Scope::Key).then(|| credential.to_owned()),
                budget: charge.budget,
                endpoint: charge.endpoint,
                tier,
            };
            let limiter = self.limiter(slot, limit);
            let weight = f64::from(charge.weight);
            if let Err(wait) = limiter.take(weight) {
                for (l, w) in taken {
                    l.give_back(w);
                }
                let seconds = wait.as_secs() + 1;
                return Err(Refusal::new(
                    RefusalKind::RateLimited,
                    "request_weight",
                    refusal_message(
                        exchange.id(),
                        budget,
                        charge.endpoint,
                        limit,
                        req,
                        charge.weight,
                        seconds,
                    ),
                )
                .retry_after(seconds));
            }
            taken.push((limiter, weight));
        }
        Ok(())
    }

    fn limiter(&self, slot: Slot, limit: Limit) -> Arc<Limiter> {
        let mut table = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        table
            .entry(slot)
            .or_insert_with(|| {
                let (capacity, per_sec) = limit.bucket();
                Arc::new(Limiter::bucket(capacity, per_sec))
            })
            .clone()
    }
}

fn refusal_message(
    exchange: &str,
    budget: &Budget,
    endpoint: Option<usize>,
    limit: Limit,
    req: &CanonicalRequest,
    weight: u32,
    seconds: u64,
) -> String {
    let whose = match budget.scope {
        Scope::Ip => "keyward's IP address, all credentials together",
        Scope::Key => "this credential's key",
    };
    let own = endpoint.map_or(String::new(), |i| {
        let e = &budget.endpoints[i];
        format!(" (the budget of {} {} alone)", e.method.as_str(), e.path)
    });
    format!(
        "{} {} weighs {weight} of {exchange}'s {} budget{own}: {limit} per {whose}, which keyward \
         has spent; it frees in {seconds} s (retry then)",
        req.method.as_str(),
        req.path,
        budget.name,
    )
}
