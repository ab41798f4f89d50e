//! Hardening of how perfgate opens what it reads, through the binary (issue 10, points 2 and 7):
//! a template, budget or verdict is read up to a limit, and a path swapped for a FIFO never blocks
//! an `open`. Each run has a timeout, so a hang comes back as a failure instead of a stuck test run.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use assert_cmd::Command;
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
        fs::write(&path, text).expect("write");
        path
    }

    /// A sparse file of `len` bytes (all zeros, no disk used).
    fn sparse(&self, name: &str, len: u64) -> PathBuf {
        let path = self.path(name);
        fs::File::create(&path)
            .expect("create")
            .set_len(len)
            .expect("set_len");
        path
    }

    /// perfgate's own report format with one metric, `name` = `ms` milliseconds.
    fn report(&self, file: &str, name: &str, ms: f64) -> PathBuf {
        let doc = serde_json::json!({
            "schema": "perfgate/metrics@1",
            "metrics": { name: { "value": ms, "unit": "ms" } },
        });
        self.file(file, &doc.to_string())
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

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// `--template FILE` was read whole: a 2 GiB file (or `/dev/zero` behind a name) was held in
/// memory and compiled before anything was judged.
#[test]
fn a_template_past_one_mib_is_refused_at_once() {
    let dir = Dir::new();
    dir.report("api.json", "p95", 150.0);
    dir.file(
        "budget.toml",
        "[gate]\nname = \"web\"\n\n[sources.api]\nformat = \"json\"\npath = \"api.json\"\n\n\
         [[budget]]\nmetric = \"api.p95\"\ntarget = \"< 200ms\"\n",
    );
    dir.sparse("huge.j2", 2 << 30);
    let started = Instant::now();
    for args in [
        &["check", "--budget", "budget.toml", "--template", "huge.j2"][..],
        &[
            "comment",
            "--verdict",
            "verdict.json",
            "--template",
            "huge.j2",
        ],
    ] {
        dir.run(args).code(2).stderr(
            "error: huge.j2: larger than the 1048576 bytes perfgate reads from a template\n",
        );
    }
    // Nothing of the 2 GiB is read: both runs end as fast as any refusal does.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A template of exactly the limit is one like any other.
    let mut text = "{{ gate }}={{ verdict }}".to_string();
    text.push_str(&" ".repeat(1024 * 1024 - text.len()));
    dir.file("big.j2", &text);
    let out = dir
        .run(&[
            "check",
            "--budget",
            "budget.toml",
            "--template",
            "big.j2",
            "--format",
            "markdown",
        ])
        .code(0);
    let shown = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(shown.starts_with("web=pass"), "{shown:.200}");
}

/// The budget was read whole too; the verdict was measured before its read but not bounded by it.
#[test]
fn a_budget_or_verdict_past_its_limit_is_refused_naming_it() {
    let dir = Dir::new();
    dir.sparse("budget.toml", 64 * 1024 * 1024 + 1);
    dir.run(&["check", "--budget", "budget.toml"])
        .code(2)
        .stderr(
            "error: budget.toml: larger than the 67108864 bytes perfgate reads from a budget\n",
        );
    dir.sparse("verdict.json", 32 * 1024 * 1024 + 1);
    dir.run(&["comment", "--verdict", "verdict.json"])
        .code(2)
        .stderr(
            "error: verdict.json: larger than the 33554432 bytes perfgate reads from a verdict\n",
        );
}

/// A report path that another process swaps between a regular file and a FIFO: perfgate looked
/// at the path, then opened it, and an `open` that met the FIFO waited for a writer forever. Now
/// what was opened is what is looked at, so each run ends: with the report read, or refused.
#[cfg(unix)]
#[test]
fn a_report_swapped_for_a_fifo_never_blocks() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let dir = Dir::new();
    let report = dir.report("regular.json", "p95", 150.0);
    let fifo = dir.path("fifo.json");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    // Two names for each, so that each swap is one atomic rename over `api.json`.
    let (regular_link, fifo_link) = (dir.path("r"), dir.path("f"));
    let target = dir.path("api.json");
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = Arc::clone(&stop);
        let target = target.clone();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for (from, link) in [(&report, &regular_link), (&fifo, &fifo_link)] {
                    fs::hard_link(from, link).expect("link");
                    fs::rename(link, &target).expect("rename");
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let (mut read, mut refused) = (0, 0);
    for _ in 0..40 {
        let out = dir.run(&["metrics", "api.json"]);
        let code = out.get_output().status.code();
        match code {
            Some(0) => read += 1,
            Some(2) => {
                // Each rename replaces the name at once: the path is always one or the other.
                assert_eq!(
                    stderr(&out),
                    "error: api.json: is a FIFO, not a report file\n"
                );
                refused += 1;
            }
            _ => panic!("{code:?}: {}", stderr(&out)),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().expect("swapper");
    assert_eq!(read + refused, 40);
    assert!(swaps > 40, "the path was swapped {swaps} times");
}

/// A socket cannot be opened at all (ENXIO): it is still named for what it is.
#[cfg(unix)]
#[test]
fn a_report_that_is_a_socket_is_named_as_one() {
    let dir = Dir::new();
    let _listener = std::os::unix::net::UnixListener::bind(dir.path("api.sock")).expect("bind");
    dir.run(&["metrics", "api.sock"])
        .code(2)
        .stderr("error: api.sock: is a socket, not a report file\n");
}
