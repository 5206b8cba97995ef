//! The grader's layers point only down (ARCHITECTURE.md, "Layers"): each
//! top-level module of `src/` may use only the modules listed below it, so
//! there is no import cycle and a newcomer knows where a change goes. Test
//! code (`#[cfg(test)]`) may use anything.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// From the bottom up: a module may use only those before it.
const LAYERS: &[&str] = &[
    "text",
    "model",
    "course",
    "sandbox",
    "workspace",
    "runner",
    "judge",
    "report",
    "grade",
    "release",
    "cli",
    "commands",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules declared as `#[cfg(test)] mod name;`: files of test code.
fn test_only_files(files: &[PathBuf]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in files {
        let text = fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.windows(2) {
            if pair[0].trim() == "#[cfg(test)]" {
                let decl = pair[1].trim().trim_start_matches("pub(crate) ");
                if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(';')) {
                    names.insert(format!("{name}.rs"));
                }
            }
        }
    }
    names
}

/// The top-level modules a file's non-test code names as `crate::X`.
fn crate_uses(text: &str) -> BTreeSet<String> {
    let code = text
        .split("\n#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let test_only = test_only_files(&files);
    let mut upward = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let layer = relative.components().next().unwrap().as_os_str();
        let layer = layer.to_str().unwrap().trim_end_matches(".rs");
        let name = relative.file_name().unwrap().to_str().unwrap();
        if matches!(layer, "lib" | "main") || test_only.contains(name) {
            continue;
        }
        let rank = LAYERS.iter().position(|l| *l == layer);
        let rank = rank.unwrap_or_else(|| panic!("{layer} is in no layer: add it to LAYERS"));
        for used in crate_uses(&fs::read_to_string(file).unwrap()) {
            let used_rank = LAYERS.iter().position(|l| *l == used);
            if used != layer && used_rank.is_none_or(|r| r > rank) {
                upward.push(format!("{} uses crate::{used}", relative.display()));
            }
        }
    }
    assert!(upward.is_empty(), "uses that point up: {upward:#?}");
}

#[test]
fn an_upward_use_is_seen() {
    let uses = crate_uses("use crate::grade::Options;\nfn f() { crate::text::short(1.0); }\n#[cfg(test)]\nmod tests {\n    use crate::commands;\n}");
    assert_eq!(uses, BTreeSet::from(["grade".into(), "text".into()]));
}
