//! install.sh end to end, against release assets served from 127.0.0.1: the assets are made by
//! .ci/package (the release workflow's packaging) from this build's perfgate binary, under the
//! name of the target install.sh picks for this machine. A verified archive installs and runs; a
//! tampered archive, a checksum file naming another asset, or a release without this platform's
//! asset installs nothing and says which URL and what was wrong.
//!
//! The one rule: nothing leaves 127.0.0.1 and nothing is written outside temp dirs (install.sh's
//! HOME is a temp dir too).
#![cfg(unix)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Rust target triple install.sh should pick on this machine (the release's targets).
fn this_target() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        other => panic!("no perfgate release is built for {other}"),
    };
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-musl"),
        "macos" => format!("{arch}-apple-darwin"),
        other => panic!("no perfgate release is built for {other}"),
    }
}

fn archive_name(target: &str) -> String {
    format!("perfgate-{target}.tar.xz")
}

/// The release assets for this machine's target, packaged once per test run by .ci/package from
/// this build's binary (stripped and at xz's fastest level, to keep a 200 MB debug binary to a
/// few seconds; the release workflow packs the stripped `dist` build at xz's default level), in
/// cargo's temp dir for integration tests (target/tmp), made anew by each run.
fn assets() -> &'static Path {
    static ASSETS: OnceLock<PathBuf> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-assets");
        if out.exists() {
            fs::remove_dir_all(&out).expect("remove the last run's assets");
        }
        let scratch = tempfile::tempdir().expect("temp dir");
        let binary = scratch.path().join("perfgate");
        run_ok(
            Command::new("strip")
                .arg("-o")
                .arg(&binary)
                .arg(env!("CARGO_BIN_EXE_perfgate")),
        );
        run_ok(
            Command::new("bash")
                .arg(repo().join(".ci/package"))
                .arg(this_target())
                .arg(&binary)
                .arg(&out)
                .env("XZ_OPT", "-0"),
        );
        out
    })
}

fn run_ok(command: &mut Command) -> Output {
    let output = command.output().expect("run a command");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A release folder `<root>/v<VERSION>/` holding `files` copied from [`assets`], served over
/// HTTP from 127.0.0.1 as a GitHub release download URL serves them.
struct Release {
    root: TempDir,
    base: String,
}

impl Release {
    fn with(files: &[String]) -> Release {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join(format!("v{VERSION}"));
        fs::create_dir_all(&dir).expect("mkdir");
        for name in files {
            fs::copy(assets().join(name), dir.join(name)).expect("copy an asset");
        }
        let base = serve(root.path().to_owned());
        Release { root, base }
    }

    fn this_platform() -> Release {
        let archive = archive_name(&this_target());
        Release::with(&[archive.clone(), format!("{archive}.sha256")])
    }

    fn asset(&self, name: &str) -> PathBuf {
        self.root.path().join(format!("v{VERSION}")).join(name)
    }

    fn url(&self, name: &str) -> String {
        format!("{}/v{VERSION}/{name}", self.base)
    }

    /// Runs install.sh (the checkout's: its version is this crate's) into a fresh temp dir.
    fn install(&self) -> Installed {
        self.install_with(None)
    }

    /// [`Release::install`] with `path` as the PATH, when given.
    fn install_with(&self, path: Option<&Path>) -> Installed {
        let home = tempfile::tempdir().expect("temp dir");
        let dir = home.path().join("bin");
        let mut command = Command::new("/bin/sh");
        command
            .arg(repo().join("install.sh"))
            .env_remove("PERFGATE_VERSION")
            .env_remove("PERFGATE_TARGET")
            .env("PERFGATE_RELEASE_URL", &self.base)
            .env("PERFGATE_INSTALL_DIR", &dir)
            .env("HOME", home.path());
        if let Some(path) = path {
            command.env("PATH", path);
        }
        let output = command.output().expect("run install.sh");
        Installed {
            _home: home,
            dir,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

struct Installed {
    _home: TempDir,
    dir: PathBuf,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Installed {
    fn assert_refused(&self) {
        assert_eq!(self.code, Some(1), "stderr: {}", self.stderr);
        assert!(
            !self.dir.exists(),
            "a refused install created {}",
            self.dir.display()
        );
        assert_eq!(self.stdout, "");
    }
}

/// Serves the files under `root` on a free 127.0.0.1 port (GET only, 404 for anything missing),
/// one connection at a time, for as long as the test process lives. Returns its base URL.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            answer(stream, &root);
        }
    });
    base
}

fn answer(stream: TcpStream, root: &Path) {
    // A client that stops talking cannot stall the server for the other tests.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut header = String::new();
    while reader
        .read_line(&mut header)
        .map(|n| n > 2)
        .unwrap_or(false)
    {
        header.clear();
    }
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    let relative = Path::new(target.trim_start_matches('/'));
    let safe = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let body = if safe {
        fs::read(root.join(relative)).ok()
    } else {
        None
    };
    let (status, body) = match body {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"Not Found".to_vec()),
    };
    let mut writer = stream;
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = writer
        .write_all(head.as_bytes())
        .and_then(|()| writer.write_all(&body));
}

#[test]
fn the_archive_has_the_release_layout() {
    let target = this_target();
    let archive = archive_name(&target);
    let listing = run_ok(Command::new("tar").arg("-tJf").arg(assets().join(&archive)));
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout),
        format!("perfgate-{target}/\nperfgate-{target}/perfgate\n")
    );

    let checksum = fs::read_to_string(assets().join(format!("{archive}.sha256"))).expect("read");
    let (hex, name) = checksum
        .trim_end_matches('\n')
        .split_once("  ")
        .expect("<hex>  <name>");
    assert_eq!(name, archive);
    assert_eq!(hex.len(), 64);
    assert!(hex
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    // The file is in sha256sum's own format: it checks the archive it sits beside.
    run_ok(
        Command::new("sha256sum")
            .arg("--check")
            .arg("--strict")
            .arg(format!("{archive}.sha256"))
            .current_dir(assets()),
    );
}

#[test]
fn a_verified_release_is_installed_and_runs() {
    let release = Release::this_platform();
    let installed = release.install();
    assert_eq!(installed.code, Some(0), "stderr: {}", installed.stderr);
    assert_eq!(installed.stdout, format!("perfgate {VERSION}\n"));
    let url = release.url(&archive_name(&this_target()));
    assert!(installed.stderr.contains(&url), "{}", installed.stderr);

    let binary = installed.dir.join("perfgate");
    let version = run_ok(Command::new(&binary).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("perfgate {VERSION}\n")
    );
    // The installed binary judges the shipped examples: exit 0 or 1 is a verdict.
    let check = Command::new(&binary)
        .args([
            "check",
            "--budget",
            "budgets/prod.toml",
            "--comment",
            "never",
        ])
        .current_dir(repo())
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("run perfgate check");
    assert!(
        matches!(check.status.code(), Some(0 | 1)),
        "check: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stdout).starts_with("perfgate prod: "));
}

#[test]
fn a_tampered_archive_is_refused_and_nothing_is_installed() {
    let release = Release::this_platform();
    let archive = archive_name(&this_target());
    let path = release.asset(&archive);
    let mut bytes = fs::read(&path).expect("read the archive");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).expect("tamper with the archive");

    let installed = release.install();
    installed.assert_refused();
    let url = release.url(&archive);
    assert!(
        installed
            .stderr
            .contains(&format!("checksum mismatch for {url}: {url}.sha256 says ")),
        "{}",
        installed.stderr
    );
    assert!(installed.stderr.contains("nothing was installed"));
}

#[test]
fn a_checksum_file_for_another_asset_is_refused() {
    let release = Release::this_platform();
    let archive = archive_name(&this_target());
    let sums = release.asset(&format!("{archive}.sha256"));
    let text = fs::read_to_string(&sums).expect("read");
    fs::write(&sums, text.replace(&archive, "perfgate-other.tar.xz")).expect("write");

    let installed = release.install();
    installed.assert_refused();
    assert!(
        installed.stderr.contains(&format!(
            "{}.sha256 is the checksum of \"perfgate-other.tar.xz\", not of {archive}",
            release.url(&archive)
        )),
        "{}",
        installed.stderr
    );
}

#[test]
fn a_release_without_this_platform_says_which_asset_is_missing() {
    // Only another platform's asset: this machine's is a 404.
    let other = "aarch64-pc-windows-msvc";
    let release = Release::with(&[]);
    let dir = release.root.path().join(format!("v{VERSION}"));
    fs::write(dir.join(format!("perfgate-{other}.zip")), b"zip").expect("write");

    let installed = release.install();
    installed.assert_refused();
    let target = this_target();
    let wanted = release.url(&format!("{}.sha256", archive_name(&target)));
    assert!(
        installed.stderr.contains(&format!(
            "error: {wanted} was not found (HTTP 404): is there a perfgate {VERSION} release, with an asset for {target}?"
        )),
        "{}",
        installed.stderr
    );
}

#[test]
fn without_curl_it_downloads_with_wget() {
    // A PATH holding every tool install.sh uses but curl.
    let bin = tempfile::tempdir().expect("temp dir");
    let tools = [
        "awk",
        "cat",
        "chmod",
        "cp",
        "cut",
        "dirname",
        "mkdir",
        "mktemp",
        "mv",
        "rm",
        "sha256sum",
        "tar",
        "tr",
        "uname",
        "wget",
        "xz",
    ];
    for tool in tools {
        let found = run_ok(Command::new("sh").args(["-c", &format!("command -v {tool}")]));
        let found = String::from_utf8_lossy(&found.stdout).trim().to_owned();
        std::os::unix::fs::symlink(found, bin.path().join(tool)).expect("symlink a tool");
    }

    let release = Release::this_platform();
    let installed = release.install_with(Some(bin.path()));
    assert_eq!(installed.code, Some(0), "stderr: {}", installed.stderr);
    assert_eq!(installed.stdout, format!("perfgate {VERSION}\n"));

    let tampered = Release::this_platform();
    let archive = tampered.asset(&archive_name(&this_target()));
    let mut bytes = fs::read(&archive).expect("read the archive");
    bytes.truncate(bytes.len() - 1);
    fs::write(&archive, bytes).expect("truncate the archive");
    let refused = tampered.install_with(Some(bin.path()));
    refused.assert_refused();
    assert!(
        refused.stderr.contains("checksum mismatch for "),
        "{}",
        refused.stderr
    );
}

/// The script of action.yml's install step (`id: install`), as the runner runs it with bash.
fn action_install_script() -> String {
    let action = fs::read_to_string(repo().join("action.yml")).expect("read action.yml");
    let mut lines = action.lines().skip_while(|l| l.trim() != "- id: install");
    let _ = lines.by_ref().find(|l| l.trim() == "run: |");
    let script: Vec<&str> = lines
        .take_while(|l| l.is_empty() || l.starts_with("        "))
        .map(|l| l.get(8..).unwrap_or(""))
        .collect();
    assert!(script.len() > 10, "no install step in action.yml");
    script.join("\n")
}

/// Runs action.yml's install step as the runner would for `uses: octo/perfgate@<action_ref>`.
fn run_action_install(release: &str, action_ref: &str, runner: &Path, path: &str) -> Output {
    run_action_install_from("http://127.0.0.1:9", release, action_ref, runner, path)
}

/// [`run_action_install`] with `server` as GITHUB_SERVER_URL (where the action's tags are).
fn run_action_install_from(
    server: &str,
    release: &str,
    action_ref: &str,
    runner: &Path,
    path: &str,
) -> Output {
    let outputs = runner.join("github_output");
    Command::new("bash")
        .arg("-c")
        .arg(action_install_script())
        .env("ACTION_PATH", repo())
        .env("ACTION_REF", action_ref)
        .env("ACTION_REPOSITORY", "octo/perfgate")
        .env("GITHUB_SERVER_URL", server)
        .env("PERFGATE_RELEASE_URL", release)
        .env("RUNNER_TOOL_CACHE", runner.join("toolcache"))
        .env("RUNNER_TEMP", runner.join("temp"))
        .env("RUNNER_ARCH", "X64")
        .env("GITHUB_OUTPUT", &outputs)
        .env("HOME", runner)
        .env("PATH", path)
        .output()
        .expect("run the action's install step")
}

/// A `cargo` running `script` (sh), in `<dir>/bin`, which it returns.
fn stub_cargo(dir: &Path, script: &str) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).expect("mkdir");
    let cargo = bin.join("cargo");
    fs::write(&cargo, format!("#!/bin/sh\n{script}\n")).expect("write");
    let mut mode = fs::metadata(&cargo).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    fs::set_permissions(&cargo, mode).expect("chmod");
    bin
}

#[test]
fn the_action_installs_the_release_into_the_tool_cache_and_reuses_it() {
    let release = Release::this_platform();
    let runner = tempfile::tempdir().expect("temp dir");
    let path = std::env::var("PATH").expect("PATH");
    let tag = format!("v{VERSION}");

    let first = run_action_install(&release.base, &tag, runner.path(), &path);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(stderr.contains(&release.url(&archive_name(&this_target()))));
    let cached = runner
        .path()
        .join(format!("toolcache/perfgate/{VERSION}/X64"));
    assert!(runner
        .path()
        .join(format!("toolcache/perfgate/{VERSION}/X64.complete"))
        .is_file());
    let outputs = fs::read_to_string(runner.path().join("github_output")).expect("read");
    assert_eq!(
        outputs,
        format!("path={}\n", cached.join("perfgate").display())
    );

    // The second job on this runner finds it in the tool cache: no release server needed.
    fs::remove_file(runner.path().join("github_output")).expect("rm");
    let second = run_action_install("http://127.0.0.1:9", &tag, runner.path(), &path);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        stdout,
        format!(
            "perfgate {VERSION} from the tool cache: {}\n",
            cached.display()
        )
    );
}

#[test]
fn the_action_builds_from_source_only_for_a_ref_that_is_no_release() {
    // The real fallback build takes minutes (benches/install.sh times it): here a `cargo` on PATH
    // records how it is called instead.
    let runner = tempfile::tempdir().expect("temp dir");
    let bin = stub_cargo(
        runner.path(),
        r#"echo "cargo $*" > "$RUNNER_TEMP/cargo-args""#,
    );
    fs::create_dir_all(runner.path().join("temp")).expect("mkdir");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").expect("PATH"));

    let output = run_action_install("http://127.0.0.1:9", "main", runner.path(), &path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with(&format!(
        "::notice title=perfgate::the action's ref 'main' is not the release v{VERSION}: building perfgate from source with cargo install --locked"
    )));
    let temp = runner.path().join("temp");
    assert_eq!(
        fs::read_to_string(temp.join("cargo-args")).expect("cargo was run"),
        format!(
            "cargo install --locked --path {} --root {}\n",
            repo().display(),
            temp.join("perfgate-source").display()
        )
    );
    assert!(!runner.path().join("toolcache").exists());
}

#[test]
fn the_action_pinned_to_the_release_commit_installs_the_release() {
    // `uses: octo/perfgate@<sha> # v<version>`: the action asks the server (here a real git
    // repository) which commit the version tag, an annotated one, points at.
    let runner = tempfile::tempdir().expect("temp dir");
    let origin = runner.path().join("server/octo/perfgate");
    fs::create_dir_all(&origin).expect("mkdir");
    let git = |args: &[&str]| {
        run_ok(
            Command::new("git")
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "init.defaultBranch=main",
                ])
                .args(args)
                .current_dir(&origin),
        )
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "release"]);
    git(&["tag", "-a", &format!("v{VERSION}"), "-m", "release"]);
    git(&["commit", "-q", "--allow-empty", "-m", "after the release"]);
    let tagged = String::from_utf8_lossy(&git(&["rev-parse", "HEAD~1"]).stdout)
        .trim()
        .to_owned();
    let later = String::from_utf8_lossy(&git(&["rev-parse", "HEAD"]).stdout)
        .trim()
        .to_owned();
    let server = format!("file://{}", runner.path().join("server").display());
    let path = std::env::var("PATH").expect("PATH");

    let release = Release::this_platform();
    let pinned = run_action_install_from(&server, &release.base, &tagged, runner.path(), &path);
    assert!(
        pinned.status.success(),
        "{}",
        String::from_utf8_lossy(&pinned.stderr)
    );
    assert!(runner
        .path()
        .join(format!("toolcache/perfgate/{VERSION}/X64/perfgate"))
        .is_file());

    // A commit after the release is no release: it is built from source (here by a `cargo` on
    // PATH that only fails, so the step fails after saying why it builds).
    let other = tempfile::tempdir().expect("temp dir");
    let bin = stub_cargo(other.path(), "exit 3");
    let path = format!("{}:{path}", bin.display());
    let unreleased = run_action_install_from(&server, &release.base, &later, other.path(), &path);
    assert!(
        String::from_utf8_lossy(&unreleased.stdout).contains(&format!(
            "the action's ref '{later}' is not the release v{VERSION}"
        ))
    );
    assert_eq!(unreleased.status.code(), Some(3));
}
