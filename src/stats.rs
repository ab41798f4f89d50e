//! Regression statistics: is the current run of a metric worse than its history, by more than the
//! budget allows, beyond what the noise explains? Pure functions over numbers — no I/O, no clock —
//! and degenerate data (too few runs, zero spread, zero or negative values) is a [`Comparison`]
//! that says which method it fell back to, never a panic or NaN (a relative change is infinite
//! only against a baseline near 0).
//!
//! # The rule
//!
//! A metric regressed when, at once (criterion's rule, made to fail CI):
//! 1. it is worse than the baseline by more than the allowed slack (the budget's `regression`);
//! 2. the difference is significant: the one-sided p-value of "the current run is worse" is small
//!    enough after the Holm–Bonferroni step-down over every metric of the budget ([`decide`]), so
//!    that a pull request where nothing changed is flagged at most `1 - confidence` of the time,
//!    however many metrics the budget has (Holm, S. (1979) "A simple sequentially rejective
//!    multiple test procedure", Scand. J. Statist. 6:65–70);
//! 3. where the rule sets `min_change`, the absolute difference is at least that floor.
//!
//! With fewer than [`MIN_HISTORY`] runs there is no spread to test against: the threshold alone
//! decides ([`Method::TooLittleHistory`], [`Call::ThresholdOnly`]). A change worse than the slack
//! that is not significant while the slack is smaller than the smallest change the test can show
//! at this noise is [`Call::Inconclusive`]: the budget asks for more than the data can tell.
//!
//! # Methods, strongest first (the first one the data allows is used)
//!
//! - [`Method::HistogramQuantile`] — the metric is a quantile (p95 …), the current run and at
//!   least [`MIN_HISTORY`] history runs carry latency histograms ([`compare_quantile`]). The
//!   history's histograms are pooled and their quantile `x_ref` is the reference; each run counts
//!   its observations on the worse side of `x_ref`. Under "no change" the current run's count is
//!   binomial with the history's proportion π (the order-statistic argument behind Conover's
//!   distribution-free quantile test and confidence interval: Conover, W. J. (1999) *Practical
//!   Nonparametric Statistics*, 3rd ed., §3.2). Requests of one run are not independent draws
//!   across runs (each CI job has its own machine), so the binomial variance is inflated by the
//!   dispersion φ the history's runs show between them (quasi-binomial; McCullagh, P. & Nelder,
//!   J. A. (1989) *Generalized Linear Models*, 2nd ed., §4.5.2), φ ≥ 1, estimated with n − 1
//!   degrees of freedom, hence a Student t reference:
//!   `z = (K_c − N_c·π) / sqrt(φ·N_c·π(1−π)·(1 + N_c/N_h))`, `p = P(T_{n−1} > z)`.
//!   `detectable`: the current proportion that would just be significant,
//!   `π* = π + t_{1−α,n−1}·sd/N_c`, read back as a value through the pooled histogram
//!   (`x* =` its `1−π*` quantile) and expressed as the scale change `x_ref/x* − 1` that moves that
//!   much mass past `x_ref`. `runs_needed` is not applicable (None): the run already holds every
//!   request.
//! - [`Method::RunMeans`] — the current run carries at least 2 samples (several Lighthouse runs,
//!   hyperfine times, Artillery's 10-second periods) and at least [`MIN_HISTORY`] history runs
//!   carry samples. The samples of one build are not independent draws: a build lands on a faster
//!   or slower runner, or beside a noisy neighbour, and all its samples move together. The model
//!   is the one-way random-effects model on the analysis scale (logs; raw values when any value
//!   is ≤ 0), `y_ij = μ + b_i + e_ij` with the build's effect `b_i ~ N(0, σ_b²)` and the
//!   sample's noise `e_ij ~ N(0, σ_w²)` (Searle, S. R., Casella, G. & McCulloch, C. E. (1992)
//!   *Variance Components*, ch. 3, the one-way classification). A test that pools the history's
//!   samples as independent (Welch's t, Mann–Whitney) divides by `σ_w²/n` only and reads any
//!   build's luck as significant: with 15 runs, σ_b = 5 %, σ_w = 6 % and 5 samples per build,
//!   those tests at 5 % (perfgate's rule before this one) called 19 % of unchanged builds
//!   significant, and 25 % of unchanged eight-metric pull requests regressed
//!   (`tests/simulation.rs`' model). So
//!   the unit of comparison is the build: the current run's mean of samples `ȳ_c` (m_c samples)
//!   against the mean `ȳ` of the k history runs' means `ȳ_i` (n_i samples each).
//!   `Var(ȳ_c − ȳ) = σ_b² + σ_w²/m_c + (σ_b² + σ_w²/m̃)/k`, m̃ = the harmonic mean of the n_i, and
//!   the run means' sample variance `s_R²` (k − 1 df) estimates `σ_b² + σ_w²/m̃` without
//!   bias, so `v = (1 + 1/k)·s_R² + (1/m_c − 1/m̃)·MS_w`, where `MS_w` = the pooled within-run
//!   variance `ΣΣ(y_ij − ȳ_i)²/(N − k)` (the ANOVA's within mean square, N − k df).
//!   When every run has m_c samples (one tool, one configuration) the second term is 0 and
//!   `t = (ȳ_c − ȳ)/sqrt(v)` is exactly Student t with k − 1 df — the prediction interval
//!   below, applied to run means, whatever σ_b (0 included); otherwise the df are
//!   Satterthwaite's for the combination of the two mean squares (Satterthwaite, F. E. (1946)
//!   Biometrics Bulletin 2:110–114). When the current run has more samples than the history's
//!   (the second term negative) `v` is floored at `MS_w·(1/m_c + 1/(k·m̃))`, its value at
//!   σ_b = 0 (df N − k): the usual truncation of a negative variance-component estimate at 0,
//!   so that the test is never surer than if builds did not vary at all. Without a history run
//!   of two samples `MS_w` is unknown and the second term is dropped (conservative: the current
//!   run counts as noisy as one sample).
//!   `p = P(T_df > t)`. This is used whether or not the history shows between-build variance:
//!   the statistic needs no pretest, and pretesting (one-way ANOVA `F = MS_between/MS_w`, pool
//!   the samples when F is not significant) distorts the level when the F-test misses a
//!   moderate σ_b (Bancroft, T. A. (1944) Ann. Math. Statist. 15:190–204): with 15 runs the
//!   pretest at 0.05 left 7.0 % and at 0.25 left 5.4 % of unchanged builds significant at
//!   σ_b = 2 %, σ_w = 6 %, where this rule stays at its level (4.9–5.2 % ± 0.1 in 40 000
//!   trials for σ_b from 0 to 5 %; conservative, 2.6 % at σ_b = 0 with 6 current samples
//!   against runs of 3, where the floor applies). Against the pooled tests it loses little when
//!   σ_b = 0: its variance is the same `σ_w²/m·(1 + 1/k)`, estimated with k − 1 df (the
//!   simulation's i.i.d. Lighthouse scenario, +15 % at CV 8 %, is detected 83.8 % of the time
//!   against 82.0 % with them: Welch's df are bound by the current run's few samples).
//!   Ranks no longer replace the mean on ties or far-out samples: quantised samples do not bias
//!   a mean of logs, and an outlying sample moves its run's mean but not the run's value (its
//!   median), which the slack is judged on, so it alone cannot make a regression.
//!   `detectable = exp(t_{1−α,df}·sqrt(v)) − 1`. `runs_needed` is the m (samples per build,
//!   history and current alike) for which `t_{1−α,df}·sqrt((1 + 1/k)·(σ̂_b² + MS_w/m))` reaches
//!   the slack's shift `ln(1 + slack)`, with the test's own estimate `σ̂_b² = s_R² − MS_w/m̃`
//!   (so that it agrees with `detectable` at m = m̃): `m = ⌈MS_w / (ln(1 + slack)²/(t²·(1 + 1/k))
//!   − σ̂_b²)⌉`; None when the denominator is ≤ 0 — the builds alone vary by more than the
//!   slack, and no number of samples per build can show it — or past [`MAX_RUNS_NEEDED`].
//! - [`Method::Deterministic`] — the history's values do not vary (bundle sizes): any worse value
//!   is certain (p = 0), any other is not (p = 1); the slack decides. `detectable` = 0,
//!   `runs_needed` = 1.
//! - [`Method::PredictionInterval`] — one current value against n ≥ [`MIN_HISTORY`] run values:
//!   the Student t prediction interval for one new observation of a normal sample (Hahn, G. J. &
//!   Meeker, W. Q. (1991) *Statistical Intervals*, §4.7), on logs (raw when any value ≤ 0):
//!   `t = (y − ȳ)/(s·sqrt(1 + 1/n))`, `p = P(T_{n−1} > t)`. Exact under lognormal noise.
//!   `detectable = exp(t_{1−α,n−1}·s·sqrt(1 + 1/n)) − 1`; `runs_needed` is the number of samples
//!   per build (history and current alike, each build's value their mean) that brings it to the
//!   slack: `m = ⌈(t_{1−α,n−1}·s·sqrt(1 + 1/n) / ln(1 + slack))²⌉` — optimistic when part of the
//!   noise is between builds rather than between samples, which averaging does not remove.
//! - [`Method::PairedRuns`] — not against a history but against the base's runs measured in the
//!   same CI job, interleaved with the head's (A B A B …: `check --against`, [`compare_paired`]).
//!   Runners differ by up to ~25 % between machines but by well under 1 % within one job, and the
//!   job's machine, and the drift of its speed over the job, move both runs of a pair alike: the
//!   pair's log ratio `d_i = ln(head_i) − ln(base_i)` removes them. The test is Student's paired t
//!   on those ratios, `t = d̄/(s_d/√n)`, `p = P(T_{n−1} > t)` — exact when the runs' own noise is
//!   lognormal (a pair's log ratio is then normal) whatever the job's machine and the drift
//!   between pairs (Student (1908); the paired design: Box, G. E. P., Hunter, J. S. & Hunter,
//!   W. G. (2005) *Statistics for Experimenters*, 2nd ed., §3.1). Wilcoxon's signed-rank test
//!   on the same ratios keeps its level without the lognormal assumption, but in
//!   `tests/simulation.rs`' A/B scenarios (100 000 trials each, `benches/simulate.rs`) it
//!   detects less (+10 % at 5.7 % run noise, 10 pairs: 93.7 % against the t's 95.6 %; at 8 %:
//!   73.8 % against 78.3 %) and is more conservative (3.5 % false alarms against 4.2 %); with
//!   one run in ten slowed 30 % by a noisy neighbour the two are level (65.4 % and 65.9 %, both
//!   below 5 % false alarms). Its p-values come in steps of 1/1024 at 10 pairs, and it gives no
//!   `detectable` or `runs_needed`. A pair hit by a noisy neighbour moves the t's mean, but the
//!   slack is held against the runs' medians, so one such pair alone cannot make a regression.
//!   `detectable = exp(t_{1−α,n−1}·s_d/√n) − 1`; `runs_needed` is the number of
//!   pairs whose `t_{1−α,n−1}·s_d/√n` reaches the slack's shift (None past
//!   [`MAX_RUNS_NEEDED`]); `cv` is the noise of the pairs' ratios `sqrt(exp(s_d²) − 1)`. Fewer
//!   than [`MIN_PAIRS`] pairs: the slack alone decides ([`Method::TooLittleHistory`]); raw
//!   differences when any value is ≤ 0; pairs whose ratios do not vary are
//!   [`Method::Deterministic`].
//!
//! For a metric where higher is better every statistic is computed on the negated (log) values,
//! so "worse" is always the upper tail, and a relative shift `d` on the log scale is the worse
//! change `1 − exp(−d)`. On the raw scale a shift is relative to the history's mean magnitude.
//!
//! # Creep
//!
//! [`creep`] asks the history itself, with the current run as its newest value, whether its level
//! shifted for good over several merges by more than the rule's `creep`: the changes each run
//! brought may all be inside the slack and the noise, and add up beyond it.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::model::median;

pub mod creep;

/// Fewer history runs than this and the threshold alone decides. With 2 runs the t quantile has
/// one degree of freedom (`t_{0.95,1}` = 6.31), so the interval is too wide to call anything,
/// and the spread of 2 values says almost nothing about the noise.
pub const MIN_HISTORY: usize = 3;

/// Fewer interleaved pairs than this and the slack alone decides, as with [`MIN_HISTORY`]: two
/// pairs leave the paired t one degree of freedom.
pub const MIN_PAIRS: usize = 3;

/// `runs_needed` beyond this is reported as not reachable (None): no CI budget runs a build a
/// thousand times, and past it the answer is dominated by the history's own uncertainty.
pub const MAX_RUNS_NEEDED: usize = 1000;

/// One run of a metric as the statistics see it.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The run's representative value (its median when the run has several samples).
    pub value: f64,
    /// The run's own samples (several Lighthouse runs, Artillery's intermediate periods, hyperfine
    /// times); empty when the source gives one value.
    pub samples: &'a [f64],
    /// The run's latency distribution, when the source carries one (any integer unit: only ratios
    /// of its values are used).
    pub histogram: Option<&'a Histogram<u64>>,
}

/// The test a [`Comparison`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Fewer than [`MIN_HISTORY`] runs: no test, the threshold alone decides.
    TooLittleHistory,
    /// The history's values do not vary: any worse value is certain.
    Deterministic,
    /// One value against the history's Student t prediction interval.
    PredictionInterval,
    /// The current run's mean of samples against the history's run means, the variance
    /// between builds included.
    RunMeans,
    /// A quantile compared through the histograms' counts.
    HistogramQuantile,
    /// The head's runs against the base's runs of the same job, pair by pair: a paired Student t
    /// on the pairs' log ratios ([`compare_paired`]).
    PairedRuns,
}

/// A metric's current run against its history.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The test used.
    pub method: Method,
    /// History runs used.
    pub runs: usize,
    /// The history's central value: the median of the runs' values (0 without history).
    pub baseline: f64,
    /// `(current − baseline) / |baseline|`; None when the baseline is 0, infinite when the ratio
    /// overflows (a baseline near 0).
    pub change: Option<f64>,
    /// The relative change the test judged: the current run against the history's reference on
    /// the test's own scale (geometric means on logs, the
    /// runs' means of samples for [`Method::RunMeans`], the current quantile against the pooled
    /// history's for [`Method::HistogramQuantile`]). It differs from `change` when the history's
    /// median is not its mean, or the value judged by the thresholds is not the samples' mean.
    /// None without a test ([`Method::TooLittleHistory`]). The slack is held against `change`, the
    /// change of the values the thresholds judge: a jump of those beyond the slack that the test
    /// does not confirm stays a warning ([`Call::Inconclusive`]) rather than a pass.
    pub tested_change: Option<f64>,
    /// `change` in the worse direction: positive = worse, whatever the metric's direction.
    pub worse: Option<f64>,
    /// One-sided p-value of "the current run is worse"; None for [`Method::TooLittleHistory`].
    pub p_value: Option<f64>,
    /// Coefficient of variation of the history's run values (sample sd / |mean|).
    pub cv: Option<f64>,
    /// The smallest worse relative change this test can call at `alpha` with the data at hand.
    pub detectable: Option<f64>,
    /// Samples per build that would let the test call a change of `slack` (None: not reachable
    /// within [`MAX_RUNS_NEEDED`], or not applicable).
    pub runs_needed: Option<usize>,
}

/// Compares a metric's current run with its history; `alpha` = 1 − confidence, `slack` = the
/// allowed worse relative change (0.10 = 10 %). Quantile metrics with histograms go through
/// [`compare_quantile`].
pub fn compare(
    history: &[Observation],
    current: &Observation,
    lower_is_better: bool,
    alpha: f64,
    slack: f64,
) -> Comparison {
    compare_quantile(history, current, lower_is_better, alpha, slack, None)
}

/// As [`compare`], for a metric that is the `quantile` (0 < q ≤ 1, e.g. 0.95 for a p95) of a
/// distribution: when the current run and at least [`MIN_HISTORY`] history runs carry
/// histograms, the comparison uses their counts ([`Method::HistogramQuantile`]). Non-finite
/// values and samples are left out here, once: the tests inside take only finite values.
pub fn compare_quantile(
    history: &[Observation],
    current: &Observation,
    lower_is_better: bool,
    alpha: f64,
    slack: f64,
    quantile: Option<f64>,
) -> Comparison {
    let values = Sample::finite(history.iter().map(|o| o.value));
    let baseline = median(values.values()).unwrap_or(0.0);
    let orient = if lower_is_better { 1.0 } else { -1.0 };
    let change = (baseline != 0.0 && current.value.is_finite())
        .then(|| (current.value - baseline) / baseline.abs());
    let mut c = Comparison {
        method: Method::TooLittleHistory,
        runs: values.len(),
        baseline,
        change,
        tested_change: None,
        worse: change.map(|x| orient * x),
        p_value: None,
        cv: values.cv(),
        detectable: None,
        runs_needed: None,
    };
    let testable = current.value.is_finite() && alpha > 0.0 && alpha < 1.0;
    let Some(values) = values.at_least::<MIN_HISTORY>().filter(|_| testable) else {
        return c;
    };
    let dir = Direction {
        orient,
        lower_is_better,
        alpha,
        slack,
    };
    let test = quantile
        .and_then(|q| histogram_quantile(history, current, q, &dir))
        .or_else(|| Runs::new(history, current).map(|runs| run_means(&runs, &dir)))
        .unwrap_or_else(|| prediction_interval(&values, current.value, &dir));
    c.method = test.method;
    c.tested_change = test.change;
    c.runs = test.runs.unwrap_or(values.len());
    c.p_value = Some(test.p);
    c.detectable = test.detectable;
    c.runs_needed = test.runs_needed;
    c
}

/// The head's runs against the base's runs of the same job, pair by pair
/// ([`Method::PairedRuns`], module doc): `pairs` is `(base, head)` per pair, in the order they
/// ran. A pair with a value that is not finite is left out, both its runs. The comparison's
/// `baseline` is the base runs' median, `change` the head runs' median against it (the values
/// the thresholds and the slack judge), `runs` the pairs used and `runs_needed` the pairs that
/// would show the slack.
pub fn compare_paired(
    pairs: &[(f64, f64)],
    lower_is_better: bool,
    alpha: f64,
    slack: f64,
) -> Comparison {
    let pairs: Vec<(f64, f64)> = pairs
        .iter()
        .copied()
        .filter(|(b, h)| b.is_finite() && h.is_finite())
        .collect();
    let base = Sample::finite(pairs.iter().map(|p| p.0));
    let head: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let baseline = median(base.values()).unwrap_or(0.0);
    let current = median(&head);
    let orient = if lower_is_better { 1.0 } else { -1.0 };
    let change = current
        .filter(|_| baseline != 0.0)
        .map(|c| (c - baseline) / baseline.abs())
        .filter(|c| c.is_finite());
    let log = pairs.iter().all(|&(b, h)| b > 0.0 && h > 0.0);
    let scale = Scale { orient, log };
    let diffs = Sample::finite(pairs.iter().map(|&(b, h)| scale.apply(h) - scale.apply(b)));
    let center = base.mean();
    let (mean, var) = diffs.mean_var();
    let cv = if log {
        Some(var.exp_m1().sqrt())
    } else {
        (center != 0.0).then(|| var.sqrt() / center.abs())
    }
    .filter(|cv| cv.is_finite() && diffs.len() >= 2);
    let mut c = Comparison {
        method: Method::TooLittleHistory,
        runs: pairs.len(),
        baseline,
        change,
        tested_change: None,
        worse: change.map(|x| orient * x),
        p_value: None,
        cv,
        detectable: None,
        runs_needed: None,
    };
    let testable = alpha > 0.0 && alpha < 1.0 && diffs.len() == pairs.len();
    if pairs.len() < MIN_PAIRS || !testable {
        return c;
    }
    c.tested_change = scale.relative_change(mean, center);
    // Equal ratios are tested as equal, not through their logarithms' variance: ln(220) −
    // ln(200) and ln(110) − ln(100) differ in the last bit.
    let constant = if log {
        pairs.windows(2).all(|w| w[0].1 / w[0].0 == w[1].1 / w[1].0)
    } else {
        diffs.values().windows(2).all(|w| w[0] == w[1])
    };
    let diffs = diffs.values();
    if constant || var <= 0.0 || !var.is_finite() {
        let test = deterministic(mean, c.tested_change);
        c.method = test.method;
        c.p_value = Some(test.p);
        c.detectable = test.detectable;
        c.runs_needed = test.runs_needed;
        return c;
    }
    let dir = Direction {
        orient,
        lower_is_better,
        alpha,
        slack,
    };
    let n = diffs.len() as f64;
    let sd = var.sqrt();
    let margin = |n: f64| t_quantile(1.0 - alpha, n - 1.0).map(|q| q * sd / n.sqrt());
    c.method = Method::PairedRuns;
    c.p_value = Some(t_sf(mean / (sd / n.sqrt()), n - 1.0));
    c.detectable = margin(n).and_then(|m| dir.relative(m, log, center));
    c.runs_needed = dir.shift(log, center).and_then(|shift| {
        // The margin shrinks as pairs are added: the first count whose margin is within the
        // slack's shift, by bisection over [2, MAX_RUNS_NEEDED].
        let fits = |k: usize| margin(k as f64).is_some_and(|m| m <= shift);
        if !fits(MAX_RUNS_NEEDED) {
            return None;
        }
        let (mut lo, mut hi) = (1, MAX_RUNS_NEEDED);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if fits(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    });
    c
}

/// Values a statistic may use: every one finite, and at least `MIN` of them (criterion's
/// `Sample`, with the minimum in the type). Built once, where the runs enter
/// [`compare_quantile`], so that the tests neither filter nor count again.
#[derive(Debug)]
struct Sample<const MIN: usize>(Vec<f64>);

impl Sample<0> {
    /// The finite values among `values`, in their order (NaN and infinities are no measurement).
    fn finite(values: impl IntoIterator<Item = f64>) -> Self {
        Sample(values.into_iter().filter(|v| v.is_finite()).collect())
    }
}

impl<const MIN: usize> Sample<MIN> {
    /// The same values, when there are at least `M` of them.
    fn at_least<const M: usize>(self) -> Option<Sample<M>> {
        (self.0.len() >= M).then_some(Sample(self.0))
    }

    fn values(&self) -> &[f64] {
        &self.0
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether every value has a logarithm.
    fn all_positive(&self) -> bool {
        self.0.iter().all(|&v| v > 0.0)
    }

    /// The values on the analysis scale, `orient·ln(v)` on logs, `orient·v` raw; still finite:
    /// the logarithm of a finite positive value is finite.
    fn scaled(&self, scale: Scale) -> Self {
        Sample(self.0.iter().map(|&v| scale.apply(v)).collect())
    }

    fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len() as f64
    }

    fn mean_var(&self) -> (f64, f64) {
        mean_var(&self.0)
    }

    /// [`coefficient_of_variation`], finite or None: the tests and the verdict take only a
    /// finite noise.
    fn cv(&self) -> Option<f64> {
        coefficient_of_variation(&self.0).filter(|cv| cv.is_finite())
    }
}

/// Coefficient of variation of finite `values`: sample sd / |mean|. None for fewer than two
/// values or a zero mean (no relative noise to speak of); otherwise the ratio, which is infinite
/// (or NaN) only when values near `f64::MAX` overflow the mean or the variance — a caller that
/// needs a finite noise filters those out, `perfgate baseline show` prints them as they are.
pub fn coefficient_of_variation(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let (mean, var) = mean_var(values);
    (mean != 0.0).then(|| var.sqrt() / mean.abs())
}

/// The runs that carry samples, for [`run_means`]: the current run's (at least 2) and at least
/// [`MIN_HISTORY`] history runs' (at least 1 each).
struct Runs {
    current: Sample<2>,
    history: Vec<Sample<1>>,
}

impl Runs {
    fn new(history: &[Observation], current: &Observation) -> Option<Self> {
        let current = Sample::finite(current.samples.iter().copied()).at_least::<2>();
        let history: Vec<Sample<1>> = history
            .iter()
            .filter_map(|o| Sample::finite(o.samples.iter().copied()).at_least::<1>())
            .collect();
        (history.len() >= MIN_HISTORY).then_some(Runs {
            current: current?,
            history,
        })
    }
}

/// The analysis scale: logs when every value is positive, raw values otherwise, negated for a
/// metric where higher is better so that "worse" is always the upper tail.
#[derive(Clone, Copy)]
struct Scale {
    orient: f64,
    log: bool,
}

impl Scale {
    fn apply(self, x: f64) -> f64 {
        self.orient * if self.log { x.ln() } else { x }
    }

    /// A difference `d` of two values on this scale as the signed relative change between them
    /// (`center` is the reference's mean on the raw scale; None when it is 0).
    fn relative_change(self, d: f64, center: f64) -> Option<f64> {
        let r = if self.log {
            (self.orient * d).exp_m1()
        } else if center != 0.0 {
            self.orient * d / center.abs()
        } else {
            return None;
        };
        r.is_finite().then_some(r)
    }
}

/// What a test found; the rest of a [`Comparison`] does not depend on the test.
struct Test {
    method: Method,
    runs: Option<usize>,
    /// The signed relative change the statistic measured.
    change: Option<f64>,
    p: f64,
    detectable: Option<f64>,
    runs_needed: Option<usize>,
}

struct Direction {
    orient: f64,
    lower_is_better: bool,
    alpha: f64,
    slack: f64,
}

impl Direction {
    /// A worse shift `d` on the analysis scale as a worse relative change.
    fn relative(&self, d: f64, log: bool, center: f64) -> Option<f64> {
        let r = if log {
            if self.lower_is_better {
                d.exp() - 1.0
            } else {
                1.0 - (-d).exp()
            }
        } else if center != 0.0 {
            d / center.abs()
        } else {
            return None;
        };
        r.is_finite().then_some(r)
    }

    /// The slack as a worse shift on the analysis scale (None: no finite shift reaches it, e.g.
    /// a 100 % drop of a higher-is-better value on logs).
    fn shift(&self, log: bool, center: f64) -> Option<f64> {
        let d = if log {
            if self.lower_is_better {
                self.slack.ln_1p()
            } else if self.slack < 1.0 {
                -(-self.slack).ln_1p()
            } else {
                return None;
            }
        } else {
            self.slack * center.abs()
        };
        (d.is_finite() && d > 0.0).then_some(d)
    }
}

fn prediction_interval(values: &Sample<MIN_HISTORY>, current: f64, dir: &Direction) -> Test {
    let log = current > 0.0 && values.all_positive();
    let scale = Scale {
        orient: dir.orient,
        log,
    };
    let ys = values.scaled(scale);
    let (mean, var) = ys.mean_var();
    let n = ys.len() as f64;
    let center = values.mean();
    let values = values.values();
    // Equal values are tested as equal, not through their variance: the mean of twelve equal
    // logarithms can differ from each of them in the last bit, leaving a variance of 1e-32.
    let constant = values.windows(2).all(|w| w[0] == w[1]);
    if constant || var <= 0.0 || !var.is_finite() {
        let reference = if constant {
            scale.apply(values[0])
        } else {
            mean
        };
        let d = scale.apply(current) - reference;
        return deterministic(d, scale.relative_change(d, center));
    }
    let se = var.sqrt() * (1.0 + 1.0 / n).sqrt();
    let t = (scale.apply(current) - mean) / se;
    let df = n - 1.0;
    let crit = t_quantile(1.0 - dir.alpha, df).map(|q| q * se);
    let runs_needed = crit.zip(dir.shift(log, center)).and_then(|(c, l)| {
        let m = ((c / l).powi(2)).ceil().max(1.0);
        (m <= MAX_RUNS_NEEDED as f64).then_some(m as usize)
    });
    Test {
        method: Method::PredictionInterval,
        runs: None,
        change: scale.relative_change(scale.apply(current) - mean, center),
        p: t_sf(t, df),
        detectable: crit.and_then(|c| dir.relative(c, log, center)),
        runs_needed,
    }
}

fn deterministic(diff: f64, change: Option<f64>) -> Test {
    Test {
        method: Method::Deterministic,
        runs: None,
        change,
        p: if diff > 0.0 { 0.0 } else { 1.0 },
        detectable: Some(0.0),
        runs_needed: Some(1),
    }
}

/// The current run's mean of samples against the history's run means, with the random-effects
/// variance of their difference ([`Method::RunMeans`], module doc).
fn run_means(samples: &Runs, dir: &Direction) -> Test {
    let Runs {
        current: cur,
        history: runs,
    } = samples;
    let scale = Scale {
        orient: dir.orient,
        log: cur.all_positive() && runs.iter().all(Sample::all_positive),
    };
    let log = scale.log;
    let (mc, _) = cur.scaled(scale).mean_var();
    let m_c = cur.len() as f64;
    let groups: Vec<Sample<1>> = runs.iter().map(|s| s.scaled(scale)).collect();
    let means: Vec<f64> = groups.iter().map(|g| g.mean_var().0).collect();
    let (grand, var_of_means) = mean_var(&means);
    let k = groups.len() as f64;
    let df_within = groups.iter().map(|g| g.len() as f64 - 1.0).sum::<f64>();
    let ss_within: f64 = groups
        .iter()
        .zip(&means)
        .map(|(g, m)| g.values().iter().map(|y| (y - m).powi(2)).sum::<f64>())
        .sum();
    let ms_within = if df_within > 0.0 {
        ss_within / df_within
    } else {
        0.0
    };
    // 1/m_c − 1/m̃ as a mean of per-run terms: exactly 0 when every run has m_c samples.
    let adjust = runs
        .iter()
        .map(|s| (s.len() as f64 - m_c) / (m_c * s.len() as f64))
        .sum::<f64>()
        / k;
    let m_h = k / runs.iter().map(|s| 1.0 / s.len() as f64).sum::<f64>();
    let between = (1.0 + 1.0 / k) * var_of_means;
    let within = adjust * ms_within;
    let floor = ms_within * (1.0 / m_c + 1.0 / (k * m_h));
    let (var, df) = if adjust < 0.0 && between + within < floor {
        (floor, df_within)
    } else {
        let v = between + within;
        let within_term = if df_within > 0.0 {
            within.powi(2) / df_within
        } else {
            0.0
        };
        (v, v * v / (between.powi(2) / (k - 1.0) + within_term))
    };
    let center = {
        let all: Vec<f64> = runs.iter().flat_map(Sample::values).copied().collect();
        all.iter().sum::<f64>() / all.len() as f64
    };
    if var <= 0.0 || !var.is_finite() {
        let mut test = deterministic(mc - grand, scale.relative_change(mc - grand, center));
        test.runs = Some(runs.len());
        return test;
    }
    let se = var.sqrt();
    let crit = t_quantile(1.0 - dir.alpha, df);
    let runs_needed = crit.zip(dir.shift(log, center)).and_then(|(q, l)| {
        let room = l * l / (q * q * (1.0 + 1.0 / k)) - (var_of_means - ms_within / m_h);
        if room <= 0.0 {
            return None;
        }
        let m = (ms_within / room).ceil().max(1.0);
        (m <= MAX_RUNS_NEEDED as f64).then_some(m as usize)
    });
    Test {
        method: Method::RunMeans,
        runs: Some(runs.len()),
        change: scale.relative_change(mc - grand, center),
        p: t_sf((mc - grand) / se, df),
        detectable: crit.and_then(|q| dir.relative(q * se, log, center)),
        runs_needed,
    }
}

fn histogram_quantile(
    history: &[Observation],
    current: &Observation,
    q: f64,
    dir: &Direction,
) -> Option<Test> {
    if !(q > 0.0 && q <= 1.0) {
        return None;
    }
    let cur = counts(current.histogram?);
    let runs: Vec<Vec<(u64, u64)>> = history
        .iter()
        .filter_map(|o| o.histogram)
        .map(counts)
        .filter(|c| !c.is_empty())
        .collect();
    if cur.is_empty() || runs.len() < MIN_HISTORY {
        return None;
    }
    let mut pooled: Vec<(u64, u64)> = runs.iter().flatten().copied().collect();
    pooled.sort_unstable();
    let x_ref = quantile_of(&pooled, q)?;
    let bad = |v: u64| {
        if dir.lower_is_better {
            v > x_ref
        } else {
            v < x_ref
        }
    };
    let tally = |c: &[(u64, u64)]| {
        c.iter().fold((0.0, 0.0), |(k, n), &(v, w)| {
            (if bad(v) { k + w as f64 } else { k }, n + w as f64)
        })
    };
    let per_run: Vec<(f64, f64)> = runs.iter().map(|r| tally(r)).collect();
    let (k_h, n_h) = per_run
        .iter()
        .fold((0.0, 0.0), |(k, n), &(a, b)| (k + a, n + b));
    let (k_c, n_c) = tally(&cur);
    // Half a count on each side keeps π inside (0, 1) when every request sits on one side of
    // x_ref (the "add a half" of Agresti & Coull's interval); its effect is nil at CI volumes.
    let pi = (k_h + 0.5) / (n_h + 1.0);
    let runs_n = per_run.len() as f64;
    let df = runs_n - 1.0;
    let chi2: f64 = per_run
        .iter()
        .map(|&(k, n)| (k - n * pi).powi(2) / (n * pi * (1.0 - pi)))
        .sum();
    let phi = (chi2 / df).max(1.0);
    let sd = (phi * n_c * pi * (1.0 - pi) * (1.0 + n_c / n_h)).sqrt();
    let z = (k_c - n_c * pi) / sd;
    let detectable = t_quantile(1.0 - dir.alpha, df).and_then(|t| {
        let target = pi + t * sd / n_c;
        if target >= 1.0 {
            return None;
        }
        let level = if dir.lower_is_better {
            1.0 - target
        } else {
            target
        };
        let x = quantile_of(&pooled, level)?;
        if x == 0 {
            return None;
        }
        let r = x_ref as f64 / x as f64;
        let d = if dir.lower_is_better {
            r - 1.0
        } else {
            1.0 - r
        };
        (d.is_finite() && d >= 0.0).then_some(d)
    });
    let change = quantile_of(&cur, q)
        .filter(|_| x_ref > 0)
        .map(|x| x as f64 / x_ref as f64 - 1.0);
    Some(Test {
        method: Method::HistogramQuantile,
        runs: Some(per_run.len()),
        change,
        p: t_sf(z, df),
        detectable,
        runs_needed: None,
    })
}

/// A histogram's recorded (value, count) pairs, each value the middle of its bucket so that
/// histograms of one configuration compare bucket for bucket.
fn counts(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| {
            (
                h.median_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
        .filter(|&(_, c)| c > 0)
        .collect()
}

/// The smallest value whose cumulative count reaches `⌈q·N⌉` (at least 1) in sorted pairs.
fn quantile_of(sorted: &[(u64, u64)], q: f64) -> Option<u64> {
    let total: u64 = sorted.iter().map(|p| p.1).sum();
    if total == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let target = ((q * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for &(v, c) in sorted {
        seen += c;
        if seen >= target {
            return Some(v);
        }
    }
    sorted.last().map(|p| p.0)
}

/// The decision for one metric of a budget, as [`decide`] makes it.
pub struct Candidate {
    /// The metric's comparison with its baseline.
    pub comparison: Comparison,
    /// The allowed worse relative change (0.10 = 10 %).
    pub slack: f64,
    /// 1 − the rule's confidence.
    pub alpha: f64,
    /// Absolute floor, in the metric's unit: smaller differences never regress.
    pub min_change: Option<f64>,
    /// The current value, in the metric's unit.
    pub current: f64,
}

/// What a metric's comparison means for the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    /// Not worse than the slack allows, or not shown to be.
    NoChange,
    /// Worse than the slack, significant, and past the floor.
    Regression,
    /// Worse than the slack but not significant, and the slack is inside the noise: the data
    /// cannot tell (a warning).
    Inconclusive,
    /// Too little history to test: the threshold alone decided.
    ThresholdOnly,
}

/// [`decide`]'s answer for one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The call.
    pub call: Call,
    /// Significant after Holm–Bonferroni over the family.
    pub significant: bool,
    /// A regression: worse than the slack, past the floor, and significant (or, with too little
    /// history, worse than the slack alone).
    pub regression: bool,
}

/// The regression call for a whole budget (the family): Holm–Bonferroni over the candidates that
/// have a p-value. Sorted by `p/alpha` ascending, the k-th (from 0) of m is significant when it
/// and every one before it satisfy `p ≤ alpha/(m − k)`; with one alpha for all this is Holm's
/// procedure exactly, which keeps the chance of any false call at most alpha, whatever the
/// dependence between the metrics (Holm 1979).
pub fn decide(family: &[Candidate]) -> Vec<Decision> {
    let mut tested: Vec<(usize, f64, f64)> = family
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let p = c.comparison.p_value?;
            (p.is_finite() && c.alpha.is_finite() && c.alpha > 0.0).then_some((i, p, c.alpha))
        })
        .collect();
    tested.sort_by(|a, b| (a.1 / a.2).total_cmp(&(b.1 / b.2)));
    let m = tested.len();
    let mut significant = vec![false; family.len()];
    for (k, &(i, p, alpha)) in tested.iter().enumerate() {
        if p > alpha / (m - k) as f64 {
            break;
        }
        significant[i] = true;
    }
    family
        .iter()
        .zip(significant)
        .map(|(c, significant)| {
            let cmp = &c.comparison;
            let beyond = cmp.worse.is_some_and(|w| w > c.slack)
                && c.min_change
                    .is_none_or(|floor| (c.current - cmp.baseline).abs() >= floor);
            if cmp.method == Method::TooLittleHistory {
                return Decision {
                    call: Call::ThresholdOnly,
                    significant: false,
                    regression: beyond,
                };
            }
            let regression = beyond && significant;
            let call = if regression {
                Call::Regression
            } else if beyond && cmp.detectable.is_none_or(|d| d > c.slack) {
                Call::Inconclusive
            } else {
                Call::NoChange
            };
            Decision {
                call,
                significant,
                regression,
            }
        })
        .collect()
}

/// Sample mean and unbiased variance (0 for fewer than two values).
fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// `P(T_df > t)`; a degenerate df or t gives the uninformative 1 for a non-positive t, 0 above.
fn t_sf(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return 1.0;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d.sf(t).clamp(0.0, 1.0),
        Err(_) => {
            if t > 0.0 {
                0.0
            } else {
                1.0
            }
        }
    }
}

fn t_quantile(p: f64, df: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let q = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(p);
    q.is_finite().then_some(q)
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    fn values(vs: &[f64]) -> Vec<Observation<'_>> {
        vs.iter()
            .map(|&value| Observation {
                value,
                samples: &[],
                histogram: None,
            })
            .collect()
    }

    fn one(value: f64) -> Observation<'static> {
        Observation {
            value,
            samples: &[],
            histogram: None,
        }
    }

    fn close(actual: f64, expected: f64, tol: f64) {
        assert!(
            (actual - expected).abs() <= tol,
            "{actual} is not within {tol} of {expected}"
        );
    }

    fn candidate(comparison: Comparison, current: f64) -> Candidate {
        Candidate {
            comparison,
            slack: 0.10,
            alpha: 0.05,
            min_change: None,
            current,
        }
    }

    #[test]
    fn t_quantile_matches_scipy() {
        // scipy.stats.t.ppf(0.95, 14) → 1.761310135774891
        close(t_quantile(0.95, 14.0).unwrap(), 1.761_310_135_774_891, 1e-9);
    }

    #[test]
    fn equal_history_values_are_deterministic_whatever_their_rounding() {
        // 135127 twelve times: ln() then the mean leave a last-bit variance; it is still constant.
        let h = values(&[135_127.0; 12]);
        let same = compare(&h, &one(135_127.0), true, 0.05, 0.10);
        assert_eq!(
            (same.method, same.p_value),
            (Method::Deterministic, Some(1.0))
        );
        let bigger = compare(&h, &one(135_128.0), true, 0.05, 0.10);
        assert_eq!(
            (bigger.method, bigger.p_value),
            (Method::Deterministic, Some(0.0))
        );
    }

    #[test]
    fn prediction_interval_on_logs_matches_scipy() {
        // h = [100, 104, 98, 101, 97, 103, 99, 102]; y = log(h); n = 8; s = y.std(ddof=1)
        // t = (log(112) − y.mean()) / (s·sqrt(1 + 1/n)) → 4.199469878805837
        // scipy.stats.t.sf(t, 7) → 0.0020191098430111217
        // detectable: exp(scipy.stats.t.ppf(0.95, 7)·s·sqrt(1 + 1/n)) − 1 → 0.05021520035299276
        // ⌈(t.ppf(0.95, 7)·s·sqrt(1 + 1/n) / log(1.1))²⌉ → 1; cv: h.std(ddof=1)/h.mean() → 0.024373032266499284
        let h = values(&[100.0, 104.0, 98.0, 101.0, 97.0, 103.0, 99.0, 102.0]);
        let c = compare(&h, &one(112.0), true, 0.05, 0.10);
        assert_eq!(c.method, Method::PredictionInterval);
        assert_eq!(c.runs, 8);
        close(c.baseline, 100.5, 1e-12);
        close(c.change.unwrap(), 11.5 / 100.5, 1e-12);
        close(c.p_value.unwrap(), 0.002_019_109_843_011_121_7, 1e-9);
        close(c.detectable.unwrap(), 0.050_215_200_352_992_76, 1e-9);
        close(c.cv.unwrap(), 0.024_373_032_266_499_284, 1e-12);
        assert_eq!(c.runs_needed, Some(1));
        // The test judged 112 against the history's geometric mean: 112 / exp(y.mean()) − 1.
        close(c.tested_change.unwrap(), 0.114_717_664_827_102_44, 1e-12);
        // The same history, higher is better: 112 is an improvement, p = 1 − 0.00202.
        let up = compare(&h, &one(112.0), false, 0.05, 0.10);
        close(up.p_value.unwrap(), 1.0 - 0.002_019_109_843_011_121_7, 1e-9);
        close(up.worse.unwrap(), -11.5 / 100.5, 1e-12);
        close(up.tested_change.unwrap(), 0.114_717_664_827_102_44, 1e-12);
    }

    #[test]
    fn raw_scale_when_a_value_is_zero() {
        // h = [0, 2, 1, 3, 1, 2]: no logs. t = (6 − h.mean())/(h.std(ddof=1)·sqrt(1 + 1/6))
        // → 3.9723067327713717; scipy.stats.t.sf(t, 5) → 0.005305872553974699
        let h = values(&[0.0, 2.0, 1.0, 3.0, 1.0, 2.0]);
        let c = compare(&h, &one(6.0), true, 0.05, 0.10);
        assert_eq!(c.method, Method::PredictionInterval);
        close(c.p_value.unwrap(), 0.005_305_872_553_974_699, 1e-9);
        assert!(c.detectable.unwrap().is_finite());
    }

    fn runs<'a>(runs: &'a [&'a [f64]]) -> Vec<Observation<'a>> {
        runs.iter()
            .map(|s| Observation {
                value: median(s).unwrap_or(0.0),
                samples: s,
                histogram: None,
            })
            .collect()
    }

    fn sampled(s: &[f64]) -> Observation<'_> {
        Observation {
            value: median(s).unwrap_or(0.0),
            samples: s,
            histogram: None,
        }
    }

    // The known answers below come from this numpy/scipy transcription of the method (module doc):
    //   g = [log(run) for run in hist]; c = log(cur); k = len(g); m_c = len(c)
    //   means = [x.mean() for x in g]; s_R2 = var(means, ddof=1)
    //   df_w = Σ(len(x) − 1); ms_w = Σ((x − x.mean())²).sum() / df_w; m_h = k / Σ(1/len(x))
    //   adj = mean([(len(x) − m_c)/(m_c·len(x)) for x in g]); B = (1 + 1/k)·s_R2; W = adj·ms_w
    //   floor = ms_w·(1/m_c + 1/(k·m_h))
    //   v, df = (floor, df_w) if adj < 0 and B + W < floor else (B + W, (B + W)²/(B²/(k−1) + W²/df_w))
    //   p = scipy.stats.t.sf((c.mean() − mean(means))/sqrt(v), df)
    //   detectable = exp(scipy.stats.t.ppf(0.95, df)·sqrt(v)) − 1
    //   runs_needed = ⌈ms_w / (log(1.1)²/(t.ppf(0.95, df)²·(1 + 1/k)) − (s_R2 − ms_w/m_h))⌉

    /// Six builds whose samples agree closely but whose levels differ by up to 15 %.
    const BUILDS: [&[f64]; 6] = [
        &[100.0, 101.0, 99.0],
        &[108.0, 109.0, 107.5],
        &[95.0, 96.0, 94.5],
        &[103.0, 104.0, 102.0],
        &[110.0, 111.0, 109.0],
        &[98.0, 97.0, 99.0],
    ];

    #[test]
    fn a_build_within_the_history_spread_of_builds_is_not_significant() {
        // Balanced (3 samples everywhere): exact t with k − 1 = 5 df → t 1.48991899218738,
        // p 0.09821498092897761, detectable 0.13105636397006948. Pooling the 18 samples instead,
        // scipy.stats.ttest_ind(log(cur), log(hist).ravel(), equal_var=False,
        // alternative='greater') → p 1.2e-06: the build's level read as a regression.
        let h = runs(&BUILDS);
        let cur = [112.0, 113.0, 111.0];
        let c = compare(&h, &sampled(&cur), true, 0.05, 0.10);
        assert_eq!(c.method, Method::RunMeans);
        assert_eq!(c.runs, 6);
        close(c.p_value.unwrap(), 0.098_214_980_928_977_61, 1e-9);
        close(c.detectable.unwrap(), 0.131_056_363_970_069_48, 1e-9);
        // Builds alone vary by more than the slack: no number of samples per build shows 10 %;
        // with a 30 % slack one sample does.
        assert_eq!(c.runs_needed, None);
        let wide = compare(&h, &sampled(&cur), true, 0.05, 0.30);
        assert_eq!(wide.runs_needed, Some(1));
        // A middling build: p 0.39633405926215254.
        let mid = [104.0, 103.0, 105.0];
        let c = compare(&h, &sampled(&mid), true, 0.05, 0.10);
        close(c.p_value.unwrap(), 0.396_334_059_262_152_54, 1e-9);
    }

    #[test]
    fn a_current_run_of_another_size_uses_satterthwaite() {
        // Two current samples against runs of three (adj = 1/6 > 0):
        // df 5.036855543919636, p 0.08951796727854941.
        let h = runs(&BUILDS);
        let c = compare(&h, &sampled(&[112.0, 113.0]), true, 0.05, 0.10);
        close(c.p_value.unwrap(), 0.089_517_967_278_549_41, 1e-9);
        close(c.detectable.unwrap(), 0.131_087_296_307_129_9, 1e-9);
        // Six (adj = −1/6, above the floor): df 4.963223522614258, p 0.09359670065837046.
        let six = [112.0, 113.0, 111.0, 112.5, 111.5, 113.5];
        let c = compare(&h, &sampled(&six), true, 0.05, 0.10);
        close(c.p_value.unwrap(), 0.093_596_700_658_370_46, 1e-9);
    }

    #[test]
    fn a_variance_below_the_samples_noise_is_floored() {
        // Five runs of 2 samples whose means vary less than their samples predict, five current
        // samples: B + W < floor, so v = floor with df_w = 5 → p 0.0026755598819300378,
        // detectable 0.028612646285971932; higher is better (negated logs): p 0.99732444011807.
        let hist: [&[f64]; 5] = [
            &[2500.0, 2550.0],
            &[2480.0, 2610.0],
            &[2450.0, 2530.0],
            &[2590.0, 2470.0],
            &[2520.0, 2560.0],
        ];
        let h = runs(&hist);
        let cur = [2710.0, 2650.0, 2790.0, 2600.0, 2740.0];
        let c = compare(&h, &sampled(&cur), true, 0.05, 0.10);
        assert_eq!(c.method, Method::RunMeans);
        assert_eq!(c.runs, 5);
        close(c.p_value.unwrap(), 0.002_675_559_881_930_037_8, 1e-9);
        close(c.detectable.unwrap(), 0.028_612_646_285_971_932, 1e-9);
        assert_eq!(c.runs_needed, Some(1));
        let up = compare(&h, &sampled(&cur), false, 0.05, 0.10);
        close(up.p_value.unwrap(), 0.997_324_440_118_07, 1e-9);
        // Quantised samples with ties change nothing: p 0.006941801765956227.
        let tied: [&[f64]; 5] = [
            &[120.0, 125.0],
            &[128.0, 122.0],
            &[119.0, 124.0],
            &[126.0, 121.0],
            &[130.0, 123.0],
        ];
        let c = compare(
            &runs(&tied),
            &sampled(&[130.0, 128.0, 135.0, 128.0, 140.0]),
            true,
            0.05,
            0.10,
        );
        close(c.p_value.unwrap(), 0.006_941_801_765_956_227, 1e-9);
    }

    #[test]
    fn runs_needed_agrees_with_detectable() {
        // Noisy samples, steady builds (3 samples each): p 0.05719821426920758, detectable
        // 0.02573189245272789 — below a 10 % slack, so fewer than 3 samples do (2); a 2 % slack
        // needs more than the 3 at hand (4).
        let noisy: [&[f64]; 6] = [
            &[100.0, 112.0, 91.0],
            &[104.0, 95.0, 110.0],
            &[97.0, 108.0, 101.0],
            &[103.0, 92.0, 111.0],
            &[99.0, 106.0, 94.0],
            &[109.0, 96.0, 102.0],
        ];
        let h = runs(&noisy);
        let cur = [105.0, 99.0, 108.0];
        let c = compare(&h, &sampled(&cur), true, 0.05, 0.10);
        close(c.p_value.unwrap(), 0.057_198_214_269_207_58, 1e-9);
        close(c.detectable.unwrap(), 0.025_731_892_452_727_89, 1e-9);
        assert_eq!(c.runs_needed, Some(2));
        let tight = compare(&h, &sampled(&cur), true, 0.05, 0.02);
        assert_eq!(tight.runs_needed, Some(4));
    }

    #[test]
    fn histogram_quantile_matches_hand_computation() {
        // History runs record 1..=100, 1..=100 plus two 95s, 1..=98; the current run 11..=110.
        // Pooled (N = 300) p90: x_ref = 90; counts above: K = [10, 12, 8], K_c = 20 of N_c = 100.
        // π = 30.5/301; χ² = Σ(K_i − N_i·π)²/(N_i·π(1−π)) = 0.7177 → φ = max(1, χ²/2) = 1;
        // z = (20 − 100π)/sqrt(φ·100·π(1−π)·(1 + 100/300)) → 2.831740985218001;
        // scipy.stats.t.sf(z, 2) → 0.052681758192787066.
        // π* = π + t.ppf(0.95, 2)·sd/100 = 0.20307; pooled quantile at 1 − π* = 80 → 90/80 − 1.
        let hist = |vals: &mut dyn Iterator<Item = u64>| {
            let mut h = Histogram::<u64>::new(3).unwrap();
            for v in vals {
                h.record(v).unwrap();
            }
            h
        };
        let runs = [
            hist(&mut (1..=100)),
            hist(&mut (1..=100).chain([95, 95])),
            hist(&mut (1..=98)),
        ];
        let cur = hist(&mut (11..=110));
        let h: Vec<Observation> = runs
            .iter()
            .map(|r| Observation {
                value: r.value_at_quantile(0.9) as f64,
                samples: &[],
                histogram: Some(r),
            })
            .collect();
        let current = Observation {
            value: cur.value_at_quantile(0.9) as f64,
            samples: &[],
            histogram: Some(&cur),
        };
        let c = compare_quantile(&h, &current, true, 0.05, 0.10, Some(0.9));
        assert_eq!(c.method, Method::HistogramQuantile);
        close(c.p_value.unwrap(), 0.052_681_758_192_787_066, 1e-9);
        close(c.detectable.unwrap(), 0.125, 1e-12);
        assert_eq!(c.runs_needed, None);
        // The change judged: the current p90 (≈ 100) against the pooled history's (≈ 90).
        close(c.tested_change.unwrap(), 100.0 / 90.0 - 1.0, 0.01);
        // Without a quantile level the histograms are not used.
        assert_eq!(
            compare(&h, &current, true, 0.05, 0.10).method,
            Method::PredictionInterval
        );
        // The same run judged against itself is no evidence of anything.
        let same = Observation {
            value: 90.0,
            samples: &[],
            histogram: Some(&runs[0]),
        };
        let c = compare_quantile(&h, &same, true, 0.05, 0.10, Some(0.9));
        assert!(c.p_value.unwrap() > 0.4, "{c:?}");
    }

    #[test]
    fn run_means_report_the_change_of_the_runs_means_beside_the_medians() {
        // g = [log(r) for r in hist]; exp(mean(log(cur)) − mean([x.mean() for x in g])) − 1
        // → 0.20407312098834707 (numpy), where the medians' change is 121 / 100.5 − 1.
        let hist: [&[f64]; 4] = [
            &[100.0, 102.0],
            &[98.0, 100.0],
            &[101.0, 103.0],
            &[99.0, 101.0],
        ];
        let c = compare(&runs(&hist), &sampled(&[120.0, 122.0]), true, 0.05, 0.10);
        assert_eq!(c.method, Method::RunMeans);
        close(c.change.unwrap(), 121.0 / 100.5 - 1.0, 1e-12);
        close(c.tested_change.unwrap(), 0.204_073_120_988_347_07, 1e-12);
        let up = compare(&runs(&hist), &sampled(&[120.0, 122.0]), false, 0.05, 0.10);
        close(up.tested_change.unwrap(), 0.204_073_120_988_347_07, 1e-12);
        close(up.worse.unwrap(), -(121.0 / 100.5 - 1.0), 1e-12);
    }

    // Paired t by hand (Python, the regularised incomplete beta for the t distribution, checked
    // against scipy's t.ppf(0.95, 14) = 1.7613101357748908): d = [ln(h/b)], n = 6,
    // t = mean(d)/(sd(d)/√n), p = t.sf(t, 5), detectable = exp(t.ppf(0.95, 5)·sd/√n) − 1.
    const BASE: [f64; 6] = [100.0, 104.0, 98.0, 101.0, 103.0, 99.0];

    fn pairs(head: &[f64]) -> Vec<(f64, f64)> {
        BASE.iter().copied().zip(head.iter().copied()).collect()
    }

    #[test]
    fn paired_runs_match_hand_computation() {
        // mean 0.07013173678146552, sd 0.01816431899885455, t 9.457385652641449.
        let head = [108.0, 110.0, 104.0, 112.0, 109.0, 106.0];
        let c = compare_paired(&pairs(&head), true, 0.05, 0.10);
        assert_eq!((c.method, c.runs), (Method::PairedRuns, 6));
        close(c.p_value.unwrap(), 0.000_111_622_676_327_765_99, 1e-9);
        close(c.tested_change.unwrap(), 0.072_649_479_336_983_4, 1e-12);
        close(c.detectable.unwrap(), 0.015_054_896_603_767_576, 1e-9);
        close(c.cv.unwrap(), 0.018_165_817_396_985_293, 1e-12);
        // The medians' change, which the slack is held against: 107.5 / 100.5 − 1.
        close(c.change.unwrap(), 0.079_601_990_049_751_33, 1e-12);
        close(c.baseline, 100.5, 1e-12);
        assert_eq!(c.runs_needed, Some(2));
        assert_eq!(
            compare_paired(&pairs(&head), true, 0.05, 0.02).runs_needed,
            Some(5)
        );
        assert_eq!(
            compare_paired(&pairs(&head), true, 0.05, 0.01).runs_needed,
            Some(11)
        );
        // Higher is better: the same pairs are an improvement.
        let up = compare_paired(&pairs(&head), false, 0.05, 0.10);
        close(up.p_value.unwrap(), 0.999_888_377_323_672_2, 1e-9);
        assert!(up.worse.unwrap() < 0.0);
        // Significant but inside the 10 % slack: no change; past a 5 % slack: a regression.
        let d = decide(&[candidate(c, 107.5)])[0];
        assert!(d.significant && !d.regression);
        let mut tight = candidate(compare_paired(&pairs(&head), true, 0.05, 0.05), 107.5);
        tight.slack = 0.05;
        assert_eq!(decide(&[tight])[0].call, Call::Regression);
    }

    #[test]
    fn noisy_pairs_ask_for_more_pairs() {
        // p 0.15961809285057277, detectable 0.029954576312336112; 6 pairs reach a 3 % slack.
        let head = [103.0, 101.0, 104.0, 99.0, 108.0, 100.0];
        let c = compare_paired(&pairs(&head), true, 0.05, 0.03);
        close(c.p_value.unwrap(), 0.159_618_092_850_572_77, 1e-9);
        close(c.detectable.unwrap(), 0.029_954_576_312_336_112, 1e-9);
        assert_eq!(c.runs_needed, Some(6));
        assert_eq!(
            compare_paired(&pairs(&head), true, 0.05, 0.01).runs_needed,
            Some(38)
        );
    }

    #[test]
    fn paired_runs_degenerate_cases_are_values_not_nan() {
        // Two pairs: the slack alone decides.
        let two = compare_paired(&[(100.0, 120.0), (101.0, 119.0)], true, 0.05, 0.10);
        assert_eq!(
            (two.method, two.p_value, two.runs),
            (Method::TooLittleHistory, None, 2)
        );
        let d = decide(&[candidate(two, 119.5)])[0];
        assert_eq!((d.call, d.regression), (Call::ThresholdOnly, true));
        // The same ratio in every pair: certain, either way.
        let same = compare_paired(
            &[(100.0, 110.0), (200.0, 220.0), (50.0, 55.0)],
            true,
            0.05,
            0.05,
        );
        assert_eq!(
            (same.method, same.p_value),
            (Method::Deterministic, Some(0.0))
        );
        let equal = compare_paired(&[(5.0, 5.0); 4], true, 0.05, 0.05);
        assert_eq!(
            (equal.method, equal.p_value),
            (Method::Deterministic, Some(1.0))
        );
        // A pair with a value that is not a number is left out, both of its runs.
        let nan = compare_paired(
            &[
                (100.0, f64::NAN),
                (100.0, 101.0),
                (102.0, 103.0),
                (99.0, 101.0),
                (98.0, 99.5),
            ],
            true,
            0.05,
            0.10,
        );
        assert_eq!((nan.method, nan.runs), (Method::PairedRuns, 4));
        assert!(nan.p_value.unwrap().is_finite());
        // Zeros and negatives: raw differences.
        let raw = compare_paired(
            &[(0.0, 1.0), (1.0, 2.5), (2.0, 2.5), (1.0, 1.5)],
            true,
            0.05,
            0.1,
        );
        assert_eq!(raw.method, Method::PairedRuns);
        assert!(raw.p_value.unwrap() < 0.1 && raw.detectable.unwrap().is_finite());
        let none = compare_paired(&[], true, 0.05, 0.1);
        assert_eq!(
            (none.method, none.runs, none.change, none.cv),
            (Method::TooLittleHistory, 0, None, None)
        );
    }

    #[test]
    fn too_little_history_lets_the_threshold_decide() {
        let h = values(&[100.0, 102.0]);
        let c = compare(&h, &one(115.0), true, 0.05, 0.10);
        assert_eq!(c.method, Method::TooLittleHistory);
        assert_eq!(c.p_value, None);
        let d = decide(&[candidate(c, 115.0)]);
        assert_eq!(d[0].call, Call::ThresholdOnly);
        assert!(d[0].regression);
        let c = compare(&h, &one(105.0), true, 0.05, 0.10);
        assert!(!decide(&[candidate(c, 105.0)])[0].regression);
    }

    #[test]
    fn deterministic_history_any_worse_value_is_certain_and_the_slack_decides() {
        let h = values(&[51_200.0; 6]);
        let c = compare(&h, &one(51_300.0), true, 0.05, 0.10);
        assert_eq!(c.method, Method::Deterministic);
        assert_eq!(c.p_value, Some(0.0));
        let d = decide(&[candidate(c, 51_300.0)])[0];
        assert!(d.significant && !d.regression);
        assert_eq!(d.call, Call::NoChange);
        let c = compare(&h, &one(60_000.0), true, 0.05, 0.10);
        assert!(decide(&[candidate(c, 60_000.0)])[0].regression);
        let c = compare(&h, &one(40_000.0), true, 0.05, 0.10);
        assert_eq!(c.p_value, Some(1.0));
    }

    #[test]
    fn degenerate_data_gives_values_not_nan() {
        let zero = values(&[0.0, 0.0, 0.0, 0.0]);
        let c = compare(&zero, &one(5.0), true, 0.05, 0.10);
        assert_eq!((c.baseline, c.change, c.worse), (0.0, None, None));
        assert_eq!(c.p_value, Some(0.0));
        assert!(!decide(&[candidate(c, 5.0)])[0].regression);

        let negative = values(&[-3.0, -2.0, -4.0, -3.5]);
        let c = compare(&negative, &one(-1.0), true, 0.05, 0.10);
        assert_eq!(c.method, Method::PredictionInterval);
        assert!(c.change.unwrap() > 0.0, "−1 is higher than −3.25");
        assert!(c.p_value.unwrap().is_finite() && c.detectable.unwrap().is_finite());

        let none = compare(&[], &one(1.0), true, 0.05, 0.10);
        assert_eq!(
            (none.method, none.runs, none.change),
            (Method::TooLittleHistory, 0, None)
        );
        let nan = compare(&values(&[1.0, 2.0, 3.0]), &one(f64::NAN), true, 0.05, 0.10);
        assert_eq!((nan.method, nan.change), (Method::TooLittleHistory, None));
        let bad_alpha = compare(&values(&[1.0, 2.0, 3.0]), &one(2.0), true, 0.0, 0.10);
        assert_eq!(bad_alpha.p_value, None);

        let flat: [&[f64]; 3] = [&[5.0, 5.0], &[5.0, 5.0], &[5.0, 5.0]];
        let c = compare(&runs(&flat), &sampled(&[6.0, 6.0]), true, 0.05, 0.10);
        assert_eq!(
            (c.method, c.p_value, c.runs),
            (Method::Deterministic, Some(0.0), 3)
        );
        let zeros: [&[f64]; 3] = [&[0.0, 1.0], &[1.0, 2.0], &[2.0, 0.0]];
        let c = compare(&runs(&zeros), &sampled(&[3.0, 4.0]), true, 0.05, 0.10);
        assert_eq!(c.method, Method::RunMeans);
        assert!(c.p_value.unwrap() < 0.5 && c.detectable.unwrap().is_finite());
        let singles: [&[f64]; 3] = [&[100.0], &[104.0], &[98.0]];
        let c = compare(&runs(&singles), &sampled(&[101.0, 103.0]), true, 0.05, 0.10);
        assert!(c.p_value.unwrap().is_finite() && c.detectable.unwrap().is_finite());
    }

    fn tested(p: f64, worse: f64) -> Candidate {
        candidate(
            Comparison {
                method: Method::PredictionInterval,
                runs: 15,
                baseline: 100.0,
                change: Some(worse),
                tested_change: Some(worse),
                worse: Some(worse),
                p_value: Some(p),
                cv: Some(0.05),
                detectable: Some(0.08),
                runs_needed: Some(1),
            },
            100.0 * (1.0 + worse),
        )
    }

    #[test]
    fn holm_steps_down_until_the_first_failure() {
        // Holm (1979) with m = 4, α = 0.05: sorted p 0.005 ≤ 0.05/4 ✓, 0.01 ≤ 0.05/3 ✓,
        // 0.03 > 0.05/2 ✗ — stop: 0.03 and 0.04 are not significant
        // (statsmodels.stats.multitest.multipletests([.01, .04, .03, .005], method='holm')
        // → reject [True, False, False, True]).
        let family: Vec<Candidate> = [0.01, 0.04, 0.03, 0.005]
            .iter()
            .map(|&p| tested(p, 0.2))
            .collect();
        let d = decide(&family);
        let sig: Vec<bool> = d.iter().map(|d| d.significant).collect();
        assert_eq!(sig, [true, false, false, true]);
        assert_eq!(d[0].call, Call::Regression);
        // Not significant, but the slack (10 %) is above what the test can see (8 %): no change.
        assert_eq!(d[1].call, Call::NoChange);
    }

    #[test]
    fn a_slack_inside_the_noise_is_inconclusive() {
        let mut c = tested(0.2, 0.15);
        c.comparison.detectable = Some(0.3);
        let d = decide(&[c])[0];
        assert_eq!(d.call, Call::Inconclusive);
        assert!(!d.regression);
    }

    #[test]
    fn the_absolute_floor_ignores_small_changes() {
        let mut c = tested(0.001, 0.2);
        c.min_change = Some(25.0);
        assert_eq!(decide(&[c])[0].call, Call::NoChange);
        let mut c = tested(0.001, 0.3);
        c.min_change = Some(25.0);
        assert_eq!(decide(&[c])[0].call, Call::Regression);
    }

    #[test]
    fn the_coefficient_of_variation_keeps_its_edge_cases() {
        // sd of 1, 2, 3 is 1, the mean 2.
        assert_eq!(coefficient_of_variation(&[1.0, 2.0, 3.0]), Some(0.5));
        assert_eq!(coefficient_of_variation(&[-1.0, -2.0, -3.0]), Some(0.5));
        assert_eq!(coefficient_of_variation(&[4.0, 4.0]), Some(0.0));
        assert_eq!(coefficient_of_variation(&[]), None);
        assert_eq!(coefficient_of_variation(&[7.0]), None);
        assert_eq!(coefficient_of_variation(&[-1.0, 1.0]), None);
        // The variance overflows: the ratio says so, the comparison drops it.
        let huge = [1e308, -1e308, 1e308];
        assert_eq!(coefficient_of_variation(&huge), Some(f64::INFINITY));
        assert_eq!(Sample::finite(huge).cv(), None);
        assert_eq!(
            Sample::finite([1.0, f64::NAN, 3.0]).cv(),
            Some(2f64.sqrt() / 2.0)
        );
    }
}
