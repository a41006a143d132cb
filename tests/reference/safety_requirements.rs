//! Requirements parsing (errors name file, line and field), evaluation (scope matching,
//! "no evidence" fails), and the JUnit, Markdown and traceability renderings.

use crate::common;
use crate::safety_fixture;

use adasval::exit::Classify;
use adasval::report::summary::{markdown, SummaryInput};
use adasval::report::{junit, trace};
use adasval::safety::{evaluate, traceability, Gsn, Requirements, SafetyError, Verdict};
use std::path::Path;

fn parse(text: &str) -> Result<Requirements, SafetyError> {
    Requirements::parse(Path::new("reqs.yaml"), text)
}

/// 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle") as u64
        + 1
}

fn expect_located(text: &str, needle: &str, field: &str) -> String {
    let err = parse(text).expect_err("must fail");
    assert_eq!(err.status(), adasval::exit::Status::BadInput);
    let (at, message) = match &err {
        SafetyError::Yaml { at, message } | SafetyError::Invalid { at, message } => (at, message),
        other => panic!("expected a located error, got {other}"),
    };
    assert_eq!(at.file, Path::new("reqs.yaml"));
    assert_eq!(at.line, line_of(text, needle), "{err}");
    assert_eq!(at.field.as_deref(), Some(field), "{err}");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("reqs.yaml:{}:", at.line)),
        "{shown}"
    );
    assert!(shown.contains(&format!("field `{field}`")), "{shown}");
    message.clone()
}

const HEAD: &str = "schema_version: 1\nrequirements:\n";

#[test]
fn shipped_requirements_and_gsn_parse_and_link() {
    let root = common::repo_root();
    let reqs =
        Requirements::load(&root.join("safety-case/requirements.yaml")).expect("requirements");
    assert!(reqs.requirements.len() >= 4);
    let kinds: std::collections::HashSet<_> = reqs.requirements.iter().map(|r| r.kind).collect();
    assert_eq!(kinds.len(), 4, "all four kinds are demonstrated");
    let gsn = Gsn::load(&root.join("safety-case/gsn.yaml")).expect("gsn");
    gsn.check_requirements(&reqs).expect("goal links");
    for r in &reqs.requirements {
        assert!(
            gsn.nodes
                .iter()
                .any(|n| n.requirement.as_deref() == Some(&r.id)),
            "requirement {} has no goal in the safety case",
            r.id
        );
    }
}

#[test]
fn wrong_type_names_line_and_field() {
    let text = format!(
        "{HEAD}  - id: R1\n    text: t\n    kind: detection\n    metric: recall_lcb\n    threshold: high\n"
    );
    let msg = expect_located(&text, "threshold: high", "threshold");
    assert!(msg.contains("invalid"), "{msg}");
}

#[test]
fn unknown_field_names_line_and_field() {
    let text = format!(
        "{HEAD}  - id: R1\n    text: t\n    kind: detection\n    metric: recall_lcb\n    treshold: 0.5\n"
    );
    expect_located(&text, "treshold", "treshold");
}

#[test]
fn unknown_kind_names_line_and_field() {
    let text = format!("{HEAD}  - id: R1\n    text: t\n    kind: safety\n");
    expect_located(&text, "kind: safety", "kind");
}

#[test]
fn unknown_metric_points_at_the_metric() {
    let text = format!(
        "{HEAD}  - id: R1\n    text: t\n    kind: timing\n    metric: wcet\n    probability: 1.0e-6\n"
    );
    let msg = expect_located(&text, "metric: wcet", "metric");
    assert!(msg.contains("pwcet_ucb"), "lists the known metrics: {msg}");
}

#[test]
fn semantic_errors_are_located() {
    // Missing metric: reported at the requirement's id.
    let text = format!("{HEAD}  - id: R1\n    text: t\n    kind: detection\n    threshold: 0.5\n");
    expect_located(&text, "id: R1", "metric");
    // Fraction above 1.
    let text = format!(
        "{HEAD}  - id: R1\n    text: t\n    kind: detection\n    metric: recall_lcb\n    threshold: 1.5\n"
    );
    expect_located(&text, "threshold: 1.5", "threshold");
    // Probability out of range.
    let text = format!(
        "{HEAD}  - id: R1\n    text: t\n    kind: timing\n    metric: pwcet_ucb\n    probability: 2\n"
    );
    expect_located(&text, "probability: 2", "probability");
    // A field that does not apply to the kind.
    let text = format!("{HEAD}  - id: R1\n    text: t\n    kind: integrity\n    threshold: 1\n");
    expect_located(&text, "threshold: 1", "threshold");
    // Duplicate id: reported at the second one.
    let text = format!(
        "{HEAD}  - id: R1\n    text: t\n    kind: integrity\n  - id: R1 \n    text: u\n    kind: integrity\n"
    );
    let msg = expect_located(&text, "id: R1 ", "id");
    assert!(msg.contains("duplicate"), "{msg}");
    // Unsupported schema version.
    let text = "schema_version: 7\nrequirements: []\n";
    expect_located(text, "schema_version", "schema_version");
}

#[test]
fn syntax_error_is_located() {
    let text = format!("{HEAD}  - id: R1\n    text: [unclosed\n    kind: integrity\n");
    let err = parse(&text).expect_err("must fail");
    match err {
        SafetyError::Yaml { at, .. } => {
            assert!(at.line >= line_of(&text, "[unclosed"), "{at}");
        }
        other => panic!("{other}"),
    }
}

fn fixture_eval(reqs_text: &str) -> adasval::safety::Evaluation {
    let set = safety_fixture::evidence_set(&"e".repeat(64), &"a".repeat(64), true);
    let reqs = parse(reqs_text).expect("requirements");
    evaluate(&reqs.requirements, &set)
}

#[test]
fn fixture_requirements_pass_on_fixture_evidence() {
    let eval = fixture_eval(safety_fixture::PASSING_REQUIREMENTS);
    for r in &eval.requirements {
        assert_eq!(r.verdict, Verdict::Pass, "{}: {:?}", r.id, r.instances);
    }
    assert!(eval.passed());
}

#[test]
fn threshold_above_a_measured_value_fails_that_instance_only() {
    let eval = fixture_eval(&format!(
        "{HEAD}  - id: R1\n    text: t\n    kind: detection\n    metric: recall_lcb\n    class: person\n    iou: 0.5\n    threshold: 0.78\n"
    ));
    let r = &eval.requirements[0];
    assert_eq!(r.verdict, Verdict::Fail);
    // Independent expectation from the fixture's figures.
    let expected_fail: Vec<&str> = safety_fixture::RECALLS
        .iter()
        .filter(|(_, v)| *v < 0.78)
        .map(|(s, _)| *s)
        .collect();
    let failed: Vec<&str> = r
        .instances
        .iter()
        .filter(|i| i.verdict == Verdict::Fail)
        .map(|i| i.scenario.as_str())
        .collect();
    assert_eq!(failed, expected_fail);
    assert_eq!(r.instances.len(), safety_fixture::RECALLS.len());
}

#[test]
fn scope_without_matching_evidence_is_no_evidence_and_fails() {
    for scope in [
        "    scope:\n      scenario_tags: [highway]\n",
        "    scope:\n      engines: [other-*]\n",
        "    scope:\n      platforms: [jetson-orin]\n",
        "    class: bicycle\n",
        "    iou: 0.75\n",
    ] {
        let eval = fixture_eval(&format!(
            "{HEAD}  - id: R1\n    text: t\n    kind: detection\n    metric: recall_lcb\n    threshold: 0.1\n{scope}"
        ));
        assert_eq!(eval.requirements[0].verdict, Verdict::NoEvidence, "{scope}");
        assert!(eval.requirements[0].instances.is_empty());
        assert!(!eval.passed(), "no evidence must never pass: {scope}");
    }
    // The same requirement with a matching scope does find evidence.
    let eval = fixture_eval(&format!(
        "{HEAD}  - id: R1\n    text: t\n    kind: detection\n    metric: recall_lcb\n    threshold: 0.1\n    scope:\n      engines: [d*]\n      scenario_tags: [pedestrian]\n"
    ));
    assert_eq!(eval.requirements[0].verdict, Verdict::Pass);
}

#[test]
fn timing_requirements_use_scenario_or_explicit_deadline() {
    // Fixture: pWCET UCB 28 ms, HWM 18 ms, scenario deadline 33.3 ms.
    let reqs = [
        "  - id: T1\n    text: t\n    kind: timing\n    metric: pwcet_ucb\n    probability: 1.0e-6\n    deadline_ms: 25\n",
        "  - id: T2\n    text: t\n    kind: timing\n    metric: hwm_margin\n    margin: 2\n",
        "  - id: T3\n    text: t\n    kind: timing\n    metric: hwm_margin\n    margin: 1.8\n",
        "  - id: T4\n    text: t\n    kind: timing\n    metric: pwcet_ucb\n    probability: 1.0e-9\n",
    ];
    let eval = fixture_eval(&format!("{HEAD}{}", reqs.concat()));
    let v: Vec<Verdict> = eval.requirements.iter().map(|r| r.verdict).collect();
    // 28 > 25; 18*2 = 36 > 33.3; 18*1.8 = 32.4 <= 33.3; no item at p = 1e-9.
    assert_eq!(
        v,
        vec![
            Verdict::Fail,
            Verdict::Fail,
            Verdict::Pass,
            Verdict::NoEvidence
        ]
    );
    let t2 = &eval.requirements[1].instances[0];
    assert_eq!(t2.measured, Some(36.0));
    assert_eq!(t2.limit, Some(33.3));
}

#[test]
fn incomplete_run_never_passes() {
    let set = safety_fixture::evidence_set(&"e".repeat(64), &"a".repeat(64), false);
    let reqs = parse(safety_fixture::PASSING_REQUIREMENTS).expect("requirements");
    let eval = evaluate(&reqs.requirements, &set);
    assert!(eval.requirements.iter().all(|r| r.verdict == Verdict::Pass));
    assert!(!eval.passed());
}

const MIXED: &str = "schema_version: 1\nrequirements:
  - id: R-PASS
    text: t
    kind: consistency
    metric: decision_flips
    threshold: 0
  - id: R-FAIL
    text: t
    kind: detection
    metric: recall_lcb
    threshold: 0.8
  - id: R-NONE
    text: t
    kind: detection
    metric: precision_lcb
    threshold: 0.5
";

#[test]
fn junit_is_well_formed_with_one_case_per_instance() {
    let Some(py) = common::python_with(&["xml.etree.ElementTree"]) else {
        return;
    };
    let eval = fixture_eval(MIXED);
    let xml = junit::junit_xml("adasval gate", &eval).expect("xml");
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("junit.xml");
    std::fs::write(&p, &xml).expect("write");
    // Parse with Python's XML parser (independent of quick-junit) and count.
    let script = r#"
import sys, json, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall('.//testcase')
out = {
  'root': root.tag,
  'tests': int(root.get('tests')), 'failures': int(root.get('failures')),
  'cases': len(cases),
  'failed_cases': sorted(c.get('classname') + '|' + c.get('name') for c in cases if c.find('failure') is not None),
  'messages': [c.find('failure').get('message') for c in cases if c.find('failure') is not None],
  'suites': sorted(s.get('name') for s in root.findall('testsuite')),
}
print(json.dumps(out))
"#;
    let out = std::process::Command::new(py)
        .args(["-c", script])
        .arg(&p)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // Fixture: 1 decision-flip item (pass), 2 recall items (0.82 pass, 0.74 fail at 0.8),
    // no precision items (one failing "no evidence" case).
    assert_eq!(v["root"], "testsuites");
    assert_eq!(
        v["suites"],
        serde_json::json!(["R-FAIL", "R-NONE", "R-PASS"])
    );
    assert_eq!(v["cases"], 4);
    assert_eq!(v["tests"], 4);
    assert_eq!(v["failures"], 2);
    let failed = v["failed_cases"].as_array().expect("array");
    assert_eq!(failed.len(), 2);
    assert!(failed[0]
        .as_str()
        .is_some_and(|s| s.starts_with("R-FAIL|ped-occluded-02")));
    assert_eq!(failed[1], "R-NONE|no evidence");
    let msg = v["messages"][0].as_str().expect("message");
    assert!(
        msg.contains("measured 0.74") && msg.contains("0.8"),
        "{msg}"
    );
}

#[test]
fn markdown_summary_structure() {
    let eval = fixture_eval(MIXED);
    let md = markdown(&SummaryInput {
        title: "adasval gate",
        status: adasval::exit::Status::GateFailed,
        notes: vec!["run `x`".into()],
        warnings: vec![],
        eval: &eval,
    });
    let lines: Vec<&str> = md.lines().collect();
    assert!(
        lines[0].starts_with("## adasval gate: ") && lines[0].contains("FAIL"),
        "{md}"
    );
    let rows: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("| ") && l.contains("**R-"))
        .collect();
    assert_eq!(rows.len(), 3, "one table row per requirement:\n{md}");
    let header = lines
        .iter()
        .position(|l| l.contains("| Requirement |"))
        .expect("header");
    assert!(lines[header + 1].starts_with("|---"));
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.contains(&format!("**{id}**")))
            .expect("row")
    };
    assert!(row("R-PASS").contains("| pass |"));
    assert!(row("R-FAIL").contains("| fail |") && row("R-FAIL").contains("| 1 / 1 |"));
    assert!(row("R-NONE").contains("| no evidence |"));
    assert!(
        md.contains("**3 requirements: 1 pass, 1 fail, 1 no evidence.**"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>Failures (2)</summary>"),
        "{md}"
    );
    assert!(
        md.contains("`reports/ped-occluded-02.metrics.json`"),
        "failure names its artefact"
    );
    assert!(md.len() < 65_536, "fits a PR comment");
}

#[test]
fn traceability_rows_and_renderings() {
    let eval = fixture_eval(MIXED);
    let rows = traceability(&eval);
    // One row per instance plus one for the requirement without evidence.
    let instances: usize = eval
        .requirements
        .iter()
        .map(|r| r.instances.len().max(1))
        .sum();
    assert_eq!(rows.len(), instances);
    let fail = rows
        .iter()
        .find(|r| r.verdict == Verdict::Fail)
        .expect("fail row");
    assert_eq!(fail.scenario, "ped-occluded-02");
    assert_eq!(fail.engine_sha256, "e".repeat(64));
    assert_eq!(fail.measured, Some(0.74));
    assert_eq!(fail.threshold.as_deref(), Some("≥ 0.8"));
    let md = trace::markdown(&rows);
    assert_eq!(md.lines().count(), rows.len() + 2);
    let html = trace::html(&rows);
    assert_eq!(html.matches("<tr><td>").count(), rows.len());
    assert_eq!(html.matches("class=\"verdict-fail\"").count(), 1);
    assert_eq!(html.matches("class=\"verdict-no_evidence\"").count(), 1);
    // Escaping: a hostile requirement id cannot inject markup.
    let mut evil = rows.clone();
    evil[0].requirement = "<script>x</script>".into();
    assert!(!trace::html(&evil).contains("<script>"));
}
