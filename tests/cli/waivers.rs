//! Waivers of known failures through the gate: a failure accepted by a current waiver
//! exits 0 and says so in every output, an expired waiver fails the gate and is named, a
//! waiver for an unknown requirement or a malformed file is bad input, and no waiver
//! changes a measured figure.

use crate::common;
use crate::safety_fixture;

use adasval::safety::{evaluate_waived, Requirements, Waiver, Waivers};
use safety_fixture::{build, Fixture};
use std::path::Path;
use std::process::Output;

/// 0.74 (ped-occluded-02) is below 0.80 on purpose: REQ-STRICT fails, REQ-OK passes.
const STRICT: &str = "schema_version: 1\nrequirements:\n  - id: REQ-STRICT\n    text: recall LCB >= 0.80\n    kind: detection\n    metric: recall_lcb\n    class: person\n    iou: 0.5\n    threshold: 0.80\n  - id: REQ-OK\n    text: recall LCB >= 0.50\n    kind: detection\n    metric: recall_lcb\n    class: person\n    iou: 0.5\n    threshold: 0.50\n";

fn waiver(id: &str, expires: &str) -> String {
    format!(
        "schema_version: 1\nwaivers:\n  - requirement: {id}\n    reason: occluded pedestrians are a known gap\n    owner: demo maintainers\n    expires: {expires}\n"
    )
}

struct Setup {
    fx: Fixture,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(waivers: &str) -> Self {
        let fx = build(true, None);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("reqs.yaml"), STRICT).expect("write");
        std::fs::write(dir.path().join("waivers.yaml"), waivers).expect("write");
        Self { fx, dir }
    }
    fn path(&self, name: &str) -> String {
        self.dir
            .path()
            .join(name)
            .to_str()
            .expect("UTF-8 temp path")
            .to_string()
    }
    fn gate(&self, with_waivers: bool, extra: &[&str]) -> Output {
        let mut c = common::adasval();
        c.arg("gate")
            .arg(self.fx.run_dir())
            .arg("--project-root")
            .arg(self.fx.project_dir())
            .args(["--requirements", &self.path("reqs.yaml")]);
        if with_waivers {
            c.args(["--waivers", &self.path("waivers.yaml")]);
        }
        c.args(extra).output().expect("run adasval")
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).expect("output file")
    }
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_waived_failure_passes_and_every_output_says_so() {
    let s = Setup::new(&waiver("REQ-STRICT", "2999-12-31"));
    let (junit, summary) = (s.path("junit.xml"), s.path("summary.md"));
    let o = s.gate(true, &["--junit", &junit, "--summary", &summary]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = s.read("summary.md");
    assert!(md.contains("passed with 1 waiver"), "{md}");
    assert!(
        md.contains("fail (waived)") && md.contains("demo maintainers"),
        "{md}"
    );
    // The figure that failed is still there.
    assert!(md.contains("0.74"), "{md}");
    let xml = s.read("junit.xml");
    // A skipped case (quick-junit counts it as `disabled`), never a silent success.
    assert!(
        xml.contains("failures=\"0\"")
            && xml.contains("disabled=\"1\"")
            && xml.contains("<skipped"),
        "{xml}"
    );
    assert!(
        xml.contains("waived by demo maintainers until 2999-12-31")
            && xml.contains("measured 0.74"),
        "{xml}"
    );

    // The terminal ending (and the HTML banner, which is its result line).
    let reqs = Requirements::parse(Path::new("reqs.yaml"), STRICT).expect("reqs");
    let set = adasval::evidence::EvidenceSet::load(&s.fx.run_dir().join("evidence.json"))
        .expect("evidence");
    let w = Waivers::parse(
        Path::new("w.yaml"),
        &waiver("REQ-STRICT", "2999-12-31"),
        &reqs,
    )
    .expect("waivers");
    let eval = evaluate_waived(&reqs.requirements, &set, &w.waivers, "2026-01-01");
    assert!(eval.passed());
    let status = adasval::exit::Status::Pass;
    let end = adasval::report::terminal::ending(&eval, status, &[], s.fx.run_dir());
    assert!(end.contains("FAIL waived") && end.contains("0.74"), "{end}");
    assert!(
        end.contains("Result: PASS: passed with 1 waiver: 1 of 2 requirements pass, 1 fail under waiver (REQ-STRICT)."),
        "{end}"
    );
}

#[test]
fn an_expired_waiver_fails_the_gate_and_is_named() {
    let s = Setup::new(&waiver("REQ-STRICT", "2020-01-31"));
    let (junit, summary) = (s.path("junit.xml"), s.path("summary.md"));
    let o = s.gate(true, &["--junit", &junit, "--summary", &summary]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let md = s.read("summary.md");
    assert!(
        md.contains("REQ-STRICT expired 2020-01-31") && md.contains("| expired |"),
        "{md}"
    );
    let xml = s.read("junit.xml");
    assert!(
        xml.contains("waiver for REQ-STRICT expired on 2020-01-31"),
        "{xml}"
    );

    // Expired on a passing requirement: nothing failed, the gate still fails.
    let s = Setup::new(&waiver("REQ-OK", "2020-01-31"));
    let o = s.gate(true, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("REQ-OK expired 2020-01-31"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_waiver_on_a_passing_requirement_is_reported_unused() {
    let s = Setup::new(&waiver("REQ-OK", "2999-12-31"));
    let o = s.gate(true, &["--format", "json"]);
    // REQ-STRICT still fails: the unused waiver accepts nothing.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["outcome"]["evaluation"]["waivers"][0]["status"], "unused");
}

#[test]
fn an_unknown_requirement_id_is_bad_input_listing_the_known_ones() {
    let s = Setup::new(&waiver("REQ-NOPE", "2999-12-31"));
    let o = s.gate(true, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("waivers.yaml:3")
            && err.contains("REQ-NOPE")
            && err.contains("REQ-STRICT, REQ-OK"),
        "{err}"
    );
}

#[test]
fn a_malformed_waiver_file_names_file_line_and_field() {
    let bad = waiver("REQ-STRICT", "2999-12-31").replace("expires: 2999-12-31", "expires: soon");
    let s = Setup::new(&bad);
    let o = s.gate(true, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("waivers.yaml:6") && err.contains("expires"),
        "{err}"
    );

    let typo = waiver("REQ-STRICT", "2999-12-31").replace("owner:", "ownr:");
    let s = Setup::new(&typo);
    let o = s.gate(true, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("waivers.yaml:5") && err.contains("ownr"),
        "{err}"
    );
}

#[test]
fn a_waiver_never_changes_a_measured_figure() {
    let s = Setup::new(&waiver("REQ-STRICT", "2999-12-31"));
    let figures = |with: bool| {
        let o = s.gate(with, &["--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let reqs = v["outcome"]["evaluation"]["requirements"]
            .as_array()
            .expect("requirements")
            .clone();
        reqs.iter()
            .map(|r| {
                (
                    r["id"].clone(),
                    r["verdict"].clone(),
                    r["instances"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let (with, without) = (figures(true), figures(false));
    assert!(!with.is_empty());
    assert_eq!(with, without);

    // The same through the evaluation API, waiver applied, expired or absent.
    let reqs = Requirements::parse(Path::new("reqs.yaml"), STRICT).expect("reqs");
    let set = adasval::evidence::EvidenceSet::load(&s.fx.run_dir().join("evidence.json"))
        .expect("evidence");
    let w = Waiver {
        requirement: "REQ-STRICT".into(),
        reason: "r".into(),
        owner: "o".into(),
        expires: "2026-06-30".into(),
    };
    let plain = evaluate_waived(&reqs.requirements, &set, &[], "2026-01-01");
    for today in ["2026-01-01", "2026-07-01"] {
        let e = evaluate_waived(&reqs.requirements, &set, std::slice::from_ref(&w), today);
        for (a, b) in e.requirements.iter().zip(&plain.requirements) {
            assert_eq!((a.verdict, &a.instances), (b.verdict, &b.instances));
        }
        assert_eq!(e.passed(), today == "2026-01-01");
    }
}

#[test]
fn waivers_follow_the_requirements_the_gate_judges_on() {
    let fx = build(true, None);
    let dir = fx.project_dir().join("safety-case");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // REQ-CON-001 passes in the fixture, so its waiver could only ever be unused.
    let file = dir.join("waivers.yaml");
    std::fs::write(&file, waiver("REQ-CON-001", "2999-12-31")).expect("write");
    let gate = |extra: &[&str]| {
        let o = common::adasval()
            .arg("gate")
            .arg(fx.run_dir())
            .arg("--project-root")
            .arg(fx.project_dir())
            .args(["--format", "json"])
            .args(extra)
            .output()
            .expect("run adasval");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        v["outcome"].clone()
    };
    // The run was judged on its own requirements copy without waivers: the project's
    // current waivers do not change that judgement.
    let plain = gate(&[]);
    assert!(plain.get("waivers_file").is_none(), "{plain}");
    assert!(plain["evaluation"].get("waivers").is_none(), "{plain}");
    // Named explicitly, they apply, and an unused one is reported.
    let named = gate(&["--waivers", file.to_str().expect("UTF-8 temp path")]);
    assert_eq!(named["evaluation"]["waivers"][0]["status"], "unused");
}
