//! Creep through the binary (issue 14): a default branch whose checkout latency rises 3 % a merge,
//! recorded by `baseline update` as CI records it, and each merge's pull request checked against
//! the history the merges before it left. The creep is called within ten merges, names the merges,
//! and fails only where the budget says.

mod common;

use common::dir::{stdout, Dir};
use serde_json::Value;

/// Standard normal draws (numpy's `default_rng(14).standard_normal(24)`, rounded): the flat
/// history's noise, CV 5 %.
const NOISE: [f64; 24] = [
    -0.16, 0.85, 0.35, -1.21, 0.56, -0.46, 1.38, 0.09, -0.68, 0.27, -1.02, 0.71, 0.48, -0.33, 1.05,
    -0.87, 0.14, -0.25, 0.62, -1.4, 0.93, -0.05, 0.39, -0.58,
];

/// Regressions warn here, so that the exit codes are creep's alone: the per-run test does call
/// some of these merges' runs regressions, once their rise passes the slack against the history's
/// median, but a merged regression, or one measured against an older base, is what creep is for.
const BUDGET: &str = r#"[gate]
name = "shop"
on_regression = "warn"
{gate}
[sources.api]
format = "json"
path = "reports/api.json"

[[budget]]
metric = "api.checkout"
label = "Checkout"
target = "< 400ms"

[[budget]]
metric = "api.search"
label = "Search"
target = "< 400ms"
"#;

/// The commit of the default branch's `n`-th run.
fn commit(n: usize) -> String {
    format!("{:040x}", 0xc0ff_ee00_0000_u64 + n as u64 * 0x1_0001)
}

/// The run of merge `k` (0 for the flat history): checkout at `100 ms · 1.03^k` with the noise of
/// draw `i`, search flat.
fn report(dir: &Dir, k: usize, i: usize) {
    let noise = (0.05 * NOISE[i % NOISE.len()]).exp();
    let checkout = 100.0 * 1.03_f64.powi(k as i32) * noise;
    let search = 50.0 * (0.05 * NOISE[(i + 7) % NOISE.len()]).exp();
    dir.report(
        "reports/api.json",
        &[("checkout", checkout), ("search", search)],
    );
}

fn check(dir: &Dir, budget: &str) -> (i32, Value, String) {
    let json = dir.run(&[
        "check",
        "--budget",
        budget,
        "--baseline",
        "baselines/shop.json",
        "--format",
        "json",
    ]);
    let code = json.get_output().status.code().expect("exit code");
    let verdict: Value = serde_json::from_str(&stdout(&json)).expect("JSON verdict");
    let text = stdout(&dir.run(&[
        "check",
        "--budget",
        budget,
        "--baseline",
        "baselines/shop.json",
    ]));
    (code, verdict, text)
}

#[test]
fn creep_of_three_percent_a_merge_is_called_naming_the_merges_and_fails_where_the_budget_says() {
    let dir = Dir::new();
    dir.file("warn.toml", &BUDGET.replace("{gate}", ""));
    dir.file(
        "fail.toml",
        &BUDGET.replace("{gate}", "on_creep = \"fail\""),
    );
    dir.file("off.toml", &BUDGET.replace("{gate}", "on_creep = \"off\""));
    let recorded = std::cell::Cell::new(0);
    let update = |k: usize, i: usize| {
        report(&dir, k, i);
        recorded.set(recorded.get() + 1);
        dir.run(&[
            "baseline",
            "update",
            "--budget",
            "warn.toml",
            "--baseline",
            "baselines/shop.json",
            "--commit",
            &commit(recorded.get()),
        ])
        .success();
    };
    for i in 0..20 {
        update(0, i);
    }
    let mut first = None;
    for k in 1..=10 {
        report(&dir, k, 20 + k);
        let (warn_code, verdict, text) = check(&dir, "warn.toml");
        let (fail_code, _, _) = check(&dir, "fail.toml");
        let checkout = &verdict["metrics"][0];
        assert!(
            verdict["metrics"][1].get("creep").is_none(),
            "search is flat"
        );
        let Some(creep) = checkout.get("creep") else {
            assert_eq!((warn_code, fail_code), (0, 0), "merge {k}");
            assert_eq!(verdict["warnings"], Value::Array(Vec::new()), "merge {k}");
            assert_eq!(
                first, None,
                "once called, creep stays while the history shows it"
            );
            update(k, 20 + k);
            continue;
        };
        let merges: Vec<&str> = creep["merges"]
            .as_array()
            .expect("merges")
            .iter()
            .map(|m| m.as_str().expect("a commit"))
            .collect();
        let runs_before = creep["runs_before"].as_u64().expect("runs_before") as usize;
        assert_eq!(runs_before + merges.len(), 20 + k - 1, "{creep}");
        let expected: Vec<String> = (runs_before + 1..20 + k)
            .map(|n| commit(n)[..12].to_string())
            .collect();
        assert_eq!(merges, expected, "the runs since the shift, oldest first");
        assert!(creep["change"].as_f64().expect("change") > 0.10, "{creep}");
        let warning = &verdict["warnings"][0];
        assert_eq!(warning["kind"], "creep");
        let message = warning["message"].as_str().expect("message");
        assert!(message.starts_with("`Checkout` crept "), "{message}");
        assert!(
            message.contains(&format!(
                "over merges {} to {} ({} runs) and this run",
                merges[0],
                merges[merges.len() - 1],
                merges.len()
            )),
            "{message}"
        );
        assert!(
            message.chars().count() <= 200,
            "fits a comment's cell: {message}"
        );
        assert!(text.contains("warning: `Checkout` crept "), "{text}");
        assert_eq!(verdict["verdict"], "warn");
        assert_eq!(warn_code, 0, "a warning by default");
        if first.is_none() {
            first = Some(k);
            let markdown = stdout(&dir.run(&[
                "check",
                "--budget",
                "warn.toml",
                "--baseline",
                "baselines/shop.json",
                "--format",
                "markdown",
            ]));
            assert!(
                markdown.contains("> ⚠️ &#96;Checkout&#96; crept "),
                "{markdown}"
            );
            let detail = format!(
                "Crept ▲ {:.1} % from ",
                creep["change"].as_f64().unwrap_or(0.0) * 100.0
            );
            assert!(markdown.contains(&detail), "{detail}\n{markdown}");
            assert!(
                markdown.contains("```mermaid"),
                "the trend chart: {markdown}"
            );
            let (off_code, off, _) = check(&dir, "off.toml");
            assert_eq!(off_code, 0);
            assert!(off["metrics"][0].get("creep").is_none(), "{off}");
            assert_eq!(
                off["warnings"],
                Value::Array(Vec::new()),
                "not tested when off"
            );
            assert_eq!(creep["new"], true, "{creep}");
            assert!(message.ends_with("; this run completes it"), "{message}");
            assert_eq!(
                fail_code, 1,
                "on_creep = \"fail\" fails the run that completes it"
            );
        } else {
            assert_eq!(creep["new"], false, "{creep}");
            assert_eq!(
                fail_code, 0,
                "once in the history it warns, with either budget"
            );
        }
        update(k, 20 + k);
    }
    let first = first.expect("creep called within 10 merges");
    assert!(
        first >= 3,
        "not before the drift passes the slack: merge {first}"
    );
}
