//! Helpers shared by the integration tests.

pub mod dir;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod peak;
