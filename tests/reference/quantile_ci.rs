//! The replay's precision rule (`validate --p99-ci-width`) judges a percentile's
//! distribution-free confidence interval: it must be the interval scipy's `quantile_test`
//! gives for the same samples.

use crate::common;
use common::*;

use adasval_core::quantile_ci::quantile_bounds;

#[test]
fn percentile_interval_matches_scipy_quantile_test() {
    let Some(py) = python_with(&["scipy"]) else {
        return;
    };
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    let mut seed = 0u64;
    // Sizes around the smallest n that bounds a p99 from above at 95% (about 300), and large
    // ones where the binomial tail sums are long.
    for n in [20usize, 50, 298, 299, 300, 301, 1000, 4321, 20_000, 200_000] {
        for (p, conf) in [
            (0.99, 0.95),
            (0.5, 0.95),
            (0.9, 0.9),
            (0.999, 0.95),
            (0.99, 0.99),
        ] {
            seed += 1;
            let x = latency_sample(seed, n, 0.0, seed.is_multiple_of(2));
            let mut sorted = x.clone();
            sorted.sort_by(f64::total_cmp);
            let b = quantile_bounds(n, p, conf);
            ours.push((
                n,
                p,
                conf,
                b.low.map(|i| sorted[i]),
                b.high.map(|i| sorted[i]),
            ));
            cases.push(serde_json::json!({ "x": x, "p": p, "confidence": conf }));
        }
    }
    let req = serde_json::json!({ "cases": cases });
    let reference: Vec<(Option<f64>, Option<f64>)> = serde_json::from_value(python_reference(
        &py,
        "tests/py/quantile_ci_reference.py",
        &req,
    ))
    .unwrap();
    assert_eq!(reference.len(), ours.len());
    let mut bounded_high = 0;
    for ((n, p, conf, lo, hi), (rlo, rhi)) in ours.iter().zip(&reference) {
        // Equal up to the last digit JSON may round (serde_json parses without the
        // round-trip feature); neighbouring order statistics differ far more than that.
        let same = |a: &Option<f64>, b: &Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * a.abs().max(1.0),
            (None, None) => true,
            _ => false,
        };
        assert!(
            same(lo, rlo) && same(hi, rhi),
            "n = {n}, p = {p}, confidence = {conf}: adasval [{lo:?}, {hi:?}], scipy [{rlo:?}, {rhi:?}]"
        );
        bounded_high += hi.is_some() as usize;
    }
    // Both the open and the bounded cases were exercised.
    assert!(bounded_high > 0 && bounded_high < ours.len());
}
