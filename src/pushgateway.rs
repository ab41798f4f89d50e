//! The verdict's OpenMetrics pushed to a Prometheus Pushgateway (`check --pushgateway URL`), where
//! a Prometheus scraping it keeps every gate's numbers over time (README "Trends in Prometheus
//! and Grafana").
//!
//! The one rule it keeps: pushing never decides anything. Every failure — a URL that is not one,
//! a refused connection, a silent or rejecting server — comes back as a one-line reason for a
//! warning, within [`DEADLINE`], and no message shows the URL's `user:password@`.
//!
//! The group is `job="perfgate"` plus the gate and, when known, the branch, sent with PUT, which
//! replaces the group's metrics: each verdict replaces the last of its gate and branch, and a rule
//! dropped from the budget does not linger. A label value that is not a plain path segment is
//! sent base64url-encoded (`/gate@base64/…`), the Pushgateway API's form for any value.

use std::io::Read as _;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::blocking::Client;

use crate::rest::{backoff, error_chain, one_line, redact_url as redact};

/// How long a push may take in all, retries included: a gate's job waits for nothing slower.
pub const DEADLINE: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The Pushgateway answers a push with an empty body or a short error; more is not read.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;
/// What the Pushgateway's text parser reads: OpenMetrics' `# EOF` is a comment to it.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Pushes `body` (OpenMetrics text) to the Pushgateway at `base` under `job="perfgate"` and
/// `grouping` (label name, value), replacing that group. `Ok` is the group's URL, `Err` why
/// nothing was pushed; both without credentials.
pub fn push(base: &str, grouping: &[(&str, &str)], body: &str) -> Result<String, String> {
    push_within(base, grouping, body, DEADLINE)
}

fn push_within(
    base: &str,
    grouping: &[(&str, &str)],
    body: &str,
    deadline: Duration,
) -> Result<String, String> {
    let url = group_url(base, grouping)?;
    let shown = redact(&url);
    let client = Client::builder()
        .user_agent(concat!("perfgate/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        // A redirect would resend the credentials of the URL elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("{shown}: {}", one_line(&error_chain(&e.without_url()), 0)))?;
    let end = Instant::now() + deadline;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let left = end.saturating_duration_since(Instant::now());
        let outcome = client
            .put(&url)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(body.to_owned())
            .timeout(left)
            .send();
        let (retry, why) = match outcome {
            Ok(response) => {
                let status = response.status().as_u16();
                let mut text = Vec::new();
                // The answer only explains a refusal; an unreadable one leaves the status.
                let _ = response.take(MAX_ANSWER_BYTES).read_to_end(&mut text);
                if (200..300).contains(&status) {
                    return Ok(shown);
                }
                let text = String::from_utf8_lossy(&text);
                let why = if text.trim().is_empty() {
                    one_line("", status)
                } else {
                    format!("HTTP {status}: {}", one_line(&text, status))
                };
                (status >= 500 || status == 429, why)
            }
            Err(e) if e.is_timeout() && !e.is_connect() => (false, "no answer".to_owned()),
            Err(e) => (true, one_line(&error_chain(&e.without_url()), 0)),
        };
        let wait = backoff(attempt);
        if !retry || Instant::now() + wait >= end {
            let tries = if attempt == 1 {
                String::new()
            } else {
                format!(" (after {attempt} attempts)")
            };
            let why = if why == "no answer" {
                format!("no answer within {} s", deadline.as_secs())
            } else {
                why
            };
            return Err(format!("{shown}: {why}{tries}"));
        }
        std::thread::sleep(wait);
    }
}

/// `base` + `/metrics/job/perfgate` + one `/name/value` per grouping label.
fn group_url(base: &str, grouping: &[(&str, &str)]) -> Result<String, String> {
    let parsed = reqwest::Url::parse(base.trim())
        .map_err(|e| format!("{:?}: not a URL ({e})", redact(base)))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "{:?}: not an http:// or https:// URL",
            redact(base)
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{:?}: the Pushgateway's base URL has no query or fragment",
            redact(base)
        ));
    }
    // The parsed form: percent-encoded, so nothing in it can break a line of a message.
    let mut url = format!(
        "{}/metrics/job/perfgate",
        parsed.as_str().trim_end_matches('/')
    );
    for (name, value) in grouping {
        url.push('/');
        url.push_str(&segment(name, value));
    }
    Ok(url)
}

/// One grouping label as the Pushgateway's path takes it: `name/value` when the value is a plain
/// path segment, else `name@base64/<base64url>` (an empty value is `=`, as its API says).
fn segment(name: &str, value: &str) -> String {
    let plain = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if plain {
        format!("{name}/{value}")
    } else if value.is_empty() {
        format!("{name}@base64/=")
    } else {
        format!("{name}@base64/{}", URL_SAFE_NO_PAD.encode(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_stay_readable_and_others_are_base64url() {
        assert_eq!(segment("gate", "prod"), "gate/prod");
        assert_eq!(segment("branch", "release-1.2"), "branch/release-1.2");
        // `/` would start a new label, `%` and spaces would need escaping the server may undo.
        assert_eq!(
            segment("branch", "feature/login"),
            format!("branch@base64/{}", URL_SAFE_NO_PAD.encode("feature/login"))
        );
        assert_eq!(segment("gate", ".."), "gate@base64/Li4");
        assert_eq!(segment("gate", ""), "gate@base64/=");
    }

    #[test]
    fn the_group_url_appends_to_the_base_path() {
        assert_eq!(
            group_url("https://pgw.example/prefix/", &[("gate", "web")]).as_deref(),
            Ok("https://pgw.example/prefix/metrics/job/perfgate/gate/web")
        );
        for bad in ["pgw.example:9091", "ftp://pgw.example", "http://h/?q=1", ""] {
            assert!(group_url(bad, &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_never_reach_a_message() {
        let err = group_url("ftp://user:s3cret@pgw.example", &[]).unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert_eq!(
            redact("https://u:p@pgw.example:9091/x"),
            "https://pgw.example:9091/x"
        );
    }
}
