//! When a measurement counts as taken on a busy machine.
//!
//! The harness records what the rest of the machine did during each timed
//! repeat ([`protocol::machine::Contention`]); course.yaml's `defaults` say how
//! much is too much. `grader doctor` and the verdicts judge with the same
//! rule, so what doctor calls quiet is what grading calls quiet.

use crate::course::Defaults;
use protocol::machine::Contention;

/// How much contention a measurement may have and still count as quiet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusyLimits {
    /// Other programs' CPU use, in cores.
    pub other_cores: f64,
    /// The fraction of the time tasks waited for a CPU (or the CPU quota
    /// held this process back).
    pub pressure: f64,
}

impl BusyLimits {
    pub fn from_defaults(defaults: &Defaults) -> BusyLimits {
        BusyLimits {
            other_cores: defaults.busy_other_cores,
            pressure: defaults.busy_cpu_pressure,
        }
    }
}

/// The state of the machine during some stretch of measuring.
#[derive(Debug, Clone, PartialEq)]
pub enum Busyness {
    /// Every known figure is below its limit, and at least one is known.
    Quiet,
    /// Some figure is above its limit: the sentence says which, e.g. `other
    /// programs used 0.95 cores (more than 0.10)`.
    Busy(String),
    /// Neither other programs' CPU use nor CPU pressure could be read.
    Unknown,
}

/// Judge the contention of a stretch of measuring (several repeats added up
/// with [`Contention::total`]).
pub fn judge(contention: Option<&Contention>, limits: BusyLimits) -> Busyness {
    let Some(c) = contention else {
        return Busyness::Unknown;
    };
    let mut over = Vec::new();
    if let Some(cores) = c.others_cores().filter(|&x| x > limits.other_cores) {
        over.push(format!(
            "other programs used {cores:.2} cores (more than {:.2})",
            limits.other_cores
        ));
    }
    if let Some(p) = c.pressure().filter(|&x| x > limits.pressure) {
        over.push(format!(
            "tasks waited for a CPU {:.0}% of the time (more than {:.0}%)",
            p * 100.0,
            limits.pressure * 100.0
        ));
    }
    if let Some(t) = c.throttled().filter(|&x| x > limits.pressure) {
        over.push(format!(
            "the CPU quota held the measurement back {:.0}% of the time",
            t * 100.0
        ));
    }
    match (over.is_empty(), c.others_cores(), c.pressure()) {
        (false, _, _) => Busyness::Busy(over.join(", ")),
        (true, None, None) => Busyness::Unknown,
        (true, _, _) => Busyness::Quiet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BusyLimits = BusyLimits {
        other_cores: 0.1,
        pressure: 0.1,
    };

    fn stretch(others: Option<f64>, pressure: Option<f64>, throttled: Option<f64>) -> Contention {
        Contention {
            seconds: 2.0,
            others_cpu_seconds: others,
            cpu_pressure_seconds: pressure,
            throttled_seconds: throttled,
            own_cpu_seconds: None,
        }
    }

    #[test]
    fn below_every_limit_is_quiet() {
        let c = stretch(Some(0.1), Some(0.02), Some(0.0));
        assert_eq!(judge(Some(&c), LIMITS), Busyness::Quiet);
        // Coarse /proc/stat ticks can make a quiet stretch slightly negative.
        let c = stretch(Some(-0.02), None, None);
        assert_eq!(judge(Some(&c), LIMITS), Busyness::Quiet);
    }

    #[test]
    fn any_figure_above_its_limit_is_busy_and_says_which() {
        let c = stretch(Some(1.9), Some(0.1), None);
        let Busyness::Busy(why) = judge(Some(&c), LIMITS) else {
            panic!("not busy")
        };
        assert_eq!(why, "other programs used 0.95 cores (more than 0.10)");
        let c = stretch(Some(0.0), Some(0.8), None);
        assert!(
            matches!(judge(Some(&c), LIMITS), Busyness::Busy(w) if w.contains("waited for a CPU 40%"))
        );
        let c = stretch(None, None, Some(1.0));
        assert!(matches!(judge(Some(&c), LIMITS), Busyness::Busy(w) if w.contains("quota")));
    }

    #[test]
    fn nothing_known_is_unknown_never_quiet() {
        assert_eq!(judge(None, LIMITS), Busyness::Unknown);
        let c = stretch(None, None, Some(0.0));
        assert_eq!(judge(Some(&c), LIMITS), Busyness::Unknown);
    }
}
