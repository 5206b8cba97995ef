//! The harnesses as the grader uses them when it measures again: a run asked
//! for the metrics of one observation records every one of them and skips
//! work behind other observations. A harness whose guards missed a metric
//! would turn an unsettled observation into an instructor error on the
//! second run; this catches it for every observation in course.yaml.

use grader::runner::{self, timeouts, HarnessInput, RunLimits, Steps};
use grader::workspace::{self, Source};
use protocol::observe::{Measurements, ALWAYS_RECORDED};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

mod support;
use support::{course, repo_root};

/// Short runs: this checks which metrics are recorded, not their values.
fn env(only: Option<BTreeSet<String>>) -> HarnessInput {
    HarnessInput {
        repeats: 1,
        time_unit_ms: 5.0,
        only,
    }
}

fn recorded(m: &Measurements) -> BTreeSet<String> {
    m.metrics
        .iter()
        .filter(|metric| !ALWAYS_RECORDED.contains(&metric.name.as_str()))
        .map(|metric| metric.name.clone())
        .collect()
}

fn limits() -> RunLimits {
    RunLimits {
        test_timeout: Duration::from_secs(60),
        harness_timeout: Duration::from_secs(120),
        output_cap_bytes: 64 * 1024,
    }
}

fn solutions() -> (grader::course::Course, workspace::GradedTree) {
    let root = repo_root();
    let course = course();
    let dirs: Vec<PathBuf> = course.exercises.iter().map(|e| e.dir.clone()).collect();
    let tree = workspace::prepare(&root, &dirs, &[], &Source::Solutions).unwrap();
    (course, tree)
}

/// Every set of metrics a run told, in order.
#[derive(Default)]
struct Told(Mutex<Vec<BTreeSet<String>>>);

impl Steps for Told {
    fn metrics_recorded(&self, metrics: &BTreeSet<String>) {
        self.0.lock().unwrap().push(metrics.clone());
    }
}

#[test]
fn a_harness_tells_its_progress_metric_by_metric() {
    let (course, tree) = solutions();
    let limits = limits();
    let timeout = timeouts::harness_timeout(limits.harness_timeout, None);
    for ex in &course.exercises {
        let told = Told::default();
        let outcome =
            runner::run_harness_within(&tree, &ex.id, &env(None), &limits, &timeout, &told);
        let m = outcome
            .measurements
            .unwrap_or_else(|error| panic!("{}: {error}", ex.id));
        let all: BTreeSet<String> = m.metrics.iter().map(|metric| metric.name.clone()).collect();
        let told = told.0.into_inner().unwrap();
        assert_eq!(
            told.last(),
            Some(&all),
            "{}: the last word is every metric",
            ex.id
        );
        assert!(
            told.windows(2)
                .all(|w| w[0].is_subset(&w[1]) && w[0] != w[1]),
            "{}: each word adds to the last: {told:?}",
            ex.id
        );
    }
}

#[test]
fn a_run_for_one_observation_records_its_metrics_and_skips_other_work() {
    let (course, tree) = solutions();
    let limits = limits();
    let run = |package: &str, only| {
        runner::run_harness(&tree, package, &env(only), &limits)
            .measurements
            .unwrap_or_else(|error| panic!("{package}: {error}"))
    };
    for ex in &course.exercises {
        let everything = recorded(&run(&ex.id, None));
        for o in &ex.observations {
            let wanted: BTreeSet<String> = o
                .checks
                .iter()
                .flat_map(|c| std::iter::once(&c.metric).chain(&c.per))
                .filter(|name| !ALWAYS_RECORDED.contains(&name.as_str()))
                .cloned()
                .collect();
            let m = run(&ex.id, Some(wanted.clone()));
            for name in &wanted {
                let metric = m.metrics.iter().find(|metric| &metric.name == name);
                let metric = metric.unwrap_or_else(|| {
                    panic!("{}: a run for {} did not record {name}", ex.id, o.id)
                });
                assert_eq!(metric.error, None, "{}: {name}", ex.id);
                assert!(!metric.values.is_empty(), "{}: {name} has no values", ex.id);
            }
            let narrowed = recorded(&m);
            assert!(
                narrowed.len() < everything.len(),
                "{}: a run for {} measured everything: {narrowed:?}",
                ex.id,
                o.id
            );
        }
    }
}
