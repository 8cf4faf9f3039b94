//! A profile's `[[weights]]` budgets and `weight_tiers` read into its [`Weights`], checked so
//! that a budget keyward loads can be kept: each has a limit for every tier, covers something,
//! and no request it covers weighs more than its whole limit (it could never be sent).
//!
//! ```toml
//! weight_tiers = ["starter", "intermediate", "pro"]   # optional; the default first
//!
//! [[weights]]
//! name = "API counter"            # named in keyward's 429 message
//! scope = "key"                   # or "ip"
//! counter = { max = 15, decay = 0.33 }               # or limit = "6000/m", or per tier:
//! tier = { starter = { counter = { max = 15, decay = 0.33 } }, pro = { limit = "20/s" } }
//! prefix = "/0/private/"          # with default: every request under it weighs that much
//! default = 1
//! except = ["POST /0/private/AddOrder"]              # not counted, though under the prefix
//! endpoints = ["POST /v5/order/create"]              # listed endpoints, weighing 1 each
//! each = true                     # each listed endpoint has a budget of its own
//!
//! [[weights.endpoint]]            # a listed endpoint with its own weight
//! at = "GET /api/v3/depth"
//! weight = 5                      # or by_limit = [[100, 5], [500, 25]] and default_limit
//! without = { param = "symbol", weight = 80 }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::exchange::weight::{Budget, Limit, Scope, Weighted, Weights};
use crate::order::table::{leak, leak_str, leak_strs, method_path};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BudgetDef {
    name: String,
    scope: ScopeDef,
    limit: Option<String>,
    counter: Option<CounterDef>,
    tier: Option<BTreeMap<String, LimitDef>>,
    prefix: Option<String>,
    default: Option<u32>,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    endpoints: Vec<String>,
    #[serde(default)]
    each: bool,
    #[serde(default)]
    endpoint: Vec<WeightDef>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ScopeDef {
    Ip,
    Key,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitDef {
    limit: Option<String>,
    counter: Option<CounterDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterDef {
    max: u32,
    decay: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightDef {
    at: String,
    weight: Option<u32>,
    without: Option<WithoutDef>,
    #[serde(default)]
    by_limit: Vec<[u32; 2]>,
    default_limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithoutDef {
    param: String,
    weight: u32,
}

/// The profile's weights, or `None` when it lists no budget (and then no tiers either).
pub(super) fn load(
    tiers: Vec<String>,
    defs: Vec<BudgetDef>,
) -> Result<Option<&'static Weights>, String> {
    if defs.is_empty() {
        return match tiers.is_empty() {
            true => Ok(None),
            false => Err("weight_tiers: given, but no [[weights]] budget uses them".into()),
        };
    }
    if let Some(t) = (1..tiers.len()).find(|&i| tiers[..i].contains(&tiers[i])) {
        return Err(format!("weight_tiers: {:?} is listed twice", tiers[t]));
    }
    let mut budgets = Vec::new();
    for def in defs {
        let name = def.name.clone();
        if budgets.iter().any(|b: &Budget| b.name == name) {
            return Err(format!("weights {name:?}: listed twice"));
        }
        budgets.push(budget(def, &tiers).map_err(|e| format!("weights {name:?}: {e}"))?);
    }
    Ok(Some(Box::leak(Box::new(Weights {
        tiers: leak_strs(tiers),
        budgets: leak(budgets),
    }))))
}

fn budget(def: BudgetDef, tiers: &[String]) -> Result<Budget, String> {
    let all = LimitDef {
        limit: def.limit,
        counter: def.counter,
    };
    let limits = match (all.read()?, def.tier) {
        (Some(one), None) => vec![one],
        (None, Some(mut by_tier)) => {
            if tiers.is_empty() {
                return Err("gives limits by tier, but the profile has no weight_tiers".into());
            }
            let limits = tiers
                .iter()
                .map(|t| {
                    let def = by_tier
                        .remove(t)
                        .ok_or_else(|| format!("tier: no limit for tier {t:?}"))?;
                    def.read()?
                        .ok_or_else(|| format!("tier.{t}: give limit or counter"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(other) = by_tier.keys().next() {
                return Err(format!(
                    "tier: {other:?} is not one of weight_tiers ({})",
                    tiers.join(", ")
                ));
            }
            limits
        }
        (None, None) => return Err("give limit, counter or tier".into()),
        (Some(_), Some(_)) => {
            return Err("give a limit for all (limit or counter) or tier, not both".into())
        }
    };
    let prefix = match (def.prefix, def.default) {
        (Some(p), Some(w)) => Some((leak_str(p), w)),
        (None, None) => None,
        _ => return Err("prefix and default go together".into()),
    };
    if def.each && prefix.is_some() {
        return Err("each: a budget per endpoint is for listed endpoints, not a prefix".into());
    }
    if !def.except.is_empty() && prefix.is_none() {
        return Err("except: names endpoints under the prefix, and there is none".into());
    }
    let mut endpoints = def
        .endpoints
        .iter()
        .map(|e| {
            let (method, path) = method_path(e)?;
            Ok(Weighted {
                method,
                path,
                weight: 1,
                without: None,
                by_limit: &[],
                default_limit: 0,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    for e in def.endpoint {
        endpoints.push(weighted(e)?);
    }
    if prefix.is_none() && endpoints.is_empty() {
        return Err("covers nothing: give a prefix (and default), endpoints or endpoint".into());
    }
    for (i, e) in endpoints.iter().enumerate() {
        if endpoints[..i]
            .iter()
            .any(|o| o.method == e.method && o.path == e.path)
        {
            return Err(format!("{} {} is listed twice", e.method.as_str(), e.path));
        }
    }
    let heaviest = endpoints
        .iter()
        .flat_map(|e| {
            let steps = e.by_limit.iter().map(|&(_, w)| w);
            std::iter::once(e.weight)
                .chain(e.without.map(|(_, w)| w))
                .chain(steps)
        })
        .chain(prefix.map(|(_, w)| w))
        .max()
        .unwrap_or(0);
    for limit in &limits {
        let (capacity, _) = limit.bucket();
        if f64::from(heaviest) > capacity {
            return Err(format!(
                "a request weighing {heaviest} could never be sent within {limit} (keyward \
                 spends at most {capacity} at once)"
            ));
        }
    }
    Ok(Budget {
        name: leak_str(def.name),
        scope: match def.scope {
            ScopeDef::Ip => Scope::Ip,
            ScopeDef::Key => Scope::Key,
        },
        limits: leak(limits),
        prefix,
        endpoints: leak(endpoints),
        except: leak(
            def.except
                .iter()
                .map(|e| method_path(e))
                .collect::<Result<_, _>>()?,
        ),
        each: def.each,
    })
}

impl LimitDef {
    /// The limit it gives, `None` when it gives none.
    fn read(&self) -> Result<Option<Limit>, String> {
        match (&self.limit, &self.counter) {
            (Some(text), None) => Ok(Some(Limit::Window(
                text.parse().map_err(|e| format!("limit: {e}"))?,
            ))),
            (None, Some(c)) if c.max >= 1 && c.decay.is_finite() && c.decay > 0.0 => {
                Ok(Some(Limit::Counter {
                    max: c.max,
                    decay: c.decay,
                }))
            }
            (None, Some(_)) => {
                Err("counter: max must be at least 1 and decay above 0 (per second)".into())
            }
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err("give limit or counter, not both".into()),
        }
    }
}

fn weighted(e: WeightDef) -> Result<Weighted, String> {
    let (method, path) = method_path(&e.at)?;
    let steps: Vec<(u32, u32)> = e.by_limit.into_iter().map(|[a, b]| (a, b)).collect();
    if steps.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(format!("endpoint {}: by_limit steps must rise", e.at));
    }
    match (e.weight, steps.is_empty(), e.default_limit) {
        (None, true, _) => return Err(format!("endpoint {}: give weight or by_limit", e.at)),
        (Some(_), false, _) => {
            return Err(format!(
                "endpoint {}: give weight or by_limit, not both",
                e.at
            ))
        }
        (_, true, Some(_)) => {
            return Err(format!(
                "endpoint {}: default_limit goes with by_limit",
                e.at
            ))
        }
        (_, false, None) => {
            return Err(format!(
                "endpoint {}: by_limit needs the default_limit the exchange assumes",
                e.at
            ))
        }
        _ => {}
    }
    Ok(Weighted {
        method,
        path,
        weight: e.weight.unwrap_or(0),
        without: e.without.map(|w| (leak_str(w.param), w.weight)),
        by_limit: leak(steps),
        default_limit: e.default_limit.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(tiers: &[&str], toml: &str) -> Result<Option<&'static Weights>, String> {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(default)]
            weights: Vec<BudgetDef>,
        }
        let doc: Doc = toml::from_str(toml).map_err(|e| e.to_string())?;
        load(tiers.iter().map(|t| t.to_string()).collect(), doc.weights)
    }

    const HEAD: &str = "[[weights]]\nname = \"b\"\nscope = \"key\"\n";

    #[test]
    fn a_budget_is_read_with_its_tiers() {
        let w = read(
            &["low", "high"],
            &format!(
                "{HEAD}prefix = \"/p/\"\ndefault = 2\nexcept = [\"POST /p/x\"]\n\
                 tier.low = {{ counter = {{ max = 15, decay = 0.5 }} }}\n\
                 tier.high = {{ limit = \"60/2s\" }}\n\
                 [[weights.endpoint]]\nat = \"GET /p/{{id}}\"\nweight = 3"
            ),
        )
        .unwrap()
        .unwrap();
        let b = &w.budgets[0];
        assert_eq!(
            (w.tiers, b.scope, b.prefix),
            (&["low", "high"][..], Scope::Key, Some(("/p/", 2)))
        );
        assert_eq!(
            b.limit(0),
            Limit::Counter {
                max: 15,
                decay: 0.5
            }
        );
        assert_eq!(b.limit(1).to_string(), "60/2s");
        assert_eq!(b.except, [(crate::request::Method::Post, "/p/x")]);
        assert!(read(&[], "").unwrap().is_none());
    }

    #[test]
    fn budgets_that_could_not_be_kept_are_refused() {
        for (tiers, rest, says) in [
            (&[][..], "endpoints = [\"GET /a\"]", "give limit, counter or tier"),
            (&[], "limit = \"5/s\"\ncounter = { max = 1, decay = 1.0 }\nendpoints = [\"GET /a\"]", "not both"),
            (&[], "limit = \"5/d\"\nendpoints = [\"GET /a\"]", "limit: \"5/d\" is not a rate"),
            (&[], "counter = { max = 0, decay = 1.0 }\nendpoints = [\"GET /a\"]", "max must be at least 1"),
            (&[], "counter = { max = 5, decay = 0.0 }\nendpoints = [\"GET /a\"]", "decay above 0"),
            (&[], "limit = \"5/s\"", "covers nothing"),
            (&[], "limit = \"5/s\"\nprefix = \"/a\"", "prefix and default go together"),
            (&[], "limit = \"5/s\"\nprefix = \"/a\"\ndefault = 1\neach = true", "each: a budget per endpoint"),
            (&[], "limit = \"5/s\"\nendpoints = [\"GET /a\"]\nexcept = [\"GET /b\"]", "except: names endpoints under the prefix"),
            (&[], "limit = \"5/s\"\nendpoints = [\"GET /a\", \"GET /a\"]", "GET /a is listed twice"),
            (&[], "limit = \"5/s\"\nendpoints = [\"/a\"]", "is not 'METHOD /path'"),
            // Half of 10/m is 5 at once: a request weighing 6 could never be sent.
            (&[], "limit = \"10/m\"\n[[weights.endpoint]]\nat = \"GET /a\"\nweight = 6", "weighing 6 could never be sent"),
            (&[], "limit = \"600/m\"\n[[weights.endpoint]]\nat = \"GET /a\"", "give weight or by_limit"),
            (&[], "limit = \"600/m\"\n[[weights.endpoint]]\nat = \"GET /a\"\nby_limit = [[5, 1], [5, 2]]\ndefault_limit = 5", "steps must rise"),
            (&[], "limit = \"600/m\"\n[[weights.endpoint]]\nat = \"GET /a\"\nby_limit = [[5, 1]]", "needs the default_limit"),
            (&[], "tier.x = { limit = \"5/s\" }\nendpoints = [\"GET /a\"]", "the profile has no weight_tiers"),
            (&["x", "y"], "tier.x = { limit = \"5/s\" }\nendpoints = [\"GET /a\"]", "no limit for tier \"y\""),
            (&["x"], "tier.x = { limit = \"5/s\" }\ntier.z = { limit = \"5/s\" }\nendpoints = [\"GET /a\"]", "\"z\" is not one of weight_tiers (x)"),
            (&["x"], "limit = \"5/s\"\ntier.x = { limit = \"5/s\" }\nendpoints = [\"GET /a\"]", "or tier, not both"),
            (&["x", "x"], "limit = \"5/s\"\nendpoints = [\"GET /a\"]", "\"x\" is listed twice"),
            (&[], "limit = \"5/s\"\nendpoints = [\"GET /a\"]\nscope = \"user\"", "duplicate key"),
        ] {
            let e = read(tiers, &format!("{HEAD}{rest}")).unwrap_err();
            assert!(e.contains(says), "{rest}: {e}");
        }
        let e = read(&[], &format!("{HEAD}limit = \"5/s\"\nendpoints = [\"GET /a\"]\n{HEAD}limit = \"5/s\"\nendpoints = [\"GET /b\"]")).unwrap_err();
        assert!(e.contains("weights \"b\": listed twice"), "{e}");
        let e = read(&["x"], "").unwrap_err();
        assert!(e.contains("no [[weights]] budget uses them"), "{e}");
        let e = read(&[], "[[weights]]\nname = \"b\"\nscope = \"user\"\nlimit = \"5/s\"\nendpoints = [\"GET /a\"]").unwrap_err();
        assert!(e.contains("unknown variant `user`"), "{e}");
    }
}
