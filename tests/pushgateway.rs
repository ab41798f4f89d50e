//! `check --pushgateway` end to end: the real `prometheus-pushgateway` (Debian's package) takes
//! the push, its API reads the group back, and a real `prometheus` scraping it answers PromQL with
//! the verdict's numbers — the "chart every merge in Grafana" path. Then the ways a push fails,
//! each a warning that leaves the exit code and stdout as they are without the push.
//!
//! The one rule: everything stays on 127.0.0.1 and every child process is killed, even when an
//! assertion fails. Without the binaries on PATH the live tests are skipped with a line on stderr,
//! unless `PERFGATE_REQUIRE_PROMETHEUS=1` (set in CI) makes that a failure.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::dir::Dir;
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
target = "< 200ms"
critical = "< 400ms"

[[budget]]
metric = "api.p99"
critical = "< 900ms"
"#;

/// The same budget without its second rule.
fn one_rule() -> &'static str {
    BUDGET
        .split("\n[[budget]]\nmetric = \"api.p99\"")
        .next()
        .expect("the first rule")
}

/// `pgw-s3cret`, bcrypt-hashed (cost 4) for the Pushgateway's `--web.config.file`.
const PASSWORD: &str = "pgw-s3cret";
const PASSWORD_HASH: &str = "$2b$04$CJHr93de9pUEg6ohJa61Uu8A7YHm2gp0jLXU3vqTisr088Dh/8/TS";

/// Kills and reaps the child when dropped, whatever happened in between.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The binary, or `None` when the test may be skipped (said on stderr).
fn required(name: &str, test: &str) -> Option<PathBuf> {
    let found = binary(name);
    if found.is_none() {
        if std::env::var("PERFGATE_REQUIRE_PROMETHEUS").as_deref() == Ok("1") {
            panic!("PERFGATE_REQUIRE_PROMETHEUS=1 but `{name}` is not on PATH");
        }
        eprintln!("SKIPPED {test}: `{name}` is not on PATH (apt-get install -y prometheus prometheus-pushgateway)");
    }
    found
}

/// A port that was free a moment ago (bound, then released for the child to take).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A Pushgateway on a free loopback port, without persistence, answering once it is up.
fn start_pushgateway(binary: &Path, dir: &Path, web_config: Option<&Path>) -> (KillOnDrop, u16) {
    let port = free_port();
    let log = std::fs::File::create(dir.join("pushgateway.log")).expect("log file");
    let mut cmd = Command::new(binary);
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--persistence.file=");
    if let Some(config) = web_config {
        cmd.arg(format!("--web.config.file={}", config.display()));
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus-pushgateway");
    let guard = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the Pushgateway did not listen in 30 s: {}",
            std::fs::read_to_string(dir.join("pushgateway.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, port)
}

fn get_json(url: &str) -> Value {
    let mut answer = String::new();
    curl_get(url)
        .read_to_string(&mut answer)
        .expect("read the answer");
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{url}: {e}: {answer}"))
}

/// A GET without a client library: curl, which CI installs.
fn curl_get(url: &str) -> std::io::Cursor<Vec<u8>> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", url])
        .output()
        .expect("run curl");
    assert!(out.status.success(), "curl {url}: {:?}", out);
    std::io::Cursor::new(out.stdout)
}

/// The Pushgateway's groups (`/api/v1/metrics`): each group's labels, and per metric family
/// its samples as (labels, value).
fn groups(port: u16) -> Vec<Value> {
    let api = get_json(&format!("http://127.0.0.1:{port}/api/v1/metrics"));
    assert_eq!(api["status"], "success", "{api}");
    api["data"].as_array().expect("data").clone()
}

fn group<'a>(groups: &'a [Value], labels: &Value) -> &'a Value {
    groups
        .iter()
        .find(|g| &g["labels"] == labels)
        .unwrap_or_else(|| panic!("no group {labels} among {groups:?}"))
}

/// The value of the sample of `family` whose `id` label is `id`.
fn sample(group: &Value, family: &str, id: Option<&str>) -> Option<f64> {
    group[family]["metrics"]
        .as_array()?
        .iter()
        .find(|m| id.is_none_or(|id| m["labels"]["id"] == id))
        .and_then(|m| m["value"].as_str()?.parse().ok())
}

/// Runs the binary in `dir` with the CI variables of the test run removed and `env` set.
fn perfgate(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfgate"));
    cmd.current_dir(dir);
    for (var, _) in std::env::vars() {
        if var.starts_with("GITHUB_")
            || var.starts_with("PERFGATE_")
            || var.starts_with("GITLAB_")
            || var.starts_with("CI_")
        {
            cmd.env_remove(var);
        }
    }
    cmd.envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run perfgate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A checkout with the budget and a report: p95 `p95` ms, p99 600 ms.
fn checkout(p95: f64) -> Dir {
    let dir = Dir::new();
    dir.file("budget.toml", BUDGET);
    dir.report("api.json", &[("p95", p95), ("p99", 600.0)]);
    dir
}

#[test]
fn a_push_lands_in_the_pushgateway_and_prometheus_answers_promql_with_it() {
    let test = "a_push_lands_in_the_pushgateway_and_prometheus_answers_promql_with_it";
    let (Some(pgw), Some(prom)) = (
        required("prometheus-pushgateway", test),
        required("prometheus", test),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let (_pgw, port) = start_pushgateway(&pgw, tmp.path(), None);
    let url = format!("http://127.0.0.1:{port}");

    // A merge-request pipeline on GitLab: the branch has a `/`, sent base64-encoded.
    let dir = checkout(150.0);
    let gitlab = [
        ("GITLAB_CI", "true"),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/login"),
    ];
    let with = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["check", "--budget", "budget.toml", "--comment", "never"];
        args.extend_from_slice(extra);
        perfgate(dir.path("").as_path(), env, &args)
    };
    let plain = with(&gitlab, &[]);
    let pushed = with(&gitlab, &["--pushgateway", &url]);
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed.stderr));
    assert_eq!(text(&pushed.stdout), text(&plain.stdout));
    let stderr = text(&pushed.stderr);
    assert!(
        stderr.contains(&format!(
            "pushgateway: metrics pushed to {url}/metrics/job/perfgate/gate/web/branch@base64/ZmVhdHVyZS9sb2dpbg"
        )),
        "{stderr}"
    );

    let all = groups(port);
    let labels = serde_json::json!({"job": "perfgate", "gate": "web", "branch": "feature/login"});
    let g = group(&all, &labels);
    assert_eq!(g["last_push_successful"], true);
    assert_eq!(
        sample(g, "perfgate_metric_value", Some("api.p95")),
        Some(0.15)
    );
    assert_eq!(
        sample(g, "perfgate_metric_target", Some("api.p95")),
        Some(0.2)
    );
    assert_eq!(
        sample(g, "perfgate_metric_critical", Some("api.p99")),
        Some(0.9)
    );
    assert_eq!(sample(g, "perfgate_verdict", None), Some(0.0));

    // The environment variable does the same, and a second verdict of another budget replaces the
    // group (PUT): the rule it dropped is gone, the new value is there.
    dir.file("budget.toml", one_rule());
    dir.report("api.json", &[("p95", 250.0), ("p99", 600.0)]);
    let mut env = gitlab.to_vec();
    env.push(("PERFGATE_PUSHGATEWAY", &url));
    let again = with(&env, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let all = groups(port);
    let g = group(&all, &labels);
    assert_eq!(
        sample(g, "perfgate_metric_value", Some("api.p95")),
        Some(0.25)
    );
    assert_eq!(sample(g, "perfgate_metric_value", Some("api.p99")), None);
    assert_eq!(sample(g, "perfgate_verdict", None), Some(1.0));

    // The default branch's run on GitHub Actions is a group of its own beside it.
    let github = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REF_TYPE", "branch"),
        ("GITHUB_REF_NAME", "main"),
    ];
    dir.report("api.json", &[("p95", 120.0), ("p99", 600.0)]);
    let main = with(&github, &["--pushgateway", &url]);
    assert_eq!(main.status.code(), Some(0), "{}", text(&main.stderr));
    let all = groups(port);
    let main_labels = serde_json::json!({"job": "perfgate", "gate": "web", "branch": "main"});
    assert_eq!(
        sample(
            group(&all, &main_labels),
            "perfgate_metric_value",
            Some("api.p95")
        ),
        Some(0.12)
    );
    assert_eq!(
        sample(
            group(&all, &labels),
            "perfgate_metric_value",
            Some("api.p95")
        ),
        Some(0.25)
    );

    // A Prometheus scraping the Pushgateway, as a Grafana panel would query it.
    let config = tmp.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    \
             honor_labels: true\n    static_configs: [{{ targets: ['127.0.0.1:{port}'] }}]\n"
        ),
    )
    .expect("write the config");
    let prom_port = free_port();
    let log = std::fs::File::create(tmp.path().join("prometheus.log")).expect("log file");
    let child = Command::new(&prom)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            tmp.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let _prom = KillOnDrop(child);
    let query = "perfgate_metric_value{job=\"perfgate\",gate=\"web\",id=\"api.p95\"}";
    let deadline = Instant::now() + Duration::from_secs(60);
    let result = loop {
        let answer = Command::new("curl")
            .args(["-sS", "--max-time", "5", "-G"])
            .arg(format!("http://127.0.0.1:{prom_port}/api/v1/query"))
            .args(["--data-urlencode", &format!("query={query}")])
            .output()
            .expect("run curl");
        let parsed: Option<Value> = serde_json::from_slice(&answer.stdout).ok();
        let found = parsed
            .as_ref()
            .and_then(|v| v["data"]["result"].as_array())
            .filter(|r| r.len() == 2)
            .cloned();
        if let Some(result) = found {
            break result;
        }
        assert!(
            Instant::now() < deadline,
            "no answer from prometheus in 60 s: {:?}\n{}",
            parsed,
            std::fs::read_to_string(tmp.path().join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let by_branch: std::collections::BTreeMap<String, f64> = result
        .iter()
        .map(|s| {
            (
                s["metric"]["branch"].as_str().expect("branch").to_owned(),
                s["value"][1]
                    .as_str()
                    .expect("value")
                    .parse()
                    .expect("number"),
            )
        })
        .collect();
    assert_eq!(
        by_branch,
        [
            ("feature/login".to_owned(), 0.25),
            ("main".to_owned(), 0.12)
        ]
        .into()
    );
}

#[test]
fn credentials_in_the_url_authenticate_and_are_never_printed() {
    let test = "credentials_in_the_url_authenticate_and_are_never_printed";
    let Some(pgw) = required("prometheus-pushgateway", test) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let web = tmp.path().join("web.yml");
    std::fs::write(
        &web,
        format!("basic_auth_users:\n  perfgate: '{PASSWORD_HASH}'\n"),
    )
    .expect("write the web config");
    let (_pgw, port) = start_pushgateway(&pgw, tmp.path(), Some(&web));
    let dir = checkout(150.0);
    let run = |url: &str| {
        perfgate(
            dir.path("").as_path(),
            &[],
            &["check", "--budget", "budget.toml", "--pushgateway", url],
        )
    };

    let wrong = run(&format!("http://perfgate:not-it@127.0.0.1:{port}"));
    assert_eq!(wrong.status.code(), Some(0));
    let stderr = text(&wrong.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: could not push the metrics to the Pushgateway, the verdict stands: http://127.0.0.1:{port}/metrics/job/perfgate/gate/web: HTTP 401: Unauthorized"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("not-it"), "{stderr}");

    let right = run(&format!("http://perfgate:{PASSWORD}@127.0.0.1:{port}/"));
    assert_eq!(right.status.code(), Some(0));
    let stderr = text(&right.stderr);
    assert!(
        stderr.contains(&format!(
            "pushgateway: metrics pushed to http://127.0.0.1:{port}/metrics/job/perfgate/gate/web"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    let api = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-u",
            &format!("perfgate:{PASSWORD}"),
        ])
        .arg(format!("http://127.0.0.1:{port}/api/v1/metrics"))
        .output()
        .expect("run curl");
    let api: Value = serde_json::from_slice(&api.stdout).expect("the API's JSON");
    let g = group(
        api["data"].as_array().expect("data"),
        &serde_json::json!({"job": "perfgate", "gate": "web"}),
    );
    assert_eq!(
        sample(g, "perfgate_metric_value", Some("api.p95")),
        Some(0.15)
    );
}

#[test]
fn a_failed_push_is_a_warning_that_leaves_the_verdict_and_its_exit_code() {
    // A failing verdict: p95 above its critical threshold.
    let dir = checkout(450.0);
    let run = |url: &str| {
        perfgate(
            dir.path("").as_path(),
            &[],
            &["check", "--budget", "budget.toml", "--pushgateway", url],
        )
    };
    let baseline = perfgate(
        dir.path("").as_path(),
        &[],
        &["check", "--budget", "budget.toml"],
    );
    assert_eq!(baseline.status.code(), Some(1));

    let refused = format!("http://127.0.0.1:{}", free_port());
    for (url, why) in [
        (refused.as_str(), "Connection refused"),
        ("pushgateway.example:9091", "not an http:// or https:// URL"),
        ("http://[::1", "not a URL"),
        ("http://127.0.0.1:9091/?x=1", "has no query or fragment"),
    ] {
        let out = run(url);
        assert_eq!(out.status.code(), Some(1), "{url}");
        assert_eq!(text(&out.stdout), text(&baseline.stdout), "{url}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(
                "warning: could not push the metrics to the Pushgateway, the verdict stands: "
            ) && stderr.contains(why),
            "{url}: {stderr}"
        );
    }

    // An empty PERFGATE_PUSHGATEWAY (an unset repository variable in a workflow) is no push.
    let out = perfgate(
        dir.path("").as_path(),
        &[("PERFGATE_PUSHGATEWAY", "")],
        &["check", "--budget", "budget.toml"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), text(&baseline.stderr));
}

#[test]
fn a_silent_pushgateway_is_given_up_on_within_the_deadline() {
    // Connections complete in the listen backlog, but nothing ever answers them.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    let dir = checkout(150.0);
    let start = Instant::now();
    let out = perfgate(
        dir.path("").as_path(),
        &[],
        &[
            "check",
            "--budget",
            "budget.toml",
            "--pushgateway",
            &format!("http://127.0.0.1:{port}"),
        ],
    );
    let elapsed = start.elapsed();
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no answer within 10 s"), "{stderr}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    drop(listener);
}

#[test]
fn a_pushgateway_that_fails_once_is_retried() {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let url = common::http::serve(move |_, request| {
        let mut seen = seen.lock().expect("lock");
        seen.push((
            request.method.clone(),
            request.target.clone(),
            request.headers.get("content-type").cloned(),
            request.body.clone(),
        ));
        if seen.len() == 1 {
            (503, vec![], "<html>\n<b>busy</b>\n</html>".to_owned())
        } else {
            (200, vec![], String::new())
        }
    });
    let dir = checkout(150.0);
    let out = perfgate(
        dir.path("").as_path(),
        &[],
        &["check", "--budget", "budget.toml", "--pushgateway", &url],
    );
    assert_eq!(out.status.code(), Some(0));
    let requests = requests.lock().expect("lock");
    assert_eq!(requests.len(), 2);
    for (method, target, content_type, body) in requests.iter() {
        assert_eq!(method, "PUT");
        assert_eq!(target, "/metrics/job/perfgate/gate/web");
        assert_eq!(
            content_type.as_deref(),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        assert!(body.ends_with("# EOF\n"), "{body}");
    }
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("pushgateway: metrics pushed to "),
        "{stderr}"
    );
}
