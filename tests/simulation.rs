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
