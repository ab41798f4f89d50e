//! `perfgate metrics`: lists every metric the reports yield, the names a budget can use.

use std::process::ExitCode;

use anyhow::Result;

use super::emit;
use crate::cli::MetricsArgs;
use crate::ingest;
use crate::json;
use crate::render;

/// The widest name column of `metrics`: longer names (a report's, whatever their length) overflow
/// it rather than push every value off the screen.
const MAX_NAME_COLUMN: usize = 60;

/// Runs `metrics`.
pub(crate) fn run(args: MetricsArgs) -> Result<ExitCode> {
    let mut reports = Vec::with_capacity(args.files.len());
    for path in &args.files {
        reports.push(ingest::load_file(path, args.format, args.lenient)?);
    }
    let out = if args.json {
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
        let mut s = json::to_string_pretty(&serde_json::json!({ "files": files }))?;
        s.push('\n');
        s
    } else {
        // Names, details and reasons come from the reports: shown through render::terminal.
        let t = render::terminal;
        let mut s = String::new();
        for r in &reports {
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
    };
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
