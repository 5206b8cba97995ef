//! The toolchain and cargo home the build user runs, shared where root's are out of
//! its reach.

use super::*;
use crate::sandbox;
use anyhow::{bail, Context};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The toolchain the build user runs: root's own where other users can
/// reach it, else a copy made of hard links (no space, the files keep
/// root as owner and their modes) under `<course>/target/grader-box`.
pub(super) fn build_tools(course_root: &Path) -> anyhow::Result<BuildTools> {
    let sysroot = sysroot(course_root)?;
    let share = course_root.join("target").join("grader-box");
    let toolchain = if closed_ancestor(&sysroot.join("bin").join("cargo")).is_none() {
        sysroot
    } else {
        share_toolchain(&sysroot, &share.join("toolchain"))?
    };
    let cargo_home = cargo_home().context("cannot find cargo's home (CARGO_HOME, HOME)")?;
    let cargo_home = if closed_ancestor(&cargo_home.join("registry")).is_none() {
        cargo_home
    } else {
        share_cargo_home(&cargo_home, &share.join("cargo-home"))?
    };
    let bin = toolchain.join("bin");
    Ok(BuildTools {
        cargo: bin.join("cargo"),
        bin,
        readable: vec![toolchain, cargo_home.clone()],
        cargo_home,
    })
}

/// The toolchain the grader's cargo uses, for this course (a
/// rust-toolchain.toml there counts): `$CARGO`'s, else `rustc`'s on PATH.
pub(super) fn sysroot(course_root: &Path) -> anyhow::Result<PathBuf> {
    let from_cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|cargo| Some(cargo.parent()?.parent()?.to_path_buf()))
        .filter(|root| root.join("bin").join("rustc").is_file());
    if let Some(root) = from_cargo {
        return Ok(root);
    }
    let mut rustc = Command::new("rustc");
    rustc.args(["--print", "sysroot"]).current_dir(course_root);
    let output = sandbox::run(&mut rustc, Duration::from_secs(120), 64 * 1024)
        .context("cannot run rustc --print sysroot")?;
    let root = PathBuf::from(output.stdout.text().trim());
    if !output.success() || !root.join("bin").join("cargo").is_file() {
        bail!(
            "rustc --print sysroot names no toolchain with cargo: {}",
            output.stderr.tail_text(300).trim()
        );
    }
    Ok(root)
}

pub(super) fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
}

/// `sysroot` mirrored into `into` once per toolchain (its `rustc -vV`).
pub(super) fn share_toolchain(sysroot: &Path, into: &Path) -> anyhow::Result<PathBuf> {
    let stamp = into.join(".grader-box-stamp");
    let mut version = Command::new(sysroot.join("bin").join("rustc"));
    version.arg("-vV");
    let version = sandbox::run(&mut version, Duration::from_secs(60), 64 * 1024)
        .context("cannot run rustc -vV")?
        .stdout
        .text();
    let expected = format!("{}\n{version}", sysroot.display());
    if fs::read_to_string(&stamp).ok().as_deref() == Some(expected.as_str()) {
        return Ok(into.to_path_buf());
    }
    if into.exists() {
        fs::remove_dir_all(into).with_context(|| format!("cannot remove {}", into.display()))?;
    }
    mirror(sysroot, into)?;
    fs::write(&stamp, expected).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(into.to_path_buf())
}

/// The crate cache of `cargo_home` (what `cargo fetch` put there, and its
/// configuration) mirrored into `into`, adding what is new since last time.
pub(super) fn share_cargo_home(cargo_home: &Path, into: &Path) -> anyhow::Result<PathBuf> {
    fs::create_dir_all(into).with_context(|| format!("cannot create {}", into.display()))?;
    fs::set_permissions(into, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot open {}", into.display()))?;
    for part in ["registry", "git", "config.toml", "config"] {
        let from = cargo_home.join(part);
        if from.exists() {
            mirror(&from, &into.join(part))?;
        }
    }
    Ok(into.to_path_buf())
}

/// Hard-link every file of `from` into `into` (a copy where they are on
/// different file systems); directories are created open to every user.
/// What exists already is kept.
pub(super) fn mirror(from: &Path, into: &Path) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let relative = entry.path().strip_prefix(from).expect("walked under from");
        let to = into.join(relative);
        let kind = entry.file_type();
        let made = if kind.is_dir() {
            fs::create_dir_all(&to)
                .and_then(|()| fs::set_permissions(&to, fs::Permissions::from_mode(0o755)))
        } else if to.symlink_metadata().is_ok() {
            Ok(())
        } else if kind.is_symlink() {
            fs::read_link(entry.path()).and_then(|link| std::os::unix::fs::symlink(link, &to))
        } else {
            fs::hard_link(entry.path(), &to).or_else(|_| fs::copy(entry.path(), &to).map(drop))
        };
        made.with_context(|| {
            format!(
                "cannot share {} as {}",
                entry.path().display(),
                to.display()
            )
        })?;
    }
    Ok(())
}
