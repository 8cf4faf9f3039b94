//! `docs/order-fields.md` lists, per exchange and order endpoint, every field keyward reads and
//! what it means, generated from the field tables themselves so the document cannot drift from
//! the code. `KEYWARD_BLESS=1 cargo test --test order_fields_doc` rewrites it after a table
//! changes; otherwise this test fails when the file is stale.

use std::fmt::Write;

use keyward::exchange::registry;
use keyward::order::{Layout, Meaning, OrderSpec};

fn meaning(m: &Meaning) -> String {
    match m {
        Meaning::Instrument => "instrument".into(),
        Meaning::InstrumentCode => {
            "instrument by numeric code (refused under an instrument rule)".into()
        }
        Meaning::Side => "side".into(),
        Meaning::Type => "order type".into(),
        Meaning::BaseSize => "size".into(),
        Meaning::SignedSize { .. } => "signed size (the sign is the side)".into(),
        Meaning::QuoteSize => "quote size".into(),
        Meaning::Price => "limit price".into(),
        Meaning::PriceOrMarket(market) => format!("limit price, or `{market}` for the market"),
        Meaning::TriggerPrice => "trigger price".into(),
        Meaning::PriceOverride => "price override (no bounded price)".into(),
        Meaning::ReduceOnly | Meaning::ReduceOnlyAs(_) => "reduce-only flag".into(),
        Meaning::Leverage => "leverage".into(),
        Meaning::LeverageOrCross(Some(cross)) => {
            format!("leverage; `0` is cross margin at the leverage `{cross}` gives")
        }
        Meaning::LeverageOrCross(None) => {
            "leverage; `0` is cross margin (refused under a leverage bound)".into()
        }
        Meaning::Inert => "no bearing on limits".into(),
        Meaning::OtherUnitSize => "size in another unit (refused under a size rule)".into(),
        Meaning::TypeMember => "its member's name is the order type".into(),
        Meaning::ByType(cases) => {
            let mut parts: Vec<String> = cases
                .cases
                .iter()
                .map(|(types, m)| format!("{}: {}", types.join("/"), meaning(m)))
                .collect();
            parts.push(format!("otherwise: {}", meaning(&cases.otherwise)));
            format!("by type ({})", parts.join("; "))
        }
        Meaning::Leg(leg) => format!("attached order `{}`, judged as its own order", leg.name),
        Meaning::Refused(why) => format!("**refused**: {why}"),
    }
}

fn spec_table(out: &mut String, spec: &OrderSpec) {
    out.push_str("| field | meaning |\n| --- | --- |\n");
    for (name, m) in spec.fields {
        let _ = writeln!(out, "| `{name}` | {} |", meaning(m));
    }
    let _ = writeln!(
        out,
        "\nLimit types: {}. Market types: {}. Source: {}.\n",
        list(spec.limit_types),
        list(spec.market_types),
        spec.source
    );
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn document() -> String {
    let mut out = String::from(
        "# Order fields keyward reads\n\n\
         Generated from the field tables in `src/exchange/<id>/orders.toml` (its `endpoints` \
         and, for the endpoints that set leverage, its `leverage` list) by \
         `tests/order_fields_doc.rs` (`KEYWARD_BLESS=1 cargo test --test order_fields_doc`). \
         Under a rule with constraints, a request to one of these endpoints is read field by \
         field; a field not listed for its endpoint, another spelling of a listed one, or a \
         field marked refused makes keyward refuse the order (see the README's configuration \
         reference for how limits apply).\n\n",
    );
    for ex in registry() {
        let profile = ex.profile();
        if profile.orders.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {}\n", profile.id);
        for ep in profile.orders {
            let layout = match ep.layout {
                Layout::Flat => "one order".to_owned(),
                Layout::JsonArrayBody => "a batch: the JSON body is an array of orders".to_owned(),
                Layout::JsonArrayInParam(b) | Layout::JsonArrayInMember(b) => format!(
                    "a batch in `{}`{}",
                    b.name,
                    if b.shared.is_empty() {
                        String::new()
                    } else {
                        format!(" (beside it: {})", list(b.shared))
                    }
                ),
            };
            let _ = writeln!(out, "### `{} {}` ({layout})\n", ep.method, ep.path);
            spec_table(&mut out, ep.spec);
        }
        for ep in profile.leverage {
            let _ = writeln!(out, "### `{} {}` (sets leverage)\n", ep.method, ep.path);
            spec_table(&mut out, ep.spec);
        }
    }
    out
}

#[test]
fn order_fields_doc_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/order-fields.md");
    let want = document();
    if std::env::var_os("KEYWARD_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/order-fields.md is stale: run `KEYWARD_BLESS=1 cargo test --test order_fields_doc`"
    );
}
