//! The reduced A/A and shift calibration of `diff` (bench/regress_calibration.py, no-op
//! part; the full figures and the CPU part are in docs/REGRESSION.md): fresh runs with
//! per-run offsets and per-frame noise, three runs per side.

use crate::common;
use common::*;

#[test]
fn aa_is_not_regressed_and_a_ten_percent_shift_is() {
    let Some(py) = python_with(&["json"]) else {
        return;
    };
    let (n_aa, n_shift) = (6, 6);
    let out = std::process::Command::new(py)
        .arg(repo_root().join("bench/regress_calibration.py"))
        .args(["--part", "noop", "--noop-reps", "100", "--seed", "7"])
        .args([
            "--aa",
            &n_aa.to_string(),
            "--shift-pairs",
            &n_shift.to_string(),
        ])
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_adasval"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
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
}
