//! What the runner tells of its progress, passed on to the progress line.

use crate::judge::remeasure::MAX_MEASUREMENTS;
use crate::report::progress::{Phase, Place, Progress};
use crate::runner::Steps;
use std::collections::BTreeSet;

/// Shows how many of a run's tests have run on the progress line.
pub(super) struct TestSteps<'a> {
    pub progress: &'a Progress,
    pub place: Place<'a>,
}

impl Steps for TestSteps<'_> {
    fn tests_run(&self, done: usize, total: usize) {
        self.progress
            .phase(self.place, Phase::Testing { done, total });
    }
}

/// Shows on the progress line how many of a harness run's observations
/// have all their metrics recorded.
pub(super) struct MeasureSteps<'a> {
    pub progress: &'a Progress,
    pub place: Place<'a>,
    pub measurement: usize,
    pub needs: Vec<BTreeSet<String>>,
    /// No release build in the tree's build directory yet.
    pub first_build: bool,
}

impl MeasureSteps<'_> {
    pub fn show(&self, measured: Option<usize>) {
        let observations = self.needs.len();
        let phase = match measured {
            None if self.first_build => Phase::BuildingHarnessFirstTime { observations },
            _ => Phase::Measuring {
                observations,
                measured,
                measurement: self.measurement,
                at_most: MAX_MEASUREMENTS,
            },
        };
        self.progress.phase(self.place, phase);
    }
}

impl Steps for MeasureSteps<'_> {
    fn metrics_recorded(&self, recorded: &BTreeSet<String>) {
        let measured = self.needs.iter().filter(|n| n.is_subset(recorded)).count();
        self.show(Some(measured));
    }
}
