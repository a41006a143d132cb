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
    /// Poisson with mean `lambda` (Knuth's product of uniforms; the reference's means are
    /// at most 60, where e^-λ is far from underflow).
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
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
    /// Integer in `lo..hi` (hi exclusive), as numpy's `randint`.
    pub fn int_in(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.0.below((hi - lo) as u64) as i64
    }
}
