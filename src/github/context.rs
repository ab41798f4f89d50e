//! The GitHub Actions run as perfgate sees it: [`Context`], built from the standard variables and
//! the event's payload that the caller passes in (this module never reads the environment, which
//! is how the tests point it anywhere).
//!
//! The one rule it keeps: the token is held in a type whose `Debug` prints `<redacted>`, and no
//! error names its value.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};
use serde::Deserialize;

use crate::model::is_plain_name;
use crate::rest::Token;

const DEFAULT_API_URL: &str = "https://api.github.com";

/// What perfgate knows of the GitHub Actions run. Built from the standard variables and the event payload.
#[derive(Clone, Debug)]
pub struct Context {
    /// The REST API root, without a trailing slash (`https://api.github.com`, or a GitHub Enterprise
    /// Server's `https://host/api/v3`, or a test server).
    pub api_url: String,
    /// Owner and name, from `GITHUB_REPOSITORY`.
    pub repository: (String, String),
    /// `GITHUB_EVENT_NAME`; empty when unset.
    pub event_name: String,
    /// For a `workflow_run` event, the event that started the run it follows (`pull_request`, `push`…).
    pub triggering_event: Option<String>,
    /// The pull request the run belongs to, when the payload names one. A `workflow_run` that follows
    /// a pull request from a fork names none: GitHub leaves `workflow_run.pull_requests` empty then.
    pub pr_number: Option<u64>,
    /// The commit under test: the PR head for pull-request events (`GITHUB_SHA` is the merge commit
    /// there), `workflow_run.head_sha` for a workflow_run, `GITHUB_SHA` otherwise.
    pub head_sha: Option<String>,
    /// The PR base commit, when the payload names one.
    pub base_sha: Option<String>,
    /// The pull request's labels as the event payload lists them (`pull_request.labels[].name`),
    /// for its own waivers (`perfgate:accept`); empty for other events.
    pub labels: Vec<String>,
    pub(super) token: Option<Token>,
}

/// The parts of a webhook payload perfgate reads; octokit/webhooks' payload examples give the shape.
#[derive(Deserialize)]
struct EventPayload {
    pull_request: Option<PullRequestPayload>,
    workflow_run: Option<WorkflowRunPayload>,
}

#[derive(Deserialize)]
struct PullRequestPayload {
    number: u64,
    head: CommitRefPayload,
    base: CommitRefPayload,
    #[serde(default)]
    labels: Vec<LabelPayload>,
}

#[derive(Deserialize)]
struct LabelPayload {
    name: String,
}

#[derive(Deserialize)]
struct CommitRefPayload {
    sha: String,
}

#[derive(Deserialize)]
struct WorkflowRunPayload {
    event: Option<String>,
    head_sha: Option<String>,
    #[serde(default)]
    pull_requests: Vec<PullRequestPayload>,
}

fn is_pull_request_event(name: &str) -> bool {
    matches!(name, "pull_request" | "pull_request_target")
}

impl Context {
    /// `vars` holds GITHUB_TOKEN, GITHUB_API_URL (default `https://api.github.com`), GITHUB_REPOSITORY,
    /// GITHUB_EVENT_NAME, GITHUB_SHA; `event` is the text of the GITHUB_EVENT_PATH file if any.
    /// PR number and base/head shas from pull_request, pull_request_target (payload.pull_request)
    /// and workflow_run (`payload.workflow_run.pull_requests[0]`) payloads.
    ///
    /// An empty variable counts as unset (a workflow's `${{ secrets.MISSING }}` is empty). Errors
    /// name the variable or the payload field, never the token's value.
    pub fn from_vars(
        vars: &BTreeMap<String, String>,
        event: Option<&str>,
    ) -> anyhow::Result<Context> {
        let var = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let token = var("GITHUB_TOKEN")
            .map(|t| Token::from_var("GITHUB_TOKEN", t))
            .transpose()?;

        let api_url = var("GITHUB_API_URL")
            .unwrap_or(DEFAULT_API_URL)
            .trim_end_matches('/')
            .to_owned();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://"))
            || api_url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            bail!("GITHUB_API_URL `{api_url}` is not an http(s) URL");
        }

        let full = var("GITHUB_REPOSITORY")
            .context("GITHUB_REPOSITORY is not set (expected `owner/name`)")?;
        let repository = match full.split_once('/') {
            Some((owner, name)) if is_plain_name(owner) && is_plain_name(name) => {
                (owner.to_owned(), name.to_owned())
            }
            _ => bail!("GITHUB_REPOSITORY `{full}` is not `owner/name`"),
        };

        let event_name = var("GITHUB_EVENT_NAME").unwrap_or_default().to_owned();
        let mut ctx = Context {
            api_url,
            repository,
            event_name,
            triggering_event: None,
            pr_number: None,
            head_sha: var("GITHUB_SHA").map(str::to_owned),
            base_sha: None,
            labels: Vec::new(),
            token,
        };

        let Some(text) = event.filter(|t| !t.trim().is_empty()) else {
            if is_pull_request_event(&ctx.event_name) {
                // Without the payload the head is unknown; GITHUB_SHA would be the merge commit.
                ctx.head_sha = None;
            }
            return Ok(ctx);
        };
        let payload: EventPayload =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
                .map_err(|e| {
                    anyhow::anyhow!(
                        "event payload (GITHUB_EVENT_PATH): field `{}`: {}",
                        e.path(),
                        e.inner()
                    )
                })?;

        if is_pull_request_event(&ctx.event_name) {
            ctx.head_sha = None;
            if let Some(pr) = payload.pull_request {
                ctx.pr_number = Some(pr.number);
                ctx.head_sha = Some(pr.head.sha);
                ctx.base_sha = Some(pr.base.sha);
                ctx.labels = pr.labels.into_iter().map(|l| l.name).collect();
            }
        } else if ctx.event_name == "workflow_run" {
            if let Some(run) = payload.workflow_run {
                ctx.triggering_event = run.event;
                if run.head_sha.is_some() {
                    ctx.head_sha = run.head_sha;
                }
                if let Some(pr) = run.pull_requests.into_iter().next() {
                    ctx.pr_number = Some(pr.number);
                    ctx.head_sha = Some(pr.head.sha);
                    ctx.base_sha = Some(pr.base.sha);
                }
            }
        }
        Ok(ctx)
    }

    /// True on `pull_request`, `pull_request_target`, or a `workflow_run` that follows one of them.
    pub fn is_pull_request(&self) -> bool {
        is_pull_request_event(&self.event_name)
            || (self.event_name == "workflow_run"
                && self
                    .triggering_event
                    .as_deref()
                    .is_some_and(is_pull_request_event))
    }

    /// True when a non-empty `GITHUB_TOKEN` was given.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::{upsert_comment, CommentError, CommentOptions};

    const TOKEN: &str = "ghs_unitTestTokenValue0123456789";

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn base(event: &str) -> BTreeMap<String, String> {
        vars(&[
            ("GITHUB_TOKEN", TOKEN),
            ("GITHUB_REPOSITORY", "octo-org/hello-world"),
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_SHA", "6dcb09b5b57875f334f61aebed695e2e4193db5e"),
        ])
    }

    // Trimmed from the shape of GitHub's `pull_request` webhook example (octokit/webhooks,
    // payload-examples/api.github.com/pull_request/opened.payload.json): unknown fields kept to
    // show they are ignored.
    const PULL_REQUEST_EVENT: &str = r#"{
      "action": "opened",
      "number": 2,
      "pull_request": {
        "url": "https://api.github.com/repos/octo-org/hello-world/pulls/2",
        "id": 279147437,
        "number": 2,
        "state": "open",
        "title": "Update the README with new information.",
        "user": {"login": "octocat", "id": 21031067, "type": "User"},
        "head": {"label": "octocat:changes", "ref": "changes",
                 "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                 "repo": {"id": 186853002, "full_name": "octocat/hello-world"}},
        "base": {"label": "octo-org:main", "ref": "main",
                 "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
                 "repo": {"id": 186853002, "full_name": "octo-org/hello-world"}},
        "merge_commit_sha": "c4295bd74fb0f4fbb18f3e1e1f1d1b2c0b6f3c3d"
      },
      "repository": {"id": 186853002, "full_name": "octo-org/hello-world"},
      "sender": {"login": "octocat", "id": 21031067}
    }"#;

    // The shape of GitHub's `workflow_run` completed example: a run of a same-repository pull request.
    const WORKFLOW_RUN_EVENT: &str = r#"{
      "action": "completed",
      "workflow_run": {
        "id": 30433642,
        "name": "perf",
        "head_branch": "changes",
        "head_sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        "event": "pull_request",
        "status": "completed",
        "conclusion": "success",
        "pull_requests": [
          {"url": "https://api.github.com/repos/octo-org/hello-world/pulls/7", "id": 934,
           "number": 7,
           "head": {"ref": "changes", "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                    "repo": {"id": 186853002, "url": "https://api.github.com/repos/octo-org/hello-world", "name": "hello-world"}},
           "base": {"ref": "main", "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
                    "repo": {"id": 186853002, "url": "https://api.github.com/repos/octo-org/hello-world", "name": "hello-world"}}}
        ]
      },
      "workflow": {"id": 159038, "name": "perf", "path": ".github/workflows/perf.yml"},
      "repository": {"id": 186853002, "full_name": "octo-org/hello-world"}
    }"#;

    // A run of a pull request from a fork: GitHub leaves `pull_requests` empty.
    const WORKFLOW_RUN_FORK_EVENT: &str = r#"{
      "action": "completed",
      "workflow_run": {"id": 30433643, "head_sha": "0123456789abcdef0123456789abcdef01234567",
                       "event": "pull_request", "head_repository": {"full_name": "someone/hello-world"},
                       "pull_requests": []}
    }"#;

    const PUSH_EVENT: &str = r#"{
      "ref": "refs/heads/main",
      "before": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
      "after": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
      "commits": [],
      "head_commit": {"id": "6dcb09b5b57875f334f61aebed695e2e4193db5e"}
    }"#;

    #[test]
    fn pull_request_takes_the_head_not_the_merge_commit() {
        let ctx = Context::from_vars(&base("pull_request"), Some(PULL_REQUEST_EVENT)).unwrap();
        assert_eq!(ctx.api_url, "https://api.github.com");
        assert_eq!(
            ctx.repository,
            ("octo-org".to_owned(), "hello-world".to_owned())
        );
        assert_eq!(ctx.pr_number, Some(2));
        assert_eq!(
            ctx.head_sha.as_deref(),
            Some("ec26c3e57ca3a959ca5aad62de7213c562f8c821")
        );
        assert_eq!(
            ctx.base_sha.as_deref(),
            Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
        );
        assert!(ctx.is_pull_request());
        assert!(ctx.has_token());
    }

    #[test]
    fn pull_request_target_reads_the_same_payload() {
        let ctx =
            Context::from_vars(&base("pull_request_target"), Some(PULL_REQUEST_EVENT)).unwrap();
        assert_eq!(ctx.pr_number, Some(2));
        assert!(ctx.is_pull_request());
    }

    #[test]
    fn workflow_run_of_a_pull_request() {
        let ctx = Context::from_vars(&base("workflow_run"), Some(WORKFLOW_RUN_EVENT)).unwrap();
        assert_eq!(ctx.triggering_event.as_deref(), Some("pull_request"));
        assert_eq!(ctx.pr_number, Some(7));
        assert_eq!(
            ctx.base_sha.as_deref(),
            Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
        );
        assert!(ctx.is_pull_request());
    }

    #[test]
    fn workflow_run_of_a_fork_has_no_number_but_is_a_pull_request() {
        let ctx = Context::from_vars(&base("workflow_run"), Some(WORKFLOW_RUN_FORK_EVENT)).unwrap();
        assert_eq!(ctx.pr_number, None);
        assert_eq!(
            ctx.head_sha.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert!(ctx.is_pull_request());
        let err = upsert_comment(&ctx, "prod", "x", &CommentOptions::default()).unwrap_err();
        assert!(matches!(err, CommentError::NoPullRequest { .. }));
        assert!(err.to_string().contains("--pr"), "{err}");
    }

    #[test]
    fn push_is_not_a_pull_request_and_keeps_github_sha() {
        let mut v = base("push");
        v.insert(
            "GITHUB_API_URL".into(),
            "https://ghe.example.com/api/v3/".into(),
        );
        let ctx = Context::from_vars(&v, Some(PUSH_EVENT)).unwrap();
        assert_eq!(ctx.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(ctx.pr_number, None);
        assert_eq!(
            ctx.head_sha.as_deref(),
            Some("6dcb09b5b57875f334f61aebed695e2e4193db5e")
        );
        assert!(!ctx.is_pull_request());
    }

    #[test]
    fn empty_token_is_no_token_and_debug_hides_a_real_one() {
        let mut v = base("pull_request");
        let ctx = Context::from_vars(&v, Some(PULL_REQUEST_EVENT)).unwrap();
        let debug = format!("{ctx:?}");
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");

        v.insert("GITHUB_TOKEN".into(), String::new());
        let ctx = Context::from_vars(&v, None).unwrap();
        assert!(!ctx.has_token());
        let err = upsert_comment(&ctx, "prod", "x", &CommentOptions::default()).unwrap_err();
        assert!(matches!(err, CommentError::NoToken));
        // Without the payload a pull request's head is unknown, not the merge commit.
        assert_eq!(ctx.head_sha, None);
    }

    #[test]
    fn bad_variables_and_payloads_are_named() {
        let mut v = base("push");
        v.remove("GITHUB_REPOSITORY");
        let e = Context::from_vars(&v, None).unwrap_err().to_string();
        assert!(e.contains("GITHUB_REPOSITORY"), "{e}");

        let mut v = base("push");
        v.insert("GITHUB_REPOSITORY".into(), "octo-org/../evil".into());
        let e = Context::from_vars(&v, None).unwrap_err().to_string();
        assert!(e.contains("owner/name"), "{e}");

        let mut v = base("push");
        v.insert("GITHUB_TOKEN".into(), format!("{TOKEN}\nx"));
        let e = Context::from_vars(&v, None).unwrap_err().to_string();
        assert!(e.contains("GITHUB_TOKEN") && !e.contains(TOKEN), "{e}");

        let mut v = base("push");
        v.insert("GITHUB_API_URL".into(), "ftp://x".into());
        let e = Context::from_vars(&v, None).unwrap_err().to_string();
        assert!(e.contains("GITHUB_API_URL"), "{e}");

        let e = Context::from_vars(
            &base("pull_request"),
            Some(r#"{"pull_request": {"number": "2"}}"#),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("pull_request.number"), "{e}");
    }
}
