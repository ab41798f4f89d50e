//! The CI side of the commands: on GitHub Actions the run's context read from the environment,
//! the pull-request comment `check` and `comment` post, the step outputs, the job summary and the
//! annotations; on GitLab CI the merge-request note `check` posts ([`GitLabCi`]).
//! [`crate::github`] and [`crate::gitlab`] do the talking; this module decides when and reads the
//! environment.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::baseline::git;
use crate::budget::{Accept, Waiver, WaiverOrigin};
use crate::cli::CommentMode;
use crate::file;
use crate::github;
use crate::gitlab;
use crate::judge::{Status, Verdict};
use crate::render::{self, GithubRun};
use crate::workflow;

/// What the JSON verdict records of a pull-request run, for `perfgate comment` in another workflow.
pub(super) fn recorded_run(ctx: &github::Context) -> Option<GithubRun> {
    ctx.is_pull_request().then(|| GithubRun {
        repository: format!("{}/{}", ctx.repository.0, ctx.repository.1),
        event: ctx.event_name.clone(),
        pr_number: ctx.pr_number,
        head_sha: ctx.head_sha.clone(),
        base_sha: ctx.base_sha.clone(),
    })
}

/// The label that waives every regression of the pull request it is on; `perfgate:accept:<metric>`
/// waives one metric's.
const ACCEPT_LABEL: &str = "perfgate:accept";
/// The trailer of the pull request's head commit that waives one metric's regression:
/// `Perfgate-Accept: <metric>: <reason>`.
const ACCEPT_TRAILER: &str = "Perfgate-Accept";

/// The waivers a pull request gives itself (README, "Waivers"), for that pull request only.
#[derive(Default)]
pub(super) struct PullRequestWaivers {
    pub(super) waivers: Vec<Waiver>,
    /// Trailers that waive nothing (no metric or no reason), as warnings of the verdict.
    pub(super) ignored: Vec<String>,
    /// Why the head commit's trailers could not be read, when they could not.
    pub(super) unread: Option<String>,
}

/// The waivers of the pull request the run is on: its `perfgate:accept` labels from the event
/// payload, and the `Perfgate-Accept` trailers of its head commit read with git in the checkout.
/// None outside a pull request.
pub(super) fn pull_request_waivers(ctx: &github::Context) -> PullRequestWaivers {
    if !ctx.is_pull_request() {
        return PullRequestWaivers::default();
    }
    let on = ctx
        .pr_number
        .map(|n| format!(" on pull request #{n}"))
        .unwrap_or_default();
    own_waivers(
        &ctx.labels,
        &on,
        ctx.head_sha.as_deref(),
        "actions/checkout's `fetch-depth: 2` fetches it",
    )
}

/// The waivers of a pull or merge request (`on` names it: " on pull request #7"): its `labels`,
/// and the trailers of its `head` commit; `fetch` says how the CI gets that commit into the
/// checkout when it is missing.
fn own_waivers(labels: &[String], on: &str, head: Option<&str>, fetch: &str) -> PullRequestWaivers {
    let mut out = PullRequestWaivers::default();
    for label in labels {
        let lower = label.to_ascii_lowercase();
        let metric = if lower == ACCEPT_LABEL {
            None
        } else if let Some(metric) = lower
            .strip_prefix(ACCEPT_LABEL)
            .and_then(|rest| rest.strip_prefix(':'))
        {
            // The metric as written: ids are case-sensitive.
            Some(label[label.len() - metric.len()..].trim().to_string())
        } else {
            continue;
        };
        out.waivers.push(Waiver {
            metric,
            accept: Accept::Any,
            reason: format!("the pull request carries the label `{label}`"),
            expires: None,
            origin: WaiverOrigin::Label,
            by: format!("label `{label}`{on}"),
            line: None,
        });
    }
    let Some(head) = head else {
        return out;
    };
    let short = head.get(..12).unwrap_or(head);
    match git::commit_trailers(head, ACCEPT_TRAILER) {
        Ok(git::Trailers::Found { author, values }) => {
            for value in values {
                match value.split_once(": ") {
                    Some((metric, reason))
                        if !metric.trim().is_empty() && !reason.trim().is_empty() =>
                    {
                        out.waivers.push(Waiver {
                            metric: Some(metric.trim().to_string()),
                            accept: Accept::Any,
                            reason: reason.trim().to_string(),
                            expires: None,
                            origin: WaiverOrigin::Trailer,
                            by: format!("trailer `{ACCEPT_TRAILER}` of commit {short} by {author}"),
                            line: None,
                        });
                    }
                    _ => out.ignored.push(format!(
                        "the trailer `{ACCEPT_TRAILER}: {value}` of commit {short} waives nothing: write `{ACCEPT_TRAILER}: <metric>: <reason>`"
                    )),
                }
            }
        }
        Ok(git::Trailers::NoRepository) => {}
        Ok(git::Trailers::NoCommit) => {
            out.unread = Some(format!(
                "commit {short}, the pull request's head, is not in the checkout, so no `{ACCEPT_TRAILER}` trailer of it was read ({fetch})"
            ));
        }
        Err(e) => {
            out.unread = Some(format!(
                "the `{ACCEPT_TRAILER}` trailers of commit {short} were not read: {e:#}"
            ));
        }
    }
    out
}

/// `check --comment`: whatever goes wrong is a warning, except with `always` (README, "On GitHub").
pub(super) fn post_for_check(
    mode: CommentMode,
    context: Option<Result<github::Context>>,
    gate: &str,
    body: &str,
    opts: &github::CommentOptions,
) -> Result<()> {
    let ctx = match (mode, context) {
        (CommentMode::Never, _) | (CommentMode::Auto, None) => return Ok(()),
        (CommentMode::Auto, Some(Err(e))) => {
            eprintln!(
                "warning: not commenting on the pull request: {}",
                render::terminal(&format!("{e:#}"))
            );
            return Ok(());
        }
        (CommentMode::Always, None) => bail!(
            "--comment always: not in a GitHub Actions run nor a GitLab merge-request pipeline, \
             so there is nothing to comment on"
        ),
        (CommentMode::Always, Some(Err(e))) => {
            bail!("--comment always: cannot comment on the pull request: {e:#}")
        }
        (_, Some(Ok(ctx))) => ctx,
    };
    if mode == CommentMode::Auto {
        if !ctx.is_pull_request() {
            return Ok(());
        }
        if !ctx.has_token() {
            eprintln!(
                "note: not commenting on the pull request: {} (or pass `--comment never`)",
                github::CommentError::NoToken
            );
            return Ok(());
        }
    }
    match github::upsert_comment(&ctx, gate, body, opts) {
        Ok(posted) => {
            eprintln!("{}", posted_text(posted, opts.pr_number.or(ctx.pr_number)));
            Ok(())
        }
        Err(e) if mode == CommentMode::Always => {
            bail!("--comment always: could not post the pull-request comment: {e}")
        }
        Err(e) => {
            eprintln!(
                "warning: could not post the pull-request comment: {}",
                render::terminal(&e.to_string())
            );
            Ok(())
        }
    }
}

pub(super) fn posted_text(posted: github::Posted, pr: Option<u64>) -> String {
    let what = match posted {
        github::Posted::Created { .. } => "created",
        github::Posted::Updated { .. } => "updated",
        github::Posted::Unchanged { .. } => "already current",
    };
    let pr = pr.map(|n| format!(" #{n}")).unwrap_or_default();
    format!("pull request{pr}: comment {} {what}", posted.id())
}

/// The GitLab CI variables perfgate reads, taken from the process environment once; the
/// [`gitlab`] module gets them passed in and never reads the environment itself.
pub(super) struct GitLabCi {
    /// [`GITLAB_VARS`] and the token variables, as set.
    vars: BTreeMap<String, String>,
    /// In a GitLab CI job: `GITLAB_CI=true`.
    pub(super) active: bool,
}

const GITLAB_VARS: [&str; 6] = [
    "CI_API_V4_URL",
    "CI_PROJECT_ID",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_LABELS",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
    "CI_COMMIT_SHA",
];

impl GitLabCi {
    pub(super) fn from_env() -> GitLabCi {
        let vars = GITLAB_VARS
            .iter()
            .chain(gitlab::TOKEN_VARS.iter())
            .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
            .collect();
        GitLabCi {
            active: std::env::var("GITLAB_CI").is_ok_and(|v| v == "true"),
            vars,
        }
    }

    /// A merge-request pipeline's own waivers (README, "Waivers"): its `perfgate:accept` labels
    /// (`CI_MERGE_REQUEST_LABELS`, comma-separated) and the `Perfgate-Accept` trailers of its
    /// head commit (`CI_MERGE_REQUEST_SOURCE_BRANCH_SHA` in a merged-results pipeline, else
    /// `CI_COMMIT_SHA`). None outside a merge-request pipeline.
    pub(super) fn merge_request_waivers(&self) -> PullRequestWaivers {
        let var = |name: &str| {
            self.vars
                .get(name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let Some(iid) = var("CI_MERGE_REQUEST_IID").filter(|_| self.active) else {
            return PullRequestWaivers::default();
        };
        let labels: Vec<String> = var("CI_MERGE_REQUEST_LABELS")
            .map(|l| {
                l.split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        own_waivers(
            &labels,
            &format!(" on merge request !{iid}"),
            var("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA").or_else(|| var("CI_COMMIT_SHA")),
            "a `GIT_DEPTH` of 2 or more fetches it",
        )
    }

    /// Whether `check --comment mode` tries to post a note here: in a GitLab CI job, on a merge
    /// request with `auto`, always with `always`.
    pub(super) fn posts(&self, mode: CommentMode) -> bool {
        self.active
            && match mode {
                CommentMode::Never => false,
                CommentMode::Always => true,
                CommentMode::Auto => self
                    .vars
                    .get("CI_MERGE_REQUEST_IID")
                    .is_some_and(|v| !v.trim().is_empty()),
            }
    }

    /// `check --comment` in a GitLab CI job: the merge-request note. Whatever goes wrong is a
    /// warning, except with `always` (README, "On GitLab").
    pub(super) fn post_for_check(
        &self,
        mode: CommentMode,
        gate: &str,
        body: &str,
        opts: &gitlab::NoteOptions,
    ) -> Result<()> {
        if !self.posts(mode) {
            return Ok(());
        }
        let always = mode == CommentMode::Always;
        let ctx = match gitlab::Context::from_vars(&self.vars) {
            Ok(ctx) => ctx,
            Err(e) if always => {
                bail!("--comment always: cannot comment on the merge request: {e:#}")
            }
            Err(e) => {
                eprintln!(
                    "warning: not commenting on the merge request: {}",
                    render::terminal(&format!("{e:#}"))
                );
                return Ok(());
            }
        };
        if !always && !ctx.has_token() {
            eprintln!(
                "note: not commenting on the merge request: {} (or pass `--comment never`)",
                gitlab::NoteError::NoToken
            );
            return Ok(());
        }
        match gitlab::upsert_note(&ctx, gate, body, opts) {
            Ok(posted) => {
                let what = match posted {
                    gitlab::Posted::Created { .. } => "created",
                    gitlab::Posted::Updated { .. } => "updated",
                    gitlab::Posted::Unchanged { .. } => "already current",
                };
                let mr = ctx.mr_iid.map(|n| format!(" !{n}")).unwrap_or_default();
                eprintln!("merge request{mr}: note {} {what}", posted.id());
                Ok(())
            }
            Err(e) if always => {
                bail!("--comment always: could not post the merge-request note: {e}")
            }
            Err(e) => {
                eprintln!(
                    "warning: could not post the merge-request note: {}",
                    render::terminal(&e.to_string())
                );
                Ok(())
            }
        }
    }
}

/// `check --pushgateway`: pushes the verdict's OpenMetrics grouped by the gate and the branch
/// measured. A failure is a warning: the verdict stands.
pub(super) fn push_metrics(url: &str, gate: &str, metrics: &str) {
    let gate = render::gate_label(gate);
    let branch = measured_branch();
    let mut grouping = vec![("gate", gate.as_str())];
    if let Some(branch) = &branch {
        grouping.push(("branch", branch));
    }
    match crate::pushgateway::push(url, &grouping, metrics) {
        Ok(group) => eprintln!("pushgateway: metrics pushed to {group}"),
        Err(why) => eprintln!(
            "warning: could not push the metrics to the Pushgateway, the verdict stands: {}",
            render::terminal(&why)
        ),
    }
}

/// The branch a run measured: a pull or merge request's source branch, else the branch pushed,
/// else the checkout's (none when HEAD is detached or this is no repository).
fn measured_branch() -> Option<String> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if var("GITHUB_ACTIONS").as_deref() == Some("true") {
        // On a pull request GITHUB_REF_NAME is `<number>/merge`, no branch.
        return var("GITHUB_HEAD_REF").or_else(|| {
            (var("GITHUB_REF_TYPE").as_deref() == Some("branch"))
                .then(|| var("GITHUB_REF_NAME"))
                .flatten()
        });
    }
    if var("GITLAB_CI").as_deref() == Some("true") {
        return var("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME").or_else(|| var("CI_COMMIT_BRANCH"));
    }
    crate::baseline::git::checked_out_branch().ok().flatten()
}

/// A `pull_request_target` run has a write token and runs in the base repository: checking out
/// the pull request's code there hands the token to that code.
pub(super) fn warn_if_pull_request_target(ctx: &github::Context) {
    if ctx.event_name == "pull_request_target" {
        eprintln!(
            "warning: this is a `pull_request_target` run, which has a write token: if the workflow \
             checked out the pull request's code, that code and the reports it wrote are untrusted \
             and can use the token. Run `check` in a `pull_request` workflow and post its saved \
             verdict with `perfgate comment` from a `workflow_run` workflow instead"
        );
    }
}

/// The pull request `comment` posts on: `--pr`, else the one the verdict recorded, else the
/// `workflow_run` event's. A verdict recorded for another repository, another pull request or
/// another commit than the trusted event names is refused.
pub(super) fn pull_request_of(
    flag: Option<u64>,
    saved: &render::SavedVerdict,
    ctx: &github::Context,
) -> Result<Option<u64>> {
    let Some(run) = &saved.github else {
        return Ok(flag.or(ctx.pr_number));
    };
    let repository = format!("{}/{}", ctx.repository.0, ctx.repository.1);
    if run.repository != repository {
        bail!(
            "the verdict was judged in {} but this run is in {repository}",
            run.repository
        );
    }
    if let (Some(recorded), Some(event), None) = (run.pr_number, ctx.pr_number, flag) {
        if recorded != event {
            bail!("the verdict was judged for pull request #{recorded} but this event follows #{event}");
        }
    }
    // A workflow_run's head sha comes from GitHub, not from the job that wrote the file.
    if ctx.event_name == "workflow_run" {
        if let (Some(recorded), Some(event)) = (&run.head_sha, &ctx.head_sha) {
            if recorded != event {
                bail!(
                    "the verdict was judged on commit {recorded} but this workflow_run follows {event}"
                );
            }
        }
    }
    Ok(flag.or(run.pr_number).or(ctx.pr_number))
}

/// The biggest event payload read from GITHUB_EVENT_PATH: GitHub delivers none above 25 MB
/// ("About webhook events and payloads", Payload cap).
const MAX_EVENT_BYTES: u64 = 32 * 1024 * 1024;

/// The GitHub Actions variables perfgate reads, taken from the process environment once; the
/// [`github`] module gets them passed in and never reads the environment itself.
pub(super) struct Actions {
    /// GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_NAME, GITHUB_SHA, as set.
    vars: BTreeMap<String, String>,
    event_path: Option<PathBuf>,
    /// In GitHub Actions: `GITHUB_ACTIONS=true`, or the summary or output file named.
    pub(super) active: bool,
    pub(super) summary: Option<PathBuf>,
    output: Option<PathBuf>,
    workspace: Option<PathBuf>,
}

const CONTEXT_VARS: [&str; 5] = [
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_EVENT_NAME",
    "GITHUB_SHA",
];

// GitHub's limit is 1 MiB per step for the job summary; the rest is margin for other writers.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands
const SUMMARY_MAX_BYTES: usize = 1_000_000;
const SUMMARY_NOTE: &str = "truncated to the job summary's 1 MiB limit";
pub(super) const MARKDOWN_NOTE: &str =
    "truncated to fit a pull-request comment — `--format json` has every metric";

impl Actions {
    pub(super) fn from_env() -> Actions {
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let vars: BTreeMap<String, String> = CONTEXT_VARS
            .iter()
            .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
            .collect();
        let summary = path("GITHUB_STEP_SUMMARY");
        let output = path("GITHUB_OUTPUT");
        Actions {
            active: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
                || summary.is_some()
                || output.is_some(),
            vars,
            event_path: path("GITHUB_EVENT_PATH"),
            summary,
            output,
            workspace: path("GITHUB_WORKSPACE"),
        }
    }

    /// Whether the environment names a GitHub run at all.
    pub(super) fn names_a_run(&self) -> bool {
        ["GITHUB_REPOSITORY", "GITHUB_EVENT_NAME"]
            .iter()
            .any(|v| self.vars.get(*v).is_some_and(|v| !v.trim().is_empty()))
    }

    /// The run's context, the event payload read from GITHUB_EVENT_PATH.
    pub(super) fn context(&self) -> Result<github::Context> {
        let event = match &self.event_path {
            Some(p) => {
                let cannot_read = || {
                    format!(
                        "GITHUB_EVENT_PATH {}: cannot read the event payload",
                        p.display()
                    )
                };
                let what = "GitHub event payload (GITHUB_EVENT_PATH)";
                let file = file::open_regular(p, what)?.with_context(cannot_read)?;
                Some(file::read_text(
                    file,
                    p,
                    MAX_EVENT_BYTES,
                    what,
                    cannot_read,
                )?)
            }
            None => None,
        };
        github::Context::from_vars(&self.vars, event.as_deref())
    }

    /// The job summary, the step outputs and the annotations. A file that cannot be written is a
    /// warning: it does not change the verdict.
    pub(super) fn report(
        &self,
        v: &Verdict,
        markdown: Option<&str>,
        json: Option<&Path>,
        budget: &Path,
    ) {
        if let (Some(path), Some(md)) = (&self.summary, markdown) {
            if let Err(e) = append_summary(path, md) {
                eprintln!(
                    "warning: GITHUB_STEP_SUMMARY: {}",
                    render::terminal(&format!("{e:#}"))
                );
            }
        }
        if let Some(path) = &self.output {
            let counts = [
                v.count(Status::Pass).to_string(),
                v.count(Status::Warn).to_string(),
                v.count(Status::Fail).to_string(),
                v.regressions().to_string(),
                v.waived().to_string(),
            ];
            let json = json.map(|p| p.display().to_string());
            let rerun = Rerun::of(v);
            let mut pairs = vec![
                ("verdict", v.verdict.name()),
                ("pass", counts[0].as_str()),
                ("warn", counts[1].as_str()),
                ("fail", counts[2].as_str()),
                ("regressions", counts[3].as_str()),
                ("waived", counts[4].as_str()),
                ("inconclusive", rerun.count.as_str()),
                ("runs_needed", rerun.runs_needed.as_str()),
                ("inconclusive_metrics", rerun.metrics.as_str()),
            ];
            if let Some(json) = &json {
                pairs.push(("json", json.as_str()));
            }
            if let Err(e) = append(path, &workflow::output_lines(&pairs)) {
                eprintln!(
                    "warning: GITHUB_OUTPUT: {}",
                    render::terminal(&format!("{e:#}"))
                );
            }
        }
        let file = workspace_path(budget, self.workspace.as_deref());
        eprint!("{}", workflow::annotations(&render::annotations(v, &file)));
    }
}

/// The step outputs that let a job resolve an inconclusive verdict by measuring again (README,
/// "Resolving an inconclusive change"): how many metrics are inconclusive, the samples per build
/// that would resolve every one that can be (the largest of their `runs_needed`; empty when none
/// is inconclusive or none can be), and each one's id with its own number (`null`: out of reach),
/// as a JSON object for `fromJSON`.
struct Rerun {
    count: String,
    runs_needed: String,
    metrics: String,
}

impl Rerun {
    fn of(v: &Verdict) -> Rerun {
        let inconclusive = v.inconclusive();
        let runs_needed = inconclusive
            .iter()
            .filter_map(|(_, n)| *n)
            .max()
            .map(|n| n.to_string())
            .unwrap_or_default();
        let metrics: serde_json::Map<String, serde_json::Value> = inconclusive
            .iter()
            .map(|(id, n)| ((*id).to_string(), (*n).into()))
            .collect();
        Rerun {
            count: inconclusive.len().to_string(),
            runs_needed,
            metrics: crate::json::to_string_compact(&metrics).unwrap_or_else(|_| "{}".into()),
        }
    }
}

/// The budget's path as annotations want it: relative to the workspace, with `/`.
fn workspace_path(path: &Path, workspace: Option<&Path>) -> String {
    let absolute = if path.is_absolute() {
        Some(path.to_path_buf())
    } else {
        std::env::current_dir().ok().map(|d| d.join(path))
    };
    let relative = match (absolute, workspace) {
        (Some(a), Some(w)) => a.strip_prefix(w).map(Path::to_path_buf).ok(),
        _ => None,
    };
    let shown = relative.unwrap_or_else(|| path.to_path_buf());
    let text = shown.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").unwrap_or(&text).to_string()
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// Appends the markdown verdict to the job summary, shrunk (as a comment is) to what is left of
/// the step's 1 MiB.
fn append_summary(path: &Path, markdown: &str) -> Result<()> {
    let used = std::fs::metadata(path).map_or(0, |m| m.len());
    let room = SUMMARY_MAX_BYTES.saturating_sub(usize::try_from(used).unwrap_or(usize::MAX));
    let Some(text) = fit_bytes(markdown, room.saturating_sub(1)) else {
        bail!("{}: the step's summary is full", path.display());
    };
    append(path, &format!("{text}\n"))
}

/// `text` in at most `max` bytes of UTF-8, shrunk with [`render::fit_body`] (which counts
/// characters); `None` when not even its first lines fit.
fn fit_bytes(text: &str, max: usize) -> Option<String> {
    if text.len() <= max {
        return Some(text.to_string());
    }
    let fit =
        |chars: usize| render::fit_body(text, chars).replace(render::TRUNCATION_NOTE, SUMMARY_NOTE);
    let mut chars = max;
    for _ in 0..4 {
        let fitted = fit(chars);
        if fitted.len() <= max {
            return Some(fitted);
        }
        // Scale the character budget by how far over the bytes are, a little below.
        chars = (chars as u128 * max as u128 / fitted.len() as u128 * 95 / 100) as usize;
    }
    // A character is at most 4 bytes in UTF-8.
    Some(fit(max / 4)).filter(|f| f.len() <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_shrunk_to_bytes_not_characters() {
        // Three bytes a character: 400,000 characters are 1.2 MB.
        let row = format!("| {} | ❌ fail |\n", "€".repeat(38));
        let mut body = String::from(
            "<!-- perfgate:gate=prod -->\n### perfgate\n\n| Metric | Status |\n|:--|:--|\n",
        );
        while body.chars().count() < 400_000 {
            body.push_str(&row);
        }
        let max = 500_000;
        let fitted = fit_bytes(&body, max).expect("fits");
        assert!(fitted.len() <= max, "{} bytes", fitted.len());
        assert!(
            fitted.len() > max / 2,
            "not cut more than needed: {}",
            fitted.len()
        );
        assert!(fitted.starts_with("<!-- perfgate:gate=prod -->\n"));
        assert!(fitted.contains(SUMMARY_NOTE), "a visible note");
        assert_eq!(fit_bytes("small", max).as_deref(), Some("small"));
    }

    #[test]
    fn annotations_point_at_the_budget_relative_to_the_workspace() {
        let ws = Path::new("/home/runner/work/app/app");
        assert_eq!(
            workspace_path(
                Path::new("/home/runner/work/app/app/perf/budget.toml"),
                Some(ws)
            ),
            "perf/budget.toml"
        );
        assert_eq!(
            workspace_path(Path::new("./budget.toml"), None),
            "budget.toml"
        );
        assert_eq!(
            workspace_path(Path::new("/elsewhere/budget.toml"), Some(ws)),
            "/elsewhere/budget.toml"
        );
    }
}
