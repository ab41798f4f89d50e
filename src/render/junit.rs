//! JUnit XML of a verdict (`check --format junit`, README "Output"): one `<testsuite>` per gate,
//! one `<testcase>` per metric row, for the test reports of GitLab, Jenkins and Azure DevOps.
//!
//! The one rule it keeps: every text from a report or a budget is XML-escaped, and the characters
//! XML 1.0 forbids (controls but tab and newlines, U+FFFE, U+FFFF) are dropped, so any name yields
//! a well-formed file.
//!
//! A failed metric (a breached critical, or a regression the gate fails on) is a `<failure>`; a
//! warning (a missed target, an inconclusive change) is `<skipped>` with the reason as its message,
//! because all three count and list skipped cases apart from passes (GitLab's "skipped", Jenkins'
//! "skipped", Azure DevOps' "Not executed"), where a passing case's `<system-out>` would be shown
//! only to whoever opens that case. What no metric shows (a stale baseline, a vanished page) is a
//! skipped case of its own, after the metrics', named after the warning ("Stale baseline").

use std::fmt::Write as _;

use super::context::{limit_text, method_text, value_text, verdict_change_text};
use super::escape::plain;
use super::text::kind;
use crate::judge::{MetricVerdict, Status, Verdict};
use crate::stats::Call;

/// The verdict as a JUnit XML document, newline-terminated.
pub fn to_junit(v: &Verdict) -> String {
    let (tests, failures, skipped) = (
        v.metrics.len() + v.warnings.len(),
        v.count(Status::Fail),
        v.count(Status::Warn) + v.warnings.len() + waived_passes(v),
    );
    let counts = format!(r#"tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}""#);
    let gate = xml(&plain(&v.gate));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, r#"<testsuites name="perfgate" {counts}>"#);
    let _ = writeln!(out, r#"  <testsuite name="{gate}" {counts}>"#);
    for m in &v.metrics {
        let name = if m.label == m.id {
            xml(&plain(&m.id))
        } else {
            xml(&format!("{} ({})", plain(&m.label), plain(&m.id)))
        };
        let _ = write!(out, r#"    <testcase classname="{gate}" name="{name}""#);
        match m.status {
            Status::Pass if m.waiver.is_some() => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n      <system-out>{}</system-out>\n    </testcase>",
                    xml(&format!("waived: {}", reason(m))),
                    xml(&facts(m))
                );
            }
            Status::Pass => out.push_str("/>\n"),
            Status::Fail => {
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                    kind(m),
                    xml(&reason(m)),
                    xml(&facts(m))
                );
            }
            Status::Warn => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n      <system-out>{}</system-out>\n    </testcase>",
                    xml(&format!("warning: {}", reason(m))),
                    xml(&facts(m))
                );
            }
        }
    }
    for w in &v.warnings {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{gate}\" name=\"{}\">\n      <skipped message=\"{}\"/>\n    </testcase>",
            xml(w.kind.title()),
            xml(&format!("warning: {}", plain(&w.message)))
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Metrics that pass because a waiver accepted their regression: skipped cases, so that the
/// waiver shows where the CI lists its skipped tests.
fn waived_passes(v: &Verdict) -> usize {
    v.metrics
        .iter()
        .filter(|m| m.status == Status::Pass && m.waiver.is_some())
        .count()
}

/// Why the metric is not a pass, in one sentence: "API P95 is 315 ms: critical < 300 ms
/// breached", "… ▲ 40.4 % from the baseline 113 ms: a regression".
fn reason(m: &MetricVerdict) -> String {
    let now = format!("{} is {}", plain(&m.label), value_text(m, m.value));
    match (kind(m), &m.baseline) {
        ("regression", Some(b)) => format!(
            "{now}, {} from the baseline {}: a regression",
            verdict_change_text(Some(b)),
            value_text(m, b.value)
        ),
        ("waived", Some(b)) => format!(
            "{now}, {} from the baseline {}: {}",
            verdict_change_text(Some(b)),
            value_text(m, b.value),
            m.waiver.as_ref().map_or(String::new(), |w| plain(&format!(
                "waived by {} ({}): {}",
                w.by, w.accepts, w.reason
            )))
        ),
        ("inconclusive", Some(b)) => format!(
            "{now}, {} from the baseline {}: worse than the slack, but the noise cannot tell",
            verdict_change_text(Some(b)),
            value_text(m, b.value)
        ),
        ("fail", _) => format!(
            "{now}: critical {} breached",
            limit_text(m, &m.critical, "-")
        ),
        _ => format!("{now}: target {} missed", limit_text(m, &m.target, "-")),
    }
}

/// Every number of the row, one per line: value, thresholds, baseline, change and how it was
/// tested.
fn facts(m: &MetricVerdict) -> String {
    let mut s = format!(
        "metric: {}\nvalue: {}\ntarget: {}\ncritical: {}\n",
        plain(&m.id),
        value_text(m, m.value),
        limit_text(m, &m.target, "none"),
        limit_text(m, &m.critical, "none"),
    );
    match &m.baseline {
        Some(b) => {
            let call = match b.call {
                Call::NoChange => "no change",
                Call::Regression => "regression",
                Call::Inconclusive => "inconclusive",
                Call::ThresholdOnly => "threshold only",
            };
            let _ = write!(
                s,
                "baseline: {}\nchange: {}\ncall: {call} ({})\n",
                value_text(m, b.value),
                verdict_change_text(Some(b)),
                method_text(b)
            );
        }
        None => s.push_str("baseline: none\n"),
    }
    if let Some(w) = &m.waiver {
        let _ = writeln!(
            s,
            "waived by: {}\naccepts: {}\nexpires: {}\nreason: {}\nstatus without the waiver: {}",
            plain(&w.by),
            plain(&w.accepts),
            w.expires.as_deref().unwrap_or("with the pull request"),
            plain(&w.reason),
            w.status.name()
        );
    }
    let _ = write!(s, "budget line: {}", m.line);
    s
}

/// Text escaped for an XML attribute or element, without the characters XML 1.0 forbids.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept in attributes as references: a parser normalizes a literal one to a space.
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn markup_is_escaped_and_characters_xml_forbids_are_dropped() {
        assert_eq!(
            xml("a<b> & \"c\" 'd'\u{0}\u{1b}\u{FFFF}\té\n"),
            "a&lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;&#9;é&#10;"
        );
    }
}
