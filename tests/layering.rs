//! The modules depend one way (lib.rs's crate docs): no module imports from a module that imports
//! it. Read from the sources, so a new back-edge fails here rather than in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level module a source file belongs to: `src/ingest/k6.rs` is `ingest`.
fn module_of(path: &Path, src: &Path) -> Option<String> {
    let rel = path.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each module's imports of other modules: `crate::<name>` outside comments.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&file, &src) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("source readable");
        let used = graph.entry(module.clone()).or_default();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let name: String = line[i + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    used.insert(name);
                }
            }
        }
    }
    graph
}

#[test]
fn no_module_imports_from_a_module_that_imports_it() {
    let graph = imports();
    assert!(
        graph["commands"].contains("render") && graph["render"].contains("judge"),
        "the scan sees imports: {graph:?}"
    );
    // Every module reachable from `from`, to find cycles of any length.
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let cycles: Vec<&String> = graph.keys().filter(|m| reach(m).contains(*m)).collect();
    assert!(
        cycles.is_empty(),
        "modules on an import cycle: {cycles:?}; {graph:?}"
    );
    assert!(
        graph.values().all(|used| !used.contains("commands")),
        "only lib.rs's run uses the commands: {graph:?}"
    );
    assert!(
        graph["model"].is_empty(),
        "model imports nothing: {graph:?}"
    );
    assert!(
        graph["workflow"].is_empty(),
        "workflow commands are a leaf: {graph:?}"
    );
    assert!(
        !graph["render"].contains("github"),
        "a CI provider imports the template side, never the reverse: {graph:?}"
    );
}
