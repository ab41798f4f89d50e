//! Servers that send their headers and then trickle the body, one byte per second: every byte
//! resets a per-read timeout, so only a deadline over the whole exchange ends the wait. GitHub
//! (the octocrab client, `check --comment`, `comment`) and a live Prometheus source each get one.
//!
//! Every binary run has assert_cmd's timeout, so a regression fails instead of hanging the suite.
//! The servers are tests/common/http.rs's, on 127.0.0.1 only.

use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use perfgate::github::{upsert_comment, CommentError, CommentOptions, Context};
use perfgate::ingest::{load_source, Files, Format, Location, SourceSpec, Wanted};
use serde_json::json;
use tempfile::TempDir;

mod common;
use common::github::{BASE, HEAD, MERGE, PR, REPOSITORY, TOKEN};
use common::http::serve_trickling;

/// A comment list as GitHub sends it, long enough that trickling it takes far past any deadline.
fn comment_list() -> String {
    let comment = json!({"id": 1, "user": {"login": "someone"}, "body": "x".repeat(100)});
    json!([comment]).to_string()
}

const SECOND: Duration = Duration::from_secs(1);

/// What a run may take at most before assert_cmd kills it: far above the 2 s deadlines used here.
const KILL_AFTER: Duration = Duration::from_secs(30);

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
"#;

/// A pull_request run's workspace and variables, with GitHub at `api_url`.
struct Case {
    dir: TempDir,
    env: BTreeMap<&'static str, String>,
}

impl Case {
    fn new(api_url: &str) -> Case {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("budget.toml"), BUDGET).expect("write");
        let api = json!({"schema": "perfgate/metrics@1", "tool": "deadline test",
                         "metrics": {"p95": {"value": 150.0, "unit": "ms"}}});
        fs::write(dir.path().join("api.json"), api.to_string()).expect("write");
        let event = json!({"action": "synchronize", "number": PR, "pull_request": {
            "number": PR, "head": {"sha": HEAD}, "base": {"sha": BASE}}});
        let event_path = dir.path().join("event.json");
        fs::write(&event_path, event.to_string()).expect("write");
        let env = BTreeMap::from([
            ("GITHUB_TOKEN", TOKEN.to_owned()),
            ("GITHUB_API_URL", api_url.to_owned()),
            ("GITHUB_REPOSITORY", REPOSITORY.to_owned()),
            ("GITHUB_EVENT_NAME", "pull_request".to_owned()),
            ("GITHUB_EVENT_PATH", event_path.display().to_string()),
            ("GITHUB_SHA", MERGE.to_owned()),
        ]);
        Case { dir, env }
    }

    /// Runs perfgate; returns exit code, stderr and how long it took.
    fn run(&self, args: &[&str]) -> (i32, String, Duration) {
        let mut cmd = Command::cargo_bin("perfgate").expect("binary");
        cmd.current_dir(self.dir.path()).timeout(KILL_AFTER);
        for (var, _) in std::env::vars() {
            if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
                cmd.env_remove(var);
            }
        }
        cmd.envs(&self.env).args(args);
        let started = Instant::now();
        let out = cmd.output().expect("runs");
        let took = started.elapsed();
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert!(!stderr.contains(TOKEN), "the token leaked: {stderr}");
        (out.status.code().expect("not killed"), stderr, took)
    }
}

#[test]
fn the_octocrab_client_gives_up_on_a_trickling_answer_at_its_deadline() {
    let api = serve_trickling(&comment_list(), SECOND);
    let vars: BTreeMap<String, String> = [
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_API_URL", api.as_str()),
        ("GITHUB_REPOSITORY", REPOSITORY),
        ("GITHUB_EVENT_NAME", "pull_request"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let event =
        json!({"pull_request": {"number": PR, "head": {"sha": HEAD}, "base": {"sha": BASE}}});
    let ctx = Context::from_vars(&vars, Some(&event.to_string())).expect("context");
    let opts = CommentOptions {
        max_total: Duration::from_secs(2),
        ..CommentOptions::default()
    };
    let started = Instant::now();
    let err = upsert_comment(&ctx, "prod", "body", &opts).expect_err("the deadline ends it");
    let took = started.elapsed();
    assert!(matches!(err, CommentError::Deadline { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "gave up on listing the comments of pull request #12 at GitHub {api}: the 2 s deadline \
             for posting the comment ran out (a stalled or trickling answer)"
        )
    );
    // The body alone would take over 100 s to arrive.
    assert!(took < Duration::from_secs(7), "took {took:?}");
}

#[test]
fn check_comment_always_fails_at_the_deadline_and_auto_keeps_the_verdict() {
    let api = serve_trickling(&comment_list(), SECOND);
    let c = Case::new(&api);

    let (code, stderr, took) = c.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--comment",
        "always",
        "--comment-timeout",
        "2s",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--comment always: could not post the pull-request comment: gave up on listing the comments of pull request #12")
            && stderr.contains("the 2 s deadline for posting the comment ran out"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");

    let (code, stderr, took) = c.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--comment-timeout",
        "2s",
    ]);
    assert_eq!(code, 0, "the verdict's code (pass): {stderr}");
    assert!(
        stderr.contains("warning: could not post the pull-request comment: gave up on")
            && stderr.contains("the 2 s deadline"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn comment_fails_at_the_deadline() {
    let api = serve_trickling(&comment_list(), SECOND);
    let c = Case::new(&api);
    let mut saver = Case::new(&api);
    saver.env.remove("GITHUB_TOKEN");
    let (code, stderr, _) = saver.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--comment",
        "never",
        "--format",
        "json",
        "--output",
        "verdict.json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    fs::copy(
        saver.dir.path().join("verdict.json"),
        c.dir.path().join("verdict.json"),
    )
    .expect("copy");

    let (code, stderr, took) = c.run(&[
        "comment",
        "--verdict",
        "verdict.json",
        "--comment-timeout",
        "2s",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("could not post the pull-request comment: gave up on")
            && stderr.contains("the 2 s deadline"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");

    let (code, stderr, _) = c.run(&[
        "comment",
        "--verdict",
        "verdict.json",
        "--comment",
        "auto",
        "--comment-timeout",
        "2s",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: could not post"), "{stderr}");
}

#[test]
fn a_bad_comment_timeout_is_exit_2() {
    let c = Case::new("http://127.0.0.1:9");
    for bad in ["0s", "soon"] {
        let (code, stderr, _) =
            c.run(&["check", "--budget", "budget.toml", "--comment-timeout", bad]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("--comment-timeout"), "{stderr}");
    }
}

fn prometheus(url: &str, queries: &[(&str, &str)], timeout: Duration) -> SourceSpec {
    SourceSpec {
        lenient: false,
        files: Files::Runs,
        wanted: Wanted::All,
        format: Some(Format::Prometheus),
        location: Location::PrometheusApi {
            url: url.to_owned(),
            queries: queries
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            timeout,
        },
    }
}

/// Prometheus's answer to `up` with one series.
fn up_answer() -> String {
    json!({"status": "success", "data": {"resultType": "vector",
        "result": [{"metric": {}, "value": [1_700_000_000.0, "1"]}]}})
    .to_string()
}

#[test]
fn a_trickling_prometheus_is_cut_off_by_the_source_timeout() {
    let answer = up_answer();
    assert!(answer.len() > 60);
    let url = serve_trickling(&answer, SECOND);
    let spec = prometheus(&url, &[("a", "up")], Duration::from_secs(2));
    let started = Instant::now();
    let e = format!("{:#}", load_source("db", &spec).expect_err("timed out"));
    let took = started.elapsed();
    assert!(
        e.contains("query `a` (`up`)")
            && e.contains("timed out after 2.0 s (the source's `timeout`"),
        "{e}"
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn the_source_timeout_covers_all_its_queries() {
    let answer = up_answer();
    // Each answer takes about 1.6 s, within the 3 s timeout; the three of them do not.
    let every = Duration::from_millis(1600) / u32::try_from(answer.len()).expect("short");
    let url = serve_trickling(&answer, every);
    let one = prometheus(&url, &[("a", "up")], Duration::from_secs(3));
    let source = load_source("db", &one).expect("one query fits");
    assert_eq!(source.metrics["a"].value, 1.0);

    let three = prometheus(
        &url,
        &[("a", "up"), ("b", "up"), ("c", "up")],
        Duration::from_secs(3),
    );
    let started = Instant::now();
    let e = format!("{:#}", load_source("db", &three).expect_err("timed out"));
    let took = started.elapsed();
    assert!(
        e.contains("query `b` (`up`)") && e.contains("timed out after 3.0 s"),
        "{e}"
    );
    assert!(took < Duration::from_secs(7), "took {took:?}");
}
