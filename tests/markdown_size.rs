//! Every markdown verdict fits a pull-request comment: `check --format markdown` (on stdout and in
//! `--output`) is kept below GitHub's 65,536 characters however many rules and however long their
//! labels, as the comment perfgate posts itself is.

use std::fmt::Write as _;

use assert_cmd::Command;

#[test]
fn markdown_of_400_rules_with_long_labels_fits_a_comment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut metrics = String::new();
    let mut budget = String::from(
        "[gate]\nname = \"big\"\n[sources.bench]\nformat = \"json\"\npath = \"bench.json\"\n",
    );
    for i in 0..400 {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(
            metrics,
            "{sep}\"m{i}\": {{\"value\": {i}, \"unit\": \"ms\"}}"
        );
        let _ = write!(
            budget,
            "[[budget]]\nmetric = \"bench.m{i}\"\nlabel = \"{}\"\ntarget = \"< 100ms\"\ncritical = \"200ms\"\n",
            format!("metric {i} ").repeat(10_000)
        );
    }
    std::fs::write(
        dir.path().join("bench.json"),
        format!("{{\"schema\": \"perfgate/metrics@1\", \"metrics\": {{{metrics}}}}}"),
    )
    .expect("report");
    std::fs::write(dir.path().join("budget.toml"), budget).expect("budget");
    let mut cmd = Command::cargo_bin("perfgate").expect("binary");
    for (var, _) in std::env::vars() {
        if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
            cmd.env_remove(var);
        }
    }
    let out = cmd
        .current_dir(dir.path())
        .args([
            "check",
            "--budget",
            "budget.toml",
            "--format",
            "markdown",
            "--output",
            "comment.md",
        ])
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).expect("utf-8");
    let chars = stdout.chars().count();
    assert!(chars <= 65_536, "{chars} characters");
    // The passing rows go first; the 300 failed and warned rows are cut between rows.
    assert!(chars > 60_000, "cut no more than needed: {chars}");
    assert!(stdout.contains("| ❌ fail |"));
    assert!(stdout.starts_with("<!-- perfgate:gate=big -->\n"));
    assert!(
        stdout
            .contains("truncated to fit a pull-request comment — `--format json` has every metric"),
        "a visible note"
    );
    let file = std::fs::read_to_string(dir.path().join("comment.md")).expect("--output");
    assert_eq!(file, stdout);
}
