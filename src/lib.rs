//! perfgate (being assembled).

pub mod budget;
pub mod derive;
pub mod ingest;
pub mod judge;
pub mod model;
