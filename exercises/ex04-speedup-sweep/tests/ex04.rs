//! Tests for exercise 4. Run them with `cargo test -p ex04`.

use assert_cmd::Command;
use ex04::{amdahl, crunch_numbers, efficiencies, karp_flatt, speedups, sweep, Sample, SweepError};
use predicates::prelude::*;
use std::time::Duration;

const CLOSE: f64 = 1e-9;

fn samples(points: &[(usize, f64)]) -> Vec<Sample> {
    points
        .iter()
        .map(|&(workers, seconds)| Sample { workers, seconds })
        .collect()
}

fn assert_all_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{actual:?} against {expected:?}"
    );
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < CLOSE, "{actual:?} against {expected:?}");
    }
}

// ---- sweep ----

#[test]
fn sweep_calls_run_once_per_worker_count_in_order() {
    let mut calls = Vec::new();
    let result = sweep([1, 2, 4, 8], |n| {
        calls.push(n);
        Duration::from_millis(800 / n as u64)
    });
    assert_eq!(calls, [1, 2, 4, 8]);
    assert_eq!(
        result,
        samples(&[(1, 0.8), (2, 0.4), (4, 0.2), (8, 0.1)]),
        "each sample is the worker count and the Duration it took, in seconds"
    );
}

#[test]
fn sweep_takes_any_iterator_and_keeps_its_order() {
    let mut calls = Vec::new();
    let result = sweep((1..=3).rev(), |n| {
        calls.push(n);
        Duration::from_micros(1500)
    });
    assert_eq!(calls, [3, 2, 1]);
    assert_eq!(result, samples(&[(3, 0.0015), (2, 0.0015), (1, 0.0015)]));
    assert!(sweep(std::iter::empty(), |_| Duration::ZERO).is_empty());
}

// ---- speedups and efficiencies ----

#[test]
fn speedups_divide_the_one_worker_time_by_each_time() {
    let sweep = samples(&[(1, 8.0), (2, 4.0), (4, 2.5), (8, 2.0)]);
    assert_all_close(&speedups(&sweep).unwrap(), &[1.0, 2.0, 3.2, 4.0]);
}

#[test]
fn speedups_come_in_sample_order_wherever_the_one_worker_sample_is() {
    let sweep = samples(&[(4, 3.0), (1, 9.0), (2, 6.0)]);
    assert_all_close(&speedups(&sweep).unwrap(), &[3.0, 1.0, 1.5]);
}

#[test]
fn a_slowdown_is_a_speedup_below_one() {
    let sweep = samples(&[(1, 0.002), (2, 0.005)]);
    assert_all_close(&speedups(&sweep).unwrap(), &[1.0, 0.4]);
}

#[test]
fn efficiencies_are_speedup_per_worker() {
    let sweep = samples(&[(1, 8.0), (2, 4.0), (4, 2.5), (8, 2.0)]);
    assert_all_close(&efficiencies(&sweep).unwrap(), &[1.0, 1.0, 0.8, 0.5]);
    let sweep = samples(&[(3, 1.0), (1, 2.0)]);
    assert_all_close(&efficiencies(&sweep).unwrap(), &[2.0 / 3.0, 1.0]);
}

// ---- SweepError ----

#[test]
fn an_empty_sweep_is_an_error() {
    assert_eq!(speedups(&[]), Err(SweepError::Empty));
    assert_eq!(efficiencies(&[]), Err(SweepError::Empty));
}

#[test]
fn a_sweep_without_a_one_worker_sample_is_an_error() {
    let sweep = samples(&[(2, 4.0), (4, 2.0)]);
    assert_eq!(speedups(&sweep), Err(SweepError::NoOneWorkerSample));
    assert_eq!(efficiencies(&sweep), Err(SweepError::NoOneWorkerSample));
}

#[test]
fn a_zero_time_is_an_error_naming_the_sample() {
    let sweep = samples(&[(1, 8.0), (2, 0.0), (4, 2.0)]);
    let expected = SweepError::BadTime {
        workers: 2,
        seconds: 0.0,
    };
    assert_eq!(speedups(&sweep), Err(expected.clone()));
    assert_eq!(efficiencies(&sweep), Err(expected));
}

#[test]
fn a_negative_time_is_an_error_naming_the_sample() {
    let sweep = samples(&[(1, 8.0), (2, 4.0), (4, -2.0)]);
    let expected = SweepError::BadTime {
        workers: 4,
        seconds: -2.0,
    };
    assert_eq!(speedups(&sweep), Err(expected.clone()));
    assert_eq!(efficiencies(&sweep), Err(expected));
    // The 1-worker time is checked too: it is the one every speedup divides.
    let sweep = samples(&[(1, -8.0), (2, 4.0)]);
    assert_eq!(
        speedups(&sweep),
        Err(SweepError::BadTime {
            workers: 1,
            seconds: -8.0
        })
    );
}

#[test]
fn a_time_that_is_not_finite_is_an_error_naming_the_sample() {
    // NaN is not equal to itself, so match on the variant instead.
    let sweep = samples(&[(1, 8.0), (3, f64::NAN)]);
    for result in [speedups(&sweep), efficiencies(&sweep)] {
        assert!(
            matches!(result, Err(SweepError::BadTime { workers: 3, seconds }) if seconds.is_nan()),
            "{result:?}"
        );
    }
    let sweep = samples(&[(1, f64::INFINITY), (2, 4.0)]);
    assert_eq!(
        speedups(&sweep),
        Err(SweepError::BadTime {
            workers: 1,
            seconds: f64::INFINITY
        })
    );
}

#[test]
fn a_bad_time_is_reported_before_a_missing_one_worker_sample() {
    // The README's order: empty, then bad times, then no 1-worker sample.
    let sweep = samples(&[(2, 0.0), (4, 2.0)]);
    let expected = SweepError::BadTime {
        workers: 2,
        seconds: 0.0,
    };
    assert_eq!(speedups(&sweep), Err(expected.clone()));
    assert_eq!(efficiencies(&sweep), Err(expected));
    let sweep = samples(&[(2, 4.0), (4, f64::INFINITY)]);
    assert_eq!(
        speedups(&sweep),
        Err(SweepError::BadTime {
            workers: 4,
            seconds: f64::INFINITY
        })
    );
}

// ---- Amdahl and Karp–Flatt ----

#[test]
fn amdahl_matches_hand_computed_values() {
    // 1 / (s + (1 - s) / n)
    let cases = [
        (1, 0.3, 1.0),
        (4, 0.0, 4.0),
        (4, 1.0, 1.0),
        (2, 0.5, 1.0 / 0.75),
        (4, 0.1, 1.0 / 0.325),
        (8, 0.05, 1.0 / 0.16875),
        (16, 0.25, 1.0 / 0.296875),
    ];
    for (n, s, expected) in cases {
        let got = amdahl(n, s);
        assert!(
            (got - expected).abs() < CLOSE,
            "amdahl({n}, {s}) = {got}, expected {expected}"
        );
    }
}

#[test]
fn amdahl_never_beats_one_over_the_serial_fraction() {
    assert!((amdahl(1_000_000, 0.1) - 10.0).abs() < 1e-3);
    assert!(amdahl(1_000_000, 0.1) < 10.0);
}

#[test]
fn karp_flatt_matches_hand_computed_values() {
    // (1/S - 1/n) / (1 - 1/n)
    let cases = [
        (2.0, 2, 0.0),
        (1.6, 2, 0.25),
        (1.0, 4, 1.0),
        (3.0, 4, (1.0 / 3.0 - 0.25) / 0.75),
        (5.0, 8, (0.2 - 0.125) / 0.875),
    ];
    for (speedup, n, expected) in cases {
        let got = karp_flatt(speedup, n).expect("defined for 2 or more workers");
        assert!(
            (got - expected).abs() < CLOSE,
            "karp_flatt({speedup}, {n}) = {got}, expected {expected}"
        );
    }
}

#[test]
fn karp_flatt_of_one_worker_is_none() {
    assert_eq!(karp_flatt(1.0, 1), None);
    assert_eq!(karp_flatt(1.7, 1), None);
}

#[test]
fn karp_flatt_recovers_the_serial_fraction_of_an_amdahl_speedup() {
    for s in [0.0, 0.02, 0.3, 1.0] {
        for n in 2..=16 {
            let e = karp_flatt(amdahl(n, s), n).unwrap();
            assert!((e - s).abs() < 1e-9, "karp_flatt(amdahl({n}, {s})) = {e}");
        }
    }
}

// ---- crunch_numbers ----

#[test]
fn crunch_numbers_is_deterministic() {
    for x in [0, 1, 7, 1000] {
        let first = crunch_numbers(x);
        assert_eq!(
            crunch_numbers(x),
            first,
            "crunch_numbers({x}) changed between calls"
        );
        let elsewhere = std::thread::spawn(move || crunch_numbers(x))
            .join()
            .unwrap();
        assert_eq!(
            elsewhere, first,
            "crunch_numbers({x}) gave another answer on another thread"
        );
    }
}

// ---- the sweep program (src/main.rs), which calls everything above ----

const LEGEND: [&str; 3] = ["measured", "ideal", "Amdahl fit"];

fn run_program(args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("s.svg");
    let output = Command::new(env!("CARGO_BIN_EXE_ex04"))
        .args(args)
        .arg("--out")
        .arg(&svg_path)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "ex04 {args:?} failed\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let svg =
        std::fs::read_to_string(&svg_path).expect("the program writes the SVG where --out says");
    (stdout, svg)
}

fn assert_well_formed_plot(svg: &str) {
    let svg = svg.trim();
    assert!(
        svg.starts_with("<svg"),
        "the file does not start with <svg: {}",
        &svg[..svg.len().min(80)]
    );
    assert!(svg.ends_with("</svg>"), "the file does not end with </svg>");
    assert!(
        svg.contains("<text"),
        "the plot has no text: no axis labels, no legend"
    );
    for label in LEGEND {
        assert!(svg.contains(label), "the legend has no {label:?}");
    }
    assert!(svg.contains("workers"), "the x axis is not labelled");
}

fn assert_table(stdout: &str, max_workers: usize) {
    let header = stdout
        .lines()
        .position(|l| l.contains("workers") && l.contains("speedup") && l.contains("efficiency"))
        .unwrap_or_else(|| panic!("no table header in:\n{stdout}"));
    let rows: Vec<usize> = stdout
        .lines()
        .skip(header + 1)
        .map_while(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(
        rows,
        (1..=max_workers).collect::<Vec<_>>(),
        "one table row per worker count:\n{stdout}"
    );
}

#[test]
fn the_program_sweeps_threads_prints_the_table_and_writes_the_plot() {
    let (stdout, svg) = run_program(&["--max-workers", "2", "--tasks", "2", "--fast"]);
    assert_table(&stdout, 2);
    assert!(
        stdout.contains("Karp-Flatt"),
        "the table has no Karp-Flatt column:\n{stdout}"
    );
    assert_well_formed_plot(&svg);
}

#[test]
fn the_program_sweeps_worker_processes() {
    let (stdout, svg) = run_program(&[
        "--max-workers",
        "3",
        "--tasks",
        "3",
        "--fast",
        "--processes",
    ]);
    assert_table(&stdout, 3);
    assert_well_formed_plot(&svg);
}

#[test]
fn the_program_rejects_bad_arguments_and_runs_good_ones() {
    let bad_arguments: [&[&str]; 3] = [
        &["--max-workers", "0"],
        &["--tasks", "many"],
        &["--no-such-flag"],
    ];
    for bad in bad_arguments {
        // clap's usual error: "error: ..." naming the argument, exit code 2.
        Command::new(env!("CARGO_BIN_EXE_ex04"))
            .args(bad)
            .timeout(Duration::from_secs(60))
            .assert()
            .failure()
            .code(2)
            .stderr(predicate::str::contains("error:").and(predicate::str::contains(bad[0])));
    }
    let (stdout, _) = run_program(&["--max-workers", "1", "--tasks", "1", "--fast"]);
    assert_table(&stdout, 1);
}
