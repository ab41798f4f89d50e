//! Bundle sizes shared by the webpack, esbuild, vite and dir readers: which files a build emitted,
//! which of them the first page loads, where they sit on disk, and the metrics that follow.
//!
//! The one rule: a compressed size is only ever a sum over files that were all found and read; one
//! missing file means no `.gzip`/`.brotli` twins at all, never a partial sum.
//!
//! Compression settings, chosen to match what a production server sends for static assets:
//! gzip at level 9 (flate2 `Compression::best()`, no file name or time in the header, like
//! `gzip -9 -n`), brotli at quality 11 with a 4 MiB window (lgwin 22), the defaults of `brotli` and
//! of Node's `zlib.brotliCompress`, which size-limit uses.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

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

/// A size field in bytes (see [`bytes_from_f64`]). Used with `deserialize_with`, so the error
/// carries the field path.
pub(crate) fn de_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    bytes_from_f64(f64::deserialize(d)?).map_err(D::Error::custom)
}

/// `a + b` for sizes, or an error once the sum passes [`MAX_BYTES`].
pub(crate) fn add_bytes(a: u64, b: u64) -> Result<u64> {
    match a.checked_add(b) {
        Some(sum) if sum <= MAX_BYTES => Ok(sum),
        _ => bail!("sizes add up to more than 2^53 bytes (8 PiB): a size in the report is wrong"),
    }
}

/// [`de_bytes`] for an optional field.
pub(crate) fn de_opt_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "de_bytes")] u64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
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
}

/// Raw and compressed sizes of one group of files; the compressed ones only when files are at hand.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sizes {
    pub raw: u64,
    pub compressed: Option<(u64, u64)>,
}

impl Sizes {
    fn add(self, other: Sizes) -> Result<Sizes> {
        Ok(Sizes {
            raw: add_bytes(self.raw, other.raw)?,
            compressed: match (self.compressed, other.compressed) {
                (Some((g1, b1)), Some((g2, b2))) => Some((add_bytes(g1, g2)?, add_bytes(b1, b2)?)),
                _ => None,
            },
        })
    }

    /// Sums several groups: the compressed sizes only if every group has them.
    pub(crate) fn sum(items: impl IntoIterator<Item = Sizes>) -> Result<Sizes> {
        let mut total = Sizes {
            raw: 0,
            compressed: Some((0, 0)),
        };
        for s in items {
            total = total.add(s)?;
        }
        Ok(total)
    }

    /// Inserts `<name>.raw` and, where known, `<name>.gzip` and `<name>.brotli`.
    pub(crate) fn insert(self, metrics: &mut Metrics, name: &str) {
        metrics.insert(format!("{name}.raw"), Measurement::bytes(self.raw as f64));
        if let Some((gzip, brotli)) = self.compressed {
            metrics.insert(format!("{name}.gzip"), Measurement::bytes(gzip as f64));
            metrics.insert(format!("{name}.brotli"), Measurement::bytes(brotli as f64));
        }
    }
}

/// The headline sizes of a bundle, for sums across webpack's multi-compiler children.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Totals {
    pub total: Sizes,
    pub initial: Option<Sizes>,
}

impl Bundle {
    /// Inserts every metric of this bundle, each name prefixed by `prefix` (empty or `"<child>."`):
    /// `total`, `initial`, `entry.<name>` and `asset.<file>`, each as `.raw` (+ `.gzip`/`.brotli`).
    pub(crate) fn insert_metrics(&self, metrics: &mut Metrics, prefix: &str) -> Result<Totals> {
        let mut per_file: BTreeMap<&str, Sizes> = BTreeMap::new();
        for (name, &raw) in &self.assets {
            let compressed = match &self.dir {
                Some(dir) => Some(compress_file(&dir.join(name))?),
                None => None,
            };
            per_file.insert(name, Sizes { raw, compressed });
        }
        let group = |names: &BTreeSet<String>| -> Result<Sizes> {
            let mut items = Vec::with_capacity(names.len());
            for n in names {
                match per_file.get(n.as_str()) {
                    Some(s) => items.push(*s),
                    None => bail!("`{n}` is loaded by an entry but is not among the assets"),
                }
            }
            Sizes::sum(items)
        };
        let total =
            Sizes::sum(per_file.values().copied()).with_context(|| format!("`{prefix}total`"))?;
        total.insert(metrics, &format!("{prefix}total"));
        let initial = match &self.initial {
            Some(names) => {
                let s = group(names).with_context(|| format!("`{prefix}initial`"))?;
                s.insert(metrics, &format!("{prefix}initial"));
                Some(s)
            }
            None => None,
        };
        for (entry, names) in &self.entries {
            let name = format!("{prefix}entry.{entry}");
            group(names)
                .with_context(|| format!("`{name}`"))?
                .insert(metrics, &name);
        }
        for (name, s) in &per_file {
            s.insert(metrics, &format!("{prefix}asset.{name}"));
        }
        Ok(Totals { total, initial })
    }
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

/// gzip (level 9) and brotli (quality 11) sizes of one file, in bytes.
pub(crate) fn compress_file(path: &Path) -> Result<(u64, u64)> {
    let data = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    compress(&data).with_context(|| format!("{}: compressing", path.display()))
}

/// gzip (level 9) and brotli (quality 11) sizes of some bytes.
pub(crate) fn compress(data: &[u8]) -> Result<(u64, u64)> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data)?;
    let gzip = gz.finish()?.len() as u64;
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut br, &params)?;
    Ok((gzip, br.len() as u64))
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
    use super::*;

    #[test]
    fn compresses_like_the_tools() {
        // `printf 'hello hello hello hello\n' | gzip -9 -n | wc -c` = 29; Node 20
        // `zlib.brotliCompressSync(buf).length` (quality 11, lgwin 22) = 23.
        let (gzip, brotli) = compress(b"hello hello hello hello\n").expect("in memory");
        assert_eq!(gzip, 29);
        assert_eq!(brotli, 23);
    }

    #[test]
    fn compressed_sums_need_every_part() {
        let a = Sizes {
            raw: 10,
            compressed: Some((5, 4)),
        };
        let b = Sizes {
            raw: 7,
            compressed: None,
        };
        let s = Sizes::sum([a, b]).expect("small");
        assert_eq!(s.raw, 17);
        assert!(s.compressed.is_none());
        assert_eq!(Sizes::sum([a, a]).expect("small").compressed, Some((10, 8)));
    }

    #[test]
    fn sizes_past_2_pow_53_are_errors_not_overflows() {
        assert_eq!(bytes_from_f64(9_007_199_254_740_992.0), Ok(MAX_BYTES));
        for bad in [1e19, 18_446_744_073_709_551_616.0, -1.0, 0.5, f64::NAN] {
            assert!(bytes_from_f64(bad).is_err(), "{bad}");
        }
        let big = Sizes {
            raw: MAX_BYTES,
            compressed: Some((MAX_BYTES, 1)),
        };
        let e = format!("{:#}", Sizes::sum([big, big]).expect_err("past 2^53"));
        assert!(e.contains("more than 2^53 bytes"), "{e}");
        let no_files = Sizes {
            compressed: None,
            ..big
        };
        assert!(Sizes::sum([no_files, Sizes::default()]).is_ok());
    }
}
