//! The manifests' conventions: workspace lints, the solutions running the
//! exercise's own tests and harness, test-support programs in both.

use super::{ExerciseFiles, File};
use protocol::observe::{HARNESS_PATH, HARNESS_TARGET};
use toml_edit::{DocumentMut, TableLike};

/// A manifest's text parsed, or `None` when it is missing or not TOML (the
/// lints' group says so, once).
pub(super) fn parsed(file: &File) -> Option<DocumentMut> {
    file.text.as_deref()?.parse().ok()
}

/// Where a file that must exist does not, or is not TOML.
fn unreadable(file: &File, what_it_is: &str) -> Option<String> {
    match &file.text {
        None => Some(format!("{}: missing; it is {what_it_is}", file.path)),
        Some(text) => text.parse::<DocumentMut>().err().map(|e| {
            let first = e.to_string();
            let first = first.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            format!("{}: not valid TOML: {}", file.path, first.trim())
        }),
    }
}

/// The workspace sets `unsafe_code = "forbid"` for the members that ask.
pub(super) fn forbids_unsafe(workspace: &File) -> Option<String> {
    if let Some(problem) = unreadable(workspace, "the workspace's manifest") {
        return Some(problem);
    }
    let doc = parsed(workspace)?;
    let level = doc
        .get("workspace")
        .and_then(|w| w.get("lints"))
        .and_then(|l| l.get("rust"))
        .and_then(|r| r.get("unsafe_code"))
        .and_then(|u| {
            u.as_str()
                .or_else(|| u.get("level").and_then(|l| l.as_str()))
        });
    (level != Some("forbid")).then(|| {
        format!(
            "{}: `[workspace.lints.rust]` does not set `unsafe_code = \"forbid\"`; add it: \
             every exercise's and solution's `[lints] workspace = true` inherits it",
            workspace.path
        )
    })
}

/// Both manifests of the exercise take the workspace's lints.
pub(super) fn lints(ex: &ExerciseFiles) -> Vec<String> {
    let mut problems = Vec::new();
    let manifests = [
        (&ex.manifest, "the exercise's package"),
        (&ex.solution_manifest, "the reference solution's package"),
    ];
    for (file, what_it_is) in manifests {
        if let Some(problem) = unreadable(file, what_it_is) {
            problems.push(problem);
            continue;
        }
        let inherits = parsed(file)
            .and_then(|doc| doc.get("lints")?.get("workspace")?.as_bool())
            .unwrap_or(false);
        if !inherits {
            problems.push(format!(
                "{}: no `[lints] workspace = true`; add it: it is the only thing that makes \
                 the workspace's `unsafe_code = \"forbid\"` hold for this crate",
                file.path
            ));
        }
    }
    problems
}

/// One `[[bin]]`, `[[test]]` or `[[bench]]` of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Target {
    name: String,
    path: Option<String>,
    harness: Option<bool>,
    test: Option<bool>,
}

pub(super) fn targets(doc: &DocumentMut, kind: &str) -> Vec<Target> {
    let target = |table: &dyn TableLike| Target {
        name: table
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_owned(),
        path: table
            .get("path")
            .and_then(|p| p.as_str())
            .map(|p| p.trim_start_matches("./").to_owned()),
        harness: table.get("harness").and_then(|h| h.as_bool()),
        test: table.get("test").and_then(|t| t.as_bool()),
    };
    match doc.get(kind) {
        Some(toml_edit::Item::ArrayOfTables(tables)) => {
            tables.iter().map(|t| target(t as &dyn TableLike)).collect()
        }
        Some(item) => item
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_inline_table())
            .map(|t| target(t as &dyn TableLike))
            .collect(),
        None => Vec::new(),
    }
}

fn find<'a>(targets: &'a [Target], name: &str) -> Option<&'a Target> {
    targets.iter().find(|t| t.name == name)
}

/// The exercise declares its harness; the solution runs the exercise's
/// test file and harness, never copies of them.
pub(super) fn runs_the_exercise_files(ex: &ExerciseFiles) -> Vec<String> {
    let mut problems = Vec::new();
    let test_file = format!("tests/{}.rs", ex.id);
    if let Some(doc) = parsed(&ex.manifest) {
        let m = &ex.manifest.path;
        let benches = targets(&doc, "bench");
        match find(&benches, HARNESS_TARGET) {
            None => problems.push(format!(
                "{m}: no `[[bench]] name = \"{HARNESS_TARGET}\"`; add it with \
                 `harness = false`: the grader builds {HARNESS_PATH} as that target"
            )),
            Some(bench) => problems.extend(bench_problems(m, bench, HARNESS_PATH)),
        }
        if let Some(test) = find(&targets(&doc, "test"), &ex.id) {
            problems.extend(path_problem(m, "test", test, &test_file));
        }
    }
    if let Some(doc) = parsed(&ex.solution_manifest) {
        let m = &ex.solution_manifest.path;
        let tests_expected = format!("../../{}/{test_file}", ex.dir);
        match find(&targets(&doc, "test"), &ex.id) {
            None => problems.push(format!(
                "{m}: no `[[test]] name = \"{}\"`; add it with `path = \"{tests_expected}\"`, \
                 so the solution passes the exercise's own tests",
                ex.id
            )),
            Some(test) => problems.extend(path_problem(m, "test", test, &tests_expected)),
        }
        let harness_expected = format!("../../{}/{HARNESS_PATH}", ex.dir);
        match find(&targets(&doc, "bench"), HARNESS_TARGET) {
            None => problems.push(format!(
                "{m}: no `[[bench]] name = \"{HARNESS_TARGET}\"`; add it with \
                 `path = \"{harness_expected}\"` and `harness = false`, so the solution is \
                 measured by the exercise's own harness"
            )),
            Some(bench) => problems.extend(bench_problems(m, bench, &harness_expected)),
        }
    }
    problems
}

fn bench_problems(manifest: &str, bench: &Target, expected: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if bench.harness != Some(false) {
        problems.push(format!(
            "{manifest}: `[[bench]]` `{}` lacks `harness = false`; add it: the harness is a \
             program with its own main, not a libtest bench",
            bench.name
        ));
    }
    problems.extend(path_problem(manifest, "bench", bench, expected));
    problems
}

/// A target's path (or cargo's default, when it has none and `expected`
/// is the default) is `expected`.
fn path_problem(manifest: &str, kind: &str, target: &Target, expected: &str) -> Option<String> {
    let is_default = !expected.starts_with("../");
    match &target.path {
        Some(path) if path == expected => None,
        None if is_default => None,
        path => Some(format!(
            "{manifest}: `[[{kind}]]` `{}` runs {}; set `path = \"{expected}\"`: one copy of \
             every test and harness, the exercise's",
            target.name,
            path.as_deref()
                .map_or("cargo's default file".to_owned(), |p| format!("\"{p}\""))
        )),
    }
}

/// Programs the tests run (a `[[bin]]` outside `src/`, like ex03's
/// misbehaving worker) are declared in both manifests with `test = false`,
/// the solution's pointing at the exercise's file.
pub(super) fn support_programs(ex: &ExerciseFiles) -> Vec<String> {
    let (Some(exercise), Some(solution)) = (parsed(&ex.manifest), parsed(&ex.solution_manifest))
    else {
        return Vec::new();
    };
    let (m, sm) = (&ex.manifest.path, &ex.solution_manifest.path);
    let prefix = format!("../../{}/", ex.dir);
    let support = |path: &str| !path.starts_with("src/");
    let exercise_bins: Vec<Target> = targets(&exercise, "bin")
        .into_iter()
        .filter(|b| b.path.as_deref().is_some_and(support))
        .collect();
    let solution_bins = targets(&solution, "bin");
    let mut problems = Vec::new();
    for bin in &exercise_bins {
        let expected = format!("{prefix}{}", bin.path.as_deref().unwrap_or_default());
        problems.extend(test_false(m, bin));
        match find(&solution_bins, &bin.name) {
            None => problems.push(format!(
                "{sm}: no `[[bin]] name = \"{}\"`; add it with `path = \"{expected}\"` and \
                 `test = false`: the exercise's tests run it, so the solution's must find it",
                bin.name
            )),
            Some(theirs) => problems.extend(path_problem(sm, "bin", theirs, &expected)),
        }
    }
    for bin in &solution_bins {
        let Some(file) = bin.path.as_deref().and_then(|p| p.strip_prefix(&prefix)) else {
            continue;
        };
        if !support(file) {
            continue;
        }
        problems.extend(test_false(sm, bin));
        if find(&exercise_bins, &bin.name).is_none() {
            problems.push(format!(
                "{m}: no `[[bin]] name = \"{}\"`, which {sm} builds from the exercise's {file}; \
                 add it with `path = \"{file}\"` and `test = false`, so students' tests find it too",
                bin.name
            ));
        }
    }
    problems
}

fn test_false(manifest: &str, bin: &Target) -> Option<String> {
    (bin.test != Some(false)).then(|| {
        format!(
            "{manifest}: `[[bin]]` `{}` is a test-support program; add `test = false`, so \
             `cargo test` does not build it as a test of its own",
            bin.name
        )
    })
}
