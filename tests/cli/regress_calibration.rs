//! The reduced A/A and shift calibration of `diff` (bench/regress_calibration.py, no-op
//! part; the full figures and the CPU part are in docs/REGRESSION.md): fresh runs with
//! per-run offsets and per-frame noise, three runs per side.

use crate::common;
use common::*;

/// Run the calibration script with `args` against the binary under test, appending each
/// comparison to `lines`; its JSON summary.
fn calibrate(py: &str, args: &[&str], lines: &std::path::Path) -> serde_json::Value {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.extend([
        "--out".as_ref(),
        lines.as_os_str(),
        "--binary".as_ref(),
        env!("CARGO_BIN_EXE_adasval").as_ref(),
    ]);
    bench_json(py, "regress_calibration.py", &all)
}

/// Run `bench/SCRIPT` with `args`; it must succeed and print JSON on stdout.
fn bench_json(py: &str, script: &str, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = std::process::Command::new(py)
        .arg(repo_root().join("bench").join(script))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn aa_is_not_regressed_and_a_ten_percent_shift_is() {
    let Some(py) = python_with(&["json"]) else {
        return;
    };
    let (n_aa, n_shift) = (6, 6);
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("calibration.jsonl");
    let v = calibrate(
        &py,
        &[
            "--part",
            "noop",
            "--noop-reps",
            "100",
            "--seed",
            "7",
            "--aa",
            &n_aa.to_string(),
            "--shift-pairs",
            &n_shift.to_string(),
        ],
        &lines,
    );
    let r = &v["noop"];
    let count = |k: &str, d: &str| r[k][d].as_u64().unwrap_or(0);
    // Targets of issue #21: A/A regressed in at most 5%, shifts of +10% regressed in at
    // least 90%. Six comparisons cannot resolve those rates: a false `regressed` and a
    // false `improved` each happen with probability at most alpha = 5% per comparison, so
    // at most one of each is allowed (a 5% rate gives more in 3% of CI runs), and 5 of 6
    // shifts must be caught (a 98% detection rate gives fewer in 0.6% of CI runs). How
    // often an A/A is shown *equivalent* depends on the machine's load while the other
    // tests run (the busy-wait is preempted), so it is printed and measured by the bench
    // (docs/REGRESSION.md), not asserted.
    assert!(count("aa", "regressed") <= 1, "{r}");
    assert!(count("aa_p50", "improved") <= 1, "{r}");
    assert!(count("shift", "regressed") >= n_shift - 1, "{r}");
    // A CPU hog beside an interleaved A/A session: never regressed. The paired medians stay
    // inside the margin or undecided; the p99 of a 20-sample block is its largest sample,
    // which once (under the load of a full test run) was judged regressed before the tail
    // checks refused to decide on units with fewer than 10 samples beyond the quantile.
    let p50 = &r["interleaved_hog_checks"]["two-frames infer latency p50 (ms)"];
    assert!(p50 == "equivalent" || p50 == "inconclusive", "{r}");
    let p99 = &r["interleaved_hog_checks"]["two-frames infer latency p99 (ms)"];
    assert_eq!(p99, "inconclusive", "{r}");
    assert_ne!(r["interleaved_hog_aa"], "regressed", "{r}");
    eprintln!("calibration (reduced): {r}");
    check_incremental_output(&py, &lines, r);
}

/// `--design sessions`: each comparison is three interleaved sessions judged by `diff
/// --sessions`. A per-session offset of 5% (sd), shared by both engines of a session, is
/// what separate runs cannot tell from a change; paired inside each session it cancels,
/// and a +10% candidate is still caught.
#[test]
fn sessions_design_pairs_away_the_per_session_offset() {
    let Some(py) = python_with(&["json"]) else {
        return;
    };
    let n: u64 = 4;
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("sessions.jsonl");
    let n_str = n.to_string();
    let v = calibrate(
        &py,
        &[
            "--part",
            "noop",
            "--design",
            "sessions",
            "--run-sd",
            "0.05",
            "--noop-reps",
            "100",
            "--hog-sessions",
            "0",
            "--seed",
            "11",
            "--aa",
            &n_str,
            "--shift-pairs",
            &n_str,
        ],
        &lines,
    );
    let r = &v["noop-sessions"];
    eprintln!("sessions calibration (reduced): {r}");
    let count = |k: &str, d: &str| r[k][d].as_u64().unwrap_or(0);
    assert_eq!(r["aa_n"], n, "{r}");
    assert!(count("aa", "regressed") <= 1, "{r}");
    assert!(count("shift_p50", "regressed") >= n - 1, "{r}");
    // Across sessions the engines' medians spread by the injected offset; their ratio
    // inside a session does not.
    let rr = &r["aa_run_to_run"]["p50"];
    let (cv, paired) = (
        rr["pooled_cv"].as_f64().unwrap(),
        rr["paired_ratio_sd"].as_f64().unwrap(),
    );
    assert!(cv > 0.02, "the offset was injected: {rr}");
    assert!(paired < cv / 2.0, "pairing removes the offset: {rr}");
    let text = std::fs::read_to_string(&lines).unwrap();
    let sessions: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["type"] == "comparison")
        .collect();
    assert_eq!(sessions.len() as u64, 2 * n, "{text}");
    for c in &sessions {
        assert_eq!(c["part"], "noop-sessions", "{c}");
        assert_eq!(c["design"], "sessions", "{c}");
        // One engine's share of a session: 2 frames x 100 repetitions.
        assert_eq!(c["baseline_runs"][0]["samples"], 200, "{c}");
        // diff's p50 change is the mean of the sessions' time-matched changes, which the
        // script works out again from each session's latencies.csv and schedule.
        let matched: Vec<f64> = c["matched_p50_change_ms"]
            .as_array()
            .unwrap_or_else(|| panic!("matched changes: {c}"))
            .iter()
            .map(|d| {
                d.as_f64()
                    .unwrap_or_else(|| panic!("a session without pairs: {c}"))
            })
            .collect();
        let base: Vec<f64> = c["baseline_runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["p50_ms"].as_f64().unwrap())
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let by_script = mean(&matched) / mean(&base);
        let by_diff = c["p50_change"].as_f64().unwrap();
        assert!(
            (by_script - by_diff).abs() < 1e-9,
            "script {by_script} vs diff {by_diff}: {c}"
        );
    }
    // The paired p50 decisions of `diff --sessions`, recomputed from the sessions' medians
    // and matched changes with scipy's t distribution (bench/sessions_contrast.py, the TOST rule written out).
    let Some(scipy) = python_with(&["scipy"]) else {
        return;
    };
    let contrast = bench_json(&scipy, "sessions_contrast.py", &[lines.as_os_str()]);
    for d in ["equivalent", "inconclusive", "regressed", "improved"] {
        assert_eq!(
            contrast["paired"]["p50"][d].as_u64().unwrap_or(0),
            count("aa_p50", d),
            "{d}: {contrast} vs {r}"
        );
    }
}

/// The `--out` file holds one line per comparison, written as each finished, with each
/// run's p50 and p99; `--summarize` of it gives the same tallies as the live run.
fn check_incremental_output(py: &str, lines: &std::path::Path, live: &serde_json::Value) {
    let text = std::fs::read_to_string(lines).unwrap();
    let comparisons: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["type"] == "comparison")
        .collect();
    assert_eq!(comparisons.len(), 12, "{text}");
    for c in &comparisons {
        for side in ["baseline_runs", "candidate_runs"] {
            let runs = c[side].as_array().unwrap();
            assert_eq!(runs.len(), 3, "{c}");
            for u in runs {
                assert_eq!(u["samples"], 200, "{c}");
                assert!(u["p50_ms"].as_f64().unwrap() <= u["p99_ms"].as_f64().unwrap());
            }
        }
    }
    let s = summarize(py, &[lines]);
    for k in ["aa", "shift", "aa_p50", "aa_p99", "shift_p50"] {
        assert_eq!(s["noop"][k], live[k], "{k}: {s}");
    }
}

fn summarize(py: &str, files: &[&std::path::Path]) -> serde_json::Value {
    let mut args: Vec<&std::ffi::OsStr> = vec!["--summarize".as_ref()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    bench_json(py, "regress_calibration.py", &args)
}

/// `--summarize` adds up records of several calls: skipped comparisons are counted apart,
/// and the run-to-run spread is each side's coefficient of variation pooled over sides
/// (computed here independently from the same p50s).
#[test]
fn summarize_pools_the_run_to_run_spread_of_aa_runs() {
    let Some(py) = python_with(&["json"]) else {
        return;
    };
    let sides: [[[f64; 3]; 2]; 2] = [
        [[10.0, 10.4, 9.8], [10.1, 10.3, 10.2]],
        [[20.0, 21.0, 19.0], [20.5, 19.5, 20.2]],
    ];
    let unit = |p50: f64| serde_json::json!({"samples": 1000, "p50_ms": p50, "p99_ms": 2.0 * p50});
    let mut text = String::new();
    for (i, [b, c]) in sides.iter().enumerate() {
        let decision = if i == 0 { "equivalent" } else { "inconclusive" };
        let rec = serde_json::json!({
            "type": "comparison", "index": i, "part": "cpu", "kind": "aa",
            "decision": decision,
            "checks": {"timing-loop infer latency p50 (ms)": "equivalent"},
            "p50_change": 0.0,
            "baseline_runs": b.iter().map(|x| unit(*x)).collect::<Vec<_>>(),
            "candidate_runs": c.iter().map(|x| unit(*x)).collect::<Vec<_>>(),
        });
        text += &format!("{rec}\n");
    }
    text += "{\"type\": \"comparison\", \"index\": 2, \"part\": \"cpu\", \"kind\": \"shift\", \"skipped\": \"deadline\"}\n";
    let (mut ss, mut df) = (0.0, 0usize);
    for side in sides.iter().flatten() {
        let m = side.iter().sum::<f64>() / 3.0;
        ss += side.iter().map(|x| (x / m - 1.0).powi(2)).sum::<f64>();
        df += 2;
    }
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = text.split_at(text.find('\n').unwrap() + 1);
    std::fs::write(dir.path().join("a.jsonl"), first).unwrap();
    std::fs::write(dir.path().join("b.jsonl"), second).unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let v = summarize(&py, &[&a, &b]);
    let s = &v["cpu"];
    assert_eq!(s["aa_n"], 2, "{s}");
    assert_eq!(s["aa"]["equivalent"], 1, "{s}");
    assert_eq!(s["aa"]["inconclusive"], 1, "{s}");
    assert_eq!(s["skipped"], 1, "{s}");
    assert_eq!(s["shift_n"], 0, "{s}");
    let rr = &s["aa_run_to_run"];
    assert_eq!(rr["p50"]["df"], df, "{s}");
    let got = rr["p50"]["pooled_cv"].as_f64().unwrap();
    let want = (ss / df as f64).sqrt();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // p99 = 2 × p50 in every run: the same relative spread.
    let got99 = rr["p99"]["pooled_cv"].as_f64().unwrap();
    assert!((got99 - want).abs() < 1e-12, "{got99} vs {want}");
}
