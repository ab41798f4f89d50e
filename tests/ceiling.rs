//! perfgate's memory ceiling, input kind by input kind: a large input of each kind goes through
//! the binary under GNU time, and its peak resident set size stays under 256 MiB, and within
//! 64 MiB of what perfgate must hold of it (nothing of a JSON report, which is read from the file
//! as it is parsed; all of a text report read whole). Each input is one that took far more
//! before (the figures are in the comments), or a large one that must still be read. The
//! streams are in tests/streaming.rs and tests/limits.rs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

mod common;

use common::peak::{perfgate, Run};

const MIB: u64 = 1 << 20;

/// Asserts the run's peak is under 256 MiB and under `held` plus 64 MiB.
fn assert_ceiling(run: &Run, held: u64) {
    if let Some(peak) = run.peak_kib.map(|kib| kib * 1024) {
        assert!(
            peak < 256 * MIB && peak < held + 64 * MIB,
            "peak {} MiB, {} MiB held: {}",
            peak / MIB,
            held / MIB,
            run.stderr
        );
    }
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).expect("size").len()
}

#[test]
fn a_lighthouse_report_with_a_hundred_mib_screenshot_is_read_without_holding_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let real = std::fs::read_to_string("tests/fixtures/lighthouse/desktop-fast-12.8.2.json")
        .expect("the fixture");
    let mut lhr: serde_json::Value = serde_json::from_str(&real).expect("JSON");
    // Lighthouse keeps a full-page screenshot as a data URL; a very long page makes a large one.
    let data = format!("data:image/webp;base64,{}", "A".repeat(100 << 20));
    lhr["fullPageScreenshot"] =
        serde_json::json!({"screenshot": {"data": data, "width": 1350, "height": 90000}});
    let path = dir.path().join("lhr.json");
    std::fs::write(&path, serde_json::to_vec(&lhr).expect("JSON")).expect("write");
    drop(lhr);

    let run = perfgate(["metrics", "lhr.json"], Some(dir.path()));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("score.performance"), "{}", run.stdout);
    // What the reader does not use is read past, the screenshot too.
    assert!(size(&path) > 100 * MIB);
    assert_ceiling(&run, 0);
}

#[test]
fn generic_json_values_stop_at_the_ceiling() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A k6 summary is read as generic JSON values: two million small objects in 16 MB took
    // 1.4 GiB that way.
    let mut text = String::from(r#"{"root_group":{},"metrics":{"x":["#);
    for i in 0..2_000_000 {
        text.push_str(if i == 0 { r#"{"a":0}"# } else { r#",{"a":0}"# });
    }
    text.push_str("]}}");
    let path = dir.path().join("summary.json");
    std::fs::write(&path, &text).expect("write");
    drop(text);

    let run = perfgate(["metrics", "summary.json"], Some(dir.path()));
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("summary.json: reading k6 output: it would take more than the 192 MiB of memory perfgate allows itself"),
        "{}",
        run.stderr
    );
    assert_ceiling(&run, 192 * MIB);
}

/// A one-line JSON document: a Lighthouse-looking object with an array of `count` zeros.
fn numbers(path: &Path, count: usize) {
    let file = std::fs::File::create(path).expect("create");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    out.write_all(br#"{"lighthouseVersion":"12.8.2","audits":{},"x":[0"#)
        .expect("write");
    let chunk = ",0".repeat(1 << 16);
    for _ in 0..(count - 1) >> 16 {
        out.write_all(chunk.as_bytes()).expect("write");
    }
    out.write_all(b"]}").expect("write");
    out.flush().expect("flush");
}

#[test]
fn a_one_line_json_of_fifty_million_numbers_is_read_past_not_held() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Numbers in one line, held whole as text then as generic values, took 16 times the file's
    // size (a 10 MB file, 177 MiB). Read straight from the file, twice (to tell its format, then
    // to read it), none of it is held: the peak is far below the file's 100 MB.
    let path = dir.path().join("large.json");
    numbers(&path, 50_000_000);
    assert!(size(&path) > 99_000_000);
    let run = perfgate(["metrics", "large.json"], Some(dir.path()));
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("large.json: reading lighthouse output: field `categories` is missing"),
        "{}",
        run.stderr
    );
    assert_ceiling(&run, 0);
}

/// A Prometheus `/api/v1/query` answer of `series` series, one per `instance`.
fn answer(series: usize) -> String {
    let mut text = String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
    for i in 0..series {
        if i > 0 {
            text.push(',');
        }
        let _ = write!(
            text,
            r#"{{"metric":{{"__name__":"up","job":"node","instance":"10.0.{}.{}:9100"}},"value":[1764500000.123,"1"]}}"#,
            i / 256,
            i % 256
        );
    }
    text.push_str("]}}");
    text
}

#[test]
fn a_saved_prometheus_answer_of_a_million_series_is_refused_at_the_series_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("answer.json");
    std::fs::write(&path, answer(1_000_000)).expect("write");
    // Read whole into generic values, this took 1 GiB before failing.
    let run = perfgate(["metrics", "answer.json"], Some(dir.path()));
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "field `data.result`: more than the 1024 series perfgate takes from one query"
        ),
        "{}",
        run.stderr
    );
    assert_ceiling(&run, size(&path));
}

#[test]
fn a_live_prometheus_answer_of_a_hundred_mb_is_cut_off_at_the_answer_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let body = std::sync::Arc::new(answer(1_000_000));
    assert!(body.len() > 100_000_000);
    let url = common::http::serve(move |_, _| (200, Vec::new(), body.to_string()));
    std::fs::write(
        dir.path().join("budget.toml"),
        format!(
            "[sources.db]\nformat = \"prometheus\"\nurl = \"{url}\"\ntimeout = \"60s\"\n\
             [sources.db.queries]\nup = 'up'\n\n[[budget]]\nmetric = \"db.up\"\ntarget = \"> 0\"\n"
        ),
    )
    .expect("write the budget");
    let run = perfgate(["check", "--budget", "budget.toml"], Some(dir.path()));
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the answer is longer than the 16 MiB perfgate reads of one query"),
        "{}",
        run.stderr
    );
    assert_ceiling(&run, 16 * MIB);
}

#[test]
fn a_metrics_page_of_millions_of_series_stops_at_the_ceiling() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("metrics.prom");
    let file = std::fs::File::create(&path).expect("create");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(out, "# TYPE http_requests_total counter").expect("write");
    for i in 0..2_500_000u32 {
        writeln!(out, "http_requests_total{{path=\"/p{i}\"}} 1").expect("write");
    }
    out.flush().expect("flush");
    drop(out);
    assert!(size(&path) < 128 * MIB);

    let run = perfgate(["metrics", "metrics.prom"], Some(dir.path()));
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("it would take more than the 192 MiB of memory perfgate allows itself"),
        "{}",
        run.stderr
    );
    assert_ceiling(&run, 192 * MIB);
}

#[test]
fn an_xml_jtl_tag_of_many_mebibytes_is_refused_without_being_held() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("results.jtl");
    let label = "x".repeat(64 << 20);
    std::fs::write(
        &path,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testResults version=\"1.2\">\n\
             <httpSample t=\"12\" lt=\"10\" ts=\"1764500000000\" s=\"true\" lb=\"{label}\" rc=\"200\"/>\n\
             </testResults>\n"
        ),
    )
    .expect("write");
    let run = perfgate(["metrics", "results.jtl"], Some(dir.path()));
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("line 3: a tag (with the text before it) longer than 4 MiB"),
        "{}",
        run.stderr
    );
    assert_ceiling(&run, 0);
}

#[test]
fn a_large_built_file_is_compressed_as_it_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dist = dir.path().join("dist");
    std::fs::create_dir(&dist).expect("dist");
    std::fs::write(
        dist.join("index.html"),
        "<script src=\"app.wasm\"></script>",
    )
    .expect("write");
    // A 160 MiB module of zeros (a sparse file): read whole to be compressed, it took a peak of
    // 173 MiB; compressed as it is read, 13 MiB.
    let wasm = std::fs::File::create(dist.join("app.wasm")).expect("create");
    wasm.set_len(160 * MIB).expect("size");
    std::fs::write(
        dir.path().join("budget.toml"),
        "[sources.site]\nformat = \"dir\"\npath = \"dist\"\n\n\
         [[budget]]\nmetric = \"site.asset.app.wasm.gzip\"\ntarget = \"< 1MB\"\n",
    )
    .expect("write the budget");
    let run = perfgate(
        ["check", "--budget", "budget.toml", "--format", "json"],
        Some(dir.path()),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let verdict: serde_json::Value = serde_json::from_str(&run.stdout).expect("the verdict");
    // The same size as compressing the file held whole, as perfgate did (GNU gzip -9 gives
    // 162,842: another implementation of the same format).
    let mut whole = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    whole.write_all(&vec![0; 160 << 20]).expect("compress");
    let whole = whole.finish().expect("compress").len() as f64;
    assert_eq!(verdict["metrics"][0]["value"], whole, "{}", run.stdout);
    assert_eq!(whole, 162_988.0);
    assert_ceiling(&run, 0);
}
