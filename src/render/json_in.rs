//! The JSON verdict read back: [`parse_verdict`] rebuilds a verdict from `check --format json` for
//! `perfgate comment`.
//!
//! The one rule it keeps: trust none of it. The file may come from an untrusted job, so every
//! field is validated and named in errors, and no text in it is ever posted as markdown: the
//! templates escape it like any report's text.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Deserialize;

use super::json_out::{GithubRun, SourceInfo, VERDICT_SCHEMA};
use crate::budget::{units_agree, Threshold};
use crate::judge::{
    overall, AgainstSource, BaselineSource, BaselineVerdict, CreepVerdict, MetricVerdict, Status,
    Verdict, Waived, Warning, WarningKind,
};
use crate::model::{is_commit_id, is_plain_name, Op, Unit};

/// A JSON verdict read back: everything the comment template needs, rebuilt from the structured
/// fields only (the file may come from an untrusted job, so no text in it is ever posted as markdown).
#[derive(Debug, Clone)]
pub struct SavedVerdict {
    pub verdict: Verdict,
    pub sources: Vec<SourceInfo>,
    /// The pull request `check` ran on, when it recorded one.
    pub github: Option<GithubRun>,
}

// The wire shape of `to_json`'s output, read back; written alongside it above.
#[derive(Deserialize)]
struct WireSchema {
    schema: Option<String>,
}

#[derive(Deserialize)]
struct WireVerdict {
    gate: String,
    verdict: WireStatus,
    metrics: Vec<WireMetric>,
    sources: Vec<WireSource>,
    baseline_runs: usize,
    #[serde(default)]
    github: Option<GithubRun>,
    #[serde(default)]
    warnings: Vec<WireWarning>,
    #[serde(default)]
    baseline_source: Option<BaselineSource>,
    /// Added with `check --against`: absent in the verdicts written before, and without it.
    #[serde(default)]
    against: Vec<AgainstSource>,
}

#[derive(Deserialize)]
struct WireWarning {
    kind: String,
    message: String,
}

#[derive(Deserialize)]
struct WireMetric {
    id: String,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    page: Option<String>,
    label: String,
    unit: Unit,
    value: f64,
    target: Option<WireLimit>,
    critical: Option<WireLimit>,
    status: WireStatus,
    budget_status: WireStatus,
    baseline: Option<BaselineVerdict>,
    /// Added with waivers: absent in verdicts written before, and for a metric not waived.
    #[serde(default)]
    waiver: Option<Waived>,
    #[serde(default)]
    creep: Option<CreepVerdict>,
    #[serde(default)]
    samples: Vec<f64>,
    runs: usize,
    line: usize,
}

#[derive(Deserialize)]
struct WireLimit {
    op: Op,
    value: f64,
    unit: Unit,
    written_unit: String,
}

#[derive(Deserialize)]
struct WireSource {
    name: String,
    format: String,
    detail: Option<String>,
    files: Vec<String>,
    runs: usize,
    #[serde(default)]
    pages: Vec<String>,
    /// Added after the first verdicts were written: absent in those.
    #[serde(default)]
    dropped: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WireStatus {
    Pass,
    Warn,
    Fail,
}

impl From<WireStatus> for Status {
    fn from(s: WireStatus) -> Status {
        match s {
            WireStatus::Pass => Status::Pass,
            WireStatus::Warn => Status::Warn,
            WireStatus::Fail => Status::Fail,
        }
    }
}

/// A number of the verdict that must be finite.
fn finite(field: &str, v: f64) -> Result<f64> {
    if !v.is_finite() {
        bail!("field `{field}`: {v} is not a finite number");
    }
    Ok(v)
}

fn finite_all(field: &str, vs: &[f64]) -> Result<()> {
    for (i, v) in vs.iter().enumerate() {
        finite(&format!("{field}[{i}]"), *v)?;
    }
    Ok(())
}

/// A probability or a fraction that cannot be negative.
fn fraction(field: &str, v: Option<f64>, max: f64) -> Result<()> {
    match v {
        Some(v) if !(v.is_finite() && (0.0..=max).contains(&v)) => {
            bail!("field `{field}`: {v} is not between 0 and {max}")
        }
        _ => Ok(()),
    }
}

fn limit(field: &str, metric_unit: Unit, l: Option<WireLimit>) -> Result<Option<Threshold>> {
    let Some(l) = l else { return Ok(None) };
    finite(&format!("{field}.value"), l.value)?;
    if !units_agree(metric_unit, l.unit) {
        bail!(
            "field `{field}.unit`: `{}` does not fit the metric's unit `{}`",
            l.unit.symbol(),
            metric_unit.symbol()
        );
    }
    match Unit::parse_scaled(&l.written_unit) {
        Some((u, _)) if u == l.unit => {}
        _ => bail!(
            "field `{field}.written_unit`: {:?} is not a way to write `{}`",
            l.written_unit,
            l.unit.symbol()
        ),
    }
    Ok(Some(Threshold {
        op: l.op,
        value: l.value,
        unit: l.unit,
        text: format!("{} {}{}", l.op.symbol(), l.value, l.written_unit),
        written_unit: l.written_unit,
    }))
}

/// The numbers of a verdict's `baseline` object that serde's types do not constrain.
fn check_baseline(at: &str, b: &BaselineVerdict) -> Result<()> {
    finite(&format!("{at}.value"), b.value)?;
    if let Some(c) = b.change {
        finite(&format!("{at}.change"), c)?;
    }
    fraction(&format!("{at}.p_value"), b.p_value, 1.0)?;
    fraction(&format!("{at}.cv"), b.cv, f64::MAX)?;
    fraction(&format!("{at}.detectable"), b.detectable, f64::MAX)?;
    fraction(&format!("{at}.slack"), Some(b.slack), f64::MAX)?;
    finite_all(&format!("{at}.history"), &b.history)?;
    if !b.history_commits.is_empty() && b.history_commits.len() != b.history.len() {
        bail!(
            "field `{at}.history_commits`: {} commit{} for {} history values",
            b.history_commits.len(),
            if b.history_commits.len() == 1 {
                ""
            } else {
                "s"
            },
            b.history.len()
        );
    }
    for (i, c) in b.history_commits.iter().enumerate() {
        if let Some(c) = c.as_deref().filter(|c| !is_commit_id(c)) {
            bail!("field `{at}.history_commits[{i}]`: {c:?} is not a full commit sha");
        }
    }
    Ok(())
}

/// The longest text of a `waiver` read back: a reason is a sentence or two, a commit author a name.
const MAX_WAIVER_CHARS: usize = 4096;

/// A read-back `waiver`: it can only accept a comparison that made the metric worse, the status it
/// lifted is no better than the one left, and its texts are of a sane length (the template shows
/// them, escaped).
fn check_waiver(
    at: &str,
    w: &Waived,
    status: Status,
    baseline: Option<&BaselineVerdict>,
) -> Result<()> {
    if !baseline.is_some_and(|b| b.regression || b.call == crate::stats::Call::Inconclusive) {
        bail!("field `{at}`: the metric has no regression or inconclusive change to waive");
    }
    if w.status < status {
        bail!(
            "field `{at}.status`: `{}` is better than the metric's status `{}`, which the waiver lifted",
            w.status.name(),
            status.name()
        );
    }
    for (field, text) in [
        ("by", Some(&w.by)),
        ("reason", Some(&w.reason)),
        ("accepts", Some(&w.accepts)),
        ("expires", w.expires.as_ref()),
    ] {
        if text.is_some_and(|t| t.chars().count() > MAX_WAIVER_CHARS) {
            bail!("field `{at}.{field}`: longer than {MAX_WAIVER_CHARS} characters");
        }
    }
    if w.line == Some(0) {
        bail!("field `{at}.line`: 0 is not a line of the budget");
    }
    Ok(())
}

/// The numbers of a metric's `creep` object, and its merges: a commit's first 12 hex digits each.
fn check_creep(at: &str, c: &CreepVerdict) -> Result<()> {
    finite(&format!("{at}.before"), c.before)?;
    finite(&format!("{at}.after"), c.after)?;
    if let Some(change) = c.change {
        finite(&format!("{at}.change"), change)?;
    }
    fraction(&format!("{at}.p_value"), Some(c.p_value), 1.0)?;
    fraction(&format!("{at}.slack"), Some(c.slack), f64::MAX)?;
    for (i, m) in c.merges.iter().enumerate() {
        if let Some(m) = m {
            if !(m.len() == 12 && m.bytes().all(|b| b.is_ascii_hexdigit())) {
                bail!("field `{at}.merges[{i}]`: {m:?} is not a commit's first 12 digits");
            }
        }
    }
    Ok(())
}

fn github_run(g: &GithubRun) -> Result<()> {
    match g.repository.split_once('/') {
        Some((owner, name)) if is_plain_name(owner) && is_plain_name(name) => {}
        _ => bail!(
            "field `github.repository`: {:?} is not `owner/name`",
            g.repository
        ),
    }
    if !matches!(
        g.event.as_str(),
        "pull_request" | "pull_request_target" | "workflow_run"
    ) {
        bail!(
            "field `github.event`: {:?} is not a pull-request event",
            g.event
        );
    }
    if g.pr_number == Some(0) {
        bail!("field `github.pr_number`: 0 is not a pull request number");
    }
    for (field, sha) in [("head_sha", &g.head_sha), ("base_sha", &g.base_sha)] {
        if let Some(sha) = sha {
            if !is_commit_id(sha) {
                bail!("field `github.{field}`: {sha:?} is not a commit sha");
            }
        }
    }
    Ok(())
}

/// The longest text of `baseline_source` read back: a path and a branch name, never long.
const MAX_SOURCE_CHARS: usize = 1024;

/// A read-back `baseline_source`: texts of a sane length (the template shows them, escaped).
fn baseline_source(b: &BaselineSource) -> Result<()> {
    for (field, text) in [
        ("location", Some(&b.location)),
        ("branch", b.branch.as_ref()),
        ("fallback_from", b.fallback_from.as_ref()),
    ] {
        if text.is_some_and(|t| t.chars().count() > MAX_SOURCE_CHARS) {
            bail!("field `baseline_source.{field}`: longer than {MAX_SOURCE_CHARS} characters");
        }
    }
    Ok(())
}

/// Reads a JSON verdict (`check --format json`) back, validating the schema and every field;
/// errors name the field. Free text (labels, ids, file names) is kept as data: the templates
/// escape it like any report's text.
pub fn parse_verdict(text: &str) -> Result<SavedVerdict> {
    let schema: WireSchema = crate::ingest::from_json(&mut text.as_bytes())?;
    match schema.schema.as_deref() {
        Some(VERDICT_SCHEMA) => {}
        Some(other) => bail!("field `schema`: {other:?} is not {VERDICT_SCHEMA:?}"),
        None => bail!("field `schema`: missing (expected {VERDICT_SCHEMA:?})"),
    }
    let wire: WireVerdict = crate::ingest::from_json(&mut text.as_bytes())?;
    if !is_plain_name(&wire.gate) {
        bail!(
            "field `gate`: {:?} is not a gate name (letters, digits, `-`, `_` or `.`)",
            wire.gate
        );
    }
    if let Some(g) = &wire.github {
        github_run(g)?;
    }
    if let Some(b) = &wire.baseline_source {
        baseline_source(b)?;
    }
    for (i, a) in wire.against.iter().enumerate() {
        if a.source.trim().is_empty() || a.path.trim().is_empty() {
            bail!("field `against[{i}]`: the source or its path is empty");
        }
        if a.runs == 0 {
            bail!("field `against[{i}].runs`: 0 is not a number of runs");
        }
    }
    let mut metrics = Vec::with_capacity(wire.metrics.len());
    for (i, m) in wire.metrics.into_iter().enumerate() {
        let at = format!("metrics[{i}]");
        finite(&format!("{at}.value"), m.value)?;
        finite_all(&format!("{at}.samples"), &m.samples)?;
        if m.line == 0 {
            bail!("field `{at}.line`: 0 is not a line of the budget");
        }
        if let Some(b) = &m.baseline {
            check_baseline(&format!("{at}.baseline"), b)?;
        }
        if let Some(w) = &m.waiver {
            check_waiver(
                &format!("{at}.waiver"),
                w,
                m.status.into(),
                m.baseline.as_ref(),
            )?;
        }
        if let Some(c) = &m.creep {
            check_creep(&format!("{at}.creep"), c)?;
        }
        metrics.push(MetricVerdict {
            target: limit(&format!("{at}.target"), m.unit, m.target)?,
            critical: limit(&format!("{at}.critical"), m.unit, m.critical)?,
            rule: m.rule.unwrap_or_else(|| m.id.clone()),
            page: m.page,
            id: m.id,
            label: m.label,
            unit: m.unit,
            value: m.value,
            samples: m.samples,
            runs: m.runs,
            budget_status: m.budget_status.into(),
            status: m.status.into(),
            baseline: m.baseline,
            waiver: m.waiver,
            creep: m.creep,
            line: m.line,
        });
    }
    let mut warnings = Vec::with_capacity(wire.warnings.len());
    for (i, w) in wire.warnings.into_iter().enumerate() {
        let Some(kind) = WarningKind::from_name(&w.kind) else {
            bail!(
                "field `warnings[{i}].kind`: {:?} is not a warning perfgate gives",
                w.kind
            );
        };
        warnings.push(Warning {
            kind,
            message: w.message,
        });
    }
    let verdict: Status = wire.verdict.into();
    let worst = overall(metrics.iter().map(|m| m.status), &warnings);
    if verdict != worst {
        bail!(
            "field `verdict`: `{}` is not what its metrics and warnings give, `{}`",
            verdict.name(),
            worst.name()
        );
    }
    let mut sources = Vec::with_capacity(wire.sources.len());
    for (i, s) in wire.sources.into_iter().enumerate() {
        // The template prints the format name as it is: only a known name may pass.
        if crate::ingest::Format::from_name(&s.format).is_none() {
            bail!(
                "field `sources[{i}].format`: {:?} is not a format perfgate reads",
                s.format
            );
        }
        for (metric, why) in &s.dropped {
            if metric.trim().is_empty() {
                bail!("field `sources[{i}].dropped`: a metric name is empty");
            }
            if why.trim().is_empty() {
                bail!("field `sources[{i}].dropped[{metric:?}]`: the reason is empty");
            }
        }
        sources.push(SourceInfo {
            name: s.name,
            format: s.format,
            detail: s.detail,
            files: s.files,
            runs: s.runs,
            pages: s.pages,
            dropped: s.dropped,
        });
    }
    Ok(SavedVerdict {
        verdict: Verdict {
            gate: wire.gate,
            verdict,
            metrics,
            baseline_runs: wire.baseline_runs,
            warnings,
            baseline_source: wire.baseline_source,
            against: wire.against,
        },
        sources,
        github: wire.github,
    })
}

#[cfg(test)]
mod tests {

    use std::collections::BTreeMap;

    use crate::judge::{
        AgainstSource, BaselineSource, CreepVerdict, MetricVerdict, Status, Verdict, Warning,
        WarningKind,
    };
    use crate::model::Unit;

    use crate::render::{parse_verdict, to_json, to_text, SourceInfo, Template};

    #[test]
    fn dropped_values_show_in_every_output_and_survive_the_json_round_trip() {
        let v = Verdict {
            gate: "t".into(),
            verdict: Status::Pass,
            metrics: Vec::new(),
            baseline_runs: 0,
            warnings: Vec::new(),
            baseline_source: None,
            against: Vec::new(),
        };
        let why = "field `audits.prioritize-lcp-image.numericValue`: -17 is negative, which this quantity cannot be";
        let sources = vec![SourceInfo {
            name: "web".into(),
            format: "lighthouse".into(),
            detail: Some("Lighthouse 12.8.2".into()),
            files: vec!["lhr.json".into()],
            runs: 1,
            pages: Vec::new(),
            dropped: BTreeMap::from([("audit.prioritize-lcp-image".into(), why.into())]),
        }];
        assert!(to_text(&v, &sources).contains(&format!(
            "\n    dropped audit.prioritize-lcp-image: {why}\n"
        )));
        let markdown = Template::default_comment()
            .and_then(|t| t.render(&v, &sources))
            .expect("renders");
        assert!(
            markdown.contains(
                "from lhr.json\n  - dropped audit.prioritize-lcp-image: field &#96;audits.prioritize-lcp-image.numericValue&#96;: -17 is negative"
            ),
            "{markdown}"
        );
        let json = to_json(&v, &sources, None);
        let saved = parse_verdict(&json).expect("reads back");
        assert_eq!(saved.sources[0].dropped, sources[0].dropped);

        let mut doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        // A verdict written before the field existed is still read.
        doc["sources"][0]
            .as_object_mut()
            .map(|s| s.remove("dropped"));
        let saved = parse_verdict(&doc.to_string()).expect("reads back");
        assert!(saved.sources[0].dropped.is_empty());
        doc["sources"][0]["dropped"] = serde_json::json!({"x": " "});
        let e = format!(
            "{:#}",
            parse_verdict(&doc.to_string()).expect_err("empty reason")
        );
        assert_eq!(e, "field `sources[0].dropped[\"x\"]`: the reason is empty");
        doc["sources"][0]["dropped"] = serde_json::json!({"x": 3});
        let e = format!(
            "{:#}",
            parse_verdict(&doc.to_string()).expect_err("not text")
        );
        assert!(e.contains("field `sources[0].dropped.x`"), "{e}");
    }

    #[test]
    fn warnings_and_pages_survive_the_json_round_trip_and_keep_the_verdict_honest() {
        let v = Verdict {
            gate: "web".into(),
            verdict: Status::Warn,
            metrics: Vec::new(),
            baseline_runs: 3,
            warnings: vec![Warning {
                kind: WarningKind::MissingPage,
                message:
                    "page `/cart` of `LCP` is in the baseline's newest run but not in this run"
                        .into(),
            }],
            baseline_source: None,
            against: Vec::new(),
        };
        let sources = vec![SourceInfo {
            name: "web".into(),
            format: "lighthouse".into(),
            detail: None,
            files: vec!["a.json".into(), "b.json".into()],
            runs: 2,
            pages: vec!["/".into(), "/cart".into()],
            dropped: BTreeMap::new(),
        }];
        let json = to_json(&v, &sources, None);
        let saved = parse_verdict(&json).expect("reads back");
        assert_eq!(saved.verdict.warnings, v.warnings);
        assert_eq!(saved.verdict.verdict, Status::Warn);
        assert_eq!(saved.sources[0].pages, sources[0].pages);
        // A warning makes the verdict at least `warn`: a file saying `pass` is refused.
        let mut doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        doc["verdict"] = "pass".into();
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("pass"));
        assert!(e.starts_with("field `verdict`"), "{e}");
        doc["verdict"] = "warn".into();
        doc["warnings"][0]["kind"] = "gremlins".into();
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("kind"));
        assert!(e.starts_with("field `warnings[0].kind`"), "{e}");
        // Verdicts written before warnings existed are still read.
        doc.as_object_mut().map(|d| d.remove("warnings"));
        doc["verdict"] = "pass".into();
        assert!(parse_verdict(&doc.to_string())
            .expect("reads")
            .verdict
            .warnings
            .is_empty());
    }

    #[test]
    fn the_bases_of_a_same_job_a_b_survive_the_json_round_trip_and_may_be_absent() {
        let against = vec![AgainstSource {
            source: "bench".into(),
            path: "ab/base-*.json".into(),
            runs: 10,
        }];
        let v = Verdict {
            gate: "ab".into(),
            verdict: Status::Pass,
            metrics: Vec::new(),
            baseline_runs: 0,
            warnings: Vec::new(),
            baseline_source: None,
            against: against.clone(),
        };
        let json = to_json(&v, &[], None);
        let saved = parse_verdict(&json).expect("reads back");
        assert_eq!(saved.verdict.against, against);
        let mut doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        doc["against"][0]["runs"] = 0.into();
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("0 runs"));
        assert_eq!(e, "field `against[0].runs`: 0 is not a number of runs");
        // Verdicts written before `--against` existed are still read.
        doc.as_object_mut().map(|d| d.remove("against"));
        assert!(parse_verdict(&doc.to_string())
            .expect("reads")
            .verdict
            .against
            .is_empty());
    }

    #[test]
    fn a_waiver_survives_the_json_round_trip_and_is_checked() {
        let waiver = serde_json::json!({"origin": "label", "by": "label `perfgate:accept` on pull request #7",
            "reason": "accepted", "accepts": "any change", "expires": null, "line": null, "status": "fail"});
        let mut doc = serde_json::json!({
            "schema": "perfgate/verdict@1", "gate": "prod", "verdict": "pass",
            "metrics": [{"id": "api.p95", "label": "API P95", "unit": "ms", "value": 160.0,
                "target": null, "critical": null, "status": "pass", "budget_status": "pass",
                "baseline": {"value": 100.0, "change": 0.6, "regression": true, "significant": true,
                    "p_value": 0.001, "runs": 10, "method": "prediction-interval", "call": "regression",
                    "cv": 0.02, "detectable": 0.05, "runs_needed": 1, "slack": 0.1,
                    "history": [100.0, 100.0, 100.0]},
                "waiver": waiver, "runs": 1, "line": 5}],
            "sources": [], "baseline_runs": 10,
        });
        let saved = parse_verdict(&doc.to_string()).expect("reads back");
        let m = &saved.verdict.metrics[0];
        assert_eq!(
            m.waiver.as_ref().map(|w| w.reason.as_str()),
            Some("accepted")
        );
        let markdown = Template::default_comment()
            .and_then(|t| t.render(&saved.verdict, &[]))
            .expect("renders");
        assert!(markdown.contains("| ☑️ waived |"), "{markdown}");

        doc["metrics"][0]["waiver"]["status"] = "pass".into();
        doc["metrics"][0]["status"] = "warn".into();
        doc["verdict"] = "warn".into();
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("better"));
        assert!(e.starts_with("field `metrics[0].waiver.status`"), "{e}");
        doc["metrics"][0]["waiver"]["status"] = "fail".into();
        doc["metrics"][0]["baseline"]["regression"] = false.into();
        doc["metrics"][0]["baseline"]["call"] = "no-change".into();
        let e = format!(
            "{:#}",
            parse_verdict(&doc.to_string()).expect_err("nothing")
        );
        assert_eq!(
            e,
            "field `metrics[0].waiver`: the metric has no regression or inconclusive change to waive"
        );
    }

    #[test]
    fn the_history_commits_survive_the_json_round_trip_and_are_checked() {
        use crate::judge::{BaselineVerdict, MetricVerdict};
        use crate::model::Unit;
        use crate::stats::{Call, Method};
        let sha = "a1b2c3d".repeat(6)[..40].to_string();
        let v = Verdict {
            gate: "t".into(),
            verdict: Status::Pass,
            metrics: vec![MetricVerdict {
                id: "api.p95".into(),
                rule: "api.p95".into(),
                page: None,
                label: "API P95".into(),
                unit: Unit::Ms,
                value: 100.0,
                samples: Vec::new(),
                runs: 1,
                target: None,
                critical: None,
                budget_status: Status::Pass,
                status: Status::Pass,
                baseline: Some(BaselineVerdict {
                    value: 100.0,
                    change: Some(0.0),
                    tested_change: None,
                    regression: false,
                    significant: false,
                    p_value: None,
                    runs: 2,
                    method: Method::TooLittleHistory,
                    call: Call::ThresholdOnly,
                    cv: None,
                    detectable: None,
                    runs_needed: None,
                    slack: 0.1,
                    history: vec![99.0, 101.0],
                    history_commits: vec![Some(sha.clone()), None],
                    pairs: None,
                    left_out: 0,
                    environment: Vec::new(),
                }),
                creep: None,
                waiver: None,
                line: 1,
            }],
            baseline_runs: 2,
            warnings: Vec::new(),
            baseline_source: None,
            against: Vec::new(),
        };
        let json = to_json(&v, &[], None);
        let saved = parse_verdict(&json).expect("reads back");
        let commits = |s: &super::SavedVerdict| {
            s.verdict.metrics[0]
                .baseline
                .as_ref()
                .map(|b| b.history_commits.clone())
        };
        assert_eq!(commits(&saved), Some(vec![Some(sha), None]));

        let mut doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let at = "metrics[0].baseline.history_commits";
        doc["metrics"][0]["baseline"]["history_commits"] = serde_json::json!([null]);
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("length"));
        assert_eq!(e, format!("field `{at}`: 1 commit for 2 history values"));
        doc["metrics"][0]["baseline"]["history_commits"] =
            serde_json::json!([null, "\"]\n```\n<script>"]);
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("no sha"));
        assert!(e.starts_with(&format!("field `{at}[1]`: ")), "{e}");
        // A verdict written before the field existed is still read, with no commits.
        doc["metrics"][0]["baseline"]
            .as_object_mut()
            .map(|b| b.remove("history_commits"));
        let saved = parse_verdict(&doc.to_string()).expect("reads");
        assert_eq!(commits(&saved), Some(Vec::new()));
    }

    #[test]
    fn the_baseline_source_survives_the_json_round_trip_and_may_be_absent() {
        let source = BaselineSource {
            location: "git:perfgate-baselines:baselines/prod.json".into(),
            branch: Some("main".into()),
            default_branch: Some(true),
            fallback_from: Some("release/1.x".into()),
        };
        let v = Verdict {
            gate: "prod".into(),
            verdict: Status::Pass,
            metrics: Vec::new(),
            baseline_runs: 2,
            warnings: Vec::new(),
            baseline_source: Some(source.clone()),
            against: Vec::new(),
        };
        let json = to_json(&v, &[], None);
        let saved = parse_verdict(&json).expect("reads back");
        assert_eq!(saved.verdict.baseline_source, Some(source));
        let mut doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        doc["baseline_source"]["branch"] = "x".repeat(1025).into();
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("long"));
        assert!(e.starts_with("field `baseline_source.branch`"), "{e}");
        // Verdicts written before it existed are still read.
        doc.as_object_mut().map(|d| d.remove("baseline_source"));
        assert_eq!(
            parse_verdict(&doc.to_string())
                .expect("reads")
                .verdict
                .baseline_source,
            None
        );
    }

    #[test]
    fn a_creep_survives_the_json_round_trip_and_is_checked() {
        let creep = CreepVerdict {
            before: 100.0,
            after: 125.0,
            change: Some(0.25),
            p_value: 2e-7,
            slack: 0.1,
            runs_before: 20,
            merges: vec![
                Some("1a2b3c4d5e6f".into()),
                None,
                Some("abcdefabcdef".into()),
            ],
            new: true,
        };
        let v = Verdict {
            gate: "shop".into(),
            verdict: Status::Warn,
            metrics: vec![MetricVerdict {
                id: "api.checkout".into(),
                rule: "api.checkout".into(),
                page: None,
                label: "Checkout".into(),
                unit: Unit::Ms,
                value: 127.0,
                samples: Vec::new(),
                runs: 1,
                target: None,
                critical: None,
                budget_status: Status::Pass,
                status: Status::Pass,
                baseline: None,
                creep: Some(creep.clone()),
                waiver: None,
                line: 9,
            }],
            baseline_runs: 23,
            warnings: vec![Warning {
                kind: WarningKind::Creep,
                message: "`Checkout` crept 25 % worse".into(),
            }],
            baseline_source: None,
            against: Vec::new(),
        };
        let json = to_json(&v, &[], None);
        let saved = parse_verdict(&json).expect("reads back");
        assert_eq!(saved.verdict.metrics[0].creep, Some(creep));
        assert_eq!(saved.verdict.warnings, v.warnings);
        let mut doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        doc["metrics"][0]["creep"]["merges"][1] = "<b>hi</b>".into();
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("merge"));
        assert!(e.starts_with("field `metrics[0].creep.merges[1]`"), "{e}");
        doc["metrics"][0]["creep"]["merges"][1] = serde_json::Value::Null;
        doc["metrics"][0]["creep"]["p_value"] = 3.into();
        let e = format!("{:#}", parse_verdict(&doc.to_string()).expect_err("p"));
        assert!(e.starts_with("field `metrics[0].creep.p_value`"), "{e}");
        // Verdicts written before creep existed are still read.
        doc["metrics"][0].as_object_mut().map(|m| m.remove("creep"));
        assert_eq!(
            parse_verdict(&doc.to_string())
                .expect("reads")
                .verdict
                .metrics[0]
                .creep,
            None
        );
    }
}
