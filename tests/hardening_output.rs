//! Hardening of how perfgate opens what it reads and of what it writes, through the binary
//! (issue 10, points 2, 7 and 9): a template, budget or verdict is read up to a limit, a path
//! swapped for a FIFO never blocks an `open`, and its JSON carries no character a terminal acts
//! on. Each run has a timeout, so a hang comes back as a failure instead of a stuck test run.

use std::fs;
use std::time::{Duration, Instant};

mod common;

use common::dir::{stderr, Dir, TIMEOUT};

/// A metric name with a C1 CSI (U+009B: `ESC [` on terminals that read 8-bit controls), a
/// right-to-left override and DEL: none is escaped by serde_json itself.
const HOSTILE: &str = "p95\u{9b}31m\u{202e}lmth.exe\u{7f}";

/// The characters of [`HOSTILE`] that must not be written raw.
const RAW: [char; 3] = ['\u{9b}', '\u{202e}', '\u{7f}'];

/// Asserts that `bytes` (named `what` in a failure) are JSON holding none of [`RAW`] raw, and
/// returns them parsed.
fn inert_json(what: &str, bytes: &[u8]) -> serde_json::Value {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    for c in RAW {
        assert!(!text.contains(c), "{c:?} raw in {what}: {text}");
    }
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} is not JSON ({e}): {text}"))
}

/// A budget of one rule on the report's [`HOSTILE`] metric, labelled with it too. TOML's `\u`
/// escapes keep the budget itself plain ASCII.
fn hostile_budget() -> String {
    let escaped: String = HOSTILE
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() {
                c.to_string()
            } else {
                format!("\\u{:04X}", u32::from(c))
            }
        })
        .collect();
    format!(
        "[gate]\nname = \"web\"\n\n[sources.api]\nformat = \"json\"\npath = \"api.json\"\n\n\
         [[budget]]\nmetric = \"api.{escaped}\"\nlabel = \"{escaped}\"\ntarget = \"< 200ms\"\n"
    )
}

/// serde_json escapes U+0000–U+001F only: DEL, the C1 controls and the bidi controls in a
/// report's names reached `metrics --json`, the JSON verdict, the baseline file and its summary
/// raw.
#[test]
fn json_output_escapes_what_a_terminal_acts_on_and_decodes_to_the_same_names() {
    let dir = Dir::new();
    dir.report("api.json", &[(HOSTILE, 150.0)]);

    let out = dir.run(&["metrics", "--json", "api.json"]).code(0);
    let v = inert_json("metrics --json", &out.get_output().stdout);
    let metrics = v["files"][0]["metrics"].as_object().expect("metrics");
    assert_eq!(metrics.keys().collect::<Vec<_>>(), [HOSTILE]);
    assert_eq!(metrics[HOSTILE]["value"], 150.0);
    // Written as `\u` escapes, lower-case as serde_json writes its own.
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("\"p95\\u009b31m\\u202elmth.exe\\u007f\""),
        "{text}"
    );

    dir.file("budget.toml", &hostile_budget());
    let name = format!("api.{HOSTILE}");
    let out = dir
        .run(&[
            "check",
            "--budget",
            "budget.toml",
            "--format",
            "json",
            "--output",
            "verdict.json",
        ])
        .code(0);
    let v = inert_json("check --format json", &out.get_output().stdout);
    assert_eq!(v["metrics"][0]["id"], name.as_str(), "{v}");
    assert_eq!(v["metrics"][0]["label"], HOSTILE, "{v}");
    assert_eq!(v["metrics"][0]["value"], 150.0, "{v}");
    let saved = fs::read(dir.path("verdict.json")).expect("verdict");
    assert_eq!(
        saved,
        out.get_output().stdout,
        "--output writes what is printed"
    );

    dir.run(&["baseline", "update", "--budget", "budget.toml"])
        .code(0);
    let v = inert_json(
        "the baseline",
        &fs::read(dir.path("baselines/web.json")).expect("baseline"),
    );
    assert_eq!(v["runs"][0]["metrics"][&name]["value"], 150.0, "{v}");

    let out = dir
        .run(&[
            "baseline",
            "show",
            "--budget",
            "budget.toml",
            "--format",
            "json",
        ])
        .code(0);
    let v = inert_json("baseline show --format json", &out.get_output().stdout);
    assert_eq!(v["metrics"][0]["id"], name.as_str(), "{v}");
    assert_eq!(v["metrics"][0]["label"], HOSTILE, "{v}");
}

/// `--template FILE` was read whole: a 2 GiB file (or `/dev/zero` behind a name) was held in
/// memory and compiled before anything was judged.
#[test]
fn a_template_past_one_mib_is_refused_at_once() {
    let dir = Dir::new();
    dir.report("api.json", &[("p95", 150.0)]);
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

/// The event payload at GITHUB_EVENT_PATH was read whole: `/dev/zero` there was read until memory
/// ran out.
#[test]
fn an_event_payload_past_its_limit_or_not_a_file_is_refused_naming_it() {
    let dir = Dir::new();
    dir.report("api.json", &[("p95", 150.0)]);
    dir.file(
        "budget.toml",
        "[gate]\nname = \"web\"\n\n[sources.api]\nformat = \"json\"\npath = \"api.json\"\n\n\
         [[budget]]\nmetric = \"api.p95\"\ntarget = \"< 200ms\"\n",
    );
    dir.sparse("event.json", 32 * 1024 * 1024 + 1);
    let check = ["check", "--budget", "budget.toml", "--comment", "always"];
    let run = |event: &str| {
        dir.run_with(
            &[
                ("GITHUB_REPOSITORY", "octo/web"),
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_EVENT_PATH", event),
            ],
            &check,
        )
    };
    run("event.json").code(2).stderr(
        "error: --comment always: cannot comment on the pull request: event.json: larger than \
         the 33554432 bytes perfgate reads from a GitHub event payload (GITHUB_EVENT_PATH)\n",
    );
    run("/dev/zero").code(2).stderr(
        "error: --comment always: cannot comment on the pull request: /dev/zero: is a character \
         device, not a GitHub event payload (GITHUB_EVENT_PATH)\n",
    );
}

/// A report path that another process swaps between a regular file and a FIFO: perfgate looked
/// at the path, then opened it, and an `open` that met the FIFO waited for a writer forever. Now
/// what was opened is what is looked at, so each run ends: with the report read, or refused.
#[cfg(unix)]
#[test]
fn a_report_swapped_for_a_fifo_never_blocks() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    let dir = Dir::new();
    let report = dir.report("regular.json", &[("p95", 150.0)]);
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
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps) = (Arc::clone(&stop), Arc::clone(&swaps));
        let target = target.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for (from, link) in [(&report, &regular_link), (&fifo, &fifo_link)] {
                    fs::hard_link(from, link).expect("link");
                    fs::rename(link, &target).expect("rename");
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let (mut read, mut refused) = (0, 0);
    for _ in 0..40 {
        // Each run starts after a swap of its own, however little time a loaded machine gives
        // the swapping thread.
        let seen = swaps.load(Ordering::Relaxed);
        let started = Instant::now();
        while swaps.load(Ordering::Relaxed) == seen {
            assert!(started.elapsed() < TIMEOUT, "the swapping thread stopped");
            std::thread::yield_now();
        }
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
    swapper.join().expect("swapper");
    assert_eq!(read + refused, 40);
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
