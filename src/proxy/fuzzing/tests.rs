//! The fuzz targets' seed corpus, replayed as unit tests: every seed keeps every property, and
//! the corpus reaches each stage (refusals, denials, signed requests) on every profile.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn every_allowlist_compiles_with_limits() {
    for e in exchange::registry() {
        let a = allowlist(*e);
        assert!(
            a.rules.iter().any(|r| r.is_constrained()),
            "{}: the fuzzed allowlist has no rule with limits",
            e.id()
        );
    }
}

#[test]
fn policy_seeds_keep_the_properties_and_reach_every_stage() {
    let mut signed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut verdicts = Vec::new();
    for (name, data) in corpus("policy") {
        let verdict = policy(&data);
        let ex = Input::parse(&data).map(|i| i.exchange.id()).unwrap_or("?");
        if let Verdict::Signed(_) = verdict {
            *signed.entry(ex).or_default() += 1;
        }
        verdicts.push((name, ex, verdict));
    }
    for e in exchange::registry() {
        assert!(
            signed.get(e.id()).copied().unwrap_or(0) > 0,
            "{}: no seed is signed; verdicts: {verdicts:#?}",
            e.id()
        );
    }
    assert!(verdicts
        .iter()
        .any(|(_, _, v)| matches!(v, Verdict::Denied("hard_deny"))));
    assert!(verdicts
        .iter()
        .any(|(_, _, v)| matches!(v, Verdict::Denied("constraint"))));
    assert!(verdicts
        .iter()
        .any(|(_, _, v)| matches!(v, Verdict::Refused(_))));
}

#[test]
fn canonicaliser_seeds_keep_the_properties() {
    for (_, data) in corpus("canonicaliser") {
        canonicaliser(&data);
    }
}

#[test]
fn unparseable_inputs_are_skipped() {
    for data in [
        &b""[..],
        b"binance",
        b"binance\nGET\n",
        b"binance\nG\x00T / \n\n",
    ] {
        assert_eq!(policy(data), Verdict::Skipped);
        assert_eq!(canonicaliser(data), Verdict::Skipped);
    }
}
