//! The sticky comment against a local fake of GitHub's REST API, driven through the real octocrab
//! client in `perfgate::github`.
//!
//! The fake (tests/common/github.rs, over tests/common/http.rs) speaks what perfgate uses and can
//! be told to answer a request with a fault — before or after applying it. It listens on
//! 127.0.0.1 only.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use perfgate::github::{
    upsert_comment, CommentError, CommentOptions, Context, Posted, COMMENT_LIMIT, MAX_COMMENT_CHARS,
};
use perfgate::render::{fit_body, TRUNCATION_NOTE};
use serde_json::{json, Value};

mod common;

use common::github::{
    Fake, Fault, Request, BASE, BOT, HEAD, MERGE, OWNER, PR, REPO, REPO_ID, TOKEN,
};

fn context(fake: &Fake) -> Context {
    context_at(&fake.base, TOKEN)
}

fn context_at(api_url: &str, token: &str) -> Context {
    let vars: BTreeMap<String, String> = [
        ("GITHUB_TOKEN", token),
        ("GITHUB_API_URL", api_url),
        ("GITHUB_REPOSITORY", "octo-org/hello-world"),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_SHA", MERGE),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let event = json!({
        "action": "synchronize",
        "number": PR,
        "pull_request": {
            "number": PR,
            "head": {"sha": HEAD, "ref": "changes"},
            "base": {"sha": BASE, "ref": "main"}
        }
    })
    .to_string();
    Context::from_vars(&vars, Some(&event)).expect("context from vars")
}

fn opts() -> CommentOptions {
    CommentOptions {
        max_total: Duration::from_secs(10),
        ..CommentOptions::default()
    }
}

fn marker(gate: &str) -> String {
    format!("<!-- perfgate:gate={gate} -->")
}

fn body(gate: &str, text: &str) -> String {
    format!("{}\n### perfgate `{gate}`: {text}\n", marker(gate))
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn no_comment_yet_makes_exactly_one_post() {
    let fake = Fake::start();
    fake.seed("octocat", "Looks good to me");
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();

    let comments = fake.comments();
    assert_eq!(comments.len(), 2);
    assert_eq!(posted, Posted::Created { id: comments[1].id });
    assert_eq!(comments[1].body, body("prod", "pass"));
    assert_eq!(fake.count("POST"), 1);
    assert_eq!(fake.count("GET"), 1);
    let reqs = fake.requests();
    // GitHub requires a User-Agent; octocrab pins the API version.
    assert!(reqs.iter().all(|r| r.headers.contains_key("user-agent")
        && r.headers.get("x-github-api-version").map(String::as_str) == Some("2022-11-28")));
    assert_eq!(reqs[1].headers["content-type"], "application/json");
    let sent: Value = serde_json::from_str(&reqs[1].body).unwrap();
    assert_eq!(sent, json!({ "body": body("prod", "pass") }));
    assert!(reqs.iter().all(|r| r.authorized));
    assert_eq!(
        reqs[0].target,
        format!("/repos/{OWNER}/{REPO}/issues/{PR}/comments?per_page=100")
    );
}

#[test]
fn a_body_without_the_marker_gets_it_first() {
    let fake = Fake::start();
    upsert_comment(&context(&fake), "prod", "### all good\n", &opts()).unwrap();
    assert_eq!(
        fake.comments()[0].body,
        format!("{}\n### all good\n", marker("prod"))
    );
    // And the next run finds it again.
    let again = upsert_comment(&context(&fake), "prod", "### still good\n", &opts()).unwrap();
    assert!(matches!(again, Posted::Updated { .. }));
    assert_eq!(fake.comments().len(), 1);
}

#[test]
fn marker_on_page_2_of_3_is_updated_in_place() {
    let fake = Fake::start();
    let mut target = 0;
    for i in 0..250 {
        if i == 150 {
            target = fake.seed(BOT, &body("prod", "fail"));
        } else {
            fake.seed(
                if i % 2 == 0 { "octocat" } else { BOT },
                "some other comment",
            );
        }
    }
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert_eq!(posted, Posted::Updated { id: target });

    let reqs = fake.requests();
    let gets: Vec<&Request> = reqs.iter().filter(|r| r.method == "GET").collect();
    assert_eq!(gets.len(), 3, "{reqs:?}");
    // Pages 2 and 3 come from the Link header, which points at /repositories/{id}/…
    assert!(gets[1]
        .target
        .starts_with(&format!("/repositories/{REPO_ID}/")));
    assert!(gets[2].target.ends_with("page=3"));
    assert_eq!(fake.count("POST"), 0);
    let patches: Vec<&Request> = reqs.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 1);
    assert_eq!(
        patches[0].target,
        format!("/repos/{OWNER}/{REPO}/issues/comments/{target}")
    );
    let c = fake.comments();
    assert_eq!(c.len(), 250);
    assert_eq!(
        c.iter().find(|c| c.id == target).unwrap().body,
        body("prod", "pass")
    );
}

#[test]
fn the_same_body_again_sends_nothing() {
    let fake = Fake::start();
    let id = fake.seed(BOT, &body("prod", "pass"));
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert_eq!(posted, Posted::Unchanged { id });
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn two_gates_keep_two_comments() {
    let fake = Fake::start();
    let ctx = context(&fake);
    let a = upsert_comment(&ctx, "api", &body("api", "pass"), &opts()).unwrap();
    let b = upsert_comment(&ctx, "web", &body("web", "fail"), &opts()).unwrap();
    let a2 = upsert_comment(&ctx, "api", &body("api", "warn"), &opts()).unwrap();
    assert!(matches!(a, Posted::Created { .. }) && matches!(b, Posted::Created { .. }));
    assert_eq!(a2, Posted::Updated { id: a.id() });
    let c = fake.comments();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].body, body("api", "warn"));
    assert_eq!(c[1].body, body("web", "fail"));
}

#[test]
fn a_marker_in_someone_elses_comment_is_ignored() {
    let fake = Fake::start();
    let theirs = fake.seed("mallory", &body("prod", "forged"));
    // A quoted marker further down one of our own comments does not make it the gate's either.
    let quoted = fake.seed(BOT, &format!("> {}\nquoted", marker("prod")));
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert!(matches!(posted, Posted::Created { .. }));
    let c = fake.comments();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].id, theirs);
    assert_eq!(c[0].body, body("prod", "forged"));
    assert_eq!(c[1].id, quoted);
    assert_eq!(fake.count("PATCH") + fake.count("DELETE"), 0);
}

#[test]
fn a_custom_bot_login_is_matched() {
    let fake = Fake::start();
    let id = fake.seed("perf-bot", &body("prod", "fail"));
    fake.seed(BOT, &body("prod", "old"));
    let o = CommentOptions {
        bot_login: "perf-bot".into(),
        ..opts()
    };
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &o).unwrap();
    assert_eq!(posted, Posted::Updated { id });
}

#[test]
fn stale_duplicates_update_the_oldest_and_delete_the_rest() {
    let fake = Fake::start();
    let oldest = fake.seed(BOT, &body("prod", "run 1"));
    let unrelated = fake.seed("octocat", "unrelated");
    let second = fake.seed(BOT, &body("prod", "run 2"));
    let other_gate = fake.seed(BOT, &body("web", "run 2"));
    let third = fake.seed(BOT, &body("prod", "run 3"));
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "run 4"), &opts()).unwrap();
    assert_eq!(posted, Posted::Updated { id: oldest });
    let deletes: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.target)
        .collect();
    assert_eq!(
        deletes,
        [second, third].map(|id| format!("/repos/{OWNER}/{REPO}/issues/comments/{id}"))
    );
    let ids: Vec<u64> = fake.comments().iter().map(|c| c.id).collect();
    assert_eq!(ids, [oldest, unrelated, other_gate]);
    assert_eq!(fake.comments()[0].body, body("prod", "run 4"));
}

fn five_oh_two(method: &'static str, path: &'static str, landed: bool, times: usize) -> Fault {
    Fault {
        method,
        path,
        status: 502,
        headers: vec![],
        body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
        landed,
        times,
    }
}

#[test]
fn a_502_on_create_is_retried_once_without_a_duplicate() {
    let fake = Fake::start();
    fake.fault(five_oh_two("POST", "/comments", false, 1));
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert!(matches!(posted, Posted::Created { .. }));
    assert_eq!(fake.comments().len(), 1);
    let methods: Vec<String> = fake.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "POST", "GET", "POST"]);
}

#[test]
fn a_502_after_the_create_landed_is_not_posted_again() {
    let fake = Fake::start();
    fake.fault(five_oh_two("POST", "/comments", true, 1));
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    let c = fake.comments();
    assert_eq!(c.len(), 1, "a duplicate comment was posted");
    assert_eq!(posted, Posted::Created { id: c[0].id });
    let methods: Vec<String> = fake.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "POST", "GET"]);
}

#[test]
fn a_503_on_listing_is_retried() {
    let fake = Fake::start();
    let id = fake.seed(BOT, &body("prod", "fail"));
    fake.fault(Fault {
        status: 503,
        ..five_oh_two("GET", "/comments", false, 2)
    });
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert_eq!(posted, Posted::Updated { id });
    assert_eq!(fake.count("GET"), 3);
}

#[test]
fn retries_stop_at_the_budget() {
    let fake = Fake::start();
    fake.fault(five_oh_two("GET", "/comments", false, usize::MAX));
    let o = CommentOptions {
        max_total: Duration::from_secs(4),
        ..opts()
    };
    let t = Instant::now();
    let err = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &o).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    assert!(
        matches!(err, CommentError::Http { status: 502, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("HTTP 502") && text.contains("listing the comments"),
        "{text}"
    );
    // 1 s then 2 s of backoff fit in 4 s; the next 4 s do not.
    assert_eq!(fake.count("GET"), 3);
    assert_eq!(fake.count("POST"), 0);
}

#[test]
fn a_secondary_rate_limit_honours_retry_after() {
    let fake = Fake::start();
    fake.fault(Fault {
        method: "POST",
        path: "/comments",
        status: 403,
        headers: vec![("retry-after", "1".into())],
        body: json!({
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
        })
        .to_string(),
        landed: false,
        times: 1,
    });
    let t = Instant::now();
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1));
    assert!(matches!(posted, Posted::Created { .. }));
    assert_eq!(fake.comments().len(), 1);
    assert_eq!(fake.count("POST"), 2);
}

#[test]
fn a_429_with_ratelimit_remaining_0_waits_for_the_reset() {
    let fake = Fake::start();
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    fake.fault(Fault {
        method: "GET",
        path: "/comments",
        status: 429,
        headers: vec![
            ("x-ratelimit-remaining", "0".into()),
            ("x-ratelimit-reset", reset.to_string()),
        ],
        body: json!({"message": "API rate limit exceeded"}).to_string(),
        landed: false,
        times: 1,
    });
    let posted = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert!(matches!(posted, Posted::Created { .. }));
    assert_eq!(fake.count("GET"), 2);
}

#[test]
fn a_rate_limit_longer_than_the_budget_gives_up_at_once() {
    let fake = Fake::start();
    fake.fault(Fault {
        method: "GET",
        path: "/comments",
        status: 403,
        headers: vec![("retry-after", "120".into())],
        body: json!({"message": "You have exceeded a secondary rate limit."}).to_string(),
        landed: false,
        times: 1,
    });
    let t = Instant::now();
    let err = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3));
    match &err {
        CommentError::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(120)))
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("120 s"), "{err}");
}

#[test]
fn resource_not_accessible_by_integration_explains_permissions() {
    let fake = Fake::start();
    fake.fault(Fault {
        method: "POST",
        path: "/comments",
        status: 403,
        headers: vec![],
        body: json!({
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
            "status": "403"
        })
        .to_string(),
        landed: false,
        times: 1,
    });
    let err = upsert_comment(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap_err();
    let CommentError::Forbidden {
        ref hint, status, ..
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(status, 403);
    assert!(hint.contains("permissions: pull-requests: write"), "{hint}");
    assert!(
        hint.contains("workflow_run") && hint.contains("fork"),
        "{hint}"
    );
    let text = err.to_string();
    assert!(
        text.contains("HTTP 403: Resource not accessible by integration"),
        "{text}"
    );
    // Not retried: a missing permission does not come back.
    assert_eq!(fake.count("POST"), 1);
    assert!(fake.comments().is_empty());
}

#[test]
fn a_wrong_token_is_reported_with_status_and_message() {
    let fake = Fake::start();
    let ctx = context_at(&fake.base, "ghs_wrong");
    let err = upsert_comment(&ctx, "prod", &body("prod", "pass"), &opts()).unwrap_err();
    assert!(
        matches!(err, CommentError::Http { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("HTTP 401"));
    assert!(err.to_string().contains("Bad credentials"), "{err}");
}

/// Every error a run can end with, one scenario each.
fn every_error() -> Vec<CommentError> {
    let mut errors = Vec::new();
    let run = |fake: &Fake, o: &CommentOptions| {
        upsert_comment(&context(fake), "prod", &body("prod", "pass"), o).expect_err("the run fails")
    };
    let short = CommentOptions {
        max_total: Duration::from_secs(1),
        ..opts()
    };

    // A forbidden answer that echoes the Authorization header back.
    let fake = Fake::start();
    fake.fault(Fault {
        method: "POST",
        path: "/comments",
        status: 403,
        headers: vec![],
        body: json!({"message": "Resource not accessible by integration ({secret})"}).to_string(),
        landed: false,
        times: 1,
    });
    errors.push(run(&fake, &short));

    // A proxy's error page with the header in it, on every try.
    let fake = Fake::start();
    fake.fault(Fault {
        body: "<html>upstream refused {secret}</html>".into(),
        ..five_oh_two("GET", "/comments", false, usize::MAX)
    });
    errors.push(run(&fake, &short));

    // A 404 that quotes the header.
    let fake = Fake::start();
    fake.fault(Fault {
        status: 404,
        body: json!({"message": "Not Found for {secret}"}).to_string(),
        ..five_oh_two("POST", "/comments", false, 1)
    });
    errors.push(run(&fake, &short));

    // A rate limit past the budget.
    let fake = Fake::start();
    fake.fault(Fault {
        status: 429,
        headers: vec![("retry-after", "60".into())],
        body: json!({"message": "slow down {secret}"}).to_string(),
        ..five_oh_two("GET", "/comments", false, 1)
    });
    errors.push(run(&fake, &short));

    // A 200 that is not JSON.
    let fake = Fake::start();
    fake.fault(Fault {
        status: 200,
        body: "not json {secret}".into(),
        ..five_oh_two("GET", "/comments", false, 1)
    });
    errors.push(run(&fake, &short));

    // Nobody listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        l.local_addr().expect("local address").port()
    };
    let ctx = context_at(&format!("http://127.0.0.1:{port}"), TOKEN);
    errors.push(upsert_comment(&ctx, "prod", "x", &short).expect_err("the run fails"));

    // No pull request, bad gate.
    let mut no_pr = context_at("http://127.0.0.1:1", TOKEN);
    no_pr.pr_number = None;
    errors.push(upsert_comment(&no_pr, "prod", "x", &short).expect_err("the run fails"));
    errors.push(upsert_comment(&ctx, "pr od -->", "x", &short).expect_err("the run fails"));
    errors
}

#[test]
fn the_token_is_in_no_error_nor_debug() {
    let errors = every_error();
    let kinds: Vec<String> = errors
        .iter()
        .map(|e| {
            format!("{e:?}")
                .split([' ', '(', '{'])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Forbidden",
            "Http",
            "Http",
            "RateLimited",
            "Decode",
            "Transport",
            "NoPullRequest",
            "BadGate"
        ]
    );
    for e in &errors {
        let (display, debug) = (e.to_string(), format!("{e:?}"));
        assert!(!display.contains(TOKEN), "{display}");
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(!display.contains("ghs_"), "{display}");
    }
    // The echoed header shows as redacted, so the user still sees what happened.
    assert!(
        errors[0].to_string().contains("Bearer ***"),
        "{}",
        errors[0]
    );
    let ctx_debug = format!("{:?}", context_at("http://127.0.0.1:1", TOKEN));
    assert!(!ctx_debug.contains(TOKEN), "{ctx_debug}");
}

/// A comment the size of a very large budget: 600 metrics, a details table, a few charts.
fn huge_body() -> String {
    let mut b = format!(
        "{}\n### ❌ perfgate `prod`: **fail** · 20 failed, 580 passed\n\n",
        marker("prod")
    );
    b.push_str("| Metric | Value | Baseline | Change | Target | Critical | Status |\n");
    b.push_str("|:--|--:|--:|--:|:--|:--|:--|\n");
    for i in 0..600 {
        let status = if i % 30 == 0 { "❌ fail" } else { "✅ pass" };
        b.push_str(&format!(
            "| endpoint /api/v1/items/{i} p95 | {} ms | 100 ms | ▲ 1.0 % | < 200 ms | < 300 ms | {status} |\n",
            100 + i
        ));
    }
    b.push_str(
        "\n<sub>Compared with 12 baseline runs.</sub>\n\n<details><summary>Details</summary>\n\n",
    );
    b.push_str("| Metric | Id | Runs | Values | Budget line |\n|:--|:--|--:|:--|--:|\n");
    for i in 0..600 {
        b.push_str(&format!(
            "| endpoint /api/v1/items/{i} p95 | api.http.items\\_{i}.p95 | 12 | — | {} |\n",
            10 + i
        ));
    }
    for i in 0..20 {
        b.push_str(&format!(
            "\n**endpoint {i}** over the baseline runs:\n\n```mermaid\nxychart-beta\n    title \"endpoint {i}\"\n    line [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n```\n"
        ));
    }
    b.push_str("</details>\n");
    b
}

fn assert_balanced(text: &str) {
    let fences = text
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count();
    assert_eq!(fences % 2, 0, "an open code fence");
    assert_eq!(
        text.matches("<details>").count(),
        text.matches("</details>").count(),
        "unbalanced <details>"
    );
    for l in text.lines().filter(|l| l.starts_with('|')) {
        assert!(l.ends_with('|'), "a cut table row: {l}");
    }
}

#[test]
fn a_70000_character_body_is_cut_below_the_limit_without_breaking_markdown() {
    let big = huge_body();
    assert!(big.chars().count() > 70_000, "{}", big.chars().count());
    let fitted = fit_body(&big, MAX_COMMENT_CHARS);
    let n = fitted.chars().count();
    assert!(n <= MAX_COMMENT_CHARS, "{n}");
    const { assert!(MAX_COMMENT_CHARS < COMMENT_LIMIT) };
    assert!(fitted.starts_with(&format!("{}\n", marker("prod"))));
    assert!(fitted.contains(TRUNCATION_NOTE));
    assert_balanced(&fitted);
    // Every failing row survives; charts went first.
    assert_eq!(fitted.matches("❌ fail |").count(), 20);
    assert!(!fitted.contains("mermaid"));

    // The same, through the API: what GitHub receives fits.
    let fake = Fake::start();
    upsert_comment(&context(&fake), "prod", &big, &opts()).unwrap();
    let sent = &fake.comments()[0].body;
    assert!(sent.chars().count() < COMMENT_LIMIT);
    assert!(sent.contains(TRUNCATION_NOTE));
    assert_balanced(sent);
}

#[test]
fn a_body_of_only_failures_is_cut_between_rows() {
    let mut big = format!("{}\n| Metric | Status |\n|:--|:--|\n", marker("prod"));
    for i in 0..5_000 {
        big.push_str(&format!("| metric number {i} | ❌ fail |\n"));
    }
    big.push_str("\n```text\nlog\n```\n");
    let fitted = fit_body(&big, MAX_COMMENT_CHARS);
    assert!(fitted.chars().count() <= MAX_COMMENT_CHARS);
    assert!(fitted.contains(TRUNCATION_NOTE));
    assert_balanced(&fitted);
    assert!(fitted.contains("| metric number 0 | ❌ fail |"));
}
