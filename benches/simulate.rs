//! Prints the accuracy table of issue 3 and issue 14's tables (same-job A/B, re-runs, waivers, creep): every scenario of `tests/simulation.rs` (the acceptance
//! criteria, the between-build scenarios, and a few beyond them) with 100 000 trials, perfgate's rate beside the naive rule's
//! ("current vs the last stored run, more than 10 % worse"). Registered with `harness = false`;
//! run it with `cargo bench --bench simulate` (or `cargo test --bench simulate` for a debug build).
//!
//! The one rule: the table comes from the same seeded simulation the test asserts on, so the
//! numbers quoted in the README can be reproduced exactly.

#[path = "../tests/simulation.rs"]
mod simulation;

use simulation::{
    ab_requirements, between_build, creep_requirements, requirements, resolve, simulate,
    simulate_ab, simulate_creep, waive, Scenario, METRICS, RESOLVE_CASES, WAIVER_CASES,
};

const TRIALS: usize = 100_000;
/// Each creep trial is a branch of up to 30 merges, each tested over 30 splits.
const CREEP_TRIALS: usize = 20_000;

#[expect(clippy::print_stdout, reason = "the table is the bench's output")]
fn main() {
    let mut rows: Vec<(Scenario, &str)> = requirements()
        .into_iter()
        .chain(between_build())
        .map(|r| {
            let bound = match (r.max_false_alarm, r.min_detection) {
                (Some(_), _) => "false alarms ≤ 5%",
                (None, Some(min)) if min >= 0.9 => "detection ≥ 90%",
                (None, Some(_)) => "detection ≥ 80%",
                (None, None) => "(measured)",
            };
            (r.scenario, bound)
        })
        .collect();
    let extra = |name: &str, metrics: Vec<_>, cv, samples, shift| Scenario {
        name: name.to_string(),
        metrics,
        cv,
        between: 0.0,
        samples,
        shift,
    };
    rows.push((
        extra(
            "api p95, one run per build, CV 8%, +25% shift",
            vec![METRICS[0]],
            0.08,
            0,
            0.25,
        ),
        "(not required)",
    ));
    rows.push((
        extra(
            "web.lcp, 5 samples per build, CV 15%, no change",
            vec![METRICS[4]],
            0.15,
            5,
            0.0,
        ),
        "(not required)",
    ));
    rows.push((
        extra(
            "web.lcp, 5 samples per build, CV 15%, +25% shift",
            vec![METRICS[4]],
            0.15,
            5,
            0.25,
        ),
        "(not required)",
    ));
    rows.push((
        extra(
            "eight metrics, 5 samples per build, CV 8%, no change",
            METRICS.to_vec(),
            0.08,
            5,
            0.0,
        ),
        "(not required)",
    ));
    println!("{TRIALS} trials per scenario; 15-run history; slack 10%, confidence 0.95\n");
    println!(
        "| scenario | requirement | perfgate | naive (last run, >10%) | perfgate inconclusive |"
    );
    println!("|---|---|---|---|---|");
    for (i, (scenario, bound)) in rows.iter().enumerate() {
        let r = simulate(scenario, TRIALS, 0xbe7c_0000 + i as u64);
        println!(
            "| {} | {bound} | {:.2}% ± {:.2} | {:.2}% | {:.2}% |",
            scenario.name,
            r.ours * 100.0,
            r.se() * 100.0,
            r.naive * 100.0,
            r.inconclusive * 100.0
        );
    }
    println!("\nSame-job A/B (check --against): {TRIALS} trials per scenario; slack 3%, confidence 0.95\n");
    println!("| scenario | requirement | perfgate (paired t) | Wilcoxon signed-rank |");
    println!("|---|---|---|---|");
    for (i, req) in ab_requirements().iter().enumerate() {
        let r = simulate_ab(&req.scenario, TRIALS, 0xab7c_0000 + i as u64);
        let bound = match (req.max_false_alarm, req.min_detection) {
            (Some(_), _) => "false alarms ≤ 5%",
            (None, Some(_)) => "detection ≥ 90%",
            (None, None) => "(measured)",
        };
        println!(
            "| {} | {bound} | {:.2}% ± {:.2} | {:.2}% |",
            req.scenario.name,
            r.paired_t * 100.0,
            r.se() * 100.0,
            r.wilcoxon * 100.0
        );
    }
    println!("\nMeasuring again (README, \"Resolving an inconclusive change\"): of the builds whose first check is inconclusive\n");
    println!("| noise, truth | inconclusive | reachable | mean runs_needed | same history: decided (right) | matched history: decided (right) |");
    println!("|---|---|---|---|---|---|");
    for (i, (cv, shift)) in RESOLVE_CASES.into_iter().enumerate() {
        let r = resolve(cv, shift, TRIALS, 0xbe7d_0000 + i as u64);
        println!(
            "| CV {:.0}%, +{:.0}% | {:.2}% | {:.2}% | {:.1} | {:.1}% ({:.1}%) | {:.1}% ({:.1}%) |",
            cv * 100.0,
            shift * 100.0,
            r.inconclusive * 100.0,
            r.reachable * 100.0,
            r.mean_runs,
            r.resolved * 100.0,
            r.right * 100.0,
            r.resolved_matched * 100.0,
            r.right_matched * 100.0
        );
    }
    println!("\nA waiver of `change` for a change of known cost (README, \"Waivers\")\n");
    println!("| noise | true cost | waiver `change` | waived | still fails |");
    println!("|---|---|---|---|---|");
    for (i, (cv, cost, change)) in WAIVER_CASES.into_iter().enumerate() {
        let r = waive(cv, cost, change, TRIALS, 0xbe7e_0000 + i as u64);
        println!(
            "| CV {:.0}% | +{:.0}% | {:.0}% | {:.2}% | {:.2}% |",
            cv * 100.0,
            cost * 100.0,
            change * 100.0,
            r.waived * 100.0,
            r.exceeded * 100.0
        );
    }
    println!("\ncreep (issue 14): {CREEP_TRIALS} default branches each; a window of 30 runs, slack 10%, confidence 0.95\n");
    println!("| scenario | requirement | creep called | first at merge (median) | a run called a regression |");
    println!("|---|---|---|---|---|");
    for (i, (name, cv, drift, merges, bound)) in creep_requirements().into_iter().enumerate() {
        let r = simulate_creep(cv, drift, merges, CREEP_TRIALS, 0xbe7c_1400 + i as u64);
        let bound = match bound {
            Some(b) if drift > 0.0 => format!("caught ≥ {:.0}%", b * 100.0),
            Some(b) => format!("flagged ≤ {:.0}%", b * 100.0),
            None => "(measured)".to_string(),
        };
        println!(
            "| {name} | {bound} | {:.2}% ± {:.2} | {} | {} |",
            r.called * 100.0,
            r.se() * 100.0,
            r.median_merge
                .filter(|_| drift > 0.0)
                .map_or("-".to_string(), |m| format!("{m}")),
            if drift > 0.0 {
                format!("{:.2}%", r.regression * 100.0)
            } else {
                "-".to_string()
            }
        );
    }
}
