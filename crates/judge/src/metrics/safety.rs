//! The safety view of a run: safety-critical objects missed in K consecutive frames, and
//! recall when outputs that arrive after their deadline count as missed. Both read the same
//! [`FrameEval`]s as the detection metrics.

use crate::metrics::frames::FrameEval;
use crate::metrics::iou::iou_f32;
use crate::metrics::matching::{match_objects, Outcome};
use crate::metrics::stats::{clopper_pearson, Interval};
use adasval_core::types::{BoxXywh, GtObject};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which objects are safety-critical and when a miss becomes critical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CriticalSettings {
    /// Class ids that are safety-critical.
    pub classes: Vec<u32>,
    /// Objects lower than this (box height, pixels) are not critical.
    pub min_height_px: f32,
    /// Region of interest `[x, y, w, h]` in pixels: an object is critical when its box
    /// overlaps it. `None`: the whole image.
    pub roi: Option<BoxXywh>,
    /// A miss is reported when it lasts at least this many consecutive frames.
    pub min_consecutive: usize,
    /// A detection of the same class with at least this IoU finds the object.
    pub iou_threshold: f64,
}

impl Default for CriticalSettings {
    fn default() -> Self {
        CriticalSettings {
            classes: vec![0],
            min_height_px: 0.0,
            roi: None,
            min_consecutive: 3,
            iou_threshold: 0.5,
        }
    }
}

/// One critical miss: an object missed in every frame of `first_frame..=last_frame`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticalMiss {
    /// `None`: an object without track id (each frame stands alone).
    pub track_id: Option<u64>,
    pub class_id: u32,
    pub first_frame: usize,
    pub last_frame: usize,
    /// Number of consecutive frames missed.
    pub frames: usize,
    /// The object as labelled in the first missed frame.
    pub object: GtObject,
    /// Best IoU of any same-class detection over the missed frames (how close it came).
    pub best_iou: f64,
}

impl CriticalSettings {
    /// Whether a labelled object is safety-critical under these settings.
    pub fn is_critical(&self, g: &GtObject) -> bool {
        if g.ignore || g.crowd || !self.classes.contains(&g.class_id) {
            return false;
        }
        if g.bbox[3] < self.min_height_px {
            return false;
        }
        match self.roi {
            None => true,
            Some(r) => {
                g.bbox[0] < r[0] + r[2]
                    && r[0] < g.bbox[0] + g.bbox[2]
                    && g.bbox[1] < r[1] + r[3]
                    && r[1] < g.bbox[1] + g.bbox[3]
            }
        }
    }
}

/// Critical objects with no detection of their class at IoU ≥ the threshold in at least
/// `min_consecutive` consecutive frames (frame indices `f, f+1, …`; a frame in which the
/// object is absent, not critical or found ends the run). Objects are followed by
/// `track_id`; objects without one form runs of a single frame. Sorted by first frame.
pub fn critical_misses(frames: &[FrameEval], settings: &CriticalSettings) -> Vec<CriticalMiss> {
    // Per object: (frame, missed, best IoU, object), in frame order.
    let mut tracks: BTreeMap<u64, Vec<(usize, bool, f64, &GtObject)>> = BTreeMap::new();
    let mut out = Vec::new();
    let mut sorted: Vec<&FrameEval> = frames.iter().collect();
    sorted.sort_by_key(|f| f.frame);
    for f in sorted {
        for g in f.gt.iter().filter(|g| settings.is_critical(g)) {
            let best = f
                .dets
                .iter()
                .filter(|d| d.class_id == g.class_id)
                .map(|d| iou_f32(&d.bbox, &g.bbox, false))
                .fold(0.0f64, f64::max);
            let missed = best < settings.iou_threshold;
            match g.track_id {
                Some(t) => tracks
                    .entry(t)
                    .or_default()
                    .push((f.frame, missed, best, g)),
                None if missed && settings.min_consecutive <= 1 => out.push(CriticalMiss {
                    track_id: None,
                    class_id: g.class_id,
                    first_frame: f.frame,
                    last_frame: f.frame,
                    frames: 1,
                    object: g.clone(),
                    best_iou: best,
                }),
                None => {}
            }
        }
    }
    for (track, obs) in tracks {
        let mut i = 0;
        while i < obs.len() {
            if !obs[i].1 {
                i += 1;
                continue;
            }
            let mut j = i;
            let mut best = obs[i].2;
            while j + 1 < obs.len() && obs[j + 1].1 && obs[j + 1].0 == obs[j].0 + 1 {
                j += 1;
                best = best.max(obs[j].2);
            }
            let n = j - i + 1;
            if n >= settings.min_consecutive.max(1) {
                out.push(CriticalMiss {
                    track_id: Some(track),
                    class_id: obs[i].3.class_id,
                    first_frame: obs[i].0,
                    last_frame: obs[j].0,
                    frames: n,
                    object: obs[i].3.clone(),
                    best_iou: best,
                });
            }
            i = j + 1;
        }
    }
    out.sort_by_key(|m| (m.first_frame, m.track_id));
    out
}

/// Recall when late outputs are lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineRecall {
    pub deadline_ns: u64,
    pub iou_threshold: f64,
    /// Frames whose latency exceeded the deadline (their detections count as missed).
    pub late_frames: usize,
    pub tp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// `None` without positives.
    pub recall: Option<f64>,
    pub recall_ci: Option<Interval>,
    /// The same with every frame on time, for contrast.
    pub recall_ignoring_deadline: Option<f64>,
}

/// Recall of the objects of `classes` (all classes when empty), where detections of a
/// frame whose latency (`latencies_ns[i]` for `frames[i]`) exceeds `deadline_ns` are dropped.
pub fn deadline_aware_recall(
    frames: &[FrameEval],
    latencies_ns: &[u64],
    deadline_ns: u64,
    classes: &[u32],
    iou_threshold: f64,
    confidence: f64,
) -> DeadlineRecall {
    let (mut tp, mut tp_all, mut positives, mut late) = (0u64, 0u64, 0u64, 0usize);
    for (i, f) in frames.iter().enumerate() {
        // A frame without a latency is treated as late: no evidence it arrived in time.
        let on_time = latencies_ns.get(i).is_some_and(|&l| l <= deadline_ns);
        late += usize::from(!on_time);
        let mut class_ids: Vec<u32> = f.gt.iter().map(|g| g.class_id).collect();
        class_ids.sort_unstable();
        class_ids.dedup();
        for c in class_ids {
            if !classes.is_empty() && !classes.contains(&c) {
                continue;
            }
            let gts: Vec<&GtObject> = f.gt.iter().filter(|g| g.class_id == c).collect();
            let dets: Vec<_> = f.dets.iter().filter(|d| d.class_id == c).collect();
            let m = match_objects(&gts, &dets, iou_threshold);
            let found = m
                .outcomes
                .iter()
                .filter(|o| **o == Outcome::TruePositive)
                .count() as u64;
            positives += gts.iter().filter(|g| !(g.ignore || g.crowd)).count() as u64;
            tp_all += found;
            if on_time {
                tp += found;
            }
        }
    }
    let ratio = |x: u64| (positives > 0).then(|| x as f64 / positives as f64);
    DeadlineRecall {
        deadline_ns,
        iou_threshold,
        late_frames: late,
        tp,
        fn_: positives - tp,
        recall: ratio(tp),
        recall_ci: clopper_pearson(tp, positives, confidence),
        recall_ignoring_deadline: ratio(tp_all),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adasval_core::types::Detection;

    fn person(track: Option<u64>, x: f32) -> GtObject {
        GtObject {
            class_id: 0,
            bbox: [x, 100.0, 20.0, 60.0],
            ignore: false,
            crowd: false,
            occlusion: None,
            truncation: None,
            track_id: track,
            ttc_s: None,
            distance_m: None,
        }
    }

    fn frame(i: usize, gt: Vec<GtObject>, dets: Vec<Detection>) -> FrameEval {
        FrameEval {
            frame: i,
            gt,
            dets,
            width: 640,
            height: 480,
        }
    }

    fn hit(x: f32) -> Detection {
        Detection {
            class_id: 0,
            score: 0.9,
            bbox: [x, 100.0, 20.0, 60.0],
        }
    }

    #[test]
    fn run_of_k_misses_is_reported_and_shorter_runs_are_not() {
        // Track 7 missed in frames 1..=3 (3 frames), track 8 missed in frames 1..=2 only.
        let frames: Vec<FrameEval> = (0..5)
            .map(|i| {
                let d7 = if (1..=3).contains(&i) {
                    vec![]
                } else {
                    vec![hit(10.0)]
                };
                let mut dets = d7;
                if !(1..=2).contains(&i) {
                    dets.push(hit(300.0));
                }
                frame(i, vec![person(Some(7), 10.0), person(Some(8), 300.0)], dets)
            })
            .collect();
        let s = CriticalSettings {
            min_consecutive: 3,
            ..Default::default()
        };
        let m = critical_misses(&frames, &s);
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].track_id, m[0].first_frame, m[0].last_frame),
            (Some(7), 1, 3)
        );
    }

    #[test]
    fn frame_gap_breaks_a_run_and_roi_excludes_objects() {
        let frames = vec![
            frame(0, vec![person(Some(1), 10.0)], vec![]),
            frame(2, vec![person(Some(1), 10.0)], vec![]),
        ];
        let s = CriticalSettings {
            min_consecutive: 2,
            ..Default::default()
        };
        assert!(critical_misses(&frames, &s).is_empty());
        let s = CriticalSettings {
            min_consecutive: 1,
            roi: Some([500.0, 0.0, 100.0, 480.0]),
            ..Default::default()
        };
        assert!(critical_misses(&frames, &s).is_empty());
    }

    #[test]
    fn untracked_objects_stand_alone() {
        let frames = vec![
            frame(0, vec![person(None, 10.0)], vec![]),
            frame(1, vec![person(None, 10.0)], vec![hit(10.0)]),
        ];
        let one = CriticalSettings {
            min_consecutive: 1,
            ..Default::default()
        };
        let m = critical_misses(&frames, &one);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].track_id, m[0].first_frame, m[0].frames), (None, 0, 1));
        let two = CriticalSettings {
            min_consecutive: 2,
            ..Default::default()
        };
        assert!(critical_misses(&frames, &two).is_empty());
    }

    #[test]
    fn small_objects_and_other_classes_are_not_critical() {
        let frames = vec![frame(0, vec![person(Some(1), 10.0)], vec![])];
        let tall = CriticalSettings {
            min_consecutive: 1,
            min_height_px: 61.0,
            ..Default::default()
        };
        assert!(critical_misses(&frames, &tall).is_empty());
        let cars = CriticalSettings {
            min_consecutive: 1,
            classes: vec![2],
            ..Default::default()
        };
        assert!(critical_misses(&frames, &cars).is_empty());
    }

    #[test]
    fn frame_without_latency_counts_as_late() {
        let frames = vec![frame(0, vec![person(None, 10.0)], vec![hit(10.0)])];
        let r = deadline_aware_recall(&frames, &[], 10, &[], 0.5, 0.95);
        assert_eq!((r.tp, r.late_frames), (0, 1));
    }

    #[test]
    fn late_frames_lose_their_detections() {
        let frames = vec![
            frame(0, vec![person(None, 10.0)], vec![hit(10.0)]),
            frame(1, vec![person(None, 10.0)], vec![hit(10.0)]),
        ];
        let r = deadline_aware_recall(&frames, &[5, 50], 10, &[0], 0.5, 0.95);
        assert_eq!((r.tp, r.fn_, r.late_frames), (1, 1, 1));
        assert_eq!(r.recall, Some(0.5));
        assert_eq!(r.recall_ignoring_deadline, Some(1.0));
    }
}
