//! The interface every format's reader fills in: how its reports are recognised and how they are
//! read, whole or as a stream. Each format's file defines one [`Reader`] (`READER`); the registry
//! in `ingest/mod.rs` lists them, one line each.
//!
//! The one rule: a reader's detection looks only at what it is given (the pruned top of a JSON
//! document, the start of a text, the head of a stream) and claims only its own format, so that
//! the registry's order alone decides between two readers that both recognise a document.
//!
//! Dependency direction: `ingest/mod.rs` (registry, detection, loading) → each format's file →
//! `reader`, `stream`, `distribution`, `scan`, `bundle` (shared parts, which import no format).

use std::any::Any;
use std::io::BufRead;
use std::path::Path;

use anyhow::{anyhow, Result};
use serde_json::Value;

use super::{Parsed, Wanted};

/// What one detection rule makes of a document it recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniff {
    /// The reader's own format.
    Read,
    /// A shape of the reader's tool that perfgate does not read: what it is, and what to give
    /// instead ("a Lighthouse user-flow result (save each step's LHR)").
    Unsupported(&'static str),
}

/// How a format's reports are recognised from their content (never from their name); every rule
/// is optional (`dir` has none: a directory is read as a built folder). A rule answers `None` (or `false`) for a document it does not recognise.
#[derive(Clone, Copy)]
pub(crate) struct Detect {
    /// On the top of a JSON document: a few levels, arrays as their first element, long strings
    /// cut (see `Pruned` in `ingest/mod.rs`).
    pub(crate) json: fn(&Value) -> Option<Sniff>,
    /// On the first 4,096 characters of JSON that does not parse (truncated, hand-edited), from
    /// its keys, so that the error comes from this format's parser with a line and column.
    pub(crate) broken_json: fn(&str) -> bool,
    /// On a document that does not open JSON, from its start (a byte-order mark and leading
    /// white space removed).
    pub(crate) text: fn(&str) -> Option<Sniff>,
    /// On the first 64 KiB of a file read as a stream, as text (a byte-order mark and leading
    /// white space removed): `true` reads it line by line with [`Reader::stream`].
    pub(crate) stream: fn(&str) -> bool,
}

impl Detect {
    /// No rule: start from this and set the rules a format has.
    pub(crate) const NONE: Detect = Detect {
        json: |_| None,
        broken_json: |_| false,
        text: |_| None,
        stream: |_| false,
    };
}

/// How a report read whole is read.
#[derive(Clone, Copy)]
pub(crate) enum Whole {
    /// JSON, parsed from the file as it is read (see `from_json`); a file that does not open
    /// JSON is given too, for the parser to say where it breaks.
    Json(fn(&mut dyn BufRead) -> Result<Parsed>),
    /// JSON describing built files beside it (a bundler's stats): also given the report's path,
    /// to find them, and the wanted metrics, to skip compressing the others.
    Bundle(fn(&Path, &mut dyn BufRead, &Wanted) -> Result<Parsed>),
    /// Text, read whole into memory (up to `MAX_WHOLE_BYTES`).
    Text(fn(&str) -> Result<Parsed>),
    /// JSON or text, each with its own parser (Prometheus: a saved query answer, a `/metrics`
    /// page).
    JsonOrText(
        fn(&mut dyn BufRead) -> Result<Parsed>,
        fn(&str) -> Result<Parsed>,
    ),
    /// A directory of built files.
    Dir(fn(&Path, &Wanted) -> Result<Parsed>),
}

/// Reads a stream into a [`Shard`]. `lenient`: a truncated last line or row (a run killed
/// mid-write) is skipped and named in the detail instead of being an error.
pub(crate) type ReadStream = fn(&mut (dyn BufRead + Send), bool) -> Result<Box<dyn Shard>>;

/// One format's reader: its name, its detection and how it reads.
#[derive(Clone, Copy)]
pub(crate) struct Reader {
    /// The name used in budgets, `--format` and output.
    pub(crate) name: &'static str,
    pub(crate) detect: Detect,
    /// How a report read whole is read; `None` for a format only ever read as a stream.
    pub(crate) whole: Option<Whole>,
    /// How a stream is read, for a format whose samples are streamed (and so merge as shards).
    pub(crate) stream: Option<ReadStream>,
}

/// A stream read into the raw state its metrics come from (counts, sums, extremes, first and last
/// timestamps, histograms), which the shards of one run add up exactly before the metrics are
/// computed once.
pub(crate) trait Shard: Send + std::fmt::Debug {
    /// Names the file in the notes of skipped truncated lines, before shards are merged.
    fn locate(&mut self, file: &str);
    /// Adds another shard of the same run; an error when it is of another format.
    fn absorb(&mut self, other: Box<dyn Shard>) -> Result<()>;
    /// The metrics of the whole run.
    fn finish(self: Box<Self>) -> Result<Parsed>;
    /// For [`same_format`].
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// Another shard as this format's state, for [`Shard::absorb`].
pub(crate) fn same_format<T: 'static>(other: Box<dyn Shard>) -> Result<T> {
    other
        .into_any()
        .downcast::<T>()
        .map(|shard| *shard)
        .map_err(|_| anyhow!("shards of different formats do not merge"))
}

/// Whether the head of a broken JSON document names the key `key` (quoted).
pub(crate) fn names_key(head: &str, key: &str) -> bool {
    head.contains(&format!("\"{key}\""))
}

/// The first element of a JSON array, whose keys detection reads; `None` for anything else.
pub(crate) fn first_item(v: &Value) -> Option<&Value> {
    v.as_array()?.first()
}

#[cfg(test)]
mod tests {
    use super::super::Format;
    use super::Shard;

    fn read(format: Format, fixture: &str) -> Box<dyn Shard> {
        let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let mut input = std::io::BufReader::new(std::fs::File::open(path).expect("open"));
        let stream = format.reader().stream.expect("a streamed format");
        stream(&mut input, false).expect("read")
    }

    /// A shard takes another of its format only, whatever its caller checked before.
    #[test]
    fn shards_merge_within_one_format_only() {
        let mut k6 = read(Format::K6, "k6/shards/shard-1.ndjson");
        let jtl = read(Format::Jmeter, "jmeter/spec-default-columns.csv");
        let e = k6.absorb(jtl).expect_err("two formats");
        assert_eq!(e.to_string(), "shards of different formats do not merge");
        k6.absorb(read(Format::K6, "k6/shards/shard-2.ndjson"))
            .expect("one format");
        let count = |shard: Box<dyn Shard>| {
            shard.finish().expect("finish").metrics["http_reqs.count"].value
        };
        let one = count(read(Format::K6, "k6/shards/shard-1.ndjson"));
        let two = count(read(Format::K6, "k6/shards/shard-2.ndjson"));
        assert_eq!(count(k6), one + two);
        assert!(one > 0.0 && two > 0.0, "{one} {two}");
    }
}
