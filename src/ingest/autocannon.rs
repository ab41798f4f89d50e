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
//! A value that cannot be read (a string, a negative count) drops its own metric, with the field
//! (see [`Parsed::dropped`]); `error_rate` is dropped with a count it is computed from, and the
//! `latency.*` statistics with `latency.totalCount` or `requests.sent`, without which that check
//! cannot be made. JSON that does not parse and a missing required key still refuse the file.

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::{bail, Result};
use serde::Deserialize;
use serde_json::Value;

use super::reader::{names_key, Detect, Reader, Sniff, Whole};
use super::{from_json, non_negative, Parsed, Target};
use crate::model::{Measurement, Metrics, Unit};

/// autocannon's `--json` output.
pub(crate) const READER: Reader = Reader {
    name: "autocannon",
    detect: Detect {
        json: sniff,
        broken_json: |head| names_key(head, "non2xx") && names_key(head, "latency"),
        ..Detect::NONE
    },
    whole: Some(Whole::Json(parse)),
    stream: None,
};

/// autocannon's `p97_5` latency percentile, or its `requests`, `throughput` and `non2xx`.
fn sniff(v: &Value) -> Option<Sniff> {
    let has = |k: &str| v.get(k).is_some();
    (v.get("latency").and_then(|l| l.get("p97_5")).is_some()
        || (has("requests") && has("throughput") && has("non2xx")))
    .then_some(Sniff::Read)
}

/// The `--json` result as autocannon 9.0.0 prints it (`lib/run.js`, `lib/histUtil.js`). Numbers
/// are read as JSON values, so that one that is not a number drops its metric rather than the file.
#[derive(Debug, Deserialize)]
struct Run {
    /// The URL the run loaded: one file per target, so files of different URLs are different
    /// pages, not runs of one measurement. A string, or an array when given several.
    #[serde(default)]
    url: Option<Value>,
    connections: Option<Value>,
    /// Seconds.
    duration: Option<Value>,
    errors: Value,
    timeouts: Value,
    #[serde(default)]
    mismatches: Option<Value>,
    non2xx: Value,
    #[serde(default)]
    resets: Option<Value>,
    #[serde(rename = "1xx")]
    c1xx: Option<Value>,
    #[serde(rename = "2xx")]
    c2xx: Option<Value>,
    #[serde(rename = "3xx")]
    c3xx: Option<Value>,
    #[serde(rename = "4xx")]
    c4xx: Option<Value>,
    #[serde(rename = "5xx")]
    c5xx: Option<Value>,
    /// ms: `average` (= `mean`), `mean`, `stddev`, `min`, `max`, `p0_001` … `p99_999`,
    /// `totalCount` (the number of latencies recorded).
    latency: BTreeMap<String, Value>,
    requests: Requests,
    throughput: Throughput,
}

/// Per-second samples of completed requests, with the run's totals.
#[derive(Debug, Deserialize)]
struct Requests {
    mean: Option<Value>,
    total: Value,
    sent: Option<Value>,
}

/// Per-second samples of bytes read, with the run's total.
#[derive(Debug, Deserialize)]
struct Throughput {
    mean: Option<Value>,
    total: Option<Value>,
}

/// The number a field holds, or why it cannot be a count, rate or time.
fn number(field: &str, v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => non_negative(field, n.as_f64().unwrap_or(f64::NAN)),
        other => Err(anyhow::anyhow!("field `{field}`: {other} is not a number")),
    }
    .map_err(|why| format!("{why:#}"))
}

/// The metrics as they are read: each value stands alone, and a metric computed from others is
/// dropped with the reason of the first one it lacks.
#[derive(Default)]
struct Read {
    metrics: Metrics,
    dropped: BTreeMap<String, String>,
}

impl Read {
    /// Reads the field `name` (absent or `null`: `None`) as the metric of the same name.
    fn put(
        &mut self,
        name: &str,
        value: Option<&Value>,
        make: fn(f64) -> Measurement,
    ) -> Result<Option<f64>, String> {
        let Some(v) = value.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        match number(name, v) {
            Ok(v) => {
                self.metrics.insert(name.to_string(), make(v));
                Ok(Some(v))
            }
            Err(why) => {
                self.dropped.insert(name.to_string(), why.clone());
                Err(format!("`{name}` was dropped: {why}"))
            }
        }
    }

    fn drop(&mut self, name: &str, why: String) {
        self.metrics.remove(name);
        self.dropped.insert(name.to_string(), why);
    }
}

/// Reads autocannon's `--json` output.
pub(crate) fn parse(input: &mut dyn BufRead) -> Result<Parsed> {
    let r: Run = from_json(input)?;
    let mut read = Read::default();
    let count = Measurement::count;
    let errors = read.put("errors", Some(&r.errors), count);
    read.put("timeouts", Some(&r.timeouts), count).ok();
    let non2xx = read.put("non2xx", Some(&r.non2xx), count);
    for (name, value) in [
        ("mismatches", &r.mismatches),
        ("resets", &r.resets),
        ("1xx", &r.c1xx),
        ("2xx", &r.c2xx),
        ("3xx", &r.c3xx),
        ("4xx", &r.c4xx),
        ("5xx", &r.c5xx),
    ] {
        read.put(name, value.as_ref(), count).ok();
    }
    let completed = read.put("requests.total", Some(&r.requests.total), count);
    let sent = read.put("requests.sent", r.requests.sent.as_ref(), count);
    let recorded = match r.latency.get("totalCount").filter(|v| !v.is_null()) {
        Some(n) => number("latency.totalCount", n)
            .map(Some)
            .map_err(|why| format!("`latency.totalCount` could not be read: {why}")),
        None => completed.clone(),
    };
    if let (Ok(Some(recorded)), Ok(Some(sent))) = (&recorded, &sent) {
        if recorded > sent {
            bail!(
                "field `latency.totalCount`: {recorded} latencies for {sent} requests sent; the \
                 latency statistics are corrupt (autocannon's -R/--overallRate does this), run \
                 again without -R"
            );
        }
    }
    // Whether any latency was recorded (autocannon writes zeros when none was); unknown without
    // the count, or without the requests sent that tell a corrupt histogram.
    let latencies = match (&recorded, &sent) {
        (Err(why), _) | (_, Err(why)) => Err(why),
        (Ok(recorded), Ok(_)) => Ok(recorded.is_some_and(|n| n > 0.0)),
    };
    for (key, value) in &r.latency {
        if matches!(key.as_str(), "average" | "totalCount") || value.is_null() {
            continue;
        }
        let name = format!("latency.{key}");
        match &latencies {
            Ok(true) => {
                read.put(&name, Some(value), Measurement::ms).ok();
            }
            Ok(false) => {}
            Err(why) => read.drop(
                &name,
                format!(
                    "it is read only with `latency.totalCount` (or `requests.total`) and \
                     `requests.sent`, and {why}"
                ),
            ),
        }
    }
    let per_second = |v| Measurement::new(v, Unit::PerSecond);
    read.put("requests.mean", r.requests.mean.as_ref(), per_second)
        .ok();
    read.put("throughput.mean", r.throughput.mean.as_ref(), per_second)
        .ok();
    read.put(
        "throughput.total",
        r.throughput.total.as_ref(),
        Measurement::bytes,
    )
    .ok();
    let mut no_outcome = false;
    match (completed, errors, non2xx) {
        (Ok(completed), Ok(errors), Ok(non2xx)) => {
            let (completed, errors, non2xx) = (
                completed.unwrap_or_default(),
                errors.unwrap_or_default(),
                non2xx.unwrap_or_default(),
            );
            let outcomes = completed + errors;
            no_outcome = outcomes == 0.0;
            let failed = errors + non2xx;
            if failed > outcomes {
                let why = format!(
                    "field `non2xx`: {non2xx} non-2xx responses but only {completed} responses"
                );
                read.drop("non2xx", why.clone());
                read.drop(
                    "error_rate",
                    format!("it is computed from `non2xx`, and `non2xx` was dropped: {why}"),
                );
            } else if outcomes > 0.0 {
                read.metrics.insert(
                    "error_rate".into(),
                    Measurement::new(failed / outcomes * 100.0, Unit::Percent),
                );
            }
        }
        (Err(why), _, _) | (_, Err(why), _) | (_, _, Err(why)) => {
            read.drop(
                "error_rate",
                format!("it is computed from `errors`, `non2xx` and `requests.total`, and {why}"),
            );
        }
    }
    // Shown after the format's name: "autocannon (2 connections, 2.01 s)".
    let mut detail = Vec::new();
    let (connections, duration) = (
        r.connections.as_ref().and_then(Value::as_f64),
        r.duration.as_ref().and_then(Value::as_f64),
    );
    if let (Some(c), Some(d)) = (connections, duration) {
        let plural = if c == 1.0 { "" } else { "s" };
        detail.push(format!("{c} connection{plural}, {d} s"));
    }
    if no_outcome {
        detail.push("no request completed".to_string());
    }
    let target = match &r.url {
        Some(Value::String(url)) if !url.is_empty() => Some(Target {
            url: url.clone(),
            variant: None,
            generation: None,
        }),
        _ => None,
    };
    Ok(Parsed {
        detail: (!detail.is_empty()).then(|| detail.join(", ")),
        metrics: read.metrics,
        dropped: read.dropped,
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
        let p = parse(&mut fixture("ok.json").as_bytes()).expect("parses");
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
        let p = parse(&mut fixture("all-403.json").as_bytes()).expect("parses");
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
        let p = parse(&mut fixture("flaky.json").as_bytes()).expect("parses");
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
        let p = parse(&mut text.as_bytes()).expect("parses");
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
        let e = |t: &str| format!("{:#}", parse(&mut t.as_bytes()).expect_err("bad"));
        assert!(e(&text[..text.len() / 2]).contains("EOF while parsing"));
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
    /// `mutated`'s metrics are `original`'s but for `dropped`, each dropped.
    fn only_dropped(original: &Parsed, mutated: &Parsed, dropped: &[&str]) {
        let mut expected = original.metrics.clone();
        expected.retain(|name, _| !dropped.contains(&name.as_str()));
        assert_eq!(mutated.metrics, expected);
        let mut names = dropped.to_vec();
        names.sort_unstable();
        assert_eq!(mutated.dropped.keys().collect::<Vec<_>>(), names);
    }

    /// flaky.json with its first `from` replaced by `to`.
    fn flaky_with(from: &str, to: &str) -> Parsed {
        let text = fixture("flaky.json");
        let bad = text.replacen(from, to, 1);
        assert_ne!(bad, text);
        parse(&mut bad.as_bytes()).expect("read, less the bad value")
    }

    #[test]
    fn a_bad_value_drops_its_metric_only() {
        let original = parse(&mut fixture("flaky.json").as_bytes()).expect("parses");
        let p = flaky_with(r#""p99":12"#, r#""p99":-12"#);
        only_dropped(&original, &p, &["latency.p99"]);
        assert_eq!(
            p.dropped["latency.p99"],
            "field `latency.p99`: -12 is negative, which this quantity cannot be"
        );
        let p = flaky_with(r#""p99":12"#, r#""p99":"12""#);
        only_dropped(&original, &p, &["latency.p99"]);
        assert_eq!(
            p.dropped["latency.p99"],
            "field `latency.p99`: \"12\" is not a number"
        );
        let p = flaky_with(r#""mean":14310"#, r#""mean":-1"#);
        only_dropped(&original, &p, &["throughput.mean"]);
    }

    #[test]
    fn a_bad_count_drops_the_error_rate_computed_from_it() {
        let original = parse(&mut fixture("flaky.json").as_bytes()).expect("parses");
        let p = flaky_with(r#""errors":2,"#, r#""errors":"2","#);
        only_dropped(&original, &p, &["error_rate", "errors"]);
        assert_eq!(p.dropped["errors"], "field `errors`: \"2\" is not a number");
        assert_eq!(
            p.dropped["error_rate"],
            "it is computed from `errors`, `non2xx` and `requests.total`, and `errors` was \
             dropped: field `errors`: \"2\" is not a number"
        );
        // More failures than outcomes: the count is wrong, and so would the rate be.
        let p = flaky_with(r#""non2xx":30,"#, r#""non2xx":300,"#);
        only_dropped(&original, &p, &["error_rate", "non2xx"]);
        assert_eq!(
            p.dropped["non2xx"],
            "field `non2xx`: 300 non-2xx responses but only 132 responses"
        );
    }

    #[test]
    fn without_the_requests_sent_the_latencies_are_dropped() {
        // The requests sent are what tells a histogram corrupted by -R/--overallRate.
        let original = parse(&mut fixture("flaky.json").as_bytes()).expect("parses");
        let p = flaky_with(r#""sent":152"#, r#""sent":-152"#);
        let latencies: Vec<&str> = original
            .metrics
            .keys()
            .map(String::as_str)
            .filter(|name| name.starts_with("latency."))
            .collect();
        assert_eq!(latencies.len(), 19);
        only_dropped(
            &original,
            &p,
            &[&latencies[..], &["requests.sent"]].concat(),
        );
        assert_eq!(
            p.dropped["latency.p99"],
            "it is read only with `latency.totalCount` (or `requests.total`) and \
             `requests.sent`, and `requests.sent` was dropped: field `requests.sent`: -152 is \
             negative, which this quantity cannot be"
        );
        let p = flaky_with(r#""totalCount":132"#, r#""totalCount":null"#);
        assert_eq!(p.metrics, original.metrics, "read with `requests.total`");
        let p = flaky_with(r#""totalCount":132"#, r#""totalCount":-1"#);
        only_dropped(&original, &p, &latencies);
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
