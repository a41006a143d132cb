//! Goodness of fit of a fitted tail model: Anderson–Darling and Cramér–von Mises
//! statistics, with p-values from a parametric bootstrap that refits every simulated
//! sample with the same estimator (the parameters come from the data being tested, so
//! the textbook tables for a fully specified law would be too lenient).

use super::models::{refit_plain, Dist, Fit};
use super::rng::Rng;
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct GofResult {
    /// "anderson-darling" | "cramer-von-mises"
    pub name: String,
    pub statistic: f64,
    pub p_value: f64,
    pub resamples: usize,
}

/// (ln F(x), ln(1 - F(x))) of the model input (block maximum or excess) under `dist`.
fn ln_cdf_sf(dist: &Dist, x: f64) -> (f64, f64) {
    match dist {
        Dist::Gev { gev, .. } => {
            let h = gev.neg_ln_cdf(x);
            (-h, (-(-h).exp_m1()).ln())
        }
        Dist::Gpd { gpd, .. } => {
            let s = gpd.sf(x);
            ((-s).ln_1p(), s.ln())
        }
    }
}

/// Anderson–Darling A^2 and Cramér–von Mises W^2 of ascending-sorted data.
pub fn statistics(dist: &Dist, sorted: &[f64]) -> (f64, f64) {
    let n = sorted.len();
    let nf = n as f64;
    let lv: Vec<(f64, f64)> = sorted.iter().map(|&x| ln_cdf_sf(dist, x)).collect();
    let mut ad = 0.0;
    let mut cvm = 1.0 / (12.0 * nf);
    for i in 0..n {
        let k = (2 * i + 1) as f64;
        ad += k * (lv[i].0 + lv[n - 1 - i].1);
        let z = lv[i].0.exp();
        let d = z - k / (2.0 * nf);
        cvm += d * d;
    }
    let ad = -nf - ad / nf;
    (if ad.is_nan() { f64::INFINITY } else { ad }, cvm)
}

/// Simulates an ascending-sorted sample of the model input (maxima or excesses) from
/// `dist`. Uniform order statistics come from normalised exponential spacings
/// (U_(k) = S_k / S_(n+1)), which avoids sorting and is what makes the GOF bootstrap cheap.
fn simulate(dist: &Dist, n: usize, rng: &mut Rng) -> Vec<f64> {
    let mut cum = Vec::with_capacity(n + 1);
    let mut s = 0.0;
    for _ in 0..=n {
        s += -rng.uniform().ln();
        cum.push(s);
    }
    let total = s;
    let mut v = vec![0.0; n];
    for k in 0..n {
        let u = cum[k] / total;
        match dist {
            Dist::Gev { gev, .. } => v[k] = gev.sample(u),
            // the GPD sampler is decreasing in u: fill from the top
            Dist::Gpd { gpd, .. } => v[n - 1 - k] = gpd.sample(u),
        }
    }
    v
}

/// AD and CvM with parametric-bootstrap p-values (p = (1 + #{T* >= T}) / (B + 1)).
pub fn goodness_of_fit(
    fit: &Fit,
    sorted: &[f64],
    resamples: usize,
    seed: u64,
    stream: u64,
) -> Vec<GofResult> {
    let (ad, cvm) = statistics(&fit.dist, sorted);
    let n = sorted.len();
    let sims: Vec<Option<(f64, f64)>> = (0..resamples)
        .into_par_iter()
        .map(|b| {
            let mut rng = Rng::stream(seed, stream, b as u64);
            let sim = simulate(&fit.dist, n, &mut rng);
            let d = refit_plain(fit, &sim)?;
            Some(statistics(&d, &sim))
        })
        .collect();
    let ok: Vec<(f64, f64)> = sims.into_iter().flatten().collect();
    let b = ok.len();
    let p = |obs: f64, pick: fn(&(f64, f64)) -> f64| {
        if b == 0 {
            return f64::NAN;
        }
        (1 + ok.iter().filter(|s| pick(s) >= obs).count()) as f64 / (b + 1) as f64
    };
    vec![
        GofResult {
            name: "anderson-darling".into(),
            statistic: ad,
            p_value: p(ad, |s| s.0),
            resamples: b,
        },
        GofResult {
            name: "cramer-von-mises".into(),
            statistic: cvm,
            p_value: p(cvm, |s| s.1),
            resamples: b,
        },
    ]
}
