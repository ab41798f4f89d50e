//! The verdict for a terminal: [`to_text`], and the one-line [`summary`] the comment also shows.
//!
//! The one rule it keeps: metrics read worst first, and every text from a report is sanitized.

use std::fmt::Write as _;

use super::context::{limit_text, source_text, value_text, verdict_change_text};
use super::escape::plain;
use super::format::table;
use super::json_out::SourceInfo;
use crate::judge::{MetricVerdict, Status, Verdict};
use crate::stats::Call;

/// How a metric reads in the summary and the status column.
pub(super) fn kind(m: &MetricVerdict) -> &'static str {
    match &m.baseline {
        Some(b) if b.regression && m.waiver.is_none() => "regression",
        _ if m.budget_status == Status::Fail => "fail",
        _ if m.budget_status == Status::Warn => "warn",
        _ if m.waiver.is_some() => "waived",
        Some(b) if b.call == Call::Inconclusive => "inconclusive",
        _ => "pass",
    }
}

/// A waived metric in one line: "API P95: ▲ 35.2 % waived by budget line 40 (a change up to
/// +40 %, until 2026-12-31): <reason>"; `None` for a metric not waived. Texts as written, for
/// the caller to escape.
pub(super) fn waiver_line(m: &MetricVerdict) -> Option<String> {
    let w = m.waiver.as_ref()?;
    let until = w
        .expires
        .as_ref()
        .map(|e| format!(", until {e}"))
        .unwrap_or_default();
    Some(format!(
        "{}: {} waived by {} ({}{until}): {}",
        m.label,
        verdict_change_text(m.baseline.as_ref()),
        w.by,
        w.accepts,
        w.reason
    ))
}

/// The one-line summary: "2 regressions, 1 failed, 1 budget warning, 14 passed".
pub fn summary(v: &Verdict) -> String {
    let n = |k: &str| v.metrics.iter().filter(|m| kind(m) == k).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    let (regressions, failed, warned, inconclusive, waived) = (
        n("regression"),
        n("fail"),
        n("warn"),
        n("inconclusive"),
        n("waived"),
    );
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
    if waived > 0 {
        parts.push(format!("{waived} waived"));
    }
    parts.push(format!("{} passed", n("pass")));
    if !v.warnings.is_empty() {
        parts.push(plural(v.warnings.len(), "gate warning", "gate warnings"));
    }
    parts.join(", ")
}

/// Metrics ordered for reading: regressions first, then failures, warnings, inconclusive, passes.
pub(super) fn by_severity(v: &Verdict) -> Vec<&MetricVerdict> {
    let rank = |m: &MetricVerdict| match kind(m) {
        "regression" => 0,
        "fail" => 1,
        "warn" => 2,
        "inconclusive" => 3,
        "waived" => 4,
        _ => 5,
    };
    let mut ms: Vec<&MetricVerdict> = v.metrics.iter().collect();
    ms.sort_by_key(|m| rank(m));
    ms
}

/// The verdict as a plain-text table for a terminal.
pub fn to_text(v: &Verdict, sources: &[SourceInfo]) -> String {
    let with_baseline = v.baseline_runs > 0 || !v.against.is_empty();
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
                row.push(verdict_change_text(m.baseline.as_ref()).replace('—', "-"));
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
    out.push_str(&match (v.baseline_runs, v.against.is_empty()) {
        (0, true) => "no baseline yet: judged against the budget only\n\n".to_string(),
        (0, false) => String::new(),
        (n, _) => format!(
            "compared with {n} baseline run{}\n\n",
            if n == 1 { "" } else { "s" }
        ),
    });
    if !v.against.is_empty() {
        // Under the baseline's line, before its blank line.
        if out.ends_with("\n\n") {
            out.pop();
        }
        let bases: Vec<String> = v
            .against
            .iter()
            .map(|a| {
                format!(
                    "{}: {} run{} of {}",
                    plain(&a.source),
                    a.runs,
                    if a.runs == 1 { "" } else { "s" },
                    plain(&a.path)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "compared pair by pair with the base's runs of the same job ({})\n",
            bases.join("; ")
        );
    }
    if let Some(history) = v.baseline_source.as_ref().and_then(source_text) {
        // Under the line above, before its blank line.
        out.pop();
        let _ = writeln!(out, "history of {}\n", plain(&history));
    }
    for w in &v.warnings {
        let _ = writeln!(out, "warning: {}", plain(&w.message));
    }
    let waived: Vec<String> = v.metrics.iter().filter_map(waiver_line).collect();
    for line in &waived {
        let _ = writeln!(out, "waived: {}", plain(line));
    }
    if !v.warnings.is_empty() || !waived.is_empty() {
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
