//! Reporters: each renders the one result model, [`GradeReport`], in a format.
//!
//! The formats are documented in `grader/REPORT-FORMATS.md`.

pub mod github;
mod gradescope;
mod html;
mod human;
mod json;
mod junit;
pub mod progress;

#[cfg(test)]
pub(crate) mod fixtures;

use crate::model::{GradeReport, MachineLimitRule, ObservationResult};
use crate::text::short;
use anyhow::Context;
use std::io::Write;
use std::path::Path;

/// The report formats; see REPORT-FORMATS.md. The command line maps its
/// own value enum onto this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Junit,
    Gradescope,
    Github,
    Html,
}

/// Renders a grading report as text.
pub trait Reporter {
    /// The whole report. Human reports may carry ANSI colour codes, which
    /// [`write()`] strips where colour does not belong.
    fn render(&self, report: &GradeReport) -> anyhow::Result<String>;
}

/// How much a report shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detail {
    /// The human report draws every recorded schedule, not only those of
    /// failed observations.
    pub verbose: bool,
}

/// The reporter for `format`.
pub fn reporter(format: Format, detail: Detail) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(human::Human {
            verbose: detail.verbose,
        }),
        Format::Json => Box::new(json::Json),
        Format::Junit => Box::new(junit::Junit),
        Format::Gradescope => Box::new(gradescope::Gradescope),
        Format::Github => Box::new(github::Github),
        Format::Html => Box::new(html::Html),
    }
}

/// Render `report` and write it to `out`, or to standard output (colour only
/// on a terminal, and never with `NO_COLOR` set). A file never gets colour.
pub fn write(
    report: &GradeReport,
    format: Format,
    detail: Detail,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let text = reporter(format, detail).render(report)?;
    match out {
        Some(path) => {
            let plain = anstream::adapter::strip_str(&text).to_string();
            write_atomically(path, &plain)
                .with_context(|| format!("cannot write the report to {}", path.display()))?;
            eprintln!("grader: wrote the report to {}", path.display());
            Ok(())
        }
        None => {
            let mut stdout = anstream::stdout();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .context("cannot write the report to standard output")
        }
    }
}

/// How many file names the instructor-files line spells out per kind; a
/// submission of `src` dirs alone misses every other file, and a line
/// naming all of them would bury the report.
const FILES_NAMED: usize = 5;

/// One line on the instructor's files against the release manifest.
pub fn instructor_files_line(files: &crate::model::InstructorFiles) -> String {
    if files.intact() && files.not_sent > 0 {
        return format!(
            "Instructor files: none changed ({} of {} sent, each as released).",
            files.checked - files.not_sent,
            files.checked
        );
    }
    if files.intact() {
        return format!(
            "Instructor files: all {} match the release manifest.",
            files.checked
        );
    }
    let mut line = format!(
        "Instructor files: {} of {} differ from the release",
        files.changed.len() + files.missing.len(),
        files.checked
    );
    for (kind, names) in [("changed", &files.changed), ("missing", &files.missing)] {
        if !names.is_empty() {
            line.push_str(&format!("; {} {kind}: {}", names.len(), named_files(names)));
        }
    }
    line + "."
}

/// The first [`FILES_NAMED`] of `names`, then how many more there are.
fn named_files(names: &[String]) -> String {
    let shown = names[..names.len().min(FILES_NAMED)].join(", ");
    match names.len().saturating_sub(FILES_NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// Write `text` to a temporary file beside `path`, then rename it over
/// `path`: a reader sees the old report or the whole new one, never a part.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// For a passing test whose points `--strict` withheld: why, with the flags.
pub fn withheld_note(report: &GradeReport, id: &str) -> String {
    if !report.points_withheld(id) {
        return String::new();
    }
    let cost = flag_cost(report, id).unwrap_or_default();
    format!("{cost}:\n{}", flag_lines(report, id).join("\n"))
}

/// What the source flags of exercise `id` cost, or would cost under
/// `--strict`, in a sentence; None without flags.
pub fn flag_cost(report: &GradeReport, id: &str) -> Option<String> {
    report.integrity.flags_of(id).map(|f| f.cost())
}

/// What the source scan found in exercise `id`, one `file:line: what` each,
/// with how to avoid it.
pub fn flag_lines(report: &GradeReport, id: &str) -> Vec<String> {
    report
        .integrity
        .flags_of(id)
        .map(|f| {
            f.flags
                .iter()
                .map(|flag| {
                    let place = format!("{}:{}: {}", flag.file, flag.line, flag.what);
                    if flag.advice.is_empty() {
                        place
                    } else {
                        format!("{place}; to avoid it: {}", flag.advice)
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Which rule applied to the observations this machine could not judge, in
/// one sentence, e.g. `3 points left out of the maximum: this machine could
/// not measure ex02 a, ex02 b (...)`; None when it judged every one.
pub fn machine_limits_line(report: &GradeReport) -> Option<String> {
    let limits = &report.machine_limits;
    if limits.observations.is_empty() {
        return None;
    }
    let what = match limits.rule {
        MachineLimitRule::KeepAsZero => "kept in the maximum as 0",
        MachineLimitRule::LeaveOut => "left out of the maximum",
    };
    Some(format!(
        "{} {what}: this machine could not measure {} (too few cores, or too busy or noisy to judge): its limit, not a mistake in the code (course.yaml's machine_limit_points: {}).",
        points_of(limits.points),
        limits.observations.join(", "),
        limits.rule.as_str()
    ))
}

/// What a skipped or inconclusive observation's points did, for its own
/// line in a platform's output.
pub fn machine_limit_note(report: &GradeReport, o: &ObservationResult) -> String {
    let points = match report.machine_limits.rule {
        MachineLimitRule::KeepAsZero => format!(
            "its {} {} kept in the maximum as 0 until it is graded on a machine that can measure it",
            points_of(o.max_points),
            if o.max_points == 1.0 { "is" } else { "are" }
        ),
        MachineLimitRule::LeaveOut => "its points are left out of the maximum".to_owned(),
    };
    format!(
        "This machine could not measure it, its limit and not a mistake in your code: {points}."
    )
}

/// `1 point`, `2.5 points`.
pub fn points_of(x: f64) -> String {
    let unit = if x == 1.0 { "point" } else { "points" };
    format!("{} {unit}", short(x))
}

/// A report written with `--format json`.
pub fn read_saved(path: &Path) -> anyhow::Result<GradeReport> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the report {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a report written by `grader --format json`",
            path.display()
        )
    })
}

#[cfg(test)]
mod flag_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MachineLimitRule, Verdict};

    fn render(format: Format, report: &GradeReport) -> String {
        anstream::adapter::strip_str(&reporter(format, Detail::default()).render(report).unwrap())
            .to_string()
    }

    #[test]
    fn the_instructor_files_line_names_a_few_files_and_counts_the_rest() {
        let names = |n: usize| (0..n).map(|i| format!("f{i}.rs")).collect::<Vec<_>>();
        let files = crate::model::InstructorFiles {
            checked: 98,
            changed: names(1),
            missing: names(97),
            not_sent: 0,
        };
        assert_eq!(
            instructor_files_line(&files),
            "Instructor files: 98 of 98 differ from the release; 1 changed: f0.rs; 97 missing: f0.rs, f1.rs, f2.rs, f3.rs, f4.rs and 92 more."
        );
        let intact = crate::model::InstructorFiles {
            checked: 3,
            ..Default::default()
        };
        assert_eq!(
            instructor_files_line(&intact),
            "Instructor files: all 3 match the release manifest."
        );
        let sent_src_only = crate::model::InstructorFiles {
            checked: 98,
            not_sent: 98,
            ..Default::default()
        };
        assert_eq!(
            instructor_files_line(&sent_src_only),
            "Instructor files: none changed (0 of 98 sent, each as released)."
        );
        let one_edited = crate::model::InstructorFiles {
            checked: 98,
            changed: names(1),
            not_sent: 97,
            ..Default::default()
        };
        assert_eq!(
            instructor_files_line(&one_edited),
            "Instructor files: 1 of 98 differ from the release; 1 changed: f0.rs."
        );
    }

    #[test]
    fn human_mixed() {
        insta::assert_snapshot!(render(Format::Human, &fixtures::mixed()));
    }

    #[test]
    fn human_perfect() {
        insta::assert_snapshot!(render(Format::Human, &fixtures::perfect()));
    }

    #[test]
    fn human_colours_only_what_it_should() {
        let coloured = reporter(Format::Human, Detail::default())
            .render(&fixtures::mixed())
            .unwrap();
        assert!(
            coloured.contains("\u{1b}["),
            "the human report colours verdicts"
        );
        let plain = render(Format::Human, &fixtures::mixed());
        assert!(!plain.contains('\u{1b}'));
    }

    #[test]
    fn the_human_report_draws_a_failed_observations_schedule_and_every_one_when_verbose() {
        let report = fixtures::mixed();
        let plain = render(Format::Human, &report);
        assert!(plain.contains("schedule of long_last_seconds:"), "{plain}");
        assert!(!plain.contains("schedule of threads_seconds:"), "{plain}");
        let verbose = reporter(Format::Human, Detail { verbose: true })
            .render(&report)
            .unwrap();
        let verbose = anstream::adapter::strip_str(&verbose).to_string();
        assert!(
            verbose.contains("schedule of threads_seconds:"),
            "{verbose}"
        );
        assert!(verbose.contains("B  |[query 8"), "{verbose}");
    }

    #[test]
    fn a_failed_processes_observation_draws_a_lane_per_worker_process() {
        let report = fixtures::processes_one_at_a_time();
        let plain = render(Format::Human, &report);
        let ex03 = &plain[plain.find("ex03").unwrap()..plain.find("ex04").unwrap()];
        insta::assert_snapshot!(ex03);
        assert!(ex03.contains("schedule of processes_seconds:"), "{ex03}");
        let lanes: Vec<&str> = ex03
            .lines()
            .map(str::trim_start)
            .filter(|l| l.contains("  |"))
            .collect();
        assert_eq!(lanes.len(), 2, "a lane per worker: {ex03}");
        assert!(
            lanes[0].starts_with("A  |[crunch") && lanes[1].starts_with("B  |   "),
            "{ex03}"
        );
    }

    #[test]
    fn json_mixed() {
        insta::assert_snapshot!(render(Format::Json, &fixtures::mixed()));
    }

    #[test]
    fn junit_mixed() {
        insta::assert_snapshot!(render(Format::Junit, &fixtures::mixed()));
    }

    #[test]
    fn gradescope_mixed() {
        insta::assert_snapshot!(render(Format::Gradescope, &fixtures::mixed()));
    }

    #[test]
    fn github_mixed() {
        let runners = github::runners(&fixtures::mixed());
        insta::assert_snapshot!(serde_json::to_string_pretty(&runners).unwrap());
    }

    #[test]
    fn a_perfect_run_adds_up_exactly_in_every_machine_format() {
        let mut report = fixtures::perfect();
        let ex = &mut report.exercises[0];
        // Three tests sharing 70 points: 70 / 3 does not divide evenly.
        let passed = ex.tests.tests[0].clone();
        ex.tests = crate::model::points::tests_report(70.0, None, vec![passed; 3]);
        ex.observations.clear();
        (ex.score, ex.max_score) = (70.0, 70.0);
        (report.score, report.max_score) = (70.0, 70.0);
        let gradescope = serde_json::from_str(&render(Format::Gradescope, &report)).unwrap();
        for (format, v) in [
            ("gradescope", gradescope),
            ("github", github::recorded(&report)),
        ] {
            let scores = v["tests"].as_array().unwrap().iter();
            let sum = scores.fold(0.0, |sum, t| sum + t["score"].as_f64().unwrap());
            assert_eq!(sum, 70.0, "{format}");
        }
    }

    /// Gradescope's tests add up to its score and, out of their maximums,
    /// to the report's maximum; GitHub's to its score, out of its max_score.
    #[test]
    fn machine_formats_add_up_under_either_machine_limit_rule() {
        for (rule, max) in [
            (MachineLimitRule::KeepAsZero, 70.0),
            (MachineLimitRule::LeaveOut, 67.0),
        ] {
            let report = fixtures::mixed_under(rule);
            assert_eq!((report.score, report.max_score), (12.0, max), "{rule:?}");
            let v: serde_json::Value =
                serde_json::from_str(&render(Format::Gradescope, &report)).unwrap();
            let sum = |key: &str| -> f64 {
                let tests = v["tests"].as_array().unwrap();
                tests.iter().map(|t| t[key].as_f64().unwrap()).sum()
            };
            assert_eq!((sum("score"), sum("max_score")), (12.0, max), "{rule:?}");
            assert_eq!(v["score"], 12.0);
            let v = github::recorded(&report);
            let tests = v["tests"].as_array().unwrap();
            let scores: f64 = tests.iter().map(|t| t["score"].as_f64().unwrap()).sum();
            assert_eq!((scores, v["max_score"].as_f64().unwrap()), (12.0, max));
        }
    }

    /// Human, Gradescope and Classroom outputs say which rule applied.
    #[test]
    fn the_outputs_say_which_machine_limit_rule_applied() {
        let kept = "3 points kept in the maximum as 0: this machine could not measure ex02 secret-speedup, ex02 threads-crunch-in-parallel";
        let left = "3 points left out of the maximum: this machine could not measure ex02 secret-speedup, ex02 threads-crunch-in-parallel";
        for (rule, says, note) in [
            (
                MachineLimitRule::KeepAsZero,
                kept,
                "its 2 points are kept in the maximum as 0",
            ),
            (
                MachineLimitRule::LeaveOut,
                left,
                "its points are left out of the maximum",
            ),
        ] {
            let report = fixtures::mixed_under(rule);
            // Wrapped at spaces and hyphens: compared without white space.
            let unwrapped = |text: &str| text.split_whitespace().collect::<String>();
            let human = render(Format::Human, &report);
            assert!(
                unwrapped(&human).contains(&unwrapped(says)),
                "{rule:?}: {human}"
            );
            let gradescope: serde_json::Value =
                serde_json::from_str(&render(Format::Gradescope, &report)).unwrap();
            let output = gradescope["output"].as_str().unwrap();
            assert!(output.contains(says), "{rule:?}: {output}");
            let skipped = |v: &serde_json::Value, key: &str| -> String {
                let tests = v["tests"].as_array().unwrap();
                let name = |t: &&serde_json::Value| {
                    t["name"]
                        .as_str()
                        .unwrap()
                        .contains("threads-crunch-in-parallel")
                };
                tests.iter().find(name).unwrap()[key]
                    .as_str()
                    .unwrap()
                    .to_owned()
            };
            assert!(skipped(&gradescope, "output").contains(note), "{rule:?}");
            let github = github::recorded(&report);
            assert!(skipped(&github, "message").contains(note), "{rule:?}");
        }
    }

    #[test]
    fn machine_formats_add_up_to_the_report_score() {
        let report = fixtures::mixed();
        let gradescope = serde_json::from_str(&render(Format::Gradescope, &report)).unwrap();
        for (format, v) in [
            ("gradescope", gradescope),
            ("github", github::recorded(&report)),
        ] {
            let sum: f64 = v["tests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["score"].as_f64().unwrap())
                .sum();
            assert_eq!(sum, report.score, "{format}");
        }
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, &report)).unwrap();
        assert_eq!(v["format_version"], 1);
        let back: GradeReport = serde_json::from_value(v).unwrap();
        assert_eq!(
            (back.score, back.max_score),
            (report.score, report.max_score)
        );
        let verdicts = |r: &GradeReport| -> Vec<Verdict> {
            r.exercises
                .iter()
                .flat_map(|e| e.observations.iter().map(|o| o.verdict))
                .collect()
        };
        assert_eq!(verdicts(&back), verdicts(&report));
    }
}
