//! webpack `stats.json` (`webpack --json stats.json`, `stats.toJson()`; webpack 2–5, and tools that
//! write its shape such as rollup-plugin-webpack-stats): emitted asset sizes, what the entry points
//! load first, and gzip/brotli sizes of the files when they are on this machine.
//!
//! The one rule: a size comes from the stats; a compressed size only from files on disk that have
//! exactly the size the stats list, all of them or none.
//!
//! - `total` = every emitted asset, including webpack 5's nested `related` ones (LICENSE files),
//!   but not source maps (`*.map`, see [`is_source_map`]). `{type: "hidden assets"}` groups have no
//!   name and are not counted; the detail line says how many assets they hide.
//! - `initial` = the files of every entry point (webpack's `entrypoints.<name>.assets`, which are the
//!   files of its initial chunks), each file once. Stats without `entrypoints` but with `chunks`
//!   flagged `initial` (bundle-stats, rollup-plugin-webpack-stats) use those chunks' files.
//! - Files on disk: the first of `outputPath` (as the stats record it), the stats file's folder and
//!   that folder's `dist/` that holds every asset at its listed size. None does -> no `.gzip` or
//!   `.brotli` metric, and the detail line names the file that was not found.
//! - Multi-compiler stats (an array config: no top-level `assets`, a `children[]` of full stats):
//!   each child's metrics are prefixed with its `name` (`child<i>` when unnamed), and `total` and
//!   `initial` are also summed over the children. In a single compiler's stats `children` are child
//!   compilations (html-webpack-plugin, mini-css-extract-plugin) whose files the parent lists: ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::bundle::{self, is_source_map, Bundle, Sizes, Totals};
use super::{from_json, Parsed, Wanted};
use crate::model::Metrics;

/// A stats object as webpack 5.113.0 writes it (`stats.toJson()`); webpack 2.3 and 4.x differ in
/// `entrypoints.<name>.assets` (file names instead of `{name, size}`) and lack `errorsCount`.
#[derive(Debug, Deserialize)]
struct WebpackStats {
    version: Option<String>,
    name: Option<String>,
    #[serde(rename = "outputPath")]
    output_path: Option<String>,
    assets: Option<Vec<WebpackAsset>>,
    entrypoints: Option<BTreeMap<String, WebpackEntrypoint>>,
    chunks: Option<Vec<WebpackChunk>>,
    #[serde(default)]
    children: Vec<WebpackStats>,
    #[serde(rename = "errorsCount")]
    errors_count: Option<u64>,
    #[serde(default)]
    errors: Vec<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct WebpackAsset {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    #[serde(default, deserialize_with = "bundle::de_opt_bytes")]
    size: Option<u64>,
    /// How many assets a `hidden assets` group stands for (webpack 5).
    #[serde(rename = "filteredChildren")]
    filtered_children: Option<u64>,
    /// Files emitted beside this one (webpack 5: LICENSE, source map, compressed copies).
    #[serde(default, deserialize_with = "de_related")]
    related: Vec<WebpackAsset>,
}

/// `related` is a list of assets, or `{}` where there are none (webpack 5.1 and 5.74 stats in
/// webpack-bundle-analyzer's tests; 5.113 writes `[]`).
fn de_related<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<WebpackAsset>, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(d)? {
        Value::Array(items) => {
            serde_json::from_value(Value::Array(items)).map_err(D::Error::custom)
        }
        Value::Object(_) | Value::Null => Ok(Vec::new()),
        other => Err(D::Error::custom(format!(
            "expected a list of assets, found {other}"
        ))),
    }
}

#[derive(Debug, Deserialize)]
struct WebpackEntrypoint {
    /// webpack 5: `[{name, size}]`; webpack 2–4: file names.
    assets: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct WebpackChunk {
    initial: Option<bool>,
    #[serde(default)]
    files: Vec<String>,
}

/// Reads a webpack stats file; `path` locates the emitted files for the compressed sizes `wanted`.
pub(crate) fn parse(path: &Path, text: &str, wanted: &Wanted) -> Result<Parsed> {
    let stats: WebpackStats = from_json(text)?;
    let stats_dir = bundle::parent_dir(path);
    let mut notes = Vec::new();
    let errors = stats.errors_count.unwrap_or(stats.errors.len() as u64);
    if errors > 0 {
        notes.push(format!("build had {errors} errors"));
    }
    let mut metrics = Metrics::new();
    let multi = stats.assets.is_none() && !stats.children.is_empty();
    let mut left_out = false;
    if multi {
        let mut names = BTreeSet::new();
        let mut totals = Vec::with_capacity(stats.children.len());
        for (i, child) in stats.children.iter().enumerate() {
            let name = child.name.clone().unwrap_or_else(|| format!("child{i}"));
            if !names.insert(name.clone()) {
                bail!("field `children[{i}].name`: two compilers are named `{name}`");
            }
            let field = format!("children[{i}].");
            let (bundle, child_notes) = describe(child, &field, &stats_dir)?;
            notes.extend(child_notes.into_iter().map(|n| format!("{name}: {n}")));
            let child_wanted = child_wanted(wanted, &name);
            let child = bundle.insert_metrics(&mut metrics, &format!("{name}."), &child_wanted)?;
            left_out |= child.left_out;
            totals.push(child);
        }
        sum_children(&totals, &mut metrics)?;
    } else {
        let (bundle, single_notes) = describe(&stats, "", &stats_dir)?;
        notes.extend(single_notes);
        left_out = bundle.insert_metrics(&mut metrics, "", wanted)?.left_out;
    }
    let version = stats.version.as_deref().or_else(|| {
        stats
            .children
            .iter()
            .find_map(|c| c.version.as_deref())
            .filter(|_| multi)
    });
    let head = match version {
        Some(v) => format!("webpack {v}"),
        None => "webpack-shaped stats (no version)".to_string(),
    };
    Ok(Parsed {
        detail: Some(bundle::detail(head, &notes)),
        metrics,
        left_out,
        ..Parsed::default()
    })
}

/// What a multi-compiler's child `name` computes: its own wanted `<name>.` metrics, and its `total`
/// and `initial` sizes wherever the sum over the children of that size is wanted.
fn child_wanted(wanted: &Wanted, name: &str) -> Wanted {
    let mut child = wanted.clone();
    if let Wanted::Only(names) = wanted {
        for metric in names {
            if metric.starts_with("total.") || metric.starts_with("initial.") {
                child.add(&format!("{name}.{metric}"));
            }
        }
    }
    child
}

/// `total` and `initial` over a multi-compiler's children (`initial` only if every child has one).
fn sum_children(totals: &[Totals], metrics: &mut Metrics) -> Result<()> {
    Sizes::sum(totals.iter().map(|t| t.total))
        .context("`total` over the children")?
        .insert(metrics, "total");
    let initial: Option<Vec<Sizes>> = totals.iter().map(|t| t.initial).collect();
    if let Some(initial) = initial {
        Sizes::sum(initial)
            .context("`initial` over the children")?
            .insert(metrics, "initial");
    }
    Ok(())
}

/// One compiler's files, where they are, and notes for the detail line. `field` prefixes the field
/// paths in messages (`children[1].`).
fn describe(stats: &WebpackStats, field: &str, stats_dir: &Path) -> Result<(Bundle, Vec<String>)> {
    let Some(assets) = &stats.assets else {
        bail!(
            "field `{field}assets`: missing; write the stats with assets \
             (`webpack --json`, or `stats: {{assets: true}}`)"
        );
    };
    let mut bundle = Bundle::default();
    let mut hidden = 0;
    for (i, asset) in assets.iter().enumerate() {
        collect_asset(
            asset,
            &format!("{field}assets[{i}]"),
            &mut bundle,
            &mut hidden,
        )?;
    }
    let mut notes = Vec::new();
    if hidden > 0 {
        notes.push(format!(
            "assets hidden by the stats options, not counted: {hidden}"
        ));
    }
    if bundle.assets.is_empty() {
        if hidden > 0 {
            bail!(
                "field `{field}assets`: every asset is hidden by the stats options; \
                 write the stats with all assets (`stats: {{assetsSpace: Infinity}}`)"
            );
        }
        bail!("field `{field}assets`: empty, the build emitted no file (nothing to measure)");
    }
    if let Some(entrypoints) = &stats.entrypoints {
        let mut initial = BTreeSet::new();
        for (entry, ep) in entrypoints {
            let at = format!("{field}entrypoints.{entry}.assets");
            let Some(files) = &ep.assets else {
                bail!("field `{at}`: missing");
            };
            let mut names = BTreeSet::new();
            for (i, file) in files.iter().enumerate() {
                if let Some(name) = entry_file(file, &format!("{at}[{i}]"), &mut bundle)? {
                    names.insert(name);
                }
            }
            initial.extend(names.iter().cloned());
            bundle.entries.insert(entry.clone(), names);
        }
        if !entrypoints.is_empty() {
            bundle.initial = Some(initial);
        }
    } else if let Some(chunks) = stats
        .chunks
        .as_ref()
        .filter(|c| c.iter().any(|c| c.initial.is_some()))
    {
        let mut initial = BTreeSet::new();
        for (i, chunk) in chunks.iter().enumerate() {
            if chunk.initial != Some(true) {
                continue;
            }
            for (j, file) in chunk.files.iter().enumerate() {
                if is_source_map(file) {
                    continue;
                }
                if !bundle.assets.contains_key(file) {
                    bail!("field `{field}chunks[{i}].files[{j}]`: `{file}` is not in `assets`");
                }
                initial.insert(file.clone());
            }
        }
        bundle.initial = Some(initial);
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(out) = stats.output_path.as_deref().filter(|p| !p.is_empty()) {
        candidates.push(PathBuf::from(out));
    }
    candidates.push(stats_dir.to_path_buf());
    candidates.push(stats_dir.join("dist"));
    notes.extend(bundle.find_files(&candidates));
    Ok((bundle, notes))
}

/// Adds one `assets[]` item (and its `related` files) to the bundle.
fn collect_asset(
    asset: &WebpackAsset,
    at: &str,
    bundle: &mut Bundle,
    hidden: &mut u64,
) -> Result<()> {
    if asset.kind.as_deref() == Some("hidden assets") {
        *hidden += asset.filtered_children.unwrap_or(1);
        return Ok(());
    }
    let Some(name) = &asset.name else {
        bail!("field `{at}.name`: missing");
    };
    let Some(size) = asset.size else {
        bail!("field `{at}.size`: missing");
    };
    if !is_source_map(name) {
        if let Some(old) = bundle.assets.insert(name.clone(), size) {
            if old != size {
                bail!("field `{at}`: `{name}` is listed twice, with {old} and {size} bytes");
            }
        }
    }
    for (i, related) in asset.related.iter().enumerate() {
        collect_asset(related, &format!("{at}.related[{i}]"), bundle, hidden)?;
    }
    Ok(())
}

/// One item of `entrypoints.<name>.assets`: its file name (`None` for a source map). A file missing
/// from `assets` is added with the size the entry point gives, else its size is unknown: an error.
fn entry_file(file: &Value, at: &str, bundle: &mut Bundle) -> Result<Option<String>> {
    let (name, size) = match file {
        Value::String(name) => (name.clone(), None),
        Value::Object(o) => {
            let Some(name) = o.get("name").and_then(Value::as_str) else {
                bail!("field `{at}.name`: missing or not a string");
            };
            let size = match o.get("size") {
                None | Some(Value::Null) => None,
                Some(v) => {
                    let Some(n) = v.as_f64() else {
                        bail!("field `{at}.size`: {v} is not a number of bytes");
                    };
                    match bundle::bytes_from_f64(n) {
                        Ok(s) => Some(s),
                        Err(e) => bail!("field `{at}.size`: {e}"),
                    }
                }
            };
            (name.to_string(), size)
        }
        other => bail!("field `{at}`: expected a file name or {{name, size}}, found {other}"),
    };
    if is_source_map(&name) {
        return Ok(None);
    }
    if !bundle.assets.contains_key(&name) {
        match size {
            Some(s) => {
                bundle.assets.insert(name.clone(), s);
            }
            None => bail!("field `{at}`: `{name}` is not in `assets`, so its size is unknown"),
        }
    }
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ingest::bundle::bytes_metric as value;

    fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/webpack")
            .join(rel)
    }

    fn parse_all(path: &Path, text: &str) -> Result<Parsed> {
        parse(path, text, &Wanted::All)
    }

    fn read(rel: &str) -> Result<Parsed> {
        let path = fixture(rel);
        let text = std::fs::read_to_string(&path).expect("fixture");
        parse_all(&path, &text)
    }

    fn err(text: &str) -> String {
        match parse_all(Path::new("/nonexistent/stats.json"), text) {
            Ok(p) => panic!("accepted: {:?}", p.metrics),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn app_sizes_from_the_stats_and_the_files() {
        let p = read("app/stats.json").expect("parses");
        assert_eq!(p.detail.as_deref(), Some("webpack 5.113.0"));
        // assets[]: vendors 130254 (+ its LICENSE 336 under `related`), main.js 4347,
        // main.css 526, analytics 741, transcript 813.
        assert_eq!(value(&p, "total.raw"), 137_017.0);
        // entrypoints.main.assets = vendors + main.css + main.js (assetsSize 135127).
        assert_eq!(value(&p, "initial.raw"), 135_127.0);
        assert_eq!(value(&p, "entry.main.raw"), 135_127.0);
        assert_eq!(value(&p, "asset.vendors.5029144a.js.raw"), 130_254.0);
        assert_eq!(
            value(&p, "asset.vendors.5029144a.js.LICENSE.txt.raw"),
            336.0
        );
        // The files are in app/dist/ (or still at outputPath on the machine that built them).
        // size-limit measured the same three files at 40704 B with Google's C brotli; the Rust
        // encoder lands 0.3% above it.
        assert_eq!(value(&p, "initial.brotli"), 40_834.0);
        assert_eq!(value(&p, "initial.gzip"), 45_690.0);
        // Small files come out as `gzip -9 -n` writes them: 470 B.
        assert_eq!(value(&p, "asset.analytics.e24fba7b.js.gzip"), 470.0);
        assert!(value(&p, "total.gzip") > value(&p, "initial.gzip"));
    }

    #[test]
    fn multi_compiler_children_are_prefixed_and_summed() {
        let p = read("multi/stats.json").expect("parses");
        assert_eq!(p.detail.as_deref(), Some("webpack 5.113.0"));
        assert_eq!(value(&p, "admin.total.raw"), 7576.0);
        // widget.fa6eebe8.js 292 B; its source map (719 B) is not counted.
        assert_eq!(value(&p, "widget.total.raw"), 292.0);
        assert!(!p
            .metrics
            .contains_key("widget.asset.widget.fa6eebe8.js.map.raw"));
        assert_eq!(value(&p, "total.raw"), 7868.0);
        assert_eq!(value(&p, "initial.raw"), 7868.0);
        assert_eq!(
            value(&p, "total.gzip"),
            value(&p, "admin.total.gzip") + value(&p, "widget.total.gzip")
        );
        assert!(!p.metrics.contains_key("asset.widget.fa6eebe8.js.raw"));
    }

    #[test]
    fn failed_build_is_read_with_a_note_and_no_compressed_sizes() {
        // webpack did not emit main.js (errors), so no folder holds it: raw sizes only.
        let p = read("errors/stats.json").expect("parses");
        let detail = p.detail.clone().expect("detail");
        assert!(
            detail.starts_with("webpack 5.113.0; build had 1 errors"),
            "{detail}"
        );
        assert!(
            detail.contains("no gzip/brotli sizes: `main.js`"),
            "{detail}"
        );
        assert_eq!(value(&p, "total.raw"), 251.0);
        assert_eq!(value(&p, "initial.raw"), 251.0);
        assert!(!p.metrics.contains_key("total.gzip"));
        assert!(!p.metrics.contains_key("initial.brotli"));
    }

    #[test]
    fn a_file_of_another_size_is_not_taken_for_the_asset() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("main.js"), "stale").expect("write");
        let text = format!(
            r#"{{"version":"5.113.0","outputPath":{:?},"assets":[{{"name":"main.js","size":9}}],
               "entrypoints":{{"main":{{"assets":[{{"name":"main.js","size":9}}]}}}}}}"#,
            dir.path().display().to_string()
        );
        let p = parse_all(&dir.path().join("stats.json"), &text).expect("parses");
        assert_eq!(value(&p, "total.raw"), 9.0);
        assert!(!p.metrics.contains_key("total.gzip"));
        std::fs::write(dir.path().join("main.js"), "123456789").expect("write");
        let p = parse_all(&dir.path().join("stats.json"), &text).expect("parses");
        assert!(p.metrics.contains_key("total.gzip"));
    }

    #[test]
    fn webpack_4_entrypoints_list_file_names() {
        // The shape of webpack 4.6.0 stats: names only, source maps among them.
        let p = parse_all(
            Path::new("stats.json"),
            r#"{"version":"4.6.0","assets":[{"name":"runtime.js","size":1053},
                {"name":"main.js","size":152607},{"name":"main.js.map","size":900},
                {"name":"lazy.js","size":50}],
                "entrypoints":{"main":{"assets":["runtime.js","main.js","main.js.map"]}}}"#,
        )
        .expect("parses");
        assert_eq!(value(&p, "initial.raw"), 153_660.0);
        assert_eq!(value(&p, "total.raw"), 153_710.0);
    }

    #[test]
    fn hidden_asset_groups_are_skipped_and_said() {
        // The shape of webpack 5.1.0 stats with `{type: "hidden assets"}` and `related: {}`.
        let p = parse_all(
            Path::new("stats.json"),
            r#"{"version":"5.1.0","assets":[{"type":"hidden assets","filteredChildren":1,"size":29},
                {"type":"asset","name":"bundle.js","size":237,"related":{}}],
                "entrypoints":{"main":{"assets":[{"name":"bundle.js","size":237}]}}}"#,
        )
        .expect("parses");
        assert_eq!(value(&p, "total.raw"), 237.0);
        let detail = p.detail.clone().expect("detail");
        assert!(
            detail.contains("hidden by the stats options, not counted: 1"),
            "{detail}"
        );
    }

    #[test]
    fn stats_without_entrypoints_use_initial_chunks() {
        let p = parse_all(
            Path::new("stats.json"),
            r#"{"builtAt":1,"assets":[{"name":"a.js","size":10},{"name":"b.js","size":5}],
                "chunks":[{"id":0,"initial":true,"files":["a.js","a.js.map"]},
                          {"id":1,"initial":false,"files":["b.js"]}]}"#,
        )
        .expect("parses");
        assert_eq!(p.detail.as_deref(), Some("webpack-shaped stats (no version); no gzip/brotli sizes: `a.js` (at its listed size) is not in ., ./dist"));
        assert_eq!(value(&p, "initial.raw"), 10.0);
        assert_eq!(value(&p, "total.raw"), 15.0);
    }

    #[test]
    fn sizes_that_overflow_a_sum_are_errors_not_panics() {
        // Each under 2^53, together past it: the sum used to overflow u64 arithmetic and panic.
        let e =
            err(r#"{"assets":[{"name":"a.js","size":9007199254740992},{"name":"b.js","size":1}]}"#);
        assert!(e.contains("`total`") && e.contains("2^53"), "{e}");
        // An entry point may bring a file `assets` lacks, with a size of its own.
        let e = err(
            r#"{"assets":[{"name":"a.js","size":1}],"entrypoints":{"main":{"assets":[
                {"name":"b.js","size":18446744073709551615}]}}}"#,
        );
        assert!(
            e.contains("`entrypoints.main.assets[0].size`") && e.contains("2^53"),
            "{e}"
        );
        let e = err(
            r#"{"children":[{"name":"a","assets":[{"name":"a.js","size":9007199254740992}]},
                            {"name":"b","assets":[{"name":"b.js","size":9007199254740992}]}]}"#,
        );
        assert!(e.contains("`total` over the children"), "{e}");
    }

    #[test]
    fn bad_input_names_the_field() {
        let text = std::fs::read_to_string(fixture("app/stats.json")).expect("fixture");
        let truncated = err(&text[..text.len() / 2]);
        assert!(truncated.contains("EOF while parsing"), "{truncated}");
        let negative = err(r#"{"assets":[{"name":"a.js","size":-5}]}"#);
        assert!(
            negative.contains("`assets[0].size`") && negative.contains("-5"),
            "{negative}"
        );
        let wrong = err(r#"{"assets":[{"name":"a.js","size":"big"}]}"#);
        assert!(wrong.contains("`assets[0].size`"), "{wrong}");
        let nested =
            err(r#"{"assets":[{"name":"a.js","size":1,"related":[{"name":"a.txt","size":-1}]}]}"#);
        assert!(nested.contains("`assets[0].related`"), "{nested}");
        let unnamed = err(r#"{"assets":[{"size":1}]}"#);
        assert!(unnamed.contains("`assets[0].name`: missing"), "{unnamed}");
        let huge = err(r#"{"assets":[{"name":"a.js","size":1e19}]}"#);
        assert!(
            huge.contains("`assets[0].size`") && huge.contains("2^53"),
            "{huge}"
        );
        let empty = err(r#"{"version":"5.74.0","assets":[],"entrypoints":{}}"#);
        assert!(empty.contains("`assets`: empty"), "{empty}");
        let unknown = err(
            r#"{"assets":[{"name":"a.js","size":1}],"entrypoints":{"main":{"assets":["b.js"]}}}"#,
        );
        assert!(
            unknown.contains("`entrypoints.main.assets[0]`: `b.js` is not in `assets`"),
            "{unknown}"
        );
    }
}
