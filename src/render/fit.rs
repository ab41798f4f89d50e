//! The comment shrinker: [`fit_body`] caps a rendered markdown body at a character limit by
//! dropping whole blocks in stages (mermaid charts, passing rows, the `<details>` block), then by
//! cutting between blocks, and says what it left out.
//!
//! The one rule it keeps: it shrinks what the default template (templates/comment.md.j2)
//! writes, and knows it by the template's own words: a results table has a `Status` column, and a
//! passing row's status ends in the word `pass`. The tests render the real template, so renaming
//! either there fails them rather than silently switching a stage off.

/// The phrase of the visible line [`fit_body`] adds when it had to shorten a body.
pub const TRUNCATION_NOTE: &str = "truncated — full report in the job summary";

/// A markdown body cut into the blocks [`fit_body`] may drop whole.
#[derive(Clone, Debug)]
enum Block<'a> {
    /// A line outside any other block (paragraph text, list item, blank, HTML).
    Line(&'a str),
    /// A fenced code block, fences included.
    Fence { lines: Vec<&'a str>, mermaid: bool },
    /// Consecutive lines starting with `|`.
    Table(Vec<&'a str>),
    /// `<details>` … `</details>`, each tag on its own line.
    Details {
        open: &'a str,
        inner: Vec<Block<'a>>,
        close: &'a str,
    },
}

fn fence_of(line: &str) -> Option<(char, usize)> {
    let t = line.trim_start_matches(' ');
    if line.len() - t.len() > 3 {
        return None;
    }
    let c = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = t.chars().take_while(|x| *x == c).count();
    (n >= 3).then_some((c, n))
}

fn closes_fence(line: &str, (c, n): (char, usize)) -> bool {
    fence_of(line).is_some_and(|(c2, n2)| c2 == c && n2 >= n) && line.trim().chars().all(|x| x == c)
}

fn opens_details(line: &str) -> bool {
    let t = line.trim_start().to_ascii_lowercase();
    (t.starts_with("<details>") || t.starts_with("<details "))
        && t.matches("<details").count() > t.matches("</details>").count()
}

fn closes_details(line: &str) -> bool {
    line.trim().eq_ignore_ascii_case("</details>")
}

/// Parses lines into blocks; returns the blocks and how many lines were consumed (stopping at an
/// unmatched `</details>` when `nested`).
fn parse_blocks<'a>(lines: &[&'a str], nested: bool) -> (Vec<Block<'a>>, usize) {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(fence) = fence_of(line) {
            let mermaid = line
                .trim_start()
                .trim_start_matches(fence.0)
                .trim()
                .to_ascii_lowercase()
                .starts_with("mermaid");
            let mut end = i + 1;
            while end < lines.len() && !closes_fence(lines[end], fence) {
                end += 1;
            }
            let end = (end + 1).min(lines.len());
            blocks.push(Block::Fence {
                lines: lines[i..end].to_vec(),
                mermaid,
            });
            i = end;
        } else if line.trim_start().starts_with('|') {
            let end = lines[i..]
                .iter()
                .position(|l| !l.trim_start().starts_with('|'))
                .map_or(lines.len(), |p| i + p);
            blocks.push(Block::Table(lines[i..end].to_vec()));
            i = end;
        } else if opens_details(line) {
            let (inner, used) = parse_blocks(&lines[i + 1..], true);
            let close_at = i + 1 + used;
            if close_at < lines.len() {
                blocks.push(Block::Details {
                    open: line,
                    inner,
                    close: lines[close_at],
                });
                i = close_at + 1;
            } else {
                // Never closed: its lines stay as they are.
                blocks.push(Block::Line(line));
                blocks.extend(inner);
                i = lines.len();
            }
        } else if nested && closes_details(line) {
            return (blocks, i);
        } else {
            blocks.push(Block::Line(line));
            i += 1;
        }
    }
    (blocks, i)
}

fn render_blocks(blocks: &[Block<'_>], out: &mut Vec<String>) {
    for b in blocks {
        match b {
            Block::Line(l) => out.push((*l).to_owned()),
            Block::Fence { lines, .. } | Block::Table(lines) => {
                out.extend(lines.iter().map(|l| (*l).to_owned()))
            }
            Block::Details { open, inner, close } => {
                out.push((*open).to_owned());
                render_blocks(inner, out);
                out.push((*close).to_owned());
            }
        }
    }
}

fn is_blank(b: &Block<'_>) -> bool {
    matches!(b, Block::Line(l) if l.trim().is_empty())
}

/// Drops mermaid fences and the caption paragraph (ending in `:`) that introduces each.
fn drop_charts<'a>(blocks: Vec<Block<'a>>) -> (Vec<Block<'a>>, bool) {
    let mut out: Vec<Block<'a>> = Vec::new();
    let mut dropped = false;
    for b in blocks {
        match b {
            Block::Fence { mermaid: true, .. } => {
                dropped = true;
                while out.last().is_some_and(is_blank) {
                    out.pop();
                }
                if matches!(out.last(), Some(Block::Line(l)) if l.trim_end().ends_with(':')) {
                    out.pop();
                    while out.last().is_some_and(is_blank) {
                        out.pop();
                    }
                }
                out.push(Block::Line(""));
            }
            Block::Details { open, inner, close } => {
                let (inner, d) = drop_charts(inner);
                dropped |= d;
                out.push(Block::Details { open, inner, close });
            }
            other => out.push(other),
        }
    }
    (out, dropped)
}

/// The cells of a table row, split on `|` that are not escaped.
fn cells(row: &str) -> Vec<&str> {
    let t = row.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t
        .strip_suffix('|')
        .filter(|s| !s.ends_with('\\'))
        .unwrap_or(t);
    let mut cells = Vec::new();
    let mut start = 0;
    let bytes = t.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'|' && (i == 0 || bytes[i - 1] != b'\\') {
            cells.push(t[start..i].trim());
            start = i + 1;
        }
    }
    cells.push(t[start..].trim());
    cells
}

/// Drops the rows of tables with a `Status` column whose status ends in "pass".
fn drop_passing_rows<'a>(blocks: Vec<Block<'a>>) -> (Vec<Block<'a>>, bool) {
    let mut dropped = false;
    let out = blocks
        .into_iter()
        .map(|b| match b {
            Block::Table(lines) if lines.len() > 2 => {
                let status = cells(lines[0])
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case("status"));
                let Some(col) = status else {
                    return Block::Table(lines);
                };
                let before = lines.len();
                let kept: Vec<&str> = lines[..2]
                    .iter()
                    .copied()
                    .chain(lines[2..].iter().copied().filter(|row| {
                        !cells(row).get(col).is_some_and(|c| {
                            c.to_ascii_lowercase()
                                .split_whitespace()
                                .last()
                                .is_some_and(|w| w == "pass")
                        })
                    }))
                    .collect();
                dropped |= kept.len() < before;
                Block::Table(kept)
            }
            Block::Details { open, inner, close } => {
                let (inner, d) = drop_passing_rows(inner);
                dropped |= d;
                Block::Details { open, inner, close }
            }
            other => other,
        })
        .collect();
    (out, dropped)
}

fn drop_details(blocks: Vec<Block<'_>>) -> (Vec<Block<'_>>, bool) {
    let before = blocks.len();
    let out: Vec<Block<'_>> = blocks
        .into_iter()
        .filter(|b| !matches!(b, Block::Details { .. }))
        .collect();
    let dropped = out.len() < before;
    (out, dropped)
}

/// One shrinking stage: the blocks without what it drops, and whether it dropped anything.
type Stage = for<'a> fn(Vec<Block<'a>>) -> (Vec<Block<'a>>, bool);

fn char_len(lines: &[String]) -> usize {
    lines.iter().map(|l| l.chars().count() + 1).sum()
}

/// Caps a comment body below GitHub's 65,536-character limit: shrinks in stages (drop mermaid charts, then
/// passing rows, then the `<details>` block) and never cuts inside a table, a code fence, a `<details>` or the marker;
/// adds a visible "truncated — full report in the job summary" line.
///
/// The result has at most `limit` characters. When the stages are not enough, the body is cut
/// between top-level blocks (a table between rows, keeping its header); the first line, where the
/// marker lives, always stays. A body that fits is returned unchanged.
pub fn fit_body(body: &str, limit: usize) -> String {
    if body.chars().count() <= limit {
        return body.to_owned();
    }
    let lines: Vec<&str> = body.lines().collect();
    let (mut blocks, _) = parse_blocks(&lines, false);
    let mut left_out: Vec<&str> = Vec::new();
    let note = |left_out: &[&str]| {
        let what = if left_out.is_empty() {
            String::new()
        } else {
            format!(" (left out: {})", left_out.join(", "))
        };
        vec![String::new(), format!("> ✂️ {TRUNCATION_NOTE}{what}.")]
    };
    let stages: [(&str, Stage); 3] = [
        ("charts", drop_charts),
        ("passing rows", drop_passing_rows),
        ("details", drop_details),
    ];
    for (name, stage) in stages {
        let (next, dropped) = stage(blocks);
        blocks = next;
        if dropped {
            left_out.push(name);
        }
        let mut out = Vec::new();
        render_blocks(&blocks, &mut out);
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        let tail = note(&left_out);
        if char_len(&out) + char_len(&tail) <= limit {
            out.extend(tail);
            return out.join("\n");
        }
    }

    // Still too long: keep whole top-level blocks while they fit.
    left_out.push("the rest");
    let tail = note(&left_out);
    let room = limit.saturating_sub(char_len(&tail));
    let mut out: Vec<String> = Vec::new();
    let mut used = 0;
    for (i, b) in blocks.iter().enumerate() {
        let mut lines = Vec::new();
        render_blocks(std::slice::from_ref(b), &mut lines);
        let size = char_len(&lines);
        if used + size <= room {
            used += size;
            out.extend(lines);
            continue;
        }
        if let Block::Table(rows) = b {
            let head: Vec<String> = rows.iter().take(2).map(|r| (*r).to_owned()).collect();
            if rows.len() > 2 && used + char_len(&head) <= room {
                used += char_len(&head);
                out.extend(head);
                for row in &rows[2..] {
                    let n = row.chars().count() + 1;
                    if used + n > room {
                        break;
                    }
                    used += n;
                    out.push((*row).to_owned());
                }
            }
        }
        if i == 0 && out.is_empty() {
            // A first line longer than the limit itself: keep what fits of it.
            out.push(lines[0].chars().take(room.saturating_sub(1)).collect());
        }
        break;
    }
    out.extend(tail);
    let text = out.join("\n");
    if text.chars().count() <= limit {
        text
    } else {
        text.chars().take(limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::{BaselineVerdict, MetricVerdict, Status, Verdict};
    use crate::model::Unit;
    use crate::render::Template;
    use crate::stats::{Call, Method};

    const CHARTED: &str = "<!-- perfgate:gate=prod -->
### ❌ perfgate `prod`: **fail**

| Metric | Value | Status |
|:--|--:|:--|
| API P95 | 107 ms | 📈 regression |
| API P99 | 118 ms | ✅ pass |

<details><summary>Details</summary>

- **api**: artillery

**API P95** over the baseline runs:

```mermaid
xychart-beta
    line [77.2, 107]
```
</details>";

    #[test]
    fn fit_body_drops_charts_with_their_caption_first() {
        let limit = CHARTED.chars().count() - 10;
        let out = fit_body(CHARTED, limit);
        assert!(out.chars().count() <= limit);
        assert!(!out.contains("mermaid") && !out.contains("over the baseline runs"));
        assert!(out.contains("| API P99 | 118 ms | ✅ pass |"), "{out}");
        assert!(out.contains("- **api**: artillery\n\n</details>"), "{out}");
        assert!(out.ends_with(&format!("> ✂️ {TRUNCATION_NOTE} (left out: charts).")));
        assert_eq!(fit_body(CHARTED, CHARTED.len()), CHARTED);
    }

    #[test]
    fn fit_body_then_drops_passing_rows_then_details() {
        let len = |s: &str| s.chars().count();
        let charts_out = fit_body(CHARTED, len(CHARTED) - 10);
        let limit = len(&charts_out) - 1;
        let out = fit_body(CHARTED, limit);
        assert!(len(&out) <= limit);
        assert!(
            !out.contains("API P99") && out.contains("API P95 | 107 ms"),
            "{out}"
        );
        assert!(
            out.contains("<details>") && out.contains("</details>"),
            "{out}"
        );
        assert!(out.contains("left out: charts, passing rows)"), "{out}");

        let limit = len(&out) - 1;
        let out = fit_body(CHARTED, limit);
        assert!(len(&out) <= limit);
        assert!(
            !out.contains("<details>") && !out.contains("</details>"),
            "{out}"
        );
        assert!(
            out.contains("left out: charts, passing rows, details"),
            "{out}"
        );
        assert!(out.starts_with("<!-- perfgate:gate=prod -->\n"));
    }

    #[test]
    fn fit_body_cuts_a_table_between_rows_keeping_its_header() {
        let mut body = String::from("<!-- perfgate:gate=big -->\n| Metric | Status |\n|:--|:--|\n");
        for i in 0..1000 {
            body.push_str(&format!("| metric {i} | ❌ fail |\n"));
        }
        let out = fit_body(&body, 2_000);
        assert!(out.chars().count() <= 2_000);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "<!-- perfgate:gate=big -->");
        assert_eq!(lines[1], "| Metric | Status |");
        let rows = lines.iter().filter(|l| l.starts_with("| metric")).count();
        assert!(rows > 50, "{rows}");
        assert!(lines
            .iter()
            .filter(|l| l.starts_with('|'))
            .all(|l| l.ends_with('|')));
        assert!(out.contains("left out: the rest"), "{out}");
    }

    // The stages below run on the real default template's output (templates/comment.md.j2),
    // rendered from a verdict through the same code path as `check`: if the template renames its
    // `Status` column or the word `pass`, or stops captioning charts with a line ending in `:`, a
    // stage stops firing and these tests say which.

    /// A verdict of `n` metrics against a 3-run baseline: even ones pass, odd ones regressed (and
    /// so get a chart in the details).
    fn verdict(n: usize) -> Verdict {
        let metric = |i: usize| {
            let regressed = i % 2 == 1;
            let value = if regressed { 130.0 } else { 101.0 };
            MetricVerdict {
                id: format!("api.p95_{i}"),
                rule: format!("api.p95_{i}"),
                page: None,
                label: format!("API P95 endpoint {i}"),
                unit: Unit::Ms,
                value,
                samples: vec![value],
                runs: 1,
                target: None,
                critical: None,
                budget_status: Status::Pass,
                status: if regressed {
                    Status::Fail
                } else {
                    Status::Pass
                },
                baseline: Some(BaselineVerdict {
                    value: 100.0,
                    change: Some(value / 100.0 - 1.0),
                    tested_change: None,
                    regression: regressed,
                    significant: regressed,
                    p_value: Some(if regressed { 0.001 } else { 0.6 }),
                    runs: 3,
                    method: Method::PredictionInterval,
                    call: if regressed {
                        Call::Regression
                    } else {
                        Call::NoChange
                    },
                    cv: Some(0.02),
                    detectable: Some(0.08),
                    runs_needed: None,
                    slack: 0.1,
                    history: vec![98.0, 100.0, 102.0],
                    left_out: 0,
                    environment: Vec::new(),
                    pairs: None,
                    history_commits: Vec::new(),
                }),
                waiver: None,
                creep: None,
                line: 10 + i,
            }
        };
        Verdict {
            gate: "prod".into(),
            verdict: Status::Fail,
            metrics: (0..n).map(metric).collect(),
            baseline_runs: 3,
            warnings: Vec::new(),
            baseline_source: None,
            against: Vec::new(),
        }
    }

    fn comment(n: usize) -> String {
        Template::default_comment()
            .expect("the default template compiles")
            .render(&verdict(n), &[])
            .expect("renders")
    }

    fn len(s: &str) -> usize {
        s.chars().count()
    }

    /// The rows of the comment's results table (the one with a `Status` column).
    fn result_rows(body: &str) -> Vec<&str> {
        body.lines()
            .skip_while(|l| !(l.starts_with("| Metric |") && l.contains("| Status |")))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .collect()
    }

    #[test]
    fn the_real_comment_loses_its_charts_first() {
        let body = comment(40);
        assert_eq!(body.matches("```mermaid").count(), 20, "{body}");
        assert_eq!(body.matches("over the baseline runs (").count(), 20);
        assert_eq!(result_rows(&body).len(), 40, "{body}");

        let out = fit_body(&body, len(&body) - 1);
        assert!(len(&out) < len(&body));
        assert!(!out.contains("mermaid") && !out.contains("over the baseline runs"));
        assert_eq!(result_rows(&out).len(), 40, "{out}");
        assert!(out.contains("<details>") && out.contains("</details>"));
        assert!(out.ends_with(&format!("> ✂️ {TRUNCATION_NOTE} (left out: charts).")));
    }

    #[test]
    fn the_real_comment_then_loses_its_passing_rows() {
        let body = comment(40);
        let charts_out = fit_body(&body, len(&body) - 1);
        let out = fit_body(&body, len(&charts_out) - 1);
        assert!(out.ends_with("(left out: charts, passing rows)."), "{out}");
        let rows = result_rows(&out);
        assert_eq!(rows.len(), 20, "{out}");
        assert!(
            rows.iter().all(|r| r.ends_with("📈 regression |")),
            "{rows:?}"
        );
        assert!(
            out.contains("| API P95 endpoint 1 | 130\u{a0}ms |"),
            "{out}"
        );
        assert!(
            !out.contains("| API P95 endpoint 0 | 101\u{a0}ms |"),
            "{out}"
        );
        assert!(out.contains("<details>") && out.contains("</details>"));
    }

    #[test]
    fn the_real_comment_then_loses_its_details() {
        let body = comment(40);
        let charts_out = fit_body(&body, len(&body) - 1);
        let rows_out = fit_body(&body, len(&charts_out) - 1);
        let out = fit_body(&body, len(&rows_out) - 1);
        assert!(
            out.ends_with("(left out: charts, passing rows, details)."),
            "{out}"
        );
        assert!(!out.contains("<details>") && !out.contains("</details>"));
        assert_eq!(result_rows(&out).len(), 20, "{out}");
        assert!(out.starts_with("<!-- perfgate:gate=prod -->\n### ❌ perfgate `prod`"));
    }

    #[test]
    fn the_real_comment_is_cut_between_rows_last() {
        let body = comment(400);
        let limit = 4_000;
        let out = fit_body(&body, limit);
        assert!(len(&out) <= limit && len(&body) > 10 * limit);
        assert!(
            out.ends_with("(left out: charts, passing rows, details, the rest)."),
            "{out}"
        );
        let rows = result_rows(&out);
        assert!(rows.len() > 10 && rows.len() < 200, "{}", rows.len());
        assert!(
            rows.iter().all(|r| r.ends_with("📈 regression |")),
            "{rows:?}"
        );
        assert!(out.starts_with("<!-- perfgate:gate=prod -->\n"));
        assert!(out.contains("| Metric | Value | Baseline | Change | Target | Critical | Status |"));
    }
}
