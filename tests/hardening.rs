//! Hostile inputs through the binary (issue 10): each test failed before its fix, and runs with a
//! timeout so that a hang comes back as a failure instead of a stuck test run.

use std::fs;
use std::path::Path;

mod common;

use common::dir::{stderr, stdout, Dir};

/// `format!("{name:<width$}")` panics for a width above u16::MAX: the metrics table sized its name
/// column by the longest name.
#[test]
fn metrics_lists_a_name_of_65536_characters() {
    let dir = Dir::new();
    let long = "m".repeat(70_000);
    dir.report("long.json", &[(&long, 1.5), ("short", 2.0)]);
    let out = dir.run(&["metrics", "long.json"]).code(0);
    let text = stdout(&out);
    assert!(text.contains(&format!("  {long}  1.5 ms\n")), "{text:.300}");
    let short = text.lines().find(|l| l.contains("short")).expect("short");
    assert!(
        short.len() < 100,
        "the short name is not padded to the long one: {short}"
    );
}

/// A budget of one rule on `api.p95`, the report at `api.json`.
const BUDGET: &str = r#"
[gate]
name = "web"

[sources.api]
format = "json"
path = "api.json"

[[budget]]
metric = "api.p95"
target = "< 200ms"
"#;

/// Makes a FIFO at `path` with the system's `mkfifo`: nothing ever writes to it, so an `open` for
/// reading blocks forever.
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A FIFO or `/dev/zero` given as a report blocked in `open` or read without end.
#[test]
fn a_report_that_is_not_a_regular_file_is_refused() {
    let dir = Dir::new();
    mkfifo(&dir.path("fifo.json"));
    dir.run(&["metrics", "fifo.json"])
        .code(2)
        .stderr("error: fifo.json: is a FIFO, not a report file\n");
    dir.run(&["metrics", "--format", "json", "fifo.json"])
        .code(2)
        .stderr("error: fifo.json: is a FIFO, not a report file\n");
    dir.run(&["metrics", "/dev/zero"])
        .code(2)
        .stderr("error: /dev/zero: is a character device, not a report file\n");
    std::os::unix::fs::symlink("/dev/zero", dir.path("zero.json")).expect("symlink");
    dir.file("budget.toml", &BUDGET.replace("api.json", "zero.json"));
    let out = dir.run(&["check", "--budget", "budget.toml"]).code(2);
    assert!(
        stderr(&out).contains("zero.json: is a character device, not a report file"),
        "{}",
        stderr(&out)
    );
}

/// The other files perfgate opens by name: the budget, `--template`, `comment --verdict`.
#[test]
fn a_budget_template_or_verdict_that_is_a_fifo_is_refused() {
    let dir = Dir::new();
    dir.report("api.json", &[("p95", 150.0)]);
    mkfifo(&dir.path("fifo"));
    dir.run(&["check", "--budget", "fifo"])
        .code(2)
        .stderr("error: fifo: is a FIFO, not a budget file\n");
    dir.file("budget.toml", BUDGET);
    dir.run(&["check", "--budget", "budget.toml", "--template", "fifo"])
        .code(2)
        .stderr("error: fifo: is a FIFO, not a template file\n");
    dir.run(&["comment", "--verdict", "fifo"])
        .code(2)
        .stderr("error: fifo: is a FIFO, not a verdict file\n");
}

/// A FIFO inside a built folder is not a file a browser loads: it is left out of the sizes, and
/// never opened (so it was before issue 10; pinned here with the other special files).
#[test]
fn a_fifo_in_a_built_folder_is_not_opened() {
    let dir = Dir::new();
    dir.file("dist/app.js", "console.log(1)\n");
    mkfifo(&dir.path("dist/pipe.js"));
    let out = dir.run(&["metrics", "dist"]).code(0);
    let text = stdout(&out);
    assert!(
        text.contains("dist: dir (directory), 6 metrics\n"),
        "{text}"
    );
    assert!(text.contains("  total.raw            15 B\n"), "{text}");
    assert!(!text.contains("pipe"), "{text}");
}

/// A baseline committed as a symbolic link to `/dev/zero` was read until memory ran out, and a
/// FIFO blocked; a baseline larger than the limit is refused with it.
#[test]
fn a_baseline_that_is_not_a_regular_file_or_too_large_is_refused() {
    let dir = Dir::new();
    dir.file("budget.toml", BUDGET);
    dir.report("api.json", &[("p95", 150.0)]);
    fs::create_dir(dir.path("baselines")).expect("mkdir");
    std::os::unix::fs::symlink("/dev/zero", dir.path("baselines/web.json")).expect("symlink");
    for args in [
        &["check", "--budget", "budget.toml"][..],
        &["baseline", "show", "--budget", "budget.toml"],
        &["baseline", "update", "--budget", "budget.toml"],
    ] {
        dir.run(args)
            .code(2)
            .stderr("error: baselines/web.json: is a character device, not a baseline file\n");
    }
    mkfifo(&dir.path("fifo.json"));
    dir.run(&[
        "check",
        "--budget",
        "budget.toml",
        "--baseline",
        "fifo.json",
    ])
    .code(2)
    .stderr("error: fifo.json: is a FIFO, not a baseline file\n");
    let big = fs::File::create(dir.path("big.json")).expect("create");
    big.set_len(64 * 1024 * 1024 + 1).expect("sparse file");
    dir.run(&["check", "--budget", "budget.toml", "--baseline", "big.json"])
        .code(2)
        .stderr("error: big.json: larger than the 67108864 bytes perfgate reads from a baseline\n");
}

/// An OSC 8 hyperlink (ESC … BEL) and a right-to-left override in a report's metric name.
const HOSTILE: &str = "p95\u{1b}]8;;http://evil\u{7}click\u{1b}]8;;\u{7}\u{202e}lmth.exe";

/// What a terminal shows for [`HOSTILE`]: each control or bidi character as U+FFFD.
const SHOWN: &str = "p95\u{fffd}]8;;http://evil\u{fffd}click\u{fffd}]8;;\u{fffd}\u{fffd}lmth.exe";

fn assert_inert(text: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(
            !text.contains(bad),
            "{bad:?} reached the terminal: {text:?}"
        );
    }
}

/// Names from a report were printed raw by `metrics` and in the `closest:` hint of an error.
#[test]
fn control_characters_from_a_report_never_reach_the_terminal() {
    let dir = Dir::new();
    dir.report("api.json", &[(HOSTILE, 150.0)]);
    let out = dir.run(&["metrics", "api.json"]).code(0);
    assert_inert(&stdout(&out));
    assert!(
        stdout(&out).contains(&format!("  {SHOWN}  150 ms\n")),
        "{}",
        stdout(&out)
    );

    // JSON stays JSON: serde writes the C0 controls as \u escapes; the reader's name is intact.
    let out = dir.run(&["metrics", "--json", "api.json"]).code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert!(v["files"][0]["metrics"][HOSTILE].is_object(), "{v}");
    assert!(!stdout(&out).contains('\u{1b}') && !stdout(&out).contains('\u{7}'));

    dir.file(
        "budget.toml",
        &BUDGET.replace("api.p95", "api.p95]8;;http://evilclick]8;;lmth.exe"),
    );
    let out = dir.run(&["check", "--budget", "budget.toml"]).code(2);
    let err = stderr(&out);
    assert_inert(&err);
    assert!(err.contains(&format!("closest: `{SHOWN}`")), "{err}");
}
