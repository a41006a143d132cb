//! The bundled demo end to end, from the repository alone: two scenarios through both
//! frozen demo engines on the CPU backend, the report, the verdicts, a sealed bundle that
//! `evidence verify` accepts and `gate` re-evaluates to the same status; and a requirement
//! that fails on purpose makes the gate fail with the measured value and threshold.

use crate::common;
use common::*;

fn validate(out: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    run(adasval()
        .current_dir(repo_root())
        .args([
            "validate",
            "--scenario",
            "demo-cpnco-50",
            "--scenario",
            "vehicle-cut-in",
            "--max-frames",
            "12",
            "--warmup",
            "1",
            "--out",
        ])
        .arg(out)
        .args(extra))
}

#[test]
fn demo_validate_gate_and_evidence_agree() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let (code, stdout, err) = validate(&out, &[]);
    assert!(code == 0 || code == 1, "{stdout}{err}");
    for f in [
        "run.json",
        "latencies.csv",
        "detections.jsonl",
        "golden.jsonl",
        "metrics.json",
        "wcet.json",
        "evidence.json",
        "junit.xml",
        "summary.md",
        "summary.json",
        "report.html",
        "report.md",
        "MANIFEST.sha256",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        run_json["engines"].as_array().unwrap().len(),
        2,
        "both demo engines replayed"
    );
    assert_eq!(run_json["traces"].as_array().unwrap().len(), 4);
    // The end of the run says everything: each requirement's full text and what decided
    // it, an overall line that matches the exit status, and where the reports are.
    let reqs =
        adasval::safety::Requirements::load(&repo_root().join("safety-case/requirements.yaml"))
            .unwrap();
    for q in &reqs.requirements {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("{} ", q.id)))
            .unwrap_or_else(|| panic!("{} not in the ending:\n{err}", q.id));
        assert!(line.ends_with(q.text.trim()), "text cut: {line}");
    }
    // Without a terminal (as here, and in CI) every trace still reports when it ends.
    for engine in ["demo-detector", "demo-detector-fp16w"] {
        for scenario in ["demo-cpnco-50_ego30", "vehicle-cut-in"] {
            let head = format!("{engine} × {scenario}: ");
            let line = err
                .lines()
                .find(|l| l.starts_with(&head))
                .unwrap_or_else(|| panic!("no progress line for {head}\n{err}"));
            assert!(
                line.contains(" inferences in ") && line.ends_with("/s)"),
                "{line}"
            );
        }
    }
    let result = err.lines().find(|l| l.starts_with("Result: ")).expect(&err);
    assert_eq!(result.starts_with("Result: PASS"), code == 0, "{result}");
    assert!(
        err.contains(&format!("Report: {}", out.join("report.html").display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("Summary: {}", out.join("summary.md").display())),
        "{err}"
    );
    let (vcode, o, e) = run(adasval().arg("evidence").arg("verify").arg(&out));
    assert_eq!(vcode, 0, "{o}{e}");
    let (gcode, o, e) = run(adasval().current_dir(repo_root()).arg("gate").arg(&out));
    assert_eq!(
        gcode, code,
        "gate re-evaluates the stored run to validate's status: {o}{e}"
    );
}

#[test]
fn a_requirement_that_cannot_hold_fails_the_gate() {
    let d = tempfile::tempdir().unwrap();
    let reqs = d.path().join("strict.yaml");
    std::fs::write(
        &reqs,
        "schema_version: 1
requirements:
  - id: REQ-STRICT
    text: Every car is found with a recall lower bound of 0.999 (fails on purpose).
    kind: detection
    metric: recall_lcb
    class: car
    iou: 0.5
    threshold: 0.999
",
    )
    .unwrap();
    let out = d.path().join("run");
    let (code, o, e) = validate(&out, &["--requirements", reqs.to_str().unwrap()]);
    assert_eq!(code, 1, "{o}{e}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains("REQ-STRICT") && junit.contains("<failure"),
        "{junit}"
    );
    assert!(
        junit.contains("0.999"),
        "the failure names the threshold: {junit}"
    );
    let (gcode, _o, _e) = run(adasval().current_dir(repo_root()).arg("gate").arg(&out));
    assert_eq!(gcode, 1);
}

#[test]
fn signed_demo_run_verifies_and_detects_tampering() {
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("release.key");
    let (code, o, e) = run(adasval()
        .arg("evidence")
        .arg("keygen")
        .arg("--out")
        .arg(&key));
    assert_eq!(code, 0, "{o}{e}");
    let out = d.path().join("run");
    let (code, o, e) = validate(&out, &["--sign-key", key.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "{o}{e}");
    assert!(out.join("MANIFEST.sha256.sig").exists());
    let pubkey = d.path().join("release.key.pub");
    let (code, o, e) = run(adasval()
        .arg("evidence")
        .arg("verify")
        .arg(&out)
        .arg("--public-key")
        .arg(&pubkey));
    assert_eq!(code, 0, "{o}{e}");
    // Another key does not verify the signature.
    let other = d.path().join("other.key");
    run(adasval()
        .arg("evidence")
        .arg("keygen")
        .arg("--out")
        .arg(&other));
    let (code, _o, _e) = run(adasval()
        .arg("evidence")
        .arg("verify")
        .arg(&out)
        .arg("--public-key")
        .arg(d.path().join("other.key.pub")));
    assert_eq!(code, 3);
    // A changed report is named.
    let report = out.join("report.md");
    let mut text = std::fs::read_to_string(&report).unwrap();
    text.push(' ');
    std::fs::write(&report, text).unwrap();
    let (code, o, e) = run(adasval()
        .arg("evidence")
        .arg("verify")
        .arg(&out)
        .arg("--public-key")
        .arg(&pubkey));
    assert_eq!(code, 3);
    assert!(format!("{o}{e}").contains("report.md"), "{o}{e}");
}

#[test]
fn a_mistyped_scenario_or_engine_name_gets_a_suggestion() {
    for (flag, typed, meant) in [
        ("--scenario", "timing-lop", "timing-loop"),
        ("--engine", "demo-detectr", "demo-detector"),
    ] {
        let (code, o, e) = run(adasval()
            .current_dir(repo_root())
            .args(["validate", flag, typed, "--out"])
            .arg(tempfile::tempdir().unwrap().path().join("run")));
        assert_eq!(code, 2, "{o}{e}");
        assert!(e.contains(&format!("Did you mean `{meant}`?")), "{e}");
        assert!(e.contains("Known: "), "lists the valid names: {e}");
    }
}

#[test]
fn shell_completions_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(adasval().args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        for sub in ["validate", "gate", "judge", "evidence", "sweep", "matrix"] {
            assert!(out.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let (code, _, err) = run(adasval().args(["completions", "cmd.exe"]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn root_is_one_flag_everywhere_and_project_root_still_works() {
    let d = tempfile::tempdir().unwrap();
    let run_dir = d.path().join("sealed");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("run.json"), "{}").unwrap();
    let (code, _, err) = run(adasval().args(["evidence", "seal"]).arg(&run_dir));
    assert_eq!(code, 0, "{err}");
    for flag in ["--root", "--project-root"] {
        let (code, o, e) = run(adasval()
            .args(["evidence", "verify", flag])
            .arg(d.path())
            .arg(&run_dir));
        assert_eq!(code, 0, "{flag}: {o}{e}");
        // gate parses the same flag (the run is no validate run, so it fails later: not 2
        // for an unknown flag with clap's usage text).
        let (_, o, e) = run(adasval().args(["gate", flag]).arg(d.path()).arg(&run_dir));
        assert!(!e.contains("unexpected argument"), "{flag}: {o}{e}");
    }
}

#[test]
fn validate_outside_a_project_names_root() {
    let d = tempfile::tempdir().unwrap();
    let (code, o, e) = run(adasval().current_dir(d.path()).args(["validate"]));
    assert_eq!(code, 2, "{o}{e}");
    assert!(
        e.contains("is not an adasval project") && e.contains("--root DIR"),
        "{e}"
    );
    // The list flags take repeated and comma-separated values alike.
    let (code, o, e) = run(adasval()
        .current_dir(repo_root())
        .args([
            "validate",
            "--scenario",
            "timing-loop,no-such-scenario",
            "--out",
        ])
        .arg(d.path().join("run")));
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("no scenario `no-such-scenario`"), "{e}");
}

#[test]
fn quiet_prints_the_run_directory_and_nothing_else() {
    let d = noop_project();
    let (code, out, err) =
        run(adasval()
            .current_dir(d.path())
            .args(["--quiet", "validate", "--backend", "noop"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.is_empty(), "stderr: {err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(d.path().join(out.trim()).join("MANIFEST.sha256").exists());
    // Without it the same run talks.
    let (_, _, err) = run(adasval()
        .current_dir(d.path())
        .args(["validate", "--backend", "noop"]));
    assert!(err.contains("two-frames: "), "{err}");
}
