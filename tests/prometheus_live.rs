//! Live Prometheus queries end to end: the real `prometheus` binary scrapes a page this test
//! serves itself, and perfgate queries it; plus the ways a live query fails (refused, silent
//! server, credentials in the URL).
//!
//! The one rule: everything stays on 127.0.0.1 and every child process is killed, even when an
//! assertion fails. Without `prometheus` on PATH the live part is skipped with a line on stderr,
//! unless `PERFGATE_REQUIRE_PROMETHEUS=1` (set in CI) makes that a failure.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use perfgate::ingest::{load_source, Files, Format, Location, SourceSpec, Wanted};
use perfgate::model::{Measurement, Unit};

/// The page the scraped target serves: a histogram with known cumulative bucket counts.
const PAGE: &str = "\
# HELP test_latency_ms Request latency in milliseconds.
# TYPE test_latency_ms histogram
test_latency_ms_bucket{le=\"10\"} 40
test_latency_ms_bucket{le=\"20\"} 70
test_latency_ms_bucket{le=\"50\"} 90
test_latency_ms_bucket{le=\"100\"} 98
test_latency_ms_bucket{le=\"+Inf\"} 100
test_latency_ms_sum 2345
test_latency_ms_count 100
";

/// histogram_quantile(0.95) of `PAGE`: rank 0.95 × 100 = 95 falls in (50, 100], where the counts
/// go from 90 to 98, so 50 + (100 − 50) × (95 − 90) / (98 − 90) = 50 + 50 × 5/8 = 81.25.
const EXPECTED_P95: f64 = 81.25;

/// Kills and reaps the child when dropped, whatever happened in between.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prometheus_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("prometheus"))
        .find(|candidate| candidate.is_file())
}

/// A port that was free a moment ago (bound, then released for the child to take).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Serves `PAGE` to every request, on a thread, until the test process exits.
fn serve_page() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            answer(stream);
        }
    });
    port
}

fn answer(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
        PAGE.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

fn spec(url: &str, queries: &[(&str, &str)], timeout: Duration) -> SourceSpec {
    SourceSpec {
        lenient: false,
        files: Files::Runs,
        wanted: Wanted::All,
        format: Some(Format::Prometheus),
        location: Location::PrometheusApi {
            url: url.to_string(),
            queries: queries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            timeout,
        },
    }
}

#[test]
fn a_real_prometheus_answers_the_exact_quantile() {
    let Some(binary) = prometheus_binary() else {
        if std::env::var("PERFGATE_REQUIRE_PROMETHEUS").as_deref() == Ok("1") {
            panic!("PERFGATE_REQUIRE_PROMETHEUS=1 but `prometheus` is not on PATH");
        }
        eprintln!("SKIPPED a_real_prometheus_answers_the_exact_quantile: `prometheus` is not on PATH (apt-get install -y prometheus)");
        return;
    };
    let target = serve_page();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: page\n    \
             static_configs: [{{ targets: ['127.0.0.1:{target}'] }}]\n"
        ),
    )
    .expect("write the config");
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
    let child = Command::new(&binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let _guard = KillOnDrop(child);

    // Credentials in the URL must be accepted (Prometheus ignores them unless configured) and
    // never shown.
    let url = format!("http://user:secret@127.0.0.1:{port}");
    let spec = spec(
        &url,
        &[
            (
                "query_p95",
                "histogram_quantile(0.95, sum by (le) (test_latency_ms_bucket))",
            ),
            ("observations", "test_latency_ms_count"),
        ],
        Duration::from_secs(5),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let source = loop {
        match load_source("db", &spec) {
            Ok(source) => break source,
            // Until the first scrape the query finds no series.
            Err(_) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => {
                let log =
                    std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
                panic!("no answer from prometheus in 60 s: {e:#}\n{log}");
            }
        }
    };
    assert_eq!(
        source.metrics["query_p95"],
        Measurement::new(EXPECTED_P95, Unit::None)
    );
    assert_eq!(source.metrics["observations"], Measurement::count(100.0));
    let labelled = format!(
        "observations{{__name__=\"test_latency_ms_count\",instance=\"127.0.0.1:{target}\",job=\"page\"}}"
    );
    assert_eq!(source.metrics[&labelled], Measurement::count(100.0));
    assert_eq!(source.metrics.len(), 3);
    let report = &source.reports[0];
    let detail = report.detail.as_deref().unwrap_or_default();
    assert_eq!(detail, format!("Prometheus http://127.0.0.1:{port}"));
    assert!(!report.path.display().to_string().contains("secret"));

    let bad = one_query(&url, "broken", "sum(");
    let e = format!("{:#}", load_source("db", &bad).expect_err("a syntax error"));
    assert!(e.contains("query `broken`"), "{e}");
    assert!(
        e.contains("returned HTTP status 400 Bad Request: bad_data"),
        "{e}"
    );
    assert!(!e.contains("secret"), "{e}");
}

fn one_query(url: &str, name: &str, query: &str) -> SourceSpec {
    spec(url, &[(name, query)], Duration::from_secs(5))
}

#[test]
fn a_refused_port_says_refused_and_names_the_url() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let e = load_source("db", &one_query(&url, "query_p95", "up")).expect_err("refused");
    let e = format!("{e:#}");
    assert!(e.contains("connection refused"), "{e}");
    assert!(e.contains(&format!("{url}/api/v1/query")), "{e}");
    assert!(e.contains("query `query_p95`"), "{e}");
}

#[test]
fn a_silent_server_times_out_within_the_timeout() {
    // Connections complete in the listen backlog, but nothing ever accepts or answers them.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let spec = spec(&url, &[("query_p95", "up")], Duration::from_millis(800));
    let e = format!("{:#}", load_source("db", &spec).expect_err("timed out"));
    let elapsed = start.elapsed();
    assert!(e.contains("timed out after 0.8 s"), "{e}");
    assert!(e.contains(&url), "{e}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    drop(listener);
}

#[test]
fn credentials_never_appear_in_errors() {
    let port = free_port();
    let url = format!("http://admin:s3cr3t-token@127.0.0.1:{port}/prom");
    let e = load_source("db", &one_query(&url, "query_p95", "up")).expect_err("refused");
    let e = format!("{e:#} {e:?}");
    assert!(!e.contains("s3cr3t-token"), "{e}");
    assert!(!e.contains("admin"), "{e}");
    assert!(
        e.contains(&format!("http://127.0.0.1:{port}/prom/api/v1/query")),
        "{e}"
    );
}
