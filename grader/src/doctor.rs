//! `grader doctor`: can this machine measure the course's timings now?
//!
//! It reads the CPU this process may use (cores, affinity, quota), samples
//! what the rest of the machine does for a moment, and judges it with the
//! same limits the verdicts use (course.yaml's `defaults`). It only reads;
//! it always exits 0.

use crate::cli::CourseArgs;
use crate::course::Course;
use crate::load::{self, Limits, Load};
use protocol::machine::{Contention, Facts, Probe};
use std::fmt::Write as _;
use std::time::Duration;

/// How long the rest of the machine is watched.
pub const SAMPLE: Duration = Duration::from_secs(1);
const QUIET_ADVICE: &str = "quiet enough to measure: grade now";
const BUSY_ADVICE: &str =
    "too busy to measure now: a timing that fails now is reported inconclusive, \
     not failed. Close other programs (builds, editors' code checkers, browsers, videos) \
     and run `grader doctor` again";
const UNKNOWN_ADVICE: &str = "this system does not say what other programs do (no /proc/stat or \
     /proc/pressure/cpu): close other programs before grading, and grade again if a timing fails";

/// What doctor found.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub facts: Facts,
    /// The rest of the machine over [`SAMPLE`].
    pub sample: Contention,
    pub load: Load,
    pub limits: Limits,
    pub time_unit_ms: f64,
    /// Where the time unit came from.
    pub time_unit_source: String,
    /// Observations that need more cores than this process may use.
    pub skipped_observations: Vec<(String, usize)>,
}

/// `grader doctor`.
pub fn run(args: &CourseArgs) -> anyhow::Result<u8> {
    let course = crate::load_course(args.course.as_deref())?;
    let diagnosis = diagnose(&course, SAMPLE)?;
    print!("{}", render(&diagnosis));
    Ok(crate::EXIT_OK)
}

/// Read the facts and watch the machine for `sample`.
pub fn diagnose(course: &Course, sample: Duration) -> anyhow::Result<Diagnosis> {
    let facts = Facts::read();
    let probe = Probe::start();
    std::thread::sleep(sample);
    let sample = probe.stop();
    let limits = Limits::from_defaults(&course.defaults);
    let (time_unit_ms, time_unit_source) = match protocol::observe::env_settings()?.time_unit_ms {
        Some(ms) => (ms, common::TIME_UNIT_ENV.to_owned()),
        None => (
            course.defaults.time_unit_ms,
            "course.yaml defaults.time_unit_ms".to_owned(),
        ),
    };
    let skipped_observations = course
        .exercises
        .iter()
        .flat_map(|ex| &ex.observations)
        .filter(|o| o.min_cores > facts.available_parallelism)
        .map(|o| (o.id.clone(), o.min_cores))
        .collect();
    Ok(Diagnosis {
        load: load::judge(Some(&sample), limits),
        facts,
        sample,
        limits,
        time_unit_ms,
        time_unit_source,
        skipped_observations,
    })
}

/// The diagnosis as text for people: one fact a line.
pub fn render(d: &Diagnosis) -> String {
    let mut out = String::new();
    for (name, value) in lines(d) {
        let _ = writeln!(out, "{name:<12}{value}");
    }
    out
}

fn lines(d: &Diagnosis) -> Vec<(&'static str, String)> {
    let f = &d.facts;
    let unknown = || "unknown".to_owned();
    let mut lines = vec![
        (
            "cores",
            format!(
                "{} usable by the grader, of {} online",
                f.available_parallelism,
                f.online_cpus.map_or_else(unknown, |n| n.to_string())
            ),
        ),
        (
            "affinity",
            match (&f.affinity, f.affinity_cpus) {
                (Some(list), Some(n)) => format!("CPUs {list} ({n})"),
                (Some(list), None) => format!("CPUs {list}"),
                _ => unknown(),
            },
        ),
        ("CPU quota", quota(f)),
        (
            "time unit",
            format!("{} ms ({})", d.time_unit_ms, d.time_unit_source),
        ),
        (
            "right now",
            format!("over {:.1} s: {}", d.sample.seconds, d.sample.describe()),
        ),
        (
            "limits",
            format!(
                "other programs up to {:.2} cores, waiting for a CPU up to {:.0}% of the time (course.yaml defaults)",
                d.limits.other_cores,
                d.limits.pressure * 100.0
            ),
        ),
    ];
    if !d.skipped_observations.is_empty() {
        let ids: Vec<String> = d
            .skipped_observations
            .iter()
            .map(|(id, cores)| format!("{id} (needs {cores})"))
            .collect();
        lines.push(("skipped", format!("too few cores for {}", ids.join(", "))));
    }
    let verdict = match &d.load {
        Load::Quiet => QUIET_ADVICE.to_owned(),
        Load::Busy(why) => format!("{why}: {BUSY_ADVICE}"),
        Load::Unknown => UNKNOWN_ADVICE.to_owned(),
    };
    lines.push(("verdict", verdict));
    lines
}

fn quota(f: &Facts) -> String {
    match &f.quota {
        None => "unknown".to_owned(),
        Some(q) => match q.cores {
            None => format!("none ({})", q.source),
            Some(cores) => format!("{cores:.2} cores ({})", q.source),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::machine::Quota;

    fn diagnosis(load: Load) -> Diagnosis {
        Diagnosis {
            facts: Facts {
                available_parallelism: 1,
                online_cpus: Some(2),
                affinity: Some("0".into()),
                affinity_cpus: Some(1),
                quota: Some(Quota {
                    cores: None,
                    source: "cgroup v1 cpu.cfs_quota_us".into(),
                }),
            },
            sample: Contention {
                seconds: 1.0,
                others_cpu_seconds: Some(0.95),
                cpu_pressure_seconds: Some(0.4),
                throttled_seconds: Some(0.0),
                own_cpu_seconds: None,
            },
            load,
            limits: Limits {
                other_cores: 0.1,
                pressure: 0.1,
            },
            time_unit_ms: 50.0,
            time_unit_source: "course.yaml defaults.time_unit_ms".into(),
            skipped_observations: vec![("threads-crunch-in-parallel".into(), 2)],
        }
    }

    #[test]
    fn a_busy_one_core_machine_says_what_is_busy_and_what_is_skipped() {
        let text = render(&diagnosis(Load::Busy(
            "other programs used 0.95 cores".into(),
        )));
        for expected in [
            "cores       1 usable by the grader, of 2 online",
            "affinity    CPUs 0 (1)",
            "CPU quota   none (cgroup v1",
            "time unit   50 ms",
            "other programs used 0.95 cores, tasks waited for a CPU 40% of the time",
            "too few cores for threads-crunch-in-parallel (needs 2)",
            "verdict     other programs used 0.95 cores: too busy to measure now",
        ] {
            assert!(text.contains(expected), "{expected:?} not in\n{text}");
        }
    }

    #[test]
    fn quiet_and_unknown_say_so() {
        assert!(render(&diagnosis(Load::Quiet)).contains(QUIET_ADVICE));
        assert!(render(&diagnosis(Load::Unknown)).contains(UNKNOWN_ADVICE));
    }
}
