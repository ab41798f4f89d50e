//! Judge: budget rules × the metrics read × the baseline history → a [`Verdict`].
//!
//! The one rule: no I/O, no clock, no environment. [`observe`] binds every rule to its value (and
//! reports every rule it cannot bind, at once); [`judge`] then only compares numbers: each value
//! with its thresholds (target missed = warn, critical breached = fail) and, through [`stats`],
//! with its history, calling a regression only when it is both beyond the rule's slack and
//! significant for the budget as a whole.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::baseline::BaselineFile;
use crate::budget::{units_agree, Budget, OnRegression, Rule, RuleInput, Threshold};
use crate::derive::closest_hint;
use crate::model::{has_series, Metrics, Unit};
use crate::stats::{self, Call, Candidate, Method, Observation};
use hdrhistogram::Histogram;

/// pass < warn < fail: the verdict of a gate is its worst metric's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
    /// Metrics the source's reader dropped for a value that failed validation → why.
    pub dropped: BTreeMap<String, String>,
}

/// A rule's current value, bound and in the unit its thresholds use.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
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
    pub id: String,
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
    /// 1-based line of the rule in the budget file.
    pub line: usize,
}

/// A metric compared with its baseline history.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineVerdict {
    /// The history's central value, in the metric's unit.
    pub value: f64,
    /// Relative change of the current value versus `value` (+0.10 = 10 % higher); `None` when
    /// the baseline is 0.
    pub change: Option<f64>,
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
    /// The history's values, oldest first.
    pub history: Vec<f64>,
}

/// The gate's judgement.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub gate: String,
    pub verdict: Status,
    /// In budget order.
    pub metrics: Vec<MetricVerdict>,
    /// Runs in the baseline file; 0 when there is none.
    pub baseline_runs: usize,
}

impl Verdict {
    /// How many metrics have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.metrics.iter().filter(|m| m.status == status).count()
    }

    /// How many metrics regressed.
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

/// Binds every rule of the budget to its current value. Errors list every rule that cannot be bound:
/// a metric its source does not produce (with the closest names), an expression that fails, a unit
/// that does not fit the thresholds.
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
    for rule in &budget.rules {
        let at = format!("`{}` (budget line {})", rule.id, rule.line);
        let mut distribution = None;
        let (value, unit, samples, runs) = match &rule.input {
            RuleInput::Source { source, metric } => {
                let Some(src) = sources.get(source) else {
                    problems.push(format!("{at}: source `{source}` was not read"));
                    continue;
                };
                let Some(m) = src.metrics.get(metric) else {
                    problems.push(match (src.dropped.get(metric), no_data(metric, src)) {
                        (Some(why), _) => {
                            format!("{at}: source `{source}` could not read `{metric}`: {why}")
                        }
                        (None, Some(why)) => format!("{at}: no data: source `{source}` {why}"),
                        (None, None) => format!(
                            "{at}: source `{source}` has no metric `{metric}`{}",
                            closest_hint(metric, src.metrics.keys().map(String::as_str))
                        ),
                    });
                    continue;
                };
                let samples = src.samples.get(metric).cloned().unwrap_or_default();
                distribution = quantile_series(metric)
                    .and_then(|(series, q)| src.distributions.get(series).map(|h| (q, h.clone())));
                (m.value, m.unit, samples, src.runs)
            }
            RuleInput::Derived(expr) => match expr.eval(&plain) {
                Ok(v) => (v, Unit::None, Vec::new(), 1),
                Err(e) => {
                    problems.push(format!("{at}: {e}"));
                    continue;
                }
            },
        };
        match bind_unit(rule, value, unit, samples, runs) {
            Ok(o) => observed.push(Observed { distribution, ..o }),
            Err(e) => problems.push(format!("{at}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(observed)
    } else {
        Err(problems)
    }
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

/// Applies a rule's declared unit to a plain number and checks the unit fits the thresholds.
fn bind_unit(
    rule: &Rule,
    value: f64,
    unit: Unit,
    samples: Vec<f64>,
    runs: usize,
) -> Result<Observed, String> {
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
    Ok(Observed {
        value,
        unit,
        samples,
        runs,
        distribution: None,
    })
}

/// Judges every rule against its observed value (critical breached = fail, target missed = warn)
/// and, where the baseline has history for it, against that history.
pub fn judge(budget: &Budget, observed: &[Observed], baseline: Option<&BaselineFile>) -> Verdict {
    let comparisons = compare_all(budget, observed, baseline);
    let metrics: Vec<MetricVerdict> = budget
        .rules
        .iter()
        .zip(observed)
        .zip(comparisons)
        .map(|((rule, o), baseline)| {
            let budget_status = status(rule, o.value);
            let from_baseline = match &baseline {
                Some(b) if b.regression => match rule.on_regression {
                    OnRegression::Fail => Status::Fail,
                    OnRegression::Warn => Status::Warn,
                },
                Some(b) if b.call == Call::Inconclusive => Status::Warn,
                _ => Status::Pass,
            };
            MetricVerdict {
                id: rule.id.clone(),
                label: rule.label.clone(),
                unit: o.unit,
                value: o.value,
                samples: o.samples.clone(),
                runs: o.runs,
                target: rule.target.clone(),
                critical: rule.critical.clone(),
                budget_status,
                status: budget_status.max(from_baseline),
                baseline,
                line: rule.line,
            }
        })
        .collect();
    Verdict {
        gate: budget.gate.name.clone(),
        verdict: metrics
            .iter()
            .map(|m| m.status)
            .max()
            .unwrap_or(Status::Pass),
        metrics,
        baseline_runs: baseline.map_or(0, |b| b.runs.len()),
    }
}

/// Compares every rule with its history and calls regressions for the budget as one family.
fn compare_all(
    budget: &Budget,
    observed: &[Observed],
    baseline: Option<&BaselineFile>,
) -> Vec<Option<BaselineVerdict>> {
    let Some(file) = baseline else {
        return vec![None; observed.len()];
    };
    let mut candidates = Vec::new();
    let mut slots = Vec::with_capacity(observed.len());
    for (rule, o) in budget.rules.iter().zip(observed) {
        let stored: Vec<_> = file.history(&rule.id, o.unit).collect();
        if stored.is_empty() {
            slots.push(None);
            continue;
        }
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
        let alpha = 1.0 - rule.confidence;
        let comparison = stats::compare_quantile(
            &history,
            &current,
            rule.lower_is_better(),
            alpha,
            rule.regression,
            o.distribution.as_ref().map(|(q, _)| *q),
        );
        slots.push(Some((
            candidates.len(),
            stored.iter().map(|m| m.value).collect::<Vec<f64>>(),
            rule.regression,
        )));
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
            let (i, history, slack) = slot?;
            let c = &candidates[i].comparison;
            let d = &decisions[i];
            Some(BaselineVerdict {
                value: c.baseline,
                change: c.change,
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
                history,
            })
        })
        .collect()
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
        Ok(judge(&b, &o, None))
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
