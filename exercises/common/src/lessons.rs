//! Inputs the lessons talk about, shared by their tests and harnesses so that
//! both use exactly what the README shows, and the work a lesson gives
//! complete.

use crate::{sleep_units, trace};

/// Exercise 2's database: ask it for measurement `x`, and the server takes
/// `x` time units to answer `x * x`.
///
/// It records each query in the course's trace as `query {x}`, on the thread
/// that waited for it, from when it was asked to when it was answered: how the
/// tests and the grader see which thread ran which query, and when. Only
/// this function records such a span for the course
/// ([`trace::RecordedBy::Course`]).
pub fn query_database(x: f64) -> f64 {
    trace::course_span(format!("query {x}"), || {
        println!("querying {x} start");
        sleep_units(x); // waiting for the server: no CPU work at all
        println!("querying {x} end");
        x * x
    })
}

/// Exercise 2's queries with the long one second: 2 threads that take the
/// next query in order finish in 8 units.
pub const LONG_SECOND: [f64; 4] = [1.0, 8.0, 1.5, 2.0];

/// The same queries with the long one last: 2 threads take 9.5 units.
pub const LONG_LAST: [f64; 4] = [1.0, 1.5, 2.0, 8.0];

/// The queries exercise 2 sends to the secret database.
pub const SECRET_QUERIES: [&str; 5] = [
    "42",
    "3.1415",
    "8162371823.123",
    "pelita",
    "ajwdiauwdiuahwiduhawdiuhawd",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_answers_its_square_and_is_the_courses_span() {
        crate::set_time_unit(std::time::Duration::from_millis(1));
        let (answer, trace) = trace::capture(|| query_database(1.5));
        assert_eq!(answer, 2.25);
        assert_eq!(trace.course_only().lanes(), vec![vec!["query 1.5"]]);
    }
}
