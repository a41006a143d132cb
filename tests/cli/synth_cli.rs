//! `adasval scenario synth` writes a dataset that pycocotools loads, and reports bad
//! input with exit code 2.

use crate::common;

use std::process::Command;

#[test]
fn cli_dataset_loads_with_pycocotools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("ds");
    let o = common::adasval()
        .args([
            "scenario", "synth", "--seed", "3", "--count", "6", "--width", "160", "--height", "96",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run adasval");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.lines().count(), 1, "one-line summary: {stdout}");
    for i in 0..6 {
        let p = out.join(format!("images/{i:06}.png"));
        let img = image::open(&p).expect("png decodes").to_rgb8();
        assert_eq!((img.width(), img.height()), (160, 96));
        let direct = adasval::synth::render_random(3, i, 160, 96);
        assert_eq!(
            img.as_raw(),
            &direct.rgb,
            "PNG holds exactly the rendered pixels"
        );
    }
    let Some(py) = common::python_with(&["pycocotools"]) else {
        return;
    };
    let script = common::repo_root().join("tests/py/synth_coco_check.py");
    let r = Command::new(py)
        .arg(script)
        .arg(&out)
        .output()
        .expect("python");
    assert!(
        r.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    let line = String::from_utf8_lossy(&r.stdout);
    let v: serde_json::Value =
        serde_json::from_str(line.lines().last().unwrap_or("{}")).expect("json line");
    assert_eq!(v["images"], 6);
    assert!(v["annotations"].as_u64().unwrap_or(0) > 0);
    let ap = v["ap50_self"].as_f64().unwrap_or(0.0);
    assert!(
        ap > 0.99,
        "ground truth scored as detections gives AP50 {ap}"
    );
}

#[test]
fn cli_bad_input_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = common::adasval()
        .args(["scenario", "synth", "--seed", "1", "--count", "0", "--out"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("count"));
    // An output path under a regular file cannot be created.
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").expect("write");
    let o = common::adasval()
        .args(["scenario", "synth", "--seed", "1", "--count", "1", "--out"])
        .arg(file.join("sub"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write"));
}
