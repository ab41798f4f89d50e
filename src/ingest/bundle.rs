//! Bundle sizes shared by the webpack, esbuild, vite and dir readers: which files a build emitted,
//! which of them the first page loads, where they sit on disk, and the metrics that follow.
//!
//! The one rule: a compressed size is only ever a sum over files that were all found and read; one
//! missing file means no `.gzip`/`.brotli` twins at all, never a partial sum.
//! Likewise a file whose listed size cannot be read ([`Bundle::unread`]) drops its own metrics and
//! every group sum holding it, each with the reason.
//!
//! Compressing is the slow part (brotli at quality 11 most of all), so a file is compressed only
//! with the codecs that a wanted metric ([`Wanted`]) needs of it, and the compressions needed run
//! across the machine's cores. A size is the same whether it was computed alone or with all others.
//!
//! Compression settings, chosen to match what a production server sends for static assets:
//! gzip at level 9 (flate2 `Compression::best()`, no file name or time in the header, like
//! `gzip -9 -n`), brotli at quality 11 with a 4 MiB window (lgwin 22), the defaults of `brotli` and
//! of Node's `zlib.brotliCompress`, which size-limit uses.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};

use super::Wanted;
use crate::model::{Measurement, Metrics};

/// Source maps are emitted beside the code but only developer tools download them, so no size
/// counts them (neither `total` nor `asset.*`).
pub(crate) fn is_source_map(name: &str) -> bool {
    name.ends_with(".map")
}

/// The largest size taken, alone or summed: 2^53 bytes (8 PiB), the largest whole number that a
/// JSON number written by a JavaScript tool, and a metric value (an f64), hold exactly. Far above
/// any real build, so a size past it is a wrong report, not a big one.
pub(crate) const MAX_BYTES: u64 = 1 << 53;

/// A size in bytes from a JSON number: a whole number from 0 to [`MAX_BYTES`].
pub(crate) fn bytes_from_f64(v: f64) -> Result<u64, String> {
    if !v.is_finite() || v < 0.0 || v.fract() != 0.0 || v > MAX_BYTES as f64 {
        return Err(format!(
            "{v} is not a size in bytes (a whole number from 0 to 2^53)"
        ));
    }
    Ok(v as u64)
}

/// `a + b` for sizes, or an error once the sum passes [`MAX_BYTES`].
pub(crate) fn add_bytes(a: u64, b: u64) -> Result<u64> {
    match a.checked_add(b) {
        Some(sum) if sum <= MAX_BYTES => Ok(sum),
        _ => bail!("sizes add up to more than 2^53 bytes (8 PiB): a size in the report is wrong"),
    }
}

/// One build's files as a format describes them, before the metrics are made.
#[derive(Debug, Default)]
pub(crate) struct Bundle {
    /// Every emitted file (source maps left out): name as the format writes it -> bytes.
    pub assets: BTreeMap<String, u64>,
    /// The files the first page loads (keys of `assets`); `None` where the format does not say.
    pub initial: Option<BTreeSet<String>>,
    /// Per entry point, the files it loads (keys of `assets`).
    pub entries: BTreeMap<String, BTreeSet<String>>,
    /// The folder the names are relative to, when every file was found there.
    pub dir: Option<PathBuf>,
    /// Emitted files whose size the report gives as a value that cannot be read: name -> why,
    /// naming the field. Not in `assets`: their metrics, and every sum holding them, are dropped.
    pub unread: BTreeMap<String, String>,
}

/// Raw and compressed sizes of one group of files; a compressed size only where it was computed
/// for every file of the group (the files are at hand, and a wanted metric needs it).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sizes {
    pub raw: u64,
    pub gzip: Option<u64>,
    pub brotli: Option<u64>,
}

impl Sizes {
    fn add(self, other: Sizes) -> Result<Sizes> {
        let both = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => add_bytes(a, b).map(Some),
            _ => Ok(None),
        };
        Ok(Sizes {
            raw: add_bytes(self.raw, other.raw)?,
            gzip: both(self.gzip, other.gzip)?,
            brotli: both(self.brotli, other.brotli)?,
        })
    }

    /// Sums several groups: each compressed size only if every group has it.
    pub(crate) fn sum(items: impl IntoIterator<Item = Sizes>) -> Result<Sizes> {
        let mut total = Sizes {
            raw: 0,
            gzip: Some(0),
            brotli: Some(0),
        };
        for s in items {
            total = total.add(s)?;
        }
        Ok(total)
    }

    /// Inserts `<name>.raw` and, where known, `<name>.gzip` and `<name>.brotli`.
    pub(crate) fn insert(self, metrics: &mut Metrics, name: &str) {
        metrics.insert(format!("{name}.raw"), Measurement::bytes(self.raw as f64));
        if let Some(gzip) = self.gzip {
            metrics.insert(format!("{name}.gzip"), Measurement::bytes(gzip as f64));
        }
        if let Some(brotli) = self.brotli {
            metrics.insert(format!("{name}.brotli"), Measurement::bytes(brotli as f64));
        }
    }
}

/// The headline sizes of a bundle, for sums across webpack's multi-compiler children; a sum is
/// why it is unknown where a file it adds was dropped.
#[derive(Debug, Clone)]
pub(crate) struct Totals {
    pub total: Result<Sizes, String>,
    pub initial: Option<Result<Sizes, String>>,
    /// Some compressed size was not computed because no wanted metric needs it.
    pub left_out: bool,
    /// The metrics left out because a file's size could not be read: name -> why.
    pub dropped: BTreeMap<String, String>,
}

/// Inserts the sizes `name.raw`/`.gzip`/`.brotli` of `sizes`, or drops all three with why it is
/// unknown.
pub(crate) fn put(
    metrics: &mut Metrics,
    dropped: &mut BTreeMap<String, String>,
    name: &str,
    sizes: &Result<Sizes, String>,
) {
    match sizes {
        Ok(s) => s.insert(metrics, name),
        Err(why) => {
            for codec in ["raw", "gzip", "brotli"] {
                dropped.insert(format!("{name}.{codec}"), why.clone());
            }
        }
    }
}

/// A compression whose size a metric reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Codec {
    Gzip,
    Brotli,
}

impl Codec {
    const ALL: [Codec; 2] = [Codec::Gzip, Codec::Brotli];

    /// The metric name's suffix.
    fn suffix(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Brotli => "brotli",
        }
    }

    /// Time per byte relative to gzip, to start the slowest compressions first: brotli at
    /// quality 11 took 30 times as long as gzip -9 on the example app's 130 kB vendor chunk
    /// (255 ms against 8 ms, release build).
    fn cost(self) -> u64 {
        match self {
            Codec::Gzip => 1,
            Codec::Brotli => 30,
        }
    }

    /// The size of `data` compressed with this codec's settings (see the module doc), in bytes.
    /// The data is compressed as it is read and the output only counted, so that a large file
    /// (a WebAssembly module, a video) is never held.
    pub(crate) fn size(self, mut data: impl Read) -> Result<u64> {
        let mut counted = Count(0);
        match self {
            Codec::Gzip => {
                let mut gz =
                    flate2::write::GzEncoder::new(&mut counted, flate2::Compression::best());
                std::io::copy(&mut data, &mut gz)?;
                gz.finish()?;
            }
            Codec::Brotli => {
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 11,
                    lgwin: 22,
                    ..Default::default()
                };
                brotli::BrotliCompress(&mut data, &mut counted, &params)?;
            }
        }
        Ok(counted.0)
    }
}

/// A writer that counts what it is given and keeps none of it.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Bundle {
    /// Inserts this bundle's metrics, each name prefixed by `prefix` (empty or `"<child>."`):
    /// `total`, `initial`, `entry.<name>` and `asset.<file>`, each as `.raw`, and as `.gzip` and
    /// `.brotli` where the files are at hand and a `wanted` metric needs that compression of them.
    pub(crate) fn insert_metrics(
        &self,
        metrics: &mut Metrics,
        prefix: &str,
        wanted: &Wanted,
    ) -> Result<Totals> {
        let needed = self.compressions(prefix, wanted);
        let compressed = match &self.dir {
            Some(dir) => compress_files(dir, &needed)?,
            None => BTreeMap::new(),
        };
        let mut per_file: BTreeMap<&str, Sizes> = BTreeMap::new();
        for (name, &raw) in &self.assets {
            let size = |codec| compressed.get(&(name.as_str(), codec)).copied();
            per_file.insert(
                name,
                Sizes {
                    raw,
                    gzip: size(Codec::Gzip),
                    brotli: size(Codec::Brotli),
                },
            );
        }
        let mut dropped = BTreeMap::new();
        // The sum of the files `names`, or why it is unknown; `what` says what it sums. A file of
        // the group that was dropped drops the sum: a partial sum would pass for the whole.
        let group = |names: &mut dyn Iterator<Item = &String>,
                     what: &str|
         -> Result<Result<Sizes, String>> {
            let mut items = Vec::new();
            for n in names {
                if let Some(why) = self.unread.get(n) {
                    return Ok(Err(format!(
                        "it sums {what}, and `{prefix}asset.{n}` was dropped: {why}"
                    )));
                }
                match per_file.get(n.as_str()) {
                    Some(s) => items.push(*s),
                    None => bail!("`{n}` is loaded by an entry but is not among the assets"),
                }
            }
            Ok(Sizes::sum(items).map_err(|e| format!("{e:#}")))
        };
        let total = group(
            &mut self.assets.keys().chain(self.unread.keys()),
            "every file",
        )?;
        put(metrics, &mut dropped, &format!("{prefix}total"), &total);
        let initial = match &self.initial {
            Some(names) => {
                let s = group(&mut names.iter(), "the files the first page loads")?;
                put(metrics, &mut dropped, &format!("{prefix}initial"), &s);
                Some(s)
            }
            None => None,
        };
        for (entry, names) in &self.entries {
            let what = format!("the files entry `{entry}` loads");
            let s = group(&mut names.iter(), &what)?;
            put(metrics, &mut dropped, &format!("{prefix}entry.{entry}"), &s);
        }
        for (name, s) in &per_file {
            s.insert(metrics, &format!("{prefix}asset.{name}"));
        }
        for (name, why) in &self.unread {
            put(
                metrics,
                &mut dropped,
                &format!("{prefix}asset.{name}"),
                &Err(why.clone()),
            );
        }
        Ok(Totals {
            total,
            initial,
            left_out: self.dir.is_some() && needed.len() < Codec::ALL.len() * self.assets.len(),
            dropped,
        })
    }

    /// The compressions (file, codec) the `wanted` metrics need: a file's gzip when `total.gzip`,
    /// or the `.gzip` of a group holding it, is wanted; none without the files.
    fn compressions(&self, prefix: &str, wanted: &Wanted) -> BTreeMap<(&str, Codec), u64> {
        let mut needed = BTreeMap::new();
        if self.dir.is_none() {
            return needed;
        }
        for codec in Codec::ALL {
            let wants = |group: &str| wanted.wants(&format!("{prefix}{group}.{}", codec.suffix()));
            let mut need = |name: &str| {
                if let Some((name, &bytes)) = self.assets.get_key_value(name) {
                    needed.insert((name.as_str(), codec), bytes);
                }
            };
            if wants("total") {
                self.assets.keys().for_each(|n| need(n));
                continue;
            }
            if let Some(initial) = self.initial.as_ref().filter(|_| wants("initial")) {
                initial.iter().for_each(|n| need(n));
            }
            for (entry, names) in &self.entries {
                if wants(&format!("entry.{entry}")) {
                    names.iter().for_each(|n| need(n));
                }
            }
            for name in self.assets.keys() {
                if wants(&format!("asset.{name}")) {
                    need(name);
                }
            }
        }
        needed
    }
}

/// Compresses the files `needed` (file in `dir`, codec -> its size as listed) across the machine's
/// cores, slowest first, each thread reading one file at a time. Every size is the one the
/// single-threaded [`Codec::size`] gives; an error is the first in that order.
fn compress_files<'a>(
    dir: &Path,
    needed: &BTreeMap<(&'a str, Codec), u64>,
) -> Result<BTreeMap<(&'a str, Codec), u64>> {
    let mut order: Vec<(&'a str, Codec)> = needed.keys().copied().collect();
    order.sort_by_key(|&(name, codec)| {
        std::cmp::Reverse(needed[&(name, codec)].saturating_mul(codec.cost()))
    });
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(name, codec)) = order.get(i) else {
                return done;
            };
            done.push((i, compress_file(&dir.join(name), codec)));
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(order.len());
    let mut done = if threads <= 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            let mut all = Vec::with_capacity(order.len());
            for h in handles {
                all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            }
            all
        })
    };
    done.sort_by_key(|(i, _)| *i);
    let mut sizes = BTreeMap::new();
    for (i, size) in done {
        sizes.insert(order[i], size?);
    }
    Ok(sizes)
}

/// Where a build's files were looked for, and what was found.
#[derive(Debug)]
pub(crate) enum Located {
    /// Every file is in this folder (with the listed size, where the format lists one).
    Found(PathBuf),
    /// No candidate folder holds them all; names the first file missing from the first candidate.
    Missing { file: String, tried: Vec<PathBuf> },
}

/// Finds the first candidate folder holding every file of `files` (name, bytes the format lists).
/// A file present with another size is a stale or different build, so that folder does not count.
pub(crate) fn locate<'a>(
    candidates: &[PathBuf],
    files: impl IntoIterator<Item = (&'a str, Option<u64>)> + Clone,
) -> Located {
    let mut first_missing = None;
    let mut tried = Vec::new();
    for dir in candidates {
        if tried.contains(dir) {
            continue;
        }
        tried.push(dir.clone());
        if !dir.is_dir() {
            continue;
        }
        let missing = files.clone().into_iter().find(|(name, bytes)| {
            match std::fs::metadata(dir.join(name)) {
                Ok(m) if m.is_file() => bytes.is_some_and(|b| b != m.len()),
                _ => true,
            }
        });
        match missing {
            None => return Located::Found(dir.clone()),
            Some((name, _)) => {
                first_missing.get_or_insert_with(|| name.to_string());
            }
        }
    }
    let file = first_missing.unwrap_or_else(|| {
        files
            .into_iter()
            .next()
            .map_or_else(String::new, |(n, _)| n.to_string())
    });
    Located::Missing { file, tried }
}

impl Bundle {
    /// Looks for this bundle's files, at the sizes the format lists, in the first of `candidates`
    /// that holds them all (see [`locate`]) and keeps that folder in `dir`; where none does, the
    /// note for the `detail` line that says why there are no compressed sizes.
    pub(crate) fn find_files(&mut self, candidates: &[PathBuf]) -> Option<String> {
        let files = self.assets.iter().map(|(n, &b)| (n.as_str(), Some(b)));
        match locate(candidates, files) {
            Located::Found(dir) => {
                self.dir = Some(dir);
                None
            }
            Located::Missing { file, tried } => {
                let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
                Some(format!(
                    "no gzip/brotli sizes: `{file}` (at its listed size) is not in {}",
                    tried.join(", ")
                ))
            }
        }
    }
}

/// A bundle format's `detail` line: what the file is, then any notes.
pub(crate) fn detail(head: String, notes: &[String]) -> String {
    if notes.is_empty() {
        head
    } else {
        format!("{head}; {}", notes.join("; "))
    }
}

/// The size of one file compressed with `codec`, in bytes.
fn compress_file(path: &Path, codec: Codec) -> Result<u64> {
    let file = crate::file::open_regular(path, "built file")?
        .with_context(|| format!("{}: cannot read", path.display()))?;
    codec
        .size(std::io::BufReader::new(file))
        .with_context(|| format!("{}: compressing", path.display()))
}

/// The folder a file sits in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A byte-size metric's value, for the bundle readers' tests.
#[cfg(test)]
pub(crate) fn bytes_metric(p: &super::Parsed, name: &str) -> f64 {
    let m = p
        .metrics
        .get(name)
        .unwrap_or_else(|| panic!("no metric {name}"));
    assert_eq!(m.unit, crate::model::Unit::Bytes, "{name}");
    m.value
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ingest::{load_wanted, read_file};

    fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel)
    }

    fn only(names: &[&str]) -> Wanted {
        Wanted::Only(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn compresses_like_the_tools() {
        // `printf 'hello hello hello hello\n' | gzip -9 -n | wc -c` = 29; Node 20
        // `zlib.brotliCompressSync(buf).length` (quality 11, lgwin 22) = 23.
        let data = b"hello hello hello hello\n";
        assert_eq!(Codec::Gzip.size(&data[..]).expect("in memory"), 29);
        assert_eq!(Codec::Brotli.size(&data[..]).expect("in memory"), 23);
    }

    #[test]
    fn compressed_sums_need_every_part() {
        let a = Sizes {
            raw: 10,
            gzip: Some(5),
            brotli: Some(4),
        };
        let b = Sizes {
            raw: 7,
            gzip: Some(3),
            brotli: None,
        };
        let s = Sizes::sum([a, b]).expect("small");
        assert_eq!((s.raw, s.gzip, s.brotli), (17, Some(8), None));
        let s = Sizes::sum([a, a]).expect("small");
        assert_eq!((s.gzip, s.brotli), (Some(10), Some(8)));
    }

    #[test]
    fn sizes_past_2_pow_53_are_errors_not_overflows() {
        assert_eq!(bytes_from_f64(9_007_199_254_740_992.0), Ok(MAX_BYTES));
        for bad in [1e19, 18_446_744_073_709_551_616.0, -1.0, 0.5, f64::NAN] {
            assert!(bytes_from_f64(bad).is_err(), "{bad}");
        }
        let big = Sizes {
            raw: MAX_BYTES,
            gzip: Some(MAX_BYTES),
            brotli: Some(1),
        };
        let e = format!("{:#}", Sizes::sum([big, big]).expect_err("past 2^53"));
        assert!(e.contains("more than 2^53 bytes"), "{e}");
        let no_files = Sizes {
            gzip: None,
            brotli: None,
            ..big
        };
        assert!(Sizes::sum([no_files, Sizes::default()]).is_ok());
    }

    /// The example app's webpack build: 6 files, of which the entry `main` loads 3.
    fn webpack_app() -> Bundle {
        let dir = fixture("webpack/app/dist");
        let mut bundle = Bundle::default();
        for entry in std::fs::read_dir(&dir).expect("dist") {
            let entry = entry.expect("dist");
            let name = entry.file_name().into_string().expect("UTF-8");
            bundle
                .assets
                .insert(name, entry.metadata().expect("file").len());
        }
        let initial: BTreeSet<String> = [
            "vendors.5029144a.js",
            "main.1d80a63d.js",
            "main.669e9b52.css",
        ]
        .map(String::from)
        .into();
        bundle.entries.insert("main".into(), initial.clone());
        bundle.initial = Some(initial);
        bundle.dir = Some(dir);
        bundle
    }

    #[test]
    fn only_the_compressions_a_wanted_metric_needs_are_planned() {
        let bundle = webpack_app();
        let planned = |wanted: &[&str]| -> Vec<(String, Codec)> {
            bundle
                .compressions("", &only(wanted))
                .into_keys()
                .map(|(f, c)| (f.to_string(), c))
                .collect()
        };
        let gzip = |f: &str| (f.to_string(), Codec::Gzip);
        assert_eq!(
            planned(&["initial.gzip"]),
            [
                gzip("main.1d80a63d.js"),
                gzip("main.669e9b52.css"),
                gzip("vendors.5029144a.js")
            ]
        );
        assert_eq!(
            planned(&[
                "asset.analytics.e24fba7b.js.brotli",
                "initial.raw",
                "total.raw"
            ]),
            [("analytics.e24fba7b.js".to_string(), Codec::Brotli)]
        );
        assert!(planned(&["initial.raw", "total.raw", "entry.main.raw"]).is_empty());
        assert!(planned(&[]).is_empty());
        assert_eq!(planned(&["total.brotli", "entry.main.brotli"]).len(), 6);
        assert_eq!(bundle.compressions("", &Wanted::All).len(), 12);
        let mut no_files = webpack_app();
        no_files.dir = None;
        assert!(no_files.compressions("", &Wanted::All).is_empty());
    }

    #[test]
    fn metrics_appear_only_for_what_was_compressed() {
        let bundle = webpack_app();
        let mut metrics = Metrics::new();
        let totals = bundle
            .insert_metrics(&mut metrics, "", &only(&["initial.gzip"]))
            .expect("reads");
        assert!(totals.left_out);
        let compressed: Vec<&str> = metrics
            .keys()
            .map(String::as_str)
            .filter(|k| !k.ends_with(".raw"))
            .collect();
        // The three initial files' gzip sizes and the groups made of them only; no brotli at all.
        assert_eq!(
            compressed,
            [
                "asset.main.1d80a63d.js.gzip",
                "asset.main.669e9b52.css.gzip",
                "asset.vendors.5029144a.js.gzip",
                "entry.main.gzip",
                "initial.gzip"
            ]
        );
        // Every raw size is still there: 6 assets, total, initial, entry.main.
        assert_eq!(metrics.keys().filter(|k| k.ends_with(".raw")).count(), 9);
        let mut all = Metrics::new();
        let totals = bundle
            .insert_metrics(&mut all, "", &Wanted::All)
            .expect("reads");
        assert!(!totals.left_out);
        assert_eq!(all.len(), 27);
    }

    #[test]
    fn parallel_sizes_are_the_sequential_ones() {
        let bundle = webpack_app();
        let mut metrics = Metrics::new();
        bundle
            .insert_metrics(&mut metrics, "", &Wanted::All)
            .expect("reads");
        let dir = bundle.dir.as_ref().expect("dir");
        for codec in Codec::ALL {
            let mut sum = 0;
            for name in bundle.assets.keys() {
                let data = std::fs::read(dir.join(name)).expect("file");
                let size = codec.size(&data[..]).expect("in memory");
                let metric = format!("asset.{name}.{}", codec.suffix());
                assert_eq!(metrics[&metric].value, size as f64, "{metric}");
                sum += size;
            }
            assert_eq!(
                metrics[&format!("total.{}", codec.suffix())].value,
                sum as f64
            );
        }
    }

    #[test]
    fn on_demand_sizes_equal_the_full_computation_in_every_reader() {
        let cases: [(&str, &[&[&str]]); 5] = [
            (
                "webpack/app/stats.json",
                &[
                    &["initial.gzip"],
                    &["asset.transcript.b11293e4.js.brotli", "entry.main.gzip"],
                ],
            ),
            (
                "webpack/multi/stats.json",
                &[
                    &["total.gzip"],
                    &["admin.initial.brotli", "widget.total.raw"],
                ],
            ),
            (
                "esbuild/meta.json",
                &[
                    &["entry.src/index.js.gzip"],
                    &["asset.dist/esbuild/index-626IDMKB.js.brotli"],
                ],
            ),
            ("vite/dist/.vite/manifest.json", &[&["total.gzip"]]),
            ("vite/dist", &[&["initial.gzip", "asset.index.html.brotli"]]),
        ];
        for (file, wanted_sets) in cases {
            let path = fixture(file);
            let (full, full_left_out) = read_file(&path, None, false, &Wanted::All).expect(file);
            assert!(!full_left_out, "{file}");
            for names in wanted_sets {
                let (lazy, left_out) = read_file(&path, None, false, &only(names)).expect(file);
                assert!(left_out, "{file} {names:?}");
                for name in *names {
                    assert!(lazy.metrics.contains_key(*name), "{file}: {name}");
                }
                for (name, m) in &lazy.metrics {
                    assert_eq!(m.value, full.metrics[name].value, "{file}: {name}");
                }
                let raw = |r: &crate::ingest::Report| -> Vec<String> {
                    r.metrics
                        .keys()
                        .filter(|k| k.ends_with(".raw"))
                        .cloned()
                        .collect()
                };
                assert_eq!(raw(&lazy), raw(&full), "{file}");
                // A gzip-only wanted set never computes a brotli size, and the reverse.
                for codec in Codec::ALL {
                    let suffix = format!(".{}", codec.suffix());
                    if !names.iter().any(|n| n.ends_with(&suffix)) {
                        assert!(
                            !lazy.metrics.keys().any(|k| k.ends_with(&suffix)),
                            "{file} {names:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_wanted_name_the_reader_lacks_reads_everything_for_the_closest_names() {
        let path = fixture("webpack/app/stats.json");
        let report = load_wanted(&path, None, false, &only(&["initial.gzp"])).expect("reads");
        assert!(report.metrics.contains_key("initial.gzip"));
        assert!(report.metrics.contains_key("total.brotli"));
        // Without the files nothing was left out, so nothing is read again.
        let errors = fixture("webpack/errors/stats.json");
        let (_, left_out) =
            read_file(&errors, None, false, &only(&["initial.gzip"])).expect("reads");
        assert!(!left_out);
    }
}
