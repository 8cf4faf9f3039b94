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
//! names of [`Meaning`](super::Meaning)'s variants; those with a value are tables (`{ refused = "why" }`,
//! `{ price_or_market = "0" }`, `{ signed_size = { buy = "buy", sell = "sell" } }`), and
//! `by_type`, `leg` and `reduce_only_as` name a `[by_type.<name>]`, `[leg.<name>]` or
//! `[flags.<name>]` of the file. A `[meaning]` table names meanings the file repeats.
//!
//! Loading refuses anything it cannot place: an unknown key, meaning, rule or name, a field
//! listed twice in one spec, and anything defined but never used.

mod build;
mod file;

use super::{Order, OrderEndpoint, SizeUnit};
use crate::request::Method;
use build::Tables;
use file::File;

/// A rule deciding what an order's size counts ([`OrderSpec::size_unit`](super::OrderSpec::size_unit)).
pub type SizeUnitRule = fn(&Order) -> Result<SizeUnit, String>;

/// A rule deciding a leg's type from the leg as read ([`LegSpec::order_type`](super::LegSpec::order_type)).
pub type LegTypeRule = fn(&Order) -> Option<&'static str>;

/// The behaviour an exchange's tables name, by the names of its functions (see [`rules!`](crate::rules)).
/// `base` ([`base_unit`](super::base_unit)) is always known.
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
    let orders = each(&file.endpoints, |e| (&e.endpoint, tables.endpoint(e)))?;
    let leverage = each(&file.leverage, |e| (&e.endpoint, tables.leverage(e)))?;
    tables.all_used()?;
    Ok(Endpoints { orders, leverage })
}

/// Every endpoint of `defs` built, or the first error, naming its endpoint.
fn each<D>(
    defs: &[D],
    build: impl Fn(&D) -> (&String, Result<OrderEndpoint, String>),
) -> Result<&'static [OrderEndpoint], String> {
    let built = defs.iter().map(|d| match build(d) {
        (_, Ok(endpoint)) => Ok(endpoint),
        (at, Err(why)) => Err(format!("{at}: {why}")),
    });
    Ok(leak(built.collect::<Result<Vec<_>, _>>()?))
}

/// What an `orders.toml` describes: the order endpoints, and the leverage-setting endpoints
/// (which place no order: their tables name an instrument, leverage fields and the rest).
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    pub orders: &'static [OrderEndpoint],
    pub leverage: &'static [OrderEndpoint],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Batch, Layout, Meaning};

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
