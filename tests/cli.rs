//! The binary as users run it: exit codes, every bad input of the issue, and the outputs.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

/// Variables of the environment that would change what the binary does.
const NOT_INHERITED: [&str; 12] = [
    "PERFGATE_BUDGET",
    "PERFGATE_COMMENT",
    "PERFGATE_BOT_LOGIN",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_OUTPUT",
    "GITHUB_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_API_URL",
    "GITHUB_SHA",
];

/// A temp dir holding a budget and reports; commands run inside it, as a CI step does.
struct Case {
    dir: TempDir,
}

impl Case {
    fn new() -> Case {
        Case {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(&path, text).expect("write");
        path
    }

    fn perfgate(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        let mut cmd = Command::cargo_bin("perfgate").expect("binary");
        cmd.current_dir(self.dir.path());
        // The tests run the gate as a developer does, even when `cargo test` runs in Actions.
        for var in NOT_INHERITED {
            cmd.env_remove(var);
        }
        cmd.args(args).assert()
    }

    fn check(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        let mut args = vec!["check", "--budget", "budget.toml"];
        args.extend_from_slice(extra);
        self.perfgate(&args)
    }

    /// `check --format json` with the expected exit code, parsed.
    fn check_json(&self, code: i32) -> serde_json::Value {
        let out = self
            .check(&["--format", "json"])
            .code(code)
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).expect("valid JSON")
    }

    /// `check --format markdown` with the expected exit code.
    fn check_markdown(&self, code: i32) -> String {
        let out = self
            .check(&["--format", "markdown"])
            .code(code)
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).expect("utf-8")
    }

    /// Writes the API report: the p95 and how many of 1000 requests failed.
    fn api(&self, p95: f64, failed: f64) {
        self.file(
            "api.json",
            &metrics_json(&[
                ("p95", p95, "ms"),
                ("failed", failed, ""),
                ("requests", 1000.0, ""),
            ]),
        );
    }
}

/// perfgate's own JSON metrics format, one run.
fn metrics_json(pairs: &[(&str, f64, &str)]) -> String {
    let entries: Vec<String> = pairs
        .iter()
        .map(|(n, v, u)| format!("\"{n}\": {{\"value\": {v}, \"unit\": \"{u}\"}}"))
        .collect();
    format!(
        "{{\"schema\": \"perfgate/metrics@1\", \"tool\": \"cli test\", \"metrics\": {{{}}}}}",
        entries.join(", ")
    )
}

const BUDGET: &str = r#"
[gate]
name = "test"

[sources.api]
format = "json"
path = "api.json"

[[budget]]
metric = "api.p95"
label = "API P95"
target = "< 200ms"
critical = "300ms"

[[budget]]
metric = "error_rate"
label = "Error Rate"
expr = "api['failed'] / api['requests'] * 100"
unit = "%"
target = "< 1%"
critical = "2%"
"#;

fn case(p95: f64, failed: f64) -> Case {
    let c = Case::new();
    c.file("budget.toml", BUDGET);
    c.api(p95, failed);
    c
}

#[test]
fn exit_0_when_every_metric_passes() {
    case(150.0, 5.0)
        .check(&[])
        .code(0)
        .stdout(predicate::str::contains("perfgate test: PASS (2 passed)"));
}

#[test]
fn exit_0_with_warnings() {
    case(250.0, 5.0)
        .check(&[])
        .code(0)
        .stdout(predicate::str::contains(
            "WARN (1 budget warning, 1 passed)",
        ));
}

#[test]
fn exit_1_when_a_critical_threshold_is_breached() {
    case(150.0, 25.0)
        .check(&[])
        .code(1)
        .stdout(predicate::str::contains("FAIL (1 failed, 1 passed)"))
        .stdout(predicate::str::contains(
            "fail   Error Rate  2.5 % < 1 %    < 2 %",
        ));
}

#[test]
fn json_verdict_follows_the_spec() {
    let v = case(250.0, 25.0).check_json(1);
    assert_eq!(v["schema"], "perfgate/verdict@1");
    assert_eq!(v["gate"], "test");
    assert_eq!(v["verdict"], "fail");
    let m = &v["metrics"][0];
    assert_eq!(m["id"], "api.p95");
    assert_eq!(m["label"], "API P95");
    assert_eq!(m["unit"], "ms");
    assert_eq!(m["value"], 250.0);
    assert_eq!(
        m["target"],
        serde_json::json!({"op": "<", "value": 200.0, "unit": "ms", "written_unit": "ms"})
    );
    assert_eq!(
        m["critical"],
        serde_json::json!({"op": "<", "value": 300.0, "unit": "ms", "written_unit": "ms"})
    );
    assert_eq!(m["status"], "warn");
    assert_eq!(m["budget_status"], "warn");
    assert!(m["baseline"].is_null());
    assert!(v["github"].is_null(), "not on a pull request");
    assert_eq!(v["metrics"][1]["value"], 2.5);
    assert_eq!(v["metrics"][1]["unit"], "%");
}

#[test]
fn output_file_gets_the_same_text_as_stdout() {
    let c = case(150.0, 5.0);
    let out = c
        .check(&["--format", "markdown", "--output", "comment.md"])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let written = fs::read(c.dir.path().join("comment.md")).expect("written");
    assert_eq!(out, written);
    let md = String::from_utf8(written).expect("utf-8");
    assert!(
        md.starts_with("<!-- perfgate:gate=test -->\n### ✅ perfgate `test`: **pass**"),
        "{md}"
    );
    assert!(
        md.contains(
            "| API P95 | 150\u{a0}ms | <\u{a0}200\u{a0}ms | <\u{a0}300\u{a0}ms | ✅ pass |"
        ),
        "{md}"
    );
    assert!(md.contains("No baseline yet"), "{md}");
}

#[test]
fn markdown_lists_failures_first_and_escapes_labels() {
    let c = case(150.0, 25.0);
    let budget = BUDGET.replace(
        "label = \"API P95\"",
        "label = \"</details><img src=x onerror=alert(1)> @org/team | #1\"",
    );
    c.file("budget.toml", &budget);
    let md = String::from_utf8(
        c.check(&["--format", "markdown"])
            .code(1)
            .get_output()
            .stdout
            .clone(),
    )
    .expect("utf-8");
    let fail = md.find("| Error Rate |").expect("error rate row");
    let pass = md.find("&lt;/details&gt;&lt;img").expect("escaped label");
    assert!(fail < pass, "failures first:\n{md}");
    assert!(
        !md.contains("<img") && !md.contains("@org") && !md.contains("| #1"),
        "{md}"
    );
    assert!(md.contains("&#64;org/team &#124; &#35;1"), "{md}");
}

#[test]
fn a_custom_template_is_used_and_a_broken_one_is_exit_2() {
    let c = case(150.0, 5.0);
    c.file("t.md.j2", "{{ gate }}={{ verdict }} {% for m in metrics %}{{ m.id }}:{{ m.value_text }};{% endfor %}\n");
    c.check(&["--format", "markdown", "--template", "t.md.j2"])
        .code(0)
        .stdout("test=pass api.p95:150\u{a0}ms;error_rate:0.5\u{a0}%;\n")
        .stderr(predicate::str::contains("not used").not());
    // Text output renders no markdown: the template would be read for nothing, so it says so.
    c.check(&["--template", "t.md.j2"])
        .code(0)
        .stderr(predicate::str::contains(
            "warning: --template t.md.j2 is not used: it renders markdown",
        ));
    c.file(
        "bad.md.j2",
        "{% for m in metrics %}\n{{ m.nope }}\n{% endfor %}\n",
    );
    c.check(&["--format", "markdown", "--template", "bad.md.j2"])
        .code(2)
        .stderr(predicate::str::contains(
            "bad.md.j2:2: rendering the comment template: `m.nope` is undefined",
        ));
    c.file("syntax.md.j2", "ok\n{% if %}\n");
    c.check(&["--template", "syntax.md.j2"]).code(2).stderr(
        predicate::str::contains("syntax.md.j2: the template does not compile")
            .and(predicate::str::contains("line 2")),
    );
    c.check(&["--template", "missing.j2"])
        .code(2)
        .stderr(predicate::str::contains(
            "missing.j2: cannot read the template",
        ));
}

#[test]
fn input_overrides_a_source_path() {
    let c = case(150.0, 5.0);
    c.file(
        "other.json",
        &metrics_json(&[
            ("p95", 350.0, "ms"),
            ("failed", 0.0, ""),
            ("requests", 10.0, ""),
        ]),
    );
    c.check(&["--input", "api=other.json"]).code(1);
    c.check(&["--input", "web=other.json"])
        .code(2)
        .stderr(predicate::str::contains(
            "the budget has no source `web` (sources: api)",
        ));
    c.check(&["--input", "nonsense"])
        .code(2)
        .stderr(predicate::str::contains("must be SOURCE=PATH"));
    // One of the two reports would otherwise be ignored without a word.
    c.check(&["--input", "api=api.json", "--input", "api=other.json"])
        .code(2)
        .stdout("")
        .stderr(
            "error: --input api=other.json: source `api` is already read from api.json \
             (--input api=api.json); give each source once\n",
        );
}

#[test]
fn a_missing_metric_is_exit_2_with_the_closest_names() {
    let c = case(150.0, 5.0);
    c.file(
        "budget.toml",
        &BUDGET
            .replace("api.p95", "api.p59")
            .replace("api['failed']", "api['fialed']"),
    );
    c.check(&[])
        .code(2)
        .stderr(predicate::str::contains(
            "`api.p59` (budget line 9): source `api` has no metric `p59`; closest: `p95`",
        ))
        .stderr(predicate::str::contains(
            "`api['fialed']` is not a metric of source `api`; closest: `failed`",
        ));
}

#[test]
fn a_metric_without_samples_is_no_data_and_exit_2_never_a_pass() {
    let c = Case::new();
    let metric = |name: &str, kind: &str, contains: &str| {
        format!(
            r#"{{"type":"Metric","data":{{"name":"{name}","type":"{kind}","contains":"{contains}","thresholds":[],"submetrics":null}},"metric":"{name}"}}"#
        )
    };
    let point = r#"{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-26T20:51:21.5Z","value":12,"tags":{"status":"200"}}}"#;
    c.file(
        "k6.ndjson",
        &format!(
            "{}\n{}\n{point}\n",
            metric("http_req_duration", "trend", "time"),
            metric("http_req_failed", "rate", "default"),
        ),
    );
    c.file(
        "budget.toml",
        r#"
[gate]
name = "test"

[sources.load]
path = "k6.ndjson"

[[budget]]
metric = "load.http_req_failed.rate"
target = "< 1%"

[[budget]]
metric = "load.http_req_duration{status:500}.p95"
target = "< 500ms"

[[budget]]
metric = "load.http_req_duration{status:200}.p95"
target = "< 500ms"
"#,
    );
    c.check(&[])
        .code(2)
        .stderr(predicate::str::contains(
            "`load.http_req_failed.rate` (budget line 8): no data: source `load` describes \
             `http_req_failed` but holds no sample of it",
        ))
        .stderr(predicate::str::contains(
            "`load.http_req_duration{status:500}.p95` (budget line 12): no data: source `load` \
             holds no sample of `http_req_duration` with the tag `status:500`",
        ))
        .stderr(predicate::str::contains("status:200").not());
    c.perfgate(&["metrics", "k6.ndjson"])
        .code(0)
        .stdout(predicate::str::contains(
            "  no samples of `http_req_failed`\n",
        ));
    let out = c.perfgate(&["metrics", "--json", "k6.ndjson"]).code(0);
    let json: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("valid JSON");
    assert_eq!(
        json["files"][0]["no_data"],
        serde_json::json!(["http_req_failed"])
    );
}

#[test]
fn budget_problems_are_all_reported_at_once() {
    let c = case(150.0, 5.0);
    c.file(
        "budget.toml",
        &format!("{BUDGET}\n[[budget]]\nmetric = \"api.p95\"\ntarget = \"< 1s\"\ncolour = 1\n\n[[budget]]\nmetric = \"api.p95\"\ntarget = \"< 1s\"\n"),
    );
    c.check(&[])
        .code(2)
        .stderr(predicate::str::contains(
            "budget.toml: 2 problems in the budget",
        ))
        .stderr(predicate::str::contains("unknown field `colour`"))
        .stderr(predicate::str::contains(
            "budget.toml:28:1: `budget[4]` (metric `api.p95`): the metric is budgeted twice",
        ));
}

#[test]
fn a_threshold_whose_unit_does_not_fit_the_metric_is_exit_2() {
    let c = case(150.0, 5.0);
    c.file(
        "budget.toml",
        &BUDGET.replace(
            "target = \"< 200ms\"\ncritical = \"300ms\"",
            "target = \"< 200KB\"\ncritical = \"300KB\"",
        ),
    );
    c.check(&[]).code(2).stderr(predicate::str::contains(
        "`api.p95` (budget line 9): the metric is a duration (ms) but the thresholds are a size",
    ));
}

#[test]
fn unreadable_reports_are_exit_2_naming_the_file_and_field() {
    let c = case(150.0, 5.0);
    let cases: [(&str, &str); 5] = [
        ("", "api.json: the file is empty, expected json output"),
        ("{\"schema\": \"perfgate/metrics@1\", \"metrics\": {\"p95\": {\"val", "api.json: reading json output"),
        (
            "{\"schema\": \"perfgate/metrics@1\", \"metrics\": {\"p95\": {\"value\": NaN, \"unit\": \"ms\"}}}",
            "api.json",
        ),
        (
            "{\"schema\": \"perfgate/metrics@1\", \"metrics\": {\"p95\": {\"value\": -3, \"unit\": \"ms\"}}}",
            "metrics.p95",
        ),
        (
            "{\"aggregate\": {\"counters\": {}}, \"intermediate\": []}",
            "api.json: declared as json, but the content is artillery output",
        ),
    ];
    for (text, message) in cases {
        c.file("api.json", text);
        c.check(&[])
            .code(2)
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn a_glob_or_path_that_matches_nothing_is_exit_2() {
    let c = case(150.0, 5.0);
    c.file(
        "budget.toml",
        &BUDGET.replace("path = \"api.json\"", "path = \"runs/lhr-*.json\""),
    );
    c.check(&[]).code(2).stderr(predicate::str::contains(
        "source `api`: `runs/lhr-*.json` matches no file",
    ));
    c.file(
        "budget.toml",
        &BUDGET.replace("path = \"api.json\"", "path = \"nope.json\""),
    );
    c.check(&[]).code(2).stderr(predicate::str::contains(
        "nope.json: no such file or directory",
    ));
}

#[test]
fn several_runs_are_judged_by_their_median() {
    let c = case(0.0, 0.0);
    c.file(
        "budget.toml",
        &BUDGET.replace("path = \"api.json\"", "path = \"runs/*.json\""),
    );
    for (i, p95) in [190.0, 400.0, 210.0].iter().enumerate() {
        c.file(
            &format!("runs/{i}.json"),
            &metrics_json(&[
                ("p95", *p95, "ms"),
                ("failed", 0.0, ""),
                ("requests", 100.0, ""),
            ]),
        );
    }
    let out = c
        .check(&["--format", "json"])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["metrics"][0]["value"], 210.0);
    assert_eq!(
        v["metrics"][0]["samples"],
        serde_json::json!([190.0, 400.0, 210.0])
    );
    assert_eq!(v["metrics"][0]["status"], "warn");
}

#[test]
fn a_prometheus_url_that_refuses_or_hangs_is_exit_2() {
    let c = case(150.0, 5.0);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hanging_port = hanging.local_addr().expect("addr").port();
    for port in [closed_port, hanging_port] {
        c.file(
            "budget.toml",
            &format!(
                "{BUDGET}\n[sources.db]\nurl = \"http://127.0.0.1:{port}\"\ntimeout = \"1s\"\n[sources.db.queries]\np95 = 'histogram_quantile(0.95, sum by (le) (rate(db_query_duration_ms_bucket[5m])))'\n\n[[budget]]\nmetric = \"db.p95\"\nunit = \"ms\"\ntarget = \"< 50ms\"\n"
            ),
        );
        let started = std::time::Instant::now();
        c.check(&[])
            .code(2)
            .stderr(predicate::str::contains(format!(
                "source `db`: querying Prometheus at http://127.0.0.1:{port}"
            )));
        assert!(
            started.elapsed().as_secs() < 8,
            "the timeout bounds the wait"
        );
    }
    drop(hanging);
}

#[test]
fn flags_and_files_that_are_wrong_are_exit_2() {
    let c = Case::new();
    c.perfgate(&["check"])
        .code(2)
        .stderr(predicate::str::contains("--budget"));
    c.perfgate(&["check", "--budget", "nope.toml"])
        .code(2)
        .stderr(predicate::str::contains(
            "nope.toml: cannot read the budget",
        ));
    c.perfgate(&["check", "--budget", "b.toml", "--format", "yaml"])
        .code(2);
    c.perfgate(&["frobnicate"]).code(2);
    c.perfgate(&["--version"])
        .code(0)
        .stdout(predicate::str::starts_with("perfgate "));
}

#[test]
fn metrics_lists_names_values_and_units() {
    let c = Case::new();
    c.file(
        "m.json",
        &metrics_json(&[("checkout.p95", 0.25, "s"), ("bundle", 2.0, "KiB")]),
    );
    c.perfgate(&["metrics", "m.json"])
        .code(0)
        .stdout(predicate::str::contains(
            "m.json: json (cli test), 2 metrics",
        ))
        .stdout(predicate::str::contains("  checkout.p95  250 ms"))
        .stdout(predicate::str::contains("  bundle        2048 B"));
    let out = c
        .perfgate(&["metrics", "--json", "m.json"])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["schema"], "perfgate/metrics-list@1");
    assert!(
        String::from_utf8_lossy(&out).starts_with("{\n  \"schema\": \"perfgate/metrics-list@1\","),
        "the schema id leads"
    );
    assert_eq!(v["files"][0]["format"], "json");
    assert_eq!(
        v["files"][0]["metrics"]["checkout.p95"],
        serde_json::json!({"value": 250.0, "unit": "ms"})
    );
    c.perfgate(&["metrics", "--format", "webpak", "m.json"])
        .code(2)
        .stderr(predicate::str::contains("unknown format"));
    c.file("junk.txt", "hello there\n");
    c.perfgate(&["metrics", "junk.txt"])
        .code(2)
        .stderr(predicate::str::contains(
            "junk.txt: not a format perfgate reads",
        ));
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn every_budget_and_template_in_the_repo_loads() {
    let mut budgets = 0;
    for entry in fs::read_dir(repo("budgets")).expect("budgets/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            perfgate::budget::load_budget(&path).unwrap_or_else(|e| panic!("{e:#}"));
            budgets += 1;
        }
    }
    assert!(budgets > 0);
    for entry in fs::read_dir(repo("templates")).expect("templates/") {
        let path = entry.expect("entry").path();
        let text = fs::read_to_string(&path).expect("read");
        perfgate::render::Template::compile(&path.display().to_string(), text)
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
}

/// Writes `api.json` with the given p95 and records it in the baseline.
fn record(c: &Case, p95: f64, extra: &[&str]) -> assert_cmd::assert::Assert {
    c.api(p95, 5.0);
    let mut args = vec![
        "baseline",
        "update",
        "--budget",
        "budget.toml",
        "--commit",
        "0123456789abcdef0123456789abcdef01234567",
    ];
    args.extend_from_slice(extra);
    c.perfgate(&args)
}

fn baseline_json(c: &Case) -> serde_json::Value {
    let text =
        fs::read_to_string(c.dir.path().join("baselines/test.json")).expect("baseline written");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn baseline_update_records_only_a_commit_id_and_says_when_it_has_none() {
    let c = case(100.0, 5.0);
    c.api(100.0, 5.0);
    let update = ["baseline", "update", "--budget", "budget.toml"];
    c.perfgate(&[&update[..], &["--commit", "main"]].concat())
        .code(2)
        .stderr(predicate::str::contains(
            "--commit \"main\": not a full commit id (40 or 64 hexadecimal digits",
        ));
    assert!(!c.dir.path().join("baselines/test.json").exists());
    // The case's folder is no git checkout and the run has no GITHUB_SHA.
    c.perfgate(&update).code(0).stderr(predicate::str::contains(
        "warning: the run is recorded without a commit",
    ));
    assert_eq!(baseline_json(&c)["runs"][0].get("commit"), None);
}

#[test]
fn baseline_update_appends_a_run_and_keep_trims() {
    let c = case(100.0, 5.0);
    record(&c, 100.0, &[])
        .code(0)
        .stderr(predicate::str::contains("baselines/test.json: 1 run"));
    record(&c, 104.0, &[])
        .code(0)
        .stderr(predicate::str::contains("baselines/test.json: 2 runs"));
    let b = baseline_json(&c);
    assert_eq!(b["schema"], "perfgate/baseline@1");
    assert_eq!(b["gate"], "test");
    let runs = b["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[1]["commit"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(
        runs[1]["metrics"]["api.p95"],
        serde_json::json!({"unit": "ms", "value": 104.0})
    );
    assert_eq!(runs[1]["metrics"]["error_rate"]["value"], 0.5);
    assert!(runs[1]["time"].as_str().expect("time").ends_with('Z'));
    for v in [101.0, 102.0, 103.0] {
        record(&c, v, &["--keep", "3"]).code(0);
    }
    let values: Vec<f64> = baseline_json(&c)["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["metrics"]["api.p95"]["value"].as_f64().expect("value"))
        .collect();
    assert_eq!(values, [101.0, 102.0, 103.0]);
}

#[test]
fn concurrent_updates_from_two_processes_keep_both_runs() {
    let c = case(100.0, 5.0);
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("perfgate"))
            .current_dir(c.dir.path())
            .args(["baseline", "update", "--budget", "budget.toml"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn")
    };
    for _ in 0..5 {
        let (mut a, mut b) = (spawn(), spawn());
        assert!(a.wait().expect("wait").success() && b.wait().expect("wait").success());
    }
    assert_eq!(
        baseline_json(&c)["runs"].as_array().expect("runs").len(),
        10
    );
}

#[test]
fn a_bad_report_or_a_corrupt_baseline_leaves_the_file_byte_identical() {
    let c = case(100.0, 5.0);
    record(&c, 100.0, &[]).code(0);
    let path = c.dir.path().join("baselines/test.json");
    let before = fs::read(&path).expect("read");
    c.file(
        "api.json",
        "{\"schema\": \"perfgate/metrics@1\", \"metrics\": {\"p95\": ",
    );
    c.perfgate(&["baseline", "update", "--budget", "budget.toml"])
        .code(2)
        .stderr(predicate::str::contains("api.json"));
    assert_eq!(fs::read(&path).expect("read"), before);

    c.api(100.0, 5.0);
    let corrupt = "{\"schema\": \"perfgate/baseline@1\", \"gate\": \"test\", \"runs\": [{\"metrics\": {}}, {\"met";
    c.file("baselines/test.json", corrupt);
    for args in [
        &["baseline", "update", "--budget", "budget.toml"][..],
        &["check", "--budget", "budget.toml"][..],
        &["baseline", "show", "--budget", "budget.toml"][..],
    ] {
        c.perfgate(args).code(2).stderr(predicate::str::contains(
            "baselines/test.json: the baseline is not valid JSON",
        ));
        assert_eq!(fs::read_to_string(&path).expect("read"), corrupt);
    }
    c.file(
        "baselines/test.json",
        "{\"schema\": \"perfgate/baseline@7\", \"gate\": \"test\", \"runs\": []}",
    );
    c.perfgate(&["baseline", "update", "--budget", "budget.toml"])
        .code(2)
        .stderr(predicate::str::contains(
            "schema `perfgate/baseline@7` is not one this perfgate reads",
        ));
}

#[test]
fn check_without_a_baseline_says_so() {
    let c = case(150.0, 5.0);
    let v = c.check_json(0);
    assert!(v["metrics"][0]["baseline"].is_null());
    assert_eq!(v["baseline_runs"], 0);
    assert!(c.check_markdown(0).contains("No baseline yet"));
    c.perfgate(&["baseline", "show", "--budget", "budget.toml"])
        .code(2)
        .stderr(predicate::str::contains(
            "baselines/test.json: no baseline yet",
        ));
}

/// Ten baseline runs around 100 ms with about 2 % noise.
fn history(c: &Case) {
    for v in [
        100.0, 98.0, 102.0, 101.0, 99.0, 100.5, 97.5, 102.5, 99.5, 100.0,
    ] {
        record(c, v, &[]).code(0);
    }
}

#[test]
fn a_real_regression_fails_the_gate_and_noise_does_not() {
    let c = case(100.0, 5.0);
    history(&c);
    c.api(103.0, 5.0);
    let b = &c.check_json(0)["metrics"][0]["baseline"];
    assert_eq!(
        (b["runs"].as_u64(), b["regression"].as_bool()),
        (Some(10), Some(false)),
        "{b}"
    );
    assert!(
        (b["change"].as_f64().expect("change") - 0.03).abs() < 0.011,
        "{b}"
    );

    c.api(160.0, 5.0);
    let v = c.check_json(1);
    let m = &v["metrics"][0];
    assert_eq!(
        (m["status"].as_str(), m["baseline"]["regression"].as_bool()),
        (Some("fail"), Some(true)),
        "{m}"
    );
    assert_eq!(m["baseline"]["significant"], true);
    assert!(m["baseline"]["p_value"].as_f64().expect("p") < 0.01);
    assert_eq!(v["counts"]["regressions"], 1);
    let md = c.check_markdown(1);
    assert!(md.contains("**fail** · 1 regression, 1 passed"), "{md}");
    assert!(
        md.contains("| API P95 | 160\u{a0}ms | 100\u{a0}ms | ▲\u{a0}60.0\u{a0}% |"),
        "{md}"
    );
    assert!(
        md.contains("%%\nxychart-beta\n    title \"API P95\""),
        "{md}"
    );

    c.file(
        "budget.toml",
        &BUDGET.replace("[gate]\n", "[gate]\non_regression = \"warn\"\n"),
    );
    c.check(&[])
        .code(0)
        .stdout(predicate::str::contains("regression API P95"));
}

#[test]
fn baseline_show_prints_a_noise_too_large_to_compute_as_the_json_does() {
    let c = case(100.0, 5.0);
    let run = |v: f64| serde_json::json!({"metrics": {"api.p95": {"unit": "ms", "value": v}}});
    let file = serde_json::json!({
        "schema": "perfgate/baseline@1",
        "gate": "test",
        "runs": [run(1e308), run(1.7e308), run(1.6e308)],
    });
    c.file("baselines/test.json", &file.to_string());
    // The variance of values near f64::MAX overflows: no noise to show, "-" as JSON's null.
    c.perfgate(&["baseline", "show", "--budget", "budget.toml"])
        .code(0)
        .stdout(predicate::str::is_match(r"API P95 +3 +[^ ]+ s +- ").expect("regex"))
        .stdout(predicate::str::contains("inf").not());
    let out = c
        .perfgate(&[
            "baseline",
            "show",
            "--budget",
            "budget.toml",
            "--format",
            "json",
        ])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["metrics"][0]["cv"], serde_json::Value::Null);
}

#[test]
fn baseline_show_summarises_the_history() {
    let c = case(100.0, 5.0);
    history(&c);
    c.perfgate(&["baseline", "show", "--budget", "budget.toml"])
        .code(0)
        .stdout(predicate::str::contains(
            "baselines/test.json: gate test, 10 runs from ",
        ))
        .stdout(predicate::str::contains("last commit 0123456789ab"))
        .stdout(
            predicate::str::is_match(
                r"API P95 +10 +100 ms +1\.6 % +100 ms, 97.5 ms, 102 ms, 99.5 ms, 100 ms",
            )
            .expect("regex"),
        );
    let out = c
        .perfgate(&[
            "baseline",
            "show",
            "--budget",
            "budget.toml",
            "--format",
            "json",
        ])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["runs"], 10);
    assert_eq!(v["metrics"][0]["id"], "api.p95");
    assert_eq!(v["metrics"][0]["median"], 100.0);
    assert_eq!(
        v["metrics"][0]["last"],
        serde_json::json!([100.5, 97.5, 102.5, 99.5, 100.0])
    );
}

#[test]
fn gzip_reports_are_read_transparently() {
    use std::io::Write as _;
    let c = case(150.0, 5.0);
    let plain = fs::read(c.dir.path().join("api.json")).expect("read");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("gzip");
    fs::write(c.dir.path().join("api.json.gz"), gz.finish().expect("gzip")).expect("write");
    c.check(&["--input", "api=api.json.gz"])
        .code(0)
        .stdout(predicate::str::contains("PASS (2 passed)"));
    let mut cut = fs::read(c.dir.path().join("api.json.gz")).expect("read");
    cut.truncate(cut.len() / 2);
    fs::write(c.dir.path().join("cut.json.gz"), cut).expect("write");
    c.check(&["--input", "api=cut.json.gz"])
        .code(2)
        .stderr(predicate::str::contains(
            "cut.json.gz: cannot read (a truncated gzip file?)",
        ));
}

#[test]
fn lenient_skips_a_truncated_last_line_of_a_stream_and_says_so() {
    let c = Case::new();
    let metric = r#"{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time","thresholds":[],"submetrics":null},"metric":"http_req_duration"}"#;
    let point = |ms: f64| {
        format!(
            r#"{{"metric":"http_req_duration","type":"Point","data":{{"time":"2026-11-26T12:00:00.000001+01:00","value":{ms},"tags":{{"status":"200"}}}}}}"#
        )
    };
    let cut = &point(900.0)[..60];
    c.file(
        "run.ndjson",
        &format!("{metric}\n{}\n{}\n{cut}", point(100.0), point(120.0)),
    );
    c.perfgate(&["metrics", "run.ndjson"])
        .code(2)
        .stderr(predicate::str::contains("line 4 is truncated"))
        .stderr(predicate::str::contains("`--lenient` reads the file"));
    c.perfgate(&["metrics", "--lenient", "run.ndjson"])
        .code(0)
        .stdout(predicate::str::contains("truncated last line 4 skipped"))
        .stdout(predicate::str::is_match(r"http_req_duration\.count +2\n").expect("regex"));
    c.file(
        "budget.toml",
        "[sources.load]\npath = \"run.ndjson\"\n[[budget]]\nmetric = \"load.http_req_duration.max\"\ntarget = \"< 200ms\"\n",
    );
    c.check(&[])
        .code(2)
        .stderr(predicate::str::contains("line 4 is truncated"));
    c.check(&["--lenient"])
        .code(0)
        .stdout(predicate::str::contains("truncated last line 4 skipped"));
}

/// A k6 `--out json` stream of `n` request durations spread evenly over `[base, 1.5 × base)`.
fn k6_stream(base: f64, n: usize) -> String {
    let mut s = String::from(
        r#"{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time","thresholds":[],"submetrics":null},"metric":"http_req_duration"}"#,
    );
    s.push('\n');
    for i in 0..n {
        let ms = base * (1.0 + 0.5 * (i * 37 % n) as f64 / n as f64);
        s.push_str(&format!(
            r#"{{"metric":"http_req_duration","type":"Point","data":{{"time":"2026-11-26T12:00:{:02}.000001+01:00","value":{ms},"tags":{{"status":"200"}}}}}}"#,
            i % 60
        ));
        s.push('\n');
    }
    s
}

#[test]
fn streamed_distributions_go_into_the_baseline_and_the_quantile_test() {
    let c = Case::new();
    c.file(
        "budget.toml",
        "[gate]\nname = \"k6\"\n[sources.load]\npath = \"run.ndjson\"\n[[budget]]\nmetric = \"load.http_req_duration.p95\"\ntarget = \"< 500ms\"\n",
    );
    for base in [100.0, 102.0, 98.0, 101.0] {
        c.file("run.ndjson", &k6_stream(base, 400));
        c.perfgate(&["baseline", "update", "--budget", "budget.toml"])
            .code(0);
    }
    let b: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(c.dir.path().join("baselines/k6.json")).expect("baseline"),
    )
    .expect("JSON");
    let stored = &b["runs"][3]["metrics"]["load.http_req_duration.p95"];
    assert!(
        stored["histogram"].as_str().is_some_and(|h| h.len() > 20),
        "{stored}"
    );

    c.file("run.ndjson", &k6_stream(99.0, 400));
    let m = &c.check_json(0)["metrics"][0];
    assert_eq!(m["baseline"]["method"], "histogram-quantile", "{m}");
    assert_eq!(m["baseline"]["regression"], false, "{m}");

    c.file("run.ndjson", &k6_stream(140.0, 400));
    let m = &c.check_json(1)["metrics"][0];
    assert_eq!(
        (
            m["baseline"]["method"].as_str(),
            m["baseline"]["regression"].as_bool()
        ),
        (Some("histogram-quantile"), Some(true)),
        "{m}"
    );
}

/// Issue 9: one audit Lighthouse wrote as a negative saving costs that audit, not the report.
#[test]
fn a_bad_audit_is_dropped_with_its_reason_and_a_rule_on_it_says_why() {
    let c = Case::new();
    let mut lhr: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(repo(
            "tests/fixtures/lighthouse/mobile-heavy-perf-only-12.8.2.json",
        ))
        .expect("fixture"),
    )
    .expect("JSON");
    lhr["audits"]["prioritize-lcp-image"]["numericValue"] = serde_json::json!(-17);
    c.file("lhr.json", &lhr.to_string());
    let why = "field `audits.prioritize-lcp-image.numericValue`: -17 is negative, which this quantity cannot be";
    c.perfgate(&["metrics", "lhr.json"])
        .code(0)
        .stdout(predicate::str::contains(format!(
            "  dropped audit.prioritize-lcp-image: {why}\n"
        )));
    let out = c.perfgate(&["metrics", "--json", "lhr.json"]).code(0);
    let json: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("valid JSON");
    assert_eq!(
        json["files"][0]["dropped"],
        serde_json::json!({ "audit.prioritize-lcp-image": why })
    );

    let budget = |metric: &str| {
        format!(
            "[gate]\nname = \"web\"\n\n[sources.web]\npath = \"lhr.json\"\n\n[[budget]]\nmetric = \"{metric}\"\ntarget = \"< 60000ms\"\n"
        )
    };
    c.file("budget.toml", &budget("web.lcp"));
    let verdict = c.check_json(0);
    assert_eq!(
        verdict["sources"][0]["dropped"],
        serde_json::json!({ "audit.prioritize-lcp-image": why })
    );
    c.check(&[])
        .code(0)
        .stdout(predicate::str::contains(format!(
            "\n    dropped audit.prioritize-lcp-image: {why}\n"
        )));
    c.file("budget.toml", &budget("web.audit.prioritize-lcp-image"));
    c.check(&[]).code(2).stderr(predicate::str::contains(format!(
        "`web.audit.prioritize-lcp-image` (budget line 7): source `web` could not read `audit.prioritize-lcp-image`: {why}"
    )));
}

/// The streams of four k6 processes that ran one test together (tests/fixtures/k6/shards).
fn k6_shards(c: &Case, files: &str) {
    for n in 1..=4 {
        let from = repo(&format!("tests/fixtures/k6/shards/shard-{n}.ndjson"));
        c.file(
            &format!("k6/shard-{n}.ndjson"),
            &fs::read_to_string(from).expect("fixture"),
        );
    }
    c.file(
        "budget.toml",
        &format!(
            r#"
[gate]
name = "load"
[sources.load]
format = "k6"
path = "k6/shard-*.ndjson"
files = "{files}"
[[budget]]
metric = "load.http_reqs.count"
target = "> 60"
[[budget]]
metric = "load.http_req_duration.p95"
target = "< 5s"
"#
        ),
    );
}

#[test]
fn shards_of_one_k6_run_are_judged_as_the_whole_run() {
    let c = Case::new();
    k6_shards(&c, "shards");
    let v = c.check_json(0);
    // Each process made 18 requests: the run made 72.
    assert_eq!(v["metrics"][0]["value"], 72.0, "{v:#}");
    assert_eq!(v["metrics"][0]["status"], "pass");
    let p95 = v["metrics"][1]["value"].as_f64().expect("p95");
    assert!(p95 > 0.0 && p95 < 5000.0, "{p95}");
    // The same files as runs: each one a run of 18 requests, judged by their median.
    k6_shards(&c, "runs");
    let v = c.check_json(0);
    assert_eq!(v["metrics"][0]["value"], 18.0, "{v:#}");
    assert_eq!(v["metrics"][0]["status"], "warn");
}

#[test]
fn summaries_declared_as_shards_are_refused_with_the_reason() {
    let c = Case::new();
    for (dir, files) in [
        (
            "tests/fixtures/k6/shards",
            ["shard-1.summary-export.json", "shard-2.summary-export.json"],
        ),
        (
            "tests/fixtures/artillery",
            ["http-clean.json", "http-errors-4xx-5xx.json"],
        ),
    ] {
        for file in files {
            let text = fs::read_to_string(repo(&format!("{dir}/{file}"))).expect("fixture");
            c.file(&format!("shards/{file}"), &text);
        }
        c.file(
            "budget.toml",
            r#"
[sources.load]
path = "shards/*.json"
files = "shards"
[[budget]]
metric = "load.http_req_duration.p95"
target = "< 5s"
"#,
        );
        c.check(&[])
            .code(2)
            .stderr(predicate::str::contains(format!(
                "source `load` (files = \"shards\"): shards/{}: this",
                files[0]
            )))
            .stderr(predicate::str::contains(
                "holds statistics, not samples: its percentiles cannot be merged",
            ))
            .stderr(predicate::str::contains(
                "shards merge from k6 `--out json` streams and JMeter JTL files",
            ));
        for file in files {
            fs::remove_file(c.dir.path().join("shards").join(file)).expect("rm");
        }
    }
}

/// A case holding the example app's webpack stats and, beside them in `dist/`, its 6 files.
fn webpack_case(budget: &str) -> Case {
    let c = Case::new();
    let app = repo("tests/fixtures/webpack/app");
    fs::create_dir(c.dir.path().join("dist")).expect("mkdir");
    for entry in fs::read_dir(app.join("dist")).expect("dist/") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("a file");
        fs::copy(&path, c.dir.path().join("dist").join(name)).expect("copy");
    }
    fs::copy(app.join("stats.json"), c.dir.path().join("stats.json")).expect("copy");
    c.file("budget.toml", budget);
    c
}

#[test]
fn a_bundle_budget_on_one_compressed_size_is_judged_and_metrics_still_lists_all() {
    let c = webpack_case(
        r#"
[sources.bundle]
path = "stats.json"

[[budget]]
metric = "bundle.initial.gzip"
target = "< 50KB"

[[budget]]
metric = "vendor_share"
expr = "bundle['asset.vendors.5029144a.js.brotli'] / bundle['total.raw'] * 100"
unit = "%"
target = "< 40%"
"#,
    );
    let v = c.check_json(0);
    // The sizes `perfgate metrics` gives for the same files (and the webpack reader's tests pin).
    assert_eq!(v["metrics"][0]["value"], 45_690.0);
    assert_eq!(v["metrics"][0]["status"], "pass");
    let all = c
        .perfgate(&["metrics", "--json", "stats.json"])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let all: serde_json::Value = serde_json::from_slice(&all).expect("json");
    let metrics = &all["files"][0]["metrics"];
    assert_eq!(metrics["initial.gzip"]["value"], 45_690.0);
    assert_eq!(metrics["initial.brotli"]["value"], 40_834.0);
    let share = metrics["asset.vendors.5029144a.js.brotli"]["value"]
        .as_f64()
        .expect("a number")
        / metrics["total.raw"]["value"].as_f64().expect("a number")
        * 100.0;
    assert_eq!(v["metrics"][1]["value"], share);
    c.perfgate(&["metrics", "stats.json"])
        .code(0)
        .stdout(predicate::str::contains("  total.brotli  "));
}

#[test]
fn a_misspelt_compressed_size_offers_the_closest_names_of_every_metric() {
    let c = webpack_case(
        r#"
[sources.bundle]
path = "stats.json"

[[budget]]
metric = "bundle.initial.gzp"
target = "< 50KB"
"#,
    );
    c.check(&[]).code(2).stderr(predicate::str::contains(
        "source `bundle` has no metric `initial.gzp`; closest: `initial.gzip`",
    ));
}

/// Issue 9, beyond Lighthouse: one negative per-code counter in an Artillery report costs that
/// counter and the `http.codes.5xx` it adds to, never the report; a rule on the total says why.
#[test]
fn a_bad_artillery_counter_drops_it_and_its_total_and_a_rule_on_the_total_says_why() {
    let c = Case::new();
    let text = fs::read_to_string(repo("tests/fixtures/artillery/http-errors-4xx-5xx.json"))
        .expect("fixture");
    let bad = text.replacen("\"http.codes.500\": 7,", "\"http.codes.500\": -7,", 1);
    assert_ne!(bad, text);
    c.file("report.json", &bad);
    let why =
        "field `aggregate.counters.http.codes.500`: -7 is negative, which this quantity cannot be";
    let total =
        format!("it sums the counters `http.codes.5…`, and `http.codes.500` was dropped: {why}");
    let out = c.perfgate(&["metrics", "--json", "report.json"]).code(0);
    let json: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("valid JSON");
    assert_eq!(
        json["files"][0]["dropped"],
        serde_json::json!({ "http.codes.500": why, "http.codes.5xx": total })
    );
    assert_eq!(
        json["files"][0]["metrics"]["http.response_time.p95"]["value"],
        serde_json::json!(115.6)
    );

    let budget = |metric: &str| {
        format!(
            "[gate]\nname = \"api\"\n\n[sources.api]\npath = \"report.json\"\n\n[[budget]]\nmetric = \"{metric}\"\ntarget = \"< 200ms\"\n"
        )
    };
    c.file("budget.toml", &budget("api.http.response_time.p95"));
    c.check(&[])
        .code(0)
        .stdout(predicate::str::contains(format!(
            "\n    dropped http.codes.500: {why}\n"
        )));
    c.file(
        "budget.toml",
        &budget("api.http.codes.5xx").replace("< 200ms", "< 1"),
    );
    c.check(&[]).code(2).stderr(predicate::str::contains(format!(
        "`api.http.codes.5xx` (budget line 7): source `api` could not read `http.codes.5xx`: {total}"
    )));
}
