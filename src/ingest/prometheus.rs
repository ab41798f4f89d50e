//! prometheus: the Prometheus HTTP API (live instant queries, and saved `/api/v1/query` responses)
//! and the text exposition format 0.0.4 of a scraped `/metrics` page.
//!
//! The one rule: every number comes from a strictly parsed sample, and a query that yields no
//! number (NaN, ±Inf, no series, a range result, an error) is an error that names the query or
//! the line, never a 0. Credentials in a Prometheus URL never reach a message or an output.
//!
//! Names. A query result is `value` (a saved file) or the query's name from the budget (live).
//! A single series is that name; a series with labels is also `name{label="v",…}` (labels sorted,
//! `__name__` first); several series are only the labelled names. Query results are plain numbers
//! (the budget rule declares their unit).
//!
//! A scraped page: counters, gauges and untyped samples are `name` or `name{labels}`; a labelled
//! counter is also `name` = the sum over its series. A histogram is summed over all its label
//! sets (PromQL's `sum by (le)`) into `name.count`, `name.sum`, `name.mean` and
//! `name.p50/.p90/.p95/.p99`, interpolated as `histogram_quantile` does. A summary gives
//! `name.pNN` per `quantile` (`0.999` → `p99.9`), `.sum`, `.count`, `.mean`, prefixed `name{labels}`
//! when it has other labels (summary quantiles cannot be summed across series). Units follow the
//! Prometheus naming convention (base units in the name): `_seconds` → ms (×1000),
//! `_milliseconds`/`_ms` → ms, `_bytes` → bytes, `_percent` → %, else (also `_ratio`) a plain
//! number, read before a counter's `_total`; `.count` is always a plain number. A NaN gauge or
//! summary quantile (nothing observed yet) is left out.
//! A family with a value it cannot take (a negative counter, a bad bucket, a negative summary
//! `_count`, a value that overflows once scaled) is dropped by every name it makes (see
//! [`Parsed::dropped`]); the rest of the page is still read.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, ErrorKind, Read};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::reader::{names_key, Detect, Reader, Sniff, Whole};
use super::{from_json, Parsed, MAX_NAME_BYTES};
use crate::memory;
use crate::model::{Measurement, Metrics, Unit};

/// A saved Prometheus query answer or `/metrics` page (the live API is a source of its own).
pub(crate) const READER: Reader = Reader {
    name: "prometheus",
    detect: Detect {
        json: sniff,
        broken_json: |head| names_key(head, "resultType"),
        text: |text| looks_like_exposition(text).then_some(Sniff::Read),
        ..Detect::NONE
    },
    whole: Some(Whole::JsonOrText(parse_answer, parse_page)),
    stream: None,
};

/// A query answer: its `status` with a result, or with an error.
fn sniff(v: &Value) -> Option<Sniff> {
    let has = |k: &str| v.get(k).is_some();
    let answer = v.get("data").and_then(|d| d.get("resultType")).is_some()
        || (has("error") && has("errorType"));
    (has("status") && answer).then_some(Sniff::Read)
}

/// Room on a sample line for its value and timestamp, past its series name: a Go float is at
/// most 24 characters, a millisecond timestamp 20.
const SAMPLE_VALUE_BYTES: usize = 64;

/// The name a saved query response's result gets (a live query uses its budget name instead).
const SAVED_NAME: &str = "value";

/// Quantiles a histogram on a scraped page yields, with their metric suffixes.
const HISTOGRAM_QUANTILES: [(f64, &str); 4] =
    [(0.5, "p50"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99")];

/// How much of an unexpected HTTP body an error quotes.
const BODY_EXCERPT_CHARS: usize = 300;

/// Reads a saved `/api/v1/query` answer; its result is named [`SAVED_NAME`].
pub(crate) fn parse_answer(input: &mut dyn BufRead) -> Result<Parsed> {
    let (metrics, dropped, result_type) = parse_response(input, SAVED_NAME)?;
    Ok(Parsed {
        detail: Some(format!("Prometheus query API ({result_type})")),
        metrics,
        dropped,
        ..Parsed::default()
    })
}

/// Reads a `/metrics` page (exposition text).
pub(crate) fn parse_page(text: &str) -> Result<Parsed> {
    let (metrics, dropped) = parse_exposition(text)?;
    Ok(Parsed {
        detail: Some("Prometheus exposition text".to_string()),
        metrics,
        dropped,
        ..Parsed::default()
    })
}

/// A quick content check: the first lines are exposition comments or samples, at least one of
/// them a `# HELP`/`# TYPE` line or a sample.
fn looks_like_exposition(text: &str) -> bool {
    let mut seen = 0;
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(10)
    {
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start();
            if comment.starts_with("HELP ") || comment.starts_with("TYPE ") {
                seen += 1;
            }
        } else if parse_sample_line(line).is_ok() {
            seen += 1;
        } else {
            return false;
        }
    }
    seen > 0
}

// ---------------------------------------------------------------------------------------------
// The HTTP API

/// The envelope of every `/api/v1/*` answer (Prometheus 2.42, web/api/v1/api.go `response`);
/// `warnings` and later additions are ignored.
#[derive(Deserialize)]
struct PromResponse {
    status: String,
    data: Option<PromData>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

/// `data` of a query answer (Prometheus 2.42, promql/value.go): `result`'s shape follows
/// `resultType`.
#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum PromData {
    Vector(Series),
    Scalar(PromPoint),
    Matrix(IgnoredAny),
    String(IgnoredAny),
}

/// One series of a vector: its labels and `[unix time, "value"]`, or a native histogram.
#[derive(Deserialize)]
struct PromSample {
    metric: BTreeMap<String, String>,
    value: Option<PromPoint>,
    histogram: Option<IgnoredAny>,
}

/// The most series a query answer may hold: one per route or instance is tens to hundreds; each
/// becomes a metric of the source.
const MAX_SERIES: usize = 1_024;

/// The most bytes read of an answer: [`MAX_SERIES`] series with names at the limit take under
/// 2 MiB.
const MAX_ANSWER_BYTES: u64 = 16 << 20;

/// A vector's series, refused past [`MAX_SERIES`] while they are read, not after.
struct Series(Vec<PromSample>);

impl<'de> Deserialize<'de> for Series {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Series;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of series")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Series, A::Error> {
                let mut series = Vec::new();
                while let Some(sample) = seq.next_element()? {
                    if series.len() == MAX_SERIES {
                        return Err(serde::de::Error::custom(format!(
                            "more than the {MAX_SERIES} series perfgate takes from one query \
                             (aggregate it, e.g. `sum by (route) (...)`, or filter its labels)"
                        )));
                    }
                    series.push(sample);
                }
                Ok(Series(series))
            }
        }
        d.deserialize_seq(Visit)
    }
}

/// `[unix time in seconds, "value"]`: the value is a string so that NaN and ±Inf survive JSON.
type PromPoint = (f64, String);

/// What a query answer holds: its series, the series left out and why, and the result type.
type Answer = (Metrics, BTreeMap<String, String>, &'static str);

/// Reads an `/api/v1/query` answer; its results are named after `base`. One series among several
/// whose value is not a measurement (NaN from an idle series) is left out with its reason; the
/// answer is refused when no series is left, or it is not a number-valued answer at all.
fn parse_response(input: &mut dyn BufRead, base: &str) -> Result<Answer> {
    let response: PromResponse = from_json(input)?;
    if response.status != "success" {
        bail!(
            "Prometheus answered status `{}`: {}",
            response.status,
            api_error(&response)
        );
    }
    let Some(data) = response.data else {
        bail!("field `data`: missing in a `success` answer");
    };
    let mut metrics = Metrics::new();
    let mut dropped = BTreeMap::new();
    let result_type = match data {
        PromData::Scalar((_, value)) => {
            let v = result_value(base, &value)?;
            metrics.insert(base.to_string(), Measurement::count(v));
            "scalar"
        }
        PromData::Vector(Series(samples)) => {
            if samples.is_empty() {
                bail!(
                    "`{base}` returned no series: the query matched nothing (check the metric \
                     name and label filters, and that the target is being scraped)"
                );
            }
            let single = samples.len() == 1;
            for (i, sample) in samples.iter().enumerate() {
                let name = series_name(base, &sample.metric);
                let Some((_, value)) = &sample.value else {
                    if sample.histogram.is_some() {
                        bail!(
                            "field `data.result[{i}]`: `{name}` is a native histogram; \
                             ask for a number, e.g. with histogram_quantile()"
                        );
                    }
                    bail!("field `data.result[{i}].value`: missing");
                };
                let v = match result_value(&name, value) {
                    Ok(v) => Measurement::count(v),
                    Err(why) if !single => {
                        let why = format!("field `data.result[{i}].value`: {why:#}");
                        if dropped.insert(name.clone(), why).is_some() {
                            bail!("field `data.result[{i}]`: series `{name}` appears twice");
                        }
                        continue;
                    }
                    Err(why) => return Err(why),
                };
                if single && !sample.metric.is_empty() {
                    metrics.insert(base.to_string(), v);
                }
                if metrics.insert(name.clone(), v).is_some() || dropped.contains_key(&name) {
                    bail!("field `data.result[{i}]`: series `{name}` appears twice");
                }
            }
            if metrics.is_empty() {
                let why = dropped.values().next().map_or("", String::as_str);
                bail!("`{base}`: no series has a value to judge; the first: {why}");
            }
            "vector"
        }
        PromData::Matrix(_) => bail!(
            "resultType `matrix` holds many values per series (a /api/v1/query_range answer, or \
             a range selector such as `[5m]` left bare); use an instant query (/api/v1/query) \
             whose expression gives one value, e.g. `rate(x[5m])` rather than `x[5m]`"
        ),
        PromData::String(_) => bail!("resultType `string` is not a number"),
    };
    Ok((metrics, dropped, result_type))
}

/// `errorType: error` of an error answer.
fn api_error(response: &PromResponse) -> String {
    format!(
        "{}: {}",
        response.error_type.as_deref().unwrap_or("(no errorType)"),
        response.error.as_deref().unwrap_or("(no error message)")
    )
}

/// A result value as Prometheus writes it (Go `strconv.FormatFloat(v, 'f', -1, 64)`), finite.
fn result_value(name: &str, text: &str) -> Result<f64> {
    let value = match text {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ if is_decimal(text) => text
            .parse()
            .map_err(|_| anyhow!("`{name}`: `{text}` is not a number"))?,
        _ => bail!("`{name}`: `{text}` is not a number"),
    };
    if value.is_nan() {
        bail!(
            "`{name}` returned NaN: no samples in the range (an idle series, or a rate window \
             shorter than two scrape intervals)"
        );
    }
    if value.is_infinite() {
        bail!("`{name}` returned {text}, which is not a measurement");
    }
    Ok(value)
}

fn is_decimal(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
}

/// `base{label="value",…}` with `__name__` first and the other labels sorted; `base` alone
/// when there are no labels.
fn series_name(base: &str, labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return base.to_string();
    }
    let name = labels.get_key_value("__name__");
    let rest = labels.iter().filter(|(k, _)| k.as_str() != "__name__");
    let parts: Vec<String> = name
        .into_iter()
        .chain(rest)
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{base}{{{}}}", parts.join(","))
}

/// Label value escaping of the exposition format: backslash, double quote, line feed.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Runs every named query against a live Prometheus and names each result after its query.
/// `timeout` bounds the whole round: each request, its body included, gets what is left of it,
/// so neither a server that trickles its answer nor many slow queries can hold the check longer.
pub(crate) fn query_live(
    url: &str,
    queries: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<Parsed> {
    let shown = redact_url(url);
    if queries.is_empty() {
        bail!("no queries to run against {shown}");
    }
    let endpoint = query_endpoint(url).with_context(|| format!("`{shown}`"))?;
    let shown_endpoint = redact_url(endpoint.as_str());
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .context("setting up the HTTP client")?;
    let deadline = Instant::now() + timeout;
    let mut metrics = Metrics::new();
    let mut dropped = BTreeMap::new();
    for (name, query) in queries {
        let (found, left_out) = query_one(&client, &endpoint, name, query, (deadline, timeout))
            .with_context(|| format!("query `{name}` (`{query}`) at {shown_endpoint}"))?;
        metrics.extend(found);
        dropped.extend(
            left_out
                .into_iter()
                .map(|(series, why)| (series, format!("query `{name}` (`{query}`): {why}"))),
        );
    }
    Ok(Parsed {
        detail: Some(format!("Prometheus {shown}")),
        metrics,
        dropped,
        ..Parsed::default()
    })
}

/// `<url>/api/v1/query`, keeping a path prefix (Prometheus behind a proxy at `/prometheus`).
fn query_endpoint(url: &str) -> Result<reqwest::Url> {
    let mut endpoint =
        reqwest::Url::parse(url.trim()).map_err(|e| anyhow!("not a valid URL: {e}"))?;
    if !matches!(endpoint.scheme(), "http" | "https") {
        bail!("not an http(s) URL");
    }
    endpoint
        .path_segments_mut()
        .map_err(|()| anyhow!("not a URL with a path"))?
        .pop_if_empty()
        .extend(["api", "v1", "query"]);
    endpoint.set_query(None);
    endpoint.set_fragment(None);
    Ok(endpoint)
}

/// One query, cut off at `deadline`, the end of the source's `timeout`.
fn query_one(
    client: &reqwest::blocking::Client,
    endpoint: &reqwest::Url,
    name: &str,
    query: &str,
    (deadline, timeout): (Instant, Duration),
) -> Result<(Metrics, BTreeMap<String, String>)> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        bail!("{}", timed_out(timeout));
    }
    // reqwest's per-request timeout runs until the body is read (`text` below), not per read.
    let response = client
        .get(endpoint.clone())
        .query(&[("query", query)])
        .timeout(left)
        .send()
        .map_err(|e| anyhow!(transport_error(e, timeout)))?;
    let status = response.status();
    let mut body = Vec::new();
    response
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| anyhow!(read_error(e, timeout)))?;
    if body.len() as u64 > MAX_ANSWER_BYTES {
        bail!(
            "the answer is longer than the {} MiB perfgate reads of one query (README: Limits)",
            MAX_ANSWER_BYTES >> 20
        );
    }
    let body = String::from_utf8_lossy(&body);
    if !status.is_success() {
        // Prometheus answers 400 (bad_data), 422 (execution) and 503 (timeout) with its JSON
        // error envelope; anything else (a proxy, a wrong port) gets an excerpt of the body.
        if let Ok(error) = serde_json::from_str::<PromResponse>(&body) {
            if error.status == "error" {
                bail!("returned HTTP status {status}: {}", api_error(&error));
            }
        }
        bail!("returned HTTP status {status}: {}", excerpt(&body));
    }
    if !body.trim_start().starts_with('{') {
        bail!(
            "the answer is not a Prometheus API response (is this the Prometheus server?): {}",
            excerpt(&body)
        );
    }
    let (metrics, dropped, _) = parse_response(&mut body.as_bytes(), name)?;
    Ok((metrics, dropped))
}

/// Why a request failed, without the URL reqwest would quote (it may carry credentials).
/// Why reading an answer's body failed: reqwest's error inside the I/O error, if it is one.
fn read_error(error: std::io::Error, timeout: Duration) -> String {
    if error.kind() == ErrorKind::TimedOut {
        return timed_out(timeout);
    }
    match error
        .into_inner()
        .map(|inner| inner.downcast::<reqwest::Error>())
    {
        Some(Ok(error)) => transport_error(*error, timeout),
        Some(Err(other)) => other.to_string(),
        None => "the answer could not be read".to_string(),
    }
}

fn transport_error(error: reqwest::Error, timeout: Duration) -> String {
    let error = error.without_url();
    let mut chain = vec![error.to_string()];
    let mut refused = false;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == ErrorKind::ConnectionRefused)
        {
            refused = true;
        }
        chain.push(cause.to_string());
        source = cause.source();
    }
    chain.dedup();
    let detail = chain.join(": ");
    if error.is_timeout() {
        timed_out(timeout)
    } else if refused || detail.contains("Connection refused") {
        "connection refused: is Prometheus running and listening there?".to_string()
    } else if error.is_connect() {
        format!("could not connect: {detail}")
    } else {
        detail
    }
}

fn timed_out(timeout: Duration) -> String {
    format!(
        "timed out after {:.1} s (the source's `timeout`, which covers all its queries and their answers)",
        timeout.as_secs_f64()
    )
}

/// The first characters of a body, on one line.
fn excerpt(body: &str) -> String {
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return "(empty body)".to_string();
    }
    let mut cut: String = flat.chars().take(BODY_EXCERPT_CHARS).collect();
    if cut.len() < flat.len() {
        cut.push('…');
    }
    cut
}

pub(crate) use crate::rest::redact_url;

// ---------------------------------------------------------------------------------------------
// The text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details)

/// One sample line of a page.
struct Sample {
    /// 1-based line number, for messages.
    line: usize,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// A metric family's type and its samples, each with its role.
type Family<'a> = (Kind, Vec<(Part, &'a Sample)>);

/// A sample's role in its family: the value itself, or a histogram/summary `_bucket`/`_sum`/`_count`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Value,
    Bucket,
    Sum,
    Count,
}

/// A page's metrics, and the names of the families it could not read with why: each family
/// stands alone, so a bad value (a negative counter, a bad bucket, a bad summary `_count`) drops
/// its family's names, not the page. A page that does not parse, a TYPE line that does not, or
/// two samples of one series (which one is meant is unknown) refuse the page.
fn parse_exposition(text: &str) -> Result<(Metrics, BTreeMap<String, String>)> {
    let mut types: HashMap<String, (Kind, usize)> = HashMap::new();
    let mut samples = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        memory::check().with_context(|| format!("line {line}"))?;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            let mut tokens = comment.split_whitespace();
            if tokens.next() == Some("TYPE") {
                let (Some(name), Some(kind), None) = (tokens.next(), tokens.next(), tokens.next())
                else {
                    bail!("line {line}: expected `# TYPE <metric name> <type>`");
                };
                let kind = match kind {
                    "counter" => Kind::Counter,
                    "gauge" => Kind::Gauge,
                    "histogram" => Kind::Histogram,
                    "summary" => Kind::Summary,
                    "untyped" => Kind::Untyped,
                    other => bail!(
                        "line {line}: unknown metric type `{other}` (expected counter, gauge, \
                         histogram, summary or untyped)"
                    ),
                };
                if let Some((_, first)) = types.insert(name.to_string(), (kind, line)) {
                    bail!("line {line}: a second TYPE line for `{name}` (the first is on line {first})");
                }
            }
            continue;
        }
        // Checked before the line is parsed (or quoted in a message): a label value of any size
        // would be copied into every name its family makes.
        if trimmed.len() > MAX_NAME_BYTES + SAMPLE_VALUE_BYTES {
            bail!(
                "line {line}: a sample line of {} bytes, longer than the {MAX_NAME_BYTES} bytes \
                 perfgate takes for a series name (metric name and labels) and \
                 {SAMPLE_VALUE_BYTES} for its value and timestamp",
                trimmed.len()
            );
        }
        let (name, labels, value) =
            parse_sample_line(trimmed).map_err(|e| anyhow!("line {line}: {e}: `{trimmed}`"))?;
        samples.push(Sample {
            line,
            name: name.to_string(),
            labels,
            value,
        });
    }
    if samples.is_empty() {
        bail!("no samples on the page");
    }
    // A `_bucket` series with `le` and no TYPE line anywhere is taken as a histogram.
    for s in &samples {
        if let Some(base) = s.name.strip_suffix("_bucket") {
            if s.labels.contains_key("le") && !types.contains_key(&s.name) {
                types
                    .entry(base.to_string())
                    .or_insert((Kind::Histogram, s.line));
            }
        }
    }
    let mut series: HashMap<(&str, &BTreeMap<String, String>), usize> = HashMap::new();
    for s in &samples {
        if let Some(first) = series.insert((&s.name, &s.labels), s.line) {
            bail!(
                "line {}: duplicate series `{}` (first on line {first})",
                s.line,
                series_name(&s.name, &s.labels)
            );
        }
    }
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for s in &samples {
        let (family, kind, part) = family_of(&s.name, &types);
        if part == Part::Value && kind == Kind::Histogram {
            bail!(
                "line {}: `{}` is declared a histogram; its samples are `{0}_bucket`, `{0}_sum` \
                 and `{0}_count`",
                s.line,
                s.name
            );
        }
        families
            .entry(family.to_string())
            .or_insert_with(|| (kind, Vec::new()))
            .1
            .push((part, s));
    }
    let mut metrics = Metrics::new();
    let mut dropped = BTreeMap::new();
    for (name, (kind, parts)) in &families {
        let mut family = Metrics::new();
        let read = match kind {
            Kind::Histogram => histogram(name, parts, &mut family),
            Kind::Summary => summary(name, parts, &mut family),
            Kind::Counter | Kind::Gauge | Kind::Untyped => plain(name, *kind, parts, &mut family),
        };
        match read {
            Ok(()) => {
                for (metric, m) in family {
                    if metrics.insert(metric.clone(), m).is_some() {
                        bail!("family `{name}`: makes `{metric}`, which another family makes");
                    }
                }
            }
            Err(why) => {
                for metric in family_names(name, *kind, parts) {
                    dropped.insert(
                        metric,
                        format!("{why:#} (the family's other series are not read either)"),
                    );
                }
            }
        }
    }
    Ok((metrics, dropped))
}

/// Every metric name a family makes when it can be read, so that a rule on any of them, once
/// the family is dropped, gives the reason.
fn family_names(name: &str, kind: Kind, parts: &[(Part, &Sample)]) -> Vec<String> {
    match kind {
        Kind::Histogram => HISTOGRAM_QUANTILES
            .iter()
            .map(|(_, suffix)| *suffix)
            .chain(["mean", "sum", "count"])
            .map(|stat| format!("{name}.{stat}"))
            .collect(),
        Kind::Summary => parts
            .iter()
            .flat_map(|(part, s)| {
                let mut labels = s.labels.clone();
                let quantile = labels.remove("quantile");
                let prefix = series_name(name, &labels);
                let stats: Vec<String> = match part {
                    Part::Value => quantile
                        .and_then(|q| parse_go_float(&q))
                        .filter(|q| (0.0..=1.0).contains(q))
                        .map(quantile_suffix)
                        .into_iter()
                        .collect(),
                    _ => ["sum", "count", "mean"].map(String::from).to_vec(),
                };
                stats
                    .into_iter()
                    .map(move |stat| format!("{prefix}.{stat}"))
            })
            .collect(),
        Kind::Counter | Kind::Gauge | Kind::Untyped => {
            let labelled = parts.iter().any(|(_, s)| !s.labels.is_empty());
            parts
                .iter()
                .map(|(_, s)| series_name(name, &s.labels))
                .chain((kind == Kind::Counter && labelled).then(|| name.to_string()))
                .collect()
        }
    }
}

/// The family a sample name belongs to: itself, or a histogram/summary base it is a part of.
fn family_of<'a>(name: &'a str, types: &HashMap<String, (Kind, usize)>) -> (&'a str, Kind, Part) {
    if let Some((kind, _)) = types.get(name) {
        return (name, *kind, Part::Value);
    }
    for (suffix, part) in [
        ("_bucket", Part::Bucket),
        ("_sum", Part::Sum),
        ("_count", Part::Count),
    ] {
        if let Some(base) = name.strip_suffix(suffix) {
            match types.get(base) {
                Some((Kind::Histogram, _)) => return (base, Kind::Histogram, part),
                Some((Kind::Summary, _)) if part != Part::Bucket => {
                    return (base, Kind::Summary, part)
                }
                _ => {}
            }
        }
    }
    (name, Kind::Untyped, Part::Value)
}

/// Counters, gauges, untyped samples: one metric per series; a labelled counter also its sum.
fn plain(name: &str, kind: Kind, parts: &[(Part, &Sample)], metrics: &mut Metrics) -> Result<()> {
    let (unit, scale) = unit_of(name);
    let mut total = 0.0;
    let mut labelled = false;
    for (_, s) in parts {
        if kind == Kind::Counter && !(s.value.is_finite() && s.value >= 0.0) {
            bail!(
                "line {}: counter `{name}` is {}; a counter is a finite count >= 0",
                s.line,
                s.value
            );
        }
        total += s.value;
        labelled |= !s.labels.is_empty();
        if !s.value.is_finite() {
            continue;
        }
        insert(
            metrics,
            series_name(name, &s.labels),
            Measurement::new(s.value * scale, unit),
            s.line,
        )?;
    }
    if kind == Kind::Counter && labelled {
        let line = parts.first().map_or(0, |(_, s)| s.line);
        let total = finite(name, line, total * scale)?;
        metrics.insert(name.to_string(), Measurement::new(total, unit));
    }
    Ok(())
}

/// A histogram summed over its label sets, as `sum by (le)` would.
fn histogram(name: &str, parts: &[(Part, &Sample)], metrics: &mut Metrics) -> Result<()> {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    let mut sum: Option<f64> = None;
    for (part, s) in parts {
        match part {
            Part::Bucket => {
                let Some(le) = s.labels.get("le") else {
                    bail!(
                        "line {}: histogram bucket `{}` has no `le` label",
                        s.line,
                        s.name
                    );
                };
                let bound = parse_go_float(le)
                    .filter(|b| !b.is_nan())
                    .ok_or_else(|| anyhow!("line {}: `le=\"{le}\"` is not a number", s.line))?;
                if !(s.value.is_finite() && s.value >= 0.0) {
                    bail!(
                        "line {}: bucket count {} of `{name}` is not a finite count >= 0",
                        s.line,
                        s.value
                    );
                }
                match buckets.iter_mut().find(|(b, _)| *b == bound) {
                    Some((_, count)) => *count += s.value,
                    None => buckets.push((bound, s.value)),
                }
            }
            Part::Sum => {
                if s.value.is_finite() {
                    *sum.get_or_insert(0.0) += s.value;
                }
            }
            // `_count` repeats the +Inf bucket, which counts the same observations.
            Part::Count | Part::Value => {}
        }
    }
    let first_line = parts.first().map_or(0, |(_, s)| s.line);
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let Some(&(_, count)) = buckets.last().filter(|(b, _)| *b == f64::INFINITY) else {
        bail!("line {first_line}: histogram `{name}` has no `le=\"+Inf\"` bucket");
    };
    if let Some(w) = buckets.windows(2).find(|w| w[1].1 < w[0].1) {
        bail!(
            "line {first_line}: histogram `{name}`: bucket le=\"{}\" counts {} but the smaller \
             bucket le=\"{}\" counts {}; cumulative bucket counts never decrease",
            bound_text(w[1].0),
            w[1].1,
            bound_text(w[0].0),
            w[0].1
        );
    }
    let (unit, scale) = unit_of(name);
    let line = first_line;
    insert(
        metrics,
        format!("{name}.count"),
        Measurement::count(count),
        line,
    )?;
    if let Some(sum) = sum {
        insert(
            metrics,
            format!("{name}.sum"),
            Measurement::new(sum * scale, unit),
            line,
        )?;
        if count > 0.0 {
            insert(
                metrics,
                format!("{name}.mean"),
                Measurement::new(sum / count * scale, unit),
                line,
            )?;
        }
    }
    for (q, suffix) in HISTOGRAM_QUANTILES {
        if let Some(v) = bucket_quantile(q, &buckets) {
            insert(
                metrics,
                format!("{name}.{suffix}"),
                Measurement::new(v * scale, unit),
                line,
            )?;
        }
    }
    Ok(())
}

/// A bucket bound as the exposition format writes it.
fn bound_text(bound: f64) -> String {
    if bound == f64::INFINITY {
        "+Inf".to_string()
    } else {
        bound.to_string()
    }
}

/// The q-quantile of cumulative buckets `(upper bound, count)`, sorted by bound with +Inf last and
/// counts that never decrease, exactly as PromQL's `histogram_quantile` computes it
/// (prometheus/prometheus promql/quantile.go `bucketQuantile`, v2.42; documented at
/// <https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile>):
/// find the first bucket whose count reaches `q × total` and interpolate linearly inside it, from
/// the bucket below's bound (0 for the lowest bucket when its bound is positive). A quantile in the
/// +Inf bucket is the highest finite bound. `None` where PromQL answers NaN: no observations, or
/// no finite bucket.
fn bucket_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if buckets.len() < 2 {
        return None;
    }
    let total = buckets[buckets.len() - 1].1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let last = buckets.len() - 1;
    let b = buckets[..last].partition_point(|&(_, count)| count < rank);
    if b == last {
        return Some(buckets[last - 1].0);
    }
    let (end, count) = buckets[b];
    if b == 0 {
        if end <= 0.0 {
            return Some(end);
        }
        return Some(end * rank / count);
    }
    let (start, below) = buckets[b - 1];
    Some(start + (end - start) * (rank - below) / (count - below))
}

/// A summary: per label set (without `quantile`), its quantiles, sum, count and mean.
fn summary(name: &str, parts: &[(Part, &Sample)], metrics: &mut Metrics) -> Result<()> {
    let (unit, scale) = unit_of(name);
    // Per label set: its sum, its count, and the line of the later of the two.
    let mut sums: BTreeMap<String, (f64, f64, usize)> = BTreeMap::new();
    for (part, s) in parts {
        let mut labels = s.labels.clone();
        let quantile = labels.remove("quantile");
        let prefix = series_name(name, &labels);
        match part {
            Part::Value => {
                let Some(q) = quantile else {
                    bail!(
                        "line {}: summary `{name}` sample has no `quantile` label",
                        s.line
                    );
                };
                let q_value = parse_go_float(&q)
                    .filter(|v| (0.0..=1.0).contains(v))
                    .ok_or_else(|| {
                        anyhow!("line {}: `quantile=\"{q}\"` is not between 0 and 1", s.line)
                    })?;
                if s.value.is_finite() {
                    insert(
                        metrics,
                        format!("{prefix}.{}", quantile_suffix(q_value)),
                        Measurement::new(s.value * scale, unit),
                        s.line,
                    )?;
                }
            }
            Part::Sum => {
                if s.value.is_finite() {
                    let entry = sums
                        .entry(prefix.clone())
                        .or_insert((f64::NAN, f64::NAN, 0));
                    (entry.0, entry.2) = (s.value, entry.2.max(s.line));
                    insert(
                        metrics,
                        format!("{prefix}.sum"),
                        Measurement::new(s.value * scale, unit),
                        s.line,
                    )?;
                }
            }
            Part::Count => {
                if !(s.value.is_finite() && s.value >= 0.0) {
                    bail!(
                        "line {}: `{}` is {}; a count is a finite number >= 0",
                        s.line,
                        s.name,
                        s.value
                    );
                }
                let entry = sums
                    .entry(prefix.clone())
                    .or_insert((f64::NAN, f64::NAN, 0));
                (entry.1, entry.2) = (s.value, entry.2.max(s.line));
                insert(
                    metrics,
                    format!("{prefix}.count"),
                    Measurement::count(s.value),
                    s.line,
                )?;
            }
            Part::Bucket => {}
        }
    }
    for (prefix, (sum, count, line)) in sums {
        if sum.is_finite() && count > 0.0 {
            insert(
                metrics,
                format!("{prefix}.mean"),
                Measurement::new(sum / count * scale, unit),
                line,
            )?;
        }
    }
    Ok(())
}

/// `0.95` → `p95`, `0.999` → `p99.9`, `0` → `p0`.
fn quantile_suffix(q: f64) -> String {
    let percent = (q * 100.0 * 1e6).round() / 1e6;
    format!("p{percent}")
}

/// Inserts a metric of the page: finite, and named once.
fn insert(metrics: &mut Metrics, name: String, m: Measurement, line: usize) -> Result<()> {
    finite(&name, line, m.value)?;
    if metrics.insert(name.clone(), m).is_some() {
        bail!("line {line}: duplicate series `{name}`");
    }
    Ok(())
}

/// A metric's value once scaled, summed or interpolated, which finite samples can still take past
/// f64 (values near its maximum, a `le="-Inf"` bucket bound): an error naming the line, never ±inf.
fn finite(name: &str, line: usize, value: f64) -> Result<f64> {
    if !value.is_finite() {
        bail!(
            "line {line}: `{name}` comes out as {value}, not a number a budget can judge \
             (values too large for their unit, or a `le=\"-Inf\"` bucket)"
        );
    }
    Ok(value)
}

/// The canonical unit and scale a metric's name declares (Prometheus naming practice: base units,
/// the unit as a suffix before a counter's `_total`).
fn unit_of(name: &str) -> (Unit, f64) {
    let name = name.strip_suffix("_total").unwrap_or(name);
    if name.ends_with("_seconds") {
        (Unit::Ms, 1000.0)
    } else if name.ends_with("_milliseconds") || name.ends_with("_ms") {
        (Unit::Ms, 1.0)
    } else if name.ends_with("_bytes") {
        (Unit::Bytes, 1.0)
    } else if name.ends_with("_percent") {
        (Unit::Percent, 1.0)
    } else {
        (Unit::None, 1.0)
    }
}

/// `name{label="value",…} value [timestamp]`, whitespace-separated tokens.
fn parse_sample_line(line: &str) -> Result<(&str, BTreeMap<String, String>, f64), String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("expected a metric name".to_string());
    }
    let mut rest = line[name_end..].trim_start_matches([' ', '\t']);
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = parse_labels(after, &mut labels)?;
        rest = rest.trim_start_matches([' ', '\t']);
    } else if !rest.is_empty() && rest.len() == line.len() - name_end {
        return Err("expected a space or `{` after the metric name".to_string());
    }
    let mut tokens = rest.split([' ', '\t']).filter(|t| !t.is_empty());
    let value = tokens.next().ok_or("missing the value")?;
    let value = parse_go_float(value).ok_or_else(|| format!("`{value}` is not a number"))?;
    if let Some(ts) = tokens.next() {
        if ts.strip_prefix('-').unwrap_or(ts).parse::<u64>().is_err() {
            return Err(format!("`{ts}` is not a timestamp (milliseconds)"));
        }
    }
    if let Some(extra) = tokens.next() {
        return Err(format!("unexpected `{extra}` after the timestamp"));
    }
    Ok((name, labels, value))
}

/// Parses `label="value",…}` (after the `{`), returns the text after the `}`.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut BTreeMap<String, String>,
) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let label = &rest[..end];
        if label.is_empty() || label.starts_with(|c: char| c.is_ascii_digit()) {
            return Err("expected a label name or `}`".to_string());
        }
        rest = rest[end..].trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("expected `=` after label `{label}`"))?
            .trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("expected `\"` to open the value of label `{label}`"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let close = loop {
            match chars.next() {
                None => return Err(format!("the value of label `{label}` is not closed")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    _ => return Err(format!("invalid escape in the value of label `{label}`")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(label.to_string(), value).is_some() {
            return Err(format!("label `{label}` appears twice"));
        }
        rest = rest[close + 1..].trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("expected `,` or `}}` after label `{label}`"));
        }
    }
}

/// A number as Go's `strconv.ParseFloat` reads it in the exposition format (what the Prometheus
/// text parser uses): decimal, or NaN / Inf with an optional sign, in any case.
fn parse_go_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let negative = text.starts_with('-');
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if unsigned.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    if is_decimal(text) {
        return text.parse().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::ingest::testing::fixture("prometheus", name)
    }

    /// A saved answer or a page, told apart as the whole-file path does: by the first character.
    fn parse(text: &str) -> Result<Parsed> {
        if text.trim_start().starts_with('{') {
            parse_answer(&mut text.as_bytes())
        } else {
            parse_page(text)
        }
    }

    fn metrics(text: &str) -> Metrics {
        parse(text).unwrap_or_else(|e| panic!("{e:#}")).metrics
    }

    fn err(text: &str) -> String {
        format!("{:#}", parse(text).expect_err("should be rejected"))
    }

    fn plain(v: f64) -> Measurement {
        Measurement::count(v)
    }

    #[test]
    fn a_single_unlabelled_series_is_value() {
        let parsed = parse(&fixture("vector-one-series.json")).unwrap();
        assert_eq!(
            parsed.detail.as_deref(),
            Some("Prometheus query API (vector)")
        );
        assert_eq!(
            parsed.metrics,
            Metrics::from([("value".into(), plain(62.241561181434626))])
        );
    }

    #[test]
    fn several_series_are_named_by_their_labels() {
        let m = metrics(&fixture("vector-by-operation.json"));
        assert_eq!(
            m,
            Metrics::from([
                (
                    "value{operation=\"insert\"}".into(),
                    plain(62.83163265306119)
                ),
                (
                    "value{operation=\"select\"}".into(),
                    plain(61.57379518072287)
                ),
                (
                    "value{operation=\"update\"}".into(),
                    plain(65.9659090909091)
                ),
            ])
        );
    }

    #[test]
    fn one_labelled_series_is_both_value_and_its_labelled_name() {
        let m = metrics(&fixture("vector-labelled-one.json"));
        let labelled = "value{__name__=\"cache_hits_total\",instance=\"127.0.0.1:4000\",job=\"api\",type=\"session\"}";
        assert_eq!(
            m,
            Metrics::from([
                ("value".into(), plain(2739.0)),
                (labelled.into(), plain(2739.0))
            ])
        );
    }

    #[test]
    fn a_scalar_is_value() {
        let parsed = parse(&fixture("scalar-hit-ratio.json")).unwrap();
        assert_eq!(
            parsed.detail.as_deref(),
            Some("Prometheus query API (scalar)")
        );
        assert_eq!(
            parsed.metrics,
            Metrics::from([("value".into(), plain(84.26043878273178))])
        );
    }

    #[test]
    fn the_example_responses_read() {
        let read = |name: &str| {
            let path = format!("{}/examples/prometheus/{name}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            metrics(&text)["value"]
        };
        let p95 = read("db-p95.json");
        assert!(p95.value > 5.0 && p95.value < 200.0, "{p95:?}");
        let ratio = read("cache-hit-ratio.json");
        assert!(ratio.value > 75.0 && ratio.value < 95.0, "{ratio:?}");
    }

    #[test]
    fn results_that_are_not_a_number_are_errors() {
        let e = err(&fixture("vector-nan-idle.json"));
        assert!(
            e.contains("`value` returned NaN: no samples in the range"),
            "{e}"
        );
        let e = err(&fixture("vector-empty.json"));
        assert!(e.contains("`value` returned no series"), "{e}");
        let e = err(&fixture("matrix-query-range.json"));
        assert!(
            e.contains("resultType `matrix`") && e.contains("instant query"),
            "{e}"
        );
        let e = err(&fixture("error-bad-query.json"));
        assert!(
            e.contains("status `error`: bad_data: invalid parameter \"query\": 1:78: parse error: unclosed left parenthesis"),
            "{e}"
        );
        let doc = |v: &str| {
            format!(r#"{{"status":"success","data":{{"resultType":"scalar","result":[1,"{v}"]}}}}"#)
        };
        assert!(err(&doc("+Inf")).contains("`value` returned +Inf"));
        assert!(err(&doc("-Inf")).contains("`value` returned -Inf"));
        assert!(err(&doc("12ms")).contains("`12ms` is not a number"));
        assert!(err(&doc("inf")).contains("`inf` is not a number"));
        assert!(err(&doc("")).contains("`` is not a number"));
        assert_eq!(metrics(&doc("-2.5e3"))["value"], plain(-2500.0));
    }

    #[test]
    fn malformed_responses_name_the_field() {
        let e = err(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}"#,
        );
        assert!(e.contains("data"), "{e}");
        assert!(e.contains("string"), "{e}");
        let e =
            err(r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}"#);
        assert!(e.contains("field `data.result[0].value`: missing"), "{e}");
        let e = err(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}}"#,
        );
        assert!(e.contains("native histogram"), "{e}");
        let e = err(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}"#,
        );
        assert!(e.contains("EOF"), "{e}");
        let e = err(r#"{"status":"success"}"#);
        assert!(e.contains("field `data`: missing"), "{e}");
        let e = err(r#"{"status":"success","data":{"resultType":"string","result":[1,"a"]}}"#);
        assert!(e.contains("`string` is not a number"), "{e}");
    }

    #[test]
    fn values_that_overflow_once_scaled_or_summed_drop_their_family_not_infinities() {
        // Each sample is finite; each of these used to come out as an `inf` or `-inf` metric.
        for (page, line, name) in [
            ("x_seconds 1e307\n", 1, "x_seconds"),
            (
                "# TYPE c_total counter\nc_total{a=\"1\"} 1e308\nc_total{a=\"2\"} 1e308\n",
                2,
                "c_total",
            ),
            (
                "# TYPE h histogram\nh_bucket{le=\"+Inf\",a=\"1\"} 1e308\n\
                 h_bucket{le=\"+Inf\",a=\"2\"} 1e308\n",
                2,
                "h.count",
            ),
            (
                "# TYPE h histogram\nh_bucket{le=\"-Inf\"} 1\nh_bucket{le=\"+Inf\"} 2\n",
                2,
                "h.p50",
            ),
            (
                "# TYPE s_seconds summary\ns_seconds{quantile=\"0.5\"} 1\ns_seconds_sum 1e307\n\
                 s_seconds_count 2\n",
                3,
                "s_seconds.sum",
            ),
        ] {
            let p = parse(page).expect("read, less the family");
            assert!(p.metrics.is_empty(), "{page}");
            assert!(
                p.dropped[name].starts_with(&format!("line {line}: `{name}` comes out as")),
                "{page}: {:?}",
                p.dropped
            );
        }
    }

    #[test]
    fn histogram_quantile_matches_promql_on_a_hand_computed_example() {
        // Cumulative buckets: le=5: 10, le=10: 30, le=25: 80, le=50: 95, +Inf: 100.
        //   p10: rank 10 falls in the first bucket:      0 + 5 × 10/10            = 5
        //   p50: rank 50 falls in (10, 25], 30 below:   10 + 15 × (50−30)/(80−30) = 16
        //   p90: rank 90 falls in (25, 50], 80 below:   25 + 25 × (90−80)/(95−80) = 41.666…
        //   p95: rank 95 reaches le=50 exactly:          25 + 25 × 15/15          = 50
        //   p99: rank 99 is in the +Inf bucket: the highest finite bound           = 50
        let b = [
            (5.0, 10.0),
            (10.0, 30.0),
            (25.0, 80.0),
            (50.0, 95.0),
            (f64::INFINITY, 100.0),
        ];
        assert_eq!(bucket_quantile(0.1, &b), Some(5.0));
        assert_eq!(bucket_quantile(0.5, &b), Some(16.0));
        assert_eq!(bucket_quantile(0.9, &b), Some(25.0 + 25.0 * 10.0 / 15.0));
        assert_eq!(bucket_quantile(0.95, &b), Some(50.0));
        assert_eq!(bucket_quantile(0.99, &b), Some(50.0));
        // No observations, or only the +Inf bucket: PromQL says NaN, perfgate leaves it out.
        assert_eq!(
            bucket_quantile(0.5, &[(1.0, 0.0), (f64::INFINITY, 0.0)]),
            None
        );
        assert_eq!(bucket_quantile(0.5, &[(f64::INFINITY, 3.0)]), None);
        // A lowest bucket with a bound <= 0 is returned as is.
        assert_eq!(
            bucket_quantile(0.1, &[(-1.0, 5.0), (f64::INFINITY, 10.0)]),
            Some(-1.0)
        );
    }

    #[test]
    fn the_apps_page_aggregates_its_histogram_and_sums_its_counters() {
        let parsed = parse(&fixture("app-metrics.prom")).unwrap();
        assert_eq!(parsed.detail.as_deref(), Some("Prometheus exposition text"));
        let m = parsed.metrics;
        let ms = Measurement::ms;
        // Buckets summed over operation="select"/"insert"/"update" (sum by (le)):
        //   le=10: 619+148+93 = 860       le=25: 2632+653+408 = 3693   le=50: 3802+950+625 = 5377
        //   le=75: 4025+1012+656 = 5693   le=100: 4085+1020+671 = 5776 +Inf: 4115+1029+679 = 5823
        assert_eq!(m["db_query_duration_ms.count"], plain(5823.0));
        let sum = 100822.8834485657 + 25235.78523108284 + 17323.436970907354;
        assert_eq!(m["db_query_duration_ms.sum"], ms(sum));
        assert_eq!(m["db_query_duration_ms.mean"], ms(sum / 5823.0));
        // p50: rank 2911.5 falls in (10, 25]; p90: rank 5240.7 in (25, 50];
        // p95: rank 5531.85 in (50, 75]; p99: rank 5764.77 in (75, 100].
        let p = |q: f64, start: f64, end: f64, below: f64, count: f64| {
            ms(start + (end - start) * (q * 5823.0 - below) / (count - below))
        };
        assert_eq!(
            m["db_query_duration_ms.p50"],
            p(0.5, 10.0, 25.0, 860.0, 3693.0)
        );
        assert_eq!(
            m["db_query_duration_ms.p90"],
            p(0.9, 25.0, 50.0, 3693.0, 5377.0)
        );
        assert_eq!(
            m["db_query_duration_ms.p95"],
            p(0.95, 50.0, 75.0, 5377.0, 5693.0)
        );
        assert_eq!(
            m["db_query_duration_ms.p99"],
            p(0.99, 75.0, 100.0, 5693.0, 5776.0)
        );
        assert!((m["db_query_duration_ms.p95"].value - 62.2508).abs() < 1e-4);
        assert_eq!(m["cache_hits_total{type=\"session\"}"], plain(2774.0));
        assert_eq!(m["cache_hits_total"], plain(2774.0 + 2647.0 + 2746.0));
        assert_eq!(m["cache_misses_total"], plain(516.0 + 505.0 + 517.0));
        assert!(!m.contains_key("db_query_duration_ms_bucket"));
        assert_eq!(m.len(), 7 + 4 + 4);
    }

    #[test]
    fn prometheus_own_page_has_units_summaries_and_nan_quantiles_left_out() {
        let m = metrics(&fixture("prometheus-self-metrics.prom"));
        let ms = Measurement::ms;
        // go_gc_duration_seconds is a summary in seconds; quantile="0.25" → p25, values × 1000.
        assert_eq!(m["go_gc_duration_seconds.p25"], ms(9.458e-05 * 1000.0));
        assert_eq!(m["go_gc_duration_seconds.p0"], ms(8.8941e-05 * 1000.0));
        assert_eq!(m["go_gc_duration_seconds.p100"], ms(0.015341585 * 1000.0));
        assert_eq!(m["go_gc_duration_seconds.count"], plain(6.0));
        assert!(!m.contains_key("prometheus_rule_evaluation_duration_seconds.p50"));
        assert_eq!(
            m["prometheus_rule_evaluation_duration_seconds.count"],
            plain(0.0)
        );
        assert!(!m.contains_key("prometheus_rule_evaluation_duration_seconds.mean"));
        assert_eq!(
            m["go_memstats_alloc_bytes"],
            Measurement::bytes(1.0700736e+07)
        );
        assert_eq!(m["go_goroutines"], plain(34.0));
        assert_eq!(
            m["prometheus_http_request_duration_seconds.count"],
            plain(1.0 + 7.0 + 1.0 + 1.0 + 36.0)
        );
        assert!(m.contains_key("prometheus_http_request_duration_seconds.p99"));
        assert!(m.contains_key("prometheus_http_response_size_bytes.p50"));
        assert_eq!(
            m["prometheus_http_response_size_bytes.p50"].unit,
            Unit::Bytes
        );
        assert!(m.keys().any(
            |k| k.starts_with("prometheus_target_interval_length_seconds{interval=\"1s\"}.p99")
        ));
    }

    #[test]
    fn units_follow_the_naming_convention() {
        let page = "\
# TYPE req_seconds histogram
req_seconds_bucket{le=\"0.1\"} 1
req_seconds_bucket{le=\"0.5\"} 3
req_seconds_bucket{le=\"+Inf\"} 4
req_seconds_sum 1.5
req_seconds_count 4
# TYPE sent_bytes_total counter
sent_bytes_total 2048
# TYPE cpu_seconds_total counter
cpu_seconds_total 1.25
# TYPE disk_used_percent gauge
disk_used_percent 42.5
# TYPE hit_ratio gauge
hit_ratio 0.85
# TYPE queue_ms gauge
queue_ms 12
# TYPE wait_milliseconds gauge
wait_milliseconds -3
";
        let m = metrics(page);
        // p50: rank 2 in (0.1, 0.5], 1 below: 0.1 + 0.4 × 1/2 = 0.3 s; p99 is in +Inf: 0.5 s.
        assert_eq!(
            m["req_seconds.p50"],
            Measurement::ms((0.1 + 0.4 * 1.0 / 2.0) * 1000.0)
        );
        assert_eq!(m["req_seconds.p99"], Measurement::ms(500.0));
        assert_eq!(m["req_seconds.sum"], Measurement::ms(1500.0));
        assert_eq!(m["req_seconds.mean"], Measurement::ms(1.5 / 4.0 * 1000.0));
        assert_eq!(m["req_seconds.count"], plain(4.0));
        assert_eq!(m["sent_bytes_total"], Measurement::bytes(2048.0));
        assert_eq!(m["cpu_seconds_total"], Measurement::ms(1250.0));
        assert_eq!(
            m["disk_used_percent"],
            Measurement::new(42.5, Unit::Percent)
        );
        assert_eq!(m["hit_ratio"], plain(0.85));
        assert_eq!(m["queue_ms"], Measurement::ms(12.0));
        assert_eq!(m["wait_milliseconds"], Measurement::ms(-3.0));
    }

    #[test]
    fn untyped_buckets_gauges_escapes_and_timestamps() {
        let page = "\
lat_bucket{le=\"10\"} 5 1700000000000
lat_bucket{le=\"+Inf\"} 10
lat_count 10
temp{room=\"a\\\\b \\\"c\\\"\",floor=\"1\",} 21.5
temp{room=\"x\"} NaN
up 1
";
        let m = metrics(page);
        assert_eq!(m["lat.count"], plain(10.0));
        // p50: rank 5 reaches the first bucket: 0 + 10 × 5/5.
        assert_eq!(m["lat.p50"], plain(10.0));
        assert!(!m.contains_key("lat.sum"));
        assert_eq!(
            m["temp{floor=\"1\",room=\"a\\\\b \\\"c\\\"\"}"],
            plain(21.5)
        );
        assert!(!m.contains_key("temp{room=\"x\"}"));
        assert!(!m.contains_key("temp"));
        assert_eq!(m["up"], plain(1.0));
        assert_eq!(m.len(), 5 + 2);
    }

    #[test]
    fn a_histogram_with_no_observations_has_only_its_count() {
        let page = "# TYPE idle_seconds histogram\nidle_seconds_bucket{le=\"1\"} 0\n\
                    idle_seconds_bucket{le=\"+Inf\"} 0\nidle_seconds_sum 0\nidle_seconds_count 0\n";
        let m = metrics(page);
        assert_eq!(m["idle_seconds.count"], plain(0.0));
        assert_eq!(m["idle_seconds.sum"], Measurement::ms(0.0));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn malformed_pages_name_the_line() {
        let cases = [
            ("up 1\nup{a=\"b\"} one\n", "line 2: `one` is not a number"),
            (
                "up 1\n\nup{a=\"b} 1\n",
                "line 3: the value of label `a` is not closed",
            ),
            (
                "x{a=\"\\t\"} 1\n",
                "line 1: invalid escape in the value of label `a`",
            ),
            (
                "x{a=b} 1\n",
                "line 1: expected `\"` to open the value of label `a`",
            ),
            (
                "x{a=\"1\" b=\"2\"} 1\n",
                "line 1: expected `,` or `}` after label `a`",
            ),
            ("x{a=\"1\",a=\"2\"} 1\n", "line 1: label `a` appears twice"),
            ("x 1 2 3\n", "line 1: unexpected `3` after the timestamp"),
            ("x 1 soon\n", "line 1: `soon` is not a timestamp"),
            ("x\n", "line 1: missing the value"),
            ("9x 1\n", "line 1: expected a metric name"),
            (
                "# TYPE x countr\nx 1\n",
                "line 1: unknown metric type `countr`",
            ),
            (
                "# TYPE x gauge\n# TYPE x counter\nx 1\n",
                "line 2: a second TYPE line for `x` (the first is on line 1)",
            ),
            ("x 1\nx 2\n", "line 2: duplicate series `x`"),
            (
                "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1\"} 1\n",
                "line 3: duplicate series `h_bucket{le=\"1\"}` (first on line 2)",
            ),
            (
                "# TYPE h histogram\nh 1\n",
                "line 2: `h` is declared a histogram",
            ),
            ("# HELP x only help\n", "no samples on the page"),
        ];
        for (page, expected) in cases {
            let e = err(page);
            assert!(e.contains(expected), "{page:?}: {e}");
        }
    }

    /// `page` with its first `from` replaced by `to`, read: its metrics are the unmutated page's
    /// but for `names`, each dropped with `why`.
    fn drops_family(page: &str, from: &str, to: &str, names: &[&str], why: &str) {
        let original = parse(page).expect("parses");
        let bad = page.replacen(from, to, 1);
        assert_ne!(bad, page);
        let p = parse(&bad).expect("read, less one family");
        let mut expected = original.metrics.clone();
        expected.retain(|name, _| !names.contains(&name.as_str()));
        assert_eq!(p.metrics, expected, "{to}");
        let mut sorted = names.to_vec();
        sorted.sort_unstable();
        assert_eq!(p.dropped.keys().collect::<Vec<_>>(), sorted, "{to}");
        let why = format!("{why} (the family's other series are not read either)");
        for reason in p.dropped.values() {
            assert_eq!(reason, &why);
        }
    }

    #[test]
    fn a_bad_value_drops_its_family_not_the_page() {
        let app = fixture("app-metrics.prom");
        let histogram = [
            "db_query_duration_ms.count",
            "db_query_duration_ms.mean",
            "db_query_duration_ms.p50",
            "db_query_duration_ms.p90",
            "db_query_duration_ms.p95",
            "db_query_duration_ms.p99",
            "db_query_duration_ms.sum",
        ];
        drops_family(
            &app,
            "{operation=\"insert\",le=\"50\"} 950",
            "{operation=\"insert\",le=\"50\"} -950",
            &histogram,
            "line 21: bucket count -950 of `db_query_duration_ms` is not a finite count >= 0",
        );
        drops_family(
            &app,
            "{operation=\"insert\",le=\"50\"} 950",
            "{operation=\"insert\",le=\"50\"} 1300",
            &histogram,
            "line 3: histogram `db_query_duration_ms`: bucket le=\"75\" counts 5693 but the \
             smaller bucket le=\"50\" counts 5727; cumulative bucket counts never decrease",
        );
        drops_family(
            &app,
            "{operation=\"insert\",le=\"50\"} 950",
            "{operation=\"insert\",le=\"fifty\"} 950",
            &histogram,
            "line 21: `le=\"fifty\"` is not a number",
        );
        drops_family(
            &app,
            "cache_misses_total{type=\"event\"} 505",
            "cache_misses_total{type=\"event\"} -505",
            &[
                "cache_misses_total",
                "cache_misses_total{type=\"event\"}",
                "cache_misses_total{type=\"session\"}",
                "cache_misses_total{type=\"user\"}",
            ],
            "line 50: counter `cache_misses_total` is -505; a counter is a finite count >= 0",
        );
        let own = fixture("prometheus-self-metrics.prom");
        drops_family(
            &own,
            "go_gc_duration_seconds_count 6",
            "go_gc_duration_seconds_count -6",
            &[
                "go_gc_duration_seconds.count",
                "go_gc_duration_seconds.mean",
                "go_gc_duration_seconds.p0",
                "go_gc_duration_seconds.p100",
                "go_gc_duration_seconds.p25",
                "go_gc_duration_seconds.p50",
                "go_gc_duration_seconds.p75",
                "go_gc_duration_seconds.sum",
            ],
            "line 9: `go_gc_duration_seconds_count` is -6; a count is a finite number >= 0",
        );
        // A quantile that is not one names no metric: the family's others are dropped.
        let p = parse(&own.replacen(
            "go_gc_duration_seconds{quantile=\"0.25\"}",
            "go_gc_duration_seconds{quantile=\"25\"}",
            1,
        ))
        .expect("read");
        assert!(!p
            .metrics
            .keys()
            .any(|k| k.starts_with("go_gc_duration_seconds")));
        assert_eq!(p.dropped.len(), 7, "{:?}", p.dropped);
        assert!(p.dropped["go_gc_duration_seconds.p50"]
            .starts_with("line 4: `quantile=\"25\"` is not between 0 and 1"));
        // A histogram without its +Inf bucket, a summary sample without a quantile.
        let p = parse("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nup 1\n").expect("read");
        assert_eq!(p.metrics["up"], plain(1.0));
        assert!(p.dropped["h.p95"].starts_with("line 2: histogram `h` has no `le=\"+Inf\"` bucket"));
        let p = parse("# TYPE s summary\ns 1\ns_count 1\nup 1\n").expect("read");
        assert!(
            p.dropped["s.count"].starts_with("line 2: summary `s` sample has no `quantile` label")
        );
    }

    #[test]
    fn exposition_is_told_from_other_text() {
        assert!(looks_like_exposition(&fixture("app-metrics.prom")));
        assert!(looks_like_exposition(&fixture(
            "prometheus-self-metrics.prom"
        )));
        assert!(looks_like_exposition("up 1\n"));
        assert!(looks_like_exposition(
            "http_requests_total{code=\"200\"} 1027 1395066363000\n"
        ));
        assert!(!looks_like_exposition(
            "timeStamp,elapsed,label,responseCode\n1,2,a,200\n"
        ));
        assert!(!looks_like_exposition(
            "RUN\tsim\tsim\t1700000000000\t \t3.9.3\n"
        ));
        assert!(!looks_like_exposition("hello world\n"));
        assert!(!looks_like_exposition("# just a comment\n"));
    }

    #[test]
    fn quantile_suffixes() {
        assert_eq!(quantile_suffix(0.95), "p95");
        assert_eq!(quantile_suffix(0.999), "p99.9");
        assert_eq!(quantile_suffix(0.01), "p1");
        assert_eq!(quantile_suffix(0.0), "p0");
        assert_eq!(quantile_suffix(1.0), "p100");
    }

    #[test]
    fn credentials_are_cut_from_urls() {
        assert_eq!(
            redact_url("http://user:secret@prom:9090/x"),
            "http://prom:9090/x"
        );
        assert_eq!(redact_url("https://token@prom"), "https://prom");
        assert_eq!(
            redact_url("http://a:b@c@prom:9090?q=x@y"),
            "http://prom:9090?q=x@y"
        );
        assert_eq!(redact_url("http://prom:9090/a@b"), "http://prom:9090/a@b");
        assert_eq!(redact_url("prom:9090"), "prom:9090");
    }

    #[test]
    fn live_endpoints_keep_a_path_prefix() {
        let e = |u: &str| query_endpoint(u).map(|u| u.to_string());
        assert_eq!(
            e("http://127.0.0.1:9090").unwrap(),
            "http://127.0.0.1:9090/api/v1/query"
        );
        assert_eq!(e("http://h/prom/").unwrap(), "http://h/prom/api/v1/query");
        assert!(format!("{:#}", e("ftp://h").unwrap_err()).contains("not an http(s) URL"));
        assert!(format!("{:#}", e("127.0.0.1:9090").unwrap_err()).contains("not"));
    }

    #[test]
    fn live_naming_uses_the_query_name() {
        let (m, _, _) = parse_response(
            &mut fixture("vector-by-operation.json").as_bytes(),
            "query_p95",
        )
        .unwrap();
        assert!(m.contains_key("query_p95{operation=\"select\"}"));
        let e = format!(
            "{:#}",
            parse_response(&mut fixture("vector-nan-idle.json").as_bytes(), "query_p95")
                .unwrap_err()
        );
        assert!(e.contains("`query_p95` returned NaN"), "{e}");
    }

    #[test]
    fn every_fixture_is_detected_as_prometheus() {
        let dir = format!("{}/tests/fixtures/prometheus", env!("CARGO_MANIFEST_DIR"));
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("json" | "prom")
            ) {
                let text = std::fs::read_to_string(&path).unwrap();
                let found = super::super::sniff(&text);
                assert!(
                    matches!(found, Ok(super::super::Format::Prometheus)),
                    "{}: {found:?}",
                    path.display()
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 10);
    }

    #[test]
    fn one_nan_series_among_several_is_left_out_with_its_reason() {
        let text = fixture("vector-by-operation.json");
        let nan = text.replacen("\"61.57379518072287\"", "\"NaN\"", 1);
        assert_ne!(nan, text);
        let original = parse(&text).expect("read");
        let p = parse(&nan).expect("read");
        let select = "value{operation=\"select\"}";
        let mut expected = original.metrics.clone();
        expected.remove(select).expect("the original has it");
        assert_eq!(p.metrics, expected);
        assert_eq!(p.dropped.keys().collect::<Vec<_>>(), [select]);
        assert_eq!(
            p.dropped[select],
            "field `data.result[1].value`: `value{operation=\"select\"}` returned NaN: no samples \
             in the range (an idle series, or a rate window shorter than two scrape intervals)"
        );
        // Every series NaN: nothing to judge, refused with the first reason.
        let all = nan
            .replacen("\"62.83163265306119\"", "\"NaN\"", 1)
            .replacen("\"65.9659090909091\"", "\"+Inf\"", 1);
        let e = format!("{:#}", parse(&all).expect_err("no series left"));
        assert!(
            e.contains("`value`: no series has a value to judge")
                && e.contains("data.result[0].value"),
            "{e}"
        );
    }
}
