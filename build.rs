//! Records the git commit the binary is built from (`adasval::tool::identity`, shown by
//! `adasval --version --verbose` and written into run.json, evidence.json and the
//! self-test results). Outside a git checkout, or without git, the reason is recorded in
//! words instead of a commit.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["--no-optional-locks", "-c", "core.fsmonitor=false"])
        .args(args)
        .output()
        .map_err(|e| format!("git could not be run at build time ({e})"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or("").trim().to_string();
        Err(format!("built outside a git checkout (git: {first})"))
    }
}

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // Sources changing can change whether the tree is modified; the git files below
    // change with commits and checkouts.
    for p in ["src", "crates", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={p}");
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| format!("unknown ({rustc} -V failed at build time)"));
    println!("cargo:rustc-env=ADASVAL_BUILD_RUSTC={version}");
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=ADASVAL_BUILD_PROFILE={profile}");
    let state = git(&dir, &["rev-parse", "--absolute-git-dir"]).and_then(|git_dir| {
        let common = git(&dir, &["rev-parse", "--git-common-dir"])?;
        let common = dir.join(common);
        let git_dir = PathBuf::from(git_dir);
        for p in [
            git_dir.join("HEAD"),
            git_dir.join("index"),
            common.join("packed-refs"),
        ] {
            println!("cargo:rerun-if-changed={}", p.display());
        }
        if let Ok(r) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", common.join(r).display());
        }
        let commit = git(&dir, &["rev-parse", "--verify", "HEAD"])?;
        let dirty = git(&dir, &["status", "--porcelain", "--untracked-files=no"])
            .map(|s| (!s.is_empty()).to_string())
            .unwrap_or_default();
        Ok((commit, dirty))
    });
    match state {
        Ok((commit, dirty)) => {
            println!("cargo:rustc-env=ADASVAL_BUILD_COMMIT={commit}");
            println!("cargo:rustc-env=ADASVAL_BUILD_DIRTY={dirty}");
            println!("cargo:rustc-env=ADASVAL_BUILD_COMMIT_UNKNOWN=");
        }
        Err(why) => {
            println!("cargo:rustc-env=ADASVAL_BUILD_COMMIT=");
            println!("cargo:rustc-env=ADASVAL_BUILD_DIRTY=");
            println!("cargo:rustc-env=ADASVAL_BUILD_COMMIT_UNKNOWN={why}");
        }
    }
}
