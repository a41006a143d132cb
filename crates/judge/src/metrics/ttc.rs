//! Detection early enough for a braking function: per target (an object whose golden
//! label carries a time to collision), the first frame of **stable** detection (found in
//! `k` of the last `n` frames) and the time to collision left at that frame once the
//! engine's latency at the chosen percentile has passed. A slow engine loses exactly its
//! latency from every figure, so it fails a `detect_by_ttc` requirement a fast one meets.

use crate::metrics::frames::FrameEval;
use crate::metrics::iou::iou_f32;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How "stable detection" and the latency budget are defined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StableRule {
    /// Detected in at least `k` …
    pub k: usize,
    /// … of the last `n` frames (the frame itself included).
    pub n: usize,
    /// The latency added to each frame's time: this percentile of the trace's inference
    /// latencies (nearest rank).
    pub latency_percentile: f64,
    /// A same-class detection with at least this IoU finds the target.
    pub iou_threshold: f64,
}

impl StableRule {
    /// The id evidence items carry, e.g. `k3n4-p99-iou0.5`.
    pub fn id(&self) -> String {
        format!(
            "k{}n{}-p{}-iou{}",
            self.k, self.n, self.latency_percentile, self.iou_threshold
        )
    }
}

/// One target's first stable detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetDetection {
    pub track_id: u64,
    pub class_id: u32,
    /// Frames in which the target is labelled (visible).
    pub labelled_frames: usize,
    /// First frame at which the target was found in `k` of the last `n` frames; `None`:
    /// never.
    pub first_stable_frame: Option<usize>,
    /// The scene's time to collision at that frame (s).
    pub ttc_at_frame_s: Option<f64>,
    /// The latency added (ms): the trace's inference latency at the rule's percentile.
    pub latency_ms: f64,
    /// Time to collision left when the detection is available: `ttc_at_frame_s` minus the
    /// latency (s).
    pub ttc_s: Option<f64>,
}

/// Nearest-rank percentile of latencies in nanoseconds (`core::timing`'s rule, the one
/// every latency table uses); `None` for no samples.
pub fn latency_percentile_ns(latencies_ns: &[u64], percentile: f64) -> Option<u64> {
    if latencies_ns.is_empty() {
        return None;
    }
    let mut s: Vec<f64> = latencies_ns.iter().map(|&x| x as f64).collect();
    s.sort_by(f64::total_cmp);
    Some(adasval_core::timing::percentile_sorted(&s, percentile) as u64)
}

/// First stable detection of every target in `frames` (objects with `ttc_s`, followed by
/// `track_id`). The window counts frame indices, so a frame in which the target is not
/// labelled (hidden, out of view) counts as not detected.
pub fn stable_detections(
    frames: &[FrameEval],
    rule: &StableRule,
    latency_ns: u64,
) -> Vec<TargetDetection> {
    // Per track: frame → (detected, ttc, class).
    let mut tracks: BTreeMap<u64, BTreeMap<usize, (bool, f32, u32)>> = BTreeMap::new();
    for f in frames {
        for g in f.gt.iter().filter(|g| !g.ignore) {
            let (Some(track), Some(ttc)) = (g.track_id, g.ttc_s) else {
                continue;
            };
            let found = f
                .dets
                .iter()
                .filter(|d| d.class_id == g.class_id)
                .any(|d| iou_f32(&d.bbox, &g.bbox, false) >= rule.iou_threshold);
            tracks
                .entry(track)
                .or_default()
                .insert(f.frame, (found, ttc, g.class_id));
        }
    }
    let latency_ms = latency_ns as f64 / 1e6;
    tracks
        .into_iter()
        .filter_map(|(track_id, obs)| {
            let class_id = obs.values().next()?.2;
            let first = obs.keys().copied().find(|&f| {
                let lo = f.saturating_sub(rule.n.saturating_sub(1));
                let hits = (lo..=f).filter(|i| obs.get(i).is_some_and(|o| o.0)).count();
                hits >= rule.k
            });
            let ttc_at = first.and_then(|f| obs.get(&f)).map(|o| f64::from(o.1));
            Some(TargetDetection {
                track_id,
                class_id,
                labelled_frames: obs.len(),
                first_stable_frame: first,
                ttc_at_frame_s: ttc_at,
                latency_ms,
                ttc_s: ttc_at.map(|t| t - latency_ms / 1e3),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use adasval_core::types::{Detection, GtObject};

    fn frame(i: usize, found: bool) -> FrameEval {
        let g = GtObject {
            class_id: 0,
            bbox: [10.0, 10.0, 20.0, 40.0],
            ignore: false,
            crowd: false,
            occlusion: None,
            truncation: None,
            track_id: Some(1),
            ttc_s: Some(4.0 - i as f32 * 0.1),
            distance_m: None,
        };
        let dets = if found {
            vec![Detection {
                class_id: 0,
                score: 0.9,
                bbox: [10.0, 10.0, 20.0, 40.0],
            }]
        } else {
            Vec::new()
        };
        FrameEval {
            frame: i,
            gt: vec![g],
            dets,
            width: 100,
            height: 100,
        }
    }

    #[test]
    fn k_of_n_window_counts_by_hand() {
        // Found in frames 2, 4, 5: with k = 3 of n = 4 the first stable frame is 5
        // (frames 2..=5 hold 3 hits); with k = 3 of n = 3 no window of three frames holds
        // three hits; with 1 of 1 the first hit, frame 2, is stable.
        let found = [false, false, true, false, true, true, false, false];
        let frames: Vec<FrameEval> = found
            .iter()
            .enumerate()
            .map(|(i, &f)| frame(i, f))
            .collect();
        let rule = |k, n| StableRule {
            k,
            n,
            latency_percentile: 99.0,
            iou_threshold: 0.5,
        };
        let a = stable_detections(&frames, &rule(3, 4), 20_000_000);
        assert_eq!(a[0].first_stable_frame, Some(5));
        let ttc = 4.0f32 - 0.5;
        assert!((a[0].ttc_at_frame_s.unwrap() - f64::from(ttc)).abs() < 1e-9);
        assert!((a[0].ttc_s.unwrap() - (f64::from(ttc) - 0.020)).abs() < 1e-9);
        let b = stable_detections(&frames, &rule(3, 3), 0);
        assert_eq!(b[0].first_stable_frame, None);
        assert_eq!(b[0].ttc_s, None);
        let c = stable_detections(&frames, &rule(1, 1), 0);
        assert_eq!(c[0].first_stable_frame, Some(2));
    }

    #[test]
    fn nearest_rank_percentile() {
        let v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(latency_percentile_ns(&v, 99.0), Some(99));
        assert_eq!(latency_percentile_ns(&v, 100.0), Some(100));
        assert_eq!(latency_percentile_ns(&v, 50.0), Some(50));
        assert_eq!(latency_percentile_ns(&[], 50.0), None);
    }
}
