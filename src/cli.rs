//! The command line, in two stages (ripgrep's low-level and high-level arguments): clap's derive
//! parses the flags, each defined once and shared between commands with `#[command(flatten)]`, and
//! `--help` is generated from their docs; [`Cli::validate`] then checks what clap cannot (a name
//! resolved against the readers, flags that contradict each other) and hands the commands a [`Run`]
//! of checked values. Nothing here reads a file or the environment beyond clap's `env` defaults.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::ingest::Format;

/// perfgate: the performance regression gate of a CI pipeline.
///
/// Reads the reports your load tests, Lighthouse runs and bundle builds already write, judges them
/// against a TOML budget (target missed = warn, critical breached = fail) and reports one verdict.
/// Exit codes: 0 passed (warnings allowed), 1 failed, 2 could not judge.
#[derive(Debug, Parser)]
#[command(name = "perfgate", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Judge the budget's sources and print the verdict.
    #[command(after_help = CHECK_EXIT_CODES)]
    Check(CheckFlags),
    /// List every metric a report yields, with its value and unit (the names a budget can use).
    Metrics(MetricsFlags),
    /// Record or inspect the baseline history the gate compares with.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Post a verdict saved by `check --format json --output FILE` as the pull request's comment
    /// (the fork-safe two-workflow pattern: run from a `workflow_run` workflow that has the token).
    Comment(CommentFlags),
    /// Write a starting budget from reports you already have: a source per report, rules for the
    /// metrics that matter to its kind, and thresholds with headroom over today's values.
    #[command(after_help = INIT_HEADROOM)]
    Init(InitFlags),
}

/// `init --help`'s closing lines: the headroom rule, as the README's `perfgate init` section and
/// the written file's comments state it (a test holds them together).
pub(crate) const INIT_HEADROOM: &str = "Headroom:
  Lower is better (latency, size, error rate): target = value × 1.2, critical = value × 1.5,
  rounded up to two significant figures. Higher is better (a score): target = value ÷ 1.2,
  critical = value ÷ 1.5, rounded down to two significant figures. Floors: an error rate's target
  is at least 1 % and its critical at least 2 %, TBT's 200 ms and 600 ms, CLS's 0.1 and 0.25.";

/// `check --help`'s closing lines: each code's meaning is the start of its row in the README's
/// "Exit codes" table (a test holds them together).
const CHECK_EXIT_CODES: &str = "Exit codes:
  0  the gate passed (warnings allowed)
  1  the gate failed: a critical threshold was breached, or a metric regressed against the baseline
  2  perfgate could not judge: bad flags, an unreadable or invalid budget, a report missing or
     malformed, a metric named by the budget that its source does not produce";

#[derive(Debug, Subcommand)]
enum BaselineCommand {
    /// Read the budget's sources as `check` does and append one run to the baseline file
    /// (on the default branch, after the measurements).
    Update(UpdateFlags),
    /// Print the baseline history per metric: runs, median, noise (cv), last five values.
    Show(ShowFlags),
}

/// `--budget` and `--baseline`: the gate and its history (check, baseline update, baseline show).
#[derive(Debug, Args)]
struct GateFlags {
    /// The budget file.
    #[arg(long, env = "PERFGATE_BUDGET", value_name = "FILE")]
    budget: PathBuf,

    /// The baseline file [default: baselines/<gate name>.json], or `git:BRANCH[:PATH]` for one
    /// on a data branch (PATH default: baselines/<gate name>.json, and for a branch other than
    /// the default one baselines/<branch>/<gate name>.json).
    #[arg(long, value_name = "PATH", value_parser = parse_baseline)]
    baseline: Option<BaselineArg>,
}

/// `--baseline`: where the gate's history is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaselineArg {
    /// A file in the checkout.
    File(PathBuf),
    /// `git:BRANCH` or `git:BRANCH:PATH`: a file on a branch of the repository, read and written
    /// without touching the checkout. `path` `None` is the gate's default file on that branch.
    Git {
        branch: String,
        path: Option<String>,
    },
}

/// `git:BRANCH[:PATH]` is a data branch (a branch name cannot hold `:`); anything else a file
/// (`./git:x` names a file called `git:x`).
fn parse_baseline(s: &str) -> Result<BaselineArg, String> {
    let Some(spec) = s.strip_prefix("git:") else {
        return Ok(BaselineArg::File(PathBuf::from(s)));
    };
    let (branch, path) = match spec.split_once(':') {
        Some((branch, path)) => (branch, Some(path)),
        None => (spec, None),
    };
    crate::baseline::git::check_names(branch, path).map_err(|e| format!("{e:#}"))?;
    Ok(BaselineArg::Git {
        branch: branch.to_string(),
        path: path.map(str::to_string),
    })
}

/// `--input` and `--lenient`: how the budget's sources are read (check, baseline update).
#[derive(Debug, Args)]
struct SourceFlags {
    /// Read a source from another path than the budget says (repeatable).
    #[arg(long = "input", value_name = "SOURCE=PATH", value_parser = parse_input)]
    inputs: Vec<(String, String)>,
    #[command(flatten)]
    lenient: LenientFlag,
}

/// `--lenient` (check, baseline update, metrics).
#[derive(Debug, Args)]
struct LenientFlag {
    /// Skip a truncated last line of a streamed report (k6 `--out json`, a JMeter JTL written by a
    /// run that was killed) instead of refusing it; the skipped line is named in the output.
    #[arg(long)]
    lenient: bool,
}

/// `--template` (check, comment).
#[derive(Debug, Args)]
struct TemplateFlag {
    /// A minijinja template for the markdown report, instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
}

/// `--bot-login` and `--comment-timeout`: how the comment is posted (check, comment).
#[derive(Debug, Args)]
struct PostFlags {
    /// The login that posts the comment; only its comments are ever edited.
    #[arg(
        long,
        env = "PERFGATE_BOT_LOGIN",
        default_value = "github-actions[bot]",
        value_name = "LOGIN"
    )]
    bot_login: String,

    /// How long posting the comment may take in all, retries and slow answers included; past it
    /// perfgate gives up (a warning with `auto`).
    #[arg(
        long,
        env = "PERFGATE_COMMENT_TIMEOUT",
        default_value = "60s",
        value_name = "DURATION",
        value_parser = parse_timeout
    )]
    comment_timeout: Duration,
}

#[derive(Debug, Args)]
struct UpdateFlags {
    #[command(flatten)]
    gate: GateFlags,

    /// How many runs to keep (the oldest go first).
    #[arg(long, default_value_t = 30, value_name = "N")]
    keep: usize,

    #[command(flatten)]
    sources: SourceFlags,

    /// The commit measured [default: $GITHUB_SHA, else `git rev-parse HEAD`].
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,

    /// Push the data branch (`--baseline git:BRANCH`) to origin; when another job pushed first,
    /// this run is added to its history and pushed again.
    #[arg(long)]
    push: bool,
}

#[derive(Debug, Args)]
struct ShowFlags {
    #[command(flatten)]
    gate: GateFlags,

    /// What to print.
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    format: ShowFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// A table per metric.
    Text,
    /// The summary as JSON.
    Json,
}

#[derive(Debug, Args)]
#[command(mut_arg("baseline", |a| a.help(
    "The baseline file to compare with [default: baselines/<gate name>.json], or `git:BRANCH[:PATH]` for one on a data branch (a pull request's base branch's history, else the default branch's); none yet is fine"
)))]
struct CheckFlags {
    #[command(flatten)]
    gate: GateFlags,

    #[command(flatten)]
    sources: SourceFlags,

    /// Judge a source's runs pair by pair against the base's runs measured in the same job,
    /// interleaved with them (repeatable): PATH names the base's runs as a source's path does
    /// (a file or a glob), paired with the head's in file-name order; its rules are compared
    /// with these instead of the baseline history.
    #[arg(long = "against", value_name = "SOURCE=PATH", value_parser = parse_input)]
    against: Vec<(String, String)>,

    /// Stop (exit 2) when there is no baseline file, or no history for a budgeted metric, instead
    /// of judging it against the budget alone; as `baseline = "required"` in `[gate]`.
    #[arg(long)]
    require_baseline: bool,

    /// What to write; repeatable, each paired in order with an --output. The first of text,
    /// markdown or json is printed on stdout (text when none is given); junit and openmetrics are
    /// written to their --output only.
    #[arg(long, value_enum, action = ArgAction::Append)]
    format: Vec<OutputFormat>,

    /// Also write the --format in the same position (text when none is given) to this file;
    /// repeatable.
    #[arg(long, value_name = "FILE", action = ArgAction::Append)]
    output: Vec<PathBuf>,

    #[command(flatten)]
    template: TemplateFlag,

    /// Post the markdown verdict as the pull request's comment (GitHub) or the merge request's
    /// note (GitLab): `auto` when the run is on one and GITHUB_TOKEN (PERFGATE_GITLAB_TOKEN or
    /// GITLAB_TOKEN) is set, `always` (or exit 2 saying why not), `never`.
    #[arg(long, value_enum, env = "PERFGATE_COMMENT", default_value_t = CommentMode::Auto)]
    comment: CommentMode,

    #[command(flatten)]
    post: PostFlags,

    /// Also push the verdict's metrics (as `--format openmetrics` writes them) to this Prometheus
    /// Pushgateway, grouped by job="perfgate", the gate and the branch; a failed push is a
    /// warning and never changes the exit code.
    #[arg(long, env = "PERFGATE_PUSHGATEWAY", value_name = "URL")]
    pushgateway: Option<String>,
}

#[derive(Debug, Args)]
#[command(mut_arg("template", |a| a.help(
    "A minijinja template for the comment, instead of the built-in one"
)))]
struct CommentFlags {
    /// The JSON verdict `check --format json --output FILE` saved.
    #[arg(long, value_name = "FILE")]
    verdict: PathBuf,

    /// A budget the verdict must have been judged with (repeatable): its gate must be one of these
    /// budgets' gates and each metric's rule one of that budget's rules, or nothing is posted.
    #[arg(long = "budget", value_name = "FILE")]
    budgets: Vec<PathBuf>,

    /// The pull request to comment on [default: the one the verdict recorded, else the
    /// `workflow_run` event's].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pr: Option<u64>,

    #[command(flatten)]
    template: TemplateFlag,

    /// `always` posts or exits 2 saying why not; `auto` posts when a token and a pull request
    /// are at hand and otherwise says why it did not.
    #[arg(long, default_value = "always", value_parser = comment_command_modes())]
    comment: CommentMode,

    #[command(flatten)]
    post: PostFlags,
}

#[derive(Debug, Args)]
struct InitFlags {
    /// Report files (or built folders), each read as a source of the budget; the format is
    /// detected from the content.
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,

    /// Where to write the budget; `-` prints it on stdout.
    #[arg(long, default_value = "perfgate.toml", value_name = "FILE")]
    output: PathBuf,

    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

/// When a command posts the pull-request comment (`check --comment`, `comment --comment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CommentMode {
    /// On a pull request with a token at hand; a failure is a warning.
    Auto,
    /// Post, or exit 2 saying why it could not.
    Always,
    /// Never try.
    Never,
}

/// `comment --comment`: the command exists to post, so `never` is not offered, and `always` (its
/// default) comes first.
fn comment_command_modes() -> impl TypedValueParser<Value = CommentMode> {
    PossibleValuesParser::new([
        PossibleValue::new("always").help("Post, or exit 2 saying why it could not"),
        PossibleValue::new("auto")
            .help("Post when a token and a pull request are at hand; a failure is a warning"),
    ])
    .try_map(|name| CommentMode::from_str(&name, false))
}

#[derive(Debug, Args)]
struct MetricsFlags {
    /// Report files (or built folders) to read.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    #[arg(long, default_value = "auto", value_name = "NAME", help = format_help())]
    format: String,

    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    lenient: LenientFlag,
}

/// `metrics --format`'s help, naming every format from the readers' own list.
fn format_help() -> String {
    format!(
        "The files' format, or `auto` to detect it from their content: {}",
        Format::names()
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for a terminal.
    Text,
    /// The pull-request comment body.
    Markdown,
    /// The machine-readable verdict (schema perfgate/verdict@1).
    Json,
    /// JUnit XML for CI test reports: a test suite per gate, a test case per rule (a file only).
    Junit,
    /// OpenMetrics text, GitLab's `metrics` report (a file only).
    Openmetrics,
}

impl OutputFormat {
    /// Whether the format is printed on stdout when it comes first; JUnit and OpenMetrics are
    /// only written to their `--output`.
    pub fn printable(self) -> bool {
        matches!(self, Self::Text | Self::Markdown | Self::Json)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Markdown => "markdown",
            Self::Json => "json",
            Self::Junit => "junit",
            Self::Openmetrics => "openmetrics",
        }
    }
}

/// A command line that passed [`Cli::validate`]: the command to run and its checked values.
#[derive(Debug)]
pub enum Run {
    Check(CheckArgs),
    Metrics(MetricsArgs),
    BaselineUpdate(UpdateArgs),
    BaselineShow(ShowArgs),
    Comment(CommentArgs),
    Init(InitArgs),
}

/// `check`'s values.
#[derive(Debug)]
pub struct CheckArgs {
    pub budget: PathBuf,
    /// `--baseline`; `None` is `baselines/<gate name>.json`.
    pub baseline: Option<BaselineArg>,
    /// `--input`: (source, path) in the order given, each source once.
    pub inputs: Vec<(String, String)>,
    pub lenient: bool,
    /// `--against`: (source, path of the base's runs) in the order given, each source once.
    pub against: Vec<(String, String)>,
    pub require_baseline: bool,
    /// What stdout prints: the first printable `--format`, else text.
    pub format: OutputFormat,
    /// `--format`/`--output` pairs, in the order given: each file and what it gets.
    pub outputs: Vec<(OutputFormat, PathBuf)>,
    /// `--template`; `None` is the built-in one.
    pub template: Option<PathBuf>,
    pub comment: CommentMode,
    pub bot_login: String,
    /// The whole time posting may take, retries included.
    pub comment_timeout: Duration,
    /// `--pushgateway`/`PERFGATE_PUSHGATEWAY`; an empty value is none.
    pub pushgateway: Option<String>,
}

/// `comment`'s values.
#[derive(Debug)]
pub struct CommentArgs {
    pub verdict: PathBuf,
    /// `--budget`: the budgets the verdict must have been judged with (none: not checked).
    pub budgets: Vec<PathBuf>,
    /// `--pr`, at least 1.
    pub pr: Option<u64>,
    /// `--template`; `None` is the built-in one.
    pub template: Option<PathBuf>,
    /// `Always` or `Auto`, never `Never`.
    pub comment: CommentMode,
    pub bot_login: String,
    /// The whole time posting may take, retries included.
    pub comment_timeout: Duration,
}

/// `baseline update`'s values.
#[derive(Debug)]
pub struct UpdateArgs {
    pub budget: PathBuf,
    /// `--baseline`; `None` is `baselines/<gate name>.json`.
    pub baseline: Option<BaselineArg>,
    /// How many runs the file keeps.
    pub keep: usize,
    /// `--input`: (source, path) in the order given, each source once.
    pub inputs: Vec<(String, String)>,
    pub lenient: bool,
    /// `--commit`; `None` is `$GITHUB_SHA`, else the checkout's HEAD.
    pub commit: Option<String>,
    /// `--push`, only with a data branch.
    pub push: bool,
}

/// `baseline show`'s values.
#[derive(Debug)]
pub struct ShowArgs {
    pub budget: PathBuf,
    /// `--baseline`; `None` is `baselines/<gate name>.json`.
    pub baseline: Option<BaselineArg>,
    pub format: ShowFormat,
}

/// `init`'s values.
#[derive(Debug)]
pub struct InitArgs {
    /// The reports, in the order given.
    pub reports: Vec<PathBuf>,
    /// `--output`; `None` is stdout (`--output -`).
    pub output: Option<PathBuf>,
    pub force: bool,
}

/// `metrics`' values.
#[derive(Debug)]
pub struct MetricsArgs {
    pub files: Vec<PathBuf>,
    /// `None` detects each file's format from its content.
    pub format: Option<Format>,
    pub json: bool,
    pub lenient: bool,
}

impl Cli {
    /// The second stage: checks what clap cannot and resolves the flags into the values the
    /// commands use. An error is a usage error, which `main` reports with exit 2 before any file
    /// is read.
    pub fn validate(self) -> Result<Run> {
        Ok(match self.command {
            Command::Check(f) => Run::Check(CheckArgs {
                budget: f.gate.budget,
                baseline: f.gate.baseline,
                inputs: distinct_inputs(f.sources.inputs)?,
                lenient: f.sources.lenient.lenient,
                against: distinct_against(f.against)?,
                require_baseline: f.require_baseline,
                format: f
                    .format
                    .iter()
                    .copied()
                    .find(|f| f.printable())
                    .unwrap_or(OutputFormat::Text),
                outputs: paired_outputs(f.format, f.output)?,
                template: f.template.template,
                comment: f.comment,
                bot_login: f.post.bot_login,
                comment_timeout: f.post.comment_timeout,
                pushgateway: f.pushgateway.filter(|url| !url.trim().is_empty()),
            }),
            Command::Metrics(f) => Run::Metrics(MetricsArgs {
                format: resolve_format(&f.format)?,
                files: f.files,
                json: f.json,
                lenient: f.lenient.lenient,
            }),
            Command::Baseline(BaselineCommand::Update(f)) => Run::BaselineUpdate(UpdateArgs {
                push: match (&f.gate.baseline, f.push) {
                    (Some(BaselineArg::Git { .. }), push) => push,
                    (_, false) => false,
                    (_, true) => bail!(
                        "--push pushes a data branch: it needs --baseline git:BRANCH (a file in the checkout is committed with the checkout)"
                    ),
                },
                budget: f.gate.budget,
                baseline: f.gate.baseline,
                keep: f.keep,
                inputs: distinct_inputs(f.sources.inputs)?,
                lenient: f.sources.lenient.lenient,
                commit: f.commit.map(commit_id).transpose()?,
            }),
            Command::Baseline(BaselineCommand::Show(f)) => Run::BaselineShow(ShowArgs {
                budget: f.gate.budget,
                baseline: f.gate.baseline,
                format: f.format,
            }),
            Command::Comment(f) => Run::Comment(CommentArgs {
                verdict: f.verdict,
                budgets: f.budgets,
                pr: f.pr,
                template: f.template.template,
                comment: f.comment,
                bot_login: f.post.bot_login,
                comment_timeout: f.post.comment_timeout,
            }),
            Command::Init(f) => Run::Init(InitArgs {
                reports: f.reports,
                output: (f.output.as_os_str() != "-").then_some(f.output),
                force: f.force,
            }),
        })
    }
}

/// `--commit`: recorded in the baseline and shown with it, so it must be a commit id.
fn commit_id(commit: String) -> Result<String> {
    if !crate::model::is_commit_id(&commit) {
        bail!(
            "--commit {commit:?}: not a full commit id (40 or 64 hexadecimal digits, as `git rev-parse HEAD` prints)"
        );
    }
    Ok(commit.to_ascii_lowercase())
}

/// `--input`: a source given twice would be read from one of the paths and the other silently
/// ignored.
fn distinct_inputs(inputs: Vec<(String, String)>) -> Result<Vec<(String, String)>> {
    for (i, (source, path)) in inputs.iter().enumerate() {
        if let Some((_, first)) = inputs[..i].iter().find(|(s, _)| s == source) {
            bail!(
                "--input {source}={path}: source `{source}` is already read from {first} \
                 (--input {source}={first}); give each source once"
            );
        }
    }
    Ok(inputs)
}

/// `--against`: each source's base once.
fn distinct_against(against: Vec<(String, String)>) -> Result<Vec<(String, String)>> {
    for (i, (source, path)) in against.iter().enumerate() {
        if let Some((_, first)) = against[..i].iter().find(|(s, _)| s == source) {
            bail!(
                "--against {source}={path}: the base of source `{source}` is already read from \
                 {first} (--against {source}={first}); give each source's base once"
            );
        }
    }
    Ok(against)
}

/// `check`'s `--format` and `--output`, paired in order (no `--format` is text). An `--output`
/// without its `--format`, a JUnit or OpenMetrics format without its `--output`, and a printable
/// format without one that is not stdout's (the first printable) are errors: each would be
/// silently dropped.
fn paired_outputs(
    formats: Vec<OutputFormat>,
    outputs: Vec<PathBuf>,
) -> Result<Vec<(OutputFormat, PathBuf)>> {
    let formats = if formats.is_empty() {
        vec![OutputFormat::Text]
    } else {
        formats
    };
    if let Some(extra) = outputs.get(formats.len()) {
        bail!(
            "--output {} has no --format of its own: give one --format per --output, in the same order",
            extra.display()
        );
    }
    let stdout = formats.iter().position(|f| f.printable());
    for (i, format) in formats.iter().enumerate().skip(outputs.len()) {
        if !format.printable() {
            bail!(
                "--format {} writes a file: give it an --output FILE right after it",
                format.name()
            );
        }
        if Some(i) != stdout {
            bail!(
                "--format {} has no --output: only the first of text, markdown and json is \
                 printed on stdout, each other format needs its --output FILE",
                format.name()
            );
        }
    }
    Ok(formats.into_iter().zip(outputs).collect())
}

/// `metrics --format`: `auto`, or a reader's name.
fn resolve_format(name: &str) -> Result<Option<Format>> {
    if name == "auto" {
        return Ok(None);
    }
    match Format::from_name(name) {
        Some(format) => Ok(Some(format)),
        None => bail!(
            "--format {name}: unknown format (expected auto, {})",
            Format::names()
        ),
    }
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
    use clap::CommandFactory;

    /// `perfgate <path…> --help` as the binary prints it.
    fn long_help(path: &[&str]) -> String {
        let mut cmd = Cli::command();
        let mut sub = &mut cmd;
        for name in path {
            sub = sub.find_subcommand_mut(name).expect("a subcommand");
        }
        sub.render_long_help().to_string()
    }

    /// Runs of whitespace as one space, so wrapped help compares with one-line text.
    fn words(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn validated(args: &[&str]) -> Result<Run> {
        Cli::try_parse_from(std::iter::once("perfgate").chain(args.iter().copied()))
            .expect("clap accepts it")
            .validate()
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn metrics_help_names_every_format() {
        let help = words(&long_help(&["metrics"]));
        let listed = help
            .split("from their content: ")
            .nth(1)
            .and_then(|rest| rest.split(" [default: auto]").next())
            .expect("a list of formats");
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(listed.split(", ").collect::<Vec<_>>(), names);
    }

    #[test]
    fn check_help_states_the_readme_exit_codes() {
        let readme = include_str!("../README.md");
        let table = readme
            .split("## Exit codes")
            .nth(1)
            .expect("the README's Exit codes section");
        let documented: Vec<(String, String)> = table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|row| {
                let cells: Vec<&str> = row.split('|').map(str::trim).collect();
                let code = cells.get(1)?;
                code.parse::<u8>().ok()?;
                Some((code.to_string(), words(cells.get(2)?)))
            })
            .collect();
        let help = long_help(&["check"]);
        let mut stated: Vec<(String, String)> = Vec::new();
        let section = help
            .split("Exit codes:\n")
            .nth(1)
            .expect("an Exit codes section in check --help");
        for line in section.lines() {
            match line.trim_start().split_once("  ") {
                Some((code, meaning)) if code.parse::<u8>().is_ok() => {
                    stated.push((code.to_string(), words(meaning)));
                }
                _ => {
                    let (_, meaning) = stated.last_mut().expect("a code first");
                    *meaning = words(&format!("{meaning} {line}"));
                }
            }
        }
        let codes = |v: &[(String, String)]| v.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>();
        assert_eq!(codes(&stated), ["0", "1", "2"]);
        assert_eq!(codes(&stated), codes(&documented));
        for ((code, said), (_, readme)) in stated.iter().zip(&documented) {
            assert!(
                readme.starts_with(said.as_str()),
                "exit {code}: help says `{said}`, the README `{readme}`"
            );
        }
    }

    #[test]
    fn an_unknown_metrics_format_stops_before_any_file_is_read() {
        let err = validated(&["metrics", "--format", "webpak", "no-such-file.json"])
            .expect_err("webpak is no format");
        assert_eq!(
            err.to_string(),
            format!(
                "--format webpak: unknown format (expected auto, {})",
                Format::names()
            )
        );
        let Ok(Run::Metrics(args)) = validated(&["metrics", "--format", "k6", "a.json"]) else {
            panic!("k6 is a format");
        };
        assert_eq!(args.format, Some(Format::K6));
        let Ok(Run::Metrics(args)) = validated(&["metrics", "a.json"]) else {
            panic!("auto is the default");
        };
        assert_eq!(args.format, None);
    }

    #[test]
    fn a_source_given_twice_is_refused() {
        for command in [&["check"][..], &["baseline", "update"]] {
            let mut args = command.to_vec();
            args.extend([
                "--budget",
                "b.toml",
                "--input",
                "api=a.json",
                "--input",
                "web=w.json",
                "--input",
                "api=b.json",
            ]);
            let err = validated(&args).expect_err("api twice");
            assert_eq!(
                err.to_string(),
                "--input api=b.json: source `api` is already read from a.json \
                 (--input api=a.json); give each source once",
                "{command:?}"
            );
        }
        let Ok(Run::Check(args)) = validated(&[
            "check",
            "--budget",
            "b.toml",
            "--input",
            "api=a.json",
            "--input",
            "web=w.json",
        ]) else {
            panic!("two sources parse");
        };
        assert_eq!(
            args.inputs,
            [
                ("api".to_string(), "a.json".to_string()),
                ("web".to_string(), "w.json".to_string())
            ]
        );
    }

    #[test]
    fn both_commands_share_the_comment_mode_but_comment_offers_no_never() {
        let Ok(Run::Comment(args)) = validated(&["comment", "--verdict", "v.json"]) else {
            panic!("comment parses");
        };
        assert_eq!(args.comment, CommentMode::Always);
        let Ok(Run::Comment(args)) =
            validated(&["comment", "--verdict", "v.json", "--comment", "auto"])
        else {
            panic!("auto parses");
        };
        assert_eq!(args.comment, CommentMode::Auto);
        let never = Cli::try_parse_from([
            "perfgate",
            "comment",
            "--verdict",
            "v.json",
            "--comment",
            "never",
        ]);
        assert!(never.is_err(), "{never:?}");
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

    /// `check`'s stdout format and file pairs for a command line after `check --budget b.toml`.
    fn outputs(args: &[&str]) -> Result<(OutputFormat, Vec<(OutputFormat, PathBuf)>)> {
        let line: Vec<&str> = ["check", "--budget", "b.toml"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        match validated(&line)? {
            Run::Check(c) => Ok((c.format, c.outputs)),
            other => panic!("not a check: {other:?}"),
        }
    }

    #[test]
    fn formats_and_outputs_pair_in_order_and_stdout_gets_the_first_printable_one() {
        use OutputFormat::{Json, Junit, Markdown, Openmetrics, Text};
        let file = |f: OutputFormat, p: &str| (f, PathBuf::from(p));
        // Every command line of one --format and one --output means what it did.
        assert_eq!(outputs(&[]).unwrap(), (Text, vec![]));
        assert_eq!(
            outputs(&["--output", "v.txt"]).unwrap(),
            (Text, vec![file(Text, "v.txt")])
        );
        assert_eq!(
            outputs(&["--output", "v.json", "--format", "json"]).unwrap(),
            (Json, vec![file(Json, "v.json")])
        );
        assert_eq!(
            outputs(&[
                "--format", "json", "--output", "v.json", "--format", "junit", "--output", "j.xml"
            ])
            .unwrap(),
            (Json, vec![file(Json, "v.json"), file(Junit, "j.xml")])
        );
        assert_eq!(
            outputs(&["--format", "openmetrics", "--output", "m.txt"]).unwrap(),
            (Text, vec![file(Openmetrics, "m.txt")])
        );
        assert_eq!(
            outputs(&["--format", "junit", "--output", "j.xml", "--format", "markdown"]).unwrap(),
            (Markdown, vec![file(Junit, "j.xml")])
        );
    }

    #[test]
    fn a_format_or_output_left_unpaired_is_a_usage_error() {
        for (args, error) in [
            (
                &["--format", "junit"][..],
                "--format junit writes a file: give it an --output FILE right after it",
            ),
            (
                &["--format", "json", "--output", "v.json", "--output", "j.xml"][..],
                "--output j.xml has no --format of its own: give one --format per --output, in the same order",
            ),
            (
                &["--format", "json", "--format", "markdown"][..],
                "--format markdown has no --output: only the first of text, markdown and json is printed on stdout, each other format needs its --output FILE",
            ),
        ] {
            let err = outputs(args).expect_err("unpaired");
            assert_eq!(format!("{err:#}"), error, "{args:?}");
        }
    }
}
