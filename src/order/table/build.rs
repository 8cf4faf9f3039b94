//! An `orders.toml` built into the [`OrderEndpoint`]s it describes: each table once, every
//! name resolved, and what is defined but never used refused.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::file::*;
use super::{leak, leak_str, leak_strs, method_path, Rules, SizeUnitRule};
use crate::order::{
    base_unit, leverage_spec, Batch, FlagWords, Layout, LegSpec, Meaning, OrderEndpoint, OrderSpec,
    TypeCases,
};

/// The file's tables as they are built, each once, and what has been used.
pub(super) struct Tables<'f> {
    file: &'f File,
    rules: &'f Rules,
    specs: RefCell<HashMap<&'f str, &'static OrderSpec>>,
    legs: RefCell<HashMap<&'f str, &'static LegSpec>>,
    by_type: RefCell<HashMap<&'f str, &'static TypeCases>>,
    flags: RefCell<HashMap<&'f str, &'static FlagWords>>,
    types: RefCell<HashMap<&'f str, &'static [&'static str]>>,
    used: RefCell<HashSet<String>>,
    /// Specs being built, to refuse a spec that is its own leg or base.
    building: RefCell<Vec<&'f str>>,
}

fn find<'f, T>(
    map: &'f HashMap<String, T>,
    kind: &str,
    name: &str,
) -> Result<(&'f str, &'f T), String> {
    map.get_key_value(name)
        .map(|(k, v)| (k.as_str(), v))
        .ok_or_else(|| format!("no {kind} '{name}'"))
}

impl<'f> Tables<'f> {
    pub(super) fn new(file: &'f File, rules: &'f Rules) -> Self {
        Tables {
            file,
            rules,
            specs: RefCell::default(),
            legs: RefCell::default(),
            by_type: RefCell::default(),
            flags: RefCell::default(),
            types: RefCell::default(),
            used: RefCell::default(),
            building: RefCell::default(),
        }
    }

    fn use_(&self, kind: &str, name: &str) {
        self.used.borrow_mut().insert(format!("{kind} '{name}'"));
    }

    pub(super) fn endpoint(&self, def: &EndpointDef) -> Result<OrderEndpoint, String> {
        let (method, path) = method_path(&def.endpoint)?;
        let layout = match &def.batch {
            None => Layout::Flat,
            Some(BatchDef::Body(word)) if word == "body" => Layout::JsonArrayBody,
            Some(BatchDef::In {
                member,
                param,
                shared,
            }) => {
                let batch = |name: &String| Batch {
                    name: leak_str(name.clone()),
                    shared: leak_strs(shared.clone()),
                };
                match (member, param) {
                    (Some(m), None) => Layout::JsonArrayInMember(batch(m)),
                    (None, Some(p)) => Layout::JsonArrayInParam(batch(p)),
                    _ => return Err("a batch names exactly one of 'member' and 'param'".into()),
                }
            }
            Some(_) => return Err("batch is \"body\", { member = ... } or { param = ... }".into()),
        };
        Ok(OrderEndpoint {
            method,
            path,
            layout,
            spec: self.spec(&def.spec)?,
        })
    }

    pub(super) fn leverage(&self, def: &LeverageDef) -> Result<OrderEndpoint, String> {
        let (method, path) = method_path(&def.endpoint)?;
        let spec = leverage_spec(self.fields(&def.fields)?, leak_str(def.source.clone()));
        Ok(OrderEndpoint {
            method,
            path,
            layout: Layout::Flat,
            spec: Box::leak(Box::new(spec)),
        })
    }

    fn spec(&self, name: &str) -> Result<&'static OrderSpec, String> {
        let (key, def) = find(&self.file.spec, "spec", name)?;
        self.use_("spec", key);
        if let Some(spec) = self.specs.borrow().get(key) {
            return Ok(spec);
        }
        if self.building.borrow().contains(&key) {
            return Err(format!("spec '{key}' is its own base or leg"));
        }
        self.building.borrow_mut().push(key);
        let spec = self
            .build_spec(def)
            .map_err(|why| format!("spec '{key}': {why}"));
        self.building.borrow_mut().pop();
        let spec: &'static OrderSpec = Box::leak(Box::new(spec?));
        self.specs.borrow_mut().insert(key, spec);
        Ok(spec)
    }

    fn build_spec(&self, def: &SpecDef) -> Result<OrderSpec, String> {
        let base = def.like.as_deref().map(|b| self.spec(b)).transpose()?;
        let missing = |what: &str| format!("'{what}' is missing (and no 'like' to take it from)");
        let fields = match &def.fields {
            Some(runs) => self.fields(runs)?,
            None => base.ok_or_else(|| missing("fields"))?.fields,
        };
        let types =
            |own: &Option<TypesRef>, inherited: Option<&'static [&'static str]>, what| match own {
                Some(t) => self.types(t),
                None => inherited.ok_or_else(|| missing(what)),
            };
        Ok(OrderSpec {
            fields,
            limit_types: types(&def.limit_types, base.map(|b| b.limit_types), "limit_types")?,
            market_types: types(
                &def.market_types,
                base.map(|b| b.market_types),
                "market_types",
            )?,
            default_type: match &def.default_type {
                Some(t) => Some(leak_str(t.clone())),
                None => base.and_then(|b| b.default_type),
            },
            size_unit: match &def.size_unit {
                Some(rule) => self.size_unit(rule)?,
                None => base.ok_or_else(|| missing("size_unit"))?.size_unit,
            },
            source: match &def.source {
                Some(s) => leak_str(s.clone()),
                None => base.ok_or_else(|| missing("source"))?.source,
            },
        })
    }

    fn fields(&self, runs: &[RunRef]) -> Result<&'static [(&'static str, Meaning)], String> {
        let mut fields: Vec<(&'static str, Meaning)> = Vec::new();
        for run in runs {
            let (name, prefix) = match run {
                RunRef::Name(n) => (n, ""),
                RunRef::Prefixed { run, prefix } => (run, prefix.as_str()),
            };
            let (key, Run(entries)) = find(&self.file.fields, "fields", name)?;
            self.use_("fields", key);
            for (field, def) in entries {
                let full = format!("{prefix}{field}");
                if fields.iter().any(|(f, _)| *f == full) {
                    return Err(format!("'{full}' is listed twice"));
                }
                let meaning = self
                    .meaning(def)
                    .map_err(|why| format!("'{full}': {why}"))?;
                fields.push((leak_str(full), meaning));
            }
        }
        Ok(leak(fields))
    }

    fn meaning(&self, def: &MeaningDef) -> Result<Meaning, String> {
        Ok(match def {
            MeaningDef::Word(word) => match unit_meaning(word) {
                Some(m) => m,
                None => {
                    let (key, def) = find(&self.file.meaning, "meaning", word)?;
                    self.use_("meaning", key);
                    if matches!(def, MeaningDef::Word(_)) {
                        return Err(format!("meaning '{key}' is only another name"));
                    }
                    self.meaning(def)?
                }
            },
            MeaningDef::SignedSize { buy, sell } => Meaning::SignedSize {
                buy: leak_str(buy.clone()),
                sell: leak_str(sell.clone()),
            },
            MeaningDef::PriceOrMarket(value) => Meaning::PriceOrMarket(leak_str(value.clone())),
            MeaningDef::LeverageOrCross(field) => {
                Meaning::LeverageOrCross(Some(leak_str(field.clone())))
            }
            MeaningDef::Refused(why) => Meaning::Refused(leak_str(why.clone())),
            MeaningDef::ReduceOnlyAs(name) => Meaning::ReduceOnlyAs(self.flags(name)?),
            MeaningDef::ByType(name) => Meaning::ByType(self.by_type(name)?),
            MeaningDef::Leg(name) => Meaning::Leg(self.leg(name)?),
        })
    }

    fn flags(&self, name: &str) -> Result<&'static FlagWords, String> {
        let (key, def) = find(&self.file.flags, "flags", name)?;
        self.use_("flags", key);
        let mut built = self.flags.borrow_mut();
        Ok(*built.entry(key).or_insert_with(|| {
            Box::leak(Box::new(FlagWords {
                yes: leak_strs(def.yes.clone()),
                no: leak_strs(def.no.clone()),
            }))
        }))
    }

    fn by_type(&self, name: &str) -> Result<&'static TypeCases, String> {
        let (key, def) = find(&self.file.by_type, "by_type", name)?;
        self.use_("by_type", key);
        if let Some(cases) = self.by_type.borrow().get(key) {
            return Ok(cases);
        }
        let cases = def
            .cases
            .iter()
            .map(|c| Ok((leak_strs(c.types.clone()), self.meaning(&c.meaning)?)))
            .collect::<Result<Vec<_>, String>>()?;
        let cases: &'static TypeCases = Box::leak(Box::new(TypeCases {
            cases: leak(cases),
            otherwise: self.meaning(&def.otherwise)?,
            in_rules: self.meaning(&def.in_rules)?,
        }));
        self.by_type.borrow_mut().insert(key, cases);
        Ok(cases)
    }

    fn leg(&self, name: &str) -> Result<&'static LegSpec, String> {
        let (key, def) = find(&self.file.leg, "leg", name)?;
        self.use_("leg", key);
        if let Some(leg) = self.legs.borrow().get(key) {
            return Ok(leg);
        }
        let order_type = match &def.order_type {
            None => None,
            Some(rule) => Some(
                self.rules
                    .leg_types
                    .iter()
                    .find(|(n, _)| n == rule)
                    .map(|(n, f)| {
                        self.use_("rule", n);
                        *f
                    })
                    .ok_or_else(|| format!("leg '{key}': no leg type rule '{rule}'"))?,
            ),
        };
        let leg: &'static LegSpec = Box::leak(Box::new(LegSpec {
            name: leak_str(def.name.clone().unwrap_or_else(|| key.to_owned())),
            spec: self.spec(&def.spec)?,
            order_type,
        }));
        self.legs.borrow_mut().insert(key, leg);
        Ok(leg)
    }

    fn types(&self, types: &TypesRef) -> Result<&'static [&'static str], String> {
        match types {
            TypesRef::List(list) => Ok(leak_strs(list.clone())),
            TypesRef::Named(name) => {
                let (key, list) = find(&self.file.types, "types", name)?;
                self.use_("types", key);
                Ok(*self
                    .types
                    .borrow_mut()
                    .entry(key)
                    .or_insert_with(|| leak_strs(list.clone())))
            }
        }
    }

    fn size_unit(&self, rule: &str) -> Result<SizeUnitRule, String> {
        if rule == "base" {
            return Ok(base_unit);
        }
        let (name, f) = self
            .rules
            .size_units
            .iter()
            .find(|(n, _)| *n == rule)
            .ok_or_else(|| format!("no size unit rule '{rule}' (orders.rs names its rules)"))?;
        self.use_("rule", name);
        Ok(*f)
    }

    /// Every table of the file and every rule is used by some endpoint.
    pub(super) fn all_used(&self) -> Result<(), String> {
        let used = self.used.borrow();
        let file = self.file;
        let defined = (file.spec.keys().map(|k| ("spec", k.as_str())))
            .chain(file.fields.keys().map(|k| ("fields", k.as_str())))
            .chain(file.types.keys().map(|k| ("types", k.as_str())))
            .chain(file.meaning.keys().map(|k| ("meaning", k.as_str())))
            .chain(file.flags.keys().map(|k| ("flags", k.as_str())))
            .chain(file.by_type.keys().map(|k| ("by_type", k.as_str())))
            .chain(file.leg.keys().map(|k| ("leg", k.as_str())))
            .chain(self.rules.size_units.iter().map(|(n, _)| ("rule", *n)))
            .chain(self.rules.leg_types.iter().map(|(n, _)| ("rule", *n)));
        let mut unused: Vec<String> = defined
            .map(|(kind, name)| format!("{kind} '{name}'"))
            .filter(|d| !used.contains(d))
            .collect();
        unused.sort();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(format!("defined but never used: {}", unused.join(", ")))
        }
    }
}

/// The meanings without a value, by their snake-case names.
fn unit_meaning(word: &str) -> Option<Meaning> {
    Some(match word {
        "instrument" => Meaning::Instrument,
        "instrument_code" => Meaning::InstrumentCode,
        "side" => Meaning::Side,
        "type" => Meaning::Type,
        "base_size" => Meaning::BaseSize,
        "quote_size" => Meaning::QuoteSize,
        "price" => Meaning::Price,
        "trigger_price" => Meaning::TriggerPrice,
        "price_override" => Meaning::PriceOverride,
        "reduce_only" => Meaning::ReduceOnly,
        "leverage" => Meaning::Leverage,
        "leverage_or_cross" => Meaning::LeverageOrCross(None),
        "inert" => Meaning::Inert,
        "other_unit_size" => Meaning::OtherUnitSize,
        "type_member" => Meaning::TypeMember,
        _ => return None,
    })
}
