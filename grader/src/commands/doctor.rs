//! `grader doctor`: can this machine measure the course's timings now?
//!
//! It reads the CPU this process may use (cores, affinity, quota), samples
//! what the rest of the machine does for a moment on the CPUs and in the
//! cgroup this process can use (as a harness does, and it says where each
//! figure was read: `protocol::machine::Sources`), and judges it with the same
//! limits the verdicts use (course.yaml's `defaults`). It changes nothing
//! (where the pressure is its cgroup's own it computes while it samples, see
//! [`watch`]); it always exits 0.

use crate::cli::CourseArgs;
use crate::course::Course;
use crate::judge::busy::{self, BusyLimits, Busyness};
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
    pub load: Busyness,
    pub limits: BusyLimits,
    pub time_unit_ms: f64,
    /// Where the time unit came from.
    pub time_unit_source: String,
    /// Observations that need more cores than this process may use.
    pub skipped_observations: Vec<(String, usize)>,
}

/// `grader doctor`.
pub fn run(args: &CourseArgs) -> anyhow::Result<u8> {
    let course = crate::course::load_course(args.course.as_deref())?;
    let diagnosis = diagnose(&course, SAMPLE)?;
    print!("{}", render(&diagnosis));
    Ok(crate::EXIT_OK)
}

/// Read the facts and watch the machine for `sample`.
pub fn diagnose(course: &Course, sample: Duration) -> anyhow::Result<Diagnosis> {
    let facts = Facts::read();
    let own_pressure = facts.sources.as_ref().is_some_and(|s| s.own_pressure);
    let sample = watch(sample, own_pressure.then_some(facts.available_parallelism));
    let limits = BusyLimits::from_defaults(&course.defaults);
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
        load: busy::judge(Some(&sample), limits),
        facts,
        sample,
        limits,
        time_unit_ms,
        time_unit_source,
        skipped_observations,
    })
}

/// What the rest of the machine does over `sample`. A cgroup's own pressure
/// shows only its own tasks' waiting, and others count only as far as they
/// made them wait: with `spinning` threads computing meanwhile, as a
/// harness's timing does, it shows what a timing would suffer; asleep, it
/// would show nothing.
fn watch(sample: Duration, spinning: Option<usize>) -> Contention {
    let probe = Probe::start();
    let end = std::time::Instant::now() + sample;
    std::thread::scope(|scope| {
        for _ in 0..spinning.unwrap_or(0) {
            scope.spawn(|| {
                while std::time::Instant::now() < end {
                    std::hint::spin_loop();
                }
            });
        }
        std::thread::sleep(sample);
    });
    probe.stop()
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
    ];
    lines.extend(sources(f));
    lines.extend([
        (
            "limits",
            format!(
                "other programs up to {:.2} cores, waiting for a CPU up to {:.0}% of the time (course.yaml defaults)",
                d.limits.other_cores,
                d.limits.pressure * 100.0
            ),
        ),
    ]);
    if !d.skipped_observations.is_empty() {
        let ids: Vec<String> = d
            .skipped_observations
            .iter()
            .map(|(id, cores)| format!("{id} (needs {cores})"))
            .collect();
        lines.push(("skipped", format!("too few cores for {}", ids.join(", "))));
    }
    let verdict = match &d.load {
        Busyness::Quiet => QUIET_ADVICE.to_owned(),
        Busyness::Busy(why) => format!("{why}: {BUSY_ADVICE}"),
        Busyness::Unknown => UNKNOWN_ADVICE.to_owned(),
    };
    lines.push(("verdict", verdict));
    lines
}

/// Where "right now" was read, a source a line: the CPUs and cgroup the
/// figures cover.
fn sources(f: &Facts) -> Vec<(&'static str, String)> {
    let Some(sources) = &f.sources else {
        return vec![("read from", "unknown".to_owned())];
    };
    sources
        .lines()
        .into_iter()
        .enumerate()
        .map(|(i, (what, source))| {
            let name = if i == 0 { "read from" } else { "" };
            (name, format!("{what}: {source}"))
        })
        .collect()
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
    use protocol::machine::{Quota, Sources};

    fn diagnosis(load: Busyness) -> Diagnosis {
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
                sources: Some(Sources {
                    others_cpu: Some("cpu0".into()),
                    shared_cpus: 1,
                    pressure: Some("/sys/fs/cgroup/grading/cpu.pressure".into()),
                    own_pressure: true,
                    throttle: Some("/sys/fs/cgroup/cpu/cpu.stat throttled_time".into()),
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
            limits: BusyLimits {
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
        let text = render(&diagnosis(Busyness::Busy(
            "other programs used 0.95 cores".into(),
        )));
        for expected in [
            "cores       1 usable by the grader, of 2 online",
            "affinity    CPUs 0 (1)",
            "CPU quota   none (cgroup v1",
            "time unit   50 ms",
            "other programs used 0.95 cores, tasks waited for a CPU 40% of the time",
            "read from   others' CPU: /proc/stat cpu0 (the CPUs this process may run on), out of 1 core\n",
            "            CPU pressure: /sys/fs/cgroup/grading/cpu.pressure (this process's cgroup)\n",
            "            throttling: /sys/fs/cgroup/cpu/cpu.stat throttled_time\n",
            "too few cores for threads-crunch-in-parallel (needs 2)",
            "verdict     other programs used 0.95 cores: too busy to measure now",
        ] {
            assert!(text.contains(expected), "{expected:?} not in\n{text}");
        }
    }

    #[test]
    fn quiet_and_unknown_say_so() {
        assert!(render(&diagnosis(Busyness::Quiet)).contains(QUIET_ADVICE));
        assert!(render(&diagnosis(Busyness::Unknown)).contains(UNKNOWN_ADVICE));
    }
}
