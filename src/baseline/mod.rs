//! The baseline file: a gate's history of runs, kept in the repository as pretty JSON with sorted
//! keys so that `git diff` reads well. Load, append, atomic save — the only baseline I/O.
//!
//! The one rule: the file is never lost or torn. A write goes to a temporary file in the same
//! directory (a symlinked baseline's target's) and is renamed over the old one (atomic on POSIX
//! file systems), under an exclusive lock so that two concurrent updates both land; any problem
//! with the current reports or with the existing file stops before the write, leaving the file
//! byte-identical.

pub mod git;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::ingest::HISTOGRAM_SCALE;
use crate::model::Unit;

/// The schema this perfgate reads and writes; an incompatible change gets a new version.
pub const SCHEMA: &str = "perfgate/baseline@1";

/// A gate's baseline history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    pub schema: String,
    /// The gate the runs belong to.
    pub gate: String,
    /// Oldest first.
    pub runs: Vec<BaselineRun>,
}

/// One run of the gate on the default branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineRun {
    /// The commit measured (full sha), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// When the run was recorded, RFC 3339 UTC (`2026-11-26T19:28:48Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Budgeted metric id → its measurement in this run.
    pub metrics: BTreeMap<String, BaselineMetric>,
    /// Where the run was measured; absent in files written before it was recorded, whose runs
    /// are compared with any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
}

/// Where a run was measured, so that a run is judged against the runs measured alike (README
/// "Like with like"). A field that either side does not know is never a difference.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// `linux`, `macos`, `windows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// `x86_64`, `aarch64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The CPU's model name (`AMD EPYC 7763 64-Core Processor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// The CPUs this process may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// The CI runner as the CI names it: recorded for a reader, never compared (a hosted runner
    /// has a new name every job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// Per source, what its tool says of its setup (see [`crate::ingest::Setup`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, SourceSetup>,
}

/// A source's tool setup in a baseline run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSetup {
    /// Fact → value (`lighthouse` → `12.8.2`, `chrome` → `156`): compared exactly.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
    /// Lighthouse's `benchmarkIndex`: compared within [`BENCHMARK_INDEX_BAND`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark_index: Option<f64>,
}

/// Two `benchmarkIndex` values further apart than this ratio are different machines: the index
/// of one host moves by a few percent between runs, a slower or faster machine class by far more.
pub const BENCHMARK_INDEX_BAND: f64 = 1.25;

impl Environment {
    /// How `now` (the current run's) differs from this run's where a metric of `sources` is
    /// concerned, one phrase per difference (`cpu AMD EPYC 7763 → Intel Xeon 8370C`); empty when
    /// they are alike.
    pub fn differences(&self, now: &Environment, sources: &[&str]) -> Vec<String> {
        let fact = |name: &str, then: Option<&str>, now: Option<&str>| match (then, now) {
            (Some(then), Some(now)) if then != now => Some(format!("{name} {then} → {now}")),
            _ => None,
        };
        let cpus = |c: Option<u32>| c.map(|c| c.to_string());
        let mut out: Vec<String> = [
            fact("os", self.os.as_deref(), now.os.as_deref()),
            fact("arch", self.arch.as_deref(), now.arch.as_deref()),
            fact("cpu", self.cpu.as_deref(), now.cpu.as_deref()),
            fact(
                "cpus",
                cpus(self.cpus).as_deref(),
                cpus(now.cpus).as_deref(),
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        for source in sources {
            let (Some(then), Some(current)) = (self.sources.get(*source), now.sources.get(*source))
            else {
                continue;
            };
            for (name, value) in &then.facts {
                out.extend(fact(
                    &format!("{source} {name}"),
                    Some(value),
                    current.facts.get(name).map(String::as_str),
                ));
            }
            if let (Some(a), Some(b)) = (then.benchmark_index, current.benchmark_index) {
                if a.max(b) > a.min(b) * BENCHMARK_INDEX_BAND {
                    out.push(format!("{source} benchmarkIndex {a} → {b}"));
                }
            }
        }
        out
    }
}

/// One metric in one baseline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineMetric {
    /// The representative value, in `unit`.
    pub value: f64,
    /// `ms`, `B`, `%`, `/s` or `""`.
    pub unit: Unit,
    /// The run's samples in `unit`, where the source had several runs (Lighthouse runs) or time
    /// slices (Artillery's intermediate periods).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<f64>,
    /// The run's distribution where the source carries one: an HdrHistogram (integer
    /// `histogram_scale`ths of `unit`, 3 significant figures) in the V2 + deflate encoding,
    /// base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
    /// The page measured (`url:/checkout`), where the source says: so that a page keeps its
    /// history when the source goes from one page (ids without a page) to several (`<id>{<page>}`)
    /// and back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// How many histogram units make one unit of `unit`: [`HISTOGRAM_SCALE`] (nanoseconds per
    /// millisecond). Absent in files written before it existed, whose histograms hold
    /// thousandths ([`FIRST_HISTOGRAM_SCALE`], microseconds per millisecond).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram_scale: Option<u64>,
}

/// The scale of the histograms of the first baseline files, which do not say theirs.
pub const FIRST_HISTOGRAM_SCALE: u64 = 1_000;

impl BaselineMetric {
    /// Decodes the histogram, if the run stored one, in [`HISTOGRAM_SCALE`] whatever the scale it
    /// was stored in, so that histograms of different scales are never compared: an older
    /// file's buckets are moved to the same values in the finer scale (their coarser resolution
    /// stays, 0.1 % of each value).
    pub fn histogram(&self) -> Result<Option<Histogram<u64>>> {
        let Some(text) = self.histogram.as_deref() else {
            return Ok(None);
        };
        let stored = decode_histogram(text)?;
        let scale = self.histogram_scale.unwrap_or(FIRST_HISTOGRAM_SCALE);
        if scale == HISTOGRAM_SCALE {
            return Ok(Some(stored));
        }
        if scale != FIRST_HISTOGRAM_SCALE {
            bail!(
                "histogram_scale {scale} is not a scale perfgate writes ({HISTOGRAM_SCALE}, or {FIRST_HISTOGRAM_SCALE} in older files)"
            );
        }
        let factor = HISTOGRAM_SCALE / FIRST_HISTOGRAM_SCALE;
        let mut rescaled = Histogram::<u64>::new(stored.sigfig())
            .map_err(|e| anyhow::anyhow!("the histogram's precision: {e:?}"))?;
        for v in stored.iter_recorded() {
            let value = stored
                .median_equivalent(v.value_iterated_to())
                .checked_mul(factor)
                .filter(|x| *x < u64::MAX >> 2)
                .context("a value of the histogram is too large for its new scale")?;
            rescaled
                .record_n(value, v.count_at_value())
                .map_err(|e| anyhow::anyhow!("rescaling the histogram: {e:?}"))?;
        }
        Ok(Some(rescaled))
    }
}

/// Encodes a histogram compactly for the baseline file.
pub fn encode_histogram(h: &Histogram<u64>) -> Result<String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| anyhow::anyhow!("encoding a histogram: {e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn decode_histogram(text: &str) -> Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .context("the histogram is not base64")?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("the histogram does not decode: {e:?}"))
}

impl BaselineFile {
    pub fn new(gate: &str) -> Self {
        BaselineFile {
            schema: SCHEMA.to_string(),
            gate: gate.to_string(),
            runs: Vec::new(),
        }
    }

    /// Every stored value of `metric` in `unit`, oldest first (runs measured in another unit,
    /// before a budget change, are not comparable and are left out).
    pub fn history<'a>(
        &'a self,
        metric: &'a str,
        unit: Unit,
    ) -> impl Iterator<Item = &'a BaselineMetric> + 'a {
        self.runs
            .iter()
            .filter_map(move |r| r.metrics.get(metric))
            .filter(move |m| m.unit == unit)
    }

    /// The file's text: pretty JSON with sorted keys and a trailing newline.
    pub fn to_text(&self) -> Result<String> {
        // Through `Value`, whose maps are sorted, so every object's keys come out in order.
        let value = serde_json::to_value(self).context("serializing the baseline")?;
        let mut text = crate::json::to_string_pretty(&value).context("serializing the baseline")?;
        text.push('\n');
        Ok(text)
    }

    /// Appends `run` and keeps the last `keep` runs: the one way a run enters a history, for a file
    /// in the checkout as for one on a data branch (where a rejected push re-applies the run to
    /// the history another job landed).
    pub fn append(&mut self, run: BaselineRun, keep: usize) -> Result<()> {
        if keep == 0 {
            bail!("--keep 0 would empty the baseline; keep at least one run");
        }
        self.runs.push(run);
        let excess = self.runs.len().saturating_sub(keep);
        self.runs.drain(..excess);
        Ok(())
    }

    /// Parses baseline text and checks it is `gate`'s; `path` names the file in errors.
    pub fn parse_for_gate(path: &Path, text: &str, gate: &str) -> Result<BaselineFile> {
        let file = BaselineFile::parse(path, text)?;
        if file.gate != gate {
            bail!(
                "{}: the baseline belongs to gate `{}`, not `{gate}`; pass --baseline for this gate's file",
                path.display(),
                file.gate
            );
        }
        Ok(file)
    }

    /// Parses and checks baseline text; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<BaselineFile> {
        let shown = path.display();
        let probe: serde_json::Value = serde_json::from_str(text).with_context(|| {
            format!("{shown}: the baseline is not valid JSON (a bad merge or a truncated write?)")
        })?;
        match probe.get("schema").and_then(serde_json::Value::as_str) {
            Some(SCHEMA) => {}
            Some(other) => bail!(
                "{shown}: baseline schema `{other}` is not one this perfgate reads (it reads `{SCHEMA}`); update perfgate or move the file away"
            ),
            None => bail!("{shown}: not a perfgate baseline (no `schema` field)"),
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        let file: BaselineFile = serde_path_to_error::deserialize(de)
            .map_err(|e| anyhow::anyhow!("{shown}: field `{}`: {}", e.path(), e.inner()))?;
        for (i, run) in file.runs.iter().enumerate() {
            for (id, m) in &run.metrics {
                if !m.value.is_finite() || m.samples.iter().any(|s| !s.is_finite()) {
                    bail!("{shown}: field `runs[{i}].metrics.{id}`: not a finite number");
                }
                m.histogram().with_context(|| {
                    format!("{shown}: field `runs[{i}].metrics.{id}.histogram`")
                })?;
            }
        }
        Ok(file)
    }
}

/// The biggest baseline read: 64 MiB, far above a real one (30 runs of a budget are about 42 KB;
/// `baselines/prod.json` holds 8 runs in 11 KB) and far below a memory problem. A baseline comes
/// from the repository, so a pull request can make it anything, `/dev/zero` included.
pub(crate) const MAX_BASELINE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads the baseline at `path`: `None` when there is none yet; an error when it exists but is not
/// a valid baseline of this gate.
pub fn load_baseline(path: &Path, gate: &str) -> Result<Option<BaselineFile>> {
    let file = match crate::file::open_regular(path, "baseline file")? {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("{}: cannot read the baseline", path.display()))
        }
    };
    let text = crate::file::read_text(file, path, MAX_BASELINE_BYTES, "baseline", || {
        format!("{}: cannot read the baseline", path.display())
    })?;
    BaselineFile::parse_for_gate(path, &text, gate).map(Some)
}

/// Appends `run` to the baseline at `path` (created if absent), keeping the last `keep` runs.
/// Concurrent calls are serialized by a lock; each re-reads the file under the lock, so both runs
/// land. Returns the file as written.
pub fn append_run(path: &Path, gate: &str, run: BaselineRun, keep: usize) -> Result<BaselineFile> {
    if keep == 0 {
        bail!("--keep 0 would empty the baseline; keep at least one run");
    }
    // A symlinked baseline (a shared history, a file kept elsewhere) stays a link: the update
    // replaces the file it points to, with the temporary file and the lock in that file's
    // directory, so that the rename stays on one file system.
    let target = link_target(path)?;
    let dir = parent_dir(&target);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create the baseline directory", dir.display()))?;
    let _lock = DirLock::acquire(&dir)?;
    sweep_stale_temporaries(&dir);
    let mut file = load_baseline(path, gate)?.unwrap_or_else(|| BaselineFile::new(gate));
    file.append(run, keep)?;
    save_atomic(&target, &file.to_text()?)?;
    Ok(file)
}

/// As many links as Linux follows before giving up (`ELOOP`).
const MAX_LINKS: usize = 40;

/// The file `path` names once every symbolic link is followed (the link's own text, relative to
/// the link's directory): `path` itself when it is not a link, also when it does not exist yet.
/// A link to a missing file names the file to create.
fn link_target(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&current).with_context(|| {
                    format!("{}: cannot read the symbolic link", current.display())
                })?;
                current = parent_dir(&current).join(to);
            }
            _ => return Ok(current),
        }
    }
    bail!(
        "{}: more than {MAX_LINKS} symbolic links in a row (a loop?); point --baseline at the file",
        path.display()
    )
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The prefix of the temporary files; `tempfile` adds [`TEMP_RANDOM`] random letters and digits.
const TEMP_PREFIX: &str = ".perfgate-baseline-";
const TEMP_RANDOM: usize = 6;

/// Removes the temporary files that updates killed before their rename left in `dir`, so that a
/// `git add baselines/` never commits one. Called under the directory's lock, which every update
/// holds from before it creates its temporary file until after the rename: a temporary file seen
/// here belongs to no live update. Only names perfgate gives its temporary files are touched, and
/// only regular files. A file that cannot be removed stays for the next update to try: the run
/// being recorded matters more.
fn sweep_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_temporary = name.to_str().is_some_and(|n| {
            n.strip_prefix(TEMP_PREFIX).is_some_and(|rest| {
                rest.len() == TEMP_RANDOM && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        });
        if is_temporary && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes `text` to a temporary file beside `path`, flushes it to disk and renames it over `path`.
fn save_atomic(path: &Path, text: &str) -> Result<()> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .rand_bytes(TEMP_RANDOM)
        .tempfile_in(&dir)
        .with_context(|| format!("{}: cannot create a temporary file", dir.display()))?;
    // A temporary file is private (0600 on Unix); the baseline keeps the permissions it had, or
    // gets the usual ones for a file in a repository.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let permissions = std::fs::metadata(path)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
        tmp.as_file()
            .set_permissions(permissions)
            .with_context(|| format!("{}: cannot set the permissions", tmp.path().display()))?;
    }
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| {
            format!(
                "{}: cannot write the temporary baseline",
                tmp.path().display()
            )
        })?;
    tmp.persist(path).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot replace the baseline: {}",
            path.display(),
            e.error
        )
    })?;
    // The rename is durable only once the directory entry is on disk too.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// An exclusive lock on the baseline's directory, held until dropped. Locking the directory
/// rather than the file survives the rename that replaces the file, and leaves no lock file
/// behind to be committed by accident.
struct DirLock {
    file: File,
}

impl DirLock {
    fn acquire(dir: &Path) -> Result<DirLock> {
        let file = File::open(dir).with_context(|| {
            format!(
                "{}: cannot open the baseline directory to lock it",
                dir.display()
            )
        })?;
        file.lock()
            .with_context(|| format!("{}: cannot lock the baseline directory", dir.display()))?;
        Ok(DirLock { file })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(value: f64) -> BaselineRun {
        BaselineRun {
            commit: Some(format!("{:040x}", value as u64)),
            time: Some("2026-11-26T19:28:48Z".into()),
            metrics: BTreeMap::from([(
                "api.http.response_time.p95".to_string(),
                BaselineMetric {
                    value,
                    unit: Unit::Ms,
                    samples: vec![value - 1.0, value + 1.0],
                    histogram: None,
                    page: None,
                    histogram_scale: None,
                },
            )]),
            environment: None,
        }
    }

    #[test]
    fn environments_differ_only_where_both_know() {
        let lighthouse = |version: &str, index: f64| SourceSetup {
            facts: BTreeMap::from([("lighthouse".to_string(), version.to_string())]),
            benchmark_index: Some(index),
        };
        let then = Environment {
            os: Some("linux".into()),
            cpu: Some("AMD EPYC 7763 64-Core Processor".into()),
            cpus: Some(4),
            sources: BTreeMap::from([("web".to_string(), lighthouse("12.8.2", 1000.0))]),
            ..Environment::default()
        };
        let mut now = then.clone();
        now.runner = Some("another runner".into());
        now.sources
            .insert("web".into(), lighthouse("12.8.2", 1240.0));
        assert!(then.differences(&now, &["web"]).is_empty());
        now.cpus = None;
        assert!(then.differences(&now, &["web"]).is_empty());

        now.cpu = Some("Intel(R) Xeon(R) Platinum 8370C".into());
        now.sources
            .insert("web".into(), lighthouse("13.0.0", 1260.0));
        assert_eq!(
            then.differences(&now, &["web"]),
            [
                "cpu AMD EPYC 7763 64-Core Processor → Intel(R) Xeon(R) Platinum 8370C",
                "web lighthouse 12.8.2 → 13.0.0",
                "web benchmarkIndex 1000 → 1260",
            ]
        );
        // A source's setup concerns only its own metrics.
        assert_eq!(then.differences(&now, &["api"]).len(), 1);
        assert!(Environment::default()
            .differences(&now, &["web"])
            .is_empty());
    }

    #[test]
    fn appends_keeps_the_last_n_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prod.json");
        for v in 1..=5 {
            append_run(&path, "prod", run(v as f64 * 10.0), 3).unwrap();
        }
        let file = load_baseline(&path, "prod").unwrap().unwrap();
        let values: Vec<f64> = file
            .history("api.http.response_time.p95", Unit::Ms)
            .map(|m| m.value)
            .collect();
        assert_eq!(values, [30.0, 40.0, 50.0]);
        assert_eq!(
            file.history("api.http.response_time.p95", Unit::Bytes)
                .count(),
            0
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers,
            ["prod.json"],
            "no temporary or lock file left behind"
        );
    }

    #[test]
    fn the_text_is_pretty_sorted_and_stable() {
        let mut file = BaselineFile::new("prod");
        file.runs.push(run(12.5));
        let text = file.to_text().unwrap();
        assert!(
            text.starts_with("{\n  \"gate\": \"prod\",\n  \"runs\": [\n    {\n      \"commit\""),
            "{text}"
        );
        assert!(
            text.ends_with("\"schema\": \"perfgate/baseline@1\"\n}\n"),
            "{text}"
        );
        assert_eq!(BaselineFile::parse(Path::new("x"), &text).unwrap(), file);
    }

    #[test]
    fn histograms_round_trip_compactly() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for us in 1_000..11_000u64 {
            h.record(us).unwrap();
        }
        let text = encode_histogram(&h).unwrap();
        assert!(
            text.len() < 2_000,
            "10,000 values in {} characters",
            text.len()
        );
        let mut m = run(1.0)
            .metrics
            .remove("api.http.response_time.p95")
            .unwrap();
        m.histogram = Some(text);
        m.histogram_scale = Some(HISTOGRAM_SCALE);
        let back = m.histogram().unwrap().unwrap();
        assert_eq!(
            (back.len(), back.value_at_quantile(0.95)),
            (h.len(), h.value_at_quantile(0.95))
        );
    }

    #[test]
    fn an_older_files_microsecond_histograms_are_read_in_nanoseconds() {
        // A file written before `histogram_scale` existed: microseconds, no scale field.
        let mut us = Histogram::<u64>::new(3).unwrap();
        for v in 1_000..11_000u64 {
            us.record(v).unwrap();
        }
        let mut m = run(1.0)
            .metrics
            .remove("api.http.response_time.p95")
            .unwrap();
        m.histogram = Some(encode_histogram(&us).unwrap());
        let ns = m.histogram().unwrap().unwrap();
        assert_eq!(ns.len(), us.len());
        for q in [0.5, 0.95, 0.99] {
            let (old, new) = (
                us.value_at_quantile(q) as f64,
                ns.value_at_quantile(q) as f64,
            );
            assert!(
                (new / 1000.0 - old).abs() <= old * 0.001,
                "{q}: {old} µs, {new} ns"
            );
        }
        // Said explicitly, the same; in the current scale, read as is; any other, refused.
        m.histogram_scale = Some(FIRST_HISTOGRAM_SCALE);
        assert_eq!(m.histogram().unwrap().unwrap(), ns);
        m.histogram_scale = Some(HISTOGRAM_SCALE);
        assert_eq!(m.histogram().unwrap().unwrap(), us);
        m.histogram_scale = Some(7);
        let e = format!("{:#}", m.histogram().unwrap_err());
        assert!(e.contains("histogram_scale 7"), "{e}");
    }

    #[test]
    fn bad_files_are_errors_that_leave_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prod.json");
        for (text, needle) in [
            ("{\"schema\": \"perfgate/baseline@1\", \"gate\": \"prod\", \"runs\": [", "not valid JSON"),
            ("{\"schema\": \"perfgate/baseline@9\", \"gate\": \"prod\", \"runs\": []}", "schema `perfgate/baseline@9`"),
            ("{\"gate\": \"prod\", \"runs\": []}", "no `schema` field"),
            ("{\"schema\": \"perfgate/baseline@1\", \"gate\": \"other\", \"runs\": []}", "belongs to gate `other`"),
            (
                "{\"schema\": \"perfgate/baseline@1\", \"gate\": \"prod\", \"runs\": [{\"metrics\": {\"a\": {\"value\": \"x\", \"unit\": \"ms\"}}}]}",
                "field `runs[0].metrics.a.value`",
            ),
            (
                "{\"schema\": \"perfgate/baseline@1\", \"gate\": \"prod\", \"runs\": [{\"metrics\": {\"a\": {\"value\": 1, \"unit\": \"ms\", \"histogram\": \"!!\"}}}]}",
                "runs[0].metrics.a.histogram",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = append_run(&path, "prod", run(1.0), 30).unwrap_err();
            assert!(format!("{e:#}").contains(needle), "{e:#}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "byte-identical after {needle}");
        }
    }

    #[test]
    fn concurrent_appends_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prod.json");
        std::thread::scope(|s| {
            for t in 0..8 {
                let path = &path;
                s.spawn(move || {
                    for i in 0..5 {
                        append_run(path, "prod", run((t * 100 + i) as f64), 100).unwrap();
                    }
                });
            }
        });
        let file = load_baseline(&path, "prod").unwrap().unwrap();
        assert_eq!(file.runs.len(), 40);
    }
}
