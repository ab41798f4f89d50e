//! Accuracy measured, not assumed (issue 3): noisy histories with a known truth, judged through
//! `stats::compare` + `stats::decide` exactly as the gate judges them (slack 10 %, confidence
//! 0.95), beside the rule peers use ("current vs the last stored run, more than 10 % worse").
//!
//! The one rule: every number comes from a seeded generator (SplitMix64 + Box–Muller), so a run
//! of this test is reproducible; `benches/simulate.rs` runs the same scenarios with more trials
//! and prints the table.
//!
//! Noise model: each value (or each sample of a run) is `median · B · exp(σZ)`, lognormal with
//! `σ = sqrt(ln(1 + CV²))` so that its coefficient of variation is CV — the multiplicative noise
//! of timings on shared CI runners. `B` is the build's effect, one lognormal draw per build with
//! its own CV (`between`) shared by every sample of that build: on real runners a build lands on
//! a faster or slower machine, or beside a noisy neighbour, and all its samples move together.
//! `between = 0` is the i.i.d. model (B = 1). A run with samples (Lighthouse's five runs per
//! build, Artillery's 10-second periods) reports their median as its value, as perfgate's ingest
//! does.

use perfgate::stats::{self, Candidate, Observation};

/// The gate's defaults (README, "The budget"): `regression = "10%"`, `confidence = 0.95`.
pub const SLACK: f64 = 0.10;
pub const ALPHA: f64 = 0.05;
/// History runs kept before a judged build.
pub const HISTORY: usize = 15;

/// SplitMix64 (Steele, Lea & Flood 2014), the seeding generator of xoshiro: tiny, fast and good
/// enough for Monte Carlo rates at the 0.1 % level.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1]: 53 random bits, never 0 so that `ln` is finite.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal by Box–Muller (one of the pair; simplicity over speed).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn lognormal(&mut self, median: f64, cv: f64) -> f64 {
        median * ((1.0 + cv * cv).ln().sqrt() * self.normal()).exp()
    }
}

/// A metric of a simulated report.
#[derive(Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub median: f64,
    pub lower_is_better: bool,
}

/// A simulated budget: its metrics, their noise, and the truth of the judged build.
pub struct Scenario {
    pub name: String,
    pub metrics: Vec<Metric>,
    /// Coefficient of variation of each value (or each sample) within a build.
    pub cv: f64,
    /// Coefficient of variation of the build effect shared by a build's samples (0 = none).
    pub between: f64,
    /// Samples per run (Lighthouse's runs per build); 0 = one value per run.
    pub samples: usize,
    /// True worse change of the first metric in the judged build (0 = nothing changed).
    pub shift: f64,
}

/// Rates over the trials: the share of builds flagged (any regression when nothing changed; the
/// first metric's regression when it was shifted).
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub trials: usize,
    pub ours: f64,
    pub naive: f64,
    /// Share of builds where some metric was called inconclusive (a warning, not a failure).
    pub inconclusive: f64,
}

impl Rates {
    /// The binomial standard error of `ours`.
    pub fn se(&self) -> f64 {
        (self.ours * (1.0 - self.ours) / self.trials as f64).sqrt()
    }
}

struct Run {
    value: f64,
    samples: Vec<f64>,
}

fn run(rng: &mut Rng, m: &Metric, sc: &Scenario, factor: f64) -> Run {
    // No draw without a build effect, so the i.i.d. scenarios keep their seeded numbers.
    let build = if sc.between > 0.0 {
        rng.lognormal(1.0, sc.between)
    } else {
        1.0
    };
    let median = m.median * factor * build;
    let (cv, samples) = (sc.cv, sc.samples);
    if samples == 0 {
        return Run {
            value: rng.lognormal(median, cv),
            samples: Vec::new(),
        };
    }
    let s: Vec<f64> = (0..samples).map(|_| rng.lognormal(median, cv)).collect();
    Run {
        value: perfgate::model::median(&s).unwrap_or(median),
        samples: s,
    }
}

/// Judges `trials` builds of the scenario.
pub fn simulate(sc: &Scenario, trials: usize, seed: u64) -> Rates {
    let mut rng = Rng::new(seed);
    let (mut ours, mut naive, mut inconclusive) = (0, 0, 0);
    for _ in 0..trials {
        let mut family = Vec::with_capacity(sc.metrics.len());
        let mut naive_flag = false;
        for (i, m) in sc.metrics.iter().enumerate() {
            let history: Vec<Run> = (0..HISTORY).map(|_| run(&mut rng, m, sc, 1.0)).collect();
            let shift = if i == 0 { sc.shift } else { 0.0 };
            let factor = if m.lower_is_better {
                1.0 + shift
            } else {
                1.0 / (1.0 + shift)
            };
            let current = run(&mut rng, m, sc, factor);
            let obs: Vec<Observation> = history
                .iter()
                .map(|r| Observation {
                    value: r.value,
                    samples: &r.samples,
                    histogram: None,
                })
                .collect();
            let cur = Observation {
                value: current.value,
                samples: &current.samples,
                histogram: None,
            };
            let comparison = stats::compare(&obs, &cur, m.lower_is_better, ALPHA, SLACK);
            let last = history[HISTORY - 1].value;
            let change = (current.value - last) / last;
            let worse = if m.lower_is_better { change } else { -change };
            if worse > SLACK && (i == 0 || sc.shift == 0.0) {
                naive_flag = true;
            }
            family.push(Candidate {
                comparison,
                slack: SLACK,
                alpha: ALPHA,
                min_change: None,
                current: current.value,
            });
        }
        let decisions = stats::decide(&family);
        let flagged = if sc.shift == 0.0 {
            decisions.iter().any(|d| d.regression)
        } else {
            decisions[0].regression
        };
        ours += usize::from(flagged);
        naive += usize::from(naive_flag);
        inconclusive += usize::from(
            decisions
                .iter()
                .any(|d| d.call == stats::Call::Inconclusive),
        );
    }
    let rate = |k: usize| k as f64 / trials as f64;
    Rates {
        trials,
        ours: rate(ours),
        naive: rate(naive),
        inconclusive: rate(inconclusive),
    }
}

/// Artillery- and Lighthouse-shaped metrics (ms, requests/s), medians from the examples.
pub const METRICS: [Metric; 8] = [
    Metric {
        name: "api.http.response_time.p95",
        median: 120.0,
        lower_is_better: true,
    },
    Metric {
        name: "api.http.response_time.p99",
        median: 180.0,
        lower_is_better: true,
    },
    Metric {
        name: "api.http.response_time.median",
        median: 45.0,
        lower_is_better: true,
    },
    Metric {
        name: "api.http.request_rate",
        median: 50.0,
        lower_is_better: false,
    },
    Metric {
        name: "web.lcp",
        median: 2500.0,
        lower_is_better: true,
    },
    Metric {
        name: "web.fcp",
        median: 1200.0,
        lower_is_better: true,
    },
    Metric {
        name: "web.si",
        median: 1800.0,
        lower_is_better: true,
    },
    Metric {
        name: "web.tbt",
        median: 300.0,
        lower_is_better: true,
    },
];

/// A requirement of issue 3: the scenario and the bound on our rate (neither bound: measured
/// and reported, not asserted).
pub struct Requirement {
    pub scenario: Scenario,
    /// `Some(max)` for a false-alarm bound.
    pub max_false_alarm: Option<f64>,
    /// `Some(min)` for a power bound.
    pub min_detection: Option<f64>,
}

fn shift_text(shift: f64) -> String {
    if shift == 0.0 {
        "no change".to_string()
    } else {
        format!("+{:.0}% shift", shift * 100.0)
    }
}

fn alarm(scenario: Scenario) -> Requirement {
    Requirement {
        scenario,
        max_false_alarm: Some(0.05),
        min_detection: None,
    }
}

fn power(scenario: Scenario, min: Option<f64>) -> Requirement {
    Requirement {
        scenario,
        max_false_alarm: None,
        min_detection: min,
    }
}

/// The scenarios issue 3 sets as acceptance criteria, at default settings (i.i.d. noise).
pub fn requirements() -> Vec<Requirement> {
    let one = |cv: f64, shift: f64, samples: usize, metric: Metric| Scenario {
        name: format!(
            "{}, {} per build, CV {:.0}%, {}",
            metric.name,
            if samples == 0 {
                "one run".to_string()
            } else {
                format!("{samples} samples")
            },
            cv * 100.0,
            shift_text(shift)
        ),
        metrics: vec![metric],
        cv,
        between: 0.0,
        samples,
        shift,
    };
    let p95 = METRICS[0];
    let lcp = METRICS[4];
    vec![
        alarm(one(0.03, 0.0, 0, p95)),
        alarm(one(0.08, 0.0, 0, p95)),
        alarm(one(0.15, 0.0, 0, p95)),
        power(one(0.03, 0.25, 0, p95), Some(0.90)),
        power(one(0.08, 0.40, 0, p95), Some(0.90)),
        alarm(Scenario {
            name: "eight metrics, one run per build, CV 8%, no change".into(),
            metrics: METRICS.to_vec(),
            cv: 0.08,
            between: 0.0,
            samples: 0,
            shift: 0.0,
        }),
        alarm(one(0.08, 0.0, 5, lcp)),
        power(one(0.08, 0.15, 5, lcp), Some(0.80)),
    ]
}

/// Builds that differ from each other beyond their samples' noise (a different runner, a noisy
/// neighbour): samples of one build are not independent draws, and a gate must not mistake a
/// build's luck for a regression. False alarms are held to the same ≤ 5 % (per metric, and per
/// pull request for eight metrics); detection is measured and reported.
pub fn between_build() -> Vec<Requirement> {
    let sc = |metrics: Vec<Metric>, samples: usize, between: f64, cv: f64, shift: f64| Scenario {
        name: format!(
            "{}, {samples} samples per build, σ_b {:.0}% σ_w {:.0}%, {}",
            if metrics.len() == 1 {
                metrics[0].name.to_string()
            } else {
                format!("{} metrics", metrics.len())
            },
            between * 100.0,
            cv * 100.0,
            shift_text(shift)
        ),
        metrics,
        cv,
        between,
        samples,
        shift,
    };
    // Lighthouse: five runs of one build, 5 % between builds and 6 % between runs (≈ 8 % in all);
    // Artillery: six 10-second periods of one load test, 4 % between builds, 8 % between periods.
    let lighthouse = |shift| sc(vec![METRICS[4]], 5, 0.05, 0.06, shift);
    let artillery = |shift| sc(vec![METRICS[0]], 6, 0.04, 0.08, shift);
    vec![
        alarm(lighthouse(0.0)),
        power(lighthouse(0.15), None),
        power(lighthouse(0.25), None),
        alarm(artillery(0.0)),
        power(artillery(0.15), None),
        power(artillery(0.25), None),
        alarm(sc(METRICS.to_vec(), 5, 0.05, 0.06, 0.0)),
    ]
}

#[test]
fn issue_3_accuracy_requirements() {
    // Where the slack is inside the noise (CV ≥ ~6 % for one run against 15), the one-sided test at
    // α = 0.05 alone decides, and its false-alarm rate is α exactly: under lognormal noise the
    // prediction-interval statistic is exactly Student t (numpy, 10⁶ trials of this rule: 4.88 % at
    // CV 8 %, 5.03 % at CV 15 %). "≤ 5 %" then holds with equality, and a Monte Carlo estimate of it
    // falls either side of 5 %; the test therefore asserts that the measured rate is not
    // significantly above the bound — at most 3 binomial standard errors (0.46 points at 20 000
    // trials) over it; a rule truly at 6 % still fails (3.5 SE over). Detection bounds are asserted
    // as they stand.
    const SE_TOLERANCE: f64 = 3.0;
    let trials = 20_000;
    let mut failures = Vec::new();
    for (i, req) in requirements().iter().chain(&between_build()).enumerate() {
        let r = simulate(&req.scenario, trials, 0x5eed_0000 + i as u64);
        eprintln!(
            "{:<70} ours {:>6.2}% ± {:.2}  naive {:>6.2}%  inconclusive {:>5.2}%",
            req.scenario.name,
            r.ours * 100.0,
            r.se() * 100.0,
            r.naive * 100.0,
            r.inconclusive * 100.0
        );
        if let Some(max) = req.max_false_alarm {
            if r.ours > max + SE_TOLERANCE * r.se() {
                failures.push(format!("{}: false alarms {:.4}", req.scenario.name, r.ours));
            }
        }
        if let Some(min) = req.min_detection {
            if r.ours < min {
                failures.push(format!("{}: detection {:.4}", req.scenario.name, r.ours));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A same-job A/B (`check --against`, issue 14): the base's and the head's runs measured in turn
/// in one CI job, judged pair by pair. Each run's value is
/// `median · M · exp(W_j + trend·j) · exp(σZ)` (times `1 + shift` for the head, and 1.3 for a
/// run a noisy neighbour hits), where `M` is the job's machine (one lognormal draw per job with
/// CV `machine`, shared by every run: what a history of other jobs sees beyond the run's own
/// noise), `W_j` the runner's speed wandering over the job's runs (a random walk whose steps have
/// CV `drift`: between pairs the speed moves, within a pair it barely does), `trend` a steady
/// slowdown per run (a runner heating up), and `σZ` the run's own noise with CV `cv`.
pub struct AbScenario {
    pub name: String,
    /// Interleaved pairs of base and head runs.
    pub pairs: usize,
    /// Coefficient of variation of a run's own noise.
    pub cv: f64,
    /// Coefficient of variation of the job's machine, shared by all its runs.
    pub machine: f64,
    /// Coefficient of variation of each step of the runner's random walk between runs.
    pub drift: f64,
    /// Relative slowdown per run (0.005 = 0.5 % slower with each run).
    pub trend: f64,
    /// Every other pair runs the head first (A B, B A, …), as the README's recipe does.
    pub alternate: bool,
    /// The share of runs a noisy neighbour slows by 30 %.
    pub spikes: f64,
    /// True worse change of the head (0 = nothing changed).
    pub shift: f64,
    /// The rule's `regression`.
    pub slack: f64,
}

/// The share of jobs whose head was called a regression: perfgate's paired t, and Wilcoxon's
/// signed-rank test in its place (exact one-sided p, the same slack on the runs' medians).
#[derive(Debug, Clone, Copy)]
pub struct AbRates {
    pub trials: usize,
    pub paired_t: f64,
    pub wilcoxon: f64,
}

impl AbRates {
    /// The binomial standard error of `paired_t`.
    pub fn se(&self) -> f64 {
        (self.paired_t * (1.0 - self.paired_t) / self.trials as f64).sqrt()
    }
}

/// Wilcoxon's signed-rank test, one-sided (the differences are larger than 0): the exact p-value
/// of `W+` from the null distribution of subset sums of the ranks 1..n (no ties in continuous
/// data).
fn wilcoxon_p(diffs: &[f64]) -> f64 {
    let n = diffs.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| diffs[a].abs().total_cmp(&diffs[b].abs()));
    let w_plus: usize = order
        .iter()
        .enumerate()
        .filter(|(_, &i)| diffs[i] > 0.0)
        .map(|(rank, _)| rank + 1)
        .sum();
    let max = n * (n + 1) / 2;
    let mut ways = vec![0f64; max + 1];
    ways[0] = 1.0;
    for r in 1..=n {
        for s in (r..=max).rev() {
            ways[s] += ways[s - r];
        }
    }
    ways[w_plus..].iter().sum::<f64>() / 2f64.powi(n as i32)
}

/// Judges `trials` jobs of the A/B scenario.
pub fn simulate_ab(sc: &AbScenario, trials: usize, seed: u64) -> AbRates {
    let mut rng = Rng::new(seed);
    let step = (1.0 + sc.drift * sc.drift).ln().sqrt();
    let (mut paired_t, mut wilcoxon) = (0, 0);
    for _ in 0..trials {
        let machine = rng.lognormal(1.0, sc.machine);
        let mut walk = 0.0;
        let mut slot = 0;
        let mut run = |rng: &mut Rng, factor: f64| {
            walk += step * rng.normal();
            let spike = if rng.uniform() < sc.spikes { 1.3 } else { 1.0 };
            let v = rng.lognormal(100.0 * machine * factor * spike, sc.cv)
                * (walk + sc.trend * slot as f64).exp();
            slot += 1;
            v
        };
        let pairs: Vec<(f64, f64)> = (0..sc.pairs)
            .map(|i| {
                if sc.alternate && i % 2 == 1 {
                    let head = run(&mut rng, 1.0 + sc.shift);
                    (run(&mut rng, 1.0), head)
                } else {
                    let base = run(&mut rng, 1.0);
                    (base, run(&mut rng, 1.0 + sc.shift))
                }
            })
            .collect();
        let head: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let current = perfgate::model::median(&head).unwrap_or(f64::NAN);
        let comparison = stats::compare_paired(&pairs, true, ALPHA, sc.slack);
        let beyond = comparison.worse.is_some_and(|w| w > sc.slack);
        let decision = stats::decide(&[Candidate {
            comparison,
            slack: sc.slack,
            alpha: ALPHA,
            min_change: None,
            current,
        }])[0];
        paired_t += usize::from(decision.regression);
        let diffs: Vec<f64> = pairs.iter().map(|(b, h)| (h / b).ln()).collect();
        wilcoxon += usize::from(beyond && wilcoxon_p(&diffs) <= ALPHA);
    }
    let rate = |k: usize| k as f64 / trials as f64;
    AbRates {
        trials,
        paired_t: rate(paired_t),
        wilcoxon: rate(wilcoxon),
    }
}

/// An A/B requirement: the scenario and the bound on perfgate's rate (neither: measured).
pub struct AbRequirement {
    pub scenario: AbScenario,
    pub max_false_alarm: Option<f64>,
    pub min_detection: Option<f64>,
}

/// Issue 14's same-job A/B: +10 % at CV 8 % with 10 interleaved pairs detected ≥ 90 %, false
/// alarms ≤ 5 %, with and without the runner's drift between pairs. "CV 8 %" is the noise of one
/// run as a history of jobs sees it (the README's first table): the job's machine and the run's
/// own noise, half of the variance each (5.7 % and 5.7 %); the pairs cancel the machine. Where
/// all 8 % is the run's own noise, no test at 5 % reaches 90 % with 10 pairs (a z-test knowing σ:
/// Φ(√10·ln 1.1/(0.08·√2) − 1.645) = 84.7 %): that row is measured, and 15 pairs are asserted
/// instead. Slack 3 %: a +10 % change must show beyond it in the runs' medians too.
pub fn ab_requirements() -> Vec<AbRequirement> {
    struct S {
        pairs: usize,
        cv: f64,
        machine: f64,
        drift: f64,
        trend: f64,
        alternate: bool,
        spikes: f64,
        shift: f64,
    }
    const BASE: S = S {
        pairs: 10,
        cv: 0.057,
        machine: 0.057,
        drift: 0.01,
        trend: 0.0,
        alternate: true,
        spikes: 0.0,
        shift: 0.0,
    };
    let sc = |s: S| AbScenario {
        name: format!(
            "{} pairs{}, run {:.1}% + machine {:.1}%, drift {:.0}%/run{}{}, {}",
            s.pairs,
            if s.alternate {
                " A B, B A"
            } else {
                " A B, A B"
            },
            s.cv * 100.0,
            s.machine * 100.0,
            s.drift * 100.0,
            if s.trend > 0.0 {
                format!(", trend +{:.1}%/run", s.trend * 100.0)
            } else {
                String::new()
            },
            if s.spikes > 0.0 {
                format!(", {:.0}% of runs +30%", s.spikes * 100.0)
            } else {
                String::new()
            },
            shift_text(s.shift)
        ),
        pairs: s.pairs,
        cv: s.cv,
        machine: s.machine,
        drift: s.drift,
        trend: s.trend,
        alternate: s.alternate,
        spikes: s.spikes,
        shift: s.shift,
        slack: 0.03,
    };
    let alarm = |s: S| AbRequirement {
        scenario: sc(s),
        max_false_alarm: Some(0.05),
        min_detection: None,
    };
    let power = |s: S, min| AbRequirement {
        scenario: sc(s),
        max_false_alarm: None,
        min_detection: min,
    };
    let up = 0.10;
    vec![
        alarm(BASE),
        alarm(S { drift: 0.0, ..BASE }),
        power(S { shift: up, ..BASE }, Some(0.90)),
        power(
            S {
                shift: up,
                drift: 0.0,
                ..BASE
            },
            Some(0.90),
        ),
        alarm(S {
            cv: 0.08,
            machine: 0.0,
            ..BASE
        }),
        power(
            S {
                cv: 0.08,
                machine: 0.0,
                shift: up,
                ..BASE
            },
            None,
        ),
        power(
            S {
                cv: 0.08,
                machine: 0.0,
                shift: up,
                pairs: 15,
                ..BASE
            },
            Some(0.90),
        ),
        alarm(S {
            trend: 0.005,
            ..BASE
        }),
        power(
            S {
                trend: 0.005,
                alternate: false,
                ..BASE
            },
            None,
        ),
        alarm(S {
            spikes: 0.1,
            ..BASE
        }),
        power(
            S {
                spikes: 0.1,
                shift: up,
                ..BASE
            },
            None,
        ),
    ]
}

#[test]
fn issue_14_same_job_ab_requirements() {
    // The paired t is exact under this noise, so its false alarms sit at or below α: the bound
    // is asserted as issue 3's are, up to 3 binomial standard errors.
    const SE_TOLERANCE: f64 = 3.0;
    let trials = 20_000;
    let mut failures = Vec::new();
    for (i, req) in ab_requirements().iter().enumerate() {
        let r = simulate_ab(&req.scenario, trials, 0xab00_0000 + i as u64);
        eprintln!(
            "{:<70} paired t {:>6.2}% ± {:.2}  wilcoxon {:>6.2}%",
            req.scenario.name,
            r.paired_t * 100.0,
            r.se() * 100.0,
            r.wilcoxon * 100.0
        );
        if let Some(max) = req.max_false_alarm {
            if r.paired_t > max + SE_TOLERANCE * r.se() {
                failures.push(format!(
                    "{}: false alarms {:.4}",
                    req.scenario.name, r.paired_t
                ));
            }
        }
        if let Some(min) = req.min_detection {
            if r.paired_t < min {
                failures.push(format!(
                    "{}: detection {:.4}",
                    req.scenario.name, r.paired_t
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// What the re-run of README "Resolving an inconclusive change" achieves: of the builds whose
/// first check is inconclusive, how many a second check on `runs_needed` runs (the first and the
/// new ones) resolves, and how many it resolves right (no regression when nothing changed, a
/// regression when the build is worse).
#[derive(Debug, Clone, Copy)]
pub struct Resolution {
    /// Share of builds whose first check is inconclusive.
    pub inconclusive: f64,
    /// Share of those with a `runs_needed` (the rest cannot be resolved by measuring again).
    pub reachable: f64,
    /// The mean `runs_needed` of the reachable ones.
    pub mean_runs: f64,
    /// Against the same history (one value per build): share of the reachable ones the second
    /// check decides (no longer inconclusive), and decides right.
    pub resolved: f64,
    pub right: f64,
    /// Against a history recorded with `runs_needed` runs per build too (the default branch
    /// measuring as the pull request now does): the same two shares.
    pub resolved_matched: f64,
    pub right_matched: f64,
}

/// The call on `current` against `history`, each a build's samples (one value: a build of one run).
fn call(history: &[Vec<f64>], current: &[f64]) -> (stats::Decision, Option<usize>) {
    let observe =
        |s: &[f64]| -> (f64, usize) { (perfgate::model::median(s).expect("a run"), s.len()) };
    let obs: Vec<Observation> = history
        .iter()
        .map(|s| Observation {
            value: observe(s).0,
            samples: if s.len() > 1 { s } else { &[] },
            histogram: None,
        })
        .collect();
    let (value, n) = observe(current);
    let cur = Observation {
        value,
        samples: if n > 1 { current } else { &[] },
        histogram: None,
    };
    let comparison = stats::compare(&obs, &cur, true, ALPHA, SLACK);
    let runs_needed = comparison.runs_needed;
    let d = stats::decide(&[Candidate {
        comparison,
        slack: SLACK,
        alpha: ALPHA,
        min_change: None,
        current: value,
    }])[0];
    (d, runs_needed)
}

/// The (CV, true change) rows of README's re-run table.
pub const RESOLVE_CASES: [(f64, f64); 5] = [
    (0.08, 0.0),
    (0.08, 0.15),
    (0.08, 0.25),
    (0.15, 0.0),
    (0.15, 0.25),
];

/// One metric judged on one value per build (15-run history, CV `cv`, true change `shift`); each
/// inconclusive build is measured again up to its `runs_needed` and judged on the runs together,
/// against the same history and against one recorded with as many runs per build.
pub fn resolve(cv: f64, shift: f64, trials: usize, seed: u64) -> Resolution {
    let mut rng = Rng::new(seed);
    let median = METRICS[0].median;
    let truth = median * (1.0 + shift);
    let mut counts = [0usize; 7];
    let [inconclusive, reachable, runs, resolved, right, resolved_m, right_m] = &mut counts;
    for _ in 0..trials {
        let history: Vec<Vec<f64>> = (0..HISTORY)
            .map(|_| vec![rng.lognormal(median, cv)])
            .collect();
        let mut samples = vec![rng.lognormal(truth, cv)];
        let (first, runs_needed) = call(&history, &samples);
        if first.call != stats::Call::Inconclusive {
            continue;
        }
        *inconclusive += 1;
        let Some(m) = runs_needed else { continue };
        *reachable += 1;
        *runs += m;
        while samples.len() < m {
            samples.push(rng.lognormal(truth, cv));
        }
        let matched: Vec<Vec<f64>> = (0..HISTORY)
            .map(|_| (0..m).map(|_| rng.lognormal(median, cv)).collect())
            .collect();
        for (history, resolved, right) in [
            (&history, &mut *resolved, &mut *right),
            (&matched, &mut *resolved_m, &mut *right_m),
        ] {
            let (second, _) = call(history, &samples);
            if second.call != stats::Call::Inconclusive {
                *resolved += 1;
                *right += usize::from(second.regression == (shift > 0.0));
            }
        }
    }
    let share = |k: usize, of: usize| if of == 0 { 0.0 } else { k as f64 / of as f64 };
    let [inconclusive, reachable, runs, resolved, right, resolved_m, right_m] = counts;
    Resolution {
        inconclusive: share(inconclusive, trials),
        reachable: share(reachable, inconclusive),
        mean_runs: share(runs, reachable),
        resolved: share(resolved, reachable),
        right: share(right, reachable),
        resolved_matched: share(resolved_m, reachable),
        right_matched: share(right_m, reachable),
    }
}

/// README's table: against a history recorded with as many runs per build, measuring again
/// decides nearly every inconclusive build (≥ 90 %), and rightly in most (≥ 75 %); against the old
/// one-run history it decides most unchanged builds (≥ 70 %) but fewer regressed ones, which is
/// why the README tells the default branch to record as many runs.
#[test]
fn measuring_again_resolves_inconclusive_builds() {
    let trials = 40_000;
    let mut failures = Vec::new();
    for (i, (cv, shift)) in RESOLVE_CASES.into_iter().enumerate() {
        let r = resolve(cv, shift, trials, 0x5e5e_0000 + i as u64);
        eprintln!(
            "CV {:>2.0}%, {:<10} inconclusive {:>5.2}%  reachable {:>6.2}%  runs {:>5.1}  same history: resolved {:>6.2}% right {:>6.2}%  matched: resolved {:>6.2}% right {:>6.2}%",
            cv * 100.0,
            shift_text(shift),
            r.inconclusive * 100.0,
            r.reachable * 100.0,
            r.mean_runs,
            r.resolved * 100.0,
            r.right * 100.0,
            r.resolved_matched * 100.0,
            r.right_matched * 100.0
        );
        if r.resolved_matched < 0.90 || r.right_matched < 0.75 {
            failures.push(format!("CV {cv}, shift {shift}: {r:?}"));
        }
        if shift == 0.0 && r.resolved < 0.70 {
            failures.push(format!("CV {cv}, no change, same history: {r:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// What a budget waiver of `change = N %` does for a change of known cost (README, "Waivers"): of
/// the builds of a pull request that truly costs `cost`, the share the gate fails anyway because
/// the measured change exceeds the waiver (the waiver's headroom was too small for the noise),
/// and the share whose regression the waiver accepts.
#[derive(Debug, Clone, Copy)]
pub struct WaiverRates {
    /// Regression called and within the waiver: waived.
    pub waived: f64,
    /// Regression called and beyond the waiver: the gate still fails.
    pub exceeded: f64,
}

/// The (CV, true cost, waiver's `change`) rows of README's waiver table.
pub const WAIVER_CASES: [(f64, f64, f64); 7] = [
    (0.03, 0.30, 0.30),
    (0.03, 0.30, 0.35),
    (0.03, 0.30, 0.45),
    (0.08, 0.30, 0.30),
    (0.08, 0.30, 0.40),
    (0.08, 0.30, 0.50),
    (0.08, 0.30, 0.65),
];

/// One metric, one value per build, 15-run history of CV `cv`; the judged build truly costs
/// `cost`; the waiver accepts a change up to `change` against the history's median, as the
/// judge applies it (`Comparison::change`, the change the table shows).
pub fn waive(cv: f64, cost: f64, change: f64, trials: usize, seed: u64) -> WaiverRates {
    let mut rng = Rng::new(seed);
    let median = METRICS[0].median;
    let (mut waived, mut exceeded) = (0usize, 0usize);
    for _ in 0..trials {
        let history: Vec<Vec<f64>> = (0..HISTORY)
            .map(|_| vec![rng.lognormal(median, cv)])
            .collect();
        let current = [rng.lognormal(median * (1.0 + cost), cv)];
        let obs: Vec<Observation> = history
            .iter()
            .map(|s| Observation {
                value: s[0],
                samples: &[],
                histogram: None,
            })
            .collect();
        let cur = Observation {
            value: current[0],
            samples: &[],
            histogram: None,
        };
        let comparison = stats::compare(&obs, &cur, true, ALPHA, SLACK);
        let measured = comparison.change;
        let d = stats::decide(&[Candidate {
            comparison,
            slack: SLACK,
            alpha: ALPHA,
            min_change: None,
            current: current[0],
        }])[0];
        if d.regression || d.call == stats::Call::Inconclusive {
            if measured.is_some_and(|c| c <= change) {
                waived += 1;
            } else {
                exceeded += 1;
            }
        }
    }
    WaiverRates {
        waived: waived as f64 / trials as f64,
        exceeded: exceeded as f64 / trials as f64,
    }
}

/// README's waiver table: with the waiver's headroom over the known cost at least the noise's
/// few standard deviations, the gate stays green on nearly every build; with none, on about half.
#[test]
fn a_waiver_needs_headroom_over_the_cost_for_the_noise() {
    let trials = 40_000;
    let mut failures = Vec::new();
    for (i, (cv, cost, change)) in WAIVER_CASES.into_iter().enumerate() {
        let r = waive(cv, cost, change, trials, 0x3a1e_0000 + i as u64);
        eprintln!(
            "CV {:>2.0}%, cost +{:.0}%, waiver {:.0}%: waived {:>6.2}%  still fails {:>6.2}%",
            cv * 100.0,
            cost * 100.0,
            change * 100.0,
            r.waived * 100.0,
            r.exceeded * 100.0
        );
        let headroom = (1.0 + change) / (1.0 + cost) - 1.0;
        // About 3 standard deviations of one value's noise: the gate fails at most 1 % of builds.
        if headroom >= 3.0 * cv && r.exceeded > 0.01 {
            failures.push(format!("{cv} {cost} {change}: {r:?}"));
        }
        // No headroom: the measured change is above the true cost on about half the builds.
        if headroom == 0.0 && !(0.40..0.60).contains(&r.exceeded) {
            failures.push(format!("{cv} {cost} {change}: {r:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Runs the default branch keeps (`baseline update --keep`'s default).
pub const KEEP: usize = 30;

/// How often creep was called over the trials, and how soon.
#[derive(Debug, Clone, Copy)]
pub struct CreepRates {
    pub trials: usize,
    /// Share of trials where some check called creep.
    pub called: f64,
    /// The median merge (from 1) of the first call, among the trials that had one.
    pub median_merge: Option<f64>,
    /// Share of trials where some pull request's run was called a regression against the same
    /// window (the per-run test of issue 3, as `check` runs it beside the creep test).
    pub regression: f64,
}

impl CreepRates {
    /// The binomial standard error of `called`.
    pub fn se(&self) -> f64 {
        (self.called * (1.0 - self.called) / self.trials as f64).sqrt()
    }
}

/// A default branch under watch for creep (issue 14): a full window of [`KEEP`] runs at a flat
/// level, then `merges` merges, the k-th (from 1) moving the level to `(1 + drift)^k`. Each merge
/// is checked first as its pull request is — `stats::creep::creep` over the window and the pull
/// request's run — and then recorded by `baseline update`, a run of its own, dropping the oldest.
/// A trial counts when any of its checks calls creep.
pub fn simulate_creep(cv: f64, drift: f64, merges: usize, trials: usize, seed: u64) -> CreepRates {
    let mut rng = Rng::new(seed);
    let mut first = Vec::new();
    let mut regressed = 0;
    for _ in 0..trials {
        let mut window: std::collections::VecDeque<f64> =
            (0..KEEP).map(|_| rng.lognormal(100.0, cv)).collect();
        let mut called = None;
        let mut regression = false;
        for k in 1..=merges {
            let level = 100.0 * (1.0 + drift).powi(k as i32);
            let mut series: Vec<f64> = window.iter().copied().collect();
            series.push(rng.lognormal(level, cv));
            if called.is_none() && stats::creep::creep(&series, true, ALPHA, SLACK, 1).is_some() {
                called = Some(k as f64);
            }
            let (current, history) = series.split_last().expect("a run");
            let obs = |value: f64| Observation {
                value,
                samples: &[],
                histogram: None,
            };
            let history: Vec<Observation> = history.iter().map(|v| obs(*v)).collect();
            let comparison = stats::compare(&history, &obs(*current), true, ALPHA, SLACK);
            regression |= stats::decide(&[Candidate {
                comparison,
                slack: SLACK,
                alpha: ALPHA,
                min_change: None,
                current: *current,
            }])[0]
                .regression;
            window.pop_front();
            window.push_back(rng.lognormal(level, cv));
        }
        first.extend(called);
        regressed += usize::from(regression);
    }
    CreepRates {
        trials,
        called: first.len() as f64 / trials as f64,
        median_merge: perfgate::model::median(&first),
        regression: regressed as f64 / trials as f64,
    }
}

/// The creep scenarios: issue 14's two targets at CV 5 % (`Some(bound)`: a detection floor for
/// a drift, a false-alarm ceiling for a flat history), then the same at twice the noise, measured.
pub fn creep_requirements() -> Vec<(&'static str, f64, f64, usize, Option<f64>)> {
    vec![
        (
            "+3 %/merge, CV 5 %, within 10 merges",
            0.05,
            0.03,
            10,
            Some(0.90),
        ),
        ("flat, CV 5 %, 30 merges", 0.05, 0.0, 30, Some(0.05)),
        (
            "+3 %/merge, CV 10 %, within 10 merges",
            0.10,
            0.03,
            10,
            None,
        ),
        ("+1 %/merge, CV 5 %, within 30 merges", 0.05, 0.01, 30, None),
        (
            "+0.5 %/merge, CV 5 %, within 30 merges",
            0.05,
            0.005,
            30,
            None,
        ),
        ("flat, CV 10 %, 30 merges", 0.10, 0.0, 30, None),
    ]
}

#[test]
fn issue_14_creep_is_caught_and_flat_histories_are_left_alone() {
    // Asserted as the issue-3 rates are: a false-alarm rate not significantly above its bound
    // (3 standard errors), a detection rate at or above its floor. The measured scenarios are the
    // bench's (`cargo bench --bench simulate`).
    let trials = 4_000;
    let mut failures = Vec::new();
    let required = creep_requirements().into_iter().enumerate();
    for (i, (name, cv, drift, merges, bound)) in required.filter(|(_, r)| r.4.is_some()) {
        let r = simulate_creep(cv, drift, merges, trials, 0x5eed_1400 + i as u64);
        eprintln!(
            "{name:<40} called {:>6.2}% ± {:.2}, first at merge {:?}; a run called a regression {:.2}%",
            r.called * 100.0,
            r.se() * 100.0,
            r.median_merge,
            r.regression * 100.0
        );
        match bound {
            Some(min) if drift > 0.0 && r.called < min => {
                failures.push(format!("{name}: detection {:.4}", r.called));
            }
            Some(max) if drift == 0.0 && r.called > max + 3.0 * r.se() => {
                failures.push(format!("{name}: false alarms {:.4}", r.called));
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
