//! Hostile inputs through the binary (issue 10): each test failed before its fix, and runs with a
//! timeout so that a hang comes back as a failure instead of a stuck test run.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::json;
use tempfile::TempDir;

/// Far above any of these runs (a few milliseconds each), far below a stuck CI job.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A temp dir the binary runs in, as a CI step runs in its checkout.
struct Dir(TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().expect("temp dir"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, text).expect("write");
        path
    }

    /// perfgate's own report format holding the given metrics (name → milliseconds).
    fn report(&self, name: &str, metrics: &[(&str, f64)]) -> PathBuf {
        let metrics: serde_json::Map<String, serde_json::Value> = metrics
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!({"value": v, "unit": "ms"})))
            .collect();
        let text = json!({"schema": "perfgate/metrics@1", "metrics": metrics}).to_string();
        self.file(name, &text)
    }

    /// Runs the binary here, with none of the GitHub Actions environment of the test run.
    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        let mut cmd = Command::cargo_bin("perfgate").expect("binary");
        cmd.current_dir(self.0.path()).timeout(TIMEOUT);
        for (var, _) in std::env::vars() {
            if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
                cmd.env_remove(var);
            }
        }
        cmd.args(args).assert()
    }
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

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
