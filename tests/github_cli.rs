//! The binary on GitHub Actions: `check --comment`, the job summary, the step outputs, the
//! annotations and `perfgate comment --verdict`, against a local fake of GitHub's REST API on
//! 127.0.0.1 (pointed at with `GITHUB_API_URL`) and a temp `GITHUB_EVENT_PATH` payload.
//!
//! The fake is tests/common/github.rs, the one tests/github.rs drives octocrab against.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::{json, Value};
use tempfile::TempDir;

mod common;
use common::github::{Fake, Fault, BASE, HEAD, MERGE, PR, REPOSITORY, TOKEN};
const FORBIDDEN: &str = r#"{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/issues/comments#create-an-issue-comment","status":"403"}"#;

// ---------------------------------------------------------------------------------------------
// The runs

/// Variables of the environment that would change what the binary does; each run sets its own.
const CLEARED: [&str; 14] = [
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
    "GITHUB_WORKSPACE",
    "GITHUB_RUN_ID",
];

const BUDGET: &str = r#"[gate]
name = "prod"

[sources.api]
format = "json"
path = "api.json"

[sources.bundle]
format = "json"
path = "bundle.json"

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

[[budget]]
metric = "bundle.initial"
label = "Bundle Size (initial)"
target = "< 400KiB"
critical = "600KiB"
"#;

/// The line of the `API P95` rule's `[[budget]]` header in [`BUDGET`].
const P95_LINE: usize = 12;

/// Output of one run: exit code, stdout, stderr.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A workspace holding a budget and reports, with the GitHub variables of one kind of run.
struct Case {
    dir: TempDir,
    env: BTreeMap<&'static str, String>,
}

impl Case {
    fn new(p95: f64) -> Case {
        let c = Case {
            dir: tempfile::tempdir().expect("temp dir"),
            env: BTreeMap::new(),
        };
        c.file("budget.toml", BUDGET);
        c.reports(p95);
        c
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).expect("write");
        path
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).expect("read")
    }

    /// The API's p95, 5 of 1000 requests failed, a 135,000-byte bundle.
    fn reports(&self, p95: f64) {
        let metrics = |pairs: &[(&str, f64, &str)]| {
            let m: serde_json::Map<String, Value> = pairs
                .iter()
                .map(|(n, v, u)| ((*n).to_owned(), json!({"value": v, "unit": u})))
                .collect();
            json!({"schema": "perfgate/metrics@1", "tool": "github cli test", "metrics": m})
                .to_string()
        };
        self.file(
            "api.json",
            &metrics(&[
                ("p95", p95, "ms"),
                ("failed", 5.0, ""),
                ("requests", 1000.0, ""),
            ]),
        );
        self.file("bundle.json", &metrics(&[("initial", 135_000.0, "B")]));
    }

    /// The variables of a `pull_request` run on PR 12, with a token, posting to `fake`.
    fn on_pull_request(mut self, fake: &Fake) -> Case {
        let event = json!({
            "action": "synchronize",
            "number": PR,
            "pull_request": {
                "number": PR,
                "head": {"sha": HEAD, "ref": "changes"},
                "base": {"sha": BASE, "ref": "main"}
            }
        });
        self.event("pull_request", &event, fake);
        self
    }

    /// The variables of a `workflow_run` that follows the pull request's run. Like GitHub's for a
    /// pull request from a fork, its payload names no pull request.
    fn on_workflow_run(mut self, fake: &Fake, head_sha: &str) -> Case {
        let event = json!({
            "action": "completed",
            "workflow_run": {"event": "pull_request", "head_sha": head_sha, "pull_requests": []}
        });
        self.event("workflow_run", &event, fake);
        self
    }

    fn event(&mut self, name: &str, payload: &Value, fake: &Fake) {
        let path = self.file("event.json", &payload.to_string());
        for (k, v) in [
            ("GITHUB_TOKEN", TOKEN.to_owned()),
            ("GITHUB_API_URL", fake.base.clone()),
            ("GITHUB_REPOSITORY", REPOSITORY.to_owned()),
            ("GITHUB_EVENT_NAME", name.to_owned()),
            ("GITHUB_EVENT_PATH", path.display().to_string()),
            ("GITHUB_SHA", MERGE.to_owned()),
        ] {
            self.env.insert(k, v);
        }
    }

    /// As GitHub Actions runs a step: the summary and output files, the workspace.
    fn in_actions(mut self) -> Case {
        self.file("summary.md", "# Earlier step\n\n");
        self.file("output.txt", "");
        for (k, v) in [
            ("GITHUB_ACTIONS", "true".to_owned()),
            (
                "GITHUB_STEP_SUMMARY",
                self.path("summary.md").display().to_string(),
            ),
            (
                "GITHUB_OUTPUT",
                self.path("output.txt").display().to_string(),
            ),
            ("GITHUB_WORKSPACE", self.dir.path().display().to_string()),
        ] {
            self.env.insert(k, v);
        }
        self
    }

    fn without(mut self, var: &'static str) -> Case {
        self.env.remove(var);
        self
    }

    /// Runs perfgate with the case's variables (and no others of GitHub's).
    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::cargo_bin("perfgate").expect("binary");
        cmd.current_dir(self.dir.path());
        for var in CLEARED {
            cmd.env_remove(var);
        }
        cmd.envs(&self.env).args(args);
        let out = cmd.output().expect("runs");
        let run = Run {
            code: out.status.code().expect("exit code"),
            stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
        };
        assert!(
            !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
            "the token leaked:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        run
    }

    fn check(&self, extra: &[&str]) -> Run {
        let mut args = vec!["check", "--budget", "budget.toml"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// What `check --format markdown` prints for the same reports, outside GitHub.
    fn markdown(&self) -> String {
        let plain = Case {
            dir: tempfile::tempdir().expect("temp dir"),
            env: BTreeMap::new(),
        };
        for name in ["budget.toml", "api.json", "bundle.json"] {
            plain.file(name, &self.read(name));
        }
        if let Ok(history) = fs::read_to_string(self.path("baselines/prod.json")) {
            fs::create_dir_all(plain.path("baselines")).expect("mkdir");
            plain.file("baselines/prod.json", &history);
        }
        let run = plain.check(&["--format", "markdown"]);
        assert!(run.stderr.is_empty(), "{}", run.stderr);
        run.stdout
    }
}

fn marker() -> String {
    "<!-- perfgate:gate=prod -->".to_owned()
}

// ---------------------------------------------------------------------------------------------
// check --comment

#[test]
fn check_on_a_pull_request_posts_one_comment_then_updates_it() {
    let fake = Fake::start();
    let c = Case::new(350.0).on_pull_request(&fake);

    let first = c.check(&[]);
    assert_eq!(first.code, 1, "the verdict's exit code: {}", first.stderr);
    assert!(
        first.stdout.starts_with("perfgate prod: FAIL"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stderr
            .contains("pull request #12: comment 1001 created"),
        "{}",
        first.stderr
    );
    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(
        comments[0].body,
        c.markdown(),
        "the body is the markdown verdict"
    );
    assert!(comments[0].body.starts_with(&marker()));

    c.reports(150.0);
    let second = c.check(&[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let comments = fake.comments();
    assert_eq!(comments.len(), 1, "updated in place, not posted again");
    assert_eq!(comments[0].body, c.markdown());
    assert!(
        comments[0].body.contains("**pass**"),
        "{}",
        comments[0].body
    );
    let writes: Vec<String> = fake
        .writes()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert_eq!(
        writes,
        [
            format!("POST /repos/{REPOSITORY}/issues/{PR}/comments"),
            format!("PATCH /repos/{REPOSITORY}/issues/comments/1001"),
        ]
    );
}

#[test]
fn comment_never_sends_no_request() {
    let fake = Fake::start();
    let c = Case::new(350.0).on_pull_request(&fake);
    let run = c.check(&["--comment", "never"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert!(fake.requests().is_empty());

    // The same from the environment twin.
    let mut c = c;
    c.env.insert("PERFGATE_COMMENT", "never".into());
    assert_eq!(c.check(&[]).code, 1);
    assert!(fake.requests().is_empty());
}

#[test]
fn auto_posts_only_on_a_pull_request_with_a_token() {
    let fake = Fake::start();
    // A push: not a pull request.
    let mut c = Case::new(150.0).on_pull_request(&fake);
    c.env.insert("GITHUB_EVENT_NAME", "push".into());
    let run = c.check(&[]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert!(fake.requests().is_empty());

    // A pull request without a token: a note, no request, the same exit code.
    let c = Case::new(150.0)
        .on_pull_request(&fake)
        .without("GITHUB_TOKEN");
    let run = c.check(&[]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("not commenting") && run.stderr.contains("secrets.GITHUB_TOKEN"),
        "{}",
        run.stderr
    );
    assert!(fake.requests().is_empty());

    // `always` without a token fails loudly.
    let run = c.check(&["--comment", "always"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no GitHub token"), "{}", run.stderr);

    // `always` outside any CI says why; in Actions without the repository, it names the variable.
    let run = Case::new(150.0).check(&["--comment", "always"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "--comment always: not in a GitHub Actions run nor a GitLab merge-request pipeline"
        ),
        "{}",
        run.stderr
    );
    let run = Case::new(150.0)
        .in_actions()
        .check(&["--comment", "always"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("GITHUB_REPOSITORY is not set"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_token_that_cannot_write_is_a_warning_with_the_hint_unless_always() {
    let fake = Fake::start();
    let forbidden = || Fault::new("POST", "/comments", 403, FORBIDDEN, 1);
    for (p95, code) in [(150.0, 0), (350.0, 1)] {
        fake.fault(forbidden());
        let run = Case::new(p95).on_pull_request(&fake).check(&[]);
        assert_eq!(run.code, code, "exit code unchanged: {}", run.stderr);
        assert!(
            run.stderr.contains("warning: could not post")
                && run
                    .stderr
                    .contains("Resource not accessible by integration")
                && run.stderr.contains("permissions: pull-requests: write")
                && run.stderr.contains("perfgate comment --verdict"),
            "{}",
            run.stderr
        );
    }

    fake.fault(forbidden());
    let run = Case::new(150.0)
        .on_pull_request(&fake)
        .check(&["--comment", "always"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--comment always: could not post")
            && run.stderr.contains("permissions: pull-requests: write"),
        "{}",
        run.stderr
    );
    assert!(fake.comments().is_empty());
}

#[test]
fn pull_request_target_warns_about_untrusted_code() {
    let fake = Fake::start();
    let mut c = Case::new(150.0).on_pull_request(&fake);
    c.env
        .insert("GITHUB_EVENT_NAME", "pull_request_target".into());
    let run = c.check(&[]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("`pull_request_target`") && run.stderr.contains("untrusted"),
        "{}",
        run.stderr
    );
    assert_eq!(fake.comments().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Summary, outputs, annotations

#[test]
fn in_actions_the_summary_outputs_and_annotations_are_written() {
    let fake = Fake::start();
    let c = Case::new(350.0).on_pull_request(&fake).in_actions();
    let run = c.check(&[
        "--format",
        "json",
        "--output",
        "verdict.json",
        "--comment",
        "never",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);

    // stdout carries only the JSON verdict.
    let v: Value = serde_json::from_str(&run.stdout).expect("stdout is the JSON verdict");
    assert_eq!(v["verdict"], "fail");
    assert_eq!(
        v["github"],
        json!({"repository": REPOSITORY, "event": "pull_request", "pr_number": PR,
               "head_sha": HEAD, "base_sha": BASE})
    );

    // The summary is appended to.
    assert_eq!(
        c.read("summary.md"),
        format!("# Earlier step\n\n{}\n", c.markdown())
    );

    let out = c.read("output.txt");
    assert_eq!(
        out,
        "verdict=fail\npass=2\nwarn=0\nfail=1\nregressions=0\nwaived=0\ninconclusive=0\nruns_needed=\ninconclusive_metrics={}\njson=verdict.json\n"
    );

    // One error annotation, at the rule's line of the budget.
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(
        lines,
        [format!(
            "::error file=budget.toml,line={P95_LINE},title=API P95::API P95 is 350 ms: critical < 300 ms breached (target < 200 ms)"
        )]
    );
    assert_eq!(
        BUDGET.lines().nth(P95_LINE - 1),
        Some("[[budget]]"),
        "the line the rule starts on"
    );

    // Outside Actions, none of it.
    let plain = Case::new(350.0);
    let run = plain.check(&[]);
    assert_eq!((run.code, run.stderr.as_str()), (1, ""));
}

#[test]
fn warnings_are_warning_annotations_and_without_json_there_is_no_json_output() {
    let c = Case::new(250.0).in_actions();
    let run = c.check(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!("::warning file=budget.toml,line={P95_LINE},title=API P95::API P95 is 250 ms: target < 200 ms missed (critical < 300 ms)\n")
    );
    assert_eq!(
        c.read("output.txt"),
        "verdict=warn\npass=2\nwarn=1\nfail=0\nregressions=0\nwaived=0\ninconclusive=0\nruns_needed=\ninconclusive_metrics={}\n"
    );
    assert!(c.read("summary.md").contains("**warn**"));
}

// ---------------------------------------------------------------------------------------------
// perfgate comment --verdict

/// `check --format json --output verdict.json` in an untrusted `pull_request` job without a
/// token, as the fork-safe pattern runs it; returns the saved verdict.
fn saved_verdict(c: &Case) -> Value {
    let run = c.check(&[
        "--comment",
        "never",
        "--format",
        "json",
        "--output",
        "verdict.json",
    ]);
    assert!(run.code <= 1, "{}", run.stderr);
    serde_json::from_str(&c.read("verdict.json")).expect("verdict JSON")
}

/// What `comment` posts for a verdict `check` renders as `markdown`: the same, with a line saying
/// whose figures they are.
fn rendered_by_comment(markdown: &str) -> String {
    format!(
        "{}\n\n<sub>Figures reported by the pull request's own run; this workflow rendered them.</sub>\n",
        markdown.trim_end()
    )
}

#[test]
fn comment_posts_a_saved_verdict_as_check_renders_it() {
    let fake = Fake::start();
    let c = Case::new(350.0)
        .on_pull_request(&fake)
        .without("GITHUB_TOKEN");
    let v = saved_verdict(&c);
    assert_eq!(v["github"]["pr_number"], PR);
    assert!(fake.requests().is_empty(), "check posted nothing");

    let poster = c.on_workflow_run(&fake, HEAD);
    let run = poster.run(&["comment", "--verdict", "verdict.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .contains("pull request #12: comment 1001 created"),
        "{}",
        run.stderr
    );
    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, rendered_by_comment(&poster.markdown()));

    // Again: the same comment, unchanged.
    let run = poster.run(&["comment", "--verdict", "verdict.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fake.comments().len(), 1);
}

#[test]
fn comment_round_trips_a_verdict_with_history_and_binary_sizes() {
    let fake = Fake::start();
    let c = Case::new(100.0);
    for p95 in [100.0, 98.0, 102.0, 101.0, 99.0, 100.5, 97.5, 102.5] {
        c.reports(p95);
        let run = c.run(&[
            "baseline",
            "update",
            "--budget",
            "budget.toml",
            "--commit",
            HEAD,
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    c.reports(180.0);
    let c = c.on_pull_request(&fake).without("GITHUB_TOKEN");
    let v = saved_verdict(&c);
    assert_eq!(v["metrics"][0]["baseline"]["regression"], true);
    let markdown = c.markdown();
    assert!(
        markdown.contains("```mermaid") && markdown.contains("KiB"),
        "{markdown}"
    );

    let poster = c.on_workflow_run(&fake, HEAD);
    let run = poster.run(&["comment", "--verdict", "verdict.json", "--pr", "12"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fake.comments()[0].body, rendered_by_comment(&markdown));

    // The regression, annotated.
    let c = poster.in_actions();
    let run = c.check(&["--comment", "never"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with(&format!(
        "::error file=budget.toml,line={P95_LINE},title=API P95::API P95 is 180 ms, a regression of +"
    )), "{}", run.stderr);
    assert!(c.read("output.txt").contains("regressions=1\n"));
}

#[test]
fn comment_with_a_custom_template() {
    let fake = Fake::start();
    let c = Case::new(350.0)
        .on_pull_request(&fake)
        .without("GITHUB_TOKEN");
    saved_verdict(&c);
    c.file(
        "t.j2",
        "{{ marker }}\n{{ gate }}: {{ verdict }}{% for m in metrics %} {{ m.label | md }}={{ m.value_text }}{% endfor %}\n",
    );
    let poster = c.on_workflow_run(&fake, HEAD);
    let run = poster.run(&["comment", "--verdict", "verdict.json", "--template", "t.j2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The provenance line is added under a custom template too.
    assert_eq!(
        fake.comments()[0].body,
        rendered_by_comment(&format!(
            "{}\nprod: fail API P95=350\u{a0}ms Error Rate=0.5\u{a0}% Bundle Size (initial)=132\u{a0}KiB\n",
            marker()
        ))
    );
}

/// Writes `v` as the saved verdict and runs `comment` with the workflow_run's variables.
fn comment_on(fake: &Fake, v: &Value) -> Run {
    let c = Case::new(150.0).on_workflow_run(fake, HEAD);
    c.file("verdict.json", &v.to_string());
    c.run(&["comment", "--verdict", "verdict.json"])
}

#[test]
fn tampered_report_text_is_rendered_inert() {
    let fake = Fake::start();
    let c = Case::new(350.0)
        .on_pull_request(&fake)
        .without("GITHUB_TOKEN");
    let mut v = saved_verdict(&c);
    let evil = "</details><img src=x onerror=alert(1)> @org/team #1 | `x` [a](http://x)";
    v["metrics"][0]["label"] = json!(evil);
    v["metrics"][0]["id"] = json!(format!("{evil}\n<!-- perfgate:gate=other -->"));
    v["sources"][0]["detail"] = json!(evil);
    v["sources"][0]["files"] = json!([evil]);
    let run = comment_on(&fake, &v);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body = &fake.comments()[0].body;
    assert!(body.starts_with(&format!("{}\n", marker())));
    assert!(body.contains(
        "&lt;/details&gt;&lt;img src=x onerror=alert(1)&gt; &#64;org/team &#35;1 &#124; &#96;x&#96; \\[a\\](http&#58;//x)"
    ), "{body}");
    for raw in [
        "<img",
        "</details><",
        "@org",
        " #1 ",
        "<!-- perfgate:gate=other",
    ] {
        assert!(!body.contains(raw), "{raw} in {body}");
    }
    assert_eq!(body.matches("<!--").count(), 1, "one marker only");
}

/// A change made to a saved verdict.
type Tamper = Box<dyn Fn(&mut Value)>;

#[test]
fn a_tampered_verdict_is_refused_naming_the_field() {
    let fake = Fake::start();
    let c = Case::new(350.0)
        .on_pull_request(&fake)
        .without("GITHUB_TOKEN");
    let good = saved_verdict(&c);
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "field `gate`",
            Box::new(|v| v["gate"] = json!("prod --><img src=x>")),
        ),
        (
            "field `schema`",
            Box::new(|v| v["schema"] = json!("perfgate/verdict@9")),
        ),
        (
            "field `schema`: missing",
            Box::new(|v| {
                v.as_object_mut().expect("object").remove("schema");
            }),
        ),
        (
            "field `metrics[0].value`",
            Box::new(|v| v["metrics"][0]["value"] = json!("350")),
        ),
        (
            "field `metrics[0]`: missing field `budget_status`",
            Box::new(|v| {
                v["metrics"][0]
                    .as_object_mut()
                    .expect("object")
                    .remove("budget_status");
            }),
        ),
        (
            "field `metrics[0].unit`",
            Box::new(|v| v["metrics"][0]["unit"] = json!("<b>")),
        ),
        (
            "field `metrics[0].target.written_unit`",
            Box::new(|v| v["metrics"][0]["target"]["written_unit"] = json!("ms <img src=x>")),
        ),
        (
            "field `metrics[0].line`",
            Box::new(|v| v["metrics"][0]["line"] = json!(-1)),
        ),
        (
            "field `sources[0].format`",
            Box::new(|v| v["sources"][0]["format"] = json!("<img src=x>")),
        ),
        (
            "field `verdict`",
            Box::new(|v| v["verdict"] = json!("pass")),
        ),
        (
            "field `github.head_sha`",
            Box::new(|v| v["github"]["head_sha"] = json!("main")),
        ),
        (
            "field `github.repository`",
            Box::new(|v| v["github"]["repository"] = json!("a/b/../c")),
        ),
        (
            "judged in evil/repo",
            Box::new(|v| v["github"]["repository"] = json!("evil/repo")),
        ),
        (
            "judged on commit",
            Box::new(|v| v["github"]["head_sha"] = json!(BASE)),
        ),
    ];
    for (expected, tamper) in cases {
        let mut v = good.clone();
        tamper(&mut v);
        let run = comment_on(&fake, &v);
        assert_eq!(run.code, 2, "{expected}: {}", run.stderr);
        assert!(
            run.stderr.contains("verdict.json") && run.stderr.contains(expected),
            "{expected}: {}",
            run.stderr
        );
    }
    assert!(fake.requests().is_empty(), "nothing was posted");

    let broken = Case::new(150.0).on_workflow_run(&fake, HEAD);
    broken.file(
        "verdict.json",
        "{\"schema\": \"perfgate/verdict@1\", \"gate\": ",
    );
    let run = broken.run(&["comment", "--verdict", "verdict.json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("verdict.json"), "{}", run.stderr);
}

#[test]
fn comment_without_a_pull_request_says_why() {
    let fake = Fake::start();
    let c = Case::new(150.0).on_workflow_run(&fake, HEAD);
    // A verdict judged outside any pull request records none.
    let run = Case::new(150.0).check(&["--format", "json", "--output", "verdict.json"]);
    assert_eq!(run.code, 0);
    c.file("verdict.json", &run.stdout);

    let always = c.run(&["comment", "--verdict", "verdict.json"]);
    assert_eq!(always.code, 2);
    assert!(
        always.stderr.contains("no pull request"),
        "{}",
        always.stderr
    );

    let auto = c.run(&["comment", "--verdict", "verdict.json", "--comment", "auto"]);
    assert_eq!(auto.code, 0);
    assert!(auto.stderr.contains("not commenting"), "{}", auto.stderr);
    assert!(fake.requests().is_empty());

    let with_pr = c.run(&["comment", "--verdict", "verdict.json", "--pr", "12"]);
    assert_eq!(with_pr.code, 0, "{}", with_pr.stderr);
    assert_eq!(fake.comments().len(), 1);
}

#[test]
fn a_verdict_naming_another_pull_request_is_not_posted_there() {
    let fake = Fake::start();
    let c = Case::new(350.0)
        .on_pull_request(&fake)
        .without("GITHUB_TOKEN");
    let mut v = saved_verdict(&c);
    v["github"]["pr_number"] = json!(PR + 1);
    c.file("verdict.json", &v.to_string());
    let poster = c.on_workflow_run(&fake, HEAD);
    let run = poster.run(&[
        "comment",
        "--verdict",
        "verdict.json",
        "--comment",
        "always",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("pull request #{} is at commit", PR + 1)),
        "{}",
        run.stderr
    );
    assert!(
        fake.comments().is_empty(),
        "nothing posted on the other pull request"
    );
}
