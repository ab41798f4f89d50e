//! `perfgate check`: judges the reports against the budget and the baseline, prints the verdict,
//! and in GitHub Actions reports it there (see [`super::publish`]).

use std::process::ExitCode;

use anyhow::{bail, Result};

use super::against::read_against;
use super::baseline::load_history;
use super::publish::{self, Actions, GitLabCi};
use super::{emit, load_template, read_current, write_file};
use crate::budget::Budget;
use crate::cli::{CheckArgs, CommentMode, OutputFormat};
use crate::github;
use crate::gitlab;
use crate::judge::{self, Status, Verdict, Warning, WarningKind};
use crate::render;

/// Runs `check`: exit 1 on a failed verdict, 0 otherwise.
pub(crate) fn run(args: CheckArgs) -> Result<ExitCode> {
    // The template is compiled before any report is read, so a bad one fails fast.
    let template = load_template(args.template.as_deref())?;
    let actions = Actions::from_env();
    let gitlab = GitLabCi::from_env();
    // In a GitLab job the markdown is GitLab's, whether it is posted or printed.
    let gitlab_job = gitlab.active && !actions.active;
    let template = if gitlab_job {
        template.for_gitlab()
    } else {
        template
    };
    // The run's context is needed to post, and recorded in the JSON verdict for `perfgate comment`.
    // Outside any CI run `--comment always` has no context to build, and says so, rather than
    // naming the first GitHub variable it lacks.
    let context = (actions.names_a_run()
        || (args.comment == CommentMode::Always && actions.active))
        .then(|| actions.context());
    let current = read_current(&args.budget, &args.inputs, args.lenient)?;
    let paired = read_against(&args.budget, &current, &args.against)?;
    let history = load_history(args.baseline.as_ref(), &current.budget)?;
    let ctx = context.as_ref().and_then(|c| c.as_ref().ok());
    let own = match ctx {
        Some(ctx) => publish::pull_request_waivers(ctx),
        None if gitlab_job => gitlab.merge_request_waivers(),
        None => Default::default(),
    };
    let mut verdict = judge::judge(
        &current.budget,
        &current.observed,
        history.file.as_ref(),
        &paired.pairs,
        Some(&current.environment),
        std::time::SystemTime::now(),
        &own.waivers,
    );
    if !own.ignored.is_empty() {
        verdict
            .warnings
            .extend(own.ignored.into_iter().map(|message| Warning {
                kind: WarningKind::UnusedWaiver,
                message,
            }));
        verdict.verdict =
            judge::overall(verdict.metrics.iter().map(|m| m.status), &verdict.warnings);
    }
    // Only worth saying when a trailer could have waived something.
    if let (Some(note), true) = (&own.unread, verdict.regressions() > verdict.waived()) {
        eprintln!("note: {}", render::terminal(note));
    }
    let location = history.source.location.clone();
    verdict.baseline_source = Some(history.source);
    verdict.against = paired.sources;
    if args.require_baseline || current.budget.gate.baseline_required {
        require_history(&location, &current.budget, &verdict, history.file.is_some())?;
    }

    let recorded = ctx.and_then(publish::recorded_run);
    // `always` posts or says why not, so it renders the comment even with no run to post it on.
    let posting = args.comment == CommentMode::Always
        || args.comment != CommentMode::Never && context.is_some()
        || gitlab.posts(args.comment);
    let wants = |format: OutputFormat| {
        args.format == format || args.outputs.iter().any(|(f, _)| *f == format)
    };
    let markdown = if wants(OutputFormat::Markdown) || actions.summary.is_some() || posting {
        Some(template.render(&verdict, &current.sources)?)
    } else {
        None
    };
    if let (None, Some(path)) = (&markdown, &args.template) {
        eprintln!(
            "warning: --template {} is not used: it renders markdown, and this run neither prints \
             markdown (`--format markdown`) nor posts a comment nor writes a job summary",
            render::terminal(&path.display().to_string())
        );
    }
    let rendered = |format: OutputFormat| match (format, &markdown) {
        (OutputFormat::Json, _) => render::to_json(&verdict, &current.sources, recorded.as_ref()),
        // What is printed can be posted as it is (`gh pr comment --body-file`): fitted like the
        // comment perfgate posts itself, below GitHub's limit.
        (OutputFormat::Markdown, Some(md)) => render::fit_body(md, github::MAX_COMMENT_CHARS)
            .replace(render::TRUNCATION_NOTE, publish::MARKDOWN_NOTE),
        (OutputFormat::Junit, _) => render::to_junit(&verdict),
        (OutputFormat::Openmetrics, _) => render::to_openmetrics(&verdict, &current.budget),
        _ => render::to_text(&verdict, &current.sources),
    };
    for (format, path) in &args.outputs {
        write_file(path, &rendered(*format))?;
    }
    emit(&rendered(args.format))?;
    if let Some(url) = &args.pushgateway {
        publish::push_metrics(url, &verdict.gate, &rendered(OutputFormat::Openmetrics));
    }

    if actions.active {
        let json = args
            .outputs
            .iter()
            .find(|(f, _)| *f == OutputFormat::Json)
            .map(|(_, path)| path.as_path());
        actions.report(&verdict, markdown.as_deref(), json, &args.budget);
    }
    if let Some(ctx) = ctx {
        publish::warn_if_pull_request_target(ctx);
    }
    if let (Some(body), true) = (&markdown, gitlab_job) {
        let opts = gitlab::NoteOptions {
            max_total: args.comment_timeout,
        };
        gitlab.post_for_check(args.comment, &verdict.gate, body, &opts)?;
    } else if let Some(body) = &markdown {
        let opts = github::CommentOptions {
            bot_login: args.bot_login.clone(),
            max_total: args.comment_timeout,
            ..github::CommentOptions::default()
        };
        publish::post_for_check(args.comment, context, &verdict.gate, body, &opts)?;
    }
    Ok(match verdict.verdict {
        Status::Fail => ExitCode::from(1),
        Status::Pass | Status::Warn => ExitCode::SUCCESS,
    })
}

/// `baseline = "required"` / `--require-baseline`: no baseline file, or a metric without history,
/// stops the check instead of passing on the budget alone (a file is not needed when every metric
/// was compared with the base's runs of the same job).
fn require_history(location: &str, budget: &Budget, verdict: &Verdict, found: bool) -> Result<()> {
    let how = "the budget requires one (`baseline = \"required\"` or --require-baseline)";
    // Metrics judged against the base's runs of the same job (`--against`) need no history.
    let compared = verdict.metrics.iter().all(|m| m.baseline.is_some());
    if !found && !compared {
        bail!(
            "{location}: no baseline file, and {how}; `perfgate baseline update --budget {}` on the default branch records it",
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
            "{location}: no history for {} in the baseline, and {how}; record a run with `perfgate baseline update` first",
            missing.join(", ")
        );
    }
    Ok(())
}
