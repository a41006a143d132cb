//! Generalised extreme value distribution for block maxima (Coles' convention:
//! F(x) = exp(-(1 + xi (x - mu)/sigma)^(-1/xi)), xi > 0 heavy tail; scipy's `genextreme`
//! uses c = -xi). PWM/L-moment fit as in Hosking (1985) / lmoments3, and the negative
//! log-likelihood with its gradient for the maximum-likelihood fit.

use super::lmoments::LMoments;
use serde::Serialize;

/// Below this |xi| the Gumbel limit formulas are used.
const XI_ZERO: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gev {
    pub shape: f64,
    pub location: f64,
    pub scale: f64,
}

/// (1 + xi*y)^(-1/xi), continuous through xi = 0; None outside the support.
fn tail_term(xi: f64, y: f64) -> Option<f64> {
    if xi.abs() < XI_ZERO {
        return Some((-y).exp());
    }
    let t = xi * y;
    if t <= -1.0 {
        return None;
    }
    Some((-t.ln_1p() / xi).exp())
}

/// (x^(-xi) - 1)/xi computed as expm1(-xi ln x)/xi, continuous through xi = 0.
pub fn box_cox_neg(xi: f64, ln_x: f64) -> f64 {
    if xi.abs() < XI_ZERO {
        -ln_x
    } else {
        (-xi * ln_x).exp_m1() / xi
    }
}

impl Gev {
    /// -ln F(x), the "cumulative hazard" of the block maximum; +inf below the lower
    /// endpoint (xi > 0), 0 above the upper endpoint (xi < 0).
    pub fn neg_ln_cdf(&self, x: f64) -> f64 {
        let y = (x - self.location) / self.scale;
        match tail_term(self.shape, y) {
            Some(v) => v,
            None => {
                if self.shape > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                }
            }
        }
    }
    pub fn cdf(&self, x: f64) -> f64 {
        (-self.neg_ln_cdf(x)).exp()
    }
    /// Upper tail P(M > x) without cancellation.
    pub fn sf(&self, x: f64) -> f64 {
        -(-self.neg_ln_cdf(x)).exp_m1()
    }
    /// Quantile from y = -ln F (so the block non-exceedance is exp(-y)).
    pub fn quantile_neg_ln(&self, y: f64) -> f64 {
        self.location + self.scale * box_cox_neg(self.shape, y.ln())
    }
    /// Inverse survival function: x with P(M > x) = p.
    pub fn isf(&self, p: f64) -> f64 {
        self.quantile_neg_ln(-(-p).ln_1p())
    }
    pub fn ln_pdf(&self, x: f64) -> f64 {
        let xi = self.shape;
        let y = (x - self.location) / self.scale;
        if xi.abs() < XI_ZERO {
            return -self.scale.ln() - y - (-y).exp();
        }
        let t = xi * y;
        if t <= -1.0 {
            return f64::NEG_INFINITY;
        }
        let lt = t.ln_1p();
        -self.scale.ln() - (1.0 + 1.0 / xi) * lt - (-lt / xi).exp()
    }
    /// Draw from a uniform u in (0, 1).
    pub fn sample(&self, u: f64) -> f64 {
        self.quantile_neg_ln(-u.ln())
    }
    /// Upper endpoint (finite only for xi < 0).
    pub fn upper_endpoint(&self) -> f64 {
        if self.shape < 0.0 {
            self.location - self.scale / self.shape
        } else {
            f64::INFINITY
        }
    }

    /// PWM/L-moment estimate (Hosking 1985 rational approximations, Newton for t3 < -0.8),
    /// the same algorithm as lmoments3's `gev.lmom_fit`.
    pub fn fit_lmoments(l: &LMoments) -> Option<Gev> {
        let t3 = l.t3;
        if l.l2 <= 0.0 || t3.abs() >= 1.0 || !t3.is_finite() {
            return None;
        }
        let (a0, a1, a2, a3, a4) = (
            0.28377530,
            -1.21096399,
            -2.50728214,
            -1.13455566,
            -0.07138022,
        );
        let (b1, b2, b3) = (2.06189696, 1.31912239, 0.25077104);
        let (c1, c2, c3) = (1.59921491, -0.48832213, 0.01573152);
        let (d1, d2) = (-0.64363929, 0.08985247);
        let dl2 = std::f64::consts::LN_2;
        let dl3 = 3f64.ln();
        let finish = |g: f64| -> Option<Gev> {
            let gam = libm::lgamma(1.0 + g).exp();
            let scale = l.l2 * g / (gam * (1.0 - 2f64.powf(-g)));
            let loc = l.l1 - scale * (1.0 - gam) / g;
            (scale > 0.0 && scale.is_finite()).then_some(Gev {
                shape: -g,
                location: loc,
                scale,
            })
        };
        if t3 > 0.0 {
            let z = 1.0 - t3;
            let g = (-1.0 + z * (c1 + z * (c2 + z * c3))) / (1.0 + z * (d1 + z * d2));
            if g.abs() < 1e-5 {
                let scale = l.l2 / dl2;
                return Some(Gev {
                    shape: 0.0,
                    location: l.l1 - 0.57721566 * scale,
                    scale,
                });
            }
            return finish(g);
        }
        let mut g = (a0 + t3 * (a1 + t3 * (a2 + t3 * (a3 + t3 * a4))))
            / (1.0 + t3 * (b1 + t3 * (b2 + t3 * b3)));
        if t3 >= -0.8 {
            return finish(g);
        }
        if t3 <= -0.97 {
            g = 1.0 - (1.0 + t3).ln() / dl2;
        }
        let t0 = (t3 + 3.0) * 0.5;
        for _ in 1..20 {
            let x2 = 2f64.powf(-g);
            let x3 = 3f64.powf(-g);
            let xx2 = 1.0 - x2;
            let xx3 = 1.0 - x3;
            let t = xx3 / xx2;
            let deriv = (xx2 * x3 * dl3 - xx3 * x2 * dl2) / (xx2 * xx2);
            let gold = g;
            g -= (t - t0) / deriv;
            if (g - gold).abs() <= 1e-6 * g {
                return finish(g);
            }
        }
        None
    }
}

/// Negative log-likelihood of weighted data in parameters p = (mu, ln sigma, xi), with
/// its gradient written into `grad`. +inf outside the support.
pub fn nll_grad(x: &[f64], w: Option<&[f64]>, p: &[f64], grad: &mut [f64]) -> f64 {
    let (mu, ls, xi0) = (p[0], p[1], p[2]);
    // the xi = 0 limit of the gradient cancels catastrophically; step just off it
    let xi = if xi0.abs() < 1e-7 {
        1e-7f64.copysign(if xi0 == 0.0 { 1.0 } else { xi0 })
    } else {
        xi0
    };
    let sigma = ls.exp();
    let (mut f, mut gmu, mut gs, mut gxi) = (0.0, 0.0, 0.0, 0.0);
    let mut wsum = 0.0;
    for (i, &xv) in x.iter().enumerate() {
        let wi = w.map_or(1.0, |w| w[i]);
        if wi == 0.0 {
            continue;
        }
        let y = (xv - mu) / sigma;
        let t = 1.0 + xi * y;
        if t <= 0.0 {
            grad.iter_mut().for_each(|g| *g = 0.0);
            return f64::INFINITY;
        }
        let lt = (xi * y).ln_1p();
        let s = (-lt / xi).exp();
        wsum += wi;
        f += wi * ((1.0 + 1.0 / xi) * lt + s);
        let a = ((1.0 + xi) - s) / t; // common factor
                                      // d(loglik)/d mu = a/sigma; d/d sigma = -1/sigma + a*y/sigma
        gmu += wi * a;
        gs += wi * a * y;
        gxi += wi * ((lt / (xi * xi)) * (1.0 - s) - a * y / xi);
    }
    f += wsum * ls;
    // gradient of the negative log-likelihood, sigma in log scale
    grad[0] = -gmu / sigma;
    grad[1] = wsum - gs;
    grad[2] = -gxi;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let g = Gev {
            shape: -0.2,
            location: 10.0,
            scale: 2.0,
        };
        let x: Vec<f64> = (1..200).map(|i| g.sample(i as f64 / 200.0)).collect();
        for p in [[10.3, 0.6, -0.15], [9.8, 0.8, 0.2], [10.0, 0.7, 0.0]] {
            let mut gr = [0.0; 3];
            nll_grad(&x, None, &p, &mut gr);
            for k in 0..3 {
                let h = 1e-6;
                let (mut a, mut b) = (p, p);
                a[k] += h;
                b[k] -= h;
                let mut d = [0.0; 3];
                let fd =
                    (nll_grad(&x, None, &a, &mut d) - nll_grad(&x, None, &b, &mut d)) / (2.0 * h);
                assert!(
                    (fd - gr[k]).abs() < 1e-4 * (1.0 + fd.abs()),
                    "p={p:?} k={k}: {fd} vs {}",
                    gr[k]
                );
            }
        }
    }

    #[test]
    fn isf_inverts_sf() {
        for xi in [-0.3, 0.0, 0.25] {
            let g = Gev {
                shape: xi,
                location: 1.0,
                scale: 0.5,
            };
            for p in [1e-3, 1e-9, 1e-15] {
                let x = g.isf(p);
                assert!((g.sf(x) / p - 1.0).abs() < 1e-9, "xi={xi} p={p}");
            }
        }
    }
}
