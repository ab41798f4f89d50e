//! The pull-request comment as GitHub renders it: the markdown `check` prints is parsed by a GFM
//! renderer (pulldown-cmark with tables), and what a reviewer would see is checked on the parsed
//! document, not on the text: one table row per metric, no cell that may wrap between a number and
//! its unit or a sign and its number, no HTML beyond the comment's own tags, and every mermaid
//! block valid by mermaid's xychart grammar (packages/mermaid/src/diagrams/xychart/parser/
//! xychart.jison) with the data the chart claims to show.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

fn perfgate(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::cargo_bin("perfgate").expect("binary");
    for (var, _) in std::env::vars() {
        if var.starts_with("GITHUB_") || var.starts_with("PERFGATE_") || var.starts_with("CI_") {
            cmd.env_remove(var);
        }
    }
    let out = cmd.current_dir(dir).args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "perfgate {args:?}: {stderr}"
    );
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8"),
    )
}

/// A table as rendered: its header cells and its rows' cells, as text.
#[derive(Debug)]
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// What the renderer made of a comment.
#[derive(Debug, Default)]
struct Rendered {
    tables: Vec<Table>,
    /// The text of each fenced block whose info string is `mermaid`.
    mermaid: Vec<String>,
    /// Every raw HTML the renderer passes through, block or inline.
    html: Vec<String>,
}

fn render(markdown: &str) -> Rendered {
    let mut out = Rendered::default();
    let mut table: Option<Table> = None;
    let mut row: Option<Vec<String>> = None;
    let mut cell: Option<String> = None;
    let mut code: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(_)) => {
                table = Some(Table {
                    header: Vec::new(),
                    rows: Vec::new(),
                })
            }
            Event::End(TagEnd::Table) => out.tables.extend(table.take()),
            Event::Start(Tag::TableHead | Tag::TableRow) => row = Some(Vec::new()),
            Event::End(TagEnd::TableHead) => {
                let t = table.as_mut().expect("a head inside a table");
                t.header = row.take().expect("a head");
            }
            Event::End(TagEnd::TableRow) => {
                let t = table.as_mut().expect("a row inside a table");
                t.rows.push(row.take().expect("a row"));
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                row.as_mut()
                    .expect("a cell inside a row")
                    .push(cell.take().expect("a cell"));
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) if &*info == "mermaid" => {
                code = Some(String::new())
            }
            Event::End(TagEnd::CodeBlock) => out.mermaid.extend(code.take()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                } else if let Some(c) = code.as_mut() {
                    c.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                assert!(cell.is_none(), "a line break inside a table cell");
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                assert!(cell.is_none(), "HTML inside a table cell: {h}");
                out.html.push(h.trim().to_string());
            }
            _ => {}
        }
    }
    out
}

/// The columns whose cells are numbers with units, signs and operators.
const NUMBER_COLUMNS: &[&str] = &[
    "Value", "Baseline", "Change", "Target", "Critical", "Values",
];

/// Where a cell could wrap between a number and its unit ("62.1 / ms") or a sign or an operator
/// and its number ("▲ / 124.6 %", "< / 300 ms"): a plain space there.
fn breakable(cell: &str) -> Option<String> {
    let chars: Vec<char> = cell.chars().collect();
    chars.windows(3).find_map(|w| {
        let number_unit = w[0].is_ascii_digit() && w[2] != '(' && !w[2].is_ascii_digit();
        let sign_number = matches!(w[0], '▲' | '▼' | '<' | '>' | '=') && w[2].is_ascii_digit();
        (w[1] == ' ' && (number_unit || sign_number)).then(|| w.iter().collect())
    })
}

/// The checks every rendered comment passes; `metrics` is how many metrics the verdict has.
fn check_comment(markdown: &str, metrics: usize, what: &str) -> Rendered {
    let r = render(markdown);
    let allowed = [
        "<sub>",
        "</sub>",
        "<details><summary>Details</summary>",
        "</details>",
    ];
    for h in &r.html {
        assert!(
            allowed.contains(&h.as_str()) || h.starts_with("<!-- perfgate:gate="),
            "{what}: HTML the template does not write: {h}"
        );
    }
    let results = r
        .tables
        .iter()
        .find(|t| t.column("Status").is_some())
        .unwrap_or_else(|| panic!("{what}: no results table"));
    let details = r
        .tables
        .iter()
        .find(|t| t.column("Budget line").is_some())
        .unwrap_or_else(|| panic!("{what}: no details table"));
    for t in [results, details] {
        assert_eq!(t.rows.len(), metrics, "{what}: one row per metric: {t:?}");
        for row in &t.rows {
            assert_eq!(row.len(), t.header.len(), "{what}: {row:?}");
        }
        for name in NUMBER_COLUMNS {
            let Some(col) = t.column(name) else { continue };
            for row in &t.rows {
                if let Some(at) = breakable(&row[col]) {
                    panic!("{what}: the {name} cell {:?} may wrap at {at:?}", row[col]);
                }
            }
        }
    }
    // The runs' values where a metric has several, nothing where it has one, and no column of
    // nothing.
    let runs = details.column("Runs").expect("a Runs column");
    let several = details.rows.iter().any(|row| row[runs] != "1");
    match details.column("Values") {
        Some(values) => {
            assert!(several, "{what}: a Values column without values");
            for row in &details.rows {
                assert_eq!(row[values].is_empty(), row[runs] == "1", "{what}: {row:?}");
            }
        }
        None => assert!(!several, "{what}: several runs' values not shown"),
    }
    for chart in &r.mermaid {
        check_xychart(chart).unwrap_or_else(|e| panic!("{what}: {e}\n{chart}"));
    }
    r
}

/// One token of mermaid's xychart lexer, as far as the statements perfgate writes use it.
fn number(s: &str) -> Result<f64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    // `[+-]?(?:\d+(?:\.\d+)?|\.\d+)`: no exponent, no trailing point.
    let ok = if digits.contains('.') {
        (int.is_empty() || all_digits(int)) && all_digits(frac)
    } else {
        all_digits(int)
    };
    if !ok {
        return Err(format!("{s:?} is no NUMBER_WITH_DECIMAL"));
    }
    s.parse().map_err(|e| format!("{s:?}: {e}"))
}

/// A `[...]` list of the lexer's `data_inner` state: numbers separated by commas.
fn numbers(s: &str) -> Result<Vec<f64>, String> {
    let inner = s
        .trim()
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or(format!("{s:?} is no [list]"))?;
    inner.split(',').map(|n| number(n.trim())).collect()
}

/// A quoted text (the lexer's `string` state: anything but a quote).
fn quoted(s: &str) -> Result<(&str, &str), String> {
    let rest = s
        .trim_start()
        .strip_prefix('"')
        .ok_or(format!("{s:?} is no quoted text"))?;
    rest.split_once('"')
        .ok_or(format!("{s:?}: the quote is never closed"))
}

/// The chart checked against the grammar of mermaid's xychart (the statements `title text`,
/// `x-axis [texts]`, `y-axis text min --> max`, `bar [numbers]`, `line [numbers]`) and against
/// what it claims: an init directive whose palette colours every series, one value per x label,
/// labels that are unique (mermaid merges equal ones), every value inside the y range, a line
/// through the history and this run, and flat lines at this run, the threshold and the target.
fn check_xychart(chart: &str) -> Result<(), String> {
    let mut lines = chart.lines().map(str::trim).filter(|l| !l.is_empty());
    let init = lines.next().ok_or("an empty chart")?;
    let directive = init
        .strip_prefix("%%{init:")
        .and_then(|s| s.strip_suffix("}%%"))
        .ok_or(format!("no init directive: {init}"))?;
    let config: serde_json::Value =
        serde_json::from_str(directive).map_err(|e| format!("the init directive: {e}"))?;
    let palette: Vec<String> = config["themeVariables"]["xyChart"]["plotColorPalette"]
        .as_str()
        .ok_or("no xyChart plotColorPalette")?
        .split(',')
        .map(|c| c.trim().to_string())
        .collect();
    for c in &palette {
        let hex = c.strip_prefix('#').ok_or(format!("colour {c}"))?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("colour {c}"));
        }
    }
    if lines.next() != Some("xychart-beta") {
        return Err("no xychart-beta line after the directive".into());
    }
    let (mut labels, mut range, mut series) = (None, None, Vec::new());
    for line in lines {
        let (keyword, rest) = line.split_once(' ').ok_or(format!("statement {line:?}"))?;
        match keyword {
            "title" => {
                let (_, after) = quoted(rest)?;
                if !after.trim().is_empty() {
                    return Err(format!("after the title: {after:?}"));
                }
            }
            "x-axis" => {
                let inner = rest
                    .trim()
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .ok_or(format!("x-axis {rest:?}"))?;
                let mut texts = Vec::new();
                let mut left = inner;
                loop {
                    let (text, after) = quoted(left)?;
                    texts.push(text.to_string());
                    match after.trim_start().strip_prefix(',') {
                        Some(more) => left = more,
                        None if after.trim().is_empty() => break,
                        None => return Err(format!("x-axis: {after:?}")),
                    }
                }
                labels = Some(texts);
            }
            "y-axis" => {
                let (_, after) = quoted(rest)?;
                let (min, max) = after
                    .split_once("-->")
                    .ok_or(format!("y-axis without min --> max: {after:?}"))?;
                range = Some((number(min.trim())?, number(max.trim())?));
            }
            "bar" | "line" => series.push((keyword, numbers(rest)?)),
            _ => return Err(format!("no such statement: {line:?}")),
        }
    }
    let labels = labels.ok_or("no x-axis")?;
    let (min, max) = range.ok_or("no y-axis range")?;
    if labels.iter().collect::<BTreeSet<_>>().len() != labels.len() {
        return Err(format!("x labels repeat: {labels:?}"));
    }
    if labels.last().map(String::as_str) != Some("now") {
        return Err(format!("the last x label is not this run: {labels:?}"));
    }
    if min >= max {
        return Err(format!("y range {min} --> {max}"));
    }
    if series.len() > palette.len() || series.len() < 3 {
        return Err(format!(
            "{} series, {} colours",
            series.len(),
            palette.len()
        ));
    }
    for (kind, values) in &series {
        if values.len() != labels.len() {
            return Err(format!(
                "a {kind} of {} values on {} labels",
                values.len(),
                labels.len()
            ));
        }
        if let Some(v) = values.iter().find(|v| !(min..=max).contains(*v)) {
            return Err(format!("{v} outside {min} --> {max}"));
        }
    }
    let (kind, history) = &series[0];
    let now = history[history.len() - 1];
    if *kind != "line" || series[1].1.iter().any(|v| *v != now) {
        return Err(format!(
            "no line through the history and this run, then one at this run: {series:?}"
        ));
    }
    for (kind, flat) in &series[1..] {
        if *kind != "line" || flat.iter().any(|v| *v != flat[0]) {
            return Err(format!("a reference that is not a flat line: {flat:?}"));
        }
    }
    Ok(())
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn metric_count(dir: &Path, args: &[&str]) -> usize {
    let (_, json) = perfgate(dir, &[args, &["--format", "json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON verdict");
    v["metrics"].as_array().expect("metrics").len()
}

#[test]
fn every_shipped_comment_renders_as_a_reviewer_reads_it() {
    let mut budgets = vec![("budgets/prod.toml".to_string(), None)];
    for case in std::fs::read_dir(root().join("tests/cases")).expect("cases") {
        let case = case.expect("case").path();
        let name = case
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let baseline = case.join("baseline.json");
        budgets.push((
            format!("tests/cases/{name}/budget.toml"),
            baseline
                .exists()
                .then(|| format!("tests/cases/{name}/baseline.json")),
        ));
    }
    let mut charts = 0;
    for (budget, baseline) in &budgets {
        let mut args = vec!["check", "--budget", budget.as_str()];
        if let Some(b) = baseline {
            args.extend(["--baseline", b.as_str()]);
        }
        let n = metric_count(root(), &args);
        let (_, markdown) = perfgate(root(), &[&args[..], &["--format", "markdown"]].concat());
        charts += check_comment(&markdown, n, budget).mermaid.len();
    }
    assert!(
        charts >= 2,
        "the regressed and inconclusive metrics' charts"
    );
}

/// A commit id for the `i`-th baseline run.
fn sha(i: usize) -> String {
    format!("{:07x}{}", 0xa1b2c00 + i, "0".repeat(33))
}

/// Ten metrics of every kind, eight runs of history recorded by `baseline update` with their
/// commits, then a run where the API got slower: the table a reviewer gets at GitHub's comment
/// width, and the chart that shows which merge the history ends at.
#[test]
fn a_ten_metric_comment_with_history_renders_with_unbroken_cells_and_a_readable_chart() {
    let dir = tempfile::tempdir().expect("temp dir");
    // (name, unit, target, critical, usual value)
    let rules: [(&str, &str, &str, &str, f64); 10] = [
        ("api_p95", "ms", "< 200ms", "< 300ms", 113.0),
        ("api_p99", "ms", "< 500ms", "< 1s", 160.0),
        ("db_p95", "ms", "< 80ms", "< 100ms", 62.1),
        ("checkout_p95", "ms", "< 2s", "< 4s", 1240.0),
        ("error_rate", "%", "< 1%", "< 2%", 0.12),
        ("cache_hit", "%", "> 80%", "> 60%", 84.1),
        ("throughput", "/s", "> 900/s", "> 500/s", 1250.0),
        ("score", "", "> 90", "> 70", 92.0),
        ("bundle", "B", "< 400KB", "< 600KB", 135_000.0),
        ("vendor", "B", "< 300KiB", "< 400KiB", 260_000.0),
    ];
    let mut budget = String::from(
        "[gate]\nname = \"wide\"\n[sources.bench]\nformat = \"json\"\npath = \"bench.json\"\n",
    );
    for (name, _, target, critical, _) in &rules {
        let _ = write!(
            budget,
            "[[budget]]\nmetric = \"bench.{name}\"\nlabel = \"{}\"\ntarget = \"{target}\"\ncritical = \"{critical}\"\n",
            name.replace('_', " ")
        );
    }
    std::fs::write(dir.path().join("budget.toml"), budget).expect("budget");
    let report = |scale: &dyn Fn(usize) -> f64| {
        let metrics: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, (name, unit, _, _, usual))| {
                format!(
                    "\"{name}\": {{\"value\": {}, \"unit\": \"{unit}\"}}",
                    usual * scale(i)
                )
            })
            .collect();
        std::fs::write(
            dir.path().join("bench.json"),
            format!(
                "{{\"schema\": \"perfgate/metrics@1\", \"metrics\": {{{}}}}}",
                metrics.join(", ")
            ),
        )
        .expect("report");
    };
    for run in 0..8 {
        // A deterministic wobble of up to ±2 % per metric and run.
        report(&|i| 1.0 + (((run * 7 + i * 3) % 9) as f64 - 4.0) / 200.0);
        let commit = sha(run);
        perfgate(
            dir.path(),
            &[
                "baseline",
                "update",
                "--budget",
                "budget.toml",
                "--commit",
                &commit,
            ],
        );
    }
    // The API P95 from 113 ms to 185 ms, the rest as usual.
    report(&|i| if i == 0 { 185.0 / 113.0 } else { 1.0 });
    let args = ["check", "--budget", "budget.toml"];
    let n = metric_count(dir.path(), &args);
    assert_eq!(n, 10);
    let (code, markdown) = perfgate(dir.path(), &[&args[..], &["--format", "markdown"]].concat());
    assert_eq!(code, 1, "{markdown}");
    let r = check_comment(&markdown, n, "ten metrics");

    let results = r
        .tables
        .iter()
        .find(|t| t.column("Status").is_some())
        .expect("results");
    let row = &results.rows[0];
    assert_eq!(row[0], "api p95", "{row:?}");
    assert_eq!(row[1], "185\u{a0}ms");
    assert_eq!(row[4], "<\u{a0}200\u{a0}ms");
    assert!(row[3].starts_with("▲\u{a0}"), "{row:?}");
    let vendor = results
        .rows
        .iter()
        .find(|r| r[0] == "vendor")
        .expect("vendor");
    assert!(vendor[4].ends_with("\u{a0}KiB"), "{vendor:?}");

    assert_eq!(r.mermaid.len(), 1, "{markdown}");
    let chart = &r.mermaid[0];
    let labels: Vec<String> = (0..8).map(|i| format!("\"{}\"", &sha(i)[..7])).collect();
    assert!(
        chart.contains(&format!("x-axis [{}, \"now\"]", labels.join(", "))),
        "{chart}"
    );
    // The threshold is the history's median plus the 10 % slack; 200 ms, the target, is in range.
    let flat = |v: &str| format!("line [{}]", [v; 9].join(", "));
    assert!(chart.contains(&flat("200")), "{chart}");
    assert!(chart.contains("y-axis \"ms\" "), "{chart}");
    assert!(
        markdown.contains("**api p95** over the baseline runs (blue line: the baseline runs, then this run; violet line: this run, 185 ms; red line: the regression threshold, "),
        "{markdown}"
    );
    assert!(
        markdown.contains("grey line: the target, < 200 ms):"),
        "{markdown}"
    );
    assert!(
        markdown.contains(
            "- **api p95**: 63.3 % slower than usual, beyond the 10 % slack; p < 0.001. Method: "
        ),
        "{markdown}"
    );
}

#[test]
fn the_checker_refuses_what_mermaid_would() {
    let good = "%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"#1f6feb, #8250df, #da3633\"}}}}%%\n\
                xychart-beta\n    title \"API P95\"\n    x-axis [\"a1b2c3d\", \"now\"]\n    y-axis \"ms\" 100 --> 200\n    \
                line [113, 185]\n    line [185, 185]\n    line [124.3, 124.3]";
    assert_eq!(check_xychart(good), Ok(()));
    for (from, to) in [
        ("line [113, 185]", "line [1.13e2, 185]"),
        ("line [113, 185]", "line [113]"),
        ("\"a1b2c3d\"", "\"now\""),
        ("line [185, 185]", "line [184, 185]"),
        ("line [113, 185]", "bar [113, 185]"),
        ("100 --> 200", "150 --> 200"),
        ("line [124.3, 124.3]", "line [124.3, 125]"),
        ("title \"API P95\"", "title \"API \"P95\""),
        ("#da3633", "red"),
        ("#8250df, #da3633", "#8250df"),
        ("xychart-beta", "xychart-gamma"),
    ] {
        let bad = good.replacen(from, to, 1);
        assert!(check_xychart(&bad).is_err(), "{bad}");
    }
    assert_eq!(breakable("62.1 ms"), Some("1 m".into()));
    assert_eq!(breakable("▲ 124.6 %"), Some("▲ 1".into()));
    assert_eq!(breakable("< 300 ms"), Some("< 3".into()));
    assert_eq!(
        breakable("▲\u{a0}3.9\u{a0}% (tested\u{a0}▲\u{a0}5.1\u{a0}%)"),
        None
    );
    assert_eq!(breakable("201\u{a0}ms, 212\u{a0}ms"), None);
}
