//! `grader`: parse the command line and dispatch. Every error is one line on
//! stderr and exit code 2.

use clap::Parser;
use grader::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        None => grader::run_grade(&cli.grade),
        Some(Command::Grade(args)) => grader::run_grade(args),
        Some(Command::Check(args)) => grader::check::run(args),
        Some(Command::List(args)) => grader::student::list(args),
        Some(Command::Hint(args)) => grader::student::hint(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(grader::EXIT_ERROR)
        }
    }
}
