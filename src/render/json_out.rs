//! The JSON verdict written: [`JsonVerdict`] and [`to_json`] (README, "Output").
//!
//! The one rule it keeps: this is the contract. Fields are added, never renamed, and the schema id
//! [`VERDICT_SCHEMA`] names the version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::budget::Threshold;
use crate::judge::{
    AgainstSource, BaselineSource, BaselineVerdict, CreepVerdict, Status, Verdict, Waived, Warning,
};
use crate::model::Op;

/// Where a source's metrics came from, for the details of a report.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub name: String,
    /// The format name (`artillery`, `lighthouse`, ...).
    pub format: String,
    /// The tool version hint the reader found, if any.
    pub detail: Option<String>,
    /// The files read (or the URL queried), as given.
    pub files: Vec<String>,
    pub runs: usize,
    /// The pages the runs measured (`/checkout`, `/checkout (desktop)`), where the reports say.
    pub pages: Vec<String>,
    /// Values the reader left out because they failed validation (one audit, one custom metric):
    /// metric name → why, naming the field. Empty for most reports.
    pub dropped: BTreeMap<String, String>,
}

/// The JSON verdict (`schema: perfgate/verdict@1`, README "Output"). Fields may be added, never renamed.
#[derive(Debug, Serialize)]
pub struct JsonVerdict<'a> {
    pub schema: &'static str,
    pub gate: &'a str,
    pub verdict: Status,
    pub counts: Counts,
    pub metrics: Vec<JsonMetric<'a>>,
    pub sources: &'a [SourceInfo],
    /// Runs in the baseline file compared with; 0 without one.
    pub baseline_runs: usize,
    /// The pull request `check` judged, when it ran on one; null otherwise.
    pub github: Option<&'a GithubRun>,
    /// What the gate saw that no metric shows (a stale baseline, a page gone from the run); each
    /// makes the verdict at least `warn`.
    pub warnings: &'a [Warning],
    /// Where the history compared with is and whose it is (a data branch keeps one per branch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_source: Option<&'a BaselineSource>,
    /// The sources judged pair by pair against the base's runs of the same job (`check
    /// --against`): each one's name, the base's path as given and its runs; empty without.
    pub against: &'a [AgainstSource],
}

/// The pull request a verdict was judged for, recorded in the JSON verdict so that
/// `perfgate comment` can post it from another workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubRun {
    /// `owner/name`.
    pub repository: String,
    /// The event of the run: `pull_request`, `pull_request_target` or `workflow_run`.
    pub event: String,
    /// The pull request's number, when the event named one.
    pub pr_number: Option<u64>,
    /// The commit judged: the pull request's head.
    pub head_sha: Option<String>,
    /// The pull request's base commit.
    pub base_sha: Option<String>,
}

/// How many metrics have each status, and how many regressed.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub regressions: usize,
    /// Metrics whose regression (or inconclusive change) a waiver accepted.
    pub waived: usize,
    pub total: usize,
}

/// One metric in the JSON verdict.
#[derive(Debug, Serialize)]
pub struct JsonMetric<'a> {
    /// The metric judged: the rule's id, or `<rule>{<selector>}` for one page of several.
    pub id: &'a str,
    /// The budget rule's metric id.
    pub rule: &'a str,
    /// The page measured, where the source says (`/checkout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<&'a str>,
    pub label: &'a str,
    /// `ms`, `B`, `%`, `/s` or `""`.
    pub unit: &'static str,
    /// In `unit`.
    pub value: f64,
    pub target: Option<JsonLimit>,
    pub critical: Option<JsonLimit>,
    pub status: Status,
    /// The status from the thresholds alone (`status` also counts a regression).
    pub budget_status: Status,
    /// The comparison with the baseline history; null without one.
    pub baseline: Option<&'a BaselineVerdict>,
    /// The waiver that accepted the comparison's regression; absent when none did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<&'a Waived>,
    /// The default branch's history crept, this run included: absent when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creep: Option<&'a CreepVerdict>,
    /// Each run's value where the source had several runs.
    #[serde(skip_serializing_if = "<[f64]>::is_empty")]
    pub samples: &'a [f64],
    /// How many runs (report files) the value comes from.
    pub runs: usize,
    /// The rule's line in the budget file.
    pub line: usize,
}

/// A threshold in the JSON verdict.
#[derive(Debug, Serialize)]
pub struct JsonLimit {
    pub op: Op,
    /// In `unit`.
    pub value: f64,
    /// The threshold's canonical unit: the metric's, or `""` for a plain rate limit.
    pub unit: &'static str,
    /// The unit as the budget wrote it (`KiB`, `s`, `%`), which decides how sizes are shown.
    pub written_unit: String,
}

pub(super) fn counts(v: &Verdict) -> Counts {
    Counts {
        pass: v.count(Status::Pass),
        warn: v.count(Status::Warn),
        fail: v.count(Status::Fail),
        regressions: v.regressions(),
        waived: v.waived(),
        total: v.metrics.len(),
    }
}

/// The verdict as pretty JSON, newline-terminated; `github` records the pull request judged.
pub fn to_json(v: &Verdict, sources: &[SourceInfo], github: Option<&GithubRun>) -> String {
    let limit = |t: &Option<Threshold>| {
        t.as_ref().map(|t| JsonLimit {
            op: t.op,
            value: t.value,
            unit: t.unit.symbol(),
            written_unit: t.written_unit.clone(),
        })
    };
    let doc = JsonVerdict {
        schema: "perfgate/verdict@1",
        gate: &v.gate,
        verdict: v.verdict,
        counts: counts(v),
        metrics: v
            .metrics
            .iter()
            .map(|m| JsonMetric {
                id: &m.id,
                rule: &m.rule,
                page: m.page.as_deref(),
                label: &m.label,
                unit: m.unit.symbol(),
                value: m.value,
                target: limit(&m.target),
                critical: limit(&m.critical),
                status: m.status,
                budget_status: m.budget_status,
                baseline: m.baseline.as_ref(),
                waiver: m.waiver.as_ref(),
                creep: m.creep.as_ref(),
                samples: if m.runs > 1 { &m.samples } else { &[] },
                runs: m.runs,
                line: m.line,
            })
            .collect(),
        sources,
        baseline_runs: v.baseline_runs,
        github,
        warnings: &v.warnings,
        baseline_source: v.baseline_source.as_ref(),
        against: &v.against,
    };
    let mut out = crate::json::to_string_pretty(&doc).unwrap_or_else(|e| {
        // Serializing plain structs of numbers and strings cannot fail; keep the output valid JSON anyway.
        format!(
            "{{\"schema\":\"perfgate/verdict@1\",\"error\":{:?}}}",
            e.to_string()
        )
    });
    out.push('\n');
    out
}

/// The schema name of the JSON verdict.
pub const VERDICT_SCHEMA: &str = "perfgate/verdict@1";
