//! Helpers shared by integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The shared folder (`ADASVAL_SHARED`, default `../shared`). Returns `None` with a
/// printed reason when it is absent; panics instead when `CI=true`.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ADASVAL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    let msg = format!(
        "shared folder not found at {} (set ADASVAL_SHARED)",
        dir.display()
    );
    if ci() {
        panic!("{msg}: required when CI=true");
    }
    eprintln!("SKIP: {msg}");
    None
}

pub fn ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// Python 3 with the pinned reference packages of tests/requirements.txt. `None`
/// (with a printed reason) when a module is missing; panics when `CI=true`.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let py = std::env::var("ADASVAL_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = format!("import {}", modules.join(", "));
    let ok = Command::new(&py)
        .args(["-c", &probe])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(py);
    }
    let msg = format!(
        "python reference modules {modules:?} not importable with {py} (pip install -r tests/requirements.txt)"
    );
    if ci() {
        panic!("{msg}: required when CI=true");
    }
    eprintln!("SKIP: {msg}");
    None
}

/// Path of the release binary under test.
pub fn adasval() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adasval"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
