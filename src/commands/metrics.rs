//! `perfgate metrics`: lists every metric the reports yield, the names a budget can use.

use std::process::ExitCode;

use anyhow::Result;

use super::emit;
use crate::cli::MetricsArgs;
use crate::ingest;
use crate::render;

/// Runs `metrics`.
pub(crate) fn run(args: MetricsArgs) -> Result<ExitCode> {
    let mut reports = Vec::with_capacity(args.files.len());
    for path in &args.files {
        reports.push(ingest::load_file(path, args.format, args.lenient)?);
    }
    let out = if args.json {
        render::metrics_json(&reports)?
    } else {
        render::metrics_text(&reports)
    };
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
