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
    overall, BaselineSource, BaselineVerdict, MetricVerdict, Status, Verdict, Warning, WarningKind,
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
        },
        sources,
        github: wire.github,
    })
}

#[cfg(test)]
mod tests {

    use std::collections::BTreeMap;

    use crate::judge::{BaselineSource, Status, Verdict, Warning, WarningKind};

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
                }),
                line: 1,
            }],
            baseline_runs: 2,
            warnings: Vec::new(),
            baseline_source: None,
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
}
