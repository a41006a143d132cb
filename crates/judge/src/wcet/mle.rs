//! Small unconstrained optimisers for the maximum-likelihood fits: Nelder–Mead to get
//! into the basin from a PWM start, then BFGS with the analytic gradient to converge
//! tightly. Bootstrap refits warm-start BFGS at the full-data optimum with its inverse
//! Hessian, which is what keeps a 1,000-resample interval cheap.

/// Objective: value and gradient at x; +inf outside the feasible region.
pub trait Objective: Sync {
    fn dim(&self) -> usize;
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64;
    fn value(&self, x: &[f64]) -> f64 {
        let mut g = vec![0.0; self.dim()];
        self.eval(x, &mut g)
    }
}

/// Nelder–Mead simplex minimisation (standard coefficients).
pub fn nelder_mead(
    obj: &dyn Objective,
    x0: &[f64],
    step: &[f64],
    max_eval: usize,
) -> (Vec<f64>, f64) {
    let d = x0.len();
    let mut pts: Vec<Vec<f64>> = vec![x0.to_vec()];
    for i in 0..d {
        let mut p = x0.to_vec();
        p[i] += step[i];
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| obj.value(p)).collect();
    let mut evals = d + 1;
    while evals < max_eval {
        let mut idx: Vec<usize> = (0..=d).collect();
        idx.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = idx.iter().map(|&i| pts[i].clone()).collect();
        vals = idx.iter().map(|&i| vals[i]).collect();
        let spread = (vals[d] - vals[0]).abs();
        if spread.is_finite() && spread <= 1e-12 * (1.0 + vals[0].abs()) {
            break;
        }
        let centroid: Vec<f64> = (0..d)
            .map(|k| pts[..d].iter().map(|p| p[k]).sum::<f64>() / d as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..d)
                .map(|k| centroid[k] + t * (pts[d][k] - centroid[k]))
                .collect()
        };
        let xr = along(-1.0);
        let fr = obj.value(&xr);
        evals += 1;
        if fr < vals[0] {
            let xe = along(-2.0);
            let fe = obj.value(&xe);
            evals += 1;
            if fe < fr {
                pts[d] = xe;
                vals[d] = fe;
            } else {
                pts[d] = xr;
                vals[d] = fr;
            }
        } else if fr < vals[d - 1] {
            pts[d] = xr;
            vals[d] = fr;
        } else {
            let (xc, fc) = if fr < vals[d] {
                let xc = along(-0.5);
                let fc = obj.value(&xc);
                (xc, fc)
            } else {
                let xc = along(0.5);
                let fc = obj.value(&xc);
                (xc, fc)
            };
            evals += 1;
            if fc < vals[d].min(fr) {
                pts[d] = xc;
                vals[d] = fc;
            } else {
                let best = pts[0].clone();
                for (p, v) in pts.iter_mut().zip(vals.iter_mut()).skip(1) {
                    for (pk, bk) in p.iter_mut().zip(&best) {
                        *pk = bk + 0.5 * (*pk - bk);
                    }
                    *v = obj.value(p);
                }
                evals += d;
            }
        }
    }
    let best = (0..=d)
        .min_by(|&a, &b| vals[a].total_cmp(&vals[b]))
        .unwrap_or(0);
    (pts[best].clone(), vals[best])
}

/// Result of a BFGS run.
#[derive(Debug, Clone)]
pub struct BfgsResult {
    pub x: Vec<f64>,
    pub value: f64,
    pub inv_hessian: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

/// BFGS with Armijo backtracking. `h0` is an initial inverse Hessian (row-major d×d).
/// Stops when |gradient| <= gtol (1 + |f|).
pub fn bfgs(
    obj: &dyn Objective,
    x0: &[f64],
    h0: Option<&[f64]>,
    max_iter: usize,
    gtol: f64,
) -> BfgsResult {
    let d = x0.len();
    let mut h: Vec<f64> = match h0 {
        Some(h) => h.to_vec(),
        None => {
            let mut h = vec![0.0; d * d];
            for i in 0..d {
                h[i * d + i] = 1e-3;
            }
            h
        }
    };
    let mut x = x0.to_vec();
    let mut g = vec![0.0; d];
    let mut f = obj.eval(&x, &mut g);
    let mut converged = false;
    let mut it = 0;
    let mut gn = vec![0.0; d];
    while it < max_iter && f.is_finite() {
        it += 1;
        let gnorm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        if gnorm <= gtol * (1.0 + f.abs()) {
            converged = true;
            break;
        }
        let mut dir: Vec<f64> = (0..d)
            .map(|i| -(0..d).map(|j| h[i * d + j] * g[j]).sum::<f64>())
            .collect();
        let mut slope: f64 = dir.iter().zip(&g).map(|(a, b)| a * b).sum();
        if slope >= 0.0 {
            // not a descent direction: restart from steepest descent, scaled
            for i in 0..d {
                for j in 0..d {
                    h[i * d + j] = if i == j { 1e-3 / (1.0 + gnorm) } else { 0.0 };
                }
            }
            dir = g.iter().map(|v| -v * 1e-3 / (1.0 + gnorm)).collect();
            slope = dir.iter().zip(&g).map(|(a, b)| a * b).sum();
        }
        let mut t = 1.0;
        let mut xn = vec![0.0; d];
        let mut fnew = f64::INFINITY;
        for _ in 0..60 {
            for i in 0..d {
                xn[i] = x[i] + t * dir[i];
            }
            fnew = obj.eval(&xn, &mut gn);
            if fnew.is_finite() && fnew <= f + 1e-4 * t * slope {
                break;
            }
            t *= 0.5;
        }
        if !(fnew.is_finite() && fnew <= f) {
            converged = (f - fnew).abs() <= 1e-12 * (1.0 + f.abs()) || t < 1e-15;
            break;
        }
        let s: Vec<f64> = (0..d).map(|i| xn[i] - x[i]).collect();
        let yv: Vec<f64> = (0..d).map(|i| gn[i] - g[i]).collect();
        let sy: f64 = s.iter().zip(&yv).map(|(a, b)| a * b).sum();
        let df = f - fnew;
        x.clone_from(&xn);
        g.clone_from(&gn);
        f = fnew;
        if sy > 1e-300 {
            let hy: Vec<f64> = (0..d)
                .map(|i| (0..d).map(|j| h[i * d + j] * yv[j]).sum())
                .collect();
            let yhy: f64 = yv.iter().zip(&hy).map(|(a, b)| a * b).sum();
            let rho = 1.0 / sy;
            for i in 0..d {
                for j in 0..d {
                    h[i * d + j] +=
                        (1.0 + yhy * rho) * rho * s[i] * s[j] - rho * (hy[i] * s[j] + s[i] * hy[j]);
                }
            }
        }
        let step = s.iter().map(|v| v.abs()).fold(0.0, f64::max);
        if df <= 1e-14 * (1.0 + f.abs()) && step <= 1e-10 {
            converged = true;
            break;
        }
    }
    BfgsResult {
        x,
        value: f,
        inv_hessian: h,
        iterations: it,
        converged,
    }
}

/// Inverse of the finite-difference Hessian of `obj` at x (central differences of the
/// analytic gradient), symmetrised; None when not positive definite.
pub fn inverse_hessian(obj: &dyn Objective, x: &[f64]) -> Option<Vec<f64>> {
    let d = x.len();
    let mut hess = vec![0.0; d * d];
    let mut gp = vec![0.0; d];
    let mut gm = vec![0.0; d];
    for k in 0..d {
        let h = 1e-5 * (1.0 + x[k].abs());
        let mut xp = x.to_vec();
        let mut xm = x.to_vec();
        xp[k] += h;
        xm[k] -= h;
        let fp = obj.eval(&xp, &mut gp);
        let fm = obj.eval(&xm, &mut gm);
        if !fp.is_finite() || !fm.is_finite() {
            return None;
        }
        for j in 0..d {
            hess[j * d + k] = (gp[j] - gm[j]) / (2.0 * h);
        }
    }
    for i in 0..d {
        for j in 0..i {
            let m = 0.5 * (hess[i * d + j] + hess[j * d + i]);
            hess[i * d + j] = m;
            hess[j * d + i] = m;
        }
    }
    invert_spd(&hess, d)
}

/// Inverse of a symmetric positive-definite matrix by Cholesky; None if not SPD.
fn invert_spd(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    // inverse via solving L L^T X = I column by column
    let mut inv = vec![0.0; d * d];
    for c in 0..d {
        let mut y = vec![0.0; d];
        for i in 0..d {
            let mut s = if i == c { 1.0 } else { 0.0 };
            for k in 0..i {
                s -= l[i * d + k] * y[k];
            }
            y[i] = s / l[i * d + i];
        }
        let mut x = vec![0.0; d];
        for i in (0..d).rev() {
            let mut s = y[i];
            for k in i + 1..d {
                s -= l[k * d + i] * x[k];
            }
            x[i] = s / l[i * d + i];
        }
        for i in 0..d {
            inv[i * d + c] = x[i];
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rosen;
    impl Objective for Rosen {
        fn dim(&self) -> usize {
            2
        }
        fn eval(&self, x: &[f64], g: &mut [f64]) -> f64 {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        }
    }

    #[test]
    fn minimisers_find_rosenbrock_minimum() {
        let (x, _) = nelder_mead(&Rosen, &[-1.2, 1.0], &[0.5, 0.5], 2000);
        let r = bfgs(&Rosen, &x, None, 500, 1e-9);
        assert!(
            (r.x[0] - 1.0).abs() < 1e-6 && (r.x[1] - 1.0).abs() < 1e-6,
            "{:?}",
            r.x
        );
        let h = inverse_hessian(&Rosen, &r.x).expect("spd");
        assert!(h[0].is_finite());
    }
}
