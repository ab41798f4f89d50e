//! The sticky merge-request note over GitLab's REST API (v4): [`upsert_note`] finds the gate's note
//! by its marker among the notes the token's own user wrote, edits it, creates it, or leaves it
//! when already current.
//!
//! The one rule it keeps, as on the GitHub side: writes are never retried blindly. Before a failed
//! write is tried again the notes are listed again to see whether it landed. The token never
//! leaves this module in any text: every error is scrubbed of it, and redirects (which would carry
//! the `PRIVATE-TOKEN` header to wherever they point) are not followed.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::{Deserialize, Deserializer};

use super::context::Context;
use crate::model::is_plain_name;
use crate::render::{fit_body, marker, TRUNCATION_NOTE};
use crate::rest::{backoff, error_chain, first_line, one_line, scrub, Posted, Token};

/// GitLab's maximum note length, in characters ("Note is too long (maximum is 1000000 characters)").
pub const NOTE_LIMIT: usize = 1_000_000;

/// What [`upsert_note`] caps a body to: below [`NOTE_LIMIT`] with room to spare, since GitLab
/// counts characters after its own normalisation, which we cannot replay exactly.
pub const MAX_NOTE_CHARS: usize = 999_000;

/// What a shortened note says it left out: a GitLab job has no job summary to point at.
pub const NOTE_TRUNCATED: &str =
    "truncated to GitLab's note limit — `--format json` has every metric";

// GitLab's largest page ("Pagination": `per_page` is at most 100).
const PER_PAGE: u32 = 100;
// A merge request with more than 100,000 notes does not exist; a paging loop must not run forever.
const MAX_PAGES: u64 = 1_000;
// A page of 100 notes is far below this; a larger answer is not GitLab's (or is hostile).
const MAX_ANSWER_BYTES: u64 = 64 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
// What GitLab.com's rate limits reset within when the answer names no time ("Rate limits on
// GitLab.com": limits are per minute).
const RATE_LIMIT_DEFAULT_WAIT: Duration = Duration::from_secs(60);

const UNAUTHORIZED_HINT: &str = "the token is not valid here: it may be expired, revoked, or for \
another GitLab instance. Store a project access token (or a group access token) with the `api` \
scope as the CI/CD variable PERFGATE_GITLAB_TOKEN (GitLab's CI_JOB_TOKEN cannot write notes)";
const FORBIDDEN_HINT: &str = "the token may not write notes on this merge request: give it the \
`api` scope (`read_api` cannot write) and at least the Reporter role in the project (Developer if \
the project's merge requests are restricted), or, for a personal token, make sure its user is a \
member";
const NOT_FOUND_HINT: &str = "GitLab answers 404 for a project or merge request the token cannot \
see: check that the token belongs to this project (or its group) and has the `api` scope, and \
that CI_PROJECT_ID and CI_MERGE_REQUEST_IID are GitLab's own";

/// How [`upsert_note`] posts.
#[derive(Clone, Debug)]
pub struct NoteOptions {
    /// The deadline of the whole call, counted from its start: every request (its body included)
    /// is cut off when it runs out, and no retry is made whose wait (backoff or `Retry-After`)
    /// would end later.
    pub max_total: Duration,
}

impl Default for NoteOptions {
    fn default() -> Self {
        NoteOptions {
            max_total: Duration::from_secs(60),
        }
    }
}

/// Why a note could not be posted. Every text here is free of the token.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// No token in the environment.
    #[error(
        "no GitLab token: store a project access token with the `api` scope as the CI/CD \
         variable PERFGATE_GITLAB_TOKEN (or GITLAB_TOKEN); GitLab's CI_JOB_TOKEN cannot write notes"
    )]
    NoToken,
    /// Not a merge-request pipeline.
    #[error(
        "no merge request to comment on: CI_MERGE_REQUEST_IID is not set (only a merge-request \
         pipeline has one: `rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`)"
    )]
    NoMergeRequest,
    /// A gate name that could not be a marker.
    #[error("gate name {0:?} cannot be used in a note marker (letters, digits, `.`, `_`, `-`)")]
    BadGate(String),
    /// GitLab refused the token or cannot see the project (401, 403, 404).
    #[error("GitLab refused {action} (HTTP {status}: {message}); {hint}")]
    Refused {
        action: String,
        status: u16,
        message: String,
        hint: String,
    },
    /// A rate limit whose wait does not fit in the retry budget.
    #[error("GitLab's rate limit stopped {action} (HTTP {status}: {message}); {wait}")]
    RateLimited {
        action: String,
        status: u16,
        message: String,
        wait: String,
    },
    /// Any other HTTP error status (after the retries a 5xx is allowed).
    #[error("GitLab answered HTTP {status} to {action}: {message}")]
    Http {
        action: String,
        status: u16,
        message: String,
    },
    /// No answer: connection refused, timeout, TLS, or an unreadable body.
    #[error("could not reach GitLab at {url} for {action}: {message}")]
    Transport {
        action: String,
        url: String,
        message: String,
    },
    /// The call's deadline ran out while a request was under way. A write cut off this way may
    /// still have landed.
    #[error("gave up on {action} at GitLab {url}: the {} s deadline for posting the note ran out (a stalled or trickling answer)", .deadline.as_secs_f64())]
    Deadline {
        action: String,
        url: String,
        deadline: Duration,
    },
    /// A successful answer perfgate could not understand.
    #[error("GitLab's answer to {action} was not what its API documents: {message}")]
    Decode { action: String, message: String },
}

/// Finds this gate's note by its hidden marker `<!-- perfgate:gate=<gate> -->` among ALL the merge
/// request's notes (paging with `x-next-page`) written by the token's own user, updates it in
/// place, or creates it when absent; if an earlier race left several, updates the oldest and
/// deletes the rest.
///
/// The marker leads the body, and a note is the gate's only when its first line is the marker.
/// The body is capped with [`fit_body`] to [`MAX_NOTE_CHARS`], saying so with [`NOTE_TRUNCATED`]. Reads are retried with exponential
/// backoff on a 5xx or a transport error, and after a 429 when its `Retry-After` says; a failed
/// write is retried only after listing again shows it did not land. All of it within
/// `opts.max_total`.
pub fn upsert_note(
    ctx: &Context,
    gate: &str,
    body: &str,
    opts: &NoteOptions,
) -> Result<Posted, NoteError> {
    let token = ctx.token.as_ref().ok_or(NoteError::NoToken)?;
    let iid = ctx.mr_iid.ok_or(NoteError::NoMergeRequest)?;
    if !is_plain_name(gate) {
        return Err(NoteError::BadGate(gate.to_owned()));
    }
    let marker = marker(gate);
    let body = if first_line(body) == marker {
        body.to_owned()
    } else {
        format!("{marker}\n{body}")
    };
    // The longer note leaves room for itself: the character budget is cut by the difference.
    let room = NOTE_TRUNCATED.chars().count() - TRUNCATION_NOTE.chars().count();
    let body = fit_body(&body, MAX_NOTE_CHARS - room).replace(TRUNCATION_NOTE, NOTE_TRUNCATED);
    let result = Api::new(ctx, token, opts, iid).and_then(|api| api.upsert(&marker, &body));
    result.map_err(|e| scrub_error(e, &token.0))
}

/// One call's client, its retry deadline and the notes' path.
struct Api {
    client: Client,
    url: String,
    notes: String,
    iid: u64,
    deadline: Instant,
    budget: Duration,
}

/// A note as GitLab lists it: its body is kept only as what the upsert compares, so a page of
/// long notes is not held in memory.
#[derive(Deserialize)]
struct Note {
    id: u64,
    #[serde(deserialize_with = "digest")]
    body: Digest,
    author: Option<User>,
    #[serde(default)]
    system: bool,
}

#[derive(Deserialize)]
struct User {
    id: u64,
}

/// A created or updated note: only its id is read.
#[derive(Deserialize)]
struct NoteId {
    id: u64,
}

/// A note body's first line (when short enough to be a marker) and a hash of the whole.
#[derive(PartialEq, Eq)]
struct Digest {
    first_line: String,
    hash: u64,
}

impl Digest {
    fn of(body: &str) -> Digest {
        let line = first_line(body);
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        Digest {
            first_line: if line.len() <= 200 {
                line.to_owned()
            } else {
                String::new()
            },
            hash: hasher.finish(),
        }
    }
}

fn digest<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
    let body = Option::<String>::deserialize(d)?.unwrap_or_default();
    Ok(Digest::of(&body))
}

/// A 2xx answer: its body and, for a list, the next page's number.
struct Reply {
    next_page: Option<u64>,
    body: Vec<u8>,
}

/// A request that did not succeed: worth another try (after `after`, when the server said) or not.
enum Failure {
    Retry {
        after: Option<Duration>,
        error: NoteError,
    },
    Fatal(NoteError),
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Api {
    fn new(ctx: &Context, token: &Token, opts: &NoteOptions, iid: u64) -> Result<Api, NoteError> {
        let transport = |message: String| NoteError::Transport {
            action: "building the HTTP client".into(),
            url: ctx.api_url.clone(),
            message,
        };
        let mut value = HeaderValue::from_str(&token.0)
            .map_err(|_| transport("the token cannot be sent in a header".into()))?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("private-token", value);
        let client = Client::builder()
            .default_headers(headers)
            .user_agent(concat!("perfgate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| transport(error_chain(&e.without_url())))?;
        Ok(Api {
            client,
            url: ctx.api_url.clone(),
            notes: format!(
                "{}/projects/{}/merge_requests/{iid}/notes",
                ctx.api_url, ctx.project_id
            ),
            iid,
            deadline: Instant::now() + opts.max_total,
            budget: opts.max_total,
        })
    }

    fn upsert(&self, marker: &str, body: &str) -> Result<Posted, NoteError> {
        let me = self.whoami()?;
        let wanted = Digest::of(body);
        let mut attempt = 0;
        let (mut create_tried, mut update_tried) = (false, false);
        loop {
            let mut ours: Vec<Note> = self
                .list()?
                .into_iter()
                .filter(|n| {
                    !n.system
                        && n.author.as_ref().is_some_and(|a| a.id == me)
                        && n.body.first_line == marker
                })
                .collect();
            // Note ids grow with time, so the smallest is the oldest.
            ours.sort_by_key(|n| n.id);

            let outcome = match ours.split_first() {
                None => {
                    create_tried = true;
                    self.create(body)
                }
                Some((keep, stale)) => {
                    let posted = if keep.body == wanted {
                        // An earlier write of ours landed although its answer was lost.
                        Ok(if create_tried {
                            Posted::Created { id: keep.id }
                        } else if update_tried {
                            Posted::Updated { id: keep.id }
                        } else {
                            Posted::Unchanged { id: keep.id }
                        })
                    } else {
                        update_tried = true;
                        self.update(keep.id, body)
                    };
                    if posted.is_ok() {
                        for n in stale {
                            self.delete(n.id)?;
                        }
                    }
                    posted
                }
            };
            match outcome {
                Ok(posted) => return Ok(posted),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry { after, error }) => {
                    attempt += 1;
                    self.pause(after, attempt, error)?;
                }
            }
        }
    }

    /// The token's own user: only its notes are ever edited or deleted. A project or group
    /// access token is a bot user of its own, so notes by people are never touched.
    fn whoami(&self) -> Result<u64, NoteError> {
        let action = "reading the token's user (GET /user)";
        let reply = self.read(&format!("{}/user", self.url), action)?;
        decode::<User>(&reply, action).map(|u| u.id)
    }

    /// Every note of the merge request, oldest first, following `x-next-page` to the last page.
    fn list(&self) -> Result<Vec<Note>, NoteError> {
        let action = format!("listing the notes of merge request !{}", self.iid);
        let mut all = Vec::new();
        let mut page = 1;
        for _ in 0..MAX_PAGES {
            let uri = format!(
                "{}?sort=asc&order_by=created_at&per_page={PER_PAGE}&page={page}",
                self.notes
            );
            let reply = self.read(&uri, &action)?;
            all.extend(decode::<Vec<Note>>(&reply, &action)?);
            match reply.next_page {
                Some(next) if next > page => page = next,
                Some(next) => {
                    return Err(NoteError::Decode {
                        action,
                        message: format!("page {page} names page {next} as the next one"),
                    })
                }
                None => return Ok(all),
            }
        }
        Err(NoteError::Decode {
            action,
            message: format!("more than {MAX_PAGES} pages of notes"),
        })
    }

    /// A GET, retried with backoff until it succeeds, fails for good, or the budget runs out.
    fn read(&self, uri: &str, action: &str) -> Result<Reply, NoteError> {
        let mut attempt = 0;
        loop {
            match self.send(Method::Get, uri, None, action) {
                Ok(reply) => return Ok(reply),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry { after, error }) => {
                    attempt += 1;
                    self.pause(after, attempt, error)?;
                }
            }
        }
    }

    fn create(&self, body: &str) -> Result<Posted, Failure> {
        let action = format!("creating the note on merge request !{}", self.iid);
        let reply = self.send(Method::Post, &self.notes, Some(body), &action)?;
        Ok(Posted::Created {
            id: decode::<NoteId>(&reply, &action)
                .map_err(Failure::Fatal)?
                .id,
        })
    }

    fn update(&self, id: u64, body: &str) -> Result<Posted, Failure> {
        let action = format!("updating note {id}");
        let uri = format!("{}/{id}", self.notes);
        let reply = self.send(Method::Put, &uri, Some(body), &action)?;
        Ok(Posted::Updated {
            id: decode::<NoteId>(&reply, &action)
                .map_err(Failure::Fatal)?
                .id,
        })
    }

    /// Deletes a duplicate left by an earlier race; one already gone (404) is fine. DELETE is
    /// idempotent, so it is retried like a read.
    fn delete(&self, id: u64) -> Result<(), NoteError> {
        let action = format!("deleting duplicate note {id}");
        let uri = format!("{}/{id}", self.notes);
        let mut attempt = 0;
        loop {
            match self.send(Method::Delete, &uri, None, &action) {
                Ok(_) | Err(Failure::Fatal(NoteError::Refused { status: 404, .. })) => {
                    return Ok(())
                }
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry { after, error }) => {
                    attempt += 1;
                    self.pause(after, attempt, error)?;
                }
            }
        }
    }

    /// Waits before retry number `attempt` (what the server asked, else exponential backoff), or
    /// gives up with `error` when the wait would end past the deadline.
    fn pause(
        &self,
        after: Option<Duration>,
        attempt: u32,
        error: NoteError,
    ) -> Result<(), NoteError> {
        let wait = after.unwrap_or_else(|| backoff(attempt));
        if Instant::now() + wait > self.deadline {
            return Err(match error {
                NoteError::RateLimited {
                    action,
                    status,
                    message,
                    ..
                } => NoteError::RateLimited {
                    wait: format!(
                        "GitLab asked to wait {} s, past the {} s retry budget",
                        wait.as_secs(),
                        self.budget.as_secs()
                    ),
                    action,
                    status,
                    message,
                },
                other => other,
            });
        }
        std::thread::sleep(wait);
        Ok(())
    }

    fn deadline_error(&self, action: &str) -> NoteError {
        NoteError::Deadline {
            action: action.to_owned(),
            url: self.url.clone(),
            deadline: self.budget,
        }
    }

    /// One request, classified: 2xx is a [`Reply`]; 5xx, transport errors and 429 may be retried;
    /// anything else is final. The request, its body included, is cut off at the call's deadline.
    fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<&str>,
        action: &str,
    ) -> Result<Reply, Failure> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Fatal(self.deadline_error(action)));
        }
        let request = match method {
            Method::Get => self.client.get(uri),
            Method::Post => self.client.post(uri),
            Method::Put => self.client.put(uri),
            Method::Delete => self.client.delete(uri),
        };
        let request = match body {
            Some(b) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::json!({ "body": b }).to_string()),
            None => request,
        };
        let transport = |message: String| {
            if Instant::now() >= self.deadline {
                Failure::Fatal(self.deadline_error(action))
            } else {
                Failure::Retry {
                    after: None,
                    error: NoteError::Transport {
                        action: action.to_owned(),
                        url: self.url.clone(),
                        message,
                    },
                }
            }
        };
        let response = request
            .timeout(left)
            .send()
            .map_err(|e| transport(error_chain(&e.without_url())))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok());
        let reset = header("ratelimit-reset").and_then(|v| v.parse::<u64>().ok());
        // GitLab sends the header empty on the last page.
        let next_page = header("x-next-page").and_then(|v| v.parse::<u64>().ok());
        let text = read_body(response).map_err(|e| match e {
            Oversized => Failure::Fatal(NoteError::Decode {
                action: action.to_owned(),
                message: format!("the answer is longer than {} MiB", MAX_ANSWER_BYTES >> 20),
            }),
            Unreadable(message) => transport(message),
        })?;

        if (200..300).contains(&status) {
            return Ok(Reply {
                next_page,
                body: text,
            });
        }
        let message = error_message(&text, status);
        if status == 429 {
            let after = match (retry_after, reset) {
                (Some(s), _) => Duration::from_secs(s),
                (None, Some(reset)) => {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    Duration::from_secs(reset.saturating_sub(now).max(1))
                }
                (None, None) => RATE_LIMIT_DEFAULT_WAIT,
            };
            return Err(Failure::Retry {
                after: Some(after),
                error: NoteError::RateLimited {
                    action: action.to_owned(),
                    status,
                    message,
                    wait: "retried until the budget ran out".into(),
                },
            });
        }
        if status >= 500 {
            return Err(Failure::Retry {
                after: None,
                error: NoteError::Http {
                    action: action.to_owned(),
                    status,
                    message,
                },
            });
        }
        let hint = match status {
            401 => UNAUTHORIZED_HINT,
            403 => FORBIDDEN_HINT,
            404 => NOT_FOUND_HINT,
            _ => {
                return Err(Failure::Fatal(NoteError::Http {
                    action: action.to_owned(),
                    status,
                    message,
                }))
            }
        };
        Err(Failure::Fatal(NoteError::Refused {
            action: action.to_owned(),
            status,
            message,
            hint: hint.to_owned(),
        }))
    }
}

/// Why an answer's body could not be read.
enum BodyError {
    Oversized,
    Unreadable(String),
}
use BodyError::{Oversized, Unreadable};

/// The body of an answer, at most [`MAX_ANSWER_BYTES`].
fn read_body(response: Response) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::new();
    response
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Unreadable(error_chain(&e)))?;
    if bytes.len() as u64 > MAX_ANSWER_BYTES {
        return Err(Oversized);
    }
    Ok(bytes)
}

fn decode<T: serde::de::DeserializeOwned>(reply: &Reply, action: &str) -> Result<T, NoteError> {
    serde_json::from_slice(&reply.body).map_err(|e| NoteError::Decode {
        action: action.to_owned(),
        message: e.to_string(),
    })
}

/// GitLab's error text on one line: `{"message": "403 Forbidden"}`, `{"message": {"note":
/// ["is too long…"]}}`, `{"error": "insufficient_scope", "error_description": …}`, or the start
/// of whatever else the server (or a proxy) sent.
fn error_message(body: &[u8], status: u16) -> String {
    let text = String::from_utf8_lossy(body);
    let raw = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(o)) => {
            let field = |k: &str| match o.get(k) {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                    Some(v.to_string())
                }
                _ => None,
            };
            match (field("message"), field("error"), field("error_description")) {
                (Some(m), _, _) => m,
                (None, Some(e), Some(d)) => format!("{e}: {d}"),
                (None, Some(e), None) => e,
                _ => text.into_owned(),
            }
        }
        _ => text.into_owned(),
    };
    one_line(&raw, status)
}

/// Replaces the token wherever a server or library may have echoed it.
fn scrub_error(error: NoteError, token: &str) -> NoteError {
    let s = |text: String| scrub(&text, token);
    match error {
        NoteError::Refused {
            action,
            status,
            message,
            hint,
        } => NoteError::Refused {
            action: s(action),
            status,
            message: s(message),
            hint,
        },
        NoteError::RateLimited {
            action,
            status,
            message,
            wait,
        } => NoteError::RateLimited {
            action: s(action),
            status,
            message: s(message),
            wait,
        },
        NoteError::Http {
            action,
            status,
            message,
        } => NoteError::Http {
            action: s(action),
            status,
            message: s(message),
        },
        NoteError::Transport {
            action,
            url,
            message,
        } => NoteError::Transport {
            action: s(action),
            url: s(url),
            message: s(message),
        },
        NoteError::Decode { action, message } => NoteError::Decode {
            action: s(action),
            message: s(message),
        },
        NoteError::Deadline {
            action,
            url,
            deadline,
        } => NoteError::Deadline {
            action: s(action),
            url: s(url),
            deadline,
        },
        other @ (NoteError::NoToken | NoteError::NoMergeRequest | NoteError::BadGate(_)) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_error_bodies_are_read_in_each_shape() {
        let m = |s: &str| error_message(s.as_bytes(), 400);
        assert_eq!(m(r#"{"message":"403 Forbidden"}"#), "403 Forbidden");
        assert_eq!(
            m(r#"{"message":{"note":["is too long (maximum is 1000000 characters)"]}}"#),
            r#"{"note":["is too long (maximum is 1000000 characters)"]}"#
        );
        assert_eq!(
            m(r#"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api"}"#),
            "insufficient_scope: The request requires higher privileges than provided by the access token."
        );
        assert_eq!(
            m("<html>\n502 Bad Gateway</html>"),
            "<html> 502 Bad Gateway</html>"
        );
    }

    #[test]
    fn a_note_is_matched_by_its_first_line_and_compared_by_its_hash() {
        let a = Digest::of("<!-- perfgate:gate=prod -->\nbody");
        assert_eq!(a.first_line, "<!-- perfgate:gate=prod -->");
        assert!(a == Digest::of("<!-- perfgate:gate=prod -->\nbody"));
        assert!(a != Digest::of("<!-- perfgate:gate=prod -->\nbody!"));
        assert_eq!(Digest::of(&"x".repeat(300)).first_line, "");
    }
}
