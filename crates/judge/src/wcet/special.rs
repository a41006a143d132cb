//! Special functions behind the p-values of the precondition tests: the normal tail,
//! the chi-square tail (regularised upper incomplete gamma) and the Kolmogorov limit law.

/// Upper tail of the standard normal, P(Z > z), accurate far into the tail.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// Standard normal CDF.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Standard normal quantile (bisection on the CDF; used a few times per analysis).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Regularised upper incomplete gamma Q(a, x) (Numerical Recipes' series / Lentz continued fraction).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x.is_nan() || a.is_nan() || a <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let ln_pre = a * x.ln() - x - libm::lgamma(a);
    if x < a + 1.0 {
        // series for P, then Q = 1 - P
        let mut ap = a;
        let mut sum = 1.0 / a;
        let mut del = sum;
        for _ in 0..10_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        1.0 - sum * ln_pre.exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        ln_pre.exp() * h
    }
}

/// Chi-square survival function with `k` degrees of freedom.
pub fn chi2_sf(x: f64, k: f64) -> f64 {
    gamma_q(0.5 * k, 0.5 * x)
}

/// Survival function of the Kolmogorov limit distribution, P(K > lambda).
pub fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 1.0 {
        // Jacobi-theta form converges fast for small lambda: CDF = sqrt(2 pi)/lambda sum exp(-(2k-1)^2 pi^2 / (8 lambda^2))
        let pi2 = std::f64::consts::PI * std::f64::consts::PI;
        let mut cdf = 0.0;
        for k in 1..50 {
            let m = (2 * k - 1) as f64;
            cdf += (-m * m * pi2 / (8.0 * lambda * lambda)).exp();
        }
        (1.0 - (std::f64::consts::TAU).sqrt() / lambda * cdf).clamp(0.0, 1.0)
    } else {
        let mut s = 0.0;
        for k in 1..100 {
            let kf = k as f64;
            let term = (-2.0 * kf * kf * lambda * lambda).exp();
            s += if k % 2 == 1 { term } else { -term };
            if term < 1e-300 {
                break;
            }
        }
        (2.0 * s).clamp(0.0, 1.0)
    }
}

/// Linear interpolation with clamping at both ends, as `numpy.interp` (xp increasing).
pub fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    if x <= xp[0] {
        return fp[0];
    }
    let last = xp.len() - 1;
    if x >= xp[last] {
        return fp[last];
    }
    let i = xp.iter().position(|&v| v > x).unwrap_or(last);
    let (x0, x1, y0, y1) = (xp[i - 1], xp[i], fp[i - 1], fp[i]);
    y0 + (y1 - y0) * (x - x0) / (x1 - x0)
}

/// Quantile of sorted data, linear interpolation between order statistics (numpy's default, type 7).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

pub fn sorted_copy(x: &[f64]) -> Vec<f64> {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_known_values() {
        // chi2(2) has sf exp(-x/2)
        assert!((chi2_sf(3.0, 2.0) - (-1.5f64).exp()).abs() < 1e-14);
        assert!((chi2_sf(40.0, 2.0) - (-20.0f64).exp()).abs() / (-20.0f64).exp() < 1e-12);
    }

    #[test]
    fn kolmogorov_branches_agree() {
        let a = kolmogorov_sf(1.0 - 1e-12);
        let b = kolmogorov_sf(1.0 + 1e-12);
        assert!((a - b).abs() < 1e-10, "{a} {b}");
    }
}
