//! `perfgate baseline update` and `baseline show`: record this run's values in the baseline file
//! (the store itself is [`crate::baseline`]) and print its history.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{bail, Result};

use super::{baseline_path, emit, read_current};
use crate::baseline::{self, BaselineMetric, BaselineRun};
use crate::budget;
use crate::cli::{ShowArgs, ShowFormat, UpdateArgs};
use crate::ingest;
use crate::render;

/// Runs `baseline update`: appends this run, keeping the last `--keep`.
pub(crate) fn update(args: UpdateArgs) -> Result<ExitCode> {
    // Everything that can fail about the reports fails here, before the file is touched.
    let current = read_current(&args.budget, &args.inputs, args.lenient)?;
    let path = baseline_path(args.baseline.as_deref(), &current.budget);
    let mut metrics = BTreeMap::new();
    for o in &current.observed {
        let (histogram, histogram_scale) = match &o.distribution {
            Some((_, h)) => (
                Some(baseline::encode_histogram(h)?),
                Some(ingest::HISTOGRAM_SCALE),
            ),
            None => (None, None),
        };
        metrics.insert(
            o.id.clone(),
            BaselineMetric {
                value: o.value,
                unit: o.unit,
                samples: o.samples.clone(),
                histogram,
                page: o.page.as_ref().map(|p| p.selector.clone()),
                histogram_scale,
            },
        );
    }
    let commit = args.commit.or_else(commit_of_checkout);
    if commit.is_none() {
        eprintln!(
            "warning: the run is recorded without a commit: GITHUB_SHA is not set and this is not \
             a git checkout (`--commit SHA` names it)"
        );
    }
    let run = BaselineRun {
        commit,
        time: Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()),
        metrics,
    };
    let file = baseline::append_run(&path, &current.budget.gate.name, run, args.keep)?;
    eprintln!(
        "{}: {} run{} (keeping the last {})",
        path.display(),
        file.runs.len(),
        if file.runs.len() == 1 { "" } else { "s" },
        args.keep
    );
    Ok(ExitCode::SUCCESS)
}

/// The commit being measured: `$GITHUB_SHA` in GitHub Actions, else the checkout's HEAD.
fn commit_of_checkout() -> Option<String> {
    if let Ok(sha) = std::env::var("GITHUB_SHA") {
        if crate::model::is_commit_id(sha.trim()) {
            return Some(sha.trim().to_ascii_lowercase());
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && crate::model::is_commit_id(&sha)).then_some(sha)
}

/// Runs `baseline show`: the history, as text or JSON.
pub(crate) fn show(args: ShowArgs) -> Result<ExitCode> {
    let budget = budget::load_budget(&args.budget)?;
    let path = baseline_path(args.baseline.as_deref(), &budget);
    let Some(file) = baseline::load_baseline(&path, &budget.gate.name)? else {
        bail!(
            "{}: no baseline yet; `perfgate baseline update --budget {}` records one",
            path.display(),
            args.budget.display()
        );
    };
    let out = match args.format {
        ShowFormat::Json => render::history_json(&budget, &file),
        ShowFormat::Text => render::history_text(&budget, &file, &path),
    };
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
