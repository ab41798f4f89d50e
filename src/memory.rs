//! perfgate's memory ceiling. Each reader bounds what it keeps (names, series, rows: README
//! "Limits"), but what a parser allocates for a file's shape cannot be bounded field by field: a
//! 16 MB JSON array of two million small objects takes 1.4 GiB as generic values. So the heap is
//! counted, and every parse of a report is fed through [`Bounded`], which stops it with
//! [`Exceeded`] once the heap passes [`CEILING`]: a clean refusal naming the file, where the
//! operating system would kill the job.

use std::alloc::System;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

use cap::Cap;

/// The heap perfgate allows itself, in bytes. With the binary, stacks and the allocator's slack,
/// the process stays under 256 MiB resident; a report read whole is at most
/// [`crate::ingest::MAX_WHOLE_BYTES`], which leaves 64 MiB for what is made of it.
pub const CEILING: usize = 192 << 20;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

/// The heap in use, in bytes.
pub fn allocated() -> usize {
    HEAP.allocated()
}

/// The heap has passed [`CEILING`].
#[derive(Debug, thiserror::Error)]
#[error(
    "it would take more than the {} MiB of memory perfgate allows itself (README: Limits)",
    CEILING >> 20
)]
pub struct Exceeded;

/// Whether [`check`] refuses past the ceiling: set by the binary ([`enforce`]).
static ENFORCED: AtomicBool = AtomicBool::new(false);

/// Holds this process to the ceiling. The binary does, as its process reads one run's reports;
/// a test binary's heap is every test's at once, which would trip the ceiling for the wrong one.
pub fn enforce() {
    ENFORCED.store(true, Ordering::Relaxed);
}

/// [`Exceeded`] once the heap has passed [`CEILING`], where the ceiling is enforced.
pub fn check() -> Result<(), Exceeded> {
    if ENFORCED.load(Ordering::Relaxed) && allocated() > CEILING {
        Err(Exceeded)
    } else {
        Ok(())
    }
}

/// A reader that checks the ceiling before each read: a parser fed by it (through a buffer, so
/// once per buffer's worth) stops within one buffer of passing it.
pub struct Bounded<R>(pub R);

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        check().map_err(std::io::Error::other)?;
        self.0.read(buf)
    }
}

/// The [`Exceeded`] an I/O error carries, if it is one [`Bounded`] raised.
pub fn exceeded(error: &std::io::Error) -> Option<&Exceeded> {
    error.get_ref()?.downcast_ref::<Exceeded>()
}
