//! The whole result model as JSON, with a format version in front.

use super::Reporter;
use crate::model::GradeReport;
use serde::Serialize;

/// Bumped when a field changes meaning or goes away (adding one does not).
pub const FORMAT_VERSION: u32 = 1;

pub struct Json;

#[derive(Serialize)]
struct Versioned<'a> {
    format_version: u32,
    #[serde(flatten)]
    report: &'a GradeReport,
}

impl Reporter for Json {
    fn render(&self, report: &GradeReport) -> anyhow::Result<String> {
        let versioned = Versioned {
            format_version: FORMAT_VERSION,
            report,
        };
        Ok(serde_json::to_string_pretty(&versioned)? + "\n")
    }
}
