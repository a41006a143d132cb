//! One path to every verdict: a `validate` run, reduced to its raw records (`run.json`,
//! `latencies.csv`, `detections.jsonl`, `golden.jsonl`) in a fresh directory and judged
//! there by `adasval judge`, gives `validate`'s metrics, WCET, evidence, verdicts and
//! reports. Nothing judged is copied: the fresh directory holds only the raw records.
//!
//! Fields that may legitimately differ (also in docs/EVIDENCE.md): `evidence.json`'s
//! `integrity` (engines and adapters re-hashed against the lock as it is when judged), and
//! `MANIFEST.sha256` / `MANIFEST.sha256.sig` (each seals its own directory). With the lock
//! and engines unchanged, as here, the integrity block is equal too and the test says so.

use crate::common;
use common::*;

use std::path::{Path, PathBuf};

/// What a run directory holds before anything is judged.
const RAW: &[&str] = &[
    "run.json",
    "latencies.csv",
    "detections.jsonl",
    "golden.jsonl",
];

/// Files both paths compute, compared byte for byte.
const JUDGED: &[&str] = &[
    "metrics.json",
    "golden.coco.json",
    "detections.coco.json",
    "wcet.json",
    "evidence.json",
    "histograms.json",
    "requirements.yaml",
    "waivers.yaml",
    "junit.xml",
    "summary.md",
    "summary.json",
    "traceability.md",
    "report.md",
];

/// One `validate` run shared by every test here (they only read it, or judge copies of
/// its raw records): its directory and exit status. It lives in cargo's scratch folder
/// for integration tests, so it does not outlive the next run.
fn validated() -> &'static (PathBuf, i32) {
    static RUN: std::sync::OnceLock<(PathBuf, i32)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("judge_stored-run");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let code = validate(&dir);
        (dir, code)
    })
}

fn validate(out: &Path) -> i32 {
    let (code, o, e) = run(adasval()
        .current_dir(repo_root())
        .args([
            "validate",
            "--scenario",
            "demo-cpnco-50",
            "--scenario",
            "dusk-pedestrian-group",
            "--max-frames",
            "12",
            "--repetitions",
            "3",
            "--warmup",
            "1",
            "--out",
        ])
        .arg(out));
    assert!(
        code == 0 || code == 1,
        "validate should judge the run (exit 0 or 1), got {code}: {o}{e}"
    );
    code
}

fn copy_raw(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in RAW {
        std::fs::copy(from.join(f), to.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

fn judge(dir: &Path) -> (i32, String, String) {
    run(adasval()
        .current_dir(repo_root())
        .arg("judge")
        .arg(dir)
        .arg("--project-root")
        .arg(repo_root()))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_stored_run_judged_from_its_raw_records_gives_validates_results() {
    let (run_dir, code) = validated();
    let (run_dir, code) = (run_dir.as_path(), *code);
    let d = tempfile::tempdir().unwrap();
    let fresh = d.path().join("fresh");
    copy_raw(run_dir, &fresh);
    for f in JUDGED {
        assert!(!fresh.join(f).exists(), "{f} must be computed, not copied");
    }
    let (jcode, o, e) = judge(&fresh);
    assert_eq!(jcode, code, "judge's exit status is validate's: {o}{e}");
    for f in JUDGED {
        assert_eq!(
            read(&fresh.join(f)),
            read(&run_dir.join(f)),
            "{f} recomputed from the raw records differs from validate's"
        );
    }
    // The verdicts themselves, not only their rendering.
    let verdicts = |dir: &Path| -> Vec<(String, String)> {
        let j = read(&dir.join("summary.md"));
        // `| ✅ | **REQ-DET-001** | detection | pass | ...`
        j.lines()
            .filter(|l| l.contains("| **REQ-"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[2].to_string(), cells[4].to_string())
            })
            .collect()
    };
    let v = verdicts(run_dir);
    assert!(!v.is_empty(), "the summary lists the verdicts");
    assert_eq!(verdicts(&fresh), v);
    // The judged directory is sealed like validate's.
    let (vcode, o, e) = run(adasval().args(["evidence", "verify"]).arg(&fresh));
    assert_eq!(vcode, 0, "judged run verifies: {o}{e}");
}

#[test]
fn judged_figures_follow_the_raw_records() {
    // The same copy with one latency changed must give another wcet.json: the judge reads
    // the samples, it does not reuse an earlier result.
    let run_dir = validated().0.as_path();
    let d = tempfile::tempdir().unwrap();
    let fresh = d.path().join("fresh");
    copy_raw(run_dir, &fresh);
    let csv = read(&fresh.join("latencies.csv"));
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header.iter().position(|c| *c == "infer_ns").unwrap();
    let mut cells: Vec<String> = lines[1].split(',').map(String::from).collect();
    let v: u64 = cells[col].parse().unwrap();
    cells[col] = (v * 50).to_string();
    lines[1] = cells.join(",");
    std::fs::write(fresh.join("latencies.csv"), lines.join("\n") + "\n").unwrap();
    let (_, o, e) = judge(&fresh);
    assert!(fresh.join("wcet.json").exists(), "{o}{e}");
    assert_ne!(
        read(&fresh.join("wcet.json")),
        read(&run_dir.join("wcet.json")),
        "a changed sample must change the WCET analysis"
    );
}

#[test]
fn judge_refuses_a_sealed_run_and_leaves_it_intact() {
    let run_dir = validated().0.as_path();
    let before = read(&run_dir.join("MANIFEST.sha256"));
    let metrics = read(&run_dir.join("metrics.json"));
    let (code, o, e) = judge(run_dir);
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("is sealed"), "{e}");
    assert_eq!(read(&run_dir.join("MANIFEST.sha256")), before);
    assert_eq!(read(&run_dir.join("metrics.json")), metrics);
    let (vcode, o, e) = run(adasval().args(["evidence", "verify"]).arg(run_dir));
    assert_eq!(vcode, 0, "{o}{e}");
}

#[test]
fn raw_records_that_disagree_are_bad_input_naming_the_trace() {
    let run_dir = validated().0.as_path();
    let d = tempfile::tempdir().unwrap();
    let fresh = d.path().join("fresh");
    copy_raw(run_dir, &fresh);
    let csv = read(&fresh.join("latencies.csv"));
    let mut lines: Vec<&str> = csv.lines().collect();
    let dropped = lines.remove(1).to_string();
    std::fs::write(fresh.join("latencies.csv"), lines.join("\n") + "\n").unwrap();
    let (code, o, e) = judge(&fresh);
    assert_eq!(code, 2, "{o}{e}");
    let scenario = dropped.split(',').next().unwrap();
    assert!(
        e.contains("latencies.csv has") && e.contains(scenario) && e.contains("run.json says"),
        "{e}"
    );
    assert!(
        !fresh.join("metrics.json").exists(),
        "nothing is judged from such records"
    );
}

#[test]
fn every_sink_reports_the_same_verdict_per_requirement() {
    // The formats are renderings of one judgement: the JSON summary, the Markdown summary,
    // the HTML report's verdict rows and the JUnit suites must agree requirement by
    // requirement, and with the evidence the verdicts were computed from.
    let run_dir = validated().0.as_path();
    let json: serde_json::Value =
        serde_json::from_str(&read(&run_dir.join("summary.json"))).expect("summary.json is JSON");
    let from_json: Vec<(String, String)> = json["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().replace('_', " "),
            )
        })
        .collect();
    assert!(from_json.len() >= 4, "{json}");
    let md = read(&run_dir.join("summary.md"));
    let from_md: Vec<(String, String)> = md
        .lines()
        .filter(|l| l.contains("| **REQ-"))
        .map(|l| {
            let c: Vec<&str> = l.split('|').map(str::trim).collect();
            // The verdict stays `fail` under a waiver; the Markdown adds that it is waived.
            let verdict = c[4].trim_end_matches(" (waived)");
            (c[2].trim_matches('*').to_string(), verdict.to_string())
        })
        .collect();
    assert_eq!(from_md, from_json, "summary.md vs summary.json");
    let html = read(&run_dir.join("report.html"));
    let from_html: Vec<(String, String)> = html
        .split("<tr class=\"verdict\"")
        .skip(1)
        .map(|row| {
            let attr = |name: &str| {
                let k = format!("data-{name}=\"");
                let at = row.find(&k).unwrap() + k.len();
                row[at..at + row[at..].find('"').unwrap()].to_string()
            };
            (attr("requirement"), attr("verdict"))
        })
        .collect();
    assert_eq!(from_html, from_json, "report.html vs summary.json");
    let junit = read(&run_dir.join("junit.xml"));
    for (id, verdict) in &from_json {
        let open = format!("<testsuite name=\"{id}\"");
        let at = junit
            .find(&open)
            .unwrap_or_else(|| panic!("{id} not in junit.xml"));
        let suite = &junit[at..at + junit[at..].find("</testsuite>").unwrap()];
        // A waived failure is a skipped case, never a green one.
        let failed = suite.contains("<failure") || suite.contains("<skipped");
        assert_eq!(
            failed,
            verdict != "pass",
            "junit.xml vs summary.json for {id}"
        );
    }
    let failing = from_json.iter().filter(|(_, v)| v != "pass").count();
    assert_eq!(
        json["counts"]["pass"].as_u64().unwrap() as usize,
        from_json.len() - failing
    );
    let code = validated().1;
    assert_eq!(json["exit_code"].as_i64().unwrap() as i32, code, "{json}");
    // The reports open with the overall verdict, the one the exit status gives.
    let at = html
        .find("id=\"result\">")
        .expect("a verdict banner in report.html")
        + 12;
    let banner = &html[at..at + html[at..].find('<').unwrap()];
    assert_eq!(banner.starts_with("PASS"), code == 0, "{banner}");
    let failing_ids: Vec<&str> = from_json
        .iter()
        .filter(|(_, v)| v != "pass")
        .map(|(id, _)| id.as_str())
        .collect();
    for id in &failing_ids {
        assert!(banner.contains(id), "{id} not in the banner: {banner}");
    }
    let md = read(&run_dir.join("report.md"));
    assert!(
        md.contains(&format!("**{banner}**")),
        "report.md lacks the banner"
    );
}

/// Every number in `text` with magnitude ≥ 1e300: sentinels such as f64::MAX standing in
/// for "no bound", written out (309 digits) or in exponent form. Words holding letters
/// other than an exponent's `e` (hex hashes) are not numbers.
fn huge_numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-')))
    {
        let t = token.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if t.is_empty()
            || t.chars()
                .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        {
            continue;
        }
        let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
        // An exponent form is `1e308` or has a decimal point (`1.798e308`); a longer run
        // of digits and `e` without one is a piece of a hash.
        let exponent_form = t.contains(['e', 'E']) && (t.contains('.') || t.len() <= 6);
        let value = t
            .parse::<f64>()
            .ok()
            .filter(|_| exponent_form || !t.contains(['e', 'E']));
        if digits >= 300 || value.is_some_and(|v| v.abs() >= 1e300) {
            out.push(t.chars().take(40).collect());
        }
    }
    out
}

#[test]
fn no_output_shows_a_sentinel_for_a_missing_bound() {
    assert_eq!(huge_numbers("a 1.798e308 b"), ["1.798e308"]);
    assert_eq!(huge_numbers("x 1e308 ms"), ["1e308"]);
    assert_eq!(huge_numbers(&"9".repeat(309)).len(), 1);
    assert!(huge_numbers("p = 4e-12, 1e299 ms, 2026-12-06, @046675e487 abc046675e487").is_empty());
    let run_dir = validated().0.as_path();
    // The run has a trace whose pWCET analysis refused a bound (a dozen samples), so the
    // path that used to print f64::MAX is exercised.
    let ev: serde_json::Value =
        serde_json::from_str(&read(&run_dir.join("evidence.json"))).unwrap();
    let refused: Vec<&serde_json::Value> = ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["metric"] == "pwcet_ucb_ms" && i["value"].is_null())
        .collect();
    assert!(
        !refused.is_empty(),
        "expected a refused pWCET bound in {ev}"
    );
    for i in &refused {
        assert!(
            i["no_value"]
                .as_str()
                .is_some_and(|r| r.starts_with("no pWCET bound: ")),
            "{i}"
        );
    }
    // Every trace has its exceedance plot, the refused ones with the reason no model is
    // drawn.
    let html = read(&run_dir.join("report.html"));
    let run_json: serde_json::Value =
        serde_json::from_str(&read(&run_dir.join("run.json"))).unwrap();
    let traces = run_json["traces"].as_array().unwrap().len();
    assert_eq!(
        html.matches(": exceedance (log CCDF)").count(),
        traces,
        "one exceedance plot per trace"
    );
    assert!(
        html.contains("no model drawn: "),
        "a refused trace says why"
    );
    let mut checked = 0;
    for entry in std::fs::read_dir(run_dir).unwrap() {
        let p = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        assert!(
            huge_numbers(&text).is_empty(),
            "{}: {:?}",
            p.display(),
            huge_numbers(&text)
        );
        checked += 1;
    }
    assert!(checked >= 10, "{checked} files");
    // The terminal and CI outputs of the gate, and the reason reaches each of them.
    // A pWCET requirement over every scenario of the run, so the refused bounds are judged.
    let out = tempfile::tempdir().unwrap();
    let reqs = out.path().join("pwcet.yaml");
    std::fs::write(
        &reqs,
        "schema_version: 1
requirements:
  - id: REQ-PWCET-ALL
    text: The pWCET bound at 1e-6 per frame is within the deadline in every scenario.
    kind: timing
    metric: pwcet_ucb
    probability: 1.0e-6
",
    )
    .unwrap();
    let junit = out.path().join("junit.xml");
    let (code, stdout, stderr) = run(adasval()
        .current_dir(repo_root())
        .arg("gate")
        .arg(run_dir)
        .arg("--requirements")
        .arg(&reqs)
        .arg("--junit")
        .arg(&junit));
    assert_eq!(
        code, 1,
        "a refused bound fails the requirement: {stdout}{stderr}"
    );
    let junit = read(&junit);
    for (what, text) in [("stdout", &stdout), ("stderr", &stderr), ("junit", &junit)] {
        assert!(huge_numbers(text).is_empty(), "{what}: {text}");
    }
    assert!(
        junit.contains("no figure") && junit.contains("no pWCET bound"),
        "{junit}"
    );
    assert!(stdout.contains("no figure"), "{stdout}");
}

#[test]
fn one_high_water_mark_margin_in_every_place_it_is_applied() {
    // The WCET table and the requirement on the high-water mark use the same margin, the
    // one the requirements file sets, so a trace is never within margin in one place and
    // outside it in another.
    let run_dir = validated().0.as_path();
    let reqs =
        adasval::safety::Requirements::load(&repo_root().join("safety-case/requirements.yaml"))
            .unwrap();
    let (id, margin) = reqs
        .requirements
        .iter()
        .find_map(|r| match r.check {
            adasval::safety::requirements::Check::HwmMargin { margin, .. } => {
                Some((r.id.clone(), margin))
            }
            _ => None,
        })
        .expect("the demo requirements judge the high-water mark");
    let wcet: serde_json::Value = serde_json::from_str(&read(&run_dir.join("wcet.json"))).unwrap();
    let ev: serde_json::Value =
        serde_json::from_str(&read(&run_dir.join("evidence.json"))).unwrap();
    let analyses = wcet["analyses"].as_array().unwrap();
    assert!(!analyses.is_empty());
    for a in analyses {
        assert_eq!(a["margin"].as_f64().unwrap(), margin, "{a}");
        let hwm = ev["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| {
                i["metric"] == "hwm_ms"
                    && i["engine"] == a["engine"]
                    && i["scenario"] == a["scenario"]
            })
            .expect("an hwm item per trace")["value"]
            .as_f64()
            .unwrap();
        let table = a["hwm_margin"].as_f64().unwrap();
        assert!(
            (table - hwm * margin).abs() < 1e-9,
            "{table} vs {hwm} × {margin}"
        );
    }
    let md = read(&run_dir.join("report.md"));
    assert!(
        md.contains(&format!("× {margin} from {id}")),
        "the report says where the margin comes from"
    );
}

#[test]
fn judge_prints_its_verdicts_as_json_when_asked() {
    let (run_dir, code) = validated();
    let d = tempfile::tempdir().unwrap();
    let fresh = d.path().join("fresh");
    copy_raw(run_dir, &fresh);
    let (jcode, out, err) = run(adasval()
        .current_dir(repo_root())
        .args(["judge", "--format", "json"])
        .arg(&fresh)
        .arg("--root")
        .arg(repo_root()));
    assert_eq!(jcode, *code, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON object");
    assert_eq!(v["exit_code"].as_i64().unwrap() as i32, *code);
    assert_eq!(
        v["summary"],
        serde_json::from_str::<serde_json::Value>(&read(&fresh.join("summary.json"))).unwrap()
    );
}

#[test]
fn the_runs_coco_files_hold_every_detection_and_evaluate() {
    let run_dir = validated().0.as_path();
    let jsonl = read(&run_dir.join("detections.jsonl"));
    let stored: usize = jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["detections"].as_array().unwrap().len()
        })
        .sum();
    let results: serde_json::Value =
        serde_json::from_str(&read(&run_dir.join("detections.coco.json"))).unwrap();
    assert_eq!(results.as_array().unwrap().len(), stored);
    assert!(stored > 0, "the demo run detects something");
    let manifest = read(&run_dir.join("MANIFEST.sha256"));
    assert!(
        manifest.contains("detections.coco.json") && manifest.contains("golden.coco.json"),
        "sealed with the run: {manifest}"
    );
    let (code, out, err) = run(adasval()
        .args(["eval", "--format", "json", "--gt"])
        .arg(run_dir.join("golden.coco.json"))
        .arg("--dt")
        .arg(run_dir.join("detections.coco.json")));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["per_class"][0]["name"], "pedestrian", "{v}");
}
