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
    let r: serde_json::Value =
        serde_json::from_value(python_reference(&py, "tests/py/regress_reference.py", &req))
            .unwrap();
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

/// Per-unit statistics (e.g. each run's p50) of `n` runs: a run offset plus noise.
fn unit_stats(seed: u64, n: usize, level: f64) -> Vec<f64> {
    let noise = sample(seed, n, 0.0, false);
    noise.iter().map(|v| level + 0.1 * (v - 6.0)).collect()
}

#[test]
fn equivalence_test_matches_statsmodels_tost() {
    use adasval::regress::equivalence::{independent, paired, PriorVariance};
    let Some(py) = python_with(&["scipy", "statsmodels", "numpy"]) else {
        return;
    };
    // (baseline, candidate, margin, alpha, prior) for independent runs; the prior cases are
    // checked against the formula written out with scipy (statsmodels has no prior).
    let prior = PriorVariance::of_group(&unit_stats(50, 6, 10.0))
        + PriorVariance::of_group(&unit_stats(51, 4, 11.0));
    let ind = [
        (
            unit_stats(1, 3, 10.0),
            unit_stats(2, 3, 10.02),
            0.5,
            0.05,
            PriorVariance::default(),
        ),
        (
            unit_stats(3, 3, 10.0),
            unit_stats(4, 3, 11.0),
            0.5,
            0.05,
            PriorVariance::default(),
        ),
        (
            unit_stats(5, 5, 10.0),
            unit_stats(6, 2, 9.0),
            0.3,
            0.025,
            PriorVariance::default(),
        ),
        (
            unit_stats(7, 10, 4.0),
            unit_stats(8, 12, 4.1),
            0.2,
            0.05,
            PriorVariance::default(),
        ),
        (
            unit_stats(9, 1, 10.0),
            unit_stats(10, 1, 10.1),
            0.5,
            0.05,
            prior,
        ),
        (
            unit_stats(11, 3, 10.0),
            unit_stats(12, 2, 10.4),
            0.5,
            0.05,
            prior,
        ),
    ];
    let pairs = [
        (unit_stats(20, 8, 10.0), unit_stats(21, 8, 10.05), 0.5, 0.05),
        (unit_stats(22, 4, 10.0), unit_stats(23, 4, 11.0), 0.5, 0.05),
        (unit_stats(24, 20, 3.0), unit_stats(25, 20, 2.9), 0.15, 0.05),
    ];
    let req = serde_json::json!({
        "ind": ind.iter().map(|(b, c, m, a, p)| serde_json::json!([b, c, m, a, p.sum_squares, p.df])).collect::<Vec<_>>(),
        "paired": pairs.iter().map(|(b, c, m, a)| serde_json::json!([b, c, m, a])).collect::<Vec<_>>(),
    });
    let r: serde_json::Value = serde_json::from_value(python_reference(
        &py,
        "tests/py/equivalence_reference.py",
        &req,
    ))
    .unwrap();
    let close = |ours: f64, theirs: &serde_json::Value, what: &str| {
        let t = theirs.as_f64().unwrap();
        assert!(
            (ours - t).abs() <= 1e-7 * t.abs().max(1e-3),
            "{what}: ours {ours}, reference {t}"
        );
    };
    let mut verdicts = std::collections::BTreeSet::new();
    for (i, (b, c, m, a, p)) in ind.iter().enumerate() {
        let e = independent(b, c, *p, *m, *a).unwrap();
        close(e.p_equivalence, &r["ind"][i][0], &format!("ind {i} p"));
        close(e.ci.0, &r["ind"][i][1], &format!("ind {i} ci low"));
        close(e.ci.1, &r["ind"][i][2], &format!("ind {i} ci high"));
        // Equivalence at alpha exactly when the (1 − 2 alpha) interval is inside ±m.
        assert_eq!(
            e.p_equivalence < *a,
            e.ci.0 > -m && e.ci.1 < *m,
            "ind {i}: {e:?}"
        );
        verdicts.insert(format!("{:?}", e.verdict));
    }
    for (i, (b, c, m, a)) in pairs.iter().enumerate() {
        let e = paired(b, c, *m, *a).unwrap();
        close(
            e.p_equivalence,
            &r["paired"][i][0],
            &format!("paired {i} p"),
        );
        close(e.ci.0, &r["paired"][i][1], &format!("paired {i} ci low"));
        close(e.ci.1, &r["paired"][i][2], &format!("paired {i} ci high"));
        verdicts.insert(format!("{:?}", e.verdict));
    }
    // The cases reach more than one outcome, so the comparison covers the decision rule.
    assert!(verdicts.len() >= 3, "{verdicts:?}");
}
