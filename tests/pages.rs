//! Sets of files through the binary: a Lighthouse CI run of two pages is judged page by page, its
//! baseline is kept per page, and nothing passes silently — a required baseline that is missing, a
//! stale one, a page gone from the run, a glob that matches nothing.
//!
//! The reports are `tests/fixtures/lhci/`: a real `lhci collect` of a fast page (performance 100)
//! and a heavy one (performance 21), two runs each, on which `lhci assert` fails (`assert.txt`).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A folder with `.lighthouseci/` holding the named LHCI fixtures and `budget.toml`.
struct Run {
    dir: TempDir,
}

impl Run {
    fn new(files: &[&str], budget: &str) -> Run {
        let dir = tempfile::tempdir().expect("temp dir");
        let run = Run { dir };
        run.reports(files);
        fs::write(run.dir.path().join("budget.toml"), budget).expect("budget");
        run
    }

    /// Replaces the reports in `.lighthouseci/` with these fixtures.
    fn reports(&self, files: &[&str]) {
        let out = self.dir.path().join(".lighthouseci");
        let _ = fs::remove_dir_all(&out);
        fs::create_dir_all(&out).expect("mkdir");
        for f in files {
            // Under the name `lhci collect` gives its files, which the budget's glob matches.
            let name = Path::new(f)
                .file_name()
                .expect("a file name")
                .to_string_lossy();
            let name = match name.strip_prefix("lhr-") {
                Some(_) => name.to_string(),
                None => format!("lhr-{name}"),
            };
            fs::copy(fixture(f), out.join(name)).expect("copy fixture");
        }
    }

    fn perfgate(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        let mut cmd = Command::cargo_bin("perfgate").expect("binary");
        cmd.current_dir(self.dir.path());
        for (var, _) in std::env::vars() {
            if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
                cmd.env_remove(var);
            }
        }
        cmd.args(args).assert()
    }

    /// `check` in a GitHub Actions job that is no pull request: annotations, no comment.
    fn check_in_actions(&self) -> assert_cmd::assert::Assert {
        let mut cmd = Command::cargo_bin("perfgate").expect("binary");
        cmd.current_dir(self.dir.path());
        for (var, _) in std::env::vars() {
            if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
                cmd.env_remove(var);
            }
        }
        cmd.env("GITHUB_ACTIONS", "true")
            .args(["check", "--budget", "budget.toml"])
            .assert()
    }

    fn check(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        let mut args = vec!["check", "--budget", "budget.toml"];
        args.extend_from_slice(extra);
        self.perfgate(&args)
    }

    fn json(&self, code: i32) -> Value {
        let out = self.check(&["--format", "json"]).code(code);
        serde_json::from_slice(&out.get_output().stdout).expect("valid JSON")
    }

    fn update(&self) {
        self.perfgate(&[
            "baseline",
            "update",
            "--budget",
            "budget.toml",
            "--commit",
            "0123456789abcdef0123456789abcdef01234567",
        ])
        .code(0);
    }

    fn baseline(&self) -> Value {
        let text = fs::read_to_string(self.dir.path().join("baselines/web.json")).expect("written");
        serde_json::from_str(&text).expect("valid JSON")
    }
}

const ALL: [&str; 4] = [
    "lhci/lhr-fast-1.json",
    "lhci/lhr-fast-2.json",
    "lhci/lhr-heavy-1.json",
    "lhci/lhr-heavy-2.json",
];

const SCORE: &str = r#"
[gate]
name = "web"
[sources.web]
format = "lighthouse"
path = ".lighthouseci/lhr-*.json"
[[budget]]
metric = "web.score.performance"
label = "Performance"
target = "> 90"
critical = "50"
"#;

fn ids(v: &Value) -> Vec<&str> {
    v["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| m["id"].as_str().expect("id"))
        .collect()
}

#[test]
fn a_two_page_lhci_run_fails_on_the_heavy_page_with_a_row_per_page() {
    let run = Run::new(&ALL, SCORE);
    // The median of both pages would be 60.5: a warning, exit 0. Page by page, the heavy page's
    // 21 breaches the critical 50, as `lhci assert` says.
    let v = run.json(1);
    assert_eq!(v["verdict"], "fail");
    assert_eq!(
        ids(&v),
        [
            "web.score.performance{url:/fast.html}",
            "web.score.performance{url:/heavy.html}"
        ]
    );
    let heavy = &v["metrics"][1];
    assert_eq!(
        (
            &heavy["value"],
            &heavy["status"],
            &heavy["page"],
            &heavy["rule"]
        ),
        (
            &Value::from(21.0),
            &Value::from("fail"),
            &Value::from("/heavy.html"),
            &Value::from("web.score.performance")
        )
    );
    assert_eq!(
        (&heavy["runs"], &heavy["samples"]),
        (&2.into(), &serde_json::json!([21.0, 21.0]))
    );
    assert_eq!(v["metrics"][0]["value"], 100.0);
    assert_eq!(
        v["sources"][0]["pages"],
        serde_json::json!(["/fast.html", "/heavy.html"])
    );

    let text = run.check(&[]).code(1);
    let text = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    let row = |page: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("Performance ({page})")))
            .unwrap_or_else(|| panic!("no row for {page}: {text}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(
        row("/heavy.html")[..4],
        ["fail", "Performance", "(/heavy.html)", "21"]
    );
    assert_eq!(
        row("/fast.html")[..4],
        ["pass", "Performance", "(/fast.html)", "100"]
    );
    assert!(
        text.contains("4 runs, 2 pages (/fast.html, /heavy.html)"),
        "{text}"
    );
    let md = run.check(&["--format", "markdown"]).code(1);
    let md = String::from_utf8_lossy(&md.get_output().stdout).into_owned();
    assert!(md.contains("| Performance (/heavy.html) | 21 |"), "{md}");
    assert!(md.contains("| Performance (/fast.html) | 100 |"), "{md}");
    assert!(
        md.contains("4 runs of 2 pages (/fast.html, /heavy.html)"),
        "{md}"
    );
}

#[test]
fn a_rule_can_target_one_page() {
    let budget = SCORE.replace(
        "web.score.performance\"",
        "web.score.performance{url:/fast.html}\"",
    );
    let run = Run::new(&ALL, &budget);
    let v = run.json(0);
    assert_eq!(ids(&v), ["web.score.performance{url:/fast.html}"]);
    assert_eq!(
        (&v["metrics"][0]["value"], &v["metrics"][0]["runs"]),
        (&100.0.into(), &2.into())
    );
    // The same rule on a run of that page alone.
    run.reports(&ALL[..2]);
    assert_eq!(run.json(0)["metrics"][0]["value"], 100.0);
    // A page the run did not measure is exit 2 naming the pages it did.
    run.reports(&ALL[2..]);
    run.check(&[]).code(2).stderr(predicate::str::contains(
        "source `web` measured no page `url:/fast.html` (its pages: `url:/heavy.html`)",
    ));
}

#[test]
fn the_baseline_keeps_per_page_history_and_a_vanished_page_is_a_warning() {
    let run = Run::new(&ALL, SCORE);
    run.update();
    let b = run.baseline();
    let metrics = &b["runs"][0]["metrics"];
    assert_eq!(
        metrics["web.score.performance{url:/fast.html}"]["value"],
        100.0
    );
    assert_eq!(
        metrics["web.score.performance{url:/heavy.html}"]["value"],
        21.0
    );
    assert!(metrics.get("web.score.performance").is_none());
    let show = run.perfgate(&[
        "baseline",
        "show",
        "--budget",
        "budget.toml",
        "--format",
        "json",
    ]);
    let show: Value = serde_json::from_slice(&show.code(0).get_output().stdout).expect("JSON");
    let shown: Vec<(&str, &str)> = show["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| {
            (
                m["label"].as_str().expect("label"),
                m["id"].as_str().expect("id"),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                "Performance (/fast.html)",
                "web.score.performance{url:/fast.html}"
            ),
            (
                "Performance (/heavy.html)",
                "web.score.performance{url:/heavy.html}"
            )
        ]
    );
    // Each page is compared with its own history.
    let v = run.json(1);
    assert_eq!(v["metrics"][1]["baseline"]["value"], 21.0);
    assert_eq!(v["metrics"][0]["baseline"]["value"], 100.0);
    assert_eq!(v["warnings"], serde_json::json!([]));

    // The heavy page drops out of the run: the fast page still has its history (stored under its
    // page's id), and the vanished page is a warning naming it.
    run.reports(&ALL[..2]);
    let v = run.json(0);
    assert_eq!(v["verdict"], "warn");
    assert_eq!(ids(&v), ["web.score.performance"]);
    assert_eq!(v["metrics"][0]["baseline"]["value"], 100.0);
    assert_eq!(v["warnings"][0]["kind"], "missing-page");
    assert_eq!(
        v["warnings"][0]["message"],
        "page `/heavy.html` of `Performance` is in the baseline's newest run but not in this run"
    );
    run.check(&[]).code(0).stdout(predicate::str::contains(
        "warning: page `/heavy.html` of `Performance` is in the baseline's newest run",
    ));
    let md = run.check(&["--format", "markdown"]).code(0);
    run.check_in_actions().code(0).stderr(predicate::str::contains(
        "::warning file=budget.toml,title=Page missing from the run::page `/heavy.html` of `Performance`",
    ));
    // Inert in markdown: the backticks are entities.
    assert!(String::from_utf8_lossy(&md.get_output().stdout)
        .contains("> ⚠️ page &#96;/heavy.html&#96; of &#96;Performance&#96; is in the baseline"));
}

#[test]
fn lighthouse_major_versions_never_mix_in_one_source() {
    let run = Run::new(
        &["lhci/lhr-fast-1.json", "lighthouse/mobile-fast-5.6.0.json"],
        SCORE,
    );
    run.check(&[]).code(2).stderr(
        predicate::str::contains("lhr-fast-1.json is Lighthouse 12 but")
            .and(predicate::str::contains(
                "mobile-fast-5.6.0.json is Lighthouse 5",
            ))
            .and(predicate::str::contains(
                "give each version a source of its own",
            )),
    );
}

#[test]
fn form_factors_are_separate_series() {
    let run = Run::new(
        &[
            "lhci/lhr-fast-1.json",
            "lighthouse/desktop-fast-12.8.2.json",
        ],
        SCORE,
    );
    let v = run.json(0);
    // Two origins serve /fast.html here (ports 8793 and 8792), so the page is its whole URL.
    assert_eq!(
        ids(&v),
        [
            "web.score.performance{url:http://127.0.0.1:8792/fast.html,form_factor:desktop}",
            "web.score.performance{url:http://127.0.0.1:8793/fast.html,form_factor:mobile}"
        ]
    );
    assert_eq!(
        v["metrics"][0]["page"],
        "http://127.0.0.1:8792/fast.html (desktop)"
    );
}

#[test]
fn a_required_baseline_that_is_missing_is_exit_2() {
    let required = SCORE.replace("name = \"web\"", "name = \"web\"\nbaseline = \"required\"");
    let run = Run::new(&ALL[..2], &required);
    run.check(&[]).code(2).stderr(predicate::str::contains(
        "baselines/web.json: no baseline file, and the budget requires one",
    ));
    // The flag does the same for a budget that does not say so.
    let run = Run::new(&ALL[..2], SCORE);
    run.check(&["--require-baseline"])
        .code(2)
        .stderr(predicate::str::contains("no baseline file"));
    run.update();
    run.check(&["--require-baseline"]).code(0);
    // A second page has no history yet: named, exit 2, and nothing is written.
    run.reports(&ALL);
    let before = fs::read(run.dir.path().join("baselines/web.json")).expect("baseline");
    // The fast page keeps the history it had as the source's only page.
    run.check(&["--require-baseline"])
        .code(2)
        .stderr(predicate::str::contains(
            "no history for `web.score.performance{url:/heavy.html}` in the baseline",
        ))
        .stderr(predicate::str::contains("/fast.html").not());
    assert_eq!(
        fs::read(run.dir.path().join("baselines/web.json")).expect("baseline"),
        before
    );
}

#[test]
fn a_baseline_older_than_max_age_is_a_warning_saying_how_old() {
    let budget = SCORE.replace("name = \"web\"", "name = \"web\"\nmax_age = \"14d\"");
    let run = Run::new(&ALL[..2], &budget);
    run.update();
    // Just recorded: no warning.
    let v = run.json(0);
    assert_eq!(
        (&v["verdict"], &v["warnings"]),
        (&"pass".into(), &serde_json::json!([]))
    );
    // The same run recorded in 2025.
    let path = run.dir.path().join("baselines/web.json");
    let mut b = run.baseline();
    b["runs"][0]["time"] = "2025-01-01T00:00:00Z".into();
    fs::write(&path, serde_json::to_string_pretty(&b).expect("json")).expect("write");
    let v = run.json(0);
    assert_eq!(v["verdict"], "warn");
    assert_eq!(v["warnings"][0]["kind"], "stale-baseline");
    let message = v["warnings"][0]["message"].as_str().expect("message");
    assert!(
        message.starts_with("the baseline's newest run is ")
            && message.contains(
                " days old (recorded 2025-01-01T00:00:00Z), older than `max_age` (14 days)"
            ),
        "{message}"
    );
    // A bad max_age is a budget problem naming the key.
    let run = Run::new(
        &ALL[..2],
        &SCORE.replace("name = \"web\"", "name = \"web\"\nmax_age = \"soon\""),
    );
    run.check(&[]).code(2).stderr(predicate::str::contains(
        "`gate.max_age`: `soon` must be a positive duration",
    ));
}

#[test]
fn a_glob_that_matches_no_file_is_exit_2_naming_it() {
    let run = Run::new(&[], SCORE);
    run.check(&[]).code(2).stderr(predicate::str::contains(
        "source `web`: `.lighthouseci/lhr-*.json` matches no file",
    ));
    assert!(!run.dir.path().join("baselines").exists());
}

#[test]
fn autocannon_runs_of_different_urls_are_judged_per_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let budget = format!(
        "[sources.load]\nformat = \"autocannon\"\npath = \"{}\"\n[[budget]]\nmetric = \"load.error_rate\"\ntarget = \"< 1%\"\ncritical = \"5%\"\n",
        fixture("autocannon").join("*.json").display()
    );
    fs::write(dir.path().join("budget.toml"), budget).expect("budget");
    let run = Run { dir };
    // The median over the three URLs would be /flaky's 23.9 %; each URL is judged on its own.
    let v = run.json(1);
    let rows: Vec<(&str, f64)> = v["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| {
            (
                m["page"].as_str().expect("page"),
                m["value"].as_f64().expect("value"),
            )
        })
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[1].0, rows[1].1), ("/forbidden", 100.0));
    assert_eq!((rows[2].0, rows[2].1), ("/ok", 0.0));
    assert_eq!(rows[0].0, "/flaky");
}

#[test]
fn a_source_without_a_single_sample_is_exit_2_naming_it() {
    // A real stream's Metric declarations and no point: a run killed before its first request.
    let stream = fs::read_to_string(fixture("k6/run.points.ndjson")).expect("fixture");
    let head: String = stream
        .lines()
        .filter(|l| l.contains("\"type\":\"Metric\""))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!head.is_empty());
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("k6.ndjson"), head).expect("stream");
    fs::write(
        dir.path().join("budget.toml"),
        "[sources.load]\nformat = \"k6\"\npath = \"k6.ndjson\"\n[[budget]]\nmetric = \"load.http_req_duration.p95\"\ntarget = \"< 200ms\"\n",
    )
    .expect("budget");
    let run = Run { dir };
    run.check(&[]).code(2).stderr(predicate::str::contains(
        "source `load`: no sample in k6.ndjson (it describes `checks`, `data_received`, `data_sent`, `group_duration`, `http_req_blocked`, … but never samples them)",
    ));
}
