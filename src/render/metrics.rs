//! The `perfgate metrics` listing, as text or JSON (README, "Commands").
//!
//! The one rule it keeps: the JSON carries its schema id [`METRICS_LIST_SCHEMA`].

use anyhow::Result;
use serde::Serialize;

use super::escape::terminal;
use super::format::significant;

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
            "{}: {}{}, {} metric{}\n",
            t(&r.path.display().to_string()),
            r.format,
            r.detail
                .as_deref()
                .map(|d| format!(" ({})", t(d)))
                .unwrap_or_default(),
            r.metrics.len(),
            if r.metrics.len() == 1 { "" } else { "s" }
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
            // Six significant digits: enough to set a threshold by, without a float's last-bit noise.
            let value = significant(m.value, 6, 9);
            s.push_str(&format!("  {:<width$}  {value}{unit}\n", t(name)));
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
