//! The command line, defined once with clap's derive; `--help` is generated from these docs.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// perfgate: the performance regression gate of a CI pipeline.
///
/// Reads the reports your load tests, Lighthouse runs and bundle builds already write, judges them
/// against a TOML budget (target missed = warn, critical breached = fail) and reports one verdict.
/// Exit codes: 0 passed (warnings allowed), 1 failed, 2 could not judge.
#[derive(Debug, Parser)]
#[command(name = "perfgate", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Judge the budget's sources and print the verdict.
    Check(CheckArgs),
    /// List every metric a report yields, with its value and unit (the names a budget can use).
    Metrics(MetricsArgs),
    /// Record or inspect the baseline history the gate compares with.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Post a verdict saved by `check --format json --output FILE` as the pull request's comment
    /// (the fork-safe two-workflow pattern: run from a `workflow_run` workflow that has the token).
    Comment(CommentArgs),
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Read the budget's sources as `check` does and append one run to the baseline file
    /// (on the default branch, after the measurements).
    Update(UpdateArgs),
    /// Print the baseline history per metric: count, median, spread, last values.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The budget file.
    #[arg(long, env = "PERFGATE_BUDGET", value_name = "FILE")]
    pub budget: PathBuf,

    /// The baseline file [default: baselines/<gate name>.json].
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,

    /// How many runs to keep (the oldest go first).
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub keep: usize,

    /// Read a source from another path than the budget says (repeatable).
    #[arg(long = "input", value_name = "SOURCE=PATH", value_parser = parse_input)]
    pub inputs: Vec<(String, String)>,
    /// Skip a truncated last line of a streamed report (k6 `--out json`, a JMeter JTL written by a
    /// run that was killed) instead of refusing it; the skipped line is named in the output.
    #[arg(long)]
    pub lenient: bool,

    /// The commit measured [default: $GITHUB_SHA, else `git rev-parse HEAD`].
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The budget file.
    #[arg(long, env = "PERFGATE_BUDGET", value_name = "FILE")]
    pub budget: PathBuf,

    /// The baseline file [default: baselines/<gate name>.json].
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,

    /// What to print.
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// A table per metric.
    Text,
    /// The summary as JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The budget file.
    #[arg(long, env = "PERFGATE_BUDGET", value_name = "FILE")]
    pub budget: PathBuf,

    /// The baseline file to compare with [default: baselines/<gate name>.json]; none yet is fine.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,

    /// Read a source from another path than the budget says (repeatable).
    #[arg(long = "input", value_name = "SOURCE=PATH", value_parser = parse_input)]
    pub inputs: Vec<(String, String)>,
    /// Skip a truncated last line of a streamed report (k6 `--out json`, a JMeter JTL written by a
    /// run that was killed) instead of refusing it; the skipped line is named in the output.
    #[arg(long)]
    pub lenient: bool,

    /// Stop (exit 2) when there is no baseline file, or no history for a budgeted metric, instead
    /// of judging it against the budget alone; as `baseline = "required"` in `[gate]`.
    #[arg(long)]
    pub require_baseline: bool,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Also write the chosen format to this file.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// A minijinja template for the markdown report, instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// Post the markdown verdict as the pull request's comment: `auto` when the run is on a pull
    /// request and GITHUB_TOKEN is set, `always` (or exit 2 saying why not), `never`.
    #[arg(long, value_enum, env = "PERFGATE_COMMENT", default_value_t = CommentMode::Auto)]
    pub comment: CommentMode,

    /// The login that posts the comment; only its comments are ever edited.
    #[arg(
        long,
        env = "PERFGATE_BOT_LOGIN",
        default_value = "github-actions[bot]",
        value_name = "LOGIN"
    )]
    pub bot_login: String,

    /// How long posting the comment may take in all, retries and slow answers included; past it
    /// perfgate gives up (a warning with `auto`).
    #[arg(
        long,
        env = "PERFGATE_COMMENT_TIMEOUT",
        default_value = "60s",
        value_name = "DURATION",
        value_parser = parse_timeout
    )]
    pub comment_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct CommentArgs {
    /// The JSON verdict `check --format json --output FILE` saved.
    #[arg(long, value_name = "FILE")]
    pub verdict: PathBuf,

    /// A budget the verdict must have been judged with (repeatable): its gate must be one of these
    /// budgets' gates and each metric's rule one of that budget's rules, or nothing is posted.
    #[arg(long = "budget", value_name = "FILE")]
    pub budgets: Vec<PathBuf>,

    /// The pull request to comment on [default: the one the verdict recorded, else the
    /// `workflow_run` event's].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub pr: Option<u64>,

    /// A minijinja template for the comment, instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// `always` posts or exits 2 saying why not; `auto` posts when a token and a pull request
    /// are at hand and otherwise says why it did not.
    #[arg(long, value_enum, default_value_t = PostMode::Always)]
    pub comment: PostMode,

    /// The login that posts the comment; only its comments are ever edited.
    #[arg(
        long,
        env = "PERFGATE_BOT_LOGIN",
        default_value = "github-actions[bot]",
        value_name = "LOGIN"
    )]
    pub bot_login: String,

    /// How long posting the comment may take in all, retries and slow answers included; past it
    /// perfgate gives up (a warning with `auto`).
    #[arg(
        long,
        env = "PERFGATE_COMMENT_TIMEOUT",
        default_value = "60s",
        value_name = "DURATION",
        value_parser = parse_timeout
    )]
    pub comment_timeout: Duration,
}

/// When `check` posts the pull-request comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CommentMode {
    /// On a pull request with a token at hand; a failure is a warning.
    Auto,
    /// Post, or exit 2 saying why it could not.
    Always,
    /// Never try.
    Never,
}

/// When `comment` posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PostMode {
    /// Post, or exit 2 saying why it could not.
    Always,
    /// Post when a token and a pull request are at hand; a failure is a warning.
    Auto,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Report files (or built folders) to read.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The files' format, or `auto` to detect it from their content.
    #[arg(long, default_value = "auto", value_name = "NAME")]
    pub format: String,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Skip a truncated last line of a streamed report (k6 `--out json`, a JMeter JTL written by a
    /// run that was killed) instead of refusing it; the skipped line is named in the output.
    #[arg(long)]
    pub lenient: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for a terminal.
    Text,
    /// The pull-request comment body.
    Markdown,
    /// The machine-readable verdict (schema perfgate/verdict@1).
    Json,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be more than zero".into()),
        Err(e) => Err(format!("`{s}` is not a duration such as 60s or 2m: {e}")),
    }
}

fn parse_input(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((source, path)) if !source.is_empty() && !path.is_empty() => {
            Ok((source.to_string(), path.to_string()))
        }
        _ => Err(format!(
            "`{s}` must be SOURCE=PATH, e.g. api=reports/load.json"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn inputs_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_input("api=a=b.json"),
            Ok(("api".into(), "a=b.json".into()))
        );
        assert!(parse_input("api").is_err());
        assert!(parse_input("=x").is_err());
    }
}
