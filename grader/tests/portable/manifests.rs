//! Crates that build only on Unix-like systems are dependencies only
//! there: under `[target.'cfg(unix)'.dependencies]` (or a narrower cfg).

use super::cfg::cfg_text_gates;
use toml_edit::{DocumentMut, Item};

/// Crates whose build fails on Windows.
const UNIX_CRATES: &[&str] = &["nix", "libc", "landlock"];
const DEPENDENCY_TABLES: &[&str] = &[
    "dependencies",
    "dev-dependencies",
    "build-dependencies",
    "dev_dependencies",
    "build_dependencies",
];

/// Each Unix-only crate that `manifest` depends on everywhere, as
/// `line: what` (`[workspace.dependencies]` only declares versions).
pub fn ungated(manifest: &str) -> Vec<String> {
    let document: DocumentMut = manifest.parse().expect("a valid manifest");
    let mut found = Vec::new();
    for kind in DEPENDENCY_TABLES {
        for name in unix_crates(document.get(kind)) {
            found.push(located(manifest, kind, &name, "every platform"));
        }
    }
    let targets = document.get("target").and_then(Item::as_table_like);
    for (cfg, target) in targets.into_iter().flat_map(|t| t.iter()) {
        if cfg_text_gates(cfg) {
            continue;
        }
        for kind in DEPENDENCY_TABLES {
            for name in unix_crates(target.get(kind)) {
                let header = format!("target.'{cfg}'.{kind}");
                found.push(located(manifest, &header, &name, cfg));
            }
        }
    }
    found
}

/// The Unix-only crates of one dependency table (by their package name).
fn unix_crates(table: Option<&Item>) -> Vec<String> {
    let Some(table) = table.and_then(Item::as_table_like) else {
        return Vec::new();
    };
    table
        .iter()
        .filter(|(key, value)| {
            let package = value.get("package").and_then(|p| p.as_str()).unwrap_or(key);
            UNIX_CRATES.contains(&package)
        })
        .map(|(key, _)| key.to_owned())
        .collect()
}

/// `line: <name> in [<table>] is built on <where>`, the line found by
/// reading the text from the table's header on.
fn located(manifest: &str, table: &str, name: &str, on: &str) -> String {
    let mut in_table = false;
    let mut line = 0;
    for (number, text) in manifest.lines().enumerate() {
        let text = text.trim();
        if text.starts_with('[') {
            let header = text
                .trim_matches(|c| c == '[' || c == ']')
                .replace('"', "'");
            in_table = header == table || header == format!("{table}.{name}");
            if in_table && header != table {
                line = number + 1;
                break;
            }
        } else if in_table && text.starts_with(name) {
            let rest = &text[name.len()..];
            if rest.trim_start().starts_with(['=', '.']) {
                line = number + 1;
                break;
            }
        }
    }
    format!(
        "{line}: `{name}` in [{table}] is built on {on}: move it under [target.'cfg(unix)'.{}]",
        table.rsplit('.').next().unwrap_or(table)
    )
}

#[cfg(test)]
mod tests {
    use super::ungated;

    #[test]
    fn a_unix_crate_everywhere_is_named() {
        let manifest =
            "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\nnix.workspace = true\n";
        assert_eq!(
            ungated(manifest),
            ["6: `nix` in [dependencies] is built on every platform: move it under [target.'cfg(unix)'.dependencies]"]
        );
        let renamed = "[dev-dependencies]\nc = { package = \"libc\", version = \"0.2\" }\n";
        assert_eq!(ungated(renamed).len(), 1);
        let table = "[dependencies.landlock]\nversion = \"0.4\"\n";
        assert!(
            ungated(table)[0].starts_with("1: `landlock`"),
            "{:?}",
            ungated(table)
        );
    }

    #[test]
    fn a_target_table_must_be_unix_only() {
        let unix = "[target.'cfg(unix)'.dependencies]\nnix = \"0.29\"\n\
                    [target.'cfg(target_os = \"linux\")'.dependencies]\nlandlock = \"0.4\"\n\
                    [workspace.dependencies]\nlibc = \"0.2\"\n";
        assert_eq!(ungated(unix), Vec::<String>::new());
        let anywhere = "[target.'cfg(not(windows))'.dependencies]\nlibc = \"0.2\"\n";
        assert_eq!(
            ungated(anywhere),
            ["2: `libc` in [target.'cfg(not(windows))'.dependencies] is built on cfg(not(windows)): move it under [target.'cfg(unix)'.dependencies]"]
        );
    }
}
