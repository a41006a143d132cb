//! The Kruskal–Wallis test that decides whether `merge --pool-units` may pool the samples
//! of several units of one platform, against scipy.stats.kruskal: untied and heavily tied
//! latencies, equal and shifted units, two to five units of unequal sizes.

use crate::common;
use common::*;

use adasval::wcet::homogeneity::kruskal_wallis;

#[test]
fn kruskal_wallis_matches_scipy() {
    let Some(py) = python_with(&["scipy"]) else {
        return;
    };
    // (units: (seed, n, shift), rounded to 0.1 so that many values tie)
    type Unit = (u64, usize, f64);
    let specs: &[(&[Unit], bool)] = &[
        (&[(1, 30, 0.0), (2, 40, 0.0)], false),
        (&[(3, 200, 0.0), (4, 150, 0.3)], true),
        (&[(5, 50, 0.0), (6, 60, 0.1), (7, 70, 0.2)], true),
        (
            &[
                (8, 5, 0.0),
                (9, 7, 2.0),
                (10, 6, 0.0),
                (11, 9, 0.5),
                (12, 4, 0.0),
            ],
            false,
        ),
        (&[(13, 1000, 0.0), (14, 1000, 0.0), (15, 1000, 0.02)], true),
    ];
    let cases: Vec<Vec<Vec<f64>>> = specs
        .iter()
        .map(|(units, round)| {
            units
                .iter()
                .map(|&(seed, n, shift)| latency_sample(seed, n, shift, *round))
                .collect()
        })
        .collect();
    let req = serde_json::json!({ "cases": cases });
    let r: serde_json::Value = serde_json::from_value(python_reference(
        &py,
        "tests/py/homogeneity_reference.py",
        &req,
    ))
    .unwrap();
    let mut small_p = 0;
    for (i, groups) in cases.iter().enumerate() {
        let refs: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
        let ours = kruskal_wallis(&refs).unwrap();
        let (h, p) = (r[i][0].as_f64().unwrap(), r[i][1].as_f64().unwrap());
        assert!(
            (ours.statistic - h).abs() <= 1e-9 * h.max(1.0),
            "case {i}: H {} vs scipy {h}",
            ours.statistic
        );
        assert!(
            (ours.p_value - p).abs() <= 1e-9 + 1e-7 * p,
            "case {i}: p {} vs scipy {p}",
            ours.p_value
        );
        assert_eq!(ours.df, groups.len() - 1);
        if p < 0.05 {
            small_p += 1;
        }
    }
    // The cases span both decisions, so a test that always pools would be caught.
    assert!(small_p >= 1 && small_p < cases.len(), "{small_p}");
}
