//! The environment a run was measured in (README "Like with like"): the machine, as the operating
//! system and the CI describe it, and each source's tool setup, as its reports say. Recorded with
//! every baseline run and compared by the judge, which keeps to the history measured alike.

use std::collections::BTreeMap;
use std::io::Read as _;

use crate::baseline::{Environment, SourceSetup};
use crate::ingest::Setup;

/// /proc/cpuinfo is a few KB per CPU; its first processor's lines are all that is read.
const MAX_CPUINFO_BYTES: u64 = 64 * 1024;
/// A model name or a CI variable longer than this is cut: it is shown in verdicts.
const MAX_FIELD_CHARS: usize = 120;

/// This machine, this CI runner, and the sources' setups (source name → its runs' setup).
pub(super) fn current(setups: BTreeMap<String, Setup>) -> Environment {
    Environment {
        os: Some(std::env::consts::OS.to_string()),
        arch: Some(std::env::consts::ARCH.to_string()),
        cpu: cpu_model(),
        cpus: std::thread::available_parallelism()
            .ok()
            .and_then(|n| u32::try_from(n.get()).ok()),
        runner: runner(),
        sources: setups
            .into_iter()
            .filter(|(_, s)| !s.facts.is_empty() || s.benchmark_index.is_some())
            .map(|(name, s)| {
                (
                    name,
                    SourceSetup {
                        facts: s.facts.into_iter().map(|(k, v)| (k, field(&v))).collect(),
                        benchmark_index: s.benchmark_index,
                    },
                )
            })
            .collect(),
    }
}

/// The CPU's model name: Linux's /proc/cpuinfo `model name` (x86) or `Model` (some ARM boards),
/// macOS's `machdep.cpu.brand_string`, Windows' `PROCESSOR_IDENTIFIER`.
fn cpu_model() -> Option<String> {
    let model = if cfg!(target_os = "linux") {
        let mut text = String::new();
        std::fs::File::open("/proc/cpuinfo")
            .ok()?
            .take(MAX_CPUINFO_BYTES)
            .read_to_string(&mut text)
            .ok()?;
        text.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            matches!(key.trim(), "model name" | "Model").then(|| value.trim().to_string())
        })?
    } else if cfg!(target_os = "macos") {
        let out = std::process::Command::new("sysctl")
            .args(["-n", "machdep.cpu.brand_string"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    } else {
        std::env::var("PROCESSOR_IDENTIFIER").ok()?
    };
    let model = field(&model);
    (!model.is_empty()).then_some(model)
}

/// The CI runner, as GitHub Actions (`RUNNER_NAME`, `RUNNER_ENVIRONMENT`, `ImageOS`,
/// `ImageVersion`) or GitLab CI (`CI_RUNNER_DESCRIPTION`, `CI_RUNNER_TAGS`) names it.
fn runner() -> Option<String> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| field(&v))
            .filter(|v| !v.is_empty())
    };
    let joined = |name: Option<String>, more: Vec<Option<String>>| {
        let more: Vec<String> = more.into_iter().flatten().collect();
        match (name, more.is_empty()) {
            (Some(name), true) => Some(name),
            (Some(name), false) => Some(format!("{name} ({})", more.join(", "))),
            (None, false) => Some(more.join(", ")),
            (None, true) => None,
        }
    };
    if var("GITHUB_ACTIONS").as_deref() == Some("true") {
        let image = match (var("ImageOS"), var("ImageVersion")) {
            (Some(os), Some(version)) => Some(format!("{os} {version}")),
            (os, _) => os,
        };
        return joined(var("RUNNER_NAME"), vec![var("RUNNER_ENVIRONMENT"), image]);
    }
    if var("GITLAB_CI").as_deref() == Some("true") {
        return joined(
            var("CI_RUNNER_DESCRIPTION"),
            vec![var("CI_RUNNER_TAGS").map(|t| format!("tags {t}"))],
        );
    }
    None
}

/// A value from the system, the CI or a report on one line, without control characters, cut.
fn field(value: &str) -> String {
    let flat: String = value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    match flat.char_indices().nth(MAX_FIELD_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}
