//! The GitLab side of perfgate, laid out as [`crate::github`] is, one file per concern:
//!
//! - [`context`](Context): what perfgate knows of the CI job, from the predefined `CI_*`
//!   variables and the token variable the caller passes in;
//! - [`rest`](upsert_note): the sticky merge-request note over the REST API (v4), found by the
//!   template's [`marker`](crate::render::marker) and capped with
//!   [`fit_body`](crate::render::fit_body); retries, the deadline and the token's scrubbing live
//!   there.
//!
//! The one rule it keeps: this is the only module that talks to GitLab, with reqwest's blocking
//! client, and it never reads the environment itself — the caller passes the variables in, which
//! is how the tests point it at a local server. The token is kept private, never printed, and
//! scrubbed from every error text.

mod context;
mod rest;

pub use crate::rest::Posted;
pub use context::{Context, TOKEN_VARS};
pub use rest::{upsert_note, NoteError, NoteOptions, MAX_NOTE_CHARS, NOTE_LIMIT, NOTE_TRUNCATED};
