//! Hardening of what perfgate leaves on disk and in the comment, through the binary: no stale
//! temporary baseline for `git add` to pick up, a symlinked baseline stays a link, and text from
//! a budget cannot autolink on GitHub.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

/// A budget on one metric of a perfgate metrics file; `label` is the rule's label.
fn budget(label: &str) -> String {
    format!(
        "[gate]\nname = \"test\"\n\n[sources.api]\nformat = \"json\"\npath = \"api.json\"\n\n\
         [[budget]]\nmetric = \"api.p95\"\nlabel = \"{label}\"\ntarget = \"< 200ms\"\ncritical = \"300ms\"\n"
    )
}

/// A temp dir holding the budget and one report; commands run inside it, as a CI step does.
fn case(label: &str, p95: f64) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("budget.toml"), budget(label)).expect("budget");
    fs::write(
        dir.path().join("api.json"),
        format!(
            "{{\"schema\": \"perfgate/metrics@1\", \"metrics\": {{\"p95\": {{\"value\": {p95}, \"unit\": \"ms\"}}}}}}"
        ),
    )
    .expect("report");
    dir
}

fn perfgate(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = Command::cargo_bin("perfgate").expect("binary");
    cmd.current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_SHA")
        .env_remove("PERFGATE_BUDGET")
        .env_remove("PERFGATE_COMMENT");
    cmd.args(args).assert()
}

fn update(dir: &Path) -> assert_cmd::assert::Assert {
    perfgate(dir, &["baseline", "update", "--budget", "budget.toml"])
}

/// The p95 values of the runs of the baseline at `path`, oldest first.
fn runs(path: &Path) -> Vec<f64> {
    let doc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).expect("baseline")).expect("JSON");
    assert_eq!(doc["schema"], "perfgate/baseline@1");
    doc["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["metrics"]["api.p95"]["value"].as_f64().expect("value"))
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_update_sweeps_the_temporary_files_of_killed_updates() {
    let dir = case("API P95", 100.0);
    update(dir.path()).code(0);
    let baselines = dir.path().join("baselines");
    // What an update killed between creating its temporary file and the rename leaves: a hidden
    // file named by `tempfile` (the prefix and six random characters), half-written.
    let stale = ["b3Xk9Q", "000000"].map(|r| baselines.join(format!(".perfgate-baseline-{r}")));
    for path in &stale {
        fs::write(path, "{\n  \"gate\": \"test\",\n  \"runs\": [\n    {\n").expect("plant");
    }
    // Not a name perfgate gives its temporary files: left alone.
    fs::write(baselines.join(".perfgate-baseline-notes.txt"), "mine").expect("plant");
    fs::write(dir.path().join("api.json"), "{\"schema\": \"perfgate/metrics@1\", \"metrics\": {\"p95\": {\"value\": 120, \"unit\": \"ms\"}}}").expect("report");
    update(dir.path()).code(0);
    assert_eq!(
        names(&baselines),
        [".perfgate-baseline-notes.txt", "test.json"]
    );
    assert_eq!(runs(&baselines.join("test.json")), [100.0, 120.0]);
}

#[cfg(unix)]
#[test]
fn a_symlinked_baseline_stays_a_link_and_its_target_gets_the_run() {
    use std::os::unix::fs::symlink;
    let dir = case("API P95", 100.0);
    let root = dir.path();
    fs::create_dir_all(root.join("baselines")).expect("mkdir");
    fs::create_dir_all(root.join("history")).expect("mkdir");
    // A relative link, read from the link's directory; the target has a run already.
    symlink("../history/test.json", root.join("baselines/test.json")).expect("link");
    update(root).code(0);
    fs::write(root.join("api.json"), "{\"schema\": \"perfgate/metrics@1\", \"metrics\": {\"p95\": {\"value\": 130, \"unit\": \"ms\"}}}").expect("report");
    update(root).code(0);
    let link = root.join("baselines/test.json");
    assert!(fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_link(&link).expect("link"),
        Path::new("../history/test.json")
    );
    assert_eq!(runs(&root.join("history/test.json")), [100.0, 130.0]);
    assert_eq!(names(&root.join("history")), ["test.json"]);
    assert_eq!(names(&root.join("baselines")), ["test.json"]);
    // `baseline show` reads the history through the link.
    perfgate(root, &["baseline", "show", "--budget", "budget.toml"])
        .code(0)
        .stdout(predicates::str::contains("2 runs"));

    // A link to another link: the last target is replaced, each link stays.
    fs::remove_file(&link).expect("unlink");
    symlink("hop.json", &link).expect("link");
    symlink("../history/test.json", root.join("baselines/hop.json")).expect("link");
    update(root).code(0);
    assert_eq!(runs(&root.join("history/test.json")), [100.0, 130.0, 130.0]);
    for name in ["test.json", "hop.json"] {
        let m = fs::symlink_metadata(root.join("baselines").join(name)).expect("link");
        assert!(m.file_type().is_symlink(), "{name}");
    }
}

#[cfg(unix)]
#[test]
fn a_link_to_a_missing_file_creates_it_and_a_loop_is_refused() {
    use std::os::unix::fs::symlink;
    let dir = case("API P95", 100.0);
    let root = dir.path();
    fs::create_dir_all(root.join("baselines")).expect("mkdir");
    let link = root.join("baselines/test.json");
    symlink("../elsewhere/test.json", &link).expect("link");
    update(root).code(0);
    assert!(fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(runs(&root.join("elsewhere/test.json")), [100.0]);

    fs::remove_file(&link).expect("unlink");
    symlink("test.json", &link).expect("link");
    update(root).code(2).stderr(predicates::str::contains(
        "baselines/test.json: more than 40 symbolic links in a row",
    ));
    assert_eq!(names(&root.join("baselines")), ["test.json"]);
    assert_eq!(fs::read_link(&link).expect("link"), Path::new("test.json"));
}

#[test]
fn a_label_cannot_autolink_a_reference_or_a_url_in_the_comment() {
    let dir = case(
        "see GH-2 and https://evil.example/x and www.evil.example",
        100.0,
    );
    let out = perfgate(
        dir.path(),
        &["check", "--budget", "budget.toml", "--format", "markdown"],
    )
    .code(0);
    let comment = String::from_utf8(out.get_output().stdout.clone()).expect("UTF-8");
    assert!(
        comment.contains("see GH&#45;2 and https&#58;//evil.example/x and www&#46;evil.example"),
        "{comment}"
    );
    for raw in ["GH-2", "https://", "www."] {
        assert!(!comment.contains(raw), "{raw} in {comment}");
    }
}
