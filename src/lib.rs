//! perfgate (being assembled).

pub mod ingest;
pub mod model;
