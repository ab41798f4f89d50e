//! The README is the user's contract, so it is checked against the binary: the command synopsis
//! against clap's own definition of every subcommand, every command line the README shows against
//! the real parser (and, where it can run on the shipped examples, against the binary's exit code
//! and output), and the README's lists of formats, budget keys, verdict fields, markdown columns
//! and template variables against what perfgate really reads and writes.
//!
//! Checked elsewhere, not here: the quick start's output and the two-page example's output
//! (tests/cases.rs), the broken-budget error example (tests/budget_errors.rs), the exit-code table
//! against `check --help` (src/cli.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assert_cmd::Command;
use clap::{ArgAction, CommandFactory};
use perfgate::cli::Cli;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// A fenced code block: its info string (`sh`, `text`, …), its text and the line it opens on.
struct Block {
    lang: String,
    text: String,
    line: usize,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in readme.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_string(),
                    text: String::new(),
                    line: i + 1,
                })
            }
            (Some(_), Some(_)) => out.extend(open.take()),
            (Some(b), None) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md: a code block is never closed");
    out
}

/// The text of the README section that opens with `heading` (up to the next heading of any level).
fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no {heading:?} section"))
        + heading.len()
        + 2;
    let rest = &readme[start..];
    let mut at = 0;
    // The fence a code block opened with: a ``` inside a ~~~ block (an example comment with its
    // mermaid chart) neither opens nor closes one.
    let mut fence: Option<&str> = None;
    for line in rest.split_inclusive('\n') {
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| line.starts_with(m)) {
            match fence {
                None => fence = Some(marker),
                Some(open) if open == marker => fence = None,
                Some(_) => {}
            }
        }
        if fence.is_none() && line.starts_with('#') {
            break;
        }
        at += line.len();
    }
    &rest[..at]
}

/// Runs the binary in `dir` as a user's terminal would: none of GitHub Actions' extras and no
/// perfgate settings from the environment, even when the tests themselves run in Actions.
fn perfgate(dir: &Path, args: &[String]) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("perfgate").expect("binary");
    for (var, _) in std::env::vars() {
        if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") {
            cmd.env_remove(var);
        }
    }
    let out = cmd.current_dir(dir).args(args).output().expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

// ---- the synopsis ----------------------------------------------------------------------------

/// Every command clap knows that runs something (`baseline` only groups `update` and `show`),
/// by its path: `["baseline", "update"]`.
fn leaf_commands() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<(Vec<String>, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            if sub.has_subcommands() {
                walk(sub, &p, out);
            } else {
                out.push((p, sub.clone()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &[], &mut out);
    out
}

/// The synopsis under "## Commands": each command's line and its indented continuations, by the
/// command's name (its leading lowercase words).
fn synopsis(readme: &str) -> BTreeMap<String, String> {
    let commands = section(readme, "## Commands");
    let block = blocks(commands)
        .into_iter()
        .find(|b| b.lang == "text")
        .expect("a ```text synopsis under ## Commands");
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in block.text.lines() {
        if let Some(rest) = line.strip_prefix("perfgate ") {
            let name: Vec<&str> = rest
                .split_whitespace()
                .take_while(|w| {
                    w.starts_with(|c: char| c.is_ascii_lowercase())
                        && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                })
                .collect();
            let name = name.join(" ");
            let body = rest.trim_start()[name.len()..].to_string();
            assert!(
                out.insert(name.clone(), body).is_none(),
                "the synopsis shows `perfgate {name}` twice"
            );
            current = Some(name);
        } else if line.starts_with(' ') {
            let name = current
                .as_ref()
                .expect("a continuation after a command line");
            let body = out.get_mut(name).expect("the command's entry");
            body.push(' ');
            body.push_str(line.trim());
        } else if !line.trim().is_empty() {
            panic!("the synopsis has a line that is no command: {line:?}");
        }
    }
    out
}

/// One word of a synopsis entry, as the user reads it.
#[derive(Debug)]
struct Shown {
    /// `--name` for an option, else the word (`FILE`).
    word: String,
    /// The word after an option, when it takes one (`FILE`, `text|markdown|json`).
    value: Option<String>,
    /// Inside `[...]`.
    optional: bool,
    /// Followed by `...`, itself or its bracket.
    repeated: bool,
}

/// A word's end: the word without the `]` that close groups and without a trailing `...`, how
/// many groups it closes, and whether it ends in `...`. A bracket inside a value
/// (`PATH|git:BRANCH[:PATH]`) opens and closes within the word.
fn end_of(word: &str) -> (&str, usize, bool) {
    let (w, dots) = match word.strip_suffix("...") {
        Some(w) => (w, true),
        None => (word, false),
    };
    let closes = w
        .matches(']')
        .count()
        .saturating_sub(w.matches('[').count());
    (&w[..w.len() - closes], closes, dots)
}

/// Splits an entry into options and positional words, with brackets and `...` resolved: brackets
/// group an option with its value, and the `...` after a group's `]` repeats the group.
fn shown_words(body: &str) -> Vec<Shown> {
    let words: Vec<&str> = body.split_whitespace().collect();
    let mut out: Vec<Shown> = Vec::new();
    let mut depth = 0usize;
    let mut group: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let after_open = words[i].trim_start_matches('[');
        let opens = words[i].len() - after_open.len();
        if opens > 0 {
            depth += opens;
            group.clear();
        }
        let (core, mut closes, mut dots) = end_of(after_open);
        let takes_value = core.starts_with("--")
            && closes == 0
            && !dots
            && words
                .get(i + 1)
                .is_some_and(|w| !w.starts_with('[') && !w.starts_with("--"));
        let value = takes_value.then(|| {
            i += 1;
            let (v, c, d) = end_of(words[i]);
            (closes, dots) = (c, d);
            v.to_string()
        });
        let at = out.len();
        out.push(Shown {
            word: core.to_string(),
            value,
            optional: depth > 0,
            repeated: false,
        });
        group.push(at);
        if dots && closes > 0 {
            for &g in &group {
                out[g].repeated = true;
            }
        } else if dots {
            out[at].repeated = true;
        }
        if closes > 0 {
            depth = depth.saturating_sub(closes);
            group.clear();
        }
        i += 1;
    }
    out
}

#[test]
fn the_synopsis_shows_every_command_and_every_option_clap_has() {
    let readme = readme();
    let shown = synopsis(&readme);
    let leaves = leaf_commands();
    let names: BTreeSet<String> = leaves.iter().map(|(p, _)| p.join(" ")).collect();
    for name in shown.keys() {
        assert!(
            names.contains(name),
            "README.md's synopsis shows `perfgate {name}`, which is no command (commands: {names:?})"
        );
    }
    for (path, cmd) in &leaves {
        let name = path.join(" ");
        let body = shown
            .get(&name)
            .unwrap_or_else(|| panic!("README.md's synopsis lacks `perfgate {name}`"));
        let words = shown_words(body);
        let mut options: BTreeSet<String> = BTreeSet::new();
        let mut positionals: BTreeSet<String> = BTreeSet::new();
        for arg in cmd.get_arguments() {
            // clap's own --help and --version, and options kept out of --help, are not shown.
            if matches!(arg.get_action(), ArgAction::Help | ArgAction::Version) || arg.is_hide_set()
            {
                continue;
            }
            let value_name = arg
                .get_value_names()
                .and_then(|v| v.first())
                .map_or_else(|| arg.get_id().as_str().to_uppercase(), |v| v.to_string());
            let repeated = matches!(arg.get_action(), ArgAction::Append);
            let (key, what) = match arg.get_long() {
                Some(long) => (format!("--{long}"), format!("`perfgate {name} --{long}`")),
                None => (
                    value_name.clone(),
                    format!("`perfgate {name}`'s {value_name}"),
                ),
            };
            let w = words.iter().find(|w| w.word == key).unwrap_or_else(|| {
                panic!("README.md's synopsis of `perfgate {name}` lacks {key} (it is in --help)")
            });
            assert_eq!(
                w.optional,
                !arg.is_required_set(),
                "README.md's synopsis shows {what} as {}",
                if w.optional { "optional" } else { "required" }
            );
            assert_eq!(
                w.repeated,
                repeated,
                "README.md's synopsis shows {what} {} `...`, but it is {}repeatable",
                if w.repeated { "with" } else { "without" },
                if repeated { "" } else { "not " }
            );
            if arg.get_long().is_none() {
                positionals.insert(key);
                continue;
            }
            options.insert(key);
            let takes_value = matches!(arg.get_action(), ArgAction::Set | ArgAction::Append);
            match (&w.value, takes_value) {
                (None, false) => {}
                (Some(v), false) => {
                    panic!("README.md's synopsis gives {what} a value `{v}`; it takes none")
                }
                (None, true) => {
                    panic!("README.md's synopsis shows {what} without its value {value_name}")
                }
                (Some(v), true) => {
                    let alternatives: BTreeSet<&str> = v.split('|').collect();
                    let possible: BTreeSet<String> = arg
                        .get_possible_values()
                        .iter()
                        .filter(|p| !p.is_hide_set())
                        .map(|p| p.get_name().to_string())
                        .collect();
                    if possible.is_empty() {
                        assert!(
                            alternatives.contains(value_name.as_str()),
                            "README.md's synopsis shows {what}'s value as `{v}`; --help calls it {value_name}"
                        );
                    } else {
                        let alternatives: BTreeSet<String> =
                            alternatives.iter().map(|a| a.to_string()).collect();
                        assert_eq!(
                            alternatives, possible,
                            "README.md's synopsis shows {what}'s values as `{v}`"
                        );
                    }
                }
            }
        }
        for w in &words {
            let known = if w.word.starts_with("--") {
                options.contains(&w.word)
            } else {
                positionals.contains(&w.word)
            };
            assert!(
                known,
                "README.md's synopsis of `perfgate {name}` shows `{}`, which --help does not have",
                w.word
            );
        }
    }
}

/// The checks above read brackets and `...` the way a reader does; this pins that reading on
/// every shape the synopsis uses.
#[test]
fn a_synopsis_entry_reads_as_a_user_reads_it() {
    let words = shown_words(
        "--budget FILE [--baseline PATH|git:BRANCH[:PATH]] [--input SOURCE=PATH]... [--lenient] \
         FILE... [--format auto|NAME] [--force]",
    );
    let summary: Vec<(&str, Option<&str>, bool, bool)> = words
        .iter()
        .map(|w| (w.word.as_str(), w.value.as_deref(), w.optional, w.repeated))
        .collect();
    assert_eq!(
        summary,
        [
            ("--budget", Some("FILE"), false, false),
            ("--baseline", Some("PATH|git:BRANCH[:PATH]"), true, false),
            ("--input", Some("SOURCE=PATH"), true, true),
            ("--lenient", None, true, false),
            ("FILE", None, false, true),
            ("--format", Some("auto|NAME"), true, false),
            ("--force", None, true, false),
        ]
    );
}

// ---- the command lines -----------------------------------------------------------------------

/// A perfgate command line the README shows: its arguments after `perfgate`, and where it is.
#[derive(Debug)]
struct Example {
    args: Vec<String>,
    line: usize,
    /// The byte just after it in the README.
    end: usize,
}

/// Splits a command line into words as a shell does for the quoting the README uses.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "an unclosed quote in {line:?}");
    words.extend(word);
    words
}

/// The arguments of a perfgate command line: after `perfgate`, or after the `--` of `cargo run`.
fn perfgate_args(command: &str) -> Option<Vec<String>> {
    let words = shell_words(command);
    match words.first().map(String::as_str) {
        Some("perfgate") => Some(words[1..].to_vec()),
        Some("cargo") if words.get(1).map(String::as_str) == Some("run") => {
            let dashes = words.iter().position(|w| w == "--")?;
            Some(words[dashes + 1..].to_vec())
        }
        _ => None,
    }
}

/// The README with every fenced block blanked out (offsets kept): the prose.
fn prose(readme: &str) -> String {
    let mut out = String::with_capacity(readme.len());
    let mut in_code = false;
    for line in readme.split_inclusive('\n') {
        let fence = line.trim_start().starts_with("```");
        if in_code || fence {
            out.extend(line.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        } else {
            out.push_str(line);
        }
        if fence {
            in_code = !in_code;
        }
    }
    out
}

/// Inline code spans of the prose: (start, end, text with line breaks as spaces). A span opens
/// with a run of backticks and closes at the next run of the same length, as CommonMark has it.
fn code_spans(prose: &str) -> Vec<(usize, usize, String)> {
    let bytes = prose.as_bytes();
    let run_at = |i: usize| bytes[i..].iter().take_while(|&&b| b == b'`').count();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let n = run_at(i);
        let start = i + n;
        let mut j = start;
        let close = loop {
            if j >= bytes.len() {
                break None;
            }
            if bytes[j] == b'`' {
                let m = run_at(j);
                if m == n {
                    break Some(j);
                }
                j += m;
            } else {
                j += 1;
            }
        };
        match close {
            Some(c) => {
                out.push((
                    start,
                    c,
                    prose[start..c].replace('\n', " ").trim().to_string(),
                ));
                i = c + n;
            }
            None => i = start,
        }
    }
    out
}

/// Every perfgate command line of the README: each line of a shell or YAML block that runs
/// perfgate (a `run:` step's too), and each inline code span that is a perfgate command with at
/// least one option (`perfgate metrics` alone names the command, it is no command line).
fn examples(readme: &str) -> Vec<Example> {
    let line_of = |at: usize| readme[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    for block in blocks(readme) {
        if !["sh", "bash", "shell", "console", "yaml", "yml"].contains(&block.lang.as_str()) {
            continue;
        }
        let mut logical = String::new();
        let mut first = 0;
        for (i, line) in block.text.lines().enumerate() {
            if logical.is_empty() {
                first = i;
            }
            if let Some(head) = line.strip_suffix('\\') {
                logical.push_str(head);
                continue;
            }
            logical.push_str(line);
            let mut command = std::mem::take(&mut logical);
            if command.trim_start().starts_with('#') {
                continue;
            }
            if let Some(hash) = command.find(" #") {
                command.truncate(hash);
            }
            let command = command.trim().trim_start_matches("- ").trim();
            let command = command.strip_prefix("run:").unwrap_or(command).trim();
            if let Some(args) = perfgate_args(command) {
                out.push(Example {
                    args,
                    line: block.line + first + 1,
                    end: 0,
                });
            }
        }
    }
    for (start, end, text) in code_spans(&prose(readme)) {
        if !text.contains(" --") {
            continue;
        }
        if let Some(args) = perfgate_args(&text) {
            out.push(Example {
                args,
                line: line_of(start),
                end: end + 1,
            });
        }
    }
    out
}

/// clap's command with the environment defaults taken out, so that a README command that forgot
/// `--budget` fails here even where `PERFGATE_BUDGET` happens to be set.
fn without_env(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd.mut_args(|a| a.env(None));
    for name in names {
        cmd = cmd.mut_subcommand(name, without_env);
    }
    cmd
}

/// Parses as `main` does: clap, then the checks clap cannot make. `--help` and `--version` parse
/// too: clap answers them itself.
fn parse(args: &[String]) -> Result<(), String> {
    let matches = match without_env(Cli::command())
        .try_get_matches_from(std::iter::once("perfgate".to_string()).chain(args.iter().cloned()))
    {
        Ok(matches) => matches,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            return Ok(())
        }
        Err(e) => return Err(e.to_string()),
    };
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    cli.validate().map(|_| ()).map_err(|e| format!("{e:#}"))
}

/// Whether a README command is parsed only, not run here.
fn parse_only(args: &[String]) -> bool {
    // `comment` posts on a pull request: it needs GitHub, a token and a `workflow_run` event.
    args.first().map(String::as_str) == Some("comment")
        // A `git:` baseline is read from (or committed to) a data branch this checkout lacks.
        || args.iter().any(|a| a.starts_with("git:"))
        // `--help` and `--version` print clap's own text, which the README does not show.
        || args.iter().any(|a| a == "--help" || a == "--version" || a == "-h" || a == "-V")
}

/// README commands whose shown output another test already compares.
const OUTPUT_CHECKED_ELSEWHERE: &[(&str, &str)] = &[(
    "check --budget tests/cases/lhci-pages/budget.toml",
    "tests/cases.rs",
)];

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Expands the words a shell would: one with a `*` that names files becomes those files, in
/// order; one that names none stays as it is (sh's default).
fn expand_globs(dir: &Path, args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for arg in args {
        let found: Vec<String> = if arg.contains('*') && !arg.starts_with('-') {
            let pattern = dir.join(arg).display().to_string();
            glob::glob(&pattern)
                .map(|paths| {
                    paths
                        .flatten()
                        .filter_map(|p| Some(p.strip_prefix(dir).ok()?.display().to_string()))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        if found.is_empty() {
            out.push(arg.clone());
        } else {
            out.extend(found);
        }
    }
    out
}

/// A working directory like a fresh clone's, for the commands that write (an updated baseline,
/// `--output`): the shipped examples, budgets, templates, test cases and fixtures.
fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in [
        "examples",
        "budgets",
        "templates",
        "tests/cases",
        "tests/fixtures",
    ] {
        copy_tree(&root().join(sub), &dir.path().join(sub));
    }
    dir
}

#[test]
fn every_command_line_in_the_readme_parses_and_runs_on_the_shipped_examples() {
    let readme = readme();
    let prose = prose(&readme);
    let examples = examples(&readme);
    assert!(
        examples.len() >= 5,
        "found only {} perfgate command lines in README.md: {examples:?}",
        examples.len()
    );
    let dir = sandbox();
    let mut ran = 0;
    for ex in &examples {
        let shown = ex.args.join(" ");
        if let Err(e) = parse(&ex.args) {
            panic!(
                "README.md:{}: `perfgate {shown}` does not parse: {e}",
                ex.line
            );
        }
        if parse_only(&ex.args) {
            continue;
        }
        // Each command starts from the shipped baseline, whatever an earlier `baseline update` did.
        let baselines = dir.path().join("baselines");
        if baselines.exists() {
            std::fs::remove_dir_all(&baselines).expect("rm baselines");
        }
        copy_tree(&root().join("baselines"), &baselines);
        let (code, stdout, stderr) = perfgate(dir.path(), &expand_globs(dir.path(), &ex.args));
        ran += 1;
        let stated = prose
            .get(ex.end..)
            .and_then(|after| after.strip_prefix(" prints (exit "))
            .map(|after| {
                let code: i32 = after[..after.find(')').expect("`)`")]
                    .parse()
                    .expect("an exit code");
                let output = readme[ex.end..]
                    .split_once("```text\n")
                    .and_then(|(_, rest)| rest.split_once("```"))
                    .expect("the output block after `prints`")
                    .0;
                (code, output)
            });
        match stated {
            Some((stated_code, output)) => {
                assert_eq!(
                    code, stated_code,
                    "README.md:{}: `perfgate {shown}` exits {code}, the README says {stated_code}: {stderr}",
                    ex.line
                );
                if !OUTPUT_CHECKED_ELSEWHERE.iter().any(|(c, _)| *c == shown) {
                    assert_eq!(
                        output, stdout,
                        "README.md:{}: `perfgate {shown}` prints something else than shown",
                        ex.line
                    );
                }
            }
            // No output shown: it must judge (0 or 1), never fail to (2).
            None => assert!(
                code == 0 || code == 1,
                "README.md:{}: `perfgate {shown}` exits {code} on the shipped examples: {stderr}",
                ex.line
            ),
        }
    }
    assert!(ran >= 3, "only {ran} README commands ran");
}

// ---- what the README says perfgate reads and writes ------------------------------------------

/// Compares the README's `shown` JSON with the binary's `real`: every field shown must be there
/// with the value shown (a number to the digits shown), and an object or array shows all of the
/// real one's fields or elements unless it holds `"...": "..."` or a last element `"..."`.
fn same_as_shown(shown: &Value, real: &Value, at: &str) {
    match (shown, real) {
        (Value::Object(s), Value::Object(r)) => {
            let elided = s.get("...").is_some();
            for (key, value) in s.iter().filter(|(k, _)| k.as_str() != "...") {
                let real_value = r.get(key).unwrap_or_else(|| {
                    panic!("README.md shows `{at}.{key}`, the verdict lacks it")
                });
                same_as_shown(value, real_value, &format!("{at}.{key}"));
            }
            if !elided {
                let missing: Vec<&String> = r.keys().filter(|k| !s.contains_key(*k)).collect();
                assert!(
                    missing.is_empty(),
                    "README.md's `{at}` lacks {missing:?} (or an `\"...\": \"...\"`)"
                );
            }
        }
        (Value::Array(s), Value::Array(r)) => {
            let elided = s.last() == Some(&Value::String("...".into()));
            let shown = if elided { &s[..s.len() - 1] } else { &s[..] };
            if !elided {
                assert_eq!(
                    shown.len(),
                    r.len(),
                    "README.md's `{at}` has another length"
                );
            }
            for (i, element) in shown.iter().enumerate() {
                // Entries with an id or a name are found by it, others by their place.
                let key = ["id", "name"]
                    .into_iter()
                    .find(|k| element.get(k).is_some());
                let real_element = match key {
                    Some(k) => r
                        .iter()
                        .find(|e| e.get(k) == element.get(k))
                        .unwrap_or_else(|| {
                            panic!(
                                "README.md shows `{at}` with {k} {}, the verdict has none",
                                element[k]
                            )
                        }),
                    None => r
                        .get(i)
                        .unwrap_or_else(|| panic!("README.md's `{at}` is too long")),
                };
                same_as_shown(element, real_element, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(s), Value::Number(r)) => {
            let (s, r) = (s.as_f64().expect("f64"), r.as_f64().expect("f64"));
            // Shown to 3 significant digits at least: within half a unit of the third.
            assert!(
                (s - r).abs() <= 5e-3 * r.abs(),
                "README.md shows `{at}` as {s}, the verdict has {r}"
            );
        }
        _ => assert_eq!(shown, real, "README.md shows `{at}` as another value"),
    }
}

#[test]
fn the_json_verdict_shown_is_the_quick_starts() {
    let readme = readme();
    let output = section(&readme, "## Output");
    let shown = blocks(output)
        .into_iter()
        .find(|b| b.lang == "json" && b.text.contains("perfgate/verdict@1"))
        .expect("the JSON verdict under ## Output");
    let shown: Value = serde_json::from_str(&shown.text).expect("the README's verdict is JSON");
    let (code, stdout, stderr) = perfgate(
        root(),
        &strings(&["check", "--budget", "budgets/prod.toml", "--format", "json"]),
    );
    assert_eq!(code, 0, "{stderr}");
    let real: Value = serde_json::from_str(&stdout).expect("JSON verdict");
    same_as_shown(&shown, &real, "verdict");
}

#[test]
fn the_markdown_table_has_the_columns_the_readme_lists() {
    let readme = readme();
    let listed = readme
        .split_once("in one line, the table (")
        .and_then(|(_, rest)| rest.split_once(';'))
        .expect("the markdown table's columns under ## Output")
        .0
        .replace('\n', " ");
    let listed: Vec<&str> = listed.split(", ").map(str::trim).collect();
    let (_, stdout, _) = perfgate(
        root(),
        &strings(&[
            "check",
            "--budget",
            "budgets/prod.toml",
            "--format",
            "markdown",
        ]),
    );
    let header = stdout
        .lines()
        .find(|l| l.starts_with("| Metric |"))
        .expect("the table's header");
    let real: Vec<&str> = header.trim_matches('|').split('|').map(str::trim).collect();
    assert_eq!(listed, real, "README.md lists other markdown columns");
}

#[test]
fn the_formats_table_has_a_row_per_reader() {
    let readme = readme();
    let section = section(&readme, "## Formats and metric names");
    let table = section
        .split_once("| format | reads | metric names |\n")
        .expect("the formats table")
        .1;
    let rows: BTreeSet<&str> = table
        .lines()
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(name, _)| name)
        .collect();
    let readers: BTreeSet<&str> = perfgate::ingest::Format::ALL
        .iter()
        .map(|f| f.name())
        .collect();
    assert_eq!(
        rows, readers,
        "README.md's formats table and the readers differ"
    );
}

#[test]
fn the_budget_shown_is_a_valid_budget() {
    let readme = readme();
    let budget = section(&readme, "## The budget");
    let toml = blocks(budget)
        .into_iter()
        .find(|b| b.lang == "toml")
        .expect("the budget example");
    let parsed = perfgate::budget::parse_budget(Path::new("README.md"), &toml.text);
    if let Err(problems) = parsed {
        panic!(
            "README.md:{}: the budget example is refused: {problems}",
            toml.line
        );
    }
}

/// The README's list of template variables, each used under strict undefined: a name the
/// context lacks fails the render, and each name used here must be in the README's list.
#[test]
fn every_template_variable_the_readme_lists_exists() {
    const TOP: &[&str] = &[
        "marker",
        "gate",
        "verdict",
        "summary",
        "counts",
        "metrics",
        "warnings",
        "sources",
        "has_samples",
        "has_baseline",
        "baseline_runs",
        "against",
        "threshold_only",
        "icon",
        "version",
    ];
    const COUNTS: &[&str] = &["pass", "warn", "fail", "regressions", "total"];
    const METRIC: &[&str] = &[
        "id",
        "rule",
        "page",
        "label",
        "status",
        "status_text",
        "status_icon",
        "value",
        "unit",
        "value_text",
        "target_text",
        "critical_text",
        "baseline_text",
        "change_text",
        "samples_text",
        "runs",
        "line",
        "baseline",
    ];
    const BASELINE: &[&str] = &[
        "value",
        "change",
        "regression",
        "significant",
        "p_value",
        "runs",
        "method",
        "call",
        "cv",
        "detectable",
        "runs_needed",
        "slack",
        "history",
        "history_commits",
        "pairs",
        "method_text",
        "noise_text",
        "decision_text",
        "chart",
        "chart_legend",
    ];
    const WARNING: &[&str] = &["kind", "message"];
    const SOURCE: &[&str] = &[
        "name", "format", "detail", "files", "runs", "pages", "dropped",
    ];
    let readme = readme();
    let templates = section(&readme, "### Templates");
    for name in [TOP, COUNTS, METRIC, BASELINE, WARNING, SOURCE].concat() {
        assert!(
            templates.contains(&format!("`{name}`")),
            "README.md's Templates section does not list `{name}`"
        );
    }
    let each = |var: &str, fields: &[&str]| {
        fields
            .iter()
            .map(|f| format!("{{{{ {var}.{f} }}}}"))
            .collect::<String>()
    };
    let template = format!(
        "{}{}{{% for m in metrics %}}{}{{% if m.baseline %}}{}{{% endif %}}{{{{ m.label | md }}}}\
         {{% endfor %}}{{% for w in warnings %}}{}{{% endfor %}}{{% for s in sources %}}{}{{% endfor %}}",
        TOP.iter().map(|t| format!("{{{{ {t} }}}}")).collect::<String>(),
        each("counts", COUNTS),
        each("m", METRIC),
        each("m.baseline", BASELINE),
        each("w", WARNING),
        each("s", SOURCE),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("all.md.j2");
    std::fs::write(&path, template).expect("write template");
    let (code, _, stderr) = perfgate(
        root(),
        &[
            "check".into(),
            "--budget".into(),
            "budgets/prod.toml".into(),
            "--format".into(),
            "markdown".into(),
            "--template".into(),
            path.display().to_string(),
        ],
    );
    assert_eq!(
        code, 0,
        "a variable the README lists is not in the context: {stderr}"
    );
}

/// The shards section's error, reproduced: a k6 summary export (a real one) among shards.
#[test]
fn the_shards_error_shown_is_what_perfgate_prints() {
    let readme = readme();
    let shown = readme
        .split_once("So are\nshards of two formats:\n\n```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the shards error block")
        .0;
    let dir = tempfile::tempdir().expect("temp dir");
    let shards = dir.path().join("shards");
    std::fs::create_dir(&shards).expect("mkdir");
    let k6 = root().join("tests/fixtures/k6");
    std::fs::copy(
        k6.join("run.summary-export.json"),
        shards.join("shard-1.summary-export.json"),
    )
    .expect("copy");
    std::fs::copy(k6.join("run.points.ndjson"), shards.join("shard-2.ndjson")).expect("copy");
    std::fs::write(
        dir.path().join("budget.toml"),
        "[sources.load]\nformat = \"k6\"\npath = \"shards/shard-*\"\nfiles = \"shards\"\n\n\
         [[budget]]\nmetric = \"load.http_req_duration.p95\"\ntarget = \"< 300ms\"\n",
    )
    .expect("write budget");
    let (code, stdout, stderr) =
        perfgate(dir.path(), &strings(&["check", "--budget", "budget.toml"]));
    assert_eq!(code, 2, "{stdout}");
    assert_eq!(stderr, shown, "README.md's shards error is stale");
}

/// The heading's anchor as GitHub makes it: lowercase, punctuation dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_file_and_section_the_readme_points_at_exists() {
    let readme = readme();
    let prose = prose(&readme);
    // Repository paths in inline code (`tests/streaming.rs`), except placeholders (`<tool>`) and
    // globs; a path the README names as an illustration (`reports/...`) lies outside these folders.
    const FOLDERS: &[&str] = &[
        "src/",
        "tests/",
        "benches/",
        "examples/",
        "templates/",
        "docs/",
        "budgets/",
        "baselines/",
        ".github/",
        ".ci/",
    ];
    for (start, _, text) in code_spans(&prose) {
        if FOLDERS.iter().any(|f| text.starts_with(f))
            && !text.contains(['<', '*', ' '])
            && !root().join(&text).exists()
        {
            panic!(
                "README.md:{}: `{text}` does not exist",
                readme[..start].matches('\n').count() + 1
            );
        }
    }
    let anchors: BTreeSet<String> = prose
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect();
    for link in prose.split("](").skip(1) {
        let target = &link[..link.find(')').expect("a closed link")];
        if let Some(name) = target.strip_prefix('#') {
            assert!(
                anchors.contains(name),
                "README.md links to #{name}, which no heading makes"
            );
        } else if !target.contains("://") {
            assert!(
                root().join(target).exists(),
                "README.md links to {target}, which does not exist"
            );
        }
    }
}

/// The extraction above on every shape a README command takes.
#[test]
fn command_lines_are_found_in_every_shape_the_readme_uses() {
    let text = "Run `perfgate check --budget\n  b.toml` or `perfgate metrics` (a name).\n\n\
        ```sh\ncargo run -q -- metrics a.json   # list\nPERFGATE_X=1 k6 run x.js\nperfgate check \\\n  --budget 'my budget.toml'\n```\n\n\
        ```yaml\nsteps:\n  - run: perfgate baseline show --budget b.toml\n  - uses: owner/perfgate@v1\n```\n\n\
        ```text\nperfgate check --budget shown.toml\n```\n";
    let found: Vec<(Vec<String>, usize)> = examples(text)
        .into_iter()
        .map(|e| (e.args, e.line))
        .collect();
    assert_eq!(
        found,
        [
            (strings(&["metrics", "a.json"]), 5),
            (strings(&["check", "--budget", "my budget.toml"]), 7),
            (strings(&["baseline", "show", "--budget", "b.toml"]), 13),
            (strings(&["check", "--budget", "b.toml"]), 1),
        ]
    );
}

/// Every environment variable a flag can come from is in the README.
#[test]
fn every_environment_variable_a_flag_reads_is_documented() {
    let readme = readme();
    for (path, cmd) in leaf_commands() {
        for arg in cmd.get_arguments() {
            if let Some(var) = arg.get_env() {
                let var = var.to_string_lossy();
                assert!(
                    readme.contains(&format!("`{var}`")),
                    "README.md does not name `{var}` (`perfgate {} --{}`)",
                    path.join(" "),
                    arg.get_long().unwrap_or_default()
                );
            }
        }
    }
}
