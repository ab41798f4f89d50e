//! The limits that keep a hostile or generated report from taking memory without bound: each is
//! reached through the binary, the file is refused with exit 2 and a message naming the file and
//! the limit, and GNU time's peak resident set size shows the refusal came before the memory went.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;

mod common;

use common::peak::{self, Run};

/// Runs `perfgate metrics --format <format> <file>` (under GNU time when it is installed) and
/// asserts it exits 2.
fn refused(format: &str, file: &Path) -> Run {
    let run = peak::perfgate(
        [
            OsStr::new("metrics"),
            OsStr::new("--format"),
            OsStr::new(format),
            file.as_os_str(),
        ],
        None,
    );
    // GNU time reports the command's exit status as its own.
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    run
}

/// Asserts a refusal names the file and says `message`.
fn assert_names(refusal: &Run, file: &Path, message: &str) {
    assert!(
        refusal.stderr.contains(&format!("{}: ", file.display()))
            && refusal.stderr.contains(message),
        "{}",
        refusal.stderr
    );
}

/// Asserts a refusal's peak RSS is under `budget_mib`, when GNU time measured it.
fn assert_peak_below(refusal: &Run, budget_mib: u64) {
    if let Some(peak) = refusal.peak_kib {
        assert!(
            peak < budget_mib * 1024,
            "peak RSS {peak} KiB: {}",
            refusal.stderr
        );
    }
}

#[test]
fn a_k6_stream_of_thousands_of_distinct_metrics_is_refused_at_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("metrics.ndjson");
    // Each distinct trend costs a histogram of its own (about 190 KiB for samples of 1–4 s): all
    // 3,000 took 550 MiB before the cap, the 256 read before the refusal 58 MiB.
    let mut text = String::new();
    for i in 0..3_000 {
        let name = format!("custom_{i}");
        let _ = writeln!(
            text,
            r#"{{"type":"Metric","data":{{"name":"{name}","type":"trend","contains":"time","thresholds":[],"submetrics":null}},"metric":"{name}"}}"#
        );
        let _ = writeln!(
            text,
            r#"{{"metric":"{name}","type":"Point","data":{{"time":"2026-11-30T12:00:00.5+00:00","value":{},"tags":{{}}}}}}"#,
            1000 + i
        );
    }
    std::fs::write(&path, text).expect("write the stream");
    let refusal = refused("k6", &path);
    assert_names(
        &refusal,
        &path,
        "line 513: metric `custom_256` is one more than the 256 distinct metrics \
                 perfgate reads from one stream",
    );
    assert_peak_below(&refusal, 96);
}

#[test]
fn a_k6_metric_name_longer_than_the_limit_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("long.ndjson");
    let name = "m".repeat(2_000);
    std::fs::write(
        &path,
        format!(
            r#"{{"type":"Metric","data":{{"name":"{name}","type":"trend","contains":"time","thresholds":[],"submetrics":null}},"metric":"{name}"}}
{{"metric":"{name}","type":"Point","data":{{"time":"2026-11-30T12:00:00.5+00:00","value":1,"tags":{{}}}}}}
"#
        ),
    )
    .expect("write the stream");
    let refusal = refused("k6", &path);
    assert_names(
        &refusal,
        &path,
        "line 1: field `metric`: a name of 2000 bytes, longer than the 1024 bytes \
                 perfgate takes",
    );
}

#[test]
fn a_gzip_bomb_is_refused_with_the_decompressed_limit_before_it_is_held() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.json.gz");
    // Gzip members concatenated make one file (RFC 1952): 9 members of 16 MiB of spaces each
    // inflate 147 KB to 144 MiB, past the 128 MiB limit. With a limit of 1 GiB, 65 members
    // (1,040 MiB) were refused the same way; holding them whole took 1,035 MiB.
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&[b' '; 1 << 24]).expect("compress");
    let member = member.finish().expect("compress");
    std::fs::write(&path, member.repeat(9)).expect("write the bomb");
    let refusal = refused("lighthouse", &path);
    assert!(
        refusal.stderr.contains(&format!(
            "{}: decompressed, this gzip file of {} bytes passes the limit of 134217728 bytes \
             (128 MiB) perfgate reads whole from a report",
            path.display(),
            member.len() * 9
        )),
        "{}",
        refusal.stderr
    );
    assert_peak_below(&refusal, 64);
}

/// A Locust 2.x `_stats.csv` with one `GET` row per name and the `Aggregated` row.
fn locust_stats(names: impl Iterator<Item = String>) -> String {
    let mut text = String::from(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
         Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,\
         75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n",
    );
    let values = "10,0,20,21.5,5,80,512,1.5,0,20,22,25,27,30,40,50,60,80,80,80";
    for name in names {
        let _ = writeln!(text, "GET,{name},{values}");
    }
    let _ = writeln!(text, ",Aggregated,{values}");
    text
}

#[test]
fn a_locust_stats_file_of_more_rows_than_the_limit_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("run_stats.csv");
    // Before the cap a row took 5 KiB: 200,000 rows (16 MB) peaked at 1,018 MiB. With it, the
    // refusal of those 200,000 peaked at 41 MiB (the file is read whole first).
    std::fs::write(
        &path,
        locust_stats((0..50_000).map(|i| format!("/api/item/{i}"))),
    )
    .expect("write the stats");
    let refusal = refused("locust", &path);
    assert_names(
        &refusal,
        &path,
        "line 10002: one row more than the 10000 rows perfgate reads from a Locust \
                 stats file",
    );
    assert_peak_below(&refusal, 64);
}

#[test]
fn a_locust_request_name_longer_than_the_limit_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("run_stats.csv");
    let names = ["/ok".to_string(), format!("/{}", "x".repeat(4_999))];
    std::fs::write(&path, locust_stats(names.into_iter())).expect("write the stats");
    let refusal = refused("locust", &path);
    assert_names(
        &refusal,
        &path,
        "line 3: field `Name`: a name of 5000 bytes, longer than the 1024 bytes \
                 perfgate takes",
    );
}

const JTL_HEADER: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,\
                          dataType,success,failureMessage,bytes,grpThreads,allThreads,URL,\
                          Latency,IdleTime,Connect\n";

/// A JMeter 5.x CSV JTL row with the given label and response message fields, as written.
fn jtl_row(label: &str, message: &str) -> String {
    format!(
        "1796053185763,276,{label},200,{message},users 1-2,text,true,,221,2,2,\
         http://127.0.0.1:18788/ok,276,0,0\n"
    )
}

#[test]
fn a_jtl_field_of_many_mebibytes_is_refused_without_being_held() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("results.jtl");
    // One 48 MiB label: held whole, copied into each statistic's name, it peaked at 1,165 MiB.
    let text = [
        JTL_HEADER.to_string(),
        jtl_row("ok", "OK"),
        jtl_row(&"x".repeat(48 << 20), "OK"),
    ]
    .concat();
    std::fs::write(&path, text).expect("write the JTL");
    let refusal = refused("jmeter", &path);
    assert!(
        refusal.stderr.contains(&format!("{}: ", path.display()))
            && refusal
                .stderr
                .contains("line 3: a record longer than 4 MiB (a label or message of that size"),
        "{}",
        refusal.stderr
    );
    assert_peak_below(&refusal, 32);
}

#[test]
fn a_quoted_jtl_field_spanning_a_million_lines_is_read_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("results.jtl");
    // A message of 1.5 M lines of `""` (an escaped quote): each line re-split the whole record
    // from its start (still running after 60 s); scanned once, it reaches the 4 MiB cap at once.
    let message = format!("\"{}\"", "\"\"\n".repeat(1_500_000));
    let text = [JTL_HEADER.to_string(), jtl_row("ok", &message)].concat();
    std::fs::write(&path, text).expect("write the JTL");
    let refusal = refused("jmeter", &path);
    assert!(
        refusal.stderr.contains(&format!("{}: ", path.display()))
            && refusal
                .stderr
                .contains("line 2: a record longer than 4 MiB (a label or message of that size"),
        "{}",
        refusal.stderr
    );
}

#[test]
fn a_jtl_label_longer_than_the_limit_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("results.jtl");
    let text = [
        JTL_HEADER.to_string(),
        jtl_row("ok", "OK"),
        jtl_row(&format!("\"{}\"", "y".repeat(2_000)), "OK"),
    ]
    .concat();
    std::fs::write(&path, text).expect("write the JTL");
    let refusal = refused("jmeter", &path);
    assert_names(
        &refusal,
        &path,
        "line 3: column `label`: a label of 2000 bytes, longer than the 1024 bytes \
                 perfgate takes",
    );
}

#[test]
fn a_metrics_page_with_a_label_value_longer_than_the_limit_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("metrics.prom");
    // A 32 MiB label value: it was read, and copied into each name the family makes.
    let text = format!(
        "# TYPE http_requests_total counter\n\
         http_requests_total{{path=\"/ok\"}} 3\n\
         http_requests_total{{path=\"/{}\"}} 4\n",
        "z".repeat(32 << 20)
    );
    std::fs::write(&path, text).expect("write the page");
    let refusal = refused("prometheus", &path);
    assert!(
        refusal.stderr.contains(&format!("{}: ", path.display()))
            && refusal.stderr.contains(&format!(
                "line 3: a sample line of {} bytes, longer than the 1024 bytes perfgate takes \
                 for a series name (metric name and labels) and 64 for its value and timestamp",
                32 * 1024 * 1024 + 31
            )),
        "{}",
        refusal.stderr
    );
    // The page is read whole (32 MiB, 74 MiB peak) before the line is refused, never copied.
    assert_peak_below(&refusal, 96);
}

#[test]
fn a_lighthouse_audit_id_longer_than_the_limit_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("lhr.json");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lighthouse/desktop-fast-12.8.2.json"
    );
    let mut lhr: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture")).expect("JSON");
    // An 8 MiB id: it was copied into its metric's name, its messages and `closest:` hints.
    lhr["audits"]["a".repeat(8 << 20)] = serde_json::json!({
        "id": "x", "score": 1, "scoreDisplayMode": "numeric", "numericValue": 5,
        "numericUnit": "millisecond"
    });
    std::fs::write(&path, lhr.to_string()).expect("write the report");
    let refusal = refused("lighthouse", &path);
    assert_names(
        &refusal,
        &path,
        "field `audits`: an audit id of 8388608 bytes, longer than the 1024 bytes \
                 perfgate takes",
    );
    assert_peak_below(&refusal, 64);
}

#[test]
fn a_k6_tag_value_longer_than_the_limit_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tags.ndjson");
    // Each of 256 `name` values made a sub-metric series and kept two copies of its value.
    let url = format!("http://127.0.0.1/{}", "p".repeat(9_000));
    std::fs::write(
        &path,
        format!(
            r#"{{"type":"Metric","data":{{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":null}},"metric":"http_reqs"}}
{{"metric":"http_reqs","type":"Point","data":{{"time":"2026-11-30T12:00:00.5+00:00","value":1,"tags":{{"name":"{url}","status":"200"}}}}}}
"#
        ),
    )
    .expect("write the stream");
    let refusal = refused("k6", &path);
    assert_names(
        &refusal,
        &path,
        "line 2: field `data.tags.name`: a value of 9017 bytes, longer than the 8192 \
                 bytes perfgate takes",
    );
}
