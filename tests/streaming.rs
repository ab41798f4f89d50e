//! Raw result streams are read in bounded memory: a generated k6 `--out json` stream twice as large
//! as the memory budget goes through the binary, and GNU time's peak resident set size stays under
//! the issue's 64 MiB — whatever the stream's size, only histograms and counters are kept.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

mod common;

use common::peak;

/// Writes a k6 v1.1.0-shaped stream: the Metric lines, then three points per request.
fn write_stream(path: &Path, requests: u64) -> u64 {
    let file = std::fs::File::create(path).expect("create the stream");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    for (name, kind, contains) in [
        ("http_reqs", "counter", "default"),
        ("http_req_duration", "trend", "time"),
        ("http_req_failed", "rate", "default"),
    ] {
        writeln!(
            out,
            r#"{{"type":"Metric","data":{{"name":"{name}","type":"{kind}","contains":"{contains}","thresholds":[],"submetrics":null}},"metric":"{name}"}}"#
        )
        .expect("write");
    }
    let mut line = String::new();
    for i in 0..requests {
        // A deterministic spread of durations, 20–80 ms, and one failure in 200.
        let ms = 20.0 + ((i * 7919) % 6000) as f64 / 100.0;
        let failed = u8::from(i % 200 == 0);
        let status = if failed == 1 { "500" } else { "200" };
        let t = format!(
            "2026-11-26T12:{:02}:{:02}.{:06}+01:00",
            (i / 60_000) % 60,
            (i / 1000) % 60,
            (i % 1000) * 1000
        );
        let tags = format!(
            r#"{{"expected_response":"{}","group":"","method":"GET","name":"http://127.0.0.1:8787/api/meetings","proto":"HTTP/1.1","scenario":"default","status":"{status}","url":"http://127.0.0.1:8787/api/meetings"}}"#,
            failed == 0
        );
        line.clear();
        for (name, value) in [
            ("http_reqs", "1".to_string()),
            ("http_req_duration", format!("{ms}")),
            ("http_req_failed", failed.to_string()),
        ] {
            let _ = writeln!(
                line,
                r#"{{"metric":"{name}","type":"Point","data":{{"time":"{t}","value":{value},"tags":{tags}}}}}"#
            );
        }
        out.write_all(line.as_bytes()).expect("write");
    }
    out.flush().expect("flush");
    std::fs::metadata(path).expect("size").len()
}

#[test]
fn a_stream_larger_than_the_memory_budget_is_read_in_bounded_memory() {
    if !peak::gnu_time() {
        eprintln!("skipped: /usr/bin/time (GNU time) is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let stream = dir.path().join("k6.ndjson");
    let requests = 250_000;
    let size = write_stream(&stream, requests);
    const BUDGET_KIB: u64 = 64 * 1024;
    assert!(
        size > 2 * BUDGET_KIB * 1024,
        "the stream ({size} B) dwarfs the budget"
    );

    let run = peak::perfgate(
        [
            OsStr::new("metrics"),
            OsStr::new("--json"),
            OsStr::new("--format"),
            OsStr::new("k6"),
            stream.as_os_str(),
        ],
        None,
    );
    let stderr = &run.stderr;
    assert_eq!(run.code, Some(0), "{stderr}");
    let peak_kib = run
        .peak_kib
        .unwrap_or_else(|| panic!("no peak in {stderr}"));
    assert!(
        peak_kib < BUDGET_KIB,
        "peak RSS {peak_kib} KiB on a {size}-byte stream"
    );

    // The read takes seconds, but stderr is a pipe here: no progress bar, nothing but GNU time's line.
    assert_eq!(
        stderr.lines().filter(|l| !l.starts_with("peak ")).count(),
        0,
        "{stderr}"
    );

    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let m = &v["files"][0]["metrics"];
    assert_eq!(m["http_reqs.count"]["value"], requests as f64);
    assert_eq!(m["http_req_failed.rate"]["value"], 0.5);
    let p95 = m["http_req_duration.p95"]["value"].as_f64().expect("p95");
    // The durations are uniform on [20, 80) ms: the p95 is 77 ms, within the histogram's 0.1 %.
    assert!((p95 - 77.0).abs() < 0.2, "p95 {p95}");
}
