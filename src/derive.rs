//! Derived metrics: a budget rule's `expr`, evaluated with minijinja's expression engine over the
//! sources' metrics (`api['http.codes.5xx'] / api['http.requests'] * 100`).
//!
//! The one rule: an expression only reads metrics that exist. Every `source['metric']` it names is
//! checked before evaluation, so a misspelt metric is an error with the closest names, never an
//! undefined value that quietly becomes 0.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::model::Metrics;

/// A compiled-and-checked expression over source metrics.
#[derive(Debug, Clone)]
pub struct Expr {
    /// The expression as written.
    pub source: String,
    /// Every `(source, metric)` it subscripts, in order of appearance.
    pub refs: Vec<(String, String)>,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

impl Expr {
    /// Compiles `text` and checks that it names only the given sources.
    pub fn compile<'a>(
        text: &str,
        sources: impl Iterator<Item = &'a String> + Clone,
    ) -> Result<Expr, String> {
        let env = environment();
        let compiled = env
            .compile_expression(text)
            .map_err(|e| format!("`{text}` does not parse: {}", describe(&e)))?;
        let mut unknown: Vec<String> = compiled
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !sources.clone().any(|s| s == v))
            .collect();
        unknown.sort();
        if !unknown.is_empty() {
            let known: Vec<&str> = sources.map(String::as_str).collect();
            return Err(format!(
                "`{text}` names {} which {} no source (sources: {})",
                unknown
                    .iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if unknown.len() == 1 { "is" } else { "are" },
                known.join(", ")
            ));
        }
        Ok(Expr {
            source: text.to_string(),
            refs: subscripts(text),
        })
    }

    /// Evaluates the expression over the sources' metrics. Errors say which metric is missing (with
    /// the closest names) or why the result is not a number.
    pub fn eval(&self, sources: &BTreeMap<String, Metrics>) -> Result<f64, String> {
        for (source, metric) in &self.refs {
            let Some(metrics) = sources.get(source) else {
                continue;
            };
            if !metrics.contains_key(metric) {
                return Err(format!(
                    "`{source}['{metric}']` is not a metric of source `{source}`{}",
                    closest_hint(metric, metrics.keys().map(String::as_str))
                ));
            }
        }
        let ctx: BTreeMap<&str, BTreeMap<&str, f64>> = sources
            .iter()
            .map(|(s, ms)| {
                (
                    s.as_str(),
                    ms.iter().map(|(k, m)| (k.as_str(), m.value)).collect(),
                )
            })
            .collect();
        let env = environment();
        let compiled = env
            .compile_expression(&self.source)
            .map_err(|e| describe(&e))?;
        let value: Value = compiled.eval(ctx).map_err(|e| describe(&e))?;
        let number = f64::try_from(value.clone())
            .map_err(|_| format!("`{}` gave {value}, not a number", self.source))?;
        if value.is_number() && number.is_finite() {
            Ok(number)
        } else {
            Err(format!(
                "`{}` gave {value}, not a finite number (a division by zero?)",
                self.source
            ))
        }
    }
}

/// minijinja's error text, with its detail when it has one.
fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{} ({d})", e.kind()),
        None => e.to_string(),
    }
}

/// The `name['metric']` / `name["metric"]` subscripts in an expression, in order.
fn subscripts(text: &str) -> Vec<(String, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' {
            let name_end = i;
            let mut name_start = i;
            while name_start > 0
                && (bytes[name_start - 1].is_ascii_alphanumeric() || bytes[name_start - 1] == b'_')
            {
                name_start -= 1;
            }
            let rest = text[i + 1..].trim_start();
            let quote = rest.chars().next();
            if name_start < name_end && matches!(quote, Some('\'' | '"')) {
                let q = quote.unwrap_or('\'');
                if let Some(end) = rest[1..].find(q) {
                    out.push((
                        text[name_start..name_end].to_string(),
                        rest[1..1 + end].to_string(),
                    ));
                }
            }
        }
        i += 1;
    }
    out
}

/// ", closest: `a`, `b`" for the names most like `wanted`, or "" when none is close.
pub fn closest_hint<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> String {
    let close = closest(wanted, names);
    if close.is_empty() {
        String::new()
    } else {
        format!(
            "; closest: {}",
            close
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Up to three names most like `wanted`, best first. Jaro–Winkler catches shared prefixes
/// (`http.codes.5xx` for `http.code.5xx`); Damerau–Levenshtein catches swapped characters in short
/// names (`p95` for `p59`), which Jaro's matching window misses.
pub fn closest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = names
        .map(|n| {
            let jw = strsim::jaro_winkler(wanted, n);
            let dl = strsim::normalized_damerau_levenshtein(wanted, n);
            (jw.max(dl), n)
        })
        .filter(|(s, _)| *s >= 0.66)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Measurement;

    fn sources() -> BTreeMap<String, Metrics> {
        let mut api = Metrics::new();
        api.insert("http.requests".into(), Measurement::count(2000.0));
        api.insert("http.codes.5xx".into(), Measurement::count(6.0));
        api.insert("errors.total".into(), Measurement::count(4.0));
        api.insert("http.codes.500".into(), Measurement::count(6.0));
        BTreeMap::from([("api".to_string(), api)])
    }

    fn names() -> Vec<String> {
        vec!["api".to_string(), "web".to_string()]
    }

    #[test]
    fn evaluates_the_spec_error_rate() {
        let e = Expr::compile(
            "(api['http.codes.5xx'] + api['errors.total']) / api['http.requests'] * 100",
            names().iter(),
        )
        .unwrap();
        assert_eq!(e.refs.len(), 3);
        assert_eq!(e.eval(&sources()).unwrap(), 0.5);
    }

    #[test]
    fn a_misspelt_metric_lists_the_closest_names() {
        let e = Expr::compile(
            "api[\"http.code.5xx\"] / api['http.requests']",
            names().iter(),
        )
        .unwrap();
        let err = e.eval(&sources()).unwrap_err();
        assert!(
            err.contains(
                "`api['http.code.5xx']` is not a metric of source `api`; closest: `http.codes.5xx`"
            ),
            "{err}"
        );
    }

    #[test]
    fn unknown_sources_and_syntax_errors_fail_at_compile_time() {
        let err = Expr::compile("apx['a'] + 1", names().iter()).unwrap_err();
        assert!(
            err.contains("names `apx` which is no source (sources: api, web)"),
            "{err}"
        );
        let err = Expr::compile("api['a'] +", names().iter()).unwrap_err();
        assert!(err.contains("does not parse"), "{err}");
    }

    #[test]
    fn division_by_zero_is_an_error_not_infinity() {
        let e = Expr::compile(
            "api['http.requests'] / (api['errors.total'] - 4)",
            names().iter(),
        )
        .unwrap();
        let err = e.eval(&sources()).unwrap_err();
        assert!(
            err.contains("not a finite number") || err.contains("zero"),
            "{err}"
        );
    }
}
