//! perfgate reads the reports performance tools already write, judges them against a TOML budget
//! and reports one verdict.
//!
//! Data flows one way, one module per stage:
//!
//! ```text
//! budget.toml ─► budget ─► ingest/<tool> ─► sources' metrics ─► derive (expr metrics)
//!                                                               │
//!                                             judge (observe, then compare) ─► Verdict
//!                                                               │
//!                          render (text / markdown via minijinja / JSON) ◄──┘
//! ```
//!
//! - [`budget`] reads and validates the TOML budget, reporting every problem at once.
//! - [`ingest`] is the only module that knows a tool's output shape; it detects formats, expands
//!   globs and merges several runs of a source into medians.
//! - [`derive`](mod@derive) evaluates a rule's `expr` over the sources' metrics.
//! - [`judge`] binds rules to values (a missing metric is an error with the closest names) and
//!   compares them with the thresholds. No I/O.
//! - [`render`] owns the output formats users depend on: the JSON verdict and the template context.
//! - [`github`] posts the pull-request comment and formats Actions outputs and annotations.
//!
//! [`run`] wires them for the command line, and is the only place that reads the GitHub Actions
//! environment; `main` only maps its result to an exit code.

pub(crate) mod baseline;
pub mod budget;
pub mod cli;
pub mod derive;
mod file;
pub mod github;
pub mod ingest;
mod json;
pub mod judge;
pub(crate) mod memory;
pub mod model;
pub mod render;
pub mod stats;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::baseline::{BaselineMetric, BaselineRun};
use crate::budget::Budget;
use crate::cli::{
    CheckArgs, Cli, CommentArgs, CommentMode, MetricsArgs, OutputFormat, Run, ShowArgs, ShowFormat,
    UpdateArgs,
};
use crate::ingest::Location;
use crate::judge::{Observed, SourceMetrics, Status, Verdict};
use crate::render::{GithubRun, SourceInfo, Template};

/// Holds this process to perfgate's memory ceiling (README: Limits), as the binary does before
/// [`run`]: reading a report then stops with exit 2 once the heap passes 192 MiB.
pub fn limit_memory() {
    memory::enforce();
}

/// Validates a parsed command line and runs it. `Ok` carries the exit code of a completed run (0 or
/// 1); an `Err` means the gate could not judge, which `main` turns into exit code 2.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.validate()? {
        Run::Check(args) => check(args),
        Run::Metrics(args) => metrics(args),
        Run::BaselineUpdate(args) => baseline_update(args),
        Run::BaselineShow(args) => baseline_show(args),
        Run::Comment(args) => comment(args),
    }
}

/// The budget and what its sources say now: every rule bound to its current value.
struct Current {
    budget: Budget,
    observed: Vec<Observed>,
    sources: Vec<SourceInfo>,
}

/// Reads the budget and every source it names (all of them, so every problem is reported at once).
fn read_current(budget_path: &Path, inputs: &[(String, String)], lenient: bool) -> Result<Current> {
    let mut budget = budget::load_budget(budget_path)?;
    for (name, path) in inputs {
        let Some(spec) = budget.sources.get_mut(name) else {
            bail!(
                "--input {name}={path}: the budget has no source `{name}` (sources: {})",
                budget
                    .sources
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        spec.location = Location::Files(path.clone());
    }
    for (name, spec) in budget.sources.iter_mut() {
        spec.lenient = lenient;
        // Only what the rules read: a bundle's compressed sizes cost time, and only when named.
        spec.wanted = budget::wanted(&budget.rules, name);
    }
    let mut read = BTreeMap::new();
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for (name, spec) in &budget.sources {
        match ingest::load_source(name, spec) {
            Ok(source) => {
                sources.push(SourceInfo {
                    name: name.clone(),
                    format: source.format.name().to_string(),
                    detail: source.reports[0].detail.clone(),
                    files: source
                        .reports
                        .iter()
                        .map(|r| r.path.display().to_string())
                        .collect(),
                    runs: source.reports.len(),
                    pages: source.pages.iter().map(|p| p.name.clone()).collect(),
                    dropped: source.dropped.clone(),
                });
                read.insert(
                    name.clone(),
                    SourceMetrics {
                        runs: source.reports.len(),
                        metrics: source.metrics,
                        samples: source.samples,
                        distributions: source.distributions,
                        no_data: source.no_data,
                        pages: source.pages,
                        dropped: source.dropped,
                    },
                );
            }
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!(multi(budget_path, "could not read", &problems));
    }
    let observed = judge::observe(&budget, &read)
        .map_err(|p| anyhow::anyhow!(multi(budget_path, "cannot judge", &p)))?;
    Ok(Current {
        budget,
        observed,
        sources,
    })
}

/// The baseline file a command uses: `--baseline`, else `baselines/<gate name>.json`.
fn baseline_path(flag: Option<&Path>, budget: &Budget) -> PathBuf {
    flag.map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new("baselines").join(format!("{}.json", budget.gate.name)))
}

/// The biggest `--template` read: 1 MiB. The built-in one is a few KB, and what it renders is cut to
/// GitHub's 65,536-character comment limit anyway.
const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// `--template FILE`, or the built-in comment template.
fn load_template(path: Option<&Path>) -> Result<Template> {
    match path {
        Some(path) => {
            let cannot_read = || format!("{}: cannot read the template", path.display());
            let file = file::open_regular(path, "template file")?.with_context(cannot_read)?;
            let text = file::read_text(file, path, MAX_TEMPLATE_BYTES, "template", cannot_read)?;
            Template::compile(&path.display().to_string(), text)
        }
        None => Template::default_comment(),
    }
}

fn check(args: CheckArgs) -> Result<ExitCode> {
    // The template is compiled before any report is read, so a bad one fails fast.
    let template = load_template(args.template.as_deref())?;
    let actions = Actions::from_env();
    // The run's context is needed to post, and recorded in the JSON verdict for `perfgate comment`.
    let context =
        (actions.names_a_run() || args.comment == CommentMode::Always).then(|| actions.context());
    let current = read_current(&args.budget, &args.inputs, args.lenient)?;
    let path = baseline_path(args.baseline.as_deref(), &current.budget);
    let history = baseline::load_baseline(&path, &current.budget.gate.name)?;
    let verdict = judge::judge(
        &current.budget,
        &current.observed,
        history.as_ref(),
        std::time::SystemTime::now(),
    );
    if args.require_baseline || current.budget.gate.baseline_required {
        require_history(&path, &current.budget, &verdict, history.is_some())?;
    }

    let ctx = context.as_ref().and_then(|c| c.as_ref().ok());
    let recorded = ctx.and_then(recorded_run);
    let posting = args.comment != CommentMode::Never && context.is_some();
    let markdown = if args.format == OutputFormat::Markdown || actions.summary.is_some() || posting
    {
        Some(template.render(&verdict, &current.sources)?)
    } else {
        None
    };
    let out = match (args.format, &markdown) {
        (OutputFormat::Json, _) => render::to_json(&verdict, &current.sources, recorded.as_ref()),
        // What is printed can be posted as it is (`gh pr comment --body-file`): fitted like the
        // comment perfgate posts itself, below GitHub's limit.
        (OutputFormat::Markdown, Some(md)) => github::fit_body(md, github::MAX_COMMENT_CHARS)
            .replace(github::TRUNCATION_NOTE, MARKDOWN_NOTE),
        _ => render::to_text(&verdict, &current.sources),
    };
    if let Some(path) = &args.output {
        write_file(path, &out)?;
    }
    emit(&out)?;

    if actions.active {
        let json = (args.format == OutputFormat::Json)
            .then_some(args.output.as_deref())
            .flatten();
        actions.report(&verdict, markdown.as_deref(), json, &args.budget);
    }
    if let Some(ctx) = ctx {
        warn_if_pull_request_target(ctx);
    }
    if let Some(body) = &markdown {
        let opts = github::CommentOptions {
            bot_login: args.bot_login.clone(),
            max_total: args.comment_timeout,
            ..github::CommentOptions::default()
        };
        post_for_check(args.comment, context, &verdict.gate, body, &opts)?;
    }
    Ok(match verdict.verdict {
        Status::Fail => ExitCode::from(1),
        Status::Pass | Status::Warn => ExitCode::SUCCESS,
    })
}

/// `baseline = "required"` / `--require-baseline`: no baseline file, or a metric without history,
/// stops the check instead of passing on the budget alone.
fn require_history(path: &Path, budget: &Budget, verdict: &Verdict, found: bool) -> Result<()> {
    let how = "the budget requires one (`baseline = \"required\"` or --require-baseline)";
    if !found {
        bail!(
            "{}: no baseline file, and {how}; `perfgate baseline update --budget {}` on the default branch records it",
            path.display(),
            budget.path.display()
        );
    }
    let missing: Vec<String> = verdict
        .metrics
        .iter()
        .filter(|m| m.baseline.is_none())
        .map(|m| format!("`{}`", m.id))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{}: no history for {} in the baseline, and {how}; record a run with `perfgate baseline update` first",
            path.display(),
            missing.join(", ")
        );
    }
    Ok(())
}

/// What the JSON verdict records of a pull-request run, for `perfgate comment` in another workflow.
fn recorded_run(ctx: &github::Context) -> Option<GithubRun> {
    ctx.is_pull_request().then(|| GithubRun {
        repository: format!("{}/{}", ctx.repository.0, ctx.repository.1),
        event: ctx.event_name.clone(),
        pr_number: ctx.pr_number,
        head_sha: ctx.head_sha.clone(),
        base_sha: ctx.base_sha.clone(),
    })
}

/// `check --comment`: whatever goes wrong is a warning, except with `always` (README, "On GitHub").
fn post_for_check(
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
        (CommentMode::Always, None) => bail!("--comment always: not in a GitHub Actions run"),
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

fn posted_text(posted: github::Posted, pr: Option<u64>) -> String {
    let what = match posted {
        github::Posted::Created { .. } => "created",
        github::Posted::Updated { .. } => "updated",
        github::Posted::Unchanged { .. } => "already current",
    };
    let pr = pr.map(|n| format!(" #{n}")).unwrap_or_default();
    format!("pull request{pr}: comment {} {what}", posted.id())
}

/// A `pull_request_target` run has a write token and runs in the base repository: checking out
/// the pull request's code there hands the token to that code.
fn warn_if_pull_request_target(ctx: &github::Context) {
    if ctx.event_name == "pull_request_target" {
        eprintln!(
            "warning: this is a `pull_request_target` run, which has a write token: if the workflow \
             checked out the pull request's code, that code and the reports it wrote are untrusted \
             and can use the token. Run `check` in a `pull_request` workflow and post its saved \
             verdict with `perfgate comment` from a `workflow_run` workflow instead"
        );
    }
}

/// The biggest verdict file `comment` reads: far above any real one, far below a memory problem.
const MAX_VERDICT_BYTES: u64 = 32 * 1024 * 1024;

fn comment(args: CommentArgs) -> Result<ExitCode> {
    let template = load_template(args.template.as_deref())?;
    let path = &args.verdict;
    let cannot_read = || format!("{}: cannot read the verdict", path.display());
    let file = file::open_regular(path, "verdict file")?.with_context(cannot_read)?;
    let text = file::read_text(file, path, MAX_VERDICT_BYTES, "verdict", cannot_read)?;
    // The file may come from an untrusted job: only its structured fields are used, and the
    // comment is rendered here, with the usual escaping.
    let saved = render::parse_verdict(&text)
        .with_context(|| format!("{}: not a perfgate verdict", path.display()))?;
    if !args.budgets.is_empty() {
        let budgets = args
            .budgets
            .iter()
            .map(|p| budget::load_budget(p))
            .collect::<Result<Vec<_>>>()?;
        judged_with(&saved.verdict, &budgets).with_context(|| format!("{}", path.display()))?;
    }
    let body = template.render(&saved.verdict, &saved.sources)?;
    let body = format!("{}\n\n{PROVENANCE}\n", body.trim_end());

    let always = args.comment == CommentMode::Always;
    let actions = Actions::from_env();
    let ctx = match actions.context() {
        Ok(ctx) => ctx,
        Err(e) if always => bail!("cannot comment on the pull request: {e:#}"),
        Err(e) => {
            eprintln!(
                "warning: not commenting on the pull request: {}",
                render::terminal(&format!("{e:#}"))
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    warn_if_pull_request_target(&ctx);
    let pr = pull_request_of(&args, &saved, &ctx).with_context(|| format!("{}", path.display()))?;
    if !always && (!ctx.has_token() || pr.is_none()) {
        let why = if ctx.has_token() {
            "the verdict and the event name no pull request".to_string()
        } else {
            github::CommentError::NoToken.to_string()
        };
        eprintln!("note: not commenting on the pull request: {why}");
        return Ok(ExitCode::SUCCESS);
    }
    // Without `--pr` the number may come from the untrusted file: on a workflow_run, GitHub's own
    // head sha must then be the pull request's head, or the comment would go to another one.
    let expect_head_sha = match (&args.pr, ctx.event_name.as_str()) {
        (None, "workflow_run") => ctx.head_sha.clone(),
        _ => None,
    };
    let opts = github::CommentOptions {
        bot_login: args.bot_login.clone(),
        pr_number: pr,
        expect_head_sha,
        max_total: args.comment_timeout,
    };
    match github::upsert_comment(&ctx, &saved.verdict.gate, &body, &opts) {
        Ok(posted) => eprintln!("{}", posted_text(posted, pr)),
        Err(e) if always => bail!("could not post the pull-request comment: {e}"),
        Err(e) => eprintln!(
            "warning: could not post the pull-request comment: {}",
            render::terminal(&e.to_string())
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The line `comment` adds under the comment: its numbers come from the pull request's own job,
/// whatever the workflow that posts it vouches for.
const PROVENANCE: &str =
    "<sub>Figures reported by the pull request's own run; this workflow rendered them.</sub>";

/// `comment --budget`: the verdict's gate (the comment it replaces) must be one of these budgets',
/// and every metric must come from a rule of that gate's budget, so a verdict written by a fork's
/// job cannot overwrite another gate's comment or pass off made-up rules.
fn judged_with(verdict: &Verdict, budgets: &[Budget]) -> Result<()> {
    let names = |bs: &[&Budget]| {
        bs.iter()
            .map(|b| format!("`{}` ({})", b.gate.name, b.path.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let all: Vec<&Budget> = budgets.iter().collect();
    let same_gate: Vec<&Budget> = budgets
        .iter()
        .filter(|b| b.gate.name == verdict.gate)
        .collect();
    if same_gate.is_empty() {
        bail!(
            "field `gate`: `{}` is not the gate of any --budget: {}",
            render::terminal(&verdict.gate),
            names(&all)
        );
    }
    for (i, m) in verdict.metrics.iter().enumerate() {
        if !same_gate
            .iter()
            .any(|b| b.rules.iter().any(|r| r.id == m.rule))
        {
            bail!(
                "field `metrics[{i}].rule`: `{}` is not a rule of gate {}",
                render::terminal(&m.rule),
                names(&same_gate)
            );
        }
    }
    Ok(())
}

/// The pull request `comment` posts on: `--pr`, else the one the verdict recorded, else the
/// `workflow_run` event's. A verdict recorded for another repository, another pull request or
/// another commit than the trusted event names is refused.
fn pull_request_of(
    args: &CommentArgs,
    saved: &render::SavedVerdict,
    ctx: &github::Context,
) -> Result<Option<u64>> {
    let Some(run) = &saved.github else {
        return Ok(args.pr.or(ctx.pr_number));
    };
    let repository = format!("{}/{}", ctx.repository.0, ctx.repository.1);
    if run.repository != repository {
        bail!(
            "the verdict was judged in {} but this run is in {repository}",
            run.repository
        );
    }
    if let (Some(recorded), Some(event), None) = (run.pr_number, ctx.pr_number, args.pr) {
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
    Ok(args.pr.or(run.pr_number).or(ctx.pr_number))
}

/// The biggest event payload read from GITHUB_EVENT_PATH: GitHub delivers none above 25 MB
/// ("About webhook events and payloads", Payload cap).
const MAX_EVENT_BYTES: u64 = 32 * 1024 * 1024;

/// The GitHub Actions variables perfgate reads, taken from the process environment once; the
/// [`github`] module gets them passed in and never reads the environment itself.
struct Actions {
    /// GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_NAME, GITHUB_SHA, as set.
    vars: BTreeMap<String, String>,
    event_path: Option<PathBuf>,
    /// In GitHub Actions: `GITHUB_ACTIONS=true`, or the summary or output file named.
    active: bool,
    summary: Option<PathBuf>,
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
const MARKDOWN_NOTE: &str =
    "truncated to fit a pull-request comment — `--format json` has every metric";

impl Actions {
    fn from_env() -> Actions {
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
    fn names_a_run(&self) -> bool {
        ["GITHUB_REPOSITORY", "GITHUB_EVENT_NAME"]
            .iter()
            .any(|v| self.vars.get(*v).is_some_and(|v| !v.trim().is_empty()))
    }

    /// The run's context, the event payload read from GITHUB_EVENT_PATH.
    fn context(&self) -> Result<github::Context> {
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
    fn report(&self, v: &Verdict, markdown: Option<&str>, json: Option<&Path>, budget: &Path) {
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
            ];
            let json = json.map(|p| p.display().to_string());
            let mut pairs = vec![
                ("verdict", v.verdict.name()),
                ("pass", counts[0].as_str()),
                ("warn", counts[1].as_str()),
                ("fail", counts[2].as_str()),
                ("regressions", counts[3].as_str()),
            ];
            if let Some(json) = &json {
                pairs.push(("json", json.as_str()));
            }
            if let Err(e) = append(path, &github::output_lines(&pairs)) {
                eprintln!(
                    "warning: GITHUB_OUTPUT: {}",
                    render::terminal(&format!("{e:#}"))
                );
            }
        }
        let file = workspace_path(budget, self.workspace.as_deref());
        eprint!("{}", github::annotations(&render::annotations(v, &file)));
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

/// `text` in at most `max` bytes of UTF-8, shrunk with [`github::fit_body`] (which counts
/// characters); `None` when not even its first lines fit.
fn fit_bytes(text: &str, max: usize) -> Option<String> {
    if text.len() <= max {
        return Some(text.to_string());
    }
    let fit =
        |chars: usize| github::fit_body(text, chars).replace(github::TRUNCATION_NOTE, SUMMARY_NOTE);
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

fn baseline_update(args: UpdateArgs) -> Result<ExitCode> {
    // Everything that can fail about the reports fails here, before the file is touched.
    let current = read_current(&args.budget, &args.inputs, args.lenient)?;
    let path = baseline_path(args.baseline.as_deref(), &current.budget);
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
    let run = BaselineRun {
        commit: args.commit.or_else(commit_of_checkout),
        time: Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()),
        metrics,
    };
    let file = baseline::append_run(&path, &current.budget.gate.name, run, args.keep)?;
    eprintln!(
        "{}: {} run{} (keeping the last {})",
        path.display(),
        file.runs.len(),
        if file.runs.len() == 1 { "" } else { "s" },
        args.keep
    );
    Ok(ExitCode::SUCCESS)
}

/// The commit being measured: `$GITHUB_SHA` in GitHub Actions, else the checkout's HEAD.
fn commit_of_checkout() -> Option<String> {
    if let Ok(sha) = std::env::var("GITHUB_SHA") {
        if !sha.trim().is_empty() {
            return Some(sha.trim().to_string());
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !sha.is_empty()).then_some(sha)
}

fn baseline_show(args: ShowArgs) -> Result<ExitCode> {
    let budget = budget::load_budget(&args.budget)?;
    let path = baseline_path(args.baseline.as_deref(), &budget);
    let Some(file) = baseline::load_baseline(&path, &budget.gate.name)? else {
        bail!(
            "{}: no baseline yet; `perfgate baseline update --budget {}` records one",
            path.display(),
            args.budget.display()
        );
    };
    let out = match args.format {
        ShowFormat::Json => render::history_json(&budget, &file),
        ShowFormat::Text => render::history_text(&budget, &file, &path),
    };
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// "budgets/prod.toml: cannot judge 2 metrics:\n  - …" for problems found together.
fn multi(budget: &Path, what: &str, problems: &[String]) -> String {
    let mut s = format!("{}: {what}:", budget.display());
    for p in problems {
        s.push_str("\n  - ");
        s.push_str(&p.replace('\n', "\n    "));
    }
    s
}

/// The widest name column of `metrics`: longer names (a report's, whatever their length) overflow
/// it rather than push every value off the screen.
const MAX_NAME_COLUMN: usize = 60;

fn metrics(args: MetricsArgs) -> Result<ExitCode> {
    let mut reports = Vec::with_capacity(args.files.len());
    for path in &args.files {
        reports.push(ingest::load_file(path, args.format, args.lenient)?);
    }
    let out = if args.json {
        let files: Vec<serde_json::Value> = reports
            .iter()
            .map(|r| {
                serde_json::json!({
                    "path": r.path.display().to_string(),
                    "format": r.format.name(),
                    "detail": r.detail,
                    "metrics": r.metrics.iter().map(|(k, m)| {
                        (k.clone(), serde_json::json!({"value": m.value, "unit": m.unit.symbol()}))
                    }).collect::<serde_json::Map<_, _>>(),
                    "no_data": r.no_data,
                    "dropped": r.dropped,
                })
            })
            .collect();
        let mut s = json::to_string_pretty(&serde_json::json!({ "files": files }))?;
        s.push('\n');
        s
    } else {
        // Names, details and reasons come from the reports: shown through render::terminal.
        let t = render::terminal;
        let mut s = String::new();
        for r in &reports {
            s.push_str(&format!(
                "{}: {}{}, {} metrics\n",
                t(&r.path.display().to_string()),
                r.format,
                r.detail
                    .as_deref()
                    .map(|d| format!(" ({})", t(d)))
                    .unwrap_or_default(),
                r.metrics.len()
            ));
            let width = r
                .metrics
                .keys()
                .map(|k| k.chars().count())
                .max()
                .unwrap_or(0)
                .min(MAX_NAME_COLUMN);
            for (name, m) in &r.metrics {
                let unit = if m.unit.symbol().is_empty() {
                    String::new()
                } else {
                    format!(" {}", m.unit.symbol())
                };
                s.push_str(&format!("  {:<width$}  {}{unit}\n", t(name), m.value));
            }
            if !r.no_data.is_empty() {
                let names: Vec<String> = r.no_data.iter().map(|n| format!("`{}`", t(n))).collect();
                s.push_str(&format!("  no samples of {}\n", names.join(", ")));
            }
            for (name, why) in &r.dropped {
                s.push_str(&format!("  dropped {}: {}\n", t(name), t(why)));
            }
        }
        s
    };
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .with_context(|| format!("{}: cannot write the output", path.display()))
}

/// Writes to stdout; a closed pipe (`perfgate … | head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to stdout"),
    }
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
