//! Ingest: turns the files and endpoints a budget names into runs of [`Measurement`]s.
//!
//! The one rule: this is the only module that knows a tool's output shape. Each tool has its own
//! file with private wire structs that mirror the tool's output, its detection rules and its
//! `READER` (a `reader::Reader`); this file holds the registry of formats, runs detection in the
//! registry's order, reads files, expands globs and merges several runs of one source. It knows
//! nothing of budgets.
//!
//! Dependency direction: this file → each format's file → the shared parts (`reader`, `stream`,
//! `distribution`, `scan`, `bundle`), which import no format; a format's file imports from this
//! one only the shared types and JSON helpers ([`Parsed`], `from_json`), never the registry.
//!
//! A new format: its file, defining `READER` (name, detection, how it reads), a line in
//! `registry!` placed by the order its detection must run in, and real fixtures in
//! `tests/fixtures/<name>/` that its detection recognises (a test fails without them).

mod bundle;
mod distribution;
mod reader;
mod scan;
mod stream;
#[cfg(test)]
mod testing;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use self::reader::{Detect, Shard, Sniff, Whole};
use crate::memory;
use crate::model::{has_series, median, Measurement, Metrics};

/// Declares the registry: the format modules, [`Format`] with one variant per reader, and
/// [`Format::ALL`], all from one list.
macro_rules! registry {
    ($($variant:ident => $module:ident,)*) => {
        $(mod $module;)*

        /// Every input format perfgate reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Format {
            $($variant,)*
        }

        impl Format {
            /// Every format, in the registry's order.
            pub const ALL: &[Format] = &[$(Format::$variant,)*];

            /// The format's reader.
            pub(crate) fn reader(self) -> &'static reader::Reader {
                match self {
                    $(Format::$variant => &$module::READER,)*
                }
            }
        }
    };
}

// The registry: every format perfgate reads, one line each; a new format is its file (which
// defines `READER`) and a line here. The order is the order of detection: each shape of document
// (the head of a stream, a text, the top of a JSON document, JSON that does not parse) is offered
// to the readers in this order, and the first whose rule recognises it reads it (or names it as a
// shape perfgate does not read). It decides only where two readers' rules both match a document:
// it is the order of the JSON rules that were here before (artillery's `aggregate` first, the
// catch-all shapes of vite and size-limit last), text and streams fitted around them. A new
// format's rules go after the others unless a fixture shows they must not.
registry! {
    Artillery => artillery,
    Lighthouse => lighthouse,
    Json => json,
    Locust => locust,
    Prometheus => prometheus,
    K6 => k6,
    Jmeter => jmeter,
    Hyperfine => hyperfine,
    Esbuild => esbuild,
    Webpack => webpack,
    Gatling => gatling,
    Autocannon => autocannon,
    Vite => vite,
    SizeLimit => size_limit,
    Dir => dir,
}

impl Format {
    /// The name used in budgets, `--format` and output.
    pub fn name(self) -> &'static str {
        self.reader().name
    }

    /// Looks a format up by name; `None` for unknown names (the caller lists [`Format::ALL`]).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// The names of all formats, for messages.
    pub fn names() -> String {
        Format::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one parser makes of one file (or one endpoint).
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// A version hint shown to users ("Artillery v2", "Lighthouse 12.8.2", "webpack 5.104.1").
    pub detail: Option<String>,
    /// The run's metrics.
    pub metrics: Metrics,
    /// Time slices of the run, oldest first, where the tool writes them (Artillery's intermediate
    /// periods). Kept for baselines; the verdict judges `metrics`.
    pub periods: Vec<Metrics>,
    /// The run's latency (or size) distributions where the tool gives every sample (k6's stream,
    /// JMeter's JTL): series name (`http_req_duration`, `http_req_duration{status:200}`, a JTL
    /// label) → histogram of integer [`HISTOGRAM_SCALE`]ths of the unit (nanoseconds for
    /// milliseconds). Its quantile metrics are `<series>.p50` … `<series>.p99`.
    pub distributions: BTreeMap<String, Histogram<u64>>,
    /// Series the report names but holds no sample of (a k6 metric the stream describes and never
    /// samples): a rule on one is "no data", not a misspelt name.
    pub no_data: BTreeSet<String>,
    /// What the report measured, where the tool writes one file per target (a Lighthouse page).
    pub target: Option<Target>,
    /// Values in an optional part of the report (one audit, one custom metric, one label) that
    /// failed validation and were left out, rather than refusing the whole report: metric name →
    /// why, naming the field ("field `audits.x.numericValue`: -17 is negative, …"). A rule on one
    /// is an error that gives the reason, not "no such metric".
    pub dropped: BTreeMap<String, String>,
    /// The reader left out metrics that were not wanted (see [`Wanted`]).
    pub left_out: bool,
    /// What the tool says of its own setup, where it does (see [`Setup`]).
    pub setup: Setup,
}

/// What a tool says of the setup it measured with, so that runs are compared only with runs
/// measured alike (README "Like with like"): facts that must be equal (a Lighthouse version, its
/// Chrome's major version, form factor and throttling), and Lighthouse's `benchmarkIndex`, the
/// host's speed as Lighthouse measured it, which varies a little from run to run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Setup {
    /// Fact → value (`lighthouse` → `12.8.2`); a source's runs that disagree keep every value,
    /// joined with ` | `.
    pub facts: BTreeMap<String, String>,
    /// The median over the runs that say one.
    pub benchmark_index: Option<f64>,
}

impl Setup {
    /// The setup of a source's runs together.
    pub fn merged<'a>(setups: impl Iterator<Item = &'a Setup>) -> Setup {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut indexes = Vec::new();
        for setup in setups {
            for (fact, value) in &setup.facts {
                let seen = values.entry(fact.clone()).or_default();
                if !seen.contains(value) {
                    seen.push(value.clone());
                }
            }
            indexes.extend(setup.benchmark_index);
        }
        Setup {
            facts: values
                .into_iter()
                .map(|(fact, values)| (fact, values.join(" | ")))
                .collect(),
            benchmark_index: crate::model::median(&indexes),
        }
    }
}

/// What one report measured, for tools that write one file per target: Lighthouse writes one LHR
/// per page and form factor. Reports of different targets are different series, never runs of
/// one measurement, so they are never merged into one median.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// The URL measured, as the tool was asked for it (Lighthouse's `requestedUrl`).
    pub url: String,
    /// A setting that changes every number of the run (Lighthouse's form factor).
    pub variant: Option<String>,
    /// What must match for two reports' numbers to be comparable at all (Lighthouse's major
    /// version: scoring curves and metrics change between majors); named in messages.
    pub generation: Option<String>,
}

/// One page of a source whose reports measured several targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// How metric ids name it after the metric: `url:/checkout`, or
    /// `url:/checkout,form_factor:desktop` when the source holds several form factors. The
    /// page's metrics are `<metric>{<selector>}` (`lcp{url:/checkout}`).
    pub selector: String,
    /// How a reader reads it: `/checkout`, `/checkout (desktop)`.
    pub name: String,
    /// How many runs (files) measured it.
    pub runs: usize,
}

/// Which metrics of a source are needed. A reader may leave the others out where they cost work
/// (the bundle readers compress only the files a wanted `.gzip`/`.brotli` size covers), and then
/// says so in [`Parsed::left_out`]; it may also give them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Wanted {
    /// Every metric: `perfgate metrics`, and a source an expression reads in a way that does not
    /// name its metrics.
    #[default]
    All,
    /// These metric names (as the source names them, without the source's name).
    Only(BTreeSet<String>),
}

impl Wanted {
    /// Nothing yet; [`Wanted::add`] grows it.
    pub fn none() -> Wanted {
        Wanted::Only(BTreeSet::new())
    }

    /// Whether `metric` is needed.
    pub fn wants(&self, metric: &str) -> bool {
        match self {
            Wanted::All => true,
            Wanted::Only(names) => names.contains(metric),
        }
    }

    /// Also wants `metric`.
    pub fn add(&mut self, metric: &str) {
        if let Wanted::Only(names) = self {
            names.insert(metric.to_string());
        }
    }
}

/// One report: one file (or one Prometheus query round) read as one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The file read, or the URL queried.
    pub path: PathBuf,
    pub format: Format,
    pub detail: Option<String>,
    pub metrics: Metrics,
    pub periods: Vec<Metrics>,
    /// See [`Parsed::distributions`].
    pub distributions: BTreeMap<String, Histogram<u64>>,
    /// See [`Parsed::no_data`].
    pub no_data: BTreeSet<String>,
    /// See [`Parsed::target`].
    pub target: Option<Target>,
    /// See [`Parsed::dropped`].
    pub dropped: BTreeMap<String, String>,
    /// See [`Parsed::setup`].
    pub setup: Setup,
}

impl Report {
    fn new(path: PathBuf, format: Format, parsed: Parsed) -> Report {
        Report {
            path,
            format,
            detail: parsed.detail,
            metrics: parsed.metrics,
            periods: parsed.periods,
            distributions: parsed.distributions,
            no_data: parsed.no_data,
            target: parsed.target,
            dropped: parsed.dropped,
            setup: parsed.setup,
        }
    }
}

/// Where a source's data comes from, as a budget describes it.
#[derive(Debug, Clone)]
pub enum Location {
    /// A path or glob; several matching files are several runs of the same measurement.
    Files(String),
    /// A live Prometheus HTTP API: `queries` maps a metric name to a PromQL expression.
    PrometheusApi {
        url: String,
        queries: BTreeMap<String, String>,
        timeout: Duration,
    },
}

/// What the files of a source are to each other (`files = "runs" | "shards"` in a budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Files {
    /// Each file is a run of the same measurement; a metric is the median over the runs.
    #[default]
    Runs,
    /// The files are parts of one run written by several load generators; their samples merge
    /// exactly into one run.
    Shards,
}

impl Files {
    /// The values a budget's `files` takes.
    pub const NAMES: &[(&str, Files)] = &[("runs", Files::Runs), ("shards", Files::Shards)];
}

/// A source to read: its format (`None` = detect from content) and location.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub format: Option<Format>,
    pub location: Location,
    /// What the files of a [`Location::Files`] are to each other.
    pub files: Files,
    /// Skip a truncated last line of a streamed report (a run killed mid-write) instead of
    /// refusing the file; the skipped line is named in the report's detail.
    pub lenient: bool,
    /// The metrics a budget's rules read from this source; the reader may skip the others' work.
    pub wanted: Wanted,
}

/// A source read: every run, and the metrics that represent them.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub format: Format,
    pub reports: Vec<Report>,
    /// Per metric, the median over the runs that have it (the one value for a single run).
    pub metrics: Metrics,
    /// Per metric, every run's value in run order, where there are several runs; for a single run
    /// cut into time slices (Artillery's intermediate periods), every slice's value where at least
    /// two slices carry the metric. What the statistics compare when they have more than one value.
    pub samples: BTreeMap<String, Vec<f64>>,
    /// Per series, the samples of every run together (see [`Parsed::distributions`]).
    pub distributions: BTreeMap<String, Histogram<u64>>,
    /// The series no run holds a sample of (see [`Parsed::no_data`]).
    pub no_data: BTreeSet<String>,
    /// The pages the reports measured, where they say (see [`Target`]): one for a source of one
    /// page, whose metrics keep their plain names; several for a source of several pages, whose
    /// `metrics` and `samples` are then per page, named `<metric>{<selector>}`.
    pub pages: Vec<Page>,
    /// Every value a run dropped (see [`Parsed::dropped`]), the reason prefixed with the run's file
    /// when the source has several runs. A metric dropped in one run but read in another is still
    /// here (its median comes from fewer runs) and in `metrics`.
    pub dropped: BTreeMap<String, String>,
}

/// Why the format of a file could not be told, for the caller to branch on.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("the file is empty")]
    Empty,
    #[error("this is {0}, which perfgate does not read")]
    Unsupported(&'static str),
    #[error("not a format perfgate reads (tried: {tried}); name the format in the budget with `format = \"...\"`")]
    Unknown { tried: String },
    #[error(transparent)]
    Exceeded(#[from] memory::Exceeded),
}

/// How many histogram units make one unit of a metric in [`Parsed::distributions`]: nanoseconds
/// for milliseconds, so that every duration from 1 µs up is kept within 0.1 %.
pub const HISTOGRAM_SCALE: u64 = 1_000_000;

/// The largest report read whole (every format but the streams), in bytes, decompressed: what is
/// made of it must fit in the rest of [`crate::memory::CEILING`].
pub(crate) const MAX_WHOLE_BYTES: u64 = 128 << 20;

/// The longest metric, label or request name a reader takes from a file, in bytes: a name is
/// copied into every statistic's name and into `closest:` hints.
pub(crate) const MAX_NAME_BYTES: usize = 1_024;

/// Reads a source: expands its glob, reads every file (or queries the endpoint) and merges the runs.
pub fn load_source(name: &str, spec: &SourceSpec) -> Result<Source> {
    let reports = match &spec.location {
        Location::PrometheusApi {
            url,
            queries,
            timeout,
        } => {
            let shown = prometheus::redact_url(url);
            let parsed = prometheus::query_live(url, queries, *timeout)
                .with_context(|| format!("source `{name}`: querying Prometheus at {shown}"))?;
            vec![Report::new(
                PathBuf::from(shown),
                Format::Prometheus,
                parsed,
            )]
        }
        Location::Files(pattern) if spec.files == Files::Shards => {
            let paths = expand(pattern).with_context(|| format!("source `{name}`"))?;
            vec![load_shards(pattern, &paths, spec)
                .with_context(|| format!("source `{name}` (files = \"shards\")"))?]
        }
        Location::Files(pattern) => {
            let paths = expand(pattern).with_context(|| format!("source `{name}`"))?;
            let mut reports = Vec::with_capacity(paths.len());
            for path in paths {
                reports.push(
                    load_wanted(&path, spec.format, spec.lenient, &spec.wanted)
                        .with_context(|| format!("source `{name}`"))?,
                );
            }
            reports
        }
    };
    let format = reports[0].format;
    if let Some(other) = reports.iter().find(|r| r.format != format) {
        bail!(
            "source `{name}`: {} is {} but {} is {}; one source holds runs of one format",
            reports[0].path.display(),
            format,
            other.path.display(),
            other.format
        );
    }
    // Values dropped for a reason are named where a rule needs them, with that reason.
    if reports
        .iter()
        .all(|r| r.metrics.is_empty() && r.dropped.is_empty())
    {
        let files: Vec<String> = reports
            .iter()
            .map(|r| r.path.display().to_string())
            .collect();
        let described: BTreeSet<&String> = reports.iter().flat_map(|r| &r.no_data).collect();
        let more = described.len() > 5;
        let mut described: Vec<String> =
            described.iter().take(5).map(|s| format!("`{s}`")).collect();
        if more {
            described.push("…".to_string());
        }
        bail!(
            "source `{name}`: no sample in {}{}; was the run cut short before it measured anything?",
            files.join(", "),
            if described.is_empty() {
                String::new()
            } else {
                format!(" (it describes {} but never samples them)", described.join(", "))
            }
        );
    }
    let pages = pages_of(&reports).with_context(|| format!("source `{name}`"))?;
    let (metrics, mut samples) = if pages.len() > 1 {
        let mut metrics = Metrics::new();
        let mut samples = BTreeMap::new();
        for (page, runs) in &pages {
            let (m, s) = merge_runs(runs).with_context(|| format!("source `{name}`"))?;
            let key = |metric: String| format!("{metric}{{{}}}", page.selector);
            metrics.extend(m.into_iter().map(|(k, v)| (key(k), v)));
            samples.extend(s.into_iter().map(|(k, v)| (key(k), v)));
        }
        (metrics, samples)
    } else {
        let all: Vec<&Report> = reports.iter().collect();
        merge_runs(&all).with_context(|| format!("source `{name}`"))?
    };
    let pages: Vec<Page> = pages.into_iter().map(|(page, _)| page).collect();
    if let [report] = reports.as_slice() {
        samples = period_samples(&report.periods);
    }
    let mut distributions: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for report in &reports {
        for (series, h) in &report.distributions {
            match distributions.get_mut(series) {
                Some(all) => all.add(h).with_context(|| {
                    format!("source `{name}`: merging the runs' distributions of `{series}`")
                })?,
                None => {
                    distributions.insert(series.clone(), h.clone());
                }
            }
        }
    }
    // A series is no data only when no run has a sample of it.
    let no_data = reports
        .iter()
        .flat_map(|r| &r.no_data)
        .filter(|series| !reports.iter().any(|r| has_series(&r.metrics, series)))
        .cloned()
        .collect();
    let dropped = merge_dropped(&reports);
    Ok(Source {
        name: name.to_string(),
        format,
        reports,
        metrics,
        samples,
        distributions,
        no_data,
        pages,
        dropped,
    })
}

/// The pages a source's reports measured, each with its runs, in URL order: none when no report
/// says what it measured. Reports of different generations (Lighthouse majors), or some saying
/// what they measured and some not, are an error naming two files.
fn pages_of(reports: &[Report]) -> Result<Vec<(Page, Vec<&Report>)>> {
    let named: Vec<(&Report, &Target)> = reports
        .iter()
        .filter_map(|r| Some((r, r.target.as_ref()?)))
        .collect();
    let Some(&(first, first_target)) = named.first() else {
        return Ok(Vec::new());
    };
    if let Some(unnamed) = reports.iter().find(|r| r.target.is_none()) {
        bail!(
            "{} does not say which page it measured, but {} measured {}: the reports of one source either all name their page or none does",
            unnamed.path.display(),
            first.path.display(),
            first_target.url
        );
    }
    if let Some((other, t)) = named
        .iter()
        .find(|(_, t)| t.generation != first_target.generation)
    {
        let gen = |t: &Target| t.generation.clone().unwrap_or_else(|| "unversioned".into());
        bail!(
            "{} is {} but {} is {}; their numbers are not comparable, so give each version a source of its own",
            first.path.display(),
            gen(first_target),
            other.path.display(),
            gen(t)
        );
    }
    let mut by_target: BTreeMap<(&str, Option<&str>), Vec<&Report>> = BTreeMap::new();
    for (r, t) in &named {
        by_target
            .entry((t.url.as_str(), t.variant.as_deref()))
            .or_default()
            .push(r);
    }
    let variants: BTreeSet<Option<&str>> = by_target.keys().map(|(_, v)| *v).collect();
    let mut paths: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (url, _) in by_target.keys() {
        paths.entry(url_path(url)).or_default().insert(url);
    }
    Ok(by_target
        .into_iter()
        .map(|((url, variant), runs)| {
            // The path alone, unless two URLs of the source share it (two hosts, two ports).
            let path = url_path(url);
            let shown = if paths[path].len() > 1 { url } else { path };
            let (selector, name) = match variant.filter(|_| variants.len() > 1) {
                Some(v) => (
                    format!("url:{shown},form_factor:{v}"),
                    format!("{shown} ({v})"),
                ),
                None => (format!("url:{shown}"), shown.to_string()),
            };
            let page = Page {
                selector,
                name,
                runs: runs.len(),
            };
            (page, runs)
        })
        .collect())
}

/// A URL's path and query (`/checkout?step=2`), `/` for a bare origin: what names a page, since the
/// origin of a page under test (a CI job's port) changes from run to run.
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => &rest[i..],
        _ => "/",
    }
}

/// The values the runs dropped, each reason naming its file when there are several runs (the
/// first run's reason where two runs dropped the same metric).
fn merge_dropped(reports: &[Report]) -> BTreeMap<String, String> {
    let mut dropped = BTreeMap::new();
    for report in reports {
        for (metric, why) in &report.dropped {
            dropped.entry(metric.clone()).or_insert_with(|| {
                if reports.len() > 1 {
                    format!("{}: {why}", report.path.display())
                } else {
                    why.clone()
                }
            });
        }
    }
    dropped
}

/// Reads the files of one run written by several load generators (k6 processes, JMeter engines)
/// and merges them exactly: their raw state (counts, sums, extremes, first and last timestamps,
/// histograms) is added up and the metrics are computed once from it. Only streams carry that
/// state; a report holding percentiles only (a k6 summary, Artillery, Gatling, Locust …) cannot be
/// merged without averaging percentiles, which gives no percentile of the run, and is refused.
fn load_shards(pattern: &str, paths: &[PathBuf], spec: &SourceSpec) -> Result<Report> {
    let mut merged: Option<(Format, &Path, Box<dyn Shard>)> = None;
    for path in paths {
        let Opened::Stream(format, mut reader) = open_stream(path, spec.format)? else {
            let report = load_file(path, spec.format, spec.lenient)?;
            let detail = report.detail.map(|d| format!(" ({d})")).unwrap_or_default();
            bail!(
                "{}: this {} report{detail} holds statistics, not samples: its percentiles \
                 cannot be merged with other shards' (an average of percentiles is not a \
                 percentile of the run); shards merge from k6 `--out json` streams and JMeter \
                 JTL files",
                path.display(),
                report.format
            );
        };
        let mut shard = read_stream(format, &mut reader, spec.lenient)
            .with_context(|| format!("{}: reading {format} output", path.display()))?;
        shard.locate(&path.display().to_string());
        match &mut merged {
            None => merged = Some((format, path, shard)),
            Some((first, first_path, _)) if *first != format => bail!(
                "{} is {format} but {} is {first}; the shards of one run are of one format",
                path.display(),
                first_path.display()
            ),
            Some((_, _, all)) => all.absorb(shard).with_context(|| {
                format!("{}: merging it with the shards before", path.display())
            })?,
        }
    }
    let (format, _, all) = merged.context("no file to merge")?;
    let mut parsed = all
        .finish()
        .with_context(|| format!("{pattern}: the merged shards"))?;
    let shards = format!("{} shards merged", paths.len());
    parsed.detail = Some(match parsed.detail {
        Some(detail) => format!("{detail}; {shards}"),
        None => shards,
    });
    Ok(Report::new(PathBuf::from(pattern), format, parsed))
}

/// The median of every metric over the runs that carry it, and the per-run values. A metric in two
/// units (a perfgate JSON file saying `ms` in one run and `B` in another) is an error: its median
/// would mean nothing.
fn merge_runs(reports: &[&Report]) -> Result<(Metrics, BTreeMap<String, Vec<f64>>)> {
    let mut by_name: BTreeMap<&str, Vec<(&Path, Measurement)>> = BTreeMap::new();
    for report in reports {
        for (name, m) in &report.metrics {
            by_name.entry(name).or_default().push((&report.path, *m));
        }
    }
    let mut metrics = Metrics::new();
    let mut samples = BTreeMap::new();
    for (name, runs) in by_name {
        let (first_path, first) = runs[0];
        if let Some((path, m)) = runs.iter().find(|(_, m)| m.unit != first.unit) {
            bail!(
                "metric `{name}` is {} in {} but {} in {}; every run must give it in one unit",
                first.unit.kind_name(),
                first_path.display(),
                m.unit.kind_name(),
                path.display()
            );
        }
        let values: Vec<f64> = runs.iter().map(|(_, m)| m.value).collect();
        let value = median(&values).unwrap_or(f64::NAN);
        metrics.insert(name.to_string(), Measurement::new(value, first.unit));
        if reports.len() > 1 {
            samples.insert(name.to_string(), values);
        }
    }
    Ok((metrics, samples))
}

/// Per metric, its value in each period that has it, where at least two do.
fn period_samples(periods: &[Metrics]) -> BTreeMap<String, Vec<f64>> {
    let mut by_name: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for period in periods {
        for (name, m) in period {
            by_name.entry(name.clone()).or_default().push(m.value);
        }
    }
    by_name.retain(|_, values| values.len() >= 2);
    by_name
}

/// The files a path or glob names, sorted; an error when there are none.
fn expand(pattern: &str) -> Result<Vec<PathBuf>> {
    let is_glob = pattern.contains(['*', '?', '[']);
    if !is_glob {
        let path = PathBuf::from(pattern);
        if !path.exists() {
            bail!("{pattern}: no such file or directory");
        }
        return Ok(vec![path]);
    }
    let mut paths: Vec<PathBuf> = glob::glob(pattern)
        .with_context(|| format!("`{pattern}` is not a valid glob"))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading the files `{pattern}` matches"))?;
    if paths.is_empty() {
        bail!("`{pattern}` matches no file");
    }
    paths.sort();
    Ok(paths)
}

/// Reads one file in the given format, or in the format its content shows, with every metric.
/// `lenient`: see [`SourceSpec::lenient`].
pub fn load_file(path: &Path, declared: Option<Format>, lenient: bool) -> Result<Report> {
    read_file(path, declared, lenient, &Wanted::All).map(|(report, _)| report)
}

/// [`load_file`] for the `wanted` metrics. Where the reader left some out and a wanted one is
/// missing (a misspelt rule, a size that cannot be had), the file is read again in full, so that
/// the error that follows offers the closest of all its metrics.
fn load_wanted(
    path: &Path,
    declared: Option<Format>,
    lenient: bool,
    wanted: &Wanted,
) -> Result<Report> {
    let (report, left_out) = read_file(path, declared, lenient, wanted)?;
    let missing = match wanted {
        Wanted::All => false,
        Wanted::Only(names) => names.iter().any(|m| !report.metrics.contains_key(m)),
    };
    if left_out && missing {
        return load_file(path, declared, lenient);
    }
    Ok(report)
}

/// The report of one file, and whether its reader left out metrics that were not wanted.
fn read_file(
    path: &Path,
    declared: Option<Format>,
    lenient: bool,
    wanted: &Wanted,
) -> Result<(Report, bool)> {
    let (format, parsed) = if path.is_dir() {
        match declared {
            None | Some(Format::Dir) => (Format::Dir, dir::load(path, wanted)),
            Some(f) => bail!(
                "{}: is a directory, not a {f} file (use `format = \"dir\"` for a built folder)",
                path.display()
            ),
        }
    } else {
        match open_stream(path, declared)? {
            Opened::Stream(format, mut reader) => {
                let parsed =
                    read_stream(format, &mut reader, lenient).and_then(|shard| shard.finish());
                (format, parsed)
            }
            Opened::Whole { head } => {
                let (format, body) = open_whole(path, declared, &head)?;
                (format, parse(format, path, body, wanted))
            }
        }
    };
    let parsed = parsed.with_context(|| format!("{}: reading {format} output", path.display()))?;
    let left_out = parsed.left_out;
    Ok((Report::new(path.to_path_buf(), format, parsed), left_out))
}

/// Reads a stream of a streamed format into its [`Shard`]; `lenient`: see
/// [`SourceSpec::lenient`].
fn read_stream(
    format: Format,
    reader: &mut (dyn BufRead + Send),
    lenient: bool,
) -> Result<Box<dyn Shard>> {
    match format.reader().stream {
        Some(read) => read(reader, lenient),
        None => bail!("{format} is not read as a stream"),
    }
}

/// A file as its first bytes show it.
enum Opened<R> {
    /// A stream of a streamed format, read line by line, never whole.
    Stream(Format, R),
    /// A file read whole (k6's JSON summaries, every other format), with its first
    /// [`stream::HEAD_BYTES`] as text, which tell JSON from text.
    Whole { head: String },
}

/// Opens a file as a stream when its first bytes show a streamed format, or it is declared as one
/// that has no whole-file shape; otherwise keeps those bytes for the whole-file path.
fn open_stream(path: &Path, declared: Option<Format>) -> Result<Opened<impl BufRead + Send>> {
    let (head, reader) = stream::split_head(open_with_progress(path)?)
        .with_context(|| path.display().to_string())?;
    let Some(text) = stream::head_text(&head) else {
        bail!(
            "{}: binary data (a NUL byte or bytes that are not UTF-8 in its first {} KiB), not a report perfgate reads",
            path.display(),
            stream::HEAD_BYTES / 1024
        );
    };
    let format = match (declared, sniff_stream(&head)) {
        (Some(d), Some(found)) if d != found => bail!(
            "{}: declared as {d}, but the content is {found} output",
            path.display()
        ),
        (_, Some(found)) => found,
        // A format read only as a stream is read as one whatever its head shows, for its reader
        // to say what is wrong.
        (Some(d), None) if d.reader().whole.is_none() => d,
        _ => {
            return Ok(Opened::Whole {
                head: text.to_owned(),
            })
        }
    };
    Ok(Opened::Stream(format, reader))
}

/// A report read whole, as its reader takes it: JSON straight from the file (never held whole:
/// what the reader does not keep is read past), text in memory.
enum Body {
    Json(Reader),
    Text(String),
}

/// Tells the format of a file read whole, from its content and the declared format, and opens it
/// for its reader. JSON is read twice, once to tell its format and once to read it, so that
/// neither pass holds it.
fn open_whole(path: &Path, declared: Option<Format>, head: &str) -> Result<(Format, Body)> {
    let (detected, text) = if starts_json(head) {
        let detected = sniff_json(&mut open_json(open(path)?), head);
        (detected, None)
    } else {
        let text = read_text(path)?;
        (sniff(&text), Some(text))
    };
    let format = match (declared, detected) {
        (_, Err(e @ DetectError::Exceeded(_))) => {
            return Err(anyhow::Error::new(e).context(path.display().to_string()))
        }
        (Some(Format::Dir), _) => bail!(
            "{}: format `dir` takes a directory, this is a file",
            path.display()
        ),
        (Some(d), Ok(found)) if d != found => bail!(
            "{}: declared as {d}, but the content is {} output",
            path.display(),
            found
        ),
        (Some(d), Ok(_)) => d,
        (Some(d), Err(DetectError::Empty)) => {
            bail!("{}: the file is empty, expected {d} output", path.display())
        }
        (Some(d), Err(DetectError::Unsupported(what))) => {
            bail!(
                "{}: declared as {d}, but the content is {what}",
                path.display()
            )
        }
        (Some(d), Err(DetectError::Unknown { .. })) => d,
        (None, Ok(found)) => found,
        (None, Err(e)) => return Err(anyhow::Error::new(e).context(path.display().to_string())),
    };
    let body = match text {
        Some(text) => Body::Text(text),
        None => Body::Json(open_json(open_with_progress(path)?)),
    };
    Ok((format, body))
}

/// Reads a report whole with its format's reader. A file that does not look like what the reader
/// takes is given to it all the same (text to a JSON parser, JSON to a CSV one), for the parser to
/// say where it breaks.
fn parse(format: Format, path: &Path, body: Body, wanted: &Wanted) -> Result<Parsed> {
    let Some(whole) = format.reader().whole else {
        bail!("{format} is read as a stream");
    };
    let json = |body: Body| -> Reader {
        match body {
            Body::Json(input) => input,
            Body::Text(text) => Box::new(std::io::Cursor::new(text.into_bytes())),
        }
    };
    match (whole, body) {
        (Whole::Dir(load), _) => load(path, wanted),
        (Whole::Text(read) | Whole::JsonOrText(_, read), Body::Text(text)) => read(&text),
        (Whole::Text(read), Body::Json(_)) => read(&read_text(path)?),
        (Whole::Json(read) | Whole::JsonOrText(read, _), body) => read(&mut json(body)),
        (Whole::Bundle(read), body) => read(path, &mut json(body), wanted),
    }
}

/// The most bytes of a JSON report read, decompressed: it is never held, but reading it takes
/// time (two passes at 100–300 MB/s).
pub(crate) const MAX_JSON_BYTES: u64 = 1 << 30;

/// A JSON report passed [`MAX_JSON_BYTES`].
#[derive(Debug, thiserror::Error)]
#[error(
    "larger than the {MAX_JSON_BYTES} bytes ({} GiB) perfgate reads of a JSON report, decompressed \
     if gzipped (README: Limits)",
    MAX_JSON_BYTES >> 30
)]
struct TooLarge;

/// A report's reader that fails with [`TooLarge`] past [`MAX_JSON_BYTES`].
struct Capped {
    inner: Reader,
    left: u64,
}

impl Read for Capped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more shows whether the end was reached exactly at the limit.
            return match self.inner.read(&mut [0])? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(TooLarge)),
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// A JSON report's reader, capped at [`MAX_JSON_BYTES`].
fn open_json(inner: Reader) -> Reader {
    Box::new(BufReader::with_capacity(
        1 << 16,
        Capped {
            inner,
            left: MAX_JSON_BYTES,
        },
    ))
}

/// Whether a document's first character (after a byte-order mark and white space) opens JSON.
fn starts_json(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with(['{', '['])
}

/// Reads a whole file as UTF-8 text, gunzipped when it is gzip (whatever its name), with errors
/// that name it.
fn read_text(path: &Path) -> Result<String> {
    let too_large = |what: &str| {
        anyhow::anyhow!(
            "{}: {what} is larger than the {MAX_WHOLE_BYTES} bytes ({} MiB) perfgate reads whole \
             from a report (README: Limits)",
            path.display(),
            MAX_WHOLE_BYTES >> 20
        )
    };
    let cannot_open = || format!("{}: cannot read", path.display());
    let mut file = crate::file::open_regular(path, "report file")?.with_context(cannot_open)?;
    let meta = file.metadata().with_context(cannot_open)?;
    if meta.len() > MAX_WHOLE_BYTES {
        return Err(too_large(&format!("{} bytes", meta.len())));
    }
    let cannot_read = || format!("{}: cannot read (a truncated gzip file?)", path.display());
    let too_large_decompressed = || {
        anyhow::anyhow!(
            "{}: decompressed, this gzip file of {} bytes passes the limit of {MAX_WHOLE_BYTES} \
             bytes ({} MiB) perfgate reads whole from a report (README: Limits)",
            path.display(),
            meta.len(),
            MAX_WHOLE_BYTES >> 20
        )
    };
    let mut capacity = meta.len();
    let gzip = is_gzip(&mut file).with_context(cannot_open)?;
    if gzip {
        // Decompressed once to count its size first, so that a small file that inflates past
        // the limit (a gzip bomb) is refused before any of it is held.
        capacity = std::io::copy(
            &mut open(path)?.take(MAX_WHOLE_BYTES + 1),
            &mut std::io::sink(),
        )
        .with_context(cannot_read)?;
        if capacity > MAX_WHOLE_BYTES {
            return Err(too_large_decompressed());
        }
    }
    let mut bytes = Vec::with_capacity(capacity as usize);
    decode(path, file)?
        .take(MAX_WHOLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(cannot_read)?;
    // The file may have grown since it was measured.
    if bytes.len() as u64 > MAX_WHOLE_BYTES {
        return Err(if gzip {
            too_large_decompressed()
        } else {
            too_large("the file as read")
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (invalid byte at offset {}); is this a report file?",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Whether a file starts with gzip's magic bytes; it is left at its start.
fn is_gzip(file: &mut std::fs::File) -> std::io::Result<bool> {
    let mut magic = [0; 2];
    let gzip = match file.read_exact(&mut magic) {
        Ok(()) => magic == [0x1f, 0x8b],
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => false,
        Err(e) => return Err(e),
    };
    file.rewind()?;
    Ok(gzip)
}

/// Opens a file for reading, gunzipping it on the fly when it starts with gzip's magic bytes
/// (`1f 8b`, RFC 1952): CI jobs often keep their reports compressed.
pub(crate) fn open(path: &Path) -> Result<Reader> {
    let file = crate::file::open_regular(path, "report file")?
        .with_context(|| format!("{}: cannot read", path.display()))?;
    decode(path, file)
}

/// A report's bytes, decompressed; `Send`, so a stream is read on a thread of its own.
pub(crate) type Reader = Box<dyn BufRead + Send>;

/// As [`open`], with a progress bar on stderr for a read that takes longer than a moment
/// ([`stream::Progress`]).
fn open_with_progress(path: &Path) -> Result<Reader> {
    let file = crate::file::open_regular(path, "report file")?
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    decode(path, stream::Progress::new(file, len, path))
}

/// Buffers a raw reader, gunzipping it when it starts with gzip's magic bytes.
fn decode(path: &Path, raw: impl Read + Send + 'static) -> Result<Reader> {
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let magic = reader
        .fill_buf()
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// Tells a report's format from its content (never from its name), first match wins.
pub fn sniff(text: &str) -> Result<Format, DetectError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(DetectError::Empty);
    }
    if !starts_json(trimmed) {
        return first_match(|d| (d.text)(trimmed)).unwrap_or_else(|| Err(unknown()));
    }
    sniff_json(&mut trimmed.as_bytes(), trimmed)
}

/// [`sniff`] for a JSON document read from `input`, whose first bytes are `head`.
fn sniff_json(input: &mut dyn BufRead, head: &str) -> Result<Format, DetectError> {
    let pruned = skip_bom(input).and_then(|()| {
        let mut de = serde_json::Deserializer::from_reader(BufReader::new(memory::Bounded(input)));
        Pruned(3).deserialize(&mut de).map_err(std::io::Error::from)
    });
    match pruned {
        Ok(value) => sniff_value(&value),
        Err(e) if memory::exceeded(&e).is_some() => Err(DetectError::Exceeded(memory::Exceeded)),
        // Truncated or malformed JSON: guess from the opening keys so the error names the
        // format's parser, which reports the line and column. (A file that cannot be read goes
        // the same way, for the parser to report.)
        Err(_) => sniff_prefix(head.trim_start_matches('\u{feff}').trim_start()),
    }
}

/// Consumes a UTF-8 byte-order mark, which some Windows tools write before JSON.
fn skip_bom(input: &mut dyn BufRead) -> std::io::Result<()> {
    if input.fill_buf()?.starts_with(&[0xef, 0xbb, 0xbf]) {
        input.consume(3);
    }
    Ok(())
}

/// The first byte of a document after a byte-order mark and white space, which are consumed; the
/// byte is not.
pub(crate) fn first_byte(input: &mut dyn BufRead) -> Result<Option<u8>> {
    skip_bom(input).context("cannot read")?;
    loop {
        let buf = input.fill_buf().context("cannot read")?;
        let Some(at) = buf.iter().position(|b| !b.is_ascii_whitespace()) else {
            if buf.is_empty() {
                return Ok(None);
            }
            let n = buf.len();
            input.consume(n);
            continue;
        };
        let first = buf[at];
        input.consume(at);
        return Ok(Some(first));
    }
}

/// The top of a JSON document as a [`Value`], which is all detection looks at: `.0` levels of it,
/// arrays as their first element, strings cut to 256 bytes; below that, a value is there (as
/// `null`) but not read. The rest is read past without being held, so that telling a large
/// report's format takes neither its large strings (Lighthouse's screenshots) nor what generic
/// values of it would (30 times its size for small objects).
struct Pruned(u8);

impl<'de> DeserializeSeed<'de> for Pruned {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0 == 0 {
            d.deserialize_ignored_any(IgnoredAny)?;
            Ok(Value::Null)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Pruned {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        let mut end = v.len().min(256);
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        Ok(Value::String(v[..end].to_string()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let first = seq.next_element_seed(Pruned(self.0 - 1))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Array(first.into_iter().collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            kept.insert(key, map.next_value_seed(Pruned(self.0 - 1))?);
        }
        Ok(Value::Object(kept))
    }
}

fn unknown() -> DetectError {
    DetectError::Unknown {
        tried: Format::names(),
    }
}

/// The first reader in the registry whose `rule` recognises a document.
fn first_match(rule: impl Fn(&Detect) -> Option<Sniff>) -> Option<Result<Format, DetectError>> {
    Format::ALL.iter().find_map(|&format| {
        rule(&format.reader().detect).map(|sniffed| match sniffed {
            Sniff::Read => Ok(format),
            Sniff::Unsupported(what) => Err(DetectError::Unsupported(what)),
        })
    })
}

/// Detection on the pruned top of a JSON document.
fn sniff_value(v: &Value) -> Result<Format, DetectError> {
    if let Some(found) = first_match(|d| (d.json)(v)) {
        return found;
    }
    // No tool's shape: an object of strings is a manifest mapping sources to built files.
    if v.as_object()
        .is_some_and(|o| !o.is_empty() && o.values().all(Value::is_string))
    {
        return Err(DetectError::Unsupported("a flat asset manifest (no sizes)"));
    }
    Err(unknown())
}

/// Detection for JSON that does not parse (truncated, hand-edited): look at the first keys only.
fn sniff_prefix(text: &str) -> Result<Format, DetectError> {
    let head: String = text.chars().take(4096).collect();
    first_match(|d| (d.broken_json)(&head).then_some(Sniff::Read)).unwrap_or_else(|| Err(unknown()))
}

/// The streamed format the first bytes of a file show, if any.
fn sniff_stream(head: &[u8]) -> Option<Format> {
    let text = stream::head_text(head)?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    Format::ALL
        .iter()
        .copied()
        .find(|format| (format.reader().detect.stream)(text))
}

/// Parses JSON into a wire struct; errors name the field path (`aggregate.summaries`) and position.
/// The parse reads from `input` as it goes, never holding the document, and through
/// [`memory::Bounded`], so that no shape of JSON takes the heap past the ceiling.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(input: &mut dyn BufRead) -> Result<T> {
    skip_bom(input).map_err(read_error)?;
    let de = &mut serde_json::Deserializer::from_reader(BufReader::new(memory::Bounded(input)));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.into_inner())
    })
}

/// [`from_json`] for a document already read as generic values, for a reader that looks at it
/// before choosing its shape.
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.into_inner())
    })
}

fn json_error(path: &str, inner: serde_json::Error) -> anyhow::Error {
    if inner.is_io() {
        return read_error(std::io::Error::from(inner));
    }
    if path == "." || path.is_empty() {
        anyhow::anyhow!("invalid JSON: {inner}")
    } else {
        anyhow::anyhow!("field `{path}`: {inner}")
    }
}

/// A read that failed: past a limit (the message says which), or a file that could not be read.
fn read_error(error: std::io::Error) -> anyhow::Error {
    let limit = error
        .get_ref()
        .is_some_and(|e| e.is::<memory::Exceeded>() || e.is::<TooLarge>());
    if limit {
        anyhow::Error::new(error)
    } else {
        anyhow::anyhow!("cannot read (a truncated gzip file?): {error}")
    }
}

/// A number that must be finite and not negative (a duration, a size, a count), named in errors.
pub(crate) fn non_negative(field: &str, value: f64) -> Result<f64> {
    if !value.is_finite() {
        bail!("field `{field}`: {value} is not a finite number");
    }
    if value < 0.0 {
        bail!("field `{field}`: {value} is negative, which this quantity cannot be");
    }
    Ok(value)
}

/// [`non_negative`], then converted to the canonical unit (`factor` × the value as written); a
/// value too large to convert is an error quoting it as written, never an infinite metric.
pub(crate) fn non_negative_scaled(field: &str, value: f64, factor: f64) -> Result<f64> {
    let scaled = non_negative(field, value)? * factor;
    if !scaled.is_finite() {
        bail!(
            "field `{field}`: {value:?} is too large to convert to the metric's unit (×{factor})"
        );
    }
    Ok(scaled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_unknown_heads_are_no_stream() {
        assert_eq!(sniff_stream(b"\x00\x01\x02garbage"), None);
        assert_eq!(sniff_stream(&[0xff, 0xfe, 0x41, 0x42]), None);
        assert_eq!(sniff_stream(b"{\"aggregate\":{}}"), None);
        assert_eq!(sniff_stream(b""), None);
    }

    #[test]
    fn binary_files_are_refused_from_their_head() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("garbage.bin");
        let mut bytes = b"{\"type\":\"Metric\"".to_vec();
        bytes.extend((0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
        std::fs::write(&path, bytes).expect("write");
        for declared in [None, Some(Format::K6), Some(Format::Jmeter)] {
            let e = load_file(&path, declared, false).expect_err("binary");
            assert!(format!("{e:#}").contains("binary data"), "{e:#}");
        }
    }

    #[test]
    fn a_json_report_is_read_to_its_limit_and_refused_past_it() {
        let capped = |left| -> Reader {
            Box::new(BufReader::new(Capped {
                inner: Box::new(std::io::Cursor::new(br#"{"a":"bcd"}"#.to_vec())),
                left,
            }))
        };
        let read: Value = from_json(&mut capped(11)).expect("exactly at the limit");
        assert_eq!(read["a"], "bcd");
        let e = from_json::<Value>(&mut capped(10)).expect_err("one byte past");
        assert_eq!(
            format!("{e:#}"),
            "larger than the 1073741824 bytes (1 GiB) perfgate reads of a JSON report, \
             decompressed if gzipped (README: Limits)"
        );
    }

    #[test]
    fn a_page_is_named_by_its_path_unless_two_origins_share_it() {
        assert_eq!(url_path("http://127.0.0.1:8793/fast.html"), "/fast.html");
        assert_eq!(url_path("https://shop.example/cart?step=2"), "/cart?step=2");
        assert_eq!(url_path("https://shop.example"), "/");
        assert_eq!(url_path("https://shop.example?q=1"), "/");
        let report = |file: &str, url: &str, variant: Option<&str>| Report {
            path: PathBuf::from(file),
            format: Format::Lighthouse,
            detail: None,
            metrics: Metrics::from([("lcp".to_string(), Measurement::ms(1.0))]),
            periods: Vec::new(),
            distributions: BTreeMap::new(),
            no_data: BTreeSet::new(),
            target: Some(Target {
                url: url.to_string(),
                variant: variant.map(str::to_string),
                generation: Some("Lighthouse 12".into()),
            }),
            dropped: BTreeMap::new(),
            setup: Setup::default(),
        };
        let names = |reports: &[Report]| -> Vec<(String, String, usize)> {
            pages_of(reports)
                .expect("pages")
                .into_iter()
                .map(|(p, _)| (p.selector, p.name, p.runs))
                .collect()
        };
        // Two runs of one page are one page; a port is no part of the name.
        assert_eq!(
            names(&[
                report("a", "http://127.0.0.1:9001/", Some("mobile")),
                report("b", "http://127.0.0.1:9001/", Some("mobile")),
                report("c", "http://127.0.0.1:9001/cart", Some("mobile")),
            ]),
            [
                ("url:/".into(), "/".into(), 2),
                ("url:/cart".into(), "/cart".into(), 1)
            ]
        );
        // Two origins serving one path are told apart by the whole URL; two form factors by name.
        assert_eq!(
            names(&[
                report("a", "https://a.example/", Some("mobile")),
                report("b", "https://b.example/", Some("desktop")),
            ]),
            [
                (
                    "url:https://a.example/,form_factor:mobile".into(),
                    "https://a.example/ (mobile)".into(),
                    1
                ),
                (
                    "url:https://b.example/,form_factor:desktop".into(),
                    "https://b.example/ (desktop)".into(),
                    1
                )
            ]
        );
        // A report that names no page beside ones that do cannot be placed.
        let mut unnamed = report("b", "", None);
        unnamed.target = None;
        let e = format!(
            "{:#}",
            pages_of(&[report("a", "http://x/", None), unnamed]).expect_err("unnamed")
        );
        assert_eq!(
            e,
            "b does not say which page it measured, but a measured http://x/: the reports of one source either all name their page or none does"
        );
    }

    #[test]
    fn runs_of_one_metric_in_two_units_are_an_error_naming_both_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (file, unit) in [("a.json", "ms"), ("b.json", "B")] {
            std::fs::write(
                dir.path().join(file),
                format!(
                    r#"{{"schema":"perfgate/metrics@1","metrics":{{"x":{{"value":1,"unit":"{unit}"}},"y":2}}}}"#
                ),
            )
            .expect("write");
        }
        let spec = |glob: &str| SourceSpec {
            lenient: false,
            files: Files::Runs,
            wanted: Wanted::All,
            format: None,
            location: Location::Files(dir.path().join(glob).display().to_string()),
        };
        let e = format!(
            "{:#}",
            load_source("bench", &spec("*.json")).expect_err("two units")
        );
        assert!(
            e.contains("metric `x` is a duration in") && e.contains("a.json but a size in"),
            "{e}"
        );
        // One unit throughout: the median and every run's value.
        let source = load_source("bench", &spec("a.json")).expect("one run");
        assert_eq!(source.metrics["y"], Measurement::count(2.0));
        assert!(source.samples.is_empty());
    }

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    /// What detection makes of a file, as a source with no declared format: a streamed format
    /// from its head, else a format read whole.
    fn detected(path: &Path) -> Option<Format> {
        match open_stream(path, None) {
            Ok(Opened::Stream(format, _)) => Some(format),
            Ok(Opened::Whole { head }) => {
                open_whole(path, None, &head).ok().map(|(format, _)| format)
            }
            Err(_) => None,
        }
    }

    /// The files under a directory, at any depth.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files = Vec::new();
        for path in entries.map(|e| e.expect("entry").path()) {
            if path.is_dir() {
                files.extend(files_under(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    /// Every registered format has real fixtures in `tests/fixtures/<name>/` of which its own
    /// detection recognises at least one (first in the registry's order), or is told apart
    /// otherwise, with the reason: a format registered without detection or fixtures fails here.
    #[test]
    fn every_format_has_fixtures_its_detection_recognises() {
        const TOLD_OTHERWISE: &[(Format, &str)] = &[(
            Format::Dir,
            "a directory is read as a built folder; no file's content is",
        )];
        for &format in Format::ALL {
            if TOLD_OTHERWISE.iter().any(|(f, _)| *f == format) {
                continue;
            }
            let dir = PathBuf::from(format!("{FIXTURES}/{}", format.name()));
            let files = files_under(&dir);
            assert!(
                !files.is_empty(),
                "{format} is registered without fixtures: add real ones to {}",
                dir.display()
            );
            let recognised = files.iter().filter(|f| detected(f) == Some(format)).count();
            assert!(
                recognised > 0,
                "none of the {} files under {} is detected as {format}: give its READER a \
                 detection rule, or declare it in TOLD_OTHERWISE with the reason",
                files.len(),
                dir.display()
            );
        }
        // The one told otherwise: a bundler's built folder, given as is.
        let built = load_file(Path::new(&format!("{FIXTURES}/vite/dist")), None, false);
        assert_eq!(built.expect("a built folder").format, Format::Dir);
    }

    fn shards(pattern: &str) -> Result<Source> {
        load_source(
            "load",
            &SourceSpec {
                format: None,
                location: Location::Files(pattern.to_string()),
                files: Files::Shards,
                lenient: false,
                wanted: Wanted::All,
            },
        )
    }

    /// Every value of a metric's points in k6 streams (setup left out), sorted: read with
    /// serde_json::Value, independently of the stream reader.
    fn k6_samples(texts: &[String], metric: &str) -> Vec<f64> {
        let mut values: Vec<f64> = texts
            .iter()
            .flat_map(|t| t.lines())
            .map(|l| serde_json::from_str::<Value>(l).expect("json"))
            .filter(|l| l["type"] == "Point" && l["metric"] == metric)
            .filter(|l| l["data"]["tags"]["group"] != "::setup")
            .map(|l| l["data"]["value"].as_f64().expect("value"))
            .collect();
        values.sort_by(f64::total_cmp);
        values
    }

    /// Four k6 processes running the same test at once (tests/fixtures/k6/make.sh), merged as
    /// shards, give the metrics of their streams concatenated and read as one: counts exact,
    /// percentiles within 0.1 % of the exact nearest-rank sample of all the points.
    #[test]
    fn four_k6_processes_merge_into_the_run_they_made_together() {
        let dir = format!("{FIXTURES}/k6/shards");
        let merged = shards(&format!("{dir}/shard-*.ndjson")).expect("merge");
        assert_eq!(merged.reports.len(), 1);
        assert_eq!(
            merged.reports[0].detail.as_deref(),
            Some("k6 JSON stream; 4 shards merged")
        );
        let texts: Vec<String> = (1..=4)
            .map(|n| std::fs::read_to_string(format!("{dir}/shard-{n}.ndjson")).expect("read"))
            .collect();
        let tmp = tempfile::tempdir().expect("tempdir");
        let whole_path = tmp.path().join("whole.ndjson");
        std::fs::write(&whole_path, texts.concat()).expect("write");
        let whole = load_file(&whole_path, None, false).expect("whole");
        assert_eq!(
            merged.metrics.keys().collect::<Vec<_>>(),
            whole.metrics.keys().collect::<Vec<_>>()
        );
        for (name, m) in &whole.metrics {
            let ours = merged.metrics[name];
            assert_eq!(ours.unit, m.unit, "{name}");
            assert!(
                (ours.value - m.value).abs() <= 1e-9 * m.value.abs().max(1.0),
                "{name}: {} merged, {} whole",
                ours.value,
                m.value
            );
        }
        assert_eq!(merged.distributions, whole.distributions);
        assert_eq!(merged.no_data, whole.no_data);
        let requests = k6_samples(&texts, "http_reqs").len();
        assert_eq!(merged.metrics["http_reqs.count"].value, requests as f64);
        assert_eq!(requests, 72);
        for metric in ["http_req_duration", "http_req_waiting", "http_req_blocked"] {
            let samples = k6_samples(&texts, metric);
            assert_eq!(
                merged.metrics[&format!("{metric}.count")].value,
                samples.len() as f64
            );
            for (stat, pct) in [("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)] {
                let exact = samples[(pct * samples.len()).div_ceil(100) - 1];
                let ours = merged.metrics[&format!("{metric}.{stat}")].value;
                assert!(
                    (ours - exact).abs() <= exact * 0.001,
                    "{metric}.{stat}: {ours} vs the sample {exact}"
                );
            }
        }
    }

    /// A JTL cut into three by rows (every third sample to each, the header kept in each), as
    /// three JMeter engines would write the samples of one run, merges into the whole file's
    /// metrics: the spec-built JTL, and the one real JMeter 2.13 wrote (HTTP, FTP, TCP and Java
    /// Request samplers).
    #[test]
    fn a_jtl_split_three_ways_merges_into_the_whole_file() {
        for (file, count) in [
            ("spec-default-columns.csv", 30.0),
            ("jmeter-2.13-non-http.csv", 30.0),
        ] {
            let path = PathBuf::from(format!("{FIXTURES}/jmeter/{file}"));
            let text = std::fs::read_to_string(&path).expect("read");
            let (header, rows) = text.split_once('\n').expect("header");
            // Records, not lines: a quoted field may hold a newline (an odd number of quotes so far).
            let mut records: Vec<String> = Vec::new();
            let mut open = false;
            for line in rows.lines() {
                match records.last_mut() {
                    Some(last) if open => {
                        last.push('\n');
                        last.push_str(line);
                    }
                    _ => records.push(line.to_string()),
                }
                open ^= line.matches('"').count() % 2 == 1;
            }
            let tmp = tempfile::tempdir().expect("tempdir");
            for part in 0..3 {
                let mut shard = format!("{header}\n");
                for record in records.iter().skip(part).step_by(3) {
                    shard.push_str(record);
                    shard.push('\n');
                }
                std::fs::write(tmp.path().join(format!("engine-{part}.jtl")), shard)
                    .expect("write");
            }
            let merged =
                shards(&tmp.path().join("engine-*.jtl").display().to_string()).expect("merge");
            let whole = load_file(&path, None, false).expect("whole");
            assert_eq!(merged.metrics, whole.metrics, "{file}");
            assert_eq!(merged.distributions, whole.distributions, "{file}");
            assert_eq!(merged.metrics["all.count"].value, count, "{file}");
            assert_eq!(
                merged.reports[0].detail,
                whole.detail.map(|d| d + "; 3 shards merged")
            );
        }
    }

    /// Percentiles from summaries cannot be merged: the set is refused, naming the file and the
    /// inputs that can be merged; so is a set of shards of two formats.
    #[test]
    fn summaries_and_mixed_formats_are_refused_as_shards() {
        for (pattern, file, what) in [
            (
                "k6/shards/shard-*.summary-export.json",
                "shard-1.summary-export.json",
                "this k6 report (k6 summary export) holds statistics",
            ),
            (
                "artillery/http-*.json",
                "http-clean.json",
                "this artillery report (Artillery v2) holds statistics",
            ),
        ] {
            let e = format!(
                "{:#}",
                shards(&format!("{FIXTURES}/{pattern}")).expect_err(pattern)
            );
            assert!(
                e.contains(&format!("{file}: {what}"))
                    && e.contains("its percentiles cannot be merged")
                    && e.contains("shards merge from k6 `--out json` streams and JMeter JTL files"),
                "{e}"
            );
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        for (from, to) in [
            ("k6/shards/shard-1.ndjson", "a.ndjson"),
            ("jmeter/spec-default-columns.csv", "b.jtl"),
            ("k6/shards/shard-1.summary-export.json", "b.json"),
        ] {
            std::fs::copy(format!("{FIXTURES}/{from}"), tmp.path().join(to)).expect("copy");
        }
        let all = tmp.path().join("*").display().to_string();
        let e = format!("{:#}", shards(&all).expect_err("a summary among streams"));
        assert!(e.contains("b.json: this k6 report"), "{e}");
        std::fs::remove_file(tmp.path().join("b.json")).expect("rm");
        let e = format!("{:#}", shards(&all).expect_err("mixed"));
        assert!(
            e.contains("b.jtl is jmeter but")
                && e.contains("a.ndjson is k6; the shards of one run are of one format"),
            "{e}"
        );
    }

    /// A k6 stream of one trend with a sub-series per `name` value, and the values of each.
    fn named_points(names: &[(String, u64)]) -> String {
        let mut text = String::from(
            r#"{"type":"Metric","data":{"name":"d","type":"trend","contains":"time"},"metric":"d"}"#,
        );
        for (name, n) in names {
            for i in 0..*n {
                text += &format!(
                    "\n{{\"metric\":\"d\",\"type\":\"Point\",\"data\":{{\"time\":\"2026-01-01T00:00:0{}Z\",\"value\":{},\"tags\":{{\"name\":\"{name}\"}}}}}}",
                    i % 10,
                    i + 1
                );
            }
        }
        text + "\n"
    }

    /// The sub-series cap holds across shards, and a sub-series is never short of samples: a
    /// shard that reached the cap may have left samples of any name it does not break out, so a
    /// name it lacks is not broken out of the merge either.
    #[test]
    fn the_series_cap_holds_across_shards_and_no_series_is_short() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // Shard 1: 300 names (the cap is reached, names 256… not broken out); shard 2: names 0–9
        // and a name of its own.
        let first: Vec<(String, u64)> = (0..300).map(|i| (format!("n{i}"), 2)).collect();
        let mut second: Vec<(String, u64)> = (0..10).map(|i| (format!("n{i}"), 3)).collect();
        second.push(("n299".to_string(), 4));
        second.push(("own".to_string(), 5));
        std::fs::write(tmp.path().join("1.ndjson"), named_points(&first)).expect("write");
        std::fs::write(tmp.path().join("2.ndjson"), named_points(&second)).expect("write");
        let merged = shards(&tmp.path().join("*.ndjson").display().to_string()).expect("merge");
        let count = |name: &str| {
            merged
                .metrics
                .get(&format!("d{{name:{name}}}.count"))
                .map(|m| m.value)
        };
        assert_eq!(count("n0"), Some(5.0));
        assert_eq!(count("n100"), Some(2.0));
        assert_eq!(count("n299"), None, "shard 1 left n299's samples out");
        assert_eq!(count("own"), None, "shard 1 may have had samples of it");
        assert_eq!(merged.metrics["d.count"].value, (600 + 30 + 4 + 5) as f64);
        let subs = merged
            .metrics
            .keys()
            .filter(|k| k.starts_with("d{") && k.ends_with(".count"));
        assert!(subs.count() <= 256);
        let detail = merged.reports[0].detail.as_deref().unwrap_or_default();
        assert!(detail.contains("not broken out"), "{detail}");
    }
}
