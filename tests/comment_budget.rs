//! `perfgate comment --budget`: a saved verdict comes from the pull request's own job, which a
//! fork controls, so with `--budget` its gate (whose comment it replaces) and each metric's rule
//! must be the trusted budget's. Through the binary, against the fake GitHub of tests/common on
//! 127.0.0.1, in a `workflow_run` as the fork-safe pattern runs it.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{json, Value};
use tempfile::TempDir;

mod common;
use common::github::{Fake, BASE, HEAD, MERGE, PR, REPOSITORY, TOKEN};

const BUDGET: &str = r#"[gate]
name = "prod"

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
expr = "api['failed'] / api['requests'] * 100"
unit = "%"
target = "< 1%"
"#;

/// Another gate's budget, with a rule of its own.
const STAGING: &str = r#"[gate]
name = "staging"

[sources.api]
format = "json"
path = "api.json"

[[budget]]
metric = "api.p99"
target = "< 500ms"
"#;

const PROVENANCE: &str =
    "<sub>Figures reported by the pull request's own run; this workflow rendered them.</sub>";

struct Case {
    dir: TempDir,
    fake: Fake,
}

impl Case {
    /// A workspace with both budgets, a report, and the verdict a pull request's run saved.
    fn new() -> Case {
        let c = Case {
            dir: tempfile::tempdir().expect("temp dir"),
            fake: Fake::start(),
        };
        c.file("budget.toml", BUDGET);
        c.file("staging.toml", STAGING);
        let api = json!({"schema": "perfgate/metrics@1", "tool": "comment budget test",
            "metrics": {"p95": {"value": 150.0, "unit": "ms"}, "p99": {"value": 180.0, "unit": "ms"},
                        "failed": {"value": 5.0, "unit": ""}, "requests": {"value": 1000.0, "unit": ""}}});
        c.file("api.json", &api.to_string());
        let event = json!({"action": "synchronize", "number": PR, "pull_request": {
            "number": PR, "head": {"sha": HEAD}, "base": {"sha": BASE}}});
        c.file("pr-event.json", &event.to_string());
        let event = json!({"action": "completed", "workflow_run": {
            "event": "pull_request", "head_sha": HEAD, "pull_requests": []}});
        c.file("run-event.json", &event.to_string());

        let out = c.run(
            "pull_request",
            &[
                "check",
                "--budget",
                "budget.toml",
                "--comment",
                "never",
                "--format",
                "json",
                "--output",
                "verdict.json",
            ],
        );
        assert_eq!(out.0, 0, "{}", out.1);
        c
    }

    fn file(&self, name: &str, text: &str) {
        fs::write(self.dir.path().join(name), text).expect("write");
    }

    fn verdict(&self) -> Value {
        let text = fs::read_to_string(self.dir.path().join("verdict.json")).expect("read");
        serde_json::from_str(&text).expect("verdict JSON")
    }

    /// Runs perfgate in a `pull_request` (without a token) or `workflow_run` (with one) run.
    fn run(&self, event: &str, args: &[&str]) -> (i32, String) {
        let mut cmd = Command::cargo_bin("perfgate").expect("binary");
        cmd.current_dir(self.dir.path())
            .timeout(Duration::from_secs(60));
        for (var, _) in std::env::vars() {
            if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
                cmd.env_remove(var);
            }
        }
        let payload = if event == "workflow_run" {
            "run-event.json"
        } else {
            "pr-event.json"
        };
        let mut env = BTreeMap::from([
            ("GITHUB_API_URL", self.fake.base.clone()),
            ("GITHUB_REPOSITORY", REPOSITORY.to_owned()),
            ("GITHUB_EVENT_NAME", event.to_owned()),
            (
                "GITHUB_EVENT_PATH",
                self.dir.path().join(payload).display().to_string(),
            ),
            ("GITHUB_SHA", MERGE.to_owned()),
        ]);
        if event == "workflow_run" {
            env.insert("GITHUB_TOKEN", TOKEN.to_owned());
        }
        let out = cmd.envs(env).args(args).output().expect("runs");
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert!(!stderr.contains(TOKEN), "the token leaked: {stderr}");
        (out.status.code().expect("exit code"), stderr)
    }

    fn comment(&self, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["comment", "--verdict", "verdict.json"];
        args.extend_from_slice(extra);
        self.run("workflow_run", &args)
    }
}

#[test]
fn a_verdict_of_the_budget_is_posted_saying_where_its_figures_come_from() {
    let c = Case::new();
    let (code, stderr) = c.comment(&["--budget", "staging.toml", "--budget", "budget.toml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("pull request #12: comment 1001 created"),
        "{stderr}"
    );
    let comments = c.fake.comments();
    assert_eq!(comments.len(), 1);
    assert!(comments[0]
        .body
        .starts_with("<!-- perfgate:gate=prod -->\n"));
    assert!(
        comments[0]
            .body
            .ends_with(&format!("</details>\n\n{PROVENANCE}\n")),
        "{}",
        comments[0].body
    );
}

#[test]
fn a_verdict_naming_another_gate_is_refused_and_nothing_is_sent() {
    let c = Case::new();
    let mut v = c.verdict();
    v["gate"] = json!("staging");
    c.file("verdict.json", &v.to_string());

    let (code, stderr) = c.comment(&["--budget", "budget.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "verdict.json: field `gate`: `staging` is not the gate of any --budget: `prod` (budget.toml)"
        ),
        "{stderr}"
    );
    // `--comment auto` is no way around it.
    let (code, _) = c.comment(&["--budget", "budget.toml", "--comment", "auto"]);
    assert_eq!(code, 2);
    assert!(c.fake.requests().is_empty(), "nothing was sent to GitHub");

    // Without --budget the file's gate is trusted, as before.
    let (code, stderr) = c.comment(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(c.fake.comments()[0]
        .body
        .starts_with("<!-- perfgate:gate=staging -->\n"));
}

#[test]
fn a_metric_of_no_rule_of_the_gate_is_refused_naming_it() {
    let c = Case::new();
    let v = c.verdict();
    let metrics = v["metrics"].as_array().expect("metrics").len();
    assert_eq!(metrics, 2);

    // A rule of another gate's budget.
    let mut forged = v.clone();
    forged["metrics"][1]["rule"] = json!("api.p99");
    c.file("verdict.json", &forged.to_string());
    let (code, stderr) = c.comment(&["--budget", "budget.toml", "--budget", "staging.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "verdict.json: field `metrics[1].rule`: `api.p99` is not a rule of gate `prod` (budget.toml)"
        ),
        "{stderr}"
    );

    // No `rule`: the `id` stands for it.
    let mut forged = v.clone();
    let m = forged["metrics"][0].as_object_mut().expect("metric");
    m.remove("rule");
    m.insert("id".into(), json!("api.made_up"));
    c.file("verdict.json", &forged.to_string());
    let (code, stderr) = c.comment(&["--budget", "budget.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("field `metrics[0].rule`: `api.made_up` is not a rule of gate `prod`"),
        "{stderr}"
    );
    assert!(c.fake.requests().is_empty(), "nothing was sent to GitHub");

    // The untouched verdict passes.
    c.file("verdict.json", &v.to_string());
    let (code, stderr) = c.comment(&["--budget", "budget.toml"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_budget_that_cannot_be_read_is_exit_2() {
    let c = Case::new();
    let (code, stderr) = c.comment(&["--budget", "missing.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("missing.toml"), "{stderr}");
    assert!(c.fake.requests().is_empty());
}
