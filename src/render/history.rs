//! The baseline history summarised for `perfgate baseline show`, as text or JSON.
//!
//! The one rule it keeps: only budgeted metrics are shown, in the budget's unit.

use std::fmt::Write as _;

use serde::Serialize;

use super::escape::plain;
use super::format::{format_value, round, table};
use crate::baseline::BaselineFile;
use crate::budget::Budget;
use crate::model::{median, Unit};

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
                // A noise that overflows (values near f64::MAX) is no number: "-", as JSON's null.
                h.cv.filter(|cv| cv.is_finite())
                    .map_or("-".to_string(), |cv| format!("{} %", round(cv * 100.0))),
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
