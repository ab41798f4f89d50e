//! The sticky pull-request comment over GitHub's REST API: [`upsert_comment`] finds the gate's
//! comment by its marker, edits it, creates it, or leaves it when already current.
//!
//! The one rule it keeps: writes are never retried blindly. octocrab's own retry (which resends a
//! POST at once on a 5xx, i.e. duplicate comments) is compiled out, and before a failed write is
//! tried again the comments are listed again to see whether it landed. The token never leaves
//! this module in any text: every error is scrubbed of it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use octocrab::Octocrab;
use serde::Deserialize;

use super::context::Context;
use crate::model::is_plain_name;
use crate::render::{fit_body, marker};
pub use crate::rest::Posted;
use crate::rest::{backoff, error_chain, first_line, one_line, scrub, Token};

/// GitHub's maximum comment body, in characters ("Body is too long (maximum is 65536 characters)").
pub const COMMENT_LIMIT: usize = 65_536;

/// What [`upsert_comment`] caps a body to: below [`COMMENT_LIMIT`] with room to spare, since GitHub
/// counts characters in a way (Ruby string length after its own normalisation) we cannot replay exactly.
pub const MAX_COMMENT_CHARS: usize = 65_000;

const DEFAULT_BOT_LOGIN: &str = "github-actions[bot]";
// GitHub's largest page for issue comments.
const PER_PAGE: u32 = 100;
// A PR with more than 100,000 comments does not exist; a Link loop must not run forever.
const MAX_PAGES: usize = 1_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(30);
// GitHub's advice when a secondary rate limit names no time: "wait for at least one minute".
// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
const RATE_LIMIT_DEFAULT_WAIT: Duration = Duration::from_secs(60);

const FORBIDDEN_HINT: &str = "the token cannot write to this pull request. Give the job \
`permissions: pull-requests: write`, or, for pull requests from forks (whose token is always \
read-only), run `perfgate check --comment never --format json --output verdict.json` in the \
`pull_request` workflow, upload verdict.json as an artifact, and post it with \
`perfgate comment --verdict verdict.json` from a `workflow_run` workflow";

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
    one_line(&raw, status)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(m.chars().count() <= crate::rest::MAX_MESSAGE_CHARS + 1);
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
