//! The GitHub side of perfgate: what it knows of the Actions run ([`Context`]), the sticky pull-request
//! comment ([`upsert_comment`]), which caps a body with [`fit_body`] and finds its comment by the
//! template's [`marker`] (both owned by [`crate::render`], the template's side). Workflow commands
//! (step outputs, annotations) are in [`crate::workflow`].
//!
//! The one rule it keeps: this is the only module that talks to GitHub, so it is the only user of
//! octocrab and tokio (a current-thread runtime built per call; the API is synchronous), and it never
//! reads the environment itself — the caller passes the variables in, which is how the tests point it
//! at a local server. The token is kept private, never printed, and scrubbed from every error text.
//!
//! Writes are never retried blindly: octocrab's own retry (which resends a POST at once on a 5xx,
//! i.e. duplicate comments) is compiled out, and before a failed write is tried again the comments
//! are listed again to see whether it landed.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use octocrab::Octocrab;
use serde::Deserialize;

use crate::model::is_plain_name;
use crate::render::{fit_body, marker};

/// GitHub's maximum comment body, in characters ("Body is too long (maximum is 65536 characters)").
pub const COMMENT_LIMIT: usize = 65_536;

/// What [`upsert_comment`] caps a body to: below [`COMMENT_LIMIT`] with room to spare, since GitHub
/// counts characters in a way (Ruby string length after its own normalisation) we cannot replay exactly.
pub const MAX_COMMENT_CHARS: usize = 65_000;

const DEFAULT_API_URL: &str = "https://api.github.com";
const DEFAULT_BOT_LOGIN: &str = "github-actions[bot]";
// GitHub's largest page for issue comments.
const PER_PAGE: u32 = 100;
// A PR with more than 100,000 comments does not exist; a Link loop must not run forever.
const MAX_PAGES: usize = 1_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(16);
// GitHub's advice when a secondary rate limit names no time: "wait for at least one minute".
// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
const RATE_LIMIT_DEFAULT_WAIT: Duration = Duration::from_secs(60);
// An error message from a server (or a proxy's HTML page) is shown, not dumped.
const MAX_MESSAGE_CHARS: usize = 300;

const FORBIDDEN_HINT: &str = "the token cannot write to this pull request. Give the job \
`permissions: pull-requests: write`, or, for pull requests from forks (whose token is always \
read-only), run `perfgate check --comment never --format json --output verdict.json` in the \
`pull_request` workflow, upload verdict.json as an artifact, and post it with \
`perfgate comment --verdict verdict.json` from a `workflow_run` workflow";

/// The GitHub token, which nothing may print.
#[derive(Clone)]
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

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
    token: Option<Token>,
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

        let token = match var("GITHUB_TOKEN") {
            // A token goes into an HTTP header: anything but visible ASCII would be refused there.
            Some(t) if !t.bytes().all(|b| b.is_ascii_graphic()) => {
                bail!("GITHUB_TOKEN holds characters a token cannot have (spaces or control characters)")
            }
            t => t.map(|t| Token(t.to_owned())),
        };

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

/// How [`upsert_comment`] posts.
#[derive(Clone, Debug)]
pub struct CommentOptions {
    /// Only comments by this login are ever matched, edited or deleted (default `github-actions[bot]`,
    /// the author of comments made with the workflow's `GITHUB_TOKEN`).
    pub bot_login: String,
    /// The pull request to post on, instead of the context's (`perfgate comment --pr`, or the number a
    /// saved verdict recorded).
    pub pr_number: Option<u64>,
    /// When set, the pull request's head commit must be this one, or nothing is posted. A number
    /// taken from an untrusted saved verdict is checked this way against the trusted event's
    /// head sha, so a tampered verdict cannot send its comment to another pull request.
    pub expect_head_sha: Option<String>,
    /// The deadline of the whole call, counted from its start: every request (its body included)
    /// is cut off when it runs out, and no retry is made whose wait (backoff or `Retry-After`)
    /// would end later. Each request also has its own timeouts (10 s to connect, 30 s per read or
    /// write), which a server sending a byte now and then never trips.
    pub max_total: Duration,
}

impl Default for CommentOptions {
    fn default() -> Self {
        CommentOptions {
            bot_login: DEFAULT_BOT_LOGIN.to_owned(),
            pr_number: None,
            expect_head_sha: None,
            max_total: Duration::from_secs(60),
        }
    }
}

/// What [`upsert_comment`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Posted {
    /// No comment of this gate existed; this one was created.
    Created { id: u64 },
    /// The gate's comment was edited in place.
    Updated { id: u64 },
    /// The gate's comment already had exactly this body; nothing was sent.
    Unchanged { id: u64 },
}

impl Posted {
    /// The id of the gate's comment.
    pub fn id(&self) -> u64 {
        match *self {
            Posted::Created { id } | Posted::Updated { id } | Posted::Unchanged { id } => id,
        }
    }
}

/// Why a comment could not be posted. Every text here is free of the token.
#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    /// No token in the environment.
    #[error(
        "no GitHub token: set `GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}` in the step's `env`"
    )]
    NoToken,
    /// Neither the event nor the options name a pull request.
    #[error(
        "no pull request to comment on: the `{event}` event names none (a `workflow_run` that \
         follows a pull request from a fork never does: pass the number the verdict recorded, or `--pr`)"
    )]
    NoPullRequest { event: String },
    /// A gate name that could not be a marker.
    #[error("gate name {0:?} cannot be used in a comment marker (letters, digits, `.`, `_`, `-`)")]
    BadGate(String),
    /// GitHub refused the token (403 that is not a rate limit).
    #[error("GitHub refused {action} (HTTP {status}: {message}); {hint}")]
    Forbidden {
        action: String,
        status: u16,
        message: String,
        hint: String,
    },
    /// A rate limit whose wait does not fit in the retry budget.
    #[error("GitHub's rate limit stopped {action} (HTTP {status}: {message}); {wait}")]
    RateLimited {
        action: String,
        status: u16,
        message: String,
        /// What GitHub asked to wait, when it said.
        retry_after: Option<Duration>,
        wait: String,
    },
    /// Any other HTTP error status (after the retries a 5xx is allowed).
    #[error("GitHub answered HTTP {status} to {action}: {message}")]
    Http {
        action: String,
        status: u16,
        message: String,
    },
    /// No answer: connection refused, timeout, TLS, or an unreadable body.
    #[error("could not reach GitHub at {url} for {action}: {message}")]
    Transport {
        action: String,
        url: String,
        message: String,
    },
    /// The call's deadline ran out while a request was under way (a server that answers slowly,
    /// or trickles its body). A write cut off this way may still have landed.
    #[error("gave up on {action} at GitHub {url}: the {} s deadline for posting the comment ran out (a stalled or trickling answer)", .deadline.as_secs_f64())]
    Deadline {
        action: String,
        url: String,
        deadline: Duration,
    },
    /// A successful answer perfgate could not understand.
    #[error("GitHub's answer to {action} was not what its API documents: {message}")]
    Decode { action: String, message: String },
    /// The pull request's head is not the commit the trusted event names.
    #[error(
        "pull request #{pr} is at commit {actual}, not {expected} as this run's event says; \
         not commenting (a verdict naming another pull request than it was judged for?)"
    )]
    HeadMismatch {
        pr: u64,
        expected: String,
        actual: String,
    },
}

/// Finds this gate's comment by its hidden marker `<!-- perfgate:gate=<gate> -->` among ALL the PR's
/// comments (paging through every page via Link headers) posted by `bot_login`, updates it in place,
/// or creates it when absent; if an earlier race left several, updates the oldest and deletes the rest.
///
/// The marker leads the body (it is put first when the body does not already start with it), and a
/// comment is the gate's only when its first line is the marker, so text quoted further down a body
/// can never make it match another gate. The body is capped with [`fit_body`] to
/// [`MAX_COMMENT_CHARS`]. Reads are retried with exponential backoff on a 5xx, a timeout or a
/// secondary rate limit (honouring `Retry-After`); a failed write is retried only after listing again
/// shows it did not land. All of it within `opts.max_total`.
pub fn upsert_comment(
    ctx: &Context,
    gate: &str,
    body: &str,
    opts: &CommentOptions,
) -> Result<Posted, CommentError> {
    let token = ctx.token.as_ref().ok_or(CommentError::NoToken)?;
    let pr = opts
        .pr_number
        .or(ctx.pr_number)
        .ok_or_else(|| CommentError::NoPullRequest {
            event: ctx.event_name.clone(),
        })?;
    if !is_plain_name(gate) {
        return Err(CommentError::BadGate(gate.to_owned()));
    }
    let marker = marker(gate);
    let body = if first_line(body) == marker {
        body.to_owned()
    } else {
        format!("{marker}\n{body}")
    };
    let body = fit_body(&body, MAX_COMMENT_CHARS);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CommentError::Transport {
            action: "starting the HTTP client".into(),
            url: ctx.api_url.clone(),
            message: e.to_string(),
        })?;
    let result = runtime.block_on(async {
        let api = Api::new(ctx, token, opts)?;
        if let Some(expected) = &opts.expect_head_sha {
            api.check_head(pr, expected).await?;
        }
        api.upsert(pr, &marker, &body).await
    });
    result.map_err(|e| scrub_error(e, &token.0))
}

/// One call's client, its retry deadline and the request path prefix.
struct Api<'a> {
    crab: Octocrab,
    url: String,
    repo_path: String,
    bot_login: &'a str,
    deadline: Instant,
    budget: Duration,
}

/// A comment as GitHub lists it (REST "issue comment", API version 2022-11-28).
#[derive(Deserialize)]
struct GitHubComment {
    id: u64,
    body: Option<String>,
    user: Option<GitHubUser>,
}

#[derive(Deserialize)]
struct GitHubUser {
    login: String,
}

/// A pull request as GitHub returns it: only its head commit is read.
#[derive(Deserialize)]
struct GitHubPull {
    head: GitHubHead,
}

#[derive(Deserialize)]
struct GitHubHead {
    sha: String,
}

/// A created or updated comment: only its id is read.
#[derive(Deserialize)]
struct GitHubCommentId {
    id: u64,
}

/// A 2xx answer.
struct Reply {
    next: Option<String>,
    body: String,
}

/// A request that did not succeed: worth another try (after `after`, when the server said) or not.
enum Failure {
    Retry {
        after: Option<Duration>,
        error: CommentError,
    },
    Fatal(CommentError),
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl<'a> Api<'a> {
    fn new(ctx: &Context, token: &Token, opts: &'a CommentOptions) -> Result<Self, CommentError> {
        let transport = |message: String| CommentError::Transport {
            action: "building the HTTP client".into(),
            url: ctx.api_url.clone(),
            message,
        };
        // Built inside the runtime: hyper's pool and octocrab's timeout layer need one at hand.
        let crab = Octocrab::builder()
            .base_uri(ctx.api_url.as_str())
            .map_err(|e| transport(error_chain(&e)))?
            .personal_token(token.0.clone())
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(IO_TIMEOUT))
            .set_write_timeout(Some(IO_TIMEOUT))
            .build()
            .map_err(|e| transport(error_chain(&e)))?;
        Ok(Api {
            crab,
            url: ctx.api_url.clone(),
            repo_path: format!("/repos/{}/{}", ctx.repository.0, ctx.repository.1),
            bot_login: &opts.bot_login,
            deadline: Instant::now() + opts.max_total,
            budget: opts.max_total,
        })
    }

    async fn upsert(&self, pr: u64, marker: &str, body: &str) -> Result<Posted, CommentError> {
        let mut attempt = 0;
        let mut create_tried = false;
        loop {
            let mut ours: Vec<GitHubComment> = self
                .list(pr)
                .await?
                .into_iter()
                .filter(|c| {
                    c.user
                        .as_ref()
                        .is_some_and(|u| u.login.eq_ignore_ascii_case(self.bot_login))
                        && first_line(c.body.as_deref().unwrap_or("")) == marker
                })
                .collect();
            // Comment ids grow with time, so the smallest is the oldest.
            ours.sort_by_key(|c| c.id);

            let outcome = match ours.split_first() {
                None => {
                    create_tried = true;
                    self.create(pr, body).await
                }
                Some((keep, stale)) => {
                    let posted = if keep.body.as_deref() == Some(body) {
                        Ok(if create_tried {
                            // Our earlier POST landed although its answer was lost.
                            Posted::Created { id: keep.id }
                        } else {
                            Posted::Unchanged { id: keep.id }
                        })
                    } else {
                        self.update(keep.id, body).await
                    };
                    match posted {
                        Ok(posted) => {
                            for c in stale {
                                self.delete(c.id).await?;
                            }
                            Ok(posted)
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match outcome {
                Ok(posted) => return Ok(posted),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry { after, error }) => {
                    attempt += 1;
                    self.pause(after, attempt, error).await?;
                }
            }
        }
    }

    /// Fails unless the pull request's head commit is `expected`.
    async fn check_head(&self, pr: u64, expected: &str) -> Result<(), CommentError> {
        let action = format!("reading pull request #{pr}");
        let reply = self
            .read(&format!("{}/pulls/{pr}", self.repo_path), &action)
            .await?;
        let pull: GitHubPull =
            serde_json::from_str(&reply.body).map_err(|e| CommentError::Decode {
                action,
                message: e.to_string(),
            })?;
        if pull.head.sha.eq_ignore_ascii_case(expected) {
            Ok(())
        } else {
            Err(CommentError::HeadMismatch {
                pr,
                expected: expected.to_owned(),
                actual: pull.head.sha,
            })
        }
    }

    /// Every comment of the PR, oldest first, following `Link: rel="next"` to the last page.
    async fn list(&self, pr: u64) -> Result<Vec<GitHubComment>, CommentError> {
        let action = format!("listing the comments of pull request #{pr}");
        let mut uri = format!(
            "{}/issues/{pr}/comments?per_page={PER_PAGE}",
            self.repo_path
        );
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = self.read(&uri, &action).await?;
            let page: Vec<GitHubComment> =
                serde_json::from_str(&reply.body).map_err(|e| CommentError::Decode {
                    action: action.clone(),
                    message: e.to_string(),
                })?;
            all.extend(page);
            match reply.next {
                Some(next) => uri = next,
                None => return Ok(all),
            }
        }
        Err(CommentError::Decode {
            action,
            message: format!("more than {MAX_PAGES} pages of comments (a Link loop?)"),
        })
    }

    /// A GET, retried with backoff until it succeeds, fails for good, or the budget runs out.
    async fn read(&self, uri: &str, action: &str) -> Result<Reply, CommentError> {
        let mut attempt = 0;
        loop {
            match self.send(Method::Get, uri, None, action).await {
                Ok(reply) => return Ok(reply),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry { after, error }) => {
                    attempt += 1;
                    self.pause(after, attempt, error).await?;
                }
            }
        }
    }

    async fn create(&self, pr: u64, body: &str) -> Result<Posted, Failure> {
        let action = format!("creating the comment on pull request #{pr}");
        let uri = format!("{}/issues/{pr}/comments", self.repo_path);
        let reply = self.send(Method::Post, &uri, Some(body), &action).await?;
        Ok(Posted::Created {
            id: comment_id(&reply, &action)?,
        })
    }

    /// GitHub documents PATCH for editing a comment. octocrab 0.54's `update_comment` sends POST,
    /// which GitHub also accepts for PATCH endpoints; perfgate sends the documented verb.
    async fn update(&self, id: u64, body: &str) -> Result<Posted, Failure> {
        let action = format!("updating comment {id}");
        let uri = format!("{}/issues/comments/{id}", self.repo_path);
        let reply = self.send(Method::Patch, &uri, Some(body), &action).await?;
        Ok(Posted::Updated {
            id: comment_id(&reply, &action)?,
        })
    }

    /// Deletes a duplicate left by an earlier race; one already gone (404) is fine. DELETE is
    /// idempotent, so it is retried like a read.
    async fn delete(&self, id: u64) -> Result<(), CommentError> {
        let action = format!("deleting duplicate comment {id}");
        let uri = format!("{}/issues/comments/{id}", self.repo_path);
        let mut attempt = 0;
        loop {
            match self.send(Method::Delete, &uri, None, &action).await {
                Ok(_) | Err(Failure::Fatal(CommentError::Http { status: 404, .. })) => {
                    return Ok(())
                }
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry { after, error }) => {
                    attempt += 1;
                    self.pause(after, attempt, error).await?;
                }
            }
        }
    }

    /// Waits before retry number `attempt` (what the server asked, else exponential backoff), or
    /// gives up with `error` when the wait would end past the deadline.
    async fn pause(
        &self,
        after: Option<Duration>,
        attempt: u32,
        error: CommentError,
    ) -> Result<(), CommentError> {
        let wait = after.unwrap_or_else(|| backoff(attempt));
        if Instant::now() + wait > self.deadline {
            return Err(match error {
                CommentError::RateLimited {
                    action,
                    status,
                    message,
                    retry_after,
                    ..
                } => CommentError::RateLimited {
                    wait: format!(
                        "GitHub asked to wait {} s, past the {} s retry budget",
                        wait.as_secs(),
                        self.budget.as_secs()
                    ),
                    action,
                    status,
                    message,
                    retry_after,
                },
                other => other,
            });
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// One request, headers and body, cut off at the call's deadline: the per-read timeouts
    /// restart with every byte, so a server trickling its answer would otherwise hold the call.
    async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<&str>,
        action: &str,
    ) -> Result<Reply, Failure> {
        let deadline = tokio::time::Instant::from_std(self.deadline);
        tokio::time::timeout_at(deadline, self.exchange(method, uri, body, action))
            .await
            .unwrap_or_else(|_| {
                Err(Failure::Fatal(CommentError::Deadline {
                    action: action.to_owned(),
                    url: self.url.clone(),
                    deadline: self.budget,
                }))
            })
    }

    /// One request, classified: 2xx is a [`Reply`]; 5xx, timeouts and rate limits may be retried;
    /// anything else is final.
    async fn exchange(
        &self,
        method: Method,
        uri: &str,
        body: Option<&str>,
        action: &str,
    ) -> Result<Reply, Failure> {
        let json = body.map(|b| serde_json::json!({ "body": b }));
        let json = json.as_ref();
        let response = match method {
            Method::Get => self.crab._get(uri).await,
            Method::Post => self.crab._post(uri, json).await,
            Method::Patch => self.crab._patch(uri, json).await,
            Method::Delete => self.crab._delete(uri, json).await,
        };
        let transport = |e: octocrab::Error| Failure::Retry {
            after: None,
            error: CommentError::Transport {
                action: action.to_owned(),
                url: self.url.clone(),
                message: error_chain(&e),
            },
        };
        let response = response.map_err(transport)?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
        let remaining = header("x-ratelimit-remaining");
        let reset = header("x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok());
        let next = header("link").and_then(|l| next_link(&l));
        let text = self
            .crab
            .body_to_string(response)
            .await
            .map_err(transport)?;

        if (200..300).contains(&status) {
            return Ok(Reply { next, body: text });
        }
        let message = error_message(&text, status);
        let rate_limited = status == 429
            || (status == 403
                && (retry_after.is_some()
                    || remaining.as_deref().map(str::trim) == Some("0")
                    || message.to_ascii_lowercase().contains("rate limit")));
        if rate_limited {
            let after = match (retry_after, remaining.as_deref().map(str::trim), reset) {
                (Some(s), _, _) => Duration::from_secs(s),
                (None, Some("0"), Some(reset)) => {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    Duration::from_secs(reset.saturating_sub(now).max(1))
                }
                _ => RATE_LIMIT_DEFAULT_WAIT,
            };
            return Err(Failure::Retry {
                after: Some(after),
                error: CommentError::RateLimited {
                    action: action.to_owned(),
                    status,
                    message,
                    retry_after: retry_after.map(Duration::from_secs),
                    wait: "retried until the budget ran out".into(),
                },
            });
        }
        if status >= 500 {
            return Err(Failure::Retry {
                after: None,
                error: CommentError::Http {
                    action: action.to_owned(),
                    status,
                    message,
                },
            });
        }
        if status == 403 {
            return Err(Failure::Fatal(CommentError::Forbidden {
                action: action.to_owned(),
                status,
                message,
                hint: FORBIDDEN_HINT.to_owned(),
            }));
        }
        Err(Failure::Fatal(CommentError::Http {
            action: action.to_owned(),
            status,
            message,
        }))
    }
}

fn comment_id(reply: &Reply, action: &str) -> Result<u64, Failure> {
    serde_json::from_str::<GitHubCommentId>(&reply.body)
        .map(|c| c.id)
        .map_err(|e| {
            Failure::Fatal(CommentError::Decode {
                action: action.to_owned(),
                message: e.to_string(),
            })
        })
}

fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(MAX_BACKOFF)
}

/// The first line of a text, without surrounding blanks and leading empty lines.
fn first_line(text: &str) -> &str {
    text.trim_start().lines().next().unwrap_or("").trim()
}

/// The `rel="next"` target of a `Link` header (RFC 8288), as GitHub paginates.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                p.trim()
                    .strip_prefix("rel=")
                    .is_some_and(|rel| rel.trim_matches('"').split(' ').any(|r| r == "next"))
            })
            .then(|| target.to_owned())
    })
}

/// GitHub's `{"message": …}`, or the start of whatever else the server sent, on one line.
fn error_message(text: &str, status: u16) -> String {
    #[derive(Deserialize)]
    struct GitHubErrorBody {
        message: Option<String>,
    }
    let raw = serde_json::from_str::<GitHubErrorBody>(text)
        .ok()
        .and_then(|b| b.message)
        .unwrap_or_else(|| text.to_owned());
    let one_line: String = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if one_line.is_empty() {
        return format!("HTTP {status} with an empty body");
    }
    match one_line.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// An error and its sources on one line: octocrab's own `Display` says only "GitHub" or "Hyper Error".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Replaces the token wherever a server or library may have echoed it.
fn scrub_error(error: CommentError, token: &str) -> CommentError {
    let s = |text: String| scrub(&text, token);
    match error {
        CommentError::Forbidden {
            action,
            status,
            message,
            hint,
        } => CommentError::Forbidden {
            action: s(action),
            status,
            message: s(message),
            hint,
        },
        CommentError::RateLimited {
            action,
            status,
            message,
            retry_after,
            wait,
        } => CommentError::RateLimited {
            action: s(action),
            status,
            message: s(message),
            retry_after,
            wait,
        },
        CommentError::Http {
            action,
            status,
            message,
        } => CommentError::Http {
            action: s(action),
            status,
            message: s(message),
        },
        CommentError::Transport {
            action,
            url,
            message,
        } => CommentError::Transport {
            action: s(action),
            url: s(url),
            message: s(message),
        },
        CommentError::Decode { action, message } => CommentError::Decode {
            action: s(action),
            message: s(message),
        },
        CommentError::HeadMismatch {
            pr,
            expected,
            actual,
        } => CommentError::HeadMismatch {
            pr,
            expected: s(expected),
            actual: s(actual),
        },
        CommentError::Deadline {
            action,
            url,
            deadline,
        } => CommentError::Deadline {
            action: s(action),
            url: s(url),
            deadline,
        },
        other @ (CommentError::NoToken
        | CommentError::NoPullRequest { .. }
        | CommentError::BadGate(_)) => other,
    }
}

fn scrub(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn link_header_next() {
        let h = r#"<https://api.github.com/repositories/1/issues/2/comments?page=1>; rel="prev", <https://api.github.com/repositories/1/issues/2/comments?page=3>; rel="next", <https://api.github.com/repositories/1/issues/2/comments?page=5>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?page=3")
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="first""#), None);
    }

    #[test]
    fn error_messages_are_one_short_line() {
        let html = format!("<html>\n<body>{}</body></html>", "x".repeat(1000));
        let m = error_message(&html, 502);
        assert!(!m.contains('\n'));
        assert!(m.chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            error_message(
                r#"{"message":"Bad credentials","documentation_url":"x"}"#,
                401
            ),
            "Bad credentials"
        );
        assert_eq!(error_message("", 502), "HTTP 502 with an empty body");
    }
}
