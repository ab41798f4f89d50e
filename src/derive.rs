//! Derived metrics: a budget rule's `expr`, evaluated with minijinja's expression engine over the
//! sources' metrics (`api['http.codes.5xx'] / api['http.requests'] * 100`).
//!
//! The one rule: an expression only reads metrics that exist. Every `source['metric']` it names is
//! checked before evaluation, so a misspelt metric is an error with the closest names, never an
//! undefined value that quietly becomes 0.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::model::Metrics;

/// A compiled-and-checked expression over source metrics.
#[derive(Debug, Clone)]
pub struct Expr {
    /// The expression as written.
    pub source: String,
    /// Every `(source, metric)` it subscripts, in order of appearance.
    pub refs: Vec<(String, String)>,
    /// Per source it names, the metrics it reads; `None` where it also reads the source otherwise
    /// than by `source['metric']` (`api[name]`, `api.values()`), so that which metrics it reads
    /// cannot be told without evaluating it.
    pub reads: BTreeMap<String, Option<BTreeSet<String>>>,
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
        let named = compiled.undeclared_variables(false);
        let mut unknown: Vec<String> = named
            .iter()
            .filter(|v| !sources.clone().any(|s| s == *v))
            .cloned()
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
        let (refs, rest) = subscripts(text);
        // What still names a source once every `source['metric']` is a constant reads it otherwise
        // (a remainder that does not parse reads every source it names).
        let otherwise = env
            .compile_expression(&rest)
            .map(|e| e.undeclared_variables(false))
            .unwrap_or_else(|_| named.clone());
        let reads = named
            .into_iter()
            .map(|source| {
                let metrics = (!otherwise.contains(&source)).then(|| {
                    refs.iter()
                        .filter(|(s, _)| *s == source)
                        .map(|(_, m)| m.clone())
                        .collect()
                });
                (source, metrics)
            })
            .collect();
        Ok(Expr {
            source: text.to_string(),
            refs,
            reads,
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

/// The `name['metric']` / `name["metric"]` subscripts of an expression whose metric is a plain
/// string (no escape, no concatenation), in order, and the expression with each of them replaced
/// by `0`.
fn subscripts(text: &str) -> (Vec<(String, String)>, String) {
    let bytes = text.as_bytes();
    let mut refs = Vec::new();
    let mut rest = String::with_capacity(text.len());
    let mut copied = 0;
    for (open, _) in text.match_indices('[') {
        let mut start = open;
        while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            start -= 1;
        }
        // A name, not a number nor an attribute (`x.api['a']`), and not inside the last match.
        if start == open
            || start < copied
            || bytes[start].is_ascii_digit()
            || (start > 0 && bytes[start - 1] == b'.')
        {
            continue;
        }
        let inner = &text[open + 1..];
        let quoted = inner.trim_start();
        let Some(quote) = quoted.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            continue;
        };
        let Some(len) = quoted[1..].find(quote) else {
            continue;
        };
        let metric = &quoted[1..1 + len];
        let after = quoted[1 + len + 1..].trim_start();
        if metric.contains('\\') || !after.starts_with(']') {
            continue;
        }
        let end = text.len() - after.len() + 1;
        refs.push((text[start..open].to_string(), metric.to_string()));
        rest.push_str(&text[copied..start]);
        rest.push('0');
        copied = end;
    }
    rest.push_str(&text[copied..]);
    (refs, rest)
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

    #[test]
    fn reads_the_subscripted_metrics_or_everything_when_it_cannot_tell() {
        let reads = |text: &str| {
            let e = Expr::compile(text, names().iter()).unwrap();
            e.reads
                .into_iter()
                .map(|(s, m)| (s, m.map(|m| m.into_iter().collect::<Vec<_>>())))
                .collect::<Vec<_>>()
        };
        let some = |s: &str, m: &[&str]| {
            (
                s.to_string(),
                Some(m.iter().map(|m| m.to_string()).collect()),
            )
        };
        assert_eq!(
            reads("web['initial.gzip'] / 2 + web[ \"total.brotli\" ]|round"),
            [some("web", &["initial.gzip", "total.brotli"])]
        );
        assert_eq!(
            reads("api['http.requests'] - web['total.raw']"),
            [some("api", &["http.requests"]), some("web", &["total.raw"])]
        );
        // A computed key, a concatenated one, or the source used whole: every metric of it.
        assert_eq!(
            reads("web['initial.' ~ 'gzip'] + api['errors.total']"),
            [some("api", &["errors.total"]), ("web".to_string(), None)]
        );
        assert_eq!(
            reads("web.values()|sum + web['total.raw']"),
            [("web".to_string(), None)]
        );
        assert_eq!(reads("api['a\\'b'] + 1"), [("api".to_string(), None)]);
        // A subscript on something else is not a read of the source.
        assert_eq!(reads("{'api': 1}['api'] + api['x']"), [some("api", &["x"])]);
    }
}
