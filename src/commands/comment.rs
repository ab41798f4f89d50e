//! `perfgate comment`: posts a verdict saved by `check --format json` as the pull request's
//! comment, from a workflow that has the write token the pull request's own run lacks.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::load_template;
use super::publish::{self, Actions};
use crate::budget::{self, Budget};
use crate::cli::{CommentArgs, CommentMode};
use crate::file;
use crate::github;
use crate::judge::Verdict;
use crate::render;

/// The biggest verdict file `comment` reads: far above any real one, far below a memory problem.
const MAX_VERDICT_BYTES: u64 = 32 * 1024 * 1024;

/// Runs `comment`: exit 0 whether or not it posted, unless `--comment always`.
pub(crate) fn run(args: CommentArgs) -> Result<ExitCode> {
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
    publish::warn_if_pull_request_target(&ctx);
    let pr = publish::pull_request_of(args.pr, &saved, &ctx)
        .with_context(|| format!("{}", path.display()))?;
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
        Ok(posted) => eprintln!("{}", publish::posted_text(posted, pr)),
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
