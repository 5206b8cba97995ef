//! Given, complete: the sweep's table, its terminal chart and the Amdahl fit.

use ex04::{karp_flatt, Sample};
use std::fmt::Write;

/// What the table, the chart and the plot show about one sweep.
pub struct Sweep {
    pub samples: Vec<Sample>,
    pub speedups: Vec<f64>,
    pub efficiencies: Vec<f64>,
    pub cores: usize,
    /// The fitted serial fraction, when the sweep has a point to fit it to.
    pub serial_fraction: Option<f64>,
    /// The fit used the samples with 2..=`fitted_up_to` workers.
    pub fitted_up_to: usize,
}

/// The least-squares serial fraction `s` in [0, 1] of the samples with
/// 2..=`up_to` workers, `None` when there are none.
///
/// Amdahl's law is a straight line in `1/S = s + (1 - s)/n`, so the fit has a
/// closed form: it is the Karp–Flatt values averaged with weights
/// `(1 - 1/n)^2`. The program fits up to the core count: past it workers
/// share cores, which no serial fraction describes.
pub fn fit_serial_fraction(samples: &[Sample], speedups: &[f64], up_to: usize) -> Option<f64> {
    let (mut numerator, mut denominator) = (0.0, 0.0);
    for (sample, &speedup) in samples.iter().zip(speedups) {
        if sample.workers > up_to {
            continue;
        }
        if let Some(e) = karp_flatt(speedup, sample.workers) {
            let weight = (1.0 - 1.0 / sample.workers as f64).powi(2);
            numerator += weight * e;
            denominator += weight;
        }
    }
    (denominator > 0.0).then(|| (numerator / denominator).clamp(0.0, 1.0))
}

/// The sweep as a table, one row per worker count, and the fit below it.
pub fn table(sweep: &Sweep) -> String {
    let mut out = String::from("workers   seconds   speedup   efficiency   Karp-Flatt\n");
    for ((sample, speedup), efficiency) in sweep
        .samples
        .iter()
        .zip(&sweep.speedups)
        .zip(&sweep.efficiencies)
    {
        let serial =
            karp_flatt(*speedup, sample.workers).map_or("-".to_owned(), |e| format!("{e:.3}"));
        let _ = writeln!(
            out,
            "{:>7} {:>9.4} {:>9.2} {:>12.2} {:>12}",
            sample.workers, sample.seconds, speedup, efficiency, serial
        );
    }
    let _ = match sweep.serial_fraction {
        Some(s) => writeln!(
            out,
            "Amdahl fit over 2..={} workers: serial fraction s = {s:.3}, \
             so no number of workers beats 1/s = {}",
            sweep.fitted_up_to,
            if s > 0.0 {
                format!("{:.1}x", 1.0 / s)
            } else {
                "infinity".to_owned()
            }
        ),
        None => writeln!(out, "Amdahl fit: needs a sample with 2 or more workers"),
    };
    out
}

/// A bar per worker count: `#` up to the measured speedup, `|` at the ideal one.
pub fn chart(sweep: &Sweep) -> String {
    const WIDTH: usize = 60;
    let most = sweep
        .samples
        .iter()
        .map(|s| s.workers as f64)
        .chain(sweep.speedups.iter().copied())
        .fold(1.0, f64::max);
    let column = |speedup: f64| ((speedup / most * WIDTH as f64).round() as usize).min(WIDTH);
    let mut out = String::from("speedup: measured (#) against ideal (|)\n");
    for (sample, &speedup) in sweep.samples.iter().zip(&sweep.speedups) {
        let mut bar: Vec<char> = " ".repeat(WIDTH + 1).chars().collect();
        bar[..column(speedup)].fill('#');
        bar[column(sample.workers as f64)] = '|';
        let core_mark = if sample.workers == sweep.cores {
            "  <- one worker per core"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:>3} {} {speedup:5.2}{core_mark}",
            sample.workers,
            bar.into_iter().collect::<String>()
        );
    }
    out
}
