//! Render: a [`Verdict`](crate::judge::Verdict) as text for a terminal, markdown for the pull
//! request, JSON, JUnit XML or OpenMetrics (README, "Output"), one file per concern:
//!
//! | file | owns |
//! |---|---|
//! | `json_out.rs` | the JSON verdict written: [`JsonVerdict`], [`to_json`] |
//! | `json_in.rs` | the JSON verdict read back and validated: [`parse_verdict`], [`SavedVerdict`] |
//! | `annotations.rs` | which metrics become workflow-command [`annotations`] |
//! | `context.rs` | the template API: [`Context`], [`Row`], [`BaselineRow`], [`CreepRow`], charts |
//! | `template.rs` | [`Template`], its environment, [`DEFAULT_TEMPLATE`] and the comment's [`marker`] |
//! | `fit.rs` | the shrinker that caps a rendered comment: [`fit_body`] |
//! | `text.rs` | the terminal table [`to_text`] and the one-line [`summary`] |
//! | `history.rs` | `baseline show`: [`history_text`], [`history_json`] |
//! | `format.rs` | aligned tables and [`format_value`] |
//! | `escape.rs` | [`terminal`] and [`md`]: text from files made inert |
//! | `metrics.rs` | the `metrics` listing: [`metrics_text`], [`metrics_json`] |
//! | `junit.rs` | JUnit XML for CI test reports: [`to_junit`] |
//! | `openmetrics.rs` | OpenMetrics text for GitLab's metrics report and Prometheus: [`to_openmetrics`] |
//!
//! The one rule: what users depend on has its own types. [`JsonVerdict`] is the JSON contract and
//! [`Context`] is the template API; both are built here from the verdict and change only by adding
//! fields. [`parse_verdict`] reads the JSON back (for `perfgate comment`) into a verdict, trusting
//! none of it: every field is validated, and its text goes through the same escaping. Templates run
//! with strict undefined, and every report- or budget-controlled text is made inert by the `md`
//! filter before it reaches markdown.
//!
//! The template side (the comment's marker and the shrinker that knows the template's words) is
//! owned here; a CI provider ([`crate::github`]) imports it, never the other way round.

mod annotations;
mod context;
mod escape;
mod fit;
mod format;
mod history;
mod json_in;
mod json_out;
mod junit;
mod metrics;
mod openmetrics;
mod template;
mod text;

pub use annotations::annotations;
pub use context::{context, BaselineRow, Context, CreepRow, Row};
pub use escape::{md, md_gitlab, terminal};
pub use fit::{fit_body, TRUNCATION_NOTE};
pub use format::{format_value, format_value_as};
pub use history::{history_json, history_text, HistorySummary};
pub use json_in::{parse_verdict, SavedVerdict};
pub use json_out::{
    to_json, Counts, GithubRun, JsonLimit, JsonMetric, JsonVerdict, SourceInfo, VERDICT_SCHEMA,
};
pub use junit::to_junit;
pub use metrics::{metrics_json, metrics_text, METRICS_LIST_SCHEMA};
pub use openmetrics::{gate_label, to_openmetrics};
pub use template::{marker, Template, DEFAULT_TEMPLATE};
pub use text::{summary, to_text};
