//! Measuring an exercise's observations: its harness run and judged,
//! measured again while some observation is unsettled, beside the reference
//! solution's measurements taken in turns.

use super::*;

impl Grader<'_> {
    /// Build and run the harness and judge every observation, beside the
    /// reference solution's measurements when there are some (this is
    /// `round`'s measurement number 1, 2, ...). Nothing is measured while the
    /// exercise does not build or no test passes.
    fn observe(
        &self,
        ex: &Exercise,
        tests: &TestsReport,
        place: Place<'_>,
        timings: &mut Timings,
        round: Round<'_>,
    ) -> Vec<ObservationResult> {
        if ex.observations.is_empty() {
            return Vec::new();
        }
        let cores = self.rules.cores;
        let not_measured = |cause: NotMeasuredCause| {
            ex.observations
                .iter()
                .map(|o| verdict::not_measured(o, cores, cause.clone()))
                .collect()
        };
        if tests.build_error.is_some() {
            return not_measured(NotMeasuredCause::DoesNotBuild);
        }
        if !tests.tests.iter().any(|t| t.status == TestStatus::Passed) {
            return not_measured(NotMeasuredCause::NoTestPasses);
        }
        let steps = MeasureSteps {
            progress: self.progress,
            place,
            measurement: round.number,
            needs: round.needs,
            first_build: !self.tree.target_dir.join("release").is_dir(),
        };
        steps.show(None);
        let timeout = self.harness_timeout(ex);
        match self.measure(&self.tree, ex, round.env, timings, &timeout, &steps) {
            Ok(m) => ex
                .observations
                .iter()
                .map(|o| ObservationResult {
                    recorded: recorded_behind(o, &m),
                    ..verdict::judge_beside_reference(o, &m, &self.rules, round.reference)
                })
                .collect(),
            Err(cause) => not_measured(cause),
        }
    }

    /// The graded harness's limit for `ex`: ten times the reference
    /// harness's wall time plus some (see [`timeouts::harness_timeout`]).
    fn harness_timeout(&self, ex: &Exercise) -> Timeout {
        let reference = self.reference.as_ref().and_then(|r| {
            let mut known = self
                .reference_harness
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *known
                .entry(ex.id.clone())
                .or_insert_with(|| reference_times::harness(r, &ex.id, &self.env, &self.limits))
        });
        timeouts::harness_timeout(self.limits.harness_timeout, reference)
    }

    /// One run of `tree`'s harness for `ex` with `env` within `timeout`,
    /// its times counted in `timings`.
    fn measure(
        &self,
        tree: &GradedTree,
        ex: &Exercise,
        env: &HarnessInput,
        timings: &mut Timings,
        timeout: &Timeout,
        steps: &dyn Steps,
    ) -> Result<Measurements, NotMeasuredCause> {
        let started = Instant::now();
        let outcome = runner::run_harness_within(tree, &ex.id, env, &self.limits, timeout, steps);
        if self.records_reference_times {
            reference_times::record_harness(tree, &ex.id, &self.env, &outcome);
        }
        let wall = started.elapsed().as_secs_f64();
        timings.build_seconds += outcome.build_seconds;
        timings.harness_seconds += outcome.run_seconds;
        // Cargo's up-to-date check of the harness counts as overhead: warm,
        // it is part of every measuring run.
        timings.measure_seconds += wall.max(outcome.run_seconds);
        let m = outcome.measurements.map_err(harness_cause)?;
        if let Some(c) = m.during_run {
            self.while_measuring
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(c);
        }
        if let Some(sources) = m.machine.as_ref().and_then(|f| f.sources.clone()) {
            *self
                .harness_sources
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(sources);
        }
        Ok(m)
    }

    /// [`observe`](Self::observe), then measure again while an observation
    /// is unsettled ([`worth_measuring_again`]), up to [`MAX_MEASUREMENTS`]
    /// runs and while another run fits in course.yaml's
    /// `remeasure_budget_seconds`. Each run again measures only the metrics
    /// of the observations still unsettled. When the reference solutions
    /// exist, it measures the reference first, then the graded tree (A B,
    /// A B): a miss the reference shares is the machine's.
    pub(super) fn observe_again_if_needed(
        &self,
        ex: &Exercise,
        tests: &TestsReport,
        place: Place<'_>,
        timings: &mut Timings,
    ) -> Vec<ObservationResult> {
        let before = timings.harness_seconds;
        let first = Round {
            number: 1,
            env: &self.env,
            reference: None,
            needs: ex.observations.iter().map(metrics_read_by).collect(),
        };
        let mut observations = self.observe(ex, tests, place, timings, first);
        let mut longest = timings.harness_seconds - before;
        let (mut runs, mut spent) = (1, 0.0);
        let budget = self.course.defaults.remeasure_budget_seconds;
        while remeasure::measure_again(
            observations.iter().any(worth_measuring_again),
            runs,
            MAX_MEASUREMENTS,
            spent,
            longest,
            budget,
        ) {
            let before = timings.harness_seconds;
            let env = HarnessInput {
                only: Some(unsettled_metrics(ex, &observations)),
                ..self.env.clone()
            };
            let reference = self.measure_reference(ex, &observations, &env, timings);
            let again = Round {
                number: runs + 1,
                env: &env,
                reference: reference.as_ref(),
                needs: unsettled(ex, &observations).map(metrics_read_by).collect(),
            };
            let again = self.observe(ex, tests, place, timings, again);
            merge_measured_again(&mut observations, again);
            let took = timings.harness_seconds - before;
            (runs, spent, longest) = (runs + 1, spent + took, longest.max(took));
        }
        observations
    }

    /// The reference solution's measurements for `ex`, when a reference
    /// exists and some unsettled observation failed or may have been
    /// slowed (a pass on a busy baseline needs no reference).
    fn measure_reference(
        &self,
        ex: &Exercise,
        observations: &[ObservationResult],
        env: &HarnessInput,
        timings: &mut Timings,
    ) -> Option<Measurements> {
        let tree = self.reference.as_ref()?;
        let useful = observations
            .iter()
            .filter(|o| worth_measuring_again(o))
            .any(|o| {
                !matches!(
                    o.state,
                    ObservationState::Inconclusive {
                        cause: InconclusiveCause::BusyBaseline { .. }
                    }
                )
            });
        if !useful {
            return None;
        }
        self.progress.step(&format!(
            "{}: measuring the reference solution in turns",
            ex.id
        ));
        // Instructor code: course.yaml's ceiling is its limit.
        let timeout = timeouts::harness_timeout(self.limits.harness_timeout, None);
        self.measure(tree, ex, env, timings, &timeout, &runner::Untold)
            .ok()
    }
}

/// Why a harness run gave no measurements, as an observation's cause: a
/// harness killed at its limit is not measured again.
fn harness_cause(error: HarnessError) -> NotMeasuredCause {
    match error {
        HarnessError::TimedOut { limit_seconds, .. } => NotMeasuredCause::HarnessTimedOut {
            timeout_seconds: limit_seconds,
            reason: error.to_string(),
        },
        error => NotMeasuredCause::Harness(error.to_string()),
    }
}

/// The traces and sweeps named after a metric `o`'s checks read.
fn recorded_behind(o: &Observation, m: &Measurements) -> Recorded {
    let read = |name: &str| {
        o.checks
            .iter()
            .any(|c| c.metric == name || c.per.as_deref() == Some(name))
    };
    Recorded {
        traces: m.traces.iter().filter(|t| read(&t.name)).cloned().collect(),
        sweeps: m.sweeps.iter().filter(|s| read(&s.name)).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_observation_carries_the_traces_and_sweeps_named_after_its_metrics() {
        let m: Measurements = serde_json::from_str(
            r#"{ "format": 1, "exercise": "ex02", "time_unit_seconds": 0.05, "cores": 2,
                 "repeats": 3, "metrics": [],
                 "traces": [ { "name": "threads_seconds", "spans": [] },
                             { "name": "rayon_seconds", "spans": [] } ],
                 "sweeps": [ { "name": "slow_2_seconds", "points": [] } ] }"#,
        )
        .unwrap();
        let observation = Observation {
            id: "obs".into(),
            claim: "A claim.".into(),
            points: 1.0,
            min_cores: 1,
            checks: vec![crate::course::Check {
                metric: "threads_seconds".into(),
                per: Some("slow_2_seconds".into()),
                at_least: Some(1.0),
                at_most: None,
            }],
            hint: "A hint.".into(),
            max_spread: None,
            after: None,
            tested_by: Vec::new(),
        };
        let recorded = recorded_behind(&observation, &m);
        let names: Vec<&str> = recorded.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["threads_seconds"]);
        assert_eq!(recorded.sweeps.len(), 1);
    }
}
