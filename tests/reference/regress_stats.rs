//! Regression statistics against scipy and statsmodels, and the `diff` gate end to end.

use crate::common;
use common::*;

use adasval::regress::stats::{bootstrap_quantile_diff, mann_whitney, newcomb_diff};

use crate::common::latency_sample as sample;

#[test]
fn mann_whitney_and_newcomb_match_references() {
    let Some(py) = python_with(&["scipy", "statsmodels"]) else {
        return;
    };
    let mut mw = Vec::new();
    for (i, (n1, n2, shift, round)) in [
        (30, 40, 0.0, false),
        (200, 150, 0.2, true),
        (1000, 1000, 0.05, true),
        (5, 7, 1.0, false),
    ]
    .into_iter()
    .enumerate()
    {
        mw.push((
            sample(i as u64, n1, 0.0, round),
            sample(100 + i as u64, n2, shift, round),
        ));
    }
    let nc = vec![
        (56u64, 70u64, 48u64, 80u64),
        (5, 10, 9, 10),
        (0, 20, 3, 25),
        (100, 100, 95, 100),
    ];
    let req = serde_json::json!({ "mw": mw, "newcomb": nc });
    let mut child = std::process::Command::new(py)
        .arg(repo_root().join("tests/py/regress_reference.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (i, (x, y)) in mw.iter().enumerate() {
        let ours = mann_whitney(x, y).unwrap();
        let (u, p) = (
            r["mw"][i][0].as_f64().unwrap(),
            r["mw"][i][1].as_f64().unwrap(),
        );
        assert!(
            (ours.u - u).abs() <= 1e-9 * u.max(1.0),
            "U {} vs {u}",
            ours.u
        );
        assert!(
            (ours.p_value - p).abs() <= 1e-6 * p.max(1e-12) + 1e-12,
            "p {} vs {p}",
            ours.p_value
        );
    }
    for (i, &(k1, n1, k2, n2)) in nc.iter().enumerate() {
        let (lo, hi) = newcomb_diff(k1, n1, k2, n2, 0.95).unwrap();
        let (rl, rh) = (
            r["newcomb"][i][0].as_f64().unwrap(),
            r["newcomb"][i][1].as_f64().unwrap(),
        );
        assert!(
            (lo - rl).abs() < 1e-6 && (hi - rh).abs() < 1e-6,
            "({lo}, {hi}) vs ({rl}, {rh})"
        );
    }
}

#[test]
fn bootstrap_interval_covers_a_known_shift() {
    let x = sample(1, 2000, 0.0, false);
    let y = sample(2, 2000, 0.5, false);
    let (d, lo, hi) = bootstrap_quantile_diff(&x, &y, 0.5, 500, 0.95, 7).unwrap();
    assert!(lo <= d && d <= hi);
    assert!(
        lo < 0.5 && 0.5 < hi,
        "[{lo}, {hi}] should cover the true shift 0.5"
    );
    // Same seed, same interval.
    assert_eq!(
        bootstrap_quantile_diff(&x, &y, 0.5, 500, 0.95, 7).unwrap(),
        (d, lo, hi)
    );
}

#[test]
fn diff_gate_on_noop_runs() {
    let d = noop_project();
    let replay = |extra: &[&str]| {
        let (code, out, err) = run(adasval()
            .current_dir(d.path())
            .args(["validate", "--backend", "noop", "--repetitions", "200"])
            .args(extra));
        assert!(code == 0, "{out}{err}");
        d.path().join(out.trim())
    };
    let a = replay(&[]);
    let b = replay(&["--seed", "2"]);
    // The no-op backend's latencies are noise around the same value: no regression.
    let (code, out, err) = run(adasval()
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .args(["--format", "json"]));
    assert!(code == 0 || code == 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["what"] == "decision flips"));
    // A doctored baseline is refused with exit 3 before any statistic is computed.
    let csv = a.join("latencies.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text.replacen(",0,", ",1,", 1)).unwrap();
    let (code, _o, e) = run(adasval().arg("diff").arg(&a).arg(&b));
    assert_eq!(code, 3, "{e}");
}
