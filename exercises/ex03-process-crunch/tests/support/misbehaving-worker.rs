//! A worker program that misbehaves on purpose, for the tests of
//! `process_crunch`'s errors.
//!
//! It answers like `crunch-worker` (`<x * x> <pid>`, without the crunching),
//! except for three numbers, which are commands:
//! - `-1`: exit at once with code 3, without answering (a worker that dies);
//! - `-2`: answer `forty-two`, which is not `<result> <pid>`;
//! - `-3`: never answer: read and ignore the rest of the input, then exit
//!   (a worker busy with a very long task).
//!
//! It writes nothing to stderr, so that the tests' output stays readable.

use std::io::{self, BufRead, Write};

const DIE: f64 = -1.0;
const GARBLE: f64 = -2.0;
const STALL: f64 = -3.0;
const DIE_EXIT_CODE: i32 = 3;

fn main() -> io::Result<()> {
    let pid = std::process::id();
    let mut output = io::stdout().lock();
    let mut lines = io::stdin().lock().lines();
    while let Some(line) = lines.next() {
        let x: f64 = line?.trim().parse().unwrap_or(f64::NAN);
        if x == DIE {
            std::process::exit(DIE_EXIT_CODE);
        } else if x == GARBLE {
            writeln!(output, "forty-two")?;
        } else if x == STALL {
            // Ends when the pool closes our stdin or kills us.
            lines.by_ref().for_each(drop);
            return Ok(());
        } else {
            writeln!(output, "{} {pid}", x * x)?;
        }
        output.flush()?;
    }
    Ok(())
}
