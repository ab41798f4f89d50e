//! prometheus (being written).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;

use super::Parsed;

pub(crate) fn parse(_text: &str) -> Result<Parsed> {
    anyhow::bail!("prometheus is not read yet")
}

pub(crate) fn looks_like_exposition(_text: &str) -> bool {
    false
}

pub(crate) fn query_live(
    _url: &str,
    _queries: &BTreeMap<String, String>,
    _timeout: Duration,
) -> Result<Parsed> {
    anyhow::bail!("prometheus is not read yet")
}
