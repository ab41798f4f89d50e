//! Like with like, through the binary: `baseline update` records where each run was measured
//! (the machine, and each source's tool setup as its reports say), and `check` compares a metric
//! with the history runs measured alike where there are enough of them, or says that the history
//! was measured elsewhere. The machine is this one; the other machine of each test is a history
//! run whose recorded environment the test rewrites, as a run from another runner would read.

mod common;

use common::dir::{stderr, stdout, Dir};
use serde_json::Value;

const BUDGET: &str = r#"
[gate]
name = "web"

[sources.api]
format = "json"
path = "api.json"

[[budget]]
metric = "api.p95"
label = "API P95"
critical = "< 1s"
"#;

/// Records one baseline run per value, oldest first, with this machine's environment.
fn record(dir: &Dir, values: &[f64]) {
    for v in values {
        dir.report("api.json", &[("p95", *v)]);
        dir.run(&["baseline", "update", "--budget", "budget.toml"])
            .success();
    }
}

fn baseline(dir: &Dir) -> Value {
    let text = std::fs::read_to_string(dir.path("baselines/web.json")).expect("baseline");
    serde_json::from_str(&text).expect("baseline JSON")
}

/// Rewrites the baseline's first `n` runs as measured on Windows.
fn from_another_machine(dir: &Dir, n: usize) {
    let mut file = baseline(dir);
    for run in file["runs"]
        .as_array_mut()
        .expect("runs")
        .iter_mut()
        .take(n)
    {
        run["environment"]["os"] = "windows".into();
    }
    dir.file(
        "baselines/web.json",
        &serde_json::to_string_pretty(&file).expect("JSON"),
    );
}

fn check_json(dir: &Dir) -> (Option<i32>, Value) {
    let out = dir.run(&["check", "--budget", "budget.toml", "--format", "json"]);
    let code = out.get_output().status.code();
    let verdict = serde_json::from_str(&stdout(&out)).expect("the JSON verdict");
    (code, verdict)
}

#[test]
fn baseline_update_records_the_machine() {
    let dir = Dir::new();
    dir.file("budget.toml", BUDGET);
    record(&dir, &[100.0]);
    let env = &baseline(&dir)["runs"][0]["environment"];
    assert_eq!(env["os"], std::env::consts::OS);
    assert_eq!(env["arch"], std::env::consts::ARCH);
    let cpus = std::thread::available_parallelism().expect("cpus").get();
    assert_eq!(env["cpus"], cpus);
    if cfg!(target_os = "linux") {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("cpuinfo");
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
            .map(|(_, m)| m.split_whitespace().collect::<Vec<_>>().join(" "));
        assert_eq!(env["cpu"].as_str(), model.as_deref());
    }
    // Outside CI there is no runner to name; in a GitHub Actions job its variables name it.
    assert!(env.get("runner").is_none(), "{env}");
    dir.report("api.json", &[("p95", 100.0)]);
    dir.run_with(
        &[
            ("GITHUB_ACTIONS", "true"),
            ("RUNNER_NAME", "GitHub Actions 12"),
            ("RUNNER_ENVIRONMENT", "github-hosted"),
            ("ImageOS", "ubuntu24"),
            ("ImageVersion", "20261123.1"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ],
        &["baseline", "update", "--budget", "budget.toml"],
    )
    .success();
    assert_eq!(
        baseline(&dir)["runs"][1]["environment"]["runner"],
        "GitHub Actions 12 (github-hosted, ubuntu24 20261123.1)"
    );
}

#[test]
fn runs_from_another_machine_are_left_out_when_enough_are_alike() {
    let dir = Dir::new();
    dir.file("budget.toml", BUDGET);
    // Four runs on a slower machine, then four on this one.
    record(
        &dir,
        &[130.0, 128.0, 133.0, 131.0, 100.0, 101.0, 99.0, 100.5],
    );
    from_another_machine(&dir, 4);
    dir.report("api.json", &[("p95", 118.0)]);

    let (code, verdict) = check_json(&dir);
    let b = &verdict["metrics"][0]["baseline"];
    assert_eq!(code, Some(1), "{verdict}");
    assert_eq!(b["left_out"], 4);
    assert_eq!(b["runs"], 4);
    assert_eq!(b["regression"], true);
    assert_eq!(
        b["environment"],
        serde_json::json!([format!("os windows → {}", std::env::consts::OS)])
    );
    assert_eq!(verdict["warnings"], serde_json::json!([]));
    let text = dir.run(&["check", "--budget", "budget.toml", "--format", "markdown"]);
    assert!(
        stdout(&text).contains("measured alike (4 runs measured in another environment left out)"),
        "{}",
        stdout(&text)
    );

    // The same history without environments (a file written before they were recorded): all
    // eight runs are compared, and their spread hides the regression.
    let mut file = baseline(&dir);
    for run in file["runs"].as_array_mut().expect("runs") {
        run.as_object_mut().expect("run").remove("environment");
    }
    dir.file(
        "baselines/web.json",
        &serde_json::to_string_pretty(&file).expect("JSON"),
    );
    let (code, verdict) = check_json(&dir);
    let b = &verdict["metrics"][0]["baseline"];
    assert_eq!(code, Some(0), "{verdict}");
    assert_eq!(
        (b["runs"].as_u64(), b["regression"].as_bool()),
        (Some(8), Some(false))
    );
    assert!(
        b.get("left_out").is_none() && b.get("environment").is_none(),
        "{b}"
    );
}

#[test]
fn a_history_measured_elsewhere_is_compared_whole_and_said_so() {
    let dir = Dir::new();
    dir.file("budget.toml", BUDGET);
    record(&dir, &[100.0, 101.0, 99.0, 100.0, 102.0]);
    // Only two runs are left on this machine: too few to compare with alone.
    from_another_machine(&dir, 3);
    dir.report("api.json", &[("p95", 100.0)]);

    let (code, verdict) = check_json(&dir);
    assert_eq!(code, Some(0), "{verdict}");
    assert_eq!(verdict["verdict"], "warn");
    let b = &verdict["metrics"][0]["baseline"];
    assert_eq!((b["runs"].as_u64(), b.get("left_out")), (Some(5), None));
    let warning = &verdict["warnings"][0];
    assert_eq!(warning["kind"], "unlike-history");
    let os = std::env::consts::OS;
    assert_eq!(
        warning["message"],
        format!("`API P95` was measured in another environment than its history (os windows → {os}): fewer than 3 of its 5 baseline runs were measured alike, so all were compared; the change may be the environment's")
    );
    let text = dir.run(&["check", "--budget", "budget.toml"]);
    assert!(
        stdout(&text).contains("measured in another environment than its history"),
        "{}{}",
        stdout(&text),
        stderr(&text)
    );
}

#[test]
fn lighthouse_runs_are_alike_only_with_the_same_lighthouse_chrome_and_throttling() {
    let dir = Dir::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for n in 1..=3 {
        let lhr = std::fs::read_to_string(root.join(format!("examples/lighthouse/lhr-{n}.json")))
            .expect("example LHR");
        dir.file(&format!("lhr-{n}.json"), &lhr);
    }
    dir.file(
        "budget.toml",
        "[gate]\nname = \"web\"\n[sources.web]\nformat = \"lighthouse\"\npath = \"lhr-*.json\"\n[[budget]]\nmetric = \"web.audit.largest-contentful-paint\"\ncritical = \"< 10s\"\n",
    );
    for _ in 0..4 {
        dir.run(&["baseline", "update", "--budget", "budget.toml"])
            .success();
    }
    let file = baseline(&dir);
    let web = &file["runs"][0]["environment"]["sources"]["web"];
    assert_eq!(
        web["facts"],
        serde_json::json!({
            "lighthouse": "12.8.2",
            "chrome": "156",
            "form_factor": "mobile",
            "throttling": "simulate, rtt 150 ms, throughput 1638.4 kbps, cpu 4x",
        })
    );
    let indexes: Vec<f64> = (1..=3)
        .map(|n| {
            let lhr: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.path(&format!("lhr-{n}.json"))).expect("LHR"),
            )
            .expect("LHR JSON");
            lhr["environment"]["benchmarkIndex"]
                .as_f64()
                .expect("index")
        })
        .collect();
    let mut sorted = indexes.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(web["benchmark_index"].as_f64(), Some(sorted[1]));

    // Three of the four runs were measured with an older Lighthouse.
    let mut file = file;
    for run in file["runs"]
        .as_array_mut()
        .expect("runs")
        .iter_mut()
        .take(3)
    {
        run["environment"]["sources"]["web"]["facts"]["lighthouse"] = "11.7.1".into();
    }
    dir.file(
        "baselines/web.json",
        &serde_json::to_string_pretty(&file).expect("JSON"),
    );
    let (_, verdict) = check_json(&dir);
    assert_eq!(
        verdict["metrics"][0]["baseline"]["environment"],
        serde_json::json!(["web lighthouse 11.7.1 → 12.8.2"])
    );
    assert_eq!(verdict["warnings"][0]["kind"], "unlike-history");
}
