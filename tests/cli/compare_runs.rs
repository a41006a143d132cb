//! `adasval compare` on real replays of YOLOX-Nano: a deterministic CPU engine replayed
//! twice gives no decision flips and bit-identical outputs; a tampered run is refused
//! (exit 3) and runs of different scenarios are not comparable (exit 2).

use crate::common;
use common::*;
use std::path::{Path, PathBuf};

fn replay(p: &Path, shared: &Path, max_frames: &str) -> PathBuf {
    let (code, o, e) = run(adasval()
        .current_dir(p)
        .arg("validate")
        .arg("--data-root")
        .arg(shared)
        .args([
            "--max-frames",
            max_frames,
            "--warmup",
            "0",
            "--save-outputs",
        ]));
    assert_eq!(code, 0, "{o}{e}");
    p.join(o.trim())
}

#[test]
fn repeated_cpu_runs_agree_and_tampering_is_refused() {
    let Some(shared) = shared_dir() else { return };
    let d = yolox_project(&shared, "yolox", "voc", "data/voc100/images/2007_0000*.jpg");
    let p = d.path();
    let a = replay(p, &shared, "4");
    let b = replay(p, &shared, "4");
    let out = p.join("cmp");
    let (code, o, e) = run(adasval()
        .current_dir(p)
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(&out)
        .args(["--format", "json"]));
    assert_eq!(code, 0, "{o}{e}");
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    let pair = &v["pairs"][0];
    assert_eq!(pair["decision_flips"], 0);
    assert_eq!(pair["frames_compared"], 4);
    assert_eq!(pair["bit_identical_frames"], 4);
    let outs = pair["outputs"].as_array().unwrap();
    assert!(
        !outs.is_empty(),
        "raw outputs were saved, so they are compared"
    );
    assert!(outs
        .iter()
        .all(|t| t["max_abs"] == 0.0 && t["bit_identical"] == true));
    assert!(
        out.join("MANIFEST.sha256").exists(),
        "the comparison is sealed"
    );
    // It cites the runs by their manifest hashes.
    let cited = std::fs::read_to_string(out.join("compare.json")).unwrap();
    assert!(cited.contains(&adasval::hash::sha256_file(&a.join("MANIFEST.sha256")).unwrap()));

    // Different frames: not comparable.
    let c = replay(p, &shared, "3");
    let (code, _o, e) = run(adasval()
        .current_dir(p)
        .arg("compare")
        .arg(&a)
        .arg(&c)
        .arg("--out")
        .arg(p.join("cmp2")));
    assert_eq!(code, 2, "{e}");

    // One byte of a sealed run changed: integrity failure naming the file.
    let det = b.join("detections.jsonl");
    let mut bytes = std::fs::read(&det).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&det, bytes).unwrap();
    let (code, _o, e) = run(adasval()
        .current_dir(p)
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(p.join("cmp3")));
    assert_eq!(code, 3, "{e}");
    assert!(e.contains("detections.jsonl"), "{e}");
}
