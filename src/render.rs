//! Render: a [`Verdict`] as text for a terminal, markdown for the pull request, or JSON (README, "Output").
//!
//! The one rule: what users depend on has its own types. [`JsonVerdict`] is the JSON contract and
//! [`Context`] is the template API; both are built here from the verdict and change only by adding
//! fields. [`parse_verdict`] reads the JSON back (for `perfgate comment`) into a verdict, trusting
//! none of it: every field is validated, and its text goes through the same escaping. Templates run with strict undefined, and every report- or budget-controlled text is made
//! inert by the `md` filter before it reaches markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{bail, Context as _, Result};
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::baseline::BaselineFile;
use crate::budget::{units_agree, Budget, Threshold};
use crate::judge::{
    overall, BaselineVerdict, MetricVerdict, Status, Verdict, Warning, WarningKind,
};
use crate::model::{is_plain_name, median, Op, Unit};
use crate::stats::{Call, Method};
use crate::workflow::{Annotation, Level};

mod fit;

pub use fit::{fit_body, TRUNCATION_NOTE};

/// The hidden marker that leads a gate's comment, by which a CI provider finds the comment again to
/// update it. Owned here, with the template that writes it and the shrinker that keeps it. Gate
/// names are restricted to `[A-Za-z0-9._-]` by the budget and by the JSON verdict's reader, so a
/// name cannot close the HTML comment.
pub fn marker(gate: &str) -> String {
    format!("<!-- perfgate:gate={gate} -->")
}

/// The default comment template, embedded so the binary needs no files at run time.
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/comment.md.j2");

/// Where a source's metrics came from, for the details of a report.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub name: String,
    /// The format name (`artillery`, `lighthouse`, ...).
    pub format: String,
    /// The tool version hint the reader found, if any.
    pub detail: Option<String>,
    /// The files read (or the URL queried), as given.
    pub files: Vec<String>,
    pub runs: usize,
    /// The pages the runs measured (`/checkout`, `/checkout (desktop)`), where the reports say.
    pub pages: Vec<String>,
    /// Values the reader left out because they failed validation (one audit, one custom metric):
    /// metric name → why, naming the field. Empty for most reports.
    pub dropped: BTreeMap<String, String>,
}

/// The JSON verdict (`schema: perfgate/verdict@1`, README "Output"). Fields may be added, never renamed.
#[derive(Debug, Serialize)]
pub struct JsonVerdict<'a> {
    pub schema: &'static str,
    pub gate: &'a str,
    pub verdict: Status,
    pub counts: Counts,
    pub metrics: Vec<JsonMetric<'a>>,
    pub sources: &'a [SourceInfo],
    /// Runs in the baseline file compared with; 0 without one.
    pub baseline_runs: usize,
    /// The pull request `check` judged, when it ran on one; null otherwise.
    pub github: Option<&'a GithubRun>,
    /// What the gate saw that no metric shows (a stale baseline, a page gone from the run); each
    /// makes the verdict at least `warn`.
    pub warnings: &'a [Warning],
}

/// The pull request a verdict was judged for, recorded in the JSON verdict so that
/// `perfgate comment` can post it from another workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubRun {
    /// `owner/name`.
    pub repository: String,
    /// The event of the run: `pull_request`, `pull_request_target` or `workflow_run`.
    pub event: String,
    /// The pull request's number, when the event named one.
    pub pr_number: Option<u64>,
    /// The commit judged: the pull request's head.
    pub head_sha: Option<String>,
    /// The pull request's base commit.
    pub base_sha: Option<String>,
}

/// How many metrics have each status, and how many regressed.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub regressions: usize,
    pub total: usize,
}

/// One metric in the JSON verdict.
#[derive(Debug, Serialize)]
pub struct JsonMetric<'a> {
    /// The metric judged: the rule's id, or `<rule>{<selector>}` for one page of several.
    pub id: &'a str,
    /// The budget rule's metric id.
    pub rule: &'a str,
    /// The page measured, where the source says (`/checkout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<&'a str>,
    pub label: &'a str,
    /// `ms`, `B`, `%`, `/s` or `""`.
    pub unit: &'static str,
    /// In `unit`.
    pub value: f64,
    pub target: Option<JsonLimit>,
    pub critical: Option<JsonLimit>,
    pub status: Status,
    /// The status from the thresholds alone (`status` also counts a regression).
    pub budget_status: Status,
    /// The comparison with the baseline history; null without one.
    pub baseline: Option<&'a BaselineVerdict>,
    /// Each run's value where the source had several runs.
    #[serde(skip_serializing_if = "<[f64]>::is_empty")]
    pub samples: &'a [f64],
    /// How many runs (report files) the value comes from.
    pub runs: usize,
    /// The rule's line in the budget file.
    pub line: usize,
}

/// A threshold in the JSON verdict.
#[derive(Debug, Serialize)]
pub struct JsonLimit {
    pub op: Op,
    /// In `unit`.
    pub value: f64,
    /// The threshold's canonical unit: the metric's, or `""` for a plain rate limit.
    pub unit: &'static str,
    /// The unit as the budget wrote it (`KiB`, `s`, `%`), which decides how sizes are shown.
    pub written_unit: String,
}

fn counts(v: &Verdict) -> Counts {
    Counts {
        pass: v.count(Status::Pass),
        warn: v.count(Status::Warn),
        fail: v.count(Status::Fail),
        regressions: v.regressions(),
        total: v.metrics.len(),
    }
}

/// The verdict as pretty JSON, newline-terminated; `github` records the pull request judged.
pub fn to_json(v: &Verdict, sources: &[SourceInfo], github: Option<&GithubRun>) -> String {
    let limit = |t: &Option<Threshold>| {
        t.as_ref().map(|t| JsonLimit {
            op: t.op,
            value: t.value,
            unit: t.unit.symbol(),
            written_unit: t.written_unit.clone(),
        })
    };
    let doc = JsonVerdict {
        schema: "perfgate/verdict@1",
        gate: &v.gate,
        verdict: v.verdict,
        counts: counts(v),
        metrics: v
            .metrics
            .iter()
            .map(|m| JsonMetric {
                id: &m.id,
                rule: &m.rule,
                page: m.page.as_deref(),
                label: &m.label,
                unit: m.unit.symbol(),
                value: m.value,
                target: limit(&m.target),
                critical: limit(&m.critical),
                status: m.status,
                budget_status: m.budget_status,
                baseline: m.baseline.as_ref(),
                samples: if m.runs > 1 { &m.samples } else { &[] },
                runs: m.runs,
                line: m.line,
            })
            .collect(),
        sources,
        baseline_runs: v.baseline_runs,
        github,
        warnings: &v.warnings,
    };
    let mut out = crate::json::to_string_pretty(&doc).unwrap_or_else(|e| {
        // Serializing plain structs of numbers and strings cannot fail; keep the output valid JSON anyway.
        format!(
            "{{\"schema\":\"perfgate/verdict@1\",\"error\":{:?}}}",
            e.to_string()
        )
    });
    out.push('\n');
    out
}

/// The schema name of the JSON verdict.
pub const VERDICT_SCHEMA: &str = "perfgate/verdict@1";

/// A JSON verdict read back: everything the comment template needs, rebuilt from the structured
/// fields only (the file may come from an untrusted job, so no text in it is ever posted as markdown).
#[derive(Debug, Clone)]
pub struct SavedVerdict {
    pub verdict: Verdict,
    pub sources: Vec<SourceInfo>,
    /// The pull request `check` ran on, when it recorded one.
    pub github: Option<GithubRun>,
}

// The wire shape of `to_json`'s output, read back; written alongside it above.
#[derive(Deserialize)]
struct WireSchema {
    schema: Option<String>,
}

#[derive(Deserialize)]
struct WireVerdict {
    gate: String,
    verdict: WireStatus,
    metrics: Vec<WireMetric>,
    sources: Vec<WireSource>,
    baseline_runs: usize,
    #[serde(default)]
    github: Option<GithubRun>,
    #[serde(default)]
    warnings: Vec<WireWarning>,
}

#[derive(Deserialize)]
struct WireWarning {
    kind: String,
    message: String,
}

#[derive(Deserialize)]
struct WireMetric {
    id: String,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    page: Option<String>,
    label: String,
    unit: Unit,
    value: f64,
    target: Option<WireLimit>,
    critical: Option<WireLimit>,
    status: WireStatus,
    budget_status: WireStatus,
    baseline: Option<BaselineVerdict>,
    #[serde(default)]
    samples: Vec<f64>,
    runs: usize,
    line: usize,
}

#[derive(Deserialize)]
struct WireLimit {
    op: Op,
    value: f64,
    unit: Unit,
    written_unit: String,
}

#[derive(Deserialize)]
struct WireSource {
    name: String,
    format: String,
    detail: Option<String>,
    files: Vec<String>,
    runs: usize,
    #[serde(default)]
    pages: Vec<String>,
    /// Added after the first verdicts were written: absent in those.
    #[serde(default)]
    dropped: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WireStatus {
    Pass,
    Warn,
    Fail,
}

impl From<WireStatus> for Status {
    fn from(s: WireStatus) -> Status {
        match s {
            WireStatus::Pass => Status::Pass,
            WireStatus::Warn => Status::Warn,
            WireStatus::Fail => Status::Fail,
        }
    }
}

/// A number of the verdict that must be finite.
fn finite(field: &str, v: f64) -> Result<f64> {
    if !v.is_finite() {
        bail!("field `{field}`: {v} is not a finite number");
    }
    Ok(v)
}

fn finite_all(field: &str, vs: &[f64]) -> Result<()> {
    for (i, v) in vs.iter().enumerate() {
        finite(&format!("{field}[{i}]"), *v)?;
    }
    Ok(())
}

/// A probability or a fraction that cannot be negative.
fn fraction(field: &str, v: Option<f64>, max: f64) -> Result<()> {
    match v {
        Some(v) if !(v.is_finite() && (0.0..=max).contains(&v)) => {
            bail!("field `{field}`: {v} is not between 0 and {max}")
        }
        _ => Ok(()),
    }
}

fn limit(field: &str, metric_unit: Unit, l: Option<WireLimit>) -> Result<Option<Threshold>> {
    let Some(l) = l else { return Ok(None) };
    finite(&format!("{field}.value"), l.value)?;
    if !units_agree(metric_unit, l.unit) {
        bail!(
            "field `{field}.unit`: `{}` does not fit the metric's unit `{}`",
            l.unit.symbol(),
            metric_unit.symbol()
        );
    }
    match Unit::parse_scaled(&l.written_unit) {
        Some((u, _)) if u == l.unit => {}
        _ => bail!(
            "field `{field}.written_unit`: {:?} is not a way to write `{}`",
            l.written_unit,
            l.unit.symbol()
        ),
    }
    Ok(Some(Threshold {
        op: l.op,
        value: l.value,
        unit: l.unit,
        text: format!("{} {}{}", l.op.symbol(), l.value, l.written_unit),
        written_unit: l.written_unit,
    }))
}

/// The numbers of a verdict's `baseline` object that serde's types do not constrain.
fn check_baseline(at: &str, b: &BaselineVerdict) -> Result<()> {
    finite(&format!("{at}.value"), b.value)?;
    if let Some(c) = b.change {
        finite(&format!("{at}.change"), c)?;
    }
    fraction(&format!("{at}.p_value"), b.p_value, 1.0)?;
    fraction(&format!("{at}.cv"), b.cv, f64::MAX)?;
    fraction(&format!("{at}.detectable"), b.detectable, f64::MAX)?;
    fraction(&format!("{at}.slack"), Some(b.slack), f64::MAX)?;
    finite_all(&format!("{at}.history"), &b.history)
}

/// A lowercase hex commit id (SHA-1 or SHA-256).
fn is_commit_sha(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn github_run(g: &GithubRun) -> Result<()> {
    match g.repository.split_once('/') {
        Some((owner, name)) if is_plain_name(owner) && is_plain_name(name) => {}
        _ => bail!(
            "field `github.repository`: {:?} is not `owner/name`",
            g.repository
        ),
    }
    if !matches!(
        g.event.as_str(),
        "pull_request" | "pull_request_target" | "workflow_run"
    ) {
        bail!(
            "field `github.event`: {:?} is not a pull-request event",
            g.event
        );
    }
    if g.pr_number == Some(0) {
        bail!("field `github.pr_number`: 0 is not a pull request number");
    }
    for (field, sha) in [("head_sha", &g.head_sha), ("base_sha", &g.base_sha)] {
        if let Some(sha) = sha {
            if !is_commit_sha(sha) {
                bail!("field `github.{field}`: {sha:?} is not a commit sha");
            }
        }
    }
    Ok(())
}

/// Reads a JSON verdict (`check --format json`) back, validating the schema and every field;
/// errors name the field. Free text (labels, ids, file names) is kept as data: the templates
/// escape it like any report's text.
pub fn parse_verdict(text: &str) -> Result<SavedVerdict> {
    let schema: WireSchema = crate::ingest::from_json(&mut text.as_bytes())?;
    match schema.schema.as_deref() {
        Some(VERDICT_SCHEMA) => {}
        Some(other) => bail!("field `schema`: {other:?} is not {VERDICT_SCHEMA:?}"),
        None => bail!("field `schema`: missing (expected {VERDICT_SCHEMA:?})"),
    }
    let wire: WireVerdict = crate::ingest::from_json(&mut text.as_bytes())?;
    if !is_plain_name(&wire.gate) {
        bail!(
            "field `gate`: {:?} is not a gate name (letters, digits, `-`, `_` or `.`)",
            wire.gate
        );
    }
    if let Some(g) = &wire.github {
        github_run(g)?;
    }
    let mut metrics = Vec::with_capacity(wire.metrics.len());
    for (i, m) in wire.metrics.into_iter().enumerate() {
        let at = format!("metrics[{i}]");
        finite(&format!("{at}.value"), m.value)?;
        finite_all(&format!("{at}.samples"), &m.samples)?;
        if m.line == 0 {
            bail!("field `{at}.line`: 0 is not a line of the budget");
        }
        if let Some(b) = &m.baseline {
            check_baseline(&format!("{at}.baseline"), b)?;
        }
        metrics.push(MetricVerdict {
            target: limit(&format!("{at}.target"), m.unit, m.target)?,
            critical: limit(&format!("{at}.critical"), m.unit, m.critical)?,
            rule: m.rule.unwrap_or_else(|| m.id.clone()),
            page: m.page,
            id: m.id,
            label: m.label,
            unit: m.unit,
            value: m.value,
            samples: m.samples,
            runs: m.runs,
            budget_status: m.budget_status.into(),
            status: m.status.into(),
            baseline: m.baseline,
            line: m.line,
        });
    }
    let mut warnings = Vec::with_capacity(wire.warnings.len());
    for (i, w) in wire.warnings.into_iter().enumerate() {
        let Some(kind) = WarningKind::from_name(&w.kind) else {
            bail!(
                "field `warnings[{i}].kind`: {:?} is not a warning perfgate gives",
                w.kind
            );
        };
        warnings.push(Warning {
            kind,
            message: w.message,
        });
    }
    let verdict: Status = wire.verdict.into();
    let worst = overall(metrics.iter().map(|m| m.status), &warnings);
    if verdict != worst {
        bail!(
            "field `verdict`: `{}` is not what its metrics and warnings give, `{}`",
            verdict.name(),
            worst.name()
        );
    }
    let mut sources = Vec::with_capacity(wire.sources.len());
    for (i, s) in wire.sources.into_iter().enumerate() {
        // The template prints the format name as it is: only a known name may pass.
        if crate::ingest::Format::from_name(&s.format).is_none() {
            bail!(
                "field `sources[{i}].format`: {:?} is not a format perfgate reads",
                s.format
            );
        }
        for (metric, why) in &s.dropped {
            if metric.trim().is_empty() {
                bail!("field `sources[{i}].dropped`: a metric name is empty");
            }
            if why.trim().is_empty() {
                bail!("field `sources[{i}].dropped[{metric:?}]`: the reason is empty");
            }
        }
        sources.push(SourceInfo {
            name: s.name,
            format: s.format,
            detail: s.detail,
            files: s.files,
            runs: s.runs,
            pages: s.pages,
            dropped: s.dropped,
        });
    }
    Ok(SavedVerdict {
        verdict: Verdict {
            gate: wire.gate,
            verdict,
            metrics,
            baseline_runs: wire.baseline_runs,
            warnings,
        },
        sources,
        github: wire.github,
    })
}

/// Workflow-command annotations for the metrics that failed, warned or regressed, the worst first,
/// each pointing at its rule's line in `budget_file`, then one per verdict warning (a stale
/// baseline, a vanished page), pointing at the budget file.
pub fn annotations(v: &Verdict, budget_file: &str) -> Vec<Annotation> {
    by_severity(v)
        .into_iter()
        .filter(|m| m.status != Status::Pass || kind(m) == "regression")
        .map(|m| {
            let now = value_text(m, m.value);
            // "critical < 300 ms breached (target < 200 ms)"
            let limits =
                |(word, first): (&str, &Option<Threshold>),
                 verb: &str,
                 (other_word, other): (&str, &Option<Threshold>)| {
                    let mut s = format!("{word} {} {verb}", limit_text(m, first, "-"));
                    if other.is_some() {
                        let _ = write!(s, " ({other_word} {})", limit_text(m, other, "-"));
                    }
                    s
                };
            let message = match (kind(m), &m.baseline) {
                ("regression" | "inconclusive", Some(b)) => format!(
                    "{} is {now}, {} {} from the baseline {} ({})",
                    plain(&m.label),
                    if b.regression {
                        "a regression of"
                    } else {
                        "worse by"
                    },
                    change_text(b.change).replace("▲ ", "+").replace("▼ ", "-"),
                    value_text(m, b.value),
                    if b.regression {
                        method_text(b)
                    } else {
                        format!("{}; the noise cannot tell", method_text(b))
                    }
                ),
                ("fail", _) => format!(
                    "{} is {now}: {}",
                    plain(&m.label),
                    limits(("critical", &m.critical), "breached", ("target", &m.target))
                ),
                _ => format!(
                    "{} is {now}: {}",
                    plain(&m.label),
                    limits(("target", &m.target), "missed", ("critical", &m.critical))
                ),
            };
            Annotation {
                level: if m.status == Status::Fail {
                    Level::Error
                } else {
                    Level::Warning
                },
                file: budget_file.to_string(),
                line: m.line,
                title: plain(&m.label),
                message,
            }
        })
        .chain(v.warnings.iter().map(|w| Annotation {
            level: Level::Warning,
            file: budget_file.to_string(),
            line: 0,
            title: w.kind.title().to_string(),
            message: plain(&w.message),
        }))
        .collect()
}

/// The template API: what `comment.md.j2` (or a `--template`) sees. Fields may be added, never renamed.
#[derive(Debug, Serialize)]
pub struct Context<'a> {
    /// The hidden marker that finds this gate's comment again: `<!-- perfgate:gate=<name> -->`.
    pub marker: String,
    pub gate: &'a str,
    /// `pass`, `warn` or `fail`.
    pub verdict: Status,
    /// "2 regressions, 1 failed, 1 budget warning, 14 passed".
    pub summary: String,
    pub counts: Counts,
    /// Regressions first, then failures, warnings, passes; budget order within each.
    pub metrics: Vec<Row<'a>>,
    /// What the gate saw that no metric shows: `kind` (`stale-baseline`, `missing-page`) and
    /// `message`.
    pub warnings: &'a [Warning],
    pub sources: &'a [SourceInfo],
    /// Whether a baseline file was compared with.
    pub has_baseline: bool,
    /// Runs in that baseline file.
    pub baseline_runs: usize,
    /// Whether any compared metric had fewer than 3 history runs, so the slack alone decided.
    pub threshold_only: bool,
    /// Status name → emoji, for templates.
    pub icon: std::collections::BTreeMap<&'static str, &'static str>,
    /// perfgate's version.
    pub version: &'static str,
}

/// One metric as the template sees it: raw values plus ready-made texts.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub id: &'a str,
    /// The budget rule's metric id (`id` without the page a rule on several pages was expanded to).
    pub rule: &'a str,
    /// The page measured, where the source says; null otherwise.
    pub page: Option<&'a str>,
    pub label: &'a str,
    pub status: Status,
    pub value: f64,
    pub unit: &'static str,
    /// The value with its unit, scaled for reading: "212 ms", "1.24 s", "412.3 KB", "0.52 %".
    pub value_text: String,
    /// "< 200 ms", or "—" without a target.
    pub target_text: String,
    pub critical_text: String,
    /// The runs' values ("201 ms, 212 ms, 230 ms"), or "—" for a single run.
    pub samples_text: String,
    pub runs: usize,
    /// The rule's line in the budget file.
    pub line: usize,
    /// "regression", "inconclusive", or the status name.
    pub status_text: &'static str,
    /// The icon for `status_text`.
    pub status_icon: &'static str,
    /// The history's central value ("110 ms"), or "—" without history.
    pub baseline_text: String,
    /// "▲ 9.1 %" / "▼ 3 %" / "0 %", or "—".
    pub change_text: String,
    /// The comparison itself, for templates that want more; null without history.
    pub baseline: Option<BaselineRow<'a>>,
}

/// What the template sees of a metric's comparison with its history: the comparison's own
/// fields, as the JSON verdict has them, and these texts.
#[derive(Debug, Serialize)]
pub struct BaselineRow<'a> {
    #[serde(flatten)]
    pub comparison: &'a BaselineVerdict,
    /// "the threshold alone decides: 2 baseline runs, 3 needed to test", "prediction interval,
    /// p = 0.003", ...
    pub method_text: String,
    /// "noise 4.1 %: changes from 9.8 % can be told from noise; 3 runs per build would show 10 %".
    pub noise_text: String,
    /// A mermaid `xychart-beta` of the history and the current value, for regressed metrics.
    pub chart: Option<String>,
}

/// How a metric reads in the summary and the status column.
fn kind(m: &MetricVerdict) -> &'static str {
    match &m.baseline {
        Some(b) if b.regression => "regression",
        _ if m.budget_status == Status::Fail => "fail",
        _ if m.budget_status == Status::Warn => "warn",
        Some(b) if b.call == Call::Inconclusive => "inconclusive",
        _ => "pass",
    }
}

/// The one-line summary: "2 regressions, 1 failed, 1 budget warning, 14 passed".
pub fn summary(v: &Verdict) -> String {
    let n = |k: &str| v.metrics.iter().filter(|m| kind(m) == k).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    let (regressions, failed, warned, inconclusive) =
        (n("regression"), n("fail"), n("warn"), n("inconclusive"));
    if regressions > 0 {
        parts.push(plural(regressions, "regression", "regressions"));
    }
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if warned > 0 {
        parts.push(plural(warned, "budget warning", "budget warnings"));
    }
    if inconclusive > 0 {
        parts.push(format!("{inconclusive} inconclusive"));
    }
    parts.push(format!("{} passed", n("pass")));
    if !v.warnings.is_empty() {
        parts.push(plural(v.warnings.len(), "gate warning", "gate warnings"));
    }
    parts.join(", ")
}

/// Metrics ordered for reading: regressions first, then failures, warnings, inconclusive, passes.
fn by_severity(v: &Verdict) -> Vec<&MetricVerdict> {
    let rank = |m: &MetricVerdict| match kind(m) {
        "regression" => 0,
        "fail" => 1,
        "warn" => 2,
        "inconclusive" => 3,
        _ => 4,
    };
    let mut ms: Vec<&MetricVerdict> = v.metrics.iter().collect();
    ms.sort_by_key(|m| rank(m));
    ms
}

fn icon(kind: &str) -> &'static str {
    match kind {
        "regression" => "📈",
        "fail" => "❌",
        "warn" | "inconclusive" => "⚠️",
        _ => "✅",
    }
}

/// "▲ 9.1 %" for a rise, "▼ 3.0 %" for a fall, "0 %" for less than 0.05 %: one decimal is as
/// much as a reviewer reads, and more would suggest a precision the noise does not have.
fn change_text(change: Option<f64>) -> String {
    match change {
        None => "—".to_string(),
        Some(c) if c * 100.0 >= 0.05 => format!("▲ {:.1} %", c * 100.0),
        Some(c) if c * 100.0 <= -0.05 => format!("▼ {:.1} %", -c * 100.0),
        Some(_) => "0 %".to_string(),
    }
}

/// A fraction as a percentage for prose: one decimal below 100 %, none above, "< 0.1 %" for less.
fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p.abs() < 0.05 && p != 0.0 {
        "< 0.1 %".to_string()
    } else if p.abs() >= 100.0 {
        format!("{p:.0} %")
    } else {
        format!("{} %", format!("{p:.1}").trim_end_matches(".0"))
    }
}

fn method_text(b: &BaselineVerdict) -> String {
    let p = match b.p_value {
        Some(p) if p < 0.001 => ", one-sided p < 0.001".to_string(),
        Some(p) => format!(", one-sided p = {}", round(p)),
        None => String::new(),
    };
    match b.method {
        Method::TooLittleHistory => format!(
            "the {} slack alone decides: {} baseline run{}, at least 3 are needed to test significance",
            percent(b.slack),
            b.runs,
            if b.runs == 1 { "" } else { "s" }
        ),
        Method::Deterministic => format!("no noise in {} baseline runs: any change is real{p}", b.runs),
        Method::PredictionInterval => format!("Student-t prediction interval over {} runs{p}", b.runs),
        Method::RunMeans => format!("Student-t on the samples' mean per run, between-build noise included, {} baseline runs{p}", b.runs),
        Method::HistogramQuantile => format!("quantile confidence intervals from the histograms, {} baseline runs{p}", b.runs),
    }
}

fn noise_text(b: &BaselineVerdict) -> String {
    let mut parts = Vec::new();
    if let Some(cv) = b.cv {
        parts.push(format!("noise (CV) {}", percent(cv)));
    }
    if let Some(d) = b.detectable {
        parts.push(format!(
            "changes from {} can be told from noise",
            percent(d)
        ));
    }
    match b.runs_needed {
        Some(n) if b.detectable.is_some_and(|d| d > b.slack) => parts.push(format!(
            "{n} samples per build would show {}",
            percent(b.slack)
        )),
        None if b.detectable.is_some_and(|d| d > b.slack) => parts.push(format!(
            "{} is inside the noise at any number of samples per build",
            percent(b.slack)
        )),
        _ => {}
    }
    parts.join("; ")
}

/// A mermaid xychart of the history and the current value. Mermaid takes no escapes inside its
/// quoted title, so the label keeps only characters that cannot end the string or the block.
fn chart(m: &MetricVerdict, b: &BaselineVerdict) -> String {
    let title: String = sanitize(&m.label)
        .chars()
        .filter(|c| {
            c.is_alphanumeric()
                || matches!(c, ' ' | '.' | '-' | '_' | '%' | '(' | ')' | '/' | ':' | ',')
        })
        .collect();
    let unit = m.unit.symbol();
    let n = b.history.len();
    let xs: Vec<String> = (0..n)
        .map(|i| format!("\"-{}\"", n - i))
        .chain(std::iter::once("\"now\"".to_string()))
        .collect();
    let ys: Vec<String> = b
        .history
        .iter()
        .chain(std::iter::once(&m.value))
        .map(|v| round(*v))
        .collect();
    format!(
        "```mermaid\nxychart-beta\n    title \"{title}\"\n    x-axis [{}]\n    y-axis \"{unit}\"\n    line [{}]\n```",
        xs.join(", "),
        ys.join(", ")
    )
}

/// Sizes are shown in KiB/MiB when the budget writes its thresholds that way, in KB/MB otherwise.
fn binary_sizes(m: &MetricVerdict) -> bool {
    [&m.target, &m.critical]
        .into_iter()
        .flatten()
        .any(|t| t.written_unit.ends_with("iB"))
}

/// A metric's value as the reader should see it.
fn value_text(m: &MetricVerdict, value: f64) -> String {
    format_value_as(value, m.unit, binary_sizes(m))
}

/// "< 200 ms", or `none` without a threshold.
fn limit_text(m: &MetricVerdict, t: &Option<Threshold>, none: &str) -> String {
    match t {
        Some(t) => format!(
            "{} {}",
            t.op.symbol(),
            format_value_as(t.value, t.unit, binary_sizes(m))
        ),
        None => none.to_string(),
    }
}

/// Builds the template context.
pub fn context<'a>(v: &'a Verdict, sources: &'a [SourceInfo]) -> Context<'a> {
    let metrics = by_severity(v)
        .into_iter()
        .map(|m| Row {
            id: &m.id,
            rule: &m.rule,
            page: m.page.as_deref(),
            label: &m.label,
            status: m.status,
            value: m.value,
            unit: m.unit.symbol(),
            value_text: value_text(m, m.value),
            target_text: limit_text(m, &m.target, "—"),
            critical_text: limit_text(m, &m.critical, "—"),
            samples_text: if m.runs > 1 {
                m.samples
                    .iter()
                    .map(|s| value_text(m, *s))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                "—".to_string()
            },
            runs: m.runs,
            line: m.line,
            status_text: kind(m),
            status_icon: icon(kind(m)),
            baseline_text: m
                .baseline
                .as_ref()
                .map_or("—".to_string(), |b| value_text(m, b.value)),
            change_text: change_text(m.baseline.as_ref().and_then(|b| b.change)),
            baseline: m.baseline.as_ref().map(|b| BaselineRow {
                comparison: b,
                method_text: method_text(b),
                noise_text: noise_text(b),
                chart: b.regression.then(|| chart(m, b)),
            }),
        })
        .collect();
    Context {
        marker: marker(&v.gate),
        gate: &v.gate,
        verdict: v.verdict,
        summary: summary(v),
        counts: counts(v),
        metrics,
        warnings: &v.warnings,
        sources,
        has_baseline: v.baseline_runs > 0,
        baseline_runs: v.baseline_runs,
        threshold_only: v.metrics.iter().any(|m| {
            m.baseline
                .as_ref()
                .is_some_and(|b| b.method == Method::TooLittleHistory)
        }),
        icon: [("pass", "✅"), ("warn", "⚠️"), ("fail", "❌")]
            .into_iter()
            .collect(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// A template environment with perfgate's filters, strict about undefined values.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.add_filter("md", |s: String| md(&s));
    env
}

/// A compiled comment template: parsed when loaded, so a bad template fails before any work.
pub struct Template {
    env: Environment<'static>,
}

impl Template {
    /// Compiles template text; `name` (a path) names it in errors.
    pub fn compile(name: &str, text: String) -> Result<Template> {
        let mut env = environment();
        env.add_template_owned("comment", text).map_err(|e| {
            anyhow::anyhow!("{name}: the template does not compile: {}", describe(&e))
        })?;
        Ok(Template { env })
    }

    /// The embedded default template.
    pub fn default_comment() -> Result<Template> {
        Template::compile("templates/comment.md.j2", DEFAULT_TEMPLATE.to_string())
    }

    /// Renders the markdown report.
    pub fn render(&self, v: &Verdict, sources: &[SourceInfo]) -> Result<String> {
        let tmpl = self
            .env
            .get_template("comment")
            .context("the comment template")?;
        tmpl.render(context(v, sources))
            .map_err(|e| anyhow::anyhow!("rendering the comment template: {}", describe(&e)))
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    if let Some(line) = e.line() {
        if !s.contains("line") {
            let _ = write!(s, " (line {line})");
        }
    }
    s
}

/// The verdict as a plain-text table for a terminal.
pub fn to_text(v: &Verdict, sources: &[SourceInfo]) -> String {
    let with_baseline = v.baseline_runs > 0;
    let rows: Vec<Vec<String>> = by_severity(v)
        .into_iter()
        .map(|m| {
            let mut row = vec![kind(m).to_string(), plain(&m.label), value_text(m, m.value)];
            if with_baseline {
                row.push(
                    m.baseline
                        .as_ref()
                        .map_or("-".to_string(), |b| value_text(m, b.value)),
                );
                row.push(change_text(m.baseline.as_ref().and_then(|b| b.change)).replace('—', "-"));
            }
            row.push(limit_text(m, &m.target, "-"));
            row.push(limit_text(m, &m.critical, "-"));
            row
        })
        .collect();
    let (header, right): (&[&str], &[usize]) = if with_baseline {
        (
            &[
                "status", "metric", "value", "baseline", "change", "target", "critical",
            ],
            &[2, 3, 4],
        )
    } else {
        (&["status", "metric", "value", "target", "critical"], &[2])
    };
    let mut out = format!(
        "perfgate {}: {} ({})\n",
        plain(&v.gate),
        v.verdict.name().to_uppercase(),
        summary(v)
    );
    out.push_str(&if with_baseline {
        format!(
            "compared with {} baseline run{}\n\n",
            v.baseline_runs,
            if v.baseline_runs == 1 { "" } else { "s" }
        )
    } else {
        "no baseline yet: judged against the budget only\n\n".to_string()
    });
    for w in &v.warnings {
        let _ = writeln!(out, "warning: {}", plain(&w.message));
    }
    if !v.warnings.is_empty() {
        out.push('\n');
    }
    out.push_str(&table(header, &rows, right));
    out.push('\n');
    for s in sources {
        let pages = if s.pages.len() > 1 {
            format!(
                ", {} pages ({})",
                s.pages.len(),
                s.pages
                    .iter()
                    .map(|p| plain(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {}: {}{}, {} run{}{pages}: {}",
            plain(&s.name),
            s.format,
            s.detail
                .as_deref()
                .map(|d| format!(" ({})", plain(d)))
                .unwrap_or_default(),
            s.runs,
            if s.runs == 1 { "" } else { "s" },
            s.files
                .iter()
                .map(|f| plain(f))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (metric, why) in &s.dropped {
            let _ = writeln!(out, "    dropped {}: {}", plain(metric), plain(why));
        }
    }
    out
}

/// One budgeted metric's baseline history, summarised (`perfgate baseline show`).
#[derive(Debug, Serialize)]
pub struct HistorySummary {
    pub id: String,
    pub label: String,
    /// `ms`, `B`, `%`, `/s` or `""`; runs in another unit are left out.
    pub unit: &'static str,
    /// Runs that recorded the metric.
    pub runs: usize,
    pub median: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Coefficient of variation of the runs' values (sample standard deviation / mean).
    pub cv: Option<f64>,
    /// The last five values, oldest first.
    pub last: Vec<f64>,
}

fn summarise(budget: &Budget, file: &BaselineFile) -> Vec<HistorySummary> {
    budget
        .rules
        .iter()
        .flat_map(|rule| {
            // The rule's own id, and one per page for a rule on several pages: `<id>{<page>}`.
            let prefix = format!("{}{{", rule.id);
            let pages: std::collections::BTreeSet<&str> = file
                .runs
                .iter()
                .flat_map(|r| r.metrics.keys())
                .filter_map(|id| id.strip_prefix(&prefix)?.strip_suffix('}'))
                .collect();
            let plain =
                pages.is_empty() || file.runs.iter().any(|r| r.metrics.contains_key(&rule.id));
            let mut ids: Vec<(String, String)> = Vec::new();
            if plain {
                ids.push((rule.id.clone(), rule.label.clone()));
            }
            ids.extend(pages.into_iter().map(|page| {
                (
                    format!("{}{{{page}}}", rule.id),
                    format!("{} ({})", rule.label, crate::judge::page_name(page)),
                )
            }));
            ids
        })
        .map(|(id, label)| {
            // The unit of the newest run that has the metric; older runs in another unit do not compare.
            let unit = file
                .runs
                .iter()
                .rev()
                .find_map(|r| r.metrics.get(&id))
                .map_or(Unit::None, |m| m.unit);
            let values: Vec<f64> = file.history(&id, unit).map(|m| m.value).collect();
            let min = values.iter().copied().reduce(f64::min);
            let max = values.iter().copied().reduce(f64::max);
            HistorySummary {
                id,
                label,
                unit: unit.symbol(),
                runs: values.len(),
                median: median(&values),
                min,
                max,
                cv: crate::stats::coefficient_of_variation(&values),
                last: values[values.len().saturating_sub(5)..].to_vec(),
            }
        })
        .collect()
}

/// `perfgate baseline show --format json`.
pub fn history_json(budget: &Budget, file: &BaselineFile) -> String {
    let doc = serde_json::json!({
        "schema": "perfgate/baseline-summary@1",
        "gate": file.gate,
        "runs": file.runs.len(),
        "first": file.runs.first().and_then(|r| r.time.clone()),
        "last": file.runs.last().and_then(|r| r.time.clone()),
        "metrics": summarise(budget, file),
    });
    let mut out = crate::json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

/// `perfgate baseline show`: one line per budgeted metric.
pub fn history_text(budget: &Budget, file: &BaselineFile, path: &std::path::Path) -> String {
    let mut out = format!(
        "{}: gate {}, {} run{}",
        path.display(),
        plain(&file.gate),
        file.runs.len(),
        if file.runs.len() == 1 { "" } else { "s" }
    );
    if let (Some(first), Some(last)) = (
        file.runs.first().and_then(|r| r.time.as_deref()),
        file.runs.last().and_then(|r| r.time.as_deref()),
    ) {
        let _ = write!(out, " from {} to {}", plain(first), plain(last));
    }
    if let Some(commit) = file.runs.last().and_then(|r| r.commit.as_deref()) {
        let _ = write!(
            out,
            ", last commit {}",
            plain(&commit.chars().take(12).collect::<String>())
        );
    }
    out.push_str("\n\n");
    let rows: Vec<Vec<String>> = summarise(budget, file)
        .iter()
        .map(|h| {
            let unit = Unit::parse_scaled(h.unit).map_or(Unit::None, |(u, _)| u);
            let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format_value(v, unit));
            vec![
                plain(&h.label),
                h.runs.to_string(),
                show(h.median),
                h.cv.map_or("-".to_string(), |cv| format!("{} %", round(cv * 100.0))),
                h.last
                    .iter()
                    .map(|v| format_value(*v, unit))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    out.push_str(&table(
        &["metric", "runs", "median", "cv", "last values"],
        &rows,
        &[1, 2, 3],
    ));
    out
}

/// An aligned plain-text table, indented by two spaces; `right` lists the columns of numbers,
/// which read best right-aligned.
fn table(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut widths = vec![0usize; header.len()];
    for r in std::iter::once(&header).chain(rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows) {
        let mut line = String::from(" ");
        for (i, (w, cell)) in widths.iter().zip(r).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            if right.contains(&i) {
                let _ = write!(line, " {pad}{cell}");
            } else {
                let _ = write!(line, " {cell}{pad}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A value with its unit, scaled and rounded for reading; sizes in SI units (KB = 1000 B), as the
/// budget's KB is.
pub fn format_value(value: f64, unit: Unit) -> String {
    format_value_as(value, unit, false)
}

/// As [`format_value`], with sizes in binary units (KiB = 1024 B) when `binary`.
pub fn format_value_as(value: f64, unit: Unit, binary: bool) -> String {
    const KIB: f64 = 1024.0;
    match unit {
        Unit::Bytes if binary && value.abs() >= KIB * KIB => {
            format!("{} MiB", round(value / (KIB * KIB)))
        }
        Unit::Bytes if binary && value.abs() >= KIB => format!("{} KiB", round(value / KIB)),
        Unit::Ms if value.abs() >= 1000.0 => format!("{} s", round(value / 1000.0)),
        Unit::Ms => format!("{} ms", round(value)),
        Unit::Bytes if value.abs() >= 1e6 => format!("{} MB", round(value / 1e6)),
        Unit::Bytes if value.abs() >= 1e3 => format!("{} KB", round(value / 1e3)),
        Unit::Bytes => format!("{} B", round(value)),
        Unit::Percent => format!("{} %", round(value)),
        Unit::PerSecond => format!("{} /s", round(value)),
        Unit::None => round(value),
    }
}

/// Three significant digits, at least the integer part, no trailing zeros.
fn round(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = v.abs().log10().floor() as i32 + 1;
    let decimals = (3 - digits).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Control, bidi and zero-width characters: a terminal acts on them (colours, OSC 8 links, a bell,
/// backspaces) or they reorder or hide the text around them.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Text of any length for a terminal (an error, a report's names): every `hidden` character but
/// newlines and tabs becomes U+FFFD `�`, so that two names differing only by one stay apart on
/// screen and nothing from a file or a server reaches the terminal as a command.
pub fn terminal(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c != '\n' && c != '\t' && hidden(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Longest text taken from a report or budget into a table cell.
const MAX_CELL_CHARS: usize = 200;

/// Strips control, bidi and zero-width characters and caps the length.
fn sanitize(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !hidden(*c))
        .collect();
    if cleaned.chars().count() > MAX_CELL_CHARS {
        let mut cut: String = cleaned.chars().take(MAX_CELL_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        cleaned
    }
}

/// Text for a terminal: sanitized, nothing escaped.
fn plain(s: &str) -> String {
    sanitize(s)
}

/// Text made inert for a markdown table cell on GitHub: HTML special characters and markdown
/// punctuation become entities, `@` cannot mention, `#` and `GH-` cannot link an issue (nor
/// `GHSA-` an advisory), and `https://` or `www.` cannot start a link. Each of these is broken by
/// one character written as an entity, which GitHub shows as the character itself; zero-width
/// characters would be invisible breaks, and `sanitize` drops them.
pub fn md(s: &str) -> String {
    let chars: Vec<char> = sanitize(s).chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let before = &chars[..i];
        match c {
            ':' if chars[i + 1..].starts_with(&['/', '/']) => out.push_str("&#58;"),
            '.' if ends_with_word(before, "www") => out.push_str("&#46;"),
            '-' if ends_with_word(before, "gh") || ends_with_word(before, "ghsa") => {
                out.push_str("&#45;")
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("&#124;"),
            '@' => out.push_str("&#64;"),
            '#' => out.push_str("&#35;"),
            '`' => out.push_str("&#96;"),
            '*' | '_' | '[' | ']' | '\\' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether `before` ends with `word` (ASCII, any case) standing as a word of its own: what GitHub
/// needs before it links `www.`, `GH-` or `GHSA-`.
fn ends_with_word(before: &[char], word: &str) -> bool {
    let n = word.len();
    before.len() >= n
        && before[before.len() - n..]
            .iter()
            .zip(word.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
        && before
            .len()
            .checked_sub(n + 1)
            .is_none_or(|j| !before[j].is_ascii_alphanumeric())
}

/// The widest name column of `metrics`: longer names (a report's, whatever their length) overflow
/// it rather than push every value off the screen.
const MAX_NAME_COLUMN: usize = 60;

/// The schema id of `perfgate metrics --json`.
pub const METRICS_LIST_SCHEMA: &str = "perfgate/metrics-list@1";

/// `perfgate metrics --json` (README, "Commands"). Fields may be added, never renamed.
pub fn metrics_json(reports: &[crate::ingest::Report]) -> Result<String> {
    /// The document, with the schema id first.
    #[derive(Serialize)]
    struct MetricsList {
        schema: &'static str,
        files: Vec<serde_json::Value>,
    }

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
                "no_data": r.no_data,
                "dropped": r.dropped,
            })
        })
        .collect();
    let mut s = crate::json::to_string_pretty(&MetricsList {
        schema: METRICS_LIST_SCHEMA,
        files,
    })?;
    s.push('\n');
    Ok(s)
}

/// `perfgate metrics`: each report's metrics, one per line, under a line naming the file.
pub fn metrics_text(reports: &[crate::ingest::Report]) -> String {
    // Names, details and reasons come from the reports: shown through [`terminal`].
    let t = terminal;
    let mut s = String::new();
    for r in reports {
        s.push_str(&format!(
            "{}: {}{}, {} metrics\n",
            t(&r.path.display().to_string()),
            r.format,
            r.detail
                .as_deref()
                .map(|d| format!(" ({})", t(d)))
                .unwrap_or_default(),
            r.metrics.len()
        ));
        let width = r
            .metrics
            .keys()
            .map(|k| k.chars().count())
            .max()
            .unwrap_or(0)
            .min(MAX_NAME_COLUMN);
        for (name, m) in &r.metrics {
            let unit = if m.unit.symbol().is_empty() {
                String::new()
            } else {
                format!(" {}", m.unit.symbol())
            };
            s.push_str(&format!("  {:<width$}  {}{unit}\n", t(name), m.value));
        }
        if !r.no_data.is_empty() {
            let names: Vec<String> = r.no_data.iter().map(|n| format!("`{}`", t(n))).collect();
            s.push_str(&format!("  no samples of {}\n", names.join(", ")));
        }
        for (name, why) in &r.dropped {
            s.push_str(&format!("  dropped {}: {}\n", t(name), t(why)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_values_show_in_every_output_and_survive_the_json_round_trip() {
        let v = Verdict {
            gate: "t".into(),
            verdict: Status::Pass,
            metrics: Vec::new(),
            baseline_runs: 0,
            warnings: Vec::new(),
        };
        let why = "field `audits.prioritize-lcp-image.numericValue`: -17 is negative, which this quantity cannot be";
        let sources = vec![SourceInfo {
            name: "web".into(),
            format: "lighthouse".into(),
            detail: Some("Lighthouse 12.8.2".into()),
            files: vec!["lhr.json".into()],
            runs: 1,
            pages: Vec::new(),
            dropped: BTreeMap::from([("audit.prioritize-lcp-image".into(), why.into())]),
        }];
        assert!(to_text(&v, &sources).contains(&format!(
            "\n    dropped audit.prioritize-lcp-image: {why}\n"
        )));
        let markdown = Template::default_comment()
            .and_then(|t| t.render(&v, &sources))
            .expect("renders");
        assert!(
            markdown.contains(
                "from lhr.json\n  - dropped audit.prioritize-lcp-image: field &#96;audits.prioritize-lcp-image.numericValue&#96;: -17 is negative"
            ),
            "{markdown}"
        );
        let json = to_json(&v, &sources, None);
        let saved = parse_verdict(&json).expect("reads back");
        assert_eq!(saved.sources[0].dropped, sources[0].dropped);

        let mut doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        // A verdict written before the field existed is still read.
        doc["sources"][0]
            .as_object_mut()
            .map(|s| s.remove("dropped"));
        let saved = parse_verdict(&doc.to_string()).expect("reads back");
        assert!(saved.sources[0].dropped.is_empty());
        doc["sources"][0]["dropped"] = serde_json::json!({"x": " "});
        let e = format!(
            "{:#}",
            parse_verdict(&doc.to_string()).expect_err("empty reason")
        );
        assert_eq!(e, "field `sources[0].dropped[\"x\"]`: the reason is empty");
        doc["sources"][0]["dropped"] = serde_json::json!({"x": 3});
        let e = format!(
            "{:#}",
            parse_verdict(&doc.to_string()).expect_err("not text")
        );
        assert!(e.contains("field `sources[0].dropped.x`"), "{e}");
    }

    #[test]
    fn warnings_and_pages_survive_the_json_round_trip_and_keep_the_verdict_honest() {
        let v = Verdict {
            gate: "web".into(),
            verdict: Status::Warn,
            metrics: Vec::new(),
            baseline_runs: 3,
            warnings: vec![Warning {
                kind: WarningKind::MissingPage,
                message:
                    "page `/cart` of `LCP` is in the baseline's newest run but not in this run"
                        .into(),
            }],
        };
        let sources = vec![SourceInfo {
            name: "web".into(),
            format: "lighthouse".into(),
            detail: None,
            files: vec!["a.json".into(), "b.json".into()],
            runs: 2,
            pages: vec!["/".into(), "/cart".into()],
            dropped: BTreeMap::new(),
        }];
        let json = to_json(&v, &sources, None);
        let saved = parse_verdict(&json).expect("reads back");
        assert_eq!(saved.verdict.warnings, v.warnings);
        assert_eq!(saved.verdict.verdict, Status::Warn);
        assert_eq!(saved.sources[0].pages, sources[0].pages);
        // A warning makes the verdict at least `warn`: a file saying `pass` is refused.
        let mut doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        doc["verdict"] = "pass".into();
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("pass"));
        assert!(e.starts_with("field `verdict`"), "{e}");
        doc["verdict"] = "warn".into();
        doc["warnings"][0]["kind"] = "gremlins".into();
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("kind"));
        assert!(e.starts_with("field `warnings[0].kind`"), "{e}");
        // Verdicts written before warnings existed are still read.
        doc.as_object_mut().map(|d| d.remove("warnings"));
        doc["verdict"] = "pass".into();
        assert!(parse_verdict(&doc.to_string())
            .expect("reads")
            .verdict
            .warnings
            .is_empty());
    }

    #[test]
    fn values_read_well() {
        assert_eq!(format_value(212.34, Unit::Ms), "212 ms");
        assert_eq!(format_value(12.345, Unit::Ms), "12.3 ms");
        assert_eq!(format_value(1234.0, Unit::Ms), "1.23 s");
        assert_eq!(format_value(412_345.0, Unit::Bytes), "412 KB");
        assert_eq!(format_value(1_200_000.0, Unit::Bytes), "1.2 MB");
        assert_eq!(format_value(0.5234, Unit::Percent), "0.523 %");
        assert_eq!(format_value(92.0, Unit::None), "92");
        assert_eq!(format_value(0.0123, Unit::None), "0.0123");
        assert_eq!(format_value(0.0, Unit::Ms), "0 ms");
        assert_eq!(format_value_as(41_577.0, Unit::Bytes, true), "40.6 KiB");
        assert_eq!(
            format_value_as(3.0 * 1024.0 * 1024.0, Unit::Bytes, true),
            "3 MiB"
        );
    }

    #[test]
    fn report_text_is_inert_in_markdown() {
        let evil = "</details><img src=x onerror=alert(1)> @org/team | #12 `x`\u{202E}\n";
        let safe = md(evil);
        assert_eq!(
            safe,
            "&lt;/details&gt;&lt;img src=x onerror=alert(1)&gt; &#64;org/team &#124; &#35;12 &#96;x&#96; "
        );
        assert!(!safe.contains('<') && !safe.contains('@') && !safe.contains('|'));
        let long = "a".repeat(500);
        assert_eq!(md(&long).chars().count(), MAX_CELL_CHARS);
    }

    #[test]
    fn references_and_bare_links_cannot_autolink_on_github() {
        assert_eq!(
            md("see GH-2, gh-3 and GHSA-x4h9-2m7q-9v5c"),
            "see GH&#45;2, gh&#45;3 and GHSA&#45;x4h9-2m7q-9v5c"
        );
        assert_eq!(
            md("https://evil.example/x ftp://a.b (www.evil.example) WWW.e.x"),
            "https&#58;//evil.example/x ftp&#58;//a.b (www&#46;evil.example) WWW&#46;e.x"
        );
        // Inside a word none of them links, and they stay as written.
        assert_eq!(
            md("sigh-2 high-load awww.x p95: 3 a:/b"),
            "sigh-2 high-load awww.x p95: 3 a:/b"
        );
    }

    #[test]
    fn a_template_sees_the_comparison_as_the_json_verdict_has_it() {
        let baseline = BaselineVerdict {
            value: 100.0,
            change: Some(0.25),
            regression: true,
            significant: true,
            p_value: Some(0.002),
            runs: 3,
            method: Method::PredictionInterval,
            call: Call::Regression,
            cv: Some(0.04),
            detectable: Some(0.12),
            runs_needed: None,
            slack: 0.1,
            history: vec![98.0, 100.0, 103.0],
        };
        let v = Verdict {
            gate: "t".into(),
            verdict: Status::Fail,
            metrics: vec![MetricVerdict {
                id: "api.p95".into(),
                rule: "api.p95".into(),
                page: None,
                label: "API P95".into(),
                unit: Unit::Ms,
                value: 125.0,
                samples: Vec::new(),
                runs: 1,
                target: None,
                critical: None,
                budget_status: Status::Pass,
                status: Status::Fail,
                baseline: Some(baseline),
                line: 1,
            }],
            baseline_runs: 3,
            warnings: Vec::new(),
        };
        let t = Template::compile(
            "t.j2",
            "{% for m in metrics %}{{ m.baseline.value }} {{ m.baseline.change }} {{ m.baseline.call }} \
             {{ m.baseline.cv }} {{ m.baseline.runs_needed is none }} {{ m.baseline.history | join(',') }} \
             {{ m.baseline.method_text }}{% endfor %}"
                .into(),
        )
        .expect("compiles");
        assert_eq!(
            t.render(&v, &[]).expect("renders"),
            "100.0 0.25 regression 0.04 True 98.0,100.0,103.0 \
             Student-t prediction interval over 3 runs, one-sided p = 0.002"
        );
    }

    #[test]
    fn a_bad_template_fails_at_load_with_its_line() {
        let e = Template::compile("t.j2", "line one\n{% for x in %}\n".into())
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("t.j2: the template does not compile")
                && e.to_string().contains("line 2"),
            "{e}"
        );
    }
}
