//! `check --against SOURCE=PATH`: the base's runs measured in the same job as the head's,
//! interleaved with them (A B A B …), read like the source's own and paired with them run by run.
//!
//! The one rule: a pair is the base's k-th run and the head's k-th run, both in file-name order
//! (the order a source's files are read in), so `base-3.json` pairs with `head-3.json` whatever
//! the numbering's padding, as long as both sides are numbered alike. Anything that would pair
//! runs that did not run together — a different number of runs, a metric missing from some
//! runs, a page one side measured and the other did not, another format — stops the check
//! (exit 2) naming the source and the counts, rather than judging misaligned pairs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Result};

use super::{multi, no_source, read_sources, Current};
use crate::budget::RuleInput;
use crate::ingest::{Location, SourceSpec};
use crate::judge::{self, AgainstSource, Observed};

/// The pairs of every value judged against the base (parallel to [`Current::observed`]; `None`
/// for a rule on another source) and the sources they come from.
pub(super) struct Paired {
    pub(super) pairs: Vec<Option<Vec<(f64, f64)>>>,
    pub(super) sources: Vec<AgainstSource>,
}

/// Reads the base's runs of each `--against` source and pairs every value of its rules with the
/// head's; empty without `--against`.
pub(super) fn read_against(
    budget_path: &Path,
    current: &Current,
    against: &[(String, String)],
) -> Result<Paired> {
    if against.is_empty() {
        return Ok(Paired {
            pairs: Vec::new(),
            sources: Vec::new(),
        });
    }
    let budget = &current.budget;
    let mut specs: Vec<(String, SourceSpec)> = Vec::with_capacity(against.len());
    for (name, path) in against {
        let Some(spec) = budget.sources.get(name) else {
            return Err(no_source("--against", name, path, budget));
        };
        let mut spec = spec.clone();
        spec.location = Location::Files(path.clone());
        specs.push((name.clone(), spec));
    }
    let (base, infos, _) = read_sources(
        budget_path,
        "could not read the base's runs (--against)",
        specs.iter().map(|(n, s)| (n, s)),
    )?;
    let mut problems = Vec::new();
    let mut sources = Vec::with_capacity(against.len());
    for (name, path) in against {
        let head_info = current.sources.iter().find(|s| &s.name == name);
        let base_info = infos.iter().find(|s| &s.name == name);
        let (Some(head), Some(base)) = (head_info, base_info) else {
            continue;
        };
        let head_path = match &budget.sources[name].location {
            Location::Files(p) => p.clone(),
            Location::PrometheusApi { .. } => head.files.join(", "),
        };
        if head.format != base.format {
            problems.push(format!(
                "source `{name}`: the head's runs ({head_path}) are {} but the base's \
                 (--against {name}={path}) are {}; a pair compares one measurement made twice",
                head.format, base.format
            ));
        } else if head.runs != base.runs {
            problems.push(format!(
                "source `{name}`: {} base run{} (--against {name}={path}) but {} head run{} \
                 ({head_path}); each base run pairs with the head run measured beside it, so \
                 both sides need as many runs",
                base.runs,
                plural(base.runs),
                head.runs,
                plural(head.runs)
            ));
        }
        sources.push(AgainstSource {
            source: name.clone(),
            path: path.clone(),
            runs: base.runs,
        });
    }
    if !problems.is_empty() {
        bail!(multi(budget_path, "cannot pair the runs", &problems));
    }
    let mut read = current.read.clone();
    read.extend(base);
    let base_observed = judge::observe(budget, &read).map_err(|p| {
        anyhow!(multi(
            budget_path,
            "cannot judge the base's runs (--against)",
            &p
        ))
    })?;
    let paths: BTreeMap<&str, &str> = against
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    let paired_source = |o: &Observed| match &budget.rules[o.rule].input {
        RuleInput::Source { source, .. } => {
            paths.get_key_value(source.as_str()).map(|(n, p)| (*n, *p))
        }
        RuleInput::Derived(_) => None,
    };
    let mut pairs = Vec::with_capacity(current.observed.len());
    for o in &current.observed {
        let Some((name, path)) = paired_source(o) else {
            pairs.push(None);
            continue;
        };
        let at = format!("`{}` (budget line {})", o.id, budget.rules[o.rule].line);
        let Some(b) = base_observed
            .iter()
            .find(|b| b.rule == o.rule && b.id == o.id)
        else {
            problems.push(format!(
                "{at}: the base's runs (--against {name}={path}) did not measure it"
            ));
            continue;
        };
        match (per_run(o), per_run(b)) {
            (Ok(head), Ok(base)) if head.len() == base.len() => {
                pairs.push(Some(base.into_iter().zip(head).collect()));
            }
            (Ok(head), Ok(base)) => problems.push(format!(
                "{at}: {} base run{} (--against {name}={path}) but {} head run{}; each base run \
                 pairs with the head run measured beside it",
                base.len(),
                plural(base.len()),
                head.len(),
                plural(head.len())
            )),
            (Err(n), _) => problems.push(format!(
                "{at}: in {n} of the head's {} runs only; a pair needs it in both runs",
                o.runs
            )),
            (_, Err(n)) => problems.push(format!(
                "{at}: in {n} of the base's {} runs (--against {name}={path}) only; a pair needs \
                 it in both runs",
                b.runs
            )),
        }
    }
    for b in &base_observed {
        let pages = paired_source(b).filter(|_| !current.observed.iter().any(|o| o.id == b.id));
        if let Some((name, path)) = pages {
            problems.push(format!(
                "`{}` (budget line {}): the base's runs (--against {name}={path}) measured it, \
                 the head's did not",
                b.id, budget.rules[b.rule].line
            ));
        }
    }
    if !problems.is_empty() {
        bail!(multi(budget_path, "cannot pair the runs", &problems));
    }
    Ok(Paired { pairs, sources })
}

/// A value's run-by-run values in file-name order: its samples when it comes from several runs
/// (one value per run), the value itself from one run (whose samples, if any, are its periods).
/// `Err(n)`: only `n` of its runs have it, so its values cannot be told apart by run.
fn per_run(o: &Observed) -> Result<Vec<f64>, usize> {
    if o.runs <= 1 {
        Ok(vec![o.value])
    } else if o.samples.len() == o.runs {
        Ok(o.samples.clone())
    } else {
        Err(o.samples.len())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
