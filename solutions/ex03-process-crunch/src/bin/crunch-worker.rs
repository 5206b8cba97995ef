//! The worker program of `process_crunch`: reads one number per line from
//! stdin, answers each with `<result> <pid>` on stdout.
//!
//! Blank lines are skipped (someone typing by hand pressed Enter twice);
//! spaces around a number are fine. The first line that is not a number ends
//! the worker with a one-line message on stderr and exit code 2.
//!
//! Try it: `cargo run -p ex03 --bin crunch-worker`, type numbers, end with Ctrl-D.

use anyhow::Context;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;

/// The exit code for a line that is not a number.
const BAD_LINE_EXIT_CODE: u8 = 2;

/// A line of the input that is not a number.
#[derive(Debug, thiserror::Error)]
#[error("line {number} is not a number: {text:?}")]
struct BadLine {
    number: usize,
    text: String,
}

fn main() -> ExitCode {
    match crunch_lines(io::stdin().lock(), io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crunch-worker: {error:#}");
            if error.is::<BadLine>() {
                ExitCode::from(BAD_LINE_EXIT_CODE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn crunch_lines(input: impl BufRead, mut output: impl Write) -> anyhow::Result<()> {
    let pid = std::process::id();
    for (index, line) in input.lines().enumerate() {
        let line = line.context("cannot read a line from stdin")?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let x: f64 = text.parse().map_err(|_| BadLine {
            number: index + 1,
            text: line.clone(),
        })?;
        writeln!(output, "{} {pid}", ex03::train_neural_network(x))
            .context("cannot write to stdout")?;
        // The pool waits for this answer before it sends the next number:
        // an answer left in a buffer would leave both sides waiting forever.
        output.flush().context("cannot flush stdout")?;
    }
    Ok(())
}
