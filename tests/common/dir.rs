//! A temp dir the binary runs in, as a CI step runs in its checkout, for the tests that feed it
//! hostile inputs: each run has a timeout, so a hang comes back as a failure instead of a stuck
//! test run.
#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::assert::Assert;
use assert_cmd::Command;
use serde_json::json;
use tempfile::TempDir;

/// Far above any of these runs (a few milliseconds each), far below a stuck CI job.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A temp dir the binary runs in, as a CI step runs in its checkout.
pub struct Dir(TempDir);

impl Dir {
    pub fn new() -> Dir {
        Dir(tempfile::tempdir().expect("temp dir"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Writes `text` at `name`, making its parent directories.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, text).expect("write");
        path
    }

    /// A sparse file of `len` bytes (all zeros, no disk used).
    pub fn sparse(&self, name: &str, len: u64) -> PathBuf {
        let path = self.path(name);
        fs::File::create(&path)
            .expect("create")
            .set_len(len)
            .expect("set_len");
        path
    }

    /// perfgate's own report format holding the given metrics (name → milliseconds).
    pub fn report(&self, file: &str, metrics: &[(&str, f64)]) -> PathBuf {
        let metrics: serde_json::Map<String, serde_json::Value> = metrics
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!({"value": v, "unit": "ms"})))
            .collect();
        let text = json!({"schema": "perfgate/metrics@1", "metrics": metrics}).to_string();
        self.file(file, &text)
    }

    /// Runs the binary here, with none of the GitHub Actions environment of the test run.
    pub fn run(&self, args: &[&str]) -> Assert {
        self.run_with(&[], args)
    }

    /// As [`Dir::run`], with the variables `env` set.
    pub fn run_with(&self, env: &[(&str, &str)], args: &[&str]) -> Assert {
        let mut cmd = Command::cargo_bin("perfgate").expect("binary");
        cmd.current_dir(self.0.path()).timeout(TIMEOUT);
        for (var, _) in std::env::vars() {
            if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
                cmd.env_remove(var);
            }
        }
        cmd.envs(env.iter().copied()).args(args).assert()
    }
}

/// What a run printed on stdout.
pub fn stdout(a: &Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// What a run printed on stderr.
pub fn stderr(a: &Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}
