//! Regression statistics: is the current run of a metric worse than its history, by more than the
//! budget allows, beyond what the noise explains? Pure functions over numbers — no I/O, no clock —
//! and degenerate data (too few runs, zero spread, zero or negative values) is a [`Comparison`]
//! that says which method it fell back to, never a panic, NaN or infinity.
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
//! - [`Method::WelchT`] — the current run carries at least 2 samples (several Lighthouse runs,
//!   hyperfine times, Artillery periods) and at least [`MIN_HISTORY`] history runs carry samples:
//!   Welch's unequal-variance t-test on the logarithms of the current samples against the pooled
//!   history samples (Welch, B. L. (1947) Biometrika 34:28–35; Satterthwaite degrees of freedom).
//!   Logs because the tools' noise is multiplicative (lognormal); raw values when any value is
//!   ≤ 0. `detectable = exp(t_{1−α,ν}·se) − 1`; `runs_needed` is the smallest m for which
//!   `t_{1−α,ν(m)}·sqrt(s_c²/m + s_h²/N_h) ≤ ln(1 + slack)` (binary search, the left side falls
//!   with m), None past [`MAX_RUNS_NEEDED`].
//! - [`Method::MannWhitney`] — as WelchT, but the samples show ties or a far-out value
//!   (rule below): the Mann–Whitney U test with the normal approximation, tie-corrected variance and
//!   continuity correction (Mann, H. B. & Whitney, D. R. (1947) Ann. Math. Statist. 18:50–60;
//!   the same computation as `scipy.stats.mannwhitneyu(method="asymptotic")`). Ranks do not care
//!   about one GC pause in one Lighthouse run; a mean does. `detectable` uses the normal critical
//!   value, robust scales (1.4826·MAD) and the test's asymptotic relative efficiency 3/π against
//!   the t-test (Hodges, J. L. & Lehmann, E. L. (1956) Ann. Math. Statist. 27:324–335):
//!   `exp(z_{1−α}·sqrt(π/3)·sqrt(σ_c²/n_c + σ_h²/n_h)) − 1`; `runs_needed` solves the same
//!   inequality for n_c in closed form.
//!   Rule: Mann–Whitney when two pooled samples are equal (ties: quantised values, such as whole
//!   milliseconds, where the t-test's continuous model is wrong and ranks lose nothing), or when a
//!   sample of either side lies beyond Tukey's far-out fences `Q1 − 3·IQR`, `Q3 + 3·IQR` on the
//!   analysis scale (Tukey, J. W. (1977) *Exploratory Data Analysis*, §2C; beyond them a value is
//!   not lognormal noise but a different event); Welch's t otherwise, as it is the more powerful
//!   test when the logs are close to normal.
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
//!
//! For a metric where higher is better every statistic is computed on the negated (log) values,
//! so "worse" is always the upper tail, and a relative shift `d` on the log scale is the worse
//! change `1 − exp(−d)`. On the raw scale a shift is relative to the history's mean magnitude.

use hdrhistogram::Histogram;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::model::median;

/// Fewer history runs than this and the threshold alone decides. With 2 runs the t quantile has
/// one degree of freedom (`t_{0.95,1}` = 6.31), so the interval is too wide to call anything,
/// and the spread of 2 values says almost nothing about the noise.
pub const MIN_HISTORY: usize = 3;

/// `runs_needed` beyond this is reported as not reachable (None): no CI budget runs a build a
/// thousand times, and past it the answer is dominated by the history's own uncertainty.
pub const MAX_RUNS_NEEDED: usize = 1000;

/// Tukey's "far out" fence multiplier (Tukey 1977, §2C): under a normal law a value beyond
/// `Q3 + 3·IQR` has probability 1.2e-6 (the fence is 0.674σ + 3·1.349σ = 4.72σ from the median).
const FAR_OUT: f64 = 3.0;

/// `1/Φ⁻¹(3/4)`: the median absolute deviation times this estimates σ of a normal law.
const MAD_TO_SD: f64 = 1.482_602_218_505_602;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Fewer than [`MIN_HISTORY`] runs: no test, the threshold alone decides.
    TooLittleHistory,
    /// The history's values do not vary: any worse value is certain.
    Deterministic,
    /// One value against the history's Student t prediction interval.
    PredictionInterval,
    /// Welch's t-test on the samples.
    WelchT,
    /// The Mann–Whitney U test on the samples.
    MannWhitney,
    /// A quantile compared through the histograms' counts.
    HistogramQuantile,
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
    /// `(current − baseline) / |baseline|`; None when the baseline is 0.
    pub change: Option<f64>,
    /// The change in the worse direction: positive = worse, whatever the metric's direction.
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
/// histograms, the comparison uses their counts ([`Method::HistogramQuantile`]).
pub fn compare_quantile(
    history: &[Observation],
    current: &Observation,
    lower_is_better: bool,
    alpha: f64,
    slack: f64,
    quantile: Option<f64>,
) -> Comparison {
    let values: Vec<f64> = history
        .iter()
        .map(|o| o.value)
        .filter(|v| v.is_finite())
        .collect();
    let baseline = median(&values).unwrap_or(0.0);
    let orient = if lower_is_better { 1.0 } else { -1.0 };
    let change = (baseline != 0.0 && current.value.is_finite())
        .then(|| (current.value - baseline) / baseline.abs());
    let mut c = Comparison {
        method: Method::TooLittleHistory,
        runs: values.len(),
        baseline,
        change,
        worse: change.map(|x| orient * x),
        p_value: None,
        cv: cv(&values),
        detectable: None,
        runs_needed: None,
    };
    if values.len() < MIN_HISTORY || !current.value.is_finite() || !(alpha > 0.0 && alpha < 1.0) {
        return c;
    }
    let dir = Direction {
        orient,
        lower_is_better,
        alpha,
        slack,
    };
    let test = quantile
        .and_then(|q| histogram_quantile(history, current, q, &dir))
        .or_else(|| two_sample(history, current, &dir))
        .unwrap_or_else(|| prediction_interval(&values, current.value, &dir));
    c.method = test.method;
    c.runs = test.runs.unwrap_or(values.len());
    c.p_value = Some(test.p);
    c.detectable = test.detectable;
    c.runs_needed = test.runs_needed;
    c
}

/// What a test found; the rest of a [`Comparison`] does not depend on the test.
struct Test {
    method: Method,
    runs: Option<usize>,
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

fn prediction_interval(values: &[f64], current: f64, dir: &Direction) -> Test {
    let log = current > 0.0 && values.iter().all(|&v| v > 0.0);
    let tr = |x: f64| dir.orient * if log { x.ln() } else { x };
    let ys: Vec<f64> = values.iter().map(|&v| tr(v)).collect();
    let (mean, var) = mean_var(&ys);
    let n = ys.len() as f64;
    if var <= 0.0 || !var.is_finite() {
        return deterministic(tr(current) - mean);
    }
    let se = var.sqrt() * (1.0 + 1.0 / n).sqrt();
    let t = (tr(current) - mean) / se;
    let df = n - 1.0;
    let crit = t_quantile(1.0 - dir.alpha, df).map(|q| q * se);
    let center = values.iter().sum::<f64>() / n;
    let runs_needed = crit.zip(dir.shift(log, center)).and_then(|(c, l)| {
        let m = ((c / l).powi(2)).ceil().max(1.0);
        (m <= MAX_RUNS_NEEDED as f64).then_some(m as usize)
    });
    Test {
        method: Method::PredictionInterval,
        runs: None,
        p: t_sf(t, df),
        detectable: crit.and_then(|c| dir.relative(c, log, center)),
        runs_needed,
    }
}

fn deterministic(diff: f64) -> Test {
    Test {
        method: Method::Deterministic,
        runs: None,
        p: if diff > 0.0 { 0.0 } else { 1.0 },
        detectable: Some(0.0),
        runs_needed: Some(1),
    }
}

fn two_sample(history: &[Observation], current: &Observation, dir: &Direction) -> Option<Test> {
    let cur: Vec<f64> = current
        .samples
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let runs: Vec<&[f64]> = history
        .iter()
        .map(|o| o.samples)
        .filter(|s| s.iter().any(|v| v.is_finite()))
        .collect();
    if cur.len() < 2 || runs.len() < MIN_HISTORY {
        return None;
    }
    let hist: Vec<f64> = runs
        .iter()
        .flat_map(|s| s.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let log = cur.iter().chain(&hist).all(|&v| v > 0.0);
    let tr = |x: f64| dir.orient * if log { x.ln() } else { x };
    let c: Vec<f64> = cur.iter().map(|&v| tr(v)).collect();
    let h: Vec<f64> = hist.iter().map(|&v| tr(v)).collect();
    let center = hist.iter().sum::<f64>() / hist.len() as f64;
    let mut test = if has_ties(&cur, &hist) || has_far_out(&c) || has_far_out(&h) {
        mann_whitney(&c, &h, dir, log, center)
    } else {
        welch(&c, &h, dir, log, center)
    };
    test.runs = Some(runs.len());
    Some(test)
}

fn welch(c: &[f64], h: &[f64], dir: &Direction, log: bool, center: f64) -> Test {
    let (mc, vc) = mean_var(c);
    let (mh, vh) = mean_var(h);
    let (nc, nh) = (c.len() as f64, h.len() as f64);
    let se2 = vc / nc + vh / nh;
    if se2 <= 0.0 || !se2.is_finite() {
        return deterministic(mc - mh);
    }
    let df_for = |m: f64| {
        let a = vc / m;
        let b = vh / nh;
        (a + b).powi(2) / (a * a / (m - 1.0) + b * b / (nh - 1.0))
    };
    let df = df_for(nc);
    let t = (mc - mh) / se2.sqrt();
    let crit = t_quantile(1.0 - dir.alpha, df).map(|q| q * se2.sqrt());
    let runs_needed = dir.shift(log, center).and_then(|l| {
        let callable = |m: usize| {
            let m = m as f64;
            t_quantile(1.0 - dir.alpha, df_for(m))
                .is_some_and(|q| q * (vc / m + vh / nh).sqrt() <= l)
        };
        if !callable(MAX_RUNS_NEEDED) {
            return None;
        }
        let (mut lo, mut hi) = (2, MAX_RUNS_NEEDED);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if callable(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Some(lo)
    });
    Test {
        method: Method::WelchT,
        runs: None,
        p: t_sf(t, df),
        detectable: crit.and_then(|d| dir.relative(d, log, center)),
        runs_needed,
    }
}

fn mann_whitney(c: &[f64], h: &[f64], dir: &Direction, log: bool, center: f64) -> Test {
    let (nc, nh) = (c.len() as f64, h.len() as f64);
    let mut all: Vec<(f64, bool)> = c
        .iter()
        .map(|&v| (v, true))
        .chain(h.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += rank * all[i..=j].iter().filter(|x| x.1).count() as f64;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let n = nc + nh;
    let u = rank_sum - nc * (nc + 1.0) / 2.0;
    let mu = nc * nh / 2.0;
    let var = nc * nh / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if var <= 0.0 || !var.is_finite() {
        return deterministic(u - mu);
    }
    // Continuity correction toward the mean, as scipy's `use_continuity=True`.
    let z = (u - mu - 0.5) / var.sqrt();
    let p = normal_sf(z);
    let (sc, sh) = (robust_scale(c), robust_scale(h));
    let zq = normal_quantile(1.0 - dir.alpha);
    let are = std::f64::consts::PI / 3.0;
    let crit = zq.map(|z| z * (are * (sc * sc / nc + sh * sh / nh)).sqrt());
    let runs_needed = zq.zip(dir.shift(log, center)).and_then(|(z, l)| {
        let room = l * l / (z * z * are) - sh * sh / nh;
        if room <= 0.0 {
            return None;
        }
        let m = (sc * sc / room).ceil().max(1.0);
        (m <= MAX_RUNS_NEEDED as f64).then_some(m as usize)
    });
    Test {
        method: Method::MannWhitney,
        runs: None,
        p,
        detectable: crit.and_then(|d| dir.relative(d, log, center)),
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
    Some(Test {
        method: Method::HistogramQuantile,
        runs: Some(per_run.len()),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

fn cv(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let (mean, var) = mean_var(values);
    let cv = var.sqrt() / mean.abs();
    cv.is_finite().then_some(cv)
}

/// σ estimated as 1.4826·MAD, or the sample sd where over half the values are equal (MAD 0).
fn robust_scale(xs: &[f64]) -> f64 {
    let Some(med) = median(xs) else { return 0.0 };
    let dev: Vec<f64> = xs.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&dev).unwrap_or(0.0) * MAD_TO_SD;
    if mad > 0.0 {
        mad
    } else {
        mean_var(xs).1.sqrt()
    }
}

fn has_ties(a: &[f64], b: &[f64]) -> bool {
    let mut all: Vec<f64> = a.iter().chain(b).copied().collect();
    all.sort_by(f64::total_cmp);
    all.windows(2).any(|w| w[0] == w[1])
}

/// Any value beyond Tukey's far-out fences (quartiles by linear interpolation, as numpy's
/// default; fewer than 4 values have no meaningful quartiles).
fn has_far_out(xs: &[f64]) -> bool {
    if xs.len() < 4 {
        return false;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let h = p * (v.len() - 1) as f64;
        let i = h.floor() as usize;
        let j = (i + 1).min(v.len() - 1);
        v[i] + (h - i as f64) * (v[j] - v[i])
    };
    let (q1, q3) = (q(0.25), q(0.75));
    let iqr = q3 - q1;
    v[0] < q1 - FAR_OUT * iqr || v[v.len() - 1] > q3 + FAR_OUT * iqr
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

fn normal_sf(z: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(d) if !z.is_nan() => d.sf(z),
        _ => 1.0,
    }
}

fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let q = Normal::new(0.0, 1.0).ok()?.inverse_cdf(p);
    q.is_finite().then_some(q)
}

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
        // The same history, higher is better: 112 is an improvement, p = 1 − 0.00202.
        let up = compare(&h, &one(112.0), false, 0.05, 0.10);
        close(up.p_value.unwrap(), 1.0 - 0.002_019_109_843_011_121_7, 1e-9);
        close(up.worse.unwrap(), -11.5 / 100.5, 1e-12);
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

    #[test]
    fn welch_on_logs_matches_scipy() {
        // scipy.stats.ttest_ind(log(cur), log(hist), equal_var=False, alternative='greater')
        // → statistic 4.691414491434579, pvalue 0.0014627393395011616, df 6.3210732402106675
        // detectable: exp(t.ppf(0.95, df)·sqrt(var(log cur)/5 + var(log hist)/10)) − 1
        // → 0.02735937851382375
        let cur = [2710.0, 2650.0, 2790.0, 2600.0, 2740.0];
        let hist = [
            [2500.0, 2550.0],
            [2480.0, 2610.0],
            [2450.0, 2530.0],
            [2590.0, 2470.0],
            [2520.0, 2560.0],
        ];
        let h: Vec<Observation> = hist
            .iter()
            .map(|s| Observation {
                value: (s[0] + s[1]) / 2.0,
                samples: s,
                histogram: None,
            })
            .collect();
        let current = Observation {
            value: 2710.0,
            samples: &cur,
            histogram: None,
        };
        let c = compare(&h, &current, true, 0.05, 0.10);
        assert_eq!(c.method, Method::WelchT);
        assert_eq!(c.runs, 5);
        close(c.p_value.unwrap(), 0.001_462_739_339_501_161_6, 1e-9);
        close(c.detectable.unwrap(), 0.027_359_378_513_823_75, 1e-9);
        assert!(c.runs_needed.is_some_and(|m| m <= 5));
        // Higher is better: scipy with alternative='greater' on the negated logs
        // → 0.9985372606604989.
        let up = compare(&h, &current, false, 0.05, 0.10);
        close(up.p_value.unwrap(), 0.998_537_260_660_498_9, 1e-9);
    }

    #[test]
    fn mann_whitney_with_ties_matches_scipy() {
        // x = [130, 128, 135, 128, 140]; y = [120, 125, 128, 122, 119, 124, 126, 121, 130, 123]
        // scipy.stats.mannwhitneyu(x, y, alternative='greater', method='asymptotic')
        // → statistic 46.5, pvalue 0.004889837696730633; alternative='less' → 0.9966006686374552
        let x = [130.0, 128.0, 135.0, 128.0, 140.0];
        let y = [
            [120.0, 125.0],
            [128.0, 122.0],
            [119.0, 124.0],
            [126.0, 121.0],
            [130.0, 123.0],
        ];
        let h: Vec<Observation> = y
            .iter()
            .map(|s| Observation {
                value: (s[0] + s[1]) / 2.0,
                samples: s,
                histogram: None,
            })
            .collect();
        let current = Observation {
            value: 130.0,
            samples: &x,
            histogram: None,
        };
        let c = compare(&h, &current, true, 0.05, 0.10);
        assert_eq!(c.method, Method::MannWhitney);
        close(c.p_value.unwrap(), 0.004_889_837_696_730_633, 1e-9);
        assert!(c.detectable.unwrap() > 0.0);
        // Higher is better: worse means lower, scipy's alternative='less'.
        let up = compare(&h, &current, false, 0.05, 0.10);
        close(up.p_value.unwrap(), 0.996_600_668_637_455_2, 1e-9);
    }

    #[test]
    fn a_far_out_sample_switches_to_mann_whitney() {
        let h: Vec<Vec<f64>> = (0..5)
            .map(|i| vec![100.0 + i as f64, 101.5 + i as f64, 99.2 + i as f64])
            .collect();
        let h: Vec<Observation> = h
            .iter()
            .map(|s| Observation {
                value: s[0],
                samples: s,
                histogram: None,
            })
            .collect();
        let cur = [103.1, 102.7, 104.4, 400.0, 103.9];
        let current = Observation {
            value: 103.9,
            samples: &cur,
            histogram: None,
        };
        assert_eq!(
            compare(&h, &current, true, 0.05, 0.10).method,
            Method::MannWhitney
        );
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
    }

    fn tested(p: f64, worse: f64) -> Candidate {
        candidate(
            Comparison {
                method: Method::PredictionInterval,
                runs: 15,
                baseline: 100.0,
                change: Some(worse),
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
}
