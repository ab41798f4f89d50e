//! The files perfgate reads by name (reports, budgets, baselines, templates, verdicts) must be
//! regular files. A FIFO blocks `open` until a writer comes, and a character device such as
//! `/dev/zero` never ends: a symbolic link to one, committed in a pull request, would stall the CI
//! job or exhaust its memory. The one rule: look at what was opened, not at what the path named a
//! moment before (a path swapped for a FIFO between a look and an `open` would block that `open`),
//! and read no file whole past a limit.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use anyhow::{anyhow, Context, Result};

/// Opens `path` for reading if it is a regular file (a symbolic link is followed). The outer
/// error refuses something else, naming the path, what it is and that it is not a `what`
/// ("report file", "baseline file"…); the inner one is the system's, for the caller to word as it
/// always has (or to take a missing file as "none yet").
///
/// On unix the file is opened with `O_NONBLOCK`, so that opening a FIFO returns at once instead
/// of waiting for a writer; the type is then read from the open file (`fstat`), so what is read is
/// what was looked at. `O_NONBLOCK` changes nothing for a regular file: its reads never block.
pub(crate) fn open_regular(path: &Path, what: &str) -> Result<std::io::Result<File>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) => {
            // Some special files cannot be opened at all (a socket: ENXIO); say what they are.
            if let Ok(meta) = std::fs::metadata(path) {
                if !meta.is_file() {
                    return Err(not_a(path, what, &meta));
                }
            }
            return Ok(Err(e));
        }
    };
    match file.metadata() {
        Ok(meta) if !meta.is_file() => Err(not_a(path, what, &meta)),
        Ok(_) => Ok(Ok(file)),
        Err(e) => Ok(Err(e)),
    }
}

/// Reads `file`, opened from `path`, whole as UTF-8 text, refusing it past `limit` bytes, the
/// most perfgate reads from a `what` ("budget", "template"…). `cannot_read` words a read error.
pub(crate) fn read_text(
    file: File,
    path: &Path,
    limit: u64,
    what: &str,
    cannot_read: impl Fn() -> String,
) -> Result<String> {
    let too_large = || {
        anyhow!(
            "{}: larger than the {limit} bytes perfgate reads from a {what}",
            path.display()
        )
    };
    // The size first, so a file far too large is refused before any of it is read; then a read
    // that stops one byte past the limit, as the file may have grown since.
    if file.metadata().with_context(&cannot_read)?.len() > limit {
        return Err(too_large());
    }
    let mut text = String::new();
    file.take(limit + 1)
        .read_to_string(&mut text)
        .with_context(&cannot_read)?;
    if text.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(text)
}

/// The refusal of a path that is not a regular file.
fn not_a(path: &Path, what: &str, meta: &std::fs::Metadata) -> anyhow::Error {
    anyhow!(
        "{}: is {}, not a {what}",
        path.display(),
        kind(&meta.file_type())
    )
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
