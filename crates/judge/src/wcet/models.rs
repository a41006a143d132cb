//! Tail models fitted to the data the preconditions admitted: GEV on block maxima and
//! GPD on threshold excesses, each by PWM/L-moments and by maximum likelihood. Also the
//! warm-started refits used by the bootstrap and the convergence study.

use super::gev::{self, Gev};
use super::gpd::{self, Gpd};
use super::lmoments::{sample_lmoments, weighted_lmoments};
use super::mle::{bfgs, inverse_hessian, nelder_mead, Objective};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Method {
    #[serde(rename = "gev-bm")]
    GevBm,
    #[serde(rename = "gpd-pot")]
    GpdPot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Estimator {
    #[serde(rename = "pwm")]
    Pwm,
    #[serde(rename = "mle")]
    Mle,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::GevBm => "gev-bm",
            Method::GpdPot => "gpd-pot",
        })
    }
}
impl fmt::Display for Estimator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Estimator::Pwm => "pwm",
            Estimator::Mle => "mle",
        })
    }
}
impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gev-bm" => Ok(Method::GevBm),
            "gpd-pot" => Ok(Method::GpdPot),
            _ => Err(format!("unknown method `{s}` (gev-bm | gpd-pot)")),
        }
    }
}
impl FromStr for Estimator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pwm" => Ok(Estimator::Pwm),
            "mle" => Ok(Estimator::Mle),
            _ => Err(format!("unknown estimator `{s}` (pwm | mle)")),
        }
    }
}

/// A fitted tail law together with what turns it into per-frame probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// GEV of maxima of `block_size` consecutive frames; `theta` is the extremal index
    /// used in the block-to-frame conversion (1 for i.i.d. frames).
    Gev {
        gev: Gev,
        block_size: usize,
        theta: f64,
    },
    /// GPD of excesses over `threshold`, exceeded by a fraction `rate` of frames.
    Gpd { gpd: Gpd, threshold: f64, rate: f64 },
}

impl Dist {
    /// Value exceeded by one frame with probability `p` (None when p lies below the POT threshold).
    pub fn pwcet(&self, p: f64) -> Option<f64> {
        match *self {
            Dist::Gev {
                gev,
                block_size,
                theta,
            } => {
                // P(M_b <= x) = F(x)^(b theta): -ln F_block = -b theta ln(1 - p)
                let y = -(block_size as f64 * theta) * (-p).ln_1p();
                Some(gev.quantile_neg_ln(y))
            }
            Dist::Gpd {
                gpd,
                threshold,
                rate,
            } => {
                // POT probabilities are conditional on exceeding the threshold
                let ln_pc = p.ln() - rate.ln();
                (ln_pc < 0.0).then(|| threshold + gpd.isf_ln(ln_pc))
            }
        }
    }
    /// Per-frame exceedance probability of x implied by the model (NaN below a POT threshold).
    pub fn frame_exceedance(&self, x: f64) -> f64 {
        match *self {
            Dist::Gev {
                gev,
                block_size,
                theta,
            } => -(-gev.neg_ln_cdf(x) / (block_size as f64 * theta)).exp_m1(),
            Dist::Gpd {
                gpd,
                threshold,
                rate,
            } => {
                if x < threshold {
                    f64::NAN
                } else {
                    rate * gpd.sf(x - threshold)
                }
            }
        }
    }
    pub fn shape(&self) -> f64 {
        match self {
            Dist::Gev { gev, .. } => gev.shape,
            Dist::Gpd { gpd, .. } => gpd.shape,
        }
    }
}

/// Model input: the block maxima and the threshold excesses.
#[derive(Debug, Clone)]
pub struct TailData {
    pub n: usize,
    pub block_size: usize,
    /// Maxima in acquisition order.
    pub maxima: Vec<f64>,
    pub maxima_sorted: Vec<f64>,
    pub theta: f64,
    pub threshold: f64,
    pub threshold_quantile: f64,
    pub excesses_sorted: Vec<f64>,
}

impl TailData {
    pub fn rate(&self) -> f64 {
        self.excesses_sorted.len() as f64 / self.n as f64
    }
}

/// Maxima of consecutive blocks; a trailing partial block is dropped.
pub fn block_maxima(x: &[f64], b: usize) -> Vec<f64> {
    x.chunks_exact(b.max(1))
        .map(|c| c.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        .collect()
}

/// Sorted excesses x - u over u for x > u.
pub fn excesses(x: &[f64], u: f64) -> Vec<f64> {
    let mut e: Vec<f64> = x.iter().filter(|&&v| v > u).map(|&v| v - u).collect();
    e.sort_by(f64::total_cmp);
    e
}

/// One fitted model.
#[derive(Debug, Clone)]
pub struct Fit {
    pub method: Method,
    pub estimator: Estimator,
    pub dist: Dist,
    pub log_likelihood: f64,
    /// Warm start for refits (MLE only): parameters and inverse Hessian.
    pub warm: Option<Warm>,
}

#[derive(Debug, Clone)]
pub struct Warm {
    pub p: Vec<f64>,
    pub inv_h: Vec<f64>,
}

struct GevObj<'a> {
    x: &'a [f64],
    w: Option<&'a [f64]>,
}
impl Objective for GevObj<'_> {
    fn dim(&self) -> usize {
        3
    }
    fn eval(&self, p: &[f64], g: &mut [f64]) -> f64 {
        // xi <= -1 makes the likelihood unbounded at the upper endpoint
        if p[2] <= -1.0 || !p.iter().all(|v| v.is_finite()) {
            g.iter_mut().for_each(|v| *v = 0.0);
            return f64::INFINITY;
        }
        gev::nll_grad(self.x, self.w, p, g)
    }
}

struct GpdObj<'a> {
    y: &'a [f64],
    w: Option<&'a [f64]>,
}
impl Objective for GpdObj<'_> {
    fn dim(&self) -> usize {
        2
    }
    fn eval(&self, p: &[f64], g: &mut [f64]) -> f64 {
        if p[1] <= -1.0 || !p.iter().all(|v| v.is_finite()) {
            g.iter_mut().for_each(|v| *v = 0.0);
            return f64::INFINITY;
        }
        gpd::nll_grad(self.y, self.w, p, g)
    }
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, v.sqrt())
}

/// Cold maximum-likelihood fit: Nelder–Mead from several starts, BFGS polish.
fn mle_cold(
    obj: &dyn Objective,
    starts: &[Vec<f64>],
    steps: &[f64],
) -> Option<(Vec<f64>, f64, Vec<f64>)> {
    let mut best: Option<(Vec<f64>, f64)> = None;
    for s in starts {
        if !obj.value(s).is_finite() {
            continue;
        }
        let (x, f) = nelder_mead(obj, s, steps, 800);
        if best.as_ref().is_none_or(|b| f < b.1) {
            best = Some((x, f));
        }
    }
    let (x, _) = best?;
    let h0 = inverse_hessian(obj, &x);
    let r = bfgs(obj, &x, h0.as_deref(), 300, 1e-9);
    let r = if r.converged {
        r
    } else {
        bfgs(obj, &r.x, None, 300, 1e-9)
    };
    if !r.value.is_finite() {
        return None;
    }
    let inv_h = inverse_hessian(obj, &r.x).unwrap_or(r.inv_hessian);
    Some((r.x, r.value, inv_h))
}

/// Warm refit (bootstrap, GOF bootstrap, convergence): BFGS from the reference optimum.
/// The gradient tolerance is looser than for the main fit: the parameter error it leaves
/// (about H^-1 g) is far below the resample-to-resample spread.
fn mle_warm(obj: &dyn Objective, warm: &Warm) -> Option<Vec<f64>> {
    let r = bfgs(obj, &warm.p, Some(&warm.inv_h), 200, 1e-7);
    (r.value.is_finite() && r.converged).then_some(r.x)
}

pub fn gev_loglik(gev: &Gev, x: &[f64]) -> f64 {
    x.iter().map(|&v| gev.ln_pdf(v)).sum()
}
pub fn gpd_loglik(gpd: &Gpd, y: &[f64]) -> f64 {
    y.iter().map(|&v| gpd.ln_pdf(v)).sum()
}

/// GEV by PWM on sorted maxima.
pub fn gev_pwm(sorted: &[f64]) -> Option<Gev> {
    Gev::fit_lmoments(&sample_lmoments(sorted)?)
}

/// GEV by PWM on sorted values with integer multiplicities.
pub fn gev_pwm_weighted(sorted: &[f64], counts: &[usize]) -> Option<Gev> {
    Gev::fit_lmoments(&weighted_lmoments(
        sorted.iter().copied().zip(counts.iter().copied()),
    )?)
}

pub fn gpd_pwm(sorted: &[f64]) -> Option<Gpd> {
    Gpd::fit_lmoments(&sample_lmoments(sorted)?)
}

pub fn gpd_pwm_weighted(sorted: &[f64], counts: &[usize]) -> Option<Gpd> {
    Gpd::fit_lmoments(&weighted_lmoments(
        sorted.iter().copied().zip(counts.iter().copied()),
    )?)
}

fn gev_from(p: &[f64]) -> Gev {
    Gev {
        location: p[0],
        scale: p[1].exp(),
        shape: p[2],
    }
}
fn gpd_from(p: &[f64]) -> Gpd {
    Gpd {
        scale: p[0].exp(),
        shape: p[1],
    }
}

/// GEV by maximum likelihood (cold), with the warm-start information for refits.
pub fn gev_mle(x: &[f64]) -> Option<(Gev, Warm)> {
    let obj = GevObj { x, w: None };
    let (m, sd) = mean_sd(x);
    let gs = (sd * 6f64.sqrt() / std::f64::consts::PI).max(1e-12 * (1.0 + m.abs()));
    let mut starts = vec![
        vec![m - 0.5772 * gs, gs.ln(), 0.0],
        vec![m - 0.5772 * gs, gs.ln(), -0.2],
    ];
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    if let Some(g) = gev_pwm(&sorted) {
        starts.insert(0, vec![g.location, g.scale.ln(), g.shape.max(-0.9)]);
    }
    let (p, _, inv_h) = mle_cold(&obj, &starts, &[0.5 * gs, 0.3, 0.1])?;
    Some((gev_from(&p), Warm { p, inv_h }))
}

/// Weighted GEV refit warm-started at `warm`; falls back to a cold fit on failure.
pub fn gev_mle_refit(x: &[f64], w: Option<&[f64]>, warm: &Warm) -> Option<Gev> {
    let obj = GevObj { x, w };
    if let Some(p) = mle_warm(&obj, warm) {
        return Some(gev_from(&p));
    }
    let (p, _, _) = mle_cold(
        &obj,
        std::slice::from_ref(&warm.p),
        &[0.1 * warm.p[1].exp(), 0.3, 0.1],
    )?;
    Some(gev_from(&p))
}

/// GPD by maximum likelihood on excesses (cold).
pub fn gpd_mle(y: &[f64]) -> Option<(Gpd, Warm)> {
    let obj = GpdObj { y, w: None };
    let (m, _) = mean_sd(y);
    let mut starts = vec![vec![m.ln(), 0.0], vec![m.ln(), -0.2]];
    if let Some(g) = gpd_pwm(y) {
        starts.insert(0, vec![g.scale.ln(), g.shape.max(-0.9)]);
    }
    let (p, _, inv_h) = mle_cold(&obj, &starts, &[0.3, 0.1])?;
    Some((gpd_from(&p), Warm { p, inv_h }))
}

pub fn gpd_mle_refit(y: &[f64], w: Option<&[f64]>, warm: &Warm) -> Option<Gpd> {
    let obj = GpdObj { y, w };
    if let Some(p) = mle_warm(&obj, warm) {
        return Some(gpd_from(&p));
    }
    let (p, _, _) = mle_cold(&obj, std::slice::from_ref(&warm.p), &[0.3, 0.1])?;
    Some(gpd_from(&p))
}

/// Fits one (method, estimator) on the tail data.
pub fn fit(data: &TailData, method: Method, estimator: Estimator) -> Option<Fit> {
    match method {
        Method::GevBm => {
            let (gev, warm) = match estimator {
                Estimator::Pwm => (gev_pwm(&data.maxima_sorted)?, None),
                Estimator::Mle => {
                    let (g, w) = gev_mle(&data.maxima_sorted)?;
                    (g, Some(w))
                }
            };
            Some(Fit {
                method,
                estimator,
                dist: Dist::Gev {
                    gev,
                    block_size: data.block_size,
                    theta: data.theta,
                },
                log_likelihood: gev_loglik(&gev, &data.maxima_sorted),
                warm,
            })
        }
        Method::GpdPot => {
            let (gpd, warm) = match estimator {
                Estimator::Pwm => (gpd_pwm(&data.excesses_sorted)?, None),
                Estimator::Mle => {
                    let (g, w) = gpd_mle(&data.excesses_sorted)?;
                    (g, Some(w))
                }
            };
            Some(Fit {
                method,
                estimator,
                dist: Dist::Gpd {
                    gpd,
                    threshold: data.threshold,
                    rate: data.rate(),
                },
                log_likelihood: gpd_loglik(&gpd, &data.excesses_sorted),
                warm,
            })
        }
    }
}

/// Refit the same (method, estimator) on a resample given as multiplicities over the
/// sorted model input (maxima or excesses), with a new POT rate where relevant.
pub fn refit_weighted(fit: &Fit, sorted: &[f64], counts: &[usize], rate: f64) -> Option<Dist> {
    let w: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    match (fit.dist, fit.estimator) {
        (
            Dist::Gev {
                block_size, theta, ..
            },
            Estimator::Pwm,
        ) => Some(Dist::Gev {
            gev: gev_pwm_weighted(sorted, counts)?,
            block_size,
            theta,
        }),
        (
            Dist::Gev {
                block_size, theta, ..
            },
            Estimator::Mle,
        ) => Some(Dist::Gev {
            gev: gev_mle_refit(sorted, Some(&w), fit.warm.as_ref()?)?,
            block_size,
            theta,
        }),
        (Dist::Gpd { threshold, .. }, Estimator::Pwm) => Some(Dist::Gpd {
            gpd: gpd_pwm_weighted(sorted, counts)?,
            threshold,
            rate,
        }),
        (Dist::Gpd { threshold, .. }, Estimator::Mle) => Some(Dist::Gpd {
            gpd: gpd_mle_refit(sorted, Some(&w), fit.warm.as_ref()?)?,
            threshold,
            rate,
        }),
    }
}

/// Refit on a plain (unweighted) sorted sample, warm-starting MLE at `fit`.
pub fn refit_plain(fit: &Fit, sorted: &[f64]) -> Option<Dist> {
    match (fit.dist, fit.estimator) {
        (
            Dist::Gev {
                block_size, theta, ..
            },
            Estimator::Pwm,
        ) => Some(Dist::Gev {
            gev: gev_pwm(sorted)?,
            block_size,
            theta,
        }),
        (
            Dist::Gev {
                block_size, theta, ..
            },
            Estimator::Mle,
        ) => Some(Dist::Gev {
            gev: gev_mle_refit(sorted, None, fit.warm.as_ref()?)?,
            block_size,
            theta,
        }),
        (
            Dist::Gpd {
                threshold, rate, ..
            },
            Estimator::Pwm,
        ) => Some(Dist::Gpd {
            gpd: gpd_pwm(sorted)?,
            threshold,
            rate,
        }),
        (
            Dist::Gpd {
                threshold, rate, ..
            },
            Estimator::Mle,
        ) => Some(Dist::Gpd {
            gpd: gpd_mle_refit(sorted, None, fit.warm.as_ref()?)?,
            threshold,
            rate,
        }),
    }
}
