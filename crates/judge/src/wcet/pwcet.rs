//! pWCET values and their bootstrap intervals. Probability conversions stay in log space
//! (ln_1p / exp_m1) so that 1e-12 per frame keeps its precision; the block and POT
//! conversions themselves live on [`Dist`].

use super::models::{refit_weighted, Dist, Fit, Method, TailData};
use super::rng::Rng;
use super::shape_floor;
use super::special::{normal_cdf, normal_quantile, quantile_sorted, sorted_copy};
use rayon::prelude::*;

/// Per-frame exceedance probability equivalent to `per_hour` at `fps` frames per second:
/// 1 - (1 - P)^(1 / (3600 fps)).
pub fn per_hour_to_frame(per_hour: f64, fps: f64) -> f64 {
    -((-per_hour).ln_1p() / (3600.0 * fps)).exp_m1()
}

/// Bootstrap replicates of the pWCET at each probability (rows: probabilities).
#[derive(Debug, Clone)]
pub struct BootstrapOutcome {
    /// (low, high) per probability, NaN where no resample produced a value.
    pub intervals: Vec<(f64, f64)>,
    pub resamples: usize,
    pub failed: usize,
}

/// Groups of the delete-a-group jackknife that estimates the BCa acceleration.
pub const JACKKNIFE_GROUPS: usize = 20;

/// BCa interval (Efron 1987) from sorted replicates, the point estimate and jackknife values.
fn bca(reps: &[f64], point: f64, jack: &[f64], confidence: f64) -> (f64, f64) {
    let b = reps.len() as f64;
    let below = reps.iter().filter(|&&q| q < point).count() as f64;
    let ties = reps.iter().filter(|&&q| q == point).count() as f64;
    let frac = ((below + 0.5 * ties) / b).clamp(1.0 / (b + 1.0), b / (b + 1.0));
    let z0 = normal_quantile(frac);
    let acc = if jack.len() >= 3 {
        let mean = jack.iter().sum::<f64>() / jack.len() as f64;
        let num: f64 = jack.iter().map(|t| (mean - t).powi(3)).sum();
        let den: f64 = jack
            .iter()
            .map(|t| (mean - t).powi(2))
            .sum::<f64>()
            .powf(1.5);
        if den > 0.0 {
            num / (6.0 * den)
        } else {
            0.0
        }
    } else {
        0.0
    };
    let adj = |z: f64| normal_cdf(z0 + (z0 + z) / (1.0 - acc * (z0 + z)));
    let a = (1.0 - confidence) / 2.0;
    (
        quantile_sorted(reps, adj(normal_quantile(a))),
        quantile_sorted(reps, adj(normal_quantile(1.0 - a))),
    )
}

/// Model input of `fit` (sorted maxima or excesses) and its random stream id.
fn model_input<'a>(fit: &Fit, data: &'a TailData) -> (&'a [f64], u64) {
    match fit.method {
        Method::GevBm => (&data.maxima_sorted, 11u64),
        Method::GpdPot => (&data.excesses_sorted, 12u64),
    }
}

/// Resample `b`: multiplicities over the sorted model input and its POT rate (None when
/// too few values were drawn). GEV: the maxima drawn with replacement; GPD: Binomial(n,
/// rate) excesses drawn from the observed ones.
fn resample_counts(fit: &Fit, data: &TailData, b: usize, seed: u64) -> Option<(Vec<usize>, f64)> {
    let (sorted, stream) = model_input(fit, data);
    let m = sorted.len();
    let mut rng = Rng::stream(seed, stream, b as u64);
    let (k, rate) = match fit.dist {
        Dist::Gev { .. } => (m, 0.0),
        Dist::Gpd { rate, .. } => {
            let k = rng.binomial(data.n, rate);
            (k, k as f64 / data.n as f64)
        }
    };
    if k < 3 {
        return None;
    }
    let mut counts = vec![0usize; m];
    for _ in 0..k {
        counts[rng.below(m)] += 1;
    }
    Some((counts, rate))
}

/// Multiplicities of jackknife group `g` (groups interleaved over the sorted input).
fn jackknife_counts(m: usize, g: usize) -> Vec<usize> {
    (0..m)
        .map(|i| usize::from(i % JACKKNIFE_GROUPS != g))
        .collect()
}

fn values_at(d: &Dist, probs: &[f64]) -> Vec<f64> {
    // NaN marks a probability the resample cannot answer (above a POT rate)
    probs
        .iter()
        .map(|&p| d.pwcet(p).unwrap_or(f64::NAN))
        .collect()
}

/// BCa intervals per probability from replicate rows, jackknife rows and the point model.
fn bca_columns(
    ok: &[Vec<f64>],
    jack: &[Vec<f64>],
    point: &Dist,
    probs: &[f64],
    confidence: f64,
) -> Vec<(f64, f64)> {
    probs
        .iter()
        .enumerate()
        .map(|(j, &p)| {
            let col = sorted_copy(
                &ok.iter()
                    .map(|r| r[j])
                    .filter(|v| v.is_finite())
                    .collect::<Vec<_>>(),
            );
            match point.pwcet(p) {
                Some(pt) if !col.is_empty() => {
                    let jk: Vec<f64> = jack
                        .iter()
                        .map(|r| r[j])
                        .filter(|v| v.is_finite())
                        .collect();
                    bca(&col, pt, &jk, confidence)
                }
                _ => (f64::NAN, f64::NAN),
            }
        })
        .collect()
}

/// The quantiles at `probs` of a model refitted (by `refit`: the sorted input, per-point
/// counts, the exceedance rate) to every bootstrap resample that refits, and to every
/// delete-a-group jackknife sample (for the BCa acceleration). Each resample has its own
/// seeded stream, so the selected fit and its ξ = 0 counterpart see the same resamples.
fn replicates<F>(
    fit: &Fit,
    data: &TailData,
    probs: &[f64],
    resamples: usize,
    seed: u64,
    refit: F,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>)
where
    F: Fn(&[f64], &[usize], f64) -> Option<Dist> + Sync,
{
    let (sorted, _) = model_input(fit, data);
    let rate = match fit.dist {
        Dist::Gpd { rate, .. } => rate,
        Dist::Gev { .. } => 0.0,
    };
    let ok = (0..resamples)
        .into_par_iter()
        .filter_map(|b| {
            let (counts, rate) = resample_counts(fit, data, b, seed)?;
            Some(values_at(&refit(sorted, &counts, rate)?, probs))
        })
        .collect();
    let jack = (0..JACKKNIFE_GROUPS)
        .into_par_iter()
        .filter_map(|g| {
            let counts = jackknife_counts(sorted.len(), g);
            Some(values_at(&refit(sorted, &counts, rate)?, probs))
        })
        .collect();
    (ok, jack)
}

/// Nonparametric bootstrap of the selected fit, BCa intervals. GEV: resample block maxima. GPD: the
/// number of excesses over the fixed threshold is Binomial(n, rate), the excesses are
/// resampled from the observed ones (equivalent to resampling frames with the threshold held).
/// Each resample has its own seeded stream, so results do not depend on the thread count.
pub fn bootstrap(
    fit: &Fit,
    data: &TailData,
    probs: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> BootstrapOutcome {
    let (ok, jack) = replicates(fit, data, probs, resamples, seed, |sorted, counts, rate| {
        refit_weighted(fit, sorted, counts, rate)
    });
    BootstrapOutcome {
        intervals: bca_columns(&ok, &jack, &fit.dist, probs, confidence),
        resamples,
        failed: resamples - ok.len(),
    }
}

/// BCa intervals of the ξ = 0 counterpart of the selected fit ([`shape_floor`]), from the
/// same resamples as [`bootstrap`] (same streams), with the counterpart fitted to the whole
/// input as the point; None when the counterpart cannot be fitted.
pub fn counterpart_bootstrap(
    fit: &Fit,
    data: &TailData,
    probs: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<(Dist, Vec<(f64, f64)>)> {
    let (sorted, _) = model_input(fit, data);
    let point = shape_floor::counterpart(&fit.dist, sorted)?;
    let (ok, jack) = replicates(fit, data, probs, resamples, seed, |sorted, counts, rate| {
        shape_floor::counterpart_weighted(&fit.dist, sorted, counts, rate)
    });
    Some((point, bca_columns(&ok, &jack, &point, probs, confidence)))
}
