//! How far a check is from its bound, and how much of that distance the
//! machine could explain.
//!
//! Other programs and a CPU quota only ever add time. On `n` CPUs shared
//! fairly, a timing whose threads ran while other programs used `o` cores'
//! worth of CPU got at least `n - o` of them, so it may be slower than on a
//! quiet machine by up to `n / (n - o)`; throttled by a quota a fraction `t`
//! of the time, by up to `1 / (1 - t)`, and by anything once `t` is more
//! than a tenth (whole stalled periods). [`slowdown`] is the larger. (Two
//! threads beside one busy loop on two cores get two thirds of the CPU each:
//! 1.5x, and the busy loop uses two thirds of a core: 2 / 1.33 = 1.5x. One
//! thread beside a build that keeps both cores busy may get a tenth of a
//! core.) Only computing is slowed so: a stretch of `w` seconds that used
//! `cpu` seconds of CPU was, on a quiet machine, at least
//! `max(w / F, w - (F - 1) * cpu)` long, so sleeping work (ex02's queries)
//! barely counts as slowed. CPU pressure is not used here: it also counts the harness's own
//! threads waiting for each other. The spread of the repeats adds its own
//! slack.
//!
//! With a ratio `metric / per`, which side may be inflated decides which way
//! the value may be wrong:
//! - a value below `at_least` may be the machine's doing when `per` was
//!   slowed (a slow parallel run makes a speedup look small); a value above
//!   `at_most`, when `metric` was;
//! - a pass of `at_least` may be the machine's doing when `metric` was slowed
//!   (a slow serial baseline makes a speedup look big); a pass of
//!   `at_most`, when `per` was.
//!
//! A count (`Unit::Count`) and the `unit` and `cores` metrics are exact.

use protocol::machine::Contention;
use protocol::observe::{Measurements, Metric, Unit};

/// A check this close to its bound (relatively) is borderline: measure it
/// again before deciding.
pub const BORDERLINE: f64 = 0.10;
/// A miss by no more than this much (relatively) beyond its bound is
/// measured again before it is decided. Short parallel runs on a small
/// shared machine vary by this much between runs of the same code, more than
/// any load figure shows: on an idle 2-core VM the reference's 2-thread
/// speedup on tiny tasks measured from 1.2x to 1.9x against a bound of 1.5x.
/// The misses the observations exist to catch (a serial pool, one worker,
/// a deleted loop) are off by half or more and are decided at once.
pub const MEASURE_AGAIN_WITHIN: f64 = 0.25;
/// A quota that held a measurement back for more than this share of its time
/// stalls it in whole periods (tens of milliseconds at a time), so one short
/// run may be held back far more than the average share says: a half-core
/// quota measured the reference's 1-thread sweep 5.5 times slower than its
/// 2-thread one. Its timings are credited the largest slowdown.
const STALLING_THROTTLE: f64 = 0.10;
/// The largest slowdown the machine is credited with: beyond it, every
/// miss is the machine's to explain anyway.
const MAX_SLOWDOWN: f64 = 20.0;

/// The factor by which contention may have slowed a timing on a machine of
/// `cpus` CPUs: at least 1, at most [`MAX_SLOWDOWN`].
pub fn slowdown(c: &Contention, cpus: usize) -> f64 {
    let n = cpus.max(1) as f64;
    let shared = c.others_cores().map(|o| n / (n - o.clamp(0.0, n)));
    let throttled = c.throttled().map(|t| {
        if t > STALLING_THROTTLE {
            MAX_SLOWDOWN
        } else {
            1.0 / (1.0 - t.clamp(0.0, 1.0))
        }
    });
    let computing = [shared, throttled]
        .into_iter()
        .flatten()
        .map(|x| if x.is_finite() { x } else { MAX_SLOWDOWN })
        .fold(1.0, f64::max)
        .min(MAX_SLOWDOWN);
    // Only computing is slowed: of a stretch of `w` seconds with `cpu`
    // seconds of computing, at most `cpu` (one thread's worth) was stretched
    // by `computing`. Sleeping work barely notices other programs.
    match c.own_cpu_seconds {
        Some(cpu) if c.seconds > 0.0 => {
            let w = c.seconds;
            let quiet = (w / computing).max(w - (computing - 1.0) * cpu.max(0.0));
            w / quiet
        }
        _ => computing,
    }
}

/// What the machine did while `metric` was measured: the total over its
/// repeats, else over the whole harness run. `None` for exact metrics (counts,
/// `unit`, `cores`), which contention cannot change, and when nothing is known.
pub fn while_measuring(m: &Measurements, metric: &Metric) -> Option<Contention> {
    if is_exact(metric) {
        return None;
    }
    Contention::total(&metric.contention).or(m.during_run)
}

/// Counts and the two metrics every harness records are facts, not timings.
pub fn is_exact(metric: &Metric) -> bool {
    metric.unit == Unit::Count || protocol::observe::ALWAYS_RECORDED.contains(&metric.name.as_str())
}

/// One check's position relative to its bounds, with the slack the machine
/// gives each side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub value: f64,
    pub at_least: Option<f64>,
    pub at_most: Option<f64>,
    /// [`slowdown`] of the metric's measurement (1 for exact metrics).
    pub metric_slowdown: f64,
    /// [`slowdown`] of the `per` metric's measurement (1 without `per`).
    pub per_slowdown: f64,
    /// `(median - min) / min` of the check's timings (0 when unknown).
    pub spread: f64,
}

/// Where a check stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing {
    /// Within its bounds by more than the machine could fake.
    Pass,
    /// Within its bounds, but only as far as the machine could have faked it:
    /// `could_be` is the value the check would have if the inflated side had
    /// been measured on a quiet machine.
    PassThatTheMachineCouldFake { could_be: f64 },
    /// Out of its bounds by `missed_by` (a factor, at least 1), which the
    /// machine's slowdown and the repeats' spread (`explains`) cover.
    MissTheMachineCouldExplain { missed_by: f64, explains: f64 },
    /// Out of its bounds by more than the machine could explain.
    Miss { missed_by: f64, explains: f64 },
}

impl Position {
    /// Where the check stands.
    pub fn standing(&self) -> Standing {
        let slack = |slowdown: f64| slowdown * (1.0 + self.spread.max(0.0));
        if let Some(lo) = self.at_least.filter(|&lo| self.value < lo) {
            return miss(lo / self.value, slack(self.per_slowdown));
        }
        if let Some(hi) = self.at_most.filter(|&hi| self.value > hi) {
            return miss(self.value / hi, slack(self.metric_slowdown));
        }
        // A pass: would it still pass had the inflated side been measured quiet?
        if let Some(lo) = self.at_least {
            let could_be = self.value / self.metric_slowdown;
            if could_be < lo {
                return Standing::PassThatTheMachineCouldFake { could_be };
            }
        }
        if let Some(hi) = self.at_most {
            let could_be = self.value * self.per_slowdown;
            if could_be > hi {
                return Standing::PassThatTheMachineCouldFake { could_be };
            }
        }
        Standing::Pass
    }

    /// Within [`BORDERLINE`] of a bound, on either side.
    pub fn is_borderline(&self) -> bool {
        let near = |bound: f64| bound != 0.0 && ((self.value - bound) / bound).abs() <= BORDERLINE;
        self.at_least.is_some_and(near) || self.at_most.is_some_and(near)
    }
}

/// A miss by `missed_by` (a factor, at least 1) that is worth measuring
/// again: within [`MEASURE_AGAIN_WITHIN`] of its bound.
pub fn is_close_miss(missed_by: f64) -> bool {
    missed_by <= 1.0 + MEASURE_AGAIN_WITHIN
}

/// How much worse than the reference solution a submission may be, measured
/// in turns with it, and still be given the benefit of the doubt: correct
/// solutions come within a few percent of the reference; the wrong ones the
/// observations catch are off by half or more.
pub const REFERENCE_TOLERANCE: f64 = 1.25;

/// What the reference solution, measured in turns with a submission that
/// missed, says about that miss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reference {
    /// The reference misses it on this machine too.
    AlsoMisses { value: f64 },
    /// The reference passes, and the submission is worse than it by more
    /// than [`REFERENCE_TOLERANCE`]: the machine was good enough.
    PassesFarAhead { value: f64, worse_by: f64 },
    /// The reference passes, but the submission comes close to it (the
    /// machine may have hurt the submission's runs more), or the machine
    /// could have faked the reference's pass.
    PassesClose { value: f64, worse_by: f64 },
}

/// Compare a submission's missed check with the reference's same check,
/// measured in the same turns.
pub fn against_reference(submission: &Position, reference: &Position) -> Reference {
    let value = reference.value;
    let standing = reference.standing();
    if !matches!(
        standing,
        Standing::Pass | Standing::PassThatTheMachineCouldFake { .. }
    ) {
        return Reference::AlsoMisses { value };
    }
    // Which way is worse: below `at_least`, or above `at_most`.
    let below = submission.at_least.is_some_and(|lo| submission.value < lo);
    let worse_by = if below {
        value / submission.value
    } else {
        submission.value / value
    };
    let worse_by = if worse_by.is_finite() {
        worse_by
    } else {
        f64::MAX
    };
    // A reference pass the machine could have faked proves nothing.
    if worse_by > REFERENCE_TOLERANCE && standing == Standing::Pass {
        Reference::PassesFarAhead { value, worse_by }
    } else {
        Reference::PassesClose { value, worse_by }
    }
}

fn miss(missed_by: f64, explains: f64) -> Standing {
    let missed_by = if missed_by.is_finite() {
        missed_by
    } else {
        f64::MAX
    };
    if missed_by <= explains {
        Standing::MissTheMachineCouldExplain {
            missed_by,
            explains,
        }
    } else {
        Standing::Miss {
            missed_by,
            explains,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(others: f64, pressure: f64) -> Contention {
        Contention {
            seconds: 1.0,
            others_cpu_seconds: Some(others),
            cpu_pressure_seconds: Some(pressure),
            throttled_seconds: Some(0.0),
            own_cpu_seconds: None,
        }
    }

    /// `serial / threads >= 1.6`, the shape of ex03's threads-crunch-in-parallel.
    fn speedup(value: f64, serial_slowdown: f64, threads_slowdown: f64) -> Position {
        Position {
            value,
            at_least: Some(1.6),
            at_most: None,
            metric_slowdown: serial_slowdown,
            per_slowdown: threads_slowdown,
            spread: 0.02,
        }
    }

    #[test]
    fn slowdown_is_one_on_a_quiet_machine_and_grows_with_what_others_took() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(slowdown(&busy(0.0, 0.0), 2), 1.0));
        // Self-inflicted pressure (the harness's own threads) does not count.
        assert!(close(slowdown(&busy(0.0, 1.0), 2), 1.0));
        assert!(close(slowdown(&busy(2.0 / 3.0, 1.0), 2), 1.5));
        assert!(close(slowdown(&busy(1.5, 0.3), 2), 4.0));
        assert!(close(slowdown(&busy(1.9, 1.0), 2), 20.0));
        assert!(close(slowdown(&busy(2.5, 1.0), 2), 20.0));
        assert!(close(slowdown(&busy(-0.05, 0.0), 2), 1.0));
        let throttled = |seconds| Contention {
            throttled_seconds: Some(seconds),
            ..busy(0.0, 0.0)
        };
        assert!(close(slowdown(&throttled(0.05), 1), 1.0 / 0.95));
        // Held back half the time: stalls of whole periods, anything goes.
        assert!(close(slowdown(&throttled(0.5), 1), 20.0));
        let unknown = Contention {
            seconds: 1.0,
            ..Contention::default()
        };
        assert!(close(slowdown(&unknown, 2), 1.0));
    }

    #[test]
    fn waiting_work_is_barely_slowed_and_computing_work_fully() {
        // ex02's serial queries: 626 ms of sleeping, 3 ms of CPU, beside a
        // build that keeps both cores busy.
        let sleeping = Contention {
            seconds: 0.626,
            others_cpu_seconds: Some(1.2),
            own_cpu_seconds: Some(0.003),
            ..busy(0.0, 0.0)
        };
        let s = slowdown(&sleeping, 2);
        assert!(s > 1.0 && s < 1.15, "{s}");
        // One crunching thread: all of its time is computing.
        let crunching = Contention {
            seconds: 1.0,
            others_cpu_seconds: Some(1.5),
            own_cpu_seconds: Some(0.25),
            ..busy(0.0, 0.0)
        };
        assert!((slowdown(&crunching, 2) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn a_correct_speedup_slowed_by_a_busy_neighbour_is_a_miss_the_machine_explains() {
        // ex03 beside one busy loop: 1.11x, threads slowed by up to 2x.
        assert!(matches!(
            speedup(1.11, 1.0, 2.0).standing(),
            Standing::MissTheMachineCouldExplain { .. }
        ));
    }

    #[test]
    fn a_miss_far_beyond_the_machines_slack_is_a_miss() {
        // A serial "parallel" run: 1.0x against 1.6, on a quiet machine.
        assert_eq!(
            speedup(1.0, 1.0, 1.05).standing(),
            Standing::Miss {
                missed_by: 1.6,
                explains: 1.05 * 1.02
            }
        );
        // A busy serial baseline does not excuse a small speedup: only a
        // slowed parallel run does.
        assert!(matches!(
            speedup(1.0, 3.0, 1.0).standing(),
            Standing::Miss { .. }
        ));
    }

    #[test]
    fn a_pass_that_a_busy_baseline_could_fake_is_not_a_pass() {
        // A one-worker pool at 1.53x because serial measured 149 ms, not 90.
        assert_eq!(
            speedup(1.65, 1.6, 1.0).standing(),
            Standing::PassThatTheMachineCouldFake {
                could_be: 1.65 / 1.6
            }
        );
        // A busy parallel run only makes a real speedup look smaller.
        assert_eq!(speedup(1.9, 1.0, 2.0).standing(), Standing::Pass);
        assert_eq!(speedup(1.9, 1.1, 1.0).standing(), Standing::Pass);
    }

    #[test]
    fn at_most_checks_mirror_at_least() {
        // map / loop <= 1.25.
        let ratio = |value, map, lp| Position {
            value,
            at_least: None,
            at_most: Some(1.25),
            metric_slowdown: map,
            per_slowdown: lp,
            spread: 0.0,
        };
        assert!(matches!(
            ratio(1.5, 1.5, 1.0).standing(),
            Standing::MissTheMachineCouldExplain { .. }
        ));
        assert!(matches!(
            ratio(1.5, 1.0, 3.0).standing(),
            Standing::Miss { .. }
        ));
        assert!(matches!(
            ratio(1.0, 1.0, 1.5).standing(),
            Standing::PassThatTheMachineCouldFake { .. }
        ));
        assert_eq!(ratio(0.6, 2.0, 1.0).standing(), Standing::Pass);
    }

    #[test]
    fn spread_widens_the_slack_and_a_zero_value_is_a_plain_miss() {
        let mut p = speedup(1.3, 1.0, 1.0);
        assert!(matches!(p.standing(), Standing::Miss { .. }));
        p.spread = 0.3;
        assert!(matches!(
            p.standing(),
            Standing::MissTheMachineCouldExplain { .. }
        ));
        assert!(matches!(
            speedup(0.0, 1.0, 5.0).standing(),
            Standing::Miss { .. }
        ));
    }

    #[test]
    fn the_reference_decides_a_miss_the_machine_could_explain() {
        let sub = speedup(1.11, 1.0, 2.0);
        assert_eq!(
            against_reference(&sub, &speedup(1.2, 1.0, 2.0)),
            Reference::AlsoMisses { value: 1.2 }
        );
        // A one-worker pool beside the reference's 1.9x.
        let one_worker = speedup(1.0, 1.0, 2.0);
        assert!(matches!(
            against_reference(&one_worker, &speedup(1.9, 1.0, 2.0)),
            Reference::PassesFarAhead { .. }
        ));
        // A reference pass that a busy baseline could fake.
        assert!(matches!(
            against_reference(&one_worker, &speedup(1.9, 1.5, 2.0)),
            Reference::PassesClose { .. }
        ));
        // A correct solution a little slower than the reference, both on a busy machine.
        assert!(matches!(
            against_reference(&speedup(1.5, 1.0, 2.0), &speedup(1.7, 1.0, 2.0)),
            Reference::PassesClose { .. }
        ));
    }

    #[test]
    fn borderline_is_within_ten_percent_of_a_bound_on_either_side() {
        assert!(speedup(1.5, 1.0, 1.0).is_borderline());
        assert!(speedup(1.75, 1.0, 1.0).is_borderline());
        assert!(!speedup(1.8, 1.0, 1.0).is_borderline());
        assert!(!speedup(1.4, 1.0, 1.0).is_borderline());
    }
}
