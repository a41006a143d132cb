//! `adasval selftest`: every reference case passes on this machine and the results are a
//! sealed bundle naming this binary; a deliberately broken estimator (swapped into the
//! self-test's estimator table here, in test code only) fails exactly its own cases, by
//! name; changed reference files are refused before anything runs.

use crate::common::*;
use adasval::selftest::{self, Context, Estimators, Obtained};
use serde_json::{json, Value};

#[test]
fn selftest_passes_here_and_seals_its_results() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("st");
    let (code, stdout, err) = run(adasval().arg("selftest").arg("--out").arg(&out));
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("PASS gev_pwm_1 (lmoments3"), "{stdout}");
    assert!(
        stdout.contains("ok   xi: expected -0.215821399333 obtained"),
        "each value with its expected value and tolerance: {stdout}"
    );
    let rec = selftest::SelftestRecord::load(&out).unwrap();
    assert!(rec.pass && rec.failed == 0 && rec.passed > 30, "{rec:?}");
    let sha =
        adasval::hash::sha256_file(std::path::Path::new(env!("CARGO_BIN_EXE_adasval"))).unwrap();
    assert_eq!(rec.tool.binary_sha256.as_deref(), Some(sha.as_str()));
    let v = adasval::evidence::verify(&out, None).unwrap();
    assert!(v.is_intact(), "{:?}", v.problems());
    for f in ["selftest.md", "selftest.html", "reference/cases/wcet.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // The bundle is evidence: a changed result is caught.
    let text = std::fs::read_to_string(out.join("selftest.json")).unwrap();
    std::fs::write(
        out.join("selftest.json"),
        text.replacen("\"pass\": true", "\"pass\": false", 1),
    )
    .unwrap();
    assert!(!adasval::evidence::verify(&out, None).unwrap().is_intact());
    // An existing bundle is never overwritten.
    let (code, _, err) = run(adasval().arg("selftest").arg("--out").arg(&out));
    assert_eq!(code, 2, "{err}");
}

/// adasval's GEV PWM fit with its shape moved by 0.01 (ten times the tolerance).
fn shifted_gev_pwm(input: &Value, ctx: &Context) -> Result<Obtained, String> {
    let real = Estimators::adasval().get("gev_pwm").expect("gev_pwm");
    let mut o = real(input, ctx)?;
    let xi = o["xi"].as_f64().unwrap();
    o.insert("xi".into(), json!(xi + 0.01));
    Ok(o)
}

#[test]
fn a_broken_estimator_fails_its_cases_by_name() {
    let set = selftest::cases::embedded().unwrap();
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_adasval"));
    let broken = Estimators::adasval().replace("gev_pwm", shifted_gev_pwm);
    let rec = selftest::run(&set, &broken, Some(exe));
    assert!(!rec.pass);
    assert_eq!(
        rec.failed_cases(),
        ["gev_pwm_1", "gev_pwm_2", "gev_pwm_3"],
        "only the broken estimator's cases fail"
    );
    let case = rec.cases.iter().find(|c| c.name == "gev_pwm_1").unwrap();
    let xi = case.checks.iter().find(|k| k.quantity == "xi").unwrap();
    assert!(!xi.pass);
    assert!(
        case.checks.iter().any(|k| k.pass),
        "loc and scale still pass"
    );
    // The same table unbroken passes.
    assert!(selftest::run(&set, &Estimators::adasval(), Some(exe)).pass);
}

/// adasval's matching and LAMR with the IoU threshold lowered to 0.45: a matching bug.
fn loose_matching(input: &Value, ctx: &Context) -> Result<Obtained, String> {
    let real = Estimators::adasval().get("match_lamr").expect("match_lamr");
    let mut changed = input.clone();
    changed["iou"] = json!(0.45);
    real(&changed, ctx)
}

/// adasval's KITTI AP with every AP moved by 0.001 (a hundred thousand times the tolerance).
fn shifted_kitti_ap(input: &Value, ctx: &Context) -> Result<Obtained, String> {
    let real = Estimators::adasval().get("kitti_ap").expect("kitti_ap");
    let mut o = real(input, ctx)?;
    for v in o.values_mut() {
        *v = json!(v.as_f64().unwrap() + 1e-3);
    }
    Ok(o)
}

/// Critical misses counted from two consecutive frames instead of the settings' three.
fn shorter_critical_runs(input: &Value, ctx: &Context) -> Result<Obtained, String> {
    let real = Estimators::adasval()
        .get("critical_misses")
        .expect("critical_misses");
    let mut changed = input.clone();
    changed["settings"]["min_consecutive"] = json!(2);
    real(&changed, ctx)
}

/// Decoded boxes moved by a tenth of a pixel: a box-encoding bug.
fn shifted_decode(input: &Value, ctx: &Context) -> Result<Obtained, String> {
    let real = Estimators::adasval().get("decode").expect("decode");
    let mut o = real(input, ctx)?;
    for (k, v) in o.iter_mut() {
        if k.ends_with("_x1") {
            *v = json!(v.as_f64().unwrap() + 0.1);
        }
    }
    Ok(o)
}

/// The plan's reference interpreter fed an input off by 0.1%: a preprocessing bug.
fn scaled_plan_input(input: &Value, ctx: &Context) -> Result<Obtained, String> {
    let real = Estimators::adasval()
        .get("plan_reference")
        .expect("plan_reference");
    let mut changed = input.clone();
    for x in changed["input"].as_array_mut().unwrap() {
        *x = json!(x.as_f64().unwrap() * 1.001);
    }
    real(&changed, ctx)
}

#[test]
fn broken_detection_and_plan_estimators_fail_their_cases() {
    let set = selftest::cases::embedded().unwrap();
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_adasval"));
    for (kind, broken, names) in [
        (
            "match_lamr",
            loose_matching as selftest::Estimator,
            &["match_lamr_1", "match_lamr_2"][..],
        ),
        ("kitti_ap", shifted_kitti_ap, &["kitti_ap_2028"][..]),
        (
            "critical_misses",
            shorter_critical_runs,
            &["critical_misses_2029"][..],
        ),
        (
            "decode",
            shifted_decode,
            &[
                "decode_yolox",
                "decode_yolov8_dfl",
                "decode_yolov5",
                "decode_fcos",
                "decode_ssd",
                "decode_retinanet",
                "decode_detr",
                "decode_rtdetr",
            ][..],
        ),
        (
            "plan_reference",
            scaled_plan_input,
            &["plan_reference_conv_bn_relu", "plan_reference_grouped"][..],
        ),
    ] {
        let rec = selftest::run(
            &set,
            &Estimators::adasval().replace(kind, broken),
            Some(exe),
        );
        assert!(!rec.pass, "{kind}");
        assert_eq!(rec.failed_cases(), names, "{kind}: only its own cases fail");
    }
}

fn pretend_absent() -> Result<(), String> {
    Err("pretended absent by the test".into())
}

#[test]
fn cases_that_cannot_run_here_are_reported_not_passed() {
    let set = selftest::cases::embedded().unwrap();
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_adasval"));
    let rec = selftest::run(
        &set,
        &Estimators::adasval().require("sha256", pretend_absent),
        Some(exe),
    );
    let sha: Vec<&str> = rec
        .cases
        .iter()
        .filter(|c| c.kind == "sha256")
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(sha.len(), 4);
    for c in rec.cases.iter().filter(|c| c.kind == "sha256") {
        assert!(
            !c.pass && c.checks.is_empty(),
            "{}: not run is not passed",
            c.name
        );
    }
    assert!(sha.iter().all(|n| rec.not_run_cases().contains(n)));
    assert!(rec.failed_cases().is_empty(), "{:?}", rec.failed_cases());
    let headline = rec.headline();
    assert!(
        headline.contains("not run on this machine")
            && headline.contains("sha256_1")
            && headline.contains("pretended absent by the test"),
        "{headline}"
    );
    // The rendered document says so beside each case.
    let md = adasval::report::markdown::document(&selftest::document(&rec));
    assert!(md.contains("| NOT RUN |"), "{md}");

    // Without a GPU (CI), the CUDA cases are the ones not run, and the command says so.
    if adasval::backend::cuda::Gpu::open().is_err() {
        let d = tempfile::tempdir().unwrap();
        let (code, stdout, err) = run(adasval()
            .arg("selftest")
            .arg("--out")
            .arg(d.path().join("st")));
        assert_eq!(code, 0, "{stdout}{err}");
        assert!(
            stdout.contains("NOT RUN plan_cuda_grouped")
                && stdout.contains("2 not run on this machine"),
            "{stdout}"
        );
    }
}

#[test]
fn changed_reference_cases_are_refused_with_exit_3() {
    let d = tempfile::tempdir().unwrap();
    let q = d.path().join("q");
    std::fs::create_dir_all(q.join("cases")).unwrap();
    let src = repo_root().join("qualification");
    std::fs::copy(src.join("MANIFEST.sha256"), q.join("MANIFEST.sha256")).unwrap();
    for (rel, _) in selftest::cases::EMBEDDED {
        std::fs::copy(src.join(rel), q.join(rel)).unwrap();
    }
    let (code, out, err) = run(adasval()
        .arg("selftest")
        .arg("--cases")
        .arg(&q)
        .arg("--out")
        .arg(d.path().join("ok")));
    assert_eq!(code, 0, "{out}{err}");
    let p = q.join("cases/stats.json");
    let t = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, t.replacen("0.", "0.1", 1)).unwrap();
    let (code, _, err) = run(adasval()
        .arg("selftest")
        .arg("--cases")
        .arg(&q)
        .arg("--out")
        .arg(d.path().join("bad")));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cases/stats.json has SHA-256"), "{err}");
    assert!(!d.path().join("bad").exists(), "nothing ran");
}

const REQUIREMENTS: &str = "schema_version: 1
requirements:
  - id: REQ-T-001
    text: The latency high-water mark times 1.5 is within the frame deadline.
    kind: timing
    metric: hwm_margin
    margin: 1.5
";

fn gate(project: &std::path::Path, dir: &std::path::Path, require: bool) -> (i32, String) {
    let mut c = adasval();
    c.current_dir(project)
        .arg("gate")
        .arg(dir)
        .args(["--requirements", "req.yaml"]);
    if require {
        c.arg("--require-selftest");
    }
    let (code, out, err) = run(&mut c);
    (code, out + &err)
}

#[test]
fn validate_seals_its_selftest_and_gate_requires_one_by_the_same_binary() {
    let d = noop_project();
    let p = d.path();
    std::fs::write(p.join("req.yaml"), REQUIREMENTS).unwrap();
    let validate = |selftest: bool| {
        let mut c = adasval();
        c.current_dir(p).args([
            "-q",
            "validate",
            "--backend",
            "noop",
            "--repetitions",
            "3",
            "--requirements",
            "req.yaml",
        ]);
        if selftest {
            c.arg("--selftest");
        }
        let (code, out, err) = run(&mut c);
        assert_eq!(code, 0, "{out}{err}");
        p.join(out.trim())
    };
    let plain = validate(false);
    assert_eq!(gate(p, &plain, false).0, 0);
    let (code, out) = gate(p, &plain, true);
    assert_eq!(code, 1, "no self-test in the bundle: {out}");
    assert!(out.contains("holds no self-test"), "{out}");

    let tested = validate(true);
    let rec = selftest::SelftestRecord::load(&tested.join("selftest")).unwrap();
    assert!(rec.pass);
    let (code, out) = gate(p, &tested, true);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("cases passed by the binary that wrote the evidence"),
        "{out}"
    );

    // Evidence written by another binary (re-sealed so the bundle itself is intact).
    let other = d.path().join("other");
    copy_dir(&tested, &other);
    let ev_path = other.join("evidence.json");
    let mut ev: Value = serde_json::from_slice(&std::fs::read(&ev_path).unwrap()).unwrap();
    ev["tool"]["binary_sha256"] = json!("0".repeat(64));
    std::fs::write(&ev_path, serde_json::to_string_pretty(&ev).unwrap()).unwrap();
    std::fs::remove_file(other.join("MANIFEST.sha256")).unwrap();
    adasval::evidence::seal(&other, None).unwrap();
    let (code, out) = gate(p, &other, true);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the self-test was run by binary"), "{out}");

    // A run replayed on the CUDA backend needs the self-test's GPU cases run and passed
    // (run.json's backend renamed here, re-sealed so the bundle itself is intact).
    let gpu_run = d.path().join("gpu_run");
    copy_dir(&tested, &gpu_run);
    let run_json = gpu_run.join("run.json");
    let mut r: Value = serde_json::from_slice(&std::fs::read(&run_json).unwrap()).unwrap();
    r["backend"]["name"] = json!("cuda");
    std::fs::write(&run_json, serde_json::to_string_pretty(&r).unwrap()).unwrap();
    std::fs::remove_file(gpu_run.join("MANIFEST.sha256")).unwrap();
    adasval::evidence::seal(&gpu_run, None).unwrap();
    let (code, out) = gate(p, &gpu_run, true);
    if rec.not_run > 0 {
        assert_eq!(
            code, 1,
            "GPU cases not run, yet accepted for a CUDA run: {out}"
        );
        assert!(
            out.contains("replayed on the CUDA backend")
                && out.contains("plan_cuda_grouped (not run: no usable GPU"),
            "{out}"
        );
    } else {
        assert_eq!(code, 0, "the GPU cases passed here: {out}");
    }

    // A changed self-test result is tampering with the run's evidence.
    let f = tested.join("selftest/selftest.json");
    let t = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, t.replacen("\"passed\": ", "\"passed\": 1", 1)).unwrap();
    assert_eq!(gate(p, &tested, true).0, 3);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn qualification_report_is_sealed_and_cites_only_tests_and_cases_that_exist() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("q");
    let (code, stdout, err) = run(adasval()
        .args(["qualification", "report", "--out"])
        .arg(&out));
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(adasval::evidence::verify(&out, None).unwrap().is_intact());
    let md = std::fs::read_to_string(out.join("qualification.md")).unwrap();
    for part in [
        "## Use cases",
        "UC1 release gate",
        "UC2 safety report",
        "UC3 regression check after an upgrade",
        "a tampered engine or adapter is replayed",
        "## TI / TD / TCL (template for the user)",
        "PASS: ",
        "TensorRT itself never ran",
        "## Versions",
    ] {
        assert!(md.contains(part), "{part} missing from the report");
    }
    let rec = selftest::SelftestRecord::load(&out.join("selftest")).unwrap();
    assert!(md.contains(rec.tool.binary_sha256.as_deref().unwrap()));
    assert!(out.join("qualification.html").is_file());
    // Every test file and self-test case the error table cites exists.
    for h in adasval::qualification::HAZARDS {
        for t in h.tests {
            assert!(repo_root().join(t).is_file(), "cited {t} does not exist");
        }
        for c in h.self_test {
            let found = match c.strip_suffix('*') {
                Some(prefix) => rec.cases.iter().any(|x| x.name.starts_with(prefix)),
                None => rec.cases.iter().any(|x| x.name == *c),
            };
            assert!(found, "cited self-test case {c} does not exist");
        }
        assert!(
            !h.self_test.is_empty() || h.gap.is_some() || !h.tests.is_empty(),
            "{}: nothing shows the measure works",
            h.failure
        );
    }
}
