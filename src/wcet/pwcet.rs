//! pWCET values and their bootstrap intervals. Probability conversions stay in log space
//! (ln_1p / exp_m1) so that 1e-12 per frame keeps its precision; the block and POT
//! conversions themselves live on [`Dist`].

use super::models::{refit_weighted, Dist, Fit, Method, TailData};
use super::rng::Rng;
use super::special::{quantile_sorted, sorted_copy};
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

/// Nonparametric bootstrap of the selected fit. GEV: resample block maxima. GPD: the
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
    let (sorted, stream) = match fit.method {
        Method::GevBm => (&data.maxima_sorted, 11u64),
        Method::GpdPot => (&data.excesses_sorted, 12u64),
    };
    let m = sorted.len();
    let reps: Vec<Option<Vec<f64>>> = (0..resamples)
        .into_par_iter()
        .map(|b| {
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
            let d = refit_weighted(fit, sorted, &counts, rate)?;
            let v: Vec<f64> = probs
                .iter()
                .map(|&p| d.pwcet(p).unwrap_or(f64::NAN))
                .collect();
            v.iter().all(|x| x.is_finite()).then_some(v)
        })
        .collect();
    let ok: Vec<Vec<f64>> = reps.into_iter().flatten().collect();
    let a = (1.0 - confidence) / 2.0;
    let intervals = (0..probs.len())
        .map(|j| {
            let col = sorted_copy(&ok.iter().map(|r| r[j]).collect::<Vec<_>>());
            if col.is_empty() {
                (f64::NAN, f64::NAN)
            } else {
                (quantile_sorted(&col, a), quantile_sorted(&col, 1.0 - a))
            }
        })
        .collect();
    BootstrapOutcome {
        intervals,
        resamples,
        failed: resamples - ok.len(),
    }
}
