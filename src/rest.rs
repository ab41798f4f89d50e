//! What the CI providers' REST clients ([`crate::github`], [`crate::gitlab`]) share: the token
//! that nothing may print ([`Token`]), what an upsert of the sticky note did ([`Posted`]), the
//! backoff between retries, an error message cut to one short line, and the token scrubbed from
//! a text; and, with the Prometheus source and the Pushgateway push, a URL's credentials cut from
//! what is shown.
//!
//! The one rule it keeps: it imports none of ours, so each provider uses it without a cycle.

use std::fmt;
use std::time::Duration;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(16);
// An error message from a server (or a proxy's HTML page) is shown, not dumped.
pub(crate) const MAX_MESSAGE_CHARS: usize = 300;

/// A CI provider's token, which nothing may print: its `Debug` is `<redacted>`.
#[derive(Clone)]
pub(crate) struct Token(pub(crate) String);

impl Token {
    /// The token in the variable `name`, refused (naming the variable, never the value) when it
    /// holds what an HTTP header cannot carry.
    pub(crate) fn from_var(name: &str, value: &str) -> anyhow::Result<Token> {
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            anyhow::bail!(
                "{name} holds characters a token cannot have (spaces or control characters)"
            );
        }
        Ok(Token(value.to_owned()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What an upsert of the gate's sticky comment (GitHub) or note (GitLab) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Posted {
    /// No comment of this gate existed; this one was created.
    Created { id: u64 },
    /// The gate's comment was edited in place.
    Updated { id: u64 },
    /// The gate's comment already had exactly this body; nothing was sent.
    Unchanged { id: u64 },
}

impl Posted {
    /// The id of the gate's comment.
    pub fn id(&self) -> u64 {
        match *self {
            Posted::Created { id } | Posted::Updated { id } | Posted::Unchanged { id } => id,
        }
    }
}

/// The wait before retry number `attempt` (1, 2…) when the server named none: 1 s, doubling, at
/// most 16 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(MAX_BACKOFF)
}

/// The first line of a text, without surrounding blanks and leading empty lines.
pub(crate) fn first_line(text: &str) -> &str {
    text.trim_start().lines().next().unwrap_or("").trim()
}

/// A server's error message on one line, without control characters, cut to
/// [`MAX_MESSAGE_CHARS`]; an empty one says so.
pub(crate) fn one_line(raw: &str, status: u16) -> String {
    let one_line: String = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if one_line.is_empty() {
        return format!("HTTP {status} with an empty body");
    }
    match one_line.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// An error and its sources on one line: a client library's own `Display` often says only
/// "GitHub" or "error sending request".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The URL with any `user:password@` removed, for messages and outputs.
pub(crate) fn redact_url(url: &str) -> String {
    let url = url.trim();
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
        None => url.to_string(),
    }
}

/// `text` with every occurrence of the token replaced by `***`.
pub(crate) fn scrub(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_16_s() {
        let waits: Vec<u64> = (1..=7).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 16, 16]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn messages_are_one_short_line() {
        let html = format!("<html>\n<body>{}</body></html>", "x".repeat(1000));
        let m = one_line(&html, 502);
        assert!(!m.contains('\n'));
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(m.ends_with('…'));
        assert_eq!(one_line(" \n", 502), "HTTP 502 with an empty body");
        assert_eq!(one_line("a\u{7}b\n c", 400), "ab c");
    }

    #[test]
    fn the_token_is_scrubbed_everywhere() {
        assert_eq!(scrub("t=abc; again abc", "abc"), "t=***; again ***");
        assert_eq!(scrub("nothing", ""), "nothing");
    }
}
