//! The template API: [`Context`], [`Row`] and [`BaselineRow`], what `comment.md.j2` (or a
//! `--template`) sees, built by [`context`] with ready-made texts and charts.
//!
//! The one rule it keeps: fields are added, never renamed; a comparison reaches the template as the
//! JSON verdict has it.

use serde::Serialize;

use super::escape::sanitize;
use super::format::{format_value_as, round, significant};
use super::json_out::{counts, Counts, SourceInfo};
use super::template::marker;
use super::text::{by_severity, kind, summary, waiver_line};
use crate::budget::Threshold;
use crate::judge::{
    AgainstSource, BaselineSource, BaselineVerdict, CreepVerdict, MetricVerdict, Status, Verdict,
    Waived, Warning,
};
use crate::stats::{Call, Method};

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
    /// Whether any metric has several runs' values (`samples_text`), so a column of them says
    /// something.
    pub has_samples: bool,
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
    /// The texts of the table's cells keep a number with its unit and a sign with its number on
    /// one line: they are joined by a no-break space (U+00A0), not a space.
    pub value_text: String,
    /// "< 200 ms", or "—" without a target.
    pub target_text: String,
    pub critical_text: String,
    /// The runs' values ("201 ms, 212 ms, 230 ms"), or empty for a single run.
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
    /// The call in plain words, for a regressed or inconclusive metric: "38.1 % slower than
    /// usual, beyond the 10 % slack; p < 0.001"; null otherwise.
    pub decision_text: Option<String>,
    /// A mermaid `xychart-beta` of the history, this run and the regression threshold (and the
    /// target where it falls in the chart's range), for regressed, inconclusive and creeping
    /// metrics.
    pub chart: Option<String>,
    /// What `chart`'s colours mean, with this run's, the threshold's and the target's values:
    /// "blue line: the baseline runs, then this run; violet line: this run, 107 ms; red line: the
    /// regression threshold, 84.9 ms".
    pub chart_legend: Option<String>,
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

/// A no-break space: a table cell may wrap between words, never inside "62.1 ms" or "▲ 9.1 %".
const NBSP: &str = "\u{a0}";

/// A cell's text that no browser breaks: its spaces made no-break spaces.
fn nowrap(s: &str) -> String {
    s.replace(' ', NBSP)
}

/// The change shown beside a baseline verdict: the values' change, and where the change the test
/// judged reads otherwise (the runs' means, not the medians), that one too, labelled: the number
/// that decided the call is always on the row.
pub(super) fn verdict_change_text(b: Option<&BaselineVerdict>) -> String {
    match change_parts(b) {
        (shown, Some(tested)) => format!("{shown} (tested {tested})"),
        (shown, None) => shown,
    }
}

/// [`verdict_change_text`] for a table cell: each change on one line, the two free to wrap apart.
fn change_cell(b: Option<&BaselineVerdict>) -> String {
    match change_parts(b) {
        (shown, Some(tested)) => format!("{} (tested{NBSP}{})", nowrap(&shown), nowrap(&tested)),
        (shown, None) => nowrap(&shown),
    }
}

/// The values' change, and the tested change where it reads otherwise.
fn change_parts(b: Option<&BaselineVerdict>) -> (String, Option<String>) {
    let shown = change_text(b.and_then(|b| b.change));
    let tested = b
        .and_then(|b| b.tested_change)
        .map(|t| change_text(Some(t)))
        .filter(|tested| *tested != shown);
    (shown, tested)
}

/// "▲ 9.1 %" for a rise, "▼ 3.0 %" for a fall, "0 %" for less than 0.05 %: one decimal is as
/// much as a reviewer reads, and more would suggest a precision the noise does not have.
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

/// The word for "worse" in the metric's terms: a duration is slower, a size larger, a score lower.
fn worse_word(m: &MetricVerdict) -> &'static str {
    match (m.lower_is_better(), m.unit) {
        (false, _) => "lower",
        (true, crate::model::Unit::Ms) => "slower",
        (true, crate::model::Unit::Bytes) => "larger",
        (true, _) => "higher",
    }
}

/// The call of a regressed or inconclusive metric in plain words, the decision first:
/// "38.1 % slower than usual, beyond the 10 % slack; p < 0.001".
fn decision_text(m: &MetricVerdict, b: &BaselineVerdict) -> Option<String> {
    let inconclusive = b.call == Call::Inconclusive;
    if !b.regression && !inconclusive {
        return None;
    }
    let how_much = match b.change {
        Some(c) => format!(
            "{} {} than {}",
            percent(c.abs()),
            worse_word(m),
            if b.pairs.is_some() {
                "the base"
            } else {
                "usual"
            }
        ),
        // Against a history of 0 there is no relative change: the two values say it.
        None => format!(
            "{} against a usual {}",
            value_text(m, m.value),
            value_text(m, b.value)
        ),
    };
    let p = match b.p_value {
        Some(p) if p < 0.001 => "p < 0.001".to_string(),
        Some(p) => format!("p = {}", round(p)),
        None => "too little history to test the noise".to_string(),
    };
    let slack = percent(b.slack);
    Some(if inconclusive {
        format!("{how_much}, beyond the {slack} slack, but the noise could explain it; {p}")
    } else {
        format!("{how_much}, beyond the {slack} slack; {p}")
    })
}

/// The chart's colours, in the order of its series: the history's line, this run's, the
/// regression threshold's, the target's. Each has a contrast of at least 3:1 (WCAG's for graphics)
/// on GitHub's light (#ffffff) and dark (#0d1117) backgrounds: 4.63 and 4.08, 5.05 and 3.75,
/// 4.61 and 4.11, 4.55 and 4.16. The chart's own background is transparent, so the lines are drawn
/// on the page's (mermaid's dark theme would put them on #333333, where none reaches 3:1).
const CHART_PALETTE: &str = "#1f6feb, #8250df, #da3633, #6e7781";

/// The colours' names for the legend, in [`CHART_PALETTE`]'s order.
const CHART_COLOURS: [&str; 4] = ["blue", "violet", "red", "grey"];

/// A number as mermaid's xychart grammar reads it: digits and a decimal point, no exponent.
fn chart_number(v: f64) -> String {
    let s = significant(v, 6, 9);
    if s.contains('e') {
        // Rust writes a float's every digit in full, never with an exponent.
        let full = format!("{v}");
        full.parse::<f64>().map_or(s, |_| full)
    } else {
        s
    }
}

/// The x-axis labels: each history run's short commit, which a reviewer can look up ("which merge
/// made it slower"), then "now". Commits are shortened as git does, to 7 digits or as many as
/// tell them apart; a run that recorded no commit is counted back from now ("-3"), and a commit
/// measured again is numbered ("bc540f6 (2)"): mermaid merges equal labels.
fn chart_labels(b: &BaselineVerdict) -> Vec<String> {
    let n = b.history.len();
    // The base's runs of the same job are numbered in pair order.
    if b.pairs.is_some() {
        return (1..=n)
            .map(|i| format!("base {i}"))
            .chain(std::iter::once("head".to_string()))
            .collect();
    }
    let commits: Vec<Option<&str>> = (0..n)
        .map(|i| b.history_commits.get(i).and_then(|c| c.as_deref()))
        .collect();
    let distinct: std::collections::BTreeSet<&str> = commits.iter().flatten().copied().collect();
    let short = |c: &str, len: usize| c.get(..len).unwrap_or(c).to_string();
    let len = (7..=64)
        .find(|len| {
            let prefixes: std::collections::BTreeSet<String> =
                distinct.iter().map(|c| short(c, *len)).collect();
            prefixes.len() == distinct.len()
        })
        .unwrap_or(64);
    let mut seen: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    commits
        .iter()
        .enumerate()
        .map(|(i, commit)| match commit {
            Some(commit) => {
                let times = seen.entry(commit).or_default();
                *times += 1;
                if *times == 1 {
                    short(commit, len)
                } else {
                    format!("{} ({times})", short(commit, len))
                }
            }
            None => format!("-{}", n - i),
        })
        .chain(std::iter::once("now".to_string()))
        .collect()
}

/// The value beyond which the metric regressed: the history's middle plus the slack, in the
/// metric's worse direction.
fn threshold(m: &MetricVerdict, b: &BaselineVerdict) -> f64 {
    let margin = b.value.abs() * b.slack;
    if m.lower_is_better() {
        b.value + margin
    } else {
        b.value - margin
    }
}

/// The y-axis range: every value drawn, with a tenth of their span on either side, on round
/// steps; never below 0 for values that are not. None for values too far apart for a float to
/// measure the span, which no chart can show.
fn chart_range(values: &[f64]) -> Option<(f64, f64)> {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = hi - lo;
    let pad = if span > 0.0 {
        span / 10.0
    } else if hi != 0.0 {
        hi.abs() / 10.0
    } else {
        1.0
    };
    let step = 10f64.powf(((span + 2.0 * pad) / 5.0).log10().floor());
    let floor = ((lo - pad) / step).floor() * step;
    let floor = if lo >= 0.0 { floor.max(0.0) } else { floor };
    let ceiling = ((hi + pad) / step).ceil() * step;
    (floor.is_finite() && ceiling.is_finite() && floor < ceiling).then_some((floor, ceiling))
}

/// A mermaid xychart of what the gate compared: the history and this run as a line, and as flat
/// lines this run's value, the regression threshold and, where it falls in the chart's range, the
/// target; with its legend. (A bar for this run would need one for every run: mermaid draws a bar
/// at the axis' floor with a height, and no series can leave a run out.) The chart widens with the
/// runs so that their commits do not overlap. Mermaid takes no escapes inside its quoted title, so
/// the label keeps only characters that cannot end the string or the block (and a label left with
/// none has no title: `title ""` does not parse).
fn chart(m: &MetricVerdict, b: &BaselineVerdict) -> Option<(String, String)> {
    let title: String = sanitize(&m.label)
        .chars()
        .filter(|c| {
            c.is_alphanumeric()
                || matches!(c, ' ' | '.' | '-' | '_' | '%' | '(' | ')' | '/' | ':' | ',')
        })
        .collect();
    let unit = m.unit.symbol();
    let limit = threshold(m, b);
    let mut drawn: Vec<f64> = b.history.clone();
    drawn.extend([m.value, limit]);
    let (lo, hi) = chart_range(&drawn)?;
    let target = m.target.as_ref().filter(|t| (lo..=hi).contains(&t.value));
    let n = b.history.len() + 1;
    let xs: Vec<String> = chart_labels(b).iter().map(|l| format!("\"{l}\"")).collect();
    let flat = |v: f64| format!("line [{}]", vec![chart_number(v); n].join(", "));
    let history: Vec<String> = b
        .history
        .iter()
        .chain(std::iter::once(&m.value))
        .map(|v| chart_number(*v))
        .collect();
    let mut series = vec![
        format!("line [{}]", history.join(", ")),
        flat(m.value),
        flat(limit),
    ];
    let mut legend = format!(
        "{} line: the baseline runs, then this run; {} line: this run, {}; {} line: the regression threshold, {}",
        CHART_COLOURS[0],
        CHART_COLOURS[1],
        value_text(m, m.value),
        CHART_COLOURS[2],
        value_text(m, limit)
    );
    if let Some(t) = target {
        series.push(flat(t.value));
        legend.push_str(&format!(
            "; {} line: the target, {}",
            CHART_COLOURS[3],
            limit_text(m, &m.target, "")
        ));
    }
    let title = if title.trim().is_empty() {
        String::new()
    } else {
        format!("\n    title \"{title}\"")
    };
    // 56 px a label, at 12 px a 7-digit commit with room either side; 700 px, mermaid's default,
    // at least.
    let width = (56 * n + 80).max(700);
    let chart = format!(
        "```mermaid\n%%{{init: {{\"xyChart\": {{\"width\": {width}, \"xAxis\": {{\"labelFontSize\": 12}}}}, \
         \"themeVariables\": {{\"xyChart\": {{\"backgroundColor\": \"transparent\", \
         \"plotColorPalette\": \"{CHART_PALETTE}\"}}}}}}}}%%\n\
         xychart-beta{title}\n    x-axis [{}]\n    y-axis \"{unit}\" {} --> {}\n    {}\n```",
        xs.join(", "),
        chart_number(lo),
        chart_number(hi),
        series.join("\n    ")
    );
    Some((chart, legend))
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

/// The runs' values of a metric measured several times, each on one line; empty for one run.
fn samples_text(m: &MetricVerdict) -> String {
    if m.runs > 1 {
        m.samples
            .iter()
            .map(|s| nowrap(&value_text(m, *s)))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        String::new()
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
            value_text: nowrap(&value_text(m, m.value)),
            target_text: nowrap(&limit_text(m, &m.target, "—")),
            critical_text: nowrap(&limit_text(m, &m.critical, "—")),
            samples_text: samples_text(m),
            runs: m.runs,
            line: m.line,
            status_text: kind(m),
            status_icon: icon(kind(m)),
            baseline_text: m
                .baseline
                .as_ref()
                .map_or("—".to_string(), |b| nowrap(&value_text(m, b.value))),
            change_text: change_cell(m.baseline.as_ref()),
            baseline: m.baseline.as_ref().map(|b| {
                let (chart, chart_legend) =
                    (b.regression || b.call == Call::Inconclusive || m.creep.is_some())
                        .then(|| chart(m, b))
                        .flatten()
                        .unzip();
                BaselineRow {
                    comparison: b,
                    method_text: method_text(b),
                    noise_text: noise_text(b),
                    decision_text: decision_text(m, b),
                    chart,
                    chart_legend,
                }
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
        has_samples: v.metrics.iter().any(|m| !samples_text(m).is_empty()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Threshold;
    use crate::model::{Op, Unit};
    use crate::stats::Call;

    fn limit(op: Op, value: f64, unit: Unit) -> Threshold {
        Threshold {
            op,
            value,
            unit,
            text: String::new(),
            written_unit: unit.symbol().to_string(),
        }
    }

    fn metric(value: f64, history: Vec<f64>, commits: Vec<Option<String>>) -> MetricVerdict {
        let middle = crate::model::median(&history).unwrap_or(1.0);
        MetricVerdict {
            id: "api.p95".into(),
            rule: "api.p95".into(),
            page: None,
            label: "API P95".into(),
            unit: Unit::Ms,
            value,
            samples: Vec::new(),
            runs: 1,
            target: Some(limit(Op::Lt, 200.0, Unit::Ms)),
            critical: Some(limit(Op::Lt, 300.0, Unit::Ms)),
            budget_status: Status::Pass,
            status: Status::Fail,
            baseline: Some(BaselineVerdict {
                value: middle,
                change: Some(value / middle - 1.0),
                tested_change: None,
                regression: true,
                significant: true,
                p_value: Some(0.0002),
                runs: history.len(),
                method: Method::PredictionInterval,
                call: Call::Regression,
                cv: Some(0.02),
                detectable: Some(0.05),
                runs_needed: None,
                slack: 0.1,
                history,
                history_commits: commits,
                pairs: None,
                left_out: 0,
                environment: Vec::new(),
            }),
            creep: None,
            waiver: None,
            line: 3,
        }
    }

    fn sha(c: char) -> Option<String> {
        Some(c.to_string().repeat(40))
    }

    #[test]
    fn the_x_axis_names_each_run_by_its_commit_numbering_a_commit_measured_again() {
        let m = metric(
            185.0,
            vec![110.0, 113.0, 112.0, 114.0],
            vec![sha('a'), None, sha('a'), sha('b')],
        );
        let b = m.baseline.as_ref().expect("baseline");
        assert_eq!(
            chart_labels(b),
            ["aaaaaaa", "-3", "aaaaaaa (2)", "bbbbbbb", "now"]
        );
        // A verdict written before the commits were recorded: every run counted back from now.
        let m = metric(185.0, vec![110.0, 113.0], Vec::new());
        assert_eq!(
            chart_labels(m.baseline.as_ref().expect("baseline")),
            ["-2", "-1", "now"]
        );
        // Two commits alike in their first 7 digits are told apart as git tells them apart.
        let twin = |tail: &str| Some(format!("{}{tail}", "c".repeat(38)));
        let m = metric(185.0, vec![110.0, 113.0], vec![twin("01"), twin("02")]);
        assert_eq!(
            chart_labels(m.baseline.as_ref().expect("baseline")),
            [
                format!("{}01", "c".repeat(38)),
                format!("{}02", "c".repeat(38)),
                "now".into()
            ]
        );
        let m = metric(
            185.0,
            vec![110.0, 113.0],
            vec![
                Some(format!("abcdef01{}", "0".repeat(32))),
                Some(format!("abcdef02{}", "0".repeat(32))),
            ],
        );
        assert_eq!(
            chart_labels(m.baseline.as_ref().expect("baseline")),
            ["abcdef01", "abcdef02", "now"]
        );
    }

    #[test]
    fn the_chart_shows_the_threshold_and_the_target_only_where_it_falls_in_range() {
        let m = metric(185.0, vec![110.0, 113.0, 116.0], Vec::new());
        let (chart, legend) = chart(&m, m.baseline.as_ref().expect("baseline")).expect("a chart");
        assert!(chart.contains("    y-axis \"ms\" 100 --> 200\n"), "{chart}");
        assert!(chart.contains("\"xyChart\": {\"width\": 700,"), "{chart}");
        assert!(chart.contains("    line [110, 113, 116, 185]\n"), "{chart}");
        assert!(chart.contains("    line [185, 185, 185, 185]\n"), "{chart}");
        assert!(
            chart.contains("    line [124.3, 124.3, 124.3, 124.3]\n"),
            "{chart}"
        );
        assert!(
            chart.contains("    line [200, 200, 200, 200]\n```"),
            "{chart}"
        );
        assert_eq!(
            legend,
            "blue line: the baseline runs, then this run; violet line: this run, 185 ms; red line: \
             the regression threshold, 124 ms; grey line: the target, < 200 ms"
        );

        // A target far above the values is left out rather than squashing them to a flat line.
        let m = metric(130.0, vec![110.0, 113.0, 116.0], Vec::new());
        let (chart, legend) =
            super::chart(&m, m.baseline.as_ref().expect("baseline")).expect("a chart");
        assert!(
            !chart.contains("200") && !legend.contains("target"),
            "{chart}"
        );
        assert_eq!(chart.matches("\n    line [").count(), 3, "{chart}");
    }

    #[test]
    fn a_chart_no_float_can_measure_or_title_is_left_out_or_untitled() {
        let m = metric(f64::MAX, vec![-f64::MAX, 0.0, 1.0], Vec::new());
        assert_eq!(chart(&m, m.baseline.as_ref().expect("baseline")), None);
        let mut m = metric(185.0, vec![110.0, 113.0, 116.0], Vec::new());
        m.label = "<<>>".into();
        let (chart, _) = chart(&m, m.baseline.as_ref().expect("baseline")).expect("a chart");
        assert!(chart.contains("xychart-beta\n    x-axis ["), "{chart}");
    }

    #[test]
    fn a_higher_is_better_metric_has_its_threshold_below_the_history() {
        let mut m = metric(70.0, vec![90.0, 92.0, 91.0], Vec::new());
        m.unit = Unit::None;
        m.label = "Score".into();
        m.target = Some(limit(Op::Gt, 90.0, Unit::None));
        m.critical = None;
        let b = m.baseline.as_ref().expect("baseline");
        assert_eq!(threshold_of(&m, b), 81.9);
        assert_eq!(
            decision_text(&m, b).as_deref(),
            Some("23.1 % lower than usual, beyond the 10 % slack; p < 0.001")
        );
    }

    fn threshold_of(m: &MetricVerdict, b: &BaselineVerdict) -> f64 {
        (super::threshold(m, b) * 1e6).round() / 1e6
    }

    #[test]
    fn the_decision_comes_in_plain_words_for_regressions_and_inconclusive_calls_only() {
        let mut m = metric(185.0, vec![110.0, 113.0, 116.0], Vec::new());
        let b = m.baseline.clone().expect("baseline");
        assert_eq!(
            decision_text(&m, &b).as_deref(),
            Some("63.7 % slower than usual, beyond the 10 % slack; p < 0.001")
        );
        let inconclusive = BaselineVerdict {
            regression: false,
            significant: false,
            call: Call::Inconclusive,
            p_value: Some(0.13),
            ..b.clone()
        };
        assert_eq!(
            decision_text(&m, &inconclusive).as_deref(),
            Some("63.7 % slower than usual, beyond the 10 % slack, but the noise could explain it; p = 0.13")
        );
        let too_little = BaselineVerdict {
            method: Method::TooLittleHistory,
            call: Call::ThresholdOnly,
            p_value: None,
            ..b.clone()
        };
        assert_eq!(
            decision_text(&m, &too_little).as_deref(),
            Some("63.7 % slower than usual, beyond the 10 % slack; too little history to test the noise")
        );
        let unchanged = BaselineVerdict {
            regression: false,
            call: Call::NoChange,
            ..b.clone()
        };
        assert_eq!(decision_text(&m, &unchanged), None);
        m.unit = Unit::Bytes;
        assert!(decision_text(&m, &b).is_some_and(|d| d.starts_with("63.7 % larger than usual")));
        // Against a history of 0 no relative change exists: the values are said instead.
        let from_zero = BaselineVerdict {
            value: 0.0,
            change: None,
            ..b
        };
        assert!(decision_text(&m, &from_zero)
            .is_some_and(|d| d.starts_with("185 B against a usual 0 B, beyond")));
    }

    #[test]
    fn chart_numbers_never_take_an_exponent_which_mermaid_does_not_read() {
        assert_eq!(chart_number(0.000_012_34), "0.00001234");
        assert_eq!(chart_number(2.5e17), "250000000000000000");
        assert_eq!(chart_number(124.611_111), "124.611");
        assert_eq!(chart_number(-3.0), "-3");
    }

    #[test]
    fn cells_keep_numbers_with_units_and_signs_with_numbers() {
        let m = metric(185.0, vec![110.0, 113.0, 116.0], Vec::new());
        let mut b = m.baseline.clone().expect("baseline");
        b.tested_change = Some(0.5);
        assert_eq!(
            change_cell(Some(&b)),
            "▲\u{a0}63.7\u{a0}% (tested\u{a0}▲\u{a0}50.0\u{a0}%)"
        );
        assert_eq!(verdict_change_text(Some(&b)), "▲ 63.7 % (tested ▲ 50.0 %)");
    }
}
