//! `grader slurm`: a Slurm job script that grades a class as a job array.
//!
//! One task per submission, each with a whole node (`--exclusive`) so no two
//! submissions are ever timed at once; every task writes its JSON report to
//! a shared directory, and a job that depends on the array merges them with
//! `grader batch --merge`. Slurm schedules; the grader never does.

use crate::cli::SlurmArgs;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// Write the job script for `args` (course file `course_file`).
pub fn write(args: &SlurmArgs, course_file: &Path) -> anyhow::Result<()> {
    let grader = match &args.grader {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("cannot find the grader's own binary")?,
    };
    let script = script(&SlurmJob {
        grader: absolute(&grader)?,
        course: absolute(course_file)?,
        reports: absolute(&args.reports)?,
        submissions: args
            .submissions
            .iter()
            .map(|s| absolute(s))
            .collect::<anyhow::Result<_>>()?,
        time: args.time.clone(),
        sbatch: args.sbatch.clone(),
    })?;
    std::fs::write(&args.out, script)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    Ok(())
}

/// Everything the script needs, as absolute paths (jobs run elsewhere).
#[derive(Debug, Clone)]
pub struct SlurmJob {
    pub grader: PathBuf,
    pub course: PathBuf,
    pub reports: PathBuf,
    pub submissions: Vec<PathBuf>,
    pub time: String,
    pub sbatch: Vec<String>,
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// The job script. Run with `bash`, it submits itself as the array and the
/// merge job; inside the array, each task grades its submission.
pub fn script(job: &SlurmJob) -> anyhow::Result<String> {
    if job.submissions.is_empty() {
        bail!("no submissions to grade");
    }
    if job
        .time
        .chars()
        .any(|c| !(c.is_ascii_digit() || c == ':' || c == '-'))
    {
        bail!("--time `{}` is not a Slurm time such as 00:20:00", job.time);
    }
    let extra: String = job
        .sbatch
        .iter()
        .map(|option| {
            if option.contains('\n') {
                bail!("an --sbatch option must be one line");
            }
            Ok(format!("#SBATCH {option}\n"))
        })
        .collect::<anyhow::Result<_>>()?;
    let submissions: String = job
        .submissions
        .iter()
        .map(|s| format!("  {}\n", quote(s)))
        .collect();
    Ok(SCRIPT
        .replace("{last}", &(job.submissions.len() - 1).to_string())
        .replace("{time}", &job.time)
        .replace(
            "{reports_log}",
            &job.reports.join("slurm-%A_%a.log").display().to_string(),
        )
        .replace("{extra}", &extra)
        .replace("{grader}", &quote(&job.grader))
        .replace("{course}", &quote(&job.course))
        .replace("{reports}", &quote(&job.reports))
        .replace("{submissions}", &submissions))
}

/// `path` as one shell word.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

const SCRIPT: &str = r#"#!/bin/bash
#SBATCH --job-name=grade-class
#SBATCH --array=0-{last}
#SBATCH --exclusive
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --time={time}
#SBATCH --output={reports_log}
{extra}# Written by `grader slurm`. Run it with `bash`: it submits itself as a job
# array, one task per submission, each with a whole node (--exclusive) so no
# two submissions are timed at once, and a job that merges the reports into
# gradebook.csv and report.html once every task has ended.
set -euo pipefail
GRADER={grader}
COURSE={course}
REPORTS={reports}
SUBMISSIONS=(
{submissions})

# The merge job (`bash THIS-SCRIPT --merge`): every report the tasks wrote.
# With none at all, say so instead of handing the grader a literal "*.json".
if [ "${1:-}" = --merge ]; then
  shopt -s nullglob
  reports=("$REPORTS"/*.json)
  if [ ${#reports[@]} = 0 ]; then
    echo "grade-class: no reports in $REPORTS: no grading task finished; see the tasks' logs there" >&2
    exit 1
  fi
  exec "$GRADER" batch --merge "${reports[@]}" --out "$REPORTS"
fi

if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
  mkdir -p "$REPORTS"
  array=$(sbatch --parsable "$0")
  # The merge runs this file again, so it must stay where it is until then.
  merge=$(sbatch --parsable --dependency="afterany:$array" --job-name=grade-class-merge \
    --output="$REPORTS/merge-%j.log" \
    --wrap="bash $(printf '%q' "$(realpath "$0")") --merge")
  echo "submitted the array as job $array and the merge as job $merge"
  echo "the gradebook will be $REPORTS/gradebook.csv"
  exit 0
fi

submission="${SUBMISSIONS[$SLURM_ARRAY_TASK_ID]}"
id=$(basename "$submission")
# A report appears whole or not at all: the merge never reads half a file.
if "$GRADER" grade --course "$COURSE" --submission "$submission" \
    --format json --out "$REPORTS/$id.json.partial"; then
  mv "$REPORTS/$id.json.partial" "$REPORTS/$id.json"
else
  echo "could not grade $submission (exit code $?)" >&2
  exit 1
fi
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn job(submissions: &[&str]) -> SlurmJob {
        SlurmJob {
            grader: "/opt/grader".into(),
            course: "/course/course.yaml".into(),
            reports: "/shared/reports".into(),
            submissions: submissions.iter().map(PathBuf::from).collect(),
            time: "00:20:00".into(),
            sbatch: vec!["--partition=teaching".into()],
        }
    }

    #[test]
    fn one_exclusive_task_per_submission() {
        let text = script(&job(&["/s/alice", "/s/bob's repo", "/s/carol"])).unwrap();
        assert!(text.contains("#SBATCH --array=0-2\n"));
        assert!(text.contains("#SBATCH --exclusive\n"));
        assert!(text.contains("#SBATCH --partition=teaching\n"));
        assert!(text.contains("  '/s/bob'\\''s repo'\n"));
        assert!(text.contains("batch --merge"));
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(script(&job(&[])).is_err());
        let mut bad_time = job(&["/s/a"]);
        bad_time.time = "1h; rm -rf /".into();
        assert!(script(&bad_time).is_err());
        let mut two_lines = job(&["/s/a"]);
        two_lines.sbatch = vec!["--x\nrm -rf /".into()];
        assert!(script(&two_lines).is_err());
    }

    /// `bash SCRIPT --merge` for a job whose grader is `echo` and whose
    /// reports go to `reports`: (success, stdout, stderr).
    // A test's own short bash, not student code: no sandbox needed.
    #[allow(clippy::disallowed_methods)]
    fn merge_with(reports: &std::path::Path) -> (bool, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.sbatch");
        let mut echoing = job(&["/s/a"]);
        echoing.grader = "/bin/echo".into();
        echoing.reports = reports.to_owned();
        std::fs::write(&path, script(&echoing).unwrap()).unwrap();
        let output = std::process::Command::new("bash")
            .arg(&path)
            .arg("--merge")
            .output()
            .unwrap();
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
        (
            output.status.success(),
            text(output.stdout),
            text(output.stderr),
        )
    }

    #[test]
    fn the_merge_takes_every_report_and_says_when_there_is_none() {
        let reports = tempfile::tempdir().unwrap();
        let (ok, _, stderr) = merge_with(reports.path());
        assert!(!ok);
        assert!(stderr.contains("no reports in"), "{stderr}");
        std::fs::write(reports.path().join("alice.json"), "{}").unwrap();
        std::fs::write(reports.path().join("bob.json"), "{}").unwrap();
        let (ok, stdout, _) = merge_with(reports.path());
        assert!(ok);
        assert!(stdout.starts_with("batch --merge "), "{stdout}");
        assert!(
            stdout.contains("alice.json") && stdout.contains("bob.json"),
            "{stdout}"
        );
    }

    #[test]
    // A test's own short `bash -n`, not student code: no sandbox needed.
    #[allow(clippy::disallowed_methods)]
    fn the_script_is_valid_bash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.sbatch");
        std::fs::write(&path, script(&job(&["/s/a", "/s/b"])).unwrap()).unwrap();
        let status = std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
    }
}
