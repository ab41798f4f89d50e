//! Workflow-command annotations of a verdict: which metrics and warnings become `::error` /
//! `::warning` lines, the worst first, pointing at the budget's lines.
//!
//! The one rule it keeps: it decides what to annotate; [`crate::workflow`] owns the syntax and the escaping.

use std::fmt::Write as _;

use super::context::{limit_text, method_text, value_text, verdict_change_text};
use super::escape::plain;
use super::text::{by_severity, kind};
use crate::budget::Threshold;
use crate::judge::{Status, Verdict};
use crate::workflow::{Annotation, Level};

/// Workflow-command annotations for the metrics that failed, warned or regressed, the worst first,
/// each pointing at its rule's line in `budget_file`, then one per verdict warning (a stale
/// baseline, a vanished page), pointing at the budget file.
pub fn annotations(v: &Verdict, budget_file: &str) -> Vec<Annotation> {
    by_severity(v)
        .into_iter()
        .filter(|m| m.status != Status::Pass || matches!(kind(m), "regression" | "waived"))
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
                ("waived", _) => plain(&super::text::waiver_line(m).unwrap_or_default()),
                ("regression" | "inconclusive", Some(b)) => format!(
                    "{} is {now}, {} {} from the baseline {} ({})",
                    plain(&m.label),
                    if b.regression {
                        "a regression of"
                    } else {
                        "worse by"
                    },
                    verdict_change_text(Some(b))
                        .replace("▲ ", "+")
                        .replace("▼ ", "-"),
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
                level: match m.status {
                    Status::Fail => Level::Error,
                    Status::Warn => Level::Warning,
                    Status::Pass => Level::Notice,
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
