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
//! - An asset whose size is not a whole number of bytes (a string, negative, past 2^53) is
//!   dropped with the field (see [`Parsed::dropped`]), and so is every sum that would add it
//!   (`total`, `initial`, `entry.<name>`, the children's `total` and `initial`): never a partial
//!   sum. An asset without a name or a size, or listed twice with two sizes, refuses the file.
//! - Multi-compiler stats (an array config: no top-level `assets`, a `children[]` of full stats):
//!   each child's metrics are prefixed with its `name` (`child<i>` when unnamed), and `total` and
//!   `initial` are also summed over the children. In a single compiler's stats `children` are child
//!   compilations (html-webpack-plugin, mini-css-extract-plugin) whose files the parent lists: ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::bundle::{self, is_source_map, Bundle, Sizes, Totals};
use super::reader::{names_key, Detect, Reader, Sniff, Whole};
use super::{from_json, Parsed, Wanted};
use crate::model::Metrics;

/// webpack's stats JSON and the built files it names.
pub(crate) const READER: Reader = Reader {
    name: "webpack",
    detect: Detect {
        json: sniff,
        broken_json: sniff_broken,
        ..Detect::NONE
    },
    whole: Some(Whole::Bundle(parse)),
    stream: None,
};

/// The keys of stats JSON, whichever of its presets wrote it.
fn sniff(v: &Value) -> Option<Sniff> {
    let has = |k: &str| v.get(k).is_some();
    (v.get("assets").is_some_and(Value::is_array)
        || (has("children") && has("version"))
        || has("entrypoints")
        || (has("chunks") && has("builtAt")))
    .then_some(Sniff::Read)
}

fn sniff_broken(head: &str) -> bool {
    names_key(head, "assetsByChunkName") || (names_key(head, "assets") && names_key(head, "chunks"))
}

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
    /// Read as a JSON value, so that one that is not a size drops its asset, not the file.
    size: Option<Value>,
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
pub(crate) fn parse(path: &Path, input: &mut dyn BufRead, wanted: &Wanted) -> Result<Parsed> {
    let stats: WebpackStats = from_json(input)?;
    let stats_dir = bundle::parent_dir(path);
    let mut notes = Vec::new();
    let errors = stats.errors_count.unwrap_or(stats.errors.len() as u64);
    if errors > 0 {
        notes.push(format!("build had {errors} errors"));
    }
    let mut metrics = Metrics::new();
    let multi = stats.assets.is_none() && !stats.children.is_empty();
    let mut left_out = false;
    let mut dropped = BTreeMap::new();
    if multi {
        let mut names = Vec::with_capacity(stats.children.len());
        let mut totals = Vec::with_capacity(stats.children.len());
        for (i, child) in stats.children.iter().enumerate() {
            let name = child.name.clone().unwrap_or_else(|| format!("child{i}"));
            if names.contains(&name) {
                bail!("field `children[{i}].name`: two compilers are named `{name}`");
            }
            names.push(name.clone());
            let field = format!("children[{i}].");
            let (bundle, child_notes) = describe(child, &field, &stats_dir)?;
            notes.extend(child_notes.into_iter().map(|n| format!("{name}: {n}")));
            let child_wanted = child_wanted(wanted, &name);
            let child = bundle.insert_metrics(&mut metrics, &format!("{name}."), &child_wanted)?;
            left_out |= child.left_out;
            dropped.extend(child.dropped.clone());
            totals.push(child);
        }
        sum_children(&names, &totals, &mut metrics, &mut dropped);
    } else {
        let (bundle, single_notes) = describe(&stats, "", &stats_dir)?;
        notes.extend(single_notes);
        let totals = bundle.insert_metrics(&mut metrics, "", wanted)?;
        left_out = totals.left_out;
        dropped = totals.dropped;
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
        dropped,
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

/// `total` and `initial` over a multi-compiler's children (`initial` only if every child has one),
/// each dropped where a child's is: a partial sum would pass for the whole.
fn sum_children(
    names: &[String],
    totals: &[Totals],
    metrics: &mut Metrics,
    dropped: &mut BTreeMap<String, String>,
) {
    let over = |sizes: Vec<(&String, &Result<Sizes, String>)>, what: &str| {
        let mut items = Vec::with_capacity(sizes.len());
        for (child, size) in sizes {
            match size {
                Ok(s) => items.push(*s),
                Err(why) => {
                    return Err(format!(
                        "it sums every compiler's `{what}`, and `{child}.{what}` was dropped: {why}"
                    ))
                }
            }
        }
        Sizes::sum(items).map_err(|e| format!("`{what}` over the children: {e:#}"))
    };
    let total = over(
        names.iter().zip(totals.iter().map(|t| &t.total)).collect(),
        "total",
    );
    bundle::put(metrics, dropped, "total", &total);
    let initial: Option<Vec<_>> = names
        .iter()
        .zip(totals)
        .map(|(name, t)| Some((name, t.initial.as_ref()?)))
        .collect();
    if let Some(initial) = initial {
        bundle::put(metrics, dropped, "initial", &over(initial, "initial"));
    }
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
    if bundle.assets.is_empty() && bundle.unread.is_empty() {
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
    let Some(size) = asset.size.as_ref().filter(|v| !v.is_null()) else {
        bail!("field `{at}.size`: missing");
    };
    if !is_source_map(name) {
        match size_of(size, &format!("{at}.size")) {
            Ok(size) if !bundle.unread.contains_key(name) => {
                if let Some(old) = bundle.assets.insert(name.clone(), size) {
                    if old != size {
                        bail!(
                            "field `{at}`: `{name}` is listed twice, with {old} and {size} bytes"
                        );
                    }
                }
            }
            Ok(_) => {}
            Err(why) => {
                bundle.assets.remove(name);
                bundle.unread.entry(name.clone()).or_insert(why);
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
                Some(v) => Some(size_of(v, &format!("{at}.size"))),
            };
            (name.to_string(), size)
        }
        other => bail!("field `{at}`: expected a file name or {{name, size}}, found {other}"),
    };
    if is_source_map(&name) {
        return Ok(None);
    }
    if !bundle.assets.contains_key(&name) && !bundle.unread.contains_key(&name) {
        match size {
            Some(Ok(s)) => {
                bundle.assets.insert(name.clone(), s);
            }
            Some(Err(why)) => {
                bundle.unread.insert(name.clone(), why);
            }
            None => bail!("field `{at}`: `{name}` is not in `assets`, so its size is unknown"),
        }
    }
    Ok(Some(name))
}

/// A size field in bytes, or why it is not one, naming the field.
fn size_of(v: &Value, field: &str) -> Result<u64, String> {
    v.as_f64()
        .ok_or_else(|| format!("{v} is not a number of bytes"))
        .and_then(bundle::bytes_from_f64)
        .map_err(|why| format!("field `{field}`: {why}"))
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
        parse(path, &mut text.as_bytes(), &Wanted::All)
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
    fn sizes_that_overflow_a_sum_drop_the_sum_not_panic() {
        let read = |text: &str| {
            parse_all(Path::new("/nonexistent/stats.json"), text).expect("read, less the sum")
        };
        // Each under 2^53, together past it: the sum used to overflow u64 arithmetic and panic.
        let p = read(
            r#"{"assets":[{"name":"a.js","size":9007199254740992},{"name":"b.js","size":1}]}"#,
        );
        assert!(p.dropped["total.raw"].contains("2^53"), "{:?}", p.dropped);
        assert_eq!(value(&p, "asset.b.js.raw"), 1.0);
        // An entry point may bring a file `assets` lacks, with a size of its own.
        let p = read(
            r#"{"assets":[{"name":"a.js","size":1}],"entrypoints":{"main":{"assets":[
                {"name":"b.js","size":18446744073709551615}]}}}"#,
        );
        assert!(
            p.dropped["asset.b.js.raw"].starts_with("field `entrypoints.main.assets[0].size`")
                && p.dropped["entry.main.raw"].contains("2^53"),
            "{:?}",
            p.dropped
        );
        let p = read(
            r#"{"children":[{"name":"a","assets":[{"name":"a.js","size":9007199254740992}]},
                            {"name":"b","assets":[{"name":"b.js","size":9007199254740992}]}]}"#,
        );
        assert!(p.dropped["total.raw"].contains("`total` over the children"));
        assert_eq!(value(&p, "a.total.raw"), 9_007_199_254_740_992.0);
    }

    #[test]
    fn a_bad_asset_size_drops_the_asset_and_every_sum_holding_it() {
        let path = fixture("app/stats.json");
        let text = std::fs::read_to_string(&path).expect("fixture");
        let original = parse_all(&path, &text).expect("parses");
        let sizes = |names: &[&str]| -> Vec<String> {
            let mut all: Vec<String> = names
                .iter()
                .flat_map(|n| ["raw", "gzip", "brotli"].map(|c| format!("{n}.{c}")))
                .collect();
            all.sort();
            all
        };
        for (asset, size, sums) in [
            (
                "main.1d80a63d.js",
                4347,
                &["total", "initial", "entry.main"][..],
            ),
            ("transcript.b11293e4.js", 813, &["total"][..]),
        ] {
            let from = format!("\"name\":\"{asset}\",\"size\":{size},");
            let bad = text.replacen(&from, &format!("\"name\":\"{asset}\",\"size\":-{size},"), 1);
            assert_ne!(bad, text);
            let p = parse_all(&path, &bad).expect("read, less one asset");
            let asset_name = format!("asset.{asset}");
            let names = sizes(&[&[asset_name.as_str()][..], sums].concat());
            let mut expected = original.metrics.clone();
            expected.retain(|name, _| !names.contains(name));
            assert_eq!(p.metrics, expected, "{asset}");
            assert_eq!(p.dropped.keys().cloned().collect::<Vec<_>>(), names);
            let i = if asset.starts_with("main") { 1 } else { 2 };
            let why = format!(
                "field `assets[{i}].size`: -{size} is not a size in bytes (a whole number from 0 \
                 to 2^53)"
            );
            assert_eq!(p.dropped[&format!("{asset_name}.raw")], why);
            assert_eq!(
                p.dropped["total.gzip"],
                format!("it sums every file, and `{asset_name}` was dropped: {why}")
            );
        }
    }

    #[test]
    fn bad_input_names_the_field() {
        let text = std::fs::read_to_string(fixture("app/stats.json")).expect("fixture");
        let truncated = err(&text[..text.len() / 2]);
        assert!(truncated.contains("EOF while parsing"), "{truncated}");
        let unnamed = err(r#"{"assets":[{"size":1}]}"#);
        assert!(unnamed.contains("`assets[0].name`: missing"), "{unnamed}");
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
