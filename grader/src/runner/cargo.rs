//! Nested cargo builds: the command line, a clean environment, and what the
//! build produced (executables, or the compiler's first error).

use super::sandbox;
use crate::workspace::GradedTree;
use serde::Deserialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The longest a build may take (a cold build of a whole tree's dependencies
/// included) before it is killed.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// Cargo's JSON messages kept per build; the artifact messages come last and
/// are kept in the tail whatever the size.
const MESSAGES_CAP: usize = 32 * 1024 * 1024;
/// The longest compiler error shown.
const ERROR_CAP: usize = 4000;

/// An executable a build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executable {
    /// The cargo target's name (`ex02` for tests/ex02.rs, `observe`).
    pub target_name: String,
    /// "test", "bench", "bin", ...
    pub kind: String,
    pub path: PathBuf,
    /// The directory of the package's Cargo.toml (cargo runs tests there).
    pub package_dir: PathBuf,
}

/// What one build produced.
#[derive(Debug, Clone)]
pub struct Build {
    pub executables: Vec<Executable>,
    /// Why the build failed: the compiler's first error, or cargo's message.
    pub error: Option<String>,
    pub seconds: f64,
}

/// A `cargo` command for `tree`: `$CARGO` or `cargo`, run from the tree's
/// root with `--manifest-path` and `CARGO_TARGET_DIR` set explicitly, and
/// without the variables an outer cargo sets that would disturb a nested
/// build.
pub fn command(tree: &GradedTree, subcommand: &str) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    scrub_env(&mut command);
    if let Some(root) = tree.manifest.parent() {
        command.current_dir(root);
    }
    command
        .arg(subcommand)
        .arg("--manifest-path")
        .arg(&tree.manifest)
        .env("CARGO_TARGET_DIR", &tree.target_dir)
        // Plain messages, whatever terminal the grader runs in.
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_TERM_PROGRESS_WHEN", "never");
    command
}

/// Remove from `command`'s environment what an outer cargo (`cargo run`,
/// `cargo test`) or the grader's caller set that would change a nested build
/// or a test run.
pub fn scrub_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if disturbs_nested_runs(name) {
            command.env_remove(name);
        }
    }
}

fn disturbs_nested_runs(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "CARGO_TARGET_DIR",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_TARGET_TMPDIR",
        "CARGO_MAKEFLAGS",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "OUT_DIR",
        "RUST_TEST_NOCAPTURE",
        "RUST_TEST_THREADS",
        "RUST_TEST_SHUFFLE",
        "RUST_TEST_SHUFFLE_SEED",
        protocol::observe::MEASUREMENTS_ENV,
        protocol::observe::REPEATS_ENV,
        common::TIME_UNIT_ENV,
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_BUILD_",
        "CARGO_PKG_",
        "CARGO_BIN_EXE",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_PROFILE_",
        "__CARGO",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// Run a build command (one with `--message-format=json` among its
/// arguments) and collect the executables it produced.
pub fn build(mut command: Command) -> Build {
    let start = Instant::now();
    let output = sandbox::run(&mut command, BUILD_TIMEOUT, MESSAGES_CAP);
    let seconds = start.elapsed().as_secs_f64();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            return Build {
                executables: Vec::new(),
                error: Some(format!("could not start cargo: {error}")),
                seconds,
            }
        }
    };
    let (executables, first_error) = read_messages(&output.stdout);
    let error = if output.success() {
        None
    } else if output.timed_out {
        Some(format!(
            "the build {} (a build script or procedural macro that never ends?)",
            output.describe_end(BUILD_TIMEOUT)
        ))
    } else {
        Some(first_error.unwrap_or_else(|| cargo_failure(&output.stderr)))
    };
    Build {
        executables,
        error: error.map(|e| cap_text(e.trim_end(), ERROR_CAP)),
        seconds,
    }
}

/// The executables cargo's JSON messages announce, and the first compiler
/// error among them.
fn read_messages(stdout: &sandbox::Captured) -> (Vec<Executable>, Option<String>) {
    let mut executables = Vec::new();
    let mut first_error = None;
    for line in message_lines(stdout) {
        let Ok(message) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        match message.reason.as_str() {
            "compiler-artifact" => executables.extend(message.executable()),
            "compiler-message" if first_error.is_none() => {
                first_error = message.message.and_then(Diagnostic::error_text);
            }
            _ => {}
        }
    }
    (executables, first_error)
}

impl Message {
    /// The executable a `compiler-artifact` message announces, if any.
    fn executable(self) -> Option<Executable> {
        let (Some(target), Some(path)) = (self.target, self.executable) else {
            return None;
        };
        let package_dir = self
            .manifest_path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Some(Executable {
            target_name: target.name,
            kind: target.kind.into_iter().next().unwrap_or_default(),
            path,
            package_dir,
        })
    }
}

impl Diagnostic {
    /// The rendered error, when this diagnostic is an error.
    fn error_text(self) -> Option<String> {
        let is_error = self.level == "error" || self.level.starts_with("error:");
        is_error.then(|| self.rendered.unwrap_or(self.message))
    }
}

/// The lines of a capped stream that are whole: the head's complete lines
/// and the tail's lines after its first (possibly cut) one.
fn message_lines(stream: &sandbox::Captured) -> impl Iterator<Item = &str> {
    let head = std::str::from_utf8(&stream.head).unwrap_or_default();
    let tail = std::str::from_utf8(&stream.tail).unwrap_or_default();
    let tail = if stream.dropped_bytes() > 0 || !head.ends_with('\n') {
        tail.split_once('\n').map_or("", |(_, rest)| rest)
    } else {
        tail
    };
    head.lines().chain(tail.lines())
}

/// Cargo's own error (no compiler message): a broken manifest, a missing
/// dependency, a failed build script.
fn cargo_failure(stderr: &sandbox::Captured) -> String {
    let text = stderr.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !(line.starts_with("Compiling")
                || line.starts_with("Blocking")
                || line.starts_with("Updating")
                || line.starts_with("Downloaded")
                || line.starts_with("Downloading")
                || line.starts_with("Locking")
                || line.starts_with("Adding"))
        })
        .collect();
    match lines.iter().position(|line| line.starts_with("error")) {
        Some(first) => lines[first..].join("\n"),
        None if lines.is_empty() => "cargo failed without a message".to_owned(),
        None => lines.join("\n"),
    }
}

/// `text` cut to at most `max` bytes (on a char boundary), marked when cut.
pub fn cap_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[... cut ...]", &text[..end])
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    target: Option<Target>,
    executable: Option<PathBuf>,
    manifest_path: Option<PathBuf>,
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    message: String,
    rendered: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_cargo_variables_are_scrubbed() {
        for name in [
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
            "RUSTFLAGS",
            "CARGO_MANIFEST_DIR",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_PKG_NAME",
            "CARGO_BIN_EXE_grader",
            "__CARGO_FIX_PLZ",
            "RUST_TEST_NOCAPTURE",
            "COURSE_MEASUREMENTS",
        ] {
            assert!(disturbs_nested_runs(name), "{name}");
        }
        for name in [
            "CARGO_HOME",
            "CARGO",
            "PATH",
            "HOME",
            "RUSTUP_TOOLCHAIN",
            "CARGO_NET_OFFLINE",
        ] {
            assert!(!disturbs_nested_runs(name), "{name}");
        }
    }

    #[test]
    fn whole_lines_survive_a_cut_stream() {
        let stream = sandbox::Captured {
            head: b"{\"a\":1}\n{\"b\"".to_vec(),
            tail: b"2}\n{\"c\":3}\n".to_vec(),
            total_bytes: 100,
        };
        let lines: Vec<&str> = message_lines(&stream).collect();
        assert_eq!(lines, ["{\"a\":1}", "{\"b\"", "{\"c\":3}"]);
    }

    #[test]
    fn long_errors_are_cut_on_a_char_boundary() {
        assert_eq!(cap_text("short", 10), "short");
        let cut = cap_text("ééééé", 3);
        assert!(
            cut.starts_with('é') && cut.ends_with("[... cut ...]"),
            "{cut}"
        );
    }

    #[test]
    fn cargo_failures_show_the_error_not_the_progress() {
        let head = b"   Compiling foo v0.1.0\nerror: failed to parse manifest\n  caused by: x\n";
        let stderr = sandbox::Captured {
            head: head.to_vec(),
            tail: Vec::new(),
            total_bytes: head.len(),
        };
        assert_eq!(
            cargo_failure(&stderr),
            "error: failed to parse manifest\n  caused by: x"
        );
    }
}
