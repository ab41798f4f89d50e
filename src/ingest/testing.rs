//! Helpers for the readers' tests: their fixtures and their metrics.

use super::Parsed;
use crate::model::Measurement;

/// The text of `tests/fixtures/<tool>/<name>`.
pub(crate) fn fixture(tool: &str, name: &str) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(tool)
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A metric the test expects the reader to have made.
pub(crate) fn metric(p: &Parsed, name: &str) -> Measurement {
    *p.metrics
        .get(name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}
