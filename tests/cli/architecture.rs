//! The workspace's crate borders are the pipeline's stages: the run record, the judges and
//! the report sinks must not link anything that runs an engine. This test reads the
//! resolved dependency graph from `cargo metadata` and walks it; the same checker must
//! reject the hand-made metadata fixtures that each contain one forbidden edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// (crate, what it may never reach, directly or through other crates, as a normal or build
/// dependency). A name ending in `*` is a prefix.
const RULES: &[(&str, &[&str])] = &[
    ("adasval-core", &["adasval-*", "tract-*", "cudarc"]),
    (
        "adasval-record",
        &[
            "adasval-run",
            "adasval-cuda",
            "adasval-plan",
            "adasval-judge",
            "adasval-report",
            "adasval-scenario",
            "adasval-synth",
            "tract-*",
            "cudarc",
        ],
    ),
    (
        "adasval-judge",
        &[
            "adasval-run",
            "adasval-cuda",
            "adasval-plan",
            "adasval-report",
            // The judge returns data and renders nothing: the report crate owns SVG
            // figures and JUnit.
            "plotters",
            "quick-junit",
            "tract-*",
            "cudarc",
        ],
    ),
    (
        "adasval-report",
        &[
            "adasval-run",
            "adasval-cuda",
            "adasval-plan",
            "tract-*",
            "cudarc",
        ],
    ),
    (
        "adasval-synth",
        &[
            "adasval-run",
            "adasval-cuda",
            "adasval-plan",
            "tract-*",
            "cudarc",
        ],
    ),
    (
        "adasval-scenario",
        &[
            "adasval-run",
            "adasval-cuda",
            "adasval-plan",
            "tract-*",
            "cudarc",
        ],
    ),
    ("adasval-plan", &["adasval-run", "adasval-cuda", "cudarc"]),
    (
        "adasval-run",
        &["adasval-cuda", "adasval-judge", "adasval-report", "cudarc"],
    ),
    ("adasval-cuda", &["adasval-judge", "adasval-report"]),
    (
        // Corruptions are pixel arithmetic on core's frames and generator: no other stage.
        "adasval-corrupt",
        &[
            "adasval-record",
            "adasval-run",
            "adasval-cuda",
            "adasval-plan",
            "adasval-judge",
            "adasval-report",
            "adasval-scenario",
            "adasval-synth",
            "tract-*",
            "cudarc",
        ],
    ),
];

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

/// Every forbidden path found, as `a -> b -> c` chains of package names.
fn forbidden_paths(metadata: &Value) -> Result<Vec<String>, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("metadata has no `packages` array")?;
    let name_of: BTreeMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("metadata has no `resolve.nodes` (run without --no-deps)")?;
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for n in nodes {
        let id = n["id"].as_str().ok_or("a resolve node has no id")?;
        let from = *name_of
            .get(id)
            .ok_or(format!("node {id} is not a package"))?;
        for d in n["deps"].as_array().into_iter().flatten() {
            // Dev-dependencies are test-only: they never reach the library users link.
            let linked = d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if !linked {
                continue;
            }
            let pkg = d["pkg"].as_str().ok_or("a dependency has no pkg")?;
            let to = *name_of
                .get(pkg)
                .ok_or(format!("dependency {pkg} is not a package"))?;
            edges.entry(from).or_default().push(to);
        }
    }
    let mut found = Vec::new();
    for (krate, banned) in RULES {
        // A crate the metadata does not have has nothing to check (the fixtures hold only
        // the crates they are about; the real workspace is checked to have every one).
        if !name_of.values().any(|n| n == krate) {
            continue;
        }
        // Walk out from the crate, keeping each package's parent to print the path; a
        // banned package is reported once and not walked through.
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut seen: BTreeSet<&str> = BTreeSet::from([*krate]);
        let mut queue = vec![*krate];
        while let Some(at) = queue.pop() {
            for &next in edges.get(at).into_iter().flatten() {
                if !seen.insert(next) {
                    continue;
                }
                parent.insert(next, at);
                if !banned.iter().any(|b| matches(b, next)) {
                    queue.push(next);
                } else {
                    let mut chain = vec![next];
                    let mut cur = next;
                    while let Some(p) = parent.get(cur) {
                        chain.push(p);
                        cur = p;
                    }
                    chain.reverse();
                    found.push(chain.join(" -> "));
                }
            }
        }
    }
    Ok(found)
}

fn read_fixture(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/metadata")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_workspace_keeps_engines_out_of_record_judge_and_report() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let found = forbidden_paths(&metadata).expect("metadata has the expected shape");
    assert!(
        found.is_empty(),
        "forbidden dependencies:\n{}",
        found.join("\n")
    );
    // The walk must have seen the crates that do link engines, or it proves nothing.
    let names: Vec<&str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    let ruled = RULES.iter().map(|(k, _)| *k);
    for needed in ruled.chain(["tract-onnx", "cudarc"]) {
        assert!(
            names.contains(&needed),
            "{needed} missing from the metadata"
        );
    }
}

#[test]
fn the_checker_finds_a_direct_forbidden_edge() {
    let found = forbidden_paths(&read_fixture("judge_links_run.json")).unwrap();
    assert_eq!(
        found,
        vec!["adasval-judge -> adasval-run".to_string()],
        "{found:?}"
    );
}

#[test]
fn the_checker_finds_a_transitive_forbidden_edge() {
    let found = forbidden_paths(&read_fixture("record_reaches_tract.json")).unwrap();
    assert!(
        found.contains(&"adasval-record -> helper -> tract-onnx".to_string()),
        "{found:?}"
    );
    // judge and report depend on record, so they reach tract through it too.
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("adasval-judge -> adasval-record -> helper")),
        "{found:?}"
    );
}

#[test]
fn the_checker_ignores_dev_dependencies() {
    let found = forbidden_paths(&read_fixture("judge_dev_depends_on_run.json")).unwrap();
    assert!(found.is_empty(), "{found:?}");
}
