//! `perfgate init`: writes a starting budget from reports the user already has.
//!
//! The one rule: with the reports as they are, `check` on the written budget passes. Each report
//! is read as `check` reads a source (the format detected from its content, every run of a glob
//! merged into its median, every page kept apart), and each threshold leaves the headroom
//! `perfgate init --help` states over the value read, so the value judged later is the value the
//! threshold was set from. The budget is built as a TOML document with toml_edit; every string
//! from a report (a path, a metric name, a label, a tool's version) is written as an escaped TOML
//! string, in a value or in a comment, and the text is parsed back with the budget reader before
//! anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

use super::emit;
use crate::budget;
use crate::cli::{InitArgs, INIT_HEADROOM};
use crate::derive::Expr;
use crate::ingest::{self, DetectError, Files, Format, Location, Source, SourceSpec, Wanted};
use crate::json;
use crate::model::{is_plain_name, Measurement, Unit};
use crate::render;

/// Lower is better: the target is the current value times this, the critical level times
/// [`CRITICAL_FACTOR`]; higher is better: divided by them. A 20 % target keeps a metric that
/// wobbles by a few percent from run to run clear of warnings, and a 50 % critical level fails
/// only a change no noise explains.
const TARGET_FACTOR: f64 = 1.2;
const CRITICAL_FACTOR: f64 = 1.5;

/// The most series (a histogram's percentiles, a hyperfine command, a size-limit check, a query's
/// series) budgeted per source: a starting budget a reviewer reads through. The rest are named in
/// a comment and listed by `perfgate metrics`.
const MAX_SERIES: usize = 5;

/// Runs `init`.
pub(crate) fn run(args: InitArgs) -> Result<ExitCode> {
    if let Some(out) = &args.output {
        if !args.force && out.symlink_metadata().is_ok() {
            bail!(
                "{}: already exists; pass --force to replace it",
                out.display()
            );
        }
        refuse_overwriting_a_report(out, &args.reports)?;
    }
    let mut given: Vec<String> = Vec::new();
    for path in &args.reports {
        let Some(text) = path.to_str() else {
            bail!(
                "{}: the path is not UTF-8, which a TOML budget cannot hold",
                path.display()
            );
        };
        if !given.iter().any(|g| g == text) {
            given.push(text.to_string());
        }
    }
    let sources = plan(&given)?;
    let gate = args
        .output
        .as_deref()
        .and_then(Path::file_stem)
        .and_then(|s| s.to_str())
        .filter(|s| is_plain_name(s))
        .unwrap_or("perfgate");
    let written = compose(gate, &sources);
    if written.rules == 0 {
        bail!(
            "none of the reports holds a metric perfgate init budgets (latency percentiles, error \
             rates, Lighthouse timings and scores, bundle sizes); `perfgate metrics {}` lists what \
             they hold, to write rules by hand",
            given.join(" ")
        );
    }
    // The reader's verdict on what is about to be written: a refusal here is a bug of `init`,
    // and nothing is written.
    let shown = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{gate}.toml")));
    budget::parse_budget(&shown, &written.text)
        .map_err(|p| anyhow!("the budget perfgate init made is refused by its reader: {p}"))?;
    match &args.output {
        None => emit(&written.text)?,
        Some(path) => {
            save(path, &written.text, args.force)?;
            let path = render::terminal(&path.display().to_string());
            emit(&format!(
                "wrote {path}: {} source{}, {} rule{}; `perfgate check --budget {path}` judges them\n",
                sources.len(),
                if sources.len() == 1 { "" } else { "s" },
                written.rules,
                if written.rules == 1 { "" } else { "s" },
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--force` replaces a file, but never one of the reports the budget is made from.
fn refuse_overwriting_a_report(out: &Path, reports: &[PathBuf]) -> Result<()> {
    let Ok(out_real) = out.canonicalize() else {
        return Ok(());
    };
    for report in reports {
        if report.canonicalize().is_ok_and(|r| r == out_real) {
            bail!(
                "{}: is one of the reports; write the budget to another file",
                out.display()
            );
        }
    }
    Ok(())
}

/// One source of the budget to write.
struct Planned {
    /// The source's name: an identifier made from the report's file name.
    name: String,
    /// `path` as the budget writes it: the report's path as given, or a glob of several Lighthouse
    /// runs in one folder.
    path: String,
    /// What `check` will read from it.
    source: Source,
    /// A glob to suggest in a comment, for a Lighthouse report read alone.
    glob_hint: Option<String>,
}

/// Reads every report and decides the sources: one per report, except Lighthouse runs of one
/// folder and version, which become one source with a glob when a glob names exactly them.
fn plan(given: &[String]) -> Result<Vec<Planned>> {
    let mut read: Vec<(String, Source)> = Vec::with_capacity(given.len());
    for path in given {
        read.push((path.clone(), read_report(path)?));
    }
    // Lighthouse reports by (folder, Lighthouse major version), in the order first given.
    type Key = (String, Option<String>);
    let mut groups: Vec<(Key, Vec<usize>)> = Vec::new();
    for (i, (path, source)) in read.iter().enumerate() {
        if source.format != Format::Lighthouse {
            continue;
        }
        let key = (
            folder_of(path).unwrap_or_default().to_string(),
            source.reports[0]
                .target
                .as_ref()
                .and_then(|t| t.generation.clone()),
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let mut merged: BTreeMap<usize, (String, Source, Vec<usize>)> = BTreeMap::new();
    for (_, members) in &groups {
        if members.len() < 2 {
            continue;
        }
        let paths: Vec<&str> = members.iter().map(|&i| read[i].0.as_str()).collect();
        let Some(pattern) = exact_glob(&paths) else {
            continue;
        };
        // A group `check` could not read as one source stays one source per report.
        if let Ok(source) = load(&pattern) {
            merged.insert(members[0], (pattern, source, members.clone()));
        }
    }
    let in_group: BTreeSet<usize> = merged
        .values()
        .flat_map(|(_, _, members)| members.iter().copied())
        .collect();
    let mut out: Vec<Planned> = Vec::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (i, (path, source)) in read.into_iter().enumerate() {
        if let Some((pattern, source, _)) = merged.remove(&i) {
            let name = unique_name(&stem_of_glob(&pattern), source.format, &mut taken);
            out.push(Planned {
                name,
                path: pattern,
                source,
                glob_hint: None,
            });
        } else if !in_group.contains(&i) {
            let name = unique_name(&stem_of(&path), source.format, &mut taken);
            let glob_hint = (source.format == Format::Lighthouse).then(|| suggest_glob(&path));
            out.push(Planned {
                name,
                path: literal(&path),
                source,
                glob_hint,
            });
        }
    }
    Ok(out)
}

/// Reads one report as `check` will read a source of it. The error names the file.
fn read_report(path: &str) -> Result<Source> {
    load(&literal(path)).map_err(|e| {
        // `init` has no budget yet to name a format in: say what it can do instead.
        if let Some(DetectError::Unknown { tried }) =
            e.chain().find_map(|c| c.downcast_ref::<DetectError>())
        {
            return anyhow!(
                "{path}: not a format perfgate detects (tried: {tried}); if it is one of them, \
                 `perfgate metrics --format NAME {path}` reads it as that format, and a source \
                 with that `format` can be added to the budget by hand"
            );
        }
        let text = format!("{e:#}");
        let text = text
            .strip_prefix(&format!("source `{PROBE}`: "))
            .unwrap_or(&text);
        if text.contains(path) {
            anyhow!("{text}")
        } else {
            anyhow!("{path}: {text}")
        }
    })
}

/// The name a report is read under before its source has one; stripped from errors.
const PROBE: &str = "report";

fn load(path: &str) -> Result<Source> {
    let spec = SourceSpec {
        format: None,
        location: Location::Files(path.to_string()),
        files: Files::Runs,
        lenient: false,
        // The bundle readers compress files only for a wanted `.gzip` or `.brotli` size; the raw
        // sizes budgeted here need none.
        wanted: Wanted::none(),
    };
    ingest::load_source(PROBE, &spec)
}

/// A path as a budget's `path` names exactly that file: `check` reads a path holding `*`, `?` or
/// `[` as a glob, so those are escaped (`[*]`).
fn literal(path: &str) -> String {
    if path.contains(['*', '?', '[']) {
        glob::Pattern::escape(path)
    } else {
        path.to_string()
    }
}

/// The folder part of a path as written (`reports/` of `reports/lhr-1.json`, `` of `lhr.json`).
fn folder_of(path: &str) -> Option<&str> {
    let name = Path::new(path).file_name()?.to_str()?;
    path.strip_suffix(name)
}

/// A glob that matches exactly the given files of one folder (their common start, `*`, their
/// common end), or `None` when it would match another file too.
fn exact_glob(paths: &[&str]) -> Option<String> {
    let folder = folder_of(paths[0])?;
    let names: Vec<&str> = paths
        .iter()
        .map(|p| p.strip_prefix(folder))
        .collect::<Option<_>>()?;
    let shortest = names.iter().map(|n| n.chars().count()).min()?;
    let first: Vec<char> = names[0].chars().collect();
    let start = (0..shortest)
        .take_while(|&i| names.iter().all(|n| n.chars().nth(i) == Some(first[i])))
        .count();
    let end = (0..shortest - start)
        .take_while(|&i| {
            let c = first[first.len() - 1 - i];
            names.iter().all(|n| n.chars().rev().nth(i) == Some(c))
        })
        .count();
    let prefix: String = first[..start].iter().collect();
    let suffix: String = first[first.len() - end..].iter().collect();
    let pattern = format!(
        "{}{}*{}",
        glob::Pattern::escape(folder),
        glob::Pattern::escape(&prefix),
        glob::Pattern::escape(&suffix)
    );
    let mut matched: Vec<PathBuf> = glob::glob(&pattern).ok()?.collect::<Result<_, _>>().ok()?;
    let mut wanted: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    matched.sort();
    wanted.sort();
    (matched == wanted).then_some(pattern)
}

/// A glob for more runs of the page a lone Lighthouse report measured, for a comment: its name with
/// the run number (or nothing) replaced by `*` (`lhr-1.json` → `lhr-*.json`).
fn suggest_glob(path: &str) -> String {
    let folder = folder_of(path).unwrap_or_default();
    let name = &path[folder.len()..];
    let (base, rest) = name.split_once('.').unwrap_or((name, "json"));
    let numbered = base.trim_end_matches(|c: char| c.is_ascii_digit());
    let base = if numbered.len() < base.len() && !numbered.is_empty() {
        numbered.to_string()
    } else {
        format!("{base}-")
    };
    format!("{folder}{base}*.{rest}")
}

/// The file name of a path up to its first dot (`api-load` of `reports/api-load.json`).
fn stem_of(path: &str) -> String {
    let name = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path);
    name.split('.').next().unwrap_or_default().to_string()
}

/// The constant start of a glob's file names (`lhr` of `runs/lhr-*.json`).
fn stem_of_glob(pattern: &str) -> String {
    let folder = folder_of(pattern).unwrap_or_default();
    let name = &pattern[folder.len()..];
    name.split(['*', '.'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Names minijinja reads as literals or operators: a source so named could not be used in an
/// `expr`.
const RESERVED: &[&str] = &[
    "and", "else", "false", "if", "in", "is", "none", "not", "or", "true", "False", "None", "True",
];

/// A source name from `stem`: letters, digits and `_` only (expressions name sources), starting
/// with a letter, distinct from the names `taken`.
fn unique_name(stem: &str, format: Format, taken: &mut BTreeSet<String>) -> String {
    let mut name = String::new();
    for c in stem.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if !(c == '_' && (name.is_empty() || name.ends_with('_'))) {
            name.push(c);
        }
    }
    let name = name.trim_end_matches('_');
    let format_name = format.name().replace('-', "_");
    let mut name = if name.is_empty() {
        format_name
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{format_name}_{name}")
    } else {
        name.to_string()
    };
    if RESERVED.contains(&name.as_str()) {
        name.push_str("_report");
    }
    let mut unique = name.clone();
    let mut n = 2;
    while taken.contains(&unique) {
        unique = format!("{name}_{n}");
        n += 1;
    }
    taken.insert(unique.clone());
    unique
}

/// Which way a metric is better, and the loosest thresholds it starts from.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Headroom {
    higher_is_better: bool,
    /// The least target and critical level, in the metric's canonical unit, for metrics where the
    /// current value may well be 0 (an error rate, CLS, TBT).
    floors: Option<(f64, f64)>,
}

const LOWER: Headroom = Headroom {
    higher_is_better: false,
    floors: None,
};
const HIGHER: Headroom = Headroom {
    higher_is_better: true,
    floors: None,
};
/// An error rate, in percent: the reference budget's 1 % and 2 %.
const ERROR_RATE: Headroom = Headroom {
    higher_is_better: false,
    floors: Some((1.0, 2.0)),
};
/// Total Blocking Time, in ms: Lighthouse's limits of "good" (200 ms) and "poor" (600 ms).
const TBT: Headroom = Headroom {
    higher_is_better: false,
    floors: Some((200.0, 600.0)),
};
/// Cumulative Layout Shift: web.dev's limits of "good" (0.1) and "poor" (0.25).
const CLS: Headroom = Headroom {
    higher_is_better: false,
    floors: Some((0.1, 0.25)),
};

/// What a rule reads.
#[derive(Debug, Clone, PartialEq)]
enum Input {
    /// A metric of the source, by its name there.
    Metric(String),
    /// A derived metric: its id, its expression over the source and the unit of its result.
    Expr {
        id: String,
        text: String,
        unit: Unit,
    },
}

/// A rule to write, before its thresholds.
#[derive(Debug, Clone, PartialEq)]
struct Pick {
    input: Input,
    /// What the reviewer reads after the source's name ("P95").
    what: String,
    headroom: Headroom,
}

fn metric(name: &str, what: &str, headroom: Headroom) -> Pick {
    Pick {
        input: Input::Metric(name.to_string()),
        what: what.to_string(),
        headroom,
    }
}

/// The rules worth starting with for a source, and notes on what was left out.
struct Picks {
    rules: Vec<Pick>,
    /// Lines for the source's comment (this module's own text, names from reports escaped).
    notes: Vec<String>,
}

/// The metrics that matter for each kind of report: latency percentiles and the error rate of a
/// load test, the performance score and the Core Web Vitals of a Lighthouse run, the initial and
/// total size of a bundle.
fn picks(name: &str, source: &Source) -> Picks {
    let has = |m: &str| value_of(source, m, false).is_some();
    let fixed = |list: &[(&str, &str, Headroom)]| -> Vec<Pick> {
        list.iter()
            .filter(|(m, _, _)| has(m))
            .map(|&(m, what, headroom)| metric(m, what, headroom))
            .collect()
    };
    let mut notes = Vec::new();
    let rules = match source.format {
        Format::Artillery => {
            let series: Vec<String> = if has("http.response_time.p95") {
                vec!["http.response_time".to_string()]
            } else {
                capped(
                    series_with(source, "p95")
                        .into_iter()
                        .filter(|s| !s.starts_with("vusers.") && !s.starts_with("plugins."))
                        .collect(),
                    &mut notes,
                )
            };
            let named = series.iter().any(|s| s != "http.response_time");
            let mut rules = percentiles(source, &series, named);
            rules.extend(artillery_error_rate(name, source));
            notes.push(
                "Per-endpoint summaries (`plugins.metrics-by-endpoint.*`) and your own histograms \
                 are listed by `perfgate metrics`."
                    .into(),
            );
            rules
        }
        Format::K6 => {
            let series = ["http_req_duration", "iteration_duration"]
                .into_iter()
                .find(|s| has(&format!("{s}.p95")))
                .map(String::from);
            let mut rules = percentiles(source, series.as_slice(), false);
            rules.extend(fixed(&[("http_req_failed.rate", "error rate", ERROR_RATE)]));
            notes.push(
                "Sub-metrics budget one request or scenario (`http_req_duration{name:checkout}.p95`); \
                 `perfgate metrics` lists them."
                    .into(),
            );
            rules
        }
        Format::Jmeter => {
            notes.push(
                "Each label has the statistics `all.` has (`<label>.p95`, `<label>.error_rate`)."
                    .into(),
            );
            fixed(&[
                ("all.p95", "P95", LOWER),
                ("all.p99", "P99", LOWER),
                ("all.error_rate", "error rate", ERROR_RATE),
            ])
        }
        Format::Locust => {
            notes.push(
                "Each request name has the statistics `all` has (`<name>.p95`, \
                 `<name>.failure_rate`)."
                    .into(),
            );
            fixed(&[
                ("all.p95", "P95", LOWER),
                ("all.p99", "P99", LOWER),
                ("all.failure_rate", "failure rate", ERROR_RATE),
            ])
        }
        Format::Gatling => {
            notes.push(
                "`percentiles3` and `percentiles4` are the third and fourth percentiles \
                 gatling.conf sets: p95 and p99 unless it changes them."
                    .into(),
            );
            fixed(&[
                ("all.percentiles3", "P95 (percentiles3)", LOWER),
                ("all.percentiles4", "P99 (percentiles4)", LOWER),
                ("all.error_rate", "error rate", ERROR_RATE),
            ])
        }
        Format::Autocannon => {
            notes.push("autocannon writes no p95: p97.5 is the nearest above it.".into());
            fixed(&[
                ("latency.p97_5", "P97.5", LOWER),
                ("latency.p99", "P99", LOWER),
                ("error_rate", "error rate", ERROR_RATE),
            ])
        }
        Format::Lighthouse => fixed(&[
            ("score.performance", "performance score", HIGHER),
            ("lcp", "LCP", LOWER),
            ("tbt", "TBT", TBT),
            ("cls", "CLS", CLS),
        ]),
        Format::Webpack | Format::Esbuild | Format::Vite | Format::Dir => {
            notes.push(
                "Sizes before compression; the `.gzip` and `.brotli` twins (`initial.gzip`) \
                 measure what travels, where the built files are found beside the report."
                    .into(),
            );
            fixed(&[
                ("initial.raw", "initial size", LOWER),
                ("total.raw", "total size", LOWER),
            ])
        }
        Format::SizeLimit => {
            let mut checks: Vec<String> = series_with(source, "size")
                .into_iter()
                .filter(|c| c != "total")
                .collect();
            if checks.is_empty() && has("total.size") {
                checks.push("total".into());
            }
            let checks = capped(checks, &mut notes);
            checks
                .iter()
                .map(|c| metric(&format!("{c}.size"), &format!("{c} size"), LOWER))
                .collect()
        }
        Format::Hyperfine => {
            let commands: Vec<String> = series_with(source, "mean")
                .into_iter()
                .filter(|c| has(&format!("{c}.runs")))
                .collect();
            notes.push("Each command's mean time over its runs.".into());
            capped(commands, &mut notes)
                .iter()
                .map(|c| metric(&format!("{c}.mean"), &format!("{c} mean"), LOWER))
                .collect()
        }
        Format::Prometheus if is_query_answer(source) => {
            notes.push(
                "A PromQL result is a plain number: add `unit = \"ms\"` (or what it counts in) to \
                 each rule and write its thresholds in that unit; where higher is better, turn \
                 `<` into `>`."
                    .into(),
            );
            let series: Vec<String> = source.metrics.keys().cloned().collect();
            capped(series, &mut notes)
                .iter()
                .map(|s| metric(s, s, LOWER))
                .collect()
        }
        Format::Prometheus => {
            let mut series = series_with(source, "p95");
            series.extend(
                series_with(source, "p99")
                    .into_iter()
                    .filter(|s| !has(&format!("{s}.p95"))),
            );
            notes.push(format!(
                "Counters only grow: budget a ratio of two with `expr`, such as \
                 `{name}['hits_total'] / ({name}['hits_total'] + {name}['misses_total']) * 100` \
                 with `unit = \"%\"`."
            ));
            let series = capped(series, &mut notes);
            percentiles(source, &series, true)
        }
        Format::Json => {
            notes.push(
                "Directions are guessed (a rate per second, or a name with `score`, `hit` or \
                 `throughput`, is higher-is-better): check each operator."
                    .into(),
            );
            let names: Vec<String> = source.metrics.keys().cloned().collect();
            capped(names, &mut notes)
                .iter()
                .map(|m| {
                    let unit = source.metrics[m.as_str()].unit;
                    let lower = m.to_ascii_lowercase();
                    let higher = unit == Unit::PerSecond
                        || ["score", "hit", "throughput"]
                            .iter()
                            .any(|w| lower.contains(w));
                    metric(m, m, if higher { HIGHER } else { LOWER })
                })
                .collect()
        }
    };
    Picks { rules, notes }
}

/// A rule per page and metric where a source holds several pages (up to [`MAX_SERIES`]), each
/// with the thresholds of its own page: a fast page's LCP budget is not the slow page's. With
/// more pages, each rule judges every page against thresholds set from the worst page.
fn per_page(source: &Source, picks: Vec<Pick>, notes: &mut Vec<String>) -> Vec<Pick> {
    if source.pages.len() < 2 {
        return picks;
    }
    if source.pages.len() > MAX_SERIES {
        notes.push(format!(
            "{} pages: each rule judges every page, with thresholds set from the worst page; a \
             rule on `<metric>{{<page>}}` (`perfgate metrics` names them) judges one page.",
            source.pages.len()
        ));
        return picks;
    }
    let (each, whole): (Vec<Pick>, Vec<Pick>) = picks
        .into_iter()
        .partition(|p| matches!(p.input, Input::Metric(_)));
    let mut out = Vec::new();
    for page in &source.pages {
        for pick in &each {
            if let Input::Metric(m) = &pick.input {
                out.push(Pick {
                    input: Input::Metric(format!("{m}{{{}}}", page.selector)),
                    what: format!("{} ({})", pick.what, page.name),
                    headroom: pick.headroom,
                });
            }
        }
    }
    out.extend(whole);
    out
}

/// The `.p95` and `.p99` rules of each series, where the source has them; `named` labels them
/// with the series ("db_query_duration_ms P95"), else as the source's latency ("P95").
fn percentiles(source: &Source, series: &[String], named: bool) -> Vec<Pick> {
    let mut out = Vec::new();
    for s in series {
        for (stat, what) in [("p95", "P95"), ("p99", "P99")] {
            let name = format!("{s}.{stat}");
            if value_of(source, &name, false).is_some() {
                let what = if named {
                    format!("{s} {what}")
                } else {
                    what.to_string()
                };
                out.push(metric(&name, &what, LOWER));
            }
        }
    }
    out
}

/// Artillery's error rate: failed requests (5xx answers and errors such as timeouts) over
/// requests sent, or failed virtual users over those created where the test sends no HTTP.
fn artillery_error_rate(name: &str, source: &Source) -> Option<Pick> {
    let positive = |m: &str| source.metrics.get(m).is_some_and(|v| v.value > 0.0);
    let text = if let Some(sent) = ["http.requests", "http.responses"]
        .into_iter()
        .find(|m| positive(m))
    {
        format!("({name}['http.codes.5xx'] + {name}['errors.total']) / {name}['{sent}'] * 100")
    } else if positive("vusers.created") && source.metrics.contains_key("vusers.failed") {
        format!("{name}['vusers.failed'] / {name}['vusers.created'] * 100")
    } else {
        return None;
    };
    Some(Pick {
        input: Input::Expr {
            id: format!("{name}_error_rate"),
            text,
            unit: Unit::Percent,
        },
        what: "error rate".into(),
        headroom: ERROR_RATE,
    })
}

/// Whether the source is a saved Prometheus query answer (`value`, `value{…}`), not a page.
fn is_query_answer(source: &Source) -> bool {
    source
        .metrics
        .keys()
        .all(|k| k == "value" || k.starts_with("value{"))
}

/// The series `X` of a source with a metric `X.<stat>`, in name order.
fn series_with(source: &Source, stat: &str) -> Vec<String> {
    let suffix = format!(".{stat}");
    source
        .metrics
        .keys()
        .filter_map(|k| k.strip_suffix(&suffix))
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The first [`MAX_SERIES`] of `list`; a note names how many more there are.
fn capped(mut list: Vec<String>, notes: &mut Vec<String>) -> Vec<String> {
    if list.len() > MAX_SERIES {
        notes.push(format!(
            "{} more of the same kind are not budgeted; `perfgate metrics` lists them.",
            list.len() - MAX_SERIES
        ));
        list.truncate(MAX_SERIES);
    }
    list
}

/// A metric's value as `check` will judge it: the source's value, or where the source holds
/// several pages (a rule then judges each), the worst page's.
fn value_of(source: &Source, metric: &str, higher_is_better: bool) -> Option<Measurement> {
    if let Some(m) = source.metrics.get(metric) {
        return Some(*m);
    }
    if source.pages.len() < 2 {
        return None;
    }
    let values: Vec<Measurement> = source
        .pages
        .iter()
        .map(|p| {
            source
                .metrics
                .get(&format!("{metric}{{{}}}", p.selector))
                .copied()
        })
        .collect::<Option<_>>()?;
    values.into_iter().reduce(|a, b| {
        let b_worse = if higher_is_better {
            b.value < a.value
        } else {
            b.value > a.value
        };
        if b_worse {
            b
        } else {
            a
        }
    })
}

/// The current value of a pick.
fn current(name: &str, source: &Source, pick: &Pick) -> Option<Measurement> {
    match &pick.input {
        Input::Metric(m) => value_of(source, m, pick.headroom.higher_is_better),
        Input::Expr { text, unit, .. } => {
            let names = [name.to_string()];
            let expr = Expr::compile(text, names.iter()).ok()?;
            let metrics = BTreeMap::from([(name.to_string(), source.metrics.clone())]);
            let value = expr.eval(&metrics).ok()?;
            Some(Measurement::new(value, *unit))
        }
    }
}

/// The target and critical thresholds for a metric now at `value`, as a budget writes them
/// (`< 140ms`, `> 70`), by the rule of `init --help`; `None` where the rule gives no threshold the
/// value passes (lower is better and the value is 0 without a floor, higher is better and it is
/// 0 or less).
fn thresholds(value: Measurement, headroom: Headroom) -> Option<(String, String)> {
    let v = value.value;
    if !v.is_finite() {
        return None;
    }
    if headroom.higher_is_better {
        if v <= 0.0 {
            return None;
        }
        let target = written(v / TARGET_FACTOR, value.unit, false)?;
        let critical = written(v / CRITICAL_FACTOR, value.unit, false)?;
        return Some((format!("> {target}"), format!("> {critical}")));
    }
    let (floor_target, floor_critical) = headroom.floors.unwrap_or((0.0, 0.0));
    let target = (v * TARGET_FACTOR).max(floor_target);
    let critical = (v * CRITICAL_FACTOR).max(floor_critical);
    if target <= 0.0 {
        return None;
    }
    Some((
        format!("< {}", written(target, value.unit, true)?),
        format!("< {}", written(critical, value.unit, true)?),
    ))
}

/// `value` (in `unit`'s canonical scale, above 0) in the unit a reader expects at its size,
/// rounded up (or down) to two significant figures: `139.2` ms → `140ms`, `3946` ms → `4s`.
fn written(value: f64, unit: Unit, up: bool) -> Option<String> {
    let (symbol, scale) = match unit {
        Unit::Ms if value < 1.0 => ("us", 1e-3),
        Unit::Ms if value < 1e3 => ("ms", 1.0),
        Unit::Ms => ("s", 1e3),
        Unit::Bytes if value < 1e3 => ("B", 1.0),
        Unit::Bytes if value < 1e6 => ("KB", 1e3),
        Unit::Bytes => ("MB", 1e6),
        Unit::Percent => ("%", 1.0),
        Unit::PerSecond => ("/s", 1.0),
        Unit::None => ("", 1.0),
    };
    Some(format!("{}{symbol}", two_figures(value / scale, up)?))
}

/// `x` (above 0) rounded up or down to two significant figures, as a decimal without trailing
/// zeros: 139.2 → 140 (up), 70.08 → 70 (down), 0.0911 → 0.092 (up).
fn two_figures(x: f64, up: bool) -> Option<String> {
    if !(x > 0.0 && x.is_finite()) {
        return None;
    }
    let exponent = x.log10().floor() as i32 - 1;
    let step = 10f64.powi(exponent);
    // A product such as 100 × 1.2 lands a hair above 120 in binary: not a reason to round to 130.
    let steps = if up {
        (x / step - 1e-9).ceil()
    } else {
        (x / step + 1e-9).floor()
    };
    let decimals = usize::try_from(-exponent).unwrap_or(0);
    let text = format!("{:.decimals$}", steps * step);
    Some(if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    })
}

/// `s` as a TOML basic string. Beyond TOML's own escapes (`"`, `\`, the C0 controls), every
/// character a terminal acts on or that reorders text is written as a `\u` escape, as in the JSON
/// perfgate writes: a budget is read on terminals and in diffs.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || json::escaped(c) => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML string value written as [`toml_string`] writes it.
fn string(s: &str) -> Value {
    // toml_edit keeps the text a value was parsed from; should it refuse ours, its own encoding
    // of the same string is valid TOML too.
    toml_string(s)
        .parse::<Value>()
        .unwrap_or_else(|_| Value::from(s))
}

/// The widest comment line written, `# ` included, unless one word is wider.
const COMMENT_WIDTH: usize = 100;

/// Comment lines from text: `# ` before each, a long line wrapped at spaces, an empty line kept
/// as `#`. Lines that start with spaces (an indented block) keep them.
fn comment(lines: &[String]) -> String {
    let mut out = String::new();
    for line in lines {
        let indent = &line[..line.len() - line.trim_start().len()];
        let mut current = String::new();
        for word in line.split_whitespace() {
            let width = 2 + indent.len() + current.chars().count() + 1 + word.chars().count();
            if !current.is_empty() && width > COMMENT_WIDTH {
                out.push_str(&format!("# {indent}{current}\n"));
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        if current.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str(&format!("# {indent}{current}\n"));
        }
    }
    out
}

/// The budget's text and how many rules it holds.
struct Written {
    text: String,
    rules: usize,
}

/// The budget: a commented `[gate]`, then each source followed by its rules.
fn compose(gate_name: &str, sources: &[Planned]) -> Written {
    let mut doc = DocumentMut::new();
    let mut position = 0;
    let mut next = || {
        position += 1;
        position
    };

    let mut header = vec![
        "A starting budget, written by `perfgate init` from the reports below. Each threshold is \
         set from the value its report shows now (the comment beside the target), with headroom, \
         so that `perfgate check` on these reports passes."
            .to_string(),
        String::new(),
    ];
    header.extend(INIT_HEADROOM.lines().map(String::from));
    header.extend([
        String::new(),
        "What to tune: a target missed warns and a critical level breached fails the gate. Move \
         each target to what you mean to hold, keep the critical for what must never ship, and \
         add rules for what else matters: `perfgate metrics REPORT` lists every metric a report \
         yields."
            .into(),
    ]);
    let mut gate = Table::new();
    gate.set_position(next());
    gate.decor_mut().set_prefix(comment(&header) + "\n");
    gate.insert("name", Item::Value(string(gate_name)));
    gate.insert("regression", Item::Value(string("10%")));
    gate.insert("on_regression", Item::Value(string("fail")));
    if let Some(mut key) = gate.key_mut("name") {
        key.leaf_decor_mut().set_prefix(comment(&[
            "Names the pull-request comment and the baseline file (baselines/<name>.json).".into(),
        ]));
    }
    if let Some(mut key) = gate.key_mut("regression") {
        key.leaf_decor_mut().set_prefix(comment(&[
            "Once `perfgate baseline update` has recorded runs of the default branch: a metric \
             this much worse than their median, beyond its noise, is a regression."
                .into(),
        ]));
    }
    if let Some(mut key) = gate.key_mut("on_regression") {
        key.leaf_decor_mut().set_prefix(comment(&[
            "\"warn\" reports regressions without failing.".into(),
        ]));
    }
    doc.insert("gate", Item::Table(gate));

    let mut tables = Table::new();
    tables.set_implicit(true);
    let mut rules = ArrayOfTables::new();
    for planned in sources {
        let Planned {
            name,
            path,
            source,
            glob_hint,
        } = planned;
        let mut picks = picks(name, source);
        let rules_picked = per_page(source, picks.rules, &mut picks.notes);
        let mut lines = vec![describe(source)];
        let mut tables_rules = Vec::new();
        for pick in &rules_picked {
            let Some(value) = current(name, source, pick) else {
                continue;
            };
            let Some((target, critical)) = thresholds(value, pick.headroom) else {
                lines.push(format!(
                    "Not budgeted: {} is {} now, which leaves no headroom to set a threshold from.",
                    toml_string(&pick_id(name, pick)),
                    render::format_value(value.value, value.unit)
                ));
                continue;
            };
            tables_rules.push(rule(name, source, pick, value, target, critical));
        }
        lines.extend(picks.notes);
        if let Some(hint) = glob_hint {
            lines.push(format!(
                "One run of a page is noisy: point `path` at a glob of several runs, such as {}, \
                 to judge their median.",
                toml_string(hint)
            ));
        }
        let mut table = Table::new();
        table.set_position(next());
        table
            .decor_mut()
            .set_prefix(format!("\n{}", comment(&lines)));
        table.insert("format", Item::Value(string(source.format.name())));
        table.insert("path", Item::Value(string(path)));
        tables.insert(name, Item::Table(table));
        for mut rule in tables_rules {
            rule.set_position(next());
            rules.push(rule);
        }
    }
    let count = rules.len();
    doc.insert("sources", Item::Table(tables));
    doc.insert("budget", Item::ArrayOfTables(rules));
    Written {
        text: doc.to_string(),
        rules: count,
    }
}

/// A source's first comment line: its format, what its reports say of themselves, its runs and
/// pages.
fn describe(source: &Source) -> String {
    let mut s = source.format.name().to_string();
    if let Some(detail) = &source.reports[0].detail {
        s.push_str(&format!(", {}", toml_string(detail)));
    }
    let runs = source.reports.len();
    if runs > 1 {
        let pages = source.pages.len().max(1);
        s.push_str(&format!(
            ": {runs} runs of {pages} page{}, {}",
            if pages == 1 { "" } else { "s" },
            if pages == 1 {
                "judged by their median"
            } else {
                "each page judged by its median"
            }
        ));
    }
    s
}

/// The id a rule writes in `metric`.
fn pick_id(name: &str, pick: &Pick) -> String {
    match &pick.input {
        Input::Metric(m) => format!("{name}.{m}"),
        Input::Expr { id, .. } => id.clone(),
    }
}

/// One `[[budget]]` table.
fn rule(
    name: &str,
    source: &Source,
    pick: &Pick,
    value: Measurement,
    target: String,
    critical: String,
) -> Table {
    let mut table = Table::new();
    table.insert("metric", Item::Value(string(&pick_id(name, pick))));
    table.insert(
        "label",
        Item::Value(string(&format!("{name} {}", pick.what))),
    );
    if let Input::Expr { text, unit, .. } = &pick.input {
        table.insert("expr", Item::Value(string(text)));
        table.insert("unit", Item::Value(string(unit.symbol())));
    }
    let now = render::format_value(value.value, value.unit);
    let worst_page = matches!(&pick.input, Input::Metric(m) if !source.metrics.contains_key(m));
    let now = if worst_page {
        format!(
            "{now}, the {} of {} pages",
            if pick.headroom.higher_is_better {
                "lowest"
            } else {
                "highest"
            },
            source.pages.len()
        )
    } else {
        now
    };
    let mut target = string(&target);
    target.decor_mut().set_suffix(format!("  # now {now}"));
    table.insert("target", Item::Value(target));
    table.insert("critical", Item::Value(string(&critical)));
    table
}

/// Writes `text` to a temporary file beside `path`, flushed, and renames it to `path`: a reader
/// sees no budget or the whole budget. Without `force` the rename does not replace a file that
/// appeared meanwhile.
fn save(path: &Path, text: &str, force: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".perfgate-init-")
        .tempfile_in(&dir)
        .with_context(|| format!("{}: cannot create a temporary file", dir.display()))?;
    // A temporary file is private (0600 on Unix); a budget is a file of the repository.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("{}: cannot set the permissions", tmp.path().display()))?;
    }
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("{}: cannot write the budget", tmp.path().display()))?;
    let persisted = if force {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    match persisted {
        Ok(_) => Ok(()),
        Err(e) if !force && e.error.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{}: already exists; pass --force to replace it",
            path.display()
        ),
        Err(e) => bail!("{}: cannot write the budget: {}", path.display(), e.error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: f64) -> Measurement {
        Measurement::ms(v)
    }

    #[test]
    fn lower_is_better_rounds_up_times_1_2_and_1_5() {
        // 115.6 × 1.2 = 138.72 → 140; × 1.5 = 173.4 → 180.
        assert_eq!(
            thresholds(ms(115.6), LOWER),
            Some(("< 140ms".into(), "< 180ms".into()))
        );
        // 100 × 1.2 is 120.00000000000001 in binary: still 120.
        assert_eq!(
            thresholds(ms(100.0), LOWER),
            Some(("< 120ms".into(), "< 150ms".into()))
        );
        // 3289.28 × 1.2 = 3947.1 → 4 s; × 1.5 = 4933.9 → 5 s.
        assert_eq!(
            thresholds(ms(3289.28), LOWER),
            Some(("< 4s".into(), "< 5s".into()))
        );
        // 0.0759 ms × 1.2 = 91.1 µs → 92us; × 1.5 = 113.9 µs → 120us.
        assert_eq!(
            thresholds(ms(0.0759), LOWER),
            Some(("< 92us".into(), "< 120us".into()))
        );
        // 135127 B × 1.2 = 162152 → 170 KB; × 1.5 = 202690 → 210 KB.
        assert_eq!(
            thresholds(Measurement::bytes(135_127.0), LOWER),
            Some(("< 170KB".into(), "< 210KB".into()))
        );
        assert_eq!(
            thresholds(Measurement::bytes(2_500_000.0), LOWER),
            Some(("< 3MB".into(), "< 3.8MB".into()))
        );
    }

    #[test]
    fn higher_is_better_rounds_down_divided_by_1_2_and_1_5() {
        // 84 ÷ 1.2 = 70 (a hair above in binary: 70); 84 ÷ 1.5 = 56.
        assert_eq!(
            thresholds(Measurement::count(84.0), HIGHER),
            Some(("> 70".into(), "> 56".into()))
        );
        // 87 ÷ 1.2 = 72.5 → 72; 87 ÷ 1.5 = 58.
        assert_eq!(
            thresholds(Measurement::count(87.0), HIGHER),
            Some(("> 72".into(), "> 58".into()))
        );
        assert_eq!(thresholds(Measurement::count(0.0), HIGHER), None);
    }

    #[test]
    fn floors_hold_for_error_rates_tbt_and_cls() {
        let pct = |v| Measurement::new(v, Unit::Percent);
        assert_eq!(
            thresholds(pct(0.0), ERROR_RATE),
            Some(("< 1%".into(), "< 2%".into()))
        );
        assert_eq!(
            thresholds(pct(0.104), ERROR_RATE),
            Some(("< 1%".into(), "< 2%".into()))
        );
        // 5.26 × 1.2 = 6.31 → 6.4; × 1.5 = 7.89 → 7.9: above the floors.
        assert_eq!(
            thresholds(pct(5.263), ERROR_RATE),
            Some(("< 6.4%".into(), "< 7.9%".into()))
        );
        assert_eq!(
            thresholds(ms(263.0), TBT),
            Some(("< 320ms".into(), "< 600ms".into()))
        );
        assert_eq!(
            thresholds(Measurement::count(0.0), CLS),
            Some(("< 0.1".into(), "< 0.25".into()))
        );
        // Without a floor, 0 leaves nothing to set a threshold from.
        assert_eq!(thresholds(ms(0.0), LOWER), None);
    }

    #[test]
    fn every_written_threshold_reads_back_as_the_budget_reader_parses_it() {
        for (v, unit) in [
            (0.000_4, Unit::Ms),
            (0.999, Unit::Ms),
            (999.9, Unit::Ms),
            (1e7, Unit::Ms),
            (1.0, Unit::Bytes),
            (999_999.0, Unit::Bytes),
            (7e9, Unit::Bytes),
            (99.99, Unit::Percent),
            (12.5, Unit::PerSecond),
            (0.003, Unit::None),
        ] {
            for up in [true, false] {
                let text = written(v, unit, up).expect("positive");
                let q = crate::model::Quantity::parse(&text).expect(&text);
                assert!(budget::units_agree(unit, q.unit), "{text}");
                let ratio = q.value / v;
                let within = if up {
                    (1.0..1.11).contains(&ratio)
                } else {
                    ratio > 0.9 && ratio <= 1.0 + 1e-12
                };
                assert!(within, "{v} {unit:?} up={up}: {text} is {ratio} of it");
            }
        }
    }

    #[test]
    fn strings_are_escaped_and_read_back_whole() {
        let nasty = "a \"b\" \\ c\nd\te\u{1b}[31m\u{202e}f\u{7f}g\u{200b}";
        let text = toml_string(nasty);
        assert_eq!(
            text,
            "\"a \\\"b\\\" \\\\ c\\nd\\te\\u001B[31m\\u202Ef\\u007Fg\\u200B\""
        );
        let doc: toml_edit::DocumentMut = format!("x = {text}").parse().expect("valid TOML");
        assert_eq!(doc["x"].as_str(), Some(nasty));
        assert_eq!(string(nasty).as_str(), Some(nasty));
    }

    #[test]
    fn source_names_are_identifiers_and_distinct() {
        let mut taken = BTreeSet::new();
        let mut name = |stem: &str| unique_name(stem, Format::SizeLimit, &mut taken);
        assert_eq!(name("api-load-report"), "api_load_report");
        assert_eq!(name("api load report"), "api_load_report_2");
        assert_eq!(name("2024--run"), "size_limit_2024_run");
        assert_eq!(name(""), "size_limit");
        assert_eq!(name("none"), "none_report");
        assert_eq!(name("☃"), "size_limit_2");
    }

    #[test]
    fn globs_are_suggested_from_the_run_number() {
        assert_eq!(suggest_glob("runs/lhr-1.json"), "runs/lhr-*.json");
        assert_eq!(suggest_glob("report.json"), "report-*.json");
        assert_eq!(suggest_glob("a/b/lhr.report.json"), "a/b/lhr-*.report.json");
        assert_eq!(stem_of_glob("examples/lighthouse/lhr-*.json"), "lhr-");
        assert_eq!(stem_of("reports/run.points.ndjson.gz"), "run");
    }

    #[test]
    fn a_glob_is_used_only_when_it_matches_exactly_the_runs_given() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_str().expect("utf-8");
        for name in ["lhr-1.json", "lhr-2.json", "lhr-3.json"] {
            std::fs::write(dir.path().join(name), "{}").expect("write");
        }
        let p = |n: &str| format!("{d}/{n}");
        let all = [p("lhr-1.json"), p("lhr-2.json"), p("lhr-3.json")];
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        assert_eq!(
            exact_glob(&all),
            Some(format!("{}/lhr-*.json", glob::Pattern::escape(d)))
        );
        // Two of three: `lhr-*.json` would read the third too.
        assert_eq!(exact_glob(&all[..2]), None);
    }

    #[test]
    fn the_budget_reader_accepts_what_init_composes_from_the_examples() {
        let given: Vec<String> = [
            "examples/artillery/api-load-report.json",
            "examples/artillery/websocket-report.json",
            "examples/prometheus/metrics.prom",
            "examples/prometheus/db-p95.json",
            "examples/bundle/webpack-stats.json",
            "examples/lighthouse/lhr-1.json",
            "examples/lighthouse/lhr-2.json",
            "examples/lighthouse/lhr-3.json",
        ]
        .map(String::from)
        .to_vec();
        let sources = plan(&given).expect("the examples read");
        assert_eq!(sources.len(), 6, "the three Lighthouse runs are one source");
        let written = compose("examples", &sources);
        let budget = budget::parse_budget(Path::new("examples.toml"), &written.text)
            .unwrap_or_else(|p| panic!("{p}\n{}", written.text));
        assert_eq!(budget.gate.name, "examples");
        assert_eq!(budget.rules.len(), written.rules);
        assert_eq!(budget.sources.len(), 6);
        for rule in &budget.rules {
            let (target, critical) = (
                rule.target.as_ref().expect("a target"),
                rule.critical.as_ref().expect("a critical level"),
            );
            assert_eq!(target.op.lower_is_better(), critical.op.lower_is_better());
            assert_ne!(rule.label, rule.id, "a label is written");
        }
        let score = budget
            .rules
            .iter()
            .find(|r| r.id == "lhr.score.performance")
            .expect("the score's rule");
        assert!(!score.lower_is_better());
    }

    #[test]
    fn the_headroom_rule_is_the_one_the_readme_states() {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let readme = words(include_str!("../../README.md"));
        let rule = words(INIT_HEADROOM.trim_start_matches("Headroom:"));
        assert!(readme.contains(&rule), "README lacks: {rule}");
    }
}
