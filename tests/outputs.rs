//! `check --format junit` and `--format openmetrics` read by real consumers: the JUnit XML by
//! junitparser (PyPI; `pip install junitparser`), the OpenMetrics text by `promtool check metrics`
//! (Debian's `prometheus`), on the shipped examples, every `tests/cases` verdict and a budget of
//! hostile names. The counts they read are compared with the JSON verdict of the same run, and
//! the README's excerpts with what the quick start writes.
//! Without python3 and junitparser, or promtool, that part is skipped with a line on stderr (CI
//! installs both, and there a missing one fails).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What one run wrote: the exit code, stdout, and the JSON verdict, JUnit and OpenMetrics files.
struct Written {
    code: i32,
    stdout: String,
    json: Value,
    junit: PathBuf,
    openmetrics: String,
    _dir: tempfile::TempDir,
}

/// `check --budget <budget>` (relative to `cwd`, with `baseline.json` beside it when there is one)
/// writing all three file formats into a temp dir.
fn check(cwd: &Path, budget: &Path) -> Written {
    let dir = tempfile::tempdir().expect("temp dir");
    let (json, junit, om) = (
        dir.path().join("verdict.json"),
        dir.path().join("junit.xml"),
        dir.path().join("metrics.txt"),
    );
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("perfgate"));
    for (var, _) in std::env::vars() {
        if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
            cmd.env_remove(var);
        }
    }
    cmd.current_dir(cwd)
        .arg("check")
        .arg("--budget")
        .arg(budget);
    let baseline = budget.with_file_name("baseline.json");
    if cwd.join(&baseline).exists() {
        cmd.arg("--baseline").arg(baseline);
    }
    cmd.args(["--format", "json", "--output"])
        .arg(&json)
        .args(["--format", "junit", "--output"])
        .arg(&junit)
        .args(["--format", "openmetrics", "--output"])
        .arg(&om);
    let out = cmd.output().expect("perfgate runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{}: stderr: {stderr}", budget.display());
    Written {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8"),
        json: serde_json::from_str(&std::fs::read_to_string(&json).expect("verdict.json"))
            .expect("JSON"),
        junit,
        openmetrics: std::fs::read_to_string(&om).expect("metrics.txt"),
        _dir: dir,
    }
}

/// The budgets judged: the quick start's and every case's, relative to the repository root.
fn budgets() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("budgets/prod.toml")];
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root().join("tests/cases"))
        .expect("tests/cases")
        .map(|e| {
            Path::new("tests/cases")
                .join(e.expect("entry").file_name())
                .join("budget.toml")
        })
        .collect();
    cases.sort();
    out.extend(cases);
    out
}

/// Whether a tool a test needs is here; in CI (`CI` set) it must be.
fn available(test: &str, tool: &str, probe: &mut Command, install: &str) -> bool {
    let ok = probe
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs {tool} for {test} ({install})"
        );
        eprintln!("SKIPPED {test}: {tool} is not installed ({install})");
    }
    ok
}

/// junitparser's reading of a JUnit file: per suite its name, counts, and each case's name and
/// result (`pass`, `failure`, `skipped`) with its message.
const READ_JUNIT: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Skipped, Error
xml = JUnitXml.fromfile(sys.argv[1])
out = []
for suite in xml:
    cases = []
    for case in suite:
        kinds = [("failure" if isinstance(r, Failure) else "skipped" if isinstance(r, Skipped)
                  else "error" if isinstance(r, Error) else "other", r.message) for r in case.result]
        cases.append({"name": case.name, "classname": case.classname,
                      "result": kinds[0][0] if kinds else "pass",
                      "message": kinds[0][1] if kinds else None,
                      "system_out": case.system_out})
    out.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                "errors": suite.errors, "skipped": suite.skipped, "cases": cases})
print(json.dumps({"tests": xml.tests, "failures": xml.failures, "skipped": xml.skipped,
                  "suites": out}))
"#;

fn read_junit(path: &Path) -> Value {
    let out = Command::new("python3")
        .args(["-c", READ_JUNIT])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "junitparser refuses {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script's JSON")
}

fn junitparser_here(test: &str) -> bool {
    available(
        test,
        "python3 with junitparser",
        Command::new("python3").args(["-c", "import junitparser"]),
        "pip install junitparser",
    )
}

fn promtool_here(test: &str) -> bool {
    available(
        test,
        "promtool",
        Command::new("promtool").arg("--version"),
        "apt-get install -y prometheus",
    )
}

/// `promtool check metrics` on `text`: its exit code and what it printed.
fn promtool(text: &str) -> (i32, String) {
    use std::io::Write as _;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ends");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The value of the OpenMetrics sample `name` whose labels include `has`.
fn sample(text: &str, name: &str, has: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && l.contains(has))
        .map(|l| {
            l.rsplit_once(' ')
                .expect("a value")
                .1
                .parse()
                .expect("a number")
        })
}

#[test]
fn junit_counts_read_by_junitparser_match_the_json_verdict() {
    let test = "junit_counts_read_by_junitparser_match_the_json_verdict";
    if !junitparser_here(test) {
        return;
    }
    let mut failures_seen = 0;
    for budget in budgets() {
        let w = check(root(), &budget);
        let shown = budget.display();
        // The first format is stdout's: the JSON verdict, as the file holds it.
        assert_eq!(
            w.json,
            serde_json::from_str::<Value>(&w.stdout).expect("stdout JSON"),
            "{shown}"
        );
        let (counts, x) = (&w.json["counts"], read_junit(&w.junit));
        let warnings = w.json["warnings"].as_array().expect("warnings").len() as u64;
        assert_eq!(
            x["tests"],
            counts["total"].as_u64().unwrap() + warnings,
            "{shown}"
        );
        assert_eq!(x["failures"], counts["fail"], "{shown}");
        assert_eq!(
            x["skipped"],
            counts["warn"].as_u64().unwrap() + warnings,
            "{shown}"
        );
        let suites = x["suites"].as_array().expect("suites");
        assert_eq!(suites.len(), 1, "{shown}: one suite per gate");
        let suite = &suites[0];
        assert_eq!(suite["name"], w.json["gate"], "{shown}");
        assert_eq!(suite["errors"], 0, "{shown}");
        let cases = suite["cases"].as_array().expect("cases");
        let metrics = w.json["metrics"].as_array().expect("metrics");
        assert_eq!(
            cases.len() as u64,
            metrics.len() as u64 + warnings,
            "{shown}: one case per metric row, then one per warning"
        );
        for (case, m) in cases.iter().zip(metrics) {
            let (id, label) = (m["id"].as_str().unwrap(), m["label"].as_str().unwrap());
            let name = case["name"].as_str().expect("name");
            assert!(
                name.contains(id) && name.contains(label),
                "{shown}: {name} for {id}"
            );
            let expected = match m["status"].as_str().unwrap() {
                "fail" => "failure",
                "warn" => "skipped",
                _ => "pass",
            };
            assert_eq!(case["result"], expected, "{shown}: {id}");
            if expected != "pass" {
                let message = case["message"].as_str().expect("a message");
                assert!(message.contains(label), "{shown}: {message}");
            }
        }
        failures_seen += counts["fail"].as_u64().unwrap();
        // Exit 1 exactly when the JUnit file holds a failure.
        assert_eq!(w.code == 1, x["failures"].as_u64().unwrap() > 0, "{shown}");
    }
    assert!(failures_seen > 0, "the cases include failed metrics");
}

#[test]
fn the_quick_starts_junit_skips_its_three_warnings_with_their_reasons() {
    let test = "the_quick_starts_junit_skips_its_three_warnings_with_their_reasons";
    if !junitparser_here(test) {
        return;
    }
    let w = check(root(), Path::new("budgets/prod.toml"));
    let x = read_junit(&w.junit);
    let suite = &x["suites"][0];
    let case = |id: &str| {
        suite["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"].as_str().unwrap().contains(id))
            .unwrap_or_else(|| panic!("a case for {id}"))
            .clone()
    };
    let p99 = case("api.http.response_time.p99");
    assert_eq!(p99["result"], "skipped");
    let message = p99["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "warning: API P99 is 206 ms, ▲ 40.4 % (tested ▲ 3.6 %) from the baseline 147 ms"
        ),
        "{message}"
    );
    let out = p99["system_out"].as_str().expect("the facts");
    assert!(
        out.contains("target: < 500 ms\ncritical: < 1 s\nbaseline: 147 ms\n"),
        "{out}"
    );
    let db = case("db.value");
    assert_eq!(
        db["message"],
        "warning: Database P95 is 62.1 ms: target < 50 ms missed"
    );
    assert_eq!(case("api.http.response_time.p95")["result"], "pass");
}

#[test]
fn openmetrics_passes_promtool_and_holds_the_verdicts_numbers_in_base_units() {
    let test = "openmetrics_passes_promtool_and_holds_the_verdicts_numbers_in_base_units";
    for budget in budgets() {
        let w = check(root(), &budget);
        let shown = budget.display();
        let om = &w.openmetrics;
        assert!(om.ends_with("# EOF\n"), "{shown}");
        let gate = w.json["gate"].as_str().unwrap();
        let counts = &w.json["counts"];
        for status in ["pass", "warn", "fail"] {
            assert_eq!(
                sample(om, "perfgate_metrics", &format!("status=\"{status}\"")),
                counts[status].as_f64(),
                "{shown}: {status}"
            );
        }
        let verdict = ["pass", "warn", "fail"]
            .iter()
            .position(|s| *s == w.json["verdict"])
            .unwrap() as f64;
        assert_eq!(
            sample(om, "perfgate_verdict", &format!("gate=\"{gate}\"")),
            Some(verdict)
        );
        for m in w.json["metrics"].as_array().unwrap() {
            // Label values escape `\` and `"` (a Prometheus series' id holds quotes).
            let escaped = m["id"]
                .as_str()
                .unwrap()
                .replace('\\', "\\\\")
                .replace('"', "\\\"");
            let id = format!("id=\"{escaped}\"");
            let scale = match m["unit"].as_str().unwrap() {
                "ms" => 1000.0,
                "%" => 100.0,
                _ => 1.0,
            };
            let value = sample(om, "perfgate_metric_value", &id)
                .unwrap_or_else(|| panic!("{shown}: no value for {id} in\n{om}"));
            let expected = m["value"].as_f64().unwrap() / scale;
            assert!(
                (value - expected).abs() <= 1e-12 * expected.abs().max(1.0),
                "{shown}: {id}"
            );
            if let Some(b) = m["baseline"]["value"].as_f64() {
                let got = sample(om, "perfgate_metric_baseline", &id).expect("a baseline");
                assert!(
                    (got - b / scale).abs() <= 1e-12 * b.abs().max(1.0),
                    "{shown}: {id}"
                );
            }
            assert_eq!(
                sample(om, "perfgate_metric_target", &id),
                m["target"]["value"].as_f64().map(|t| t / scale),
                "{shown}: {id}"
            );
        }
        if promtool_here(test) {
            let (code, said) = promtool(om);
            assert_eq!(
                (code, said.as_str()),
                (0, ""),
                "{shown}: promtool check metrics"
            );
        }
    }
}

#[test]
fn hostile_names_stay_inside_their_xml_and_label_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nasty = r#"a<b>&'\"c\\d]]>\u0001\u001b\ufffe\ne"#;
    std::fs::write(
        dir.path().join("api.json"),
        r#"{"schema": "perfgate/metrics@1", "tool": "t", "metrics": {"p95": {"value": 250, "unit": "ms"}}}"#,
    )
    .expect("write report");
    std::fs::write(
        dir.path().join("budget.toml"),
        format!(
            "[gate]\nname = \"web-1\"\n\n[sources.api]\nformat = \"json\"\npath = \"api.json\"\n\n\
             [[budget]]\nmetric = \"api.p95\"\nlabel = \"{nasty}\"\ntarget = \"< 200ms\"\ncritical = \"300ms\"\n"
        ),
    )
    .expect("write budget");
    let w = check(dir.path(), Path::new("budget.toml"));
    assert_eq!(w.code, 0, "a missed target warns");
    let label = w.json["metrics"][0]["label"].as_str().unwrap().to_string();
    assert!(label.contains("a<b>&'\"c\\d]]>"), "{label:?}");
    let test = "hostile_names_stay_inside_their_xml_and_label_values";
    if junitparser_here(test) {
        let x = read_junit(&w.junit);
        assert_eq!(x["suites"][0]["name"], "web-1");
        let case = &x["suites"][0]["cases"][0];
        let name = case["name"].as_str().unwrap();
        assert!(name.starts_with("a<b>&'\"c\\d]]>"), "{name:?}");
        assert!(
            !name.chars().any(|c| c < ' ' || c == '\u{fffe}'),
            "{name:?}"
        );
        assert_eq!(case["result"], "skipped");
    }
    let line = w
        .openmetrics
        .lines()
        .find(|l| l.starts_with("perfgate_metric_value{"))
        .expect("the value");
    assert!(
        line.starts_with(r#"perfgate_metric_value{gate="web-1",rule="api.p95",id="api.p95",label="a<b>&'\"c\\d]]>"#),
        "{line}"
    );
    assert!(
        line.ends_with(",source=\"api\",unit=\"seconds\"} 0.25"),
        "{line}"
    );
    if promtool_here(test) {
        let (code, said) = promtool(&w.openmetrics);
        assert_eq!((code, said.as_str()), (0, ""), "promtool check metrics");
    }
}

/// The fenced blocks of `lang` in the README's JUnit and OpenMetrics section.
fn readme_blocks(lang: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme
        .split("### JUnit and OpenMetrics, for other CIs\n")
        .nth(1)
        .expect("the README's JUnit and OpenMetrics section")
        .split("\n### ")
        .next()
        .expect("the section");
    section
        .split(&format!("```{lang}\n"))
        .skip(1)
        .map(|b| b.split("```").next().expect("a closing fence").to_string())
        .collect()
}

#[test]
fn the_readmes_junit_and_openmetrics_excerpts_are_what_the_quick_start_writes() {
    let w = check(root(), Path::new("budgets/prod.toml"));
    let junit = std::fs::read_to_string(&w.junit).expect("junit.xml");
    let xml = readme_blocks("xml");
    assert_eq!(xml.len(), 1, "one JUnit excerpt");
    assert!(
        junit.starts_with(&xml[0]),
        "README's excerpt:\n{}\nwritten:\n{junit}",
        xml[0]
    );
    let text = readme_blocks("text");
    assert_eq!(text.len(), 1, "one OpenMetrics excerpt");
    for line in text[0].lines() {
        assert!(
            w.openmetrics.lines().any(|l| l == line),
            "README's line is not written: {line}\n{}",
            w.openmetrics
        );
    }
}

#[test]
fn a_stale_baseline_is_a_skipped_case_of_its_own() {
    let test = "a_stale_baseline_is_a_skipped_case_of_its_own";
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("api.json"),
        r#"{"schema": "perfgate/metrics@1", "tool": "t", "metrics": {"p95": {"value": 150, "unit": "ms"}}}"#,
    )
    .expect("write report");
    std::fs::write(
        dir.path().join("budget.toml"),
        "[gate]\nname = \"api\"\nmax_age = \"14d\"\n\n[sources.api]\nformat = \"json\"\n\
         path = \"api.json\"\n\n[[budget]]\nmetric = \"api.p95\"\ntarget = \"< 200ms\"\n",
    )
    .expect("write budget");
    let update = Command::new(assert_cmd::cargo::cargo_bin("perfgate"))
        .current_dir(dir.path())
        .args(["baseline", "update", "--budget", "budget.toml"])
        .output()
        .expect("baseline update runs");
    assert!(
        update.status.success(),
        "{}",
        String::from_utf8_lossy(&update.stderr)
    );
    // The run just recorded, dated 2025: older than max_age.
    let path = dir.path().join("baselines/api.json");
    let mut b: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("baseline")).expect("JSON");
    b["runs"][0]["time"] = "2025-01-01T00:00:00Z".into();
    std::fs::write(&path, b.to_string()).expect("write baseline");
    let w = check(dir.path(), Path::new("budget.toml"));
    assert_eq!((w.code, &w.json["verdict"]), (0, &Value::from("warn")));
    assert_eq!(
        w.json["counts"]["warn"], 0,
        "no metric warns: only the baseline's age"
    );
    if junitparser_here(test) {
        let x = read_junit(&w.junit);
        assert_eq!(
            (&x["tests"], &x["skipped"]),
            (&Value::from(2), &Value::from(1))
        );
        let case = &x["suites"][0]["cases"][1];
        assert_eq!(case["name"], "Stale baseline");
        assert_eq!(case["result"], "skipped");
        let message = case["message"].as_str().expect("message");
        assert!(
            message.starts_with("warning: the baseline's newest run is ")
                && message.contains("older than `max_age` (14 days)"),
            "{message}"
        );
    }
}

#[test]
fn a_file_format_without_its_output_is_exit_2_before_anything_is_read() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("perfgate"))
        .current_dir(root())
        .args([
            "check",
            "--budget",
            "no-such-budget.toml",
            "--format",
            "junit",
        ])
        .output()
        .expect("perfgate runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--format junit writes a file: give it an --output FILE right after it")
            && !stderr.contains("no-such-budget"),
        "{stderr}"
    );
}
