//! Budget problems as the binary prints them: every one, in every section, names
//! `file:line:col`, and all of a file's problems come out at once, with exit code 2.

use assert_cmd::Command;

/// A budget with one section of each kind, valid as written; each test breaks a part of it.
const VALID: &str = include_str!("fixtures/budget/every-section.toml");

/// Runs `perfgate check --budget bad.toml` on `budget` in a temp dir: it must exit 2 having
/// read no report; returns what it printed on stderr.
fn check(budget: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bad.toml"), budget).expect("write");
    let out = Command::cargo_bin("perfgate")
        .expect("binary")
        .current_dir(dir.path())
        .env_remove("PERFGATE_BUDGET")
        .env_remove("GITHUB_ACTIONS")
        .args(["check", "--budget", "bad.toml"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).expect("utf-8")
}

/// What `check` prints for a budget with these problems, each `line:col: message`.
fn printed(problems: &[&str]) -> String {
    let n = problems.len();
    let mut out = format!(
        "error: bad.toml: {n} problem{} in the budget\n",
        if n == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str(&format!("  - bad.toml:{p}\n"));
    }
    out
}

#[test]
fn the_budget_the_tests_break_is_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("budget.toml"), VALID).expect("write");
    let out = Command::cargo_bin("perfgate")
        .expect("binary")
        .current_dir(dir.path())
        .args(["check", "--budget", "budget.toml"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    // Valid: what stops it is the missing report, not the budget.
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(!stderr.contains("in the budget"), "{stderr}");
    assert!(stderr.contains("api.json"), "{stderr}");
}

#[test]
fn a_gate_problem() {
    let budget = VALID.replace(r#"name = "prod""#, "name = \"prod\"\nregression = \"ten\"");
    assert_eq!(
        check(&budget),
        printed(&[r#"3:14: `gate.regression`: `ten` must be a percentage such as "10%""#])
    );
}

#[test]
fn a_source_problem() {
    let budget = VALID.replace("[sources.db]", "[sources.d-b]");
    assert_eq!(
        check(&budget),
        printed(&[
            "7:10: `sources.d-b`: a source name must start with a letter or `_` and hold only letters, digits and `_` (it is used in expressions)",
            // `[sources.db.queries]` alone declares `db`: the problem points at its name there.
            "10:10: `sources.db`: needs `path` (a report file or glob) or `url` (a Prometheus server)",
        ])
    );
}

#[test]
fn a_queries_problem() {
    let budget = VALID.replace("p95 = 'histogram", "p95 = 0.95\np99 = 'histogram");
    assert_eq!(
        check(&budget),
        printed(&[
            "11:7: `sources.db`: invalid type: floating point `0.95`, expected a string\n    in `queries.p95`"
        ])
    );
}

#[test]
fn a_rule_problem() {
    let budget = format!("{VALID}critical = \"100ms\"\n");
    assert_eq!(
        check(&budget),
        printed(&["13:1: `budget[1]` (metric `api.p95`): target `< 200ms` is looser than critical `100ms`; the target is the stricter level (missed = warn, critical breached = fail)"])
    );
}

#[test]
fn an_unknown_top_level_key() {
    let budget = format!("colour = \"blue\"\n{VALID}");
    assert_eq!(
        check(&budget),
        printed(&[
            "1:1: `colour`: unknown key (expected `[gate]`, `[sources.<name>]`, `[[budget]]` or `[[waiver]]`)"
        ])
    );
}

#[test]
fn a_toml_syntax_error() {
    let budget = VALID.replace("[[budget]]", "[[budget]");
    assert_eq!(
        check(&budget),
        printed(&["13:9: not valid TOML: invalid table header\n    expected `.`, `]]`"])
    );
}

#[test]
fn several_problems_each_with_its_own_location() {
    let budget = VALID
        .replace(
            r#"name = "prod""#,
            "name = \"prod\"\non_regression = \"maybe\"",
        )
        .replace(
            r#"path = "api.json""#,
            "path = \"api.json\"\nformat = \"k7\"",
        )
        .replace("p95 = 'histogram", "p95 = 1\np99 = 'histogram")
        .replace(r#"target = "< 200ms""#, "target = \"< 200ms\"\ntagret = 1");
    assert_eq!(
        check(&budget),
        printed(&[
            r#"3:17: `gate.on_regression`: `maybe` must be "fail" or "warn""#,
            "7:10: `sources.api.format`: unknown format `k7` (expected auto, artillery, lighthouse, json, locust, prometheus, k6, jmeter, hyperfine, esbuild, webpack, gatling, autocannon, vite, size-limit, dir)",
            "13:7: `sources.db`: invalid type: integer `1`, expected a string\n    in `queries.p95`",
            "19:1: `budget[1]`: unknown field `tagret`, expected one of `metric`, `label`, `expr`, `unit`, `target`, `critical`, `regression`, `confidence`, `on_regression`, `min_change`, `creep`, `on_creep`",
        ])
    );
}

#[test]
fn the_readme_shows_what_a_broken_reference_budget_prints() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let shown = readme
        .split_once("`critical = \"40ms\"` in its fourth:")
        .and_then(|(_, after)| after.split_once("```text\n"))
        .and_then(|(_, block)| block.split_once("```"))
        .expect("README.md shows the broken reference budget's problems")
        .0;
    // The edits the README names, each made where it says.
    let prod = std::fs::read_to_string(root.join("budgets/prod.toml")).expect("prod.toml");
    let rules: Vec<&str> = prod.split("[[budget]]").collect();
    let broken = [
        rules[0].replacen(r#"regression = "10%""#, r#"regression = "ten""#, 1),
        rules[1].to_string(),
        rules[2].to_string(),
        rules[3].replacen("\ntarget =", "\ntagret =", 1),
        rules[4].replacen(r#"critical = "100ms""#, r#"critical = "40ms""#, 1),
    ]
    .into_iter()
    .chain(rules[5..].iter().map(|r| r.to_string()))
    .collect::<Vec<_>>()
    .join("[[budget]]");
    assert_ne!(broken, prod);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("budgets")).expect("mkdir");
    std::fs::write(dir.path().join("budgets/prod.toml"), broken).expect("write");
    let out = Command::cargo_bin("perfgate")
        .expect("binary")
        .current_dir(dir.path())
        .args(["check", "--budget", "budgets/prod.toml"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stderr).expect("utf-8"), shown);
}
