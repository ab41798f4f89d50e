//! k6 (wire shapes of k6 v1.1.0, internal/js/summary-wrapper.js and output/json): the two JSON
//! end-of-test summaries (`--summary-export`, the handleSummary `data` object) read whole, and the
//! `--out json` NDJSON stream read line by line into histograms.
//!
//! The one rule: names are k6's own — `<metric>.<stat>`, and a sub-metric in the syntax k6 users
//! write in thresholds, `http_req_duration{status:200}.p95` — and a metric k6 has no sample of is
//! absent, never 0. A value that fails validation costs only its metric (see [`Parsed::dropped`]):
//! one statistic of a summary, or in the stream every statistic of the metric one of whose points
//! is bad, with its sub-metrics.
//!
//! Statistics per k6 metric type: trend → `.p50 .p90 .p95 .p99 .avg .min .max` (ms for time
//! metrics, bytes for data ones, unitless otherwise) and `.count`; counter → `.count` and `.rate`
//! (/s); rate → `.rate` (% 0–100); gauge → `.value` (the last one). Percentiles from the stream
//! come from an HDR histogram (within 0.1 %, nearest rank), k6's own from its sorted samples
//! (linear interpolation): on small runs the two differ by up to the gap between neighbouring
//! samples. A counter's rate from the stream is over the span of its samples' timestamps; k6's
//! summary divides by the whole test run, setup and graceful stop included.
//!
//! Sub-metrics from the stream: one series per value of the tags k6 users filter on in thresholds
//! (`status`, `name`, `expected_response`, `method`, `scenario`, `group`), named
//! `metric{tag:value}`; at most [`MAX_SUB_SERIES`] of them per file (k6's default `name` is the
//! full URL, so cardinality is the user's), further values are counted in the detail, not broken
//! out. A stream describing more than [`MAX_METRICS`] metrics, or a metric name longer than
//! [`MAX_NAME_BYTES`], is refused. Samples of `setup()`/`teardown()` (group
//! `::setup`/`::teardown`) are left out: they are not the load under test.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::ops::{ControlFlow, Range};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::distribution::{Distribution, FastMap};
use super::reader::{same_format, Detect, Reader, Shard, Sniff, Whole};
use super::scan::Scan;
use super::stream::for_each_line;
use super::{from_json, non_negative, Parsed, MAX_NAME_BYTES};
use crate::model::{Measurement, Metrics, Unit};

/// k6's JSON summaries, read whole, and its `--out json` stream.
pub(crate) const READER: Reader = Reader {
    name: "k6",
    detect: Detect {
        json: |v| is_summary(v).then_some(Sniff::Read),
        stream: |head| is_stream_line(head.lines().next().unwrap_or("")),
        ..Detect::NONE
    },
    whole: Some(Whole::Json(parse)),
    stream: Some(|reader, lenient| Ok(Box::new(read_stream(reader, lenient)?))),
};

/// The most tag-value sub-metric series one stream makes.
const MAX_SUB_SERIES: usize = 256;

/// The most distinct metrics one stream may describe: each is a histogram of its own (200 KiB
/// for one whose largest sample is 10 s), so a stream of generated names would otherwise take
/// memory without bound. k6 itself makes about 20; a stream beyond the cap is refused.
const MAX_METRICS: usize = 256;

/// The longest value of a sub-metric tag: k6's default `name` is the request's URL, and 8 KiB
/// is the longest URL common servers accept (nginx's and Apache's default request line).
const MAX_TAG_VALUE_BYTES: usize = 8 << 10;

/// The tags sub-metrics are made for, as k6 names them.
const SUB_TAGS: [&str; 6] = [
    "status",
    "name",
    "expected_response",
    "method",
    "scenario",
    "group",
];

// ---------------------------------------------------------------------------------------------
// Whole-file summaries

/// Whether a JSON object is one of k6's end-of-test summaries.
fn is_summary(v: &Value) -> bool {
    v.get("metrics").is_some_and(Value::is_object) && v.get("root_group").is_some()
}

/// Reads a `--summary-export` file or handleSummary `data` JSON.
pub(crate) fn parse(input: &mut dyn BufRead) -> Result<Parsed> {
    let root: Map<String, Value> = from_json(input)?;
    let Some(Value::Object(metrics)) = root.get("metrics") else {
        bail!("field `metrics`: missing, or not an object (is this a k6 summary?)");
    };
    // handleSummary data keeps `type` and `values`; the export flattens them (summary-wrapper.js).
    let handle_summary = metrics
        .values()
        .any(|m| m.get("type").is_some() && m.get("values").is_some());
    let mut out = Metrics::new();
    let mut dropped = BTreeMap::new();
    let mut failed_thresholds = 0u32;
    let mut thresholds = 0u32;
    for (name, metric) in metrics {
        let field = format!("metrics.{name}");
        let Value::Object(metric) = metric else {
            bail!("field `{field}`: not an object");
        };
        let (kind, values) = if handle_summary {
            let kind = metric
                .get("type")
                .and_then(Value::as_str)
                .with_context(|| format!("field `{field}.type`: missing or not a string"))?;
            let Some(Value::Object(values)) = metric.get("values") else {
                bail!("field `{field}.values`: missing or not an object");
            };
            (kind, values)
        } else {
            (flat_kind(metric), metric)
        };
        let unit = match metric.get("contains").and_then(Value::as_str) {
            Some(contains) => contains_unit(contains),
            None => builtin_unit(name),
        };
        let at = if handle_summary {
            format!("{field}.values")
        } else {
            field.clone()
        };
        emit_summary_metric(name, kind, unit, values, &at, &mut out, &mut dropped)?;
        match metric.get("thresholds") {
            None | Some(Value::Null) => {}
            Some(Value::Object(t)) => {
                for (expr, state) in t {
                    let tfield = format!("{field}.thresholds.{expr}");
                    // The export writes `true` for a FAILED threshold (it is `!ok`);
                    // handleSummary writes `{ok: bool}`.
                    let failed = match state {
                        Value::Bool(b) if !handle_summary => *b,
                        Value::Object(o) => match o.get("ok") {
                            Some(Value::Bool(ok)) => !ok,
                            _ => bail!("field `{tfield}.ok`: missing or not a boolean"),
                        },
                        _ => bail!("field `{tfield}`: not a threshold result"),
                    };
                    thresholds += 1;
                    failed_thresholds += u32::from(failed);
                }
            }
            Some(_) => bail!("field `{field}.thresholds`: not an object"),
        }
    }
    if thresholds > 0 {
        out.insert(
            "thresholds.failed".into(),
            Measurement::count(failed_thresholds.into()),
        );
    }
    let detail = if handle_summary {
        "k6 handleSummary"
    } else {
        "k6 summary export"
    };
    Ok(Parsed {
        detail: Some(detail.into()),
        metrics: out,
        dropped,
        ..Parsed::default()
    })
}

/// The metric type of a `--summary-export` entry, told by its keys (the export drops `type`).
fn flat_kind(values: &Map<String, Value>) -> &'static str {
    let has = |k: &str| values.contains_key(k);
    if has("passes") && has("fails") {
        "rate"
    } else if has("avg") || has("med") || values.keys().any(|k| k.starts_with("p(")) {
        "trend"
    } else if has("count") && has("rate") {
        "counter"
    } else {
        "gauge"
    }
}

fn contains_unit(contains: &str) -> Unit {
    match contains {
        "time" => Unit::Ms,
        "data" => Unit::Bytes,
        _ => Unit::None,
    }
}

/// The unit of a metric in the export, which drops `contains`: k6's built-in time and data
/// metrics are known; a custom trend's unit is not written anywhere, so it stays unitless.
fn builtin_unit(name: &str) -> Unit {
    let base = name.split('{').next().unwrap_or(name);
    let time = base.starts_with("http_req_") && base != "http_req_failed"
        || matches!(
            base,
            "iteration_duration"
                | "group_duration"
                | "ws_connecting"
                | "ws_session_duration"
                | "ws_ping"
                | "grpc_req_duration"
        );
    if time {
        Unit::Ms
    } else if matches!(base, "data_sent" | "data_received") {
        Unit::Bytes
    } else {
        Unit::None
    }
}

/// One metric's statistics into `out`; a statistic whose value fails validation goes to
/// `dropped` with its reason, as each stands alone. `field` is where `values` are in the file.
fn emit_summary_metric(
    name: &str,
    kind: &str,
    unit: Unit,
    values: &Map<String, Value>,
    field: &str,
    out: &mut Metrics,
    dropped: &mut BTreeMap<String, String>,
) -> Result<()> {
    let get = |key: &str| -> Result<Option<f64>> {
        match values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                let v = n.as_f64().unwrap_or(f64::NAN);
                Ok(Some(non_negative(&format!("{field}.{key}"), v)?))
            }
            Some(other) => bail!("field `{field}.{key}`: {other} is not a number"),
        }
    };
    let mut put = |stat: &str, value: Result<Option<f64>>, unit: Unit| match value {
        Ok(Some(v)) => {
            out.insert(format!("{name}.{stat}"), Measurement::new(v, unit));
        }
        Ok(None) => {}
        Err(why) => {
            dropped.insert(format!("{name}.{stat}"), format!("{why:#}"));
        }
    };
    match kind {
        "trend" => {
            for (key, stat) in [
                ("med", "p50"),
                ("avg", "avg"),
                ("min", "min"),
                ("max", "max"),
            ] {
                put(stat, get(key), unit);
            }
            for key in values.keys() {
                if let Some(p) = key.strip_prefix("p(").and_then(|k| k.strip_suffix(')')) {
                    put(&format!("p{p}"), get(key), unit);
                }
            }
            put("count", get("count"), Unit::None);
        }
        "counter" => {
            put("count", get("count"), unit);
            put("rate", get("rate"), Unit::PerSecond);
        }
        "rate" => {
            // handleSummary keeps `rate`; the export renames it `value` (summary-wrapper.js).
            let ratio = match get("rate") {
                Ok(None) => get("value"),
                rate => rate,
            };
            put("rate", ratio.map(|r| r.map(|r| r * 100.0)), Unit::Percent);
        }
        "gauge" => put("value", get("value"), unit),
        other => bail!(
            "field `{}.type`: `{other}` is not a k6 metric type",
            field.strip_suffix(".values").unwrap_or(field)
        ),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The `--out json` stream

/// Whether a line is one of the `--out json` stream's lines (keys in any order).
fn is_stream_line(line: &str) -> bool {
    line.starts_with('{')
        && line.contains("\"metric\":\"")
        && (line.contains("\"type\":\"Point\"") || line.contains("\"type\":\"Metric\""))
}

// One line of k6 v1.1.0's output/json: `{"type":"Metric","data":{name,type,contains,…},"metric"}`
// or `{"metric","type":"Point","data":{time,value,tags}}`; strings borrowed from the line.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: LineKind,
    #[serde(borrow)]
    metric: Cow<'a, str>,
    #[serde(borrow)]
    data: Data<'a>,
}

#[derive(Deserialize, Clone, Copy)]
enum LineKind {
    Metric,
    Point,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(rename = "type", borrow, default)]
    metric_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    contains: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    time: Option<Cow<'a, str>>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(borrow, default)]
    tags: Option<Tags<'a>>,
}

#[derive(Deserialize, Default)]
struct Tags<'a> {
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    expected_response: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    scenario: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    group: Option<Cow<'a, str>>,
}

impl<'a> Tags<'a> {
    fn values(&self) -> [Option<&str>; 6] {
        [
            self.status.as_deref(),
            self.name.as_deref(),
            self.expected_response.as_deref(),
            self.method.as_deref(),
            self.scenario.as_deref(),
            self.group.as_deref(),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Trend,
    Counter,
    Rate,
    Gauge,
}

impl Kind {
    /// The statistics [`Series::emit`] makes of a series of this kind.
    fn stats(self) -> &'static [&'static str] {
        match self {
            Kind::Trend => &["p50", "p90", "p95", "p99", "avg", "min", "max", "count"],
            Kind::Counter => &["count", "rate"],
            Kind::Rate => &["rate"],
            Kind::Gauge => &["value"],
        }
    }
}

/// Why a metric of the stream is not read: the first of its points whose value it cannot take (a
/// negative sample of a custom Trend), which leaves that metric out rather than the whole run,
/// as a series short of a sample would pass for the whole.
#[derive(Debug, Clone)]
struct Broken {
    /// `line 12`, and `of <file>` once the shard is located.
    at: String,
    why: String,
}

#[derive(Debug)]
enum Series {
    Trend(Box<Distribution>),
    Counter {
        sum: f64,
        n: u64,
    },
    Rate {
        nonzero: u64,
        n: u64,
    },
    /// The value of the latest sample, `at` its time (ns since the epoch); of samples at the
    /// same time, the later line's.
    Gauge {
        last: f64,
        at: i128,
        n: u64,
    },
}

impl Series {
    fn new(kind: Kind) -> Series {
        match kind {
            Kind::Trend => Series::Trend(Box::new(Distribution::new())),
            Kind::Counter => Series::Counter { sum: 0.0, n: 0 },
            Kind::Rate => Series::Rate { nonzero: 0, n: 0 },
            Kind::Gauge => Series::Gauge {
                last: 0.0,
                at: i128::MIN,
                n: 0,
            },
        }
    }

    /// Records a sample taken at `ns` (nanoseconds since the epoch).
    fn record(&mut self, value: f64, ns: i128) -> std::result::Result<(), String> {
        match self {
            Series::Trend(d) => d.record(value)?,
            Series::Counter { sum, n } => {
                if !value.is_finite() || value < 0.0 {
                    return Err(format!("{value} is not a finite, non-negative count"));
                }
                *sum += value;
                *n += 1;
            }
            Series::Rate { nonzero, n } => {
                if !value.is_finite() {
                    return Err(format!("{value} is not a finite number"));
                }
                *nonzero += u64::from(value != 0.0);
                *n += 1;
            }
            Series::Gauge { last, at, n } => {
                if !value.is_finite() {
                    return Err(format!("{value} is not a finite number"));
                }
                if ns >= *at {
                    (*last, *at) = (value, ns);
                }
                *n += 1;
            }
        }
        Ok(())
    }

    /// How many samples the series holds.
    fn len(&self) -> u64 {
        match self {
            Series::Trend(d) => d.count(),
            Series::Counter { n, .. } | Series::Rate { n, .. } | Series::Gauge { n, .. } => *n,
        }
    }

    /// Adds the samples of the same series from another shard of the run; both are of one kind.
    fn merge(&mut self, other: Series) -> std::result::Result<(), String> {
        match (self, other) {
            (Series::Trend(a), Series::Trend(b)) => a.merge(&b)?,
            (Series::Counter { sum, n }, Series::Counter { sum: s, n: m }) => {
                *sum += s;
                *n += m;
            }
            (Series::Rate { nonzero, n }, Series::Rate { nonzero: z, n: m }) => {
                *nonzero += z;
                *n += m;
            }
            (
                Series::Gauge { last, at, n },
                Series::Gauge {
                    last: l,
                    at: t,
                    n: m,
                },
            ) => {
                if m > 0 && t >= *at {
                    (*last, *at) = (l, t);
                }
                *n += m;
            }
            _ => return Err("series of different metric types".into()),
        }
        Ok(())
    }

    fn emit(&self, name: &str, unit: Unit, span_s: Option<f64>, out: &mut Metrics) {
        match self {
            Series::Trend(d) => d.emit(name, "avg", unit, out),
            Series::Counter { sum, n } if *n > 0 => {
                out.insert(format!("{name}.count"), Measurement::new(*sum, unit));
                if let Some(span) = span_s.filter(|s| *s > 0.0) {
                    out.insert(
                        format!("{name}.rate"),
                        Measurement::new(sum / span, Unit::PerSecond),
                    );
                }
            }
            Series::Rate { nonzero, n } if *n > 0 => {
                let pct = *nonzero as f64 / *n as f64 * 100.0;
                out.insert(format!("{name}.rate"), Measurement::new(pct, Unit::Percent));
            }
            Series::Gauge { last, n, .. } if *n > 0 => {
                out.insert(format!("{name}.value"), Measurement::new(*last, unit));
            }
            _ => {}
        }
    }
}

/// A tag's value on the point being read: an index into that tag's values seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagValue {
    /// No such tag, or an empty value (the root group is `group:""`): no series.
    Absent,
    Value(usize),
    /// Beyond the tag's first [`MAX_SUB_SERIES`] values. No sub-series can be made for it: each
    /// earlier value made one at its first point or found the cap reached.
    Unlisted,
}

#[derive(Debug)]
struct StreamMetric {
    name: String,
    kind: Kind,
    unit: Unit,
    all: Series,
    broken: Option<Broken>,
    /// Per tag of [`SUB_TAGS`], indexed by the tag's value: the value's series in
    /// [`Stream::series`].
    subs: [Vec<Option<usize>>; 6],
}

/// What a stream has shown so far; memory is bounded by the number of series.
struct Stream {
    index: FastMap<usize, Box<[u8]>>,
    metrics: Vec<StreamMetric>,
    /// Every sub-metric series, at most [`MAX_SUB_SERIES`].
    series: Vec<Series>,
    /// Per tag of [`SUB_TAGS`], its values in order of appearance, at most [`MAX_SUB_SERIES`].
    values: [FastMap<usize>; 6],
    value_names: [Vec<String>; 6],
    /// The tags of the point being read.
    tags: [TagValue; 6],
    in_setup: bool,
    not_broken_out: u64,
    first_ns: i128,
    last_ns: i128,
    /// The time of the point being read (nanoseconds since the epoch), and as written.
    now_ns: i128,
    last_time: Vec<u8>,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            index: FastMap::default(),
            metrics: Vec::new(),
            series: Vec::new(),
            values: Default::default(),
            value_names: Default::default(),
            tags: [TagValue::Absent; 6],
            in_setup: false,
            not_broken_out: 0,
            first_ns: i128::MAX,
            last_ns: i128::MIN,
            now_ns: 0,
            last_time: Vec::with_capacity(40),
        }
    }

    /// A Metric line: the first description of a name counts.
    fn describe(&mut self, line: &Line, line_no: u64) -> Result<()> {
        if self.index.contains_key(line.metric.as_bytes()) {
            return Ok(());
        }
        let kind = match line.data.metric_type.as_deref() {
            Some("trend") => Kind::Trend,
            Some("counter") => Kind::Counter,
            Some("rate") => Kind::Rate,
            Some("gauge") => Kind::Gauge,
            Some(other) => {
                bail!("line {line_no}: field `data.type`: `{other}` is not a k6 metric type")
            }
            None => bail!("line {line_no}: field `data.type`: missing"),
        };
        if line.metric.len() > MAX_NAME_BYTES {
            bail!(
                "line {line_no}: field `metric`: a name of {} bytes, longer than the \
                 {MAX_NAME_BYTES} bytes perfgate takes",
                line.metric.len()
            );
        }
        if self.metrics.len() == MAX_METRICS {
            bail!(
                "line {line_no}: metric `{}` is one more than the {MAX_METRICS} distinct \
                 metrics perfgate reads from one stream",
                line.metric
            );
        }
        let unit = contains_unit(line.data.contains.as_deref().unwrap_or("default"));
        self.index
            .insert(line.metric.as_bytes().into(), self.metrics.len());
        self.metrics.push(StreamMetric {
            name: line.metric.to_string(),
            kind,
            unit,
            all: Series::new(kind),
            broken: None,
            subs: Default::default(),
        });
        Ok(())
    }

    /// Makes `values` (of [`SUB_TAGS`]) the tags of the points that follow; a value longer than
    /// [`MAX_TAG_VALUE_BYTES`] is refused, as it would be copied into a sub-metric's name.
    fn set_tags(&mut self, values: [Option<&str>; 6], line_no: u64) -> Result<()> {
        for (tag, value) in SUB_TAGS.iter().zip(&values) {
            if let Some(value) = value.filter(|v| v.len() > MAX_TAG_VALUE_BYTES) {
                bail!(
                    "line {line_no}: field `data.tags.{tag}`: a value of {} bytes, longer than \
                     the {MAX_TAG_VALUE_BYTES} bytes perfgate takes",
                    value.len()
                );
            }
        }
        self.in_setup = matches!(values[5], Some("::setup" | "::teardown"));
        for (slot, value) in values.into_iter().enumerate() {
            self.tags[slot] = match value {
                // Setup and teardown points are skipped: their tags take no place among the
                // tag's values.
                _ if self.in_setup => TagValue::Absent,
                None | Some("") => TagValue::Absent,
                Some(value) => {
                    if let Some(&i) = self.values[slot].get(value) {
                        TagValue::Value(i)
                    } else if self.value_names[slot].len() < MAX_SUB_SERIES {
                        let i = self.value_names[slot].len();
                        self.values[slot].insert(value.to_string(), i);
                        self.value_names[slot].push(value.to_string());
                        TagValue::Value(i)
                    } else {
                        TagValue::Unlisted
                    }
                }
            };
        }
        Ok(())
    }

    /// A Point line, with the tags last set.
    fn point(
        &mut self,
        name: &[u8],
        time: Option<&[u8]>,
        value: Option<f64>,
        line_no: u64,
    ) -> Result<()> {
        let Some(&m) = self.index.get(name) else {
            bail!(
                "line {line_no}: a point of `{}` before the line describing that metric",
                String::from_utf8_lossy(name)
            );
        };
        if self.in_setup {
            return Ok(());
        }
        let value =
            value.with_context(|| format!("line {line_no}: field `data.value`: missing"))?;
        let time = time.with_context(|| format!("line {line_no}: field `data.time`: missing"))?;
        // k6 stamps every metric of one request with the same time: parse it once.
        if time != self.last_time.as_slice() {
            let ns = rfc3339_ns(time).with_context(|| {
                format!(
                    "line {line_no}: field `data.time`: `{}` is not an RFC 3339 time",
                    String::from_utf8_lossy(time)
                )
            })?;
            self.first_ns = self.first_ns.min(ns);
            self.last_ns = self.last_ns.max(ns);
            self.now_ns = ns;
            self.last_time.clear();
            self.last_time.extend_from_slice(time);
        }
        let place = |e: String| anyhow::anyhow!("line {line_no}: field `data.value`: {e}");
        let (metric, ns) = (&mut self.metrics[m], self.now_ns);
        if metric.broken.is_none() {
            if let Err(why) = metric.all.record(value, ns) {
                metric.broken = Some(Broken {
                    at: format!("line {line_no}"),
                    why,
                });
            }
        }
        // A broken metric's points still make its sub-metric series, empty, so that every one
        // of them is named as dropped.
        let broken = metric.broken.is_some();
        for (slot, tag) in self.tags.iter().enumerate() {
            let v = match *tag {
                TagValue::Absent => continue,
                TagValue::Unlisted => {
                    self.not_broken_out += 1;
                    continue;
                }
                TagValue::Value(v) => v,
            };
            let subs = &mut metric.subs[slot];
            if subs.len() <= v {
                subs.resize(v + 1, None);
            }
            match subs[v] {
                Some(_) if broken => {}
                Some(i) => self.series[i].record(value, ns).map_err(place)?,
                None if self.series.len() < MAX_SUB_SERIES => {
                    let mut series = Series::new(metric.kind);
                    if !broken {
                        series.record(value, ns).map_err(place)?;
                    }
                    subs[v] = Some(self.series.len());
                    self.series.push(series);
                }
                None => self.not_broken_out += 1,
            }
        }
        Ok(())
    }

    /// What the stream showed, keyed by name for shards to merge.
    fn into_aggregate(self, truncated: Option<u64>) -> Aggregate {
        // Each sub-series' key, by its index in `series` (the order they were made in).
        let mut keys = vec![None; self.series.len()];
        for (m, metric) in self.metrics.iter().enumerate() {
            for (slot, subs) in metric.subs.iter().enumerate() {
                for (v, series) in subs.iter().enumerate() {
                    if let Some(i) = *series {
                        keys[i] = Some((m, slot, v));
                    }
                }
            }
        }
        let subs = keys
            .into_iter()
            .zip(self.series)
            .filter_map(|(key, series)| {
                let (m, slot, v) = key?;
                Some(SubSeries {
                    metric: self.metrics[m].name.clone(),
                    tag: slot,
                    value: self.value_names[slot][v].clone(),
                    series,
                })
            })
            .collect();
        Aggregate {
            metrics: self
                .metrics
                .into_iter()
                .map(|m| AggregateMetric {
                    name: m.name,
                    kind: m.kind,
                    unit: m.unit,
                    all: m.all,
                    broken: m.broken,
                })
                .collect(),
            subs,
            first_ns: self.first_ns,
            last_ns: self.last_ns,
            not_broken_out: self.not_broken_out,
            truncated: truncated.map(|line| line.to_string()).into_iter().collect(),
        }
    }
}

/// A k6 stream read into the raw state its metrics come from: per series the samples' histogram,
/// counts, sums or last value, and the first and last timestamps. Shards of one run (several k6
/// processes) add up exactly ([`Aggregate::merge`]); [`Aggregate::finish`] makes the metrics.
#[derive(Debug)]
pub(crate) struct Aggregate {
    /// Every metric described, in order of description.
    metrics: Vec<AggregateMetric>,
    /// Every sub-metric series, in the order they were made, at most [`MAX_SUB_SERIES`].
    subs: Vec<SubSeries>,
    first_ns: i128,
    last_ns: i128,
    not_broken_out: u64,
    /// Where a truncated last line was skipped: its line number, and file once merged.
    truncated: Vec<String>,
}

#[derive(Debug)]
struct AggregateMetric {
    name: String,
    kind: Kind,
    unit: Unit,
    all: Series,
    broken: Option<Broken>,
}

/// The samples of `metric` whose tag [`SUB_TAGS`]`[tag]` is `value`.
#[derive(Debug)]
struct SubSeries {
    metric: String,
    tag: usize,
    value: String,
    series: Series,
}

impl Aggregate {
    /// Names the file in the notes of truncated lines, before shards are merged.
    pub(crate) fn locate(&mut self, file: &str) {
        for at in &mut self.truncated {
            *at = format!("{at} of {file}");
        }
        for broken in self.metrics.iter_mut().filter_map(|m| m.broken.as_mut()) {
            broken.at = format!("{} of {file}", broken.at);
        }
    }

    /// Adds another shard of the same run. A metric both describe must be of one type and unit.
    /// A sub-series is kept only where every shard that reached the cap (and so may have left
    /// samples of it out) has it; the others, and any beyond [`MAX_SUB_SERIES`], are counted as
    /// not broken out, so no sub-series is ever short of samples.
    pub(crate) fn merge(&mut self, other: Aggregate) -> Result<()> {
        for metric in other.metrics {
            match self.metrics.iter_mut().find(|m| m.name == metric.name) {
                Some(m) if m.kind != metric.kind || m.unit != metric.unit => bail!(
                    "metric `{}` is a {:?} of {} here but a {:?} of {} in the shards before",
                    m.name,
                    metric.kind,
                    metric.unit.kind_name(),
                    m.kind,
                    m.unit.kind_name()
                ),
                Some(m) if m.broken.is_some() => {}
                Some(m) if metric.broken.is_some() => m.broken = metric.broken,
                Some(m) => m
                    .all
                    .merge(metric.all)
                    .map_err(|e| anyhow::anyhow!("metric `{}`: {e}", m.name))?,
                None => self.metrics.push(metric),
            }
        }
        let (self_capped, other_capped) = (self.not_broken_out > 0, other.not_broken_out > 0);
        let mut left_out = other.not_broken_out;
        let mut theirs: Vec<Option<SubSeries>> = other.subs.into_iter().map(Some).collect();
        let mut merged = Vec::with_capacity(self.subs.len());
        for mut sub in std::mem::take(&mut self.subs) {
            let same = theirs.iter_mut().find(|t| {
                t.as_ref().is_some_and(|t| {
                    (&t.metric, t.tag, &t.value) == (&sub.metric, sub.tag, &sub.value)
                })
            });
            match same.and_then(Option::take) {
                Some(t) => {
                    sub.series
                        .merge(t.series)
                        .map_err(|e| anyhow::anyhow!("metric `{}`: {e}", sub.metric))?;
                    merged.push(sub);
                }
                None if other_capped => left_out += sub.series.len(),
                None => merged.push(sub),
            }
        }
        for t in theirs.into_iter().flatten() {
            if self_capped {
                left_out += t.series.len();
            } else {
                merged.push(t);
            }
        }
        if merged.len() > MAX_SUB_SERIES {
            left_out += merged
                .drain(MAX_SUB_SERIES..)
                .map(|s| s.series.len())
                .sum::<u64>();
        }
        self.subs = merged;
        self.not_broken_out += left_out;
        self.first_ns = self.first_ns.min(other.first_ns);
        self.last_ns = self.last_ns.max(other.last_ns);
        self.truncated.extend(other.truncated);
        Ok(())
    }

    /// The metrics, computed once from the (merged) state.
    pub(crate) fn finish(self) -> Result<Parsed> {
        if self.metrics.is_empty() {
            bail!("no k6 metric in the stream");
        }
        let span_s =
            (self.last_ns > self.first_ns).then(|| (self.last_ns - self.first_ns) as f64 / 1e9);
        let no_data = self
            .metrics
            .iter()
            .filter(|m| m.all.len() == 0 && m.broken.is_none())
            .map(|m| m.name.clone())
            .collect();
        let mut dropped = BTreeMap::new();
        let mut broken: FastMap<(Kind, Broken)> = FastMap::default();
        for m in &self.metrics {
            if let Some(b) = &m.broken {
                broken.insert(m.name.clone(), (m.kind, b.clone()));
            }
        }
        // Every statistic of a broken metric, and of its sub-metrics, is dropped with the point
        // that broke it.
        let mut drop_all = |name: &str, metric: &str| {
            let (kind, b) = &broken[metric];
            for stat in kind.stats() {
                dropped.insert(
                    format!("{name}.{stat}"),
                    format!(
                        "{}: field `data.value`: {} (a point of `{metric}`; its other points are \
                         not read either)",
                        b.at, b.why
                    ),
                );
            }
        };
        let mut out = Metrics::new();
        let mut distributions = BTreeMap::new();
        let mut put = |name: String, series: Series, unit: Unit| {
            series.emit(&name, unit, span_s, &mut out);
            if let Series::Trend(d) = series {
                distributions.insert(name, d.into_histogram());
            }
        };
        let units: FastMap<Unit> = self
            .metrics
            .iter()
            .map(|m| (m.name.clone(), m.unit))
            .collect();
        for metric in self.metrics {
            if metric.broken.is_some() {
                drop_all(&metric.name, &metric.name);
            } else {
                put(metric.name, metric.all, metric.unit);
            }
        }
        for sub in self.subs {
            let name = format!("{}{{{}:{}}}", sub.metric, SUB_TAGS[sub.tag], sub.value);
            if broken.contains_key(&sub.metric) {
                drop_all(&name, &sub.metric);
            } else {
                put(name, sub.series, units[&sub.metric]);
            }
        }
        let mut detail = "k6 JSON stream".to_string();
        if self.not_broken_out > 0 {
            detail += &format!(
                "; {} samples' tag values beyond the first {MAX_SUB_SERIES} \
                 sub-metric series not broken out",
                self.not_broken_out
            );
        }
        if !self.truncated.is_empty() {
            detail += &format!(
                "; truncated last line {} skipped",
                self.truncated.join(", ")
            );
        }
        Ok(Parsed {
            detail: Some(detail),
            metrics: out,
            distributions,
            no_data,
            dropped,
            ..Parsed::default()
        })
    }
}

/// A Point line as the byte scanner read it: where its strings are in the (trimmed) line.
struct FastPoint {
    metric: Range<u32>,
    time: Range<u32>,
    value: f64,
    tags: FastTags,
}

enum FastTags {
    Absent,
    /// The same bytes as the previous line's tags.
    Same,
    /// The tags object, and the values of [`SUB_TAGS`] in it.
    New {
        raw: Range<u32>,
        values: [Option<Range<u32>>; 6],
    },
}

/// The scan of the reading thread: what it can read of each line without the stream's state.
/// It remembers the last tags it read, which k6 repeats for every metric of a request.
#[derive(Default)]
struct Scanner {
    tags: Vec<u8>,
}

impl Scanner {
    /// Reads a Point line with the byte scanner ([`Scan`]); `None` for anything it does not take
    /// (Metric lines, escapes, odd shapes, errors), which serde_json then reads in order.
    fn scan(&mut self, line: &[u8]) -> Option<FastPoint> {
        let line = line.trim_ascii();
        let point = scan_k6_layout(line, &self.tags).or_else(|| scan_any_layout(line, &self.tags));
        match &point {
            Some(FastPoint {
                tags: FastTags::Same,
                ..
            }) => {}
            Some(FastPoint {
                tags: FastTags::New { raw, .. },
                ..
            }) => {
                self.tags.clear();
                self.tags
                    .extend_from_slice(&line[raw.start as usize..raw.end as usize]);
            }
            _ => self.tags.clear(),
        }
        point
    }
}

/// A Point line exactly as k6 writes it, key for key and without spaces:
/// `{"metric":"…","type":"Point","data":{"time":"…","value":…,"tags":{…}}}`, where the script
/// set metadata with a `"metadata":{…}` after the tags.
fn scan_k6_layout(line: &[u8], previous_tags: &[u8]) -> Option<FastPoint> {
    let mut s = Scan::new(line);
    s.literal(br#"{"metric":""#)?;
    let metric = s.string_rest()?;
    std::str::from_utf8(metric).ok()?;
    s.literal(br#","type":"Point","data":{"time":""#)?;
    let time = s.string_rest().filter(|t| t.is_ascii())?;
    s.literal(br#","value":"#)?;
    let value = s.number()?;
    let tags = match s.literal(br#","tags":"#) {
        Some(()) => scan_tags(&mut s, previous_tags)?,
        None => FastTags::Absent,
    };
    if s.literal(br#","metadata":"#).is_some() {
        s.skip_value()?;
    }
    s.literal(b"}}")?;
    s.at_end().then(|| FastPoint {
        metric: s.span(metric),
        time: s.span(time),
        value,
        tags,
    })
}

/// A Point line with its keys in any order, with whitespace and keys perfgate does not read.
fn scan_any_layout(line: &[u8], previous_tags: &[u8]) -> Option<FastPoint> {
    let mut s = Scan::new(line);
    let (mut metric, mut point, mut data) = (None, false, None);
    s.object(|s, key| {
        match key {
            b"metric" if metric.is_none() => metric = Some(s.string()?),
            b"type" if !point => {
                point = s.raw_string()? == b"Point";
                if !point {
                    return None;
                }
            }
            b"data" if data.is_none() => data = Some(scan_point_data(s, previous_tags)?),
            b"metric" | b"type" | b"data" => return None,
            _ => s.skip_value()?,
        }
        Some(())
    })?;
    if !point || !s.at_end() {
        return None;
    }
    let (time, value, tags) = data?;
    Some(FastPoint {
        metric: s.span(metric?.as_bytes()),
        time: s.span(time?),
        value: value?,
        tags,
    })
}

type FastData<'a> = (Option<&'a [u8]>, Option<f64>, FastTags);

fn scan_point_data<'a>(s: &mut Scan<'a>, previous_tags: &[u8]) -> Option<FastData<'a>> {
    let (mut time, mut value, mut tags) = (None, None, None);
    s.object(|s, key| {
        match key {
            b"time" if time.is_none() => time = Some(s.raw_string().filter(|t| t.is_ascii())?),
            b"value" if value.is_none() => value = Some(s.number()?),
            b"tags" if tags.is_none() => tags = Some(scan_tags(s, previous_tags)?),
            // A Point's data has no `type` or `contains`: serde_json decides what they mean.
            b"time" | b"value" | b"tags" | b"type" | b"contains" => return None,
            _ => s.skip_value()?,
        }
        Some(())
    })?;
    Some((time, value, tags.unwrap_or(FastTags::Absent)))
}

fn scan_tags(s: &mut Scan, previous: &[u8]) -> Option<FastTags> {
    if !previous.is_empty() && s.rest().starts_with(previous) {
        s.advance(previous.len());
        return Some(FastTags::Same);
    }
    s.rest();
    let start = s.offset();
    let mut values = [const { None }; 6];
    s.object(|s, key| {
        let value = s.string()?;
        if let Some(i) = SUB_TAGS.iter().position(|t| t.as_bytes() == key) {
            if values[i].replace(s.span(value.as_bytes())).is_some() {
                return None;
            }
        }
        Some(())
    })?;
    Some(FastTags::New {
        raw: s.span(s.since(start)),
        values,
    })
}

/// Reads a `--out json` stream into its [`Aggregate`], for [`parse_stream`] or to merge shards.
pub(crate) fn read_stream(reader: &mut (dyn BufRead + Send), lenient: bool) -> Result<Aggregate> {
    let mut stream = Stream::new();
    let mut truncated = None;
    let mut scanner = Scanner::default();
    let scan = move |line: &[u8]| scanner.scan(line);
    for_each_line(reader, scan, |line, scanned| {
        let (line_no, bytes) = (line.number, line.bytes.trim_ascii());
        if bytes.is_empty() {
            return Ok(ControlFlow::Continue(()));
        }
        if let Some(point) = scanned {
            let at = |r: &Range<u32>| &bytes[r.start as usize..r.end as usize];
            match &point.tags {
                FastTags::Same => {}
                FastTags::Absent => stream.set_tags([None; 6], line_no)?,
                FastTags::New { values, .. } => stream.set_tags(
                    values
                        .each_ref()
                        .map(|v| v.as_ref().and_then(|r| std::str::from_utf8(at(r)).ok())),
                    line_no,
                )?,
            }
            stream.point(
                at(&point.metric),
                Some(at(&point.time)),
                Some(point.value),
                line_no,
            )?;
            return Ok(ControlFlow::Continue(()));
        }
        let parsed: Line = match serde_json::from_slice(bytes) {
            Ok(parsed) => parsed,
            Err(e) if !line.complete && e.is_eof() => {
                if lenient {
                    truncated = Some(line_no);
                    return Ok(ControlFlow::Break(()));
                }
                bail!(
                    "line {line_no} is truncated: the file ends mid-line (was k6 stopped while writing?); {}",
                    super::stream::LENIENT_HINT
                )
            }
            Err(e) => bail!("line {line_no}: not a k6 JSON output line: {e}"),
        };
        match parsed.kind {
            LineKind::Metric => stream.describe(&parsed, line_no)?,
            LineKind::Point => {
                let tags = parsed.data.tags.unwrap_or_default();
                stream.set_tags(tags.values(), line_no)?;
                stream.point(
                    parsed.metric.as_bytes(),
                    parsed.data.time.as_deref().map(str::as_bytes),
                    parsed.data.value,
                    line_no,
                )?;
            }
        }
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(stream.into_aggregate(truncated))
}

/// Nanoseconds since the Unix epoch of an RFC 3339 time as k6 writes it
/// (`2024-08-05T15:24:38.952806+07:00`, `…Z`, up to nanosecond precision).
fn rfc3339_ns(b: &[u8]) -> Option<i128> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut frac_ns: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = &b[start..i];
        if digits.is_empty() {
            return None;
        }
        let mut scale = 100_000_000;
        for d in digits.iter().take(9) {
            frac_ns += i128::from(d - b'0') * scale;
            scale /= 10;
        }
    }
    let offset_s: i64 = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let off = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Some(i128::from(secs) * 1_000_000_000 + frac_ns)
}

impl Shard for Aggregate {
    fn locate(&mut self, file: &str) {
        Aggregate::locate(self, file);
    }

    fn absorb(&mut self, other: Box<dyn Shard>) -> Result<()> {
        self.merge(same_format(other)?)
    }

    fn finish(self: Box<Self>) -> Result<Parsed> {
        Aggregate::finish(*self)
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A stream read to its metrics, as one file.
    fn parse_stream(reader: &mut (dyn BufRead + Send), lenient: bool) -> Result<Parsed> {
        read_stream(reader, lenient)?.finish()
    }

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/k6");

    fn stream(file: &str) -> Parsed {
        let mut reader =
            super::super::open(std::path::Path::new(&format!("{DIR}/{file}"))).expect("open");
        parse_stream(&mut reader, false).expect("parse")
    }

    fn summary(file: &str) -> Parsed {
        parse(
            &mut std::fs::read_to_string(format!("{DIR}/{file}"))
                .expect("read")
                .as_bytes(),
        )
        .expect("parse")
    }

    fn v(p: &Parsed, name: &str) -> f64 {
        p.metrics
            .get(name)
            .unwrap_or_else(|| panic!("no metric {name}"))
            .value
    }

    fn err(text: &str) -> String {
        format!(
            "{:#}",
            parse_stream(&mut text.as_bytes(), false).expect_err("an error")
        )
    }

    #[test]
    fn the_summary_export_reads_flat_values_and_failed_thresholds() {
        let p = summary("run.summary-export.json");
        assert_eq!(p.detail.as_deref(), Some("k6 summary export"));
        let close = |name: &str, want: f64| {
            let m = p.metrics[name];
            assert!(
                m.unit == Unit::Ms && (m.value - want).abs() < 1e-9,
                "{name}: {m:?}"
            );
        };
        close("http_req_duration.p95", 117.5986273);
        close("http_req_duration.p50", 57.837216999999995);
        close("http_req_duration{name:search}.p95", 120.17808260000001);
        assert_eq!(v(&p, "http_req_duration.count"), 38.0);
        assert_eq!(v(&p, "http_reqs.count"), 38.0);
        assert_eq!(p.metrics["http_reqs.rate"].unit, Unit::PerSecond);
        assert_eq!(p.metrics["data_received.count"].unit, Unit::Bytes);
        assert_eq!(p.metrics["http_req_failed.rate"].unit, Unit::Percent);
        let failed = v(&p, "http_req_failed.rate");
        assert!((failed - 2.0 / 38.0 * 100.0).abs() < 1e-9, "{failed}");
        // `p(95)<100` and `p(95)<60` on search failed; the http_req_failed and checks ones too.
        assert_eq!(v(&p, "thresholds.failed"), 4.0);
    }

    #[test]
    fn handle_summary_data_agrees_with_the_export_of_the_same_run() {
        let h = summary("run.handle-summary.json");
        let e = summary("run.summary-export.json");
        assert_eq!(h.detail.as_deref(), Some("k6 handleSummary"));
        for name in [
            "http_req_duration.p95",
            "http_req_duration.avg",
            "http_req_failed.rate",
            "checks.rate",
            "iterations.count",
            "vus_max.value",
            "thresholds.failed",
        ] {
            assert_eq!(h.metrics[name], e.metrics[name], "{name}");
        }
        assert_eq!(h.metrics["data_sent.count"].unit, Unit::Bytes);
    }

    #[test]
    fn the_stream_agrees_with_k6s_own_summary_of_the_same_run() {
        let s = stream("run.points.ndjson");
        let e = summary("run.summary-export.json");
        assert_eq!(s.detail.as_deref(), Some("k6 JSON stream"));
        for name in [
            "http_req_duration",
            "http_req_duration{name:search}",
            "http_req_waiting",
            "iteration_duration",
        ] {
            // Exact: count, min, max, mean. Percentiles: the histogram's nearest rank (0.1 %)
            // against k6's interpolation between the two nearest of 19–38 samples.
            assert_eq!(
                v(&s, &format!("{name}.count")),
                v(&e, &format!("{name}.count"))
            );
            for stat in ["min", "max", "avg"] {
                let (a, b) = (
                    v(&s, &format!("{name}.{stat}")),
                    v(&e, &format!("{name}.{stat}")),
                );
                assert!(
                    (a - b).abs() <= 1e-9 * b.max(1.0),
                    "{name}.{stat}: {a} vs {b}"
                );
            }
            let samples = samples_of(name);
            for (stat, q) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)] {
                // Ours: the nearest-rank sample, within the histogram's 0.1 %.
                let ours = v(&s, &format!("{name}.{stat}"));
                let rank = ((q * samples.len() as f64).ceil() as usize).max(1);
                let nearest = samples[rank - 1];
                assert!(
                    (ours - nearest).abs() <= nearest * 0.001,
                    "{name}.{stat}: {ours} vs {nearest}"
                );
                // k6's: interpolated between the samples either side of the same position.
                let k6 = v(&e, &format!("{name}.{stat}"));
                let pos = q * (samples.len() - 1) as f64;
                let (lo, hi) = (samples[pos.floor() as usize], samples[pos.ceil() as usize]);
                assert!(
                    k6 >= lo - 1e-9 && k6 <= hi + 1e-9,
                    "{name}.{stat}: k6 {k6} not in [{lo}, {hi}]"
                );
                assert!(
                    ours >= samples[pos.floor() as usize] * 0.999,
                    "{name}.{stat}"
                );
            }
        }
        assert_eq!(v(&s, "http_reqs.count"), 38.0);
        for name in ["http_req_failed.rate", "checks.rate"] {
            assert!((v(&s, name) - v(&e, name)).abs() < 1e-9, "{name}");
        }
        assert_eq!(v(&s, "data_received.count"), v(&e, "data_received.count"));
        assert_eq!(s.metrics["data_received.count"].unit, Unit::Bytes);
        assert_eq!(v(&s, "http_reqs{status:500}.count"), 2.0);
        assert_eq!(v(&s, "http_reqs{name:search}.count"), 19.0);
        assert!(s
            .metrics
            .contains_key("http_req_duration{expected_response:true}.p95"));
        assert!(s
            .metrics
            .contains_key("http_req_duration{group:::browse}.p95"));
        assert!(s.metrics.contains_key("http_req_duration{method:GET}.p95"));
        assert!(s
            .metrics
            .contains_key("http_req_duration{scenario:api}.p95"));
        // Over the samples' time span, not k6's whole test run: the same order of magnitude.
        let (rate, k6_rate) = (v(&s, "http_reqs.rate"), v(&e, "http_reqs.rate"));
        assert!(
            rate > k6_rate && rate < 2.0 * k6_rate,
            "{rate} vs {k6_rate}"
        );
    }

    /// Every percentile of every trend series the stream makes is within 0.1 % of its exact
    /// nearest-rank sample, down to the few-microsecond ones (`http_req_blocked`, whose p50 was
    /// 0.006 ms for a sample of 0.005929 while the histogram held whole microseconds).
    #[test]
    fn every_percentile_is_within_a_thousandth_of_its_sample_down_to_microseconds() {
        let s = stream("run.points.ndjson");
        let (mut checked, mut below_10_us) = (0, 0);
        for series in s.distributions.keys() {
            let samples = samples_of(series);
            for (stat, pct) in [("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)] {
                let rank = (pct * samples.len()).div_ceil(100).max(1);
                let exact = samples[rank - 1];
                let ours = v(&s, &format!("{series}.{stat}"));
                assert!(
                    (ours - exact).abs() <= exact * 0.001,
                    "{series}.{stat}: {ours} vs the sample {exact}"
                );
                checked += 1;
                below_10_us += usize::from(exact > 0.0 && exact < 0.01);
            }
        }
        assert!(
            checked > 200 && below_10_us > 12,
            "{checked} percentiles, {below_10_us} below 10 µs"
        );
    }

    /// The sorted values of a metric's points in run.points.ndjson (setup left out), read with
    /// serde_json::Value as an independent check of the stream reader.
    fn samples_of(name: &str) -> Vec<f64> {
        let text = std::fs::read_to_string(format!("{DIR}/run.points.ndjson")).expect("read");
        let (metric, tag) = match name.split_once('{') {
            Some((m, t)) => (m, t.trim_end_matches('}').split_once(':')),
            None => (name, None),
        };
        let mut values: Vec<f64> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("json"))
            .filter(|l| l["type"] == "Point" && l["metric"] == metric)
            .filter(|l| l["data"]["tags"]["group"] != "::setup")
            .filter(|l| tag.is_none_or(|(k, val)| l["data"]["tags"][k] == val))
            .map(|l| l["data"]["value"].as_f64().expect("value"))
            .collect();
        values.sort_by(f64::total_cmp);
        values
    }

    #[test]
    fn a_gzipped_stream_reads_the_same() {
        let plain = stream("run.points.ndjson");
        let gz = stream("run.points.ndjson.gz");
        assert_eq!(plain.metrics, gz.metrics);
    }

    /// Point lines in every shape the scanner should take: k6's own, reordered, spaced, with
    /// keys it skips, without tags.
    fn point_lines() -> Vec<String> {
        let mut lines: Vec<String> = std::fs::read_to_string(format!("{DIR}/run.points.ndjson"))
            .expect("read")
            .lines()
            .filter(|l| l.contains(r#""type":"Point""#))
            .step_by(40)
            .map(str::to_string)
            .collect();
        lines.extend([
            r#" { "data" : { "tags" : { "status" : "200", "zone": "eu" , "name":"né" }, "value" : -1.5e-3 , "time" : "2024-08-05T15:24:38.952806+07:00", "metadata": {"vu": "3", "n": [1, {"a": null}, true, false]} } , "type" : "Point", "extra": 7, "metric" : "m" } "#.to_string(),
            r#"{"metric":"m","type":"Point","data":{"time":"2024-08-05T08:24:40.5Z","value":0}}"#.to_string(),
            r#"{"metric":"m","type":"Point","data":{"time":"2024-08-05T08:24:40.5Z","value":3.25,"tags":{"status":"200"},"metadata":{"trace_id":"abc123"}}}"#.to_string(),
            r#"{"metric":"m","type":"Point","data":{"time":"2024-08-05T08:24:40.5Z","value":12,"tags":{}}}"#.to_string(),
        ]);
        lines
    }

    /// The byte scanner is only a fast path: whatever it takes, serde_json reads the same way,
    /// down to the bits of the value; everything else it leaves to serde_json. Checked on real
    /// and hand-made lines, every prefix of them, and every byte of them replaced by each of a
    /// set of bytes that matter to JSON.
    #[test]
    fn the_byte_scanner_agrees_with_serde_json_or_leaves_the_line_to_it() {
        let (mut cases, mut taken) = (0, 0);
        for line in point_lines() {
            let line = line.as_bytes();
            assert!(
                Scanner::default().scan(line).is_some(),
                "{}",
                String::from_utf8_lossy(line)
            );
            let mut variants = vec![line.to_vec()];
            variants.extend((0..line.len()).map(|cut| line[..cut].to_vec()));
            for at in 0..line.len() {
                for b in *b" \"\\{}[],:0-e.xn\x01\xff" {
                    let mut v = line.to_vec();
                    v[at] = b;
                    variants.push(v);
                }
            }
            for v in variants {
                cases += 1;
                let Some(p) = Scanner::default().scan(&v) else {
                    continue;
                };
                taken += 1;
                let trimmed = v.trim_ascii();
                let shown = String::from_utf8_lossy(&v);
                let l: Line = serde_json::from_slice(trimmed)
                    .unwrap_or_else(|e| panic!("taken, but serde_json refuses {shown}: {e}"));
                assert!(matches!(l.kind, LineKind::Point), "{shown}");
                let at = |r: &Range<u32>| &trimmed[r.start as usize..r.end as usize];
                assert_eq!(at(&p.metric), l.metric.as_bytes(), "{shown}");
                assert_eq!(Some(at(&p.time)), l.data.time.as_deref().map(str::as_bytes));
                assert_eq!(
                    Some(p.value.to_bits()),
                    l.data.value.map(f64::to_bits),
                    "{shown}"
                );
                let tags = l.data.tags.unwrap_or_default();
                let scanned: [Option<&[u8]>; 6] = match &p.tags {
                    FastTags::New { values, .. } => values.each_ref().map(|v| v.as_ref().map(at)),
                    FastTags::Absent => [None; 6],
                    FastTags::Same => panic!("a fresh scanner has no tags to repeat"),
                };
                assert_eq!(
                    scanned,
                    tags.values().map(|t| t.map(str::as_bytes)),
                    "{shown}"
                );
            }
        }
        // Most variants are broken JSON; some still are Point lines (a digit for a digit, a
        // space for a space).
        assert!(taken > 100 && taken < cases / 2, "{taken} of {cases}");
    }

    /// The stream read with the scanner equals the stream read by serde_json alone: the same
    /// text with every Point's `"Point"` spelt with an escape, which the scanner never takes.
    #[test]
    fn a_stream_reads_the_same_with_and_without_the_byte_scanner() {
        for file in ["run.points.ndjson", "setup.points.ndjson"] {
            let text = std::fs::read_to_string(format!("{DIR}/{file}")).expect("read");
            let slow = text.replace(r#""type":"Point""#, r#""type":"\u0050oint""#);
            assert_ne!(text, slow);
            let fast = parse_stream(&mut text.as_bytes(), false).expect("fast");
            let slow = parse_stream(&mut slow.as_bytes(), false).expect("slow");
            assert_eq!(fast.metrics, slow.metrics, "{file}");
            assert_eq!(fast.distributions, slow.distributions, "{file}");
            assert_eq!(fast.detail, slow.detail, "{file}");
        }
    }

    #[test]
    fn the_scanner_knows_a_requests_repeated_tags() {
        let lines: Vec<String> = std::fs::read_to_string(format!("{DIR}/run.points.ndjson"))
            .expect("read")
            .lines()
            .filter(|l| l.contains(r#""type":"Point""#))
            .map(str::to_string)
            .collect();
        let mut scanner = Scanner::default();
        let (mut same, mut new) = (0, 0);
        for line in &lines {
            match scanner.scan(line.as_bytes()).expect("a k6 line").tags {
                FastTags::Same => same += 1,
                FastTags::New { .. } => new += 1,
                FastTags::Absent => {}
            }
        }
        assert!(same > 3 * new, "{same} repeated, {new} new");
    }

    #[test]
    fn setup_samples_are_left_out() {
        let s = stream("setup.points.ndjson");
        let mut text = String::new();
        std::fs::File::open(format!("{DIR}/setup.points.ndjson"))
            .and_then(|mut f| f.read_to_string(&mut text))
            .expect("read");
        let requests = text
            .lines()
            .filter(|l| l.contains("\"metric\":\"http_reqs\"") && l.contains("Point"))
            .count();
        let in_setup = text
            .lines()
            .filter(|l| l.contains("\"metric\":\"http_reqs\"") && l.contains("::setup"))
            .count();
        assert_eq!(in_setup, 1);
        assert_eq!(v(&s, "http_reqs.count"), (requests - in_setup) as f64);
        assert!(!s.metrics.keys().any(|k| k.contains("::setup")));
    }

    #[test]
    fn bad_streams_name_the_line() {
        let metric = r#"{"type":"Metric","data":{"name":"x","type":"trend","contains":"time"},"metric":"x"}"#;
        let point = r#"{"metric":"x","type":"Point","data":{"time":"2024-08-05T15:24:38.95+07:00","value":4,"tags":{}}}"#;
        let e = err(&format!("{metric}\n{point}\n{}", &point[..40]));
        assert!(e.contains("line 3 is truncated"), "{e}");
        let cut = format!("{metric}\n{point}\n{}", &point[..40]);
        let p = parse_stream(&mut cut.as_bytes(), true).expect("lenient");
        assert_eq!(v(&p, "x.count"), 1.0);
        assert_eq!(
            p.detail.as_deref(),
            Some("k6 JSON stream; truncated last line 3 skipped")
        );
        // A value the metric cannot take leaves that metric out, with the line.
        let bad = format!("{metric}\n{}\n", point.replace("4,", "-4,"));
        let p = parse_stream(&mut bad.as_bytes(), false).expect("read");
        assert!(p.metrics.is_empty() && p.no_data.is_empty());
        assert_eq!(
            p.dropped["x.p95"],
            "line 2: field `data.value`: -4 is not a finite, non-negative sample value (a point \
             of `x`; its other points are not read either)"
        );
        let e = err(&format!("{metric}\n{}\n", point.replace("+07:00", "")));
        assert!(e.contains("line 2: field `data.time`"), "{e}");
        let e = err(&point.replace("\"x\"", "\"y\""));
        assert!(e.contains("line 1: a point of `y` before"), "{e}");
        let e = err("\u{1}\u{2}garbage\n");
        assert!(e.contains("line 1: not a k6 JSON output line"), "{e}");
        // A metric k6 described but never sampled is absent, not 0.
        let p = parse_stream(&mut format!("{metric}\n").as_bytes(), false).expect("parse");
        assert!(p.metrics.is_empty());
        assert_eq!(
            p.no_data,
            std::collections::BTreeSet::from(["x".to_string()])
        );
    }

    #[test]
    fn any_key_order_and_time_offsets() {
        let text = concat!(
            r#"{"metric":"c","data":{"type":"counter","contains":"default","name":"c"},"type":"Metric"}"#,
            "\n",
            r#"{"data":{"value":3,"tags":null,"time":"2024-08-05T15:24:38.5+07:00"},"type":"Point","metric":"c"}"#,
            "\n",
            r#"{"type":"Point","metric":"c","data":{"time":"2024-08-05T08:24:40.5Z","value":1}}"#,
        );
        let p = parse_stream(&mut text.as_bytes(), false).expect("parse");
        assert_eq!(v(&p, "c.count"), 4.0);
        assert_eq!(v(&p, "c.rate"), 2.0);
        assert_eq!(
            rfc3339_ns(b"1970-01-01T00:00:01.000000001Z"),
            Some(1_000_000_001)
        );
        assert_eq!(rfc3339_ns(b"2024-02-30"), None);
    }

    #[test]
    fn every_shape_is_detected_and_read_by_load_file() {
        for (file, detail) in [
            ("run.points.ndjson", "k6 JSON stream"),
            ("run.points.ndjson.gz", "k6 JSON stream"),
            ("run.summary-export.json", "k6 summary export"),
            ("run.handle-summary.json", "k6 handleSummary"),
        ] {
            let path = std::path::PathBuf::from(format!("{DIR}/{file}"));
            for declared in [None, Some(super::super::Format::K6)] {
                let r = super::super::load_file(&path, declared, false).expect(file);
                assert_eq!(r.format, super::super::Format::K6);
                assert_eq!(r.detail.as_deref(), Some(detail));
            }
        }
        let e = super::super::load_file(
            std::path::Path::new(&format!("{DIR}/run.points.ndjson")),
            Some(super::super::Format::Artillery),
            false,
        )
        .expect_err("declared as another format");
        assert!(
            format!("{e:#}").contains("the content is k6 output"),
            "{e:#}"
        );
    }

    #[test]
    fn bad_summaries_name_the_field() {
        let p = parse(
            &mut r#"{"root_group":{},"metrics":{"m":{"type":"trend","values":{"p(95)":-1}}}}"#
                .as_bytes(),
        )
        .expect("read");
        assert!(p.dropped["m.p95"].contains("field `metrics.m.values.p(95)`: -1 is negative"));
        let p = parse(&mut r#"{"root_group":{},"metrics":{"m":{"avg":"fast"}}}"#.as_bytes())
            .expect("read");
        assert_eq!(
            p.dropped["m.avg"],
            "field `metrics.m.avg`: \"fast\" is not a number"
        );
        // Not a summary's shape at all: still refused.
        let e = parse(
            &mut r#"{"root_group":{},"metrics":{"m":{"type":"histogram","values":{}}}}"#.as_bytes(),
        )
        .expect_err("not a metric type");
        let e = format!("{e:#}");
        assert!(e.contains("field `metrics.m.type`"), "{e}");
    }

    /// The fixture `file` with `metrics.<metric>[.values].<key>` set to `value`.
    fn summary_with(file: &str, at: &[&str], value: Value) -> Parsed {
        let text = std::fs::read_to_string(format!("{DIR}/{file}")).expect("read");
        let mut doc: Value = serde_json::from_str(&text).expect("JSON");
        let mut slot = &mut doc["metrics"];
        for key in at {
            slot = &mut slot[*key];
        }
        assert!(!slot.is_null(), "{at:?} is not in {file}");
        *slot = value;
        parse(&mut doc.to_string().as_bytes()).expect("read")
    }

    /// `mutated`'s metrics are `original`'s but for `dropped`.
    fn only_dropped(original: &Parsed, mutated: &Parsed, dropped: &str) {
        let mut expected = original.metrics.clone();
        expected.remove(dropped).expect("the original has it");
        assert_eq!(mutated.metrics, expected);
        assert_eq!(mutated.dropped.keys().collect::<Vec<_>>(), [dropped]);
    }

    #[test]
    fn one_bad_statistic_of_a_summary_is_dropped_and_the_rest_read() {
        let file = "run.handle-summary.json";
        let p = summary_with(
            file,
            &["http_req_receiving", "values", "p(95)"],
            (-0.2).into(),
        );
        only_dropped(&summary(file), &p, "http_req_receiving.p95");
        assert_eq!(
            p.dropped["http_req_receiving.p95"],
            "field `metrics.http_req_receiving.values.p(95)`: -0.2 is negative, which this \
             quantity cannot be"
        );
        let file = "run.summary-export.json";
        let p = summary_with(file, &["data_sent", "count"], "3211".into());
        only_dropped(&summary(file), &p, "data_sent.count");
        assert_eq!(
            p.dropped["data_sent.count"],
            "field `metrics.data_sent.count`: \"3211\" is not a number"
        );
        let p = summary_with(file, &["checks", "value"], (-1).into());
        only_dropped(&summary(file), &p, "checks.rate");
        assert!(p.dropped["checks.rate"].starts_with("field `metrics.checks.value`: -1"));
    }

    #[test]
    fn a_bad_point_leaves_out_its_metric_and_the_rest_of_the_stream_is_read() {
        let text = std::fs::read_to_string(format!("{DIR}/run.points.ndjson")).expect("read");
        // Line 50 is the third point of `http_req_receiving` (tags name:meetings, status:200).
        let good = r#""metric":"http_req_receiving","type":"Point","data":{"time":"2026-11-26T20:51:21.751361872Z","value":0.120659,"#;
        assert_eq!(text.lines().nth(49).map(|l| l.contains(good)), Some(true));
        let bad = text.replacen(good, &good.replace("0.120659", "-0.120659"), 1);
        let original = parse_stream(&mut text.as_bytes(), false).expect("parse");
        let p = parse_stream(&mut bad.as_bytes(), false).expect("parse");
        let of_it = |name: &String| {
            name.starts_with("http_req_receiving.") || name.starts_with("http_req_receiving{")
        };
        let mut expected = original.metrics.clone();
        expected.retain(|name, _| !of_it(name));
        assert_eq!(p.metrics, expected);
        let lost: Vec<&String> = original.metrics.keys().filter(|n| of_it(n)).collect();
        // The metric and its sub-metrics by name, status, method, scenario, group, expected_response.
        assert!(lost.len() > 16, "{lost:?}");
        assert_eq!(p.dropped.keys().collect::<Vec<_>>(), lost);
        assert_eq!(
            p.dropped["http_req_receiving{name:search}.p95"],
            "line 50: field `data.value`: -0.120659 is not a finite, non-negative sample value (a \
             point of `http_req_receiving`; its other points are not read either)"
        );
        let mut series = original.distributions.clone();
        series.retain(|name, _| name != "http_req_receiving" && !of_it(name));
        assert_eq!(
            p.distributions.keys().collect::<Vec<_>>(),
            series.keys().collect::<Vec<_>>()
        );
        assert!(p.distributions == series);
    }
}
