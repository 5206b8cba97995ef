//! The grader–harness protocol: the instructor's side of grading.
//!
//! Everything here is shared by the observation harnesses
//! (`benches/observe.rs`), the tests and the grader, and by nothing a
//! student writes: the exercises depend on this crate as a
//! `[dev-dependencies]` entry only, which their tests and harnesses see and
//! their `src` cannot name. So no student code records a measurement, sets
//! what a harness was told, or reads the grader's settings through it.
//!
//! - [`observe`]: the recorder the harnesses use (warm-up, repeats, CPU time,
//!   panics as errors), the grader's [`observe::Settings`] on the harness's
//!   stdin, the measurements file and its format;
//! - [`machine`]: the CPU a run may use and what the rest of the machine did
//!   during each timed repeat;
//! - [`processes`]: the schedules worker processes write, read back within
//!   bounds for the reports to draw.
//!
//! What the lessons themselves use (the time unit, the trace recorder, the
//! GIL, the databases) is the `common` crate.

pub mod machine;
pub mod observe;
pub mod processes;
