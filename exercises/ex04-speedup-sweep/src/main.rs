//! The speedup sweep, given complete: `cargo run --release -p ex04 -- --help`.
//!
//! It times the same batch of equal `crunch_numbers` tasks with 1, 2, ...
//! workers (threads, or worker processes with `--processes`), then prints a
//! table and a chart of the speedups and writes them as an SVG plot. It calls
//! your functions from `lib.rs`: until they are written it stops at the first
//! `todo!()`, whose message names the README section to read.

mod plot;
mod report;
mod workers;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ex04::Sample;
use report::Sweep;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Every sweep point is timed at least `MIN_RUNS` times, and again while
/// its runs add up to less than `MIN_TIME_PER_POINT` (tiny tasks get many
/// runs); the fastest run is kept: noise (other programs, the operating
/// system) only ever adds time.
const MIN_RUNS: usize = 3;
const MAX_RUNS: usize = 200;
const MIN_TIME_PER_POINT: Duration = Duration::from_millis(200);
/// More workers than this is a typo, not an experiment.
const MOST_WORKERS: usize = 512;

const ABOUT: &str = "Times equal crunch_numbers tasks on 1, 2, ... workers, prints the \
speedups T(1)/T(n) with efficiency and the Karp-Flatt serial fraction, and plots them \
against the ideal and a fitted Amdahl curve.";

#[derive(Parser)]
#[command(name = "ex04", version, about = ABOUT)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    /// Sweep 1..=N workers [default: twice the core count, at least 8]
    #[arg(long, value_name = "N", value_parser = worker_count)]
    max_workers: Option<usize>,
    /// How many equal tasks each sweep point runs
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = task_count)]
    tasks: usize,
    /// Tiny tasks (ten thousand times smaller): what does the overhead do?
    #[arg(long)]
    fast: bool,
    /// Worker processes of this program instead of threads
    #[arg(long)]
    processes: bool,
    /// Where to write the SVG plot
    #[arg(long, value_name = "FILE", default_value = "speedup.svg")]
    out: PathBuf,
    #[command(subcommand)]
    role: Option<Role>,
}

#[derive(Subcommand)]
enum Role {
    /// Be one worker process: read task sizes on stdin, answer on stdout.
    #[command(hide = true, name = workers::WORKER_SUBCOMMAND)]
    Worker,
}

fn worker_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n @ 1..=MOST_WORKERS) => Ok(n),
        _ => Err(format!("a number of workers from 1 to {MOST_WORKERS}")),
    }
}

fn task_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("a number of tasks, at least 1".to_owned()),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Role::Worker) = cli.role {
        return workers::serve(std::io::stdin().lock(), std::io::stdout().lock())
            .context("worker process");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_workers = cli.max_workers.unwrap_or((2 * cores).max(8));
    let kind = if cli.processes {
        "processes"
    } else {
        "threads"
    };

    let samples = measure(&cli, max_workers, kind, cores)?;
    let sweep = analyse(samples, cores, max_workers)?;
    println!("\n{}", report::table(&sweep));
    println!("{}", report::chart(&sweep));

    let size = if cli.fast { "tiny" } else { "slow" };
    let title = format!(
        "Speedup of {} {size} tasks on {kind} ({cores} cores)",
        cli.tasks
    );
    plot::write_svg(&cli.out, &title, &sweep)
        .with_context(|| format!("cannot write the plot to {}", cli.out.display()))?;
    println!("wrote {}", cli.out.display());
    Ok(())
}

/// Times the batch of tasks on 1..=`max_workers` workers with your `sweep`.
fn measure(cli: &Cli, max_workers: usize, kind: &str, cores: usize) -> anyhow::Result<Vec<Sample>> {
    let target = if cli.fast {
        workers::fast_task()
    } else {
        workers::slow_task()
    };
    let x = workers::task_size_for(target);
    let tasks = vec![x; cli.tasks];
    println!(
        "{} tasks of crunch_numbers({x}), about {target:.1?} each, on 1..={max_workers} {kind} ({cores} cores)",
        cli.tasks
    );

    let program =
        std::env::current_exe().context("cannot find this program to start its workers")?;
    let run_once = |n: usize| -> std::io::Result<Duration> {
        let start = Instant::now();
        if cli.processes {
            workers::run_processes(&program, n, &tasks)?;
        } else {
            workers::run_threads(n, &tasks);
        }
        Ok(start.elapsed())
    };
    // One run before the sweep warms up the caches, the CPU's clock and the
    // allocator, which would otherwise slow down the 1-worker point alone.
    run_once(1).context("the worker processes failed")?;
    let mut failure = None;
    let samples = ex04::sweep(1..=max_workers, |n| {
        show_progress(n, max_workers);
        if failure.is_some() {
            return Duration::ZERO;
        }
        fastest_run(|| run_once(n)).unwrap_or_else(|e| {
            failure = Some(e);
            Duration::ZERO
        })
    });
    end_progress();
    match failure {
        Some(e) => Err(e).context("the worker processes failed"),
        None => Ok(samples),
    }
}

/// Speedups, efficiencies and the Amdahl fit of a sweep, with your functions.
fn analyse(samples: Vec<Sample>, cores: usize, max_workers: usize) -> anyhow::Result<Sweep> {
    let speedups = ex04::speedups(&samples).context("cannot compute the speedups")?;
    let efficiencies = ex04::efficiencies(&samples).context("cannot compute the efficiencies")?;
    // Amdahl's law assumes a core per worker: fit where that holds, unless
    // the machine has a single core and there is nowhere it holds.
    let fitted_up_to = if cores >= 2 {
        cores.min(max_workers)
    } else {
        max_workers
    };
    let serial_fraction = report::fit_serial_fraction(&samples, &speedups, fitted_up_to);
    Ok(Sweep {
        samples,
        speedups,
        efficiencies,
        cores,
        serial_fraction,
        fitted_up_to,
    })
}

/// The fastest of a few runs of `run`: see `MIN_RUNS`.
fn fastest_run(mut run: impl FnMut() -> std::io::Result<Duration>) -> std::io::Result<Duration> {
    let (mut fastest, mut total) = (Duration::MAX, Duration::ZERO);
    for runs in 1..=MAX_RUNS {
        let took = run()?;
        fastest = fastest.min(took);
        total += took;
        if runs >= MIN_RUNS && total >= MIN_TIME_PER_POINT {
            break;
        }
    }
    Ok(fastest)
}

/// One progress line on stderr, rewritten in place on a terminal.
fn show_progress(workers: usize, max_workers: usize) {
    let line = format!("measuring {workers} of {max_workers} workers");
    if std::io::stderr().is_terminal() {
        eprint!("\r{line}");
    } else {
        eprintln!("{line}");
    }
}

fn end_progress() {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}
