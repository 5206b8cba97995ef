//! The course's clock: every duration is measured in "time units", and
//! crunching is counted in "work units" ([`ITERATIONS_PER_UNIT`] countdown
//! steps each), which are not times.
//!
//! One time unit is 50 ms by default, short enough that the whole course's
//! observations run in seconds. `COURSE_TIME_UNIT_MS=1000` gives the one-second
//! feel of the original notebook.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The environment variable that sets the time unit, in milliseconds.
pub const TIME_UNIT_ENV: &str = "COURSE_TIME_UNIT_MS";

/// One work unit of number crunching, in countdown steps: counting down from
/// this many takes a noticeable moment even in optimized Rust (about 10 ms
/// on a laptop). A work unit is an amount of work, not a time.
pub const ITERATIONS_PER_UNIT: u64 = 20_000_000;

/// One time unit unless `COURSE_TIME_UNIT_MS` or the grader says
/// otherwise (course.yaml's `defaults.time_unit_ms` falls back to it too).
pub const DEFAULT_TIME_UNIT_MS: u64 = 50;
const DEFAULT_UNIT: Duration = Duration::from_millis(DEFAULT_TIME_UNIT_MS);

/// The unit in nanoseconds; 0 means "not read from the environment yet".
static UNIT_NANOS: AtomicU64 = AtomicU64::new(0);

/// The length of one time unit: 50 ms unless `COURSE_TIME_UNIT_MS` says
/// otherwise or [`set_time_unit`] was called.
///
/// # Panics
/// When `COURSE_TIME_UNIT_MS` is set to something that is not a positive number.
pub fn time_unit() -> Duration {
    match UNIT_NANOS.load(Ordering::Relaxed) {
        0 => {
            let unit = unit_from_env().unwrap_or_else(|error| panic!("{error}"));
            // Another thread may have called `set_time_unit` meanwhile: keep its value.
            let _ =
                UNIT_NANOS.compare_exchange(0, nanos(unit), Ordering::Relaxed, Ordering::Relaxed);
            Duration::from_nanos(UNIT_NANOS.load(Ordering::Relaxed))
        }
        n => Duration::from_nanos(n),
    }
}

/// Whether [`fix_time_unit`] was called: the unit cannot change any more.
static FIXED: AtomicBool = AtomicBool::new(false);

/// Change the time unit for the rest of this process. Tests use it to run the
/// lessons' schedules in a fraction of the time.
///
/// # Panics
/// When `unit` is zero, and when the unit was fixed ([`fix_time_unit`]) at
/// another length.
pub fn set_time_unit(unit: Duration) {
    assert!(!unit.is_zero(), "the time unit must be longer than zero");
    let nanos = nanos(unit);
    assert!(
        !FIXED.load(Ordering::SeqCst) || UNIT_NANOS.load(Ordering::SeqCst) == nanos,
        "the time unit is fixed while the grader measures: only the grader sets it"
    );
    UNIT_NANOS.store(nanos, Ordering::SeqCst);
}

/// Set the time unit for the rest of this process, for good: a later
/// [`set_time_unit`] to another length panics. The observation harnesses fix
/// the grader's unit before any student code runs, so that nothing measured
/// in units can be rescaled while it is measured.
///
/// # Panics
/// When `unit` is zero, or the unit was already fixed at another length.
pub fn fix_time_unit(unit: Duration) {
    set_time_unit(unit);
    FIXED.store(true, Ordering::SeqCst);
}

/// `x` time units as a [`Duration`] (negative or NaN counts as zero).
pub fn units_to_duration(x: f64) -> Duration {
    time_unit().mul_f64(if x.is_finite() && x > 0.0 { x } else { 0.0 })
}

/// How many time units `d` is.
pub fn units(d: Duration) -> f64 {
    d.as_secs_f64() / time_unit().as_secs_f64()
}

/// Sleep for `x` time units. Sleeping costs no CPU time: the thread waits,
/// like a program waiting for a database's answer.
pub fn sleep_units(x: f64) {
    std::thread::sleep(units_to_duration(x));
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// What `COURSE_TIME_UNIT_MS` must hold: said in every message about it.
pub const TIME_UNIT_EXPECTED: &str = "a positive number of milliseconds";

/// A value of `COURSE_TIME_UNIT_MS`, in milliseconds: the one parser of the
/// variable (the grader and the harnesses read it through it too). `None`
/// when it is not a positive, finite number.
pub fn parse_time_unit_ms(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|ms| ms.is_finite() && *ms > 0.0)
}

/// The unit `COURSE_TIME_UNIT_MS` sets, else the default; a value that is
/// set but not valid is an error, never a silent fallback.
fn unit_from_env() -> Result<Duration, String> {
    let Ok(text) = std::env::var(TIME_UNIT_ENV) else {
        return Ok(DEFAULT_UNIT);
    };
    match parse_time_unit_ms(&text) {
        Some(ms) => Ok(Duration::from_secs_f64(ms / 1000.0)),
        None => Err(format!(
            "{TIME_UNIT_ENV} must be {TIME_UNIT_EXPECTED}, not {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_trip_and_clamp() {
        set_time_unit(Duration::from_millis(10));
        assert_eq!(units_to_duration(2.5), Duration::from_millis(25));
        assert_eq!(units_to_duration(-1.0), Duration::ZERO);
        assert_eq!(units_to_duration(f64::NAN), Duration::ZERO);
        assert!((units(Duration::from_millis(35)) - 3.5).abs() < 1e-9);
    }

    #[test]
    fn a_time_unit_is_a_positive_number_of_milliseconds() {
        assert_eq!(parse_time_unit_ms(" 2.5 "), Some(2.5));
        for bad in ["", "0", "-5", "NaN", "inf", "abc"] {
            assert_eq!(parse_time_unit_ms(bad), None, "{bad:?}");
        }
    }
}
