//! The module picture in README ("How it works") holds in the code: data
//! flows one way, and no module of the library imports one above it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom to top, as README draws them. A module may use the ones before it.
const LAYERS: [&str; 15] = [
    "ledger",
    "checker",
    "scenario",
    "proxy",
    "cluster",
    "workers",
    "progress",
    "nemesis",
    "runner",
    "judge",
    "report",
    "session",
    "sweep",
    "explore",
    "worker_check",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a source text names through `crate::`, including
/// grouped imports such as `use crate::{ledger, scenario::Key}`.
fn uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find('}').unwrap_or(group.len())];
            // Only the first segment of each item names a module.
            for item in body.split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                found.insert(name);
            }
        } else {
            found.insert(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

#[test]
fn no_module_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let layer = LAYERS.iter().position(|l| *l == top).unwrap_or_else(|| {
            panic!("module `{top}` ({}) is not in README's picture: add it there and to LAYERS", rel.display())
        });
        seen.insert(top.clone());
        for used in uses(&std::fs::read_to_string(&file).unwrap()) {
            match LAYERS.iter().position(|l| *l == used) {
                Some(u) if u > layer => wrong.push(format!("{} uses crate::{used}", rel.display())),
                Some(_) => {}
                None => panic!("{} uses crate::{used}, which is not a module of the picture", rel.display()),
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the flow:\n{}", wrong.join("\n"));
    assert_eq!(seen.len(), LAYERS.len(), "every layer is a module: {seen:?}");
}

#[test]
fn the_import_reader_sees_grouped_and_plain_paths() {
    let found = uses("use crate::{ledger::Event, scenario};\nfn f() { crate::judge::value(); }");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["judge", "ledger", "scenario"]);
}
