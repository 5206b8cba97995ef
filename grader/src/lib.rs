//! The course grader: runs each exercise's tests and timing observations and
//! reports a score. See ARCHITECTURE.md for the map of its modules.

pub mod model;
pub mod runner;
pub mod workspace;
