//! The template API: [`Context`], [`Row`] and [`BaselineRow`], what `comment.md.j2` (or a
//! `--template`) sees, built by [`context`] with ready-made texts and charts.
//!
//! The one rule it keeps: fields are added, never renamed; a comparison reaches the template as the
//! JSON verdict has it.

use serde::Serialize;

use super::escape::sanitize;
use super::format::{format_value_as, round};
use super::json_out::{counts, Counts, SourceInfo};
use super::template::marker;
use super::text::{by_severity, kind, summary, waiver_line};
use crate::budget::Threshold;
use crate::judge::{
    AgainstSource, BaselineSource, BaselineVerdict, CreepVerdict, MetricVerdict, Status, Verdict,
    Waived, Warning,
};
use crate::stats::Method;

/// Whose history a data branch's file is, for the reader: "main, the default branch
/// (release/1.x, the pull request's base, has none yet): git:perfgate-baselines:baselines/prod.json";
/// `None` for a file in the checkout, whose branch perfgate does not know.
pub(super) fn source_text(source: &BaselineSource) -> Option<String> {
    let branch = source.branch.as_deref()?;
    let whose = match (source.default_branch, source.fallback_from.as_deref()) {
        (Some(true), Some(base)) => {
            format!("{branch}, the default branch ({base}, the pull request's base, has none yet)")
        }
        (Some(true), None) => format!("{branch}, the default branch"),
        _ => branch.to_string(),
    };
    Some(format!("{whose}: {}", source.location))
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
    /// Whether a baseline file, or the base's runs of the same job (`check --against`), was
    /// compared with.
    pub has_baseline: bool,
    /// Runs in that baseline file.
    pub baseline_runs: usize,
    /// Whose history a data branch's file is and where (see `source_text`); none for a file
    /// in the checkout.
    pub history: Option<String>,
    /// Whether any compared metric had fewer than 3 history runs, so the slack alone decided.
    pub threshold_only: bool,
    /// The sources judged pair by pair against the base's runs of the same job (`check
    /// --against`): `source`, `path` and `runs`; empty otherwise.
    pub against: &'a [AgainstSource],
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
    /// The waiver that accepted the comparison's regression, as the JSON verdict has it; null
    /// when none did.
    pub waiver: Option<&'a Waived>,
    /// "API P95: ▲ 35.2 % waived by budget line 40 (a change up to +40 %, until 2026-12-31):
    /// the reason", or null; raw text, for `| md`.
    pub waiver_text: Option<String>,
    /// The history's creep, this run included, as the JSON verdict has it; null without one.
    pub creep: Option<CreepRow<'a>>,
}

/// What the template sees of a metric's creep: its fields, as the JSON verdict has them, and a
/// text.
#[derive(Debug, Serialize)]
pub struct CreepRow<'a> {
    #[serde(flatten)]
    pub creep: &'a CreepVerdict,
    /// "▲ 34.2 % from 113 ms (20 runs) to 152 ms over merges 1a2b3c4d5e6f, … and this run,
    /// one-sided p < 0.001; 10 % allowed".
    pub text: String,
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
    /// A mermaid `xychart-beta` of the history and the current value, for regressed or creeping
    /// metrics.
    pub chart: Option<String>,
}

fn icon(kind: &str) -> &'static str {
    match kind {
        "regression" => "📈",
        "fail" => "❌",
        "warn" | "inconclusive" => "⚠️",
        "waived" => "☑️",
        _ => "✅",
    }
}

/// "▲ 9.1 %" for a rise, "▼ 3.0 %" for a fall, "0 %" for less than 0.05 %: one decimal is as
/// much as a reviewer reads, and more would suggest a precision the noise does not have.
/// The change shown beside a baseline verdict: the values' change, and where the change the test
/// judged reads otherwise (the runs' means, not the medians), that one too, labelled: the number
/// that decided the call is always on the row.
pub(super) fn verdict_change_text(b: Option<&BaselineVerdict>) -> String {
    let shown = change_text(b.and_then(|b| b.change));
    match b
        .and_then(|b| b.tested_change)
        .map(|t| change_text(Some(t)))
    {
        Some(tested) if tested != shown => format!("{shown} (tested {tested})"),
        _ => shown,
    }
}

pub(super) fn change_text(change: Option<f64>) -> String {
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

pub(super) fn method_text(b: &BaselineVerdict) -> String {
    let p = match b.p_value {
        Some(p) if p < 0.001 => ", one-sided p < 0.001".to_string(),
        Some(p) => format!(", one-sided p = {}", round(p)),
        None => String::new(),
    };
    let n = b.runs;
    let s = if n == 1 { "" } else { "s" };
    let text = match (b.method, b.pairs) {
        (Method::TooLittleHistory, Some(_)) => format!(
            "the {} slack alone decides: {n} pair{s} of base and head runs, at least 3 are needed to test significance",
            percent(b.slack)
        ),
        (Method::TooLittleHistory, None) => format!(
            "the {} slack alone decides: {n} baseline run{s}, at least 3 are needed to test significance",
            percent(b.slack)
        ),
        (Method::Deterministic, Some(_)) => format!("no noise in the ratios of {n} pairs of base and head runs: any change is real{p}"),
        (Method::Deterministic, None) => format!("no noise in {n} baseline runs: any change is real{p}"),
        (Method::PredictionInterval, _) => format!("Student-t prediction interval over {n} runs{p}"),
        (Method::RunMeans, _) => format!("Student-t on the samples' mean per run, between-build noise included, {n} baseline runs{p}"),
        (Method::HistogramQuantile, _) => format!("quantile confidence intervals from the histograms, {n} baseline runs{p}"),
        (Method::PairedRuns, _) => format!("paired Student-t on {n} pairs of base and head runs of the same job{p}"),
    };
    // The differences come from reports and the CI: the JSON verdict has them, not this text.
    match b.left_out {
        0 => text,
        n => format!(
            "{text}, measured alike ({n} run{} measured in another environment left out)",
            if n == 1 { "" } else { "s" }
        ),
    }
}

fn creep_text(m: &MetricVerdict, c: &CreepVerdict) -> String {
    let p = if c.p_value < 0.001 {
        "one-sided p < 0.001".to_string()
    } else {
        format!("one-sided p = {}", round(c.p_value))
    };
    let merges: Vec<&str> = c
        .merges
        .iter()
        .map(|m| m.as_deref().unwrap_or("(no commit)"))
        .collect();
    format!(
        "{} from {} ({} run{}) to {} over merges {} and this run, {p}; {} allowed",
        change_text(c.change),
        value_text(m, c.before),
        c.runs_before,
        if c.runs_before == 1 { "" } else { "s" },
        value_text(m, c.after),
        merges.join(", "),
        percent(c.slack)
    )
}

fn noise_text(b: &BaselineVerdict) -> String {
    let mut parts = Vec::new();
    if let Some(t) = b.tested_change {
        parts.push(format!("the test measured {}", change_text(Some(t))));
    }
    if let Some(cv) = b.cv {
        parts.push(format!("noise (CV) {}", percent(cv)));
    }
    if let Some(d) = b.detectable {
        parts.push(format!(
            "changes from {} can be told from noise",
            percent(d)
        ));
    }
    // A comparison with the base's runs asks for more pairs; one with a history, for more
    // samples per build.
    let per = if b.pairs.is_some() {
        ("pairs of base and head runs", "pairs")
    } else {
        ("samples per build", "samples per build")
    };
    match b.runs_needed {
        Some(n) if b.detectable.is_some_and(|d| d > b.slack) => {
            parts.push(format!("{n} {} would show {}", per.0, percent(b.slack)))
        }
        None if b.detectable.is_some_and(|d| d > b.slack) => parts.push(format!(
            "{} is inside the noise at any number of {}",
            percent(b.slack),
            per.1
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
    // A history counts back from now; the base's runs of the same job are numbered in order.
    let xs: Vec<String> = (0..n)
        .map(|i| match b.pairs {
            Some(_) => format!("\"base {}\"", i + 1),
            None => format!("\"-{}\"", n - i),
        })
        .chain(std::iter::once(
            if b.pairs.is_some() {
                "\"head\""
            } else {
                "\"now\""
            }
            .to_string(),
        ))
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
pub(super) fn value_text(m: &MetricVerdict, value: f64) -> String {
    format_value_as(value, m.unit, binary_sizes(m))
}

/// "< 200 ms", or `none` without a threshold.
pub(super) fn limit_text(m: &MetricVerdict, t: &Option<Threshold>, none: &str) -> String {
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
            change_text: verdict_change_text(m.baseline.as_ref()),
            baseline: m.baseline.as_ref().map(|b| BaselineRow {
                comparison: b,
                method_text: method_text(b),
                noise_text: noise_text(b),
                chart: (b.regression || m.creep.is_some()).then(|| chart(m, b)),
            }),
            creep: m.creep.as_ref().map(|c| CreepRow {
                creep: c,
                text: creep_text(m, c),
            }),
            waiver: m.waiver.as_ref(),
            waiver_text: waiver_line(m),
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
        has_baseline: v.baseline_runs > 0 || !v.against.is_empty(),
        baseline_runs: v.baseline_runs,
        history: v.baseline_source.as_ref().and_then(source_text),
        against: &v.against,
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
