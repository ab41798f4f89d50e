//! Prints the accuracy tables of issue 3 and of issue 14's creep: every scenario of `tests/simulation.rs` (the acceptance
//! criteria, the between-build scenarios, and a few beyond them) with 100 000 trials, perfgate's rate beside the naive rule's
//! ("current vs the last stored run, more than 10 % worse"). Registered with `harness = false`;
//! run it with `cargo bench --bench simulate` (or `cargo test --bench simulate` for a debug build).
//!
//! The one rule: the table comes from the same seeded simulation the test asserts on, so the
//! numbers quoted in the README can be reproduced exactly.

#[path = "../tests/simulation.rs"]
mod simulation;

use simulation::{
    between_build, creep_requirements, requirements, simulate, simulate_creep, Scenario, METRICS,
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
