//! esbuild metafile (`--metafile=meta.json`, `metafile: true`; also a whole BuildResult dumped as
//! JSON, `{errors, warnings, metafile}`): output sizes, what the entry points load first, and
//! gzip/brotli sizes of the outputs when they are on this machine.
//!
//! The one rule: sizes are the metafile's `bytes`; compressed sizes come only from output files
//! found on disk with exactly those sizes, all of them or none.
//!
//! - `total` = every output except source maps (`*.map`). An output whose `bytes` is not a whole
//!   number of bytes is dropped with the field (see [`Parsed::dropped`]), and so is every sum that
//!   would add it (`total`, `initial`, `entry.<name>`).
//! - `initial` = the entry outputs (those with `entryPoint`) plus the chunks they import with an
//!   `import-statement`, transitively, plus the `cssBundle` of each. With `--splitting` esbuild also
//!   gives every `import()` target its own `entryPoint`; an output that another output imports with
//!   `dynamic-import` is a lazily loaded chunk, so it does not start an initial set. Without any
//!   `entryPoint` (esbuild before ~0.8.50) there is no `initial`.
//! - Output paths are relative to the folder esbuild ran in, which the metafile does not record:
//!   they are looked up against the metafile's folder, then the current directory. Neither holds
//!   them all at their listed sizes -> no `.gzip`/`.brotli`, and the detail line says so.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::bundle::{self, is_source_map, Bundle};
use super::reader::{names_key, Detect, Reader, Sniff, Whole};
use super::{from_json, Parsed, Wanted};
use crate::model::Metrics;

/// esbuild's metafile and the built files it names.
pub(crate) const READER: Reader = Reader {
    name: "esbuild",
    detect: Detect {
        json: sniff,
        broken_json: |head| names_key(head, "inputs") && names_key(head, "bytes"),
        ..Detect::NONE
    },
    whole: Some(Whole::Bundle(parse)),
    stream: None,
};

/// A metafile's `inputs` and `outputs`, or an esbuild result holding its `metafile`.
fn sniff(v: &Value) -> Option<Sniff> {
    let metafile = v.get("inputs").is_some() && v.get("outputs").is_some();
    (metafile || v.get("metafile").and_then(|m| m.get("outputs")).is_some()).then_some(Sniff::Read)
}

/// The top of an esbuild 0.28.2 metafile, or of a BuildResult that wraps one in `metafile`.
#[derive(Debug, Deserialize)]
struct EsbuildFile {
    outputs: Option<BTreeMap<String, EsbuildOutput>>,
    metafile: Option<EsbuildMetafile>,
    errors: Option<Vec<IgnoredAny>>,
}

#[derive(Debug, Deserialize)]
struct EsbuildMetafile {
    outputs: Option<BTreeMap<String, EsbuildOutput>>,
}

#[derive(Debug, Deserialize)]
struct EsbuildOutput {
    /// Bytes written, uncompressed; read as a JSON value, so that one that is not a size drops
    /// its output, not the file.
    bytes: Value,
    #[serde(default)]
    imports: Vec<EsbuildImport>,
    #[serde(rename = "entryPoint")]
    entry_point: Option<String>,
    #[serde(rename = "cssBundle")]
    css_bundle: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EsbuildImport {
    path: String,
    /// `import-statement`, `dynamic-import`, `require-call`, … (absent in very old esbuild).
    kind: Option<String>,
    #[serde(default)]
    external: bool,
}

/// Reads an esbuild metafile; `path` locates the outputs for the compressed sizes `wanted`.
pub(crate) fn parse(path: &Path, input: &mut dyn BufRead, wanted: &Wanted) -> Result<Parsed> {
    let file: EsbuildFile = from_json(input)?;
    let (outputs, field) = match (file.outputs, file.metafile) {
        (Some(outputs), _) => (outputs, ""),
        (None, Some(meta)) => match meta.outputs {
            Some(outputs) => (outputs, "metafile."),
            None => bail!("field `metafile.outputs`: missing; this is not an esbuild metafile"),
        },
        (None, None) => bail!(
            "field `outputs`: missing; an esbuild metafile lists its outputs \
             (write it with `--metafile=meta.json` or `metafile: true`)"
        ),
    };
    if outputs.is_empty() {
        bail!("field `{field}outputs`: empty, the build wrote no file (nothing to measure)");
    }
    let mut bundle = Bundle::default();
    for (name, out) in &outputs {
        if is_source_map(name) {
            continue;
        }
        let bytes = out
            .bytes
            .as_f64()
            .ok_or_else(|| format!("{} is not a number of bytes", out.bytes))
            .and_then(bundle::bytes_from_f64);
        match bytes {
            Ok(bytes) => {
                bundle.assets.insert(name.clone(), bytes);
            }
            Err(why) => {
                let why = format!("field `{field}outputs.{name}.bytes`: {why}");
                bundle.unread.insert(name.clone(), why);
            }
        }
    }
    let lazy: BTreeSet<&str> = outputs
        .values()
        .flat_map(|o| &o.imports)
        .filter(|i| i.kind.as_deref() == Some("dynamic-import"))
        .map(|i| i.path.as_str())
        .collect();
    let mut initial = BTreeSet::new();
    let mut any_entry = false;
    for (name, out) in &outputs {
        let Some(entry) = &out.entry_point else {
            continue;
        };
        any_entry = true;
        if lazy.contains(name.as_str()) || is_source_map(name) {
            continue;
        }
        let files = closure(name, &outputs);
        initial.extend(files.iter().cloned());
        bundle.entries.insert(entry.clone(), files);
    }
    if any_entry {
        bundle.initial = Some(initial);
    }
    let note = bundle.find_files(&[bundle::parent_dir(path), PathBuf::from(".")]);
    let mut metrics = Metrics::new();
    let totals = bundle.insert_metrics(&mut metrics, "", wanted)?;
    let mut notes = Vec::new();
    let errors = file.errors.map_or(0, |e| e.len());
    if errors > 0 {
        notes.push(format!("build had {errors} errors"));
    }
    notes.extend(note);
    Ok(Parsed {
        detail: Some(bundle::detail("esbuild metafile".to_string(), &notes)),
        metrics,
        dropped: totals.dropped,
        left_out: totals.left_out,
        ..Parsed::default()
    })
}

/// An entry output and every output it loads before running: static imports, transitively, and the
/// CSS bundle of each. Only outputs of this build (not source maps) are followed.
fn closure(entry: &str, outputs: &BTreeMap<String, EsbuildOutput>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![entry.to_string()];
    while let Some(name) = todo.pop() {
        if is_source_map(&name) || !outputs.contains_key(&name) || !seen.insert(name.clone()) {
            continue;
        }
        let Some(out) = outputs.get(&name) else {
            continue;
        };
        todo.extend(
            out.imports
                .iter()
                .filter(|i| !i.external && i.kind.as_deref() == Some("import-statement"))
                .map(|i| i.path.clone()),
        );
        todo.extend(out.css_bundle.clone());
    }
    seen
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ingest::bundle::bytes_metric as value;

    fn fixture() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/esbuild/meta.json")
    }

    fn err(text: &str) -> String {
        match parse(
            Path::new("/nonexistent/meta.json"),
            &mut text.as_bytes(),
            &Wanted::All,
        ) {
            Ok(p) => panic!("accepted: {:?}", p.metrics),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn splitting_build_initial_follows_static_imports_only() {
        let path = fixture();
        let text = std::fs::read_to_string(&path).expect("fixture");
        let p = parse(&path, &mut text.as_bytes(), &Wanted::All).expect("parses");
        assert_eq!(p.detail.as_deref(), Some("esbuild metafile"));
        // outputs: index 9983, index.css 444, chunks 73219 + 51439 + 577 + 286, routes 383 + 389.
        assert_eq!(value(&p, "total.raw"), 136_720.0);
        // index.js + its import-statement chunks (73219, 51439, 577) + its cssBundle (444); the
        // routes are `dynamic-import`s, although esbuild gives them an `entryPoint` too.
        assert_eq!(value(&p, "initial.raw"), 135_662.0);
        assert_eq!(value(&p, "entry.src/index.js.raw"), 135_662.0);
        assert!(!p.metrics.contains_key("entry.src/routes/analytics.js.raw"));
        assert_eq!(
            value(&p, "asset.dist/esbuild/index-626IDMKB.js.raw"),
            9983.0
        );
        // Found beside the metafile (dist/esbuild/...), so the compressed twins exist.
        assert_eq!(value(&p, "initial.brotli"), 42_336.0);
        assert_eq!(value(&p, "initial.gzip"), 46_878.0);
    }

    #[test]
    fn wrapped_build_result_and_missing_files() {
        let p = parse(
            Path::new("/nonexistent/meta.json"),
            &mut r#"{"errors":[{"text":"x"}],"warnings":[],"metafile":{"inputs":{},"outputs":{
                "dist/a.js":{"bytes":100,"inputs":{},"imports":[{"path":"dist/chunk.js","kind":"import-statement"}],"entryPoint":"src/a.js"},
                "dist/chunk.js":{"bytes":20,"inputs":{},"imports":[]},
                "dist/a.js.map":{"bytes":999,"inputs":{},"imports":[]}}}}"#.as_bytes(),
            &Wanted::All,
        )
        .expect("parses");
        assert_eq!(value(&p, "initial.raw"), 120.0);
        assert_eq!(value(&p, "total.raw"), 120.0);
        assert!(!p.metrics.contains_key("total.gzip"));
        let detail = p.detail.expect("detail");
        assert!(
            detail.starts_with(
                "esbuild metafile; build had 1 errors; no gzip/brotli sizes: `dist/a.js`"
            ),
            "{detail}"
        );
    }

    #[test]
    fn without_entry_points_there_is_no_initial() {
        // esbuild ~0.8 (2021) wrote no `entryPoint`.
        let p = parse(
            Path::new("meta.json"),
            &mut r#"{"inputs":{},"outputs":{"dist/app.js":{"bytes":7,"inputs":{}}}}"#.as_bytes(),
            &Wanted::All,
        )
        .expect("parses");
        assert_eq!(value(&p, "total.raw"), 7.0);
        assert!(!p.metrics.contains_key("initial.raw"));
    }

    #[test]
    fn a_bad_output_size_drops_the_output_and_every_sum_holding_it() {
        let path = fixture();
        let text = std::fs::read_to_string(&path).expect("fixture");
        let original = parse(&path, &mut text.as_bytes(), &Wanted::All).expect("parses");
        let bad = text.replacen("\"bytes\": 9983", "\"bytes\": \"9983\"", 1);
        assert_ne!(bad, text);
        let p = parse(&path, &mut bad.as_bytes(), &Wanted::All).expect("read, less one output");
        let asset = "asset.dist/esbuild/index-626IDMKB.js";
        let mut names: Vec<String> = [asset, "total", "initial", "entry.src/index.js"]
            .iter()
            .flat_map(|n| ["raw", "gzip", "brotli"].map(|c| format!("{n}.{c}")))
            .collect();
        names.sort();
        let mut expected = original.metrics.clone();
        expected.retain(|name, _| !names.contains(name));
        assert_eq!(p.metrics, expected);
        assert_eq!(p.dropped.keys().cloned().collect::<Vec<_>>(), names);
        let why = "field `outputs.dist/esbuild/index-626IDMKB.js.bytes`: \"9983\" is not a number \
                   of bytes";
        assert_eq!(p.dropped[&format!("{asset}.raw")], why);
        assert_eq!(
            p.dropped["initial.raw"],
            format!("it sums the files the first page loads, and `{asset}` was dropped: {why}")
        );
        // Two outputs whose sum passes 2^53 bytes: the sum is dropped, where it used to overflow
        // and panic.
        let huge = parse(
            Path::new("/nonexistent/meta.json"),
            &mut r#"{"inputs":{},"outputs":{"a.js":{"bytes":9007199254740992},"b.js":{"bytes":9007199254740992}}}"#.as_bytes(),
            &Wanted::All,
        )
        .expect("read, less the sum");
        assert!(
            huge.dropped["total.raw"].contains("2^53"),
            "{:?}",
            huge.dropped
        );
        assert_eq!(value(&huge, "asset.a.js.raw"), 9_007_199_254_740_992.0);
    }

    #[test]
    fn bad_input_names_the_field() {
        let text = std::fs::read_to_string(fixture()).expect("fixture");
        let truncated = err(&text[..text.len() / 2]);
        assert!(truncated.contains("EOF while parsing"), "{truncated}");
        let no_outputs = err(r#"{"inputs":{"src/a.js":{"bytes":1,"imports":[]}}}"#);
        assert!(
            no_outputs.contains("field `outputs`: missing"),
            "{no_outputs}"
        );
        let empty = err(r#"{"inputs":{},"outputs":{}}"#);
        assert!(empty.contains("`outputs`: empty"), "{empty}");
    }
}
