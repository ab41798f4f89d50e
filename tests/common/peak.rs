//! The binary under GNU time (`/usr/bin/time -f "peak %M"`), for the tests that bound its peak
//! resident set size. CI installs GNU time; elsewhere a run without it has no peak to check.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

const TIME: &str = "/usr/bin/time";

/// What a run printed, how it exited and its peak resident set size in KiB (`None` without GNU
/// time). GNU time exits with the command's status and adds its `peak` line to stderr.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub peak_kib: Option<u64>,
}

/// Whether GNU time is installed; CI must have it.
pub fn gnu_time() -> bool {
    let installed = Path::new(TIME).exists();
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs GNU time (Debian package `time`) for this test"
        );
    }
    installed
}

/// Runs perfgate with `args` (in `dir`, if given) under GNU time, when it is installed.
pub fn perfgate<I, S>(args: I, dir: Option<&Path>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let perfgate = assert_cmd::cargo::cargo_bin("perfgate");
    let mut cmd = if gnu_time() {
        let mut cmd = Command::new(TIME);
        cmd.args(["-f", "peak %M"]).arg(perfgate);
        cmd
    } else {
        Command::new(perfgate)
    };
    cmd.args(args);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd.output().expect("run perfgate");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let peak_kib = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("peak "))
        .map(|k| k.trim().parse().expect("GNU time's peak"));
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
        peak_kib,
    }
}
