//! Seeded random streams for the bootstrap: one independent stream per resample index, so
//! results do not depend on how rayon splits the work across threads.

/// xoshiro256** seeded through SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

use adasval_core::rng::splitmix64 as splitmix;

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        let s = [
            splitmix(&mut st),
            splitmix(&mut st),
            splitmix(&mut st),
            splitmix(&mut st),
        ];
        Self { s }
    }

    /// Stream `index` of purpose `stream` derived from the user seed.
    pub fn stream(seed: u64, stream: u64, index: u64) -> Self {
        let mut st = seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F);
        let a = splitmix(&mut st);
        let mut st2 = a ^ index.wrapping_mul(0xE703_7ED1_A0B4_28DB);
        Self::new(splitmix(&mut st2))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in the open interval (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (Lemire's multiply-shift; bias below 2^-40 for our n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Binomial(n, p) draw: normal approximation when both tails hold many points,
    /// geometric waiting times otherwise (exact).
    pub fn binomial(&mut self, n: usize, p: f64) -> usize {
        if p <= 0.0 {
            return 0;
        }
        if p >= 1.0 {
            return n;
        }
        let nf = n as f64;
        if nf * p.min(1.0 - p) > 1000.0 {
            let z = self.normal();
            let v = (nf * p + z * (nf * p * (1.0 - p)).sqrt()).round();
            return v.clamp(0.0, nf) as usize;
        }
        let (q, flip) = if p > 0.5 { (1.0 - p, true) } else { (p, false) };
        let lq = (-q).ln_1p();
        let mut count = 0usize;
        let mut pos = 0.0f64;
        loop {
            pos += (self.uniform().ln() / lq).floor() + 1.0;
            if pos > nf {
                break;
            }
            count += 1;
        }
        if flip {
            n - count
        } else {
            count
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(1, 2, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::stream(1, 2, 3).next_u64(),
            Rng::stream(1, 2, 4).next_u64()
        );
    }

    #[test]
    fn binomial_mean() {
        let mut r = Rng::new(7);
        let m: f64 = (0..4000).map(|_| r.binomial(200, 0.05) as f64).sum::<f64>() / 4000.0;
        assert!((m - 10.0).abs() < 0.3, "{m}");
    }
}
