//! What the commands share: reading the budget and its sources, the template, and writing the
//! output (where the baseline is, [`baseline`] finds). Each command has its own module; the
//! CI side of `check` and `comment` (GitHub Actions, GitLab CI) is in [`publish`].

mod against;
pub(crate) mod baseline;
pub(crate) mod check;
pub(crate) mod comment;
mod environment;
pub(crate) mod init;
pub(crate) mod metrics;
mod publish;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::baseline::Environment;
use crate::budget::{self, Budget};
use crate::file;
use crate::ingest::{self, Location, SourceSpec};
use crate::judge::{self, Observed, SourceMetrics};
use crate::render::{SourceInfo, Template};

/// The budget and what its sources say now: every rule bound to its current value.
pub(super) struct Current {
    pub(super) budget: Budget,
    pub(super) observed: Vec<Observed>,
    pub(super) sources: Vec<SourceInfo>,
    /// What each source read, by name.
    pub(super) read: BTreeMap<String, SourceMetrics>,
    /// Where this run was measured.
    pub(super) environment: Environment,
}

/// Reads the budget and every source it names (all of them, so every problem is reported at once).
pub(super) fn read_current(
    budget_path: &Path,
    inputs: &[(String, String)],
    lenient: bool,
) -> Result<Current> {
    let mut budget = budget::load_budget(budget_path)?;
    for (name, path) in inputs {
        let Some(spec) = budget.sources.get_mut(name) else {
            return Err(no_source("--input", name, path, &budget));
        };
        spec.location = Location::Files(path.clone());
    }
    for (name, spec) in budget.sources.iter_mut() {
        spec.lenient = lenient;
        // Only what the rules read: a bundle's compressed sizes cost time, and only when named.
        spec.wanted = budget::wanted(&budget.rules, name);
    }
    let (read, sources, setups) = read_sources(budget_path, "could not read", &budget.sources)?;
    let observed = judge::observe(&budget, &read)
        .map_err(|p| anyhow::anyhow!(multi(budget_path, "cannot judge", &p)))?;
    Ok(Current {
        budget,
        observed,
        sources,
        read,
        environment: environment::current(setups),
    })
}

/// What the sources read, by name; what the verdict says of each; each one's tool setup.
type Read = (
    BTreeMap<String, SourceMetrics>,
    Vec<SourceInfo>,
    BTreeMap<String, ingest::Setup>,
);

/// `--input` or `--against` naming a source the budget does not have: the error lists those it has.
pub(super) fn no_source(flag: &str, name: &str, path: &str, budget: &Budget) -> anyhow::Error {
    let names: Vec<&str> = budget.sources.keys().map(String::as_str).collect();
    anyhow::anyhow!(
        "{flag} {name}={path}: the budget has no source `{name}` (sources: {})",
        names.join(", ")
    )
}

/// Reads the sources (every one, so every problem is reported at once; `what` heads the list).
fn read_sources<'a>(
    budget_path: &Path,
    what: &str,
    specs: impl IntoIterator<Item = (&'a String, &'a SourceSpec)>,
) -> Result<Read> {
    let mut read = BTreeMap::new();
    let mut sources = Vec::new();
    let mut setups = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, spec) in specs {
        match ingest::load_source(name, spec) {
            Ok(source) => {
                setups.insert(
                    name.clone(),
                    ingest::Setup::merged(source.reports.iter().map(|r| &r.setup)),
                );
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
                    pages: source.pages.iter().map(|p| p.name.clone()).collect(),
                    dropped: source.dropped.clone(),
                });
                read.insert(
                    name.clone(),
                    SourceMetrics {
                        runs: source.reports.len(),
                        metrics: source.metrics,
                        samples: source.samples,
                        distributions: source.distributions,
                        no_data: source.no_data,
                        pages: source.pages,
                        dropped: source.dropped,
                    },
                );
            }
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!(multi(budget_path, what, &problems));
    }
    Ok((read, sources, setups))
}

/// The biggest `--template` read: 1 MiB. The built-in one is a few KB, and what it renders is cut to
/// GitHub's 65,536-character comment limit anyway.
pub(super) const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// `--template FILE`, or the built-in comment template.
pub(super) fn load_template(path: Option<&Path>) -> Result<Template> {
    match path {
        Some(path) => {
            let cannot_read = || format!("{}: cannot read the template", path.display());
            let file = file::open_regular(path, "template file")?.with_context(cannot_read)?;
            let text = file::read_text(file, path, MAX_TEMPLATE_BYTES, "template", cannot_read)?;
            Template::compile(&path.display().to_string(), text)
        }
        None => Template::default_comment(),
    }
}

/// "budgets/prod.toml: cannot judge 2 metrics:\n  - …" for problems found together.
pub(super) fn multi(budget: &Path, what: &str, problems: &[String]) -> String {
    let mut s = format!("{}: {what}:", budget.display());
    for p in problems {
        s.push_str("\n  - ");
        s.push_str(&p.replace('\n', "\n    "));
    }
    s
}

pub(super) fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .with_context(|| format!("{}: cannot write the output", path.display()))
}

/// Writes to stdout; a closed pipe (`perfgate … | head`) is not an error.
pub(super) fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to stdout"),
    }
}
