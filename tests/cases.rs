//! Whole pipelines as data: every `tests/cases/<name>/budget.toml` is judged by the binary from the
//! repository root (with the case's `baseline.json` when it has one), and its text, markdown and
//! JSON outputs and exit code are pinned as snapshots. The reports are real fixtures, so a reader's
//! change shows up here as a reviewed diff.

use std::path::Path;

use assert_cmd::Command;

fn run(budget: &Path, format: &str) -> (i32, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = budget.strip_prefix(root).expect("case inside the repo");
    let mut cmd = Command::cargo_bin("perfgate").expect("binary");
    // The snapshots are what a user's terminal shows: none of GitHub Actions' extras, even when
    // these tests themselves run in Actions.
    for (var, _) in std::env::vars() {
        if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
            cmd.env_remove(var);
        }
    }
    cmd.current_dir(root)
        .args(["check", "--budget"])
        .arg(rel)
        .args(["--format", format]);
    let baseline = rel.with_file_name("baseline.json");
    if root.join(&baseline).exists() {
        cmd.arg("--baseline").arg(baseline);
    }
    let out = cmd.output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{}: stderr: {stderr}", rel.display());
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8"),
    )
}

#[test]
fn cases() {
    insta::glob!("cases/*/budget.toml", |path| {
        for format in ["text", "markdown", "json"] {
            let (code, out) = run(path, format);
            insta::assert_snapshot!(format, format!("exit code {code}\n{out}"));
        }
    });
}

#[test]
fn the_reference_budget_on_the_shipped_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out) = run(&root.join("budgets/prod.toml"), "json");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let rows = v["metrics"].as_array().expect("metrics");
    assert_eq!(rows.len(), 8, "the eight rows of the user's budget");
    let labels: Vec<&str> = rows
        .iter()
        .map(|m| m["label"].as_str().expect("label"))
        .collect();
    assert_eq!(
        labels,
        [
            "API P95",
            "API P99",
            "Error Rate",
            "Database P95",
            "Cache Hit %",
            "WebSocket Latency P95",
            "Bundle Size (initial)",
            "Lighthouse Score"
        ]
    );
    let worst = rows
        .iter()
        .map(|m| m["status"].as_str().expect("status"))
        .fold("pass", |w, s| match (w, s) {
            ("fail", _) | (_, "fail") => "fail",
            ("warn", _) | (_, "warn") => "warn",
            _ => "pass",
        });
    assert_eq!(v["verdict"], worst);
    assert_eq!(code, if worst == "fail" { 1 } else { 0 });
    assert_eq!(v["sources"].as_array().expect("sources").len(), 6);
}

/// The text block of the README after `marker`.
fn readme_block<'a>(readme: &'a str, marker: &str) -> (&'a str, &'a str) {
    let after = readme
        .split_once(marker)
        .unwrap_or_else(|| panic!("README.md has no {marker:?}"))
        .1;
    let shown = after
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a text block")
        .0;
    (after, shown)
}

#[test]
fn the_readme_shows_what_the_quick_start_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let (after, shown) = readme_block(&readme, "The first command prints");
    let (code, out) = run(&root.join("budgets/prod.toml"), "text");
    assert_eq!(shown, out, "README.md's quick-start output is stale");
    assert!(
        after.contains(&format!("(exit code {code}")),
        "README.md states another exit code"
    );
}

/// The README's example comment, with its no-break spaces, its chart and its exit code.
#[test]
fn the_readme_shows_the_comment_the_quick_start_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let shown = readme
        .split_once("`perfgate check --budget budgets/prod.toml --format markdown` prints this comment:\n\n~~~markdown\n")
        .and_then(|(_, rest)| rest.split_once("~~~\n"))
        .expect("README.md's example comment")
        .0;
    let (code, out) = run(&root.join("budgets/prod.toml"), "markdown");
    assert_eq!(shown, out, "README.md's example comment is stale");
    assert_eq!(code, 0);
}

#[test]
fn the_readme_shows_what_the_two_page_example_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let (after, shown) = readme_block(
        &readme,
        "`perfgate check --budget tests/cases/lhci-pages/budget.toml` prints",
    );
    let (code, out) = run(&root.join("tests/cases/lhci-pages/budget.toml"), "text");
    assert_eq!(shown, out, "README.md's two-page output is stale");
    assert!(
        after.starts_with(&format!(" (exit {code}):")),
        "README.md states another exit code"
    );
}

/// `perfgate comment --verdict` renders a saved verdict itself: every case's JSON verdict, read
/// back, gives the markdown `check` prints, and writes back to the very same JSON.
#[test]
fn every_case_verdict_reads_back_to_the_same_markdown_and_json() {
    let template = perfgate::render::Template::default_comment().expect("the default template");
    let mut compared = 0;
    insta::glob!("cases/*/budget.toml", |path| {
        let (_, json) = run(path, "json");
        let (_, markdown) = run(path, "markdown");
        let saved = perfgate::render::parse_verdict(&json).expect("the verdict reads back");
        assert_eq!(
            template
                .render(&saved.verdict, &saved.sources)
                .expect("renders"),
            markdown,
            "{}",
            path.display()
        );
        assert_eq!(
            perfgate::render::to_json(&saved.verdict, &saved.sources, saved.github.as_ref()),
            json,
            "{}",
            path.display()
        );
        compared += usize::from(saved.verdict.metrics.iter().any(|m| m.baseline.is_some()));
    });
    assert!(compared >= 1, "no case compares with a baseline");
}
