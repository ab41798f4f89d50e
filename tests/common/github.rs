//! A fake of the part of GitHub's REST API perfgate uses, over [`super::http`], for the tests
//! that drive the real octocrab client (tests/github.rs) and the binary (tests/github_cli.rs):
//! list issue comments with `per_page`/`page` and a `Link` header whose URLs, like GitHub's, point
//! at `/repositories/{id}/…`; create, update (PATCH, and POST, which GitHub also accepts) and
//! delete a comment; get a pull request (#PR is at [`HEAD`]). It checks `Authorization`, records
//! every request, and can be told to answer a request with a fault — before or after applying it.
//! Each test binary uses its own part of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::http::{self, next_fault, Answer};
pub use super::http::{Fault, Request};

pub const TOKEN: &str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
pub const OWNER: &str = "octo-org";
pub const REPO: &str = "hello-world";
pub const REPOSITORY: &str = "octo-org/hello-world";
pub const REPO_ID: u64 = 1_296_269;
pub const PR: u64 = 12;
/// The pull request's head, base and merge commits.
pub const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
pub const BASE: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
pub const MERGE: &str = "c4295bd74fb0f4fbb18f3e1e1f1d1b2c0b6f3c3d";
pub const BOT: &str = "github-actions[bot]";

#[derive(Clone, Debug)]
pub struct Comment {
    pub id: u64,
    pub login: String,
    pub body: String,
}

#[derive(Default)]
pub struct State {
    pub comments: Vec<Comment>,
    pub next_id: u64,
    pub requests: Vec<Request>,
    pub faults: Vec<Fault>,
}

pub struct Fake {
    pub base: String,
    pub state: Arc<Mutex<State>>,
}

impl Fake {
    pub fn start() -> Fake {
        let state = Arc::new(Mutex::new(State {
            next_id: 1001,
            ..State::default()
        }));
        let st = state.clone();
        let base = http::serve(move |base, r| respond(&st, base, r));
        Fake { base, state }
    }

    pub fn seed(&self, login: &str, body: &str) -> u64 {
        let mut s = self.state.lock().expect("state lock");
        let id = s.next_id;
        s.next_id += 1;
        s.comments.push(Comment {
            id,
            login: login.into(),
            body: body.into(),
        });
        id
    }

    pub fn fault(&self, fault: Fault) {
        self.state.lock().expect("state lock").faults.push(fault);
    }

    pub fn comments(&self) -> Vec<Comment> {
        self.state.lock().expect("state lock").comments.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().expect("state lock").requests.clone()
    }

    pub fn count(&self, method: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method)
            .count()
    }

    /// Every request but the reads.
    pub fn writes(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The server's side

fn comment_json(base: &str, c: &Comment) -> Value {
    json!({
        "id": c.id,
        "node_id": format!("IC_kwDO{}", c.id),
        "url": format!("{base}/repos/{OWNER}/{REPO}/issues/comments/{}", c.id),
        "html_url": format!("https://github.com/{OWNER}/{REPO}/pull/{PR}#issuecomment-{}", c.id),
        "issue_url": format!("{base}/repos/{OWNER}/{REPO}/issues/{PR}"),
        "body": c.body,
        "user": {"login": c.login, "id": 41898282,
                 "type": if c.login.ends_with("[bot]") { "Bot" } else { "User" }},
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        "author_association": "NONE"
    })
}

fn query(target: &str, key: &str) -> Option<usize> {
    let (_, q) = target.split_once('?')?;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

fn respond(state: &Mutex<State>, base: &str, r: &http::Incoming) -> Answer {
    let (method, target, body) = (r.method.as_str(), r.target.as_str(), r.body.as_str());
    let mut s = state.lock().expect("state lock");
    let auth = r.headers.get("authorization").cloned().unwrap_or_default();
    let authorized = auth == format!("Bearer {TOKEN}");
    s.requests.push(Request {
        method: method.into(),
        target: target.into(),
        authorized,
        headers: r.headers.clone(),
        body: body.into(),
    });
    if !authorized {
        let msg = json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"});
        return (401, vec![], msg.to_string());
    }
    match next_fault(&mut s.faults, r, &auth) {
        Some((answer, false)) => answer,
        Some((answer, true)) => {
            route(&mut s, base, method, target, body);
            answer
        }
        None => route(&mut s, base, method, target, body),
    }
}

fn not_found() -> Answer {
    let msg = json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"});
    (404, vec![], msg.to_string())
}

fn route(s: &mut State, base: &str, method: &str, target: &str, body: &str) -> Answer {
    let path = target.split('?').next().unwrap_or("");
    let list_paths = [
        format!("/repos/{OWNER}/{REPO}/issues/{PR}/comments"),
        format!("/repositories/{REPO_ID}/issues/{PR}/comments"),
    ];
    let by_id = format!("/repos/{OWNER}/{REPO}/issues/comments/");
    let new_body = || -> String {
        serde_json::from_str::<Value>(body).expect("request body JSON")["body"]
            .as_str()
            .expect("a `body` string")
            .to_owned()
    };
    // Pull request #PR is at HEAD; every other one at another commit.
    if let Some(n) = path
        .strip_prefix(&format!("/repos/{OWNER}/{REPO}/pulls/"))
        .and_then(|n| n.parse::<u64>().ok())
    {
        let sha = if n == PR {
            HEAD.to_string()
        } else {
            "f".repeat(40)
        };
        return (
            200,
            vec![],
            json!({"number": n, "head": {"sha": sha}}).to_string(),
        );
    }
    if method == "GET" && list_paths.iter().any(|p| p == path) {
        let per_page = query(target, "per_page").unwrap_or(30).clamp(1, 100);
        let page = query(target, "page").unwrap_or(1).max(1);
        let last = s.comments.len().div_ceil(per_page).max(1);
        let items: Vec<Value> = s
            .comments
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|c| comment_json(base, c))
            .collect();
        let link = |p: usize, rel: &str| {
            format!(
                "<{base}/repositories/{REPO_ID}/issues/{PR}/comments?per_page={per_page}&page={p}>; rel=\"{rel}\""
            )
        };
        let mut rels = Vec::new();
        if page > 1 {
            rels.push(link(page - 1, "prev"));
        }
        if page < last {
            rels.push(link(page + 1, "next"));
            rels.push(link(last, "last"));
        }
        if page > 1 {
            rels.push(link(1, "first"));
        }
        let headers = if rels.is_empty() {
            vec![]
        } else {
            vec![("link".to_owned(), rels.join(", "))]
        };
        return (200, headers, Value::Array(items).to_string());
    }
    if method == "POST" && path == list_paths[0] {
        let c = Comment {
            id: s.next_id,
            login: BOT.into(),
            body: new_body(),
        };
        s.next_id += 1;
        let json = comment_json(base, &c);
        s.comments.push(c);
        return (201, vec![], json.to_string());
    }
    if let Some(id) = path
        .strip_prefix(&by_id)
        .and_then(|id| id.parse::<u64>().ok())
    {
        let Some(at) = s.comments.iter().position(|c| c.id == id) else {
            return not_found();
        };
        // GitHub documents PATCH; like GitHub, the fake accepts POST for it too.
        if method == "PATCH" || method == "POST" {
            s.comments[at].body = new_body();
            return (200, vec![], comment_json(base, &s.comments[at]).to_string());
        }
        if method == "DELETE" {
            s.comments.remove(at);
            return (204, vec![], String::new());
        }
    }
    not_found()
}
