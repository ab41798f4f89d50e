//! GitHub Actions workflow commands: `GITHUB_OUTPUT` lines ([`output_lines`]) and `::error` /
//! `::warning` annotations ([`annotations`]).
//!
//! The one rule it keeps: a value from a report can never forge another command or output, so
//! every value is escaped as the Actions toolkit does, or framed by a delimiter it cannot contain.
//! A leaf: it imports nothing of perfgate's, so any side (render, a CI provider) may use it.

use std::time::{SystemTime, UNIX_EPOCH};

// GitHub shows at most 10 annotations of each type per step; the 10th slot carries "N more".
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands
const MAX_ANNOTATIONS_PER_LEVEL: usize = 10;

/// 128 bits from the standard library's per-process random hash keys: enough for a delimiter no
/// report can guess.
fn random_hex() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut words = [0u64; 2];
    for (i, w) in words.iter_mut().enumerate() {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_usize(i);
        *w = h.finish();
    }
    format!("{:016x}{:016x}", words[0], words[1])
}

/// GITHUB_OUTPUT lines: `verdict=…`, counts, json path; multi-line values with a random delimiter.
///
/// A single-line value is written `name=value`; one with a line break as
/// `name<<ghadelimiter_<random>` … `ghadelimiter_<random>`, the delimiter checked absent from the
/// value (as `@actions/core` does), so a value cannot end the block early and forge other outputs.
pub fn output_lines(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if value.contains(['\n', '\r']) {
            let delimiter = loop {
                let d = format!("ghadelimiter_{}", random_hex());
                if !value.contains(&d) && !name.contains(&d) {
                    break d;
                }
            };
            out.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            out.push_str(&format!("{name}={value}\n"));
        }
    }
    out
}

/// The type of a workflow-command annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `::error` — a failed metric.
    Error,
    /// `::warning` — a warned metric.
    Warning,
    /// `::notice` — a waived regression, shown and not failing.
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// One annotation: a metric that failed or warned, pointing at its rule in the budget file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    /// The budget file, relative to the workspace; empty for none.
    pub file: String,
    /// 1-based line of the rule; 0 for none.
    pub line: usize,
    /// The metric's label.
    pub title: String,
    pub message: String,
}

/// Escapes a workflow command's data (actions/toolkit `escapeData`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (actions/toolkit `escapeProperty`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(level: Level, props: &[(&str, String)], message: &str) -> String {
    let props: Vec<String> = props
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    let sep = if props.is_empty() { "" } else { " " };
    format!(
        "::{}{sep}{}::{}\n",
        level.command(),
        props.join(","),
        escape_data(message)
    )
}

/// Workflow commands `::error file=…,line=…,title=…::message` / `::warning …` with properties escaped
/// (%, CR, LF, `:` and `,`) and data escaped (%, CR, LF); at most 10 per type, the worst first, then one "N more" line.
///
/// Items are taken in the order given within each level, so the caller lists the worst first;
/// errors come before warnings. GitHub shows 10 annotations per type per step, so past 10 the
/// first 9 are written and the 10th says how many more there are.
pub fn annotations(items: &[Annotation]) -> String {
    let mut out = String::new();
    for level in [Level::Error, Level::Warning, Level::Notice] {
        let of_level: Vec<&Annotation> = items.iter().filter(|a| a.level == level).collect();
        let shown = if of_level.len() > MAX_ANNOTATIONS_PER_LEVEL {
            MAX_ANNOTATIONS_PER_LEVEL - 1
        } else {
            of_level.len()
        };
        for a in &of_level[..shown] {
            let line = if a.line == 0 {
                String::new()
            } else {
                a.line.to_string()
            };
            out.push_str(&command(
                level,
                &[
                    ("file", a.file.clone()),
                    ("line", line),
                    ("title", a.title.clone()),
                ],
                &a.message,
            ));
        }
        let more = of_level.len() - shown;
        if more > 0 {
            let what = match level {
                Level::Error => "failed",
                Level::Warning => "warned",
                Level::Notice => "waived",
            };
            out.push_str(&command(
                level,
                &[("title", format!("perfgate: {more} more"))],
                &format!("{more} more {what} metrics: see the job summary for all of them"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_single_and_multi_line() {
        let out = output_lines(&[
            ("verdict", "fail"),
            ("failed", "2"),
            ("json", "out/verdict.json"),
            ("summary", "line one\nverdict=pass\nline three"),
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            &lines[..3],
            ["verdict=fail", "failed=2", "json=out/verdict.json"]
        );
        let (name, delimiter) = lines[3].split_once("<<").unwrap();
        assert_eq!(name, "summary");
        assert!(delimiter.starts_with("ghadelimiter_") && delimiter.len() > 40);
        assert_eq!(&lines[4..7], ["line one", "verdict=pass", "line three"]);
        assert_eq!(lines[7], delimiter);
        assert_eq!(lines.len(), 8);
        assert!(out.ends_with('\n'));
        // A fresh delimiter each time.
        let again = output_lines(&[("summary", "a\nb")]);
        assert!(!again.contains(delimiter));
    }

    fn ann(level: Level, title: &str, message: &str) -> Annotation {
        Annotation {
            level,
            file: "budgets/prod.toml".into(),
            line: 16,
            title: title.into(),
            message: message.into(),
        }
    }

    #[test]
    fn annotations_escape_properties_and_data() {
        let out = annotations(&[ann(
            Level::Error,
            "API p95: 50%, worst\r\n::warning::forged",
            "120 ms > 100 ms (20%)\n::error::forged",
        )]);
        assert_eq!(
            out,
            "::error file=budgets/prod.toml,line=16,title=API p95%3A 50%25%2C worst%0D%0A%3A%3Awarning%3A%3Aforged::120 ms > 100 ms (20%25)%0A::error::forged\n"
        );
        assert_eq!(out.lines().count(), 1);

        let no_place = annotations(&[Annotation {
            file: String::new(),
            line: 0,
            ..ann(Level::Warning, "LCP", "slow")
        }]);
        assert_eq!(no_place, "::warning title=LCP::slow\n");
        assert_eq!(escape_property("C:\\a,b"), "C%3A\\a%2Cb");
    }

    #[test]
    fn annotations_cap_each_level_at_ten_with_a_more_line() {
        let mut items: Vec<Annotation> = (0..13)
            .map(|i| ann(Level::Warning, &format!("w{i}"), "warned"))
            .collect();
        items.extend((0..10).map(|i| ann(Level::Error, &format!("e{i}"), "failed")));
        let out = annotations(&items);
        let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("::error")).collect();
        let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("::warning")).collect();
        assert_eq!(errors.len(), 10);
        assert!(errors[9].contains("title=e9"));
        assert_eq!(warnings.len(), 10);
        assert!(warnings[0].contains("title=w0"));
        assert!(warnings[8].contains("title=w8"));
        assert_eq!(
            warnings[9],
            "::warning title=perfgate%3A 4 more::4 more warned metrics: see the job summary for all of them"
        );
        // Errors first.
        assert!(out.starts_with("::error"));
    }
}
