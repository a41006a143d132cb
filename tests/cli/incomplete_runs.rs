//! A failure or Ctrl-C mid-replay keeps what was measured and marks the run incomplete,
//! never passed (exit 1), and the partial run is still sealed evidence.

use crate::common;
use common::*;

fn run_json(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap()
}

#[test]
fn backend_failure_mid_run_keeps_samples_and_fails() {
    let d = noop_project();
    // 5 warm-up runs, then 7 of the 2 x 10 timed inferences succeed.
    let (code, out, err) = run(adasval()
        .current_dir(d.path())
        .env("ADASVAL_NOOP_FAIL_AFTER", "12")
        .args([
            "validate",
            "--backend",
            "noop",
            "--repetitions",
            "10",
            "--warmup",
            "5",
        ]));
    assert_eq!(code, 1, "{out}{err}");
    let dir = d.path().join(out.trim());
    let r = run_json(&dir);
    assert_eq!(r["complete"], false);
    assert!(
        r["incomplete_reasons"][0]
            .as_str()
            .unwrap()
            .contains("injected failure"),
        "{r}"
    );
    let csv = std::fs::read_to_string(dir.join("latencies.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 7,
        "the 7 measured samples are kept: {csv}"
    );
    assert!(dir.join("MANIFEST.sha256").exists());
    // The gate agrees: an incomplete run never passes.
    let reqs = repo_root().join("safety-case/requirements.yaml");
    let (code, _o, e) = run(adasval()
        .current_dir(d.path())
        .arg("gate")
        .arg(&dir)
        .arg("--requirements")
        .arg(&reqs));
    assert_eq!(code, 1, "{e}");
}

#[test]
fn ctrl_c_keeps_samples_and_fails() {
    let d = noop_project();
    // Paced at 10 fps, 2 frames x 100 repetitions would take 20 s: interrupt after ~1.5 s.
    let child = adasval()
        .current_dir(d.path())
        .args([
            "validate",
            "--backend",
            "noop",
            "--repetitions",
            "100",
            "--pace",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = d.path().join(stdout.trim());
    let r = run_json(&dir);
    assert_eq!(r["complete"], false);
    assert!(
        r["incomplete_reasons"].to_string().contains("interrupted"),
        "{r}"
    );
    let rows = std::fs::read_to_string(dir.join("latencies.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert!(rows > 0 && rows < 200, "partial samples kept: {rows}");
}
