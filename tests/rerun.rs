//! Resolving an inconclusive change by measuring again (README, "Resolving an inconclusive
//! change"), through the binary: a check on one Lighthouse run is inconclusive and says how many
//! runs per build would resolve it, in the JSON verdict and in the step outputs; the same check
//! on that many runs (the first one and the new ones, read together by the source's glob) decides.
//!
//! The data is real: the history is the quick start's baseline (`baselines/prod.json`, eight
//! builds of three Lighthouse 12.8.2 runs each, recorded by `examples/make-baseline.sh`) and the
//! runs are the quick start's Lighthouse reports (`examples/lighthouse/lhr-*.json`, recipe in its
//! README). The rule's slack is narrow (1.1 %, at 65 % confidence) so that one point of
//! Lighthouse score, the change these reports show, is beyond it and within the noise of one run.

use std::fs;
use std::path::Path;

use serde_json::Value;

mod common;

use common::dir::{stderr, stdout, Dir};

const BUDGET: &str = r#"[gate]
name = "prod"

[sources.web]
format = "lighthouse"
path = "runs/lhr-*.json"

[[budget]]
metric = "web.score.performance"
label = "Lighthouse Score"
target = "> 50"
regression = "1.1%"
confidence = 0.65
"#;

fn copy_run(dir: &Dir, name: &str) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/lighthouse")
        .join(name);
    fs::copy(from, dir.path(&format!("runs/{name}"))).expect("copy the run");
}

/// `check` in a GitHub Actions step: the exit code, the JSON verdict and the step outputs.
fn check(dir: &Dir) -> (i32, Value, String) {
    let output = dir.path("output.txt");
    fs::write(&output, "").expect("reset the outputs");
    let output = output.to_string_lossy().into_owned();
    let run = dir.run_with(
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", output.as_str()),
        ],
        &[
            "check",
            "--budget",
            "budget.toml",
            "--baseline",
            "baseline.json",
            "--format",
            "json",
            "--comment",
            "never",
        ],
    );
    let code = run.get_output().status.code().expect("exit code");
    let verdict: Value =
        serde_json::from_str(&stdout(&run)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&run)));
    (code, verdict, fs::read_to_string(&output).expect("outputs"))
}

/// The value of one `name=value` step output.
fn output<'a>(outputs: &'a str, name: &str) -> &'a str {
    outputs
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no output {name} in {outputs}"))
}

#[test]
fn one_run_is_inconclusive_and_the_runs_it_names_decide() {
    let dir = Dir::new();
    dir.file("budget.toml", BUDGET);
    let history = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/prod.json");
    fs::copy(history, dir.path("baseline.json")).expect("copy the baseline");
    fs::create_dir_all(dir.path("runs")).expect("mkdir");
    copy_run(&dir, "lhr-2.json");

    let (code, verdict, outputs) = check(&dir);
    assert_eq!(code, 0, "inconclusive is a warning, not a failure");
    assert_eq!(verdict["verdict"], "warn");
    let baseline = &verdict["metrics"][0]["baseline"];
    assert_eq!(baseline["call"], "inconclusive", "{baseline}");
    assert_eq!(baseline["runs_needed"], 2, "{baseline}");
    assert_eq!(output(&outputs, "inconclusive"), "1");
    assert_eq!(output(&outputs, "runs_needed"), "2");
    assert_eq!(
        output(&outputs, "inconclusive_metrics"),
        r#"{"web.score.performance":2}"#
    );

    // The job measures once more and checks the two runs together.
    copy_run(&dir, "lhr-3.json");
    let (code, verdict, outputs) = check(&dir);
    assert_eq!(code, 0);
    assert_eq!(verdict["verdict"], "pass", "{verdict}");
    let metric = &verdict["metrics"][0];
    assert_eq!(metric["runs"], 2);
    assert_eq!(metric["baseline"]["call"], "no-change", "{metric}");
    assert_eq!(output(&outputs, "inconclusive"), "0");
    assert_eq!(output(&outputs, "runs_needed"), "");
    assert_eq!(output(&outputs, "inconclusive_metrics"), "{}");
}
