//! An exchange's `profile.toml` (and its `orders.toml`) read into its [`Profile`].
//!
//! ```toml
//! id = "bybit"
//! key_headers = ["x-bapi-api-key"]
//! permission_endpoint = "GET /v5/user/query-api"
//! answers_with_key = ["GET /v5/user/query-api"]      # optional
//! orders_unread = ["POST /api/v3/orderList/oco"]     # optional
//! notional = { price = "price", quantity = "qty" }   # and quote_quantity, if any
//!
//! [conventions]     # what differs from Conventions::COMMON
//! methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
//! canon = { like = "json", body_on_delete = true }  # CanonRules::JSON or ::FORM, updated
//! secret_form = "text_or_pem"                       # text, base64, text_or_pem, private_key
//! key_use = "secret_in_header"                      # or signs
//! needs_passphrase = true
//! persistent_nonce = true
//! error = { code = "retCode", message = "retMsg", numbers = [10003, 10005, 10006, 10001] }
//!
//! [public]          # PublicPaths: paths, prefixes, except
//! prefixes = ["/v5/market/"]
//!
//! [[deny]]          # one of prefix, tree, below, exact; a reason or a shared reason's name
//! prefix = "/v5/user/"
//! reason = "API-key management is never allowed"
//! except = ["/v5/user/query-api"]                   # and only = ["POST"]
//!
//! [[preset]]
//! name = "read"
//! entries = ["GET /v5/account/wallet-balance"]      # or joins = ["spot-trade", "futures-trade"],
//!                                                   # or methods = ["GET", "POST"] and paths
//! ```

use serde::Deserialize;

use super::{Conventions, KeyUse, Notional, Preset, PresetEntry, Profile, SecretForm};
use crate::exchange::deny::{self, DenyMatch, DenyRule};
use crate::exchange::native::{CodedError, Data};
use crate::exchange::PublicPaths;
use crate::order::table::{self, leak, leak_str, leak_strs, method_path, Rules};
use crate::request::{CanonRules, Method};

/// Reads a profile and its order tables.
pub fn load(profile: &str, orders: &str, rules: &Rules) -> Result<Profile, String> {
    let def: ProfileDef = toml::from_str(profile).map_err(|e| format!("profile.toml: {e}"))?;
    let endpoints = table::load(orders, rules).map_err(|e| format!("orders.toml: {e}"))?;
    let entries = |list: Vec<String>| -> Result<&'static [PresetEntry], String> {
        Ok(leak(
            list.iter()
                .map(|e| method_path(e))
                .collect::<Result<_, _>>()?,
        ))
    };
    let answers_with_key = entries(def.answers_with_key)?;
    Ok(Profile {
        index: super::Indexes::leak(endpoints.orders, endpoints.leverage, answers_with_key),
        id: leak_str(def.id),
        key_headers: leak_strs(def.key_headers),
        notional: Notional {
            price: leak_str(def.notional.price),
            quantity: leak_str(def.notional.quantity),
            quote_quantity: def.notional.quote_quantity.map(leak_str),
        },
        deny: leak(
            def.deny
                .into_iter()
                .map(deny_rule)
                .collect::<Result<_, _>>()?,
        ),
        presets: presets(def.preset)?,
        permission_endpoint: method_path(&def.permission_endpoint)?,
        orders: endpoints.orders,
        leverage: endpoints.leverage,
        answers_with_key,
        orders_unread: entries(def.orders_unread)?,
        public: PublicPaths::new(
            leak_strs(def.public.paths),
            leak_strs(def.public.prefixes),
            leak_strs(def.public.except),
        ),
        conventions: conventions(def.conventions)?,
        weights: super::weights::load(def.weight_tiers, def.weights)?,
        demo: def.demo.map(|d| d.load()).transpose()?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileDef {
    id: String,
    key_headers: Vec<String>,
    permission_endpoint: String,
    #[serde(default)]
    answers_with_key: Vec<String>,
    #[serde(default)]
    orders_unread: Vec<String>,
    notional: NotionalDef,
    #[serde(default)]
    conventions: ConventionsDef,
    #[serde(default)]
    public: PublicDef,
    #[serde(default)]
    deny: Vec<DenyDef>,
    preset: Vec<PresetDef>,
    #[serde(default)]
    weight_tiers: Vec<String>,
    #[serde(default)]
    weights: Vec<super::weights::BudgetDef>,
    demo: Option<super::super::environment::DemoDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotionalDef {
    price: String,
    quantity: String,
    quote_quantity: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConventionsDef {
    methods: Option<Vec<String>>,
    canon: Option<CanonDef>,
    secret_form: Option<SecretForm>,
    key_use: Option<KeyUse>,
    needs_passphrase: Option<bool>,
    persistent_nonce: Option<bool>,
    limits_by_ip: Option<bool>,
    error: Option<ErrorDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CanonDef {
    like: String,
    form_body: Option<bool>,
    json_body: Option<bool>,
    body_on_delete: Option<bool>,
    query_with_body: Option<bool>,
    patch_mirrors_query: Option<bool>,
    bot_signing_params: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorDef {
    code: String,
    message: String,
    numbers: Option<[i64; 4]>,
    strings: Option<[String; 4]>,
    data: Option<Data>,
    #[serde(default)]
    in_200: bool,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicDef {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DenyDef {
    prefix: Option<String>,
    tree: Option<String>,
    below: Option<String>,
    exact: Option<String>,
    reason: Option<String>,
    because: Option<String>,
    only: Option<Vec<String>>,
    #[serde(default)]
    except: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetDef {
    name: String,
    entries: Option<Vec<String>>,
    joins: Option<Vec<String>>,
    /// Every one of `paths` by each of these methods, path by path.
    methods: Option<Vec<String>>,
    paths: Option<Vec<String>>,
}

fn methods(names: &[String]) -> Result<Vec<Method>, String> {
    names
        .iter()
        .map(|m| Method::parse(m).ok_or_else(|| format!("unknown method '{m}'")))
        .collect()
}

fn conventions(def: ConventionsDef) -> Result<Conventions, String> {
    let common = Conventions::COMMON;
    Ok(Conventions {
        methods: match def.methods {
            Some(names) => leak(methods(&names)?),
            None => common.methods,
        },
        canon: match def.canon {
            Some(c) => canon(c)?,
            None => common.canon,
        },
        secret_form: def.secret_form.unwrap_or(common.secret_form),
        key_use: def.key_use.unwrap_or(common.key_use),
        needs_passphrase: def.needs_passphrase.unwrap_or(common.needs_passphrase),
        persistent_nonce: def.persistent_nonce.unwrap_or(common.persistent_nonce),
        limits_by_ip: def.limits_by_ip.unwrap_or(common.limits_by_ip),
        error: def.error.map(coded_error).transpose()?,
    })
}

fn canon(def: CanonDef) -> Result<CanonRules, String> {
    let base = match def.like.as_str() {
        "json" => CanonRules::JSON,
        "form" => CanonRules::FORM,
        other => {
            return Err(format!(
                "canon: like = \"{other}\" is neither json nor form"
            ))
        }
    };
    Ok(CanonRules {
        form_body: def.form_body.unwrap_or(base.form_body),
        json_body: def.json_body.unwrap_or(base.json_body),
        body_on_delete: def.body_on_delete.unwrap_or(base.body_on_delete),
        query_with_body: def.query_with_body.unwrap_or(base.query_with_body),
        patch_mirrors_query: def.patch_mirrors_query.unwrap_or(base.patch_mirrors_query),
        bot_signing_params: match def.bot_signing_params {
            Some(p) => leak_strs(p),
            None => base.bot_signing_params,
        },
    })
}

fn coded_error(def: ErrorDef) -> Result<CodedError, String> {
    let (code, message) = (leak_str(def.code), leak_str(def.message));
    let shape = match (def.numbers, def.strings) {
        (Some(n), None) => CodedError::numbers(code, message, n),
        (None, Some(s)) => CodedError::strings(code, message, s.map(leak_str)),
        _ => return Err("error: give exactly one of 'numbers' and 'strings'".into()),
    };
    let shape = match def.data {
        Some(data) => shape.with_data(data),
        None => shape,
    };
    Ok(if def.in_200 { shape.in_200() } else { shape })
}

fn deny_rule(def: DenyDef) -> Result<DenyRule, String> {
    let paths = [
        (DenyMatch::Prefix, def.prefix),
        (DenyMatch::Tree, def.tree),
        (DenyMatch::Below, def.below),
        (DenyMatch::Path, def.exact),
    ];
    let mut given = paths.into_iter().filter_map(|(m, p)| p.map(|p| (m, p)));
    let (Some((matching, path)), None) = (given.next(), given.next()) else {
        return Err("a deny rule has exactly one of prefix, tree, below and exact".into());
    };
    let reason = match (def.reason, def.because) {
        (Some(text), None) => leak_str(text),
        (None, Some(name)) => deny::shared_reason(&name)
            .ok_or_else(|| format!("deny {path}: no shared reason '{name}'"))?,
        _ => {
            return Err(format!(
                "deny {path}: give exactly one of 'reason' and 'because'"
            ))
        }
    };
    Ok(DenyRule {
        methods: def.only.as_deref().map(methods).transpose()?.map(leak),
        path: leak_str(path),
        matching,
        reason,
        except: leak_strs(def.except),
    })
}

fn presets(defs: Vec<PresetDef>) -> Result<&'static [Preset], String> {
    let mut presets: Vec<Preset> = Vec::new();
    for def in defs {
        let entries: Vec<PresetEntry> = match (def.entries, def.joins, def.methods, def.paths) {
            (Some(list), None, None, None) => list
                .iter()
                .map(|e| method_path(e))
                .collect::<Result<_, _>>()?,
            (None, None, Some(ms), Some(paths)) => {
                // Read only to spell the entries: not leaked (LeakSanitizer found it was).
                let ms = methods(&ms)?;
                paths
                    .iter()
                    .flat_map(|p| ms.iter().map(move |m| format!("{m} {p}")))
                    .map(|e| method_path(&e))
                    .collect::<Result<_, _>>()?
            }
            (None, Some(names), None, None) => names
                .iter()
                .map(|n| {
                    let p = presets.iter().find(|p| p.name == n);
                    p.map(|p| p.entries).ok_or_else(|| {
                        format!("preset {}: joins '{n}', not listed before it", def.name)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
                .concat(),
            _ => {
                return Err(format!(
                    "preset {}: give 'entries', 'joins', or 'methods' and 'paths'",
                    def.name
                ))
            }
        };
        if presets.iter().any(|p| p.name == def.name) {
            return Err(format!("preset {} is listed twice", def.name));
        }
        presets.push(Preset {
            name: leak_str(def.name),
            entries: leak(entries),
        });
    }
    Ok(leak(presets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::deny::{DenyMatch, WITHDRAWALS};

    const ORDERS: &str = "endpoints = []\n[fields]\n[spec]\n";

    /// A profile with `top` among its top-level keys and `tables` after its `read` preset.
    fn profile_with(top: &str, tables: &str) -> Result<Profile, String> {
        let text = format!(
            "id = \"x\"\nkey_headers = [\"x-key\"]\npermission_endpoint = \"GET /me\"\n\
             notional = {{ price = \"px\", quantity = \"qty\" }}\n{top}\n\
             [[preset]]\nname = \"read\"\nentries = [\"GET /me\", \"POST /a/{{id}}\"]\n{tables}"
        );
        load(&text, ORDERS, &Rules::NONE)
    }

    fn profile(tables: &str) -> Result<Profile, String> {
        profile_with("", tables)
    }

    fn error(rest: &str) -> String {
        profile(rest).unwrap_err()
    }

    #[test]
    fn what_a_profile_does_not_say_is_common() {
        let p = profile("").unwrap();
        assert_eq!((p.id, p.key_headers), ("x", &["x-key"][..]));
        assert_eq!(p.permission_endpoint, (Method::Get, "/me"));
        assert_eq!(
            p.preset("read"),
            Some(&[(Method::Get, "/me"), (Method::Post, "/a/{id}")][..])
        );
        assert_eq!(
            format!("{:?}", p.conventions),
            format!("{:?}", Conventions::COMMON)
        );
        assert!(p.deny.is_empty() && p.orders.is_empty() && p.public.paths.is_empty());
    }

    #[test]
    fn conventions_deny_rules_and_presets_are_read() {
        let p = profile_with(
            "answers_with_key = [\"GET /me\"]",
            "[conventions]\nmethods = [\"GET\", \"PATCH\"]\n\
             canon = { like = \"form\", body_on_delete = true, bot_signing_params = [\"sig\"] }\n\
             secret_form = \"base64\"\nkey_use = \"secret_in_header\"\npersistent_nonce = true\n\
             error = { code = \"c\", message = \"m\", strings = [\"1\", \"2\", \"3\", \"4\"], data = \"null\" }\n\
             [public]\nprefixes = [\"/pub/\"]\nexcept = [\"/pub/me\"]\n\
             [[deny]]\nprefix = \"/w/\"\nbecause = \"withdrawals\"\nonly = [\"POST\"]\n\
             [[deny]]\nexact = \"/k/{id}\"\nreason = \"keys\"\nexcept = [\"/k/mine\"]\n\
             [[preset]]\nname = \"both\"\nmethods = [\"GET\", \"POST\"]\npaths = [\"/a\", \"/b\"]\n\
             [[preset]]\nname = \"all\"\njoins = [\"read\", \"both\"]",
        )
        .unwrap();
        let c = p.conventions;
        assert_eq!(c.methods, [Method::Get, Method::Patch]);
        assert!(c.canon.form_body && c.canon.body_on_delete && !c.canon.json_body);
        assert_eq!(c.canon.bot_signing_params, ["sig"]);
        assert_eq!(
            (c.secret_form, c.key_use, c.persistent_nonce),
            (SecretForm::Base64, KeyUse::SecretInHeader, true)
        );
        assert_eq!(
            c.error,
            Some(CodedError::strings("c", "m", ["1", "2", "3", "4"]).with_data(Data::Null))
        );
        assert!(p.answers_with_key(Method::Get, "/me"));
        assert!(p.public.contains("/pub/x") && !p.public.contains("/pub/me"));
        assert_eq!(
            (p.deny[0].matching, p.deny[0].reason, p.deny[0].methods),
            (DenyMatch::Prefix, WITHDRAWALS, Some(&[Method::Post][..]))
        );
        assert!(
            p.deny[1].matches(Method::Get, "/k/1") && !p.deny[1].matches(Method::Get, "/k/mine")
        );
        let both = [
            (Method::Get, "/a"),
            (Method::Post, "/a"),
            (Method::Get, "/b"),
            (Method::Post, "/b"),
        ];
        assert_eq!(p.preset("both"), Some(&both[..]));
        assert_eq!(p.preset("all").unwrap().len(), 2 + both.len());
        assert_eq!(
            p.preset_names().iter().collect::<Vec<_>>(),
            ["read", "both", "all"]
        );
    }

    #[test]
    fn what_cannot_be_placed_is_refused() {
        for (rest, says) in [
            (
                "[[deny]]\nprefix = \"/a\"\ntree = \"/b\"\nreason = \"r\"",
                "exactly one of prefix",
            ),
            (
                "[[deny]]\nprefix = \"/a\"\nreason = \"r\"\nbecause = \"transfers\"",
                "exactly one of 'reason'",
            ),
            (
                "[[deny]]\nprefix = \"/a\"\nbecause = \"fun\"",
                "no shared reason 'fun'",
            ),
            (
                "[[deny]]\nprefix = \"/a\"\nreason = \"r\"\nonly = [\"get\"]",
                "unknown method 'get'",
            ),
            (
                "[[preset]]\nname = \"t\"\njoins = [\"later\"]",
                "not listed before it",
            ),
            ("[[preset]]\nname = \"read\"\nentries = []", "listed twice"),
            (
                "[[preset]]\nname = \"t\"\nentries = [\"GET /a\"]\njoins = [\"read\"]",
                "give 'entries'",
            ),
            (
                "[conventions]\ncanon = { like = \"xml\" }",
                "neither json nor form",
            ),
            (
                "[conventions]\nerror = { code = \"c\", message = \"m\" }",
                "exactly one of 'numbers'",
            ),
            (
                "[conventions]\nsecret_form = \"hex\"",
                "unknown variant `hex`",
            ),
        ] {
            let e = error(rest);
            assert!(e.contains(says), "{rest}: {e}");
        }
        let e = profile_with("colour = \"red\"", "").unwrap_err();
        assert!(e.contains("unknown field `colour`"), "{e}");
        let bad_orders = load(
            "id = \"x\"\nkey_headers = []\npermission_endpoint = \"GET /me\"\nnotional = { price = \"p\", quantity = \"q\" }\n[[preset]]\nname = \"read\"\nentries = []",
            "endpoints = [{ endpoint = \"POST /o\", spec = \"none\" }]\n[fields]\n[spec]\n",
            &Rules::NONE,
        )
        .unwrap_err();
        assert!(
            bad_orders.starts_with("orders.toml: POST /o: no spec 'none'"),
            "{bad_orders}"
        );
    }

    #[test]
    #[should_panic(expected = "the shipped profile of y names another exchange")]
    fn a_shipped_profile_is_the_exchange_it_is_shipped_as() {
        let text = "id = \"x\"\nkey_headers = []\npermission_endpoint = \"GET /me\"\nnotional = { price = \"p\", quantity = \"q\" }\n[[preset]]\nname = \"read\"\nentries = []";
        Profile::shipped("y", text, ORDERS, &Rules::NONE);
    }
}
