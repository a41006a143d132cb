//! The tamper sweep over a sealed directory: byte flips at seeded positions in every file
//! (the manifest included; a few in each, the rest proportional to size), then every file
//! deleted, renamed, and an extra file added. Returns every change the verification let
//! pass. Shared by the CLI test (`tests/cli/tamper_sweep.rs`, the real binary's run) and
//! the judge's unit test that plants a bug in verification (`evidence::planted`), so the
//! sweep that guards the code is the one shown to catch a planted miss. Std only.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// What a sweep did and what it missed.
#[derive(Debug, Default)]
pub struct Sweep {
    pub files: usize,
    pub flips: usize,
    /// Deletions, renames and the added file.
    pub structural: usize,
    /// `file@offset^mask` for flips, `deleted file` / `renamed file` / `added file`.
    pub missed: Vec<String>,
}

/// Every regular file below `dir`, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Sweep `dir` with `flips` byte flips (at least 3 per file), using `below(n)` (a seeded
/// uniform draw in `0..n`) for every choice. `caught(dir)` is true when verification
/// reports the directory as tampered. Every change is undone before the next.
pub fn sweep(
    dir: &Path,
    flips: usize,
    below: &mut dyn FnMut(u64) -> u64,
    caught: &dyn Fn(&Path) -> bool,
) -> Sweep {
    let all = files(dir);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    let total: u64 = all.iter().map(|p| size(p)).sum();
    let mut positions: Vec<(PathBuf, u64)> = Vec::new();
    for p in &all {
        let len = size(p);
        for _ in 0..3.min(len) {
            positions.push((p.clone(), below(len)));
        }
    }
    while positions.len() < flips && total > 0 {
        let mut at = below(total);
        for p in &all {
            let len = size(p);
            if at < len {
                positions.push((p.clone(), at));
                break;
            }
            at -= len;
        }
    }
    let mut out = Sweep {
        files: all.len(),
        flips: positions.len(),
        ..Sweep::default()
    };
    for (p, at) in &positions {
        let original = std::fs::read(p).unwrap();
        let mut bytes = original.clone();
        let mask = 1u8 << below(8);
        bytes[*at as usize] ^= mask;
        std::fs::write(p, &bytes).unwrap();
        if !caught(dir) {
            out.missed.push(format!("{}@{at}^{mask:#04x}", p.display()));
        }
        std::fs::write(p, &original).unwrap();
    }
    for p in &all {
        let original = std::fs::read(p).unwrap();
        std::fs::remove_file(p).unwrap();
        if !caught(dir) {
            out.missed.push(format!("deleted {}", p.display()));
        }
        let moved = p.with_extension("moved");
        std::fs::write(&moved, &original).unwrap();
        if !caught(dir) {
            out.missed.push(format!("renamed {}", p.display()));
        }
        std::fs::remove_file(&moved).unwrap();
        std::fs::write(p, &original).unwrap();
        out.structural += 2;
    }
    let extra = dir.join("extra.txt");
    std::fs::write(&extra, b"added after sealing").unwrap();
    if !caught(dir) {
        out.missed.push("added extra.txt".into());
    }
    std::fs::remove_file(&extra).unwrap();
    out.structural += 1;
    out
}
