//! json: perfgate's own generic metrics format, for any tool perfgate has no parser for.
//!
//! ```json
//! {"schema": "perfgate/metrics@1", "tool": "my-bench 1.2",
//!  "metrics": {"checkout.p95": {"value": 0.25, "unit": "s"}, "queue.depth": 42}}
//! ```
//!
//! The one rule: a value is taken only when it is a finite number in a unit perfgate knows; a bare
//! number is unitless, `unit` is converted to its canonical scale ("s" → ms, "KiB" → bytes), and
//! any other entry (an unknown unit, a string, `null`, a negative duration) is dropped with the
//! reason, naming the metric. Each metric stands alone, so one bad entry does not cost the others
//! (a rule on the dropped one still fails with that reason); the file is refused only when it is
//! not this format at all (bad JSON, another schema, no `metrics`).

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::{bail, Result};
use serde::Deserialize;
use serde_json::Value;

use super::reader::{names_key, Detect, Reader, Sniff, Whole};
use super::{from_json, non_negative_scaled, Parsed};
use crate::model::{Measurement, Metrics, Unit};

/// perfgate's own metrics JSON.
pub(crate) const READER: Reader = Reader {
    name: "json",
    detect: Detect {
        json: sniff,
        broken_json: |head| names_key(head, "perfgate/metrics@1"),
        ..Detect::NONE
    },
    whole: Some(Whole::Json(parse)),
    stream: None,
};

/// A `schema` of `perfgate/metrics@…`.
fn sniff(v: &Value) -> Option<Sniff> {
    v.get("schema")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("perfgate/metrics"))
        .then_some(Sniff::Read)
}

/// The schema this parser reads; a later incompatible version gets a new suffix.
const SCHEMA: &str = "perfgate/metrics@1";

/// The file as written; entries stay `Value`s so that each error can name its metric.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsFile {
    schema: String,
    tool: Option<String>,
    metrics: BTreeMap<String, Value>,
}

pub(crate) fn parse(input: &mut dyn BufRead) -> Result<Parsed> {
    let file: MetricsFile = from_json(input)?;
    if file.schema != SCHEMA {
        bail!(
            "field `schema`: `{}` is not a schema this perfgate reads (expected `{SCHEMA}`)",
            file.schema
        );
    }
    if file.metrics.is_empty() {
        bail!("field `metrics`: no metrics in the file");
    }
    let mut metrics = Metrics::new();
    let mut dropped = BTreeMap::new();
    for (name, entry) in &file.metrics {
        match measurement(name, entry) {
            Ok(m) => {
                metrics.insert(name.clone(), m);
            }
            Err(why) => {
                dropped.insert(name.clone(), format!("{why:#}"));
            }
        }
    }
    Ok(Parsed {
        detail: file.tool.filter(|t| !t.trim().is_empty()),
        metrics,
        dropped,
        ..Parsed::default()
    })
}

/// One entry: a bare number, or `{"value": <number>, "unit": "<unit>"}`.
fn measurement(name: &str, entry: &Value) -> Result<Measurement> {
    let field = format!("metrics.{name}");
    let (value, unit) = match entry {
        Value::Number(_) => (number(&field, entry)?, ""),
        Value::Object(o) => {
            if let Some(key) = o.keys().find(|k| !matches!(k.as_str(), "value" | "unit")) {
                bail!("field `{field}`: unknown key `{key}` (expected `value` and optional `unit`)");
            }
            let value = match o.get("value") {
                Some(v) => number(&format!("{field}.value"), v)?,
                None => bail!("field `{field}`: missing `value`"),
            };
            let unit = match o.get("unit") {
                None => "",
                Some(Value::String(u)) => u.as_str(),
                Some(other) => {
                    bail!("field `{field}.unit`: expected a string such as \"ms\", found {other}")
                }
            };
            (value, unit)
        }
        other => bail!(
            "field `{field}`: expected a number or {{\"value\": <number>, \"unit\": \"ms\"}}, found {}",
            describe(other)
        ),
    };
    let Some((unit, scale)) = Unit::parse_scaled(unit.trim()) else {
        bail!(
            "field `{field}.unit`: unknown unit `{unit}` (expected one of us, ms, s, B, KB, KiB, MB, MiB, %, /s, or \"\")"
        );
    };
    // Plain numbers and percentages may be negative (a delta); their scale is 1, so they stay finite.
    let value = if matches!(unit, Unit::Ms | Unit::Bytes | Unit::PerSecond) {
        non_negative_scaled(&format!("{field}.value"), value, scale)?
    } else {
        value * scale
    };
    Ok(Measurement::new(value, unit))
}

fn number(field: &str, v: &Value) -> Result<f64> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => bail!("field `{field}`: {x} is not a finite number"),
        None => bail!("field `{field}`: expected a number, found {}", describe(v)),
    }
}

/// A JSON value as a message quotes it: short values whole, long ones by kind.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        Value::String(_) => "a string".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::ingest::testing::fixture("json", name)
    }

    fn err(text: &str) -> String {
        format!(
            "{:#}",
            parse(&mut text.as_bytes()).expect_err("should be rejected")
        )
    }

    #[test]
    fn every_unit_converts_to_its_canonical_scale() {
        let parsed = parse(&mut fixture("all-units.json").as_bytes()).unwrap();
        assert_eq!(parsed.detail.as_deref(), Some("nightly-bench 2.3.0"));
        let m = |name: &str| parsed.metrics[name];
        assert_eq!(m("startup.cold"), Measurement::ms(1250.0));
        assert_eq!(m("render.p95"), Measurement::ms(18.5));
        assert_eq!(m("parse.mean"), Measurement::ms(0.5));
        assert_eq!(m("heap.used"), Measurement::bytes(48.5 * 1024.0 * 1024.0));
        assert_eq!(m("payload.size"), Measurement::bytes(12_300.0));
        assert_eq!(m("wasm.size"), Measurement::bytes(2.0 * 1024.0));
        assert_eq!(m("db.size"), Measurement::bytes(3_000_000.0));
        assert_eq!(m("index.size"), Measurement::bytes(512.0));
        assert_eq!(m("cache.hit_ratio"), Measurement::new(87.5, Unit::Percent));
        assert_eq!(
            m("jobs.throughput"),
            Measurement::new(420.0, Unit::PerSecond)
        );
        assert_eq!(m("queue.depth"), Measurement::count(42.0));
        assert_eq!(m("score"), Measurement::count(0.93));
        assert_eq!(m("temperature.delta"), Measurement::count(-1.5));
        assert_eq!(parsed.metrics.len(), 13);
    }

    #[test]
    fn bare_numbers_are_unitless_and_tool_is_optional() {
        let parsed = parse(&mut fixture("bare-numbers.json").as_bytes()).unwrap();
        assert_eq!(parsed.detail, None);
        assert_eq!(parsed.metrics["requests"], Measurement::count(1200.0));
        assert_eq!(parsed.metrics["errors"], Measurement::count(3.0));
        assert_eq!(parsed.metrics.len(), 2);
    }

    /// Why `parse` dropped `name`.
    fn dropped(text: &str, name: &str) -> String {
        let parsed = parse(&mut text.as_bytes()).expect("read");
        assert!(!parsed.metrics.contains_key(name), "{name} was kept");
        match parsed.dropped.get(name) {
            Some(why) => why.clone(),
            None => panic!("{name} not dropped: {:?}", parsed.dropped),
        }
    }

    #[test]
    fn an_unknown_unit_drops_that_metric_only() {
        let text = fixture("bad-unit.json");
        let why = dropped(&text, "render.p95");
        assert!(why.contains("`metrics.render.p95.unit`"), "{why}");
        assert!(why.contains("unknown unit `msec`"), "{why}");
        let parsed = parse(&mut text.as_bytes()).expect("read");
        assert_eq!(parsed.detail.as_deref(), Some("nightly-bench 2.3.0"));
        assert!(parsed.metrics.is_empty());
    }

    #[test]
    fn a_literal_nan_names_the_metric() {
        // Python's json.dumps writes NaN unquoted; JSON has no such token.
        let e = err(&fixture("nan-value.json"));
        assert!(e.contains("metrics.latency"), "{e}");
    }

    #[test]
    fn bad_values_are_dropped_naming_the_metric() {
        let doc = |metrics: &str| {
            format!(r#"{{"schema":"perfgate/metrics@1","metrics":{{"ok": 1, {metrics}}}}}"#)
        };
        let err = |text: &str| dropped(text, "x");
        let e = err(&doc(r#""x": "12ms""#));
        assert!(e.contains("field `metrics.x`: expected a number"), "{e}");
        assert!(e.contains("\"12ms\""), "{e}");
        let e = err(&doc(r#""x": {"value": "NaN", "unit": "ms"}"#));
        assert!(
            e.contains("field `metrics.x.value`: expected a number"),
            "{e}"
        );
        let e = err(&doc(r#""x": null"#));
        assert!(e.contains("field `metrics.x`") && e.contains("null"), "{e}");
        let e = err(&doc(r#""x": {"unit": "ms"}"#));
        assert!(e.contains("field `metrics.x`: missing `value`"), "{e}");
        let e = err(&doc(r#""x": {"value": 1, "units": "ms"}"#));
        assert!(e.contains("unknown key `units`"), "{e}");
        let e = err(&doc(r#""x": {"value": -3, "unit": "ms"}"#));
        assert!(
            e.contains("`metrics.x.value`") && e.contains("negative"),
            "{e}"
        );
        let e = err(&doc(r#""x": {"value": 1, "unit": 5}"#));
        assert!(
            e.contains("field `metrics.x.unit`: expected a string"),
            "{e}"
        );
        let e = err(&doc(r#""x": {"value": 1e306, "unit": "s"}"#));
        assert!(e.contains("`metrics.x.value`: 1e306 is too large"), "{e}");
        // The file itself is still refused when it is not JSON, or holds no metric at all.
        let e = format!(
            "{:#}",
            parse(&mut doc(r#""x": 1e999"#).as_bytes()).expect_err("not JSON")
        );
        assert!(e.contains("metrics.x"), "{e}");
        let e = format!(
            "{:#}",
            parse(&mut r#"{"schema":"perfgate/metrics@1","metrics":{}}"#.as_bytes())
                .expect_err("empty")
        );
        assert!(e.contains("field `metrics`: no metrics"), "{e}");
    }

    #[test]
    fn the_envelope_is_checked() {
        let e = err(r#"{"schema":"perfgate/metrics@1"}"#);
        assert!(e.contains("missing field `metrics`"), "{e}");
        let e = err(r#"{"schema":"perfgate/metrics@2","metrics":{"x":1}}"#);
        assert!(
            e.contains("field `schema`") && e.contains("perfgate/metrics@2"),
            "{e}"
        );
        let e = err(r#"{"schema":"perfgate/metrics@1","metrics":{"x":1},"metric":{}}"#);
        assert!(e.contains("unknown field `metric`"), "{e}");
        let e = err(r#"{"schema":"perfgate/metrics@1","metrics":{"x":"#);
        assert!(e.contains("EOF"), "{e}");
    }

    #[test]
    fn every_fixture_is_detected_as_json() {
        for name in [
            "all-units.json",
            "bare-numbers.json",
            "bad-unit.json",
            "nan-value.json",
        ] {
            let found = super::super::sniff(&fixture(name));
            assert!(
                matches!(found, Ok(super::super::Format::Json)),
                "{name}: {found:?}"
            );
        }
    }
}
