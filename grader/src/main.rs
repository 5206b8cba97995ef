//! `grader`: parse the command line and dispatch. Every error is one line on
//! stderr and exit code 2.

use clap::Parser;
use grader::cli::{Cli, Command};
use std::process::ExitCode;

/// The conventional exit code of a program stopped by Ctrl-C.
const EXIT_INTERRUPTED: i32 = 130;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Student code runs in process groups of its own, which Ctrl-C does not
    // reach: stop them too. Without the handler they would run on.
    let _ = ctrlc::set_handler(|| {
        grader::sandbox::kill_running();
        eprintln!("error: interrupted");
        std::process::exit(EXIT_INTERRUPTED);
    });
    std::panic::set_hook(Box::new(|info| {
        grader::sandbox::kill_running();
        eprintln!("error: the grader failed unexpectedly: {info}");
    }));
    let result = std::panic::catch_unwind(|| match &cli.command {
        None => grader::commands::grade::run(&cli.grade),
        Some(Command::Grade(args)) => grader::commands::grade::run(args),
        Some(Command::Check(args)) => grader::commands::check::run(args),
        Some(Command::List(args)) => grader::commands::student::list(args),
        Some(Command::Hint(args)) => grader::commands::student::hint(args),
        Some(Command::Batch(args)) => grader::commands::batch::run(args),
        Some(Command::Report(args)) => grader::commands::instructor::render_saved(args),
        Some(Command::Release(args)) => grader::commands::instructor::release(args),
        Some(Command::Gradescope(args)) => grader::commands::instructor::gradescope(args),
        Some(Command::Slurm(args)) => grader::commands::instructor::slurm(args),
        Some(Command::Doctor(args)) => grader::commands::doctor::run(args),
        Some(Command::Watch(args)) => grader::commands::watch::run(args),
    });
    match result {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(grader::EXIT_ERROR)
        }
        // The panic hook has said what happened.
        Err(_) => ExitCode::from(grader::EXIT_ERROR),
    }
}
