//! The comment template: the embedded default ([`DEFAULT_TEMPLATE`]), its [`marker`], and
//! [`Template`], compiled at load in an environment with perfgate's filters.
//!
//! The one rule it keeps: templates run with strict undefined, so a misspelt field fails with its
//! line, and every report- or budget-controlled text goes through the `md` filter.

use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use minijinja::{Environment, UndefinedBehavior};

use super::context::context;
use super::escape::{md, md_gitlab};
use super::json_out::SourceInfo;
use crate::judge::Verdict;

/// The hidden marker that leads a gate's comment, by which a CI provider finds the comment again to
/// update it. Owned here, with the template that writes it and the shrinker that keeps it. Gate
/// names are restricted to `[A-Za-z0-9._-]` by the budget and by the JSON verdict's reader, so a
/// name cannot close the HTML comment.
pub fn marker(gate: &str) -> String {
    format!("<!-- perfgate:gate={gate} -->")
}

/// The default comment template, embedded so the binary needs no files at run time.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../templates/comment.md.j2");

/// A template environment with perfgate's filters, strict about undefined values.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.add_filter("md", |s: String| md(&s));
    env
}

/// A compiled comment template: parsed when loaded, so a bad template fails before any work.
pub struct Template {
    env: Environment<'static>,
    /// The path that names it in errors.
    name: String,
    /// Its text, to quote the expression a render error is about.
    text: String,
}

impl Template {
    /// Compiles template text; `name` (a path) names it in errors.
    pub fn compile(name: &str, text: String) -> Result<Template> {
        let mut env = environment();
        env.add_template_owned("comment", text.clone())
            .map_err(|e| {
                anyhow::anyhow!("{name}: the template does not compile: {}", describe(&e))
            })?;
        Ok(Template {
            env,
            name: name.to_string(),
            text,
        })
    }

    /// The embedded default template.
    pub fn default_comment() -> Result<Template> {
        Template::compile("templates/comment.md.j2", DEFAULT_TEMPLATE.to_string())
    }

    /// The same template with GitLab's escaping in its `md` filter ([`md_gitlab`]), for a note
    /// on a merge request.
    pub fn for_gitlab(mut self) -> Template {
        self.env.add_filter("md", |s: String| md_gitlab(&s));
        self
    }

    /// Renders the markdown report.
    pub fn render(&self, v: &Verdict, sources: &[SourceInfo]) -> Result<String> {
        let tmpl = self
            .env
            .get_template("comment")
            .context("the comment template")?;
        tmpl.render(context(v, sources)).map_err(|e| {
            let expr = e.range().and_then(|r| self.text.get(r));
            match (e.kind(), expr, e.line()) {
                // minijinja's own message, "undefined value (in comment:2)", names neither.
                (minijinja::ErrorKind::UndefinedError, Some(expr), Some(line)) => anyhow::anyhow!(
                    "{}:{line}: rendering the comment template: `{expr}` is undefined (a misspelt \
                     variable or field; the README's Templates section lists them)",
                    self.name
                ),
                _ => anyhow::anyhow!(
                    "{}: rendering the comment template: {}",
                    self.name,
                    describe(&e)
                ),
            }
        })
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    if let Some(line) = e.line() {
        if !s.contains("line") {
            let _ = write!(s, " (line {line})");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::{BaselineVerdict, MetricVerdict, Status, Verdict};
    use crate::model::Unit;
    use crate::stats::{Call, Method};

    #[test]
    fn a_template_sees_the_comparison_as_the_json_verdict_has_it() {
        let baseline = BaselineVerdict {
            value: 100.0,
            change: Some(0.25),
            tested_change: Some(0.2),
            regression: true,
            significant: true,
            p_value: Some(0.002),
            runs: 3,
            method: Method::PredictionInterval,
            call: Call::Regression,
            cv: Some(0.04),
            detectable: Some(0.12),
            runs_needed: None,
            slack: 0.1,
            history: vec![98.0, 100.0, 103.0],
            left_out: 0,
            environment: Vec::new(),
            pairs: None,
            history_commits: Vec::new(),
        };
        let v = Verdict {
            gate: "t".into(),
            verdict: Status::Fail,
            metrics: vec![MetricVerdict {
                id: "api.p95".into(),
                rule: "api.p95".into(),
                page: None,
                label: "API P95".into(),
                unit: Unit::Ms,
                value: 125.0,
                samples: Vec::new(),
                runs: 1,
                target: None,
                critical: None,
                budget_status: Status::Pass,
                status: Status::Fail,
                baseline: Some(baseline),
                waiver: None,
                creep: None,
                line: 1,
            }],
            baseline_runs: 3,
            warnings: Vec::new(),
            baseline_source: None,
            against: Vec::new(),
        };
        let t = Template::compile(
            "t.j2",
            "{% for m in metrics %}{{ m.baseline.value }} {{ m.baseline.change }} {{ m.baseline.tested_change }} {{ m.baseline.call }} \
             {{ m.baseline.cv }} {{ m.baseline.runs_needed is none }} {{ m.baseline.history | join(',') }} \
             {{ m.baseline.method_text }}{% endfor %}"
                .into(),
        )
        .expect("compiles");
        assert_eq!(
            t.render(&v, &[]).expect("renders"),
            "100.0 0.25 0.2 regression 0.04 True 98.0,100.0,103.0 \
             Student-t prediction interval over 3 runs, one-sided p = 0.002"
        );
    }

    #[test]
    fn a_bad_template_fails_at_load_with_its_line() {
        let e = Template::compile("t.j2", "line one\n{% for x in %}\n".into())
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("t.j2: the template does not compile")
                && e.to_string().contains("line 2"),
            "{e}"
        );
    }
}
