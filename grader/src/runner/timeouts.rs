//! How long a run of student code may take: about ten times what the
//! reference solution needs for the same run, never more than course.yaml's
//! ceiling (`test_timeout_seconds`, `observe_timeout_seconds`).
//!
//! Ten times is the margin a correct but slower submission gets on a busy
//! machine (tests run two at a time); the slack added to it covers what does
//! not scale with the work (starting a process, the box around it). Once an
//! exercise has shown that it hangs (a test timed out) or its tests have
//! spent what ten times the reference's tests would, its remaining tests get
//! a small slack only: a submission that hangs everywhere costs a few
//! seconds per test, not the ceiling each time. Without a reference time
//! (a student's release has no solutions) the ceiling applies, and after a
//! hang [`AFTER_HANG_WITHOUT_REFERENCE`].
//!
//! A test that waits on purpose before it fails with its own message (see
//! [`super::waits`]) gets that wait on top of its limit, hang or not, up to
//! the ceiling: the grader never cuts off what the test was written to say.
//!
//! Pure rules over recorded times: no clock is read here, so the tests are
//! tables of numbers.

use crate::text::duration as format_duration;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// A run may take this many times the reference's time for the same run.
pub const REFERENCE_FACTOR: f64 = 10.0;
/// Added to a test's limit: starting a process and its box, whatever the
/// work.
pub const TEST_SLACK: Duration = Duration::from_secs(5);
/// Added instead of [`TEST_SLACK`] once the exercise hung or spent its
/// tests' budget.
pub const SHORT_SLACK: Duration = Duration::from_millis(500);
/// What each test adds to the exercise's budget besides ten times its
/// reference time: a busy machine slows starting a process more than the
/// work, and a correct submission must not use up its budget that way.
pub const BUDGET_SLACK_PER_TEST: Duration = Duration::from_secs(1);
/// A test's limit after a hang when the reference's time for it is unknown.
pub const AFTER_HANG_WITHOUT_REFERENCE: Duration = Duration::from_secs(10);
/// Added to a harness's limit: building nothing, starting, writing its file.
pub const HARNESS_SLACK: Duration = Duration::from_secs(10);

/// A limit and why it is that long, as the timed-out message says it.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeout {
    pub limit: Duration,
    pub basis: Basis,
    /// What the test waits by design, included in `limit`.
    pub designed_wait: Option<Duration>,
}

impl Timeout {
    fn new(limit: Duration, basis: Basis) -> Timeout {
        Timeout {
            limit,
            basis,
            designed_wait: None,
        }
    }

    /// This limit plus `wait`, the test's own, up to `ceiling`.
    fn waiting(self, wait: Duration, ceiling: Duration) -> Timeout {
        Timeout {
            limit: (self.limit + wait).min(ceiling.max(self.limit)),
            designed_wait: Some(wait),
            ..self
        }
    }
}

/// Where a limit comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// course.yaml's value (`key`): no reference time is known, or ten times
    /// it is more.
    Ceiling { key: &'static str },
    /// [`REFERENCE_FACTOR`] times the reference's time plus `slack`; `strain`
    /// says why the slack is the short one.
    Reference {
        reference: Duration,
        slack: Duration,
        strain: Option<Strain>,
    },
    /// After a hang, without a reference time.
    AfterHang { strain: Strain },
}

/// Why an exercise's remaining tests get short limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strain {
    /// A test of the exercise timed out.
    Hung,
    /// The exercise's tests took longer in all than their budget
    /// ([`tests_budget`]).
    OverBudget { budget: Duration },
}

impl std::fmt::Display for Strain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Strain::Hung => write!(f, "an earlier test of this exercise timed out"),
            Strain::OverBudget { budget } => write!(
                f,
                "this exercise's tests already took more than {} in all ({REFERENCE_FACTOR}x what the reference needs for them, plus {} per test and {})",
                format_duration(*budget),
                format_duration(BUDGET_SLACK_PER_TEST),
                format_duration(TEST_SLACK)
            ),
        }
    }
}

impl std::fmt::Display for Basis {
    /// E.g. `10x what the reference needs here, 40ms, plus 5s`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Basis::Ceiling { key } => write!(f, "course.yaml's {key}"),
            Basis::Reference {
                reference,
                slack,
                strain,
            } => {
                write!(
                    f,
                    "{REFERENCE_FACTOR}x what the reference needs here, {}, plus {}",
                    format_duration(*reference),
                    format_duration(*slack)
                )?;
                match strain {
                    Some(strain) => write!(f, ", as {strain}"),
                    None => Ok(()),
                }
            }
            Basis::AfterHang { strain } => write!(f, "the short limit, as {strain}"),
        }
    }
}

impl std::fmt::Display for Timeout {
    /// The limit and its basis: `5.4s (10x what the reference needs here,
    /// 40ms, plus 5s)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.designed_wait {
            Some(wait) => write!(
                f,
                "{} (the {} this test waits by design, plus {})",
                format_duration(self.limit),
                format_duration(wait),
                self.basis
            ),
            None => write!(f, "{} ({})", format_duration(self.limit), self.basis),
        }
    }
}

/// `factor x reference + slack`, or the ceiling when that is less.
fn derived(ceiling: Duration, key: &'static str, reference: Duration, slack: Duration) -> Timeout {
    // Whole milliseconds: the limit a message states is the one applied.
    let seconds = reference.as_secs_f64() * REFERENCE_FACTOR + slack.as_secs_f64();
    let limit = Duration::from_millis((seconds * 1000.0).round() as u64);
    if limit >= ceiling {
        return Timeout::new(ceiling, Basis::Ceiling { key });
    }
    Timeout::new(
        limit,
        Basis::Reference {
            reference,
            slack,
            strain: None,
        },
    )
}

/// One test's limit: `reference` is the reference's time for this test,
/// `strain` whether the exercise already hung or spent its budget.
pub fn test_timeout(
    ceiling: Duration,
    reference: Option<Duration>,
    strain: Option<Strain>,
) -> Timeout {
    const KEY: &str = "test_timeout_seconds";
    match (reference, strain) {
        (None, None) => Timeout::new(ceiling, Basis::Ceiling { key: KEY }),
        (None, Some(strain)) => Timeout::new(
            AFTER_HANG_WITHOUT_REFERENCE.min(ceiling),
            Basis::AfterHang { strain },
        ),
        (Some(reference), None) => derived(ceiling, KEY, reference, TEST_SLACK),
        (Some(reference), Some(strain)) => {
            let mut timeout = derived(ceiling, KEY, reference, SHORT_SLACK);
            if let Basis::Reference { strain: s, .. } = &mut timeout.basis {
                *s = Some(strain);
            }
            timeout
        }
    }
}

/// One harness run's limit, from the reference harness's wall time.
pub fn harness_timeout(ceiling: Duration, reference: Option<Duration>) -> Timeout {
    const KEY: &str = "observe_timeout_seconds";
    match reference {
        Some(reference) => derived(ceiling, KEY, reference, HARNESS_SLACK),
        None => Timeout::new(ceiling, Basis::Ceiling { key: KEY }),
    }
}

/// What an exercise's tests may take in all before the rest get short
/// limits: ten times the reference's tests together, plus
/// [`BUDGET_SLACK_PER_TEST`] per test and one [`TEST_SLACK`]. `None`
/// without reference times. Without it, a submission whose every test
/// sleeps just under its own limit would cost the whole sum of limits.
pub fn tests_budget(reference: &BTreeMap<String, f64>) -> Option<Duration> {
    if reference.is_empty() {
        return None;
    }
    let total: f64 = reference.values().sum();
    let per_test = BUDGET_SLACK_PER_TEST * u32::try_from(reference.len()).unwrap_or(u32::MAX);
    Some(Duration::from_secs_f64(total * REFERENCE_FACTOR) + per_test + TEST_SLACK)
}

/// The limits of one exercise's tests as they run (from several threads):
/// each test's limit from the reference's time for it, short once a test
/// timed out or the tests spent their budget.
#[derive(Debug)]
pub struct TestClock {
    ceiling: Duration,
    /// Seconds per test name (`<target>::<test>`), the reference's.
    reference: BTreeMap<String, f64>,
    /// What each test waits by design (`<target>::<test>`, see [`super::waits`]).
    waits: BTreeMap<String, Duration>,
    budget: Option<Duration>,
    state: Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    spent: Duration,
    strain: Option<Strain>,
}

impl TestClock {
    /// `reference`: the reference's seconds per test (empty when unknown).
    pub fn new(ceiling: Duration, reference: BTreeMap<String, f64>) -> TestClock {
        TestClock {
            ceiling,
            budget: tests_budget(&reference),
            reference,
            waits: BTreeMap::new(),
            state: Mutex::new(ClockState::default()),
        }
    }

    /// The clock with what each test waits by design (`<target>::<test>`).
    pub fn with_waits(self, waits: BTreeMap<String, Duration>) -> TestClock {
        TestClock { waits, ..self }
    }

    /// The limit for the test named `<target>::<test>`, starting now.
    pub fn timeout(&self, test: &str) -> Timeout {
        let reference = self
            .reference
            .get(test)
            .filter(|s| s.is_finite() && **s >= 0.0)
            .map(|s| Duration::from_secs_f64(*s));
        let timeout = test_timeout(self.ceiling, reference, self.state().strain);
        match self.waits.get(test) {
            Some(wait) => timeout.waiting(*wait, self.ceiling),
            None => timeout,
        }
    }

    /// A test ended after `elapsed`, killed at its limit or not.
    pub fn record(&self, elapsed: Duration, timed_out: bool) {
        let mut state = self.state();
        state.spent += elapsed;
        if state.strain.is_some() {
            return;
        }
        if timed_out {
            state.strain = Some(Strain::Hung);
        } else if let Some(budget) = self.budget.filter(|b| state.spent > *b) {
            state.strain = Some(Strain::OverBudget { budget });
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn a_test_gets_ten_times_the_reference_plus_five_seconds() {
        let t = test_timeout(MINUTE, Some(ms(40)), None);
        assert_eq!(t.limit, ms(5400));
        assert_eq!(
            t.to_string(),
            "5.4s (10x what the reference needs here, 40ms, plus 5s)"
        );
    }

    #[test]
    fn the_ceiling_caps_a_slow_reference_and_stands_in_for_a_missing_one() {
        let slow = test_timeout(MINUTE, Some(Duration::from_secs(8)), None);
        assert_eq!(slow.limit, MINUTE);
        assert_eq!(slow.to_string(), "60s (course.yaml's test_timeout_seconds)");
        assert_eq!(test_timeout(MINUTE, None, None).limit, MINUTE);
        let harness = harness_timeout(Duration::from_secs(180), None);
        assert_eq!(harness.limit, Duration::from_secs(180));
        assert!(harness
            .to_string()
            .ends_with("(course.yaml's observe_timeout_seconds)"));
    }

    #[test]
    fn after_a_hang_the_slack_is_half_a_second() {
        let t = test_timeout(MINUTE, Some(ms(40)), Some(Strain::Hung));
        assert_eq!(t.limit, ms(900));
        assert_eq!(
            t.to_string(),
            "900ms (10x what the reference needs here, 40ms, plus 500ms, as an earlier test of this exercise timed out)"
        );
        let unknown = test_timeout(MINUTE, None, Some(Strain::Hung));
        assert_eq!(unknown.limit, AFTER_HANG_WITHOUT_REFERENCE);
        let low_ceiling = test_timeout(ms(3000), None, Some(Strain::Hung));
        assert_eq!(low_ceiling.limit, ms(3000));
    }

    #[test]
    fn a_harness_gets_ten_times_the_reference_plus_ten_seconds() {
        let ceiling = Duration::from_secs(180);
        let t = harness_timeout(ceiling, Some(Duration::from_secs(6)));
        assert_eq!(t.limit, Duration::from_secs(70));
        assert_eq!(
            t.to_string(),
            "70s (10x what the reference needs here, 6s, plus 10s)"
        );
        let capped = harness_timeout(ceiling, Some(Duration::from_secs(20)));
        assert_eq!(capped.limit, ceiling);
    }

    /// ex03's tests as the reference ran them, in seconds.
    fn recorded() -> BTreeMap<String, f64> {
        [
            ("ex03::serial", 0.03),
            ("ex03::pool_order", 0.12),
            ("ex03::pool_hands_out", 0.20),
            ("ex03::pool_empty", 0.05),
        ]
        .into_iter()
        .map(|(name, s)| (name.to_owned(), s))
        .collect()
    }

    #[test]
    fn a_timed_out_test_shortens_the_rest_of_the_exercise() {
        let clock = TestClock::new(MINUTE, recorded());
        assert_eq!(clock.timeout("ex03::pool_order").limit, ms(6200));
        clock.record(ms(6200), true);
        assert_eq!(clock.timeout("ex03::pool_hands_out").limit, ms(2500));
        assert_eq!(clock.timeout("ex03::other").limit, ms(10_000));
        // A later pass does not lift it.
        clock.record(ms(100), false);
        assert_eq!(clock.timeout("ex03::pool_empty").limit, ms(1000));
    }

    #[test]
    fn tests_that_take_their_budget_shorten_the_rest() {
        let clock = TestClock::new(MINUTE, recorded());
        // 10 x 0.40 s + 4 x 1 s + 5 s.
        assert_eq!(tests_budget(&recorded()), Some(ms(13_000)));
        for _ in 0..2 {
            clock.record(ms(6200), false);
            assert_eq!(clock.timeout("ex03::serial").limit, ms(5300));
        }
        clock.record(ms(700), false);
        let t = clock.timeout("ex03::serial");
        assert_eq!(t.limit, ms(800));
        assert!(
            t.to_string().contains("already took more than 13s in all"),
            "{t}"
        );
    }

    #[test]
    fn a_correct_submission_ten_times_slower_keeps_its_full_limits() {
        let clock = TestClock::new(MINUTE, recorded());
        for seconds in recorded().values() {
            clock.record(Duration::from_secs_f64(seconds * REFERENCE_FACTOR), false);
        }
        assert_eq!(clock.timeout("ex03::serial").limit, ms(5300));
    }

    #[test]
    fn a_test_that_waits_by_design_gets_its_wait_on_top_even_after_a_hang() {
        let waits = [("ex03::pool_order".to_owned(), Duration::from_secs(10))].into();
        let clock = TestClock::new(MINUTE, recorded()).with_waits(waits);
        let t = clock.timeout("ex03::pool_order");
        assert_eq!(t.limit, ms(16_200));
        assert_eq!(
            t.to_string(),
            "16.2s (the 10s this test waits by design, plus 10x what the reference needs here, 120ms, plus 5s)"
        );
        clock.record(ms(6200), true);
        assert_eq!(clock.timeout("ex03::pool_order").limit, ms(11_700));
        assert_eq!(
            clock.timeout("ex03::serial").limit,
            ms(800),
            "no wait of its own"
        );
        // Never past the ceiling.
        let short = TestClock::new(Duration::from_secs(12), recorded())
            .with_waits([("ex03::serial".to_owned(), Duration::from_secs(10))].into());
        assert_eq!(short.timeout("ex03::serial").limit, Duration::from_secs(12));
    }

    #[test]
    fn without_reference_times_only_a_hang_shortens_limits() {
        let clock = TestClock::new(MINUTE, BTreeMap::new());
        clock.record(Duration::from_secs(50), false);
        clock.record(Duration::from_secs(50), false);
        assert_eq!(clock.timeout("ex03::serial").limit, MINUTE);
        clock.record(MINUTE, true);
        let t = clock.timeout("ex03::serial");
        assert_eq!(t.limit, AFTER_HANG_WITHOUT_REFERENCE);
        assert_eq!(
            t.to_string(),
            "10s (the short limit, as an earlier test of this exercise timed out)"
        );
    }
}
