//! Support code shared by every exercise of the course.
//!
//! Students read this crate but never need to change it. It gives the
//! exercises a common clock ([`time_unit`], [`sleep_units`]), a fixed amount of
//! number crunching ([`ITERATIONS_PER_UNIT`]), a lock that behaves like
//! CPython's global interpreter lock ([`GIL`]), a [`trace`] recorder that shows
//! which thread ran which task when, a pretend [`secret_database`], and the
//! inputs and given work of the [`lessons`].
//!
//! How the grader measures (the observation harnesses' recorder, the file
//! they write, what the machine did meanwhile) is the instructor's protocol,
//! in a crate of its own (`exercises/protocol`) that only the tests,
//! harnesses and the grader use: nothing a solution needs.

pub mod lessons;
pub mod secret_database;
mod time;
pub mod trace;

use std::sync::Mutex;

pub use time::{
    fix_time_unit, parse_time_unit_ms, set_time_unit, sleep_units, time_unit, units,
    units_to_duration, DEFAULT_TIME_UNIT_MS, ITERATIONS_PER_UNIT, TIME_UNIT_ENV,
    TIME_UNIT_EXPECTED,
};

/// A global lock that mimics CPython's global interpreter lock.
///
/// Rust has no GIL: threads run Rust code truly in parallel. Holding this lock
/// for a whole task brings the GIL's behaviour back, so only one thread
/// crunches at a time, however many cores there are.
///
/// ```
/// let _gil = common::GIL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
/// // only one thread at a time gets here
/// ```
pub static GIL: Mutex<()> = Mutex::new(());
