//! Judging observations: course.yaml's claims against a harness's measurements.
//!
//! Timing noise is one-sided (interference only adds time), so every check
//! compares minimums over the repeats, as a ratio measured in the same run:
//! `min(metric) / min(per)`, or `min(metric)` alone. The verdict:
//! - skipped when the machine has fewer cores than the observation needs;
//! - fail when a check could not be measured (the harness's error says why);
//! - pass when every check holds by more than a busy machine could fake
//!   ([`crate::judge::margin`]: a baseline measured while other programs used the
//!   CPU may be inflated, and so may the ratio built on it);
//! - fail when a check misses by more than the machine's load and the
//!   repeats' spread could explain, with the numbers;
//! - otherwise the machine decides: when the reference solution, measured in
//!   turns with the submission, is far ahead, fail; when it misses too,
//!   inconclusive; when other programs used the CPU while the failing checks
//!   were measured (course.yaml's `busy_*` limits), inconclusive, saying what
//!   and how much; when the repeats spread more than `max_spread`,
//!   inconclusive; on a quiet machine, fail.
//!
//! Only pass earns points.

use crate::course::{Check, Observation};
use crate::judge::busy::{self, BusyLimits, Busyness};
use crate::judge::check::{check, empty_check};
use crate::judge::margin::{self, Position, Reference, Standing};
use crate::model::{
    CheckResult, InconclusiveCause, NotMeasuredCause, ObservationResult, ObservationState,
    Recorded, Verdict,
};
use crate::text::{number, plural};
use protocol::machine::Contention;
use protocol::observe::Measurements;

const NOISY_ADVICE: &str =
    "too noisy to judge: grade again on a quieter machine (close other programs) or with more --repeats";
const BUSY_ADVICE: &str =
    "close other programs (builds, editors' code checkers, browsers) and grade again, or grade with more --repeats; `grader doctor` says when the machine is quiet";
const REFERENCE_MISSES_ADVICE: &str =
    "this machine cannot show it now: grade again when it is quieter (see `grader doctor`)";

/// Why a flagged exercise's observations are not measured under `--strict`.
const POINTS_WITHHELD: &str =
    "--strict grading withholds the points of an exercise whose sources are flagged";
/// Why an exercise's observations wait until a test passes.
const NO_TEST_PASSES: &str =
    "no test passes yet; observations are measured once the tests start passing";
const DOES_NOT_BUILD: &str = "the exercise does not build (see its tests)";

/// What judging needs beside the measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criteria {
    /// The course's `max_spread`; an observation may override it.
    pub max_spread: f64,
    /// How many cores the grader may use.
    pub cores: usize,
    /// When a measurement counts as taken on a busy machine.
    pub busy: BusyLimits,
}

/// Judge one observation on one harness run.
pub fn judge(obs: &Observation, m: &Measurements, rules: &Criteria) -> ObservationResult {
    judge_beside_reference(obs, m, rules, None)
}

/// Judge one observation on one harness run, with the reference solution's
/// harness run measured in turns with it on the same machine, when there is
/// one: it decides the misses the machine could explain.
pub fn judge_beside_reference(
    obs: &Observation,
    m: &Measurements,
    rules: &Criteria,
    reference: Option<&Measurements>,
) -> ObservationResult {
    if rules.cores < obs.min_cores {
        return skipped(obs, rules.cores);
    }
    let checks: Vec<CheckResult> = obs.checks.iter().map(|c| check(c, m)).collect();
    if let Some(error) = checks.iter().find_map(|c| c.error.clone()) {
        let state = ObservationState::NotMeasured {
            cause: NotMeasuredCause::Metric(error.clone()),
        };
        return result(obs, Verdict::Fail, state, error, checks);
    }
    let judged = Judged::new(obs, m, rules, checks);
    let (verdict, state, reason) = judged.decide(reference);
    result(obs, verdict, state, reason, judged.checks)
}

/// An observation's measured checks, with where each stands.
struct Judged<'a> {
    obs: &'a Observation,
    rules: &'a Criteria,
    m: &'a Measurements,
    checks: Vec<CheckResult>,
    positions: Vec<Position>,
    summaries: String,
}

impl<'a> Judged<'a> {
    fn new(
        obs: &'a Observation,
        m: &'a Measurements,
        rules: &'a Criteria,
        checks: Vec<CheckResult>,
    ) -> Self {
        let positions = obs
            .checks
            .iter()
            .zip(&checks)
            .map(|(c, r)| position(c, r, m, rules.busy))
            .collect();
        let summaries = checks
            .iter()
            .map(|c| c.summary.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Judged {
            obs,
            rules,
            m,
            checks,
            positions,
            summaries,
        }
    }

    fn decide(&self, reference: Option<&Measurements>) -> (Verdict, ObservationState, String) {
        let standings: Vec<Standing> = self.positions.iter().map(Position::standing).collect();
        if let Some(reason) = standings.iter().find_map(|s| self.clear_miss(s)) {
            return (Verdict::Fail, ObservationState::Measured, reason);
        }
        let explainable = standings
            .iter()
            .any(|s| matches!(s, Standing::MissTheMachineCouldExplain { .. }));
        if explainable {
            return self.explainable_miss(reference);
        }
        if let Some((index, could_be)) = standings.iter().enumerate().find_map(|(i, s)| match s {
            Standing::PassThatTheMachineCouldFake { could_be } => Some((i, *could_be)),
            _ => None,
        }) {
            return self.busy_baseline(index, could_be);
        }
        let summaries = self.summaries.clone();
        (Verdict::Pass, ObservationState::Measured, summaries)
    }

    /// A miss beyond what the machine could explain: the reason, with the
    /// numbers when the machine's slack was more than nothing.
    fn clear_miss(&self, standing: &Standing) -> Option<String> {
        let Standing::Miss {
            missed_by,
            explains,
        } = *standing
        else {
            return None;
        };
        // Say how far beyond the slack only when there was slack to speak of.
        Some(if explains > 1.0 + margin::BORDERLINE / 2.0 {
            format!(
                "{}; it misses by {}x, more than this machine's load and the repeats' spread could explain ({}x)",
                self.summaries,
                number(missed_by),
                number(explains)
            )
        } else {
            self.summaries.clone()
        })
    }

    /// Some check misses by no more than the machine could explain.
    fn explainable_miss(
        &self,
        reference: Option<&Measurements>,
    ) -> (Verdict, ObservationState, String) {
        let summaries = &self.summaries;
        let compared = reference.and_then(|r| self.against_reference(r));
        match compared {
            Some((name, Reference::PassesFarAhead { value, worse_by })) => {
                let reason = format!(
                    "{summaries}; the reference solution, measured in turns with yours on this machine, reaches {} on {name} ({}x better), so the machine is not what holds yours back",
                    number(value),
                    number(worse_by)
                );
                return (Verdict::Fail, ObservationState::Measured, reason);
            }
            Some((name, Reference::AlsoMisses { value })) => {
                let reason = format!(
                    "{summaries}; but the reference solution misses {name} on this machine too ({}): {REFERENCE_MISSES_ADVICE}",
                    number(value)
                );
                let cause = InconclusiveCause::ReferenceAlsoMisses {
                    reference_value: value,
                };
                return inconclusive(cause, reason);
            }
            Some((_, Reference::PassesClose { .. })) | None => {}
        }
        let failing = self.failing_contention();
        let busy = failing.as_ref().map(|(_, c)| c);
        if let Busyness::Busy(why) = busy::judge(busy, self.rules.busy) {
            let (side, contention) = failing.unwrap_or_default();
            let slowdown = margin::slowdown(&contention, cpus(self.m));
            let reason = format!(
                "{summaries}; but while {side} was measured, {why}, which can slow it down by up to {}x: {BUSY_ADVICE}",
                number(slowdown)
            );
            return inconclusive(
                InconclusiveCause::Busy {
                    contention,
                    slowdown,
                },
                reason,
            );
        }
        let max_spread = self.obs.max_spread.unwrap_or(self.rules.max_spread);
        let (spread, spread_of) = self.widest_failing_spread();
        if spread > max_spread {
            let reason = format!(
                "{summaries}; but the repeats of {spread_of} spread {:.0}% above their minimum (more than {:.0}%): {NOISY_ADVICE}",
                spread * 100.0,
                max_spread * 100.0
            );
            return inconclusive(InconclusiveCause::Spread { spread, max_spread }, reason);
        }
        // A quiet machine with steady repeats: the miss is the code's.
        (Verdict::Fail, ObservationState::Measured, summaries.clone())
    }

    /// The widest spread of a failed check's repeats, and that check's name.
    fn widest_failing_spread(&self) -> (f64, String) {
        self.obs
            .checks
            .iter()
            .zip(&self.checks)
            .filter(|(_, r)| !r.passed)
            .filter_map(|(c, r)| Some((r.spread?, check_name(c))))
            .fold((0.0, String::new()), |most, this| {
                if this.0 > most.0 {
                    this
                } else {
                    most
                }
            })
    }

    /// Every check passed, check `index` only as far as a busy baseline
    /// could fake: on a quiet machine it could be `could_be`, beyond its
    /// bound. A lower bound's baseline is `metric` (a slow serial run makes a
    /// speedup look big), an upper bound's is `per`.
    fn busy_baseline(&self, index: usize, could_be: f64) -> (Verdict, ObservationState, String) {
        let (_, contention) = self.baseline_contention().unwrap_or_default();
        let why = match busy::judge(Some(&contention), self.rules.busy) {
            Busyness::Busy(why) => why,
            Busyness::Quiet | Busyness::Unknown => contention.describe(),
        };
        let c = &self.obs.checks[index];
        let name = check_name(c);
        let (baseline, beyond) = match (c.at_least, c.at_most) {
            (Some(lo), _) if could_be < lo => (
                &c.metric,
                format!("as low as {}, below its bound of {lo}", number(could_be)),
            ),
            (_, Some(hi)) => (
                c.per.as_ref().unwrap_or(&c.metric),
                format!("as high as {}, above its bound of {hi}", number(could_be)),
            ),
            _ => (&c.metric, number(could_be)),
        };
        let reason = format!(
            "{}; but while its baseline {baseline} was measured, {why}: on a quiet machine {name} could be {beyond}, so it cannot pass yet: {BUSY_ADVICE}",
            self.summaries
        );
        inconclusive(
            InconclusiveCause::BusyBaseline {
                contention,
                could_be,
            },
            reason,
        )
    }

    /// The reference's same checks, compared with the first missed check
    /// the machine could explain (named). `None` when the reference could
    /// not be measured.
    fn against_reference(&self, reference: &Measurements) -> Option<(String, Reference)> {
        let (index, position) =
            self.positions.iter().enumerate().find(|(_, p)| {
                matches!(p.standing(), Standing::MissTheMachineCouldExplain { .. })
            })?;
        let c = &self.obs.checks[index];
        let theirs = check(c, reference);
        if theirs.error.is_some() {
            return None;
        }
        let compared = margin::against_reference(
            position,
            &self::position(c, &theirs, reference, self.rules.busy),
        );
        Some((check_name(c), compared))
    }

    /// What the machine did while the side that could explain a miss was
    /// measured (and that side's name): `per` below `at_least` (a slow
    /// parallel run makes a speedup small), `metric` above `at_most`.
    fn failing_contention(&self) -> Option<(String, Contention)> {
        let sides = self
            .obs
            .checks
            .iter()
            .zip(&self.positions)
            .filter_map(|(c, p)| match p.standing() {
                Standing::MissTheMachineCouldExplain { .. }
                    if p.at_least.is_some_and(|lo| p.value < lo) =>
                {
                    c.per.as_ref()
                }
                Standing::MissTheMachineCouldExplain { .. } => Some(&c.metric),
                _ => None,
            });
        self.busiest(sides)
    }

    /// What the machine did while the side that could fake a pass was
    /// measured: `metric` of `at_least` (a slow baseline), `per` of `at_most`.
    fn baseline_contention(&self) -> Option<(String, Contention)> {
        let sides = self
            .obs
            .checks
            .iter()
            .zip(&self.positions)
            .filter_map(|(c, p)| match p.standing() {
                Standing::PassThatTheMachineCouldFake { .. } if p.at_least.is_some() => {
                    Some(&c.metric)
                }
                Standing::PassThatTheMachineCouldFake { .. } => c.per.as_ref(),
                _ => None,
            });
        self.busiest(sides)
    }

    /// The most slowed of the metrics `names`, and what the machine did
    /// while it was measured.
    fn busiest<'c>(&self, names: impl Iterator<Item = &'c String>) -> Option<(String, Contention)> {
        names
            .filter_map(|name| self.m.metrics.iter().find(|x| &x.name == name))
            .filter_map(|metric| {
                margin::while_measuring(self.m, metric).map(|c| (metric.name.clone(), c))
            })
            .max_by(|(_, a), (_, b)| {
                let cpus = cpus(self.m);
                margin::slowdown(a, cpus).total_cmp(&margin::slowdown(b, cpus))
            })
    }
}

/// The CPUs the rest of the machine shared with the harness, on which its
/// others' CPU time was counted (`Facts::shared_cpus`).
fn cpus(m: &Measurements) -> usize {
    m.machine
        .as_ref()
        .and_then(protocol::machine::Facts::shared_cpus)
        .unwrap_or(m.cores)
}

/// How a sentence names a check: `metric / per`, or `metric`.
fn check_name(c: &Check) -> String {
    match &c.per {
        Some(per) => format!("{} / {per}", c.metric),
        None => c.metric.clone(),
    }
}

fn inconclusive(cause: InconclusiveCause, reason: String) -> (Verdict, ObservationState, String) {
    let state = ObservationState::Inconclusive { cause };
    (Verdict::Inconclusive, state, reason)
}

/// A measured check's position against its bounds. A metric measured on a
/// busy machine may have been slowed by [`margin::slowdown`]; on a quiet or
/// unknown one, only the spread of its repeats counts.
fn position(c: &Check, r: &CheckResult, m: &Measurements, busy: BusyLimits) -> Position {
    let slowdown = |name: &str| {
        let Some(metric) = m.metrics.iter().find(|x| x.name == name) else {
            return 1.0;
        };
        let contention = margin::while_measuring(m, metric);
        match busy::judge(contention.as_ref(), busy) {
            Busyness::Busy(_) => contention
                .as_ref()
                .map_or(1.0, |c| margin::slowdown(c, cpus(m))),
            Busyness::Quiet | Busyness::Unknown => 1.0,
        }
    };
    Position {
        value: r.value.unwrap_or(f64::NAN),
        at_least: c.at_least,
        at_most: c.at_most,
        metric_slowdown: slowdown(&c.metric),
        per_slowdown: c.per.as_deref().map_or(1.0, slowdown),
        spread: r.spread.unwrap_or(0.0),
    }
}

/// The observation could not be measured at all (the exercise does not
/// build, no test passes, the harness failed): a fail, saying why.
pub fn not_measured(obs: &Observation, cores: usize, cause: NotMeasuredCause) -> ObservationResult {
    if cores < obs.min_cores {
        return skipped(obs, cores);
    }
    let why = match &cause {
        NotMeasuredCause::DoesNotBuild => DOES_NOT_BUILD,
        NotMeasuredCause::NoTestPasses => NO_TEST_PASSES,
        NotMeasuredCause::PointsWithheld => POINTS_WITHHELD,
        NotMeasuredCause::Harness(why)
        | NotMeasuredCause::Metric(why)
        | NotMeasuredCause::HarnessTimedOut { reason: why, .. } => why.as_str(),
    };
    let checks = obs
        .checks
        .iter()
        .map(|c| CheckResult {
            error: Some(why.to_owned()),
            ..empty_check(c)
        })
        .collect();
    let reason = format!("not measured: {why}");
    let state = ObservationState::NotMeasured { cause };
    result(obs, Verdict::Fail, state, reason, checks)
}

fn skipped(obs: &Observation, cores: usize) -> ObservationResult {
    let reason = format!(
        "this machine has {cores} {}; the observation needs {}",
        plural(cores, "core", "cores"),
        obs.min_cores
    );
    let state = ObservationState::Skipped {
        cores_needed: obs.min_cores,
        cores_present: cores,
    };
    let checks = obs.checks.iter().map(empty_check).collect();
    result(obs, Verdict::Skipped, state, reason, checks)
}

fn result(
    obs: &Observation,
    verdict: Verdict,
    state: ObservationState,
    reason: String,
    checks: Vec<CheckResult>,
) -> ObservationResult {
    ObservationResult {
        id: obs.id.clone(),
        claim: obs.claim.clone(),
        verdict,
        state,
        reason,
        points: if verdict == Verdict::Pass {
            obs.points
        } else {
            0.0
        },
        max_points: obs.points,
        checks,
        hint: matches!(verdict, Verdict::Fail | Verdict::Inconclusive).then(|| obs.hint.clone()),
        measurements: 1,
        recorded: Recorded::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::Check;
    use crate::model::points::apply_machine_limit_rule;
    use crate::model::{MachineLimitRule, MachineLimits};
    use protocol::observe::{Metric, Unit};

    /// A recorded harness run: 50 ms units, 2 cores, 3 repeats.
    fn recorded() -> Measurements {
        serde_json::from_str(
            r#"{ "format": 1, "exercise": "ex02", "time_unit_seconds": 0.05, "cores": 2, "repeats": 3,
                 "metrics": [
                   { "name": "unit", "unit": "seconds", "values": [0.05] },
                   { "name": "cores", "unit": "count", "values": [2.0] },
                   { "name": "threads_seconds", "unit": "seconds", "values": [0.4015, 0.4030, 0.4022] },
                   { "name": "serial_seconds", "unit": "seconds", "values": [0.626, 0.627, 0.626] },
                   { "name": "noisy_seconds", "unit": "seconds", "values": [0.300, 0.450, 0.500] },
                   { "name": "in_order_handout", "unit": "count", "values": [1.0] },
                   { "name": "caller_pids", "unit": "count", "values": [0.0] },
                   { "name": "zero_seconds", "unit": "seconds", "values": [0.0] },
                   { "name": "broken_seconds", "unit": "seconds", "values": [],
                     "error": "panicked: not yet implemented: read the README" } ] }"#,
        )
        .unwrap()
    }

    fn rules(max_spread: f64, cores: usize) -> Criteria {
        Criteria {
            max_spread,
            cores,
            busy: BusyLimits {
                other_cores: 0.1,
                pressure: 0.1,
            },
        }
    }

    fn observation(checks: Vec<Check>) -> Observation {
        Observation {
            id: "obs".into(),
            claim: "A claim.".into(),
            points: 2.0,
            min_cores: 1,
            checks,
            hint: "A hint.".into(),
            max_spread: None,
            after: None,
            tested_by: Vec::new(),
        }
    }

    fn bound(
        metric: &str,
        per: Option<&str>,
        at_least: Option<f64>,
        at_most: Option<f64>,
    ) -> Check {
        Check {
            metric: metric.into(),
            per: per.map(Into::into),
            at_least,
            at_most,
        }
    }

    fn judge_one(c: Check) -> ObservationResult {
        judge(&observation(vec![c]), &recorded(), &rules(0.25, 2))
    }

    #[test]
    fn a_check_in_bounds_passes_and_earns_the_points() {
        let r = judge_one(bound("threads_seconds", Some("unit"), Some(7.9), Some(8.8)));
        assert_eq!(r.verdict, Verdict::Pass);
        assert_eq!((r.points, r.max_points), (2.0, 2.0));
        assert_eq!(
            r.reason,
            "threads_seconds: 8.03 time units (401.5 ms), expected 7.9 to 8.8 time units"
        );
        assert_eq!(r.hint, None);
        let c = &r.checks[0];
        assert_eq!((c.metric_min, c.per_min), (Some(0.4015), Some(0.05)));
        assert!(c.spread.unwrap() < 0.01);
    }

    #[test]
    fn a_steady_check_out_of_bounds_fails_with_the_hint() {
        let r = judge_one(bound(
            "serial_seconds",
            Some("threads_seconds"),
            Some(1.6),
            None,
        ));
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.points, 0.0);
        assert_eq!(
            r.reason,
            "serial_seconds / threads_seconds: 1.56x (12.5 time units = 626.0 ms / 8.03 time units = 401.5 ms), expected at least 1.6x"
        );
        assert_eq!(r.hint.as_deref(), Some("A hint."));
    }

    #[test]
    fn a_spread_failure_is_inconclusive_and_earns_nothing() {
        // median 0.45 is 50% above the minimum 0.30.
        let r = judge_one(bound("noisy_seconds", Some("unit"), None, Some(5.0)));
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(r.points, 0.0);
        assert!(
            r.reason
                .contains("spread 50% above their minimum (more than 25%)"),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("quieter machine"), "{}", r.reason);
    }

    #[test]
    fn a_spread_pass_is_still_a_pass() {
        let r = judge_one(bound("noisy_seconds", Some("unit"), None, Some(6.0)));
        assert_eq!(r.verdict, Verdict::Pass);
    }

    #[test]
    fn an_observation_max_spread_overrides_the_default() {
        let mut obs = observation(vec![bound("noisy_seconds", Some("unit"), None, Some(5.0))]);
        obs.max_spread = Some(0.6);
        assert_eq!(
            judge(&obs, &recorded(), &rules(0.25, 2)).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn one_steady_failure_makes_a_fail_even_beside_a_noisy_one() {
        let obs = observation(vec![
            bound("noisy_seconds", Some("unit"), None, Some(5.0)),
            bound("in_order_handout", None, Some(2.0), None),
        ]);
        assert_eq!(
            judge(&obs, &recorded(), &rules(0.25, 2)).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn too_few_cores_skips_and_says_both_numbers() {
        let mut obs = observation(vec![bound(
            "serial_seconds",
            Some("threads_seconds"),
            Some(1.6),
            None,
        )]);
        obs.min_cores = 2;
        let r = judge(&obs, &recorded(), &rules(0.25, 1));
        assert_eq!(r.verdict, Verdict::Skipped);
        assert_eq!(r.reason, "this machine has 1 core; the observation needs 2");
        assert_eq!((r.points, r.max_points), (0.0, 2.0));
        assert_eq!(
            judge(&obs, &recorded(), &rules(0.25, 2)).verdict,
            Verdict::Fail
        );
        assert_eq!(
            not_measured(&obs, 1, NotMeasuredCause::NoTestPasses).verdict,
            Verdict::Skipped
        );
    }

    /// One exercise judged on the recorded run with 1 core: a pass, a fail,
    /// an inconclusive (noisy) and a skipped (needs 2 cores) observation of
    /// 2 points each.
    fn one_of_each() -> Vec<ObservationResult> {
        let judged = |id: &str, check: Check, min_cores: usize| {
            let mut obs = observation(vec![check]);
            obs.id = id.into();
            obs.min_cores = min_cores;
            judge(&obs, &recorded(), &rules(0.25, 1))
        };
        let serial = || bound("serial_seconds", Some("threads_seconds"), Some(1.4), None);
        vec![
            judged("pass", serial(), 1),
            judged("fail", bound("in_order_handout", None, Some(2.0), None), 1),
            judged(
                "noisy",
                bound("noisy_seconds", Some("unit"), None, Some(5.0)),
                1,
            ),
            judged("cores", serial(), 2),
        ]
    }

    fn apply(rule: MachineLimitRule) -> (Vec<ObservationResult>, MachineLimits) {
        let mut observations = one_of_each();
        let verdicts: Vec<Verdict> = observations.iter().map(|o| o.verdict).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Pass,
                Verdict::Fail,
                Verdict::Inconclusive,
                Verdict::Skipped
            ]
        );
        let mut limits = MachineLimits {
            rule,
            ..MachineLimits::default()
        };
        apply_machine_limit_rule("ex02", &mut observations, &mut limits);
        (observations, limits)
    }

    fn points(observations: &[ObservationResult]) -> Vec<(f64, f64)> {
        observations
            .iter()
            .map(|o| (o.points, o.max_points))
            .collect()
    }

    #[test]
    fn kept_as_zero_the_machine_limits_stay_in_the_maximum() {
        let (observations, limits) = apply(MachineLimitRule::KeepAsZero);
        assert_eq!(
            points(&observations),
            [(2.0, 2.0), (0.0, 2.0), (0.0, 2.0), (0.0, 2.0)]
        );
        assert_eq!(limits.points, 4.0);
        assert_eq!(limits.observations, ["ex02 noisy", "ex02 cores"]);
    }

    #[test]
    fn left_out_the_machine_limits_leave_the_maximum_and_a_fail_does_not() {
        let (observations, limits) = apply(MachineLimitRule::LeaveOut);
        assert_eq!(
            points(&observations),
            [(2.0, 2.0), (0.0, 2.0), (0.0, 0.0), (0.0, 0.0)]
        );
        assert_eq!(limits.points, 4.0);
        assert_eq!(limits.observations, ["ex02 noisy", "ex02 cores"]);
    }

    #[test]
    fn bounds_are_inclusive() {
        let exact = 0.4015 / 0.05;
        for (lo, hi, verdict) in [
            (Some(exact), None, Verdict::Pass),
            (None, Some(exact), Verdict::Pass),
            (Some(exact), Some(exact), Verdict::Pass),
            (Some(exact + 1e-9), None, Verdict::Fail),
            (None, Some(exact - 1e-9), Verdict::Fail),
        ] {
            let r = judge_one(bound("threads_seconds", Some("unit"), lo, hi));
            assert_eq!(r.verdict, verdict, "{lo:?} {hi:?}");
        }
        // A count of zero meets `at_most: 0`.
        assert_eq!(
            judge_one(bound("caller_pids", None, None, Some(0.0))).verdict,
            Verdict::Pass
        );
        assert_eq!(
            judge_one(bound("in_order_handout", None, Some(1.0), None)).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn spread_at_exactly_the_limit_is_not_inconclusive() {
        let mut m = recorded();
        m.metrics.push(Metric {
            name: "edge_seconds".into(),
            unit: Unit::Seconds,
            values: vec![0.4, 0.5, 0.6],
            error: None,
            contention: Vec::new(),
        });
        let obs = observation(vec![bound("edge_seconds", Some("unit"), None, Some(7.0))]);
        // (0.5 - 0.4) / 0.4 = 0.25: not above 0.25.
        assert_eq!(judge(&obs, &m, &rules(0.25, 2)).verdict, Verdict::Fail);
        assert_eq!(
            judge(&obs, &m, &rules(0.2499, 2)).verdict,
            Verdict::Inconclusive
        );
    }

    #[test]
    fn a_harness_error_fails_with_the_error_as_reason() {
        let r = judge_one(bound("broken_seconds", Some("unit"), None, Some(1.0)));
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(
            r.reason,
            "broken_seconds was not measured: panicked: not yet implemented: read the README"
        );
        assert_eq!(r.checks[0].value, None);
    }

    #[test]
    fn a_missing_metric_is_called_an_instructor_error() {
        let r = judge_one(bound("nowhere_seconds", None, None, Some(1.0)));
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(
            r.reason.contains("recorded no metric `nowhere_seconds`"),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("instructor error"), "{}", r.reason);
    }

    #[test]
    fn dividing_by_zero_is_an_error_not_infinity() {
        let r = judge_one(bound(
            "serial_seconds",
            Some("zero_seconds"),
            Some(1.0),
            None,
        ));
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.reason.contains("has no value"), "{}", r.reason);
    }

    #[test]
    fn not_measured_fails_every_check() {
        let obs = observation(vec![bound("serial_seconds", None, None, Some(1.0))]);
        let r = not_measured(
            &obs,
            2,
            NotMeasuredCause::Harness("the harness did not build".into()),
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.reason, "not measured: the harness did not build");
        assert_eq!(
            r.checks[0].error.as_deref(),
            Some("the harness did not build")
        );
    }

    // ---- contention and the reference solution ------------------------------

    const QUIET: Contention = Contention {
        seconds: 1.0,
        others_cpu_seconds: Some(0.02),
        cpu_pressure_seconds: Some(0.01),
        throttled_seconds: Some(0.0),
        own_cpu_seconds: None,
    };
    /// One busy loop beside two crunching threads on two cores.
    const ONE_BUSY: Contention = Contention {
        seconds: 1.0,
        others_cpu_seconds: Some(0.67),
        cpu_pressure_seconds: Some(1.0),
        throttled_seconds: Some(0.0),
        own_cpu_seconds: None,
    };
    /// Two busy loops beside two crunching threads: half the CPU each.
    const TWO_BUSY: Contention = Contention {
        seconds: 1.0,
        others_cpu_seconds: Some(1.0),
        cpu_pressure_seconds: Some(1.0),
        throttled_seconds: Some(0.0),
        own_cpu_seconds: None,
    };
    const UNKNOWN: Contention = Contention {
        seconds: 1.0,
        others_cpu_seconds: None,
        cpu_pressure_seconds: None,
        throttled_seconds: None,
        own_cpu_seconds: None,
    };

    /// A recorded ex03 run: `serial_seconds` and `threads_seconds` with steady
    /// repeats, each repeat measured under the given contention.
    fn crunch(
        serial: f64,
        threads: f64,
        on_serial: Contention,
        on_threads: Contention,
    ) -> Measurements {
        let mut m = recorded();
        m.metrics
            .retain(|x| !x.name.starts_with("serial") && !x.name.starts_with("threads"));
        for (name, min, c) in [
            ("serial_seconds", serial, on_serial),
            ("threads_seconds", threads, on_threads),
        ] {
            let values = vec![min, min * 1.01, min * 1.005];
            let contention = values
                .iter()
                .map(|&v| Contention {
                    seconds: v,
                    ..scaled(c, v)
                })
                .collect();
            m.metrics.push(Metric {
                name: name.into(),
                unit: Unit::Seconds,
                values,
                error: None,
                contention,
            });
        }
        m
    }

    /// `c`'s rates over a stretch of `seconds`.
    fn scaled(c: Contention, seconds: f64) -> Contention {
        let per = |x: Option<f64>| x.map(|x| x * seconds / c.seconds);
        Contention {
            seconds,
            others_cpu_seconds: per(c.others_cpu_seconds),
            cpu_pressure_seconds: per(c.cpu_pressure_seconds),
            throttled_seconds: per(c.throttled_seconds),
            own_cpu_seconds: per(c.own_cpu_seconds),
        }
    }

    fn threads_in_parallel() -> Observation {
        let mut obs = observation(vec![bound(
            "serial_seconds",
            Some("threads_seconds"),
            Some(1.6),
            None,
        )]);
        obs.min_cores = 2;
        obs
    }

    fn judged(m: &Measurements, reference: Option<&Measurements>) -> ObservationResult {
        judge_beside_reference(&threads_in_parallel(), m, &rules(0.25, 2), reference)
    }

    #[test]
    fn a_correct_solution_slowed_by_a_busy_machine_is_inconclusive_and_says_why() {
        // ex03's reference beside one busy loop: 1.11x.
        let r = judged(&crunch(0.8, 0.72, QUIET, ONE_BUSY), None);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{}", r.reason);
        assert!(matches!(
            r.state,
            ObservationState::Inconclusive {
                cause: InconclusiveCause::Busy { .. }
            }
        ));
        for words in [
            "while threads_seconds was measured, other programs used 0.67 cores",
            "waited for a CPU 100% of the time",
            "slow it down by up to 1.50x",
            "close other programs",
        ] {
            assert!(r.reason.contains(words), "{words:?} not in {}", r.reason);
        }
        assert_eq!(r.points, 0.0);
    }

    #[test]
    fn the_same_miss_on_a_quiet_machine_is_a_fail() {
        let r = judged(&crunch(0.8, 0.72, QUIET, QUIET), None);
        assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    }

    #[test]
    fn unknown_contention_falls_back_to_the_spread_rule() {
        let steady = judged(&crunch(0.8, 0.72, UNKNOWN, UNKNOWN), None);
        assert_eq!(steady.verdict, Verdict::Fail, "{}", steady.reason);
        let mut m = crunch(0.8, 0.72, UNKNOWN, UNKNOWN);
        let threads = m
            .metrics
            .iter_mut()
            .find(|x| x.name == "threads_seconds")
            .unwrap();
        threads.values = vec![0.72, 1.1, 1.2];
        let noisy = judged(&m, None);
        assert_eq!(noisy.verdict, Verdict::Inconclusive, "{}", noisy.reason);
    }

    #[test]
    fn a_miss_far_beyond_what_the_load_could_cause_fails_with_the_numbers() {
        // A serial "parallel" run on a slightly busy machine: 1.0x.
        let slightly = Contention {
            others_cpu_seconds: Some(0.2),
            cpu_pressure_seconds: Some(0.15),
            ..QUIET
        };
        let r = judged(&crunch(0.8, 0.8, slightly, slightly), None);
        assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
        assert!(r.reason.contains("misses by 1.60x"), "{}", r.reason);
        assert!(r.reason.contains("could explain (1.12x)"), "{}", r.reason);
    }

    #[test]
    fn a_pass_on_a_busy_baseline_is_not_a_pass() {
        // A one-worker pool whose serial baseline was slowed: 1.65x.
        let r = judged(&crunch(1.32, 0.8, ONE_BUSY, QUIET), None);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{}", r.reason);
        assert_eq!(r.points, 0.0);
        assert!(matches!(
            r.state,
            ObservationState::Inconclusive {
                cause: InconclusiveCause::BusyBaseline { .. }
            }
        ));
        assert!(
            r.reason.contains(
                "while its baseline serial_seconds was measured, other programs used 0.67 cores"
            ),
            "{}",
            r.reason
        );
        assert!(
            r.reason.contains(
                "serial_seconds / threads_seconds could be as low as 1.10, below its bound of 1.6, so it cannot pass yet"
            ),
            "{}",
            r.reason
        );
    }

    #[test]
    fn an_upper_bound_passed_on_a_busy_baseline_could_be_as_high_as() {
        // ex01's map-matches-loop on a busy machine: 0.561x the harness's
        // own loop, whose time a build beside it may have inflated.
        let saturated = Contention {
            others_cpu_seconds: Some(1.9),
            ..ONE_BUSY
        };
        let obs = observation(vec![bound(
            "serial_seconds",
            Some("threads_seconds"),
            None,
            Some(1.25),
        )]);
        let m = crunch(0.0561, 0.1, QUIET, saturated);
        let r = judge(&obs, &m, &rules(0.25, 2));
        assert_eq!(r.verdict, Verdict::Inconclusive, "{}", r.reason);
        for words in [
            "while its baseline threads_seconds was measured, other programs used 1.90 cores",
            "serial_seconds / threads_seconds could be as high as 11.2, above its bound of 1.25",
        ] {
            assert!(r.reason.contains(words), "{words:?} not in {}", r.reason);
        }
        assert!(!r.reason.contains("as low as"), "{}", r.reason);
    }

    #[test]
    fn a_sentence_about_one_check_of_two_names_it() {
        // Both checks pass quietly but for the second, a lower bound on a
        // slowed baseline.
        let obs = observation(vec![
            bound("threads_seconds", Some("unit"), Some(7.9), Some(8.8)),
            bound("serial_seconds", Some("threads_seconds"), Some(1.6), None),
        ]);
        let r = judge(
            &obs,
            &crunch(0.66, 0.4015, ONE_BUSY, QUIET),
            &rules(0.25, 2),
        );
        assert_eq!(r.verdict, Verdict::Inconclusive, "{}", r.reason);
        assert!(
            r.reason
                .contains("on a quiet machine serial_seconds / threads_seconds could be as low as"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_machine_that_others_keep_busy_explains_even_a_large_miss() {
        // crunch_cpu / crunch_wall while a build kept both cores busy: 0.11.
        let saturated = Contention {
            others_cpu_seconds: Some(1.9),
            ..ONE_BUSY
        };
        let obs = observation(vec![bound(
            "serial_seconds",
            Some("threads_seconds"),
            Some(0.85),
            None,
        )]);
        let m = crunch(0.11, 1.0, saturated, saturated);
        let r = judge(&obs, &m, &rules(0.25, 2));
        assert_eq!(r.verdict, Verdict::Inconclusive, "{}", r.reason);
        assert!(
            r.reason.contains("other programs used 1.90 cores"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn sleeping_work_on_a_busy_machine_still_passes_and_still_fails() {
        // ex02's serial queries sleep 12.5 time units and compute almost nothing,
        // beside a busy loop that takes a whole core.
        let mut m = recorded();
        let busy_but_asleep = Contention {
            seconds: 0.626,
            others_cpu_seconds: Some(0.626),
            own_cpu_seconds: Some(0.002),
            ..ONE_BUSY
        };
        for metric in &mut m.metrics {
            metric.contention = vec![busy_but_asleep; metric.values.len()];
        }
        let sum = observation(vec![bound(
            "serial_seconds",
            Some("unit"),
            Some(12.4),
            Some(13.4),
        )]);
        assert_eq!(judge(&sum, &m, &rules(0.25, 2)).verdict, Verdict::Pass);
        // A serial pool's 12.5 time units where a real pool takes 8.
        let overlap = observation(vec![bound(
            "serial_seconds",
            Some("unit"),
            Some(7.9),
            Some(8.8),
        )]);
        let r = judge(&overlap, &m, &rules(0.25, 2));
        assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    }

    /// `m` as measured pinned to one CPU of two, with others' CPU counted
    /// on the CPUs its harness recorded as shared (`None`: a harness older
    /// than the sources, which counted every online CPU).
    fn pinned(mut m: Measurements, shared_cpus: Option<usize>) -> Measurements {
        use protocol::machine::{Facts, Sources};
        m.cores = 1;
        m.machine = Some(Facts {
            available_parallelism: 1,
            online_cpus: Some(2),
            affinity: Some("0".into()),
            affinity_cpus: Some(1),
            quota: None,
            sources: shared_cpus.map(|shared_cpus| Sources {
                others_cpu: Some("cpu0".into()),
                shared_cpus,
                pressure: Some("/proc/pressure/cpu".into()),
                own_pressure: false,
                throttle: None,
            }),
        });
        m
    }

    #[test]
    fn contention_is_judged_on_the_cpus_the_harness_shared() {
        // ex03's gil-serializes pinned to CPU 0 (gil / serial at least 0.9),
        // its baseline measured while others took half of CPU 0: on one CPU
        // that can slow it 2x, so 1.5x could be 0.75x.
        let half_of_cpu0 = Contention {
            others_cpu_seconds: Some(0.5),
            ..QUIET
        };
        let gil = observation(vec![bound(
            "serial_seconds",
            Some("threads_seconds"),
            Some(0.9),
            None,
        )]);
        let m = crunch(1.5, 1.0, half_of_cpu0, QUIET);
        let r = judge(&gil, &pinned(m.clone(), Some(1)), &rules(0.25, 1));
        assert!(
            matches!(
                r.state,
                ObservationState::Inconclusive {
                    cause: InconclusiveCause::BusyBaseline { .. }
                }
            ),
            "{}",
            r.reason
        );
        assert!(
            r.reason.contains("could be as low as 0.750"),
            "{}",
            r.reason
        );
        // An older file's half a core on either of two CPUs: 1.33x at most.
        let r = judge(&gil, &pinned(m, None), &rules(0.25, 1));
        assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    }

    #[test]
    fn a_busy_baseline_does_not_excuse_a_miss() {
        // A slow serial run only makes a speedup look bigger.
        let r = judged(&crunch(1.2, 0.8, ONE_BUSY, QUIET), None);
        assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    }

    #[test]
    fn a_busy_parallel_run_does_not_spoil_a_pass() {
        let r = judged(&crunch(1.6, 0.84, QUIET, ONE_BUSY), None);
        assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    }

    #[test]
    fn a_miss_the_reference_shares_is_inconclusive() {
        let submission = crunch(0.8, 0.72, QUIET, ONE_BUSY);
        let reference = crunch(0.8, 0.70, QUIET, ONE_BUSY);
        let r = judged(&submission, Some(&reference));
        assert_eq!(r.verdict, Verdict::Inconclusive, "{}", r.reason);
        assert_eq!(
            r.state,
            ObservationState::Inconclusive {
                cause: InconclusiveCause::ReferenceAlsoMisses {
                    reference_value: 0.8 / 0.7
                }
            }
        );
        assert!(
            r.reason.contains(
                "the reference solution misses serial_seconds / threads_seconds on this machine too (1.14)"
            ),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_reference_far_ahead_makes_a_busy_miss_a_fail() {
        // The one-worker pool (1.0x) beside the reference (1.9x), both busy.
        let submission = crunch(0.8, 0.8, QUIET, TWO_BUSY);
        let reference = crunch(0.8, 0.42, QUIET, TWO_BUSY);
        let r = judged(&submission, Some(&reference));
        assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
        assert!(r.reason.contains("the reference solution"), "{}", r.reason);
        // A correct solution just behind the reference stays inconclusive.
        let close = crunch(0.8, 0.52, QUIET, TWO_BUSY);
        let r = judged(&close, Some(&reference));
        assert_eq!(r.verdict, Verdict::Inconclusive, "{}", r.reason);
    }

    #[test]
    fn a_cpu_quota_that_throttles_the_run_counts_as_busy() {
        // crunch_cpu / crunch_wall at half a core's quota.
        let throttled = Contention {
            throttled_seconds: Some(0.5),
            ..QUIET
        };
        let mut m = crunch(1.0, 1.0, throttled, throttled);
        for metric in &mut m.metrics {
            if metric.name == "serial_seconds" {
                metric.values = vec![0.5, 0.5, 0.5];
            }
        }
        let obs = observation(vec![bound(
            "serial_seconds",
            Some("threads_seconds"),
            Some(0.85),
            None,
        )]);
        let r = judge(&obs, &m, &rules(0.25, 1));
        assert_eq!(r.verdict, Verdict::Inconclusive, "{}", r.reason);
        assert!(r.reason.contains("CPU quota held"), "{}", r.reason);
    }
}
