//! The release gate end to end through the binary (exit codes 0 / 1 / 3, outputs written
//! only where the flags say), and the GSN safety case rendered from real verdicts.

use crate::common;
use crate::safety_fixture;

use adasval::evidence;
use adasval::safety::{evaluate, Gsn, GsnKind, Requirements, SafetyError};
use safety_fixture::{build, build_unsealed, flip_one_byte, manifest_files, Fixture};
use std::path::Path;
use std::process::Output;

fn gate(fx: &Fixture, extra: &[&str]) -> Output {
    common::adasval()
        .arg("gate")
        .arg(fx.run_dir())
        .arg("--project-root")
        .arg(fx.project_dir())
        .args(extra)
        .output()
        .expect("run adasval")
}

/// A temp path as a flag value (temp dirs are UTF-8 here).
fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn passing_run_exits_0_and_writes_outputs_outside_the_run() {
    let fx = build(true, None);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let junit = out_dir.path().join("junit.xml");
    let summary = out_dir.path().join("summary.md");
    let o = gate(&fx, &["--junit", p(&junit), "--summary", p(&summary)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = std::fs::read_to_string(&summary).expect("summary");
    assert!(md.starts_with("## adasval gate: ✅ PASS"), "{md}");
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("failures=\"0\""), "{xml}");
    // The run directory is untouched.
    assert!(evidence::verify(fx.run_dir(), None)
        .expect("verify")
        .is_intact());
}

#[test]
fn requirement_failing_on_purpose_exits_1_with_measured_and_threshold() {
    let fx = build(true, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let reqs = dir.path().join("strict.yaml");
    // 0.74 (ped-occluded-02) is below 0.80 on purpose.
    std::fs::write(
        &reqs,
        "schema_version: 1\nrequirements:\n  - id: REQ-STRICT\n    text: recall LCB >= 0.80\n    kind: detection\n    metric: recall_lcb\n    class: person\n    iou: 0.5\n    threshold: 0.80\n",
    )
    .expect("write");
    let junit = dir.path().join("junit.xml");
    let o = gate(&fx, &["--requirements", p(&reqs), "--junit", p(&junit)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(xml.contains("measured 0.74, threshold ≥ 0.8"), "{xml}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("❌ FAIL") && stdout.contains("REQ-STRICT"),
        "{stdout}"
    );
}

#[test]
fn no_evidence_fails_the_gate() {
    let fx = build(true, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let reqs = dir.path().join("r.yaml");
    std::fs::write(
        &reqs,
        "schema_version: 1\nrequirements:\n  - id: REQ-NIGHT\n    text: recall at night\n    kind: detection\n    metric: recall_lcb\n    threshold: 0.1\n    scope:\n      scenario_tags: [night]\n",
    )
    .expect("write");
    let o = gate(&fx, &["--requirements", p(&reqs), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["status"], 1);
    assert_eq!(
        v["outcome"]["evaluation"]["requirements"][0]["verdict"],
        "no_evidence"
    );
}

#[test]
fn incomplete_run_exits_1() {
    let fx = build(false, None);
    let o = gate(&fx, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("run incomplete"));
}

#[test]
fn tampering_any_file_exits_3_naming_it() {
    let fx = build(true, None);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let summary = out_dir.path().join("summary.md");
    for rel in manifest_files(fx.run_dir()) {
        let path = fx.run_dir().join(&rel);
        let orig = flip_one_byte(&path);
        let o = gate(&fx, &["--summary", p(&summary)]);
        assert_eq!(o.status.code(), Some(3), "{rel}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(&format!("changed: {rel}")),
            "{rel}: {}",
            text(&o)
        );
        let md = std::fs::read_to_string(&summary).expect("summary");
        assert!(
            md.contains("INTEGRITY FAILURE") && md.contains(&rel),
            "{md}"
        );
        std::fs::write(&path, orig).expect("restore");
    }
    // Missing and extra files, too.
    std::fs::remove_file(fx.run_dir().join("latencies.csv")).expect("rm");
    std::fs::write(fx.run_dir().join("extra.json"), "{}").expect("write");
    let o = gate(&fx, &[]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("missing: latencies.csv") && err.contains("extra: extra.json"),
        "{err}"
    );
}

#[test]
fn changed_engine_or_adapter_exits_3() {
    for file in ["engines/det.onnx", "engines/det.adapter.yaml"] {
        let fx = build(true, None);
        flip_one_byte(&fx.project_dir().join(file));
        let o = gate(&fx, &["--format", "json"]);
        assert_eq!(o.status.code(), Some(3), "{file}: {}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let integrity = v["outcome"]["evaluation"]["requirements"]
            .as_array()
            .expect("array")
            .iter()
            .find(|r| r["kind"] == "integrity")
            .expect("integrity requirement")
            .clone();
        assert_eq!(integrity["verdict"], "fail", "{file}");
    }
    let fx = build(true, None);
    std::fs::remove_file(fx.engine_path()).expect("rm");
    assert_eq!(gate(&fx, &[]).status.code(), Some(3));
}

#[test]
fn signed_run_checks_the_signature() {
    let key = evidence::keys::generate_signing_key().expect("key");
    let other = evidence::keys::generate_signing_key().expect("key");
    let fx = build(true, Some(&key));
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.pub");
    let bad = dir.path().join("bad.pub");
    std::fs::write(&good, evidence::keys::public_key_text(&key.verifying_key())).expect("write");
    std::fs::write(
        &bad,
        evidence::keys::public_key_text(&other.verifying_key()),
    )
    .expect("write");
    assert_eq!(
        gate(&fx, &["--public-key", p(&good)]).status.code(),
        Some(0)
    );
    let o = gate(&fx, &["--public-key", p(&bad)]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn gate_refuses_to_write_into_the_sealed_run() {
    let fx = build(true, None);
    let inside = fx.run_dir().join("junit.xml");
    let o = gate(&fx, &["--junit", p(&inside)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sealed"));
    assert!(!inside.exists());
    assert!(evidence::verify(fx.run_dir(), None)
        .expect("verify")
        .is_intact());
}

#[test]
fn bad_requirements_file_exits_2_with_location() {
    let fx = build(true, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let reqs = dir.path().join("bad.yaml");
    std::fs::write(&reqs, "schema_version: 1\nrequirements:\n  - id: R\n    text: t\n    kind: timing\n    metric: pwcet_ucb\n    probability: often\n").expect("write");
    let o = gate(&fx, &["--requirements", p(&reqs)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.yaml:7:") && err.contains("field `probability`"),
        "{err}"
    );
}

#[test]
fn finish_run_writes_verdicts_seals_and_gate_agrees() {
    use adasval::report::finish::{self, FinishRequest};
    for (threshold, expected) in [(0.70, 0), (0.80, 1)] {
        let fx = build_unsealed(true);
        let cfg = tempfile::tempdir().expect("tempdir");
        let reqs = cfg.path().join("requirements.yaml");
        std::fs::write(
            &reqs,
            safety_fixture::PASSING_REQUIREMENTS
                .replace("threshold: 0.70", &format!("threshold: {threshold}")),
        )
        .expect("write");
        let gsn = cfg.path().join("gsn.yaml");
        std::fs::write(&gsn, GSN).expect("write");
        // finish_run stores its own copy of the requirements.
        std::fs::remove_file(fx.run_dir().join("requirements.yaml")).expect("rm");
        let set = adasval::evidence::EvidenceSet::load(&fx.run_dir().join("evidence.json"))
            .expect("evidence");
        let done = finish::finish_run(&FinishRequest {
            run_dir: fx.run_dir(),
            evidence: &set,
            requirements_file: &reqs,
            waivers_file: None,
            gsn_file: Some(&gsn),
            sign_key: None,
            title: "adasval validate",
            notes: vec![],
            warnings: vec![],
        })
        .expect("finish");
        assert_eq!(done.status.code(), expected, "threshold {threshold}");
        let listed = manifest_files(fx.run_dir());
        for f in [
            "junit.xml",
            "summary.md",
            "traceability.md",
            "traceability.html",
            "gsn.yaml",
            "gsn.svg",
            "requirements.yaml",
            "evidence.json",
            "run.json",
        ] {
            assert!(listed.iter().any(|l| l == f), "{f} not sealed: {listed:?}");
        }
        assert_eq!(
            std::fs::read(fx.run_dir().join("requirements.yaml")).expect("copy"),
            std::fs::read(&reqs).expect("orig"),
            "byte-exact copy"
        );
        // Nothing more can be written, and gate re-evaluates the stored run identically.
        assert!(adasval::evidence::write_atomic(&fx.run_dir().join("x"), b"x").is_err());
        assert!(adasval::report::finish::finish_run(&FinishRequest {
            run_dir: fx.run_dir(),
            evidence: &set,
            requirements_file: &reqs,
            waivers_file: None,
            gsn_file: None,
            sign_key: None,
            title: "again",
            notes: vec![],
            warnings: vec![],
        })
        .is_err());
        let o = gate(&fx, &[]);
        assert_eq!(o.status.code(), Some(expected as i32), "{}", text(&o));
    }
}

// ---------------------------------------------------------------- GSN safety case

const GSN: &str = r#"
G1:
  text: The system is acceptably safe.
  supportedBy: [S1]
  inContextOf: [C1, A1]
C1:
  text: Operating domain.
A1:
  text: Labels are right.
S1:
  text: Argue over hazards.
  supportedBy: [G2, G3, G4]
  inContextOf: [J1]
J1:
  text: Bounds, not point estimates.
G2:
  text: Recall is good enough.
  requirement: REQ-DET-001
  supportedBy: [Sn1]
G3:
  text: Timing holds.
  requirement: REQ-TIM-001
  supportedBy: [Sn1]
G4:
  text: Works at night.
  undeveloped: true
Sn1:
  text: Metrics
  evidence: [evidence.json]
"#;

fn eval_with_recall_threshold(t: f64) -> adasval::safety::Evaluation {
    let reqs = Requirements::parse(
        Path::new("r.yaml"),
        &format!("schema_version: 1\nrequirements:\n  - id: REQ-DET-001\n    text: t\n    kind: detection\n    metric: recall_lcb\n    threshold: {t}\n  - id: REQ-TIM-001\n    text: t\n    kind: timing\n    metric: pwcet_ucb\n    probability: 1.0e-6\n"),
    )
    .expect("reqs");
    let set = safety_fixture::evidence_set(&"e".repeat(64), &"a".repeat(64), true);
    evaluate(&reqs.requirements, &set)
}

fn node_attr(svg: &str, id: &str, attr: &str) -> String {
    let start = svg.find(&format!("data-id=\"{id}\"")).expect("node");
    let g_start = svg[..start].rfind("<g ").expect("g");
    let g_end = g_start + svg[g_start..].find('>').expect(">");
    let tag = &svg[g_start..g_end];
    let a = tag.find(&format!("{attr}=\"")).expect("attr") + attr.len() + 2;
    tag[a..a + tag[a..].find('"').expect("quote")].to_string()
}

fn node_body<'a>(svg: &'a str, id: &str) -> &'a str {
    let start = svg.find(&format!("data-id=\"{id}\"")).expect("node");
    &svg[start..start + svg[start..].find("</g>").expect("</g>")]
}

#[test]
fn gsn_svg_has_one_node_per_element_with_status_marks() {
    let gsn = Gsn::parse(Path::new("gsn.yaml"), GSN).expect("gsn");
    assert_eq!(gsn.nodes.len(), 9);
    // Recall LCBs are 0.82 and 0.74: threshold 0.7 passes, 0.8 fails.
    for (t, g2, g1) in [(0.7, "supported", "undeveloped"), (0.8, "failed", "failed")] {
        let svg = adasval::report::gsn_svg::render_svg(&gsn, &eval_with_recall_threshold(t));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("<script") && !svg.contains("href=\"http"));
        assert_eq!(svg.matches("class=\"gsn-node ").count(), gsn.nodes.len());
        for n in &gsn.nodes {
            assert_eq!(
                svg.matches(&format!("data-id=\"{}\"", n.id)).count(),
                1,
                "{}",
                n.id
            );
            let kind = node_attr(&svg, &n.id, "data-kind");
            assert_eq!(kind, n.kind.as_str());
        }
        assert_eq!(node_attr(&svg, "G2", "data-status"), g2, "t={t}");
        assert!(node_body(&svg, "G2").contains(&format!("[{}]", g2.to_uppercase())));
        assert_eq!(node_attr(&svg, "G3", "data-status"), "supported");
        assert_eq!(node_attr(&svg, "G4", "data-status"), "undeveloped");
        assert!(node_body(&svg, "G4").contains("[UNDEVELOPED]"));
        assert!(node_body(&svg, "G4").contains("gsn-undeveloped-mark"));
        // G1 is held back by the undeveloped G4, or fails with G2.
        assert_eq!(node_attr(&svg, "G1", "data-status"), g1, "t={t}");
        // Shapes by type.
        assert!(node_body(&svg, "S1").contains("<polygon"));
        assert!(node_body(&svg, "Sn1").contains("<circle"));
        assert!(node_body(&svg, "C1").contains("rx=\"18\""));
        assert!(
            node_body(&svg, "A1").contains("<ellipse")
                && node_body(&svg, "A1").contains(">A</text>")
        );
        assert!(
            node_body(&svg, "J1").contains("<ellipse")
                && node_body(&svg, "J1").contains(">J</text>")
        );
        // Links: 1 + 3 + 2 supportedBy, 3 inContextOf.
        assert_eq!(svg.matches("class=\"gsn-supported-by\"").count(), 6);
        assert_eq!(svg.matches("class=\"gsn-in-context-of\"").count(), 3);
    }
    assert_eq!(gsn.node("Sn1").map(|n| n.kind), Some(GsnKind::Solution));
    assert_eq!(gsn.node("S1").map(|n| n.kind), Some(GsnKind::Strategy));
}

#[test]
fn gsn_missing_requirement_verdict_fails_the_goal() {
    let gsn = Gsn::parse(
        Path::new("gsn.yaml"),
        &GSN.replace("REQ-TIM-001", "REQ-UNKNOWN"),
    )
    .expect("gsn");
    let st = gsn.statuses(&eval_with_recall_threshold(0.7));
    assert_eq!(st["G3"].as_str(), "failed");
    let reqs = Requirements::load(&common::repo_root().join("safety-case/requirements.yaml"))
        .expect("reqs");
    assert!(matches!(
        gsn.check_requirements(&reqs),
        Err(SafetyError::GsnLink { .. })
    ));
}

fn gsn_err(yaml: &str) -> String {
    match Gsn::parse(Path::new("gsn.yaml"), yaml) {
        Ok(_) => panic!("must fail:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn gsn_link_errors_are_clear() {
    let e = gsn_err("G1:\n  text: a\n  supportedBy: [G9]\n");
    assert!(
        e.contains("G1") && e.contains("unknown element `G9`"),
        "{e}"
    );
    let e = gsn_err("G1:\n  text: a\n  supportedBy: [G2]\nG2:\n  text: b\n  supportedBy: [S1]\nS1:\n  text: c\n  supportedBy: [G2]\n");
    assert!(e.contains("cycle") && e.contains("G2 → S1 → G2"), "{e}");
    let e = gsn_err("G1:\n  text: a\n  inContextOf: [G2]\nG2:\n  text: b\n");
    assert!(e.contains("inContextOf `G2` is a goal"), "{e}");
    let e = gsn_err("G1:\n  text: a\n  supportedBy: [C1]\nC1:\n  text: b\n");
    assert!(e.contains("supportedBy `C1` is a context"), "{e}");
    let e = gsn_err("G1:\n  text: a\n  undeveloped: true\n  supportedBy: [Sn1]\nSn1:\n  text: b\n");
    assert!(
        e.contains("gsn.yaml:1:") && e.contains("field `undeveloped`"),
        "{e}"
    );
    let e = gsn_err("X1:\n  text: a\n");
    assert!(e.contains("must start with"), "{e}");
    let e = gsn_err("G1:\n  text: a\n\nG2:\n  txt: b\n");
    assert!(
        e.contains("gsn.yaml:5:") && e.contains("field `txt`"),
        "{e}"
    );
}
