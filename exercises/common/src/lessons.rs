//! Inputs the lessons talk about, shared by their tests and harnesses so that
//! both use exactly what the README shows.

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
