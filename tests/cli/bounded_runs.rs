//! Time- and count-bounded runs (`--duration`, `--min-inferences`) and the precision rule
//! (`--p99-ci-width`, capped by `--max-duration`): each trace runs its planned passes, then
//! more, and records why it stopped.

use crate::common;
use common::*;

use adasval_core::quantile_ci::quantile_bounds;

fn json(dir: &std::path::Path, file: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap()
}

/// (frame, rep, infer_ns) of every sample, in acquisition order.
fn samples(dir: &std::path::Path) -> Vec<(u32, u32, u64)> {
    let csv = std::fs::read_to_string(dir.join("latencies.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[5].parse().unwrap(),
            )
        })
        .collect()
}

fn validate(d: &tempfile::TempDir, delay_us: &str, extra: &[&str]) -> (i32, String, String) {
    let mut cmd = adasval();
    cmd.current_dir(d.path())
        .env("ADASVAL_NOOP_DELAY_US", delay_us)
        .args(["validate", "--backend", "noop", "--warmup", "2"])
        .args(extra);
    run(&mut cmd)
}

#[test]
fn min_inferences_adds_seeded_passes_and_stops_at_the_count() {
    let d = noop_project();
    let args = [
        "--repetitions",
        "3",
        "--min-inferences",
        "25",
        "--seed",
        "7",
    ];
    let (code, out, err) = validate(&d, "0", &args);
    assert!(code == 0 || code == 1, "{out}{err}");
    let dir = d.path().join(out.trim());
    let s = samples(&dir);
    assert_eq!(s.len(), 25, "stops as soon as the count is reached");
    // Two frames: the planned 3 passes, then passes 3..=12, each frame once per pass.
    for pass in 0..12u32 {
        let mut frames: Vec<u32> = s.iter().filter(|x| x.1 == pass).map(|x| x.0).collect();
        frames.sort();
        assert_eq!(frames, vec![0, 1], "pass {pass}: {s:?}");
    }
    assert_eq!(s.iter().filter(|x| x.1 == 12).count(), 1);
    let r = json(&dir, "run.json");
    let t = &r["traces"][0];
    assert_eq!(t["settings"]["bounds"]["min_inferences"], 25, "{t}");
    assert_eq!(t["stop"]["reason"], "planned", "{t}");
    assert_eq!(t["stop"]["passes"], 13, "{t}");
    assert_eq!(t["samples"], 25);
    // The extra passes' order comes from the seed: the same run gives the same sequence.
    let d2 = noop_project();
    let (code, out2, err) = validate(&d2, "0", &args);
    assert!(code == 0 || code == 1, "{err}");
    let order = |v: &[(u32, u32, u64)]| v.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>();
    assert_eq!(order(&s), order(&samples(&d2.path().join(out2.trim()))));
}

#[test]
fn duration_runs_at_least_that_long() {
    let d = noop_project();
    let (code, out, err) = validate(&d, "200", &["--duration", "1"]);
    assert!(code == 0 || code == 1, "{out}{err}");
    let dir = d.path().join(out.trim());
    let r = json(&dir, "run.json");
    let t = &r["traces"][0];
    assert_eq!(t["stop"]["reason"], "planned", "{t}");
    let elapsed = t["stop"]["elapsed_s"].as_f64().unwrap();
    assert!(elapsed >= 1.0, "{elapsed}");
    // 200 µs a frame: far more than the planned 2 samples, and no more than the clock allows.
    let n = samples(&dir).len();
    assert!(
        n > 100 && (n as f64) <= elapsed / 200e-6 + 1.0,
        "{n} samples in {elapsed} s"
    );
    assert!(t["stop"].get("quantile_interval_ns").is_none(), "{t}");
}

#[test]
fn precision_rule_stops_once_the_p99_interval_is_narrow_and_records_it() {
    let d = noop_project();
    let (code, out, err) = validate(
        &d,
        "100",
        &["--p99-ci-width", "50ms", "--max-duration", "60"],
    );
    assert!(code == 0 || code == 1, "{out}{err}");
    let dir = d.path().join(out.trim());
    let r = json(&dir, "run.json");
    let t = &r["traces"][0];
    assert_eq!(t["stop"]["reason"], "precision_reached", "{t}");
    let q = &t["stop"]["quantile_interval_ns"];
    let (lo, est, hi) = (
        q["low_ns"].as_u64().unwrap(),
        q["estimate_ns"].as_u64().unwrap(),
        q["high_ns"].as_u64().unwrap(),
    );
    assert!(lo <= est && est <= hi && hi - lo <= 50_000_000, "{q}");
    // The recorded interval is the one the recorded samples give.
    let mut infer: Vec<u64> = samples(&dir).iter().map(|x| x.2).collect();
    infer.sort_unstable();
    let (l, h) = quantile_bounds(infer.len(), 0.99, 0.95)
        .both()
        .expect("the rule stopped, so the samples bound the p99");
    assert_eq!((infer[l], infer[h]), (lo, hi));
    // It stopped at the first check that could bound the p99 from above, not later.
    assert!(infer.len() < 2000, "{} samples", infer.len());
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("precision target met"), "{report}");
    if let Some(py) = python_with(&["jsonschema"]) {
        let (ok, msg) =
            crate::record_schema::check(&py, "docs/schema/run.schema.json", &dir.join("run.json"));
        assert!(ok, "{msg}");
    }
}

#[test]
fn time_cap_ends_a_trace_that_never_reaches_its_precision() {
    let d = noop_project();
    let (code, out, err) = validate(&d, "100", &["--p99-ci-width", "1ns", "--max-duration", "1"]);
    assert!(code == 0 || code == 1, "{out}{err}");
    let dir = d.path().join(out.trim());
    let t = &json(&dir, "run.json")["traces"][0];
    assert_eq!(t["stop"]["reason"], "time_cap", "{t}");
    assert!(t["stop"]["elapsed_s"].as_f64().unwrap() >= 1.0, "{t}");
    assert!(t["stop"]["quantile_interval_ns"]["high_ns"].is_u64(), "{t}");
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("time cap reached before the precision target"),
        "{report}"
    );
}

#[test]
fn contradictory_or_malformed_bounds_are_bad_usage() {
    let d = noop_project();
    for (args, needle) in [
        (vec!["--p99-ci-width", "2"], "not a width"),
        (vec!["--p99-ci-width=-2%"], "not a width"),
        (vec!["--duration", "0"], "positive number of seconds"),
        (vec!["--min-inferences", "0"], "min-inferences"),
        (vec!["--max-duration", "5"], "p99-ci-width"),
        (
            vec![
                "--duration",
                "10",
                "--p99-ci-width",
                "2%",
                "--max-duration",
                "5",
            ],
            "shorter than --duration",
        ),
    ] {
        let (code, out, err) = validate(&d, "0", &args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
