//! Lighthouse: reads one Lighthouse result (LHR JSON, Lighthouse 3 to 13, as `lighthouse
//! --output json`, Lighthouse CI's `lhr-*.json` or the PageSpeed Insights API's `lighthouseResult`
//! wrapper write it) into category scores, the web-vitals shortcuts and one `audit.<id>` per audit
//! with a numeric value.
//!
//! The one rule: a value Lighthouse did not measure is absent, never 0. An errored audit emits
//! nothing, and a run that failed as a whole (`runtimeError`) is an error, not a measurement. One
//! score or audit whose value fails validation is dropped with its reason (see [`Parsed::dropped`]);
//! the rest of the run is still read.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;

use anyhow::{bail, Result};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::reader::{first_item, names_key, Detect, Reader, Sniff, Whole};
use super::{
    first_byte, from_json, non_negative, non_negative_scaled, Parsed, Setup, Target,
    MAX_NAME_BYTES,
};
use crate::model::{Measurement, Metrics, Unit};

/// A Lighthouse result (LHR), alone or inside a PageSpeed Insights answer.
pub(crate) const READER: Reader = Reader {
    name: "lighthouse",
    detect: Detect {
        json: sniff,
        broken_json: |head| names_key(head, "lighthouseVersion"),
        ..Detect::NONE
    },
    whole: Some(Whole::Json(parse)),
    stream: None,
};

/// A Lighthouse result, alone or in a PageSpeed Insights answer; Lighthouse's other JSON (a
/// user flow, Lighthouse CI's manifest and assertions) is named as such.
fn sniff(v: &Value) -> Option<Sniff> {
    let has = |k: &str| v.get(k).is_some();
    if (has("lighthouseVersion") && has("audits")) || has("lighthouseResult") {
        return Some(Sniff::Read);
    }
    if v.get("steps")
        .and_then(|s| s.get(0))
        .and_then(|s| s.get("lhr"))
        .is_some()
    {
        return Some(Sniff::Unsupported(
            "a Lighthouse user-flow result (save each step's LHR)",
        ));
    }
    let item = first_item(v)?;
    if item.get("isRepresentativeRun").is_some() {
        return Some(Sniff::Unsupported(
            "a Lighthouse CI manifest (point the source at .lighthouseci/lhr-*.json)",
        ));
    }
    (item.get("operator").is_some() && item.get("expected").is_some())
        .then_some(Sniff::Unsupported("Lighthouse CI assertion results"))
}

/// The shortcut names (README, "Formats and metric names") and the audit each one copies. `ttfb` has two sources: the
/// audit was `time-to-first-byte` up to Lighthouse 5.x and `server-response-time` from 6.0 on.
const SHORTCUTS: [(&str, &str); 9] = [
    ("lcp", "largest-contentful-paint"),
    ("fcp", "first-contentful-paint"),
    ("cls", "cumulative-layout-shift"),
    ("tbt", "total-blocking-time"),
    ("si", "speed-index"),
    ("tti", "interactive"),
    ("ttfb", "server-response-time"),
    ("ttfb", "time-to-first-byte"),
    ("total-byte-weight", "total-byte-weight"),
];

/// The audit whose `details.items` lists bytes and requests per resource type.
const RESOURCE_SUMMARY: &str = "resource-summary";

/// An LHR, or the PageSpeed Insights API response that wraps one in `lighthouseResult`.
/// Follows the LHR of Lighthouse 12.8.2 and 13.4.1; fields also present from 5.x on unless noted.
/// Every field is optional here so that a missing one gets a message saying what the file lacks.
#[derive(Deserialize)]
struct LighthouseResult {
    #[serde(rename = "lighthouseResult")]
    psi_wrapped: Option<Box<LighthouseResult>>,
    #[serde(rename = "lighthouseVersion")]
    lighthouse_version: Option<String>,
    /// The URL Lighthouse was asked to measure: what names the page.
    #[serde(rename = "requestedUrl")]
    requested_url: Option<String>,
    /// Up to 9.x, where the page landed; 10.0+ writes `finalDisplayedUrl` instead.
    #[serde(rename = "finalUrl")]
    final_url: Option<String>,
    #[serde(rename = "finalDisplayedUrl")]
    final_displayed_url: Option<String>,
    #[serde(rename = "runtimeError")]
    runtime_error: Option<LighthouseRuntimeError>,
    /// 10.0+; navigation (the default), timespan or snapshot.
    #[serde(rename = "gatherMode")]
    gather_mode: Option<String>,
    #[serde(rename = "configSettings")]
    config_settings: Option<LighthouseConfigSettings>,
    /// 5.0+: the host Lighthouse ran on.
    environment: Option<LighthouseEnvironment>,
    audits: Option<LighthouseAudits>,
    categories: Option<BTreeMap<String, LighthouseCategory>>,
}

#[derive(Deserialize)]
struct LighthouseRuntimeError {
    code: String,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct LighthouseConfigSettings {
    /// 7.0+.
    #[serde(rename = "formFactor")]
    form_factor: Option<String>,
    /// Up to 6.x (7.x and PSI 8.x still write it beside `formFactor`).
    #[serde(rename = "emulatedFormFactor")]
    emulated_form_factor: Option<String>,
    /// simulate | devtools | provided.
    #[serde(rename = "throttlingMethod")]
    throttling_method: Option<String>,
    throttling: Option<LighthouseThrottling>,
}

/// `configSettings.throttling`: the network and CPU the run emulated.
#[derive(Deserialize)]
struct LighthouseThrottling {
    #[serde(rename = "rttMs")]
    rtt_ms: Option<f64>,
    #[serde(rename = "throughputKbps")]
    throughput_kbps: Option<f64>,
    #[serde(rename = "cpuSlowdownMultiplier")]
    cpu_slowdown_multiplier: Option<f64>,
}

#[derive(Deserialize)]
struct LighthouseEnvironment {
    /// The browser's user agent: its Chrome version moves every timing.
    #[serde(rename = "hostUserAgent")]
    host_user_agent: Option<String>,
    /// The host's speed as Lighthouse measured it before the run (higher is faster).
    #[serde(rename = "benchmarkIndex")]
    benchmark_index: Option<f64>,
}

#[derive(Deserialize)]
struct LighthouseCategory {
    /// 0..1, or null when a metric it weighs errored (or in a user-flow step).
    score: Option<f64>,
    #[serde(rename = "auditRefs")]
    audit_refs: Option<Vec<LighthouseAuditRef>>,
}

#[derive(Deserialize)]
struct LighthouseAuditRef {
    weight: Option<f64>,
}

/// `audits.<id>`. `details` is left out on purpose: serde skips it unread, and it is most of an
/// LHR's size (only `resource-summary` keeps it, see [`LighthouseAudits`]).
#[derive(Deserialize)]
struct LighthouseAudit {
    #[serde(rename = "scoreDisplayMode")]
    score_display_mode: Option<String>,
    /// Absent when the audit has no number or errored; null when Lighthouse computed NaN
    /// (`JSON.stringify` writes NaN as null).
    #[serde(rename = "numericValue")]
    numeric_value: Option<f64>,
    /// 6.0+: millisecond | second | byte | unitless | element.
    #[serde(rename = "numericUnit")]
    numeric_unit: Option<String>,
    /// Up to 4.x, the audit's number (in the unit [`unit_before_6`] gives), or true/false.
    #[serde(rename = "rawValue")]
    raw_value: Option<serde_json::Value>,
}

/// `audits.resource-summary`: [`LighthouseAudit`] plus its `details`.
#[derive(Deserialize)]
struct LighthouseResourceSummaryAudit {
    #[serde(rename = "scoreDisplayMode")]
    score_display_mode: Option<String>,
    #[serde(rename = "numericValue")]
    numeric_value: Option<f64>,
    #[serde(rename = "numericUnit")]
    numeric_unit: Option<String>,
    details: Option<LighthouseResourceSummaryDetails>,
}

#[derive(Deserialize)]
struct LighthouseResourceSummaryDetails {
    #[serde(default)]
    items: Vec<LighthouseResourceSummaryItem>,
}

#[derive(Deserialize)]
struct LighthouseResourceSummaryItem {
    #[serde(rename = "resourceType")]
    resource_type: String,
    #[serde(rename = "requestCount")]
    request_count: f64,
    /// 6.0+.
    #[serde(rename = "transferSize")]
    transfer_size: Option<f64>,
    /// Up to 5.x, the same quantity under its old name.
    size: Option<f64>,
}

/// The `audits` object: every audit with its details skipped, and `resource-summary` with them.
struct LighthouseAudits {
    audits: BTreeMap<String, LighthouseAudit>,
    resource_summary: Option<LighthouseResourceSummaryAudit>,
}

impl<'de> Deserialize<'de> for LighthouseAudits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AuditsVisitor;
        impl<'de> Visitor<'de> for AuditsVisitor {
            type Value = LighthouseAudits;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of audits keyed by audit id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut audits = BTreeMap::new();
                let mut resource_summary = None;
                while let Some(id) = map.next_key::<String>()? {
                    if id == RESOURCE_SUMMARY {
                        let audit: LighthouseResourceSummaryAudit = map.next_value()?;
                        audits.insert(
                            id,
                            LighthouseAudit {
                                score_display_mode: audit.score_display_mode.clone(),
                                numeric_value: audit.numeric_value,
                                numeric_unit: audit.numeric_unit.clone(),
                                raw_value: None,
                            },
                        );
                        resource_summary = Some(audit);
                    } else {
                        let audit: LighthouseAudit = map.next_value()?;
                        audits.insert(id, audit);
                    }
                }
                Ok(LighthouseAudits {
                    audits,
                    resource_summary,
                })
            }
        }
        deserializer.deserialize_map(AuditsVisitor)
    }
}

/// Reads one LHR (or a PageSpeed Insights response) into its metrics.
pub(crate) fn parse(input: &mut dyn BufRead) -> Result<Parsed> {
    if first_byte(input)? == Some(b'[') {
        bail!("a JSON array, not a Lighthouse result (LHR): Lighthouse writes one object per run");
    }
    let outer: LighthouseResult = from_json(input)?;
    let (lhr, prefix, via) = match outer.psi_wrapped {
        Some(inner) => {
            if inner.psi_wrapped.is_some() {
                bail!(
                    "field `lighthouseResult.lighthouseResult`: a PageSpeed Insights wrapper \
                     inside another is not a Lighthouse result"
                );
            }
            (*inner, "lighthouseResult.", " via PageSpeed Insights")
        }
        None => (outer, "", ""),
    };
    let Some(version) = lhr.lighthouse_version else {
        bail!("field `{prefix}lighthouseVersion` is missing: not a Lighthouse result (LHR)");
    };
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    let legacy = match major {
        Some(3 | 4) => true,
        Some(5..) => false,
        // 2.x wrote another result shape (`reportCategories`, scores 0..100): refused by name
        // rather than read as something it is not.
        _ => bail!(
            "field `{prefix}lighthouseVersion`: {version:?}; perfgate reads the results of Lighthouse 3 and later"
        ),
    };
    if let Some(err) = &lhr.runtime_error {
        // LHRs that went through Lighthouse's protobuf form (PageSpeed Insights) say
        // `{code: "NO_ERROR"}` on a good run; Lighthouse's own lib/proto-preprocessor.js drops it.
        if err.code != "NO_ERROR" {
            bail!(
                "field `{prefix}runtimeError`: the Lighthouse run failed with {}: {}; a failed run is not a measurement",
                err.code,
                err.message.as_deref().unwrap_or("(no message)")
            );
        }
    }
    let Some(audits) = lhr.audits else {
        bail!("field `{prefix}audits` is missing: not a Lighthouse result (LHR)");
    };
    let Some(categories) = lhr.categories else {
        bail!("field `{prefix}categories` is missing: not a Lighthouse result (LHR)");
    };
    if audits.audits.is_empty() {
        bail!("field `{prefix}audits` is empty: Lighthouse ran no audit");
    }

    // Every category score and audit is optional to a budget: one that fails validation (a
    // negative estimated saving Lighthouse itself wrote, GoogleChrome/lighthouse#16261) is
    // dropped with its reason, and the rest of the run is still read.
    let mut metrics = Metrics::new();
    let mut dropped = BTreeMap::new();
    for (id, category) in &categories {
        check_id(&format!("{prefix}categories"), "a category id", id)?;
        let Some(score) = category.score else {
            continue;
        };
        // A category that weighs no audit (performance in a snapshot LHR) still gets a score:
        // Lighthouse's arithmeticMean writes 0 for 0/0 (core/scoring.js). That 0 measures nothing.
        if let Some(refs) = &category.audit_refs {
            if !refs.iter().any(|r| r.weight.is_some_and(|w| w > 0.0)) {
                continue;
            }
        }
        let name = format!("score.{id}");
        match category_points(&format!("{prefix}categories.{id}.score"), score) {
            Ok(points) => {
                metrics.insert(name, Measurement::count(points));
            }
            Err(why) => {
                dropped.insert(name, format!("{why:#}"));
            }
        }
    }

    for (id, audit) in &audits.audits {
        check_id(&format!("{prefix}audits"), "an audit id", id)?;
        let name = format!("audit.{id}");
        match audit_value(prefix, id, audit, legacy) {
            Ok(Some(m)) => {
                metrics.insert(name, m);
            }
            Ok(None) => {}
            Err(why) => {
                dropped.insert(name, format!("{why:#}"));
            }
        }
    }
    for (name, id) in SHORTCUTS {
        if metrics.contains_key(name) || dropped.contains_key(name) {
            continue;
        }
        let audit = format!("audit.{id}");
        if let Some(why) = dropped.get(&audit) {
            dropped.insert(name.to_string(), why.clone());
            continue;
        }
        if let Some(m) = metrics.get(&audit).copied() {
            let expected = if name == "cls" {
                Unit::None
            } else if name == "total-byte-weight" {
                Unit::Bytes
            } else {
                Unit::Ms
            };
            if m.unit == expected {
                metrics.insert(name.to_string(), m);
            } else {
                dropped.insert(
                    name.to_string(),
                    format!(
                        "field `{prefix}audits.{id}.numericUnit`: `{id}` is {}, expected {} for `{name}`",
                        m.unit.kind_name(),
                        expected.kind_name()
                    ),
                );
            }
        }
    }
    if let Some(summary) = &audits.resource_summary {
        resource_metrics(prefix, summary, &mut metrics, &mut dropped);
    }
    if metrics.is_empty() && dropped.is_empty() {
        bail!("field `{prefix}audits`: no category score and no audit with a numeric value");
    }

    let mut detail = format!("Lighthouse {version}{via}");
    let mut notes = Vec::new();
    if let Some(mode) = lhr.gather_mode.as_deref().filter(|m| *m != "navigation") {
        notes.push(mode.to_string());
    }
    let form_factor = form_factor_of(lhr.config_settings.as_ref());
    if let Some(settings) = &lhr.config_settings {
        if let Some(form) = &form_factor {
            notes.push(form.clone());
        }
        if let Some(method) = &settings.throttling_method {
            notes.push(format!("{method} throttling"));
        }
    }
    if !notes.is_empty() {
        detail = format!("{detail} ({})", notes.join(", "));
    }
    // A user-flow step or a snapshot may say no URL; such a report names no page.
    let target = lhr
        .requested_url
        .or(lhr.final_displayed_url)
        .or(lhr.final_url)
        .filter(|url| !url.is_empty())
        .map(|url| Target {
            url,
            variant: form_factor,
            generation: Some(format!(
                "Lighthouse {}",
                version.split('.').next().unwrap_or(&version)
            )),
        });
    let setup = setup(
        &version,
        lhr.config_settings.as_ref(),
        lhr.environment.as_ref(),
    );
    Ok(Parsed {
        detail: Some(detail),
        metrics,
        target,
        dropped,
        setup,
        ..Parsed::default()
    })
}

fn form_factor_of(settings: Option<&LighthouseConfigSettings>) -> Option<String> {
    let settings = settings?;
    settings
        .form_factor
        .clone()
        .or_else(|| settings.emulated_form_factor.clone())
}

/// What must match for two runs' numbers to be compared (README "Like with like"): the
/// Lighthouse version, Chrome's major version, the form factor and the throttling; and the
/// host's `benchmarkIndex`. Values from the report are made inert where they are shown.
fn setup(
    version: &str,
    settings: Option<&LighthouseConfigSettings>,
    environment: Option<&LighthouseEnvironment>,
) -> Setup {
    let mut facts = BTreeMap::from([("lighthouse".to_string(), version.to_string())]);
    let chrome = environment
        .and_then(|e| e.host_user_agent.as_deref())
        .and_then(chrome_major);
    if let Some(chrome) = chrome {
        facts.insert("chrome".into(), chrome);
    }
    if let Some(form) = form_factor_of(settings) {
        facts.insert("form_factor".into(), form);
    }
    if let Some(settings) = settings {
        let mut throttling = Vec::new();
        throttling.extend(settings.throttling_method.clone());
        if let Some(t) = &settings.throttling {
            let mut number = |name: &str, value: Option<f64>, unit: &str| {
                if let Some(v) = value.filter(|v| v.is_finite()) {
                    throttling.push(format!("{name} {v}{unit}"));
                }
            };
            number("rtt", t.rtt_ms, " ms");
            number("throughput", t.throughput_kbps, " kbps");
            number("cpu", t.cpu_slowdown_multiplier, "x");
        }
        if !throttling.is_empty() {
            facts.insert("throttling".into(), throttling.join(", "));
        }
    }
    Setup {
        facts,
        benchmark_index: environment
            .and_then(|e| e.benchmark_index)
            .filter(|b| b.is_finite() && *b > 0.0),
    }
}

/// `…HeadlessChrome/156.0.0.0 …` → `156`.
fn chrome_major(user_agent: &str) -> Option<String> {
    let after = user_agent.split("Chrome/").nth(1)?;
    let major: String = after.chars().take_while(char::is_ascii_digit).collect();
    (!major.is_empty() && major.len() <= 4).then_some(major)
}

/// A category's 0..1 score as 0..100 points.
fn category_points(field: &str, score: f64) -> Result<f64> {
    let score = non_negative(field, score)?;
    if score > 1.0 {
        bail!("field `{field}`: {score} is above 1, the highest Lighthouse score");
    }
    // Lighthouse rounds scores to 2 decimals; ×100 in f64 leaves noise (0.57 → 56.99999999999999).
    Ok((score * 100.0 * 1e6).round() / 1e6)
}

/// One audit's number in its canonical unit; `None` when the audit errored or has no number.
/// Refuses an id longer than [`MAX_NAME_BYTES`]: it would be copied into names, messages and
/// `closest:` hints.
fn check_id(field: &str, what: &str, id: &str) -> Result<()> {
    if id.len() > MAX_NAME_BYTES {
        bail!(
            "field `{field}`: {what} of {} bytes, longer than the {MAX_NAME_BYTES} bytes \
             perfgate takes",
            id.len()
        );
    }
    Ok(())
}

/// `legacy`: a Lighthouse 3.x or 4.x result, whose audits carry their number in `rawValue`.
fn audit_value(
    prefix: &str,
    id: &str,
    audit: &LighthouseAudit,
    legacy: bool,
) -> Result<Option<Measurement>> {
    if audit.score_display_mode.as_deref() == Some("error") {
        return Ok(None);
    }
    let (raw, key) = match (audit.numeric_value, &audit.raw_value) {
        (Some(raw), _) => (raw, "numericValue"),
        // 3.x and 4.x write `rawValue` as a number, or as true/false for a pass/fail audit (and
        // true for one that does not apply): only a number is a measurement.
        (None, Some(serde_json::Value::Number(n))) if legacy => match n.as_f64() {
            Some(raw) => (raw, "rawValue"),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let (unit, factor) = match audit.numeric_unit.as_deref() {
        Some("millisecond") => (Unit::Ms, 1.0),
        Some("second") => (Unit::Ms, 1e3),
        Some("byte") => (Unit::Bytes, 1.0),
        Some(_) => (Unit::None, 1.0),
        None => (unit_before_6(id), 1.0),
    };
    let value = non_negative_scaled(&format!("{prefix}audits.{id}.{key}"), raw, factor)?;
    Ok(Some(Measurement::new(value, unit)))
}

/// The unit of an audit's number in Lighthouse 3.x to 5.x, which wrote no `numericUnit`. Read off
/// every `numericValue:` in the audits of Lighthouse 5.6.0 (npm `lighthouse@5.6.0`,
/// `lighthouse-core/audits/**`) and every numeric `rawValue:` in those of 4.3.1 and 3.2.1 (the
/// same audits with the same units, fewer of them); 6.0 then declared these same units in
/// `numericUnit`. The byte-efficiency opportunities report their saving in milliseconds
/// (`wastedMs`), except `total-byte-weight` and `uses-long-cache-ttl` (bytes). Audits not listed
/// here (counts such as `dom-size`, `network-requests`, `errors-in-console`, `main-thread-tasks`)
/// are plain numbers.
fn unit_before_6(id: &str) -> Unit {
    match id {
        "first-contentful-paint"
        | "first-meaningful-paint"
        | "first-contentful-paint-3g"
        | "predictive-perf"
        | "speed-index"
        | "interactive"
        | "first-cpu-idle"
        | "estimated-input-latency"
        | "total-blocking-time"
        | "max-potential-fid"
        | "time-to-first-byte"
        | "load-fast-enough-for-pwa"
        | "metrics"
        | "mainthread-work-breakdown"
        | "bootup-time"
        | "network-rtt"
        | "network-server-latency"
        | "redirects"
        | "uses-rel-preload"
        | "uses-rel-preconnect"
        | "render-blocking-resources"
        | "offscreen-images"
        | "unminified-css"
        | "unminified-javascript"
        | "unused-css-rules"
        | "unused-javascript"
        | "uses-webp-images"
        | "uses-optimized-images"
        | "uses-text-compression"
        | "uses-responsive-images"
        | "efficient-animated-content" => Unit::Ms,
        "total-byte-weight" | "uses-long-cache-ttl" => Unit::Bytes,
        _ => Unit::None,
    }
}

/// `resource.<type>.size` (bytes transferred) and `resource.<type>.count` (requests) from the
/// `resource-summary` audit, unless it errored.
fn resource_metrics(
    prefix: &str,
    summary: &LighthouseResourceSummaryAudit,
    metrics: &mut Metrics,
    dropped: &mut BTreeMap<String, String>,
) {
    if summary.score_display_mode.as_deref() == Some("error") {
        return;
    }
    let Some(details) = &summary.details else {
        return;
    };
    let mut keep = |name: String, value: Result<f64>, unit: Unit| match value {
        Ok(v) => {
            metrics.insert(name, Measurement::new(v, unit));
        }
        Err(why) => {
            dropped.insert(name, format!("{why:#}"));
        }
    };
    for (i, item) in details.items.iter().enumerate() {
        let field = format!("{prefix}audits.{RESOURCE_SUMMARY}.details.items[{i}]");
        let kind = &item.resource_type;
        keep(
            format!("resource.{kind}.count"),
            non_negative(&format!("{field}.requestCount"), item.request_count),
            Unit::None,
        );
        let size = match (item.transfer_size, item.size) {
            (Some(bytes), _) => non_negative(&format!("{field}.transferSize"), bytes),
            (None, Some(bytes)) => non_negative(&format!("{field}.size"), bytes),
            (None, None) => continue,
        };
        keep(format!("resource.{kind}.size"), size, Unit::Bytes);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    const DESKTOP_FAST: &str =
        include_str!("../../tests/fixtures/lighthouse/desktop-fast-12.8.2.json");
    const MOBILE_HEAVY: &str =
        include_str!("../../tests/fixtures/lighthouse/mobile-heavy-perf-only-12.8.2.json");
    const RUNTIME_ERROR: &str =
        include_str!("../../tests/fixtures/lighthouse/runtime-error-500-12.8.2.json");
    const V5_FAST: &str = include_str!("../../tests/fixtures/lighthouse/mobile-fast-5.6.0.json");
    const V4_FAST: &str = include_str!("../../tests/fixtures/lighthouse/mobile-fast-4.3.1.json");
    const V3_FAST: &str = include_str!("../../tests/fixtures/lighthouse/mobile-fast-3.2.1.json");

    fn check(text: &str) -> Parsed {
        match parse(&mut text.as_bytes()) {
            Ok(parsed) => parsed,
            Err(e) => panic!("parse failed: {e:#}"),
        }
    }

    fn metric(parsed: &Parsed, name: &str) -> Measurement {
        match parsed.metrics.get(name) {
            Some(m) => *m,
            None => panic!("no metric `{name}` in {:?}", parsed.metrics.keys()),
        }
    }

    fn error(text: &str) -> String {
        match parse(&mut text.as_bytes()) {
            Ok(parsed) => panic!("expected an error, got {:?}", parsed.metrics),
            Err(e) => format!("{e:#}"),
        }
    }

    /// The fixture as a JSON value, to derive bad inputs from real output.
    fn value(text: &str) -> Value {
        match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => panic!("fixture is not JSON: {e}"),
        }
    }

    #[test]
    fn desktop_run_has_every_category_score_and_the_shortcuts() {
        let p = check(DESKTOP_FAST);
        assert_eq!(
            p.detail.as_deref(),
            Some("Lighthouse 12.8.2 (desktop, simulate throttling)")
        );
        assert_eq!(metric(&p, "score.performance"), Measurement::count(100.0));
        assert_eq!(metric(&p, "score.accessibility"), Measurement::count(93.0));
        assert_eq!(metric(&p, "score.best-practices"), Measurement::count(96.0));
        assert_eq!(metric(&p, "score.seo"), Measurement::count(100.0));
        assert_eq!(metric(&p, "lcp"), Measurement::ms(171.7149));
        assert_eq!(metric(&p, "fcp"), Measurement::ms(171.7149));
        assert_eq!(metric(&p, "cls"), Measurement::count(0.0));
        assert_eq!(metric(&p, "tbt"), Measurement::ms(0.0));
        assert_eq!(metric(&p, "si"), Measurement::ms(171.7149));
        assert_eq!(metric(&p, "tti"), Measurement::ms(171.7149));
        assert_eq!(metric(&p, "ttfb"), Measurement::ms(7.489));
        assert_eq!(metric(&p, "total-byte-weight"), Measurement::bytes(1538.0));
        assert!(p.periods.is_empty());
    }

    #[test]
    fn audits_carry_the_unit_numeric_unit_names() {
        let p = check(DESKTOP_FAST);
        assert_eq!(
            metric(&p, "audit.largest-contentful-paint"),
            Measurement::ms(171.7149)
        );
        assert_eq!(metric(&p, "audit.cumulative-layout-shift").unit, Unit::None);
        // The file says 1.4299999999999997; serde_json without its `float_roundtrip` feature
        // may read a long decimal 1 ulp off, so compare with a tolerance here.
        let bootup = metric(&p, "audit.bootup-time");
        assert_eq!(bootup.unit, Unit::Ms);
        assert!((bootup.value - 1.43).abs() < 1e-12, "{bootup:?}");
        assert_eq!(
            metric(&p, "audit.total-byte-weight"),
            Measurement::bytes(1538.0)
        );
        assert_eq!(
            metric(&p, "audit.uses-long-cache-ttl"),
            Measurement::bytes(0.0)
        );
        // numericUnit "element": a count.
        assert_eq!(metric(&p, "audit.dom-size"), Measurement::count(11.0));
        // 12.x `network-requests` is informative with no numericValue: absent, not 0.
        assert!(!p.metrics.contains_key("audit.network-requests"));
    }

    #[test]
    fn second_is_converted_to_milliseconds_and_unknown_units_are_plain_numbers() {
        let mut v = value(DESKTOP_FAST);
        v["audits"]["bootup-time"]["numericValue"] = json!(1.5);
        v["audits"]["bootup-time"]["numericUnit"] = json!("second");
        v["audits"]["dom-size"]["numericUnit"] = json!("furlong");
        let p = check(&v.to_string());
        assert_eq!(metric(&p, "audit.bootup-time"), Measurement::ms(1500.0));
        assert_eq!(metric(&p, "audit.dom-size"), Measurement::count(11.0));
        // Seconds too many to be milliseconds: dropped with the reason, never an `inf` ms metric.
        v["audits"]["bootup-time"]["numericValue"] = json!(1e306);
        let p = check(&v.to_string());
        assert!(!p.metrics.contains_key("audit.bootup-time"));
        assert!(
            p.dropped["audit.bootup-time"]
                .contains("`audits.bootup-time.numericValue`: 1e306 is too large"),
            "{:?}",
            p.dropped
        );
        assert_eq!(metric(&p, "audit.dom-size"), Measurement::count(11.0));
    }

    #[test]
    fn resource_summary_gives_bytes_and_requests_per_type() {
        let p = check(DESKTOP_FAST);
        assert_eq!(
            metric(&p, "resource.total.size"),
            Measurement::bytes(1355.0)
        );
        assert_eq!(metric(&p, "resource.total.count"), Measurement::count(2.0));
        assert_eq!(
            metric(&p, "resource.document.size"),
            Measurement::bytes(924.0)
        );
        assert_eq!(metric(&p, "resource.script.count"), Measurement::count(0.0));
    }

    #[test]
    fn mobile_perf_only_run_has_only_the_performance_score() {
        let p = check(MOBILE_HEAVY);
        assert_eq!(
            p.detail.as_deref(),
            Some("Lighthouse 12.8.2 (mobile, simulate throttling)")
        );
        assert_eq!(metric(&p, "score.performance"), Measurement::count(21.0));
        assert!(!p.metrics.contains_key("score.accessibility"));
        assert_eq!(metric(&p, "lcp"), Measurement::ms(46424.0361));
        assert_eq!(metric(&p, "cls"), Measurement::count(0.1239563968636159));
        assert_eq!(metric(&p, "tbt"), Measurement::ms(8053.0));
        assert_eq!(
            metric(&p, "total-byte-weight"),
            Measurement::bytes(7983176.0)
        );
        assert_eq!(
            metric(&p, "resource.script.size"),
            Measurement::bytes(3263060.0)
        );
        assert_eq!(metric(&p, "audit.dom-size"), Measurement::count(3007.0));
    }

    #[test]
    fn lighthouse_5_without_numeric_unit_uses_the_unit_table() {
        let p = check(V5_FAST);
        assert_eq!(
            p.detail.as_deref(),
            Some("Lighthouse 5.6.0 (mobile, simulate throttling)")
        );
        assert_eq!(metric(&p, "score.performance"), Measurement::count(100.0));
        assert_eq!(metric(&p, "score.pwa"), Measurement::count(48.0));
        assert_eq!(metric(&p, "fcp"), Measurement::ms(629.2056));
        assert_eq!(metric(&p, "tti"), Measurement::ms(642.7056));
        assert_eq!(metric(&p, "tbt"), Measurement::ms(0.0));
        // 5.x named the server response audit `time-to-first-byte`.
        assert_eq!(metric(&p, "ttfb"), Measurement::ms(5.3580000000000005));
        assert_eq!(metric(&p, "total-byte-weight"), Measurement::bytes(1538.0));
        assert_eq!(
            metric(&p, "audit.uses-long-cache-ttl"),
            Measurement::bytes(0.0)
        );
        assert_eq!(metric(&p, "audit.bootup-time"), Measurement::ms(19.824));
        assert_eq!(
            metric(&p, "audit.network-requests"),
            Measurement::count(3.0)
        );
        assert_eq!(metric(&p, "audit.dom-size"), Measurement::count(11.0));
        // 5.x `resource-summary` items say `size`, not `transferSize`.
        assert_eq!(
            metric(&p, "resource.total.size"),
            Measurement::bytes(1538.0)
        );
        // LCP and CLS came with 6.0: absent, never 0.
        assert!(!p.metrics.contains_key("lcp"));
        assert!(!p.metrics.contains_key("cls"));
    }

    #[test]
    fn lighthouse_4_reads_raw_value_in_the_units_of_the_table() {
        let p = check(V4_FAST);
        assert_eq!(
            p.detail.as_deref(),
            Some("Lighthouse 4.3.1 (mobile, simulate throttling)")
        );
        assert_eq!(metric(&p, "score.performance"), Measurement::count(100.0));
        assert_eq!(metric(&p, "score.best-practices"), Measurement::count(86.0));
        assert_eq!(metric(&p, "fcp"), Measurement::ms(677.8592));
        assert_eq!(metric(&p, "si"), Measurement::ms(677.8592));
        assert_eq!(metric(&p, "tti"), Measurement::ms(779.3592));
        assert_eq!(metric(&p, "ttfb"), Measurement::ms(147.48999999999998));
        assert_eq!(metric(&p, "total-byte-weight"), Measurement::bytes(1538.0));
        assert_eq!(
            metric(&p, "audit.first-cpu-idle"),
            Measurement::ms(744.8592)
        );
        assert_eq!(metric(&p, "audit.bootup-time"), Measurement::ms(7.636));
        assert_eq!(metric(&p, "audit.dom-size"), Measurement::count(19.0));
        assert_eq!(
            metric(&p, "audit.network-requests"),
            Measurement::count(3.0)
        );
        // A pass/fail audit's rawValue is true or false: no metric.
        assert!(!p.metrics.contains_key("audit.viewport"));
        // TBT, LCP and CLS came later: absent, never 0.
        for later in ["tbt", "lcp", "cls"] {
            assert!(!p.metrics.contains_key(later), "{later}");
        }
        assert!(p.dropped.is_empty(), "{:?}", p.dropped);
    }

    #[test]
    fn lighthouse_3_reads_raw_value_too() {
        let p = check(V3_FAST);
        assert_eq!(
            p.detail.as_deref(),
            Some("Lighthouse 3.2.1 (mobile, simulate throttling)")
        );
        assert_eq!(metric(&p, "fcp"), Measurement::ms(612.6378));
        assert_eq!(metric(&p, "si"), Measurement::ms(727.8984600001697));
        assert_eq!(metric(&p, "tti"), Measurement::ms(799.1378));
        assert_eq!(metric(&p, "ttfb"), Measurement::ms(97.51899999999999));
        assert_eq!(metric(&p, "score.seo"), Measurement::count(100.0));
        // Its WebSQL audit errored on a Chromium without that protocol domain: the category's
        // score is null, so absent.
        assert!(!p.metrics.contains_key("score.best-practices"));
    }

    #[test]
    fn raw_value_counts_only_before_lighthouse_5_and_lighthouse_2_is_refused() {
        let mut v = value(V5_FAST);
        v["audits"]["first-meaningful-paint"]
            .as_object_mut()
            .map(|a| a.remove("numericValue"));
        v["audits"]["first-meaningful-paint"]["rawValue"] = json!(1.0);
        let p = check(&v.to_string());
        assert!(!p.metrics.contains_key("audit.first-meaningful-paint"));

        let mut v = value(V4_FAST);
        v["audits"]["interactive"]["rawValue"] = json!(-5);
        let p = check(&v.to_string());
        assert_eq!(
            p.dropped["tti"],
            "field `audits.interactive.rawValue`: -5 is negative, which this quantity cannot be"
        );

        v["lighthouseVersion"] = json!("2.9.4");
        let msg = error(&v.to_string());
        assert!(
            msg.contains("\"2.9.4\"; perfgate reads the results of Lighthouse 3 and later"),
            "{msg}"
        );
    }

    #[test]
    fn a_failed_run_is_an_error_naming_its_code() {
        let msg = error(RUNTIME_ERROR);
        assert!(msg.contains("`runtimeError`"), "{msg}");
        assert!(msg.contains("ERRORED_DOCUMENT_REQUEST"), "{msg}");
        assert!(msg.contains("(Status code: 500)"), "{msg}");
    }

    #[test]
    fn no_error_runtime_error_is_a_good_run() {
        let mut v = value(V5_FAST);
        v["runtimeError"] = json!({"code": "NO_ERROR", "message": ""});
        assert_eq!(
            metric(&check(&v.to_string()), "fcp"),
            Measurement::ms(629.2056)
        );
    }

    #[test]
    fn an_errored_audit_is_absent_not_zero() {
        let mut v = value(DESKTOP_FAST);
        v["audits"]["largest-contentful-paint"] = json!({
            "id": "largest-contentful-paint",
            "score": null,
            "scoreDisplayMode": "error",
            "errorMessage": "NO_LCP",
        });
        v["audits"]["total-blocking-time"]["scoreDisplayMode"] = json!("error");
        v["categories"]["performance"]["score"] = Value::Null;
        let p = check(&v.to_string());
        for gone in [
            "lcp",
            "audit.largest-contentful-paint",
            "tbt",
            "score.performance",
        ] {
            assert!(!p.metrics.contains_key(gone), "{gone} should be absent");
        }
        assert_eq!(metric(&p, "fcp"), Measurement::ms(171.7149));
    }

    #[test]
    fn a_category_that_weighs_no_audit_has_no_score() {
        let mut v = value(DESKTOP_FAST);
        let perf = &mut v["categories"]["performance"];
        perf["score"] = json!(0);
        if let Some(refs) = perf["auditRefs"].as_array_mut() {
            for r in refs {
                r["weight"] = json!(0);
            }
        }
        let p = check(&v.to_string());
        assert!(!p.metrics.contains_key("score.performance"));
        assert_eq!(metric(&p, "score.seo"), Measurement::count(100.0));
    }

    #[test]
    fn pagespeed_insights_wrapper_is_unwrapped() {
        let psi = format!(
            r#"{{"id": "http://127.0.0.1:8792/fast.html", "loadingExperience": {{}}, "lighthouseResult": {DESKTOP_FAST}}}"#
        );
        let p = check(&psi);
        assert_eq!(
            p.detail.as_deref(),
            Some("Lighthouse 12.8.2 via PageSpeed Insights (desktop, simulate throttling)")
        );
        assert_eq!(p.metrics, check(DESKTOP_FAST).metrics);

        let mut v = value(DESKTOP_FAST);
        v["audits"]["speed-index"]["numericValue"] = json!(-1.0);
        let p = check(&json!({ "lighthouseResult": v }).to_string());
        for name in ["si", "audit.speed-index"] {
            assert!(
                p.dropped[name].contains("`lighthouseResult.audits.speed-index.numericValue`"),
                "{:?}",
                p.dropped
            );
        }
    }

    #[test]
    fn truncated_file_is_an_error_with_its_position() {
        let msg = error(&DESKTOP_FAST[..DESKTOP_FAST.len() / 2]);
        assert!(msg.contains("EOF while parsing"), "{msg}");
        assert!(msg.contains("line"), "{msg}");
    }

    #[test]
    fn nan_numeric_value_is_an_error_naming_the_field() {
        let mut v = value(DESKTOP_FAST);
        v["audits"]["largest-contentful-paint"]["numericValue"] = json!(987654.321);
        // Python's json.dump writes NaN literally; JSON has no NaN.
        let text = v.to_string().replace("987654.321", "NaN");
        let msg = error(&text);
        assert!(
            msg.contains("`audits.largest-contentful-paint.numericValue`"),
            "{msg}"
        );
    }

    #[test]
    fn a_negative_audit_value_drops_that_audit_and_its_shortcut_only() {
        let mut v = value(MOBILE_HEAVY);
        v["audits"]["total-byte-weight"]["numericValue"] = json!(-7983176);
        let p = check(&v.to_string());
        let why = "field `audits.total-byte-weight.numericValue`: -7983176 is negative, which this quantity cannot be";
        assert_eq!(
            p.dropped,
            BTreeMap::from([
                ("audit.total-byte-weight".to_string(), why.to_string()),
                ("total-byte-weight".to_string(), why.to_string()),
            ])
        );
        assert!(!p.metrics.contains_key("total-byte-weight"));
        assert_eq!(p.metrics, {
            let mut all = check(MOBILE_HEAVY).metrics;
            all.remove("total-byte-weight");
            all.remove("audit.total-byte-weight");
            all
        });
    }

    #[test]
    fn string_score_is_an_error_naming_the_field() {
        let mut v = value(DESKTOP_FAST);
        v["categories"]["performance"]["score"] = json!("0.9");
        let msg = error(&v.to_string());
        assert!(msg.contains("`categories.performance.score`"), "{msg}");
        assert!(msg.contains("invalid type: string"), "{msg}");
    }

    /// The issue's report: a real 12.8.2 run whose `prioritize-lcp-image` saving Lighthouse wrote
    /// as −17 ms (a known Lighthouse bug, GoogleChrome/lighthouse#16261). The runs made here gave
    /// 0 or a positive saving, so the value is set on the real heavy-page run.
    #[test]
    fn a_negative_saving_lighthouse_wrote_drops_that_audit_and_keeps_the_run() {
        let mut v = value(MOBILE_HEAVY);
        v["audits"]["prioritize-lcp-image"]["numericValue"] = json!(-17);
        let p = check(&v.to_string());
        let file = |audit: &str| v["audits"][audit]["numericValue"].as_f64();
        assert_eq!(
            p.metrics["lcp"].value,
            file("largest-contentful-paint").unwrap_or(-1.0)
        );
        assert_eq!(
            p.metrics["fcp"].value,
            file("first-contentful-paint").unwrap_or(-1.0)
        );
        assert_eq!(
            p.metrics["tbt"].value,
            file("total-blocking-time").unwrap_or(-1.0)
        );
        let score = v["categories"]["performance"]["score"]
            .as_f64()
            .unwrap_or(-1.0);
        assert_eq!(
            p.metrics["score.performance"].value,
            (score * 100.0).round()
        );
        assert_eq!(
            p.dropped,
            BTreeMap::from([(
                "audit.prioritize-lcp-image".to_string(),
                "field `audits.prioritize-lcp-image.numericValue`: -17 is negative, which this quantity cannot be".to_string()
            )])
        );
    }

    #[test]
    fn a_score_above_one_drops_that_score() {
        let mut v = value(DESKTOP_FAST);
        v["categories"]["seo"]["score"] = json!(93);
        let p = check(&v.to_string());
        assert_eq!(
            p.dropped["score.seo"],
            "field `categories.seo.score`: 93 is above 1, the highest Lighthouse score"
        );
        assert!(!p.metrics.contains_key("score.seo"));
        assert_eq!(metric(&p, "score.performance"), Measurement::count(100.0));
    }

    #[test]
    fn a_shortcut_with_the_wrong_kind_of_unit_is_dropped_and_its_audit_kept() {
        let mut v = value(DESKTOP_FAST);
        v["audits"]["largest-contentful-paint"]["numericUnit"] = json!("byte");
        let p = check(&v.to_string());
        assert_eq!(
            p.dropped["lcp"],
            "field `audits.largest-contentful-paint.numericUnit`: `largest-contentful-paint` is a size, expected a duration for `lcp`"
        );
        assert_eq!(
            metric(&p, "audit.largest-contentful-paint"),
            Measurement::bytes(171.7149)
        );
    }

    #[test]
    fn a_bad_resource_summary_item_drops_that_metric() {
        let mut v = value(DESKTOP_FAST);
        v["audits"]["resource-summary"]["details"]["items"][0]["transferSize"] = json!(-1);
        let p = check(&v.to_string());
        let kind = v["audits"]["resource-summary"]["details"]["items"][0]["resourceType"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_default();
        assert_eq!(
            p.dropped[&format!("resource.{kind}.size")],
            "field `audits.resource-summary.details.items[0].transferSize`: -1 is negative, which this quantity cannot be"
        );
        assert!(p.metrics.contains_key(&format!("resource.{kind}.count")));
    }

    #[test]
    fn missing_or_mistyped_top_level_fields_are_named() {
        for (field, edit) in [
            ("lighthouseVersion", None),
            ("audits", None),
            ("categories", None),
            ("lighthouseVersion", Some(json!(12))),
            ("audits", Some(json!([]))),
        ] {
            let mut v = value(V5_FAST);
            match edit {
                None => {
                    v.as_object_mut().map(|o| o.remove(field));
                }
                Some(bad) => v[field] = bad,
            }
            let msg = error(&v.to_string());
            assert!(msg.contains(&format!("`{field}`")), "{field}: {msg}");
        }
        let msg = error(r#"{"lighthouseVersion": "12.8.2", "audits": {}, "categories": {}}"#);
        assert!(msg.contains("`audits` is empty"), "{msg}");
        let msg = error("[]");
        assert!(msg.contains("not a Lighthouse result"), "{msg}");
    }
}
