//! size-limit `--json` output: one size (and the time plugin's estimates) per configured check.
//!
//! The one rule: a size is reported as size-limit measured it, after the compression its check
//! configures (brotli by default since size-limit 11, gzip before, per check `gzip`/`brotli`); the
//! output does not say which, so the names say `.size`, never `.gzip` or `.brotli`.
//!
//! Metrics per check: `<name>.size` and `<name>.limit` (bytes; the limit only when the check has
//! one), `<name>.running` and `<name>.loading` (the time plugin's seconds, stored in ms), and
//! `total.size`, the sum of every check's size.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use super::bundle::{add_bytes, de_opt_bytes};
use super::{from_json, non_negative_scaled, Parsed};
use crate::model::{Measurement, Metrics};

/// One check as size-limit 12.1.0 prints it (`create-reporter.js`); `passed` and `sizeLimit` are
/// absent for a check without a limit.
#[derive(Debug, Deserialize)]
struct SizeLimitCheck {
    name: String,
    #[serde(default, deserialize_with = "de_opt_bytes")]
    size: Option<u64>,
    #[serde(rename = "sizeLimit", default, deserialize_with = "de_opt_bytes")]
    size_limit: Option<u64>,
    /// Seconds (@size-limit/time).
    running: Option<f64>,
    /// Seconds (@size-limit/time).
    loading: Option<f64>,
}

/// Reads size-limit's `--json` output (an array of checks, or `{"error": "..."}`).
pub(crate) fn parse(text: &str) -> Result<Parsed> {
    let value: Value = from_json(text)?;
    if let Some(error) = value.as_object().and_then(|o| o.get("error")) {
        let message = error
            .as_str()
            .map_or_else(|| error.to_string(), str::to_string);
        let first = message.lines().next().unwrap_or("").trim();
        bail!("size-limit failed instead of measuring: {first}");
    }
    let checks: Vec<SizeLimitCheck> = from_json(text)?;
    if checks.is_empty() {
        bail!("no checks: the array is empty, so there is nothing to measure");
    }
    let mut metrics = Metrics::new();
    let mut names = BTreeSet::new();
    let mut total = None;
    for (i, check) in checks.iter().enumerate() {
        let name = &check.name;
        if !names.insert(name.as_str()) {
            bail!("field `[{i}].name`: two checks are named `{name}`; name each check in the size-limit config");
        }
        if let Some(size) = check.size {
            // @size-limit/file reports a path that matches no file as size 0 and `passed: true`
            // (size-limit 12.1.0, exit code 1); a compressed file is never 0 bytes.
            if size == 0 {
                bail!(
                    "field `[{i}].size`: check `{name}` measured 0 bytes, which is what size-limit \
                     reports when its path matches no file; fix the path in the size-limit config"
                );
            }
            metrics.insert(format!("{name}.size"), Measurement::bytes(size as f64));
            total = Some(
                add_bytes(total.unwrap_or(0), size)
                    .with_context(|| format!("field `[{i}].size`: `total.size`"))?,
            );
        }
        if let Some(limit) = check.size_limit {
            metrics.insert(format!("{name}.limit"), Measurement::bytes(limit as f64));
        }
        for (field, seconds) in [("running", check.running), ("loading", check.loading)] {
            if let Some(s) = seconds {
                let ms = non_negative_scaled(&format!("[{i}].{field}"), s, 1000.0)?;
                metrics.insert(format!("{name}.{field}"), Measurement::ms(ms));
            }
        }
    }
    if let Some(total) = total {
        metrics.insert("total.size".to_string(), Measurement::bytes(total as f64));
    }
    Ok(Parsed {
        detail: Some("size-limit".to_string()),
        metrics,
        ..Parsed::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Unit;

    fn read(name: &str) -> Result<Parsed> {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/size-limit")
            .join(name);
        parse(&std::fs::read_to_string(path).expect("fixture"))
    }

    fn value(p: &Parsed, name: &str) -> Measurement {
        *p.metrics
            .get(name)
            .unwrap_or_else(|| panic!("no metric {name}"))
    }

    #[test]
    fn passing_checks() {
        let p = read("passing.json").expect("parses");
        assert_eq!(p.detail.as_deref(), Some("size-limit"));
        // brotli of main.js + vendors.js + main.css (the webpack fixture's initial files).
        assert_eq!(value(&p, "initial.size"), Measurement::bytes(40_704.0));
        assert_eq!(value(&p, "initial.limit"), Measurement::bytes(60_000.0));
        assert_eq!(value(&p, "analytics route.size"), Measurement::bytes(415.0));
        // No limit configured: no `.limit`.
        assert_eq!(
            value(&p, "all JavaScript, gzip.size"),
            Measurement::bytes(46_558.0)
        );
        assert!(!p.metrics.contains_key("all JavaScript, gzip.limit"));
        assert_eq!(value(&p, "total.size"), Measurement::bytes(87_677.0));
        assert_eq!(p.metrics.len(), 6);
    }

    #[test]
    fn failing_checks_keep_their_limits() {
        let p = read("failing.json").expect("parses");
        assert_eq!(value(&p, "initial.size"), Measurement::bytes(40_704.0));
        // "40 kB" = 40000 B, "2 KiB" = 2048 B.
        assert_eq!(value(&p, "initial.limit"), Measurement::bytes(40_000.0));
        assert_eq!(
            value(&p, "analytics route.limit"),
            Measurement::bytes(2048.0)
        );
    }

    #[test]
    fn error_output_quotes_its_first_line() {
        let e = format!("{:#}", read("error.json").expect_err("error output"));
        assert_eq!(
            e,
            "size-limit failed instead of measuring: SizeLimitError: Config option *webpack* \
             needs *@size-limit/webpack* plugin"
        );
    }

    #[test]
    fn a_path_matching_no_file_is_an_error() {
        let e = format!("{:#}", read("missing-file.json").expect_err("size 0"));
        assert!(
            e.contains("field `[0].size`: check `admin page` measured 0 bytes"),
            "{e}"
        );
    }

    #[test]
    fn time_plugin_seconds_become_ms() {
        // The shape @size-limit/time adds (not installed here: it drives a headless browser).
        let p = parse(r#"[{"name":"app","passed":true,"size":1200,"sizeLimit":2000,"running":0.25,"loading":0.05}]"#)
            .expect("parses");
        assert_eq!(value(&p, "app.running"), Measurement::new(250.0, Unit::Ms));
        assert_eq!(value(&p, "app.loading"), Measurement::new(50.0, Unit::Ms));
    }

    #[test]
    fn bad_input_names_the_field() {
        let text = std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/size-limit/passing.json"),
        )
        .expect("fixture");
        let e = |t: &str| format!("{:#}", parse(t).expect_err("bad"));
        assert!(e(&text[..text.len() / 2]).contains("EOF while parsing"));
        let negative = e(r#"[{"name":"a","size":-1}]"#);
        assert!(
            negative.contains("`[0].size`") && negative.contains("-1"),
            "{negative}"
        );
        let wrong = e(r#"[{"name":"a","size":"1 kB"}]"#);
        assert!(wrong.contains("`[0].size`"), "{wrong}");
        let time = e(r#"[{"name":"a","size":1,"running":-0.5}]"#);
        assert!(time.contains("`[0].running`"), "{time}");
        assert!(e(r#"[{"name":"a","size":1},{"name":"a","size":2}]"#)
            .contains("two checks are named `a`"));
        assert!(e("[]").contains("empty"));
    }

    #[test]
    fn values_past_their_range_are_errors_not_panics_or_infinities() {
        let e = |t: &str| format!("{:#}", parse(t).expect_err("bad"));
        // Each size is allowed, the sum is not: it used to overflow u64 arithmetic and panic.
        let sum = e(r#"[{"name":"a","size":9007199254740992},{"name":"b","size":1}]"#);
        assert!(sum.contains("`[1].size`") && sum.contains("2^53"), "{sum}");
        assert!(e(r#"[{"name":"a","size":1e19}]"#).contains("`[0].size`"));
        // Finite seconds whose milliseconds are not: it used to be stored as `inf` ms.
        let time = e(r#"[{"name":"a","size":1,"running":1e306}]"#);
        assert!(time.contains("`[0].running`: 1e306 is too large"), "{time}");
    }
}
