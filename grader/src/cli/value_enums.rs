//! The command line's value enums, mapped onto the library's own types so
//! that no layer below the CLI depends on clap (as cargo-nextest does).

use crate::report;
use clap::ValueEnum;

/// Report formats; see REPORT-FORMATS.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatOpt {
    /// A table per exercise for people (colour on a terminal only).
    Human,
    /// Everything in the human report, machine-readable.
    Json,
    /// JUnit XML: one testcase per test and per observation.
    Junit,
    /// Gradescope's results.json.
    Gradescope,
    /// What GitHub Classroom's autograding reporter reads: `$GITHUB_ENV` lines, a runner per scoring unit.
    Github,
    /// One self-contained HTML page with the schedules and speedups drawn.
    Html,
}

impl From<FormatOpt> for report::Format {
    fn from(format: FormatOpt) -> Self {
        match format {
            FormatOpt::Human => report::Format::Human,
            FormatOpt::Json => report::Format::Json,
            FormatOpt::Junit => report::Format::Junit,
            FormatOpt::Gradescope => report::Format::Gradescope,
            FormatOpt::Github => report::Format::Github,
            FormatOpt::Html => report::Format::Html,
        }
    }
}
