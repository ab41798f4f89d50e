//! Gatling report statistics: `js/stats.json` (every request and group of a run) and
//! `js/global_stats.json` (the run's totals only).
//!
//! The one rule: Gatling's four percentile slots are configurable (`gatling.conf`
//! `charting.indicators.percentile1..4`, default 50/75/95/99) and the file does not say which they
//! are, so they are named `.percentiles1` … `.percentiles4`, as Gatling names them, never `.p95`:
//! a guessed name would judge the wrong percentile without a word when the configuration differs.
//!
//! Metrics per request or group, named by its `path` (`home`, `checkout / pay`; the root group,
//! "All Requests" or Gatling 2's "Global Information", is `all`), all from the `total` column
//! (OK and KO responses together, as Gatling's report shows them):
//! `<path>.mean`, `.min`, `.max`, `.stddev`, `.percentiles1` … `.percentiles4` (ms; absent when the
//! entry has no requests, where Gatling writes 0), `.count` and `.ko` (counts), `.error_rate`
//! (% of `.count` that is KO), `.rps` (mean requests per second over the run).
//! A value written `"-"` (the `stats.js` convention for "none") is absent.
//!
//! An entry with a value that cannot be read (not a number, negative, more KO than requests)
//! drops every metric of that entry, with the field (see [`Parsed::dropped`]); a group's
//! statistics are Gatling's own, not sums perfgate makes, so its requests and the root stand.
//! JSON that does not parse, a missing `numberOfRequests` or an unknown entry type refuse the file.
//!
//! `assertions.json` and the text `simulation.log` are detected and refused with a pointer to
//! `js/stats.json` (the log would have to be re-aggregated into Gatling's own percentiles).

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::{bail, Result};
use serde::Deserialize;
use serde_json::Value;

use super::reader::{names_key, Detect, Reader, Sniff, Whole};
use super::{from_json, from_value, non_negative, Parsed};
use crate::model::{Measurement, Metrics, Unit};

/// Gatling's `js/stats.json` or `js/global_stats.json`.
pub(crate) const READER: Reader = Reader {
    name: "gatling",
    detect: Detect {
        json: sniff_value,
        broken_json: |head| names_key(head, "numberOfRequests"),
        text: sniff_text,
        ..Detect::NONE
    },
    whole: Some(Whole::Json(parse)),
    stream: None,
};

/// One entry of `js/stats.json` as Gatling 3.9.3 writes it (also its root): a request or a group.
#[derive(Debug, Deserialize)]
struct Node {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: String,
    /// `""` for the root; `group / request` inside a group.
    path: Option<String>,
    stats: Stats,
    /// Keyed by `pathFormatted`; only on groups.
    #[serde(default)]
    contents: BTreeMap<String, Node>,
}

/// The statistics of one entry (and the whole of `js/global_stats.json`); times in ms.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stats {
    number_of_requests: Triple,
    min_response_time: Option<Triple>,
    max_response_time: Option<Triple>,
    mean_response_time: Option<Triple>,
    standard_deviation: Option<Triple>,
    percentiles1: Option<Triple>,
    percentiles2: Option<Triple>,
    percentiles3: Option<Triple>,
    percentiles4: Option<Triple>,
    mean_number_of_requests_per_second: Option<Triple>,
}

/// A statistic over all responses, the OK ones and the KO ones.
#[derive(Debug, Deserialize)]
struct Triple {
    total: Cell,
    ko: Option<Cell>,
}

/// A number, or (in files converted from `stats.js`) a string: a number or `"-"` for none.
/// Anything else is read too, so that it drops its entry rather than the file.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Cell {
    Number(f64),
    Text(String),
    Other(Value),
}

/// The metrics every entry may have, after its name.
const STATS: [&str; 12] = [
    "count",
    "ko",
    "error_rate",
    "rps",
    "mean",
    "min",
    "max",
    "stddev",
    "percentiles1",
    "percentiles2",
    "percentiles3",
    "percentiles4",
];

/// The entries as they are read: each stands alone (a group's statistics are Gatling's own, not
/// sums perfgate makes), so one that cannot be read is dropped with the field.
#[derive(Default)]
struct Read {
    metrics: Metrics,
    dropped: BTreeMap<String, String>,
    /// Entries read or dropped.
    entries: usize,
}

impl Read {
    /// Adds the metrics of the entry `name`, or drops them all with why one cannot be read.
    fn entry(&mut self, stats: &Stats, name: &str, at: &str) {
        self.entries += 1;
        let mut metrics = Metrics::new();
        match add(stats, name, at, &mut metrics) {
            Ok(()) => self.metrics.extend(metrics),
            Err(why) => {
                for stat in STATS {
                    self.dropped.insert(
                        format!("{name}.{stat}"),
                        format!("{why:#} (the entry's other values are not read either)"),
                    );
                }
            }
        }
    }
}

/// Detection of Gatling's JSON files from their top-level keys: `Some` when it is one.
fn sniff_value(v: &Value) -> Option<Sniff> {
    let has = |k: &str| v.get(k).is_some();
    if has("numberOfRequests")
        || (v.get("type").and_then(Value::as_str) == Some("GROUP")
            && v.get("stats")
                .and_then(|s| s.get("numberOfRequests"))
                .is_some())
    {
        return Some(Sniff::Read);
    }
    if has("simulationId") && has("assertions") {
        return Some(Sniff::Unsupported(
            "Gatling assertions (perfgate reads the statistics: `js/stats.json` in the same report)",
        ));
    }
    None
}

/// Detection of Gatling's text `simulation.log` from its first line.
fn sniff_text(text: &str) -> Option<Sniff> {
    let first = text.lines().next()?;
    ["RUN\t", "ASSERTION\t", "USER\t"]
        .iter()
        .any(|p| first.starts_with(p))
        .then_some(Sniff::Unsupported(
            "a Gatling simulation.log (perfgate reads the statistics: `js/stats.json` in the \
             report folder)",
        ))
}

/// Reads `js/stats.json` or `js/global_stats.json`.
pub(crate) fn parse(input: &mut dyn BufRead) -> Result<Parsed> {
    let value: Value = from_json(input)?;
    let mut read = Read::default();
    let what = if value.get("stats").is_some() {
        let root: Node = from_value(value)?;
        walk(&root, "", true, &mut read)?;
        format!("stats.json, {} entries", read.entries)
    } else {
        let stats: Stats = from_value(value)?;
        read.entry(&stats, "all", "");
        "global_stats.json".to_string()
    };
    Ok(Parsed {
        detail: Some(format!(
            "Gatling {what}; percentiles1..4 = the configured slots (default p50/p75/p95/p99)"
        )),
        metrics: read.metrics,
        dropped: read.dropped,
        ..Parsed::default()
    })
}

/// Adds a node's metrics and its contents', depth first; `at` is the node's JSON path for errors.
fn walk(node: &Node, at: &str, root: bool, read: &mut Read) -> Result<()> {
    if let Some(kind) = &node.kind {
        if kind != "GROUP" && kind != "REQUEST" {
            bail!("field `{at}type`: `{kind}` is neither GROUP nor REQUEST");
        }
    }
    let name = if root {
        "all".to_string()
    } else {
        match node.path.as_deref() {
            Some(p) if !p.is_empty() => p.to_string(),
            _ => node.name.clone(),
        }
    };
    let count = format!("{name}.count");
    if read.metrics.contains_key(&count) || read.dropped.contains_key(&count) {
        bail!("field `{at}path`: two entries are both `{name}`; their metrics would clash");
    }
    read.entry(&node.stats, &name, &format!("{at}stats."));
    for (key, child) in &node.contents {
        walk(child, &format!("{at}contents.{key}."), false, read)?;
    }
    Ok(())
}

/// Adds one entry's metrics under `name`; `at` is the `stats` object's JSON path for errors.
fn add(stats: &Stats, name: &str, at: &str, metrics: &mut Metrics) -> Result<()> {
    let count = number(
        &stats.number_of_requests.total,
        &format!("{at}numberOfRequests.total"),
    )?
    .ok_or_else(|| anyhow::anyhow!("field `{at}numberOfRequests.total`: no request count"))?;
    metrics.insert(format!("{name}.count"), Measurement::count(count));
    let ko = match &stats.number_of_requests.ko {
        Some(cell) => number(cell, &format!("{at}numberOfRequests.ko"))?,
        None => None,
    };
    if let Some(ko) = ko {
        if ko > count {
            bail!("field `{at}numberOfRequests.ko`: {ko} KO but {count} requests in all");
        }
        metrics.insert(format!("{name}.ko"), Measurement::count(ko));
        if count > 0.0 {
            metrics.insert(
                format!("{name}.error_rate"),
                Measurement::new(ko / count * 100.0, Unit::Percent),
            );
        }
    }
    if let Some(rps) = &stats.mean_number_of_requests_per_second {
        let field = format!("{at}meanNumberOfRequestsPerSecond.total");
        if let Some(v) = number(&rps.total, &field)? {
            metrics.insert(format!("{name}.rps"), Measurement::new(v, Unit::PerSecond));
        }
    }
    if count == 0.0 {
        return Ok(());
    }
    let times = [
        ("mean", "meanResponseTime", &stats.mean_response_time),
        ("min", "minResponseTime", &stats.min_response_time),
        ("max", "maxResponseTime", &stats.max_response_time),
        ("stddev", "standardDeviation", &stats.standard_deviation),
        ("percentiles1", "percentiles1", &stats.percentiles1),
        ("percentiles2", "percentiles2", &stats.percentiles2),
        ("percentiles3", "percentiles3", &stats.percentiles3),
        ("percentiles4", "percentiles4", &stats.percentiles4),
    ];
    for (stat, field, triple) in times {
        if let Some(t) = triple {
            if let Some(v) = number(&t.total, &format!("{at}{field}.total"))? {
                metrics.insert(format!("{name}.{stat}"), Measurement::ms(v));
            }
        }
    }
    Ok(())
}

/// A cell's value: finite and not negative, `None` for `"-"`.
fn number(cell: &Cell, field: &str) -> Result<Option<f64>> {
    let v = match cell {
        Cell::Number(v) => *v,
        Cell::Text(t) if t.trim() == "-" => return Ok(None),
        Cell::Text(t) => t
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("field `{field}`: `{t}` is not a number"))?,
        Cell::Other(v) => bail!("field `{field}`: {v} is not a number"),
    };
    non_negative(field, v).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::ingest::testing::fixture("gatling", name)
    }

    use crate::ingest::testing::metric as get;

    #[test]
    fn stats_json_per_request_and_group_path() {
        let p = parse(&mut fixture("spec-stats.json").as_bytes()).expect("parses");
        assert!(p
            .detail
            .as_deref()
            .is_some_and(|d| d == "Gatling stats.json, 4 entries; percentiles1..4 = the configured slots (default p50/p75/p95/p99)"));
        assert_eq!(get(&p, "all.count"), Measurement::count(180.0));
        assert_eq!(get(&p, "all.ko"), Measurement::count(6.0));
        assert_eq!(
            get(&p, "all.error_rate"),
            Measurement::new(6.0 / 180.0 * 100.0, Unit::Percent)
        );
        assert_eq!(get(&p, "all.percentiles3"), Measurement::ms(640.0));
        assert_eq!(get(&p, "home.mean"), Measurement::ms(48.0));
        assert_eq!(
            get(&p, "home.error_rate"),
            Measurement::new(0.0, Unit::Percent)
        );
        assert_eq!(get(&p, "home.rps"), Measurement::new(4.0, Unit::PerSecond));
        assert_eq!(get(&p, "checkout.max"), Measurement::ms(1490.0));
        assert_eq!(
            get(&p, "checkout / pay.percentiles4"),
            Measurement::ms(1310.0)
        );
        assert_eq!(get(&p, "checkout / pay.stddev"), Measurement::ms(190.0));
        assert_eq!(get(&p, "checkout / pay.min"), Measurement::ms(80.0));
        assert_eq!(
            get(&p, "checkout / pay.error_rate"),
            Measurement::new(10.0, Unit::Percent)
        );
        assert!(!p.metrics.contains_key("all.p95"));
        assert_eq!(p.metrics.len(), 4 * 12);
    }

    #[test]
    fn global_stats_is_the_root_alone() {
        let p = parse(&mut fixture("spec-global_stats.json").as_bytes()).expect("parses");
        let whole = parse(&mut fixture("spec-stats.json").as_bytes()).expect("parses");
        assert_eq!(p.metrics.len(), 12);
        for (name, m) in &p.metrics {
            assert_eq!(whole.metrics.get(name), Some(m), "{name}");
        }
    }

    #[test]
    fn dashes_are_absent_and_no_requests_have_no_times() {
        let text = r#"{"numberOfRequests":{"total":"3","ok":"3","ko":"-"},
            "meanResponseTime":{"total":"12","ok":"12","ko":"-"},
            "percentiles1":{"total":"-","ok":"-","ko":"-"}}"#;
        let p = parse(&mut text.as_bytes()).expect("parses");
        assert_eq!(get(&p, "all.mean"), Measurement::ms(12.0));
        assert!(!p.metrics.contains_key("all.ko"));
        assert!(!p.metrics.contains_key("all.percentiles1"));
        let empty = parse(&mut r#"{"numberOfRequests":{"total":0,"ok":0,"ko":0},"meanResponseTime":{"total":0,"ok":0,"ko":0}}"#.as_bytes())
            .expect("parses");
        assert_eq!(get(&empty, "all.count"), Measurement::count(0.0));
        assert!(!empty.metrics.contains_key("all.mean"));
        assert!(!empty.metrics.contains_key("all.error_rate"));
    }

    #[test]
    fn detection() {
        let v = |t: &str| serde_json::from_str::<Value>(t).expect("json");
        let stats = v(&fixture("spec-stats.json"));
        assert!(matches!(sniff_value(&stats), Some(Sniff::Read)));
        let global = v(&fixture("spec-global_stats.json"));
        assert!(matches!(sniff_value(&global), Some(Sniff::Read)));
        let assertions = v(r#"{"simulation":"S","simulationId":"s-1","start":1,"assertions":[]}"#);
        assert!(matches!(
            sniff_value(&assertions),
            Some(Sniff::Unsupported(_))
        ));
        assert!(matches!(
            sniff_text("RUN\tLoadTest\tloadtest\t1682984382035\t\t3.9.3\n"),
            Some(Sniff::Unsupported(_))
        ));
        assert!(sniff_text("Type,Name\n").is_none());
    }

    #[test]
    fn bad_input_names_the_field() {
        let text = fixture("spec-stats.json");
        let e = |t: &str| format!("{:#}", parse(&mut t.as_bytes()).expect_err("bad"));
        assert!(e(&text[..text.len() / 2]).contains("EOF while parsing"));
        let missing = e(r#"{"name":"x","meanResponseTime":{"total":1}}"#);
        assert!(missing.contains("numberOfRequests"), "{missing}");
        let kind = e(&text.replacen("\"type\": \"REQUEST\"", "\"type\": \"USER\"", 1));
        assert!(
            kind.contains("`USER` is neither GROUP nor REQUEST"),
            "{kind}"
        );
    }

    /// `mutated`'s metrics are `original`'s but for those of the entry `name`, all dropped with
    /// `why`.
    fn only_dropped(original: &Parsed, mutated: &Parsed, name: &str, why: &str) {
        let mut expected = original.metrics.clone();
        expected.retain(|metric, _| !metric.starts_with(&format!("{name}.")));
        assert_eq!(mutated.metrics, expected);
        let mut names: Vec<String> = STATS.iter().map(|s| format!("{name}.{s}")).collect();
        names.sort();
        assert_eq!(mutated.dropped.keys().cloned().collect::<Vec<_>>(), names);
        for reason in mutated.dropped.values() {
            assert_eq!(
                reason,
                &format!("{why} (the entry's other values are not read either)")
            );
        }
    }

    #[test]
    fn a_bad_entry_drops_that_entry_only() {
        let text = fixture("spec-stats.json");
        let original = parse(&mut text.as_bytes()).expect("parses");
        let home = "\"total\": 48,";
        assert_eq!(text.matches(home).count(), 1);
        let field = "field `contents.req_home-f3f1a.stats.meanResponseTime.total`";
        for (to, why) in [
            ("\"fast\"", format!("{field}: `fast` is not a number")),
            ("\"NaN\"", format!("{field}: NaN is not a finite number")),
            (
                "-48",
                format!("{field}: -48 is negative, which this quantity cannot be"),
            ),
            ("{}", format!("{field}: {{}} is not a number")),
        ] {
            let p = parse(&mut text.replace(home, &format!("\"total\": {to},")).as_bytes())
                .expect("read");
            only_dropped(&original, &p, "home", &why);
        }
        // A group's statistics are Gatling's own, not a sum of its requests': a bad group leaves
        // its requests and the root standing.
        let group = text.find("\"group_checkout-5c9e1\": {").expect("group");
        let ko = group + text[group..].find("\"ko\": 6").expect("its KO count");
        let bad = format!("{}\"ko\": 61{}", &text[..ko], &text[ko + 8..]);
        let p = parse(&mut bad.as_bytes()).expect("read");
        only_dropped(
            &original,
            &p,
            "checkout",
            "field `contents.group_checkout-5c9e1.stats.numberOfRequests.ko`: 61 KO but 60 \
             requests in all",
        );
        // global_stats.json is the root alone.
        let p = parse(&mut r#"{"numberOfRequests":{"total":1,"ok":0,"ko":2}}"#.as_bytes())
            .expect("read");
        assert!(p.metrics.is_empty());
        assert_eq!(
            p.dropped["all.count"],
            "field `numberOfRequests.ko`: 2 KO but 1 requests in all (the entry's other values \
             are not read either)"
        );
    }

    #[test]
    fn detected_by_content_through_load_file() {
        use crate::ingest::{load_file, sniff, Format};
        for name in ["spec-stats.json", "spec-global_stats.json"] {
            let text = fixture(name);
            assert_eq!(sniff(&text).ok(), Some(Format::Gatling), "{name}");
            assert_eq!(
                sniff(&text[..text.len() / 2]).ok(),
                Some(Format::Gatling),
                "{name} truncated"
            );
            let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/gatling")
                .join(name);
            assert_eq!(
                load_file(&path, None, false).expect("loads").format,
                Format::Gatling
            );
        }
    }
}
