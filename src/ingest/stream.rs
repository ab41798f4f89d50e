//! Streamed inputs: the head of a file that detection looks at, reading a stream line by line or
//! ahead of its parser on a thread of its own, and showing progress. Which format a stream is,
//! and how its lines are read, is each streamed format's own (see `reader::Detect::stream`).
//!
//! The one rule: nothing here holds more than a fixed head of a stream or a block of lines in
//! flight, so a 5 GB stream costs the memory of a 5 MB one.

use std::io::{BufRead, IsTerminal, Read};
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How many (decompressed) bytes of a file stream detection looks at.
pub(crate) const HEAD_BYTES: u64 = 64 * 1024;

/// Reads the head of a stream for detection and gives back a reader that still yields every byte.
pub(crate) fn split_head(mut reader: super::Reader) -> Result<(Vec<u8>, impl BufRead + Send)> {
    let mut head = Vec::with_capacity(HEAD_BYTES as usize);
    reader
        .by_ref()
        .take(HEAD_BYTES)
        .read_to_end(&mut head)
        .context("cannot read (a truncated gzip file?)")?;
    let rest = std::io::Cursor::new(head.clone()).chain(reader);
    Ok((head, rest))
}

/// The head as text; `None` for binary data (a NUL byte, bytes that are not UTF-8), which no
/// format perfgate reads is.
pub(crate) fn head_text(head: &[u8]) -> Option<&str> {
    if head.contains(&0) {
        return None;
    }
    match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        // The head may end inside a multi-byte character; anything else is not text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    }
}

/// The longest line [`for_each_line`] takes: a bound on memory for a file with no newline in it,
/// and for the blocks in flight between its two threads (each holds whole lines). A k6 point is a
/// few hundred bytes.
/// Ends the error of a stream cut off mid-write: a run killed while writing is common in CI, and
/// the flag that reads such a file is not where a user would look.
pub(crate) const LENIENT_HINT: &str =
    "`--lenient` reads the file without its truncated end, naming the line it skipped";

pub(crate) const MAX_LINE: usize = 4 << 20;

/// How much of a stream is read at once.
const BLOCK: usize = 1 << 18;

/// Blocks read ahead of the parser.
const BLOCKS_AHEAD: usize = 4;

/// One line: its 1-based number, its bytes without the newline, and whether a newline ended it
/// (only the last line of a file may lack one).
pub(crate) struct Line<'a> {
    pub(crate) number: u64,
    pub(crate) bytes: &'a [u8],
    pub(crate) complete: bool,
}

/// Whole lines of a stream, and what the reading thread's scan made of each.
struct Batch<T> {
    bytes: Vec<u8>,
    /// Where each line ends (newline excluded) and its scan; a line starts after the one before.
    lines: Vec<(usize, T)>,
    /// The last line ends the stream without a newline.
    last_incomplete: bool,
}

/// Reads a stream on two threads and hands each line, in order, to `each`, until the end or
/// until `each` breaks or fails.
///
/// A thread of its own reads (and decompresses) the stream in blocks, cuts them into lines and
/// runs `scan` on each line — the part of parsing that needs none of `each`'s state — while this
/// thread runs `each`, the part that must see the lines in order. Lines are cut in place; only the part of a line that
/// crosses a block's end is copied. A line is at most [`MAX_LINE`] bytes, so a file without
/// newlines cannot take all memory.
pub(crate) fn for_each_line<T: Send>(
    reader: &mut (dyn BufRead + Send),
    scan: impl FnMut(&[u8]) -> T + Send,
    mut each: impl FnMut(Line, T) -> Result<ControlFlow<()>>,
) -> Result<()> {
    std::thread::scope(|scope| {
        let (full, received) = mpsc::sync_channel::<Result<Batch<T>, ReadError>>(BLOCKS_AHEAD);
        let (recycle, spare) = mpsc::channel::<Batch<T>>();
        scope.spawn(move || read_lines(reader, scan, &full, &spare));
        let mut line_no = 0u64;
        for batch in received.iter() {
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(ReadError::Io(e)) => {
                    return Err(e).with_context(|| format!("line {}: cannot read", line_no + 1))
                }
                Err(ReadError::TooLong) => bail!(
                    "line {} is longer than {} MiB: not a line of a result stream",
                    line_no + 1,
                    MAX_LINE >> 20
                ),
            };
            // A backstop behind each format's own limits, once per block.
            crate::memory::check().with_context(|| format!("line {}", line_no + 1))?;
            let count = batch.lines.len();
            let mut start = 0;
            for (i, (end, scanned)) in batch.lines.drain(..).enumerate() {
                line_no += 1;
                let line = Line {
                    number: line_no,
                    bytes: &batch.bytes[start..end],
                    complete: !(batch.last_incomplete && i + 1 == count),
                };
                if each(line, scanned)?.is_break() {
                    return Ok(());
                }
                start = end + 1;
            }
            // The reader may be done already; then the batch is simply dropped.
            let _ = recycle.send(batch);
        }
        Ok(())
    })
}

/// Why the reading thread stopped early.
enum ReadError {
    Io(std::io::Error),
    /// The next line is longer than [`MAX_LINE`].
    TooLong,
}

/// The reading thread of [`for_each_line`]: fills blocks (reusing those handed back), cuts them
/// at their last newline and scans their lines, until the end of the stream, an error, or the
/// other thread hanging up.
fn read_lines<T>(
    reader: &mut (dyn BufRead + Send),
    mut scan: impl FnMut(&[u8]) -> T,
    full: &mpsc::SyncSender<Result<Batch<T>, ReadError>>,
    spare: &mpsc::Receiver<Batch<T>>,
) {
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut batch = spare.try_recv().unwrap_or_else(|_| Batch {
            bytes: Vec::with_capacity(BLOCK),
            lines: Vec::new(),
            last_incomplete: false,
        });
        batch.lines.clear();
        let bytes = &mut batch.bytes;
        bytes.clear();
        bytes.append(&mut carry);
        // Read until a block holds a newline; everything before `searched` holds none.
        let mut searched = 0;
        let mut filled = bytes.len();
        bytes.resize(filled + BLOCK, 0);
        let mut failed = None;
        let (eof, cut) = loop {
            match reader.read(&mut bytes[filled..]) {
                Ok(0) => break (true, filled),
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // The whole lines read so far go first, so the error names the right line.
                    failed = Some(e);
                    let end = memchr::memrchr(b'\n', &bytes[searched..filled]);
                    break (true, end.map_or(0, |i| searched + i + 1));
                }
            }
            if filled < bytes.len() {
                continue;
            }
            if let Some(i) = memchr::memrchr(b'\n', &bytes[searched..]) {
                break (false, searched + i + 1);
            }
            if filled > MAX_LINE {
                let _ = full.send(Err(ReadError::TooLong));
                return;
            }
            searched = filled;
            bytes.resize(filled + BLOCK, 0);
        };
        bytes.truncate(filled);
        carry.extend_from_slice(&bytes[cut..]);
        bytes.truncate(cut);
        let mut start = 0;
        let mut too_long = false;
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            if end - start > MAX_LINE {
                too_long = true;
                break;
            }
            batch.lines.push((end, scan(&bytes[start..end])));
            start = end + 1;
        }
        batch.last_incomplete =
            eof && failed.is_none() && !too_long && bytes.last().is_some_and(|&b| b != b'\n');
        if !batch.lines.is_empty() && full.send(Ok(batch)).is_err() {
            return;
        }
        if too_long {
            let _ = full.send(Err(ReadError::TooLong));
            return;
        }
        if let Some(e) = failed {
            let _ = full.send(Err(ReadError::Io(e)));
            return;
        }
        if eof {
            return;
        }
    }
}

/// Runs `parse` on the stream while a thread of its own reads (and decompresses) the stream ahead
/// of it, in blocks: for formats parsed as a whole byte stream (JMeter's JTL, whose quoted fields
/// may span lines) rather than line by line. Memory: at most [`BLOCKS_AHEAD`] blocks in flight.
pub(crate) fn read_ahead<R>(
    reader: &mut (dyn BufRead + Send),
    parse: impl FnOnce(&mut dyn BufRead) -> R,
) -> R {
    std::thread::scope(|scope| {
        let (full, received) = mpsc::sync_channel::<std::io::Result<Vec<u8>>>(BLOCKS_AHEAD);
        let (recycle, spare) = mpsc::channel::<Vec<u8>>();
        scope.spawn(move || loop {
            let mut block = spare.try_recv().unwrap_or_default();
            block.resize(BLOCK, 0);
            let read = loop {
                match reader.read(&mut block) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    other => break other,
                }
            };
            let last = !matches!(read, Ok(n) if n > 0);
            let sent = read.map(|n| {
                block.truncate(n);
                block
            });
            if full.send(sent).is_err() || last {
                return;
            }
        });
        let mut ahead = ReadAhead {
            received,
            recycle,
            block: Vec::new(),
            at: 0,
            done: false,
        };
        // Dropping `ahead` (its receiver) stops the reading thread if `parse` ends early.
        parse(&mut ahead)
    })
}

/// The parsing side of [`read_ahead`]: the blocks the reading thread sends, as a `BufRead`.
struct ReadAhead {
    received: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    recycle: mpsc::Sender<Vec<u8>>,
    block: Vec<u8>,
    at: usize,
    done: bool,
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.at == self.block.len() && !self.done {
            match self.received.recv() {
                Ok(Ok(block)) if !block.is_empty() => {
                    // A backstop behind each format's own limits, once per block.
                    crate::memory::check().map_err(std::io::Error::other)?;
                    let used = std::mem::replace(&mut self.block, block);
                    // The reader may be done already; then the block is simply dropped.
                    let _ = self.recycle.send(used);
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The end of the stream, or a reading thread that is gone.
                Ok(Ok(_)) | Err(_) => self.done = true,
            }
        }
        Ok(&self.block[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.block.len());
    }
}

/// How long a read goes before its progress bar appears: shorter reads are over before a bar
/// would be worth the flicker.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// A raw file reader that shows, on stderr, how far through the file it is, once reading has
/// taken longer than [`PROGRESS_AFTER`], and only when stderr is a terminal: CI logs and pipes
/// never see it. It counts the file's own bytes, so a gzip stream's bar follows the compressed
/// file.
pub(crate) struct Progress<R> {
    inner: R,
    bar: ProgressBar,
    started: Instant,
    shown: bool,
    read: u64,
}

impl<R: Read> Progress<R> {
    pub(crate) fn new(inner: R, len: u64, path: &std::path::Path) -> Progress<R> {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_message(path.display().to_string());
        Progress {
            inner,
            bar,
            started: Instant::now(),
            shown: false,
            read: 0,
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if !self.shown && self.started.elapsed() >= PROGRESS_AFTER {
            self.shown = true;
            if std::io::stderr().is_terminal() {
                self.bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        }
        self.bar.set_position(self.read);
        Ok(n)
    }
}

impl<R> Drop for Progress<R> {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that gives at most `chunk` bytes per read, and fails after `fail_after` bytes.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
        fail_after: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.at >= self.fail_after {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.chunk).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn trickle(data: &[u8], chunk: usize) -> std::io::BufReader<Trickle> {
        std::io::BufReader::new(Trickle {
            data: data.to_vec(),
            at: 0,
            chunk,
            fail_after: usize::MAX,
        })
    }

    /// Every line `for_each_line` hands over, with its number and completeness, and the scan of
    /// the reading thread (here: the line's length).
    fn lines_of(reader: &mut (dyn BufRead + Send)) -> Result<Vec<(u64, Vec<u8>, bool)>> {
        let mut seen = Vec::new();
        for_each_line(reader, <[u8]>::len, |line, len| {
            assert_eq!(line.bytes.len(), len);
            seen.push((line.number, line.bytes.to_vec(), line.complete));
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(seen)
    }

    #[test]
    fn lines_cross_block_boundaries_whole_and_in_order() {
        // Lines from empty to several blocks long, so every way a line meets a block's end
        // happens, read whole and in reads of a few bytes.
        let mut text = Vec::new();
        let mut expected = Vec::new();
        for i in 0..400usize {
            let len = (i * 7919) % 9000 + if i % 97 == 0 { 3 * BLOCK } else { 0 };
            let line: Vec<u8> = (0..len).map(|j| b'a' + ((i + j) % 26) as u8).collect();
            text.extend_from_slice(&line);
            text.push(b'\n');
            expected.push((i as u64 + 1, line, true));
        }
        for chunk in [usize::MAX, 4093, 7] {
            let got = lines_of(&mut trickle(&text, chunk)).expect("lines");
            assert!(got == expected, "chunk {chunk}");
        }
        text.extend_from_slice(b"no newline");
        expected.push((401, b"no newline".to_vec(), false));
        assert!(lines_of(&mut trickle(&text, 65_536)).expect("lines") == expected);
        assert!(lines_of(&mut &b""[..]).expect("empty").is_empty());
        let crlf = lines_of(&mut &b"a\r\n\nb"[..]).expect("crlf");
        assert_eq!(crlf.len(), 3);
        assert_eq!(crlf[0].1, b"a\r");
    }

    #[test]
    fn a_line_without_end_and_a_failing_read_are_errors_naming_the_line() {
        let mut text = b"first\nsecond\n".to_vec();
        text.resize(text.len() + MAX_LINE + 10, b'x');
        let e = lines_of(&mut trickle(&text, usize::MAX)).map(|lines| lines.len());
        let e = format!("{:#}", e.expect_err("too long"));
        assert!(
            e.contains("line 3") && e.contains("longer than 4 MiB"),
            "{e}"
        );
        let mut failing = std::io::BufReader::new(Trickle {
            data: b"one\ntwo\nthree".to_vec(),
            at: 0,
            chunk: 3,
            fail_after: 6,
        });
        let e = lines_of(&mut failing).map(|lines| lines.len());
        let e = format!("{:#}", e.expect_err("read error"));
        assert!(
            e.contains("line 2: cannot read") && e.contains("disk on fire"),
            "{e}"
        );
    }

    #[test]
    fn breaking_off_stops_the_reading_thread() {
        // Far more lines than the blocks read ahead: the reader must stop once nobody listens.
        let text = "line\n".repeat(2_000_000);
        let mut seen = 0;
        for_each_line(
            &mut text.as_bytes(),
            |_| (),
            |line, ()| {
                seen += 1;
                Ok(if line.number == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            },
        )
        .expect("break");
        assert_eq!(seen, 3);
    }

    #[test]
    fn reading_ahead_yields_every_byte_and_passes_errors_on() {
        let data: Vec<u8> = (0..3 * BLOCK + 12_345)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        for chunk in [usize::MAX, 5000, 3] {
            let mut reader = trickle(&data, chunk);
            let got = read_ahead(&mut reader, |r| {
                let mut all = Vec::new();
                r.read_to_end(&mut all).map(|_| all)
            });
            assert!(got.expect("read") == data, "chunk {chunk}");
        }
        let mut failing = std::io::BufReader::new(Trickle {
            data: data.clone(),
            at: 0,
            chunk: 1000,
            fail_after: 5000,
        });
        let got = read_ahead(&mut failing, |r| {
            let mut all = Vec::new();
            r.read_to_end(&mut all).map(|_| all.len())
        });
        assert!(got.expect_err("fails").to_string().contains("disk on fire"));
        // A parser that stops early leaves the reading thread to stop too.
        let big = vec![b'x'; 40 * BLOCK];
        let first = read_ahead(&mut &big[..], |r| r.fill_buf().map(|b| b.len()));
        assert_eq!(first.expect("read"), BLOCK);
    }
}
