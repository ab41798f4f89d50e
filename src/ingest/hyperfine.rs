//! hyperfine `--export-json` output: the wall-clock statistics of each benchmarked command.
//!
//! The one rule: hyperfine writes every time in seconds (whatever `--time-unit` says, which only
//! changes its markdown/CSV exports); they are stored in ms, and a run's `times[]` are its samples.
//!
//! Metrics per result, named by its `command` (the `-n` name when one was given):
//! `<command>.mean`, `.median`, `.min`, `.max`, `.stddev`, `.user`, `.system` (ms; `.stddev` is
//! absent after a single run, where hyperfine writes `null`) and `.runs` (a count). A parameter scan
//! whose template does not change the command text (`-L size small,large 'sleep 0.01'`), or two
//! commands given the same `-n` name, writes one command string several times: those results are
//! named `<command> {size=small}` (every parameter, `name=value`, comma-separated, sorted by name).
//! Results that still share a name are an error, never a silent overwrite.
//!
//! A result with a value that cannot be read (a string or negative time, a time too large,
//! not as many exit codes as times, no run at all) drops every metric of its command, and its
//! times from the periods, with the field (see [`Parsed::dropped`]); the other commands are still
//! read. JSON that does not parse, no results, or two results of one name refuse the file.
//!
//! Each run of the benchmark is one period (see [`Parsed::periods`]) holding `<command>.mean` = that
//! run's time, so a single report carries the times as the samples of `.mean` (the baseline
//! statistics compare the mean of the samples, which is exactly hyperfine's mean).
//!
//! Non-zero exit codes only reach an export under `-i` (`--ignore-failure`: without it hyperfine
//! aborts and writes nothing), where the user has said a failing exit is expected (`grep` finding
//! nothing, a linter's findings). The timings are kept and the detail line says which commands
//! failed in how many runs, so the failure is shown, not hidden, and not turned into an error.

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::{bail, Result};
use serde::Deserialize;
use serde_json::Value;

use super::reader::{names_key, Detect, Reader, Sniff, Whole};
use super::{from_json, non_negative_scaled, Parsed};
use crate::model::{Measurement, Metrics, Unit};

/// hyperfine's `--export-json` output.
pub(crate) const READER: Reader = Reader {
    name: "hyperfine",
    detect: Detect {
        json: sniff,
        broken_json: sniff_broken,
        ..Detect::NONE
    },
    whole: Some(Whole::Json(parse)),
    stream: None,
};

/// A `results` list whose entries name their `command`.
fn sniff(v: &Value) -> Option<Sniff> {
    v.get("results")
        .and_then(|r| r.get(0))
        .is_some_and(|r| r.get("command").is_some())
        .then_some(Sniff::Read)
}

fn sniff_broken(head: &str) -> bool {
    ["results", "command", "exit_codes"]
        .iter()
        .all(|k| names_key(head, k))
}

/// The export as hyperfine 1.15.0 writes it (`src/export/json.rs`).
#[derive(Debug, Deserialize)]
struct Export {
    results: Vec<BenchResult>,
}

/// One command's result; every duration in seconds. Numbers are read as JSON values, so that
/// one that is not a number drops its command rather than the file.
#[derive(Debug, Deserialize)]
struct BenchResult {
    command: String,
    mean: Option<Value>,
    /// `null` when there was a single run.
    stddev: Option<Value>,
    median: Option<Value>,
    user: Option<Value>,
    system: Option<Value>,
    min: Option<Value>,
    max: Option<Value>,
    /// Absent in old versions; one entry per run.
    times: Option<Vec<Value>>,
    /// One entry per run; `null` when the command was killed by a signal.
    #[serde(default)]
    exit_codes: Vec<Option<i32>>,
    /// Only with `-P`/`-L` scans; values are strings in 1.15.0, read whatever their JSON type.
    parameters: Option<BTreeMap<String, Value>>,
}

/// The statistics of a result, as hyperfine names them and as its metrics are named.
const STATS: [&str; 7] = ["mean", "median", "min", "max", "stddev", "user", "system"];

impl BenchResult {
    fn stat(&self, stat: &str) -> Option<&Value> {
        match stat {
            "mean" => self.mean.as_ref(),
            "median" => self.median.as_ref(),
            "min" => self.min.as_ref(),
            "max" => self.max.as_ref(),
            "stddev" => self.stddev.as_ref(),
            "user" => self.user.as_ref(),
            _ => self.system.as_ref(),
        }
        .filter(|v| !v.is_null())
    }
}

/// What one command's result reads as.
struct Command {
    metrics: Metrics,
    /// Each run's time, ms.
    times: Vec<f64>,
    /// Runs that exited non-zero or were killed.
    failed: usize,
}

/// Reads a hyperfine `--export-json` file.
pub(crate) fn parse(input: &mut dyn BufRead) -> Result<Parsed> {
    let export: Export = from_json(input)?;
    if export.results.is_empty() {
        bail!("field `results`: empty, so there is no benchmark to read");
    }
    let names = names(&export.results)?;
    let mut metrics = Metrics::new();
    let mut dropped = BTreeMap::new();
    let mut periods: Vec<Metrics> = Vec::new();
    let mut failures = Vec::new();
    for (i, (result, name)) in export.results.iter().zip(&names).enumerate() {
        let command = match read_command(i, result, name) {
            Ok(command) => command,
            Err(why) => {
                for stat in STATS.iter().chain(&["runs"]) {
                    dropped.insert(
                        format!("{name}.{stat}"),
                        format!("{why:#} (the command's other values are not read either)"),
                    );
                }
                continue;
            }
        };
        metrics.extend(command.metrics);
        for (j, ms) in command.times.into_iter().enumerate() {
            if periods.len() <= j {
                periods.push(Metrics::new());
            }
            periods[j].insert(format!("{name}.mean"), Measurement::ms(ms));
        }
        if command.failed > 0 {
            failures.push(format!(
                "`{name}` failed (non-zero exit or signal) in {} of {} runs",
                command.failed,
                result.exit_codes.len()
            ));
        }
    }
    // Shown after the format's name: "hyperfine (2 commands; …)".
    let commands = export.results.len();
    let mut detail = format!("{commands} command{}", if commands == 1 { "" } else { "s" });
    for failure in failures {
        detail.push_str("; ");
        detail.push_str(&failure);
    }
    Ok(Parsed {
        detail: Some(detail),
        metrics,
        periods,
        dropped,
        ..Parsed::default()
    })
}

/// The seconds a field holds, in ms, or why it cannot be a duration.
fn ms(field: &str, v: &Value) -> Result<f64> {
    match v {
        Value::Number(n) => non_negative_scaled(field, n.as_f64().unwrap_or(f64::NAN), 1000.0),
        other => bail!("field `{field}`: {other} is not a number"),
    }
}

/// The metrics of result `i`, named `name`, or why one of its values cannot be read.
fn read_command(i: usize, result: &BenchResult, name: &str) -> Result<Command> {
    let mut metrics = Metrics::new();
    for stat in STATS {
        if let Some(seconds) = result.stat(stat) {
            let ms = ms(&format!("results[{i}].{stat}"), seconds)?;
            metrics.insert(format!("{name}.{stat}"), Measurement::ms(ms));
        }
    }
    let mut times = Vec::new();
    let runs = match &result.times {
        Some(written) => {
            if !result.exit_codes.is_empty() && result.exit_codes.len() != written.len() {
                bail!(
                    "field `results[{i}].times`: {} times but {} exit codes; one of each per run",
                    written.len(),
                    result.exit_codes.len()
                );
            }
            for (j, t) in written.iter().enumerate() {
                times.push(ms(&format!("results[{i}].times[{j}]"), t)?);
            }
            times.len()
        }
        None => result.exit_codes.len(),
    };
    if runs == 0 {
        bail!("field `results[{i}].times`: command `{name}` has no runs");
    }
    metrics.insert(
        format!("{name}.runs"),
        Measurement::new(runs as f64, Unit::None),
    );
    Ok(Command {
        metrics,
        times,
        failed: result.exit_codes.iter().filter(|c| **c != Some(0)).count(),
    })
}

/// Each result's metric prefix: its command, plus its parameters where the command repeats.
fn names(results: &[BenchResult]) -> Result<Vec<String>> {
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results {
        *uses.entry(r.command.as_str()).or_default() += 1;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut names = Vec::with_capacity(results.len());
    for (i, r) in results.iter().enumerate() {
        let name = match &r.parameters {
            Some(params) if uses[r.command.as_str()] > 1 && !params.is_empty() => {
                let list: Vec<String> = params
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => format!("{k}={s}"),
                        other => format!("{k}={other}"),
                    })
                    .collect();
                format!("{} {{{}}}", r.command, list.join(","))
            }
            _ => r.command.clone(),
        };
        if let Some(first) = seen.insert(name.clone(), i) {
            bail!(
                "field `results[{i}].command`: results[{first}] and results[{i}] are both `{name}`; \
                 give each command its own name with `-n`"
            );
        }
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str) -> Result<Parsed> {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hyperfine")
            .join(name);
        parse(&mut std::fs::read_to_string(path).expect("fixture").as_bytes())
    }

    fn ms(p: &Parsed, name: &str) -> f64 {
        let m = p
            .metrics
            .get(name)
            .unwrap_or_else(|| panic!("no metric {name}"));
        assert_eq!(m.unit, Unit::Ms, "{name}");
        m.value
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn two_commands_in_ms_with_times_as_periods() {
        let p = read("two-commands.json").expect("parses");
        assert_eq!(p.detail.as_deref(), Some("2 commands"));
        assert!(close(ms(&p, "sleep 0.01.mean"), 11.739_802_500_000_002));
        assert!(close(ms(&p, "sleep 0.01.median"), 11.709_938_500_000_001));
        assert!(close(ms(&p, "sleep 0.01.min"), 11.652_257_5));
        assert!(close(ms(&p, "sleep 0.01.max"), 11.876_690_500_000_002));
        assert!(close(ms(&p, "sleep 0.01.stddev"), 0.095_665_385_675_802_78));
        assert!(close(ms(&p, "sleep 0.02.user"), 1.061_74));
        assert!(close(ms(&p, "sleep 0.02.system"), 0.710_76));
        assert_eq!(p.metrics["sleep 0.02.runs"], Measurement::count(5.0));
        assert_eq!(p.metrics.len(), 16);
        assert_eq!(p.periods.len(), 5);
        assert!(close(p.periods[1]["sleep 0.02.mean"].value, 22.069_371_5));
        assert!(close(
            p.periods[4]["sleep 0.01.mean"].value,
            11.876_690_500_000_002
        ));
        assert_eq!(p.periods[0].len(), 2);
    }

    #[test]
    fn a_scan_that_repeats_the_command_names_it_with_its_parameters() {
        let p = read("parameter-scan.json").expect("parses");
        assert!(close(
            ms(&p, "sleep 0.01 {size=small}.mean"),
            11.635_544_566_666_668
        ));
        assert!(close(
            ms(&p, "sleep 0.01 {size=large}.mean"),
            11.660_574_233_333_333
        ));
        assert!(!p.metrics.contains_key("sleep 0.01.mean"));
        // Distinct commands keep their plain names even in a scan.
        let text = r#"{"results":[{"command":"sleep 0.010","mean":0.01,"times":[0.01,0.01],"exit_codes":[0,0],"parameters":{"ms":"10"}}]}"#;
        assert!(parse(&mut text.as_bytes())
            .expect("parses")
            .metrics
            .contains_key("sleep 0.010.mean"));
        let numbers = r#"{"results":[{"command":"a","mean":1,"times":[1],"parameters":{"n":1}},{"command":"a","mean":2,"times":[2],"parameters":{"n":2}}]}"#;
        assert!(parse(&mut numbers.as_bytes())
            .expect("parses")
            .metrics
            .contains_key("a {n=2}.mean"));
    }

    #[test]
    fn a_single_run_has_no_stddev() {
        let p = read("single-run.json").expect("parses");
        assert!(close(ms(&p, "sleep 0.05.mean"), 51.667_739_76));
        assert!(!p.metrics.contains_key("sleep 0.05.stddev"));
        assert_eq!(p.metrics["sleep 0.05.runs"], Measurement::count(1.0));
        assert_eq!(p.periods.len(), 1);
    }

    #[test]
    fn failing_runs_keep_their_timings_and_are_named_in_the_detail() {
        let p = read("failing-ignored.json").expect("parses");
        assert_eq!(
            p.detail.as_deref(),
            Some("2 commands; `sh -c \"exit 3\"` failed (non-zero exit or signal) in 3 of 3 runs")
        );
        assert!(close(
            ms(&p, "sh -c \"exit 3\".mean"),
            0.938_210_333_333_333_4
        ));
        assert_eq!(p.metrics["true.runs"], Measurement::count(3.0));
    }

    #[test]
    fn bad_input_names_the_field() {
        let text = std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/hyperfine/two-commands.json"),
        )
        .expect("fixture");
        let e = |t: &str| format!("{:#}", parse(&mut t.as_bytes()).expect_err("bad"));
        assert!(e(&text[..text.len() / 2]).contains("EOF while parsing"));
        assert!(e(r#"{"results":[]}"#).contains("`results`: empty"));
        // Python's json module writes NaN literally; JSON has no NaN.
        let nan = e(r#"{"results":[{"command":"a","mean":NaN}]}"#);
        assert!(
            nan.contains("invalid") || nan.contains("results[0].mean"),
            "{nan}"
        );
        let twice = e(
            r#"{"results":[{"command":"a","mean":1,"times":[1]},{"command":"a","mean":2,"times":[2]}]}"#,
        );
        assert!(
            twice.contains("results[0] and results[1] are both `a`"),
            "{twice}"
        );
    }

    #[test]
    fn a_bad_command_drops_that_command_only() {
        let text = std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/hyperfine/two-commands.json"),
        )
        .expect("fixture");
        let original = parse(&mut text.as_bytes()).expect("parses");
        let why = |p: &Parsed| {
            let reasons: std::collections::BTreeSet<&String> = p.dropped.values().collect();
            assert_eq!(reasons.len(), 1, "{reasons:?}");
            reasons.into_iter().next().expect("one").clone()
        };
        // Replaces the first `from` in the second command's result.
        let second = text.find("\"sleep 0.02\"").expect("second command");
        let bad = |from: &str, to: &str| {
            let at = second + text[second..].find(from).expect("in the second result");
            let bad = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
            parse(&mut bad.as_bytes()).expect("read, less one command")
        };
        for (from, to, reason) in [
            (
                "0.0217601785",
                "-0.0217601785",
                "field `results[1].times[2]`: -0.0217601785 is negative, which this quantity \
                 cannot be",
            ),
            (
                "\"mean\": 0.021889203700000002",
                "\"mean\": \"NaN\"",
                "field `results[1].mean`: \"NaN\" is not a number",
            ),
            (
                "\"max\": 0.0220693715",
                "\"max\": 1e306",
                "field `results[1].max`: 1e306 is too large to convert to the metric's unit \
                 (×1000)",
            ),
            (
                "        0\n      ]",
                "        0, 0\n      ]",
                "field `results[1].times`: 5 times but 6 exit codes; one of each per run",
            ),
        ] {
            let p = bad(from, to);
            let mut expected = original.metrics.clone();
            expected.retain(|name, _| !name.starts_with("sleep 0.02."));
            assert_eq!(p.metrics, expected, "{to}");
            let names: Vec<String> = STATS
                .iter()
                .chain(&["runs"])
                .map(|stat| format!("sleep 0.02.{stat}"))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(p.dropped.keys().cloned().collect::<Vec<_>>(), names);
            assert_eq!(
                why(&p),
                format!("{reason} (the command's other values are not read either)")
            );
            // Its times are no samples either.
            for (period, whole) in p.periods.iter().zip(&original.periods) {
                let mut whole = whole.clone();
                whole.remove("sleep 0.02.mean");
                assert_eq!(period, &whole);
            }
        }
        let none = parse(
            &mut r#"{"results":[{"command":"a","mean":1,"times":[],"exit_codes":[]}]}"#.as_bytes(),
        )
        .expect("read");
        assert_eq!(
            none.dropped["a.mean"],
            "field `results[0].times`: command `a` has no runs (the command's other values are \
             not read either)"
        );
    }

    #[test]
    fn detected_by_content_and_the_times_are_the_samples_of_the_mean() {
        use crate::ingest::{load_source, sniff, Files, Format, Location, SourceSpec, Wanted};
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hyperfine/two-commands.json");
        let text = std::fs::read_to_string(&path).expect("fixture");
        assert_eq!(sniff(&text).ok(), Some(Format::Hyperfine));
        assert_eq!(sniff(&text[..text.len() / 2]).ok(), Some(Format::Hyperfine));
        let spec = SourceSpec {
            lenient: false,
            files: Files::Runs,
            wanted: Wanted::All,
            format: None,
            location: Location::Files(path.display().to_string()),
        };
        let source = load_source("bench", &spec).expect("loads");
        let samples = &source.samples["sleep 0.02.mean"];
        assert_eq!(samples.len(), 5);
        assert!(close(samples[0], 21.550_342_5) && close(samples[4], 22.027_905_5));
        let mean = samples.iter().sum::<f64>() / 5.0;
        assert!(close(mean, source.metrics["sleep 0.02.mean"].value));
        assert!(!source.samples.contains_key("sleep 0.02.median"));
    }
}
