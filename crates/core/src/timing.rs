//! Latency statistics of one trace: exact percentiles from the raw samples (kept in
//! acquisition order elsewhere) and an HDR histogram for compact distribution storage.

use serde::{Deserialize, Serialize};

/// The longest duration any reader accepts as one latency: one hour. Nothing adasval times
/// takes that long, and the bound keeps every value exact in `u64` nanoseconds and in `f64`
/// arithmetic (a file saying 1e308 ms is a broken file, not a slow frame).
pub const MAX_LATENCY_NS: u64 = 3_600_000_000_000;
/// [`MAX_LATENCY_NS`] in milliseconds.
pub const MAX_LATENCY_MS: f64 = 3_600_000.0;

/// Summary of one latency trace, in nanoseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LatencySummary {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
}

/// Nearest-rank percentile (`p` in 0..=100) of sorted data: the smallest sample with at
/// least p% of the samples at or below it. Never interpolates, so every reported
/// percentile is a latency that was actually observed.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // p · n / 100, not p / 100 · n: 99.9 / 100 rounds up to 0.9990000000000001, which made
    // the rank of p99.9 in 1,000 samples 1,000 instead of 999 (found by the self-test's
    // exact-rational reference).
    let rank = (p * sorted.len() as f64 / 100.0).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn summarize(samples_ns: &[u64]) -> LatencySummary {
    let mut v: Vec<f64> = samples_ns.iter().map(|&x| x as f64).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mean = if n == 0 {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / n as f64
    };
    // Sample standard deviation (n − 1), as numpy's std(ddof=1).
    let stddev = if n < 2 {
        0.0
    } else {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    LatencySummary {
        n,
        min: v.first().copied().unwrap_or(f64::NAN),
        p50: percentile_sorted(&v, 50.0),
        p90: percentile_sorted(&v, 90.0),
        p99: percentile_sorted(&v, 99.0),
        p999: percentile_sorted(&v, 99.9),
        max: v.last().copied().unwrap_or(f64::NAN),
        mean,
        stddev,
    }
}

/// HDR histogram of nanosecond samples (3 significant digits), for compact storage of
/// long traces; the run record keeps its non-empty buckets.
pub fn hdr(samples_ns: &[u64]) -> Option<hdrhistogram::Histogram<u64>> {
    let mut h = hdrhistogram::Histogram::<u64>::new(3).ok()?;
    for &s in samples_ns {
        h.saturating_record(s.max(1));
    }
    Some(h)
}

/// Non-empty HDR buckets as (value_ns, count).
pub fn hdr_buckets(samples_ns: &[u64]) -> Vec<(u64, u64)> {
    match hdr(samples_ns) {
        Some(h) => h
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect(),
        None => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile_sorted(&v, 50.0), 5.0);
        assert_eq!(percentile_sorted(&v, 90.0), 9.0);
        assert_eq!(percentile_sorted(&v, 99.0), 10.0);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
    }

    proptest! {
        #[test]
        fn percentiles_never_decrease_and_bracket(samples in prop::collection::vec(1u64..10_000_000, 1..500)) {
            let s = summarize(&samples);
            prop_assert!(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
            prop_assert!(s.min <= s.mean && s.mean <= s.max);
            let total: u64 = hdr_buckets(&samples).iter().map(|b| b.1).sum();
            prop_assert_eq!(total as usize, samples.len());
        }
    }
}
