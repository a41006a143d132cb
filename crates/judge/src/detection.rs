//! The golden comparison of a run: per (engine, scenario) trace, detection metrics
//! with Clopper–Pearson intervals, COCO AP, pedestrian LAMR, critical misses and
//! deadline-aware recall; across engines of the run, decision flips. Everything here reads
//! the same data as `golden.jsonl` and `detections.jsonl`.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::metrics::consistency::{
    compare_decisions, DecisionComparison, DecisionSettings, FrameDetections,
};
use crate::metrics::frames::{evaluate_frames, DetectionReport, FrameEval, MetricSettings};
use crate::metrics::safety::{
    critical_misses, deadline_aware_recall, CriticalMiss, CriticalSettings, DeadlineRecall,
};
use crate::metrics::slice::{evaluate_with, CriticalRule, Slice, SliceFigures, SliceFrame};
use crate::metrics::ttc::{latency_percentile_ns, stable_detections, StableRule, TargetDetection};
use adasval_record::record::{GoldenLine, RunRecord};
use adasval_record::stored::StoredTrace;

/// Settings of the safety view (recorded in metrics.json).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SafetyViewSettings {
    /// Minimum golden box height (px) of an object whose miss is critical.
    pub min_height_px: f32,
    /// Consecutive missed frames that make a critical miss.
    pub consecutive_frames: usize,
    /// Region of interest `[x, y, w, h]` in image pixels (None: whole frame).
    pub roi: Option<[f32; 4]>,
    pub iou_threshold: f64,
}

impl Default for SafetyViewSettings {
    fn default() -> Self {
        Self {
            min_height_px: 24.0,
            consecutive_frames: 3,
            roi: None,
            iou_threshold: 0.5,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TraceMetrics {
    pub engine: String,
    pub engine_sha256: String,
    pub scenario: String,
    pub detection: DetectionReport,
    pub critical_misses: Vec<NamedMiss>,
    pub deadline_recall: DeadlineRecall,
    /// First stable detection of each target with a time to collision, per rule the
    /// requirements name (`detect_by_ttc`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stable_detection: Vec<RuleDetections>,
    /// The figures of each slice the requirements name (`slice:`), on this trace.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<TraceSlice>,
}

/// One slice's figures on one trace, at the IoU its requirements use.
#[derive(Debug, Clone, Serialize)]
pub struct TraceSlice {
    #[serde(rename = "slice_spec")]
    pub spec: Slice,
    #[serde(flatten)]
    pub figures: SliceFigures,
}

/// The targets of one trace under one stable-detection rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleDetections {
    pub rule_id: String,
    pub rule: StableRule,
    /// `None`: the trace has no latency samples, so no latency can be added and no figure
    /// is given.
    pub targets: Option<Vec<TargetDetection>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedMiss {
    pub class: String,
    #[serde(flatten)]
    pub miss: CriticalMiss,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairConsistency {
    pub scenario: String,
    pub engine_a: String,
    pub engine_b: String,
    /// Frames whose safety decisions differ (a critical object found by one only, or a
    /// class change).
    pub decision_flips: usize,
    /// Frames whose raw outputs are bit-identical (by SHA-256).
    pub bit_identical_frames: usize,
    pub comparison: DecisionComparison,
}

#[derive(Debug, Clone, Serialize)]
pub struct DetectionResults {
    pub metric_settings: MetricSettings,
    pub safety_view: SafetyViewSettings,
    pub traces: Vec<TraceMetrics>,
    pub consistency: Vec<PairConsistency>,
}

fn pedestrian_class(classes: &[String]) -> Option<String> {
    ["pedestrian", "person"]
        .iter()
        .find(|c| classes.iter().any(|x| x == *c))
        .map(|c| c.to_string())
}

pub fn frames_of(golden: &[GoldenLine], t: &StoredTrace) -> Vec<FrameEval> {
    golden
        .iter()
        .filter(|g| g.scenario == t.scenario)
        .map(|g| FrameEval {
            frame: g.frame,
            gt: g.objects.clone(),
            dets: t
                .detections
                .get(g.frame)
                .cloned()
                .flatten()
                .unwrap_or_default(),
            width: g.width,
            height: g.height,
        })
        .collect()
}

pub fn analyse(
    record: &RunRecord,
    golden: &[GoldenLine],
    traces: &[StoredTrace],
    view: &SafetyViewSettings,
    rules: &[StableRule],
    slices: &[(Slice, f64)],
) -> DetectionResults {
    let mut out = Vec::new();
    let mut settings_used = MetricSettings::default();
    for t in traces {
        let Some(e) = record.engines.iter().find(|e| e.name == t.engine) else {
            continue;
        };
        let frames = frames_of(golden, t);
        let settings = MetricSettings {
            pedestrian_class: pedestrian_class(&e.classes),
            ..MetricSettings::default()
        };
        let detection = evaluate_frames(&frames, &e.classes, &settings);
        settings_used = settings;
        let critical_ids: Vec<u32> = e
            .safety_critical
            .iter()
            .filter_map(|c| e.classes.iter().position(|x| x == c).map(|i| i as u32))
            .collect();
        let misses = critical_misses(
            &frames,
            &CriticalSettings {
                classes: critical_ids.clone(),
                min_height_px: view.min_height_px,
                roi: view.roi,
                min_consecutive: view.consecutive_frames,
                iou_threshold: view.iou_threshold,
            },
        );
        // Latency of each frame's first timed repetition, in frame order.
        let mut first: BTreeMap<u32, u64> = BTreeMap::new();
        for s in &t.samples {
            first.entry(s.frame).or_insert(s.infer_ns);
        }
        let lat: Vec<u64> = frames
            .iter()
            .map(|f| first.get(&(f.frame as u32)).copied().unwrap_or(u64::MAX))
            .collect();
        let deadline_ns = record
            .scenarios
            .iter()
            .find(|s| s.id == t.scenario)
            .map(|s| (s.deadline_ms * 1e6) as u64)
            .unwrap_or(u64::MAX);
        let deadline_recall = deadline_aware_recall(
            &frames,
            &lat,
            deadline_ns,
            &critical_ids,
            view.iou_threshold,
            0.95,
        );
        let infer: Vec<u64> = t.samples.iter().map(|s| s.infer_ns).collect();
        let stable_detection = rules
            .iter()
            .map(|rule| RuleDetections {
                rule_id: rule.id(),
                rule: *rule,
                targets: latency_percentile_ns(&infer, rule.latency_percentile)
                    .map(|lat| stable_detections(&frames, rule, lat)),
            })
            .collect();
        // Each frame's condition as its golden line records it, in the order of `frames`.
        let conditions: Vec<Option<&str>> = golden
            .iter()
            .filter(|g| g.scenario == t.scenario)
            .map(|g| g.condition.as_deref())
            .collect();
        let slice_frames: Vec<SliceFrame> = frames
            .iter()
            .zip(&conditions)
            .map(|(frame, c)| SliceFrame {
                frame,
                condition: *c,
            })
            .collect();
        let critical = CriticalRule {
            min_height_px: view.min_height_px,
            consecutive_frames: view.consecutive_frames,
            roi: view.roi,
        };
        // A slice of a class this engine does not have gives no figure: a requirement on it
        // then finds no evidence for this engine, which its verdict says.
        let slices = slices
            .iter()
            .filter_map(|(spec, iou)| {
                evaluate_with(
                    &slice_frames,
                    &e.classes,
                    &e.name,
                    spec,
                    *iou,
                    0.95,
                    Some(&critical),
                )
                .ok()
                .map(|figures| TraceSlice {
                    spec: spec.clone(),
                    figures,
                })
            })
            .collect();
        out.push(TraceMetrics {
            slices,
            stable_detection,
            engine: t.engine.clone(),
            engine_sha256: e.sha256.clone(),
            scenario: t.scenario.clone(),
            detection,
            critical_misses: misses
                .into_iter()
                .map(|m| NamedMiss {
                    class: e
                        .classes
                        .get(m.class_id as usize)
                        .cloned()
                        .unwrap_or_default(),
                    miss: m,
                })
                .collect(),
            deadline_recall,
        });
    }
    DetectionResults {
        metric_settings: settings_used,
        safety_view: view.clone(),
        consistency: consistency(record, traces),
        traces: out,
    }
}

/// Pairwise decision flips between the engines of this run, per scenario.
fn consistency(record: &RunRecord, traces: &[StoredTrace]) -> Vec<PairConsistency> {
    let mut out = Vec::new();
    for (i, a) in traces.iter().enumerate() {
        for b in &traces[i + 1..] {
            if a.scenario != b.scenario || a.engine == b.engine {
                continue;
            }
            let (Some(ea), Some(eb)) = (
                record.engines.iter().find(|e| e.name == a.engine),
                record.engines.iter().find(|e| e.name == b.engine),
            ) else {
                continue;
            };
            // Decisions are only comparable between engines with the same classes.
            if ea.classes != eb.classes {
                continue;
            }
            let critical: Vec<u32> = ea
                .safety_critical
                .iter()
                .filter_map(|c| ea.classes.iter().position(|x| x == c).map(|i| i as u32))
                .collect();
            let fd = |t: &StoredTrace| -> Vec<FrameDetections> {
                t.detections
                    .iter()
                    .enumerate()
                    .filter_map(|(i, d)| {
                        d.as_ref().map(|d| FrameDetections {
                            frame: i,
                            dets: d.clone(),
                        })
                    })
                    .collect()
            };
            let comparison = compare_decisions(
                &fd(a),
                &fd(b),
                &DecisionSettings {
                    critical_classes: critical,
                    iou_threshold: 0.5,
                },
            );
            let bit_identical_frames = a
                .output_sha256
                .iter()
                .zip(&b.output_sha256)
                .filter(|(x, y)| x.is_some() && x == y)
                .count();
            out.push(PairConsistency {
                scenario: a.scenario.clone(),
                engine_a: a.engine.clone(),
                engine_b: b.engine.clone(),
                decision_flips: comparison.differing.len(),
                bit_identical_frames,
                comparison,
            });
        }
    }
    out
}
