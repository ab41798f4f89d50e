//! webpack (being written).

use std::path::Path;

use anyhow::Result;

use super::Parsed;

pub(crate) fn parse(_path: &Path, _text: &str) -> Result<Parsed> {
    anyhow::bail!("webpack is not read yet")
}
