//! The sweep's stability statistics against scipy: Kruskal–Wallis H and p-value.

use crate::common;
use common::*;

use adasval::sweep::kruskal_wallis;

use crate::common::latency_sample as sample;

#[test]
fn kruskal_wallis_matches_scipy() {
    let Some(py) = python_with(&["scipy"]) else {
        return;
    };
    // (group sizes, shift of each group, rounded)
    let shapes: Vec<(Vec<usize>, Vec<f64>, bool)> = vec![
        (vec![30, 40], vec![0.0, 0.0], false),
        (vec![50, 50, 50], vec![0.0, 0.1, 0.3], true),
        (vec![200, 150, 180, 220, 100], vec![0.0; 5], true),
        (vec![5, 7, 3], vec![0.0, 1.0, 2.0], false),
        (vec![1000, 1000, 1000], vec![0.0, 0.02, 0.05], true),
        (vec![20, 20], vec![0.0, 5.0], true),
    ];
    let cases: Vec<Vec<Vec<f64>>> = shapes
        .iter()
        .enumerate()
        .map(|(i, (sizes, shifts, round))| {
            sizes
                .iter()
                .zip(shifts)
                .enumerate()
                .map(|(k, (&n, &s))| sample(1000 * i as u64 + k as u64, n, s, *round))
                .collect()
        })
        .collect();
    let req = serde_json::json!({ "cases": cases });
    let r: serde_json::Value =
        serde_json::from_value(python_reference(&py, "tests/py/kruskal_reference.py", &req))
            .unwrap();
    let mut small_p = false;
    for (i, groups) in cases.iter().enumerate() {
        let ours = kruskal_wallis(groups).unwrap();
        let (h, p) = (
            r["kw"][i][0].as_f64().unwrap(),
            r["kw"][i][1].as_f64().unwrap(),
        );
        assert_eq!(ours.df, groups.len() - 1);
        assert!(
            (ours.h - h).abs() <= 1e-9 * h.max(1.0),
            "case {i}: H {} vs scipy {h}",
            ours.h
        );
        assert!(
            (ours.p_value - p).abs() <= 1e-7 * p + 1e-14,
            "case {i}: p {} vs scipy {p}",
            ours.p_value
        );
        small_p |= p < 1e-6;
    }
    assert!(
        small_p,
        "the cases should include a clearly significant one"
    );
}
