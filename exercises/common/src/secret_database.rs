//! The secret database: a pretend remote server that takes its time to answer.
//!
//! Every query string gets the same answer and the same server time on every
//! run and every machine, so lessons, tests and the grader agree on what the
//! database says and how long it makes you wait.

use crate::{sleep_units, trace};

const SECRETS: [&str; 8] = [
    "the coffee machine on the second floor is the fast one",
    "the course's best speedup was measured at 3 a.m.",
    "every mutex in the building is named after a cat",
    "the cluster is idle on Sunday mornings",
    "a race condition was once blamed on the weather",
    "the instructors still count down from twenty million by hand",
    "the lunch queue is a FIFO, the dessert queue is not",
    "nobody has ever read the whole scheduler source",
];

/// Ask the secret database. The server takes between 0.5 and 2 time units,
/// always the same for the same query; the caller sleeps meanwhile and the
/// query is recorded in the [`trace`] as `secret <query>`, by the course
/// ([`trace::RecordedBy::Course`]).
pub fn query(q: &str) -> String {
    trace::course_span(format!("secret {q}"), || {
        sleep_units(server_time_units(q));
        answer(q)
    })
}

/// How many time units the server takes to answer `q`: 0.5 to 2.
pub fn server_time_units(q: &str) -> f64 {
    let steps = fingerprint(q) % 301; // 0..=300
    0.5 + 1.5 * steps as f64 / 300.0
}

/// The answer to `q`, without the wait.
pub fn answer(q: &str) -> String {
    let h = fingerprint(q);
    let secret = SECRETS[(h >> 32) as usize % SECRETS.len()];
    format!("secret #{:04} for {q:?}: {secret}", (h >> 16) % 10_000)
}

/// FNV-1a: a hash that is the same on every machine and every Rust version.
fn fingerprint(q: &str) -> u64 {
    q.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_deterministic_and_differ_between_queries() {
        assert_eq!(answer("42"), answer("42"));
        assert_ne!(answer("42"), answer("pelita"));
        assert!(answer("42").contains("\"42\""));
    }

    #[test]
    fn known_answer_is_stable_across_versions() {
        // Pinned so that a change of hash would be noticed: lessons quote it.
        assert_eq!(fingerprint(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn server_time_stays_between_half_and_two_units() {
        for q in [
            "",
            "42",
            "3.1415",
            "pelita",
            "ajwdiauwdiuahwiduhawdiuhawd",
            "x",
        ] {
            let t = server_time_units(q);
            assert!((0.5..=2.0).contains(&t), "{q}: {t}");
            assert_eq!(t, server_time_units(q));
        }
    }

    #[test]
    fn query_returns_the_answer_and_records_a_span() {
        crate::set_time_unit(std::time::Duration::from_millis(1));
        let (got, trace) = trace::capture(|| query("pelita"));
        assert_eq!(got, answer("pelita"));
        assert_eq!(trace.course_only().lanes(), vec![vec!["secret pelita"]]);
    }
}
