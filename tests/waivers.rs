//! Waivers (README, "Waivers"), through the binary: a budget's `[[waiver]]`, a pull request's
//! `perfgate:accept` label and its head commit's `Perfgate-Accept` trailer accept a regression
//! against the baseline; the waived metric shows as waived in every output; an expired, unused or
//! exceeded waiver is a warning; a threshold breach is never waived.
//!
//! The data is `tests/cases/with-history` (real Artillery, Lighthouse and webpack reports against
//! a 12-run baseline, see its budget): API P95 regressed ▲ 38.1 % (107 ms against 77.2 ms) and
//! LCP ▲ 11.9 % (172 ms against 153 ms, the slack alone deciding on 2 runs). Each test copies it
//! into a temp dir, which a trailer test also makes a git repository.

use std::fs;
use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

mod common;

use common::dir::{stderr, stdout, Dir};

const FILES: [&str; 3] = [
    "tests/fixtures/artillery/http-clean.json",
    "tests/fixtures/lighthouse/desktop-fast-12.8.2.json",
    "tests/cases/with-history/baseline.json",
];

/// The webpack build: its stats and the files they list, which perfgate compresses.
const BUNDLE: &str = "tests/fixtures/webpack/app";

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The with-history case in a temp dir, its budget followed by `waivers`.
fn case(waivers: &str) -> Dir {
    let dir = Dir::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in FILES {
        let to = dir.path(file);
        fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        fs::copy(root.join(file), to).expect("copy the fixture");
    }
    copy_tree(&root.join(BUNDLE), &dir.path(BUNDLE));
    let budget = fs::read_to_string(root.join("tests/cases/with-history/budget.toml"))
        .expect("the case's budget");
    dir.file("budget.toml", &format!("{budget}{waivers}"));
    dir
}

const BASELINE: &str = "tests/cases/with-history/baseline.json";

fn check(dir: &Dir, env: &[(&str, &str)], extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["check", "--budget", "budget.toml", "--baseline", BASELINE];
    args.extend_from_slice(extra);
    let run = dir.run_with(env, &args);
    let code = run.get_output().status.code().expect("exit code");
    (code, stdout(&run), stderr(&run))
}

fn check_json(dir: &Dir, env: &[(&str, &str)]) -> (i32, Value, String) {
    let (code, out, err) = check(dir, env, &["--format", "json", "--comment", "never"]);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v, err)
}

fn metric<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["metrics"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["id"] == id))
        .unwrap_or_else(|| panic!("no metric {id} in {v}"))
}

fn kinds(v: &Value) -> Vec<&str> {
    v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["kind"].as_str())
        .collect()
}

/// The UTC day `days` from now, as a TOML date.
fn day(days: i64) -> String {
    let now = SystemTime::now();
    let shift = Duration::from_secs(days.unsigned_abs() * 86_400);
    let then = if days < 0 { now - shift } else { now + shift };
    humantime::format_rfc3339_seconds(then).to_string()[..10].to_string()
}

const P95: &str = "api.http.response_time.p95";

#[test]
fn budget_waivers_accept_the_regressions_within_them_and_every_output_shows_them() {
    let dir = case(&format!(
        r#"
[[waiver]]
metric = "api.http.response_time.p95"
change = "40%"
reason = "the search index costs 30 ms a request (#123)"
expires = {}

[[waiver]]
metric = "web.lcp"
limit = "180ms"
reason = "the hero image is larger"
expires = {}
"#,
        day(30),
        day(0)
    ));
    let (code, v, _) = check_json(&dir, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(
        v["counts"],
        json!({"pass": 4, "warn": 0, "fail": 0, "regressions": 2, "waived": 2, "total": 4})
    );
    let p95 = metric(&v, P95);
    assert_eq!(p95["status"], "pass");
    assert_eq!(
        p95["baseline"]["regression"], true,
        "the comparison is kept"
    );
    assert_eq!(
        p95["waiver"],
        json!({"origin": "budget", "by": "budget line 40",
               "reason": "the search index costs 30 ms a request (#123)",
               "accepts": "a change up to +40 %", "expires": day(30), "line": 40,
               "status": "fail"})
    );
    let lcp = metric(&v, "web.lcp");
    assert_eq!(lcp["waiver"]["accepts"], "a value < 180ms");
    assert_eq!(
        lcp["waiver"]["expires"],
        day(0),
        "the last day still applies"
    );
    assert!(metric(&v, "api.http.response_time.p99")
        .get("waiver")
        .is_none());

    let (code, text, _) = check(&dir, &[], &[]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with("perfgate with-history: PASS (2 waived, 2 passed)\n"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "waived: API P95: ▲ 38.1 % waived by budget line 40 (a change up to +40 %, until {}): the search index costs 30 ms a request (#123)\n",
        day(30)
    )), "{text}");
    assert!(text.contains("\n  waived API P95 "), "{text}");

    let (_, md, _) = check(&dir, &[], &["--format", "markdown"]);
    assert!(md.contains("**pass** · 2 waived, 2 passed"), "{md}");
    assert!(
        md.contains("> ☑️ API P95: ▲ 38.1 % waived by budget line 40"),
        "{md}"
    );
    assert!(md.contains("| ☑️ waived |"), "{md}");

    let (code, _, _) = check(
        &dir,
        &[],
        &[
            "--format",
            "junit",
            "--output",
            "junit.xml",
            "--format",
            "openmetrics",
            "--output",
            "metrics.txt",
        ],
    );
    assert_eq!(code, 0);
    let junit = fs::read_to_string(dir.path("junit.xml")).expect("junit");
    assert!(
        junit.contains(r#"tests="4" failures="0" errors="0" skipped="2""#),
        "{junit}"
    );
    assert!(
        junit.contains("<skipped message=\"waived: API P95 is 107 ms, ▲ 38.1 % from the baseline 77.2 ms: waived by budget line 40 (a change up to +40 %): the search index costs 30 ms a request (#123)\"/>"),
        "{junit}"
    );
    assert!(junit.contains("status without the waiver: fail"), "{junit}");
    let metrics = fs::read_to_string(dir.path("metrics.txt")).expect("openmetrics");
    assert!(
        metrics.contains(r#"perfgate_metric_waived{gate="with-history",rule="api.http.response_time.p95",id="api.http.response_time.p95",label="API P95",source="api",unit="seconds"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("perfgate_waived{gate=\"with-history\"} 2\n"),
        "{metrics}"
    );
}

#[test]
fn a_change_beyond_the_waiver_still_fails_and_says_so() {
    let dir = case(&format!(
        "\n[[waiver]]\nmetric = \"{P95}\"\nchange = \"30%\"\nreason = \"r\"\nexpires = {}\n",
        day(30)
    ));
    let (code, v, _) = check_json(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(metric(&v, P95)["status"], "fail");
    assert!(metric(&v, P95).get("waiver").is_none());
    assert_eq!(v["warnings"][0]["kind"], "exceeded-waiver");
    assert_eq!(
        v["warnings"][0]["message"],
        "the waiver of `api.http.response_time.p95` (budget line 40) accepts a change up to +30 %, but `api.http.response_time.p95` is 106.7 ms (+38.1 % against the baseline): the regression stands"
    );
}

#[test]
fn an_expired_waiver_is_a_warning_and_no_longer_applies() {
    let dir = case(&format!(
        "\n[[waiver]]\nmetric = \"{P95}\"\nchange = \"40%\"\nreason = \"r\"\nexpires = {}\n",
        day(-1)
    ));
    let (code, v, _) = check_json(&dir, &[]);
    assert_eq!(code, 1, "the regression fails again");
    assert_eq!(metric(&v, P95)["status"], "fail");
    assert_eq!(kinds(&v), ["expired-waiver"]);
    assert_eq!(
        v["warnings"][0]["message"],
        format!("the waiver of `api.http.response_time.p95` (budget line 40) expired on {} and no longer applies: remove it, or renew `expires` if the change is still accepted", day(-1))
    );
}

#[test]
fn a_waiver_that_matches_nothing_is_a_warning() {
    let dir = case(&format!(
        r#"
[[waiver]]
metric = "api.http.response_time.p99"
change = "20%"
reason = "did not regress"
expires = {d}

[[waiver]]
metric = "api.http.response_time.p959"
change = "20%"
reason = "a typo"
expires = {d}
"#,
        d = day(30)
    ));
    let (code, v, _) = check_json(&dir, &[]);
    assert_eq!(code, 1, "P95 and LCP still regress");
    assert_eq!(kinds(&v), ["unused-waiver", "unused-waiver"]);
    assert_eq!(
        v["warnings"][0]["message"],
        "the waiver of `api.http.response_time.p99` (budget line 40) waives nothing: `api.http.response_time.p99` did not regress against the baseline in this run; remove the waiver once the baseline has taken the change in"
    );
    assert_eq!(
        v["warnings"][1]["message"],
        "the waiver of `api.http.response_time.p959` (budget line 46) names no metric of the budget; closest: `api.http.response_time.p95`, `api.http.response_time.p99`"
    );
}

#[test]
fn waiver_mistakes_are_budget_errors_at_their_place() {
    let dir = case(
        r#"
[[waiver]]
metric = "api.http.response_time.p95"
change = "40%"
limit = "< 250ms"
reason = "x"
expires = 2099-12-31

[[waiver]]
metric = "web.lcp"
limit = "5s"
reason = " "
expires = "2099-01-01"

[[waiver]]
metric = "api.http.response_time.p99"
limit = "> 600ms"
reason = "r"
expires = 2099-01-01T10:00:00

[[waiver]]
metric = "bundle.initial.raw"
limit = "< 500ms"
reason = "r"
expires = 2099-01-01
colour = "red"

[[waiver]]
metric = "bundle.initial.raw"
"#,
    );
    let (code, out, err) = check(&dir, &[], &[]);
    assert_eq!((code, out.as_str()), (2, ""));
    let expected = [
        "error: budget.toml: 10 problems in the budget",
        "  - budget.toml:40:1: `waiver[1]` (metric `api.http.response_time.p95`): give `limit` (a new ceiling) or `change` (a worse change accepted), not both",
        "  - budget.toml:49:9: `waiver[2].limit` (metric `web.lcp`): `5s` is past the rule's critical `4s`, which a waiver does not lift: a value past it fails whatever the baseline (change `critical` in the rule to move it)",
        "  - budget.toml:50:10: `waiver[2].reason` (metric `web.lcp`): is empty; say why the regression is accepted",
        "  - budget.toml:51:11: `waiver[2].expires` (metric `web.lcp`): \"2099-01-01\" is a string; write the date without quotes, a TOML date such as 2026-12-31",
        "  - budget.toml:55:9: `waiver[3].limit` (metric `api.http.response_time.p99`): `> 600ms` points the other way from the rule, where lower is better",
        "  - budget.toml:57:11: `waiver[3].expires` (metric `api.http.response_time.p99`): `2099-01-01T10:00:00` must be a date such as 2026-12-31 (no time)",
        "  - budget.toml:64:1: `waiver[4]`: unknown field `colour`, expected one of `metric`, `limit`, `change`, `reason`, `expires`",
        "  - budget.toml:66:1: `waiver[5]` (metric `bundle.initial.raw`): needs `limit` (the value accepted, e.g. \"< 260ms\") or `change` (the worse change accepted against the baseline, e.g. \"40%\")",
        "  - budget.toml:66:1: `waiver[5]` (metric `bundle.initial.raw`): needs a `reason` (why the regression is accepted, for the reviewer)",
        "  - budget.toml:66:1: `waiver[5]` (metric `bundle.initial.raw`): needs `expires`, the last day it applies (a TOML date such as 2026-12-31): a waiver does not last forever",
    ];
    assert_eq!(err.lines().collect::<Vec<_>>(), expected, "{err}");
}

/// The environment of a `pull_request` run whose payload carries `labels` and `head`.
fn pull_request(dir: &Dir, labels: &[&str], head: &str) -> Vec<(String, String)> {
    let labels: Vec<Value> = labels.iter().map(|l| json!({"name": l})).collect();
    let payload = json!({"pull_request": {
        "number": 7,
        "head": {"sha": head},
        "base": {"sha": "b".repeat(40)},
        "labels": labels,
    }});
    let event = dir.file("event.json", &payload.to_string());
    vec![
        ("GITHUB_ACTIONS".into(), "true".into()),
        ("GITHUB_REPOSITORY".into(), "octo-org/shop".into()),
        ("GITHUB_EVENT_NAME".into(), "pull_request".into()),
        (
            "GITHUB_EVENT_PATH".into(),
            event.to_string_lossy().into_owned(),
        ),
    ]
}

fn env(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn the_pull_request_label_waives_its_regressions_but_never_a_breached_threshold() {
    let dir = case("");
    let vars = pull_request(&dir, &["bug", "perfgate:accept"], &"a".repeat(40));
    let (code, v, err) = check_json(&dir, &env(&vars));
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["counts"]["waived"], 2);
    assert_eq!(
        metric(&v, P95)["waiver"],
        json!({"origin": "label", "by": "label `perfgate:accept` on pull request #7",
               "reason": "the pull request carries the label `perfgate:accept`",
               "accepts": "any change", "expires": null, "line": null, "status": "fail"})
    );
    // In Actions a waived metric is a notice on its rule's line.
    assert!(
        err.contains("::notice file=budget.toml,line=16,title=API P95::API P95: ▲ 38.1 %25 waived by label `perfgate:accept` on pull request #7 (any change): the pull request carries the label `perfgate:accept`\n"),
        "{err}"
    );

    // One metric's label waives that metric only.
    let vars = pull_request(&dir, &["perfgate:accept:web.lcp"], &"a".repeat(40));
    let (code, v, _) = check_json(&dir, &env(&vars));
    assert_eq!(code, 1);
    assert_eq!(metric(&v, "web.lcp")["waiver"]["origin"], "label");
    assert_eq!(metric(&v, P95)["status"], "fail");

    // Outside a pull request there is no pull request's waiver.
    let mut push = pull_request(&dir, &["perfgate:accept"], &"a".repeat(40));
    push[2].1 = "push".into();
    let (code, v, _) = check_json(&dir, &env(&push));
    assert_eq!((code, &v["counts"]["waived"]), (1, &json!(0)));

    let budget = fs::read_to_string(dir.path("budget.toml")).expect("budget");
    // A critical below the value: breached, which no waiver lifts.
    dir.file(
        "budget.toml",
        &budget.replacen(
            "target = \"< 200ms\"\ncritical = \"300ms\"",
            "target = \"< 80ms\"\ncritical = \"100ms\"",
            1,
        ),
    );
    let vars = pull_request(&dir, &["perfgate:accept"], &"a".repeat(40));
    let (code, v, _) = check_json(&dir, &env(&vars));
    assert_eq!(code, 1, "the breached critical still fails");
    let p95 = metric(&v, P95);
    assert_eq!(
        (p95["status"].as_str(), p95["budget_status"].as_str()),
        (Some("fail"), Some("fail"))
    );
    assert_eq!(
        p95["waiver"]["status"], "fail",
        "the regression is waived, the threshold is not"
    );
}

fn git(dir: &Dir, args: &[&str]) -> String {
    let out = Process::new("git")
        .current_dir(dir.path(""))
        .args(args)
        .env("GIT_AUTHOR_NAME", "Jane Doe")
        .env("GIT_AUTHOR_EMAIL", "jane@example.com")
        .env("GIT_COMMITTER_NAME", "Jane Doe")
        .env("GIT_COMMITTER_EMAIL", "jane@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes the checkout a git repository of one commit with `message`; its full id.
fn commit(dir: &Dir, message: &str) -> String {
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn a_trailer_of_the_head_commit_waives_one_metric_and_names_its_author() {
    let dir = case("");
    let head = commit(
        &dir,
        "Index the catalogue for search\n\nThe index costs about 30 ms a request.\n\nPerfgate-Accept: api.http.response_time.p95: the search index costs 30 ms a request\nPerfgate-Accept: web.lcp",
    );
    let vars = pull_request(&dir, &[], &head);
    let (code, v, _) = check_json(&dir, &env(&vars));
    assert_eq!(
        code, 1,
        "LCP's trailer gives no reason: its regression stands"
    );
    assert_eq!(
        metric(&v, P95)["waiver"],
        json!({"origin": "trailer",
               "by": format!("trailer `Perfgate-Accept` of commit {} by Jane Doe", &head[..12]),
               "reason": "the search index costs 30 ms a request",
               "accepts": "any change", "expires": null, "line": null, "status": "fail"})
    );
    assert_eq!(metric(&v, "web.lcp")["status"], "fail");
    assert_eq!(kinds(&v), ["unused-waiver"]);
    assert_eq!(
        v["warnings"][0]["message"],
        format!("the trailer `Perfgate-Accept: web.lcp` of commit {} waives nothing: write `Perfgate-Accept: <metric>: <reason>`", &head[..12])
    );

    // A head commit the checkout lacks (actions/checkout's default depth of 1) is said, since a
    // regression stands that a trailer might have waived.
    let vars = pull_request(&dir, &[], &"c".repeat(40));
    let (code, _, err) = check_json(&dir, &env(&vars));
    assert_eq!(code, 1);
    assert!(err.contains("note: commit cccccccccccc, the pull request's head, is not in the checkout, so no `Perfgate-Accept` trailer of it was read (actions/checkout's `fetch-depth: 2` fetches it)\n"), "{err}");
}

#[test]
fn a_gitlab_merge_request_waives_by_its_labels_and_its_head_commits_trailer() {
    let dir = case("");
    let head = commit(
        &dir,
        "Index the catalogue\n\nPerfgate-Accept: api.http.response_time.p95: the search index costs 30 ms a request",
    );
    let missing = "c".repeat(40);
    let pipeline = |labels: &'static str, sha: &str, iid: &'static str| {
        vec![
            ("GITLAB_CI".to_string(), "true".to_string()),
            ("CI_MERGE_REQUEST_IID".to_string(), iid.to_string()),
            ("CI_MERGE_REQUEST_LABELS".to_string(), labels.to_string()),
            ("CI_COMMIT_SHA".to_string(), sha.to_string()),
        ]
    };

    // `CI_MERGE_REQUEST_LABELS` is comma-separated; the label waives every regression.
    let (code, v, _) = check_json(
        &dir,
        &env(&pipeline("backend, perfgate:accept", &missing, "12")),
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["counts"]["waived"], 2);
    assert_eq!(
        metric(&v, P95)["waiver"]["by"],
        "label `perfgate:accept` on merge request !12"
    );

    // The head commit's trailer waives its metric; LCP's regression stands.
    let (code, v, _) = check_json(&dir, &env(&pipeline("backend", &head, "12")));
    assert_eq!(code, 1);
    assert_eq!(
        metric(&v, P95)["waiver"]["by"],
        format!(
            "trailer `Perfgate-Accept` of commit {} by Jane Doe",
            &head[..12]
        )
    );
    assert_eq!(metric(&v, "web.lcp")["status"], "fail");

    // A head the checkout lacks is said, with GitLab's remedy.
    let (code, _, err) = check_json(&dir, &env(&pipeline("backend", &missing, "12")));
    assert_eq!(code, 1);
    assert!(err.contains("note: commit cccccccccccc, the pull request's head, is not in the checkout, so no `Perfgate-Accept` trailer of it was read (a `GIT_DEPTH` of 2 or more fetches it)\n"), "{err}");

    // A branch pipeline (no merge request) has no merge request's waiver.
    let (code, v, _) = check_json(&dir, &env(&pipeline("perfgate:accept", &head, "")));
    assert_eq!((code, &v["counts"]["waived"]), (1, &json!(0)));
}

#[test]
fn a_waivers_texts_reach_no_terminal_or_comment_alive() {
    let reason = "ping @octo-team <img src=x onerror=alert(1)> | fixes #12 \u{202e}evil\u{1b}[31m";
    let dir = case(&format!(
        "\n[[waiver]]\nmetric = \"{P95}\"\nchange = \"40%\"\nreason = \"{}\"\nexpires = {}\n",
        reason
            .replace('\u{202e}', "\\u202e")
            .replace('\u{1b}', "\\u001b"),
        day(30)
    ));
    let vars = pull_request(
        &dir,
        &["perfgate:accept:web.lcp\u{202e}<b>"],
        &"a".repeat(40),
    );
    let (_, text, err) = check(&dir, &env(&vars), &["--comment", "never"]);
    for out in [&text, &err] {
        assert!(
            !out.contains('\u{202e}') && !out.contains('\u{1b}'),
            "{out}"
        );
    }
    assert!(
        text.contains("waived: API P95: ▲ 38.1 % waived by budget line 40"),
        "{text}"
    );
    let (_, md, _) = check(
        &dir,
        &env(&vars),
        &["--format", "markdown", "--comment", "never"],
    );
    let quoted = md
        .lines()
        .find(|l| l.starts_with("> ☑️ API P95"))
        .unwrap_or_else(|| panic!("{md}"));
    for alive in [
        "<img",
        "@octo-team",
        "fixes #12",
        "\u{202e}",
        "\u{1b}",
        " | ",
    ] {
        assert!(!quoted.contains(alive), "{alive:?} in {quoted}");
    }
    // The label names a metric no rule has: a warning, its text inert too.
    assert!(md.contains("names no metric of the budget"), "{md}");
    assert!(!md.contains("<b>"), "{md}");
}
