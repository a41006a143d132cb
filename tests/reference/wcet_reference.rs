//! WCET statistics against independent references: statsmodels (Ljung–Box, runs, KPSS),
//! scipy (ks_2samp, genextreme/genpareto fit, isf, logpdf, cramervonmises,
//! goodness_of_fit), lmoments3 (GEV PWM) and the Hosking–Wallis GPD PWM formulas.

use crate::common;

use adasval::wcet::gev::Gev;
use adasval::wcet::gof;
use adasval::wcet::gpd::Gpd;
use adasval::wcet::iid;
use adasval::wcet::models::{self, Dist};
use adasval::wcet::rng::Rng;
use serde_json::{json, Value};

fn reference(req: Value) -> Option<Value> {
    let py = common::python_with(&["scipy", "statsmodels", "lmoments3"])?;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("req.json");
    std::fs::write(&path, req.to_string()).expect("write request");
    let script = common::repo_root().join("tests/py/wcet_reference.py");
    let out = std::process::Command::new(py)
        .arg(script)
        .arg(&path)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("reference JSON"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)
}

fn ar1(n: usize, phi: f64, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    let mut x = 0.0;
    (0..n)
        .map(|_| {
            x = phi * x + r.normal();
            10.0 + x
        })
        .collect()
}

fn gev_frames(n: usize, g: Gev, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| g.sample(r.uniform())).collect()
}

#[test]
fn precondition_statistics_match_statsmodels_and_scipy() {
    let mut drift = gev_frames(
        700,
        Gev {
            shape: -0.1,
            location: 5.0,
            scale: 0.3,
        },
        3,
    );
    for (i, v) in drift.iter_mut().enumerate() {
        *v += i as f64 * 1e-3;
    }
    // rounded values create ties, as real timers do
    let ties: Vec<f64> = gev_frames(
        900,
        Gev {
            shape: 0.1,
            location: 1.0,
            scale: 0.2,
        },
        4,
    )
    .iter()
    .map(|v| (v * 20.0).round() / 20.0)
    .collect();
    let sets = vec![
        (
            "iid",
            gev_frames(
                600,
                Gev {
                    shape: -0.2,
                    location: 10.0,
                    scale: 1.0,
                },
                1,
            ),
        ),
        ("ar1", ar1(500, 0.8, 2)),
        ("drift", drift),
        ("ties", ties),
        (
            "small",
            gev_frames(
                41,
                Gev {
                    shape: 0.0,
                    location: 0.0,
                    scale: 1.0,
                },
                5,
            ),
        ),
    ];
    for (name, x) in sets {
        let Some(r) = reference(json!({"op": "iid", "data": x, "lags": 20})) else {
            return;
        };
        let (q, pq) = iid::ljung_box(&x, 20);
        assert!(
            rel_close(q, f(&r["ljung_box"][0]), 1e-6),
            "{name} LB {q} vs {}",
            r["ljung_box"][0]
        );
        assert!(
            rel_close(pq, f(&r["ljung_box"][1]), 1e-6)
                || (pq < 1e-300 && f(&r["ljung_box"][1]) < 1e-300),
            "{name} LB p {pq} vs {}",
            r["ljung_box"][1]
        );
        // the dependent route's effective-sample-size rule rests on this estimate of rho
        let rho = iid::lag1_autocorrelation(&x).expect("a non-constant trace has a rho");
        assert!(
            (rho - f(&r["acf1"])).abs() < 1e-10,
            "{name} lag-1 autocorrelation {rho} vs statsmodels {}",
            r["acf1"]
        );
        let (z, pz) = iid::runs_test(&x);
        assert!(
            rel_close(z, f(&r["runs"][0]), 1e-6),
            "{name} runs {z} vs {}",
            r["runs"][0]
        );
        assert!(
            rel_close(pz, f(&r["runs"][1]), 1e-6),
            "{name} runs p {pz} vs {}",
            r["runs"][1]
        );
        let h = x.len() / 2;
        let ks = iid::ks_two_sample(&x[..h], &x[h..]);
        assert!(
            rel_close(ks.statistic, f(&r["ks"][0]), 1e-9),
            "{name} KS {} vs {}",
            ks.statistic,
            r["ks"][0]
        );
        assert!(
            rel_close(ks.p_value, f(&r["ks"][1]), 1e-6),
            "{name} KS p {} vs {}",
            ks.p_value,
            r["ks"][1]
        );
        let (k, pk, kl) = iid::kpss(&x);
        assert!(
            rel_close(k, f(&r["kpss"][0]), 1e-6),
            "{name} KPSS {k} vs {}",
            r["kpss"][0]
        );
        assert!(
            (pk - f(&r["kpss"][1])).abs() < 1e-12,
            "{name} KPSS p {pk} vs {}",
            r["kpss"][1]
        );
        assert_eq!(
            kl as i64,
            r["kpss"][2].as_i64().unwrap_or(-1),
            "{name} KPSS lags"
        );
    }
}

#[test]
fn ks_exact_p_values_match_scipy_for_unequal_and_tiny_p() {
    let a = gev_frames(
        37,
        Gev {
            shape: 0.0,
            location: 0.0,
            scale: 1.0,
        },
        10,
    );
    let b = gev_frames(
        53,
        Gev {
            shape: 0.0,
            location: 0.4,
            scale: 1.0,
        },
        11,
    );
    let c = gev_frames(
        300,
        Gev {
            shape: 0.0,
            location: 1.2,
            scale: 1.0,
        },
        12,
    );
    for (x, y) in [(&a, &b), (&b, &a), (&a, &c)] {
        let Some(r) = reference(json!({"op": "ks", "a": x, "b": y, "method": "exact"})) else {
            return;
        };
        let ks = iid::ks_two_sample(x, y);
        assert!(ks.exact);
        assert!(rel_close(ks.statistic, f(&r["statistic"]), 1e-12));
        assert!(
            rel_close(ks.p_value, f(&r["p_value"]), 1e-6),
            "{} vs {}",
            ks.p_value,
            r["p_value"]
        );
    }
}

/// pWCET at 1e-6 per frame on blocks of 50, as the block probability scipy's isf takes.
fn block_p(p: f64, b: f64) -> f64 {
    -(b * (-p).ln_1p()).exp_m1()
}

#[test]
fn gev_fits_match_scipy_and_lmoments3() {
    let cases = [
        (
            Gev {
                shape: -0.25,
                location: 10.0,
                scale: 1.0,
            },
            120,
            21u64,
        ),
        (
            Gev {
                shape: -0.05,
                location: 3.0,
                scale: 0.2,
            },
            400,
            22,
        ),
        (
            Gev {
                shape: 0.15,
                location: 0.5,
                scale: 0.05,
            },
            250,
            23,
        ),
    ];
    let probs = [1e-3, 1e-6, 1e-9, 1e-12];
    let pb: Vec<f64> = probs.iter().map(|&p| block_p(p, 50.0)).collect();
    for (g, n, seed) in cases {
        let x = gev_frames(n, g, seed);
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        let (mle, _) = models::gev_mle(&sorted).expect("mle");
        let pwm = models::gev_pwm(&sorted).expect("pwm");
        let req = json!({"op": "gev", "data": x, "block_probabilities": pb, "params": [mle.shape, mle.location, mle.scale]});
        let Some(r) = reference(req) else { return };
        // our optimum is at least as likely as scipy's (scipy evaluates both)
        let ours = f(&r["at_params"]["loglik"]);
        let theirs = f(&r["mle"]["loglik"]);
        assert!(
            ours >= theirs - 1e-6 * theirs.abs().max(1.0),
            "loglik {ours} < scipy {theirs}"
        );
        // our loglik and isf agree with scipy's logpdf / isf at our parameters
        assert!(rel_close(models::gev_loglik(&mle, &sorted), ours, 1e-9));
        let dist = Dist::Gev {
            gev: mle,
            block_size: 50,
            theta: 1.0,
        };
        for (k, &p) in probs.iter().enumerate() {
            let v = dist.pwcet(p).expect("value");
            assert!(
                rel_close(v, f(&r["at_params"]["isf"][k]), 1e-9),
                "isf p={p}: {v} vs {}",
                r["at_params"]["isf"][k]
            );
        }
        // MLE pWCET at 1e-6 within 1% of scipy's fit
        let v6 = dist.pwcet(1e-6).expect("value");
        let s6 = f(&r["mle"]["isf"][1]);
        assert!(
            rel_close(v6, s6, 0.01),
            "pWCET 1e-6 {v6} vs scipy {s6} (xi {} vs {})",
            mle.shape,
            r["mle"]["xi"]
        );
        // PWM within 1e-3 of lmoments3 (absolute for xi, relative for location and scale)
        assert!(
            (pwm.shape - f(&r["pwm"]["xi"])).abs() < 1e-3,
            "pwm xi {} vs {}",
            pwm.shape,
            r["pwm"]["xi"]
        );
        assert!(rel_close(pwm.location, f(&r["pwm"]["loc"]), 1e-3));
        assert!(rel_close(pwm.scale, f(&r["pwm"]["scale"]), 1e-3));
    }
}

#[test]
fn gpd_fits_match_scipy_and_hosking_wallis() {
    let cases = [
        (
            Gpd {
                shape: -0.2,
                scale: 1.0,
            },
            150,
            31u64,
        ),
        (
            Gpd {
                shape: 0.0,
                scale: 0.3,
            },
            500,
            32,
        ),
        (
            Gpd {
                shape: 0.2,
                scale: 2.0,
            },
            300,
            33,
        ),
    ];
    let rate = 0.05;
    let probs = [1e-3, 1e-6, 1e-9, 1e-12];
    let pc: Vec<f64> = probs.iter().map(|&p| p / rate).collect();
    for (g, n, seed) in cases {
        let mut r = Rng::new(seed);
        let mut y: Vec<f64> = (0..n).map(|_| g.sample(r.uniform())).collect();
        y.sort_by(f64::total_cmp);
        let (mle, _) = models::gpd_mle(&y).expect("mle");
        let pwm = models::gpd_pwm(&y).expect("pwm");
        let req = json!({"op": "gpd", "data": y, "conditional_probabilities": pc, "params": [mle.shape, mle.scale]});
        let Some(rf) = reference(req) else { return };
        let ours = f(&rf["at_params"]["loglik"]);
        let theirs = f(&rf["mle"]["loglik"]);
        assert!(
            ours >= theirs - 1e-6 * theirs.abs().max(1.0),
            "loglik {ours} < scipy {theirs}"
        );
        assert!(rel_close(models::gpd_loglik(&mle, &y), ours, 1e-9));
        let dist = Dist::Gpd {
            gpd: mle,
            threshold: 7.0,
            rate,
        };
        for (k, &p) in probs.iter().enumerate() {
            let v = dist.pwcet(p).expect("value") - 7.0;
            assert!(
                rel_close(v, f(&rf["at_params"]["isf"][k]), 1e-9),
                "isf p={p}: {v} vs {}",
                rf["at_params"]["isf"][k]
            );
        }
        let v6 = dist.pwcet(1e-6).expect("value") - 7.0;
        assert!(
            rel_close(v6, f(&rf["mle"]["isf"][1]), 0.01),
            "pWCET excess {v6} vs {}",
            rf["mle"]["isf"][1]
        );
        assert!(
            (pwm.shape - f(&rf["pwm"]["xi"])).abs() < 1e-3,
            "pwm xi {} vs {}",
            pwm.shape,
            rf["pwm"]["xi"]
        );
        assert!(rel_close(pwm.scale, f(&rf["pwm"]["scale"]), 1e-3));
    }
}

#[test]
fn gof_statistics_match_scipy() {
    let g = Gev {
        shape: -0.15,
        location: 2.0,
        scale: 0.4,
    };
    let mut x = gev_frames(80, g, 41);
    x.sort_by(f64::total_cmp);
    let (ad, cvm) = gof::statistics(
        &Dist::Gev {
            gev: g,
            block_size: 1,
            theta: 1.0,
        },
        &x,
    );
    let Some(r) = reference(
        json!({"op": "gof", "dist": "gev", "data": x, "params": [g.shape, g.location, g.scale]}),
    ) else {
        return;
    };
    assert!(rel_close(ad, f(&r["ad"]), 1e-6), "AD {ad} vs {}", r["ad"]);
    assert!(
        rel_close(cvm, f(&r["cvm"]), 1e-6),
        "CvM {cvm} vs {}",
        r["cvm"]
    );
    let p = Gpd {
        shape: 0.1,
        scale: 1.5,
    };
    let mut rr = Rng::new(42);
    let mut y: Vec<f64> = (0..120).map(|_| p.sample(rr.uniform())).collect();
    y.sort_by(f64::total_cmp);
    let (ad, cvm) = gof::statistics(
        &Dist::Gpd {
            gpd: p,
            threshold: 0.0,
            rate: 1.0,
        },
        &y,
    );
    let Some(r) =
        reference(json!({"op": "gof", "dist": "gpd", "data": y, "params": [p.shape, p.scale]}))
    else {
        return;
    };
    assert!(rel_close(ad, f(&r["ad"]), 1e-6), "AD {ad} vs {}", r["ad"]);
    assert!(
        rel_close(cvm, f(&r["cvm"]), 1e-6),
        "CvM {cvm} vs {}",
        r["cvm"]
    );
}

#[test]
fn gof_bootstrap_p_values_agree_with_scipy_goodness_of_fit() {
    // a good fit and a poor one (GEV fitted to data from a two-component mixture)
    let good = gev_frames(
        70,
        Gev {
            shape: -0.1,
            location: 5.0,
            scale: 1.0,
        },
        51,
    );
    let mut bad = gev_frames(
        45,
        Gev {
            shape: -0.3,
            location: 5.0,
            scale: 0.2,
        },
        52,
    );
    bad.extend(gev_frames(
        30,
        Gev {
            shape: -0.3,
            location: 8.0,
            scale: 0.2,
        },
        53,
    ));
    for x in [good, bad] {
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        let data = models::TailData {
            n: sorted.len(),
            block_size: 1,
            maxima: x.clone(),
            maxima_sorted: sorted.clone(),
            theta: 1.0,
            threshold: 0.0,
            threshold_quantile: 0.5,
            excesses_sorted: vec![],
        };
        let fit = models::fit(&data, models::Method::GevBm, models::Estimator::Mle).expect("fit");
        let ours = gof::goodness_of_fit(&fit, &sorted, 400, 7, 1);
        let Dist::Gev { gev, .. } = fit.dist else {
            unreachable!()
        };
        let Some(r) = reference(
            json!({"op": "gof", "dist": "gev", "data": sorted, "params": [gev.shape, gev.location, gev.scale], "bootstrap": 300}),
        ) else {
            return;
        };
        for (k, name) in [(0, "ad"), (1, "cvm")] {
            let theirs = f(&r["p_values"][name]);
            // Monte Carlo error of independent 400- and 300-resample p-values (SD of the difference < 0.04)
            assert!(
                (ours[k].p_value - theirs).abs() < 0.1,
                "{name}: ours {} vs scipy {theirs}",
                ours[k].p_value
            );
        }
    }
}

#[test]
fn change_point_statistic_matches_a_scipy_reimplementation() {
    let mut shifted = ar1(3000, 0.6, 7);
    for v in shifted.iter_mut().skip(1800) {
        *v += 0.4;
    }
    for (name, x) in [
        ("ar1", ar1(2500, 0.7, 5)),
        ("shifted", shifted),
        (
            "gev",
            gev_frames(
                2000,
                Gev {
                    shape: 0.2,
                    location: 3.0,
                    scale: 0.5,
                },
                6,
            ),
        ),
    ] {
        let Some(r) = reference(json!({"op": "cusum", "data": x})) else {
            return;
        };
        let c = adasval::wcet::changepoint::cusum_ranks(&x, 0.01).expect("tested");
        assert!(
            rel_close(c.statistic, f(&r["statistic"]), 1e-9),
            "{name}: {c:?} vs {r}"
        );
        assert!(
            rel_close(c.p_value, f(&r["p_value"]), 1e-6),
            "{name}: {c:?} vs {r}"
        );
        assert_eq!(c.frame as u64, r["frame"].as_u64().unwrap_or(0), "{name}");
        assert!(rel_close(c.ar1, f(&r["ar1"]), 1e-9), "{name}");
    }
}

/// The shape floor's ξ = 0 counterparts (Gumbel by L-moments of the block maxima,
/// exponential of the threshold excesses) against lmoments3 and scipy, both as library
/// functions and as recorded by `analyse` for i.i.d. Gaussian traces (fitted ξ < 0).
#[test]
fn shape_floor_counterparts_match_lmoments3_and_scipy() {
    use adasval::wcet::shape_floor;
    use adasval::wcet::{analyse, Verdict, WcetSettings};
    let probs = [1e-3, 1e-6, 1e-9];
    let pb: Vec<f64> = probs.iter().map(|&p| block_p(p, 50.0)).collect();
    let s = WcetSettings {
        resamples: 200,
        gof_resamples: 50,
        probabilities: probs.to_vec(),
        // 1e-9 lies beyond the extrapolation limit of 10^4 frames: print it to check it
        extrapolate: true,
        ..WcetSettings::default()
    };
    let mut floored = 0;
    for seed in 31..36u64 {
        let mut r = Rng::new(seed);
        let x: Vec<f64> = (0..10_000).map(|_| 20.0 + r.normal()).collect();
        let a = analyse(&x, &s).expect("analysis");
        assert_eq!(a.verdict, Verdict::Pwcet, "seed {seed}: {:?}", a.reasons);
        let maxima = models::block_maxima(&x, 50);
        let mut sorted_max = maxima.clone();
        sorted_max.sort_by(f64::total_cmp);
        let th = a.threshold.as_ref().expect("threshold").value;
        let excesses = models::excesses(&x, th);
        let req = json!({"op": "floor", "maxima": maxima, "block_probabilities": pb,
                         "excesses": excesses, "conditional_probabilities":
                         probs.iter().map(|p| p / 0.05).collect::<Vec<_>>()});
        let Some(rf) = reference(req) else { return };
        // library functions
        let g = shape_floor::gumbel_lmoments(&sorted_max).expect("gumbel");
        assert!(
            rel_close(g.location, f(&rf["gumbel"]["loc"]), 1e-9),
            "{g:?} vs {rf}"
        );
        assert!(
            rel_close(g.scale, f(&rf["gumbel"]["scale"]), 1e-9),
            "{g:?} vs {rf}"
        );
        let gd = Dist::Gev {
            gev: g,
            block_size: 50,
            theta: 1.0,
        };
        for (k, &p) in probs.iter().enumerate() {
            let v = gd.pwcet(p).expect("value");
            assert!(
                rel_close(v, f(&rf["gumbel"]["isf"][k]), 1e-9),
                "p={p}: {v} vs {rf}"
            );
        }
        let e = shape_floor::exponential_excesses(&excesses).expect("exponential");
        assert!(rel_close(e.scale, f(&rf["exponential"]["scale"]), 1e-9));
        for (k, &p) in probs.iter().enumerate() {
            let v = e.isf(p / 0.05);
            assert!(rel_close(v, f(&rf["exponential"]["isf"][k]), 1e-9));
        }
        // what the analysis recorded and used
        let Some(fl) = &a.shape_floor else { continue };
        floored += 1;
        let sel = a.selected.as_ref().expect("selected");
        let (loc, scale) = match fl.counterpart.as_str() {
            "gumbel" => (f(&rf["gumbel"]["loc"]), f(&rf["gumbel"]["scale"])),
            _ => (th, f(&rf["exponential"]["scale"])),
        };
        assert!(
            rel_close(fl.location, loc, 1e-9) && rel_close(fl.scale, scale, 1e-9),
            "seed {seed}: {fl:?} vs {rf}"
        );
        assert!(fl.selected_shape < 0.0);
        for &p in &fl.raised {
            let row = a
                .pwcet
                .iter()
                .find(|r| {
                    r.method == sel.method
                        && r.estimator == sel.estimator
                        && r.exceedance_probability == p
                })
                .expect("row");
            // a raised upper limit lies above both the model's and the counterpart's point
            let hi = row.ci_high.expect("upper bound");
            assert!(hi >= row.value.expect("value"), "seed {seed} p={p}");
            if fl.counterpart == "gumbel" {
                let k = probs.iter().position(|&q| q == p).expect("requested");
                assert!(hi >= f(&rf["gumbel"]["isf"][k]), "seed {seed} p={p}");
            }
        }
    }
    // 50-frame maxima of Gaussian frames fit ξ < 0 (pre-asymptotic): the floor is exercised
    assert!(
        floored >= 3,
        "the floor applied to {floored} of 5 Gaussian traces"
    );
}
