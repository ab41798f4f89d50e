//! The sticky merge-request note against a local fake of GitLab's REST API (v4), driven through
//! the real client in `perfgate::gitlab`.
//!
//! The fake (tests/common/gitlab.rs, over tests/common/http.rs) speaks what perfgate uses and can
//! be told to answer a request with a fault — before or after applying it. It listens on
//! 127.0.0.1 only.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use perfgate::gitlab::{
    upsert_note, Context, NoteError, NoteOptions, Posted, MAX_NOTE_CHARS, NOTE_LIMIT,
    NOTE_TRUNCATED,
};
use serde_json::{json, Value};

mod common;

use common::gitlab::{Fake, Fault, Request, BOT_ID, MR_IID, PERSON_ID, PROJECT_ID, TOKEN};

fn context(fake: &Fake) -> Context {
    context_at(&fake.api, TOKEN)
}

fn context_at(api: &str, token: &str) -> Context {
    let vars: BTreeMap<String, String> = [
        ("PERFGATE_GITLAB_TOKEN", token),
        ("CI_API_V4_URL", api),
        ("CI_PROJECT_ID", &PROJECT_ID.to_string()),
        ("CI_MERGE_REQUEST_IID", &MR_IID.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Context::from_vars(&vars).expect("context from vars")
}

fn opts() -> NoteOptions {
    NoteOptions {
        max_total: Duration::from_secs(10),
    }
}

fn marker(gate: &str) -> String {
    format!("<!-- perfgate:gate={gate} -->")
}

fn body(gate: &str, text: &str) -> String {
    format!("{}\n### perfgate `{gate}`: {text}\n", marker(gate))
}

fn notes_path() -> String {
    format!("/api/v4/projects/{PROJECT_ID}/merge_requests/{MR_IID}/notes")
}

/// `status` with `body` for the next request of `method` to `path`, not applied.
fn fault(method: &'static str, path: &'static str, status: u16, body: &str) -> Fault {
    Fault::new(method, path, status, body, 1)
}

#[test]
fn two_runs_leave_one_note_edited_in_place() {
    let fake = Fake::start();
    let theirs = fake.seed(PERSON_ID, "Looks good to me");
    let ctx = context(&fake);

    let first = upsert_note(&ctx, "prod", &body("prod", "fail"), &opts()).unwrap();
    let notes = fake.notes();
    assert_eq!(notes.len(), 2);
    assert_eq!(first, Posted::Created { id: notes[1].id });
    assert_eq!(notes[1].author, BOT_ID);

    let second = upsert_note(&ctx, "prod", &body("prod", "pass"), &opts()).unwrap();
    assert_eq!(second, Posted::Updated { id: first.id() });
    let notes = fake.notes();
    assert_eq!(notes.len(), 2);
    assert_eq!(
        (notes[0].id, notes[0].body.as_str()),
        (theirs, "Looks good to me")
    );
    assert_eq!(notes[1].body, body("prod", "pass"));

    let reqs = fake.requests();
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "GET", "POST", "GET", "GET", "PUT"]);
    assert_eq!(reqs[0].target, "/api/v4/user");
    assert_eq!(
        reqs[1].target,
        format!(
            "{}?sort=asc&order_by=created_at&per_page=100&page=1",
            notes_path()
        )
    );
    assert_eq!(reqs[2].target, notes_path());
    assert_eq!(reqs[5].target, format!("{}/{}", notes_path(), first.id()));
    assert!(reqs
        .iter()
        .all(|r| r.authorized && r.headers.contains_key("user-agent")));
    assert!(reqs
        .iter()
        .all(|r| !r.headers.contains_key("authorization")));
    assert_eq!(reqs[2].headers["content-type"], "application/json");
    let sent: Value = serde_json::from_str(&reqs[5].body).unwrap();
    assert_eq!(sent, json!({ "body": body("prod", "pass") }));

    // The same body a third time sends no write.
    let third = upsert_note(&ctx, "prod", &body("prod", "pass"), &opts()).unwrap();
    assert_eq!(third, Posted::Unchanged { id: first.id() });
    assert_eq!(fake.requests().len(), 8);
}

#[test]
fn the_note_on_page_2_of_3_is_found_by_x_next_page() {
    let fake = Fake::start();
    let mut target = 0;
    for i in 0..250 {
        if i == 150 {
            target = fake.seed(BOT_ID, &body("prod", "fail"));
        } else {
            fake.seed(if i % 2 == 0 { PERSON_ID } else { BOT_ID }, "another note");
        }
    }
    let posted = upsert_note(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert_eq!(posted, Posted::Updated { id: target });
    let reqs = fake.requests();
    let lists: Vec<&Request> = reqs
        .iter()
        .filter(|r| r.method == "GET" && r.target.starts_with(&notes_path()))
        .collect();
    let pages: Vec<&str> = lists
        .iter()
        .map(|r| r.target.rsplit('=').next().unwrap())
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
    assert_eq!(fake.count("POST"), 0);
    assert_eq!(fake.count("PUT"), 1);
    let notes = fake.notes();
    assert_eq!(notes.len(), 250);
    assert_eq!(
        notes.iter().find(|n| n.id == target).unwrap().body,
        body("prod", "pass")
    );
}

#[test]
fn notes_by_people_system_notes_and_quoted_markers_are_never_the_gates() {
    let fake = Fake::start();
    let forged = fake.seed(PERSON_ID, &body("prod", "forged"));
    let system = fake.seed_note(BOT_ID, &body("prod", "system"), true);
    let quoted = fake.seed(BOT_ID, &format!("> {}\nquoted", marker("prod")));
    let posted = upsert_note(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert!(matches!(posted, Posted::Created { .. }));
    let notes = fake.notes();
    let ids: Vec<u64> = notes.iter().map(|n| n.id).collect();
    assert_eq!(ids, [forged, system, quoted, posted.id()]);
    assert_eq!(notes[0].body, body("prod", "forged"));
    assert_eq!(fake.count("PUT") + fake.count("DELETE"), 0);
}

#[test]
fn two_gates_keep_two_notes_and_a_race_s_duplicate_is_deleted() {
    let fake = Fake::start();
    let ctx = context(&fake);
    let oldest = fake.seed(BOT_ID, &body("api", "old"));
    let duplicate = fake.seed(BOT_ID, &body("api", "older race"));
    let web = upsert_note(&ctx, "web", &body("web", "fail"), &opts()).unwrap();
    let api = upsert_note(&ctx, "api", &body("api", "pass"), &opts()).unwrap();
    assert_eq!(api, Posted::Updated { id: oldest });
    let notes = fake.notes();
    let kept: Vec<(u64, &str)> = notes.iter().map(|n| (n.id, n.body.as_str())).collect();
    let (api_body, web_body) = (body("api", "pass"), body("web", "fail"));
    assert_eq!(
        kept,
        [(oldest, api_body.as_str()), (web.id(), web_body.as_str())]
    );
    let deletes: Vec<Request> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].target, format!("{}/{duplicate}", notes_path()));
}

#[test]
fn a_503_on_listing_is_retried() {
    let fake = Fake::start();
    fake.fault(fault(
        "GET",
        "/notes",
        503,
        "<html>503 Service Unavailable</html>",
    ));
    let posted = upsert_note(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert!(matches!(posted, Posted::Created { .. }));
    // /user, the failed list, the list again, the create.
    assert_eq!(fake.count("GET"), 3);
    assert_eq!(fake.notes().len(), 1);
}

#[test]
fn a_502_on_create_is_retried_without_a_duplicate_whether_or_not_it_landed() {
    for landed in [false, true] {
        let fake = Fake::start();
        fake.fault(Fault {
            landed,
            ..fault("POST", "/notes", 502, "<html>502 Bad Gateway</html>")
        });
        let posted = upsert_note(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
        let notes = fake.notes();
        assert_eq!(notes.len(), 1, "landed: {landed}");
        assert_eq!(posted, Posted::Created { id: notes[0].id });
        // A POST that landed is seen by listing again and is not sent twice.
        assert_eq!(fake.count("POST"), if landed { 1 } else { 2 });
    }
}

/// GitLab's 429 on listing the notes, asking to wait `seconds`.
fn too_many_requests(seconds: &str) -> Fault {
    Fault {
        headers: vec![("retry-after", seconds.into())],
        ..fault(
            "GET",
            "/notes",
            429,
            r#"{"message":"429 Too Many Requests"}"#,
        )
    }
}

#[test]
fn a_429_waits_as_retry_after_says() {
    let fake = Fake::start();
    fake.fault(too_many_requests("1"));
    let start = Instant::now();
    let posted = upsert_note(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap();
    assert!(matches!(posted, Posted::Created { .. }));
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_rate_limit_longer_than_the_budget_gives_up_at_once() {
    let fake = Fake::start();
    fake.fault(too_many_requests("120"));
    let start = Instant::now();
    let err = upsert_note(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(
        err.to_string(),
        format!(
            "GitLab's rate limit stopped listing the notes of merge request !{MR_IID} (HTTP 429: \
             429 Too Many Requests); GitLab asked to wait 120 s, past the 10 s retry budget"
        )
    );
}

#[test]
fn retries_stop_at_the_budget() {
    let fake = Fake::start();
    fake.fault(Fault {
        times: 100,
        ..fault("GET", "/notes", 502, "")
    });
    let o = NoteOptions {
        max_total: Duration::from_secs(2),
    };
    let start = Instant::now();
    let err = upsert_note(&context(&fake), "prod", &body("prod", "pass"), &o).unwrap_err();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Backoff of 1 s, then the next 2 s wait would pass the 2 s budget: two tries.
    assert_eq!(fake.count("GET"), 3);
    assert_eq!(
        err.to_string(),
        format!(
            "GitLab answered HTTP 502 to listing the notes of merge request !{MR_IID}: HTTP 502 \
             with an empty body"
        )
    );
}

#[test]
fn a_403_explains_the_scope_and_the_role() {
    let fake = Fake::start();
    fake.fault(fault(
        "POST",
        "/notes",
        403,
        r#"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api"}"#,
    ));
    let err = upsert_note(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap_err();
    assert!(
        matches!(err, NoteError::Refused { status: 403, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "GitLab refused creating the note on merge request !{MR_IID} (HTTP 403: \
             insufficient_scope: The request requires higher privileges than provided by the \
             access token.); the token may not write notes on this merge request: give it the \
             `api` scope (`read_api` cannot write) and at least the Reporter role in the project \
             (Developer if the project's merge requests are restricted), or, for a personal \
             token, make sure its user is a member"
        )
    );
    assert_eq!(fake.count("POST"), 1, "a 403 is not retried");
}

#[test]
fn a_wrong_token_and_an_unknown_project_have_their_hints() {
    let fake = Fake::start();
    let err = upsert_note(
        &context_at(&fake.api, "glpat-revoked000000000000"),
        "prod",
        &body("prod", "pass"),
        &opts(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "GitLab refused reading the token's user (GET /user) (HTTP 401: 401 Unauthorized); \
             the token is not valid here"
        ),
        "{text}"
    );
    assert!(!text.contains("glpat-revoked"));

    let vars: BTreeMap<String, String> = [
        ("GITLAB_TOKEN", TOKEN),
        ("CI_API_V4_URL", fake.api.as_str()),
        ("CI_PROJECT_ID", "5"),
        ("CI_MERGE_REQUEST_IID", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let other = Context::from_vars(&vars).unwrap();
    let err = upsert_note(&other, "prod", &body("prod", "pass"), &opts()).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "GitLab refused listing the notes of merge request !1 (HTTP 404: 404 Project Not \
             Found); GitLab answers 404 for a project or merge request the token cannot see"
        ),
        "{err}"
    );
}

#[test]
fn an_echoed_token_is_scrubbed_from_every_error() {
    let fake = Fake::start();
    fake.fault(fault(
        "GET",
        "/notes",
        400,
        r#"{"message":"bad header PRIVATE-TOKEN: {secret}"}"#,
    ));
    let err = upsert_note(&context(&fake), "prod", &body("prod", "pass"), &opts()).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("bad header PRIVATE-TOKEN: ***"), "{text}");
    assert!(!format!("{:?}", context(&fake)).contains(TOKEN));
}

#[test]
fn a_body_over_the_limit_is_shrunk_with_a_note() {
    let fake = Fake::start();
    let mut long = format!(
        "{}\n### perfgate\n\n| Metric | Status |\n|:--|:--|\n",
        marker("prod")
    );
    while long.chars().count() < 1_200_000 {
        long.push_str("| a metric with a long name | ❌ fail |\n");
    }
    upsert_note(&context(&fake), "prod", &long, &opts()).unwrap();
    const { assert!(MAX_NOTE_CHARS < NOTE_LIMIT) };
    let notes = fake.notes();
    let n = notes[0].body.chars().count();
    assert!(n <= MAX_NOTE_CHARS && n > MAX_NOTE_CHARS - 1_000, "{n}");
    assert!(notes[0].body.starts_with(&marker("prod")));
    assert!(notes[0].body.contains(NOTE_TRUNCATED), "a visible note");
    assert!(
        !notes[0].body.contains("job summary"),
        "a GitLab job has none"
    );
}

#[test]
fn a_trickling_answer_is_cut_off_at_the_deadline() {
    let api = common::http::serve_trickling(&"[]".repeat(50), Duration::from_secs(1));
    let o = NoteOptions {
        max_total: Duration::from_secs(2),
    };
    let start = Instant::now();
    let err = upsert_note(&context_at(&api, TOKEN), "prod", "body", &o).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(err, NoteError::Deadline { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "gave up on reading the token's user (GET /user) at GitLab {api}: the 2 s deadline \
             for posting the note ran out (a stalled or trickling answer)"
        )
    );
}

#[test]
fn outside_a_merge_request_or_without_a_token_nothing_is_sent() {
    let fake = Fake::start();
    let vars: BTreeMap<String, String> = [
        ("CI_API_V4_URL", fake.api.as_str()),
        ("CI_PROJECT_ID", "278964"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let ctx = Context::from_vars(&vars).unwrap();
    let err = upsert_note(&ctx, "prod", "body", &opts()).unwrap_err();
    assert!(matches!(err, NoteError::NoToken));
    let mut with_token = vars.clone();
    with_token.insert("GITLAB_TOKEN".into(), TOKEN.into());
    let ctx = Context::from_vars(&with_token).unwrap();
    let err = upsert_note(&ctx, "prod", "body", &opts()).unwrap_err();
    assert!(matches!(err, NoteError::NoMergeRequest));
    assert!(fake.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The binary: `check --comment` in a GitLab CI job

/// Variables of the environment that would change what the binary does; each run sets its own.
const CLEARED: [&str; 14] = [
    "PERFGATE_BUDGET",
    "PERFGATE_COMMENT",
    "PERFGATE_GITLAB_TOKEN",
    "GITLAB_TOKEN",
    "GITLAB_CI",
    "CI_API_V4_URL",
    "CI_PROJECT_ID",
    "CI_MERGE_REQUEST_IID",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_OUTPUT",
    "GITHUB_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_EVENT_NAME",
];

const BUDGET: &str = r#"[gate]
name = "prod"

[sources.api]
format = "json"
path = "api.json"

[[budget]]
metric = "api.p95"
label = "API P95 @team #12 !3 ~perf"
target = "< 200ms"
critical = "300ms"
"#;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A workspace with the budget and a report whose p95 is `p95` ms.
fn workspace(p95: f64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("budget.toml"), BUDGET).expect("write");
    let report = json!({"schema": "perfgate/metrics@1", "tool": "gitlab test",
                        "metrics": {"p95": {"value": p95, "unit": "ms"}}});
    std::fs::write(dir.path().join("api.json"), report.to_string()).expect("write");
    dir
}

/// The variables GitLab sets in a merge-request pipeline of project PROJECT_ID, MR !MR_IID, with
/// the token stored as PERFGATE_GITLAB_TOKEN, pointing at `fake`.
fn merge_request(fake: &Fake) -> Vec<(&'static str, String)> {
    vec![
        ("GITLAB_CI", "true".into()),
        ("CI_API_V4_URL", fake.api.clone()),
        ("CI_PROJECT_ID", PROJECT_ID.to_string()),
        ("CI_MERGE_REQUEST_IID", MR_IID.to_string()),
        ("PERFGATE_GITLAB_TOKEN", TOKEN.into()),
    ]
}

fn check(dir: &tempfile::TempDir, env: &[(&str, String)], extra: &[&str]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("perfgate").expect("binary");
    cmd.current_dir(dir.path());
    for var in CLEARED {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.args([
        "check",
        "--budget",
        "budget.toml",
        "--comment-timeout",
        "5s",
    ]);
    let out = cmd.args(extra).output().expect("runs");
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

#[test]
fn check_in_a_merge_request_pipeline_posts_one_note_then_edits_it() {
    let fake = Fake::start();
    let dir = workspace(350.0);
    let first = check(&dir, &merge_request(&fake), &[]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    let notes = fake.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        first.stderr,
        format!("merge request !{MR_IID}: note {} created\n", notes[0].id)
    );
    assert!(
        notes[0].body.starts_with(&marker("prod")),
        "{}",
        notes[0].body
    );
    assert!(notes[0].body.contains("fail"), "{}", notes[0].body);
    // The label's mention and references are made inert GitLab's way (a backslash and a word
    // joiner), not GitHub's (entities, which GitLab decodes before it looks for references).
    let j = '\u{2060}';
    let label = format!("API P95 \\@{j}team \\#{j}12 \\!{j}3 \\~{j}perf");
    assert!(notes[0].body.contains(&label), "{}", notes[0].body);
    assert!(!notes[0].body.contains("&#64;"), "{}", notes[0].body);

    let dir = workspace(150.0);
    let second = check(&dir, &merge_request(&fake), &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        second.stderr,
        format!("merge request !{MR_IID}: note {} updated\n", notes[0].id)
    );
    let after = fake.notes();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, notes[0].id);
    assert_ne!(after[0].body, notes[0].body);
    assert_eq!((fake.count("POST"), fake.count("PUT")), (1, 1));
}

#[test]
fn check_outside_a_merge_request_posts_nothing_unless_always_which_says_why() {
    let fake = Fake::start();
    let dir = workspace(150.0);
    let mut branch = merge_request(&fake);
    branch.retain(|(k, _)| *k != "CI_MERGE_REQUEST_IID");
    let auto = check(&dir, &branch, &[]);
    assert_eq!((auto.code, auto.stderr.as_str()), (0, ""));
    assert!(fake.requests().is_empty());

    let always = check(&dir, &branch, &["--comment", "always"]);
    assert_eq!(always.code, 2);
    assert!(
        always.stderr.contains(
            "--comment always: could not post the merge-request note: no merge request to \
             comment on: CI_MERGE_REQUEST_IID is not set"
        ),
        "{}",
        always.stderr
    );
    assert!(fake.requests().is_empty());

    // In a merge request without a token, `auto` says so once and `always` fails.
    let mut no_token = merge_request(&fake);
    no_token.retain(|(k, _)| *k != "PERFGATE_GITLAB_TOKEN");
    let auto = check(&dir, &no_token, &[]);
    assert_eq!(auto.code, 0);
    assert!(
        auto.stderr
            .starts_with("note: not commenting on the merge request: no GitLab token"),
        "{}",
        auto.stderr
    );
    let always = check(&dir, &no_token, &["--comment", "always"]);
    assert_eq!(always.code, 2, "{}", always.stderr);
    assert!(fake.requests().is_empty());
}

#[test]
fn a_refused_note_is_a_warning_with_its_hint_and_never_shows_the_token() {
    let fake = Fake::start();
    fake.fault(Fault {
        times: 2,
        ..fault(
            "POST",
            "/notes",
            403,
            r#"{"message":"403 Forbidden - token {secret} lacks the api scope"}"#,
        )
    });
    let dir = workspace(150.0);
    let auto = check(&dir, &merge_request(&fake), &[]);
    assert_eq!(auto.code, 0);
    assert_eq!(
        auto.stderr,
        format!(
            "warning: could not post the merge-request note: GitLab refused creating the note on \
             merge request !{MR_IID} (HTTP 403: 403 Forbidden - token *** lacks the api scope); \
             the token may not write notes on this merge request: give it the `api` scope \
             (`read_api` cannot write) and at least the Reporter role in the project (Developer \
             if the project's merge requests are restricted), or, for a personal token, make \
             sure its user is a member\n"
        )
    );
    let always = check(&dir, &merge_request(&fake), &["--comment", "always"]);
    assert_eq!(always.code, 2);
    assert!(
        always
            .stderr
            .contains("HTTP 403: 403 Forbidden - token *** lacks"),
        "{}",
        always.stderr
    );
    assert!(fake.notes().is_empty());
}

#[test]
fn a_redirect_is_not_followed_with_the_token() {
    let fake = Fake::start();
    let elsewhere = common::http::serve(|_, r| {
        assert!(
            !r.headers.contains_key("private-token"),
            "the token followed a redirect"
        );
        (200, vec![], r#"{"id": 1}"#.to_owned())
    });
    fake.fault(Fault {
        headers: vec![("location", format!("{elsewhere}/api/v4/user"))],
        ..fault("GET", "/user", 302, "")
    });
    let err = upsert_note(&context(&fake), "prod", "body", &opts()).unwrap_err();
    assert!(
        matches!(err, NoteError::Http { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}
