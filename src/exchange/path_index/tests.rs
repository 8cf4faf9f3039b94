use std::sync::LazyLock;

use proptest::prelude::*;

use super::PathIndex;
use crate::exchange::{path_matches, registry, PresetEntry, Profile};
use crate::order::OrderEndpoint;
use crate::request::Method;

/// What the profile's lookups were before the index: a scan of the table in order.
fn scan<T>(
    table: &[T],
    method: Method,
    path: &str,
    entry: impl Fn(&T) -> PresetEntry,
) -> Option<usize> {
    table.iter().position(|e| {
        let (m, p) = entry(e);
        m == method && path_matches(p, path)
    })
}

fn order(e: &OrderEndpoint) -> PresetEntry {
    (e.method, e.path)
}

fn position<T>(table: &[T], found: Option<&T>) -> Option<usize> {
    found.map(|f| {
        table
            .iter()
            .position(|e| std::ptr::eq(e, f))
            .expect("the lookup returns an entry of the table")
    })
}

/// Every lookup that uses an index answers `method path` as the scan of its table did.
fn same_as_scan(profile: &Profile, method: Method, path: &str) {
    let public = &profile.public;
    let scanned_public = (public.prefixes.iter().any(|p| path.starts_with(p))
        || public.paths.iter().any(|p| path_matches(p, path)))
        && !public.except.contains(&path);
    assert_eq!(
        public.contains(path),
        scanned_public,
        "{} public {path}",
        profile.id
    );
    assert_eq!(
        position(profile.orders, profile.order_endpoint(method, path)),
        scan(profile.orders, method, path, order),
        "{} orders {method:?} {path}",
        profile.id
    );
    assert_eq!(
        position(profile.leverage, profile.leverage_endpoint(method, path)),
        scan(profile.leverage, method, path, order),
        "{} leverage {method:?} {path}",
        profile.id
    );
    assert_eq!(
        profile.answers_with_key(method, path),
        scan(profile.answers_with_key, method, path, |e| *e).is_some(),
        "{} answers_with_key {method:?} {path}",
        profile.id
    );
}

type Entry = (&'static Profile, Method, &'static str);

/// Every pattern of every table of every shipped profile, with the profile and a method.
fn patterns() -> &'static [Entry] {
    static ALL: LazyLock<Vec<Entry>> = LazyLock::new(collect);
    &ALL
}

fn collect() -> Vec<Entry> {
    let mut all = Vec::new();
    for exchange in registry() {
        let p = exchange.profile();
        let tables = p.orders.iter().chain(p.leverage).map(order);
        let entries = tables.chain(p.answers_with_key.iter().copied());
        all.extend(entries.map(|(m, path)| (p, m, path)));
        all.extend(p.public.paths.iter().map(|path| (p, Method::Get, *path)));
        all.extend(p.public.prefixes.iter().map(|path| (p, Method::Get, *path)));
        all.extend(p.public.except.iter().map(|path| (p, Method::Get, *path)));
    }
    all
}

#[test]
fn every_profile_entry_is_found_as_the_scan_finds_it() {
    for &(profile, method, path) in patterns() {
        for m in Method::ALL {
            same_as_scan(profile, *m, path);
        }
        same_as_scan(profile, method, &path.replace('{', "x").replace('}', ""));
        same_as_scan(profile, method, &path.to_ascii_uppercase());
    }
}

/// A segment a wildcard may or may not fill (empty, with `:`, a literal `{x}` ...).
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{1,8}",
        Just(String::new()),
        "[a-z0-9]{0,3}:[a-z]{0,3}",
        Just("{id}".to_owned()),
        Just("order".to_owned()),
        Just("v1".to_owned()),
    ]
}

/// A path derived from one of the profiles' patterns: its wildcards filled (or not), a segment
/// changed, added or dropped, its letter case changed; or a path of random segments.
fn derived() -> impl Strategy<Value = (usize, Method, String)> {
    let n = patterns().len();
    (
        0..n,
        prop::sample::select(Method::ALL.to_vec()),
        prop::collection::vec(segment(), 0..6),
        0..6usize,
        0..8u8,
    )
        .prop_map(|(i, method, fill, at, how)| {
            let (_, _, pattern) = patterns()[i];
            let mut fill = fill.into_iter();
            let mut segs: Vec<String> = pattern
                .split('/')
                .map(|s| match s.starts_with('{') && how % 2 == 0 {
                    true => fill.next().unwrap_or_else(|| "42".to_owned()),
                    false => s.to_owned(),
                })
                .collect();
            let at = at.min(segs.len() - 1);
            match how {
                1 => segs[at] = fill.next().unwrap_or_default(),
                3 => segs.insert(at, fill.next().unwrap_or_default()),
                5 if segs.len() > 1 => {
                    segs.remove(at);
                }
                7 => segs[at] = segs[at].to_ascii_uppercase(),
                _ => {}
            }
            let path = match how {
                6 => format!("/{}", fill.collect::<Vec<_>>().join("/")),
                _ => segs.join("/"),
            };
            (i, method, path)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn the_index_finds_what_a_scan_finds((i, method, path) in derived()) {
        let (profile, _, _) = patterns()[i];
        same_as_scan(profile, method, &path);
        // And against every other profile's tables too.
        for exchange in registry() {
            same_as_scan(exchange.profile(), method, &path);
        }
    }

    #[test]
    fn candidates_hold_every_match_in_table_order(
        table in prop::collection::vec(prop::collection::vec(segment(), 0..4), 0..12),
        path in prop::collection::vec(segment(), 0..4),
    ) {
        let table: Vec<String> = table.iter().map(|s| format!("/{}", s.join("/"))).collect();
        let path = format!("/{}", path.join("/"));
        let index = PathIndex::new(table.iter().map(String::as_str));
        let candidates: Vec<usize> = index.candidates(&path).collect();
        let matching: Vec<usize> = (0..table.len()).filter(|i| path_matches(&table[*i], &path)).collect();
        prop_assert!(candidates.windows(2).all(|w| w[0] < w[1]), "{candidates:?}");
        prop_assert!(matching.iter().all(|i| candidates.contains(i)), "{matching:?} {candidates:?}");
        prop_assert_eq!(
            index.first(&path, |i| path_matches(&table[*i], &path)),
            matching.first().copied()
        );
    }
}
