//! Vite build manifest (`build.manifest: true`): the manifest names the files but has no sizes, so
//! every size is read from the built files beside it, with their gzip/brotli sizes.
//!
//! The one rule: every file the manifest lists must be on disk; one missing is an error naming it
//! (a manifest without its files measures nothing).
//!
//! - The files sit in the build's `outDir`: the manifest is `<outDir>/.vite/manifest.json` (Vite ≥ 5)
//!   or `<outDir>/manifest.json` (Vite ≤ 4); `outDir` is the folder above `.vite/`, else the
//!   manifest's own folder.
//! - `total` = every file the manifest lists (each chunk's `file`, `css` and `assets`). Files it does
//!   not list (the HTML pages, files copied from `public/`) are not counted.
//! - `initial` = the entries (`isEntry`), the chunks they `imports` statically, transitively, and the
//!   `css` of all of those. `dynamicImports` are lazy, and `assets` (images, fonts) are fetched when
//!   used, so neither is initial. `entry.<key>` is the same per entry, named by its manifest key
//!   (its source path, e.g. `index.html`), which is unique where `name` is not.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use super::bundle::{self, is_source_map, Bundle, Located};
use super::reader::{Detect, Reader, Sniff, Whole};
use super::{from_json, Parsed, Wanted};
use crate::model::Metrics;

/// Vite's build manifest and the built files it names.
pub(crate) const READER: Reader = Reader {
    name: "vite",
    detect: Detect {
        json: sniff,
        ..Detect::NONE
    },
    whole: Some(Whole::Bundle(parse)),
    stream: None,
};

/// An object of chunks, each naming its built `file`.
fn sniff(v: &Value) -> Option<Sniff> {
    let chunks = v.as_object()?;
    (!chunks.is_empty()
        && chunks
            .values()
            .all(|c| c.get("file").is_some_and(Value::is_string)))
    .then_some(Sniff::Read)
}

/// One manifest entry as Vite 8.3.8 writes it (same shape since Vite 2; `.vite/` since Vite 5).
#[derive(Debug, Deserialize)]
struct ViteChunk {
    /// The built file, relative to `outDir`.
    file: String,
    #[serde(rename = "isEntry", default)]
    is_entry: bool,
    /// Manifest keys of chunks this one imports statically.
    #[serde(default)]
    imports: Vec<String>,
    #[serde(default)]
    css: Vec<String>,
    #[serde(default)]
    assets: Vec<String>,
}

/// Reads a Vite manifest; the built files are found from `path` (see the module doc), and
/// compressed for the sizes `wanted`.
pub(crate) fn parse(path: &Path, input: &mut dyn BufRead, wanted: &Wanted) -> Result<Parsed> {
    let manifest: BTreeMap<String, ViteChunk> = from_json(input)?;
    if manifest.is_empty() {
        bail!("the manifest is empty: the build wrote no chunk (nothing to measure)");
    }
    let out_dir = out_dir(path);
    let mut listed = BTreeSet::new();
    for chunk in manifest.values() {
        listed.insert(chunk.file.as_str());
        listed.extend(chunk.css.iter().map(String::as_str));
        listed.extend(chunk.assets.iter().map(String::as_str));
    }
    listed.retain(|f| !is_source_map(f));
    if let Located::Missing { file, .. } = bundle::locate(
        std::slice::from_ref(&out_dir),
        listed.iter().map(|f| (*f, None)),
    ) {
        bail!(
            "`{file}`, listed in the manifest, is not in {} (the build's outDir: the manifest must \
             stay in <outDir>/.vite/ or <outDir>/, beside the files it lists)",
            out_dir.display()
        );
    }
    let mut bundle = Bundle::default();
    for file in listed {
        let at = out_dir.join(file);
        let meta =
            std::fs::metadata(&at).with_context(|| format!("{}: cannot read", at.display()))?;
        bundle.assets.insert(file.to_string(), meta.len());
    }
    let mut initial = BTreeSet::new();
    let mut any_entry = false;
    for (key, chunk) in &manifest {
        if !chunk.is_entry {
            continue;
        }
        any_entry = true;
        let files = closure(key, &manifest)?;
        initial.extend(files.iter().cloned());
        bundle.entries.insert(key.clone(), files);
    }
    if any_entry {
        bundle.initial = Some(initial);
    }
    bundle.dir = Some(out_dir);
    let mut metrics = Metrics::new();
    let totals = bundle.insert_metrics(&mut metrics, "", wanted)?;
    Ok(Parsed {
        detail: Some("vite manifest".to_string()),
        metrics,
        left_out: totals.left_out,
        ..Parsed::default()
    })
}

/// The build's outDir for a manifest at `path`.
fn out_dir(path: &Path) -> PathBuf {
    let dir = bundle::parent_dir(path);
    if dir.file_name().is_some_and(|n| n == ".vite") {
        bundle::parent_dir(&dir)
    } else {
        dir
    }
}

/// The files an entry loads first: its own and its static imports' `file` and `css`, transitively.
fn closure(entry: &str, manifest: &BTreeMap<String, ViteChunk>) -> Result<BTreeSet<String>> {
    let mut files = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut todo = vec![(entry, entry)];
    while let Some((key, importer)) = todo.pop() {
        if !seen.insert(key) {
            continue;
        }
        let Some(chunk) = manifest.get(key) else {
            bail!("field `{importer}.imports`: `{key}` is not a key of the manifest");
        };
        files.insert(chunk.file.clone());
        files.extend(chunk.css.iter().cloned());
        todo.extend(chunk.imports.iter().map(|i| (i.as_str(), key)));
    }
    files.retain(|f| !is_source_map(f));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::bundle::bytes_metric as value;

    fn dist() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vite/dist")
    }

    fn load(manifest: &Path) -> Result<Parsed> {
        let text = std::fs::read_to_string(manifest).expect("manifest");
        parse(manifest, &mut text.as_bytes(), &Wanted::All)
    }

    #[test]
    fn sizes_come_from_the_out_dir() {
        let p = load(&dist().join(".vite/manifest.json")).expect("parses");
        assert_eq!(p.detail.as_deref(), Some("vite manifest"));
        // assets/: vendor 130343, index.js 3902, rolldown-runtime 599, index.css 444,
        // analytics 395, transcript 357, charts 278 (index.html is not in the manifest).
        assert_eq!(value(&p, "total.raw"), 136_318.0);
        // index.html's entry: its file, its static imports (runtime, vendor) and its css.
        assert_eq!(value(&p, "initial.raw"), 135_288.0);
        assert_eq!(value(&p, "entry.index.html.raw"), 135_288.0);
        assert_eq!(value(&p, "asset.assets/vendor-B6F258Dm.js.raw"), 130_343.0);
        assert_eq!(value(&p, "initial.brotli"), 41_577.0);
        assert_eq!(value(&p, "initial.gzip"), 46_470.0);
    }

    #[test]
    fn vite_4_manifest_sits_in_the_out_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join("assets")).expect("mkdir");
        for f in ["index-CCOYQZan.js", "index-CRR3lhQ9.css"] {
            std::fs::copy(
                dist().join("assets").join(f),
                tmp.path().join("assets").join(f),
            )
            .expect("copy");
        }
        let manifest = tmp.path().join("manifest.json");
        std::fs::write(
            &manifest,
            r#"{"index.html":{"file":"assets/index-CCOYQZan.js","isEntry":true,"css":["assets/index-CRR3lhQ9.css"]}}"#,
        )
        .expect("write");
        let p = load(&manifest).expect("parses");
        assert_eq!(value(&p, "initial.raw"), 3902.0 + 444.0);
    }

    #[test]
    fn a_listed_file_missing_on_disk_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join(".vite")).expect("mkdir");
        let manifest = tmp.path().join(".vite/manifest.json");
        std::fs::copy(dist().join(".vite/manifest.json"), &manifest).expect("copy");
        let e = format!("{:#}", load(&manifest).expect_err("no files"));
        assert!(
            e.contains("`assets/") && e.contains("listed in the manifest, is not in"),
            "{e}"
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let text = std::fs::read_to_string(dist().join(".vite/manifest.json")).expect("manifest");
        let e = |t: &str| {
            format!(
                "{:#}",
                parse(
                    Path::new("/nonexistent/manifest.json"),
                    &mut t.as_bytes(),
                    &Wanted::All
                )
                .expect_err("bad")
            )
        };
        let truncated = e(&text[..text.len() / 2]);
        assert!(truncated.contains("EOF while parsing"), "{truncated}");
        let no_file = e(r#"{"index.html":{"name":"index","isEntry":true}}"#);
        assert!(
            no_file.contains("index.html") && no_file.contains("missing field `file`"),
            "{no_file}"
        );
        let wrong = e(r#"{"index.html":{"file":"a.js","css":"a.css"}}"#);
        assert!(wrong.contains("`index.html.css`"), "{wrong}");
        assert!(e("{}").contains("empty"));
    }
}
