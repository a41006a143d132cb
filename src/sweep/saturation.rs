//! The saturation point of a stream sweep: where adding camera streams stops buying
//! throughput and only costs latency.
//!
//! Definition (docs/SWEEP.md): with the sweep's points sorted by stream count N_1 < ... <
//! N_m, throughput X_i and p99 latency L_i, the saturation point is the smallest N_i
//! (i < m) such that
//!
//! 1. no larger stream count gives more than `gain` (default 5%) more throughput:
//!    `max_{j>i} X_j <= (1 + gain) * X_i`, and
//! 2. the p99 latency at the largest stream count is more than `gain` above L_i:
//!    `L_m > (1 + gain) * L_i` (the extra streams are paid for in latency).
//!
//! It compares with every later point, not just the next one, so one noisy step neither
//! hides a plateau nor fakes one, and it does not depend on the spacing of the stream
//! counts. When no point qualifies, the sweep did not reach saturation (throughput was still
//! growing at the largest N), and the result says so.

use adasval_record::sweep::Saturation;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub streams: u32,
    pub throughput_fps: f64,
    pub p99_ms: f64,
}

pub const DEFINITION: &str = "smallest stream count N such that no larger N in the sweep gives more than the gain threshold more throughput, while p99 latency at the largest N exceeds p99 at N by more than the same threshold";

/// The saturation point of `points` (any order; non-finite points are ignored).
pub fn saturation(points: &[Point], gain: f64) -> Saturation {
    let mut p: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.throughput_fps.is_finite() && p.p99_ms.is_finite())
        .collect();
    p.sort_by_key(|p| p.streams);
    p.dedup_by_key(|p| p.streams);
    let done = |streams, reason: String| Saturation {
        streams,
        gain_threshold: gain,
        definition: DEFINITION.into(),
        reason,
    };
    if p.len() < 2 {
        return done(
            None,
            "needs at least two stream counts with a measured throughput".into(),
        );
    }
    let last = p[p.len() - 1];
    for i in 0..p.len() - 1 {
        let best_later = p[i + 1..]
            .iter()
            .map(|q| q.throughput_fps)
            .fold(f64::NEG_INFINITY, f64::max);
        if best_later > (1.0 + gain) * p[i].throughput_fps {
            continue;
        }
        if last.p99_ms > (1.0 + gain) * p[i].p99_ms {
            return done(
                Some(p[i].streams),
                format!(
                    "from N={} ({:.1} frames/s) no larger N gives more than {:.0}% more throughput (best later {:.1} frames/s), while p99 grows from {:.3} ms to {:.3} ms at N={}",
                    p[i].streams,
                    p[i].throughput_fps,
                    gain * 100.0,
                    best_later,
                    p[i].p99_ms,
                    last.p99_ms,
                    last.streams
                ),
            );
        }
        return done(
            None,
            format!(
                "throughput stops growing at N={} but p99 latency does not grow with more streams ({:.3} ms → {:.3} ms at N={}): no saturation by this definition (check the measurement)",
                p[i].streams, p[i].p99_ms, last.p99_ms, last.streams
            ),
        );
    }
    done(
        None,
        format!(
            "not reached: throughput still grew by more than {:.0}% up to N={} ({:.1} frames/s)",
            gain * 100.0,
            last.streams,
            last.throughput_fps
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic sweep: throughput `x(n)` and p99 latency `n / x(n)` (Little's law with
    /// every stream always busy), at N = 1, 2, 4, ..., 64.
    fn curve(x: impl Fn(f64) -> f64) -> Vec<Point> {
        (0..7)
            .map(|k| {
                let n = (1u32 << k) as f64;
                Point {
                    streams: n as u32,
                    throughput_fps: x(n),
                    p99_ms: 1e3 * n / x(n),
                }
            })
            .collect()
    }

    #[test]
    fn linear_scaling_never_saturates() {
        let s = saturation(&curve(|n| 100.0 * n), 0.05);
        assert_eq!(s.streams, None);
        assert!(s.reason.contains("not reached"), "{}", s.reason);
    }

    #[test]
    fn a_hard_ceiling_saturates_where_it_is_reached() {
        // One shared resource worth 8 streams: throughput min(n, 8) * 100.
        assert_eq!(
            saturation(&curve(|n| 100.0 * n.min(8.0)), 0.05).streams,
            Some(8)
        );
        // A fully serialised device: flat from the start.
        assert_eq!(saturation(&curve(|_| 250.0), 0.05).streams, Some(1));
    }

    #[test]
    fn a_smooth_knee_saturates_where_gains_fall_under_the_threshold() {
        // Throughput 1000 * n / (n + 4): +17.6% from 16 to 64 streams, +5.9% from 32.
        let s = saturation(&curve(|n| 1000.0 * n / (n + 4.0)), 0.10);
        assert_eq!(s.streams, Some(32), "{}", s.reason);
        // At 5% the curve is still climbing at 64 streams.
        assert_eq!(
            saturation(&curve(|n| 1000.0 * n / (n + 4.0)), 0.05).streams,
            None
        );
        // A looser threshold (20%) puts the knee earlier.
        assert_eq!(
            saturation(&curve(|n| 1000.0 * n / (n + 4.0)), 0.20).streams,
            Some(16)
        );
    }

    #[test]
    fn contention_past_the_peak_and_noise_are_handled() {
        // Throughput peaks at 4 streams then falls (contention): saturated at 4.
        let pts = curve(|n| if n <= 4.0 { 100.0 * n } else { 400.0 - 2.0 * n });
        assert_eq!(saturation(&pts, 0.05).streams, Some(4));
        // A 3% wobble on a plateau does not move the point; a later 30% jump does.
        let mut pts = curve(|n| 100.0 * n.min(4.0));
        pts[4].throughput_fps *= 1.03;
        assert_eq!(saturation(&pts, 0.05).streams, Some(4));
        pts[6].throughput_fps *= 1.3;
        assert_eq!(saturation(&pts, 0.05).streams, None);
    }

    #[test]
    fn flat_throughput_without_latency_growth_is_not_called_saturation() {
        let pts: Vec<Point> = [1, 2, 4]
            .iter()
            .map(|&n| Point {
                streams: n,
                throughput_fps: 100.0,
                p99_ms: 10.0,
            })
            .collect();
        let s = saturation(&pts, 0.05);
        assert_eq!(s.streams, None);
        assert!(s.reason.contains("does not grow"), "{}", s.reason);
    }

    #[test]
    fn order_duplicates_and_missing_values() {
        let mut pts = curve(|n| 100.0 * n.min(2.0));
        pts.reverse();
        assert_eq!(saturation(&pts, 0.05).streams, Some(2));
        pts[0].throughput_fps = f64::NAN; // the 64-stream point lost its window
        assert_eq!(saturation(&pts, 0.05).streams, Some(2));
        assert_eq!(saturation(&pts[..1], 0.05).streams, None);
        assert_eq!(saturation(&[], 0.05).streams, None);
    }
}
