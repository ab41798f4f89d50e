//! Judge: budget rules × the metrics read × the baseline history → a [`Verdict`].
//!
//! The one rule: no I/O, no clock, no environment. [`observe`] binds every rule to its value (and
//! reports every rule it cannot bind, at once); [`judge`] then only compares numbers: each value
//! with its thresholds (target missed = warn, critical breached = fail) and, through [`stats`],
//! with its history, calling a regression only when it is both beyond the rule's slack and
//! significant for the budget as a whole.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::baseline::{BaselineFile, BaselineMetric, BaselineRun, Environment};
use crate::budget::{
    units_agree, Accept, Budget, OnCreep, OnRegression, Rule, RuleInput, Threshold, Waiver,
    WaiverOrigin,
};
use crate::derive::closest_hint;
use crate::ingest::Page;
use crate::model::{has_series, is_commit_id, Metrics, Unit};
use crate::stats::{self, Call, Candidate, Method, Observation};
use hdrhistogram::Histogram;

/// pass < warn < fail: the verdict of a gate is its worst metric's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// A source's metrics as the judge sees them.
#[derive(Debug, Clone, Default)]
pub struct SourceMetrics {
    /// The representative value per metric (the median of the runs).
    pub metrics: Metrics,
    /// Per metric, each run's (or time slice's) value where the source had several.
    pub samples: BTreeMap<String, Vec<f64>>,
    /// How many runs (report files) the source read.
    pub runs: usize,
    /// Per series, the source's sample distribution where it has one.
    pub distributions: BTreeMap<String, Histogram<u64>>,
    /// Series the source describes but holds no sample of.
    pub no_data: BTreeSet<String>,
    /// The pages the source's reports measured (see [`crate::ingest::Source::pages`]): several means
    /// `metrics` are per page, `<metric>{<selector>}`.
    pub pages: Vec<Page>,
    /// Metrics the source's reader dropped for a value that failed validation → why.
    pub dropped: BTreeMap<String, String>,
}

/// A rule's current value, bound and in the unit its thresholds use: one per rule, or one per page
/// for a rule on a source of several pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The rule's index in the budget.
    pub rule: usize,
    /// The rule's metric id, or `<id>{<selector>}` for one page of several (`web.lcp{url:/cart}`).
    pub id: String,
    /// The rule's label, with the page's name for one page of several.
    pub label: String,
    /// The page measured, where the source says.
    pub page: Option<Page>,
    pub value: f64,
    pub unit: Unit,
    /// Each run's (or time slice's) value, in `unit`, where the source had several; empty otherwise.
    pub samples: Vec<f64>,
    /// How many runs (report files) the value comes from; 1 for derived metrics.
    pub runs: usize,
    /// For a quantile metric of a series with a distribution (`http_req_duration.p95`): the
    /// quantile (0.95) and the series' histogram, for the distribution-free quantile test.
    pub distribution: Option<(f64, Histogram<u64>)>,
}

/// One metric's judgement.
#[derive(Debug, Clone)]
pub struct MetricVerdict {
    /// The metric judged: the rule's id, or `<id>{<selector>}` for one page of several.
    pub id: String,
    /// The budget rule's metric id (`id` without a page selector the rule did not write).
    pub rule: String,
    /// The page's name (`/checkout`, `/checkout (desktop)`) where the source says which it measured.
    pub page: Option<String>,
    pub label: String,
    pub unit: Unit,
    pub value: f64,
    /// Each run's (or time slice's) value, as observed.
    pub samples: Vec<f64>,
    /// How many runs the value comes from.
    pub runs: usize,
    pub target: Option<Threshold>,
    pub critical: Option<Threshold>,
    /// The status from the thresholds alone.
    pub budget_status: Status,
    /// The final status: the thresholds' and the baseline comparison's, whichever is worse.
    pub status: Status,
    /// The comparison with the baseline history; `None` without history for this metric.
    pub baseline: Option<BaselineVerdict>,
    /// The waiver that accepted the baseline comparison's regression (or inconclusive change);
    /// `status` is then the thresholds' alone, and the comparison is kept as it was.
    pub waiver: Option<Waived>,
    /// A creep of the history's level, this run included; `None` when there is none.
    pub creep: Option<CreepVerdict>,
    /// 1-based line of the rule in the budget file.
    pub line: usize,
}

/// A metric's regression accepted by a waiver: the JSON verdict's `waiver` object (README,
/// "Waivers"), in this field order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waived {
    /// `budget`, `label` or `trailer`.
    pub origin: WaiverOrigin,
    /// Who or what waived: "budget line 40", "label `perfgate:accept` on pull request #12".
    pub by: String,
    pub reason: String,
    /// What the waiver accepts: "a change up to +40 %", "a value < 260ms", "any change".
    pub accepts: String,
    /// The waiver's last day (`YYYY-MM-DD`), for a budget waiver.
    pub expires: Option<String>,
    /// The waiver's line in the budget file, for a budget waiver.
    pub line: Option<usize>,
    /// The metric's status had it not been waived.
    pub status: Status,
}

/// A shift of the default branch's history that no single pull request showed (see
/// [`crate::stats::creep`]): the JSON verdict's `creep` object of a metric, in this field order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreepVerdict {
    /// The median of the history's runs before the shift, in the metric's unit.
    pub before: f64,
    /// The median of the runs since, this run included.
    pub after: f64,
    /// `(after − before) / |before|`; `None` when `before` is 0.
    pub change: Option<f64>,
    /// The shift's one-sided p-value, bounded over every place it could have started.
    pub p_value: f64,
    /// The allowed shift (0.10 = 10 %).
    pub slack: f64,
    /// History runs before the shift.
    pub runs_before: usize,
    /// The default branch's runs since the shift, oldest first, by their commit's first 12
    /// digits (`null` for a run recorded without a commit); this run comes after them.
    pub merges: Vec<Option<String>>,
    /// Whether this run completes the creep: the history without it shows none.
    pub new: bool,
}

/// A metric compared with its baseline history: the JSON verdict's `baseline` object, written by
/// [`crate::render::to_json`] and read back by [`crate::render::parse_verdict`] (which then checks
/// its numbers), in this field order; the template context shows it too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineVerdict {
    /// The history's central value, in the metric's unit.
    pub value: f64,
    /// Relative change of the current value versus `value` (+0.10 = 10 % higher); `None` when
    /// the baseline is 0.
    pub change: Option<f64>,
    /// The relative change the test judged, which the slack is held against (the runs' means, the
    /// geometric means or the quantiles the method compares; see [`crate::stats::Comparison`]);
    /// `None` without a test, or in a verdict written before it was recorded.
    #[serde(default)]
    pub tested_change: Option<f64>,
    /// Worse than the allowed slack AND significant (AND beyond `min_change`).
    pub regression: bool,
    /// Significant at the rule's confidence, the whole budget's metrics taken together.
    pub significant: bool,
    /// One-sided p-value of "the current run is worse".
    pub p_value: Option<f64>,
    /// History runs compared with.
    pub runs: usize,
    pub method: Method,
    pub call: Call,
    /// The history's coefficient of variation.
    pub cv: Option<f64>,
    /// The smallest worse change the test can call with this noise.
    pub detectable: Option<f64>,
    /// Samples per build that would let it call the rule's slack.
    pub runs_needed: Option<usize>,
    /// The allowed slack (0.10 = 10 %).
    pub slack: f64,
    /// The history's values, oldest first; for a comparison with the base's runs of the same
    /// job (`check --against`), the base's runs in the order they were paired.
    pub history: Vec<f64>,
    /// The commit each of `history`'s runs measured (full sha), or `None` for a run that recorded
    /// none; empty in a verdict written before it was recorded.
    #[serde(default)]
    pub history_commits: Vec<Option<String>>,
    /// The pairs of base and head runs compared (`check --against`); `None` for a comparison with
    /// the baseline history, and in a verdict written before it was recorded.
    #[serde(default)]
    pub pairs: Option<usize>,
    /// History runs left out because they were measured in another environment than this run
    /// (README "Like with like").
    #[serde(default, skip_serializing_if = "is_zero")]
    pub left_out: usize,
    /// How this run's environment differs from the newest history run measured otherwise
    /// (`cpu AMD EPYC 7763 → Intel Xeon 8370C`): those runs were left out (`left_out`), or, when
    /// fewer than 3 runs were measured alike, all runs were compared and a warning says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The gate's judgement.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub gate: String,
    /// The worst metric's status, and at least `warn` when there are warnings.
    pub verdict: Status,
    /// In budget order.
    pub metrics: Vec<MetricVerdict>,
    /// Runs in the baseline file; 0 when there is none.
    pub baseline_runs: usize,
    /// What the gate saw that is no metric's status: a stale baseline, a page that vanished.
    pub warnings: Vec<Warning>,
    /// Where the history came from and whose it is; set by the command that read it (`None` in a
    /// verdict written before it existed).
    pub baseline_source: Option<BaselineSource>,
    /// The sources judged against the base's runs of the same job (`check --against`), set by
    /// the command that read them; empty otherwise.
    pub against: Vec<AgainstSource>,
}

/// A source whose rules were judged pair by pair against the base's runs measured in the same
/// job (`check --against SOURCE=PATH`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgainstSource {
    /// The budget's source.
    pub source: String,
    /// The base's runs, as given (`ab/base-*.json`).
    pub path: String,
    /// The base's runs read, each paired with one of the head's.
    pub runs: usize,
}

/// Where the baseline history came from, and which branch's history it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineSource {
    /// `baselines/prod.json`, or a data branch's `git:perfgate-baselines:baselines/prod.json`.
    pub location: String,
    /// The branch whose history it is, when perfgate knows (a data branch keeps one per branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Whether `branch` is the repository's default branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<bool>,
    /// The pull request's base branch, when it has no history of its own and the default
    /// branch's was used instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_from: Option<String>,
}

/// Something the reviewer must know that no metric row shows; each makes the verdict a `warn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    /// One sentence naming what happened.
    pub message: String,
}

/// What a [`Warning`] is about, as the JSON verdict names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// A page the baseline's newest run measured is not in this run.
    MissingPage,
    /// The baseline's newest run is older than the gate's `max_age`.
    StaleBaseline,
    /// A metric's history was measured in another environment, and too few of its runs alike.
    UnlikeHistory,
    /// A budget waiver past its `expires` date: it no longer applies.
    ExpiredWaiver,
    /// A waiver that names no metric of the budget, or whose metric did not regress.
    UnusedWaiver,
    /// A waiver whose metric regressed by more than it accepts: the regression stands.
    ExceededWaiver,
    /// The history's level moved beyond the rule's `creep` over several merges.
    Creep,
}

impl WarningKind {
    pub fn name(self) -> &'static str {
        match self {
            WarningKind::MissingPage => "missing-page",
            WarningKind::StaleBaseline => "stale-baseline",
            WarningKind::UnlikeHistory => "unlike-history",
            WarningKind::ExpiredWaiver => "expired-waiver",
            WarningKind::UnusedWaiver => "unused-waiver",
            WarningKind::ExceededWaiver => "exceeded-waiver",
            WarningKind::Creep => "creep",
        }
    }

    /// A title for the reader: "Stale baseline".
    pub fn title(self) -> &'static str {
        match self {
            WarningKind::MissingPage => "Page missing from the run",
            WarningKind::StaleBaseline => "Stale baseline",
            WarningKind::UnlikeHistory => "History measured elsewhere",
            WarningKind::ExpiredWaiver => "Expired waiver",
            WarningKind::UnusedWaiver => "Unused waiver",
            WarningKind::ExceededWaiver => "Regression beyond its waiver",
            WarningKind::Creep => "Creep",
        }
    }

    pub fn from_name(name: &str) -> Option<WarningKind> {
        [
            WarningKind::MissingPage,
            WarningKind::StaleBaseline,
            WarningKind::UnlikeHistory,
            WarningKind::ExpiredWaiver,
            WarningKind::UnusedWaiver,
            WarningKind::ExceededWaiver,
            WarningKind::Creep,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// The verdict of metrics with these statuses and these warnings.
pub fn overall(statuses: impl Iterator<Item = Status>, warnings: &[Warning]) -> Status {
    let worst = statuses.max().unwrap_or(Status::Pass);
    if warnings.is_empty() {
        worst
    } else {
        worst.max(Status::Warn)
    }
}

impl MetricVerdict {
    /// True when lower values are better, as for its rule.
    pub fn lower_is_better(&self) -> bool {
        crate::budget::lower_is_better(self.target.as_ref(), self.critical.as_ref())
    }
}

impl Verdict {
    /// How many metrics have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.metrics.iter().filter(|m| m.status == status).count()
    }

    /// The metrics whose change the baseline comparison called inconclusive, in budget order,
    /// each with the samples per build that would let the test call the rule's slack (`None`
    /// where no number of samples within reach can: the builds alone vary by more).
    pub fn inconclusive(&self) -> Vec<(&str, Option<usize>)> {
        self.metrics
            .iter()
            .filter_map(|m| {
                let b = m.baseline.as_ref()?;
                (b.call == Call::Inconclusive).then_some((m.id.as_str(), b.runs_needed))
            })
            .collect()
    }

    /// How many metrics a waiver accepted.
    pub fn waived(&self) -> usize {
        self.metrics.iter().filter(|m| m.waiver.is_some()).count()
    }

    /// How many metrics regressed, waived or not.
    pub fn regressions(&self) -> usize {
        self.metrics
            .iter()
            .filter(|m| m.baseline.as_ref().is_some_and(|b| b.regression))
            .count()
    }
}

/// Why a metric a source does not produce is missing, when the source knows its series but holds
/// no sample of it: a metric described and never sampled, or a sub-metric (`metric{tag:value}`)
/// whose tag value no sample had. `None` for a name the source does not know.
fn no_data(metric: &str, src: &SourceMetrics) -> Option<String> {
    let (series, _stat) = metric.rsplit_once('.')?;
    if src.no_data.contains(series) {
        return Some(format!("describes `{series}` but holds no sample of it"));
    }
    let (base, tag) = series.strip_suffix('}')?.split_once('{')?;
    let known = src.no_data.contains(base) || has_series(&src.metrics, base);
    known.then(|| format!("holds no sample of `{base}` with the tag `{tag}`"))
}

/// Binds every rule of the budget to its current value: one per rule, or one per page for a rule
/// on a source of several pages. Errors list every rule that cannot be bound: a metric its source
/// does not produce (with the closest names), a page it did not measure, an expression that
/// fails, a unit that does not fit the thresholds.
pub fn observe(
    budget: &Budget,
    sources: &BTreeMap<String, SourceMetrics>,
) -> Result<Vec<Observed>, Vec<String>> {
    let mut problems = Vec::new();
    let mut observed = Vec::with_capacity(budget.rules.len());
    let plain: BTreeMap<String, Metrics> = sources
        .iter()
        .map(|(k, v)| (k.clone(), v.metrics.clone()))
        .collect();
    for (index, rule) in budget.rules.iter().enumerate() {
        let at = format!("`{}` (budget line {})", rule.id, rule.line);
        let bound = match &rule.input {
            RuleInput::Source { source, metric } => {
                let Some(src) = sources.get(source) else {
                    problems.push(format!("{at}: source `{source}` was not read"));
                    continue;
                };
                match bind_pages(source, metric, src) {
                    Ok(rows) => rows
                        .into_iter()
                        .map(|(key, page, expanded)| {
                            let m = src.metrics[&key];
                            let samples = src.samples.get(&key).cloned().unwrap_or_default();
                            let distribution = quantile_series(&key).and_then(|(series, q)| {
                                src.distributions.get(series).map(|h| (q, h.clone()))
                            });
                            let (id, label) = match (&page, expanded) {
                                (Some(p), true) => (
                                    format!("{}{{{}}}", rule.id, p.selector),
                                    format!("{} ({})", rule.label, p.name),
                                ),
                                _ => (rule.id.clone(), rule.label.clone()),
                            };
                            let runs = page.as_ref().map_or(src.runs, |p| p.runs);
                            (
                                id,
                                label,
                                page,
                                m.value,
                                m.unit,
                                samples,
                                runs,
                                distribution,
                            )
                        })
                        .collect::<Vec<_>>(),
                    Err(why) => {
                        problems.push(format!("{at}: {why}"));
                        continue;
                    }
                }
            }
            RuleInput::Derived(expr) => match expr.eval(&plain) {
                Ok(v) => vec![(
                    rule.id.clone(),
                    rule.label.clone(),
                    None,
                    v,
                    Unit::None,
                    Vec::new(),
                    1,
                    None,
                )],
                Err(e) => {
                    problems.push(format!("{at}: {e}"));
                    continue;
                }
            },
        };
        for (id, label, page, value, unit, samples, runs, distribution) in bound {
            match bind_unit(rule, value, unit, samples) {
                Ok((value, unit, samples)) => observed.push(Observed {
                    rule: index,
                    id,
                    label,
                    page,
                    value,
                    unit,
                    samples,
                    runs,
                    distribution,
                }),
                Err(e) => problems.push(format!("{at}: {e}")),
            }
        }
    }
    if problems.is_empty() {
        Ok(observed)
    } else {
        Err(problems)
    }
}

/// Where a rule's metric is in its source: `(key in the source's metrics, the page, whether the
/// rule was expanded to this page)` per row. A rule on a source of several pages judges every page
/// (one row each); `<metric>{<selector>}` judges one page, on a source of one page too. Every page
/// must have the metric: a page without it is an error naming the page, never a silent pass.
fn bind_pages(
    source: &str,
    metric: &str,
    src: &SourceMetrics,
) -> Result<Vec<(String, Option<Page>, bool)>, String> {
    let several = src.pages.len() > 1;
    let targeted = src.pages.iter().find_map(|p| {
        let base = metric.strip_suffix(&format!("{{{}}}", p.selector))?;
        Some((base, p))
    });
    if let Some((base, page)) = targeted {
        let key = if several { metric } else { base };
        if !src.metrics.contains_key(key) {
            return Err(format!(
                "source `{source}` has no metric `{base}` for page `{}`{}",
                page.name,
                closest_hint(key, src.metrics.keys().map(String::as_str))
            ));
        }
        return Ok(vec![(key.to_string(), Some(page.clone()), false)]);
    }
    if let Some((_, selector)) = page_selector(metric) {
        let pages: Vec<String> = src
            .pages
            .iter()
            .map(|p| format!("`{}`", p.selector))
            .collect();
        return Err(format!(
            "source `{source}` measured no page `{selector}` (its pages: {})",
            if pages.is_empty() {
                "none named".to_string()
            } else {
                pages.join(", ")
            }
        ));
    }
    if !several {
        if !src.metrics.contains_key(metric) {
            return Err(match (src.dropped.get(metric), no_data(metric, src)) {
                (Some(why), _) => format!("source `{source}` could not read `{metric}`: {why}"),
                (None, Some(why)) => format!("no data: source `{source}` {why}"),
                (None, None) => format!(
                    "source `{source}` has no metric `{metric}`{}",
                    closest_hint(metric, src.metrics.keys().map(String::as_str))
                ),
            });
        }
        return Ok(vec![(
            metric.to_string(),
            src.pages.first().cloned(),
            false,
        )]);
    }
    let key = |p: &Page| format!("{metric}{{{}}}", p.selector);
    let missing: Vec<&Page> = src
        .pages
        .iter()
        .filter(|p| !src.metrics.contains_key(&key(p)))
        .collect();
    if missing.len() == src.pages.len() {
        let first = &src.pages[0];
        let names = src
            .metrics
            .keys()
            .filter_map(|k| k.strip_suffix(&format!("{{{}}}", first.selector)));
        return Err(format!(
            "source `{source}` has no metric `{metric}`{}",
            closest_hint(metric, names)
        ));
    }
    if let Some(why) = src.dropped.get(metric).filter(|_| !missing.is_empty()) {
        return Err(format!(
            "source `{source}` could not read `{metric}`: {why}"
        ));
    }
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|p| format!("`{}`", p.name)).collect();
        return Err(format!(
            "source `{source}` has no metric `{metric}` for page {}, which its other pages have",
            names.join(", ")
        ));
    }
    Ok(src
        .pages
        .iter()
        .map(|p| (key(p), Some(p.clone()), true))
        .collect())
}

/// `lcp{url:/cart}` → (`lcp`, `url:/cart`): a metric id that names a page.
fn page_selector(metric: &str) -> Option<(&str, &str)> {
    let (base, rest) = metric.strip_suffix('}')?.rsplit_once('{')?;
    rest.starts_with("url:").then_some((base, rest))
}

/// `http_req_duration.p95` → (`http_req_duration`, 0.95): the quantile metrics the streamed
/// readers emit beside each series' distribution.
fn quantile_series(metric: &str) -> Option<(&str, f64)> {
    let (series, stat) = metric.rsplit_once('.')?;
    let q = match stat {
        "p50" => 0.5,
        "p90" => 0.9,
        "p95" => 0.95,
        "p99" => 0.99,
        _ => return None,
    };
    Some((series, q))
}

/// Applies a rule's declared unit to a plain number (and its samples) and checks the unit fits the
/// thresholds.
fn bind_unit(
    rule: &Rule,
    value: f64,
    unit: Unit,
    samples: Vec<f64>,
) -> Result<(f64, Unit, Vec<f64>), String> {
    let (value, unit, samples) = match rule.declared_unit {
        Some((declared, scale)) if unit == Unit::None => (
            value * scale,
            declared,
            samples.into_iter().map(|s| s * scale).collect(),
        ),
        Some((declared, _)) if declared != unit => {
            return Err(format!(
                "the metric is {} ({}), but the rule declares `unit` as {}; drop `unit`, the source already says",
                unit.kind_name(),
                unit.symbol(),
                declared.kind_name()
            ))
        }
        _ => (value, unit, samples),
    };
    if let Some(t) = rule.threshold_unit() {
        if !units_agree(unit, t) {
            let hint = if unit == Unit::None {
                format!(
                    "; if the number is {}, say so with `unit = \"{}\"` in the rule",
                    t.kind_name(),
                    t.symbol()
                )
            } else {
                String::new()
            };
            return Err(format!(
                "the metric is {}{} but the thresholds are {}{hint}",
                unit.kind_name(),
                if unit == Unit::None {
                    String::new()
                } else {
                    format!(" ({})", unit.symbol())
                },
                t.kind_name()
            ));
        }
    }
    Ok((value, unit, samples))
}

/// Judges every rule against its observed value (critical breached = fail, target missed = warn)
/// and against the base's runs paired with its own where `pairs` has them (`(base, head)` per
/// pair, parallel to `observed`; `check --against`), else where the baseline has history for
/// it, against that history; then applies the budget's waivers and the pull request's own
/// (`waivers`), as of `now`'s day (UTC).
///
/// `environment` is where this run was measured: each metric is compared with the history runs
/// measured alike where there are at least [`stats::MIN_HISTORY`] of them (README "Like with
/// like"); `None` compares with every run.
pub fn judge(
    budget: &Budget,
    observed: &[Observed],
    baseline: Option<&BaselineFile>,
    pairs: &[Option<Vec<(f64, f64)>>],
    environment: Option<&Environment>,
    now: SystemTime,
    waivers: &[Waiver],
) -> Verdict {
    let comparisons = compare_all(budget, observed, baseline, pairs, environment);
    let creeps = match baseline {
        Some(file) => creep_all(budget, observed, file),
        None => vec![None; observed.len()],
    };
    let mut metrics: Vec<MetricVerdict> = observed
        .iter()
        .zip(comparisons)
        .zip(creeps)
        .map(|((o, baseline), creep)| {
            let rule = &budget.rules[o.rule];
            let budget_status = status(rule, o.value);
            let from_baseline = match &baseline {
                Some(b) if b.regression => match rule.on_regression {
                    OnRegression::Fail => Status::Fail,
                    OnRegression::Warn => Status::Warn,
                },
                Some(b) if b.call == Call::Inconclusive => Status::Warn,
                _ => Status::Pass,
            };
            let from_creep = match &creep {
                Some(c) if c.new && rule.on_creep == OnCreep::Fail => Status::Fail,
                _ => Status::Pass,
            };
            MetricVerdict {
                id: o.id.clone(),
                rule: rule.id.clone(),
                page: o.page.as_ref().map(|p| p.name.clone()),
                label: o.label.clone(),
                unit: o.unit,
                value: o.value,
                samples: o.samples.clone(),
                runs: o.runs,
                target: rule.target.clone(),
                critical: rule.critical.clone(),
                budget_status,
                status: budget_status.max(from_baseline).max(from_creep),
                baseline,
                waiver: None,
                creep,
                line: rule.line,
            }
        })
        .collect();
    let mut warnings = Vec::new();
    if let Some(file) = baseline {
        warnings.extend(stale_baseline(budget, file, now));
        warnings.extend(missing_pages(budget, observed, file));
    }
    for (o, m) in observed.iter().zip(&metrics) {
        if let Some(c) = &m.creep {
            warnings.push(Warning {
                kind: WarningKind::Creep,
                message: creep_message(&m.label, c, budget.rules[o.rule].on_creep),
            });
        }
    }
    warnings.extend(waive(&mut metrics, budget, waivers, now));
    warnings.extend(unlike_history(&metrics));
    Verdict {
        gate: budget.gate.name.clone(),
        verdict: overall(metrics.iter().map(|m| m.status), &warnings),
        metrics,
        baseline_runs: baseline.map_or(0, |b| b.runs.len()),
        warnings,
        baseline_source: None,
        against: Vec::new(),
    }
}

/// Applies the budget's waivers, then the pull request's, to the metrics whose baseline
/// comparison made them worse (a regression, an inconclusive change): one within what its waiver
/// accepts gets the thresholds' status back and the waiver recorded beside its comparison. What
/// is wrong with a waiver is a warning: past its date (it no longer applies), naming no metric,
/// waiving nothing, or exceeded (the regression stands).
fn waive(
    metrics: &mut [MetricVerdict],
    budget: &Budget,
    waivers: &[Waiver],
    now: SystemTime,
) -> Vec<Warning> {
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    let today = stamp.get(..10).unwrap_or(&stamp);
    let mut warnings = Vec::new();
    let warn = |kind, message| Warning { kind, message };
    for w in budget.waivers.iter().chain(waivers) {
        let name = w
            .metric
            .as_ref()
            .map_or("every metric".to_string(), |m| format!("`{m}`"));
        let what = format!("the waiver of {name} ({})", w.by);
        if let Some(expires) = w.expires.as_deref().filter(|e| *e < today) {
            warnings.push(warn(
                WarningKind::ExpiredWaiver,
                format!("{what} expired on {expires} and no longer applies: remove it, or renew `expires` if the change is still accepted"),
            ));
            continue;
        }
        let applies = |m: &MetricVerdict| {
            w.metric
                .as_ref()
                .is_none_or(|id| *id == m.rule || *id == m.id)
        };
        if !metrics.iter().any(applies) {
            let id = w.metric.as_deref().unwrap_or_default();
            warnings.push(warn(
                WarningKind::UnusedWaiver,
                format!(
                    "{what} names no metric of the budget{}",
                    closest_hint(id, budget.rules.iter().map(|r| r.id.as_str()))
                ),
            ));
            continue;
        }
        let (mut used, mut exceeded) = (false, Vec::new());
        for m in metrics.iter_mut().filter(|m| applies(m)) {
            let Some(b) = &m.baseline else { continue };
            if !(b.regression || b.call == Call::Inconclusive) {
                continue;
            }
            used = true;
            if m.waiver.is_some() {
                continue;
            }
            let lower = m.lower_is_better();
            let accepted = match &w.accept {
                Accept::Any => true,
                Accept::Limit(t) => t.op.holds(m.value, t.value),
                Accept::Change(most) => b
                    .change
                    .map(|c| if lower { c } else { -c })
                    .is_some_and(|worse| worse <= *most),
            };
            if !accepted {
                exceeded.push(format!(
                    "`{}` is {} {} ({:+.1} % against the baseline)",
                    m.id,
                    (m.value * 1000.0).round() / 1000.0,
                    m.unit,
                    b.change.unwrap_or(0.0) * 100.0
                ));
                continue;
            }
            m.waiver = Some(Waived {
                origin: w.origin,
                by: w.by.clone(),
                reason: w.reason.clone(),
                accepts: w.accept.text(),
                expires: w.expires.clone(),
                line: w.line,
                status: m.status,
            });
            m.status = m.budget_status;
        }
        if !exceeded.is_empty() {
            warnings.push(warn(
                WarningKind::ExceededWaiver,
                format!(
                    "{what} accepts {}, but {}: the regression stands",
                    w.accept.text(),
                    exceeded.join(", ")
                ),
            ));
        } else if !used {
            warnings.push(warn(
                WarningKind::UnusedWaiver,
                format!("{what} waives nothing: {name} did not regress against the baseline in this run; remove the waiver once the baseline has taken the change in"),
            ));
        }
    }
    warnings
}

/// A warning when the baseline's newest run is older than the gate's `max_age`: the default
/// branch stopped recording runs, and the pull request is compared with an old state.
fn stale_baseline(budget: &Budget, file: &BaselineFile, now: SystemTime) -> Option<Warning> {
    let max_age = budget.gate.max_age?;
    let newest = file
        .runs
        .iter()
        .filter_map(|r| humantime::parse_rfc3339_weak(r.time.as_deref()?).ok())
        .max();
    let message = match newest {
        None => format!(
            "the baseline's runs record no time, so their age cannot be checked against `max_age` ({})",
            age_text(max_age)
        ),
        Some(newest) => {
            let age = now.duration_since(newest).ok()?;
            if age <= max_age {
                return None;
            }
            format!(
                "the baseline's newest run is {} old (recorded {}), older than `max_age` ({}): is `perfgate baseline update` still running on the default branch?",
                age_text(age),
                humantime::format_rfc3339_seconds(newest),
                age_text(max_age)
            )
        }
    };
    Some(Warning {
        kind: WarningKind::StaleBaseline,
        message,
    })
}

/// A warning per metric compared with a history mostly measured in another environment: fewer
/// than [`stats::MIN_HISTORY`] of its runs were measured alike, so all were compared, and the
/// change may be the machine's or the tool's rather than the code's.
fn unlike_history(metrics: &[MetricVerdict]) -> Vec<Warning> {
    metrics
        .iter()
        .filter_map(|m| {
            let b = m.baseline.as_ref()?;
            (b.left_out == 0 && !b.environment.is_empty()).then(|| Warning {
                kind: WarningKind::UnlikeHistory,
                message: format!(
                    "`{}` was measured in another environment than its history ({}): fewer than {} of its {} baseline runs were measured alike, so all were compared; the change may be the environment's",
                    m.label,
                    b.environment.join(", "),
                    stats::MIN_HISTORY,
                    b.runs
                ),
            })
        })
        .collect()
}

/// The history runs a metric of `sources` is compared with: those measured alike, where there
/// are at least [`stats::MIN_HISTORY`]; else all. With how many were left out, and how this run
/// differs from the newest run measured otherwise.
fn alike<T>(
    runs: Vec<(&BaselineRun, T)>,
    now: Option<&Environment>,
    sources: &[&str],
) -> (Vec<T>, usize, Vec<String>) {
    let Some(now) = now else {
        return (runs.into_iter().map(|(_, t)| t).collect(), 0, Vec::new());
    };
    let differences: Vec<Vec<String>> = runs
        .iter()
        .map(|(run, _)| {
            run.environment
                .as_ref()
                .map(|then| then.differences(now, sources))
                .unwrap_or_default()
        })
        .collect();
    let newest_unlike = differences
        .iter()
        .rev()
        .find(|d| !d.is_empty())
        .cloned()
        .unwrap_or_default();
    let like = differences.iter().filter(|d| d.is_empty()).count();
    if newest_unlike.is_empty() || like < stats::MIN_HISTORY {
        return (runs.into_iter().map(|(_, t)| t).collect(), 0, newest_unlike);
    }
    let left_out = runs.len() - like;
    let kept = runs
        .into_iter()
        .zip(&differences)
        .filter(|(_, d)| d.is_empty())
        .map(|((_, t), _)| t)
        .collect();
    (kept, left_out, newest_unlike)
}

/// "20 days", "5 hours", "12 minutes".
fn age_text(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = if secs >= 2 * 86_400 {
        (secs / 86_400, "day")
    } else if secs >= 2 * 3_600 {
        (secs / 3_600, "hour")
    } else {
        (secs / 60, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A warning per page the baseline's newest run measured for a rule and this run did not: a page
/// that vanished from the run (a renamed route, a URL dropped from the Lighthouse CI config) would
/// otherwise leave the gate without a word.
fn missing_pages(budget: &Budget, observed: &[Observed], file: &BaselineFile) -> Vec<Warning> {
    let Some(newest) = file.runs.last() else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    for (index, rule) in budget.rules.iter().enumerate() {
        let pages: BTreeSet<&str> = observed
            .iter()
            .filter(|o| o.rule == index)
            .filter_map(|o| Some(o.page.as_ref()?.selector.as_str()))
            .collect();
        if pages.is_empty() {
            continue;
        }
        let prefix = format!("{}{{", rule.id);
        for (id, m) in &newest.metrics {
            let selector = match id.strip_prefix(&prefix).and_then(|s| s.strip_suffix('}')) {
                Some(selector) => selector,
                None if *id == rule.id => match &m.page {
                    Some(page) => page.as_str(),
                    None => continue,
                },
                None => continue,
            };
            if !pages.contains(selector) {
                warnings.push(Warning {
                    kind: WarningKind::MissingPage,
                    message: format!(
                        "page `{}` of `{}` is in the baseline's newest run but not in this run",
                        page_name(selector),
                        rule.label
                    ),
                });
            }
        }
    }
    warnings
}

/// What a baseline run stored of the value `o` observes: under its own id, or, for a page, under
/// the id the page had when the source measured one page (the rule's id) or several
/// (`<rule id>{<page>}`).
fn stored_page<'a>(
    metrics: &'a BTreeMap<String, BaselineMetric>,
    rule: &Rule,
    o: &Observed,
) -> Option<&'a BaselineMetric> {
    if let Some(m) = metrics.get(&o.id) {
        return Some(m);
    }
    let page = o.page.as_ref()?;
    if o.id == rule.id {
        metrics.get(&format!("{}{{{}}}", rule.id, page.selector))
    } else {
        metrics
            .get(&rule.id)
            .filter(|m| m.page.as_deref() == Some(page.selector.as_str()))
    }
}

/// A page's name from its selector, as [`crate::ingest::Page::name`] gives it:
/// `url:/cart,form_factor:desktop` → `/cart (desktop)`.
pub fn page_name(selector: &str) -> String {
    let url = selector.strip_prefix("url:").unwrap_or(selector);
    match url.rsplit_once(",form_factor:") {
        Some((url, form)) => format!("{url} ({form})"),
        None => url.to_string(),
    }
}

/// Compares every observed value with the base's runs paired with its own, or else with its
/// history, and calls regressions for the budget as one family.
fn compare_all(
    budget: &Budget,
    observed: &[Observed],
    baseline: Option<&BaselineFile>,
    pairs: &[Option<Vec<(f64, f64)>>],
    environment: Option<&Environment>,
) -> Vec<Option<BaselineVerdict>> {
    let mut candidates = Vec::new();
    let mut slots = Vec::with_capacity(observed.len());
    for (index, o) in observed.iter().enumerate() {
        let rule = &budget.rules[o.rule];
        let alpha = 1.0 - rule.confidence;
        let compared = match (pairs.get(index).and_then(Option::as_ref), baseline) {
            (Some(pairs), _) => {
                let comparison =
                    stats::compare_paired(pairs, rule.lower_is_better(), alpha, rule.regression);
                Some(Compared {
                    against: ComparedRuns {
                        history: pairs.iter().map(|p| p.0).collect(),
                        commits: Vec::new(),
                        pairs: Some(comparison.runs),
                        left_out: 0,
                        unlike: Vec::new(),
                    },
                    comparison,
                })
            }
            (None, Some(file)) => compare_history(file, rule, o, alpha, environment),
            (None, None) => None,
        };
        let Some(Compared {
            comparison,
            against,
        }) = compared
        else {
            slots.push(None);
            continue;
        };
        slots.push(Some((candidates.len(), rule.regression, against)));
        candidates.push(Candidate {
            comparison,
            slack: rule.regression,
            alpha,
            min_change: rule.min_change,
            current: o.value,
        });
    }
    let decisions = stats::decide(&candidates);
    slots
        .into_iter()
        .map(|slot| {
            let (i, slack, against) = slot?;
            let c = &candidates[i].comparison;
            let d = &decisions[i];
            Some(BaselineVerdict {
                value: c.baseline,
                change: c.change,
                tested_change: c.tested_change,
                regression: d.regression,
                significant: d.significant,
                p_value: c.p_value,
                runs: c.runs,
                method: c.method,
                call: d.call,
                cv: c.cv,
                detectable: c.detectable,
                runs_needed: c.runs_needed,
                slack,
                history: against.history,
                history_commits: against.commits,
                pairs: against.pairs,
                left_out: against.left_out,
                environment: against.unlike,
            })
        })
        .collect()
}

/// The baseline runs that stored the value `o` observes, in its unit, oldest first (a run
/// measured in another unit, before a budget change, is not comparable).
fn stored_runs<'a>(
    file: &'a BaselineFile,
    rule: &'a Rule,
    o: &'a Observed,
) -> impl Iterator<Item = (&'a BaselineRun, &'a BaselineMetric)> {
    file.runs
        .iter()
        .filter_map(|r| Some((r, stored_page(&r.metrics, rule, o)?)))
        .filter(|(_, m)| m.unit == o.unit)
}

/// The commit a run measured; the baseline file is not checked for its commits, so one that is
/// no full sha counts as none.
fn commit_of(run: &BaselineRun) -> Option<&str> {
    run.commit.as_deref().filter(|c| is_commit_id(c))
}

/// A value's comparison with the runs it was judged against.
struct Compared {
    comparison: stats::Comparison,
    against: ComparedRuns,
}

/// The runs a value was judged against, as its [`BaselineVerdict`] records them.
struct ComparedRuns {
    /// The runs' values, oldest first (the base's, in pair order).
    history: Vec<f64>,
    /// The commit each history run measured, where the baseline recorded a full one.
    commits: Vec<Option<String>>,
    /// The pairs compared (`check --against`).
    pairs: Option<usize>,
    /// History runs left out for being measured in another environment.
    left_out: usize,
    /// How this run's environment differs from the newest history run measured otherwise.
    unlike: Vec<String>,
}

/// A value's comparison with its history in the baseline file; None when the file has no run of
/// it.
fn compare_history(
    file: &BaselineFile,
    rule: &Rule,
    o: &Observed,
    alpha: f64,
    environment: Option<&Environment>,
) -> Option<Compared> {
    let sources: Vec<&str> = match &rule.input {
        RuleInput::Source { source, .. } => vec![source.as_str()],
        RuleInput::Derived(expr) => expr.reads.keys().map(String::as_str).collect(),
    };
    let runs: Vec<_> = stored_runs(file, rule, o)
        .map(|(r, m)| (r, (commit_of(r), m)))
        .collect();
    let (kept, left_out, unlike) = alike(runs, environment, &sources);
    if kept.is_empty() {
        return None;
    }
    let (commits, stored): (Vec<Option<&str>>, Vec<&BaselineMetric>) = kept.into_iter().unzip();
    let histograms: Vec<_> = stored
        .iter()
        .map(|m| m.histogram().ok().flatten())
        .collect();
    let history: Vec<Observation> = stored
        .iter()
        .zip(&histograms)
        .map(|(m, h)| Observation {
            value: m.value,
            samples: &m.samples,
            histogram: h.as_ref(),
        })
        .collect();
    let current = Observation {
        value: o.value,
        samples: &o.samples,
        histogram: o.distribution.as_ref().map(|(_, h)| h),
    };
    let comparison = stats::compare_quantile(
        &history,
        &current,
        rule.lower_is_better(),
        alpha,
        rule.regression,
        o.distribution.as_ref().map(|(q, _)| *q),
    );
    Some(Compared {
        comparison,
        against: ComparedRuns {
            history: stored.iter().map(|m| m.value).collect(),
            commits: commits.into_iter().map(|c| c.map(str::to_owned)).collect(),
            pairs: None,
            left_out,
            unlike,
        },
    })
}

/// A metric's history for the creep test: each run's commit, and the values with the current
/// run's last.
type Series<'a> = (Vec<Option<&'a str>>, Vec<f64>);

/// Checks every observed value's history, with the value as its newest run, for creep (see
/// [`crate::stats::creep`]): the budget's metrics are one family, each tested once per merge.
fn creep_all(
    budget: &Budget,
    observed: &[Observed],
    file: &BaselineFile,
) -> Vec<Option<CreepVerdict>> {
    let series: Vec<Option<Series>> = observed
        .iter()
        .map(|o| {
            let rule = &budget.rules[o.rule];
            if rule.on_creep == OnCreep::Off {
                return None;
            }
            let (commits, mut values): (Vec<Option<&str>>, Vec<f64>) = stored_runs(file, rule, o)
                .map(|(r, m)| (commit_of(r), m.value))
                .unzip();
            values.push(o.value);
            (values.len() >= 2 * stats::creep::MIN_SEGMENT).then_some((commits, values))
        })
        .collect();
    let family = series.iter().flatten().count();
    observed
        .iter()
        .zip(series)
        .map(|(o, s)| {
            let (commits, values) = s?;
            let rule = &budget.rules[o.rule];
            let (lower, alpha) = (rule.lower_is_better(), 1.0 - rule.confidence);
            let shift = stats::creep::creep(&values, lower, alpha, rule.creep, family)?;
            let history = &values[..values.len() - 1];
            let before = stats::creep::creep(history, lower, alpha, rule.creep, family);
            Some(CreepVerdict {
                before: shift.before,
                after: shift.after,
                change: shift.change,
                p_value: shift.p_value,
                slack: rule.creep,
                runs_before: shift.at,
                merges: commits[shift.at..]
                    .iter()
                    .map(|c| c.map(|c| c[..12].to_string()))
                    .collect(),
                new: before.is_none(),
            })
        })
        .collect()
}

/// "`API P95` crept 34.2 % worse over merges 1a2b3c4d5e6f to 9f8e7d6c5b4a (9 runs) and this run,
/// against the 20 runs before them; 10 % allowed": short enough for a comment's cell (200
/// characters) with a long label; the JSON's `merges` lists them all.
fn creep_message(label: &str, c: &CreepVerdict, on_creep: OnCreep) -> String {
    let percent = |x: f64| format!("{} %", format!("{:.1}", x * 100.0).trim_end_matches(".0"));
    let how_much = match c.change {
        Some(change) => format!("{} worse", percent(change.abs())),
        None => "up from 0".to_string(),
    };
    let name = |m: Option<&Option<String>>| match m {
        Some(Some(commit)) => commit.clone(),
        _ => "(no commit)".to_string(),
    };
    let mut message = format!(
        "`{label}` crept {how_much} over merges {} to {} ({} runs) and this run, against the {} run{} before them; {} allowed",
        name(c.merges.first()),
        name(c.merges.last()),
        c.merges.len(),
        c.runs_before,
        if c.runs_before == 1 { "" } else { "s" },
        percent(c.slack),
    );
    if c.new {
        message.push_str(if on_creep == OnCreep::Fail {
            "; this run completes it, and `on_creep = \"fail\"`"
        } else {
            "; this run completes it"
        });
    }
    message
}

fn status(rule: &Rule, value: f64) -> Status {
    let breached = |t: &Option<Threshold>| t.as_ref().is_some_and(|t| !t.op.holds(value, t.value));
    if breached(&rule.critical) {
        Status::Fail
    } else if breached(&rule.target) {
        Status::Warn
    } else {
        Status::Pass
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::budget::parse_budget;
    use crate::model::Measurement;

    fn budget(rules: &str) -> Budget {
        let text = format!(
            "[gate]\nname = \"t\"\n[sources.api]\npath = \"a.json\"\n[sources.db]\nurl = \"http://127.0.0.1:9\"\n[sources.db.queries]\np95 = 'x'\n{rules}"
        );
        parse_budget(Path::new("t.toml"), &text).unwrap()
    }

    fn sources(api: &[(&str, Measurement)], db: &[(&str, f64)]) -> BTreeMap<String, SourceMetrics> {
        let mk = |pairs: Vec<(String, Measurement)>| SourceMetrics {
            metrics: pairs.into_iter().collect(),
            samples: BTreeMap::new(),
            runs: 1,
            distributions: BTreeMap::new(),
            no_data: BTreeSet::new(),
            pages: Vec::new(),
            dropped: BTreeMap::new(),
        };
        BTreeMap::from([
            (
                "api".into(),
                mk(api.iter().map(|(k, m)| (k.to_string(), *m)).collect()),
            ),
            (
                "db".into(),
                mk(db
                    .iter()
                    .map(|(k, v)| (k.to_string(), Measurement::count(*v)))
                    .collect()),
            ),
        ])
    }

    const P95: &str =
        "[[budget]]\nmetric = \"api.p95\"\ntarget = \"< 200ms\"\ncritical = \"300ms\"\n";

    fn check(
        rules: &str,
        api: &[(&str, Measurement)],
        db: &[(&str, f64)],
    ) -> Result<Verdict, Vec<String>> {
        let b = budget(rules);
        let o = observe(&b, &sources(api, db))?;
        Ok(judge(&b, &o, None, &[], None, SystemTime::UNIX_EPOCH, &[]))
    }

    #[test]
    fn two_levels_and_the_worst_status_wins() {
        let v = |ms| check(P95, &[("p95", Measurement::ms(ms))], &[]).unwrap();
        assert_eq!(v(150.0).verdict, Status::Pass);
        assert_eq!(v(200.0).verdict, Status::Warn, "200 is not < 200");
        assert_eq!(v(299.9).verdict, Status::Warn);
        assert_eq!(v(300.0).verdict, Status::Fail);
        let score = "[[budget]]\nmetric = \"api.score\"\ntarget = \"> 90\"\ncritical = \"70\"\n";
        let both = format!("{P95}{score}");
        let v = check(
            &both,
            &[
                ("p95", Measurement::ms(150.0)),
                ("score", Measurement::count(65.0)),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(v.metrics[1].status, Status::Fail);
        assert_eq!(v.verdict, Status::Fail);
        assert_eq!((v.count(Status::Pass), v.count(Status::Fail)), (1, 1));
    }

    #[test]
    fn a_missing_metric_is_an_error_with_the_closest_names() {
        let e = check(
            P95,
            &[
                ("p.95", Measurement::ms(1.0)),
                ("p99", Measurement::ms(1.0)),
            ],
            &[],
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e[0].contains("source `api` has no metric `p95`; closest: `p.95`, `p99`"),
            "{e:?}"
        );
    }

    #[test]
    fn a_rule_on_a_dropped_value_gives_the_reason_not_no_such_metric() {
        let b = budget(P95);
        let mut read = sources(&[("p99", Measurement::ms(1.0))], &[]);
        let why = "field `aggregate.summaries.p95`: -3 is negative, which this quantity cannot be";
        if let Some(api) = read.get_mut("api") {
            api.dropped.insert("p95".into(), why.into());
        }
        let e = observe(&b, &read).unwrap_err();
        assert_eq!(
            e,
            vec![format!(
                "`api.p95` (budget line 9): source `api` could not read `p95`: {why}"
            )]
        );
    }

    #[test]
    fn plain_numbers_take_the_declared_unit() {
        let rule = "[[budget]]\nmetric = \"db.p95\"\nunit = \"s\"\ntarget = \"< 50ms\"\ncritical = \"100ms\"\n";
        let v = check(rule, &[], &[("p95", 0.042)]).unwrap();
        assert_eq!((v.metrics[0].value, v.metrics[0].unit), (42.0, Unit::Ms));
        let undeclared = "[[budget]]\nmetric = \"db.p95\"\ntarget = \"< 50ms\"\n";
        let e = check(undeclared, &[], &[("p95", 42.0)]).unwrap_err();
        assert!(e[0].contains("the metric is a plain number but the thresholds are a duration; if the number is a duration, say so with `unit = \"ms\"`"), "{e:?}");
    }

    #[test]
    fn a_threshold_in_the_wrong_unit_is_an_error() {
        let rule = "[[budget]]\nmetric = \"api.size\"\ntarget = \"< 200ms\"\n";
        let e = check(rule, &[("size", Measurement::bytes(1.0))], &[]).unwrap_err();
        assert!(
            e[0].contains("the metric is a size (B) but the thresholds are a duration"),
            "{e:?}"
        );
    }

    #[test]
    fn derived_metrics_are_judged_like_any_other() {
        let rule = "[[budget]]\nmetric = \"error_rate\"\nexpr = \"api['bad'] / api['all'] * 100\"\nunit = \"%\"\ntarget = \"< 1%\"\ncritical = \"2%\"\n";
        let v = check(
            rule,
            &[
                ("bad", Measurement::count(3.0)),
                ("all", Measurement::count(200.0)),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            (v.metrics[0].value, v.metrics[0].unit, v.verdict),
            (1.5, Unit::Percent, Status::Warn)
        );
    }
}

/// Like with like, measured: a fleet of two machine types, one 25 % slower, as shared CI runners
/// are, with each build landing on either at random. Judged exactly as `check` judges, with and
/// without the runs' environments; README "Like with like" quotes these rates.
#[cfg(test)]
mod like_with_like {
    use std::path::Path;

    use super::*;
    use crate::baseline::{BaselineRun, Environment};
    use crate::budget::parse_budget;
    use crate::model::Measurement;

    /// SplitMix64 with Box–Muller normals, as tests/simulation.rs draws them.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }

        fn normal(&mut self) -> f64 {
            let (u, v) = (1.0 - self.next(), self.next());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }

        /// A timing of median `median` with coefficient of variation `cv` (lognormal).
        fn timing(&mut self, median: f64, cv: f64) -> f64 {
            median * ((1.0 + cv * cv).ln().sqrt() * self.normal()).exp()
        }
    }

    const HISTORY: usize = 20;
    const CV: f64 = 0.05;
    const SLOWER: f64 = 1.25;
    const TRIALS: usize = 4_000;

    fn machine(slow: bool) -> Environment {
        Environment {
            os: Some("linux".into()),
            cpu: Some(if slow { "old CPU" } else { "new CPU" }.into()),
            ..Environment::default()
        }
    }

    /// Rates over the trials: (regressions called, inconclusive calls).
    fn rates(change: f64, like_with_like: bool, seed: u64) -> (f64, f64) {
        let budget = parse_budget(
            Path::new("t.toml"),
            "[gate]\nname = \"t\"\n[sources.api]\npath = \"a.json\"\n[[budget]]\nmetric = \"api.p95\"\ncritical = \"< 10s\"\n",
        )
        .expect("budget");
        let mut rng = Rng(seed);
        let (mut regressions, mut inconclusive) = (0, 0);
        for _ in 0..TRIALS {
            let mut file = BaselineFile::new("t");
            for _ in 0..HISTORY {
                let slow = rng.next() < 0.5;
                let median = if slow { 100.0 * SLOWER } else { 100.0 };
                file.runs.push(BaselineRun {
                    commit: None,
                    time: None,
                    metrics: BTreeMap::from([(
                        "api.p95".to_string(),
                        BaselineMetric {
                            value: rng.timing(median, CV),
                            unit: Unit::Ms,
                            samples: Vec::new(),
                            histogram: None,
                            page: None,
                            histogram_scale: None,
                        },
                    )]),
                    environment: Some(machine(slow)),
                });
            }
            let slow = rng.next() < 0.5;
            let median = if slow { 100.0 * SLOWER } else { 100.0 } * (1.0 + change);
            let read = BTreeMap::from([(
                "api".to_string(),
                SourceMetrics {
                    metrics: BTreeMap::from([(
                        "p95".to_string(),
                        Measurement::ms(rng.timing(median, CV)),
                    )]),
                    samples: BTreeMap::new(),
                    runs: 1,
                    distributions: BTreeMap::new(),
                    no_data: BTreeSet::new(),
                    pages: Vec::new(),
                    dropped: BTreeMap::new(),
                },
            )]);
            let observed = observe(&budget, &read).expect("observe");
            let now = machine(slow);
            let verdict = judge(
                &budget,
                &observed,
                Some(&file),
                &[],
                like_with_like.then_some(&now),
                SystemTime::UNIX_EPOCH,
                &[],
            );
            let b = verdict.metrics[0].baseline.as_ref().expect("compared");
            regressions += usize::from(b.regression);
            inconclusive += usize::from(b.call == Call::Inconclusive);
        }
        (
            regressions as f64 / TRIALS as f64,
            inconclusive as f64 / TRIALS as f64,
        )
    }

    #[test]
    fn a_mixed_fleet_hides_regressions_unless_runs_are_compared_like_with_like() {
        let (false_alarms, flat_yellow) = rates(0.0, true, 1);
        let (mixed_false_alarms, mixed_flat_yellow) = rates(0.0, false, 1);
        let (caught, _) = rates(0.20, true, 2);
        let (mixed_caught, mixed_yellow) = rates(0.20, false, 2);
        let shown = format!(
            "unchanged: regressions {false_alarms:.3} (mixed {mixed_false_alarms:.3}), inconclusive {flat_yellow:.3} (mixed {mixed_flat_yellow:.3}); +20 %: caught {caught:.3} (mixed {mixed_caught:.3}, inconclusive {mixed_yellow:.3})"
        );
        eprintln!("{shown}");
        // The level holds either way; the mixed history is too wide to see a real regression.
        assert!(
            false_alarms <= 0.06 && mixed_false_alarms <= 0.06,
            "{shown}"
        );
        assert!(caught >= 0.88, "{shown}");
        assert!(mixed_caught <= 0.55, "{shown}");
        // An unchanged run on the slow machine, against a history of both, reads as "worse than
        // the slack, the noise cannot tell": a yellow for nothing, a quarter of the time.
        assert!(flat_yellow <= 0.02 && mixed_flat_yellow >= 0.20, "{shown}");
    }
}
