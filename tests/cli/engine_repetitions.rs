//! `timing.engine_repetitions`: a scenario replays the engine under release more often than a
//! comparison build (the demo's timing loop: 100 and 10 passes). Each engine's trace has its
//! own count, `--repetitions` overrides both, a name the lock does not hold applies to
//! nothing (a scenario file runs unedited in another project), a zero count is bad input
//! naming the file and field, and an interleaved session refuses unequal counts before
//! anything runs.

use crate::common;
use common::*;

fn samples_by_engine(run_dir: &std::path::Path) -> Vec<(String, u64)> {
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("run.json")).unwrap()).unwrap();
    let mut v: Vec<(String, u64)> = rec["traces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["scenario"] == "timed")
        .map(|t| {
            (
                t["engine"].as_str().unwrap().to_string(),
                t["samples"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn timed_scenario(p: &std::path::Path, timing: &str) {
    let two = std::fs::read_to_string(p.join("scenarios/two-frames.yaml")).unwrap();
    let timed = two
        .replace("id: two-frames", "id: timed")
        .replace("deadline_ms: 100", &format!("deadline_ms: 100\n{timing}"));
    std::fs::write(p.join("scenarios/timed.yaml"), timed).unwrap();
}

#[test]
fn each_engine_replays_its_own_count() {
    let d = noop_project();
    let p = d.path();
    freeze_fake_b(p);
    timed_scenario(
        p,
        "timing: { repetitions: 3, engine_repetitions: { fake-b: 1 } }",
    );
    let validate = |extra: &[&str]| {
        run(adasval()
            .current_dir(p)
            .args(["validate", "--backend", "noop", "--scenario", "timed"])
            .args(extra))
    };

    // Two frames: 3 passes for the engine with no entry, 1 for fake-b.
    let (code, out, err) = validate(&[]);
    assert!(code == 0 || code == 1, "{out}{err}");
    assert_eq!(
        samples_by_engine(&p.join(out.trim())),
        vec![("fake".to_string(), 6), ("fake-b".to_string(), 2)]
    );
    // `--repetitions` wins over both.
    let (code, out, err) = validate(&["--repetitions", "2"]);
    assert!(code == 0 || code == 1, "{out}{err}");
    assert_eq!(
        samples_by_engine(&p.join(out.trim())),
        vec![("fake".to_string(), 4), ("fake-b".to_string(), 4)]
    );

    // Interleaving pairs blocks: unequal counts are refused before anything runs, equal
    // ones (from `--repetitions`) are accepted.
    let reports = || std::fs::read_dir(p.join("reports")).unwrap().count();
    let before = reports();
    let (code, _, err) = validate(&["--engine", "fake,fake-b", "--interleave"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("timing.engine_repetitions"), "{err}");
    assert!(err.contains("3 of fake and 1 of fake-b"), "{err}");
    assert_eq!(
        reports(),
        before,
        "a refused session leaves no run directory"
    );
    let (code, out, err) = validate(&[
        "--engine",
        "fake,fake-b",
        "--interleave",
        "--repetitions",
        "2",
    ]);
    assert!(code == 0 || code == 1, "{out}{err}");
}

#[test]
fn a_name_outside_the_lock_applies_to_nothing_and_a_zero_count_is_bad_input() {
    let d = noop_project();
    let p = d.path();
    // A scenario written for another project (the demo's timing loop names its second
    // build) runs unedited: the name matches no engine here, so the default count applies.
    timed_scenario(
        p,
        "timing: { repetitions: 3, engine_repetitions: { fake-b: 1 } }",
    );
    let (code, out, err) = run(adasval().current_dir(p).args([
        "validate",
        "--backend",
        "noop",
        "--scenario",
        "timed",
    ]));
    assert!(code == 0 || code == 1, "{out}{err}");
    assert_eq!(
        samples_by_engine(&p.join(out.trim())),
        vec![("fake".to_string(), 6)]
    );

    timed_scenario(
        p,
        "timing: { repetitions: 3, engine_repetitions: { fake: 0 } }",
    );
    let (code, _, err) = run(adasval().current_dir(p).args([
        "validate",
        "--backend",
        "noop",
        "--scenario",
        "timed",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("timed.yaml"), "{err}");
    assert!(err.contains("timing.engine_repetitions"), "{err}");
    assert!(err.contains("`fake`: must be at least 1"), "{err}");
}
