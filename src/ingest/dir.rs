//! A built folder (`format = "dir"`): every file's size and its gzip/brotli sizes, and what the
//! site's `index.html` loads first.
//!
//! The one rule: the folder is the truth; a file that `index.html` loads but the folder lacks is an
//! error naming it, never a smaller `initial`.
//!
//! - `total` = every file under the folder except source maps (`*.map`) and hidden files and
//!   folders (`.vite/manifest.json`, `.DS_Store`: build metadata, not served). Symbolic links to
//!   folders are not followed.
//! - `initial` (only with an `index.html` at the top) = the files it references with
//!   `<script src>` (not `nomodule` ones, which modern browsers skip) and
//!   `<link rel="stylesheet"|"modulepreload" href>`; URLs of other hosts are not counted. A path
//!   starting with `/` is taken from the folder's top. `index.html` itself is not in `initial`,
//!   as no bundler counts its HTML page there.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::bundle::{is_source_map, Bundle};
use super::reader::{Detect, Reader, Whole};
use super::{Parsed, Wanted};
use crate::model::Metrics;

/// A built folder, its files measured as they are.
pub(crate) const READER: Reader = Reader {
    name: "dir",
    // A directory is this format's; no content is.
    detect: Detect::NONE,
    whole: Some(Whole::Dir(load)),
    stream: None,
};

/// The largest `index.html` read for the files it loads: a built page is kilobytes.
const MAX_PAGE_BYTES: u64 = 16 << 20;

/// Reads a built folder, compressing its files for the sizes `wanted`.
pub(crate) fn load(path: &Path, wanted: &Wanted) -> Result<Parsed> {
    let mut bundle = Bundle::default();
    walk(path, "", &mut bundle)?;
    if bundle.assets.is_empty() {
        bail!("no files (other than source maps and hidden files): nothing to measure");
    }
    let index = path.join("index.html");
    if index.is_file() {
        let cannot_read = || format!("{}: cannot read", index.display());
        let file = crate::file::open_regular(&index, "page")?.with_context(cannot_read)?;
        let html = crate::file::read_text(file, &index, MAX_PAGE_BYTES, "page", cannot_read)?;
        let mut initial = BTreeSet::new();
        for reference in page_loads(&html) {
            let Some(file) = local_file(&reference) else {
                continue;
            };
            if !bundle.assets.contains_key(&file) {
                bail!(
                    "index.html loads `{reference}`, which is not in this folder \
                     (is the site served from a sub-path? point the source at the folder it is served from)"
                );
            }
            initial.insert(file);
        }
        bundle.initial = Some(initial);
    }
    bundle.dir = Some(path.to_path_buf());
    let mut metrics = Metrics::new();
    let totals = bundle.insert_metrics(&mut metrics, "", wanted)?;
    Ok(Parsed {
        detail: Some("directory".to_string()),
        metrics,
        left_out: totals.left_out,
        ..Parsed::default()
    })
}

/// Adds every file under `dir` to `bundle.assets`, named by its `/`-separated path below the top.
fn walk(dir: &Path, prefix: &str, bundle: &mut Bundle) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!("{}: a file name that is not UTF-8", entry.path().display());
        };
        if name.starts_with('.') {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let kind = entry
            .file_type()
            .with_context(|| format!("{}: cannot read", entry.path().display()))?;
        if kind.is_dir() {
            walk(&entry.path(), &format!("{rel}/"), bundle)?;
        } else if !is_source_map(name) {
            let meta = std::fs::metadata(entry.path())
                .with_context(|| format!("{}: cannot read", entry.path().display()))?;
            if meta.is_file() {
                bundle.assets.insert(rel, meta.len());
            }
        }
    }
    Ok(())
}

/// The URLs an HTML page loads before it runs: module and classic scripts, stylesheets, modulepreloads.
fn page_loads(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let tag = rest[..name_len].to_ascii_lowercase();
        if tag != "script" && tag != "link" {
            continue;
        }
        let (attrs, tail) = attributes(&rest[name_len..]);
        rest = tail;
        if tag == "script" {
            // An inline script's text is not markup, whatever it contains.
            let end = find_ignore_case(rest, "</script").unwrap_or(rest.len());
            rest = &rest[end..];
        }
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let url = if tag == "script" {
            get("src").filter(|_| get("nomodule").is_none())
        } else {
            let rel = get("rel").unwrap_or("").to_ascii_lowercase();
            let loads = rel
                .split_ascii_whitespace()
                .any(|r| r == "stylesheet" || r == "modulepreload");
            get("href").filter(|_| loads)
        };
        if let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) {
            urls.push(url.to_string());
        }
    }
    urls
}

/// Where `needle` (ASCII) first occurs in `haystack`, any case. Scans in place: lower-casing the
/// rest of the page at every `<script>` made a page of many scripts quadratic.
fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The attributes of a tag (names lower-cased) from just after its name, and the text after `>`.
fn attributes(mut s: &str) -> (Vec<(String, String)>, &str) {
    let mut attrs = Vec::new();
    loop {
        s = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if s.is_empty() {
            return (attrs, s);
        }
        if let Some(tail) = s.strip_prefix('>') {
            return (attrs, tail);
        }
        let end = s
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>')
            .unwrap_or(s.len());
        let name = s[..end].to_ascii_lowercase();
        s = s[end..].trim_start();
        let mut value = String::new();
        if let Some(after) = s.strip_prefix('=') {
            let after = after.trim_start();
            let (v, tail) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let close = after
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .unwrap_or(after.len());
                    (&after[..close], &after[close..])
                }
            };
            value = v.to_string();
            s = tail;
        }
        attrs.push((name, value));
    }
}

/// The folder-relative path a page URL names, or `None` for another host or a `data:` URL. A path
/// that climbs out of the folder comes back as written, so that it matches no file of the folder.
fn local_file(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    if url.starts_with("//") || lower.contains("://") || lower.starts_with("data:") {
        return None;
    }
    let path = url.split(['?', '#']).next().unwrap_or("");
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Some(path.to_string());
                }
            }
            s => parts.push(s),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ingest::bundle::bytes_metric as value;

    #[test]
    fn built_site_total_and_what_index_html_loads() {
        // A built folder: the vite fixture's whole outDir, read as a plain directory.
        let site = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vite/dist");
        let p = load(&site, &Wanted::All).expect("reads");
        assert_eq!(p.detail.as_deref(), Some("directory"));
        // The vite build's 7 assets (136318 B) + index.html (667 B); .vite/manifest.json skipped.
        assert_eq!(value(&p, "total.raw"), 136_985.0);
        assert_eq!(value(&p, "asset.index.html.raw"), 667.0);
        assert!(!p.metrics.keys().any(|k| k.contains(".vite")));
        // <script src> index.js 3902, modulepreload runtime 599 + vendor 130343, stylesheet 444:
        // the same files as the vite manifest's initial set.
        assert_eq!(value(&p, "initial.raw"), 135_288.0);
        assert_eq!(value(&p, "initial.brotli"), 41_577.0);
        assert_eq!(value(&p, "asset.assets/vendor-B6F258Dm.js.raw"), 130_343.0);
    }

    #[test]
    fn page_loads_reads_the_tags_that_load_first() {
        let html = r#"<html><head>
            <!-- <script src="/old.js"></script> -->
            <script type=module src='/assets/a.js?v=1'></script>
            <script nomodule src="/legacy.js"></script>
            <script>const s = '<link rel="stylesheet" href="/fake.css">';</script>
            <LINK REL="preload stylesheet" HREF="./b.css">
            <link rel="icon" href="/favicon.ico">
            <link rel=modulepreload href="https://cdn.example/x.js">
            <script src="//cdn.example/y.js"></script>"#;
        assert_eq!(
            page_loads(html),
            [
                "/assets/a.js?v=1",
                "./b.css",
                "https://cdn.example/x.js",
                "//cdn.example/y.js"
            ]
        );
        assert_eq!(
            local_file("/assets/a.js?v=1").as_deref(),
            Some("assets/a.js")
        );
        assert_eq!(local_file("./b.css").as_deref(), Some("b.css"));
        assert_eq!(local_file("https://cdn.example/x.js"), None);
        assert_eq!(local_file("//cdn.example/y.js"), None);
        assert_eq!(local_file("../up.js").as_deref(), Some("../up.js"));
    }

    #[test]
    fn inline_scripts_end_at_a_closing_tag_in_any_case() {
        let html = "<script>x = '<script src=/no.js>'</SCRIPT ><script src=\"/é.js\"></script>";
        assert_eq!(page_loads(html), ["/é.js"]);
        assert_eq!(find_ignore_case("aB</ScRiPt", "</script"), Some(2));
        assert_eq!(find_ignore_case("é", "</script"), None);
    }

    #[test]
    fn missing_referenced_file_and_empty_folder_are_errors() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let e = format!("{:#}", load(tmp.path(), &Wanted::All).expect_err("empty"));
        assert!(e.contains("no files"), "{e}");
        std::fs::write(
            tmp.path().join("index.html"),
            r#"<script type="module" src="/assets/gone.js"></script>"#,
        )
        .expect("write");
        let e = format!("{:#}", load(tmp.path(), &Wanted::All).expect_err("missing"));
        assert!(
            e.contains("`/assets/gone.js`, which is not in this folder"),
            "{e}"
        );
    }

    #[test]
    fn without_index_html_there_is_no_initial() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("app.js"), "console.log(1)\n").expect("write");
        std::fs::write(tmp.path().join("app.js.map"), "{}").expect("write");
        let p = load(tmp.path(), &Wanted::All).expect("reads");
        assert_eq!(value(&p, "total.raw"), 15.0);
        assert!(p.metrics.contains_key("total.brotli"));
        assert!(!p.metrics.contains_key("initial.raw"));
        assert!(!p.metrics.keys().any(|k| k.contains(".map")));
    }
}
