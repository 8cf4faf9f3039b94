//! The module map's rules, checked on the source (DESIGN.md, "Module map"): only `src/proxy/`
//! and `src/main.rs` know the HTTP adapter; no file imports a file that imports it; no file's
//! non-test part grows past 600 lines, none in `src/proxy/` past 450.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → `["a", "b"]`; `src/lib.rs` and `src/main.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts == ["lib"] || parts == ["main"] {
        Vec::new()
    } else {
        parts
    }
}

/// The part of a file before its test module.
fn non_test(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

/// The `crate::…` and `super::…` paths a file's non-test code names.
fn paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = text;
        while let Some(i) = rest.find(start) {
            let before = rest[..i].chars().last();
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                out.push(tail[..end].trim_end_matches(':').to_owned());
            }
            rest = &tail[start.len()..];
        }
    }
    out
}

#[test]
fn the_module_map_holds() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut deps: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let code = non_test(&text);
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let test_only = file
            .file_stem()
            .is_some_and(|s| s == "tests" || s == "testing");
        let lines = if test_only { 0 } else { code.lines().count() };
        let cap = if rel.starts_with("proxy/") { 450 } else { 600 };
        if lines > cap {
            problems.push(format!("{rel}: {lines} non-test lines (at most {cap})"));
        }
        let here = module_of(&src, file);
        for path in paths(code) {
            let mut segs: Vec<&str> = path.split("::").collect();
            let mut base: Vec<String> = here.clone();
            if segs[0] == "crate" {
                base.clear();
                segs.remove(0);
            } else {
                while segs.first() == Some(&"super") {
                    base.pop();
                    segs.remove(0);
                }
            }
            let full: Vec<String> = base
                .into_iter()
                .chain(segs.iter().map(|s| s.to_string()))
                .collect();
            if full.first().is_some_and(|m| m == "proxy")
                && !rel.starts_with("proxy")
                && rel != "main.rs"
                && rel != "lib.rs"
            {
                problems.push(format!(
                    "{rel} names {path}: only src/proxy/ and main.rs may"
                ));
            }
            if let Some(target) = (1..=full.len()).rev().find_map(|n| modules.get(&full[..n])) {
                if target != file {
                    deps.entry(file.clone()).or_default().insert(target.clone());
                }
            }
        }
    }
    for (a, targets) in &deps {
        for b in targets {
            if a < b && deps.get(b).is_some_and(|t| t.contains(a)) {
                problems.push(format!(
                    "{} and {} import each other",
                    a.strip_prefix(&src).unwrap().display(),
                    b.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
