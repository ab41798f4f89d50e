//! A fuzz harness on the stable toolchain: mutants of every fixture under `tests/fixtures/` go
//! through [`perfgate::ingest::load_file`] auto-detected and declared as every format, mutants of
//! every budget (`budgets/`, `tests/cases/*/budget.toml`) through the budget parser.
//!
//! The one rule: a hostile input gets an error, never a panic or a hang. Each case runs on its own
//! thread under [`DEADLINE`] and inside `catch_unwind`; a failure names the seed, the case, the
//! fixture and the mutations, and keeps the mutant on disk, so that it replays exactly.
//!
//! The mutation engine is deterministic (SplitMix64 seeded by `PERFGATE_FUZZ_SEED` and the case
//! number): bit flips, bytes that matter to JSON/CSV/TOML/Prometheus text, truncation, span
//! deletion and duplication, splices of another fixture, numbers swapped for edge values (-1,
//! 1e308, NaN, 2^64 …) and deep nesting.
//!
//! `cargo test` runs a short deterministic smoke pass; the long run is opt-in:
//! `PERFGATE_FUZZ_SECONDS=3600 cargo test --release --test fuzz -- --ignored --exact long --nocapture`.
//! `PERFGATE_FUZZ_SEED` fixes the seed (else the clock picks one, printed), `PERFGATE_FUZZ_CASES`
//! caps the count and `PERFGATE_FUZZ_CASE` replays one case of a seed.

use std::fmt::Write as _;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use perfgate::budget::{load_budget, parse_budget};
use perfgate::ingest::{load_file, sniff, Format};

/// How long one case (one mutant read four times) may take before it counts as a hang: the
/// slowest seen in a debug build is under a second (a 290 kB Lighthouse report; bundle reports
/// find no built files beside the mutant, so nothing is compressed), and a loaded 2-core CI
/// machine needs the margin; a loop still fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// The stack of a case's thread: the main thread's on Linux, where the binary parses, so that
/// deep nesting fails here exactly when it would crash `perfgate`.
const STACK: usize = 8 << 20;

/// Bytes that change how JSON, CSV, TOML or Prometheus text is tokenised, and a few invalid UTF-8.
const BYTES: &[u8] = b"\"{}[],:;=#\n\r\t\\ -+.eE09'<>/\x00\x7f\xff\xc3\xe2";

/// Values a number is swapped for: signs, overflows, non-finite spellings, other JSON types.
const NUMBERS: &[&str] = &[
    "-1",
    "0",
    "-0",
    "1e308",
    "-1e308",
    "1e999",
    "1e-400",
    "NaN",
    "-Infinity",
    "inf",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775809",
    "4294967296",
    "0.0000001",
    "99999999999999999999999999",
    "null",
    "\"\"",
    "\"1\"",
    "true",
    "[]",
    "{}",
];

/// Tokens inserted anywhere.
const TOKENS: &[&str] = &[
    "\"",
    "{}",
    "[]",
    "null",
    ",",
    ":",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\n",
    "\r\n",
    "\"\":",
    "{\"\":",
    "\u{202e}",
    "\u{feff}",
    "# HELP x\n",
    "x{le=\"+Inf\"} 1\n",
    "[gate]\n",
    "[[budget]]\n",
    "metric = \"x\"\n",
];

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, and every seed gives a full-period stream.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, case: u64) -> Rng {
        let mut rng = Rng(seed ^ case.wrapping_mul(0xA076_1D64_78BD_642F));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A span length, mostly short, sometimes long.
    fn span(&mut self, max: usize) -> usize {
        if max == 0 {
            return 0;
        }
        let cap = if self.below(4) == 0 { max } else { max.min(16) };
        1 + self.below(cap)
    }
}

/// One input file the mutants start from.
struct Seed {
    path: PathBuf,
    bytes: Vec<u8>,
    /// The format perfgate detects in the unmutated file, if it reads it.
    format: Option<Format>,
}

/// Every file under `dir`, sorted, so that a seed number means the same case on every machine.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("fixture dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn load(paths: Vec<PathBuf>) -> Vec<Seed> {
    paths
        .into_iter()
        .map(|path| {
            let bytes = fs::read(&path).expect("seed file");
            Seed {
                path,
                bytes,
                format: None,
            }
        })
        .collect()
}

/// The report seeds: every fixture, including the recipes beside them (a `make.sh` or a k6
/// script is a plausible wrong file for a budget to name).
fn report_seeds() -> Vec<Seed> {
    let mut seeds = load(files(Path::new("tests/fixtures")));
    for seed in &mut seeds {
        seed.format = sniff(&String::from_utf8_lossy(&seed.bytes)).ok();
    }
    seeds
}

fn budget_seeds() -> Vec<Seed> {
    let mut paths = files(Path::new("budgets"));
    paths.extend(
        files(Path::new("tests/cases"))
            .into_iter()
            .filter(|p| p.ends_with("budget.toml")),
    );
    load(paths)
}

/// Applies 1–4 mutations to `data`; returns their descriptions.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Seed]) -> Vec<String> {
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(4) {
        done.push(mutate_once(rng, data, corpus));
    }
    done
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Seed]) -> String {
    let len = data.len();
    let at = if len == 0 { 0 } else { rng.below(len) };
    match rng.below(10) {
        0 if len > 0 => {
            let bit = rng.below(8);
            data[at] ^= 1 << bit;
            format!("flip bit {bit} at {at}")
        }
        1 if len > 0 => {
            let byte = *rng.pick(BYTES);
            data[at] = byte;
            format!("byte {byte:#04x} at {at}")
        }
        2 => {
            let to = rng.below(len + 1);
            data.truncate(to);
            format!("truncate to {to}")
        }
        3 if len > 0 => {
            let n = rng.span(len - at);
            data.drain(at..at + n);
            format!("delete {n} at {at}")
        }
        4 if len > 0 => {
            let n = rng.span(len - at);
            let copies = if rng.below(8) == 0 { 64 } else { 1 };
            let span = data[at..at + n].to_vec();
            let to = rng.below(len + 1);
            data.splice(to..to, span.iter().copied().cycle().take(n * copies));
            format!("duplicate {n} at {at} x{copies} to {to}")
        }
        5 => {
            let other = rng.pick(corpus);
            let olen = other.bytes.len();
            let from = if olen == 0 { 0 } else { rng.below(olen) };
            let n = if olen == 0 { 0 } else { rng.span(olen - from) };
            let to = rng.below(len + 1);
            data.splice(to..to, other.bytes[from..from + n].iter().copied());
            format!("splice {n} from {}@{from} to {to}", other.path.display())
        }
        6 | 7 => number(rng, data),
        8 => {
            let depth = [64, 200, 5_000, 100_000][rng.below(4)];
            let (open, close) = *rng.pick(&[("[", "]"), ("{\"a\":", "}"), ("[[a]]\n", "")]);
            let mut nest = open.repeat(depth);
            if rng.below(2) == 0 {
                nest.push('1');
                nest.push_str(&close.repeat(depth));
            }
            data.splice(at..at, nest.bytes());
            format!("nest {open:?} x{depth} at {at}")
        }
        _ => {
            let token = *rng.pick(TOKENS);
            data.splice(at..at, token.bytes());
            format!("insert {token:?} at {at}")
        }
    }
}

/// Replaces the number at or after a random position with an edge value.
fn number(rng: &mut Rng, data: &mut Vec<u8>) -> String {
    let from = if data.is_empty() {
        0
    } else {
        rng.below(data.len())
    };
    let Some(start) = data[from..]
        .iter()
        .position(u8::is_ascii_digit)
        .map(|i| from + i)
    else {
        return "no number after the position".to_owned();
    };
    let start = if start > 0 && data[start - 1] == b'-' {
        start - 1
    } else {
        start
    };
    let end = data[start + 1..]
        .iter()
        .position(|b| !(b.is_ascii_digit() || b"+-.eE".contains(b)))
        .map_or(data.len(), |i| start + 1 + i);
    let value = *rng.pick(NUMBERS);
    data.splice(start..end, value.bytes());
    format!("number at {start}..{end} -> {value}")
}

/// What a case found: the call that panicked and its message.
type Found = Option<String>;

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".to_owned())
}

/// Runs `call`, turning a panic into its description.
fn guarded(what: &str, call: impl FnOnce()) -> Found {
    panic::catch_unwind(AssertUnwindSafe(call))
        .err()
        .map(|p| format!("{what} panicked: {}", panic_message(p.as_ref())))
}

/// A mutant through the readers: auto-detected, then declared as the seed's own format and as two
/// others drawn by the case (every pairing over a run, at a sixth of the cost of all of them in
/// each case), each strict or lenient as drawn.
fn read_everywhere(path: &Path, rng: &mut Rng, own: Option<Format>) -> Found {
    let drawn = [*rng.pick(Format::ALL), *rng.pick(Format::ALL)];
    let declared = [None, own].into_iter().chain(drawn.map(Some));
    for declared in declared {
        let lenient = rng.below(2) == 0;
        let what = format!("load_file(declared {declared:?}, lenient {lenient})");
        let found = guarded(&what, || {
            let _ = load_file(path, declared, lenient);
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

/// A mutant through the budget parser, as text and as a file (invalid UTF-8 included).
fn parse_everywhere(path: &Path, bytes: &[u8]) -> Found {
    let text = String::from_utf8_lossy(bytes);
    guarded("parse_budget", || {
        let _ = parse_budget(path, &text);
    })
    .or_else(|| {
        guarded("load_budget", || {
            let _ = load_budget(path);
        })
    })
}

/// One case, replayable from `(seed, case)`.
struct Case {
    seed: u64,
    case: u64,
    origin: PathBuf,
    mutations: Vec<String>,
    dir: tempfile::TempDir,
    file: PathBuf,
    budget: bool,
    bytes: Vec<u8>,
    /// The seed's format, and the state of the stream that draws the declared formats.
    format: Option<Format>,
    draw: u64,
}

impl Case {
    /// Builds case `case` of `seed`: one in five mutates a budget, the rest a report.
    fn new(seed: u64, case: u64, reports: &[Seed], budgets: &[Seed]) -> Case {
        let mut rng = Rng::new(seed, case);
        let budget = rng.below(5) == 0;
        let pool = if budget { budgets } else { reports };
        let origin = rng.pick(pool);
        let mut bytes = origin.bytes.clone();
        let mutations = mutate(&mut rng, &mut bytes, pool);
        let dir = tempfile::tempdir().expect("temp dir");
        let name = origin.path.file_name().expect("a file name");
        let file = dir.path().join(name);
        fs::write(&file, &bytes).expect("write the mutant");
        Case {
            seed,
            case,
            origin: origin.path.clone(),
            mutations,
            dir,
            file,
            budget,
            bytes,
            format: origin.format,
            draw: rng.next(),
        }
    }

    /// Runs the case on its own thread; `Some` describes a panic or a missed deadline.
    fn run(&self) -> Found {
        let (tx, rx) = mpsc::channel();
        let file = self.file.clone();
        let bytes = self.bytes.clone();
        let budget = self.budget;
        let (format, mut draw) = (self.format, Rng(self.draw));
        thread::Builder::new()
            // A stack overflow aborts the process without unwinding; the thread's name is then
            // the only thing printed, so it carries the replay.
            .name(format!("fuzz seed {} case {}", self.seed, self.case))
            .stack_size(STACK)
            .spawn(move || {
                let found = if budget {
                    parse_everywhere(&file, &bytes)
                } else {
                    read_everywhere(&file, &mut draw, format)
                };
                let _ = tx.send(found);
            })
            .expect("spawn a case thread");
        match rx.recv_timeout(DEADLINE) {
            Ok(found) => found,
            Err(_) => Some(format!("no answer within {DEADLINE:?} (a hang)")),
        }
    }

    /// The failure message, keeping the mutant on disk.
    fn report(self, found: &str) -> String {
        let kept = self.dir.keep();
        let mut out = format!(
            "fuzz: {found}\n  replay: PERFGATE_FUZZ_SEED={} PERFGATE_FUZZ_CASE={} cargo test --test fuzz -- --ignored --exact long\n  seed file: {}\n  mutant kept: {}\n  mutations:",
            self.seed,
            self.case,
            self.origin.display(),
            kept.join(self.file.file_name().expect("name")).display()
        );
        for m in &self.mutations {
            let _ = write!(out, "\n    {m}");
        }
        out
    }
}

/// Reads a numeric environment variable; a malformed value is a mistake worth stopping for.
fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number"))
    })
}

/// Runs cases `first..` of `seed` until `limit` elapses or `max` cases ran; panics on a finding.
/// Returns how many ran.
fn campaign(seed: u64, first: u64, max: u64, limit: Duration) -> u64 {
    let reports = report_seeds();
    let budgets = budget_seeds();
    let start = Instant::now();
    let mut ran = 0;
    while ran < max && start.elapsed() < limit {
        let case = Case::new(seed, first + ran, &reports, &budgets);
        if let Some(found) = case.run() {
            panic!("{}", case.report(&found));
        }
        ran += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "fuzz: seed {seed}: {ran} cases in {secs:.1} s ({:.1} cases/s), no panic, no hang",
        ran as f64 / secs
    );
    ran
}

/// Every budget unmutated (the fixtures are read by each reader's own tests), and a fixed seed's
/// first cases: a few seconds in `cargo test`.
#[test]
fn smoke() {
    for seed in budget_seeds() {
        if let Some(found) = parse_everywhere(&seed.path, &seed.bytes) {
            panic!("{}: {found}", seed.path.display());
        }
        let budget = parse_budget(&seed.path, &String::from_utf8_lossy(&seed.bytes));
        assert!(budget.is_ok(), "{}: {budget:?}", seed.path.display());
    }
    assert_eq!(campaign(1, 0, 40, Duration::from_secs(60)), 40);
}

/// The long run: `PERFGATE_FUZZ_SECONDS` (default 60), `PERFGATE_FUZZ_SEED` (default: the
/// clock), `PERFGATE_FUZZ_CASES` (default: no cap), `PERFGATE_FUZZ_CASE` (replay that one case).
#[test]
#[ignore = "long; run with --ignored (CI: .ci/run)"]
fn long() {
    let seed = env_u64("PERFGATE_FUZZ_SEED").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos() as u64
    });
    if let Some(case) = env_u64("PERFGATE_FUZZ_CASE") {
        campaign(seed, case, 1, Duration::MAX);
        return;
    }
    let secs = env_u64("PERFGATE_FUZZ_SECONDS").unwrap_or(60);
    let max = env_u64("PERFGATE_FUZZ_CASES").unwrap_or(u64::MAX);
    eprintln!("fuzz: seed {seed} (replay with PERFGATE_FUZZ_SEED={seed}), {secs} s");
    campaign(seed, 0, max, Duration::from_secs(secs));
}

/// Runs `call` on its own thread; `None` if it gives no answer within `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(call());
    });
    rx.recv_timeout(limit).ok()
}

/// Found by seed 7, case 7755 (a Prometheus reply with a stray quote and 100,000 `[[a]]` lines,
/// declared as JMeter: 284 s in a debug build), then by seeds 8, 9 and 10 (a JTL mutant read
/// auto-detected, over 8 s). A quote left open makes the JTL reader re-split the whole record
/// from its start at every line it appends: quadratic in the lines. Minimal: one quote, then
/// 50,000 short lines (100 kB), which a linear reader refuses in milliseconds.
#[test]
fn jmeter_open_quote_over_many_lines_is_refused_promptly() {
    let lines = "a\n".repeat(50_000);
    let cases = [
        (Some(Format::Jmeter), format!("\"\n{lines}"), "line 1: "),
        (
            None,
            format!("timeStamp,elapsed,label,responseCode,success\n1,2,\"{lines}"),
            "line 2: the file ends inside a quoted field",
        ),
    ];
    for (declared, text, expected) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("results.jtl");
        fs::write(&path, text).expect("write");
        let answer = within(Duration::from_secs(5), move || {
            load_file(&path, declared, false).map_err(|e| format!("{e:#}"))
        });
        let Some(result) = answer else {
            panic!("reading the JTL ({declared:?}) took over 5 s");
        };
        let err = result.expect_err("an open quote is refused");
        assert!(err.contains(expected), "{err}");
    }
}
