//! Field tables as data: an exchange's `orders.toml`, read once into the [`OrderEndpoint`]s of
//! its profile.
//!
//! The tables are facts copied from the exchange's documentation, so they are written as data
//! (reviewable beside the documentation they came from, each spec naming its `source`); what
//! is behaviour (the rule that decides what a size counts, a leg's type) stays Rust, in the
//! exchange's `orders.rs`, and a table names it ([`Rules`]). The file's shape:
//!
//! ```toml
//! endpoints = [
//!     { endpoint = "POST /v5/order/create", spec = "create" },
//!     { endpoint = "POST /v5/order/create-batch", spec = "create", batch = { member = "request", shared = ["category"] } },
//! ]
//!
//! [spec.create]
//! source = "where the table was written from"
//! fields = ["order", "tp_sl"]       # runs of [fields.<name>], in order
//! limit_types = ["Limit"]           # or the name of a [types] list
//! market_types = ["Market"]
//! default_type = "Limit"            # optional
//! size_unit = "create_unit"         # a rule of orders.rs, or "base"
//!
//! [fields.order]                    # field = meaning, in the exchange's order
//! symbol = "instrument"
//! qty = "base_size"
//! "close[price]" = { by_type = "price" }
//! ```
//!
//! A top-level `leverage` list names the leverage-setting endpoints the same way, each with its
//! own `fields` and `source` (`{ endpoint = "POST /v5/position/set-leverage", fields =
//! ["set_leverage"], source = "..." }`): they place no order, so they have no types and no size.
//!
//! A spec may take everything it does not state from another (`like = "create"`); a run may be
//! read under a prefix (`{ run = "buy", prefix = "params." }`). Meanings are the snake-case
//! names of [`Meaning`]'s variants; those with a value are tables (`{ refused = "why" }`,
//! `{ price_or_market = "0" }`, `{ signed_size = { buy = "buy", sell = "sell" } }`), and
//! `by_type`, `leg` and `reduce_only_as` name a `[by_type.<name>]`, `[leg.<name>]` or
//! `[flags.<name>]` of the file. A `[meaning]` table names meanings the file repeats.
//!
//! Loading refuses anything it cannot place: an unknown key, meaning, rule or name, a field
//! listed twice in one spec, and anything defined but never used.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::{
    base_unit, leverage_spec, Batch, FlagWords, Layout, LegSpec, Meaning, Order, OrderEndpoint,
    OrderSpec, SizeUnit, TypeCases,
};
use crate::request::Method;

/// A rule deciding what an order's size counts ([`OrderSpec::size_unit`]).
pub type SizeUnitRule = fn(&Order) -> Result<SizeUnit, String>;

/// A rule deciding a leg's type from the leg as read ([`LegSpec::order_type`]).
pub type LegTypeRule = fn(&Order) -> Option<&'static str>;

/// The behaviour an exchange's tables name, by the names of its functions (see [`rules!`]).
/// `base` ([`base_unit`]) is always known.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub size_units: &'static [(&'static str, SizeUnitRule)],
    pub leg_types: &'static [(&'static str, LegTypeRule)],
}

impl Rules {
    pub const NONE: Rules = Rules {
        size_units: &[],
        leg_types: &[],
    };
}

/// The [`Rules`] of an exchange's tables, each named as its function is:
/// `rules![size_units: [create_unit, amend_unit], leg_types: [stop_loss_type]]`.
#[macro_export]
macro_rules! rules {
    (size_units: [$($unit:ident),* $(,)?] $(, leg_types: [$($leg:ident),* $(,)?])? $(,)?) => {
        $crate::order::table::Rules {
            size_units: &[$((stringify!($unit), $unit as $crate::order::table::SizeUnitRule)),*],
            leg_types: &[$($((stringify!($leg), $leg as $crate::order::table::LegTypeRule)),*)?],
        }
    };
}

/// `text` for the whole life of the process: tables are read once and never dropped.
pub fn leak_str(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// `items` for the whole life of the process (see [`leak_str`]).
pub fn leak<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

/// Strings for the whole life of the process.
pub fn leak_strs(items: Vec<String>) -> &'static [&'static str] {
    leak(items.into_iter().map(leak_str).collect())
}

/// `METHOD /path`, as endpoints, presets and deny tests write it.
pub fn method_path(text: &str) -> Result<(Method, &'static str), String> {
    let (method, path) = text
        .split_once(' ')
        .ok_or_else(|| format!("'{text}' is not 'METHOD /path'"))?;
    let method = Method::parse(method).ok_or_else(|| format!("'{text}': unknown method"))?;
    if !path.starts_with('/') || path.contains(' ') {
        return Err(format!(
            "'{text}': the path must start with '/' and hold no space"
        ));
    }
    Ok((method, leak_str(path.to_owned())))
}

/// Reads an `orders.toml` (see the module documentation) with the rules its tables name.
pub fn load(text: &str, rules: &Rules) -> Result<Endpoints, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    let tables = Tables::new(&file, rules);
    let orders = file
        .endpoints
        .iter()
        .map(|e| {
            tables
                .endpoint(e)
                .map_err(|why| format!("{}: {why}", e.endpoint))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leverage = file
        .leverage
        .iter()
        .map(|e| {
            tables
                .leverage(e)
                .map_err(|why| format!("{}: {why}", e.endpoint))
        })
        .collect::<Result<Vec<_>, _>>()?;
    tables.all_used()?;
    Ok(Endpoints {
        orders: leak(orders),
        leverage: leak(leverage),
    })
}

/// What an `orders.toml` describes: the order endpoints, and the leverage-setting endpoints
/// (which place no order: their tables name an instrument, leverage fields and the rest).
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    pub orders: &'static [OrderEndpoint],
    pub leverage: &'static [OrderEndpoint],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    endpoints: Vec<EndpointDef>,
    #[serde(default)]
    leverage: Vec<LeverageDef>,
    #[serde(default)]
    types: HashMap<String, Vec<String>>,
    #[serde(default)]
    meaning: HashMap<String, MeaningDef>,
    #[serde(default)]
    flags: HashMap<String, FlagsDef>,
    #[serde(default)]
    by_type: HashMap<String, ByTypeDef>,
    #[serde(default)]
    leg: HashMap<String, LegDef>,
    fields: HashMap<String, Run>,
    spec: HashMap<String, SpecDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointDef {
    endpoint: String,
    spec: String,
    batch: Option<BatchDef>,
}

/// A leverage-setting endpoint: its fields and where they were written from.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeverageDef {
    endpoint: String,
    fields: Vec<RunRef>,
    source: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BatchDef {
    /// `"body"`: the JSON body is the array of orders.
    Body(String),
    /// `{ member = "request", shared = [...] }` or `{ param = "batchOrders", shared = [...] }`.
    In {
        member: Option<String>,
        param: Option<String>,
        #[serde(default)]
        shared: Vec<String>,
    },
}

/// A run of fields in the exchange's order (a TOML table read in document order).
struct Run(Vec<(String, MeaningDef)>);

impl<'de> Deserialize<'de> for Run {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Run;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of field = meaning")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Run, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(Run(fields))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// A field's meaning: the snake-case name of a [`Meaning`] without a value, or of a meaning in
/// the file's `[meaning]` table; or a table for a meaning with a value.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum MeaningDef {
    SignedSize {
        buy: String,
        sell: String,
    },
    PriceOrMarket(String),
    /// [`Meaning::LeverageOrCross`] with the field giving the cross leverage (the word
    /// `leverage_or_cross` is the one without).
    LeverageOrCross(String),
    ReduceOnlyAs(String),
    ByType(String),
    Leg(String),
    Refused(String),
    #[serde(untagged)]
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagsDef {
    yes: Vec<String>,
    no: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ByTypeDef {
    cases: Vec<CaseDef>,
    otherwise: MeaningDef,
    in_rules: MeaningDef,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDef {
    types: Vec<String>,
    meaning: MeaningDef,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegDef {
    /// How messages name the leg; the table's key by default.
    name: Option<String>,
    spec: String,
    order_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecDef {
    like: Option<String>,
    fields: Option<Vec<RunRef>>,
    limit_types: Option<TypesRef>,
    market_types: Option<TypesRef>,
    default_type: Option<String>,
    size_unit: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RunRef {
    Name(String),
    Prefixed { run: String, prefix: String },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TypesRef {
    Named(String),
    List(Vec<String>),
}

/// The file's tables as they are built, each once, and what has been used.
struct Tables<'f> {
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
    fn new(file: &'f File, rules: &'f Rules) -> Self {
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

    fn endpoint(&self, def: &EndpointDef) -> Result<OrderEndpoint, String> {
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

    fn leverage(&self, def: &LeverageDef) -> Result<OrderEndpoint, String> {
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
    fn all_used(&self) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(_: &Order) -> Result<SizeUnit, String> {
        Ok(SizeUnit::Quote)
    }

    const RULES: Rules = crate::rules![size_units: [unit]];

    /// A file with one endpoint whose spec `s` has `fields` (TOML lines of `[fields.f]`) and
    /// `rest` (more TOML).
    fn file(spec: &str, fields: &str, rest: &str) -> String {
        format!(
            "endpoints = [{{ endpoint = \"POST /o\", spec = \"s\" }}]\n\
             [spec.s]\n{spec}\n[fields.f]\n{fields}\n{rest}"
        )
    }

    const SPEC: &str = "fields = [\"f\"]\nlimit_types = []\nmarket_types = []\nsize_unit = \"base\"\nsource = \"docs\"";

    fn error(spec: &str, fields: &str, rest: &str) -> String {
        load(&file(spec, fields, rest), &Rules::NONE).unwrap_err()
    }

    #[test]
    fn a_table_reads_in_the_files_order() {
        let endpoints = load(
            &file(
                SPEC,
                "z = \"instrument\"\na = \"base_size\"\n\"m.n\" = { refused = \"no\" }",
                "",
            ),
            &Rules::NONE,
        )
        .unwrap()
        .orders;
        let spec = endpoints[0].spec;
        assert_eq!(
            spec.fields,
            [
                ("z", Meaning::Instrument),
                ("a", Meaning::BaseSize),
                ("m.n", Meaning::Refused("no"))
            ]
        );
        assert_eq!(
            (endpoints[0].method, endpoints[0].path),
            (Method::Post, "/o")
        );
        assert_eq!(spec.source, "docs");
        assert_eq!((spec.size_unit)(&Order::default()), Ok(SizeUnit::Base));
    }

    #[test]
    fn a_spec_takes_what_it_does_not_say_from_its_base() {
        let text = "endpoints = [{ endpoint = \"POST /a\", spec = \"a\" }, { endpoint = \"POST /b\", spec = \"b\", batch = { member = \"list\", shared = [\"s\"] } }]\n\
            [types]\nlimit = [\"LIMIT\"]\n\
            [spec.a]\nfields = [\"f\"]\nlimit_types = \"limit\"\nmarket_types = [\"MARKET\"]\ndefault_type = \"LIMIT\"\nsize_unit = \"unit\"\nsource = \"a docs\"\n\
            [spec.b]\nlike = \"a\"\nfields = [\"g\", { run = \"f\", prefix = \"p.\" }]\nsource = \"b docs\"\n\
            [fields.f]\nqty = \"base_size\"\n[fields.g]\nid = \"inert\"\n";
        let endpoints = load(text, &RULES).unwrap().orders;
        let (a, b) = (endpoints[0].spec, endpoints[1].spec);
        assert_eq!(
            b.fields,
            [("id", Meaning::Inert), ("p.qty", Meaning::BaseSize)]
        );
        assert_eq!(b.limit_types, ["LIMIT"]);
        assert_eq!(b.market_types, ["MARKET"]);
        assert_eq!(b.default_type, Some("LIMIT"));
        for s in [a, b] {
            assert_eq!((s.size_unit)(&Order::default()), Ok(SizeUnit::Quote));
        }
        assert_eq!((a.source, b.source), ("a docs", "b docs"));
        assert_eq!(
            endpoints[1].layout,
            Layout::JsonArrayInMember(Batch {
                name: "list",
                shared: &["s"]
            })
        );
    }

    #[test]
    fn legs_cases_flags_and_named_meanings_are_shared() {
        let rest = "[meaning]\nsigned = { signed_size = { buy = \"b\", sell = \"s\" } }\n\
            [flags.yn]\nyes = [\"Y\"]\nno = [\"N\"]\n\
            [by_type.px]\ncases = [{ types = [\"stop\"], meaning = \"trigger_price\" }]\notherwise = \"price\"\nin_rules = \"price\"\n\
            [leg.tp]\nspec = \"tp\"\n\
            [spec.tp]\nfields = [\"tp\"]\nlimit_types = []\nmarket_types = []\nsize_unit = \"base\"\nsource = \"tp docs\"\n\
            [fields.tp]\n\"tp.px\" = \"price\"\n";
        let fields = "size = \"signed\"\nreduce = { reduce_only_as = \"yn\" }\npx = { by_type = \"px\" }\npx2 = { by_type = \"px\" }\n\"tp.px\" = { leg = \"tp\" }";
        let endpoints = load(&file(SPEC, fields, rest), &Rules::NONE)
            .unwrap()
            .orders;
        let f = endpoints[0].spec.fields;
        assert_eq!(
            f[0].1,
            Meaning::SignedSize {
                buy: "b",
                sell: "s"
            }
        );
        let Meaning::ReduceOnlyAs(words) = f[1].1 else {
            panic!("{f:?}")
        };
        assert_eq!((words.yes, words.no), (&["Y"][..], &["N"][..]));
        let (Meaning::ByType(a), Meaning::ByType(b)) = (f[2].1, f[3].1) else {
            panic!("{f:?}")
        };
        assert!(std::ptr::eq(a, b));
        assert_eq!(a.resolve(Some("stop")), Meaning::TriggerPrice);
        let Meaning::Leg(leg) = f[4].1 else {
            panic!("{f:?}")
        };
        assert_eq!((leg.name, leg.spec.source), ("tp", "tp docs"));
    }

    #[test]
    fn what_cannot_be_placed_is_refused() {
        let cases = [
            (
                error(SPEC, "qty = \"size\"", ""),
                "'qty': no meaning 'size'",
            ),
            (error(SPEC, "qty = { refused = 1 }", ""), "qty"),
            (
                error(
                    SPEC,
                    "\"a.b\" = \"inert\"\nc = \"inert\"\n[fields.g]\n\"a.b\" = \"inert\"",
                    "",
                ),
                "fields 'g'",
            ),
            (
                error(
                    &SPEC.replace("[\"f\"]", "[\"f\", \"f\"]"),
                    "a = \"inert\"",
                    "",
                ),
                "'a' is listed twice",
            ),
            (
                error(SPEC, "a = \"inert\"", "[types]\nx = []"),
                "defined but never used: types 'x'",
            ),
            (
                error(&SPEC.replace("\"base\"", "\"unit\""), "a = \"inert\"", ""),
                "no size unit rule 'unit'",
            ),
            (
                error(&SPEC.replace("source = \"docs\"", ""), "a = \"inert\"", ""),
                "'source' is missing",
            ),
            (error(SPEC, "a = { leg = \"l\" }", ""), "no leg 'l'"),
            (
                error(&format!("{SPEC}\nextra = 1"), "a = \"inert\"", ""),
                "unknown field `extra`",
            ),
            (
                error(&format!("{SPEC}\nlike = \"s\""), "a = \"inert\"", ""),
                "spec 's' is its own base or leg",
            ),
        ];
        for (got, says) in cases {
            assert!(got.contains(says), "{got:?} does not say {says:?}");
        }
        // A rule the tables never name is refused too.
        let e = load(&file(SPEC, "a = \"inert\"", ""), &RULES).unwrap_err();
        assert!(e.contains("never used: rule 'unit'"), "{e}");
        let bad_batch = "endpoints = [{ endpoint = \"POST /o\", spec = \"s\", batch = { member = \"a\", param = \"b\" } }]\n";
        let e = load(
            &format!("{bad_batch}[spec.s]\n{SPEC}\n[fields.f]\na = \"inert\""),
            &Rules::NONE,
        )
        .unwrap_err();
        assert!(e.contains("exactly one of 'member' and 'param'"), "{e}");
        assert!(method_path("post /o").is_err());
        assert!(method_path("POST o").is_err());
        assert_eq!(method_path("DELETE /a/{b}"), Ok((Method::Delete, "/a/{b}")));
    }
}
