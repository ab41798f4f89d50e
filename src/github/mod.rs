//! The GitHub side of perfgate, one file per concern:
//!
//! - [`context`](Context): what perfgate knows of the Actions run, from the standard variables and
//!   the event payload the caller passes in;
//! - [`rest`](upsert_comment): the sticky pull-request comment over the REST API, found by the
//!   template's [`marker`](crate::render::marker) and capped with
//!   [`fit_body`](crate::render::fit_body) (both owned by [`crate::render`], the template's side);
//!   retries, the deadline and the token's scrubbing live there.
//!
//! The job summary and step outputs are files the Actions environment names, written by
//! `commands/publish.rs` (with [`crate::workflow`] for the outputs' and annotations' syntax).
//!
//! The seam for another CI provider (GitLab: `src/gitlab/`) is this layout, not a trait: a sibling
//! folder with the same three concerns — the run's context from its environment, the upsert of one
//! sticky note found by the same marker, and the job summary — each with a deadline, retries that
//! never duplicate a write, and the token kept out of every text. The commands pick the provider
//! from the environment.
//!
//! The one rule it keeps: this is the only module that talks to GitHub, so it is the only user of
//! octocrab and tokio (a current-thread runtime built per call; the API is synchronous), and it never
//! reads the environment itself — the caller passes the variables in, which is how the tests point it
//! at a local server. The token is kept private, never printed, and scrubbed from every error text.

mod context;
mod rest;

pub use context::Context;
pub use rest::{
    upsert_comment, CommentError, CommentOptions, Posted, COMMENT_LIMIT, MAX_COMMENT_CHARS,
};
