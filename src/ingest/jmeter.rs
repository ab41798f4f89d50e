//! JMeter JTL results (the CSV of JMeter 2.x–5.x with or without its header row, and the XML
//! variant), streamed record by record into one HDR histogram per label.
//!
//! The one rule: a sample is counted once. Transaction Controller parent rows (they repeat their
//! children's time) are reported under their own label but left out of the `all.` totals, as
//! JMeter's own HTML report leaves them out of its Total. They are told apart the way JMeter tells
//! them (`report.core.Sample.isController`): by the response message TransactionController writes,
//! never by an empty `dataType` and a `null` URL, which every sample without a response body or a
//! URL has (Java Request, TCP, JMS, JDBC samplers; any failed connection).
//!
//! Metrics, per label and as `all.` over every sample: `.p50 .p90 .p95 .p99 .mean .min .max` (ms,
//! from `elapsed`), `.count`, `.errors` (samples with `success` false), `.error_rate` (%) and
//! `.throughput` (samples/s between the first sample's start and the last one's end, as JMeter's
//! Aggregate Report computes it). At most [`MAX_LABELS`] labels are broken out (a label per URL
//! would be the user's cardinality); further labels count in the totals and the detail.
//! `timeStamp` must be epoch milliseconds (JMeter's default, not a `timestamp_format` pattern).
//! A row whose `elapsed`, `success` or `timeStamp` cannot be read leaves out its label's metrics
//! and `all.` (which counts it), each dropped with the line (see [`Parsed::dropped`]); the rest of
//! the file is still read. A row of the wrong shape (fields missing, or too many) refuses the file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use anyhow::{bail, Context, Result};

use super::distribution::{Distribution, FastMap};
use super::reader::{same_format, Detect, Reader, Shard};
use super::stream::MAX_LINE;
use super::{Parsed, MAX_NAME_BYTES};
use crate::model::{Measurement, Metrics, Unit};

/// A JMeter JTL (CSV or XML), always read as a stream.
pub(crate) const READER: Reader = Reader {
    name: "jmeter",
    detect: Detect {
        stream: looks_like_jtl,
        ..Detect::NONE
    },
    whole: None,
    stream: Some(|reader, lenient| Ok(Box::new(read_stream(reader, lenient)?))),
};

/// The most labels one file breaks out.
const MAX_LABELS: usize = 256;

/// JMeter 5.x's default CSV columns, in order (`jmeter.properties`, `jmeter.save.saveservice.*`):
/// the column order of a file written without its header row.
const DEFAULT_COLUMNS: [&str; 17] = [
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "threadName",
    "dataType",
    "success",
    "failureMessage",
    "bytes",
    "sentBytes",
    "grpThreads",
    "allThreads",
    "URL",
    "Latency",
    "IdleTime",
    "Connect",
];

/// What JMeter writes as a Transaction Controller parent's response message (TransactionController.java).
const TRANSACTION_MESSAGE: &str = "Number of samples in transaction";

/// A `success` value (CSV column or XML attribute `s`): `true` or `false` in any case, as JMeter
/// reads them back (`Boolean.parseBoolean`); `None` for anything else.
fn parse_success(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Whether the head of a file is a JTL: XML `<testResults`, a CSV header naming `timeStamp`,
/// `elapsed` and `label`, or a header-less row in JMeter's default column order.
fn looks_like_jtl(head: &str) -> bool {
    if head.starts_with('<') {
        return (head.starts_with("<?xml") || head.starts_with("<testResults"))
            && head.contains("<testResults");
    }
    let first = head.lines().next().unwrap_or("");
    [b',', b'\t', b';'].iter().any(|&d| {
        let mut fields = Vec::new();
        split_record(first.as_bytes(), d, &mut fields);
        let text = |i: usize| fields.get(i).map(|f: &Field| &first[f.start..f.end]);
        let names: Vec<&str> = (0..fields.len()).filter_map(text).collect();
        let header = ["timeStamp", "elapsed", "label"]
            .iter()
            .all(|c| names.contains(c));
        header || is_headerless_row(&names)
    })
}

/// A row in JMeter's default column order: epoch-ms first, `success` eighth.
fn is_headerless_row(fields: &[&str]) -> bool {
    fields.len() >= 10
        && fields[0].len() >= 10
        && fields[0].bytes().all(|b| b.is_ascii_digit())
        && fields[1].bytes().all(|b| b.is_ascii_digit())
        && matches!(fields[7], "true" | "false")
}

/// Reads a JTL into its [`Totals`], for [`parse_stream`] or to merge shards.
pub(crate) fn read_stream(reader: &mut (dyn BufRead + Send), lenient: bool) -> Result<Totals> {
    super::stream::read_ahead(reader, |reader| parse_read_ahead(reader, lenient))
}

fn parse_read_ahead(reader: &mut dyn BufRead, lenient: bool) -> Result<Totals> {
    let starts_xml = loop {
        let buf = reader.fill_buf().context("cannot read")?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let xml = buf[i] == b'<';
                break xml;
            }
            None if buf.is_empty() => bail!("the file is empty"),
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    let mut totals = Totals {
        lenient,
        ..Totals::default()
    };
    if starts_xml {
        read_xml(reader, &mut totals)?;
    } else {
        read_csv(reader, &mut totals)?;
    }
    Ok(totals)
}

// ---------------------------------------------------------------------------------------------
// Aggregation

#[derive(Debug)]
struct Series {
    elapsed: Distribution,
    errors: u64,
    first_start: i64,
    last_end: i64,
}

impl Series {
    fn new() -> Series {
        Series {
            elapsed: Distribution::new(),
            errors: 0,
            first_start: i64::MAX,
            last_end: i64::MIN,
        }
    }

    fn add(&mut self, s: &Sample) -> std::result::Result<(), String> {
        self.elapsed.record(s.elapsed as f64)?;
        self.errors += u64::from(!s.success);
        if let Some(ts) = s.timestamp {
            self.first_start = self.first_start.min(ts);
            self.last_end = self.last_end.max(ts.saturating_add(s.elapsed));
        }
        Ok(())
    }

    /// Adds the samples of the same label from another shard of the run.
    fn merge(&mut self, other: &Series) -> std::result::Result<(), String> {
        self.elapsed.merge(&other.elapsed)?;
        self.errors += other.errors;
        self.first_start = self.first_start.min(other.first_start);
        self.last_end = self.last_end.max(other.last_end);
        Ok(())
    }

    fn emit(&self, prefix: &str, out: &mut Metrics) {
        let n = self.elapsed.count();
        if n == 0 {
            return;
        }
        self.elapsed.emit(prefix, "mean", Unit::Ms, out);
        out.insert(
            format!("{prefix}.errors"),
            Measurement::count(self.errors as f64),
        );
        out.insert(
            format!("{prefix}.error_rate"),
            Measurement::new(self.errors as f64 / n as f64 * 100.0, Unit::Percent),
        );
        if self.last_end > self.first_start {
            let seconds = (self.last_end - self.first_start) as f64 / 1000.0;
            out.insert(
                format!("{prefix}.throughput"),
                Measurement::new(n as f64 / seconds, Unit::PerSecond),
            );
        }
    }
}

struct Sample<'a> {
    label: Cow<'a, str>,
    elapsed: i64,
    success: bool,
    timestamp: Option<i64>,
    transaction: bool,
}

/// A JTL read into the raw state its metrics come from: per label (and in all) the elapsed times'
/// histogram, the error count and the first start and last end. Shards of one run (several
/// JMeter engines) add up exactly ([`Totals::merge`]); [`Totals::finish`] makes the metrics.
#[derive(Default, Debug)]
pub(crate) struct Totals {
    all: Option<Series>,
    labels: FastMap<Series>,
    not_broken_out: u64,
    transactions: u64,
    shape: &'static str,
    /// A CSV without the `responseMessage` column: Transaction Controller rows cannot be told.
    no_message_column: bool,
    lenient: bool,
    /// The line of a truncated last row skipped in lenient mode.
    truncated: Option<u64>,
    /// Where truncated last rows were skipped once named ([`Totals::locate`]) or merged.
    truncated_in: Vec<String>,
    /// Labels left out for a row whose value cannot be read (at most [`MAX_LABELS`] with
    /// `labels`), and why; and the row that leaves out `all.`, which counts every label's rows.
    broken: BTreeMap<String, Broken>,
    all_broken: Option<Box<Broken>>,
}

/// A row whose value cannot be read (a negative `elapsed`), which leaves out its label and the
/// totals rather than the whole file: a series short of a row would pass for the whole.
#[derive(Debug, Clone)]
struct Broken {
    /// `line 12`, and `of <file>` once the shard is located.
    at: String,
    why: String,
    label: String,
}

/// The statistics [`Series::emit`] makes.
const STATS: [&str; 11] = [
    "p50",
    "p90",
    "p95",
    "p99",
    "mean",
    "min",
    "max",
    "count",
    "errors",
    "error_rate",
    "throughput",
];

impl Totals {
    /// Counts a sample read at `line`; `elapsed` names its field, for messages.
    fn add(&mut self, s: &Sample, line: u64, elapsed: &str) {
        let lose = |totals: &mut Totals, e: String| {
            totals.lose(&s.label, s.transaction, line, format!("{elapsed}: {e}"));
        };
        if s.transaction {
            self.transactions += 1;
        } else if self.all_broken.is_none() {
            if let Err(e) = self.all.get_or_insert_with(Series::new).add(s) {
                return lose(self, e);
            }
        }
        if self.broken.contains_key(s.label.as_ref()) {
            return;
        }
        let added = if let Some(series) = self.labels.get_mut(s.label.as_ref()) {
            series.add(s)
        } else if self.labels.len() + self.broken.len() < MAX_LABELS {
            let mut series = Series::new();
            let added = series.add(s);
            self.labels.insert(s.label.to_string(), series);
            added
        } else {
            self.not_broken_out += 1;
            Ok(())
        };
        if let Err(e) = added {
            lose(self, e);
        }
    }

    /// Leaves out the label of a row whose value cannot be read, and `all.` if it counts the row.
    fn lose(&mut self, label: &str, transaction: bool, line: u64, why: String) {
        let broken = Broken {
            at: format!("line {line}"),
            why,
            label: label.to_string(),
        };
        if !transaction {
            self.all_broken
                .get_or_insert_with(|| Box::new(broken.clone()));
        }
        if self.broken.contains_key(label) {
            return;
        }
        if self.labels.remove(label).is_some() || self.labels.len() + self.broken.len() < MAX_LABELS
        {
            self.broken.insert(label.to_string(), broken);
        } else {
            self.not_broken_out += 1;
        }
    }

    /// Names the file in the note of a truncated last row, before shards are merged.
    pub(crate) fn locate(&mut self, file: &str) {
        if let Some(line) = self.truncated.take() {
            self.truncated_in.push(format!("{line} of {file}"));
        }
        for broken in (self.broken.values_mut()).chain(self.all_broken.as_deref_mut()) {
            broken.at = format!("{} of {file}", broken.at);
        }
    }

    /// Adds another shard of the same run. A label is kept only where every shard that reached
    /// [`MAX_LABELS`] (and so may have left samples of it out) has it; the others, and any beyond
    /// the cap (by name), count in `all.` only, so no label is ever short of samples.
    pub(crate) fn merge(&mut self, mut other: Totals) -> Result<()> {
        if let Some(line) = self.truncated.take() {
            self.truncated_in.push(line.to_string());
        }
        match (&mut self.all, other.all) {
            (Some(a), Some(b)) => a.merge(&b).map_err(|e| anyhow::anyhow!("all: {e}"))?,
            (a, b) => *a = a.take().or(b),
        }
        let (self_capped, other_capped) = (self.not_broken_out > 0, other.not_broken_out > 0);
        let mut left_out = other.not_broken_out;
        let mut labels: BTreeMap<String, Series> = BTreeMap::new();
        for (label, mut series) in self.labels.drain() {
            match other.labels.remove(&label) {
                Some(theirs) => {
                    series
                        .merge(&theirs)
                        .map_err(|e| anyhow::anyhow!("label `{label}`: {e}"))?;
                    labels.insert(label, series);
                }
                None if other_capped => left_out += series.elapsed.count(),
                None => {
                    labels.insert(label, series);
                }
            }
        }
        for (label, series) in other.labels {
            if self_capped {
                left_out += series.elapsed.count();
            } else {
                labels.insert(label, series);
            }
        }
        while labels.len() > MAX_LABELS {
            if let Some((_, series)) = labels.pop_last() {
                left_out += series.elapsed.count();
            }
        }
        for (label, broken) in other.broken {
            self.broken.entry(label).or_insert(broken);
        }
        labels.retain(|label, _| !self.broken.contains_key(label));
        self.all_broken = self.all_broken.take().or(other.all_broken);
        self.labels = labels.into_iter().collect();
        self.not_broken_out += left_out;
        self.transactions += other.transactions;
        if self.shape != other.shape {
            self.shape = "CSV and XML";
        }
        self.truncated_in
            .extend(other.truncated.map(|line| line.to_string()));
        self.truncated_in.extend(other.truncated_in);
        Ok(())
    }

    /// The metrics, computed once from the (merged) state.
    pub(crate) fn finish(mut self) -> Result<Parsed> {
        let all = self.all.take();
        if all.is_none() && self.all_broken.is_none() {
            return Err(self.why_no_sample());
        }
        let mut metrics = Metrics::new();
        let mut distributions = BTreeMap::new();
        let mut dropped = BTreeMap::new();
        let mut drop_all = |prefix: &str, b: &Broken, whose: &str| {
            for stat in STATS {
                dropped.insert(
                    format!("{prefix}.{stat}"),
                    format!("{}: {} ({whose})", b.at, b.why),
                );
            }
        };
        for (label, b) in &self.broken {
            drop_all(label, b, "its label's other rows are not read either");
        }
        for (label, series) in self.labels.drain() {
            series.emit(&label, &mut metrics);
            distributions.insert(label, series.elapsed.into_histogram());
        }
        // After the labels: a label named `all` must not shadow the totals.
        match (&self.all_broken, all) {
            (Some(b), _) => drop_all(
                "all",
                b,
                &format!("a row of label `{}`, which `all.` counts", b.label),
            ),
            (None, Some(all)) => {
                all.emit("all", &mut metrics);
                distributions.insert("all".to_string(), all.elapsed.into_histogram());
            }
            (None, None) => {}
        }
        let mut detail = format!("JMeter JTL {}", self.shape);
        if self.transactions > 0 {
            detail += &format!(
                "; {} Transaction Controller samples left out of `all.`",
                self.transactions
            );
        }
        if self.no_message_column {
            detail += "; no `responseMessage` column: Transaction Controller rows, if any, count in `all.`";
        }
        let truncated: Vec<String> = (self.truncated.iter().map(u64::to_string))
            .chain(self.truncated_in)
            .collect();
        if !truncated.is_empty() {
            detail += &format!(
                "; truncated last row at line {} skipped",
                truncated.join(", ")
            );
        }
        if self.not_broken_out > 0 {
            detail += &format!(
                "; {} samples of labels beyond the first {MAX_LABELS} only in `all.`",
                self.not_broken_out
            );
        }
        Ok(Parsed {
            detail: Some(detail),
            metrics,
            distributions,
            dropped,
            ..Parsed::default()
        })
    }

    /// The error for a file without a sample to count, saying why it has none.
    fn why_no_sample(&self) -> anyhow::Error {
        let truncated = match self.truncated {
            Some(line) => format!(" (the truncated last row at line {line} was skipped)"),
            None => String::new(),
        };
        if self.transactions > 0 {
            // With "Generate parent sample", JMeter hands a parent's children to no listener that
            // receives the parent (JMeterThread), so a CSV holds the parent rows alone.
            return anyhow::anyhow!(
                "no sample to count: all {} samples are Transaction Controller parents (response \
                 message \"{TRANSACTION_MESSAGE} : …\"), which `all.` leaves out because they \
                 repeat their children's time, and the file has no child sample{truncated}; a \
                 Transaction Controller with \"Generate parent sample\" writes its children only \
                 inside the parent, in an XML JTL (jmeter.save.saveservice.output_format=xml)",
                self.transactions
            );
        }
        if self.shape == "XML" {
            anyhow::anyhow!("no sample in the file: `<testResults>` holds no `<httpSample>` or `<sample>`{truncated}")
        } else {
            anyhow::anyhow!("no sample in the file: no row below the header{truncated}")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

#[derive(Debug, Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
    /// Quoted with `""` inside: the text needs unescaping.
    escaped: bool,
}

/// Splits one RFC 4180 record into fields; `false` when a quoted field is still open at the end
/// (the record goes on on the next line).
fn split_record(rec: &[u8], delim: u8, fields: &mut Vec<Field>) -> bool {
    fields.clear();
    split_from(rec, delim, fields, 0, None).is_none()
}

/// A quoted field still open at the end of the record read so far.
#[derive(Debug, Clone, Copy)]
struct OpenQuote {
    /// Where its text starts, after the quote.
    start: usize,
    /// How far it has been scanned: the record's length then.
    scanned: usize,
    escaped: bool,
}

/// Splits `rec` into `fields` from the field starting at `i`, or on from `open` (the field left
/// open by the call on the record's lines before, with the fields before it in `fields`): a field
/// spanning many lines is scanned once, not once per line. Returns the field still open.
fn split_from(
    rec: &[u8],
    delim: u8,
    fields: &mut Vec<Field>,
    mut i: usize,
    mut open: Option<OpenQuote>,
) -> Option<OpenQuote> {
    loop {
        let quoted = open.take().or_else(|| {
            (rec.get(i) == Some(&b'"')).then_some(OpenQuote {
                start: i + 1,
                scanned: i + 1,
                escaped: false,
            })
        });
        if let Some(OpenQuote {
            start,
            scanned,
            mut escaped,
        }) = quoted
        {
            let mut j = scanned;
            loop {
                match rec.get(j) {
                    None => {
                        return Some(OpenQuote {
                            start,
                            scanned: j,
                            escaped,
                        })
                    }
                    Some(b'"') if rec.get(j + 1) == Some(&b'"') => {
                        escaped = true;
                        j += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            fields.push(Field {
                start,
                end: j,
                escaped,
            });
            // Anything between the closing quote and the delimiter is not RFC 4180; skip it.
            i = match rec[j..].iter().position(|&b| b == delim) {
                Some(k) => j + k + 1,
                None => return None,
            };
        } else {
            let end = rec[i..]
                .iter()
                .position(|&b| b == delim)
                .map_or(rec.len(), |k| i + k);
            fields.push(Field {
                start: i,
                end,
                escaped: false,
            });
            if end == rec.len() {
                return None;
            }
            i = end + 1;
        }
    }
}

struct Columns {
    timestamp: Option<usize>,
    elapsed: usize,
    label: usize,
    success: usize,
    message: Option<usize>,
    count: usize,
}

impl Columns {
    fn find(names: &[&str]) -> Result<Columns> {
        let at = |name: &str| names.iter().position(|n| n.trim() == name);
        let need = |name: &str| {
            at(name).with_context(|| {
                format!(
                    "column `{name}` is missing from the header (it has: {})",
                    names.join(", ")
                )
            })
        };
        Ok(Columns {
            timestamp: at("timeStamp"),
            elapsed: need("elapsed")?,
            label: need("label")?,
            success: need("success")?,
            message: at("responseMessage"),
            count: names.len(),
        })
    }
}

fn read_csv(reader: &mut dyn BufRead, totals: &mut Totals) -> Result<()> {
    let mut rec: Vec<u8> = Vec::with_capacity(1024);
    let mut fields = Vec::with_capacity(32);
    let mut line_no = 0u64;
    let mut columns: Option<(u8, Columns)> = None;
    loop {
        rec.clear();
        let start_line = line_no + 1;
        // Whether `fields` already holds this record, split with the file's own delimiter.
        let mut split = false;
        let mut open = None;
        // One record, across the lines a quoted field spans.
        loop {
            // Read at most one byte past the cap: a huge field is refused, never held.
            let n = (&mut *reader)
                .take((MAX_LINE + 1 - rec.len()) as u64)
                .read_until(b'\n', &mut rec)
                .with_context(|| format!("line {}: cannot read", line_no + 1))?;
            if n == 0 {
                break;
            }
            if rec.len() > MAX_LINE {
                bail!(
                    "line {start_line}: a record longer than {} MiB (a label or message of that \
                     size, or a quote left open?): not a JTL row",
                    MAX_LINE >> 20
                );
            }
            line_no += 1;
            if rec.last() != Some(&b'\n') {
                break;
            }
            let delim = columns.as_ref().map_or(b',', |(d, _)| *d);
            if open.is_none() {
                fields.clear();
            }
            open = split_from(trim_newline(&rec), delim, &mut fields, 0, open);
            if open.is_none() {
                split = columns.is_some();
                break;
            }
        }
        if rec.is_empty() {
            return Ok(());
        }
        let body = trim_newline(&rec);
        if body.is_empty() {
            continue;
        }
        let at_eof = reader.fill_buf().map(<[u8]>::is_empty).unwrap_or(true);
        // A byte-order mark (a JTL re-saved by an editor) is not part of the first column's name.
        let body = match columns {
            None => body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body),
            Some(_) => body,
        };
        let text = std::str::from_utf8(body)
            .with_context(|| format!("line {start_line}: not UTF-8 text"))?;
        if columns.is_none() {
            let (delim, cols, is_header) =
                first_record(text).with_context(|| format!("line {start_line}"))?;
            totals.shape = if is_header {
                "CSV"
            } else {
                "CSV (no header row)"
            };
            totals.no_message_column = cols.message.is_none();
            columns = Some((delim, cols));
            if is_header {
                continue;
            }
        }
        let Some((delim, cols)) = &columns else {
            continue;
        };
        if !split && !split_record(body, *delim, &mut fields) {
            if totals.lenient {
                totals.truncated = Some(start_line);
                return Ok(());
            }
            bail!(
                "line {start_line}: the file ends inside a quoted field (truncated? was JMeter stopped while writing?); {}",
                super::stream::LENIENT_HINT
            );
        }
        csv_sample(text, &fields, cols, start_line, at_eof, totals)?;
    }
}

/// Refuses a label longer than [`MAX_NAME_BYTES`]: it would be copied into every statistic's
/// name.
fn check_label(label: &str, line: u64, field: &str) -> Result<()> {
    if label.len() > MAX_NAME_BYTES {
        bail!(
            "line {line}: {field}: a label of {} bytes, longer than the {MAX_NAME_BYTES} bytes \
             perfgate takes",
            label.len()
        );
    }
    Ok(())
}

fn trim_newline(rec: &[u8]) -> &[u8] {
    let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
    rec.strip_suffix(b"\r").unwrap_or(rec)
}

/// The delimiter and columns the first record shows, and whether it is a header.
fn first_record(text: &str) -> Result<(u8, Columns, bool)> {
    let mut fields = Vec::new();
    for delim in [b',', b'\t', b';'] {
        split_record(text.as_bytes(), delim, &mut fields);
        let names: Vec<&str> = fields.iter().map(|f| &text[f.start..f.end]).collect();
        if names.len() > 1 && names.contains(&"elapsed") {
            return Ok((delim, Columns::find(&names)?, true));
        }
        if is_headerless_row(&names) {
            let n = names.len().min(DEFAULT_COLUMNS.len());
            let mut cols = Columns::find(&DEFAULT_COLUMNS[..n])?;
            cols.count = names.len();
            return Ok((delim, cols, false));
        }
    }
    bail!("neither a JTL header row (timeStamp, elapsed, label, …) nor a row in JMeter's default column order")
}

fn csv_sample(
    text: &str,
    fields: &[Field],
    cols: &Columns,
    line: u64,
    at_eof: bool,
    totals: &mut Totals,
) -> Result<()> {
    if fields.len() < cols.count {
        if at_eof && totals.lenient {
            totals.truncated = Some(line);
            return Ok(());
        }
        if at_eof {
            bail!(
                "line {line}: the last row is truncated ({} of {} fields; was JMeter stopped while writing?); {}",
                fields.len(),
                cols.count,
                super::stream::LENIENT_HINT
            );
        }
        bail!(
            "line {line}: {} fields where the header has {}",
            fields.len(),
            cols.count
        );
    }
    // More fields than columns: a field holding the delimiter unquoted, or rows of another run
    // appended with other columns; which value is which column cannot be told.
    if fields.len() > cols.count {
        bail!(
            "line {line}: {} fields where the {} has {} (a value holding the delimiter \
             unquoted, or rows appended by a run saving other columns?)",
            fields.len(),
            if totals.shape == "CSV" {
                "header"
            } else {
                "first row"
            },
            cols.count
        );
    }
    let raw = |i: usize| &text[fields[i].start..fields[i].end];
    let value = |i: usize| -> Cow<str> {
        if fields[i].escaped {
            Cow::Owned(raw(i).replace("\"\"", "\""))
        } else {
            Cow::Borrowed(raw(i))
        }
    };
    let int = |i: usize, name: &str| -> Result<i64> {
        let s = raw(i).trim();
        s.parse::<i64>().ok().filter(|v| *v >= 0).with_context(|| {
            format!("column `{name}`: `{s}` is not a non-negative whole number of milliseconds")
        })
    };
    let transaction = cols
        .message
        .is_some_and(|i| raw(i).starts_with(TRANSACTION_MESSAGE));
    let label = value(cols.label);
    let values = (|| -> Result<(i64, bool, Option<i64>)> {
        let Some(success) = parse_success(raw(cols.success)) else {
            bail!(
                "column `success`: `{}` is neither true nor false",
                raw(cols.success).trim()
            );
        };
        let timestamp = cols.timestamp.map(|i| int(i, "timeStamp")).transpose()?;
        Ok((int(cols.elapsed, "elapsed")?, success, timestamp))
    })();
    check_label(&label, line, "column `label`")?;
    match values {
        Ok((elapsed, success, timestamp)) => {
            let sample = Sample {
                label,
                elapsed,
                success,
                timestamp,
                transaction,
            };
            totals.add(&sample, line, "column `elapsed`");
        }
        Err(why) => totals.lose(&label, transaction, line, format!("{why:#}")),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XML

/// Reads `<testResults>`: each `<httpSample>`/`<sample>` directly inside it is a sample, and so
/// is each one inside Transaction Controller parents only (nested ones too); those inside any
/// other sample (redirects, embedded resources) are parts of their parent's time.
fn read_xml(reader: &mut dyn BufRead, totals: &mut Totals) -> Result<()> {
    totals.shape = "XML";
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut line_no = 1u64;
    // Per open element: is it a sample, a Transaction Controller parent?
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut in_results = false;
    let mut closed = false;
    loop {
        buf.clear();
        // Read at most one byte past the cap: a huge tag or text is refused, never held.
        let n = (&mut *reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'>', &mut buf)
            .with_context(|| format!("line {line_no}: cannot read"))?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_LINE {
            let before = buf.iter().position(|&b| b == b'<').unwrap_or(0);
            bail!(
                "line {}: a tag (with the text before it) longer than {} MiB (an attribute \
                 of that size, or a `>` missing?): not a JTL sample",
                line_no + buf[..before].iter().filter(|&&b| b == b'\n').count() as u64,
                MAX_LINE >> 20
            );
        }
        let tag_line = line_no + buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let Some(lt) = buf.iter().rposition(|&b| b == b'<') else {
            line_no = tag_line;
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            bail!("line {line_no}: text outside a tag where XML JTL has none");
        };
        let line_of_tag = line_no + buf[..lt].iter().filter(|&&b| b == b'\n').count() as u64;
        line_no = tag_line;
        if buf.last() != Some(&b'>') {
            if totals.lenient {
                totals.truncated = Some(line_of_tag);
                break;
            }
            bail!(
                "line {line_of_tag}: the file ends inside a tag (truncated? was JMeter stopped while writing?); {}",
                super::stream::LENIENT_HINT
            );
        }
        let tag = std::str::from_utf8(&buf[lt + 1..buf.len() - 1])
            .with_context(|| format!("line {line_of_tag}: not UTF-8 text"))?;
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            if name.trim() == "testResults" {
                closed = true;
                in_results = false;
            } else if stack.pop().is_none() {
                bail!("line {line_of_tag}: `</{name}>` closes nothing");
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag
            .split(|c: char| c.is_ascii_whitespace())
            .next()
            .unwrap_or("");
        if name == "testResults" {
            in_results = true;
            continue;
        }
        if !in_results {
            bail!("line {line_of_tag}: `<{name}>` outside `<testResults>`");
        }
        let is_sample = matches!(name, "httpSample" | "sample");
        let mut transaction = false;
        if is_sample {
            let counted = stack
                .iter()
                .all(|&(is_sample, is_transaction)| is_sample && is_transaction);
            let attr = |key: &str| attribute(tag, key);
            transaction = attr("rm").is_some_and(|m| m.starts_with(TRANSACTION_MESSAGE));
            if counted {
                xml_sample(tag, transaction, line_of_tag, totals)?;
            }
        }
        if !self_closing {
            stack.push((is_sample, transaction));
        }
    }
    if !closed && totals.truncated.is_none() && totals.lenient {
        totals.truncated = Some(line_no);
    }
    if !closed && !totals.lenient {
        bail!(
            "line {line_no}: the file ends before `</testResults>` (truncated? was JMeter stopped while writing?); {}",
            super::stream::LENIENT_HINT
        );
    }
    Ok(())
}

fn xml_sample(tag: &str, transaction: bool, line: u64, totals: &mut Totals) -> Result<()> {
    let need = |key: &str, what: &str| {
        attribute(tag, key)
            .with_context(|| format!("line {line}: attribute `{key}` ({what}) is missing"))
    };
    // A missing attribute is how the file was saved (every sample lacks it): the file is refused.
    // A bad value is one sample's: its label is left out.
    let label = need("lb", "label")?;
    let (t, s, ts) = (
        need("t", "elapsed")?,
        need("s", "success")?,
        need("ts", "timeStamp")?,
    );
    let int = |key: &str, what: &str, s: &str| -> Result<i64> {
        s.trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .with_context(|| {
                format!("attribute `{key}` ({what}): `{s}` is not a non-negative whole number")
            })
    };
    let values = (|| -> Result<(i64, bool, i64)> {
        let Some(success) = parse_success(&s) else {
            bail!("attribute `s` (success): `{s}` is neither true nor false");
        };
        Ok((
            int("t", "elapsed", &t)?,
            success,
            int("ts", "timeStamp", &ts)?,
        ))
    })();
    check_label(&label, line, "attribute `lb`")?;
    match values {
        Ok((elapsed, success, timestamp)) => {
            let sample = Sample {
                label,
                elapsed,
                success,
                timestamp: Some(timestamp),
                transaction,
            };
            totals.add(&sample, line, "attribute `t`");
        }
        Err(why) => totals.lose(&label, transaction, line, format!("{why:#}")),
    }
    Ok(())
}

/// An attribute's value, its XML entities decoded.
fn attribute<'a>(tag: &'a str, key: &str) -> Option<Cow<'a, str>> {
    let mut rest = tag;
    loop {
        let eq = rest.find("=\"")?;
        let name = rest[..eq]
            .rsplit(|c: char| c.is_ascii_whitespace())
            .next()?;
        let value_start = eq + 2;
        let value_len = rest[value_start..].find('"')?;
        let value = &rest[value_start..value_start + value_len];
        if name == key {
            return Some(decode_entities(value));
        }
        rest = &rest[value_start + value_len + 1..];
    }
}

fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let Some(semi) = after.find(';') else {
            out.push_str(after);
            return Cow::Owned(out);
        };
        let entity = &after[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&after[..=semi]),
        }
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

impl Shard for Totals {
    fn locate(&mut self, file: &str) {
        Totals::locate(self, file);
    }

    fn absorb(&mut self, other: Box<dyn Shard>) -> Result<()> {
        self.merge(same_format(other)?)
    }

    fn finish(self: Box<Self>) -> Result<Parsed> {
        Totals::finish(*self)
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream read to its metrics, as one file.
    fn parse_stream(reader: &mut (dyn BufRead + Send), lenient: bool) -> Result<Parsed> {
        read_stream(reader, lenient)?.finish()
    }

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jmeter");
    const SEARCH: &str = "search \"demo\", page 1";

    fn read(file: &str) -> Result<Parsed> {
        let mut reader = super::super::open(std::path::Path::new(&format!("{DIR}/{file}")))?;
        parse_stream(&mut reader, false)
    }

    /// Why a JTL is refused as a whole.
    fn refused(jtl: &[u8], lenient: bool) -> String {
        format!(
            "{:#}",
            parse_stream(&mut &jtl[..], lenient).expect_err("refused")
        )
    }

    /// A percentile: the upper end of the sample's histogram bucket, within 0.1 % above it.
    fn pct(p: &Parsed, name: &str, sample: f64) {
        let got = v(p, name);
        assert!(
            got >= sample && got <= sample * 1.001,
            "{name}: {got} vs {sample}"
        );
        assert_eq!(p.metrics[name].unit, Unit::Ms);
    }

    fn v(p: &Parsed, name: &str) -> f64 {
        p.metrics
            .get(name)
            .unwrap_or_else(|| panic!("no metric {name} in {:?}", p.metrics.keys()))
            .value
    }

    fn err(file: &str) -> String {
        format!("{:#}", read(file).expect_err("an error"))
    }

    /// Values make-spec.py prints for the rows every spec file holds.
    fn assert_spec_values(p: &Parsed) {
        assert_eq!(v(p, "all.count"), 30.0);
        assert_eq!(v(p, "all.errors"), 11.0);
        assert!((v(p, "all.error_rate") - 36.666666666666664).abs() < 1e-9);
        assert_eq!(p.metrics["all.error_rate"].unit, Unit::Percent);
        pct(p, "all.p95", 95.0);
        pct(p, "all.p50", 32.0);
        pct(p, "all.p90", 80.0);
        pct(p, "all.p99", 2000.0);
        assert_eq!(v(p, "all.min"), 10.0);
        assert_eq!(v(p, "all.max"), 2000.0);
        assert_eq!(v(p, "all.mean"), 104.0);
        assert!((v(p, "all.throughput") - 3.262642740619902).abs() < 1e-9);
        assert_eq!(p.metrics["all.throughput"].unit, Unit::PerSecond);
        assert_eq!(v(p, "meetings.count"), 10.0);
        assert_eq!(v(p, "meetings.mean"), 33.5);
        assert_eq!(v(p, "meetings.errors"), 0.0);
        assert_eq!(v(p, "meeting 404.error_rate"), 100.0);
        pct(p, &format!("{SEARCH}.p95"), 2000.0);
        pct(p, &format!("{SEARCH}.p50"), 70.0);
        assert_eq!(v(p, &format!("{SEARCH}.errors")), 1.0);
        // The Transaction Controller parent: its own label, not in the totals.
        assert_eq!(v(p, "browse.count"), 10.0);
        assert_eq!(v(p, "browse.mean"), 48.0);
        assert!(!p.metrics.contains_key("meetings-0.count"));
    }

    #[test]
    fn default_columns_with_header() {
        let p = read("spec-default-columns.csv").expect("parse");
        assert_spec_values(&p);
        assert_eq!(
            p.detail.as_deref(),
            Some("JMeter JTL CSV; 10 Transaction Controller samples left out of `all.`")
        );
    }

    #[test]
    fn every_csv_variant_and_the_xml_give_the_same_values() {
        for file in [
            "spec-no-header.csv",
            "spec-custom-columns-tab.tsv",
            "spec-semicolon.csv",
            "spec-results.xml",
        ] {
            let p = read(file).unwrap_or_else(|e| panic!("{file}: {e:#}"));
            assert_spec_values(&p);
        }
        let p = read("spec-no-header.csv").expect("parse");
        assert!(p
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("no header row")));
    }

    /// The real JMeter 2.13 run of make.sh (non-http.jmx): 6 rows each of HTTP ok, Java Request,
    /// TCP Sampler, TCP refused (fails), FTP get, and 6 Transaction Controller "checkout" rows.
    /// Java Request and TCP refused rows have an empty `dataType` and URL `null`, like the
    /// Transaction Controller rows: only the response message tells those apart.
    #[test]
    fn non_http_samples_count_and_only_transaction_controller_rows_stay_out() {
        let p = read("jmeter-2.13-non-http.csv").expect("parse");
        assert_eq!(
            p.detail.as_deref(),
            Some("JMeter JTL CSV; 6 Transaction Controller samples left out of `all.`")
        );
        assert_eq!(v(&p, "all.count"), 30.0);
        assert_eq!(v(&p, "all.errors"), 6.0);
        assert_eq!(v(&p, "all.error_rate"), 20.0);
        assert_eq!(v(&p, "all.mean"), 84.6);
        assert_eq!(v(&p, "all.min"), 0.0);
        assert_eq!(v(&p, "all.max"), 457.0);
        pct(&p, "all.p50", 35.0);
        pct(&p, "all.p90", 265.0);
        pct(&p, "all.p95", 374.0);
        assert!((v(&p, "all.throughput") - 21.141_649_048_625_79).abs() < 1e-9);
        for (label, count, errors, mean) in [
            ("Java Request", 6.0, 0.0, 42.333_333_333_333_336),
            ("TCP Sampler", 6.0, 0.0, 31.0),
            ("TCP refused", 6.0, 6.0, 8.666_666_666_666_666),
            ("FTP get", 6.0, 0.0, 226.5),
            ("HTTP ok", 6.0, 0.0, 114.5),
            ("checkout", 6.0, 0.0, 156.833_333_333_333_34),
        ] {
            assert_eq!(v(&p, &format!("{label}.count")), count, "{label}");
            assert_eq!(v(&p, &format!("{label}.errors")), errors, "{label}");
            assert!(
                (v(&p, &format!("{label}.mean")) - mean).abs() < 1e-9,
                "{label}"
            );
        }

        let p = read("jmeter-2.13-non-http.xml").expect("parse");
        assert_eq!(v(&p, "all.count"), 30.0);
        assert_eq!(v(&p, "all.errors"), 6.0);
        assert!((v(&p, "all.mean") - 65.133_333_333_333_34).abs() < 1e-9);
        assert_eq!(v(&p, "TCP refused.errors"), 6.0);
        assert_eq!(v(&p, "Java Request.count"), 6.0);
        assert_eq!(v(&p, "checkout.count"), 6.0);
    }

    #[test]
    fn a_csv_of_generate_parent_sample_transactions_says_why_it_has_no_sample() {
        // JMeter writes only the parent rows to a CSV when "Generate parent sample" is on.
        let e = err("jmeter-2.13-parent-sample.csv");
        assert!(
            e.contains("all 6 samples are Transaction Controller parents")
                && e.contains("the file has no child sample")
                && e.contains("output_format=xml"),
            "{e}"
        );
        // The XML of the same run nests the children inside each parent: they are the samples.
        let p = read("jmeter-2.13-parent-sample.xml").expect("parse");
        assert_eq!(v(&p, "all.count"), 12.0);
        assert!((v(&p, "all.mean") - 65.083_333_333_333_33).abs() < 1e-9);
        assert_eq!(v(&p, "HTTP ok.count"), 6.0);
        assert_eq!(v(&p, "Java Request.count"), 6.0);
        assert!((v(&p, "checkout.mean") - 130.166_666_666_666_66).abs() < 1e-9);
        assert!(p
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("6 Transaction Controller samples left out")));
    }

    #[test]
    fn samples_in_nested_transaction_parents_count_and_sub_results_do_not() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<testResults version="1.2">
<sample t="90" ts="1000" s="true" lb="outer" rm="Number of samples in transaction : 1, number of failing samples : 0">
  <sample t="80" ts="1000" s="true" lb="inner" rm="Number of samples in transaction : 1, number of failing samples : 0">
    <httpSample t="70" ts="1000" s="true" lb="page" rm="OK">
      <httpSample t="30" ts="1000" s="true" lb="page-0" rm="OK"/>
    </httpSample>
  </sample>
</sample>
</testResults>
"#;
        let p = parse_stream(&mut &xml[..], false).expect("parse");
        assert_eq!(v(&p, "all.count"), 1.0);
        assert_eq!(v(&p, "all.max"), 70.0);
        assert_eq!(v(&p, "outer.count"), 1.0);
        assert_eq!(v(&p, "inner.count"), 1.0);
        assert!(!p.metrics.contains_key("page-0.count"));
    }

    #[test]
    fn success_is_read_in_any_case_in_xml_as_in_csv() {
        // JMeter reads `s` back with Boolean.parseBoolean (SampleResultConverter): `True` is true.
        let text =
            std::fs::read_to_string(format!("{DIR}/jmeter-2.13-non-http.xml")).expect("read");
        let text = text
            .replace("s=\"true\"", "s=\"True\"")
            .replace("s=\"false\"", "s=\"FALSE\"");
        assert!(text.contains("s=\"True\"") && text.contains("s=\"FALSE\""));
        let p = parse_stream(&mut text.as_bytes(), false).expect("parse");
        assert_eq!(v(&p, "all.count"), 30.0);
        assert_eq!(v(&p, "all.errors"), 6.0);
        let bad = text.replacen("s=\"True\"", "s=\"yes\"", 1);
        let p = parse_stream(&mut bad.as_bytes(), false).expect("read");
        assert_eq!(
            p.dropped["HTTP ok.errors"],
            "line 3: attribute `s` (success): `yes` is neither true nor false (its label's other \
             rows are not read either)"
        );
    }

    #[test]
    fn a_csv_without_response_messages_says_transactions_cannot_be_told() {
        let p = read("spec-custom-columns-tab.tsv").expect("parse");
        assert!(
            !p.detail
                .as_deref()
                .is_some_and(|d| d.contains("no `responseMessage`")),
            "{:?}",
            p.detail
        );
        let csv = b"timeStamp,elapsed,label,success\n1700000000000,3,a,true\n";
        let p = parse_stream(&mut &csv[..], false).expect("parse");
        assert_eq!(
            p.detail.as_deref(),
            Some("JMeter JTL CSV; no `responseMessage` column: Transaction Controller rows, if any, count in `all.`")
        );
    }

    #[test]
    fn detection_and_load_file() {
        for (file, head) in [
            ("spec-default-columns.csv", true),
            ("spec-no-header.csv", true),
            ("spec-custom-columns-tab.tsv", true),
            ("spec-semicolon.csv", true),
            ("spec-results.xml", true),
            ("jmeter-2.13-non-http.csv", true),
            ("jmeter-2.13-non-http.xml", true),
        ] {
            let text = std::fs::read_to_string(format!("{DIR}/{file}")).expect("read");
            assert_eq!(looks_like_jtl(&text), head, "{file}");
            let r = super::super::load_file(
                std::path::Path::new(&format!("{DIR}/{file}")),
                None,
                false,
            )
            .expect(file);
            assert_eq!(r.format, super::super::Format::Jmeter);
        }
        assert!(!looks_like_jtl("name,value\n1,2\n"));
        assert!(!looks_like_jtl("<html><body>"));
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_header() {
        let text = std::fs::read(format!("{DIR}/spec-default-columns.csv")).expect("read");
        for text in [
            text.clone(),
            text.split_at(text.iter().position(|&b| b == b'\n').expect("header") + 1)
                .1
                .to_vec(),
        ] {
            let with_bom = [b"\xef\xbb\xbf".as_slice(), &text].concat();
            let p = parse_stream(&mut with_bom.as_slice(), false).expect("parse");
            assert_spec_values(&p);
        }
    }

    #[test]
    fn bad_input_is_named() {
        let e = err("spec-truncated-last-row.csv");
        assert!(
            e.contains("line 43: the last row is truncated (7 of 17 fields"),
            "{e}"
        );
        let mut reader = super::super::open(std::path::Path::new(&format!(
            "{DIR}/spec-truncated-last-row.csv"
        )))
        .expect("open");
        let p = parse_stream(&mut reader, true).expect("lenient");
        assert_spec_values(&p);
        assert!(
            p.detail
                .as_deref()
                .is_some_and(|d| d.ends_with("; truncated last row at line 43 skipped")),
            "{:?}",
            p.detail
        );
        let e = err("spec-missing-success-column.csv");
        assert!(
            e.contains("column `success` is missing from the header"),
            "{e}"
        );
        let dropped = |text: &[u8], metric: &str| {
            let p = parse_stream(&mut &text[..], false).expect("read");
            p.dropped[metric].clone()
        };
        let e = dropped(
            b"timeStamp,elapsed,label,success\n1700000000000,-3,a,true\n",
            "a.p95",
        );
        assert!(e.starts_with("line 2: column `elapsed`: `-3`"), "{e}");
        let e = dropped(
            b"timeStamp,elapsed,label,success\n1700000000000,3,a,yes\n",
            "all.count",
        );
        assert!(e.starts_with("line 2: column `success`: `yes`"), "{e}");
        // A missing XML attribute is how the file was saved: refused.
        let e = refused(
            b"<testResults>\n<sample t=\"1\" s=\"true\" lb=\"a\"/>\n</testResults>\n",
            false,
        );
        assert!(
            e.contains("line 2: attribute `ts` (timeStamp) is missing"),
            "{e}"
        );
        let e = refused(
            b"timeStamp,elapsed,label,success\n1700000000000,3,a,b,true\n",
            false,
        );
        assert!(
            e.contains("line 2: 5 fields where the header has 4 (a value holding the delimiter"),
            "{e}"
        );
        let text = std::fs::read_to_string(format!("{DIR}/spec-no-header.csv")).expect("read");
        let appended = format!(
            "{text}{}",
            text.lines().next().expect("row").replacen(',', ",9,", 1)
        );
        let e = format!(
            "{:#}",
            parse_stream(&mut appended.as_bytes(), false).expect_err("one more column")
        );
        assert!(e.contains("18 fields where the first row has 17"), "{e}");
        let e = refused(b"<testResults version=\"1.2\">\n<httpSample t=\"1\" ts=\"1\" s=\"true\" lb=\"a\"/>\n<httpSa", false);
        assert!(e.contains("line 3: the file ends inside a tag"), "{e}");
        assert!(e.ends_with(super::super::stream::LENIENT_HINT), "{e}");
        let e = refused(b"timeStamp,elapsed,label,success\n", false);
        assert!(
            e.contains("no sample in the file: no row below the header"),
            "{e}"
        );
        let e = refused(
            b"timeStamp,elapsed,label,success\n1700000000000,3,\"a",
            true,
        );
        assert!(
            e.contains("no row below the header (the truncated last row at line 2 was skipped)"),
            "{e}"
        );
        let e = refused(b"<testResults version=\"1.2\">\n</testResults>\n", false);
        assert!(e.contains("`<testResults>` holds no `<httpSample>`"), "{e}");
    }

    /// `mutated`'s metrics are `original`'s but for those of `labels`, each dropped.
    fn only_dropped(original: &Parsed, mutated: &Parsed, labels: &[&str]) {
        let of = |name: &String| labels.iter().any(|l| name.starts_with(&format!("{l}.")));
        let mut expected = original.metrics.clone();
        expected.retain(|name, _| !of(name));
        assert_eq!(mutated.metrics, expected);
        let mut names: Vec<String> = labels
            .iter()
            .flat_map(|l| STATS.map(|stat| format!("{l}.{stat}")))
            .collect();
        names.sort();
        assert_eq!(mutated.dropped.keys().cloned().collect::<Vec<_>>(), names);
    }

    #[test]
    fn a_bad_row_leaves_out_its_label_and_all() {
        let text =
            std::fs::read_to_string(format!("{DIR}/jmeter-2.13-non-http.csv")).expect("read");
        let row = "1796053186041,33,Java Request,";
        assert!(text.contains(row));
        let bad = text.replacen(row, "1796053186041,-33,Java Request,", 1);
        let original = parse_stream(&mut text.as_bytes(), false).expect("parse");
        let p = parse_stream(&mut bad.as_bytes(), false).expect("parse");
        only_dropped(&original, &p, &["Java Request", "all"]);
        assert_eq!(
            p.dropped["Java Request.p95"],
            "line 4: column `elapsed`: `-33` is not a non-negative whole number of milliseconds \
             (its label's other rows are not read either)"
        );
        assert_eq!(
            p.dropped["all.count"],
            "line 4: column `elapsed`: `-33` is not a non-negative whole number of milliseconds \
             (a row of label `Java Request`, which `all.` counts)"
        );
        // A Transaction Controller row is not in `all.`: only its label is left out.
        let parent = "1796053185569,309,checkout,";
        assert!(text.contains(parent));
        let bad = text.replacen(parent, "1796053185569,3e2,checkout,", 1);
        let p = parse_stream(&mut bad.as_bytes(), false).expect("parse");
        only_dropped(&original, &p, &["checkout"]);
    }

    #[test]
    fn a_bad_xml_sample_leaves_out_its_label_and_all() {
        let text =
            std::fs::read_to_string(format!("{DIR}/jmeter-2.13-non-http.xml")).expect("read");
        let first = "<httpSample t=\"187\" it=\"0\"";
        assert!(text.contains(first));
        let bad = text.replacen(first, "<httpSample t=\"-187\" it=\"0\"", 1);
        let original = parse_stream(&mut text.as_bytes(), false).expect("parse");
        let p = parse_stream(&mut bad.as_bytes(), false).expect("parse");
        only_dropped(&original, &p, &["HTTP ok", "all"]);
        assert!(p.dropped["HTTP ok.p95"]
            .starts_with("line 3: attribute `t` (elapsed): `-187` is not a non-negative"));
    }
}
