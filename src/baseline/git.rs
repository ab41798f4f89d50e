//! Baselines on a data branch (`--baseline git:BRANCH[:PATH]`): the history lives in a file on a
//! branch of its own, read and written with git's plumbing through the real `git` command.
//!
//! The one rule: the checkout is never touched. Reading is `git fetch` of that one branch into its
//! remote-tracking ref and `git cat-file` of the file; writing builds the commit from objects
//! (`hash-object`, a tree in a temporary index, `commit-tree`) and moves only the data branch's
//! ref, with a compare-and-swap (`update-ref NEW OLD`). The working tree, the index and HEAD stay
//! as they were, whatever branch is checked out. A rejected push means another job landed first:
//! its history is fetched, this run is appended to it through [`BaselineFile::append`] (the same
//! code as a file in the checkout) and the push is retried, so no job's run is lost.
//!
//! Every name git is given sits behind a prefix (`refs/heads/`, `+refs/`, an object id), so none
//! can be read as an option, and the names themselves are checked before git runs.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::{BaselineFile, BaselineRun, MAX_BASELINE_BYTES};

/// The remote a data branch is fetched from and pushed to: the one `git clone` and
/// `actions/checkout` name.
pub const REMOTE: &str = "origin";

/// Who perfgate's commits on a data branch are by, unless git's usual variables
/// (`GIT_AUTHOR_NAME`, `GIT_AUTHOR_EMAIL`, `GIT_COMMITTER_NAME`, `GIT_COMMITTER_EMAIL`) say
/// otherwise: a CI runner has no git identity, and `commit-tree` refuses to commit without one.
pub const IDENTITY_NAME: &str = "perfgate";
/// See [`IDENTITY_NAME`].
pub const IDENTITY_EMAIL: &str = "perfgate@users.noreply.localhost";

/// How many times `baseline update --push` builds its commit on the remote's newest history and
/// pushes before giving up: each retry follows another job's push, so running out takes that many
/// jobs landing within seconds of each other.
pub const PUSH_ATTEMPTS: u32 = 8;

/// How long one git command may take: a fetch or push of a baseline branch takes well under a
/// second; a remote that stops answering (or asks for a password nobody will type) must not hold
/// the job until the CI's own timeout.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

/// The most of a git command's error output kept for a message.
const MAX_STDERR_BYTES: u64 = 16 * 1024;

/// A data branch and the file on it, as checked names (see [`DataBranch::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBranch {
    branch: String,
    path: String,
}

/// What [`DataBranch::append`] committed.
#[derive(Debug)]
pub struct Appended {
    /// The file as committed.
    pub file: BaselineFile,
    /// The commit on the branch.
    pub commit: String,
    /// How many times the run was committed before it landed: 1, plus one for each job whose
    /// push came first.
    pub attempts: u32,
}

/// What [`DataBranch::load`] found.
#[derive(Debug)]
pub struct Loaded {
    /// The file, when the branch has it.
    pub file: Option<BaselineFile>,
    /// Whether the branch exists (locally or on the remote).
    pub branch_exists: bool,
}

impl DataBranch {
    /// Checks `branch` and `path` as git will use them: a branch name git accepts that cannot be
    /// read as an option, and a relative path inside the tree without `.`/`..` parts.
    pub fn new(branch: &str, path: &str) -> Result<DataBranch> {
        check_branch_name(branch)?;
        check_tree_path(path).with_context(|| format!("git:{branch}:{path}"))?;
        Ok(DataBranch {
            branch: branch.to_string(),
            path: path.to_string(),
        })
    }

    /// `git:BRANCH:PATH`, as messages name it.
    pub fn location(&self) -> String {
        format!("git:{}:{}", self.branch, self.path)
    }

    /// The same branch, another file on it.
    pub fn with_path(&self, path: &str) -> Result<DataBranch> {
        DataBranch::new(&self.branch, path)
    }

    fn shown(&self) -> PathBuf {
        PathBuf::from(self.location())
    }

    fn local_ref(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }

    fn tracking_ref(&self) -> String {
        format!("refs/remotes/{REMOTE}/{}", self.branch)
    }

    /// Reads the file from the branch's newest history: the remote's is fetched first (when the
    /// repository has the remote), so a pull request's checkout that never fetched the branch
    /// reads it too. `file` is `None` when the branch or the file on it does not exist yet.
    pub fn load(&self, gate: &str) -> Result<Loaded> {
        let git = Git::open()?;
        let tip = self.refresh(&git)?;
        Ok(Loaded {
            file: match &tip.commit {
                Some(commit) => self.read(&git, commit, gate)?,
                None => None,
            },
            branch_exists: tip.commit.is_some(),
        })
    }

    /// Appends `run` to the file on the branch (created, as an orphan branch, when missing),
    /// keeping the last `keep` runs, and with `push` pushes the branch to the remote, re-applying
    /// the run on top of another job's push until it lands (at most [`PUSH_ATTEMPTS`] times).
    pub fn append(
        &self,
        gate: &str,
        run: &BaselineRun,
        keep: usize,
        push: bool,
    ) -> Result<Appended> {
        let git = Git::open()?;
        if git.has_remote()?.is_none() && push {
            bail!(
                "{}: --push needs a remote `{REMOTE}` to push to, and this repository has none",
                self.location()
            );
        }
        if git.head_ref()?.as_deref() == Some(self.local_ref().as_str()) {
            bail!(
                "{}: `{}` is the branch checked out here; a data branch is updated without a checkout, so check out another branch",
                self.location(),
                self.branch
            );
        }
        let mut tip = self.refresh(&git)?;
        for attempt in 1..=PUSH_ATTEMPTS {
            let mut file = match &tip.commit {
                Some(commit) => self.read(&git, commit, gate)?,
                None => None,
            }
            .unwrap_or_else(|| BaselineFile::new(gate));
            file.append(run.clone(), keep)?;
            let commit = self
                .commit(&git, tip.commit.as_deref(), &file, run)
                .with_context(|| format!("{}: cannot commit the baseline", self.location()))?;
            let moved = git
                .update_ref(&self.local_ref(), &commit, tip.local.as_deref())
                .with_context(|| {
                    format!("{}: cannot move branch `{}`", self.location(), self.branch)
                })?;
            if !moved {
                // Another update in this repository moved the branch since it was read.
                tip = self.refresh(&git)?;
                continue;
            }
            let done = |commit: String| Appended {
                file,
                commit,
                attempts: attempt,
            };
            if !push {
                return Ok(done(commit));
            }
            match self.push(&git, &commit) {
                Ok(()) => {
                    // Keep the remote-tracking ref in step, as a fetch would.
                    git.update_ref(&self.tracking_ref(), &commit, None)?;
                    return Ok(done(commit));
                }
                Err(push_error) => {
                    let remote = self.fetch(&git)?;
                    if remote == tip.remote {
                        // The remote did not move: not a race but a refusal (permissions, a
                        // protected branch, no network).
                        return Err(push_error);
                    }
                    // Another job landed first. This run is rebuilt on the history it pushed;
                    // the local branch, which holds this run's rejected commit, follows.
                    tip = Tip {
                        commit: remote.clone(),
                        local: Some(commit),
                        remote,
                    };
                    pause(attempt);
                }
            }
        }
        bail!(
            "{}: gave up after {PUSH_ATTEMPTS} attempts: each time another job pushed the branch first; this run is not on {REMOTE} (the local branch `{}` holds it)",
            self.location(),
            self.branch
        )
    }

    /// Fetches the branch from the remote (when there is one) and picks the commit to read: the
    /// newer of the local branch and the remote's, which must not have diverged.
    fn refresh(&self, git: &Git) -> Result<Tip> {
        let remote = self.fetch(git)?;
        let local = git.commit_of(&self.local_ref())?;
        let commit = match (&local, &remote) {
            (None, None) => None,
            (Some(l), None) => Some(l.clone()),
            (None, Some(r)) => Some(r.clone()),
            (Some(l), Some(r)) if l == r || git.is_ancestor(r, l)? => Some(l.clone()),
            (Some(l), Some(r)) if git.is_ancestor(l, r)? => Some(r.clone()),
            (Some(_), Some(_)) => bail!(
                "{}: the local branch `{b}` and {REMOTE}'s have diverged (commits on both); push the local one, or drop it with `git branch -f {b} {REMOTE}/{b}`",
                self.location(),
                b = self.branch
            ),
        };
        Ok(Tip {
            commit,
            local,
            remote,
        })
    }

    /// Fetches the branch into its remote-tracking ref: the remote's commit, `None` when there
    /// is no remote or the remote has no such branch yet.
    fn fetch(&self, git: &Git) -> Result<Option<String>> {
        check_branch_ref(git, &self.branch)?;
        if git.has_remote()?.is_none() {
            return Ok(None);
        }
        let refspec = format!("+{}:{}", self.local_ref(), self.tracking_ref());
        match git.run(&["fetch", "--quiet", "--no-tags", REMOTE, &refspec], None) {
            Ok(_) => git.commit_of(&self.tracking_ref()),
            Err(fetch_error) => {
                // `ls-remote --exit-code` exits 2 when the remote has no such ref: a branch no
                // update has created yet, which is no error.
                let (code, _, _) = git.exec(
                    &[
                        "ls-remote",
                        "--exit-code",
                        "--heads",
                        REMOTE,
                        &self.local_ref(),
                    ],
                    None,
                )?;
                if code != Some(2) {
                    return Err(fetch_error.context(format!(
                        "{}: cannot fetch branch `{}` from {REMOTE}",
                        self.location(),
                        self.branch
                    )));
                }
                Ok(None)
            }
        }
    }

    /// The file at `commit`, or `None` when that commit has no such file.
    fn read(&self, git: &Git, commit: &str, gate: &str) -> Result<Option<BaselineFile>> {
        let shown = self.shown();
        let spec = format!("{commit}:{}", self.path);
        let Some(object) = git.optional(&["rev-parse", "--verify", "--quiet", &spec])? else {
            return Ok(None);
        };
        let kind = git.run(&["cat-file", "-t", &object], None)?;
        if kind.trim() != "blob" {
            bail!(
                "{}: is a {} on the branch, not a baseline file",
                shown.display(),
                kind.trim()
            );
        }
        let size: u64 = git
            .run(&["cat-file", "-s", &object], None)?
            .trim()
            .parse()
            .with_context(|| format!("{}: git gave no size", shown.display()))?;
        if size > MAX_BASELINE_BYTES {
            bail!(
                "{}: larger than the {MAX_BASELINE_BYTES} bytes perfgate reads from a baseline",
                shown.display()
            );
        }
        let text = git
            .run(&["cat-file", "blob", &object], None)
            .with_context(|| format!("{}: cannot read the baseline", shown.display()))?;
        BaselineFile::parse_for_gate(&shown, &text, gate).map(Some)
    }

    /// A commit of `file` at the path, on top of `parent` (its tree with the file replaced), or
    /// the first commit of an orphan branch.
    fn commit(
        &self,
        git: &Git,
        parent: Option<&str>,
        file: &BaselineFile,
        run: &BaselineRun,
    ) -> Result<String> {
        let blob = git.run(
            &["hash-object", "-w", "--stdin"],
            Some(file.to_text()?.as_bytes()),
        )?;
        // The tree is built in an index of its own, so the checkout's index is never read or
        // written.
        let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
        let index = scratch.path().join("index");
        let staged = Git { index: Some(index) };
        if let Some(parent) = parent {
            staged.run(&["read-tree", parent], None)?;
        }
        let entry = format!("100644,{},{}", blob.trim(), self.path);
        staged.run(&["update-index", "--add", "--cacheinfo", &entry], None)?;
        let tree = staged.run(&["write-tree"], None)?;
        let message = match &run.commit {
            Some(sha) => format!(
                "perfgate: a run of gate {} at {}",
                file.gate,
                sha.chars().take(12).collect::<String>()
            ),
            None => format!("perfgate: a run of gate {}", file.gate),
        };
        let mut args = vec!["commit-tree", "--no-gpg-sign", tree.trim(), "-m", &message];
        if let Some(parent) = parent {
            args.extend(["-p", parent]);
        }
        Ok(git.run(&args, None)?.trim().to_string())
    }

    fn push(&self, git: &Git, commit: &str) -> Result<()> {
        let refspec = format!("{commit}:{}", self.local_ref());
        git.run(&["push", "--quiet", REMOTE, &refspec], None)
            .map(|_| ())
            .with_context(|| {
                format!(
                    "{}: cannot push branch `{}` to {REMOTE}",
                    self.location(),
                    self.branch
                )
            })
    }
}

/// The branch's commits: the one to build on or read, and where each side stands.
struct Tip {
    commit: Option<String>,
    local: Option<String>,
    remote: Option<String>,
}

/// A short, growing wait before retrying a push, spread by the process id so that two jobs that
/// collided do not collide again.
fn pause(attempt: u32) {
    let spread = u64::from(std::process::id() % 200);
    std::thread::sleep(Duration::from_millis(100 * u64::from(attempt) + spread));
}

/// Checks `git:BRANCH[:PATH]`'s names as [`DataBranch::new`] does, for the command line.
pub fn check_names(branch: &str, path: Option<&str>) -> Result<()> {
    check_branch_name(branch)?;
    if let Some(path) = path {
        check_tree_path(path).with_context(|| format!("git:{branch}:{path}"))?;
    }
    Ok(())
}

/// A branch name from the command line or the environment: one git accepts, not an option.
fn check_branch_name(branch: &str) -> Result<()> {
    if branch.is_empty() {
        bail!("git:{branch}: the branch name is empty");
    }
    if branch.starts_with('-') {
        bail!("git:{branch}: a branch name cannot start with `-`");
    }
    if branch
        .chars()
        .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
        || branch.contains("..")
        || branch.contains("@{")
        || branch.contains("//")
        || branch.starts_with('/')
        || branch.ends_with('/')
        || branch.ends_with('.')
        || branch.ends_with(".lock")
        || branch.split('/').any(|part| part.starts_with('.'))
        || branch == "@"
    {
        bail!("git:{branch}: not a valid branch name (see `git check-ref-format`)");
    }
    Ok(())
}

/// git's own check of the full ref name, for whatever rule [`check_branch_name`] does not know.
fn check_branch_ref(git: &Git, branch: &str) -> Result<()> {
    let full = format!("refs/heads/{branch}");
    match git.exec(&["check-ref-format", &full], None)?.0 {
        Some(0) => Ok(()),
        _ => bail!("git:{branch}: not a valid branch name (git check-ref-format refuses it)"),
    }
}

/// A path in the branch's tree: relative, `/`-separated, without empty, `.` or `..` parts.
fn check_tree_path(path: &str) -> Result<()> {
    if path.is_empty() {
        bail!("the path on the branch is empty");
    }
    if path.starts_with('-') {
        bail!("a path on the branch cannot start with `-`");
    }
    if path.starts_with('/') || path.ends_with('/') {
        bail!("the path on the branch is relative to the branch's root and names a file (no leading or trailing `/`)");
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        bail!("the path on the branch holds a control character or `\\`");
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == ".." || part == ".git")
    {
        bail!("the path on the branch has an empty, `.`, `..` or `.git` part");
    }
    Ok(())
}

/// What [`commit_trailers`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Trailers {
    /// The current directory is not in a git repository (a job that only downloaded the reports).
    NoRepository,
    /// The repository lacks the commit (a shallow checkout of the merge commit alone).
    NoCommit,
    /// The commit's author and the values of its trailers of the key, in order.
    Found { author: String, values: Vec<String> },
}

/// A commit's author and the values of its `key` trailers (`Perfgate-Accept: …`), as git parses
/// trailers (continuation lines unfolded). `commit` must be a full commit id.
pub fn commit_trailers(commit: &str, key: &str) -> Result<Trailers> {
    if !crate::model::is_commit_id(commit) {
        bail!("`{commit}` is not a commit id");
    }
    let git = Git { index: None };
    if git.exec(&["rev-parse", "--git-dir"], None)?.0 != Some(0) {
        return Ok(Trailers::NoRepository);
    }
    let format = format!("--format=%an%n%(trailers:key={key},valueonly,unfold)");
    let args = ["show", "-s", &format, commit, "--"];
    let (code, out, _) = git.exec(&args, None)?;
    if code != Some(0) {
        return Ok(Trailers::NoCommit);
    }
    let text = String::from_utf8_lossy(&out);
    let mut lines = text.lines();
    let author = lines.next().unwrap_or_default().to_string();
    let values = lines
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Trailers::Found { author, values })
}

/// The `git` command run in the current directory's repository, with a deadline and without a
/// prompt; `index` points it at a temporary index.
struct Git {
    index: Option<PathBuf>,
}

impl Git {
    /// Checks that the current directory is in a git repository.
    fn open() -> Result<Git> {
        let git = Git { index: None };
        git.run(&["rev-parse", "--git-dir"], None).context(
            "--baseline git:…: the current directory is not in a git repository (run perfgate in the checkout)",
        )?;
        Ok(git)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args([
            "-c",
            &format!("user.name={IDENTITY_NAME}"),
            "-c",
            &format!("user.email={IDENTITY_EMAIL}"),
        ])
        .args(args)
        // Nobody is there to type a password: an unauthenticated fetch fails instead of waiting.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never");
        if let Some(index) = &self.index {
            cmd.env("GIT_INDEX_FILE", index);
        }
        cmd
    }

    /// Runs git; its stdout when it exits 0, else an error quoting its stderr.
    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<String> {
        match self.exec(args, stdin)? {
            (Some(0), out, _) => String::from_utf8(out)
                .with_context(|| format!("`git {}`: not UTF-8", args.join(" "))),
            (code, _, err) => Err(failure(args, code, &err)),
        }
    }

    /// Stdout of a command that exits 1 for "no such thing" (`rev-parse --verify --quiet`).
    fn optional(&self, args: &[&str]) -> Result<Option<String>> {
        match self.exec(args, None)? {
            (Some(0), out, _) => Ok(Some(String::from_utf8_lossy(&out).trim().to_string())),
            (Some(1), _, _) => Ok(None),
            (code, _, err) => Err(failure(args, code, &err)),
        }
    }

    fn commit_of(&self, reference: &str) -> Result<Option<String>> {
        self.optional(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{reference}^{{commit}}"),
        ])
    }

    fn is_ancestor(&self, ancestor: &str, of: &str) -> Result<bool> {
        let args = ["merge-base", "--is-ancestor", ancestor, of];
        match self.exec(&args, None)? {
            (Some(0), _, _) => Ok(true),
            (Some(1), _, _) => Ok(false),
            (code, _, err) => Err(failure(&args, code, &err)),
        }
    }

    /// `remote.origin.url`, when the repository has the remote.
    fn has_remote(&self) -> Result<Option<String>> {
        self.optional(&["config", "--get", &format!("remote.{REMOTE}.url")])
    }

    /// The ref HEAD points to (`refs/heads/main`), `None` when detached.
    fn head_ref(&self) -> Result<Option<String>> {
        self.optional(&["symbolic-ref", "--quiet", "HEAD"])
    }

    /// Moves `reference` to `new` if it still holds `old` (`None`: does not exist yet); `false`
    /// when another process moved it first.
    fn update_ref(&self, reference: &str, new: &str, old: Option<&str>) -> Result<bool> {
        let args = [
            "update-ref",
            "-m",
            "perfgate baseline update",
            reference,
            new,
            old.unwrap_or(""),
        ];
        match self.exec(&args, None)? {
            (Some(0), _, _) => Ok(true),
            _ if self.commit_of(reference)?.as_deref() != old => Ok(false),
            (code, _, err) => Err(failure(&args, code, &err)),
        }
    }

    /// Runs git with a deadline: (exit code, stdout, the start of stderr). A command past
    /// [`GIT_TIMEOUT`] is killed and is an error.
    fn exec(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<(Option<i32>, Vec<u8>, String)> {
        let shown = || format!("`git {}`", args.join(" "));
        let mut child = self
            .command(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    anyhow!("--baseline git:…: the `git` command is not installed (or not on PATH)")
                }
                _ => anyhow!(e).context(format!("{}: cannot run git", shown())),
            })?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input)
                .with_context(|| format!("{}: cannot write to git", shown()))?;
        }
        let mut out_pipe = child.stdout.take().context("git's stdout")?;
        let mut err_pipe = child.stderr.take().context("git's stderr")?;
        // Read on threads, so that a full pipe never stalls git while we wait for it to exit.
        let out_reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let limit = MAX_BASELINE_BYTES + 1;
            let read = (&mut out_pipe).take(limit).read_to_end(&mut out);
            let _ = std::io::copy(&mut out_pipe, &mut std::io::sink());
            read.map(|_| out)
        });
        let err_reader = std::thread::spawn(move || {
            let mut err = Vec::new();
            let _ = (&mut err_pipe).take(MAX_STDERR_BYTES).read_to_end(&mut err);
            let _ = std::io::copy(&mut err_pipe, &mut std::io::sink());
            String::from_utf8_lossy(&err).into_owned()
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .with_context(|| format!("{}: cannot wait for git", shown()))?
            {
                break status;
            }
            if started.elapsed() > GIT_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "{}: no answer after {} s; stopped it",
                    shown(),
                    GIT_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let out = out_reader
            .join()
            .map_err(|_| anyhow!("{}: reading its output failed", shown()))?
            .with_context(|| format!("{}: cannot read its output", shown()))?;
        let err = err_reader.join().unwrap_or_default();
        Ok((status.code(), out, err))
    }
}

/// The default place of a gate's file on a data branch: `baselines/<gate>.json`, or
/// `baselines/<branch>/<gate>.json` for the history of a branch other than the default one.
pub fn default_path(gate: &str, branch: Option<&str>) -> String {
    match branch {
        Some(branch) => format!("baselines/{branch}/{gate}.json"),
        None => format!("baselines/{gate}.json"),
    }
}

/// The branch checked out in the current directory's repository; `None` when HEAD is detached.
pub fn checked_out_branch() -> Result<Option<String>> {
    let head = Git::open()?.head_ref()?;
    Ok(head.and_then(|h| h.strip_prefix("refs/heads/").map(str::to_string)))
}

/// The remote's default branch as `git clone` recorded it (`refs/remotes/origin/HEAD`); `None`
/// when it did not (`actions/checkout` does not).
pub fn remote_default_branch() -> Result<Option<String>> {
    let head = Git::open()?.optional(&[
        "symbolic-ref",
        "--quiet",
        &format!("refs/remotes/{REMOTE}/HEAD"),
    ])?;
    let prefix = format!("refs/remotes/{REMOTE}/");
    Ok(head.and_then(|h| h.strip_prefix(&prefix).map(str::to_string)))
}

/// A failed git command as an error: the command, its exit code and what it said.
fn failure(args: &[&str], code: Option<i32>, err: &str) -> anyhow::Error {
    let err = err.trim();
    anyhow!(
        "`git {}` failed ({}){}",
        args.join(" "),
        code.map_or("killed by a signal".to_string(), |c| format!("exit {c}")),
        if err.is_empty() {
            String::new()
        } else {
            format!(": {err}")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_git_would_misread_are_refused_before_git_runs() {
        for ok in ["perfgate-baselines", "release/1.x", "data_2026"] {
            assert!(check_names(ok, Some("baselines/prod.json")).is_ok(), "{ok}");
        }
        for (branch, path, needle) in [
            ("-f", None, "cannot start with `-`"),
            ("--upload-pack=x", None, "cannot start with `-`"),
            ("", None, "empty"),
            ("a..b", None, "not a valid branch name"),
            ("a b", None, "not a valid branch name"),
            ("a.lock", None, "not a valid branch name"),
            ("a/.hidden", None, "not a valid branch name"),
            ("@", None, "not a valid branch name"),
            ("data", Some("-p"), "cannot start with `-`"),
            ("data", Some(""), "empty"),
            ("data", Some("/etc/passwd"), "relative"),
            ("data", Some("baselines/"), "relative"),
            ("data", Some("a/../b.json"), "`..`"),
            ("data", Some("a//b.json"), "empty, `.`"),
            ("data", Some("./b.json"), "empty, `.`"),
            ("data", Some(".git/config"), "`.git`"),
            ("data", Some("a\nb"), "control character"),
        ] {
            let e = format!("{:#}", check_names(branch, path).expect_err(branch));
            assert!(e.contains(needle), "{branch:?} {path:?}: {e}");
        }
    }

    #[test]
    fn a_branch_other_than_the_default_keeps_its_own_file() {
        assert_eq!(default_path("prod", None), "baselines/prod.json");
        assert_eq!(
            default_path("prod", Some("release/1.x")),
            "baselines/release/1.x/prod.json"
        );
    }
}
