//! `perfgate init` through the binary: the budget it writes from the shipped examples and from a
//! real report of every format is accepted by `check`, which passes on the same reports; it never
//! replaces a file without `--force`, writes nothing when a report cannot be read, and escapes
//! what it copies from reports.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use perfgate::ingest::Format;
use tempfile::TempDir;
use toml_edit::DocumentMut;

/// Variables of the environment that would change what the binary does.
const NOT_INHERITED: [&str; 6] = [
    "PERFGATE_BUDGET",
    "PERFGATE_COMMENT",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_OUTPUT",
    "GITHUB_TOKEN",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary, run in `dir`.
fn perfgate(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = Command::cargo_bin("perfgate").expect("binary");
    cmd.current_dir(dir);
    for var in NOT_INHERITED {
        cmd.env_remove(var);
    }
    cmd.args(args).assert()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).expect("utf-8")
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).expect("utf-8")
}

/// `init REPORTS --output <tmp>/<name>.toml` from the repository's root, then `check` on the written
/// budget there: both must succeed, and every rule must pass. Returns the budget.
fn init_then_check(tmp: &TempDir, name: &str, reports: &[&str]) -> DocumentMut {
    let out = tmp.path().join(format!("{name}.toml"));
    let out_text = out.to_str().expect("utf-8");
    let mut args = vec!["init"];
    args.extend_from_slice(reports);
    args.extend(["--output", out_text]);
    let init = perfgate(repo(), &args);
    let said = stdout(&init);
    let init = init.code(0);
    let text = fs::read_to_string(&out).expect("the budget is written");
    let doc: DocumentMut = text.parse().expect("valid TOML");
    let rules = doc["budget"]
        .as_array_of_tables()
        .expect("[[budget]] rules")
        .len();
    assert!(rules > 0, "{reports:?}: no rule in\n{text}");
    assert!(
        said.contains(&format!(" {rules} rule")),
        "{reports:?}: {said}; {}",
        stderr(&init)
    );
    let check = perfgate(repo(), &["check", "--budget", out_text]);
    let verdict = stdout(&check);
    let check_err = stderr(&check);
    check.code(0);
    assert!(
        verdict.starts_with(&format!("perfgate {name}: PASS ({rules} passed)")),
        "{reports:?}: check says\n{verdict}{check_err}\non the budget\n{text}"
    );
    doc
}

/// Every report the repository ships in `examples/`.
const EXAMPLES: [&str; 10] = [
    "examples/artillery/api-load-report.json",
    "examples/artillery/websocket-report.json",
    "examples/prometheus/metrics.prom",
    "examples/prometheus/db-p95.json",
    "examples/prometheus/cache-hit-ratio.json",
    "examples/bundle/webpack-stats.json",
    "examples/bundle/dist",
    "examples/lighthouse/lhr-1.json",
    "examples/lighthouse/lhr-2.json",
    "examples/lighthouse/lhr-3.json",
];

#[test]
fn the_examples_together_make_a_budget_check_passes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let doc = init_then_check(&tmp, "init-examples", &EXAMPLES);
    let sources: BTreeSet<&str> = doc["sources"]
        .as_table()
        .expect("sources")
        .iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        sources,
        BTreeSet::from([
            "api_load_report",
            "websocket_report",
            "metrics",
            "db_p95",
            "cache_hit_ratio",
            "webpack_stats",
            "dist",
            "lhr",
        ])
    );
    // The three runs of one page are one source, read through a glob that matches exactly them.
    assert_eq!(
        doc["sources"]["lhr"]["path"].as_str(),
        Some("examples/lighthouse/lhr-*.json")
    );
    assert_eq!(
        doc["sources"]["dist"]["format"].as_str(),
        Some("dir"),
        "a built folder"
    );
    let rule = |metric: &str| {
        doc["budget"]
            .as_array_of_tables()
            .expect("rules")
            .iter()
            .find(|r| r["metric"].as_str() == Some(metric))
            .unwrap_or_else(|| panic!("no rule on {metric}"))
            .clone()
    };
    // API P95 is 115.6 ms: × 1.2 = 138.7 → 140 ms, × 1.5 = 173.4 → 180 ms.
    let p95 = rule("api_load_report.http.response_time.p95");
    assert_eq!(p95["target"].as_str(), Some("< 140ms"));
    assert_eq!(p95["critical"].as_str(), Some("< 180ms"));
    assert_eq!(p95["label"].as_str(), Some("api_load_report P95"));
    // No request failed: the error rate's floors, 1 % and 2 %.
    let errors = rule("api_load_report_error_rate");
    assert_eq!(errors["target"].as_str(), Some("< 1%"));
    assert_eq!(errors["critical"].as_str(), Some("< 2%"));
    assert_eq!(errors["unit"].as_str(), Some("%"));
    // The median performance score of the three runs is 84: ÷ 1.2 = 70, ÷ 1.5 = 56.
    let score = rule("lhr.score.performance");
    assert_eq!(score["target"].as_str(), Some("> 70"));
    assert_eq!(score["critical"].as_str(), Some("> 56"));
    for metric in ["lhr.lcp", "lhr.tbt", "lhr.cls", "webpack_stats.initial.raw"] {
        rule(metric);
    }
}

#[test]
fn each_example_alone_makes_a_budget_check_passes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (i, report) in EXAMPLES.iter().enumerate() {
        init_then_check(&tmp, &format!("init-example-{i}"), &[report]);
    }
}

/// A real report of each format perfgate reads, from the fixtures the readers are tested on.
const ONE_PER_FORMAT: [(&str, &str); 15] = [
    (
        "artillery",
        "tests/fixtures/artillery/http-errors-4xx-5xx.json",
    ),
    (
        "lighthouse",
        "tests/fixtures/lighthouse/desktop-fast-12.8.2.json",
    ),
    ("json", "tests/fixtures/json/all-units.json"),
    ("locust", "tests/fixtures/locust/run_stats.csv"),
    (
        "prometheus",
        "tests/fixtures/prometheus/prometheus-self-metrics.prom",
    ),
    ("k6", "tests/fixtures/k6/run.points.ndjson.gz"),
    ("jmeter", "tests/fixtures/jmeter/spec-default-columns.csv"),
    ("hyperfine", "tests/fixtures/hyperfine/parameter-scan.json"),
    ("esbuild", "tests/fixtures/esbuild/meta.json"),
    ("webpack", "tests/fixtures/webpack/multi/stats.json"),
    ("gatling", "tests/fixtures/gatling/spec-stats.json"),
    ("autocannon", "tests/fixtures/autocannon/flaky.json"),
    ("vite", "tests/fixtures/vite/dist/.vite/manifest.json"),
    ("size-limit", "tests/fixtures/size-limit/passing.json"),
    ("dir", "tests/fixtures/vite/dist"),
];

#[test]
fn a_real_report_of_every_format_makes_a_budget_check_passes() {
    let covered: BTreeSet<&str> = ONE_PER_FORMAT.iter().map(|(f, _)| *f).collect();
    let formats: BTreeSet<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(covered, formats, "one fixture per format");
    let tmp = tempfile::tempdir().expect("tempdir");
    for (format, report) in ONE_PER_FORMAT {
        let doc = init_then_check(&tmp, &format!("init-{format}"), &[report]);
        let (_, source) = doc["sources"]
            .as_table()
            .expect("sources")
            .iter()
            .next()
            .expect("one source");
        assert_eq!(source["format"].as_str(), Some(format), "{report}");
        assert_eq!(source["path"].as_str(), Some(report), "the path as given");
    }
}

#[test]
fn more_of_each_kind_of_fixture_make_budgets_check_passes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let doc = init_then_check(
        &tmp,
        "init-more",
        &[
            "tests/fixtures/artillery/v1-artillery-1.7.9-errors.json",
            "tests/fixtures/artillery/v1-legacy-format-artillery-2.0.21.json",
            "tests/fixtures/artillery/websocket-message-latency.json",
            "tests/fixtures/k6/run.summary-export.json",
            "tests/fixtures/k6/run.handle-summary.json",
            "tests/fixtures/jmeter/spec-results.xml",
            "tests/fixtures/lighthouse/mobile-fast-3.2.1.json",
            "tests/fixtures/prometheus/app-metrics.prom",
            "tests/fixtures/prometheus/vector-by-operation.json",
            "tests/fixtures/autocannon/ok.json",
            "tests/fixtures/hyperfine/two-commands.json",
        ],
    );
    // Two k6 files named `run.*` are two sources with distinct names.
    let sources = doc["sources"].as_table().expect("sources");
    assert!(sources.contains_key("run") && sources.contains_key("run_2"));
}

#[test]
fn lighthouse_runs_of_two_pages_get_a_rule_per_page() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let doc = init_then_check(
        &tmp,
        "init-pages",
        &[
            "tests/fixtures/lhci/lhr-fast-1.json",
            "tests/fixtures/lhci/lhr-fast-2.json",
            "tests/fixtures/lhci/lhr-heavy-1.json",
            "tests/fixtures/lhci/lhr-heavy-2.json",
        ],
    );
    assert_eq!(
        doc["sources"]["lhr"]["path"].as_str(),
        Some("tests/fixtures/lhci/lhr-*.json")
    );
    let metrics: Vec<&str> = doc["budget"]
        .as_array_of_tables()
        .expect("rules")
        .iter()
        .filter_map(|r| r["metric"].as_str())
        .collect();
    assert_eq!(
        metrics,
        [
            "lhr.score.performance{url:/fast.html}",
            "lhr.lcp{url:/fast.html}",
            "lhr.tbt{url:/fast.html}",
            "lhr.cls{url:/fast.html}",
            "lhr.score.performance{url:/heavy.html}",
            "lhr.lcp{url:/heavy.html}",
            "lhr.tbt{url:/heavy.html}",
            "lhr.cls{url:/heavy.html}",
        ]
    );
}

#[test]
fn runs_a_glob_would_not_name_exactly_stay_one_source_each_with_a_glob_suggested() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // `lhr-*.json` would read lhr-3.json too, which was not given.
    let doc = init_then_check(
        &tmp,
        "init-two-of-three",
        &[
            "examples/lighthouse/lhr-1.json",
            "examples/lighthouse/lhr-2.json",
        ],
    );
    // Comments wrap at 100 columns.
    let text = doc.to_string().replace("\n# ", " ");
    assert_eq!(
        doc["sources"]["lhr_1"]["path"].as_str(),
        Some("examples/lighthouse/lhr-1.json")
    );
    assert_eq!(
        doc["sources"]["lhr_2"]["path"].as_str(),
        Some("examples/lighthouse/lhr-2.json")
    );
    assert!(
        text.contains("such as \"examples/lighthouse/lhr-*.json\""),
        "{text}"
    );
}

#[test]
fn an_existing_file_is_replaced_only_with_force_and_atomically() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = repo().join(EXAMPLES[0]);
    let report = report.to_str().expect("utf-8");
    let out = tmp.path().join("perfgate.toml");
    fs::write(&out, "# mine\n").expect("write");
    let refused = perfgate(tmp.path(), &["init", report]);
    let err = stderr(&refused);
    refused.code(2);
    assert_eq!(
        err,
        "error: perfgate.toml: already exists; pass --force to replace it\n"
    );
    assert_eq!(fs::read_to_string(&out).expect("read"), "# mine\n");
    perfgate(tmp.path(), &["init", report, "--force"]).code(0);
    let written = fs::read_to_string(&out).expect("read");
    assert!(written.contains("[sources.api_load_report]"), "{written}");
    // Only the budget: no temporary file is left beside it.
    let names: Vec<String> = fs::read_dir(tmp.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["perfgate.toml"]);
    // Nor does `--force` replace a report with its budget.
    let copy = tmp.path().join("report.json");
    fs::copy(repo().join(EXAMPLES[0]), &copy).expect("copy");
    let copy_text = copy.to_str().expect("utf-8");
    let refused = perfgate(
        tmp.path(),
        &["init", copy_text, "--output", "report.json", "--force"],
    );
    let err = stderr(&refused);
    refused.code(2);
    assert!(err.contains("report.json: is one of the reports"), "{err}");
    assert_eq!(
        fs::read(&copy).expect("read"),
        fs::read(repo().join(EXAMPLES[0])).expect("read")
    );
}

#[test]
fn the_default_output_is_perfgate_toml_and_dash_is_stdout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report: PathBuf = repo().join("examples/bundle/webpack-stats.json");
    let report = report.to_str().expect("utf-8");
    let printed = perfgate(tmp.path(), &["init", report, "--output", "-"]);
    let text = stdout(&printed);
    printed.code(0);
    assert!(
        fs::read_dir(tmp.path()).expect("read dir").next().is_none(),
        "`--output -` writes no file"
    );
    let doc: DocumentMut = text.parse().expect("valid TOML");
    assert_eq!(doc["gate"]["name"].as_str(), Some("perfgate"));
    assert_eq!(
        doc["sources"]["webpack_stats"]["path"].as_str(),
        Some(report)
    );
    perfgate(tmp.path(), &["init", report]).code(0);
    assert_eq!(
        fs::read_to_string(tmp.path().join("perfgate.toml")).expect("perfgate.toml"),
        text,
        "the file holds what `--output -` prints"
    );
    let check = perfgate(tmp.path(), &["check", "--budget", "perfgate.toml"]);
    assert!(stdout(&check).starts_with("perfgate perfgate: PASS (2 passed)"));
    check.code(0);
}

#[test]
fn a_report_that_cannot_be_read_is_exit_2_naming_it_and_nothing_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("notes.txt"), "not a report\n").expect("write");
    let good = repo().join(EXAMPLES[0]);
    let good = good.to_str().expect("utf-8");
    for (bad, says) in [
        (
            "missing.json",
            "error: missing.json: no such file or directory\n",
        ),
        (
            "notes.txt",
            "error: notes.txt: not a format perfgate detects (tried: artillery, lighthouse",
        ),
    ] {
        let failed = perfgate(tmp.path(), &["init", good, bad]);
        let err = stderr(&failed);
        failed.code(2);
        assert!(err.starts_with(says), "{err}");
    }
    let failed_run = repo().join("tests/fixtures/lighthouse/runtime-error-500-12.8.2.json");
    let failed_run = failed_run.to_str().expect("utf-8");
    let failed = perfgate(tmp.path(), &["init", failed_run]);
    let err = stderr(&failed);
    failed.code(2);
    assert!(
        err.starts_with(&format!("error: {failed_run}: ")) && err.contains("runtimeError"),
        "{err}"
    );
    let names: Vec<String> = fs::read_dir(tmp.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["notes.txt"], "nothing written");
}

#[test]
fn names_and_paths_from_reports_are_escaped_and_read_back_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("run [1]");
    fs::create_dir(&dir).expect("mkdir");
    // perfgate's own format with names no TOML key or string could hold as they are.
    let name_a = "a \"quoted\" ]] name\nsecond line";
    let name_b = "x\u{202e}y\u{1b}[31m";
    let report = serde_json::json!({
        "schema": "perfgate/metrics@1",
        "tool": "bench\n[gate]\nname = \"evil\"",
        "metrics": {
            name_a: {"value": 12, "unit": "ms"},
            name_b: {"value": 3, "unit": "%"},
        }
    });
    fs::write(dir.join("we\"ird*.json"), report.to_string()).expect("write");
    let path = "run [1]/we\"ird*.json";
    perfgate(tmp.path(), &["init", path, "--output", "budget.toml"]).code(0);
    let text = fs::read_to_string(tmp.path().join("budget.toml")).expect("written");
    assert!(
        !text.contains('\u{202e}') && !text.contains('\u{1b}'),
        "escaped:\n{text}"
    );
    let doc: DocumentMut = text.parse().expect("valid TOML");
    assert_eq!(
        doc.as_table().len(),
        3,
        "gate, sources, budget only:\n{text}"
    );
    let source = &doc["sources"]["we_ird"];
    // The path names that one file: its glob characters are escaped for `check`.
    assert_eq!(source["path"].as_str(), Some("run [[]1[]]/we\"ird[*].json"));
    let labels: Vec<&str> = doc["budget"]
        .as_array_of_tables()
        .expect("rules")
        .iter()
        .filter_map(|r| r["label"].as_str())
        .collect();
    assert_eq!(
        labels,
        [format!("we_ird {name_a}"), format!("we_ird {name_b}")]
    );
    let check = perfgate(tmp.path(), &["check", "--budget", "budget.toml"]);
    assert!(stdout(&check).starts_with("perfgate budget: PASS (2 passed)"));
    check.code(0);
}

#[test]
fn help_states_the_headroom_rule_and_the_readme_lists_the_command() {
    let help = perfgate(repo(), &["init", "--help"]);
    let text = stdout(&help);
    help.code(0);
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words(&text).contains(
            "target = value × 1.2, critical = value × 1.5, rounded up to two significant figures"
        ),
        "{text}"
    );
    let readme = fs::read_to_string(repo().join("README.md")).expect("README");
    assert!(
        words(&readme).contains("perfgate init REPORT... [--output FILE] [--force]"),
        "the README's command synopsis"
    );
}

#[test]
fn the_readme_example_is_what_init_prints() {
    let readme = fs::read_to_string(repo().join("README.md")).expect("README");
    let section = readme
        .split("## A starting budget: `perfgate init`")
        .nth(1)
        .expect("the README's init section");
    let shown = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the example's excerpt");
    // The shell expands `lhr-*.json` to the three runs.
    let printed = perfgate(
        repo(),
        &[
            "init",
            "examples/artillery/api-load-report.json",
            "examples/lighthouse/lhr-1.json",
            "examples/lighthouse/lhr-2.json",
            "examples/lighthouse/lhr-3.json",
            "--output",
            "-",
        ],
    );
    let text = stdout(&printed);
    printed.code(0);
    assert!(
        text.contains(shown),
        "README shows\n{shown}\nbut init prints\n{text}"
    );
}

#[test]
fn reports_without_a_metric_to_budget_are_exit_2_and_nothing_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A real exposition page holding one counter: a total that grows with traffic, no latency.
    fs::write(
        tmp.path().join("page.prom"),
        "# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 5\n",
    )
    .expect("write");
    let failed = perfgate(tmp.path(), &["init", "page.prom"]);
    let err = stderr(&failed);
    failed.code(2);
    assert!(
        err.starts_with("error: none of the reports holds a metric perfgate init budgets")
            && err.contains("`perfgate metrics page.prom`"),
        "{err}"
    );
    assert!(!tmp.path().join("perfgate.toml").exists());
}

#[cfg(unix)]
#[test]
fn a_path_that_is_not_utf8_is_exit_2_naming_it() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let name = OsStr::from_bytes(b"run-\xff.json");
    fs::copy(repo().join(EXAMPLES[0]), tmp.path().join(name)).expect("copy");
    let mut cmd = Command::cargo_bin("perfgate").expect("binary");
    cmd.current_dir(tmp.path());
    for var in NOT_INHERITED {
        cmd.env_remove(var);
    }
    let failed = cmd.arg("init").arg(name).assert();
    let err = stderr(&failed);
    failed.code(2);
    assert_eq!(
        err,
        "error: run-\u{fffd}.json: the path is not UTF-8, which a TOML budget cannot hold\n"
    );
    assert!(!tmp.path().join("perfgate.toml").exists());
}
