//! Same-job A/B through the binary (`check --against SOURCE=PATH`): the head's runs judged pair
//! by pair against the base's runs measured in the same job, and every way the two sides can fail
//! to pair stopping the check with exit 2, naming the source and the counts.
//!
//! The runs are real hyperfine files (`tests/fixtures/hyperfine/ab-same/`: the same program on
//! both sides, six interleaved pairs, made by `examples/ab/make.sh` with `HEAD=app/base.sh`).

mod common;

use std::fs;
use std::path::Path;

use common::dir::{stderr, stdout, Dir};
use serde_json::Value;

const BUDGET: &str = r#"[gate]
name = "ab"
regression = "3%"

[sources.bench]
format = "hyperfine"
path = "runs/head-*.json"

[[budget]]
metric = "bench.app.median"
target = "< 1s"
"#;

/// A folder holding `budget.toml` and the A/A pairs under `runs/`.
fn same_job(budget: &str) -> Dir {
    let dir = Dir::new();
    dir.file("budget.toml", budget);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hyperfine/ab-same");
    for entry in fs::read_dir(fixtures).expect("fixtures") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        dir.file(
            &format!("runs/{name}"),
            &fs::read_to_string(&path).expect("fixture"),
        );
    }
    dir
}

/// What `check --against A...` prints on stderr when it refuses to judge (exit 2).
fn refused(dir: &Dir, against: &[&str]) -> String {
    let mut args = vec!["check", "--budget", "budget.toml"];
    for a in against {
        args.extend(["--against", a]);
    }
    let run = dir.run(&args);
    let err = stderr(&run);
    run.code(2);
    err
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).expect("a JSON verdict")
}

#[test]
fn the_same_program_on_both_sides_passes_pair_by_pair_without_a_baseline_file() {
    let dir = same_job(BUDGET);
    let run = dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--against",
        "bench=runs/base-*.json",
    ]);
    let out = stdout(&run);
    run.code(0);
    assert!(
        out.contains(
            "compared pair by pair with the base's runs of the same job (bench: 6 runs of runs/base-*.json)"
        ),
        "{out}"
    );
    assert!(!out.contains("no baseline yet"), "{out}");
    // Every metric was compared: a required baseline is not missing.
    dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--require-baseline",
        "--against",
        "bench=runs/base-*.json",
    ])
    .code(0);
    let err = stderr(&dir.run(&["check", "--budget", "budget.toml", "--require-baseline"]));
    assert!(err.contains("no baseline file"), "{err}");

    let run = dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--against",
        "bench=runs/base-*.json",
        "--format",
        "json",
        "--output",
        "verdict.json",
    ]);
    let v = json(&stdout(&run));
    let b = &v["metrics"][0]["baseline"];
    assert_eq!(b["method"], "paired-runs", "{b}");
    assert_eq!(b["pairs"], 6);
    assert_eq!(b["runs"], 6);
    assert_eq!(b["call"], "no-change");
    assert_eq!(b["history"].as_array().map(Vec::len), Some(6));
    assert!(b["p_value"].as_f64().is_some_and(|p| p > 0.05), "{b}");
    assert_eq!(
        v["against"],
        serde_json::json!([{"source": "bench", "path": "runs/base-*.json", "runs": 6}])
    );
    // The base's median is the baseline value: the median of the base runs' medians.
    let medians: Vec<f64> = b["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let mut sorted = medians.clone();
    sorted.sort_by(f64::total_cmp);
    let mid = (sorted[2] + sorted[3]) / 2.0;
    assert!((b["value"].as_f64().expect("value") - mid).abs() < 1e-9);

    // The saved verdict is posted as it was judged: `comment` reads the new fields back.
    let md = dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--against",
        "bench=runs/base-*.json",
        "--format",
        "markdown",
    ]);
    let md = stdout(&md);
    assert!(
        md.contains("Compared pair by pair with the base's runs measured in the same job: bench, 6 runs of runs/base-\\*.json."),
        "{md}"
    );
    assert!(
        md.contains("paired Student-t on 6 pairs of base and head runs of the same job"),
        "{md}"
    );
    assert!(!md.contains("Compared with 0 baseline runs"), "{md}");
}

#[test]
fn the_head_against_itself_is_no_change_and_fewer_than_three_pairs_leave_the_slack_alone() {
    let dir = same_job(BUDGET);
    let run = dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--against",
        "bench=runs/head-*.json",
        "--format",
        "json",
    ]);
    let v = json(&stdout(&run));
    run.code(0);
    assert_eq!(v["metrics"][0]["baseline"]["method"], "deterministic");
    assert_eq!(v["metrics"][0]["baseline"]["p_value"], 1.0);

    let dir = same_job(&BUDGET.replace("head-*", "head-[12]"));
    let run = dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--against",
        "bench=runs/base-[12].json",
    ]);
    let out = stdout(&run);
    assert!(
        out.contains("bench: 2 runs of runs/base-[12].json"),
        "{out}"
    );
    let run = dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--against",
        "bench=runs/base-[12].json",
        "--format",
        "markdown",
    ]);
    let md = stdout(&run);
    assert!(
        md.contains(
            "the 3 % slack alone decides: 2 pairs of base and head runs, at least 3 are needed"
        ),
        "{md}"
    );
}

#[test]
fn runs_that_cannot_pair_stop_the_check_naming_the_source_and_the_counts() {
    let dir = same_job(BUDGET);
    let err = refused(&dir, &["bench=runs/base-[1-5].json"]);
    assert!(
        err.contains(
            "budget.toml: cannot pair the runs:\n  - source `bench`: 5 base runs (--against bench=runs/base-[1-5].json) but 6 head runs (runs/head-*.json); each base run pairs with the head run measured beside it, so both sides need as many runs"
        ),
        "{err}"
    );

    let err = refused(&dir, &["api=runs/base-*.json"]);
    assert!(
        err.contains(
            "--against api=runs/base-*.json: the budget has no source `api` (sources: bench)"
        ),
        "{err}"
    );

    let err = refused(&dir, &["bench=runs/base-*.json", "bench=runs/head-*.json"]);
    assert!(
        err.contains("the base of source `bench` is already read from runs/base-*.json"),
        "{err}"
    );

    let err = refused(&dir, &["bench=nothing/*.json"]);
    assert!(
        err.contains("could not read the base's runs (--against)")
            && err.contains("`nothing/*.json` matches no file"),
        "{err}"
    );
}

#[test]
fn a_base_of_another_format_or_a_metric_missing_from_a_run_is_exit_2() {
    // Declared, the format is checked file by file; detected, the two sides are compared.
    let dir = same_job(BUDGET);
    for i in 1..=6 {
        dir.report(&format!("other/base-{i}.json"), &[("app.median", 5.0)]);
    }
    let err = refused(&dir, &["bench=other/*.json"]);
    assert!(
        err.contains("could not read the base's runs (--against):\n  - source `bench`: other/base-1.json: declared as hyperfine, but the content is json output"),
        "{err}"
    );
    dir.file("budget.toml", &BUDGET.replace("\"hyperfine\"", "\"auto\""));
    let err = refused(&dir, &["bench=other/*.json"]);
    assert!(
        err.contains("source `bench`: the head's runs (runs/head-*.json) are hyperfine but the base's (--against bench=other/*.json) are json"),
        "{err}"
    );

    // perfgate's own format, one metric missing from one base run.
    let budget = r#"[gate]
name = "ab"

[sources.load]
format = "json"
path = "head/*.json"

[[budget]]
metric = "load.p95"
target = "< 1s"
"#;
    let dir = Dir::new();
    dir.file("budget.toml", budget);
    for i in 1..=4 {
        dir.report(&format!("head/{i}.json"), &[("p95", 100.0 + f64::from(i))]);
        let base: &[(&str, f64)] = if i == 3 {
            &[("p99", 150.0)]
        } else {
            &[("p95", 100.0), ("p99", 150.0)]
        };
        dir.report(&format!("base/{i}.json"), base);
    }
    let err = refused(&dir, &["load=base/*.json"]);
    assert!(
        err.contains(
            "`load.p95` (budget line 8): in 3 of the base's 4 runs (--against load=base/*.json) only; a pair needs it in both runs"
        ),
        "{err}"
    );
}

#[test]
fn a_paired_source_and_a_history_are_one_family_and_a_slower_head_regresses() {
    // `api` is judged against its history, `load` against the base's runs of this job; both go
    // through one Holm step-down.
    let budget = r#"[gate]
name = "mixed"
regression = "5%"

[sources.api]
format = "json"
path = "api.json"

[sources.load]
format = "json"
path = "head/*.json"

[[budget]]
metric = "api.p95"
target = "< 1s"

[[budget]]
metric = "load.p95"
target = "< 1s"
"#;
    let dir = Dir::new();
    dir.file("budget.toml", budget);
    for (i, ms) in [100.0, 103.0, 98.0, 101.0].into_iter().enumerate() {
        dir.report(&format!("api-{i}.json"), &[("p95", ms)]);
    }
    let heads = [112.0, 109.0, 115.0, 111.0, 113.0];
    let bases = [100.0, 99.0, 104.0, 100.0, 101.0];
    for (i, (h, b)) in heads.iter().zip(bases).enumerate() {
        dir.report(&format!("head/{i}.json"), &[("p95", *h)]);
        dir.report(&format!("base/{i}.json"), &[("p95", b)]);
    }
    for i in 0..3 {
        let input = format!("api=api-{i}.json");
        dir.run(&[
            "baseline",
            "update",
            "--budget",
            "budget.toml",
            "--input",
            &input,
        ])
        .code(0);
    }
    dir.file(
        "api.json",
        &fs::read_to_string(dir.path("api-3.json")).expect("api"),
    );
    let run = dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--against",
        "load=base/*.json",
        "--format",
        "json",
    ]);
    let v = json(&stdout(&run));
    run.code(1);
    let api = &v["metrics"][0]["baseline"];
    let load = &v["metrics"][1]["baseline"];
    assert_eq!(api["method"], "prediction-interval", "{api}");
    assert_eq!(api["pairs"], Value::Null, "{api}");
    assert_eq!(load["method"], "paired-runs", "{load}");
    assert_eq!(
        (load["pairs"].as_u64(), load["call"].as_str()),
        (Some(5), Some("regression"))
    );
    assert_eq!(v["baseline_runs"], 3);
    assert_eq!(v["counts"]["regressions"], 1);
    let text = stdout(&dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--against",
        "load=base/*.json",
    ]));
    assert!(
        text.contains("compared with 3 baseline runs\ncompared pair by pair with the base's runs of the same job (load: 5 runs of base/*.json)\n"),
        "{text}"
    );
}

#[test]
fn the_example_a_b_calls_the_heads_extra_work_a_regression() {
    // examples/ab/: app/head.sh does 10 % more work than app/base.sh, ten interleaved pairs
    // measured on a loaded 2-core machine. The CPU time shows it; the wall time, which waits for
    // the other jobs' processes too, cannot tell it from its noise.
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = assert_cmd::Command::cargo_bin("perfgate").expect("binary");
    let run = cmd
        .current_dir(root)
        .env_remove("GITHUB_ACTIONS")
        .args([
            "check",
            "--budget",
            "examples/ab/budget.toml",
            "--against",
            "bench=examples/ab/hyperfine/base-*.json",
            "--format",
            "json",
        ])
        .assert();
    let v = json(&stdout(&run));
    run.code(1);
    let call = |i: usize| {
        v["metrics"][i]["baseline"]["call"]
            .as_str()
            .map(str::to_string)
    };
    let ids: Vec<&str> = (0..2)
        .filter_map(|i| v["metrics"][i]["id"].as_str())
        .collect();
    assert_eq!(ids, ["bench.app.median", "bench.app.user"]);
    assert_eq!(call(1).as_deref(), Some("regression"));
    assert_eq!(call(0).as_deref(), Some("inconclusive"));
}

#[test]
fn the_k6_example_calls_the_slower_servers_latencies_regressions() {
    // examples/ab/k6/: six interleaved pairs of real k6 runs against examples/app/server.js,
    // the head's server 15 % slower.
    let mut cmd = assert_cmd::Command::cargo_bin("perfgate").expect("binary");
    let run = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GITHUB_ACTIONS")
        .args([
            "check",
            "--budget",
            "examples/ab/k6.toml",
            "--against",
            "api=examples/ab/k6/base-*.json",
            "--format",
            "json",
        ])
        .assert();
    let v = json(&stdout(&run));
    run.code(1);
    for m in v["metrics"].as_array().expect("metrics") {
        assert_eq!(m["baseline"]["call"], "regression", "{m}");
        assert_eq!(m["baseline"]["pairs"], 6, "{m}");
    }
}
