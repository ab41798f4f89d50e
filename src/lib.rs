//! perfgate reads the reports performance tools already write, judges them against a TOML budget
//! and reports one verdict.
//!
//! Data flows one way, one module per stage:
//!
//! ```text
//! budget.toml ─► budget ─► ingest/<tool> ─► sources' metrics ─► derive (expr metrics)
//!                                                               │
//!                                             judge (observe, then compare) ─► Verdict
//!                                                               │
//!                          render (text / markdown via minijinja / JSON) ◄──┘
//! ```
//!
//! - [`budget`] reads and validates the TOML budget, reporting every problem at once.
//! - [`ingest`] is the only module that knows a tool's output shape; it detects formats, expands
//!   globs and merges several runs of a source into medians.
//! - [`derive`] evaluates a rule's `expr` over the sources' metrics.
//! - [`judge`] binds rules to values (a missing metric is an error with the closest names) and
//!   compares them with the thresholds. No I/O.
//! - [`render`] owns the output formats users depend on: the JSON verdict and the template context.
//!
//! [`run`] wires them for the command line; `main` only maps its result to an exit code.

pub mod baseline;
pub mod budget;
pub mod cli;
pub mod derive;
pub mod github;
pub mod ingest;
pub mod judge;
pub mod model;
pub mod render;
pub mod stats;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::baseline::{BaselineMetric, BaselineRun};
use crate::budget::Budget;
use crate::cli::{
    BaselineCommand, CheckArgs, Cli, Command, MetricsArgs, OutputFormat, ShowArgs, ShowFormat,
    UpdateArgs,
};
use crate::ingest::{Format, Location};
use crate::judge::{Observed, SourceMetrics, Status};
use crate::render::{SourceInfo, Template};

/// Runs a parsed command line. `Ok` carries the exit code of a completed run (0 or 1); an `Err`
/// means the gate could not judge, which `main` turns into exit code 2.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Metrics(args) => metrics(args),
        Command::Baseline(BaselineCommand::Update(args)) => baseline_update(args),
        Command::Baseline(BaselineCommand::Show(args)) => baseline_show(args),
    }
}

/// The budget and what its sources say now: every rule bound to its current value.
struct Current {
    budget: Budget,
    observed: Vec<Observed>,
    sources: Vec<SourceInfo>,
}

/// Reads the budget and every source it names (all of them, so every problem is reported at once).
fn read_current(budget_path: &Path, inputs: &[(String, String)]) -> Result<Current> {
    let mut budget = budget::load_budget(budget_path)?;
    for (name, path) in inputs {
        let Some(spec) = budget.sources.get_mut(name) else {
            bail!(
                "--input {name}={path}: the budget has no source `{name}` (sources: {})",
                budget
                    .sources
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        spec.location = Location::Files(path.clone());
    }
    let mut read = BTreeMap::new();
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for (name, spec) in &budget.sources {
        match ingest::load_source(name, spec) {
            Ok(source) => {
                sources.push(SourceInfo {
                    name: name.clone(),
                    format: source.format.name().to_string(),
                    detail: source.reports[0].detail.clone(),
                    files: source
                        .reports
                        .iter()
                        .map(|r| r.path.display().to_string())
                        .collect(),
                    runs: source.reports.len(),
                });
                read.insert(
                    name.clone(),
                    SourceMetrics {
                        runs: source.reports.len(),
                        metrics: source.metrics,
                        samples: source.samples,
                    },
                );
            }
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!(multi(budget_path, "could not read", &problems));
    }
    let observed = judge::observe(&budget, &read)
        .map_err(|p| anyhow::anyhow!(multi(budget_path, "cannot judge", &p)))?;
    Ok(Current {
        budget,
        observed,
        sources,
    })
}

/// The baseline file a command uses: `--baseline`, else `baselines/<gate name>.json`.
fn baseline_path(flag: Option<&Path>, budget: &Budget) -> PathBuf {
    flag.map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new("baselines").join(format!("{}.json", budget.gate.name)))
}

fn check(args: CheckArgs) -> Result<ExitCode> {
    // The template is compiled before any report is read, so a bad one fails fast.
    let template = match &args.template {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the template", path.display()))?;
            Some(Template::compile(&path.display().to_string(), text)?)
        }
        None if args.format == OutputFormat::Markdown => Some(Template::default_comment()?),
        None => None,
    };
    let current = read_current(&args.budget, &args.inputs)?;
    let path = baseline_path(args.baseline.as_deref(), &current.budget);
    let history = baseline::load_baseline(&path, &current.budget.gate.name)?;
    let verdict = judge::judge(&current.budget, &current.observed, history.as_ref());

    let out = match args.format {
        OutputFormat::Json => render::to_json(&verdict, &current.sources),
        OutputFormat::Text => render::to_text(&verdict, &current.sources),
        OutputFormat::Markdown => match &template {
            Some(t) => t.render(&verdict, &current.sources)?,
            None => Template::default_comment()?.render(&verdict, &current.sources)?,
        },
    };
    if let Some(path) = &args.output {
        write_file(path, &out)?;
    }
    emit(&out)?;
    Ok(match verdict.verdict {
        Status::Fail => ExitCode::from(1),
        Status::Pass | Status::Warn => ExitCode::SUCCESS,
    })
}

fn baseline_update(args: UpdateArgs) -> Result<ExitCode> {
    // Everything that can fail about the reports fails here, before the file is touched.
    let current = read_current(&args.budget, &args.inputs)?;
    let path = baseline_path(args.baseline.as_deref(), &current.budget);
    let run = BaselineRun {
        commit: args.commit.or_else(commit_of_checkout),
        time: Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()),
        metrics: current
            .budget
            .rules
            .iter()
            .zip(&current.observed)
            .map(|(rule, o)| {
                (
                    rule.id.clone(),
                    BaselineMetric {
                        value: o.value,
                        unit: o.unit,
                        samples: o.samples.clone(),
                        histogram: None,
                    },
                )
            })
            .collect(),
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
        if !sha.trim().is_empty() {
            return Some(sha.trim().to_string());
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !sha.is_empty()).then_some(sha)
}

fn baseline_show(args: ShowArgs) -> Result<ExitCode> {
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

/// "budgets/prod.toml: cannot judge 2 metrics:\n  - …" for problems found together.
fn multi(budget: &Path, what: &str, problems: &[String]) -> String {
    let mut s = format!("{}: {what}:", budget.display());
    for p in problems {
        s.push_str("\n  - ");
        s.push_str(&p.replace('\n', "\n    "));
    }
    s
}

fn metrics(args: MetricsArgs) -> Result<ExitCode> {
    let format = match args.format.as_str() {
        "auto" => None,
        name => Some(Format::from_name(name).with_context(|| {
            format!(
                "--format {name}: unknown format (expected auto, {})",
                Format::names()
            )
        })?),
    };
    let mut reports = Vec::with_capacity(args.files.len());
    for path in &args.files {
        reports.push(ingest::load_file(path, format)?);
    }
    let out = if args.json {
        let files: Vec<serde_json::Value> = reports
            .iter()
            .map(|r| {
                serde_json::json!({
                    "path": r.path.display().to_string(),
                    "format": r.format.name(),
                    "detail": r.detail,
                    "metrics": r.metrics.iter().map(|(k, m)| {
                        (k.clone(), serde_json::json!({"value": m.value, "unit": m.unit.symbol()}))
                    }).collect::<serde_json::Map<_, _>>(),
                })
            })
            .collect();
        let mut s = serde_json::to_string_pretty(&serde_json::json!({ "files": files }))?;
        s.push('\n');
        s
    } else {
        let mut s = String::new();
        for r in &reports {
            s.push_str(&format!(
                "{}: {}{}, {} metrics\n",
                r.path.display(),
                r.format,
                r.detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default(),
                r.metrics.len()
            ));
            let width = r
                .metrics
                .keys()
                .map(|k| k.chars().count())
                .max()
                .unwrap_or(0);
            for (name, m) in &r.metrics {
                let unit = if m.unit.symbol().is_empty() {
                    String::new()
                } else {
                    format!(" {}", m.unit.symbol())
                };
                s.push_str(&format!("  {name:<width$}  {}{unit}\n", m.value));
            }
        }
        s
    };
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .with_context(|| format!("{}: cannot write the output", path.display()))
}

/// Writes to stdout; a closed pipe (`perfgate … | head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to stdout"),
    }
}
