//! Render: a [`Verdict`] as text for a terminal, markdown for the pull request, or JSON (SPEC §5).
//!
//! The one rule: what users depend on has its own types. [`JsonVerdict`] is the JSON contract and
//! [`Context`] is the template API; both are built here from the verdict and change only by adding
//! fields. Templates run with strict undefined, and every report- or budget-controlled text is made
//! inert by the `md` filter before it reaches markdown.

use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::budget::Threshold;
use crate::judge::{MetricVerdict, Status, Verdict};
use crate::model::{Op, Unit};

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
}

/// The JSON verdict (`schema: perfgate/verdict@1`, SPEC §5). Fields may be added, never renamed.
#[derive(Debug, Serialize)]
pub struct JsonVerdict<'a> {
    pub schema: &'static str,
    pub gate: &'a str,
    pub verdict: Status,
    pub counts: Counts,
    pub metrics: Vec<JsonMetric<'a>>,
    pub sources: &'a [SourceInfo],
}

/// How many metrics have each status.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub total: usize,
}

/// One metric in the JSON verdict.
#[derive(Debug, Serialize)]
pub struct JsonMetric<'a> {
    pub id: &'a str,
    pub label: &'a str,
    /// `ms`, `B`, `%`, `/s` or `""`.
    pub unit: &'static str,
    /// In `unit`.
    pub value: f64,
    pub target: Option<JsonLimit>,
    pub critical: Option<JsonLimit>,
    pub status: Status,
    /// Always null until baselines are compared.
    pub baseline: Option<()>,
    /// Each run's value where the source had several runs.
    #[serde(skip_serializing_if = "<[f64]>::is_empty")]
    pub samples: &'a [f64],
    /// The rule's line in the budget file.
    pub line: usize,
}

/// A threshold in the JSON verdict, in the metric's unit.
#[derive(Debug, Serialize)]
pub struct JsonLimit {
    pub op: Op,
    pub value: f64,
}

fn counts(v: &Verdict) -> Counts {
    Counts {
        pass: v.count(Status::Pass),
        warn: v.count(Status::Warn),
        fail: v.count(Status::Fail),
        total: v.metrics.len(),
    }
}

/// The verdict as pretty JSON, newline-terminated.
pub fn to_json(v: &Verdict, sources: &[SourceInfo]) -> String {
    let limit = |t: &Option<Threshold>| {
        t.as_ref().map(|t| JsonLimit {
            op: t.op,
            value: t.value,
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
                label: &m.label,
                unit: m.unit.symbol(),
                value: m.value,
                target: limit(&m.target),
                critical: limit(&m.critical),
                status: m.status,
                baseline: None,
                samples: &m.samples,
                line: m.line,
            })
            .collect(),
        sources,
    };
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        // Serializing plain structs of numbers and strings cannot fail; keep the output valid JSON anyway.
        format!(
            "{{\"schema\":\"perfgate/verdict@1\",\"error\":{:?}}}",
            e.to_string()
        )
    });
    out.push('\n');
    out
}

/// The template API: what `comment.md.j2` (or a `--template`) sees. Fields may be added, never renamed.
#[derive(Debug, Serialize)]
pub struct Context<'a> {
    /// The hidden marker that finds this gate's comment again: `<!-- perfgate:gate=<name> -->`.
    pub marker: String,
    pub gate: &'a str,
    /// `pass`, `warn` or `fail`.
    pub verdict: Status,
    /// "1 failed, 2 warnings, 5 passed".
    pub summary: String,
    pub counts: Counts,
    /// Failures first, then warnings, then passes; budget order within each.
    pub metrics: Vec<Row<'a>>,
    pub sources: &'a [SourceInfo],
    /// False until baselines are compared.
    pub has_baseline: bool,
    /// Status name → emoji, for templates.
    pub icon: std::collections::BTreeMap<&'static str, &'static str>,
    /// perfgate's version.
    pub version: &'static str,
}

/// One metric as the template sees it: raw values plus ready-made texts.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub id: &'a str,
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
}

/// The one-line summary: "1 failed, 2 warnings, 5 passed".
pub fn summary(v: &Verdict) -> String {
    let c = counts(v);
    let mut parts = Vec::new();
    if c.fail > 0 {
        parts.push(format!("{} failed", c.fail));
    }
    if c.warn > 0 {
        parts.push(format!(
            "{} warning{}",
            c.warn,
            if c.warn == 1 { "" } else { "s" }
        ));
    }
    parts.push(format!("{} passed", c.pass));
    parts.join(", ")
}

/// Metrics ordered for reading: failures first, then warnings, then passes.
fn by_severity(v: &Verdict) -> Vec<&MetricVerdict> {
    let mut ms: Vec<&MetricVerdict> = v.metrics.iter().collect();
    ms.sort_by_key(|m| std::cmp::Reverse(m.status));
    ms
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
            label: &m.label,
            status: m.status,
            value: m.value,
            unit: m.unit.symbol(),
            value_text: value_text(m, m.value),
            target_text: limit_text(m, &m.target, "—"),
            critical_text: limit_text(m, &m.critical, "—"),
            samples_text: if m.samples.len() > 1 {
                m.samples
                    .iter()
                    .map(|s| value_text(m, *s))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                "—".to_string()
            },
            runs: m.samples.len().max(1),
            line: m.line,
        })
        .collect();
    Context {
        marker: marker(&v.gate),
        gate: &v.gate,
        verdict: v.verdict,
        summary: summary(v),
        counts: counts(v),
        metrics,
        sources,
        has_baseline: false,
        icon: [("pass", "✅"), ("warn", "⚠️"), ("fail", "❌")]
            .into_iter()
            .collect(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// The hidden marker of a gate's comment. Gate names are restricted to `[A-Za-z0-9._-]` by the
/// budget, so a name cannot close the HTML comment.
pub fn marker(gate: &str) -> String {
    format!("<!-- perfgate:gate={gate} -->")
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
    let rows: Vec<[String; 5]> = by_severity(v)
        .into_iter()
        .map(|m| {
            [
                m.status.name().to_string(),
                plain(&m.label),
                value_text(m, m.value),
                limit_text(m, &m.target, "-"),
                limit_text(m, &m.critical, "-"),
            ]
        })
        .collect();
    let header = ["status", "metric", "value", "target", "critical"].map(String::from);
    let mut widths = [0usize; 5];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!(
        "perfgate {}: {} ({})\n\n",
        plain(&v.gate),
        v.verdict.name().to_uppercase(),
        summary(v)
    );
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::from(" ");
        for (i, (w, cell)) in widths.iter().zip(r).enumerate() {
            let pad = w - cell.chars().count();
            // Numbers read best right-aligned.
            if i == 2 {
                let _ = write!(line, " {}{cell}", " ".repeat(pad));
            } else {
                let _ = write!(line, " {cell}{}", " ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    for s in sources {
        let _ = writeln!(
            out,
            "  {}: {}{}, {} run{}: {}",
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
        .filter(|c| {
            !c.is_control()
                && !matches!(c,
                    '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
                    | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        })
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
/// punctuation become entities, `@` cannot mention and `#` cannot link an issue.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in sanitize(s).chars() {
        match c {
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

#[cfg(test)]
mod tests {
    use super::*;

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
