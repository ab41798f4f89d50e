//! size-limit `--json` output: one size (and the time plugin's estimates) per configured check.
//!
//! The one rule: a size is reported as size-limit measured it, after the compression its check
//! configures (brotli by default since size-limit 11, gzip before, per check `gzip`/`brotli`); the
//! output does not say which, so the names say `.size`, never `.gzip` or `.brotli`.
//!
//! Metrics per check: `<name>.size` and `<name>.limit` (bytes; the limit only when the check has
//! one), `<name>.running` and `<name>.loading` (the time plugin's seconds, stored in ms), and
//! `total.size`, the sum of every check's size.
//!
//! A check with a value that cannot be read (a size that is not a whole number of bytes, a size of
//! 0, which is what size-limit reports for a path matching no file, a negative time) drops that
//! check's metrics and `total.size`, with the field (see [`Parsed::dropped`]); the other checks
//! are still read. JSON that does not parse, size-limit's `{"error": …}`, no checks, a check
//! without a name or two checks of one name refuse the file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use anyhow::{bail, Result};
use serde::Deserialize;
use serde_json::Value;

use super::bundle::{add_bytes, bytes_from_f64};
use super::reader::{first_item, Detect, Reader, Sniff, Whole};
use super::{from_json, from_value, non_negative_scaled, Parsed};
use crate::model::{Measurement, Metrics};

/// size-limit's `--json` output.
pub(crate) const READER: Reader = Reader {
    name: "size-limit",
    detect: Detect {
        json: sniff,
        ..Detect::NONE
    },
    whole: Some(Whole::Json(parse)),
    stream: None,
};

/// A list of checks, each with a `name` and a `size` or a verdict, or the `{"error": …}` of a run
/// that failed; a list of checks with a `path` and a `limit` is size-limit's configuration.
fn sniff(v: &Value) -> Option<Sniff> {
    if v.as_object().is_some_and(|o| o.len() == 1) && v.get("error").is_some() {
        return Some(Sniff::Read);
    }
    let item = first_item(v)?;
    let has = |k: &str| item.get(k).is_some();
    if has("name") && (has("size") || has("passed")) && !has("path") {
        return Some(Sniff::Read);
    }
    (has("path") && has("limit")).then_some(Sniff::Unsupported(
        "a size-limit configuration (run `size-limit --json` and read its output)",
    ))
}

/// One check as size-limit 12.1.0 prints it (`create-reporter.js`); `passed` and `sizeLimit` are
/// absent for a check without a limit. Numbers are read as JSON values, so that one that cannot
/// be read drops its check rather than the file.
#[derive(Debug, Deserialize)]
struct SizeLimitCheck {
    name: String,
    size: Option<Value>,
    #[serde(rename = "sizeLimit")]
    size_limit: Option<Value>,
    /// Seconds (@size-limit/time).
    running: Option<Value>,
    /// Seconds (@size-limit/time).
    loading: Option<Value>,
}

impl SizeLimitCheck {
    /// The check's fields, as their metrics are named, where the check has them.
    fn fields(&self) -> impl Iterator<Item = (&'static str, &'static str, &Value)> {
        [
            ("size", "size", &self.size),
            ("limit", "sizeLimit", &self.size_limit),
            ("running", "running", &self.running),
            ("loading", "loading", &self.loading),
        ]
        .into_iter()
        .filter_map(|(stat, field, v)| Some((stat, field, v.as_ref().filter(|v| !v.is_null())?)))
    }

    /// The check's metrics and its size, or why one of its values cannot be read; `i` is its
    /// place in the array, for messages.
    fn read(&self, i: usize) -> Result<(Metrics, Option<u64>)> {
        let name = &self.name;
        let mut metrics = Metrics::new();
        let mut size = None;
        for (stat, field, v) in self.fields() {
            let at = format!("[{i}].{field}");
            let metric = format!("{name}.{stat}");
            if matches!(stat, "running" | "loading") {
                let seconds = v
                    .as_f64()
                    .ok_or_else(|| anyhow::anyhow!("field `{at}`: {v} is not a number"))?;
                let ms = non_negative_scaled(&at, seconds, 1000.0)?;
                metrics.insert(metric, Measurement::ms(ms));
                continue;
            }
            let bytes = v
                .as_f64()
                .ok_or_else(|| format!("{v} is not a number"))
                .and_then(bytes_from_f64)
                .map_err(|why| anyhow::anyhow!("field `{at}`: {why}"))?;
            if stat == "size" {
                // @size-limit/file reports a path that matches no file as size 0 and `passed:
                // true` (size-limit 12.1.0, exit code 1); a compressed file is never 0 bytes.
                if bytes == 0 {
                    bail!(
                        "field `{at}`: check `{name}` measured 0 bytes, which is what size-limit \
                         reports when its path matches no file; fix the path in the size-limit \
                         config"
                    );
                }
                size = Some(bytes);
            }
            metrics.insert(metric, Measurement::bytes(bytes as f64));
        }
        Ok((metrics, size))
    }
}

/// Reads size-limit's `--json` output (an array of checks, or `{"error": "..."}`).
pub(crate) fn parse(input: &mut dyn BufRead) -> Result<Parsed> {
    let value: Value = from_json(input)?;
    if let Some(error) = value.as_object().and_then(|o| o.get("error")) {
        let message = error
            .as_str()
            .map_or_else(|| error.to_string(), str::to_string);
        let first = message.lines().next().unwrap_or("").trim();
        bail!("size-limit failed instead of measuring: {first}");
    }
    let checks: Vec<SizeLimitCheck> = from_value(value)?;
    if checks.is_empty() {
        bail!("no checks: the array is empty, so there is nothing to measure");
    }
    let mut metrics = Metrics::new();
    let mut dropped = BTreeMap::new();
    let mut names = BTreeSet::new();
    // The sum so far, or why it cannot be known: a partial sum would pass for the whole.
    let mut total: Option<Result<u64, String>> = None;
    for (i, check) in checks.iter().enumerate() {
        let name = &check.name;
        if !names.insert(name.as_str()) {
            bail!("field `[{i}].name`: two checks are named `{name}`; name each check in the size-limit config");
        }
        match check.read(i) {
            Ok((read, size)) => {
                metrics.extend(read);
                if let Some(size) = size {
                    total = Some(match total.unwrap_or(Ok(0)) {
                        Ok(sum) => add_bytes(sum, size)
                            .map_err(|why| format!("field `[{i}].size`: {why:#}")),
                        lacks => lacks,
                    });
                }
            }
            Err(why) => {
                let why = format!("{why:#}");
                for (stat, _, _) in check.fields() {
                    dropped.insert(
                        format!("{name}.{stat}"),
                        format!("{why} (the check's other values are not read either)"),
                    );
                }
                if check.fields().any(|(stat, _, _)| stat == "size") {
                    let lacks =
                        format!("it sums every check's size, and `{name}.size` was dropped: {why}");
                    total = Some(match total {
                        Some(Err(first)) => Err(first),
                        _ => Err(lacks),
                    });
                }
            }
        }
    }
    match total {
        Some(Ok(total)) => {
            metrics.insert("total.size".to_string(), Measurement::bytes(total as f64));
        }
        Some(Err(why)) => {
            dropped.insert("total.size".to_string(), why);
        }
        None => {}
    }
    Ok(Parsed {
        detail: Some("size-limit".to_string()),
        metrics,
        dropped,
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
        parse(&mut std::fs::read_to_string(path).expect("fixture").as_bytes())
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
    fn a_path_matching_no_file_drops_its_check() {
        let p = read("missing-file.json").expect("read");
        assert!(p.metrics.is_empty());
        assert_eq!(
            p.dropped["admin page.size"],
            "field `[0].size`: check `admin page` measured 0 bytes, which is what size-limit \
             reports when its path matches no file; fix the path in the size-limit config (the \
             check's other values are not read either)"
        );
        assert!(p.dropped["total.size"].starts_with(
            "it sums every check's size, and `admin page.size` was dropped: field `[0].size`"
        ));
    }

    #[test]
    fn a_bad_check_drops_that_check_and_the_total() {
        let text = std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/size-limit/passing.json"),
        )
        .expect("fixture");
        let original = parse(&mut text.as_bytes()).expect("parses");
        for (from, to, why) in [
            (
                "\"size\": 415,",
                "\"size\": -415,",
                "field `[1].size`: -415 is not a size in bytes (a whole number from 0 to 2^53)",
            ),
            (
                "\"size\": 415,",
                "\"size\": \"415 B\",",
                "field `[1].size`: \"415 B\" is not a number",
            ),
            (
                "\"sizeLimit\": 2000",
                "\"sizeLimit\": 2000.5",
                "field `[1].sizeLimit`: 2000.5 is not a size in bytes (a whole number from 0 to \
                 2^53)",
            ),
        ] {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text);
            let p = parse(&mut bad.as_bytes()).expect("read, less one check");
            let mut expected = original.metrics.clone();
            for gone in [
                "analytics route.size",
                "analytics route.limit",
                "total.size",
            ] {
                expected.remove(gone).expect("in the original");
            }
            assert_eq!(p.metrics, expected);
            assert_eq!(
                p.dropped.keys().collect::<Vec<_>>(),
                [
                    "analytics route.limit",
                    "analytics route.size",
                    "total.size"
                ]
            );
            let whole = format!("{why} (the check's other values are not read either)");
            assert_eq!(p.dropped["analytics route.size"], whole);
            assert_eq!(p.dropped["analytics route.limit"], whole);
            assert_eq!(
                p.dropped["total.size"],
                format!(
                    "it sums every check's size, and `analytics route.size` was dropped: {why}"
                )
            );
        }
    }

    #[test]
    fn time_plugin_seconds_become_ms() {
        // The shape @size-limit/time adds (not installed here: it drives a headless browser).
        let p = parse(&mut r#"[{"name":"app","passed":true,"size":1200,"sizeLimit":2000,"running":0.25,"loading":0.05}]"#.as_bytes())
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
        let e = |t: &str| format!("{:#}", parse(&mut t.as_bytes()).expect_err("bad"));
        assert!(e(&text[..text.len() / 2]).contains("EOF while parsing"));
        let time =
            parse(&mut r#"[{"name":"a","size":1,"running":-0.5}]"#.as_bytes()).expect("read");
        assert_eq!(
            time.dropped["a.running"],
            "field `[0].running`: -0.5 is negative, which this quantity cannot be (the check's \
             other values are not read either)"
        );
        assert!(e(r#"[{"size":1}]"#).contains("missing field `name`"));
        assert!(e(r#"[{"name":"a","size":1},{"name":"a","size":2}]"#)
            .contains("two checks are named `a`"));
        assert!(e("[]").contains("empty"));
    }

    #[test]
    fn values_past_their_range_are_dropped_not_panics_or_infinities() {
        // Each size is allowed, the sum is not: it used to overflow u64 arithmetic and panic.
        let p = parse(
            &mut r#"[{"name":"a","size":9007199254740992},{"name":"b","size":1}]"#.as_bytes(),
        )
        .expect("read");
        assert_eq!(
            p.dropped["total.size"],
            "field `[1].size`: sizes add up to more than 2^53 bytes (8 PiB): a size in the \
             report is wrong"
        );
        assert_eq!(p.metrics.len(), 2);
        let p = parse(&mut r#"[{"name":"a","size":1e19}]"#.as_bytes()).expect("read");
        assert!(p.dropped["a.size"].starts_with("field `[0].size`: 10000000000000000000 is not"));
        // Finite seconds whose milliseconds are not: it used to be stored as `inf` ms.
        let p = parse(&mut r#"[{"name":"a","size":1,"running":1e306}]"#.as_bytes()).expect("read");
        assert!(p.dropped["a.running"].starts_with("field `[0].running`: 1e306 is too large"));
        assert_eq!(p.dropped.len(), 3, "{:?}", p.dropped);
    }
}
