//! The budget file: TOML → raw sections → a validated [`Budget`].
//!
//! The one rule (cargo-deny's): read in two phases, deserialize each section, then validate the whole
//! file, and report every problem at once, each with the key it is about, so one edit-run cycle
//! fixes them all.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::derive::Expr;
use crate::ingest::{Files, Format, Location, SourceSpec, Wanted};
use crate::model::{is_plain_name, Op, Quantity, Unit};

/// A validated budget.
#[derive(Debug)]
pub struct Budget {
    /// The file it was read from.
    pub path: PathBuf,
    pub gate: Gate,
    /// Source name → where and how to read it, in name order.
    pub sources: BTreeMap<String, SourceSpec>,
    /// The rules in file order.
    pub rules: Vec<Rule>,
}

/// The `[gate]` table.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Names the PR comment's marker and the default baseline file.
    pub name: String,
    /// Allowed slack before a change counts as a regression, as a fraction (0.10 = 10 %).
    pub regression: f64,
    /// Confidence required before a regression is called (0.5 < c < 1).
    pub confidence: f64,
    pub on_regression: OnRegression,
    /// `baseline = "required"`: a missing baseline, or a metric without history, stops the check
    /// (exit 2) instead of judging the budget alone.
    pub baseline_required: bool,
    /// A baseline whose newest run is older than this is a warning in the verdict.
    pub max_age: Option<Duration>,
}

/// What a significant regression does to the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRegression {
    Fail,
    Warn,
}

/// One `[[budget]]` rule.
#[derive(Debug)]
pub struct Rule {
    /// The metric id as written: `<source>.<metric>` or a derived metric's own name.
    pub id: String,
    /// What the reviewer reads; the id when the budget gives no label.
    pub label: String,
    pub input: RuleInput,
    /// The unit the budget declares for a plain-number metric (a derived expression, a PromQL
    /// result), with the factor that converts the number to the unit's canonical scale.
    pub declared_unit: Option<(Unit, f64)>,
    pub target: Option<Threshold>,
    pub critical: Option<Threshold>,
    /// Changes smaller than this (absolute, in the metric's canonical unit) are never regressions.
    pub min_change: Option<f64>,
    /// Per-rule `[gate]` overrides, resolved: fraction, confidence, action.
    pub regression: f64,
    pub confidence: f64,
    pub on_regression: OnRegression,
    /// 1-based line of the rule's `[[budget]]` header in the budget file.
    pub line: usize,
}

/// Where a rule's value comes from.
#[derive(Debug)]
pub enum RuleInput {
    /// A metric of one source: `(source name, metric name inside the source)`.
    Source { source: String, metric: String },
    /// An expression over the sources' metrics.
    Derived(Expr),
}

/// A limit: `value <op> limit` holds when the metric is within it.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub op: Op,
    /// In `unit`'s canonical scale.
    pub value: f64,
    pub unit: Unit,
    /// As the budget wrote it, for messages.
    pub text: String,
    /// The unit as the budget wrote it (`KiB`, `ms`, `%`, `""`), so values can be shown alike.
    pub written_unit: String,
}

impl Rule {
    /// True when lower values are better, from the operator of the target (or the critical).
    pub fn lower_is_better(&self) -> bool {
        self.target
            .as_ref()
            .or(self.critical.as_ref())
            .is_none_or(|t| t.op.lower_is_better())
    }

    /// The unit the rule's thresholds are written in.
    pub fn threshold_unit(&self) -> Option<Unit> {
        self.target
            .as_ref()
            .or(self.critical.as_ref())
            .map(|t| t.unit)
    }
}

/// The metrics of `source` that the rules read: each rule's own metric, and what each expression
/// reads of the source (every metric where that cannot be told, see [`Expr::reads`]).
pub fn wanted(rules: &[Rule], source: &str) -> Wanted {
    let mut wanted = Wanted::none();
    for rule in rules {
        match &rule.input {
            RuleInput::Source { source: s, metric } if s == source => wanted.add(metric),
            RuleInput::Source { .. } => {}
            RuleInput::Derived(expr) => match expr.reads.get(source) {
                Some(Some(metrics)) => metrics.iter().for_each(|m| wanted.add(m)),
                Some(None) => return Wanted::All,
                None => {}
            },
        }
    }
    wanted
}

/// Every problem found in a budget file, each with its key.
#[derive(Debug)]
pub struct Problems {
    pub path: PathBuf,
    pub list: Vec<String>,
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.list.len();
        write!(
            f,
            "{}: {n} problem{} in the budget",
            self.path.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.list {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The biggest budget read: 64 MiB. A real one is a few KB (400 rules with 100 KB labels, a test of
/// the comment's size limit, make 45 MB); the budget comes with the pull request's checkout.
const MAX_BUDGET_BYTES: u64 = 64 * 1024 * 1024;

/// Reads and validates a budget file.
pub fn load_budget(path: &Path) -> Result<Budget> {
    let cannot_read = || format!("{}: cannot read the budget", path.display());
    let file = crate::file::open_regular(path, "budget file")?.with_context(cannot_read)?;
    let text = crate::file::read_text(file, path, MAX_BUDGET_BYTES, "budget", cannot_read)?;
    Ok(parse_budget(path, &text)?)
}

/// Validates budget text; `path` names the file in messages and gives the default gate name.
pub fn parse_budget(path: &Path, text: &str) -> Result<Budget, Problems> {
    let mut p = Vec::new();
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            return Err(Problems {
                path: path.into(),
                list: vec![format!("not valid TOML: {}", e.to_string().trim_end())],
            })
        }
    };
    for key in table.keys() {
        if !matches!(key.as_str(), "gate" | "sources" | "budget") {
            p.push(format!(
                "`{key}`: unknown key (expected `[gate]`, `[sources.<name>]` or `[[budget]]`)"
            ));
        }
    }
    let default_name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "perfgate".into());
    let gate = read_gate(table.get("gate"), &default_name, &mut p);
    let sources = read_sources(table.get("sources"), &mut p);
    // Rules naming a source that is declared but invalid add no problem of their own.
    let declared: Vec<String> = table
        .get("sources")
        .and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    let rules = read_rules(
        table.get("budget"),
        text,
        &gate,
        &sources,
        &declared,
        &mut p,
    );
    if p.is_empty() {
        Ok(Budget {
            path: path.into(),
            gate,
            sources,
            rules,
        })
    } else {
        Err(Problems {
            path: path.into(),
            list: p,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    name: Option<String>,
    regression: Option<String>,
    confidence: Option<f64>,
    on_regression: Option<String>,
    baseline: Option<String>,
    max_age: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    format: Option<String>,
    path: Option<String>,
    files: Option<String>,
    url: Option<String>,
    queries: Option<BTreeMap<String, String>>,
    timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    metric: String,
    label: Option<String>,
    expr: Option<String>,
    unit: Option<String>,
    target: Option<String>,
    critical: Option<String>,
    regression: Option<String>,
    confidence: Option<f64>,
    on_regression: Option<String>,
    min_change: Option<String>,
}

/// Deserializes one section, or records why not under `key`.
fn section<T: serde::de::DeserializeOwned>(
    value: &toml::Value,
    key: &str,
    p: &mut Vec<String>,
) -> Option<T> {
    match value.clone().try_into::<T>() {
        Ok(v) => Some(v),
        Err(e) => {
            let msg = e.to_string();
            p.push(format!("{key}: {}", msg.trim_end()));
            None
        }
    }
}

const DEFAULT_REGRESSION: f64 = 0.10;
const DEFAULT_CONFIDENCE: f64 = 0.95;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn read_gate(value: Option<&toml::Value>, default_name: &str, p: &mut Vec<String>) -> Gate {
    let mut gate = Gate {
        name: default_name.to_string(),
        regression: DEFAULT_REGRESSION,
        confidence: DEFAULT_CONFIDENCE,
        on_regression: OnRegression::Fail,
        baseline_required: false,
        max_age: None,
    };
    let Some(raw) = value.and_then(|v| section::<RawGate>(v, "`gate`", p)) else {
        return gate;
    };
    if let Some(name) = raw.name {
        if !is_plain_name(&name) {
            p.push(format!(
                "`gate.name`: `{name}` must be letters, digits, `-`, `_` or `.` (it names the baseline file)"
            ));
        } else {
            gate.name = name;
        }
    }
    if let Some(r) = raw.regression {
        if let Some(f) = fraction("`gate.regression`", &r, p) {
            gate.regression = f;
        }
    }
    if let Some(c) = raw.confidence {
        if let Some(c) = confidence("`gate.confidence`", c, p) {
            gate.confidence = c;
        }
    }
    if let Some(a) = raw.on_regression {
        if let Some(a) = on_regression("`gate.on_regression`", &a, p) {
            gate.on_regression = a;
        }
    }
    match raw.baseline.as_deref() {
        None | Some("optional") => {}
        Some("required") => gate.baseline_required = true,
        Some(other) => p.push(format!(
            "`gate.baseline`: `{other}` must be \"required\" (a missing baseline or history stops the check) or \"optional\" (the default)"
        )),
    }
    if let Some(age) = raw.max_age {
        match humantime::parse_duration(&age) {
            Ok(d) if !d.is_zero() => gate.max_age = Some(d),
            _ => p.push(format!(
                "`gate.max_age`: `{age}` must be a positive duration such as \"14d\" or \"36h\""
            )),
        }
    }
    gate
}

fn fraction(key: &str, text: &str, p: &mut Vec<String>) -> Option<f64> {
    match Quantity::parse(text) {
        Ok(Quantity {
            value,
            unit: Unit::Percent,
        }) if value >= 0.0 => Some(value / 100.0),
        _ => {
            p.push(format!(
                "{key}: `{text}` must be a percentage such as \"10%\""
            ));
            None
        }
    }
}

fn confidence(key: &str, c: f64, p: &mut Vec<String>) -> Option<f64> {
    if c > 0.5 && c < 1.0 {
        Some(c)
    } else {
        p.push(format!(
            "{key}: {c} must be between 0.5 and 1 (exclusive), e.g. 0.95"
        ));
        None
    }
}

fn on_regression(key: &str, text: &str, p: &mut Vec<String>) -> Option<OnRegression> {
    match text {
        "fail" => Some(OnRegression::Fail),
        "warn" => Some(OnRegression::Warn),
        other => {
            p.push(format!("{key}: `{other}` must be \"fail\" or \"warn\""));
            None
        }
    }
}

/// Source names are expression identifiers (`api['http.requests']`), so they are restricted.
fn valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn read_sources(value: Option<&toml::Value>, p: &mut Vec<String>) -> BTreeMap<String, SourceSpec> {
    let mut out = BTreeMap::new();
    let Some(value) = value else {
        p.push("`sources`: no source declared (add a `[sources.<name>]` table)".into());
        return out;
    };
    let Some(table) = value.as_table() else {
        p.push("`sources`: must be a table of `[sources.<name>]` tables".into());
        return out;
    };
    for (name, v) in table {
        let key = format!("sources.{name}");
        if !valid_identifier(name) {
            p.push(format!(
                "`{key}`: a source name must start with a letter or `_` and hold only letters, digits and `_` (it is used in expressions)"
            ));
            continue;
        }
        let Some(raw) = section::<RawSource>(v, &format!("`{key}`"), p) else {
            continue;
        };
        let format = match raw.format.as_deref() {
            None | Some("auto") => None,
            Some(f) => match Format::from_name(f) {
                Some(f) => Some(f),
                None => {
                    p.push(format!(
                        "`{key}.format`: unknown format `{f}` (expected auto, {})",
                        Format::names()
                    ));
                    continue;
                }
            },
        };
        let timeout = match raw.timeout.as_deref() {
            None => DEFAULT_TIMEOUT,
            Some(t) => match Quantity::parse(t) {
                Ok(Quantity {
                    value,
                    unit: Unit::Ms,
                }) if value > 0.0 => Duration::from_secs_f64(value / 1000.0),
                _ => {
                    p.push(format!(
                        "`{key}.timeout`: `{t}` must be a positive duration such as \"10s\""
                    ));
                    continue;
                }
            },
        };
        let files = match raw.files.as_deref() {
            None => Files::Runs,
            Some(f) => match Files::NAMES.iter().find(|(name, _)| *name == f) {
                Some(&(_, files)) if files == Files::Runs || raw.path.is_some() => files,
                Some(_) => {
                    p.push(format!(
                        "`{key}.files`: `{f}` goes with `path` (files to merge), not a `url`"
                    ));
                    continue;
                }
                None => {
                    p.push(format!(
                        "`{key}.files`: unknown value `{f}` (expected {})",
                        Files::NAMES
                            .iter()
                            .map(|(name, _)| format!("`{name}`"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ));
                    continue;
                }
            },
        };
        let location = match (raw.path, raw.url, raw.queries) {
            (Some(_), Some(_), _) => {
                p.push(format!("`{key}`: give `path` or `url`, not both"));
                continue;
            }
            (None, None, _) => {
                p.push(format!(
                    "`{key}`: needs `path` (a report file or glob) or `url` (a Prometheus server)"
                ));
                continue;
            }
            (Some(_), None, Some(_)) => {
                p.push(format!(
                    "`{key}.queries`: queries go with `url` (a live Prometheus); a saved response is one query"
                ));
                continue;
            }
            (Some(path), None, None) => {
                if path.trim().is_empty() {
                    p.push(format!("`{key}.path`: is empty"));
                    continue;
                }
                Location::Files(path)
            }
            (None, Some(url), queries) => {
                if !matches!(format, None | Some(Format::Prometheus)) {
                    p.push(format!(
                        "`{key}.url`: only the prometheus format reads from a URL"
                    ));
                    continue;
                }
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    p.push(format!("`{key}.url`: must start with http:// or https://"));
                    continue;
                }
                let queries = queries.unwrap_or_default();
                if queries.is_empty() {
                    p.push(format!(
                        "`{key}.queries`: a Prometheus URL needs at least one named query, e.g. `[{key}.queries] p95 = '…'`"
                    ));
                    continue;
                }
                Location::PrometheusApi {
                    url,
                    queries,
                    timeout,
                }
            }
        };
        out.insert(
            name.clone(),
            SourceSpec {
                format,
                location,
                files,
                lenient: false,
                wanted: Wanted::All,
            },
        );
    }
    if out.is_empty() && p.is_empty() {
        p.push("`sources`: no source declared (add a `[sources.<name>]` table)".into());
    }
    out
}

/// 1-based line numbers of the `[[budget]]` headers, in order.
fn rule_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            t.starts_with("[[") && t[2..].trim_start().starts_with("budget") && {
                let rest = t[2..].trim_start()["budget".len()..].trim_start();
                rest.starts_with("]]")
            }
        })
        .map(|(i, _)| i + 1)
        .collect()
}

fn read_rules(
    value: Option<&toml::Value>,
    text: &str,
    gate: &Gate,
    sources: &BTreeMap<String, SourceSpec>,
    declared: &[String],
    p: &mut Vec<String>,
) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    let Some(value) = value else {
        p.push("`budget`: no rule (add a `[[budget]]` table per metric)".into());
        return rules;
    };
    let Some(items) = value.as_array() else {
        p.push("`budget`: must be an array of tables, written `[[budget]]`".into());
        return rules;
    };
    let lines = rule_lines(text);
    let mut seen: Vec<String> = Vec::new();
    for (i, v) in items.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(0);
        let at = if line > 0 {
            format!("`budget[{}]` (line {line})", i + 1)
        } else {
            format!("`budget[{}]`", i + 1)
        };
        let Some(raw) = section::<RawRule>(v, &at, p) else {
            continue;
        };
        let key = RuleKey {
            index: i + 1,
            line,
            metric: raw.metric.clone(),
        };
        if seen.contains(&raw.metric) {
            p.push(format!(
                "{}: the metric is budgeted twice; keep one rule per metric",
                key.whole()
            ));
            continue;
        }
        seen.push(raw.metric.clone());
        if let Some(rule) = read_rule(raw, &key, gate, sources, declared, p) {
            rules.push(rule);
        }
    }
    rules
}

/// Names a rule and its fields in messages: "`budget[2].target` (metric `api.p95`, line 14)".
struct RuleKey {
    index: usize,
    line: usize,
    metric: String,
}

impl RuleKey {
    fn whole(&self) -> String {
        self.field("")
    }

    fn field(&self, field: &str) -> String {
        let dot = if field.is_empty() { "" } else { "." };
        let line = if self.line > 0 {
            format!(", line {}", self.line)
        } else {
            String::new()
        };
        format!(
            "`budget[{}]{dot}{field}` (metric `{}`{line})",
            self.index, self.metric
        )
    }
}

fn read_rule(
    raw: RawRule,
    key: &RuleKey,
    gate: &Gate,
    sources: &BTreeMap<String, SourceSpec>,
    declared: &[String],
    p: &mut Vec<String>,
) -> Option<Rule> {
    let before = p.len();
    let input = match &raw.expr {
        Some(expr) => match Expr::compile(expr, sources.keys()) {
            Ok(e) => Some(RuleInput::Derived(e)),
            Err(e) => {
                p.push(format!("{}: {e}", key.field("expr")));
                None
            }
        },
        None => match raw.metric.split_once('.') {
            Some((source, metric)) if sources.contains_key(source) && !metric.is_empty() => {
                Some(RuleInput::Source {
                    source: source.to_string(),
                    metric: metric.to_string(),
                })
            }
            Some((source, _)) if declared.iter().any(|d| d == source) => None,
            _ => {
                let names: Vec<&str> = declared.iter().map(String::as_str).collect();
                p.push(format!(
                    "{}: must be `<source>.<metric>` with a declared source ({}), or the rule needs an `expr`",
                    key.field("metric"),
                    if names.is_empty() { "none declared".to_string() } else { names.join(", ") }
                ));
                None
            }
        },
    };
    let declared_unit = match raw.unit.as_deref() {
        None => None,
        Some(u) => match Unit::parse_scaled(u) {
            Some(s) => Some(s),
            None => {
                p.push(format!(
                    "{}: unknown unit `{u}` (expected us, ms, s, B, KB, KiB, MB, MiB, %, /s or \"\")",
                    key.field("unit")
                ));
                None
            }
        },
    };
    let target = raw
        .target
        .as_deref()
        .and_then(|t| threshold(&key.field("target"), t, p));
    let critical = raw
        .critical
        .as_deref()
        .and_then(|t| threshold(&key.field("critical"), t, p));
    let (target, critical) = match (target, critical) {
        (None, None) if raw.target.is_none() && raw.critical.is_none() => {
            p.push(format!(
                "{}: needs a `target` (missed = warn) and/or a `critical` (breached = fail)",
                key.whole()
            ));
            (None, None)
        }
        (Some(t), Some(c)) => check_pair(key, t, c, p),
        (t, c) => {
            for (name, th) in [("target", &t), ("critical", &c)] {
                if let Some(th) = th {
                    if th.op.is_none() {
                        p.push(format!(
                            "{}: `{}` needs an operator to say which way is better, e.g. \"< {}\"",
                            key.field(name),
                            th.text,
                            th.text
                        ));
                    }
                }
            }
            (t.and_then(Parsed::finish), c.and_then(Parsed::finish))
        }
    };
    if let (Some((unit, _)), Some(th)) = (declared_unit, target.as_ref().or(critical.as_ref())) {
        if !units_agree(unit, th.unit) {
            p.push(format!(
                "{}: `unit = \"{}\"` is {} but the thresholds are {}",
                key.whole(),
                raw.unit.as_deref().unwrap_or_default(),
                unit.kind_name(),
                th.unit.kind_name()
            ));
        }
    }
    let min_change = raw.min_change.as_deref().and_then(|m| {
        let at = key.field("min_change");
        let q = match Quantity::parse(m) {
            Ok(q) if q.value >= 0.0 => q,
            Ok(_) => {
                p.push(format!("{at}: `{m}` must not be negative"));
                return None;
            }
            Err(e) => {
                p.push(format!("{at}: {e}"));
                return None;
            }
        };
        let expected = target.as_ref().or(critical.as_ref()).map(|t| t.unit);
        match expected {
            Some(u) if !units_agree(u, q.unit) => {
                p.push(format!(
                    "{at}: `{m}` is {} but the thresholds are {}",
                    q.unit.kind_name(),
                    u.kind_name()
                ));
                None
            }
            _ => Some(q.value),
        }
    });
    let regression = match raw.regression.as_deref() {
        Some(r) => fraction(&key.field("regression"), r, p).unwrap_or(gate.regression),
        None => gate.regression,
    };
    let confidence = match raw.confidence {
        Some(c) => self::confidence(&key.field("confidence"), c, p).unwrap_or(gate.confidence),
        None => gate.confidence,
    };
    let on_regression = match raw.on_regression.as_deref() {
        Some(a) => {
            self::on_regression(&key.field("on_regression"), a, p).unwrap_or(gate.on_regression)
        }
        None => gate.on_regression,
    };
    if p.len() > before || input.is_none() {
        return None;
    }
    Some(Rule {
        label: raw
            .label
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| raw.metric.clone()),
        id: raw.metric,
        input: input?,
        declared_unit,
        target,
        critical,
        min_change,
        regression,
        confidence,
        on_regression,
        line: key.line,
    })
}

/// Whether a value in `metric` unit can be compared with a threshold written in `threshold` unit.
/// A bare number is accepted for rates, which users write without `/s`.
pub fn units_agree(metric: Unit, threshold: Unit) -> bool {
    metric == threshold || (metric == Unit::PerSecond && threshold == Unit::None)
}

/// A threshold as written, before the direction is settled.
struct Parsed {
    op: Option<Op>,
    value: f64,
    unit: Unit,
    text: String,
    written_unit: String,
}

impl Parsed {
    fn finish(self) -> Option<Threshold> {
        Some(Threshold {
            op: self.op?,
            value: self.value,
            unit: self.unit,
            text: self.text,
            written_unit: self.written_unit,
        })
    }
}

fn threshold(key: &str, text: &str, p: &mut Vec<String>) -> Option<Parsed> {
    let t = text.trim();
    let (op, rest) = if let Some(r) = t.strip_prefix("<=") {
        (Some(Op::Le), r)
    } else if let Some(r) = t.strip_prefix(">=") {
        (Some(Op::Ge), r)
    } else if let Some(r) = t.strip_prefix('<') {
        (Some(Op::Lt), r)
    } else if let Some(r) = t.strip_prefix('>') {
        (Some(Op::Gt), r)
    } else {
        (None, t)
    };
    match Quantity::parse(rest) {
        Ok(q) => Some(Parsed {
            op,
            value: q.value,
            unit: q.unit,
            text: t.to_string(),
            written_unit: rest
                .trim()
                .trim_start_matches(|c: char| {
                    c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')
                })
                .trim()
                .to_string(),
        }),
        Err(e) => {
            p.push(format!("{key}: {e}"));
            None
        }
    }
}

/// Settles the direction of a target/critical pair and checks they agree.
fn check_pair(
    key: &RuleKey,
    t: Parsed,
    c: Parsed,
    p: &mut Vec<String>,
) -> (Option<Threshold>, Option<Threshold>) {
    let op = match (t.op, c.op) {
        (Some(a), Some(b)) if a.lower_is_better() != b.lower_is_better() => {
            p.push(format!(
                "{}: target `{}` and critical `{}` point in opposite directions",
                key.whole(),
                t.text,
                c.text
            ));
            return (None, None);
        }
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => (a, a),
        (None, Some(b)) => (b, b),
        (None, None) => {
            p.push(format!(
                "{}: `{}` needs an operator to say which way is better, e.g. \"< {}\"",
                key.field("target"),
                t.text,
                t.text
            ));
            return (None, None);
        }
    };
    if t.unit != c.unit {
        p.push(format!(
            "{}: target `{}` is {} but critical `{}` is {}",
            key.whole(),
            t.text,
            t.unit.kind_name(),
            c.text,
            c.unit.kind_name()
        ));
        return (None, None);
    }
    let loose = if op.0.lower_is_better() {
        t.value > c.value
    } else {
        t.value < c.value
    };
    if loose {
        p.push(format!(
            "{}: target `{}` is looser than critical `{}`; the target is the stricter level (missed = warn, critical breached = fail)",
            key.whole(),
            t.text,
            c.text
        ));
        return (None, None);
    }
    let target = Threshold {
        op: op.0,
        value: t.value,
        unit: t.unit,
        text: t.text,
        written_unit: t.written_unit,
    };
    let critical = Threshold {
        op: op.1,
        value: c.value,
        unit: c.unit,
        text: c.text,
        written_unit: c.written_unit,
    };
    (Some(target), Some(critical))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Budget, Problems> {
        parse_budget(Path::new("budgets/test.toml"), text)
    }

    const MINIMAL: &str = r#"
[sources.api]
path = "report.json"

[[budget]]
metric = "api.http.response_time.p95"
target = "< 200ms"
critical = "300ms"
"#;

    #[test]
    fn defaults_and_direction() {
        let b = parse(MINIMAL).unwrap();
        assert_eq!(b.gate.name, "test");
        assert_eq!(b.gate.regression, 0.10);
        assert_eq!(b.gate.confidence, 0.95);
        let r = &b.rules[0];
        assert_eq!(r.label, "api.http.response_time.p95");
        assert_eq!(r.line, 5);
        assert!(r.lower_is_better());
        let c = r.critical.as_ref().unwrap();
        assert_eq!((c.op, c.value, c.unit), (Op::Lt, 300.0, Unit::Ms));
        assert!(
            matches!(&r.input, RuleInput::Source { source, metric } if source == "api" && metric == "http.response_time.p95")
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_key() {
        let text = r#"
colour = "blue"
[gate]
regression = "ten"
confidence = 2.0
[sources.api]
path = "a.json"
format = "artilery"
[sources.web]
[[budget]]
metric = "api.p95"
target = "< 200ms"
critical = "100ms"
[[budget]]
metric = "nope.x"
target = "> 90"
[[budget]]
metric = "api.p95"
target = "< 1s"
[[budget]]
metric = "api.p99"
target = "< 200ms"
critical = "300KB"
tagret = "x"
"#;
        let e = parse(text).unwrap_err();
        let all = e.to_string();
        for needle in [
            "`colour`: unknown key",
            "`gate.regression`: `ten` must be a percentage",
            "`gate.confidence`: 2 must be between 0.5 and 1",
            "`sources.api.format`: unknown format `artilery`",
            "`sources.web`: needs `path`",
            "`budget[1]` (metric `api.p95`, line 10): target `< 200ms` is looser than critical `100ms`",
            "`budget[2].metric` (metric `nope.x`, line 14): must be `<source>.<metric>` with a declared source (api, web)",
            "`budget[3]` (metric `api.p95`, line 17): the metric is budgeted twice",
            "`budget[4]` (line 20): unknown field `tagret`",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(e.list.len(), 9, "{all}");
    }

    #[test]
    fn thresholds_need_a_direction_and_matching_units() {
        let e = parse(
            r#"
[sources.api]
path = "a.json"
[[budget]]
metric = "api.a"
critical = "300ms"
[[budget]]
metric = "api.b"
target = "< 200ms"
critical = "> 300ms"
[[budget]]
metric = "api.c"
target = "< 200ms"
critical = "1MB"
[[budget]]
metric = "api.d"
unit = "%"
target = "< 200ms"
[[budget]]
metric = "api.e"
"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`budget[1].critical` (metric `api.a`, line 4): `300ms` needs an operator"),
            "{e}"
        );
        assert!(e.contains("opposite directions"), "{e}");
        assert!(
            e.contains("target `< 200ms` is a duration but critical `1MB` is a size"),
            "{e}"
        );
        assert!(
            e.contains("`unit = \"%\"` is a percentage but the thresholds are a duration"),
            "{e}"
        );
        assert!(
            e.contains("`budget[5]` (metric `api.e`, line 19): needs a `target`"),
            "{e}"
        );
    }

    #[test]
    fn prometheus_sources_and_overrides() {
        let b = parse(
            r#"
[gate]
name = "prod"
regression = "10%"
on_regression = "warn"
[sources.db]
url = "http://127.0.0.1:9090"
timeout = "2s"
[sources.db.queries]
p95 = 'histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))'
[[budget]]
metric = "db.p95"
unit = "ms"
target = "< 50ms"
critical = "100ms"
regression = "20%"
confidence = 0.99
min_change = "5ms"
"#,
        )
        .unwrap();
        assert!(
            matches!(&b.sources["db"].location, Location::PrometheusApi { timeout, .. } if *timeout == Duration::from_secs(2))
        );
        let r = &b.rules[0];
        assert_eq!(
            (r.regression, r.confidence, r.on_regression),
            (0.2, 0.99, OnRegression::Warn)
        );
        assert_eq!(r.declared_unit, Some((Unit::Ms, 1.0)));
        assert_eq!(r.min_change, Some(5.0));
    }

    #[test]
    fn files_says_runs_or_shards_and_nothing_else() {
        let with = |files: &str| MINIMAL.replace("path =", &format!("{files}\npath ="));
        assert_eq!(parse(MINIMAL).unwrap().sources["api"].files, Files::Runs);
        let b = parse(&with(r#"files = "shards""#)).unwrap();
        assert_eq!(b.sources["api"].files, Files::Shards);
        let b = parse(&with(r#"files = "runs""#)).unwrap();
        assert_eq!(b.sources["api"].files, Files::Runs);
        let e = parse(&with(r#"files = "shard""#)).unwrap_err().to_string();
        assert!(
            e.contains("`sources.api.files`: unknown value `shard` (expected `runs` or `shards`)"),
            "{e}"
        );
        let e = parse(
            r#"
[sources.db]
url = "http://127.0.0.1:9090"
files = "shards"
[sources.db.queries]
p95 = 'x'
[[budget]]
metric = "db.p95"
target = "< 50"
"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`sources.db.files`: `shards` goes with `path`"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_quote_the_line() {
        let e = parse("[gate\nname = 1").unwrap_err().to_string();
        assert!(e.contains("not valid TOML") && e.contains("line 1"), "{e}");
    }

    #[test]
    fn wanted_metrics_are_what_the_rules_read_per_source() {
        let b = parse(
            r#"
[sources.web]
path = "stats.json"
[sources.api]
path = "report.json"
[sources.lh]
path = "lhr.json"

[[budget]]
metric = "web.initial.gzip"
target = "< 50KB"

[[budget]]
metric = "half"
expr = "web['total.brotli'] / 2 + api['http.requests']"
target = "< 10"

[[budget]]
metric = "any"
expr = "api[ 'http.codes.' ~ '500' ]"
target = "< 10"
"#,
        )
        .unwrap();
        let set = |names: &[&str]| Wanted::Only(names.iter().map(|n| n.to_string()).collect());
        assert_eq!(
            wanted(&b.rules, "web"),
            set(&["initial.gzip", "total.brotli"])
        );
        assert_eq!(wanted(&b.rules, "api"), Wanted::All);
        assert_eq!(wanted(&b.rules, "lh"), Wanted::none());
        // Until `read_current` narrows it, a source gives every metric.
        assert_eq!(b.sources["web"].wanted, Wanted::All);
    }
}
