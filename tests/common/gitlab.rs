//! A fake of the part of GitLab's REST API (v4) perfgate uses, over [`super::http`], for the tests
//! that drive the real client in `perfgate::gitlab` (tests/gitlab.rs) and the binary: `GET /user`,
//! and a merge request's notes — listed with `per_page`/`page` and GitLab's `x-next-page` header
//! (empty on the last page), created (POST), edited (PUT) and deleted. It checks `PRIVATE-TOKEN`,
//! records every request, and can be told to answer a request with a fault — before or after
//! applying it. The shapes follow GitLab's "Notes API" and "Pagination" documentation.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::http::{self, next_fault, Answer};
pub use super::http::{Fault, Request};

pub const TOKEN: &str = "glpat-Xk3v9QmT2pLr8sW1yZ4a";
pub const PROJECT_ID: u64 = 278_964;
pub const MR_IID: u64 = 12;
/// The token's own user: a project access token is a bot user of the project.
pub const BOT_ID: u64 = 9_876_543;
pub const BOT_USERNAME: &str = "project_278964_bot_4f2c1a";
/// A person taking part in the review.
pub const PERSON_ID: u64 = 1;

#[derive(Clone, Debug)]
pub struct Note {
    pub id: u64,
    pub author: u64,
    pub body: String,
    pub system: bool,
}

#[derive(Default)]
pub struct State {
    pub notes: Vec<Note>,
    pub next_id: u64,
    pub requests: Vec<Request>,
    pub faults: Vec<Fault>,
}

pub struct Fake {
    /// What CI_API_V4_URL names: `http://127.0.0.1:<port>/api/v4`.
    pub api: String,
    pub state: Arc<Mutex<State>>,
}

impl Fake {
    pub fn start() -> Fake {
        let state = Arc::new(Mutex::new(State {
            next_id: 300_001,
            ..State::default()
        }));
        let st = state.clone();
        let base = http::serve(move |_, r| respond(&st, r));
        Fake {
            api: format!("{base}/api/v4"),
            state,
        }
    }

    pub fn seed(&self, author: u64, body: &str) -> u64 {
        self.seed_note(author, body, false)
    }

    pub fn seed_note(&self, author: u64, body: &str, system: bool) -> u64 {
        let mut s = self.state.lock().expect("state lock");
        let id = s.next_id;
        s.next_id += 1;
        s.notes.push(Note {
            id,
            author,
            body: body.into(),
            system,
        });
        id
    }

    pub fn fault(&self, fault: Fault) {
        self.state.lock().expect("state lock").faults.push(fault);
    }

    pub fn notes(&self) -> Vec<Note> {
        self.state.lock().expect("state lock").notes.clone()
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
}

// ---------------------------------------------------------------------------------------------
// The server's side

fn user_json(id: u64) -> Value {
    let (username, bot) = if id == BOT_ID {
        (BOT_USERNAME.to_owned(), true)
    } else {
        (format!("user{id}"), false)
    };
    json!({"id": id, "username": username, "name": username, "state": "active",
           "locked": false, "bot": bot, "avatar_url": null,
           "web_url": format!("https://gitlab.example.com/{username}")})
}

fn note_json(n: &Note) -> Value {
    json!({
        "id": n.id,
        "type": null,
        "body": n.body,
        "author": user_json(n.author),
        "created_at": "2026-01-02T03:04:05.000Z",
        "updated_at": "2026-01-02T03:04:05.000Z",
        "system": n.system,
        "noteable_id": 133_700,
        "noteable_type": "MergeRequest",
        "project_id": PROJECT_ID,
        "resolvable": false,
        "confidential": false,
        "internal": false,
        "noteable_iid": MR_IID,
        "commands_changes": {}
    })
}

fn query(target: &str, key: &str) -> Option<usize> {
    let (_, q) = target.split_once('?')?;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

fn respond(state: &Mutex<State>, r: &http::Incoming) -> Answer {
    let mut s = state.lock().expect("state lock");
    let token = r.headers.get("private-token").cloned().unwrap_or_default();
    let authorized = token == TOKEN;
    s.requests.push(Request {
        method: r.method.clone(),
        target: r.target.clone(),
        authorized,
        headers: r.headers.clone(),
        body: r.body.clone(),
    });
    if !authorized {
        return (
            401,
            vec![],
            json!({"message": "401 Unauthorized"}).to_string(),
        );
    }
    match next_fault(&mut s.faults, r, &token) {
        Some((answer, false)) => answer,
        Some((answer, true)) => {
            route(&mut s, r);
            answer
        }
        None => route(&mut s, r),
    }
}

fn not_found(what: &str) -> Answer {
    (
        404,
        vec![],
        json!({"message": format!("404 {what} Not Found")}).to_string(),
    )
}

fn route(s: &mut State, r: &http::Incoming) -> Answer {
    let (method, target) = (r.method.as_str(), r.target.as_str());
    let path = target.split('?').next().unwrap_or("");
    let notes = format!("/api/v4/projects/{PROJECT_ID}/merge_requests/{MR_IID}/notes");
    let new_body = || -> Option<String> {
        serde_json::from_str::<Value>(&r.body).ok()?["body"]
            .as_str()
            .map(str::to_owned)
    };
    if method == "GET" && path == "/api/v4/user" {
        return (200, vec![], user_json(BOT_ID).to_string());
    }
    if method == "GET" && path == notes {
        let per_page = query(target, "per_page").unwrap_or(20).clamp(1, 100);
        let page = query(target, "page").unwrap_or(1).max(1);
        let total = s.notes.len();
        let pages = total.div_ceil(per_page).max(1);
        let items: Vec<Value> = s
            .notes
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(note_json)
            .collect();
        let next = if page < pages {
            (page + 1).to_string()
        } else {
            String::new()
        };
        let prev = if page > 1 {
            (page - 1).to_string()
        } else {
            String::new()
        };
        let headers = vec![
            ("x-next-page".to_owned(), next),
            ("x-page".to_owned(), page.to_string()),
            ("x-per-page".to_owned(), per_page.to_string()),
            ("x-prev-page".to_owned(), prev),
            ("x-total".to_owned(), total.to_string()),
            ("x-total-pages".to_owned(), pages.to_string()),
        ];
        return (200, headers, Value::Array(items).to_string());
    }
    if method == "POST" && path == notes {
        let Some(body) = new_body() else {
            return (400, vec![], json!({"error": "body is missing"}).to_string());
        };
        let n = Note {
            id: s.next_id,
            author: BOT_ID,
            body,
            system: false,
        };
        s.next_id += 1;
        let json = note_json(&n);
        s.notes.push(n);
        return (201, vec![], json.to_string());
    }
    if let Some(id) = path
        .strip_prefix(&format!("{notes}/"))
        .and_then(|id| id.parse::<u64>().ok())
    {
        let Some(at) = s.notes.iter().position(|n| n.id == id) else {
            return not_found("Note");
        };
        if s.notes[at].author != BOT_ID {
            return (403, vec![], json!({"message": "403 Forbidden"}).to_string());
        }
        if method == "PUT" {
            let Some(body) = new_body() else {
                return (400, vec![], json!({"error": "body is missing"}).to_string());
            };
            s.notes[at].body = body;
            return (200, vec![], note_json(&s.notes[at]).to_string());
        }
        if method == "DELETE" {
            s.notes.remove(at);
            return (204, vec![], String::new());
        }
    }
    not_found("Project")
}
