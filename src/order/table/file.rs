//! The shape of an `orders.toml` as serde reads it (see [`super`] for the file's documentation).

use std::collections::HashMap;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub(super) endpoints: Vec<EndpointDef>,
    #[serde(default)]
    pub(super) leverage: Vec<LeverageDef>,
    #[serde(default)]
    pub(super) types: HashMap<String, Vec<String>>,
    #[serde(default)]
    pub(super) meaning: HashMap<String, MeaningDef>,
    #[serde(default)]
    pub(super) flags: HashMap<String, FlagsDef>,
    #[serde(default)]
    pub(super) by_type: HashMap<String, ByTypeDef>,
    #[serde(default)]
    pub(super) leg: HashMap<String, LegDef>,
    pub(super) fields: HashMap<String, Run>,
    pub(super) spec: HashMap<String, SpecDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndpointDef {
    pub(super) endpoint: String,
    pub(super) spec: String,
    pub(super) batch: Option<BatchDef>,
}

/// A leverage-setting endpoint: its fields and where they were written from.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LeverageDef {
    pub(super) endpoint: String,
    pub(super) fields: Vec<RunRef>,
    pub(super) source: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum BatchDef {
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
pub(super) struct Run(pub(super) Vec<(String, MeaningDef)>);

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
pub(super) enum MeaningDef {
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
pub(super) struct FlagsDef {
    pub(super) yes: Vec<String>,
    pub(super) no: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ByTypeDef {
    pub(super) cases: Vec<CaseDef>,
    pub(super) otherwise: MeaningDef,
    pub(super) in_rules: MeaningDef,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CaseDef {
    pub(super) types: Vec<String>,
    pub(super) meaning: MeaningDef,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LegDef {
    /// How messages name the leg; the table's key by default.
    pub(super) name: Option<String>,
    pub(super) spec: String,
    pub(super) order_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SpecDef {
    pub(super) like: Option<String>,
    pub(super) fields: Option<Vec<RunRef>>,
    pub(super) limit_types: Option<TypesRef>,
    pub(super) market_types: Option<TypesRef>,
    pub(super) default_type: Option<String>,
    pub(super) size_unit: Option<String>,
    pub(super) source: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RunRef {
    Name(String),
    Prefixed { run: String, prefix: String },
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum TypesRef {
    Named(String),
    List(Vec<String>),
}
