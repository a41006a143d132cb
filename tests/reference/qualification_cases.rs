//! The self-test's reference cases are what their generator computes: running
//! `qualification/generate.py` (scipy, statsmodels, lmoments3, pycocotools, hashlib,
//! RFC 8032, onnxruntime, the KITTI devkit's port in the shared folder) gives the committed `qualification/` files byte for byte, so no expected
//! value in them was edited by hand.

use crate::common;

#[test]
fn the_generator_reproduces_the_committed_reference_cases() {
    // The KITTI case's expected values come from the devkit's port in the shared folder.
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::python_with(&[
        "scipy",
        "statsmodels",
        "lmoments3",
        "pycocotools",
        "onnxruntime",
        "onnx",
        "numba",
    ]) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let root = common::repo_root().join("qualification");
    let o = std::process::Command::new(py)
        .arg(root.join("generate.py"))
        .arg(out.path())
        .env("ADASVAL_SHARED", &shared)
        .output()
        .expect("run the generator");
    assert!(
        o.status.success(),
        "generate.py failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let manifest = std::fs::read_to_string(root.join("MANIFEST.sha256")).unwrap();
    let mut files = vec!["MANIFEST.sha256".to_string()];
    files.extend(
        manifest
            .lines()
            .filter_map(|l| l.split_once("  ").map(|(_, p)| p.to_string())),
    );
    assert!(files.len() > 2, "{manifest}");
    for f in &files {
        let committed = std::fs::read(root.join(f)).unwrap();
        let generated = std::fs::read(out.path().join(f))
            .unwrap_or_else(|e| panic!("the generator wrote no {f}: {e}"));
        assert!(
            committed == generated,
            "qualification/{f} differs from what qualification/generate.py computes now: \
             regenerate it (python3 qualification/generate.py) and review the change"
        );
    }
}
