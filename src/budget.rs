//! The budget file: TOML → raw sections → a validated [`Budget`].
//!
//! The one rule (cargo-deny's): read in two phases, deserialize each section, then validate the whole
//! file, and report every problem at once, each with the key it is about and its `file:line:col`,
//! so one edit-run cycle fixes them all. The text is parsed once into a document that keeps every
//! key's and value's span (toml_edit's), each section is deserialized from it with its values'
//! spans (`Spanned`), and a problem points at the value at fault, else its key, else its section's
//! header.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::de::IntoDeserializer;
use serde::Deserialize;
use serde_spanned::Spanned;
use toml_edit::{ImDocument, Item, Key, TableLike, Value};

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
    /// The `[[waiver]]` tables in file order: regressions accepted for a while (README, "Waivers").
    pub waivers: Vec<Waiver>,
}

/// A regression accepted on purpose: a `[[waiver]]` of the budget, or one a pull request gives
/// itself (a label, a commit trailer). It lifts what the baseline comparison adds to a metric's
/// status (a regression, an inconclusive change) while the metric stays within what it accepts,
/// never a threshold of the budget (README, "Waivers").
#[derive(Debug, Clone, PartialEq)]
pub struct Waiver {
    /// The metric waived: a rule's metric id, or `<id>{<selector>}` for one page; `None` for
    /// every metric (the `perfgate:accept` label).
    pub metric: Option<String>,
    pub accept: Accept,
    /// Why, as the waiver gives it.
    pub reason: String,
    /// The last day it applies (UTC, inclusive), `YYYY-MM-DD`; `None` for a pull request's own
    /// waiver, which lasts as long as the pull request.
    pub expires: Option<String>,
    pub origin: WaiverOrigin,
    /// Who or what waived, for the reader: "budget line 40", "label `perfgate:accept` on pull
    /// request #12", "trailer `Perfgate-Accept` of commit 1a2b3c4d5e6f by Jane Doe".
    pub by: String,
    /// The waiver's line in the budget file, for a budget waiver.
    pub line: Option<usize>,
}

/// What a waiver accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Accept {
    /// A worse change against the baseline up to this fraction (0.40 = 40 %).
    Change(f64),
    /// A value within this limit, in the rule's direction.
    Limit(Threshold),
    /// Any change (a pull request's own waiver: the reviewer sees the value in the verdict).
    Any,
}

/// Where a waiver comes from, as the JSON verdict names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaiverOrigin {
    /// A `[[waiver]]` table of the budget.
    Budget,
    /// A label on the pull request.
    Label,
    /// A `Perfgate-Accept` trailer in the pull request's head commit.
    Trailer,
}

impl Accept {
    /// "up to +40 %", "up to < 260 ms", "any change".
    pub fn text(&self) -> String {
        match self {
            // Two decimals of a percentage are as many as a budget writes.
            Accept::Change(f) => format!("a change up to +{} %", (f * 10_000.0).round() / 100.0),
            Accept::Limit(t) => format!("a value {}", t.text),
            Accept::Any => "any change".to_string(),
        }
    }
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
    /// Allowed shift of the history's level before it counts as creep, as a fraction; None: each
    /// rule's `regression`.
    pub creep: Option<f64>,
    pub on_creep: OnCreep,
}

/// What a significant regression does to the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRegression {
    Fail,
    Warn,
}

/// What a creep of the default branch's history does to the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnCreep {
    /// A warning on every check while the history shows it.
    Warn,
    /// As `Warn`, and a failure of the check whose run completes a creep the history alone did
    /// not show.
    Fail,
    /// Not checked.
    Off,
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
    /// Allowed shift of the history's level before it is creep (fraction); `regression` unless
    /// the budget says.
    pub creep: f64,
    pub on_creep: OnCreep,
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

/// True when lower values are better, from the operator of the target (or the critical); a
/// rule's, and a judged metric's, which carries the rule's thresholds.
pub fn lower_is_better(target: Option<&Threshold>, critical: Option<&Threshold>) -> bool {
    target.or(critical).is_none_or(|t| t.op.lower_is_better())
}

impl Rule {
    /// True when lower values are better, from the operator of the target (or the critical).
    pub fn lower_is_better(&self) -> bool {
        lower_is_better(self.target.as_ref(), self.critical.as_ref())
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

/// One problem of a budget file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of what the problem is about: the value, the key, or the section's header.
    pub line: usize,
    /// 1-based column on that line, in characters, as toml's own errors and editors count.
    pub column: usize,
    /// What is wrong, led by the key.
    pub message: String,
}

/// Every problem found in a budget file, each with its key and location.
#[derive(Debug)]
pub struct Problems {
    pub path: PathBuf,
    pub list: Vec<Problem>,
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.list.len();
        let path = self.path.display();
        write!(
            f,
            "{path}: {n} problem{} in the budget",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.list {
            // `file:line:col: message`, the form compilers print and editors and terminals link.
            // A message from toml can run over lines; they stay indented under their item.
            write!(
                f,
                "\n  - {path}:{}:{}: {}",
                p.line,
                p.column,
                p.message.replace('\n', "\n    ")
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Collects problems as they are found, each at a byte offset of the budget text.
#[derive(Default)]
struct Found {
    list: Vec<(usize, String)>,
}

impl Found {
    fn push(&mut self, at: usize, message: impl Into<String>) {
        self.list.push((at, message.into()));
    }

    fn len(&self) -> usize {
        self.list.len()
    }

    /// The problems in the order found, each offset turned into a line and column.
    fn locate(self, text: &str) -> Vec<Problem> {
        let offsets: Vec<usize> = self.list.iter().map(|(at, _)| *at).collect();
        locate(text, &offsets)
            .into_iter()
            .zip(self.list)
            .map(|((line, column), (_, message))| Problem {
                line,
                column,
                message,
            })
            .collect()
    }
}

/// The 1-based line and column (in characters) of each byte offset of `text`, in one pass over
/// the text however many offsets there are (a 64 MiB budget can hold a million problems).
fn locate(text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut out = vec![(1, 1); offsets.len()];
    let (mut done, mut line, mut column) = (0, 1, 1);
    for i in order {
        let mut to = offsets[i].min(text.len());
        while !text.is_char_boundary(to) {
            to -= 1;
        }
        let between = &text[done..to];
        match memchr::memrchr(b'\n', between.as_bytes()) {
            Some(last) => {
                line += memchr::memchr_iter(b'\n', between.as_bytes()).count();
                column = between[last + 1..].chars().count() + 1;
            }
            None => column += between.chars().count(),
        }
        done = to;
        out[i] = (line, column);
    }
    out
}

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
    let mut p = Found::default();
    let problems = |p: Found| Problems {
        path: path.into(),
        list: p.locate(text),
    };
    let doc = match ImDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            p.push(
                e.span().map_or(0, |s| s.start),
                format!("not valid TOML: {}", e.message().trim_end()),
            );
            return Err(problems(p));
        }
    };
    let mut root = doc.into_table();
    // The rules are taken out of the document rather than copied: a budget can be tens of MB of
    // labels.
    let rules_entry = root.remove_entry("budget").map(|(key, item)| {
        let at = place(&item, &key);
        (item, at)
    });
    let top = entries(&root);
    for e in &top {
        if !matches!(e.name, "gate" | "sources" | "budget" | "waiver") {
            p.push(
                e.key_at,
                format!(
                    "`{}`: unknown key (expected `[gate]`, `[sources.<name>]`, `[[budget]]` or `[[waiver]]`)",
                    e.name
                ),
            );
        }
    }
    let find = |name: &str| top.iter().find(|e| e.name == name);
    let default_name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "perfgate".into());
    let gate = read_gate(find("gate"), &default_name, &mut p);
    let sources = read_sources(find("sources"), &mut p);
    // Rules naming a source that is declared but invalid add no problem of their own.
    let declared: Vec<String> = find("sources")
        .and_then(|e| e.item.as_table_like())
        .map(|t| entries(t).iter().map(|e| e.name.to_string()).collect())
        .unwrap_or_default();
    let rules = read_rules(rules_entry, text, &gate, &sources, &declared, &mut p);
    let waivers = read_waivers(find("waiver"), text, &rules, &mut p);
    if p.list.is_empty() {
        Ok(Budget {
            path: path.into(),
            gate,
            sources,
            rules,
            waivers,
        })
    } else {
        Err(problems(p))
    }
}

/// A key of a table with its value, and where problems about them point.
struct Entry<'d> {
    name: &'d str,
    item: &'d Item,
    /// The key as written (in a header, the name's part of it).
    key_at: usize,
    /// The value: a section's header, or the key when the table is only implied by a dotted key
    /// or a deeper header.
    at: usize,
}

impl Entry<'_> {
    /// Where a problem about the key `name` inside this entry points, the entry itself if absent.
    fn place_of(&self, name: &str) -> usize {
        self.item
            .as_table_like()
            .and_then(|t| t.get_key_value(name))
            .map_or(self.at, |(key, item)| place(item, key))
    }
}

fn place(item: &Item, key: &Key) -> usize {
    item.span()
        .map_or_else(|| key_place(key), |span| span.start)
}

fn key_place(key: &Key) -> usize {
    key.span().map_or(0, |span| span.start)
}

/// A table's entries in name order, the order problems have always been reported in.
fn entries(table: &dyn TableLike) -> Vec<Entry<'_>> {
    let mut out: Vec<Entry<'_>> = table
        .iter()
        .filter_map(|(name, item)| {
            let key = table.key(name)?;
            Some(Entry {
                name,
                item,
                key_at: key_place(key),
                at: place(item, key),
            })
        })
        .collect();
    out.sort_by_key(|e| e.name);
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    name: Option<Spanned<String>>,
    regression: Option<Spanned<String>>,
    confidence: Option<Spanned<f64>>,
    on_regression: Option<Spanned<String>>,
    baseline: Option<Spanned<String>>,
    max_age: Option<Spanned<String>>,
    creep: Option<Spanned<String>>,
    on_creep: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    format: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    files: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    // A `[sources.x.queries]` table loses its span when its source is deserialized on its own,
    // so problems about it point through `Entry::place_of`.
    queries: Option<BTreeMap<String, String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    metric: Spanned<String>,
    label: Option<String>,
    expr: Option<Spanned<String>>,
    unit: Option<Spanned<String>>,
    target: Option<Spanned<String>>,
    critical: Option<Spanned<String>>,
    regression: Option<Spanned<String>>,
    confidence: Option<Spanned<f64>>,
    on_regression: Option<Spanned<String>>,
    min_change: Option<Spanned<String>>,
    creep: Option<Spanned<String>>,
    on_creep: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    metric: Spanned<String>,
    limit: Option<Spanned<String>>,
    change: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    expires: Option<Spanned<RawDate>>,
}

/// `expires` as written: a TOML date, or a string (a date in quotes, refused with a hint).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDate {
    Date(toml_edit::Datetime),
    Text(String),
}

/// The start of a value in the budget text.
fn at<T>(value: &Spanned<T>) -> usize {
    value.span().start
}

/// Deserializes one section found at `at`, or records why not under `key`, at the offending key
/// or value when the error knows it.
fn section<T: serde::de::DeserializeOwned>(
    item: Item,
    at: usize,
    key: &str,
    p: &mut Found,
) -> Option<T> {
    let Ok(value) = item.into_value() else {
        p.push(at, format!("{key}: has no value"));
        return None;
    };
    match T::deserialize(value.into_deserializer()) {
        Ok(v) => Some(v),
        Err(e) => {
            p.push(
                e.span().map_or(at, |s| s.start),
                format!("{key}: {}", e.to_string().trim_end()),
            );
            None
        }
    }
}

const DEFAULT_REGRESSION: f64 = 0.10;
const DEFAULT_CONFIDENCE: f64 = 0.95;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn read_gate(entry: Option<&Entry<'_>>, default_name: &str, p: &mut Found) -> Gate {
    let mut gate = Gate {
        name: default_name.to_string(),
        regression: DEFAULT_REGRESSION,
        confidence: DEFAULT_CONFIDENCE,
        on_regression: OnRegression::Fail,
        baseline_required: false,
        max_age: None,
        creep: None,
        on_creep: OnCreep::Warn,
    };
    let Some(raw) = entry.and_then(|e| section::<RawGate>(e.item.clone(), e.at, "`gate`", p))
    else {
        return gate;
    };
    if let Some(name) = raw.name {
        if !is_plain_name(name.get_ref()) {
            p.push(at(&name), format!(
                "`gate.name`: `{}` must be letters, digits, `-`, `_` or `.` (it names the baseline file)",
                name.get_ref()
            ));
        } else {
            gate.name = name.into_inner();
        }
    }
    if let Some(r) = raw.regression {
        if let Some(f) = fraction("`gate.regression`", &r, p) {
            gate.regression = f;
        }
    }
    if let Some(c) = raw.confidence {
        if let Some(c) = confidence("`gate.confidence`", &c, p) {
            gate.confidence = c;
        }
    }
    if let Some(a) = raw.on_regression {
        if let Some(a) = on_regression("`gate.on_regression`", &a, p) {
            gate.on_regression = a;
        }
    }
    if let Some(c) = raw.creep {
        gate.creep = fraction("`gate.creep`", &c, p);
    }
    if let Some(a) = raw.on_creep {
        if let Some(a) = on_creep("`gate.on_creep`", &a, p) {
            gate.on_creep = a;
        }
    }
    if let Some(baseline) = raw.baseline {
        match baseline.get_ref().as_str() {
            "optional" => {}
            "required" => gate.baseline_required = true,
            other => p.push(at(&baseline), format!(
                "`gate.baseline`: `{other}` must be \"required\" (a missing baseline or history stops the check) or \"optional\" (the default)"
            )),
        }
    }
    if let Some(age) = raw.max_age {
        match humantime::parse_duration(age.get_ref()) {
            Ok(d) if !d.is_zero() => gate.max_age = Some(d),
            _ => p.push(
                at(&age),
                format!(
                    "`gate.max_age`: `{}` must be a positive duration such as \"14d\" or \"36h\"",
                    age.get_ref()
                ),
            ),
        }
    }
    gate
}

fn fraction(key: &str, text: &Spanned<String>, p: &mut Found) -> Option<f64> {
    match Quantity::parse(text.get_ref()) {
        Ok(Quantity {
            value,
            unit: Unit::Percent,
        }) if value >= 0.0 => Some(value / 100.0),
        _ => {
            p.push(
                at(text),
                format!(
                    "{key}: `{}` must be a percentage such as \"10%\"",
                    text.get_ref()
                ),
            );
            None
        }
    }
}

fn confidence(key: &str, c: &Spanned<f64>, p: &mut Found) -> Option<f64> {
    let value = *c.get_ref();
    if value > 0.5 && value < 1.0 {
        Some(value)
    } else {
        p.push(
            at(c),
            format!("{key}: {value} must be between 0.5 and 1 (exclusive), e.g. 0.95"),
        );
        None
    }
}

fn on_regression(key: &str, text: &Spanned<String>, p: &mut Found) -> Option<OnRegression> {
    match text.get_ref().as_str() {
        "fail" => Some(OnRegression::Fail),
        "warn" => Some(OnRegression::Warn),
        other => {
            p.push(
                at(text),
                format!("{key}: `{other}` must be \"fail\" or \"warn\""),
            );
            None
        }
    }
}

fn on_creep(key: &str, text: &Spanned<String>, p: &mut Found) -> Option<OnCreep> {
    match text.get_ref().as_str() {
        "warn" => Some(OnCreep::Warn),
        "fail" => Some(OnCreep::Fail),
        "off" => Some(OnCreep::Off),
        other => {
            p.push(
                at(text),
                format!("{key}: `{other}` must be \"warn\", \"fail\" or \"off\""),
            );
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

fn read_sources(entry: Option<&Entry<'_>>, p: &mut Found) -> BTreeMap<String, SourceSpec> {
    let mut out = BTreeMap::new();
    let Some(entry) = entry else {
        p.push(
            0,
            "`sources`: no source declared (add a `[sources.<name>]` table)",
        );
        return out;
    };
    let Some(table) = entry.item.as_table_like() else {
        p.push(
            entry.at,
            "`sources`: must be a table of `[sources.<name>]` tables",
        );
        return out;
    };
    for source in entries(table) {
        if let Some(spec) = read_source(&source, p) {
            out.insert(source.name.to_string(), spec);
        }
    }
    if out.is_empty() && p.list.is_empty() {
        p.push(
            entry.at,
            "`sources`: no source declared (add a `[sources.<name>]` table)",
        );
    }
    out
}

fn read_source(entry: &Entry<'_>, p: &mut Found) -> Option<SourceSpec> {
    let key = format!("sources.{}", entry.name);
    if !valid_identifier(entry.name) {
        p.push(entry.key_at, format!(
            "`{key}`: a source name must start with a letter or `_` and hold only letters, digits and `_` (it is used in expressions)"
        ));
        return None;
    }
    let raw = section::<RawSource>(entry.item.clone(), entry.at, &format!("`{key}`"), p)?;
    let format = match raw.format.as_ref() {
        None => None,
        Some(f) if f.get_ref() == "auto" => None,
        Some(f) => match Format::from_name(f.get_ref()) {
            Some(format) => Some(format),
            None => {
                p.push(
                    at(f),
                    format!(
                        "`{key}.format`: unknown format `{}` (expected auto, {})",
                        f.get_ref(),
                        Format::names()
                    ),
                );
                return None;
            }
        },
    };
    let timeout = match raw.timeout.as_ref() {
        None => DEFAULT_TIMEOUT,
        Some(t) => match Quantity::parse(t.get_ref()) {
            Ok(Quantity {
                value,
                unit: Unit::Ms,
            }) if value > 0.0 => Duration::from_secs_f64(value / 1000.0),
            _ => {
                p.push(
                    at(t),
                    format!(
                        "`{key}.timeout`: `{}` must be a positive duration such as \"10s\"",
                        t.get_ref()
                    ),
                );
                return None;
            }
        },
    };
    let files = match raw.files.as_ref() {
        None => Files::Runs,
        Some(f) => match Files::NAMES.iter().find(|(name, _)| name == f.get_ref()) {
            Some(&(_, files)) if files == Files::Runs || raw.path.is_some() => files,
            Some(_) => {
                p.push(
                    at(f),
                    format!(
                        "`{key}.files`: `{}` goes with `path` (files to merge), not a `url`",
                        f.get_ref()
                    ),
                );
                return None;
            }
            None => {
                p.push(
                    at(f),
                    format!(
                        "`{key}.files`: unknown value `{}` (expected {})",
                        f.get_ref(),
                        Files::NAMES
                            .iter()
                            .map(|(name, _)| format!("`{name}`"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                );
                return None;
            }
        },
    };
    let location = match (raw.path, raw.url, raw.queries) {
        (Some(_), Some(_), _) => {
            p.push(entry.at, format!("`{key}`: give `path` or `url`, not both"));
            return None;
        }
        (None, None, _) => {
            p.push(
                entry.at,
                format!(
                    "`{key}`: needs `path` (a report file or glob) or `url` (a Prometheus server)"
                ),
            );
            return None;
        }
        (Some(_), None, Some(_)) => {
            p.push(entry.place_of("queries"), format!(
                "`{key}.queries`: queries go with `url` (a live Prometheus); a saved response is one query"
            ));
            return None;
        }
        (Some(path), None, None) => {
            if path.get_ref().trim().is_empty() {
                p.push(at(&path), format!("`{key}.path`: is empty"));
                return None;
            }
            Location::Files(path.into_inner())
        }
        (None, Some(url), queries) => {
            if !matches!(format, None | Some(Format::Prometheus)) {
                p.push(
                    at(&url),
                    format!("`{key}.url`: only the prometheus format reads from a URL"),
                );
                return None;
            }
            if !(url.get_ref().starts_with("http://") || url.get_ref().starts_with("https://")) {
                p.push(
                    at(&url),
                    format!("`{key}.url`: must start with http:// or https://"),
                );
                return None;
            }
            let queries = queries.unwrap_or_default();
            if queries.is_empty() {
                p.push(entry.place_of("queries"), format!(
                    "`{key}.queries`: a Prometheus URL needs at least one named query, e.g. `[{key}.queries] p95 = '…'`"
                ));
                return None;
            }
            Location::PrometheusApi {
                url: url.into_inner(),
                queries,
                timeout,
            }
        }
    };
    Some(SourceSpec {
        format,
        location,
        files,
        lenient: false,
        wanted: Wanted::All,
    })
}

fn read_rules(
    entry: Option<(Item, usize)>,
    text: &str,
    gate: &Gate,
    sources: &BTreeMap<String, SourceSpec>,
    declared: &[String],
    p: &mut Found,
) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    let Some((item, at)) = entry else {
        p.push(0, "`budget`: no rule (add a `[[budget]]` table per metric)");
        return rules;
    };
    // Each rule with where it starts: its `[[budget]]` header, or its `{ … }` in an inline array.
    let items: Vec<(usize, Item)> = match item {
        Item::ArrayOfTables(tables) => tables
            .into_iter()
            .map(|t| (t.span().map_or(at, |s| s.start), Item::Table(t)))
            .collect(),
        Item::Value(Value::Array(values)) => values
            .into_iter()
            .map(|v| (v.span().map_or(at, |s| s.start), Item::Value(v)))
            .collect(),
        _ => {
            p.push(
                at,
                "`budget`: must be an array of tables, written `[[budget]]`",
            );
            return rules;
        }
    };
    let starts: Vec<usize> = items.iter().map(|(start, _)| *start).collect();
    let lines = locate(text, &starts);
    let mut seen: HashSet<String> = HashSet::new();
    for (i, ((start, item), (line, _))) in items.into_iter().zip(lines).enumerate() {
        let Some(raw) = section::<RawRule>(item, start, &format!("`budget[{}]`", i + 1), p) else {
            continue;
        };
        let key = RuleKey {
            index: i + 1,
            at: start,
            line,
            metric: raw.metric.get_ref().clone(),
        };
        if !seen.insert(key.metric.clone()) {
            p.push(
                key.at,
                format!(
                    "{}: the metric is budgeted twice; keep one rule per metric",
                    key.whole()
                ),
            );
            continue;
        }
        if let Some(rule) = read_rule(raw, &key, gate, sources, declared, p) {
            rules.push(rule);
        }
    }
    rules
}

/// Names a rule and its fields in messages ("`budget[2].target` (metric `api.p95`)"), and
/// where the rule starts.
struct RuleKey {
    index: usize,
    /// Byte offset of the rule's `[[budget]]` header.
    at: usize,
    /// 1-based line of that header.
    line: usize,
    metric: String,
}

impl RuleKey {
    fn whole(&self) -> String {
        self.field("")
    }

    fn field(&self, field: &str) -> String {
        let dot = if field.is_empty() { "" } else { "." };
        format!(
            "`budget[{}]{dot}{field}` (metric `{}`)",
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
    p: &mut Found,
) -> Option<Rule> {
    let before = p.len();
    let input = match &raw.expr {
        Some(expr) => match Expr::compile(expr.get_ref(), sources.keys()) {
            Ok(e) => Some(RuleInput::Derived(e)),
            Err(e) => {
                p.push(at(expr), format!("{}: {e}", key.field("expr")));
                None
            }
        },
        None => match raw.metric.get_ref().split_once('.') {
            Some((source, metric)) if sources.contains_key(source) && !metric.is_empty() => {
                Some(RuleInput::Source {
                    source: source.to_string(),
                    metric: metric.to_string(),
                })
            }
            Some((source, _)) if declared.iter().any(|d| d == source) => None,
            _ => {
                let names: Vec<&str> = declared.iter().map(String::as_str).collect();
                p.push(at(&raw.metric), format!(
                    "{}: must be `<source>.<metric>` with a declared source ({}), or the rule needs an `expr`",
                    key.field("metric"),
                    if names.is_empty() { "none declared".to_string() } else { names.join(", ") }
                ));
                None
            }
        },
    };
    let declared_unit = match raw.unit.as_ref() {
        None => None,
        Some(u) => match Unit::parse_scaled(u.get_ref()) {
            Some(s) => Some(s),
            None => {
                p.push(at(u), format!(
                    "{}: unknown unit `{}` (expected us, ms, s, B, KB, KiB, MB, MiB, %, /s or \"\")",
                    key.field("unit"),
                    u.get_ref()
                ));
                None
            }
        },
    };
    let target = raw
        .target
        .as_ref()
        .and_then(|t| threshold(&key.field("target"), t, p));
    let critical = raw
        .critical
        .as_ref()
        .and_then(|t| threshold(&key.field("critical"), t, p));
    let (target, critical) = match (target, critical) {
        (None, None) if raw.target.is_none() && raw.critical.is_none() => {
            p.push(
                key.at,
                format!(
                    "{}: needs a `target` (missed = warn) and/or a `critical` (breached = fail)",
                    key.whole()
                ),
            );
            (None, None)
        }
        (Some(t), Some(c)) => check_pair(key, t, c, p),
        (t, c) => {
            for (name, th) in [("target", &t), ("critical", &c)] {
                if let Some(th) = th {
                    if th.op.is_none() {
                        p.push(
                            th.at,
                            format!(
                                "{}: `{}` needs an operator to say which way is better, e.g. \"< {}\"",
                                key.field(name),
                                th.text,
                                th.text
                            ),
                        );
                    }
                }
            }
            (t.and_then(Parsed::finish), c.and_then(Parsed::finish))
        }
    };
    if let (Some((unit, _)), Some(th)) = (declared_unit, target.as_ref().or(critical.as_ref())) {
        if !units_agree(unit, th.unit) {
            p.push(
                key.at,
                format!(
                    "{}: `unit = \"{}\"` is {} but the thresholds are {}",
                    key.whole(),
                    raw.unit.as_ref().map_or("", |u| u.get_ref()),
                    unit.kind_name(),
                    th.unit.kind_name()
                ),
            );
        }
    }
    let min_change = raw.min_change.as_ref().and_then(|m| {
        let field = key.field("min_change");
        let text = m.get_ref();
        let q = match Quantity::parse(text) {
            Ok(q) if q.value >= 0.0 => q,
            Ok(_) => {
                p.push(at(m), format!("{field}: `{text}` must not be negative"));
                return None;
            }
            Err(e) => {
                p.push(at(m), format!("{field}: {e}"));
                return None;
            }
        };
        let expected = target.as_ref().or(critical.as_ref()).map(|t| t.unit);
        match expected {
            Some(u) if !units_agree(u, q.unit) => {
                p.push(
                    at(m),
                    format!(
                        "{field}: `{text}` is {} but the thresholds are {}",
                        q.unit.kind_name(),
                        u.kind_name()
                    ),
                );
                None
            }
            _ => Some(q.value),
        }
    });
    let regression = match raw.regression.as_ref() {
        Some(r) => fraction(&key.field("regression"), r, p).unwrap_or(gate.regression),
        None => gate.regression,
    };
    let confidence = match raw.confidence.as_ref() {
        Some(c) => self::confidence(&key.field("confidence"), c, p).unwrap_or(gate.confidence),
        None => gate.confidence,
    };
    let on_regression = match raw.on_regression.as_ref() {
        Some(a) => {
            self::on_regression(&key.field("on_regression"), a, p).unwrap_or(gate.on_regression)
        }
        None => gate.on_regression,
    };
    let creep = match raw.creep.as_ref() {
        Some(c) => fraction(&key.field("creep"), c, p),
        None => gate.creep,
    }
    .unwrap_or(regression);
    let on_creep = match raw.on_creep.as_ref() {
        Some(a) => self::on_creep(&key.field("on_creep"), a, p).unwrap_or(gate.on_creep),
        None => gate.on_creep,
    };
    if p.len() > before || input.is_none() {
        return None;
    }
    Some(Rule {
        label: raw
            .label
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| key.metric.clone()),
        id: raw.metric.into_inner(),
        input: input?,
        declared_unit,
        target,
        critical,
        min_change,
        regression,
        confidence,
        on_regression,
        creep,
        on_creep,
        line: key.line,
    })
}

/// The `[[waiver]]` tables: each names a rule's metric, accepts a `limit` or a `change`, and has a
/// `reason` and an `expires` date. A waiver naming no rule is not an error here: the judge warns
/// about it with the closest names, as it warns about one that waives nothing.
fn read_waivers(
    entry: Option<&Entry<'_>>,
    text: &str,
    rules: &[Rule],
    p: &mut Found,
) -> Vec<Waiver> {
    let mut out = Vec::new();
    let Some(entry) = entry else {
        return out;
    };
    let items: Vec<(usize, Item)> = match entry.item {
        Item::ArrayOfTables(tables) => tables
            .iter()
            .map(|t| {
                (
                    t.span().map_or(entry.at, |s| s.start),
                    Item::Table(t.clone()),
                )
            })
            .collect(),
        Item::Value(Value::Array(values)) => values
            .iter()
            .map(|v| {
                (
                    v.span().map_or(entry.at, |s| s.start),
                    Item::Value(v.clone()),
                )
            })
            .collect(),
        _ => {
            p.push(
                entry.at,
                "`waiver`: must be an array of tables, written `[[waiver]]`",
            );
            return out;
        }
    };
    let starts: Vec<usize> = items.iter().map(|(start, _)| *start).collect();
    let lines = locate(text, &starts);
    let mut seen: HashSet<String> = HashSet::new();
    for (i, ((start, item), (line, _))) in items.into_iter().zip(lines).enumerate() {
        let name = format!("`waiver[{}]`", i + 1);
        let Some(raw) = section::<RawWaiver>(item, start, &name, p) else {
            continue;
        };
        let metric = raw.metric.get_ref().trim().to_string();
        let field = |f: &str| format!("`waiver[{}].{f}` (metric `{metric}`)", i + 1);
        let before = p.len();
        if metric.is_empty() {
            p.push(at(&raw.metric), format!("{}: is empty", field("metric")));
        } else if !seen.insert(metric.clone()) {
            p.push(
                start,
                format!(
                    "{name} (metric `{metric}`): the metric is waived twice; keep one waiver per metric"
                ),
            );
        }
        let rule_id = metric.split_once('{').map_or(metric.as_str(), |(id, _)| id);
        let rule = rules.iter().find(|r| r.id == rule_id);
        let accept = match (&raw.limit, &raw.change) {
            (Some(_), Some(_)) => {
                p.push(start, format!(
                    "{name} (metric `{metric}`): give `limit` (a new ceiling) or `change` (a worse change accepted), not both"
                ));
                None
            }
            (None, None) => {
                p.push(start, format!(
                    "{name} (metric `{metric}`): needs `limit` (the value accepted, e.g. \"< 260ms\") or `change` (the worse change accepted against the baseline, e.g. \"40%\")"
                ));
                None
            }
            (None, Some(c)) => fraction(&field("change"), c, p).map(Accept::Change),
            (Some(l), None) => waiver_limit(&field("limit"), l, rule, p).map(Accept::Limit),
        };
        let reason = match &raw.reason {
            Some(r) if !r.get_ref().trim().is_empty() => Some(r.get_ref().trim().to_string()),
            Some(r) => {
                p.push(
                    at(r),
                    format!(
                        "{}: is empty; say why the regression is accepted",
                        field("reason")
                    ),
                );
                None
            }
            None => {
                p.push(start, format!("{name} (metric `{metric}`): needs a `reason` (why the regression is accepted, for the reviewer)"));
                None
            }
        };
        let expires = match &raw.expires {
            Some(d) => match d.get_ref() {
                RawDate::Date(toml_edit::Datetime {
                    date: Some(date),
                    time: None,
                    offset: None,
                }) => Some(format!(
                    "{:04}-{:02}-{:02}",
                    date.year, date.month, date.day
                )),
                RawDate::Date(other) => {
                    p.push(
                        at(d),
                        format!(
                            "{}: `{other}` must be a date such as 2026-12-31 (no time)",
                            field("expires"),
                        ),
                    );
                    None
                }
                RawDate::Text(text) => {
                    p.push(at(d), format!("{}: \"{text}\" is a string; write the date without quotes, a TOML date such as 2026-12-31", field("expires")));
                    None
                }
            },
            None => {
                p.push(start, format!("{name} (metric `{metric}`): needs `expires`, the last day it applies (a TOML date such as 2026-12-31): a waiver does not last forever"));
                None
            }
        };
        if p.len() > before {
            continue;
        }
        if let (Some(accept), Some(reason), Some(expires)) = (accept, reason, expires) {
            out.push(Waiver {
                metric: Some(metric),
                accept,
                reason,
                expires: Some(expires),
                origin: WaiverOrigin::Budget,
                by: format!("budget line {line}"),
                line: Some(line),
            });
        }
    }
    out
}

/// A waiver's `limit`: a threshold in the rule's unit and direction (the operator may be left
/// out), and no looser than the rule's critical level, which a waiver does not lift.
fn waiver_limit(
    key: &str,
    written: &Spanned<String>,
    rule: Option<&Rule>,
    p: &mut Found,
) -> Option<Threshold> {
    let parsed = threshold(key, written, p)?;
    let Some(rule) = rule else {
        if parsed.op.is_none() {
            let t = written.get_ref().trim();
            p.push(at(written), format!(
                "{key}: `{t}` needs an operator (no rule budgets this metric to take the direction from), e.g. \"< {t}\""
            ));
        }
        return parsed.finish();
    };
    let lower = rule.lower_is_better();
    let op = match parsed.op {
        Some(op) if op.lower_is_better() != lower => {
            p.push(
                at(written),
                format!(
                    "{key}: `{}` points the other way from the rule, where {} is better",
                    parsed.text,
                    if lower { "lower" } else { "higher" }
                ),
            );
            return None;
        }
        Some(op) => op,
        None => rule
            .target
            .as_ref()
            .or(rule.critical.as_ref())
            .map(|t| t.op)?,
    };
    if let Some(unit) = rule.threshold_unit() {
        if unit != parsed.unit {
            p.push(
                at(written),
                format!(
                    "{key}: `{}` is {} but the rule's thresholds are {}",
                    parsed.text,
                    parsed.unit.kind_name(),
                    unit.kind_name()
                ),
            );
            return None;
        }
    }
    if let Some(c) = &rule.critical {
        let beyond = if lower {
            parsed.value > c.value
        } else {
            parsed.value < c.value
        };
        if beyond {
            p.push(at(written), format!(
                "{key}: `{}` is past the rule's critical `{}`, which a waiver does not lift: a value past it fails whatever the baseline (change `critical` in the rule to move it)",
                parsed.text, c.text
            ));
            return None;
        }
    }
    let text = match parsed.op {
        Some(_) => parsed.text.clone(),
        None => format!("{} {}", op.symbol(), parsed.text),
    };
    Some(Threshold {
        op,
        value: parsed.value,
        unit: parsed.unit,
        text,
        written_unit: parsed.written_unit,
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
    /// Where it is written in the budget.
    at: usize,
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

fn threshold(key: &str, written: &Spanned<String>, p: &mut Found) -> Option<Parsed> {
    let t = written.get_ref().trim();
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
            at: at(written),
        }),
        Err(e) => {
            p.push(at(written), format!("{key}: {e}"));
            None
        }
    }
}

/// Settles the direction of a target/critical pair and checks they agree.
fn check_pair(
    key: &RuleKey,
    t: Parsed,
    c: Parsed,
    p: &mut Found,
) -> (Option<Threshold>, Option<Threshold>) {
    let op = match (t.op, c.op) {
        (Some(a), Some(b)) if a.lower_is_better() != b.lower_is_better() => {
            p.push(
                key.at,
                format!(
                    "{}: target `{}` and critical `{}` point in opposite directions",
                    key.whole(),
                    t.text,
                    c.text
                ),
            );
            return (None, None);
        }
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => (a, a),
        (None, Some(b)) => (b, b),
        (None, None) => {
            p.push(
                t.at,
                format!(
                    "{}: `{}` needs an operator to say which way is better, e.g. \"< {}\"",
                    key.field("target"),
                    t.text,
                    t.text
                ),
            );
            return (None, None);
        }
    };
    if t.unit != c.unit {
        p.push(
            key.at,
            format!(
                "{}: target `{}` is {} but critical `{}` is {}",
                key.whole(),
                t.text,
                t.unit.kind_name(),
                c.text,
                c.unit.kind_name()
            ),
        );
        return (None, None);
    }
    let loose = if op.0.lower_is_better() {
        t.value > c.value
    } else {
        t.value < c.value
    };
    if loose {
        p.push(key.at, format!(
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
            "`budget[1]` (metric `api.p95`): target `< 200ms` is looser than critical `100ms`",
            "`budget[2].metric` (metric `nope.x`): must be `<source>.<metric>` with a declared source (api, web)",
            "`budget[3]` (metric `api.p95`): the metric is budgeted twice",
            "`budget[4]`: unknown field `tagret`",
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
            e.contains(
                "test.toml:6:12: `budget[1].critical` (metric `api.a`): `300ms` needs an operator"
            ),
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
            e.contains("test.toml:19:1: `budget[5]` (metric `api.e`): needs a `target`"),
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
        assert_eq!(
            (r.creep, r.on_creep),
            (0.2, OnCreep::Warn),
            "creep follows regression"
        );
        assert_eq!(r.declared_unit, Some((Unit::Ms, 1.0)));
        assert_eq!(r.min_change, Some(5.0));
    }

    #[test]
    fn creep_defaults_to_the_regression_slack_and_may_be_set_per_gate_and_rule() {
        let rule = "[[budget]]\nmetric = \"api.b\"\ntarget = \"< 1ms\"\nregression = \"5%\"\ncreep = \"25%\"\non_creep = \"off\"\n";
        let creeps = |text: &str| -> Vec<(f64, OnCreep)> {
            let b = parse(text).unwrap();
            b.rules.iter().map(|r| (r.creep, r.on_creep)).collect()
        };
        assert_eq!(
            creeps(&format!("{MINIMAL}{rule}")),
            [(0.10, OnCreep::Warn), (0.25, OnCreep::Off)]
        );
        let gate = "[gate]\ncreep = \"15%\"\non_creep = \"fail\"\n";
        assert_eq!(
            creeps(&format!("{gate}{MINIMAL}{rule}")),
            [(0.15, OnCreep::Fail), (0.25, OnCreep::Off)]
        );
        let bad = format!("[gate]\ncreep = \"lots\"\non_creep = \"yell\"\n{MINIMAL}");
        let e = parse(&bad).unwrap_err().to_string();
        assert!(
            e.contains("2:9: `gate.creep`: `lots` must be a percentage"),
            "{e}"
        );
        assert!(
            e.contains("3:12: `gate.on_creep`: `yell` must be \"warn\", \"fail\" or \"off\""),
            "{e}"
        );
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

    /// The problems of `text`, each as `line:column: message`, in the order reported.
    fn problems(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .list
            .iter()
            .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
            .collect()
    }

    /// A valid budget with a section of each kind, which the tests below break one part at a
    /// time (tests/budget_errors.rs does the same through the binary).
    const VALID: &str = include_str!("../tests/fixtures/budget/every-section.toml");

    #[test]
    fn the_valid_budget_is_valid() {
        let b = parse(VALID).unwrap();
        assert_eq!(b.rules[0].line, 13);
    }

    #[test]
    fn a_gate_problem_points_at_its_value_or_its_key() {
        let text = VALID.replace(
            r#"name = "prod""#,
            r#"name = "prod"
regression = "ten""#,
        );
        assert_eq!(
            problems(&text),
            [r#"3:14: `gate.regression`: `ten` must be a percentage such as "10%""#]
        );
        let text = VALID.replace(r#"name = "prod""#, "name = \"prod\"\n  colour = 1");
        assert_eq!(
            problems(&text),
            ["3:3: `gate`: unknown field `colour`, expected one of `name`, `regression`, `confidence`, `on_regression`, `baseline`, `max_age`, `creep`, `on_creep`"]
        );
        let text = VALID.replace("[gate]", "gate = 2\n[other]");
        assert_eq!(
            problems(&text),
            [
                "2:2: `other`: unknown key (expected `[gate]`, `[sources.<name>]`, `[[budget]]` or `[[waiver]]`)",
                "1:8: `gate`: invalid type: integer `2`, expected struct RawGate",
            ]
        );
    }

    #[test]
    fn a_source_problem_points_at_its_name_its_header_or_its_value() {
        let text = VALID.replace("[sources.api]", "[sources.my-api]");
        assert_eq!(
            problems(&text),
            [
                "4:10: `sources.my-api`: a source name must start with a letter or `_` and hold only letters, digits and `_` (it is used in expressions)",
                "14:10: `budget[1].metric` (metric `api.p95`): must be `<source>.<metric>` with a declared source (db, my-api), or the rule needs an `expr`",
            ]
        );
        let text = VALID.replace(r#"path = "api.json""#, r#"format = "artilery""#);
        assert_eq!(
            problems(&text),
            [
                "5:10: `sources.api.format`: unknown format `artilery` (expected auto, artillery, lighthouse, json, locust, prometheus, k6, jmeter, hyperfine, esbuild, webpack, gatling, autocannon, vite, size-limit, dir)",
            ]
        );
        let text = VALID.replace(r#"path = "api.json""#, "");
        assert_eq!(
            problems(&text),
            ["4:1: `sources.api`: needs `path` (a report file or glob) or `url` (a Prometheus server)"]
        );
        let text = VALID.replace(r#"path = "api.json""#, r#"pth = "api.json""#);
        assert_eq!(
            problems(&text),
            ["5:1: `sources.api`: unknown field `pth`, expected one of `format`, `path`, `files`, `url`, `queries`, `timeout`"]
        );
    }

    #[test]
    fn a_queries_problem_points_into_the_queries_table() {
        let text = VALID.replace("p95 = 'histogram", "p95 = 1\np99 = 'histogram");
        assert_eq!(
            problems(&text),
            ["11:7: `sources.db`: invalid type: integer `1`, expected a string\nin `queries.p95`"]
        );
        let text = VALID.replace(r#"url = "http://127.0.0.1:9090""#, r#"path = "prom.json""#);
        assert_eq!(
            problems(&text),
            ["10:1: `sources.db.queries`: queries go with `url` (a live Prometheus); a saved response is one query"]
        );
        let text = VALID.replace("p95 = 'histogram_quantile(0.95, rate(x_bucket[5m]))'", "");
        assert_eq!(
            problems(&text),
            ["10:1: `sources.db.queries`: a Prometheus URL needs at least one named query, e.g. `[sources.db.queries] p95 = '…'`"]
        );
    }

    #[test]
    fn a_rule_problem_points_at_its_field_or_its_header() {
        let text = format!("{VALID}critical = \"100ms\"\nunit = \"parsec\"\n");
        assert_eq!(
            problems(&text),
            [
                r#"17:8: `budget[1].unit` (metric `api.p95`): unknown unit `parsec` (expected us, ms, s, B, KB, KiB, MB, MiB, %, /s or "")"#,
                "13:1: `budget[1]` (metric `api.p95`): target `< 200ms` is looser than critical `100ms`; the target is the stricter level (missed = warn, critical breached = fail)",
            ]
        );
        let text = VALID.replace(r#"metric = "api.p95""#, r#"label = "API""#);
        assert_eq!(
            problems(&text),
            ["13:1: `budget[1]`: missing field `metric`"]
        );
        let inline = format!(
            "budget = [\n  {{ metric = \"api.p95\", target = \"< 1s\" }},\n  {{ metric = \"api.p99\", tagret = \"< 1s\" }},\n]\n{}",
            &VALID[..VALID.find("[[budget]]").unwrap()]
        );
        assert_eq!(
            problems(&inline),
            ["3:25: `budget[2]`: unknown field `tagret`, expected one of `metric`, `label`, `expr`, `unit`, `target`, `critical`, `regression`, `confidence`, `on_regression`, `min_change`, `creep`, `on_creep`"]
        );
        let b = parse(&inline.replace("tagret", "target")).unwrap();
        assert_eq!((b.rules[0].line, b.rules[1].line), (2, 3));
    }

    #[test]
    fn a_missing_section_points_at_the_start_of_the_file() {
        assert_eq!(
            problems("[gate]\nname = \"x\"\n"),
            [
                "1:1: `sources`: no source declared (add a `[sources.<name>]` table)",
                "1:1: `budget`: no rule (add a `[[budget]]` table per metric)",
            ]
        );
    }

    #[test]
    fn a_syntax_error_points_where_toml_does() {
        assert_eq!(
            problems("[gate\nname = 1"),
            ["1:6: not valid TOML: invalid table header\nexpected `.`, `]`"]
        );
        // Columns count characters, not bytes, as toml's own message does.
        for text in [
            "[gate\nname = 1",
            "[gate]\nname = \"é€\" x\n",
            "[sources.api]\npath = \"a\"\npath = \"b\"\n",
            "\n\n  [[budget]\n",
            "name = \"never closed",
        ] {
            let toml = ImDocument::parse(text).unwrap_err().to_string();
            let p = &parse(text).unwrap_err().list[0];
            let at = format!("at line {}, column {}\n", p.line, p.column);
            assert!(toml.contains(&at), "{at:?} not in {toml:?}");
        }
    }

    #[test]
    fn every_problem_has_its_own_location_in_the_message() {
        let text = VALID
            .replace("[gate]", "colour = \"blue\"\n[gate]")
            .replace(r#"name = "prod""#, "name = \"a b\"")
            .replace("[sources.api]", "[sources.my-api]")
            .replace(r#"target = "< 200ms""#, "target = \"200ms\"");
        let e = parse(&text).unwrap_err();
        assert_eq!(
            e.to_string(),
            "budgets/test.toml: 5 problems in the budget
  - budgets/test.toml:1:1: `colour`: unknown key (expected `[gate]`, `[sources.<name>]`, `[[budget]]` or `[[waiver]]`)
  - budgets/test.toml:3:8: `gate.name`: `a b` must be letters, digits, `-`, `_` or `.` (it names the baseline file)
  - budgets/test.toml:5:10: `sources.my-api`: a source name must start with a letter or `_` and hold only letters, digits and `_` (it is used in expressions)
  - budgets/test.toml:15:10: `budget[1].metric` (metric `api.p95`): must be `<source>.<metric>` with a declared source (db, my-api), or the rule needs an `expr`
  - budgets/test.toml:16:10: `budget[1].target` (metric `api.p95`): `200ms` needs an operator to say which way is better, e.g. \"< 200ms\""
        );
    }

    #[test]
    fn lines_and_columns_are_found_in_one_pass_in_any_order() {
        let text = "ab\né€x\n\nz";
        assert_eq!(
            locate(text, &[10, 0, 5, 3, 99, 8, 9, 2, 4]),
            [
                (3, 1),
                (1, 1),
                (2, 2),
                (2, 1),
                (4, 2),
                (2, 3),
                (2, 4),
                (1, 3),
                (2, 1)
            ]
        );
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
