//! The random draws corruptions make, all from one SplitMix64 stream (core's seeded
//! generator) so a (seed, frame) pair gives the same noise on every platform.

use adasval_core::rng::SplitMix64;

pub struct Stream(SplitMix64);

impl Stream {
    pub fn new(seed: u64) -> Self {
        Stream(SplitMix64::new(seed))
    }
    /// Uniform in [0, 1), 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// A pair of independent standard normals (Box–Muller: both of the pair, so the
    /// logarithm and square root are paid once per two draws).
    pub fn normal_pair(&mut self) -> (f64, f64) {
        // 1 - unit() is in (0, 1], so the logarithm is finite.
        let u = 1.0 - self.unit();
        let v = self.unit();
        let r = libm::sqrt(-2.0 * libm::log(u));
        let (sin, cos) = libm::sincos(2.0 * std::f64::consts::PI * v);
        (r * cos, r * sin)
    }
    /// Poisson with mean `lambda`: Knuth's product of uniforms below 10, Hörmann's
    /// transformed rejection with squeeze (PTRS, 1993; numpy's choice too) from 10 on,
    /// whose cost does not grow with the mean.
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda >= 10.0 {
            return self.poisson_ptrs(lambda);
        }
        let limit = libm::exp(-lambda);
        let mut k = 0u32;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }

    fn poisson_ptrs(&mut self, lambda: f64) -> u32 {
        let slam = libm::sqrt(lambda);
        let loglam = libm::log(lambda);
        let b = 0.931 + 2.53 * slam;
        let a = -0.059 + 0.02483 * b;
        let invalpha = 1.1239 + 1.1328 / (b - 3.4);
        let vr = 0.9277 - 3.6224 / (b - 2.0);
        loop {
            let u = self.unit() - 0.5;
            let v = self.unit();
            let us = 0.5 - u.abs();
            let k = libm::floor((2.0 * a / us + b) * u + lambda + 0.43);
            if us >= 0.07 && v <= vr {
                return k as u32;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            let lhs = libm::log(v) + libm::log(invalpha) - libm::log(a / (us * us) + b);
            let rhs = -lambda + k * loglam - libm::lgamma(k + 1.0);
            if lhs <= rhs {
                return k as u32;
            }
        }
    }
    /// Integer in `lo..hi` (hi exclusive), as numpy's `randint`.
    pub fn int_in(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.0.below((hi - lo) as u64) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::Stream;

    /// Poisson draws have mean and variance λ, on both sides of the switch to PTRS at 10:
    /// the mean within 4 standard errors, the variance within 3%, and the share of draws
    /// at the mode's neighbour ⌊λ⌋ within 4 standard errors of the exact probability
    /// (which a sampler with the right two moments but the wrong shape would miss).
    #[test]
    fn poisson_draws_have_the_poisson_moments_and_shape() {
        let mut rng = Stream::new(26);
        let n = 200_000;
        for lambda in [3.0, 9.5, 10.0, 25.0, 60.0, 400.0] {
            let draws: Vec<f64> = (0..n).map(|_| f64::from(rng.poisson(lambda))).collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let se = (lambda / n as f64).sqrt();
            assert!((mean - lambda).abs() < 4.0 * se, "λ {lambda}: mean {mean}");
            assert!(
                (var - lambda).abs() < 0.03 * lambda,
                "λ {lambda}: variance {var}"
            );
            let k = lambda.floor();
            let p = (k * lambda.ln() - lambda - libm::lgamma(k + 1.0)).exp();
            let share = draws.iter().filter(|&&x| x == k).count() as f64 / n as f64;
            let se_p = (p * (1.0 - p) / n as f64).sqrt();
            assert!(
                (share - p).abs() < 4.0 * se_p,
                "λ {lambda}: P({k}) {share} vs {p}"
            );
        }
    }
}
