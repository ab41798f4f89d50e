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
//! - [`derive`](mod@derive) evaluates a rule's `expr` over the sources' metrics.
//! - [`judge`] binds rules to values (a missing metric is an error with the closest names) and
//!   compares them with the thresholds. No I/O.
//! - [`render`] owns the output formats users depend on: the JSON verdict and the template context,
//!   and the template side of the comment (its marker and the shrinker that caps it).
//! - [`github`] reads the Actions run's context and posts the pull-request comment; [`gitlab`],
//!   its sibling with the same concerns (docs/architecture.md), reads a GitLab CI job's and posts
//!   the merge-request note. What their REST clients share (backoff, scrubbing) is `rest`.
//! - [`workflow`] formats Actions step outputs and annotations; a leaf that imports none of ours.
//! - [`pushgateway`] pushes the verdict's OpenMetrics to a Prometheus Pushgateway
//!   (`check --pushgateway`); it imports only `rest`.
//!
//! - `commands` holds one module per command (`check`, `comment`, `metrics`, `baseline`, `init`),
//!   which wire the stages above, and `commands::publish`, the CI side of `check` and `comment`
//!   (GitHub Actions, and GitLab CI's merge-request note): the only place that reads the CI
//!   environment.
//!
//! [`run`] hands a command line to its command; `main` only maps its result to an exit code.
//!
//! Imports point one way, from the commands down to the model (`a ─► b`: `a` imports `b`), and no
//! module imports from a module that imports it (`tests/layering.rs` checks):
//!
//! ```text
//! run ─► commands ─► cli, render, judge, budget, ingest, baseline, github, gitlab, workflow,
//!                    pushgateway
//!        github, gitlab ─► render (the comment's marker and shrinker), model, rest
//!        pushgateway ─► rest
//!        render ─► judge, budget, baseline, stats, ingest, workflow
//!        judge ─► budget, baseline, derive, stats, ingest
//!        budget ─► derive, ingest      baseline ─► ingest      cli ─► ingest, baseline
//!        derive, stats, ingest ─► model ◄─ every stage; model imports nothing
//! ```
//!
//! The helpers `file` (bounded reads), `json` (inert JSON), `memory` (the ceiling) and `rest`
//! (what the providers' REST clients share) sit below the stages, which use them, and import none
//! of ours; so does `workflow`.

pub(crate) mod baseline;
pub mod budget;
pub mod cli;
mod commands;
pub mod derive;
mod file;
pub mod github;
pub mod gitlab;
pub mod ingest;
mod json;
pub mod judge;
pub(crate) mod memory;
pub mod model;
pub mod pushgateway;
pub mod render;
mod rest;
pub mod stats;
pub mod workflow;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Run};

/// Holds this process to perfgate's memory ceiling (README: Limits), as the binary does before
/// [`run`]: reading a report then stops with exit 2 once the heap passes 192 MiB.
pub fn limit_memory() {
    memory::enforce();
}

/// Validates a parsed command line and runs it. `Ok` carries the exit code of a completed run (0 or
/// 1); an `Err` means the gate could not judge, which `main` turns into exit code 2.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.validate()? {
        Run::Check(args) => commands::check::run(args),
        Run::Metrics(args) => commands::metrics::run(args),
        Run::BaselineUpdate(args) => commands::baseline::update(args),
        Run::BaselineShow(args) => commands::baseline::show(args),
        Run::Comment(args) => commands::comment::run(args),
        Run::Init(args) => commands::init::run(args),
    }
}
