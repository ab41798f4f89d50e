//! OpenMetrics text of a verdict (`check --format openmetrics`, README "Output"): GitLab's
//! `metrics` report, and what a Prometheus can read.
//!
//! The one rule it keeps: values are in base units (seconds, bytes, ratios, per second), as
//! Prometheus names them, and every label value is escaped as the OpenMetrics text format says
//! (`\\`, `\"`, `\n`), so no name from a report or a budget can break a line or a family.
//!
//! Each family is written whole, in this order, and the text ends with `# EOF`:
//! `perfgate_metric_value`, `_target`, `_critical`, `_baseline` (the history's median) and
//! `_status` (0 pass, 1 warn, 2 fail) per metric row; `perfgate_verdict` (same scale) per gate;
//! `perfgate_metrics` per status and `perfgate_regressions`. Every family is a gauge: the counts
//! are of one verdict, and a later verdict may count fewer, which a Prometheus counter must not.

use std::fmt::Write as _;

use super::escape::plain;
use crate::budget::{Budget, RuleInput};
use crate::judge::{MetricVerdict, Status, Verdict};
use crate::model::Unit;

/// The `gate` label's value as [`to_openmetrics`] writes it (before escaping): a Pushgateway's
/// grouping key must repeat it exactly, or the push is refused.
pub fn gate_label(gate: &str) -> String {
    plain(gate)
}

/// The verdict as OpenMetrics text, ending in `# EOF`; `budget` names each rule's source.
pub fn to_openmetrics(v: &Verdict, budget: &Budget) -> String {
    let gate = escape(&plain(&v.gate));
    let labels = |m: &MetricVerdict| {
        let source = budget
            .rules
            .iter()
            .find(|r| r.id == m.rule)
            .and_then(|r| match &r.input {
                RuleInput::Source { source, .. } => Some(source.as_str()),
                RuleInput::Derived(_) => None,
            });
        let mut s = format!(
            r#"gate="{gate}",rule="{}",id="{}",label="{}""#,
            escape(&plain(&m.rule)),
            escape(&plain(&m.id)),
            escape(&plain(&m.label)),
        );
        if let Some(source) = source {
            let _ = write!(s, r#",source="{}""#, escape(&plain(source)));
        }
        let unit = base_unit(m.unit).0;
        if !unit.is_empty() {
            let _ = write!(s, r#",unit="{unit}""#);
        }
        s
    };
    let mut out = String::new();
    let mut family = |name: &str, help: &str, rows: Vec<(String, f64)>| {
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(out, "# TYPE {name} gauge\n# HELP {name} {help}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {}", number(value));
        }
    };
    let per_metric = |value: &dyn Fn(&MetricVerdict) -> Option<f64>| -> Vec<(String, f64)> {
        v.metrics
            .iter()
            .filter_map(|m| Some((labels(m), base(m.unit, value(m)?))))
            .collect()
    };
    family(
        "perfgate_metric_value",
        "The metric's value, in base units (seconds, bytes, ratios, per second).",
        per_metric(&|m| Some(m.value)),
    );
    family(
        "perfgate_metric_target",
        "The budget's target threshold, in the value's units.",
        per_metric(&|m| m.target.as_ref().map(|t| t.value)),
    );
    family(
        "perfgate_metric_critical",
        "The budget's critical threshold, in the value's units.",
        per_metric(&|m| m.critical.as_ref().map(|t| t.value)),
    );
    family(
        "perfgate_metric_baseline",
        "The baseline history's median, in the value's units.",
        per_metric(&|m| m.baseline.as_ref().map(|b| b.value)),
    );
    let status = |s: Status| match s {
        Status::Pass => 0.0,
        Status::Warn => 1.0,
        Status::Fail => 2.0,
    };
    family(
        "perfgate_metric_status",
        "The metric's status: 0 pass, 1 warn, 2 fail.",
        v.metrics
            .iter()
            .map(|m| (labels(m), status(m.status)))
            .collect(),
    );
    family(
        "perfgate_metric_waived",
        "1 when a waiver accepted the metric's regression against the baseline, else 0.",
        v.metrics
            .iter()
            .map(|m| (labels(m), f64::from(u8::from(m.waiver.is_some()))))
            .collect(),
    );
    family(
        "perfgate_verdict",
        "The gate's verdict: 0 pass, 1 warn, 2 fail.",
        vec![(format!(r#"gate="{gate}""#), status(v.verdict))],
    );
    family(
        "perfgate_metrics",
        "Metrics judged in this verdict, by status.",
        [Status::Pass, Status::Warn, Status::Fail]
            .into_iter()
            .map(|s| {
                (
                    format!(r#"gate="{gate}",status="{}""#, s.name()),
                    v.count(s) as f64,
                )
            })
            .collect(),
    );
    family(
        "perfgate_regressions",
        "Metrics in this verdict that regressed against the baseline.",
        vec![(format!(r#"gate="{gate}""#), v.regressions() as f64)],
    );
    family(
        "perfgate_waived",
        "Metrics in this verdict whose regression a waiver accepted.",
        vec![(format!(r#"gate="{gate}""#), v.waived() as f64)],
    );
    out.push_str("# EOF\n");
    out
}

/// The base unit's name for the `unit` label (none for a plain number) and how many canonical
/// units make one: dividing, not multiplying by 0.001, keeps 115.6 ms at 0.1156 s exactly.
fn base_unit(unit: Unit) -> (&'static str, f64) {
    match unit {
        Unit::Ms => ("seconds", 1000.0),
        Unit::Bytes => ("bytes", 1.0),
        Unit::Percent => ("ratio", 100.0),
        Unit::PerSecond => ("per_second", 1.0),
        Unit::None => ("", 1.0),
    }
}

/// A value in `unit`'s canonical scale, in its base unit.
fn base(unit: Unit, value: f64) -> f64 {
    value / base_unit(unit).1
}

/// A number as OpenMetrics writes it: Rust's shortest round-trip form, `NaN`, `+Inf`, `-Inf`.
fn number(value: f64) -> String {
    match value {
        v if v.is_nan() => "NaN".to_string(),
        v if v == f64::INFINITY => "+Inf".to_string(),
        v if v == f64::NEG_INFINITY => "-Inf".to_string(),
        v => format!("{v}"),
    }
}

/// A label value escaped as the OpenMetrics text format requires.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{base, escape, number};
    use crate::model::Unit;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape("a\\b\"c\nd"), r#"a\\b\"c\nd"#);
    }

    #[test]
    fn values_are_in_base_units() {
        assert_eq!(number(base(Unit::Ms, 115.6)), "0.1156");
        assert_eq!(number(base(Unit::Percent, 2.0)), "0.02");
        assert_eq!(number(base(Unit::Bytes, 1024.0)), "1024");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }
}
