//! autocannon `--json` output: one HTTP load run's latency, request rate, throughput and failures.
//!
//! The one rule: a failure is an error (no response: connection error or timeout) or a non-2xx
//! response; a run whose every response is a 4xx has `errors: 0`, so `non2xx` always counts.
//!
//! Metrics (names as autocannon writes its keys, `p97_5` for the 97.5th percentile):
//! - `latency.mean`, `.stddev`, `.min`, `.max` and every percentile key (`latency.p50`, `.p90`,
//!   `.p97_5`, `.p99`, `.p99_9` …), ms; absent when no response completed (autocannon then writes
//!   zeros, which are not latencies).
//! - `requests.mean` (completed requests per second, the mean of the per-second samples, /s);
//!   `requests.total` (completed responses) and `requests.sent`, counts.
//! - `throughput.mean`: bytes read per second. perfgate has no bytes-per-second unit, so it is a
//!   rate per second (`/s`) whose events are bytes; `throughput.total` is the bytes read (B).
//! - Counts: `errors` (autocannon counts every timeout as an error too), `timeouts`, `mismatches`
//!   (`--expectBody`), `resets`, `non2xx`, `1xx` … `5xx`.
//! - `error_rate` (%) = (errors + non2xx) / (requests.total + errors): failed outcomes over all
//!   outcomes. `timeouts` are not added again (they are inside `errors`, autocannon 9.0.0
//!   `lib/run.js` `onTimeout`). Requests sent that ended without a response or an error (the
//!   server closed the connection, or still in flight when the run stopped) have no outcome and
//!   count on neither side; `requests.sent` shows them.
//!
//! A file whose latency histogram holds more samples than requests were sent is refused: that is
//! the corruption autocannon 9.0.0's `-R/--overallRate` causes, and its percentiles are wrong.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Deserialize;

use super::{from_json, non_negative, Parsed, Target};
use crate::model::{Measurement, Metrics, Unit};

/// The `--json` result as autocannon 9.0.0 prints it (`lib/run.js`, `lib/histUtil.js`).
#[derive(Debug, Deserialize)]
struct Run {
    /// The URL the run loaded: one file per target, so files of different URLs are different
    /// pages, not runs of one measurement. A string, or an array when given several.
    #[serde(default)]
    url: Option<serde_json::Value>,
    connections: Option<f64>,
    /// Seconds.
    duration: Option<f64>,
    errors: f64,
    timeouts: f64,
    #[serde(default)]
    mismatches: Option<f64>,
    non2xx: f64,
    #[serde(default)]
    resets: Option<f64>,
    #[serde(rename = "1xx")]
    c1xx: Option<f64>,
    #[serde(rename = "2xx")]
    c2xx: Option<f64>,
    #[serde(rename = "3xx")]
    c3xx: Option<f64>,
    #[serde(rename = "4xx")]
    c4xx: Option<f64>,
    #[serde(rename = "5xx")]
    c5xx: Option<f64>,
    /// ms: `average` (= `mean`), `mean`, `stddev`, `min`, `max`, `p0_001` … `p99_999`,
    /// `totalCount` (the number of latencies recorded).
    latency: BTreeMap<String, Option<f64>>,
    requests: Requests,
    throughput: Throughput,
}

/// Per-second samples of completed requests, with the run's totals.
#[derive(Debug, Deserialize)]
struct Requests {
    mean: Option<f64>,
    total: f64,
    sent: Option<f64>,
}

/// Per-second samples of bytes read, with the run's total.
#[derive(Debug, Deserialize)]
struct Throughput {
    mean: Option<f64>,
    total: Option<f64>,
}

/// Reads autocannon's `--json` output.
pub(crate) fn parse(text: &str) -> Result<Parsed> {
    let r: Run = from_json(text)?;
    let mut metrics = Metrics::new();
    let counts = [
        ("errors", Some(r.errors)),
        ("timeouts", Some(r.timeouts)),
        ("mismatches", r.mismatches),
        ("resets", r.resets),
        ("non2xx", Some(r.non2xx)),
        ("1xx", r.c1xx),
        ("2xx", r.c2xx),
        ("3xx", r.c3xx),
        ("4xx", r.c4xx),
        ("5xx", r.c5xx),
        ("requests.total", Some(r.requests.total)),
        ("requests.sent", r.requests.sent),
    ];
    for (name, value) in counts {
        if let Some(v) = value {
            metrics.insert(name.to_string(), Measurement::count(non_negative(name, v)?));
        }
    }
    let completed = r.requests.total;
    let recorded = match r.latency.get("totalCount") {
        Some(Some(n)) => non_negative("latency.totalCount", *n)?,
        _ => completed,
    };
    if let Some(sent) = r.requests.sent {
        if recorded > sent {
            bail!(
                "field `latency.totalCount`: {recorded} latencies for {sent} requests sent; the \
                 latency statistics are corrupt (autocannon's -R/--overallRate does this), run \
                 again without -R"
            );
        }
    }
    if recorded > 0.0 {
        for (key, value) in &r.latency {
            if matches!(key.as_str(), "average" | "totalCount") {
                continue;
            }
            let field = format!("latency.{key}");
            if let Some(v) = value {
                metrics.insert(field.clone(), Measurement::ms(non_negative(&field, *v)?));
            }
        }
    }
    if let Some(mean) = r.requests.mean {
        let v = non_negative("requests.mean", mean)?;
        metrics.insert("requests.mean".into(), Measurement::new(v, Unit::PerSecond));
    }
    if let Some(mean) = r.throughput.mean {
        let v = non_negative("throughput.mean", mean)?;
        metrics.insert(
            "throughput.mean".into(),
            Measurement::new(v, Unit::PerSecond),
        );
    }
    if let Some(total) = r.throughput.total {
        let v = non_negative("throughput.total", total)?;
        metrics.insert("throughput.total".into(), Measurement::bytes(v));
    }
    let outcomes = completed + r.errors;
    if outcomes > 0.0 {
        let failed = r.errors + r.non2xx;
        if failed > outcomes {
            bail!(
                "field `non2xx`: {} non-2xx responses but only {completed} responses",
                r.non2xx
            );
        }
        metrics.insert(
            "error_rate".into(),
            Measurement::new(failed / outcomes * 100.0, Unit::Percent),
        );
    }
    // Shown after the format's name: "autocannon (2 connections, 2.01 s)".
    let mut detail = Vec::new();
    if let (Some(c), Some(d)) = (r.connections, r.duration) {
        let plural = if c == 1.0 { "" } else { "s" };
        detail.push(format!("{c} connection{plural}, {d} s"));
    }
    if outcomes == 0.0 {
        detail.push("no request completed".to_string());
    }
    let target = match &r.url {
        Some(serde_json::Value::String(url)) if !url.is_empty() => Some(Target {
            url: url.clone(),
            variant: None,
            generation: None,
        }),
        _ => None,
    };
    Ok(Parsed {
        detail: (!detail.is_empty()).then(|| detail.join(", ")),
        metrics,
        target,
        ..Parsed::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::ingest::testing::fixture("autocannon", name)
    }

    use crate::ingest::testing::metric as get;

    #[test]
    fn a_clean_run() {
        let p = parse(&fixture("ok.json")).expect("parses");
        assert_eq!(p.detail.as_deref(), Some("2 connections, 2.01 s"));
        assert_eq!(get(&p, "latency.p50"), Measurement::ms(2.0));
        assert_eq!(get(&p, "latency.p97_5"), Measurement::ms(3.0));
        assert_eq!(get(&p, "latency.p99"), Measurement::ms(4.0));
        assert_eq!(get(&p, "latency.mean"), Measurement::ms(1.97));
        assert_eq!(get(&p, "latency.max"), Measurement::ms(9.0));
        assert_eq!(
            get(&p, "requests.mean"),
            Measurement::new(785.5, Unit::PerSecond)
        );
        assert_eq!(
            get(&p, "throughput.mean"),
            Measurement::new(182_272.0, Unit::PerSecond)
        );
        assert_eq!(get(&p, "throughput.total"), Measurement::bytes(364_472.0));
        assert_eq!(get(&p, "requests.total"), Measurement::count(1571.0));
        assert_eq!(get(&p, "2xx"), Measurement::count(1571.0));
        assert_eq!(get(&p, "error_rate"), Measurement::new(0.0, Unit::Percent));
        assert!(!p.metrics.contains_key("latency.average"));
        assert!(!p.metrics.contains_key("latency.totalCount"));
    }

    #[test]
    fn every_response_403_is_a_full_error_rate_with_no_errors() {
        let p = parse(&fixture("all-403.json")).expect("parses");
        assert_eq!(get(&p, "errors"), Measurement::count(0.0));
        assert_eq!(get(&p, "non2xx"), Measurement::count(48_969.0));
        assert_eq!(get(&p, "4xx"), Measurement::count(48_969.0));
        assert_eq!(
            get(&p, "error_rate"),
            Measurement::new(100.0, Unit::Percent)
        );
    }

    #[test]
    fn errors_timeouts_and_5xx() {
        let p = parse(&fixture("flaky.json")).expect("parses");
        assert_eq!(get(&p, "errors"), Measurement::count(2.0));
        assert_eq!(get(&p, "timeouts"), Measurement::count(2.0));
        assert_eq!(get(&p, "5xx"), Measurement::count(30.0));
        assert_eq!(get(&p, "requests.sent"), Measurement::count(152.0));
        // (2 errors, the 2 timeouts among them, + 30 non-2xx) / (132 responses + 2 errors).
        let rate = get(&p, "error_rate");
        assert!((rate.value - 32.0 / 134.0 * 100.0).abs() < 1e-9, "{rate:?}");
        assert_eq!(get(&p, "latency.p90"), Measurement::ms(10.0));
    }

    #[test]
    fn no_completed_request_has_no_latency_and_no_error_rate() {
        let text = r#"{"connections":1,"duration":1,"errors":0,"timeouts":0,"non2xx":0,
            "latency":{"mean":0,"p50":0,"max":0,"totalCount":0},
            "requests":{"mean":0,"total":0,"sent":1},"throughput":{"mean":0,"total":0}}"#;
        let p = parse(text).expect("parses");
        assert!(!p.metrics.contains_key("latency.p50"));
        assert!(!p.metrics.contains_key("error_rate"));
        assert_eq!(
            p.detail.as_deref(),
            Some("1 connection, 1 s, no request completed")
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let text = fixture("ok.json");
        let e = |t: &str| format!("{:#}", parse(t).expect_err("bad"));
        assert!(e(&text[..text.len() / 2]).contains("EOF while parsing"));
        let wrong = e(&text.replace(r#""p99":4"#, r#""p99":"4""#));
        assert!(wrong.contains("`latency.p99`"), "{wrong}");
        let negative = e(&text.replace(r#""p99":4"#, r#""p99":-4"#));
        assert!(
            negative.contains("`latency.p99`: -4 is negative"),
            "{negative}"
        );
        let nan = e(&text.replace(r#""p99":4"#, r#""p99":NaN"#));
        assert!(nan.contains("invalid") || nan.contains("p99"), "{nan}");
        let missing = e(&text.replace(r#""non2xx":0,"#, ""));
        assert!(missing.contains("non2xx"), "{missing}");
        // What -R/--overallRate does to the latency histogram (TOOLS.md: 98363 samples, 2843 requests).
        let corrupt = e(&text.replace(r#""totalCount":1571"#, r#""totalCount":98363"#));
        assert!(
            corrupt.contains("`latency.totalCount`: 98363 latencies for 1573 requests sent"),
            "{corrupt}"
        );
    }
    #[test]
    fn detected_by_content() {
        use crate::ingest::{load_file, sniff, Format};
        for name in ["ok.json", "all-403.json", "flaky.json"] {
            let text = fixture(name);
            assert_eq!(sniff(&text).ok(), Some(Format::Autocannon), "{name}");
            assert_eq!(
                sniff(&text[..text.len() / 2]).ok(),
                Some(Format::Autocannon),
                "{name} truncated"
            );
        }
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/autocannon/flaky.json");
        assert_eq!(
            load_file(&path, None, false).expect("loads").format,
            Format::Autocannon
        );
    }
}
