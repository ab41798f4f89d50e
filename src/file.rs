//! The files perfgate reads by name (reports, budgets, baselines, templates, verdicts) must be
//! regular files. A FIFO blocks `open` until a writer comes, and a character device such as
//! `/dev/zero` never ends: a symbolic link to one, committed in a pull request, would stall the CI
//! job or exhaust its memory. The one rule: look at what a path is before opening it.

use std::path::Path;

use anyhow::{bail, Result};

/// Refuses `path` when it names something other than a regular file (a symbolic link is followed),
/// saying what it is and that it is not a `what` ("report file", "baseline"…). A path that cannot
/// be looked at passes, for the caller's open to report as it always has.
pub(crate) fn refuse_special(path: &Path, what: &str) -> Result<()> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.is_file() {
        return Ok(());
    }
    bail!(
        "{}: is {}, not a {what}",
        path.display(),
        kind(&meta.file_type())
    );
}

/// What a path that is not a regular file is, for a message.
fn kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "something other than a regular file"
    }
}
