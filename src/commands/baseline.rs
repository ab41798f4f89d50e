//! `perfgate baseline update` and `baseline show`: record this run's values in the baseline file
//! (the store itself is [`crate::baseline`]) and print its history. Also where a command finds
//! the history: a file in the checkout, or a file on a data branch (`--baseline git:BRANCH`),
//! which keeps one history per branch.
//!
//! On a data branch without an explicit path, the history of the default branch is
//! `baselines/<gate>.json` and the history of any other branch `baselines/<branch>/<gate>.json`.
//! `baseline update` writes the file of the branch it measures (a push to `release/1.x` writes
//! `baselines/release/1.x/prod.json`); `check` on a pull request reads its base branch's file, and
//! the default branch's when the base has none yet. The default branch is the event payload's
//! `repository.default_branch` in GitHub Actions, else `origin/HEAD` as `git clone` set it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::{emit, read_current};
use crate::baseline::git::{self, DataBranch};
use crate::baseline::{self, BaselineFile, BaselineMetric, BaselineRun};
use crate::budget::{self, Budget};
use crate::cli::{BaselineArg, ShowArgs, ShowFormat, UpdateArgs};
use crate::file;
use crate::ingest;
use crate::judge::BaselineSource;
use crate::render;

/// Runs `baseline update`: appends this run, keeping the last `--keep`.
pub(crate) fn update(args: UpdateArgs) -> Result<ExitCode> {
    // Everything that can fail about the reports fails here, before the file is touched.
    let current = read_current(&args.budget, &args.inputs, args.lenient)?;
    let gate = current.budget.gate.name.clone();
    let mut metrics = BTreeMap::new();
    for o in &current.observed {
        let (histogram, histogram_scale) = match &o.distribution {
            Some((_, h)) => (
                Some(baseline::encode_histogram(h)?),
                Some(ingest::HISTOGRAM_SCALE),
            ),
            None => (None, None),
        };
        metrics.insert(
            o.id.clone(),
            BaselineMetric {
                value: o.value,
                unit: o.unit,
                samples: o.samples.clone(),
                histogram,
                page: o.page.as_ref().map(|p| p.selector.clone()),
                histogram_scale,
            },
        );
    }
    let commit = args.commit.or_else(commit_of_checkout);
    let uncommitted = commit.is_none();
    let run = BaselineRun {
        commit,
        time: Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()),
        metrics,
        environment: Some(current.environment),
    };
    let (shown, file, note) = match args.baseline {
        Some(BaselineArg::Git { branch, path }) => {
            let data = match path {
                Some(path) => DataBranch::new(&branch, &path)?,
                None => {
                    let own = Branches::from_env(Role::Measured)?.own();
                    DataBranch::new(&branch, &git::default_path(&gate, own.as_deref()))?
                }
            };
            let done = data.append(&gate, &run, args.keep, args.push)?;
            let short: String = done.commit.chars().take(12).collect();
            let pushed =
                match (args.push, done.attempts) {
                    (false, _) => String::new(),
                    (true, 1) => format!(" and pushed to {}", git::REMOTE),
                    (true, n) => format!(
                    " and pushed to {} (attempt {n}: {} pushed first; this run was added to {})",
                    git::REMOTE,
                    if n == 2 { "another job" } else { "other jobs" },
                    if n == 2 { "its history" } else { "their history" }
                ),
                };
            (
                data.location(),
                done.file,
                format!(", committed as {short} on `{branch}`{pushed}"),
            )
        }
        Some(BaselineArg::File(path)) => {
            let file = baseline::append_run(&path, &gate, run, args.keep)?;
            (path.display().to_string(), file, String::new())
        }
        None => {
            let path = default_file(&gate);
            let file = baseline::append_run(&path, &gate, run, args.keep)?;
            (path.display().to_string(), file, String::new())
        }
    };
    eprintln!(
        "{shown}: {} run{} (keeping the last {}){note}",
        file.runs.len(),
        if file.runs.len() == 1 { "" } else { "s" },
        args.keep
    );
    if uncommitted {
        eprintln!(
            "warning: the run is recorded without a commit: GITHUB_SHA is not set and this is not \
             a git checkout (`--commit SHA` names it)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The commit being measured: `$GITHUB_SHA` in GitHub Actions, else the checkout's HEAD.
fn commit_of_checkout() -> Option<String> {
    if let Ok(sha) = std::env::var("GITHUB_SHA") {
        if crate::model::is_commit_id(sha.trim()) {
            return Some(sha.trim().to_ascii_lowercase());
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && crate::model::is_commit_id(&sha)).then_some(sha)
}

/// Runs `baseline show`: the history, as text or JSON.
pub(crate) fn show(args: ShowArgs) -> Result<ExitCode> {
    let budget = budget::load_budget(&args.budget)?;
    let history = load_history(args.baseline.as_ref(), &budget)?;
    let Some(file) = history.file else {
        bail!(
            "{}: no baseline yet; `perfgate baseline update --budget {}` records one",
            history.source.location,
            args.budget.display()
        );
    };
    let out = match args.format {
        ShowFormat::Json => render::history_json(&budget, &file),
        ShowFormat::Text => {
            render::history_text(&budget, &file, Path::new(&history.source.location))
        }
    };
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// A gate's history as a command found it.
pub(super) struct History {
    /// `None` when there is none yet.
    pub(super) file: Option<BaselineFile>,
    /// Where it is, and whose.
    pub(super) source: BaselineSource,
}

/// Reads the gate's history (`check`, `baseline show`): `--baseline`'s file, the data branch's
/// file for the branch whose history applies (see the module docs), or `baselines/<gate>.json`.
pub(super) fn load_history(arg: Option<&BaselineArg>, budget: &Budget) -> Result<History> {
    let gate = &budget.gate.name;
    let file_source = |path: &Path| BaselineSource {
        location: path.display().to_string(),
        branch: None,
        default_branch: None,
        fallback_from: None,
    };
    let (branch, path) = match arg {
        None => {
            let path = default_file(gate);
            return Ok(History {
                file: baseline::load_baseline(&path, gate)?,
                source: file_source(&path),
            });
        }
        Some(BaselineArg::File(path)) => {
            return Ok(History {
                file: baseline::load_baseline(path, gate)?,
                source: file_source(path),
            });
        }
        Some(BaselineArg::Git { branch, path }) => (branch, path),
    };
    if let Some(path) = path {
        let data = DataBranch::new(branch, path)?;
        return Ok(History {
            file: data.load(gate)?.file,
            source: file_source(Path::new(&data.location())),
        });
    }
    let branches = Branches::from_env(Role::Judged)?;
    let default = DataBranch::new(branch, &git::default_path(gate, None))?;
    if let Some(own) = branches.own() {
        let data = default.with_path(&git::default_path(gate, Some(&own)))?;
        let loaded = data.load(gate)?;
        if loaded.file.is_some() || !loaded.branch_exists {
            return Ok(History {
                file: loaded.file,
                source: BaselineSource {
                    location: data.location(),
                    branch: Some(own),
                    default_branch: Some(false),
                    fallback_from: None,
                },
            });
        }
        return Ok(History {
            file: default.load(gate)?.file,
            source: BaselineSource {
                location: default.location(),
                branch: branches.default,
                default_branch: Some(true),
                fallback_from: Some(own),
            },
        });
    }
    Ok(History {
        file: default.load(gate)?.file,
        source: BaselineSource {
            location: default.location(),
            default_branch: branches.default.is_some().then_some(true),
            branch: branches.default,
            fallback_from: None,
        },
    })
}

/// `baselines/<gate name>.json`, the history's file in the checkout by default.
fn default_file(gate: &str) -> PathBuf {
    Path::new("baselines").join(format!("{gate}.json"))
}

/// Which branch a command stands for.
#[derive(Clone, Copy)]
enum Role {
    /// `check`, `baseline show`: the branch whose history a change is judged against (a pull
    /// request's base).
    Judged,
    /// `baseline update`: the branch whose run is recorded (a pull request's head).
    Measured,
}

/// The branches that decide which history applies.
struct Branches {
    /// The pull request's base (`GITHUB_BASE_REF`) for [`Role::Judged`], its head
    /// (`GITHUB_HEAD_REF`) for [`Role::Measured`], when the run is on one.
    pull_request: Option<String>,
    /// The branch pushed (`GITHUB_REF_NAME` when `GITHUB_REF_TYPE` is `branch`), else the
    /// checkout's branch.
    current: Option<String>,
    /// The repository's default branch, when it can be told.
    default: Option<String>,
}

/// The biggest event payload read from GITHUB_EVENT_PATH: GitHub delivers none above 25 MB
/// ("About webhook events and payloads", Payload cap).
const MAX_EVENT_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Deserialize)]
struct EventRepository {
    repository: Option<RepositoryPayload>,
}

#[derive(Deserialize)]
struct RepositoryPayload {
    default_branch: Option<String>,
}

impl Branches {
    /// Reads only the variables `role` uses: a name that is not one is exit 2 naming it.
    fn from_env(role: Role) -> Result<Branches> {
        let var = |name: &str| -> Result<Option<String>> {
            match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => {
                    let v = v.trim().to_string();
                    git::check_names(&v, None).with_context(|| format!("{name}={v}"))?;
                    Ok(Some(v))
                }
                _ => Ok(None),
            }
        };
        let pull_request = var(match role {
            Role::Judged => "GITHUB_BASE_REF",
            Role::Measured => "GITHUB_HEAD_REF",
        })?;
        // On a pull request GITHUB_REF_NAME is `<number>/merge`, no branch.
        let on_pull_request = std::env::var("GITHUB_BASE_REF").is_ok_and(|v| !v.trim().is_empty());
        let pushed = match std::env::var("GITHUB_REF_TYPE").as_deref() {
            Ok("branch") if !on_pull_request => var("GITHUB_REF_NAME")?,
            _ => None,
        };
        let current = match pushed {
            Some(b) => Some(b),
            None => git::checked_out_branch()?,
        };
        let default = match default_from_event()? {
            Some(b) => Some(b),
            None => git::remote_default_branch()?,
        };
        Ok(Branches {
            pull_request,
            current,
            default,
        })
    }

    /// The branch with a history of its own: not the default branch, and only when the default
    /// branch is known (else every run is taken as the default branch's).
    fn own(&self) -> Option<String> {
        let default = self.default.as_deref()?;
        let branch = self.pull_request.as_ref().or(self.current.as_ref())?;
        (branch != default).then(|| branch.clone())
    }
}

/// `repository.default_branch` from the GitHub Actions event payload, when there is one.
fn default_from_event() -> Result<Option<String>> {
    let Some(path) = std::env::var_os("GITHUB_EVENT_PATH").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let what = "GitHub event payload (GITHUB_EVENT_PATH)";
    let cannot_read = || {
        format!(
            "GITHUB_EVENT_PATH {}: cannot read the event payload",
            path.display()
        )
    };
    let opened = file::open_regular(&path, what)?.with_context(cannot_read)?;
    let text = file::read_text(opened, &path, MAX_EVENT_BYTES, what, cannot_read)?;
    let event: EventRepository = serde_json::from_str(&text).with_context(|| {
        format!(
            "GITHUB_EVENT_PATH {}: field `repository.default_branch`",
            path.display()
        )
    })?;
    let Some(branch) = event.repository.and_then(|r| r.default_branch) else {
        return Ok(None);
    };
    git::check_names(&branch, None).with_context(|| {
        format!(
            "GITHUB_EVENT_PATH {}: field `repository.default_branch`",
            path.display()
        )
    })?;
    Ok(Some(branch))
}
