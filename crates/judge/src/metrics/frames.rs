//! Detection metrics of a validation run: per-class and overall precision / recall at fixed
//! IoU thresholds with Clopper–Pearson intervals, the COCO AP summary (same evaluator as
//! `adasval eval`) and the pedestrian log-average miss rate. Input is the replayed frames
//! with their golden labels; the result is a serialisable [`DetectionReport`] for the run
//! record and reports.

use crate::metrics::coco::{self, EvalDt, EvalGt, EvalInput};
use crate::metrics::lamr::{log_average_miss_rate, LamrReport, ScoredOutcome};
use crate::metrics::matching::{match_objects, ObjectMatch, Outcome};
use crate::metrics::stats::{clopper_pearson, Interval};
use adasval_core::types::{Detection, GtObject};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One replayed frame with its golden labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameEval {
    /// Frame index in its scenario (consecutive frames differ by one).
    pub frame: usize,
    pub gt: Vec<GtObject>,
    pub dets: Vec<Detection>,
    pub width: u32,
    pub height: u32,
}

/// What to compute; every field has a default so a partial YAML/JSON section works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricSettings {
    /// IoU thresholds of the precision / recall tables (the study reports 0.75).
    pub iou_thresholds: Vec<f64>,
    /// Two-sided confidence level of the Clopper–Pearson intervals.
    pub confidence: f64,
    /// Class whose log-average miss rate is reported (skipped when not among the classes).
    pub pedestrian_class: Option<String>,
    /// IoU threshold of the miss-rate matching.
    pub lamr_iou: f64,
    /// Evaluate only objects at least this many pixels tall (precision / recall tables and
    /// miss rate; the COCO AP keeps its own area ranges). Lower ground truth becomes an
    /// ignore region, and a detection lower than this that matches no counted object is
    /// ignored instead of counted as a false positive: pycocotools' area-range rule for
    /// unmatched detections, applied to box height as pedestrian benchmarks size objects.
    /// Without it, a loosely boxed 20 px pedestrian would count against the precision of
    /// the >= 40 px subset it is not part of.
    pub min_height: Option<f32>,
}

impl Default for MetricSettings {
    fn default() -> Self {
        MetricSettings {
            iou_thresholds: vec![0.5, 0.75],
            confidence: 0.95,
            pedestrian_class: Some("person".into()),
            lamr_iou: 0.5,
            min_height: None,
        }
    }
}

/// Counts and rates at one IoU threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub iou_threshold: f64,
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// tp / (tp + fp); `None` without detections.
    pub precision: Option<f64>,
    /// tp / (tp + fn); `None` without (non-ignored) ground truth.
    pub recall: Option<f64>,
    pub precision_ci: Option<Interval>,
    pub recall_ci: Option<Interval>,
}

impl Counts {
    pub fn new(iou_threshold: f64, tp: u64, fp: u64, fn_: u64, confidence: f64) -> Self {
        let ratio = |x: u64, n: u64| (n > 0).then(|| x as f64 / n as f64);
        Counts {
            iou_threshold,
            tp,
            fp,
            fn_,
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, tp + fn_),
            precision_ci: clopper_pearson(tp, tp + fp, confidence),
            recall_ci: clopper_pearson(tp, tp + fn_, confidence),
        }
    }
}

/// Precision / recall of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub class_id: u32,
    pub class: String,
    /// One entry per [`MetricSettings::iou_thresholds`].
    pub at: Vec<Counts>,
}

/// COCO AP of one class (−1 when undefined, as pycocotools).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassAp {
    pub class_id: u32,
    pub class: String,
    #[serde(rename = "AP")]
    pub ap: f64,
    #[serde(rename = "AP50")]
    pub ap50: f64,
    #[serde(rename = "AP75")]
    pub ap75: f64,
}

/// The 12 COCO numbers (keys as in `adasval eval`) and per-class AP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApSummary {
    pub stats: std::collections::BTreeMap<String, f64>,
    pub per_class: Vec<ClassAp>,
}

/// Everything [`evaluate_frames`] measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionReport {
    pub frames: usize,
    pub confidence: f64,
    pub per_class: Vec<ClassMetrics>,
    /// Summed over classes (micro average), one entry per IoU threshold.
    pub overall: Vec<Counts>,
    pub ap: ApSummary,
    pub lamr: Option<LamrReport>,
    /// Detections or labels whose class id is outside the class list (left out).
    pub unknown_class_items: usize,
}

/// Evaluates a set of frames. `classes[i]` names class id `i`.
pub fn evaluate_frames(
    frames: &[FrameEval],
    classes: &[String],
    settings: &MetricSettings,
) -> DetectionReport {
    let nc = classes.len();
    let known = |c: u32| (c as usize) < nc;
    let unknown_class_items = frames
        .iter()
        .map(|f| {
            f.gt.iter().filter(|g| !known(g.class_id)).count()
                + f.dets.iter().filter(|d| !known(d.class_id)).count()
        })
        .sum();

    let mut per_class = Vec::with_capacity(nc);
    let mut totals = vec![(0u64, 0u64, 0u64); settings.iou_thresholds.len()];
    for (c, name) in classes.iter().enumerate() {
        let mut at = Vec::with_capacity(settings.iou_thresholds.len());
        for (ti, &t) in settings.iou_thresholds.iter().enumerate() {
            let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
            for f in frames {
                let (gts, dets) = class_objects(f, c as u32, settings.min_height);
                let m = sized_match(&gts, &dets, t, settings.min_height);
                for o in &m.outcomes {
                    match o {
                        Outcome::TruePositive => tp += 1,
                        Outcome::FalsePositive => fp += 1,
                        Outcome::Ignored => {}
                    }
                }
                fn_ += gts
                    .iter()
                    .zip(&m.gt_match)
                    .filter(|(g, m)| !(g.ignore || g.crowd) && m.is_none())
                    .count() as u64;
            }
            totals[ti].0 += tp;
            totals[ti].1 += fp;
            totals[ti].2 += fn_;
            at.push(Counts::new(t, tp, fp, fn_, settings.confidence));
        }
        per_class.push(ClassMetrics {
            class_id: c as u32,
            class: name.clone(),
            at,
        });
    }
    let overall = settings
        .iou_thresholds
        .iter()
        .zip(&totals)
        .map(|(&t, &(tp, fp, fn_))| Counts::new(t, tp, fp, fn_, settings.confidence))
        .collect();

    let lamr = settings
        .pedestrian_class
        .as_ref()
        .and_then(|name| classes.iter().position(|c| c == name))
        .and_then(|c| {
            let mut scored = Vec::new();
            let mut positives = 0usize;
            for f in frames {
                let (gts, dets) = class_objects(f, c as u32, settings.min_height);
                let m = sized_match(&gts, &dets, settings.lamr_iou, settings.min_height);
                positives += gts.iter().filter(|g| !(g.ignore || g.crowd)).count();
                scored.extend(dets.iter().zip(&m.outcomes).map(|(d, o)| ScoredOutcome {
                    score: d.score as f64,
                    outcome: *o,
                }));
            }
            log_average_miss_rate(&scored, positives, frames.len()).map(|mut r| {
                r.class = classes[c].clone();
                r
            })
        });

    DetectionReport {
        frames: frames.len(),
        confidence: settings.confidence,
        per_class,
        overall,
        ap: coco_ap(frames, classes),
        lamr,
        unknown_class_items,
    }
}

/// One class's ground truth and detections of a frame; with a height floor, lower ground
/// truth comes back as an ignore region.
fn class_objects(
    f: &FrameEval,
    class: u32,
    min_height: Option<f32>,
) -> (Vec<Cow<'_, GtObject>>, Vec<&Detection>) {
    let gts =
        f.gt.iter()
            .filter(|g| g.class_id == class)
            .map(|g| match min_height {
                Some(h) if g.bbox[3] < h && !g.ignore => Cow::Owned(GtObject {
                    ignore: true,
                    ..g.clone()
                }),
                _ => Cow::Borrowed(g),
            })
            .collect();
    (gts, f.dets.iter().filter(|d| d.class_id == class).collect())
}

/// [`match_objects`], then a detection below the height floor that matched nothing is
/// ignored (outside the evaluated size range).
fn sized_match(
    gts: &[Cow<'_, GtObject>],
    dets: &[&Detection],
    threshold: f64,
    min_height: Option<f32>,
) -> ObjectMatch {
    let refs: Vec<&GtObject> = gts.iter().map(|g| g.as_ref()).collect();
    let mut m = match_objects(&refs, dets, threshold);
    if let Some(h) = min_height {
        for (o, d) in m.outcomes.iter_mut().zip(dets) {
            if *o == Outcome::FalsePositive && d.bbox[3] < h {
                *o = Outcome::Ignored;
            }
        }
    }
    m
}

/// Frames as COCO evaluator input: one image per frame, area = box area, ignore regions
/// (difficult / DontCare / crowd) as pycocotools' ignore flag.
pub fn frames_to_coco_input(frames: &[FrameEval], num_classes: usize) -> EvalInput {
    let mut input = EvalInput {
        num_images: frames.len(),
        num_categories: num_classes,
        ..Default::default()
    };
    for (i, f) in frames.iter().enumerate() {
        for g in f.gt.iter().filter(|g| (g.class_id as usize) < num_classes) {
            let bbox = crate::metrics::iou::widen(&g.bbox);
            input.gts.push(EvalGt {
                image: i,
                category: g.class_id as usize,
                bbox,
                area: bbox[2] * bbox[3],
                ignore: g.ignore || g.crowd,
                crowd: g.crowd,
                reusable: g.ignore || g.crowd,
                match_counts: true,
            });
        }
        for d in f
            .dets
            .iter()
            .filter(|d| (d.class_id as usize) < num_classes)
        {
            input.dts.push(EvalDt {
                image: i,
                category: d.class_id as usize,
                bbox: crate::metrics::iou::widen(&d.bbox),
                score: d.score as f64,
            });
        }
    }
    input
}

fn coco_ap(frames: &[FrameEval], classes: &[String]) -> ApSummary {
    let r = coco::evaluate(&frames_to_coco_input(frames, classes.len()));
    ApSummary {
        stats: coco::STAT_KEYS
            .iter()
            .zip(r.stats)
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        per_class: classes
            .iter()
            .zip(&r.per_class)
            .enumerate()
            .map(|(i, (name, c))| ClassAp {
                class_id: i as u32,
                class: name.clone(),
                ap: c.ap,
                ap50: c.ap50,
                ap75: c.ap75,
            })
            .collect(),
    }
}
