use super::harness::test_name;
use super::recorder::CPU_CLOCK_REGION;
use super::*;
use common::trace::LaneSpan;
use std::time::Duration;

fn observations() -> Observations {
    Observations::recording_to("exTest", None, 2)
}

#[test]
fn unit_and_cores_are_always_recorded() {
    let o = observations();
    let names: Vec<_> = o
        .measurements()
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ALWAYS_RECORDED);
    assert!(o.measurements().metrics[1].values[0] >= 1.0);
}

#[test]
fn time_records_one_value_per_repeat_after_the_warmup() {
    let mut o = observations();
    let mut calls = 0;
    let last = o.time("work", || {
        calls += 1;
        calls
    });
    assert_eq!(last, Some(3));
    let m = o
        .measurements()
        .metrics
        .iter()
        .find(|m| m.name == "work")
        .unwrap();
    assert_eq!((m.unit, m.values.len()), (Unit::Seconds, 2));
}

#[test]
fn short_work_is_repeated_past_the_cpu_clocks_tick_and_recorded_per_call() {
    let mut o = observations();
    let mut calls = 0_u32;
    o.time_with_cpu("short_wall", "short_cpu", true, || calls += 1);
    // A warm-up and 2 measured runs, each of many calls of a no-op.
    assert!(calls > 3 * 100, "{calls} calls");
    let per_call = o
        .measurements()
        .metrics
        .iter()
        .find(|m| m.name == "short_wall");
    let per_call = per_call.unwrap().values.clone();
    assert_eq!(per_call.len(), 2);
    // Each run lasted at least CPU_CLOCK_REGION; per call it is a sliver.
    let region = CPU_CLOCK_REGION.as_secs_f64();
    assert!(per_call.iter().all(|&s| s < region / 100.0), "{per_call:?}");
}

#[test]
fn cpu_time_of_sleeping_is_small_and_of_spinning_is_large() {
    let mut o = observations();
    o.time_with_cpu("sleep_wall", "sleep_cpu", false, || {
        std::thread::sleep(Duration::from_millis(20))
    });
    // Spin until 40 ms of CPU time are used, not 40 ms of wall time: on a
    // busy machine the spinning thread gets only part of a core.
    o.time_with_cpu("spin_wall", "spin_cpu", false, || {
        let start = cpu_time();
        while cpu_time().saturating_sub(start) < Duration::from_millis(40) {
            std::hint::spin_loop();
        }
    });
    let min = |name: &str| {
        let m = o
            .measurements()
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap();
        assert_eq!(m.values.len(), 2, "{name}");
        m.min()
    };
    assert!(min("sleep_cpu") < min("spin_cpu"));
}

#[test]
fn every_measured_repeat_records_its_contention_and_the_warmup_none() {
    let mut o = observations();
    o.time_with_cpu("wall", "cpu", true, || {
        std::thread::sleep(Duration::from_millis(2))
    });
    o.time("twice", || ());
    o.time("twice", || ());
    let metric = |name: &str| {
        o.measurements()
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap()
            .clone()
    };
    let wall = metric("wall");
    assert_eq!(wall.contention.len(), wall.values.len());
    for (c, v) in wall.contention.iter().zip(&wall.values) {
        // The contention's stretch holds the timed region.
        assert!(c.seconds >= *v, "{c:?} {v}");
    }
    assert_eq!(metric("cpu").contention, wall.contention);
    assert_eq!(metric("twice").contention.len(), 4);
    assert!(metric("unit").contention.is_empty());
    assert!(o.measurements().machine.is_some());
}

#[test]
fn files_without_contention_still_read() {
    let old = r#"{ "format": 1, "exercise": "ex01", "time_unit_seconds": 0.05, "cores": 2,
                  "repeats": 1, "metrics": [ { "name": "x", "unit": "seconds", "values": [1.0] } ] }"#;
    let m: Measurements = serde_json::from_str(old).unwrap();
    assert!(m.machine.is_none() && m.during_run.is_none());
    assert!(m.metrics[0].contention.is_empty());
}

#[test]
fn a_panic_becomes_the_metrics_error() {
    let mut o = observations();
    let result: Option<()> = o.time("broken", || todo!("see the README"));
    assert_eq!(result, None);
    let m = o
        .measurements()
        .metrics
        .iter()
        .find(|m| m.name == "broken")
        .unwrap();
    assert!(m.error.as_deref().unwrap().contains("see the README"));
    assert!(o.table().contains("not measured: panicked"));
}

#[test]
fn traces_and_sweeps_are_kept_by_name_and_files_without_them_parse() {
    let mut o = observations();
    let span = |label: &str| LaneSpan {
        lane: 1,
        label: label.into(),
        start: 0.0,
        end: 8.0,
    };
    o.record_trace("threads", &[span("first run")]);
    o.record_trace("threads", &[span("last run")]);
    o.record_sweep(
        "slow",
        vec![SweepPoint {
            workers: 1,
            seconds: vec![0.2, 0.21],
        }],
    );
    let m = o.measurements();
    assert_eq!(m.traces.len(), 1);
    assert_eq!(m.traces[0].spans, [span("last run")]);
    assert_eq!(m.sweeps[0].points[0].workers, 1);
    let old = r#"{ "format": 1, "exercise": "ex02", "time_unit_seconds": 0.05,
                   "cores": 2, "repeats": 3, "metrics": [] }"#;
    let old: Measurements = serde_json::from_str(old).unwrap();
    assert!(old.traces.is_empty() && old.sweeps.is_empty());
}

#[test]
fn settings_round_trip_through_stdin_lines() {
    let settings = Settings {
        measurements: PathBuf::from("/tmp/x y/measurements.json"),
        repeats: 3,
        time_unit_ms: 12.5,
        only: None,
    };
    let text = String::from_utf8(settings.to_stdin()).unwrap();
    assert_eq!(Settings::parse(&text), Ok(settings.clone()));
    let some = Settings {
        only: Some(["b_seconds".to_owned(), "a_seconds".to_owned()].into()),
        ..settings
    };
    let text = String::from_utf8(some.to_stdin()).unwrap();
    assert!(text.contains("only=a_seconds,b_seconds\n"), "{text}");
    assert_eq!(Settings::parse(&text), Ok(some));
    assert!(
        Settings::parse("measurements=/m\ntime_unit_ms=5\nonly=a,,b\n")
            .unwrap_err()
            .contains("only")
    );
    assert!(Settings::parse("repeats=0\n")
        .unwrap_err()
        .contains("repeats"));
    assert!(Settings::parse("colour=red\n")
        .unwrap_err()
        .contains("colour"));
    assert!(Settings::parse("repeats=2\ntime_unit_ms=5\n")
        .unwrap_err()
        .contains("measurements"));
}

#[test]
fn a_run_for_some_metrics_wants_only_the_work_behind_them() {
    let mut o = observations();
    assert!(o.wants(&["anything"]), "no filter: every metric");
    o.only = Some(["threads_seconds".to_owned()].into());
    assert!(o.wants(&["serial_seconds", "threads_seconds"]));
    assert!(!o.wants(&["serial_seconds"]));
    assert!(!o.wants(&[]));
}

#[test]
fn each_recorded_or_failed_metric_is_told_to_the_progress_file() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("measurements.json");
    // The grader creates the progress file and opens it before the run.
    std::fs::write(progress_path(&out), "").unwrap();
    let mut grader_side = std::fs::File::open(progress_path(&out)).unwrap();
    let mut o = Observations::recording_to("exTest", Some(out.clone()), 2);
    let names = || std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(names(), 0, "student code finds the directory empty");
    o.time("work", || ());
    o.fail("broken", "panicked");
    let mut progress = String::new();
    grader_side.read_to_string(&mut progress).unwrap();
    assert_eq!(progress, "unit\ncores\nwork\nbroken\n");
    o.finish().unwrap();
    assert!(out.is_file(), "the measurements file is still written");
}

#[test]
fn work_keeps_a_core_as_busy_as_a_busy_loop_and_sleeping_does_not() {
    let computing = busy_share(3, || {
        let start = cpu_time();
        while cpu_time().saturating_sub(start) < Duration::from_millis(10) {
            std::hint::spin_loop();
        }
    });
    let sleeping = busy_share(3, || std::thread::sleep(Duration::from_millis(10)));
    assert!(computing > 0.5, "{computing}");
    assert!(sleeping < 0.2, "{sleeping}");
}

#[test]
fn a_harness_thread_is_named_as_libtest_names_a_test() {
    let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let named = args(&["pool_map_works", "--exact", "--test-threads", "1"]);
    assert_eq!(test_name(named.into_iter()), "pool_map_works");
    assert_eq!(test_name(args(&["--bench"]).into_iter()), "main");
    assert_eq!(test_name(args(&[]).into_iter()), "main");
}

#[test]
fn a_trace_keeps_a_bounded_number_of_spans_lanes_and_characters() {
    use crate::processes::{MAX_LABEL_CHARS, MAX_LANES, MAX_SPANS};
    let spans: Vec<LaneSpan> = (0..3 * MAX_SPANS)
        .map(|i| LaneSpan {
            lane: i % (2 * MAX_LANES),
            label: "x".repeat(10 * MAX_LABEL_CHARS),
            start: i as f64,
            end: i as f64 + 1.0,
        })
        .collect();
    let mut o = observations();
    o.record_trace("flood", &spans);
    let kept = &o.measurements().traces[0].spans;
    assert_eq!(kept.len(), MAX_SPANS);
    assert!(kept.iter().all(|s| s.lane < MAX_LANES));
    assert!(kept
        .iter()
        .all(|s| s.label.chars().count() == MAX_LABEL_CHARS));
    assert_eq!(
        kept[0],
        LaneSpan {
            label: "x".repeat(MAX_LABEL_CHARS),
            ..spans[0].clone()
        }
    );
}

#[test]
fn measurements_round_trip_through_json() {
    let mut o = observations();
    o.record("pids", Unit::Count, [2.0]);
    o.record_trace(
        "threads",
        &[LaneSpan {
            lane: 0,
            label: "secret 1".into(),
            start: 0.0,
            end: 1.0,
        }],
    );
    let json = serde_json::to_string(o.measurements()).unwrap();
    let back: Measurements = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, o.measurements());
}

#[test]
fn the_environment_is_parsed_once_and_bad_values_are_errors() {
    assert_eq!(
        settings_from(None, None).unwrap(),
        EnvSettings {
            repeats: None,
            time_unit_ms: None
        }
    );
    let set = settings_from(Some(" 5 "), Some("2.5")).unwrap();
    assert_eq!((set.repeats, set.time_unit_ms), (Some(5), Some(2.5)));
    for bad in ["", "0", "-1", "three", "2.5"] {
        let e = settings_from(Some(bad), None).unwrap_err().to_string();
        assert!(e.starts_with("COURSE_REPEATS must be"), "{e}");
    }
    for bad in ["", "0", "-5", "NaN", "inf", "abc"] {
        let e = settings_from(None, Some(bad)).unwrap_err().to_string();
        assert!(e.starts_with("COURSE_TIME_UNIT_MS must be"), "{e}");
        assert_eq!(
            format!("{e}"),
            format!("{:?}", settings_from(None, Some(bad)).unwrap_err())
        );
    }
}

#[test]
fn a_metrics_minimum_is_its_smallest_value() {
    let m = Metric {
        name: "m".into(),
        unit: Unit::Seconds,
        values: vec![0.3, 0.1, 0.2],
        error: None,
        contention: Vec::new(),
    };
    assert_eq!(m.min(), 0.1);
}
