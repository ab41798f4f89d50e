//! artillery: `artillery run --output` reports, Artillery 2 (v2) and the legacy 1.x shape (v1).
//!
//! The one rule: metrics keep Artillery 2's own names, taken whole (a name is never split on its
//! dots), and a legacy v1 field is mapped onto the v2 name that means the same thing, so that one
//! budget reads both. A value the report leaves out (a null percentile) is left out, never read as 0.
//! A value that fails validation (a negative count) is dropped with its reason (see
//! [`Parsed::dropped`]), and so is a derived total that would add it: never a partial sum.
//!
//! Names: every counter as is (a plain count; `http.downloaded_bytes` in bytes), every rate as is
//! (per second), every summary as `<name>.<stat>` (ms, but `.count` and CLS are plain numbers);
//! derived `http.codes.4xx` and `http.codes.5xx` (when the run made HTTP requests) and
//! `errors.total` (always).
//!
//! v1 → v2: `scenariosCreated` → `vusers.created`, `scenariosCompleted` → `vusers.completed`,
//! `scenariosAvoided` → `vusers.skipped`, `scenarioCounts.<name>` → `vusers.created_by_name.<name>`,
//! `requestsCompleted` → `http.responses`, `rps.mean` → `http.request_rate`, `codes.<code>` →
//! `http.codes.<code>`, `errors.<e>` → `errors.<e>`, `latency` → `http.response_time`,
//! `scenarioDuration` → `vusers.session_length`, `customStats.<name>` → `<name>`, and a summary's
//! `median` also as `p50` (v2 writes both, equal). Artillery 1.x's `rps.count` → `http.requests`:
//! both count a request when it is sent (got's `request` event, engine_http 1.7.9 and 2.x), so
//! also requests whose connection then failed. Int-core's legacy writer puts `http.responses`
//! into `rps.count`, so its files have no `http.requests`. No v1 field means `vusers.failed`
//! (created − completed also counts the virtual users still running when a period closes) or
//! `http.downloaded_bytes`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use anyhow::{bail, Result};
use serde::Deserialize;
use serde_json::Value;

use super::reader::{first_item, names_key, Detect, Reader, Sniff, Whole};
use super::{first_byte, from_json, non_negative, non_negative_scaled, Parsed};
use crate::model::{Measurement, Metrics, Unit};

/// Artillery's JSON report (`artillery run --output`).
pub(crate) const READER: Reader = Reader {
    name: "artillery",
    detect: Detect {
        json: sniff,
        broken_json: sniff_broken,
        ..Detect::NONE
    },
    whole: Some(Whole::Json(parse)),
    stream: None,
};

/// A report's `aggregate`, with its periods or counters; a list of worker events is no report.
fn sniff(v: &Value) -> Option<Sniff> {
    let has = |k: &str| v.get(k).is_some();
    if has("aggregate") && (has("intermediate") || v["aggregate"].get("counters").is_some()) {
        return Some(Sniff::Read);
    }
    let item = first_item(v)?;
    (item.get("event").is_some() && item.get("report").is_some())
        .then_some(Sniff::Unsupported("Artillery worker events, not a report"))
}

fn sniff_broken(head: &str) -> bool {
    names_key(head, "aggregate")
        && ["counters", "intermediate", "latency"]
            .iter()
            .any(|k| names_key(head, k))
}

/// An `artillery run --output` file, in either shape: Artillery 2.0.21 periods (int-core
/// `lib/ssms.js`, `artillery/lib/cmds/run.js`) or legacy v1 periods (Artillery 1.7.9 `stats`, and
/// int-core `SSMS.legacyReport`, which 2.x writes under `ARTILLERY_USE_LEGACY_REPORT_FORMAT`).
/// The shape is told from `aggregate`; the periods in `intermediate` have the same one.
#[derive(Deserialize)]
struct ArtilleryReport {
    aggregate: Option<ArtilleryPeriod>,
    #[serde(default)]
    intermediate: Vec<ArtilleryPeriod>,
}

/// One period: the whole run (`aggregate`) or one 10 s slice of it (`intermediate[i]`).
/// Unknown keys are ignored: timestamps, v1 raw `latencies`, and the `"<rate name>": null` keys
/// Artillery 2 leaves at the top of intermediate periods.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtilleryPeriod {
    /// v2: every counter. v1: custom counters (`events.emit('counter', …)`).
    #[serde(default)]
    counters: BTreeMap<String, f64>,

    // v2 fields.
    /// Per-second rates; a rate is `null` when Artillery divided by an empty period (NaN).
    rates: Option<BTreeMap<String, Option<f64>>>,
    summaries: Option<BTreeMap<String, ArtillerySummary>>,
    /// The same object as `summaries` (run.js: `report.histograms = report.summaries`); older
    /// 2.0.0 builds wrote only this one.
    histograms: Option<BTreeMap<String, ArtillerySummary>>,
    /// Start of the period, epoch ms: a number in `aggregate`, a string in `intermediate`.
    period: Option<Value>,

    // v1 fields.
    /// Artillery 1.x writes it in every period (`stats2.js`); int-core's legacy writer never does.
    matches: Option<serde::de::IgnoredAny>,
    scenarios_created: Option<f64>,
    scenarios_completed: Option<f64>,
    scenarios_avoided: Option<f64>,
    requests_completed: Option<f64>,
    latency: Option<ArtillerySummary>,
    scenario_duration: Option<ArtillerySummary>,
    rps: Option<ArtilleryRps>,
    #[serde(default)]
    scenario_counts: BTreeMap<String, f64>,
    #[serde(default)]
    codes: BTreeMap<String, f64>,
    #[serde(default)]
    errors: BTreeMap<String, f64>,
    #[serde(default)]
    custom_stats: BTreeMap<String, ArtillerySummary>,
}

/// A histogram summary (int-core `summarizeHistogram`; v1 `latency` has min, max, median, p95,
/// p99 only). `mean` is missing in early 2.0.0 builds; v1 percentiles are null with too few samples.
#[derive(Deserialize, Default, Clone)]
struct ArtillerySummary {
    min: Option<f64>,
    max: Option<f64>,
    count: Option<f64>,
    mean: Option<f64>,
    p50: Option<f64>,
    median: Option<f64>,
    p75: Option<f64>,
    p90: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
    /// `p50` is a v1 summary's `median` (see [`with_p50`]): messages about it name `median`.
    #[serde(skip)]
    p50_is_median: bool,
}

/// v1 `rps`: `mean` is requests per second; `count` is requests sent in Artillery 1.x files and
/// responses in those of 2.x's legacy writer.
#[derive(Deserialize)]
struct ArtilleryRps {
    mean: Option<f64>,
    count: Option<f64>,
}

impl ArtillerySummary {
    fn stats(&self) -> [(&'static str, Option<f64>); 11] {
        [
            ("min", self.min),
            ("max", self.max),
            ("count", self.count),
            ("mean", self.mean),
            ("median", self.median),
            ("p50", self.p50),
            ("p75", self.p75),
            ("p90", self.p90),
            ("p95", self.p95),
            ("p99", self.p99),
            ("p999", self.p999),
        ]
    }
}

impl ArtilleryPeriod {
    fn is_v1(&self) -> bool {
        self.scenarios_created.is_some()
            || self.scenarios_completed.is_some()
            || self.requests_completed.is_some()
            || self.latency.is_some()
    }

    fn is_v2(&self) -> bool {
        !self.counters.is_empty()
            || self.summaries.is_some()
            || self.histograms.is_some()
            || self.rates.is_some()
    }

    /// `summaries`, or `histograms` where an older build wrote only that; never both.
    fn summaries(&self) -> Option<&BTreeMap<String, ArtillerySummary>> {
        self.summaries.as_ref().or(self.histograms.as_ref())
    }

    fn summaries_field(&self) -> &'static str {
        if self.summaries.is_some() {
            "summaries"
        } else {
            "histograms"
        }
    }

    fn period_ms(&self) -> Option<f64> {
        match self.period.as_ref()? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

pub(crate) fn parse(input: &mut dyn BufRead) -> Result<Parsed> {
    if first_byte(input)? != Some(b'{') {
        bail!(
            "the top level is not a JSON object; an Artillery report (`artillery run --output`) \
             is an object with `aggregate` and `intermediate`"
        );
    }
    let report: ArtilleryReport = from_json(input)?;
    let Some(aggregate) = report.aggregate else {
        bail!(
            "field `aggregate` is missing: an Artillery report (`artillery run --output`) keeps \
             the run's totals there"
        );
    };
    if aggregate.is_v1() {
        parse_v1(&aggregate, &report.intermediate)
    } else if aggregate.is_v2() {
        parse_v2(&aggregate, &report.intermediate)
    } else {
        bail!(
            "field `aggregate`: the run recorded nothing (no `counters` or `summaries` as \
             Artillery 2 writes them, no `scenariosCreated` or `latency` as Artillery 1 does)"
        )
    }
}

fn parse_v2(aggregate: &ArtilleryPeriod, intermediate: &[ArtilleryPeriod]) -> Result<Parsed> {
    let (metrics, dropped, http) = nonempty(collect_v2(aggregate, "aggregate")?)?.finish(None)?;
    let mut periods = Vec::with_capacity(intermediate.len());
    let mut unread = BTreeSet::new();
    for (i, p) in intermediate.iter().enumerate() {
        let (period, lost, _) = collect_v2(p, &format!("intermediate[{i}]"))?.finish(Some(http))?;
        unread.extend(lost.into_keys());
        periods.push((p.period_ms(), period));
    }
    // Artillery appends a period when it is flushed, and flushes what is left together at the end
    // of a run; order by each period's start where every one has it.
    if periods.iter().all(|(start, _)| start.is_some()) {
        periods.sort_by(|a, b| a.0.unwrap_or_default().total_cmp(&b.0.unwrap_or_default()));
    }
    let periods = without(periods.into_iter().map(|(_, metrics)| metrics), &unread);
    let summaries = aggregate.summaries();
    let no_mean = summaries.is_some_and(|s| !s.is_empty() && s.values().all(|s| s.mean.is_none()));
    Ok(Parsed {
        detail: Some(if no_mean {
            "Artillery v2 (an early 2.0.0 build: summaries have no mean)".to_string()
        } else {
            "Artillery v2".to_string()
        }),
        metrics,
        periods,
        dropped,
        ..Parsed::default()
    })
}

/// The periods without the metrics some period could not read: a metric's periods are the run's
/// samples of it, and a set with a slice missing would pass for the whole run.
fn without(periods: impl Iterator<Item = Metrics>, unread: &BTreeSet<String>) -> Vec<Metrics> {
    periods
        .map(|mut period| {
            period.retain(|name, _| !unread.contains(name));
            period
        })
        .collect()
}

fn collect_v2<'a>(p: &ArtilleryPeriod, at: &'a str) -> Result<Collector<'a>> {
    let mut c = Collector::new(at);
    for (name, &value) in &p.counters {
        c.counter(&format!("counters.{name}"), name, value)?;
    }
    for (name, &value) in p.rates.iter().flatten() {
        if let Some(value) = value {
            c.rate(&format!("rates.{name}"), name, value)?;
        }
    }
    let field = p.summaries_field();
    for (name, summary) in p.summaries().into_iter().flatten() {
        c.summary(&format!("{field}.{name}"), name, summary)?;
    }
    Ok(c)
}

fn parse_v1(aggregate: &ArtilleryPeriod, intermediate: &[ArtilleryPeriod]) -> Result<Parsed> {
    // Artillery 1.x summaries hold min, max, median, p95, p99 and every period has `matches`;
    // int-core's legacy writer puts the full v2 summary (with count and p50) in the same place and
    // writes no `matches`.
    let by_v2 = aggregate.matches.is_none()
        || [&aggregate.latency, &aggregate.scenario_duration]
            .into_iter()
            .flatten()
            .any(|s| s.count.is_some() || s.p50.is_some());
    let (metrics, dropped, http) =
        nonempty(collect_v1(aggregate, "aggregate", by_v2)?)?.finish(None)?;
    let mut periods = Vec::with_capacity(intermediate.len());
    let mut unread = BTreeSet::new();
    for (i, p) in intermediate.iter().enumerate() {
        let (period, lost, _) =
            collect_v1(p, &format!("intermediate[{i}]"), by_v2)?.finish(Some(http))?;
        unread.extend(lost.into_keys());
        periods.push(period);
    }
    let periods = without(periods.into_iter(), &unread);
    let mut detail = if by_v2 {
        "Artillery v1 (legacy format written by Artillery 2)".to_string()
    } else {
        "Artillery v1 (legacy)".to_string()
    };
    if let (false, Some(n)) = (http, aggregate.requests_completed) {
        detail += &format!(
            "; its {n} requests without a status code (WebSocket or Socket.IO messages) have no \
             HTTP name: their counts and `latency` are not read"
        );
    }
    Ok(Parsed {
        detail: Some(detail),
        metrics,
        periods,
        dropped,
        ..Parsed::default()
    })
}

/// One v1 period's metrics; `by_v2`: the file is from int-core's legacy writer, not Artillery 1.x.
fn collect_v1<'a>(p: &ArtilleryPeriod, at: &'a str, by_v2: bool) -> Result<Collector<'a>> {
    let mut c = Collector::new(at);
    let scalars = [
        ("scenariosCreated", "vusers.created", p.scenarios_created),
        (
            "scenariosCompleted",
            "vusers.completed",
            p.scenarios_completed,
        ),
        ("scenariosAvoided", "vusers.skipped", p.scenarios_avoided),
    ];
    for (field, name, value) in scalars {
        if let Some(value) = value {
            c.counter(field, name, value)?;
        }
    }
    // `requestsCompleted` and `rps` count WebSocket messages or Socket.IO emits in runs of those
    // engines (int-core legacyReport falls back to them; Artillery 1.x's engines record each with
    // status code 0), which have no status codes; they are HTTP numbers only where there are
    // codes, or nothing was completed at all.
    let completed = p.requests_completed.unwrap_or(0.0);
    let http = p.codes.keys().any(|code| code != "0") || completed == 0.0;
    if let (true, Some(value)) = (http, p.requests_completed) {
        c.counter("requestsCompleted", "http.responses", value)?;
    }
    if let (true, false, Some(sent)) = (http, by_v2, p.rps.as_ref().and_then(|r| r.count)) {
        c.counter("rps.count", "http.requests", sent)?;
    }
    if let (true, Some(mean)) = (http, p.rps.as_ref().and_then(|r| r.mean)) {
        // int-core's legacy writer reads `rates['http.response_rate']`, which Artillery 2 never
        // records, so its files say 0 req/s for a run that completed requests.
        if mean > 0.0 || completed == 0.0 {
            c.rate("rps.mean", "http.request_rate", mean)?;
        }
    }
    for (code, &value) in p.codes.iter().filter(|(code, _)| *code != "0") {
        c.counter(
            &format!("codes.{code}"),
            &format!("http.codes.{code}"),
            value,
        )?;
    }
    for (code, &value) in &p.errors {
        c.counter(&format!("errors.{code}"), &format!("errors.{code}"), value)?;
    }
    for (scenario, &value) in &p.scenario_counts {
        c.counter(
            &format!("scenarioCounts.{scenario}"),
            &format!("vusers.created_by_name.{scenario}"),
            value,
        )?;
    }
    for (name, &value) in &p.counters {
        c.counter(&format!("counters.{name}"), name, value)?;
    }
    if let (true, Some(latency)) = (http, &p.latency) {
        c.summary("latency", "http.response_time", &with_p50(latency))?;
    }
    if let Some(duration) = &p.scenario_duration {
        c.summary(
            "scenarioDuration",
            "vusers.session_length",
            &with_p50(duration),
        )?;
    }
    for (name, summary) in &p.custom_stats {
        c.summary(&format!("customStats.{name}"), name, &with_p50(summary))?;
    }
    Ok(c)
}

/// A v1 summary with its `median` as `p50` too, where it has no `p50` (Artillery 1.x), as a v2
/// summary has both.
fn with_p50(summary: &ArtillerySummary) -> ArtillerySummary {
    ArtillerySummary {
        p50: summary.p50.or(summary.median),
        p50_is_median: summary.p50.is_none(),
        ..summary.clone()
    }
}

/// The aggregate of a run that recorded nothing (no virtual user ever started) is refused: there
/// is nothing to judge, and every budgeted metric would be reported missing.
fn nonempty(aggregate: Collector<'_>) -> Result<Collector<'_>> {
    if aggregate.metrics.is_empty() && aggregate.dropped.is_empty() {
        bail!("field `aggregate`: the run recorded no counters, rates or summaries");
    }
    Ok(aggregate)
}

/// A derived total as it is summed: the sum so far, or why it cannot be known (a counter it adds
/// was dropped), as a partial sum would pass for the whole.
struct Sum {
    /// The derived metric's name (`http.codes.5xx`), and the field it is named after in messages.
    name: &'static str,
    field: &'static str,
    /// The counters it adds, for messages (`` `http.codes.5…` ``).
    of: &'static str,
    total: f64,
    lacks: Option<String>,
}

impl Sum {
    fn new(name: &'static str, field: &'static str, of: &'static str) -> Sum {
        Sum {
            name,
            field,
            of,
            total: 0.0,
            lacks: None,
        }
    }

    /// The total, or why it is unknown; `at` is the period, for messages.
    fn value(&self, at: &str) -> Result<f64, String> {
        if let Some(why) = &self.lacks {
            return Err(why.clone());
        }
        // Each count is finite, but counts near f64::MAX add up to infinity.
        if !self.total.is_finite() {
            return Err(format!(
                "field `{at}`: the counters {} add up to more than a number holds",
                self.of
            ));
        }
        Ok(self.total)
    }
}

/// One period's metrics as they are read, with the sums the derived metrics need. A value that
/// fails validation is dropped with its reason (each counter, rate and statistic stands alone);
/// only two entries making one metric refuse the file, as which one Artillery meant is unknown.
struct Collector<'a> {
    /// Where the period is in the file (`aggregate`, `intermediate[3]`), for messages.
    at: &'a str,
    metrics: Metrics,
    dropped: BTreeMap<String, String>,
    any_http: bool,
    codes_4xx: Sum,
    codes_5xx: Sum,
    errors: Sum,
}

impl<'a> Collector<'a> {
    fn new(at: &'a str) -> Self {
        Collector {
            at,
            metrics: Metrics::new(),
            dropped: BTreeMap::new(),
            any_http: false,
            codes_4xx: Sum::new("http.codes.4xx", "codes", "`http.codes.4…`"),
            codes_5xx: Sum::new("http.codes.5xx", "codes", "`http.codes.5…`"),
            errors: Sum::new("errors.total", "errors", "`errors.*`"),
        }
    }

    fn counter(&mut self, field: &str, name: &str, value: f64) -> Result<()> {
        self.any_http |= name.starts_with("http.");
        let value = non_negative(&format!("{}.{field}", self.at), value);
        let sum = match name
            .strip_prefix("http.codes.")
            .and_then(|c| c.parse::<u16>().ok())
            .map(|code| code / 100)
        {
            Some(4) => Some(&mut self.codes_4xx),
            Some(5) => Some(&mut self.codes_5xx),
            _ if name.starts_with("errors.") => Some(&mut self.errors),
            _ => None,
        };
        let value = match (value, sum) {
            (Ok(value), Some(sum)) => {
                sum.total += value;
                value
            }
            (Ok(value), None) => value,
            (Err(why), sum) => {
                let why = format!("{why:#}");
                if let Some(sum) = sum {
                    let of = sum.of;
                    sum.lacks.get_or_insert_with(|| {
                        format!("it sums the counters {of}, and `{name}` was dropped: {why}")
                    });
                }
                return self.drop(field, name.to_string(), why);
            }
        };
        // Artillery counts bytes under this name (engine_http, `http.downloaded_bytes`).
        let unit = if name == "http.downloaded_bytes" {
            Unit::Bytes
        } else {
            Unit::None
        };
        self.put(field, name.to_string(), Measurement::new(value, unit))
    }

    fn rate(&mut self, field: &str, name: &str, value: f64) -> Result<()> {
        match non_negative(&format!("{}.{field}", self.at), value) {
            Ok(value) => self.put(
                field,
                name.to_string(),
                Measurement::new(value, Unit::PerSecond),
            ),
            Err(why) => self.drop(field, name.to_string(), format!("{why:#}")),
        }
    }

    fn summary(&mut self, field: &str, name: &str, summary: &ArtillerySummary) -> Result<()> {
        for (stat, value) in summary.stats() {
            let Some(value) = value else { continue };
            let written = if stat == "p50" && summary.p50_is_median {
                "median"
            } else {
                stat
            };
            let field = format!("{field}.{written}");
            let (unit, scale) = summary_unit(name, stat);
            let metric = format!("{name}.{stat}");
            match non_negative_scaled(&format!("{}.{field}", self.at), value, scale) {
                Ok(value) => self.put(&field, metric, Measurement::new(value, unit))?,
                Err(why) => self.drop(&field, metric, format!("{why:#}"))?,
            }
        }
        Ok(())
    }

    fn put(&mut self, field: &str, name: String, m: Measurement) -> Result<()> {
        self.claim(field, &name)?;
        self.metrics.insert(name, m);
        Ok(())
    }

    fn drop(&mut self, field: &str, name: String, why: String) -> Result<()> {
        self.claim(field, &name)?;
        self.dropped.insert(name, why);
        Ok(())
    }

    /// An error when another entry of the period already makes the metric `name`.
    fn claim(&self, field: &str, name: &str) -> Result<()> {
        if self.metrics.contains_key(name) || self.dropped.contains_key(name) {
            bail!(
                "field `{}.{field}`: makes the metric `{name}`, which another entry of this \
                 period already makes",
                self.at
            );
        }
        Ok(())
    }

    /// The period's metrics with the derived ones, the metrics it dropped, and whether it has
    /// HTTP counters. `http` is the aggregate's answer for an intermediate period, so that every
    /// period of a run carries the same derived names.
    fn finish(mut self, http: Option<bool>) -> Result<(Metrics, BTreeMap<String, String>, bool)> {
        let http = http.unwrap_or(self.any_http);
        let mut sums = vec![&self.errors];
        if http {
            sums.extend([&self.codes_4xx, &self.codes_5xx]);
        }
        let derived: Vec<_> = sums
            .into_iter()
            .map(|sum| (sum.field, sum.name, sum.value(self.at)))
            .collect();
        for (field, name, value) in derived {
            match value {
                Ok(total) => self.put(field, name.to_string(), Measurement::count(total))?,
                Err(why) => self.drop(field, name.to_string(), why)?,
            }
        }
        Ok((self.metrics, self.dropped, http))
    }
}

/// The unit of one statistic of a summary, and the factor to it from the value as written.
fn summary_unit(name: &str, stat: &str) -> (Unit, f64) {
    if stat == "count" {
        return (Unit::None, 1.0);
    }
    // Cumulative Layout Shift is a unitless score (artillery-engine-playwright web vitals).
    if name.starts_with("browser.page.CLS.") || name == "browser.page.CLS" {
        return (Unit::None, 1.0);
    }
    // The playwright engine emits usedJSHeapSize / 1000 / 1000 under this name: SI megabytes.
    if name == "browser.memory_used_mb" {
        return (Unit::Bytes, 1e6);
    }
    // Every other histogram Artillery records is a timing in ms (response times, session
    // lengths, web vitals, `browser.step.*`), and `events.emit('histogram', …)` in user code is
    // how Artillery's docs time things, so custom summaries are taken as ms too.
    (Unit::Ms, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real reports: tests/fixtures/artillery/make.sh ran Artillery 2.0.21 and 1.7.9 against
    // examples/app/server.js. The values asserted here are read off those files.
    const CLEAN: &str = include_str!("../../tests/fixtures/artillery/http-clean.json");
    const ERRORS: &str = include_str!("../../tests/fixtures/artillery/http-errors-4xx-5xx.json");
    const WEBSOCKET: &str =
        include_str!("../../tests/fixtures/artillery/websocket-message-latency.json");
    const V1: &str = include_str!("../../tests/fixtures/artillery/v1-artillery-1.7.9-errors.json");
    const V1_BY_V2: &str =
        include_str!("../../tests/fixtures/artillery/v1-legacy-format-artillery-2.0.21.json");

    fn parsed(text: &str) -> Parsed {
        parse(&mut text.as_bytes()).expect("the report parses")
    }

    fn get(metrics: &Metrics, name: &str) -> Measurement {
        *metrics
            .get(name)
            .unwrap_or_else(|| panic!("no metric `{name}` in {:?}", metrics.keys()))
    }

    fn error(text: &str) -> String {
        format!(
            "{:#}",
            parse(&mut text.as_bytes()).expect_err("the input is refused")
        )
    }

    fn per_second(value: f64) -> Measurement {
        Measurement::new(value, Unit::PerSecond)
    }

    #[test]
    fn clean_http_run() {
        let p = parsed(CLEAN);
        let m = &p.metrics;
        assert_eq!(p.detail.as_deref(), Some("Artillery v2"));
        assert_eq!(get(m, "http.response_time.p95"), Measurement::ms(106.7));
        assert_eq!(get(m, "http.response_time.p99"), Measurement::ms(117.9));
        assert_eq!(get(m, "http.response_time.median"), Measurement::ms(44.3));
        assert_eq!(get(m, "http.response_time.p50"), Measurement::ms(44.3));
        assert_eq!(get(m, "http.response_time.mean"), Measurement::ms(53.0));
        assert_eq!(get(m, "http.response_time.max"), Measurement::ms(148.0));
        assert_eq!(
            get(m, "http.response_time.count"),
            Measurement::count(100.0)
        );
        assert_eq!(get(m, "http.response_time.2xx.p95"), Measurement::ms(106.7));
        assert_eq!(get(m, "vusers.session_length.p95"), Measurement::ms(125.2));
        assert_eq!(get(m, "http.requests"), Measurement::count(100.0));
        assert_eq!(get(m, "http.codes.200"), Measurement::count(100.0));
        assert_eq!(get(m, "http.codes.4xx"), Measurement::count(0.0));
        assert_eq!(get(m, "http.codes.5xx"), Measurement::count(0.0));
        assert_eq!(get(m, "errors.total"), Measurement::count(0.0));
        assert_eq!(get(m, "vusers.failed"), Measurement::count(0.0));
        assert_eq!(
            get(m, "vusers.created_by_name.sign in"),
            Measurement::count(13.0)
        );
        assert_eq!(get(m, "http.request_rate"), per_second(9.0));
        assert_eq!(get(m, "http.downloaded_bytes"), Measurement::bytes(78312.0));
        // metrics-by-endpoint names hold slashes, spaces and the URL template as written.
        assert_eq!(
            get(
                m,
                "plugins.metrics-by-endpoint./api/meetings/{{ $randomNumber(1, 500) }}.codes.200"
            ),
            Measurement::count(27.0)
        );
        assert_eq!(
            get(
                m,
                "plugins.metrics-by-endpoint.response_time./api/search.p99"
            ),
            Measurement::ms(106.7)
        );
    }

    #[test]
    fn periods_are_oldest_first_and_add_up_to_the_aggregate() {
        let p = parsed(CLEAN);
        assert_eq!(p.periods.len(), 2);
        assert_eq!(
            get(&p.periods[0], "http.requests"),
            Measurement::count(74.0)
        );
        assert_eq!(
            get(&p.periods[1], "http.requests"),
            Measurement::count(26.0)
        );
        assert_eq!(get(&p.periods[0], "http.request_rate"), per_second(8.0));
        assert_eq!(get(&p.periods[1], "http.request_rate"), per_second(10.0));
        assert_eq!(
            get(&p.periods[0], "http.response_time.p95"),
            Measurement::ms(102.5)
        );
        for period in &p.periods {
            assert_eq!(get(period, "http.codes.5xx"), Measurement::count(0.0));
            assert_eq!(get(period, "errors.total"), Measurement::count(0.0));
        }

        let p = parsed(ERRORS);
        let requests: f64 = p
            .periods
            .iter()
            .map(|m| get(m, "http.requests").value)
            .sum();
        assert_eq!(requests, get(&p.metrics, "http.requests").value);
    }

    #[test]
    fn failing_http_run_sums_codes_and_errors() {
        let p = parsed(ERRORS);
        let m = &p.metrics;
        assert_eq!(get(m, "http.requests"), Measurement::count(60.0));
        assert_eq!(get(m, "http.responses"), Measurement::count(54.0));
        assert_eq!(get(m, "http.codes.500"), Measurement::count(7.0));
        assert_eq!(get(m, "http.codes.5xx"), Measurement::count(7.0));
        // 12 × 401 + 4 × 404.
        assert_eq!(get(m, "http.codes.4xx"), Measurement::count(16.0));
        assert_eq!(get(m, "errors.ECONNREFUSED"), Measurement::count(6.0));
        // Only `errors.*` counts: the metrics-by-endpoint twin of the error is not added again.
        assert_eq!(
            get(
                m,
                "plugins.metrics-by-endpoint.:9/api/meetings.errors.ECONNREFUSED"
            ),
            Measurement::count(6.0)
        );
        assert_eq!(get(m, "errors.total"), Measurement::count(6.0));
        assert_eq!(get(m, "vusers.failed"), Measurement::count(6.0));
        assert_eq!(get(m, "http.response_time.p95"), Measurement::ms(115.6));
        assert_eq!(get(m, "http.response_time.5xx.p95"), Measurement::ms(111.1));
        assert_eq!(p.periods.len(), 2);
    }

    #[test]
    fn websocket_run_has_the_custom_latency_histogram_and_no_http_metrics() {
        let p = parsed(WEBSOCKET);
        let m = &p.metrics;
        assert_eq!(
            get(m, "websocket.message_latency.p95"),
            Measurement::ms(18.7)
        );
        assert_eq!(
            get(m, "websocket.message_latency.p99"),
            Measurement::ms(19.9)
        );
        assert_eq!(
            get(m, "websocket.message_latency.mean"),
            Measurement::ms(12.0)
        );
        assert_eq!(
            get(m, "websocket.message_latency.count"),
            Measurement::count(168.0)
        );
        assert_eq!(get(m, "websocket.messages_sent"), Measurement::count(168.0));
        assert_eq!(get(m, "websocket.send_rate"), per_second(11.0));
        assert_eq!(get(m, "errors.total"), Measurement::count(0.0));
        assert!(!m.contains_key("http.codes.5xx"));
        assert!(!m.contains_key("http.response_time.p95"));
        assert_eq!(p.periods.len(), 2);
        assert_eq!(
            get(&p.periods[0], "websocket.message_latency.p95"),
            Measurement::ms(19.5)
        );
        assert!(!p.periods[0].contains_key("http.codes.5xx"));
    }

    #[test]
    fn artillery_1_report_maps_onto_v2_names() {
        let p = parsed(V1);
        let m = &p.metrics;
        assert_eq!(p.detail.as_deref(), Some("Artillery v1 (legacy)"));
        assert_eq!(get(m, "http.response_time.p95"), Measurement::ms(104.8));
        assert_eq!(get(m, "http.response_time.p99"), Measurement::ms(111.0));
        assert_eq!(get(m, "http.response_time.median"), Measurement::ms(60.0));
        // Artillery 1 writes `median` only; v2 writes it as `p50` too.
        assert_eq!(get(m, "http.response_time.p50"), Measurement::ms(60.0));
        assert_eq!(get(m, "vusers.session_length.p50"), Measurement::ms(62.5));
        assert_eq!(get(m, "http.response_time.min"), Measurement::ms(11.0));
        // Artillery 1 writes no mean and no count: absent, not 0.
        assert!(!m.contains_key("http.response_time.mean"));
        assert!(!m.contains_key("http.response_time.count"));
        assert_eq!(get(m, "vusers.session_length.p95"), Measurement::ms(107.1));
        assert_eq!(get(m, "http.codes.200"), Measurement::count(31.0));
        assert_eq!(get(m, "http.codes.500"), Measurement::count(7.0));
        assert_eq!(get(m, "http.codes.5xx"), Measurement::count(7.0));
        assert_eq!(get(m, "http.codes.4xx"), Measurement::count(13.0));
        assert_eq!(get(m, "errors.ECONNREFUSED"), Measurement::count(9.0));
        assert_eq!(get(m, "errors.total"), Measurement::count(9.0));
        assert_eq!(get(m, "vusers.created"), Measurement::count(60.0));
        assert_eq!(get(m, "vusers.completed"), Measurement::count(51.0));
        assert_eq!(get(m, "vusers.skipped"), Measurement::count(0.0));
        assert_eq!(
            get(m, "vusers.created_by_name.refused"),
            Measurement::count(9.0)
        );
        assert_eq!(get(m, "http.responses"), Measurement::count(51.0));
        // `rps.count`: requests sent, the 9 refused connections too (51 responses + 9 errors).
        assert_eq!(get(m, "http.requests"), Measurement::count(60.0));
        assert_eq!(get(m, "http.request_rate"), per_second(4.89));
        assert!(!m.contains_key("vusers.failed"));

        assert_eq!(p.periods.len(), 2);
        assert_eq!(
            get(&p.periods[0], "http.codes.5xx"),
            Measurement::count(6.0)
        );
        assert_eq!(
            get(&p.periods[1], "http.codes.5xx"),
            Measurement::count(1.0)
        );
        assert_eq!(
            get(&p.periods[1], "http.response_time.p95"),
            Measurement::ms(96.0)
        );
        assert_eq!(
            get(&p.periods[0], "http.requests"),
            Measurement::count(49.0)
        );
    }

    #[test]
    fn legacy_format_written_by_artillery_2() {
        let p = parsed(V1_BY_V2);
        let m = &p.metrics;
        assert_eq!(
            p.detail.as_deref(),
            Some("Artillery v1 (legacy format written by Artillery 2)")
        );
        assert_eq!(get(m, "http.response_time.p95"), Measurement::ms(111.1));
        assert_eq!(get(m, "http.response_time.mean"), Measurement::ms(52.7));
        assert_eq!(
            get(m, "http.response_time.count"),
            Measurement::count(105.0)
        );
        assert_eq!(get(m, "http.responses"), Measurement::count(105.0));
        assert_eq!(get(m, "http.response_time.p50"), Measurement::ms(40.9));
        // The file says `rps.mean: 0` for 105 responses (int-core reads a rate 2.x never records).
        assert!(!m.contains_key("http.request_rate"));
        // Its `rps.count` is `http.responses` again: the requests sent are not in the file.
        assert!(!m.contains_key("http.requests"));
        assert_eq!(p.periods.len(), 2);
    }

    #[test]
    fn the_budget_names_are_the_same_in_v1_and_v2() {
        for text in [CLEAN, ERRORS, V1, V1_BY_V2] {
            let m = parsed(text).metrics;
            for name in [
                "http.response_time.p50",
                "http.response_time.p95",
                "http.response_time.p99",
                "http.response_time.median",
                "http.responses",
                "http.codes.5xx",
                "http.codes.4xx",
                "errors.total",
                "vusers.created",
                "vusers.completed",
                "vusers.session_length.p95",
            ] {
                assert!(m.contains_key(name), "`{name}` missing");
            }
        }
        for text in [CLEAN, ERRORS, V1] {
            assert!(parsed(text).metrics.contains_key("http.requests"));
        }
    }

    #[test]
    fn null_v1_percentiles_are_absent() {
        // Shape of an Artillery 1.x errors-only run (percentiles null, no codes).
        let p = parsed(
            r#"{"intermediate": [], "aggregate": {"timestamp": "2016-03-16T15:22:25.502Z",
              "scenariosCreated": 1, "scenariosCompleted": 0, "requestsCompleted": 0,
              "latency": {"min": null, "max": null, "median": null, "p95": null, "p99": null},
              "rps": {"count": 1, "mean": 0.68}, "errors": {"ETIMEDOUT": 1}, "codes": {},
              "matches": 0}}"#,
        );
        let m = &p.metrics;
        assert!(!m.keys().any(|k| k.starts_with("http.response_time")));
        assert_eq!(get(m, "errors.total"), Measurement::count(1.0));
        assert_eq!(get(m, "http.codes.5xx"), Measurement::count(0.0));
        assert_eq!(get(m, "http.responses"), Measurement::count(0.0));
        // One request sent, none answered.
        assert_eq!(get(m, "http.requests"), Measurement::count(1.0));
    }

    #[test]
    fn artillery_1_messages_without_status_codes_are_not_http() {
        // Artillery 1.7.9's ws and socketio engines emit `request`, then `response` with status
        // code 0 (engine_ws.js, engine_socketio.js): a ws-only run has codes {"0": n}.
        let p = parsed(
            r#"{"intermediate": [], "aggregate": {"timestamp": "2021-06-01T10:00:00.000Z",
              "scenariosCreated": 4, "scenariosCompleted": 4, "requestsCompleted": 12,
              "latency": {"min": 0.1, "max": 1.2, "median": 0.3, "p95": 1.1, "p99": 1.2},
              "rps": {"count": 12, "mean": 2.4}, "scenarioDuration": {"min": 5, "max": 9,
              "median": 6, "p95": 9, "p99": 9}, "scenarioCounts": {"chat": 4}, "errors": {},
              "codes": {"0": 12}, "matches": 0, "customStats": {}, "counters": {},
              "scenariosAvoided": 0}}"#,
        );
        let m = &p.metrics;
        for name in [
            "http.responses",
            "http.requests",
            "http.request_rate",
            "http.codes.0",
            "http.codes.5xx",
            "http.response_time.p95",
        ] {
            assert!(!m.contains_key(name), "{name}");
        }
        assert_eq!(get(m, "vusers.created"), Measurement::count(4.0));
        assert_eq!(get(m, "vusers.session_length.p50"), Measurement::ms(6.0));
        assert_eq!(
            p.detail.as_deref(),
            Some(
                "Artillery v1 (legacy); its 12 requests without a status code (WebSocket or \
                 Socket.IO messages) have no HTTP name: their counts and `latency` are not read"
            )
        );
    }

    #[test]
    fn histograms_are_read_only_where_summaries_are_absent() {
        let only_histograms = r#"{"aggregate": {"counters": {"vusers.created": 2},
            "histograms": {"http.response_time": {"min": 3, "max": 9, "count": 2, "p95": 9}}},
            "intermediate": []}"#;
        let m = parsed(only_histograms).metrics;
        assert_eq!(get(&m, "http.response_time.p95"), Measurement::ms(9.0));

        let both = r#"{"aggregate": {"counters": {"vusers.created": 2},
            "summaries": {"http.response_time": {"p95": 9}},
            "histograms": {"http.response_time": {"p95": 400}, "other": {"p95": 1}}},
            "intermediate": []}"#;
        let m = parsed(both).metrics;
        assert_eq!(get(&m, "http.response_time.p95"), Measurement::ms(9.0));
        assert!(!m.contains_key("other.p95"));
    }

    #[test]
    fn units_of_unitless_and_size_summaries() {
        let text = r#"{"aggregate": {"counters": {},
            "summaries": {"browser.page.CLS.http://127.0.0.1/": {"p75": 0.12, "count": 4},
                          "browser.memory_used_mb": {"max": 12.5},
                          "custom.checkout": {"p95": 250}}},
            "intermediate": []}"#;
        let m = parsed(text).metrics;
        assert_eq!(
            get(&m, "browser.page.CLS.http://127.0.0.1/.p75"),
            Measurement::count(0.12)
        );
        assert_eq!(
            get(&m, "browser.memory_used_mb.max"),
            Measurement::bytes(12_500_000.0)
        );
        assert_eq!(get(&m, "custom.checkout.p95"), Measurement::ms(250.0));
        assert!(!m.contains_key("http.codes.5xx"));
    }

    #[test]
    fn periods_out_of_order_are_sorted_by_their_start() {
        let text = r#"{"aggregate": {"counters": {"vusers.created": 3}, "period": 1000},
            "intermediate": [
              {"counters": {"vusers.created": 2}, "period": "20000"},
              {"counters": {"vusers.created": 1}, "period": "10000", "http.request_rate": null}]}"#;
        let p = parsed(text);
        assert_eq!(
            get(&p.periods[0], "vusers.created"),
            Measurement::count(1.0)
        );
        assert_eq!(
            get(&p.periods[1], "vusers.created"),
            Measurement::count(2.0)
        );
    }

    #[test]
    fn truncated_json_is_refused_with_its_position() {
        let e = error(&CLEAN[..CLEAN.len() / 2]);
        assert!(e.contains("EOF while parsing") && e.contains("line"), "{e}");
    }

    #[test]
    fn a_file_without_aggregate_is_refused() {
        let e = error(r#"{"intermediate": []}"#);
        assert!(e.contains("`aggregate` is missing"), "{e}");
        let e = error(r#"{"aggregate": {}, "intermediate": []}"#);
        assert!(
            e.contains("field `aggregate`") && e.contains("recorded nothing"),
            "{e}"
        );
        let e = error(r#"{"aggregate": {"counters": {}, "summaries": {}}}"#);
        assert!(e.contains("no counters, rates or summaries"), "{e}");
        let e = error(r#"{"aggregate": 3}"#);
        assert!(e.contains("field `aggregate`"), "{e}");
        let e = error(r#"[{"id": 1, "event": "done", "report": "{}"}]"#);
        assert!(e.contains("not a JSON object"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let text = CLEAN.replacen("\"http.requests\": 100,", "\"http.requests\": \"100\",", 1);
        assert_ne!(text, CLEAN);
        let e = error(&text);
        assert!(
            e.contains("field `aggregate.counters.http.requests`") && e.contains("string"),
            "{e}"
        );
        let e = error(r#"{"aggregate": {"counters": {"http.requests": null}}}"#);
        assert!(e.contains("aggregate.counters.http.requests"), "{e}");
        let e = error(
            r#"{"aggregate": {"counters": {"a": 1}}, "intermediate": [{"summaries": {"s": {"p95": "9"}}}]}"#,
        );
        assert!(e.contains("intermediate[0].summaries.s.p95"), "{e}");
        let e = error(r#"{"aggregate": {"scenariosCreated": 1, "codes": {"200": [1]}}}"#);
        assert!(e.contains("aggregate.codes.200"), "{e}");
    }

    /// `mutated`'s metrics are `original`'s but for `dropped`, each dropped with a reason.
    fn only_dropped(original: &Parsed, mutated: &Parsed, dropped: &[&str]) {
        let mut expected = original.metrics.clone();
        expected.retain(|name, _| !dropped.contains(&name.as_str()));
        assert_eq!(mutated.metrics, expected);
        assert_eq!(
            mutated.dropped.keys().collect::<Vec<_>>(),
            dropped.iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_bad_counter_drops_it_and_the_total_it_feeds() {
        // The aggregate's `http.codes.500` made negative; `http.codes.5xx` cannot be summed without it.
        let text = ERRORS.replacen("\"http.codes.500\": 7,", "\"http.codes.500\": -7,", 1);
        assert_ne!(text, ERRORS);
        let p = parsed(&text);
        only_dropped(&parsed(ERRORS), &p, &["http.codes.500", "http.codes.5xx"]);
        assert_eq!(
            p.dropped["http.codes.500"],
            "field `aggregate.counters.http.codes.500`: -7 is negative, which this quantity cannot be"
        );
        assert_eq!(
            p.dropped["http.codes.5xx"],
            "it sums the counters `http.codes.5…`, and `http.codes.500` was dropped: field \
             `aggregate.counters.http.codes.500`: -7 is negative, which this quantity cannot be"
        );
        assert_eq!(get(&p.metrics, "http.codes.4xx"), Measurement::count(16.0));
        assert_eq!(get(&p.metrics, "errors.total"), Measurement::count(6.0));
        // The periods still carry it: only the aggregate was bad.
        assert_eq!(p.periods, parsed(ERRORS).periods);
    }

    #[test]
    fn a_bad_statistic_drops_that_statistic_only() {
        let text = ERRORS.replacen("\"p75\": 98.5,", "\"p75\": -98.5,", 1);
        assert_ne!(text, ERRORS);
        let p = parsed(&text);
        only_dropped(&parsed(ERRORS), &p, &["http.response_time.p75"]);
        assert!(
            p.dropped["http.response_time.p75"].starts_with(
                "field `aggregate.summaries.http.response_time.p75`: -98.5 is negative"
            ),
            "{:?}",
            p.dropped
        );
    }

    #[test]
    fn a_bad_value_in_one_period_leaves_that_metric_out_of_every_period() {
        // `intermediate[0]` of the file is its later period (sorted by start).
        let text = ERRORS.replacen(
            "\"errors.ECONNREFUSED\": 2,",
            "\"errors.ECONNREFUSED\": -2,",
            1,
        );
        assert_ne!(text, ERRORS);
        let (original, p) = (parsed(ERRORS), parsed(&text));
        assert_eq!(p.metrics, original.metrics);
        assert!(p.dropped.is_empty(), "{:?}", p.dropped);
        for (period, whole) in p.periods.iter().zip(&original.periods) {
            let mut expected = whole.clone();
            expected.remove("errors.ECONNREFUSED");
            expected.remove("errors.total");
            assert_eq!(period, &expected);
        }
    }

    #[test]
    fn a_bad_v1_value_is_dropped_with_its_v1_field() {
        let text = V1.replacen("\"500\": 7", "\"500\": -7", 1);
        assert_ne!(text, V1);
        let p = parsed(&text);
        only_dropped(&parsed(V1), &p, &["http.codes.500", "http.codes.5xx"]);
        assert!(
            p.dropped["http.codes.500"].starts_with("field `aggregate.codes.500`: -7 is negative"),
            "{:?}",
            p.dropped
        );
    }

    #[test]
    fn bad_values_are_dropped_naming_the_field() {
        let p = parsed(
            r#"{"aggregate": {"counters": {"a": 1},
                "summaries": {"browser.memory_used_mb": {"max": 1e305}}}}"#,
        );
        // Finite as written, infinite once converted: never an `inf` metric.
        assert_eq!(
            p.dropped["browser.memory_used_mb.max"],
            "field `aggregate.summaries.browser.memory_used_mb.max`: 1e305 is too large to convert \
             to the metric's unit (×1000000)"
        );
        let p =
            parsed(r#"{"aggregate": {"rates": {"http.request_rate": -1}, "counters": {"a": 1}}}"#);
        assert!(p.dropped["http.request_rate"].contains("aggregate.rates.http.request_rate"));
        let p = parsed(r#"{"aggregate": {"counters": {"errors.a": 1e308, "errors.b": 1e308}}}"#);
        assert_eq!(
            p.dropped["errors.total"],
            "field `aggregate`: the counters `errors.*` add up to more than a number holds"
        );
        assert_eq!(get(&p.metrics, "errors.a"), Measurement::count(1e308));
        let p = parsed(
            r#"{"aggregate": {"counters": {"http.codes.500": 1e308, "http.codes.503": 1e308}}}"#,
        );
        assert!(p.dropped["http.codes.5xx"].contains("`http.codes.5…`"));
        // A value dropped is still a value: a second entry making its metric is refused.
        let e =
            error(r#"{"aggregate": {"scenariosCreated": 1, "counters": {"vusers.created": -1}}}"#);
        assert!(
            e.contains("counters.vusers.created") && e.contains("already makes"),
            "{e}"
        );
        // A v1 `median` is read as `p50` too: both are dropped, naming the field as written.
        let p = parsed(r#"{"aggregate": {"scenariosCreated": 1, "latency": {"median": -1}}}"#);
        assert!(p.dropped["http.response_time.median"].contains("aggregate.latency.median"));
        assert!(p.dropped["http.response_time.p50"].contains("aggregate.latency.median"));
        let e = error(r#"{"aggregate": {"counters": {"http.requests": NaN}}}"#);
        assert!(
            e.contains("invalid JSON") || e.contains("aggregate.counters"),
            "{e}"
        );
    }
}
