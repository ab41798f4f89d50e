//! Locust `--csv=<prefix>` statistics (`<prefix>_stats.csv`): one row per request name, plus the
//! `Aggregated` row.
//!
//! The one rule: columns are found by their header name, never by position, and a value Locust
//! writes as `N/A` or leaves empty is an absent metric, never 0.
//!
//! Metrics per row, named by the row's `Name` (the `Aggregated` row is `all`, and so is the
//! `"None","Aggregated"` row of Locust 0.13–0.14 and the `"None","Total"` row of Locust ≤ 0.12,
//! whose `_requests.csv` has the `"Method","Name","# requests"` header; a name that appears
//! with several methods, `GET /api` and `POST /api`, is `<Type> <Name>` for each of them):
//! `<name>.p<N>` for every percentile column `N%` the file has (ms, rounded by Locust to 2
//! significant digits; the default columns give `.p50`, `.p66`, `.p75`, `.p80`, `.p90`, `.p95`,
//! `.p98`, `.p99`, `.p99.9`, `.p99.99`, `.p100`, a locustfile that sets
//! `locust.stats.PERCENTILES_TO_REPORT` others such as `.p60` or `.p99.5`; `.p100` is the rounded
//! `.max`), `.median`, `.mean`, `.min`, `.max` (ms); `.mean_content_size` (bytes per response);
//! `.requests`, `.failures` (counts); `.failure_rate` (% of the row's requests); `.rps` and
//! `.failure_rps` (requests and failures per second over the run). A row without requests has
//! counts and rates only: Locust writes its response times and sizes as 0, which measure nothing. Two rows that would get one name (a
//! request literally named `all`) are an error, never an overwrite.
//!
//! A value that cannot be read (not a number, negative, more failures than requests) drops every
//! metric of its row, with the line and column (see [`Parsed::dropped`]); the other rows are still
//! read. The `Aggregated` row is Locust's own total, not a sum perfgate makes, so a bad request row
//! leaves it standing. A row of the wrong shape, a missing column or two rows making one name
//! refuse the file, as do more than [`MAX_ROWS`] rows and a name longer than [`MAX_NAME_BYTES`].
//!
//! `<prefix>_stats_history.csv` is refused with a pointer to the `_stats.csv`: its percentiles
//! are those of a moving window (the last seconds of the run), not of the run, so they would not
//! mean what the same names mean here. `_failures.csv` and `_exceptions.csv` are refused likewise.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::reader::{Detect, Reader, Sniff, Whole};
use super::{Parsed, MAX_NAME_BYTES};
use crate::model::{Measurement, Metrics, Unit};

/// Locust's `_stats.csv`.
pub(crate) const READER: Reader = Reader {
    name: "locust",
    detect: Detect {
        text: sniff,
        ..Detect::NONE
    },
    whole: Some(Whole::Text(parse)),
    stream: None,
};

/// The most rows (request names) one file may hold: each is a row of strings and 20 metrics,
/// about 3 KiB, so a file of generated names would otherwise take memory without bound.
const MAX_ROWS: usize = 10_000;

/// The other columns read, by their Locust 2.47.0 header (lower-cased), with their metric stat
/// and unit.
const COLUMNS: [(&str, &str, Unit); 7] = [
    ("median response time", "median", Unit::Ms),
    ("average response time", "mean", Unit::Ms),
    ("min response time", "min", Unit::Ms),
    ("max response time", "max", Unit::Ms),
    ("average content size", "mean_content_size", Unit::Bytes),
    ("requests/s", "rps", Unit::PerSecond),
    ("failures/s", "failure_rps", Unit::PerSecond),
];

/// The metric stat of a percentile column: `p60` for `60%`, `p99.9` for `99.9%` (Locust names a
/// column `get_readable_percentiles` of its `PERCENTILES_TO_REPORT` entry: the percentage, at
/// most 6 decimals, and `%`). `None` for any other column.
fn percentile_stat(column: &str) -> Option<String> {
    let number = column.strip_suffix('%')?;
    let value: f64 = number.parse().ok()?;
    (number.bytes().all(|b| b.is_ascii_digit() || b == b'.') && value > 0.0 && value <= 100.0)
        .then(|| format!("p{number}"))
}

/// Detection of Locust's CSV files from their header line: `Some` when it is one.
fn sniff(text: &str) -> Option<Sniff> {
    let header = text.lines().next()?.replace('"', "");
    if header.starts_with("Type,Name,Request Count") || header.starts_with("Method,Name,# requests")
    {
        return Some(Sniff::Read);
    }
    if header.starts_with("Timestamp,User Count,") {
        return Some(Sniff::Unsupported(
            "a Locust stats history (moving-window percentiles; perfgate reads the \
             `<prefix>_stats.csv` Locust writes beside it)",
        ));
    }
    if header.starts_with("Method,Name,Error,Occurrences") || header.starts_with("Count,Message,") {
        return Some(Sniff::Unsupported(
            "a Locust failures/exceptions list (perfgate reads the `<prefix>_stats.csv` \
             Locust writes beside it)",
        ));
    }
    None
}

/// Reads a Locust `_stats.csv`.
pub(crate) fn parse(text: &str) -> Result<Parsed> {
    let rows = records(text.trim_start_matches('\u{feff}'))?;
    let Some(((_, header), rows)) = rows.split_first() else {
        bail!("the file has no header line");
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let column = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let required = |names: &[&str]| {
        column(names).ok_or_else(|| anyhow::anyhow!("the header has no `{}` column", names[0]))
    };
    let type_col = required(&["type", "method"])?;
    let name_col = required(&["name"])?;
    let requests_col = required(&["request count", "# requests"])?;
    let failures_col = required(&["failure count", "# failures"])?;
    let percentiles: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter_map(|(col, name)| Some((col, percentile_stat(name)?)))
        .collect();
    if rows.is_empty() {
        bail!("no rows below the header: Locust recorded no request");
    }
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, row) in rows {
        if let Some(name) = row.get(name_col) {
            *uses.entry(name.as_str()).or_default() += 1;
        }
    }
    let mut metrics = Metrics::new();
    let mut dropped = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, row) in rows {
        if row.len() != header.len() {
            bail!(
                "line {line}: {} fields, the header has {} (a truncated file?)",
                row.len(),
                header.len()
            );
        }
        let (kind, name) = (row[type_col].as_str(), row[name_col].as_str());
        if name.len() > MAX_NAME_BYTES {
            bail!(
                "line {line}: field `Name`: a name of {} bytes, longer than the {MAX_NAME_BYTES} \
                 bytes perfgate takes",
                name.len()
            );
        }
        let prefix = if is_aggregated_row(kind, name) {
            "all".to_string()
        } else if uses[name] > 1 {
            format!("{kind} {name}")
        } else {
            name.to_string()
        };
        if let Some(first) = seen.insert(prefix.clone(), *line) {
            bail!(
                "line {line}: `{prefix}` is also the row on line {first}; its metrics would clash"
            );
        }
        let read = Row {
            line: *line,
            row,
            header: &header,
            prefix: &prefix,
        };
        let columns: Vec<(usize, &str, Unit)> = COLUMNS
            .iter()
            .filter_map(|&(name, stat, unit)| Some((column(&[name])?, stat, unit)))
            .collect();
        match read.metrics(requests_col, failures_col, &columns, &percentiles) {
            Ok(row_metrics) => metrics.extend(row_metrics),
            Err(why) => {
                let stats = ["requests", "failures", "failure_rate"]
                    .into_iter()
                    .chain(columns.iter().map(|&(_, stat, _)| stat))
                    .chain(percentiles.iter().map(|(_, stat)| stat.as_str()));
                for stat in stats {
                    dropped.insert(
                        format!("{prefix}.{stat}"),
                        format!("{why:#} (the row's other values are not read either)"),
                    );
                }
            }
        }
    }
    Ok(Parsed {
        detail: Some(format!("Locust stats, {} rows", rows.len())),
        metrics,
        dropped,
        ..Parsed::default()
    })
}

/// One row as it is read: its line, fields and metric prefix (`all` for the totals row).
struct Row<'a> {
    line: usize,
    row: &'a [String],
    header: &'a [String],
    prefix: &'a str,
}

impl Row<'_> {
    /// The row's metrics, or why one of its values cannot be read. `columns` are the [`COLUMNS`]
    /// the header has, with their index.
    fn metrics(
        &self,
        requests_col: usize,
        failures_col: usize,
        columns: &[(usize, &str, Unit)],
        percentiles: &[(usize, String)],
    ) -> Result<Metrics> {
        let prefix = self.prefix;
        let mut metrics = Metrics::new();
        let requests = self.value(requests_col)?;
        let failures = self.value(failures_col)?;
        if let Some(n) = requests {
            metrics.insert(format!("{prefix}.requests"), Measurement::count(n));
        }
        if let Some(f) = failures {
            metrics.insert(format!("{prefix}.failures"), Measurement::count(f));
        }
        let has_requests = requests.is_some_and(|n| n > 0.0);
        if let (Some(n), Some(f)) = (requests, failures) {
            if f > n {
                bail!(
                    "line {}: {f} failures but {n} requests for `{prefix}`",
                    self.line
                );
            }
            if has_requests {
                metrics.insert(
                    format!("{prefix}.failure_rate"),
                    Measurement::new(f / n * 100.0, Unit::Percent),
                );
            }
        }
        for &(col, stat, unit) in columns {
            if unit != Unit::PerSecond && !has_requests {
                continue;
            }
            if let Some(v) = self.value(col)? {
                metrics.insert(format!("{prefix}.{stat}"), Measurement::new(v, unit));
            }
        }
        if has_requests {
            for (col, stat) in percentiles {
                if let Some(v) = self.value(*col)? {
                    metrics.insert(format!("{prefix}.{stat}"), Measurement::ms(v));
                }
            }
        }
        Ok(metrics)
    }

    /// The number in column `col`; `None` where Locust writes `N/A` or nothing.
    fn value(&self, col: usize) -> Result<Option<f64>> {
        let (line, column) = (self.line, &self.header[col]);
        let raw = self.row[col].trim();
        if raw.is_empty() || raw == "N/A" {
            return Ok(None);
        }
        let at = format!("line {line}, column `{column}`");
        match raw.parse::<f64>() {
            Err(_) => bail!("{at}: `{raw}` is not a number"),
            Ok(v) if !v.is_finite() => bail!("{at}: `{raw}` is not a finite number"),
            Ok(v) if v < 0.0 => bail!("{at}: {raw} is negative, which this quantity cannot be"),
            Ok(v) => Ok(Some(v)),
        }
    }
}

/// The row of the totals: `,Aggregated,` since Locust 1.0, `"None","Aggregated"` in 0.13–0.14,
/// `"None","Total"` before (`stats.total`, whose method Locust printed as `None`).
fn is_aggregated_row(kind: &str, name: &str) -> bool {
    matches!(
        (kind, name),
        ("", "Aggregated") | ("None", "Aggregated" | "Total")
    )
}

/// Splits CSV text (Python's `csv` module dialect, as Locust writes it: fields quoted when they hold
/// a comma, a quote or a line break, quotes doubled) into records with their first line number.
/// Blank lines are skipped.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let mut out = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if !(record.is_empty() && field.is_empty()) {
                    record.push(std::mem::take(&mut field));
                    push_record(&mut out, start, std::mem::take(&mut record))?;
                }
                line += 1;
                start = line;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        bail!("line {start}: a quoted field is not closed (a truncated file?)");
    }
    if !(record.is_empty() && field.is_empty()) {
        record.push(field);
        push_record(&mut out, start, record)?;
    }
    Ok(out)
}

/// Adds a record (the header or a row) to `out`, refusing one row beyond [`MAX_ROWS`].
fn push_record(
    out: &mut Vec<(usize, Vec<String>)>,
    line: usize,
    record: Vec<String>,
) -> Result<()> {
    if out.len() > MAX_ROWS {
        bail!(
            "line {line}: one row more than the {MAX_ROWS} rows perfgate reads from a Locust \
             stats file"
        );
    }
    out.push((line, record));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::ingest::testing::fixture("locust", name)
    }

    use crate::ingest::testing::metric as get;

    #[test]
    fn per_name_rows_and_the_aggregated_row() {
        let p = parse(&fixture("run_stats.csv")).expect("parses");
        assert_eq!(p.detail.as_deref(), Some("Locust stats, 4 rows"));
        assert_eq!(get(&p, "/ok.p50"), Measurement::ms(5.0));
        assert_eq!(get(&p, "/ok.p99"), Measurement::ms(41.0));
        assert_eq!(get(&p, "/ok.p99.9"), Measurement::ms(45.0));
        assert_eq!(get(&p, "/ok.requests"), Measurement::count(110.0));
        assert_eq!(get(&p, "/ok.mean"), Measurement::ms(5.712_963_154_548_396));
        assert_eq!(get(&p, "/ok.min"), Measurement::ms(2.480_576_000_380_097));
        assert_eq!(
            get(&p, "/ok.rps"),
            Measurement::new(55.087_274_298_122_175, Unit::PerSecond)
        );
        assert_eq!(get(&p, "/flaky.failures"), Measurement::count(11.0));
        assert_eq!(
            get(&p, "/flaky.failure_rate"),
            Measurement::new(50.0, Unit::Percent)
        );
        // Quoted in the file because of its commas.
        assert_eq!(
            get(&p, "/search?q=a,b, sorted.max"),
            Measurement::ms(45.932_132_999_951_136)
        );
        assert_eq!(get(&p, "all.requests"), Measurement::count(179.0));
        assert_eq!(get(&p, "all.p95"), Measurement::ms(10.0));
        let rate = get(&p, "all.failure_rate").value;
        assert!((rate - 11.0 / 179.0 * 100.0).abs() < 1e-9, "{rate}");
        // Locust's 100% column: the max rounded to 2 significant digits (45.93… ms).
        assert_eq!(get(&p, "all.p100"), Measurement::ms(46.0));
        assert_eq!(get(&p, "all.p99.99"), Measurement::ms(46.0));
        assert_eq!(get(&p, "/ok.mean_content_size"), Measurement::bytes(64.0));
        assert_eq!(
            get(&p, "/flaky.failure_rps"),
            Measurement::new(5.508_727_429_812_217, Unit::PerSecond)
        );
    }

    #[test]
    fn every_percentile_column_a_locustfile_asks_for() {
        // PERCENTILES_TO_REPORT = [0.5, 0.6, 0.7, 0.95, 0.995, 1.0] (locustfile-percentiles.py).
        let p = parse(&fixture("custom-percentiles_stats.csv")).expect("parses");
        for (stat, ok, all) in [
            ("p50", 37.0, 37.0),
            ("p60", 43.0, 43.0),
            ("p70", 46.0, 46.0),
            ("p95", 310.0, 310.0),
            ("p99.5", 310.0, 310.0),
            ("p100", 310.0, 310.0),
        ] {
            assert_eq!(
                get(&p, &format!("/ok.{stat}")),
                Measurement::ms(ok),
                "{stat}"
            );
            assert_eq!(
                get(&p, &format!("all.{stat}")),
                Measurement::ms(all),
                "{stat}"
            );
        }
        assert_eq!(get(&p, "/flaky.p70"), Measurement::ms(43.0));
        assert_eq!(get(&p, "/flaky.p95"), Measurement::ms(290.0));
        assert_eq!(get(&p, "all.requests"), Measurement::count(31.0));
        assert_eq!(
            get(&p, "all.mean_content_size"),
            Measurement::bytes(60.193_548_387_096_776)
        );
        // Columns the file does not have are not made up.
        for absent in ["all.p66", "all.p99", "all.p99.9"] {
            assert!(!p.metrics.contains_key(absent), "{absent}");
        }
        assert_eq!(percentile_stat("99.99%").as_deref(), Some("p99.99"));
        for not_a_percentile in ["failures/s", "%", "-5%", "0%", "101%", "1e1%", "nan%"] {
            assert_eq!(
                percentile_stat(not_a_percentile),
                None,
                "{not_a_percentile}"
            );
        }
    }

    #[test]
    fn detection_of_locust_files() {
        assert!(matches!(
            sniff(&fixture("run_stats.csv")),
            Some(Sniff::Read)
        ));
        for history in ["run_stats_history.csv", "run_failures.csv"] {
            assert!(
                matches!(
                    sniff(&fixture(history)),
                    Some(Sniff::Unsupported(what)) if what.contains("_stats.csv")
                ),
                "{history}"
            );
        }
        assert!(sniff("timeStamp,elapsed,label\n").is_none());
    }

    #[test]
    fn same_name_with_two_methods_and_absent_values() {
        let text = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Requests/s,50%,99%\n\
            GET,/api,2,0,3,3.5,3,4,1.0,3,4\n\
            POST,/api,1,1,N/A,,7,7,0.5,N/A,N/A\n\
            DELETE,/gone,0,0,0,0.0,0,0,0.0,N/A,N/A\n";
        let p = parse(text).expect("parses");
        assert_eq!(get(&p, "GET /api.p99"), Measurement::ms(4.0));
        assert_eq!(get(&p, "POST /api.min"), Measurement::ms(7.0));
        assert!(!p.metrics.contains_key("POST /api.median"));
        assert!(!p.metrics.contains_key("POST /api.mean"));
        assert!(!p.metrics.contains_key("POST /api.p50"));
        // No requests: counts and rate only, no zero response times.
        assert_eq!(get(&p, "/gone.requests"), Measurement::count(0.0));
        assert!(!p.metrics.contains_key("/gone.max"));
        assert!(!p.metrics.contains_key("/gone.failure_rate"));
    }

    #[test]
    fn the_totals_row_of_old_locust_is_all() {
        // Locust 0.11.0 `requests_csv()`: every field quoted but the numbers, totals as "None","Total".
        let text = "\"Method\",\"Name\",\"# requests\",\"# failures\",\"Median response time\",\"Average response time\",\"Min response time\",\"Max response time\",\"Average Content Size\",\"Requests/s\"\n\
            \"GET\",\"/\",10,1,12,15,3,40,512,2.50\n\
            \"None\",\"Total\",10,1,12,15,3,40,512,2.50\n";
        let p = parse(text).expect("parses");
        assert_eq!(get(&p, "all.requests"), Measurement::count(10.0));
        assert_eq!(get(&p, "all.median"), Measurement::ms(12.0));
        assert_eq!(get(&p, "/.max"), Measurement::ms(40.0));
        assert!(!p.metrics.contains_key("Total.requests"));
        let text = text.replace("\"Total\"", "\"Aggregated\"");
        assert_eq!(
            get(&parse(&text).expect("parses"), "all.rps"),
            Measurement::new(2.5, Unit::PerSecond)
        );
        // A request named `Total` is a request.
        let text = text.replace("\"None\",\"Aggregated\"", "\"GET\",\"Total\"");
        assert_eq!(
            get(&parse(&text).expect("parses"), "Total.requests"),
            Measurement::count(10.0)
        );
    }

    #[test]
    fn bad_input_names_the_line_and_column() {
        let text = fixture("run_stats.csv");
        let e = |t: &str| format!("{:#}", parse(t).expect_err("bad"));
        let cut = &text[..text.find("/search").expect("row") + 3];
        assert!(
            e(cut).contains("a quoted field is not closed"),
            "{}",
            e(cut)
        );
        let short = e(&text[..text.find("GET,/ok").expect("row") + 20]);
        assert!(
            short.contains("line 3: ") && short.contains("a truncated file?"),
            "{short}"
        );
        let missing = e(&text.replace("Request Count", "Requests"));
        assert!(missing.contains("no `request count` column"), "{missing}");
        assert!(e(text.lines().next().expect("header")).contains("no rows"));
    }

    /// `mutated`'s metrics are `original`'s but for every metric of the rows `prefixes`, each
    /// dropped with `why`.
    fn only_dropped(original: &Parsed, mutated: &Parsed, prefixes: &[&str], why: &str) {
        let of = |name: &String| prefixes.iter().any(|p| name.starts_with(&format!("{p}.")));
        let mut expected = original.metrics.clone();
        expected.retain(|name, _| !of(name));
        assert_eq!(mutated.metrics, expected);
        let stats = [
            "requests",
            "failures",
            "failure_rate",
            "median",
            "mean",
            "min",
            "max",
            "mean_content_size",
            "rps",
            "failure_rps",
            "p50",
            "p66",
            "p75",
            "p80",
            "p90",
            "p95",
            "p98",
            "p99",
            "p99.9",
            "p99.99",
            "p100",
        ];
        let mut names: Vec<String> = prefixes
            .iter()
            .flat_map(|p| stats.map(|stat| format!("{p}.{stat}")))
            .collect();
        names.sort();
        assert_eq!(mutated.dropped.keys().cloned().collect::<Vec<_>>(), names);
        for reason in mutated.dropped.values() {
            assert_eq!(
                reason,
                &format!("{why} (the row's other values are not read either)")
            );
        }
    }

    #[test]
    fn a_bad_value_drops_its_row_only() {
        let text = fixture("run_stats.csv");
        let original = parse(&text).expect("parses");
        for (from, to, prefix, why) in [
            (
                "GET,/ok,110,0,5,",
                "GET,/ok,110,0,-5,",
                "/ok",
                "line 3, column `median response time`: -5 is negative, which this quantity \
                 cannot be",
            ),
            (
                "GET,/ok,110,0,5,",
                "GET,/ok,110,0,NaN,",
                "/ok",
                "line 3, column `median response time`: `NaN` is not a finite number",
            ),
            (
                "GET,/ok,110,",
                "GET,/ok,many,",
                "/ok",
                "line 3, column `request count`: `many` is not a number",
            ),
            (
                "GET,/ok,110,0,",
                "GET,/ok,110,111,",
                "/ok",
                "line 3: 111 failures but 110 requests for `/ok`",
            ),
            // Locust's own total, not a sum of the rows: only its own values drop it, and a bad
            // request row leaves it standing (above).
            (
                ",Aggregated,179,11,4,5.799081877089444,",
                ",Aggregated,179,11,4,-5.799081877089444,",
                "all",
                "line 5, column `average response time`: -5.799081877089444 is negative, which \
                 this quantity cannot be",
            ),
        ] {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text);
            let p = parse(&bad).expect("read, less one row");
            only_dropped(&original, &p, &[prefix], why);
        }
    }
    #[test]
    fn detected_by_content_through_load_file() {
        use crate::ingest::{load_file, sniff, Format};
        assert_eq!(sniff(&fixture("run_stats.csv")).ok(), Some(Format::Locust));
        let dir =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/locust");
        let report = load_file(&dir.join("run_stats.csv"), None, false).expect("loads");
        assert_eq!(report.format, Format::Locust);
        assert_eq!(report.metrics["all.requests"], Measurement::count(179.0));
        let history = format!(
            "{:#}",
            load_file(&dir.join("run_stats_history.csv"), None, false).expect_err("refused")
        );
        assert!(history.contains("_stats.csv"), "{history}");
    }
}
