//! Generalised Pareto distribution for peaks over a threshold u: for excesses y = x - u,
//! P(Y > y) = (1 + xi y / sigma)^(-1/xi) (Coles' xi, the same sign as scipy's
//! `genpareto` c). PWM estimator with a fixed threshold (Hosking & Wallis 1987) and the
//! negative log-likelihood with gradient for the maximum-likelihood fit.

use super::gev::box_cox_neg;
use super::lmoments::LMoments;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gpd {
    pub shape: f64,
    pub scale: f64,
}

impl Gpd {
    /// P(Y > y) for an excess y >= 0.
    pub fn sf(&self, y: f64) -> f64 {
        if y <= 0.0 {
            return 1.0;
        }
        let xi = self.shape;
        if xi.abs() < 1e-9 {
            return (-y / self.scale).exp();
        }
        let t = xi * y / self.scale;
        if t <= -1.0 {
            return 0.0;
        }
        (-t.ln_1p() / xi).exp()
    }
    pub fn cdf(&self, y: f64) -> f64 {
        1.0 - self.sf(y)
    }
    /// Excess with P(Y > y) = exp(ln_p).
    pub fn isf_ln(&self, ln_p: f64) -> f64 {
        self.scale * box_cox_neg(self.shape, ln_p)
    }
    pub fn isf(&self, p: f64) -> f64 {
        self.isf_ln(p.ln())
    }
    pub fn ln_pdf(&self, y: f64) -> f64 {
        let xi = self.shape;
        if y < 0.0 {
            return f64::NEG_INFINITY;
        }
        if xi.abs() < 1e-9 {
            return -self.scale.ln() - y / self.scale;
        }
        let t = xi * y / self.scale;
        if t <= -1.0 {
            return f64::NEG_INFINITY;
        }
        -self.scale.ln() - (1.0 + 1.0 / xi) * t.ln_1p()
    }
    pub fn sample(&self, u: f64) -> f64 {
        self.isf_ln(u.ln())
    }

    /// Hosking & Wallis (1987) PWM estimate for excesses over a known threshold:
    /// k = l1/l2 - 2, sigma = l1 (1 + k), xi = -k.
    pub fn fit_lmoments(l: &LMoments) -> Option<Gpd> {
        if l.l2 <= 0.0 || l.l1 <= 0.0 {
            return None;
        }
        let k = l.l1 / l.l2 - 2.0;
        let scale = l.l1 * (1.0 + k);
        (scale > 0.0 && scale.is_finite()).then_some(Gpd { shape: -k, scale })
    }
}

/// Negative log-likelihood of weighted excesses in p = (ln sigma, xi), gradient into `grad`.
pub fn nll_grad(y: &[f64], w: Option<&[f64]>, p: &[f64], grad: &mut [f64]) -> f64 {
    let ls = p[0];
    let xi0 = p[1];
    let xi = if xi0.abs() < 1e-7 {
        1e-7f64.copysign(if xi0 == 0.0 { 1.0 } else { xi0 })
    } else {
        xi0
    };
    let sigma = ls.exp();
    let (mut f, mut gs, mut gxi, mut wsum) = (0.0, 0.0, 0.0, 0.0);
    for (i, &yv) in y.iter().enumerate() {
        let wi = w.map_or(1.0, |w| w[i]);
        if wi == 0.0 {
            continue;
        }
        let z = yv / sigma;
        let t = xi * z;
        if t <= -1.0 {
            grad.iter_mut().for_each(|g| *g = 0.0);
            return f64::INFINITY;
        }
        let lt = t.ln_1p();
        wsum += wi;
        f += wi * (1.0 + 1.0 / xi) * lt;
        // d(nll)/d ln sigma per point: 1 - (1+xi) z/(1+xi z); d/d xi: -lt/xi^2 + (1+1/xi) z/(1+xi z)
        gs += wi * (1.0 + xi) * z / (1.0 + t);
        gxi += wi * (-lt / (xi * xi) + (1.0 + 1.0 / xi) * z / (1.0 + t));
    }
    f += wsum * ls;
    grad[0] = wsum - gs;
    grad[1] = gxi;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let g = Gpd {
            shape: -0.1,
            scale: 2.0,
        };
        let y: Vec<f64> = (1..300).map(|i| g.sample(i as f64 / 300.0)).collect();
        for p in [[0.6, -0.15], [0.8, 0.2], [0.7, 0.0]] {
            let mut gr = [0.0; 2];
            nll_grad(&y, None, &p, &mut gr);
            for k in 0..2 {
                let h = 1e-6;
                let (mut a, mut b) = (p, p);
                a[k] += h;
                b[k] -= h;
                let mut d = [0.0; 2];
                let fd =
                    (nll_grad(&y, None, &a, &mut d) - nll_grad(&y, None, &b, &mut d)) / (2.0 * h);
                assert!(
                    (fd - gr[k]).abs() < 1e-4 * (1.0 + fd.abs()),
                    "p={p:?} k={k}: {fd} vs {}",
                    gr[k]
                );
            }
        }
    }
}
