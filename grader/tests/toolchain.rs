//! Toolchain truth: each workspace's `rust-version` (the course's and the
//! reference solutions') is at least the `rust-version` of every locked
//! crate, as `cargo metadata --locked` lists them, so that the toolchain it
//! names builds the course; and Gradescope's setup.sh and GitHub
//! Classroom's workflow install exactly that toolchain.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

mod support;
use support::repo_root;

/// `1.85.0` or `1.91` as (major, minor, patch).
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|_| panic!("not a version: {text}"))
    });
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// The workspace's `rust-version` in the manifest at `path`.
fn declared(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let manifest: toml_edit::DocumentMut = text.parse().unwrap();
    manifest["workspace"]["package"]["rust-version"]
        .as_str()
        .unwrap_or_else(|| panic!("{} declares no workspace rust-version", path.display()))
        .to_owned()
}

/// Every locked package that needs a newer toolchain than `declared`:
/// `name version (rust-version X)`.
fn newer_than(manifest: &Path, declared: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(manifest)
        .assert()
        .success();
    let metadata: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    assert!(packages.len() > 10, "{} packages", packages.len());
    packages
        .iter()
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (version(needs) > version(declared)).then(|| {
                format!(
                    "{} {} (rust-version {needs})",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or("?")
                )
            })
        })
        .collect()
}

#[test]
fn rust_version_is_at_least_what_every_locked_crate_needs() {
    for manifest in ["Cargo.toml", "solutions/Cargo.toml"] {
        let path = repo_root().join(manifest);
        let declared = declared(&path);
        assert_eq!(
            newer_than(&path, &declared),
            Vec::<String>::new(),
            "{manifest} declares rust-version {declared}, but these locked crates need newer"
        );
    }
    // One toolchain for the course and its reference solutions.
    assert_eq!(
        declared(&repo_root().join("Cargo.toml")),
        declared(&repo_root().join("solutions/Cargo.toml"))
    );
}

#[test]
fn setup_sh_and_the_classroom_workflow_install_cargo_tomls_toolchain() {
    let toolchain = declared(&repo_root().join("Cargo.toml"));
    let dir = tempfile::tempdir().unwrap();
    let grader = || {
        let mut cmd = Command::cargo_bin("grader").unwrap();
        cmd.current_dir(repo_root());
        cmd
    };

    let zip_path = dir.path().join("autograder.zip");
    grader()
        .args(["gradescope", "--out"])
        .arg(&zip_path)
        .assert()
        .success();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut setup = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("setup.sh").unwrap(), &mut setup).unwrap();
    assert!(
        setup.contains(&format!("\nTOOLCHAIN=\"{toolchain}\"\n")),
        "setup.sh installs another toolchain than Cargo.toml's {toolchain}"
    );
    assert!(setup.contains("rustup toolchain install \"$TOOLCHAIN\""));

    let release = dir.path().join("release");
    grader()
        .args(["release", "--out"])
        .arg(&release)
        .assert()
        .success();
    let text = std::fs::read_to_string(release.join(".github/workflows/classroom.yml")).unwrap();
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let job = &workflow["jobs"]["run-autograding-tests"];
    assert_eq!(job["env"]["RUSTUP_TOOLCHAIN"], toolchain.as_str());
    let installs = job["steps"].as_sequence().unwrap().iter().any(|s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("rustup toolchain install \"$RUSTUP_TOOLCHAIN\""))
    });
    assert!(installs, "the workflow installs the toolchain: {text}");
}
