//! Text from reports and budgets made safe: [`terminal`] for a terminal, [`md`] for markdown on
//! GitHub, [`md_gitlab`] for markdown on GitLab.
//!
//! The one rule it keeps: nothing from a file or a server reaches a terminal as a command, or
//! GitHub or GitLab as markup, a mention, a reference or a link.

/// Control, bidi and zero-width characters: a terminal acts on them (colours, OSC 8 links, a bell,
/// backspaces) or they reorder or hide the text around them.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Text of any length for a terminal (an error, a report's names): every `hidden` character but
/// newlines and tabs becomes U+FFFD `�`, so that two names differing only by one stay apart on
/// screen and nothing from a file or a server reaches the terminal as a command.
pub fn terminal(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c != '\n' && c != '\t' && hidden(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Longest text taken from a report or budget into a table cell.
const MAX_CELL_CHARS: usize = 200;

/// Strips control, bidi and zero-width characters and caps the length.
pub(super) fn sanitize(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !hidden(*c))
        .collect();
    if cleaned.chars().count() > MAX_CELL_CHARS {
        let mut cut: String = cleaned.chars().take(MAX_CELL_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        cleaned
    }
}

/// Text for a terminal: sanitized, nothing escaped.
pub(super) fn plain(s: &str) -> String {
    sanitize(s)
}

/// Text made inert for a markdown table cell on GitHub: HTML special characters and markdown
/// punctuation become entities, `@` cannot mention, `#` and `GH-` cannot link an issue (nor
/// `GHSA-` an advisory), and `https://` or `www.` cannot start a link. Each of these is broken by
/// one character written as an entity, which GitHub shows as the character itself; zero-width
/// characters would be invisible breaks, and `sanitize` drops them.
pub fn md(s: &str) -> String {
    escape(s, Flavor::GitHub)
}

/// Text made inert for a markdown table cell on GitLab. GitLab turns text into references after
/// the markdown is rendered, so an entity (decoded by then) does not stop one: `@user`, `#1`,
/// `!1`, `~label`, `%milestone`, `$1`, `&1`, `^alert` and `https:` are broken by a backslash
/// before the sigil, which GitLab's parser keeps as a span of its own (its "reference
/// characters": `$ % # & @ ! ~ ^ :`), followed by a word joiner (U+2060), which GitLab's later
/// filters (a link to a repository file, `GL-1`, `www.`) cannot see through either. Both read as
/// nothing on screen. The HTML special characters stay entities, as on GitHub.
pub fn md_gitlab(s: &str) -> String {
    escape(s, Flavor::GitLab)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    GitHub,
    GitLab,
}

/// U+2060 WORD JOINER: no width, no line break, and a text node GitLab's filters see as a break.
const JOINER: char = '\u{2060}';

fn escape(s: &str, flavor: Flavor) -> String {
    let chars: Vec<char> = sanitize(s).chars().collect();
    let gitlab = flavor == Flavor::GitLab;
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let before = &chars[..i];
        let url = c == ':' && chars[i + 1..].starts_with(&['/', '/']);
        let www = c == '.' && ends_with_word(before, "www");
        match c {
            ':' | '.' if gitlab && (url || www) => {
                out.push(JOINER);
                out.push(c);
            }
            ':' if url => out.push_str("&#58;"),
            '.' if www => out.push_str("&#46;"),
            '-' if gitlab && ends_with_word(before, "gl") => {
                out.push(c);
                out.push(JOINER);
            }
            '-' if ends_with_word(before, "gh") || ends_with_word(before, "ghsa") => {
                out.push_str("&#45;")
            }
            '&' if gitlab => {
                out.push_str("&amp;");
                out.push(JOINER);
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("&#124;"),
            '@' | '#' | '$' | '%' | '^' if gitlab => {
                out.push('\\');
                out.push(c);
                out.push(JOINER);
            }
            '@' => out.push_str("&#64;"),
            '#' => out.push_str("&#35;"),
            '`' => out.push_str("&#96;"),
            '*' | '_' | '[' | ']' | '\\' | '~' | '!' => {
                out.push('\\');
                out.push(c);
                if gitlab {
                    out.push(JOINER);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether `before` ends with `word` (ASCII, any case) standing as a word of its own: what GitHub
/// needs before it links `www.`, `GH-` or `GHSA-`.
fn ends_with_word(before: &[char], word: &str) -> bool {
    let n = word.len();
    before.len() >= n
        && before[before.len() - n..]
            .iter()
            .zip(word.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
        && before
            .len()
            .checked_sub(n + 1)
            .is_none_or(|j| !before[j].is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_text_is_inert_in_markdown() {
        let evil = "</details><img src=x onerror=alert(1)> @org/team | #12 `x`\u{202E}\n";
        let safe = md(evil);
        assert_eq!(
            safe,
            "&lt;/details&gt;&lt;img src=x onerror=alert(1)&gt; &#64;org/team &#124; &#35;12 &#96;x&#96; "
        );
        assert!(!safe.contains('<') && !safe.contains('@') && !safe.contains('|'));
        let long = "a".repeat(500);
        assert_eq!(md(&long).chars().count(), MAX_CELL_CHARS);
    }

    #[test]
    fn references_and_bare_links_cannot_autolink_on_github() {
        assert_eq!(
            md("see GH-2, gh-3 and GHSA-x4h9-2m7q-9v5c"),
            "see GH&#45;2, gh&#45;3 and GHSA&#45;x4h9-2m7q-9v5c"
        );
        assert_eq!(
            md("https://evil.example/x ftp://a.b (www.evil.example) WWW.e.x"),
            "https&#58;//evil.example/x ftp&#58;//a.b (www&#46;evil.example) WWW&#46;e.x"
        );
        // Inside a word none of them links, and they stay as written.
        assert_eq!(
            md("sigh-2 high-load awww.x p95: 3 a:/b"),
            "sigh-2 high-load awww.x p95: 3 a:/b"
        );
    }

    #[test]
    fn gitlab_references_mentions_and_links_are_broken_and_read_the_same() {
        let j = '\u{2060}';
        let safe =
            md_gitlab("@team #12 !3 ~perf %v1 $4 &5 ^alert GL-6 www.x.y https://e.x a|b <i>");
        assert_eq!(
            safe,
            format!(
                "\\@{j}team \\#{j}12 \\!{j}3 \\~{j}perf \\%{j}v1 \\${j}4 &amp;{j}5 \\^{j}alert \
                 GL-{j}6 www{j}.x.y https{j}://e.x a&#124;b &lt;i&gt;"
            )
        );
        // What is left once the escapes and joiners are read is the text as written.
        let shown: String = safe
            .replace("&amp;", "&")
            .replace("&#124;", "|")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace(['\\', j], "");
        assert_eq!(
            shown,
            "@team #12 !3 ~perf %v1 $4 &5 ^alert GL-6 www.x.y https://e.x a|b <i>"
        );
        // GitHub's output is unchanged by the GitLab flavour.
        assert_eq!(md("@a #1 !2 ~b $3"), "&#64;a &#35;1 \\!2 \\~b $3");
        assert_eq!(md_gitlab("p95 ms: 3"), "p95 ms: 3");
    }
}
