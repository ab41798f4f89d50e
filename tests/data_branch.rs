//! Baselines on a data branch (`--baseline git:BRANCH[:PATH]`) with real git repositories: a bare
//! "origin", clones that update it at once, a pull request's clone that reads a branch it never
//! fetched. Every git command runs without a user identity (an empty HOME, no global or system
//! config), as on a fresh CI runner.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

/// Variables of the environment that would change what the binary or git does.
const NOT_INHERITED: [&str; 20] = [
    "PERFGATE_BUDGET",
    "PERFGATE_COMMENT",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_OUTPUT",
    "GITHUB_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_SHA",
    "GITHUB_BASE_REF",
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
    "GITHUB_REF_TYPE",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_DIR",
    "GIT_INDEX_FILE",
];

const BRANCH: &str = "perfgate-baselines";
const FILE: &str = "baselines/prod.json";

/// A bare origin with a `main` branch, a budget outside every repository, and clones of it.
struct World {
    dir: TempDir,
}

impl World {
    fn new() -> World {
        let world = World {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        fs::create_dir(world.home()).expect("home");
        let report =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/artillery/api-load-report.json");
        fs::write(
            world.budget(),
            format!(
                "[gate]\nname = \"prod\"\n\n[sources.api]\nformat = \"artillery\"\npath = {:?}\n\n\
                 [[budget]]\nmetric = \"api.http.response_time.p95\"\ntarget = \"< 200ms\"\ncritical = \"300ms\"\n",
                report.display().to_string()
            ),
        )
        .expect("budget");
        world.git(
            world.dir.path(),
            &["init", "--quiet", "--bare", "origin.git"],
        );
        world.git(
            world.dir.path(),
            &["clone", "--quiet", "origin.git", "seed"],
        );
        let seed = world.path("seed");
        fs::write(seed.join("README.md"), "the project\n").expect("readme");
        world.git(&seed, &["checkout", "--quiet", "-b", "main"]);
        world.git(&seed, &["add", "README.md"]);
        world.git(
            &seed,
            &[
                "-c",
                "user.name=dev",
                "-c",
                "user.email=dev@example.com",
                "commit",
                "--quiet",
                "-m",
                "the project",
            ],
        );
        world.git(&seed, &["push", "--quiet", "origin", "main"]);
        world.git(
            &world.path("origin.git"),
            &["symbolic-ref", "HEAD", "refs/heads/main"],
        );
        world
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn budget(&self) -> PathBuf {
        self.path("budget.toml")
    }

    /// A clone of origin's `main` only, as `actions/checkout` makes: no other branch fetched.
    fn clone(&self, name: &str) -> PathBuf {
        self.git(
            self.dir.path(),
            &[
                "clone",
                "--quiet",
                "--single-branch",
                "--branch",
                "main",
                "origin.git",
                name,
            ],
        );
        self.path(name)
    }

    /// Isolates a command from this machine's git and GitHub settings: no identity, no config.
    fn isolate(&self, cmd: &mut Command) {
        for var in NOT_INHERITED {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1");
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        self.isolate(&mut cmd);
        let out = cmd.current_dir(dir).args(args).output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    }

    fn perfgate_command<S: AsRef<OsStr>>(
        &self,
        dir: &Path,
        args: &[S],
        env: &[(&str, &str)],
    ) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfgate"));
        self.isolate(&mut cmd);
        cmd.current_dir(dir).args(args).envs(env.iter().copied());
        cmd
    }

    fn perfgate<S: AsRef<OsStr>>(&self, dir: &Path, args: &[S], env: &[(&str, &str)]) -> Output {
        self.perfgate_command(dir, args, env)
            .output()
            .expect("perfgate runs")
    }

    /// `check --format json` in `dir` with the data branch `spec`: the verdict of a run that judged.
    fn check_json(&self, dir: &Path, spec: &str, env: &[(&str, &str)]) -> Value {
        let budget = self.budget().display().to_string();
        let args = [
            "check",
            "--budget",
            &budget,
            "--baseline",
            spec,
            "--format",
            "json",
        ];
        let out = self.perfgate(dir, &args, env);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("JSON verdict")
    }

    /// `baseline update --push` of this budget's run, recorded as `commit`.
    fn update_args(&self, baseline: &str, commit: &str) -> Vec<String> {
        let budget = self.budget().display().to_string();
        [
            "baseline",
            "update",
            "--budget",
            &budget,
            "--baseline",
            baseline,
            "--commit",
            commit,
            "--push",
        ]
        .map(str::to_string)
        .to_vec()
    }

    /// The baseline file on origin's data branch.
    fn on_origin(&self, path: &str) -> Value {
        let text = self.git(
            &self.path("origin.git"),
            &["show", &format!("refs/heads/{BRANCH}:{path}")],
        );
        serde_json::from_str(&text).expect("the file is JSON")
    }
}

/// The state of a checkout that an update must leave alone: HEAD, the index's bytes, the
/// working tree's status, and `main` on origin.
fn checkout_state(world: &World, clone: &Path) -> (String, String, Vec<u8>, String, String) {
    (
        world.git(clone, &["symbolic-ref", "HEAD"]),
        world.git(clone, &["rev-parse", "HEAD"]),
        fs::read(clone.join(".git/index")).expect("index"),
        world.git(clone, &["status", "--porcelain", "--untracked-files=all"]),
        world.git(&world.path("origin.git"), &["rev-parse", "refs/heads/main"]),
    )
}

fn commits(file: &Value) -> Vec<String> {
    let mut commits: Vec<String> = file["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["commit"].as_str().expect("commit").to_string())
        .collect();
    commits.sort();
    commits
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sha(n: u32) -> String {
    format!("{n:040x}")
}

#[test]
fn two_clones_pushing_at_once_both_land_and_leave_their_checkouts_alone() {
    let world = World::new();
    let clones = [world.clone("a"), world.clone("b")];
    // A file the developer has not added: the working tree must keep it as it is.
    fs::write(clones[0].join("notes.txt"), "mine\n").expect("untracked file");
    let before: Vec<_> = clones.iter().map(|c| checkout_state(&world, c)).collect();
    let spec = format!("git:{BRANCH}");
    let mut expected = Vec::new();
    for round in 0..3 {
        let children: Vec<_> = clones
            .iter()
            .enumerate()
            .map(|(i, clone)| {
                let commit = sha(round * 10 + i as u32 + 1);
                expected.push(commit.clone());
                world
                    .perfgate_command(clone, &world.update_args(&spec, &commit), &[])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("perfgate starts")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("perfgate ends");
            assert!(out.status.success(), "round {round}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("and pushed to origin"),
                "{}",
                stderr(&out)
            );
        }
    }
    expected.sort();
    let file = world.on_origin(FILE);
    assert_eq!(commits(&file), expected, "every run of both clones landed");
    assert_eq!(file["gate"], "prod");
    let after: Vec<_> = clones.iter().map(|c| checkout_state(&world, c)).collect();
    assert_eq!(
        after, before,
        "HEAD, index, working tree and main untouched"
    );
    // The data branch has only the baseline file: an orphan branch, not a copy of main.
    let tree = world.git(
        &world.path("origin.git"),
        &["ls-tree", "-r", "--name-only", BRANCH],
    );
    assert_eq!(tree, FILE);
    let authors = world.git(
        &world.path("origin.git"),
        &["log", "--format=%an <%ae>|%cn <%ce>", BRANCH],
    );
    assert_eq!(authors.lines().count(), 6);
    assert!(
        authors.lines().all(|l| l
            == "perfgate <perfgate@users.noreply.localhost>|perfgate <perfgate@users.noreply.localhost>"),
        "{authors}"
    );
}

#[test]
fn a_push_rejected_because_another_job_landed_first_is_retried_on_its_history() {
    let world = World::new();
    let (a, b) = (world.clone("a"), world.clone("b"));
    let spec = format!("git:{BRANCH}");
    let first = world.perfgate(&a, &world.update_args(&spec, &sha(1)), &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    // b's pre-push hook makes a push first, once: b's push is then rejected, deterministically.
    let hook = b.join(".git/hooks/pre-push");
    let update = world.update_args(&spec, &sha(2));
    let mut script = format!(
        "#!/bin/sh\n[ -e \"$0.done\" ] && exit 0\ntouch \"$0.done\"\ncd {:?} || exit 1\nexec {:?}",
        a.display().to_string(),
        env!("CARGO_BIN_EXE_perfgate")
    );
    for arg in &update {
        script.push_str(&format!(" '{arg}'"));
    }
    script.push_str(" >/dev/null 2>&1 </dev/null\n");
    fs::write(&hook, script).expect("hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let before = checkout_state(&world, &b);
    let out = world.perfgate(&b, &world.update_args(&spec, &sha(3)), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("attempt 2: another job pushed first; this run was added to its history"),
        "{}",
        stderr(&out)
    );
    assert_eq!(commits(&world.on_origin(FILE)), [sha(1), sha(2), sha(3)]);
    assert_eq!(checkout_state(&world, &b), before);
    // The local branch is origin's, not the rejected commit.
    assert_eq!(
        world.git(&b, &["rev-parse", BRANCH]),
        world.git(&world.path("origin.git"), &["rev-parse", BRANCH])
    );
}

#[test]
fn a_pull_requests_clone_reads_the_branch_it_never_fetched() {
    let world = World::new();
    let writer = world.clone("writer");
    let spec = format!("git:{BRANCH}");
    for n in 1..=3 {
        let out = world.perfgate(&writer, &world.update_args(&spec, &sha(n)), &[]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let pr = world.clone("pr");
    let tracking = format!("refs/remotes/origin/{BRANCH}");
    let mut probe = Command::new("git");
    world.isolate(&mut probe);
    let fetched = probe
        .current_dir(&pr)
        .args(["rev-parse", "--verify", "--quiet", &tracking])
        .output()
        .expect("git");
    assert!(!fetched.status.success(), "the clone has not fetched it");
    let before = checkout_state(&world, &pr);
    let budget = world.budget();
    let budget = budget.to_str().expect("utf-8");
    let verdict = world.check_json(&pr, &spec, &[]);
    assert_eq!(verdict["baseline_runs"], 3);
    assert!(verdict["metrics"][0]["baseline"].is_object(), "{verdict}");
    assert_eq!(
        checkout_state(&world, &pr),
        before,
        "the checkout untouched"
    );
    let out = world.perfgate(
        &pr,
        &["baseline", "show", "--budget", budget, "--baseline", &spec],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.starts_with(&format!("git:{BRANCH}:{FILE}: gate prod, 3 runs from ")),
        "{text}"
    );
    assert!(
        text.contains(&format!(", last commit {}", &sha(3)[..12])),
        "{text}"
    );
    // An explicit path reads that file; one that does not exist is no baseline yet.
    let out = world.perfgate(
        &pr,
        &[
            "check",
            "--budget",
            budget,
            "--baseline",
            &format!("{spec}:{FILE}"),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("compared with 3 baseline runs"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = world.perfgate(
        &pr,
        &[
            "check",
            "--budget",
            budget,
            "--baseline",
            &format!("{spec}:other/prod.json"),
            "--require-baseline",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("git:{BRANCH}:other/prod.json: no baseline file")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_corrupt_file_on_the_branch_is_exit_2_naming_it_and_is_left_as_it_was() {
    let world = World::new();
    let writer = world.clone("writer");
    let spec = format!("git:{BRANCH}");
    let out = world.perfgate(&writer, &world.update_args(&spec, &sha(1)), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Someone commits a broken file to the branch (a bad merge): with plain git, in a clone.
    let editor = world.path("editor");
    world.git(
        world.dir.path(),
        &[
            "clone",
            "--quiet",
            "--branch",
            BRANCH,
            "origin.git",
            "editor",
        ],
    );
    fs::write(
        editor.join(FILE),
        "{\"schema\": \"perfgate/baseline@1\", \"runs\": [",
    )
    .expect("write");
    world.git(&editor, &["add", FILE]);
    world.git(
        &editor,
        &[
            "-c",
            "user.name=dev",
            "-c",
            "user.email=dev@example.com",
            "commit",
            "--quiet",
            "-m",
            "oops",
        ],
    );
    world.git(&editor, &["push", "--quiet", "origin", BRANCH]);
    let broken = world.git(&world.path("origin.git"), &["rev-parse", BRANCH]);

    let pr = world.clone("pr");
    let budget = world.budget();
    let budget = budget.to_str().expect("utf-8");
    for args in [
        ["check", "--budget", budget, "--baseline", &spec]
            .map(str::to_string)
            .to_vec(),
        ["baseline", "show", "--budget", budget, "--baseline", &spec]
            .map(str::to_string)
            .to_vec(),
        world.update_args(&spec, &sha(2)),
    ] {
        let out = world.perfgate(&pr, &args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "git:{BRANCH}:{FILE}: the baseline is not valid JSON"
            )),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(
        world.git(&world.path("origin.git"), &["rev-parse", BRANCH]),
        broken,
        "the update stopped before committing"
    );
}

#[test]
fn names_that_git_would_take_for_options_or_paths_outside_the_tree_are_refused() {
    let world = World::new();
    let pr = world.clone("pr");
    let budget = world.budget();
    let budget = budget.to_str().expect("utf-8");
    for (spec, needle) in [
        ("git:--upload-pack=touch", "cannot start with `-`"),
        ("git:", "the branch name is empty"),
        ("git:a..b", "not a valid branch name"),
        ("git:data:../prod.json", "`..`"),
        ("git:data:/etc/passwd", "relative to the branch's root"),
        ("git:data:-x.json", "cannot start with `-`"),
    ] {
        let out = world.perfgate(&pr, &["check", "--budget", budget, "--baseline", spec], &[]);
        assert_eq!(out.status.code(), Some(2), "{spec}");
        assert!(stderr(&out).contains(needle), "{spec}: {}", stderr(&out));
    }
    let out = world.perfgate(
        &pr,
        &["baseline", "update", "--budget", budget, "--push"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--push pushes a data branch"),
        "{}",
        stderr(&out)
    );
    // Outside a repository, a data branch cannot be read.
    let out = world.perfgate(
        &world.home(),
        &["check", "--budget", budget, "--baseline", "git:data"],
        &[(
            "GIT_CEILING_DIRECTORIES",
            world.dir.path().to_str().expect("utf-8"),
        )],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not in a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_push_refused_for_another_reason_than_a_race_is_exit_2_and_the_run_stays_local() {
    let world = World::new();
    let clone = world.clone("a");
    // The server refuses every push, as branch protection would.
    let hook = world.path("origin.git/hooks/pre-receive");
    fs::write(&hook, "#!/bin/sh\necho 'protected branch' >&2\nexit 1\n").expect("hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = world.perfgate(
        &clone,
        &world.update_args(&format!("git:{BRANCH}"), &sha(1)),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "git:{BRANCH}:{FILE}: cannot push branch `{BRANCH}` to origin"
        )),
        "{err}"
    );
    assert!(err.contains("protected branch"), "{err}");
    // The run is committed on the local branch, for the next push to carry.
    let local = world.git(&clone, &["show", &format!("{BRANCH}:{FILE}")]);
    assert!(local.contains(&sha(1)), "{local}");
}

#[test]
fn git_identity_variables_override_perfgates_and_no_push_keeps_it_local() {
    let world = World::new();
    let clone = world.clone("a");
    let budget = world.budget();
    let out = world.perfgate(
        &clone,
        &[
            "baseline",
            "update",
            "--budget",
            budget.to_str().expect("utf-8"),
            "--baseline",
            &format!("git:{BRANCH}"),
        ],
        &[
            ("GIT_AUTHOR_NAME", "ci-bot"),
            ("GIT_AUTHOR_EMAIL", "ci-bot@example.com"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        world.git(&clone, &["log", "-1", "--format=%an <%ae>|%cn", BRANCH]),
        "ci-bot <ci-bot@example.com>|perfgate"
    );
    let mut probe = Command::new("git");
    world.isolate(&mut probe);
    let on_origin = probe
        .current_dir(world.path("origin.git"))
        .args(["rev-parse", "--verify", "--quiet", BRANCH])
        .output()
        .expect("git");
    assert!(!on_origin.status.success(), "not pushed without --push");
}

#[test]
fn a_pull_request_into_a_release_branch_is_judged_by_its_history_else_the_default_branchs() {
    let world = World::new();
    let event = world.path("event.json");
    fs::write(&event, r#"{"repository": {"default_branch": "main"}}"#).expect("event");
    let event = event.to_str().expect("utf-8");
    let spec = format!("git:{BRANCH}");
    let writer = world.clone("writer");
    let on_main = [
        ("GITHUB_REF_TYPE", "branch"),
        ("GITHUB_REF_NAME", "main"),
        ("GITHUB_EVENT_PATH", event),
    ];
    for n in 1..=2 {
        let out = world.perfgate(&writer, &world.update_args(&spec, &sha(n)), &on_main);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let pr = world.clone("pr");
    let budget = world.budget();
    let budget = budget.to_str().expect("utf-8");
    let check = |base: &str| -> Value {
        let env = [
            ("GITHUB_BASE_REF", base),
            ("GITHUB_HEAD_REF", "feature"),
            ("GITHUB_REF_TYPE", "branch"),
            ("GITHUB_REF_NAME", "7/merge"),
            ("GITHUB_EVENT_PATH", event),
        ];
        world.check_json(&pr, &spec, &env)
    };
    // The release branch has no history yet: the default branch's, saying so.
    let verdict = check("release/1.x");
    assert_eq!(verdict["baseline_runs"], 2);
    assert_eq!(
        verdict["baseline_source"],
        serde_json::json!({
            "location": format!("git:{BRANCH}:{FILE}"),
            "branch": "main",
            "default_branch": true,
            "fallback_from": "release/1.x"
        })
    );
    let env = [
        ("GITHUB_BASE_REF", "release/1.x"),
        ("GITHUB_EVENT_PATH", event),
    ];
    let out = world.perfgate(
        &pr,
        &["check", "--budget", budget, "--baseline", &spec],
        &env,
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains(&format!(
            "compared with 2 baseline runs\nhistory of main, the default branch (release/1.x, the pull request's base, has none yet): git:{BRANCH}:{FILE}\n\n"
        )),
        "{text}"
    );
    // A push to the release branch records its own history, beside the default branch's.
    let on_release = [
        ("GITHUB_REF_TYPE", "branch"),
        ("GITHUB_REF_NAME", "release/1.x"),
        ("GITHUB_EVENT_PATH", event),
    ];
    let out = world.perfgate(&writer, &world.update_args(&spec, &sha(3)), &on_release);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!(
            "git:{BRANCH}:baselines/release/1.x/prod.json: 1 run "
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        commits(&world.on_origin("baselines/release/1.x/prod.json")),
        [sha(3)]
    );
    assert_eq!(commits(&world.on_origin(FILE)), [sha(1), sha(2)]);
    let verdict = check("release/1.x");
    assert_eq!(verdict["baseline_runs"], 1);
    assert_eq!(
        verdict["baseline_source"],
        serde_json::json!({
            "location": format!("git:{BRANCH}:baselines/release/1.x/prod.json"),
            "branch": "release/1.x",
            "default_branch": false
        })
    );
    let out = world.perfgate(
        &pr,
        &["check", "--budget", budget, "--baseline", &spec],
        &env,
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains(&format!(
            "compared with 1 baseline run\nhistory of release/1.x: git:{BRANCH}:baselines/release/1.x/prod.json\n\n"
        )),
        "{text}"
    );
    let out = world.perfgate(
        &pr,
        &[
            "check",
            "--budget",
            budget,
            "--baseline",
            &spec,
            "--format",
            "markdown",
        ],
        &env,
    );
    let markdown = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        markdown.contains(&format!(
            "\n<sub>History of release/1.x: git:{BRANCH}:baselines/release/1.x/prod.json</sub>\n"
        )),
        "{markdown}"
    );
    // A pull request into the default branch reads the default branch's.
    let verdict = check("main");
    assert_eq!(verdict["baseline_runs"], 2);
    assert_eq!(
        verdict["baseline_source"],
        serde_json::json!({"location": format!("git:{BRANCH}:{FILE}"), "branch": "main", "default_branch": true})
    );
    // Outside Actions, the default branch is the one `git clone` recorded as origin/HEAD.
    let verdict = world.check_json(&pr, &spec, &[]);
    assert_eq!(verdict["baseline_source"]["branch"], "main", "{verdict}");
}

#[test]
fn a_push_that_loses_every_race_gives_up_after_a_bounded_number_of_attempts() {
    let world = World::new();
    let (a, b) = (world.clone("a"), world.clone("b"));
    let spec = format!("git:{BRANCH}");
    // Every push of b's is preceded by one of a's: b never lands.
    let mut script = format!(
        "#!/bin/sh\ncd {:?} || exit 1\n{:?}",
        a.display().to_string(),
        env!("CARGO_BIN_EXE_perfgate")
    );
    for arg in world.update_args(&spec, &sha(1)) {
        script.push_str(&format!(" '{arg}'"));
    }
    script.push_str(" >/dev/null 2>&1 </dev/null\nexit 0\n");
    let hook = b.join(".git/hooks/pre-push");
    fs::write(&hook, script).expect("hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = world.perfgate(&b, &world.update_args(&spec, &sha(2)), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "git:{BRANCH}:{FILE}: gave up after 8 attempts: each time another job pushed the branch first; this run is not on origin (the local branch `{BRANCH}` holds it)"
        )),
        "{}",
        stderr(&out)
    );
    let landed = commits(&world.on_origin(FILE));
    assert_eq!(landed, vec![sha(1); 8], "a's eight runs landed, b's none");
    let local = world.git(&b, &["show", &format!("{BRANCH}:{FILE}")]);
    assert!(local.contains(&sha(2)), "{local}");
}
